//! The embedded backend: one SQLite file in WAL mode with `synchronous=FULL`, so a write
//! acknowledged is on disk. Calls run on tokio's blocking pool; one connection serialises
//! writes, as SQLite does anyway.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use passport::TelephoneNumber;
use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};

use crate::brand::{
    Brand, BrandBlock, BrandEvent, BrandFields, BrandId, BrandNumberKind, BrandPolicy, LogoMeta,
    NewPartner, OptOutChange, Partner, PartnerId,
};
use crate::brand_rows::{
    BRAND_SELECT, BrandRow, PARTNER_SELECT, PartnerRow, assemble_partners, brand_not_found,
    brand_overlap, covers, distinct_tns, from_json, not_listed, stored_block, stored_kind,
    stored_tn, to_json,
};
use crate::call_rows::{
    CallRow, PURGE_BATCH, ReportRow, asked_to_string, call_columns, call_not_found,
    check_batch_codes, code_conflict, new_report, partner_not_found, referenced, report_columns,
};
use crate::calls::{CallId, CallRecord, NewCall, NewReport, Report, ReportId};
use crate::model::{
    ApiKeyRecord, Customer, CustomerId, IDEMPOTENCY_TTL_SECS, IdempotencyRecord, Inventory,
    NumberBlock, OwnedBlock, Trunk,
};
use crate::schema::MIGRATIONS;
use crate::{
    NewApiKey, Store, StoreError, check_disjoint, new_uuid, scopes_from_string, scopes_to_string,
};

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend {
        detail: e.to_string(),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let path = path.to_owned();
        let conn = tokio::task::spawn_blocking(move || Connection::open(path))
            .await
            .map_err(backend)?
            .map_err(backend)?;
        Self::setup(conn).await
    }

    /// A private in-memory database (tests, examples).
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        Self::setup(Connection::open_in_memory().map_err(backend)?).await
    }

    async fn setup(conn: Connection) -> Result<Self, StoreError> {
        let store = Self {
            conn: Arc::new(Mutex::new(conn)),
        };
        store
            .run(|c| {
                c.pragma_update(None, "journal_mode", "WAL")?;
                c.pragma_update(None, "synchronous", "FULL")?;
                c.pragma_update(None, "foreign_keys", "ON")?;
                c.busy_timeout(std::time::Duration::from_secs(5))?;
                // Room for every statement the store caches (calls are written at a high rate).
                c.set_prepared_statement_cache_capacity(64);
                // Keep each cached statement's query plan: without this SQLite may mark a
                // statement for re-planning on new bound values, and rusqlite's cache then
                // re-parses it on every use (a fifth of a call check's cost, measured).
                c.set_db_config(
                    rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
                    true,
                )?;
                c.execute_batch(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)",
                )?;
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                for m in MIGRATIONS {
                    let done: Option<i64> = tx
                        .query_row(
                            "SELECT version FROM schema_migrations WHERE version = ?1",
                            [m.version],
                            |r| r.get(0),
                        )
                        .optional()?;
                    if done.is_none() {
                        tx.execute_batch(m.sqlite)?;
                        tx.execute(
                            "INSERT INTO schema_migrations (version) VALUES (?1)",
                            [m.version],
                        )?;
                    }
                }
                tx.commit()
            })
            .await?;
        Ok(store)
    }

    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.try_run(move |c| f(c).map_err(map_sqlite)).await
    }

    async fn try_run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| StoreError::Backend {
                detail: "connection lock poisoned".into(),
            })?;
            f(&mut guard)
        })
        .await
        .map_err(backend)?
    }
}

fn map_sqlite(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(code, msg) = &e
        && code.code == rusqlite::ErrorCode::ConstraintViolation
    {
        return StoreError::Conflict {
            what: "row",
            detail: msg.clone().unwrap_or_else(|| e.to_string()),
        };
    }
    backend(e)
}

