//! Signing: claims in, Identity header value out.
//!
//! A [`Signer`] holds the key and the certificate URL and pre-encodes the protected header
//! of each PASSporT type once, so signing a call costs one canonical JSON write, one
//! base64url encoding and the ECDSA operation.

use base64::Engine as _;

use crate::SignError;
use crate::claims::Claims;
use crate::jws::{B64URL, Ppt, ProtectedHeader};
use crate::key::SigningKey;

/// The longest x5u URL accepted for signing.
pub const MAX_X5U_LEN: usize = 1024;

/// Signs PASSporTs with one key, certificate URL and set of protected headers.
#[derive(Debug)]
pub struct Signer {
    key: SigningKey,
    x5u: String,
    /// `base64url(header) + "."`, one per ppt, indexed by [`Signer::prefix_index`].
    prefixes: [String; 3],
}

/// Checks that a certificate URL can be carried in `x5u` and in `info=<...>`.
pub fn check_x5u(url: &str) -> Result<(), SignError> {
    let invalid = |reason| {
        Err(SignError::InvalidX5u {
            url: url.chars().take(80).collect(),
            reason,
        })
    };
    if url.len() > MAX_X5U_LEN {
        return invalid("longer than 1024 bytes");
    }
    let lower = url
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return invalid("not an http(s) URL");
    }
    if url
        .bytes()
        .any(|b| b.is_ascii_control() || b" <>\"".contains(&b))
    {
        return invalid("contains spaces, controls, quotes or angle brackets");
    }
    Ok(())
}

impl Signer {
    /// A signer for certificate URL `x5u` (https, or http for development setups).
    pub fn new(key: SigningKey, x5u: &str) -> Result<Self, SignError> {
        check_x5u(x5u)?;
        let prefix = |ppt| {
            let mut s = B64URL.encode(ProtectedHeader::passport(ppt, x5u).to_canonical_json());
            s.push('.');
            s
        };
        Ok(Self {
            prefixes: [prefix(Ppt::Shaken), prefix(Ppt::Div), prefix(Ppt::Rcd)],
            key,
            x5u: x5u.to_owned(),
        })
    }

    /// The certificate URL this signer puts in `x5u` and `info`.
    pub fn x5u(&self) -> &str {
        &self.x5u
    }

    /// The signing key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    const fn prefix_index(ppt: Ppt) -> usize {
        match ppt {
            Ppt::Shaken => 0,
            Ppt::Div => 1,
            Ppt::Rcd => 2,
        }
    }

    /// Signs `claims` as a PASSporT of type `ppt` and returns the compact JWS.
    pub fn sign_token(&self, ppt: Ppt, claims: &Claims) -> Result<String, SignError> {
        let mut json = String::with_capacity(256);
        claims.write_canonical(&mut json);
        let prefix = self
            .prefixes
            .get(Self::prefix_index(ppt))
            .map_or("", String::as_str);
        let mut token = String::with_capacity(prefix.len() + json.len() * 4 / 3 + 100);
        token.push_str(prefix);
        B64URL.encode_string(json.as_bytes(), &mut token);
        let signature = self.key.sign(token.as_bytes())?;
        token.push('.');
        B64URL.encode_string(signature, &mut token);
        Ok(token)
    }

    /// Signs `claims` as a PASSporT of type `ppt` and returns the Identity header value:
    /// `<jws>;info=<x5u>;alg=ES256;ppt=<ppt>`.
    pub fn sign_identity_ppt(&self, ppt: Ppt, claims: &Claims) -> Result<String, SignError> {
        validate_for(ppt, claims)?;
        let mut header = self.sign_token(ppt, claims)?;
        header.reserve(self.x5u.len() + 32);
        header.push_str(";info=<");
        header.push_str(&self.x5u);
        header.push_str(">;alg=ES256;ppt=");
        header.push_str(ppt.as_str());
        Ok(header)
    }

    /// Signs a SHAKEN PASSporT and returns the Identity header value.
    pub fn sign_identity(&self, claims: &Claims) -> Result<String, SignError> {
        self.sign_identity_ppt(Ppt::Shaken, claims)
    }
}

/// The claims each PASSporT type requires of a signer.
fn validate_for(ppt: Ppt, claims: &Claims) -> Result<(), SignError> {
    let missing = |claim| {
        Err(SignError::InvalidClaim {
            claim,
            reason: "required for this ppt".into(),
        })
    };
    match ppt {
        Ppt::Shaken => {
            if claims.attest.is_none() {
                return missing("attest");
            }
            if claims.origid.is_none() {
                return missing("origid");
            }
            if claims.orig.tn().is_none() {
                return Err(SignError::InvalidClaim {
                    claim: "orig",
                    reason: "SHAKEN requires orig tn".into(),
                });
            }
        }
        Ppt::Div => {
            if claims.div.is_none() {
                return missing("div");
            }
        }
        Ppt::Rcd => {
            if claims.rcd.is_none() {
                return missing("rcd");
            }
        }
    }
    if claims.dest.tn.is_empty() && claims.dest.uri.is_empty() {
        return missing("dest");
    }
    Ok(())
}
