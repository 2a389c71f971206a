//! What the store holds about brands: the organisations whose calls are shown with a verified
//! name, logo and reason, their published and inbound-only numbers, the partners authorised
//! to call in their name, the national Do-Not-Originate list, their customers' opt-outs and
//! the events their security teams see.

use std::fmt;

use passport::TelephoneNumber;

use crate::model::{CustomerId, NumberBlock};

/// A brand's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BrandId(pub i64);

impl fmt::Display for BrandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A partner authorisation's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartnerId(pub i64);

impl fmt::Display for PartnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A reason a brand calls for, as shown on the phone (`crn`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallReason {
    /// Short token used in APIs and SIP (`[a-z0-9-]{1,32}`), e.g. "fraud-alert".
    pub code: String,
    /// The text shown (`crn`), at most 64 characters, e.g. "Card fraud alert".
    pub text: String,
    /// Marketing call: refused to numbers that opted out of the brand's marketing.
    pub marketing: bool,
}

/// The logo's metadata (the bytes are read separately, with [`crate::Store::brand_logo`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoMeta {
    /// `image/png`, `image/jpeg`, `image/svg+xml` or `image/webp`.
    pub content_type: String,
    /// `sha256-<base64url-no-pad>` of the bytes, as `rcdi` writes it (computed by the caller).
    pub digest: String,
    /// Size in bytes.
    pub len: u64,
    /// Unix seconds it was set.
    pub updated_at: i64,
}

/// What a brand is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    /// Its id.
    pub id: BrandId,
    /// URL slug `[a-z0-9-]{1,48}` (checked by the caller), unique.
    pub slug: String,
    /// The customer whose account the brand belongs to (it signs the brand's calls itself).
    pub customer: CustomerId,
    /// The registered legal name.
    pub legal_name: String,
    /// The name shown on the phone, at most 32 characters (checked by the caller).
    pub display_name: String,
    /// The reasons it calls for.
    pub call_reasons: Vec<CallReason>,
    /// What it will never ask its customers on a call: "We will never ask for your PIN", ...
    pub never_ask: Vec<String>,
    /// The number its customers should call back on (shown when a check says "not us").
    pub callback: Option<TelephoneNumber>,
    /// The logo, if one was set.
    pub logo: Option<LogoMeta>,
    /// Unix seconds it was created.
    pub created_at: i64,
    /// Unix seconds its fields were last replaced (setting the logo does not move it; the
    /// logo has its own [`LogoMeta::updated_at`]).
    pub updated_at: i64,
}

/// A new brand, or a brand's replaced fields (`update_brand` replaces them all but slug,
/// customer and logo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandFields {
    /// The registered legal name.
    pub legal_name: String,
    /// The name shown on the phone, at most 32 characters (checked by the caller).
    pub display_name: String,
    /// The reasons it calls for.
    pub call_reasons: Vec<CallReason>,
    /// What it will never ask its customers on a call.
    pub never_ask: Vec<String>,
    /// The number its customers should call back on.
    pub callback: Option<TelephoneNumber>,
}

/// Which list a brand number block is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BrandNumberKind {
    /// Numbers the brand calls from (published).
    Listed,
    /// Numbers that only receive calls: Do-Not-Originate.
    InboundOnly,
}

impl BrandNumberKind {
    /// The name used in the database and APIs: `listed` or `inbound_only`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Listed => "listed",
            Self::InboundOnly => "inbound_only",
        }
    }

    /// Parses a name written by [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "listed" => Some(Self::Listed),
            "inbound_only" => Some(Self::InboundOnly),
            _ => None,
        }
    }
}

impl fmt::Display for BrandNumberKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A block of numbers on one of a brand's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrandBlock {
    /// The brand.
    pub brand: BrandId,
    /// Which list.
    pub kind: BrandNumberKind,
    /// The numbers.
    pub block: NumberBlock,
}

