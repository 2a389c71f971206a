//! callproof's storage: the inventory behind attestation (customers, their trunks and
//! number blocks, API keys), brands and their policy (numbers, partners, the DNO list,
//! opt-outs, events) and the responses kept for idempotent writes, in SQLite (the embedded
//! default) or PostgreSQL (shared by many nodes), behind one trait and one test suite.
//!
//! Every inventory write is one transaction that also bumps the inventory version, and every
//! brand policy write bumps the policy version, so nodes that cache them in memory see a
//! change by polling one integer; opt-outs are followed through a commit-ordered change log,
//! and reports by their ids, which follow commit order too.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use store::{Store, sqlite::SqliteStore};
//! let store = SqliteStore::open_in_memory().await.unwrap();
//! let c = store.create_customer("Acme", None).await.unwrap();
//! assert_eq!(store.inventory().await.unwrap().customers, vec![c]);
//! # });
//! ```

pub mod brand;
mod brand_rows;
mod call_rows;
pub mod calls;
pub mod model;
pub mod postgres;
mod schema;
pub mod sqlite;

use async_trait::async_trait;
use passport::TelephoneNumber;

pub use brand::*;
pub use calls::*;
pub use model::{
    ApiKeyRecord, Customer, CustomerId, IDEMPOTENCY_TTL_SECS, IdempotencyRecord, Inventory,
    NumberBlock, OwnedBlock, Scope, Trunk,
};

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("{what} {key:?} does not exist")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its key.
        key: String,
    },
    /// The write conflicts with what is stored (a taken name, an owned number).
    #[error("{what} conflicts: {detail}")]
    Conflict {
        /// What kind of thing.
        what: &'static str,
        /// The conflict.
        detail: String,
    },
    /// The database failed or could not be reached.
    #[error("database error: {detail}")]
    Backend {
        /// The driver's message.
        detail: String,
    },
}

/// A new API key to store (the caller generated the secret and hashed it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// The customer it acts for (`None`: an operator key).
    pub customer: Option<CustomerId>,
    /// A label.
    pub name: String,
    /// The first characters of the key.
    pub prefix: String,
    /// Hex SHA-256 of the whole key.
    pub hash: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
}

