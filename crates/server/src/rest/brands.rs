//! The brand registry API (`/v1/brands/...`, admin scope): brands with their display name,
//! logo, call reasons and what their callers never ask for; their listed (outbound) and
//! inbound-only numbers; partners authorised to call in their name; opt-outs; the events
//! their security team sees. `PUT /v1/dno` replaces the national Do-Not-Originate list.
//!
//! Operators (keys bound to no customer; development-mode loopback callers) manage every
//! brand; a key bound to a customer manages only that customer's brands, so a partner's
//! key cannot authorise itself or read another brand's events. Only operators replace the
//! national Do-Not-Originate list.
//!
//! Every write reaches this node's brand policy before the answer leaves, and every other
//! node within a second (a revoked partner is refused everywhere within 5 s).
//!
//! Public: `GET /brands/{slug}/logo`, the logo that `rcd` PASSporTs point at.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use passport::TelephoneNumber;
use passport::rcd::{DigestAlg, integrity_digest};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{
    Brand, BrandFields, BrandNumberKind, CallReason, NewPartner, NumberBlock, Partner, PartnerId,
    Scope, StoreError,
};

use engine::brand_rules as rules;

use super::AppState;
use super::admin::{
    AdminRequest, NumbersBody, block_json, clip, find_customer, parse_blocks, total,
};
use super::atis::unix_now;
use super::idempotency::Reply;
use super::problem::{Problem, ProblemType};
use crate::listener::PeerAddr;

/// The largest logo.
pub const MAX_LOGO_BYTES: usize = engine::rich_call::MAX_LOGO_BYTES;
/// Numbers in one opt-out request at most.
pub const MAX_OPT_OUTS_PER_REQUEST: usize = 100_000;