fn bump(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute("UPDATE meta SET version = version + 1 WHERE id = 1", [])
        .map(|_| ())
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.run(|c| c.query_row("SELECT 1", [], |_| Ok(()))).await
    }

    async fn create_customer(
        &self,
        name: &str,
        origid: Option<&str>,
    ) -> Result<Customer, StoreError> {
        let name = name.to_owned();
        let origid = origid.map_or_else(new_uuid, str::to_owned);
        self.try_run(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let exists: Option<i64> = tx
                .query_row("SELECT id FROM customers WHERE name = ?1", [&name], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(backend)?;
            if exists.is_some() {
                return Err(StoreError::Conflict {
                    what: "customer",
                    detail: format!("name {name:?} is taken"),
                });
            }
            tx.execute(
                "INSERT INTO customers (name, origid) VALUES (?1, ?2)",
                params![name, origid],
            )
            .map_err(map_sqlite)?;
            let id = CustomerId(tx.last_insert_rowid());
            bump(&tx).map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(Customer { id, name, origid })
        })
        .await
    }

    async fn customer_by_name(&self, name: &str) -> Result<Option<Customer>, StoreError> {
        let name = name.to_owned();
        self.run(move |c| {
            c.query_row(
                "SELECT id, name, origid FROM customers WHERE name = ?1",
                [name],
                |r| {
                    Ok(Customer {
                        id: CustomerId(r.get(0)?),
                        name: r.get(1)?,
                        origid: r.get(2)?,
                    })
                },
            )
            .optional()
        })
        .await
    }

    async fn add_trunk(&self, customer: CustomerId, cidr: &str) -> Result<(), StoreError> {
        let cidr = cidr.to_owned();
        self.try_run(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            require_customer(&tx, customer)?;
            tx.execute(
                "INSERT OR IGNORE INTO trunks (customer_id, cidr) VALUES (?1, ?2)",
                params![customer.0, cidr],
            )
            .map_err(map_sqlite)?;
            bump(&tx).map_err(backend)?;
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn add_numbers(
        &self,
        customer: CustomerId,
        blocks: &[NumberBlock],
    ) -> Result<(), StoreError> {
        check_disjoint(blocks)?;
        let blocks = blocks.to_vec();
        self.try_run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
            require_customer(&tx, customer)?;
            {
                // The owned block with the greatest first number at or below the new block's
                // last is the only one that can overlap it (owned blocks are disjoint).
                let mut probe = tx
                    .prepare_cached(
                        "SELECT start, count, customer_id, last FROM number_blocks \
                         WHERE digits = ?1 AND first <= ?2 ORDER BY first DESC LIMIT 1",
                    )
                    .map_err(backend)?;
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO number_blocks (digits, first, last, start, count, customer_id) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )
                    .map_err(backend)?;
                for b in &blocks {
                    let digits = to_i64(b.digits() as u64);
                    let hit: Option<(String, i64, i64, i64)> = probe
                        .query_row(params![digits, to_i64(b.last_value())], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                        })
                        .optional()
                        .map_err(backend)?;
                    if let Some((start, count, owner, last)) = hit
                        && last >= to_i64(b.first_value())
                    {
                        return Err(StoreError::Conflict {
                            what: "number block",
                            detail: format!("{b} overlaps {start}+{count} owned by customer {owner}"),
                        });
                    }
                    insert
                        .execute(params![
                            digits,
                            to_i64(b.first_value()),
                            to_i64(b.last_value()),
                            b.start().as_str(),
                            to_i64(b.count()),
                            customer.0
                        ])
                        .map_err(map_sqlite)?;
                }
            }
            bump(&tx).map_err(backend)?;
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn remove_numbers(
        &self,
        customer: CustomerId,
        blocks: &[NumberBlock],
    ) -> Result<u64, StoreError> {
        let blocks = blocks.to_vec();
        self.try_run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
            let mut removed = 0u64;
            {
                let mut del = tx
                    .prepare_cached(
                        "DELETE FROM number_blocks WHERE digits = ?1 AND first = ?2 AND count = ?3 AND customer_id = ?4",
                    )
                    .map_err(backend)?;
                for b in &blocks {
                    let n = del
                        .execute(params![to_i64(b.digits() as u64), to_i64(b.first_value()), to_i64(b.count()), customer.0])
                        .map_err(backend)?;
                    if n == 0 {
                        // All or none: dropping the transaction rolls back what went before.
                        return Err(StoreError::NotFound { what: "number block", key: b.to_string() });
                    }
                    removed += n as u64;
                }
            }
            bump(&tx).map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(removed)
        })
        .await
    }

    async fn create_api_key(&self, key: NewApiKey) -> Result<ApiKeyRecord, StoreError> {
        self.try_run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
            if let Some(customer) = key.customer {
                require_customer(&tx, customer)?;
            }
            tx.execute(
                "INSERT INTO api_keys (customer_id, name, prefix, hash, scopes) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![key.customer.map(|c| c.0), key.name, key.prefix, key.hash, scopes_to_string(&key.scopes)],
            )
            .map_err(map_sqlite)?;
            let id = tx.last_insert_rowid();
            bump(&tx).map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(ApiKeyRecord {
                id,
                customer: key.customer,
                name: key.name,
                prefix: key.prefix,
                hash: key.hash,
                scopes: key.scopes,
                revoked: false,
            })
        })
        .await
    }

    async fn revoke_api_key(&self, id: i64) -> Result<bool, StoreError> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx.execute(
                "UPDATE api_keys SET revoked = 1 WHERE id = ?1 AND revoked = 0",
                [id],
            )?;
            bump(&tx)?;
            tx.commit()?;
            Ok(n > 0)
        })
        .await
    }

    async fn inventory(&self) -> Result<Inventory, StoreError> {
        self.try_run(|c| {
            // One read transaction: a consistent snapshot with its version.
            let tx = c.transaction().map_err(backend)?;
            let version = tx.query_row("SELECT version FROM meta WHERE id = 1", [], |r| r.get(0)).map_err(backend)?;
            let customers = {
                let mut s = tx.prepare("SELECT id, name, origid FROM customers ORDER BY id").map_err(backend)?;
                let rows = s
                    .query_map([], |r| Ok(Customer { id: CustomerId(r.get(0)?), name: r.get(1)?, origid: r.get(2)? }))
                    .map_err(backend)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)?
            };
            let trunks = {
                let mut s = tx.prepare("SELECT customer_id, cidr FROM trunks ORDER BY customer_id, cidr").map_err(backend)?;
                let rows =
                    s.query_map([], |r| Ok(Trunk { customer: CustomerId(r.get(0)?), cidr: r.get(1)? })).map_err(backend)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)?
            };
            let blocks = {
                let mut s = tx
                    .prepare("SELECT customer_id, start, count FROM number_blocks ORDER BY digits, first")
                    .map_err(backend)?;
                let rows = s
                    .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))
                    .map_err(backend)?;
                let mut out = Vec::new();
                for row in rows {
                    let (customer, start, count) = row.map_err(backend)?;
                    out.push(owned_block(customer, &start, count)?);
                }
                out
            };
            let api_keys = {
                let mut s = tx
                    .prepare("SELECT id, customer_id, name, prefix, hash, scopes FROM api_keys WHERE revoked = 0 ORDER BY id")
                    .map_err(backend)?;
                let rows = s
                    .query_map([], |r| {
                        Ok(ApiKeyRecord {
                            id: r.get(0)?,
                            customer: r.get::<_, Option<i64>>(1)?.map(CustomerId),
                            name: r.get(2)?,
                            prefix: r.get(3)?,
                            hash: r.get(4)?,
                            scopes: scopes_from_string(&r.get::<_, String>(5)?),
                            revoked: false,
                        })
                    })
                    .map_err(backend)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)?
            };
            Ok(Inventory { version, customers, trunks, blocks, api_keys })
        })
        .await
    }

    async fn inventory_version(&self) -> Result<i64, StoreError> {
        self.run(|c| c.query_row("SELECT version FROM meta WHERE id = 1", [], |r| r.get(0)))
            .await
    }

    async fn idempotency_get(
        &self,
        key: &str,
        now: i64,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let key = key.to_owned();
        self.try_run(move |c| {
            let row = c
                .query_row(
                    "SELECT request_hash, status, body, created_at FROM idempotency \
                     WHERE key = ?1 AND created_at > ?2",
                    params![key, now.saturating_sub(IDEMPOTENCY_TTL_SECS)],
                    |r| Ok((r.get(0)?, r.get::<_, i64>(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
                .map_err(backend)?;
            row.map(idempotency_record).transpose()
        })
        .await
    }

    async fn idempotency_put(
        &self,
        key: &str,
        request_hash: &str,
        status: u16,
        body: &str,
        now: i64,
    ) -> Result<IdempotencyRecord, StoreError> {
        let (key, request_hash, body) = (key.to_owned(), request_hash.to_owned(), body.to_owned());
        self.try_run(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            tx.execute(
                "DELETE FROM idempotency WHERE created_at <= ?1",
                [now.saturating_sub(IDEMPOTENCY_TTL_SECS)],
            )
            .map_err(backend)?;
            tx.execute(
                "INSERT INTO idempotency (key, request_hash, status, body, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (key) DO NOTHING",
                params![key, request_hash, i64::from(status), body, now],
            )
            .map_err(map_sqlite)?;
            let row = tx
                .query_row(
                    "SELECT request_hash, status, body, created_at FROM idempotency WHERE key = ?1",
                    [&key],
                    |r| Ok((r.get(0)?, r.get::<_, i64>(1)?, r.get(2)?, r.get(3)?)),
                )
                .map_err(backend)?;
            tx.commit().map_err(backend)?;
            idempotency_record(row)
        })
        .await
    }

    async fn create_brand(
        &self,
        slug: &str,
        customer: CustomerId,
        fields: &BrandFields,
        now: i64,
    ) -> Result<Brand, StoreError> {
        let slug = slug.to_owned();
        let fields = fields.clone();
        let reasons = to_json(&fields.call_reasons)?;
        let never_ask = to_json(&fields.never_ask)?;
        self.try_run(move |c| {
            let tx = write_tx(c)?;
            require_customer(&tx, customer)?;
            let taken: Option<i64> = tx
                .query_row("SELECT id FROM brands WHERE slug = ?1", [&slug], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(backend)?;
            if taken.is_some() {
                return Err(StoreError::Conflict {
                    what: "brand",
                    detail: format!("slug {slug:?} is taken"),
                });
            }
            tx.execute(
                "INSERT INTO brands (slug, customer_id, legal_name, display_name, call_reasons, \
                 never_ask, callback, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                params![
                    slug,
                    customer.0,
                    fields.legal_name,
                    fields.display_name,
                    reasons,
                    never_ask,
                    fields.callback.as_ref().map(TelephoneNumber::as_str),
                    now
                ],
            )
            .map_err(map_sqlite)?;
            let id = BrandId(tx.last_insert_rowid());
            bump_policy(&tx)?;
            tx.commit().map_err(backend)?;
            Ok(Brand {
                id,
                slug,
                customer,
                legal_name: fields.legal_name,
                display_name: fields.display_name,
                call_reasons: fields.call_reasons,
                never_ask: fields.never_ask,
                callback: fields.callback,
                logo: None,
                created_at: now,
                updated_at: now,
            })
        })
        .await
    }

    async fn update_brand(
        &self,
        id: BrandId,
        fields: &BrandFields,
        now: i64,
    ) -> Result<Brand, StoreError> {
        let fields = fields.clone();
        let reasons = to_json(&fields.call_reasons)?;
        let never_ask = to_json(&fields.never_ask)?;
        self.try_run(move |c| {
            let tx = write_tx(c)?;
            let n = tx
                .execute(
                    "UPDATE brands SET legal_name = ?2, display_name = ?3, call_reasons = ?4, \
                     never_ask = ?5, callback = ?6, updated_at = ?7 WHERE id = ?1",
                    params![
                        id.0,
                        fields.legal_name,
                        fields.display_name,
                        reasons,
                        never_ask,
                        fields.callback.as_ref().map(TelephoneNumber::as_str),
                        now
                    ],
                )
                .map_err(map_sqlite)?;
            if n == 0 {
                return Err(brand_not_found(id));
            }
            let brand = query_brands(&tx, " WHERE b.id = ?1", [id.0])?
                .pop()
                .ok_or_else(|| brand_not_found(id))?;
            bump_policy(&tx)?;
            tx.commit().map_err(backend)?;
            Ok(brand)
        })
        .await
    }

    async fn brand_by_slug(&self, slug: &str) -> Result<Option<Brand>, StoreError> {
        let slug = slug.to_owned();
        self.try_run(move |c| Ok(query_brands(c, " WHERE b.slug = ?1", [slug])?.pop()))
            .await
    }

    async fn brands(&self) -> Result<Vec<Brand>, StoreError> {
        self.try_run(|c| query_brands(c, " ORDER BY b.id", []))
            .await
    }

    async fn set_brand_logo(
        &self,
        id: BrandId,
        content_type: &str,
        digest: &str,
        bytes: &[u8],
        now: i64,
    ) -> Result<LogoMeta, StoreError> {
        let meta = LogoMeta {
            content_type: content_type.to_owned(),
            digest: digest.to_owned(),
            len: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
            updated_at: now,
        };
        let bytes = bytes.to_vec();
        self.try_run(move |c| {
            let tx = write_tx(c)?;
            require_brand(&tx, id)?;
            tx.execute(
                "INSERT INTO brand_logos (brand_id, content_type, digest, len, updated_at, bytes) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (brand_id) DO UPDATE SET \
                 content_type = excluded.content_type, digest = excluded.digest, \
                 len = excluded.len, updated_at = excluded.updated_at, bytes = excluded.bytes",
                params![
                    id.0,
                    meta.content_type,
                    meta.digest,
                    to_i64(meta.len),
                    meta.updated_at,
                    bytes
                ],
            )
            .map_err(map_sqlite)?;
            bump_policy(&tx)?;
            tx.commit().map_err(backend)?;
            Ok(meta)
        })
        .await
    }

    async fn brand_logo(&self, id: BrandId) -> Result<Option<(LogoMeta, Vec<u8>)>, StoreError> {
        self.try_run(move |c| {
            let row: Option<(String, String, i64, i64, Vec<u8>)> = c
                .query_row(
                    "SELECT content_type, digest, len, updated_at, bytes FROM brand_logos \
                     WHERE brand_id = ?1",
                    [id.0],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()
                .map_err(backend)?;
            row.map(|(content_type, digest, len, updated_at, bytes)| {
                let len = u64::try_from(len).map_err(backend)?;
                Ok((
                    LogoMeta {
                        content_type,
                        digest,
                        len,
                        updated_at,
                    },
                    bytes,
                ))
            })
            .transpose()
        })
        .await
    }

    async fn add_brand_numbers(
        &self,
        id: BrandId,
        kind: BrandNumberKind,
        blocks: &[NumberBlock],
    ) -> Result<(), StoreError> {
        check_disjoint(blocks)?;
        let blocks = blocks.to_vec();
        self.try_run(move |c| {
            let tx = write_tx(c)?;
            require_brand(&tx, id)?;
            {
                // Stored brand blocks are disjoint: only the one with the greatest first number
                // at or below the new block's last can overlap it.
                let mut probe = tx
                    .prepare_cached(
                        "SELECT start, count, brand_id, last FROM brand_numbers \
                         WHERE digits = ?1 AND first <= ?2 ORDER BY first DESC LIMIT 1",
                    )
                    .map_err(backend)?;
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO brand_numbers (digits, first, last, start, count, brand_id, \
                         kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )
                    .map_err(backend)?;
                for b in &blocks {
                    let digits = to_i64(b.digits() as u64);
                    let hit: Option<(String, i64, i64, i64)> = probe
                        .query_row(params![digits, to_i64(b.last_value())], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                        })
                        .optional()
                        .map_err(backend)?;
                    if let Some((start, count, owner, last)) = hit
                        && last >= to_i64(b.first_value())
                    {
                        return Err(brand_overlap(b, &start, count, owner));
                    }
                    insert
                        .execute(params![
                            digits,
                            to_i64(b.first_value()),
                            to_i64(b.last_value()),
                            b.start().as_str(),
                            to_i64(b.count()),
                            id.0,
                            kind.as_str()
                        ])
                        .map_err(map_sqlite)?;
                }
            }
            bump_policy(&tx)?;
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn remove_brand_numbers(
        &self,
        id: BrandId,
        kind: BrandNumberKind,
        blocks: &[NumberBlock],
    ) -> Result<u64, StoreError> {
        let blocks = blocks.to_vec();
        self.try_run(move |c| {
            let tx = write_tx(c)?;
            let mut removed = 0u64;
            {
                let mut del = tx
                    .prepare_cached(
                        "DELETE FROM brand_numbers WHERE digits = ?1 AND first = ?2 AND count = ?3 \
                         AND brand_id = ?4 AND kind = ?5",
                    )
                    .map_err(backend)?;
                for b in &blocks {
                    let n = del
                        .execute(params![
                            to_i64(b.digits() as u64),
                            to_i64(b.first_value()),
                            to_i64(b.count()),
                            id.0,
                            kind.as_str()
                        ])
                        .map_err(backend)?;
                    if n == 0 {
                        // All or none: dropping the transaction rolls back what went before.
                        return Err(StoreError::NotFound {
                            what: "brand number block",
                            key: b.to_string(),
                        });
                    }
                    removed += n as u64;
                }
            }
            bump_policy(&tx)?;
            tx.commit().map_err(backend)?;
            Ok(removed)
        })
        .await
    }

    async fn create_partner(&self, partner: &NewPartner, now: i64) -> Result<Partner, StoreError> {
        check_disjoint(&partner.numbers)?;
        let p = partner.clone();
        let reasons = to_json(&p.reasons)?;
        self.try_run(move |c| {
            let tx = write_tx(c)?;
            require_brand(&tx, p.brand)?;
            require_customer(&tx, p.customer)?;
            {
                let mut probe = tx.prepare_cached(COVER_PROBE).map_err(backend)?;
                for b in &p.numbers {
                    let found = probe
                        .query_map(
                            params![
                                to_i64(b.digits() as u64),
                                to_i64(b.first_value()),
                                to_i64(b.last_value())
                            ],
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                        )
                        .map_err(backend)?
                        .collect::<rusqlite::Result<Vec<_>>>()
                        .map_err(backend)?;
                    if !covers(&found, p.brand, b) {
                        return Err(not_listed(p.brand, b));
                    }
                }
            }
            tx.execute(
                "INSERT INTO partners (brand_id, customer_id, reasons, valid_from, valid_until, \
                 created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    p.brand.0,
                    p.customer.0,
                    reasons,
                    p.valid_from,
                    p.valid_until,
                    now
                ],
            )
            .map_err(map_sqlite)?;
            let id = PartnerId(tx.last_insert_rowid());
            {
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO partner_numbers (partner_id, pos, start, count) \
                         VALUES (?1, ?2, ?3, ?4)",
                    )
                    .map_err(backend)?;
                for (pos, b) in p.numbers.iter().enumerate() {
                    insert
                        .execute(params![
                            id.0,
                            to_i64(pos as u64),
                            b.start().as_str(),
                            to_i64(b.count())
                        ])
                        .map_err(map_sqlite)?;
                }
            }
            bump_policy(&tx)?;
            tx.commit().map_err(backend)?;
            Ok(Partner {
                id,
                brand: p.brand,
                customer: p.customer,
                numbers: p.numbers,
                reasons: p.reasons,
                valid_from: p.valid_from,
                valid_until: p.valid_until,
                revoked_at: None,
                created_at: now,
            })
        })
        .await
    }

    async fn revoke_partner(
        &self,
        brand: BrandId,
        id: PartnerId,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.try_run(move |c| {
            let tx = write_tx(c)?;
            let n = tx
                .execute(
                    "UPDATE partners SET revoked_at = ?1 \
                     WHERE id = ?2 AND brand_id = ?3 AND revoked_at IS NULL",
                    params![now, id.0, brand.0],
                )
                .map_err(backend)?;
            if n > 0 {
                bump_policy(&tx)?;
            }
            tx.commit().map_err(backend)?;
            Ok(n > 0)
        })
        .await
    }

    async fn partners(&self, brand: BrandId) -> Result<Vec<Partner>, StoreError> {
        self.try_run(move |c| {
            let tx = c.transaction().map_err(backend)?;
            read_partners(&tx, Some(brand))
        })
        .await
    }

    async fn replace_dno(&self, blocks: &[NumberBlock]) -> Result<u64, StoreError> {
        check_disjoint(blocks)?;
        let blocks = blocks.to_vec();
        self.try_run(move |c| {
            let tx = write_tx(c)?;
            tx.execute("DELETE FROM dno_blocks", []).map_err(backend)?;
            {
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO dno_blocks (digits, first, last, start, count) \
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )
                    .map_err(backend)?;
                for b in &blocks {
                    insert
                        .execute(params![
                            to_i64(b.digits() as u64),
                            to_i64(b.first_value()),
                            to_i64(b.last_value()),
                            b.start().as_str(),
                            to_i64(b.count())
                        ])
                        .map_err(map_sqlite)?;
                }
            }
            bump_policy(&tx)?;
            tx.commit().map_err(backend)?;
            Ok(blocks.len() as u64)
        })
        .await
    }

    async fn brand_policy(&self) -> Result<BrandPolicy, StoreError> {
        self.try_run(|c| {
            // One read transaction: a consistent snapshot with its version.
            let tx = c.transaction().map_err(backend)?;
            let version = tx
                .query_row("SELECT version FROM policy_meta WHERE id = 1", [], |r| {
                    r.get(0)
                })
                .map_err(backend)?;
            let brands = query_brands(&tx, " ORDER BY b.id", [])?;
            let blocks = {
                let mut s = tx
                    .prepare(
                        "SELECT brand_id, kind, start, count FROM brand_numbers \
                         ORDER BY digits, first",
                    )
                    .map_err(backend)?;
                let rows = s
                    .query_map([], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, i64>(3)?,
                        ))
                    })
                    .map_err(backend)?;
                let mut out = Vec::new();
                for row in rows {
                    let (brand, kind, start, count) = row.map_err(backend)?;
                    out.push(BrandBlock {
                        brand: BrandId(brand),
                        kind: stored_kind(&kind)?,
                        block: stored_block(&start, count)?,
                    });
                }
                out
            };
            let partners = read_partners(&tx, None)?;
            let dno = {
                let mut s = tx
                    .prepare("SELECT start, count FROM dno_blocks ORDER BY digits, first")
                    .map_err(backend)?;
                let rows = s
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                    .map_err(backend)?;
                let mut out = Vec::new();
                for row in rows {
                    let (start, count) = row.map_err(backend)?;
                    out.push(stored_block(&start, count)?);
                }
                out
            };
            Ok(BrandPolicy {
                version,
                brands,
                blocks,
                partners,
                dno,
            })
        })
        .await
    }

    async fn policy_version(&self) -> Result<i64, StoreError> {
        self.run(|c| {
            c.query_row("SELECT version FROM policy_meta WHERE id = 1", [], |r| {
                r.get(0)
            })
        })
        .await
    }

    async fn set_opt_outs(
        &self,
        brand: BrandId,
        tns: &[TelephoneNumber],
        opted_out: bool,
        source: &str,
        now: i64,
    ) -> Result<u64, StoreError> {
        let tns = distinct_tns(tns);
        let source = source.to_owned();
        self.try_run(move |c| {
            // One writer at a time on the one connection: `seq` follows commit order.
            let tx = write_tx(c)?;
            require_brand(&tx, brand)?;
            let mut changed = 0u64;
            {
                let mut opt_out = tx
                    .prepare_cached(
                        "INSERT INTO opt_outs (brand_id, tn, at) VALUES (?1, ?2, ?3) \
                         ON CONFLICT (brand_id, tn) DO NOTHING",
                    )
                    .map_err(backend)?;
                let mut opt_in = tx
                    .prepare_cached("DELETE FROM opt_outs WHERE brand_id = ?1 AND tn = ?2")
                    .map_err(backend)?;
                let mut log = tx
                    .prepare_cached(
                        "INSERT INTO opt_out_log (brand_id, tn, opted_out, source, at) \
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )
                    .map_err(backend)?;
                for tn in &tns {
                    let n = if opted_out {
                        opt_out.execute(params![brand.0, tn.as_str(), now])
                    } else {
                        opt_in.execute(params![brand.0, tn.as_str()])
                    }
                    .map_err(map_sqlite)?;
                    if n > 0 {
                        log.execute(params![brand.0, tn.as_str(), opted_out, source, now])
                            .map_err(map_sqlite)?;
                        changed += 1;
                    }
                }
            }
            tx.commit().map_err(backend)?;
            Ok(changed)
        })
        .await
    }

    async fn opt_out_changes(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<OptOutChange>, StoreError> {
        self.try_run(move |c| {
            let mut s = c
                .prepare_cached(
                    "SELECT seq, brand_id, tn, opted_out, source, at FROM opt_out_log \
                     WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                )
                .map_err(backend)?;
            let rows = s
                .query_map(params![after_seq, i64::from(limit)], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, bool>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                })
                .map_err(backend)?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, brand, tn, opted_out, source, at) = row.map_err(backend)?;
                out.push(OptOutChange {
                    seq,
                    brand: BrandId(brand),
                    tn: stored_tn(&tn)?,
                    opted_out,
                    source,
                    at,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn is_opted_out(&self, brand: BrandId, tn: &TelephoneNumber) -> Result<bool, StoreError> {
        let tn = *tn;
        self.run(move |c| {
            c.query_row(
                "SELECT 1 FROM opt_outs WHERE brand_id = ?1 AND tn = ?2",
                params![brand.0, tn.as_str()],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
        })
        .await
    }

    async fn record_brand_event(
        &self,
        brand: BrandId,
        kind: &str,
        detail: &serde_json::Value,
        now: i64,
    ) -> Result<BrandEvent, StoreError> {
        let kind = kind.to_owned();
        let detail = detail.clone();
        let json = to_json(&detail)?;
        self.try_run(move |c| {
            let tx = write_tx(c)?;
            require_brand(&tx, brand)?;
            tx.execute(
                "INSERT INTO brand_events (brand_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
                params![brand.0, now, kind, json],
            )
            .map_err(map_sqlite)?;
            let seq = tx.last_insert_rowid();
            tx.commit().map_err(backend)?;
            Ok(BrandEvent {
                seq,
                brand,
                at: now,
                kind,
                detail,
            })
        })
        .await
    }

    async fn brand_events(
        &self,
        brand: BrandId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<BrandEvent>, StoreError> {
        self.try_run(move |c| {
            let mut s = c
                .prepare_cached(
                    "SELECT seq, at, kind, detail FROM brand_events \
                     WHERE brand_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
                )
                .map_err(backend)?;
            let rows = s
                .query_map(
                    params![brand.0, before.unwrap_or(i64::MAX), i64::from(limit)],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                        ))
                    },
                )
                .map_err(backend)?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, at, kind, detail) = row.map_err(backend)?;
                out.push(BrandEvent {
                    seq,
                    brand,
                    at,
                    kind,
                    detail: from_json("event detail", &detail)?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn record_calls(&self, calls: &[NewCall]) -> Result<Vec<CallId>, StoreError> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        check_batch_codes(calls)?;
        let calls = calls.to_vec();
        self.try_run(move |c| {
            let tx = write_tx(c)?;
            let (brands, partners) = referenced(&calls);
            for brand in brands {
                require_brand(&tx, brand)?;
            }
            let mut ids = Vec::with_capacity(calls.len());
            {
                let mut partner_brand = tx
                    .prepare_cached("SELECT brand_id FROM partners WHERE id = ?1")
                    .map_err(backend)?;
                for (partner, brand) in partners {
                    let of: Option<i64> = partner_brand
                        .query_row([partner.0], |r| r.get(0))
                        .optional()
                        .map_err(backend)?;
                    if of != Some(brand.0) {
                        return Err(partner_not_found(partner, brand));
                    }
                }
                // Earlier calls of the batch are inserted by the time a later one is checked,
                // so this sees them too.
                let mut held = tx.prepare_cached(CODE_HELD).map_err(backend)?;
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO calls (brand_id, partner_id, calling, called, reason, \
                         agent_ref, agent_name, source, started_at, code_digest, \
                         code_expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    )
                    .map_err(backend)?;
                for (i, call) in calls.iter().enumerate() {
                    if let Some(code) = &call.code
                        && held
                            .exists(params![call.brand.0, code.digest, call.started_at])
                            .map_err(backend)?
                    {
                        return Err(code_conflict(i, call.brand));
                    }
                    let id = insert
                        .insert(params![
                            call.brand.0,
                            call.partner.map(|p| p.0),
                            call.calling.as_str(),
                            call.called.as_str(),
                            call.reason,
                            call.agent_ref,
                            call.agent_name,
                            call.source.as_str(),
                            call.started_at,
                            call.code.as_ref().map(|k| k.digest.as_str()),
                            call.code.as_ref().map(|k| k.expires_at),
                        ])
                        .map_err(map_sqlite)?;
                    ids.push(CallId(id));
                }
            }
            tx.commit().map_err(backend)?;
            Ok(ids)
        })
        .await
    }

    async fn call(&self, brand: BrandId, id: CallId) -> Result<Option<CallRecord>, StoreError> {
        self.try_run(move |c| {
            c.prepare_cached(concat!(
                "SELECT ",
                call_columns!(),
                " FROM calls WHERE id = ?1 AND brand_id = ?2"
            ))
            .map_err(backend)?
            .query_row(params![id.0, brand.0], call_row)
            .optional()
            .map_err(backend)?
            .map(CallRow::into_record)
            .transpose()
        })
        .await
    }

    async fn end_call(
        &self,
        brand: BrandId,
        id: CallId,
        now: i64,
    ) -> Result<CallRecord, StoreError> {
        self.try_run(move |c| {
            // One statement, so atomic on its own: the first end stays.
            c.prepare_cached(concat!(
                "UPDATE calls SET ended_at = COALESCE(ended_at, ?3) \
                 WHERE id = ?1 AND brand_id = ?2 RETURNING ",
                call_columns!()
            ))
            .map_err(backend)?
            .query_row(params![id.0, brand.0, now], call_row)
            .optional()
            .map_err(map_sqlite)?
            .ok_or_else(|| call_not_found(brand, id))?
            .into_record()
        })
        .await
    }

    async fn calls_to(
        &self,
        brand: BrandId,
        called: &TelephoneNumber,
        since: i64,
        limit: u32,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let called = *called;
        self.try_run(move |c| {
            let mut s = c
                .prepare_cached(concat!(
                    "SELECT ",
                    call_columns!(),
                    " FROM calls WHERE brand_id = ?1 AND called = ?2 AND started_at >= ?3 \
                     ORDER BY started_at DESC, id DESC LIMIT ?4"
                ))
                .map_err(backend)?;
            let rows = s
                .query_map(
                    params![brand.0, called.as_str(), since, i64::from(limit)],
                    call_row,
                )
                .map_err(backend)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row.map_err(backend)?.into_record()?);
            }
            Ok(out)
        })
        .await
    }

    async fn redeem_code(
        &self,
        brand: BrandId,
        digest: &str,
        now: i64,
    ) -> Result<Option<CallRecord>, StoreError> {
        let digest = digest.to_owned();
        self.try_run(move |c| {
            // One statement on the one connection: a second use finds the code used.
            c.prepare_cached(REDEEM)
                .map_err(backend)?
                .query_row(params![brand.0, digest, now], call_row)
                .optional()
                .map_err(map_sqlite)?
                .map(CallRow::into_record)
                .transpose()
        })
        .await
    }

    async fn purge_calls(&self, before: i64) -> Result<u64, StoreError> {
        self.run(move |c| {
            c.prepare_cached("DELETE FROM calls WHERE started_at < ?1")?
                .execute([before])
                .map(|n| n as u64)
        })
        .await
    }

    async fn create_report(&self, report: &NewReport) -> Result<(Report, bool), StoreError> {
        let r = report.clone();
        let asked = asked_to_string(&r.asked);
        self.try_run(move |c| {
            let tx = write_tx(c)?;
            if let Some(brand) = r.brand {
                require_brand(&tx, brand)?;
            }
            let n = tx
                .prepare_cached(
                    "INSERT INTO reports (brand_id, claimed_brand, calling, called, call_at, \
                     asked, text, channel, idempotency_key, received_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
                     ON CONFLICT (idempotency_key) DO NOTHING",
                )
                .map_err(backend)?
                .execute(params![
                    r.brand.map(|b| b.0),
                    r.claimed_brand,
                    r.calling.as_ref().map(TelephoneNumber::as_str),
                    r.called.as_ref().map(TelephoneNumber::as_str),
                    r.call_at,
                    asked,
                    r.text,
                    r.channel.as_str(),
                    r.idempotency_key,
                    r.received_at,
                ])
                .map_err(map_sqlite)?;
            if n == 0 {
                // Only a used idempotency key makes the insert do nothing.
                let first = tx
                    .prepare_cached(concat!(
                        "SELECT ",
                        report_columns!(),
                        " FROM reports WHERE idempotency_key = ?1"
                    ))
                    .map_err(backend)?
                    .query_row([&r.idempotency_key], report_row)
                    .map_err(backend)?
                    .into_report()?;
                tx.commit().map_err(backend)?;
                return Ok((first, false));
            }
            let id = ReportId(tx.last_insert_rowid());
            tx.commit().map_err(backend)?;
            Ok((new_report(id, r), true))
        })
        .await
    }

    async fn reports(
        &self,
        brand: Option<BrandId>,
        before: Option<ReportId>,
        limit: u32,
    ) -> Result<Vec<Report>, StoreError> {
        self.try_run(move |c| {
            let before = before.map_or(i64::MAX, |r| r.0);
            let limit = i64::from(limit);
            let mut s;
            let rows = match brand {
                Some(brand) => {
                    s = c
                        .prepare_cached(concat!(
                            "SELECT ",
                            report_columns!(),
                            " FROM reports WHERE brand_id = ?1 AND id < ?2 \
                             ORDER BY id DESC LIMIT ?3"
                        ))
                        .map_err(backend)?;
                    s.query_map(params![brand.0, before, limit], report_row)
                }
                None => {
                    s = c
                        .prepare_cached(concat!(
                            "SELECT ",
                            report_columns!(),
                            " FROM reports WHERE id < ?1 ORDER BY id DESC LIMIT ?2"
                        ))
                        .map_err(backend)?;
                    s.query_map(params![before, limit], report_row)
                }
            }
            .map_err(backend)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row.map_err(backend)?.into_report()?);
            }
            Ok(out)
        })
        .await
    }

    async fn reports_after(&self, after: ReportId, limit: u32) -> Result<Vec<Report>, StoreError> {
        // Writes are serialised on the one connection and each commits before the next
        // starts, so ids (AUTOINCREMENT: never reused) are drawn in commit order.
        self.try_run(move |c| {
            let mut s = c
                .prepare_cached(concat!(
                    "SELECT ",
                    report_columns!(),
                    " FROM reports WHERE id > ?1 ORDER BY id LIMIT ?2"
                ))
                .map_err(backend)?;
            let rows = s
                .query_map(params![after.0, i64::from(limit)], report_row)
                .map_err(backend)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row.map_err(backend)?.into_report()?);
            }
            Ok(out)
        })
        .await
    }

    async fn report(&self, id: ReportId) -> Result<Option<Report>, StoreError> {
        self.try_run(move |c| {
            c.prepare_cached(concat!(
                "SELECT ",
                report_columns!(),
                " FROM reports WHERE id = ?1"
            ))
            .map_err(backend)?
            .query_row([id.0], report_row)
            .optional()
            .map_err(backend)?
            .map(ReportRow::into_report)
            .transpose()
        })
        .await
    }

    async fn purge_reports(&self, received_before: i64) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            // One batch per turn on the connection: other writes go in between.
            let n = self
                .run(move |c| {
                    c.prepare_cached(
                        "DELETE FROM reports WHERE id IN (SELECT id FROM reports \
                         WHERE received_at < ?1 ORDER BY id LIMIT ?2)",
                    )?
                    .execute(params![received_before, PURGE_BATCH])
                    .map(|n| n as u64)
                })
                .await?;
            total += n;
            if n < PURGE_BATCH.unsigned_abs() {
                return Ok(total);
            }
        }
    }
}

