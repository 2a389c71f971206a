//! PASSporT claims (RFC 8225) with the SHAKEN (RFC 8588), div (RFC 8946) and Rich Call
//! Data (RFC 9795) extensions.
//!
//! Unknown claims are kept, not dropped, and are written back in canonical order when the
//! claims are signed again. Parsing refuses duplicate claims and bounds every list.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::json::{ObjectWriter, write_i64, write_str, write_value};
use crate::tn::TelephoneNumber;

/// The most `dest` entries accepted in one PASSporT.
pub const MAX_DEST: usize = 64;

/// SHAKEN attestation level (RFC 8588 section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attestation {
    /// Full: the signer knows the customer and that it may use the number.
    A,
    /// Partial: the customer is known, the right to the number is not.
    B,
    /// Gateway: the call entered from a network the signer cannot vouch for.
    C,
}

impl Attestation {
    /// `"A"`, `"B"` or `"C"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::B => "B",
            Self::C => "C",
        }
    }

    /// Parses exactly `A`, `B` or `C`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "A" => Some(Self::A),
            "B" => Some(Self::B),
            "C" => Some(Self::C),
            _ => None,
        }
    }
}

impl fmt::Display for Attestation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Attestation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| format!("attestation must be A, B or C, not {s:?}"))
    }
}

/// True for a UUID in its canonical text form (`8-4-4-4-12` hex digits), as SHAKEN's
/// `origid` is written.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// An originator or diversion party: `{"tn": "..."}` or `{"uri": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Party {
    /// A telephone number.
    Tn(TelephoneNumber),
    /// A URI (for non-telephone identities).
    Uri(String),
}

impl Party {
    /// The telephone number, when this party is one.
    pub fn tn(&self) -> Option<&TelephoneNumber> {
        match self {
            Self::Tn(tn) => Some(tn),
            Self::Uri(_) => None,
        }
    }

    fn write(&self, out: &mut String) {
        let mut obj = ObjectWriter::new(out);
        match self {
            Self::Tn(tn) => write_str(obj.key("tn"), tn.as_str()),
            Self::Uri(uri) => write_str(obj.key("uri"), uri),
        }
        obj.finish();
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tn(tn) => write!(f, "tn {tn}"),
            Self::Uri(uri) => write!(f, "uri {uri}"),
        }
    }
}

/// The destination: telephone numbers and/or URIs (`{"tn": [...], "uri": [...]}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destination {
    /// Destination telephone numbers.
    pub tn: Vec<TelephoneNumber>,
    /// Destination URIs.
    pub uri: Vec<String>,
}

impl Destination {
    /// True when `tn` is among the destination numbers.
    pub fn contains_tn(&self, tn: &TelephoneNumber) -> bool {
        self.tn.iter().any(|d| d == tn)
    }

    fn write(&self, out: &mut String) {
        let mut obj = ObjectWriter::new(out);
        if !self.tn.is_empty() {
            let out = obj.key("tn");
            out.push('[');
            for (i, tn) in self.tn.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, tn.as_str());
            }
            out.push(']');
        }
        if !self.uri.is_empty() {
            let out = obj.key("uri");
            out.push('[');
            for (i, uri) in self.uri.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, uri);
            }
            out.push(']');
        }
        obj.finish();
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tns: Vec<&str> = self.tn.iter().map(TelephoneNumber::as_str).collect();
        let all: Vec<&str> = tns
            .into_iter()
            .chain(self.uri.iter().map(String::as_str))
            .collect();
        f.write_str(&all.join(","))
    }
}

/// Rich Call Data (RFC 9795 section 6): display name, icon, jCard and its URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rcd {
    /// `nam`: the display name.
    pub nam: Option<String>,
    /// `icn`: a URL of an icon (logo).
    pub icn: Option<String>,
    /// `jcd`: an inline jCard.
    pub jcd: Option<Value>,
    /// `jcl`: a URL of a jCard.
    pub jcl: Option<String>,
    /// Other rcd members (e.g. `apn`), kept as received.
    pub other: BTreeMap<String, Value>,
}

