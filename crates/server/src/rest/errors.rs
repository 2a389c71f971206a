//! Error bodies: ATIS-1000082 service and policy exceptions for `/stir/v1/...`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An ATIS-1000082 request error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AtisError {
    /// SVC4000: no body.
    MissingBody,
    /// SVC4001: a mandatory parameter is missing.
    MissingParameter(String),
    /// SVC4004 (415): the body is not JSON.
    UnsupportedMediaType(String),
    /// SVC4005: a parameter has an invalid value.
    InvalidValue(String, String),
    /// SVC4006: the body is not parsable.
    Unparsable(String),
    /// POL4001 (401): no credentials, or unknown ones.
    Unauthenticated(String),
    /// POL4003 (403): the credentials do not allow this.
    Forbidden(String),
    /// SVC5000 (500): an internal failure (details are logged, not returned).
    Internal,
    /// SVC4003 (404): no such resource.
    NotFound(String),
    /// POL4050 (403): brand policy refused to sign the call (a Do-Not-Originate number, a
    /// brand's number without its authority, a call reason not allowed, an opted-out
    /// number).
    Refused(String),
}

impl IntoResponse for AtisError {
    fn into_response(self) -> Response {
        let (status, kind, id, text, vars): (StatusCode, &str, &str, &str, Vec<String>) = match self
        {
            Self::MissingBody => (
                StatusCode::BAD_REQUEST,
                "serviceException",
                "SVC4000",
                "Error: Missing request body.",
                vec![],
            ),
            Self::MissingParameter(p) => (
                StatusCode::BAD_REQUEST,
                "serviceException",
                "SVC4001",
                "Error: Missing mandatory parameter '%1'.",
                vec![p],
            ),
            Self::UnsupportedMediaType(got) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "serviceException",
                "SVC4004",
                "Error: Unsupported request body type '%1', expected '%2'.",
                vec![got, "application/json".into()],
            ),
            Self::InvalidValue(p, v) => (
                StatusCode::BAD_REQUEST,
                "serviceException",
                "SVC4005",
                "Error: Invalid '%1' parameter value: %2.",
                vec![p, v],
            ),
            Self::Unparsable(why) => (
                StatusCode::BAD_REQUEST,
                "serviceException",
                "SVC4006",
                "Error: Failed to parse received message body: %1.",
                vec![why],
            ),
            Self::Unauthenticated(why) => (
                StatusCode::UNAUTHORIZED,
                "policyException",
                "POL4001",
                "Error: Unauthorized: %1.",
                vec![why],
            ),
            Self::Forbidden(why) => (
                StatusCode::FORBIDDEN,
                "policyException",
                "POL4003",
                "Error: Forbidden: %1.",
                vec![why],
            ),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "serviceException",
                "SVC5000",
                "Error: Internal error.",
                vec![],
            ),
            Self::Refused(why) => (
                StatusCode::FORBIDDEN,
                "policyException",
                "POL4050",
                "Error: Call not signed: %1.",
                vec![why],
            ),
            Self::NotFound(path) => (
                StatusCode::NOT_FOUND,
                "serviceException",
                "SVC4003",
                "Error: Requested resource '%1' was not found.",
                vec![path],
            ),
        };
        let body = if vars.is_empty() {
            json!({ "messageId": id, "text": text })
        } else {
            json!({ "messageId": id, "text": text, "variables": vars })
        };
        (status, Json(json!({ "requestError": { kind: body } }))).into_response()
    }
}

/// Any unknown path.
pub async fn not_found(uri: axum::http::Uri) -> AtisError {
    AtisError::NotFound(uri.path().chars().take(200).collect())
}
