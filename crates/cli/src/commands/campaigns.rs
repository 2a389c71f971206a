//! `callproof campaigns evaluate|cluster|bench`: campaign detection over a CSV of calls.
//!
//! `evaluate` scores the clustering of one split of a labelled corpus (pairwise precision,
//! recall, F1 and the adjusted Rand index over the labelled calls; unlabelled calls are
//! clustered too, as noise) and, with `--baseline`, the plain 3-gram single-link clustering
//! whose threshold is tuned on the `train` split of the same file. `cluster` prints the
//! campaigns of a file. `bench` clusters synthetic variations of a corpus at scale.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use campaigns::baseline::Baseline;
use campaigns::eval::{PairScores, bootstrap_f1, pair_scores};
use campaigns::synthetic::{Generator, Variation};
use campaigns::{Ask, CampaignSummary, Clusterer, Params, ReportInput, cluster_batch};
use clap::{Args, Subcommand, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::{Value, json};

use super::print_line;

/// The corpus the commands name, relative to the workspace directory.
const DEFAULT_CORPUS: &str = "../shared/data/robocall-campaigns/calls.csv";
/// Bootstrap resamples for tuning figures.
const BOOTSTRAP_SAMPLES: usize = 1000;
/// The bootstrap's seed (fixed: the same figures on every run).
const BOOTSTRAP_SEED: u64 = 1;
/// Thresholds the baseline is tuned over: 0.05 to 0.99.
const BASELINE_THRESHOLDS: std::ops::RangeInclusive<u32> = 5..=99;

/// `callproof campaigns ...`.
#[derive(Debug, Subcommand)]
pub enum CampaignsCommand {
    /// Score the clustering of one split of a labelled corpus: pairwise precision, recall, F1
    /// and adjusted Rand index over its labelled calls.
    ///
    /// All calls of the split are clustered, in call id order, labelled or not; only pairs of
    /// labelled calls are scored. Tune on `train`; report `holdout` once.
    Evaluate(CampaignsEvaluateArgs),
    /// Cluster the calls of a file (in file order) and print the campaigns: size, first and
    /// last seen, brands, callback and calling numbers, what was asked, examples, trend.
    Cluster(CampaignsClusterArgs),
    /// Cluster synthetic reports made from a corpus (word drops and substitutions, changed
    /// amounts, names and numbers, truncated starts, calling numbers from per-campaign
    /// blocks, times over 30 days): batch wall time, reports per second, peak memory, then
    /// the latency of single inserts into the warm clusterer.
    Bench(CampaignsBenchArgs),
}

/// A split of the labelled corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SplitArg {
    /// The split to develop and tune on.
    Train,
    /// The split to report, untouched by tuning.
    Holdout,
}

impl SplitArg {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Holdout => "holdout",
        }
    }
}

/// Clustering parameters that may be overridden (for experiments; the defaults are tuned).
#[derive(Debug, Clone, Args)]
pub struct ParamArgs {
    /// Score at which a report joins a campaign (default: the tuned value).
    #[arg(long, value_name = "SCORE")]
    pub threshold: Option<f64>,
    /// Words per shingle (default: the tuned value).
    #[arg(long, value_name = "WORDS")]
    pub shingle_size: Option<usize>,
}

impl ParamArgs {
    fn params(&self) -> anyhow::Result<Params> {
        let mut p = Params::default();
        if let Some(t) = self.threshold {
            p.threshold = t;
        }
        if let Some(k) = self.shingle_size {
            p.shingle_size = k;
        }
        p.validate().context("clustering parameters")?;
        Ok(p)
    }
}

