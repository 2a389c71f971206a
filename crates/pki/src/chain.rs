//! Certification path validation (RFC 5280 section 6, profiled by ATIS-1000080 and RFC 9060).
//!
//! [`validate`] builds a path from the leaf through the intermediates it was given (in any
//! order, matched by issuer/subject name and, when both are present, authority/subject key
//! identifier) to one of the trust anchors, and checks, for every certificate of the path:
//! - the signature, with the issuer's key (ECDSA P-256/P-384/P-521, RSA PKCS#1 v1.5);
//! - the validity period at the time given (RFC 5280: `notBefore <= t <= notAfter`);
//! - that no critical extension is left unprocessed and that the extensions decode;
//! - on every issuer (anchor included): basicConstraints `cA`, `keyCertSign` when keyUsage is
//!   present, and `pathLenConstraint`;
//! - on the leaf: an ECDSA P-256 key, a TNAuthList, `digitalSignature` when keyUsage is
//!   present, and no `cA`;
//! - the scope of delegate certificates, when an issuer is a CA with a TNAuthList
//!   ([`crate::delegate`]);
//! - revocation, by every CRL given whose issuer is the certificate's issuer: the CRL's
//!   signature, its `thisUpdate`/`nextUpdate` window and its serial numbers. Having no CRL
//!   for a certificate is not an error here; whether CRLs are required is the caller's policy.
//!
//! Self-issued intermediates count towards `pathLenConstraint` like any other (stricter than
//! RFC 5280); indirect CRLs are not supported.

use aws_lc_rs::digest;
use passport::key::VerifyingKey;
use passport::{CredentialFailure, CredentialFailureKind};

use crate::certificate::{Certificate, CertificateError, MAX_CHAIN_CERTIFICATES};
use crate::credential::ValidatedCredential;
use crate::crl::Crl;
use crate::delegate::{self, DelegationError};
use crate::public_key::KeyAlgorithm;
use crate::signature::{self, SignatureProblem};
use crate::tn_auth_list::TnAuthListError;
use crate::trust::TrustAnchors;

/// The longest path accepted, leaf and anchor included.
pub const MAX_PATH_LEN: usize = 6;

