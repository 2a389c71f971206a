//! Rich Call Data against plain SHAKEN, measured in one run: the signing service signing a
//! call from a customer's own number (`sign_plain`) and from a brand's listed number with a
//! call reason (`sign_rcd`: brand policy, partner/reason/opt-out checks, the rcd claims with
//! the logo's digest in the SHAKEN PASSporT); the verification service verifying each
//! (`verify_plain`, `verify_rcd`: the rcd claims judged, the registered brand's name
//! compared, the logo checked against its rcdi digest, the logo cached). The ratios at the
//! end are rcd throughput relative to plain (target: 0.80 or more).
//!
//! Run: `cargo bench -p engine --bench brand`

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
use std::sync::Arc;

use criterion::Criterion;
use engine::brand::BrandCache;
use engine::inventory::InventoryCache;
use engine::replay::MemoryReplayCache;
use engine::rich_call::{LogoChecker, RcdOutcome};
use engine::signing::{SignRequest, SigningService};
use engine::verification::VerificationService;
use engine::verifier::{Verifier, VerifierConfig};
use engine::x5u::FetchOptions;
use passport::TelephoneNumber;
use passport::key::SigningKey;
use passport::rcd::{DigestAlg, integrity_digest};
use passport::sign::Signer;
use passport::verify::{CallContext, Policy};
use pki::testpki::{TEST_NOW, TestPki};
use pki::tn_auth_list::{TnEntry, TnRange};
use store::{BrandFields, BrandNumberKind, CallReason, NumberBlock, Store as _};

const X5U: &str = "https://cert.example.org/sp.pem";
const PUBLIC: &str = "https://callproof.example.org";

fn out_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("criterion")
}

fn tn(s: &str) -> TelephoneNumber {
    TelephoneNumber::parse(s).expect("tn")
}

