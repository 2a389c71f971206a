//! The HTTP API: ATIS-1000082 signing and verification, this node's certificate for x5u,
//! health and metrics.

pub mod atis;
pub mod auth;
pub mod certs;
pub mod errors;
pub mod health;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use engine::inventory::InventoryCache;
use engine::signing::SigningService;
use engine::verification::VerificationService;
use store::Store;

use crate::config::Config;
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

/// The router with every endpoint, its body limit and request timeout.
pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.http.max_body_bytes;
    let timeout = Duration::from_millis(state.config.http.request_timeout_ms);
    Router::new()
        .route("/stir/v1/signing", post(atis::signing))
        .route("/stir/v1/verification", post(atis::verification))
        .route("/certs/{name}", get(certs::get_cert))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .fallback(errors::not_found)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(limit))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .with_state(state)
}
