//! A campaign's running summary: first and last seen, size, the numbers and brands used,
//! what was asked, example texts and the trend.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::ask::Ask;
use crate::report::PreparedReport;

/// Example texts kept per campaign.
pub const MAX_EXAMPLES: usize = 3;
/// Longest example text kept, bytes.
pub const MAX_EXAMPLE_BYTES: usize = 1000;
/// Distinct values counted per field (calling numbers, blocks, callback numbers, brands);
/// further new values are counted together as "others".
pub const MAX_DISTINCT: usize = 256;
/// Values listed per field in a summary.
pub const TOP: usize = 10;
/// Hours of hourly trend kept (before the campaign's last report).
pub const HOURLY_BUCKETS: i64 = 7 * 24;
/// Days of daily trend kept.
pub const DAILY_BUCKETS: usize = 400;

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// A campaign's id: campaigns are numbered from 0 in the order they start, so every node
/// that replays the same reports in the same order gives the same ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CampaignId(u64);

impl CampaignId {
    /// The id numbered `n` (as stored by the caller).
    pub const fn new(n: u64) -> Self {
        Self(n)
    }

    /// Its number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for CampaignId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "C{}", self.0)
    }
}

/// Counts of values, bounded to [`MAX_DISTINCT`] distinct values.
#[derive(Debug, Clone, Default)]
pub(crate) struct Counter {
    counts: HashMap<String, u64>,
    others: u64,
}

impl Counter {
    fn add(&mut self, value: &str) {
        if let Some(c) = self.counts.get_mut(value) {
            *c += 1;
        } else if self.counts.len() < MAX_DISTINCT {
            self.counts.insert(value.to_owned(), 1);
        } else {
            self.others += 1;
        }
    }

    pub(crate) fn contains(&self, value: &str) -> bool {
        self.counts.contains_key(value)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The `n` most frequent values, most frequent first, ties in value order.
    fn top(&self, n: usize) -> Vec<Count> {
        let mut all: Vec<Count> = self
            .counts
            .iter()
            .map(|(v, &c)| Count {
                value: v.clone(),
                count: c,
            })
            .collect();
        all.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        all.truncate(n);
        all
    }
}

/// What the clusterer keeps per campaign.
#[derive(Debug, Clone)]
pub(crate) struct CampaignState {
    pub(crate) id: CampaignId,
    pub(crate) first_seen: i64,
    pub(crate) last_seen: i64,
    pub(crate) size: u64,
    pub(crate) representatives: usize,
    pub(crate) calling: Counter,
    pub(crate) blocks: Counter,
    pub(crate) callbacks: Counter,
    pub(crate) brands: Counter,
    asked: [u64; Ask::ALL.len()],
    examples: Vec<String>,
    hourly: BTreeMap<i64, u64>,
    daily: BTreeMap<i64, u64>,
}

impl CampaignState {
    pub(crate) fn new(id: CampaignId, time: i64) -> Self {
        Self {
            id,
            first_seen: time,
            last_seen: time,
            size: 0,
            representatives: 0,
            calling: Counter::default(),
            blocks: Counter::default(),
            callbacks: Counter::default(),
            brands: Counter::default(),
            asked: [0; Ask::ALL.len()],
            examples: Vec::new(),
            hourly: BTreeMap::new(),
            daily: BTreeMap::new(),
        }
    }

    /// How far `time` is from the campaign's span, seconds (0 inside it).
    pub(crate) fn gap(&self, time: i64) -> i64 {
        if time < self.first_seen {
            self.first_seen.saturating_sub(time)
        } else {
            time.saturating_sub(self.last_seen).max(0)
        }
    }

    /// Counts a report in; `example` when its text is a new variant worth showing.
    pub(crate) fn add(&mut self, r: &PreparedReport, example: bool) {
        self.size += 1;
        self.first_seen = self.first_seen.min(r.time);
        self.last_seen = self.last_seen.max(r.time);
        if let Some(calling) = &r.calling {
            self.calling.add(calling.digits());
            self.blocks.add(calling.block());
        }
        for c in &r.callbacks {
            self.callbacks.add(c);
        }
        for b in &r.brands {
            self.brands.add(b);
        }
        for (slot, ask) in self.asked.iter_mut().zip(Ask::ALL) {
            if r.asked.contains(ask) {
                *slot += 1;
            }
        }
        if example && self.examples.len() < MAX_EXAMPLES && !r.text.trim().is_empty() {
            self.examples
                .push(crate::text::clip(r.text.trim(), MAX_EXAMPLE_BYTES).to_owned());
        }
        *self
            .hourly
            .entry(r.time.div_euclid(HOUR) * HOUR)
            .or_insert(0) += 1;
        *self.daily.entry(r.time.div_euclid(DAY) * DAY).or_insert(0) += 1;
        let horizon = self.last_seen.div_euclid(HOUR) * HOUR - HOURLY_BUCKETS * HOUR;
        while let Some((&first, _)) = self.hourly.first_key_value() {
            if first > horizon {
                break;
            }
            self.hourly.pop_first();
        }
        while self.daily.len() > DAILY_BUCKETS {
            self.daily.pop_first();
        }
    }