impl Rcd {
    fn write(&self, out: &mut String) {
        let mut known: [(&str, Option<Field<'_>>); 4] = [
            ("icn", self.icn.as_deref().map(Field::Str)),
            ("jcd", self.jcd.as_ref().map(Field::Value)),
            ("jcl", self.jcl.as_deref().map(Field::Str)),
            ("nam", self.nam.as_deref().map(Field::Str)),
        ];
        write_merged(out, &mut known, &self.other);
    }
}

/// The claims of a PASSporT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// `iat`: issued-at, seconds since the epoch.
    pub iat: i64,
    /// `orig`: the originating identity.
    pub orig: Party,
    /// `dest`: the destination identities.
    pub dest: Destination,
    /// `attest` (SHAKEN).
    pub attest: Option<Attestation>,
    /// `origid` (SHAKEN): an opaque UUID identifying the origination point.
    pub origid: Option<String>,
    /// `div` (RFC 8946): the original destination of a diverted call.
    pub div: Option<Party>,
    /// `rcd` (RFC 9795).
    pub rcd: Option<Rcd>,
    /// `rcdi` (RFC 9795): JSON pointer -> integrity digest (`sha256-...`).
    pub rcdi: Option<BTreeMap<String, String>>,
    /// `crn` (RFC 9795): the call reason.
    pub crn: Option<String>,
    /// Every other claim, kept as received.
    pub other: BTreeMap<String, Value>,
}

impl Claims {
    /// Claims of a SHAKEN PASSporT (RFC 8588).
    pub fn shaken(
        iat: i64,
        orig: TelephoneNumber,
        dest: Vec<TelephoneNumber>,
        attest: Attestation,
        origid: impl Into<String>,
    ) -> Self {
        Self {
            iat,
            orig: Party::Tn(orig),
            dest: Destination {
                tn: dest,
                uri: Vec::new(),
            },
            attest: Some(attest),
            origid: Some(origid.into()),
            div: None,
            rcd: None,
            rcdi: None,
            crn: None,
            other: BTreeMap::new(),
        }
    }

    /// The canonical JSON form (RFC 8225 section 9): keys sorted, no whitespace.
    pub fn to_canonical_json(&self) -> String {
        let mut out = String::with_capacity(192);
        self.write_canonical(&mut out);
        out
    }

