//! Property tests of the passport crate's parsers and writers: telephone numbers, claims and
//! their canonical JSON, the Identity header, and sign -> verify with a generated key.
//!
//! Each property states a round trip or a refusal that must hold for every generated input;
//! the case counts are set per block below.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::collections::BTreeMap;
use std::sync::LazyLock;

use passport::claims::{Attestation, Claims, Destination, Party, Rcd};
use passport::identity::{IdentityHeader, Token};
use passport::jws::Ppt;
use passport::key::{SigningKey, VerifyingKey};
use passport::sign::Signer;
use passport::verify::{self, CallContext, Credential, Policy};
use passport::{CredentialFailure, TelephoneNumber};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

// ---- telephone numbers -------------------------------------------------------------------

/// A canonical number: 1 to 20 of `0-9*#`, mostly digits.
fn canonical_tn() -> impl Strategy<Value = String> {
    prop_oneof![4 => "[0-9]{1,20}", 1 => "[0-9*#]{1,20}"]
}

/// `digits` with a random visual separator run before each character and an optional `+`.
fn decorate(digits: &str, seps: &[String], plus: bool) -> String {
    let mut out = String::new();
    if plus {
        out.push('+');
    }
    for (i, c) in digits.chars().enumerate() {
        out.push_str(seps.get(i).map_or("", String::as_str));
        out.push(c);
    }
    out.push_str(seps.get(digits.len()).map_or("", String::as_str));
    out
}

/// A separator run for each position of a number of up to 20 characters (and one after).
fn separators(chars: &'static str) -> impl Strategy<Value = Vec<String>> {
    vec(
        prop_oneof![3 => Just(String::new()), 1 => proptest::string::string_regex(chars).unwrap()],
        21,
    )
}

fn percent_encode_hash(s: &str) -> String {
    s.replace('#', "%23")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn canonical_numbers_round_trip(digits in canonical_tn()) {
        let tn = TelephoneNumber::from_canonical(&digits).unwrap();
        prop_assert_eq!(tn.as_str(), digits.as_str());
        prop_assert_eq!(TelephoneNumber::parse(&digits), Ok(tn));
        prop_assert_eq!(TelephoneNumber::from_canonical(tn.as_str()), Ok(tn));
        prop_assert_eq!(tn.to_string(), digits);
    }

    #[test]
    fn separators_and_plus_are_removed(
        digits in canonical_tn(),
        seps in separators("[-.() ]{1,3}"),
        plus in any::<bool>(),
    ) {
        let decorated = decorate(&digits, &seps, plus);
        let tn = TelephoneNumber::parse(&decorated).unwrap();
        prop_assert_eq!(tn.as_str(), digits.as_str(), "{:?}", decorated);
        prop_assert_eq!(TelephoneNumber::from_canonical(tn.as_str()), Ok(tn));
    }

    #[test]
    fn a_plus_anywhere_but_first_is_refused(digits in "[0-9]{2,20}", at in 1usize..20) {
        let at = at.min(digits.len() - 1);
        let text = format!("{}+{}", &digits[..at], &digits[at..]);
        prop_assert_eq!(TelephoneNumber::parse(&text), Err(passport::TnError::MisplacedPlus));
    }

    #[test]
    fn sip_and_tel_uris_give_the_same_number(
        digits in canonical_tn(),
        seps in separators("[-.()]{1,2}"),
        split in any::<Index>(),
        host in "[a-z]{1,10}\\.(example|test)(:[0-9]{1,5})?",
        display in "[A-Za-z ]{0,10}",
        scheme_case in prop_oneof![Just("sip"), Just("SIP"), Just("sips"), Just("tel"), Just("Tel")],
    ) {
        let tn = TelephoneNumber::from_canonical(&digits).unwrap();
        let global = decorate(&digits, &seps, true);
        let in_sip = percent_encode_hash(&global);
        let uris = if scheme_case.eq_ignore_ascii_case("tel") {
            vec![
                format!("{scheme_case}:{global}"),
                format!("<{scheme_case}:{global}>;tag=x"),
                format!("\"{display}\" <{scheme_case}:{global};tgrp=TG-1;trunk-context=example.com>"),
            ]
        } else {
            vec![
                format!("{scheme_case}:{in_sip}@{host}"),
                format!("{scheme_case}:{in_sip}@{host};user=phone"),
                format!("\"{display}\" <{scheme_case}:{in_sip}@{host};user=phone>;tag=1"),
                format!("<{scheme_case}:{}@{host}>", in_sip.replacen('+', "%2B", 1)),
                format!("{scheme_case}:{in_sip}:password@{host}"),
            ]
        };
        for uri in &uris {
            prop_assert_eq!(TelephoneNumber::from_uri(uri), Ok(tn), "{:?}", uri);
        }
        // A local number whose phone-context carries the leading digits.
        let at = split.index(digits.len());
        if at > 0 && digits[..at].bytes().all(|b| b.is_ascii_digit()) {
            let (prefix, local) = digits.split_at(at);
            if !local.is_empty() {
                let uri = if scheme_case.eq_ignore_ascii_case("tel") {
                    format!("{scheme_case}:{local};phone-context=+{prefix}")
                } else {
                    format!("{scheme_case}:{};phone-context=+{prefix}@{host}", percent_encode_hash(local))
                };
                prop_assert_eq!(TelephoneNumber::from_uri(&uri), Ok(tn), "{:?}", uri);
            }
        }
    }
}

