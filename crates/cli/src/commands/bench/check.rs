//! `callproof bench --mode check`: the request mix of customers' call checks
//! (`POST /v1/check`) and the setup it needs (a brand, its listed numbers, registered calls).
//!
//! A share of the checks ask about calls registered before timing and must answer
//! "calling-now"; the rest ask about random called numbers and must answer "not-us". Each
//! comes from one of many client addresses, sent in `X-Forwarded-For` as a load balancer
//! would, so the per-client limits see many customers rather than one load generator.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use super::{Failure, FailureKind};
use crate::args::BenchArgs;

/// The target: checks per second sustained...
pub(super) const TARGET_RATE: u64 = 5_000;
/// ...with the 99th percentile of latency under this.
pub(super) const TARGET_P99_MS: f64 = 10.0;

/// The brand's listed numbers (inside the development customer's range): the calling
/// number of every check.
const LISTED_START: u64 = 12_155_559_000;
const LISTED_COUNT: u64 = 100;
/// Called numbers of registered calls: `+19..` (start, count).
const REGISTERED_CALLED: (u64, u64) = (19_000_000_000, 1_000_000_000);
/// Called numbers of the other checks: `+12..` to `+18..`, never a registered one.
const RANDOM_CALLED: (u64, u64) = (12_000_000_000, 7_000_000_000);
/// The reason registered calls are made for.
const CALL_REASON: &str = "fraud-alert";
/// Registrations in flight during setup.
const SETUP_CONCURRENCY: usize = 16;
/// How long setup waits for the server's brand policy to show a new brand.
const SETUP_PATIENCE: Duration = Duration::from_secs(10);

/// What a check must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expect {
    /// A registered pair: the brand is calling now.
    CallingNow,
    /// A random pair: not the brand.
    NotUs,
}

impl Expect {
    /// The answer's name in the API.
    pub(super) const fn as_str(self) -> &'static str {
        match self {
            Self::CallingNow => "calling-now",
            Self::NotUs => "not-us",
        }
    }
}

/// One check to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CheckRequest {
    /// The JSON body.
    pub(super) body: String,
    /// Extra header lines (`X-Forwarded-For`), each ending in CRLF.
    pub(super) headers: String,
    /// What the server must answer.
    pub(super) expect: Expect,
}

/// A call's calling and called numbers, as digits (`+` and these digits on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pair {
    /// The brand's listed number.
    pub(super) calling: u64,
    /// The customer's number.
    pub(super) called: u64,
}

/// The checks of a run: which pairs, from which clients.
#[derive(Debug)]
pub(super) struct CheckMix {
    brand: String,
    registered: Vec<Pair>,
    share: f64,
    clients: u32,
    /// Registered pairs are taken in turn, so each is checked equally often and none
    /// reaches the per-number limit before the others.
    next_registered: AtomicUsize,
}

impl CheckMix {
    /// Checks of `brand`: `share` (0..1) of them on the `registered` pairs, the rest on
    /// random called numbers; from `clients` addresses.
    pub(super) fn new(brand: &str, registered: Vec<Pair>, share: f64, clients: u32) -> Self {
        Self {
            brand: brand.to_owned(),
            registered,
            share: share.clamp(0.0, 1.0),
            clients: clients.max(1),
            next_registered: AtomicUsize::new(0),
        }
    }

    /// Registered pairs.
    pub(super) fn registered(&self) -> usize {
        self.registered.len()
    }

    /// The next check to send.
    pub(super) fn next(&self, rng: &mut Rng) -> CheckRequest {
        let turn = (!self.registered.is_empty() && rng.unit() < self.share)
            .then(|| self.next_registered.fetch_add(1, Ordering::Relaxed) % self.registered.len())
            .and_then(|i| self.registered.get(i).copied());
        let (pair, expect) = match turn {
            Some(pair) => (pair, Expect::CallingNow),
            None => (
                Pair {
                    calling: LISTED_START + rng.below(LISTED_COUNT),
                    called: RANDOM_CALLED.0 + rng.below(RANDOM_CALLED.1),
                },
                Expect::NotUs,
            ),
        };
        let client = client_address(rng.below(u64::from(self.clients)));
        CheckRequest {
            body: json!({
                "brand": self.brand,
                "callingNumber": format!("+{}", pair.calling),
                "calledNumber": format!("+{}", pair.called),
            })
            .to_string(),
            headers: format!("X-Forwarded-For: {client}\r\n"),
            expect,
        }
    }
}

