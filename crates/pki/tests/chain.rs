//! Chain validation of test-PKI certificates: the valid path, and each rule of `pki::chain`
//! broken on purpose.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use passport::key::SigningKey;
use passport::verify::Credential as _;
use passport::{CredentialFailure, CredentialFailureKind, TelephoneNumber};
use pki::testpki::{KeyKind, TEST_NOW, TestPki};
use pki::tn_auth_list::{Coverage, ServiceProviderCode};
use pki::{
    Certificate, ChainError, Crl, DelegationError, KeyAlgorithm, TnAuthList, TnEntry, TnRange,
    TrustAnchors, TrustError, ValidatedCredential, parse_chain, validate,
};

const DAY: i64 = 86_400;

fn tn(s: &str) -> TelephoneNumber {
    TelephoneNumber::from_canonical(s).unwrap()
}

fn range(start: &str, count: u64) -> TnEntry {
    TnEntry::Range(TnRange::new(tn(start), count).unwrap())
}

fn list(entries: Vec<TnEntry>) -> TnAuthList {
    TnAuthList::new(entries).unwrap()
}

fn check(pki: &TestPki) -> Result<ValidatedCredential, ChainError> {
    validate(
        &pki.chain().unwrap(),
        &pki.anchors().unwrap(),
        pki.now(),
        &[],
    )
}

fn kind(result: &Result<ValidatedCredential, ChainError>) -> CredentialFailureKind {
    CredentialFailure::from(result.as_ref().unwrap_err()).kind
}

#[test]
fn a_valid_chain_yields_the_leaf_key_and_its_spc() {
    let pki = TestPki::builder().build().unwrap();
    let credential = check(&pki).unwrap();
    assert_eq!(
        credential.spc().map(ServiceProviderCode::as_str),
        Some("709J")
    );
    assert!(
        credential.subject().contains("SHAKEN 709J"),
        "{}",
        credential.subject()
    );
    assert_eq!(credential.path_len(), 3);
    assert_eq!(credential.not_after(), pki.leaf().unwrap().not_after());

    // The key is the leaf's: a signature by the leaf key verifies, another key's does not.
    let key = SigningKey::from_pem(&pki.leaf_key_pem).unwrap();
    let sig = key.sign(b"header.payload").unwrap();
    assert!(credential.verifying_key().verify(b"header.payload", &sig));
    let other = SigningKey::generate()
        .unwrap()
        .sign(b"header.payload")
        .unwrap();
    assert!(!credential.verifying_key().verify(b"header.payload", &other));

    // An SPC authorises any calling number.
    for orig in ["12155551212", "442071234567", "33123456789"] {
        assert!(credential.authorize_orig(&tn(orig)).is_ok(), "{orig}");
    }

    // The fingerprint identifies the path.
    assert_eq!(check(&pki).unwrap().fingerprint(), credential.fingerprint());
    let other_pki = TestPki::builder().build().unwrap();
    assert_ne!(
        check(&other_pki).unwrap().fingerprint(),
        credential.fingerprint()
    );
}

#[test]
fn intermediates_may_come_in_any_order_as_pem_or_der() {
    let pki = TestPki::builder().build().unwrap();
    let stranger = TestPki::builder()
        .root_name("another root")
        .build()
        .unwrap();
    let anchors = pki.anchors().unwrap();

    // Leaf first, then an unrelated CA, the root itself and the right intermediate.
    let messy = format!(
        "served by x5u\r\n{}\r\n{}junk between blocks\n{}{}",
        pki.leaf_pem.replace('\n', "\r\n"),
        stranger.intermediate_pem,
        pki.root_pem,
        pki.intermediate_pem,
    );
    let chain = parse_chain(messy.as_bytes()).unwrap();
    assert_eq!(chain.len(), 4);
    assert!(validate(&chain, &anchors, pki.now(), &[]).is_ok());

    // DER, one certificate per file, as some x5u servers do.
    let leaf_der = pki.leaf().unwrap().der().to_vec();
    let intermediate_der = pki.intermediate().unwrap().der().to_vec();
    let leaf = parse_chain(&leaf_der).unwrap();
    assert_eq!(leaf.len(), 1);
    let mut chain = leaf;
    chain.extend(parse_chain(&intermediate_der).unwrap());
    assert!(validate(&chain, &anchors, pki.now(), &[]).is_ok());

    // Without the intermediate, the leaf's issuer is unknown.
    let alone = parse_chain(&leaf_der).unwrap();
    assert!(matches!(
        validate(&alone, &anchors, pki.now(), &[]),
        Err(ChainError::UnknownIssuer { .. })
    ));
    // DER with trailing bytes is refused.
    let mut trailing = leaf_der.clone();
    trailing.push(0);
    assert!(parse_chain(&trailing).is_err());
}

