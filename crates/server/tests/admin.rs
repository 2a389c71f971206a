//! The admin API end to end: a real node per test on 127.0.0.1 (SQLite in a temp dir, SIP
//! off, development mode so loopback callers hold the `admin` scope), driven with reqwest.
//!
//! - customers, numbers, trunks and API keys: the flows and every kind of problem;
//! - idempotency keys: replay, reuse with another request, per-caller keys, durability
//!   across a restart, secrets never replayed;
//! - an API key created here signs on `/stir/v1/signing` and is refused once revoked;
//!   numbers given here raise the attestation of the next call from B to A;
//! - `/openapi.json`: every documented path and method answers (no 404, no 405), and the
//!   methods a route does not declare get 405.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use passport::identity::{IdentityHeader, Token};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::config::Config;
use server::node::Node;
use store::{NewApiKey, Scope};

/// The development customer's number range starts here (12155550000, 10000 numbers).
const DEV_NUMBER: &str = "12155551212";
/// A number no one owns at start.
const ACME_NUMBER: &str = "13125550100";
const PROBLEM: &str = "application/problem+json";

/// A node on 127.0.0.1 with its data in a temp dir.
struct TestNode {
    node: Option<Node>,
    base: String,
    http: reqwest::Client,
    dir: tempfile::TempDir,
}

impl TestNode {
    async fn start() -> Self {
        Self::start_in(tempfile::tempdir().unwrap()).await
    }

    async fn start_in(dir: tempfile::TempDir) -> Self {
        Self::start_with(dir, |_| {}).await
    }

    async fn start_with(dir: tempfile::TempDir, change: impl FnOnce(&mut Config)) -> Self {
        let mut config = config(dir.path());
        change(&mut config);
        let node = Node::start(config).await.unwrap();
        let base = format!("http://{}", node.http_addr());
        Self {
            node: Some(node),
            base,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            dir,
        }
    }

    /// Stops the node and starts another on the same data directory.
    async fn restart(mut self) -> Self {
        self.stop().await;
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        Self::start_in(dir).await
    }

    async fn stop(&mut self) {
        if let Some(node) = self.node.take() {
            node.shutdown_token().cancel();
            tokio::time::timeout(Duration::from_secs(10), node.wait())
                .await
                .expect("the node stops within 10 s");
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let response = req.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path)).await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(self.request(Method::POST, path).json(&body))
            .await
    }

    async fn delete(&self, path: &str, body: Value) -> Reply {
        self.send(self.request(Method::DELETE, path).json(&body))
            .await
    }

    /// `POST /stir/v1/signing` for `orig` with `key`; returns the attestation signed.
    async fn sign_attest(&self, key: &str, orig: &str) -> Result<String, Reply> {
        let reply = self
            .send(
                self.request(Method::POST, "/stir/v1/signing")
                    .bearer_auth(key)
                    .json(&signing_request(orig)),
            )
            .await;
        if reply.status != StatusCode::OK {
            return Err(reply);
        }
        Ok(attest_of(
            reply.body["signingResponse"]["identity"].as_str().unwrap(),
        ))
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if let Some(node) = &self.node {
            node.shutdown_token().cancel();
        }
    }
}

