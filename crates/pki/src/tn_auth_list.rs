//! The TNAuthList certificate extension of RFC 8226 section 9 (OID 1.3.6.1.5.5.7.1.26): the
//! telephone numbers and Service Provider Codes a STIR certificate may sign for.
//!
//! ```text
//! TNAuthorizationList ::= SEQUENCE SIZE (1..MAX) OF TNEntry
//! TNEntry ::= CHOICE {
//!   spc   [0] ServiceProviderCode,
//!   range [1] TelephoneNumberRange,
//!   one   [2] TelephoneNumber }
//! ServiceProviderCode ::= IA5String
//! TelephoneNumber ::= IA5String (SIZE (1..15)) (FROM ("0123456789#*"))
//! TelephoneNumberRange ::= SEQUENCE { start TelephoneNumber, count INTEGER (2..MAX), ... }
//! ```
//!
//! The RFC 8226 ASN.1 module is written with `EXPLICIT TAGS`, so every `[n]` wraps the
//! complete inner encoding: SPC `709J` is `30 08 a0 06 16 04 37 30 39 4a`. That is what
//! [`TnAuthList::to_der`] emits. [`TnAuthList::from_der`] also reads the variants that
//! certificates in the wild carry, and records each one as an [`EncodingQuirk`] so a profile
//! linter can still report it:
//! - an SPC string with no `[0]` tag at all (`30 06 13 04 37 35 35 4a`, seen in real SHAKEN
//!   certificates), and SPCs in PrintableString or UTF8String instead of IA5String;
//! - IMPLICIT instead of EXPLICIT tagging of any of the three choices.
//!
//! # What an entry authorises
//!
//! SHAKEN certificates (ATIS-1000080) normally carry one SPC and no numbers. The SPC names the
//! service provider, not its numbers, and the protocol gives the verifier no way to tie an SPC
//! to a telephone number (there is no number-portability lookup in STIR/SHAKEN). So an SPC
//! entry authorises *any* calling number: the attestation level in the PASSporT is the service
//! provider's own claim, and the certificate proves who made it. TN and range entries, when
//! present, are checked exactly. A list is the union of its entries, so a list holding an SPC
//! covers every number, and [`TnAuthList::covers`] reports the most specific entry that
//! matches (a TN before a range before an SPC).
//!
//! A range covers `count` consecutive numbers from `start`, over digit strings of the same
//! length as `start`: `12155551200` with count 100 covers `12155551200` to `12155551299`, and
//! not `2155551250` (shorter) nor `121555512000` (longer). Ranges hold decimal digits only.

use std::fmt;

use passport::{TelephoneNumber, TnError};

use crate::der::{self, DerError, IntegerProblem, Reader, tag};

mod range;
mod spc;

pub use range::TnRange;
pub(crate) use range::numeric;
pub use spc::{MAX_SPC_LEN, ServiceProviderCode};

/// The object identifier of the TNAuthList extension (`id-pe-TNAuthList`, RFC 8226).
pub const OID_TN_AUTH_LIST: &str = "1.3.6.1.5.5.7.1.26";

/// The most entries accepted in one TNAuthList. A SHAKEN certificate has one; delegate
/// certificates (RFC 9060) list a customer's numbers, which stays far below this.
pub const MAX_ENTRIES: usize = 1024;

/// The largest encoded TNAuthList accepted, in bytes.
pub const MAX_DER_LEN: usize = 64 * 1024;

/// One `TNEntry`: a Service Provider Code, a range of numbers, or one number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TnEntry {
    /// `spc [0] ServiceProviderCode`.
    Spc(ServiceProviderCode),
    /// `range [1] TelephoneNumberRange`.
    Range(TnRange),
    /// `one [2] TelephoneNumber`.
    One(TelephoneNumber),
}

impl TnEntry {
    /// A stable short name of the entry kind: `spc`, `range` or `one`.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Spc(_) => "spc",
            Self::Range(_) => "range",
            Self::One(_) => "one",
        }
    }
}

impl fmt::Display for TnEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Spc(spc) => write!(f, "spc {spc}"),
            Self::Range(range) => write!(f, "range {range}"),
            Self::One(tn) => write!(f, "tn {tn}"),
        }
    }
}