    /// The campaign's summary as of `now` (Unix seconds; it sets the trend's window).
    pub(crate) fn summary(&self, now: i64) -> CampaignSummary {
        let count_in =
            |from: i64, to: i64| -> u64 { self.hourly.range(from..to).map(|(_, c)| c).sum() };
        let hour_now = now.div_euclid(HOUR) * HOUR + HOUR;
        let last_24h = count_in(hour_now - DAY, hour_now);
        let previous_24h = count_in(hour_now - 2 * DAY, hour_now - DAY);
        let direction = if self.first_seen > now - DAY && self.first_seen <= now {
            Direction::New
        } else if last_24h == 0 {
            Direction::Quiet
        } else if 2 * last_24h > 3 * previous_24h + 2 {
            Direction::Rising
        } else if 3 * last_24h + 2 < 2 * previous_24h {
            Direction::Falling
        } else {
            Direction::Steady
        };
        let buckets = |m: &BTreeMap<i64, u64>| {
            m.iter()
                .map(|(&start, &count)| Bucket { start, count })
                .collect()
        };
        CampaignSummary {
            id: self.id,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            size: self.size,
            calling_numbers: self.calling.top(TOP),
            number_blocks: self.blocks.top(TOP),
            callback_numbers: self.callbacks.top(TOP),
            brands: self.brands.top(TOP),
            asked: Ask::ALL
                .into_iter()
                .zip(self.asked)
                .filter(|(_, n)| *n > 0)
                .map(|(ask, count)| AskCount { ask, count })
                .collect(),
            examples: self.examples.clone(),
            trend: Trend {
                hourly: buckets(&self.hourly),
                daily: buckets(&self.daily),
                last_24h,
                previous_24h,
                direction,
            },
        }
    }
}

/// A value and how many reports gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    /// The value (a number, a block, a brand).
    pub value: String,
    /// How many of the campaign's reports gave it.
    pub count: u64,
}

/// A category of ask and how many reports named it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AskCount {
    /// The category.
    pub ask: Ask,
    /// How many of the campaign's reports named it (or whose text mentions it).
    pub count: u64,
}

/// Reports in one time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// The bucket's start, Unix seconds (a whole hour or a whole UTC day).
    pub start: i64,
    /// Reports whose call time falls in it.
    pub count: u64,
}

/// Where a campaign is heading, comparing the last 24 hours with the 24 before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// First seen within the last 24 hours.
    New,
    /// Half as many reports again as the day before, or more.
    Rising,
    /// About as many as the day before.
    Steady,
    /// A third fewer than the day before, or less.
    Falling,
    /// No report in the last 24 hours.
    Quiet,
}

/// A campaign's activity over time, enough for a chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trend {
    /// Reports per hour over the [`HOURLY_BUCKETS`] hours before the campaign's last report
    /// (empty hours left out).
    pub hourly: Vec<Bucket>,
    /// Reports per UTC day, the last [`DAILY_BUCKETS`] days with any.
    pub daily: Vec<Bucket>,
    /// Reports in the 24 hours up to the summary's `now` (hour-aligned).
    pub last_24h: u64,
    /// Reports in the 24 hours before those.
    pub previous_24h: u64,
    /// Where it is heading.
    pub direction: Direction,
}

