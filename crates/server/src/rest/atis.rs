//! ATIS-1000082 `POST /stir/v1/signing` and `POST /stir/v1/verification`, with the variants
//! deployed implementations send: `orig`/`dest`/`iat` or `from`/`to`/`time`, numbers with a
//! leading `+`, a single `dest` number as a string or an array, `ppt` quoted in the
//! Identity. Malformed requests get the ATIS service exceptions.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use engine::rich_call::{BrandDisplay, RcdOutcome};
use engine::signing::{SignRequest, SigningError};
use passport::TelephoneNumber;
use passport::claims::Attestation;
use passport::verify::CallContext;
use serde_json::{Map, Value};
use store::Scope;

use super::AppState;
use super::auth::authorize;
use super::errors::AtisError;
use crate::listener::PeerAddr;

/// `POST /stir/v1/signing`.
pub async fn signing(
    State(state): State<Arc<AppState>>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    timed(&state, "signing", sign(&state, peer, &headers, &body)).await
}

/// Runs an ATIS handler, answering its error as a service exception, and counts the
/// request with its latency.
async fn timed(
    state: &AppState,
    endpoint: &'static str,
    handler: impl std::future::Future<Output = Result<Response, AtisError>>,
) -> Response {
    let started = Instant::now();
    let response = handler.await.unwrap_or_else(IntoResponse::into_response);
    state
        .metrics
        .observe_request(endpoint, response.status().as_u16(), started.elapsed());
    response
}

async fn sign(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, AtisError> {
    check_content_type(headers)?;
    let caller = authorize(state, headers, peer, Scope::Sign)?;
    let fields = match fast::signing(body) {
        Some(fields) => fields,
        None => signing_fields(body)?,
    };
    let signed = state
        .signing
        .sign(SignRequest {
            customer: caller.customer,
            orig: fields.orig,
            dest: fields.dest,
            iat: fields.iat,
            requested_attest: Some(fields.attest),
            origid: Some(fields.origid),
            reason: fields.reason,
        })
        .map_err(|e| match e {
            SigningError::Refused(refusal) => {
                state.brand_refusal(&refusal, fields.iat);
                AtisError::Refused(refusal.to_string())
            }
            other => {
                tracing::error!(error = %other, "signing failed");
                AtisError::Internal
            }
        })?;
    state.metrics.observe_attestation(signed.attest);
    state.record_signed(&signed, unix_now());
    let mut identities = signed.identities.into_iter();
    let identity = identities.next().unwrap_or_default();
    // Written directly: the identity needs no JSON escaping beyond what write_str does.
    let mut out = String::with_capacity(identity.len() + 40);
    out.push_str("{\"signingResponse\":{\"identity\":");
    passport::json::write_str(&mut out, &identity);
    // A brand's call: every Identity header to add, the SHAKEN one first, then `rcd`.
    if signed.brand.is_some() {
        out.push_str(",\"identities\":[");
        passport::json::write_str(&mut out, &identity);
        for more in identities {
            out.push(',');
            passport::json::write_str(&mut out, &more);
        }
        out.push(']');
    }
    out.push_str("}}");
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        out,
    )
        .into_response())
}

/// What a signing request asks for.
pub(crate) struct SigningFields {
    attest: Attestation,
    orig: TelephoneNumber,
    dest: Vec<TelephoneNumber>,
    iat: i64,
    origid: String,
    /// `callReason` (callproof's extension): a brand's call reason code or text.
    reason: Option<String>,
}

/// The fields of a signing request, read the slow way that names exactly what is missing
/// or invalid (the fast path gave up on this body).
fn signing_fields(body: &[u8]) -> Result<SigningFields, AtisError> {
    let root = parse_body(body)?;
    let req = member(&root, &["signingRequest"])?
        .ok_or_else(|| AtisError::MissingParameter("signingRequest".into()))?;
    let req = object(req, "signingRequest")?;
    let attest = required(req, &["attest"])?;
    let attest = attest
        .as_str()
        .and_then(Attestation::parse)
        .ok_or_else(|| AtisError::InvalidValue("attest".into(), short(attest)))?;
    let orig = single_tn(required(req, &["orig"])?, "orig")?;
    let dest = tn_list(required(req, &["dest"])?, "dest")?;
    let iat = integer(required(req, &["iat"])?, "iat")?;
    let origid = required(req, &["origid"])?;
    let origid = origid
        .as_str()
        .filter(|s| passport::claims::is_uuid(s))
        .ok_or_else(|| AtisError::InvalidValue("origid".into(), short(origid)))?
        .to_owned();
    let reason = match req.get("callReason").filter(|v| !v.is_null()) {
        None => None,
        Some(v) => Some(
            v.as_str()
                .filter(|s| !s.trim().is_empty() && s.len() <= 64)
                .ok_or_else(|| AtisError::InvalidValue("callReason".into(), short(v)))?
                .to_owned(),
        ),
    };
    Ok(SigningFields {
        attest,
        orig,
        dest,
        iat,
        origid,
        reason,
    })
}