/// The `i`th client address: `10.x.y.z`.
pub(super) fn client_address(i: u64) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff)
}

/// The `answer` of a check's JSON answer.
fn answer_of(body: &[u8]) -> Option<String> {
    // The server writes compact JSON: find the key without parsing the whole answer.
    const KEY: &[u8] = b"\"answer\":\"";
    let fast = body
        .windows(KEY.len())
        .position(|w| w == KEY)
        .and_then(|at| body.get(at + KEY.len()..))
        .and_then(|rest| {
            let end = rest.iter().position(|&b| b == b'"')?;
            std::str::from_utf8(rest.get(..end)?).ok()
        });
    match fast {
        Some(answer) => Some(answer.to_owned()),
        None => serde_json::from_slice::<Value>(body)
            .ok()?
            .get("answer")?
            .as_str()
            .map(str::to_owned),
    }
}

/// Judges a check's answer: the answer's name when it is the one expected.
pub(super) fn classify(status: u16, body: &[u8], expect: Expect) -> Result<&'static str, Failure> {
    let clip = || {
        String::from_utf8_lossy(body)
            .chars()
            .take(200)
            .collect::<String>()
    };
    match status {
        200 => {}
        429 => {
            return Err(Failure::new(
                FailureKind::RateLimited,
                format!("HTTP 429: {}", clip()),
            ));
        }
        _ => {
            return Err(Failure::new(
                FailureKind::Status,
                format!("HTTP {status}: {}", clip()),
            ));
        }
    }
    match answer_of(body) {
        Some(answer) if answer == expect.as_str() => Ok(expect.as_str()),
        Some(answer) => Err(Failure::new(
            FailureKind::WrongAnswer,
            format!("expected {}, got {answer}: {}", expect.as_str(), clip()),
        )),
        None => Err(Failure::new(
            FailureKind::WrongAnswer,
            format!("no answer in {}", clip()),
        )),
    }
}

