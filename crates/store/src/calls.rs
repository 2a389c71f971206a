//! What the store holds for customers' checks: the call registry (every call signed for a
//! brand, and the calls a brand's dialler registers, kept for a short time) with the one-time
//! codes agents read out, and the reports customers make about calls.

use std::fmt;

use passport::TelephoneNumber;

use crate::brand::{BrandId, PartnerId};

/// A registered call's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub i64);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How a call reached the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallSource {
    /// callproof signed it for the brand (SIP or REST).
    Signed,
    /// The brand's dialler registered it (`POST /v1/brands/{slug}/calls`).
    Registered,
}

impl CallSource {
    /// The name used in the database and APIs: `signed` or `registered`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Signed => "signed",
            Self::Registered => "registered",
        }
    }

    /// Parses a name written by [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "signed" => Some(Self::Signed),
            "registered" => Some(Self::Registered),
            _ => None,
        }
    }
}

/// A one-time code for a call: what the store keeps of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallCode {
    /// A digest of the code and its brand (the caller computes it; the code itself is never
    /// stored), at most 128 characters.
    pub digest: String,
    /// Unix seconds from which the code no longer works.
    pub expires_at: i64,
}

/// A call to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCall {
    /// The brand it is made for.
    pub brand: BrandId,
    /// The partner making it in the brand's name (`None`: the brand itself).
    pub partner: Option<PartnerId>,
    /// The calling number, as the called party sees it.
    pub calling: TelephoneNumber,
    /// The called number.
    pub called: TelephoneNumber,
    /// The brand's call reason code, if the call has one.
    pub reason: Option<String>,
    /// The dialler's reference for the agent (not shown to the customer).
    pub agent_ref: Option<String>,
    /// The agent's first name, shown to a customer who checks the call.
    pub agent_name: Option<String>,
    /// How it reached the registry.
    pub source: CallSource,
    /// Unix seconds it started.
    pub started_at: i64,
    /// Its one-time code, if it has one.
    pub code: Option<CallCode>,
}

/// A call in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// Its id.
    pub id: CallId,
    /// The brand it is made for.
    pub brand: BrandId,
    /// The partner making it in the brand's name (`None`: the brand itself).
    pub partner: Option<PartnerId>,
    /// The calling number.
    pub calling: TelephoneNumber,
    /// The called number.
    pub called: TelephoneNumber,
    /// The brand's call reason code.
    pub reason: Option<String>,
    /// The dialler's reference for the agent.
    pub agent_ref: Option<String>,
    /// The agent's first name.
    pub agent_name: Option<String>,
    /// How it reached the registry.
    pub source: CallSource,
    /// Unix seconds it started.
    pub started_at: i64,
    /// Unix seconds it was marked ended, if it was.
    pub ended_at: Option<i64>,
    /// Unix seconds its one-time code expires, if it has one.
    pub code_expires_at: Option<i64>,
    /// Unix seconds its one-time code was used, if it was.
    pub code_used_at: Option<i64>,
}

/// A report's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReportId(pub i64);

impl fmt::Display for ReportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a report came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportChannel {
    /// A customer, from a brand's check page.
    CheckPage,
    /// The public report API.
    Api,
    /// Evidence recorded by verification (a spoofed listed number, a DNO hit).
    Verification,
}

impl ReportChannel {
    /// The name used in the database and APIs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CheckPage => "check-page",
            Self::Api => "api",
            Self::Verification => "verification",
        }
    }

    /// Parses a name written by [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "check-page" => Some(Self::CheckPage),
            "api" => Some(Self::Api),
            "verification" => Some(Self::Verification),
            _ => None,
        }
    }
}

/// What a caller asked for: the categories a report names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Asked {
    /// A password, PIN or one-time passcode.
    Password,
    /// Card details.
    Card,
    /// A bank transfer.
    BankTransfer,
    /// Remote access to a computer or phone.
    RemoteAccess,
    /// Personal data (date of birth, address, account numbers).
    PersonalData,
    /// Gift cards or vouchers.
    GiftCards,
}

impl Asked {
    /// Every category, in display order.
    pub const ALL: [Self; 6] = [
        Self::Password,
        Self::Card,
        Self::BankTransfer,
        Self::RemoteAccess,
        Self::PersonalData,
        Self::GiftCards,
    ];

    /// The name used in the database and APIs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Card => "card",
            Self::BankTransfer => "bank-transfer",
            Self::RemoteAccess => "remote-access",
            Self::PersonalData => "personal-data",
            Self::GiftCards => "gift-cards",
        }
    }

    /// Parses a name written by [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// A report to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReport {
    /// The brand the caller claimed to be, when it is one callproof knows.
    pub brand: Option<BrandId>,
    /// The organisation the caller claimed to be, as the reporter wrote it.
    pub claimed_brand: Option<String>,
    /// The calling number the reporter saw.
    pub calling: Option<TelephoneNumber>,
    /// The number that was called (the reporter's own), if given.
    pub called: Option<TelephoneNumber>,
    /// Unix seconds of the call, if given.
    pub call_at: Option<i64>,
    /// What the caller asked for.
    pub asked: Vec<Asked>,
    /// Free text or a transcript.
    pub text: String,
    /// Where it came from.
    pub channel: ReportChannel,
    /// The client's idempotency key: a second report with the same key stores nothing and
    /// returns the first.
    pub idempotency_key: Option<String>,
    /// Unix seconds it was received.
    pub received_at: i64,
}

/// A stored report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Its id (increasing).
    pub id: ReportId,
    /// The brand the caller claimed to be, when it is one callproof knows.
    pub brand: Option<BrandId>,
    /// The organisation the caller claimed to be, as the reporter wrote it.
    pub claimed_brand: Option<String>,
    /// The calling number the reporter saw.
    pub calling: Option<TelephoneNumber>,
    /// The number that was called.
    pub called: Option<TelephoneNumber>,
    /// Unix seconds of the call.
    pub call_at: Option<i64>,
    /// What the caller asked for, in [`Asked::ALL`] order, each once.
    pub asked: Vec<Asked>,
    /// Free text or a transcript.
    pub text: String,
    /// Where it came from.
    pub channel: ReportChannel,
    /// Unix seconds it was received.
    pub received_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in [CallSource::Signed, CallSource::Registered] {
            assert_eq!(CallSource::parse(s.as_str()), Some(s));
        }
        for c in [
            ReportChannel::CheckPage,
            ReportChannel::Api,
            ReportChannel::Verification,
        ] {
            assert_eq!(ReportChannel::parse(c.as_str()), Some(c));
        }
        for a in Asked::ALL {
            assert_eq!(Asked::parse(a.as_str()), Some(a));
        }
        assert_eq!(Asked::parse("pin"), None);
    }
}