/// A call centre or reseller authorised to call in a brand's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    /// Its id.
    pub id: PartnerId,
    /// The brand it calls for.
    pub brand: BrandId,
    /// The partner's own customer account (its trunks and API keys identify it).
    pub customer: CustomerId,
    /// Which of the brand's listed numbers it may use (all on the brand's listed numbers when
    /// the partner was created), in the order given.
    pub numbers: Vec<NumberBlock>,
    /// Call reason codes it may use; empty: any of the brand's.
    pub reasons: Vec<String>,
    /// Unix seconds it is valid from (inclusive).
    pub valid_from: i64,
    /// Unix seconds it is valid until (exclusive); `None`: open-ended.
    pub valid_until: Option<i64>,
    /// Unix seconds it was revoked, if it was.
    pub revoked_at: Option<i64>,
    /// Unix seconds it was created.
    pub created_at: i64,
}

/// Where a partner's authorisation stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// It may call in the brand's name.
    InForce,
    /// Revoked at this time.
    Revoked(i64),
    /// Not valid before this time.
    NotYet(i64),
    /// Expired at this time.
    Expired(i64),
}

impl Partner {
    /// Where the authorisation stands at `now` (Unix seconds): a revocation counts from
    /// its time, the validity window is `valid_from` inclusive to `valid_until` exclusive.
    pub fn standing(&self, now: i64) -> Standing {
        match (self.revoked_at, self.valid_until) {
            (Some(at), _) if at <= now => Standing::Revoked(at),
            _ if now < self.valid_from => Standing::NotYet(self.valid_from),
            (_, Some(until)) if now >= until => Standing::Expired(until),
            _ => Standing::InForce,
        }
    }
}

/// A partner authorisation to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPartner {
    /// The brand it calls for.
    pub brand: BrandId,
    /// The partner's own customer account.
    pub customer: CustomerId,
    /// Which of the brand's listed numbers it may use: every number must be on the brand's
    /// listed numbers (a block may span adjacent listed blocks), and blocks must not overlap
    /// one another.
    pub numbers: Vec<NumberBlock>,
    /// Call reason codes it may use; empty: any of the brand's.
    pub reasons: Vec<String>,
    /// Unix seconds it is valid from (inclusive).
    pub valid_from: i64,
    /// Unix seconds it is valid until (exclusive); `None`: open-ended.
    pub valid_until: Option<i64>,
}

/// One change of the opt-out list, in commit order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptOutChange {
    /// Increasing in commit order (use it as a cursor): a reader that has seen a change has
    /// seen every change with a smaller `seq`. Not gap-free (a rolled-back write leaves gaps).
    pub seq: i64,
    /// The brand.
    pub brand: BrandId,
    /// Canonical digits of the customer's number.
    pub tn: TelephoneNumber,
    /// true: opted out; false: opted back in.
    pub opted_out: bool,
    /// "api", "page", "import:<file name>", ...
    pub source: String,
    /// Unix seconds of the change.
    pub at: i64,
}

/// Something a brand's security team sees: refused signings, DNO hits, spoofing evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct BrandEvent {
    /// Increasing per store; events are paged by it, newest first.
    pub seq: i64,
    /// The brand.
    pub brand: BrandId,
    /// Unix seconds it happened.
    pub at: i64,
    /// e.g. "partner_unauthorised", "dno_signing_refused", "spoofed_listed_number",
    /// "rcd_integrity_failed", "opt_out_refused".
    pub kind: String,
    /// What the engine recorded about it.
    pub detail: serde_json::Value,
}

/// Everything the call path needs about brands, loaded at once (logos without bytes;
/// opt-outs are read separately through `opt_out_changes`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BrandPolicy {
    /// The version it was read at (moves on every brand, logo, number, partner or DNO write).
    pub version: i64,
    /// All brands, by id.
    pub brands: Vec<Brand>,
    /// All brand number blocks, by number length then first number.
    pub blocks: Vec<BrandBlock>,
    /// All partners, revoked and expired ones too (the call path checks `revoked_at` and
    /// the validity window), by id.
    pub partners: Vec<Partner>,
    /// The imported national Do-Not-Originate list, by number length then first number.
    pub dno: Vec<NumberBlock>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_kinds_round_trip_through_their_names() {
        for kind in [BrandNumberKind::Listed, BrandNumberKind::InboundOnly] {
            assert_eq!(BrandNumberKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(BrandNumberKind::parse("dno"), None);
    }
}
