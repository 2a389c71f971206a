//! Regression tests for bugs found by the fuzz targets (`fuzz/`) and the property tests
//! (`tests/properties.rs`), each with the minimal input that showed it.
//!
//! Each test is named after what it guards; one whose bug is still open fails until the fix.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers: a failed unwrap or panic is a failed test"
)]

use passport::claims::{Attestation, Claims};
use passport::identity::IdentityHeader;
use passport::jws::ProtectedHeader;
use passport::key::SigningKey;
use passport::sign::Signer;
use passport::verify::{self, CallContext, Policy};
use passport::{TelephoneNumber, VerifyError};

/// Parses `text`, prints it, and requires the printed form to parse to the same header.
fn assert_display_round_trips(text: &str) {
    let header = IdentityHeader::parse(text).unwrap();
    let printed = header.to_string();
    let again = IdentityHeader::parse(&printed)
        .unwrap_or_else(|e| panic!("{text:?} parsed but its Display {printed:?} did not: {e}"));
    assert_eq!(again, header, "{text:?} -> {printed:?}");
}

/// Found by the `identity_header` fuzz target (minimised input `m.Q.9;ppt`): a `ppt` or `alg`
/// parameter without a value is accepted, stored as `Some("")`, and printed as `;ppt=`, which
/// the parser refuses ("empty parameter value").
#[test]
fn identity_header_display_of_a_valueless_ppt_or_alg_parses_again() {
    assert_display_round_trips("m.Q.9;ppt");
    assert_display_round_trips("m.Q.9;alg");
}

/// Found by the `identity_header` fuzz target: a quoted `ppt` or `alg` value that is not a
/// token is printed unquoted (`;ppt=a b`), so the printed header no longer parses. Extension
/// parameters are re-quoted by `Display`; `alg` and `ppt` are not.
#[test]
fn identity_header_display_of_a_quoted_ppt_or_alg_parses_again() {
    assert_display_round_trips("m.Q.9;ppt=\"a b\"");
    assert_display_round_trips("m.Q.9;alg=\"\"");
    assert_display_round_trips("m.Q.9;ppt=\"<x\"");
}

/// Found by the `identity_header` fuzz target (as "duplicate parameter" and "round trip
/// changed the header" crashes): because `ppt` is printed unquoted, a quoted `ppt` holding
/// `;name=value` turns into new parameters when the header is printed, here an `info` URL
/// that the received header did not have.
#[test]
fn identity_header_display_does_not_turn_a_quoted_ppt_into_parameters() {
    let text = "a.b.c;ppt=\"shaken;info=<https://evil.example/x.pem>\"";
    let header = IdentityHeader::parse(text).unwrap();
    assert_eq!(header.info, None);
    let printed = header.to_string();
    let again = IdentityHeader::parse(&printed).unwrap();
    assert_eq!(again.info, None, "{printed:?} gained an info parameter");
    assert_eq!(again, header);
}

/// Found by `properties::claims_round_trip_through_canonical_json`: without serde_json's
/// `float_roundtrip` feature a float may be read one ULP away from the value whose shortest
/// form was written, so a float in an unknown claim (or in `rcd`) changed between signer and
/// verifier and canonical JSON was not a fixed point. Fixed by enabling `float_roundtrip` in
/// the workspace dependencies.
#[test]
fn canonical_claims_with_a_float_member_are_a_fixed_point() {
    let json = r#"{"dest":{"uri":[""]},"iat":0,"orig":{"tn":"0"},"x":-8.964057484589693e-160}"#;
    let claims = Claims::from_json(json.as_bytes()).unwrap();
    assert_eq!(claims.to_canonical_json(), json);
}

/// Found by the `passport_decode` fuzz target (built before `float_roundtrip` was enabled):
/// the same float bug in the protected header's extra members, where a header read, written
/// canonically and read again was not the header that was read.
#[test]
fn canonical_protected_header_with_a_float_member_round_trips() {
    let header: ProtectedHeader = serde_json::from_str(concat!(
        r#"{"kid":{"a":[666666666666660000000000000000000000000000000000000000000000000"#,
        r#"00000000354702353]}}"#
    ))
    .unwrap();
    let json = header.to_canonical_json();
    let again: ProtectedHeader = serde_json::from_str(&json).unwrap();
    assert_eq!(again, header, "through {json}");
}

/// Found while writing the `passport_decode` fuzz target: `check_claims` computes
/// `call.now - claims.iat` unchecked, which overflows (a panic in debug builds, a wrapped
/// value and the wrong error in release) for an `iat` near `i64::MIN`. The claim is signed
/// input, but any signer can put it there.
#[test]
fn check_with_an_iat_near_i64_min_is_stale_not_a_panic() {
    let tn = |s| TelephoneNumber::parse(s).unwrap();
    let signer = Signer::new(
        SigningKey::generate().unwrap(),
        "https://cert.example.org/sp.pem",
    )
    .unwrap();
    let claims = Claims::shaken(
        i64::MIN,
        tn("12155551212"),
        vec![tn("12155551213")],
        Attestation::A,
        "id",
    );
    let identity = signer.sign_identity(&claims).unwrap();
    let call = CallContext {
        from: tn("12155551212"),
        to: vec![tn("12155551213")],
        now: 1_750_000_000,
        request_time: None,
    };
    let result = std::panic::catch_unwind(|| {
        verify::check(&identity, &call, &Policy::default()).map(|_| ())
    });
    assert!(
        matches!(result, Ok(Err(VerifyError::IatStale { .. }))),
        "expected IatStale, got {result:?}"
    );
}

/// Found while writing the `tn` property tests: `from_uri` finds the name-addr's `<` with a
/// plain search, so a quoted display name containing `<` (legal in RFC 3261's quoted-string)
/// hides the URI.
#[test]
fn from_uri_skips_a_quoted_display_name_containing_angle_brackets() {
    let tn = TelephoneNumber::from_uri("\"Sales <East>\" <sip:+12155551212@example.com>;tag=1");
    assert_eq!(tn.map(|t| t.to_string()), Ok("12155551212".to_owned()));
}
