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
use crate::grammar::{
    ByteSet, byte_set, find_forbidden_control, for_each_element, identity_split_here, is_token,
    split_at_byte, trim_ws,
};
use crate::uri::UriRef;

pub use cseq::CSeq;
pub use name_addr::NameAddr;
pub use params::{Param, Params};
pub use via::{Rport, Via};

pub(crate) use name_addr::NameAddrRef;
pub(crate) use via::ViaRef;

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
        const _: () = assert!(KNOWN.len() <= 64, "single_bit needs a bit per known header");

        impl Known {
            fn name(self) -> &'static str {
                match self { $( Known::$variant => $name, )* }
            }
            fn kind(self) -> Kind {
                match self { $( Known::$variant => Kind::$kind, )* }
            }
            /// The known header with this full name, in any case.
            fn by_name(name: &str) -> Option<Known> {
                // Unrolled, so that most names are passed over on their length alone.
                $(
                    if name.len() == $name.len() && name.eq_ignore_ascii_case($name) {
                        return Some(Known::$variant);
                    }
                )*
                None
            }
            /// The known header with this compact form (a lowercase letter).
            fn by_compact(c: u8) -> Option<Known> {
                $(
                    if $compact == Some(c) {
                        return Some(Known::$variant);
                    }
                )*
                None
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
            [c] => Known::by_compact(c.to_ascii_lowercase()),
            _ => Known::by_name(name),
        };
        Some(match known {
            Some(k) => HeaderName(Repr::Known(k)),
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

    /// For a header that may appear at most once, a bit of its own in a `u64`.
    pub(crate) fn single_bit(&self) -> Option<u64> {
        let known = self.known()?;
        // A fieldless enum's discriminant; there are fewer than 64 known headers.
        (known.kind() == Kind::Single).then(|| 1u64 << (known as u32 % 64))
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

/// One header field value under its name, as [`Headers::iter`] yields it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    name: &'a HeaderName,
    value: &'a str,
}

impl<'a> Header<'a> {
    /// The name.
    pub fn name(&self) -> &'a HeaderName {
        self.name
    }

    /// The value, unfolded and trimmed.
    pub fn value(&self) -> &'a str {
        self.value
    }
}

/// A stored entry: the name and where the value is in [`Headers::text`].
#[derive(Debug, Clone)]
struct Entry {
    name: HeaderName,
    start: usize,
    end: usize,
}

/// The header fields of a message, in order. `Content-Length` is not stored: it is taken
/// from the body when the message is written.
///
/// The values share one buffer, so a message's headers take two allocations however many
/// there are.
#[derive(Clone, Default)]
pub struct Headers {
    /// Every value, one after the other; removed values stay until the next compaction.
    text: String,
    entries: Vec<Entry>,
    /// The bytes of `text` that entries refer to.
    live: usize,
}

