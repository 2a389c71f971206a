//! The `range` entry of a TNAuthList: `count` consecutive numbers from `start`.

use std::fmt;

use passport::TelephoneNumber;

use super::TnAuthListError;

/// `count` consecutive telephone numbers starting at `start`, all of the same length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TnRange {
    start: TelephoneNumber,
    count: u64,
}

impl TnRange {
    /// A range of `count` (at least 2, as RFC 8226 requires) numbers from `start`, which must
    /// be all digits; the last number must not need more digits than `start`.
    pub fn new(start: TelephoneNumber, count: u64) -> Result<Self, TnAuthListError> {
        if count < 2 {
            return Err(TnAuthListError::InvalidCount {
                reason: "below the minimum of 2",
            });
        }
        let (len, lo) = numeric(&start).ok_or(TnAuthListError::RangeStartNotDigits { start })?;
        let limit = 10u128.pow(u32::from(len));
        if lo + u128::from(count) > limit {
            return Err(TnAuthListError::RangeOverflow { start, count });
        }
        Ok(Self { start, count })
    }

    /// The first number.
    pub const fn start(&self) -> TelephoneNumber {
        self.start
    }

    /// How many numbers the range holds.
    pub const fn count(&self) -> u64 {
        self.count
    }

    /// The last number of the range.
    pub fn last(&self) -> TelephoneNumber {
        let (len, _, hi) = self.interval();
        // `new` checked that `hi` has at most `len` digits, so this cannot fail; fall back to
        // the start rather than panic.
        format_number(len, hi).unwrap_or(self.start)
    }

    /// True when `tn` has the length of `start` and lies in the range.
    pub fn contains(&self, tn: &TelephoneNumber) -> bool {
        let (len, lo, hi) = self.interval();
        numeric(tn).is_some_and(|(n_len, n)| n_len == len && lo <= n && n <= hi)
    }

    /// `(length, first, last)` as numbers.
    pub(crate) fn interval(&self) -> (u8, u128, u128) {
        let (len, lo) = numeric(&self.start).unwrap_or_default();
        (len, lo, lo + u128::from(self.count) - 1)
    }
}

impl fmt::Display for TnRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}..{} ({} numbers)",
            self.start,
            self.last(),
            self.count
        )
    }
}

/// A telephone number as `(length, value)` when it is made of decimal digits only.
pub(crate) fn numeric(tn: &TelephoneNumber) -> Option<(u8, u128)> {
    let s = tn.as_str();
    let len = u8::try_from(s.len()).ok()?;
    let mut value = 0u128;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u128::from(b - b'0');
    }
    Some((len, value))
}

fn format_number(len: u8, value: u128) -> Option<TelephoneNumber> {
    let s = format!("{value:0width$}", width = usize::from(len));
    if s.len() != usize::from(len) {
        return None;
    }
    TelephoneNumber::from_canonical(&s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tn(s: &str) -> TelephoneNumber {
        TelephoneNumber::from_canonical(s).unwrap()
    }

    #[test]
    fn ranges_hold_same_length_numbers_up_to_their_last() {
        let r = TnRange::new(tn("0990"), 10).unwrap();
        assert_eq!(r.last().as_str(), "0999");
        assert!(r.contains(&tn("0990")) && r.contains(&tn("0995")) && r.contains(&tn("0999")));
        assert!(!r.contains(&tn("0989")) && !r.contains(&tn("1000")));
        assert!(!r.contains(&tn("995")) && !r.contains(&tn("09950")) && !r.contains(&tn("099#")));
        assert_eq!(r.to_string(), "0990..0999 (10 numbers)");
        assert_eq!(
            TnRange::new(tn("0990"), 9010).unwrap().last().as_str(),
            "9999"
        );
        assert!(matches!(
            TnRange::new(tn("0990"), 9011),
            Err(TnAuthListError::RangeOverflow { .. })
        ));
        assert!(matches!(
            TnRange::new(tn("0990"), 1),
            Err(TnAuthListError::InvalidCount { .. })
        ));
        assert!(TnRange::new(tn("99999999999999999999"), 2).is_err());
        assert_eq!(
            TnRange::new(tn("00000000000000000000"), u64::MAX)
                .unwrap()
                .count(),
            u64::MAX
        );
        assert!(matches!(
            TnRange::new(tn("12*4"), 5),
            Err(TnAuthListError::RangeStartNotDigits { .. })
        ));
    }
}
