//! The clustering parameters, with defaults tuned on the `train` split of the FTC robocall
//! corpus (never on its `holdout` split).

use crate::error::Error;
use crate::minhash::MAX_SIGNATURE;

/// How reports are compared and when one joins a campaign.
///
/// A report's score against a campaign is the Jaccard similarity of its word shingles with
/// the campaign's most similar representative, plus bonuses for evidence beyond the words
/// (a shared callback number, brand, calling-number block, closeness in time) and minus a
/// penalty when both name brands and none is shared. The report joins the best-scoring
/// campaign when that score reaches [`Params::threshold`], else it starts a campaign.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Words per shingle.
    pub shingle_size: usize,
    /// LSH bands (candidate generation): more bands find less similar candidates.
    pub bands: usize,
    /// MinHash rows per band: more rows make each band stricter.
    pub rows: usize,
    /// The score at which a report joins a campaign.
    pub threshold: f64,
    /// Text similarity below which a candidate is not considered, whatever its bonuses.
    pub min_text_similarity: f64,
    /// Added when the report's text gives a callback number the campaign has used.
    pub callback_bonus: f64,
    /// Added when the report claims or names a brand the campaign has.
    pub brand_bonus: f64,
    /// Subtracted when both the report and the campaign name brands and none is shared.
    pub brand_mismatch_penalty: f64,
    /// Added when the calling number is in a number block (NPA-NXX) the campaign has used.
    pub block_bonus: f64,
    /// Added when the report falls within [`Params::recent_secs`] of the campaign's span.
    pub time_bonus: f64,
    /// How close in time counts for [`Params::time_bonus`], seconds.
    pub recent_secs: i64,
    /// A campaign whose span is further than this from a report's time is not joined:
    /// after such a pause the same script counts as a new campaign. Seconds.
    pub max_gap_secs: i64,
    /// A report becomes one of its campaign's representatives (compared with later reports)
    /// only if its text similarity with every representative already there is below this;
    /// near-copies add nothing.
    pub novelty: f64,
    /// Most representatives per campaign: bounds memory and the work of an insert.
    pub max_representatives: usize,
    /// Most representatives per LSH bucket (the first ones are kept).
    pub max_bucket: usize,
    /// Most candidates verified per insert: those sharing the most LSH bands (the most
    /// similar, in expectation). Bounds the work of an insert whatever the data.
    pub max_candidates: usize,
}

impl Default for Params {
    /// The defaults. `shingle_size` and `threshold` were chosen on the `train` split of the
    /// FTC robocall corpus (`callproof campaigns evaluate --split train --sweep`) as the pair
    /// with the highest bootstrap-mean pairwise F1 ([`crate::eval::bootstrap_f1`], 1,000
    /// resamples) over shingles of 2 to 5 words and thresholds 0.60 to 0.98. That corpus has
    /// no calling numbers and no times (all reports at one instant, so the time bonus applies
    /// to every candidate): the bonuses are set by judgement, small enough that they only tip
    /// a text similarity near the threshold.
    fn default() -> Self {
        Self {
            shingle_size: 4,
            bands: 16,
            rows: 4,
            threshold: 0.84,
            min_text_similarity: 0.5,
            callback_bonus: 0.05,
            brand_bonus: 0.0,
            brand_mismatch_penalty: 0.1,
            block_bonus: 0.03,
            time_bonus: 0.02,
            recent_secs: 86_400,
            max_gap_secs: 90 * 86_400,
            novelty: 0.98,
            max_representatives: 64,
            max_bucket: 128,
            max_candidates: 32,
        }
    }
}

impl Params {
    /// Checks every parameter's range.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] naming the first parameter out of range.
    pub fn validate(&self) -> Result<(), Error> {
        let count = |name, v: usize, lo: usize, hi: usize, range| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(Error::InvalidParam {
                    name,
                    value: v as f64,
                    range,
                })
            }
        };
        let unit = |name, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(Error::InvalidParam {
                    name,
                    value: v,
                    range: "0 to 1",
                })
            }
        };
        count("shingle_size", self.shingle_size, 1, 8, "1 to 8")?;
        count("bands", self.bands, 1, MAX_SIGNATURE, "1 to 256")?;
        count("rows", self.rows, 1, 16, "1 to 16")?;
        if self.bands * self.rows > MAX_SIGNATURE {
            return Err(Error::InvalidParam {
                name: "rows",
                value: self.rows as f64,
                range: "bands x rows at most 256",
            });
        }
        if !(0.0..=2.0).contains(&self.threshold) {
            return Err(Error::InvalidParam {
                name: "threshold",
                value: self.threshold,
                range: "0 to 2",
            });
        }
        unit("min_text_similarity", self.min_text_similarity)?;
        unit("callback_bonus", self.callback_bonus)?;
        unit("brand_bonus", self.brand_bonus)?;
        unit("brand_mismatch_penalty", self.brand_mismatch_penalty)?;
        unit("block_bonus", self.block_bonus)?;
        unit("time_bonus", self.time_bonus)?;
        unit("novelty", self.novelty)?;
        if self.recent_secs < 0 || self.max_gap_secs < 0 {
            return Err(Error::InvalidParam {
                name: if self.recent_secs < 0 {
                    "recent_secs"
                } else {
                    "max_gap_secs"
                },
                value: self.recent_secs.min(self.max_gap_secs) as f64,
                range: "0 or more",
            });
        }
        count(
            "max_representatives",
            self.max_representatives,
            1,
            1 << 16,
            "1 to 65536",
        )?;
        count("max_bucket", self.max_bucket, 1, 1 << 20, "1 to 1048576")?;
        count(
            "max_candidates",
            self.max_candidates,
            1,
            1 << 20,
            "1 to 1048576",
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Params::default().validate(), Ok(()));
    }

    #[test]
    fn out_of_range_parameters_are_named() {
        let p = Params {
            threshold: -0.1,
            ..Params::default()
        };
        assert!(matches!(
            p.validate(),
            Err(Error::InvalidParam {
                name: "threshold",
                ..
            })
        ));
        let p = Params {
            bands: 64,
            rows: 8,
            ..Params::default()
        };
        assert!(matches!(
            p.validate(),
            Err(Error::InvalidParam { name: "rows", .. })
        ));
        let p = Params {
            novelty: 1.5,
            ..Params::default()
        };
        assert!(matches!(
            p.validate(),
            Err(Error::InvalidParam {
                name: "novelty",
                ..
            })
        ));
        let p = Params {
            max_gap_secs: -1,
            ..Params::default()
        };
        assert!(matches!(
            p.validate(),
            Err(Error::InvalidParam {
                name: "max_gap_secs",
                ..
            })
        ));
    }
}
