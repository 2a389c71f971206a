//! The admin API (`/v1/...`, API keys with the `admin` scope; in development mode, loopback
//! callers): customers, their numbers and trunks, and API keys.
//!
//! Bodies are JSON (`application/json`), errors RFC 9457 problem details; writes take an
//! `Idempotency-Key`. A write reaches this node's inventory before the response is sent, and
//! the other nodes within their poll period. Described in `openapi.json`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use engine::inventory::{Caller, hash_api_key};
use ipnet::IpNet;
use passport::TelephoneNumber;
use serde::Deserialize;
use serde_json::{Value, json};
use store::{Customer, CustomerId, Inventory, NewApiKey, NumberBlock, Scope, StoreError};

use super::AppState;
use super::atis::unix_now;
use super::auth::{api_key, authorize};
use super::idempotency::{IdempotencyKey, Reply};
use super::problem::{self, Problem, ProblemType};
use crate::listener::PeerAddr;

/// The longest customer or API key name.
pub const MAX_NAME_LEN: usize = 100;

/// The most number blocks in one request.
pub const MAX_BLOCKS_PER_REQUEST: usize = 10_000;

/// Blocks listed per page by default, and at most.
pub const DEFAULT_PAGE: usize = 1_000;
/// See [`DEFAULT_PAGE`].
pub const MAX_PAGE: usize = 10_000;

/// The characters of an API key before its secret part: `cp_`.
pub const KEY_PREFIX: &str = "cp_";

/// Characters of a key kept in clear (`cp_` and 8 more), to recognise it in lists.
const KEY_SHOWN: usize = 11;

/// An authenticated admin request: the caller, its body and its idempotency key.
#[derive(Debug)]
pub struct AdminRequest {
    /// Who sent it.
    pub caller: Caller,
    /// An operator: a key bound to no customer, or a development-mode loopback caller.
    /// A key bound to a customer manages only that customer's brands.
    pub operator: bool,
    body: Bytes,
    idempotency: Option<IdempotencyKey>,
}

impl FromRequest<Arc<AppState>> for AdminRequest {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &Arc<AppState>) -> Result<Self, Problem> {
        Self::extract(request, state, Scope::Admin).await
    }
}

/// A request of a brand's dialler or app (the `calls` scope, or `admin`): otherwise like
/// [`AdminRequest`].
#[derive(Debug)]
pub struct CallsRequest(pub AdminRequest);

impl FromRequest<Arc<AppState>> for CallsRequest {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &Arc<AppState>) -> Result<Self, Problem> {
        AdminRequest::extract(request, state, Scope::Calls)
            .await
            .map(Self)
    }
}

impl AdminRequest {
    async fn extract(
        request: Request,
        state: &Arc<AppState>,
        scope: Scope,
    ) -> Result<Self, Problem> {
        let peer = request
            .extensions()
            .get::<ConnectInfo<PeerAddr>>()
            .map_or_else(
                || SocketAddr::from(([0, 0, 0, 0], 0)),
                |ConnectInfo(PeerAddr(a))| *a,
            );
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let headers = request.headers().clone();
        let caller = authorize(state, &headers, peer, scope)?;
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
                    ProblemType::PayloadTooLarge,
                    "the request body exceeds http.max_body_bytes",
                ),
                _ => Problem::invalid(format!("cannot read the body: {e}")),
            })?;
        if !body.is_empty() {
            check_json(&headers)?;
        }
        let idempotency = if method == Method::POST || method == Method::DELETE {
            let principal = api_key(&headers)
                .map_or_else(|| "development loopback caller".to_owned(), hash_api_key);
            IdempotencyKey::from_request(&headers, &principal, &method, &path, &body)?
        } else {
            None
        };
        let operator = caller.customer.is_none() || api_key(&headers).is_none();
        Ok(Self {
            caller,
            operator,
            body,
            idempotency,
        })
    }
}

