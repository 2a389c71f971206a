//! Verification of an Identity header, in two sans-I/O steps.
//!
//! 1. [`check`] parses the header and the PASSporT and applies every rule that needs no
//!    certificate: header parameters, claims, freshness, orig/dest against the call. It
//!    returns an [`Unverified`] PASSporT that names the certificate URL to obtain.
//! 2. The caller fetches and validates the certificate (the `pki` crate), then calls
//!    [`Unverified::verify`] with it: the credential must authorise the calling number and
//!    the ES256 signature must hold over the bytes received. Success is a
//!    [`VerifiedPassport`], which nothing else can construct.

use crate::claims::{Attestation, Claims};
use crate::error::{CredentialFailure, VerifyError};
use crate::identity::{IdentityHeader, Token};
use crate::jws::{self, Ppt, ProtectedHeader};
use crate::key::VerifyingKey;
use crate::tn::TelephoneNumber;

/// A certificate that has been validated for use, as the verifier needs it.
pub trait Credential {
    /// The certificate's public key.
    fn verifying_key(&self) -> &VerifyingKey;
    /// Ok when this credential may sign for the originating number `orig`.
    fn authorize_orig(&self, orig: &TelephoneNumber) -> Result<(), CredentialFailure>;
}

/// Verification rules that are a matter of local policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// How old `iat` (and the request time) may be, in seconds. ATIS-1000074: 60.
    pub max_age_secs: i64,
    /// How far in the future `iat` may be, for clock skew, in seconds.
    pub max_future_secs: i64,
    /// Accept `http://` certificate URLs (development only).
    pub danger_allow_http_info: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_age_secs: 60,
            max_future_secs: 60,
            danger_allow_http_info: false,
        }
    }
}

/// What the call itself says, to compare the PASSporT with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallContext {
    /// The calling number (From or P-Asserted-Identity; ATIS `from`).
    pub from: TelephoneNumber,
    /// The called number(s) (To or Request-URI; ATIS `to`).
    pub to: Vec<TelephoneNumber>,
    /// The verifier's current time (seconds since the epoch).
    pub now: i64,
    /// The time the request claims (SIP Date, ATIS `time`), if any.
    pub request_time: Option<i64>,
}

/// A PASSporT that passed every check that needs no certificate.
#[derive(Debug, Clone)]
pub struct Unverified<'a> {
    passport: jws::DecodedPassport<'a>,
    ppt: Ppt,
    x5u: &'a str,
}

/// A PASSporT whose signature, certificate authority and claims all held.
///
/// Only [`Unverified::verify`] creates one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPassport {
    header: ProtectedHeader,
    claims: Claims,
    ppt: Ppt,
}

impl VerifiedPassport {
    /// The protected header.
    pub fn header(&self) -> &ProtectedHeader {
        &self.header
    }
    /// The verified claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }
    /// The PASSporT type.
    pub fn ppt(&self) -> Ppt {
        self.ppt
    }
    /// The SHAKEN attestation, if any.
    pub fn attest(&self) -> Option<Attestation> {
        self.claims.attest
    }
    /// The certificate URL.
    pub fn x5u(&self) -> &str {
        self.header.x5u.as_deref().unwrap_or_default()
    }
}

/// Parses `identity` and checks it against `call` without a certificate.
pub fn check<'a>(
    identity: &'a str,
    call: &CallContext,
    policy: &Policy,
) -> Result<Unverified<'a>, VerifyError> {
    let parsed = IdentityHeader::parse(identity)?;
    check_parsed(&parsed, call, policy)
}

/// As [`check`], for an already parsed header.
pub fn check_parsed<'a>(
    identity: &IdentityHeader<'a>,
    call: &CallContext,
    policy: &Policy,
) -> Result<Unverified<'a>, VerifyError> {
    if let Some(time) = call.request_time
        && call.now.saturating_sub(time).saturating_abs() > policy.max_age_secs
    {
        return Err(VerifyError::RequestTimeStale {
            time,
            now: call.now,
            max_age_secs: policy.max_age_secs,
        });
    }
    let token = match identity.token {
        Token::Full(token) => token,
        Token::Compact { .. } => return Err(VerifyError::CompactForm),
    };
    let info = identity.info.ok_or(VerifyError::InfoMissing)?;
    check_info(info, policy)?;
    if let Some(ppt) = identity.ppt.as_deref()
        && Ppt::parse(ppt).is_none()
    {
        return Err(VerifyError::UnsupportedPpt {
            ppt: ppt.to_owned(),
        });
    }
    if let Some(alg) = identity.alg.as_deref()
        && alg != "ES256"
    {
        return Err(VerifyError::AlgParamMismatch {
            alg: alg.to_owned(),
        });
    }
    let passport = jws::decode(token)?;
    let header = &passport.header;
    let alg = header
        .alg
        .as_deref()
        .ok_or(VerifyError::HeaderParamMissing { param: "alg" })?;
    if alg != "ES256" {
        return Err(VerifyError::UnsupportedAlg {
            alg: alg.to_owned(),
        });
    }
    let typ = header
        .typ
        .as_deref()
        .ok_or(VerifyError::HeaderParamMissing { param: "typ" })?;
    if typ != "passport" {
        return Err(VerifyError::UnsupportedTyp {
            typ: typ.to_owned(),
        });
    }
    let header_ppt = header
        .ppt
        .as_deref()
        .ok_or(VerifyError::HeaderParamMissing { param: "ppt" })?;
    let ppt = Ppt::parse(header_ppt).ok_or_else(|| VerifyError::UnsupportedPpt {
        ppt: header_ppt.to_owned(),
    })?;
    if let Some(param) = identity.ppt.as_deref()
        && param != header_ppt
    {
        return Err(VerifyError::PptMismatch {
            param: param.to_owned(),
            header: header_ppt.to_owned(),
        });
    }
    let x5u = header
        .x5u
        .as_deref()
        .ok_or(VerifyError::HeaderParamMissing { param: "x5u" })?;
    if x5u != info {
        return Err(VerifyError::X5uMismatch {
            info: info.to_owned(),
            x5u: x5u.to_owned(),
        });
    }
    check_claims(&passport.claims, ppt, call, policy)?;
    // `x5u` borrows from the decoded header; keep the borrowed `info` (equal) instead.
    Ok(Unverified {
        ppt,
        x5u: info,
        passport,
    })
}

