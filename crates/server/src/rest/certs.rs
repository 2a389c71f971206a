//! This node's certificate chains, served for x5u (`GET /certs/{name}`) as the STI
//! certificate repository rules ask: `application/pem-certificate-chain`, with
//! Cache-Control. Each chain is published under a name derived from its fingerprint, which
//! never changes meaning (cacheable for a day), and the current one also as `sp.pem`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::errors::AtisError;

/// The name under which the current chain is always served.
pub const CURRENT: &str = "sp.pem";

/// Chains by file name.
#[derive(Debug, Default)]
pub struct CertStore {
    chains: RwLock<HashMap<String, Arc<str>>>,
}

impl CertStore {
    /// Publishes `pem` under its fingerprint name and as the current chain; returns the
    /// fingerprint name.
    pub fn publish(&self, pem: &str) -> String {
        let name = fingerprint_name(pem);
        let pem: Arc<str> = Arc::from(pem);
        if let Ok(mut chains) = self.chains.write() {
            chains.insert(name.clone(), Arc::clone(&pem));
            chains.insert(CURRENT.to_owned(), pem);
        }
        name
    }

    /// The chain served under `name`.
    pub fn get(&self, name: &str) -> Option<Arc<str>> {
        self.chains.read().ok()?.get(name).cloned()
    }
}

/// `<first 16 hex digits of the SHA-256 of the chain's PEM>.pem`.
pub fn fingerprint_name(pem: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, pem.as_bytes());
    let hex: String = d
        .as_ref()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{hex}.pem")
}

/// `GET /certs/{name}`.
pub async fn get_cert(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    let Some(pem) = state.certs.get(&name) else {
        return AtisError::NotFound(format!(
            "/certs/{}",
            name.chars().take(100).collect::<String>()
        ))
        .into_response();
    };
    let cache = if name == CURRENT {
        "public, max-age=300"
    } else {
        "public, max-age=86400"
    };
    let mut response = pem.to_string().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pem-certificate-chain"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}