/// Whether a brand's call holds a code digest unused and unexpired at a time (brand, digest,
/// time).
const CODE_HELD: &str = "SELECT 1 FROM calls WHERE brand_id = ?1 AND code_digest = ?2 \
     AND code_used_at IS NULL AND code_expires_at > ?3";

/// Uses a code (brand, digest, now): marks the brand's call holding it unused and unexpired
/// used and returns it. Should more than one call hold it (a call recorded with a future
/// start), the latest to have started by now is used.
const REDEEM: &str = concat!(
    "UPDATE calls SET code_used_at = ?3 WHERE code_used_at IS NULL AND id = (\
     SELECT id FROM calls WHERE brand_id = ?1 AND code_digest = ?2 \
     AND code_used_at IS NULL AND code_expires_at > ?3 \
     ORDER BY started_at > ?3, started_at DESC, id DESC LIMIT 1) RETURNING ",
    call_columns!()
);

fn call_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CallRow> {
    Ok(CallRow {
        id: r.get(0)?,
        brand: r.get(1)?,
        partner: r.get(2)?,
        calling: r.get(3)?,
        called: r.get(4)?,
        reason: r.get(5)?,
        agent_ref: r.get(6)?,
        agent_name: r.get(7)?,
        source: r.get(8)?,
        started_at: r.get(9)?,
        ended_at: r.get(10)?,
        code_expires_at: r.get(11)?,
        code_used_at: r.get(12)?,
    })
}

