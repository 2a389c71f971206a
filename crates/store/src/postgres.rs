//! The shared backend: PostgreSQL through a `deadpool-postgres` pool. Inventory writes, brand
//! policy writes and opt-out writes each take a transaction-scoped advisory lock of their
//! kind, so concurrent nodes cannot both pass an overlap check for the same numbers, and
//! opt-out changes are numbered in commit order. Report writers share a lock that a reader
//! following reports by id takes alone, so no report commits behind its cursor.

use std::collections::{HashMap, HashSet};
use std::str::FromStr as _;

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use passport::TelephoneNumber;
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;

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
use crate::calls::{CallCode, CallId, CallRecord, NewCall, NewReport, Report, ReportId};
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

/// Advisory-lock key for brand policy writes: brands, logos, numbers, partners, DNO ("cppol").
const POLICY_LOCK: i64 = 0x0063_7070_6f6c;

/// Advisory-lock key for opt-out writes ("cpopt"): it makes `opt_out_log.seq` commit-ordered.
const OPT_OUT_LOCK: i64 = 0x0063_706f_7074;

/// Advisory-lock key for reports ("cprpt"): report writers hold it shared from before they
/// draw an id until they commit, so many write at once; a reader following reports by id
/// takes it exclusively, which waits until every id drawn so far is committed (or rolled
/// back) and keeps new ones from being drawn until its snapshot is taken.
const REPORT_LOCK: i64 = 0x0063_7072_7074;

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
        let version = read_version(&tx, INVENTORY_VERSION).await?;
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
        read_version(&self.client().await?, INVENTORY_VERSION).await
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

    async fn create_brand(
        &self,
        slug: &str,
        customer: CustomerId,
        fields: &BrandFields,
        now: i64,
    ) -> Result<Brand, StoreError> {
        let reasons = to_json(&fields.call_reasons)?;
        let never_ask = to_json(&fields.never_ask)?;
        let mut client = self.client().await?;
        let tx = locked_tx(&mut client, POLICY_LOCK).await?;
        require_customer(&tx, customer).await?;
        if tx
            .query_opt("SELECT id FROM brands WHERE slug = $1", &[&slug])
            .await
            .map_err(map_pg)?
            .is_some()
        {
            return Err(StoreError::Conflict {
                what: "brand",
                detail: format!("slug {slug:?} is taken"),
            });
        }
        let row = tx
            .query_one(
                "INSERT INTO brands (slug, customer_id, legal_name, display_name, call_reasons, \
                 never_ask, callback, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
                &[
                    &slug,
                    &customer.0,
                    &fields.legal_name,
                    &fields.display_name,
                    &reasons,
                    &never_ask,
                    &fields.callback.as_ref().map(TelephoneNumber::as_str),
                    &now,
                ],
            )
            .await
            .map_err(map_pg)?;
        let id = BrandId(row.try_get(0).map_err(map_pg)?);
        bump_policy(&tx).await?;
        tx.commit().await.map_err(map_pg)?;
        Ok(Brand {
            id,
            slug: slug.to_owned(),
            customer,
            legal_name: fields.legal_name.clone(),
            display_name: fields.display_name.clone(),
            call_reasons: fields.call_reasons.clone(),
            never_ask: fields.never_ask.clone(),
            callback: fields.callback,
            logo: None,
            created_at: now,
            updated_at: now,
        })
    }

    async fn update_brand(
        &self,
        id: BrandId,
        fields: &BrandFields,
        now: i64,
    ) -> Result<Brand, StoreError> {
        let reasons = to_json(&fields.call_reasons)?;
        let never_ask = to_json(&fields.never_ask)?;
        let mut client = self.client().await?;
        let tx = locked_tx(&mut client, POLICY_LOCK).await?;
        let n = tx
            .execute(
                "UPDATE brands SET legal_name = $2, display_name = $3, call_reasons = $4, \
                 never_ask = $5, callback = $6, updated_at = $7 WHERE id = $1",
                &[
                    &id.0,
                    &fields.legal_name,
                    &fields.display_name,
                    &reasons,
                    &never_ask,
                    &fields.callback.as_ref().map(TelephoneNumber::as_str),
                    &now,
                ],
            )
            .await
            .map_err(map_pg)?;
        if n == 0 {
            return Err(brand_not_found(id));
        }
        let brand = query_brands(&tx, " WHERE b.id = $1", &[&id.0])
            .await?
            .pop()
            .ok_or_else(|| brand_not_found(id))?;
        bump_policy(&tx).await?;
        tx.commit().await.map_err(map_pg)?;
        Ok(brand)
    }

    async fn brand_by_slug(&self, slug: &str) -> Result<Option<Brand>, StoreError> {
        let client = self.client().await?;
        Ok(query_brands(&client, " WHERE b.slug = $1", &[&slug])
            .await?
            .pop())
    }

    async fn brands(&self) -> Result<Vec<Brand>, StoreError> {
        let client = self.client().await?;
        query_brands(&client, " ORDER BY b.id", &[]).await
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
        let mut client = self.client().await?;
        let tx = locked_tx(&mut client, POLICY_LOCK).await?;
        require_brand(&tx, id).await?;
        tx.execute(
            "INSERT INTO brand_logos (brand_id, content_type, digest, len, updated_at, bytes) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (brand_id) DO UPDATE SET \
             content_type = excluded.content_type, digest = excluded.digest, \
             len = excluded.len, updated_at = excluded.updated_at, bytes = excluded.bytes",
            &[
                &id.0,
                &meta.content_type,
                &meta.digest,
                &to_i64(meta.len),
                &meta.updated_at,
                &bytes,
            ],
        )
        .await
        .map_err(map_pg)?;
        bump_policy(&tx).await?;
        tx.commit().await.map_err(map_pg)?;
        Ok(meta)
    }

    async fn brand_logo(&self, id: BrandId) -> Result<Option<(LogoMeta, Vec<u8>)>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT content_type, digest, len, updated_at, bytes FROM brand_logos \
                 WHERE brand_id = $1",
                &[&id.0],
            )
            .await
            .map_err(map_pg)?;
        row.map(|r| {
            let len: i64 = r.try_get(2).map_err(map_pg)?;
            Ok((
                LogoMeta {
                    content_type: r.try_get(0).map_err(map_pg)?,
                    digest: r.try_get(1).map_err(map_pg)?,
                    len: u64::try_from(len).map_err(backend)?,
                    updated_at: r.try_get(3).map_err(map_pg)?,
                },
                r.try_get(4).map_err(map_pg)?,
            ))
        })
        .transpose()
    }

    async fn add_brand_numbers(
        &self,
        id: BrandId,
        kind: BrandNumberKind,
        blocks: &[NumberBlock],
    ) -> Result<(), StoreError> {
        check_disjoint(blocks)?;
        let mut client = self.client().await?;
        let tx = locked_tx(&mut client, POLICY_LOCK).await?;
        require_brand(&tx, id).await?;
        // Stored brand blocks are disjoint: only the one with the greatest first number at or
        // below the new block's last can overlap it.
        let probe = tx
            .prepare(
                "SELECT start, count, brand_id, last FROM brand_numbers \
                 WHERE digits = $1 AND first <= $2 ORDER BY first DESC LIMIT 1",
            )
            .await
            .map_err(map_pg)?;
        let insert = tx
            .prepare(
                "INSERT INTO brand_numbers (digits, first, last, start, count, brand_id, kind) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .await
            .map_err(map_pg)?;
        for b in blocks {
            let digits = digits_i32(b);
            if let Some(row) = tx
                .query_opt(&probe, &[&digits, &to_i64(b.last_value())])
                .await
                .map_err(map_pg)?
            {
                let last: i64 = row.try_get(3).map_err(map_pg)?;
                if last >= to_i64(b.first_value()) {
                    let start: String = row.try_get(0).map_err(map_pg)?;
                    return Err(brand_overlap(
                        b,
                        &start,
                        row.try_get(1).map_err(map_pg)?,
                        row.try_get(2).map_err(map_pg)?,
                    ));
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
                    &id.0,
                    &kind.as_str(),
                ],
            )
            .await
            .map_err(map_pg)?;
        }
        bump_policy(&tx).await?;
        tx.commit().await.map_err(map_pg)
    }

    async fn remove_brand_numbers(
        &self,
        id: BrandId,
        kind: BrandNumberKind,
        blocks: &[NumberBlock],
    ) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let tx = locked_tx(&mut client, POLICY_LOCK).await?;
        let del = tx
            .prepare(
                "DELETE FROM brand_numbers WHERE digits = $1 AND first = $2 AND count = $3 \
                 AND brand_id = $4 AND kind = $5",
            )
            .await
            .map_err(map_pg)?;
        let mut removed = 0;
        for b in blocks {
            let n = tx
                .execute(
                    &del,
                    &[
                        &digits_i32(b),
                        &to_i64(b.first_value()),
                        &to_i64(b.count()),
                        &id.0,
                        &kind.as_str(),
                    ],
                )
                .await
                .map_err(map_pg)?;
            if n == 0 {
                // All or none: dropping the transaction rolls back what went before.
                return Err(StoreError::NotFound {
                    what: "brand number block",
                    key: b.to_string(),
                });
            }
            removed += n;
        }
        bump_policy(&tx).await?;
        tx.commit().await.map_err(map_pg)?;
        Ok(removed)
    }

    async fn create_partner(&self, partner: &NewPartner, now: i64) -> Result<Partner, StoreError> {
        check_disjoint(&partner.numbers)?;
        let reasons = to_json(&partner.reasons)?;
        let mut client = self.client().await?;
        let tx = locked_tx(&mut client, POLICY_LOCK).await?;
        require_brand(&tx, partner.brand).await?;
        require_customer(&tx, partner.customer).await?;
        let probe = tx.prepare(COVER_PROBE).await.map_err(map_pg)?;
        for b in &partner.numbers {
            let mut found = Vec::new();
            for r in tx
                .query(
                    &probe,
                    &[
                        &digits_i32(b),
                        &to_i64(b.first_value()),
                        &to_i64(b.last_value()),
                    ],
                )
                .await
                .map_err(map_pg)?
            {
                found.push((
                    r.try_get(0).map_err(map_pg)?,
                    r.try_get(1).map_err(map_pg)?,
                    r.try_get(2).map_err(map_pg)?,
                    r.try_get(3).map_err(map_pg)?,
                ));
            }
            if !covers(&found, partner.brand, b) {
                return Err(not_listed(partner.brand, b));
            }
        }
        let row = tx
            .query_one(
                "INSERT INTO partners (brand_id, customer_id, reasons, valid_from, valid_until, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &partner.brand.0,
                    &partner.customer.0,
                    &reasons,
                    &partner.valid_from,
                    &partner.valid_until,
                    &now,
                ],
            )
            .await
            .map_err(map_pg)?;
        let id = PartnerId(row.try_get(0).map_err(map_pg)?);
        let insert = tx
            .prepare(
                "INSERT INTO partner_numbers (partner_id, pos, start, count) \
                 VALUES ($1, $2, $3, $4)",
            )
            .await
            .map_err(map_pg)?;
        for (pos, b) in partner.numbers.iter().enumerate() {
            let pos = i32::try_from(pos).unwrap_or(i32::MAX);
            tx.execute(
                &insert,
                &[&id.0, &pos, &b.start().as_str(), &to_i64(b.count())],
            )
            .await
            .map_err(map_pg)?;
        }
        bump_policy(&tx).await?;
        tx.commit().await.map_err(map_pg)?;
        Ok(Partner {
            id,
            brand: partner.brand,
            customer: partner.customer,
            numbers: partner.numbers.clone(),
            reasons: partner.reasons.clone(),
            valid_from: partner.valid_from,
            valid_until: partner.valid_until,
            revoked_at: None,
            created_at: now,
        })
    }

    async fn revoke_partner(
        &self,
        brand: BrandId,
        id: PartnerId,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = locked_tx(&mut client, POLICY_LOCK).await?;
        let n = tx
            .execute(
                "UPDATE partners SET revoked_at = $1 \
                 WHERE id = $2 AND brand_id = $3 AND revoked_at IS NULL",
                &[&now, &id.0, &brand.0],
            )
            .await
            .map_err(map_pg)?;
        if n > 0 {
            bump_policy(&tx).await?;
        }
        tx.commit().await.map_err(map_pg)?;
        Ok(n > 0)
    }

    async fn partners(&self, brand: BrandId) -> Result<Vec<Partner>, StoreError> {
        let mut client = self.client().await?;
        // REPEATABLE READ: the numbers belong to the partners read.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(map_pg)?;
        let partners = read_partners(&tx, Some(brand)).await?;
        tx.commit().await.map_err(map_pg)?;
        Ok(partners)
    }

    async fn replace_dno(&self, blocks: &[NumberBlock]) -> Result<u64, StoreError> {
        check_disjoint(blocks)?;
        let digits: Vec<i32> = blocks.iter().map(digits_i32).collect();
        let first: Vec<i64> = blocks.iter().map(|b| to_i64(b.first_value())).collect();
        let last: Vec<i64> = blocks.iter().map(|b| to_i64(b.last_value())).collect();
        let starts: Vec<TelephoneNumber> = blocks.iter().map(NumberBlock::start).collect();
        let start: Vec<&str> = starts.iter().map(TelephoneNumber::as_str).collect();
        let count: Vec<i64> = blocks.iter().map(|b| to_i64(b.count())).collect();
        let mut client = self.client().await?;
        let tx = locked_tx(&mut client, POLICY_LOCK).await?;
        tx.execute("DELETE FROM dno_blocks", &[])
            .await
            .map_err(map_pg)?;
        // One statement for the whole list: an import holds many thousands of blocks.
        let n = tx
            .execute(
                "INSERT INTO dno_blocks (digits, first, last, start, count) \
                 SELECT * FROM UNNEST($1::integer[], $2::bigint[], $3::bigint[], $4::text[], \
                 $5::bigint[])",
                &[&digits, &first, &last, &start, &count],
            )
            .await
            .map_err(map_pg)?;
        bump_policy(&tx).await?;
        tx.commit().await.map_err(map_pg)?;
        Ok(n)
    }

    async fn brand_policy(&self) -> Result<BrandPolicy, StoreError> {
        let mut client = self.client().await?;
        // REPEATABLE READ: every query sees the same snapshot as the version read.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(map_pg)?;
        let version = read_version(&tx, POLICY_VERSION).await?;
        let brands = query_brands(&tx, " ORDER BY b.id", &[]).await?;
        let mut blocks = Vec::new();
        for r in tx
            .query(
                "SELECT brand_id, kind, start, count FROM brand_numbers ORDER BY digits, first",
                &[],
            )
            .await
            .map_err(map_pg)?
        {
            let kind: &str = r.try_get(1).map_err(map_pg)?;
            let start: &str = r.try_get(2).map_err(map_pg)?;
            blocks.push(BrandBlock {
                brand: BrandId(r.try_get(0).map_err(map_pg)?),
                kind: stored_kind(kind)?,
                block: stored_block(start, r.try_get(3).map_err(map_pg)?)?,
            });
        }
        let partners = read_partners(&tx, None).await?;
        let mut dno = Vec::new();
        for r in tx
            .query(
                "SELECT start, count FROM dno_blocks ORDER BY digits, first",
                &[],
            )
            .await
            .map_err(map_pg)?
        {
            let start: &str = r.try_get(0).map_err(map_pg)?;
            dno.push(stored_block(start, r.try_get(1).map_err(map_pg)?)?);
        }
        tx.commit().await.map_err(map_pg)?;
        Ok(BrandPolicy {
            version,
            brands,
            blocks,
            partners,
            dno,
        })
    }

    async fn policy_version(&self) -> Result<i64, StoreError> {
        read_version(&self.client().await?, POLICY_VERSION).await
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
        let tns: Vec<&str> = tns.iter().map(TelephoneNumber::as_str).collect();
        let mut client = self.client().await?;
        // Opt-out writers take turns, so `opt_out_log.seq` (drawn under the lock) follows
        // commit order: the lock is released only after the commit is visible, and a reader
        // paging by `seq` can never see a change before an earlier-numbered one.
        let tx = locked_tx(&mut client, OPT_OUT_LOCK).await?;
        require_brand(&tx, brand).await?;
        // One statement for the whole call (an import may hold many thousands of numbers):
        // change the state of each number whose state differs, and log exactly those, in the
        // order given.
        let change = if opted_out {
            "changed AS (INSERT INTO opt_outs (brand_id, tn, at) \
             SELECT $1::bigint, tn, $3::bigint FROM input \
             ON CONFLICT (brand_id, tn) DO NOTHING RETURNING tn)"
        } else {
            "changed AS (DELETE FROM opt_outs o USING input i \
             WHERE o.brand_id = $1::bigint AND o.tn = i.tn RETURNING o.tn)"
        };
        let n = tx
            .execute(
                &format!(
                    "WITH input AS (SELECT tn, ord FROM UNNEST($2::text[]) WITH ORDINALITY \
                     AS t(tn, ord)), {change} \
                     INSERT INTO opt_out_log (brand_id, tn, opted_out, source, at) \
                     SELECT $1::bigint, input.tn, $5::boolean, $4::text, $3::bigint \
                     FROM changed JOIN input USING (tn) ORDER BY input.ord"
                ),
                &[&brand.0, &tns, &now, &source, &opted_out],
            )
            .await
            .map_err(map_pg)?;
        tx.commit().await.map_err(map_pg)?;
        Ok(n)
    }

    async fn opt_out_changes(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<OptOutChange>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT seq, brand_id, tn, opted_out, source, at FROM opt_out_log \
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after_seq, &i64::from(limit)],
            )
            .await
            .map_err(map_pg)?;
        rows.iter()
            .map(|r| {
                let tn: &str = r.try_get(2).map_err(map_pg)?;
                Ok(OptOutChange {
                    seq: r.try_get(0).map_err(map_pg)?,
                    brand: BrandId(r.try_get(1).map_err(map_pg)?),
                    tn: stored_tn(tn)?,
                    opted_out: r.try_get(3).map_err(map_pg)?,
                    source: r.try_get(4).map_err(map_pg)?,
                    at: r.try_get(5).map_err(map_pg)?,
                })
            })
            .collect()
    }

    async fn is_opted_out(&self, brand: BrandId, tn: &TelephoneNumber) -> Result<bool, StoreError> {
        Ok(self
            .client()
            .await?
            .query_opt(
                "SELECT 1 FROM opt_outs WHERE brand_id = $1 AND tn = $2",
                &[&brand.0, &tn.as_str()],
            )
            .await
            .map_err(map_pg)?
            .is_some())
    }

    async fn record_brand_event(
        &self,
        brand: BrandId,
        kind: &str,
        detail: &serde_json::Value,
        now: i64,
    ) -> Result<BrandEvent, StoreError> {
        let json = to_json(detail)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;
        require_brand(&tx, brand).await?;
        let row = tx
            .query_one(
                "INSERT INTO brand_events (brand_id, at, kind, detail) VALUES ($1, $2, $3, $4) \
                 RETURNING seq",
                &[&brand.0, &now, &kind, &json],
            )
            .await
            .map_err(map_pg)?;
        let seq = row.try_get(0).map_err(map_pg)?;
        tx.commit().await.map_err(map_pg)?;
        Ok(BrandEvent {
            seq,
            brand,
            at: now,
            kind: kind.to_owned(),
            detail: detail.clone(),
        })
    }

    async fn brand_events(
        &self,
        brand: BrandId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<BrandEvent>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT seq, at, kind, detail FROM brand_events \
                 WHERE brand_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
                &[&brand.0, &before.unwrap_or(i64::MAX), &i64::from(limit)],
            )
            .await
            .map_err(map_pg)?;
        rows.iter()
            .map(|r| {
                let detail: &str = r.try_get(3).map_err(map_pg)?;
                Ok(BrandEvent {
                    seq: r.try_get(0).map_err(map_pg)?,
                    brand,
                    at: r.try_get(1).map_err(map_pg)?,
                    kind: r.try_get(2).map_err(map_pg)?,
                    detail: from_json("event detail", detail)?,
                })
            })
            .collect()
    }

    async fn record_calls(&self, calls: &[NewCall]) -> Result<Vec<CallId>, StoreError> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        check_batch_codes(calls)?;
        let (brands, partners) = referenced(calls);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;

        // The brands and partners referred to: one query each, whatever the batch size.
        let brand_ids: Vec<i64> = brands.iter().map(|b| b.0).collect();
        let found: HashSet<i64> = tx
            .query(
                &tx.prepare_cached("SELECT id FROM brands WHERE id = ANY($1::bigint[])")
                    .await
                    .map_err(map_pg)?,
                &[&brand_ids],
            )
            .await
            .map_err(map_pg)?
            .iter()
            .map(|r| r.try_get(0).map_err(map_pg))
            .collect::<Result<_, _>>()?;
        if let Some(missing) = brands.iter().find(|b| !found.contains(&b.0)) {
            return Err(brand_not_found(*missing));
        }
        if !partners.is_empty() {
            let partner_ids: Vec<i64> = partners.iter().map(|(p, _)| p.0).collect();
            let brand_of: HashMap<i64, i64> = tx
                .query(
                    &tx.prepare_cached(
                        "SELECT id, brand_id FROM partners WHERE id = ANY($1::bigint[])",
                    )
                    .await
                    .map_err(map_pg)?,
                    &[&partner_ids],
                )
                .await
                .map_err(map_pg)?
                .iter()
                .map(|r| Ok((r.try_get(0).map_err(map_pg)?, r.try_get(1).map_err(map_pg)?)))
                .collect::<Result<_, StoreError>>()?;
            if let Some((p, b)) = partners
                .iter()
                .find(|(p, b)| brand_of.get(&p.0) != Some(&b.0))
            {
                return Err(partner_not_found(*p, *b));
            }
        }

        // Calls with a code: lock each (brand, digest) so that two nodes cannot both find a
        // code free, then look for a stored call holding one, in one query.
        let coded: Vec<(i64, &NewCall, &CallCode)> = calls
            .iter()
            .zip(0i64..)
            .filter_map(|(c, i)| c.code.as_ref().map(|k| (i, c, k)))
            .collect();
        if !coded.is_empty() {
            let mut keys: Vec<i32> = coded
                .iter()
                .map(|(_, c, k)| code_lock_key(c.brand, &k.digest))
                .collect();
            // In order, so two batches never wait on each other's locks.
            keys.sort_unstable();
            keys.dedup();
            let lock = tx
                .prepare_cached("SELECT pg_advisory_xact_lock($1::integer, $2::integer)")
                .await
                .map_err(map_pg)?;
            for key in keys {
                tx.execute(&lock, &[&CALL_CODE_LOCK, &key])
                    .await
                    .map_err(map_pg)?;
            }
            let index: Vec<i64> = coded.iter().map(|(i, _, _)| *i).collect();
            let brand: Vec<i64> = coded.iter().map(|(_, c, _)| c.brand.0).collect();
            let digest: Vec<&str> = coded.iter().map(|(_, _, k)| k.digest.as_str()).collect();
            let started: Vec<i64> = coded.iter().map(|(_, c, _)| c.started_at).collect();
            let held = tx
                .query_opt(
                    &tx.prepare_cached(
                        "SELECT t.i, t.brand_id FROM UNNEST($1::bigint[], $2::bigint[], \
                         $3::text[], $4::bigint[]) AS t(i, brand_id, digest, started_at) \
                         WHERE EXISTS (SELECT 1 FROM calls c WHERE c.brand_id = t.brand_id \
                         AND c.code_digest = t.digest AND c.code_used_at IS NULL \
                         AND c.code_expires_at > t.started_at) ORDER BY t.i LIMIT 1",
                    )
                    .await
                    .map_err(map_pg)?,
                    &[&index, &brand, &digest, &started],
                )
                .await
                .map_err(map_pg)?;
            if let Some(row) = held {
                let i: i64 = row.try_get(0).map_err(map_pg)?;
                let brand = BrandId(row.try_get(1).map_err(map_pg)?);
                return Err(code_conflict(
                    usize::try_from(i).unwrap_or(usize::MAX),
                    brand,
                ));
            }
        }

        // One statement for the whole batch; ids are drawn in row order.
        let brand: Vec<i64> = calls.iter().map(|c| c.brand.0).collect();
        let partner: Vec<Option<i64>> = calls.iter().map(|c| c.partner.map(|p| p.0)).collect();
        let calling: Vec<&str> = calls.iter().map(|c| c.calling.as_str()).collect();
        let called: Vec<&str> = calls.iter().map(|c| c.called.as_str()).collect();
        let reason: Vec<Option<&str>> = calls.iter().map(|c| c.reason.as_deref()).collect();
        let agent_ref: Vec<Option<&str>> = calls.iter().map(|c| c.agent_ref.as_deref()).collect();
        let agent_name: Vec<Option<&str>> = calls.iter().map(|c| c.agent_name.as_deref()).collect();
        let source: Vec<&str> = calls.iter().map(|c| c.source.as_str()).collect();
        let started: Vec<i64> = calls.iter().map(|c| c.started_at).collect();
        let digest: Vec<Option<&str>> = calls
            .iter()
            .map(|c| c.code.as_ref().map(|k| k.digest.as_str()))
            .collect();
        let expires: Vec<Option<i64>> = calls
            .iter()
            .map(|c| c.code.as_ref().map(|k| k.expires_at))
            .collect();
        let insert = tx
            .prepare_cached(
                "INSERT INTO calls (brand_id, partner_id, calling, called, reason, agent_ref, \
                 agent_name, source, started_at, code_digest, code_expires_at) \
                 SELECT brand_id, partner_id, calling, called, reason, agent_ref, agent_name, \
                 source, started_at, code_digest, code_expires_at \
                 FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], \
                 $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[], $11::bigint[]) \
                 WITH ORDINALITY AS t(brand_id, partner_id, calling, called, reason, agent_ref, \
                 agent_name, source, started_at, code_digest, code_expires_at, ord) \
                 ORDER BY ord RETURNING id",
            )
            .await
            .map_err(map_pg)?;
        let rows = tx
            .query(
                &insert,
                &[
                    &brand,
                    &partner,
                    &calling,
                    &called,
                    &reason,
                    &agent_ref,
                    &agent_name,
                    &source,
                    &started,
                    &digest,
                    &expires,
                ],
            )
            .await
            .map_err(|e| missing_ref(e, "brand or partner"))?;
        let mut ids = rows
            .iter()
            .map(|r| r.try_get(0).map(CallId).map_err(map_pg))
            .collect::<Result<Vec<_>, _>>()?;
        if ids.len() != calls.len() {
            return Err(StoreError::Backend {
                detail: format!("{} calls inserted for {}", ids.len(), calls.len()),
            });
        }
        // The identity draws increasing ids as rows are inserted (in `ord` order); RETURNING
        // is not promised to keep that order, sorting restores it.
        ids.sort_unstable();
        tx.commit().await.map_err(map_pg)?;
        Ok(ids)
    }

    async fn call(&self, brand: BrandId, id: CallId) -> Result<Option<CallRecord>, StoreError> {
        let client = self.client().await?;
        let s = client
            .prepare_cached(concat!(
                "SELECT ",
                call_columns!(),
                " FROM calls WHERE id = $1 AND brand_id = $2"
            ))
            .await
            .map_err(map_pg)?;
        client
            .query_opt(&s, &[&id.0, &brand.0])
            .await
            .map_err(map_pg)?
            .map(|r| call_from_row(&r))
            .transpose()
    }

    async fn end_call(
        &self,
        brand: BrandId,
        id: CallId,
        now: i64,
    ) -> Result<CallRecord, StoreError> {
        let client = self.client().await?;
        // One statement: a concurrent end waits for this one, then keeps its `ended_at`.
        let s = client
            .prepare_cached(concat!(
                "UPDATE calls SET ended_at = COALESCE(ended_at, $3) \
                 WHERE id = $1 AND brand_id = $2 RETURNING ",
                call_columns!()
            ))
            .await
            .map_err(map_pg)?;
        let row = client
            .query_opt(&s, &[&id.0, &brand.0, &now])
            .await
            .map_err(map_pg)?
            .ok_or_else(|| call_not_found(brand, id))?;
        call_from_row(&row)
    }

    async fn calls_to(
        &self,
        brand: BrandId,
        called: &TelephoneNumber,
        since: i64,
        limit: u32,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let client = self.client().await?;
        let s = client
            .prepare_cached(concat!(
                "SELECT ",
                call_columns!(),
                " FROM calls WHERE brand_id = $1 AND called = $2 AND started_at >= $3 \
                 ORDER BY started_at DESC, id DESC LIMIT $4"
            ))
            .await
            .map_err(map_pg)?;
        client
            .query(&s, &[&brand.0, &called.as_str(), &since, &i64::from(limit)])
            .await
            .map_err(map_pg)?
            .iter()
            .map(call_from_row)
            .collect()
    }

    async fn redeem_code(
        &self,
        brand: BrandId,
        digest: &str,
        now: i64,
    ) -> Result<Option<CallRecord>, StoreError> {
        let client = self.client().await?;
        // One statement. Two concurrent uses may pick the same call; the second waits for the
        // first's row lock, then finds `code_used_at` set and updates nothing.
        let s = client.prepare_cached(REDEEM).await.map_err(map_pg)?;
        client
            .query_opt(&s, &[&brand.0, &digest, &now])
            .await
            .map_err(map_pg)?
            .map(|r| call_from_row(&r))
            .transpose()
    }

    async fn purge_calls(&self, before: i64) -> Result<u64, StoreError> {
        self.client()
            .await?
            .execute("DELETE FROM calls WHERE started_at < $1", &[&before])
            .await
            .map_err(map_pg)
    }

    async fn create_report(&self, report: &NewReport) -> Result<(Report, bool), StoreError> {
        let asked = asked_to_string(&report.asked);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;
        if let Some(brand) = report.brand {
            require_brand(&tx, brand).await?;
        }
        // The id is drawn under the shared report lock, held until the commit: see
        // [`REPORT_LOCK`].
        let lock = tx
            .prepare_cached("SELECT pg_advisory_xact_lock_shared($1)")
            .await
            .map_err(map_pg)?;
        tx.execute(&lock, &[&REPORT_LOCK]).await.map_err(map_pg)?;
        // ON CONFLICT waits for a concurrent writer of the same key to finish; the SELECT
        // that follows (a new snapshot at READ COMMITTED) then sees the winner's row.
        let insert = tx
            .prepare_cached(
                "INSERT INTO reports (brand_id, claimed_brand, calling, called, call_at, asked, \
                 text, channel, idempotency_key, received_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            )
            .await
            .map_err(map_pg)?;
        let inserted = tx
            .query_opt(
                &insert,
                &[
                    &report.brand.map(|b| b.0),
                    &report.claimed_brand,
                    &report.calling.as_ref().map(TelephoneNumber::as_str),
                    &report.called.as_ref().map(TelephoneNumber::as_str),
                    &report.call_at,
                    &asked,
                    &report.text,
                    &report.channel.as_str(),
                    &report.idempotency_key,
                    &report.received_at,
                ],
            )
            .await
            .map_err(|e| missing_ref(e, "brand"))?;
        let out = match inserted {
            Some(row) => {
                let id = ReportId(row.try_get(0).map_err(map_pg)?);
                (new_report(id, report.clone()), true)
            }
            None => {
                // Only a used idempotency key makes the insert do nothing.
                let first = tx
                    .prepare_cached(concat!(
                        "SELECT ",
                        report_columns!(),
                        " FROM reports WHERE idempotency_key = $1"
                    ))
                    .await
                    .map_err(map_pg)?;
                let row = tx
                    .query_one(&first, &[&report.idempotency_key])
                    .await
                    .map_err(map_pg)?;
                (report_from_row(&row)?, false)
            }
        };
        tx.commit().await.map_err(map_pg)?;
        Ok(out)
    }

    async fn reports(
        &self,
        brand: Option<BrandId>,
        before: Option<ReportId>,
        limit: u32,
    ) -> Result<Vec<Report>, StoreError> {
        let before = before.map_or(i64::MAX, |r| r.0);
        let limit = i64::from(limit);
        let client = self.client().await?;
        let rows = match brand {
            Some(brand) => {
                let s = client
                    .prepare_cached(concat!(
                        "SELECT ",
                        report_columns!(),
                        " FROM reports WHERE brand_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
                    ))
                    .await
                    .map_err(map_pg)?;
                client.query(&s, &[&brand.0, &before, &limit]).await
            }
            None => {
                let s = client
                    .prepare_cached(concat!(
                        "SELECT ",
                        report_columns!(),
                        " FROM reports WHERE id < $1 ORDER BY id DESC LIMIT $2"
                    ))
                    .await
                    .map_err(map_pg)?;
                client.query(&s, &[&before, &limit]).await
            }
        }
        .map_err(map_pg)?;
        rows.iter().map(report_from_row).collect()
    }

    async fn reports_after(&self, after: ReportId, limit: u32) -> Result<Vec<Report>, StoreError> {
        let mut client = self.client().await?;
        // A sequence hands out ids in the order writers ask, not the order they commit: a
        // report committed later may carry a smaller id than one already read. Holding the
        // report lock exclusively, the query's snapshot (taken after the lock) sees every id
        // drawn before it, so none can appear behind the cursor later.
        let tx = locked_tx(&mut client, REPORT_LOCK).await?;
        let s = tx
            .prepare_cached(concat!(
                "SELECT ",
                report_columns!(),
                " FROM reports WHERE id > $1 ORDER BY id LIMIT $2"
            ))
            .await
            .map_err(map_pg)?;
        let rows = tx
            .query(&s, &[&after.0, &i64::from(limit)])
            .await
            .map_err(map_pg)?;
        tx.commit().await.map_err(map_pg)?;
        rows.iter().map(report_from_row).collect()
    }

    async fn report(&self, id: ReportId) -> Result<Option<Report>, StoreError> {
        let client = self.client().await?;
        let s = client
            .prepare_cached(concat!(
                "SELECT ",
                report_columns!(),
                " FROM reports WHERE id = $1"
            ))
            .await
            .map_err(map_pg)?;
        client
            .query_opt(&s, &[&id.0])
            .await
            .map_err(map_pg)?
            .as_ref()
            .map(report_from_row)
            .transpose()
    }

    async fn purge_reports(&self, received_before: i64) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let s = client
            .prepare_cached(
                "DELETE FROM reports WHERE id IN (SELECT id FROM reports \
                 WHERE received_at < $1 ORDER BY id LIMIT $2)",
            )
            .await
            .map_err(map_pg)?;
        let mut total = 0;
        loop {
            let n = client
                .execute(&s, &[&received_before, &PURGE_BATCH])
                .await
                .map_err(map_pg)?;
            total += n;
            if n < PURGE_BATCH.unsigned_abs() {
                return Ok(total);
            }
        }
    }
}

