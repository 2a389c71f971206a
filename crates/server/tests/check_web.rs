//! A brand's check page and report form end to end on a real development node: headless
//! Chromium at phone size walks the flows a customer meets (the brand is calling now; it is
//! not; a one-time code, good then used; a call that ended; reporting a call that was not
//! the brand's), with a screenshot of each page and axe-core run on it; the same flows with
//! plain HTTP form posts, which is all a browser without JavaScript sends; and the answers
//! for bad input, rate limits and unknown brands.
//!
//! Chromium, chromedriver and npm (for axe-core) are required, as for `tests/web.rs`;
//! screenshots and axe results go to `target/test-artifacts/web/` (`check-*`, `report-*`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

mod common;

use common::browser::{self, Browser};
use common::{TestNode, form_body, now};
use serde_json::{Value, json};
use store::{Asked, ReportChannel};

const SLUG: &str = "northwind-bank";
const NAME: &str = "Northwind Bank";
/// The brand's call-back number, as the page reads it.
const CALLBACK: &str = "+18005550199";
const CALLBACK_READ: &str = "+1 800-555-0199";
const NEVER_ASK: [&str; 2] = [
    "Your PIN or online banking password",
    "To move money to a safe account",
];

// ---------------------------------------------------------------------------------------------
// Setup through the admin API (development mode, loopback).