/// Why a certificate chain is not a usable STIR credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// No certificate at all.
    #[error("the certificate chain is empty")]
    EmptyChain,
    /// More certificates than [`MAX_CHAIN_CERTIFICATES`].
    #[error("the chain holds {len} certificates; at most {max} are accepted")]
    ChainTooLong {
        /// How many were given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// No trust anchor within [`MAX_PATH_LEN`] certificates.
    #[error("no trust anchor within {max} certificates of the leaf")]
    PathTooLong {
        /// The limit.
        max: usize,
    },
    /// No anchor or given intermediate is the issuer of `subject`.
    #[error("no trusted issuer {issuer:?} for {subject:?}")]
    UnknownIssuer {
        /// The certificate whose issuer is missing.
        subject: String,
        /// The issuer name it names.
        issuer: String,
    },
    /// A certificate named by the issuer field exists, but its key did not sign `subject`.
    #[error("the signature of {subject:?} does not verify with the key of {issuer:?}")]
    BadSignature {
        /// The certificate whose signature failed.
        subject: String,
        /// The issuer tried.
        issuer: String,
    },
    /// The signature algorithm, or its pairing with the issuer's key, is not supported.
    #[error("unsupported signature algorithm {algorithm} on {subject:?}")]
    UnsupportedSignatureAlgorithm {
        /// The certificate.
        subject: String,
        /// Its signature algorithm.
        algorithm: String,
    },
    /// The outer signatureAlgorithm differs from the one inside the signed part.
    #[error("the signature algorithms of {subject:?} disagree ({outer} outside, {inner} inside)")]
    SignatureAlgorithmMismatch {
        /// The certificate.
        subject: String,
        /// The outer algorithm.
        outer: String,
        /// The tbsCertificate algorithm.
        inner: String,
    },
    /// A certificate has expired.
    #[error("{subject:?} expired at {not_after} (checked at {at})")]
    Expired {
        /// The certificate.
        subject: String,
        /// Its notAfter, Unix seconds.
        not_after: i64,
        /// The validation time.
        at: i64,
    },
    /// A certificate is not valid yet.
    #[error("{subject:?} is not valid before {not_before} (checked at {at})")]
    NotYetValid {
        /// The certificate.
        subject: String,
        /// Its notBefore, Unix seconds.
        not_before: i64,
        /// The validation time.
        at: i64,
    },
    /// An issuer lacks basicConstraints `cA`.
    #[error("{subject:?} issues certificates but is not a CA (basicConstraints cA is not set)")]
    NotCa {
        /// The issuer.
        subject: String,
    },
    /// A keyUsage extension is present without the usage the role requires.
    #[error("the keyUsage of {subject:?} lacks {usage}")]
    KeyUsageMissing {
        /// The certificate.
        subject: String,
        /// `digitalSignature`, `keyCertSign` or `cRLSign`.
        usage: &'static str,
    },
    /// An issuer's pathLenConstraint is smaller than the CA certificates below it.
    #[error("{subject:?} allows {path_len} intermediate CAs below it; the path has {below}")]
    PathLenExceeded {
        /// The issuer.
        subject: String,
        /// Its pathLenConstraint.
        path_len: u32,
        /// CA certificates between it and the leaf.
        below: usize,
    },
    /// The leaf is a CA certificate.
    #[error("the leaf {subject:?} is a CA certificate")]
    LeafIsCa {
        /// The leaf.
        subject: String,
    },
    /// A critical extension this crate does not process.
    #[error("{subject:?} has the unsupported critical extension {oid}")]
    UnknownCriticalExtension {
        /// The certificate.
        subject: String,
        /// The extension OID.
        oid: String,
    },
    /// An extension that does not decode, or appears twice.
    #[error("{subject:?} has a malformed extension {oid}: {reason}")]
    MalformedExtension {
        /// The certificate.
        subject: String,
        /// The extension OID.
        oid: String,
        /// What is wrong.
        reason: String,
    },
    /// The leaf key is not ECDSA P-256 (ES256 needs P-256).
    #[error("the leaf {subject:?} has a {key} key; SHAKEN requires ECDSA P-256")]
    UnsupportedLeafKey {
        /// The leaf.
        subject: String,
        /// Its key algorithm.
        key: KeyAlgorithm,
    },
    /// The leaf claims P-256, but the key does not load.
    #[error("the P-256 key of {subject:?} is unusable: {reason}")]
    BadLeafKey {
        /// The leaf.
        subject: String,
        /// What the key loader said.
        reason: String,
    },
    /// The leaf has no TNAuthList.
    #[error("the leaf {subject:?} has no TNAuthList extension")]
    NoTnAuthList {
        /// The leaf.
        subject: String,
    },
    /// The leaf's TNAuthList does not decode.
    #[error("the TNAuthList of {subject:?} is malformed: {source}")]
    MalformedTnAuthList {
        /// The leaf.
        subject: String,
        /// The decoding error.
        source: TnAuthListError,
    },
    /// A delegate certificate exceeds its issuer's scope (RFC 9060).
    #[error("delegate certificate {subject:?} exceeds the scope of {issuer:?}: {source}")]
    Delegation {
        /// The delegate.
        subject: String,
        /// Its issuer.
        issuer: String,
        /// How.
        source: DelegationError,
    },
    /// A CRL lists the certificate.
    #[error("{subject:?} (serial {serial}) is revoked")]
    Revoked {
        /// The certificate.
        subject: String,
        /// Its serial number, hex.
        serial: String,
    },
    /// A CRL naming an issuer of the path is not signed by that issuer's key.
    #[error("the CRL of {issuer:?} does not verify with its key")]
    CrlBadSignature {
        /// The CRL issuer.
        issuer: String,
    },
    /// A CRL has a critical extension this crate does not process.
    #[error("the CRL of {issuer:?} has the unsupported critical extension {oid}")]
    CrlUnknownCriticalExtension {
        /// The CRL issuer.
        issuer: String,
        /// The extension OID.
        oid: String,
    },
    /// A CRL is not valid yet.
    #[error("the CRL of {issuer:?} is not valid before {this_update} (checked at {at})")]
    CrlNotYetValid {
        /// The CRL issuer.
        issuer: String,
        /// Its thisUpdate.
        this_update: i64,
        /// The validation time.
        at: i64,
    },
    /// A CRL is past its nextUpdate (or has none): a fresh one is needed.
    #[error("the CRL of {issuer:?} is stale (nextUpdate {next_update:?}, checked at {at})")]
    CrlExpired {
        /// The CRL issuer.
        issuer: String,
        /// Its nextUpdate.
        next_update: Option<i64>,
        /// The validation time.
        at: i64,
    },
}

