//! Call checks and the call registry over HTTP.
//!
//! Public: `POST /v1/check`, a customer's question "is this brand calling me now?" by the
//! pair of numbers or by a one-time code; rate-limited, and the same shape whatever the
//! answer.
//!
//! For a brand's dialler and app (the `calls` scope; operators, the brand's own customer,
//! or a partner authorised for the calling number): `POST /v1/brands/{slug}/calls`
//! registers a call and returns its one-time code, `GET .../calls/{id}` reads it back,
//! `POST .../calls/{id}/end` marks it ended, `POST /v1/brands/{slug}/call-status` tells the
//! brand's app what it is doing with one customer's number now, and
//! `GET /v1/brands/{slug}/scripts` gives the voicemail and SMS texts.

use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query as QueryParams, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use engine::brand::{BrandCheck, BrandInfo, BrandRefusal};
use engine::brand_rules as rules;
use engine::call_check::{self, CallCode};
use passport::TelephoneNumber;
use serde::Deserialize;
use serde_json::{Value, json};
use store::{CallCode as StoredCode, CallId, CallRecord, CallSource, NewCall, StoreError};

use super::AppState;
use super::admin::{CallsRequest, clip};
use super::atis::unix_now;
use super::idempotency::Reply;
use super::problem::{Problem, ProblemType};
use crate::check::{CheckError, Finding, Query, check_url};
use crate::listener::PeerAddr;

/// Longest agent first name.
pub const MAX_AGENT_NAME: usize = 32;
/// Longest agent reference.
pub const MAX_AGENT_REF: usize = 64;

fn tn(field: &str, s: &str) -> Result<TelephoneNumber, Problem> {
    TelephoneNumber::parse(s).map_err(|e| Problem::invalid(format!("{field}: {e}")))
}

