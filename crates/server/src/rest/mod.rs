//! The HTTP API: ATIS-1000082 signing and verification, this node's certificate for x5u,
//! health and metrics, the admin API (`/v1/...`), and the OpenAPI document describing them.

pub mod admin;
pub mod atis;
pub mod auth;
pub mod brands;
pub mod calls;
pub mod campaigns;
pub mod certs;
pub mod errors;
pub mod health;
pub mod idempotency;
pub mod openapi;
pub mod problem;
pub mod reports;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use axum::Router;
use axum::response::IntoResponse as _;
use axum::routing::{MethodRouter, delete, get, post, put};
use engine::brand::{BrandCache, BrandRefusal};
use engine::inventory::InventoryCache;
use engine::signing::SigningService;
use engine::verification::VerificationService;
use store::Store;

use crate::config::Config;
pub use crate::events::EventSink;
use crate::metrics::Metrics;

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// The configuration in force.
    pub config: Config,
    /// The store.
    pub store: Arc<dyn Store>,
    /// The inventory cache.
    pub inventory: InventoryCache,
    /// Brand policy and opt-outs.
    pub brands: Arc<BrandCache>,
    /// Brand events, written in the background.
    pub events: EventSink,
    /// The call registry's writer: calls signed for brands, recorded in the background.
    pub recorder: crate::registry::CallRecorder,
    /// Customers' call checks.
    pub checker: crate::check::Checker,
    /// The campaigns of the reports this node has read.
    pub campaigns: Arc<crate::campaigns::CampaignTracker>,
    /// The delegation CA issuing partners' delegate certificates (RFC 9060), if any.
    pub delegation: Option<Arc<pki::issue::DelegationCa>>,
    /// The STI-AS.
    pub signing: Arc<SigningService>,
    /// The STI-VS.
    pub verification: Arc<VerificationService>,
    /// This node's certificates by URL path (`/certs/...`), PEM.
    pub certs: certs::CertStore,
    /// Development mode: loopback callers without an API key act as the development
    /// customer.
    pub dev_mode: bool,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// False while starting or draining.
    pub ready: AtomicBool,
}

impl AppState {
    /// Records what a verified call shows a brand's security team (a Do-Not-Originate or
    /// listed number spoofed, Rich Call Data that failed), in the background: an event of the
    /// brand, and a report (channel `verification`), stored once per kind, numbers and
    /// PASSporT `iat` (read from `identities`, the call's Identity header values; else the
    /// request's time).
    pub fn verification_evidence(
        &self,
        verdict: &engine::verification::Verdict,
        call: &passport::verify::CallContext,
        identities: &[String],
    ) {
        let Some(evidence) = verdict.evidence else {
            return;
        };
        let Some(brand) = evidence.brand else {
            return;
        };
        let to: Vec<&str> = call
            .to
            .iter()
            .map(passport::TelephoneNumber::as_str)
            .collect();
        let rcd = match &verdict.rcd {
            engine::rich_call::RcdOutcome::Withheld { reason } => Some(reason.as_str()),
            _ => None,
        };
        let detail = serde_json::json!({
            "orig": call.from.as_str(),
            "dest": to,
            "verstat": verdict.verstat().as_str(),
            "failure": verdict.first_failure().map(ToString::to_string),
            "rcd": rcd,
        });
        self.events.record(brand, evidence.kind, detail, call.now);
        let iat = crate::events::passport_iat(identities)
            .or(call.request_time)
            .unwrap_or(call.now);
        self.events.report(crate::events::evidence_report(
            brand,
            evidence.kind,
            &call.from,
            &call.to,
            iat,
            call.now,
        ));
    }

