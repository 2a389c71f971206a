//! `( name-addr / addr-spec ) *( SEMI generic-param )` (RFC 3261 section 20.10 and 25.1):
//! the value of From, To, Contact, P-Asserted-Identity, Diversion and History-Info.

use std::fmt;

use passport::{TelephoneNumber, TnError};

use crate::SipError;
use crate::grammar::{
    Cursor, find_byte, is_token_byte, is_ws, quote, skip_quoted, split_at_byte, trim_ws,
    unquote_prefix,
};
use crate::header::params::{self, Params, Spans};
use crate::uri::{Uri, UriRef};

/// A display name, a URI and header parameters: `"Alice" <sip:alice@example.com>;tag=1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    display_name: Option<String>,
    uri: Uri,
    params: Params,
}

impl NameAddr {
    /// A bare URI, without display name or parameters.
    pub fn new(uri: Uri) -> Self {
        Self {
            display_name: None,
            uri,
            params: Params::default(),
        }
    }

    /// Sets the display name. Any text without control characters is accepted; it is
    /// always written quoted, with `"` and `\` escaped, so it cannot break the header.
    pub fn with_display_name(mut self, name: &str) -> Result<Self, SipError> {
        if name.chars().any(|c| c.is_control() && c != '\t') {
            return Err(SipError::InvalidValue {
                what: "display name",
                reason: "contains a control character",
            });
        }
        self.display_name = Some(name.to_owned());
        Ok(self)
    }

    /// Appends a header parameter (`;tag=...`, `;verstat=...` goes in the URI instead).
    pub fn with_param(mut self, name: &str, value: Option<&str>) -> Result<Self, SipError> {
        self.params
            .push(name, value)
            .map_err(|reason| SipError::InvalidValue {
                what: "header parameter",
                reason,
            })?;
        Ok(self)
    }

    /// Parses a name-addr or addr-spec with its parameters.
    pub fn parse(s: &str) -> Result<Self, SipError> {
        Self::parse_inner(s).map_err(|reason| SipError::BadHeaderValue {
            name: "name-addr",
            reason,
        })
    }

    pub(crate) fn parse_inner(s: &str) -> Result<Self, &'static str> {
        NameAddrRef::parse(s)?.into_owned()
    }

    /// The display name, unquoted.
    pub fn display_name(&self) -> Option<&str> {
        self.display_name.as_deref()
    }

    /// The URI.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The header parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The `tag` parameter (From and To).
    pub fn tag(&self) -> Option<&str> {
        self.params.value("tag")
    }

    /// The telephone number in the URI.
    pub fn telephone_number(&self) -> Result<TelephoneNumber, TnError> {
        self.uri.telephone_number()
    }
}

/// A display name as written.
#[derive(Debug, Clone, Copy)]
enum DisplayName<'a> {
    /// A quoted string, quotes included, still escaped.
    Quoted(&'a str),
    /// Tokens separated by white space.
    Plain(&'a str),
}

/// A name-addr parsed in place: the parts of [`NameAddr`] without a copy.
#[derive(Debug, Clone)]
pub(crate) struct NameAddrRef<'a> {
    display_name: Option<DisplayName<'a>>,
    uri: UriRef<'a>,
    params_text: &'a str,
    params: Spans,
}

impl<'a> NameAddrRef<'a> {
    /// Parses a name-addr or addr-spec with its parameters (see [`NameAddr::parse`]).
    pub(crate) fn parse(s: &'a str) -> Result<Self, &'static str> {
        let s = trim_ws(s);
        let mut c = Cursor::new(s);
        let display_name = if c.peek() == Some(b'"') {
            let len = skip_quoted(s)?;
            c.set_pos(len);
            c.skip_ws();
            if c.peek() != Some(b'<') {
                return Err("expected '<' after the display name");
            }
            Some(DisplayName::Quoted(s.get(..len).unwrap_or_default()))
        } else if let Some((before, _)) = split_at_byte(s, b'<') {
            // An unquoted display name is a sequence of tokens separated by white space.
            if !before.bytes().all(|b| is_token_byte(b) || is_ws(b)) {
                return Err("unquoted display name is not a sequence of tokens");
            }
            let name = trim_ws(before);
            c.take_while(|b| is_token_byte(b) || is_ws(b));
            (!name.is_empty()).then_some(DisplayName::Plain(name))
        } else {
            None
        };
        let (uri, params_text) = if c.eat(b'<') {
            let (uri, after) = split_at_byte(c.rest(), b'>').ok_or("unterminated '<'")?;
            (uri, after)
        } else {
            // addr-spec without brackets: its ';' parameters are the header's (RFC 3261
            // section 20.10), so the URI ends at the first ';'.
            let rest = c.rest();
            match find_byte(rest.as_bytes(), b';') {
                Some(i) => {
                    let (uri, params) = rest.split_at_checked(i).ok_or("malformed addr-spec")?;
                    (trim_ws(uri), params)
                }
                None => (rest, ""),
            }
        };
        let uri = UriRef::parse(uri)?;
        let params = params::scan(params_text, 0)?;
        Ok(Self {
            display_name,
            uri,
            params_text,
            params,
        })
    }

    /// The URI.
    pub(crate) fn uri(&self) -> &UriRef<'a> {
        &self.uri
    }

