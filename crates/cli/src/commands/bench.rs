//! `callproof bench`: load against a running server, measured against the ECDSA ceiling of
//! this machine measured in the same process.
//!
//! Each of `--connections` workers keeps one request in flight. Closed loop by default; with
//! `--rate` the offered load is fixed and a request that a late answer held back is measured
//! from its scheduled send time, so a stalled server shows up as latency instead of hiding
//! as lower load (one sent on time is measured from its send: the timer's own lateness is
//! not the server's).

mod check;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    ParsedPublicKey,
};
use hdrhistogram::Histogram;
use serde_json::{Value, json};

use self::check::{CheckMix, Rng};
use super::bench_http::{HttpConn, split_url};
use crate::args::{BenchArgs, BenchMode};

const WARMUP: Duration = Duration::from_secs(1);
const TIMEOUT: Duration = Duration::from_secs(5);
const POOL: usize = 2_000;

pub(crate) fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    if args.connections == 0 || args.duration == 0 {
        bail!("--connections and --duration must be positive");
    }
    if args.duration > 40
        && matches!(
            args.mode,
            BenchMode::RestVerify | BenchMode::SipVerify | BenchMode::SecsipidxVerify
        )
    {
        bail!("--duration of a verification run is at most 40 s (its PASSporTs must stay fresh)");
    }
    if args.duration > 600 && args.mode == BenchMode::Check {
        bail!(
            "--duration of a check run is at most 600 s (its registered calls must stay within [check] now_window_secs)"
        );
    }
    let cores = args
        .server_cores
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // The ceiling is measured before and after the load and averaged: on a shared or
    // virtual machine one short measurement can be off by 10-20%.
    let before = Ceiling::measure_on(args.server_cpu)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("async runtime")?;
    let report = runtime.block_on(drive(args))?;
    let ceiling = before.averaged_with(&Ceiling::measure_on(args.server_cpu)?);
    // A check signs nothing: its ratio is to the sign ceiling, the server's costliest
    // operation, so it reads as "checks per signature's worth of CPU".
    let per_core = match args.mode {
        BenchMode::RestSign | BenchMode::SipSign | BenchMode::Check => ceiling.sign_per_sec,
        BenchMode::RestVerify | BenchMode::SipVerify | BenchMode::SecsipidxVerify => {
            ceiling.verify_per_sec
        }
    };
    let ceiling_total = per_core * cores as f64;
    let throughput = report.ok as f64 / report.elapsed.as_secs_f64();
    let q = |p: f64| report.latency.value_at_quantile(p) as f64 / 1000.0;
    let target = report
        .check
        .as_ref()
        .map(|_| Target::judge(args.rate, throughput, q(0.99), report.errors.total()));
    let mut out = json!({
        "mode": format!("{:?}", args.mode),
        "connections": args.connections,
        "duration_secs": report.elapsed.as_secs_f64(),
        "offered_rate": args.rate,
        "requests_ok": report.ok,
        "errors": report.errors.total(),
        "error_kinds": report.errors.to_json(),
        "throughput_per_sec": throughput,
        "latency_ms": { "p50": q(0.50), "p99": q(0.99), "p999": q(0.999), "max": report.latency.max() as f64 / 1000.0 },
        "ceiling": {
            "raw_sign_per_core_per_sec": ceiling.sign_per_sec,
            "raw_verify_per_core_per_sec": ceiling.verify_per_sec,
            "server_cores": cores,
            "ceiling_per_sec": ceiling_total,
        },
        "ratio_to_ceiling": throughput / ceiling_total,
        "first_error": report.first_error,
    });
    if let (Some(mix), Some(target), Some(map)) = (&report.check, &target, out.as_object_mut()) {
        map.insert(
            "check".into(),
            json!({
                "brand": args.brand,
                "registered_pairs": mix.registered(),
                "registered_share": args.registered_share,
                "clients": args.clients,
                "answers": report.answers,
                "ratio_note": "a check signs nothing: the ratio is checks/s to raw ES256 signatures/s of the server's cores",
                "target": {
                    "rate_per_sec": check::TARGET_RATE,
                    "p99_ms": check::TARGET_P99_MS,
                    "met": target.met,
                    "why": target.why,
                },
            }),
        );
    }
    if args.json {
        super::print_line(&serde_json::to_string(&out)?)?;
    } else {
        super::print_line(&format!(
            "{:?}: {} ok, {} errors in {:.1} s with {} connections{}\n  throughput   {:>10.0} /s\n  latency      p50 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  max {:.3} ms\n  ceiling      {:>10.0} /s  (raw ES256 {} {:.0}/s per core x {} cores, measured now)\n  ratio        {:.3}",
            args.mode,
            report.ok,
            report.errors.total(),
            report.elapsed.as_secs_f64(),
            args.connections,
            args.rate
                .map(|r| format!(", offered {r}/s"))
                .unwrap_or_default(),
            throughput,
            q(0.50),
            q(0.99),
            q(0.999),
            report.latency.max() as f64 / 1000.0,
            ceiling_total,
            if per_core == ceiling.sign_per_sec {
                "sign"
            } else {
                "verify"
            },
            per_core,
            cores,
            throughput / ceiling_total,
        ))?;
        if report.errors.total() > 0 {
            super::print_line(&format!("  errors       {}", report.errors.describe()))?;
        }
        if let Some(e) = &report.first_error {
            super::print_line(&format!("  first error  {e}"))?;
        }
        if let (Some(mix), Some(target)) = (&report.check, &target) {
            let answers = report
                .answers
                .iter()
                .map(|(a, n)| format!("{a} {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            super::print_line(&format!(
                "  checks       brand {}: {} registered pairs ({:.0}% of checks), {} client addresses; answers: {answers}\n  note         a check signs nothing: the ratio is checks/s to raw ES256 signatures/s\n  target       {}/s sustained with p99 < {} ms: {}",
                args.brand,
                mix.registered(),
                args.registered_share * 100.0,
                args.clients,
                check::TARGET_RATE,
                check::TARGET_P99_MS,
                match target.met {
                    Some(true) => format!("met ({})", target.why),
                    Some(false) => format!("NOT met ({})", target.why),
                    None => target.why.clone(),
                },
            ))?;
        }
    }
    Ok(if report.ok > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::EXIT_NOT_VERIFIED)
    })
}

