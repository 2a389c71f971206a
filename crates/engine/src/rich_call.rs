//! Verified Rich Call Data (RFC 9795): the name, logo and call reason a called party is
//! shown, and only when every check holds.
//!
//! A brand is shown when an `rcd` PASSporT of the call verified (signature, certificate
//! chain, the certificate's authority over the calling number, freshness, the same orig
//! and dest as the call), it names the caller (`nam`), its logo (`icn`) has an `rcdi`
//! digest that matches the logo's bytes, and, when the calling number is a listed number
//! of a brand registered here, the name is that brand's. Anything less withholds the whole
//! display, with the reason. The verstat of the call comes from its SHAKEN (and `div`)
//! PASSporTs alone: a failed `rcd` costs the brand display, not the call's validation.
//!
//! Logos are fetched under the same rules as certificates (HTTPS, public addresses, size
//! and time limits), kept by URL, and fetched again when a call's digest differs from the
//! kept bytes, at most once per [`REFETCH_AFTER_SECS`] per URL (a logo that changed is seen
//! within seconds; calls with wrong digests cannot turn the checker into a fetch loop).
//! This node's own brands' logos are given locally and never fetched. One fetch per URL
//! runs at a time; calls waiting for it use its result.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use passport::claims::Claims;
use passport::rcd::check_integrity;
use store::BrandId;

use crate::brand::BrandIndex;
use crate::x5u::{FetchError, FetchOptions, Fetcher};

/// Seconds before kept logo bytes that do not match a call's digest are fetched again.
pub const REFETCH_AFTER_SECS: i64 = 10;

/// Seconds a fetched logo is kept without being fetched again.
pub const LOGO_MAX_AGE_SECS: i64 = 3_600;

/// Logos kept at most (the oldest is dropped first).
const MAX_LOGOS: usize = 4_096;

/// Largest logo accepted.
pub const MAX_LOGO_BYTES: usize = 256 * 1024;

/// What the called party is shown.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BrandDisplay {
    /// The caller's name (`nam`).
    pub name: String,
    /// The logo URL (`icn`), whose bytes matched their digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    /// The call reason (`crn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The brand registered here that the calling number belongs to, if any.
    #[serde(skip)]
    pub brand: Option<BrandId>,
}

/// The Rich Call Data outcome of a call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RcdOutcome {
    /// The call carried no `rcd` PASSporT.
    #[default]
    Absent,
    /// Every check held: show this.
    Shown(BrandDisplay),
    /// An `rcd` PASSporT was there but a check failed: show no brand.
    Withheld {
        /// Why, for logs and the response detail.
        reason: String,
    },
}

#[derive(Debug, Clone)]
struct Kept {
    bytes: Arc<[u8]>,
    fetched_at: i64,
}

/// Fetches and keeps logos, and checks them against `rcdi` digests.
#[derive(Debug)]
pub struct LogoChecker {
    fetcher: Fetcher,
    kept: Mutex<HashMap<String, Kept>>,
    local: RwLock<HashMap<String, Arc<[u8]>>>,
    /// One fetch per URL at a time: callers for a URL being fetched wait for that fetch.
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl LogoChecker {
    /// A checker fetching with `options` (its size cap raised to [`MAX_LOGO_BYTES`]).
    pub fn new(mut options: FetchOptions) -> Result<Self, FetchError> {
        options.max_bytes = MAX_LOGO_BYTES;
        Ok(Self {
            fetcher: Fetcher::new(options)?,
            kept: Mutex::new(HashMap::new()),
            local: RwLock::new(HashMap::new()),
            fetching: Mutex::new(HashMap::new()),
        })
    }

    /// Replaces the logos served by this node (by URL): they are checked without a fetch.
    pub fn set_local(&self, logos: HashMap<String, Arc<[u8]>>) {
        *self.local.write().unwrap_or_else(PoisonError::into_inner) = logos;
    }

    /// Adds or replaces one logo served by this node.
    pub fn put_local(&self, url: &str, bytes: Arc<[u8]>) {
        self.local
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(url.to_owned(), bytes);
    }

    /// Checks the logo at `url` against `digest` (`sha256-...`) at `now` (Unix seconds).
    pub async fn check(&self, url: &str, digest: &str, now: i64) -> Result<(), String> {
        let local = self
            .local
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(url)
            .cloned();
        if let Some(bytes) = local {
            return check_integrity(digest, &bytes).map_err(|e| format!("logo: {e}"));
        }
        if let Some(answer) = self.check_kept(url, digest, now) {
            return answer;
        }
        // One fetch per URL: wait for one in progress, then look again.
        let gate = Arc::clone(
            self.fetching
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(url.to_owned())
                .or_default(),
        );
        let _turn = gate.lock().await;
        if let Some(answer) = self.check_kept(url, digest, now) {
            return answer;
        }
        let fetched = self.fetch(url, now).await;
        self.fetching
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(url);
        check_integrity(digest, &fetched?).map_err(|e| format!("logo: {e}"))
    }

    /// The answer from the kept bytes, when they settle it: they match and are fresh, or
    /// they do not match and were fetched too recently to fetch again.
    fn check_kept(&self, url: &str, digest: &str, now: i64) -> Option<Result<(), String>> {
        let kept = self
            .kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(url)
            .cloned()?;
        let age = now.saturating_sub(kept.fetched_at);
        match check_integrity(digest, &kept.bytes) {
            Ok(()) if age < LOGO_MAX_AGE_SECS => Some(Ok(())),
            Err(e) if age < REFETCH_AFTER_SECS => Some(Err(format!("logo: {e}"))),
            _ => None,
        }
    }

    /// Fetches `url` and keeps its bytes.
    async fn fetch(&self, url: &str, now: i64) -> Result<Arc<[u8]>, String> {
        let fetched = self
            .fetcher
            .fetch(url)
            .await
            .map_err(|e| format!("logo {url}: {e}"))?;
        let bytes: Arc<[u8]> = Arc::from(fetched.body);
        {
            let mut map = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
            if map.len() >= MAX_LOGOS
                && !map.contains_key(url)
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, k)| k.fetched_at)
                    .map(|(u, _)| u.clone())
            {
                map.remove(&oldest);
            }
            map.insert(
                url.to_owned(),
                Kept {
                    bytes: Arc::clone(&bytes),
                    fetched_at: now,
                },
            );
        }
        Ok(bytes)
    }
}

