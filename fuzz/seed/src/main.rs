//! Writes the seed corpora of the callproof fuzz targets, so that no binary corpus is kept in
//! git: `cargo run --manifest-path fuzz/seed/Cargo.toml -- fuzz/corpus`.
//!
//! Seeds come from three places: the test vectors in `crates/passport/tests/vectors`, values
//! made with the crates' own APIs (a signer, `pki::testpki` certificates and CRLs, TNAuthList
//! encodings), and a few hand-written edge cases. Certificates and signatures use keys made at
//! run time, so each run writes different bytes; the files are named after what they hold.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use passport::TelephoneNumber;
use passport::claims::{Attestation, Claims, Party, Rcd};
use passport::jws::{Ppt, ProtectedHeader};
use passport::key::SigningKey;
use passport::sign::Signer;
use pki::testpki::{KeyKind, TestPki};
use pki::tn_auth_list::ServiceProviderCode;
use pki::{TnAuthList, TnEntry, TnRange};
use serde_json::Value;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const VECTORS: [&str; 4] = [
    include_str!("../../../crates/passport/tests/vectors/rfc8224_examples.json"),
    include_str!("../../../crates/passport/tests/vectors/rfc8225_appendix_a.json"),
    include_str!("../../../crates/passport/tests/vectors/rfc8226_tnauthlist.json"),
    include_str!("../../../crates/passport/tests/vectors/rfc8588_examples.json"),
];
const RFC8225_A: &str = VECTORS[1];
const X5U: &str = "https://cert.example.org/passport.cer";
/// The time of the passport_decode target's call context, and of pki's test PKI.
const NOW: i64 = 1_750_000_000;

/// One target's corpus directory.
struct Corpus {
    dir: PathBuf,
    count: usize,
}

impl Corpus {
    fn new(root: &Path, target: &str) -> Result<Self> {
        let dir = root.join(target);
        fs::create_dir_all(&dir)?;
        Ok(Self { dir, count: 0 })
    }

    fn add(&mut self, name: &str, bytes: impl AsRef<[u8]>) -> Result<()> {
        let safe: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        fs::write(
            self.dir.join(format!("seed-{:03}-{safe}", self.count)),
            bytes,
        )?;
        self.count += 1;
        Ok(())
    }
}

