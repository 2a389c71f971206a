//! RFC 9457 problem details: the error bodies of callproof's own `/v1/...` APIs.
//!
//! Every problem has a stable `type` URI under [`TYPE_BASE`], a fixed `title` per type, the
//! HTTP `status`, and a `detail` for the caller. Internal faults say nothing more than
//! "internal error": their cause is logged once, where they are made.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::errors::AtisError;

/// Where problem type URIs live.
pub const TYPE_BASE: &str = "https://callproof.dev/problems/";

/// The media type of a problem body.
pub const CONTENT_TYPE: &str = "application/problem+json";

/// What went wrong, as far as a client can act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemType {
    /// 400: the request is malformed or a value is invalid.
    InvalidRequest,
    /// 401: no API key, or an unknown or revoked one.
    Unauthenticated,
    /// 403: the API key lacks the scope.
    Forbidden,
    /// 404: no such resource.
    NotFound,
    /// 405: the resource does not support the method.
    MethodNotAllowed,
    /// 408: the request took too long.
    RequestTimeout,
    /// 409: the write conflicts with what is stored (a taken name, owned numbers).
    Conflict,
    /// 413: the body is larger than the node accepts.
    PayloadTooLarge,
    /// 415: the body is not `application/json`.
    UnsupportedMediaType,
    /// 422: the idempotency key was used before for a different request.
    IdempotencyKeyReused,
    /// 429: a rate limit was reached (`Retry-After` says when to try again).
    TooManyRequests,
    /// 500: an internal failure (logged, not described).
    Internal,
    /// 503: a dependency (the database) is unavailable.
    Unavailable,
}

impl ProblemType {
    /// Every type, for documentation and tests.
    pub const ALL: [Self; 13] = [
        Self::InvalidRequest,
        Self::Unauthenticated,
        Self::Forbidden,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::RequestTimeout,
        Self::Conflict,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::IdempotencyKeyReused,
        Self::TooManyRequests,
        Self::Internal,
        Self::Unavailable,
    ];

    /// The HTTP status, the last segment of the type URI, and the title.
    pub const fn parts(self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::InvalidRequest => (
                StatusCode::BAD_REQUEST,
                "invalid-request",
                "Invalid request",
            ),
            Self::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
            ),
            Self::Forbidden => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            Self::NotFound => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            Self::RequestTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "request-timeout",
                "Request timeout",
            ),
            Self::Conflict => (StatusCode::CONFLICT, "conflict", "Conflict"),
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large",
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            Self::IdempotencyKeyReused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency key reused",
            ),
            Self::TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too many requests",
            ),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
        }
    }

    /// The type URI.
    pub fn uri(self) -> String {
        format!("{TYPE_BASE}{}", self.parts().1)
    }

    /// The type a bare error status (one no handler described) stands for.
    fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::BAD_REQUEST => Self::InvalidRequest,
            StatusCode::UNAUTHORIZED => Self::Unauthenticated,
            StatusCode::FORBIDDEN => Self::Forbidden,
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::REQUEST_TIMEOUT => Self::RequestTimeout,
            StatusCode::CONFLICT => Self::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType,
            StatusCode::SERVICE_UNAVAILABLE => Self::Unavailable,
            StatusCode::TOO_MANY_REQUESTS => Self::TooManyRequests,
            s if s.is_client_error() => Self::InvalidRequest,
            _ => Self::Internal,
        }
    }
}

/// An RFC 9457 problem, ready to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    kind: ProblemType,
    detail: String,
}

/// The wire form.
#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
}

impl Problem {
    /// A problem of `kind` with a detail for the caller.
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// 400 with `detail`.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::InvalidRequest, detail)
    }

    /// 500: logs `cause` once, tells the caller nothing more.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error in the admin API");
        Self::new(
            ProblemType::Internal,
            "The request could not be completed; the cause is logged on the server.",
        )
    }

    /// Its type.
    pub fn kind(&self) -> ProblemType {
        self.kind
    }

    /// Its detail.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.kind.parts().0
    }

    /// The JSON body.
    pub fn to_json(&self) -> String {
        let (status, _, title) = self.kind.parts();
        serde_json::to_string(&Body {
            kind: self.kind.uri(),
            title,
            status: status.as_u16(),
            detail: &self.detail,
        })
        .unwrap_or_default()
    }
}

impl From<store::StoreError> for Problem {
    fn from(e: store::StoreError) -> Self {
        match e {
            store::StoreError::NotFound { what, key } => Self::new(
                ProblemType::NotFound,
                format!("{what} {key} does not exist"),
            ),
            store::StoreError::Conflict { .. } => Self::new(ProblemType::Conflict, e.to_string()),
            store::StoreError::Backend { .. } => Self::internal(&e),
            _ => Self::internal(&e),
        }
    }
}

