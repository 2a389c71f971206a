//! The SIP Identity header (RFC 8224 section 4):
//! `<jws>;info=<https://...>;alg=ES256;ppt=shaken`.
//!
//! Parsing is strict about structure and bounded in size, and lenient where deployed
//! implementations differ: parameter names are case-insensitive, whitespace may surround
//! `;` and `=`, `ppt` may be quoted, and unknown parameters are kept. The compact form
//! (`..signature`, header and payload omitted) is recognised; whether it is acceptable is
//! the verifier's policy.

use std::borrow::Cow;
use std::fmt;

/// The longest Identity header value accepted. A SHAKEN PASSporT is about 500 bytes and one
/// with Rich Call Data a few kilobytes; anything beyond this is refused before parsing.
pub const MAX_IDENTITY_LEN: usize = 8192;

/// The most parameters accepted on one Identity header.
pub const MAX_PARAMS: usize = 16;

/// Why an Identity header value could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The value is empty.
    #[error("empty Identity header")]
    Empty,
    /// The value exceeds [`MAX_IDENTITY_LEN`].
    #[error("Identity header of {len} bytes exceeds the limit of {max}")]
    TooLong {
        /// The length received.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The signed-identity-digest is not three base64url parts (or the compact `..sig`).
    #[error("the signed identity is not a compact JWS: {reason}")]
    BadToken {
        /// What is wrong.
        reason: &'static str,
    },
    /// A parameter is syntactically broken.
    #[error("malformed Identity parameter near byte {pos}: {reason}")]
    BadParam {
        /// Byte offset in the header value.
        pos: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A parameter appears twice.
    #[error("duplicate Identity parameter {name:?}")]
    DuplicateParam {
        /// The parameter name.
        name: String,
    },
    /// More than [`MAX_PARAMS`] parameters.
    #[error("more than {max} Identity parameters")]
    TooManyParams {
        /// The limit.
        max: usize,
    },
}

/// The signed identity: a full compact JWS, or the compact form with only the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    /// `header.payload.signature`.
    Full(&'a str),
    /// `..signature`: header and payload are to be rebuilt from SIP (RFC 8224 section 7).
    Compact {
        /// The base64url signature.
        signature: &'a str,
    },
}

impl<'a> Token<'a> {
    /// The token as it appears in the header.
    pub fn as_str(&self) -> Cow<'a, str> {
        match self {
            Token::Full(t) => Cow::Borrowed(t),
            Token::Compact { signature } => Cow::Owned(format!("..{signature}")),
        }
    }
}

/// A parsed Identity header value, borrowing from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityHeader<'a> {
    /// The signed identity.
    pub token: Token<'a>,
    /// The `info` URL without its angle brackets.
    pub info: Option<&'a str>,
    /// The `alg` parameter.
    pub alg: Option<Cow<'a, str>>,
    /// The `ppt` parameter, unquoted.
    pub ppt: Option<Cow<'a, str>>,
    /// Other parameters, in order, with their raw values.
    pub extensions: Vec<(&'a str, Option<Cow<'a, str>>)>,
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

impl<'a> IdentityHeader<'a> {
    /// Parses one Identity header value.
    pub fn parse(value: &'a str) -> Result<Self, IdentityError> {
        if value.len() > MAX_IDENTITY_LEN {
            return Err(IdentityError::TooLong {
                len: value.len(),
                max: MAX_IDENTITY_LEN,
            });
        }
        let bytes = value.as_bytes();
        let mut pos = skip_ws(bytes, 0);
        let token_start = pos;
        while bytes.get(pos).is_some_and(|&b| is_b64url(b) || b == b'.') {
            pos += 1;
        }
        let token_str = value.get(token_start..pos).unwrap_or_default();
        if token_str.is_empty() {
            return Err(if bytes.iter().all(u8::is_ascii_whitespace) {
                IdentityError::Empty
            } else {
                IdentityError::BadToken {
                    reason: "no base64url token before the parameters",
                }
            });
        }
        let token = parse_token(token_str)?;
        pos = skip_ws(bytes, pos);
        let mut header = IdentityHeader {
            token,
            info: None,
            alg: None,
            ppt: None,
            extensions: Vec::new(),
        };
        let mut count = 0;
        while pos < bytes.len() {
            if bytes.get(pos) != Some(&b';') {
                return Err(IdentityError::BadParam {
                    pos,
                    reason: "expected ';'",
                });
            }
            count += 1;
            if count > MAX_PARAMS {
                return Err(IdentityError::TooManyParams { max: MAX_PARAMS });
            }
            pos = skip_ws(bytes, pos + 1);
            let name_start = pos;
            while bytes.get(pos).is_some_and(|&b| is_token_char(b)) {
                pos += 1;
            }
            let name = value.get(name_start..pos).unwrap_or_default();
            if name.is_empty() {
                return Err(IdentityError::BadParam {
                    pos,
                    reason: "empty parameter name",
                });
            }
            pos = skip_ws(bytes, pos);
            let mut param_value = None;
            let mut bracketed = false;
            if bytes.get(pos) == Some(&b'=') {
                pos = skip_ws(bytes, pos + 1);
                let (v, next, was_bracketed) = parse_value(value, pos)?;
                param_value = Some(v);
                bracketed = was_bracketed;
                pos = skip_ws(bytes, next);
            }
            header.set(name, param_value, bracketed)?;
        }
        Ok(header)
    }

