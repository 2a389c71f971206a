//! Via (RFC 3261 section 20.42 and 25.1), with `rport` (RFC 3581).
//!
//! `SIP / 2.0 / UDP host[:port];branch=z9hG4bK...;rport;received=192.0.2.1`: white space
//! is allowed around `/`, `:`, `;` and `=`.

use std::fmt;

use crate::SipError;
use crate::grammar::{ByteSet, Cursor, byte_set, is_token, is_token_byte};
use crate::header::params::{self, Params, Spans};
use crate::uri::check_hostport;

/// The branch prefix of RFC 3261 (section 8.1.1.7): a branch starting with it is unique
/// across space and time, and identifies the transaction on its own.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// The `rport` parameter of RFC 3581.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rport {
    /// No `rport` parameter.
    Absent,
    /// `;rport` without a value: the client asks for the source port to be filled in.
    Requested,
    /// `;rport=5060`: the value a server filled in.
    Filled(u16),
}

/// One Via value.
#[derive(Clone)]
pub struct Via {
    /// The parameters; their text is the whole value as parsed.
    params: Params,
    transport: (usize, usize),
    host: (usize, usize),
    port: Option<u16>,
}

/// A Via parsed in place: the parts of [`Via`] as positions in the text, without a copy.
#[derive(Debug, Clone)]
pub(crate) struct ViaRef<'a> {
    text: &'a str,
    transport: (usize, usize),
    host: (usize, usize),
    port: Option<u16>,
    params: Spans,
}

fn bad(reason: &'static str) -> SipError {
    SipError::BadHeaderValue {
        name: "Via",
        reason,
    }
}

/// Characters of `host` in `sent-by` (hostname, IPv4, or a bracketed IPv6 reference).
const fn host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'[' | b']' | b':')
}

static HOST: ByteSet = byte_set!(host_byte);

fn is_host_byte(b: u8) -> bool {
    HOST.contains(b)
}

impl<'a> ViaRef<'a> {
    /// Parses one Via value (see [`Via::parse`]).
    pub(crate) fn parse(s: &'a str) -> Result<Self, SipError> {
        let mut c = Cursor::new(s);
        c.skip_ws();
        let name = c.take_while(is_token_byte);
        c.skip_ws();
        let slash1 = c.eat(b'/');
        c.skip_ws();
        let version = c.take_while(is_token_byte);
        c.skip_ws();
        let slash2 = c.eat(b'/');
        c.skip_ws();
        let transport_start = c.pos();
        let transport = c.take_while(is_token_byte);
        let transport_end = c.pos();
        if !(slash1 && slash2 && is_token(transport)) {
            return Err(bad("sent-protocol is not name/version/transport"));
        }
        if !name.eq_ignore_ascii_case("SIP") || version != "2.0" {
            return Err(bad("sent-protocol is not SIP/2.0"));
        }
        let before_ws = c.rest().len();
        c.skip_ws();
        if c.rest().len() == before_ws {
            return Err(bad("no white space before sent-by"));
        }
        // sent-by = host [ COLON port ], with white space allowed around the colon.
        let host_start = c.pos();
        let bracketed = c.peek() == Some(b'[');
        let closed = if bracketed {
            c.take_while(|b| b != b']' && is_host_byte(b));
            c.eat(b']')
        } else {
            c.take_while(|b| b != b':' && is_host_byte(b));
            true
        };
        let host_end = c.pos();
        let host = s.get(host_start..host_end).unwrap_or_default();
        c.skip_ws();
        let port = if c.eat(b':') {
            c.skip_ws();
            Some(c.take_while(|b| b.is_ascii_digit()))
        } else {
            None
        };
        // An IPv6 reference without its ']' cannot be told from its port.
        if !closed {
            return Err(bad("unterminated IPv6 reference"));
        }
        let port = check_hostport(host, port).map_err(bad)?;
        let params = params::scan(s, c.pos()).map_err(bad)?;
        let via = ViaRef {
            text: s,
            transport: (transport_start, transport_end),
            host: (host_start, host_end),
            port,
            params,
        };
        via.check_params()?;
        Ok(via)
    }

    fn param(&self, name: &str) -> Option<Option<&'a str>> {
        self.params.get(self.text, name)
    }

    fn check_params(&self) -> Result<(), SipError> {
        // The parameters checked, found in one pass (names are unique).
        let (mut branch, mut rport, mut received, mut ttl) = (None, None, None, None);
        self.params.for_each(self.text, |p| {
            let slot = match p.name().len() {
                6 if p.name().eq_ignore_ascii_case("branch") => &mut branch,
                5 if p.name().eq_ignore_ascii_case("rport") => &mut rport,
                8 if p.name().eq_ignore_ascii_case("received") => &mut received,
                3 if p.name().eq_ignore_ascii_case("ttl") => &mut ttl,
                _ => return,
            };
            *slot = Some(p.value());
        });
        if let Some(branch) = branch
            && !branch.is_some_and(is_token)
        {
            return Err(bad("branch is not a token"));
        }
        if let Some(Some(port)) = rport
            && (port.is_empty() || port.len() > 5 || port.parse::<u16>().is_err())
        {
            return Err(bad("rport is not a port number"));
        }
        if let Some(received) = received {
            let ok = received.is_some_and(|r| {
                !r.is_empty()
                    && r.bytes()
                        .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':')
            });
            if !ok {
                return Err(bad("received is not an IP address"));
            }
        }
        if let Some(ttl) = ttl
            && ttl.is_none_or(|t| t.parse::<u8>().is_err())
        {
            return Err(bad("ttl is not 0-255"));
        }
        Ok(())
    }

    /// The sent-by host.
    pub(crate) fn host(&self) -> &'a str {
        self.text.get(self.host.0..self.host.1).unwrap_or_default()
    }

    /// The sent-by port, when given.
    pub(crate) fn port(&self) -> Option<u16> {
        self.port
    }

    /// The branch parameter.
    pub(crate) fn branch(&self) -> Option<&'a str> {
        self.param("branch").flatten()
    }

    /// The owned Via.
    pub(crate) fn into_owned(self) -> Via {
        Via {
            params: Params::from_parts(self.text.to_owned(), self.params),
            transport: self.transport,
            host: self.host,
            port: self.port,
        }
    }
}

