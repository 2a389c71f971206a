//! STIR/SHAKEN certificates: the TNAuthList extension (RFC 8226), X.509 STI certificates as
//! ATIS-1000080 profiles them, certification-path and CRL validation against the STI-CA trust
//! anchors, and the scope of delegate certificates (RFC 9060).
//!
//! Sans-I/O: the caller passes the certificate bytes (fetched from an x5u URL), the CRLs and
//! the time; the only file access is [`TrustAnchors::from_dir`], for configuration. Test-PKI
//! issuance (root, intermediate, SP and delegate certificates, CRLs) is behind the `test-pki`
//! feature, in [`testpki`](crate#test-pki).
//!
//! ```
//! use passport::TelephoneNumber;
//! use pki::tn_auth_list::{Coverage, TnAuthList};
//!
//! // The TNAuthList of RFC 8226: SPC "709J".
//! let der = [0x30, 0x08, 0xa0, 0x06, 0x16, 0x04, b'7', b'0', b'9', b'J'];
//! let list = TnAuthList::from_der(&der).unwrap();
//! assert_eq!(list.first_spc().unwrap().as_str(), "709J");
//! assert_eq!(list.to_der(), der);
//! // An SPC authorises any calling number (see `tn_auth_list` for why).
//! let orig = TelephoneNumber::parse("+1 215 555 1212").unwrap();
//! assert!(matches!(list.covers(&orig), Coverage::Spc(_)));
//! ```
//!
//! A verifier parses the x5u body with [`parse_chain`], validates it with [`validate`] into a
//! [`ValidatedCredential`], and hands that to `passport` as its `Credential`.
//!
//! # test-pki
//!
//! With the `test-pki` feature, `pki::testpki` issues a throw-away PKI with rcgen, keys
//! generated at call time. It exists for tests and development setups only.

pub mod certificate;
pub mod chain;
pub mod credential;
pub mod crl;
pub mod delegate;
pub mod der;
#[cfg(feature = "issue")]
pub mod issue;
mod pem;
pub mod public_key;
pub mod signature;
#[cfg(feature = "test-pki")]
pub mod testpki;
pub mod tn_auth_list;
pub mod trust;

pub use certificate::{Certificate, CertificateError, parse_chain};
pub use chain::{ChainError, validate};
pub use credential::ValidatedCredential;
pub use crl::{Crl, CrlError};
pub use delegate::{DelegationError, check_delegation};
pub use pem::PemError;
pub use public_key::{KeyAlgorithm, PublicKey};
pub use signature::SignatureAlgorithm;
pub use tn_auth_list::{Coverage, TnAuthList, TnAuthListError, TnEntry, TnRange};
pub use trust::{TrustAnchors, TrustError};
