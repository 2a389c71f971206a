//! Telephone numbers in the canonical form of RFC 8224 section 8.3.
//!
//! A canonical telephone number keeps only the digits and the `*` and `#` keys: the leading
//! `+` and the visual separators of RFC 3966 (`-`, `.`, `(`, `)`, and spaces) are removed.
//! Numbers are taken from bare strings, or from the `sip:`/`sips:`/`tel:` URIs found in
//! From, To and P-Asserted-Identity (with or without a name-addr around them).

use std::fmt;

/// The longest canonical number accepted. E.164 numbers have at most 15 digits; the margin
/// leaves room for national special-service numbers and prefixes without being unbounded.
pub const MAX_TN_DIGITS: usize = 20;

/// The longest input (URI or number) examined at all. Anything longer is refused before
/// it is scanned.
pub const MAX_TN_INPUT: usize = 512;

/// A telephone number in canonical form: 1 to [`MAX_TN_DIGITS`] characters from `0-9*#`.
///
/// Stored inline, so it is `Copy` and costs no allocation on the hot path.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TelephoneNumber {
    len: u8,
    bytes: [u8; MAX_TN_DIGITS],
}

/// Why a string is not a telephone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TnError {
    /// Nothing remained after the separators were removed.
    #[error("the telephone number is empty")]
    Empty,
    /// More digits than [`MAX_TN_DIGITS`].
    #[error("the telephone number has {len} digits; at most {max} are allowed")]
    TooLong {
        /// Digits (or bytes of input) seen.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A character that is neither a digit, `*`, `#`, nor a visual separator.
    #[error("invalid character {ch:?} at position {pos} of the telephone number")]
    InvalidChar {
        /// The offending character.
        ch: char,
        /// Its byte offset in the number.
        pos: usize,
    },
    /// A `+` that is not the first character.
    #[error("'+' may only start a telephone number")]
    MisplacedPlus,
    /// A URI scheme other than `sip`, `sips` or `tel`.
    #[error("unsupported URI scheme {scheme:?}; expected sip, sips or tel")]
    UnsupportedScheme {
        /// The scheme found (truncated to 16 characters).
        scheme: String,
    },
    /// A `sip:` URI without a user part.
    #[error("the SIP URI has no user part")]
    NoUserPart,
    /// A local number whose `phone-context` is a domain name, which cannot be made global.
    #[error("local number with domain phone-context {context:?} cannot be canonicalised")]
    DomainPhoneContext {
        /// The phone-context value.
        context: String,
    },
    /// Malformed percent-encoding in a URI user part.
    #[error("malformed percent-encoding in the URI user part")]
    BadPercentEncoding,
}

impl TelephoneNumber {
    /// Canonicalises a bare number such as `+1 (215) 555-1212` into `12155551212`.
    pub fn parse(input: &str) -> Result<Self, TnError> {
        Self::canonicalise(input.as_bytes(), &[])
    }

    /// Builds a number from a canonical string, refusing anything but `0-9*#`.
    pub fn from_canonical(s: &str) -> Result<Self, TnError> {
        let mut out = Builder::default();
        for (pos, &b) in s.as_bytes().iter().enumerate() {
            match b {
                b'0'..=b'9' | b'*' | b'#' => out.push(b)?,
                _ => return Err(invalid_char(s.as_bytes(), pos)),
            }
        }
        out.finish()
    }