fn report_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReportRow> {
    Ok(ReportRow {
        id: r.get(0)?,
        brand: r.get(1)?,
        claimed_brand: r.get(2)?,
        calling: r.get(3)?,
        called: r.get(4)?,
        call_at: r.get(5)?,
        asked: r.get(6)?,
        text: r.get(7)?,
        channel: r.get(8)?,
        received_at: r.get(9)?,
    })
}

/// The stored brand blocks that can share a number with a block (digits, the block's first
/// number, its last), by first number: stored blocks are disjoint, so they start at the one
/// with the greatest first number at or below the block's first.
const COVER_PROBE: &str = "SELECT brand_id, kind, first, last FROM brand_numbers WHERE digits = ?1 \
     AND first <= ?3 AND first >= COALESCE((SELECT first FROM brand_numbers \
     WHERE digits = ?1 AND first <= ?2 ORDER BY first DESC LIMIT 1), ?2) ORDER BY first";

/// Starts a write transaction, taking SQLite's write lock at once.
fn write_tx(c: &mut Connection) -> Result<rusqlite::Transaction<'_>, StoreError> {
    c.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)
}

fn bump_policy(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE policy_meta SET version = version + 1 WHERE id = 1",
        [],
    )
    .map(|_| ())
    .map_err(backend)
}