fn config(dir: &Path) -> Config {
    let mut config = Config {
        data_dir: dir.to_owned(),
        ..Config::default()
    };
    config.http.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.sip.signing_listen = None;
    config.sip.verification_listen = None;
    config
}

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Reply {
    #[track_caller]
    fn expect(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{:#}", self.body);
        &self.body
    }

    /// Asserts an RFC 9457 problem of `status` and type `slug`; returns its detail.
    #[track_caller]
    fn problem(&self, status: u16, slug: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "{:#}", self.body);
        assert_eq!(
            self.headers[reqwest::header::CONTENT_TYPE],
            PROBLEM,
            "{:#}",
            self.body
        );
        let b = &self.body;
        assert_eq!(b["type"], format!("https://callproof.dev/problems/{slug}"));
        assert_eq!(b["status"], status);
        assert!(b["title"].as_str().is_some_and(|t| !t.is_empty()), "{b}");
        b["detail"].as_str().unwrap().to_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

fn signing_request(orig: &str) -> Value {
    json!({"signingRequest": {
        "attest": "A",
        "dest": {"tn": ["12125551213"]},
        "iat": now(),
        "orig": {"tn": orig},
        "origid": "123e4567-e89b-12d3-a456-426655440000",
    }})
}

/// The `attest` claim of a signed Identity header.
fn attest_of(identity: &str) -> String {
    let header = IdentityHeader::parse(identity).unwrap();
    let Token::Full(token) = header.token else {
        panic!("compact form from the signer: {identity}");
    };
    let (_, claims) = passport::jws::decode_unverified_json(token).unwrap();
    claims["attest"].as_str().unwrap().to_owned()
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `limit`.
async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "gave up after {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Creates customer `name` and a key with `scopes` for it; returns the key.
async fn customer_with_key(n: &TestNode, name: &str, scopes: &[&str]) -> String {
    n.post("/v1/customers", json!({"name": name}))
        .await
        .expect(201);
    let created = n
        .post(
            "/v1/api-keys",
            json!({"customer": name, "name": "sbc", "scopes": scopes}),
        )
        .await;
    created.expect(201)["key"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_are_created_listed_and_found() {
    let n = TestNode::start().await;
    let created = n
        .post(
            "/v1/customers",
            json!({"name": "Acme Telecom", "origid": "123e4567-e89b-12d3-a456-426655440000"}),
        )
        .await;
    let acme = created.expect(201).clone();
    assert_eq!(acme["name"], "Acme Telecom");
    assert_eq!(acme["origid"], "123e4567-e89b-12d3-a456-426655440000");
    assert_eq!(
        created.header("location"),
        Some("/v1/customers/Acme%20Telecom")
    );
    // A generated origid is a UUID.
    let bravo = n.post("/v1/customers", json!({"name": "Bravo"})).await;
    assert_eq!(bravo.expect(201)["origid"].as_str().unwrap().len(), 36);

    assert_eq!(
        *n.get("/v1/customers/Acme%20Telecom").await.expect(200),
        acme
    );
    let list = n.get("/v1/customers").await;
    let names: Vec<&str> = list.expect(200)["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["development", "Acme Telecom", "Bravo"]);

    let detail = n
        .post("/v1/customers", json!({"name": "Bravo"}))
        .await
        .problem(409, "conflict");
    assert!(detail.contains("Bravo"), "{detail}");
    n.get("/v1/customers/Nobody")
        .await
        .problem(404, "not-found");
    for (bad, says) in [
        (json!({"name": ""}), "1 to 100"),
        (json!({"name": " padded"}), "spaces"),
        (json!({"name": "a/b"}), "'/'"),
        (json!({"name": "x", "origid": "not-a-uuid"}), "UUID"),
        (json!({"name": "x", "colour": "red"}), "unknown field"),
        (json!({"origid": null}), "missing field `name`"),
        (json!(["x"]), "a JSON object"),
        (json!({"name": ["x"]}), "invalid type"),
    ] {
        let detail = n
            .post("/v1/customers", bad.clone())
            .await
            .problem(400, "invalid-request");
        assert!(detail.contains(says), "{bad}: {detail}");
    }
    // Not JSON, no body, the wrong media type, too large.
    let garbage = n
        .send(
            n.request(Method::POST, "/v1/customers")
                .header("content-type", "application/json")
                .body("{nope"),
        )
        .await;
    garbage.problem(400, "invalid-request");
    n.send(n.request(Method::POST, "/v1/customers"))
        .await
        .problem(400, "invalid-request");
    let text = n
        .send(
            n.request(Method::POST, "/v1/customers")
                .header("content-type", "text/plain")
                .body(r#"{"name":"x"}"#),
        )
        .await;
    assert!(
        text.problem(415, "unsupported-media-type")
            .contains("text/plain")
    );
    let huge = json!({"name": "x".repeat(70 * 1024)});
    n.post("/v1/customers", huge)
        .await
        .problem(413, "payload-too-large");
    // Unknown paths and methods under /v1 are problems too.
    n.get("/v1/nothing-here").await.problem(404, "not-found");
    let put = n
        .send(n.request(Method::PUT, "/v1/customers").json(&json!({})))
        .await;
    put.problem(405, "method-not-allowed");
    assert!(put.header("allow").is_some_and(|a| a.contains("POST")));
    // Nothing refused was stored.
    assert_eq!(
        n.get("/v1/customers").await.expect(200)["customers"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_are_given_all_or_none_listed_and_taken_back() {
    let n = TestNode::start().await;
    n.post("/v1/customers", json!({"name": "Acme"}))
        .await
        .expect(201);
    let added = n
        .post(
            "/v1/customers/Acme/numbers",
            json!({"numbers": [
                {"start": "+1 312 555 0000", "count": 100},
                {"tn": "+13125559999"},
                {"start": "442071234567", "count": 1}
            ]}),
        )
        .await;
    assert_eq!(
        *added.expect(201),
        json!({
            "customer": "Acme",
            "added": [
                {"start": "13125550000", "count": 100},
                {"start": "13125559999", "count": 1},
                {"start": "442071234567", "count": 1}
            ],
            "numbers": 102
        })
    );
    let listed = |v: &Value| -> Vec<String> {
        v["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| format!("{}+{}", b["start"].as_str().unwrap(), b["count"]))
            .collect()
    };
    let all = n.get("/v1/customers/Acme/numbers").await;
    assert_eq!(
        listed(all.expect(200)),
        ["13125550000+100", "13125559999+1", "442071234567+1"]
    );
    assert_eq!(all.body["next"], Value::Null);

    // A block overlapping the development customer's range refuses the whole request.
    let detail = n
        .post(
            "/v1/customers/Acme/numbers",
            json!({"numbers": [{"tn": "13125558888"}, {"start": "12155551200", "count": 50}]}),
        )
        .await
        .problem(409, "conflict");
    assert!(detail.contains("12155551200+50"), "{detail}");
    // Within one request: the client's mistake.
    let detail = n
        .post(
            "/v1/customers/Acme/numbers",
            json!({"numbers": [{"start": "13135550000", "count": 10}, {"tn": "13135550009"}]}),
        )
        .await
        .problem(400, "invalid-request");
    assert!(
        detail.contains("numbers[0] and numbers[1] overlap"),
        "{detail}"
    );
    for bad in [
        json!({"numbers": []}),
        json!({"numbers": [{"start": "13135550000"}]}),
        json!({"numbers": [{"tn": "1313555000x"}]}),
        json!({"numbers": [{"tn": "*67"}]}),
        json!({"numbers": [{"start": "99", "count": 5}]}),
        json!({"numbers": [{"start": "1313", "count": 0}]}),
    ] {
        n.post("/v1/customers/Acme/numbers", bad)
            .await
            .problem(400, "invalid-request");
    }
    n.post(
        "/v1/customers/Nobody/numbers",
        json!({"numbers": [{"tn": "13135550000"}]}),
    )
    .await
    .problem(404, "not-found");
    let after_refusals = n.get("/v1/customers/Acme/numbers").await;
    assert_eq!(listed(after_refusals.expect(200)).len(), 3, "all or none");

    // Pages.
    let first = n.get("/v1/customers/Acme/numbers?limit=2").await;
    assert_eq!(
        listed(first.expect(200)),
        ["13125550000+100", "13125559999+1"]
    );
    assert_eq!(first.body["next"], "13125559999");
    let second = n
        .get("/v1/customers/Acme/numbers?limit=2&after=13125559999")
        .await;
    assert_eq!(listed(second.expect(200)), ["442071234567+1"]);
    assert_eq!(second.body["next"], Value::Null);
    for (bad, says) in [
        ("limit=0", "limit must be 1 to 10000"),
        ("limit=10001", "limit must be"),
        ("after=abc", "not a number"),
        ("limit=x", "limit: invalid digit"),
        ("colour=red", "unknown field `colour`"),
    ] {
        let detail = n
            .get(&format!("/v1/customers/Acme/numbers?{bad}"))
            .await
            .problem(400, "invalid-request");
        assert!(detail.contains(says), "{bad}: {detail}");
    }

    // Taken back exactly as given, all or none.
    let detail = n
        .delete(
            "/v1/customers/Acme/numbers",
            json!({"numbers": [{"tn": "13125559999"}, {"start": "13125550000", "count": 10}]}),
        )
        .await
        .problem(404, "not-found");
    assert!(detail.contains("13125550000+10"), "{detail}");
    let removed = n
        .delete(
            "/v1/customers/Acme/numbers",
            json!({"numbers": [{"tn": "13125559999"}, {"start": "13125550000", "count": 100}]}),
        )
        .await;
    assert_eq!(removed.expect(200)["numbers"], 101);
    let left = n.get("/v1/customers/Acme/numbers").await;
    assert_eq!(listed(left.expect(200)), ["442071234567+1"]);
    // The freed numbers can go to someone else.
    n.post("/v1/customers", json!({"name": "Bravo"}))
        .await
        .expect(201);
    n.post(
        "/v1/customers/Bravo/numbers",
        json!({"numbers": [{"start": "13125550050", "count": 10}]}),
    )
    .await
    .expect(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trunks_are_canonical_and_belong_to_one_customer() {
    let n = TestNode::start().await;
    n.post("/v1/customers", json!({"name": "Acme"}))
        .await
        .expect(201);
    n.post("/v1/customers", json!({"name": "Bravo"}))
        .await
        .expect(201);
    let added = n
        .post("/v1/customers/Acme/trunks", json!({"cidr": "192.0.2.0/24"}))
        .await;
    assert_eq!(
        *added.expect(201),
        json!({"customer": "Acme", "cidr": "192.0.2.0/24"})
    );
    n.post("/v1/customers/Acme/trunks", json!({"cidr": "2001:db8::7"}))
        .await
        .expect(201);
    let list = n.get("/v1/customers/Acme/trunks").await;
    assert_eq!(
        list.expect(200)["trunks"],
        json!([{"cidr": "192.0.2.0/24"}, {"cidr": "2001:db8::7/128"}])
    );
    n.post("/v1/customers/Acme/trunks", json!({"cidr": "192.0.2.0/24"}))
        .await
        .problem(409, "conflict");
    let detail = n
        .post(
            "/v1/customers/Bravo/trunks",
            json!({"cidr": "2001:db8::7/128"}),
        )
        .await
        .problem(409, "conflict");
    assert!(detail.contains("Acme"), "{detail}");
    // A more specific range inside another customer's is fine: the most specific wins.
    n.post(
        "/v1/customers/Bravo/trunks",
        json!({"cidr": "192.0.2.128/25"}),
    )
    .await
    .expect(201);
    let detail = n
        .post(
            "/v1/customers/Bravo/trunks",
            json!({"cidr": "198.51.100.7/24"}),
        )
        .await
        .problem(400, "invalid-request");
    assert!(detail.contains("198.51.100.0/24"), "{detail}");
    for bad in ["", "sbc.example.com", "192.0.2.0/40", "10.0.0.0/8/8"] {
        n.post("/v1/customers/Bravo/trunks", json!({"cidr": bad}))
            .await
            .problem(400, "invalid-request");
    }
    n.post(
        "/v1/customers/Nobody/trunks",
        json!({"cidr": "203.0.113.0/24"}),
    )
    .await
    .problem(404, "not-found");
    n.get("/v1/customers/Nobody/trunks")
        .await
        .problem(404, "not-found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_signs_until_it_is_revoked() {
    let n = TestNode::start().await;
    n.post("/v1/customers", json!({"name": "Acme"}))
        .await
        .expect(201);
    let created = n
        .post(
            "/v1/api-keys",
            json!({"customer": "Acme", "name": "sbc-1", "scopes": ["verify", "sign"]}),
        )
        .await;
    let body = created.expect(201).clone();
    let key = body["key"].as_str().unwrap().to_owned();
    let id = body["id"].as_i64().unwrap();
    assert!(key.starts_with("cp_") && key.len() == 46, "{key}");
    assert_eq!(body["prefix"], key[..11]);
    assert_eq!(body["scopes"], json!(["sign", "verify"]));
    assert_eq!(body["customer"], "Acme");
    assert_eq!(created.header("cache-control"), Some("no-store"));
    assert_eq!(
        created.header("location"),
        Some(format!("/v1/api-keys/{id}").as_str())
    );

    // Listed without the secret or its hash.
    let list = n.get("/v1/api-keys").await;
    let listed = list.expect(200)["api_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(
        listed,
        json!({"id": id, "name": "sbc-1", "customer": "Acme", "scopes": ["sign", "verify"], "prefix": &key[..11]})
    );
    assert!(!list.body.to_string().contains(&key[11..]));

    // It signs, as Acme (B: the number is not Acme's).
    assert_eq!(n.sign_attest(&key, ACME_NUMBER).await.unwrap(), "B");
    // It is not an admin key.
    let detail = n
        .send(n.request(Method::GET, "/v1/customers").bearer_auth(&key))
        .await
        .problem(403, "forbidden");
    assert!(detail.contains("admin"), "{detail}");
    let unknown = n
        .send(
            n.request(Method::GET, "/v1/customers")
                .bearer_auth("cp_not-a-key"),
        )
        .await;
    unknown.problem(401, "unauthenticated");
    assert_eq!(unknown.header("www-authenticate"), Some("Bearer"));

    // Revoked: refused at once here (and by other nodes within their poll period).
    n.send(n.request(Method::DELETE, &format!("/v1/api-keys/{id}")))
        .await
        .expect(204);
    eventually(
        Duration::from_secs(5),
        "the revoked key is refused",
        || async {
            match n.sign_attest(&key, ACME_NUMBER).await {
                Err(r) if r.status == StatusCode::UNAUTHORIZED => Some(()),
                _ => None,
            }
        },
    )
    .await;
    n.send(n.request(Method::DELETE, &format!("/v1/api-keys/{id}")))
        .await
        .problem(404, "not-found");
    n.send(n.request(Method::DELETE, "/v1/api-keys/abc"))
        .await
        .problem(400, "invalid-request");
    assert!(
        !n.get("/v1/api-keys").await.expect(200)["api_keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == id)
    );

    // Operator keys: admin works over Bearer; admin cannot belong to a customer.
    let op = n
        .post("/v1/api-keys", json!({"name": "ops", "scopes": ["admin"]}))
        .await;
    let op_key = op.expect(201)["key"].as_str().unwrap().to_owned();
    assert_eq!(op.body["customer"], Value::Null);
    n.send(n.request(Method::GET, "/v1/customers").bearer_auth(&op_key))
        .await
        .expect(200);
    n.send(
        n.request(Method::GET, "/v1/customers")
            .header("x-api-key", &op_key),
    )
    .await
    .expect(200);
    for (bad, status, slug) in [
        (
            json!({"customer": "Acme", "name": "x", "scopes": ["admin"]}),
            400,
            "invalid-request",
        ),
        (json!({"name": "x", "scopes": []}), 400, "invalid-request"),
        (
            json!({"name": "x", "scopes": ["root"]}),
            400,
            "invalid-request",
        ),
        (
            json!({"name": "", "scopes": ["sign"]}),
            400,
            "invalid-request",
        ),
        (
            json!({"customer": "Nobody", "name": "x", "scopes": ["sign"]}),
            404,
            "not-found",
        ),
    ] {
        n.post("/v1/api-keys", bad).await.problem(status, slug);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_given_through_the_api_raise_the_next_call_from_b_to_a() {
    let n = TestNode::start().await;
    let key = customer_with_key(&n, "Acme", &["sign"]).await;
    assert_eq!(n.sign_attest(&key, ACME_NUMBER).await.unwrap(), "B");
    // The development customer's number is not Acme's either.
    assert_eq!(n.sign_attest(&key, DEV_NUMBER).await.unwrap(), "B");
    n.post(
        "/v1/customers/Acme/numbers",
        json!({"numbers": [{"tn": ACME_NUMBER}]}),
    )
    .await
    .expect(201);
    // In force on this node before the write was answered: no wait.
    assert_eq!(n.sign_attest(&key, ACME_NUMBER).await.unwrap(), "A");
    // And taken back the same way.
    n.delete(
        "/v1/customers/Acme/numbers",
        json!({"numbers": [{"tn": ACME_NUMBER}]}),
    )
    .await
    .expect(200);
    assert_eq!(n.sign_attest(&key, ACME_NUMBER).await.unwrap(), "B");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_replay_refuse_reuse_and_survive_a_restart() {
    let n = TestNode::start().await;
    let create = |key: &str, body: Value| {
        n.request(Method::POST, "/v1/customers")
            .header("idempotency-key", key)
            .json(&body)
    };
    let first = n.send(create("k-1", json!({"name": "Acme"}))).await;
    let acme = first.expect(201).clone();
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = n.send(create("k-1", json!({"name": "Acme"}))).await;
    assert_eq!(*again.expect(201), acme);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    // The structured-field form of the same key.
    let quoted = n.send(create("\"k-1\"", json!({"name": "Acme"}))).await;
    assert_eq!(*quoted.expect(201), acme);
    // The same key for another request.
    let detail = n
        .send(create("k-1", json!({"name": "Bravo"})))
        .await
        .problem(422, "idempotency-key-reused");
    assert!(detail.contains("different request"), "{detail}");
    // Another key: a new request, refused on its merits.
    n.send(create("k-2", json!({"name": "Acme"})))
        .await
        .problem(409, "conflict");
    n.send(create(&"k".repeat(256), json!({"name": "Zed"})))
        .await
        .problem(400, "invalid-request");

    // A refused write is not kept: fixed, the same key goes through.
    let numbers = json!({"numbers": [{"tn": ACME_NUMBER}]});
    let add = || {
        n.request(Method::POST, "/v1/customers/Later/numbers")
            .header("idempotency-key", "k-3")
            .json(&numbers)
    };
    n.send(add()).await.problem(404, "not-found");
    n.post("/v1/customers", json!({"name": "Later"}))
        .await
        .expect(201);
    let added = n.send(add()).await;
    added.expect(201);
    assert_eq!(added.header("idempotent-replayed"), None);
    assert_eq!(
        n.send(add()).await.header("idempotent-replayed"),
        Some("true")
    );

    // A new API key's secret is shown once: the replay has the same id and no key, and no
    // second key was made.
    let new_key = || {
        n.request(Method::POST, "/v1/api-keys")
            .header("idempotency-key", "k-4")
            .json(&json!({"customer": "Acme", "name": "sbc", "scopes": ["sign"]}))
    };
    let made = n.send(new_key()).await;
    let made = made.expect(201).clone();
    assert!(made["key"].is_string());
    let replayed = n.send(new_key()).await;
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    let mut without_secret = made.clone();
    without_secret.as_object_mut().unwrap().remove("key");
    assert_eq!(*replayed.expect(201), without_secret);
    let keys = n.get("/v1/api-keys").await;
    assert_eq!(keys.expect(200)["api_keys"].as_array().unwrap().len(), 1);

    // DELETE: the replay answers as the first time did, not 404.
    let revoke = || {
        n.request(Method::DELETE, &format!("/v1/api-keys/{}", made["id"]))
            .header("idempotency-key", "k-5")
    };
    n.send(revoke()).await.expect(204);
    let again = n.send(revoke()).await;
    again.expect(204);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));

    // Keys belong to the caller: an operator key using "k-1" is a new request.
    let op = n
        .post("/v1/api-keys", json!({"name": "ops", "scopes": ["admin"]}))
        .await;
    let op = op.expect(201)["key"].as_str().unwrap().to_owned();
    n.send(create("k-1", json!({"name": "Acme"})).bearer_auth(&op))
        .await
        .problem(409, "conflict");

    // Stored durably: replayed by the next node on the same data.
    let n = n.restart().await;
    let after = n
        .send(
            n.request(Method::POST, "/v1/customers")
                .header("idempotency-key", "k-1")
                .json(&json!({"name": "Acme"})),
        )
        .await;
    assert_eq!(*after.expect(201), acme);
    assert_eq!(after.header("idempotent-replayed"), Some("true"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_answers_and_undeclared_methods_get_405() {
    let n = TestNode::start().await;
    let doc = n.get("/openapi.json").await;
    assert_eq!(doc.header("content-type"), Some("application/json"));
    let doc = doc.expect(200).clone();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
    let key = n
        .post("/v1/api-keys", json!({"name": "spare", "scopes": ["sign"]}))
        .await;
    let id = key.expect(201)["id"].to_string();
    // A brand with a logo and a partner, so that brand paths name real things.
    n.post(
        "/v1/brands",
        json!({"slug": "acme", "customer": "development", "legalName": "Acme",
            "displayName": "Acme"}),
    )
    .await
    .expect(201);
    n.send(
        n.request(Method::PUT, "/v1/brands/acme/logo")
            .header("content-type", "image/svg+xml")
            .body("<svg xmlns='http://www.w3.org/2000/svg'/>"),
    )
    .await
    .expect(200);
    n.post(
        "/v1/brands/acme/numbers",
        json!({"kind": "listed", "numbers": [{"start": "12155551000", "count": 10}]}),
    )
    .await
    .expect(201);
    n.post("/v1/customers", json!({"name": "callco"}))
        .await
        .expect(201);
    let partner = n
        .post(
            "/v1/brands/acme/partners",
            json!({"customer": "callco", "numbers": [{"tn": "12155551001"}]}),
        )
        .await;
    let partner = partner.expect(201)["id"].to_string();
    let call = n
        .post(
            "/v1/brands/acme/calls",
            json!({"callingNumber": "12155551000", "calledNumber": "12125550100"}),
        )
        .await
        .expect(201)["id"]
        .to_string();
    let report = n
        .post(
            "/v1/reports",
            json!({"callingNumber": "12155551000", "text": "A caller asked for my PIN."}),
        )
        .await
        .expect(201)["id"]
        .to_string();

    let concrete = |path: &str| {
        path.replace("/certs/{name}", "/certs/sp.pem")
            .replace("{name}", "development")
            .replace("{slug}", "acme")
            .replace("/partners/{id}", &format!("/partners/{partner}"))
            .replace("/calls/{id}", &format!("/calls/{call}"))
            .replace("/reports/{id}", &format!("/reports/{report}"))
            .replace("{id}", &id)
    };
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                continue;
            }
            let method: Method = method.to_ascii_uppercase().parse().unwrap();
            let mut req = n.request(method.clone(), &concrete(path));
            if method == Method::POST {
                req = req.json(&json!({}));
            }
            let reply = n.send(req).await;
            assert!(
                reply.status != StatusCode::NOT_FOUND
                    && reply.status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}: {} {:#}",
                reply.status,
                reply.body
            );
            checked += 1;
        }
    }
    assert!(checked >= 17, "only {checked} operations documented");

    // What a route does not declare, it refuses with 405 (so the declared list is the truth).
    for e in server::rest::endpoints() {
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            if e.methods.contains(&method) {
                continue;
            }
            let reply = n
                .send(n.request(method.parse().unwrap(), &concrete(e.path)))
                .await;
            assert_eq!(
                reply.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {}",
                e.path
            );
        }
    }

    // Admin requests are counted.
    let metrics = n.get("/metrics").await;
    assert!(
        metrics
            .body
            .as_str()
            .unwrap()
            .contains("endpoint=\"admin\""),
        "{}",
        metrics.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_development_mode_the_admin_api_needs_an_admin_key() {
    let n = TestNode::start_with(tempfile::tempdir().unwrap(), |c| {
        c.development_mode = false;
        c.http.public_url = Some("https://sti.callproof.test".into());
    })
    .await;
    let state = n.node.as_ref().unwrap().state();
    assert!(!state.dev_mode);
    // The first admin key comes from the store (the operator's bootstrap).
    for (secret, scopes) in [
        ("cp_test-admin", vec![Scope::Admin]),
        ("cp_test-signer", vec![Scope::Sign]),
    ] {
        state
            .store
            .create_api_key(NewApiKey {
                customer: None,
                name: secret.into(),
                prefix: secret.into(),
                hash: engine::inventory::hash_api_key(secret),
                scopes,
            })
            .await
            .unwrap();
    }
    state.inventory.refresh(state.store.as_ref()).await.unwrap();

    let anonymous = n.post("/v1/customers", json!({"name": "Acme"})).await;
    let detail = anonymous.problem(401, "unauthenticated");
    assert!(detail.contains("API key is required"), "{detail}");
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
    n.send(
        n.request(Method::GET, "/v1/api-keys")
            .bearer_auth("cp_test-signer"),
    )
    .await
    .problem(403, "forbidden");
    n.send(
        n.request(Method::POST, "/v1/customers")
            .bearer_auth("cp_test-admin")
            .json(&json!({"name": "Acme"})),
    )
    .await
    .expect(201);
    let list = n
        .send(
            n.request(Method::GET, "/v1/customers")
                .bearer_auth("cp_test-admin"),
        )
        .await;
    assert_eq!(
        list.expect(200)["customers"],
        json!([{"id": 1, "name": "Acme", "origid": list.body["customers"][0]["origid"]}]),
        "no development customer outside development mode"
    );
}
