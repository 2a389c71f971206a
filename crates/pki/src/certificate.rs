//! X.509 STI certificates (RFC 5280 profiled by RFC 8226 and ATIS-1000080), and the
//! certificate files served at an x5u URL.
//!
//! [`Certificate::from_der`] parses with `x509-parser` and keeps everything the chain checks
//! and the verifier need, owned, so a parsed certificate can be cached and shared. A
//! TNAuthList that fails to decode does not fail the certificate: the error is kept beside it
//! ([`Certificate::tn_auth_list`]), so a linter can report it and the verifier can refuse the
//! certificate with a precise reason.

use std::fmt;

use aws_lc_rs::digest;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer as _;

use crate::pem::{self, PemError};
use crate::public_key::PublicKey;
use crate::signature::SignatureAlgorithm;
use crate::tn_auth_list::{OID_TN_AUTH_LIST, TnAuthList, TnAuthListError};

/// The largest DER certificate accepted, in bytes. SHAKEN certificates are about 1 KiB;
/// delegate certificates listing many numbers are larger.
pub const MAX_CERTIFICATE_LEN: usize = 64 * 1024;

/// The most certificates accepted in one chain file.
pub const MAX_CHAIN_CERTIFICATES: usize = 10;

/// The largest chain file accepted, in bytes.
pub const MAX_CHAIN_BYTES: usize = 256 * 1024;

const OID_BASIC_CONSTRAINTS: &str = "2.5.29.19";
const OID_KEY_USAGE: &str = "2.5.29.15";
const OID_SUBJECT_KEY_ID: &str = "2.5.29.14";
const OID_AUTHORITY_KEY_ID: &str = "2.5.29.35";
const OID_CRL_DISTRIBUTION_POINTS: &str = "2.5.29.31";
const OID_CERTIFICATE_POLICIES: &str = "2.5.29.32";
const OID_EXTENDED_KEY_USAGE: &str = "2.5.29.37";
const OID_SUBJECT_ALT_NAME: &str = "2.5.29.17";

/// The extensions this crate understands: a critical extension outside this list makes the
/// certificate unusable in a chain (RFC 5280 section 4.2).
const UNDERSTOOD_EXTENSIONS: [&str; 9] = [
    OID_BASIC_CONSTRAINTS,
    OID_KEY_USAGE,
    OID_SUBJECT_KEY_ID,
    OID_AUTHORITY_KEY_ID,
    OID_CRL_DISTRIBUTION_POINTS,
    OID_CERTIFICATE_POLICIES,
    OID_EXTENDED_KEY_USAGE,
    OID_SUBJECT_ALT_NAME,
    OID_TN_AUTH_LIST,
];

/// The basicConstraints extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BasicConstraints {
    /// `cA`: the key may sign certificates.
    pub ca: bool,
    /// `pathLenConstraint`: how many intermediate CA certificates may follow this one.
    pub path_len: Option<u32>,
}

/// The keyUsage extension's bits (RFC 5280 section 4.2.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUsage(u16);

impl KeyUsage {
    /// `digitalSignature` (bit 0): the only usage of a SHAKEN end-entity key.
    pub const fn digital_signature(self) -> bool {
        self.0 & 1 != 0
    }

    /// `keyCertSign` (bit 5): the key signs certificates.
    pub const fn key_cert_sign(self) -> bool {
        self.0 & (1 << 5) != 0
    }

    /// `cRLSign` (bit 6): the key signs CRLs.
    pub const fn crl_sign(self) -> bool {
        self.0 & (1 << 6) != 0
    }

    /// The raw bits, bit `n` of RFC 5280 at `1 << n`.
    pub const fn bits(self) -> u16 {
        self.0
    }
}

/// An extension that `x509-parser` could not decode, or that appears twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionProblem {
    /// The extension OID (dotted).
    pub oid: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Why bytes are not a usable certificate or chain file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// The input is larger than the limit.
    #[error("{what} is {len} bytes; at most {max} are accepted")]
    TooLarge {
        /// `certificate` or `chain file`.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The DER is not an X.509 certificate.
    #[error("not a valid X.509 certificate: {reason}")]
    Malformed {
        /// What the parser said.
        reason: String,
    },
    /// Bytes follow the certificate.
    #[error("{count} bytes of trailing data after the certificate")]
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
    /// The input holds no certificate at all.
    #[error("no CERTIFICATE found")]
    NoCertificate,
    /// The chain file holds too many certificates.
    #[error("the chain holds more than {max} certificates")]
    TooManyCertificates {
        /// The limit.
        max: usize,
    },
    /// One certificate of a chain file is broken.
    #[error("certificate {index} of the chain: {source}")]
    InChain {
        /// Its position, 0 for the leaf.
        index: usize,
        /// What is wrong with it.
        source: Box<CertificateError>,
    },
}

