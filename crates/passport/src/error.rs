//! The verification error model and its one mapping to the wire.
//!
//! Every way a PASSporT can fail verification is a [`VerifyError`] variant. The single
//! exhaustive `match` in [`VerifyError::disposition`] turns each into the SIP response code
//! and reason phrase (RFC 8224), the ATIS-1000082 `reasoncode`/`reasontext`, and the 3GPP
//! `verstat` value, following the table in the design document.

use crate::identity::IdentityError;

/// The `verstat` value of 3GPP TS 24.229 carried on P-Asserted-Identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verstat {
    /// The identity verified: the number is authenticated.
    Passed,
    /// Verification was attempted and failed (bad credential or signature).
    Failed,
    /// No verification was possible (missing or unusable identity).
    NoValidation,
}

impl Verstat {
    /// The wire spelling: `TN-Validation-Passed`, `TN-Validation-Failed`, `No-TN-Validation`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "TN-Validation-Passed",
            Self::Failed => "TN-Validation-Failed",
            Self::NoValidation => "No-TN-Validation",
        }
    }
}

impl std::fmt::Display for Verstat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a verification failure is reported: SIP code and reason phrase (also the ATIS
/// `reasoncode`/`reasontext`) and the `verstat` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disposition {
    /// SIP response code, equal to the ATIS `reasoncode`.
    pub code: u16,
    /// SIP reason phrase, equal to the ATIS `reasontext`.
    pub reason: &'static str,
    /// The verstat to put on P-Asserted-Identity.
    pub verstat: Verstat,
}

const STALE: (u16, &str) = (403, "Stale Date");
const USE_IDENTITY: (u16, &str) = (428, "Use Identity Header");
const BAD_INFO: (u16, &str) = (436, "Bad Identity Info");
const UNSUPPORTED_CREDENTIAL: (u16, &str) = (437, "Unsupported Credential");
const INVALID_IDENTITY: (u16, &str) = (438, "Invalid Identity Header");
/// RFC 8688: an intermediary rejected the call (here: it claims a Do-Not-Originate number).
const REJECTED: (u16, &str) = (608, "Rejected");

/// Which part of a compact-serialised JWS is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPart {
    /// The whole token (wrong number of parts).
    Structure,
    /// The protected header.
    Header,
    /// The payload (claims).
    Payload,
    /// The signature.
    Signature,
}

impl std::fmt::Display for TokenPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Structure => "token",
            Self::Header => "protected header",
            Self::Payload => "payload",
            Self::Signature => "signature",
        })
    }
}

/// What is wrong with the certificate (the credential) behind a PASSporT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialFailureKind {
    /// The certificate or chain could not be parsed.
    Malformed,
    /// The chain does not lead to a configured STI-CA trust anchor, or a signature in it fails.
    Untrusted,
    /// A certificate in the chain has expired.
    Expired,
    /// A certificate in the chain is not yet valid.
    NotYetValid,
    /// A certificate in the chain is revoked by a CRL.
    Revoked,
    /// The leaf has no TNAuthList extension.
    NoTnAuthList,
    /// The leaf key is not ECDSA P-256.
    UnsupportedKey,
    /// basicConstraints, keyUsage, path length or another profile rule is violated.
    Profile,
    /// The TNAuthList does not cover the calling number.
    TnNotAuthorized,
}

impl CredentialFailureKind {
    /// A stable short name, used in logs and metrics labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Untrusted => "untrusted",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::Revoked => "revoked",
            Self::NoTnAuthList => "no_tn_auth_list",
            Self::UnsupportedKey => "unsupported_key",
            Self::Profile => "profile",
            Self::TnNotAuthorized => "tn_not_authorized",
        }
    }
}

/// A credential failure: its kind, and the certificate layer's own explanation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct CredentialFailure {
    /// What went wrong, for mapping and metrics.
    pub kind: CredentialFailureKind,
    /// The human explanation (which certificate, which rule).
    pub detail: String,
}

