//! Certificate revocation lists (RFC 5280 section 5).
//!
//! A [`Crl`] is parsed once and then consulted by [`crate::validate`], which checks its
//! signature against the issuer found in the certificate path, its `thisUpdate`/`nextUpdate`
//! window, and whether a certificate's serial number is listed. Only complete, direct CRLs
//! are used: a CRL with a critical extension this crate does not process (an issuing
//! distribution point, a delta-CRL indicator) is refused by validation rather than trusted.

use std::fmt;

use x509_parser::prelude::FromDer as _;
use x509_parser::revocation_list::CertificateRevocationList;

use crate::certificate::{hex, strip_leading_zeros};
use crate::pem::{self, PemError};
use crate::signature::SignatureAlgorithm;

/// The largest CRL accepted, in bytes.
pub const MAX_CRL_LEN: usize = 8 * 1024 * 1024;

/// The most revoked entries accepted in one CRL.
pub const MAX_REVOKED: usize = 250_000;

const OID_CRL_NUMBER: &str = "2.5.29.20";
const OID_AUTHORITY_KEY_ID: &str = "2.5.29.35";

/// Why bytes are not a usable CRL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CrlError {
    /// The input is larger than [`MAX_CRL_LEN`].
    #[error("the CRL is {len} bytes; at most {max} are accepted")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The DER is not a CRL.
    #[error("not a valid X.509 CRL: {reason}")]
    Malformed {
        /// What the parser said.
        reason: String,
    },
    /// Bytes follow the CRL.
    #[error("{count} bytes of trailing data after the CRL")]
    TrailingData {
        /// How many.
        count: usize,
    },
    /// The PEM text is broken.
    #[error("unreadable PEM: {source}")]
    Pem {
        /// What the PEM reader said.
        source: PemError,
    },
    /// No `X509 CRL` block in the PEM text.
    #[error("no X509 CRL block found")]
    NoCrl,
    /// More revoked entries than [`MAX_REVOKED`].
    #[error("the CRL lists more than {max} certificates")]
    TooManyEntries {
        /// The limit.
        max: usize,
    },
}

/// A parsed CRL.
#[derive(Clone)]
pub struct Crl {
    der: Vec<u8>,
    issuer: String,
    issuer_raw: Vec<u8>,
    this_update: i64,
    next_update: Option<i64>,
    /// Serial numbers without leading zero octets, sorted.
    revoked: Vec<Vec<u8>>,
    authority_key_id: Option<Vec<u8>>,
    unhandled_critical: Vec<String>,
    tbs: Vec<u8>,
    signature_algorithm: SignatureAlgorithm,
    tbs_signature_algorithm: SignatureAlgorithm,
    signature: Vec<u8>,
}

impl Crl {
    /// Parses one DER CRL; trailing bytes are an error.
    pub fn from_der(der: &[u8]) -> Result<Self, CrlError> {
        if der.len() > MAX_CRL_LEN {
            return Err(CrlError::TooLarge {
                len: der.len(),
                max: MAX_CRL_LEN,
            });
        }
        let (rest, crl) =
            CertificateRevocationList::from_der(der).map_err(|e| CrlError::Malformed {
                reason: e.to_string(),
            })?;
        if !rest.is_empty() {
            return Err(CrlError::TrailingData { count: rest.len() });
        }
        let tbs = &crl.tbs_cert_list;
        if tbs.revoked_certificates.len() > MAX_REVOKED {
            return Err(CrlError::TooManyEntries { max: MAX_REVOKED });
        }
        let mut revoked: Vec<Vec<u8>> = tbs
            .revoked_certificates
            .iter()
            .map(|r| strip_leading_zeros(r.raw_serial()).to_vec())
            .collect();
        revoked.sort_unstable();
        let mut authority_key_id = None;
        let mut unhandled_critical = Vec::new();
        for ext in crl.extensions() {
            let oid = ext.oid.to_id_string();
            match (oid.as_str(), ext.parsed_extension()) {
                (
                    OID_AUTHORITY_KEY_ID,
                    x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(aki),
                ) => {
                    authority_key_id = aki.key_identifier.as_ref().map(|k| k.0.to_vec());
                }
                (OID_CRL_NUMBER | OID_AUTHORITY_KEY_ID, _) => {}
                _ if ext.critical => unhandled_critical.push(oid),
                _ => {}
            }
        }
        Ok(Self {
            der: der.to_vec(),
            issuer: tbs.issuer.to_string(),
            issuer_raw: tbs.issuer.as_raw().to_vec(),
            this_update: tbs.this_update.timestamp(),
            next_update: tbs.next_update.map(|t| t.timestamp()),
            revoked,
            authority_key_id,
            unhandled_critical,
            tbs: tbs.as_ref().to_vec(),
            signature_algorithm: SignatureAlgorithm::from_oid(
                crl.signature_algorithm.algorithm.to_id_string(),
            ),
            tbs_signature_algorithm: SignatureAlgorithm::from_oid(
                tbs.signature.algorithm.to_id_string(),
            ),
            signature: crl.signature_value.data.to_vec(),
        })
    }

