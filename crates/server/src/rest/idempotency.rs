//! Idempotent writes: a `POST` or `DELETE` sent with an `Idempotency-Key` header is carried
//! out once; the same key with the same request within a day gets the stored response again
//! (status and body, marked `Idempotent-Replayed: true`), the same key with a different
//! request gets 422.
//!
//! Keys belong to the caller that sent them (the stored key is a digest of the API key's hash
//! and the client's key), so one client can neither replay nor block another's responses.
//! Only successful responses are kept: a refused write may be retried with the same key once
//! its cause is fixed. Secrets in a response (a new API key) are not kept: the stored body is
//! the one the handler gives for replay.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use store::{IdempotencyRecord, Store};

use super::problem::{Problem, ProblemType};

/// The request header.
pub const HEADER: &str = "idempotency-key";

/// The response header marking a replayed response.
pub const REPLAYED: &str = "idempotent-replayed";

/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// Serialises idempotent writes in this process, so two requests with one key cannot both
/// find no record and both write. Admin writes are rare; one lock is enough. (Across nodes the
/// store keeps the first response; a second node's concurrent duplicate may still execute.)
static WRITES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// An idempotency key with the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// Digest of the caller and the client's key: the store's key.
    store_key: String,
    /// Digest of method, path and body.
    request_hash: String,
}

/// A handler's successful answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The status (2xx).
    pub status: StatusCode,
    /// The JSON body (`None`: no body, e.g. 204).
    pub body: Option<serde_json::Value>,
    /// The body to keep for replay when it differs from `body` (secrets removed).
    pub replay_body: Option<serde_json::Value>,
    /// Extra headers (`Location`, `Cache-Control`).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl Reply {
    /// `status` with a JSON body.
    pub fn json(status: StatusCode, body: serde_json::Value) -> Self {
        Self {
            status,
            body: Some(body),
            replay_body: None,
            headers: Vec::new(),
        }
    }

    /// `204 No Content`.
    pub fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
            replay_body: None,
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The body kept for replay, as text.
    fn stored_body(&self) -> String {
        self.replay_body
            .as_ref()
            .or(self.body.as_ref())
            .map(serde_json::Value::to_string)
            .unwrap_or_default()
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = match &self.body {
            Some(body) => (
                self.status,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response(),
            None => self.status.into_response(),
        };
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

impl IdempotencyKey {
    /// Reads the header, if any. `principal` names the caller (the API key's hash, or the
    /// development loopback caller).
    pub fn from_request(
        headers: &HeaderMap,
        principal: &str,
        method: &Method,
        path: &str,
        body: &[u8],
    ) -> Result<Option<Self>, Problem> {
        let mut values = headers.get_all(HEADER).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(Problem::invalid(
                "send one Idempotency-Key header, not several",
            ));
        }
        let raw = value.to_str().unwrap_or_default().trim();
        // The IETF draft sends a structured-field string ("..."); many clients send it bare.
        let key = raw
            .strip_prefix('"')
            .and_then(|k| k.strip_suffix('"'))
            .unwrap_or(raw);
        if key.is_empty()
            || key.len() > MAX_KEY_LEN
            || !key.bytes().all(|b| b.is_ascii_graphic() && b != b'"')
        {
            return Err(Problem::invalid(format!(
                "Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"
            )));
        }
        let store_key = sha256_hex(&[principal.as_bytes(), b"\n", key.as_bytes()]);
        let request_hash = sha256_hex(&[
            method.as_str().as_bytes(),
            b" ",
            path.as_bytes(),
            b"\n",
            body,
        ]);
        Ok(Some(Self {
            store_key,
            request_hash,
        }))
    }

    /// Runs `write` once for this key: replays a stored response, refuses a reused key, or
    /// runs it and keeps a successful response.
    pub async fn run<F>(&self, store: &dyn Store, now: i64, write: F) -> Response
    where
        F: Future<Output = Result<Reply, Problem>>,
    {
        let _serial = WRITES.lock().await;
        match store.idempotency_get(&self.store_key, now).await {
            Err(e) => return Problem::from(e).into_response(),
            Ok(Some(record)) if record.request_hash == self.request_hash => {
                return replay(&record);
            }
            Ok(Some(_)) => {
                return Problem::new(
                    ProblemType::IdempotencyKeyReused,
                    "this Idempotency-Key was used in the last 24 hours for a different request; \
                     use a new key for a new request",
                )
                .into_response();
            }
            Ok(None) => {}
        }
        let reply = match write.await {
            Ok(reply) => reply,
            Err(problem) => return problem.into_response(),
        };
        if let Err(e) = store
            .idempotency_put(
                &self.store_key,
                &self.request_hash,
                reply.status.as_u16(),
                &reply.stored_body(),
                now,
            )
            .await
        {
            // The write is done; only its replay is lost. Say so in the log, answer the write.
            tracing::warn!(error = %e, "cannot store the idempotent response");
        }
        reply.into_response()
    }
}

/// The stored response, again.
fn replay(record: &IdempotencyRecord) -> Response {
    let status = StatusCode::from_u16(record.status).unwrap_or(StatusCode::OK);
    let mut response = if record.body.is_empty() {
        status.into_response()
    } else {
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            record.body.clone(),
        )
            .into_response()
    };
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    ctx.finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(headers: &[(&str, &str)], principal: &str, path: &str, body: &str) -> Option<String> {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        IdempotencyKey::from_request(&map, principal, &Method::POST, path, body.as_bytes())
            .map(|k| k.map(|k| format!("{} {}", k.store_key, k.request_hash)))
            .map_err(|p| p.detail().to_owned())
            .unwrap_or_else(|e| Some(format!("error: {e}")))
    }

    #[test]
    fn keys_are_per_caller_and_requests_are_told_apart() {
        let h = [(HEADER, "abc-123")];
        assert_eq!(key(&[], "p", "/v1/customers", "{}"), None);
        let a = key(&h, "p", "/v1/customers", "{}").unwrap();
        let (a_key, a_req) = a.split_once(' ').unwrap();
        assert_eq!(a_key.len(), 64);
        let quoted = key(&[(HEADER, "\"abc-123\"")], "p", "/v1/customers", "{}").unwrap();
        assert_eq!(quoted, a, "the structured-field form names the same key");
        let other_caller = key(&h, "q", "/v1/customers", "{}").unwrap();
        assert_ne!(other_caller.split_once(' ').unwrap().0, a_key);
        let other_body = key(&h, "p", "/v1/customers", "{ }").unwrap();
        assert_eq!(other_body.split_once(' ').unwrap().0, a_key);
        assert_ne!(other_body.split_once(' ').unwrap().1, a_req);
        let other_path = key(&h, "p", "/v1/api-keys", "{}").unwrap();
        assert_ne!(other_path.split_once(' ').unwrap().1, a_req);
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in ["", "\"\"", "has space", &"k".repeat(MAX_KEY_LEN + 1)] {
            let got = key(&[(HEADER, bad)], "p", "/", "").unwrap();
            assert!(got.starts_with("error: "), "{bad:?}: {got}");
        }
        let two = key(&[(HEADER, "a"), (HEADER, "b")], "p", "/", "").unwrap();
        assert!(two.starts_with("error: "), "{two}");
    }
}
