//! The verification pipeline (STI-VS): Identity headers in, one verdict per header out.
//!
//! For each header: the certificate-free checks of `passport`, then the certificate from
//! the cache or fetched from x5u (or from a local override), chain validation against the
//! trust anchors with CRLs, then the credential's authority over the calling number and the
//! signature.
//!
//! The certificate cache keeps each URL's validated credential for as long as the x5u
//! response's Cache-Control allows (clamped to [`MIN_FRESH_SECS`], [`MAX_FRESH_SECS`], and
//! never past the chain's earliest notAfter), and remembers failures for
//! [`NEGATIVE_TTL_SECS`] so a broken x5u is not fetched on every call. Concurrent misses on
//! one URL make one fetch: the others wait for it. CRLs named by the chain's distribution
//! points are fetched (http allowed: CRLs are signed; the address guard still applies) and
//! cached until their nextUpdate; an unreachable CRL is counted and skipped (soft fail).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use passport::verify::{self, CallContext, Policy, VerifiedPassport};
use passport::{CredentialFailure, VerifyError};
use pki::{Certificate, Crl, TrustAnchors, ValidatedCredential};

use crate::x5u::{FetchError, FetchOptions, Fetched, Fetcher};

/// Shortest time a fetched certificate is trusted without refetching, in seconds.
pub const MIN_FRESH_SECS: i64 = 60;
/// Longest time a fetched certificate is trusted without refetching, in seconds.
pub const MAX_FRESH_SECS: i64 = 86_400;
/// Freshness when the x5u response says nothing, in seconds.
pub const DEFAULT_FRESH_SECS: i64 = 3_600;
/// How long a failed fetch or validation is remembered, in seconds.
pub const NEGATIVE_TTL_SECS: i64 = 30;
/// Most CRL distribution points fetched per certificate, and per chain.
const MAX_CRL_URLS_PER_CERT: usize = 2;
const MAX_CRL_URLS: usize = 8;
/// Most CRLs held in memory.
const MAX_CACHED_CRLS: usize = 256;

/// Most Identity headers verified for one call (a shaken PASSporT, div PASSporTs, rcd).
pub const MAX_IDENTITIES: usize = 8;

/// Most remembered failures.
const MAX_CACHED_FAILURES: usize = 10_000;

/// True when `url` holds a credential in `cache`.
fn entry_is_ok(cache: &RwLock<HashMap<String, Entry>>, url: &str) -> bool {
    cache
        .read()
        .ok()
        .is_some_and(|c| c.get(url).is_some_and(|e| e.outcome.is_ok()))
}

/// Most URLs held in the certificate cache.
pub const MAX_CACHED_URLS: usize = 100_000;

/// Everything a verifier needs besides the call.
#[derive(Debug)]
pub struct VerifierConfig {
    /// Header, claim and freshness policy.
    pub policy: Policy,
    /// The STI-CA trust anchors.
    pub anchors: TrustAnchors,
    /// CRLs to check the chain against.
    pub crls: Vec<Crl>,
    /// How x5u URLs are fetched.
    pub fetch: FetchOptions,
    /// Certificate chains given locally, by URL: used instead of fetching.
    pub local_certificates: HashMap<String, Vec<u8>>,
}

/// The outcome for one Identity header.
#[derive(Debug, Clone)]
pub struct IdentityOutcome {
    /// The verified PASSporT, or why it failed.
    pub result: Result<VerifiedPassport, VerifyError>,
    /// The certificate that was used, when one was validated.
    pub credential: Option<Arc<ValidatedCredential>>,
}

/// Certificate-cache counters, for metrics.
#[derive(Debug, Default)]
pub struct CacheStats {
    /// Lookups answered from the cache with a credential.
    pub hits: AtomicU64,
    /// Lookups answered from the cache with a remembered failure.
    pub negative_hits: AtomicU64,
    /// Lookups that had to fetch (or read a local chain) and validate.
    pub misses: AtomicU64,
    /// x5u fetches that failed.
    pub fetch_errors: AtomicU64,
    /// CRL fetches that failed (the CRL was skipped).
    pub crl_fetch_errors: AtomicU64,
}

#[derive(Debug, Clone)]
struct Entry {
    outcome: Result<Arc<ValidatedCredential>, VerifyError>,
    validated_at: i64,
    fresh_until: i64,
}

/// The STI-VS pipeline with its certificate cache.
#[derive(Debug)]
pub struct Verifier {
    config: VerifierConfig,
    /// Chains known locally by URL (from the config, and added at run time, e.g. this
    /// node's own certificate): used instead of fetching.
    local: RwLock<HashMap<String, Arc<[u8]>>>,
    fetcher: Fetcher,
    crl_fetcher: Fetcher,
    cache: RwLock<HashMap<String, Entry>>,
    failures: RwLock<HashMap<String, Entry>>,
    crls: RwLock<HashMap<String, Arc<Crl>>>,
    inflight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    stats: CacheStats,
}

