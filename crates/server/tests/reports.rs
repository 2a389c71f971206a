//! Reports end to end on a real development node: `POST /v1/reports` (public) stores what
//! the reporter sent and nothing more, answers 201 only after the commit, replays a report
//! sent again with its `Idempotency-Key`, refuses every bad request with a problem, and is
//! rate-limited per client; verification turns spoofing evidence into one report per
//! PASSporT however often it is verified.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

mod common;

use std::time::Duration;

use common::{TestNode, alter_signature, eventually, fresh_origid, now};
use passport::TelephoneNumber;
use serde_json::{Value, json};
use store::{Asked, ReportChannel, ReportId};

const REPORTS: &str = "/v1/reports";
/// The brand's listed numbers start here (inside the development customer's range).
const LISTED: &str = "12155551000";
const DEST: &str = "12125551213";

/// POSTs a report with extra headers: status, headers, JSON body.
async fn report(
    node: &TestNode,
    body: &Value,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = node
        .client
        .post(node.url(REPORTS))
        .header("content-type", "application/json")
        .body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: not JSON ({e}): {text:?}"));
    (status, headers, body)
}

/// Asserts an RFC 9457 problem of `status` and type `slug`; returns its detail.
fn problem(status: u16, headers: &reqwest::header::HeaderMap, body: &Value, slug: &str) -> String {
    assert_eq!(body["status"], json!(status), "{body}");
    assert_eq!(
        body["type"],
        json!(format!("https://callproof.dev/problems/{slug}")),
        "{body}"
    );
    assert_eq!(headers["content-type"], "application/problem+json");
    body["detail"].as_str().unwrap().to_owned()
}

async fn stored_reports(node: &TestNode) -> Vec<store::Report> {
    node.node()
        .state()
        .store
        .reports_after(ReportId(0), 1000)
        .await
        .unwrap()
}