// ---- claims and canonical JSON -------------------------------------------------------------

/// Strings that exercise JSON escaping: arbitrary Unicode, and runs of the characters that
/// must (or must not) be escaped.
fn json_string() -> impl Strategy<Value = String> {
    let special = prop_oneof![
        Just('"'),
        Just('\\'),
        Just('/'),
        Just('\n'),
        Just('\r'),
        Just('\t'),
        Just('\u{0}'),
        Just('\u{8}'),
        Just('\u{c}'),
        Just('\u{1f}'),
        Just('\u{7f}'),
        Just('\u{2028}'),
        Just('é'),
        Just('€'),
        Just('\u{1F600}'),
        Just('\u{FFFF}'),
        Just('\u{10000}'),
        any::<char>(),
        proptest::char::range('a', 'z'),
    ];
    prop_oneof![
        any::<String>(),
        vec(special, 0..12).prop_map(|chars| chars.into_iter().collect()),
    ]
}

/// Any JSON value, nested up to four levels, with every finite `f64` among the numbers
/// (serde_json's `float_roundtrip` makes them read back exactly).
fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        json_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(json_string(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

const CLAIM_NAMES: [&str; 9] = [
    "attest", "crn", "dest", "div", "iat", "orig", "origid", "rcd", "rcdi",
];
const RCD_NAMES: [&str; 4] = ["icn", "jcd", "jcl", "nam"];

/// Members other than the known ones, with names chosen to sort between, before and after them.
fn unknown_members(
    known: &'static [&'static str],
) -> impl Strategy<Value = BTreeMap<String, Value>> {
    let name = prop_oneof![
        json_string(),
        "[a-z]{1,7}",
        proptest::sample::select(
            &[
                "a", "attes", "attestx", "d", "iat0", "mky", "rcdj", "zz", "~"
            ][..]
        )
        .prop_map(str::to_owned),
    ];
    btree_map(
        name.prop_filter("not a known member", move |n| !known.contains(&n.as_str())),
        json_value(),
        0..5,
    )
}

fn tn_strategy() -> impl Strategy<Value = TelephoneNumber> {
    canonical_tn().prop_map(|s| TelephoneNumber::from_canonical(&s).unwrap())
}

fn party() -> impl Strategy<Value = Party> {
    prop_oneof![
        tn_strategy().prop_map(Party::Tn),
        json_string().prop_map(Party::Uri)
    ]
}

fn destination() -> impl Strategy<Value = Destination> {
    (vec(tn_strategy(), 0..6), vec(json_string(), 0..4))
        .prop_filter("dest must not be empty", |(tn, uri)| {
            !tn.is_empty() || !uri.is_empty()
        })
        .prop_map(|(tn, uri)| Destination { tn, uri })
}

fn attestation() -> impl Strategy<Value = Attestation> {
    prop_oneof![
        Just(Attestation::A),
        Just(Attestation::B),
        Just(Attestation::C)
    ]
}

fn rcd() -> impl Strategy<Value = Rcd> {
    (
        proptest::option::of(json_string()),
        proptest::option::of(json_string()),
        proptest::option::of(json_value()),
        proptest::option::of(json_string()),
        unknown_members(&RCD_NAMES),
    )
        .prop_map(|(nam, icn, jcd, jcl, other)| Rcd {
            nam,
            icn,
            jcd,
            jcl,
            other,
        })
}

/// Random claims: every field, unknown members with nested values, Unicode and escapes.
fn claims() -> impl Strategy<Value = Claims> {
    (
        (
            any::<i64>(),
            party(),
            destination(),
            proptest::option::of(attestation()),
        ),
        (
            proptest::option::of(json_string()),
            proptest::option::of(party()),
            proptest::option::of(rcd()),
        ),
        (
            proptest::option::of(btree_map(json_string(), json_string(), 0..4)),
            proptest::option::of(json_string()),
            unknown_members(&CLAIM_NAMES),
        ),
    )
        .prop_map(
            |((iat, orig, dest, attest), (origid, div, rcd), (rcdi, crn, other))| Claims {
                iat,
                orig,
                dest,
                attest,
                origid,
                div,
                rcd,
                rcdi,
                crn,
                other,
            },
        )
}

/// `claims` -> canonical JSON -> `from_json` gives `claims` back; the JSON is a fixed point
/// and is what serde_json writes for the same document.
fn assert_canonical_round_trip(claims: &Claims) -> Result<(), TestCaseError> {
    let json = claims.to_canonical_json();
    let back = Claims::from_json(json.as_bytes());
    prop_assert_eq!(back.as_ref(), Ok(claims), "{}", json);
    // A fixed point: writing what was read gives the same bytes.
    prop_assert_eq!(back.unwrap().to_canonical_json(), json.clone());
    // Canonical: serde_json writes a sorted map (its `Map` is a BTreeMap here) with no
    // whitespace, so its re-serialisation of the same document must be byte-identical.
    let value: Value = serde_json::from_str(&json).unwrap();
    prop_assert_eq!(serde_json::to_string(&value).unwrap(), json);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn claims_round_trip_through_canonical_json(claims in claims()) {
        assert_canonical_round_trip(&claims)?;
    }


    #[test]
    fn extra_whitespace_and_key_order_do_not_change_the_claims(claims in claims(), pretty in any::<bool>()) {
        // serde_json's own rendering (pretty or compact) of the canonical document parses to
        // the same claims: layout is not meaning.
        let value: Value = serde_json::from_str(&claims.to_canonical_json()).unwrap();
        let text = if pretty {
            serde_json::to_string_pretty(&value).unwrap()
        } else {
            serde_json::to_string(&value).unwrap()
        };
        prop_assert_eq!(Claims::from_json(text.as_bytes()), Ok(claims));
    }
}

// ---- the Identity header -------------------------------------------------------------------

const B64URL_PART: &str = "[A-Za-z0-9_-]{1,40}";
/// RFC 3261 `token` characters.
const TOKEN: &str = "[A-Za-z0-9.!%*_+`'~-]{1,12}";

/// A parameter value as written: a token, or a quoted string (with `\` escapes) that holds
/// `value`.
#[derive(Debug, Clone)]
enum Written {
    Token(String),
    Quoted(String),
}

impl Written {
    fn value(&self) -> &str {
        match self {
            Self::Token(s) | Self::Quoted(s) => s,
        }
    }

    fn render(&self) -> String {
        match self {
            Self::Token(s) => s.clone(),
            Self::Quoted(s) => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
        }
    }
}

fn written_token() -> impl Strategy<Value = Written> {
    prop_oneof![
        TOKEN.prop_map(Written::Token),
        TOKEN.prop_map(Written::Quoted)
    ]
}

fn written_any() -> impl Strategy<Value = Written> {
    prop_oneof![
        TOKEN.prop_map(Written::Token),
        json_string().prop_map(Written::Quoted)
    ]
}

#[derive(Debug, Clone)]
struct HeaderParts {
    token: String,
    info: Option<String>,
    alg: Option<Written>,
    ppt: Option<Written>,
    extensions: Vec<(String, Option<Written>)>,
}

fn header_parts() -> impl Strategy<Value = HeaderParts> {
    let token = prop_oneof![
        (B64URL_PART, B64URL_PART, B64URL_PART).prop_map(|(h, p, s)| format!("{h}.{p}.{s}")),
        B64URL_PART.prop_map(|s| format!("..{s}")),
    ];
    let ext_name = "[a-z][a-z0-9-]{0,8}".prop_filter("not a known parameter", |n| {
        !["info", "alg", "ppt"].contains(&n.as_str())
    });
    (
        token,
        proptest::option::of("https?://[a-z.]{1,20}(:[0-9]{1,4})?/[A-Za-z0-9/;=?&%._~-]{0,30}"),
        proptest::option::of(written_token()),
        proptest::option::of(written_token()),
        btree_map(ext_name, proptest::option::of(written_any()), 0..5),
    )
        .prop_map(|(token, info, alg, ppt, extensions)| HeaderParts {
            token,
            info,
            alg,
            ppt,
            extensions: extensions.into_iter().collect(),
        })
}

/// Whitespace that may surround `;` and `=`.
fn spacing() -> impl Strategy<Value = Vec<String>> {
    vec(prop_oneof![4 => Just(String::new()), 1 => "[ \t]{1,3}"], 64)
}

/// Renders `parts` with random spacing, random case of the known names and the parameters in
/// the order given by `order`.
fn render(parts: &HeaderParts, space: &[String], upper: &[bool], order: &[Index]) -> String {
    let mut ws = space.iter().map(String::as_str).cycle();
    let mut params: Vec<(String, Option<String>)> = Vec::new();
    let case = |name: &str, i: usize| {
        if upper.get(i).copied().unwrap_or(false) {
            name.to_ascii_uppercase()
        } else {
            name.to_owned()
        }
    };
    if let Some(info) = &parts.info {
        params.push((case("info", 0), Some(format!("<{info}>"))));
    }
    if let Some(alg) = &parts.alg {
        params.push((case("alg", 1), Some(alg.render())));
    }
    if let Some(ppt) = &parts.ppt {
        params.push((case("ppt", 2), Some(ppt.render())));
    }
    for (name, value) in &parts.extensions {
        params.push((name.clone(), value.as_ref().map(Written::render)));
    }
    for (i, index) in order.iter().enumerate() {
        if i < params.len() {
            let j = index.index(params.len());
            params.swap(i, j);
        }
    }
    let mut out = format!("{}{}", ws.next().unwrap_or(""), parts.token);
    for (name, value) in params {
        out.push_str(ws.next().unwrap_or(""));
        out.push(';');
        out.push_str(ws.next().unwrap_or(""));
        out.push_str(&name);
        if let Some(value) = value {
            out.push_str(ws.next().unwrap_or(""));
            out.push('=');
            out.push_str(ws.next().unwrap_or(""));
            out.push_str(&value);
        }
    }
    out.push_str(ws.next().unwrap_or(""));
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn identity_headers_parse_and_display_round_trips(
        parts in header_parts(),
        space in spacing(),
        upper in vec(any::<bool>(), 3),
        order in vec(any::<Index>(), 8),
    ) {
        let text = render(&parts, &space, &upper, &order);
        let header = IdentityHeader::parse(&text).unwrap();
        match header.token {
            Token::Full(t) => prop_assert_eq!(t, parts.token.as_str()),
            Token::Compact { signature } => prop_assert_eq!(format!("..{signature}"), parts.token.clone()),
        }
        prop_assert_eq!(header.info, parts.info.as_deref());
        prop_assert_eq!(header.alg.as_deref(), parts.alg.as_ref().map(Written::value));
        prop_assert_eq!(header.ppt.as_deref(), parts.ppt.as_ref().map(Written::value));
        prop_assert_eq!(header.extensions.len(), parts.extensions.len());
        for (name, value) in &parts.extensions {
            let found = header.extensions.iter().find(|(n, _)| *n == name.as_str());
            prop_assert_eq!(
                found.map(|(_, v)| v.as_deref()),
                Some(value.as_ref().map(Written::value)),
                "{}", name
            );
        }
        let printed = header.to_string();
        let again = IdentityHeader::parse(&printed).unwrap();
        prop_assert_eq!(&again, &header, "{}", printed);
        prop_assert_eq!(again.to_string(), printed);
    }
}

// ---- sign -> verify ------------------------------------------------------------------------

/// One key for the whole run: generating a P-256 key per case would only test aws-lc-rs.
static KEY: LazyLock<(SigningKey, VerifyingKey)> = LazyLock::new(|| {
    let key = SigningKey::generate().unwrap();
    let verifying = key.verifying_key().unwrap();
    (key, verifying)
});

/// A credential that authorises every calling number.
struct AnyNumber<'a>(&'a VerifyingKey);

