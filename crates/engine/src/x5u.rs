//! Fetching STI certificates from `x5u` URLs without letting the URL reach places it should
//! not: HTTPS only, public addresses only (checked after DNS resolution, so a name that
//! resolves to `127.0.0.1` is refused too), no redirects, a connect timeout, a total
//! timeout and a size cap. The `danger_*` options lift the first two for development.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// How certificates are fetched.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Time allowed to open the TCP connection.
    pub connect_timeout: Duration,
    /// Time allowed for the whole fetch, from DNS to the last byte.
    pub total_timeout: Duration,
    /// Largest response body accepted.
    pub max_bytes: usize,
    /// Extra TLS trust roots (PEM) for the HTTPS connection, beside the system's.
    pub extra_tls_roots_pem: Vec<Vec<u8>>,
    /// Accept `http://` URLs.
    pub danger_allow_http: bool,
    /// Accept URLs whose host is, or resolves to, a loopback, private, link-local or other
    /// non-public address.
    pub danger_allow_private: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            total_timeout: Duration::from_secs(5),
            max_bytes: 64 * 1024,
            extra_tls_roots_pem: Vec::new(),
            danger_allow_http: false,
            danger_allow_private: false,
        }
    }
}

/// Why a certificate could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Not a URL, or not one we fetch.
    #[error("invalid certificate URL: {reason}")]
    InvalidUrl {
        /// Why.
        reason: String,
    },
    /// `http://` without `danger_allow_http`.
    #[error("plain http is refused (https only)")]
    HttpRefused,
    /// The host is, or resolves only to, non-public addresses.
    #[error("{host} is a non-public address ({addr}); refused")]
    NonPublicAddress {
        /// The URL host.
        host: String,
        /// The first refused address.
        addr: IpAddr,
    },
    /// DNS resolution failed.
    #[error("cannot resolve {host}: {reason}")]
    Dns {
        /// The URL host.
        host: String,
        /// What the resolver said.
        reason: String,
    },
    /// The fetch took longer than the total timeout.
    #[error("timed out after {millis} ms")]
    Timeout {
        /// The timeout.
        millis: u128,
    },
    /// Connection or TLS failure.
    #[error("connection failed: {reason}")]
    Connect {
        /// The error chain.
        reason: String,
    },
    /// A status other than 200 (redirects are not followed).
    #[error("HTTP status {status}")]
    Status {
        /// The status code.
        status: u16,
    },
    /// The body exceeds the size cap.
    #[error("response larger than {max} bytes")]
    TooLarge {
        /// The cap.
        max: usize,
    },
    /// The client could not be built (bad TLS root, say).
    #[error("HTTP client setup failed: {reason}")]
    Setup {
        /// Why.
        reason: String,
    },
}

/// A fetched certificate resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The body.
    pub body: Vec<u8>,
    /// The Cache-Control header, if any.
    pub cache_control: Option<String>,
}

/// Fetches x5u resources over HTTPS with the SSRF guard.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    options: FetchOptions,
}

impl Fetcher {
    /// Builds a fetcher.
    pub fn new(options: FetchOptions) -> Result<Self, FetchError> {
        let setup = |e: &dyn std::fmt::Display| FetchError::Setup {
            reason: e.to_string(),
        };
        let mut roots = Vec::new();
        for pem in &options.extra_tls_roots_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| setup(&e))?;
            if certs.is_empty() {
                return Err(FetchError::Setup {
                    reason: "no certificate in the TLS root file".into(),
                });
            }
            roots.extend(certs);
        }
        let client = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.total_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .https_only(!options.danger_allow_http)
            .tls_certs_merge(roots)
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: options.danger_allow_private,
            }))
            .user_agent(concat!("callproof/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| setup(&e))?;
        Ok(Self { client, options })
    }

    /// The options in force.
    pub fn options(&self) -> &FetchOptions {
        &self.options
    }

    /// Fetches `url`, enforcing every limit.
    pub async fn fetch(&self, url: &str) -> Result<Fetched, FetchError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| FetchError::InvalidUrl {
            reason: e.to_string(),
        })?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.options.danger_allow_http => {}
            "http" => return Err(FetchError::HttpRefused),
            other => {
                return Err(FetchError::InvalidUrl {
                    reason: format!("scheme {other:?} is not https"),
                });
            }
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(FetchError::InvalidUrl {
                reason: "credentials in the URL".into(),
            });
        }
        // IP literals never reach the resolver: check them here.
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            Some(url::Host::Domain(_)) => None,
            None => {
                return Err(FetchError::InvalidUrl {
                    reason: "no host".into(),
                });
            }
        };
        if let Some(addr) = literal
            && !self.options.danger_allow_private
            && !is_public(addr)
        {
            return Err(FetchError::NonPublicAddress {
                host: addr.to_string(),
                addr,
            });
        }
        let total = self.options.total_timeout;
        match tokio::time::timeout(total, self.fetch_inner(parsed)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout {
                millis: total.as_millis(),
            }),
        }
    }

    async fn fetch_inner(&self, url: reqwest::Url) -> Result<Fetched, FetchError> {
        let host = url.host_str().unwrap_or_default().to_owned();
        let mut response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| classify(&e, &host, &self.options))?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(FetchError::Status {
                status: status.as_u16(),
            });
        }
        let max = self.options.max_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > max as u64)
        {
            return Err(FetchError::TooLarge { max });
        }
        let cache_control = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| classify(&e, &host, &self.options))?
        {
            if body.len() + chunk.len() > max {
                return Err(FetchError::TooLarge { max });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            body,
            cache_control,
        })
    }
}

