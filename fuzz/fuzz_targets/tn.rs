//! Telephone-number canonicalisation: `parse`, `from_uri` and `from_canonical` never panic,
//! and every number they return is canonical: `from_canonical(as_str)` gives it back, and so
//! do `parse` and the `tel:`/`sip:` URIs built from it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passport::tn::{MAX_TN_DIGITS, TelephoneNumber};

fn check_canonical(tn: TelephoneNumber, from: &str) {
    let s = tn.as_str();
    assert!(
        !s.is_empty() && s.len() <= MAX_TN_DIGITS,
        "{from:?} gave {s:?}"
    );
    assert!(
        s.bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#'),
        "{from:?} gave {s:?}"
    );
    assert_eq!(
        TelephoneNumber::from_canonical(s),
        Ok(tn),
        "from_canonical of {s:?} (from {from:?})"
    );
    assert_eq!(
        TelephoneNumber::parse(s),
        Ok(tn),
        "parse of {s:?} (from {from:?})"
    );
    assert_eq!(s.parse::<TelephoneNumber>(), Ok(tn));
    assert_eq!(tn.to_string(), s);
    assert_eq!(tn.is_all_digits(), s.bytes().all(|b| b.is_ascii_digit()));
    for uri in [
        format!("tel:+{s}"),
        format!("sip:+{s}@example.com;user=phone"),
        format!("\"x\" <sips:{s}@192.0.2.1:5061>;tag=1"),
    ] {
        assert_eq!(TelephoneNumber::from_uri(&uri), Ok(tn), "{uri:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(tn) = TelephoneNumber::parse(text) {
        check_canonical(tn, text);
    }
    if let Ok(tn) = TelephoneNumber::from_uri(text) {
        check_canonical(tn, text);
    }
    if let Ok(tn) = TelephoneNumber::from_canonical(text) {
        assert_eq!(
            tn.as_str(),
            text,
            "from_canonical must not change its input"
        );
        check_canonical(tn, text);
    }
});