/// Raw aws-lc-rs ES256 operations per second on one core of this machine: the server's
/// (`--server-cpu`, while the server is idle, before and after the load), else the load
/// generator's own.
struct Ceiling {
    sign_per_sec: f64,
    verify_per_sec: f64,
}

impl Ceiling {
    /// Measures on `cpu` (a thread pinned there), or here.
    fn measure_on(cpu: Option<usize>) -> anyhow::Result<Self> {
        let Some(cpu) = cpu else {
            return Ok(Self::measure());
        };
        std::thread::spawn(move || {
            if core_affinity::set_for_current(core_affinity::CoreId { id: cpu }) {
                Ok(Self::measure())
            } else {
                Err(anyhow::anyhow!(
                    "cannot run a thread on CPU {cpu} (--server-cpu)"
                ))
            }
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the ceiling measurement failed"))?
    }

    fn measure() -> Self {
        let rng = SystemRandom::new();
        let Ok(pair) = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING) else {
            return Self {
                sign_per_sec: f64::NAN,
                verify_per_sec: f64::NAN,
            };
        };
        let msg = [b'x'; 360];
        let rate = |f: &mut dyn FnMut()| {
            for _ in 0..200 {
                f();
            }
            let start = Instant::now();
            let mut n = 0u32;
            while start.elapsed() < Duration::from_millis(700) {
                for _ in 0..100 {
                    f();
                }
                n += 100;
            }
            f64::from(n) / start.elapsed().as_secs_f64()
        };
        let sign_per_sec = rate(&mut || {
            let _ = std::hint::black_box(pair.sign(&rng, &msg));
        });
        let sig = pair
            .sign(&rng, &msg)
            .map(|s| s.as_ref().to_vec())
            .unwrap_or_default();
        let verify_per_sec =
            match ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref()) {
                Ok(key) => rate(&mut || {
                    let _ = std::hint::black_box(key.verify_sig(&msg, &sig));
                }),
                Err(_) => f64::NAN,
            };
        Self {
            sign_per_sec,
            verify_per_sec,
        }
    }