/// Advisory-lock class (two-key form, a key space apart from the one-key locks above) for
/// call codes ("cpcd"); the second key is [`code_lock_key`] of the brand and digest.
const CALL_CODE_LOCK: i32 = 0x6370_6364;

/// The lock key of a brand's code digest: FNV-1a of both, the same on every node. Two codes
/// sharing a key only wait on each other.
fn code_lock_key(brand: BrandId, digest: &str) -> i32 {
    let hash = brand
        .0
        .to_le_bytes()
        .iter()
        .chain(digest.as_bytes())
        .fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
        });
    i32::from_ne_bytes(hash.to_ne_bytes())
}

/// Uses a code (brand, digest, now): marks the brand's call holding it unused and unexpired
/// used and returns it. Should more than one call hold it (a call recorded with a future
/// start), the latest to have started by now is used.
const REDEEM: &str = concat!(
    "UPDATE calls SET code_used_at = $3 WHERE code_used_at IS NULL AND id = (\
     SELECT id FROM calls WHERE brand_id = $1 AND code_digest = $2 \
     AND code_used_at IS NULL AND code_expires_at > $3 \
     ORDER BY started_at > $3, started_at DESC, id DESC LIMIT 1) RETURNING ",
    call_columns!()
);

/// Maps a foreign-key violation (a row referred to vanished under the write) to `NotFound`.
fn missing_ref(e: tokio_postgres::Error, what: &'static str) -> StoreError {
    if let Some(db) = e.as_db_error()
        && db.code() == &tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION
    {
        return StoreError::NotFound {
            what,
            key: db.detail().unwrap_or(db.message()).to_owned(),
        };
    }
    map_pg(e)
}