/// A brand as the API shows it.
pub fn brand_json(brand: &Brand, logo_url: Option<&str>) -> Value {
    json!({
        "slug": brand.slug,
        "legalName": brand.legal_name,
        "displayName": brand.display_name,
        "callReasons": brand.call_reasons.iter().map(|r| json!({
            "code": r.code, "text": r.text, "marketing": r.marketing
        })).collect::<Vec<_>>(),
        "neverAsk": brand.never_ask,
        "callback": brand.callback.as_ref().map(TelephoneNumber::as_str),
        "logo": brand.logo.as_ref().map(|l| json!({
            "url": logo_url,
            "contentType": l.content_type,
            "digest": l.digest,
            "bytes": l.len,
        })),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BrandBody {
    #[serde(default)]
    slug: Option<String>,
    #[serde(default)]
    customer: Option<String>,
    legal_name: String,
    display_name: String,
    #[serde(default)]
    call_reasons: Vec<ReasonBody>,
    #[serde(default)]
    never_ask: Vec<String>,
    /// The number customers should call back on.
    #[serde(default)]
    callback: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    code: String,
    text: String,
    #[serde(default)]
    marketing: bool,
}

fn printable(field: &str, s: &str, max_chars: usize) -> Result<(), Problem> {
    rules::printable(field, s, max_chars).map_err(Problem::invalid)
}

/// Checks a brand's fields: a display name a phone can show, reasons with token codes.
fn brand_fields(body: BrandBody) -> Result<BrandFields, Problem> {
    printable("legalName", &body.legal_name, rules::MAX_LONG_TEXT)?;
    printable("displayName", &body.display_name, rules::MAX_DISPLAY_NAME)?;
    let reasons: Vec<CallReason> = body
        .call_reasons
        .into_iter()
        .map(|r| CallReason {
            code: r.code,
            text: r.text,
            marketing: r.marketing,
        })
        .collect();
    rules::check_reasons("callReasons", &reasons).map_err(Problem::invalid)?;
    for (i, s) in body.never_ask.iter().enumerate() {
        printable(&format!("neverAsk[{i}]"), s, rules::MAX_LONG_TEXT)?;
    }
    let callback = body
        .callback
        .as_deref()
        .map(|c| TelephoneNumber::parse(c).map_err(|e| Problem::invalid(format!("callback: {e}"))))
        .transpose()?;
    Ok(BrandFields {
        legal_name: body.legal_name,
        display_name: body.display_name,
        call_reasons: reasons,
        never_ask: body.never_ask,
        callback,
    })
}

/// Refuses a caller that may not manage `brand`: only operators and the brand's own
/// customer may (a partner's key cannot authorise itself, or touch another brand).
fn check_manages(req: &AdminRequest, brand: &Brand) -> Result<(), Problem> {
    let own = req.caller.customer.as_ref().map(|c| c.id) == Some(brand.customer);
    if req.operator || own {
        Ok(())
    } else {
        Err(Problem::new(
            ProblemType::Forbidden,
            format!(
                "this API key may manage only its own customer's brands, not {:?}",
                brand.slug
            ),
        ))
    }
}

/// The brand `slug`, if the caller may manage it.
pub(crate) async fn managed_brand(
    state: &AppState,
    req: &AdminRequest,
    slug: &str,
) -> Result<Brand, Problem> {
    let brand = find_brand(state, slug).await?;
    check_manages(req, &brand)?;
    Ok(brand)
}

async fn find_brand(state: &AppState, slug: &str) -> Result<Brand, Problem> {
    state.store.brand_by_slug(slug).await?.ok_or_else(|| {
        Problem::new(
            ProblemType::NotFound,
            format!("brand {:?} does not exist", clip(slug)),
        )
    })
}

fn logo_url(state: &AppState, brand: &Brand) -> Option<String> {
    brand
        .logo
        .as_ref()
        .map(|_| engine::brand::logo_url(state.brands.public_url(), &brand.slug))
}

/// `POST /v1/brands`.
pub async fn create_brand(State(state): State<Arc<AppState>>, req: AdminRequest) -> Response {
    req.write(&state, async {
        let mut body: BrandBody = req.json()?;
        let slug = body
            .slug
            .take()
            .ok_or_else(|| Problem::invalid("slug is required"))?;
        rules::check_slug("slug", &slug).map_err(Problem::invalid)?;
        let customer = body
            .customer
            .take()
            .ok_or_else(|| Problem::invalid("customer (the brand's own account) is required"))?;
        let customer = find_customer(&state, &customer).await?;
        if !req.operator && req.caller.customer.as_ref().map(|c| c.id) != Some(customer.id) {
            return Err(Problem::new(
                ProblemType::Forbidden,
                "this API key may create brands only for its own customer",
            ));
        }
        let fields = brand_fields(body)?;
        let brand = state
            .store
            .create_brand(&slug, customer.id, &fields, unix_now())
            .await?;
        let location = HeaderValue::from_str(&format!("/v1/brands/{slug}"))
            .unwrap_or_else(|_| HeaderValue::from_static("/v1/brands"));
        Ok(Reply::json(StatusCode::CREATED, brand_json(&brand, None))
            .with_header(header::LOCATION, location))
    })
    .await
}

/// `PUT /v1/brands/{slug}`: replaces its names, reasons and never-ask list.
pub async fn update_brand(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    req: AdminRequest,
) -> Response {
    req.write(&state, async {
        let body: BrandBody = req.json()?;
        if body.slug.as_deref().is_some_and(|s| s != slug) || body.customer.is_some() {
            return Err(Problem::invalid(
                "slug and customer cannot be changed (leave them out)",
            ));
        }
        let fields = brand_fields(body)?;
        let brand = managed_brand(&state, &req, &slug).await?;
        let brand = state
            .store
            .update_brand(brand.id, &fields, unix_now())
            .await?;
        Ok(Reply::json(
            StatusCode::OK,
            brand_json(&brand, logo_url(&state, &brand).as_deref()),
        ))
    })
    .await
}

/// `GET /v1/brands`.
pub async fn list_brands(State(state): State<Arc<AppState>>, req: AdminRequest) -> Response {
    match state.store.brands().await {
        Ok(brands) => Json(json!({
            "brands": brands
                .iter()
                .filter(|b| check_manages(&req, b).is_ok())
                .map(|b| brand_json(b, logo_url(&state, b).as_deref()))
                .collect::<Vec<_>>()
        }))
        .into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

/// `GET /v1/brands/{slug}`: the brand with its numbers.
pub async fn get_brand(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    req: AdminRequest,
) -> Response {
    let result = async {
        let brand = managed_brand(&state, &req, &slug).await?;
        let policy = state.store.brand_policy().await?;
        let list = |kind| {
            policy
                .blocks
                .iter()
                .filter(|b| b.brand == brand.id && b.kind == kind)
                .map(|b| block_json(&b.block))
                .collect::<Vec<_>>()
        };
        let mut out = brand_json(&brand, logo_url(&state, &brand).as_deref());
        if let Some(obj) = out.as_object_mut() {
            obj.insert("listedNumbers".into(), json!(list(BrandNumberKind::Listed)));
            obj.insert(
                "inboundOnlyNumbers".into(),
                json!(list(BrandNumberKind::InboundOnly)),
            );
        }
        Ok::<_, Problem>(Json(out).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `PUT /v1/brands/{slug}/logo`: the image bytes as the body, with their `Content-Type`.
pub async fn put_logo(
    State(state): State<Arc<AppState>>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let caller = super::auth::authorize(&state, &headers, peer, Scope::Admin)?;
        let operator = caller.customer.is_none() || super::auth::api_key(&headers).is_none();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        if !rules::LOGO_TYPES.contains(&content_type.as_str()) {
            return Err(Problem::new(
                ProblemType::UnsupportedMediaType,
                format!(
                    "a logo is one of {}, not {:?}",
                    rules::LOGO_TYPES.join(", "),
                    clip(&content_type)
                ),
            ));
        }
        if body.is_empty() || body.len() > MAX_LOGO_BYTES {
            return Err(Problem::invalid(format!(
                "a logo is 1 to {MAX_LOGO_BYTES} bytes, not {}",
                body.len()
            )));
        }
        let brand = find_brand(&state, &slug).await?;
        if !operator && caller.customer.as_ref().map(|c| c.id) != Some(brand.customer) {
            return Err(Problem::new(
                ProblemType::Forbidden,
                format!("this API key may manage only its own customer's brands, not {slug:?}"),
            ));
        }
        let digest = integrity_digest(DigestAlg::Sha256, &body);
        let meta = state
            .store
            .set_brand_logo(brand.id, &content_type, &digest, &body, unix_now())
            .await?;
        if let Err(e) = state.brands.refresh(state.store.as_ref()).await {
            tracing::warn!(error = %e, "brand policy refresh after a logo change failed");
        }
        // Calls signed from now on carry the new digest: check them against the new bytes.
        if let Some(logos) = state.verification.logos() {
            logos.put_local(
                &engine::brand::logo_url(state.brands.public_url(), &slug),
                Arc::from(body.to_vec()),
            );
        }
        Ok(Json(json!({
            "url": engine::brand::logo_url(state.brands.public_url(), &slug),
            "contentType": meta.content_type,
            "digest": meta.digest,
            "bytes": meta.len,
        }))
        .into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /brands/{slug}/logo` (public): the bytes its `rcdi` digest covers.
pub async fn get_logo(State(state): State<Arc<AppState>>, Path(slug): Path<String>) -> Response {
    let result = async {
        let brand = find_brand(&state, &slug).await?;
        let (meta, bytes) = state
            .store
            .brand_logo(brand.id)
            .await?
            .ok_or_else(|| Problem::new(ProblemType::NotFound, "this brand has no logo"))?;
        let etag = HeaderValue::from_str(&format!("\"{}\"", meta.digest))
            .unwrap_or_else(|_| HeaderValue::from_static("\"\""));
        Ok::<_, Problem>(
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_str(&meta.content_type)
                            .unwrap_or_else(|_| HeaderValue::from_static("image/png")),
                    ),
                    (header::ETAG, etag),
                    (
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("public, max-age=300"),
                    ),
                    (
                        header::X_CONTENT_TYPE_OPTIONS,
                        HeaderValue::from_static("nosniff"),
                    ),
                    (
                        header::CONTENT_SECURITY_POLICY,
                        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
                    ),
                ],
                bytes,
            )
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BrandNumbersBody {
    kind: String,
    numbers: Vec<super::admin::NumberItem>,
}

fn kind_and_blocks(body: BrandNumbersBody) -> Result<(BrandNumberKind, Vec<NumberBlock>), Problem> {
    let kind = BrandNumberKind::parse(&body.kind).ok_or_else(|| {
        Problem::invalid(format!(
            "kind is \"listed\" or \"inbound_only\", not {:?}",
            clip(&body.kind)
        ))
    })?;
    let blocks = parse_blocks(&NumbersBody {
        numbers: body.numbers,
    })?;
    Ok((kind, blocks))
}

/// `POST /v1/brands/{slug}/numbers`: `{"kind": "listed"|"inbound_only", "numbers": [...]}`.
pub async fn add_numbers(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    req: AdminRequest,
) -> Response {
    req.write(&state, async {
        let (kind, blocks) = kind_and_blocks(req.json()?)?;
        let brand = managed_brand(&state, &req, &slug).await?;
        state
            .store
            .add_brand_numbers(brand.id, kind, &blocks)
            .await?;
        Ok(Reply::json(
            StatusCode::CREATED,
            json!({
                "brand": slug, "kind": kind.as_str(),
                "added": blocks.iter().map(block_json).collect::<Vec<_>>(),
                "numbers": total(&blocks),
            }),
        ))
    })
    .await
}

/// `DELETE /v1/brands/{slug}/numbers`: each block exactly as added; all or none.
pub async fn remove_numbers(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    req: AdminRequest,
) -> Response {
    req.write(&state, async {
        let (kind, blocks) = kind_and_blocks(req.json()?)?;
        let brand = managed_brand(&state, &req, &slug).await?;
        match state
            .store
            .remove_brand_numbers(brand.id, kind, &blocks)
            .await
        {
            Ok(_) => {}
            Err(StoreError::NotFound { key, .. }) => {
                return Err(Problem::new(
                    ProblemType::NotFound,
                    format!(
                        "{key} is not a {} block of brand {slug:?} (nothing was removed)",
                        kind.as_str()
                    ),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        Ok(Reply::json(
            StatusCode::OK,
            json!({
                "brand": slug, "kind": kind.as_str(),
                "removed": blocks.iter().map(block_json).collect::<Vec<_>>(),
                "numbers": total(&blocks),
            }),
        ))
    })
    .await
}

/// A partner as the API (and the CLI's `--json`) shows it, with where it stands at `now`:
/// `in_force`, `revoked`, `not_yet` or `expired`.
pub fn partner_json(p: &Partner, customer: &str, now: i64) -> Value {
    let status = match p.standing(now) {
        store::Standing::InForce => "in_force",
        store::Standing::Revoked(_) => "revoked",
        store::Standing::NotYet(_) => "not_yet",
        store::Standing::Expired(_) => "expired",
    };
    json!({
        "id": p.id.0,
        "customer": customer,
        "numbers": p.numbers.iter().map(block_json).collect::<Vec<_>>(),
        "reasons": p.reasons,
        "validFrom": p.valid_from,
        "validUntil": p.valid_until,
        "revokedAt": p.revoked_at,
        "createdAt": p.created_at,
        "status": status,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PartnerBody {
    customer: String,
    numbers: Vec<super::admin::NumberItem>,
    #[serde(default)]
    reasons: Vec<String>,
    #[serde(default)]
    valid_from: Option<i64>,
    #[serde(default)]
    valid_until: Option<i64>,
}

/// `POST /v1/brands/{slug}/partners`: a call centre or reseller may call in the brand's
/// name from some of its listed numbers, for some of its reasons, for a while.
pub async fn create_partner(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    req: AdminRequest,
) -> Response {
    req.write(&state, async {
        let body: PartnerBody = req.json()?;
        let blocks = parse_blocks(&NumbersBody {
            numbers: body.numbers,
        })?;
        let brand = managed_brand(&state, &req, &slug).await?;
        let customer = find_customer(&state, &body.customer).await?;
        if customer.id == brand.customer {
            return Err(Problem::invalid(
                "the brand's own customer needs no partner authorisation",
            ));
        }
        let index = state.brands.get();
        for (i, b) in blocks.iter().enumerate() {
            let inside = index
                .listed_brand(&b.start())
                .is_some_and(|info| info.brand.id == brand.id)
                && index
                    .listed_brand(&last_number(b))
                    .is_some_and(|info| info.brand.id == brand.id);
            if !inside {
                return Err(Problem::invalid(format!(
                    "numbers[{i}] ({b}) is not within the listed numbers of brand {slug:?}"
                )));
            }
        }
        for (i, code) in body.reasons.iter().enumerate() {
            if !brand.call_reasons.iter().any(|r| r.code == *code) {
                return Err(Problem::invalid(format!(
                    "reasons[{i}] {:?} is not a call reason code of brand {slug:?}",
                    clip(code)
                )));
            }
        }
        let now = unix_now();
        let valid_from = body.valid_from.unwrap_or(now);
        if body.valid_until.is_some_and(|u| u <= valid_from) {
            return Err(Problem::invalid("validUntil must be after validFrom"));
        }
        let partner = state
            .store
            .create_partner(
                &NewPartner {
                    brand: brand.id,
                    customer: customer.id,
                    numbers: blocks,
                    reasons: body.reasons,
                    valid_from,
                    valid_until: body.valid_until,
                },
                now,
            )
            .await?;
        Ok(Reply::json(
            StatusCode::CREATED,
            partner_json(&partner, &customer.name, now),
        ))
    })
    .await
}

/// The last number of a block (same length as its start).
fn last_number(b: &NumberBlock) -> TelephoneNumber {
    let digits = b.digits();
    let text = format!("{:0digits$}", b.last_value());
    TelephoneNumber::parse(&text).unwrap_or(b.start())
}

/// `GET /v1/brands/{slug}/partners`.
pub async fn list_partners(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    req: AdminRequest,
) -> Response {
    let result = async {
        let brand = managed_brand(&state, &req, &slug).await?;
        let partners = state.store.partners(brand.id).await?;
        let index = state.inventory.get();
        let now = unix_now();
        let list: Vec<Value> = partners
            .iter()
            .map(|p| {
                let name = index
                    .customer(p.customer)
                    .map_or_else(|| p.customer.to_string(), |c| c.name.clone());
                partner_json(p, &name, now)
            })
            .collect();
        Ok::<_, Problem>(Json(json!({ "partners": list })).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `DELETE /v1/brands/{slug}/partners/{id}`: revokes it, on every node within 5 s.
pub async fn revoke_partner(
    State(state): State<Arc<AppState>>,
    Path((slug, id)): Path<(String, i64)>,
    req: AdminRequest,
) -> Response {
    req.write(&state, async {
        let brand = managed_brand(&state, &req, &slug).await?;
        let now = unix_now();
        if !state
            .store
            .revoke_partner(brand.id, PartnerId(id), now)
            .await?
        {
            return Err(Problem::new(
                ProblemType::NotFound,
                format!("brand {slug:?} has no partner {id} in force"),
            ));
        }
        Ok(Reply::json(
            StatusCode::OK,
            json!({ "brand": slug, "partner": id, "revokedAt": now }),
        ))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificateBody {
    csr: String,
}

/// Longest a delegate certificate is issued for.
const DELEGATE_VALIDITY_SECS: i64 = 90 * 86_400;

/// `POST /v1/brands/{slug}/partners/{id}/certificate`: a delegate certificate (RFC 9060)
/// for a partner that signs with its own carrier, from its certificate signing request
/// (`{"csr": "-----BEGIN CERTIFICATE REQUEST-----..."}`): its TNAuthList holds exactly the
/// partner's authorised numbers, and it expires with the authorisation (90 days at most).
pub async fn issue_certificate(
    State(state): State<Arc<AppState>>,
    Path((slug, id)): Path<(String, i64)>,
    req: AdminRequest,
) -> Response {
    let result = async {
        let ca = state.delegation.as_ref().ok_or_else(|| {
            Problem::new(
                ProblemType::Unavailable,
                "this node has no delegation CA ([signing] delegation_ca_chain and delegation_ca_key)",
            )
        })?;
        let body: CertificateBody = req.json()?;
        let brand = managed_brand(&state, &req, &slug).await?;
        let now = unix_now();
        let partner = state
            .store
            .partners(brand.id)
            .await?
            .into_iter()
            .find(|p| p.id.0 == id)
            .filter(|p| p.standing(now) == store::Standing::InForce)
            .ok_or_else(|| {
                Problem::new(
                    ProblemType::NotFound,
                    format!("brand {slug:?} has no partner {id} in force"),
                )
            })?;
        let entries = partner
            .numbers
            .iter()
            .map(|b| pki::TnRange::new(b.start(), b.count()).map(pki::TnEntry::Range))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Problem::invalid(format!("the partner's numbers: {e}")))?;
        let numbers = pki::TnAuthList::new(entries)
            .map_err(|e| Problem::invalid(format!("the partner's numbers: {e}")))?;
        let until = partner
            .valid_until
            .map_or(now + DELEGATE_VALIDITY_SECS, |u| {
                u.min(now + DELEGATE_VALIDITY_SECS)
            });
        let chain = ca
            .issue(&body.csr, &numbers, now - 60, until)
            .map_err(|e| match e {
                pki::issue::IssueError::Csr { .. } => Problem::invalid(e.to_string()),
                pki::issue::IssueError::Scope(_) => Problem::new(ProblemType::Conflict, e.to_string()),
                other => Problem::internal(&other),
            })?;
        Ok::<_, Problem>(
            (
                StatusCode::CREATED,
                [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
                chain,
            )
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OptOutBody {
    numbers: Vec<String>,
    #[serde(default)]
    source: Option<String>,
}

fn opt_out_numbers(body: &OptOutBody) -> Result<Vec<TelephoneNumber>, Problem> {
    if body.numbers.is_empty() || body.numbers.len() > MAX_OPT_OUTS_PER_REQUEST {
        return Err(Problem::invalid(format!(
            "numbers must hold 1 to {MAX_OPT_OUTS_PER_REQUEST} numbers"
        )));
    }
    body.numbers
        .iter()
        .enumerate()
        .map(|(i, n)| {
            TelephoneNumber::parse(n).map_err(|e| Problem::invalid(format!("numbers[{i}]: {e}")))
        })
        .collect()
}

async fn set_opt_outs(
    state: &AppState,
    slug: &str,
    req: &AdminRequest,
    opted_out: bool,
) -> Response {
    req.write(state, async {
        let body: OptOutBody = req.json()?;
        let numbers = opt_out_numbers(&body)?;
        let source = body.source.as_deref().unwrap_or("api");
        printable("source", source, 100)?;
        let brand = managed_brand(state, req, slug).await?;
        let changed = state
            .store
            .set_opt_outs(brand.id, &numbers, opted_out, source, unix_now())
            .await?;
        Ok(Reply::json(
            StatusCode::OK,
            json!({ "brand": slug, "optedOut": opted_out, "numbers": numbers.len(), "changed": changed }),
        ))
    })
    .await
}

/// `POST /v1/brands/{slug}/opt-outs`: these numbers get no more marketing calls from the
/// brand or its partners (every node within 60 s; this one at once).
pub async fn add_opt_outs(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    req: AdminRequest,
) -> Response {
    set_opt_outs(&state, &slug, &req, true).await
}

/// `DELETE /v1/brands/{slug}/opt-outs`: these numbers opt back in.
pub async fn remove_opt_outs(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    req: AdminRequest,
) -> Response {
    set_opt_outs(&state, &slug, &req, false).await
}

/// Paging of events.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventPage {
    before: Option<i64>,
    limit: Option<u32>,
}

/// `GET /v1/brands/{slug}/events?before=&limit=`: newest first.
pub async fn list_events(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    Query(page): Query<EventPage>,
    req: AdminRequest,
) -> Response {
    let result = async {
        let brand = managed_brand(&state, &req, &slug).await?;
        let limit = page.limit.unwrap_or(100).clamp(1, 1_000);
        let events = state
            .store
            .brand_events(brand.id, page.before, limit)
            .await?;
        let next = (events.len() == limit as usize)
            .then(|| events.last().map(|e| e.seq))
            .flatten();
        Ok::<_, Problem>(
            Json(json!({
                "events": events.iter().map(|e| json!({
                    "seq": e.seq, "at": e.at, "kind": e.kind, "detail": e.detail
                })).collect::<Vec<_>>(),
                "next": next,
            }))
            .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `PUT /v1/dno`: `{"numbers": [...]}` replaces the national Do-Not-Originate list.
pub async fn replace_dno(State(state): State<Arc<AppState>>, req: AdminRequest) -> Response {
    req.write(&state, async {
        if !req.operator {
            return Err(Problem::new(
                ProblemType::Forbidden,
                "only an operator key may replace the national Do-Not-Originate list",
            ));
        }
        let body: NumbersBody = req.json()?;
        let blocks = if body.numbers.is_empty() {
            Vec::new()
        } else {
            parse_blocks(&body)?
        };
        let n = state.store.replace_dno(&blocks).await?;
        Ok(Reply::json(
            StatusCode::OK,
            json!({ "blocks": n, "numbers": total(&blocks) }),
        ))
    })
    .await
}
