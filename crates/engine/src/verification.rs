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
            let key = signature_of(identity);
            match self.replay.sight(key, call.now, self.window_secs).await {
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

/// The signature part of an Identity header's token: the replay key.
fn signature_of(identity: &str) -> &str {
    let token = identity.split(';').next().unwrap_or(identity).trim();
    token.rsplit('.').next().unwrap_or(token)
}

#[cfg(test)]
mod tests {
    use super::signature_of;

    #[test]
    fn the_replay_key_is_the_signature() {
        assert_eq!(
            signature_of("aa.bb.cc;info=<https://x/y.z>;ppt=shaken"),
            "cc"
        );
        assert_eq!(signature_of(" aa.bb.cc "), "cc");
    }
}