/// The inventory store. Implementations: [`sqlite::SqliteStore`], [`postgres::PgStore`].
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Checks the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Creates a customer; `origid` defaults to a fresh UUID.
    async fn create_customer(
        &self,
        name: &str,
        origid: Option<&str>,
    ) -> Result<Customer, StoreError>;
    /// Finds a customer by name.
    async fn customer_by_name(&self, name: &str) -> Result<Option<Customer>, StoreError>;
    /// Adds a source-address range to a customer.
    async fn add_trunk(&self, customer: CustomerId, cidr: &str) -> Result<(), StoreError>;
    /// Gives number blocks to a customer, all or none: a block that overlaps one already
    /// owned (by anyone), or another in the same call, is a conflict.
    async fn add_numbers(
        &self,
        customer: CustomerId,
        blocks: &[NumberBlock],
    ) -> Result<(), StoreError>;
    /// Removes blocks a customer owns, exactly as they were added, all or none: a block the
    /// customer does not own is `NotFound` and nothing is removed. Returns how many.
    async fn remove_numbers(
        &self,
        customer: CustomerId,
        blocks: &[NumberBlock],
    ) -> Result<u64, StoreError>;
    /// Stores an API key.
    async fn create_api_key(&self, key: NewApiKey) -> Result<ApiKeyRecord, StoreError>;
    /// Revokes an API key; false when there was none.
    async fn revoke_api_key(&self, id: i64) -> Result<bool, StoreError>;
    /// The whole inventory.
    async fn inventory(&self) -> Result<Inventory, StoreError>;
    /// The inventory version alone (cheap, for change polling).
    async fn inventory_version(&self) -> Result<i64, StoreError>;
    /// The response stored under an idempotency `key`, unless it is older than
    /// [`IDEMPOTENCY_TTL_SECS`] at `now` (Unix seconds).
    async fn idempotency_get(
        &self,
        key: &str,
        now: i64,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    /// Stores a response under an idempotency `key` at `now`, unless one still in force is
    /// stored there already (first writer wins); returns the record in force. Records past
    /// [`IDEMPOTENCY_TTL_SECS`] are deleted on the way. Does not move the inventory version.
    async fn idempotency_put(
        &self,
        key: &str,
        request_hash: &str,
        status: u16,
        body: &str,
        now: i64,
    ) -> Result<IdempotencyRecord, StoreError>;

    // Brands. Every write to brands, logos, brand numbers, partners or the DNO list is one
    // transaction that also bumps the policy version (not the inventory version).

    /// Creates a brand. A slug in use: `Conflict`. Unknown customer: `NotFound`.
    async fn create_brand(
        &self,
        slug: &str,
        customer: CustomerId,
        fields: &BrandFields,
        now: i64,
    ) -> Result<Brand, StoreError>;
    /// Replaces a brand's fields (not its slug, customer or logo); `NotFound` when there is
    /// no such brand.
    async fn update_brand(
        &self,
        id: BrandId,
        fields: &BrandFields,
        now: i64,
    ) -> Result<Brand, StoreError>;
    /// Finds a brand by slug.
    async fn brand_by_slug(&self, slug: &str) -> Result<Option<Brand>, StoreError>;
    /// All brands, by id.
    async fn brands(&self) -> Result<Vec<Brand>, StoreError>;
    /// Sets (replaces) a brand's logo; `NotFound` when there is no such brand. The digest is
    /// the caller's, stored as given.
    async fn set_brand_logo(
        &self,
        id: BrandId,
        content_type: &str,
        digest: &str,
        bytes: &[u8],
        now: i64,
    ) -> Result<LogoMeta, StoreError>;
    /// The logo's metadata and bytes; `None` when the brand has no logo (or does not exist).
    async fn brand_logo(&self, id: BrandId) -> Result<Option<(LogoMeta, Vec<u8>)>, StoreError>;
    /// Adds blocks to one of a brand's lists, all or none: a block overlapping any brand block
    /// already stored (any brand, any kind) or another in the call is a `Conflict`; an
    /// unknown brand is `NotFound`.
    async fn add_brand_numbers(
        &self,
        id: BrandId,
        kind: BrandNumberKind,
        blocks: &[NumberBlock],
    ) -> Result<(), StoreError>;
    /// Removes blocks from one of a brand's lists exactly as added, all or none: a block that
    /// is not on that list is `NotFound` and nothing is removed. Returns how many.
    async fn remove_brand_numbers(
        &self,
        id: BrandId,
        kind: BrandNumberKind,
        blocks: &[NumberBlock],
    ) -> Result<u64, StoreError>;
    /// Authorises a partner. An unknown brand or customer is `NotFound`; a number block with a
    /// number not on the brand's listed numbers (adjacent listed blocks may be spanned, a gap
    /// or another list not), or overlapping another of the call, is a `Conflict`.
    async fn create_partner(&self, partner: &NewPartner, now: i64) -> Result<Partner, StoreError>;
    /// Revokes at `now`; false when there was no such partner of that brand or it was revoked
    /// already (the policy version moves only when it was revoked now).
    async fn revoke_partner(
        &self,
        brand: BrandId,
        id: PartnerId,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// A brand's partners, revoked ones too, by id.
    async fn partners(&self, brand: BrandId) -> Result<Vec<Partner>, StoreError>;
    /// Replaces the national Do-Not-Originate list with `blocks` (an import), atomically.
    /// Blocks that overlap one another are a `Conflict` (the importer merges them first).
    /// Returns how many are stored.
    async fn replace_dno(&self, blocks: &[NumberBlock]) -> Result<u64, StoreError>;
    /// Everything the call path needs about brands, as one consistent snapshot.
    async fn brand_policy(&self) -> Result<BrandPolicy, StoreError>;
    /// The policy version alone (cheap, for change polling).
    async fn policy_version(&self) -> Result<i64, StoreError>;
    /// Opts `tns` out of (true) or back into (false) a brand's marketing calls, recording
    /// each change with its source; returns how many changed state (a repeated opt-out is
    /// recorded nowhere and counts nothing; a number given twice counts once). All in one
    /// transaction (a CSV import is one call). An unknown brand is `NotFound`. Does not move
    /// the policy version.
    async fn set_opt_outs(
        &self,
        brand: BrandId,
        tns: &[TelephoneNumber],
        opted_out: bool,
        source: &str,
        now: i64,
    ) -> Result<u64, StoreError>;
    /// Opt-out changes of every brand with `seq` after `after_seq` (0: from the start), at most
    /// `limit`, in `seq` order. `seq` follows commit order, so the last `seq` read is a safe
    /// cursor: a later call never returns a change that should have come before it.
    async fn opt_out_changes(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<OptOutChange>, StoreError>;
    /// Whether `tn` is opted out of the brand's marketing now.
    async fn is_opted_out(&self, brand: BrandId, tn: &TelephoneNumber) -> Result<bool, StoreError>;
    /// Appends an event to a brand's log and returns it; an unknown brand is `NotFound`.
    /// Does not move the policy version.
    async fn record_brand_event(
        &self,
        brand: BrandId,
        kind: &str,
        detail: &serde_json::Value,
        now: i64,
    ) -> Result<BrandEvent, StoreError>;
    /// A brand's events, newest first, with `seq` below `before` (`None`: from the newest), at
    /// most `limit`.
    async fn brand_events(
        &self,
        brand: BrandId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<BrandEvent>, StoreError>;

    // The call registry. Calls are kept for a short time ([`Store::purge_calls`]); their
    // writes move no version.

    /// Records calls in one transaction, all or none, and returns their ids in order. A call
    /// whose code digest another call of the same brand holds unused and unexpired at its
    /// `started_at` (in the store or earlier in `calls`) is a `Conflict`; an unknown brand or
    /// partner is `NotFound`.
    async fn record_calls(&self, calls: &[NewCall]) -> Result<Vec<CallId>, StoreError>;
    /// A brand's call by id (`None`: no such call of that brand).
    async fn call(&self, brand: BrandId, id: CallId) -> Result<Option<CallRecord>, StoreError>;
    /// Marks a brand's call ended at `now` and returns it; a call ended already keeps its
    /// first end. No such call of that brand: `NotFound`.
    async fn end_call(
        &self,
        brand: BrandId,
        id: CallId,
        now: i64,
    ) -> Result<CallRecord, StoreError>;
    /// A brand's calls to `called` that started at or after `since`, newest first (ties:
    /// highest id first), at most `limit`.
    async fn calls_to(
        &self,
        brand: BrandId,
        called: &TelephoneNumber,
        since: i64,
        limit: u32,
    ) -> Result<Vec<CallRecord>, StoreError>;
    /// Uses a one-time code: the brand's call holding `digest` unused and unexpired at `now`
    /// is marked used at `now` and returned. Anything else (unknown, used, expired, another
    /// brand's) is `None` and changes nothing. Two concurrent uses: one gets the call.
    async fn redeem_code(
        &self,
        brand: BrandId,
        digest: &str,
        now: i64,
    ) -> Result<Option<CallRecord>, StoreError>;
    /// Deletes calls that started before `before`; returns how many.
    async fn purge_calls(&self, before: i64) -> Result<u64, StoreError>;

    // Reports.

    /// Stores a report, committed before it returns. With an idempotency key already used,
    /// stores nothing and returns the first report and false. Unknown brand: `NotFound`.
    async fn create_report(&self, report: &NewReport) -> Result<(Report, bool), StoreError>;
    /// Reports, newest first, of one brand (or of all, `None`), with ids below `before`
    /// (`None`: from the newest), at most `limit`.
    async fn reports(
        &self,
        brand: Option<BrandId>,
        before: Option<ReportId>,
        limit: u32,
    ) -> Result<Vec<Report>, StoreError>;
    /// Reports of every brand with ids above `after` (`ReportId(0)`: from the start), at most
    /// `limit`, in id order: how nodes follow new reports. Ids follow commit order, so the
    /// last id read is a safe cursor: a later call never returns a report that should have
    /// come before it (on PostgreSQL the read waits for reports being written to commit).
    async fn reports_after(&self, after: ReportId, limit: u32) -> Result<Vec<Report>, StoreError>;
    /// A report by id.
    async fn report(&self, id: ReportId) -> Result<Option<Report>, StoreError>;
    /// Deletes reports received before `received_before` (Unix seconds), in batches so other
    /// writes are not held up; returns how many. Ids are never reused.
    async fn purge_reports(&self, received_before: i64) -> Result<u64, StoreError>;
}

/// A random UUID v4 string, from the OS random source.
pub(crate) fn new_uuid() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..32).unwrap_or_default()
    )
}

fn getrandom(buf: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read as _;
    std::fs::File::open("/dev/urandom")?.read_exact(buf)
}

/// Checks that no two blocks of one request overlap.
pub(crate) fn check_disjoint(blocks: &[NumberBlock]) -> Result<(), StoreError> {
    let mut sorted: Vec<&NumberBlock> = blocks.iter().collect();
    sorted.sort_by_key(|b| (b.digits(), b.first_value()));
    for pair in sorted.windows(2) {
        if let [a, b] = pair
            && a.overlaps(b)
        {
            return Err(StoreError::Conflict {
                what: "number block",
                detail: format!("{a} overlaps {b} in the same request"),
            });
        }
    }
    Ok(())
}

/// Joins scopes for storage.
pub(crate) fn scopes_to_string(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses stored scopes, ignoring unknown names (written by a newer version).
pub(crate) fn scopes_from_string(s: &str) -> Vec<Scope> {
    s.split(',').filter_map(Scope::parse).collect()
}
