//! Header fields (RFC 3261 sections 7.3 and 20, RFC 8224 for Identity, RFC 3325 for
//! P-Asserted-Identity, RFC 5806 for Diversion, RFC 7044 for History-Info).
//!
//! Names are case-insensitive and compact forms (`i`, `f`, `t`, `v`, `m`, `l`, `c`, `k`,
//! `s`, `e`, `y`, ...) map to the full name, which is what is written back. Headers whose
//! grammar is a comma-separated list are stored one value per entry, in order; header
//! fields whose grammar has no list (From, To, Call-ID, CSeq, Date, unknown headers, ...)
//! are never split. Typed accessors parse on demand and say which header was wrong.

pub mod cseq;
pub mod date;
pub mod name_addr;
pub mod params;
pub mod via;
pub mod warning;

use std::fmt;
use std::hash::{Hash, Hasher};

use passport::TelephoneNumber;

use crate::SipError;
use crate::grammar::{is_forbidden_control, is_token, split_identity, split_list, trim_ws};

pub use cseq::CSeq;
pub use name_addr::NameAddr;
pub use params::{Param, Params};
pub use via::{Rport, Via};

/// How a header's value is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// At most one per message (From, To, Call-ID, CSeq, ...).
    Single,
    /// A comma-separated list, split into one entry per element.
    List,
    /// RFC 8224 Identity: split only before a new JWS.
    Identity,
    /// Kept whole (Date, Subject, User-Agent, unknown headers, ...).
    Whole,
}

macro_rules! known_headers {
    ($( $variant:ident, $const:ident, $name:literal, $compact:expr, $kind:ident; )*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        enum Known { $( $variant, )* }

        const KNOWN: &[Known] = &[ $( Known::$variant, )* ];

        impl Known {
            fn name(self) -> &'static str {
                match self { $( Known::$variant => $name, )* }
            }
            fn compact(self) -> Option<u8> {
                match self { $( Known::$variant => $compact, )* }
            }
            fn kind(self) -> Kind {
                match self { $( Known::$variant => Kind::$kind, )* }
            }
        }

        impl HeaderName {
            $(
                #[doc = concat!("`", $name, "`")]
                pub const $const: HeaderName = HeaderName(Repr::Known(Known::$variant));
            )*
        }
    };
}

known_headers! {
    Via, VIA, "Via", Some(b'v'), List;
    From, FROM, "From", Some(b'f'), Single;
    To, TO, "To", Some(b't'), Single;
    CallId, CALL_ID, "Call-ID", Some(b'i'), Single;
    CSeq, CSEQ, "CSeq", None, Single;
    MaxForwards, MAX_FORWARDS, "Max-Forwards", None, Single;
    ContentLength, CONTENT_LENGTH, "Content-Length", Some(b'l'), Single;
    ContentType, CONTENT_TYPE, "Content-Type", Some(b'c'), Single;
    Contact, CONTACT, "Contact", Some(b'm'), List;
    Supported, SUPPORTED, "Supported", Some(b'k'), List;
    Subject, SUBJECT, "Subject", Some(b's'), Whole;
    ContentEncoding, CONTENT_ENCODING, "Content-Encoding", Some(b'e'), List;
    Identity, IDENTITY, "Identity", Some(b'y'), Identity;
    PAssertedIdentity, P_ASSERTED_IDENTITY, "P-Asserted-Identity", None, List;
    PPreferredIdentity, P_PREFERRED_IDENTITY, "P-Preferred-Identity", None, List;
    Diversion, DIVERSION, "Diversion", None, List;
    HistoryInfo, HISTORY_INFO, "History-Info", None, List;
    Date, DATE, "Date", None, Whole;
    Warning, WARNING, "Warning", None, List;
    Route, ROUTE, "Route", None, List;
    RecordRoute, RECORD_ROUTE, "Record-Route", None, List;
    Allow, ALLOW, "Allow", None, List;
    Require, REQUIRE, "Require", None, List;
    ProxyRequire, PROXY_REQUIRE, "Proxy-Require", None, List;
    Unsupported, UNSUPPORTED, "Unsupported", None, List;
    Accept, ACCEPT, "Accept", None, List;
    CallInfo, CALL_INFO, "Call-Info", None, List;
    Reason, REASON, "Reason", None, List;
    UserAgent, USER_AGENT, "User-Agent", None, Whole;
    Server, SERVER, "Server", None, Whole;
    Expires, EXPIRES, "Expires", None, Whole;
    Timestamp, TIMESTAMP, "Timestamp", None, Whole;
    ReferTo, REFER_TO, "Refer-To", Some(b'r'), Whole;
    ReferredBy, REFERRED_BY, "Referred-By", Some(b'b'), Whole;
    Event, EVENT, "Event", Some(b'o'), Whole;
    AllowEvents, ALLOW_EVENTS, "Allow-Events", Some(b'u'), List;
    SessionExpires, SESSION_EXPIRES, "Session-Expires", Some(b'x'), Whole;
    AcceptContact, ACCEPT_CONTACT, "Accept-Contact", Some(b'a'), List;
    RejectContact, REJECT_CONTACT, "Reject-Contact", Some(b'j'), List;
    RequestDisposition, REQUEST_DISPOSITION, "Request-Disposition", Some(b'd'), List;
}

