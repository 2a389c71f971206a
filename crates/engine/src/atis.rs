//! The ATIS-1000082 verification response, exactly as the REST API and `callproof verify`
//! print it.

use passport::{VerifyError, Verstat};
use serde::Serialize;

/// `{"verificationResponse":{...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerificationResponseEnvelope {
    /// The response body.
    #[serde(rename = "verificationResponse")]
    pub verification_response: VerificationResponse,
}

/// The body of an ATIS-1000082 `verificationResponse`.
///
/// On success only `verstat` is present; on failure `reasoncode`, `reasontext` and
/// `reasondesc` come first, as deployed implementations emit them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerificationResponse {
    /// SIP/ATIS reason code (403, 428, 436, 437, 438).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoncode: Option<u16>,
    /// The reason phrase, e.g. `Invalid Identity Header`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasontext: Option<String>,
    /// A human description of what failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasondesc: Option<String>,
    /// The verstat value.
    pub verstat: String,
}

impl VerificationResponse {
    /// The response for a passed verification.
    pub fn passed() -> Self {
        Self {
            reasoncode: None,
            reasontext: None,
            reasondesc: None,
            verstat: Verstat::Passed.as_str().into(),
        }
    }

    /// The response for a failure.
    pub fn failed(error: &VerifyError) -> Self {
        let d = error.disposition();
        Self {
            reasoncode: Some(d.code),
            reasontext: Some(d.reason.into()),
            reasondesc: Some(describe(error)),
            verstat: d.verstat.as_str().into(),
        }
    }

    /// Wraps the response in its envelope.
    pub fn into_envelope(self) -> VerificationResponseEnvelope {
        VerificationResponseEnvelope {
            verification_response: self,
        }
    }
}

/// The `reasondesc` text: a sentence a carrier's operator can act on.
fn describe(error: &VerifyError) -> String {
    match error {
        VerifyError::SignatureInvalid => "Signature validation failed.".into(),
        other => {
            let mut s = other.to_string();
            if let Some(first) = s.get(..1) {
                let upper = first.to_ascii_uppercase();
                s.replace_range(..1, &upper);
            }
            if !s.ends_with('.') {
                s.push('.');
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_have_the_atis_shape() {
        let ok = serde_json::to_string(&VerificationResponse::passed().into_envelope()).unwrap();
        assert_eq!(
            ok,
            r#"{"verificationResponse":{"verstat":"TN-Validation-Passed"}}"#
        );
        let bad = serde_json::to_string(
            &VerificationResponse::failed(&VerifyError::SignatureInvalid).into_envelope(),
        )
        .unwrap();
        assert_eq!(
            bad,
            r#"{"verificationResponse":{"reasoncode":438,"reasontext":"Invalid Identity Header","reasondesc":"Signature validation failed.","verstat":"TN-Validation-Failed"}}"#
        );
    }
}
