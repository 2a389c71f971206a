//! Prometheus metrics: requests and their latency per endpoint, verstat and reason codes,
//! attestation levels, replays.

use std::time::Duration;

use engine::verification::Verdict;
use passport::claims::Attestation;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SipLabels {
    service: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SipServiceLabels {
    service: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerstatLabels {
    verstat: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    code: u16,
    error: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabels {
    brand: String,
    answer: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReportLabels {
    channel: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttestLabels {
    attest: &'static str,
}

/// The node's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<EndpointLabels, Histogram, fn() -> Histogram>,
    verstat: Family<VerstatLabels, Counter>,
    reasons: Family<ReasonLabels, Counter>,
    attestations: Family<AttestLabels, Counter>,
    replays: Counter,
    /// Certificate-cache outcomes, copied from the verifier's own counters at each scrape.
    cert_cache: Family<CacheLabels, Counter>,
    scrape: std::sync::Mutex<()>,
    sip_requests: Family<SipLabels, Counter>,
    sip_latency: Family<SipServiceLabels, Histogram, fn() -> Histogram>,
    brand_refusals: Family<KindLabels, Counter>,
    rich_call: Family<KindLabels, Counter>,
    checks: Family<CheckLabels, Counter>,
    checks_limited: Family<KindLabels, Counter>,
    registry_calls: Family<KindLabels, Counter>,
    reports: Family<ReportLabels, Counter>,
}

fn latency_histogram() -> Histogram {
    // 50 us .. ~1.6 s.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.000_05, 2.0, 16,
    ))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("callproof");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<EndpointLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let verstat = Family::<VerstatLabels, Counter>::default();
        let reasons = Family::<ReasonLabels, Counter>::default();
        let attestations = Family::<AttestLabels, Counter>::default();
        let replays = Counter::default();
        let cert_cache = Family::<CacheLabels, Counter>::default();
        let sip_requests = Family::<SipLabels, Counter>::default();
        let brand_refusals = Family::<KindLabels, Counter>::default();
        let rich_call = Family::<KindLabels, Counter>::default();
        let checks = Family::<CheckLabels, Counter>::default();
        let checks_limited = Family::<KindLabels, Counter>::default();
        let registry_calls = Family::<KindLabels, Counter>::default();
        let reports = Family::<ReportLabels, Counter>::default();
        registry.register(
            "reports",
            "Reports of suspicious calls received, by channel (check-page, api, verification) \
             and outcome (stored; replayed: a repeat of a stored report, nothing stored; \
             dropped: verification evidence shed under load; failed: the store refused it)",
            reports.clone(),
        );
        registry.register(
            "checks",
            "Customer call checks, by brand and answer (calling-now, called-recently, not-us, \
             code-valid, code-invalid): a rising share of not-us is an impersonation signal",
            checks.clone(),
        );
        registry.register(
            "checks_limited",
            "Call checks refused by a rate limit, by limit (client, number, code, report); \
             limiter-unavailable: let through because the limiter could not answer",
            checks_limited.clone(),
        );
        registry.register(
            "registry_calls",
            "Calls offered to the call registry, by outcome (signed, registered, dropped, \
             failed: a write the store refused)",
            registry_calls.clone(),
        );
        registry.register(
            "brand_refusals",
            "Signings refused by brand policy, by kind (dno, unauthorised, reason, opt-out)",
            brand_refusals.clone(),
        );
        registry.register(
            "rich_call_data",
            "Verified calls by brand display outcome: shown, withheld, absent",
            rich_call.clone(),
        );
        let sip_latency =
            Family::<SipServiceLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        registry.register(
            "requests",
            "Requests served, by endpoint and status",
            requests.clone(),
        );
        registry.register(
            "request_seconds",
            "Request latency, by endpoint",
            latency.clone(),
        );
        registry.register(
            "verifications",
            "Verification results, by verstat",
            verstat.clone(),
        );
        registry.register(
            "verification_failures",
            "Verification failures, by reason code",
            reasons.clone(),
        );
        registry.register(
            "attestations",
            "PASSporTs signed, by attestation level",
            attestations.clone(),
        );
        registry.register(
            "replays",
            "PASSporTs seen more than once within their freshness window",
            replays.clone(),
        );
        registry.register(
            "certificate_cache",
            "Certificate lookups by outcome: hit, negative_hit (a remembered failure), miss \
             (fetched and validated), fetch_error (x5u unreachable), crl_fetch_error",
            cert_cache.clone(),
        );
        registry.register(
            "sip_requests",
            "SIP requests answered, by service, method and status",
            sip_requests.clone(),
        );
        registry.register(
            "sip_request_seconds",
            "SIP request latency from decoding to the answer, by service",
            sip_latency.clone(),
        );
        Self {
            checks,
            checks_limited,
            registry_calls,
            reports,
            brand_refusals,
            rich_call,
            cert_cache,
            scrape: std::sync::Mutex::new(()),
            registry,
            requests,
            latency,
            verstat,
            reasons,
            attestations,
            replays,
            sip_requests,
            sip_latency,
        }
    }

    /// Counts a request and its latency.
    pub fn observe_request(&self, endpoint: &'static str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels { endpoint, status })
            .inc();
        self.latency
            .get_or_create(&EndpointLabels { endpoint })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a SIP request answered by a SIP service (`signing` or `verification`):
    /// `method` is a fixed label (`INVITE`, ..., `other` for extension methods,
    /// `malformed` for a message that could not be decoded), `status` the code sent.
    pub fn observe_sip(
        &self,
        service: &'static str,
        method: &'static str,
        status: u16,
        elapsed: Duration,
    ) {
        self.sip_requests
            .get_or_create(&SipLabels {
                service,
                method,
                status,
            })
            .inc();
        self.sip_latency
            .get_or_create(&SipServiceLabels { service })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a verification verdict.
    pub fn observe_verdict(&self, verdict: &Verdict) {
        self.verstat
            .get_or_create(&VerstatLabels {
                verstat: verdict.verstat().as_str(),
            })
            .inc();
        if let Some(e) = verdict.first_failure() {
            self.reasons
                .get_or_create(&ReasonLabels {
                    code: e.disposition().code,
                    error: e.name(),
                })
                .inc();
        }
        if verdict.replayed {
            self.replays.inc();
        }
        let kind = match verdict.rcd {
            engine::rich_call::RcdOutcome::Absent => "absent",
            engine::rich_call::RcdOutcome::Shown(_) => "shown",
            engine::rich_call::RcdOutcome::Withheld { .. } => "withheld",
        };
        self.rich_call.get_or_create(&KindLabels { kind }).inc();
    }

    /// Counts a signing refused by brand policy.
    pub fn observe_brand_refusal(&self, kind: &'static str) {
        self.brand_refusals
            .get_or_create(&KindLabels { kind })
            .inc();
    }

    /// Counts a call check's answer for a brand.
    pub fn observe_check(&self, brand: &str, answer: &'static str) {
        self.checks
            .get_or_create(&CheckLabels {
                brand: brand.to_owned(),
                answer,
            })
            .inc();
    }

    /// Counts a call check refused by the rate limit `limit`.
    pub fn observe_check_limited(&self, limit: &'static str) {
        self.checks_limited
            .get_or_create(&KindLabels { kind: limit })
            .inc();
    }

    /// Counts calls offered to the registry with `outcome`.
    pub fn observe_registry(&self, outcome: &'static str, n: u64) {
        self.registry_calls
            .get_or_create(&KindLabels { kind: outcome })
            .inc_by(n);
    }

    /// Counts a report received through `channel` (a [`store::ReportChannel`] name) with
    /// `outcome`: `stored`, `replayed`, `dropped` or `failed`.
    pub fn observe_report(&self, channel: &'static str, outcome: &'static str) {
        self.reports
            .get_or_create(&ReportLabels { channel, outcome })
            .inc();
    }

    /// Counts a signing.
    pub fn observe_attestation(&self, attest: Attestation) {
        self.attestations
            .get_or_create(&AttestLabels {
                attest: attest.as_str(),
            })
            .inc();
    }

    /// The OpenMetrics text, with the certificate-cache counters brought up to date.
    pub fn encode(&self, cache: &engine::verifier::CacheStats) -> String {
        use std::sync::atomic::Ordering::Relaxed;
        let _one_scrape_at_a_time = self.scrape.lock();
        for (outcome, value) in [
            ("hit", cache.hits.load(Relaxed)),
            ("negative_hit", cache.negative_hits.load(Relaxed)),
            ("miss", cache.misses.load(Relaxed)),
            ("fetch_error", cache.fetch_errors.load(Relaxed)),
            ("crl_fetch_error", cache.crl_fetch_errors.load(Relaxed)),
        ] {
            let counter = self.cert_cache.get_or_create(&CacheLabels { outcome });
            counter.inc_by(value.saturating_sub(counter.get()));
        }
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
