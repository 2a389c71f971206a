//! Responses (RFC 3261 sections 7.2 and 8.2.6), built for a request or for a message that
//! could not be decoded.

use crate::SipError;
use crate::grammar::{is_forbidden_control, is_token};
use crate::header::{HeaderName, Headers, NameAddr};
use crate::limits::Limits;
use crate::message::{check_mandatory, encode, salvage};
use crate::request::Request;

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    reason: String,
    headers: Headers,
    body: Vec<u8>,
}

impl Response {
    /// A response with no headers: `status` must be 100 to 699 and `reason` one line of
    /// text.
    pub fn new(status: u16, reason: &str) -> Result<Self, SipError> {
        if !(100..=699).contains(&status) {
            return Err(SipError::InvalidValue {
                what: "status code",
                reason: "not 100-699",
            });
        }
        if reason.bytes().any(is_forbidden_control) {
            return Err(SipError::InvalidValue {
                what: "reason phrase",
                reason: "contains a line break or control character",
            });
        }
        Ok(Self::from_parts(
            status,
            reason.to_owned(),
            Headers::new(),
            Vec::new(),
        ))
    }

    pub(crate) fn from_parts(status: u16, reason: String, headers: Headers, body: Vec<u8>) -> Self {
        Self {
            status,
            reason,
            headers,
            body,
        }
    }

    /// A response to `request` (RFC 3261 section 8.2.6.2): every Via in order, From, To,
    /// Call-ID and CSeq copied; `to_tag` added to To when it has no tag (except on a 100).
    /// `Content-Length: 0` is written unless a body is set. Add `Contact`, `Identity`,
    /// `P-Asserted-Identity` and the like with [`Response::with_header`].
    pub fn for_request(
        request: &Request,
        status: u16,
        reason: &str,
        to_tag: &str,
    ) -> Result<Self, SipError> {
        let h = request.headers();
        let vias: Vec<&str> = h.get_all(&HeaderName::VIA).collect();
        if vias.is_empty() {
            return Err(SipError::MissingHeader { name: "Via" });
        }
        let single = |name: &HeaderName| -> Result<&str, SipError> {
            let mut values = h.get_all(name);
            match (values.next(), values.next()) {
                (Some(v), None) => Ok(v),
                (None, _) => Err(SipError::MissingHeader {
                    name: name.static_name(),
                }),
                (Some(_), Some(_)) => Err(SipError::DuplicateHeader {
                    name: name.static_name(),
                }),
            }
        };
        let parts = Parts {
            vias: &vias,
            from: single(&HeaderName::FROM)?,
            to: single(&HeaderName::TO)?,
            call_id: single(&HeaderName::CALL_ID)?,
            cseq: single(&HeaderName::CSEQ)?,
        };
        let mut response = Self::new(status, reason)?;
        response.copy_from(&parts, to_tag)?;
        Ok(response)
    }

    /// The answer to a message that failed to decode with `error`: the error's status
    /// ([`SipError::status`]) with a `Warning: 399 <warn_agent> "..."` explaining it.
    ///
    /// `None` when the message cannot or must not be answered: nothing to send for this
    /// error (a keep-alive), a response or an ACK, or Via, From, To, Call-ID or CSeq
    /// missing or unreadable, since a response is routed and matched by them. `input` is
    /// the datagram or stream buffer that failed; it is read leniently within `limits`.
    pub fn for_malformed(
        input: &[u8],
        error: &SipError,
        limits: &Limits,
        warn_agent: &str,
        to_tag: &str,
    ) -> Option<Self> {
        let (status, reason) = error.status()?;
        let s = salvage(input, limits)?;
        let vias: Vec<&str> = s.vias.iter().map(String::as_str).collect();
        let parts = Parts {
            vias: &vias,
            from: &s.from,
            to: &s.to,
            call_id: &s.call_id,
            cseq: &s.cseq,
        };
        let mut response = Self::new(status, reason).ok()?;
        response.copy_from(&parts, to_tag).ok()?;
        response
            .headers
            .push(HeaderName::WARNING, &error.warning(warn_agent))
            .ok()?;
        Some(response)
    }

    fn copy_from(&mut self, parts: &Parts<'_>, to_tag: &str) -> Result<(), SipError> {
        for via in parts.vias {
            self.headers.push(HeaderName::VIA, via)?;
        }
        self.headers.push(HeaderName::FROM, parts.from)?;
        let to = NameAddr::parse(parts.to).map_err(|_| SipError::BadHeaderValue {
            name: "To",
            reason: "not a name-addr",
        })?;
        if to.tag().is_none() && self.status != 100 {
            if !is_token(to_tag) {
                return Err(SipError::InvalidValue {
                    what: "To tag",
                    reason: "not a token",
                });
            }
            self.headers
                .push(HeaderName::TO, &format!("{};tag={to_tag}", parts.to))?;
        } else {
            self.headers.push(HeaderName::TO, parts.to)?;
        }
        self.headers.push(HeaderName::CALL_ID, parts.call_id)?;
        self.headers.push(HeaderName::CSEQ, parts.cseq)?;
        Ok(())
    }

    /// Appends a header (see [`Headers::push`]).
    pub fn with_header(mut self, name: HeaderName, value: &str) -> Result<Self, SipError> {
        self.headers.push(name, value)?;
        Ok(self)
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// True for a final (2xx to 6xx) response.
    pub fn is_final(&self) -> bool {
        self.status >= 200
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The header fields, to add or remove some.
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Replaces the body (`Content-Length` follows it when written).
    pub fn set_body(&mut self, body: Vec<u8>) {
        self.body = body;
    }

    /// Checks what every decoded response has: Via, From, To, Call-ID and CSeq present
    /// once and well-formed.
    pub fn check(&self) -> Result<(), SipError> {
        check_mandatory(&self.headers, None)
    }

    /// The response as bytes for the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let start = format!("SIP/2.0 {} {}", self.status, self.reason);
        encode(&start, &self.headers, &self.body)
    }
}

/// The headers a response copies from its request.
struct Parts<'a> {
    vias: &'a [&'a str],
    from: &'a str,
    to: &'a str,
    call_id: &'a str,
    cseq: &'a str,
}
