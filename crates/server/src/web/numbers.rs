//! Telephone numbers as people read them, a brand's number blocks summarised as ranges, and
//! those blocks per brand, kept per brand-policy snapshot so that a public page costs no
//! database round trip.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use engine::brand::BrandIndex;
use passport::TelephoneNumber;
use store::{BrandId, BrandNumberKind, NumberBlock, Store, StoreError};

pub use engine::call_check::readable;

/// Consecutive numbers of one length: one or more blocks merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberRange {
    first: u64,
    last: u64,
    digits: usize,
}

impl NumberRange {
    /// The first number, canonical.
    pub fn first(&self) -> String {
        format!("{:0width$}", self.first, width = self.digits)
    }

    /// The last number, canonical.
    pub fn last(&self) -> String {
        format!("{:0width$}", self.last, width = self.digits)
    }

    /// How many numbers.
    pub fn count(&self) -> u64 {
        self.last - self.first + 1
    }

    /// `+1 215-555-1000`, or `+1 215-555-1000 to +1 215-555-1099`.
    pub fn text(&self) -> String {
        if self.first == self.last {
            readable(&self.first())
        } else {
            format!("{} to {}", readable(&self.first()), readable(&self.last()))
        }
    }
}

/// The blocks as ranges, adjacent and overlapping blocks merged, in order.
pub fn summarise(blocks: &[NumberBlock]) -> Vec<NumberRange> {
    let mut sorted: Vec<NumberRange> = blocks
        .iter()
        .map(|b| NumberRange {
            first: b.first_value(),
            last: b.last_value(),
            digits: b.digits(),
        })
        .collect();
    sorted.sort_by_key(|r| (r.digits, r.first));
    let mut out: Vec<NumberRange> = Vec::with_capacity(sorted.len());
    for r in sorted {
        match out.last_mut() {
            Some(prev) if prev.digits == r.digits && r.first <= prev.last.saturating_add(1) => {
                prev.last = prev.last.max(r.last);
            }
            _ => out.push(r),
        }
    }
    out
}

/// A brand's number blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrandNumbers {
    /// The numbers it calls from.
    pub listed: Vec<NumberBlock>,
    /// The numbers that only receive calls (never call out).
    pub inbound_only: Vec<NumberBlock>,
}

impl BrandNumbers {
    /// The first number it calls from.
    pub fn first_listed(&self) -> Option<TelephoneNumber> {
        summarise(&self.listed)
            .first()
            .and_then(|r| TelephoneNumber::from_canonical(&r.first()).ok())
    }
}

/// Every brand's numbers, for one brand-policy snapshot.
struct Kept {
    index: Weak<BrandIndex>,
    numbers: Arc<HashMap<BrandId, BrandNumbers>>,
}

/// The last numbers read, and the snapshot they belong to. Held across the read, so that
/// one request reads the store per policy change, however many ask at once.
static KEPT: tokio::sync::Mutex<Option<Kept>> = tokio::sync::Mutex::const_new(None);

/// The numbers of `brand`, read from the store once per brand-policy snapshot (`index`, the
/// brand cache's current one: it is replaced whenever the policy changes).
pub async fn brand_numbers(
    store: &dyn Store,
    index: &Arc<BrandIndex>,
    brand: BrandId,
) -> Result<BrandNumbers, StoreError> {
    let mut kept = KEPT.lock().await;
    let current = Arc::downgrade(index);
    let numbers = match kept.as_ref() {
        Some(k) if Weak::ptr_eq(&k.index, &current) => Arc::clone(&k.numbers),
        _ => {
            let policy = store.brand_policy().await?;
            let mut numbers: HashMap<BrandId, BrandNumbers> = HashMap::new();
            for b in policy.blocks {
                let entry = numbers.entry(b.brand).or_default();
                match b.kind {
                    BrandNumberKind::Listed => entry.listed.push(b.block),
                    BrandNumberKind::InboundOnly => entry.inbound_only.push(b.block),
                }
            }
            let numbers = Arc::new(numbers);
            *kept = Some(Kept {
                index: current,
                numbers: Arc::clone(&numbers),
            });
            numbers
        }
    };
    Ok(numbers.get(&brand).cloned().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(start: &str, count: u64) -> NumberBlock {
        NumberBlock::new(TelephoneNumber::parse(start).unwrap(), count).unwrap()
    }

    #[test]
    fn north_american_numbers_read_as_area_exchange_line() {
        assert_eq!(readable("12155551212"), "+1 215-555-1212");
    }

    #[test]
    fn other_numbers_show_their_country_code_and_groups() {
        assert_eq!(readable("442079460958"), "+44 207 946 0958");
        assert_eq!(readable("33123456789"), "+33 12 345 6789");
        assert_eq!(readable("4420794600"), "+44 2 079 4600");
        assert_eq!(readable("3531234567"), "+353 123 4567");
        assert_eq!(readable("74951234567"), "+7 495 123 4567");
        assert_eq!(readable("1234"), "+1 234");
        assert_eq!(readable("*67"), "*67");
        assert_eq!(readable(""), "");
    }

    #[test]
    fn adjacent_and_overlapping_blocks_merge_into_ranges() {
        let ranges = summarise(&[
            block("12155551100", 10),
            block("12155551000", 100),
            block("12155551110", 1),
            block("12155559999", 1),
            block("4420794600", 5),
        ]);
        let text: Vec<(String, u64)> = ranges.iter().map(|r| (r.text(), r.count())).collect();
        assert_eq!(
            text,
            [
                ("+44 2 079 4600 to +44 2 079 4604".to_owned(), 5),
                ("+1 215-555-1000 to +1 215-555-1110".to_owned(), 111),
                ("+1 215-555-9999".to_owned(), 1),
            ]
        );
        assert_eq!(ranges[1].first(), "12155551000");
        assert_eq!(ranges[1].last(), "12155551110");
    }

    #[test]
    fn the_first_listed_number_is_the_lowest() {
        let numbers = BrandNumbers {
            listed: vec![block("12155552000", 1), block("12155551000", 5)],
            inbound_only: vec![],
        };
        assert_eq!(numbers.first_listed().unwrap().as_str(), "12155551000");
        assert_eq!(BrandNumbers::default().first_listed(), None);
    }
}