#[test]
fn validity_periods_are_checked_on_every_certificate() {
    let expired_leaf = TestPki::builder()
        .leaf_validity(TEST_NOW - 10 * DAY, TEST_NOW - DAY)
        .build()
        .unwrap();
    let result = check(&expired_leaf);
    assert!(
        matches!(&result, Err(ChainError::Expired { subject, not_after, at })
            if subject.contains("SHAKEN 709J") && *not_after == TEST_NOW - DAY && *at == TEST_NOW),
        "{result:?}"
    );
    assert_eq!(kind(&result), CredentialFailureKind::Expired);

    let future_leaf = TestPki::builder()
        .leaf_validity(TEST_NOW + DAY, TEST_NOW + 9 * DAY)
        .build()
        .unwrap();
    let result = check(&future_leaf);
    assert!(
        matches!(result, Err(ChainError::NotYetValid { not_before, .. }) if not_before == TEST_NOW + DAY)
    );
    assert_eq!(
        kind(&check(&future_leaf)),
        CredentialFailureKind::NotYetValid
    );

    let expired_intermediate = TestPki::builder()
        .intermediate_validity(TEST_NOW - 10 * DAY, TEST_NOW - DAY)
        .build()
        .unwrap();
    assert!(matches!(
        check(&expired_intermediate),
        Err(ChainError::Expired { subject, .. }) if subject.contains("SHAKEN CA")
    ));

    let expired_root = TestPki::builder()
        .root_validity(TEST_NOW - 10 * DAY, TEST_NOW - DAY)
        .build()
        .unwrap();
    assert!(matches!(
        check(&expired_root),
        Err(ChainError::Expired { subject, .. }) if subject.contains("root")
    ));

    // notAfter itself is still valid (RFC 5280), one second later is not.
    let pki = TestPki::builder().build().unwrap();
    let chain = pki.chain().unwrap();
    let anchors = pki.anchors().unwrap();
    let end = chain[0].not_after();
    assert!(validate(&chain, &anchors, end, &[]).is_ok());
    assert!(matches!(
        validate(&chain, &anchors, end + 1, &[]),
        Err(ChainError::Expired { .. })
    ));
    assert!(matches!(
        validate(&chain, &anchors, chain[0].not_before() - 1, &[]),
        Err(ChainError::NotYetValid { .. })
    ));
}

#[test]
fn a_chain_to_another_root_is_untrusted() {
    let pki = TestPki::builder().root_name("root A").build().unwrap();
    let other = TestPki::builder().root_name("root B").build().unwrap();
    let result = validate(
        &pki.chain().unwrap(),
        &other.anchors().unwrap(),
        TEST_NOW,
        &[],
    );
    assert!(
        matches!(&result, Err(ChainError::UnknownIssuer { subject, issuer })
            if subject.contains("SHAKEN CA") && issuer.contains("root A")),
        "{result:?}"
    );
    assert_eq!(kind(&result), CredentialFailureKind::Untrusted);

    // A look-alike root: same name, other key (its key identifier does not match the AKI).
    let lookalike = TestPki::builder().root_name("root A").build().unwrap();
    let result = validate(
        &pki.chain().unwrap(),
        &lookalike.anchors().unwrap(),
        TEST_NOW,
        &[],
    );
    assert!(
        matches!(&result, Err(ChainError::UnknownIssuer { subject, .. }) if subject.contains("SHAKEN CA"))
    );
    assert_eq!(kind(&result), CredentialFailureKind::Untrusted);

    // Trusting both roots works.
    let mut roots = pki.root_pem.clone();
    roots.push_str(&other.root_pem);
    let anchors = TrustAnchors::from_pem_bundle(roots.as_bytes()).unwrap();
    assert_eq!(anchors.len(), 2);
    assert!(validate(&pki.chain().unwrap(), &anchors, TEST_NOW, &[]).is_ok());
}

