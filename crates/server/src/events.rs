//! Brand events (refused signings, spoofing evidence) and the reports verification makes of
//! spoofing evidence, written to the store off the call path: the caller's answer never
//! waits for them. At most [`MAX_PENDING`] event writes and [`MAX_PENDING_REPORTS`] report
//! writes are in flight; beyond that (a flood of refused or spoofed calls) they are counted
//! as dropped instead of queueing without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use passport::TelephoneNumber;
use serde_json::Value;
use store::{BrandId, NewReport, ReportChannel, Store};
use tokio::sync::Semaphore;

use crate::metrics::Metrics;

/// Event writes in flight at most.
pub const MAX_PENDING: usize = 256;

/// Report writes in flight at most.
pub const MAX_PENDING_REPORTS: usize = 256;

/// What the idempotency key of a report made by verification starts with.
pub const EVIDENCE_KEY_PREFIX: &str = "verification:";

/// Where brand events and verification's reports go.
#[derive(Debug)]
pub struct EventSink {
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    permits: Arc<Semaphore>,
    report_permits: Arc<Semaphore>,
    dropped: AtomicU64,
}

impl EventSink {
    /// A sink writing to `store`, counting reports in `metrics`.
    pub fn new(store: Arc<dyn Store>, metrics: Arc<Metrics>) -> Self {
        Self {
            store,
            metrics,
            permits: Arc::new(Semaphore::new(MAX_PENDING)),
            report_permits: Arc::new(Semaphore::new(MAX_PENDING_REPORTS)),
            dropped: AtomicU64::new(0),
        }
    }

    /// Records an event of `brand` in the background.
    pub fn record(&self, brand: BrandId, kind: &'static str, detail: Value, now: i64) {
        let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let store = Arc::clone(&self.store);
        tokio::spawn(async move {
            if let Err(e) = store.record_brand_event(brand, kind, &detail, now).await {
                tracing::warn!(error = %e, kind, "a brand event could not be recorded");
            }
            drop(permit);
        });
    }

    /// Stores a report in the background (verification evidence, see [`evidence_report`]),
    /// counted in the `reports` metric by outcome: `stored`, `replayed` (its idempotency key
    /// was used: nothing stored), `dropped` (too many writes in flight) or `failed`.
    pub fn report(&self, report: NewReport) {
        let channel = report.channel.as_str();
        let Ok(permit) = Arc::clone(&self.report_permits).try_acquire_owned() else {
            self.metrics.observe_report(channel, "dropped");
            return;
        };
        let (store, metrics) = (Arc::clone(&self.store), Arc::clone(&self.metrics));
        tokio::spawn(async move {
            let outcome = match store.create_report(&report).await {
                Ok((_, true)) => "stored",
                Ok((_, false)) => "replayed",
                Err(e) => {
                    tracing::warn!(error = %e, channel, "a report could not be stored");
                    "failed"
                }
            };
            metrics.observe_report(channel, outcome);
            drop(permit);
        });
    }

