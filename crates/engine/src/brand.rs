//! Brand policy on the call path (DESIGN, signing flow): is the calling number a brand's
//! listed number, may this caller use it, for this reason, to this called number; is it a
//! Do-Not-Originate number.
//!
//! A [`BrandIndex`] is immutable and built from one [`BrandPolicy`] snapshot; the
//! [`BrandCache`] swaps in a new one when the store's policy version moves, and keeps the
//! opt-out set up to date from the store's change log (a cursor, so each poll reads only
//! what changed). Lookups take no database round trip.
//!
//! The rules, in the order they are applied to a signing request:
//! 1. A number on the national Do-Not-Originate list, or on a brand's inbound-only list, is
//!    never signed for.
//! 2. A number on a brand's listed (outbound) numbers is signed only for the brand's own
//!    customer, or for a partner authorised for that number, inside its validity window
//!    and not revoked. Anyone else is refused.
//! 3. A call reason, when given, must be one of the brand's (by code or text) and, for a
//!    partner limited to some reasons, one of those.
//! 4. To a called number that opted out of the brand's marketing, a marketing reason is
//!    refused, and so is a call that states no reason (it could be marketing); service
//!    reasons go through.
//!
//! A call allowed by these rules gets a [`BrandGrant`]: what the `rcd` PASSporT carries.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use passport::TelephoneNumber;
use store::{
    Brand, BrandId, BrandNumberKind, BrandPolicy, CallReason, CustomerId, Partner, PartnerId,
    Standing, Store, StoreError,
};

use crate::ranges::RangeMap;

/// A brand as the call path needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandInfo {
    /// The brand.
    pub brand: Brand,
    /// Where this node serves its logo (the `icn` of its `rcd` PASSporTs), when it has one.
    pub logo_url: Option<String>,
}

impl BrandInfo {
    /// The brand's call reason with this code or text (text compared case-insensitively).
    pub fn reason(&self, asked: &str) -> Option<&CallReason> {
        let asked = asked.trim();
        self.brand
            .call_reasons
            .iter()
            .find(|r| r.code == asked || r.text.eq_ignore_ascii_case(asked))
    }
}

/// The stable URL of a brand's logo on a node reached at `public_url`.
pub fn logo_url(public_url: &str, slug: &str) -> String {
    format!("{}/brands/{slug}/logo", public_url.trim_end_matches('/'))
}

/// Why a number is Do-Not-Originate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnoSource {
    /// The imported national list.
    National,
    /// A brand's inbound-only numbers.
    Brand(BrandId),
}

/// An immutable index over one policy snapshot.
#[derive(Debug, Default)]
pub struct BrandIndex {
    version: i64,
    brands: HashMap<BrandId, Arc<BrandInfo>>,
    by_slug: HashMap<String, BrandId>,
    listed: RangeMap<BrandId>,
    inbound_only: RangeMap<BrandId>,
    dno: RangeMap<()>,
    partners: HashMap<(BrandId, CustomerId), Vec<Partner>>,
}

impl BrandIndex {
    /// Builds the index; logo URLs point at `public_url`.
    pub fn new(policy: BrandPolicy, public_url: &str) -> Self {
        let mut index = Self {
            version: policy.version,
            listed: RangeMap::new(
                policy
                    .blocks
                    .iter()
                    .filter(|b| b.kind == BrandNumberKind::Listed)
                    .map(|b| (b.block, b.brand)),
            ),
            inbound_only: RangeMap::new(
                policy
                    .blocks
                    .iter()
                    .filter(|b| b.kind == BrandNumberKind::InboundOnly)
                    .map(|b| (b.block, b.brand)),
            ),
            dno: RangeMap::new(policy.dno.iter().map(|b| (*b, ()))),
            ..Self::default()
        };
        for brand in policy.brands {
            let logo_url = brand
                .logo
                .as_ref()
                .map(|_| logo_url(public_url, &brand.slug));
            index.by_slug.insert(brand.slug.clone(), brand.id);
            index
                .brands
                .insert(brand.id, Arc::new(BrandInfo { brand, logo_url }));
        }
        for partner in policy.partners {
            index
                .partners
                .entry((partner.brand, partner.customer))
                .or_default()
                .push(partner);
        }
        index
    }

