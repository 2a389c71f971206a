//! The public web pages end to end on a real development node: HTTP-level checks (status
//! codes, security headers, escaping of what brands and callers wrote, an opt-out recorded
//! and enforced by signing) and headless Chromium: every page screenshotted at phone size,
//! the preview and opt-out forms filled in and submitted over WebDriver, and axe-core run on
//! every page.
//!
//! Chromium and chromedriver are required (Debian: `apt-get install chromium
//! chromium-driver`; CI installs them in `.ci/run`): without them the browser tests fail,
//! they never skip. axe-core is installed from npm into `target/test-artifacts/` on the
//! first run; screenshots and axe results are written there too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

mod common;

use common::browser::{self, Browser};
use common::{TestNode, fresh_origid, now, signing_request};
use serde_json::{Value, json};

/// The brand's listed numbers: 100 from here (inside the development customer's range).
const LISTED: &str = "12155551000";
/// The brand's inbound-only number.
const INBOUND_ONLY: &str = "12155559999";
/// A called number.
const DEST: &str = "12125551213";
/// A number typed into the opt-out form, and its canonical form.
const OPT_OUT_TYPED: &str = "+1 (212) 555-0077";
const OPT_OUT_NUMBER: &str = "12125550077";

/// A 1x1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

// ---------------------------------------------------------------------------------------------
// Setup through the admin API (development mode, loopback).

async fn send(
    node: &TestNode,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = node.client.request(method, node.url(path));
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    common::into_json(request.send().await.unwrap()).await
}

struct BrandSpec<'a> {
    slug: &'a str,
    legal: &'a str,
    display: &'a str,
    never_ask: &'a [&'a str],
    reasons: Value,
    listed: (&'a str, u64),
    inbound_only: Option<&'a str>,
}

const ACME: BrandSpec<'static> = BrandSpec {
    slug: "acme-bank",
    legal: "Acme Bank plc",
    display: "Acme Bank",
    never_ask: &[
        "We will never ask for your PIN",
        "We will never ask you to move money to a safe account",
    ],
    reasons: Value::Null,
    listed: (LISTED, 100),
    inbound_only: Some(INBOUND_ONLY),
};

fn acme_reasons() -> Value {
    json!([
        {"code": "fraud-alert", "text": "Card fraud alert"},
        {"code": "offers", "text": "Savings offers", "marketing": true}
    ])
}