    /// The mean of two measurements.
    fn averaged_with(&self, other: &Self) -> Self {
        Self {
            sign_per_sec: f64::midpoint(self.sign_per_sec, other.sign_per_sec),
            verify_per_sec: f64::midpoint(self.verify_per_sec, other.verify_per_sec),
        }
    }
}

/// Whether a check run meets the target.
struct Target {
    /// `None`: the run cannot tell (not at a fixed rate of at least the target's).
    met: Option<bool>,
    why: String,
}

impl Target {
    /// Judges a run offered `rate` that achieved `throughput` with `p99_ms` and `errors`.
    fn judge(rate: Option<u64>, throughput: f64, p99_ms: f64, errors: u64) -> Self {
        let Some(rate) = rate.filter(|r| *r >= check::TARGET_RATE) else {
            return Self {
                met: None,
                why: format!(
                    "judged at a fixed rate: run with --rate {}",
                    check::TARGET_RATE
                ),
            };
        };
        // Requests still in flight at the deadline are not counted: allow 2%.
        let mut missed = Vec::new();
        if throughput < 0.98 * check::TARGET_RATE as f64 {
            missed.push(format!("{throughput:.0}/s achieved of {rate}/s offered"));
        }
        if p99_ms >= check::TARGET_P99_MS {
            missed.push(format!("p99 {p99_ms:.2} ms"));
        }
        if errors > 0 {
            missed.push(format!("{errors} errors"));
        }
        if missed.is_empty() {
            Self {
                met: Some(true),
                why: format!("{throughput:.0}/s, p99 {p99_ms:.2} ms, no errors"),
            }
        } else {
            Self {
                met: Some(false),
                why: missed.join(", "),
            }
        }
    }
}

/// Why a request counts as an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailureKind {
    /// HTTP 429.
    RateLimited,
    /// Another status than the one expected.
    Status,
    /// The expected status with the wrong content (a wrong check answer, a verification
    /// that did not pass).
    WrongAnswer,
    /// No answer: connection, timeout, framing.
    Transport,
}

/// A request that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    kind: FailureKind,
    detail: String,
}

impl Failure {
    fn new(kind: FailureKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// A non-2xx HTTP answer.
    fn status(status: u16, body: &[u8]) -> Self {
        let kind = if status == 429 {
            FailureKind::RateLimited
        } else {
            FailureKind::Status
        };
        Self::new(
            kind,
            format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ),
        )
    }
}

impl From<String> for Failure {
    fn from(detail: String) -> Self {
        Self::new(FailureKind::Transport, detail)
    }
}

/// Errors by kind.
#[derive(Debug, Default, Clone, Copy)]
struct ErrorCounts {
    rate_limited: u64,
    status: u64,
    wrong_answer: u64,
    transport: u64,
}

impl ErrorCounts {
    fn add(&mut self, kind: FailureKind) {
        match kind {
            FailureKind::RateLimited => self.rate_limited += 1,
            FailureKind::Status => self.status += 1,
            FailureKind::WrongAnswer => self.wrong_answer += 1,
            FailureKind::Transport => self.transport += 1,
        }
    }

    fn merge(&mut self, other: &Self) {
        self.rate_limited += other.rate_limited;
        self.status += other.status;
        self.wrong_answer += other.wrong_answer;
        self.transport += other.transport;
    }

    fn total(&self) -> u64 {
        self.rate_limited + self.status + self.wrong_answer + self.transport
    }

    fn to_json(self) -> Value {
        json!({
            "rate_limited": self.rate_limited,
            "http_status": self.status,
            "wrong_answer": self.wrong_answer,
            "transport": self.transport,
        })
    }

    fn describe(&self) -> String {
        format!(
            "{} rate-limited (429), {} other HTTP status, {} wrong answers, {} transport",
            self.rate_limited, self.status, self.wrong_answer, self.transport
        )
    }
}

/// What a request that succeeded answered, for runs that count answers.
type Outcome = Result<Option<&'static str>, Failure>;

struct Report {
    ok: u64,
    errors: ErrorCounts,
    elapsed: Duration,
    latency: Histogram<u64>,
    first_error: Option<String>,
    /// Check runs: their mix.
    check: Option<Arc<CheckMix>>,
    /// Answers counted by name (check runs).
    answers: BTreeMap<&'static str, u64>,
}

