//! SIP messages on the wire (RFC 3261 section 7 and 18.3): framing, the start line, header
//! fields and the body.
//!
//! Decoding is strict and bounded by [`Limits`]: lines end with CRLF, folded header lines
//! are unfolded, the header section ends with an empty line, and the body is exactly
//! Content-Length bytes. On a datagram a missing Content-Length means "the rest of the
//! datagram" and bytes beyond Content-Length are an error; on a stream Content-Length is
//! mandatory and a partial message is `Ok(None)`.

use std::borrow::Cow;

use crate::SipError;
use crate::error::sanitize;
use crate::grammar::{
    find_byte, find_forbidden_control, find_line_break, is_forbidden_control, is_ws, split_at_byte,
    split_list, trim_ws,
};
use crate::header::{CSeq, HeaderName, Headers, NameAddr, Via, check_call_id};
use crate::limits::Limits;
use crate::method::Method;
use crate::request::Request;
use crate::response::Response;
use crate::uri::Uri;

const CRLF: &[u8] = b"\r\n";
const CRLFCRLF: &[u8] = b"\r\n\r\n";

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// The header fields.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => r.headers(),
            Message::Response(r) => r.headers(),
        }
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        match self {
            Message::Request(r) => r.body(),
            Message::Response(r) => r.body(),
        }
    }

    /// The request, if this is one.
    pub fn as_request(&self) -> Option<&Request> {
        match self {
            Message::Request(r) => Some(r),
            Message::Response(_) => None,
        }
    }

    /// The response, if this is one.
    pub fn as_response(&self) -> Option<&Response> {
        match self {
            Message::Request(_) => None,
            Message::Response(r) => Some(r),
        }
    }

    /// The message as bytes for the wire, with a `Content-Length` matching the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}

/// What [`decode_stream`] found at the start of a stream buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framed {
    /// A complete message occupying the first `consumed` bytes.
    Message {
        /// The message.
        message: Message,
        /// Bytes to drop from the front of the buffer.
        consumed: usize,
    },
    /// CRLFs between messages (RFC 5626 section 3.5.1 keep-alive). `ping` is true for a
    /// double CRLF, which the receiver answers with a single CRLF ("pong").
    KeepAlive {
        /// Bytes to drop from the front of the buffer.
        consumed: usize,
        /// True for a double-CRLF ping.
        ping: bool,
    },
}

/// The offset of the first occurrence of `needle` (not empty) in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = 0;
    loop {
        let at = from + find_byte(haystack.get(from..)?, first)?;
        if haystack.get(at + 1..at + needle.len()) == Some(rest) {
            return Some(at);
        }
        from = at + 1;
    }
}

/// The offset of the first CR not followed by LF, or LF not preceded by CR, at or after
/// `from`. A CR at the very end is not counted when `partial` (its LF may still come).
fn bare_line_break(bytes: &[u8], from: usize, partial: bool) -> Option<usize> {
    let mut from = from;
    loop {
        let i = from + find_line_break(bytes.get(from..)?)?;
        let bare = match bytes.get(i) {
            Some(b'\r') => match bytes.get(i + 1) {
                Some(&next) => next != b'\n',
                None => !partial,
            },
            _ => i == 0 || bytes.get(i - 1) != Some(&b'\r'),
        };
        if bare {
            return Some(i);
        }
        from = i + 1;
    }
}

/// Lines of `bytes` split at CRLF, with their offsets.
#[cfg(test)]
fn crlf_lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut offset = 0;
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let current = rest?;
        let start = offset;
        match find(current, CRLF) {
            Some(i) => {
                let (line, tail) = current.split_at_checked(i)?;
                rest = tail.get(2..);
                offset += i + 2;
                Some((start, line))
            }
            None => {
                rest = None;
                Some((start, current))
            }
        }
    })
}

/// The start line of a message.
#[derive(Debug)]
enum StartLine {
    Request { method: Method, uri: Uri },
    Response { status: u16, reason: String },
}

/// A parsed header section.
#[derive(Debug)]
struct Head {
    start: StartLine,
    headers: Headers,
    content_length: Option<usize>,
}