/// Every way verification of an Identity header can fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The request carries no Identity header at all.
    #[error("no Identity header")]
    NoIdentity,
    /// More Identity headers on one call than a verifier examines.
    #[error("{count} Identity headers; at most {max} are verified per call")]
    TooManyIdentities {
        /// How many the call carried.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The Identity header could not be parsed.
    #[error("malformed Identity header: {0}")]
    Identity(#[from] IdentityError),
    /// Compact form received where the full form is required.
    #[error("compact-form PASSporT where the full form is required")]
    CompactForm,
    /// The Identity header has no `info` parameter.
    #[error("the Identity header has no info parameter")]
    InfoMissing,
    /// The `info` parameter is not an absolute https (or allowed http) URL.
    #[error("the info parameter {info:?} is not a valid certificate URL")]
    InfoInvalid {
        /// The value found.
        info: String,
    },
    /// The Identity `ppt` parameter names a PASSporT type this verifier does not handle.
    #[error("unsupported ppt {ppt:?}")]
    UnsupportedPpt {
        /// The ppt found.
        ppt: String,
    },
    /// The Identity `ppt` parameter and the protected header's `ppt` differ.
    #[error("the Identity ppt parameter {param:?} differs from the header's ppt {header:?}")]
    PptMismatch {
        /// The header parameter.
        param: String,
        /// The protected header value.
        header: String,
    },
    /// The Identity `alg` parameter is present and not ES256.
    #[error("the Identity alg parameter {alg:?} is not ES256")]
    AlgParamMismatch {
        /// The value found.
        alg: String,
    },
    /// A part of the JWS is not base64url or not JSON.
    #[error("corrupt {part}: {reason}")]
    TokenMalformed {
        /// Which part.
        part: TokenPart,
        /// What the decoder said.
        reason: String,
    },
    /// A mandatory protected-header parameter is missing.
    #[error("the PASSporT header has no {param}")]
    HeaderParamMissing {
        /// `alg`, `typ`, `ppt` or `x5u`.
        param: &'static str,
    },
    /// `typ` is not `passport`.
    #[error("unsupported typ {typ:?}; expected passport")]
    UnsupportedTyp {
        /// The value found.
        typ: String,
    },
    /// `alg` is not `ES256`.
    #[error("unsupported alg {alg:?}; expected ES256")]
    UnsupportedAlg {
        /// The value found.
        alg: String,
    },
    /// The header's `x5u` differs from the Identity `info` URL.
    #[error("PASSporT x5u {x5u:?} differs from the Identity info {info:?}")]
    X5uMismatch {
        /// The Identity info URL.
        info: String,
        /// The PASSporT x5u.
        x5u: String,
    },
    /// The certificate at x5u could not be fetched.
    #[error("cannot fetch the certificate at {url}: {reason}")]
    CertificateFetch {
        /// The x5u URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// A claim the PASSporT type requires is absent.
    #[error("the PASSporT has no {claim} claim")]
    MissingClaim {
        /// The claim name.
        claim: &'static str,
    },
    /// A claim has the wrong type or an invalid value.
    #[error("invalid {claim} claim: {reason}")]
    InvalidClaim {
        /// The claim name.
        claim: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The PASSporT's orig differs from the call's calling number.
    #[error("PASSporT orig {passport} differs from the calling number {request}")]
    OrigMismatch {
        /// orig in the PASSporT.
        passport: String,
        /// The call's From / P-Asserted-Identity number.
        request: String,
    },
    /// None of the PASSporT's dest numbers is the call's called number.
    #[error("PASSporT dest {passport} does not include the called number {request}")]
    DestMismatch {
        /// dest in the PASSporT.
        passport: String,
        /// The call's To / request number.
        request: String,
    },
    /// `iat` is older than the freshness window.
    #[error("PASSporT iat {iat} is {} s older than now ({now}); at most {max_age_secs} s allowed", now.saturating_sub(*iat))]
    IatStale {
        /// The PASSporT's iat.
        iat: i64,
        /// The verifier's clock.
        now: i64,
        /// The freshness window.
        max_age_secs: i64,
    },
    /// `iat` is further in the future than the clock skew allows.
    #[error("PASSporT iat {iat} is {} s ahead of now ({now}); at most {max_skew_secs} s allowed", iat.saturating_sub(*now))]
    IatInFuture {
        /// The PASSporT's iat.
        iat: i64,
        /// The verifier's clock.
        now: i64,
        /// The allowed skew.
        max_skew_secs: i64,
    },
    /// The request's own time (SIP Date, ATIS `time`) is not fresh.
    #[error("request time {time} is {} s from now ({now}); at most {max_age_secs} s allowed", now.saturating_sub(*time).saturating_abs())]
    RequestTimeStale {
        /// The request's time.
        time: i64,
        /// The verifier's clock.
        now: i64,
        /// The freshness window.
        max_age_secs: i64,
    },
    /// The certificate is unusable for this PASSporT.
    #[error("certificate rejected ({kind}): {failure}", kind = .0.kind.as_str(), failure = .0)]
    Credential(CredentialFailure),
    /// The ES256 signature does not verify.
    #[error("signature validation failed")]
    SignatureInvalid,
    /// The same PASSporT was already seen within its freshness window (a copied signature).
    #[error("the PASSporT was already used for a call {seen_secs_ago} s ago (replay)")]
    Replayed {
        /// How long ago it was first seen (0 when unknown).
        seen_secs_ago: i64,
    },
    /// The calling number is Do-Not-Originate (inbound only, or on a national DNO list):
    /// no genuine call comes from it, whatever its signature says.
    #[error("{number} is a Do-Not-Originate number: no genuine call comes from it")]
    DoNotOriginate {
        /// The calling number.
        number: String,
    },
}

impl VerifyError {
    /// The wire disposition of this failure: one exhaustive match, no fallback arm.
    pub const fn disposition(&self) -> Disposition {
        use Verstat::{Failed, NoValidation};
        let ((code, reason), verstat) = match self {
            Self::NoIdentity => (USE_IDENTITY, NoValidation),
            Self::Identity(_)
            | Self::TooManyIdentities { .. }
            | Self::CompactForm
            | Self::UnsupportedPpt { .. }
            | Self::PptMismatch { .. }
            | Self::TokenMalformed { .. }
            | Self::MissingClaim { .. }
            | Self::InvalidClaim { .. }
            | Self::OrigMismatch { .. }
            | Self::DestMismatch { .. } => (INVALID_IDENTITY, NoValidation),
            Self::InfoMissing
            | Self::InfoInvalid { .. }
            | Self::HeaderParamMissing { .. }
            | Self::X5uMismatch { .. }
            | Self::CertificateFetch { .. } => (BAD_INFO, NoValidation),
            Self::UnsupportedTyp { .. }
            | Self::UnsupportedAlg { .. }
            | Self::AlgParamMismatch { .. } => (UNSUPPORTED_CREDENTIAL, NoValidation),
            Self::Credential(_) => (UNSUPPORTED_CREDENTIAL, Failed),
            Self::SignatureInvalid | Self::Replayed { .. } => (INVALID_IDENTITY, Failed),
            Self::DoNotOriginate { .. } => (REJECTED, Failed),
            Self::IatStale { .. } | Self::IatInFuture { .. } | Self::RequestTimeStale { .. } => {
                (STALE, NoValidation)
            }
        };
        Disposition {
            code,
            reason,
            verstat,
        }
    }

    /// Short stable name of the variant, for metrics labels and test vectors.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::NoIdentity => "no_identity",
            Self::Identity(_) => "identity_malformed",
            Self::TooManyIdentities { .. } => "too_many_identities",
            Self::CompactForm => "compact_form",
            Self::InfoMissing => "info_missing",
            Self::InfoInvalid { .. } => "info_invalid",
            Self::UnsupportedPpt { .. } => "unsupported_ppt",
            Self::PptMismatch { .. } => "ppt_mismatch",
            Self::AlgParamMismatch { .. } => "alg_param_mismatch",
            Self::TokenMalformed { .. } => "token_malformed",
            Self::HeaderParamMissing { .. } => "header_param_missing",
            Self::UnsupportedTyp { .. } => "unsupported_typ",
            Self::UnsupportedAlg { .. } => "unsupported_alg",
            Self::X5uMismatch { .. } => "x5u_mismatch",
            Self::CertificateFetch { .. } => "certificate_fetch",
            Self::MissingClaim { .. } => "missing_claim",
            Self::InvalidClaim { .. } => "invalid_claim",
            Self::OrigMismatch { .. } => "orig_mismatch",
            Self::DestMismatch { .. } => "dest_mismatch",
            Self::IatStale { .. } => "iat_stale",
            Self::IatInFuture { .. } => "iat_in_future",
            Self::RequestTimeStale { .. } => "request_time_stale",
            Self::Credential(_) => "credential",
            Self::SignatureInvalid => "signature_invalid",
            Self::Replayed { .. } => "replayed",
            Self::DoNotOriginate { .. } => "do_not_originate",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(e: VerifyError) -> (u16, &'static str, &'static str) {
        let d = e.disposition();
        (d.code, d.reason, d.verstat.as_str())
    }

    const NO: &str = "No-TN-Validation";
    const FAILED: &str = "TN-Validation-Failed";

    #[test]
    fn every_variant_maps_as_the_design_table_says() {
        let s = String::new;
        let cred = |kind| VerifyError::Credential(CredentialFailure { kind, detail: s() });
        let cases = [
            (VerifyError::NoIdentity, (428, "Use Identity Header", NO)),
            (
                VerifyError::Identity(IdentityError::Empty),
                (438, "Invalid Identity Header", NO),
            ),
            (
                VerifyError::CompactForm,
                (438, "Invalid Identity Header", NO),
            ),
            (VerifyError::InfoMissing, (436, "Bad Identity Info", NO)),
            (
                VerifyError::InfoInvalid { info: s() },
                (436, "Bad Identity Info", NO),
            ),
            (
                VerifyError::UnsupportedPpt { ppt: s() },
                (438, "Invalid Identity Header", NO),
            ),
            (
                VerifyError::PptMismatch {
                    param: s(),
                    header: s(),
                },
                (438, "Invalid Identity Header", NO),
            ),
            (
                VerifyError::AlgParamMismatch { alg: s() },
                (437, "Unsupported Credential", NO),
            ),
            (
                VerifyError::TokenMalformed {
                    part: TokenPart::Payload,
                    reason: s(),
                },
                (438, "Invalid Identity Header", NO),
            ),
            (
                VerifyError::HeaderParamMissing { param: "x5u" },
                (436, "Bad Identity Info", NO),
            ),
            (
                VerifyError::UnsupportedTyp { typ: s() },
                (437, "Unsupported Credential", NO),
            ),
            (
                VerifyError::UnsupportedAlg { alg: s() },
                (437, "Unsupported Credential", NO),
            ),
            (
                VerifyError::X5uMismatch {
                    info: s(),
                    x5u: s(),
                },
                (436, "Bad Identity Info", NO),
            ),
            (
                VerifyError::CertificateFetch {
                    url: s(),
                    reason: s(),
                },
                (436, "Bad Identity Info", NO),
            ),
            (
                VerifyError::MissingClaim { claim: "orig" },
                (438, "Invalid Identity Header", NO),
            ),
            (
                VerifyError::InvalidClaim {
                    claim: "attest",
                    reason: s(),
                },
                (438, "Invalid Identity Header", NO),
            ),
            (
                VerifyError::OrigMismatch {
                    passport: s(),
                    request: s(),
                },
                (438, "Invalid Identity Header", NO),
            ),
            (
                VerifyError::DestMismatch {
                    passport: s(),
                    request: s(),
                },
                (438, "Invalid Identity Header", NO),
            ),
            (
                VerifyError::IatStale {
                    iat: 0,
                    now: 100,
                    max_age_secs: 60,
                },
                (403, "Stale Date", NO),
            ),
            (
                VerifyError::IatInFuture {
                    iat: 100,
                    now: 0,
                    max_skew_secs: 60,
                },
                (403, "Stale Date", NO),
            ),
            (
                VerifyError::RequestTimeStale {
                    time: 0,
                    now: 100,
                    max_age_secs: 60,
                },
                (403, "Stale Date", NO),
            ),
            (
                cred(CredentialFailureKind::Expired),
                (437, "Unsupported Credential", FAILED),
            ),
            (
                cred(CredentialFailureKind::TnNotAuthorized),
                (437, "Unsupported Credential", FAILED),
            ),
            (
                VerifyError::SignatureInvalid,
                (438, "Invalid Identity Header", FAILED),
            ),
        ];
        for (err, want) in cases {
            assert_eq!(d(err.clone()), want, "{err:?}");
            assert!(!err.name().is_empty());
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn verstat_spellings_are_the_3gpp_ones() {
        assert_eq!(Verstat::Passed.to_string(), "TN-Validation-Passed");
        assert_eq!(Verstat::Failed.as_str(), "TN-Validation-Failed");
        assert_eq!(Verstat::NoValidation.as_str(), "No-TN-Validation");
    }
}
