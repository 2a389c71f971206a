//! What a caller asked for: the categories a report names, and simple keyword rules that
//! find them in a transcript.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Serialize;

use crate::text::NormalizedText;

/// What a caller asked for. The names match the server's report categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ask {
    /// A password, PIN or one-time passcode.
    Password,
    /// Card details.
    Card,
    /// A bank transfer (wire, payment app, cryptocurrency).
    BankTransfer,
    /// Remote access to a computer or phone.
    RemoteAccess,
    /// Personal data (Social Security number, date of birth, account numbers).
    PersonalData,
    /// Gift cards or vouchers.
    GiftCards,
}

impl Ask {
    /// Every category, in display order.
    pub const ALL: [Self; 6] = [
        Self::Password,
        Self::Card,
        Self::BankTransfer,
        Self::RemoteAccess,
        Self::PersonalData,
        Self::GiftCards,
    ];

    /// The name used by the server's database and APIs.
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

    /// The bit of this category in an [`AskSet`].
    const fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// Phrases (normalised tokens) that mean a caller asks for this.
    const fn phrases(self) -> &'static [&'static [&'static str]] {
        match self {
            Self::Password => &[
                &["password"],
                &["passcode"],
                &["pin"],
                &["verification", "code"],
                &["security", "code"],
                &["1", "time", "code"],
                &["otp"],
            ],
            Self::Card => &[
                &["credit", "card"],
                &["debit", "card"],
                &["card", "number"],
                &["card", "details"],
                &["cvv"],
                &["expiration", "date"],
            ],
            Self::BankTransfer => &[
                &["wire"],
                &["bank", "transfer"],
                &["transfer", "the", "money"],
                &["transfer", "the", "funds"],
                &["routing", "number"],
                &["zelle"],
                &["venmo"],
                &["cash", "app"],
                &["western", "union"],
                &["moneygram"],
                &["bitcoin"],
                &["cryptocurrency"],
                &["bitcoin", "atm"],
            ],
            Self::RemoteAccess => &[
                &["remote", "access"],
                &["remote", "desktop"],
                &["teamviewer"],
                &["team", "viewer"],
                &["anydesk"],
                &["any", "desk"],
                &["ultraviewer"],
                &["access", "your", "computer"],
                &["access", "to", "your", "computer"],
                &["screen", "sharing"],
            ],
            Self::PersonalData => &[
                &["social", "security", "number"],
                &["ssn"],
                &["date", "of", "birth"],
                &["account", "number"],
                &["mothers", "maiden"],
                &["verify", "your", "identity"],
                &["medicare", "number"],
                &["policy", "number"],
                &["home", "address"],
            ],
            Self::GiftCards => &[
                &["gift", "card"],
                &["gift", "cards"],
                &["google", "play", "card"],
                &["itunes", "card"],
                &["steam", "card"],
                &["voucher"],
                &["vouchers"],
            ],
        }
    }
}

type Phrase = &'static [&'static str];

/// Every category's phrases by their first token.
static PHRASES_BY_FIRST_TOKEN: LazyLock<HashMap<&'static str, Vec<(Ask, Phrase)>>> =
    LazyLock::new(|| {
        let mut map: HashMap<&'static str, Vec<(Ask, Phrase)>> = HashMap::new();
        for ask in Ask::ALL {
            for &phrase in ask.phrases() {
                if let Some(first) = phrase.first() {
                    map.entry(first).or_default().push((ask, phrase));
                }
            }
        }
        map
    });

impl std::fmt::Display for Ask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of [`Ask`] categories.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AskSet(u8);

impl AskSet {
    /// The empty set.
    pub const EMPTY: Self = Self(0);

    /// The categories the keyword rules find in `text`.
    ///
    /// ```
    /// use campaigns::{ask::{Ask, AskSet}, text::NormalizedText};
    /// let text = NormalizedText::normalize("Buy Google Play gift cards and read me the PIN");
    /// let asks = AskSet::detect(&text);
    /// assert_eq!(asks.iter().collect::<Vec<_>>(), [Ask::Password, Ask::GiftCards]);
    /// ```
    pub fn detect(text: &NormalizedText) -> Self {
        let mut set = Self::EMPTY;
        for (i, token) in text.tokens().enumerate() {
            for &(ask, phrase) in PHRASES_BY_FIRST_TOKEN
                .get(token)
                .map_or(&[][..], Vec::as_slice)
            {
                if !set.contains(ask) && text.starts_with_at(i, phrase) {
                    set.insert(ask);
                }
            }
        }
        set
    }

    /// Adds a category.
    pub fn insert(&mut self, ask: Ask) {
        self.0 |= ask.bit();
    }

    /// Whether the set holds `ask`.
    pub const fn contains(self, ask: Ask) -> bool {
        self.0 & ask.bit() != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The categories, in display order.
    pub fn iter(self) -> impl Iterator<Item = Ask> {
        Ask::ALL.into_iter().filter(move |a| self.contains(*a))
    }
}

impl FromIterator<Ask> for AskSet {
    fn from_iter<I: IntoIterator<Item = Ask>>(iter: I) -> Self {
        let mut set = Self::EMPTY;
        for a in iter {
            set.insert(a);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(t: &str) -> Vec<Ask> {
        AskSet::detect(&NormalizedText::normalize(t))
            .iter()
            .collect()
    }

    #[test]
    fn names_round_trip() {
        for a in Ask::ALL {
            assert_eq!(Ask::parse(a.as_str()), Some(a));
        }
        assert_eq!(Ask::parse("cash"), None);
    }

    #[test]
    fn keyword_rules() {
        assert_eq!(
            detect("suspend your social security number"),
            [Ask::PersonalData]
        );
        assert_eq!(
            detect("a 0% interest rate on all your credit card accounts"),
            [Ask::Card]
        );
        assert_eq!(
            detect("we need remote access to your computer"),
            [Ask::RemoteAccess]
        );
        assert_eq!(detect("pay with Bitcoin or a wire"), [Ask::BankTransfer]);
        assert_eq!(detect("read me the one-time code"), [Ask::Password]);
        assert!(detect("your car's extended warranty").is_empty());
    }

    #[test]
    fn sets_collect_and_iterate_in_order() {
        let set: AskSet = [Ask::GiftCards, Ask::Card, Ask::GiftCards]
            .into_iter()
            .collect();
        assert_eq!(set.iter().collect::<Vec<_>>(), [Ask::Card, Ask::GiftCards]);
        assert!(!set.is_empty());
        assert!(AskSet::EMPTY.is_empty());
    }
}