impl ChainError {
    /// The credential-failure kind of this error: one exhaustive match, no fallback arm.
    pub const fn kind(&self) -> CredentialFailureKind {
        use CredentialFailureKind as K;
        match self {
            Self::EmptyChain
            | Self::ChainTooLong { .. }
            | Self::SignatureAlgorithmMismatch { .. }
            | Self::MalformedExtension { .. }
            | Self::BadLeafKey { .. }
            | Self::MalformedTnAuthList { .. } => K::Malformed,
            Self::PathTooLong { .. }
            | Self::UnknownIssuer { .. }
            | Self::BadSignature { .. }
            | Self::UnsupportedSignatureAlgorithm { .. }
            | Self::CrlBadSignature { .. } => K::Untrusted,
            Self::Expired { .. } => K::Expired,
            Self::NotYetValid { .. } => K::NotYetValid,
            Self::Revoked { .. } => K::Revoked,
            Self::NoTnAuthList { .. } => K::NoTnAuthList,
            Self::UnsupportedLeafKey { .. } => K::UnsupportedKey,
            Self::NotCa { .. }
            | Self::KeyUsageMissing { .. }
            | Self::PathLenExceeded { .. }
            | Self::LeafIsCa { .. }
            | Self::UnknownCriticalExtension { .. }
            | Self::Delegation { .. }
            | Self::CrlUnknownCriticalExtension { .. }
            | Self::CrlNotYetValid { .. }
            | Self::CrlExpired { .. } => K::Profile,
        }
    }
}

impl From<&ChainError> for CredentialFailure {
    fn from(error: &ChainError) -> Self {
        Self {
            kind: error.kind(),
            detail: error.to_string(),
        }
    }
}

impl From<&CertificateError> for CredentialFailure {
    fn from(error: &CertificateError) -> Self {
        Self {
            kind: CredentialFailureKind::Malformed,
            detail: error.to_string(),
        }
    }
}

/// Validates `chain` (leaf first, then intermediates in any order) against `anchors` at
/// `at_unix` (Unix seconds), with the given CRLs. See the module docs for every check.
pub fn validate(
    chain: &[Certificate],
    anchors: &TrustAnchors,
    at_unix: i64,
    crls: &[Crl],
) -> Result<ValidatedCredential, ChainError> {
    let (leaf, intermediates) = chain.split_first().ok_or(ChainError::EmptyChain)?;
    if chain.len() > MAX_CHAIN_CERTIFICATES {
        return Err(ChainError::ChainTooLong {
            len: chain.len(),
            max: MAX_CHAIN_CERTIFICATES,
        });
    }
    let (key, tn_auth_list) = check_leaf(leaf)?;

    let mut path: Vec<&Certificate> = vec![leaf];
    let mut used = vec![false; intermediates.len()];
    loop {
        let current = path.last().copied().unwrap_or(leaf);
        check_common(current, at_unix)?;
        if path.len() >= MAX_PATH_LEN {
            return Err(ChainError::PathTooLong { max: MAX_PATH_LEN });
        }
        // CA certificates between the next issuer and the leaf.
        let below = path.len() - 1;
        let mut outcome = Search::NoCandidate;
        if let Some(anchor) = find_issuer(current, anchors.certificates().iter(), &mut outcome) {
            check_common(anchor, at_unix)?;
            check_issuer(anchor, current, below)?;
            path.push(anchor);
            break;
        }
        let candidates = intermediates
            .iter()
            .zip(used.iter())
            .filter(|(_, u)| !**u)
            .map(|(c, _)| c);
        let Some(issuer) = find_issuer(current, candidates, &mut outcome) else {
            return Err(outcome.into_error(current));
        };
        if let Some(index) = intermediates.iter().position(|c| std::ptr::eq(c, issuer))
            && let Some(flag) = used.get_mut(index)
        {
            *flag = true;
        }
        check_issuer(issuer, current, below)?;
        path.push(issuer);
    }

    check_revocation(&path, crls, at_unix)?;

    let not_after = path
        .iter()
        .map(|c| c.not_after())
        .min()
        .unwrap_or_else(|| leaf.not_after());
    let mut ctx = digest::Context::new(&digest::SHA256);
    for cert in &path {
        ctx.update(&cert.sha256());
    }
    let fingerprint = ctx.finish().as_ref().try_into().unwrap_or([0u8; 32]);
    Ok(ValidatedCredential::new(
        key,
        leaf.subject().to_owned(),
        tn_auth_list,
        not_after,
        fingerprint,
        path.len(),
    ))
}