/// What each request sends.
#[derive(Clone)]
enum Work {
    Rest {
        url: String,
        bodies: Arc<Vec<String>>,
        /// `callReason` for signing requests built per call.
        call_reason: Option<String>,
    },
    /// A plain-text body (secsipidx's check endpoint takes the Identity value as the body).
    Raw {
        url: String,
        bodies: Arc<Vec<String>>,
    },
    Sip {
        addr: SocketAddr,
        identities: Arc<Vec<String>>,
        orig: String,
        dest: String,
    },
    /// Customers' call checks.
    Check {
        url: String,
        mix: Arc<CheckMix>,
        /// Each worker's generator is seeded from this and its number.
        seed: u64,
    },
}

async fn drive(args: &BenchArgs) -> anyhow::Result<Report> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .timeout(TIMEOUT)
        .build()
        .context("HTTP client")?;
    let target = args.target.trim_end_matches('/').to_owned();
    let signer = match args.mode {
        BenchMode::SecsipidxVerify => args.signer.trim_end_matches('/').to_owned(),
        _ => target.clone(),
    };
    let needs_pool = matches!(
        args.mode,
        BenchMode::RestVerify | BenchMode::SipVerify | BenchMode::SecsipidxVerify
    );
    let pool = if needs_pool {
        Arc::new(sign_pool(&client, &signer, args).await?)
    } else {
        Arc::new(Vec::new())
    };
    let mut rng = Rng::from_entropy();
    let mix = if args.mode == BenchMode::Check {
        Some(Arc::new(
            check::prepare(&client, &target, args, &mut rng).await?,
        ))
    } else {
        None
    };
    let work = match args.mode {
        BenchMode::RestSign => Work::Rest {
            url: format!("{target}/stir/v1/signing"),
            bodies: Arc::new(Vec::new()),
            call_reason: args.call_reason.clone(),
        },
        BenchMode::RestVerify => {
            let now = unix_now();
            let bodies = pool
                .iter()
                .map(|identity| {
                    json!({"verificationRequest": {
                        "from": {"tn": args.orig}, "to": {"tn": [args.dest]}, "time": now, "identity": identity
                    }})
                    .to_string()
                })
                .collect();
            Work::Rest {
                url: format!("{target}/stir/v1/verification"),
                bodies: Arc::new(bodies),
                call_reason: None,
            }
        }
        BenchMode::SecsipidxVerify => Work::Raw {
            url: format!("{target}/v1/check"),
            bodies: Arc::clone(&pool),
        },
        BenchMode::SipSign | BenchMode::SipVerify => Work::Sip {
            addr: args.sip.unwrap_or_else(|| {
                let port = if args.mode == BenchMode::SipSign {
                    5060
                } else {
                    5062
                };
                SocketAddr::from(([127, 0, 0, 1], port))
            }),
            identities: Arc::clone(&pool),
            orig: args.orig.clone(),
            dest: args.dest.clone(),
        },
        BenchMode::Check => Work::Check {
            url: format!("{target}/v1/check"),
            mix: mix
                .clone()
                .context("the check mix is prepared for check runs")?,
            seed: rng.next_u64(),
        },
    };
    let done = Arc::new(AtomicU64::new(0));
    let measure_from = Instant::now() + WARMUP;
    let deadline = measure_from + Duration::from_secs(args.duration);
    let progress = (!args.quiet && !args.json).then(|| progress_bar(args.duration));
    // Each connection sends `pipeline` requests at a time (REST and checks).
    let per_send = match args.mode {
        BenchMode::RestSign | BenchMode::RestVerify | BenchMode::Check => args.pipeline.max(1),
        BenchMode::SipSign | BenchMode::SipVerify | BenchMode::SecsipidxVerify => 1,
    };
    let interval = args
        .rate
        .map(|r| Duration::from_secs_f64((args.connections * per_send) as f64 / r.max(1) as f64));
    let mut tasks = Vec::new();
    for worker in 0..args.connections {
        let (work, done, api_key) = (work.clone(), Arc::clone(&done), args.api_key.clone());
        let (orig, dest) = (args.orig.clone(), args.dest.clone());
        let latency = new_histogram()?;
        let pipeline = args.pipeline.max(1);
        tasks.push(tokio::spawn(async move {
            worker_loop(
                worker,
                work,
                api_key,
                orig,
                dest,
                done,
                measure_from,
                deadline,
                interval,
                latency,
                pipeline,
            )
            .await
        }));
    }
    if let Some(pb) = &progress {
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let measured = Instant::now().saturating_duration_since(measure_from);
            pb.set_position(measured.as_secs().min(args.duration));
            let n = done.load(Ordering::Relaxed);
            pb.set_message(format!(
                "{:.0}/s",
                n as f64 / measured.as_secs_f64().max(0.001)
            ));
        }
        pb.finish_and_clear();
    }
    let mut report = Report {
        ok: 0,
        errors: ErrorCounts::default(),
        elapsed: deadline - measure_from,
        latency: new_histogram()?,
        first_error: None,
        check: mix,
        answers: BTreeMap::new(),
    };
    for t in tasks {
        let w = t.await.context("worker")?;
        report.ok += w.ok;
        report.errors.merge(&w.errors);
        for (answer, n) in w.answers {
            *report.answers.entry(answer).or_default() += n;
        }
        report
            .latency
            .add(&w.latency)
            .context("merging latencies")?;
        if report.first_error.is_none() {
            report.first_error = w.first_error;
        }
    }
    Ok(report)
}

