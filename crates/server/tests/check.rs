//! Call checks over the REST API, on a real development node: calls registered by a
//! brand's dialler (and refused when the brand's policy would refuse to sign them), calls
//! signed for the brand recorded on their own, the public check by number pair and by
//! one-time code, its enumeration resistance (same bytes and the same timing for a
//! customer's number and a stranger's) and rate limits, the brand app's call status, and
//! the voicemail and SMS texts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

mod common;

use std::time::{Duration, Instant};

use common::{TestNode, eventually, fresh_origid, now, signing_request};
use serde_json::{Value, json};

/// The brand's listed numbers (inside the development customer's range).
const LISTED: &str = "+12155551000";
const LISTED_2: &str = "+12155551001";
/// A number of the development customer that is not the brand's.
const UNLISTED: &str = "+12155552000";
/// A customer of the brand.
const CUSTOMER: &str = "+12125550100";
/// Someone else.
const STRANGER: &str = "+12125550199";

async fn node_with(adjust: impl FnOnce(&mut server::config::Config)) -> TestNode {
    let node = TestNode::start_with(adjust).await;
    let (status, body) = node
        .post_json(
            "/v1/brands",
            &json!({"slug": "acme-bank", "customer": "development",
                "legalName": "Acme Bank plc", "displayName": "Acme Bank",
                "callback": "+18005550199",
                "neverAsk": ["We will never ask for your PIN"],
                "callReasons": [
                    {"code": "fraud-alert", "text": "Card fraud alert"},
                    {"code": "offers", "text": "Savings offers", "marketing": true}]}),
            &[],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = node
        .post_json(
            "/v1/brands/acme-bank/numbers",
            &json!({"kind": "listed", "numbers": [{"start": "12155551000", "count": 100}]}),
            &[],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    node
}

async fn node() -> TestNode {
    node_with(|_| {}).await
}

/// Opts `number` out of the brand's marketing calls.
async fn opt_out(node: &TestNode, number: &str) {
    let (status, body) = node
        .post_json(
            "/v1/brands/acme-bank/opt-outs",
            &json!({"numbers": [number]}),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn register(node: &TestNode, body: Value, headers: &[(&str, &str)]) -> (u16, Value) {
    node.post_json("/v1/brands/acme-bank/calls", &body, headers)
        .await
}

async fn check(node: &TestNode, calling: &str, called: &str) -> (u16, Value) {
    node.post_json(
        "/v1/check",
        &json!({"brand": "acme-bank", "callingNumber": calling, "calledNumber": called}),
        &[],
    )
    .await
}

async fn check_code(node: &TestNode, code: &str) -> (u16, Value) {
    node.post_json(
        "/v1/check",
        &json!({"brand": "acme-bank", "code": code}),
        &[],
    )
    .await
}

#[tokio::test]
async fn a_registered_call_is_calling_now_with_its_reason_and_agent_until_it_ends() {
    let node = node().await;
    let (status, call) = register(
        &node,
        json!({"callingNumber": LISTED, "calledNumber": CUSTOMER, "reason": "fraud-alert",
            "agent": {"reference": "A-1234", "firstName": "Sarah"}}),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{call}");
    assert_eq!(call["source"], "registered");
    assert_eq!(call["inProgress"], true);
    assert!(
        call["checkPage"]
            .as_str()
            .unwrap()
            .ends_with("/brands/acme-bank/check")
    );
    let code = call["code"].as_str().unwrap();
    assert_eq!(code.len(), 9, "eight digits shown as 1234 5678: {code}");

    let (status, answer) = check(&node, LISTED, CUSTOMER).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["answer"], "calling-now");
    assert_eq!(
        answer["reason"],
        json!({"code": "fraud-alert", "text": "Card fraud alert"})
    );
    assert_eq!(answer["agent"], json!({"firstName": "Sarah"}));
    assert_eq!(answer["callBack"], "18005550199");
    assert!(
        answer.to_string().find("A-1234").is_none(),
        "the agent's reference stays with the brand"
    );

    // The dialler ends the call: "called you recently", not "calling you now".
    let id = call["id"].as_i64().unwrap();
    let (status, ended) = node
        .post_json(
            &format!("/v1/brands/acme-bank/calls/{id}/end"),
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["inProgress"], false);
    let first_end = ended["endedAt"].clone();
    let (_, again) = node
        .post_json(
            &format!("/v1/brands/acme-bank/calls/{id}/end"),
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(again["endedAt"], first_end, "the first end is kept");
    assert_eq!(
        check(&node, LISTED, CUSTOMER).await.1["answer"],
        "called-recently"
    );

    // Another number on the screen: not us, whatever the brand did with this customer.
    let (_, answer) = check(&node, LISTED_2, CUSTOMER).await;
    assert_eq!(answer["answer"], "not-us");
    assert_eq!(answer["callBack"], "18005550199");
    assert!(answer["advice"].as_str().unwrap().contains("Hang up"));
    let (status, _) = node
        .post_json("/v1/brands/acme-bank/calls/999999/end", &json!({}), &[])
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn registration_follows_the_signing_policy() {
    let node = node().await;
    let cases = [
        (
            json!({"callingNumber": UNLISTED, "calledNumber": CUSTOMER}),
            400,
            "listed numbers",
        ),
        (
            json!({"callingNumber": LISTED, "calledNumber": CUSTOMER, "reason": "lottery"}),
            400,
            "not a call reason",
        ),
        (
            json!({"callingNumber": "12", "calledNumber": CUSTOMER}),
            400,
            "callingNumber",
        ),
        (
            json!({"callingNumber": LISTED, "calledNumber": CUSTOMER,
                "agent": {"firstName": "x".repeat(33)}}),
            400,
            "agent.firstName",
        ),
        (
            json!({"callingNumber": LISTED, "calledNumber": CUSTOMER, "extra": 1}),
            400,
            "extra",
        ),
    ];
    for (body, want, says) in cases {
        let (status, problem) = register(&node, body.clone(), &[]).await;
        assert_eq!(status, want, "{body} -> {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(says),
            "{body} -> {problem}"
        );
    }
    // A marketing call to a number that opted out is refused like its signing.
    opt_out(&node, CUSTOMER).await;
    let (status, problem) = register(
        &node,
        json!({"callingNumber": LISTED, "calledNumber": CUSTOMER, "reason": "offers"}),
        &[],
    )
    .await;
    assert_eq!(status, 403, "{problem}");
    let (status, brand_call) = register(
        &node,
        json!({"callingNumber": LISTED, "calledNumber": CUSTOMER, "reason": "fraud-alert"}),
        &[],
    )
    .await;
    assert_eq!(status, 201, "a service call to the same number is fine");

    // A customer's key with the calls scope: its own brand only, and partners only for
    // their numbers.
    let key = |customer: &'static str, scopes: Value| {
        let node = &node;
        async move {
            let (status, _) = node
                .post_json("/v1/customers", &json!({"name": customer}), &[])
                .await;
            assert!(status == 201 || status == 409);
            let (status, body) = node
                .post_json(
                    "/v1/api-keys",
                    &json!({"customer": customer, "name": "dialler", "scopes": scopes}),
                    &[],
                )
                .await;
            assert_eq!(status, 201, "{body}");
            body["key"].as_str().unwrap().to_owned()
        }
    };
    let stranger = key("stranger-co", json!(["calls"])).await;
    let auth = format!("Bearer {stranger}");
    let (status, problem) = register(
        &node,
        json!({"callingNumber": LISTED, "calledNumber": STRANGER}),
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(status, 403, "{problem}");
    let signer = key("signer-co", json!(["sign"])).await;
    let auth = format!("Bearer {signer}");
    let (status, problem) = register(
        &node,
        json!({"callingNumber": LISTED, "calledNumber": STRANGER}),
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(status, 403, "a key without the calls scope: {problem}");
    assert!(problem["detail"].as_str().unwrap().contains("calls"));

    let partner = key("callco", json!(["calls"])).await;
    let (status, body) = node
        .post_json(
            "/v1/brands/acme-bank/partners",
            &json!({"customer": "callco", "numbers": [{"start": "12155551010", "count": 10}]}),
            &[],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let auth = format!("Bearer {partner}");
    let (status, call) = register(
        &node,
        json!({"callingNumber": "+12155551011", "calledNumber": STRANGER,
            "agent": {"firstName": "Tom"}}),
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(status, 201, "{call}");
    assert!(call["partner"].is_i64(), "{call}");
    let (status, problem) = register(
        &node,
        json!({"callingNumber": LISTED, "calledNumber": STRANGER}),
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(status, 403, "not one of the partner's numbers: {problem}");
    // The partner reads its calls, not the brand's customers' status.
    let id = call["id"].as_i64().unwrap();
    let (status, _, _) = common::get_url(
        &reqwest::Client::new(),
        &node.url(&format!("/v1/brands/acme-bank/calls/{id}")),
    )
    .await;
    assert_eq!(status, 200, "a loopback operator reads it");
    let as_partner = |method: reqwest::Method, path: String| {
        let request = node
            .client
            .request(method, node.url(&path))
            .header("authorization", &auth);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let own = format!("/v1/brands/acme-bank/calls/{id}");
    assert_eq!(as_partner(reqwest::Method::GET, own).await, 200);
    // The brand's own call (a customer's number) is not the partner's to read or end.
    let other = brand_call["id"].as_i64().unwrap();
    let theirs = format!("/v1/brands/acme-bank/calls/{other}");
    assert_eq!(as_partner(reqwest::Method::GET, theirs.clone()).await, 404);
    assert_eq!(
        as_partner(reqwest::Method::POST, format!("{theirs}/end")).await,
        404
    );
    let (_, still) = node
        .post_json(&format!("{theirs}/end"), &json!({}), &[])
        .await;
    assert!(
        still["endedAt"].is_i64(),
        "the brand itself ends it: {still}"
    );
    let (status, problem) = node
        .post_json(
            "/v1/brands/acme-bank/call-status",
            &json!({"calledNumber": STRANGER}),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(status, 403, "{problem}");
}

#[tokio::test]
async fn a_retried_registration_with_its_idempotency_key_gets_the_same_call_and_code() {
    let node = node().await;
    let body = json!({"callingNumber": LISTED, "calledNumber": CUSTOMER});
    let headers = [("idempotency-key", "dialler-call-42")];
    let (status, first) = register(&node, body.clone(), &headers).await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = register(&node, body, &headers).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(first["id"], again["id"]);
    assert_eq!(first["code"], again["code"]);
}

#[tokio::test]
async fn a_code_works_once_and_wrong_codes_say_so() {
    let node = node().await;
    let (_, call) = register(
        &node,
        json!({"callingNumber": LISTED, "calledNumber": CUSTOMER, "reason": "fraud-alert",
            "agent": {"firstName": "Sarah"}}),
        &[],
    )
    .await;
    let code = call["code"].as_str().unwrap().to_owned();
    let typed = code.replace(' ', "-");
    let (status, answer) = check_code(&node, &typed).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["answer"], "calling-now");
    assert_eq!(answer["agent"]["firstName"], "Sarah");
    assert_eq!(answer["callingNumber"], "12155551000");
    let (_, again) = check_code(&node, &code).await;
    assert_eq!(again["answer"], "code-invalid", "single use: {again}");
    let (status, problem) = check_code(&node, "1234").await;
    assert_eq!(status, 400, "{problem}");
    // The same shape as any other answer.
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&again), keys(&answer));

    // A registration without a code has none.
    let (_, call) = register(
        &node,
        json!({"callingNumber": LISTED, "calledNumber": STRANGER, "code": false}),
        &[],
    )
    .await;
    assert_eq!(call["code"], Value::Null);
}

#[tokio::test]
async fn a_code_expires() {
    let node = node_with(|c| c.check.code_ttl_secs = 1).await;
    let (_, call) = register(
        &node,
        json!({"callingNumber": LISTED, "calledNumber": CUSTOMER}),
        &[],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (_, answer) = check_code(&node, call["code"].as_str().unwrap()).await;
    assert_eq!(answer["answer"], "code-invalid", "{answer}");
}

#[tokio::test]
async fn code_attempts_are_limited_per_client() {
    let node = node_with(|c| c.check.code_attempts_per_client = 3).await;
    for _ in 0..3 {
        let (status, answer) = check_code(&node, "0000 0001").await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["answer"], "code-invalid");
    }
    let response = node
        .client
        .post(node.url("/v1/check"))
        .header("content-type", "application/json")
        .body(json!({"brand": "acme-bank", "code": "0000 0002"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&retry), "{retry}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["type"],
        "https://callproof.dev/problems/too-many-requests"
    );
}

#[tokio::test]
async fn checks_are_limited_per_client_and_per_called_number() {
    let node = node_with(|c| {
        c.check.per_client_per_minute = 5;
        c.check.per_number_per_minute = 3;
        c.check.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let from = |client: &'static str, called: &'static str| {
        let node = &node;
        async move {
            node.post_json(
                "/v1/check",
                &json!({"brand": "acme-bank", "callingNumber": LISTED, "calledNumber": called}),
                &[("x-forwarded-for", client)],
            )
            .await
            .0
        }
    };
    // One number, many clients: the fourth check of it is refused, whoever asks.
    for client in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        assert_eq!(from(client, CUSTOMER).await, 200);
    }
    assert_eq!(from("198.51.100.4", CUSTOMER).await, 429);
    // One client, many numbers: the sixth check is refused. The client address is the
    // last one in X-Forwarded-For that is not a trusted proxy.
    let numbers = [
        "+12125550001",
        "+12125550002",
        "+12125550003",
        "+12125550004",
        "+12125550005",
    ];
    for n in numbers {
        let status = node
            .post_json(
                "/v1/check",
                &json!({"brand": "acme-bank", "callingNumber": LISTED, "calledNumber": n}),
                &[("x-forwarded-for", "203.0.113.7, 127.0.0.1")],
            )
            .await
            .0;
        assert_eq!(status, 200);
    }
    assert_eq!(from("203.0.113.7", "+12125550006").await, 429);
    assert_eq!(
        from("203.0.113.8", "+12125550006").await,
        200,
        "another client"
    );
    let (_, _, metrics) = node.get("/metrics").await;
    assert!(
        metrics.contains("callproof_checks_limited_total{kind=\"number\"} 1"),
        "{metrics}"
    );
}

/// A customer's number (opted out of marketing, called from another of the brand's numbers)
/// and a stranger's get byte-identical answers, with median timings under 1 ms apart.
#[tokio::test]
async fn a_customers_number_and_a_strangers_look_the_same() {
    let node = node_with(|c| {
        c.check.per_client_per_minute = 1_000_000;
        c.check.per_number_per_minute = 1_000_000;
    })
    .await;
    opt_out(&node, CUSTOMER).await;
    let (status, _) = register(
        &node,
        json!({"callingNumber": LISTED_2, "calledNumber": CUSTOMER, "reason": "fraud-alert"}),
        &[],
    )
    .await;
    assert_eq!(status, 201);

    let raw = |called: &'static str| {
        let node = &node;
        async move {
            let started = Instant::now();
            let response = node
                .client
                .post(node.url("/v1/check"))
                .header("content-type", "application/json")
                .body(
                    json!({"brand": "acme-bank", "callingNumber": LISTED, "calledNumber": called})
                        .to_string(),
                )
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let mut headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .filter(|(name, _)| *name != "date")
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
                .collect();
            headers.sort();
            let body = response.bytes().await.unwrap();
            (status, headers, body, started.elapsed())
        }
    };
    let (s1, h1, b1, _) = raw(CUSTOMER).await;
    let (s2, h2, b2, _) = raw(STRANGER).await;
    assert_eq!(s1, 200);
    assert_eq!((s1, &h1), (s2, &h2), "status and headers");
    assert_eq!(b1, b2, "byte for byte");
    assert_eq!(
        serde_json::from_slice::<Value>(&b1).unwrap()["answer"],
        "not-us"
    );

    // Timing: interleaved, after a warm-up.
    let mut customer = Vec::new();
    let mut stranger = Vec::new();
    for i in 0..400 {
        let (a, b) = if i % 2 == 0 {
            (raw(CUSTOMER).await.3, raw(STRANGER).await.3)
        } else {
            let b = raw(STRANGER).await.3;
            (raw(CUSTOMER).await.3, b)
        };
        if i >= 50 {
            customer.push(a);
            stranger.push(b);
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (mc, ms) = (median(&mut customer), median(&mut stranger));
    let diff = mc.abs_diff(ms);
    eprintln!("median check: customer {mc:?}, stranger {ms:?}, difference {diff:?}");
    assert!(diff < Duration::from_millis(1), "{mc:?} vs {ms:?}");
}

#[tokio::test]
async fn a_call_signed_for_the_brand_is_in_the_registry() {
    let node = node().await;
    let (status, body) = node
        .post_json(
            "/stir/v1/signing",
            &{
                let mut r =
                    signing_request("A", "12155551000", &["12125550100"], now(), &fresh_origid());
                r["signingRequest"]["callReason"] = json!("fraud-alert");
                r
            },
            &[],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let answer = eventually(
        Duration::from_secs(2),
        "the signed call in the registry",
        || async {
            let (_, answer) = check(&node, LISTED, CUSTOMER).await;
            (answer["answer"] == "calling-now").then_some(answer)
        },
    )
    .await;
    assert_eq!(answer["reason"]["code"], "fraud-alert");
    assert_eq!(answer["agent"], Value::Null);

    // The brand's app sees it too, with the other calls to its customer.
    let (status, status_body) = node
        .post_json(
            "/v1/brands/acme-bank/call-status",
            &json!({"calledNumber": CUSTOMER}),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{status_body}");
    assert_eq!(status_body["status"], "calling-now");
    assert_eq!(status_body["calls"][0]["source"], "signed");
    let (_, none) = node
        .post_json(
            "/v1/brands/acme-bank/call-status",
            &json!({"calledNumber": STRANGER}),
            &[],
        )
        .await;
    assert_eq!(none, json!({"status": "none", "calls": []}));

    let (_, _, metrics) = node.get("/metrics").await;
    assert!(
        metrics.contains("callproof_checks_total{brand=\"acme-bank\",answer=\"calling-now\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("callproof_registry_calls_total{kind=\"signed\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn checks_of_unknown_brands_and_bad_bodies_are_problems() {
    let node = node().await;
    let (status, problem) = node
        .post_json(
            "/v1/check",
            &json!({"brand": "nobody", "callingNumber": LISTED, "calledNumber": CUSTOMER}),
            &[],
        )
        .await;
    assert_eq!(status, 404, "{problem}");
    for body in [
        json!({"brand": "acme-bank"}),
        json!({"brand": "acme-bank", "callingNumber": LISTED}),
        json!({"brand": "acme-bank", "callingNumber": "x", "calledNumber": CUSTOMER}),
        json!({"brand": "acme-bank", "code": "12345678", "extra": true}),
    ] {
        let (status, problem) = node.post_json("/v1/check", &body, &[]).await;
        assert_eq!(status, 400, "{body} -> {problem}");
        assert_eq!(
            problem["type"],
            "https://callproof.dev/problems/invalid-request"
        );
    }
}

#[tokio::test]
async fn voicemail_and_sms_texts_name_the_brand_and_fit_one_segment() {
    let node = node().await;
    let (status, _, body) = node
        .get("/v1/brands/acme-bank/scripts?reason=fraud-alert")
        .await;
    assert_eq!(status, 200, "{body}");
    let s: Value = serde_json::from_str(&body).unwrap();
    let voicemail = s["voicemail"].as_str().unwrap();
    assert!(voicemail.contains("Acme Bank"), "{voicemail}");
    assert!(voicemail.contains("Card fraud alert"), "{voicemail}");
    assert!(
        voicemail.contains("We will never ask for your PIN"),
        "{voicemail}"
    );
    assert!(voicemail.contains("+1 800-555-0199"), "{voicemail}");
    assert!(voicemail.contains("/brands/acme-bank/check"), "{voicemail}");
    assert_eq!(s["smsEncoding"], "gsm-7");
    assert_eq!(s["smsSegments"], 1, "{s}");
    assert!(
        s["sms"]
            .as_str()
            .unwrap()
            .contains("/brands/acme-bank/check")
    );
    let (status, _, _) = node
        .get("/v1/brands/acme-bank/scripts?reason=lottery")
        .await;
    assert_eq!(status, 400);
}
