//! Why a SIP message was refused, and how the refusal is answered on the wire.
//!
//! Every variant says what was wrong in terms a peer's engineer can act on. The text never
//! echoes raw bytes from the message (only header names, numbers and short sanitised
//! tokens), so it is safe to put in a `Warning` header. [`SipError::status`] is the one place
//! where a codec error becomes a SIP status code.

use passport::TnError;

/// Why a SIP message could not be decoded, or a value could not be used to build one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SipError {
    /// The input held only CRLFs: a keep-alive, not a message. Drop it silently.
    #[error("keep-alive of {len} bytes, not a message")]
    KeepAlive {
        /// Bytes of CRLF seen.
        len: usize,
    },
    /// The message is larger than the configured limit.
    #[error("message larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The start line is longer than the configured limit.
    #[error("start line longer than {limit} bytes")]
    StartLineTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// A header line (after unfolding) is longer than the configured limit.
    #[error("header line {line} longer than {limit} bytes")]
    HeaderLineTooLong {
        /// The 1-based line number in the message.
        line: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// More header fields than the configured limit.
    #[error("more than {limit} header fields")]
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// A CR or LF that is not part of a CRLF line ending in the header section.
    #[error("bare CR or LF at byte {offset}; SIP lines end with CRLF")]
    BadLineEnding {
        /// Byte offset in the message.
        offset: usize,
    },
    /// The header section is not terminated by an empty line.
    #[error("the header section of {len} bytes is not terminated by an empty line")]
    UnterminatedHeaders {
        /// Bytes of header section seen.
        len: usize,
    },
    /// The request line or status line is malformed.
    #[error("malformed start line: {reason}")]
    BadStartLine {
        /// What is wrong.
        reason: &'static str,
    },
    /// A well-formed SIP version other than 2.0.
    #[error("SIP version {major}.{minor} is not supported; only SIP/2.0 is")]
    UnsupportedVersion {
        /// The major version (saturated at `u32::MAX`).
        major: u32,
        /// The minor version (saturated at `u32::MAX`).
        minor: u32,
    },
    /// The Request-URI is malformed.
    #[error("malformed Request-URI: {reason}")]
    BadRequestUri {
        /// What is wrong.
        reason: &'static str,
    },
    /// A URI given to [`crate::uri::Uri::parse`] is malformed.
    #[error("malformed URI: {reason}")]
    BadUri {
        /// What is wrong.
        reason: &'static str,
    },
    /// A header line is not `name: value`.
    #[error("malformed header line {line}: {reason}")]
    BadHeaderLine {
        /// The 1-based line number in the message.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A header field's value does not follow its grammar.
    #[error("malformed {name} header: {reason}")]
    BadHeaderValue {
        /// The header's full name.
        name: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A header the message must carry is absent.
    #[error("missing {name} header")]
    MissingHeader {
        /// The header's full name.
        name: &'static str,
    },
    /// A header that may appear once appears more than once.
    #[error("more than one {name} header")]
    DuplicateHeader {
        /// The header's full name.
        name: &'static str,
    },
    /// The CSeq method differs from the request method.
    #[error("CSeq method {cseq} does not match request method {request}")]
    CSeqMethodMismatch {
        /// The request method (a token, at most 32 characters).
        request: String,
        /// The CSeq method (a token, at most 32 characters).
        cseq: String,
    },
    /// Content-Length is not a decimal number.
    #[error("malformed Content-Length: {reason}")]
    BadContentLength {
        /// What is wrong.
        reason: &'static str,
    },
    /// Content-Length exceeds the configured limit.
    #[error("Content-Length {length} exceeds the limit of {limit} bytes")]
    ContentLengthTooLarge {
        /// The declared length (saturated at `u64::MAX`).
        length: u64,
        /// The limit in bytes.
        limit: usize,
    },
    /// A datagram ends before the body that Content-Length announces.
    #[error("Content-Length is {expected} but only {available} body bytes follow")]
    TruncatedBody {
        /// The declared length.
        expected: usize,
        /// The bytes present.
        available: usize,
    },
    /// A datagram carries bytes after the body that Content-Length announces.
    #[error("{extra} bytes follow the {expected}-byte body announced by Content-Length")]
    TrailingData {
        /// The declared length.
        expected: usize,
        /// The bytes beyond it.
        extra: usize,
    },
    /// A URI in a header does not hold a telephone number.
    #[error("the {header} URI does not hold a telephone number: {source}")]
    NotATelephoneNumber {
        /// Where the URI was taken from (`From`, `To`, `P-Asserted-Identity`, `Request-URI`).
        header: &'static str,
        /// Why the number was refused.
        source: TnError,
    },
    /// A value given to a builder cannot go into a message (a header value with a line
    /// break, a status code out of range, a tag that is not a token, ...). A programming or
    /// configuration error on this side, never a peer's fault.
    #[error("invalid {what}: {reason}")]
    InvalidValue {
        /// What was being built.
        what: &'static str,
        /// Why it is refused.
        reason: &'static str,
    },
}

impl SipError {
    /// The status code and reason phrase that answer a request refused with this error, or
    /// `None` when nothing should be sent (a keep-alive, or a local builder error).
    ///
    /// This is the only mapping from codec errors to SIP codes.
    pub fn status(&self) -> Option<(u16, &'static str)> {
        const BAD_REQUEST: Option<(u16, &str)> = Some((400, "Bad Request"));
        const TOO_LARGE: Option<(u16, &str)> = Some((513, "Message Too Large"));
        match self {
            SipError::KeepAlive { .. } | SipError::InvalidValue { .. } => None,
            SipError::TooLarge { .. } | SipError::ContentLengthTooLarge { .. } => TOO_LARGE,
            SipError::UnsupportedVersion { .. } => Some((505, "Version Not Supported")),
            SipError::StartLineTooLong { .. }
            | SipError::HeaderLineTooLong { .. }
            | SipError::TooManyHeaders { .. }
            | SipError::BadLineEnding { .. }
            | SipError::UnterminatedHeaders { .. }
            | SipError::BadStartLine { .. }
            | SipError::BadRequestUri { .. }
            | SipError::BadUri { .. }
            | SipError::BadHeaderLine { .. }
            | SipError::BadHeaderValue { .. }
            | SipError::MissingHeader { .. }
            | SipError::DuplicateHeader { .. }
            | SipError::CSeqMethodMismatch { .. }
            | SipError::BadContentLength { .. }
            | SipError::TruncatedBody { .. }
            | SipError::TrailingData { .. }
            | SipError::NotATelephoneNumber { .. } => BAD_REQUEST,
        }
    }

    /// A `Warning` header value (RFC 3261 section 20.43) explaining this error:
    /// `399 <warn_agent> "<text>"`.
    ///
    /// `warn_agent` is the answering host (`host[:port]` or a pseudonym); characters that
    /// cannot appear there are dropped, and an empty agent becomes `-`.
    pub fn warning(&self, warn_agent: &str) -> String {
        crate::header::warning::value(399, warn_agent, &self.to_string())
    }
}

/// Keeps at most `max` characters of a token for an error message, replacing anything that
/// is not printable ASCII with `?`.
pub(crate) fn sanitize(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One case per variant: the exhaustive match in `status` and this list change together.
    fn every_variant() -> Vec<(SipError, Option<u16>)> {
        vec![
            (SipError::KeepAlive { len: 4 }, None),
            (SipError::TooLarge { limit: 10 }, Some(513)),
            (SipError::StartLineTooLong { limit: 10 }, Some(400)),
            (
                SipError::HeaderLineTooLong { line: 2, limit: 10 },
                Some(400),
            ),
            (SipError::TooManyHeaders { limit: 10 }, Some(400)),
            (SipError::BadLineEnding { offset: 3 }, Some(400)),
            (SipError::UnterminatedHeaders { len: 3 }, Some(400)),
            (SipError::BadStartLine { reason: "x" }, Some(400)),
            (
                SipError::UnsupportedVersion { major: 7, minor: 0 },
                Some(505),
            ),
            (SipError::BadRequestUri { reason: "x" }, Some(400)),
            (SipError::BadUri { reason: "x" }, Some(400)),
            (
                SipError::BadHeaderLine {
                    line: 2,
                    reason: "x",
                },
                Some(400),
            ),
            (
                SipError::BadHeaderValue {
                    name: "Via",
                    reason: "x",
                },
                Some(400),
            ),
            (SipError::MissingHeader { name: "Via" }, Some(400)),
            (SipError::DuplicateHeader { name: "To" }, Some(400)),
            (
                SipError::CSeqMethodMismatch {
                    request: "INVITE".into(),
                    cseq: "ACK".into(),
                },
                Some(400),
            ),
            (SipError::BadContentLength { reason: "x" }, Some(400)),
            (
                SipError::ContentLengthTooLarge {
                    length: 99,
                    limit: 10,
                },
                Some(513),
            ),
            (
                SipError::TruncatedBody {
                    expected: 9,
                    available: 1,
                },
                Some(400),
            ),
            (
                SipError::TrailingData {
                    expected: 1,
                    extra: 2,
                },
                Some(400),
            ),
            (
                SipError::NotATelephoneNumber {
                    header: "From",
                    source: TnError::Empty,
                },
                Some(400),
            ),
            (
                SipError::InvalidValue {
                    what: "tag",
                    reason: "x",
                },
                None,
            ),
        ]
    }

    #[test]
    fn every_variant_maps_to_its_status() {
        for (error, code) in every_variant() {
            assert_eq!(error.status().map(|(c, _)| c), code, "{error:?}");
        }
    }

    #[test]
    fn every_warning_is_a_single_quoted_line() {
        for (error, _) in every_variant() {
            let w = error.warning("sip.example.com:5060");
            assert!(w.starts_with("399 sip.example.com:5060 \""), "{w}");
            assert!(w.ends_with('"'), "{w}");
            assert!(!w.contains('\r') && !w.contains('\n'), "{w}");
        }
    }

    #[test]
    fn sanitize_replaces_quotes_and_controls() {
        assert_eq!(sanitize("A\"B\\C\r\nD", 100), "A?B?C??D");
        assert_eq!(sanitize("INVITEINVITE", 6), "INVITE");
    }
}