/// Creates the brand with its logo and numbers; returns the logo as the API answered.
async fn create_brand(node: &TestNode, spec: &BrandSpec<'_>) -> Value {
    let reasons = if spec.reasons.is_null() {
        acme_reasons()
    } else {
        spec.reasons.clone()
    };
    let (status, body) = send(
        node,
        reqwest::Method::POST,
        "/v1/brands",
        Some(&json!({
            "slug": spec.slug,
            "customer": "development",
            "legalName": spec.legal,
            "displayName": spec.display,
            "callReasons": reasons,
            "neverAsk": spec.never_ask,
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let response = node
        .client
        .put(node.url(&format!("/v1/brands/{}/logo", spec.slug)))
        .header("content-type", "image/png")
        .body(PNG.to_vec())
        .send()
        .await
        .unwrap();
    let (status, logo) = common::into_json(response).await;
    assert_eq!(status, 200, "{logo}");
    let mut lists = vec![("listed", spec.listed.0, spec.listed.1)];
    if let Some(n) = spec.inbound_only {
        lists.push(("inbound_only", n, 1));
    }
    for (kind, start, count) in lists {
        let (status, body) = send(
            node,
            reqwest::Method::POST,
            &format!("/v1/brands/{}/numbers", spec.slug),
            Some(&json!({"kind": kind, "numbers": [{"start": start, "count": count}]})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    logo
}

async fn acme(node: &TestNode) -> Value {
    create_brand(node, &ACME).await
}

/// Signs `orig` -> `dest` as the development customer, with a call reason.
async fn sign(node: &TestNode, orig: &str, dest: &str, reason: Option<&str>) -> (u16, Value) {
    let mut request = signing_request("A", orig, &[dest], now(), &fresh_origid());
    if let Some(reason) = reason {
        request["signingRequest"]["callReason"] = json!(reason);
    }
    node.post_json("/stir/v1/signing", &request, &[]).await
}

/// The Identity header values of a signing answer (one, or a SHAKEN and an rcd).
fn identities(body: &Value) -> Vec<String> {
    let response = &body["signingResponse"];
    match response["identities"].as_array() {
        Some(list) => list
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect(),
        None => vec![response["identity"].as_str().unwrap().to_owned()],
    }
}

async fn signed(node: &TestNode, orig: &str, reason: Option<&str>) -> Vec<String> {
    let (status, body) = sign(node, orig, DEST, reason).await;
    assert_eq!(status, 200, "{body}");
    identities(&body)
}

/// The headers every page carries: HTML, a strict policy allowing no script and nothing
/// from elsewhere, no sniffing, no framing.
fn assert_page_headers(headers: &reqwest::header::HeaderMap, what: &str) {
    assert_eq!(
        headers["content-type"], "text/html; charset=utf-8",
        "{what}"
    );
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none';"), "{what}: {csp}");
    assert!(csp.contains("img-src 'self'"), "{what}: {csp}");
    assert!(csp.contains("form-action 'self'"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe"), "{what}: {csp}");
    assert!(!csp.contains("script-src"), "{what}: {csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
}

/// What every page is: a document in English with a title, one h1, no script, nothing
/// loaded from elsewhere.
fn assert_page_shape(html: &str, what: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"), "{what}");
    assert!(html.contains("<html lang=\"en\">"), "{what}");
    assert!(html.contains("<title>"), "{what}");
    assert!(
        html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"),
        "{what}"
    );
    assert_eq!(html.matches("<h1").count(), 1, "{what}: one h1\n{html}");
    assert!(!html.to_ascii_lowercase().contains("<script"), "{what}");
    for attribute in ["src=\"", "href=\"", "action=\""] {
        for (at, _) in html.match_indices(attribute) {
            let value = &html[at + attribute.len()..];
            assert!(
                value.starts_with('/') || value.starts_with('#'),
                "{what}: {attribute} leads elsewhere: {}",
                &value[..value.len().min(80)]
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

#[tokio::test]
async fn the_brand_page_shows_the_brand_facts_under_a_strict_policy() {
    let node = TestNode::start().await;
    acme(&node).await;
    let (status, headers, html) = node.get("/brands/acme-bank").await;
    assert_eq!(status, 200, "{html}");
    assert_page_headers(&headers, "brand page");
    assert_page_shape(&html, "brand page");
    std::fs::write(browser::artifacts().join("brand-page.html"), &html).unwrap();
    assert_eq!(headers["cache-control"], "public, max-age=60");

    for text in [
        "<h1>Acme Bank</h1>",
        "Acme Bank plc",
        "<img src=\"/brands/acme-bank/logo\" alt=\"Acme Bank logo\"",
        "The numbers we call from",
        "+1 215-555-1000</span> to <span class=\"num\">+1 215-555-1099",
        "(100 numbers)",
        "Numbers that never call you",
        "+1 215-555-9999",
        "What we will never ask for",
        "We will never ask for your PIN",
        "We will never ask you to move money to a safe account",
        "How to check a call",
        "hang up and call us back on one of the numbers listed above",
        "Card fraud alert",
        "<section id=\"report\"",
        "How to report a call",
        "<a href=\"#report\">",
        "Stop marketing calls",
        "<label for=\"number\">Your phone number</label>",
        "<a href=\"/brands/acme-bank.json\">",
        "<a href=\"/brands/acme-bank/preview\">",
    ] {
        assert!(html.contains(text), "the page lacks {text:?}\n{html}");
    }
    // The one form is the opt-out; reporting links to the check page, whose result reports the
    // call, and to the report form itself.
    assert_eq!(html.matches("<form").count(), 1, "{html}");
    assert!(html.contains("<form method=\"post\" action=\"/brands/acme-bank/opt-out\">"));
    let report = &html[html.find("<section id=\"report\"").unwrap()..];
    let report = &report[..report.find("</section>").unwrap()];
    for link in [
        "<a href=\"/brands/acme-bank/check\">check the call</a>",
        "<a href=\"/brands/acme-bank/report\">report the call</a>",
    ] {
        assert!(
            report.contains(link),
            "the report section lacks {link:?}\n{report}"
        );
    }
    assert!(
        !report.contains("<form") && !report.contains("<input"),
        "{report}"
    );
    assert!(!html.contains("Coming soon"), "{html}");
    // Marketing reasons are not offered as what keeps coming after an opt-out.
    let opt_out = &html[html.find("<section id=\"opt-out\"").unwrap()..];
    assert!(opt_out.contains("such as: Card fraud alert."), "{opt_out}");
    assert!(!opt_out.contains("Savings offers"), "{opt_out}");

    // HEAD answers too, and the logo the page shows is served.
    let response = node
        .client
        .head(node.url("/brands/acme-bank"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, _, _) = node.get("/brands/acme-bank/logo").await;
    assert_eq!(status, 200);
    node.stop().await;
}

#[tokio::test]
async fn the_brand_facts_as_json() {
    let node = TestNode::start().await;
    let logo = acme(&node).await;
    // A second, adjacent block is shown merged with the first.
    let (status, body) = send(
        &node,
        reqwest::Method::POST,
        "/v1/brands/acme-bank/numbers",
        Some(&json!({"kind": "listed", "numbers": [{"start": "12155551100", "count": 10}]})),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let response = node
        .client
        .get(node.url("/brands/acme-bank.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let facts: Value = response.json().await.unwrap();
    assert_eq!(facts["slug"], "acme-bank");
    assert_eq!(facts["displayName"], "Acme Bank");
    assert_eq!(facts["legalName"], "Acme Bank plc");
    assert_eq!(
        facts["logo"],
        json!({"url": node.url("/brands/acme-bank/logo"), "digest": logo["digest"], "contentType": "image/png"})
    );
    assert_eq!(
        facts["listedNumbers"],
        json!([{"start": LISTED, "count": 110, "text": "+1 215-555-1000 to +1 215-555-1109"}])
    );
    assert_eq!(
        facts["inboundOnlyNumbers"],
        json!([{"start": INBOUND_ONLY, "count": 1, "text": "+1 215-555-9999"}])
    );
    assert_eq!(
        facts["neverAsk"],
        json!(ACME.never_ask.iter().collect::<Vec<_>>())
    );
    assert_eq!(
        facts["callReasons"],
        json!([
            {"code": "fraud-alert", "text": "Card fraud alert", "marketing": false},
            {"code": "offers", "text": "Savings offers", "marketing": true}
        ])
    );
    let advice = facts["checkAdvice"].as_str().unwrap();
    assert!(advice.contains("shows our name and logo"), "{advice}");
    assert!(advice.contains("hang up and call us back"), "{advice}");
    assert_eq!(facts["page"], node.url("/brands/acme-bank"));

    // The page shows the merged range too.
    let (_, _, html) = node.get("/brands/acme-bank").await;
    assert!(html.contains("(110 numbers)"), "{html}");
    node.stop().await;
}

#[tokio::test]
async fn unknown_brands_get_404_pages() {
    let node = TestNode::start().await;
    acme(&node).await;
    for path in [
        "/brands/no-such-brand",
        "/brands/no-such-brand/preview",
        "/brands/no-such-brand/preview?reason=offers",
    ] {
        let (status, headers, html) = node.get(path).await;
        assert_eq!(status, 404, "{path}: {html}");
        assert_page_headers(&headers, path);
        assert_page_shape(&html, path);
        assert!(html.contains("Page not found"), "{path}: {html}");
        assert!(html.contains("no-such-brand"), "{path}: {html}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
    }
    let (status, headers, html) = node
        .post_form(
            "/brands/no-such-brand/opt-out",
            &[("number", OPT_OUT_TYPED)],
        )
        .await;
    assert_eq!(status, 404, "{html}");
    assert_page_headers(&headers, "opt-out of an unknown brand");

    let response = node
        .client
        .get(node.url("/brands/no-such-brand.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["status"], 404, "{problem}");
    node.stop().await;
}

#[tokio::test]
async fn brand_text_is_escaped_everywhere() {
    let node = TestNode::start().await;
    let evil = BrandSpec {
        slug: "evil",
        legal: "Evil & \"Sons\" <Ltd>",
        display: "<script>alert(1)</script>",
        never_ask: &["<img src=x onerror=alert(2)>"],
        reasons: json!([{"code": "hi", "text": "<b>bold</b> 'q'"}]),
        listed: ("12155552000", 10),
        inbound_only: None,
    };
    create_brand(&node, &evil).await;
    let markup = ["<script", "<img src=x", "<b>bold", "<Ltd>"];

    let (status, _, html) = node.get("/brands/evil").await;
    assert_eq!(status, 200, "{html}");
    for m in markup {
        assert!(!html.contains(m), "{m:?} unescaped in the page\n{html}");
    }
    for escaped in [
        "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>",
        "alt=\"&lt;script&gt;alert(1)&lt;/script&gt; logo\"",
        "Evil &amp; &quot;Sons&quot; &lt;Ltd&gt;",
        "&lt;img src=x onerror=alert(2)&gt;",
        "&lt;b&gt;bold&lt;/b&gt; &#39;q&#39;",
        "<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>",
    ] {
        assert!(html.contains(escaped), "no {escaped:?} in\n{html}");
    }

    let (status, _, html) = node.get("/brands/evil/preview?reason=hi").await;
    assert_eq!(status, 200, "{html}");
    for m in markup {
        assert!(!html.contains(m), "{m:?} unescaped in the demo\n{html}");
    }
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );

    // What the user typed comes back escaped.
    let (status, _, html) = node
        .post_form(
            "/brands/evil/opt-out",
            &[("number", "\"><script>alert(3)</script>")],
        )
        .await;
    assert_eq!(status, 400, "{html}");
    assert!(!html.contains("<script"), "{html}");
    assert!(
        html.contains("value=\"&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;\""),
        "{html}"
    );

    // A verified call shows the brand's name as its rcd PASSporT carries it: escaped.
    let ids = signed(&node, "12155552000", Some("hi")).await;
    let (status, _, html) = node
        .post_form(
            "/preview",
            &[
                ("from", "12155552000"),
                ("to", DEST),
                ("identity", &ids.join("\n")),
            ],
        )
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Verified caller"), "{html}");
    for m in markup {
        assert!(!html.contains(m), "{m:?} unescaped in the preview\n{html}");
    }
    assert!(
        html.contains("<p class=\"name\">&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
        "{html}"
    );

    // A slug in the address is escaped in the 404 page.
    let (status, _, html) = node
        .get("/brands/%3Cscript%3Ealert(4)%3C%2Fscript%3E")
        .await;
    assert_eq!(status, 404, "{html}");
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(4)"), "{html}");
    node.stop().await;
}

#[tokio::test]
async fn an_opt_out_on_the_page_is_recorded_and_enforced_by_signing() {
    let node = TestNode::start().await;
    acme(&node).await;
    // Before: marketing to the number is signed.
    let (status, body) = sign(&node, LISTED, OPT_OUT_NUMBER, Some("offers")).await;
    assert_eq!(status, 200, "{body}");

    let (status, headers, first) = node
        .post_form("/brands/acme-bank/opt-out", &[("number", OPT_OUT_TYPED)])
        .await;
    assert_eq!(status, 200, "{first}");
    assert_page_headers(&headers, "opt-out confirmation");
    assert_page_shape(&first, "opt-out confirmation");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(first.contains("Marketing calls stopped"), "{first}");
    assert!(first.contains("+1 212-555-0077"), "{first}");

    // Recorded with source "page".
    let changes = node
        .node()
        .state()
        .store
        .opt_out_changes(0, 100)
        .await
        .unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].tn.as_str(), OPT_OUT_NUMBER);
    assert!(changes[0].opted_out);
    assert_eq!(changes[0].source, "page");

    // The same answer when the number had already opted out.
    let (status, _, again) = node
        .post_form("/brands/acme-bank/opt-out", &[("number", OPT_OUT_TYPED)])
        .await;
    assert_eq!(status, 200);
    assert_eq!(again, first);

    // Enforced at once: marketing (and a call with no stated reason) refused, service signed.
    let (status, body) = sign(&node, LISTED, OPT_OUT_NUMBER, Some("offers")).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["requestError"]["policyException"]["messageId"], "POL4050",
        "{body}"
    );
    assert!(
        body["requestError"]["policyException"]["variables"][0]
            .as_str()
            .unwrap()
            .contains("opted out"),
        "{body}"
    );
    let (status, body) = sign(&node, LISTED, OPT_OUT_NUMBER, None).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = sign(&node, LISTED, OPT_OUT_NUMBER, Some("fraud-alert")).await;
    assert_eq!(status, 200, "{body}");
    // Another number is not affected.
    let (status, body) = sign(&node, LISTED, DEST, Some("offers")).await;
    assert_eq!(status, 200, "{body}");
    node.stop().await;
}

#[tokio::test]
async fn bad_numbers_get_a_400_page_saying_what_is_wrong() {
    let node = TestNode::start().await;
    acme(&node).await;
    for (typed, says) in [
        ("", "Enter your phone number."),
        ("(212) 555-0077", "Start with + and your country code"),
        ("+1 212 CALL ME", "That is not a phone number"),
        ("+123", "8 to 15 digits"),
        (&"9".repeat(100), "too long for a phone number"),
    ] {
        let (status, headers, html) = node
            .post_form("/brands/acme-bank/opt-out", &[("number", typed)])
            .await;
        assert_eq!(status, 400, "{typed:?}: {html}");
        assert_page_headers(&headers, "opt-out error");
        assert_page_shape(&html, "opt-out error");
        assert!(html.contains(says), "{typed:?}: no {says:?} in\n{html}");
        assert!(html.contains("aria-invalid=\"true\""), "{html}");
        assert!(
            html.contains("aria-describedby=\"number-error number-hint\""),
            "{html}"
        );
    }
    // No field at all, or a body that is not a form.
    let (status, _, html) = node.post_form("/brands/acme-bank/opt-out", &[]).await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("Enter your phone number."), "{html}");
    let (status, _) = node
        .post_raw(
            "/brands/acme-bank/opt-out",
            Some("application/json"),
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(status, 400);
    // Nothing was recorded.
    let changes = node
        .node()
        .state()
        .store
        .opt_out_changes(0, 100)
        .await
        .unwrap();
    assert!(changes.is_empty(), "{changes:?}");
    node.stop().await;
}

#[tokio::test]
async fn the_brand_demo_shows_a_labelled_phone_screen() {
    let node = TestNode::start().await;
    acme(&node).await;
    let (status, headers, html) = node
        .get("/brands/acme-bank/preview?reason=fraud-alert")
        .await;
    assert_eq!(status, 200, "{html}");
    assert_page_headers(&headers, "demo");
    assert_page_shape(&html, "demo");
    for text in [
        "<p class=\"demo\">Demo</p>",
        "no call was made",
        "<p class=\"name\">Acme Bank</p>",
        "<img src=\"/brands/acme-bank/logo\" alt=\"Acme Bank logo\"",
        "Verified caller",
        "Card fraud alert",
        "+1 215-555-1000",
        "<a href=\"/brands/acme-bank/preview?reason=offers\">Savings offers</a>",
    ] {
        assert!(html.contains(text), "the demo lacks {text:?}\n{html}");
    }
    // Without a reason: the screen without one.
    let (status, _, html) = node.get("/brands/acme-bank/preview").await;
    assert_eq!(status, 200);
    assert!(!html.contains("class=\"reason\""), "{html}");
    // A reason the brand does not have.
    let (status, _, html) = node.get("/brands/acme-bank/preview?reason=lottery").await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("is not a call reason of Acme Bank"), "{html}");
    assert!(html.contains("fraud-alert, offers"), "{html}");
    node.stop().await;
}

#[tokio::test]
async fn the_preview_shows_what_the_phone_would_show() {
    let node = TestNode::start().await;
    acme(&node).await;
    let (status, headers, html) = node.get("/preview").await;
    assert_eq!(status, 200);
    assert_page_headers(&headers, "preview form");
    assert_page_shape(&html, "preview form");
    for label in [
        "<label for=\"from\">Calling number</label>",
        "<label for=\"to\">Called number</label>",
        "<label for=\"identity\">Identity header values</label>",
        "<label for=\"api_key\">API key</label>",
    ] {
        assert!(html.contains(label), "{label}\n{html}");
    }

    // A brand's verified call: name, logo, reason and the check mark.
    let ids = signed(&node, LISTED, Some("fraud-alert")).await;
    let (status, headers, html) = node
        .post_form(
            "/preview",
            &[
                ("from", LISTED),
                ("to", DEST),
                ("identity", &ids.join("\n")),
            ],
        )
        .await;
    assert_eq!(status, 200, "{html}");
    assert_page_headers(&headers, "preview");
    assert_page_shape(&html, "preview");
    std::fs::write(browser::artifacts().join("preview-verified.html"), &html).unwrap();
    assert_eq!(headers["cache-control"], "no-store");
    for text in [
        "<p class=\"name\">Acme Bank</p>",
        "<img src=\"/brands/acme-bank/logo\" alt=\"Acme Bank logo\"",
        "Verified caller",
        "Card fraud alert",
        "+1 215-555-1000",
        "<code>TN-Validation-Passed</code>",
        "None: the call verified.",
        "Shown: name <q>Acme Bank</q>",
        "attestation A: verified",
    ] {
        assert!(html.contains(text), "the preview lacks {text:?}\n{html}");
    }
    assert!(!html.contains("Demo</p>"), "{html}");

    // The same headers again: a replay, said so in the detail.
    let (status, _, html) = node
        .post_form(
            "/preview",
            &[
                ("from", LISTED),
                ("to", DEST),
                ("identity", &ids.join("\n")),
            ],
        )
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<dt>Replay</dt>"), "{html}");

    // A call with no brand, verified: the bare number, verified by the network.
    let plain = node.sign_fresh().await;
    let (status, _, html) = node
        .post_form(
            "/preview",
            &[("from", common::ORIG), ("to", DEST), ("identity", &plain)],
        )
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("<p class=\"name tel\">+1 215-555-1212</p>"),
        "{html}"
    );
    assert!(html.contains("Caller verified by the network"), "{html}");
    assert!(
        html.contains("Not shown: the call carries no rcd PASSporT."),
        "{html}"
    );
    assert!(!html.contains("Verified caller"), "{html}");

    // A forged signature: failed, likely spoofed, with the reason code.
    let forged = common::alter_signature(&signed(&node, LISTED, Some("fraud-alert")).await[0]);
    let (status, _, html) = node
        .post_form(
            "/preview",
            &[("from", LISTED), ("to", DEST), ("identity", &forged)],
        )
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("Caller ID failed verification \u{2014} likely spoofed"),
        "{html}"
    );
    assert!(html.contains("<code>TN-Validation-Failed</code>"), "{html}");
    assert!(
        html.contains("<code>438 Invalid Identity Header</code>"),
        "{html}"
    );
    assert!(!html.contains("Verified caller"), "{html}");
    assert!(!html.contains("<p class=\"name\">Acme Bank</p>"), "{html}");

    // Headers for another calling number: not verified for it.
    let ids = signed(&node, LISTED, Some("fraud-alert")).await;
    let (status, _, html) = node
        .post_form(
            "/preview",
            &[
                ("from", "12155551001"),
                ("to", DEST),
                ("identity", &ids.join("\n")),
            ],
        )
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Caller ID could not be verified"), "{html}");
    assert!(html.contains("<code>No-TN-Validation</code>"), "{html}");

    // What cannot be used is said, and the form comes back filled in.
    for (fields, status_code, says) in [
        (
            vec![("from", LISTED), ("to", DEST), ("identity", " \n ")],
            400,
            "Enter at least one Identity header value.",
        ),
        (
            vec![("from", "12x"), ("to", DEST), ("identity", "abc")],
            400,
            "The calling number is not a telephone number",
        ),
        (
            vec![("from", LISTED), ("to", ""), ("identity", "abc")],
            400,
            "Enter the called number.",
        ),
        (
            vec![
                ("from", LISTED),
                ("to", DEST),
                ("identity", "abc"),
                ("api_key", "cp_no_such_key"),
            ],
            401,
            "An API key with the verify scope is needed",
        ),
    ] {
        let (status, headers, html) = node.post_form("/preview", &fields).await;
        assert_eq!(status, status_code, "{fields:?}: {html}");
        assert_page_headers(&headers, "preview error");
        assert!(html.contains(says), "{fields:?}: no {says:?}\n{html}");
        assert!(html.contains("<form method=\"post\" action=\"/preview\">"));
        assert!(
            !html.contains("cp_no_such_key"),
            "the key is not echoed\n{html}"
        );
    }
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Headless Chromium

#[tokio::test]
async fn every_page_renders_in_headless_chromium_at_phone_size() {
    let node = TestNode::start().await;
    acme(&node).await;
    let mut shots = Vec::new();
    for (path, name) in [
        ("/brands/acme-bank", "cli-brand-page"),
        (
            "/brands/acme-bank/preview?reason=fraud-alert",
            "cli-brand-demo",
        ),
        ("/preview", "cli-preview-form"),
        ("/brands/no-such-brand", "cli-not-found"),
    ] {
        shots.push(browser::screenshot_cli(node.url(path), name).await);
    }
    eprintln!("screenshots: {shots:#?}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forms_work_in_chromium_and_every_page_passes_axe() {
    browser::required("chromium");
    browser::required("chromedriver");
    let axe = tokio::task::spawn_blocking(browser::axe_source)
        .await
        .unwrap();
    let node = TestNode::start().await;
    acme(&node).await;
    let browser = Browser::start().await;
    let origin = node.url("/");
    let mut results = Vec::new();

    // The brand page.
    browser.goto(&node.url("/brands/acme-bank")).await;
    let text = browser.wait_for_heading("Acme Bank").await;
    for said in [
        "The numbers we call from",
        "+1 215-555-1000",
        "What we will never ask for",
        "How to check a call",
        "How to report a call",
        "check the call",
        "report the call",
        "Stop marketing calls",
    ] {
        assert!(
            text.contains(said),
            "the brand page does not say {said:?}:\n{text}"
        );
    }
    assert!(!text.contains("Coming soon"), "{text}");
    browser.assert_rendered(&origin, "brand page").await;
    browser.screenshot("webdriver-brand-page").await;
    results.push(browser.axe(&axe, "brand-page").await);

    // The opt-out form, wrongly then rightly filled in.
    browser.type_into("#number", "212 555 0077").await;
    browser.click("#opt-out button[type=submit]").await;
    let text = browser.wait_for_heading("Check your phone number").await;
    assert!(text.contains("country code"), "{text}");
    browser.assert_rendered(&origin, "opt-out error").await;
    browser.screenshot("webdriver-opt-out-error").await;
    results.push(browser.axe(&axe, "opt-out-error").await);
    browser.type_into("#number", OPT_OUT_TYPED).await;
    browser.click("#opt-out button[type=submit]").await;
    let text = browser.wait_for_heading("Marketing calls stopped").await;
    assert!(text.contains("+1 212-555-0077"), "{text}");
    browser.screenshot("webdriver-opt-out-done").await;
    results.push(browser.axe(&axe, "opt-out-done").await);
    let (status, body) = sign(&node, LISTED, OPT_OUT_NUMBER, Some("offers")).await;
    assert_eq!(
        status, 403,
        "the opt-out made in the browser is enforced: {body}"
    );

    // The brand's demo.
    browser
        .goto(&node.url("/brands/acme-bank/preview?reason=fraud-alert"))
        .await;
    let text = browser.wait_for_heading("a verified call").await;
    assert!(text.contains("Demo") || text.contains("DEMO"), "{text}");
    assert!(text.contains("Card fraud alert"), "{text}");
    browser.assert_rendered(&origin, "demo").await;
    browser.screenshot("webdriver-brand-demo").await;
    results.push(browser.axe(&axe, "brand-demo").await);

    // The preview form, filled in with a brand's signed call.
    let ids = signed(&node, LISTED, Some("fraud-alert")).await;
    browser.goto(&node.url("/preview")).await;
    browser.wait_for_heading("Phone screen preview").await;
    browser.assert_rendered(&origin, "preview form").await;
    results.push(browser.axe(&axe, "preview-form").await);
    browser.type_into("#from", "+1 215 555 1000").await;
    browser.type_into("#to", DEST).await;
    browser.type_into("#identity", &ids.join("\n")).await;
    browser.click("button[type=submit]").await;
    let text = browser.wait_for_text("Technical detail").await;
    for said in [
        "Acme Bank",
        "Verified caller",
        "Card fraud alert",
        "+1 215-555-1000",
        "TN-Validation-Passed",
    ] {
        assert!(
            text.contains(said),
            "the preview does not say {said:?}:\n{text}"
        );
    }
    browser.assert_rendered(&origin, "preview").await;
    browser.screenshot("webdriver-preview-verified").await;
    results.push(browser.axe(&axe, "preview-verified").await);

    // The form on the result page, with a forged call.
    let forged = common::alter_signature(&signed(&node, LISTED, Some("fraud-alert")).await[0]);
    browser.type_into("#identity", &forged).await;
    browser.click("button[type=submit]").await;
    let text = browser.wait_for_text("likely spoofed").await;
    assert!(text.contains("TN-Validation-Failed"), "{text}");
    assert!(text.contains("438 Invalid Identity Header"), "{text}");
    assert!(!text.contains("Verified caller"), "{text}");
    browser.screenshot("webdriver-preview-spoofed").await;
    results.push(browser.axe(&axe, "preview-spoofed").await);

    // An error page.
    browser.goto(&node.url("/brands/no-such-brand")).await;
    browser.wait_for_heading("Page not found").await;
    browser.screenshot("webdriver-not-found").await;
    results.push(browser.axe(&axe, "not-found").await);

    browser.quit().await;
    eprintln!(
        "axe: {} pages checked, results and screenshots in {}",
        results.len(),
        browser::artifacts().display()
    );
    node.stop().await;
}
