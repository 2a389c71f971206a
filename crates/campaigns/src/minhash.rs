//! Word shingles, their exact Jaccard similarity, and MinHash signatures cut into LSH bands.
//!
//! Every hash here is a fixed function of the bytes (FNV-1a and the SplitMix64 finaliser), so
//! signatures, band keys and therefore campaign assignments are the same on every node, every
//! platform and every build.

use crate::text::NormalizedText;

/// Most shingles kept per text (the first ones in text order).
pub const MAX_SHINGLES: usize = 1024;

/// The SplitMix64 finaliser: a bijection on `u64` that mixes every input bit into every
/// output bit.
pub const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a of `bytes`, finalised with [`mix64`].
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix64(h)
}

/// The set of word `k`-shingles of a text, as sorted, distinct 64-bit hashes. A text shorter
/// than `k` tokens (but not empty) is one shingle of all its tokens.
///
/// ```
/// use campaigns::{minhash::{jaccard, shingles}, text::NormalizedText};
/// let a = shingles(&NormalizedText::normalize("to cancel your order press one"), 3);
/// let b = shingles(&NormalizedText::normalize("To cancel your order, press 2."), 3);
/// assert_eq!(a.len(), 4);
/// assert!((jaccard(&a, &b) - 3.0 / 5.0).abs() < 1e-9);
/// ```
pub fn shingles(text: &NormalizedText, k: usize) -> Vec<u64> {
    let k = k.max(1);
    let hashes: Vec<u64> = text.tokens().map(|t| hash_bytes(t.as_bytes())).collect();
    let mut out: Vec<u64> = if hashes.is_empty() {
        Vec::new()
    } else if hashes.len() < k {
        vec![combine(&hashes)]
    } else {
        hashes.windows(k).take(MAX_SHINGLES).map(combine).collect()
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// An order-sensitive hash of a few token hashes.
fn combine(tokens: &[u64]) -> u64 {
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15;
    for &t in tokens {
        h = mix64(h ^ t).wrapping_add(0x9e37_79b9_7f4a_7c15);
    }
    h
}

/// The size of the intersection of two sorted, distinct slices.
pub fn intersection(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        match x.cmp(y) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// The Jaccard similarity |a ∩ b| / |a ∪ b| of two sorted, distinct shingle sets; 0 when
/// either is empty.
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let i = intersection(a, b);
    let union = a.len() + b.len() - i;
    i as f64 / union as f64
}

/// The longest signature [`signature`] computes.
pub const MAX_SIGNATURE: usize = 256;

/// The MinHash signature of a shingle set: for each of `len` fixed permutations of `u64`
/// (at most [`MAX_SIGNATURE`]), the least permuted shingle. Two sets agree at a position with
/// probability equal to their Jaccard similarity. Empty for an empty set.
pub fn signature(shingles: &[u64], len: usize) -> Vec<u64> {
    if shingles.is_empty() {
        return Vec::new();
    }
    let perms = PERMUTATIONS
        .get(..len.min(MAX_SIGNATURE))
        .unwrap_or_default();
    let mut sig = vec![u64::MAX; perms.len()];
    for &s in shingles {
        for (slot, &(seed, odd)) in sig.iter_mut().zip(perms) {
            // xor with a seed, then multiply by an odd constant: both bijective on u64.
            let v = (s ^ seed).wrapping_mul(odd);
            if v < *slot {
                *slot = v;
            }
        }
    }
    sig
}

/// The permutations' constants: (seed, odd multiplier).
static PERMUTATIONS: [(u64, u64); MAX_SIGNATURE] = permutations();

#[expect(
    clippy::indexing_slicing,
    reason = "i < MAX_SIGNATURE, the array's length (a const fn cannot use get_mut)"
)]
const fn permutations() -> [(u64, u64); MAX_SIGNATURE] {
    let mut out = [(0, 0); MAX_SIGNATURE];
    let mut i = 0;
    while i < MAX_SIGNATURE {
        let x = i as u64;
        out[i] = (
            mix64(x.wrapping_add(0x5851_f42d_4c95_7f2d)),
            mix64(x ^ 0x1405_7b7e_f767_814f) | 1,
        );
        i += 1;
    }
    out
}

/// The LSH band keys of a signature: `bands` keys of `rows` positions each. Two sets share the
/// key of a band with probability `J^rows`; the band's index is part of its key.
pub fn band_keys(signature: &[u64], bands: usize, rows: usize) -> Vec<u64> {
    if signature.is_empty() || rows == 0 {
        return Vec::new();
    }
    signature
        .chunks_exact(rows)
        .take(bands)
        .enumerate()
        .map(|(b, chunk)| {
            let mut h = mix64(b as u64 ^ 0xd6e8_feb8_6659_fd93);
            for &v in chunk {
                h = mix64(h ^ v);
            }
            h
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(t: &str) -> Vec<u64> {
        shingles(&NormalizedText::normalize(t), 3)
    }

    #[test]
    fn hashes_are_fixed() {
        // Pinned so that a change of hash (and so of every campaign assignment) is noticed.
        assert_eq!(hash_bytes(b""), mix64(0xcbf2_9ce4_8422_2325));
        assert_eq!(mix64(0), 0);
        assert_eq!(hash_bytes(b"press"), hash_bytes(b"press"));
        assert_ne!(hash_bytes(b"press"), hash_bytes(b"Press"));
        let s = sh("one two three four");
        assert_eq!(s, sh("one two three four"));
    }

    #[test]
    fn shingles_of_short_and_empty_texts() {
        assert!(sh("").is_empty());
        assert_eq!(sh("hello").len(), 1);
        assert_eq!(sh("hello there").len(), 1);
        assert_eq!(sh("a b c").len(), 1);
        assert_eq!(sh("red green blue red green blue").len(), 3);
    }

    #[test]
    fn jaccard_of_known_sets() {
        assert_eq!(jaccard(&[1, 2, 3], &[2, 3, 4]), 0.5);
        assert_eq!(jaccard(&[1, 2, 3], &[1, 2, 3]), 1.0);
        assert_eq!(jaccard(&[], &[1]), 0.0);
        assert_eq!(intersection(&[1, 5, 9], &[0, 5, 9, 10]), 2);
    }

    #[test]
    fn signatures_are_deterministic_and_estimate_jaccard() {
        let a: Vec<u64> = (0..200u64)
            .map(mix64)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let b: Vec<u64> = (50..250u64)
            .map(mix64)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let sa = signature(&a, 256);
        assert_eq!(sa, signature(&a, 256));
        let sb = signature(&b, 256);
        let agree = sa.iter().zip(&sb).filter(|(x, y)| x == y).count() as f64 / 256.0;
        let exact = jaccard(&a, &b); // 150 / 250 = 0.6
        assert!((agree - exact).abs() < 0.1, "estimate {agree} vs {exact}");
        assert!(signature(&[], 64).is_empty());
    }

    #[test]
    fn band_keys_match_for_identical_sets_only_by_band() {
        let a = signature(
            &sh("we would like to inform you that there is an order"),
            64,
        );
        let keys = band_keys(&a, 16, 4);
        assert_eq!(keys.len(), 16);
        assert_eq!(keys, band_keys(&a, 16, 4));
        // Equal rows in different bands still give different keys.
        let flat = vec![7u64; 64];
        let k = band_keys(&flat, 16, 4);
        assert_ne!(k[0], k[1]);
        assert!(band_keys(&[], 16, 4).is_empty());
    }
}
