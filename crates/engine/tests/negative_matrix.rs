//! The negative matrix: every way verification can fail, each asserting its exact ATIS
//! reasoncode and verstat, through the whole pipeline (passport checks, certificate from
//! x5u, chain validation with pki, TNAuthList, signature).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use engine::verifier::{Verifier, VerifierConfig};
use engine::x5u::FetchOptions;
use passport::key::SigningKey;
use passport::verify::{CallContext, Policy};
use passport::{TelephoneNumber, Verstat};
use pki::testpki::{KeyKind, TEST_NOW, TestPki};
use pki::tn_auth_list::{TnAuthList, TnEntry, TnRange};
use serde_json::{Value, json};

const NOW: i64 = TEST_NOW;
const X5U: &str = "https://cert.example.org/sp.pem";
const ORIG: &str = "12155551212";
const DEST: &str = "12125551213";
const DAY: i64 = 86_400;

use Verstat::{Failed, NoValidation as NoTn, Passed};

fn tn(s: &str) -> TelephoneNumber {
    TelephoneNumber::parse(s).unwrap()
}

fn range_pki() -> pki::testpki::TestPkiBuilder {
    let range = TnRange::new(tn("12155550000"), 10_000).unwrap();
    TestPki::builder()
        .at(NOW)
        .tn_entries(vec![TnEntry::Range(range)])
}

/// A PKI, its signing key, and the verifier that trusts it and knows its chain at X5U.
struct Env {
    key: SigningKey,
    verifier: Verifier,
}

fn env_with(
    pki: &TestPki,
    chain_pem: String,
    crls: Vec<pki::Crl>,
    anchors: pki::TrustAnchors,
) -> Env {
    let key =
        SigningKey::from_pem(&pki.leaf_key_pem).unwrap_or_else(|_| SigningKey::generate().unwrap());
    let config = VerifierConfig {
        policy: Policy::default(),
        anchors,
        crls,
        fetch: FetchOptions::default(),
        local_certificates: HashMap::from([(X5U.to_owned(), chain_pem.into_bytes())]),
    };
    Env {
        key,
        verifier: Verifier::new(config).unwrap(),
    }
}

fn env(pki: &TestPki) -> Env {
    env_with(pki, pki.chain_pem(), Vec::new(), pki.anchors().unwrap())
}

fn header() -> Value {
    json!({"alg": "ES256", "ppt": "shaken", "typ": "passport", "x5u": X5U})
}

fn claims() -> Value {
    json!({
        "attest": "A",
        "dest": {"tn": [DEST]},
        "iat": NOW,
        "orig": {"tn": ORIG},
        "origid": "123e4567-e89b-12d3-a456-426655440000"
    })
}

/// Signs exactly the JSON given (any shape, even invalid) with `key`.
fn token_raw(key: &SigningKey, header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", B64.encode(header), B64.encode(payload));
    let sig = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", B64.encode(sig))
}

fn token(key: &SigningKey, header: &Value, claims: &Value) -> String {
    token_raw(
        key,
        header.to_string().as_bytes(),
        claims.to_string().as_bytes(),
    )
}

fn identity(token: &str) -> String {
    format!("{token};info=<{X5U}>;alg=ES256;ppt=shaken")
}

fn call() -> CallContext {
    CallContext {
        from: tn(ORIG),
        to: vec![tn(DEST)],
        now: NOW,
        request_time: None,
    }
}

struct Case {
    name: &'static str,
    identity: String,
    call: CallContext,
    env: Env,
    code: Option<u16>,
    verstat: Verstat,
}

fn case(name: &'static str, env: Env, identity: String, code: u16, verstat: Verstat) -> Case {
    Case {
        name,
        identity,
        call: call(),
        env,
        code: Some(code),
        verstat,
    }
}