impl Credential for AnyNumber<'_> {
    fn verifying_key(&self) -> &VerifyingKey {
        self.0
    }

    fn authorize_orig(&self, _orig: &TelephoneNumber) -> Result<(), CredentialFailure> {
        Ok(())
    }
}

fn signer(x5u: &str) -> Signer {
    let pem = KEY.0.to_pkcs8_pem().unwrap();
    Signer::new(SigningKey::from_pem(&pem).unwrap(), x5u).unwrap()
}

/// Claims valid for `ppt` and for the call `(from, to)`, and the call's time.
#[derive(Debug, Clone)]
struct Case {
    ppt: Ppt,
    claims: Claims,
    call: CallContext,
    x5u: String,
}

fn signable() -> impl Strategy<Value = Case> {
    (
        prop_oneof![Just(Ppt::Shaken), Just(Ppt::Div), Just(Ppt::Rcd)],
        claims(),
        tn_strategy(),
        (tn_strategy(), any::<Index>()),
        (-60i64..=60, proptest::option::of(-60i64..=60)),
        "https://[a-z]{1,10}\\.example(:[0-9]{2,5})?/[A-Za-z0-9/._-]{0,20}",
        ("[ -~]{1,36}", attestation(), party(), rcd()),
    )
        .prop_map(
            |(
                ppt,
                mut claims,
                from,
                (to, at),
                (skew, request_skew),
                x5u,
                (origid, attest, div, rcd),
            )| {
                claims.orig = Party::Tn(from);
                let at = at.index(claims.dest.tn.len() + 1);
                claims.dest.tn.insert(at, to);
                match ppt {
                    Ppt::Shaken => {
                        claims.attest = Some(attest);
                        claims.origid = Some(origid);
                    }
                    Ppt::Div => claims.div = Some(div),
                    Ppt::Rcd => claims.rcd = Some(rcd),
                }
                // Keep `now` and the request time representable near the ends of i64.
                claims.iat = claims.iat.clamp(i64::MIN + 200, i64::MAX - 200);
                let now = claims.iat + skew;
                let call = CallContext {
                    from,
                    to: vec![to],
                    now,
                    request_time: request_skew.map(|s| now + s),
                };
                Case {
                    ppt,
                    claims,
                    call,
                    x5u,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn signed_passports_verify(case in signable()) {
        let signer = signer(&case.x5u);
        let identity = signer.sign_identity_ppt(case.ppt, &case.claims).unwrap();
        let unverified = verify::check(&identity, &case.call, &Policy::default()).unwrap();
        prop_assert_eq!(unverified.x5u(), case.x5u.as_str());
        prop_assert_eq!(unverified.ppt(), case.ppt);
        prop_assert_eq!(unverified.claims(), &case.claims);
        let verified = unverified.verify(&AnyNumber(&KEY.1)).unwrap();
        prop_assert_eq!(verified.claims(), &case.claims);
        prop_assert_eq!(verified.ppt(), case.ppt);
        prop_assert_eq!(verified.x5u(), case.x5u.as_str());
        prop_assert_eq!(verified.attest(), case.claims.attest);
    }

    #[test]
    fn any_changed_byte_of_the_token_fails_verification(
        case in signable(),
        at in any::<Index>(),
        replacement in proptest::char::range(' ', '~'),
    ) {
        let signer = signer(&case.x5u);
        let identity = signer.sign_identity_ppt(case.ppt, &case.claims).unwrap();
        let token_len = identity.find(';').unwrap();
        let i = at.index(token_len);
        let original = identity.as_bytes()[i];
        let replacement = u8::try_from(replacement).unwrap();
        prop_assume!(replacement != original);
        let mut bytes = identity.into_bytes();
        bytes[i] = replacement;
        let tampered = String::from_utf8(bytes).unwrap();
        let outcome = verify::check(&tampered, &case.call, &Policy::default())
            .and_then(|unverified| unverified.verify(&AnyNumber(&KEY.1)));
        prop_assert!(outcome.is_err(), "changing byte {} to {:?} still verified: {}", i, replacement as char, tampered);
    }
}