/// `callproof campaigns evaluate`.
#[derive(Debug, Args)]
pub struct CampaignsEvaluateArgs {
    /// The labelled calls: a CSV with a header naming at least `call_id`, `campaign` (empty:
    /// not labelled), `split` and `transcript`.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_CORPUS)]
    pub calls: PathBuf,
    /// Which split to cluster and score.
    #[arg(long, value_enum)]
    pub split: SplitArg,
    /// Also score the baseline: single-link clustering on word 3-gram Jaccard similarity,
    /// its threshold tuned on the file's `train` split (by pairwise F1, and by bootstrap F1).
    #[arg(long)]
    pub baseline: bool,
    /// Print the tuning table: pairwise F1 and bootstrap-mean F1 for shingles of 2 to 5
    /// words and thresholds 0.60 to 0.98. Refused on `holdout`.
    #[arg(long)]
    pub sweep: bool,
    /// Clustering parameters.
    #[command(flatten)]
    pub params: ParamArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `callproof campaigns cluster`.
#[derive(Debug, Args)]
pub struct CampaignsClusterArgs {
    /// The calls: a CSV with a header naming a `text` or `transcript` column and optionally
    /// `id` or `call_id`, `time` (Unix seconds), `claimed_brand`, `calling` (digits) and
    /// `asked` (category names separated by `;` or `,`: password, card, bank-transfer,
    /// remote-access, personal-data, gift-cards).
    #[arg(long, value_name = "FILE")]
    pub calls: PathBuf,
    /// Campaigns smaller than this are not printed (text output).
    #[arg(long, default_value_t = 2, value_name = "REPORTS")]
    pub min_size: u64,
    /// Print at most this many campaigns, largest first (text output).
    #[arg(long, default_value_t = 50)]
    pub top: usize,
    /// Clustering parameters.
    #[command(flatten)]
    pub params: ParamArgs,
    /// Print JSON: every campaign's summary and every call's campaign.
    #[arg(long)]
    pub json: bool,
}

/// `callproof campaigns bench`.
#[derive(Debug, Args)]
pub struct CampaignsBenchArgs {
    /// How many synthetic reports to cluster in batch.
    #[arg(long, default_value_t = 1_000_000, value_name = "REPORTS")]
    pub synthetic: u64,
    /// How many single inserts to time afterwards, into the warm clusterer.
    #[arg(long, default_value_t = 10_000)]
    pub inserts: u64,
    /// The corpus the synthetic reports vary (its `transcript` or `text` column).
    #[arg(long, value_name = "FILE", default_value = DEFAULT_CORPUS)]
    pub calls: PathBuf,
    /// Threads that prepare reports (normalise, shingle, MinHash); inserts are sequential.
    /// Default: the number of CPUs.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seed of the synthetic data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// One row of a calls CSV.
#[derive(Debug, Clone)]
struct Call {
    id: String,
    label: Option<String>,
    split: String,
    report: ReportInput,
}

/// Reads a calls CSV by its header's column names.
fn read_calls(path: &Path) -> anyhow::Result<Vec<Call>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("{}: no header", path.display()))?
        .clone();
    let col = |names: &[&str]| headers.iter().position(|h| names.contains(&h.trim()));
    let Some(text_col) = col(&["transcript", "text"]) else {
        bail!("{}: no `transcript` or `text` column", path.display());
    };
    let id_col = col(&["call_id", "id"]);
    let label_col = col(&["campaign"]);
    let split_col = col(&["split"]);
    let time_col = col(&["time"]);
    let brand_col = col(&["claimed_brand"]);
    let calling_col = col(&["calling"]);
    let asked_col = col(&["asked"]);
    let mut calls = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let line = n + 2;
        let record = record.with_context(|| format!("{}: line {line}", path.display()))?;
        let field = |c: Option<usize>| c.and_then(|c| record.get(c)).map(str::trim);
        let nonempty = |c: Option<usize>| field(c).filter(|v| !v.is_empty()).map(str::to_owned);
        let time = match field(time_col).filter(|v| !v.is_empty()) {
            None => 0,
            Some(t) => t
                .parse()
                .with_context(|| format!("{}: line {line}: time {t:?}", path.display()))?,
        };
        let mut asked = Vec::new();
        for name in field(asked_col)
            .unwrap_or_default()
            .split([';', ','])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            asked.push(Ask::parse(name).with_context(|| {
                format!("{}: line {line}: unknown ask {name:?}", path.display())
            })?);
        }
        calls.push(Call {
            id: nonempty(id_col).unwrap_or_else(|| n.to_string()),
            label: nonempty(label_col),
            split: field(split_col).unwrap_or_default().to_owned(),
            report: ReportInput {
                id: n as u64,
                time,
                text: field(Some(text_col)).unwrap_or_default().to_owned(),
                claimed_brand: nonempty(brand_col),
                calling: nonempty(calling_col),
                asked,
            },
        });
    }
    Ok(calls)
}

