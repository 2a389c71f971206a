//! `callproof bench`: load against a running server, measured against the ECDSA ceiling of
//! this machine measured in the same process.
//!
//! Each of `--connections` workers keeps one request in flight. Closed loop by default; with
//! `--rate` the offered load is fixed and latency is measured from each request's scheduled
//! send time, so a stalled server shows up as latency instead of hiding as lower load.

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
    let per_core = match args.mode {
        BenchMode::RestSign | BenchMode::SipSign => ceiling.sign_per_sec,
        BenchMode::RestVerify | BenchMode::SipVerify | BenchMode::SecsipidxVerify => {
            ceiling.verify_per_sec
        }
    };
    let ceiling_total = per_core * cores as f64;
    let throughput = report.ok as f64 / report.elapsed.as_secs_f64();
    let q = |p: f64| report.latency.value_at_quantile(p) as f64 / 1000.0;
    let out = json!({
        "mode": format!("{:?}", args.mode),
        "connections": args.connections,
        "duration_secs": report.elapsed.as_secs_f64(),
        "offered_rate": args.rate,
        "requests_ok": report.ok,
        "errors": report.errors,
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
    if args.json {
        super::print_line(&serde_json::to_string(&out)?)?;
    } else {
        super::print_line(&format!(
            "{:?}: {} ok, {} errors in {:.1} s with {} connections{}\n  throughput   {:>10.0} /s\n  latency      p50 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  max {:.3} ms\n  ceiling      {:>10.0} /s  (raw ES256 {} {:.0}/s per core x {} cores, measured now)\n  ratio        {:.3}",
            args.mode,
            report.ok,
            report.errors,
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
        if let Some(e) = &report.first_error {
            super::print_line(&format!("  first error  {e}"))?;
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

struct Report {
    ok: u64,
    errors: u64,
    elapsed: Duration,
    latency: Histogram<u64>,
    first_error: Option<String>,
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
    };
    let done = Arc::new(AtomicU64::new(0));
    let measure_from = Instant::now() + WARMUP;
    let deadline = measure_from + Duration::from_secs(args.duration);
    let progress = (!args.quiet && !args.json).then(|| progress_bar(args.duration));
    // Each connection sends `pipeline` requests at a time (REST only).
    let per_send = match args.mode {
        BenchMode::RestSign | BenchMode::RestVerify => args.pipeline.max(1),
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
        errors: 0,
        elapsed: deadline - measure_from,
        latency: new_histogram()?,
        first_error: None,
    };
    for t in tasks {
        let w = t.await.context("worker")?;
        report.ok += w.ok;
        report.errors += w.errors;
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
    errors: u64,
    latency: Histogram<u64>,
    first_error: Option<String>,
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
        errors: 0,
        latency,
        first_error: None,
    };
    let mut http = match &work {
        Work::Rest { url, .. } | Work::Raw { url, .. } => match split_url(url) {
            Ok((authority, path)) => Some((HttpConn::new(&authority), path)),
            Err(e) => {
                r.errors += 1;
                r.first_error = Some(e);
                return r;
            }
        },
        Work::Sip { .. } => None,
    };
    let socket = match &work {
        Work::Sip { .. } => match tokio::net::UdpSocket::bind("127.0.0.1:0").await {
            Ok(s) => Some(s),
            Err(e) => {
                r.errors += 1;
                r.first_error = Some(format!("UDP socket: {e}"));
                return r;
            }
        },
        Work::Rest { .. } | Work::Raw { .. } => None,
    };
    // Spread open-loop workers over the interval so they do not fire together.
    let mut next =
        Instant::now() + interval.map_or(Duration::ZERO, |i| i.mul_f64(worker as f64 / 64.0 % 1.0));
    let mut seq: u64 = 0;
    let mut buf = vec![0u8; 65_536];
    while Instant::now() < deadline {
        let scheduled = match interval {
            Some(i) => {
                tokio::time::sleep_until(next.into()).await;
                let s = next;
                next += i;
                s
            }
            None => Instant::now(),
        };
        seq += 1;
        let outcomes: Vec<Result<(), String>> = match &work {
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
                        let refs: Vec<&[u8]> = batch.iter().map(String::as_bytes).collect();
                        match conn
                            .post_pipelined(path, "application/json", &refs, api_key.as_deref())
                            .await
                        {
                            Ok(answers) => Batch(
                                answers
                                    .into_iter()
                                    .map(|(status, body)| judge(status, &body))
                                    .collect(),
                            ),
                            Err(e) => Batch(vec![Err(e)]),
                        }
                    }
                    Some((conn, path)) => {
                        Batch(vec![rest_call(conn, path, body, api_key.as_deref()).await])
                    }
                    None => Batch(vec![Err("no connection".into())]),
                }
                .0
            }
            Work::Raw { bodies, .. } => {
                let pick = usize::try_from(seq).unwrap_or(0) % bodies.len().max(1);
                vec![match http.as_mut() {
                    Some((conn, path)) => {
                        raw_call(conn, path, bodies.get(pick).cloned().unwrap_or_default()).await
                    }
                    None => Err("no connection".into()),
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
                        .await,
                    ]
                }
                None => vec![Err("no socket".into())],
            },
        };
        let finished = Instant::now();
        if scheduled < measure_from || finished > deadline {
            continue;
        }
        let us = u64::try_from(finished.duration_since(scheduled).as_micros()).unwrap_or(u64::MAX);
        for outcome in outcomes {
            match outcome {
                Ok(()) => {
                    r.ok += 1;
                    done.fetch_add(1, Ordering::Relaxed);
                    let _ = r.latency.record(us.clamp(1, 60_000_000));
                }
                Err(e) => {
                    r.errors += 1;
                    if r.first_error.is_none() {
                        r.first_error = Some(e);
                    }
                }
            }
        }
    }
    r
}

/// The outcomes of one pipelined batch.
struct Batch(Vec<Result<(), String>>);

/// Whether a REST answer is a success for a benchmark of valid calls.
fn judge(status: u16, bytes: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(bytes);
    if !(200..300).contains(&status) {
        return Err(format!(
            "HTTP {status}: {}",
            text.chars().take(200).collect::<String>()
        ));
    }
    // A valid brand call whose brand is not shown is a failure too.
    if text.contains("verificationResponse")
        && (!text.contains("TN-Validation-Passed") || text.contains("brandWithheld"))
    {
        return Err(format!(
            "not passed: {}",
            text.chars().take(200).collect::<String>()
        ));
    }
    Ok(())
}

async fn rest_call(
    conn: &mut HttpConn,
    path: &str,
    body: String,
    api_key: Option<&str>,
) -> Result<(), String> {
    let (status, bytes) = conn
        .post(path, "application/json", body.as_bytes(), api_key)
        .await?;
    judge(status, &bytes)
}

async fn raw_call(conn: &mut HttpConn, path: &str, body: String) -> Result<(), String> {
    let (status, bytes) = conn.post(path, "text/plain", body.as_bytes(), None).await?;
    let text = String::from_utf8_lossy(&bytes);
    if (200..300).contains(&status) && text.trim() == "OK" {
        Ok(())
    } else {
        Err(format!(
            "HTTP {status}: {}",
            text.chars().take(200).collect::<String>()
        ))
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
) -> Result<(), String> {
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
            return if text.starts_with("SIP/2.0 302")
                && !text.contains("TN-Validation-Failed")
                && !text.contains("No-TN-Validation")
            {
                Ok(())
            } else {
                Err(text.lines().next().unwrap_or_default().to_owned())
            };
        }
    };
    tokio::time::timeout(TIMEOUT, wait)
        .await
        .map_err(|_| "SIP timeout".to_owned())?
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
