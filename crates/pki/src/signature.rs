//! Signature algorithms of certificates and CRLs (RFC 5758, RFC 4055), verified with aws-lc-rs.
//!
//! STI certificates are signed with ECDSA: P-256 with SHA-256 by the profile, and P-384 with
//! SHA-384 by several real STI-CAs. Every pairing of the NIST curves P-256, P-384 and P-521
//! with SHA-256, SHA-384 and SHA-512 is verified, and RSA PKCS#1 v1.5 (2048 to 8192 bits) for
//! completeness. Anything else is reported as unsupported, never as valid.

use std::fmt;

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};

use crate::public_key::{KeyAlgorithm, PublicKey};

/// A certificate or CRL signature algorithm.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// `ecdsa-with-SHA256` (1.2.840.10045.4.3.2), the STI profile's algorithm.
    EcdsaSha256,
    /// `ecdsa-with-SHA384` (1.2.840.10045.4.3.3).
    EcdsaSha384,
    /// `ecdsa-with-SHA512` (1.2.840.10045.4.3.4).
    EcdsaSha512,
    /// `sha256WithRSAEncryption` (1.2.840.113549.1.1.11).
    RsaPkcs1Sha256,
    /// `sha384WithRSAEncryption` (1.2.840.113549.1.1.12).
    RsaPkcs1Sha384,
    /// `sha512WithRSAEncryption` (1.2.840.113549.1.1.13).
    RsaPkcs1Sha512,
    /// Any other algorithm: never verified.
    Other {
        /// The algorithm OID (dotted).
        oid: String,
    },
}

impl SignatureAlgorithm {
    pub(crate) fn from_oid(oid: String) -> Self {
        match oid.as_str() {
            "1.2.840.10045.4.3.2" => Self::EcdsaSha256,
            "1.2.840.10045.4.3.3" => Self::EcdsaSha384,
            "1.2.840.10045.4.3.4" => Self::EcdsaSha512,
            "1.2.840.113549.1.1.11" => Self::RsaPkcs1Sha256,
            "1.2.840.113549.1.1.12" => Self::RsaPkcs1Sha384,
            "1.2.840.113549.1.1.13" => Self::RsaPkcs1Sha512,
            _ => Self::Other { oid },
        }
    }
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EcdsaSha256 => "ecdsa-with-SHA256",
            Self::EcdsaSha384 => "ecdsa-with-SHA384",
            Self::EcdsaSha512 => "ecdsa-with-SHA512",
            Self::RsaPkcs1Sha256 => "sha256WithRSAEncryption",
            Self::RsaPkcs1Sha384 => "sha384WithRSAEncryption",
            Self::RsaPkcs1Sha512 => "sha512WithRSAEncryption",
            Self::Other { oid } => oid,
        })
    }
}

/// Why a signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignatureProblem {
    /// The algorithm, or its pairing with the signer's key, is not supported.
    Unsupported,
    /// The signature is wrong (or the key bytes are unusable).
    Invalid,
}

fn algorithm_for(
    algorithm: &SignatureAlgorithm,
    key: &KeyAlgorithm,
) -> Option<&'static dyn VerificationAlgorithm> {
    use SignatureAlgorithm as S;
    let alg: &'static dyn VerificationAlgorithm = match (key, algorithm) {
        (KeyAlgorithm::EcP256, S::EcdsaSha256) => &signature::ECDSA_P256_SHA256_ASN1,
        (KeyAlgorithm::EcP256, S::EcdsaSha384) => &signature::ECDSA_P256_SHA384_ASN1,
        (KeyAlgorithm::EcP256, S::EcdsaSha512) => &signature::ECDSA_P256_SHA512_ASN1,
        (KeyAlgorithm::EcP384, S::EcdsaSha256) => &signature::ECDSA_P384_SHA256_ASN1,
        (KeyAlgorithm::EcP384, S::EcdsaSha384) => &signature::ECDSA_P384_SHA384_ASN1,
        (KeyAlgorithm::EcP384, S::EcdsaSha512) => &signature::ECDSA_P384_SHA512_ASN1,
        (KeyAlgorithm::EcP521, S::EcdsaSha256) => &signature::ECDSA_P521_SHA256_ASN1,
        (KeyAlgorithm::EcP521, S::EcdsaSha384) => &signature::ECDSA_P521_SHA384_ASN1,
        (KeyAlgorithm::EcP521, S::EcdsaSha512) => &signature::ECDSA_P521_SHA512_ASN1,
        (KeyAlgorithm::Rsa { .. }, S::RsaPkcs1Sha256) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (KeyAlgorithm::Rsa { .. }, S::RsaPkcs1Sha384) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (KeyAlgorithm::Rsa { .. }, S::RsaPkcs1Sha512) => &signature::RSA_PKCS1_2048_8192_SHA512,
        _ => return None,
    };
    Some(alg)
}

/// Verifies `signature` over `message` with the signer's `key`.
pub(crate) fn verify(
    algorithm: &SignatureAlgorithm,
    key: &PublicKey,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureProblem> {
    let alg = algorithm_for(algorithm, key.algorithm()).ok_or(SignatureProblem::Unsupported)?;
    UnparsedPublicKey::new(alg, key.key_bytes())
        .verify(message, signature)
        .map_err(|_| SignatureProblem::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_map_to_algorithms_and_back_to_names() {
        let alg = SignatureAlgorithm::from_oid("1.2.840.10045.4.3.2".to_owned());
        assert_eq!(alg, SignatureAlgorithm::EcdsaSha256);
        assert_eq!(alg.to_string(), "ecdsa-with-SHA256");
        let other = SignatureAlgorithm::from_oid("1.2.840.10045.4.1".to_owned());
        assert_eq!(other.to_string(), "1.2.840.10045.4.1");
        assert!(algorithm_for(&other, &KeyAlgorithm::EcP256).is_none());
        assert!(
            algorithm_for(&SignatureAlgorithm::RsaPkcs1Sha256, &KeyAlgorithm::EcP256).is_none()
        );
        assert!(algorithm_for(&SignatureAlgorithm::EcdsaSha384, &KeyAlgorithm::EcP384).is_some());
    }
}