/// The calls of a split, in call id order, renumbered from 0.
fn split_calls(calls: &[Call], split: &str) -> Vec<Call> {
    let mut out: Vec<Call> = calls.iter().filter(|c| c.split == split).cloned().collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    for (i, c) in out.iter_mut().enumerate() {
        c.report.id = i as u64;
    }
    out
}

fn cluster_labels(calls: &[Call], params: &Params) -> anyhow::Result<(Vec<u64>, usize)> {
    let reports: Vec<ReportInput> = calls.iter().map(|c| c.report.clone()).collect();
    let batch = cluster_batch(&reports, params, 1).context("clustering")?;
    Ok((
        batch.assignments.iter().map(|a| a.campaign.get()).collect(),
        batch.campaigns.len(),
    ))
}

fn labels(calls: &[Call]) -> Vec<Option<String>> {
    calls.iter().map(|c| c.label.clone()).collect()
}

/// One scored method.
struct Scored {
    method: String,
    threshold: f64,
    clusters: usize,
    scores: PairScores,
    tuned_on_train: Option<String>,
}

impl Scored {
    fn json(&self) -> Value {
        json!({
            "method": self.method,
            "threshold": self.threshold,
            "clusters": self.clusters,
            "precision": self.scores.precision,
            "recall": self.scores.recall,
            "f1": self.scores.f1,
            "ari": self.scores.ari,
            "reference_pairs": self.scores.reference_pairs,
            "predicted_pairs": self.scores.predicted_pairs,
            "agreed_pairs": self.scores.agreed_pairs,
            "tuning": self.tuned_on_train,
        })
    }
}

