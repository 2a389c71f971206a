//! Signing and verification throughput against the ECDSA ceiling, measured in one run.
//!
//! `raw_sign` and `raw_verify` are the bare aws-lc-rs ES256 operations on a PASSporT-sized
//! message; `passport_sign` builds claims, writes canonical JSON, base64url-encodes, signs
//! and formats the Identity header; `passport_verify` is the verifier's hot path: Identity
//! parse, JWS decode, header and claim checks, certificate cache lookup (the chain already
//! validated), TNAuthList coverage and the signature. The ratios at the end are throughput
//! relative to the raw operation (raw time / pipeline time).
//!
//! Run: `cargo bench -p engine --bench es256`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "benchmark set-up: a failed step aborts the run"
)]

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    ParsedPublicKey,
};
use criterion::Criterion;
use engine::verifier::{Verifier, VerifierConfig};
use engine::x5u::FetchOptions;
use passport::TelephoneNumber;
use passport::claims::{Attestation, Claims};
use passport::key::SigningKey;
use passport::sign::Signer;
use passport::verify::{CallContext, Policy};
use pki::testpki::{TEST_NOW, TestPki};
use pki::tn_auth_list::{TnEntry, TnRange};

const X5U: &str = "https://cert.example.org/sp.pem";
const ORIGID: &str = "123e4567-e89b-12d3-a456-426655440000";

fn out_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("criterion")
}

fn main() {
    let mut c = Criterion::default()
        .output_directory(&out_dir())
        .configure_from_args();

    let orig = TelephoneNumber::parse("12155551212").expect("tn");
    let dest = TelephoneNumber::parse("12125551213").expect("tn");
    let range =
        TnRange::new(TelephoneNumber::parse("12155550000").expect("tn"), 10_000).expect("range");
    let pki = TestPki::builder()
        .at(TEST_NOW)
        .tn_entries(vec![TnEntry::Range(range)])
        .build()
        .expect("pki");
    let signer =
        Signer::new(SigningKey::from_pem(&pki.leaf_key_pem).expect("key"), X5U).expect("signer");
    let verifier = Verifier::new(VerifierConfig {
        policy: Policy::default(),
        anchors: pki.anchors().expect("anchors"),
        crls: Vec::new(),
        fetch: FetchOptions::default(),
        local_certificates: HashMap::from([(X5U.to_owned(), pki.chain_pem().into_bytes())]),
    })
    .expect("verifier");
    let call = CallContext {
        from: orig,
        to: vec![dest],
        now: TEST_NOW,
        request_time: None,
    };
    let claims = Claims::shaken(TEST_NOW, orig, vec![dest], Attestation::A, ORIGID);
    let identity = signer.sign_identity(&claims).expect("sign");
    // Warm the certificate cache (fetch from the local map, validate the chain).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let warm = runtime.block_on(verifier.verify(&identity, &call));
    assert!(warm.result.is_ok(), "{:?}", warm.result);

    // The raw operations, on the same signing input and key material.
    let token = identity.split(';').next().expect("token");
    let (signing_input, _) = token.rsplit_once('.').expect("jws");
    let raw_pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("key");
    let rng = SystemRandom::new();
    let raw_sig = raw_pair.sign(&rng, signing_input.as_bytes()).expect("sign");
    let raw_key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, raw_pair.public_key().as_ref())
        .expect("key");

    let mut g = c.benchmark_group("es256");
    g.bench_function("raw_sign", |b| {
        b.iter(|| {
            raw_pair
                .sign(&rng, black_box(signing_input.as_bytes()))
                .expect("sign")
        });
    });
    g.bench_function("passport_sign", |b| {
        b.iter(|| {
            let claims = Claims::shaken(TEST_NOW, orig, vec![dest], Attestation::A, ORIGID);
            signer.sign_identity(black_box(&claims)).expect("sign")
        });
    });
    g.bench_function("raw_verify", |b| {
        b.iter(|| {
            raw_key
                .verify_sig(
                    black_box(signing_input.as_bytes()),
                    black_box(raw_sig.as_ref()),
                )
                .expect("ok")
        });
    });
    g.bench_function("passport_verify", |b| {
        b.iter(|| {
            let outcome = verifier
                .verify_cached(black_box(&identity), &call)
                .expect("cached");
            assert!(outcome.result.is_ok());
        });
    });
    g.finish();
    c.final_summary();
    report();
}

/// Reads criterion's median estimates back and prints throughput ratios to the ceiling.
fn report() {
    let median = |name: &str| -> Option<f64> {
        let path = out_dir()
            .join("es256")
            .join(name)
            .join("new")
            .join("estimates.json");
        let text = std::fs::read_to_string(path).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v.pointer("/median/point_estimate")?.as_f64()
    };
    let (Some(rs), Some(ps), Some(rv), Some(pv)) = (
        median("raw_sign"),
        median("passport_sign"),
        median("raw_verify"),
        median("passport_verify"),
    ) else {
        eprintln!("ratios: not all four benchmarks ran (filter given?)");
        return;
    };
    eprintln!();
    eprintln!("ES256 ceiling (medians, one core):");
    eprintln!("  raw sign     {:>8.2} us  {:>9.0} /s", rs / 1e3, 1e9 / rs);
    eprintln!("  raw verify   {:>8.2} us  {:>9.0} /s", rv / 1e3, 1e9 / rv);
    eprintln!("PASSporT pipelines:");
    eprintln!(
        "  sign         {:>8.2} us  {:>9.0} /s  ratio to raw sign   {:.3} (target >= 0.70)",
        ps / 1e3,
        1e9 / ps,
        rs / ps
    );
    eprintln!(
        "  verify       {:>8.2} us  {:>9.0} /s  ratio to raw verify {:.3} (target >= 0.85)",
        pv / 1e3,
        1e9 / pv,
        rv / pv
    );
}
