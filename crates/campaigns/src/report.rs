//! A call report as the clusterer receives it, and the features computed from it once.

use crate::ask::{Ask, AskSet};
use crate::brand::{MAX_BRANDS, brands_in, canonical_brand};
use crate::error::Error;
use crate::minhash::{band_keys, shingles, signature};
use crate::params::Params;
use crate::text::NormalizedText;

/// A report of a call: what the reporter (or a transcriber) said about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportInput {
    /// The report's id. Replaying reports in the same order gives the same campaigns.
    pub id: u64,
    /// When the call happened, Unix seconds.
    pub time: i64,
    /// The free text or the transcript of the call (only the first
    /// [`crate::text::MAX_TEXT_BYTES`] bytes are read).
    pub text: String,
    /// The organisation the caller claimed to be, as the reporter wrote it.
    pub claimed_brand: Option<String>,
    /// The calling number shown, digits with an optional leading `+`.
    pub calling: Option<String>,
    /// What the reporter says the caller asked for (the text adds what it mentions).
    pub asked: Vec<Ask>,
}

/// A calling number: its digits, and the block it belongs to (NPA-NXX for a North American
/// number; all but the last four digits otherwise). Robocallers spoof numbers from one block.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallingNumber {
    digits: String,
}

impl CallingNumber {
    /// Parses 7 to 15 digits with an optional leading `+`; an 11-digit number starting with
    /// 1 is taken as North American and its 1 removed.
    pub fn parse(s: &str) -> Option<Self> {
        let digits = s.trim().strip_prefix('+').unwrap_or(s.trim());
        if !(7..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = match digits.strip_prefix('1') {
            Some(rest) if digits.len() == 11 => rest,
            _ => digits,
        };
        Some(Self {
            digits: digits.to_owned(),
        })
    }

    /// The digits (ten for a North American number).
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// The number's block: the first six digits of a ten-digit number, else all but the last
    /// four.
    pub fn block(&self) -> &str {
        let keep = if self.digits.len() == 10 {
            6
        } else {
            self.digits.len().saturating_sub(4)
        };
        self.digits.get(..keep).unwrap_or_default()
    }
}

/// A report with its features computed: normalised text shingles and their MinHash band
/// keys, callback numbers and brands found in the text, the calling number parsed, the asks
/// detected. Computing it is pure and is the costly part of an insert, so a caller may
/// prepare reports on several threads and insert them in order
/// ([`crate::Clusterer::insert_prepared`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedReport {
    pub(crate) id: u64,
    pub(crate) time: i64,
    pub(crate) text: String,
    pub(crate) shingles: Vec<u64>,
    pub(crate) bands: Vec<u64>,
    pub(crate) callbacks: Vec<String>,
    pub(crate) brands: Vec<String>,
    pub(crate) calling: Option<CallingNumber>,
    pub(crate) asked: AskSet,
}

impl PreparedReport {
    /// Computes the features of `report` with the shingle and band sizes of `params`.
    ///
    /// # Errors
    /// [`Error::InvalidCalling`] when the calling number is not 7 to 15 digits.
    pub fn new(report: &ReportInput, params: &Params) -> Result<Self, Error> {
        let calling = match report.calling.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) => Some(
                CallingNumber::parse(c).ok_or_else(|| Error::InvalidCalling {
                    report: report.id,
                    calling: c.chars().take(32).collect(),
                })?,
            ),
        };
        let text = NormalizedText::normalize(&report.text);
        let shingles = shingles(&text, params.shingle_size);
        let signature = signature(&shingles, params.bands * params.rows);
        let bands = band_keys(&signature, params.bands, params.rows);
        let mut brands: Vec<String> = Vec::new();
        if let Some(claimed) = report.claimed_brand.as_deref().and_then(canonical_brand) {
            brands.push(claimed);
        }
        for b in brands_in(&text) {
            if brands.len() < MAX_BRANDS && !brands.iter().any(|x| x == b) {
                brands.push(b.to_owned());
            }
        }
        let mut asked = AskSet::detect(&text);
        for &a in &report.asked {
            asked.insert(a);
        }
        Ok(Self {
            id: report.id,
            time: report.time,
            text: crate::text::clip(&report.text, crate::text::MAX_TEXT_BYTES).to_owned(),
            shingles,
            bands,
            callbacks: text.callback_numbers().to_vec(),
            brands,
            calling,
            asked,
        })
    }

    /// The report's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// When the call happened, Unix seconds.
    pub fn time(&self) -> i64 {
        self.time
    }

    /// The phone numbers found in the text (ten digits for North American numbers).
    pub fn callback_numbers(&self) -> &[String] {
        &self.callbacks
    }

    /// The brands claimed or named: the claimed brand first (canonical form), then the ones
    /// the text names.
    pub fn brands(&self) -> &[String] {
        &self.brands
    }

    /// The calling number, parsed.
    pub fn calling(&self) -> Option<&CallingNumber> {
        self.calling.as_ref()
    }

    /// What the caller asked for: the reporter's categories and those the text mentions.
    pub fn asked(&self) -> AskSet {
        self.asked
    }

    /// How many distinct word shingles the normalised text has (0: no usable text).
    pub fn shingle_count(&self) -> usize {
        self.shingles.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calling_numbers_and_blocks() {
        let n = CallingNumber::parse("+12025550143").unwrap();
        assert_eq!(n.digits(), "2025550143");
        assert_eq!(n.block(), "202555");
        assert_eq!(CallingNumber::parse("2025550143").unwrap(), n);
        let intl = CallingNumber::parse("+442071838750").unwrap();
        assert_eq!(intl.block(), "44207183");
        assert!(CallingNumber::parse("12345").is_none());
        assert!(CallingNumber::parse("+1 202 555").is_none());
        assert!(CallingNumber::parse("1234567890123456").is_none());
    }

    #[test]
    fn features_of_a_report() {
        let report = ReportInput {
            id: 7,
            time: 1_700_000_000,
            text: "This is Amazon. Your order of $999 needs your card number: call 1-888-555-0100."
                .into(),
            claimed_brand: Some("amazon.com".into()),
            calling: Some("+1 202 555 0143".replace(' ', "")),
            asked: vec![Ask::GiftCards],
        };
        let p = PreparedReport::new(&report, &Params::default()).unwrap();
        assert_eq!(p.id(), 7);
        assert_eq!(p.brands(), ["Amazon"]);
        assert_eq!(p.callback_numbers(), ["8885550100"]);
        assert_eq!(p.calling().map(CallingNumber::block), Some("202555"));
        assert_eq!(
            p.asked().iter().collect::<Vec<_>>(),
            [Ask::Card, Ask::GiftCards]
        );
        assert!(p.shingle_count() > 5);
        assert_eq!(p.bands.len(), Params::default().bands);
    }

    #[test]
    fn bad_calling_number_is_the_callers_fault() {
        let report = ReportInput {
            id: 3,
            calling: Some("call me".into()),
            ..ReportInput::default()
        };
        assert_eq!(
            PreparedReport::new(&report, &Params::default()),
            Err(Error::InvalidCalling {
                report: 3,
                calling: "call me".into()
            })
        );
        let blank = ReportInput {
            calling: Some("  ".into()),
            ..ReportInput::default()
        };
        assert!(
            PreparedReport::new(&blank, &Params::default())
                .unwrap()
                .calling()
                .is_none()
        );
    }
}
