//! The reference point the clusterer must beat: single-link clustering on the Jaccard
//! similarity of word 3-grams (lowercase `\w+` words, no other normalisation), every pair
//! compared. Quadratic: for evaluation on a few thousand texts, not for production.

use std::collections::HashSet;

use crate::minhash::{hash_bytes, jaccard};

/// The word 3-grams of `text`: maximal runs of letters, digits and `_`, lowercased.
fn trigrams(text: &str) -> HashSet<[String; 3]> {
    let words: Vec<String> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words
        .windows(3)
        .filter_map(|w| match w {
            [a, b, c] => Some([a.clone(), b.clone(), c.clone()]),
            _ => None,
        })
        .collect()
}

/// The pairwise similarities of a set of texts, computed once, to cluster at any threshold.
#[derive(Debug, Clone)]
pub struct Baseline {
    len: usize,
    /// (i, j, Jaccard) for every pair with i < j and a 3-gram in common.
    pairs: Vec<(usize, usize, f64)>,
}

impl Baseline {
    /// Compares every pair of `texts`.
    pub fn new<S: AsRef<str>>(texts: &[S]) -> Self {
        let sets: Vec<Vec<u64>> = texts
            .iter()
            .map(|t| {
                let mut v: Vec<u64> = trigrams(t.as_ref())
                    .iter()
                    .map(|g| hash_bytes(g.join("\u{1f}").as_bytes()))
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            })
            .collect();
        let mut pairs = Vec::new();
        for (i, a) in sets.iter().enumerate() {
            for (j, b) in sets.iter().enumerate().skip(i + 1) {
                let s = jaccard(a, b);
                if s > 0.0 {
                    pairs.push((i, j, s));
                }
            }
        }
        Self {
            len: texts.len(),
            pairs,
        }
    }

    /// Single-link clusters at `threshold`: texts whose 3-gram Jaccard similarity is at least
    /// `threshold` are linked, and clusters are the connected components. A text with no
    /// 3-gram links to nothing. Returns each text's cluster label (the smallest index in its
    /// cluster).
    pub fn cluster(&self, threshold: f64) -> Vec<usize> {
        let mut parent: Vec<usize> = (0..self.len).collect();
        for &(i, j, s) in &self.pairs {
            if s >= threshold {
                union_sets(&mut parent, i, j);
            }
        }
        (0..self.len).map(|i| find(&mut parent, i)).collect()
    }
}

/// [`Baseline::cluster`] of `texts` at `threshold`.
///
/// ```
/// let labels = campaigns::baseline::cluster(
///     &["press one to speak to an agent now", "press one to speak to an agent today", "hello"],
///     0.5,
/// );
/// assert_eq!(labels, [0, 0, 2]);
/// ```
pub fn cluster<S: AsRef<str>>(texts: &[S], threshold: f64) -> Vec<usize> {
    Baseline::new(texts).cluster(threshold)
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while let Some(&p) = parent.get(x) {
        if p == x {
            break;
        }
        let grand = parent.get(p).copied().unwrap_or(p);
        if let Some(slot) = parent.get_mut(x) {
            *slot = grand;
        }
        x = grand;
    }
    x
}

fn union_sets(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    let (lo, hi) = (ra.min(rb), ra.max(rb));
    if let Some(slot) = parent.get_mut(hi) {
        *slot = lo;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_link_chains() {
        // a~b and b~c link a and c through b.
        let a = "one two three four five six";
        let b = "one two three four five six seven";
        let c = "one two three four five six seven eight";
        assert_eq!(cluster(&[a, b, c], 0.8), [0, 0, 0]);
        assert_eq!(cluster(&[a, c], 0.8), [0, 1]);
    }

    #[test]
    fn short_texts_stay_alone() {
        assert_eq!(cluster(&["hi there", "hi there"], 0.1), [0, 1]);
        assert!(cluster::<&str>(&[], 0.5).is_empty());
    }

    #[test]
    fn words_are_lowercase_alphanumeric_runs() {
        assert_eq!(trigrams("Press 1, now!").len(), 1);
        assert!(trigrams("Press 1, now!").contains(&["press".into(), "1".into(), "now".into()]));
    }
}
