//! Brand rows as both backends read and write them: the shared SQL, the JSON columns, and the
//! checks that turn stored rows back into typed values (a row that no longer makes a valid
//! value is a backend error, never a panic).

use std::collections::{BTreeMap, HashSet};

use passport::TelephoneNumber;

use crate::StoreError;
use crate::brand::{Brand, BrandId, BrandNumberKind, LogoMeta, Partner, PartnerId};
use crate::model::{CustomerId, NumberBlock};

/// The columns of a brand with its logo's metadata, in the order [`BrandRow`] takes them;
/// callers append `WHERE` and `ORDER BY`.
pub(crate) const BRAND_SELECT: &str = "SELECT b.id, b.slug, b.customer_id, b.legal_name, \
     b.display_name, b.call_reasons, b.never_ask, b.callback, b.created_at, b.updated_at, \
     l.content_type, l.digest, l.len, l.updated_at \
     FROM brands b LEFT JOIN brand_logos l ON l.brand_id = b.id";

/// The columns of a partner, in the order [`PartnerRow`] takes them (numbers come apart).
pub(crate) const PARTNER_SELECT: &str = "SELECT id, brand_id, customer_id, reasons, \
     valid_from, valid_until, revoked_at, created_at FROM partners";

/// A brand as stored, before its JSON columns are decoded.
pub(crate) struct BrandRow {
    pub(crate) id: i64,
    pub(crate) slug: String,
    pub(crate) customer: i64,
    pub(crate) legal_name: String,
    pub(crate) display_name: String,
    pub(crate) call_reasons: String,
    pub(crate) never_ask: String,
    /// Canonical digits of the callback number.
    pub(crate) callback: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    /// content type, digest, length, updated_at; `None` without a logo.
    pub(crate) logo: Option<(String, String, i64, i64)>,
}

impl BrandRow {
    pub(crate) fn into_brand(self) -> Result<Brand, StoreError> {
        let logo = self
            .logo
            .map(|(content_type, digest, len, updated_at)| {
                Ok::<_, StoreError>(LogoMeta {
                    content_type,
                    digest,
                    len: u64::try_from(len).map_err(|e| corrupt("logo length", e))?,
                    updated_at,
                })
            })
            .transpose()?;
        Ok(Brand {
            id: BrandId(self.id),
            slug: self.slug,
            customer: CustomerId(self.customer),
            legal_name: self.legal_name,
            display_name: self.display_name,
            call_reasons: from_json("call_reasons", &self.call_reasons)?,
            never_ask: from_json("never_ask", &self.never_ask)?,
            callback: self.callback.as_deref().map(stored_tn).transpose()?,
            logo,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A partner as stored, before its reasons are decoded and its numbers attached.
pub(crate) struct PartnerRow {
    pub(crate) id: i64,
    pub(crate) brand: i64,
    pub(crate) customer: i64,
    pub(crate) reasons: String,
    pub(crate) valid_from: i64,
    pub(crate) valid_until: Option<i64>,
    pub(crate) revoked_at: Option<i64>,
    pub(crate) created_at: i64,
}

/// Builds partners from their rows and their numbers (`(partner id, start, count)` rows in
/// order of position).
pub(crate) fn assemble_partners(
    rows: Vec<PartnerRow>,
    numbers: Vec<(i64, String, i64)>,
) -> Result<Vec<Partner>, StoreError> {
    let mut by_partner: BTreeMap<i64, Vec<NumberBlock>> = BTreeMap::new();
    for (partner, start, count) in numbers {
        by_partner
            .entry(partner)
            .or_default()
            .push(stored_block(&start, count)?);
    }
    rows.into_iter()
        .map(|r| {
            Ok(Partner {
                id: PartnerId(r.id),
                brand: BrandId(r.brand),
                customer: CustomerId(r.customer),
                numbers: by_partner.remove(&r.id).unwrap_or_default(),
                reasons: from_json("reasons", &r.reasons)?,
                valid_from: r.valid_from,
                valid_until: r.valid_until,
                revoked_at: r.revoked_at,
                created_at: r.created_at,
            })
        })
        .collect()
}

/// Serialises a JSON column.
pub(crate) fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend {
        detail: format!("cannot encode JSON column: {e}"),
    })
}

/// Parses a JSON column.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    column: &str,
    s: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| corrupt(column, e))
}

/// Rebuilds a stored block, refusing rows that no longer make a valid block.
pub(crate) fn stored_block(start: &str, count: i64) -> Result<NumberBlock, StoreError> {
    let what = format!("number block {start}+{count}");
    let tn = TelephoneNumber::from_canonical(start).map_err(|e| corrupt(&what, e))?;
    let count = u64::try_from(count).map_err(|e| corrupt(&what, e))?;
    NumberBlock::new(tn, count).map_err(|e| corrupt(&what, e))
}

