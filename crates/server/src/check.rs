//! Customers' call checks, shared by `POST /v1/check` and the check pages: who the client
//! is (behind trusted proxies), the rate limits, the registry lookup and the answer.
//!
//! Every check of a calling/called pair does the same work whatever the answer: two
//! counters bumped, one indexed read of the brand's calls to that number. So neither the
//! answer's shape nor its timing says whether the number belongs to one of the brand's
//! customers.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::http::HeaderMap;
use engine::brand::{BrandCache, BrandInfo};
use engine::call_check::{self, Answer, CallCode, CheckWindows};
use engine::rate_limit::{Counter, RateLimiter};
use passport::TelephoneNumber;
use store::{CallReason, CallRecord, Store, StoreError};

use crate::config::CheckConfig;
use crate::metrics::Metrics;

/// Calls read per check at most: a number called more often than this in a day shows the
/// newest.
const CALLS_PER_CHECK: u32 = 50;

/// What a customer asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Is the brand calling `called` from `calling` (the number on the screen)?
    Pair {
        /// The number the customer sees.
        calling: TelephoneNumber,
        /// The customer's own number.
        called: TelephoneNumber,
    },
    /// The code an agent read out.
    Code(CallCode),
}

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The brand is calling now (or the code is one of its calls, just used).
    CallingNow(Found),
    /// The brand called recently.
    CalledRecently(Found),
    /// No such call: whoever is calling is not the brand.
    NotUs,
    /// The code does not work: unknown, used already, or expired.
    CodeInvalid,
}

impl Finding {
    /// The name used in APIs and metrics.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::CallingNow(_) => "calling-now",
            Self::CalledRecently(_) => "called-recently",
            Self::NotUs => "not-us",
            Self::CodeInvalid => "code-invalid",
        }
    }
}

/// A call the check found, as the customer may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The number it is made from.
    pub calling: TelephoneNumber,
    /// Its reason, if it has one.
    pub reason: Option<CallReason>,
    /// The agent's first name, if the dialler gave it.
    pub agent: Option<String>,
    /// Unix seconds it started.
    pub started_at: i64,
}

/// A check's answer.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The brand asked about.
    pub brand: Arc<BrandInfo>,
    /// What was found.
    pub finding: Finding,
}

