//! callproof's domain layer: the signing and verification pipelines around the sans-I/O
//! protocol crates, with the I/O they need (x5u certificate fetching with an SSRF guard, a
//! certificate cache) and the ATIS-1000082 response shapes.
//!
//! Not a server: `server` and `cli` drive it.
//!
//! ```
//! use engine::atis::VerificationResponse;
//! let json = serde_json::to_string(&VerificationResponse::passed().into_envelope()).unwrap();
//! assert_eq!(json, r#"{"verificationResponse":{"verstat":"TN-Validation-Passed"}}"#);
//! ```

pub mod atis;
pub mod brand;
pub mod brand_rules;
pub mod call_check;
pub mod inventory;
pub mod ranges;
pub mod rate_limit;
pub mod replay;
pub mod rich_call;
pub mod signing;
pub mod verification;
pub mod verifier;
pub mod x5u;