/// The leaf-only rules: P-256 key, TNAuthList, digitalSignature, not a CA.
fn check_leaf(leaf: &Certificate) -> Result<(VerifyingKey, crate::TnAuthList), ChainError> {
    let subject = || leaf.subject().to_owned();
    if leaf.is_ca() {
        return Err(ChainError::LeafIsCa { subject: subject() });
    }
    if leaf.key_usage().is_some_and(|ku| !ku.digital_signature()) {
        return Err(ChainError::KeyUsageMissing {
            subject: subject(),
            usage: "digitalSignature",
        });
    }
    if *leaf.public_key().algorithm() != KeyAlgorithm::EcP256 {
        return Err(ChainError::UnsupportedLeafKey {
            subject: subject(),
            key: leaf.public_key().algorithm().clone(),
        });
    }
    let key = VerifyingKey::from_spki_der(leaf.public_key().spki_der()).map_err(|e| {
        ChainError::BadLeafKey {
            subject: subject(),
            reason: e.to_string(),
        }
    })?;
    let list = match leaf.tn_auth_list() {
        None => return Err(ChainError::NoTnAuthList { subject: subject() }),
        Some(Err(source)) => {
            return Err(ChainError::MalformedTnAuthList {
                subject: subject(),
                source: source.clone(),
            });
        }
        Some(Ok(list)) => list.clone(),
    };
    Ok((key, list))
}

/// Rules for every certificate of the path.
fn check_common(cert: &Certificate, at: i64) -> Result<(), ChainError> {
    let subject = || cert.subject().to_owned();
    if cert.signature_algorithm() != cert.tbs_signature_algorithm() {
        return Err(ChainError::SignatureAlgorithmMismatch {
            subject: subject(),
            outer: cert.signature_algorithm().to_string(),
            inner: cert.tbs_signature_algorithm().to_string(),
        });
    }
    if let Some(problem) = cert.extension_problems().first() {
        return Err(ChainError::MalformedExtension {
            subject: subject(),
            oid: problem.oid.clone(),
            reason: problem.reason.clone(),
        });
    }
    if let Some(oid) = cert.unhandled_critical_extensions().first() {
        return Err(ChainError::UnknownCriticalExtension {
            subject: subject(),
            oid: oid.clone(),
        });
    }
    if at < cert.not_before() {
        return Err(ChainError::NotYetValid {
            subject: subject(),
            not_before: cert.not_before(),
            at,
        });
    }
    if at > cert.not_after() {
        return Err(ChainError::Expired {
            subject: subject(),
            not_after: cert.not_after(),
            at,
        });
    }
    Ok(())
}