/// A campaign as the clusterer sees it at a moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignSummary {
    /// Its id.
    pub id: CampaignId,
    /// The earliest call time of its reports, Unix seconds.
    pub first_seen: i64,
    /// The latest call time of its reports, Unix seconds.
    pub last_seen: i64,
    /// How many reports it has.
    pub size: u64,
    /// The calling numbers shown most often.
    pub calling_numbers: Vec<Count>,
    /// The calling-number blocks (NPA-NXX) used most often.
    pub number_blocks: Vec<Count>,
    /// The callback numbers its texts give most often.
    pub callback_numbers: Vec<Count>,
    /// The brands claimed or named most often.
    pub brands: Vec<Count>,
    /// What its callers asked for.
    pub asked: Vec<AskCount>,
    /// Up to [`MAX_EXAMPLES`] example texts, distinct variants in order of arrival.
    pub examples: Vec<String>,
    /// Its activity over time.
    pub trend: Trend,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Params;
    use crate::report::ReportInput;

    fn report(time: i64, text: &str, calling: &str) -> PreparedReport {
        PreparedReport::new(
            &ReportInput {
                id: 0,
                time,
                text: text.into(),
                claimed_brand: None,
                calling: Some(calling.into()),
                asked: vec![],
            },
            &Params::default(),
        )
        .unwrap()
    }

    #[test]
    fn summary_counts_numbers_brands_asks_and_examples() {
        let t0 = 1_700_000_000;
        let mut c = CampaignState::new(CampaignId::new(4), t0);
        let texts = [
            "Amazon here: buy gift cards and call 888-555-0100",
            "Amazon here: buy gift cards, call 888-555-0100 now",
            "Amazon: gift cards please",
            "Amazon: gift cards please!",
        ];
        for (i, t) in texts.iter().enumerate() {
            c.add(&report(t0 + 60 * i as i64, t, "+12025550143"), true);
        }
        c.add(
            &report(t0 - 3600, "Apple support, call 888 555 0100", "2025550199"),
            false,
        );
        let s = c.summary(t0 + 3600);
        assert_eq!(s.id.to_string(), "C4");
        assert_eq!(s.size, 5);
        assert_eq!((s.first_seen, s.last_seen), (t0 - 3600, t0 + 180));
        assert_eq!(
            s.calling_numbers[0],
            Count {
                value: "2025550143".into(),
                count: 4
            }
        );
        assert_eq!(
            s.number_blocks,
            [Count {
                value: "202555".into(),
                count: 5
            }]
        );
        assert_eq!(
            s.callback_numbers,
            [Count {
                value: "8885550100".into(),
                count: 3
            }]
        );
        assert_eq!(
            s.brands[0],
            Count {
                value: "Amazon".into(),
                count: 4
            }
        );
        assert_eq!(
            s.asked,
            [AskCount {
                ask: Ask::GiftCards,
                count: 4
            }]
        );
        assert_eq!(s.examples.len(), MAX_EXAMPLES);
        assert_eq!(s.trend.hourly.iter().map(|b| b.count).sum::<u64>(), 5);
        assert_eq!(s.trend.last_24h, 5);
        assert_eq!(s.trend.direction, Direction::New);
    }

    #[test]
    fn trend_direction_and_pruning() {
        let t0 = 1_700_000_000 - 1_700_000_000 % DAY;
        let mut c = CampaignState::new(CampaignId::new(0), t0);
        for h in 0..24 {
            c.add(&report(t0 + h * HOUR, "x", "2025550143"), false);
        }
        for h in 0..6 {
            c.add(&report(t0 + DAY + h * HOUR, "x", "2025550143"), false);
        }
        let s = c.summary(t0 + 2 * DAY - 1);
        assert_eq!((s.trend.last_24h, s.trend.previous_24h), (6, 24));
        assert_eq!(s.trend.direction, Direction::Falling);
        assert_eq!(c.summary(t0 + 10 * DAY).trend.direction, Direction::Quiet);
        // Far later reports push the old hours out of the hourly window, not the daily one.
        c.add(&report(t0 + 30 * DAY, "x", "2025550143"), false);
        let s = c.summary(t0 + 30 * DAY);
        assert_eq!(s.trend.hourly.len(), 1);
        assert_eq!(s.trend.daily.len(), 3);
        assert_eq!(
            s.trend.daily[0],
            Bucket {
                start: t0,
                count: 24
            }
        );
    }

    #[test]
    fn gap_is_zero_inside_the_span() {
        let mut c = CampaignState::new(CampaignId::new(0), 100);
        c.add(&report(200, "x", "2025550143"), false);
        assert_eq!(c.gap(150), 0);
        assert_eq!(c.gap(50), 50);
        assert_eq!(c.gap(260), 60);
    }

    #[test]
    fn counters_are_bounded() {
        let mut k = Counter::default();
        for i in 0..(MAX_DISTINCT + 10) {
            k.add(&i.to_string());
        }
        k.add("0");
        assert_eq!(k.counts.len(), MAX_DISTINCT);
        assert_eq!(k.others, 10);
        assert_eq!(
            k.top(1),
            [Count {
                value: "0".into(),
                count: 2
            }]
        );
    }
}