impl Verifier {
    /// Builds a verifier.
    pub fn new(config: VerifierConfig) -> Result<Self, FetchError> {
        let fetcher = Fetcher::new(config.fetch.clone())?;
        let crl_fetcher = Fetcher::new(FetchOptions {
            danger_allow_http: true,
            max_bytes: 1024 * 1024,
            ..config.fetch.clone()
        })?;
        let local = config
            .local_certificates
            .iter()
            .map(|(k, v)| (k.clone(), Arc::from(v.as_slice())))
            .collect();
        Ok(Self {
            config,
            local: RwLock::new(local),
            fetcher,
            crl_fetcher,
            cache: RwLock::new(HashMap::new()),
            failures: RwLock::new(HashMap::new()),
            crls: RwLock::new(HashMap::new()),
            inflight: Mutex::new(HashMap::new()),
            stats: CacheStats::default(),
        })
    }

    /// The cache counters.
    pub fn stats(&self) -> &CacheStats {
        &self.stats
    }

    /// Makes a chain known locally under `url` (replacing any before it, and dropping a
    /// credential cached from the old one).
    pub fn add_local_certificate(&self, url: &str, chain: &[u8]) {
        if let Ok(mut local) = self.local.write() {
            local.insert(url.to_owned(), Arc::from(chain));
        }
        if let Ok(mut cache) = self.cache.write() {
            cache.remove(url);
        }
        if let Ok(mut failures) = self.failures.write() {
            failures.remove(url);
        }
    }

    /// Verifies one Identity header value against the call.
    pub async fn verify(&self, identity: &str, call: &CallContext) -> IdentityOutcome {
        if let Some(done) = self.verify_cached(identity, call) {
            return done;
        }
        let unverified = match verify::check(identity, call, &self.config.policy) {
            Ok(u) => u,
            Err(e) => {
                return IdentityOutcome {
                    result: Err(e),
                    credential: None,
                };
            }
        };
        let credential = match self.credential(unverified.x5u(), call.now).await {
            Ok(c) => c,
            Err(e) => {
                return IdentityOutcome {
                    result: Err(e),
                    credential: None,
                };
            }
        };
        let result = unverified.verify(credential.as_ref());
        IdentityOutcome {
            result,
            credential: Some(credential),
        }
    }

    /// The hot path: verifies without any I/O when the header fails before a certificate is
    /// needed or when the certificate (or its failure) is cached. `None` means the
    /// certificate must be fetched ([`Verifier::verify`] does that).
    pub fn verify_cached(&self, identity: &str, call: &CallContext) -> Option<IdentityOutcome> {
        let unverified = match verify::check(identity, call, &self.config.policy) {
            Ok(u) => u,
            Err(e) => {
                return Some(IdentityOutcome {
                    result: Err(e),
                    credential: None,
                });
            }
        };
        match self.cached(unverified.x5u(), call.now)? {
            Ok(credential) => {
                let result = unverified.verify(credential.as_ref());
                Some(IdentityOutcome {
                    result,
                    credential: Some(credential),
                })
            }
            Err(e) => Some(IdentityOutcome {
                result: Err(e),
                credential: None,
            }),
        }
    }

    /// Verifies every header; the verdict of the call is the first failure, if any. No
    /// header at all is one outcome: [`VerifyError::NoIdentity`].
    pub async fn verify_all(
        &self,
        identities: &[String],
        call: &CallContext,
    ) -> Vec<IdentityOutcome> {
        if identities.is_empty() {
            return vec![IdentityOutcome {
                result: Err(VerifyError::NoIdentity),
                credential: None,
            }];
        }
        if identities.len() > MAX_IDENTITIES {
            // Each may name its own x5u: a bound on the fetches one call can cause.
            let err = VerifyError::TooManyIdentities {
                count: identities.len(),
                max: MAX_IDENTITIES,
            };
            return vec![IdentityOutcome {
                result: Err(err),
                credential: None,
            }];
        }
        let mut out = Vec::with_capacity(identities.len());
        for identity in identities {
            out.push(self.verify(identity, call).await);
        }
        out
    }