/// A parsed X.509 certificate: the fields STIR needs, owned, with the DER it came from.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    version: u32,
    serial: Vec<u8>,
    subject: String,
    issuer: String,
    subject_raw: Vec<u8>,
    issuer_raw: Vec<u8>,
    common_name: Option<String>,
    not_before: i64,
    not_after: i64,
    public_key: PublicKey,
    tn_auth_list: Option<Result<TnAuthList, TnAuthListError>>,
    basic_constraints: Option<BasicConstraints>,
    key_usage: Option<KeyUsage>,
    subject_key_id: Option<Vec<u8>>,
    authority_key_id: Option<Vec<u8>>,
    crl_urls: Vec<String>,
    unhandled_critical: Vec<String>,
    extension_problems: Vec<ExtensionProblem>,
    tbs: Vec<u8>,
    signature_algorithm: SignatureAlgorithm,
    tbs_signature_algorithm: SignatureAlgorithm,
    signature: Vec<u8>,
}

impl Certificate {
    /// Parses one DER certificate; trailing bytes are an error.
    pub fn from_der(der: &[u8]) -> Result<Self, CertificateError> {
        if der.len() > MAX_CERTIFICATE_LEN {
            return Err(CertificateError::TooLarge {
                what: "certificate",
                len: der.len(),
                max: MAX_CERTIFICATE_LEN,
            });
        }
        let (rest, x509) =
            X509Certificate::from_der(der).map_err(|e| CertificateError::Malformed {
                reason: e.to_string(),
            })?;
        if !rest.is_empty() {
            return Err(CertificateError::TrailingData { count: rest.len() });
        }
        let tbs_cert = &x509.tbs_certificate;
        let mut cert = Self {
            der: der.to_vec(),
            version: tbs_cert.version.0.saturating_add(1),
            serial: tbs_cert.raw_serial().to_vec(),
            subject: tbs_cert.subject.to_string(),
            issuer: tbs_cert.issuer.to_string(),
            subject_raw: tbs_cert.subject.as_raw().to_vec(),
            issuer_raw: tbs_cert.issuer.as_raw().to_vec(),
            common_name: tbs_cert
                .subject
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok())
                .map(str::to_owned),
            not_before: tbs_cert.validity.not_before.timestamp(),
            not_after: tbs_cert.validity.not_after.timestamp(),
            public_key: PublicKey::from_spki(&tbs_cert.subject_pki),
            tn_auth_list: None,
            basic_constraints: None,
            key_usage: None,
            subject_key_id: None,
            authority_key_id: None,
            crl_urls: Vec::new(),
            unhandled_critical: Vec::new(),
            extension_problems: Vec::new(),
            tbs: tbs_cert.as_ref().to_vec(),
            signature_algorithm: SignatureAlgorithm::from_oid(
                x509.signature_algorithm.algorithm.to_id_string(),
            ),
            tbs_signature_algorithm: SignatureAlgorithm::from_oid(
                tbs_cert.signature.algorithm.to_id_string(),
            ),
            signature: x509.signature_value.data.to_vec(),
        };
        let mut seen: Vec<String> = Vec::new();
        for ext in x509.extensions() {
            let oid = ext.oid.to_id_string();
            if seen.contains(&oid) {
                cert.extension_problems.push(ExtensionProblem {
                    oid,
                    reason: "appears more than once".to_owned(),
                });
                continue;
            }
            if ext.critical && !UNDERSTOOD_EXTENSIONS.contains(&oid.as_str()) {
                cert.unhandled_critical.push(oid.clone());
            }
            if let Some(error) = ext.parsed_extension().error() {
                cert.extension_problems.push(ExtensionProblem {
                    oid: oid.clone(),
                    reason: error.to_string(),
                });
            }
            match (oid.as_str(), ext.parsed_extension()) {
                (OID_TN_AUTH_LIST, _) => {
                    cert.tn_auth_list = Some(TnAuthList::from_der(ext.value));
                }
                (_, ParsedExtension::BasicConstraints(bc)) => {
                    cert.basic_constraints = Some(BasicConstraints {
                        ca: bc.ca,
                        path_len: bc.path_len_constraint,
                    });
                }
                (_, ParsedExtension::KeyUsage(ku)) => cert.key_usage = Some(KeyUsage(ku.flags)),
                (_, ParsedExtension::SubjectKeyIdentifier(kid)) => {
                    cert.subject_key_id = Some(kid.0.to_vec());
                }
                (_, ParsedExtension::AuthorityKeyIdentifier(aki)) => {
                    cert.authority_key_id = aki.key_identifier.as_ref().map(|k| k.0.to_vec());
                }
                (_, ParsedExtension::CRLDistributionPoints(points)) => {
                    for point in points.iter() {
                        if let Some(DistributionPointName::FullName(names)) =
                            &point.distribution_point
                        {
                            for name in names {
                                if let GeneralName::URI(uri) = name {
                                    cert.crl_urls.push((*uri).to_owned());
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
            seen.push(oid);
        }
        Ok(cert)
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate as a PEM `CERTIFICATE` block.
    pub fn to_pem(&self) -> String {
        pem::encode("CERTIFICATE", &self.der)
    }

    /// The X.509 version (3 for every STI certificate).
    pub const fn version(&self) -> u32 {
        self.version
    }

    /// The serial number as encoded (big-endian, possibly with a leading zero octet).
    pub fn serial(&self) -> &[u8] {
        &self.serial
    }

    /// The serial number in lower-case hex, without leading zero octets.
    pub fn serial_hex(&self) -> String {
        hex(strip_leading_zeros(&self.serial))
    }

    /// The subject, as `CN=SHAKEN 709J, O=Example, C=US`.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The issuer, in the same form as [`Certificate::subject`].
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The subject's first commonName, when it is a string.
    pub fn common_name(&self) -> Option<&str> {
        self.common_name.as_deref()
    }

    /// The DER encoding of the subject Name (compared when building paths).
    pub fn subject_der(&self) -> &[u8] {
        &self.subject_raw
    }

    /// The DER encoding of the issuer Name.
    pub fn issuer_der(&self) -> &[u8] {
        &self.issuer_raw
    }

    /// True when subject and issuer are the same name (a root, or a re-keyed CA).
    pub fn is_self_issued(&self) -> bool {
        self.subject_raw == self.issuer_raw
    }

    /// Start of the validity period, in Unix seconds.
    pub const fn not_before(&self) -> i64 {
        self.not_before
    }

    /// End of the validity period, in Unix seconds (inclusive, as in RFC 5280).
    pub const fn not_after(&self) -> i64 {
        self.not_after
    }

    /// The subject public key.
    pub const fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// The TNAuthList extension: `None` when absent, `Some(Err(..))` when present but
    /// undecodable.
    pub const fn tn_auth_list(&self) -> Option<&Result<TnAuthList, TnAuthListError>> {
        self.tn_auth_list.as_ref()
    }

    /// The basicConstraints extension, if present and decodable.
    pub const fn basic_constraints(&self) -> Option<BasicConstraints> {
        self.basic_constraints
    }

    /// True when basicConstraints says `cA`.
    pub fn is_ca(&self) -> bool {
        self.basic_constraints.is_some_and(|bc| bc.ca)
    }

    /// The keyUsage extension, if present and decodable.
    pub const fn key_usage(&self) -> Option<KeyUsage> {
        self.key_usage
    }

    /// The subjectKeyIdentifier.
    pub fn subject_key_id(&self) -> Option<&[u8]> {
        self.subject_key_id.as_deref()
    }

    /// The keyIdentifier of the authorityKeyIdentifier extension.
    pub fn authority_key_id(&self) -> Option<&[u8]> {
        self.authority_key_id.as_deref()
    }

    /// The URIs of the CRL distribution points.
    pub fn crl_urls(&self) -> &[String] {
        &self.crl_urls
    }

    /// OIDs of critical extensions this crate does not process.
    pub fn unhandled_critical_extensions(&self) -> &[String] {
        &self.unhandled_critical
    }

    /// Extensions that failed to decode or appear more than once.
    pub fn extension_problems(&self) -> &[ExtensionProblem] {
        &self.extension_problems
    }

    /// The signed part (`tbsCertificate`), DER.
    pub fn tbs_der(&self) -> &[u8] {
        &self.tbs
    }

    /// The outer `signatureAlgorithm`.
    pub const fn signature_algorithm(&self) -> &SignatureAlgorithm {
        &self.signature_algorithm
    }

    /// The `signature` field inside the signed part, which RFC 5280 requires to equal the
    /// outer algorithm.
    pub const fn tbs_signature_algorithm(&self) -> &SignatureAlgorithm {
        &self.tbs_signature_algorithm
    }

    /// The signature bits.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// SHA-256 of the DER.
    pub fn sha256(&self) -> [u8; 32] {
        // SHA-256 digests are always 32 bytes.
        digest::digest(&digest::SHA256, &self.der)
            .as_ref()
            .try_into()
            .unwrap_or([0u8; 32])
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for Certificate {}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject)
            .field("issuer", &self.issuer)
            .field("serial", &self.serial_hex())
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("key", self.public_key.algorithm())
            .finish_non_exhaustive()
    }
}

/// Reads the certificates served at an x5u URL: PEM text with one or more `CERTIFICATE`
/// blocks (other blocks and text around them are ignored), or a single DER certificate.
///
/// The leaf comes first; intermediates may follow in any order. At most
/// [`MAX_CHAIN_CERTIFICATES`] certificates and [`MAX_CHAIN_BYTES`] bytes are accepted.
pub fn parse_chain(bytes: &[u8]) -> Result<Vec<Certificate>, CertificateError> {
    if bytes.len() > MAX_CHAIN_BYTES {
        return Err(CertificateError::TooLarge {
            what: "chain file",
            len: bytes.len(),
            max: MAX_CHAIN_BYTES,
        });
    }
    if !pem::looks_like_pem(bytes) {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(CertificateError::NoCertificate);
        }
        return Ok(vec![Certificate::from_der(bytes)?]);
    }
    let blocks = pem::decode_blocks(
        bytes,
        &["CERTIFICATE", "X509 CERTIFICATE"],
        MAX_CHAIN_CERTIFICATES,
    )
    .map_err(|source| match source {
        PemError::TooManyBlocks { max, .. } => CertificateError::TooManyCertificates { max },
        source => CertificateError::Pem { source },
    })?;
    if blocks.is_empty() {
        return Err(CertificateError::NoCertificate);
    }
    blocks
        .iter()
        .enumerate()
        .map(|(index, der)| {
            Certificate::from_der(der).map_err(|e| CertificateError::InChain {
                index,
                source: Box::new(e),
            })
        })
        .collect()
}

/// `bytes` without leading zero octets (at least one octet is kept).
pub(crate) fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let keep_one = skip.min(bytes.len().saturating_sub(1));
    bytes.get(keep_one..).unwrap_or(bytes)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_oversized_input_is_refused() {
        assert!(matches!(
            Certificate::from_der(&[0x30, 0x03, 1, 2, 3]),
            Err(CertificateError::Malformed { .. })
        ));
        assert!(matches!(
            Certificate::from_der(&[]),
            Err(CertificateError::Malformed { .. })
        ));
        assert!(matches!(
            Certificate::from_der(&vec![0; MAX_CERTIFICATE_LEN + 1]),
            Err(CertificateError::TooLarge { .. })
        ));
        assert_eq!(parse_chain(b" \n"), Err(CertificateError::NoCertificate));
        assert_eq!(
            parse_chain(b"-----BEGIN PRIVATE KEY-----\nAQ==\n-----END PRIVATE KEY-----\n"),
            Err(CertificateError::NoCertificate)
        );
        assert!(matches!(
            parse_chain(&vec![b' '; MAX_CHAIN_BYTES + 1]),
            Err(CertificateError::TooLarge {
                what: "chain file",
                ..
            })
        ));
        let bad = pem::encode("CERTIFICATE", &[0x30, 0x00]);
        assert!(matches!(
            parse_chain(bad.as_bytes()),
            Err(CertificateError::InChain { index: 0, .. })
        ));
        let many = bad.repeat(MAX_CHAIN_CERTIFICATES + 1);
        assert!(matches!(
            parse_chain(many.as_bytes()),
            Err(CertificateError::TooManyCertificates { .. })
        ));
    }

    #[test]
    fn serial_helpers() {
        assert_eq!(strip_leading_zeros(&[0, 0, 1, 2]), &[1, 2]);
        assert_eq!(strip_leading_zeros(&[0]), &[0]);
        assert_eq!(strip_leading_zeros(&[]), &[] as &[u8]);
        assert_eq!(hex(&[0, 0xab, 1]), "00ab01");
    }
}
