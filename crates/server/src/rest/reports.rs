//! The public report API: `POST /v1/reports`, anyone's report of a suspicious call, without
//! an API key. JSON in, RFC 9457 problems out, rate-limited per client address
//! (`[reports] per_client_per_hour`).
//!
//! `201 Created` is answered only once the report is committed. An `Idempotency-Key` makes a
//! retry safe: the key is stored with the report (as `api:<key>`, in the same write), so the
//! same report sent again with it answers the first one (`200`, `Idempotent-Replayed: true`)
//! and stores nothing, and a different report with it is refused (`422`). The answer says
//! no more than the report's id, when it arrived and its brand. Nothing is stored but what
//! the reporter sent and the time it arrived: not the client's address, not its headers.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use passport::TelephoneNumber;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use store::{Asked, BrandId, NewReport, Report, ReportChannel};

use super::AppState;
use super::admin::clip;
use super::atis::unix_now;
use super::idempotency;
use super::problem::{Problem, ProblemType};
use crate::check::CheckError;
use crate::listener::PeerAddr;

/// The longest report text, in characters.
pub const MAX_TEXT: usize = 10_000;
/// The longest claimed brand, in characters.
pub const MAX_CLAIMED_BRAND: usize = 200;
/// The most categories a report names (each counts once).
pub const MAX_ASKED: usize = 16;
/// The longest telephone number input looked at, in characters.
pub const MAX_NUMBER_INPUT: usize = 64;
/// How far ahead of this node's clock a call's time may be, in seconds.
pub const CLOCK_SKEW_SECS: i64 = 300;
/// What a report's idempotency key starts with (the client's key follows).
pub const IDEMPOTENCY_PREFIX: &str = "api:";

/// A report, as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ReportBody {
    /// The slug of the brand the caller claimed to be.
    #[serde(default)]
    brand: Option<String>,
    /// The organisation the caller claimed to be, in the reporter's words.
    #[serde(default)]
    claimed_brand: Option<String>,
    #[serde(default)]
    calling_number: Option<String>,
    #[serde(default)]
    called_number: Option<String>,
    /// Unix seconds of the call.
    #[serde(default)]
    time: Option<i64>,
    #[serde(default)]
    asked: Vec<String>,
    #[serde(default)]
    text: Option<String>,
}

