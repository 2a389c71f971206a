//! The shared backend: PostgreSQL through a `deadpool-postgres` pool. Inventory writes take
//! a transaction-scoped advisory lock, so concurrent nodes cannot both pass the overlap
//! check for the same numbers.

use std::str::FromStr as _;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use crate::model::{
    ApiKeyRecord, Customer, CustomerId, IDEMPOTENCY_TTL_SECS, IdempotencyRecord, Inventory,
    NumberBlock, Trunk,
};
use crate::schema::MIGRATIONS;
use crate::sqlite::{idempotency_record, owned_block};
use crate::{
    NewApiKey, Store, StoreError, check_disjoint, new_uuid, scopes_from_string, scopes_to_string,
};

/// Advisory-lock key for inventory writes and migrations ("cpinv").
const INVENTORY_LOCK: i64 = 0x0063_7069_6e76;

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("status", &self.pool.status())
            .finish()
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend {
        detail: e.to_string(),
    }
}

fn map_pg(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error()
        && db.code() == &tokio_postgres::error::SqlState::UNIQUE_VIOLATION
    {
        return StoreError::Conflict {
            what: "row",
            detail: db.message().to_owned(),
        };
    }
    if let Some(db) = e.as_db_error() {
        return StoreError::Backend {
            detail: format!("{}: {}", db.code().code(), db.message()),
        };
    }
    backend(e)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl PgStore {
    /// Connects to `url` (e.g. `postgres://user@host/db`), optionally in `schema` (created if
    /// missing; tests use one schema each), and applies migrations.
    pub async fn connect(
        url: &str,
        schema: Option<&str>,
        max_connections: usize,
    ) -> Result<Self, StoreError> {
        let mut config = tokio_postgres::Config::from_str(url).map_err(backend)?;
        if let Some(schema) = schema {
            if !schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(StoreError::Backend {
                    detail: format!("invalid schema name {schema:?}"),
                });
            }
            let (client, conn) = config.connect(NoTls).await.map_err(map_pg)?;
            let task = tokio::spawn(conn);
            client
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .await
                .map_err(map_pg)?;
            drop(client);
            let _ = task.await;
            config.options(format!("-c search_path={schema}"));
        }
        config.connect_timeout(std::time::Duration::from_secs(5));
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max_connections.max(1))
            .wait_timeout(Some(std::time::Duration::from_secs(5)))
            .create_timeout(Some(std::time::Duration::from_secs(5)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(backend)?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(backend)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&INVENTORY_LOCK])
            .await
            .map_err(map_pg)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)",
        )
        .await
        .map_err(map_pg)?;
        for m in MIGRATIONS {
            let done = tx
                .query_opt(
                    "SELECT version FROM schema_migrations WHERE version = $1",
                    &[&m.version],
                )
                .await
                .map_err(map_pg)?;
            if done.is_none() {
                tx.batch_execute(m.postgres).await.map_err(map_pg)?;
                tx.execute(
                    "INSERT INTO schema_migrations (version) VALUES ($1)",
                    &[&m.version],
                )
                .await
                .map_err(map_pg)?;
            }
        }
        tx.commit().await.map_err(map_pg)
    }
}

async fn write_tx(
    client: &mut deadpool_postgres::Object,
) -> Result<deadpool_postgres::Transaction<'_>, StoreError> {
    let tx = client.transaction().await.map_err(map_pg)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&INVENTORY_LOCK])
        .await
        .map_err(map_pg)?;
    Ok(tx)
}

async fn bump(tx: &deadpool_postgres::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute("UPDATE meta SET version = version + 1 WHERE id = 1", &[])
        .await
        .map_err(map_pg)
        .map(|_| ())
}