    fn set(
        &mut self,
        name: &'a str,
        value: Option<Cow<'a, str>>,
        bracketed: bool,
    ) -> Result<(), IdentityError> {
        let dup = || IdentityError::DuplicateParam {
            name: name.to_ascii_lowercase(),
        };
        if name.eq_ignore_ascii_case("info") {
            let Some(Cow::Borrowed(url)) = value.filter(|_| bracketed) else {
                return Err(IdentityError::BadParam {
                    pos: 0,
                    reason: "info must be a URI in angle brackets",
                });
            };
            if self.info.replace(url).is_some() {
                return Err(dup());
            }
        } else if name.eq_ignore_ascii_case("alg") {
            if self.alg.replace(value.unwrap_or_default()).is_some() {
                return Err(dup());
            }
        } else if name.eq_ignore_ascii_case("ppt") {
            if self.ppt.replace(value.unwrap_or_default()).is_some() {
                return Err(dup());
            }
        } else {
            if self
                .extensions
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                return Err(dup());
            }
            self.extensions.push((name, value));
        }
        Ok(())
    }

    /// Serialises in the canonical order: token, info, alg, ppt, then the other parameters.
    pub fn to_header_value(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for IdentityHeader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.token.as_str())?;
        if let Some(info) = self.info {
            write!(f, ";info=<{info}>")?;
        }
        // `alg` and `ppt` keep no distinction between `;ppt` and `;ppt=""`: both are "".
        match self.alg.as_deref() {
            Some("") => f.write_str(";alg")?,
            v => write_param(f, "alg", v)?,
        }
        match self.ppt.as_deref() {
            Some("") => f.write_str(";ppt")?,
            v => write_param(f, "ppt", v)?,
        }
        for (name, value) in &self.extensions {
            match value {
                Some(v) => write_param(f, name, Some(v))?,
                None => write!(f, ";{name}")?,
            }
        }
        Ok(())
    }
}

/// Writes `;name=value`, quoting a value that is not a token (so it parses back as the same
/// value and can never spill into new parameters).
fn write_param(f: &mut fmt::Formatter<'_>, name: &str, value: Option<&str>) -> fmt::Result {
    match value {
        None => Ok(()),
        Some(v) if !v.is_empty() && v.bytes().all(is_token_char) => write!(f, ";{name}={v}"),
        Some(v) => write!(
            f,
            ";{name}=\"{}\"",
            v.replace('\\', "\\\\").replace('"', "\\\"")
        ),
    }
}

fn parse_token(t: &str) -> Result<Token<'_>, IdentityError> {
    let mut parts = t.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdentityError::BadToken {
            reason: "expected three '.'-separated parts",
        });
    };
    if s.is_empty() {
        return Err(IdentityError::BadToken {
            reason: "the signature part is empty",
        });
    }
    match (h.is_empty(), p.is_empty()) {
        (true, true) => Ok(Token::Compact { signature: s }),
        (false, false) => Ok(Token::Full(t)),
        _ => Err(IdentityError::BadToken {
            reason: "only one of header and payload is present",
        }),
    }
}

fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while bytes
        .get(pos)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    {
        pos += 1;
    }
    pos
}