    /// Reads a PEM document holding one `X509 CRL` block (text around it is ignored).
    pub fn from_pem(text: &[u8]) -> Result<Self, CrlError> {
        if text.len() > MAX_CRL_LEN * 2 {
            return Err(CrlError::TooLarge {
                len: text.len(),
                max: MAX_CRL_LEN * 2,
            });
        }
        let blocks = pem::decode_blocks(text, &["X509 CRL"], 1)
            .map_err(|source| CrlError::Pem { source })?;
        let der = blocks.first().ok_or(CrlError::NoCrl)?;
        Self::from_der(der)
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The issuer, as `CN=..., O=..., C=US`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The DER encoding of the issuer Name.
    pub fn issuer_der(&self) -> &[u8] {
        &self.issuer_raw
    }

    /// `thisUpdate`, Unix seconds.
    pub const fn this_update(&self) -> i64 {
        self.this_update
    }

    /// `nextUpdate`, Unix seconds, when present.
    pub const fn next_update(&self) -> Option<i64> {
        self.next_update
    }

    /// How many certificates the CRL lists.
    pub fn revoked_count(&self) -> usize {
        self.revoked.len()
    }

    /// True when the serial number (as encoded in a certificate) is listed.
    pub fn is_revoked(&self, serial: &[u8]) -> bool {
        self.revoked
            .binary_search_by(|s| s.as_slice().cmp(strip_leading_zeros(serial)))
            .is_ok()
    }

    /// The keyIdentifier of the CRL's authorityKeyIdentifier.
    pub fn authority_key_id(&self) -> Option<&[u8]> {
        self.authority_key_id.as_deref()
    }

    /// OIDs of critical CRL extensions this crate does not process.
    pub fn unhandled_critical_extensions(&self) -> &[String] {
        &self.unhandled_critical
    }

    pub(crate) fn tbs_der(&self) -> &[u8] {
        &self.tbs
    }

    pub(crate) const fn signature_algorithm(&self) -> &SignatureAlgorithm {
        &self.signature_algorithm
    }

    pub(crate) const fn tbs_signature_algorithm(&self) -> &SignatureAlgorithm {
        &self.tbs_signature_algorithm
    }

    pub(crate) fn signature(&self) -> &[u8] {
        &self.signature
    }
}

impl fmt::Debug for Crl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crl")
            .field("issuer", &self.issuer)
            .field("this_update", &self.this_update)
            .field("next_update", &self.next_update)
            .field(
                "revoked",
                &self.revoked.iter().map(|s| hex(s)).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_refused() {
        assert!(matches!(
            Crl::from_der(&[0x30, 0x00]),
            Err(CrlError::Malformed { .. })
        ));
        assert!(matches!(Crl::from_pem(b"nothing"), Err(CrlError::NoCrl)));
        assert!(matches!(
            Crl::from_pem(b"-----BEGIN X509 CRL-----\n!!\n-----END X509 CRL-----\n"),
            Err(CrlError::Pem { .. })
        ));
    }
}
