//! PASSporT (RFC 8225) for STIR/SHAKEN: telephone numbers, claims, ES256 JWS and the SIP
//! Identity header, with the verification error model.
//!
//! Sans-I/O: no sockets, no clock. The caller passes the time, the signing key and the
//! certificate (as a [`verify::Credential`]); certificates themselves live in the `pki` crate.
//!
//! ```
//! use passport::{claims::{Attestation, Claims}, key::SigningKey, sign::Signer, TelephoneNumber};
//! let key = SigningKey::generate().unwrap();
//! let signer = Signer::new(key, "https://cert.example.org/sp.pem").unwrap();
//! let orig = TelephoneNumber::parse("+1 215 555 1212").unwrap();
//! let dest = TelephoneNumber::parse("12125551213").unwrap();
//! let claims = Claims::shaken(1_443_208_345, orig, vec![dest], Attestation::A, "123e4567-e89b-12d3-a456-426655440000");
//! let header = signer.sign_identity(&claims).unwrap();
//! assert!(header.ends_with(";info=<https://cert.example.org/sp.pem>;alg=ES256;ppt=shaken"));
//! ```

pub mod claims;
pub mod error;
pub mod identity;
pub mod json;
pub mod jws;
pub mod key;
pub mod rcd;
pub mod sign;
pub mod tn;
pub mod verify;

pub use error::{
    CredentialFailure, CredentialFailureKind, Disposition, TokenPart, VerifyError, Verstat,
};
pub use tn::{TelephoneNumber, TnError};

/// Why a PASSporT could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The crypto library refused to sign (should not happen with a valid key).
    #[error("the ECDSA signing operation failed")]
    Crypto,
    /// The x5u URL cannot be used in a header (not https, or contains characters that would
    /// break the Identity header).
    #[error("invalid x5u URL {url:?}: {reason}")]
    InvalidX5u {
        /// The URL given.
        url: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A claim value cannot be signed.
    #[error("invalid {claim} claim: {reason}")]
    InvalidClaim {
        /// The claim name.
        claim: &'static str,
        /// Why.
        reason: String,
    },
}