fn bad_start(reason: &'static str) -> SipError {
    SipError::BadStartLine { reason }
}

/// `SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT`; only 2.0 is accepted.
fn check_version(v: &str) -> Result<(), SipError> {
    let (sip, number) = v
        .split_at_checked(4)
        .ok_or(bad_start("missing SIP version"))?;
    if !sip.eq_ignore_ascii_case("SIP/") {
        return Err(bad_start("missing SIP version"));
    }
    let (major, minor) = number
        .split_once('.')
        .ok_or(bad_start("malformed SIP version"))?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(major) && digits(minor)) {
        return Err(bad_start("malformed SIP version"));
    }
    let number = |s: &str| s.parse::<u32>().unwrap_or(u32::MAX);
    let (major, minor) = (number(major), number(minor));
    if (major, minor) == (2, 0) {
        Ok(())
    } else {
        Err(SipError::UnsupportedVersion { major, minor })
    }
}

fn parse_start_line(line: &str) -> Result<StartLine, SipError> {
    let is_status = line
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"));
    if is_status {
        let mut parts = line.splitn(3, ' ');
        check_version(parts.next().unwrap_or_default())?;
        let code = parts.next().ok_or(bad_start("missing status code"))?;
        let reason = parts.next().ok_or(bad_start("missing reason phrase"))?;
        let status = (code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()))
            .then(|| code.parse::<u16>().ok())
            .flatten()
            .filter(|c| (100..=699).contains(c))
            .ok_or(bad_start("status code is not 100-699"))?;
        return Ok(StartLine::Response {
            status,
            reason: reason.to_owned(),
        });
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad_start(
            "request line is not Method SP Request-URI SP SIP-Version",
        ));
    };
    let method = Method::parse(method).ok_or(bad_start("invalid method"))?;
    check_version(version)?;
    let uri = Uri::parse_inner(uri).map_err(|reason| SipError::BadRequestUri { reason })?;
    Ok(StartLine::Request { method, uri })
}

fn parse_content_length(v: &str) -> Result<usize, SipError> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SipError::BadContentLength {
            reason: "not a decimal number",
        });
    }
    let significant = v.trim_start_matches('0');
    let length = if significant.len() > 19 {
        u64::MAX
    } else {
        significant.parse::<u64>().unwrap_or(0)
    };
    usize::try_from(length).map_err(|_| SipError::ContentLengthTooLarge {
        length,
        limit: usize::MAX,
    })
}

/// One line of a header section: where it is and whether it holds a control character.
#[derive(Debug, Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
    control: bool,
}

/// Splits a header section into lines at CRLF in one pass over its control characters.
/// A CR or LF that is not part of a CRLF is refused with its offset (plus `base`), before
/// anything else is looked at.
fn split_lines(head: &[u8], base: usize) -> Result<Vec<Line>, SipError> {
    let mut lines = Vec::with_capacity(24);
    let mut start = 0;
    let mut control = false;
    let mut from = 0;
    while let Some(i) = head.get(from..).and_then(find_forbidden_control) {
        let at = from + i;
        match head.get(at) {
            Some(b'\r') if head.get(at + 1) == Some(&b'\n') => {
                lines.push(Line {
                    start,
                    end: at,
                    control,
                });
                start = at + 2;
                control = false;
                from = at + 2;
            }
            Some(b'\r' | b'\n') => return Err(SipError::BadLineEnding { offset: base + at }),
            _ => {
                control = true;
                from = at + 1;
            }
        }
    }
    lines.push(Line {
        start,
        end: head.len(),
        control,
    });
    Ok(lines)
}

/// Strips trailing SP and HTAB.
fn trim_end_ws(s: &str) -> &str {
    s.trim_end_matches([' ', '\t'])
}

