//! Call and report rows as both backends read and write them: the shared column lists, the
//! checks a batch of calls passes before anything is written, and the conversions that turn
//! stored rows back into typed values (a row that no longer makes a valid value is a backend
//! error, never a panic).

use std::collections::{BTreeSet, HashMap};

use crate::StoreError;
use crate::brand::{BrandId, PartnerId};
use crate::brand_rows::stored_tn;
use crate::calls::{
    Asked, CallId, CallRecord, CallSource, NewCall, NewReport, Report, ReportChannel, ReportId,
};

/// The columns of a call, in the order [`CallRow`] takes them (for `SELECT` and `RETURNING`).
macro_rules! call_columns {
    () => {
        "id, brand_id, partner_id, calling, called, reason, agent_ref, agent_name, source, \
         started_at, ended_at, code_expires_at, code_used_at"
    };
}
pub(crate) use call_columns;

/// The columns of a report, in the order [`ReportRow`] takes them.
macro_rules! report_columns {
    () => {
        "id, brand_id, claimed_brand, calling, called, call_at, asked, text, channel, received_at"
    };
}
pub(crate) use report_columns;

/// Reports deleted per statement when purging: a purge of a year's backlog runs as many
/// short writes, not one long one.
pub(crate) const PURGE_BATCH: i64 = 5_000;

/// A call as stored, before its numbers and source are checked.
pub(crate) struct CallRow {
    pub(crate) id: i64,
    pub(crate) brand: i64,
    pub(crate) partner: Option<i64>,
    pub(crate) calling: String,
    pub(crate) called: String,
    pub(crate) reason: Option<String>,
    pub(crate) agent_ref: Option<String>,
    pub(crate) agent_name: Option<String>,
    pub(crate) source: String,
    pub(crate) started_at: i64,
    pub(crate) ended_at: Option<i64>,
    pub(crate) code_expires_at: Option<i64>,
    pub(crate) code_used_at: Option<i64>,
}

impl CallRow {
    pub(crate) fn into_record(self) -> Result<CallRecord, StoreError> {
        let source = CallSource::parse(&self.source).ok_or_else(|| StoreError::Backend {
            detail: format!("stored call source {:?} is unknown", self.source),
        })?;
        Ok(CallRecord {
            id: CallId(self.id),
            brand: BrandId(self.brand),
            partner: self.partner.map(PartnerId),
            calling: stored_tn(&self.calling)?,
            called: stored_tn(&self.called)?,
            reason: self.reason,
            agent_ref: self.agent_ref,
            agent_name: self.agent_name,
            source,
            started_at: self.started_at,
            ended_at: self.ended_at,
            code_expires_at: self.code_expires_at,
            code_used_at: self.code_used_at,
        })
    }
}

/// A report as stored, before its numbers, categories and channel are checked.
pub(crate) struct ReportRow {
    pub(crate) id: i64,
    pub(crate) brand: Option<i64>,
    pub(crate) claimed_brand: Option<String>,
    pub(crate) calling: Option<String>,
    pub(crate) called: Option<String>,
    pub(crate) call_at: Option<i64>,
    pub(crate) asked: String,
    pub(crate) text: String,
    pub(crate) channel: String,
    pub(crate) received_at: i64,
}

impl ReportRow {
    pub(crate) fn into_report(self) -> Result<Report, StoreError> {
        let channel = ReportChannel::parse(&self.channel).ok_or_else(|| StoreError::Backend {
            detail: format!("stored report channel {:?} is unknown", self.channel),
        })?;
        Ok(Report {
            id: ReportId(self.id),
            brand: self.brand.map(BrandId),
            claimed_brand: self.claimed_brand,
            calling: self.calling.as_deref().map(stored_tn).transpose()?,
            called: self.called.as_deref().map(stored_tn).transpose()?,
            call_at: self.call_at,
            asked: asked_from_string(&self.asked),
            text: self.text,
            channel,
            received_at: self.received_at,
        })
    }
}

/// The report stored from `r` under `id`, as it reads back.
pub(crate) fn new_report(id: ReportId, r: NewReport) -> Report {
    Report {
        id,
        brand: r.brand,
        claimed_brand: r.claimed_brand,
        calling: r.calling,
        called: r.called,
        call_at: r.call_at,
        asked: normalised_asked(&r.asked),
        text: r.text,
        channel: r.channel,
        received_at: r.received_at,
    }
}

/// The categories of a report in [`Asked::ALL`] order, each once.
pub(crate) fn normalised_asked(asked: &[Asked]) -> Vec<Asked> {
    Asked::ALL
        .into_iter()
        .filter(|a| asked.contains(a))
        .collect()
}

