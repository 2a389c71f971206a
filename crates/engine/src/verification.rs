//! The verification service (STI-VS): the pipeline of [`crate::verifier`] plus replay
//! detection and Rich Call Data ([`crate::rich_call`]), producing one verdict per call.
//!
//! The verstat comes from the SHAKEN and `div` PASSporTs; Rich Call Data (an `rcd`
//! PASSporT, Identity `ppt=rcd`, or `rcd` claims in the SHAKEN PASSporT) decides only
//! whether a brand is shown. A call carrying nothing but `rcd` PASSporTs is judged on them.

use std::sync::Arc;

use passport::identity::IdentityHeader;
use passport::jws::Ppt;
use passport::verify::CallContext;
use passport::{VerifyError, Verstat};

use crate::atis::VerificationResponse;
use crate::brand::{BrandCache, DnoSource};
use crate::replay::{ReplayCache, Sighting};
use crate::rich_call::{LogoChecker, RcdOutcome};
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
    /// Per outcome: true for an `rcd` PASSporT, which does not decide the verstat.
    pub is_rcd: Vec<bool>,
    /// The brand display.
    pub rcd: RcdOutcome,
    /// What a brand's security team should see about this call, if anything.
    pub evidence: Option<Evidence>,
}

/// Spoofing evidence from a verified call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evidence {
    /// The brand concerned (`None`: a number on the national Do-Not-Originate list).
    pub brand: Option<store::BrandId>,
    /// `dno_call`, `spoofed_listed_number` or `rcd_withheld`.
    pub kind: &'static str,
}

impl Verdict {
    /// The first failure of a PASSporT that decides the call.
    pub fn first_failure(&self) -> Option<&VerifyError> {
        self.outcomes
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.is_rcd.get(*i).copied().unwrap_or(false))
            .find_map(|(_, o)| o.result.as_ref().err())
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
    brands: Option<Arc<BrandCache>>,
    logos: Option<Arc<LogoChecker>>,
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
            brands: None,
            logos: None,
        }
    }

    /// Shows brands from `rcd` PASSporTs, checking names against `brands` and logos with
    /// `logos`. Without it, `rcd` PASSporTs are verified but no brand is shown.
    #[must_use]
    pub fn with_rich_call(mut self, brands: Arc<BrandCache>, logos: Arc<LogoChecker>) -> Self {
        self.brands = Some(brands);
        self.logos = Some(logos);
        self
    }

    /// The logo checker, when Rich Call Data is on.
    pub fn logos(&self) -> Option<&Arc<LogoChecker>> {
        self.logos.as_ref()
    }

    /// The underlying verifier (certificate cache).
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Verifies every Identity header of a call.
    pub async fn verify(&self, identities: &[String], call: &CallContext) -> Verdict {
        let mut outcomes = self.verifier.verify_all(identities, call).await;
        // A verified PASSporT knows its type; only a failed one needs its header read again.
        let mut is_rcd: Vec<bool> = if outcomes.len() == identities.len() {
            outcomes
                .iter()
                .zip(identities)
                .map(|(o, identity)| match &o.result {
                    Ok(verified) => verified.ppt() == Ppt::Rcd,
                    Err(_) => is_rcd_identity(identity),
                })
                .collect()
        } else {
            // One outcome for the whole call (no Identity, or too many).
            vec![false; outcomes.len()]
        };
        if is_rcd.iter().all(|r| *r) {
            // Nothing but rcd: those are what the call is judged on.
            is_rcd.iter_mut().for_each(|r| *r = false);
        }
        let mut verdict = Verdict {
            outcomes: Vec::new(),
            replayed: false,
            replay_unavailable: false,
            is_rcd,
            rcd: RcdOutcome::Absent,
            evidence: None,
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
        let brands = self.brands.as_ref().map(|b| b.get());
        // A Do-Not-Originate number never calls: whatever its signature, the call fails.
        let dno = brands.as_ref().and_then(|b| b.dno(&call.from));
        if dno.is_some()
            && let Some(outcome) = verdict
                .outcomes
                .iter_mut()
                .zip(&verdict.is_rcd)
                .find_map(|(o, rcd)| (!rcd).then_some(o))
        {
            outcome.result = Err(VerifyError::DoNotOriginate {
                number: call.from.to_string(),
            });
        }
        verdict.rcd = self.judge_rcd(&verdict, call.now).await;
        let listed = brands
            .as_ref()
            .and_then(|b| b.listed_brand(&call.from))
            .map(|info| info.brand.id);
        verdict.evidence = match dno {
            Some(DnoSource::National) => Some(Evidence {
                brand: None,
                kind: "dno_call",
            }),
            Some(DnoSource::Brand(brand)) => Some(Evidence {
                brand: Some(brand),
                kind: "dno_call",
            }),
            None if listed.is_some() && verdict.first_failure().is_some() => Some(Evidence {
                brand: listed,
                kind: "spoofed_listed_number",
            }),
            None if listed.is_some() && matches!(verdict.rcd, RcdOutcome::Withheld { .. }) => {
                Some(Evidence {
                    brand: listed,
                    kind: "rcd_withheld",
                })
            }
            None => None,
        };
        verdict
    }

    /// The brand display: from the first `rcd` PASSporT, else from `rcd` claims in the
    /// call's own PASSporT; only when the call itself passed.
    async fn judge_rcd(&self, verdict: &Verdict, now: i64) -> RcdOutcome {
        let separate = verdict
            .outcomes
            .iter()
            .zip(&verdict.is_rcd)
            .find_map(|(o, rcd)| rcd.then_some(o));
        let embedded = || {
            verdict.outcomes.iter().find(|o| {
                o.result
                    .as_ref()
                    .is_ok_and(|v| v.claims().rcd.is_some() || v.claims().crn.is_some())
            })
        };
        let Some(rcd) = separate.or_else(embedded) else {
            return RcdOutcome::Absent;
        };
        if verdict.first_failure().is_some() {
            return RcdOutcome::Withheld {
                reason: "the call's SHAKEN PASSporT did not verify".into(),
            };
        }
        let (Some(brands), Some(logos)) = (&self.brands, &self.logos) else {
            return RcdOutcome::Withheld {
                reason: "Rich Call Data is not shown by this service".into(),
            };
        };
        let claims = rcd
            .result
            .as_ref()
            .map(|v| v.claims())
            .map_err(ToString::to_string);
        crate::rich_call::judge(claims, &brands.get(), logos, now).await
    }
}

/// True when an Identity header value says `ppt=rcd`.
fn is_rcd_identity(value: &str) -> bool {
    IdentityHeader::parse(value)
        .ok()
        .and_then(|h| h.ppt)
        .is_some_and(|ppt| ppt.eq_ignore_ascii_case("rcd"))
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
