//! Who is calling the REST API: an API key (`Authorization: Bearer <key>` or `X-API-Key`),
//! or, in development mode only, any caller on loopback acting as the development customer.

use std::net::SocketAddr;

use axum::http::HeaderMap;
use engine::inventory::Caller;
use store::Scope;

use super::AppState;
use super::errors::AtisError;
use crate::dev::DEV_CUSTOMER;

/// The caller of a request that needs `scope`.
pub fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
    scope: Scope,
) -> Result<Caller, AtisError> {
    let index = state.inventory.get();
    let caller = match api_key(headers) {
        Some(key) => index
            .caller_by_api_key(key)
            .ok_or_else(|| AtisError::Unauthenticated("unknown or revoked API key".into()))?,
        None if state.dev_mode && peer.ip().to_canonical().is_loopback() => Caller {
            customer: index.customer_by_name(DEV_CUSTOMER).cloned(),
            scopes: vec![Scope::Sign, Scope::Verify, Scope::Admin],
        },
        None => {
            return Err(AtisError::Unauthenticated(
                "an API key is required (Authorization: Bearer <key>)".into(),
            ));
        }
    };
    if caller.scopes.contains(&scope) || caller.scopes.contains(&Scope::Admin) {
        Ok(caller)
    } else {
        Err(AtisError::Forbidden(format!(
            "the API key lacks the {} scope",
            scope.as_str()
        )))
    }
}

/// The API key a request carries (`X-API-Key`, or `Authorization: Bearer`), unchecked.
pub(crate) fn api_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(v.trim());
    }
    let auth = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = auth.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}