fn check_info(info: &str, policy: &Policy) -> Result<(), VerifyError> {
    let lower = info
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let https = lower.starts_with("https://") && info.len() > 8;
    let http = policy.danger_allow_http_info && lower.starts_with("http://") && info.len() > 7;
    if https || http {
        Ok(())
    } else {
        Err(VerifyError::InfoInvalid {
            info: info.chars().take(200).collect(),
        })
    }
}

fn check_claims(
    claims: &Claims,
    ppt: Ppt,
    call: &CallContext,
    policy: &Policy,
) -> Result<(), VerifyError> {
    match ppt {
        Ppt::Shaken => {
            if claims.attest.is_none() {
                return Err(VerifyError::MissingClaim { claim: "attest" });
            }
            match claims.origid.as_deref() {
                None => return Err(VerifyError::MissingClaim { claim: "origid" }),
                Some("") => {
                    return Err(VerifyError::InvalidClaim {
                        claim: "origid",
                        reason: "empty".into(),
                    });
                }
                Some(_) => {}
            }
        }
        Ppt::Div => {
            if claims.div.is_none() {
                return Err(VerifyError::MissingClaim { claim: "div" });
            }
        }
        Ppt::Rcd => {
            if claims.rcd.is_none() {
                return Err(VerifyError::MissingClaim { claim: "rcd" });
            }
        }
    }
    let age = call.now.saturating_sub(claims.iat);
    if age > policy.max_age_secs {
        return Err(VerifyError::IatStale {
            iat: claims.iat,
            now: call.now,
            max_age_secs: policy.max_age_secs,
        });
    }
    if age.saturating_neg() > policy.max_future_secs {
        return Err(VerifyError::IatInFuture {
            iat: claims.iat,
            now: call.now,
            max_skew_secs: policy.max_future_secs,
        });
    }
    let orig = claims.orig.tn().ok_or_else(|| VerifyError::InvalidClaim {
        claim: "orig",
        reason: "a telephone number (tn) is required".into(),
    })?;
    if *orig != call.from {
        return Err(VerifyError::OrigMismatch {
            passport: orig.to_string(),
            request: call.from.to_string(),
        });
    }
    if !call.to.iter().any(|to| claims.dest.contains_tn(to)) {
        let request: Vec<&str> = call.to.iter().map(TelephoneNumber::as_str).collect();
        return Err(VerifyError::DestMismatch {
            passport: claims.dest.to_string(),
            request: request.join(","),
        });
    }
    Ok(())
}

impl<'a> Unverified<'a> {
    /// The certificate URL to fetch (equal to the Identity `info`).
    pub fn x5u(&self) -> &'a str {
        self.x5u
    }

    /// The PASSporT type.
    pub fn ppt(&self) -> Ppt {
        self.ppt
    }

    /// The claims, not yet verified.
    pub fn claims(&self) -> &Claims {
        &self.passport.claims
    }

    /// Completes verification with the validated certificate from `x5u`.
    pub fn verify(self, credential: &dyn Credential) -> Result<VerifiedPassport, VerifyError> {
        if let Some(orig) = self.passport.claims.orig.tn() {
            credential
                .authorize_orig(orig)
                .map_err(VerifyError::Credential)?;
        }
        if !credential.verifying_key().verify(
            self.passport.signing_input.as_bytes(),
            &self.passport.signature,
        ) {
            return Err(VerifyError::SignatureInvalid);
        }
        Ok(VerifiedPassport {
            header: self.passport.header,
            claims: self.passport.claims,
            ppt: self.ppt,
        })
    }
}
