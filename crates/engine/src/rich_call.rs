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
//! This node's own brands' logos are given locally and never fetched.

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
}

impl LogoChecker {
    /// A checker fetching with `options` (its size cap raised to [`MAX_LOGO_BYTES`]).
    pub fn new(mut options: FetchOptions) -> Result<Self, FetchError> {
        options.max_bytes = MAX_LOGO_BYTES;
        Ok(Self {
            fetcher: Fetcher::new(options)?,
            kept: Mutex::new(HashMap::new()),
            local: RwLock::new(HashMap::new()),
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
        let kept = self
            .kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(url)
            .cloned();
        if let Some(k) = &kept {
            let age = now.saturating_sub(k.fetched_at);
            match check_integrity(digest, &k.bytes) {
                Ok(()) if age < LOGO_MAX_AGE_SECS => return Ok(()),
                Err(e) if age < REFETCH_AFTER_SECS => return Err(format!("logo: {e}")),
                _ => {}
            }
        }
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
        check_integrity(digest, &bytes).map_err(|e| format!("logo: {e}"))
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
