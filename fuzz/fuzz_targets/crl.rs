//! Certificate revocation lists: `Crl::from_der` and `Crl::from_pem` never panic; a parsed
//! CRL's DER parses again to the same CRL and every accessor works.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pki::Crl;

fn exercise(crl: &Crl) {
    match Crl::from_der(crl.der()) {
        Ok(again) => assert_eq!(again.der(), crl.der()),
        Err(e) => panic!("the DER of a parsed CRL does not parse again: {e}"),
    }
    let _ = format!("{crl:?}");
    let _ = (
        crl.issuer(),
        crl.issuer_der(),
        crl.this_update(),
        crl.next_update(),
    );
    let _ = (
        crl.revoked_count(),
        crl.authority_key_id(),
        crl.unhandled_critical_extensions(),
    );
    for serial in [&[][..], &[0], &[1], &[0, 0x80], &[0x7f, 0xff, 0xff, 0xff]] {
        let _ = crl.is_revoked(serial);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(crl) = Crl::from_der(data) {
        exercise(&crl);
    }
    if let Ok(crl) = Crl::from_pem(data) {
        exercise(&crl);
    }
});