/// Signs a call from the brand's number LISTED to DEST issued at `iat`: its SHAKEN Identity.
async fn sign_brand_call(node: &TestNode, iat: i64) -> String {
    let request = common::signing_request("A", LISTED, &[DEST], iat, &fresh_origid());
    let (status, body) = node.post_json("/stir/v1/signing", &request, &[]).await;
    assert_eq!(status, 200, "{body}");
    body["signingResponse"]["identity"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn tn(s: &str) -> TelephoneNumber {
    TelephoneNumber::parse(s).unwrap()
}

/// Brand "acme-bank" of the development customer, listed on LISTED..+100.
async fn setup_brand(node: &TestNode) {
    let (status, body) = node
        .post_json(
            "/v1/brands",
            &json!({"slug": "acme-bank", "customer": "development", "legalName": "Acme Bank plc",
                "displayName": "Acme Bank"}),
            &[],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = node
        .post_json(
            "/v1/brands/acme-bank/numbers",
            &json!({"kind": "listed", "numbers": [{"start": LISTED, "count": 100}]}),
            &[],
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

/// The value of the `callproof_reports` counter for `channel` and `outcome`.
async fn reports_metric(node: &TestNode, channel: &str, outcome: &str) -> u64 {
    let (status, _, text) = node.get("/metrics").await;
    assert_eq!(status, 200);
    let series = format!("callproof_reports_total{{channel=\"{channel}\",outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn a_report_is_stored_as_sent_and_answered_with_its_id_only() {
    let node = TestNode::start().await;
    setup_brand(&node).await;
    let brand = node
        .node()
        .state()
        .store
        .brand_by_slug("acme-bank")
        .await
        .unwrap()
        .unwrap();
    let sent_at = now();
    let (status, headers, body) = report(
        &node,
        &json!({
            "brand": "acme-bank",
            "claimedBrand": "Acme Bank fraud team",
            "callingNumber": "+1 215 555 0100",
            "calledNumber": "+12125551213",
            "time": sent_at - 120,
            "asked": ["bank-transfer", "password"],
            "text": "They said my account was hacked and asked me to move my savings.",
        }),
        &[("x-forwarded-for", "203.0.113.9")],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    let id = body["id"].as_i64().unwrap();
    let received = body["receivedAt"].as_i64().unwrap();
    assert!((sent_at..=now()).contains(&received));
    // The receipt says nothing more than the id, the time and the brand.
    assert_eq!(
        body,
        json!({"id": id, "receivedAt": received, "brand": "acme-bank"})
    );

    // Committed before the answer: there now, exactly as sent and no more.
    let stored = node
        .node()
        .state()
        .store
        .report(ReportId(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored,
        store::Report {
            id: ReportId(id),
            brand: Some(brand.id),
            claimed_brand: Some("Acme Bank fraud team".into()),
            calling: Some(tn("12155550100")),
            called: Some(tn("12125551213")),
            call_at: Some(sent_at - 120),
            asked: vec![Asked::Password, Asked::BankTransfer],
            text: "They said my account was hacked and asked me to move my savings.".into(),
            channel: ReportChannel::Api,
            received_at: received,
        }
    );

    // The least a report can be: a number, or some text; no brand in the receipt then.
    for minimal in [
        json!({"callingNumber": "12155550100"}),
        json!({"text": "A robot said my parcel is held at customs."}),
    ] {
        let (status, _, body) = report(&node, &minimal, &[]).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    }
    let all = stored_reports(&node).await;
    assert_eq!(all.len(), 3);
    assert!(
        all[1..]
            .iter()
            .all(|r| r.brand.is_none() && r.asked.is_empty())
    );
    assert_eq!(reports_metric(&node, "api", "stored").await, 3);
    node.stop().await;
}

#[tokio::test]
async fn every_bad_request_is_refused_with_a_problem_and_stores_nothing() {
    let node = TestNode::start().await;
    let good = json!({"text": "they asked for my card number"});
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"text": "x", "colour": "red"}),
            400,
            "invalid-request",
            "unknown field",
        ),
        (
            json!({"asked": ["card"]}),
            400,
            "invalid-request",
            "callingNumber",
        ),
        (
            json!({"callingNumber": "not a number"}),
            400,
            "invalid-request",
            "callingNumber",
        ),
        (
            json!({"text": "x", "asked": ["pin"]}),
            400,
            "invalid-request",
            "asked",
        ),
        (
            json!({"text": "x".repeat(10_001)}),
            400,
            "invalid-request",
            "10000",
        ),
        (
            json!({"text": "a\u{0}b"}),
            400,
            "invalid-request",
            "printable",
        ),
        (
            json!({"text": "x", "time": now() + 3600}),
            400,
            "invalid-request",
            "future",
        ),
        (
            json!({"text": "x", "time": now() - 400 * 86_400}),
            400,
            "invalid-request",
            "365 days",
        ),
        (
            json!({"text": "x", "brand": "no-such-bank"}),
            404,
            "not-found",
            "no-such-bank",
        ),
    ];
    for (body, status, slug, says) in cases {
        let (got, headers, answer) = report(&node, &body, &[]).await;
        assert_eq!(got, status, "{body}: {answer}");
        let detail = problem(status, &headers, &answer, slug);
        assert!(detail.contains(says), "{body}: {detail}");
    }

    // Not JSON at all, the wrong media type, too large a body.
    let (status, text) = node
        .post_raw(REPORTS, Some("application/json"), b"{\"text\": ".to_vec())
        .await;
    assert_eq!(status, 400, "{text}");
    let (status, text) = node
        .post_raw(REPORTS, Some("text/plain"), good.to_string().into_bytes())
        .await;
    assert_eq!(status, 415, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["type"],
        "https://callproof.dev/problems/unsupported-media-type"
    );
    let (status, text) = node
        .post_raw(REPORTS, None, good.to_string().into_bytes())
        .await;
    assert_eq!(status, 415, "{text}");
    let huge = json!({"text": "x".repeat(70 * 1024)})
        .to_string()
        .into_bytes();
    let (status, text) = node.post_raw(REPORTS, Some("application/json"), huge).await;
    assert_eq!(status, 413, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["type"],
        "https://callproof.dev/problems/payload-too-large"
    );
    // A malformed Idempotency-Key.
    let (status, headers, body) = report(&node, &good, &[("idempotency-key", "two words")]).await;
    problem(status, &headers, &body, "invalid-request");

    // GET is not a method of the resource.
    let (status, headers, text) = node.get(REPORTS).await;
    assert_eq!(status, 405, "{text}");
    assert_eq!(headers["allow"], "POST");

    assert!(stored_reports(&node).await.is_empty(), "nothing stored");
    node.stop().await;
}

#[tokio::test]
async fn an_idempotency_key_stores_one_report_and_replays_it() {
    let node = TestNode::start().await;
    setup_brand(&node).await;
    let body = json!({"brand": "acme-bank", "callingNumber": "12155550100",
        "asked": ["card"], "text": "card details for a refund"});
    let key = [("idempotency-key", "3f1c0b9e-report-1")];
    let (status, headers, first) = report(&node, &body, &key).await;
    assert_eq!(status, 201, "{first}");
    assert!(headers.get("idempotent-replayed").is_none());

    // Sent again (a retry after a lost answer): the first report, nothing more stored.
    for _ in 0..2 {
        let (status, headers, again) = report(&node, &body, &key).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(headers["idempotent-replayed"], "true");
        assert_eq!(again, first);
    }
    // The quoted form names the same key.
    let (status, _, again) = report(
        &node,
        &body,
        &[("idempotency-key", "\"3f1c0b9e-report-1\"")],
    )
    .await;
    assert_eq!((status, &again), (200, &first));
    assert_eq!(stored_reports(&node).await.len(), 1);

    // The key with another report: refused, nothing stored.
    let other = json!({"brand": "acme-bank", "callingNumber": "12155550100",
        "asked": ["card"], "text": "something else"});
    let (status, headers, answer) = report(&node, &other, &key).await;
    problem(status, &headers, &answer, "idempotency-key-reused");
    assert_eq!(status, 422);
    // Another key, or none: new reports.
    let (status, _, second) =
        report(&node, &body, &[("idempotency-key", "3f1c0b9e-report-2")]).await;
    assert_eq!(status, 201, "{second}");
    let (status, _, third) = report(&node, &body, &[]).await;
    assert_eq!(status, 201, "{third}");
    let ids: Vec<i64> = stored_reports(&node).await.iter().map(|r| r.id.0).collect();
    assert_eq!(
        ids,
        vec![
            first["id"].as_i64().unwrap(),
            second["id"].as_i64().unwrap(),
            third["id"].as_i64().unwrap()
        ]
    );
    assert_eq!(reports_metric(&node, "api", "stored").await, 3);
    assert_eq!(reports_metric(&node, "api", "replayed").await, 3);
    node.stop().await;
}

#[tokio::test]
async fn reports_are_limited_per_client_address_per_hour() {
    let node = TestNode::start_with(|c| c.reports.per_client_per_hour = 3).await;
    setup_brand(&node).await;
    for i in 0..3 {
        let (status, _, body) = report(&node, &json!({"text": format!("report {i}")}), &[]).await;
        assert_eq!(status, 201, "{body}");
    }
    // The fourth in the hour is refused, however the client names itself (no proxy is
    // trusted, so X-Forwarded-For is not believed).
    for forwarded in [None, Some("198.51.100.7")] {
        let headers: Vec<(&str, &str)> = forwarded
            .map(|f| vec![("x-forwarded-for", f)])
            .unwrap_or_default();
        let (status, headers, body) = report(&node, &json!({"text": "one more"}), &headers).await;
        assert_eq!(status, 429, "{body}");
        let detail = problem(429, &headers, &body, "too-many-requests");
        assert!(detail.contains("too many reports"), "{detail}");
        let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=3600).contains(&retry), "{retry}");
    }
    assert_eq!(stored_reports(&node).await.len(), 3);
    // The check pages count their reports apart: the API's limit does not close them.
    let (status, _, page) = node
        .post_form(
            "/brands/acme-bank/report",
            &[("token", &"0f".repeat(16)), ("text", "They wanted my PIN.")],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let all = stored_reports(&node).await;
    assert_eq!(all.len(), 4);
    assert_eq!(all[3].channel, ReportChannel::CheckPage);
    node.stop().await;
}

#[tokio::test]
async fn a_spoofed_listed_number_makes_one_report_however_often_it_is_verified() {
    let node = TestNode::start().await;
    setup_brand(&node).await;
    let brand = node
        .node()
        .state()
        .store
        .brand_by_slug("acme-bank")
        .await
        .unwrap()
        .unwrap();
    let iat = now();
    let genuine = sign_brand_call(&node, iat).await;
    // The brand's number with a signature that does not verify: a spoofed call.
    let spoofed = alter_signature(&genuine);
    for time in [iat, iat + 1] {
        let (status, body) = node.verify(LISTED, DEST, time, &spoofed).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["verificationResponse"]["verstat"], "TN-Validation-Failed",
            "{body}"
        );
    }
    // Both verifications' evidence has been written (one stored, one a repeat)...
    eventually(
        Duration::from_secs(10),
        "both evidence reports to be written",
        || async {
            let stored = reports_metric(&node, "verification", "stored").await;
            let replayed = reports_metric(&node, "verification", "replayed").await;
            (stored + replayed >= 2).then_some(())
        },
    )
    .await;
    // ...and there is exactly one report.
    let reports = stored_reports(&node).await;
    assert_eq!(reports.len(), 1, "{reports:?}");
    let r = &reports[0];
    assert_eq!(r.channel, ReportChannel::Verification);
    assert_eq!(r.brand, Some(brand.id));
    assert_eq!((r.calling, r.called), (Some(tn(LISTED)), Some(tn(DEST))));
    assert_eq!(r.call_at, Some(iat), "the PASSporT's iat");
    assert_eq!(r.text, "Verification: spoofed_listed_number");
    assert!(r.asked.is_empty() && r.claimed_brand.is_none());
    assert_eq!(reports_metric(&node, "verification", "stored").await, 1);
    assert_eq!(reports_metric(&node, "verification", "replayed").await, 1);

    // Another spoofed call (another PASSporT, issued at another time): another report.
    let other = alter_signature(&sign_brand_call(&node, iat - 5).await);
    let (status, body) = node.verify(LISTED, DEST, iat, &other).await;
    assert_eq!(status, 200, "{body}");
    eventually(Duration::from_secs(10), "the second report", || async {
        let reports = stored_reports(&node).await;
        (reports.len() == 2).then_some(())
    })
    .await;
    let reports = stored_reports(&node).await;
    assert_eq!(reports[1].call_at, Some(iat - 5));
    // The genuine call is no evidence of anything.
    let (status, body) = node.verify(LISTED, DEST, iat, &genuine).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["verificationResponse"]["verstat"], "TN-Validation-Passed",
        "{body}"
    );
    node.stop().await;
}
