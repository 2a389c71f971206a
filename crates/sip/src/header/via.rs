//! Via (RFC 3261 section 20.42 and 25.1), with `rport` (RFC 3581).
//!
//! `SIP / 2.0 / UDP host[:port];branch=z9hG4bK...;rport;received=192.0.2.1`: white space
//! is allowed around `/`, `:`, `;` and `=`.

use std::fmt;

use crate::SipError;
use crate::grammar::{Cursor, is_token, is_token_byte};
use crate::header::params::Params;
use crate::uri::parse_hostport;

/// The branch prefix of RFC 3261 (section 8.1.1.7): a branch starting with it is unique
/// across space and time, and identifies the transaction on its own.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// The `rport` parameter of RFC 3581.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rport {
    /// No `rport` parameter.
    Absent,
    /// `;rport` without a value: the client asks for the source port to be filled in.
    Requested,
    /// `;rport=5060`: the value a server filled in.
    Filled(u16),
}

/// One Via value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    transport: String,
    host: String,
    port: Option<u16>,
    params: Params,
}

fn bad(reason: &'static str) -> SipError {
    SipError::BadHeaderValue {
        name: "Via",
        reason,
    }
}

/// Characters of `host` in `sent-by` (hostname, IPv4, or a bracketed IPv6 reference).
fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'[' | b']' | b':')
}

impl Via {
    /// Parses one Via value.
    pub fn parse(s: &str) -> Result<Self, SipError> {
        let mut c = Cursor::new(s);
        c.skip_ws();
        let name = c.take_while(is_token_byte);
        c.skip_ws();
        let slash1 = c.eat(b'/');
        c.skip_ws();
        let version = c.take_while(is_token_byte);
        c.skip_ws();
        let slash2 = c.eat(b'/');
        c.skip_ws();
        let transport = c.take_while(is_token_byte);
        if !(slash1 && slash2 && is_token(transport)) {
            return Err(bad("sent-protocol is not name/version/transport"));
        }
        if !name.eq_ignore_ascii_case("SIP") || version != "2.0" {
            return Err(bad("sent-protocol is not SIP/2.0"));
        }
        let before_ws = c.rest().len();
        c.skip_ws();
        if c.rest().len() == before_ws {
            return Err(bad("no white space before sent-by"));
        }
        // sent-by = host [ COLON port ], with white space allowed around the colon.
        let host = if c.peek() == Some(b'[') {
            c.take_while(|b| b != b']' && is_host_byte(b)).to_owned()
                + if c.eat(b']') { "]" } else { "" }
        } else {
            c.take_while(|b| b != b':' && is_host_byte(b)).to_owned()
        };
        c.skip_ws();
        let port = if c.eat(b':') {
            c.skip_ws();
            Some(c.take_while(|b| b.is_ascii_digit()))
        } else {
            None
        };
        let hostport = match port {
            Some(p) => format!("{host}:{p}"),
            None => host,
        };
        let (host, port) = parse_hostport(&hostport).map_err(bad)?;
        let params = Params::parse(c.rest()).map_err(bad)?;
        let via = Via {
            transport: transport.to_owned(),
            host: host.to_owned(),
            port,
            params,
        };
        via.check_params()?;
        Ok(via)
    }

