//! The REST API end to end: a real node per test on 127.0.0.1 (data in a temp dir, SIP
//! off), driven over HTTP with reqwest.
//!
//! - ATIS-1000082 signing and verification as DESIGN's "Wire contracts" specify them: the
//!   example request, the accepted variants, every service exception, and the verification
//!   failure table;
//! - replay detection, API keys, health and metrics;
//! - Debian's `secsipidx` as an independent verifier of what the REST signer produced
//!   (required: without it the test fails and says what to install);
//! - signing key and certificate rotation without a restart.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    DEST, ORIG, ORIGID, StaticServer, TestNode, alter_signature, atis_error, decode, eventually,
    failure, first_pem, free_port, fresh_origid, get_url, now, passed, replace_file, run,
    signing_request, verification_request, write_file,
};
use passport::TelephoneNumber;
use passport::claims::{Attestation, Claims};
use pki::testpki::TestPki;
use serde_json::{Value, json};
use store::{NewApiKey, NumberBlock, Scope};

const SIGNING: &str = "/stir/v1/signing";
const VERIFICATION: &str = "/stir/v1/verification";
const SVC: &str = "serviceException";
const POL: &str = "policyException";
const MISSING: &str = "Error: Missing mandatory parameter '%1'.";
const INVALID: &str = "Error: Invalid '%1' parameter value: %2.";
const NO_TN: &str = "No-TN-Validation";
const FAILED: &str = "TN-Validation-Failed";
const INVALID_IDENTITY: &str = "Invalid Identity Header";
/// A number outside the development range (12155550000..12155559999).
const FOREIGN_ORIG: &str = "19995551212";

fn tn(s: &str) -> TelephoneNumber {
    TelephoneNumber::parse(s).unwrap()
}

