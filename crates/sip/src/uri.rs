//! URIs in SIP messages (RFC 3261 section 19.1 and 25.1; `tel:` of RFC 3966; any other
//! `absoluteURI`).
//!
//! A `sip:`/`sips:` URI is parsed into its parts; a `tel:` URI and other schemes are checked
//! for URI characters only. The URI keeps the exact text it was parsed from, so it is
//! written back unchanged.

use std::fmt;

use passport::{TelephoneNumber, TnError};

use crate::SipError;
use crate::grammar::{ByteSet, byte_set, find_byte, find_byte2, split_at_byte, split_by};
use crate::header::params::{Params, Spans};

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
#[derive(Clone)]
pub struct Uri {
    /// The URI parameters; their text is the whole URI as received.
    params: Params,
    scheme: Scheme,
    /// Positions in the URI, which is at most [`MAX_URI_LEN`] bytes long.
    scheme_len: u16,
    user: Option<(u16, u16)>,
    host: Option<(u16, u16)>,
    port: Option<u16>,
}

/// A position in a URI, which is at most [`MAX_URI_LEN`] bytes long.
fn short(range: Option<(usize, usize)>) -> Option<(u16, u16)> {
    let (start, end) = range?;
    Some((u16::try_from(start).ok()?, u16::try_from(end).ok()?))
}

/// A URI parsed in place: the parts of [`Uri`] as positions in the text, without a copy.
#[derive(Debug, Clone)]
pub(crate) struct UriRef<'a> {
    raw: &'a str,
    scheme: Scheme,
    scheme_len: usize,
    user: Option<(usize, usize)>,
    host: Option<(usize, usize)>,
    port: Option<u16>,
    params: Spans,
}

const fn is_unreserved_class(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        )
}

const fn is_user_byte_class(b: u8) -> bool {
    is_unreserved_class(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/')
}

const fn is_password_byte_class(b: u8) -> bool {
    is_unreserved_class(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',')
}

const fn is_param_byte_class(b: u8) -> bool {
    is_unreserved_class(b) || matches!(b, b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$')
}

const fn is_header_byte_class(b: u8) -> bool {
    is_unreserved_class(b) || matches!(b, b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$')
}

/// `uric`: reserved, unreserved and `%`, plus `#` and `[`/`]`, which `tel:` numbers and
/// IPv6 hosts in other schemes use in practice.
const fn is_uric_byte_class(b: u8) -> bool {
    is_unreserved_class(b)
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

static USER: ByteSet = byte_set!(is_user_byte_class);
static PASSWORD: ByteSet = byte_set!(is_password_byte_class);
static PARAM: ByteSet = byte_set!(is_param_byte_class);
static HEADER: ByteSet = byte_set!(is_header_byte_class);
static URIC: ByteSet = byte_set!(is_uric_byte_class);

fn is_user_byte(b: u8) -> bool {
    USER.contains(b)
}

fn is_password_byte(b: u8) -> bool {
    PASSWORD.contains(b)
}

fn is_param_byte(b: u8) -> bool {
    PARAM.contains(b)
}

fn is_header_byte(b: u8) -> bool {
    HEADER.contains(b)
}

fn is_uric_byte(b: u8) -> bool {
    URIC.contains(b)
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
    // A fully qualified name may end with a dot. Every label is letters, digits and '-',
    // not empty and neither starting nor ending with '-'.
    let name = host.strip_suffix('.').unwrap_or(host);
    let mut label_len = 0;
    let mut last = b'.';
    for &b in name.as_bytes() {
        if b == b'.' {
            if label_len == 0 || last == b'-' {
                return Err("malformed host name");
            }
            label_len = 0;
        } else if b.is_ascii_alphanumeric() || (b == b'-' && label_len > 0) {
            label_len += 1;
        } else {
            return Err("malformed host name");
        }
        last = b;
    }
    if label_len == 0 || last == b'-' {
        return Err("malformed host name");
    }
    Ok(())
}

/// Parses `host [":" port]`, returning the host and the port.
pub(crate) fn parse_hostport(s: &str) -> Result<(&str, Option<u16>), &'static str> {
    let (host, port) = if s.starts_with('[') {
        let close = find_byte(s.as_bytes(), b']').ok_or("unterminated IPv6 reference")?;
        let (host, rest) = s.split_at_checked(close + 1).ok_or("malformed host")?;
        match rest.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if rest.is_empty() => (host, None),
            None => return Err("unexpected characters after the IPv6 reference"),
        }
    } else {
        match split_at_byte(s, b':') {
            Some((host, port)) => (host, Some(port)),
            None => (s, None),
        }
    };
    let port = check_hostport(host, port)?;
    Ok((host, port))
}

/// Checks a host and an optional port already split apart, as [`parse_hostport`] does
/// after splitting.
pub(crate) fn check_hostport(host: &str, port: Option<&str>) -> Result<Option<u16>, &'static str> {
    check_host(host)?;
    port.map(parse_port).transpose()
}

fn parse_port(s: &str) -> Result<u16, &'static str> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("malformed port");
    }
    s.parse().map_err(|_| "port out of range")
}

