//! The verification service (STI-VS): the pipeline of [`crate::verifier`] plus replay
//! detection, producing one verdict per call.

use std::sync::Arc;

use passport::verify::CallContext;
use passport::{VerifyError, Verstat};

use crate::atis::VerificationResponse;
use crate::replay::{ReplayCache, Sighting};
use crate::verifier::{IdentityOutcome, Verifier};

/// The verdict on a call.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// One outcome per Identity header, in order.
    pub outcomes: Vec<IdentityOutcome>,
    /// True when a verified PASSporT had been seen before (reported even when not rejected).
    pub replayed: bool,
    /// The replay cache could not be asked (the call was judged without it).
    pub replay_unavailable: bool,
}

impl Verdict {
    /// The first failure, which decides the call.
    pub fn first_failure(&self) -> Option<&VerifyError> {
        self.outcomes.iter().find_map(|o| o.result.as_ref().err())
    }

    /// The verstat of the call.
    pub fn verstat(&self) -> Verstat {
        self.first_failure()
            .map_or(Verstat::Passed, |e| e.disposition().verstat)
    }

    /// The ATIS-1000082 response body.
    pub fn response(&self) -> VerificationResponse {
        self.first_failure()
            .map_or_else(VerificationResponse::passed, VerificationResponse::failed)
    }
}

/// The STI-VS.
#[derive(Debug)]
pub struct VerificationService {
    verifier: Verifier,
    replay: Arc<dyn ReplayCache>,
    reject_replays: bool,
    window_secs: u64,
}

impl VerificationService {
    /// A service; `reject_replays` turns a detected replay into a 438 failure.
    pub fn new(
        verifier: Verifier,
        replay: Arc<dyn ReplayCache>,
        reject_replays: bool,
        window_secs: u64,
    ) -> Self {
        Self {
            verifier,
            replay,
            reject_replays,
            window_secs,
        }
    }

    /// The underlying verifier (certificate cache).
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Verifies every Identity header of a call.
    pub async fn verify(&self, identities: &[String], call: &CallContext) -> Verdict {
        let mut outcomes = self.verifier.verify_all(identities, call).await;
        let mut verdict = Verdict {
            outcomes: Vec::new(),
            replayed: false,
            replay_unavailable: false,
        };
        for (outcome, identity) in outcomes.iter_mut().zip(identities) {
            if outcome.result.is_err() {
                continue;
            }
            let key = replay_key(identity);
            match self.replay.sight(&key, call.now, self.window_secs).await {
                Ok(Sighting::First) => {}
                Ok(Sighting::Repeat { secs_ago }) => {
                    verdict.replayed = true;
                    if self.reject_replays {
                        outcome.result = Err(VerifyError::Replayed {
                            seen_secs_ago: secs_ago,
                        });
                    }
                }
                Err(_) => verdict.replay_unavailable = true,
            }
        }
        verdict.outcomes = outcomes;
        verdict
    }
}

/// The replay key of an Identity header: a digest of what was signed (`header.payload` as
/// received), not of the signature. An ECDSA signature (r, s) has a twin (r, n - s) that
/// verifies just as well, so keying on the signature would let a copied PASSporT through
/// with its signature malleated.
fn replay_key(identity: &str) -> String {
    let token = identity.split(';').next().unwrap_or(identity).trim();
    let signed = token.rsplit_once('.').map_or(token, |(input, _)| input);
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, signed.as_bytes());
    d.as_ref()
        .iter()
        .take(20)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::replay_key;

    #[test]
    fn the_replay_key_is_the_signed_content_not_the_signature() {
        let a = replay_key("aa.bb.cc;info=<https://x/y.z>;ppt=shaken");
        assert_eq!(
            a,
            replay_key(" aa.bb.dd "),
            "another signature over the same content is a replay"
        );
        assert_ne!(a, replay_key("aa.bc.cc"));
        assert_eq!(a.len(), 40);
    }
}
