//! The TNAuthList extension (RFC 8226): `from_der` never panics; a decoded list re-encodes
//! (`to_der`) to DER that decodes to the same entries with no quirk and re-encodes to itself;
//! and an input decoded without a quirk is already that canonical DER.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passport::TelephoneNumber;
use pki::TnAuthList;

fuzz_target!(|data: &[u8]| {
    let Ok(list) = TnAuthList::from_der(data) else {
        return;
    };
    let der = list.to_der();
    let again = match TnAuthList::from_der(&der) {
        Ok(again) => again,
        Err(e) => panic!("to_der output {der:02x?} does not decode: {e}"),
    };
    assert_eq!(
        again.entries(),
        list.entries(),
        "entries changed through {der:02x?}"
    );
    assert!(
        again.quirks().is_empty(),
        "to_der wrote a quirk: {:?}",
        again.quirks()
    );
    assert_eq!(again.to_der(), der, "to_der is not a fixed point");
    if list.quirks().is_empty() {
        assert_eq!(
            der, data,
            "a conforming encoding must re-encode to the same bytes"
        );
    }
    let _ = list.to_string();
    let _ = (list.first_spc(), list.has_spc());
    for n in [
        "12155551212",
        "1",
        "00000000000000000000",
        "99999999999999999999",
        "1#",
    ] {
        if let Ok(tn) = TelephoneNumber::from_canonical(n) {
            let _ = list.covers(&tn).is_covered();
        }
    }
    for entry in list.entries() {
        if let pki::TnEntry::Range(range) = entry {
            assert!(range.contains(&range.start()) && range.contains(&range.last()));
            let _ = range.to_string();
        }
    }
});