    fn check_params(&self) -> Result<(), SipError> {
        if let Some(branch) = self.params.get("branch")
            && !branch.is_some_and(is_token)
        {
            return Err(bad("branch is not a token"));
        }
        if let Some(Some(port)) = self.params.get("rport")
            && (port.is_empty() || port.len() > 5 || port.parse::<u16>().is_err())
        {
            return Err(bad("rport is not a port number"));
        }
        if let Some(received) = self.params.get("received") {
            let ok = received.is_some_and(|r| {
                !r.is_empty()
                    && r.bytes()
                        .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':')
            });
            if !ok {
                return Err(bad("received is not an IP address"));
            }
        }
        if let Some(ttl) = self.params.get("ttl")
            && ttl.is_none_or(|t| t.parse::<u8>().is_err())
        {
            return Err(bad("ttl is not 0-255"));
        }
        Ok(())
    }

    /// The transport as written (`UDP`, `TCP`, `TLS`, `WSS`, ...).
    pub fn transport(&self) -> &str {
        &self.transport
    }

    /// The sent-by host (an IPv6 address keeps its brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The sent-by port, when given.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// `host[:port]` as a canonical string: the host lowercased, the port as given.
    pub fn sent_by(&self) -> String {
        let host = self.host.to_ascii_lowercase();
        match self.port {
            Some(port) => format!("{host}:{port}"),
            None => host,
        }
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&str> {
        self.params.value("branch")
    }

    /// True when the branch starts with the RFC 3261 magic cookie `z9hG4bK`.
    pub fn has_magic_cookie(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with(MAGIC_COOKIE))
    }

    /// The `rport` parameter (RFC 3581).
    pub fn rport(&self) -> Rport {
        match self.params.get("rport") {
            None => Rport::Absent,
            Some(None) => Rport::Requested,
            // Checked when parsed: a present value is a port number.
            Some(Some(v)) => v.parse().map_or(Rport::Requested, Rport::Filled),
        }
    }

    /// The `received` parameter: the source address a server saw.
    pub fn received(&self) -> Option<&str> {
        self.params.value("received")
    }

    /// Every parameter.
    pub fn params(&self) -> &Params {
        &self.params
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "{}", self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_parses_with_odd_white_space() {
        let v = Via::parse("SIP  /   2.0 /UDP   192.0.2.2 : 5060 ; rport ;branch = z9hG4bK390skd")
            .unwrap();
        assert_eq!(v.transport(), "UDP");
        assert_eq!(v.host(), "192.0.2.2");
        assert_eq!(v.port(), Some(5060));
        assert_eq!(v.sent_by(), "192.0.2.2:5060");
        assert_eq!(v.branch(), Some("z9hG4bK390skd"));
        assert!(v.has_magic_cookie());
        assert_eq!(v.rport(), Rport::Requested);
        assert_eq!(v.received(), None);
    }

    #[test]
    fn via_reads_rport_received_and_ipv6() {
        let v = Via::parse(
            "SIP/2.0/TCP [2001:db8::9]:5061;branch=z9hG4bKx;rport=49152;received=2001:db8::77",
        )
        .unwrap();
        assert_eq!(v.host(), "[2001:db8::9]");
        assert_eq!(v.port(), Some(5061));
        assert_eq!(v.rport(), Rport::Filled(49152));
        assert_eq!(v.received(), Some("2001:db8::77"));
        let v = Via::parse("sip/2.0/udp Proxy.Example.COM;branch=1234").unwrap();
        assert_eq!(v.sent_by(), "proxy.example.com");
        assert!(!v.has_magic_cookie());
        assert_eq!(v.rport(), Rport::Absent);
        assert_eq!(v.to_string(), "SIP/2.0/udp Proxy.Example.COM;branch=1234");
    }

    #[test]
    fn malformed_vias_are_refused() {
        for (input, reason) in [
            (
                "SIP/2.0 host",
                "sent-protocol is not name/version/transport",
            ),
            ("SIP/3.0/UDP host", "sent-protocol is not SIP/2.0"),
            ("SIP/2.0/UDPhost", "no white space before sent-by"),
            ("SIP/2.0/UDP ", "empty host"),
            ("SIP/2.0/UDP host:99999", "port out of range"),
            ("SIP/2.0/UDP host:", "malformed port"),
            ("SIP/2.0/UDP host;branch", "branch is not a token"),
            ("SIP/2.0/UDP host;rport=x", "rport is not a port number"),
            (
                "SIP/2.0/UDP host;received=evil.example",
                "received is not an IP address",
            ),
            ("SIP/2.0/UDP host;ttl=300", "ttl is not 0-255"),
            ("SIP/2.0/UDP host junk", "expected ';' before a parameter"),
            ("SIP/2.0/UDP [::1", "unterminated IPv6 reference"),
        ] {
            assert_eq!(Via::parse(input), Err(bad(reason)), "{input}");
        }
    }
}
