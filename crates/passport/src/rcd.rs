//! Rich Call Data integrity (RFC 9795 section 6.1): the `rcdi` claim maps a JSON pointer
//! into `rcd` to a digest of the content found there (a logo behind `icn`, a jCard behind
//! `jcl`), written `<alg>-<base64 digest>` as in W3C Subresource Integrity.

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

/// The digest algorithms accepted in `rcdi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlg {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlg {
    /// The prefix used in the digest string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    fn algorithm(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "sha256" => Some(Self::Sha256),
            "sha384" => Some(Self::Sha384),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }
}

/// Why an integrity string does not match.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IntegrityError {
    /// Not `<alg>-<base64>`.
    #[error("malformed integrity digest {value:?}")]
    Malformed {
        /// The value (truncated).
        value: String,
    },
    /// An algorithm other than sha256, sha384 or sha512.
    #[error("unsupported integrity algorithm {alg:?}")]
    UnsupportedAlg {
        /// The algorithm named.
        alg: String,
    },
    /// The content's digest differs.
    #[error("integrity digest mismatch")]
    Mismatch,
}

/// `<alg>-<base64 digest of content>`.
pub fn integrity_digest(alg: DigestAlg, content: &[u8]) -> String {
    let d = digest::digest(alg.algorithm(), content);
    format!("{}-{}", alg.as_str(), STANDARD.encode(d.as_ref()))
}

/// Checks `content` against an integrity string; base64 padding is optional.
pub fn check_integrity(expected: &str, content: &[u8]) -> Result<(), IntegrityError> {
    let malformed = || IntegrityError::Malformed {
        value: expected.chars().take(100).collect(),
    };
    let (alg, b64) = expected.split_once('-').ok_or_else(malformed)?;
    let alg = DigestAlg::parse(alg).ok_or_else(|| IntegrityError::UnsupportedAlg {
        alg: alg.chars().take(16).collect(),
    })?;
    let want = STANDARD
        .decode(b64)
        .or_else(|_| STANDARD_NO_PAD.decode(b64))
        .map_err(|_| malformed())?;
    let got = digest::digest(alg.algorithm(), content);
    if got.as_ref() == want.as_slice() {
        Ok(())
    } else {
        Err(IntegrityError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_round_trip_and_detect_changes() {
        let logo = b"\x89PNG fake logo bytes";
        for alg in [DigestAlg::Sha256, DigestAlg::Sha384, DigestAlg::Sha512] {
            let d = integrity_digest(alg, logo);
            assert!(d.starts_with(alg.as_str()));
            assert_eq!(check_integrity(&d, logo), Ok(()));
            assert_eq!(check_integrity(&d, b"other"), Err(IntegrityError::Mismatch));
            assert_eq!(check_integrity(d.trim_end_matches('='), logo), Ok(()));
        }
        // SHA-256 of the empty string, a published value.
        assert_eq!(
            integrity_digest(DigestAlg::Sha256, b""),
            "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert!(matches!(
            check_integrity("md5-abc", logo),
            Err(IntegrityError::UnsupportedAlg { .. })
        ));
        assert!(matches!(
            check_integrity("nodash", logo),
            Err(IntegrityError::Malformed { .. })
        ));
        assert!(matches!(
            check_integrity("sha256-!!!", logo),
            Err(IntegrityError::Malformed { .. })
        ));
    }
}