    /// Events not recorded because too many writes were in flight.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The report verification makes of spoofing evidence of `kind` against `brand`: the call's
/// numbers (the first called number), its time `iat`, the text `Verification: <kind>`, and
/// an idempotency key derived from (kind, calling number, called numbers, iat), so a SIP
/// retransmission or another verification of the same PASSporT stores nothing more.
pub fn evidence_report(
    brand: BrandId,
    kind: &str,
    orig: &TelephoneNumber,
    dest: &[TelephoneNumber],
    iat: i64,
    now: i64,
) -> NewReport {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(kind.as_bytes());
    ctx.update(b"\n");
    ctx.update(orig.as_str().as_bytes());
    ctx.update(b"\n");
    for (i, tn) in dest.iter().enumerate() {
        if i > 0 {
            ctx.update(b",");
        }
        ctx.update(tn.as_str().as_bytes());
    }
    ctx.update(b"\n");
    ctx.update(iat.to_string().as_bytes());
    let digest: String = ctx
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    NewReport {
        brand: Some(brand),
        claimed_brand: None,
        calling: Some(*orig),
        called: dest.first().copied(),
        call_at: Some(iat),
        asked: Vec::new(),
        text: format!("Verification: {kind}"),
        channel: ReportChannel::Verification,
        idempotency_key: Some(format!("{EVIDENCE_KEY_PREFIX}{digest}")),
        received_at: now,
    }
}

/// The `iat` of the first full-form PASSporT among Identity header values whose claims can
/// be read, signature unchecked (a spoofed call's PASSporT often fails verification, and its
/// `iat` is still what tells one call from another). `None` when none can be read.
pub fn passport_iat(identities: &[String]) -> Option<i64> {
    identities.iter().find_map(|value| {
        let header = passport::identity::IdentityHeader::parse(value).ok()?;
        match header.token {
            passport::identity::Token::Full(token) => {
                passport::jws::decode(token).ok().map(|p| p.claims.iat)
            }
            passport::identity::Token::Compact { .. } => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tn(s: &str) -> TelephoneNumber {
        TelephoneNumber::parse(s).unwrap()
    }

    #[test]
    fn evidence_reports_are_keyed_by_kind_numbers_and_iat() {
        let (orig, dest) = (tn("12155551000"), [tn("12125551213")]);
        let a = evidence_report(BrandId(7), "spoofed_listed_number", &orig, &dest, 100, 105);
        assert_eq!(a.brand, Some(BrandId(7)));
        assert_eq!((a.calling, a.called), (Some(orig), Some(dest[0])));
        assert_eq!((a.call_at, a.received_at), (Some(100), 105));
        assert_eq!(a.text, "Verification: spoofed_listed_number");
        assert_eq!(a.channel, ReportChannel::Verification);
        let key = a.idempotency_key.clone().unwrap();
        assert!(key.starts_with(EVIDENCE_KEY_PREFIX));
        assert_eq!(key.len(), EVIDENCE_KEY_PREFIX.len() + 64);

        // Verified again later: the same key. Another kind, number or iat: another key.
        let again = evidence_report(BrandId(7), "spoofed_listed_number", &orig, &dest, 100, 900);
        assert_eq!(again.idempotency_key, a.idempotency_key);
        for other in [
            evidence_report(BrandId(7), "dno_call", &orig, &dest, 100, 105),
            evidence_report(
                BrandId(7),
                "spoofed_listed_number",
                &dest[0],
                &[orig],
                100,
                105,
            ),
            evidence_report(BrandId(7), "spoofed_listed_number", &orig, &dest, 101, 105),
            evidence_report(
                BrandId(7),
                "spoofed_listed_number",
                &orig,
                &[dest[0], orig],
                100,
                105,
            ),
        ] {
            assert_ne!(other.idempotency_key, a.idempotency_key);
        }
    }

    #[test]
    fn the_iat_is_read_from_the_first_readable_full_form_passport() {
        use base64::Engine as _;
        let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let token = |iat: i64| {
            format!(
                "{}.{}.{}",
                b64(
                    r#"{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://x.test/c.pem"}"#
                ),
                b64(&format!(
                    r#"{{"attest":"A","dest":{{"tn":["12125551213"]}},"iat":{iat},"orig":{{"tn":"12155551000"}},"origid":"123e4567-e89b-12d3-a456-426655440000"}}"#
                )),
                b64(&"s".repeat(64)),
            )
        };
        let header = |t: &str| format!("{t};info=<https://x.test/c.pem>;alg=ES256;ppt=shaken");
        assert_eq!(
            passport_iat(&[header(&token(1_700_000_000))]),
            Some(1_700_000_000)
        );
        assert_eq!(
            passport_iat(&[
                "garbage".into(),
                header(&format!("..{}", b64(&"s".repeat(64)))),
                header(&token(1_700_000_042)),
            ]),
            Some(1_700_000_042)
        );
        assert_eq!(passport_iat(&[]), None);
        assert_eq!(passport_iat(&["not a passport".into()]), None);
    }
}
