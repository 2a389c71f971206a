//! The embedded backend: one SQLite file in WAL mode with `synchronous=FULL`, so a write
//! acknowledged is on disk. Calls run on tokio's blocking pool; one connection serialises
//! writes, as SQLite does anyway.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use passport::TelephoneNumber;
use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};

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
        assert_eq!(versions, vec![1, 2]);
    }
}