fn call_from_row(r: &tokio_postgres::Row) -> Result<CallRecord, StoreError> {
    CallRow {
        id: r.try_get(0).map_err(map_pg)?,
        brand: r.try_get(1).map_err(map_pg)?,
        partner: r.try_get(2).map_err(map_pg)?,
        calling: r.try_get(3).map_err(map_pg)?,
        called: r.try_get(4).map_err(map_pg)?,
        reason: r.try_get(5).map_err(map_pg)?,
        agent_ref: r.try_get(6).map_err(map_pg)?,
        agent_name: r.try_get(7).map_err(map_pg)?,
        source: r.try_get(8).map_err(map_pg)?,
        started_at: r.try_get(9).map_err(map_pg)?,
        ended_at: r.try_get(10).map_err(map_pg)?,
        code_expires_at: r.try_get(11).map_err(map_pg)?,
        code_used_at: r.try_get(12).map_err(map_pg)?,
    }
    .into_record()
}

fn report_from_row(r: &tokio_postgres::Row) -> Result<Report, StoreError> {
    ReportRow {
        id: r.try_get(0).map_err(map_pg)?,
        brand: r.try_get(1).map_err(map_pg)?,
        claimed_brand: r.try_get(2).map_err(map_pg)?,
        calling: r.try_get(3).map_err(map_pg)?,
        called: r.try_get(4).map_err(map_pg)?,
        call_at: r.try_get(5).map_err(map_pg)?,
        asked: r.try_get(6).map_err(map_pg)?,
        text: r.try_get(7).map_err(map_pg)?,
        channel: r.try_get(8).map_err(map_pg)?,
        received_at: r.try_get(9).map_err(map_pg)?,
    }
    .into_report()
}