/// A departure from the RFC 8226 encoding that [`TnAuthList::from_der`] tolerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodingQuirk {
    /// An SPC string directly in the list, without its `[0]` tag.
    UntaggedSpc,
    /// An SPC in PrintableString or UTF8String rather than IA5String.
    SpcNotIa5String,
    /// `[0]`, `[1]` or `[2]` encoded IMPLICIT where the module says EXPLICIT.
    ImplicitTag,
}

impl EncodingQuirk {
    /// A stable short name, for reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UntaggedSpc => "untagged_spc",
            Self::SpcNotIa5String => "spc_not_ia5string",
            Self::ImplicitTag => "implicit_tag",
        }
    }
}

/// How a TNAuthList covers a telephone number (see the module documentation for the rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage<'a> {
    /// A `one` entry names the number.
    Tn,
    /// A `range` entry holds the number.
    Range(&'a TnRange),
    /// No number entry matches, but the list holds an SPC, which authorises any number.
    Spc(&'a ServiceProviderCode),
    /// Only number entries, and none of them holds the number.
    NotCovered,
}

impl Coverage<'_> {
    /// True for every variant except [`Coverage::NotCovered`].
    pub const fn is_covered(&self) -> bool {
        !matches!(self, Self::NotCovered)
    }
}

/// A decoded TNAuthList: one or more entries, in certificate order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TnAuthList {
    entries: Vec<TnEntry>,
    quirks: Vec<EncodingQuirk>,
}

/// Why a TNAuthList extension value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TnAuthListError {
    /// The DER structure is broken.
    #[error("malformed DER in {context}: {source}")]
    Der {
        /// The ASN.1 type being read.
        context: &'static str,
        /// What the reader found.
        source: DerError,
    },
    /// The encoded extension is larger than [`MAX_DER_LEN`].
    #[error("the TNAuthList is {len} bytes; at most {max} are accepted")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The list has no entry (RFC 8226 requires at least one).
    #[error("the TNAuthList has no entry")]
    Empty,
    /// More than [`MAX_ENTRIES`] entries.
    #[error("the TNAuthList has more than {max} entries")]
    TooManyEntries {
        /// The limit.
        max: usize,
    },
    /// A tag that the ASN.1 type does not allow there.
    #[error("unexpected tag 0x{tag:02x} at offset {offset} in {context}")]
    UnexpectedTag {
        /// The ASN.1 type being read.
        context: &'static str,
        /// The identifier octet found.
        tag: u8,
        /// Its offset in the extension value.
        offset: usize,
    },
    /// The Service Provider Code is not acceptable.
    #[error("invalid Service Provider Code: {reason}")]
    InvalidSpc {
        /// Why.
        reason: &'static str,
    },
    /// A TelephoneNumber string is not a canonical number.
    #[error("invalid TelephoneNumber: {source}")]
    InvalidTelephoneNumber {
        /// What the number parser said.
        source: TnError,
    },
    /// The range count is not a positive INTEGER of at least 2.
    #[error("invalid TelephoneNumberRange count: {reason}")]
    InvalidCount {
        /// Why.
        reason: &'static str,
    },
    /// A range starts with a number containing `*` or `#`.
    #[error("the range start {start} is not all digits")]
    RangeStartNotDigits {
        /// The start found.
        start: TelephoneNumber,
    },
    /// The range runs past the largest number with as many digits as its start.
    #[error("the range of {count} numbers from {start} needs more digits than its start")]
    RangeOverflow {
        /// The start.
        start: TelephoneNumber,
        /// The count.
        count: u64,
    },
}

const CTX_LIST: &str = "TNAuthorizationList";
const CTX_ENTRY: &str = "TNEntry";
const CTX_RANGE: &str = "TelephoneNumberRange";

fn der_err(context: &'static str) -> impl Fn(DerError) -> TnAuthListError {
    move |source| TnAuthListError::Der { context, source }
}