fn require_brand(tx: &rusqlite::Transaction<'_>, id: BrandId) -> Result<(), StoreError> {
    let found: Option<i64> = tx
        .prepare_cached("SELECT id FROM brands WHERE id = ?1")
        .map_err(backend)?
        .query_row([id.0], |r| r.get(0))
        .optional()
        .map_err(backend)?;
    found.map(|_| ()).ok_or_else(|| brand_not_found(id))
}

/// Brands matching `tail` (a `WHERE` and/or `ORDER BY` clause), with their logos' metadata.
fn query_brands<P: rusqlite::Params>(
    c: &Connection,
    tail: &str,
    params: P,
) -> Result<Vec<Brand>, StoreError> {
    let mut s = c
        .prepare_cached(&format!("{BRAND_SELECT}{tail}"))
        .map_err(backend)?;
    let rows = s
        .query_map(params, |r| {
            let logo = match r.get::<_, Option<String>>(10)? {
                Some(content_type) => Some((content_type, r.get(11)?, r.get(12)?, r.get(13)?)),
                None => None,
            };
            Ok(BrandRow {
                id: r.get(0)?,
                slug: r.get(1)?,
                customer: r.get(2)?,
                legal_name: r.get(3)?,
                display_name: r.get(4)?,
                call_reasons: r.get(5)?,
                never_ask: r.get(6)?,
                callback: r.get(7)?,
                created_at: r.get(8)?,
                updated_at: r.get(9)?,
                logo,
            })
        })
        .map_err(backend)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row.map_err(backend)?.into_brand()?);
    }
    Ok(out)
}