/// `POST /v1/reports`: public.
pub async fn create(
    State(state): State<Arc<AppState>>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let now = unix_now();
    let mut response = match store_report(&state, peer, &headers, body, now).await {
        Ok(response) | Err(response) => response,
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn store_report(
    state: &AppState,
    peer: std::net::SocketAddr,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    now: i64,
) -> Result<Response, Response> {
    let body = body.map_err(|e| body_problem(&e).into_response())?;
    check_json(headers).map_err(IntoResponse::into_response)?;
    let key = idempotency_key(headers).map_err(IntoResponse::into_response)?;
    let input = parse(&body).map_err(IntoResponse::into_response)?;
    let retention = state.config.reports.retention_secs();
    let valid = validate(input, now, retention).map_err(IntoResponse::into_response)?;
    let brand = match &valid.brand {
        Some(slug) => Some(
            brand_id(state, slug)
                .await
                .map_err(IntoResponse::into_response)?,
        ),
        None => None,
    };

    let client = state.checker.client(peer, headers);
    let per_hour = state.config.reports.per_client_per_hour;
    match state.checker.limit_api_report(client, per_hour, now).await {
        Ok(()) => {}
        Err(CheckError::Limited { what, retry_after }) => {
            return Err(limited(what, retry_after));
        }
        Err(e) => return Err(Problem::from(e).into_response()),
    }

    let report = NewReport {
        brand,
        claimed_brand: valid.claimed_brand,
        calling: valid.calling,
        called: valid.called,
        call_at: valid.call_at,
        asked: valid.asked,
        text: valid.text,
        channel: ReportChannel::Api,
        idempotency_key: key.map(|k| format!("{IDEMPOTENCY_PREFIX}{k}")),
        received_at: now,
    };
    let channel = ReportChannel::Api.as_str();
    let (stored, created) = match state.store.create_report(&report).await {
        Ok(done) => done,
        Err(e) => {
            state.metrics.observe_report(channel, "failed");
            return Err(Problem::from(e).into_response());
        }
    };
    if created {
        state.metrics.observe_report(channel, "stored");
        let body = answer(&stored, valid.brand.as_deref());
        return Ok((StatusCode::CREATED, axum::Json(body)).into_response());
    }
    if !same_report(&stored, &report) {
        return Err(Problem::new(
            ProblemType::IdempotencyKeyReused,
            "this Idempotency-Key was used for a different report; use a new key for a new \
             report",
        )
        .into_response());
    }
    state.metrics.observe_report(channel, "replayed");
    let slug = stored
        .brand
        .and_then(|id| state.brands.get().brand(id).map(|b| b.brand.slug.clone()));
    let mut response =
        (StatusCode::OK, axum::Json(answer(&stored, slug.as_deref()))).into_response();
    response
        .headers_mut()
        .insert(idempotency::REPLAYED, HeaderValue::from_static("true"));
    Ok(response)
}

/// What a reporter is told of a stored report: its id, when it arrived, its brand.
fn answer(report: &Report, brand: Option<&str>) -> Value {
    let mut body = Map::new();
    body.insert("id".into(), json!(report.id.0));
    body.insert("receivedAt".into(), json!(report.received_at));
    if let Some(slug) = brand {
        body.insert("brand".into(), json!(slug));
    }
    Value::Object(body)
}

/// Whether a stored report is the one `new` describes (its arrival time aside).
fn same_report(stored: &Report, new: &NewReport) -> bool {
    stored.brand == new.brand
        && stored.claimed_brand == new.claimed_brand
        && stored.calling == new.calling
        && stored.called == new.called
        && stored.call_at == new.call_at
        && stored.asked == new.asked
        && stored.text == new.text
        && stored.channel == new.channel
}

fn body_problem(e: &BytesRejection) -> Problem {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new(
            ProblemType::PayloadTooLarge,
            "the request body exceeds http.max_body_bytes",
        )
    } else {
        Problem::invalid(format!("cannot read the body: {e}"))
    }
}

/// Refuses a body that is not `application/json`.
fn check_json(headers: &HeaderMap) -> Result<(), Problem> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    let mime = value
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    if mime.eq_ignore_ascii_case("application/json") {
        return Ok(());
    }
    Err(Problem::new(
        ProblemType::UnsupportedMediaType,
        format!(
            "the body must be application/json, not {:?}",
            clip(value.unwrap_or("(no Content-Type)"))
        ),
    ))
}

/// The client's `Idempotency-Key`, if it sent one: 1 to [`idempotency::MAX_KEY_LEN`] visible
/// ASCII characters, bare or as a structured-field string.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let mut values = headers.get_all(idempotency::HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Problem::invalid(
            "send one Idempotency-Key header, not several",
        ));
    }
    let raw = value.to_str().unwrap_or_default().trim();
    let key = raw
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .unwrap_or(raw);
    if key.is_empty()
        || key.len() > idempotency::MAX_KEY_LEN
        || !key.bytes().all(|b| b.is_ascii_graphic() && b != b'"')
    {
        return Err(Problem::invalid(format!(
            "Idempotency-Key must be 1 to {} visible ASCII characters",
            idempotency::MAX_KEY_LEN
        )));
    }
    Ok(Some(key.to_owned()))
}

fn parse(body: &[u8]) -> Result<ReportBody, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::invalid("the request needs a JSON body"));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Problem::invalid(format!("the body is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(Problem::invalid("the body must be a JSON object"));
    }
    ReportBody::deserialize(value)
        .map_err(|e| Problem::invalid(format!("the body is not a valid report: {e}")))
}

/// A report that passed every check but its brand's existence.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ValidReport {
    brand: Option<String>,
    claimed_brand: Option<String>,
    calling: Option<TelephoneNumber>,
    called: Option<TelephoneNumber>,
    call_at: Option<i64>,
    /// In [`Asked::ALL`] order, each once.
    asked: Vec<Asked>,
    /// Trimmed.
    text: String,
}

