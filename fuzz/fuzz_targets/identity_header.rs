//! The SIP Identity header parser: never panics, and whatever it accepts prints (Display) to
//! a value that parses back to the same header, and printing that again changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passport::identity::IdentityHeader;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(header) = IdentityHeader::parse(text) else {
        return;
    };
    let printed = header.to_string();
    assert_eq!(printed, header.to_header_value());
    let again = match IdentityHeader::parse(&printed) {
        Ok(again) => again,
        Err(e) => panic!("{text:?} parsed, but its Display {printed:?} does not: {e}"),
    };
    assert_eq!(
        again, header,
        "round trip through {printed:?} changed the header"
    );
    assert_eq!(again.to_string(), printed, "Display is not a fixed point");
    // The token is kept as received.
    assert!(text.contains(header.token.as_str().as_ref()));
});