/// `POST /stir/v1/verification`.
pub async fn verification(
    State(state): State<Arc<AppState>>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    timed(
        &state,
        "verification",
        verify(&state, peer, &headers, &body),
    )
    .await
}

async fn verify(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, AtisError> {
    check_content_type(headers)?;
    authorize(state, headers, peer, Scope::Verify)?;
    let (from, to, time, identities) = match fast::verification(body) {
        Some((from, to, time, identity)) => (from, to, time, vec![identity]),
        None => verification_fields(body)?,
    };
    let call = CallContext {
        from,
        to,
        now: unix_now(),
        request_time: Some(time),
    };
    let verdict = state.verification.verify(&identities, &call).await;
    state.metrics.observe_verdict(&verdict);
    state.verification_evidence(&verdict, &call, &identities);
    let response = verdict.response();
    let (brand, brand_withheld) = match verdict.rcd {
        RcdOutcome::Absent => (None, None),
        RcdOutcome::Shown(display) => (Some(display), None),
        RcdOutcome::Withheld { reason } => (None, Some(reason)),
    };
    let detail = Detail {
        replayed: verdict.replayed,
        brand,
        brand_withheld,
    };
    let body = VerificationBody {
        verification_response: response,
        callproof: (detail.replayed || detail.brand.is_some() || detail.brand_withheld.is_some())
            .then_some(detail),
    };
    Ok(Json(body).into_response())
}

/// The verification answer: the ATIS body first, then callproof's own detail when there
/// is something to report (a replay).
#[derive(serde::Serialize)]
struct VerificationBody {
    #[serde(rename = "verificationResponse")]
    verification_response: engine::atis::VerificationResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    callproof: Option<Detail>,
}

/// callproof's detail: a replay, and the brand a phone may show (verified Rich Call Data)
/// or why none is shown.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    replayed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    brand: Option<BrandDisplay>,
    #[serde(skip_serializing_if = "Option::is_none")]
    brand_withheld: Option<String>,
}

/// The fields of a verification request, read the slow way that names exactly what is
/// missing or invalid.
fn verification_fields(
    body: &[u8],
) -> Result<(TelephoneNumber, Vec<TelephoneNumber>, i64, Vec<String>), AtisError> {
    let root = parse_body(body)?;
    let req = member(&root, &["verificationRequest"])?
        .ok_or_else(|| AtisError::MissingParameter("verificationRequest".into()))?;
    let req = object(req, "verificationRequest")?;
    let from = single_tn(required(req, &["from", "orig"])?, "from")?;
    let to = tn_list(required(req, &["to", "dest"])?, "to")?;
    let time = integer(required(req, &["time", "iat"])?, "time")?;
    // One Identity header value, or (callproof's extension, for a SHAKEN PASSporT with its
    // `rcd` PASSporT) an array of them.
    let identity = required(req, &["identity"])?;
    let invalid = || AtisError::InvalidValue("identity".into(), short(identity));
    let identities = match identity {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(invalid))
            .collect::<Result<_, _>>()?,
        _ => return Err(invalid()),
    };
    Ok((from, to, time, identities))
}

/// The current Unix time.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn check_content_type(headers: &HeaderMap) -> Result<(), AtisError> {
    match headers.get(axum::http::header::CONTENT_TYPE) {
        // Absent: accepted, the body is read as JSON.
        None => Ok(()),
        Some(v) => {
            let v = v.to_str().unwrap_or_default();
            let mime = v.split(';').next().unwrap_or_default().trim();
            if mime.eq_ignore_ascii_case("application/json") {
                Ok(())
            } else {
                Err(AtisError::UnsupportedMediaType(
                    v.chars().take(100).collect(),
                ))
            }
        }
    }
}

fn parse_body(body: &[u8]) -> Result<Value, AtisError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AtisError::MissingBody);
    }
    serde_json::from_slice(body).map_err(|e| AtisError::Unparsable(e.to_string()))
}

fn object<'a>(v: &'a Value, name: &str) -> Result<&'a Map<String, Value>, AtisError> {
    v.as_object()
        .ok_or_else(|| AtisError::InvalidValue(name.into(), short(v)))
}

/// The first of `names` present in `v` (an object), or `None`.
fn member<'a>(v: &'a Value, names: &[&str]) -> Result<Option<&'a Value>, AtisError> {
    let obj = object(v, "body")?;
    Ok(names.iter().find_map(|n| obj.get(*n)))
}

fn required<'a>(obj: &'a Map<String, Value>, names: &[&str]) -> Result<&'a Value, AtisError> {
    names
        .iter()
        .find_map(|n| obj.get(*n).filter(|v| !v.is_null()))
        .ok_or_else(|| {
            AtisError::MissingParameter(names.first().copied().unwrap_or_default().into())
        })
}

fn integer(v: &Value, name: &str) -> Result<i64, AtisError> {
    v.as_i64()
        .ok_or_else(|| AtisError::InvalidValue(name.into(), short(v)))
}