/// Checks every field of a report sent at `now`, calls older than `retention_secs` refused.
fn validate(body: ReportBody, now: i64, retention_secs: i64) -> Result<ValidReport, Problem> {
    let number = |field: &str, s: Option<&String>| -> Result<Option<TelephoneNumber>, Problem> {
        let Some(s) = s else { return Ok(None) };
        if s.chars().count() > MAX_NUMBER_INPUT {
            return Err(Problem::invalid(format!(
                "{field} is longer than {MAX_NUMBER_INPUT} characters"
            )));
        }
        TelephoneNumber::parse(s)
            .map(Some)
            .map_err(|e| Problem::invalid(format!("{field}: {e}")))
    };
    let calling = number("callingNumber", body.calling_number.as_ref())?;
    let called = number("calledNumber", body.called_number.as_ref())?;

    let text = body.text.as_deref().unwrap_or_default().trim().to_owned();
    let length = text.chars().count();
    if length > MAX_TEXT {
        return Err(Problem::invalid(format!(
            "text is {length} characters; at most {MAX_TEXT} are kept"
        )));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(Problem::invalid(
            "text may hold printable characters, line breaks and tabs only",
        ));
    }
    if text.is_empty() && calling.is_none() {
        return Err(Problem::invalid(
            "say what happened (text) or give the number that called (callingNumber), or both",
        ));
    }

    if let Some(claimed) = &body.claimed_brand {
        engine::brand_rules::printable("claimedBrand", claimed, MAX_CLAIMED_BRAND)
            .map_err(Problem::invalid)?;
    }
    if let Some(slug) = &body.brand {
        engine::brand_rules::check_slug("brand", slug).map_err(Problem::invalid)?;
    }

    if body.asked.len() > MAX_ASKED {
        return Err(Problem::invalid(format!(
            "asked names at most {MAX_ASKED} categories"
        )));
    }
    let mut asked = Vec::with_capacity(body.asked.len());
    for name in &body.asked {
        let a = Asked::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Asked::ALL.iter().map(|a| a.as_str()).collect();
            Problem::invalid(format!(
                "asked: {:?} is not one of {}",
                clip(name),
                known.join(", ")
            ))
        })?;
        asked.push(a);
    }
    asked.sort_unstable();
    asked.dedup();

    if let Some(t) = body.time {
        if t > now + CLOCK_SKEW_SECS {
            return Err(Problem::invalid(format!(
                "time {t} is in the future (this node's clock says {now})"
            )));
        }
        if t < now - retention_secs {
            return Err(Problem::invalid(format!(
                "time {t} is older than reports are kept ({} days)",
                retention_secs / 86_400
            )));
        }
    }

    Ok(ValidReport {
        brand: body.brand,
        claimed_brand: body.claimed_brand,
        calling,
        called,
        call_at: body.time,
        asked,
        text,
    })
}

/// The brand with `slug`: from this node's brand policy, else from the store (a brand created
/// through another node moments ago); 404 when there is none.
async fn brand_id(state: &AppState, slug: &str) -> Result<BrandId, Problem> {
    if let Some(info) = state.brands.get().by_slug(slug) {
        return Ok(info.brand.id);
    }
    match state.store.brand_by_slug(slug).await? {
        Some(brand) => Ok(brand.id),
        None => Err(Problem::new(
            ProblemType::NotFound,
            format!("brand {:?} does not exist", clip(slug)),
        )),
    }
}

