//! X.509 certificates and x5u chain files: `Certificate::from_der` and `parse_chain` never
//! panic on any bytes, every accessor of a parsed certificate works, a parsed certificate
//! survives DER and PEM round trips, and chain validation of a parsed chain (its last
//! certificate taken as the trust anchor, at a fixed time) never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passport::TelephoneNumber;
use passport::verify::Credential as _;
use pki::{Certificate, TrustAnchors, parse_chain, validate};

/// The time the seed certificates (pki's test PKI) are valid at.
const NOW: i64 = 1_750_000_000;

fn exercise(cert: &Certificate) {
    let again = match Certificate::from_der(cert.der()) {
        Ok(again) => again,
        Err(e) => panic!("the DER of a parsed certificate does not parse again: {e}"),
    };
    assert_eq!(&again, cert);
    match parse_chain(cert.to_pem().as_bytes()) {
        Ok(chain) => assert_eq!(chain.as_slice(), std::slice::from_ref(cert)),
        Err(e) => panic!("the PEM of a parsed certificate does not parse again: {e}"),
    }
    let _ = format!("{cert:?}");
    let _ = (
        cert.serial_hex(),
        cert.subject(),
        cert.issuer(),
        cert.common_name(),
    );
    let _ = (
        cert.is_self_issued(),
        cert.is_ca(),
        cert.not_before(),
        cert.not_after(),
    );
    let _ = (
        cert.key_usage().map(|k| (k.bits(), k.digital_signature())),
        cert.basic_constraints(),
    );
    let _ = (
        cert.subject_key_id(),
        cert.authority_key_id(),
        cert.crl_urls(),
        cert.sha256(),
    );
    let _ = (
        cert.unhandled_critical_extensions(),
        cert.extension_problems(),
        cert.tbs_der(),
    );
    let _ = (
        cert.public_key().algorithm(),
        cert.signature_algorithm(),
        cert.signature(),
    );
    if let Some(Ok(list)) = cert.tn_auth_list() {
        let _ = list.to_string();
        let _ = list.covers(&number());
    }
}

fn number() -> TelephoneNumber {
    TelephoneNumber::from_canonical("12155551212").unwrap_or_else(|_| unreachable!())
}

fn validate_chain(chain: &[Certificate]) {
    let Some((anchor, path)) = chain.split_last() else {
        return;
    };
    if path.is_empty() {
        return;
    }
    let Ok(anchors) = TrustAnchors::from_certificates(vec![anchor.clone()]) else {
        return;
    };
    if let Ok(credential) = validate(path, &anchors, NOW, &[]) {
        let _ = (
            credential.subject(),
            credential.spc(),
            credential.covers(&number()),
        );
        let _ = credential.authorize_orig(&number());
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = Certificate::from_der(data) {
        exercise(&cert);
    }
    if let Ok(chain) = parse_chain(data) {
        assert!(!chain.is_empty());
        chain.iter().for_each(exercise);
        validate_chain(&chain);
    }
});