    /// The authorisations of `customer` to call for `brand` (revoked and expired ones too).
    pub fn partner_authorisations(&self, brand: BrandId, customer: CustomerId) -> &[Partner] {
        self.partners
            .get(&(brand, customer))
            .map_or(&[], Vec::as_slice)
    }

    /// The store's policy version this index was built from.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// A brand by id.
    pub fn brand(&self, id: BrandId) -> Option<&Arc<BrandInfo>> {
        self.brands.get(&id)
    }

    /// A brand by slug.
    pub fn by_slug(&self, slug: &str) -> Option<&Arc<BrandInfo>> {
        self.by_slug.get(slug).and_then(|id| self.brands.get(id))
    }

    /// Every brand.
    pub fn brands(&self) -> impl Iterator<Item = &Arc<BrandInfo>> {
        self.brands.values()
    }

    /// The brand whose listed numbers hold `tn`.
    pub fn listed_brand(&self, tn: &TelephoneNumber) -> Option<&Arc<BrandInfo>> {
        self.listed.get(tn).and_then(|id| self.brands.get(id))
    }

    /// Why `tn` is Do-Not-Originate, if it is.
    pub fn dno(&self, tn: &TelephoneNumber) -> Option<DnoSource> {
        if let Some(brand) = self.inbound_only.get(tn) {
            return Some(DnoSource::Brand(*brand));
        }
        self.dno.get(tn).map(|()| DnoSource::National)
    }

    /// How many blocks the national DNO list holds.
    pub fn national_dno_blocks(&self) -> usize {
        self.dno.len()
    }

    /// The partner authorisation letting `customer` call from `tn` for `brand` at `now`,
    /// or why there is none.
    fn partner_for(
        &self,
        brand: BrandId,
        customer: CustomerId,
        tn: &TelephoneNumber,
        now: i64,
    ) -> Result<&Partner, &'static str> {
        let Some(partners) = self.partners.get(&(brand, customer)) else {
            return Err("the caller is not a partner of the brand");
        };
        let mut why = "the partner is not authorised for this number";
        for p in partners {
            if !p.numbers.iter().any(|b| b.contains(tn)) {
                continue;
            }
            why = match p.standing(now) {
                Standing::InForce => return Ok(p),
                Standing::Revoked(_) => "the partner's authorisation was revoked",
                Standing::NotYet(_) => "the partner's authorisation is not valid yet",
                Standing::Expired(_) => "the partner's authorisation has expired",
            };
        }
        Err(why)
    }
}

/// A signing request as brand policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct BrandCheck<'a> {
    /// The calling customer (`None`: a gateway call).
    pub customer: Option<CustomerId>,
    /// The calling number.
    pub orig: &'a TelephoneNumber,
    /// The called numbers.
    pub dest: &'a [TelephoneNumber],
    /// The call reason asked for (a code or the text), if any.
    pub reason: Option<&'a str>,
    /// Unix seconds.
    pub now: i64,
}

/// A call allowed to carry a brand: what its `rcd` PASSporT says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandGrant {
    /// The brand.
    pub brand: Arc<BrandInfo>,
    /// The partner calling in the brand's name (`None`: the brand itself).
    pub partner: Option<PartnerId>,
    /// The call reason.
    pub reason: Option<CallReason>,
}