impl AdminRequest {
    /// The body as `T`.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Problem> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(Problem::invalid("the request needs a JSON body"));
        }
        let value: Value = serde_json::from_slice(&self.body)
            .map_err(|e| Problem::invalid(format!("the body is not JSON: {e}")))?;
        // serde would take a struct from an array too; the API speaks objects only.
        if !value.is_object() {
            return Err(Problem::invalid("the body must be a JSON object"));
        }
        T::deserialize(value).map_err(|e| Problem::invalid(format!("the body is not valid: {e}")))
    }

    /// Runs a write that changes neither inventory nor brand policy (a registered call):
    /// once per idempotency key, with no refresh after it.
    pub(crate) async fn write_only<F>(&self, state: &AppState, write: F) -> Response
    where
        F: Future<Output = Result<Reply, Problem>>,
    {
        match &self.idempotency {
            Some(key) => key.run(state.store.as_ref(), unix_now(), write).await,
            None => write.await.into_response(),
        }
    }

    /// Runs a write: once per idempotency key; on success the node's inventory and brand
    /// policy are refreshed before the answer leaves.
    pub(crate) async fn write<F>(&self, state: &AppState, write: F) -> Response
    where
        F: Future<Output = Result<Reply, Problem>>,
    {
        let write = async {
            let reply = write.await?;
            if let Err(e) = state.inventory.refresh(state.store.as_ref()).await {
                // The write is committed; the poller will pick it up.
                tracing::warn!(error = %e, "inventory refresh after an admin write failed");
            }
            if let Err(e) = state.brands.refresh(state.store.as_ref()).await {
                tracing::warn!(error = %e, "brand policy refresh after an admin write failed");
            }
            Ok(reply)
        };
        match &self.idempotency {
            Some(key) => key.run(state.store.as_ref(), unix_now(), write).await,
            None => write.await.into_response(),
        }
    }
}

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
        Ok(())
    } else {
        Err(Problem::new(
            ProblemType::UnsupportedMediaType,
            format!(
                "the body must be application/json, not {:?}",
                value
                    .unwrap_or("(no Content-Type)")
                    .chars()
                    .take(100)
                    .collect::<String>()
            ),
        ))
    }
}

/// Middleware for `/v1/...`: every error is a problem, and requests are counted.
pub async fn v1_layer(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    // The call path (ATIS, certificates, health) goes straight through: nothing to do here.
    if !(path.starts_with("/v1/") || path == "/v1") {
        return next.run(request).await;
    }
    let endpoint = match path {
        "/v1/check" => "check",
        "/v1/reports" => "reports",
        _ => "admin",
    };
    let started = Instant::now();
    let response = problem::problems_for_v1(request, next).await;
    state
        .metrics
        .observe_request(endpoint, response.status().as_u16(), started.elapsed());
    response
}

// ---------------------------------------------------------------------------------------------
// Customers

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCustomer {
    name: String,
    #[serde(default)]
    origid: Option<String>,
}

fn customer_json(c: &Customer) -> Value {
    json!({ "id": c.id.0, "name": c.name, "origid": c.origid })
}