/// Parses a header section (start line and header lines, without the final empty line).
/// `base` is the offset of `head` in the message, for error positions.
fn parse_head(head: &[u8], base: usize, limits: &Limits) -> Result<Head, SipError> {
    let lines = split_lines(head, base)?;
    // Lines split at ASCII bytes: when the whole section is UTF-8, so is every line.
    let head_text = std::str::from_utf8(head).ok();
    let text_of = |line: &Line| match head_text {
        Some(text) => Ok(text.get(line.start..line.end).unwrap_or_default()),
        None => std::str::from_utf8(head.get(line.start..line.end).unwrap_or_default()),
    };
    let (first, header_lines) = lines.split_first().ok_or(bad_start("empty"))?;
    if first.end - first.start > limits.max_start_line {
        return Err(SipError::StartLineTooLong {
            limit: limits.max_start_line,
        });
    }
    if first.control || head.get(first.start).copied().is_some_and(is_ws) {
        return Err(bad_start("control character or leading white space"));
    }
    let start = text_of(first).map_err(|_| bad_start("not UTF-8"))?;
    let start = parse_start_line(start)?;

    // Unfold: a line starting with SP or HTAB continues the previous header line. Every
    // line is checked before any field is parsed, so the first bad line is the one
    // reported.
    let mut fields = 0;
    // The length of the field being unfolded, and that length without trailing white space.
    let (mut field_len, mut trimmed_len) = (0, 0);
    for (index, line) in header_lines.iter().enumerate() {
        let line_no = index + 2;
        let too_long = SipError::HeaderLineTooLong {
            line: line_no,
            limit: limits.max_header_line,
        };
        if line.end - line.start > limits.max_header_line {
            return Err(too_long);
        }
        if line.control {
            return Err(SipError::BadHeaderLine {
                line: line_no,
                reason: "control character",
            });
        }
        let text = text_of(line).map_err(|_| SipError::BadHeaderLine {
            line: line_no,
            reason: "not UTF-8",
        })?;
        if text.bytes().next().is_some_and(is_ws) {
            if fields == 0 {
                return Err(SipError::BadHeaderLine {
                    line: line_no,
                    reason: "continuation line before any header",
                });
            }
            let continuation = trim_ws(text);
            if !continuation.is_empty() {
                field_len = trimmed_len + 1 + continuation.len();
                trimmed_len = field_len;
            }
            if field_len > limits.max_header_line {
                return Err(too_long);
            }
        } else {
            if fields >= limits.max_headers {
                return Err(SipError::TooManyHeaders {
                    limit: limits.max_headers,
                });
            }
            fields += 1;
            field_len = text.len();
            trimmed_len = trim_end_ws(text).len();
        }
    }

    let mut headers = Headers::with_capacity(fields + 4, head.len());
    let mut content_length = None;
    // The single-valued headers seen so far, by `HeaderName::single_bit`.
    let mut seen_single = 0u64;
    let mut rest = header_lines.iter().enumerate().peekable();
    while let Some((index, first_line)) = rest.next() {
        let line = index + 2;
        // The field, unfolded: only a folded one is copied. The first header line is not a
        // continuation (checked above).
        let mut field = Cow::Borrowed(text_of(first_line).unwrap_or_default());
        while let Some((_, next)) =
            rest.next_if(|(_, l)| head.get(l.start).copied().is_some_and(is_ws))
        {
            let continuation = trim_ws(text_of(next).unwrap_or_default());
            if !continuation.is_empty() {
                let field: &mut String = field.to_mut();
                field.truncate(trim_end_ws(field).len());
                field.push(' ');
                field.push_str(continuation);
            }
        }
        let (name, value) = split_at_byte(&field, b':').ok_or(SipError::BadHeaderLine {
            line,
            reason: "no colon",
        })?;
        let name = HeaderName::parse(trim_end_ws(name)).ok_or(SipError::BadHeaderLine {
            line,
            reason: "header name is not a token",
        })?;
        let value = trim_ws(value);
        if name == HeaderName::CONTENT_LENGTH {
            if content_length.is_some() {
                return Err(SipError::DuplicateHeader {
                    name: "Content-Length",
                });
            }
            let length = parse_content_length(value)?;
            if length > limits.max_content_length {
                return Err(SipError::ContentLengthTooLarge {
                    length: u64::try_from(length).unwrap_or(u64::MAX),
                    limit: limits.max_content_length,
                });
            }
            content_length = Some(length);
            continue;
        }
        if let Some(bit) = name.single_bit() {
            if seen_single & bit != 0 {
                return Err(SipError::DuplicateHeader {
                    name: name.static_name(),
                });
            }
            seen_single |= bit;
        }
        let static_name = name.static_name();
        headers
            .push_split(name, value)
            .map_err(|reason| SipError::BadHeaderValue {
                name: static_name,
                reason,
            })?;
        if headers.len() > limits.max_headers {
            return Err(SipError::TooManyHeaders {
                limit: limits.max_headers,
            });
        }
    }
    Ok(Head {
        start,
        headers,
        content_length,
    })
}