    /// Records a call signed for a brand in the call registry, in the background (one
    /// entry per called number).
    pub fn record_signed(&self, signed: &engine::signing::Signed, now: i64) {
        let (Some(grant), Some((orig, dest))) = (&signed.brand, &signed.brand_call) else {
            return;
        };
        for called in dest {
            self.recorder.record(store::NewCall {
                brand: grant.brand.brand.id,
                partner: grant.partner,
                calling: *orig,
                called: *called,
                reason: grant.reason.as_ref().map(|r| r.code.clone()),
                agent_ref: None,
                agent_name: None,
                source: store::CallSource::Signed,
                started_at: now,
                code: None,
            });
        }
    }

    /// Counts a signing refused by brand policy and records it as an event of the brand
    /// concerned, in the background.
    pub fn brand_refusal(&self, refusal: &BrandRefusal, now: i64) {
        self.metrics.observe_brand_refusal(refusal.event_kind());
        if let Some(brand) = refusal.brand() {
            let detail = serde_json::json!({ "refusal": refusal.to_string() });
            self.events.record(brand, refusal.event_kind(), detail, now);
        }
    }
}

/// One endpoint: its path, the methods it answers, its handlers.
#[derive(Debug)]
pub struct Endpoint {
    /// The path, with `{param}` segments.
    pub path: &'static str,
    /// The methods it answers (any other gets 405).
    pub methods: &'static [&'static str],
    handler: MethodRouter<Arc<AppState>>,
}

fn endpoint(
    path: &'static str,
    methods: &'static [&'static str],
    handler: MethodRouter<Arc<AppState>>,
) -> Endpoint {
    Endpoint {
        path,
        methods,
        handler,
    }
}

/// Every endpoint. The router is built from this list, and the OpenAPI document is checked
/// against it.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint("/stir/v1/signing", &["POST"], post(atis::signing)),
        endpoint("/stir/v1/verification", &["POST"], post(atis::verification)),
        endpoint("/certs/{name}", &["GET"], get(certs::get_cert)),
        endpoint("/healthz", &["GET"], get(health::healthz)),
        endpoint("/readyz", &["GET"], get(health::readyz)),
        endpoint("/metrics", &["GET"], get(health::metrics)),
        endpoint("/openapi.json", &["GET"], get(openapi::document)),
        endpoint(
            "/v1/customers",
            &["GET", "POST"],
            get(admin::list_customers).post(admin::create_customer),
        ),
        endpoint("/v1/customers/{name}", &["GET"], get(admin::get_customer)),
        endpoint(
            "/v1/customers/{name}/numbers",
            &["GET", "POST", "DELETE"],
            get(admin::list_numbers)
                .post(admin::add_numbers)
                .delete(admin::remove_numbers),
        ),
        endpoint(
            "/v1/customers/{name}/trunks",
            &["GET", "POST"],
            get(admin::list_trunks).post(admin::add_trunk),
        ),
        endpoint("/brands/{slug}/logo", &["GET"], get(brands::get_logo)),
        endpoint(
            "/v1/brands",
            &["GET", "POST"],
            get(brands::list_brands).post(brands::create_brand),
        ),
        endpoint(
            "/v1/brands/{slug}",
            &["GET", "PUT"],
            get(brands::get_brand).put(brands::update_brand),
        ),
        endpoint("/v1/brands/{slug}/logo", &["PUT"], put(brands::put_logo)),
        endpoint(
            "/v1/brands/{slug}/numbers",
            &["POST", "DELETE"],
            post(brands::add_numbers).delete(brands::remove_numbers),
        ),
        endpoint(
            "/v1/brands/{slug}/partners",
            &["GET", "POST"],
            get(brands::list_partners).post(brands::create_partner),
        ),
        endpoint(
            "/v1/brands/{slug}/partners/{id}",
            &["DELETE"],
            delete(brands::revoke_partner),
        ),
        endpoint(
            "/v1/brands/{slug}/partners/{id}/certificate",
            &["POST"],
            post(brands::issue_certificate),
        ),
        endpoint(
            "/v1/brands/{slug}/opt-outs",
            &["POST", "DELETE"],
            post(brands::add_opt_outs).delete(brands::remove_opt_outs),
        ),
        endpoint(
            "/v1/brands/{slug}/events",
            &["GET"],
            get(brands::list_events),
        ),
        endpoint("/v1/dno", &["PUT"], put(brands::replace_dno)),
        endpoint("/v1/check", &["POST"], post(calls::check)),
        endpoint("/v1/campaigns", &["GET"], get(campaigns::all_campaigns)),
        endpoint("/v1/reports/{id}", &["GET"], get(campaigns::get_report)),
        endpoint(
            "/v1/brands/{slug}/campaigns",
            &["GET"],
            get(campaigns::brand_campaigns),
        ),
        endpoint("/v1/reports", &["POST"], post(reports::create)),
        endpoint("/v1/brands/{slug}/calls", &["POST"], post(calls::register)),
        endpoint(
            "/v1/brands/{slug}/calls/{id}",
            &["GET"],
            get(calls::get_call),
        ),
        endpoint(
            "/v1/brands/{slug}/calls/{id}/end",
            &["POST"],
            post(calls::end_call),
        ),
        endpoint(
            "/v1/brands/{slug}/call-status",
            &["POST"],
            post(calls::call_status),
        ),
        endpoint("/v1/brands/{slug}/scripts", &["GET"], get(calls::scripts)),
        endpoint(
            "/v1/api-keys",
            &["GET", "POST"],
            get(admin::list_api_keys).post(admin::create_api_key),
        ),
        endpoint(
            "/v1/api-keys/{id}",
            &["DELETE"],
            delete(admin::revoke_api_key),
        ),
        endpoint(
            "/brands/{slug}",
            &["GET"],
            get(crate::web::brand::page_or_json),
        ),
        endpoint(
            "/brands/{slug}/opt-out",
            &["POST"],
            post(crate::web::brand::opt_out),
        ),
        endpoint(
            "/brands/{slug}/check",
            &["GET", "POST"],
            get(crate::web::check::form).post(crate::web::check::submit),
        ),
        endpoint(
            "/brands/{slug}/report",
            &["GET", "POST"],
            get(crate::web::check::report_form).post(crate::web::check::report),
        ),
        endpoint(
            "/brands/{slug}/preview",
            &["GET"],
            get(crate::web::preview::brand_demo),
        ),
        endpoint(
            "/preview",
            &["GET", "POST"],
            get(crate::web::preview::form).post(crate::web::preview::submit),
        ),
    ]
}