impl TnAuthList {
    /// A list of the given entries (at least one, at most [`MAX_ENTRIES`]).
    pub fn new(entries: Vec<TnEntry>) -> Result<Self, TnAuthListError> {
        if entries.is_empty() {
            return Err(TnAuthListError::Empty);
        }
        if entries.len() > MAX_ENTRIES {
            return Err(TnAuthListError::TooManyEntries { max: MAX_ENTRIES });
        }
        Ok(Self {
            entries,
            quirks: Vec::new(),
        })
    }

    /// The list of a typical SHAKEN certificate: one SPC.
    pub fn spc(code: &str) -> Result<Self, TnAuthListError> {
        Self::new(vec![TnEntry::Spc(ServiceProviderCode::new(code)?)])
    }

    /// The entries, in certificate order.
    pub fn entries(&self) -> &[TnEntry] {
        &self.entries
    }

    /// The encoding departures tolerated while decoding (empty for a conforming encoding and
    /// for lists built in code).
    pub fn quirks(&self) -> &[EncodingQuirk] {
        &self.quirks
    }

    /// The first Service Provider Code in the list, if any.
    pub fn first_spc(&self) -> Option<&ServiceProviderCode> {
        self.entries.iter().find_map(|e| match e {
            TnEntry::Spc(spc) => Some(spc),
            TnEntry::Range(_) | TnEntry::One(_) => None,
        })
    }

    /// True when some entry is an SPC (so the list authorises any number).
    pub fn has_spc(&self) -> bool {
        self.first_spc().is_some()
    }

    /// Whether the list authorises `tn`, and through which entry (module docs give the rule).
    pub fn covers(&self, tn: &TelephoneNumber) -> Coverage<'_> {
        let mut range_hit = None;
        let mut spc_hit = None;
        for entry in &self.entries {
            match entry {
                TnEntry::One(one) if one == tn => return Coverage::Tn,
                TnEntry::Range(range) if range_hit.is_none() && range.contains(tn) => {
                    range_hit = Some(range);
                }
                TnEntry::Spc(spc) if spc_hit.is_none() => spc_hit = Some(spc),
                TnEntry::One(_) | TnEntry::Range(_) | TnEntry::Spc(_) => {}
            }
        }
        match (range_hit, spc_hit) {
            (Some(range), _) => Coverage::Range(range),
            (None, Some(spc)) => Coverage::Spc(spc),
            (None, None) => Coverage::NotCovered,
        }
    }

    /// Decodes the extension value (the contents of the `extnValue` OCTET STRING).
    pub fn from_der(der: &[u8]) -> Result<Self, TnAuthListError> {
        if der.len() > MAX_DER_LEN {
            return Err(TnAuthListError::TooLarge {
                len: der.len(),
                max: MAX_DER_LEN,
            });
        }
        let mut outer = Reader::new(der);
        let (list_tag, mut list) = outer.read_nested().map_err(der_err(CTX_LIST))?;
        if list_tag != tag::SEQUENCE {
            return Err(TnAuthListError::UnexpectedTag {
                context: CTX_LIST,
                tag: list_tag,
                offset: 0,
            });
        }
        outer.finish().map_err(der_err(CTX_LIST))?;
        let mut entries = Vec::new();
        let mut quirks = Vec::new();
        while !list.is_empty() {
            if entries.len() == MAX_ENTRIES {
                return Err(TnAuthListError::TooManyEntries { max: MAX_ENTRIES });
            }
            entries.push(decode_entry(&mut list, &mut quirks)?);
        }
        if entries.is_empty() {
            return Err(TnAuthListError::Empty);
        }
        quirks.sort_unstable_by_key(|q| q.as_str());
        quirks.dedup();
        Ok(Self { entries, quirks })
    }

    /// Encodes the list as RFC 8226 DER (EXPLICIT tags, IA5String strings).
    pub fn to_der(&self) -> Vec<u8> {
        let mut body = Vec::new();
        for entry in &self.entries {
            match entry {
                TnEntry::Spc(spc) => {
                    let mut inner = Vec::new();
                    der::write_tlv(&mut inner, tag::IA5_STRING, spc.as_str().as_bytes());
                    der::write_tlv(&mut body, tag::context_constructed(0), &inner);
                }
                TnEntry::Range(range) => {
                    let mut fields = Vec::new();
                    der::write_tlv(
                        &mut fields,
                        tag::IA5_STRING,
                        range.start().as_str().as_bytes(),
                    );
                    der::write_tlv(
                        &mut fields,
                        tag::INTEGER,
                        &der::encode_unsigned(range.count()),
                    );
                    let mut seq = Vec::new();
                    der::write_tlv(&mut seq, tag::SEQUENCE, &fields);
                    der::write_tlv(&mut body, tag::context_constructed(1), &seq);
                }
                TnEntry::One(tn) => {
                    let mut inner = Vec::new();
                    der::write_tlv(&mut inner, tag::IA5_STRING, tn.as_str().as_bytes());
                    der::write_tlv(&mut body, tag::context_constructed(2), &inner);
                }
            }
        }
        let mut out = Vec::with_capacity(body.len() + 4);
        der::write_tlv(&mut out, tag::SEQUENCE, &body);
        out
    }
}