    /// Appends the canonical JSON form to `out`.
    pub fn write_canonical(&self, out: &mut String) {
        let rcdi = self.rcdi.as_ref();
        let mut known: [(&str, Option<Field<'_>>); 9] = [
            ("attest", self.attest.map(|a| Field::Str(a.as_str()))),
            ("crn", self.crn.as_deref().map(Field::Str)),
            ("dest", Some(Field::Dest(&self.dest))),
            ("div", self.div.as_ref().map(Field::Party)),
            ("iat", Some(Field::Int(self.iat))),
            ("orig", Some(Field::Party(&self.orig))),
            ("origid", self.origid.as_deref().map(Field::Str)),
            ("rcd", self.rcd.as_ref().map(Field::Rcd)),
            ("rcdi", rcdi.map(Field::StrMap)),
        ];
        write_merged(out, &mut known, &self.other);
    }
}

/// A known member's value, for the merged canonical writer.
enum Field<'a> {
    Str(&'a str),
    Int(i64),
    Value(&'a Value),
    Party(&'a Party),
    Dest(&'a Destination),
    Rcd(&'a Rcd),
    StrMap(&'a BTreeMap<String, String>),
}

impl Field<'_> {
    fn write(&self, out: &mut String) {
        match self {
            Field::Str(s) => write_str(out, s),
            Field::Int(n) => write_i64(out, *n),
            Field::Value(v) => write_value(out, v),
            Field::Party(p) => p.write(out),
            Field::Dest(d) => d.write(out),
            Field::Rcd(r) => r.write(out),
            Field::StrMap(m) => {
                let mut obj = ObjectWriter::new(out);
                for (k, v) in m.iter() {
                    write_str(obj.key(k), v);
                }
                obj.finish();
            }
        }
    }
}

/// Writes one object from known members (sorted by key) and extra members (a sorted map),
/// interleaved so that the result is in lexicographic key order.
fn write_merged(
    out: &mut String,
    known: &mut [(&str, Option<Field<'_>>)],
    extra: &BTreeMap<String, Value>,
) {
    let mut obj = ObjectWriter::new(out);
    let mut extra = extra.iter().peekable();
    for (key, value) in known.iter() {
        while let Some((k, v)) = extra.next_if(|(k, _)| k.as_str() < *key) {
            write_value(obj.key(k), v);
        }
        if let Some(value) = value {
            value.write(obj.key(key));
        }
    }
    for (k, v) in extra {
        write_value(obj.key(k), v);
    }
    obj.finish();
}

// ---- parsing ----------------------------------------------------------------------------

macro_rules! set_once {
    ($slot:expr, $name:literal, $map:expr) => {{
        if $slot.is_some() {
            return Err(de::Error::custom(concat!(
                "duplicate claim \"",
                $name,
                "\""
            )));
        }
        $slot = Some($map.next_value()?);
    }};
}

enum ClaimKey {
    Iat,
    Orig,
    Dest,
    Attest,
    Origid,
    Div,
    Rcd,
    Rcdi,
    Crn,
    Other(String),
}

impl<'de> serde::Deserialize<'de> for ClaimKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ClaimKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a claim name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ClaimKey, E> {
                Ok(match v {
                    "iat" => ClaimKey::Iat,
                    "orig" => ClaimKey::Orig,
                    "dest" => ClaimKey::Dest,
                    "attest" => ClaimKey::Attest,
                    "origid" => ClaimKey::Origid,
                    "div" => ClaimKey::Div,
                    "rcd" => ClaimKey::Rcd,
                    "rcdi" => ClaimKey::Rcdi,
                    "crn" => ClaimKey::Crn,
                    other => ClaimKey::Other(other.to_owned()),
                })
            }
        }
        d.deserialize_str(V)
    }
}

/// Why a payload is not a valid set of claims.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// Not JSON, not an object, a duplicate claim, or a claim of the wrong JSON type.
    #[error("{0}")]
    Json(String),
    /// A mandatory claim is absent.
    #[error("missing claim {0}")]
    Missing(&'static str),
    /// A claim has a value outside its domain.
    #[error("invalid {claim} claim: {reason}")]
    Invalid {
        /// The claim.
        claim: &'static str,
        /// Why.
        reason: String,
    },
}

impl Claims {
    /// Parses claims from JSON bytes (the decoded JWS payload).
    pub fn from_json(bytes: &[u8]) -> Result<Self, ClaimsError> {
        let p: PartialClaims =
            serde_json::from_slice(bytes).map_err(|e| ClaimsError::Json(e.to_string()))?;
        let attest = match p.attest {
            None => None,
            Some(a) => Some(Attestation::parse(&a).ok_or_else(|| ClaimsError::Invalid {
                claim: "attest",
                reason: format!("{a:?} is not A, B or C"),
            })?),
        };
        Ok(Claims {
            iat: p.iat.ok_or(ClaimsError::Missing("iat"))?.0,
            orig: p.orig.ok_or(ClaimsError::Missing("orig"))?.0,
            dest: p.dest.ok_or(ClaimsError::Missing("dest"))?.0,
            attest,
            origid: p.origid,
            div: p.div.map(|d| d.0),
            rcd: p.rcd.map(|r| r.0),
            rcdi: p.rcdi,
            crn: p.crn,
            other: p.other,
        })
    }
}

/// Claims as parsed, before the mandatory ones are required.
struct PartialClaims {
    iat: Option<IntClaim>,
    orig: Option<PartyClaim>,
    dest: Option<DestClaim>,
    attest: Option<String>,
    origid: Option<String>,
    div: Option<PartyClaim>,
    rcd: Option<RcdClaim>,
    rcdi: Option<BTreeMap<String, String>>,
    crn: Option<String>,
    other: BTreeMap<String, Value>,
}

impl<'de> serde::Deserialize<'de> for PartialClaims {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PartialClaims;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of PASSporT claims")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PartialClaims, A::Error> {
                let mut p = PartialClaims {
                    iat: None,
                    orig: None,
                    dest: None,
                    attest: None,
                    origid: None,
                    div: None,
                    rcd: None,
                    rcdi: None,
                    crn: None,
                    other: BTreeMap::new(),
                };
                while let Some(key) = map.next_key::<ClaimKey>()? {
                    match key {
                        ClaimKey::Iat => set_once!(p.iat, "iat", map),
                        ClaimKey::Orig => set_once!(p.orig, "orig", map),
                        ClaimKey::Dest => set_once!(p.dest, "dest", map),
                        ClaimKey::Attest => set_once!(p.attest, "attest", map),
                        ClaimKey::Origid => set_once!(p.origid, "origid", map),
                        ClaimKey::Div => set_once!(p.div, "div", map),
                        ClaimKey::Rcd => set_once!(p.rcd, "rcd", map),
                        ClaimKey::Rcdi => set_once!(p.rcdi, "rcdi", map),
                        ClaimKey::Crn => set_once!(p.crn, "crn", map),
                        ClaimKey::Other(name) => {
                            let value: Value = map.next_value()?;
                            if p.other.insert(name, value).is_some() {
                                return Err(de::Error::custom("duplicate claim"));
                            }
                        }
                    }
                }
                Ok(p)
            }
        }
        d.deserialize_map(V)
    }
}

/// `iat` must be an integer; floats and strings are refused.
struct IntClaim(i64);

impl<'de> serde::Deserialize<'de> for IntClaim {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IntClaim;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("iat as an integer number of seconds")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IntClaim, E> {
                Ok(IntClaim(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IntClaim, E> {
                i64::try_from(v)
                    .map(IntClaim)
                    .map_err(|_| E::custom("iat out of range"))
            }
        }
        d.deserialize_i64(V)
    }
}

struct PartyClaim(Party);

impl<'de> serde::Deserialize<'de> for PartyClaim {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PartyClaim;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object with exactly one of \"tn\" or \"uri\"")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PartyClaim, A::Error> {
                let mut party = None;
                while let Some(key) = map.next_key::<Short>()? {
                    let next = match key.0.as_str() {
                        "tn" => Party::Tn(map.next_value()?),
                        "uri" => Party::Uri(map.next_value()?),
                        _ => {
                            // Unknown members of orig/div are ignored (forward compatibility).
                            map.next_value::<de::IgnoredAny>()?;
                            continue;
                        }
                    };
                    if party.replace(next).is_some() {
                        return Err(de::Error::custom("more than one of \"tn\"/\"uri\""));
                    }
                }
                party
                    .map(PartyClaim)
                    .ok_or_else(|| de::Error::custom("neither \"tn\" nor \"uri\""))
            }
        }
        d.deserialize_map(V)
    }
}

