//! A minimal, bounded DER (ITU-T X.690) reader and writer for the few structures this crate
//! encodes by hand (the RFC 8226 TNAuthList).
//!
//! Only single-byte tags and definite lengths are read; lengths must be minimal (DER), and a
//! value must fit in the bytes that remain. Certificates and CRLs themselves are parsed with
//! `x509-parser`.

/// Why a DER value could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DerError {
    /// The input ended inside a tag, a length or a value.
    #[error("truncated DER at offset {offset}")]
    Truncated {
        /// Where the missing bytes were expected, from the start of the structure.
        offset: usize,
    },
    /// A multi-byte (high tag number) identifier, which no structure here uses.
    #[error("unsupported high-tag-number identifier at offset {offset}")]
    HighTagNumber {
        /// Offset of the identifier octet.
        offset: usize,
    },
    /// The indefinite length form (BER only).
    #[error("indefinite length at offset {offset} (not DER)")]
    IndefiniteLength {
        /// Offset of the length octet.
        offset: usize,
    },
    /// A length encoded in more octets than needed (not DER).
    #[error("non-minimal length encoding at offset {offset} (not DER)")]
    NonMinimalLength {
        /// Offset of the length octets.
        offset: usize,
    },
    /// A length larger than any structure this crate accepts.
    #[error("length at offset {offset} is too large")]
    LengthTooLarge {
        /// Offset of the length octets.
        offset: usize,
    },
    /// Bytes remain after the outermost value.
    #[error("{count} bytes of trailing data after the DER value")]
    TrailingData {
        /// How many bytes remain.
        count: usize,
    },
}

/// One tag-length-value read from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tlv<'a> {
    /// The identifier octet (class, constructed bit and tag number).
    pub(crate) tag: u8,
    /// The contents octets.
    pub(crate) value: &'a [u8],
    /// Offset of the identifier octet from the start of the outermost input.
    pub(crate) offset: usize,
}

/// Reads consecutive TLVs from a byte slice.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    input: &'a [u8],
    /// Offset of `input[0]` from the start of the outermost structure (for error messages).
    base: usize,
}

/// Identifier octets used in this crate.
pub(crate) mod tag {
    /// UNIVERSAL 2, INTEGER.
    pub(crate) const INTEGER: u8 = 0x02;
    /// UNIVERSAL 12, UTF8String.
    pub(crate) const UTF8_STRING: u8 = 0x0c;
    /// UNIVERSAL 19, PrintableString.
    pub(crate) const PRINTABLE_STRING: u8 = 0x13;
    /// UNIVERSAL 22, IA5String.
    pub(crate) const IA5_STRING: u8 = 0x16;
    /// UNIVERSAL 16, SEQUENCE (constructed).
    pub(crate) const SEQUENCE: u8 = 0x30;
    /// Context-specific, constructed: `[n]` with an explicit inner value.
    pub(crate) const fn context_constructed(n: u8) -> u8 {
        0xa0 | n
    }
    /// Context-specific, primitive: `[n] IMPLICIT` over a primitive type.
    pub(crate) const fn context_primitive(n: u8) -> u8 {
        0x80 | n
    }
}

impl<'a> Reader<'a> {
    /// A reader over a whole structure.
    pub(crate) const fn new(input: &'a [u8]) -> Self {
        Self { input, base: 0 }
    }

    /// A reader over the contents of `tlv`, keeping offsets relative to the outermost input.
    pub(crate) fn nested(tlv: &Tlv<'a>, header_len: usize) -> Self {
        Self {
            input: tlv.value,
            base: tlv.offset + header_len,
        }
    }

    /// True when every byte has been read.
    pub(crate) const fn is_empty(&self) -> bool {
        self.input.is_empty()
    }

    /// Offset of the next unread byte from the start of the outermost input.
    pub(crate) const fn offset(&self) -> usize {
        self.base
    }

    /// Reads the next TLV and advances past it.
    pub(crate) fn read(&mut self) -> Result<Tlv<'a>, DerError> {
        let (tlv, header_len) = self.peek_with_header()?;
        let consumed = header_len + tlv.value.len();
        self.input = self.input.get(consumed..).unwrap_or_default();
        self.base += consumed;
        Ok(tlv)
    }

    /// Reads the next TLV and returns a reader over its contents.
    pub(crate) fn read_nested(&mut self) -> Result<(u8, Reader<'a>), DerError> {
        let (tlv, header_len) = self.peek_with_header()?;
        self.read()?;
        Ok((tlv.tag, Self::nested(&tlv, header_len)))
    }

    /// The bytes not read yet (the contents of an IMPLICIT-tagged primitive, say).
    pub(crate) const fn remaining(&self) -> &'a [u8] {
        self.input
    }

    /// The tag of the next TLV, if any.
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.input.first().copied()
    }

    /// Fails unless every byte has been read.
    pub(crate) const fn finish(&self) -> Result<(), DerError> {
        if self.input.is_empty() {
            Ok(())
        } else {
            Err(DerError::TrailingData {
                count: self.input.len(),
            })
        }
    }

    fn peek_with_header(&self) -> Result<(Tlv<'a>, usize), DerError> {
        let offset = self.base;
        let tag = *self.input.first().ok_or(DerError::Truncated { offset })?;
        if tag & 0x1f == 0x1f {
            return Err(DerError::HighTagNumber { offset });
        }
        let len_offset = offset + 1;
        let first = *self
            .input
            .get(1)
            .ok_or(DerError::Truncated { offset: len_offset })?;
        let (len, header_len) = if first < 0x80 {
            (usize::from(first), 2)
        } else if first == 0x80 {
            return Err(DerError::IndefiniteLength { offset: len_offset });
        } else {
            let n = usize::from(first & 0x7f);
            if n > 4 {
                return Err(DerError::LengthTooLarge { offset: len_offset });
            }
            let bytes = self.input.get(2..2 + n).ok_or(DerError::Truncated {
                offset: len_offset + 1,
            })?;
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            // DER: the long form only for lengths >= 128, in as few octets as possible.
            if len < 0x80 || bytes.first() == Some(&0) {
                return Err(DerError::NonMinimalLength { offset: len_offset });
            }
            (len, 2 + n)
        };
        let value = self
            .input
            .get(header_len..)
            .and_then(|rest| rest.get(..len))
            .ok_or(DerError::Truncated {
                offset: offset + header_len + len,
            })?;
        Ok((Tlv { tag, value, offset }, header_len))
    }
}

