//! Test vectors from the RFCs, kept as data files under `tests/vectors/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use passport::claims::{Attestation, Claims};
use passport::identity::{IdentityHeader, Token};
use passport::jws::{self, Ppt, ProtectedHeader};
use passport::key::VerifyingKey;
use passport::{TelephoneNumber, TokenPart, VerifyError};
use serde_json::Value;

fn vectors(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn spki(pem_text: &str) -> VerifyingKey {
    VerifyingKey::from_spki_der(pem::parse(pem_text).unwrap().contents()).unwrap()
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer}"))
}

/// RFC 8225 section 7.1 (the token RFC 8224 section 4 carries in its example INVITE): its
/// ES256 signature verifies, over the bytes as received, with the RFC's public key
/// (Appendix A.2), and its header and payload decode to what the RFC prints.
#[test]
fn rfc8225_token_verifies_with_the_rfc_public_key() {
    let v = vectors("rfc8225_appendix_a.json");
    let key = spki(text(&v, "/public_key_pem"));
    let token = text(&v, "/section_7_1_compact_form_example/token");
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = B64.decode(sig).unwrap();
    assert!(key.verify(input.as_bytes(), &sig));
    let mut flipped = input.as_bytes().to_vec();
    flipped[5] ^= 1;
    assert!(!key.verify(&flipped, &sig));

    let (header, payload) = jws::decode_unverified_json(token).unwrap();
    let want_header: Value =
        serde_json::from_str(text(&v, "/section_7_1_compact_form_example/header_json")).unwrap();
    let want_payload: Value =
        serde_json::from_str(text(&v, "/section_7_1_compact_form_example/payload_json")).unwrap();
    assert_eq!(header, want_header);
    assert_eq!(payload, want_payload);

    // Its iat is a string (RFC 8225 erratum 5985): a strict verifier refuses the claims.
    assert!(matches!(
        jws::decode(token),
        Err(VerifyError::TokenMalformed {
            part: TokenPart::Payload,
            ..
        })
    ));
}

/// The RFC 8224 section 4 Identity header parses, keeps its info URL, and reproduces itself.
#[test]
fn rfc8224_identity_header_parses_and_round_trips() {
    let v = vectors("rfc8224_examples.json");
    let value = text(&v, "/examples/0/header_value");
    let h = IdentityHeader::parse(value).unwrap();
    assert_eq!(h.info, Some("https://biloxi.example.org/biloxi.cert"));
    assert_eq!(h.alg, None);
    assert!(matches!(h.token, Token::Full(t) if t == text(&v, "/examples/0/token")));
    assert_eq!(h.to_string(), value);
}

/// RFC 8225 Appendix A: the protected header and the claims, written canonically by
/// callproof, are byte for byte the base64url strings the RFC prints.
#[test]
fn rfc8225_appendix_a_header_and_claims_encode_as_printed() {
    let v = vectors("rfc8225_appendix_a.json");
    let header: ProtectedHeader = serde_json::from_str(text(&v, "/header_json")).unwrap();
    assert_eq!(
        B64.encode(header.to_canonical_json()),
        text(&v, "/header_b64")
    );
    let claims = Claims::from_json(text(&v, "/payload_json").as_bytes()).unwrap();
    assert_eq!(
        B64.encode(claims.to_canonical_json()),
        text(&v, "/payload_b64")
    );
}

/// RFC 8588 section 6: the SHAKEN example claims serialise byte for byte as the RFC prints
/// them (whitespace removed; iat a number, as erratum 6656 corrects), and so does the
/// protected header.
#[test]
fn rfc8588_example_serialises_as_printed() {
    let v = vectors("rfc8588_examples.json");
    let e = v.pointer("/examples/0").unwrap();
    let claims = Claims::shaken(
        1_443_208_345,
        TelephoneNumber::parse("12155550121").unwrap(),
        vec![TelephoneNumber::parse("12155550131").unwrap()],
        Attestation::A,
        "123e4567-e89b-12d3-a456-426655440000",
    );
    assert_eq!(
        claims.to_canonical_json(),
        text(e, "/payload_canonical_per_erratum_6656")
    );
    assert_eq!(
        B64.encode(claims.to_canonical_json()),
        text(e, "/payload_canonical_per_erratum_6656_b64")
    );
    let header = ProtectedHeader::passport(Ppt::Shaken, "https://cert.example.org/passport.cer");
    assert_eq!(
        header.to_canonical_json(),
        text(e, "/protected_header_canonical")
    );
    assert_eq!(
        B64.encode(header.to_canonical_json()),
        text(e, "/protected_header_canonical_b64")
    );
    // And the RFC's own key order parses to the same header.
    let printed: ProtectedHeader =
        serde_json::from_str(text(e, "/protected_header_printed")).unwrap();
    assert_eq!(printed, header);
}
