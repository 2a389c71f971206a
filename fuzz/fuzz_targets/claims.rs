//! PASSporT claims: `Claims::from_json` never panics; whatever it accepts has a canonical JSON
//! form that parses back to equal claims, is a fixed point, and is exactly what serde_json
//! writes for the same document (sorted keys, no whitespace, minimal escapes). The `rcdi`
//! digests it accepts go through `rcd::check_integrity` without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passport::claims::Claims;
use passport::rcd::check_integrity;

fuzz_target!(|data: &[u8]| {
    let Ok(claims) = Claims::from_json(data) else {
        return;
    };
    let canonical = claims.to_canonical_json();
    let again = match Claims::from_json(canonical.as_bytes()) {
        Ok(again) => again,
        Err(e) => panic!("canonical form {canonical:?} does not parse: {e}"),
    };
    assert_eq!(again, claims, "round trip through {canonical:?}");
    assert_eq!(
        again.to_canonical_json(),
        canonical,
        "canonical JSON is not a fixed point"
    );
    let mut appended = String::from("prefix");
    claims.write_canonical(&mut appended);
    assert_eq!(appended.strip_prefix("prefix"), Some(canonical.as_str()));

    // serde_json's own compact writer sorts keys (a BTreeMap) and escapes minimally.
    let value: serde_json::Value = match serde_json::from_str(&canonical) {
        Ok(value) => value,
        Err(e) => panic!("canonical form {canonical:?} is not JSON: {e}"),
    };
    let reference = serde_json::to_string(&value).unwrap_or_default();
    assert_eq!(
        canonical, reference,
        "canonical JSON differs from the sorted compact form"
    );

    if let Some(rcdi) = &claims.rcdi {
        for digest in rcdi.values() {
            let _ = check_integrity(digest, data);
        }
    }
});