    /// Takes the number from a `sip:`, `sips:` or `tel:` URI, optionally wrapped in a
    /// name-addr (`"Alice" <sip:+12155551212@example.com;user=phone>;tag=1`).
    ///
    /// A local number (no leading `+`) with `phone-context=+CC...` is prefixed with the
    /// context's digits; one with a domain-name phone-context cannot be canonicalised and is
    /// an error. The RFC 4904 `tgrp` and `trunk-context` parameters, and every other
    /// parameter, are ignored.
    pub fn from_uri(input: &str) -> Result<Self, TnError> {
        if input.len() > MAX_TN_INPUT {
            return Err(TnError::TooLong {
                len: input.len(),
                max: MAX_TN_INPUT,
            });
        }
        let uri = strip_name_addr(input.trim());
        let (scheme, rest) = uri
            .split_once(':')
            .ok_or_else(|| TnError::UnsupportedScheme {
                scheme: truncate(uri, 16),
            })?;
        let telephone_subscriber = if scheme.eq_ignore_ascii_case("tel") {
            // tel:number;params  (the URI's own parameters are the number's)
            rest
        } else if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
            // sip:user;user-params@host;uri-params  -- the number lives in the user part.
            let at = rest.rfind('@').ok_or(TnError::NoUserPart)?;
            let user = rest.get(..at).ok_or(TnError::NoUserPart)?;
            // Strip an optional ":password" (RFC 3261 userinfo).
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            if user.is_empty() {
                return Err(TnError::NoUserPart);
            }
            user
        } else {
            return Err(TnError::UnsupportedScheme {
                scheme: truncate(scheme, 16),
            });
        };
        let mut decoded = [0u8; MAX_TN_INPUT];
        let decoded = percent_decode(telephone_subscriber.as_bytes(), &mut decoded)?;
        let mut parts = decoded.split(|&b| b == b';');
        let number = parts.next().unwrap_or_default();
        let mut context: &[u8] = &[];
        for param in parts {
            let (name, value) = match param.iter().position(|&b| b == b'=') {
                Some(eq) => (
                    param.get(..eq).unwrap_or_default(),
                    param.get(eq + 1..).unwrap_or_default(),
                ),
                None => (param, &[][..]),
            };
            if name.eq_ignore_ascii_case(b"phone-context") {
                context = value;
            }
        }
        let is_global = number.first() == Some(&b'+');
        if is_global || context.is_empty() {
            return Self::canonicalise(number, &[]);
        }
        if context.first() == Some(&b'+') {
            // A global-number-digits context: its digits are the prefix of the local number.
            let prefix = Self::canonicalise(context, &[])?;
            return Self::canonicalise(number, prefix.as_str().as_bytes());
        }
        Err(TnError::DomainPhoneContext {
            context: truncate(&String::from_utf8_lossy(context), 64),
        })
    }

    /// The canonical form, e.g. `12155551212`.
    pub fn as_str(&self) -> &str {
        let digits = self.bytes.get(..usize::from(self.len)).unwrap_or_default();
        // Only ASCII `0-9*#` is ever stored.
        std::str::from_utf8(digits).unwrap_or_default()
    }

    /// True when the number consists of decimal digits only (no `*` or `#`).
    pub fn is_all_digits(&self) -> bool {
        self.as_str().bytes().all(|b| b.is_ascii_digit())
    }

    fn canonicalise(input: &[u8], prefix: &[u8]) -> Result<Self, TnError> {
        if input.len() > MAX_TN_INPUT {
            return Err(TnError::TooLong {
                len: input.len(),
                max: MAX_TN_INPUT,
            });
        }
        let mut out = Builder::default();
        for &b in prefix {
            out.push(b)?;
        }
        for (pos, &b) in input.iter().enumerate() {
            match b {
                b'0'..=b'9' | b'*' | b'#' => out.push(b)?,
                b'-' | b'.' | b'(' | b')' | b' ' => {}
                b'+' if pos == 0 => {}
                b'+' => return Err(TnError::MisplacedPlus),
                _ => return Err(invalid_char(input, pos)),
            }
        }
        out.finish()
    }
}

#[derive(Default)]
struct Builder {
    len: usize,
    bytes: [u8; MAX_TN_DIGITS],
}

impl Builder {
    fn push(&mut self, b: u8) -> Result<(), TnError> {
        match self.bytes.get_mut(self.len) {
            Some(slot) => {
                *slot = b;
                self.len += 1;
                Ok(())
            }
            None => Err(TnError::TooLong {
                len: self.len + 1,
                max: MAX_TN_DIGITS,
            }),
        }
    }

    fn finish(self) -> Result<TelephoneNumber, TnError> {
        if self.len == 0 {
            return Err(TnError::Empty);
        }
        let len = u8::try_from(self.len).map_err(|_| TnError::TooLong {
            len: self.len,
            max: MAX_TN_DIGITS,
        })?;
        Ok(TelephoneNumber {
            len,
            bytes: self.bytes,
        })
    }
}

fn invalid_char(input: &[u8], pos: usize) -> TnError {
    let ch = input
        .get(pos..)
        .and_then(|rest| String::from_utf8_lossy(rest).chars().next())
        .unwrap_or('\u{fffd}');
    TnError::InvalidChar { ch, pos }
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

/// `"Display" <uri>;params` -> `uri`; a bare URI loses its header parameters only when it
/// was in angle brackets (a bare URI's `;` parameters belong to the URI).
fn strip_name_addr(s: &str) -> &str {
    // Skip a quoted display name first: it may itself contain '<' and '>'.
    let mut start = 0;
    if s.starts_with('"') {
        let mut escaped = false;
        for (i, c) in s.char_indices().skip(1) {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    start = i + 1;
                    break;
                }
                _ => {}
            }
        }
    }
    let rest = s.get(start..).unwrap_or_default();
    match rest.find('<') {
        Some(open) => {
            let after = rest.get(open + 1..).unwrap_or_default();
            match after.find('>') {
                Some(close) => after.get(..close).unwrap_or(after),
                None => s,
            }
        }
        None => s,
    }
}

