//! JWS compact serialisation of PASSporTs (RFC 7515, RFC 8225): the protected header, and
//! decoding a received token without changing a byte of what was signed.

use std::collections::BTreeMap;
use std::fmt;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::{Engine as _, alphabet};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::claims::{Claims, ClaimsError};
use crate::error::{TokenPart, VerifyError};
use crate::json::{ObjectWriter, write_str, write_value};
use crate::key::ES256_SIGNATURE_LEN;

/// base64url without padding on output; padding tolerated on input (some deployed signers
/// emit it).
pub(crate) const B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The PASSporT types (`ppt`) this crate signs and verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ppt {
    /// SHAKEN (RFC 8588).
    Shaken,
    /// Diversion (RFC 8946).
    Div,
    /// Rich Call Data (RFC 9795).
    Rcd,
}

impl Ppt {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Shaken => "shaken",
            Self::Div => "div",
            Self::Rcd => "rcd",
        }
    }

    /// Parses a wire name (case-sensitive, as JSON values are).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "shaken" => Some(Self::Shaken),
            "div" => Some(Self::Div),
            "rcd" => Some(Self::Rcd),
            _ => None,
        }
    }
}

impl fmt::Display for Ppt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The JOSE protected header of a PASSporT.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProtectedHeader {
    /// `alg`; PASSporT requires `ES256`.
    pub alg: Option<String>,
    /// `typ`; PASSporT requires `passport`.
    pub typ: Option<String>,
    /// `ppt`, the extension type.
    pub ppt: Option<String>,
    /// `x5u`, the certificate URL.
    pub x5u: Option<String>,
    /// Other header parameters, kept as received.
    pub other: BTreeMap<String, Value>,
}

impl ProtectedHeader {
    /// The header of an ES256 PASSporT of type `ppt` whose certificate is at `x5u`.
    pub fn passport(ppt: Ppt, x5u: &str) -> Self {
        Self {
            alg: Some("ES256".into()),
            typ: Some("passport".into()),
            ppt: Some(ppt.as_str().into()),
            x5u: Some(x5u.into()),
            other: BTreeMap::new(),
        }
    }

    /// Canonical JSON: keys sorted, no whitespace.
    pub fn to_canonical_json(&self) -> String {
        let mut out = String::with_capacity(128);
        let known = [
            ("alg", self.alg.as_deref()),
            ("ppt", self.ppt.as_deref()),
            ("typ", self.typ.as_deref()),
            ("x5u", self.x5u.as_deref()),
        ];
        let mut obj = ObjectWriter::new(&mut out);
        let mut extra = self.other.iter().peekable();
        for (key, value) in known {
            while let Some((k, v)) = extra.next_if(|(k, _)| k.as_str() < key) {
                write_value(obj.key(k), v);
            }
            if let Some(value) = value {
                write_str(obj.key(key), value);
            }
        }
        for (k, v) in extra {
            write_value(obj.key(k), v);
        }
        obj.finish();
        out
    }
}

impl<'de> serde::Deserialize<'de> for ProtectedHeader {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ProtectedHeader;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JOSE header object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ProtectedHeader, A::Error> {
                let mut h = ProtectedHeader::default();
                while let Some(key) = map.next_key::<String>()? {
                    let dup = match key.as_str() {
                        "alg" => h.alg.replace(map.next_value()?).is_some(),
                        "typ" => h.typ.replace(map.next_value()?).is_some(),
                        "ppt" => h.ppt.replace(map.next_value()?).is_some(),
                        "x5u" => h.x5u.replace(map.next_value()?).is_some(),
                        _ => h.other.insert(key, map.next_value()?).is_some(),
                    };
                    if dup {
                        return Err(de::Error::custom("duplicate header parameter"));
                    }
                }
                Ok(h)
            }
        }
        d.deserialize_map(V)
    }
}

/// A received PASSporT, decoded but not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedPassport<'a> {
    /// The protected header.
    pub header: ProtectedHeader,
    /// The claims.
    pub claims: Claims,
    /// `base64url(header) "." base64url(payload)`, exactly as received: what was signed.
    pub signing_input: &'a str,
    /// The raw `r || s` signature.
    pub signature: [u8; ES256_SIGNATURE_LEN],
}

fn malformed(part: TokenPart, reason: impl fmt::Display) -> VerifyError {
    VerifyError::TokenMalformed {
        part,
        reason: reason.to_string(),
    }
}