/// Checks the headers every message needs (RFC 3261 section 8.1.1): Via, From, To,
/// Call-ID and CSeq present once and well-formed; for a request, the CSeq method equal to
/// the request method and Max-Forwards, when present, in range.
pub(crate) fn check_mandatory(headers: &Headers, method: Option<&Method>) -> Result<(), SipError> {
    headers.check_vias()?;
    headers.name_addr_ref(&HeaderName::FROM)?;
    headers.name_addr_ref(&HeaderName::TO)?;
    headers.call_id()?;
    let cseq = headers.cseq()?;
    if let Some(method) = method {
        if cseq.method() != method {
            return Err(SipError::CSeqMethodMismatch {
                request: sanitize(method.as_str(), 32),
                cseq: sanitize(cseq.method().as_str(), 32),
            });
        }
        headers.max_forwards()?;
    }
    Ok(())
}

fn build(head: Head, body: &[u8]) -> Result<Message, SipError> {
    let message = match head.start {
        StartLine::Request { method, uri } => {
            check_mandatory(&head.headers, Some(&method))?;
            Message::Request(Request::from_parts(
                method,
                uri,
                head.headers,
                body.to_vec(),
            ))
        }
        StartLine::Response { status, reason } => {
            check_mandatory(&head.headers, None)?;
            Message::Response(Response::from_parts(
                status,
                reason,
                head.headers,
                body.to_vec(),
            ))
        }
    };
    Ok(message)
}

/// The length of the CRLF pairs at the start of `input`.
fn leading_crlfs(input: &[u8]) -> usize {
    input.chunks(2).take_while(|pair| *pair == CRLF).count() * 2
}

/// Decodes one UDP datagram holding exactly one message.
///
/// CRLFs before the start line are skipped (RFC 3261 section 7.5); a datagram of only
/// CRLFs is [`SipError::KeepAlive`]. Without Content-Length the body is the rest of the
/// datagram; with it, the datagram must end exactly where the body does.
pub fn decode_datagram(input: &[u8], limits: &Limits) -> Result<Message, SipError> {
    if input.len() > limits.max_message_size {
        return Err(SipError::TooLarge {
            limit: limits.max_message_size,
        });
    }
    let skip = leading_crlfs(input);
    let message = input.get(skip..).unwrap_or_default();
    if message.is_empty() {
        return Err(SipError::KeepAlive { len: skip });
    }
    let Some(head_end) = find(message, CRLFCRLF) else {
        if let Some(i) = bare_line_break(message, 0, false) {
            return Err(SipError::BadLineEnding { offset: skip + i });
        }
        return Err(SipError::UnterminatedHeaders { len: message.len() });
    };
    let (head, rest) = message.split_at_checked(head_end).unwrap_or_default();
    let head = parse_head(head, skip, limits)?;
    let rest = rest.get(CRLFCRLF.len()..).unwrap_or_default();
    let body = match head.content_length {
        Some(expected) if rest.len() < expected => {
            return Err(SipError::TruncatedBody {
                expected,
                available: rest.len(),
            });
        }
        Some(expected) if rest.len() > expected => {
            return Err(SipError::TrailingData {
                expected,
                extra: rest.len() - expected,
            });
        }
        Some(_) => rest,
        None if rest.len() > limits.max_content_length => {
            return Err(SipError::ContentLengthTooLarge {
                length: u64::try_from(rest.len()).unwrap_or(u64::MAX),
                limit: limits.max_content_length,
            });
        }
        None => rest,
    };
    build(head, body)
}