/// The partners of one brand (`None`: of all brands), by id, with their numbers.
fn read_partners(c: &Connection, brand: Option<BrandId>) -> Result<Vec<Partner>, StoreError> {
    let brand = brand.map(|b| b.0);
    let rows = {
        let mut s = c
            .prepare_cached(&format!(
                "{PARTNER_SELECT} WHERE ?1 IS NULL OR brand_id = ?1 ORDER BY id"
            ))
            .map_err(backend)?;
        let rows = s
            .query_map([brand], |r| {
                Ok(PartnerRow {
                    id: r.get(0)?,
                    brand: r.get(1)?,
                    customer: r.get(2)?,
                    reasons: r.get(3)?,
                    valid_from: r.get(4)?,
                    valid_until: r.get(5)?,
                    revoked_at: r.get(6)?,
                    created_at: r.get(7)?,
                })
            })
            .map_err(backend)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(backend)?
    };
    let numbers = {
        let mut s = c
            .prepare_cached(
                "SELECT n.partner_id, n.start, n.count FROM partner_numbers n \
                 JOIN partners p ON p.id = n.partner_id \
                 WHERE ?1 IS NULL OR p.brand_id = ?1 ORDER BY n.partner_id, n.pos",
            )
            .map_err(backend)?;
        let rows = s
            .query_map([brand], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(backend)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(backend)?
    };
    assemble_partners(rows, numbers)
}

/// Rebuilds a stored idempotency record, refusing a status that is not an HTTP status.
pub(crate) fn idempotency_record(
    (request_hash, status, body, created_at): (String, i64, String, i64),
) -> Result<IdempotencyRecord, StoreError> {
    let status = u16::try_from(status)
        .ok()
        .filter(|s| (100..=599).contains(s))
        .ok_or_else(|| StoreError::Backend {
            detail: format!("stored idempotency record has status {status}"),
        })?;
    Ok(IdempotencyRecord {
        request_hash,
        status,
        body,
        created_at,
    })
}

fn require_customer(
    tx: &rusqlite::Transaction<'_>,
    customer: CustomerId,
) -> Result<(), StoreError> {
    let found: Option<i64> = tx
        .query_row(
            "SELECT id FROM customers WHERE id = ?1",
            [customer.0],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?;
    found.map(|_| ()).ok_or(StoreError::NotFound {
        what: "customer",
        key: customer.to_string(),
    })
}

/// Rebuilds a stored block, refusing rows that no longer make a valid block.
pub(crate) fn owned_block(
    customer: i64,
    start: &str,
    count: i64,
) -> Result<OwnedBlock, StoreError> {
    let corrupt = |why: String| StoreError::Backend {
        detail: format!("stored number block {start}+{count}: {why}"),
    };
    let tn = TelephoneNumber::from_canonical(start).map_err(|e| corrupt(e.to_string()))?;
    let count = u64::try_from(count).map_err(|e| corrupt(e.to_string()))?;
    let block = NumberBlock::new(tn, count).map_err(|e| corrupt(e.to_string()))?;
    Ok(OwnedBlock {
        customer: CustomerId(customer),
        block,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database written by the first release (migration 1 only) gains the idempotency
    /// table at the next start and keeps its inventory.
    #[tokio::test]
    async fn a_version_1_database_is_upgraded_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY);
                 INSERT INTO schema_migrations (version) VALUES (1);",
            )
            .unwrap();
            c.execute_batch(MIGRATIONS[0].sqlite).unwrap();
            c.execute(
                "INSERT INTO customers (name, origid) VALUES ('Acme', 'o')",
                [],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(store.inventory().await.unwrap().customers.len(), 1);
        store
            .idempotency_put("k", "h", 201, "{}", 1_000)
            .await
            .unwrap();
        assert!(store.idempotency_get("k", 1_001).await.unwrap().is_some());
        drop(store);
        // Opening again applies nothing twice.
        let store = SqliteStore::open(&path).await.unwrap();
        let versions = store
            .run(|c| {
                let mut s = c.prepare("SELECT version FROM schema_migrations ORDER BY version")?;
                s.query_map([], |r| r.get::<_, i64>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .await
            .unwrap();
        let all: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(versions, all);
        assert_eq!(all, (1..=5).collect::<Vec<i64>>());
    }
}