    /// The `tag` parameter.
    pub(crate) fn tag(&self) -> Option<&'a str> {
        self.params.get(self.params_text, "tag").flatten()
    }

    /// The owned name-addr.
    pub(crate) fn into_owned(self) -> Result<NameAddr, &'static str> {
        let display_name = match self.display_name {
            Some(DisplayName::Quoted(q)) => Some(unquote_prefix(q)?.0),
            Some(DisplayName::Plain(p)) => Some(p.to_owned()),
            None => None,
        };
        Ok(NameAddr {
            display_name,
            uri: self.uri.into_owned(),
            params: Params::from_parts(self.params_text.to_owned(), self.params),
        })
    }
}

impl fmt::Display for NameAddr {
    /// Always the name-addr form: `"Display" <uri>;params` or `<uri>;params`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.display_name {
            f.write_str(&quote(name))?;
            f.write_str(" ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_addr_forms_parse() {
        let a = NameAddr::parse_inner("\"Alice \\\"A\\\"\" <sip:alice@example.com>;tag=1928301774")
            .unwrap();
        assert_eq!(a.display_name(), Some("Alice \"A\""));
        assert_eq!(a.uri().as_str(), "sip:alice@example.com");
        assert_eq!(a.tag(), Some("1928301774"));

        let a = NameAddr::parse_inner("Bob Smith <sip:bob@example.com;transport=tcp>").unwrap();
        assert_eq!(a.display_name(), Some("Bob Smith"));
        assert_eq!(a.uri().params().value("transport"), Some("tcp"));
        assert_eq!(a.tag(), None);

        let a = NameAddr::parse_inner("<sip:bob@example.com>").unwrap();
        assert_eq!(a.display_name(), None);

        // addr-spec: the parameters belong to the header, not the URI.
        let a = NameAddr::parse_inner("sip:+12155551212@example.com;tag=abc").unwrap();
        assert_eq!(a.uri().as_str(), "sip:+12155551212@example.com");
        assert_eq!(a.tag(), Some("abc"));
        assert_eq!(a.telephone_number().unwrap().as_str(), "12155551212");

        let a = NameAddr::parse_inner("<tel:+12155551212>;index=1.1").unwrap();
        assert_eq!(a.params().value("index"), Some("1.1"));
    }

    #[test]
    fn malformed_name_addrs_are_refused() {
        for (input, reason) in [
            ("\"Alice <sip:a@b>", "unterminated quoted string"),
            ("\"Alice\" sip:a@b", "expected '<' after the display name"),
            ("<sip:a@b", "unterminated '<'"),
            (
                "Al@ice <sip:a@b>",
                "unquoted display name is not a sequence of tokens",
            ),
            ("<sip:a@b> junk", "expected ';' before a parameter"),
            ("<sip:a@b>;tag=1;tag=2", "duplicate parameter"),
            ("sip:a b@c", "invalid character in the user part"),
            ("", "empty URI"),
        ] {
            assert_eq!(
                NameAddr::parse_inner(input).err(),
                Some(reason),
                "{input:?}"
            );
        }
    }

    #[test]
    fn display_names_are_quoted_on_output() {
        let a = NameAddr::new(
            Uri::parse("sip:+12155551212@example.com;verstat=TN-Validation-Passed").unwrap(),
        )
        .with_display_name("ACME \"Bank\" \\ Co")
        .unwrap();
        let text = a.to_string();
        assert_eq!(
            text,
            "\"ACME \\\"Bank\\\" \\\\ Co\" <sip:+12155551212@example.com;verstat=TN-Validation-Passed>"
        );
        assert_eq!(NameAddr::parse_inner(&text).unwrap(), a);
        assert!(
            NameAddr::new(Uri::parse("sip:a@b").unwrap())
                .with_display_name("evil\r\nVia: x")
                .is_err()
        );
        let tagged = NameAddr::new(Uri::parse("sip:a@b").unwrap())
            .with_param("tag", Some("xyz"))
            .unwrap();
        assert_eq!(tagged.to_string(), "<sip:a@b>;tag=xyz");
        assert!(
            NameAddr::new(Uri::parse("sip:a@b").unwrap())
                .with_param("tag", Some("a b"))
                .is_err()
        );
    }
}