/// Turns a reqwest error into a [`FetchError`], surfacing the guard's refusal when it is the
/// cause.
fn classify(e: &reqwest::Error, host: &str, options: &FetchOptions) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(guard) = err.downcast_ref::<GuardError>() {
            return match guard {
                GuardError::NonPublic(addr) => FetchError::NonPublicAddress {
                    host: host.to_owned(),
                    addr: *addr,
                },
                GuardError::Lookup(reason) => FetchError::Dns {
                    host: host.to_owned(),
                    reason: reason.clone(),
                },
            };
        }
        source = err.source();
    }
    if e.is_timeout() {
        // A connect timeout (which also bounds the TLS handshake) or the total one.
        let limit = if e.is_connect() {
            options.connect_timeout
        } else {
            options.total_timeout
        };
        return FetchError::Timeout {
            millis: limit.as_millis(),
        };
    }
    FetchError::Connect {
        reason: error_chain(e),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(err) = source {
        out.push_str(": ");
        out.push_str(&err.to_string());
        source = err.source();
    }
    out
}

#[derive(Debug, thiserror::Error)]
enum GuardError {
    #[error("non-public address {0} refused")]
    NonPublic(IpAddr),
    #[error("lookup failed: {0}")]
    Lookup(String),
}

/// A resolver that drops every non-public address and fails when none is left.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| {
                    Box::new(GuardError::Lookup(e.to_string()))
                        as Box<dyn std::error::Error + Send + Sync>
                })?
                .collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| {
                    let ok = allow_private || is_public(a.ip());
                    if !ok && refused.is_none() {
                        refused = Some(a.ip());
                    }
                    ok
                })
                .collect();
            match (allowed.is_empty(), refused) {
                (true, Some(addr)) => Err(Box::new(GuardError::NonPublic(addr))
                    as Box<dyn std::error::Error + Send + Sync>),
                (true, None) => Err(Box::new(GuardError::Lookup("no addresses".into())) as _),
                (false, _) => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

/// True for globally routable unicast addresses; false for loopback, private, shared
/// (CGNAT), link-local, documentation, benchmarking, reserved, multicast and unspecified
/// ranges, and for IPv6 forms that embed such an IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let seg = ip.segments();
    let first = seg.first().copied().unwrap_or(0);
    let second = seg.get(1).copied().unwrap_or(0);
    // NAT64 well-known prefix 64:ff9b::/96 embeds an IPv4 address.
    if first == 0x64 && second == 0xff9b && seg.get(2..6).is_some_and(|s| s.iter().all(|&x| x == 0))
    {
        let o = ip.octets();
        return is_public_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first == 0x2001 && second == 0x0db8) // documentation
        || (first == 0x2002) // 6to4: embeds IPv4, refuse rather than decode
        || seg.get(..6).is_some_and(|s| s.iter().all(|&x| x == 0))) // IPv4-compatible ::a.b.c.d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::10.0.0.1",
            "2002:7f00:1::1",
            "::127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} should be non-public");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip} should be public");
        }
    }
}