/// Decodes the message at the start of a stream (TCP or TLS) buffer.
///
/// Returns `Ok(None)` while the buffer holds only part of a message (read more and call
/// again with the whole buffer), [`Framed::KeepAlive`] for CRLFs between messages, and
/// [`Framed::Message`] with the number of bytes to drop once a message is complete.
/// Content-Length is mandatory. An error means the stream cannot be resynchronised: answer
/// it if [`Response::for_malformed`] can, then close the connection.
///
/// Each call scans the buffer from its start; a connection should keep a [`StreamDecoder`],
/// which resumes where it stopped, so that a peer sending one byte at a time cannot make
/// framing cost grow with the square of the message size.
pub fn decode_stream(input: &[u8], limits: &Limits) -> Result<Option<Framed>, SipError> {
    StreamDecoder::new(limits.clone()).decode(input)
}

/// Incremental framing for one stream connection: the same results as [`decode_stream`],
/// with the work already done on a buffer kept between calls.
///
/// Pass the connection's buffer each time bytes arrive. After a [`Framed`] result, drop its
/// `consumed` bytes from the front of the buffer before the next call; otherwise only append
/// to the buffer between calls.
///
/// ```
/// use sip::{Framed, Limits, message::StreamDecoder};
///
/// let wire = b"OPTIONS sip:+12125551213@example.com SIP/2.0\r\n\
///     Via: SIP/2.0/TCP 192.0.2.10;branch=z9hG4bK-1\r\n\
///     From: <sip:+12155551212@example.com>;tag=a\r\nTo: <sip:+12125551213@example.com>\r\n\
///     Call-ID: c1@192.0.2.10\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
/// let mut decoder = StreamDecoder::new(Limits::default());
/// let mut buffer = Vec::new();
/// let mut framed = None;
/// for byte in wire {
///     buffer.push(*byte);
///     framed = decoder.decode(&buffer)?;
///     if framed.is_some() {
///         break;
///     }
/// }
/// let Some(Framed::Message { consumed, .. }) = framed else { unreachable!() };
/// assert_eq!(consumed, wire.len());
/// # Ok::<(), sip::SipError>(())
/// ```
#[derive(Debug)]
pub struct StreamDecoder {
    limits: Limits,
    /// Bytes searched for the end of the header section without finding it.
    scanned: usize,
    /// Complete lines in the scanned bytes.
    lines: usize,
    /// Where the line being received starts.
    line_start: usize,
    /// A parsed header section waiting for its body: the head, where the body starts and
    /// where the message ends.
    pending: Option<(Head, usize, usize)>,
}