/// Why brand policy refuses to sign a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BrandRefusal {
    /// The calling number is Do-Not-Originate.
    #[error("{number} is a Do-Not-Originate number: calls from it are never signed")]
    DoNotOriginate {
        /// The number.
        number: TelephoneNumber,
        /// Which list it is on.
        list: DnoSource,
    },
    /// A brand's listed number, used by a caller the brand has not authorised.
    #[error("{number} is a listed number of brand {slug:?}: {why}")]
    NotAuthorised {
        /// The brand.
        brand: BrandId,
        /// Its slug.
        slug: String,
        /// The number.
        number: TelephoneNumber,
        /// What is missing.
        why: &'static str,
    },
    /// A call reason the brand does not have.
    #[error("{reason:?} is not a call reason of brand {slug:?}")]
    UnknownReason {
        /// The brand.
        brand: BrandId,
        /// Its slug.
        slug: String,
        /// The reason asked for.
        reason: String,
    },
    /// A call reason the partner may not use.
    #[error("the partner may not call for {reason:?} in the name of brand {slug:?}")]
    ReasonNotAuthorised {
        /// The brand.
        brand: BrandId,
        /// Its slug.
        slug: String,
        /// The reason asked for.
        reason: String,
    },
    /// A marketing call (or one with no stated reason) to a number that opted out of the
    /// brand's marketing.
    #[error(
        "{number} opted out of marketing calls from brand {slug:?}: only a service call reason is signed"
    )]
    OptedOut {
        /// The brand.
        brand: BrandId,
        /// Its slug.
        slug: String,
        /// The called number.
        number: TelephoneNumber,
    },
}

impl BrandRefusal {
    /// The brand concerned, whose security team sees the refusal as an event.
    pub fn brand(&self) -> Option<BrandId> {
        match self {
            Self::DoNotOriginate {
                list: DnoSource::Brand(brand),
                ..
            }
            | Self::NotAuthorised { brand, .. }
            | Self::UnknownReason { brand, .. }
            | Self::ReasonNotAuthorised { brand, .. }
            | Self::OptedOut { brand, .. } => Some(*brand),
            Self::DoNotOriginate {
                list: DnoSource::National,
                ..
            } => None,
        }
    }

    /// The event kind recorded for the brand.
    pub fn event_kind(&self) -> &'static str {
        match self {
            Self::DoNotOriginate { .. } => "dno_signing_refused",
            Self::NotAuthorised { .. } => "unauthorised_signing_refused",
            Self::UnknownReason { .. } | Self::ReasonNotAuthorised { .. } => {
                "reason_signing_refused"
            }
            Self::OptedOut { .. } => "opt_out_signing_refused",
        }
    }
}

/// The opt-out set and the change-log cursor it is current to.
#[derive(Debug, Default)]
struct OptOuts {
    set: HashSet<(BrandId, TelephoneNumber)>,
    cursor: i64,
}

/// Opt-out changes read per store round trip while catching up.
const OPT_OUT_PAGE: u32 = 10_000;

/// The current brand index and opt-out set, refreshed from the store.
#[derive(Debug)]
pub struct BrandCache {
    current: ArcSwap<BrandIndex>,
    opt_outs: RwLock<OptOuts>,
    public_url: String,
}

impl BrandCache {
    /// Loads the policy and every opt-out.
    pub async fn load(store: &dyn Store, public_url: &str) -> Result<Self, StoreError> {
        let policy = store.brand_policy().await?;
        let cache = Self {
            current: ArcSwap::from_pointee(BrandIndex::new(policy, public_url)),
            opt_outs: RwLock::new(OptOuts::default()),
            public_url: public_url.to_owned(),
        };
        cache.catch_up_opt_outs(store).await?;
        Ok(cache)
    }

    /// An empty cache (no brands), for nodes and tests without a store.
    pub fn empty(public_url: &str) -> Self {
        Self {
            current: ArcSwap::from_pointee(BrandIndex::default()),
            opt_outs: RwLock::new(OptOuts::default()),
            public_url: public_url.to_owned(),
        }
    }

    /// The URL this node is reached at (logo URLs start with it).
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The current index.
    pub fn get(&self) -> Arc<BrandIndex> {
        self.current.load_full()
    }

    /// Whether `tn` is opted out of `brand`'s marketing calls.
    pub fn is_opted_out(&self, brand: BrandId, tn: &TelephoneNumber) -> bool {
        self.opt_outs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .set
            .contains(&(brand, *tn))
    }