impl From<AtisError> for Problem {
    /// Authentication failures of the shared `authorize`.
    fn from(e: AtisError) -> Self {
        match e {
            AtisError::Unauthenticated(why) => Self::new(ProblemType::Unauthenticated, why),
            AtisError::Forbidden(why) | AtisError::Refused(why) => {
                Self::new(ProblemType::Forbidden, why)
            }
            AtisError::NotFound(path) => {
                Self::new(ProblemType::NotFound, format!("no resource at {path}"))
            }
            AtisError::UnsupportedMediaType(got) => Self::new(
                ProblemType::UnsupportedMediaType,
                format!("the body must be application/json, not {got:?}"),
            ),
            AtisError::MissingBody => Self::invalid("the request needs a JSON body"),
            AtisError::MissingParameter(p) => Self::invalid(format!("{p} is required")),
            AtisError::InvalidValue(p, v) => Self::invalid(format!("{p} is invalid: {v}")),
            AtisError::Unparsable(why) => Self::invalid(format!("the body is not JSON: {why}")),
            AtisError::Internal => Self::internal(&"internal error"),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = (self.status(), self.to_json()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if self.kind == ProblemType::Unauthenticated {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The most of a plain-text rejection carried over into a problem's detail.
const MAX_REJECTION_TEXT: usize = 1024;

/// Middleware for `/v1/...`: an error answered without a problem body (the body-size limit,
/// the request timeout, an unknown path or method, an extractor's rejection) becomes one,
/// so clients of the `/v1` API meet one error format.
pub async fn problems_for_v1(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let v1 = path.starts_with("/v1/") || path == "/v1";
    let path: String = path.chars().take(200).collect();
    let response = next.run(request).await;
    let status = response.status();
    if !v1 || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let headers = response.headers();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default();
    if content_type.starts_with(CONTENT_TYPE.as_bytes()) {
        return response;
    }
    let allow = headers.get(header::ALLOW).cloned();
    let kind = ProblemType::for_status(status);
    let detail = match kind {
        ProblemType::Internal => {
            return Problem::internal(&format!("{path} answered {status} without a problem"))
                .into_response();
        }
        ProblemType::NotFound => format!("no resource at {path}"),
        ProblemType::MethodNotAllowed => format!(
            "{path} supports {}",
            allow
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        ),
        ProblemType::PayloadTooLarge => "the request body exceeds http.max_body_bytes".into(),
        ProblemType::RequestTimeout => "the request exceeded http.request_timeout_ms".into(),
        _ => {
            // An extractor's rejection (query, path) says what was wrong, in plain text.
            let body = axum::body::to_bytes(response.into_body(), MAX_REJECTION_TEXT).await;
            match body {
                Ok(b) if content_type.starts_with(b"text/plain") && !b.is_empty() => {
                    String::from_utf8_lossy(&b).trim().to_owned()
                }
                _ => status
                    .canonical_reason()
                    .unwrap_or("request refused")
                    .to_owned(),
            }
        }
    };
    let mut problem = Problem::new(kind, detail).into_response();
    if let Some(allow) = allow {
        problem.headers_mut().insert(header::ALLOW, allow);
    }
    problem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_its_own_uri_and_an_error_status() {
        let mut seen = std::collections::HashSet::new();
        for kind in ProblemType::ALL {
            let (status, slug, title) = kind.parts();
            assert!(status.is_client_error() || status.is_server_error());
            assert!(seen.insert(slug), "{slug} used twice");
            assert!(!title.is_empty());
            assert_eq!(kind.uri(), format!("https://callproof.dev/problems/{slug}"));
            // A bare status maps back to the type that owns it (400/500 stand for several).
            if !matches!(kind, ProblemType::IdempotencyKeyReused) {
                assert_eq!(ProblemType::for_status(status), kind);
            }
        }
    }

    #[test]
    fn problems_serialise_as_rfc_9457() {
        let p = Problem::new(ProblemType::Conflict, "12155550000+100 overlaps");
        let v: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "type": "https://callproof.dev/problems/conflict",
                "title": "Conflict",
                "status": 409,
                "detail": "12155550000+100 overlaps",
            })
        );
        let r = p.into_response();
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert_eq!(r.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
    }

    #[test]
    fn store_errors_map_to_status_and_hide_backend_details() {
        let p = Problem::from(store::StoreError::Backend {
            detail: "password authentication failed for user x".into(),
        });
        assert_eq!(p.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!p.detail().contains("password"));
        let p = Problem::from(store::StoreError::Conflict {
            what: "customer",
            detail: "name \"Acme\" is taken".into(),
        });
        assert_eq!(p.status(), StatusCode::CONFLICT);
        let p = Problem::from(store::StoreError::NotFound {
            what: "customer",
            key: "7".into(),
        });
        assert_eq!(p.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn unauthenticated_problems_name_the_scheme() {
        let r = Problem::from(AtisError::Unauthenticated("no key".into())).into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }
}