impl StreamDecoder {
    /// A decoder for a new connection.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            scanned: 0,
            lines: 0,
            line_start: 0,
            pending: None,
        }
    }

    fn reset(&mut self) {
        self.scanned = 0;
        self.lines = 0;
        self.line_start = 0;
        self.pending = None;
    }

    /// Frames what `buffer` starts with (see [`decode_stream`]).
    pub fn decode(&mut self, buffer: &[u8]) -> Result<Option<Framed>, SipError> {
        if let Some((_, body_start, total)) = &self.pending {
            let (body_start, total) = (*body_start, *total);
            let Some(body) = buffer.get(body_start..total) else {
                return Ok(None);
            };
            let Some((head, _, _)) = self.pending.take() else {
                return Ok(None);
            };
            self.reset();
            return Ok(Some(Framed::Message {
                message: build(head, body)?,
                consumed: total,
            }));
        }
        if self.scanned == 0 {
            match buffer {
                [] | [b'\r'] | [b'\r', b'\n'] | [b'\r', b'\n', b'\r'] => return Ok(None),
                [b'\r', b'\n', b'\r', b'\n', ..] => {
                    return Ok(Some(Framed::KeepAlive {
                        consumed: 4,
                        ping: true,
                    }));
                }
                [b'\r', b'\n', ..] => {
                    return Ok(Some(Framed::KeepAlive {
                        consumed: 2,
                        ping: false,
                    }));
                }
                _ => {}
            }
        }
        // Resume the search three bytes back: the terminator may straddle the old end.
        let from = self.scanned.saturating_sub(CRLFCRLF.len() - 1);
        let found = buffer
            .get(from..)
            .and_then(|rest| find(rest, CRLFCRLF))
            .map(|i| from + i);
        let Some(head_end) = found else {
            return self.scan_partial(buffer);
        };
        let limits = &self.limits;
        let body_start = head_end + CRLFCRLF.len();
        if body_start > limits.max_message_size {
            return Err(SipError::TooLarge {
                limit: limits.max_message_size,
            });
        }
        let head = parse_head(buffer.get(..head_end).unwrap_or_default(), 0, limits)?;
        let length = head.content_length.ok_or(SipError::MissingHeader {
            name: "Content-Length",
        })?;
        let total = body_start.saturating_add(length);
        if total > limits.max_message_size {
            return Err(SipError::TooLarge {
                limit: limits.max_message_size,
            });
        }
        self.pending = Some((head, body_start, total));
        self.decode(buffer)
    }

    /// Checks the bytes that arrived since the last call while the header section is still
    /// incomplete: line endings, the size limit, and the length of the line being received,
    /// so an over-long line is refused as soon as it is seen, not when the message ends.
    fn scan_partial(&mut self, buffer: &[u8]) -> Result<Option<Framed>, SipError> {
        // A CR at the old end may have been waiting for its LF: look at it again.
        let from = self.scanned.saturating_sub(1);
        if let Some(i) = bare_line_break(buffer, from, true) {
            return Err(SipError::BadLineEnding { offset: i });
        }
        let limits = &self.limits;
        if buffer.len() > limits.max_message_size {
            return Err(SipError::TooLarge {
                limit: limits.max_message_size,
            });
        }
        for (i, &b) in buffer.iter().enumerate().skip(self.scanned) {
            // Every LF here follows a CR: bare ones were refused above.
            if b == b'\n' {
                self.lines += 1;
                self.line_start = i + 1;
            }
        }
        self.scanned = buffer.len();
        let current = buffer.len() - self.line_start;
        if self.lines == 0 && current > limits.max_start_line {
            return Err(SipError::StartLineTooLong {
                limit: limits.max_start_line,
            });
        }
        if self.lines > 0 && current > limits.max_header_line {
            return Err(SipError::HeaderLineTooLong {
                line: self.lines + 1,
                limit: limits.max_header_line,
            });
        }
        Ok(None)
    }
}

/// The parts of a refused request that a response needs, taken leniently.
pub(crate) struct Salvaged {
    pub(crate) vias: Vec<String>,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) call_id: String,
    pub(crate) cseq: String,
}

/// Recovers Via, From, To, Call-ID and CSeq from a message that failed to decode, so that
/// it can be answered. Lines that cannot be read are skipped; the limits still apply.
/// `None` when the message is a response, an ACK (never answered), or lacks any of the
/// five headers in a usable form.
pub(crate) fn salvage(input: &[u8], limits: &Limits) -> Option<Salvaged> {
    let input = input.get(..input.len().min(limits.max_message_size))?;
    let input = input.get(leading_crlfs(input)..)?;
    let head = input.get(..find(input, CRLFCRLF).unwrap_or(input.len()))?;
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let start = lines.next()?;
    if start.len() > limits.max_start_line {
        return None;
    }
    let start = std::str::from_utf8(start).ok()?;
    if start
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
    {
        return None;
    }
    let method = Method::parse(start.split(' ').next()?)?;
    if method == Method::Ack {
        return None;
    }
    let mut fields: Vec<String> = Vec::new();
    for line in lines.take(limits.max_headers.saturating_mul(4)) {
        if line.len() > limits.max_header_line || line.iter().copied().any(is_forbidden_control) {
            continue;
        }
        let Ok(text) = std::str::from_utf8(line) else {
            continue;
        };
        if line.first().copied().is_some_and(is_ws) {
            if let Some(field) = fields.last_mut()
                && field.len() + text.len() <= limits.max_header_line
            {
                field.push(' ');
                field.push_str(trim_ws(text));
            }
        } else if fields.len() < limits.max_headers {
            fields.push(text.to_owned());
        } else {
            break;
        }
    }
    let mut vias = Vec::new();
    let (mut from, mut to, mut call_id, mut cseq) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for field in &fields {
        let Some((name, value)) = field.split_once(':') else {
            continue;
        };
        let Some(name) = HeaderName::parse(name.trim_end_matches([' ', '\t'])) else {
            continue;
        };
        let value = trim_ws(value).to_owned();
        if name == HeaderName::VIA {
            for v in split_list(&value).ok()? {
                Via::parse(v).ok()?;
                vias.push(v.to_owned());
            }
        } else if name == HeaderName::FROM {
            from.push(value);
        } else if name == HeaderName::TO {
            to.push(value);
        } else if name == HeaderName::CALL_ID {
            call_id.push(value);
        } else if name == HeaderName::CSEQ {
            cseq.push(value);
        }
    }
    let one = |mut v: Vec<String>| if v.len() == 1 { v.pop() } else { None };
    let (from, to, call_id, cseq) = (one(from)?, one(to)?, one(call_id)?, one(cseq)?);
    if vias.is_empty() {
        return None;
    }
    NameAddr::parse_inner(&from).ok()?;
    NameAddr::parse_inner(&to).ok()?;
    check_call_id(&call_id).ok()?;
    CSeq::parse(&cseq).ok()?;
    Some(Salvaged {
        vias,
        from,
        to,
        call_id,
        cseq,
    })
}