    /// Reloads the policy when its version moved and applies new opt-out changes; returns
    /// whether the policy was reloaded.
    pub async fn refresh(&self, store: &dyn Store) -> Result<bool, StoreError> {
        self.catch_up_opt_outs(store).await?;
        let version = store.policy_version().await?;
        if version == self.current.load().version() {
            return Ok(false);
        }
        let policy = store.brand_policy().await?;
        self.current
            .store(Arc::new(BrandIndex::new(policy, &self.public_url)));
        Ok(true)
    }

    async fn catch_up_opt_outs(&self, store: &dyn Store) -> Result<(), StoreError> {
        loop {
            let cursor = self
                .opt_outs
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .cursor;
            let changes = store.opt_out_changes(cursor, OPT_OUT_PAGE).await?;
            let full = changes.len() >= OPT_OUT_PAGE as usize;
            {
                let mut opt_outs = self
                    .opt_outs
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                // Another refresh may have applied these already: apply only what is new.
                for change in &changes {
                    if change.seq <= opt_outs.cursor {
                        continue;
                    }
                    if change.opted_out {
                        opt_outs.set.insert((change.brand, change.tn));
                    } else {
                        opt_outs.set.remove(&(change.brand, change.tn));
                    }
                    opt_outs.cursor = change.seq;
                }
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Refreshes every `period` until the future is dropped; failures are passed to
    /// `on_error` (for logging) and polling goes on.
    pub async fn poll(
        &self,
        store: &dyn Store,
        period: Duration,
        mut on_error: impl FnMut(&StoreError),
    ) {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.refresh(store).await {
                on_error(&e);
            }
        }
    }

    /// Applies brand policy to a signing request: `Ok(None)` for a number of no brand,
    /// `Ok(Some(grant))` for a brand's call, or the refusal.
    pub fn decide(&self, check: &BrandCheck<'_>) -> Result<Option<BrandGrant>, BrandRefusal> {
        let index = self.current.load();
        if let Some(source) = index.dno(check.orig) {
            return Err(BrandRefusal::DoNotOriginate {
                number: *check.orig,
                list: source,
            });
        }
        let Some(info) = index.listed_brand(check.orig) else {
            return Ok(None);
        };
        let brand = &info.brand;
        let slug = || brand.slug.clone();
        let partner = match check.customer {
            Some(c) if c == brand.customer => None,
            Some(c) => Some(
                index
                    .partner_for(brand.id, c, check.orig, check.now)
                    .map_err(|why| BrandRefusal::NotAuthorised {
                        brand: brand.id,
                        slug: slug(),
                        number: *check.orig,
                        why,
                    })?,
            ),
            None => {
                return Err(BrandRefusal::NotAuthorised {
                    brand: brand.id,
                    slug: slug(),
                    number: *check.orig,
                    why: "the caller is not a known customer",
                });
            }
        };
        let reason = match check.reason.map(str::trim).filter(|r| !r.is_empty()) {
            None => None,
            Some(asked) => {
                let reason = info
                    .reason(asked)
                    .ok_or_else(|| BrandRefusal::UnknownReason {
                        brand: brand.id,
                        slug: slug(),
                        reason: asked.to_owned(),
                    })?;
                if let Some(p) = partner
                    && !p.reasons.is_empty()
                    && !p.reasons.contains(&reason.code)
                {
                    return Err(BrandRefusal::ReasonNotAuthorised {
                        brand: brand.id,
                        slug: slug(),
                        reason: asked.to_owned(),
                    });
                }
                Some(reason.clone())
            }
        };
        // A call with no stated reason could be marketing: to an opted-out number only a
        // stated service reason goes through.
        if reason.as_ref().is_none_or(|r| r.marketing)
            && let Some(number) = check.dest.iter().find(|tn| self.is_opted_out(brand.id, tn))
        {
            return Err(BrandRefusal::OptedOut {
                brand: brand.id,
                slug: slug(),
                number: *number,
            });
        }
        Ok(Some(BrandGrant {
            brand: Arc::clone(info),
            partner: partner.map(|p| p.id),
            reason,
        }))
    }
}