/// Rebuilds a stored number kind.
pub(crate) fn stored_kind(s: &str) -> Result<BrandNumberKind, StoreError> {
    BrandNumberKind::parse(s).ok_or_else(|| StoreError::Backend {
        detail: format!("stored brand number kind {s:?} is unknown"),
    })
}

/// Rebuilds a stored telephone number.
pub(crate) fn stored_tn(s: &str) -> Result<TelephoneNumber, StoreError> {
    TelephoneNumber::from_canonical(s).map_err(|e| corrupt("telephone number", e))
}

/// The numbers of a request once each, in the order first given.
pub(crate) fn distinct_tns(tns: &[TelephoneNumber]) -> Vec<TelephoneNumber> {
    let mut seen = HashSet::with_capacity(tns.len());
    tns.iter().copied().filter(|tn| seen.insert(*tn)).collect()
}

/// Why a partner number is refused: not all of it is on the brand's listed numbers.
pub(crate) fn not_listed(brand: BrandId, block: &NumberBlock) -> StoreError {
    StoreError::Conflict {
        what: "partner number block",
        detail: format!("{block} is not all on the listed numbers of brand {brand}"),
    }
}

/// Why a brand block is refused: it overlaps a stored one.
pub(crate) fn brand_overlap(
    block: &NumberBlock,
    start: &str,
    count: i64,
    brand: i64,
) -> StoreError {
    StoreError::Conflict {
        what: "brand number block",
        detail: format!("{block} overlaps {start}+{count} of brand {brand}"),
    }
}

/// Whether the stored brand blocks that can share a number with `block` (`(brand, kind,
/// first, last)`, by first number, from the one with the greatest first number at or below
/// the block's first, as stored blocks are disjoint) hold every number of `block` on `brand`'s listed numbers: a partner's block
/// may span adjacent listed blocks, never a gap or a number of another list.
pub(crate) fn covers(
    found: &[(i64, String, i64, i64)],
    brand: BrandId,
    block: &NumberBlock,
) -> bool {
    let (Ok(first), Ok(last)) = (
        i64::try_from(block.first_value()),
        i64::try_from(block.last_value()),
    ) else {
        return false;
    };
    // The next number that still needs a listed block of the brand.
    let mut next = first;
    for (owner, kind, from, to) in found {
        if *to < next {
            continue;
        }
        if *owner != brand.0 || kind != BrandNumberKind::Listed.as_str() || *from > next {
            return false;
        }
        if *to >= last {
            return true;
        }
        next = to.saturating_add(1);
    }
    false
}

pub(crate) fn brand_not_found(id: BrandId) -> StoreError {
    StoreError::NotFound {
        what: "brand",
        key: id.to_string(),
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend {
        detail: format!("stored {what} is invalid: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(start: &str, count: u64) -> NumberBlock {
        NumberBlock::new(TelephoneNumber::parse(start).unwrap(), count).unwrap()
    }

    fn listed(brand: i64, first: i64, last: i64) -> (i64, String, i64, i64) {
        (brand, "listed".to_owned(), first, last)
    }

    #[test]
    fn partner_blocks_must_be_covered_by_the_brands_listed_blocks() {
        let brand = BrandId(1);
        let adjacent = [listed(1, 100, 199), listed(1, 200, 299)];
        assert!(covers(&adjacent, brand, &block("150", 100)));
        assert!(covers(&adjacent, brand, &block("100", 200)));
        assert!(covers(&adjacent, brand, &block("299", 1)));
        assert!(!covers(&adjacent, BrandId(2), &block("150", 1)));
        assert!(!covers(&adjacent, brand, &block("099", 2)));
        assert!(!covers(&adjacent, brand, &block("250", 51)));
        let gap = [listed(1, 100, 199), listed(1, 201, 299)];
        assert!(!covers(&gap, brand, &block("150", 100)));
        let other_kind = [
            listed(1, 100, 199),
            (1, "inbound_only".to_owned(), 200, 299),
        ];
        assert!(!covers(&other_kind, brand, &block("150", 100)));
        assert!(covers(&other_kind, brand, &block("150", 50)));
        assert!(!covers(&[], brand, &block("150", 1)));
    }

    #[test]
    fn repeated_numbers_are_kept_once_in_first_order() {
        let tn = |s| TelephoneNumber::parse(s).unwrap();
        assert_eq!(
            distinct_tns(&[tn("3"), tn("1"), tn("3"), tn("2"), tn("1")]),
            vec![tn("3"), tn("1"), tn("2")]
        );
    }
}
