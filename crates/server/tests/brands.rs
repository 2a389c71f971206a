//! Brands end to end over the REST API, on a real development node: a brand with its
//! logo, reasons and numbers; calls signed in its name with an `rcd` PASSporT and verified
//! with the brand shown; partners authorised, limited to reasons, revoked; a logo whose
//! bytes changed; Do-Not-Originate numbers; opt-outs; the events the brand's security team
//! sees.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

mod common;

use std::time::Duration;

use common::{TestNode, decode, eventually, fresh_origid, now, signing_request};
use serde_json::{Value, json};
use store::{NewApiKey, Scope};

const SIGNING: &str = "/stir/v1/signing";
const VERIFICATION: &str = "/stir/v1/verification";
/// The brand's listed numbers (inside the development customer's range).
const LISTED: &str = "12155551000";
/// A listed number too.
const LISTED_2: &str = "12155551001";
/// The brand's inbound-only (Do-Not-Originate) number.
const INBOUND_ONLY: &str = "12155559999";
const DEST: &str = "12125551213";
const OPTED_OUT_DEST: &str = "12125550077";
const PARTNER_KEY: &str = "cp_test_partner_callco_0001";

/// A 1x1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

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

async fn put_logo(node: &TestNode, bytes: &[u8]) -> Value {
    let response = node
        .client
        .put(node.url("/v1/brands/acme-bank/logo"))
        .header("content-type", "image/png")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let (status, body) = common::into_json(response).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Signs `orig` -> `dest` with `reason`, as the development customer or with `key`.
async fn sign(
    node: &TestNode,
    orig: &str,
    dest: &str,
    reason: Option<&str>,
    key: Option<&str>,
) -> (u16, Value) {
    let mut request = signing_request("A", orig, &[dest], now(), &fresh_origid());
    if let Some(reason) = reason {
        request["signingRequest"]["callReason"] = json!(reason);
    }
    let bearer = key.map(|k| format!("Bearer {k}"));
    let headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|b| vec![("authorization", b)])
        .unwrap_or_default();
    node.post_json(SIGNING, &request, &headers).await
}