fn percent_decode<'a>(input: &[u8], buf: &'a mut [u8; MAX_TN_INPUT]) -> Result<&'a [u8], TnError> {
    let mut len = 0;
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        let out = if b == b'%' {
            let hi = input.get(i + 1).and_then(|&c| (c as char).to_digit(16));
            let lo = input.get(i + 2).and_then(|&c| (c as char).to_digit(16));
            match (hi, lo) {
                (Some(hi), Some(lo)) => {
                    i += 3;
                    u8::try_from(hi * 16 + lo).map_err(|_| TnError::BadPercentEncoding)?
                }
                _ => return Err(TnError::BadPercentEncoding),
            }
        } else {
            i += 1;
            b
        };
        let slot = buf.get_mut(len).ok_or(TnError::TooLong {
            len: input.len(),
            max: MAX_TN_INPUT,
        })?;
        *slot = out;
        len += 1;
    }
    Ok(buf.get(..len).unwrap_or_default())
}

impl fmt::Display for TelephoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TelephoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TelephoneNumber({})", self.as_str())
    }
}

impl std::str::FromStr for TelephoneNumber {
    type Err = TnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for TelephoneNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for TelephoneNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = TelephoneNumber;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a telephone number string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                TelephoneNumber::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_plus_are_removed() {
        assert_eq!(
            TelephoneNumber::parse("+1 (215) 555-1212")
                .unwrap()
                .as_str(),
            "12155551212"
        );
        assert_eq!(
            TelephoneNumber::parse("1.215.555.1212").unwrap().as_str(),
            "12155551212"
        );
        assert_eq!(TelephoneNumber::parse("*67#").unwrap().as_str(), "*67#");
    }

    #[test]
    fn bad_numbers_are_refused_with_a_reason() {
        assert_eq!(TelephoneNumber::parse(""), Err(TnError::Empty));
        assert_eq!(TelephoneNumber::parse("+-()"), Err(TnError::Empty));
        assert_eq!(TelephoneNumber::parse("1+2"), Err(TnError::MisplacedPlus));
        assert!(matches!(
            TelephoneNumber::parse("1800FLOWERS"),
            Err(TnError::InvalidChar { ch: 'F', pos: 4 })
        ));
        assert!(matches!(
            TelephoneNumber::parse(&"1".repeat(21)),
            Err(TnError::TooLong { .. })
        ));
        assert!(TelephoneNumber::parse(&"1".repeat(20)).is_ok());
    }

    #[test]
    fn numbers_come_out_of_sip_and_tel_uris() {
        let cases = [
            ("sip:+12155551212@example.com;user=phone", "12155551212"),
            (
                "<sip:+1-215-555-1212@example.com;user=phone>;tag=abc",
                "12155551212",
            ),
            ("\"Alice\" <sips:12155551212@10.0.0.1:5061>", "12155551212"),
            ("tel:+1-215-555-1212", "12155551212"),
            ("<tel:5551212;phone-context=+1-215>", "12155551212"),
            (
                "sip:5551212;phone-context=+1215@example.com;user=phone",
                "12155551212",
            ),
            (
                "tel:+12155551212;tgrp=TG-1;trunk-context=example.com",
                "12155551212",
            ),
            ("sip:%2B12155551212@example.com", "12155551212"),
            ("sip:+12155551212:secret@example.com", "12155551212"),
        ];
        for (uri, tn) in cases {
            assert_eq!(
                TelephoneNumber::from_uri(uri).unwrap().as_str(),
                tn,
                "{uri}"
            );
        }
    }

    #[test]
    fn uris_without_a_global_number_are_refused() {
        assert!(matches!(
            TelephoneNumber::from_uri("tel:5551212;phone-context=example.com"),
            Err(TnError::DomainPhoneContext { .. })
        ));
        assert!(matches!(
            TelephoneNumber::from_uri("sip:alice@example.com"),
            Err(TnError::InvalidChar { .. })
        ));
        assert!(matches!(
            TelephoneNumber::from_uri("mailto:a@b"),
            Err(TnError::UnsupportedScheme { .. })
        ));
        assert_eq!(
            TelephoneNumber::from_uri("sip:example.com"),
            Err(TnError::NoUserPart)
        );
        assert_eq!(
            TelephoneNumber::from_uri("sip:%zz@example.com"),
            Err(TnError::BadPercentEncoding)
        );
        assert!(matches!(
            TelephoneNumber::from_uri(&"9".repeat(600)),
            Err(TnError::TooLong { .. })
        ));
    }
}