/// The longest header name accepted.
pub const MAX_NAME_LEN: usize = 64;

/// A header name. Comparison is case-insensitive; known names (and their compact forms)
/// are written back in their canonical full form, other names as first seen.
#[derive(Debug, Clone)]
pub struct HeaderName(Repr);

#[derive(Debug, Clone)]
enum Repr {
    Known(Known),
    Other(Box<str>),
}

impl HeaderName {
    /// The header named `name`: a token of at most [`MAX_NAME_LEN`] characters, a known
    /// full name in any case, or a compact form.
    pub fn new(name: &str) -> Result<Self, SipError> {
        Self::parse(name).ok_or(SipError::InvalidValue {
            what: "header name",
            reason: "not a token of at most 64 characters",
        })
    }

    pub(crate) fn parse(name: &str) -> Option<Self> {
        if !is_token(name) || name.len() > MAX_NAME_LEN {
            return None;
        }
        let known = match name.as_bytes() {
            [c] => KNOWN
                .iter()
                .find(|k| k.compact() == Some(c.to_ascii_lowercase())),
            _ => KNOWN.iter().find(|k| k.name().eq_ignore_ascii_case(name)),
        };
        Some(match known {
            Some(&k) => HeaderName(Repr::Known(k)),
            None => HeaderName(Repr::Other(name.into())),
        })
    }

    /// The name as written on the wire.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Known(k) => k.name(),
            Repr::Other(s) => s,
        }
    }

    fn known(&self) -> Option<Known> {
        match &self.0 {
            Repr::Known(k) => Some(*k),
            Repr::Other(_) => None,
        }
    }

    fn kind(&self) -> Kind {
        self.known().map_or(Kind::Whole, Known::kind)
    }

    /// The canonical name of a known header, for error messages.
    pub(crate) fn static_name(&self) -> &'static str {
        self.known().map_or("extension", Known::name)
    }
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Known(a), Repr::Known(b)) => a == b,
            (Repr::Other(a), Repr::Other(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        }
    }
}

impl Eq for HeaderName {}

impl Hash for HeaderName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match &self.0 {
            Repr::Known(k) => {
                0u8.hash(state);
                k.hash(state);
            }
            Repr::Other(s) => {
                1u8.hash(state);
                for b in s.bytes() {
                    b.to_ascii_lowercase().hash(state);
                }
            }
        }
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One header field value under its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    name: HeaderName,
    value: String,
}

impl Header {
    /// The name.
    pub fn name(&self) -> &HeaderName {
        &self.name
    }

    /// The value, unfolded and trimmed.
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// The header fields of a message, in order. `Content-Length` is not stored: it is taken
/// from the body when the message is written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<Header>,
}