async fn verify(node: &TestNode, orig: &str, dest: &str, identities: &Value) -> Value {
    let (status, body) = node
        .post_json(
            VERIFICATION,
            &json!({"verificationRequest": {
                "from": {"tn": orig}, "to": {"tn": [dest]}, "time": now(), "identity": identities
            }}),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn refusal(body: &Value) -> String {
    assert_eq!(
        body["requestError"]["policyException"]["messageId"], "POL4050",
        "{body}"
    );
    body["requestError"]["policyException"]["variables"][0]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn setup_brand(node: &TestNode) -> Value {
    let (status, body) = send(
        node,
        reqwest::Method::POST,
        "/v1/brands",
        Some(&json!({
            "slug": "acme-bank",
            "customer": "development",
            "legalName": "Acme Bank plc",
            "displayName": "Acme Bank",
            "callReasons": [
                {"code": "fraud-alert", "text": "Card fraud alert"},
                {"code": "offers", "text": "Savings offers", "marketing": true}
            ],
            "neverAsk": ["We will never ask for your PIN"]
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let logo = put_logo(node, PNG).await;
    for (kind, start, count) in [("listed", LISTED, 100), ("inbound_only", INBOUND_ONLY, 1)] {
        let (status, body) = send(
            node,
            reqwest::Method::POST,
            "/v1/brands/acme-bank/numbers",
            Some(&json!({"kind": kind, "numbers": [{"start": start, "count": count}]})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    logo
}

async fn partner_customer(node: &TestNode) {
    let store = &node.node().state().store;
    let customer = store.create_customer("callco", None).await.unwrap();
    store
        .create_api_key(NewApiKey {
            customer: Some(customer.id),
            name: "callco".into(),
            prefix: PARTNER_KEY.chars().take(8).collect(),
            hash: engine::inventory::hash_api_key(PARTNER_KEY),
            scopes: vec![Scope::Sign],
        })
        .await
        .unwrap();
    node.node()
        .state()
        .inventory
        .refresh(store.as_ref())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_brand_call_is_signed_with_rcd_and_verified_with_the_brand_shown() {
    let node = TestNode::start().await;
    let logo = setup_brand(&node).await;
    let logo_url = logo["url"].as_str().unwrap().to_owned();
    assert_eq!(logo_url, node.url("/brands/acme-bank/logo"));

    // The logo is served at its URL, byte for byte.
    let response = node.client.get(&logo_url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.bytes().await.unwrap().as_ref(), PNG);

    // By default the Rich Call Data rides in the SHAKEN PASSporT: one signature.
    let (status, body) = sign(&node, LISTED, DEST, Some("fraud-alert"), None).await;
    assert_eq!(status, 200, "{body}");
    let response = &body["signingResponse"];
    let identities = response["identities"].as_array().unwrap();
    assert_eq!(identities.len(), 1, "{body}");
    assert_eq!(response["identity"], identities[0]);
    let shaken = decode(identities[0].as_str().unwrap());
    assert!(shaken.params.ends_with(";ppt=shaken"), "{}", shaken.params);
    assert_eq!(shaken.claims["attest"], "A");
    assert_eq!(shaken.claims["rcd"]["nam"], "Acme Bank");
    assert_eq!(shaken.claims["rcd"]["icn"], logo_url.as_str());
    assert_eq!(shaken.claims["crn"], "Card fraud alert");
    assert_eq!(shaken.claims["rcdi"]["/icn"], logo["digest"]);
    assert!(
        logo["digest"].as_str().unwrap().starts_with("sha256-"),
        "{logo}"
    );

    // Verified: TN-Validation-Passed, and the brand is shown.
    let verdict = verify(&node, LISTED, DEST, &json!(identities)).await;
    assert_eq!(
        verdict["verificationResponse"]["verstat"], "TN-Validation-Passed",
        "{verdict}"
    );
    assert_eq!(
        verdict["callproof"]["brand"],
        json!({"name": "Acme Bank", "logo": logo_url, "reason": "Card fraud alert"}),
        "{verdict}"
    );

    // The logo's bytes change: the digest signed earlier no longer matches, the call still
    // passes SHAKEN (TN-Validation-Passed) but no brand is shown.
    let mut changed = PNG.to_vec();
    changed.push(0);
    let new_logo = put_logo(&node, &changed).await;
    assert_ne!(new_logo["digest"], logo["digest"]);
    let verdict = verify(&node, LISTED, DEST, &json!(identities)).await;
    assert_eq!(
        verdict["verificationResponse"]["verstat"], "TN-Validation-Passed",
        "{verdict}"
    );
    assert!(verdict["callproof"].get("brand").is_none(), "{verdict}");
    let withheld = verdict["callproof"]["brandWithheld"].as_str().unwrap();
    assert!(withheld.contains("digest mismatch"), "{withheld}");
    // A call signed after the change shows the brand again.
    let (_, body) = sign(&node, LISTED, DEST, Some("fraud-alert"), None).await;
    let verdict = verify(&node, LISTED, DEST, &body["signingResponse"]["identities"]).await;
    assert_eq!(
        verdict["callproof"]["brand"]["name"], "Acme Bank",
        "{verdict}"
    );
    node.stop().await;
}

#[tokio::test]
async fn partners_call_in_the_brand_name_only_as_authorised() {
    let node = TestNode::start().await;
    setup_brand(&node).await;
    partner_customer(&node).await;

    // Not yet authorised: refused, and the brand sees it.
    let (status, body) = sign(&node, LISTED_2, DEST, Some("offers"), Some(PARTNER_KEY)).await;
    assert_eq!(status, 403, "{body}");
    assert!(refusal(&body).contains("not a partner"), "{body}");

    let (status, body) = send(
        &node,
        reqwest::Method::POST,
        "/v1/brands/acme-bank/partners",
        Some(&json!({
            "customer": "callco",
            "numbers": [{"start": LISTED, "count": 10}],
            "reasons": ["offers"]
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let partner = body["id"].as_i64().unwrap();

    // Authorised: signed with A and the brand's rcd.
    let (status, body) = sign(&node, LISTED_2, DEST, Some("offers"), Some(PARTNER_KEY)).await;
    assert_eq!(status, 200, "{body}");
    let identities = body["signingResponse"]["identities"].as_array().unwrap();
    assert_eq!(
        decode(identities[0].as_str().unwrap()).claims["attest"],
        "A"
    );
    assert_eq!(
        decode(identities[0].as_str().unwrap()).claims["crn"],
        "Savings offers"
    );
    // A reason the partner may not use, and a number outside its authorisation.
    let (status, body) = sign(
        &node,
        LISTED_2,
        DEST,
        Some("fraud-alert"),
        Some(PARTNER_KEY),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(refusal(&body).contains("may not call for"), "{body}");
    let (status, body) = sign(&node, "12155551050", DEST, None, Some(PARTNER_KEY)).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        refusal(&body).contains("not authorised for this number"),
        "{body}"
    );
    // An unknown reason.
    let (status, body) = sign(&node, LISTED, DEST, Some("lottery"), None).await;
    assert_eq!(status, 403, "{body}");
    assert!(refusal(&body).contains("not a call reason"), "{body}");

    // Revoked: the next signing is refused.
    let (status, body) = send(
        &node,
        reqwest::Method::DELETE,
        &format!("/v1/brands/acme-bank/partners/{partner}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = sign(&node, LISTED_2, DEST, Some("offers"), Some(PARTNER_KEY)).await;
    assert_eq!(status, 403, "{body}");
    assert!(refusal(&body).contains("revoked"), "{body}");

    // The security team sees the refusals.
    let kinds = eventually(Duration::from_secs(10), "refusal events", || async {
        let (_, body) = send(
            &node,
            reqwest::Method::GET,
            "/v1/brands/acme-bank/events",
            None,
        )
        .await;
        let kinds: Vec<String> = body["events"]
            .as_array()?
            .iter()
            .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
            .collect();
        (kinds.len() >= 5).then_some(kinds)
    })
    .await;
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "unauthorised_signing_refused")
            .count(),
        3,
        "{kinds:?}"
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "reason_signing_refused")
            .count(),
        2,
        "{kinds:?}"
    );
    node.stop().await;
}

#[tokio::test]
async fn do_not_originate_numbers_are_never_signed_and_fail_verification() {
    let node = TestNode::start().await;
    // A call signed from a number before it became inbound-only...
    let before =
        sign(&node, INBOUND_ONLY, DEST, None, None).await.1["signingResponse"]["identity"].clone();
    let national = "12155552222";
    let before_national =
        sign(&node, national, DEST, None, None).await.1["signingResponse"]["identity"].clone();
    setup_brand(&node).await;
    let (status, body) = send(
        &node,
        reqwest::Method::PUT,
        "/v1/dno",
        Some(&json!({"numbers": [{"tn": national}]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // ...is refused now, and a call claiming it fails with the DNO reason.
    for number in [INBOUND_ONLY, national] {
        let (status, body) = sign(&node, number, DEST, None, None).await;
        assert_eq!(status, 403, "{body}");
        assert!(refusal(&body).contains("Do-Not-Originate"), "{body}");
    }
    for (number, identity) in [(INBOUND_ONLY, &before), (national, &before_national)] {
        let verdict = verify(&node, number, DEST, identity).await;
        assert_eq!(
            verdict["verificationResponse"],
            json!({
                "reasoncode": 608,
                "reasontext": "Rejected",
                "reasondesc": format!("{number} is a Do-Not-Originate number: no genuine call comes from it."),
                "verstat": "TN-Validation-Failed"
            })
        );
    }
    // Recorded as spoofing evidence for the brand whose inbound-only number it is.
    eventually(
        Duration::from_secs(10),
        "the DNO evidence event",
        || async {
            let (_, body) = send(
                &node,
                reqwest::Method::GET,
                "/v1/brands/acme-bank/events",
                None,
            )
            .await;
            body["events"]
                .as_array()?
                .iter()
                .find(|e| e["kind"] == "dno_call" && e["detail"]["orig"] == INBOUND_ONLY)
                .map(|_| ())
        },
    )
    .await;
    node.stop().await;
}

#[tokio::test]
async fn opted_out_numbers_get_service_calls_but_no_marketing() {
    let node = TestNode::start().await;
    setup_brand(&node).await;
    let (status, body) = send(
        &node,
        reqwest::Method::POST,
        "/v1/brands/acme-bank/opt-outs",
        Some(&json!({"numbers": [OPTED_OUT_DEST], "source": "customer phone call"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["changed"], 1);

    let (status, body) = sign(&node, LISTED, OPTED_OUT_DEST, Some("offers"), None).await;
    assert_eq!(status, 403, "{body}");
    assert!(refusal(&body).contains("opted out"), "{body}");
    // No stated reason could be marketing: refused too.
    let (status, body) = sign(&node, LISTED, OPTED_OUT_DEST, None, None).await;
    assert_eq!(status, 403, "{body}");
    // A service call goes through; marketing to anyone else too.
    let (status, body) = sign(&node, LISTED, OPTED_OUT_DEST, Some("fraud-alert"), None).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = sign(&node, LISTED, DEST, Some("offers"), None).await;
    assert_eq!(status, 200, "{body}");

    // Opted back in: marketing is signed again.
    let (status, body) = send(
        &node,
        reqwest::Method::DELETE,
        "/v1/brands/acme-bank/opt-outs",
        Some(&json!({"numbers": [OPTED_OUT_DEST]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = sign(&node, LISTED, OPTED_OUT_DEST, Some("offers"), None).await;
    assert_eq!(status, 200, "{body}");
    node.stop().await;
}

#[tokio::test]
async fn brand_input_is_checked() {
    let node = TestNode::start().await;
    let post = |body: Value| {
        let node = &node;
        async move { send(node, reqwest::Method::POST, "/v1/brands", Some(&body)).await }
    };
    let good = json!({"slug": "acme", "customer": "development", "legalName": "Acme", "displayName": "Acme"});
    let with = |field: &str, value: Value| {
        let mut b = good.clone();
        b[field] = value;
        b
    };
    for (what, body, needle) in [
        (
            "long display name",
            with("displayName", json!("x".repeat(33))),
            "displayName",
        ),
        ("bad slug", with("slug", json!("Acme Bank")), "slug"),
        (
            "unknown customer",
            with("customer", json!("nobody")),
            "customer",
        ),
        (
            "bad reason code",
            with("callReasons", json!([{"code": "Fraud Alert", "text": "x"}])),
            "code",
        ),
        (
            "control character",
            with("displayName", json!("A\ncme")),
            "displayName",
        ),
    ] {
        let (status, body) = post(body).await;
        assert!(status == 400 || status == 404, "{what}: {status} {body}");
        assert!(
            body["detail"].as_str().unwrap().contains(needle),
            "{what}: {body}"
        );
    }
    let (status, _) = post(good.clone()).await;
    assert_eq!(status, 201);
    let (status, body) = post(good).await;
    assert_eq!(status, 409, "a slug in use: {body}");
    // A logo must be an image.
    let response = node
        .client
        .put(node.url("/v1/brands/acme/logo"))
        .header("content-type", "text/html")
        .body("<script>")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Python's jwcrypto as an independent PASSporT implementation, both directions.

fn interop_script(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../cli/tests/interop/{name}"))
}

fn python(args: &[&std::ffi::OsStr]) -> String {
    let out = std::process::Command::new("python3")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("python3 is required for the interop tests: {e}"));
    assert!(
        out.status.success(),
        "python3 {args:?} failed (the interop tests need `pip install jwcrypto`): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The node's signing certificate (the first of its chain) and key, from its data dir.
fn node_credentials(node: &TestNode) -> (std::path::PathBuf, std::path::PathBuf) {
    let pki = node.dir.path().join("pki");
    let chain = std::fs::read_to_string(pki.join("chain.pem")).unwrap();
    let leaf = common::first_pem(&chain);
    let cert = node.dir.path().join("leaf.pem");
    std::fs::write(&cert, leaf).unwrap();
    (cert, pki.join("sp-key.pem"))
}

#[tokio::test]
async fn rcd_passports_interoperate_with_jwcrypto_both_ways() {
    // rcd PASSporTs of their own (RFC 9795), as a second Identity header.
    let node =
        TestNode::start_with(|c| c.signing.rcd_mode = engine::signing::RcdMode::Separate).await;
    let logo = setup_brand(&node).await;
    let logo_url = logo["url"].as_str().unwrap().to_owned();
    let (cert, key) = node_credentials(&node);

    // callproof signs; jwcrypto verifies the signature, and its own digest of the logo
    // bytes matches rcdi.
    let (_, body) = sign(&node, LISTED, DEST, Some("fraud-alert"), None).await;
    let rcd = body["signingResponse"]["identities"][1]
        .as_str()
        .unwrap()
        .to_owned();
    let verify_script = interop_script("jwcrypto_verify.py");
    let out = python(&[
        verify_script.as_os_str(),
        "--cert".as_ref(),
        cert.as_os_str(),
        "--identity".as_ref(),
        rcd.as_ref(),
    ]);
    let verified: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(verified["header"]["ppt"], "rcd");
    assert_eq!(verified["claims"]["rcd"]["nam"], "Acme Bank");
    let logo_file = node.dir.path().join("logo.png");
    std::fs::write(&logo_file, PNG).unwrap();
    let digest = python(&[
        "-c".as_ref(),
        "import base64,hashlib,sys; print('sha256-' + base64.b64encode(hashlib.sha256(open(sys.argv[1],'rb').read()).digest()).decode())".as_ref(),
        logo_file.as_os_str(),
    ]);
    assert_eq!(verified["claims"]["rcdi"]["/icn"], digest.as_str());

    // jwcrypto signs a SHAKEN and an rcd PASSporT with the node's key; the node verifies
    // both and shows the brand, rcdi computed by Python.
    let x5u = decode(body["signingResponse"]["identity"].as_str().unwrap()).info;
    let iat = now().to_string();
    let sign_script = interop_script("jwcrypto_sign.py");
    let jw = |extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> =
            vec![sign_script.as_os_str(), "--key".as_ref(), key.as_os_str()];
        for a in [
            "--x5u", &x5u, "--orig", LISTED, "--dest", DEST, "--iat", &iat,
        ] {
            args.push(a.as_ref());
        }
        for a in extra {
            args.push(a.as_ref());
        }
        python(&args)
    };
    let shaken = jw(&[
        "--attest",
        "A",
        "--origid",
        "123e4567-e89b-12d3-a456-426655440000",
    ]);
    let rcd = jw(&[
        "--ppt",
        "rcd",
        "--nam",
        "Acme Bank",
        "--icn",
        &logo_url,
        "--icn-file",
        logo_file.to_str().unwrap(),
        "--crn",
        "Card fraud alert",
    ]);
    let verdict = verify(&node, LISTED, DEST, &json!([shaken, rcd])).await;
    assert_eq!(
        verdict["verificationResponse"]["verstat"], "TN-Validation-Passed",
        "{verdict}"
    );
    assert_eq!(
        verdict["callproof"]["brand"],
        json!({"name": "Acme Bank", "logo": logo_url, "reason": "Card fraud alert"}),
        "{verdict}"
    );
    // A name other than the registered brand's, on its listed number: no brand shown.
    let impostor = jw(&["--ppt", "rcd", "--nam", "Acme Bank Security"]);
    let verdict = verify(&node, LISTED, DEST, &json!([shaken, impostor])).await;
    assert!(
        verdict["callproof"]["brandWithheld"]
            .as_str()
            .unwrap()
            .contains("is not that of brand"),
        "{verdict}"
    );
    node.stop().await;
}

/// A key bound to a customer manages that customer's brands only: a partner's admin key
/// cannot authorise itself, read another brand's events or replace the DNO list.
#[tokio::test]
async fn customer_keys_manage_only_their_own_brands() {
    let node = TestNode::start().await;
    setup_brand(&node).await;
    let store = &node.node().state().store;
    let mut keys = Vec::new();
    for name in ["callco", "otherbank"] {
        let customer = store.create_customer(name, None).await.unwrap();
        let key = format!("cp_test_admin_{name}_0001");
        store
            .create_api_key(NewApiKey {
                customer: Some(customer.id),
                name: name.into(),
                prefix: key.chars().take(8).collect(),
                hash: engine::inventory::hash_api_key(&key),
                scopes: vec![Scope::Admin],
            })
            .await
            .unwrap();
        keys.push(key);
    }
    node.node()
        .state()
        .inventory
        .refresh(store.as_ref())
        .await
        .unwrap();
    let as_key = |key: &str, method: reqwest::Method, path: &str, body: Value| {
        let request = node
            .client
            .request(method, node.url(path))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body.to_string());
        async move { common::into_json(request.send().await.unwrap()).await }
    };
    let callco = &keys[0];
    let (status, body) = as_key(
        callco,
        reqwest::Method::POST,
        "/v1/brands/acme-bank/partners",
        json!({"customer": "callco", "numbers": [{"start": LISTED, "count": 10}]}),
    )
    .await;
    assert_eq!(status, 403, "a partner authorising itself: {body}");
    for path in ["/v1/brands/acme-bank/events", "/v1/brands/acme-bank"] {
        let (status, _) = as_key(callco, reqwest::Method::GET, path, Value::Null).await;
        assert_eq!(status, 403, "{path}");
    }
    let (status, _) = as_key(
        callco,
        reqwest::Method::PUT,
        "/v1/dno",
        json!({"numbers": []}),
    )
    .await;
    assert_eq!(status, 403);
    // Another customer creates and manages its own brand, and sees only it.
    let other = &keys[1];
    let (status, body) = as_key(
        other,
        reqwest::Method::POST,
        "/v1/brands",
        json!({"slug": "other-bank", "customer": "otherbank", "legalName": "Other",
            "displayName": "Other"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = as_key(
        other,
        reqwest::Method::POST,
        "/v1/brands",
        json!({"slug": "fake-acme", "customer": "development", "legalName": "Acme",
            "displayName": "Acme Bank"}),
    )
    .await;
    assert_eq!(status, 403, "a brand for someone else: {body}");
    let (status, body) = as_key(other, reqwest::Method::GET, "/v1/brands", Value::Null).await;
    assert_eq!(status, 200);
    let slugs: Vec<&str> = body["brands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["other-bank"]);
    node.stop().await;
}

/// A partner that signs with its own carrier gets a delegate certificate (RFC 9060) for
/// exactly its authorised numbers: PASSporTs it signs for them verify, for other numbers
/// they fail.
#[tokio::test]
async fn partners_get_delegate_certificates_for_their_numbers() {
    use passport::claims::{Attestation, Claims};
    let node = TestNode::start().await;
    setup_brand(&node).await;
    partner_customer(&node).await;
    let (status, partner) = send(
        &node,
        reqwest::Method::POST,
        "/v1/brands/acme-bank/partners",
        Some(&json!({"customer": "callco", "numbers": [{"start": LISTED, "count": 10}]})),
    )
    .await;
    assert_eq!(status, 201, "{partner}");
    let id = partner["id"].as_i64().unwrap();
    let (csr, key) = pki::testpki::csr_pem("Callco call centre").unwrap();
    let response = node
        .client
        .post(node.url(&format!("/v1/brands/acme-bank/partners/{id}/certificate")))
        .header("content-type", "application/json")
        .body(json!({"csr": csr}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.headers()["content-type"],
        "application/pem-certificate-chain"
    );
    let chain = response.text().await.unwrap();
    let certs = pki::parse_chain(chain.as_bytes()).unwrap();
    assert_eq!(certs.len(), 3, "delegate, delegation CA, intermediate");
    assert!(!certs[0].is_ca());
    assert_eq!(
        certs[0]
            .tn_auth_list()
            .unwrap()
            .as_ref()
            .unwrap()
            .to_string(),
        pki::TnAuthList::new(vec![pki::TnEntry::Range(
            pki::TnRange::new(passport::TelephoneNumber::parse(LISTED).unwrap(), 10).unwrap()
        )])
        .unwrap()
        .to_string()
    );

    // The partner signs with its own key; the verifier fetches its chain from its x5u.
    let x5u = "https://certs.callco.example/delegate.pem";
    node.node()
        .state()
        .verification
        .verifier()
        .add_local_certificate(x5u, chain.as_bytes());
    let signer =
        passport::sign::Signer::new(passport::key::SigningKey::from_pem(&key).unwrap(), x5u)
            .unwrap();
    let sign = |orig: &str| {
        let claims = Claims::shaken(
            now(),
            passport::TelephoneNumber::parse(orig).unwrap(),
            vec![passport::TelephoneNumber::parse(DEST).unwrap()],
            Attestation::A,
            "123e4567-e89b-12d3-a456-426655440000",
        );
        signer.sign_identity(&claims).unwrap()
    };
    let verdict = verify(&node, LISTED_2, DEST, &json!(sign(LISTED_2))).await;
    assert_eq!(
        verdict["verificationResponse"]["verstat"], "TN-Validation-Passed",
        "{verdict}"
    );
    // A number of the brand's the partner was not given: the certificate does not cover it.
    let verdict = verify(&node, "12155551050", DEST, &json!(sign("12155551050"))).await;
    assert_eq!(
        verdict["verificationResponse"]["reasoncode"], 437,
        "{verdict}"
    );
    assert_eq!(
        verdict["verificationResponse"]["verstat"], "TN-Validation-Failed",
        "{verdict}"
    );

    // A bad CSR, and a revoked partner, get no certificate.
    let (status, body) = send(
        &node,
        reqwest::Method::POST,
        &format!("/v1/brands/acme-bank/partners/{id}/certificate"),
        Some(&json!({"csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    send(
        &node,
        reqwest::Method::DELETE,
        &format!("/v1/brands/acme-bank/partners/{id}"),
        None,
    )
    .await;
    let (status, body) = send(
        &node,
        reqwest::Method::POST,
        &format!("/v1/brands/acme-bank/partners/{id}/certificate"),
        Some(&json!({"csr": csr})),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    node.stop().await;
}
