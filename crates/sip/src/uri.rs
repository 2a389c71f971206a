//! URIs in SIP messages (RFC 3261 section 19.1 and 25.1; `tel:` of RFC 3966; any other
//! `absoluteURI`).
//!
//! A `sip:`/`sips:` URI is parsed into its parts; a `tel:` URI and other schemes are checked
//! for URI characters only. The URI keeps the exact text it was parsed from, so it is
//! written back unchanged.

use std::fmt;

use passport::{TelephoneNumber, TnError};

use crate::SipError;
use crate::header::params::Params;

/// The longest URI accepted.
pub const MAX_URI_LEN: usize = 4096;

/// The scheme of a URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:`
    Sips,
    /// `tel:`
    Tel,
    /// Any other scheme; see [`Uri::scheme_str`].
    Other,
}

/// A URI: the text as received plus, for `sip:` and `sips:`, its parsed parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    raw: String,
    scheme: Scheme,
    scheme_len: usize,
    user: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    params: Params,
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        )
}

fn is_user_byte(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/')
}

fn is_password_byte(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',')
}

fn is_param_byte(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$')
}

fn is_header_byte(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$')
}

/// `uric`: reserved, unreserved and `%`, plus `#` and `[`/`]`, which `tel:` numbers and
/// IPv6 hosts in other schemes use in practice.
fn is_uric_byte(b: u8) -> bool {
    is_unreserved(b)
        || matches!(
            b,
            b';' | b'/'
                | b'?'
                | b':'
                | b'@'
                | b'&'
                | b'='
                | b'+'
                | b'$'
                | b','
                | b'#'
                | b'['
                | b']'
        )
}

/// Checks that every byte satisfies `ok` or starts a `%HH` escape.
fn check_escaped(s: &str, ok: impl Fn(u8) -> bool, what: &'static str) -> Result<(), &'static str> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return Err("malformed %-escape");
            }
            i += 3;
        } else if ok(b) {
            i += 1;
        } else {
            return Err(what);
        }
    }
    Ok(())
}

/// `hostname / IPv4address / IPv6reference`.
fn check_host(host: &str) -> Result<(), &'static str> {
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or("unterminated IPv6 reference")?;
        let ok = !inner.is_empty()
            && inner.contains(':')
            && inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        return if ok {
            Ok(())
        } else {
            Err("malformed IPv6 reference")
        };
    }
    if host.is_empty() {
        return Err("empty host");
    }
    // A fully qualified name may end with a dot.
    let name = host.strip_suffix('.').unwrap_or(host);
    for label in name.split('.') {
        let ok = !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err("malformed host name");
        }
    }
    Ok(())
}

/// Parses `host [":" port]`, returning the host and the port.
pub(crate) fn parse_hostport(s: &str) -> Result<(&str, Option<u16>), &'static str> {
    let (host, port) = if s.starts_with('[') {
        let close = s.find(']').ok_or("unterminated IPv6 reference")?;
        let (host, rest) = s.split_at_checked(close + 1).ok_or("malformed host")?;
        match rest.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if rest.is_empty() => (host, None),
            None => return Err("unexpected characters after the IPv6 reference"),
        }
    } else {
        match s.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (s, None),
        }
    };
    check_host(host)?;
    let port = port.map(parse_port).transpose()?;
    Ok((host, port))
}

fn parse_port(s: &str) -> Result<u16, &'static str> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("malformed port");
    }
    s.parse().map_err(|_| "port out of range")
}

impl Uri {
    /// Parses a URI as it appears in a Request-URI or inside `<...>`.
    pub fn parse(s: &str) -> Result<Self, SipError> {
        Self::parse_inner(s).map_err(|reason| SipError::BadUri { reason })
    }