/// A development node with the brand: listed numbers 12155551000 and the next 99.
async fn node_with(adjust: impl FnOnce(&mut server::config::Config)) -> TestNode {
    let node = TestNode::start_with(adjust).await;
    let (status, body) = node
        .post_json(
            "/v1/brands",
            &json!({
                "slug": SLUG,
                "customer": "development",
                "legalName": "Northwind Bank plc",
                "displayName": NAME,
                "callReasons": [
                    {"code": "fraud-alert", "text": "Card fraud alert"},
                    {"code": "offers", "text": "Savings offers", "marketing": true}
                ],
                "neverAsk": NEVER_ASK,
                "callback": CALLBACK,
            }),
            &[],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = node
        .post_json(
            &format!("/v1/brands/{SLUG}/numbers"),
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

/// Registers a call the brand makes now, as its dialler would; returns the API's answer
/// (with the one-time `code`).
async fn register(node: &TestNode, calling: &str, called: &str, agent: Option<&str>) -> Value {
    let mut body = json!({
        "callingNumber": calling,
        "calledNumber": called,
        "reason": "fraud-alert",
    });
    if let Some(agent) = agent {
        body["agent"] = json!({"firstName": agent});
    }
    let (status, answer) = node
        .post_json(&format!("/v1/brands/{SLUG}/calls"), &body, &[])
        .await;
    assert_eq!(status, 201, "{answer}");
    answer
}

async fn check_pair(node: &TestNode, calling: &str, called: &str) -> (u16, String) {
    let (status, headers, html) = node
        .post_form(
            &format!("/brands/{SLUG}/check"),
            &[("calling", calling), ("called", called)],
        )
        .await;
    assert_page(&headers, &html, "check result");
    assert_eq!(headers["cache-control"], "no-store", "{html}");
    (status, html)
}

fn brand_id(node: &TestNode) -> store::BrandId {
    node.node()
        .state()
        .brands
        .get()
        .by_slug(SLUG)
        .unwrap()
        .brand
        .id
}

async fn reports(node: &TestNode) -> Vec<store::Report> {
    node.node()
        .state()
        .store
        .reports(Some(brand_id(node)), None, 50)
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// What every page is

/// HTML under the strict policy (no script, nothing from elsewhere, no framing); one h1;
/// links only to this site, a fragment, or a phone number.
fn assert_page(headers: &reqwest::header::HeaderMap, html: &str, what: &str) {
    assert_eq!(
        headers["content-type"], "text/html; charset=utf-8",
        "{what}"
    );
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none';"), "{what}: {csp}");
    assert!(csp.contains("form-action 'self'"), "{what}: {csp}");
    assert!(
        !csp.contains("unsafe") && !csp.contains("script-src"),
        "{what}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(headers["x-frame-options"], "DENY", "{what}");
    assert!(html.starts_with("<!DOCTYPE html>"), "{what}");
    assert!(html.contains("<html lang=\"en\">"), "{what}");
    assert_eq!(html.matches("<h1").count(), 1, "{what}: one h1\n{html}");
    assert!(!html.to_ascii_lowercase().contains("<script"), "{what}");
    for attribute in ["src=\"", "href=\"", "action=\""] {
        for (at, _) in html.match_indices(attribute) {
            let value = &html[at + attribute.len()..];
            assert!(
                value.starts_with('/') || value.starts_with('#') || value.starts_with("tel:+"),
                "{what}: {attribute} leads elsewhere: {}",
                &value[..value.len().min(80)]
            );
        }
    }
    // Every input but the hidden ones has a label.
    for (at, _) in html.match_indices("<input ") {
        let tag = &html[at..at + html[at..].find('>').unwrap()];
        if tag.contains("type=\"hidden\"") {
            continue;
        }
        let id = tag
            .split("id=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(
            html.contains(&format!("<label for=\"{id}\">")),
            "{what}: input {id} has no label"
        );
    }
}

/// The text between the first `<h1>` and `</h1>`.
fn h1(html: &str) -> &str {
    let start = html.find("<h1>").unwrap() + 4;
    &html[start..start + html[start..].find("</h1>").unwrap()]
}

/// The hidden fields of the first form whose action is `action`.
fn hidden_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let start = html
        .find(&format!("action=\"{action}\""))
        .unwrap_or_else(|| panic!("no form to {action}:\n{html}"));
    let form = &html[start..start + html[start..].find("</form>").unwrap()];
    form.match_indices("<input type=\"hidden\"")
        .map(|(at, _)| {
            let tag = &form[at..at + form[at..].find('>').unwrap()];
            let attr = |name: &str| {
                tag.split(&format!("{name}=\""))
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
                    .to_owned()
            };
            (attr("name"), attr("value"))
        })
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no field {name} in {fields:?}"))
}

/// Every `aria-describedby` names elements the page has.
fn assert_descriptions_exist(html: &str, what: &str) {
    for (at, _) in html.match_indices("aria-describedby=\"") {
        let value = &html[at + 18..];
        let ids = &value[..value.find('"').unwrap()];
        for id in ids.split(' ') {
            assert!(
                html.contains(&format!("id=\"{id}\"")),
                "{what}: aria-describedby names {id}, which is not on the page"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Headless Chromium

/// The value of the input `css`.
async fn value_of(browser: &Browser, css: &str) -> Value {
    browser
        .script(
            "const e = document.querySelector(arguments[0]); return e ? e.value : null;",
            json!([css]),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_flows_work_in_chromium_and_every_page_passes_axe() {
    browser::required("chromium");
    browser::required("chromedriver");
    let axe = tokio::task::spawn_blocking(browser::axe_source)
        .await
        .unwrap();
    let node = node().await;
    let browser = Browser::start().await;
    let origin = node.url("/");
    let check_url = node.url(&format!("/brands/{SLUG}/check"));
    let mut checked = Vec::new();

    // The brand page leads to the check page.
    browser.goto(&node.url(&format!("/brands/{SLUG}"))).await;
    browser.wait_for_heading(NAME).await;
    browser
        .click(&format!("a[href='/brands/{SLUG}/check']"))
        .await;

    // The form.
    let text = browser.wait_for_heading("really calling you").await;
    for said in [
        "Check with the phone numbers",
        "The number on your screen",
        "Your phone number",
        "Check with a code",
        NEVER_ASK[0],
        NEVER_ASK[1],
        CALLBACK_READ,
    ] {
        assert!(
            text.contains(said),
            "the check page lacks {said:?}:\n{text}"
        );
    }
    browser.assert_rendered(&origin, "check form").await;
    browser.screenshot("check-form").await;
    checked.push(browser.axe(&axe, "check-form").await);

    // A number without its country code: the form again, the error tied to its input.
    browser.type_into("#calling", "215 555 1000").await;
    browser.type_into("#called", "+1 212 555 0100").await;
    browser.click("#by-number button[type=submit]").await;
    let text = browser.wait_for_text("Check what you entered").await;
    assert!(text.contains("country code"), "{text}");
    let state = browser
        .script(
            "const i = document.querySelector('#calling');\
             return {invalid: i.getAttribute('aria-invalid'),\
               described: i.getAttribute('aria-describedby'),\
               message: (document.getElementById('calling-error') || {}).innerText || '',\
               calledInvalid: document.querySelector('#called').getAttribute('aria-invalid'),\
               called: document.querySelector('#called').value,\
               title: document.title};",
            json!([]),
        )
        .await;
    assert_eq!(state["invalid"], "true", "{state}");
    assert_eq!(state["described"], "calling-error calling-hint", "{state}");
    assert!(
        state["message"].as_str().unwrap().contains("country code"),
        "{state}"
    );
    assert_eq!(state["calledInvalid"], Value::Null, "{state}");
    assert_eq!(
        state["called"], "+1 212 555 0100",
        "what was typed is kept: {state}"
    );
    assert!(
        state["title"].as_str().unwrap().starts_with("Error: "),
        "{state}"
    );
    browser.screenshot("check-error").await;
    checked.push(browser.axe(&axe, "check-error").await);

    // Yes: the brand is calling now; the page names the agent and the reason.
    register(&node, "+12155551000", "+12125550100", Some("Sarah")).await;
    browser.type_into("#calling", "+1 215 555 1000").await;
    browser.click("#by-number button[type=submit]").await;
    let text = browser.wait_for_heading("is calling you now").await;
    let yes = format!("Yes, {NAME} is calling you now");
    for said in [
        yes.as_str(),
        "Sarah",
        "Card fraud alert",
        "+1 215-555-1000",
        NEVER_ASK[0],
    ] {
        assert!(text.contains(said), "the yes page lacks {said:?}:\n{text}");
    }
    browser.assert_rendered(&origin, "yes").await;
    browser.screenshot("check-yes").await;
    checked.push(browser.axe(&axe, "check-yes").await);

    // No: hang up, the number to call, and the report button.
    browser.goto(&check_url).await;
    browser.wait_for_heading("really calling you").await;
    browser.type_into("#calling", "+1 215 555 1001").await;
    browser.type_into("#called", "+1 212 555 0199").await;
    browser.click("#by-number button[type=submit]").await;
    let text = browser
        .wait_for_heading(&format!("No, this is not {NAME}"))
        .await;
    for said in ["Hang up.", CALLBACK_READ, "Report this call"] {
        assert!(text.contains(said), "the no page lacks {said:?}:\n{text}");
    }
    assert!(!text.contains("Sarah"), "{text}");
    let href = browser
        .script(
            "return document.querySelector('a.tel').getAttribute('href');",
            json!([]),
        )
        .await;
    assert_eq!(href, "tel:+18005550199");
    browser.assert_rendered(&origin, "no").await;
    browser.screenshot("check-no").await;
    checked.push(browser.axe(&axe, "check-no").await);

    // Report this call: the form comes filled in with the call.
    let before = now();
    browser.click("button.report").await;
    browser.wait_for_heading("Report a call").await;
    assert_eq!(value_of(&browser, "#calling").await, "+1 215-555-1001");
    assert_eq!(value_of(&browser, "#called").await, "+1 212-555-0199");
    let at: i64 = value_of(&browser, "input[name=at]")
        .await
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((before - 60..=now()).contains(&at), "{at}");
    let token = value_of(&browser, "input[name=token]").await;
    assert_eq!(token.as_str().unwrap().len(), 32, "{token}");
    browser.assert_rendered(&origin, "report form").await;
    browser.screenshot("report-form").await;
    checked.push(browser.axe(&axe, "report-form").await);

    browser.click("#asked-card").await;
    let said = "He said he was from the fraud team and asked for my card number.";
    browser.type_into("#text", said).await;
    browser
        .click(&format!(
            "form[action='/brands/{SLUG}/report'] button[type=submit]"
        ))
        .await;
    let text = browser.wait_for_heading("Thank you").await;
    assert!(text.contains("What happens next"), "{text}");
    assert!(text.contains(CALLBACK_READ), "{text}");
    browser.assert_rendered(&origin, "report sent").await;
    browser.screenshot("report-sent").await;
    checked.push(browser.axe(&axe, "report-sent").await);

    let stored = reports(&node).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    let report = &stored[0];
    assert_eq!(report.calling.as_ref().unwrap().as_str(), "12155551001");
    assert_eq!(report.called.as_ref().unwrap().as_str(), "12125550199");
    assert_eq!(report.call_at, Some(at));
    assert_eq!(report.asked, [Asked::Card]);
    assert_eq!(report.text, said);
    assert_eq!(report.channel, ReportChannel::CheckPage);
    assert_eq!(report.claimed_brand.as_deref(), Some(NAME));
    assert_eq!(report.brand, Some(brand_id(&node)));

    // A one-time code: yes with the agent's name, then it does not work a second time.
    let call = register(&node, "+12155551002", "+12125550111", Some("Sarah")).await;
    let code = call["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 9, "{call}");
    browser.goto(&check_url).await;
    browser.wait_for_heading("really calling you").await;
    browser.type_into("#code", &code).await;
    browser.click("#by-code button[type=submit]").await;
    let text = browser.wait_for_heading("is calling you now").await;
    assert!(text.contains("You are talking to Sarah from"), "{text}");
    assert!(text.contains("Card fraud alert"), "{text}");
    browser.screenshot("check-code-yes").await;
    checked.push(browser.axe(&axe, "check-code-yes").await);

    browser.goto(&check_url).await;
    browser.wait_for_heading("really calling you").await;
    browser.type_into("#code", &code).await;
    browser.click("#by-code button[type=submit]").await;
    let text = browser.wait_for_heading("This code does not work").await;
    assert!(text.contains("hang up"), "{text}");
    assert!(text.contains("Report this call"), "{text}");
    assert!(!text.contains("Sarah"), "{text}");
    browser.screenshot("check-code-invalid").await;
    checked.push(browser.axe(&axe, "check-code-invalid").await);

    // A call that has ended: called recently, not now.
    let call = register(&node, "+12155551003", "+12125550122", None).await;
    let (status, body) = node
        .post_json(
            &format!("/v1/brands/{SLUG}/calls/{}/end", call["id"]),
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    browser.goto(&check_url).await;
    browser.wait_for_heading("really calling you").await;
    browser.type_into("#calling", "+1 215 555 1003").await;
    browser.type_into("#called", "+1 212 555 0122").await;
    browser.click("#by-number button[type=submit]").await;
    let text = browser.wait_for_heading("is not calling you now").await;
    assert!(
        text.contains("called you from this number just now"),
        "{text}"
    );
    assert!(text.contains("hang up"), "{text}");
    browser.screenshot("check-recently").await;
    checked.push(browser.axe(&axe, "check-recently").await);

    browser.quit().await;
    eprintln!(
        "axe: {} check and report pages, none with a serious or critical violation; \
         results and screenshots in {}",
        checked.len(),
        browser::artifacts().display()
    );
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Plain HTTP: no JavaScript needed

#[tokio::test]
async fn the_check_and_the_report_work_with_plain_form_posts() {
    let node = node().await;

    // The form: two plain forms posting to the page.
    let (status, headers, html) = node.get(&format!("/brands/{SLUG}/check")).await;
    assert_eq!(status, 200, "{html}");
    assert_page(&headers, &html, "check form");
    assert_eq!(headers["cache-control"], "public, max-age=60");
    assert_eq!(
        html.matches(&format!(
            "<form method=\"post\" action=\"/brands/{SLUG}/check\">"
        ))
        .count(),
        2,
        "{html}"
    );
    std::fs::write(browser::artifacts().join("check-form.html"), &html).unwrap();

    // Yes.
    register(&node, "+12155551000", "+12125550100", Some("Sarah")).await;
    let (status, html) = check_pair(&node, "+1 215 555 1000", "+1 212 555 0100").await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(h1(&html), format!("Yes, {NAME} is calling you now"));
    assert!(html.contains("<dd>Sarah</dd>"), "{html}");
    assert!(html.contains("<dd>Card fraud alert</dd>"), "{html}");

    // No, with a report button carrying the call.
    let before = now();
    let (status, html) = check_pair(&node, "+1 215 555 1001", "0012125550199").await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(h1(&html), format!("No, this is not {NAME}"));
    assert!(html.contains("href=\"tel:+18005550199\""), "{html}");
    let button = hidden_fields(&html, &format!("/brands/{SLUG}/report"));
    assert_eq!(field(&button, "calling"), "+12155551001");
    assert_eq!(field(&button, "called"), "+12125550199");
    let at: i64 = field(&button, "at").parse().unwrap();
    assert!((before..=now()).contains(&at), "{at}");

    // The report form, as the button's GET asks for it.
    let query = form_body(
        &button
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
    );
    let (status, headers, html) = node.get(&format!("/brands/{SLUG}/report?{query}")).await;
    assert_eq!(status, 200, "{html}");
    assert_page(&headers, &html, "report form");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(html.contains("value=\"+1 215-555-1001\""), "{html}");
    assert!(html.contains("value=\"+1 212-555-0199\""), "{html}");
    let form = hidden_fields(&html, &format!("/brands/{SLUG}/report"));
    let token = field(&form, "token").to_owned();
    assert_eq!(field(&form, "at"), at.to_string());
    // Another visit, another token.
    let (_, _, again) = node.get(&format!("/brands/{SLUG}/report?{query}")).await;
    let other = hidden_fields(&again, &format!("/brands/{SLUG}/report"));
    assert_ne!(field(&other, "token"), token);

    // Sent twice (a double click, a retry): one report.
    let at_text = at.to_string();
    let fields = [
        ("token", token.as_str()),
        ("at", at_text.as_str()),
        ("calling", "+12155551001"),
        ("called", "+12125550199"),
        ("asked", "card"),
        ("asked", "password"),
        (
            "text",
            "Asked for the code we had just been sent by text.\r\nSounded scripted.",
        ),
    ];
    let (status, headers, html) = node
        .post_form(&format!("/brands/{SLUG}/report"), &fields)
        .await;
    assert_eq!(status, 200, "{html}");
    assert_page(&headers, &html, "thanks");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(h1(&html), "Thank you: your report was sent");
    assert!(!html.contains("sent already"), "{html}");
    let (status, _, html) = node
        .post_form(&format!("/brands/{SLUG}/report"), &fields)
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("sent already"), "{html}");
    let stored = reports(&node).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    let report = &stored[0];
    assert_eq!(report.asked, [Asked::Password, Asked::Card]);
    assert_eq!(
        report.text,
        "Asked for the code we had just been sent by text.\nSounded scripted."
    );
    assert_eq!(report.call_at, Some(at));
    assert_eq!(report.channel, ReportChannel::CheckPage);
    assert_eq!(report.claimed_brand.as_deref(), Some(NAME));

    // The code form.
    let call = register(&node, "+12155551002", "+12125550111", Some("Sarah")).await;
    let code = call["code"].as_str().unwrap();
    let (status, headers, html) = node
        .post_form(&format!("/brands/{SLUG}/check"), &[("code", code)])
        .await;
    assert_eq!(status, 200, "{html}");
    assert_page(&headers, &html, "code yes");
    assert_eq!(h1(&html), format!("Yes, {NAME} is calling you now"));
    assert!(html.contains("<dd>Sarah</dd>"), "{html}");
    let (status, _, html) = node
        .post_form(&format!("/brands/{SLUG}/check"), &[("code", code)])
        .await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(h1(&html), "This code does not work");
    assert!(!html.contains("Sarah"), "{html}");
    node.stop().await;
}

#[tokio::test]
async fn a_not_us_page_is_the_same_for_a_customer_and_a_stranger() {
    let node = node().await;
    // The brand called this number, from another of its numbers.
    register(&node, "+12155551000", "+12125550150", Some("Sarah")).await;
    let (_, customer) = check_pair(&node, "+12155551005", "+12125550150").await;
    let (_, stranger) = check_pair(&node, "+12155551005", "+12125550151").await;
    assert_eq!(h1(&customer), format!("No, this is not {NAME}"));
    // The pages differ only in the number the customer typed (carried to the report form),
    // and perhaps the second of the check.
    let strip = |html: &str, called: &str| {
        let html = html.replace(called, "CALLED");
        let at = html.find("name=\"at\" value=\"").unwrap();
        let end = at + html[at..].find("\">").unwrap();
        format!("{}{}", &html[..at], &html[end..])
    };
    assert_eq!(
        strip(&customer, "12125550150"),
        strip(&stranger, "12125550151")
    );
    for html in [&customer, &stranger] {
        assert!(!html.contains("Sarah"), "{html}");
        assert!(!html.contains("12155551000"), "{html}");
    }
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Bad input, limits, unknown brands

#[tokio::test]
async fn bad_input_gets_the_form_again_with_accessible_errors() {
    let node = node().await;
    let check = format!("/brands/{SLUG}/check");
    for (fields, says) in [
        (
            vec![("calling", ""), ("called", "212 555 0100")],
            vec!["number shown on your screen", "country code"],
        ),
        (
            vec![
                ("calling", "+1 215 <b>555</b>"),
                ("called", "+1 212 555 0100"),
            ],
            vec!["not a phone number"],
        ),
        (vec![("code", "1234")], vec!["8 digits"]),
        (vec![("code", "")], vec!["Enter the code"]),
    ] {
        let (status, headers, html) = node.post_form(&check, &fields).await;
        assert_eq!(status, 400, "{fields:?}: {html}");
        assert_page(&headers, &html, "check error");
        assert_eq!(headers["cache-control"], "no-store");
        assert!(html.contains("<title>Error: "), "{html}");
        assert!(html.contains("Check what you entered"), "{html}");
        assert!(!html.contains("<b>"), "what was typed is escaped: {html}");
        for said in says {
            assert!(html.contains(said), "{fields:?} lacks {said:?}: {html}");
        }
        assert_eq!(
            html.matches("aria-invalid=\"true\"").count(),
            html.matches("class=\"err field\"").count(),
            "{html}"
        );
        assert!(html.contains("aria-invalid=\"true\""), "{html}");
        assert_descriptions_exist(&html, "check error");
    }
    // Not a form at all.
    let (status, html) = node
        .post_raw(&check, Some("application/json"), b"{}".to_vec())
        .await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("could not be read"), "{html}");

    // Reports.
    let report = format!("/brands/{SLUG}/report");
    let token = "0123456789abcdef0123456789abcdef";
    let long = "x".repeat(4001);
    for (fields, says) in [
        (vec![("calling", "+12155551001")], "expired"),
        (vec![("token", token), ("asked", "pin")], "from the list"),
        (
            vec![("token", token), ("text", long.as_str())],
            "4001 characters",
        ),
        (vec![("token", token), ("text", "  ")], "Tell us something"),
        (
            vec![("token", token), ("calling", "555 0100")],
            "country code",
        ),
    ] {
        let (status, headers, html) = node.post_form(&report, &fields).await;
        assert_eq!(status, 400, "{fields:?}: {html}");
        assert_page(&headers, &html, "report error");
        assert_eq!(headers["cache-control"], "no-store");
        assert!(html.contains(says), "{fields:?} lacks {says:?}: {html}");
        assert_descriptions_exist(&html, "report error");
        // The form again, with a usable token.
        let form = hidden_fields(&html, &report);
        let again = field(&form, "token");
        assert_eq!(again.len(), 32, "{form:?}");
        if fields[0].0 == "token" {
            assert_eq!(again, token, "a good token is kept");
        }
    }
    assert!(reports(&node).await.is_empty());
    node.stop().await;
}

#[tokio::test]
async fn too_many_checks_get_429_with_retry_after() {
    let node = node_with(|c| c.check.per_client_per_minute = 2).await;
    // Two a minute: within five checks one is refused, even across a minute's end.
    let mut refused = None;
    for _ in 0..5 {
        let (status, headers, html) = node
            .post_form(
                &format!("/brands/{SLUG}/check"),
                &[("calling", "+12155551000"), ("called", "+12125550100")],
            )
            .await;
        if status == 429 {
            refused = Some((headers, html));
            break;
        }
        assert_eq!(status, 200, "{html}");
    }
    let (headers, html) = refused.expect("no check was refused");
    assert_page(&headers, &html, "too many");
    assert_eq!(headers["cache-control"], "no-store");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(h1(&html), "Too many checks");
    assert!(html.contains("from this address"), "{html}");
    assert!(html.contains("tel:+18005550199"), "{html}");
    node.stop().await;
}

#[tokio::test]
async fn too_many_reports_from_one_address_get_429() {
    let node = node_with(|c| c.check.reports_per_client_per_hour = 2).await;
    let report = format!("/brands/{SLUG}/report");
    let mut statuses = Vec::new();
    for i in 0..3 {
        let (_, _, html) = node.get(&report).await;
        let form = hidden_fields(&html, &report);
        let token = field(&form, "token").to_owned();
        let text = format!("A caller asked for my card number ({i}).");
        let (status, headers, html) = node
            .post_form(
                &report,
                &[
                    ("token", token.as_str()),
                    ("calling", "+12155551001"),
                    ("asked", "card"),
                    ("text", text.as_str()),
                ],
            )
            .await;
        if status == 429 {
            assert_eq!(h1(&html), "Too many reports");
            assert!(headers.contains_key("retry-after"));
        }
        statuses.push(status);
    }
    assert_eq!(statuses, [200, 200, 429]);
    assert_eq!(reports(&node).await.len(), 2);
    node.stop().await;
}

#[tokio::test]
async fn unknown_brands_get_404_pages_and_the_brand_page_links_the_check() {
    let node = node().await;
    for path in [
        "/brands/no-such-brand/check",
        "/brands/no-such-brand/report",
    ] {
        let (status, headers, html) = node.get(path).await;
        assert_eq!(status, 404, "{path}: {html}");
        assert_page(&headers, &html, path);
        let (status, _, html) = node
            .post_form(
                path,
                &[("calling", "+12155551000"), ("called", "+12125550100")],
            )
            .await;
        assert_eq!(status, 404, "POST {path}: {html}");
        assert!(html.contains("Page not found"), "{html}");
    }
    let (status, _, html) = node.get(&format!("/brands/{SLUG}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!(
            "<a href=\"/brands/{SLUG}/check\">Check a call now</a>"
        )),
        "{html}"
    );
    node.stop().await;
}