fn main() {
    let mut c = Criterion::default()
        .output_directory(&out_dir())
        .configure_from_args();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    // A customer owning 12155550000..+10000 and a brand listed on 12155551000..+100 of it.
    let store = runtime
        .block_on(store::sqlite::SqliteStore::open_in_memory())
        .expect("store");
    let logo = vec![0x89u8; 8 * 1024];
    let customer = runtime.block_on(async {
        let c = store.create_customer("acme", None).await.unwrap();
        store
            .add_numbers(
                c.id,
                &[NumberBlock::new(tn("12155550000"), 10_000).unwrap()],
            )
            .await
            .unwrap();
        let fields = BrandFields {
            legal_name: "Acme Bank plc".into(),
            display_name: "Acme Bank".into(),
            call_reasons: vec![CallReason {
                code: "fraud-alert".into(),
                text: "Card fraud alert".into(),
                marketing: false,
            }],
            never_ask: vec![],
            callback: None,
        };
        let brand = store
            .create_brand("acme-bank", c.id, &fields, TEST_NOW)
            .await
            .unwrap();
        let digest = integrity_digest(DigestAlg::Sha256, &logo);
        store
            .set_brand_logo(brand.id, "image/png", &digest, &logo, TEST_NOW)
            .await
            .unwrap();
        store
            .add_brand_numbers(
                brand.id,
                BrandNumberKind::Listed,
                &[NumberBlock::new(tn("12155551000"), 100).unwrap()],
            )
            .await
            .unwrap();
        c
    });
    let inventory = runtime
        .block_on(InventoryCache::load(&store))
        .expect("inventory");
    let brands = Arc::new(
        runtime
            .block_on(BrandCache::load(&store, PUBLIC))
            .expect("brands"),
    );

    let range = TnRange::new(tn("12155550000"), 10_000).expect("range");
    let pki = TestPki::builder()
        .at(TEST_NOW)
        .tn_entries(vec![TnEntry::Range(range)])
        .build()
        .expect("pki");
    let signer =
        Signer::new(SigningKey::from_pem(&pki.leaf_key_pem).expect("key"), X5U).expect("signer");
    let signing = SigningService::new(signer, inventory, Arc::clone(&brands));
    let verifier = Verifier::new(VerifierConfig {
        policy: Policy::default(),
        anchors: pki.anchors().expect("anchors"),
        crls: Vec::new(),
        fetch: FetchOptions::default(),
        local_certificates: HashMap::from([(X5U.to_owned(), pki.chain_pem().into_bytes())]),
    })
    .expect("verifier");
    let logos = Arc::new(LogoChecker::new(FetchOptions::default()).expect("logos"));
    logos.put_local(
        &engine::brand::logo_url(PUBLIC, "acme-bank"),
        Arc::from(logo),
    );
    let verification = VerificationService::new(
        verifier,
        Arc::new(MemoryReplayCache::new(1_000_000)),
        false,
        120,
    )
    .with_rich_call(Arc::clone(&brands), logos);

    let dest = tn("12125551213");
    let request = |orig: &str, reason: Option<&str>| SignRequest {
        customer: Some(customer.clone()),
        orig: tn(orig),
        dest: vec![dest],
        iat: TEST_NOW,
        requested_attest: None,
        origid: None,
        reason: reason.map(str::to_owned),
    };
    let plain = signing.sign(request("12155552000", None)).expect("sign");
    let rcd = signing
        .sign(request("12155551000", Some("fraud-alert")))
        .expect("sign");
    assert!(rcd.brand.is_some());
    let call = |orig: &str| CallContext {
        from: tn(orig),
        to: vec![dest],
        now: TEST_NOW,
        request_time: None,
    };
    let (plain_call, rcd_call) = (call("12155552000"), call("12155551000"));
    // Warm the certificate cache; check both verdicts once.
    let v = runtime.block_on(verification.verify(&plain.identities, &plain_call));
    assert!(v.first_failure().is_none() && v.rcd == RcdOutcome::Absent);
    let v = runtime.block_on(verification.verify(&rcd.identities, &rcd_call));
    assert!(matches!(v.rcd, RcdOutcome::Shown(_)), "{:?}", v.rcd);

    let mut g = c.benchmark_group("brand");
    g.bench_function("sign_plain", |b| {
        b.iter(|| {
            signing
                .sign(black_box(request("12155552000", None)))
                .expect("sign")
        });
    });
    g.bench_function("sign_rcd", |b| {
        b.iter(|| {
            signing
                .sign(black_box(request("12155551000", Some("fraud-alert"))))
                .expect("sign")
        });
    });
    g.bench_function("verify_plain", |b| {
        b.iter(|| runtime.block_on(verification.verify(black_box(&plain.identities), &plain_call)));
    });
    g.bench_function("verify_rcd", |b| {
        b.iter(|| runtime.block_on(verification.verify(black_box(&rcd.identities), &rcd_call)));
    });
    g.finish();
    c.final_summary();
    report();
}

/// Reads criterion's medians back and prints the rcd/plain throughput ratios.
fn report() {
    let median = |name: &str| -> Option<f64> {
        let path = out_dir()
            .join("brand")
            .join(name)
            .join("new")
            .join("estimates.json");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
        v.pointer("/median/point_estimate")?.as_f64()
    };
    let (Some(sp), Some(sr), Some(vp), Some(vr)) = (
        median("sign_plain"),
        median("sign_rcd"),
        median("verify_plain"),
        median("verify_rcd"),
    ) else {
        eprintln!("ratios: not all four benchmarks ran (filter given?)");
        return;
    };
    eprintln!();
    eprintln!("Rich Call Data against plain SHAKEN (medians, one core):");
    for (what, plain, rcd) in [("sign", sp, sr), ("verify", vp, vr)] {
        eprintln!(
            "  {what:<7} plain {:>7.2} us ({:>6.0}/s)  rcd {:>7.2} us ({:>6.0}/s)  ratio {:.3} (target >= 0.80)",
            plain / 1e3,
            1e9 / plain,
            rcd / 1e3,
            1e9 / rcd,
            plain / rcd
        );
    }
}