impl Via {
    /// Parses one Via value.
    pub fn parse(s: &str) -> Result<Self, SipError> {
        ViaRef::parse(s).map(ViaRef::into_owned)
    }

    fn part(&self, (start, end): (usize, usize)) -> &str {
        self.params.text().get(start..end).unwrap_or_default()
    }

    /// The transport as written (`UDP`, `TCP`, `TLS`, `WSS`, ...).
    pub fn transport(&self) -> &str {
        self.part(self.transport)
    }

    /// The sent-by host (an IPv6 address keeps its brackets).
    pub fn host(&self) -> &str {
        self.part(self.host)
    }

    /// The sent-by port, when given.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// `host[:port]` as a canonical string: the host lowercased, the port as given.
    pub fn sent_by(&self) -> String {
        let host = self.host().to_ascii_lowercase();
        match self.port {
            Some(port) => format!("{host}:{port}"),
            None => host,
        }
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&str> {
        self.params.value("branch")
    }

    /// True when the branch starts with the RFC 3261 magic cookie `z9hG4bK`.
    pub fn has_magic_cookie(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with(MAGIC_COOKIE))
    }

    /// The `rport` parameter (RFC 3581).
    pub fn rport(&self) -> Rport {
        match self.params.get("rport") {
            None => Rport::Absent,
            Some(None) => Rport::Requested,
            // Checked when parsed: a present value is a port number.
            Some(Some(v)) => v.parse().map_or(Rport::Requested, Rport::Filled),
        }
    }

    /// The `received` parameter: the source address a server saw.
    pub fn received(&self) -> Option<&str> {
        self.params.value("received")
    }

    /// Every parameter.
    pub fn params(&self) -> &Params {
        &self.params
    }
}

impl PartialEq for Via {
    fn eq(&self, other: &Self) -> bool {
        self.transport() == other.transport()
            && self.host() == other.host()
            && self.port == other.port
            && self.params == other.params
    }
}

impl Eq for Via {}

impl fmt::Debug for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Via")
            .field("transport", &self.transport())
            .field("host", &self.host())
            .field("port", &self.port)
            .field("params", &self.params)
            .finish()
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport(), self.host())?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "{}", self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_parses_with_odd_white_space() {
        let v = Via::parse("SIP  /   2.0 /UDP   192.0.2.2 : 5060 ; rport ;branch = z9hG4bK390skd")
            .unwrap();
        assert_eq!(v.transport(), "UDP");
        assert_eq!(v.host(), "192.0.2.2");
        assert_eq!(v.port(), Some(5060));
        assert_eq!(v.sent_by(), "192.0.2.2:5060");
        assert_eq!(v.branch(), Some("z9hG4bK390skd"));
        assert!(v.has_magic_cookie());
        assert_eq!(v.rport(), Rport::Requested);
        assert_eq!(v.received(), None);
    }

    #[test]
    fn via_reads_rport_received_and_ipv6() {
        let v = Via::parse(
            "SIP/2.0/TCP [2001:db8::9]:5061;branch=z9hG4bKx;rport=49152;received=2001:db8::77",
        )
        .unwrap();
        assert_eq!(v.host(), "[2001:db8::9]");
        assert_eq!(v.port(), Some(5061));
        assert_eq!(v.rport(), Rport::Filled(49152));
        assert_eq!(v.received(), Some("2001:db8::77"));
        let v = Via::parse("sip/2.0/udp Proxy.Example.COM;branch=1234").unwrap();
        assert_eq!(v.sent_by(), "proxy.example.com");
        assert!(!v.has_magic_cookie());
        assert_eq!(v.rport(), Rport::Absent);
        assert_eq!(v.to_string(), "SIP/2.0/udp Proxy.Example.COM;branch=1234");
    }

    #[test]
    fn malformed_vias_are_refused() {
        for (input, reason) in [
            (
                "SIP/2.0 host",
                "sent-protocol is not name/version/transport",
            ),
            ("SIP/3.0/UDP host", "sent-protocol is not SIP/2.0"),
            ("SIP/2.0/UDPhost", "no white space before sent-by"),
            ("SIP/2.0/UDP ", "empty host"),
            ("SIP/2.0/UDP host:99999", "port out of range"),
            ("SIP/2.0/UDP host:", "malformed port"),
            ("SIP/2.0/UDP host;branch", "branch is not a token"),
            ("SIP/2.0/UDP host;rport=x", "rport is not a port number"),
            (
                "SIP/2.0/UDP host;received=evil.example",
                "received is not an IP address",
            ),
            ("SIP/2.0/UDP host;ttl=300", "ttl is not 0-255"),
            ("SIP/2.0/UDP host junk", "expected ';' before a parameter"),
            ("SIP/2.0/UDP [::1", "unterminated IPv6 reference"),
        ] {
            assert_eq!(Via::parse(input), Err(bad(reason)), "{input}");
        }
    }
}