/// Rules for a certificate that issued `child`, with `below` CA certificates under it.
fn check_issuer(issuer: &Certificate, child: &Certificate, below: usize) -> Result<(), ChainError> {
    let subject = || issuer.subject().to_owned();
    let Some(bc) = issuer.basic_constraints().filter(|bc| bc.ca) else {
        return Err(ChainError::NotCa { subject: subject() });
    };
    if issuer.key_usage().is_some_and(|ku| !ku.key_cert_sign()) {
        return Err(ChainError::KeyUsageMissing {
            subject: subject(),
            usage: "keyCertSign",
        });
    }
    if let Some(path_len) = bc.path_len
        && usize::try_from(path_len).is_ok_and(|max| below > max)
    {
        return Err(ChainError::PathLenExceeded {
            subject: subject(),
            path_len,
            below,
        });
    }
    if issuer.tn_auth_list().is_some() {
        delegate::check_delegation(child, issuer).map_err(|source| ChainError::Delegation {
            subject: child.subject().to_owned(),
            issuer: subject(),
            source,
        })?;
    }
    Ok(())
}

/// How the search for an issuer went, for the error when none is found.
enum Search {
    NoCandidate,
    BadSignature { issuer: String },
    Unsupported,
}

impl Search {
    fn into_error(self, child: &Certificate) -> ChainError {
        let subject = child.subject().to_owned();
        match self {
            Self::NoCandidate => ChainError::UnknownIssuer {
                subject,
                issuer: child.issuer().to_owned(),
            },
            Self::BadSignature { issuer } => ChainError::BadSignature { subject, issuer },
            Self::Unsupported => ChainError::UnsupportedSignatureAlgorithm {
                subject,
                algorithm: child.signature_algorithm().to_string(),
            },
        }
    }
}

/// The first candidate whose name (and key identifier, when both sides have one) matches
/// the issuer of `child` and whose key verifies its signature.
fn find_issuer<'a>(
    child: &Certificate,
    candidates: impl Iterator<Item = &'a Certificate>,
    outcome: &mut Search,
) -> Option<&'a Certificate> {
    for candidate in candidates {
        if candidate.subject_der() != child.issuer_der() {
            continue;
        }
        if let (Some(aki), Some(ski)) = (child.authority_key_id(), candidate.subject_key_id())
            && aki != ski
        {
            continue;
        }
        match signature::verify(
            child.signature_algorithm(),
            candidate.public_key(),
            child.tbs_der(),
            child.signature(),
        ) {
            Ok(()) => return Some(candidate),
            Err(SignatureProblem::Invalid) => {
                *outcome = Search::BadSignature {
                    issuer: candidate.subject().to_owned(),
                };
            }
            Err(SignatureProblem::Unsupported) => {
                if matches!(outcome, Search::NoCandidate) {
                    *outcome = Search::Unsupported;
                }
            }
        }
    }
    None
}