/// Checks a value supplied by this side before it goes on the wire: no line breaks or
/// other controls (a display name or reason taken from a PASSporT must not be able to
/// inject a header).
pub(crate) fn check_value(value: &str) -> Result<&str, SipError> {
    if find_forbidden_control(value.as_bytes()).is_some() {
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

    /// No headers, with room for `entries` values of `bytes` bytes in all.
    pub(crate) fn with_capacity(entries: usize, bytes: usize) -> Self {
        Self {
            text: String::with_capacity(bytes),
            entries: Vec::with_capacity(entries),
            live: 0,
        }
    }

    /// The number of entries (list values count one each).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn value_of(&self, entry: &Entry) -> &str {
        self.text.get(entry.start..entry.end).unwrap_or_default()
    }

    /// All entries in order.
    pub fn iter(&self) -> impl Iterator<Item = Header<'_>> {
        self.entries.iter().map(|e| Header {
            name: &e.name,
            value: self.value_of(e),
        })
    }

    /// The first value of `name`.
    pub fn get(&self, name: &HeaderName) -> Option<&str> {
        self.get_all(name).next()
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &HeaderName) -> impl Iterator<Item = &'a str> {
        self.entries
            .iter()
            .filter(move |e| &e.name == name)
            .map(|e| self.value_of(e))
    }

    /// The bytes the values take, for sizing an encoding.
    pub(crate) fn wire_len(&self) -> usize {
        self.entries
            .iter()
            .map(|e| e.name.as_str().len() + (e.end - e.start) + 4)
            .sum()
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

    /// Appends one entry as it is: `value` is trimmed, free of controls and, for a list
    /// header, one element (an entry of another `Headers` under the same name is).
    pub(crate) fn push_entry(&mut self, name: HeaderName, value: &str) {
        self.push_parts(name, &[value]);
    }

    /// Appends one entry made of `parts` written one after the other, under the same
    /// conditions as [`Headers::push_entry`].
    pub(crate) fn push_parts(&mut self, name: HeaderName, parts: &[&str]) {
        let start = self.text.len();
        for part in parts {
            self.text.push_str(part);
        }
        let end = self.text.len();
        self.live += end - start;
        self.entries.push(Entry { name, start, end });
    }

    /// Appends `value` (already checked for controls), split as `name`'s grammar says.
    /// Nothing is added when the value is refused.
    pub(crate) fn push_split(&mut self, name: HeaderName, value: &str) -> Result<(), &'static str> {
        let split_here: fn(&str) -> bool = match name.kind() {
            Kind::List if !value.is_empty() => |_| true,
            Kind::Identity if !value.is_empty() => identity_split_here,
            Kind::List | Kind::Identity | Kind::Single | Kind::Whole => {
                self.push_entry(name, value);
                return Ok(());
            }
        };
        let (entries, text, live) = (self.entries.len(), self.text.len(), self.live);
        let result = for_each_element(value, split_here, |part| {
            self.push_entry(name.clone(), part);
        });
        if result.is_err() {
            self.entries.truncate(entries);
            self.text.truncate(text);
            self.live = live;
        }
        result
    }

    /// Removes every value of `name`, returning how many were removed.
    pub fn remove_all(&mut self, name: &HeaderName) -> usize {
        let before = self.entries.len();
        let mut removed_bytes = 0;
        self.entries.retain(|e| {
            let keep = &e.name != name;
            if !keep {
                removed_bytes += e.end - e.start;
            }
            keep
        });
        self.live -= removed_bytes;
        // Values removed again and again must not make the buffer grow without bound.
        if self.text.len() > 2 * self.live + 1024 {
            self.compact();
        }
        before - self.entries.len()
    }

    /// Drops the bytes of removed values from the buffer.
    fn compact(&mut self) {
        let mut text = String::with_capacity(self.live);
        for e in &mut self.entries {
            let start = text.len();
            text.push_str(self.text.get(e.start..e.end).unwrap_or_default());
            (e.start, e.end) = (start, text.len());
        }
        self.text = text;
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

    /// The only value of `name`, a name-addr, read in place.
    pub(crate) fn name_addr_ref(&self, name: &HeaderName) -> Result<NameAddrRef<'_>, SipError> {
        NameAddrRef::parse(self.single(name)?).map_err(|reason| SipError::BadHeaderValue {
            name: name.static_name(),
            reason,
        })
    }

    /// Checks what [`Headers::via`] checks, without keeping the Vias.
    pub(crate) fn check_vias(&self) -> Result<(), SipError> {
        let mut any = false;
        for v in self.get_all(&HeaderName::VIA) {
            ViaRef::parse(v)?;
            any = true;
        }
        if any {
            Ok(())
        } else {
            Err(SipError::MissingHeader { name: "Via" })
        }
    }

    /// The topmost Via, read in place.
    pub(crate) fn top_via_ref(&self) -> Result<ViaRef<'_>, SipError> {
        ViaRef::parse(
            self.get(&HeaderName::VIA)
                .ok_or(SipError::MissingHeader { name: "Via" })?,
        )
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
        self.top_via_ref().map(ViaRef::into_owned)
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
        uri_tn(self.name_addr_ref(&HeaderName::FROM)?.uri(), "From")
    }

    /// The telephone number in the To URI.
    pub fn to_tn(&self) -> Result<TelephoneNumber, SipError> {
        uri_tn(self.name_addr_ref(&HeaderName::TO)?.uri(), "To")
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

impl PartialEq for Headers {
    /// Equal headers hold the same values under the same names, in the same order.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Headers")
            .field("entries", &self.iter().collect::<Vec<_>>())
            .finish()
    }
}