fn progress_bar(secs: u64) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(secs);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} [{bar:40}] {pos}/{len} s  {msg}")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}

fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    // Microseconds, 1 us .. 60 s, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).context("histogram")
}

struct WorkerResult {
    ok: u64,
    errors: ErrorCounts,
    latency: Histogram<u64>,
    first_error: Option<String>,
    answers: BTreeMap<&'static str, u64>,
}

#[allow(clippy::too_many_arguments)]
async fn worker_loop(
    worker: usize,
    work: Work,
    api_key: Option<String>,
    orig: String,
    dest: String,
    done: Arc<AtomicU64>,
    measure_from: Instant,
    deadline: Instant,
    interval: Option<Duration>,
    latency: Histogram<u64>,
    pipeline: usize,
) -> WorkerResult {
    let mut r = WorkerResult {
        ok: 0,
        errors: ErrorCounts::default(),
        latency,
        first_error: None,
        answers: BTreeMap::new(),
    };
    let mut http = match &work {
        Work::Rest { url, .. } | Work::Raw { url, .. } | Work::Check { url, .. } => {
            match split_url(url) {
                Ok((authority, path)) => Some((HttpConn::new(&authority), path)),
                Err(e) => {
                    r.errors.add(FailureKind::Transport);
                    r.first_error = Some(e);
                    return r;
                }
            }
        }
        Work::Sip { .. } => None,
    };
    let socket = match &work {
        Work::Sip { .. } => match tokio::net::UdpSocket::bind("127.0.0.1:0").await {
            Ok(s) => Some(s),
            Err(e) => {
                r.errors.add(FailureKind::Transport);
                r.first_error = Some(format!("UDP socket: {e}"));
                return r;
            }
        },
        Work::Rest { .. } | Work::Raw { .. } | Work::Check { .. } => None,
    };
    let mut rng = match &work {
        Work::Check { seed, .. } => Rng::new(seed.wrapping_add(worker as u64)),
        Work::Rest { .. } | Work::Raw { .. } | Work::Sip { .. } => Rng::new(0),
    };
    // Spread open-loop workers over the interval so they do not fire together.
    let mut next =
        Instant::now() + interval.map_or(Duration::ZERO, |i| i.mul_f64(worker as f64 / 64.0 % 1.0));
    let mut seq: u64 = 0;
    let mut buf = vec![0u8; 65_536];
    while Instant::now() < deadline {
        let scheduled = match interval {
            Some(i) => {
                let due = next;
                next += i;
                if Instant::now() < due {
                    // Idle until the request is due, with nothing in flight: whatever the
                    // timer wakes late (tokio's wheel ticks in milliseconds: about 1 ms, up
                    // to 2) is the generator's, not the server's. Count from the send.
                    tokio::time::sleep_until(due.into()).await;
                    Instant::now()
                } else {
                    // Behind: a late answer held this request back. Count from when it was
                    // due, so the stall shows as latency.
                    due
                }
            }
            None => Instant::now(),
        };
        seq += 1;
        let outcomes: Vec<Outcome> = match &work {
            Work::Rest {
                bodies,
                call_reason,
                ..
            } => {
                let body = if bodies.is_empty() {
                    signing_body(&orig, &dest, call_reason.as_deref()).to_string()
                } else {
                    bodies
                        .get(usize::try_from(seq).unwrap_or(0) % bodies.len())
                        .cloned()
                        .unwrap_or_default()
                };
                match http.as_mut() {
                    Some((conn, path)) if pipeline > 1 => {
                        let mut batch = vec![body];
                        for k in 1..pipeline {
                            let more = if bodies.is_empty() {
                                batch.first().cloned().unwrap_or_default()
                            } else {
                                let i = usize::try_from(seq).unwrap_or(0).wrapping_add(k * 7919)
                                    % bodies.len();
                                bodies.get(i).cloned().unwrap_or_default()
                            };
                            batch.push(more);
                        }
                        let refs: Vec<(&[u8], &str)> =
                            batch.iter().map(|b| (b.as_bytes(), "")).collect();
                        match conn
                            .post_pipelined(path, "application/json", &refs, api_key.as_deref())
                            .await
                        {
                            Ok(answers) => answers
                                .into_iter()
                                .map(|(status, body)| judge(status, &body).map(|()| None))
                                .collect(),
                            Err(e) => vec![Err(e.into())],
                        }
                    }
                    Some((conn, path)) => vec![
                        rest_call(conn, path, body, api_key.as_deref())
                            .await
                            .map(|()| None),
                    ],
                    None => vec![Err("no connection".to_owned().into())],
                }
            }
            Work::Check { mix, .. } => {
                let batch: Vec<_> = (0..pipeline).map(|_| mix.next(&mut rng)).collect();
                match http.as_mut() {
                    Some((conn, path)) => check_calls(conn, path, &batch, api_key.as_deref()).await,
                    None => vec![Err("no connection".to_owned().into())],
                }
            }
            Work::Raw { bodies, .. } => {
                let pick = usize::try_from(seq).unwrap_or(0) % bodies.len().max(1);
                vec![match http.as_mut() {
                    Some((conn, path)) => {
                        raw_call(conn, path, bodies.get(pick).cloned().unwrap_or_default())
                            .await
                            .map(|()| None)
                    }
                    None => Err("no connection".to_owned().into()),
                }]
            }
            Work::Sip {
                addr,
                identities,
                orig,
                dest,
            } => match &socket {
                Some(socket) => {
                    let identity = (!identities.is_empty())
                        .then(|| {
                            identities.get(usize::try_from(seq).unwrap_or(0) % identities.len())
                        })
                        .flatten();
                    vec![
                        sip_call(
                            socket,
                            *addr,
                            worker,
                            seq,
                            orig,
                            dest,
                            identity.map(String::as_str),
                            &mut buf,
                        )
                        .await
                        .map(|()| None),
                    ]
                }
                None => vec![Err("no socket".to_owned().into())],
            },
        };
        let finished = Instant::now();
        if scheduled < measure_from || finished > deadline {
            continue;
        }
        let us = u64::try_from(finished.duration_since(scheduled).as_micros()).unwrap_or(u64::MAX);
        for outcome in outcomes {
            match outcome {
                Ok(answer) => {
                    r.ok += 1;
                    done.fetch_add(1, Ordering::Relaxed);
                    let _ = r.latency.record(us.clamp(1, 60_000_000));
                    if let Some(answer) = answer {
                        *r.answers.entry(answer).or_default() += 1;
                    }
                }
                Err(e) => {
                    r.errors.add(e.kind);
                    if r.first_error.is_none() {
                        r.first_error = Some(e.detail);
                    }
                }
            }
        }
    }
    r
}