/// `{"tn": "..."}` (or `{"tn": ["..."]}` with one number).
fn single_tn(v: &Value, name: &str) -> Result<TelephoneNumber, AtisError> {
    let list = tn_list(v, name)?;
    match list.as_slice() {
        [one] => Ok(*one),
        _ => Err(AtisError::InvalidValue(format!("{name}.tn"), short(v))),
    }
}

/// `{"tn": ["...", ...]}` or `{"tn": "..."}`.
fn tn_list(v: &Value, name: &str) -> Result<Vec<TelephoneNumber>, AtisError> {
    let obj = object(v, name)?;
    let tn = obj
        .get("tn")
        .ok_or_else(|| AtisError::MissingParameter(format!("{name}.tn")))?;
    let invalid = || AtisError::InvalidValue(format!("{name}.tn"), short(tn));
    let parse = |s: &Value| {
        s.as_str()
            .and_then(|s| TelephoneNumber::parse(s).ok())
            .ok_or_else(invalid)
    };
    match tn {
        Value::String(_) => Ok(vec![parse(tn)?]),
        Value::Array(items) if !items.is_empty() && items.len() <= passport::claims::MAX_DEST => {
            items.iter().map(parse).collect()
        }
        _ => Err(invalid()),
    }
}

/// A value, shortened for an error message.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        format!("{}...", s.chars().take(80).collect::<String>())
    } else {
        s
    }
}

/// The fast path for well-formed requests: typed, borrowing deserialisation with no
/// intermediate `serde_json::Value`. Anything it does not accept goes to the slow path,
/// which finds the precise ATIS error.
mod fast {
    use std::borrow::Cow;
    use std::fmt;

    use passport::TelephoneNumber;
    use passport::claims::Attestation;
    use serde::Deserialize;
    use serde::de::{self, SeqAccess, Visitor};

    #[derive(Deserialize)]
    struct Signing<'a> {
        #[serde(rename = "signingRequest", borrow)]
        request: SigningFields<'a>,
    }

    #[derive(Deserialize)]
    struct SigningFields<'a> {
        #[serde(borrow)]
        attest: Cow<'a, str>,
        orig: Tns,
        dest: Tns,
        iat: i64,
        #[serde(borrow)]
        origid: Cow<'a, str>,
        #[serde(rename = "callReason", default, borrow)]
        call_reason: Option<Cow<'a, str>>,
    }

    #[derive(Deserialize)]
    struct Verification<'a> {
        #[serde(rename = "verificationRequest", borrow)]
        request: VerificationFields<'a>,
    }

    #[derive(Deserialize)]
    struct VerificationFields<'a> {
        #[serde(alias = "orig")]
        from: Tns,
        #[serde(alias = "dest")]
        to: Tns,
        #[serde(alias = "iat")]
        time: i64,
        #[serde(borrow)]
        identity: Cow<'a, str>,
    }

    /// `{"tn": "..."}` or `{"tn": ["...", ...]}`.
    #[derive(Deserialize)]
    struct Tns {
        tn: TnList,
    }

    struct TnList(Vec<TelephoneNumber>);

    impl<'de> Deserialize<'de> for TnList {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = TnList;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a number or an array of numbers")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<TnList, E> {
                    TelephoneNumber::parse(v)
                        .map(|tn| TnList(vec![tn]))
                        .map_err(E::custom)
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TnList, A::Error> {
                    let mut out = Vec::with_capacity(1);
                    while let Some(s) = seq.next_element::<Cow<'de, str>>()? {
                        if out.len() == passport::claims::MAX_DEST {
                            return Err(de::Error::custom("too many numbers"));
                        }
                        out.push(TelephoneNumber::parse(&s).map_err(de::Error::custom)?);
                    }
                    if out.is_empty() {
                        return Err(de::Error::custom("no number"));
                    }
                    Ok(TnList(out))
                }
            }
            d.deserialize_any(V)
        }
    }

    /// The fields of a well-formed signing request.
    pub(super) fn signing(body: &[u8]) -> Option<super::SigningFields> {
        let r = serde_json::from_slice::<Signing<'_>>(body).ok()?.request;
        let attest = Attestation::parse(&r.attest)?;
        let [orig] = r.orig.tn.0.as_slice() else {
            return None;
        };
        passport::claims::is_uuid(&r.origid).then_some(())?;
        let reason = match r.call_reason {
            // The slow path names what is wrong with it.
            Some(reason) if reason.trim().is_empty() || reason.len() > 64 => return None,
            reason => reason.map(Cow::into_owned),
        };
        Some(super::SigningFields {
            attest,
            orig: *orig,
            dest: r.dest.tn.0,
            iat: r.iat,
            origid: r.origid.into_owned(),
            reason,
        })
    }

    /// from, to, time, identity of a well-formed verification request.
    pub(super) fn verification(
        body: &[u8],
    ) -> Option<(TelephoneNumber, Vec<TelephoneNumber>, i64, String)> {
        let r = serde_json::from_slice::<Verification<'_>>(body)
            .ok()?
            .request;
        let [from] = r.from.tn.0.as_slice() else {
            return None;
        };
        Some((*from, r.to.tn.0, r.time, r.identity.into_owned()))
    }
}