async fn require_customer(
    tx: &deadpool_postgres::Transaction<'_>,
    customer: CustomerId,
) -> Result<(), StoreError> {
    let row = tx
        .query_opt("SELECT id FROM customers WHERE id = $1", &[&customer.0])
        .await
        .map_err(map_pg)?;
    row.map(|_| ()).ok_or(StoreError::NotFound {
        what: "customer",
        key: customer.to_string(),
    })
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute("SELECT 1", &[])
            .await
            .map_err(map_pg)
            .map(|_| ())
    }

    async fn create_customer(
        &self,
        name: &str,
        origid: Option<&str>,
    ) -> Result<Customer, StoreError> {
        let origid = origid.map_or_else(new_uuid, str::to_owned);
        let mut client = self.client().await?;
        let tx = write_tx(&mut client).await?;
        if tx
            .query_opt("SELECT id FROM customers WHERE name = $1", &[&name])
            .await
            .map_err(map_pg)?
            .is_some()
        {
            return Err(StoreError::Conflict {
                what: "customer",
                detail: format!("name {name:?} is taken"),
            });
        }
        let row = tx
            .query_one(
                "INSERT INTO customers (name, origid) VALUES ($1, $2) RETURNING id",
                &[&name, &origid],
            )
            .await
            .map_err(map_pg)?;
        let id = CustomerId(row.try_get(0).map_err(map_pg)?);
        bump(&tx).await?;
        tx.commit().await.map_err(map_pg)?;
        Ok(Customer {
            id,
            name: name.to_owned(),
            origid,
        })
    }

    async fn customer_by_name(&self, name: &str) -> Result<Option<Customer>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT id, name, origid FROM customers WHERE name = $1",
                &[&name],
            )
            .await
            .map_err(map_pg)?;
        row.map(|r| {
            Ok(Customer {
                id: CustomerId(r.try_get(0).map_err(map_pg)?),
                name: r.try_get(1).map_err(map_pg)?,
                origid: r.try_get(2).map_err(map_pg)?,
            })
        })
        .transpose()
    }

    async fn add_trunk(&self, customer: CustomerId, cidr: &str) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = write_tx(&mut client).await?;
        require_customer(&tx, customer).await?;
        tx.execute(
            "INSERT INTO trunks (customer_id, cidr) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&customer.0, &cidr],
        )
        .await
        .map_err(map_pg)?;
        bump(&tx).await?;
        tx.commit().await.map_err(map_pg)
    }

    async fn add_numbers(
        &self,
        customer: CustomerId,
        blocks: &[NumberBlock],
    ) -> Result<(), StoreError> {
        check_disjoint(blocks)?;
        let mut client = self.client().await?;
        let tx = write_tx(&mut client).await?;
        require_customer(&tx, customer).await?;
        let probe = tx
            .prepare(
                "SELECT start, count, customer_id, last FROM number_blocks \
                 WHERE digits = $1 AND first <= $2 ORDER BY first DESC LIMIT 1",
            )
            .await
            .map_err(map_pg)?;
        let insert = tx
            .prepare(
                "INSERT INTO number_blocks (digits, first, last, start, count, customer_id) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .await
            .map_err(map_pg)?;
        for b in blocks {
            let digits = i32::try_from(b.digits()).unwrap_or(i32::MAX);
            if let Some(row) = tx
                .query_opt(&probe, &[&digits, &to_i64(b.last_value())])
                .await
                .map_err(map_pg)?
            {
                let last: i64 = row.try_get(3).map_err(map_pg)?;
                if last >= to_i64(b.first_value()) {
                    let start: String = row.try_get(0).map_err(map_pg)?;
                    let count: i64 = row.try_get(1).map_err(map_pg)?;
                    let owner: i64 = row.try_get(2).map_err(map_pg)?;
                    return Err(StoreError::Conflict {
                        what: "number block",
                        detail: format!("{b} overlaps {start}+{count} owned by customer {owner}"),
                    });
                }
            }
            tx.execute(
                &insert,
                &[
                    &digits,
                    &to_i64(b.first_value()),
                    &to_i64(b.last_value()),
                    &b.start().as_str(),
                    &to_i64(b.count()),
                    &customer.0,
                ],
            )
            .await
            .map_err(map_pg)?;
        }
        bump(&tx).await?;
        tx.commit().await.map_err(map_pg)
    }

    async fn remove_numbers(
        &self,
        customer: CustomerId,
        blocks: &[NumberBlock],
    ) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let tx = write_tx(&mut client).await?;
        let mut removed = 0;
        for b in blocks {
            let digits = i32::try_from(b.digits()).unwrap_or(i32::MAX);
            let n = tx
                .execute(
                    "DELETE FROM number_blocks WHERE digits = $1 AND first = $2 AND count = $3 AND customer_id = $4",
                    &[&digits, &to_i64(b.first_value()), &to_i64(b.count()), &customer.0],
                )
                .await
                .map_err(map_pg)?;
            if n == 0 {
                // All or none: dropping the transaction rolls back what went before.
                return Err(StoreError::NotFound {
                    what: "number block",
                    key: b.to_string(),
                });
            }
            removed += n;
        }
        bump(&tx).await?;
        tx.commit().await.map_err(map_pg)?;
        Ok(removed)
    }

    async fn create_api_key(&self, key: NewApiKey) -> Result<ApiKeyRecord, StoreError> {
        let mut client = self.client().await?;
        let tx = write_tx(&mut client).await?;
        if let Some(customer) = key.customer {
            require_customer(&tx, customer).await?;
        }
        let customer = key.customer.map(|c| c.0);
        let row = tx
            .query_one(
                "INSERT INTO api_keys (customer_id, name, prefix, hash, scopes) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[&customer, &key.name, &key.prefix, &key.hash, &scopes_to_string(&key.scopes)],
            )
            .await
            .map_err(map_pg)?;
        let id = row.try_get(0).map_err(map_pg)?;
        bump(&tx).await?;
        tx.commit().await.map_err(map_pg)?;
        Ok(ApiKeyRecord {
            id,
            customer: key.customer,
            name: key.name,
            prefix: key.prefix,
            hash: key.hash,
            scopes: key.scopes,
            revoked: false,
        })
    }

    async fn revoke_api_key(&self, id: i64) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = write_tx(&mut client).await?;
        let n = tx
            .execute(
                "UPDATE api_keys SET revoked = TRUE WHERE id = $1 AND NOT revoked",
                &[&id],
            )
            .await
            .map_err(map_pg)?;
        bump(&tx).await?;
        tx.commit().await.map_err(map_pg)?;
        Ok(n > 0)
    }

    async fn inventory(&self) -> Result<Inventory, StoreError> {
        let mut client = self.client().await?;
        // REPEATABLE READ: every query sees the same snapshot as the version read.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(map_pg)?;
        let version: i64 = tx
            .query_one("SELECT version FROM meta WHERE id = 1", &[])
            .await
            .map_err(map_pg)?
            .try_get(0)
            .map_err(map_pg)?;
        let mut customers = Vec::new();
        for r in tx
            .query("SELECT id, name, origid FROM customers ORDER BY id", &[])
            .await
            .map_err(map_pg)?
        {
            customers.push(Customer {
                id: CustomerId(r.try_get(0).map_err(map_pg)?),
                name: r.try_get(1).map_err(map_pg)?,
                origid: r.try_get(2).map_err(map_pg)?,
            });
        }
        let mut trunks = Vec::new();
        for r in tx
            .query(
                "SELECT customer_id, cidr FROM trunks ORDER BY customer_id, cidr",
                &[],
            )
            .await
            .map_err(map_pg)?
        {
            trunks.push(Trunk {
                customer: CustomerId(r.try_get(0).map_err(map_pg)?),
                cidr: r.try_get(1).map_err(map_pg)?,
            });
        }
        let mut blocks = Vec::new();
        for r in tx
            .query(
                "SELECT customer_id, start, count FROM number_blocks ORDER BY digits, first",
                &[],
            )
            .await
            .map_err(map_pg)?
        {
            let start: String = r.try_get(1).map_err(map_pg)?;
            blocks.push(owned_block(
                r.try_get(0).map_err(map_pg)?,
                &start,
                r.try_get(2).map_err(map_pg)?,
            )?);
        }
        let mut api_keys = Vec::new();
        for r in tx
            .query("SELECT id, customer_id, name, prefix, hash, scopes FROM api_keys WHERE NOT revoked ORDER BY id", &[])
            .await
            .map_err(map_pg)?
        {
            let scopes: String = r.try_get(5).map_err(map_pg)?;
            api_keys.push(ApiKeyRecord {
                id: r.try_get(0).map_err(map_pg)?,
                customer: r.try_get::<_, Option<i64>>(1).map_err(map_pg)?.map(CustomerId),
                name: r.try_get(2).map_err(map_pg)?,
                prefix: r.try_get(3).map_err(map_pg)?,
                hash: r.try_get(4).map_err(map_pg)?,
                scopes: scopes_from_string(&scopes),
                revoked: false,
            });
        }
        tx.commit().await.map_err(map_pg)?;
        Ok(Inventory {
            version,
            customers,
            trunks,
            blocks,
            api_keys,
        })
    }

    async fn inventory_version(&self) -> Result<i64, StoreError> {
        self.client()
            .await?
            .query_one("SELECT version FROM meta WHERE id = 1", &[])
            .await
            .map_err(map_pg)?
            .try_get(0)
            .map_err(map_pg)
    }

    async fn idempotency_get(
        &self,
        key: &str,
        now: i64,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT request_hash, status, body, created_at FROM idempotency \
                 WHERE key = $1 AND created_at > $2",
                &[&key, &now.saturating_sub(IDEMPOTENCY_TTL_SECS)],
            )
            .await
            .map_err(map_pg)?;
        row.map(|r| idempotency_row(&r)).transpose()
    }

    async fn idempotency_put(
        &self,
        key: &str,
        request_hash: &str,
        status: u16,
        body: &str,
        now: i64,
    ) -> Result<IdempotencyRecord, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;
        tx.execute(
            "DELETE FROM idempotency WHERE created_at <= $1",
            &[&now.saturating_sub(IDEMPOTENCY_TTL_SECS)],
        )
        .await
        .map_err(map_pg)?;
        // ON CONFLICT waits for a concurrent writer of the same key to finish; the SELECT
        // that follows (a new snapshot at READ COMMITTED) then sees the winner's row.
        tx.execute(
            "INSERT INTO idempotency (key, request_hash, status, body, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO NOTHING",
            &[&key, &request_hash, &i32::from(status), &body, &now],
        )
        .await
        .map_err(map_pg)?;
        let row = tx
            .query_one(
                "SELECT request_hash, status, body, created_at FROM idempotency WHERE key = $1",
                &[&key],
            )
            .await
            .map_err(map_pg)?;
        let record = idempotency_row(&row)?;
        tx.commit().await.map_err(map_pg)?;
        Ok(record)
    }
}

fn idempotency_row(r: &tokio_postgres::Row) -> Result<IdempotencyRecord, StoreError> {
    idempotency_record((
        r.try_get(0).map_err(map_pg)?,
        i64::from(r.try_get::<_, i32>(1).map_err(map_pg)?),
        r.try_get(2).map_err(map_pg)?,
        r.try_get(3).map_err(map_pg)?,
    ))
}