/// Joins categories for storage, in [`Asked::ALL`] order, each once.
pub(crate) fn asked_to_string(asked: &[Asked]) -> String {
    normalised_asked(asked)
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses stored categories, ignoring unknown names (written by a newer version).
pub(crate) fn asked_from_string(s: &str) -> Vec<Asked> {
    let parsed: Vec<Asked> = s.split(',').filter_map(Asked::parse).collect();
    normalised_asked(&parsed)
}

/// The brands and the `(partner, brand)` pairs a batch of calls refers to, each once, in
/// order (so checks and error messages do not depend on hashing).
pub(crate) fn referenced(calls: &[NewCall]) -> (Vec<BrandId>, Vec<(PartnerId, BrandId)>) {
    let brands: BTreeSet<BrandId> = calls.iter().map(|c| c.brand).collect();
    let partners: BTreeSet<(PartnerId, BrandId)> = calls
        .iter()
        .filter_map(|c| c.partner.map(|p| (p, c.brand)))
        .collect();
    (brands.into_iter().collect(), partners.into_iter().collect())
}

/// Refuses a batch in which a call's code digest is held, unused and unexpired at its
/// `started_at`, by an earlier call of the same brand in the batch.
pub(crate) fn check_batch_codes(calls: &[NewCall]) -> Result<(), StoreError> {
    // The latest expiry of each (brand, digest) among the calls before.
    let mut held: HashMap<(BrandId, &str), i64> = HashMap::new();
    for (i, call) in calls.iter().enumerate() {
        let Some(code) = &call.code else { continue };
        let key = (call.brand, code.digest.as_str());
        if held.get(&key).is_some_and(|&until| until > call.started_at) {
            return Err(code_conflict(i, call.brand));
        }
        let until = held.entry(key).or_insert(code.expires_at);
        *until = (*until).max(code.expires_at);
    }
    Ok(())
}

/// Why a batch of calls is refused: the call at `index` reuses a code in force.
pub(crate) fn code_conflict(index: usize, brand: BrandId) -> StoreError {
    StoreError::Conflict {
        what: "call code",
        detail: format!(
            "call {index} of the batch uses a code another call of brand {brand} holds unused \
             and unexpired"
        ),
    }
}

/// Why a batch of calls is refused: a partner that is not one of the call's brand.
pub(crate) fn partner_not_found(partner: PartnerId, brand: BrandId) -> StoreError {
    StoreError::NotFound {
        what: "partner",
        key: format!("{partner} of brand {brand}"),
    }
}

/// Why a call cannot be ended: no such call of that brand.
pub(crate) fn call_not_found(brand: BrandId, id: CallId) -> StoreError {
    StoreError::NotFound {
        what: "call",
        key: format!("{id} of brand {brand}"),
    }
}

#[cfg(test)]
mod tests {
    use passport::TelephoneNumber;

    use super::*;
    use crate::calls::CallCode;

    fn call(brand: i64, digest: Option<&str>, started_at: i64, expires_at: i64) -> NewCall {
        NewCall {
            brand: BrandId(brand),
            partner: None,
            calling: TelephoneNumber::parse("12155550100").unwrap(),
            called: TelephoneNumber::parse("12155550199").unwrap(),
            reason: None,
            agent_ref: None,
            agent_name: None,
            source: CallSource::Registered,
            started_at,
            code: digest.map(|d| CallCode {
                digest: d.to_owned(),
                expires_at,
            }),
        }
    }

    #[test]
    fn asked_is_stored_in_display_order_once() {
        let asked = [Asked::GiftCards, Asked::Password, Asked::GiftCards];
        assert_eq!(asked_to_string(&asked), "password,gift-cards");
        assert_eq!(asked_to_string(&[]), "");
        assert_eq!(asked_from_string(""), vec![]);
        assert_eq!(
            asked_from_string("gift-cards,future-kind,password,password"),
            vec![Asked::Password, Asked::GiftCards]
        );
    }

    #[test]
    fn a_batch_may_not_reuse_a_code_in_force() {
        // Same brand and digest, the first still in force when the second starts.
        let clash = [call(1, Some("d"), 100, 200), call(1, Some("d"), 150, 300)];
        assert!(matches!(
            check_batch_codes(&clash),
            Err(StoreError::Conflict { .. })
        ));
        // Expired by then, another brand, another digest, or no code: fine.
        for ok in [
            [call(1, Some("d"), 100, 200), call(1, Some("d"), 200, 300)],
            [call(1, Some("d"), 100, 200), call(2, Some("d"), 150, 300)],
            [call(1, Some("d"), 100, 200), call(1, Some("e"), 150, 300)],
            [call(1, Some("d"), 100, 200), call(1, None, 150, 0)],
        ] {
            check_batch_codes(&ok).unwrap();
        }
    }
}
