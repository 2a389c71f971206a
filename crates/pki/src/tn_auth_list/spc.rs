//! The Service Provider Code of a TNAuthList `spc` entry (RFC 8226, ATIS-1000080).

use std::fmt;

use super::TnAuthListError;

/// The longest Service Provider Code accepted. Real SPCs (OCNs) are four characters.
pub const MAX_SPC_LEN: usize = 32;

/// A Service Provider Code (an `IA5String`): 1 to [`MAX_SPC_LEN`] visible ASCII characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceProviderCode(String);

impl ServiceProviderCode {
    /// Checks a code: non-empty, at most [`MAX_SPC_LEN`] characters, visible ASCII only.
    pub fn new(code: &str) -> Result<Self, TnAuthListError> {
        Self::from_bytes(code.as_bytes())
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, TnAuthListError> {
        if bytes.is_empty() {
            return Err(TnAuthListError::InvalidSpc { reason: "empty" });
        }
        if bytes.len() > MAX_SPC_LEN {
            return Err(TnAuthListError::InvalidSpc {
                reason: "longer than 32 characters",
            });
        }
        if !bytes.iter().all(|b| b.is_ascii_graphic()) {
            return Err(TnAuthListError::InvalidSpc {
                reason: "contains a character that is not visible ASCII",
            });
        }
        Ok(Self(String::from_utf8_lossy(bytes).into_owned()))
    }

    /// The code as written in the certificate.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the code has the ATIS-1000080 format: digits and upper-case letters only
    /// (lint `e_atis_tn_auth_list_spc_format`). Codes such as `554a` are read, but fail this.
    pub fn is_atis_format(&self) -> bool {
        self.0
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    }
}

impl fmt::Display for ServiceProviderCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ServiceProviderCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Spc({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_visible_ascii_and_atis_format_is_reported() {
        assert!(ServiceProviderCode::new("709J").unwrap().is_atis_format());
        let lower = ServiceProviderCode::new("554a").unwrap();
        assert!(!lower.is_atis_format());
        assert_eq!(
            (lower.as_str(), lower.to_string()),
            ("554a", "554a".to_owned())
        );
        assert_eq!(format!("{lower:?}"), "Spc(554a)");
        assert!(ServiceProviderCode::new("70 9J").is_err());
        assert!(ServiceProviderCode::new("").is_err());
        assert!(ServiceProviderCode::new("70\u{e9}J").is_err());
        assert!(ServiceProviderCode::new(&"A".repeat(MAX_SPC_LEN)).is_ok());
        assert!(ServiceProviderCode::new(&"A".repeat(MAX_SPC_LEN + 1)).is_err());
    }
}