/// Writes `n` in decimal into `buf`, returning the digits.
pub(crate) fn decimal(n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = n;
    let mut at = buf.len();
    for slot in buf.iter_mut().rev() {
        // `n % 10` is a digit: the cast cannot truncate.
        *slot = b'0' + (n % 10) as u8;
        at -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.get(at..).unwrap_or_default()
}

/// Writes a message: the start line (the concatenation of `start`), headers,
/// `Content-Length` from the body, empty line, body; into one buffer of the exact size.
pub(crate) fn encode(start: &[&[u8]], headers: &Headers, body: &[u8]) -> Vec<u8> {
    const CONTENT_LENGTH: &[u8] = b"Content-Length: ";
    let mut digits = [0; 20];
    let length = decimal(body.len(), &mut digits);
    let start_len: usize = start.iter().map(|part| part.len()).sum();
    let size = start_len
        + CRLF.len()
        + headers.wire_len()
        + CONTENT_LENGTH.len()
        + length.len()
        + CRLFCRLF.len()
        + body.len();
    let mut out = Vec::with_capacity(size);
    for part in start {
        out.extend_from_slice(part);
    }
    out.extend_from_slice(CRLF);
    for h in headers.iter() {
        out.extend_from_slice(h.name().as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value().as_bytes());
        out.extend_from_slice(CRLF);
    }
    out.extend_from_slice(CONTENT_LENGTH);
    out.extend_from_slice(length);
    out.extend_from_slice(CRLFCRLF);
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:+12125551213@example.com;user=phone SIP/2.0\r\n\
        Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n\
        Max-Forwards: 70\r\n\
        From: \"Alice\" <sip:+12155551212@example.com;user=phone>;tag=1928301774\r\n\
        To: <sip:+12125551213@example.com;user=phone>\r\n\
        Call-ID: a84b4c76e66710@192.0.2.10\r\n\
        CSeq: 314159 INVITE\r\n\
        Content-Length: 4\r\n\
        \r\n\
        v=0\n";

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn a_datagram_decodes_and_round_trips() {
        let m = decode_datagram(INVITE.as_bytes(), &limits()).unwrap();
        let r = m.as_request().unwrap();
        assert_eq!(r.method(), &Method::Invite);
        assert_eq!(r.body(), b"v=0\n");
        assert_eq!(r.headers().call_id().unwrap(), "a84b4c76e66710@192.0.2.10");
        let again = decode_datagram(&m.to_bytes(), &limits()).unwrap();
        assert_eq!(again, m);
    }

    #[test]
    fn stream_waits_for_the_whole_message() {
        let bytes = INVITE.as_bytes();
        for cut in 0..bytes.len() {
            assert_eq!(
                decode_stream(&bytes[..cut], &limits()),
                Ok(None),
                "cut at {cut}"
            );
        }
        let mut two = bytes.to_vec();
        two.extend_from_slice(bytes);
        let Some(Framed::Message { consumed, .. }) = decode_stream(&two, &limits()).unwrap() else {
            panic!("expected a message");
        };
        assert_eq!(consumed, bytes.len());
    }

    #[test]
    fn keep_alives_are_recognised() {
        assert_eq!(
            decode_stream(b"\r\n\r\nINVITE", &limits()),
            Ok(Some(Framed::KeepAlive {
                consumed: 4,
                ping: true
            }))
        );
        assert_eq!(
            decode_stream(b"\r\nINVITE", &limits()),
            Ok(Some(Framed::KeepAlive {
                consumed: 2,
                ping: false
            }))
        );
        assert_eq!(decode_stream(b"\r\n\r", &limits()), Ok(None));
        assert_eq!(
            decode_datagram(b"\r\n\r\n", &limits()),
            Err(SipError::KeepAlive { len: 4 })
        );
    }

    #[test]
    fn bare_line_breaks_are_found() {
        assert_eq!(bare_line_break(b"a\r\nb", 0, false), None);
        assert_eq!(bare_line_break(b"a\nb", 0, false), Some(1));
        assert_eq!(bare_line_break(b"\nb", 0, false), Some(0));
        assert_eq!(bare_line_break(b"a\rb", 0, false), Some(1));
        assert_eq!(bare_line_break(b"a\r", 0, true), None);
        assert_eq!(bare_line_break(b"a\r", 0, false), Some(1));
        // Looking from an offset still sees the byte before it.
        assert_eq!(bare_line_break(b"a\r\nb", 2, false), None);
        assert_eq!(bare_line_break(b"a\nb\n", 2, false), Some(3));
    }

    #[test]
    fn crlf_lines_split_with_offsets() {
        let lines: Vec<_> = crlf_lines(b"ab\r\ncd\r\n").collect();
        assert_eq!(lines, vec![(0, &b"ab"[..]), (4, &b"cd"[..]), (8, &b""[..])]);
        assert_eq!(crlf_lines(b"").count(), 1);
    }

    #[test]
    fn split_lines_agrees_with_crlf_lines_and_bare_line_break() {
        let samples: [&[u8]; 12] = [
            b"",
            b"a",
            b"ab\r\ncd",
            b"ab\r\ncd\r\n",
            b"a\x01b\r\nc\td\r\n\x7f",
            b"a\nb",
            b"a\rb",
            b"a\r",
            b"\nb",
            b"a\r\r\nb",
            b"a\x00\r\nb\r\n\r\nc",
            b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\tx",
        ];
        for head in samples {
            let expected = match bare_line_break(head, 0, false) {
                Some(i) => Err(SipError::BadLineEnding { offset: 7 + i }),
                None => Ok(crlf_lines(head)
                    .map(|(start, line)| {
                        (
                            start,
                            start + line.len(),
                            line.iter().copied().any(is_forbidden_control),
                        )
                    })
                    .collect::<Vec<_>>()),
            };
            let got = split_lines(head, 7)
                .map(|lines| lines.iter().map(|l| (l.start, l.end, l.control)).collect());
            assert_eq!(got, expected, "{head:?}");
        }
    }

    #[test]
    fn decimals_are_written() {
        let mut buf = [0; 20];
        for n in [0, 7, 10, 302, 65_535, usize::MAX] {
            assert_eq!(decimal(n, &mut buf), n.to_string().as_bytes());
        }
    }

    #[test]
    fn versions_are_checked() {
        assert_eq!(check_version("SIP/2.0"), Ok(()));
        assert_eq!(check_version("sip/2.0"), Ok(()));
        assert_eq!(
            check_version("SIP/7.0"),
            Err(SipError::UnsupportedVersion { major: 7, minor: 0 })
        );
        assert_eq!(
            check_version("SIP/99999999999.0"),
            Err(SipError::UnsupportedVersion {
                major: u32::MAX,
                minor: 0
            })
        );
        assert_eq!(
            check_version("SIP/2"),
            Err(bad_start("malformed SIP version"))
        );
        assert_eq!(
            check_version("HTTP/1.1"),
            Err(bad_start("missing SIP version"))
        );
        assert_eq!(check_version("SIP"), Err(bad_start("missing SIP version")));
    }
}