/// Decodes a full compact JWS `header.payload.signature`.
pub fn decode(token: &str) -> Result<DecodedPassport<'_>, VerifyError> {
    let mut parts = token.splitn(3, '.');
    let (Some(h64), Some(p64), Some(s64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(malformed(
            TokenPart::Structure,
            "expected header.payload.signature",
        ));
    };
    if s64.contains('.') {
        return Err(malformed(TokenPart::Structure, "more than three parts"));
    }
    let signing_input = token.get(..h64.len() + 1 + p64.len()).unwrap_or_default();
    let mut buf = Vec::with_capacity(p64.len());
    B64URL
        .decode_vec(h64, &mut buf)
        .map_err(|e| malformed(TokenPart::Header, e))?;
    let header: ProtectedHeader =
        serde_json::from_slice(&buf).map_err(|e| malformed(TokenPart::Header, e))?;
    buf.clear();
    B64URL
        .decode_vec(p64, &mut buf)
        .map_err(|e| malformed(TokenPart::Payload, e))?;
    let claims = Claims::from_json(&buf).map_err(claims_error)?;
    // 64 bytes are 86 base64url characters (88 padded); refuse far longer input unread.
    if s64.len() > 2 * ES256_SIGNATURE_LEN {
        return Err(malformed(
            TokenPart::Signature,
            format_args!("{} characters, expected 86", s64.len()),
        ));
    }
    buf.clear();
    B64URL
        .decode_vec(s64, &mut buf)
        .map_err(|e| malformed(TokenPart::Signature, e))?;
    let signature: [u8; ES256_SIGNATURE_LEN] = buf.as_slice().try_into().map_err(|_| {
        malformed(
            TokenPart::Signature,
            format_args!("{} bytes, expected 64 (ES256 r || s)", buf.len()),
        )
    })?;
    Ok(DecodedPassport {
        header,
        claims,
        signing_input,
        signature,
    })
}

fn claims_error(e: ClaimsError) -> VerifyError {
    match e {
        ClaimsError::Missing(claim) => VerifyError::MissingClaim { claim },
        ClaimsError::Invalid { claim, reason } => VerifyError::InvalidClaim { claim, reason },
        ClaimsError::Json(reason) => malformed(TokenPart::Payload, reason),
    }
}

/// Decodes header and payload of a token for display, without any check of the signature.
pub fn decode_unverified_json(token: &str) -> Result<(Value, Value), VerifyError> {
    let mut parts = token.split('.');
    let (Some(h64), Some(p64)) = (parts.next(), parts.next()) else {
        return Err(malformed(
            TokenPart::Structure,
            "expected header.payload.signature",
        ));
    };
    let h = B64URL
        .decode(h64)
        .map_err(|e| malformed(TokenPart::Header, e))?;
    let p = B64URL
        .decode(p64)
        .map_err(|e| malformed(TokenPart::Payload, e))?;
    let h = serde_json::from_slice(&h).map_err(|e| malformed(TokenPart::Header, e))?;
    let p = serde_json::from_slice(&p).map_err(|e| malformed(TokenPart::Payload, e))?;
    Ok((h, p))
}

/// Rebuilds the full token of a compact-form Identity header (RFC 8224 section 7): the
/// header and claims come from the SIP request (and, for SHAKEN, from the caller), in
/// canonical JSON; the signature is the one received.
pub fn reconstruct_full(header: &ProtectedHeader, claims: &Claims, signature_b64: &str) -> String {
    let mut out = String::with_capacity(512);
    B64URL.encode_string(header.to_canonical_json(), &mut out);
    out.push('.');
    B64URL.encode_string(claims.to_canonical_json(), &mut out);
    out.push('.');
    out.push_str(signature_b64);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_canonical_and_round_trips() {
        let h = ProtectedHeader::passport(Ppt::Shaken, "https://cert.example.org/passport.cer");
        let json = h.to_canonical_json();
        assert_eq!(
            json,
            r#"{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://cert.example.org/passport.cer"}"#
        );
        assert_eq!(serde_json::from_str::<ProtectedHeader>(&json).unwrap(), h);
        let mut with_extra = h.clone();
        with_extra.other.insert("kid".into(), Value::from("k1"));
        with_extra
            .other
            .insert("crit".into(), Value::from(vec!["x"]));
        assert_eq!(
            with_extra.to_canonical_json(),
            r#"{"alg":"ES256","crit":["x"],"kid":"k1","ppt":"shaken","typ":"passport","x5u":"https://cert.example.org/passport.cer"}"#
        );
    }

    #[test]
    fn decode_reports_which_part_is_broken() {
        let part = |t: &str| match decode(t) {
            Err(VerifyError::TokenMalformed { part, .. }) => Some(part),
            Err(VerifyError::MissingClaim { .. }) => None,
            other => panic!("{other:?}"),
        };
        assert_eq!(part("abc"), Some(TokenPart::Structure));
        assert_eq!(part("a.b.c.d"), Some(TokenPart::Structure));
        assert_eq!(part("!!!.e30.c2ln"), Some(TokenPart::Header));
        assert_eq!(part("bm90IGpzb24.e30.c2ln"), Some(TokenPart::Header));
        assert_eq!(part("e30.bm90IGpzb24.c2ln"), Some(TokenPart::Payload));
        assert_eq!(part("e30.e30.c2ln"), None);
    }
}
