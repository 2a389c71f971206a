//! Campaign detection on a node: the reports in the store, followed in commit order and fed
//! to the [`campaigns`] clusterer, so a new report joins or starts a campaign within a poll
//! period of its commit, on every node alike (the same reports in the same order give the
//! same campaign ids).
//!
//! A node that starts replays every retained report first (in batch, in the background);
//! until it has caught up, its campaign lists are partial.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use campaigns::{Ask, CampaignId, CampaignSummary, Clusterer, Params, ReportInput};
use store::{BrandId, Report, ReportId, Store, StoreError};

/// Reports read per store round trip.
const PAGE: u32 = 2_000;

/// The campaigns of the reports this node has read.
#[derive(Debug)]
pub struct CampaignTracker {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    clusterer: Clusterer,
    /// The last report read.
    cursor: ReportId,
    /// The campaign of each report read.
    by_report: HashMap<ReportId, CampaignId>,
    /// Per campaign, how many of its reports named each of callproof's brands.
    brands: HashMap<CampaignId, HashMap<BrandId, u64>>,
    /// The campaigns whose reports named a brand (lowercase), in the report's brand field,
    /// its claimed brand or its text: a brand's list summarises only these.
    by_name: HashMap<String, HashSet<CampaignId>>,
}

/// A campaign with the callproof brands its reports named.
#[derive(Debug, Clone)]
pub struct TrackedCampaign {
    /// What the clusterer says of it.
    pub summary: CampaignSummary,
    /// Reports per brand (brands callproof knows, named by the report).
    pub brands: Vec<(BrandId, u64)>,
}

impl CampaignTracker {
    /// A tracker with the clusterer's tuned parameters.
    pub fn new() -> Result<Self, campaigns::Error> {
        Ok(Self {
            inner: Mutex::new(Inner {
                clusterer: Clusterer::new(Params::default())?,
                cursor: ReportId(0),
                by_report: HashMap::new(),
                brands: HashMap::new(),
                by_name: HashMap::new(),
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the clusterer half-updated in a way
        // that matters more than losing campaign detection: carry on with what is there.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reads the reports committed since the last call and clusters them; returns how many.
    pub async fn catch_up(&self, store: &dyn Store) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let cursor = self.lock().cursor;
            let page = store.reports_after(cursor, PAGE).await?;
            if page.is_empty() {
                return Ok(total);
            }
            total += page.len();
            let full = page.len() == PAGE as usize;
            {
                let mut inner = self.lock();
                for report in &page {
                    inner.add(report);
                }
            }
            if !full {
                return Ok(total);
            }
            // Let the call path run between pages of a long replay.
            tokio::task::yield_now().await;
        }
    }

    /// The campaign a report is in, once this node has read it.
    pub fn campaign_of(&self, report: ReportId) -> Option<CampaignId> {
        self.lock().by_report.get(&report).copied()
    }

    /// Campaigns naming `brand` (by id, or by its display name in a report's claimed brand
    /// or text; every campaign with `None`), the most recently active first, at most
    /// `limit`, with trends as of `now`.
    pub fn campaigns(
        &self,
        brand: Option<(BrandId, &str)>,
        now: i64,
        limit: usize,
    ) -> Vec<TrackedCampaign> {
        let inner = self.lock();
        let summaries: Vec<CampaignSummary> = match brand {
            None => inner.clusterer.campaigns(now),
            Some((id, name)) => {
                let mut ids: Vec<CampaignId> = inner
                    .brands
                    .iter()
                    .filter(|(_, named)| named.contains_key(&id))
                    .map(|(c, _)| *c)
                    .chain(
                        inner
                            .by_name
                            .get(&name.to_lowercase())
                            .into_iter()
                            .flatten()
                            .copied(),
                    )
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                ids.into_iter()
                    .filter_map(|c| inner.clusterer.campaign(c, now))
                    .collect()
            }
        };
        let mut out: Vec<TrackedCampaign> = summaries
            .into_iter()
            .map(|summary| {
                let mut brands: Vec<(BrandId, u64)> = inner
                    .brands
                    .get(&summary.id)
                    .map(|b| b.iter().map(|(k, v)| (*k, *v)).collect())
                    .unwrap_or_default();
                brands.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                TrackedCampaign { summary, brands }
            })
            .collect();
        out.sort_by(|a, b| {
            b.summary
                .last_seen
                .cmp(&a.summary.last_seen)
                .then(b.summary.size.cmp(&a.summary.size))
                .then(a.summary.id.cmp(&b.summary.id))
        });
        out.truncate(limit);
        out
    }

    /// How many reports this node has read, and how many campaigns they make.
    pub fn counts(&self) -> (u64, usize) {
        let inner = self.lock();
        (
            inner.clusterer.report_count(),
            inner.clusterer.campaign_count(),
        )
    }
}

impl Inner {
    fn add(&mut self, report: &Report) {
        self.cursor = self.cursor.max(report.id);
        let input = input_of(report);
        let prepared = match self.clusterer.prepare(&input) {
            Ok(p) => p,
            // A calling number the clusterer cannot read: cluster on the rest.
            Err(_) => match self.clusterer.prepare(&ReportInput {
                calling: None,
                ..input
            }) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(report = report.id.0, error = %e, "a report could not be clustered");
                    return;
                }
            },
        };
        let assignment = self.clusterer.insert_prepared(&prepared);
        self.by_report.insert(report.id, assignment.campaign);
        for name in prepared.brands() {
            self.by_name
                .entry(name.to_lowercase())
                .or_default()
                .insert(assignment.campaign);
        }
        if let Some(brand) = report.brand {
            *self
                .brands
                .entry(assignment.campaign)
                .or_default()
                .entry(brand)
                .or_default() += 1;
        }
    }
}

/// What the clusterer reads of a stored report.
fn input_of(report: &Report) -> ReportInput {
    ReportInput {
        id: u64::try_from(report.id.0).unwrap_or_default(),
        time: report.call_at.unwrap_or(report.received_at),
        text: report.text.clone(),
        claimed_brand: report.claimed_brand.clone(),
        calling: report.calling.map(|tn| tn.as_str().to_owned()),
        asked: report
            .asked
            .iter()
            .filter_map(|a| Ask::parse(a.as_str()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use store::{Asked, ReportChannel};

    use super::*;

    #[test]
    fn every_asked_category_reaches_the_clusterer() {
        for asked in Asked::ALL {
            assert!(Ask::parse(asked.as_str()).is_some(), "{}", asked.as_str());
        }
        let report = Report {
            id: ReportId(7),
            brand: None,
            claimed_brand: Some("Acme".into()),
            calling: None,
            called: None,
            call_at: None,
            asked: vec![Asked::Card],
            text: "x".into(),
            channel: ReportChannel::Api,
            received_at: 1_700_000_000,
        };
        let input = input_of(&report);
        assert_eq!((input.id, input.time), (7, 1_700_000_000));
        assert_eq!(input.asked, vec![Ask::Card]);
    }
}
