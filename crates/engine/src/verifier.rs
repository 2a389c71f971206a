//! The verification pipeline (STI-VS): Identity headers in, one verdict per header out.
//!
//! For each header: the certificate-free checks of `passport`, then the certificate from
//! the cache or fetched from x5u (or from a local override), chain validation against the
//! trust anchors with CRLs, then the credential's authority over the calling number and the
//! signature.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use passport::verify::{self, CallContext, Policy, VerifiedPassport};
use passport::{CredentialFailure, VerifyError};
use pki::{Crl, TrustAnchors, ValidatedCredential};

use crate::x5u::{FetchError, FetchOptions, Fetcher};

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

/// The STI-VS pipeline with its certificate cache.
#[derive(Debug)]
pub struct Verifier {
    config: VerifierConfig,
    /// Chains known locally by URL (from the config, and added at run time, e.g. this
    /// node's own certificate): used instead of fetching.
    local: RwLock<HashMap<String, Arc<[u8]>>>,
    fetcher: Fetcher,
    /// URL -> (the time it was validated at, the credential). Valid for any later time up to
    /// the path's earliest notAfter: notBefore held at the validation time.
    cache: RwLock<HashMap<String, (i64, Arc<ValidatedCredential>)>>,
}

impl Verifier {
    /// Builds a verifier.
    pub fn new(config: VerifierConfig) -> Result<Self, FetchError> {
        let fetcher = Fetcher::new(config.fetch.clone())?;
        let local = config
            .local_certificates
            .iter()
            .map(|(k, v)| (k.clone(), Arc::from(v.as_slice())))
            .collect();
        Ok(Self {
            config,
            local: RwLock::new(local),
            fetcher,
            cache: RwLock::new(HashMap::new()),
        })
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
    /// needed or when the certificate is cached. `None` means the certificate must be
    /// fetched ([`Verifier::verify`] does that).
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
        let credential = self.cached(unverified.x5u(), call.now)?;
        let result = unverified.verify(credential.as_ref());
        Some(IdentityOutcome {
            result,
            credential: Some(credential),
        })
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
        let mut out = Vec::with_capacity(identities.len());
        for identity in identities {
            out.push(self.verify(identity, call).await);
        }
        out
    }

    /// The validated credential behind `url`, from the cache when still valid at `now`.
    pub async fn credential(
        &self,
        url: &str,
        now: i64,
    ) -> Result<Arc<ValidatedCredential>, VerifyError> {
        if let Some(hit) = self.cached(url, now) {
            return Ok(hit);
        }
        let local = self.local.read().ok().and_then(|l| l.get(url).cloned());
        let body: Arc<[u8]> = match local {
            Some(bytes) => bytes,
            None => self
                .fetcher
                .fetch(url)
                .await
                .map_err(|e| VerifyError::CertificateFetch {
                    url: url.to_owned(),
                    reason: e.to_string(),
                })?
                .body
                .into(),
        };
        let chain = pki::parse_chain(&body)
            .map_err(|e| VerifyError::Credential(CredentialFailure::from(&e)))?;
        let validated = pki::validate(&chain, &self.config.anchors, now, &self.config.crls)
            .map_err(|e| VerifyError::Credential(CredentialFailure::from(&e)))?;
        let validated = Arc::new(validated);
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(url.to_owned(), (now, Arc::clone(&validated)));
        }
        Ok(validated)
    }

    fn cached(&self, url: &str, now: i64) -> Option<Arc<ValidatedCredential>> {
        let cache = self.cache.read().ok()?;
        let (validated_at, hit) = cache.get(url)?;
        (now >= *validated_at && now <= hit.not_after()).then(|| Arc::clone(hit))
    }
}