struct DestClaim(Destination);

impl<'de> serde::Deserialize<'de> for DestClaim {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DestClaim;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object with \"tn\" and/or \"uri\" arrays")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DestClaim, A::Error> {
                let mut dest = Destination::default();
                let (mut seen_tn, mut seen_uri) = (false, false);
                while let Some(key) = map.next_key::<Short>()? {
                    match key.0.as_str() {
                        "tn" if !seen_tn => {
                            seen_tn = true;
                            dest.tn = map.next_value::<Bounded<TelephoneNumber>>()?.0;
                        }
                        "uri" if !seen_uri => {
                            seen_uri = true;
                            dest.uri = map.next_value::<Bounded<String>>()?.0;
                        }
                        "tn" | "uri" => return Err(de::Error::custom("duplicate member in dest")),
                        _ => {
                            map.next_value::<de::IgnoredAny>()?;
                        }
                    }
                }
                if dest.tn.is_empty() && dest.uri.is_empty() {
                    return Err(de::Error::custom("dest has no tn or uri"));
                }
                Ok(DestClaim(dest))
            }
        }
        d.deserialize_map(V)
    }
}

/// A JSON array of at most [`MAX_DEST`] items.
struct Bounded<T>(Vec<T>);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Bounded<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Bounded<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an array of at most {MAX_DEST} items")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Bounded<T>, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(4));
                while let Some(item) = seq.next_element()? {
                    if items.len() == MAX_DEST {
                        return Err(de::Error::custom(format_args!(
                            "more than {MAX_DEST} items"
                        )));
                    }
                    items.push(item);
                }
                Ok(Bounded(items))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

/// A short key string (member names inside claims).
struct Short(String);

impl<'de> serde::Deserialize<'de> for Short {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Short)
    }
}

struct RcdClaim(Rcd);