/// Every string in the vector files under a key for which `wanted` holds.
fn vector_strings(wanted: impl Fn(&str) -> bool) -> Result<Vec<String>> {
    fn walk(v: &Value, key: &str, wanted: &dyn Fn(&str) -> bool, out: &mut Vec<String>) {
        match v {
            Value::String(s) if wanted(key) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|i| walk(i, key, wanted, out)),
            Value::Object(map) => map.iter().for_each(|(k, v)| walk(v, k, wanted, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for text in VECTORS {
        walk(&serde_json::from_str(text)?, "", &wanted, &mut out);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn hex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.is_empty() || digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

fn tn(s: &str) -> Result<TelephoneNumber> {
    Ok(TelephoneNumber::parse(s)?)
}

/// Claims that pass the passport_decode target's call checks, for every ppt.
fn full_claims() -> Result<Claims> {
    let mut claims = Claims::shaken(
        NOW,
        tn("12155551212")?,
        vec![tn("12155551213")?],
        Attestation::A,
        "123e4567-e89b-12d3-a456-426655440000",
    );
    claims.div = Some(Party::Tn(tn("12155550000")?));
    claims.rcd = Some(Rcd {
        nam: Some("Example Bank \u{e9}\u{20ac} \"quoted\"".into()),
        icn: Some("https://example.org/logo.png".into()),
        jcd: Some(serde_json::json!([
            "vcard",
            [["version", {}, "text", "4.0"]]
        ])),
        jcl: None,
        other: [("apn".to_owned(), Value::from("Alt name"))]
            .into_iter()
            .collect(),
    });
    claims.rcdi = Some(
        [(
            "/icn".to_owned(),
            "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".to_owned(),
        )]
        .into_iter()
        .collect(),
    );
    claims.crn = Some("Appointment reminder".into());
    claims.other.insert(
        "zzz".into(),
        serde_json::json!({"b": [1, 2.5, null, true], "a": "\u{1}\n"}),
    );
    Ok(claims)
}

fn payloads() -> Result<Vec<(String, String)>> {
    let mut out = vec![
        ("full".to_owned(), full_claims()?.to_canonical_json()),
        (
            "shaken".to_owned(),
            Claims::shaken(NOW, tn("12155551212")?, vec![tn("12155551213")?], Attestation::B, "x")
                .to_canonical_json(),
        ),
        (
            "uri dest and unknown".to_owned(),
            r#"{"dest":{"uri":["sip:alice@example.com"],"tn":["1 215 555 1213"]},"iat":0,"orig":{"uri":"sip:bob@example.com"},"mky":{"n":[{"x":-1e-7}]},"attest":"C"}"#.to_owned(),
        ),
        (
            "escapes".to_owned(),
            r#"{"iat":-9223372036854775808,"orig":{"tn":"+1-215-555-1212","x":1},"dest":{"tn":["*67#"],"other":[]},"crn":"\u00e9\ud83d\ude00\t\\\"","origid":""}"#.to_owned(),
        ),
    ];
    for (i, payload) in vector_strings(|k| k.contains("payload") && !k.ends_with("b64"))?
        .into_iter()
        .filter(|s| s.trim_start().starts_with('{'))
        .enumerate()
    {
        out.push((format!("vector payload {i}"), payload));
    }
    Ok(out)
}

fn write_passport_seeds(root: &Path) -> Result<()> {
    let vector: Value = serde_json::from_str(RFC8225_A)?;
    let pem = vector["private_key_pem"]
        .as_str()
        .ok_or("no private_key_pem")?;
    let signer = Signer::new(SigningKey::from_pem(pem)?, X5U)?;
    let claims = full_claims()?;

    let mut identities: Vec<(String, String)> = Vec::new();
    for ppt in [Ppt::Shaken, Ppt::Div, Ppt::Rcd] {
        identities.push((
            format!("signed {ppt}"),
            signer.sign_identity_ppt(ppt, &claims)?,
        ));
    }
    let signed = signer.sign_identity(&claims)?;
    let token = signed.split(';').next().unwrap_or_default().to_owned();
    let signature = token.rsplit('.').next().unwrap_or_default();
    identities.extend([
        (
            "compact".to_owned(),
            format!("..{signature};info=<{X5U}>;alg=ES256;ppt=shaken"),
        ),
        (
            "spacing and quoting".to_owned(),
            format!(" {token} ;INFO = <{X5U}> ; Alg=ES256;ppt=\"shaken\" ;foo=\"a \\\"b\\\\\";bar"),
        ),
        ("no params".to_owned(), token.clone()),
        (
            "extension".to_owned(),
            format!("{token};info=<{X5U}>;x-ext=1;flag"),
        ),
    ]);
    for (i, header) in vector_strings(|k| k == "header_value" || k.contains("identity_header"))?
        .into_iter()
        .enumerate()
    {
        identities.push((format!("vector {i}"), header));
    }

    let mut identity = Corpus::new(root, "identity_header")?;
    let mut decode = Corpus::new(root, "passport_decode")?;
    for (name, value) in &identities {
        identity.add(name, value)?;
        decode.add(
            &format!("mode0 {name}"),
            [b"\0".as_slice(), value.as_bytes()].concat(),
        )?;
        if let Some(token) = value.split(';').next() {
            decode.add(
                &format!("mode3 {name}"),
                [b"\x03".as_slice(), token.trim().as_bytes()].concat(),
            )?;
        }
    }
    for (i, token) in vector_strings(|k| k == "token")?.into_iter().enumerate() {
        decode.add(
            &format!("mode3 vector {i}"),
            [b"\x03".as_slice(), token.as_bytes()].concat(),
        )?;
    }
    let mut claims_corpus = Corpus::new(root, "claims")?;
    for (name, payload) in payloads()? {
        claims_corpus.add(&name, &payload)?;
        for selector in 0u8..3 {
            decode.add(
                &format!("mode1 {selector} {name}"),
                [&[1, selector], payload.as_bytes()].concat(),
            )?;
        }
    }
    let mut headers: Vec<String> = [Ppt::Shaken, Ppt::Div, Ppt::Rcd]
        .into_iter()
        .map(|ppt| ProtectedHeader::passport(ppt, X5U).to_canonical_json())
        .collect();
    headers.push(format!(
        r#"{{"x5u":"{X5U}","typ":"passport","alg":"ES256","ppt":"shaken","crit":["ppt"],"kid":{{"a":[1]}}}}"#
    ));
    headers.extend(vector_strings(|k| {
        k.contains("header_json") || k == "protected_header_canonical"
    })?);
    for (i, header) in headers.iter().enumerate() {
        for selector in 0u8..3 {
            decode.add(
                &format!("mode2 {selector} header {i}"),
                [&[2, selector], header.as_bytes()].concat(),
            )?;
        }
    }
    decode.add(
        "mode3 base64 parts",
        format!("\x03{}.e30.", B64URL.encode(&headers[0])),
    )?;
    println!(
        "identity_header: {}, passport_decode: {}, claims: {}",
        identity.count, decode.count, claims_corpus.count
    );
    Ok(())
}

fn write_tn_seeds(root: &Path) -> Result<()> {
    let mut corpus = Corpus::new(root, "tn")?;
    for s in [
        "+1 (215) 555-1212",
        "1.215.555.1212",
        "*67#",
        "12345678901234567890",
        "sip:+12155551212@example.com;user=phone",
        "\"Alice\" <sips:12155551212@10.0.0.1:5061>;tag=abc",
        "<tel:5551212;phone-context=+1-215>",
        "sip:5551212;phone-context=+1215@example.com;user=phone",
        "tel:+12155551212;tgrp=TG-1;trunk-context=example.com",
        "sip:%2B12155551212@example.com",
        "sip:+12155551212:secret@example.com",
        "tel:5551212;phone-context=example.com",
        "TEL:+1-215;PHONE-CONTEXT=+44",
    ] {
        corpus.add(s, s)?;
    }
    println!("tn: {}", corpus.count);
    Ok(())
}

fn write_tn_auth_list_seeds(root: &Path) -> Result<()> {
    let mut corpus = Corpus::new(root, "tn_auth_list")?;
    for (i, s) in vector_strings(|k| k.contains("hex"))?.iter().enumerate() {
        if let Some(der) = hex(s) {
            corpus.add(&format!("vector {i}"), der)?;
        }
    }
    let lists = [
        TnAuthList::spc("709J")?,
        TnAuthList::new(vec![
            TnEntry::Spc(ServiceProviderCode::new("554a")?),
            TnEntry::Range(TnRange::new(
                TelephoneNumber::from_canonical("12155551200")?,
                100,
            )?),
            TnEntry::One(TelephoneNumber::from_canonical("1215555121#")?),
            TnEntry::Range(TnRange::new(
                TelephoneNumber::from_canonical("0000000000")?,
                200,
            )?),
        ])?,
        TnAuthList::new(
            (0..70)
                .map(|i| TelephoneNumber::from_canonical(&format!("1215555{i:04}")))
                .map(|t| t.map(TnEntry::One))
                .collect::<std::result::Result<_, _>>()?,
        )?,
    ];
    for (i, list) in lists.iter().enumerate() {
        corpus.add(&format!("built {i}"), list.to_der())?;
    }
    // Quirks seen in the wild: an untagged PrintableString SPC, IMPLICIT tags.
    corpus.add(
        "untagged printable spc",
        [0x30, 0x06, 0x13, 0x04, b'7', b'5', b'5', b'J'],
    )?;
    corpus.add(
        "implicit spc",
        [0x30, 0x06, 0x80, 0x04, b'7', b'0', b'9', b'J'],
    )?;
    corpus.add(
        "implicit range",
        [
            0x30, 0x0b, 0xa1, 0x09, 0x16, 0x04, b'1', b'2', b'0', b'0', 0x02, 0x01, 0x64,
        ],
    )?;
    println!("tn_auth_list: {}", corpus.count);
    Ok(())
}

fn der_of(pem_text: &str) -> Result<Vec<u8>> {
    let certs = pki::parse_chain(pem_text.as_bytes())?;
    Ok(certs.first().ok_or("no certificate")?.der().to_vec())
}

fn write_pki_seeds(root: &Path) -> Result<()> {
    let pki = TestPki::builder().build()?;
    let mut certs = Corpus::new(root, "certificate")?;
    certs.add("root der", der_of(&pki.root_pem)?)?;
    certs.add("intermediate der", der_of(&pki.intermediate_pem)?)?;
    certs.add("leaf der", der_of(&pki.leaf_pem)?)?;
    // The target validates a chain with its last certificate as the anchor.
    certs.add(
        "chain with root",
        [pki.chain_pem(), pki.root_pem.clone()].concat(),
    )?;
    certs.add("chain", pki.chain_pem())?;
    let ranges = TnAuthList::new(vec![
        TnEntry::Range(TnRange::new(
            TelephoneNumber::from_canonical("12155551200")?,
            100,
        )?),
        TnEntry::One(TelephoneNumber::from_canonical("12155551212")?),
    ])?;
    let delegate = pki.issue_delegate(&ranges, &ranges)?;
    certs.add(
        "delegate chain with root",
        [delegate.chain_pem(), pki.root_pem.clone()].concat(),
    )?;
    for (name, kind) in [("p384", KeyKind::P384), ("rsa", KeyKind::Rsa2048)] {
        let other = TestPki::builder()
            .leaf_key(kind)
            .intermediate_key(kind)
            .build()?;
        certs.add(&format!("{name} leaf der"), der_of(&other.leaf_pem)?)?;
        certs.add(
            &format!("{name} chain with root"),
            [other.chain_pem(), other.root_pem.clone()].concat(),
        )?;
    }
    let expired = TestPki::builder()
        .leaf_validity(NOW - 100, NOW - 10)
        .no_tn_auth_list()
        .build()?;
    certs.add(
        "expired chain with root",
        [expired.chain_pem(), expired.root_pem.clone()].concat(),
    )?;

    let mut crls = Corpus::new(root, "crl")?;
    let leaf_serial = pki.leaf()?.serial().to_vec();
    for (name, revoked) in [
        ("empty", Vec::new()),
        ("one", vec![leaf_serial.as_slice()]),
        (
            "several",
            vec![
                leaf_serial.as_slice(),
                &[0x01],
                &[0x00, 0x80, 0x01],
                &[0x7f; 20],
            ],
        ),
    ] {
        let pem = pki.intermediate_crl(&revoked, NOW - 3600, NOW + 86_400)?;
        let der = pki::Crl::from_pem(pem.as_bytes())?.der().to_vec();
        crls.add(&format!("{name} pem"), &pem)?;
        crls.add(&format!("{name} der"), der)?;
    }
    crls.add(
        "root crl pem",
        pki.root_crl(&[&[0x02]], NOW - 3600, NOW + 86_400)?,
    )?;
    println!("certificate: {}, crl: {}", certs.count, crls.count);
    Ok(())
}

fn main() -> Result<()> {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".to_owned()),
    );
    write_passport_seeds(&root)?;
    write_tn_seeds(&root)?;
    write_tn_auth_list_seeds(&root)?;
    write_pki_seeds(&root)?;
    Ok(())
}