/// Whether a REST answer is a success for a benchmark of valid calls.
fn judge(status: u16, bytes: &[u8]) -> Result<(), Failure> {
    if !(200..300).contains(&status) {
        return Err(Failure::status(status, bytes));
    }
    let text = String::from_utf8_lossy(bytes);
    // A valid brand call whose brand is not shown is a failure too.
    if text.contains("verificationResponse")
        && (!text.contains("TN-Validation-Passed") || text.contains("brandWithheld"))
    {
        return Err(Failure::new(
            FailureKind::WrongAnswer,
            format!("not passed: {}", text.chars().take(200).collect::<String>()),
        ));
    }
    Ok(())
}

async fn rest_call(
    conn: &mut HttpConn,
    path: &str,
    body: String,
    api_key: Option<&str>,
) -> Result<(), Failure> {
    let (status, bytes) = conn
        .post(path, "application/json", body.as_bytes(), api_key, "")
        .await?;
    judge(status, &bytes)
}

/// Sends a batch of checks (pipelined when more than one) and judges each answer.
async fn check_calls(
    conn: &mut HttpConn,
    path: &str,
    batch: &[check::CheckRequest],
    api_key: Option<&str>,
) -> Vec<Outcome> {
    let judge =
        |(status, body): (u16, Vec<u8>), expect| check::classify(status, &body, expect).map(Some);
    match batch {
        [one] => vec![match conn
            .post(
                path,
                "application/json",
                one.body.as_bytes(),
                api_key,
                &one.headers,
            )
            .await
        {
            Ok(answer) => judge(answer, one.expect),
            Err(e) => Err(e.into()),
        }],
        _ => {
            let requests: Vec<(&[u8], &str)> = batch
                .iter()
                .map(|r| (r.body.as_bytes(), r.headers.as_str()))
                .collect();
            match conn
                .post_pipelined(path, "application/json", &requests, api_key)
                .await
            {
                Ok(answers) => answers
                    .into_iter()
                    .zip(batch)
                    .map(|(answer, r)| judge(answer, r.expect))
                    .collect(),
                Err(e) => vec![Err(e.into())],
            }
        }
    }
}

