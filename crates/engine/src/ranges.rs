//! Number blocks to values, looked up by telephone number: per number length, the blocks
//! sorted by their first number, found by binary search. Blocks of one map never overlap
//! (the store refuses overlaps), so the block that starts at or before a number is the only
//! one that can hold it.

use std::collections::HashMap;

use passport::TelephoneNumber;
use store::NumberBlock;

/// Blocks of numbers, each with a value.
#[derive(Debug, Clone)]
pub struct RangeMap<T> {
    /// Per number length: (first, last, value), sorted by first.
    by_len: HashMap<usize, Vec<(u64, u64, T)>>,
}

impl<T> Default for RangeMap<T> {
    fn default() -> Self {
        Self {
            by_len: HashMap::new(),
        }
    }
}

impl<T> RangeMap<T> {
    /// A map of `blocks`.
    pub fn new(blocks: impl IntoIterator<Item = (NumberBlock, T)>) -> Self {
        let mut map = Self::default();
        for (block, value) in blocks {
            map.by_len.entry(block.digits()).or_default().push((
                block.first_value(),
                block.last_value(),
                value,
            ));
        }
        for list in map.by_len.values_mut() {
            list.sort_unstable_by_key(|&(first, _, _)| first);
        }
        map
    }

    /// The value of the block holding `tn`.
    pub fn get(&self, tn: &TelephoneNumber) -> Option<&T> {
        let s = tn.as_str();
        if !tn.is_all_digits() {
            return None;
        }
        let value: u64 = s.parse().ok()?;
        let list = self.by_len.get(&s.len())?;
        let idx = list.partition_point(|&(first, _, _)| first <= value);
        let (_, last, found) = list.get(idx.checked_sub(1)?)?;
        (value <= *last).then_some(found)
    }

    /// How many blocks the map holds.
    pub fn len(&self) -> usize {
        self.by_len.values().map(Vec::len).sum()
    }

    /// True when the map holds no block.
    pub fn is_empty(&self) -> bool {
        self.by_len.values().all(Vec::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(start: &str, count: u64) -> NumberBlock {
        NumberBlock::new(TelephoneNumber::parse(start).unwrap(), count).unwrap()
    }

    #[test]
    fn numbers_are_found_in_their_block_only() {
        let map = RangeMap::new([
            (block("12155550000", 100), 'a'),
            (block("12155550200", 1), 'b'),
            (block("4420794600", 10), 'c'),
        ]);
        let get = |s: &str| map.get(&TelephoneNumber::parse(s).unwrap()).copied();
        assert_eq!(get("12155550000"), Some('a'));
        assert_eq!(get("12155550099"), Some('a'));
        assert_eq!(get("12155550100"), None);
        assert_eq!(get("12155550200"), Some('b'));
        assert_eq!(get("12155550201"), None);
        assert_eq!(get("4420794600"), Some('c'));
        // Same digits, another length: another number.
        assert_eq!(get("121555500"), None);
        assert_eq!(get("11999999999"), None);
        assert_eq!(map.len(), 3);
    }
}