/// The router with every endpoint, its body limit and request timeout; `/v1/...` errors are
/// RFC 9457 problems.
pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.http.max_body_bytes;
    let timeout = Duration::from_millis(state.config.http.request_timeout_ms);
    let mut router = Router::new();
    for e in endpoints() {
        // Only the admin API has writes to detach; the call path and the public check
        // (which writes nothing but a code's use) pay nothing for it.
        let handler = if e.path.starts_with("/v1/") && e.path != "/v1/check" {
            e.handler
                .route_layer(axum::middleware::from_fn(detach_writes))
        } else {
            e.handler
        };
        router = router.route(e.path, handler);
    }
    router
        .fallback(errors::not_found)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(limit))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            admin::v1_layer,
        ))
        .layer(axum::middleware::map_response(close_after_unread_body))
        .with_state(state)
}

/// Runs each `/v1` write in a task of its own: a client that disconnects, or the request
/// timeout, then stops waiting for the answer but cannot stop the write half-way, between
/// its commit and the storing of its idempotent response (a retry with the same key would
/// otherwise run the write again).
async fn detach_writes(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    let is_write = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !is_write || !request.uri().path().starts_with("/v1/") {
        return next.run(request).await;
    }
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "an admin write task failed");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A 413 is answered before the body was read, so the connection cannot carry another
/// request: say so, which also makes the server flush the answer before closing (pipelined
/// responses are otherwise held back while more input is pending).
async fn close_after_unread_body(
    mut response: axum::response::Response,
) -> axum::response::Response {
    if response.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}