fn customer_location(name: &str) -> HeaderValue {
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!("/v1/customers/{encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("/v1/customers"))
}

/// `POST /v1/customers`.
pub async fn create_customer(State(state): State<Arc<AppState>>, req: AdminRequest) -> Response {
    req.write(&state, async {
        let body: NewCustomer = req.json()?;
        check_name("name", &body.name)?;
        if let Some(origid) = &body.origid
            && !passport::claims::is_uuid(origid)
        {
            return Err(Problem::invalid(format!(
                "origid must be a UUID (8-4-4-4-12 hex digits), not {:?}",
                clip(origid)
            )));
        }
        let customer = state
            .store
            .create_customer(&body.name, body.origid.as_deref())
            .await?;
        Ok(Reply::json(StatusCode::CREATED, customer_json(&customer))
            .with_header(header::LOCATION, customer_location(&customer.name)))
    })
    .await
}

/// `GET /v1/customers`.
pub async fn list_customers(State(state): State<Arc<AppState>>, _req: AdminRequest) -> Response {
    match state.store.inventory().await {
        Ok(inv) => Json(json!({
            "customers": inv.customers.iter().map(customer_json).collect::<Vec<_>>()
        }))
        .into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

/// `GET /v1/customers/{name}`.
pub async fn get_customer(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    _req: AdminRequest,
) -> Response {
    match find_customer(&state, &name).await {
        Ok(c) => Json(customer_json(&c)).into_response(),
        Err(p) => p.into_response(),
    }
}

pub(crate) async fn find_customer(state: &AppState, name: &str) -> Result<Customer, Problem> {
    state.store.customer_by_name(name).await?.ok_or_else(|| {
        Problem::new(
            ProblemType::NotFound,
            format!("customer {:?} does not exist", clip(name)),
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Numbers

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NumbersBody {
    pub(crate) numbers: Vec<NumberItem>,
}

/// `{"start": "+12155550000", "count": 100}` or `{"tn": "+12155551212"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NumberItem {
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    count: Option<u64>,
    #[serde(default)]
    tn: Option<String>,
}

pub(crate) fn block_json(b: &NumberBlock) -> Value {
    json!({ "start": b.start().as_str(), "count": b.count() })
}

/// Parses and checks the blocks of a numbers body: valid, and disjoint.
pub(crate) fn parse_blocks(body: &NumbersBody) -> Result<Vec<NumberBlock>, Problem> {
    if body.numbers.is_empty() {
        return Err(Problem::invalid("numbers is empty"));
    }
    if body.numbers.len() > MAX_BLOCKS_PER_REQUEST {
        return Err(Problem::invalid(format!(
            "numbers has {} entries; at most {MAX_BLOCKS_PER_REQUEST} per request",
            body.numbers.len()
        )));
    }
    let mut blocks = Vec::with_capacity(body.numbers.len());
    for (i, item) in body.numbers.iter().enumerate() {
        let at = |field: &str, why: String| Problem::invalid(format!("numbers[{i}]{field}: {why}"));
        let (field, start, count) = match (&item.start, item.count, &item.tn) {
            (Some(start), Some(count), None) => (".start", start, count),
            (None, None, Some(tn)) => (".tn", tn, 1),
            (Some(_), None, None) => {
                return Err(at("", "a block needs both start and count".into()));
            }
            _ => {
                return Err(at(
                    "",
                    "give either start and count, or tn (a single number)".into(),
                ));
            }
        };
        let tn = TelephoneNumber::parse(start).map_err(|e| at(field, e.to_string()))?;
        let block = NumberBlock::new(tn, count).map_err(|e| at("", e.to_string()))?;
        blocks.push((i, block));
    }
    let mut sorted: Vec<&(usize, NumberBlock)> = blocks.iter().collect();
    sorted.sort_by_key(|(_, b)| (b.digits(), b.first_value()));
    for pair in sorted.windows(2) {
        if let [(i, a), (j, b)] = pair
            && a.overlaps(b)
        {
            let (i, j) = ((*i).min(*j), (*i).max(*j));
            return Err(Problem::invalid(format!(
                "numbers[{i}] and numbers[{j}] overlap ({a} and {b})"
            )));
        }
    }
    Ok(blocks.into_iter().map(|(_, b)| b).collect())
}

pub(crate) fn total(blocks: &[NumberBlock]) -> u64 {
    blocks.iter().map(NumberBlock::count).sum()
}

/// `POST /v1/customers/{name}/numbers`: all blocks or none.
pub async fn add_numbers(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    req: AdminRequest,
) -> Response {
    req.write(&state, async {
        let blocks = parse_blocks(&req.json()?)?;
        let customer = find_customer(&state, &name).await?;
        state.store.add_numbers(customer.id, &blocks).await?;
        Ok(numbers_reply(
            StatusCode::CREATED,
            "added",
            &customer,
            &blocks,
        ))
    })
    .await
}

/// `DELETE /v1/customers/{name}/numbers`: each block exactly as it was added; all or none.
pub async fn remove_numbers(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    req: AdminRequest,
) -> Response {
    req.write(&state, async {
        let blocks = parse_blocks(&req.json()?)?;
        let customer = find_customer(&state, &name).await?;
        // All or none, in the store: a block the customer does not own removes nothing.
        match state.store.remove_numbers(customer.id, &blocks).await {
            Ok(_) => {}
            Err(StoreError::NotFound { what: "number block", key }) => {
                return Err(Problem::new(
                    ProblemType::NotFound,
                    format!(
                        "{key} is not a block of customer {:?} (blocks are removed exactly as they were added; nothing was removed)",
                        customer.name
                    ),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        Ok(numbers_reply(StatusCode::OK, "removed", &customer, &blocks))
    })
    .await
}

/// The answer to a change of numbers: which blocks, how many numbers.
fn numbers_reply(
    status: StatusCode,
    verb: &str,
    customer: &Customer,
    blocks: &[NumberBlock],
) -> Reply {
    Reply::json(
        status,
        json!({
            "customer": customer.name,
            verb: blocks.iter().map(block_json).collect::<Vec<_>>(),
            "numbers": total(blocks),
        }),
    )
}

/// Paging of `GET /v1/customers/{name}/numbers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Blocks per page.
    limit: Option<usize>,
    /// List blocks after this start (the `next` of the previous page).
    after: Option<String>,
}

/// `GET /v1/customers/{name}/numbers?limit=&after=`.
pub async fn list_numbers(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
    _req: AdminRequest,
) -> Response {
    let run = async {
        let limit = page.limit.unwrap_or(DEFAULT_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(Problem::invalid(format!("limit must be 1 to {MAX_PAGE}")));
        }
        let after = page
            .after
            .as_deref()
            .map(|a| {
                TelephoneNumber::parse(a)
                    .ok()
                    .filter(TelephoneNumber::is_all_digits)
                    .map(|tn| (tn.as_str().len(), tn.as_str().parse::<u64>().unwrap_or(0)))
                    .ok_or_else(|| Problem::invalid(format!("after {:?} is not a number", clip(a))))
            })
            .transpose()?;
        let customer = find_customer(&state, &name).await?;
        let inventory = state.store.inventory().await?;
        // The store lists blocks by (digits, first): the order of `after`.
        let mut owned = inventory
            .blocks
            .iter()
            .filter(|o| o.customer == customer.id)
            .map(|o| o.block)
            .filter(|b| after.is_none_or(|a| (b.digits(), b.first_value()) > a));
        let blocks: Vec<NumberBlock> = owned.by_ref().take(limit).collect();
        let next = match (owned.next(), blocks.last()) {
            (Some(_), Some(last)) => Value::from(last.start().as_str()),
            _ => Value::Null,
        };
        Ok(Json(json!({
            "customer": customer.name,
            "blocks": blocks.iter().map(block_json).collect::<Vec<_>>(),
            "next": next,
        })))
    };
    run.await.into_response()
}

// ---------------------------------------------------------------------------------------------
// Trunks

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTrunk {
    cidr: String,
}

/// An address or a network in canonical CIDR form (`192.0.2.10` becomes `192.0.2.10/32`);
/// host bits set after the prefix are refused, not silently cleared.
fn parse_cidr(s: &str) -> Result<IpNet, Problem> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(IpNet::from(ip));
    }
    let net: IpNet = s.parse().map_err(|_| {
        Problem::invalid(format!(
            "cidr {:?} is not an IP address or CIDR block (e.g. 192.0.2.0/24, 2001:db8::/48)",
            clip(s)
        ))
    })?;
    if net.trunc() != net {
        return Err(Problem::invalid(format!(
            "cidr {s} has host bits set after the prefix; did you mean {}?",
            net.trunc()
        )));
    }
    Ok(net)
}

fn same_net(stored: &str, net: &IpNet) -> bool {
    stored
        .parse::<IpNet>()
        .ok()
        .or_else(|| stored.parse::<IpAddr>().ok().map(IpNet::from))
        .is_some_and(|n| n.trunc() == *net)
}

/// `POST /v1/customers/{name}/trunks`.
pub async fn add_trunk(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    req: AdminRequest,
) -> Response {
    req.write(&state, async {
        let body: NewTrunk = req.json()?;
        let net = parse_cidr(&body.cidr)?;
        let customer = find_customer(&state, &name).await?;
        let inventory = state.store.inventory().await?;
        if let Some(taken) = inventory.trunks.iter().find(|t| same_net(&t.cidr, &net)) {
            let owner = customer_name(&inventory, taken.customer);
            return Err(Problem::new(
                ProblemType::Conflict,
                if taken.customer == customer.id {
                    format!("customer {owner:?} has trunk {net} already")
                } else {
                    format!("trunk {net} belongs to customer {owner:?}")
                },
            ));
        }
        state.store.add_trunk(customer.id, &net.to_string()).await?;
        Ok(Reply::json(
            StatusCode::CREATED,
            json!({ "customer": customer.name, "cidr": net.to_string() }),
        ))
    })
    .await
}

/// `GET /v1/customers/{name}/trunks`.
pub async fn list_trunks(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    _req: AdminRequest,
) -> Response {
    let run = async {
        let customer = find_customer(&state, &name).await?;
        let inventory = state.store.inventory().await?;
        let trunks: Vec<Value> = inventory
            .trunks
            .iter()
            .filter(|t| t.customer == customer.id)
            .map(|t| json!({ "cidr": t.cidr }))
            .collect();
        Ok::<_, Problem>(Json(json!({ "customer": customer.name, "trunks": trunks })))
    };
    run.await.into_response()
}

fn customer_name(inventory: &Inventory, id: CustomerId) -> String {
    inventory
        .customers
        .iter()
        .find(|c| c.id == id)
        .map_or_else(|| id.to_string(), |c| c.name.clone())
}

// ---------------------------------------------------------------------------------------------
// API keys

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    #[serde(default)]
    customer: Option<String>,
    name: String,
    scopes: Vec<String>,
}

fn parse_scopes(names: &[String]) -> Result<Vec<Scope>, Problem> {
    if names.is_empty() {
        return Err(Problem::invalid(
            "scopes is empty; give one or more of sign, verify, admin",
        ));
    }
    let mut scopes = Vec::new();
    for name in names {
        let scope = Scope::parse(name).ok_or_else(|| {
            Problem::invalid(format!(
                "unknown scope {:?}; scopes are sign, verify, admin",
                clip(name)
            ))
        })?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    scopes.sort();
    Ok(scopes)
}

/// A new secret: `cp_` and 32 random bytes, base64url.
fn new_secret() -> Result<String, Problem> {
    use aws_lc_rs::rand::SecureRandom as _;
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Problem::internal(&"the system random source failed"))?;
    Ok(format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

fn key_json(id: i64, name: &str, customer: Option<&str>, scopes: &[Scope], prefix: &str) -> Value {
    json!({
        "id": id,
        "name": name,
        "customer": customer,
        "scopes": scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "prefix": prefix,
    })
}

/// Issues an API key: a fresh secret, of which the store keeps only the SHA-256 and the
/// first characters. Returns the record and the secret, which exists nowhere else.
pub async fn issue_api_key(
    store: &dyn store::Store,
    customer: Option<CustomerId>,
    name: &str,
    scopes: Vec<Scope>,
) -> Result<(store::ApiKeyRecord, String), Problem> {
    let secret = new_secret()?;
    let prefix: String = secret.chars().take(KEY_SHOWN).collect();
    let record = store
        .create_api_key(NewApiKey {
            customer,
            name: name.to_owned(),
            prefix,
            hash: hash_api_key(&secret),
            scopes,
        })
        .await?;
    Ok((record, secret))
}

/// `POST /v1/api-keys`: the key is in this response only; the store keeps its SHA-256.
pub async fn create_api_key(State(state): State<Arc<AppState>>, req: AdminRequest) -> Response {
    req.write(&state, async {
        let body: NewKey = req.json()?;
        check_name("name", &body.name)?;
        let scopes = parse_scopes(&body.scopes)?;
        let customer = match &body.customer {
            Some(name) => Some(find_customer(&state, name).await?),
            None => None,
        };
        if customer.is_some() && scopes.contains(&Scope::Admin) {
            return Err(Problem::invalid(
                "an admin key acts for the operator, not a customer: leave customer out",
            ));
        }
        let (record, secret) = issue_api_key(
            state.store.as_ref(),
            customer.as_ref().map(|c| c.id),
            &body.name,
            scopes.clone(),
        )
        .await?;
        let shown = key_json(
            record.id,
            &record.name,
            customer.as_ref().map(|c| c.name.as_str()),
            &record.scopes,
            &record.prefix,
        );
        let mut body = shown.clone();
        if let Some(obj) = body.as_object_mut() {
            obj.insert("key".into(), Value::from(secret));
        }
        let location = HeaderValue::from_str(&format!("/v1/api-keys/{}", record.id))
            .unwrap_or_else(|_| HeaderValue::from_static("/v1/api-keys"));
        Ok(Reply {
            status: StatusCode::CREATED,
            body: Some(body),
            // A replay never shows the secret again: it is not stored anywhere.
            replay_body: Some(shown),
            headers: vec![
                (header::LOCATION, location),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        })
    })
    .await
}

/// `GET /v1/api-keys`: the keys in force, without secrets.
pub async fn list_api_keys(State(state): State<Arc<AppState>>, _req: AdminRequest) -> Response {
    let inventory = match state.store.inventory().await {
        Ok(inv) => inv,
        Err(e) => return Problem::from(e).into_response(),
    };
    let names: HashMap<CustomerId, &str> = inventory
        .customers
        .iter()
        .map(|c| (c.id, c.name.as_str()))
        .collect();
    let keys: Vec<Value> = inventory
        .api_keys
        .iter()
        .map(|k| {
            key_json(
                k.id,
                &k.name,
                k.customer.and_then(|c| names.get(&c).copied()),
                &k.scopes,
                &k.prefix,
            )
        })
        .collect();
    Json(json!({ "api_keys": keys })).into_response()
}

/// `DELETE /v1/api-keys/{id}`: revokes at once on this node, within the poll period on
/// the others.
pub async fn revoke_api_key(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    req: AdminRequest,
) -> Response {
    req.write(&state, async {
        let id: i64 = id
            .parse()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| Problem::invalid(format!("{:?} is not an API key id", clip(&id))))?;
        if state.store.revoke_api_key(id).await? {
            Ok(Reply::no_content())
        } else {
            Err(Problem::new(
                ProblemType::NotFound,
                format!("API key {id} does not exist or is revoked already"),
            ))
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Checks

/// Why `name` cannot name a customer or an API key, if it cannot: the rule `callproof
/// import` applies too.
pub fn name_error(name: &str) -> Option<String> {
    let len = name.chars().count();
    if len == 0 || len > MAX_NAME_LEN {
        return Some(format!("must be 1 to {MAX_NAME_LEN} characters"));
    }
    if name.trim() != name || name.chars().any(|c| c.is_control() || c == '/') {
        return Some(format!(
            "{:?} must not start or end with spaces, nor hold control characters or '/'",
            clip(name)
        ));
    }
    None
}

fn check_name(field: &str, name: &str) -> Result<(), Problem> {
    match name_error(name) {
        Some(why) => Err(Problem::invalid(format!("{field} {why}"))),
        None => Ok(()),
    }
}

/// A value shortened for a message.
pub(crate) fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(v: Value) -> Result<Vec<String>, String> {
        let body: NumbersBody = serde_json::from_value(v).map_err(|e| e.to_string())?;
        parse_blocks(&body)
            .map(|b| b.iter().map(ToString::to_string).collect())
            .map_err(|p| p.detail().to_owned())
    }

    #[test]
    fn number_items_are_blocks_or_single_numbers() {
        assert_eq!(
            blocks(json!({"numbers": [
                {"start": "+1 215 555 0000", "count": 100},
                {"tn": "+12155551212"}
            ]}))
            .unwrap(),
            vec!["12155550000+100", "12155551212"]
        );
        for (bad, says) in [
            (json!({"numbers": []}), "empty"),
            (
                json!({"numbers": [{"start": "12155550000"}]}),
                "numbers[0]: a block needs both",
            ),
            (
                json!({"numbers": [{"tn": "1", "count": 2}]}),
                "numbers[0]: give either",
            ),
            (json!({"numbers": [{"tn": "12a"}]}), "numbers[0].tn:"),
            (json!({"numbers": [{"tn": "1215*"}]}), "not all digits"),
            (
                json!({"numbers": [{"start": "99", "count": 2}]}),
                "does not fit",
            ),
            (
                json!({"numbers": [{"tn": "1"}, {"start": "12155550000", "count": 10}, {"tn": "12155550009"}]}),
                "numbers[1] and numbers[2] overlap",
            ),
        ] {
            let err = blocks(bad.clone()).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
        assert!(blocks(json!({"numbers": [{"tn": "1", "extra": 1}]})).is_err());
    }

    #[test]
    fn trunks_are_canonical_cidr_blocks() {
        let ok = |s: &str| parse_cidr(s).map(|n| n.to_string()).unwrap();
        assert_eq!(ok("192.0.2.0/24"), "192.0.2.0/24");
        assert_eq!(ok("192.0.2.10"), "192.0.2.10/32");
        assert_eq!(ok("2001:db8::/48"), "2001:db8::/48");
        assert_eq!(ok(" ::1 "), "::1/128");
        let err = parse_cidr("192.0.2.5/24").unwrap_err();
        assert!(
            err.detail().contains("did you mean 192.0.2.0/24"),
            "{}",
            err.detail()
        );
        for bad in ["", "192.0.2.0/33", "example.com", "10.0.0.0/8/8"] {
            assert!(parse_cidr(bad).is_err(), "{bad:?}");
        }
        assert!(same_net("192.0.2.10", &ok("192.0.2.10").parse().unwrap()));
    }

    #[test]
    fn names_scopes_and_secrets_are_checked() {
        assert!(check_name("name", "Acme Corp.").is_ok());
        for bad in [
            "",
            " Acme",
            "a/b",
            "tab\there",
            &"x".repeat(MAX_NAME_LEN + 1),
        ] {
            assert!(check_name("name", bad).is_err(), "{bad:?}");
        }
        let s = |v: &[&str]| parse_scopes(&v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(
            s(&["verify", "sign", "sign"]).unwrap(),
            vec![Scope::Sign, Scope::Verify]
        );
        assert!(s(&[]).is_err());
        assert!(s(&["root"]).is_err());
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 3 + 43, "cp_ + 32 bytes in unpadded base64url");
        assert!(a.starts_with(KEY_PREFIX));
        assert!(
            a[3..]
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn locations_are_percent_encoded() {
        assert_eq!(customer_location("Acme Corp"), "/v1/customers/Acme%20Corp");
        assert_eq!(customer_location("Zürich"), "/v1/customers/Z%C3%BCrich");
    }
}