/// The stored brand blocks that can share a number with a block (digits, the block's first
/// number, its last), by first number: stored blocks are disjoint, so they start at the one
/// with the greatest first number at or below the block's first.
const COVER_PROBE: &str = "SELECT brand_id, kind, first, last FROM brand_numbers WHERE digits = $1 \
     AND first <= $3 AND first >= COALESCE((SELECT first FROM brand_numbers \
     WHERE digits = $1 AND first <= $2 ORDER BY first DESC LIMIT 1), $2) ORDER BY first";

/// Starts a transaction holding the advisory lock `key` until it ends.
/// The inventory's version.
const INVENTORY_VERSION: &str = "SELECT version FROM meta WHERE id = 1";
/// The brand policy's version.
const POLICY_VERSION: &str = "SELECT version FROM policy_meta WHERE id = 1";

/// Reads a version counter (`INVENTORY_VERSION` or `POLICY_VERSION`).
async fn read_version(
    client: &impl deadpool_postgres::GenericClient,
    query: &str,
) -> Result<i64, StoreError> {
    client
        .query_one(query, &[])
        .await
        .map_err(map_pg)?
        .try_get(0)
        .map_err(map_pg)
}

async fn locked_tx(
    client: &mut deadpool_postgres::Object,
    key: i64,
) -> Result<deadpool_postgres::Transaction<'_>, StoreError> {
    let tx = client.transaction().await.map_err(map_pg)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key])
        .await
        .map_err(map_pg)?;
    Ok(tx)
}

