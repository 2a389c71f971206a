//! CSeq (RFC 3261 section 20.16): `1*DIGIT LWS Method`.

use std::fmt;

use crate::SipError;
use crate::grammar::{Cursor, is_token_byte, is_ws};
use crate::method::Method;

/// The largest sequence number allowed: RFC 3261 requires it to be less than 2**31.
pub const MAX_SEQ: u32 = (1 << 31) - 1;

/// A CSeq value: sequence number and method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CSeq {
    seq: u32,
    method: Method,
}

fn bad(reason: &'static str) -> SipError {
    SipError::BadHeaderValue {
        name: "CSeq",
        reason,
    }
}

impl CSeq {
    /// A CSeq, refusing a number above [`MAX_SEQ`].
    pub fn new(seq: u32, method: Method) -> Result<Self, SipError> {
        if seq > MAX_SEQ {
            return Err(SipError::InvalidValue {
                what: "CSeq",
                reason: "sequence number not below 2**31",
            });
        }
        Ok(Self { seq, method })
    }

    /// Parses `number method`.
    pub fn parse(s: &str) -> Result<Self, SipError> {
        let mut c = Cursor::new(s);
        c.skip_ws();
        let digits = c.take_while(|b| b.is_ascii_digit());
        if digits.is_empty() {
            return Err(bad("no sequence number"));
        }
        // 10 digits hold every number below 2**31; more is out of range whatever they say.
        let significant = digits.trim_start_matches('0');
        let seq = if significant.len() <= 10 {
            Some(significant.parse::<u64>().unwrap_or(0))
        } else {
            None
        };
        let seq = seq
            .and_then(|n| u32::try_from(n).ok())
            .filter(|&n| n <= MAX_SEQ)
            .ok_or(bad("sequence number not below 2**31"))?;
        if !c.peek().is_some_and(is_ws) {
            return Err(bad("no white space after the sequence number"));
        }
        c.skip_ws();
        let method = c.take_while(is_token_byte);
        c.skip_ws();
        if !c.is_end() {
            return Err(bad("unexpected characters after the method"));
        }
        let method = Method::parse(method).ok_or(bad("missing or invalid method"))?;
        Ok(Self { seq, method })
    }

    /// The sequence number.
    pub fn seq(&self) -> u32 {
        self.seq
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cseq_parses_and_prints() {
        let c = CSeq::parse("  314159   INVITE ").unwrap();
        assert_eq!(c.seq(), 314_159);
        assert_eq!(c.method(), &Method::Invite);
        assert_eq!(c.to_string(), "314159 INVITE");
        assert_eq!(CSeq::parse("2147483647 ACK").unwrap().seq(), MAX_SEQ);
        assert_eq!(
            CSeq::new(1, Method::Options).unwrap().to_string(),
            "1 OPTIONS"
        );
        assert!(CSeq::new(MAX_SEQ + 1, Method::Options).is_err());
    }

    #[test]
    fn malformed_cseqs_are_refused() {
        for (input, reason) in [
            ("INVITE", "no sequence number"),
            ("2147483648 INVITE", "sequence number not below 2**31"),
            (
                "36893488147419103232 INVITE",
                "sequence number not below 2**31",
            ),
            ("1INVITE", "no white space after the sequence number"),
            ("1 ", "missing or invalid method"),
            ("1 INVITE x", "unexpected characters after the method"),
            ("-1 INVITE", "no sequence number"),
        ] {
            assert_eq!(CSeq::parse(input), Err(bad(reason)), "{input}");
        }
    }
}