/// Checks each certificate below the anchor against the CRLs of its issuer.
fn check_revocation(path: &[&Certificate], crls: &[Crl], at: i64) -> Result<(), ChainError> {
    for pair in path.windows(2) {
        let (Some(cert), Some(issuer)) = (pair.first(), pair.get(1)) else {
            continue;
        };
        for crl in crls
            .iter()
            .filter(|crl| crl.issuer_der() == cert.issuer_der())
        {
            if let (Some(aki), Some(ski)) = (crl.authority_key_id(), issuer.subject_key_id())
                && aki != ski
            {
                // A CRL of another key of the same-named CA.
                continue;
            }
            let crl_issuer = || crl.issuer().to_owned();
            let signed = crl.signature_algorithm() == crl.tbs_signature_algorithm()
                && signature::verify(
                    crl.signature_algorithm(),
                    issuer.public_key(),
                    crl.tbs_der(),
                    crl.signature(),
                )
                .is_ok();
            if !signed {
                return Err(ChainError::CrlBadSignature {
                    issuer: crl_issuer(),
                });
            }
            if issuer.key_usage().is_some_and(|ku| !ku.crl_sign()) {
                return Err(ChainError::KeyUsageMissing {
                    subject: issuer.subject().to_owned(),
                    usage: "cRLSign",
                });
            }
            if let Some(oid) = crl.unhandled_critical_extensions().first() {
                return Err(ChainError::CrlUnknownCriticalExtension {
                    issuer: crl_issuer(),
                    oid: oid.clone(),
                });
            }
            if crl.is_revoked(cert.serial()) {
                return Err(ChainError::Revoked {
                    subject: cert.subject().to_owned(),
                    serial: cert.serial_hex(),
                });
            }
            if at < crl.this_update() {
                return Err(ChainError::CrlNotYetValid {
                    issuer: crl_issuer(),
                    this_update: crl.this_update(),
                    at,
                });
            }
            if crl.next_update().is_none_or(|next| at > next) {
                return Err(ChainError::CrlExpired {
                    issuer: crl_issuer(),
                    next_update: crl.next_update(),
                    at,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chain_error_maps_to_a_credential_failure_kind() {
        use CredentialFailureKind as K;
        let s = String::new;
        let cases = [
            (ChainError::EmptyChain, K::Malformed),
            (ChainError::ChainTooLong { len: 11, max: 10 }, K::Malformed),
            (ChainError::PathTooLong { max: 6 }, K::Untrusted),
            (
                ChainError::UnknownIssuer {
                    subject: s(),
                    issuer: s(),
                },
                K::Untrusted,
            ),
            (
                ChainError::BadSignature {
                    subject: s(),
                    issuer: s(),
                },
                K::Untrusted,
            ),
            (
                ChainError::UnsupportedSignatureAlgorithm {
                    subject: s(),
                    algorithm: s(),
                },
                K::Untrusted,
            ),
            (
                ChainError::SignatureAlgorithmMismatch {
                    subject: s(),
                    outer: s(),
                    inner: s(),
                },
                K::Malformed,
            ),
            (
                ChainError::Expired {
                    subject: s(),
                    not_after: 1,
                    at: 2,
                },
                K::Expired,
            ),
            (
                ChainError::NotYetValid {
                    subject: s(),
                    not_before: 2,
                    at: 1,
                },
                K::NotYetValid,
            ),
            (ChainError::NotCa { subject: s() }, K::Profile),
            (
                ChainError::KeyUsageMissing {
                    subject: s(),
                    usage: "keyCertSign",
                },
                K::Profile,
            ),
            (
                ChainError::PathLenExceeded {
                    subject: s(),
                    path_len: 0,
                    below: 1,
                },
                K::Profile,
            ),
            (ChainError::LeafIsCa { subject: s() }, K::Profile),
            (
                ChainError::UnknownCriticalExtension {
                    subject: s(),
                    oid: s(),
                },
                K::Profile,
            ),
            (
                ChainError::MalformedExtension {
                    subject: s(),
                    oid: s(),
                    reason: s(),
                },
                K::Malformed,
            ),
            (
                ChainError::UnsupportedLeafKey {
                    subject: s(),
                    key: KeyAlgorithm::EcP384,
                },
                K::UnsupportedKey,
            ),
            (
                ChainError::BadLeafKey {
                    subject: s(),
                    reason: s(),
                },
                K::Malformed,
            ),
            (ChainError::NoTnAuthList { subject: s() }, K::NoTnAuthList),
            (
                ChainError::MalformedTnAuthList {
                    subject: s(),
                    source: TnAuthListError::Empty,
                },
                K::Malformed,
            ),
            (
                ChainError::Delegation {
                    subject: s(),
                    issuer: s(),
                    source: DelegationError::IssuerHasNoTnAuthList { issuer: s() },
                },
                K::Profile,
            ),
            (
                ChainError::Revoked {
                    subject: s(),
                    serial: s(),
                },
                K::Revoked,
            ),
            (ChainError::CrlBadSignature { issuer: s() }, K::Untrusted),
            (
                ChainError::CrlUnknownCriticalExtension {
                    issuer: s(),
                    oid: s(),
                },
                K::Profile,
            ),
            (
                ChainError::CrlNotYetValid {
                    issuer: s(),
                    this_update: 2,
                    at: 1,
                },
                K::Profile,
            ),
            (
                ChainError::CrlExpired {
                    issuer: s(),
                    next_update: None,
                    at: 1,
                },
                K::Profile,
            ),
        ];
        for (error, kind) in cases {
            let failure = CredentialFailure::from(&error);
            assert_eq!(failure.kind, kind, "{error:?}");
            assert_eq!(failure.detail, error.to_string());
            assert!(!failure.detail.is_empty());
        }
        let parse = CertificateError::NoCertificate;
        assert_eq!(CredentialFailure::from(&parse).kind, K::Malformed);
    }
}