async fn bump_policy(tx: &deadpool_postgres::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE policy_meta SET version = version + 1 WHERE id = 1",
        &[],
    )
    .await
    .map_err(map_pg)
    .map(|_| ())
}

async fn require_brand(
    tx: &deadpool_postgres::Transaction<'_>,
    id: BrandId,
) -> Result<(), StoreError> {
    let row = tx
        .query_opt("SELECT id FROM brands WHERE id = $1", &[&id.0])
        .await
        .map_err(map_pg)?;
    row.map(|_| ()).ok_or_else(|| brand_not_found(id))
}

fn digits_i32(b: &NumberBlock) -> i32 {
    i32::try_from(b.digits()).unwrap_or(i32::MAX)
}

/// Brands matching `tail` (a `WHERE` and/or `ORDER BY` clause), with their logos' metadata.
async fn query_brands(
    c: &impl GenericClient,
    tail: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Brand>, StoreError> {
    let rows = c
        .query(&format!("{BRAND_SELECT}{tail}"), params)
        .await
        .map_err(map_pg)?;
    rows.iter()
        .map(|r| {
            let logo = match r.try_get::<_, Option<String>>(10).map_err(map_pg)? {
                Some(content_type) => Some((
                    content_type,
                    r.try_get(11).map_err(map_pg)?,
                    r.try_get(12).map_err(map_pg)?,
                    r.try_get(13).map_err(map_pg)?,
                )),
                None => None,
            };
            BrandRow {
                id: r.try_get(0).map_err(map_pg)?,
                slug: r.try_get(1).map_err(map_pg)?,
                customer: r.try_get(2).map_err(map_pg)?,
                legal_name: r.try_get(3).map_err(map_pg)?,
                display_name: r.try_get(4).map_err(map_pg)?,
                call_reasons: r.try_get(5).map_err(map_pg)?,
                never_ask: r.try_get(6).map_err(map_pg)?,
                callback: r.try_get(7).map_err(map_pg)?,
                created_at: r.try_get(8).map_err(map_pg)?,
                updated_at: r.try_get(9).map_err(map_pg)?,
                logo,
            }
            .into_brand()
        })
        .collect()
}

/// The partners of one brand (`None`: of all brands), by id, with their numbers. Run it in a
/// REPEATABLE READ transaction so both queries see one snapshot.
async fn read_partners(
    c: &impl GenericClient,
    brand: Option<BrandId>,
) -> Result<Vec<Partner>, StoreError> {
    let brand = brand.map(|b| b.0);
    let mut rows = Vec::new();
    for r in c
        .query(
            &format!("{PARTNER_SELECT} WHERE $1::bigint IS NULL OR brand_id = $1 ORDER BY id"),
            &[&brand],
        )
        .await
        .map_err(map_pg)?
    {
        rows.push(PartnerRow {
            id: r.try_get(0).map_err(map_pg)?,
            brand: r.try_get(1).map_err(map_pg)?,
            customer: r.try_get(2).map_err(map_pg)?,
            reasons: r.try_get(3).map_err(map_pg)?,
            valid_from: r.try_get(4).map_err(map_pg)?,
            valid_until: r.try_get(5).map_err(map_pg)?,
            revoked_at: r.try_get(6).map_err(map_pg)?,
            created_at: r.try_get(7).map_err(map_pg)?,
        });
    }
    let mut numbers = Vec::new();
    for r in c
        .query(
            "SELECT n.partner_id, n.start, n.count FROM partner_numbers n \
             JOIN partners p ON p.id = n.partner_id \
             WHERE $1::bigint IS NULL OR p.brand_id = $1 ORDER BY n.partner_id, n.pos",
            &[&brand],
        )
        .await
        .map_err(map_pg)?
    {
        numbers.push((
            r.try_get(0).map_err(map_pg)?,
            r.try_get(1).map_err(map_pg)?,
            r.try_get(2).map_err(map_pg)?,
        ));
    }
    assemble_partners(rows, numbers)
}

fn idempotency_row(r: &tokio_postgres::Row) -> Result<IdempotencyRecord, StoreError> {
    idempotency_record((
        r.try_get(0).map_err(map_pg)?,
        i64::from(r.try_get::<_, i32>(1).map_err(map_pg)?),
        r.try_get(2).map_err(map_pg)?,
        r.try_get(3).map_err(map_pg)?,
    ))
}