#[allow(clippy::too_many_lines)]
fn cases() -> Vec<Case> {
    let pki = range_pki().build().unwrap();
    let e = || env(&pki);
    let k = || SigningKey::from_pem(&pki.leaf_key_pem).unwrap();
    let with_claims = |f: &dyn Fn(&mut Value)| {
        let mut c = claims();
        f(&mut c);
        identity(&token(&k(), &header(), &c))
    };
    let with_header = |f: &dyn Fn(&mut Value)| {
        let mut h = header();
        f(&mut h);
        identity(&token(&k(), &h, &claims()))
    };
    let good = identity(&token(&k(), &header(), &claims()));
    let good_token = good.split(';').next().unwrap().to_owned();
    let mut v = Vec::new();

    // Positive controls: the same pipeline passes a correct PASSporT, also with extra
    // Identity parameters and a quoted ppt.
    v.push(Case {
        code: None,
        ..case("valid PASSporT", e(), good.clone(), 0, Passed)
    });
    v.push(Case {
        code: None,
        ..case(
            "extra unknown Identity parameters are ignored",
            e(),
            format!("{good};foo=bar;baz"),
            0,
            Passed,
        )
    });
    v.push(Case {
        code: None,
        ..case(
            "quoted ppt and spacing",
            e(),
            format!("{good_token} ; info=<{X5U}> ; alg=ES256 ; ppt=\"shaken\""),
            0,
            Passed,
        )
    });

    // 403 Stale Date.
    v.push(case(
        "iat too old",
        e(),
        with_claims(&|c| c["iat"] = json!(NOW - 61)),
        403,
        NoTn,
    ));
    v.push(case(
        "iat too far in the future",
        e(),
        with_claims(&|c| c["iat"] = json!(NOW + 61)),
        403,
        NoTn,
    ));
    let mut stale_request = case("request time not fresh", e(), good.clone(), 403, NoTn);
    stale_request.call.request_time = Some(NOW - 3600);
    v.push(stale_request);

    // 438 Invalid Identity Header, No-TN-Validation.
    let sig = good_token.rsplit('.').next().unwrap();
    v.push(case(
        "compact form",
        e(),
        format!("..{sig};info=<{X5U}>;alg=ES256;ppt=shaken"),
        438,
        NoTn,
    ));
    v.push(case(
        "ppt parameter not shaken",
        e(),
        format!("{good_token};info=<{X5U}>;alg=ES256;ppt=foo"),
        438,
        NoTn,
    ));
    v.push(case(
        "ppt parameter differs from header",
        e(),
        format!("{good_token};info=<{X5U}>;ppt=div"),
        438,
        NoTn,
    ));
    v.push(case(
        "attest missing",
        e(),
        with_claims(&|c| drop(c.as_object_mut().unwrap().remove("attest"))),
        438,
        NoTn,
    ));
    v.push(case(
        "origid missing",
        e(),
        with_claims(&|c| drop(c.as_object_mut().unwrap().remove("origid"))),
        438,
        NoTn,
    ));
    v.push(case(
        "orig missing",
        e(),
        with_claims(&|c| drop(c.as_object_mut().unwrap().remove("orig"))),
        438,
        NoTn,
    ));
    v.push(case(
        "dest missing",
        e(),
        with_claims(&|c| drop(c.as_object_mut().unwrap().remove("dest"))),
        438,
        NoTn,
    ));
    v.push(case(
        "iat missing",
        e(),
        with_claims(&|c| drop(c.as_object_mut().unwrap().remove("iat"))),
        438,
        NoTn,
    ));
    v.push(case(
        "attest not A/B/C",
        e(),
        with_claims(&|c| c["attest"] = json!("D")),
        438,
        NoTn,
    ));
    v.push(case(
        "iat not a number",
        e(),
        with_claims(&|c| c["iat"] = json!(NOW.to_string())),
        438,
        NoTn,
    ));
    v.push(case(
        "orig differs from From",
        e(),
        with_claims(&|c| c["orig"] = json!({"tn": "12155551299"})),
        438,
        NoTn,
    ));
    v.push(case(
        "dest differs from To",
        e(),
        with_claims(&|c| c["dest"] = json!({"tn": ["12125550000"]})),
        438,
        NoTn,
    ));
    v.push(case(
        "non-JSON payload",
        e(),
        identity(&token_raw(
            &k(),
            header().to_string().as_bytes(),
            b"not json at all",
        )),
        438,
        NoTn,
    ));
    v.push(case(
        "claims not an object",
        e(),
        identity(&token_raw(
            &k(),
            header().to_string().as_bytes(),
            b"[1,2,3]",
        )),
        438,
        NoTn,
    ));
    v.push(case(
        "garbage token",
        e(),
        format!("garbage;info=<{X5U}>;ppt=shaken"),
        438,
        NoTn,
    ));
    v.push(case(
        "token of random base64url",
        e(),
        identity("AAAA.BBBB.CCCC"),
        438,
        NoTn,
    ));
    v.push(case("empty Identity", e(), String::new(), 438, NoTn));
    v.push(case(
        "signature not 64 bytes",
        e(),
        identity(&format!(
            "{}.{}",
            good_token.rsplit_once('.').unwrap().0,
            B64.encode([1u8; 70])
        )),
        438,
        NoTn,
    ));
    v.push(case(
        "oversized header",
        e(),
        format!("{good};x={}", "a".repeat(9000)),
        438,
        NoTn,
    ));
    v.push(case(
        "duplicate info parameter",
        e(),
        format!("{good};info=<{X5U}>"),
        438,
        NoTn,
    ));
    v.push(case(
        "info not in angle brackets",
        e(),
        format!("{good_token};info={X5U};ppt=shaken"),
        438,
        NoTn,
    ));

    // 436 Bad Identity Info.
    v.push(case(
        "info missing",
        e(),
        format!("{good_token};alg=ES256;ppt=shaken"),
        436,
        NoTn,
    ));
    v.push(case(
        "info not https",
        e(),
        format!("{good_token};info=<ftp://x.example/c.pem>;ppt=shaken"),
        436,
        NoTn,
    ));
    v.push(case(
        "x5u differs from info",
        e(),
        format!("{good_token};info=<https://other.example.org/c.pem>;ppt=shaken"),
        436,
        NoTn,
    ));
    v.push(case(
        "x5u missing",
        e(),
        with_header(&|h| drop(h.as_object_mut().unwrap().remove("x5u"))),
        436,
        NoTn,
    ));
    v.push(case(
        "alg missing",
        e(),
        with_header(&|h| drop(h.as_object_mut().unwrap().remove("alg"))),
        436,
        NoTn,
    ));
    v.push(case(
        "typ missing",
        e(),
        with_header(&|h| drop(h.as_object_mut().unwrap().remove("typ"))),
        436,
        NoTn,
    ));
    v.push(case(
        "ppt missing",
        e(),
        with_header(&|h| drop(h.as_object_mut().unwrap().remove("ppt"))),
        436,
        NoTn,
    ));
    {
        // The SSRF guard refuses a loopback x5u: nothing is fetched.
        let url = "https://127.0.0.1:9/sp.pem";
        let mut h = header();
        h["x5u"] = json!(url);
        let t = token(&k(), &h, &claims());
        v.push(case(
            "x5u cannot be fetched",
            e(),
            format!("{t};info=<{url}>;ppt=shaken"),
            436,
            NoTn,
        ));
    }

    // 437 Unsupported Credential, No-TN-Validation.
    v.push(case(
        "typ not passport",
        e(),
        with_header(&|h| h["typ"] = json!("JWT")),
        437,
        NoTn,
    ));
    v.push(case(
        "alg none",
        e(),
        with_header(&|h| h["alg"] = json!("none")),
        437,
        NoTn,
    ));
    v.push(case(
        "alg HS256",
        e(),
        with_header(&|h| h["alg"] = json!("HS256")),
        437,
        NoTn,
    ));
    v.push(case(
        "alg parameter RS256",
        e(),
        format!("{good_token};info=<{X5U}>;alg=RS256;ppt=shaken"),
        437,
        NoTn,
    ));

    // 437 Unsupported Credential, TN-Validation-Failed: the certificate.
    let cert_case = |name, builder: pki::testpki::TestPkiBuilder| {
        let p = builder.build().unwrap();
        let env = env(&p);
        let id = identity(&token(&env.key, &header(), &claims()));
        case(name, env, id, 437, Failed)
    };
    v.push(cert_case(
        "certificate expired",
        range_pki().leaf_validity(NOW - 30 * DAY, NOW - DAY),
    ));
    v.push(cert_case(
        "certificate not yet valid",
        range_pki().leaf_validity(NOW + DAY, NOW + 30 * DAY),
    ));
    v.push(cert_case(
        "certificate without TNAuthList",
        range_pki().no_tn_auth_list(),
    ));
    v.push(cert_case(
        "certificate with an RSA key",
        range_pki().leaf_key(KeyKind::Rsa2048),
    ));
    v.push(cert_case(
        "certificate with a P-384 key",
        range_pki().leaf_key(KeyKind::P384),
    ));
    v.push(cert_case(
        "intermediate is not a CA",
        range_pki().intermediate_not_ca(),
    ));
    v.push(cert_case(
        "intermediate expired",
        range_pki().intermediate_validity(NOW - 30 * DAY, NOW - DAY),
    ));
    {
        let other = range_pki().build().unwrap();
        let env = env_with(&pki, pki.chain_pem(), Vec::new(), other.anchors().unwrap());
        let id = identity(&token(&env.key, &header(), &claims()));
        v.push(case("untrusted root", env, id, 437, Failed));
    }
    {
        let p = TestPki::builder()
            .at(NOW)
            .tn_entries(vec![TnEntry::Range(
                TnRange::new(tn("12155550000"), 100).unwrap(),
            )])
            .build()
            .unwrap();
        let env = env(&p);
        let id = identity(&token(&env.key, &header(), &claims()));
        v.push(case("orig outside the TNAuthList", env, id, 437, Failed));
    }
    {
        let p = range_pki()
            .leaf_serial(&[0x42, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07])
            .build()
            .unwrap();
        let crl = p
            .intermediate_crl(
                &[&[0x42, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07]],
                NOW - DAY,
                NOW + DAY,
            )
            .unwrap();
        let crl = pki::Crl::from_pem(crl.as_bytes()).unwrap();
        let env = env_with(&p, p.chain_pem(), vec![crl], p.anchors().unwrap());
        let id = identity(&token(&env.key, &header(), &claims()));
        v.push(case("certificate revoked by CRL", env, id, 437, Failed));
    }
    {
        // A delegate certificate claiming numbers outside its issuer's scope (RFC 9060).
        let parent = TnAuthList::new(vec![TnEntry::Range(
            TnRange::new(tn("12155550000"), 100).unwrap(),
        )])
        .unwrap();
        let child = TnAuthList::new(vec![TnEntry::One(tn(ORIG))]).unwrap();
        let d = pki.issue_delegate(&parent, &child).unwrap();
        let mut env = env_with(&pki, d.chain_pem(), Vec::new(), pki.anchors().unwrap());
        env.key = SigningKey::from_pem(&d.leaf_key_pem).unwrap();
        let id = identity(&token(&env.key, &header(), &claims()));
        v.push(case(
            "delegate certificate outside its issuer's scope",
            env,
            id,
            437,
            Failed,
        ));
    }
    {
        let env = env_with(
            &pki,
            "not a certificate".into(),
            Vec::new(),
            pki.anchors().unwrap(),
        );
        v.push(case("x5u serves garbage", env, good.clone(), 437, Failed));
    }

    // 438 Invalid Identity Header, TN-Validation-Failed: the signature.
    {
        let other_key = SigningKey::generate().unwrap();
        v.push(case(
            "signed by another key",
            e(),
            identity(&token(&other_key, &header(), &claims())),
            438,
            Failed,
        ));
        let (input, sig) = good_token.rsplit_once('.').unwrap();
        let (h64, _) = input.split_once('.').unwrap();
        let mut c = claims();
        c["attest"] = json!("B");
        let tampered = format!("{h64}.{}.{sig}", B64.encode(c.to_string()));
        v.push(case(
            "claims changed after signing",
            e(),
            identity(&tampered),
            438,
            Failed,
        ));
        let mut bad_sig = B64.decode(sig).unwrap();
        bad_sig[10] ^= 1;
        v.push(case(
            "signature bit flipped",
            e(),
            identity(&format!("{input}.{}", B64.encode(bad_sig))),
            438,
            Failed,
        ));
    }
    v
}