/// Checks a value supplied by this side before it goes on the wire: no line breaks or
/// other controls (a display name or reason taken from a PASSporT must not be able to
/// inject a header).
pub(crate) fn check_value(value: &str) -> Result<&str, SipError> {
    if value.bytes().any(is_forbidden_control) {
        return Err(SipError::InvalidValue {
            what: "header value",
            reason: "contains a line break or control character",
        });
    }
    Ok(trim_ws(value))
}

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of entries (list values count one each).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All entries in order.
    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.entries.iter()
    }

    /// The first value of `name`.
    pub fn get(&self, name: &HeaderName) -> Option<&str> {
        self.get_all(name).next()
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &HeaderName) -> impl Iterator<Item = &'a str> {
        self.entries
            .iter()
            .filter(move |h| &h.name == name)
            .map(|h| h.value.as_str())
    }

    /// Appends a header. A list header's value is split into its elements as on decoding,
    /// so `push(HeaderName::VIA, "a, b")` adds two entries.
    ///
    /// Refused: values with line breaks or other control characters, malformed lists, and
    /// `Content-Length` (written from the body).
    pub fn push(&mut self, name: HeaderName, value: &str) -> Result<(), SipError> {
        let value = check_value(value)?;
        if name == HeaderName::CONTENT_LENGTH {
            return Err(SipError::InvalidValue {
                what: "Content-Length",
                reason: "it is written from the body",
            });
        }
        self.push_split(name, value)
            .map_err(|reason| SipError::InvalidValue {
                what: "header value",
                reason,
            })
    }

    /// Appends `value` (already checked for controls), split as `name`'s grammar says.
    pub(crate) fn push_split(&mut self, name: HeaderName, value: &str) -> Result<(), &'static str> {
        let parts = match name.kind() {
            Kind::List if !value.is_empty() => split_list(value)?,
            Kind::Identity if !value.is_empty() => split_identity(value)?,
            Kind::List | Kind::Identity | Kind::Single | Kind::Whole => vec![value],
        };
        for part in parts {
            self.entries.push(Header {
                name: name.clone(),
                value: part.to_owned(),
            });
        }
        Ok(())
    }

    /// True when `name` may appear at most once.
    pub(crate) fn is_single(name: &HeaderName) -> bool {
        name.kind() == Kind::Single
    }

    /// Removes every value of `name`, returning how many were removed.
    pub fn remove_all(&mut self, name: &HeaderName) -> usize {
        let before = self.entries.len();
        self.entries.retain(|h| &h.name != name);
        before - self.entries.len()
    }

    /// The only value of a header that must appear exactly once.
    fn single(&self, name: &HeaderName) -> Result<&str, SipError> {
        let mut values = self.get_all(name);
        let first = values.next().ok_or(SipError::MissingHeader {
            name: name.static_name(),
        })?;
        if values.next().is_some() {
            return Err(SipError::DuplicateHeader {
                name: name.static_name(),
            });
        }
        Ok(first)
    }

    /// The value of a header that may appear at most once.
    fn optional(&self, name: &HeaderName) -> Result<Option<&str>, SipError> {
        match self.single(name) {
            Ok(v) => Ok(Some(v)),
            Err(SipError::MissingHeader { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn name_addrs(&self, name: &HeaderName) -> Result<Vec<NameAddr>, SipError> {
        self.get_all(name)
            .map(|v| {
                NameAddr::parse_inner(v).map_err(|reason| SipError::BadHeaderValue {
                    name: name.static_name(),
                    reason,
                })
            })
            .collect()
    }

    fn name_addr(&self, name: &HeaderName) -> Result<NameAddr, SipError> {
        NameAddr::parse_inner(self.single(name)?).map_err(|reason| SipError::BadHeaderValue {
            name: name.static_name(),
            reason,
        })
    }

    /// Every Via, topmost first.
    pub fn via(&self) -> Result<Vec<Via>, SipError> {
        let vias = self
            .get_all(&HeaderName::VIA)
            .map(Via::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if vias.is_empty() {
            return Err(SipError::MissingHeader { name: "Via" });
        }
        Ok(vias)
    }

    /// The topmost Via: the one that identifies the transaction and says where to respond.
    pub fn top_via(&self) -> Result<Via, SipError> {
        Via::parse(
            self.get(&HeaderName::VIA)
                .ok_or(SipError::MissingHeader { name: "Via" })?,
        )
    }

    /// From.
    pub fn from(&self) -> Result<NameAddr, SipError> {
        self.name_addr(&HeaderName::FROM)
    }

    /// To.
    pub fn to(&self) -> Result<NameAddr, SipError> {
        self.name_addr(&HeaderName::TO)
    }

    /// Call-ID: `word ["@" word]`.
    pub fn call_id(&self) -> Result<&str, SipError> {
        let v = self.single(&HeaderName::CALL_ID)?;
        check_call_id(v).map_err(|reason| SipError::BadHeaderValue {
            name: "Call-ID",
            reason,
        })?;
        Ok(v)
    }

    /// CSeq.
    pub fn cseq(&self) -> Result<CSeq, SipError> {
        CSeq::parse(self.single(&HeaderName::CSEQ)?)
    }

    /// Max-Forwards, when present (0 to 255).
    pub fn max_forwards(&self) -> Result<Option<u8>, SipError> {
        self.optional(&HeaderName::MAX_FORWARDS)?
            .map(|v| {
                let bad = |reason| SipError::BadHeaderValue {
                    name: "Max-Forwards",
                    reason,
                };
                if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("not a decimal number"));
                }
                let significant = v.trim_start_matches('0');
                if significant.len() > 3 {
                    return Err(bad("greater than 255"));
                }
                u8::try_from(significant.parse::<u16>().unwrap_or(0))
                    .map_err(|_| bad("greater than 255"))
            })
            .transpose()
    }

    /// The Identity header values (RFC 8224), one per PASSporT, in order. Parse each with
    /// `passport::identity::IdentityHeader::parse`.
    pub fn identities(&self) -> impl Iterator<Item = &str> {
        self.get_all(&HeaderName::IDENTITY)
    }

    /// P-Asserted-Identity values (RFC 3325): at most one `sip:`/`sips:` and one `tel:`.
    pub fn p_asserted_identities(&self) -> Result<Vec<NameAddr>, SipError> {
        self.name_addrs(&HeaderName::P_ASSERTED_IDENTITY)
    }

    /// Diversion values (RFC 5806), most recent diversion first.
    pub fn diversions(&self) -> Result<Vec<NameAddr>, SipError> {
        self.name_addrs(&HeaderName::DIVERSION)
    }

    /// History-Info entries (RFC 7044), in header order; each carries its `index`
    /// parameter.
    pub fn history_info(&self) -> Result<Vec<NameAddr>, SipError> {
        self.name_addrs(&HeaderName::HISTORY_INFO)
    }

    /// The Date header as seconds since the Unix epoch, when present.
    pub fn date(&self) -> Result<Option<i64>, SipError> {
        self.optional(&HeaderName::DATE)?
            .map(date::parse_date)
            .transpose()
    }

    /// The telephone number in the From URI.
    pub fn from_tn(&self) -> Result<TelephoneNumber, SipError> {
        tn(&self.from()?, "From")
    }

    /// The telephone number in the To URI.
    pub fn to_tn(&self) -> Result<TelephoneNumber, SipError> {
        tn(&self.to()?, "To")
    }

    /// The telephone number asserted by P-Asserted-Identity: the first value that holds
    /// one (`tel:` URIs and `sip:` URIs with a number user part). `None` without the
    /// header; the first value's error when no value holds a number.
    pub fn p_asserted_tn(&self) -> Result<Option<TelephoneNumber>, SipError> {
        let values = self.p_asserted_identities()?;
        let mut first_error = None;
        for value in &values {
            match tn(value, "P-Asserted-Identity") {
                Ok(tn) => return Ok(Some(tn)),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(None), Err)
    }
}

fn tn(addr: &NameAddr, header: &'static str) -> Result<TelephoneNumber, SipError> {
    addr.telephone_number()
        .map_err(|source| SipError::NotATelephoneNumber { header, source })
}

/// `word` characters of RFC 3261 Call-ID.
fn is_word_byte(b: u8) -> bool {
    crate::grammar::is_token_byte(b)
        || matches!(
            b,
            b'(' | b')'
                | b'<'
                | b'>'
                | b':'
                | b'\\'
                | b'"'
                | b'/'
                | b'['
                | b']'
                | b'?'
                | b'{'
                | b'}'
        )
}

/// `callid = word [ "@" word ]`.
pub(crate) fn check_call_id(v: &str) -> Result<(), &'static str> {
    let (local, host) = match v.split_once('@') {
        Some((l, h)) => (l, Some(h)),
        None => (v, None),
    };
    let word = |w: &str| !w.is_empty() && w.bytes().all(is_word_byte);
    if word(local) && host.is_none_or(word) {
        Ok(())
    } else {
        Err("not word[@word]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_and_compact_forms_expand() {
        for (input, canonical) in [
            ("i", "Call-ID"),
            ("CALL-id", "Call-ID"),
            ("f", "From"),
            ("T", "To"),
            ("v", "Via"),
            ("m", "Contact"),
            ("l", "Content-Length"),
            ("c", "Content-Type"),
            ("k", "Supported"),
            ("s", "Subject"),
            ("e", "Content-Encoding"),
            ("y", "Identity"),
            ("p-asserted-identity", "P-Asserted-Identity"),
            ("X-Custom", "X-Custom"),
        ] {
            assert_eq!(
                HeaderName::new(input).unwrap().as_str(),
                canonical,
                "{input}"
            );
        }
        assert_eq!(
            HeaderName::new("x-custom").unwrap(),
            HeaderName::new("X-CUSTOM").unwrap()
        );
        assert_eq!(HeaderName::new("i").unwrap(), HeaderName::CALL_ID);
        assert_ne!(HeaderName::new("q").unwrap(), HeaderName::new("i").unwrap());
        assert!(HeaderName::new("Bad Name").is_err());
        assert!(HeaderName::new("").is_err());
        assert!(HeaderName::new(&"x".repeat(65)).is_err());
    }

    #[test]
    fn equal_names_hash_equally() {
        use std::collections::HashSet;
        let set: HashSet<_> = ["X-A", "x-a", "X-a"]
            .into_iter()
            .map(|n| HeaderName::new(n).unwrap())
            .collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn push_splits_lists_and_refuses_injection() {
        let mut h = Headers::new();
        h.push(
            HeaderName::VIA,
            "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b",
        )
        .unwrap();
        h.push(HeaderName::SUBJECT, "a, b").unwrap();
        assert_eq!(h.len(), 3);
        assert_eq!(h.get(&HeaderName::SUBJECT), Some("a, b"));
        assert!(matches!(
            h.push(HeaderName::SUBJECT, "x\r\nVia: evil"),
            Err(SipError::InvalidValue { .. })
        ));
        assert!(h.push(HeaderName::CONTENT_LENGTH, "0").is_err());
        assert!(h.push(HeaderName::CONTACT, "<sip:a,").is_err());
        assert_eq!(h.remove_all(&HeaderName::VIA), 2);
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn single_headers_report_missing_and_duplicates() {
        let mut h = Headers::new();
        assert_eq!(
            h.call_id(),
            Err(SipError::MissingHeader { name: "Call-ID" })
        );
        h.push(HeaderName::CALL_ID, "a@b").unwrap();
        assert_eq!(h.call_id(), Ok("a@b"));
        h.push(HeaderName::CALL_ID, "c@d").unwrap();
        assert_eq!(
            h.call_id(),
            Err(SipError::DuplicateHeader { name: "Call-ID" })
        );
        assert_eq!(h.max_forwards(), Ok(None));
    }

    #[test]
    fn max_forwards_is_bounded() {
        for (v, ok) in [("70", Some(70)), ("0", Some(0)), ("255", Some(255))] {
            let mut h = Headers::new();
            h.push(HeaderName::MAX_FORWARDS, v).unwrap();
            assert_eq!(h.max_forwards().unwrap(), ok);
        }
        for v in ["256", "1000", "-1", "", "7 0"] {
            let mut h = Headers::new();
            h.push(HeaderName::MAX_FORWARDS, v).unwrap();
            assert!(h.max_forwards().is_err(), "{v}");
        }
    }

    #[test]
    fn call_ids_are_words() {
        assert!(check_call_id("f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com").is_ok());
        assert!(check_call_id("a<b>:c").is_ok());
        assert!(check_call_id("a b").is_err());
        assert!(check_call_id("@host").is_err());
        assert!(check_call_id("a@b@c").is_err());
    }

    #[test]
    fn telephone_numbers_come_from_from_to_and_pai() {
        let mut h = Headers::new();
        h.push(
            HeaderName::FROM,
            "\"Alice\" <sip:+12155551212@example.com;user=phone>;tag=1",
        )
        .unwrap();
        h.push(HeaderName::TO, "<sip:bob@example.com>").unwrap();
        h.push(
            HeaderName::P_ASSERTED_IDENTITY,
            "<sip:alice@example.com>, <tel:+1-215-555-1213>",
        )
        .unwrap();
        assert_eq!(h.from_tn().unwrap().as_str(), "12155551212");
        assert!(matches!(
            h.to_tn(),
            Err(SipError::NotATelephoneNumber { header: "To", .. })
        ));
        assert_eq!(h.p_asserted_tn().unwrap().unwrap().as_str(), "12155551213");
        assert_eq!(Headers::new().p_asserted_tn(), Ok(None));
    }
}
