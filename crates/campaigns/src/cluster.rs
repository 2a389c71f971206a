//! The clusterer: each report joins the campaign it matches best, or starts one.
//!
//! Candidates come from an LSH index over MinHash band keys of the campaigns'
//! representatives (a bounded set of distinct text variants per campaign), so an insert looks
//! at a few buckets and verifies a few dozen candidates with the exact Jaccard similarity,
//! however many reports came before. A report never merges two campaigns: ids, once given, stay
//! (no chaining of one campaign into another through a run of intermediate texts), and a
//! report's campaign depends only on the reports before it. Batch clustering is the same
//! inserts in the same order, so incremental and batch agree.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::campaign::{CampaignId, CampaignState, CampaignSummary};
use crate::error::Error;
use crate::minhash::jaccard;
use crate::params::Params;
use crate::report::{PreparedReport, ReportInput};

/// Calling numbers remembered for reports without text (the last campaign of each).
pub const MAX_CALLING_INDEX: usize = 1 << 18;
/// Reports prepared per chunk by [`Clusterer::insert_batch`].
const CHUNK: usize = 4096;

/// Where a report went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assignment {
    /// The report's id.
    pub report: u64,
    /// The campaign it joined or started.
    pub campaign: CampaignId,
    /// Whether it started the campaign.
    pub new_campaign: bool,
    /// Its score against the campaign it joined (text similarity plus bonuses); for a new
    /// campaign, the best score it had against any other (0 when none was a candidate).
    pub score: f64,
}

/// A campaign's text variant that later reports are compared with.
#[derive(Debug)]
struct Representative {
    campaign: u32,
    shingles: Box<[u64]>,
}

/// A `Hasher` for keys that are already uniform 64-bit hashes (band keys).
#[derive(Debug, Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type BandIndex = HashMap<u64, Vec<u32>, BuildHasherDefault<PassThrough>>;

/// Incremental campaign detection. Insert reports one by one (in a fixed order, e.g. by id,
/// when several nodes must agree); read campaign summaries at any time.
///
/// ```
/// use campaigns::{Clusterer, Params, ReportInput};
/// let mut c = Clusterer::new(Params::default()).unwrap();
/// let text = "This is Amazon: an order of an Apple iPhone 11 Pro was placed using your Amazon account. \
///             If you did not authorize it, press 1.";
/// let first = c.insert(&ReportInput { id: 1, time: 0, text: text.into(), ..Default::default() }).unwrap();
/// let again = c.insert(&ReportInput { id: 2, time: 60, text: text.replace("press 1", "press one"), ..Default::default() }).unwrap();
/// assert!(first.new_campaign && !again.new_campaign);
/// assert_eq!(first.campaign, again.campaign);
/// assert_eq!(c.campaign(first.campaign, 60).unwrap().size, 2);
/// ```
#[derive(Debug)]
pub struct Clusterer {
    params: Params,
    campaigns: Vec<CampaignState>,
    representatives: Vec<Representative>,
    index: BandIndex,
    calling_index: HashMap<String, u32>,
    reports: u64,
    candidates: Vec<u32>,
    ranked: Vec<(u32, u32)>,
    per_campaign: Vec<(u32, f64)>,
}

