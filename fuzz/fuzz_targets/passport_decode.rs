//! Decoding and pre-certificate verification of PASSporTs: `jws::decode`,
//! `jws::decode_unverified_json` and `verify::check` never panic on any input, with a fixed
//! call context and the default policy.
//!
//! The first byte picks what the rest of the input is:
//! - `0`: a whole Identity header value (or anything else);
//! - `1`: the JSON payload (claims) of a PASSporT that is then signed properly, with the
//!   second byte choosing the ppt;
//! - `2`: the JSON protected header of a PASSporT with valid claims, signed properly;
//! - `3`: a bare compact JWS.
//!
//! In modes 1 and 2 the token carries a real signature by the fixture key, so whenever
//! `check` accepts it, `Unverified::verify` must accept it too and return exactly the header
//! and claims that were signed. In every mode a decoded token re-encodes (canonical header and
//! claims) to a token that decodes to the same values.
#![no_main]

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use libfuzzer_sys::fuzz_target;
use passport::claims::Claims;
use passport::jws::{self, Ppt, ProtectedHeader};
use passport::key::{SigningKey, VerifyingKey};
use passport::verify::{self, CallContext, Credential, Policy};
use passport::{CredentialFailure, TelephoneNumber};

const X5U: &str = "https://cert.example.org/passport.cer";
const NOW: i64 = 1_750_000_000;
/// The RFC 8225 Appendix A test vector, whose private key signs the seeds too.
const RFC8225_A: &str = include_str!("../../crates/passport/tests/vectors/rfc8225_appendix_a.json");

struct Fixture {
    key: SigningKey,
    credential: AnyNumber,
    call: CallContext,
    policy: Policy,
}

/// A credential that authorises every calling number with the fixture key.
struct AnyNumber(VerifyingKey);

impl Credential for AnyNumber {
    fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }
    fn authorize_orig(&self, _orig: &TelephoneNumber) -> Result<(), CredentialFailure> {
        Ok(())
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let vector: serde_json::Value = serde_json::from_str(RFC8225_A).expect("vector JSON");
        let pem = vector["private_key_pem"].as_str().expect("private_key_pem");
        let key = SigningKey::from_pem(pem).expect("RFC 8225 A.1 key");
        let credential = AnyNumber(key.verifying_key().expect("public key"));
        let tn = |s| TelephoneNumber::parse(s).expect("fixture number");
        let call = CallContext {
            from: tn("12155551212"),
            to: vec![tn("12155551213")],
            now: NOW,
            request_time: Some(NOW),
        };
        Fixture {
            key,
            credential,
            call,
            policy: Policy::default(),
        }
    })
}

fn ppt_from(selector: u8) -> Ppt {
    match selector % 3 {
        0 => Ppt::Shaken,
        1 => Ppt::Div,
        _ => Ppt::Rcd,
    }
}

/// Claims that pass every check of the fixture call, for any ppt.
const VALID_CLAIMS: &str = concat!(
    r#"{"attest":"A","dest":{"tn":["12155551213"]},"div":{"tn":"12155550000"},"iat":1750000000,"#,
    r#""orig":{"tn":"12155551212"},"origid":"123e4567-e89b-12d3-a456-426655440000","rcd":{"nam":"x"}}"#
);

/// `base64url(header).base64url(payload).base64url(signature)` with a real signature.
fn sign(fx: &Fixture, header: &[u8], payload: &[u8]) -> String {
    let mut token = B64URL.encode(header);
    token.push('.');
    B64URL.encode_string(payload, &mut token);
    let signature = fx.key.sign(token.as_bytes()).expect("signing");
    token.push('.');
    B64URL.encode_string(signature, &mut token);
    token
}

/// Decodes `token`; when it decodes, its canonical re-encoding decodes to equal values.
fn decode_round_trip(token: &str) {
    let _ = jws::decode_unverified_json(token);
    let Ok(decoded) = jws::decode(token) else {
        return;
    };
    assert!(token.starts_with(decoded.signing_input));
    let header_json = decoded.header.to_canonical_json();
    let header: ProtectedHeader = match serde_json::from_str(&header_json) {
        Ok(header) => header,
        Err(e) => panic!("canonical header {header_json:?} does not parse: {e}"),
    };
    assert_eq!(
        header, decoded.header,
        "header round trip through {header_json:?}"
    );
    let rebuilt = jws::reconstruct_full(
        &decoded.header,
        &decoded.claims,
        &B64URL.encode(decoded.signature),
    );
    match jws::decode(&rebuilt) {
        Ok(again) => {
            assert_eq!(again.header, decoded.header);
            assert_eq!(again.claims, decoded.claims);
            assert_eq!(again.signature, decoded.signature);
        }
        Err(e) => panic!("re-encoded token {rebuilt:?} does not decode: {e}"),
    }
}

/// Runs `check` on a header whose token `fx.key` signed over `header_json`/`payload`, and
/// requires `verify` to accept whatever `check` accepts.
fn check_signed(fx: &Fixture, ppt: Ppt, header_json: &[u8], payload: &[u8]) {
    let token = sign(fx, header_json, payload);
    decode_round_trip(&token);
    let identity = format!("{token};info=<{X5U}>;alg=ES256;ppt={}", ppt.as_str());
    let Ok(unverified) = verify::check(&identity, &fx.call, &fx.policy) else {
        return;
    };
    assert_eq!(unverified.x5u(), X5U);
    let claims = unverified.claims().clone();
    let verified = match unverified.verify(&fx.credential) {
        Ok(verified) => verified,
        Err(e) => panic!("a correctly signed PASSporT that passed check failed verify: {e}"),
    };
    assert_eq!(verified.ppt(), ppt);
    assert_eq!(verified.claims(), &claims);
    assert_eq!(
        Claims::from_json(payload).ok().as_ref(),
        Some(verified.claims())
    );
    let header: Option<ProtectedHeader> = serde_json::from_slice(header_json).ok();
    assert_eq!(header.as_ref(), Some(verified.header()));
    assert_eq!(verified.x5u(), X5U);
}

fuzz_target!(|data: &[u8]| {
    let fx = fixture();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            let Ok(identity) = std::str::from_utf8(rest) else {
                return;
            };
            if let Some(token) = identity.split(';').next() {
                decode_round_trip(token.trim());
            }
            if let Ok(unverified) = verify::check(identity, &fx.call, &fx.policy) {
                let _ = unverified.x5u();
                let _ = unverified.verify(&fx.credential);
            }
        }
        1 => {
            let Some((&selector, payload)) = rest.split_first() else {
                return;
            };
            let ppt = ppt_from(selector);
            let header = ProtectedHeader::passport(ppt, X5U).to_canonical_json();
            check_signed(fx, ppt, header.as_bytes(), payload);
        }
        2 => {
            let Some((&selector, header)) = rest.split_first() else {
                return;
            };
            check_signed(fx, ppt_from(selector), header, VALID_CLAIMS.as_bytes());
        }
        _ => {
            if let Ok(token) = std::str::from_utf8(rest) {
                decode_round_trip(token);
            }
        }
    }
});
