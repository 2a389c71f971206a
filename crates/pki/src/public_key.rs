//! The subject public key of a certificate (RFC 5280 SubjectPublicKeyInfo, RFC 5480 curves).

use std::fmt;

use x509_parser::public_key::PublicKey as ParsedKey;
use x509_parser::x509::SubjectPublicKeyInfo;

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";

/// The kind of a certificate's public key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// ECDSA on NIST P-256 (secp256r1), the only key allowed in a SHAKEN end-entity certificate.
    EcP256,
    /// ECDSA on NIST P-384, used by some STI-CAs.
    EcP384,
    /// ECDSA on NIST P-521.
    EcP521,
    /// ECDSA on another named curve.
    EcOther {
        /// The curve OID (dotted), or `?` when the parameters are not a named curve.
        curve: String,
    },
    /// RSA, with its modulus size.
    Rsa {
        /// Modulus length in bits.
        bits: usize,
    },
    /// Any other algorithm.
    Other {
        /// The algorithm OID (dotted).
        oid: String,
    },
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EcP256 => f.write_str("ECDSA P-256"),
            Self::EcP384 => f.write_str("ECDSA P-384"),
            Self::EcP521 => f.write_str("ECDSA P-521"),
            Self::EcOther { curve } => write!(f, "ECDSA on curve {curve}"),
            Self::Rsa { bits } => write!(f, "RSA-{bits}"),
            Self::Other { oid } => write!(f, "key algorithm {oid}"),
        }
    }
}

/// A certificate's public key: its algorithm, the DER SubjectPublicKeyInfo, and the key bytes
/// (the `subjectPublicKey` BIT STRING: an EC point, or an RSAPublicKey).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    algorithm: KeyAlgorithm,
    spki_der: Vec<u8>,
    key_bytes: Vec<u8>,
}

impl PublicKey {
    pub(crate) fn from_spki(spki: &SubjectPublicKeyInfo<'_>) -> Self {
        let oid = spki.algorithm.algorithm.to_id_string();
        let algorithm = match oid.as_str() {
            OID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.clone().oid().ok())
                    .map_or_else(|| "?".to_owned(), |o| o.to_id_string());
                match curve.as_str() {
                    OID_P256 => KeyAlgorithm::EcP256,
                    OID_P384 => KeyAlgorithm::EcP384,
                    OID_P521 => KeyAlgorithm::EcP521,
                    _ => KeyAlgorithm::EcOther { curve },
                }
            }
            OID_RSA_ENCRYPTION => {
                let bits = match spki.parsed() {
                    Ok(ParsedKey::RSA(rsa)) => rsa.key_size(),
                    _ => 0,
                };
                KeyAlgorithm::Rsa { bits }
            }
            _ => KeyAlgorithm::Other { oid },
        };
        Self {
            algorithm,
            spki_der: spki.raw.to_vec(),
            key_bytes: spki.subject_public_key.data.to_vec(),
        }
    }

    /// The key's algorithm.
    pub const fn algorithm(&self) -> &KeyAlgorithm {
        &self.algorithm
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The `subjectPublicKey` bits: an uncompressed EC point, or a DER RSAPublicKey.
    pub fn key_bytes(&self) -> &[u8] {
        &self.key_bytes
    }
}