/// Judges the verified claims of a call's `rcd` PASSporT (`Err`: why it failed to verify).
pub async fn judge(
    rcd: Result<&Claims, String>,
    brands: &BrandIndex,
    logos: &LogoChecker,
    now: i64,
) -> RcdOutcome {
    let claims = match rcd {
        Ok(claims) => claims,
        Err(reason) => {
            return RcdOutcome::Withheld {
                reason: format!("rcd PASSporT: {reason}"),
            };
        }
    };
    let withheld = |reason: &str| RcdOutcome::Withheld {
        reason: reason.to_owned(),
    };
    let Some(rcd) = &claims.rcd else {
        return withheld("rcd PASSporT without an rcd claim");
    };
    let Some(name) = rcd.nam.as_deref().map(str::trim).filter(|n| !n.is_empty()) else {
        return withheld("rcd without a name (nam)");
    };
    let registered = claims.orig.tn().and_then(|tn| brands.listed_brand(tn));
    if let Some(info) = registered
        && info.brand.display_name != name
    {
        return withheld(&format!(
            "the name {name:?} is not that of brand {:?}, whose listed number this is",
            info.brand.slug
        ));
    }
    let logo = match rcd.icn.as_deref() {
        None => None,
        Some(url) => {
            let Some(digest) = claims.rcdi.as_ref().and_then(|d| d.get("/icn")) else {
                return withheld("a logo (icn) without its rcdi digest");
            };
            if let Err(reason) = logos.check(url, digest, now).await {
                return RcdOutcome::Withheld { reason };
            }
            Some(url.to_owned())
        }
    };
    RcdOutcome::Shown(BrandDisplay {
        name: name.to_owned(),
        logo,
        reason: claims.crn.clone(),
        brand: registered.map(|info| info.brand.id),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use std::sync::atomic::{AtomicUsize, Ordering};

    use passport::rcd::{DigestAlg, integrity_digest};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// Concurrent checks of one uncached logo fetch it once; a wrong digest is refused.
    #[tokio::test]
    async fn one_fetch_per_logo_however_many_ask() {
        let logo = b"logo bytes".to_vec();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/logo.png", listener.local_addr().unwrap());
        let served = Arc::new(AtomicUsize::new(0));
        let (count, body) = (Arc::clone(&served), logo.clone());
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(&body).await;
            }
        });
        let checker = Arc::new(
            LogoChecker::new(FetchOptions {
                danger_allow_http: true,
                danger_allow_private: true,
                ..FetchOptions::default()
            })
            .unwrap(),
        );
        let digest = integrity_digest(DigestAlg::Sha256, &logo);
        let checks: Vec<_> = (0..8)
            .map(|_| {
                let (checker, url, digest) = (Arc::clone(&checker), url.clone(), digest.clone());
                tokio::spawn(async move { checker.check(&url, &digest, 1_000).await })
            })
            .collect();
        for check in checks {
            assert_eq!(check.await.unwrap(), Ok(()));
        }
        assert_eq!(served.load(Ordering::SeqCst), 1);
        let wrong = integrity_digest(DigestAlg::Sha256, b"other");
        assert!(checker.check(&url, &wrong, 1_001).await.is_err());
        // Refetched at most every REFETCH_AFTER_SECS for a mismatch.
        assert_eq!(served.load(Ordering::SeqCst), 1);
    }
}