/// `callproof campaigns evaluate`.
pub(crate) fn evaluate(args: &CampaignsEvaluateArgs) -> anyhow::Result<ExitCode> {
    let params = args.params.params()?;
    let all = read_calls(&args.calls)?;
    let calls = split_calls(&all, args.split.as_str());
    if calls.is_empty() {
        bail!(
            "{}: no call in split {:?}",
            args.calls.display(),
            args.split.as_str()
        );
    }
    let truth = labels(&calls);
    if args.sweep {
        if args.split != SplitArg::Train {
            bail!("--sweep tunes: it runs on --split train only, never on holdout");
        }
        return sweep(&calls, &truth, &params, args.json);
    }
    let mut results = Vec::new();
    let (pred, clusters) = cluster_labels(&calls, &params)?;
    results.push(Scored {
        method: format!(
            "campaigns ({}-word shingles, MinHash LSH)",
            params.shingle_size
        ),
        threshold: params.threshold,
        clusters,
        scores: pair_scores(&truth, &pred)?,
        tuned_on_train: Some("defaults: best bootstrap F1 on train".into()),
    });
    if args.baseline {
        let train = split_calls(&all, SplitArg::Train.as_str());
        let train_truth = labels(&train);
        let train_base = Baseline::new(&train.iter().map(|c| &c.report.text).collect::<Vec<_>>());
        let mut by_f1 = (0.0, f64::NEG_INFINITY);
        let mut by_boot = (0.0, f64::NEG_INFINITY);
        for t in BASELINE_THRESHOLDS {
            let th = f64::from(t) / 100.0;
            let pred = train_base.cluster(th);
            let f1 = pair_scores(&train_truth, &pred)?.f1;
            let boot = bootstrap_f1(&train_truth, &pred, BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED)?;
            if f1 > by_f1.1 {
                by_f1 = (th, f1);
            }
            if boot > by_boot.1 {
                by_boot = (th, boot);
            }
        }
        let base = Baseline::new(&calls.iter().map(|c| &c.report.text).collect::<Vec<_>>());
        for (how, (th, train_score)) in [("pairwise F1", by_f1), ("bootstrap F1", by_boot)] {
            let pred = base.cluster(th);
            let clusters = {
                let mut p = pred.clone();
                p.sort_unstable();
                p.dedup();
                p.len()
            };
            results.push(Scored {
                method: format!("baseline (3-gram single link, tuned by train {how})"),
                threshold: th,
                clusters,
                scores: pair_scores(&truth, &pred)?,
                tuned_on_train: Some(format!("train {how} {train_score:.3} at {th:.2}")),
            });
        }
    }
    let labelled = truth.iter().flatten().count();
    let reference_campaigns = {
        let mut l: Vec<&String> = truth.iter().flatten().collect();
        l.sort();
        l.dedup();
        l.len()
    };
    if args.json {
        let out = json!({
            "split": args.split.as_str(),
            "calls": calls.len(),
            "labelled": labelled,
            "reference_campaigns": reference_campaigns,
            "results": results.iter().map(Scored::json).collect::<Vec<_>>(),
        });
        print_line(&serde_json::to_string_pretty(&out)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_line(&format!(
        "split {}: {} calls, {labelled} labelled in {reference_campaigns} reference campaigns",
        args.split.as_str(),
        calls.len(),
    ))?;
    print_line(&format!(
        "{:<58} {:>9} {:>9} {:>9} {:>7} {:>7} {:>7}",
        "method", "threshold", "clusters", "precision", "recall", "F1", "ARI"
    ))?;
    for r in &results {
        print_line(&format!(
            "{:<58} {:>9.2} {:>9} {:>9.3} {:>7.3} {:>7.3} {:>7.3}",
            r.method,
            r.threshold,
            r.clusters,
            r.scores.precision,
            r.scores.recall,
            r.scores.f1,
            r.scores.ari
        ))?;
    }
    for r in results.iter().skip(1) {
        if let Some(t) = &r.tuned_on_train {
            print_line(&format!("  {}: {t}", r.method))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The tuning table (train only).
fn sweep(
    calls: &[Call],
    truth: &[Option<String>],
    base: &Params,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let mut rows = Vec::new();
    let mut best: Option<(usize, f64, f64, f64)> = None;
    for k in 2..=5 {
        for t in 60..=98u32 {
            let params = Params {
                shingle_size: k,
                threshold: f64::from(t) / 100.0,
                ..base.clone()
            };
            let (pred, clusters) = cluster_labels(calls, &params)?;
            let s = pair_scores(truth, &pred)?;
            let boot = bootstrap_f1(truth, &pred, BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED)?;
            if best.is_none_or(|b| boot > b.3) {
                best = Some((k, params.threshold, s.f1, boot));
            }
            rows.push(json!({
                "shingle_size": k, "threshold": params.threshold, "clusters": clusters,
                "precision": s.precision, "recall": s.recall, "f1": s.f1, "ari": s.ari,
                "bootstrap_f1": boot,
            }));
        }
    }
    let best = best.map(|(k, th, f1, boot)| {
        json!({"shingle_size": k, "threshold": th, "f1": f1, "bootstrap_f1": boot})
    });
    if as_json {
        let out = json!({"split": "train", "rows": rows, "best_by_bootstrap_f1": best});
        print_line(&serde_json::to_string_pretty(&out)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_line("shingle  threshold  clusters  precision  recall     F1    ARI  bootstrap-F1")?;
    for r in &rows {
        let f = |k: &str| r.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
        print_line(&format!(
            "{:>7} {:>10.2} {:>9} {:>10.3} {:>7.3} {:>6.3} {:>6.3} {:>13.3}",
            f("shingle_size"),
            f("threshold"),
            f("clusters"),
            f("precision"),
            f("recall"),
            f("f1"),
            f("ari"),
            f("bootstrap_f1"),
        ))?;
    }
    if let Some(b) = best {
        print_line(&format!("best by bootstrap F1: {b}"))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn unix_to_rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

fn clip_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push_str("...");
    out
}

fn counts(c: &[campaigns::Count], max: usize) -> String {
    c.iter()
        .take(max)
        .map(|c| format!("{} ({})", c.value, c.count))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `callproof campaigns cluster`.
pub(crate) fn cluster(args: &CampaignsClusterArgs) -> anyhow::Result<ExitCode> {
    let params = args.params.params()?;
    let calls = read_calls(&args.calls)?;
    let reports: Vec<ReportInput> = calls.iter().map(|c| c.report.clone()).collect();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let batch = cluster_batch(&reports, &params, threads).context("clustering")?;
    if args.json {
        let out = json!({
            "reports": reports.len(),
            "campaigns": batch.campaigns,
            "assignments": calls.iter().zip(&batch.assignments).map(|(c, a)| json!({
                "id": c.id, "campaign": a.campaign, "new_campaign": a.new_campaign,
                "score": a.score,
            })).collect::<Vec<_>>(),
        });
        print_line(&serde_json::to_string_pretty(&out)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut shown: Vec<&CampaignSummary> = batch
        .campaigns
        .iter()
        .filter(|c| c.size >= args.min_size)
        .collect();
    shown.sort_by(|a, b| b.size.cmp(&a.size).then(a.id.cmp(&b.id)));
    let singletons = batch.campaigns.iter().filter(|c| c.size == 1).count();
    print_line(&format!(
        "{} reports in {} campaigns ({} of a single report); {} of the {} with {} or more \
         reports shown",
        reports.len(),
        batch.campaigns.len(),
        singletons,
        shown.len().min(args.top),
        shown.len(),
        args.min_size,
    ))?;
    for c in shown.into_iter().take(args.top) {
        print_line("")?;
        let when = if c.first_seen == 0 && c.last_seen == 0 {
            "no call times".to_owned()
        } else {
            format!(
                "{} .. {}  trend: {:?} (last 24 h {}, previous {})",
                unix_to_rfc3339(c.first_seen),
                unix_to_rfc3339(c.last_seen),
                c.trend.direction,
                c.trend.last_24h,
                c.trend.previous_24h,
            )
        };
        print_line(&format!("{}  {} reports  {when}", c.id, c.size))?;
        let lines = [
            ("brands", counts(&c.brands, 5)),
            ("callback numbers", counts(&c.callback_numbers, 5)),
            ("calling numbers", counts(&c.calling_numbers, 5)),
            ("number blocks", counts(&c.number_blocks, 5)),
            (
                "asked",
                c.asked
                    .iter()
                    .map(|a| format!("{} ({})", a.ask, a.count))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        ];
        for (name, value) in lines {
            if !value.is_empty() {
                print_line(&format!("  {name}: {value}"))?;
            }
        }
        for e in &c.examples {
            print_line(&format!("  example: {}", clip_chars(e, 200)))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Peak and current resident memory of this process, KiB (Linux `/proc/self/status`).
fn memory_kib() -> (Option<u64>, Option<u64>) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (None, None);
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}

fn progress_bar(len: u64, json: bool) -> indicatif::ProgressBar {
    if json {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{bar:40}] {human_pos}/{human_len} reports  {per_sec}  {msg}",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}

/// `callproof campaigns bench`.
pub(crate) fn bench(args: &CampaignsBenchArgs) -> anyhow::Result<ExitCode> {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    // The distinct texts of the corpus are the bases the synthetic reports vary.
    let mut corpus: Vec<String> = read_calls(&args.calls)?
        .into_iter()
        .map(|c| c.report.text)
        .filter(|t| !t.trim().is_empty())
        .collect();
    corpus.sort();
    corpus.dedup();
    let start_time = 1_700_000_000;
    let generator = Generator::new(&corpus, Variation::default(), args.seed, start_time);
    if generator.base_count() == 0 {
        bail!("{}: no text to vary", args.calls.display());
    }
    let params = Params::default();
    // The reference for the synthetic reports: the campaigns of their base texts, clustered
    // as they are. A variant should land with its base's campaign.
    let base_reports: Vec<ReportInput> = corpus
        .iter()
        .enumerate()
        .map(|(i, t)| ReportInput {
            id: i as u64,
            time: start_time,
            text: t.clone(),
            ..ReportInput::default()
        })
        .collect();
    let base_campaign: Vec<u64> = cluster_batch(&base_reports, &params, threads)?
        .assignments
        .iter()
        .map(|a| a.campaign.get())
        .collect();

    // Build the reports (not timed with the clustering).
    let built = Instant::now();
    let n = args.synthetic;
    let mut reports = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    let mut truth = Vec::with_capacity(reports.capacity());
    for i in 0..n {
        let (r, base) = generator.report(i);
        reports.push(r);
        truth.push(base_campaign.get(base).copied());
    }
    let build_secs = built.elapsed().as_secs_f64();
    let (after_build_peak, after_build_rss) = memory_kib();

    // Batch: a fresh clusterer, every report in order, chunk by chunk for the progress bar.
    let pb = progress_bar(n, args.json);
    let started = Instant::now();
    let mut clusterer = Clusterer::new(params.clone())?;
    let mut assignments = Vec::with_capacity(reports.len());
    for chunk in reports.chunks(65_536) {
        assignments.extend(clusterer.insert_batch(chunk, threads)?);
        pb.inc(chunk.len() as u64);
    }
    let batch_secs = started.elapsed().as_secs_f64();
    pb.finish_and_clear();
    let (peak, rss) = memory_kib();
    let predicted: Vec<u64> = assignments.iter().map(|a| a.campaign.get()).collect();
    let synthetic_scores = pair_scores(&truth, &predicted)?;
    drop(reports);

    // Incremental: single inserts into the warm clusterer, each timed alone.
    let mut latency =
        Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).context("histogram")?;
    let mut joined = 0u64;
    for i in 0..args.inserts {
        let (r, _) = generator.report(n + i);
        let t = Instant::now();
        let a = clusterer.insert(&r)?;
        let ns = u64::try_from(t.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        latency.record(ns).context("latency histogram")?;
        joined += u64::from(!a.new_campaign);
    }
    let us = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    let max_us = latency.max() as f64 / 1000.0;
    let per_sec = n as f64 / batch_secs.max(1e-9);
    let sizes: BTreeMap<&str, usize> = {
        let summaries = clusterer.campaigns(start_time);
        let mut m = BTreeMap::new();
        m.insert("campaigns", summaries.len());
        m.insert(
            "single_report",
            summaries.iter().filter(|c| c.size == 1).count(),
        );
        m.insert("representatives", clusterer.representative_count());
        m
    };
    if args.json {
        let out = json!({
            "reports": n,
            "base_texts": generator.base_count(),
            "threads": threads,
            "build_secs": build_secs,
            "batch_secs": batch_secs,
            "reports_per_sec": per_sec,
            "peak_rss_kib": peak,
            "rss_kib": rss,
            "rss_after_building_input_kib": after_build_rss,
            "peak_rss_after_building_input_kib": after_build_peak,
            "clusters": sizes,
            "agreement_with_base_campaigns": {
                "precision": synthetic_scores.precision,
                "recall": synthetic_scores.recall,
                "f1": synthetic_scores.f1,
                "ari": synthetic_scores.ari,
            },
            "inserts": args.inserts,
            "inserts_joined": joined,
            "insert_us": {"p50": us(0.5), "p99": us(0.99), "p999": us(0.999), "max": max_us},
        });
        print_line(&serde_json::to_string_pretty(&out)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_line(&format!(
        "built {n} synthetic reports from {} texts in {build_secs:.1} s (input held in memory: \
         RSS {})",
        generator.base_count(),
        mib(after_build_rss),
    ))?;
    print_line(&format!(
        "batch: {n} reports in {} ({per_sec:.0} reports/s, {threads} preparing threads, \
         inserts sequential)",
        fmt_secs(Duration::from_secs_f64(batch_secs)),
    ))?;
    print_line(&format!(
        "  {} campaigns ({} of one report), {} representatives indexed",
        sizes.get("campaigns").copied().unwrap_or(0),
        sizes.get("single_report").copied().unwrap_or(0),
        sizes.get("representatives").copied().unwrap_or(0),
    ))?;
    print_line(&format!(
        "  agreement with the campaigns of the base texts: pairwise precision {:.3}, recall {:.3}, F1 {:.3}, ARI {:.3}",
        synthetic_scores.precision,
        synthetic_scores.recall,
        synthetic_scores.f1,
        synthetic_scores.ari
    ))?;
    print_line(&format!(
        "memory: peak RSS {} (VmHWM, input included), RSS now {}",
        mib(peak),
        mib(rss)
    ))?;
    print_line(&format!(
        "incremental: {} inserts into the warm clusterer ({joined} joined a campaign): \
         p50 {:.1} us, p99 {:.1} us, p99.9 {:.1} us, max {max_us:.1} us",
        args.inserts,
        us(0.5),
        us(0.99),
        us(0.999),
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn fmt_secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Runs a `callproof campaigns` subcommand.
pub(crate) fn run(command: &CampaignsCommand) -> anyhow::Result<ExitCode> {
    match command {
        CampaignsCommand::Evaluate(args) => evaluate(args),
        CampaignsCommand::Cluster(args) => cluster(args),
        CampaignsCommand::Bench(args) => bench(args),
    }
}