    pub(crate) fn parse_inner(s: &str) -> Result<Self, &'static str> {
        if s.len() > MAX_URI_LEN {
            return Err("URI too long");
        }
        if s.is_empty() {
            return Err("empty URI");
        }
        let (scheme_str, rest) = s.split_once(':').ok_or("no scheme")?;
        let scheme_ok = scheme_str
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
            && scheme_str
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return Err("malformed scheme");
        }
        if rest.is_empty() {
            return Err("nothing after the scheme");
        }
        let scheme = if scheme_str.eq_ignore_ascii_case("sip") {
            Scheme::Sip
        } else if scheme_str.eq_ignore_ascii_case("sips") {
            Scheme::Sips
        } else if scheme_str.eq_ignore_ascii_case("tel") {
            Scheme::Tel
        } else {
            Scheme::Other
        };
        let mut uri = Uri {
            raw: s.to_owned(),
            scheme,
            scheme_len: scheme_str.len(),
            user: None,
            host: None,
            port: None,
            params: Params::default(),
        };
        match scheme {
            Scheme::Sip | Scheme::Sips => uri.parse_sip(rest)?,
            Scheme::Tel | Scheme::Other => {
                check_escaped(rest, is_uric_byte, "invalid URI character")?
            }
        }
        Ok(uri)
    }

    fn parse_sip(&mut self, rest: &str) -> Result<(), &'static str> {
        // userinfo ends at the first '@': neither hosts, parameters nor headers may hold an
        // unescaped '@'.
        let (userinfo, after_user) = match rest.split_once('@') {
            Some((userinfo, after)) => (Some(userinfo), after),
            None => (None, rest),
        };
        if let Some(userinfo) = userinfo {
            let (user, password) = match userinfo.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (userinfo, None),
            };
            if user.is_empty() {
                return Err("empty user part");
            }
            check_escaped(user, is_user_byte, "invalid character in the user part")?;
            if let Some(password) = password {
                check_escaped(
                    password,
                    is_password_byte,
                    "invalid character in the password",
                )?;
            }
            self.user = Some(user.to_owned());
        }
        let end = after_user.find([';', '?']).unwrap_or(after_user.len());
        let (hostport, tail) = after_user.split_at_checked(end).ok_or("malformed URI")?;
        let (host, port) = parse_hostport(hostport)?;
        self.host = Some(host.to_owned());
        self.port = port;
        let (params, headers) = match tail.split_once('?') {
            Some((params, headers)) => (params, Some(headers)),
            None => (tail, None),
        };
        if let Some(params) = params.strip_prefix(';') {
            for param in params.split(';') {
                let (name, value) = match param.split_once('=') {
                    Some((name, value)) => (name, Some(value)),
                    None => (param, None),
                };
                if name.is_empty() {
                    return Err("empty URI parameter name");
                }
                check_escaped(name, is_param_byte, "invalid character in a URI parameter")?;
                if let Some(value) = value {
                    if value.is_empty() {
                        return Err("empty URI parameter value");
                    }
                    check_escaped(value, is_param_byte, "invalid character in a URI parameter")?;
                }
                self.params.push_unchecked(name, value)?;
            }
        }
        if let Some(headers) = headers {
            for header in headers.split('&') {
                let (name, value) = header.split_once('=').ok_or("URI header without '='")?;
                if name.is_empty() {
                    return Err("empty URI header name");
                }
                check_escaped(name, is_header_byte, "invalid character in a URI header")?;
                check_escaped(value, is_header_byte, "invalid character in a URI header")?;
            }
        }
        Ok(())
    }

    /// The URI exactly as received.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The scheme as written, e.g. `sip` or `urn`.
    pub fn scheme_str(&self) -> &str {
        self.raw.get(..self.scheme_len).unwrap_or_default()
    }

    /// The user part of a `sip:`/`sips:` URI, still %-escaped, without the password.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The host of a `sip:`/`sips:` URI (IPv6 addresses keep their brackets).
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The port of a `sip:`/`sips:` URI, when given.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The `uri-parameters` of a `sip:`/`sips:` URI (`;user=phone`, `;transport=tcp`, ...).
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The telephone number this URI carries (RFC 8224 section 8.3 canonical form): a
    /// `tel:` URI, or a `sip:` URI whose user part is a number.
    pub fn telephone_number(&self) -> Result<TelephoneNumber, TnError> {
        TelephoneNumber::from_uri(&self.raw)
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl std::str::FromStr for Uri {
    type Err = SipError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_uris_parse_into_parts() {
        let u = Uri::parse("sip:+1-215-555-1212;npdi@Example.COM:5060;user=phone;lr?Subject=x")
            .unwrap();
        assert_eq!(u.scheme(), Scheme::Sip);
        assert_eq!(u.user(), Some("+1-215-555-1212;npdi"));
        assert_eq!(u.host(), Some("Example.COM"));
        assert_eq!(u.port(), Some(5060));
        assert_eq!(u.params().value("user"), Some("phone"));
        assert!(u.params().contains("lr"));
        assert_eq!(u.telephone_number().unwrap().as_str(), "12155551212");

        let u = Uri::parse("SIPS:[2001:db8::10]:5061").unwrap();
        assert_eq!(u.scheme(), Scheme::Sips);
        assert_eq!(u.scheme_str(), "SIPS");
        assert_eq!(u.host(), Some("[2001:db8::10]"));
        assert_eq!(u.user(), None);

        let u = Uri::parse("sip:%61lice:secret@atlanta.example.com.;transport=tcp").unwrap();
        assert_eq!(u.user(), Some("%61lice"));
        assert_eq!(u.host(), Some("atlanta.example.com."));
    }

    #[test]
    fn other_schemes_keep_their_text() {
        let u = Uri::parse("tel:+1-215-555-1212;phone-context=+1").unwrap();
        assert_eq!(u.scheme(), Scheme::Tel);
        assert_eq!(u.telephone_number().unwrap().as_str(), "12155551212");
        let u = Uri::parse("urn:service:sos").unwrap();
        assert_eq!(u.scheme(), Scheme::Other);
        assert_eq!(u.scheme_str(), "urn");
        assert_eq!(u.to_string(), "urn:service:sos");
    }

    #[test]
    fn malformed_uris_are_refused_with_a_reason() {
        let cases = [
            ("", "empty URI"),
            ("example.com", "no scheme"),
            ("1sip:a@b", "malformed scheme"),
            ("sip:", "nothing after the scheme"),
            ("sip:@example.com", "empty user part"),
            (
                "sip:al ice@example.com",
                "invalid character in the user part",
            ),
            ("sip:alice@exa_mple.com", "malformed host name"),
            ("sip:alice@-example.com", "malformed host name"),
            ("sip:alice@example..com", "malformed host name"),
            ("sip:alice@", "empty host"),
            ("sip:alice@example.com:", "malformed port"),
            ("sip:alice@example.com:70000", "port out of range"),
            ("sip:alice@[2001:db8::1", "unterminated IPv6 reference"),
            ("sip:alice@[zz]", "malformed IPv6 reference"),
            ("sip:alice@example.com;;lr", "empty URI parameter name"),
            ("sip:alice@example.com;lr;LR", "duplicate parameter"),
            ("sip:alice@example.com;a=", "empty URI parameter value"),
            ("sip:alice@example.com?x", "URI header without '='"),
            ("sip:a%4@example.com", "malformed %-escape"),
            ("tel:+1 215", "invalid URI character"),
            (
                "sip:<alice@example.com>",
                "invalid character in the user part",
            ),
        ];
        for (input, reason) in cases {
            assert_eq!(Uri::parse_inner(input).err(), Some(reason), "{input}");
        }
        assert!(matches!(
            Uri::parse(&format!("sip:{}@example.com", "a".repeat(MAX_URI_LEN))),
            Err(SipError::BadUri {
                reason: "URI too long"
            })
        ));
    }
}