/// Why a check got no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// No brand has this slug.
    #[error("brand {0:?} does not exist")]
    UnknownBrand(String),
    /// A rate limit was reached.
    #[error("too many requests {what}; try again in {retry_after} seconds")]
    Limited {
        /// "from this address", "for this number", "of codes from this address".
        what: &'static str,
        /// Seconds until the window ends.
        retry_after: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The check service.
#[derive(Debug)]
pub struct Checker {
    store: Arc<dyn Store>,
    brands: Arc<BrandCache>,
    limiter: Arc<dyn RateLimiter>,
    config: CheckConfig,
    metrics: Arc<Metrics>,
    /// Unix seconds of the last warning that the limiter failed (one a minute at most).
    limiter_warned: std::sync::atomic::AtomicI64,
}

impl Checker {
    /// A checker reading `store`'s registry for the brands of `brands`.
    pub fn new(
        store: Arc<dyn Store>,
        brands: Arc<BrandCache>,
        limiter: Arc<dyn RateLimiter>,
        config: CheckConfig,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            store,
            brands,
            limiter,
            config,
            metrics,
            limiter_warned: std::sync::atomic::AtomicI64::new(i64::MIN),
        }
    }

    /// The windows in force.
    pub fn windows(&self) -> CheckWindows {
        CheckWindows {
            now_secs: self.config.now_window_secs,
            recent_secs: self.config.recent_window_secs,
        }
    }

    /// The client a request comes from: the peer, or, when the peer is a trusted proxy, the
    /// last address in `X-Forwarded-For` that is not one.
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let trusted = |ip: &IpAddr| self.config.trusted_proxies.iter().any(|n| n.contains(ip));
        let peer = peer.ip().to_canonical();
        if !trusted(&peer) {
            return peer;
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        forwarded
            .iter()
            .rev()
            .filter_map(|s| s.parse::<IpAddr>().ok().map(|ip| ip.to_canonical()))
            .find(|ip| !trusted(ip))
            .unwrap_or(peer)
    }

    /// Answers a customer's check of `slug` from `client` at `now`.
    pub async fn check(
        &self,
        slug: &str,
        query: &Query,
        client: IpAddr,
        now: i64,
    ) -> Result<Outcome, CheckError> {
        let brand = self
            .brands
            .get()
            .by_slug(slug)
            .cloned()
            .ok_or_else(|| CheckError::UnknownBrand(slug.chars().take(64).collect()))?;
        let client_key = format!("check:client:{client}");
        let finding = match query {
            Query::Pair { calling, called } => {
                let number_key = format!("check:tn:{}:{}", brand.brand.id, called.as_str());
                self.limit(
                    &[
                        (&client_key, 60, self.config.per_client_per_minute, "client"),
                        (&number_key, 60, self.config.per_number_per_minute, "number"),
                    ],
                    now,
                )
                .await?;
                let since = now - self.config.recent_window_secs;
                let calls = self
                    .store
                    .calls_to(brand.brand.id, called, since, CALLS_PER_CHECK)
                    .await?;
                match call_check::answer(&calls, calling, now, &self.windows()) {
                    Answer::CallingNow(c) => Finding::CallingNow(found(&brand, c)),
                    Answer::CalledRecently(c) => Finding::CalledRecently(found(&brand, c)),
                    Answer::NotUs => Finding::NotUs,
                }
            }
            Query::Code(code) => {
                let code_key = format!("check:code:{client}");
                self.limit(
                    &[
                        (&client_key, 60, self.config.per_client_per_minute, "client"),
                        (&code_key, 600, self.config.code_attempts_per_client, "code"),
                    ],
                    now,
                )
                .await?;
                match self
                    .store
                    .redeem_code(brand.brand.id, &code.digest(brand.brand.id), now)
                    .await?
                {
                    Some(c) => Finding::CallingNow(found(&brand, &c)),
                    None => Finding::CodeInvalid,
                }
            }
        };
        self.metrics
            .observe_check(&brand.brand.slug, finding.as_str());
        Ok(Outcome { brand, finding })
    }

    /// Counts a report from `client` at `now`, refusing it past the hourly limit.
    pub async fn limit_report(&self, client: IpAddr, now: i64) -> Result<(), CheckError> {
        let key = format!("report:client:{client}");
        self.limit(
            &[(
                &key,
                3600,
                self.config.reports_per_client_per_hour,
                "report",
            )],
            now,
        )
        .await
    }

    /// Counts a report to the public report API (`POST /v1/reports`) from `client` at `now`,
    /// refusing it past `per_hour` (a counter of its own, apart from the check pages').
    pub async fn limit_api_report(
        &self,
        client: IpAddr,
        per_hour: u64,
        now: i64,
    ) -> Result<(), CheckError> {
        let key = format!("report-api:client:{client}");
        self.limit(&[(&key, 3600, per_hour, "report")], now).await
    }

    /// Bumps every counter, then refuses if any is over its limit. The limiter failing
    /// lets the check through (customers still get answers) and is logged.
    async fn limit(
        &self,
        counters: &[(&str, u64, u64, &'static str)],
        now: i64,
    ) -> Result<(), CheckError> {
        let keys: Vec<Counter<'_>> = counters
            .iter()
            .map(|(key, window_secs, _, _)| Counter {
                key,
                window_secs: *window_secs,
            })
            .collect();
        let counts = match self.limiter.hit(&keys, now).await {
            Ok(counts) => counts,
            Err(e) => {
                // Counted every time, logged once a minute: a Redis outage under load must
                // not flood the log.
                self.metrics.observe_check_limited("limiter-unavailable");
                let last = self
                    .limiter_warned
                    .load(std::sync::atomic::Ordering::Relaxed);
                if now.saturating_sub(last) >= 60
                    && self
                        .limiter_warned
                        .compare_exchange(
                            last,
                            now,
                            std::sync::atomic::Ordering::Relaxed,
                            std::sync::atomic::Ordering::Relaxed,
                        )
                        .is_ok()
                {
                    tracing::warn!(error = %e, "rate limiter unavailable: checks are let through");
                }
                return Ok(());
            }
        };
        for ((_, window_secs, max, name), count) in counters.iter().zip(counts) {
            if count > *max {
                self.metrics.observe_check_limited(name);
                let window = i64::try_from(*window_secs).unwrap_or(60).max(1);
                let retry_after = u64::try_from(window - now.rem_euclid(window)).unwrap_or(1);
                let what = match *name {
                    "client" => "from this address",
                    "number" => "for this number",
                    "report" => "from this address",
                    _ => "of codes from this address",
                };
                return Err(CheckError::Limited { what, retry_after });
            }
        }
        Ok(())
    }
}

fn found(brand: &BrandInfo, call: &CallRecord) -> Found {
    Found {
        calling: call.calling,
        reason: call
            .reason
            .as_deref()
            .and_then(|r| brand.reason(r))
            .cloned(),
        agent: call.agent_name.clone(),
        started_at: call.started_at,
    }
}

/// The check page of a brand on a node reached at `public_url`.
pub fn check_url(public_url: &str, slug: &str) -> String {
    format!("{}/brands/{slug}/check", public_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use async_trait::async_trait;
    use engine::rate_limit::RateLimitError;
    use store::sqlite::SqliteStore;

    use super::*;

    /// A limiter whose backend is down (Redis gone after the node started).
    #[derive(Debug)]
    struct Down;

    #[async_trait]
    impl RateLimiter for Down {
        async fn hit(&self, _: &[Counter<'_>], _: i64) -> Result<Vec<u64>, RateLimitError> {
            Err(RateLimitError::Unavailable {
                detail: "connection refused".into(),
            })
        }
    }

    #[tokio::test]
    async fn checks_go_through_and_are_counted_when_the_limiter_is_down() {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().await.unwrap());
        let customer = store.create_customer("acme", None).await.unwrap();
        let fields = store::BrandFields {
            legal_name: "Acme Bank plc".into(),
            display_name: "Acme Bank".into(),
            call_reasons: vec![],
            never_ask: vec![],
            callback: None,
        };
        store
            .create_brand("acme-bank", customer.id, &fields, 0)
            .await
            .unwrap();
        let brands = Arc::new(BrandCache::load(store.as_ref(), "http://x").await.unwrap());
        let metrics = Arc::new(Metrics::new());
        let checker = Checker::new(
            Arc::clone(&store),
            brands,
            Arc::new(Down),
            CheckConfig::default(),
            Arc::clone(&metrics),
        );
        let tn = |s: &str| TelephoneNumber::parse(s).unwrap();
        let query = Query::Pair {
            calling: tn("12155551000"),
            called: tn("12125550100"),
        };
        let client: IpAddr = [198, 51, 100, 7].into();
        for _ in 0..100 {
            let outcome = checker
                .check("acme-bank", &query, client, 1_700_000_000)
                .await
                .unwrap();
            assert_eq!(outcome.finding, Finding::NotUs);
        }
        let text = metrics.encode(&engine::verifier::CacheStats::default());
        assert!(
            text.contains("callproof_checks_limited_total{kind=\"limiter-unavailable\"} 100"),
            "{text}"
        );
    }
}
