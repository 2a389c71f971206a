//! SIP for callproof's redirect server: a strict, bounded message codec (RFC 3261) and the
//! server-transaction logic that answers retransmissions (RFC 3261 section 17.2).
//!
//! Sans-I/O: no sockets, no runtime, no clock. The server crate reads datagrams and streams,
//! passes the bytes and the time in, and writes out what comes back. Not a proxy, not a
//! dialog layer; Timer G (resending a final response on UDP) is not needed and not done.
//!
//! ```
//! use sip::header::HeaderName;
//! use sip::{Limits, Message, Response, decode_datagram};
//!
//! let datagram = b"INVITE sip:+12125551213@example.com;user=phone SIP/2.0\r\n\
//!     v: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds\r\n\
//!     f: <sip:+12155551212@example.com;user=phone>;tag=1928301774\r\n\
//!     t: <sip:+12125551213@example.com;user=phone>\r\n\
//!     i: a84b4c76e66710@192.0.2.10\r\nCSeq: 314159 INVITE\r\nl: 0\r\n\r\n";
//! let Message::Request(invite) = decode_datagram(datagram, &Limits::default())? else {
//!     unreachable!("the datagram holds a request");
//! };
//! assert_eq!(invite.headers().from_tn()?.as_str(), "12155551212");
//!
//! let contact = format!("<{}>", invite.uri());
//! let redirect = Response::for_request(&invite, 302, "Moved Temporarily", "a6c85cf")?
//!     .with_header(HeaderName::CONTACT, &contact)?
//!     .with_header(HeaderName::IDENTITY, "eyJh.eyJh.c2ln;info=<https://cert.example.org/sp.pem>")?;
//! let wire = String::from_utf8(redirect.to_bytes()).unwrap();
//! assert!(wire.starts_with("SIP/2.0 302 Moved Temporarily\r\n"));
//! assert!(wire.contains("To: <sip:+12125551213@example.com;user=phone>;tag=a6c85cf\r\n"));
//! assert!(wire.ends_with("Content-Length: 0\r\n\r\n"));
//! # Ok::<(), sip::SipError>(())
//! ```

pub mod error;
mod grammar;
pub mod header;
pub mod limits;
pub mod message;
pub mod method;
pub mod request;
pub mod response;
pub mod transaction;
pub mod uri;

pub use error::SipError;
pub use limits::Limits;
pub use message::{Framed, Message, StreamDecoder, decode_datagram, decode_stream};
pub use method::Method;
pub use request::Request;
pub use response::Response;
pub use uri::Uri;