    /// The validated credential behind `url` at `now`: from the cache while fresh, else
    /// fetched and validated once however many callers ask at the same time.
    pub async fn credential(
        &self,
        url: &str,
        now: i64,
    ) -> Result<Arc<ValidatedCredential>, VerifyError> {
        if let Some(hit) = self.cached(url, now) {
            return hit;
        }
        let gate = {
            let mut inflight = self.inflight.lock().map_err(|_| poisoned(url))?;
            Arc::clone(inflight.entry(url.to_owned()).or_default())
        };
        // Removes the gate when the last waiter leaves, also when a caller is cancelled
        // mid-fetch (a dropped request), so the map cannot grow with abandoned URLs.
        let _leave = Leave {
            inflight: &self.inflight,
            url,
            gate: &gate,
        };
        let _turn = gate.lock().await;
        // Whoever held the gate before us may have filled the cache.
        match self.cached_quiet(url, now) {
            Some(hit) => hit,
            None => {
                self.stats.misses.fetch_add(1, Ordering::Relaxed);
                let entry = self.load(url, now).await;
                let outcome = entry.outcome.clone();
                self.store(url, entry);
                outcome
            }
        }
    }

    fn cached(&self, url: &str, now: i64) -> Option<Result<Arc<ValidatedCredential>, VerifyError>> {
        let hit = self.cached_quiet(url, now)?;
        let counter = if hit.is_ok() {
            &self.stats.hits
        } else {
            &self.stats.negative_hits
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Some(hit)
    }

    fn cached_quiet(
        &self,
        url: &str,
        now: i64,
    ) -> Option<Result<Arc<ValidatedCredential>, VerifyError>> {
        // Valid from the time it was validated (notBefore held then) until it goes stale.
        let fresh = |e: &Entry| now >= e.validated_at && now <= e.fresh_until;
        if let Some(e) = self.cache.read().ok()?.get(url).filter(|e| fresh(e)) {
            return Some(e.outcome.clone());
        }
        let failures = self.failures.read().ok()?;
        failures
            .get(url)
            .filter(|e| fresh(e))
            .map(|e| e.outcome.clone())
    }

    /// Keeps an outcome: credentials in the main cache, failures in a smaller one of their
    /// own, so that a flood of broken x5u URLs cannot push out valid certificates. Both are
    /// bounded; when full, an arbitrary entry makes room (O(1), no scan under the lock).
    fn store(&self, url: &str, entry: Entry) {
        let (map, max) = match entry.outcome {
            Ok(_) => (&self.cache, MAX_CACHED_URLS),
            Err(_) => (&self.failures, MAX_CACHED_FAILURES),
        };
        if let Ok(mut map) = map.write() {
            if map.len() >= max
                && !map.contains_key(url)
                && let Some(victim) = map.keys().next().cloned()
            {
                map.remove(&victim);
            }
            map.insert(url.to_owned(), entry);
        }
        if entry_is_ok(&self.cache, url)
            && let Ok(mut failures) = self.failures.write()
        {
            failures.remove(url);
        }
    }

    async fn load(&self, url: &str, now: i64) -> Entry {
        let negative = |e: VerifyError| Entry {
            outcome: Err(e),
            validated_at: now,
            fresh_until: now + NEGATIVE_TTL_SECS,
        };
        let local = self.local.read().ok().and_then(|l| l.get(url).cloned());
        let (body, fresh_for): (Arc<[u8]>, i64) = match local {
            Some(bytes) => (bytes, MAX_FRESH_SECS),
            None => match self.fetcher.fetch(url).await {
                Ok(Fetched {
                    body,
                    cache_control,
                }) => (body.into(), freshness(cache_control.as_deref())),
                Err(e) => {
                    self.stats.fetch_errors.fetch_add(1, Ordering::Relaxed);
                    return negative(VerifyError::CertificateFetch {
                        url: url.to_owned(),
                        reason: e.to_string(),
                    });
                }
            },
        };
        let chain = match pki::parse_chain(&body) {
            Ok(chain) => chain,
            Err(e) => return negative(VerifyError::Credential(CredentialFailure::from(&e))),
        };
        // The chain must be trusted before anything it names is fetched: an attacker's
        // certificate could otherwise send the verifier after thousands of CRL URLs.
        let validated = match pki::validate(&chain, &self.config.anchors, now, &self.config.crls) {
            Ok(v) => v,
            Err(e) => return negative(VerifyError::Credential(CredentialFailure::from(&e))),
        };
        let fetched = self.distribution_point_crls(&chain, now).await;
        let validated = if fetched.is_empty() {
            validated
        } else {
            let mut crls: Vec<Crl> = self.config.crls.clone();
            crls.extend(fetched.iter().map(|c| Crl::clone(c)));
            match pki::validate(&chain, &self.config.anchors, now, &crls) {
                Ok(v) => v,
                Err(e) => return negative(VerifyError::Credential(CredentialFailure::from(&e))),
            }
        };
        let fresh_until = (now + fresh_for).min(validated.not_after());
        Entry {
            outcome: Ok(Arc::new(validated)),
            validated_at: now,
            fresh_until,
        }
    }

    /// The CRLs the chain's distribution points name, from the CRL cache or fetched. Stale
    /// and unreachable ones are left out.
    async fn distribution_point_crls(&self, chain: &[Certificate], now: i64) -> Vec<Arc<Crl>> {
        // At most two distribution points per certificate and eight in all.
        let urls: Vec<&String> = chain
            .iter()
            .flat_map(|c| c.crl_urls().iter().take(MAX_CRL_URLS_PER_CERT))
            .take(MAX_CRL_URLS)
            .collect();
        let mut out = Vec::new();
        for url in urls {
            let cached = self
                .crls
                .read()
                .ok()
                .and_then(|c| c.get(url.as_str()).cloned());
            let fresh = |c: &Crl| c.next_update().is_none_or(|next| next >= now);
            if let Some(crl) = cached.filter(|c| fresh(c)) {
                out.push(crl);
                continue;
            }
            let fetched = self.crl_fetcher.fetch(url).await.ok().and_then(|f| {
                Crl::from_der(&f.body)
                    .or_else(|_| Crl::from_pem(&f.body))
                    .ok()
            });
            match fetched.filter(|c| fresh(c)) {
                Some(crl) => {
                    let crl = Arc::new(crl);
                    if let Ok(mut cache) = self.crls.write() {
                        if cache.len() >= MAX_CACHED_CRLS {
                            cache.retain(|_, c| c.next_update().is_none_or(|next| next >= now));
                            if cache.len() >= MAX_CACHED_CRLS {
                                cache.clear();
                            }
                        }
                        cache.insert(url.clone(), Arc::clone(&crl));
                    }
                    out.push(crl);
                }
                None => {
                    self.stats.crl_fetch_errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        out
    }
}

/// Drops a URL's single-flight gate from the map when its last user leaves.
struct Leave<'a> {
    inflight: &'a Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    url: &'a str,
    gate: &'a Arc<tokio::sync::Mutex<()>>,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        if let Ok(mut inflight) = self.inflight.lock()
            && inflight
                .get(self.url)
                // The map's reference and ours: nobody else waits on this gate.
                .is_some_and(|g| Arc::ptr_eq(g, self.gate) && Arc::strong_count(g) <= 2)
        {
            inflight.remove(self.url);
        }
    }
}

fn poisoned(url: &str) -> VerifyError {
    VerifyError::CertificateFetch {
        url: url.to_owned(),
        reason: "internal lock poisoned".into(),
    }
}

/// Seconds a response may be reused, from its Cache-Control: `no-store`/`no-cache` and
/// `max-age=0` give the minimum; `max-age=N` (or `s-maxage`) is clamped to
/// [`MIN_FRESH_SECS`]..[`MAX_FRESH_SECS`]; nothing gives [`DEFAULT_FRESH_SECS`].
pub fn freshness(cache_control: Option<&str>) -> i64 {
    let Some(cc) = cache_control else {
        return DEFAULT_FRESH_SECS;
    };
    let (mut max_age, mut s_maxage) = (None, None);
    for directive in cc.split(',') {
        let directive = directive.trim().to_ascii_lowercase();
        if directive == "no-store" || directive == "no-cache" {
            return MIN_FRESH_SECS;
        }
        let number = |prefix: &str| {
            directive
                .strip_prefix(prefix)
                .and_then(|v| v.trim_matches('"').parse::<i64>().ok())
        };
        // A shared cache (which a verifier serving many calls is) prefers s-maxage.
        if let Some(v) = number("s-maxage=") {
            s_maxage = Some(v);
        } else if let Some(v) = number("max-age=") {
            max_age = Some(v);
        }
    }
    s_maxage.or(max_age).map_or(DEFAULT_FRESH_SECS, |v| {
        v.clamp(MIN_FRESH_SECS, MAX_FRESH_SECS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_sets_freshness_within_bounds() {
        assert_eq!(freshness(None), DEFAULT_FRESH_SECS);
        assert_eq!(freshness(Some("public, max-age=300")), 300);
        assert_eq!(freshness(Some("max-age=5")), MIN_FRESH_SECS);
        assert_eq!(freshness(Some("max-age=99999999")), MAX_FRESH_SECS);
        assert_eq!(freshness(Some("no-store")), MIN_FRESH_SECS);
        assert_eq!(freshness(Some("max-age=60, s-maxage=600")), 600);
        assert_eq!(freshness(Some("garbage")), DEFAULT_FRESH_SECS);
    }
}