impl<'de> serde::Deserialize<'de> for RcdClaim {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RcdClaim;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an rcd object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RcdClaim, A::Error> {
                let mut rcd = Rcd::default();
                while let Some(key) = map.next_key::<Short>()? {
                    let dup = match key.0.as_str() {
                        "nam" => rcd.nam.replace(map.next_value()?).is_some(),
                        "icn" => rcd.icn.replace(map.next_value()?).is_some(),
                        "jcl" => rcd.jcl.replace(map.next_value()?).is_some(),
                        "jcd" => rcd.jcd.replace(map.next_value()?).is_some(),
                        _ => rcd.other.insert(key.0, map.next_value()?).is_some(),
                    };
                    if dup {
                        return Err(de::Error::custom("duplicate member in rcd"));
                    }
                }
                Ok(RcdClaim(rcd))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tn(s: &str) -> TelephoneNumber {
        TelephoneNumber::parse(s).unwrap()
    }

    #[test]
    fn shaken_claims_serialise_canonically() {
        let c = Claims::shaken(
            1_443_208_345,
            tn("12155551212"),
            vec![tn("12125551213")],
            Attestation::A,
            "123e4567-e89b-12d3-a456-426655440000",
        );
        assert_eq!(
            c.to_canonical_json(),
            r#"{"attest":"A","dest":{"tn":["12125551213"]},"iat":1443208345,"orig":{"tn":"12155551212"},"origid":"123e4567-e89b-12d3-a456-426655440000"}"#
        );
        assert_eq!(
            Claims::from_json(c.to_canonical_json().as_bytes()).unwrap(),
            c
        );
    }

    #[test]
    fn unknown_claims_are_kept_and_sorted_in() {
        let json = br#"{"zzz":{"b":1,"a":2},"orig":{"tn":"1"},"dest":{"uri":["sip:a@b"]},"iat":5,"mky":true,"aaa":null}"#;
        let c = Claims::from_json(json).unwrap();
        assert_eq!(
            c.to_canonical_json(),
            r#"{"aaa":null,"dest":{"uri":["sip:a@b"]},"iat":5,"mky":true,"orig":{"tn":"1"},"zzz":{"a":2,"b":1}}"#
        );
    }

    #[test]
    fn rcd_claims_round_trip() {
        let json = r#"{"crn":"Appointment reminder","dest":{"tn":["12125551213"]},"iat":1,"orig":{"tn":"12155551212"},"rcd":{"apn":"x","icn":"https://example.org/logo.png","nam":"Example Bank"},"rcdi":{"/icn":"sha256-abc"}}"#;
        let c = Claims::from_json(json.as_bytes()).unwrap();
        assert_eq!(c.rcd.as_ref().unwrap().nam.as_deref(), Some("Example Bank"));
        assert_eq!(c.to_canonical_json(), json);
    }

    #[test]
    fn bad_claims_are_refused() {
        let bad: &[&[u8]] = &[
            br#"{"orig":{"tn":"1"},"dest":{"tn":["2"]}}"#,
            br#"{"iat":1.5,"orig":{"tn":"1"},"dest":{"tn":["2"]}}"#,
            br#"{"iat":"1","orig":{"tn":"1"},"dest":{"tn":["2"]}}"#,
            br#"{"iat":1,"iat":2,"orig":{"tn":"1"},"dest":{"tn":["2"]}}"#,
            br#"{"iat":1,"orig":{"tn":"1","uri":"x"},"dest":{"tn":["2"]}}"#,
            br#"{"iat":1,"orig":{},"dest":{"tn":["2"]}}"#,
            br#"{"iat":1,"orig":{"tn":"1"},"dest":{}}"#,
            br#"{"iat":1,"orig":{"tn":"1"},"dest":{"tn":["2"]},"attest":"D"}"#,
            br#"{"iat":1,"orig":{"tn":"abc"},"dest":{"tn":["2"]}}"#,
            br#"[1,2]"#,
            b"not json",
        ];
        for json in bad {
            assert!(
                Claims::from_json(json).is_err(),
                "{}",
                String::from_utf8_lossy(json)
            );
        }
        let many: Vec<String> = (0..=MAX_DEST).map(|i| format!("\"{i}\"")).collect();
        let json = format!(
            r#"{{"iat":1,"orig":{{"tn":"1"}},"dest":{{"tn":[{}]}}}}"#,
            many.join(",")
        );
        assert!(Claims::from_json(json.as_bytes()).is_err());
    }
}
