//! Scoring a clustering against reference labels: pairwise precision, recall and F1, the
//! adjusted Rand index, and a bootstrap estimate of F1 on unseen campaigns (for tuning).
//!
//! Only labelled items are scored: an item whose reference label is `None` may be clustered
//! with anything without counting for or against.

use std::collections::HashMap;
use std::hash::Hash;

use serde::Serialize;

use crate::error::Error;
use crate::minhash::mix64;

/// Pair-counting scores of a clustering.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairScores {
    /// Labelled items scored.
    pub items: usize,
    /// Pairs of labelled items in one reference campaign.
    pub reference_pairs: u64,
    /// Pairs of labelled items in one predicted cluster.
    pub predicted_pairs: u64,
    /// Pairs in both.
    pub agreed_pairs: u64,
    /// `agreed / predicted` (1 when no pair is predicted).
    pub precision: f64,
    /// `agreed / reference` (1 when the reference has no pair).
    pub recall: f64,
    /// The harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// The adjusted Rand index (Hubert and Arabie): 1 for identical partitions, about 0 for a
    /// random one (1 too when both partitions are trivial).
    pub ari: f64,
}

const fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Dense ids for labels, in order of first appearance.
fn dense<L: Eq + Hash>(labels: impl Iterator<Item = L>) -> Vec<usize> {
    let mut ids: HashMap<L, usize> = HashMap::new();
    labels
        .map(|l| {
            let next = ids.len();
            *ids.entry(l).or_insert(next)
        })
        .collect()
}

/// Scores `predicted` cluster labels against `truth` (one per item, `None` = not labelled).
///
/// ```
/// use campaigns::eval::pair_scores;
/// let truth = [Some("a"), Some("a"), Some("b"), Some("b"), None];
/// let predicted = [1, 1, 1, 2, 2];
/// let s = pair_scores(&truth, &predicted).unwrap();
/// assert_eq!((s.reference_pairs, s.predicted_pairs, s.agreed_pairs), (2, 3, 1));
/// assert!((s.precision - 1.0 / 3.0).abs() < 1e-12 && (s.recall - 0.5).abs() < 1e-12);
/// ```
///
/// # Errors
/// [`Error::LengthMismatch`] when the two slices differ in length.
pub fn pair_scores<T: Eq + Hash, P: Eq + Hash>(
    truth: &[Option<T>],
    predicted: &[P],
) -> Result<PairScores, Error> {
    if truth.len() != predicted.len() {
        return Err(Error::LengthMismatch {
            truth: truth.len(),
            predicted: predicted.len(),
        });
    }
    let labelled: Vec<(&T, &P)> = truth
        .iter()
        .zip(predicted)
        .filter_map(|(t, p)| t.as_ref().map(|t| (t, p)))
        .collect();
    let t = dense(labelled.iter().map(|(t, _)| *t));
    let p = dense(labelled.iter().map(|(_, p)| *p));
    let mut cells: HashMap<(usize, usize), u64> = HashMap::new();
    let mut rows: HashMap<usize, u64> = HashMap::new();
    let mut cols: HashMap<usize, u64> = HashMap::new();
    for (&a, &b) in t.iter().zip(&p) {
        *cells.entry((a, b)).or_insert(0) += 1;
        *rows.entry(a).or_insert(0) += 1;
        *cols.entry(b).or_insert(0) += 1;
    }
    let agreed: u64 = cells.values().map(|&n| pairs(n)).sum();
    let reference: u64 = rows.values().map(|&n| pairs(n)).sum();
    let predicted_pairs: u64 = cols.values().map(|&n| pairs(n)).sum();
    Ok(scores(labelled.len(), reference, predicted_pairs, agreed))
}

fn scores(items: usize, reference: u64, predicted: u64, agreed: u64) -> PairScores {
    let precision = if predicted == 0 {
        1.0
    } else {
        agreed as f64 / predicted as f64
    };
    let recall = if reference == 0 {
        1.0
    } else {
        agreed as f64 / reference as f64
    };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    let total = pairs(items as u64) as f64;
    let (index, a, b) = (agreed as f64, reference as f64, predicted as f64);
    let expected = if total == 0.0 { 0.0 } else { a * b / total };
    let max = (a + b) / 2.0;
    let ari = if (max - expected).abs() < f64::EPSILON {
        1.0
    } else {
        (index - expected) / (max - expected)
    };
    PairScores {
        items,
        reference_pairs: reference,
        predicted_pairs: predicted,
        agreed_pairs: agreed,
        precision,
        recall,
        f1,
        ari,
    }
}