#[test]
fn a_leaf_without_tn_auth_list_is_refused() {
    let pki = TestPki::builder().no_tn_auth_list().build().unwrap();
    let result = check(&pki);
    assert!(
        matches!(result, Err(ChainError::NoTnAuthList { .. })),
        "{result:?}"
    );
    assert_eq!(kind(&check(&pki)), CredentialFailureKind::NoTnAuthList);
}

#[test]
fn leaf_keys_other_than_p256_are_refused() {
    let rsa = TestPki::builder()
        .leaf_key(KeyKind::Rsa2048)
        .build()
        .unwrap();
    let result = check(&rsa);
    assert!(
        matches!(
            &result,
            Err(ChainError::UnsupportedLeafKey {
                key: KeyAlgorithm::Rsa { bits: 2048 },
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(kind(&result), CredentialFailureKind::UnsupportedKey);

    let p384 = TestPki::builder().leaf_key(KeyKind::P384).build().unwrap();
    let result = check(&p384);
    assert!(matches!(
        &result,
        Err(ChainError::UnsupportedLeafKey {
            key: KeyAlgorithm::EcP384,
            ..
        })
    ));
    assert_eq!(kind(&result), CredentialFailureKind::UnsupportedKey);
}

#[test]
fn p384_and_rsa_certificate_authorities_are_verified() {
    let p384 = TestPki::builder()
        .root_key(KeyKind::P384)
        .intermediate_key(KeyKind::P384)
        .build()
        .unwrap();
    let chain = p384.chain().unwrap();
    assert_eq!(
        chain[0].signature_algorithm(),
        &pki::SignatureAlgorithm::EcdsaSha384
    );
    assert!(check(&p384).is_ok(), "{:?}", check(&p384));

    let rsa = TestPki::builder()
        .intermediate_key(KeyKind::Rsa2048)
        .build()
        .unwrap();
    assert_eq!(
        rsa.chain().unwrap()[0].signature_algorithm(),
        &pki::SignatureAlgorithm::RsaPkcs1Sha256
    );
    assert!(check(&rsa).is_ok(), "{:?}", check(&rsa));
}

#[test]
fn an_intermediate_that_is_not_a_ca_cannot_issue() {
    let pki = TestPki::builder().intermediate_not_ca().build().unwrap();
    let result = check(&pki);
    assert!(
        matches!(&result, Err(ChainError::NotCa { subject }) if subject.contains("SHAKEN CA")),
        "{result:?}"
    );
    assert_eq!(kind(&result), CredentialFailureKind::Profile);
}

#[test]
fn a_ca_certificate_is_not_a_leaf() {
    let pki = TestPki::builder().build().unwrap();
    let result = validate(
        &[pki.intermediate().unwrap()],
        &pki.anchors().unwrap(),
        TEST_NOW,
        &[],
    );
    assert!(
        matches!(result, Err(ChainError::LeafIsCa { .. })),
        "{result:?}"
    );
}

/// Flips one bit of the DER at `pos` (counted from the end when negative).
fn flip(der: &[u8], pos: isize) -> Vec<u8> {
    let mut out = der.to_vec();
    let i = if pos < 0 {
        out.len() - pos.unsigned_abs()
    } else {
        pos.unsigned_abs()
    };
    out[i] ^= 0x01;
    out
}

#[test]
fn a_tampered_certificate_fails_its_signature() {
    let pki = TestPki::builder().build().unwrap();
    let anchors = pki.anchors().unwrap();
    let leaf = pki.leaf().unwrap();
    let intermediate = pki.intermediate().unwrap();

    // The last byte of the signature (part of s).
    let bad_sig = Certificate::from_der(&flip(leaf.der(), -1)).unwrap();
    let result = validate(&[bad_sig, intermediate.clone()], &anchors, TEST_NOW, &[]);
    assert!(
        matches!(&result, Err(ChainError::BadSignature { subject, .. }) if subject.contains("709J")),
        "{result:?}"
    );
    assert_eq!(kind(&result), CredentialFailureKind::Untrusted);

    // A byte of the signed part: the serial number's last byte.
    let serial = leaf.serial();
    let at = leaf
        .der()
        .windows(serial.len())
        .position(|w| w == serial)
        .unwrap()
        + serial.len()
        - 1;
    let bad_tbs = Certificate::from_der(&flip(leaf.der(), isize::try_from(at).unwrap())).unwrap();
    assert_ne!(bad_tbs.serial(), leaf.serial());
    assert!(matches!(
        validate(&[bad_tbs, intermediate.clone()], &anchors, TEST_NOW, &[]),
        Err(ChainError::BadSignature { .. })
    ));

    // A tampered intermediate.
    let bad_ca = Certificate::from_der(&flip(intermediate.der(), -1)).unwrap();
    assert!(matches!(
        validate(&[leaf, bad_ca], &anchors, TEST_NOW, &[]),
        Err(ChainError::BadSignature { subject, .. }) if subject.contains("SHAKEN CA")
    ));
}

#[test]
fn crls_revoke_leaves_and_intermediates() {
    let pki = TestPki::builder()
        .leaf_serial(&[0x42, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07])
        .build()
        .unwrap();
    let chain = pki.chain().unwrap();
    let anchors = pki.anchors().unwrap();
    assert_eq!(chain[0].serial_hex(), "4201020304050607");

    let crl_pem = pki
        .intermediate_crl(&[chain[0].serial()], TEST_NOW - 3600, TEST_NOW + DAY)
        .unwrap();
    let crl = Crl::from_pem(crl_pem.as_bytes()).unwrap();
    assert_eq!(crl.revoked_count(), 1);
    assert!(crl.is_revoked(chain[0].serial()));
    let result = validate(&chain, &anchors, TEST_NOW, std::slice::from_ref(&crl));
    assert!(
        matches!(&result, Err(ChainError::Revoked { serial, .. }) if serial == "4201020304050607"),
        "{result:?}"
    );
    assert_eq!(kind(&result), CredentialFailureKind::Revoked);
    // The same CRL in DER.
    let der_crl = Crl::from_der(crl.der()).unwrap();
    assert!(matches!(
        validate(&chain, &anchors, TEST_NOW, &[der_crl]),
        Err(ChainError::Revoked { .. })
    ));

    // A CRL that lists other serials lets the chain through.
    let clean = Crl::from_pem(
        pki.intermediate_crl(&[&[0x01, 0x02]], TEST_NOW - 3600, TEST_NOW + DAY)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    assert!(validate(&chain, &anchors, TEST_NOW, std::slice::from_ref(&clean)).is_ok());

    // A stale CRL is not trusted to say "not revoked".
    let stale = Crl::from_pem(
        pki.intermediate_crl(&[&[0x01]], TEST_NOW - 2 * DAY, TEST_NOW - DAY)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    assert!(matches!(
        validate(&chain, &anchors, TEST_NOW, &[stale]),
        Err(ChainError::CrlExpired { next_update: Some(n), .. }) if n == TEST_NOW - DAY
    ));
    let future = Crl::from_pem(
        pki.intermediate_crl(&[&[0x01]], TEST_NOW + DAY, TEST_NOW + 2 * DAY)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    assert!(matches!(
        validate(&chain, &anchors, TEST_NOW, &[future]),
        Err(ChainError::CrlNotYetValid { .. })
    ));

    // A CRL of another key under the same issuer name is not this issuer's CRL: ignored.
    let lookalike = TestPki::builder().build().unwrap();
    let foreign = Crl::from_pem(
        lookalike
            .intermediate_crl(&[chain[0].serial()], TEST_NOW - 3600, TEST_NOW + DAY)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    assert!(validate(&chain, &anchors, TEST_NOW, &[foreign]).is_ok());
    // A tampered CRL of this issuer is refused, not ignored.
    let tampered = Crl::from_der(&flip(clean.der(), -1)).unwrap();
    let result = validate(&chain, &anchors, TEST_NOW, &[tampered]);
    assert!(
        matches!(&result, Err(ChainError::CrlBadSignature { .. })),
        "{result:?}"
    );
    assert_eq!(kind(&result), CredentialFailureKind::Untrusted);

    // The root revokes the intermediate.
    let intermediate_serial = chain[1].serial().to_vec();
    let root_crl = Crl::from_pem(
        pki.root_crl(&[&intermediate_serial], TEST_NOW - 3600, TEST_NOW + DAY)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    assert!(matches!(
        validate(&chain, &anchors, TEST_NOW, &[clean, root_crl]),
        Err(ChainError::Revoked { subject, .. }) if subject.contains("SHAKEN CA")
    ));
}

#[test]
fn tn_and_range_lists_cover_exactly_their_numbers() {
    let pki = TestPki::builder()
        .leaf_name("SHAKEN numbers")
        .tn_entries(vec![
            range("12155551200", 100),
            TnEntry::One(tn("12155559999")),
        ])
        .build()
        .unwrap();
    let credential = check(&pki).unwrap();
    assert_eq!(credential.spc(), None);
    assert!(matches!(
        credential.covers(&tn("12155551250")),
        Coverage::Range(_)
    ));
    assert_eq!(credential.covers(&tn("12155559999")), Coverage::Tn);
    assert!(credential.authorize_orig(&tn("12155551299")).is_ok());
    for outside in ["12155551300", "12155551199", "121555512500", "19995551250"] {
        let failure = credential.authorize_orig(&tn(outside)).unwrap_err();
        assert_eq!(
            failure.kind,
            CredentialFailureKind::TnNotAuthorized,
            "{outside}"
        );
        assert!(failure.detail.contains(outside), "{}", failure.detail);
    }
}

#[test]
fn delegate_certificates_must_stay_within_their_issuers_scope() {
    let pki = TestPki::builder()
        .intermediate_path_len(None)
        .build()
        .unwrap();
    let anchors = pki.anchors().unwrap();
    let parent = list(vec![range("12155551200", 100)]);

    let inside = pki
        .issue_delegate(&parent, &list(vec![range("12155551210", 10)]))
        .unwrap();
    let chain = parse_chain(inside.chain_pem().as_bytes()).unwrap();
    let credential = validate(&chain, &anchors, TEST_NOW, &[]).unwrap();
    assert_eq!(credential.path_len(), 4);
    assert!(credential.authorize_orig(&tn("12155551215")).is_ok());
    assert_eq!(
        credential
            .authorize_orig(&tn("12155551220"))
            .unwrap_err()
            .kind,
        CredentialFailureKind::TnNotAuthorized
    );
    let key = SigningKey::from_pem(&inside.leaf_key_pem).unwrap();
    assert!(
        credential
            .verifying_key()
            .verify(b"m", &key.sign(b"m").unwrap())
    );

    let outside = pki
        .issue_delegate(&parent, &list(vec![range("12155551290", 20)]))
        .unwrap();
    let result = validate(
        &parse_chain(outside.chain_pem().as_bytes()).unwrap(),
        &anchors,
        TEST_NOW,
        &[],
    );
    assert!(
        matches!(
            &result,
            Err(ChainError::Delegation {
                source: DelegationError::RangeOutOfScope { .. },
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(kind(&result), CredentialFailureKind::Profile);

    let other_spc = pki
        .issue_delegate(
            &TnAuthList::spc("709J").unwrap(),
            &TnAuthList::spc("123K").unwrap(),
        )
        .unwrap();
    assert!(matches!(
        validate(
            &parse_chain(other_spc.chain_pem().as_bytes()).unwrap(),
            &anchors,
            TEST_NOW,
            &[]
        ),
        Err(ChainError::Delegation {
            source: DelegationError::SpcOutOfScope { .. },
            ..
        })
    ));

    // An SPC holder may delegate numbers (module docs of pki::delegate give the reason).
    let from_spc = pki
        .issue_delegate(
            &TnAuthList::spc("709J").unwrap(),
            &list(vec![TnEntry::One(tn("12155550000"))]),
        )
        .unwrap();
    assert!(
        validate(
            &parse_chain(from_spc.chain_pem().as_bytes()).unwrap(),
            &anchors,
            TEST_NOW,
            &[]
        )
        .is_ok()
    );

    // With the default pathLenConstraint 0 on the intermediate, no SP CA may sit below it.
    let strict = TestPki::builder().build().unwrap();
    let delegated = strict
        .issue_delegate(&parent, &list(vec![range("12155551210", 10)]))
        .unwrap();
    let result = validate(
        &parse_chain(delegated.chain_pem().as_bytes()).unwrap(),
        &strict.anchors().unwrap(),
        TEST_NOW,
        &[],
    );
    assert!(
        matches!(
            &result,
            Err(ChainError::PathLenExceeded {
                path_len: 0,
                below: 1,
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn empty_and_oversized_chains_are_refused() {
    let pki = TestPki::builder().build().unwrap();
    let anchors = pki.anchors().unwrap();
    assert!(matches!(
        validate(&[], &anchors, TEST_NOW, &[]),
        Err(ChainError::EmptyChain)
    ));
    let chain = pki.chain().unwrap();
    let long: Vec<Certificate> = std::iter::repeat_n(chain[1].clone(), 11)
        .chain(std::iter::once(chain[0].clone()))
        .collect();
    assert!(matches!(
        validate(&long, &anchors, TEST_NOW, &[]),
        Err(ChainError::ChainTooLong { len: 12, .. })
    ));
}

#[test]
fn trust_anchors_load_from_a_directory() {
    let pki = TestPki::builder().build().unwrap();
    let dir = std::env::temp_dir().join(format!("pki-anchors-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    assert!(matches!(
        TrustAnchors::from_dir(&dir),
        Err(TrustError::Empty { .. })
    ));
    std::fs::write(dir.join("root.pem"), &pki.root_pem).unwrap();
    std::fs::write(
        dir.join("root.cer"),
        pki.anchors().unwrap().certificates()[0].der(),
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "ignored").unwrap();
    let anchors = TrustAnchors::from_dir(&dir).unwrap();
    assert_eq!(anchors.len(), 1, "the PEM and DER copies are one anchor");
    assert!(validate(&pki.chain().unwrap(), &anchors, TEST_NOW, &[]).is_ok());
    std::fs::write(
        dir.join("broken.crt"),
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    assert!(matches!(
        TrustAnchors::from_dir(&dir),
        Err(TrustError::Certificate { path: Some(_), .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(matches!(
        TrustAnchors::from_dir(&dir),
        Err(TrustError::Io { .. })
    ));
    assert!(matches!(
        TrustAnchors::from_pem_bundle(b"nothing"),
        Err(TrustError::Empty { .. })
    ));
}

#[test]
fn parsed_certificates_expose_the_sti_fields() {
    let pki = TestPki::builder()
        .leaf_serial(&[0x00, 0x99, 0x01])
        .build()
        .unwrap();
    let leaf = pki.leaf().unwrap();
    assert_eq!(leaf.version(), 3);
    assert_eq!(leaf.serial_hex(), "9901");
    assert_eq!(leaf.common_name(), Some("SHAKEN 709J"));
    assert_eq!(leaf.public_key().algorithm(), &KeyAlgorithm::EcP256);
    assert!(!leaf.is_ca());
    assert!(leaf.key_usage().unwrap().digital_signature());
    assert_eq!(
        leaf.crl_urls(),
        ["http://crl.test.invalid/intermediate.crl"]
    );
    let intermediate = pki.intermediate().unwrap();
    assert_eq!(leaf.authority_key_id(), intermediate.subject_key_id());
    assert!(intermediate.is_ca());
    assert!(intermediate.key_usage().unwrap().key_cert_sign());
    assert_eq!(intermediate.basic_constraints().unwrap().path_len, Some(0));
    let list = leaf.tn_auth_list().unwrap().as_ref().unwrap();
    assert_eq!(list.first_spc().unwrap().as_str(), "709J");
    assert!(Certificate::from_der(&leaf.to_pem().into_bytes()).is_err());
    assert_eq!(parse_chain(leaf.to_pem().as_bytes()).unwrap()[0], leaf);
}