/// A small, fast generator (SplitMix64) for the mix: one per worker, no locks.
#[derive(Debug, Clone)]
pub(super) struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub(super) const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A generator seeded from the system's randomness.
    pub(super) fn from_entropy() -> Self {
        let mut bytes = [0u8; 8];
        if aws_lc_rs::rand::fill(&mut bytes).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            return Self(u64::from(nanos) << 32 | u64::from(std::process::id()));
        }
        Self(u64::from_le_bytes(bytes))
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`0` when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Before timing: creates the brand and its listed numbers if absent, registers
/// `--registered` calls, and returns the mix of checks over them.
pub(super) async fn prepare(
    client: &reqwest::Client,
    target: &str,
    args: &BenchArgs,
    rng: &mut Rng,
) -> anyhow::Result<CheckMix> {
    if !(0.0..=1.0).contains(&args.registered_share) {
        bail!("--registered-share is a share: between 0 and 1");
    }
    let api = Api {
        client: client.clone(),
        target: target.to_owned(),
        api_key: args.api_key.clone(),
    };
    let slug = &args.brand;
    api.create(
        "/v1/brands",
        &json!({
            "slug": slug, "customer": "development", "legalName": "Bench Bank plc",
            "displayName": "Bench Bank", "callback": "+18005550199",
            "callReasons": [{"code": CALL_REASON, "text": "Card fraud alert"}],
        }),
    )
    .await?;
    api.create(
        &format!("/v1/brands/{slug}/numbers"),
        &json!({"kind": "listed", "numbers": [{"start": LISTED_START.to_string(), "count": LISTED_COUNT}]}),
    )
    .await?;
    let pairs: Vec<Pair> = (0..args.registered as u64)
        .map(|i| Pair {
            calling: LISTED_START + i % LISTED_COUNT,
            called: REGISTERED_CALLED.0 + rng.below(REGISTERED_CALLED.1),
        })
        .collect();
    let url = format!("/v1/brands/{slug}/calls");
    // The first registration waits for the server's brand policy to show the brand and
    // its numbers; the rest go in parallel.
    if let Some(first) = pairs.first() {
        let started = Instant::now();
        loop {
            match api.register(&url, first).await? {
                None => break,
                Some(why) if started.elapsed() > SETUP_PATIENCE => {
                    bail!("registering a call for brand {slug:?}: {why}")
                }
                Some(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
    let rest = pairs.get(1..).unwrap_or_default();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in rest.chunks(rest.len().div_ceil(SETUP_CONCURRENCY).max(1)) {
        let (api, url, chunk) = (api.clone(), url.clone(), chunk.to_vec());
        tasks.spawn(async move {
            for pair in &chunk {
                if let Some(why) = api.register(&url, pair).await? {
                    bail!("registering a call: {why}");
                }
            }
            Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("registering calls")??;
    }
    Ok(CheckMix::new(
        slug,
        pairs,
        args.registered_share,
        args.clients,
    ))
}

/// The REST API, for setup.
#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    target: String,
    api_key: Option<String>,
}

impl Api {
    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<(u16, String)> {
        let url = format!("{}{path}", self.target);
        let mut req = self.client.post(&url).json(body);
        if let Some(key) = &self.api_key {
            req = req.bearer_auth(key);
        }
        let resp = req.send().await.with_context(|| format!("POST {url}"))?;
        let status = resp.status().as_u16();
        Ok((status, resp.text().await.unwrap_or_default()))
    }

    /// Creates something; that it exists already (409) is as good.
    async fn create(&self, path: &str, body: &Value) -> anyhow::Result<()> {
        match self.post(path, body).await? {
            (200..=299 | 409, _) => Ok(()),
            (status, text) => bail!("POST {path}: HTTP {status}: {text}"),
        }
    }

    /// Registers the call `pair`: `None` when done, else why not.
    async fn register(&self, path: &str, pair: &Pair) -> anyhow::Result<Option<String>> {
        let body = json!({
            "callingNumber": format!("+{}", pair.calling),
            "calledNumber": format!("+{}", pair.called),
            "reason": CALL_REASON,
            "agent": {"firstName": "Sam"},
        });
        Ok(match self.post(path, &body).await? {
            (201, _) => None,
            (status, text) => Some(format!("HTTP {status}: {text}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mix(registered: usize, share: f64, clients: u32) -> CheckMix {
        let pairs = (0..registered as u64)
            .map(|i| Pair {
                calling: LISTED_START + i % LISTED_COUNT,
                called: REGISTERED_CALLED.0 + i,
            })
            .collect();
        CheckMix::new("bench-bank", pairs, share, clients)
    }

    fn body(r: &CheckRequest) -> Value {
        serde_json::from_str(&r.body).unwrap()
    }

    #[test]
    fn the_share_of_registered_pairs_is_as_asked() {
        let m = mix(100, 0.2, 1000);
        let mut rng = Rng::new(7);
        let n = 100_000;
        let registered = (0..n)
            .filter(|_| m.next(&mut rng).expect == Expect::CallingNow)
            .count();
        let share = registered as f64 / f64::from(n);
        assert!((share - 0.2).abs() < 0.01, "{share}");
    }

    #[test]
    fn registered_checks_ask_about_registered_pairs_in_turn() {
        let m = mix(10, 1.0, 1000);
        let mut rng = Rng::new(1);
        let mut counts = std::collections::HashMap::new();
        for _ in 0..1000 {
            let r = m.next(&mut rng);
            assert_eq!(r.expect, Expect::CallingNow);
            let b = body(&r);
            let called = b["calledNumber"].as_str().unwrap().to_owned();
            let i = called.trim_start_matches('+').parse::<u64>().unwrap() - REGISTERED_CALLED.0;
            assert_eq!(
                b["callingNumber"].as_str().unwrap(),
                format!("+{}", LISTED_START + i % LISTED_COUNT)
            );
            *counts.entry(called).or_insert(0) += 1;
        }
        // Each pair equally often: none reaches a per-number limit before the others.
        assert_eq!(counts.len(), 10);
        assert!(counts.values().all(|&c| c == 100), "{counts:?}");
    }

    #[test]
    fn random_checks_never_name_a_registered_number() {
        let m = mix(10, 0.0, 1000);
        let mut rng = Rng::new(3);
        let mut called = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let r = m.next(&mut rng);
            assert_eq!(r.expect, Expect::NotUs);
            let b = body(&r);
            assert_eq!(b["brand"], "bench-bank");
            let calling: u64 = b["callingNumber"].as_str().unwrap()[1..].parse().unwrap();
            assert!((LISTED_START..LISTED_START + LISTED_COUNT).contains(&calling));
            let n: u64 = b["calledNumber"].as_str().unwrap()[1..].parse().unwrap();
            assert!((RANDOM_CALLED.0..RANDOM_CALLED.0 + RANDOM_CALLED.1).contains(&n));
            assert!(!(REGISTERED_CALLED.0..REGISTERED_CALLED.0 + REGISTERED_CALLED.1).contains(&n));
            called.insert(n);
        }
        // A large space: practically every check names a number of its own.
        assert!(called.len() > 9_990, "{}", called.len());
    }

    #[test]
    fn without_registered_pairs_every_check_is_random() {
        let m = mix(0, 1.0, 10);
        let mut rng = Rng::new(5);
        assert!((0..100).all(|_| m.next(&mut rng).expect == Expect::NotUs));
    }

    #[test]
    fn clients_come_from_the_pool_in_x_forwarded_for() {
        let m = mix(0, 0.0, 300);
        let mut rng = Rng::new(9);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..20_000 {
            let r = m.next(&mut rng);
            let ip = r
                .headers
                .strip_prefix("X-Forwarded-For: ")
                .and_then(|h| h.strip_suffix("\r\n"))
                .unwrap();
            let ip: std::net::Ipv4Addr = ip.parse().unwrap();
            assert_eq!(ip.octets()[0], 10);
            seen.insert(ip);
        }
        assert_eq!(seen.len(), 300);
    }

    #[test]
    fn client_addresses_are_distinct_across_the_pool() {
        assert_eq!(client_address(0), "10.0.0.0");
        assert_eq!(client_address(1), "10.0.0.1");
        assert_eq!(client_address(256), "10.0.1.0");
        assert_eq!(client_address(99_999), "10.1.134.159");
        let all: std::collections::HashSet<_> = (0..100_000).map(client_address).collect();
        assert_eq!(all.len(), 100_000);
    }

    #[test]
    fn the_expected_answer_is_success() {
        let calling =
            br#"{"brand":{"slug":"bench-bank"},"answer":"calling-now","callingNumber":"12155559000"}"#;
        assert_eq!(
            classify(200, calling, Expect::CallingNow).unwrap(),
            "calling-now"
        );
        let not_us = br#"{"answer":"not-us","callingNumber":null}"#;
        assert_eq!(classify(200, not_us, Expect::NotUs).unwrap(), "not-us");
        // Spaced JSON from some other writer is read too.
        let spaced = br#"{ "answer" : "not-us" }"#;
        assert_eq!(classify(200, spaced, Expect::NotUs).unwrap(), "not-us");
    }

    #[test]
    fn a_wrong_answer_is_an_error() {
        let not_us = br#"{"answer":"not-us"}"#;
        let e = classify(200, not_us, Expect::CallingNow).unwrap_err();
        assert_eq!(e.kind, FailureKind::WrongAnswer);
        assert!(
            e.detail.contains("expected calling-now, got not-us"),
            "{}",
            e.detail
        );
        let recently = br#"{"answer":"called-recently"}"#;
        let e = classify(200, recently, Expect::NotUs).unwrap_err();
        assert_eq!(e.kind, FailureKind::WrongAnswer);
        let e = classify(200, b"{}", Expect::NotUs).unwrap_err();
        assert_eq!(e.kind, FailureKind::WrongAnswer);
        let e = classify(200, b"not json", Expect::NotUs).unwrap_err();
        assert_eq!(e.kind, FailureKind::WrongAnswer);
    }

    #[test]
    fn rate_limits_and_other_statuses_are_errors_of_their_own_kinds() {
        let problem =
            br#"{"type":"about:blank","status":429,"detail":"too many checks from this address"}"#;
        let e = classify(429, problem, Expect::NotUs).unwrap_err();
        assert_eq!(e.kind, FailureKind::RateLimited);
        assert!(e.detail.starts_with("HTTP 429"), "{}", e.detail);
        // Even with an answer-like body, a non-200 status is not success.
        let e = classify(404, br#"{"answer":"not-us"}"#, Expect::NotUs).unwrap_err();
        assert_eq!(e.kind, FailureKind::Status);
        let e = classify(500, b"", Expect::CallingNow).unwrap_err();
        assert_eq!(e.kind, FailureKind::Status);
    }

    #[test]
    fn the_generator_is_uniform_enough() {
        let mut rng = Rng::new(11);
        let mut buckets = [0u32; 10];
        for _ in 0..100_000 {
            buckets[usize::try_from(rng.below(10)).unwrap()] += 1;
        }
        assert!(
            buckets.iter().all(|&b| (9_500..10_500).contains(&b)),
            "{buckets:?}"
        );
        assert!((0..1000).all(|_| (0.0..1.0).contains(&rng.unit())));
    }
}