/// A rate-limit refusal, with `Retry-After`.
fn limited(what: &str, retry_after: u64) -> Response {
    let mut r = Problem::new(
        ProblemType::TooManyRequests,
        format!("too many reports {what}; try again in {retry_after} seconds"),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;
    const YEAR: i64 = 365 * 86_400;

    fn check(body: Value) -> Result<ValidReport, String> {
        let body = parse(body.to_string().as_bytes()).map_err(|p| p.detail().to_owned())?;
        validate(body, NOW, YEAR).map_err(|p| p.detail().to_owned())
    }

    #[test]
    fn a_full_report_is_kept_as_sent() {
        let v = check(json!({
            "brand": "acme-bank", "claimedBrand": "Acme Bank fraud team",
            "callingNumber": "+1 215 555 0100", "calledNumber": "12125551213",
            "time": NOW - 60, "asked": ["gift-cards", "password", "gift-cards"],
            "text": "  They asked for my PIN.\nThen for gift cards.\t "
        }))
        .unwrap();
        assert_eq!(v.brand.as_deref(), Some("acme-bank"));
        assert_eq!(v.claimed_brand.as_deref(), Some("Acme Bank fraud team"));
        assert_eq!(v.calling.unwrap().as_str(), "12155550100");
        assert_eq!(v.called.unwrap().as_str(), "12125551213");
        assert_eq!(v.call_at, Some(NOW - 60));
        assert_eq!(v.asked, vec![Asked::Password, Asked::GiftCards]);
        assert_eq!(v.text, "They asked for my PIN.\nThen for gift cards.");
    }

    #[test]
    fn a_number_or_some_text_is_enough() {
        assert!(check(json!({"callingNumber": "12155550100"})).is_ok());
        assert!(check(json!({"text": "a robot said my parcel is held"})).is_ok());
        for nothing in [
            json!({}),
            json!({"text": "   "}),
            json!({"asked": ["card"], "calledNumber": "12125551213"}),
        ] {
            let e = check(nothing).unwrap_err();
            assert!(e.contains("text") && e.contains("callingNumber"), "{e}");
        }
    }

    #[test]
    fn bad_fields_are_refused_with_the_reason() {
        let text = |t: &str| json!({"text": t});
        for (body, says) in [
            (json!({"text": "x", "colour": "red"}), "unknown field"),
            (json!({"text": 5}), "invalid type"),
            (json!(["text"]), "JSON object"),
            (text(&"x".repeat(MAX_TEXT + 1)), "at most 10000"),
            (text("a\u{7}bell"), "printable"),
            (
                json!({"text": "x", "callingNumber": "call me"}),
                "callingNumber",
            ),
            (
                json!({"text": "x", "calledNumber": "1".repeat(MAX_NUMBER_INPUT + 1)}),
                "calledNumber",
            ),
            (json!({"text": "x", "asked": ["pin"]}), "password, card"),
            (
                json!({"text": "x", "asked": vec!["card"; MAX_ASKED + 1]}),
                "at most 16",
            ),
            (json!({"text": "x", "claimedBrand": " "}), "claimedBrand"),
            (
                json!({"text": "x", "claimedBrand": "a\u{1b}[31m"}),
                "claimedBrand",
            ),
            (json!({"text": "x", "brand": "Not A Slug"}), "brand"),
            (
                json!({"text": "x", "time": NOW + CLOCK_SKEW_SECS + 1}),
                "future",
            ),
            (json!({"text": "x", "time": NOW - YEAR - 1}), "365 days"),
            (json!({"text": "x", "time": 1.5}), "invalid type"),
        ] {
            let e = check(body.clone()).unwrap_err();
            assert!(e.contains(says), "{body}: {e}");
        }
        // The limits themselves are fine.
        check(text(&"é".repeat(MAX_TEXT))).unwrap();
        check(json!({"text": "x", "time": NOW + CLOCK_SKEW_SECS})).unwrap();
        check(json!({"text": "x", "time": NOW - YEAR})).unwrap();
        assert!(parse(b"  ").is_err());
        assert!(parse(b"{").is_err());
    }

    #[test]
    fn idempotency_keys_are_one_visible_ascii_token() {
        let key = |values: &[&str]| {
            let mut headers = HeaderMap::new();
            for v in values {
                headers.append(idempotency::HEADER, HeaderValue::from_str(v).unwrap());
            }
            idempotency_key(&headers).map_err(|p| p.detail().to_owned())
        };
        assert_eq!(key(&[]), Ok(None));
        assert_eq!(key(&["abc-1"]), Ok(Some("abc-1".into())));
        assert_eq!(key(&["\"abc-1\""]), Ok(Some("abc-1".into())));
        for bad in [
            &["a", "b"][..],
            &["two words"],
            &["\"\""],
            &[&"k".repeat(256)],
        ] {
            assert!(key(bad).is_err(), "{bad:?}");
        }
    }
}