fn tn(addr: &NameAddr, header: &'static str) -> Result<TelephoneNumber, SipError> {
    addr.telephone_number()
        .map_err(|source| SipError::NotATelephoneNumber { header, source })
}

fn uri_tn(uri: &UriRef<'_>, header: &'static str) -> Result<TelephoneNumber, SipError> {
    uri.telephone_number()
        .map_err(|source| SipError::NotATelephoneNumber { header, source })
}

/// `word` characters of RFC 3261 Call-ID.
const fn word_byte(b: u8) -> bool {
    crate::grammar::token_byte(b)
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

static WORD: ByteSet = byte_set!(word_byte);

fn is_word_byte(b: u8) -> bool {
    WORD.contains(b)
}

/// `callid = word [ "@" word ]`.
pub(crate) fn check_call_id(v: &str) -> Result<(), &'static str> {
    let (local, host) = match split_at_byte(v, b'@') {
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
    fn a_refused_list_adds_nothing() {
        let mut h = Headers::new();
        h.push(HeaderName::SUBJECT, "kept").unwrap();
        // The first element is read before the error is found.
        assert!(h.push(HeaderName::CONTACT, "<sip:a@b>, <sip:c").is_err());
        assert!(h.push(HeaderName::IDENTITY, "a.b.c, ..d;info=\"x").is_err());
        assert_eq!(h.len(), 1);
        assert_eq!(h.iter().map(|e| e.value()).collect::<Vec<_>>(), ["kept"]);
        h.push(HeaderName::CONTACT, "<sip:e@f>").unwrap();
        assert_eq!(h.get(&HeaderName::CONTACT), Some("<sip:e@f>"));
    }

    #[test]
    fn values_removed_again_and_again_do_not_grow_the_buffer() {
        let mut h = Headers::new();
        h.push(HeaderName::FROM, "<sip:a@b>;tag=1").unwrap();
        for i in 0..1_000 {
            h.remove_all(&HeaderName::VIA);
            h.push(
                HeaderName::VIA,
                &format!("SIP/2.0/UDP h{i};branch=z9hG4bK{i}, SIP/2.0/UDP proxy"),
            )
            .unwrap();
        }
        assert!(
            h.text.len() < 2 * h.live + 1024 + 64,
            "{} bytes",
            h.text.len()
        );
        assert_eq!(h.get(&HeaderName::FROM), Some("<sip:a@b>;tag=1"));
        assert_eq!(
            h.get_all(&HeaderName::VIA).collect::<Vec<_>>(),
            ["SIP/2.0/UDP h999;branch=z9hG4bK999", "SIP/2.0/UDP proxy"]
        );
        // Equality is by names and values, whatever the buffer holds.
        let mut fresh = Headers::new();
        fresh.push(HeaderName::FROM, "<sip:a@b>;tag=1").unwrap();
        fresh
            .push(HeaderName::VIA, "SIP/2.0/UDP h999;branch=z9hG4bK999")
            .unwrap();
        fresh.push(HeaderName::VIA, "SIP/2.0/UDP proxy").unwrap();
        assert_eq!(h, fresh);
        assert_eq!(h.clone(), fresh);
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
