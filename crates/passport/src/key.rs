//! ES256 keys: the P-256 signing key of an STI-AS and the public key of a certificate.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    ParsedPublicKey,
};

/// Length of an ES256 signature in JWS form (r || s).
pub const ES256_SIGNATURE_LEN: usize = 64;

/// Why key material was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not PEM, or a PEM label this crate does not read.
    #[error("unreadable key PEM: {reason}")]
    Pem {
        /// What the PEM reader said.
        reason: String,
    },
    /// The PEM label is not a private key.
    #[error("PEM block {label:?} is not a private key (expected PRIVATE KEY or EC PRIVATE KEY)")]
    WrongPemLabel {
        /// The label found.
        label: String,
    },
    /// The key is not an ECDSA P-256 key, or its encoding is broken.
    #[error("not a valid ECDSA P-256 key: {reason}")]
    NotP256 {
        /// What the crypto library said.
        reason: String,
    },
}

/// A P-256 private key that signs PASSporTs with ES256.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl SigningKey {
    /// Generates a fresh key (for tests and development PKIs).
    pub fn generate() -> Result<Self, KeyError> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|e| {
            KeyError::NotP256 {
                reason: e.to_string(),
            }
        })?;
        Ok(Self {
            pair,
            rng: SystemRandom::new(),
        })
    }

    /// Reads a PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`) PEM document.
    pub fn from_pem(pem_text: &str) -> Result<Self, KeyError> {
        let block = pem::parse(pem_text).map_err(|e| KeyError::Pem {
            reason: e.to_string(),
        })?;
        match block.tag() {
            "PRIVATE KEY" | "EC PRIVATE KEY" => Self::from_der(block.contents()),
            other => Err(KeyError::WrongPemLabel {
                label: other.to_owned(),
            }),
        }
    }

    /// Reads a PKCS#8 or SEC1 (RFC 5915) DER private key.
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .or_else(|_| EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, der))
            .map_err(|e| KeyError::NotP256 {
                reason: e.to_string(),
            })?;
        Ok(Self {
            pair,
            rng: SystemRandom::new(),
        })
    }

    /// The key as a PKCS#8 PEM document (for writing a generated key to a file).
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        let doc = self.pair.to_pkcs8v1().map_err(|e| KeyError::NotP256 {
            reason: e.to_string(),
        })?;
        Ok(pem::encode(&pem::Pem::new(
            "PRIVATE KEY",
            doc.as_ref().to_vec(),
        )))
    }

    /// The public key as an uncompressed SEC1 point (65 bytes).
    pub fn public_key_sec1(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// The matching verifying key.
    pub fn verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        VerifyingKey::from_sec1(self.public_key_sec1())
    }

    /// Signs `message` with ES256 and returns the 64-byte `r || s` signature.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; ES256_SIGNATURE_LEN], crate::SignError> {
        let sig = self
            .pair
            .sign(&self.rng, message)
            .map_err(|_| crate::SignError::Crypto)?;
        sig.as_ref()
            .try_into()
            .map_err(|_| crate::SignError::Crypto)
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.write_str("SigningKey(P-256, <secret>)")
    }
}

/// A parsed P-256 public key, ready to verify ES256 signatures without re-parsing.
#[derive(Clone)]
pub struct VerifyingKey {
    key: ParsedPublicKey,
}

impl VerifyingKey {
    /// From an uncompressed (or compressed) SEC1 point.
    pub fn from_sec1(point: &[u8]) -> Result<Self, KeyError> {
        let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).map_err(|e| {
            KeyError::NotP256 {
                reason: e.to_string(),
            }
        })?;
        Ok(Self { key })
    }

    /// From a DER SubjectPublicKeyInfo (as found in a certificate).
    pub fn from_spki_der(spki: &[u8]) -> Result<Self, KeyError> {
        // aws-lc-rs accepts SPKI as well as raw points for EC verification keys.
        Self::from_sec1(spki)
    }

    /// Verifies an ES256 `r || s` signature over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        signature.len() == ES256_SIGNATURE_LEN && self.key.verify_sig(message, signature).is_ok()
    }

    /// The public key bytes as given when it was parsed.
    pub fn as_bytes(&self) -> &[u8] {
        self.key.as_ref()
    }
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerifyingKey(P-256)")
    }
}

/// The raw aws-lc-rs ES256 verification, without any PASSporT processing: the ceiling that
/// benchmarks compare against.
pub fn raw_es256_verify(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    signature::VerificationAlgorithm::verify_sig(
        &ECDSA_P256_SHA256_FIXED,
        key.as_bytes(),
        message,
        signature,
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_verify_round_trips_and_pem_reloads() {
        let key = SigningKey::generate().unwrap();
        let sig = key.sign(b"hello").unwrap();
        let vk = key.verifying_key().unwrap();
        assert!(vk.verify(b"hello", &sig));
        assert!(!vk.verify(b"hellp", &sig));
        assert!(!vk.verify(b"hello", &sig[..63]));
        let again = SigningKey::from_pem(&key.to_pkcs8_pem().unwrap()).unwrap();
        assert_eq!(again.public_key_sec1(), key.public_key_sec1());
        assert!(format!("{key:?}").contains("secret"));
    }

    #[test]
    fn wrong_pem_labels_and_garbage_are_refused() {
        assert!(matches!(
            SigningKey::from_pem("nope"),
            Err(KeyError::Pem { .. })
        ));
        let cert = pem::encode(&pem::Pem::new("CERTIFICATE", vec![1, 2, 3]));
        assert!(matches!(
            SigningKey::from_pem(&cert),
            Err(KeyError::WrongPemLabel { .. })
        ));
        assert!(matches!(
            VerifyingKey::from_sec1(&[4; 65]),
            Err(KeyError::NotP256 { .. })
        ));
    }
}