async fn raw_call(conn: &mut HttpConn, path: &str, body: String) -> Result<(), Failure> {
    let (status, bytes) = conn
        .post(path, "text/plain", body.as_bytes(), None, "")
        .await?;
    let text = String::from_utf8_lossy(&bytes);
    if (200..300).contains(&status) && text.trim() == "OK" {
        Ok(())
    } else if (200..300).contains(&status) {
        Err(Failure::new(
            FailureKind::WrongAnswer,
            text.chars().take(200).collect::<String>(),
        ))
    } else {
        Err(Failure::status(status, &bytes))
    }
}

#[allow(clippy::too_many_arguments)]
async fn sip_call(
    socket: &tokio::net::UdpSocket,
    addr: SocketAddr,
    worker: usize,
    seq: u64,
    orig: &str,
    dest: &str,
    identity: Option<&str>,
    buf: &mut [u8],
) -> Result<(), Failure> {
    let local = socket.local_addr().map_err(|e| e.to_string())?;
    let call_id = format!("bench-{worker}-{seq}-{}", std::process::id());
    let identity = identity
        .map(|i| format!("Identity: {i}\r\n"))
        .unwrap_or_default();
    let invite = format!(
        "INVITE sip:+{dest}@{addr};user=phone SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK{worker}x{seq};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:+{orig}@{local};user=phone>;tag=b{worker}\r\n\
         To: <sip:+{dest}@{addr};user=phone>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:bench@{local}>\r\n\
         {identity}Content-Length: 0\r\n\r\n"
    );
    socket
        .send_to(invite.as_bytes(), addr)
        .await
        .map_err(|e| e.to_string())?;
    let wait = async {
        loop {
            let (n, _) = socket.recv_from(buf).await.map_err(|e| e.to_string())?;
            let text = String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned();
            if !text.contains(&call_id) {
                continue; // a late answer to an earlier, timed-out request
            }
            let first = text.lines().next().unwrap_or_default().to_owned();
            return if !text.starts_with("SIP/2.0 302") {
                Err(Failure::new(FailureKind::Status, first))
            } else if text.contains("TN-Validation-Failed") || text.contains("No-TN-Validation") {
                Err(Failure::new(FailureKind::WrongAnswer, first))
            } else {
                Ok(())
            };
        }
    };
    tokio::time::timeout(TIMEOUT, wait)
        .await
        .map_err(|_| Failure::from("SIP timeout".to_owned()))?
}