/// RFC 3261 `token` characters.
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// Parses a parameter value at `pos`: `<uri>`, a quoted string, or a token. Returns the
/// value, the position after it, and whether it was in angle brackets.
fn parse_value(value: &str, pos: usize) -> Result<(Cow<'_, str>, usize, bool), IdentityError> {
    let bytes = value.as_bytes();
    match bytes.get(pos) {
        Some(b'<') => {
            let start = pos + 1;
            let len = bytes
                .get(start..)
                .and_then(|rest| rest.iter().position(|&b| b == b'>'))
                .ok_or(IdentityError::BadParam {
                    pos,
                    reason: "unterminated '<'",
                })?;
            let uri = value.get(start..start + len).unwrap_or_default();
            if uri.is_empty() || uri.bytes().any(|b| b.is_ascii_whitespace() || b == b'<') {
                return Err(IdentityError::BadParam {
                    pos,
                    reason: "invalid URI in angle brackets",
                });
            }
            Ok((Cow::Borrowed(uri), start + len + 1, true))
        }
        Some(b'"') => {
            let mut out = String::new();
            let mut i = pos + 1;
            let mut escaped = false;
            loop {
                let Some(&b) = bytes.get(i) else {
                    return Err(IdentityError::BadParam {
                        pos,
                        reason: "unterminated quoted string",
                    });
                };
                match (escaped, b) {
                    (false, b'\\') => escaped = true,
                    (false, b'"') => break,
                    _ => {
                        escaped = false;
                        // Quoted strings are ASCII-safe to slice byte-wise only when ASCII.
                        let ch_len = utf8_len(b);
                        out.push_str(value.get(i..i + ch_len).ok_or(IdentityError::BadParam {
                            pos: i,
                            reason: "invalid UTF-8 in quoted string",
                        })?);
                        i += ch_len - 1;
                    }
                }
                i += 1;
            }
            Ok((Cow::Owned(out), i + 1, false))
        }
        _ => {
            let start = pos;
            let mut i = pos;
            while bytes.get(i).is_some_and(|&b| is_token_char(b)) {
                i += 1;
            }
            if i == start {
                return Err(IdentityError::BadParam {
                    pos,
                    reason: "empty parameter value",
                });
            }
            Ok((
                Cow::Borrowed(value.get(start..i).unwrap_or_default()),
                i,
                false,
            ))
        }
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpYXQiOjF9.c2ln";

    #[test]
    fn full_form_parses_with_every_variant_of_spacing_case_and_quoting() {
        for v in [
            format!("{T};info=<https://cert.example.org/passport.cer>;alg=ES256;ppt=shaken"),
            format!(
                "{T} ; INFO = <https://cert.example.org/passport.cer> ;Alg=ES256; PPT=\"shaken\""
            ),
            format!("  {T};ppt=shaken;info=<https://cert.example.org/passport.cer>;alg=ES256  "),
        ] {
            let h = IdentityHeader::parse(&v).unwrap();
            assert_eq!(h.token, Token::Full(T));
            assert_eq!(h.info, Some("https://cert.example.org/passport.cer"));
            assert_eq!(h.alg.as_deref(), Some("ES256"));
            assert_eq!(h.ppt.as_deref(), Some("shaken"));
            assert_eq!(
                h.to_string(),
                format!("{T};info=<https://cert.example.org/passport.cer>;alg=ES256;ppt=shaken")
            );
        }
    }

    #[test]
    fn compact_form_and_extensions_are_recognised() {
        let h =
            IdentityHeader::parse("..c2ln;info=<https://x/y>;ppt=shaken;foo=\"a b\";bar").unwrap();
        assert_eq!(h.token, Token::Compact { signature: "c2ln" });
        assert_eq!(h.extensions.len(), 2);
        assert_eq!(
            h.to_string(),
            "..c2ln;info=<https://x/y>;ppt=shaken;foo=\"a b\";bar"
        );
    }

    #[test]
    fn malformed_headers_get_specific_errors() {
        let long = "a".repeat(MAX_IDENTITY_LEN + 1);
        type Check = fn(&IdentityError) -> bool;
        let cases: Vec<(String, Check)> = vec![
            (String::new(), |e| matches!(e, IdentityError::Empty)),
            (long, |e| matches!(e, IdentityError::TooLong { .. })),
            ("a.b;info=<x>".into(), |e| {
                matches!(e, IdentityError::BadToken { .. })
            }),
            ("a.b.c.d".into(), |e| {
                matches!(e, IdentityError::BadToken { .. })
            }),
            ("a..c".into(), |e| {
                matches!(e, IdentityError::BadToken { .. })
            }),
            ("a.b.".into(), |e| {
                matches!(e, IdentityError::BadToken { .. })
            }),
            (";info=<x>".into(), |e| {
                matches!(e, IdentityError::BadToken { .. })
            }),
            (format!("{T};info=https://x"), |e| {
                matches!(e, IdentityError::BadParam { .. })
            }),
            (format!("{T};info=<https://x"), |e| {
                matches!(e, IdentityError::BadParam { .. })
            }),
            (format!("{T};info=<a>;info=<b>"), |e| {
                matches!(e, IdentityError::DuplicateParam { .. })
            }),
            (format!("{T};ppt=\"shaken"), |e| {
                matches!(e, IdentityError::BadParam { .. })
            }),
            (format!("{T} x"), |e| {
                matches!(e, IdentityError::BadParam { .. })
            }),
            (format!("{T};=x"), |e| {
                matches!(e, IdentityError::BadParam { .. })
            }),
            (format!("{T}{}", ";a".repeat(MAX_PARAMS + 1)), |e| {
                matches!(
                    e,
                    IdentityError::TooManyParams { .. } | IdentityError::DuplicateParam { .. }
                )
            }),
        ];
        for (v, want) in cases {
            let err = IdentityHeader::parse(&v).unwrap_err();
            assert!(want(&err), "{v:?} gave {err:?}");
        }
    }
}