/// Hex SHA-256 of `text`, first 16 digits: how a chain's fingerprint URL is named.
fn fingerprint(text: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    d.as_ref()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Signs ORIG -> DEST (or the given numbers) with a key the node does not have.
fn sign_elsewhere(key_pem: &str, x5u: &str, orig: &str, dest: &str, iat: i64) -> String {
    let key = passport::key::SigningKey::from_pem(key_pem).unwrap();
    let signer = passport::sign::Signer::new(key, x5u).unwrap();
    let claims = Claims::shaken(
        iat,
        tn(orig),
        vec![tn(dest)],
        Attestation::A,
        fresh_origid(),
    );
    signer.sign_identity(&claims).unwrap()
}

/// A malformed signing request: what it is, its body and Content-Type, and the answer.
type SigningCase<'a> = (&'a str, Vec<u8>, Option<&'a str>, u16, Value);

/// A verificationRequest built around an Identity value.
type RequestFor = Box<dyn Fn(&str) -> Value>;

/// Asserts `body` equals one of `candidates` (for bodies that carry the verifier's clock,
/// which the test only knows to within the request's duration).
fn assert_one_of(body: &Value, candidates: &[Value]) {
    assert!(
        candidates.contains(body),
        "body {body}\nis none of {candidates:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// ATIS signing

#[tokio::test]
async fn the_design_example_signs_with_attest_a_and_canonical_claims() {
    let node = TestNode::start().await;
    let request = r#"{"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":1443208345,
  "orig":{"tn":"12155551212"},"origid":"123e4567-e89b-12d3-a456-426655440000"}}"#;
    let response = node
        .client
        .post(node.url(SIGNING))
        .header("content-type", "application/json")
        .body(request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "the signing response is JSON"
    );
    let (_, body) = common::into_json(response).await;
    let identity = common::identity_of(&body);
    let d = decode(&identity);
    assert!(
        identity.ends_with(&format!(";info=<{}>;alg=ES256;ppt=shaken", d.info)),
        "{identity}"
    );
    assert!(d.info.starts_with("http://127.0.0.1:") && d.info.contains("/certs/"));
    assert_eq!(
        d.header_text,
        format!(
            r#"{{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"{}"}}"#,
            d.info
        ),
        "the protected header is canonical JSON with the x5u equal to info"
    );
    assert_eq!(
        d.payload_text,
        r#"{"attest":"A","dest":{"tn":["12125551213"]},"iat":1443208345,"orig":{"tn":"12155551212"},"origid":"123e4567-e89b-12d3-a456-426655440000"}"#,
        "the claims are canonical JSON (RFC 8225 section 9) and echo the request"
    );
    assert_eq!(d.signature.len(), 64, "ES256 signatures are r || s");
    node.stop().await;
}

#[tokio::test]
async fn attestation_is_downgraded_for_a_number_the_customer_does_not_own() {
    let node = TestNode::start().await;
    let origid = fresh_origid();
    let (status, body) = node
        .post_json(
            SIGNING,
            &signing_request("A", FOREIGN_ORIG, &[DEST], now(), &origid),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let claims = decode(&common::identity_of(&body)).claims;
    assert_eq!(claims["attest"], "B", "{claims}");
    assert_eq!(claims["origid"], origid.as_str(), "origid is echoed");
    assert_eq!(claims["orig"], json!({"tn": FOREIGN_ORIG}));

    // A request can lower the attestation for an owned number, never raise it.
    for (asked, signed) in [("A", "A"), ("B", "B"), ("C", "C")] {
        let (status, body) = node
            .post_json(
                SIGNING,
                &signing_request(asked, ORIG, &[DEST], now(), ORIGID),
                &[],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let claims = decode(&common::identity_of(&body)).claims;
        assert_eq!(claims["attest"], signed, "asked {asked}");
    }
    node.stop().await;
}

#[tokio::test]
async fn signing_accepts_the_deployed_variants_and_emits_the_first_form() {
    let node = TestNode::start().await;
    let iat = now();
    let cases = [
        (
            "leading + on both numbers",
            json!({"signingRequest": {"attest": "A", "dest": {"tn": ["+12125551213"]}, "iat": iat,
                "orig": {"tn": "+12155551212"}, "origid": ORIGID}}),
            "A",
            json!({"tn": [DEST]}),
        ),
        (
            "dest tn as a string",
            json!({"signingRequest": {"attest": "A", "dest": {"tn": "12125551213"}, "iat": iat,
                "orig": {"tn": ORIG}, "origid": ORIGID}}),
            "A",
            json!({"tn": [DEST]}),
        ),
        (
            "several dest numbers",
            json!({"signingRequest": {"attest": "A",
                "dest": {"tn": ["12125551213", "+12125551214", "12125551215"]}, "iat": iat,
                "orig": {"tn": ORIG}, "origid": ORIGID}}),
            "A",
            json!({"tn": ["12125551213", "12125551214", "12125551215"]}),
        ),
        (
            "orig tn as a one-element array",
            json!({"signingRequest": {"attest": "A", "dest": {"tn": [DEST]}, "iat": iat,
                "orig": {"tn": [ORIG]}, "origid": ORIGID}}),
            "A",
            json!({"tn": [DEST]}),
        ),
    ];
    for (what, request, attest, dest) in cases {
        let (status, body) = node.post_json(SIGNING, &request, &[]).await;
        assert_eq!(status, 200, "{what}: {body}");
        let identity = common::identity_of(&body);
        let d = decode(&identity);
        assert_eq!(
            d.claims,
            json!({"attest": attest, "dest": dest, "iat": iat, "orig": {"tn": ORIG}, "origid": ORIGID}),
            "{what}"
        );
        assert_eq!(
            d.params,
            format!(";info=<{}>;alg=ES256;ppt=shaken", d.info),
            "{what}"
        );
    }

    // Content-Type with parameters, and none at all, are read as JSON.
    let body = signing_request("A", ORIG, &[DEST], iat, ORIGID).to_string();
    for content_type in [Some("application/json; charset=utf-8"), None] {
        let (status, text) = node
            .post_raw(SIGNING, content_type, body.clone().into_bytes())
            .await;
        assert_eq!(status, 200, "{content_type:?}: {text}");
    }
    node.stop().await;
}

#[tokio::test]
async fn signing_request_errors_are_the_atis_service_exceptions() {
    let node = TestNode::start().await;
    let good = signing_request("A", ORIG, &[DEST], now(), ORIGID);
    let without = |name: &str| {
        let mut r = good.clone();
        r["signingRequest"].as_object_mut().unwrap().remove(name);
        r
    };
    let with = |name: &str, value: Value| {
        let mut r = good.clone();
        r["signingRequest"][name] = value;
        r
    };
    let unparsable = br#"{"signingRequest":{"attest":"A","#.to_vec();
    let serde_says = serde_json::from_slice::<Value>(&unparsable)
        .unwrap_err()
        .to_string();

    let mut cases: Vec<SigningCase<'_>> = vec![
        (
            "empty body",
            Vec::new(),
            Some("application/json"),
            400,
            atis_error(SVC, "SVC4000", "Error: Missing request body.", &[]),
        ),
        (
            "whitespace body",
            b" \r\n ".to_vec(),
            Some("application/json"),
            400,
            atis_error(SVC, "SVC4000", "Error: Missing request body.", &[]),
        ),
        (
            "no signingRequest",
            b"{}".to_vec(),
            Some("application/json"),
            400,
            atis_error(SVC, "SVC4001", MISSING, &["signingRequest"]),
        ),
        (
            "unparsable JSON",
            unparsable,
            Some("application/json"),
            400,
            atis_error(
                SVC,
                "SVC4006",
                "Error: Failed to parse received message body: %1.",
                &[serde_says.as_str()],
            ),
        ),
        (
            "wrong content type",
            good.to_string().into_bytes(),
            Some("text/plain"),
            415,
            atis_error(
                SVC,
                "SVC4004",
                "Error: Unsupported request body type '%1', expected '%2'.",
                &["text/plain", "application/json"],
            ),
        ),
    ];
    for name in ["attest", "dest", "iat", "orig", "origid"] {
        cases.push((
            name,
            without(name).to_string().into_bytes(),
            Some("application/json"),
            400,
            atis_error(SVC, "SVC4001", MISSING, &[name]),
        ));
    }
    let invalid: Vec<(&str, Value, &str, &str)> = vec![
        ("attest", json!("D"), "attest", r#""D""#),
        ("iat", json!("x"), "iat", r#""x""#),
        ("orig", json!({"tn": "abc"}), "orig.tn", r#""abc""#),
        ("origid", json!("not-a-uuid"), "origid", r#""not-a-uuid""#),
        ("dest", json!({"tn": []}), "dest.tn", "[]"),
    ];
    for (name, value, param, shown) in invalid {
        cases.push((
            name,
            with(name, value).to_string().into_bytes(),
            Some("application/json"),
            400,
            atis_error(SVC, "SVC4005", INVALID, &[param, shown]),
        ));
    }

    for (what, body, content_type, status, expected) in cases {
        let (got_status, text) = node.post_raw(SIGNING, content_type, body).await;
        let got: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{what}: body is not JSON ({e}): {text:?}"));
        assert_eq!((got_status, &got), (status, &expected), "{what}");
    }
    node.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let node = TestNode::start_with(|c| c.http.max_body_bytes = 4096).await;
    // Valid JSON, larger than the limit, with a Content-Length.
    let padding = "x".repeat(5000);
    let mut body = signing_request("A", ORIG, &[DEST], now(), ORIGID);
    body["padding"] = json!(padding);
    let (status, _) = node
        .post_raw(
            SIGNING,
            Some("application/json"),
            body.to_string().into_bytes(),
        )
        .await;
    assert_eq!(status, 413, "declared length over the limit");

    // The same without a Content-Length (chunked): the limit holds while reading.
    let addr: SocketAddr = node.base.trim_start_matches("http://").parse().unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), async {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = "POST /stir/v1/signing HTTP/1.1\r\nHost: test\r\n\
                    Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        stream.write_all(head.as_bytes()).await.unwrap();
        let chunk = format!("{:x}\r\n{}\r\n", 1024, " ".repeat(1024));
        for _ in 0..8 {
            // The server may answer and close early: a failed write is not the test's point.
            if stream.write_all(chunk.as_bytes()).await.is_err() {
                break;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n").await;
        let mut response = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    response.extend_from_slice(&buf[..n]);
                    if response.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
        String::from_utf8_lossy(&response).into_owned()
    })
    .await
    .expect("no answer to a chunked body over the limit");
    assert!(
        response.starts_with("HTTP/1.1 413"),
        "chunked body over the limit: {response:?}"
    );
    node.stop().await;
}

/// Answers to pipelined requests leave together, in order, each whole; a request after
/// them on the same connection is answered too, and a final `Connection: close` request
/// gets its answer before the close.
#[tokio::test]
async fn pipelined_requests_are_all_answered_in_order() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let node = TestNode::start().await;
    let addr: SocketAddr = node.base.trim_start_matches("http://").parse().unwrap();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = |dest: &str, close: bool| {
        let body = signing_request("A", ORIG, &[dest], now(), ORIGID).to_string();
        format!(
            "POST /stir/v1/signing HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n{}\r\n{body}",
            body.len(),
            if close { "Connection: close\r\n" } else { "" }
        )
    };
    let dests: Vec<String> = (0..9).map(|i| format!("1212555{i:04}")).collect();
    let mut batch = String::new();
    for dest in dests.iter().take(8) {
        batch.push_str(&request(dest, false));
    }
    stream.write_all(batch.as_bytes()).await.unwrap();
    // The ninth, sent once the first answers are in, closes the connection.
    let mut received = Vec::new();
    let mut buf = [0u8; 16384];
    let mut sent_last = false;
    let read_all = async {
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            received.extend_from_slice(&buf[..n]);
            if !sent_last {
                sent_last = true;
                stream
                    .write_all(request(&dests[8], true).as_bytes())
                    .await
                    .unwrap();
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read_all)
        .await
        .expect("the connection was not closed after the last answer");
    let text = String::from_utf8(received).unwrap();
    let answers: Vec<&str> = text.split("HTTP/1.1 ").skip(1).collect();
    assert_eq!(answers.len(), 9, "{text}");
    for (answer, dest) in answers.iter().zip(&dests) {
        assert!(answer.starts_with("200 OK"), "{answer}");
        let body = answer.split("\r\n\r\n").nth(1).unwrap();
        let body: Value = serde_json::from_str(body).unwrap();
        let identity = body["signingResponse"]["identity"].as_str().unwrap();
        let token = identity.split(';').next().unwrap();
        let (_, claims) = passport::jws::decode_unverified_json(token).unwrap();
        assert_eq!(claims["dest"]["tn"][0], json!(dest), "answers out of order");
    }
    node.stop().await;
}

#[tokio::test]
async fn an_unknown_path_is_404_svc4003() {
    let node = TestNode::start().await;
    for path in ["/stir/v1/signin", "/stir/v2/signing", "/certs/nope.pem"] {
        let (status, _, text) = node.get(path).await;
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (status, body),
            (
                404,
                atis_error(
                    SVC,
                    "SVC4003",
                    "Error: Requested resource '%1' was not found.",
                    &[path]
                )
            ),
            "{path}"
        );
    }
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// ATIS verification

#[tokio::test]
async fn a_signed_call_verifies_with_the_exact_atis_body() {
    let node = TestNode::start().await;
    let identity = node.sign_fresh().await;
    let response = node
        .client
        .post(node.url(VERIFICATION))
        .header("content-type", "application/json")
        .body(verification_request(ORIG, DEST, now(), &identity).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"verificationResponse":{"verstat":"TN-Validation-Passed"}}"#
    );
    node.stop().await;
}

#[tokio::test]
async fn verification_accepts_the_deployed_variants() {
    let node = TestNode::start().await;
    let t = now();
    let cases: Vec<(&str, RequestFor)> = vec![
        (
            "orig/dest/iat names",
            Box::new(move |id| {
                json!({"verificationRequest": {"orig": {"tn": ORIG}, "dest": {"tn": [DEST]},
                    "iat": t, "identity": id}})
            }),
        ),
        (
            "quoted ppt",
            Box::new(move |id| {
                verification_request(ORIG, DEST, t, &id.replace(";ppt=shaken", ";ppt=\"shaken\""))
            }),
        ),
        (
            "leading + on numbers",
            Box::new(move |id| verification_request("+12155551212", "+12125551213", t, id)),
        ),
        (
            "to tn as a string",
            Box::new(move |id| {
                json!({"verificationRequest": {"from": {"tn": ORIG}, "to": {"tn": DEST},
                    "time": t, "identity": id}})
            }),
        ),
        (
            "several called numbers, one of them the PASSporT's",
            Box::new(move |id| {
                json!({"verificationRequest": {"from": {"tn": ORIG},
                    "to": {"tn": ["12125550000", DEST]}, "time": t, "identity": id}})
            }),
        ),
    ];
    for (what, request) in cases {
        let identity = node.sign_fresh().await;
        let (status, body) = node.post_json(VERIFICATION, &request(&identity), &[]).await;
        assert_eq!((status, body), (200, passed()), "{what}");
    }
    node.stop().await;
}

#[tokio::test]
async fn verification_failures_have_the_bodies_of_the_design_table() {
    let node = TestNode::start().await;
    let t = now();
    let fresh = node.sign_fresh().await;
    let x5u = decode(&fresh).info;
    let (token, _) = fresh.split_once(';').unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let with_params = |params: &str| format!("{token}{params}");

    let cases: Vec<(&str, String, &str, &str, Value)> = vec![
        (
            "signature altered",
            alter_signature(&node.sign_fresh().await),
            ORIG,
            DEST,
            failure(
                438,
                INVALID_IDENTITY,
                "Signature validation failed.",
                FAILED,
            ),
        ),
        (
            "orig differs from from",
            node.sign_fresh().await,
            "12155551299",
            DEST,
            failure(
                438,
                INVALID_IDENTITY,
                "PASSporT orig 12155551212 differs from the calling number 12155551299.",
                NO_TN,
            ),
        ),
        (
            "dest differs from to",
            node.sign_fresh().await,
            ORIG,
            "12125559999",
            failure(
                438,
                INVALID_IDENTITY,
                "PASSporT dest 12125551213 does not include the called number 12125559999.",
                NO_TN,
            ),
        ),
        (
            "info missing",
            format!("{token};alg=ES256;ppt=shaken"),
            ORIG,
            DEST,
            failure(
                436,
                "Bad Identity Info",
                "The Identity header has no info parameter.",
                NO_TN,
            ),
        ),
        (
            "info differs from x5u",
            with_params(";info=<https://sti.example.net/sp.pem>;alg=ES256;ppt=shaken"),
            ORIG,
            DEST,
            failure(
                436,
                "Bad Identity Info",
                &format!(
                    "PASSporT x5u {x5u:?} differs from the Identity info \"https://sti.example.net/sp.pem\"."
                ),
                NO_TN,
            ),
        ),
        (
            "info not a URL",
            with_params(";info=<ftp://sti.example.net/sp.pem>;alg=ES256;ppt=shaken"),
            ORIG,
            DEST,
            failure(
                436,
                "Bad Identity Info",
                "The info parameter \"ftp://sti.example.net/sp.pem\" is not a valid certificate URL.",
                NO_TN,
            ),
        ),
        (
            "ppt parameter not shaken (unknown)",
            with_params(&format!(";info=<{x5u}>;alg=ES256;ppt=foo")),
            ORIG,
            DEST,
            failure(438, INVALID_IDENTITY, "Unsupported ppt \"foo\".", NO_TN),
        ),
        (
            "ppt parameter not shaken (div)",
            with_params(&format!(";info=<{x5u}>;alg=ES256;ppt=div")),
            ORIG,
            DEST,
            failure(
                438,
                INVALID_IDENTITY,
                "The Identity ppt parameter \"div\" differs from the header's ppt \"shaken\".",
                NO_TN,
            ),
        ),
        (
            "alg parameter not ES256",
            with_params(&format!(";info=<{x5u}>;alg=RS256;ppt=shaken")),
            ORIG,
            DEST,
            failure(
                437,
                "Unsupported Credential",
                "The Identity alg parameter \"RS256\" is not ES256.",
                NO_TN,
            ),
        ),
        (
            "compact form",
            // RFC 8225 section 7: header and claims left out, the signature alone.
            format!("..{};info=<{x5u}>;alg=ES256;ppt=shaken", parts[2]),
            ORIG,
            DEST,
            failure(
                438,
                INVALID_IDENTITY,
                "Compact-form PASSporT where the full form is required.",
                NO_TN,
            ),
        ),
        (
            "x5u of a non-public address",
            sign_elsewhere(
                &TestPki::builder().at(t).build().unwrap().leaf_key_pem,
                "https://10.0.0.1/sp.pem",
                ORIG,
                DEST,
                t,
            ),
            ORIG,
            DEST,
            failure(
                436,
                "Bad Identity Info",
                "Cannot fetch the certificate at https://10.0.0.1/sp.pem: 10.0.0.1 is a non-public address (10.0.0.1); refused.",
                NO_TN,
            ),
        ),
    ];
    for (what, identity, from, to, expected) in cases {
        let (status, body) = node.verify(from, to, now(), &identity).await;
        assert_eq!((status, body), (200, expected), "{what}");
    }

    // The failure for a bad signature, byte for byte as the DESIGN shows it.
    let text = node
        .client
        .post(node.url(VERIFICATION))
        .header("content-type", "application/json")
        .body(
            verification_request(
                ORIG,
                DEST,
                now(),
                &alter_signature(&node.sign_fresh().await),
            )
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        text,
        r#"{"verificationResponse":{"reasoncode":438,"reasontext":"Invalid Identity Header","reasondesc":"Signature validation failed.","verstat":"TN-Validation-Failed"}}"#
    );

    // Time: the verifier's clock is in the text, known to the second only around the call.
    let stale_iat = t - 3600;
    let old = node.sign(ORIG, DEST, stale_iat, &fresh_origid()).await;
    let before = now();
    let (status, body) = node.verify(ORIG, DEST, now(), &old).await;
    let after = now();
    let candidates: Vec<Value> = (before..=after)
        .map(|n| {
            failure(
                403,
                "Stale Date",
                &format!(
                    "PASSporT iat {stale_iat} is {} s older than now ({n}); at most 60 s allowed.",
                    n - stale_iat
                ),
                NO_TN,
            )
        })
        .collect();
    assert_eq!(status, 200);
    assert_one_of(&body, &candidates);

    let future_iat = t + 3600;
    let ahead = node.sign(ORIG, DEST, future_iat, &fresh_origid()).await;
    let before = now();
    let (_, body) = node.verify(ORIG, DEST, now(), &ahead).await;
    let after = now();
    let candidates: Vec<Value> = (before..=after)
        .map(|n| {
            failure(
                403,
                "Stale Date",
                &format!(
                    "PASSporT iat {future_iat} is {} s ahead of now ({n}); at most 60 s allowed.",
                    future_iat - n
                ),
                NO_TN,
            )
        })
        .collect();
    assert_one_of(&body, &candidates);

    let stale_time = t - 3600;
    let before = now();
    let (_, body) = node
        .verify(ORIG, DEST, stale_time, &node.sign_fresh().await)
        .await;
    let after = now();
    let candidates: Vec<Value> = (before..=after)
        .map(|n| {
            failure(
                403,
                "Stale Date",
                &format!(
                    "Request time {stale_time} is {} s from now ({n}); at most 60 s allowed.",
                    n - stale_time
                ),
                NO_TN,
            )
        })
        .collect();
    assert_one_of(&body, &candidates);

    // The development certificate covers the development range only: a B-attested call
    // from another number carries a credential that does not cover orig.
    let b = node.sign(FOREIGN_ORIG, DEST, now(), &fresh_origid()).await;
    let (_, body) = node.verify(FOREIGN_ORIG, DEST, now(), &b).await;
    let response = &body["verificationResponse"];
    assert_eq!(
        (
            &response["reasoncode"],
            &response["reasontext"],
            &response["verstat"]
        ),
        (
            &json!(437),
            &json!("Unsupported Credential"),
            &json!(FAILED)
        ),
        "{body}"
    );
    let desc = response["reasondesc"].as_str().unwrap();
    assert!(
        desc.starts_with("Certificate rejected (tn_not_authorized): ")
            && desc.ends_with("does not cover the calling number 19995551212."),
        "{desc}"
    );
    node.stop().await;
}

#[tokio::test]
async fn x5u_is_fetched_over_plain_http_from_loopback_only_with_the_danger_options() {
    let t = now();
    let foreign = TestPki::builder().at(t).build().unwrap();
    let peer = StaticServer::start(vec![("/sp.pem".into(), foreign.chain_pem())]).await;
    let x5u = format!("{}/sp.pem", peer.base);
    let identity = || sign_elsewhere(&foreign.leaf_key_pem, &x5u, ORIG, DEST, now());

    // Defaults: https only.
    let node = TestNode::start().await;
    let (_, body) = node.verify(ORIG, DEST, now(), &identity()).await;
    assert_eq!(
        body,
        failure(
            436,
            "Bad Identity Info",
            &format!("Cannot fetch the certificate at {x5u}: plain http is refused (https only)."),
            NO_TN
        )
    );
    node.stop().await;

    // Both danger options: the chain is fetched, and does not lead to the trust anchor.
    let node = TestNode::start_with(|c| {
        c.verification.danger_allow_http_x5u = true;
        c.verification.danger_allow_private_x5u = true;
    })
    .await;
    let (_, body) = node.verify(ORIG, DEST, now(), &identity()).await;
    let response = &body["verificationResponse"];
    assert_eq!(
        (&response["reasoncode"], &response["verstat"]),
        (&json!(437), &json!(FAILED)),
        "{body}"
    );
    assert!(
        response["reasondesc"]
            .as_str()
            .unwrap()
            .starts_with("Certificate rejected (untrusted): "),
        "{body}"
    );
    node.stop().await;

    // ... and with that PKI's root as the trust anchor, the call verifies.
    let dir = tempfile::tempdir().unwrap();
    let anchors = dir.path().join("anchors.pem");
    write_file(&anchors, &foreign.root_pem, 0o644);
    let mut config = common::dev_config(&dir.path().join("data"));
    config.verification.danger_allow_http_x5u = true;
    config.verification.danger_allow_private_x5u = true;
    config.verification.trust_anchors = Some(anchors);
    let node = TestNode::start_in(dir, config).await;
    let (status, body) = node.verify(ORIG, DEST, now(), &identity()).await;
    assert_eq!((status, body), (200, passed()));
    node.stop().await;
}

#[tokio::test]
async fn a_replayed_passport_is_flagged_and_rejected_when_configured() {
    let node = TestNode::start().await;
    let identity = node.sign_fresh().await;
    let (_, first) = node.verify(ORIG, DEST, now(), &identity).await;
    assert_eq!(first, passed());
    let (status, second) = node.verify(ORIG, DEST, now(), &identity).await;
    assert_eq!(
        (status, second),
        (
            200,
            json!({"verificationResponse": {"verstat": "TN-Validation-Passed"},
                   "callproof": {"replayed": true}})
        )
    );
    // A variant spelling of the same PASSporT is the same PASSporT.
    let (_, third) = node
        .verify(
            ORIG,
            DEST,
            now(),
            &identity.replace(";ppt=shaken", ";ppt=\"shaken\""),
        )
        .await;
    assert_eq!(third["callproof"], json!({"replayed": true}), "{third}");
    node.stop().await;

    let node = TestNode::start_with(|c| c.replay.reject = true).await;
    let identity = node.sign_fresh().await;
    let started = now();
    let (_, first) = node.verify(ORIG, DEST, now(), &identity).await;
    assert_eq!(first, passed());
    let (status, second) = node.verify(ORIG, DEST, now(), &identity).await;
    let elapsed = now() - started;
    let candidates: Vec<Value> = (0..=elapsed)
        .map(|secs| {
            let mut body = failure(
                438,
                INVALID_IDENTITY,
                &format!("The PASSporT was already used for a call {secs} s ago (replay)."),
                FAILED,
            );
            body["callproof"] = json!({"replayed": true});
            body
        })
        .collect();
    assert_eq!(status, 200);
    assert_one_of(&second, &candidates);
    node.stop().await;
}

/// The order of the P-256 group, big-endian.
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `identity` with its ECDSA signature `(r, s)` replaced by `(r, n - s)`: the other
/// signature that verifies for the same header and claims (ECDSA malleability).
fn malleate(identity: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (token, params) = identity.split_once(';').unwrap();
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut sig = b64.decode(signature).unwrap();
    assert_eq!(sig.len(), 64);
    let s: Vec<u8> = sig[32..].to_vec();
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(P256_ORDER[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        sig[32 + i] = u8::try_from(d).unwrap();
    }
    assert_eq!(borrow, 0, "s is below the group order");
    format!("{signed}.{};{params}", b64.encode(&sig))
}

/// A copy of a verified PASSporT must not pass as a new call because its signature was
/// re-encoded: the replay cache keys on the signature text, and ECDSA lets anyone turn
/// `(r, s)` into `(r, n - s)`, which verifies just the same.
#[tokio::test]
async fn a_replay_with_the_malleated_signature_is_still_a_replay() {
    let node = TestNode::start_with(|c| c.replay.reject = true).await;
    let identity = node.sign_fresh().await;
    let twin = malleate(&identity);
    assert_ne!(twin, identity);
    let (_, first) = node.verify(ORIG, DEST, now(), &identity).await;
    assert_eq!(first, passed());
    let (_, second) = node.verify(ORIG, DEST, now(), &twin).await;
    assert_eq!(
        second["callproof"],
        json!({"replayed": true}),
        "the malleated copy of a PASSporT already verified passed as a fresh call: {second}"
    );
    assert_eq!(
        second["verificationResponse"]["reasoncode"], 438,
        "{second}"
    );
    node.stop().await;
}

/// A node must not hand out PASSporTs that no verifier, itself included, accepts. Outside
/// development mode `http://` certificate URLs are refused (DESIGN: HTTPS only), yet with no
/// `http.public_url` the node's own x5u defaults to `http://<listen>/certs/...`.
#[tokio::test]
async fn outside_development_mode_the_node_does_not_sign_with_an_http_x5u() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::dev_config(dir.path());
    // Development mode off, as on a node with a public listener.
    config.development_mode = false;
    let Ok(node) = tokio::time::timeout(common::NODE_LIMIT, server::node::Node::start(config))
        .await
        .expect("start did not finish")
    else {
        // Refusing to start is one way to keep the promise.
        return;
    };
    let node = TestNode::from_node(dir, node);
    let key = "cp_test_production_0005";
    customer_with_key(
        &node,
        "acme",
        ("12155550000", 10_000),
        key,
        vec![Scope::Sign, Scope::Verify],
    )
    .await;
    wait_for_key(&node, key).await;
    let identity = node
        .sign_with(ORIG, DEST, now(), &fresh_origid(), &[("x-api-key", key)])
        .await;
    let (_, body) = node
        .post_json(
            VERIFICATION,
            &verification_request(ORIG, DEST, now(), &identity),
            &[("x-api-key", key)],
        )
        .await;
    assert_eq!(
        body,
        passed(),
        "the node signed with x5u {:?}, which it refuses itself",
        decode(&identity).info
    );
    node.stop().await;
}

#[tokio::test]
async fn verification_request_errors_are_the_atis_service_exceptions() {
    let node = TestNode::start().await;
    let good = verification_request(ORIG, DEST, now(), "x.y.z;info=<https://a.example/c.pem>");
    let without = |name: &str| {
        let mut r = good.clone();
        r["verificationRequest"]
            .as_object_mut()
            .unwrap()
            .remove(name);
        r
    };
    let with = |name: &str, value: Value| {
        let mut r = good.clone();
        r["verificationRequest"][name] = value;
        r
    };
    let mut cases: Vec<(String, Value, Value)> = ["identity", "from", "to", "time"]
        .iter()
        .map(|name| {
            (
                format!("missing {name}"),
                without(name),
                atis_error(SVC, "SVC4001", MISSING, &[name]),
            )
        })
        .collect();
    cases.extend([
        (
            "null identity".to_owned(),
            with("identity", Value::Null),
            atis_error(SVC, "SVC4001", MISSING, &["identity"]),
        ),
        (
            "no verificationRequest".to_owned(),
            json!({"signingRequest": {}}),
            atis_error(SVC, "SVC4001", MISSING, &["verificationRequest"]),
        ),
        (
            "time not a number".to_owned(),
            with("time", json!("x")),
            atis_error(SVC, "SVC4005", INVALID, &["time", r#""x""#]),
        ),
        (
            "identity not a string".to_owned(),
            with("identity", json!(5)),
            atis_error(SVC, "SVC4005", INVALID, &["identity", "5"]),
        ),
        (
            "from not a number".to_owned(),
            with("from", json!({"tn": "abc"})),
            atis_error(SVC, "SVC4005", INVALID, &["from.tn", r#""abc""#]),
        ),
    ]);
    for (what, request, expected) in cases {
        let (status, body) = node.post_json(VERIFICATION, &request, &[]).await;
        assert_eq!((status, body), (400, expected), "{what}");
    }
    let (status, text) = node
        .post_raw(VERIFICATION, Some("application/json"), Vec::new())
        .await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&text).unwrap()),
        (
            400,
            atis_error(SVC, "SVC4000", "Error: Missing request body.", &[])
        )
    );
    let (status, _) = node
        .post_raw(
            VERIFICATION,
            Some("application/xml"),
            good.to_string().into_bytes(),
        )
        .await;
    assert_eq!(status, 415);
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// API keys

/// Creates customer `name` owning `START:COUNT` and an API key for it with `scopes`.
async fn customer_with_key(
    node: &TestNode,
    name: &str,
    numbers: (&str, u64),
    key: &str,
    scopes: Vec<Scope>,
) -> i64 {
    let store = &node.node().state().store;
    let customer = match store.customer_by_name(name).await.unwrap() {
        Some(c) => c,
        None => {
            let c = store.create_customer(name, None).await.unwrap();
            store
                .add_numbers(c.id, &[NumberBlock::new(tn(numbers.0), numbers.1).unwrap()])
                .await
                .unwrap();
            c
        }
    };
    store
        .create_api_key(NewApiKey {
            customer: Some(customer.id),
            name: format!("{name} test key"),
            prefix: key.chars().take(8).collect(),
            hash: engine::inventory::hash_api_key(key),
            scopes,
        })
        .await
        .unwrap()
        .id
}

/// Waits until the node answers a request signed with `key` other than 401.
async fn wait_for_key(node: &TestNode, key: &str) {
    let bearer = format!("Bearer {key}");
    eventually(
        Duration::from_secs(10),
        "the API key to reach the node",
        || {
            let bearer = bearer.clone();
            async move {
                let (status, _) = node
                    .post_json(
                        VERIFICATION,
                        &verification_request(ORIG, DEST, now(), "x"),
                        &[("authorization", &bearer)],
                    )
                    .await;
                (status != 401).then_some(())
            }
        },
    )
    .await;
}

#[tokio::test]
async fn api_keys_act_for_their_customer_with_their_scopes() {
    let node = TestNode::start().await;
    let both = "cp_test_sign_and_verify_0001";
    let verify_only = "cp_test_verify_only_0002";
    let id = customer_with_key(
        &node,
        "acme",
        ("13125550000", 100),
        both,
        vec![Scope::Sign, Scope::Verify],
    )
    .await;
    customer_with_key(
        &node,
        "acme",
        ("13125550000", 100),
        verify_only,
        vec![Scope::Verify],
    )
    .await;
    wait_for_key(&node, both).await;
    wait_for_key(&node, verify_only).await;

    let sign_as = |headers: Vec<(&'static str, String)>, orig: &'static str| {
        let node = &node;
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let origid = fresh_origid();
            let (status, body) = node
                .post_json(
                    SIGNING,
                    &signing_request("A", orig, &[DEST], now(), &origid),
                    &headers,
                )
                .await;
            assert_eq!(status, 200, "{body}");
            decode(&common::identity_of(&body)).claims
        }
    };
    // The key's customer, not the development customer: A for its own numbers, B for the
    // development range.
    for headers in [
        vec![("authorization", format!("Bearer {both}"))],
        vec![("authorization", format!("bearer {both}"))],
        vec![("x-api-key", both.to_owned())],
    ] {
        assert_eq!(sign_as(headers.clone(), "13125550042").await["attest"], "A");
        assert_eq!(sign_as(headers, ORIG).await["attest"], "B");
    }

    let (status, body) = node
        .post_json(
            SIGNING,
            &signing_request("A", ORIG, &[DEST], now(), ORIGID),
            &[("authorization", "Bearer cp_test_no_such_key")],
        )
        .await;
    assert_eq!(
        (status, body),
        (
            401,
            atis_error(
                POL,
                "POL4001",
                "Error: Unauthorized: %1.",
                &["unknown or revoked API key"]
            )
        )
    );
    let (status, body) = node
        .post_json(
            SIGNING,
            &signing_request("A", ORIG, &[DEST], now(), ORIGID),
            &[("x-api-key", verify_only)],
        )
        .await;
    assert_eq!(
        (status, body),
        (
            403,
            atis_error(
                POL,
                "POL4003",
                "Error: Forbidden: %1.",
                &["the API key lacks the sign scope"]
            )
        )
    );
    let identity = node.sign_fresh().await;
    let (status, body) = node
        .post_json(
            VERIFICATION,
            &verification_request(ORIG, DEST, now(), &identity),
            &[("x-api-key", verify_only)],
        )
        .await;
    assert_eq!((status, body), (200, passed()));

    // A revoked key stops working within the inventory poll period.
    assert!(node.node().state().store.revoke_api_key(id).await.unwrap());
    let bearer = format!("Bearer {both}");
    eventually(
        Duration::from_secs(10),
        "the revocation to reach the node",
        || {
            let bearer = bearer.clone();
            let node = &node;
            async move {
                let (status, _) = node
                    .post_json(
                        SIGNING,
                        &signing_request("A", ORIG, &[DEST], now(), ORIGID),
                        &[("authorization", &bearer)],
                    )
                    .await;
                (status == 401).then_some(())
            }
        },
    )
    .await;
    node.stop().await;
}

/// Outside development mode every request needs an API key. A test must stay on loopback,
/// so it turns development mode off with `development_mode = false`, which behaves as a
/// node with a public listener does.
#[tokio::test]
async fn outside_development_mode_every_request_needs_an_api_key() {
    let node = TestNode::start_with(|c| {
        c.development_mode = false;
        // Own PASSporTs carry an https x5u (plain http info is a development allowance).
        c.http.public_url = Some("https://sti.callproof.test".into());
    })
    .await;
    assert!(
        !node.node().state().dev_mode,
        "notes: {:?}",
        node.node().notes()
    );
    assert!(
        node.node()
            .state()
            .store
            .customer_by_name(server::dev::DEV_CUSTOMER)
            .await
            .unwrap()
            .is_none(),
        "no development customer outside development mode"
    );
    let required = atis_error(
        POL,
        "POL4001",
        "Error: Unauthorized: %1.",
        &["an API key is required (Authorization: Bearer <key>)"],
    );
    for (path, body) in [
        (SIGNING, signing_request("A", ORIG, &[DEST], now(), ORIGID)),
        (VERIFICATION, verification_request(ORIG, DEST, now(), "x")),
    ] {
        let (status, got) = node.post_json(path, &body, &[]).await;
        assert_eq!((status, got), (401, required.clone()), "{path}");
    }

    // The numbers the development certificate covers, owned by a real customer now.
    let key = "cp_test_production_0003";
    let verify_only = "cp_test_production_0004";
    customer_with_key(
        &node,
        "acme",
        ("12155550000", 10_000),
        key,
        vec![Scope::Sign, Scope::Verify],
    )
    .await;
    customer_with_key(
        &node,
        "acme",
        ("12155550000", 10_000),
        verify_only,
        vec![Scope::Verify],
    )
    .await;
    wait_for_key(&node, key).await;
    wait_for_key(&node, verify_only).await;

    let bearer = format!("Bearer {key}");
    let origid = fresh_origid();
    let identity = node
        .sign_with(ORIG, DEST, now(), &origid, &[("authorization", &bearer)])
        .await;
    let d = decode(&identity);
    assert_eq!(d.claims["attest"], "A");
    assert!(
        d.info.starts_with("https://sti.callproof.test/certs/"),
        "{}",
        d.info
    );
    let (status, body) = node
        .post_json(
            VERIFICATION,
            &verification_request(ORIG, DEST, now(), &identity),
            &[("x-api-key", key)],
        )
        .await;
    assert_eq!((status, body), (200, passed()));

    let (status, body) = node
        .post_json(
            SIGNING,
            &signing_request("A", ORIG, &[DEST], now(), ORIGID),
            &[("x-api-key", "cp_test_unknown")],
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        body["requestError"]["policyException"]["messageId"],
        "POL4001"
    );
    let (status, body) = node
        .post_json(
            SIGNING,
            &signing_request("A", ORIG, &[DEST], now(), ORIGID),
            &[("authorization", &format!("Bearer {verify_only}"))],
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["requestError"]["policyException"]["messageId"],
        "POL4003"
    );
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// An independent verifier

/// Fails the test, saying what to install, unless `secsipidx` runs.
fn require_secsipidx() {
    let probe = common::try_run(Command::new("secsipidx").arg("-version"));
    match probe {
        Ok(out) if out.stdout.contains("secsipidx") => {}
        other => panic!(
            "this test needs Debian's secsipidx (`apt-get install secsipidx`, or \
             `go install github.com/asipto/secsipidx@latest`); `secsipidx -version` gave {other:?}"
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secsipidx_verifies_what_the_rest_signer_produced() {
    require_secsipidx();
    let node = TestNode::start().await;
    let (status, headers, chain) = node.get("/certs/sp.pem").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/pem-certificate-chain");
    assert_eq!(headers["cache-control"], "public, max-age=300");
    assert_eq!(
        chain.matches("-----BEGIN CERTIFICATE-----").count(),
        2,
        "leaf and intermediate: {chain}"
    );
    let leaf = common::path_in(&node, "leaf.pem");
    write_file(&leaf, &first_pem(&chain), 0o644);

    let check = |identity: String| {
        let leaf = leaf.clone();
        tokio::task::spawn_blocking(move || {
            run(Command::new("secsipidx")
                .args(["-check", "-identity", &identity, "-expire", "60"])
                .arg("-fpubkey")
                .arg(&leaf))
        })
    };
    let identity = node.sign(ORIG, DEST, now(), ORIGID).await;
    let several = {
        let (status, body) = node
            .post_json(
                SIGNING,
                &signing_request(
                    "A",
                    "+12155551212",
                    &["12125551213", "12125551214"],
                    now(),
                    &fresh_origid(),
                ),
                &[],
            )
            .await;
        assert_eq!(status, 200);
        common::identity_of(&body)
    };
    for (what, identity) in [("design example", identity.clone()), ("two dest", several)] {
        let out = check(identity).await.unwrap();
        assert_eq!(
            out.stdout.trim(),
            "ok",
            "{what}: secsipidx refused the identity\nstdout: {}\nstderr: {}",
            out.stdout,
            out.stderr
        );
    }
    let out = check(alter_signature(&identity)).await.unwrap();
    assert!(
        out.stdout.contains("not-ok"),
        "a tampered identity passed secsipidx\nstdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Health and metrics

#[tokio::test]
async fn health_readiness_and_metrics() {
    let node = TestNode::start().await;
    let (status, _, body) = node.get("/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (status, _, body) = node.get("/readyz").await;
    assert_eq!((status, body.as_str()), (200, "ready\n"));

    let a = node.sign_fresh().await;
    let _ = node.sign(FOREIGN_ORIG, DEST, now(), &fresh_origid()).await;
    let (status, _) = node
        .post_raw(SIGNING, Some("application/json"), Vec::new())
        .await;
    assert_eq!(status, 400);
    assert_eq!(node.verify(ORIG, DEST, now(), &a).await.1, passed());
    let bad = alter_signature(&node.sign_fresh().await);
    assert_eq!(
        node.verify(ORIG, DEST, now(), &bad).await.1["verificationResponse"]["reasoncode"],
        438
    );
    let stale = node.sign(ORIG, DEST, now() - 3600, &fresh_origid()).await;
    assert_eq!(
        node.verify(ORIG, DEST, now(), &stale).await.1["verificationResponse"]["reasoncode"],
        403
    );

    let (status, headers, text) = node.get("/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    for line in [
        r#"callproof_requests_total{endpoint="signing",status="200"} 4"#,
        r#"callproof_requests_total{endpoint="signing",status="400"} 1"#,
        r#"callproof_requests_total{endpoint="verification",status="200"} 3"#,
        r#"callproof_verifications_total{verstat="TN-Validation-Passed"} 1"#,
        r#"callproof_verifications_total{verstat="TN-Validation-Failed"} 1"#,
        r#"callproof_verifications_total{verstat="No-TN-Validation"} 1"#,
        r#"callproof_verification_failures_total{code="438",error="signature_invalid"} 1"#,
        r#"callproof_verification_failures_total{code="403",error="iat_stale"} 1"#,
        r#"callproof_attestations_total{attest="A"} 3"#,
        r#"callproof_attestations_total{attest="B"} 1"#,
        // Two verifications reached the certificate: the first loaded it, the second hit.
        r#"callproof_certificate_cache_total{outcome="miss"} 1"#,
        r#"callproof_certificate_cache_total{outcome="hit"} 1"#,
        r#"callproof_certificate_cache_total{outcome="fetch_error"} 0"#,
        "# TYPE callproof_requests counter",
        "# TYPE callproof_verifications counter",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "/metrics lacks {line:?}:\n{text}"
        );
    }
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Certificates

/// DESIGN: a node's own certificate is served for x5u. The URL it signs must reach it, also
/// when it was started on port 0 (as every test here is).
#[tokio::test]
async fn the_signed_x5u_reaches_this_node_when_it_listens_on_port_0() {
    let node = TestNode::start().await;
    let (_, _, chain) = node.get("/certs/sp.pem").await;
    let info = decode(&node.sign_fresh().await).info;
    let expected = format!("{}/certs/{}.pem", node.base, fingerprint(&chain));
    assert_eq!(
        info, expected,
        "the x5u does not point at the bound address: public_url is derived from the \
         configured http.listen (port 0), not from the address actually bound"
    );
    let (status, headers, body) = get_url(&node.client, &info).await;
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "public, max-age=86400");
    assert_eq!(body, chain);
    node.stop().await;
}

struct Credentials {
    dir: tempfile::TempDir,
    chain: std::path::PathBuf,
    key: std::path::PathBuf,
    anchors: std::path::PathBuf,
}

/// A temp dir with `pki`'s chain and key (mode `key_mode`) and the roots of `roots`.
fn credentials(pki: &TestPki, key_mode: u32, roots: &[&TestPki]) -> Credentials {
    let dir = tempfile::tempdir().unwrap();
    let chain = dir.path().join("chain.pem");
    let key = dir.path().join("key.pem");
    let anchors = dir.path().join("anchors.pem");
    write_file(&chain, &pki.chain_pem(), 0o644);
    write_file(&key, &pki.leaf_key_pem, key_mode);
    let bundle: String = roots.iter().map(|p| p.root_pem.as_str()).collect();
    write_file(&anchors, &bundle, 0o644);
    Credentials {
        dir,
        chain,
        key,
        anchors,
    }
}

#[tokio::test]
async fn a_replaced_key_and_chain_are_used_without_a_restart() {
    let t = now();
    let first = TestPki::builder().at(t).build().unwrap();
    let second = TestPki::builder().at(t).build().unwrap();
    let files = credentials(&first, 0o600, &[&first, &second]);
    let port = free_port();
    let mut config = common::dev_config(&files.dir.path().join("data"));
    config.http.listen = SocketAddr::from(([127, 0, 0, 1], port));
    config.signing.certificate_chain = Some(files.chain.clone());
    config.signing.private_key = Some(files.key.clone());
    config.signing.x5u = Some(format!("http://127.0.0.1:{port}/certs/{{fingerprint}}.pem"));
    config.signing.reload_ms = 200;
    config.verification.trust_anchors = Some(files.anchors.clone());
    let (chain_path, key_path) = (files.chain.clone(), files.key.clone());
    let node = TestNode::start_in(files.dir, config).await;

    let first_chain = first.chain_pem();
    let first_x5u = format!(
        "http://127.0.0.1:{port}/certs/{}.pem",
        fingerprint(&first_chain)
    );
    let before = node.sign_fresh().await;
    assert_eq!(decode(&before).info, first_x5u);
    let (_, body) = node
        .verify(ORIG, DEST, now(), &node.sign_fresh().await)
        .await;
    assert_eq!(body, passed());
    let (status, _, served) = get_url(&node.client, &first_x5u).await;
    assert_eq!((status, served.as_str()), (200, first_chain.as_str()));

    // Chain first, then key, each replaced atomically.
    replace_file(&chain_path, &second.chain_pem(), 0o644);
    replace_file(&key_path, &second.leaf_key_pem, 0o600);

    let second_chain = second.chain_pem();
    let second_x5u = format!(
        "http://127.0.0.1:{port}/certs/{}.pem",
        fingerprint(&second_chain)
    );
    let (node_ref, old_x5u) = (&node, &first_x5u);
    let after = eventually(
        Duration::from_secs(15),
        "signing with the replaced certificate",
        || async move {
            let identity = node_ref.sign_fresh().await;
            (decode(&identity).info != *old_x5u).then_some(identity)
        },
    )
    .await;
    assert_eq!(decode(&after).info, second_x5u);
    let (_, body) = node.verify(ORIG, DEST, now(), &after).await;
    assert_eq!(body, passed(), "a PASSporT signed with the new key");
    let (_, body) = node.verify(ORIG, DEST, now(), &before).await;
    assert_eq!(body, passed(), "a PASSporT signed before the rotation");

    let current = node.url("/certs/sp.pem");
    for (url, chain) in [
        (second_x5u.as_str(), second_chain.as_str()),
        (first_x5u.as_str(), first_chain.as_str()),
        (current.as_str(), second_chain.as_str()),
    ] {
        let (status, _, served) = get_url(&node.client, url).await;
        assert_eq!((status, served.as_str()), (200, chain), "{url}");
    }
    node.stop().await;
}

#[tokio::test]
async fn a_private_key_readable_by_others_is_refused_at_start() {
    let t = now();
    let pki = TestPki::builder().at(t).build().unwrap();
    let files = credentials(&pki, 0o644, &[&pki]);
    let mut config = common::dev_config(&files.dir.path().join("data"));
    config.signing.certificate_chain = Some(files.chain.clone());
    config.signing.private_key = Some(files.key.clone());
    config.signing.x5u = Some("https://sti.example.net/{fingerprint}.pem".into());
    config.verification.trust_anchors = Some(files.anchors.clone());
    let started = Instant::now();
    let err = tokio::time::timeout(common::NODE_LIMIT, server::node::Node::start(config))
        .await
        .expect("start did not finish")
        .expect_err("a world-readable key was accepted");
    let text = err.to_string();
    assert!(
        text.contains("key.pem") && text.contains("mode 644") && text.contains("chmod 600"),
        "{text}"
    );
    assert!(started.elapsed() < common::NODE_LIMIT);
}