impl Clusterer {
    /// A clusterer with no campaign yet.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] when a parameter is out of range.
    pub fn new(params: Params) -> Result<Self, Error> {
        params.validate()?;
        Ok(Self {
            params,
            campaigns: Vec::new(),
            representatives: Vec::new(),
            index: BandIndex::default(),
            calling_index: HashMap::new(),
            reports: 0,
            candidates: Vec::new(),
            ranked: Vec::new(),
            per_campaign: Vec::new(),
        })
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Computes a report's features with this clusterer's parameters (pure: may run on any
    /// thread), for [`Self::insert_prepared`].
    ///
    /// # Errors
    /// [`Error::InvalidCalling`] when the calling number is not 7 to 15 digits.
    pub fn prepare(&self, report: &ReportInput) -> Result<PreparedReport, Error> {
        PreparedReport::new(report, &self.params)
    }

    /// Adds a report: it joins the campaign it matches best or starts a new one.
    ///
    /// # Errors
    /// [`Error::InvalidCalling`] when the calling number is not 7 to 15 digits; nothing is
    /// added then.
    pub fn insert(&mut self, report: &ReportInput) -> Result<Assignment, Error> {
        let prepared = self.prepare(report)?;
        Ok(self.insert_prepared(&prepared))
    }

    /// Adds a report prepared by [`Self::prepare`] (or by [`PreparedReport::new`] with the
    /// same parameters).
    pub fn insert_prepared(&mut self, r: &PreparedReport) -> Assignment {
        self.reports += 1;
        let best = if r.shingles.is_empty() {
            self.match_by_calling(r)
        } else {
            self.match_by_text(r)
        };
        let (campaign, new_campaign, score, text_similarity) = match best {
            Some(b) if b.score >= self.params.threshold => (b.campaign, false, b.score, b.text),
            other => {
                let id = self.campaigns.len();
                let Ok(id32) = u32::try_from(id) else {
                    // More than 4 billion campaigns: keep counting into the last one.
                    let last = id.saturating_sub(1);
                    return self.join(r, last, false, 0.0, 1.0);
                };
                self.campaigns
                    .push(CampaignState::new(CampaignId::new(id as u64), r.time));
                (id32, true, other.map_or(0.0, |b| b.score), 0.0)
            }
        };
        self.join(r, campaign as usize, new_campaign, score, text_similarity)
    }

    fn join(
        &mut self,
        r: &PreparedReport,
        campaign: usize,
        new_campaign: bool,
        score: f64,
        text_similarity: f64,
    ) -> Assignment {
        let novel = !r.shingles.is_empty() && text_similarity < self.params.novelty;
        let Some(state) = self.campaigns.get_mut(campaign) else {
            return Assignment {
                report: r.id,
                campaign: CampaignId::new(campaign as u64),
                new_campaign,
                score,
            };
        };
        let represent = novel && state.representatives < self.params.max_representatives;
        state.add(r, represent);
        if represent {
            state.representatives += 1;
        }
        let id = state.id;
        let campaign32 = u32::try_from(campaign).unwrap_or(u32::MAX);
        if let Some(calling) = &r.calling {
            let digits = calling.digits();
            if let Some(slot) = self.calling_index.get_mut(digits) {
                *slot = campaign32;
            } else if self.calling_index.len() < MAX_CALLING_INDEX {
                self.calling_index.insert(digits.to_owned(), campaign32);
            }
        }
        if represent && let Ok(rep) = u32::try_from(self.representatives.len()) {
            self.representatives.push(Representative {
                campaign: campaign32,
                shingles: r.shingles.clone().into_boxed_slice(),
            });
            for &key in &r.bands {
                let bucket = self.index.entry(key).or_default();
                if bucket.len() < self.params.max_bucket {
                    bucket.push(rep);
                }
            }
        }
        Assignment {
            report: r.id,
            campaign: id,
            new_campaign,
            score,
        }
    }

    /// The best campaign by text: LSH candidates (those sharing the most bands first, at most
    /// [`Params::max_candidates`]), verified by exact Jaccard, plus bonuses.
    fn match_by_text(&mut self, r: &PreparedReport) -> Option<Best> {
        self.candidates.clear();
        for key in &r.bands {
            if let Some(bucket) = self.index.get(key) {
                self.candidates.extend_from_slice(bucket);
            }
        }
        self.candidates.sort_unstable();
        // (bands shared, representative): sharing more bands means a higher similarity.
        self.ranked.clear();
        let mut i = 0;
        while let Some(&rep) = self.candidates.get(i) {
            let run = self
                .candidates
                .get(i..)
                .unwrap_or_default()
                .iter()
                .take_while(|&&c| c == rep)
                .count();
            self.ranked
                .push((u32::try_from(run).unwrap_or(u32::MAX), rep));
            i += run.max(1);
        }
        let keep = self.params.max_candidates;
        if self.ranked.len() > keep {
            // Most shared bands first, then the oldest representative: deterministic.
            self.ranked
                .select_nth_unstable_by(keep, |a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            self.ranked.truncate(keep);
        }
        self.per_campaign.clear();
        for &(_, rep) in &self.ranked {
            let Some(rep) = self.representatives.get(rep as usize) else {
                continue;
            };
            let s = jaccard(&r.shingles, &rep.shingles);
            if s < self.params.min_text_similarity {
                continue;
            }
            match self
                .per_campaign
                .iter_mut()
                .find(|(c, _)| *c == rep.campaign)
            {
                Some(entry) => entry.1 = entry.1.max(s),
                None => self.per_campaign.push((rep.campaign, s)),
            }
        }
        let mut best: Option<Best> = None;
        for &(campaign, text) in &self.per_campaign {
            let Some(state) = self.campaigns.get(campaign as usize) else {
                continue;
            };
            if state.gap(r.time) > self.params.max_gap_secs {
                continue;
            }
            let score = text + self.bonus(state, r);
            let better =
                best.is_none_or(|b| score > b.score || (score == b.score && campaign < b.campaign));
            if better {
                best = Some(Best {
                    campaign,
                    score,
                    text,
                });
            }
        }
        best
    }

    /// A report without usable text joins the campaign its calling number was last seen in,
    /// if recent and not contradicted by the brand.
    fn match_by_calling(&self, r: &PreparedReport) -> Option<Best> {
        let calling = r.calling.as_ref()?;
        let &campaign = self.calling_index.get(calling.digits())?;
        let state = self.campaigns.get(campaign as usize)?;
        if state.gap(r.time) > self.params.max_gap_secs {
            return None;
        }
        let brand_ok = r.brands.is_empty()
            || state.brands.is_empty()
            || r.brands.iter().any(|b| state.brands.contains(b));
        brand_ok.then_some(Best {
            campaign,
            score: self.params.threshold,
            text: 1.0,
        })
    }

    /// Evidence beyond the words.
    fn bonus(&self, state: &CampaignState, r: &PreparedReport) -> f64 {
        let p = &self.params;
        let mut bonus = 0.0;
        if r.callbacks.iter().any(|c| state.callbacks.contains(c)) {
            bonus += p.callback_bonus;
        }
        if !r.brands.is_empty() && !state.brands.is_empty() {
            if r.brands.iter().any(|b| state.brands.contains(b)) {
                bonus += p.brand_bonus;
            } else {
                bonus -= p.brand_mismatch_penalty;
            }
        }
        if r.calling
            .as_ref()
            .is_some_and(|c| state.blocks.contains(c.block()))
        {
            bonus += p.block_bonus;
        }
        if state.gap(r.time) <= p.recent_secs {
            bonus += p.time_bonus;
        }
        bonus
    }

    /// Adds reports in order, preparing them on up to `threads` threads, chunk by chunk (so
    /// memory stays bounded), the next chunk prepared while the current one is inserted; the
    /// result is the same as inserting them one by one.
    ///
    /// # Errors
    /// [`Error::InvalidCalling`] for the first report with a bad calling number; the reports
    /// of the chunks before its chunk have been added.
    pub fn insert_batch(
        &mut self,
        reports: &[ReportInput],
        threads: usize,
    ) -> Result<Vec<Assignment>, Error> {
        let mut out = Vec::with_capacity(reports.len());
        let params = self.params.clone();
        let mut chunks = reports.chunks(CHUNK);
        let Some(first) = chunks.next() else {
            return Ok(out);
        };
        let mut current = prepare_all(first, &params, threads)?;
        for next in chunks {
            let helpers = threads.saturating_sub(1).max(1);
            let prepared = if threads <= 1 {
                out.extend(current.iter().map(|p| self.insert_prepared(p)));
                prepare_all(next, &params, 1)
            } else {
                std::thread::scope(|s| {
                    let handle = s.spawn(|| prepare_all(next, &params, helpers));
                    out.extend(current.iter().map(|p| self.insert_prepared(p)));
                    handle
                        .join()
                        .unwrap_or_else(|_| prepare_all(next, &params, 1))
                })
            };
            current = prepared?;
        }
        out.extend(current.iter().map(|p| self.insert_prepared(p)));
        Ok(out)
    }

    /// The summary of a campaign as of `now` (Unix seconds, for the trend).
    pub fn campaign(&self, id: CampaignId, now: i64) -> Option<CampaignSummary> {
        let i = usize::try_from(id.get()).ok()?;
        self.campaigns.get(i).map(|c| c.summary(now))
    }

    /// Every campaign's summary as of `now`, in id order.
    pub fn campaigns(&self, now: i64) -> Vec<CampaignSummary> {
        self.campaigns.iter().map(|c| c.summary(now)).collect()
    }

    /// How many campaigns there are.
    pub fn campaign_count(&self) -> usize {
        self.campaigns.len()
    }

    /// How many reports were inserted.
    pub fn report_count(&self) -> u64 {
        self.reports
    }

    /// How many representatives (distinct text variants) are indexed.
    pub fn representative_count(&self) -> usize {
        self.representatives.len()
    }
}

#[derive(Debug, Clone, Copy)]
struct Best {
    campaign: u32,
    score: f64,
    text: f64,
}

/// Prepares reports on up to `threads` threads, in order.
fn prepare_all(
    reports: &[ReportInput],
    params: &Params,
    threads: usize,
) -> Result<Vec<PreparedReport>, Error> {
    let threads = threads.clamp(1, 64);
    if threads == 1 || reports.len() < 64 {
        return reports
            .iter()
            .map(|r| PreparedReport::new(r, params))
            .collect();
    }
    let per = reports.len().div_ceil(threads);
    let parts: Vec<Result<Vec<PreparedReport>, Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = reports
            .chunks(per)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|r| PreparedReport::new(r, params))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(reports.chunks(per))
            .map(|(h, part)| {
                h.join().unwrap_or_else(|_| {
                    part.iter()
                        .map(|r| PreparedReport::new(r, params))
                        .collect()
                })
            })
            .collect()
    });
    let mut out = Vec::with_capacity(reports.len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

/// The result of batch clustering.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Each report's campaign, in input order.
    pub assignments: Vec<Assignment>,
    /// The campaigns, in id order, summarised as of the latest call time.
    pub campaigns: Vec<CampaignSummary>,
}

/// Clusters reports in the given order, preparing them on up to `threads` threads. The
/// assignments are those that inserting the reports one by one into a new [`Clusterer`]
/// gives.
///
/// # Errors
/// [`Error::InvalidParam`] for bad parameters, [`Error::InvalidCalling`] for a report's bad
/// calling number.
pub fn cluster_batch(
    reports: &[ReportInput],
    params: &Params,
    threads: usize,
) -> Result<Batch, Error> {
    let mut clusterer = Clusterer::new(params.clone())?;
    let assignments = clusterer.insert_batch(reports, threads)?;
    let now = reports.iter().map(|r| r.time).max().unwrap_or(0);
    Ok(Batch {
        assignments,
        campaigns: clusterer.campaigns(now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const AMAZON: &str = "We would like to inform you that there is an order placed for Apple iPhone \
        11 Pro using your Amazon account. If you do not authorize this order, press 1 or press 2 to \
        authorize this order.";
    const SSA: &str = "This call is from the Department of Social Security Administration. The reason \
        you are receiving this phone call is to inform you that we will be suspending your social \
        security number because we found some suspicious activities.";
    const WARRANTY: &str = "We have been trying to reach you concerning your vehicle's extended \
        warranty. You should have received something in the mail about your car's extended warranty.";

    fn report(id: u64, time: i64, text: &str) -> ReportInput {
        ReportInput {
            id,
            time,
            text: text.into(),
            ..ReportInput::default()
        }
    }

    fn stream() -> Vec<ReportInput> {
        let mut out = Vec::new();
        for i in 0..30u64 {
            let base = [AMAZON, SSA, WARRANTY][(i % 3) as usize];
            let text = match i % 4 {
                0 => base.to_owned(),
                1 => base.to_lowercase().replace(',', ""),
                2 => base
                    .split_whitespace()
                    .skip(2)
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => format!("{base} Thank you."),
            };
            let mut r = report(i, 1_700_000_000 + i as i64 * 600, &text);
            r.calling = Some(format!("+1202555{:04}", i % 7));
            out.push(r);
        }
        out
    }

    #[test]
    fn variants_join_and_scripts_separate() {
        let mut c = Clusterer::new(Params::default()).unwrap();
        let got: Vec<Assignment> = stream().iter().map(|r| c.insert(r).unwrap()).collect();
        assert_eq!(c.campaign_count(), 3);
        for (i, a) in got.iter().enumerate() {
            assert_eq!(a.campaign.get(), (i % 3) as u64, "report {i}");
            assert_eq!(a.new_campaign, i < 3);
        }
        let s = c.campaign(CampaignId::new(0), 1_700_000_000).unwrap();
        assert_eq!(s.size, 10);
        assert_eq!(s.brands[0].value, "Amazon");
        assert!(c.representative_count() <= 12);
    }

    #[test]
    fn incremental_and_batch_agree() {
        let reports = stream();
        let mut c = Clusterer::new(Params::default()).unwrap();
        let one_by_one: Vec<Assignment> = reports.iter().map(|r| c.insert(r).unwrap()).collect();
        for threads in [1, 2, 3] {
            let batch = cluster_batch(&reports, &Params::default(), threads).unwrap();
            assert_eq!(batch.assignments, one_by_one);
            assert_eq!(batch.campaigns, c.campaigns(1_700_000_000 + 29 * 600));
        }
    }

    #[test]
    fn same_order_same_ids_on_every_node() {
        let reports = stream();
        let run = || {
            let mut c = Clusterer::new(Params::default()).unwrap();
            reports
                .iter()
                .map(|r| c.insert(r).unwrap().campaign)
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn textless_reports_follow_their_calling_number() {
        let mut c = Clusterer::new(Params::default()).unwrap();
        let mut first = report(1, 1000, AMAZON);
        first.calling = Some("2025550143".into());
        let a = c.insert(&first).unwrap();
        let mut bare = report(2, 2000, "");
        bare.calling = Some("+12025550143".into());
        let b = c.insert(&bare).unwrap();
        assert_eq!((b.campaign, b.new_campaign), (a.campaign, false));
        // A contradicting brand starts a campaign.
        let mut other = report(3, 2000, "");
        other.calling = Some("2025550143".into());
        other.claimed_brand = Some("IRS".into());
        assert!(c.insert(&other).unwrap().new_campaign);
        // No calling number, no text: a campaign of its own.
        assert!(c.insert(&report(4, 2000, "")).unwrap().new_campaign);
    }

    #[test]
    fn a_long_pause_starts_a_new_campaign() {
        let mut c = Clusterer::new(Params::default()).unwrap();
        let a = c.insert(&report(1, 0, SSA)).unwrap();
        let b = c.insert(&report(2, 91 * 86_400, SSA)).unwrap();
        assert!(b.new_campaign);
        assert_ne!(a.campaign, b.campaign);
    }

    #[test]
    fn near_copies_are_not_representatives() {
        let mut c = Clusterer::new(Params::default()).unwrap();
        for i in 0..50 {
            c.insert(&report(i, i as i64, AMAZON)).unwrap();
        }
        assert_eq!(c.representative_count(), 1);
        assert_eq!(c.campaign_count(), 1);
        assert_eq!(c.report_count(), 50);
    }

    #[test]
    fn representatives_per_campaign_are_capped() {
        let params = Params {
            max_representatives: 2,
            ..Params::default()
        };
        let mut c = Clusterer::new(params).unwrap();
        for (i, extra) in ["", " Thank you.", " Goodbye now.", " Bye bye then."]
            .iter()
            .enumerate()
        {
            c.insert(&report(i as u64, 0, &format!("{SSA}{extra}")))
                .unwrap();
        }
        assert_eq!(c.campaign_count(), 1);
        assert_eq!(c.representative_count(), 2);
    }

    #[test]
    fn bad_params_and_bad_reports_are_refused() {
        assert!(
            Clusterer::new(Params {
                rows: 0,
                ..Params::default()
            })
            .is_err()
        );
        let mut c = Clusterer::new(Params::default()).unwrap();
        let mut r = report(1, 0, AMAZON);
        r.calling = Some("12".into());
        assert!(matches!(
            c.insert(&r),
            Err(Error::InvalidCalling { report: 1, .. })
        ));
        assert_eq!(c.report_count(), 0);
        assert!(cluster_batch(&[r], &Params::default(), 2).is_err());
    }
}
