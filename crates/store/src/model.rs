//! What the store holds: customers, their trunks and numbers, API keys, and the responses
//! kept for idempotent replay.

use std::fmt;

use passport::TelephoneNumber;

/// A customer's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomerId(pub i64);

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A customer of the signing service: a carrier's enterprise or wholesale customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// Its id.
    pub id: CustomerId,
    /// Its unique name.
    pub name: String,
    /// The SHAKEN `origid` (a UUID) put in the PASSporTs signed for it.
    pub origid: String,
}

/// A source-address range from which a customer's SBC or PBX sends SIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trunk {
    /// The customer.
    pub customer: CustomerId,
    /// An address or CIDR block, e.g. `192.0.2.10` or `2001:db8::/48`.
    pub cidr: String,
}

/// Why a number block is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    /// The start holds `*` or `#`.
    #[error("number {start} is not all digits")]
    NotDigits {
        /// The start.
        start: String,
    },
    /// Zero numbers, or more than fit after the start in its number of digits.
    #[error("a block of {count} numbers from {start} does not fit in {digits} digits")]
    BadCount {
        /// The start.
        start: String,
        /// The count.
        count: u64,
        /// Digits of the start.
        digits: usize,
    },
    /// More than 18 digits: too long to index numerically.
    #[error("number {start} is too long to hold in the inventory (at most 18 digits)")]
    TooLong {
        /// The start.
        start: String,
    },
}

/// `count` consecutive numbers from `start` (all with as many digits as `start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NumberBlock {
    start: TelephoneNumber,
    count: u64,
}

impl NumberBlock {
    /// A block; a single number is a block of one.
    pub fn new(start: TelephoneNumber, count: u64) -> Result<Self, BlockError> {
        let s = start.as_str();
        if !start.is_all_digits() {
            return Err(BlockError::NotDigits {
                start: s.to_owned(),
            });
        }
        if s.len() > 18 {
            return Err(BlockError::TooLong {
                start: s.to_owned(),
            });
        }
        let first: u64 = s.parse().map_err(|_| BlockError::NotDigits {
            start: s.to_owned(),
        })?;
        let capacity = 10u64.pow(u32::try_from(s.len()).unwrap_or(18)) - first;
        if count == 0 || count > capacity {
            return Err(BlockError::BadCount {
                start: s.to_owned(),
                count,
                digits: s.len(),
            });
        }
        Ok(Self { start, count })
    }

    /// The first number.
    pub const fn start(&self) -> TelephoneNumber {
        self.start
    }

    /// How many numbers.
    pub const fn count(&self) -> u64 {
        self.count
    }

    /// Digits per number.
    pub fn digits(&self) -> usize {
        self.start.as_str().len()
    }

    /// The first number as an integer.
    pub fn first_value(&self) -> u64 {
        self.start.as_str().parse().unwrap_or(0)
    }

    /// The last number as an integer.
    pub fn last_value(&self) -> u64 {
        self.first_value() + self.count - 1
    }

    /// Whether `tn` lies in this block.
    pub fn contains(&self, tn: &TelephoneNumber) -> bool {
        let s = tn.as_str();
        s.len() == self.digits()
            && tn.is_all_digits()
            && s.parse::<u64>()
                .is_ok_and(|v| v >= self.first_value() && v <= self.last_value())
    }

    /// Whether two blocks share a number.
    pub fn overlaps(&self, other: &Self) -> bool {
        self.digits() == other.digits()
            && self.first_value() <= other.last_value()
            && other.first_value() <= self.last_value()
    }
}

impl fmt::Display for NumberBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.count == 1 {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}+{}", self.start, self.count)
        }
    }
}

/// A block owned by a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnedBlock {
    /// The owner.
    pub customer: CustomerId,
    /// The numbers.
    pub block: NumberBlock,
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Sign calls (ATIS signing).
    Sign,
    /// Verify calls (ATIS verification).
    Verify,
    /// Manage customers, numbers, trunks and keys.
    Admin,
    /// Register a brand's calls and read their status (a dialler, the brand's own app): for
    /// the brands of the key's customer only.
    Calls,
}

impl Scope {
    /// The name used in the database and APIs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sign => "sign",
            Self::Verify => "verify",
            Self::Admin => "admin",
            Self::Calls => "calls",
        }
    }

    /// Parses a scope name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sign" => Some(Self::Sign),
            "verify" => Some(Self::Verify),
            "admin" => Some(Self::Admin),
            "calls" => Some(Self::Calls),
            _ => None,
        }
    }
}

/// A stored API key: only the SHA-256 of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Its id.
    pub id: i64,
    /// The customer it acts for (`None`: an operator key).
    pub customer: Option<CustomerId>,
    /// A label.
    pub name: String,
    /// The first characters of the key, to recognise it in lists.
    pub prefix: String,
    /// Hex SHA-256 of the whole key.
    pub hash: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// How long a response to a write made with an idempotency key is kept for replay.
pub const IDEMPOTENCY_TTL_SECS: i64 = 24 * 60 * 60;

/// The stored response to a write made with an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// A digest of the request (method, path, body) the response answered.
    pub request_hash: String,
    /// The HTTP status.
    pub status: u16,
    /// The response body.
    pub body: String,
    /// When it was stored, Unix seconds.
    pub created_at: i64,
}

/// Everything the signing path needs, loaded at once and refreshed when `version` moves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Bumped by every change.
    pub version: i64,
    /// All customers.
    pub customers: Vec<Customer>,
    /// All trunks.
    pub trunks: Vec<Trunk>,
    /// All number blocks.
    pub blocks: Vec<OwnedBlock>,
    /// All API keys that are not revoked.
    pub api_keys: Vec<ApiKeyRecord>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tn(s: &str) -> TelephoneNumber {
        TelephoneNumber::parse(s).unwrap()
    }

    #[test]
    fn blocks_contain_and_overlap_by_value_and_length() {
        let b = NumberBlock::new(tn("12155550000"), 10_000).unwrap();
        assert!(b.contains(&tn("12155559999")));
        assert!(!b.contains(&tn("12155560000")));
        assert!(!b.contains(&tn("2155551212")));
        assert!(b.overlaps(&NumberBlock::new(tn("12155559999"), 5).unwrap()));
        assert!(!b.overlaps(&NumberBlock::new(tn("12155560000"), 5).unwrap()));
        assert!(!b.overlaps(&NumberBlock::new(tn("2155550000"), 5).unwrap()));
        assert_eq!(b.to_string(), "12155550000+10000");
    }

    #[test]
    fn invalid_blocks_are_refused() {
        assert!(matches!(
            NumberBlock::new(tn("1215*"), 1),
            Err(BlockError::NotDigits { .. })
        ));
        assert!(matches!(
            NumberBlock::new(tn("99"), 2),
            Err(BlockError::BadCount { .. })
        ));
        assert!(matches!(
            NumberBlock::new(tn("1"), 0),
            Err(BlockError::BadCount { .. })
        ));
        assert!(NumberBlock::new(tn("90"), 10).is_ok());
        assert!(matches!(
            NumberBlock::new(tn("1234567890123456789"), 1),
            Err(BlockError::TooLong { .. })
        ));
    }
}