/// Signs a pool of PASSporTs through the REST API for verification runs.
async fn sign_pool(
    client: &reqwest::Client,
    target: &str,
    args: &BenchArgs,
) -> anyhow::Result<Vec<String>> {
    let url = format!("{target}/stir/v1/signing");
    let mut out = Vec::with_capacity(POOL);
    for _ in 0..POOL {
        let body = signing_body(&args.orig, &args.dest, args.call_reason.as_deref());
        let mut req = client.post(&url).json(&body);
        if let Some(key) = &args.api_key {
            req = req.bearer_auth(key);
        }
        let resp: Value = req
            .send()
            .await
            .with_context(|| format!("signing PASSporTs for the run at {url}"))?
            .json()
            .await
            .context("signing response")?;
        let identity = resp
            .pointer("/signingResponse/identity")
            .and_then(Value::as_str)
            .with_context(|| format!("no identity in {resp}"))?;
        out.push(identity.to_owned());
    }
    Ok(out)
}

fn unix_now() -> i64 {
    super::unix_now()
}

/// An ATIS signing request for `orig` -> `dest` issued now, with `callReason` when given.
fn signing_body(orig: &str, dest: &str, call_reason: Option<&str>) -> Value {
    let mut request = json!({
        "attest": "A", "dest": {"tn": [dest]}, "iat": unix_now(), "orig": {"tn": orig},
        "origid": "123e4567-e89b-12d3-a456-426655440000"
    });
    if let (Some(reason), Some(map)) = (call_reason, request.as_object_mut()) {
        map.insert("callReason".into(), json!(reason));
    }
    json!({ "signingRequest": request })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_is_judged_only_at_a_fixed_rate_of_at_least_its_own() {
        assert_eq!(Target::judge(None, 9_000.0, 1.0, 0).met, None);
        assert_eq!(Target::judge(Some(1_000), 1_000.0, 1.0, 0).met, None);
        let t = Target::judge(Some(5_000), 4_990.0, 2.5, 0);
        assert_eq!(t.met, Some(true), "{}", t.why);
    }

    #[test]
    fn the_target_is_missed_by_slowness_latency_or_errors() {
        let slow = Target::judge(Some(5_000), 4_000.0, 2.0, 0);
        assert_eq!(slow.met, Some(false));
        assert!(slow.why.contains("4000/s achieved"), "{}", slow.why);
        let late = Target::judge(Some(5_000), 5_000.0, 10.0, 0);
        assert_eq!(late.met, Some(false));
        assert!(late.why.contains("p99 10.00 ms"), "{}", late.why);
        let wrong = Target::judge(Some(5_000), 5_000.0, 1.0, 3);
        assert_eq!(wrong.met, Some(false));
        assert!(wrong.why.contains("3 errors"), "{}", wrong.why);
    }

    #[test]
    fn errors_are_counted_by_kind() {
        let mut a = ErrorCounts::default();
        a.add(Failure::status(429, b"slow down").kind);
        a.add(Failure::status(503, b"").kind);
        a.add(Failure::from("connection closed".to_owned()).kind);
        let mut b = ErrorCounts::default();
        b.add(FailureKind::WrongAnswer);
        b.add(FailureKind::WrongAnswer);
        a.merge(&b);
        assert_eq!(a.total(), 5);
        assert_eq!(
            a.to_json(),
            json!({"rate_limited": 1, "http_status": 1, "wrong_answer": 2, "transport": 1})
        );
    }

    #[test]
    fn a_verification_that_did_not_pass_is_a_wrong_answer() {
        let failed = br#"{"verificationResponse":{"verstat":"TN-Validation-Failed"}}"#;
        assert_eq!(
            judge(200, failed).unwrap_err().kind,
            FailureKind::WrongAnswer
        );
        assert_eq!(judge(429, b"").unwrap_err().kind, FailureKind::RateLimited);
        let passed = br#"{"verificationResponse":{"verstat":"TN-Validation-Passed"}}"#;
        assert!(judge(200, passed).is_ok());
    }
}