// ---------------------------------------------------------------------------------------------
// The public check

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CheckBody {
    brand: String,
    #[serde(default)]
    calling_number: Option<String>,
    #[serde(default)]
    called_number: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

/// Parses a check: the pair of numbers, or a code.
fn check_query(
    calling: Option<&str>,
    called: Option<&str>,
    code: Option<&str>,
) -> Result<Query, Problem> {
    match (calling, called, code) {
        (Some(calling), Some(called), None) => Ok(Query::Pair {
            calling: tn("callingNumber", calling)?,
            called: tn("calledNumber", called)?,
        }),
        (_, _, Some(code)) => CallCode::parse(code).map(Query::Code).ok_or_else(|| {
            Problem::invalid(format!(
                "code must be the {} digits the caller read out",
                call_check::CODE_DIGITS
            ))
        }),
        _ => Err(Problem::invalid(
            "give callingNumber (the number on your screen) and calledNumber (your number), or code",
        )),
    }
}

/// A rate-limit refusal, with `Retry-After`.
pub fn limited(what: &str, retry_after: u64) -> Response {
    let mut r = Problem::new(
        ProblemType::TooManyRequests,
        format!("too many checks {what}; try again in {retry_after} seconds"),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

impl From<CheckError> for Problem {
    fn from(e: CheckError) -> Self {
        match e {
            CheckError::UnknownBrand(slug) => Self::new(
                ProblemType::NotFound,
                format!("brand {slug:?} does not exist"),
            ),
            e @ CheckError::Limited { .. } => {
                Self::new(ProblemType::TooManyRequests, e.to_string())
            }
            CheckError::Store(e) => Self::from(e),
        }
    }
}

/// The answer to a check, every key present whatever the answer.
pub fn finding_json(state: &AppState, brand: &BrandInfo, finding: &Finding) -> Value {
    let b = &brand.brand;
    let call = match finding {
        Finding::CallingNow(f) | Finding::CalledRecently(f) => Some(f),
        Finding::NotUs | Finding::CodeInvalid => None,
    };
    let advice = match finding {
        Finding::CallingNow(_) => format!(
            "Yes, {} is calling you now. You can talk to them. They will never ask for your PIN or passwords.",
            b.display_name
        ),
        Finding::CalledRecently(_) => format!(
            "{} called you recently, but is not calling you now. If someone is on the line now, hang up and call {} back on its listed number.",
            b.display_name, b.display_name
        ),
        Finding::NotUs => format!(
            "No, this is not {}. Hang up. If you want to talk to {}, call its listed number yourself.",
            b.display_name, b.display_name
        ),
        Finding::CodeInvalid => format!(
            "This code does not work: codes work once, for a few minutes. If the caller gave it to you, hang up and call {} on its listed number.",
            b.display_name
        ),
    };
    json!({
        "brand": { "slug": b.slug, "displayName": b.display_name, "logo": brand.logo_url },
        "answer": finding.as_str(),
        "callingNumber": call.map(|c| c.calling.as_str()),
        "reason": call.and_then(|c| c.reason.as_ref()).map(|r| json!({"code": r.code, "text": r.text})),
        "agent": call.and_then(|c| c.agent.as_ref()).map(|a| json!({"firstName": a})),
        "startedAt": call.map(|c| c.started_at),
        "callBack": b.callback.as_ref().map(TelephoneNumber::as_str),
        "checkPage": check_url(state.brands.public_url(), &b.slug),
        "advice": advice,
    })
}

/// `POST /v1/check`: public.
pub async fn check(
    State(state): State<Arc<AppState>>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let body: CheckBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return Problem::invalid(format!("the body is not a valid check: {e}")).into_response();
        }
    };
    let query = match check_query(
        body.calling_number.as_deref(),
        body.called_number.as_deref(),
        body.code.as_deref(),
    ) {
        Ok(q) => q,
        Err(p) => return p.into_response(),
    };
    let client = state.checker.client(peer, &headers);
    let now = unix_now();
    let result = state.checker.check(&body.brand, &query, client, now).await;
    match result {
        Ok(outcome) => {
            let mut r =
                Json(finding_json(&state, &outcome.brand, &outcome.finding)).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(CheckError::Limited { what, retry_after }) => limited(what, retry_after),
        Err(e) => Problem::from(e).into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// The registry

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AgentBody {
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RegisterBody {
    calling_number: String,
    called_number: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    agent: Option<AgentBody>,
    /// Issue a one-time code (default true).
    #[serde(default)]
    code: Option<bool>,
}

/// A call as the brand's API shows it.
fn call_json(state: &AppState, brand: &BrandInfo, c: &CallRecord) -> Value {
    let reason = c.reason.as_deref().and_then(|r| brand.reason(r));
    json!({
        "id": c.id.0,
        "brand": brand.brand.slug,
        "partner": c.partner.map(|p| p.0),
        "callingNumber": c.calling.as_str(),
        "calledNumber": c.called.as_str(),
        "reason": reason.map(|r| json!({"code": r.code, "text": r.text})),
        "agent": (c.agent_ref.is_some() || c.agent_name.is_some()).then(|| json!({
            "reference": c.agent_ref, "firstName": c.agent_name
        })),
        "source": c.source.as_str(),
        "startedAt": c.started_at,
        "endedAt": c.ended_at,
        "inProgress": call_check::in_progress(c, unix_now(), &state.checker.windows()),
        "codeExpiresAt": c.code_expires_at,
        "codeUsedAt": c.code_used_at,
    })
}

/// The brand `slug` from this node's brand policy.
fn brand_info(state: &AppState, slug: &str) -> Result<Arc<BrandInfo>, Problem> {
    state.brands.get().by_slug(slug).cloned().ok_or_else(|| {
        Problem::new(
            ProblemType::NotFound,
            format!("brand {:?} does not exist", clip(slug)),
        )
    })
}

/// What a caller may see of a brand's calls.
enum Access {
    /// Every call: an operator, or the brand's own customer.
    Brand,
    /// Only the calls made under these partner authorisations (a partner's calls carry
    /// customers' numbers of its own campaigns, not the brand's other calls).
    Partner(Vec<store::PartnerId>),
}

impl Access {
    fn sees(&self, call: &CallRecord) -> bool {
        match self {
            Self::Brand => true,
            Self::Partner(ids) => call.partner.is_some_and(|p| ids.contains(&p)),
        }
    }
}

/// What the caller may see of `brand`'s calls; a caller that is neither an operator, the
/// brand's customer, nor an authorised partner is refused.
fn access(req: &CallsRequest, brand: &BrandInfo, state: &AppState) -> Result<Access, Problem> {
    let req = &req.0;
    let me = req.caller.customer.as_ref().map(|c| c.id);
    if req.operator || me == Some(brand.brand.customer) {
        return Ok(Access::Brand);
    }
    let now = unix_now();
    let partners: Vec<store::PartnerId> = me
        .map(|me| {
            state
                .brands
                .get()
                .partner_authorisations(brand.brand.id, me)
                .iter()
                .filter(|p| p.standing(now) == store::Standing::InForce)
                .map(|p| p.id)
                .collect()
        })
        .unwrap_or_default();
    if partners.is_empty() {
        Err(Problem::new(
            ProblemType::Forbidden,
            format!(
                "this API key may not act for brand {:?}: it is neither the brand's nor an authorised partner's",
                brand.brand.slug
            ),
        ))
    } else {
        Ok(Access::Partner(partners))
    }
}

/// The brand's call `id`, if the caller may see it (a call it may not see is not found).
async fn visible_call(
    state: &AppState,
    brand: &BrandInfo,
    access: &Access,
    id: &str,
) -> Result<CallRecord, Problem> {
    let id = call_id(id)?;
    state
        .store
        .call(brand.brand.id, id)
        .await?
        .filter(|c| access.sees(c))
        .ok_or_else(|| {
            Problem::new(
                ProblemType::NotFound,
                format!("no call {id} of brand {:?}", brand.brand.slug),
            )
        })
}

fn printable_opt(field: &str, s: Option<&String>, max: usize) -> Result<(), Problem> {
    match s {
        Some(s) if s.trim().is_empty() => Err(Problem::invalid(format!("{field} is empty"))),
        Some(s) => rules::printable(field, s, max).map_err(Problem::invalid),
        None => Ok(()),
    }
}

/// `POST /v1/brands/{slug}/calls`: registers a call the brand (or a partner) makes now.
pub async fn register(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    req: CallsRequest,
) -> Response {
    req.0
        .write_only(&state, async {
            let brand = brand_info(&state, &slug)?;
            let body: RegisterBody = req.0.json()?;
            let calling = tn("callingNumber", &body.calling_number)?;
            let called = tn("calledNumber", &body.called_number)?;
            let agent = body.agent.unwrap_or(AgentBody {
                reference: None,
                first_name: None,
            });
            printable_opt("agent.reference", agent.reference.as_ref(), MAX_AGENT_REF)?;
            printable_opt("agent.firstName", agent.first_name.as_ref(), MAX_AGENT_NAME)?;
            let now = unix_now();
            // The same policy as signing: a listed number of this brand, used by the brand
            // or a partner authorised for it, a reason of the brand's, no marketing to an
            // opted-out number. An operator acts as the brand.
            let acting = if req.0.operator {
                Some(brand.brand.customer)
            } else {
                req.0.caller.customer.as_ref().map(|c| c.id)
            };
            let dest = [called];
            let grant = state
                .brands
                .decide(&BrandCheck {
                    customer: acting,
                    orig: &calling,
                    dest: &dest,
                    reason: body.reason.as_deref(),
                    now,
                })
                .map_err(|refusal| {
                    state.brand_refusal(&refusal, now);
                    refused(&refusal)
                })?;
            let grant = match grant {
                Some(g) if g.brand.brand.id == brand.brand.id => g,
                Some(g) => {
                    return Err(Problem::new(
                        ProblemType::Forbidden,
                        format!(
                            "{} is a listed number of brand {:?}, not of {:?}",
                            calling.as_str(),
                            g.brand.brand.slug,
                            brand.brand.slug
                        ),
                    ));
                }
                None => {
                    return Err(Problem::invalid(format!(
                        "callingNumber {} is not one of brand {:?}'s listed numbers: calls are registered only from numbers the brand publishes",
                        calling.as_str(),
                        brand.brand.slug
                    )));
                }
            };
            let with_code = body.code.unwrap_or(true);
            let ttl = state.config.check.code_ttl_secs;
            // A code another of the brand's live calls holds is a conflict: draw again.
            for _ in 0..8 {
                let code = with_code.then(new_code).transpose()?;
                let call = NewCall {
                    brand: brand.brand.id,
                    partner: grant.partner,
                    calling,
                    called,
                    reason: grant.reason.as_ref().map(|r| r.code.clone()),
                    agent_ref: agent.reference.clone(),
                    agent_name: agent.first_name.clone(),
                    source: CallSource::Registered,
                    started_at: now,
                    code: code.as_ref().map(|c| StoredCode {
                        digest: c.digest(brand.brand.id),
                        expires_at: now + ttl,
                    }),
                };
                let id = match state.store.record_calls(std::slice::from_ref(&call)).await {
                    Ok(ids) => ids.first().copied().ok_or_else(|| {
                        Problem::internal(&"the store recorded no call")
                    })?,
                    Err(StoreError::Conflict { .. }) if code.is_some() => continue,
                    Err(e) => return Err(e.into()),
                };
                state.metrics.observe_registry("registered", 1);
                // The call as written: no need to read it back.
                let record = CallRecord {
                    id,
                    brand: call.brand,
                    partner: call.partner,
                    calling: call.calling,
                    called: call.called,
                    reason: call.reason,
                    agent_ref: call.agent_ref,
                    agent_name: call.agent_name,
                    source: call.source,
                    started_at: call.started_at,
                    ended_at: None,
                    code_expires_at: call.code.map(|c| c.expires_at),
                    code_used_at: None,
                };
                let mut body = call_json(&state, &brand, &record);
                if let Some(obj) = body.as_object_mut() {
                    obj.insert("code".into(), json!(code.as_ref().map(CallCode::display)));
                    obj.insert(
                        "checkPage".into(),
                        json!(check_url(state.brands.public_url(), &brand.brand.slug)),
                    );
                }
                let location = HeaderValue::from_str(&format!(
                    "/v1/brands/{}/calls/{}",
                    brand.brand.slug, id.0
                ))
                .unwrap_or_else(|_| HeaderValue::from_static("/v1/brands"));
                return Ok(Reply::json(StatusCode::CREATED, body)
                    .with_header(header::LOCATION, location));
            }
            Err(Problem::internal(&"no free call code after 8 draws"))
        })
        .await
}

fn refused(refusal: &BrandRefusal) -> Problem {
    match refusal {
        BrandRefusal::UnknownReason { .. } => Problem::invalid(refusal.to_string()),
        _ => Problem::new(ProblemType::Forbidden, refusal.to_string()),
    }
}

fn new_code() -> Result<CallCode, Problem> {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Problem::internal(&"no randomness"))?;
    Ok(CallCode::from_random(bytes))
}

fn call_id(id: &str) -> Result<CallId, Problem> {
    id.parse::<i64>()
        .map(CallId)
        .map_err(|_| Problem::new(ProblemType::NotFound, format!("no call {:?}", clip(id))))
}

/// `GET /v1/brands/{slug}/calls/{id}`.
pub async fn get_call(
    State(state): State<Arc<AppState>>,
    Path((slug, id)): Path<(String, String)>,
    req: CallsRequest,
) -> Response {
    let result = async {
        let brand = brand_info(&state, &slug)?;
        let access = access(&req, &brand, &state)?;
        let call = visible_call(&state, &brand, &access, &id).await?;
        Ok::<_, Problem>(Json(call_json(&state, &brand, &call)).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /v1/brands/{slug}/calls/{id}/end`: the call is over (idempotent).
pub async fn end_call(
    State(state): State<Arc<AppState>>,
    Path((slug, id)): Path<(String, String)>,
    req: CallsRequest,
) -> Response {
    req.0
        .write_only(&state, async {
            let brand = brand_info(&state, &slug)?;
            let access = access(&req, &brand, &state)?;
            let id = match access {
                Access::Brand => call_id(&id)?,
                // A partner ends only its own calls: look first.
                Access::Partner(_) => visible_call(&state, &brand, &access, &id).await?.id,
            };
            let call = state.store.end_call(brand.brand.id, id, unix_now()).await?;
            Ok(Reply::json(
                StatusCode::OK,
                call_json(&state, &brand, &call),
            ))
        })
        .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct StatusBody {
    called_number: String,
}

/// `POST /v1/brands/{slug}/call-status`: for the brand's own app, which knows its
/// customer's number: every call of the brand to that number in the recent window, and
/// whether one is in progress.
pub async fn call_status(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    req: CallsRequest,
) -> Response {
    let result = async {
        let brand = brand_info(&state, &slug)?;
        if !(req.0.operator
            || req.0.caller.customer.as_ref().map(|c| c.id) == Some(brand.brand.customer))
        {
            return Err(Problem::new(
                ProblemType::Forbidden,
                format!(
                    "only brand {:?}'s own keys read its customers' call status",
                    brand.brand.slug
                ),
            ));
        }
        let body: StatusBody = req.0.json()?;
        let called = tn("calledNumber", &body.called_number)?;
        let now = unix_now();
        let windows = state.checker.windows();
        let calls = state
            .store
            .calls_to(brand.brand.id, &called, now - windows.recent_secs, 50)
            .await?;
        let live = calls
            .iter()
            .any(|c| call_check::in_progress(c, now, &windows));
        let status = if live {
            "calling-now"
        } else if calls.is_empty() {
            "none"
        } else {
            "called-recently"
        };
        state.metrics.observe_check(&brand.brand.slug, "app");
        Ok(Json(json!({
            "status": status,
            "calls": calls.iter().map(|c| call_json(&state, &brand, c)).collect::<Vec<_>>(),
        }))
        .into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
/// The query of `GET /v1/brands/{slug}/scripts`.
pub struct ScriptsParams {
    /// A call reason code or text of the brand's.
    #[serde(default)]
    reason: Option<String>,
}

/// `GET /v1/brands/{slug}/scripts[?reason=...]`: what to leave on voicemail and send by SMS.
pub async fn scripts(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    QueryParams(params): QueryParams<ScriptsParams>,
    req: CallsRequest,
) -> Response {
    let result = async {
        let brand = brand_info(&state, &slug)?;
        access(&req, &brand, &state)?;
        let reason = match &params.reason {
            Some(r) => Some(brand.reason(r).ok_or_else(|| {
                Problem::invalid(format!(
                    "{:?} is not a call reason of brand {slug:?}",
                    clip(r)
                ))
            })?),
            None => None,
        };
        let s = call_check::scripts(
            &brand.brand,
            reason,
            &check_url(state.brands.public_url(), &brand.brand.slug),
        );
        let septets = call_check::gsm7_len(&s.sms);
        Ok::<_, Problem>(
            Json(json!({
                "voicemail": s.voicemail,
                "sms": s.sms,
                "smsEncoding": if septets.is_some() { "gsm-7" } else { "ucs-2" },
                "smsSegments": match septets {
                    Some(n) if n <= call_check::SMS_SEGMENT => 1,
                    Some(n) => n.div_ceil(153),
                    None => s.sms.encode_utf16().count().div_ceil(67),
                },
            }))
            .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
