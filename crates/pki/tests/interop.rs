//! Interoperability with an independent implementation: `interop_cryptography.py` issues an
//! STI PKI with pyca/cryptography (P-384 root, P-256 intermediate and leaves, a TNAuthList
//! whose DER it builds by hand from the RFC 8226 ASN.1, a CRL), and this test checks that
//! `pki` reads the same TNAuthList entries, encodes them to the same bytes, validates the
//! chain and honours the CRL.
//!
//! `python3` with the `cryptography` package is required: without them the test fails.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::path::Path;
use std::process::Command;

use passport::TelephoneNumber;
use passport::verify::Credential as _;
use pki::tn_auth_list::{Coverage, TnEntry};
use pki::{ChainError, Crl, TrustAnchors, parse_chain, validate};

#[derive(serde::Deserialize)]
struct Issued {
    now: i64,
    root_pem: String,
    chain_pem: String,
    revoked_chain_pem: String,
    revoked_serial_hex: String,
    crl_pem: String,
    tn_auth_list_der_hex: String,
    entries: Vec<Entry>,
}

#[derive(serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Entry {
    Spc { value: String },
    Range { start: String, count: u64 },
    One { value: String },
}

fn issue_with_python() -> Issued {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop_cryptography.py");
    let output = Command::new("python3").arg(&script).output().unwrap_or_else(|e| {
        panic!("the interop test needs python3 with the 'cryptography' package; running python3 failed: {e}")
    });
    assert!(
        output.status.success(),
        "{} failed ({}); the interop test needs python3 with the 'cryptography' package:\n{}",
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the script prints one JSON object")
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn tn(s: &str) -> TelephoneNumber {
    TelephoneNumber::from_canonical(s).unwrap()
}

#[test]
fn a_pyca_cryptography_pki_is_read_and_validated() {
    let issued = issue_with_python();
    let anchors = TrustAnchors::from_pem_bundle(issued.root_pem.as_bytes()).unwrap();
    let chain = parse_chain(issued.chain_pem.as_bytes()).unwrap();
    assert_eq!(chain.len(), 2);

    // The same entries as Python wrote, in order.
    let list = chain[0]
        .tn_auth_list()
        .expect("the leaf has a TNAuthList")
        .as_ref()
        .unwrap();
    assert!(list.quirks().is_empty());
    assert_eq!(list.entries().len(), issued.entries.len());
    for (ours, theirs) in list.entries().iter().zip(&issued.entries) {
        match (ours, theirs) {
            (TnEntry::Spc(spc), Entry::Spc { value }) => assert_eq!(spc.as_str(), value),
            (TnEntry::Range(range), Entry::Range { start, count }) => {
                assert_eq!(range.start().as_str(), start);
                assert_eq!(range.count(), *count);
            }
            (TnEntry::One(one), Entry::One { value }) => assert_eq!(one.as_str(), value),
            (ours, _) => panic!("entry mismatch: ours {ours:?}"),
        }
    }
    // Both encoders produce the same DER.
    assert_eq!(list.to_der(), hex_decode(&issued.tn_auth_list_der_hex));

    // The chain (P-384/SHA-384 root signature, P-256/SHA-256 leaf signature) validates.
    let credential = validate(&chain, &anchors, issued.now, &[]).unwrap();
    assert_eq!(credential.path_len(), 3);
    assert_eq!(credential.spc().unwrap().as_str(), "709J");
    assert_eq!(credential.covers(&tn("12155559999")), Coverage::Tn);
    assert!(matches!(
        credential.covers(&tn("12155551299")),
        Coverage::Range(_)
    ));
    assert!(matches!(
        credential.covers(&tn("12155551300")),
        Coverage::Spc(_)
    ));
    assert!(credential.authorize_orig(&tn("12155551300")).is_ok());

    // The CRL from pyca revokes the second leaf, and only it.
    let crl = Crl::from_pem(issued.crl_pem.as_bytes()).unwrap();
    assert_eq!(crl.revoked_count(), 1);
    assert!(validate(&chain, &anchors, issued.now, std::slice::from_ref(&crl)).is_ok());
    let revoked_chain = parse_chain(issued.revoked_chain_pem.as_bytes()).unwrap();
    assert!(validate(&revoked_chain, &anchors, issued.now, &[]).is_ok());
    let result = validate(&revoked_chain, &anchors, issued.now, &[crl]);
    assert!(
        matches!(&result, Err(ChainError::Revoked { serial, .. }) if *serial == issued.revoked_serial_hex),
        "{result:?}"
    );
}