impl<'a> UriRef<'a> {
    /// Parses a URI as it appears in a Request-URI or inside `<...>` (see [`Uri::parse`]).
    pub(crate) fn parse(s: &'a str) -> Result<Self, &'static str> {
        if s.len() > MAX_URI_LEN {
            return Err("URI too long");
        }
        if s.is_empty() {
            return Err("empty URI");
        }
        let (scheme_str, rest) = split_at_byte(s, b':').ok_or("no scheme")?;
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
        let mut uri = UriRef {
            raw: s,
            scheme,
            scheme_len: scheme_str.len(),
            user: None,
            host: None,
            port: None,
            params: Spans::default(),
        };
        match scheme {
            Scheme::Sip | Scheme::Sips => uri.parse_sip(rest, scheme_str.len() + 1)?,
            Scheme::Tel | Scheme::Other => {
                check_escaped(rest, is_uric_byte, "invalid URI character")?
            }
        }
        Ok(uri)
    }

    /// Parses the part of a `sip:`/`sips:` URI after the scheme: `rest`, at byte `base` of
    /// the URI.
    fn parse_sip(&mut self, rest: &str, base: usize) -> Result<(), &'static str> {
        // userinfo ends at the first '@': neither hosts, parameters nor headers may hold an
        // unescaped '@'.
        let (userinfo, after_user, after_base) = match split_at_byte(rest, b'@') {
            Some((userinfo, after)) => (Some(userinfo), after, base + userinfo.len() + 1),
            None => (None, rest, base),
        };
        if let Some(userinfo) = userinfo {
            let (user, password) = match split_at_byte(userinfo, b':') {
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
            self.user = Some((base, base + user.len()));
        }
        let end = find_byte2(after_user.as_bytes(), b';', b'?').unwrap_or(after_user.len());
        let (hostport, tail) = after_user.split_at_checked(end).ok_or("malformed URI")?;
        let (host, port) = parse_hostport(hostport)?;
        // The host starts the host-port.
        self.host = Some((after_base, after_base + host.len()));
        self.port = port;
        let (params, headers) = match split_at_byte(tail, b'?') {
            Some((params, headers)) => (params, Some(headers)),
            None => (tail, None),
        };
        if let Some(params) = params.strip_prefix(';') {
            // Where the parameter being read starts in the URI.
            let mut at = after_base + end + 1;
            for param in split_by(params, b';') {
                let (name, value) = match split_at_byte(param, b'=') {
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
                let name_at = (at, at + name.len());
                let value_at = value.map(|v| (at + name.len() + 1, at + name.len() + 1 + v.len()));
                self.params.push_checked(self.raw, name_at, value_at)?;
                at += param.len() + 1;
            }
        }
        if let Some(headers) = headers {
            for header in split_by(headers, b'&') {
                let (name, value) = split_at_byte(header, b'=').ok_or("URI header without '='")?;
                if name.is_empty() {
                    return Err("empty URI header name");
                }
                check_escaped(name, is_header_byte, "invalid character in a URI header")?;
                check_escaped(value, is_header_byte, "invalid character in a URI header")?;
            }
        }
        Ok(())
    }

    /// The telephone number this URI carries (see [`Uri::telephone_number`]).
    pub(crate) fn telephone_number(&self) -> Result<TelephoneNumber, TnError> {
        TelephoneNumber::from_uri(self.raw)
    }

    /// The owned URI.
    pub(crate) fn into_owned(self) -> Uri {
        Uri {
            params: Params::from_parts(self.raw.to_owned(), self.params),
            scheme: self.scheme,
            scheme_len: u16::try_from(self.scheme_len).unwrap_or(u16::MAX),
            user: short(self.user),
            host: short(self.host),
            port: self.port,
        }
    }
}

impl Uri {
    /// Parses a URI as it appears in a Request-URI or inside `<...>`.
    pub fn parse(s: &str) -> Result<Self, SipError> {
        Self::parse_inner(s).map_err(|reason| SipError::BadUri { reason })
    }

    pub(crate) fn parse_inner(s: &str) -> Result<Self, &'static str> {
        UriRef::parse(s).map(UriRef::into_owned)
    }

    fn part(&self, range: Option<(u16, u16)>) -> Option<&str> {
        let (start, end) = range?;
        self.as_str().get(usize::from(start)..usize::from(end))
    }

    /// The URI exactly as received.
    pub fn as_str(&self) -> &str {
        self.params.text()
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The scheme as written, e.g. `sip` or `urn`.
    pub fn scheme_str(&self) -> &str {
        self.as_str()
            .get(..usize::from(self.scheme_len))
            .unwrap_or_default()
    }

    /// The user part of a `sip:`/`sips:` URI, still %-escaped, without the password.
    pub fn user(&self) -> Option<&str> {
        self.part(self.user)
    }

    /// The host of a `sip:`/`sips:` URI (IPv6 addresses keep their brackets).
    pub fn host(&self) -> Option<&str> {
        self.part(self.host)
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
        TelephoneNumber::from_uri(self.as_str())
    }
}

impl PartialEq for Uri {
    /// Equal URIs are equal as received: the parts are read from the text.
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Uri {}

impl fmt::Debug for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Uri")
            .field("raw", &self.as_str())
            .field("scheme", &self.scheme)
            .field("user", &self.user())
            .field("host", &self.host())
            .field("port", &self.port)
            .field("params", &self.params)
            .finish()
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