#[tokio::test]
async fn every_failure_gets_its_exact_reasoncode_and_verstat() {
    let cases = cases();
    let failures = cases.iter().filter(|c| c.code.is_some()).count();
    assert!(
        failures >= 30,
        "the matrix must hold at least 30 failure cases, has {failures}"
    );
    let mut wrong = Vec::new();
    for c in &cases {
        let outcome = c.env.verifier.verify(&c.identity, &c.call).await;
        let (code, verstat, desc) = match &outcome.result {
            Ok(_) => (None, Passed, String::new()),
            Err(e) => {
                let d = e.disposition();
                (Some(d.code), d.verstat, e.to_string())
            }
        };
        eprintln!(
            "{:<50} {:>4} {:<22} {desc}",
            c.name,
            code.map_or("-".into(), |c| c.to_string()),
            verstat.as_str()
        );
        if code != c.code || verstat != c.verstat {
            wrong.push(format!(
                "{}: got {code:?} {verstat:?} ({desc}), want {:?} {:?}",
                c.name, c.code, c.verstat
            ));
        }
    }
    assert!(wrong.is_empty(), "mismatches:\n{}", wrong.join("\n"));
}

#[tokio::test]
async fn no_identity_at_all_is_428() {
    let pki = range_pki().build().unwrap();
    let outcomes = env(&pki).verifier.verify_all(&[], &call()).await;
    assert_eq!(outcomes.len(), 1);
    let err = outcomes[0].result.as_ref().unwrap_err();
    assert_eq!(
        (err.disposition().code, err.disposition().verstat),
        (428, NoTn)
    );
}

#[tokio::test]
async fn more_identities_than_a_verifier_examines_is_438_before_any_fetch() {
    let pki = range_pki().build().unwrap();
    let env = env(&pki);
    let one = identity(&token(&env.key, &header(), &claims()));
    let nine = vec![one; engine::verifier::MAX_IDENTITIES + 1];
    let outcomes = env.verifier.verify_all(&nine, &call()).await;
    assert_eq!(outcomes.len(), 1);
    let err = outcomes[0].result.as_ref().unwrap_err();
    assert_eq!(
        (err.disposition().code, err.disposition().verstat),
        (438, NoTn),
        "{err}"
    );
    assert_eq!(
        env.verifier
            .stats()
            .misses
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}