impl fmt::Display for TnAuthList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{entry}")?;
        }
        Ok(())
    }
}

fn decode_entry(
    list: &mut Reader<'_>,
    quirks: &mut Vec<EncodingQuirk>,
) -> Result<TnEntry, TnAuthListError> {
    let offset = list.offset();
    let (entry_tag, mut inner) = list.read_nested().map_err(der_err(CTX_ENTRY))?;
    let entry = match entry_tag {
        t if t == tag::context_constructed(0) => {
            let spc = read_spc_string(&mut inner, quirks)?;
            inner.finish().map_err(der_err(CTX_ENTRY))?;
            TnEntry::Spc(spc)
        }
        t if t == tag::context_primitive(0) => {
            quirks.push(EncodingQuirk::ImplicitTag);
            TnEntry::Spc(ServiceProviderCode::from_bytes(inner.remaining())?)
        }
        tag::IA5_STRING | tag::PRINTABLE_STRING | tag::UTF8_STRING => {
            quirks.push(EncodingQuirk::UntaggedSpc);
            if entry_tag != tag::IA5_STRING {
                quirks.push(EncodingQuirk::SpcNotIa5String);
            }
            TnEntry::Spc(ServiceProviderCode::from_bytes(inner.remaining())?)
        }
        t if t == tag::context_constructed(1) => {
            if inner.peek_tag() == Some(tag::SEQUENCE) {
                let (_, fields) = inner.read_nested().map_err(der_err(CTX_RANGE))?;
                inner.finish().map_err(der_err(CTX_RANGE))?;
                TnEntry::Range(decode_range(fields)?)
            } else {
                quirks.push(EncodingQuirk::ImplicitTag);
                TnEntry::Range(decode_range(inner)?)
            }
        }
        t if t == tag::context_constructed(2) => {
            let tlv = inner.read().map_err(der_err(CTX_ENTRY))?;
            if tlv.tag != tag::IA5_STRING {
                return Err(TnAuthListError::UnexpectedTag {
                    context: "TelephoneNumber",
                    tag: tlv.tag,
                    offset: tlv.offset,
                });
            }
            inner.finish().map_err(der_err(CTX_ENTRY))?;
            TnEntry::One(telephone_number(tlv.value)?)
        }
        t if t == tag::context_primitive(2) => {
            quirks.push(EncodingQuirk::ImplicitTag);
            TnEntry::One(telephone_number(inner.remaining())?)
        }
        other => {
            return Err(TnAuthListError::UnexpectedTag {
                context: CTX_ENTRY,
                tag: other,
                offset,
            });
        }
    };
    Ok(entry)
}

fn read_spc_string(
    inner: &mut Reader<'_>,
    quirks: &mut Vec<EncodingQuirk>,
) -> Result<ServiceProviderCode, TnAuthListError> {
    let tlv = inner.read().map_err(der_err("ServiceProviderCode"))?;
    match tlv.tag {
        tag::IA5_STRING => {}
        tag::PRINTABLE_STRING | tag::UTF8_STRING => quirks.push(EncodingQuirk::SpcNotIa5String),
        other => {
            return Err(TnAuthListError::UnexpectedTag {
                context: "ServiceProviderCode",
                tag: other,
                offset: tlv.offset,
            });
        }
    }
    ServiceProviderCode::from_bytes(tlv.value)
}