/// Appends a DER TLV with the given identifier and contents.
pub(crate) fn write_tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    let len = value.len();
    if len < 0x80 {
        // Fits the short form by the branch condition.
        out.push(u8::try_from(len).unwrap_or_default());
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | u8::try_from(significant.len()).unwrap_or_default());
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(value);
}

/// The minimal two's-complement contents of a non-negative INTEGER.
pub(crate) fn encode_unsigned(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes
        .iter()
        .take_while(|&&b| b == 0)
        .count()
        .min(bytes.len() - 1);
    let mut out = Vec::with_capacity(9);
    let significant = bytes.get(skip..).unwrap_or_default();
    if significant.first().is_some_and(|&b| b & 0x80 != 0) {
        out.push(0);
    }
    out.extend_from_slice(significant);
    out
}

/// Why INTEGER contents are not a `u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntegerProblem {
    /// Zero-length contents.
    Empty,
    /// Leading 0x00 or 0xff octets that DER forbids.
    NonMinimal,
    /// A negative value.
    Negative,
    /// More than 64 bits of magnitude.
    TooLarge,
}

/// Decodes the contents of a DER INTEGER that must be non-negative and fit a `u64`.
pub(crate) fn decode_unsigned(value: &[u8]) -> Result<u64, IntegerProblem> {
    let (&first, rest) = value.split_first().ok_or(IntegerProblem::Empty)?;
    if let Some(&second) = rest.first() {
        let redundant = (first == 0 && second & 0x80 == 0) || (first == 0xff && second & 0x80 != 0);
        if redundant {
            return Err(IntegerProblem::NonMinimal);
        }
    }
    if first & 0x80 != 0 {
        return Err(IntegerProblem::Negative);
    }
    let magnitude = if first == 0 { rest } else { value };
    if magnitude.len() > 8 {
        return Err(IntegerProblem::TooLarge);
    }
    Ok(magnitude
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_lengths_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 65_535, 70_000] {
            let value = vec![0x41; len];
            let mut out = Vec::new();
            write_tlv(&mut out, tag::IA5_STRING, &value);
            let mut r = Reader::new(&out);
            let tlv = r.read().unwrap();
            assert_eq!(tlv.tag, tag::IA5_STRING);
            assert_eq!(tlv.value.len(), len);
            r.finish().unwrap();
        }
    }

    #[test]
    fn non_der_lengths_are_refused() {
        assert_eq!(
            Reader::new(&[0x16, 0x81, 0x04, 1, 2, 3, 4]).read(),
            Err(DerError::NonMinimalLength { offset: 1 })
        );
        assert_eq!(
            Reader::new(&[0x30, 0x80, 0, 0]).read(),
            Err(DerError::IndefiniteLength { offset: 1 })
        );
        assert_eq!(
            Reader::new(&[0x1f, 0x01, 0]).read(),
            Err(DerError::HighTagNumber { offset: 0 })
        );
        assert_eq!(
            Reader::new(&[0x16, 0x85, 1, 1, 1, 1, 1]).read(),
            Err(DerError::LengthTooLarge { offset: 1 })
        );
        assert!(matches!(
            Reader::new(&[0x16, 0x05, 1]).read(),
            Err(DerError::Truncated { .. })
        ));
        assert!(matches!(
            Reader::new(&[0x16]).read(),
            Err(DerError::Truncated { .. })
        ));
        assert!(matches!(
            Reader::new(&[]).read(),
            Err(DerError::Truncated { offset: 0 })
        ));
    }

    #[test]
    fn unsigned_integers_are_minimal_both_ways() {
        for v in [0u64, 1, 2, 127, 128, 255, 256, 1 << 40, u64::MAX] {
            let enc = encode_unsigned(v);
            assert_eq!(decode_unsigned(&enc), Ok(v), "{v} -> {enc:02x?}");
        }
        assert_eq!(encode_unsigned(128), vec![0, 128]);
        assert_eq!(decode_unsigned(&[0, 1]), Err(IntegerProblem::NonMinimal));
        assert_eq!(
            decode_unsigned(&[0xff, 0x80]),
            Err(IntegerProblem::NonMinimal)
        );
        assert_eq!(decode_unsigned(&[0x80]), Err(IntegerProblem::Negative));
        assert_eq!(decode_unsigned(&[]), Err(IntegerProblem::Empty));
        assert_eq!(
            decode_unsigned(&[1, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(IntegerProblem::TooLarge)
        );
    }
}
