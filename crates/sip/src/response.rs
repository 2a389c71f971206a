//! Responses (RFC 3261 sections 7.2 and 8.2.6), built for a request or for a message that
//! could not be decoded.

use crate::SipError;
use crate::grammar::{is_forbidden_control, is_token};
use crate::header::{HeaderName, Headers, NameAddrRef};
use crate::limits::Limits;
use crate::message::{check_mandatory, decimal, encode, salvage};
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
        let mut vias = h.get_all(&HeaderName::VIA).peekable();
        if vias.peek().is_none() {
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
            from: single(&HeaderName::FROM)?,
            to: single(&HeaderName::TO)?,
            call_id: single(&HeaderName::CALL_ID)?,
            cseq: single(&HeaderName::CSEQ)?,
        };
        let mut response = Self::new(status, reason)?;
        // Room for what is copied and for a Contact and an Identity header.
        let copied: usize = h.get_all(&HeaderName::VIA).map(str::len).sum::<usize>()
            + parts.from.len()
            + parts.to.len()
            + to_tag.len()
            + 5
            + parts.call_id.len()
            + parts.cseq.len();
        response.headers = Headers::with_capacity(h.len() + 4, copied + 1024);
        // The values are entries of the request's headers under the same names: trimmed,
        // free of controls, one list element each. They go in as they are.
        response.copy_from(vias, &parts, to_tag, |headers, name, value| {
            headers.push_entry(name, value);
            Ok(())
        })?;
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
        let parts = Parts {
            from: &s.from,
            to: &s.to,
            call_id: &s.call_id,
            cseq: &s.cseq,
        };
        let mut response = Self::new(status, reason).ok()?;
        response
            .copy_from(
                s.vias.iter().map(String::as_str),
                &parts,
                to_tag,
                Headers::push,
            )
            .ok()?;
        response
            .headers
            .push(HeaderName::WARNING, &error.warning(warn_agent))
            .ok()?;
        Some(response)
    }

    /// Copies the Vias and `parts` with `add`, adding `to_tag` to a To without a tag.
    fn copy_from<'a>(
        &mut self,
        vias: impl Iterator<Item = &'a str>,
        parts: &Parts<'_>,
        to_tag: &str,
        add: impl Fn(&mut Headers, HeaderName, &str) -> Result<(), SipError>,
    ) -> Result<(), SipError> {
        for via in vias {
            add(&mut self.headers, HeaderName::VIA, via)?;
        }
        add(&mut self.headers, HeaderName::FROM, parts.from)?;
        let to = NameAddrRef::parse(parts.to).map_err(|_| SipError::BadHeaderValue {
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
            // A tagged To is as clean as the To and the token it is made of.
            self.headers
                .push_parts(HeaderName::TO, &[parts.to, ";tag=", to_tag]);
        } else {
            add(&mut self.headers, HeaderName::TO, parts.to)?;
        }
        add(&mut self.headers, HeaderName::CALL_ID, parts.call_id)?;
        add(&mut self.headers, HeaderName::CSEQ, parts.cseq)?;
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
        let mut digits = [0; 20];
        let start: [&[u8]; 4] = [
            b"SIP/2.0 ",
            decimal(usize::from(self.status), &mut digits),
            b" ",
            self.reason.as_bytes(),
        ];
        encode(&start, &self.headers, &self.body)
    }
}

/// The headers a response copies from its request, but the Vias.
struct Parts<'a> {
    from: &'a str,
    to: &'a str,
    call_id: &'a str,
    cseq: &'a str,
}