fn decode_range(mut fields: Reader<'_>) -> Result<TnRange, TnAuthListError> {
    let start = fields.read().map_err(der_err(CTX_RANGE))?;
    if start.tag != tag::IA5_STRING {
        return Err(TnAuthListError::UnexpectedTag {
            context: CTX_RANGE,
            tag: start.tag,
            offset: start.offset,
        });
    }
    let count = fields.read().map_err(der_err(CTX_RANGE))?;
    if count.tag != tag::INTEGER {
        return Err(TnAuthListError::UnexpectedTag {
            context: CTX_RANGE,
            tag: count.tag,
            offset: count.offset,
        });
    }
    fields.finish().map_err(der_err(CTX_RANGE))?;
    let count =
        der::decode_unsigned(count.value).map_err(|problem| TnAuthListError::InvalidCount {
            reason: match problem {
                IntegerProblem::Empty => "empty INTEGER",
                IntegerProblem::NonMinimal => "INTEGER not minimally encoded",
                IntegerProblem::Negative => "negative",
                IntegerProblem::TooLarge => "larger than 64 bits",
            },
        })?;
    TnRange::new(telephone_number(start.value)?, count)
}

fn telephone_number(bytes: &[u8]) -> Result<TelephoneNumber, TnAuthListError> {
    let text = std::str::from_utf8(bytes).map_err(|_| TnAuthListError::InvalidTelephoneNumber {
        source: TnError::InvalidChar {
            ch: '\u{fffd}',
            pos: 0,
        },
    })?;
    TelephoneNumber::from_canonical(text)
        .map_err(|source| TnAuthListError::InvalidTelephoneNumber { source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tn(s: &str) -> TelephoneNumber {
        TelephoneNumber::from_canonical(s).unwrap()
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rfc8226_spc_vector_decodes_and_encodes() {
        let der = hex("30 08 a0 06 16 04 37 30 39 4a");
        let list = TnAuthList::from_der(&der).unwrap();
        assert_eq!(
            list.entries(),
            &[TnEntry::Spc(ServiceProviderCode::new("709J").unwrap())]
        );
        assert!(list.quirks().is_empty());
        assert_eq!(TnAuthList::spc("709J").unwrap().to_der(), der);
        assert_eq!(list.to_der(), der);
    }

    #[test]
    fn range_and_one_use_explicit_tags() {
        let list = TnAuthList::new(vec![
            TnEntry::Range(TnRange::new(tn("12155551200"), 100).unwrap()),
            TnEntry::One(tn("12155551212")),
        ])
        .unwrap();
        let want = hex("30 23
               a1 12 30 10 16 0b 3132313535353531323030 02 01 64
               a2 0d 16 0b 3132313535353531323132");
        assert_eq!(list.to_der(), want);
        assert_eq!(TnAuthList::from_der(&want).unwrap(), list);
    }

    #[test]
    fn untagged_and_implicit_variants_are_read_with_quirks() {
        // Seen in real SHAKEN certificates: a PrintableString SPC with no [0] tag.
        let list = TnAuthList::from_der(&hex("30 06 13 04 37 35 35 4a")).unwrap();
        assert_eq!(list.first_spc().unwrap().as_str(), "755J");
        assert_eq!(
            list.quirks(),
            &[EncodingQuirk::SpcNotIa5String, EncodingQuirk::UntaggedSpc]
        );
        assert_eq!(list.to_der(), hex("30 08 a0 06 16 04 37 35 35 4a"));

        let implicit_spc = TnAuthList::from_der(&hex("30 06 80 04 37 30 39 4a")).unwrap();
        assert_eq!(implicit_spc.first_spc().unwrap().as_str(), "709J");
        assert_eq!(implicit_spc.quirks(), &[EncodingQuirk::ImplicitTag]);

        let implicit_range =
            TnAuthList::from_der(&hex("30 0a a1 08 16 03 313030 02 01 0a")).unwrap();
        let TnEntry::Range(range) = &implicit_range.entries()[0] else {
            panic!()
        };
        assert_eq!((range.start().as_str(), range.count()), ("100", 10));

        let implicit_one = TnAuthList::from_der(&hex("30 05 82 03 313030")).unwrap();
        assert_eq!(implicit_one.entries(), &[TnEntry::One(tn("100"))]);
    }

    #[test]
    fn broken_encodings_are_refused_with_a_reason() {
        // A real certificate's value: outer length 8 with 7 bytes, and no length for the string.
        assert!(matches!(
            TnAuthList::from_der(&hex("30 08 a0 06 16 38 36 37 4a")),
            Err(TnAuthListError::Der {
                source: DerError::Truncated { .. },
                ..
            })
        ));
        assert_eq!(
            TnAuthList::from_der(&hex("30 00")),
            Err(TnAuthListError::Empty)
        );
        assert!(matches!(
            TnAuthList::from_der(&hex("30 08 a0 06 16 04 37 30 39 4a 00")),
            Err(TnAuthListError::Der {
                source: DerError::TrailingData { count: 1 },
                ..
            })
        ));
        assert!(matches!(
            TnAuthList::from_der(&hex("31 08 a0 06 16 04 37 30 39 4a")),
            Err(TnAuthListError::UnexpectedTag { tag: 0x31, .. })
        ));
        assert!(matches!(
            TnAuthList::from_der(&hex("30 06 a3 04 16 02 31 32")),
            Err(TnAuthListError::UnexpectedTag {
                tag: 0xa3,
                offset: 2,
                ..
            })
        ));
        assert!(matches!(
            TnAuthList::from_der(&hex("30 0a a0 08 16 04 37 30 39 4a 05 00")),
            Err(TnAuthListError::Der {
                source: DerError::TrailingData { .. },
                ..
            })
        ));
        assert_eq!(
            TnAuthList::from_der(&hex("30 04 a0 02 16 00")),
            Err(TnAuthListError::InvalidSpc { reason: "empty" })
        );
        assert!(matches!(
            TnAuthList::from_der(&hex("30 06 a2 04 16 02 31 41")),
            Err(TnAuthListError::InvalidTelephoneNumber { .. })
        ));
        // count 1, count negative, count non-minimal, count empty
        for count in [&[1u8][..], &[0xff], &[0, 5], &[]] {
            assert!(
                matches!(
                    TnAuthList::from_der(&range_der(b"10", count)),
                    Err(TnAuthListError::InvalidCount { .. })
                ),
                "{count:02x?}"
            );
        }
        // 10 numbers from 95 need three digits.
        assert!(matches!(
            TnAuthList::from_der(&hex("30 0b a1 09 30 07 16 02 3935 02 01 0a")),
            Err(TnAuthListError::RangeOverflow { count: 10, .. })
        ));
        assert!(matches!(
            TnRange::new(tn("12*4"), 5),
            Err(TnAuthListError::RangeStartNotDigits { .. })
        ));
    }

    /// `SEQUENCE { [1] { SEQUENCE { IA5String start, INTEGER count } } }`.
    fn range_der(start: &[u8], count: &[u8]) -> Vec<u8> {
        let mut fields = Vec::new();
        der::write_tlv(&mut fields, tag::IA5_STRING, start);
        der::write_tlv(&mut fields, tag::INTEGER, count);
        let mut seq = Vec::new();
        der::write_tlv(&mut seq, tag::SEQUENCE, &fields);
        let mut entry = Vec::new();
        der::write_tlv(&mut entry, 0xa1, &seq);
        let mut list = Vec::new();
        der::write_tlv(&mut list, tag::SEQUENCE, &entry);
        list
    }

    #[test]
    fn too_many_entries_and_oversized_values_are_refused() {
        let one = TnEntry::One(tn("12155551212"));
        assert!(matches!(
            TnAuthList::new(vec![one.clone(); MAX_ENTRIES + 1]),
            Err(TnAuthListError::TooManyEntries { .. })
        ));
        let mut body = Vec::new();
        for _ in 0..=MAX_ENTRIES {
            der::write_tlv(&mut body, 0xa2, &[0x16, 0x01, 0x31]);
        }
        let mut der = Vec::new();
        der::write_tlv(&mut der, 0x30, &body);
        assert_eq!(
            TnAuthList::from_der(&der),
            Err(TnAuthListError::TooManyEntries { max: MAX_ENTRIES })
        );
        assert!(matches!(
            TnAuthList::from_der(&vec![0; MAX_DER_LEN + 1]),
            Err(TnAuthListError::TooLarge { .. })
        ));
    }

    #[test]
    fn coverage_prefers_the_most_specific_entry() {
        let range = TnRange::new(tn("12155551200"), 100).unwrap();
        let numbers_only =
            TnAuthList::new(vec![TnEntry::Range(range), TnEntry::One(tn("12155551212"))]).unwrap();
        assert_eq!(numbers_only.covers(&tn("12155551212")), Coverage::Tn);
        assert_eq!(
            numbers_only.covers(&tn("12155551200")),
            Coverage::Range(&range)
        );
        assert_eq!(
            numbers_only.covers(&tn("12155551299")),
            Coverage::Range(&range)
        );
        assert_eq!(
            numbers_only.covers(&tn("12155551300")),
            Coverage::NotCovered
        );
        assert_eq!(
            numbers_only.covers(&tn("12155551199")),
            Coverage::NotCovered
        );
        // Same digits, other lengths.
        assert_eq!(
            numbers_only.covers(&tn("121555512000")),
            Coverage::NotCovered
        );
        assert_eq!(numbers_only.covers(&tn("2155551250")), Coverage::NotCovered);
        assert_eq!(
            numbers_only.covers(&tn("1215555125#")),
            Coverage::NotCovered
        );

        let spc_only = TnAuthList::spc("709J").unwrap();
        assert!(
            matches!(spc_only.covers(&tn("442071234567")), Coverage::Spc(s) if s.as_str() == "709J")
        );

        let mixed = TnAuthList::new(vec![
            TnEntry::Spc(ServiceProviderCode::new("709J").unwrap()),
            TnEntry::Range(range),
        ])
        .unwrap();
        assert_eq!(mixed.covers(&tn("12155551250")), Coverage::Range(&range));
        assert!(matches!(mixed.covers(&tn("33123456789")), Coverage::Spc(_)));
        assert!(!Coverage::NotCovered.is_covered());
    }

    #[test]
    fn lists_display_their_entries() {
        let r = TnRange::new(tn("0990"), 10).unwrap();
        let list = TnAuthList::new(vec![
            TnEntry::Spc(ServiceProviderCode::new("709J").unwrap()),
            TnEntry::Range(r),
            TnEntry::One(tn("1#")),
        ])
        .unwrap();
        assert_eq!(
            list.to_string(),
            "spc 709J, range 0990..0999 (10 numbers), tn 1#"
        );
    }

    fn entry() -> impl Strategy<Value = TnEntry> {
        prop_oneof![
            "[0-9A-Za-z]{1,8}".prop_map(|s| TnEntry::Spc(ServiceProviderCode::new(&s).unwrap())),
            "[0-9*#]{1,15}".prop_map(|s| TnEntry::One(tn(&s))),
            ("[0-8][0-9]{5,14}", 2u64..100_000)
                .prop_map(|(s, c)| TnEntry::Range(TnRange::new(tn(&s), c).unwrap())),
        ]
    }

    proptest! {
        #[test]
        fn der_round_trips(entries in proptest::collection::vec(entry(), 1..40)) {
            let list = TnAuthList::new(entries).unwrap();
            let der = list.to_der();
            let back = TnAuthList::from_der(&der).unwrap();
            prop_assert_eq!(&back, &list);
            prop_assert_eq!(back.to_der(), der);
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_conforming_input_re_encodes_identically(
            bytes in proptest::collection::vec(any::<u8>(), 0..200)
        ) {
            if let Ok(list) = TnAuthList::from_der(&bytes)
                && list.quirks().is_empty()
            {
                prop_assert_eq!(list.to_der(), bytes);
            }
        }

        #[test]
        fn mutated_valid_lists_never_panic(
            entries in proptest::collection::vec(entry(), 1..5),
            pos in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let mut der = TnAuthList::new(entries).unwrap().to_der();
            let i = pos.index(der.len());
            der[i] = byte;
            let _ = TnAuthList::from_der(&der);
        }
    }
}