/// The mean pairwise F1 over `samples` bootstrap resamples of the reference campaigns: each
/// resample draws as many campaigns as there are, with replacement, and a campaign drawn twice
/// counts as two campaigns (their items in one predicted cluster count as separate clusters).
/// It estimates the F1 on another draw of campaigns like these, with far less variance than
/// the single figure, which one large campaign can swing: the quantity to tune on.
///
/// # Errors
/// [`Error::LengthMismatch`] when the two slices differ in length.
pub fn bootstrap_f1<T: Eq + Hash, P: Eq + Hash>(
    truth: &[Option<T>],
    predicted: &[P],
    samples: usize,
    seed: u64,
) -> Result<f64, Error> {
    if truth.len() != predicted.len() {
        return Err(Error::LengthMismatch {
            truth: truth.len(),
            predicted: predicted.len(),
        });
    }
    let labelled: Vec<(&T, &P)> = truth
        .iter()
        .zip(predicted)
        .filter_map(|(t, p)| t.as_ref().map(|t| (t, p)))
        .collect();
    let t = dense(labelled.iter().map(|(t, _)| *t));
    let p = dense(labelled.iter().map(|(_, p)| *p));
    // Per reference campaign: its predicted-cluster counts.
    let groups_n = t.iter().copied().max().map_or(0, |m| m + 1);
    let mut groups: Vec<HashMap<usize, u64>> = vec![HashMap::new(); groups_n];
    for (&a, &b) in t.iter().zip(&p) {
        if let Some(g) = groups.get_mut(a) {
            *g.entry(b).or_insert(0) += 1;
        }
    }
    if groups.is_empty() || samples == 0 {
        return Ok(0.0);
    }
    let mut state = seed;
    let mut total = 0.0;
    for _ in 0..samples {
        let mut drawn = vec![0u64; groups.len()];
        let mut cols: HashMap<(usize, u64), u64> = HashMap::new();
        let (mut reference, mut agreed, mut items) = (0u64, 0u64, 0usize);
        for _ in 0..groups.len() {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let g = (mix64(state) % groups.len() as u64) as usize;
            let (Some(group), Some(copy)) = (groups.get(g), drawn.get_mut(g)) else {
                continue;
            };
            let k = *copy;
            *copy += 1;
            let size: u64 = group.values().sum();
            items += size as usize;
            reference += pairs(size);
            for (&cluster, &n) in group {
                agreed += pairs(n);
                *cols.entry((cluster, k)).or_insert(0) += n;
            }
        }
        let predicted: u64 = cols.values().map(|&n| pairs(n)).sum();
        total += scores(items, reference, predicted, agreed).f1;
    }
    Ok(total / samples as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn perfect_clustering() {
        let truth = [Some(1), Some(1), Some(2), Some(2), Some(3)];
        let s = pair_scores(&truth, &["x", "x", "y", "y", "z"]).unwrap();
        assert_eq!((s.precision, s.recall, s.f1, s.ari), (1.0, 1.0, 1.0, 1.0));
        assert_eq!(s.items, 5);
    }

    #[test]
    fn hand_checked_example() {
        // Reference {0,1,2} {3,4}; predicted {0,1} {2,3,4}.
        // Reference pairs 3 + 1 = 4; predicted 1 + 3 = 4; agreed: (0,1) and (3,4) = 2.
        let truth = [Some('a'), Some('a'), Some('a'), Some('b'), Some('b')];
        let s = pair_scores(&truth, &[0, 0, 1, 1, 1]).unwrap();
        assert_eq!(
            (s.reference_pairs, s.predicted_pairs, s.agreed_pairs),
            (4, 4, 2)
        );
        assert!(close(s.precision, 0.5) && close(s.recall, 0.5) && close(s.f1, 0.5));
        // ARI: total 10 pairs; expected 4*4/10 = 1.6; max 4; (2-1.6)/(4-1.6) = 1/6.
        assert!(close(s.ari, 1.0 / 6.0), "{}", s.ari);
    }

    #[test]
    fn ari_matches_a_known_value() {
        // sklearn.metrics.adjusted_rand_score([0,0,1,1], [0,0,1,2]) = 0.5714285714285715
        let s = pair_scores(&[Some(0), Some(0), Some(1), Some(1)], &[0, 0, 1, 2]).unwrap();
        assert!(close(s.ari, 4.0 / 7.0), "{}", s.ari);
        // and ([0,0,0,0], [0,1,2,3]) = 0 (no pair predicted, every pair in the reference).
        let s = pair_scores(&[Some(0); 4], &[0, 1, 2, 3]).unwrap();
        assert!(close(s.ari, 0.0));
        assert_eq!((s.precision, s.recall, s.f1), (1.0, 0.0, 0.0));
    }

    #[test]
    fn unlabelled_items_do_not_count() {
        let truth = [Some(1), Some(1), None, None];
        let s = pair_scores(&truth, &[5, 5, 5, 5]).unwrap();
        assert_eq!((s.items, s.predicted_pairs, s.agreed_pairs), (2, 1, 1));
        assert_eq!(s.f1, 1.0);
    }

    #[test]
    fn everything_merged() {
        let truth = [Some(1), Some(1), Some(2), Some(2)];
        let s = pair_scores(&truth, &[0, 0, 0, 0]).unwrap();
        assert!(close(s.precision, 2.0 / 6.0) && close(s.recall, 1.0));
        assert!(s.ari <= 0.0);
    }

    #[test]
    fn lengths_must_match() {
        assert_eq!(
            pair_scores(&[Some(1)], &[1, 2]),
            Err(Error::LengthMismatch {
                truth: 1,
                predicted: 2
            })
        );
        assert!(bootstrap_f1(&[Some(1)], &[1, 2], 10, 1).is_err());
    }

    #[test]
    fn bootstrap_of_a_perfect_clustering_is_one_and_deterministic() {
        let truth: Vec<Option<u32>> = (0..40).map(|i| Some(i / 4)).collect();
        let predicted: Vec<u32> = (0..40).map(|i| i / 4).collect();
        assert!(close(bootstrap_f1(&truth, &predicted, 50, 7).unwrap(), 1.0));
        // Merging campaigns 0 and 1 costs precision in resamples that hold both.
        let merged: Vec<u32> = predicted.iter().map(|&c| c.max(1)).collect();
        let a = bootstrap_f1(&truth, &merged, 50, 7).unwrap();
        assert!(a < 1.0 && a > 0.5);
        assert_eq!(a, bootstrap_f1(&truth, &merged, 50, 7).unwrap());
        assert_eq!(bootstrap_f1::<u32, u32>(&[], &[], 50, 7).unwrap(), 0.0);
    }
}
