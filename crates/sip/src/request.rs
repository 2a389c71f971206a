//! Requests (RFC 3261 section 7.1).

use passport::TelephoneNumber;

use crate::SipError;
use crate::header::{HeaderName, Headers};
use crate::message::{check_mandatory, encode};
use crate::method::Method;
use crate::uri::Uri;

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: Method,
    uri: Uri,
    headers: Headers,
    body: Vec<u8>,
}

impl Request {
    /// A request with no headers and an empty body.
    pub fn new(method: Method, uri: Uri) -> Self {
        Self::from_parts(method, uri, Headers::new(), Vec::new())
    }

    pub(crate) fn from_parts(method: Method, uri: Uri, headers: Headers, body: Vec<u8>) -> Self {
        Self {
            method,
            uri,
            headers,
            body,
        }
    }

    /// Appends a header (see [`Headers::push`]).
    pub fn with_header(mut self, name: HeaderName, value: &str) -> Result<Self, SipError> {
        self.headers.push(name, value)?;
        Ok(self)
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The Request-URI.
    pub fn uri(&self) -> &Uri {
        &self.uri
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

    /// The telephone number in the Request-URI (the called number).
    pub fn uri_tn(&self) -> Result<TelephoneNumber, SipError> {
        self.uri
            .telephone_number()
            .map_err(|source| SipError::NotATelephoneNumber {
                header: "Request-URI",
                source,
            })
    }

    /// Checks what every decoded request has: Via, From, To, Call-ID and CSeq present once
    /// and well-formed, the CSeq method equal to the request method, Max-Forwards in range.
    pub fn check(&self) -> Result<(), SipError> {
        check_mandatory(&self.headers, Some(&self.method))
    }

    /// The request as bytes for the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let start: [&[u8]; 4] = [
            self.method.as_str().as_bytes(),
            b" ",
            self.uri.as_str().as_bytes(),
            b" SIP/2.0",
        ];
        encode(&start, &self.headers, &self.body)
    }
}
