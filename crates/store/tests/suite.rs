//! One storage test suite, run against SQLite and against PostgreSQL.
//!
//! PostgreSQL comes from `CALLPROOF_TEST_POSTGRES_URL` (default: the local server at
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test works in a schema of its own.
//! An unreachable server fails the tests: they are never skipped.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

use passport::TelephoneNumber;
use store::postgres::PgStore;
use store::sqlite::SqliteStore;
use store::{IDEMPOTENCY_TTL_SECS, NewApiKey, NumberBlock, Scope, Store, StoreError};

fn block(start: &str, count: u64) -> NumberBlock {
    NumberBlock::new(TelephoneNumber::parse(start).unwrap(), count).unwrap()
}

fn pg_url() -> String {
    std::env::var("CALLPROOF_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

async fn sqlite() -> (Box<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("callproof.db"))
        .await
        .unwrap();
    (Box::new(store), dir)
}

async fn postgres() -> (Box<dyn Store>, String) {
    let schema = format!("t_{:016x}", rand_u64());
    let store = PgStore::connect(&pg_url(), Some(&schema), 4)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {} is required for this test: {e}", pg_url()));
    (Box::new(store), schema)
}

/// Drops a test's schema once the test passed (a failed test leaves it for inspection).
async fn drop_schema(schema: &str) {
    let (client, conn) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    let task = tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
    drop(client);
    let _ = task.await;
}

fn rand_u64() -> u64 {
    use std::io::Read as _;
    let mut b = [0u8; 8];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut b)
        .unwrap();
    u64::from_le_bytes(b)
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, _guard) = super::sqlite().await;
                    super::$name(store.as_ref()).await;
                }
            )*
        }
        mod postgres_backend {
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, schema) = super::postgres().await;
                    super::$name(store.as_ref()).await;
                    drop(store);
                    super::drop_schema(&schema).await;
                }
            )*
        }
    };
}

suite!(
    customers_are_created_once_by_name,
    numbers_are_owned_by_one_customer,
    every_write_moves_the_inventory_version,
    api_keys_are_stored_hashed_and_revocable,
    removing_numbers_frees_them,
    unknown_customers_are_not_found,
    idempotency_records_keep_the_first_response_for_a_day,
);

async fn customers_are_created_once_by_name(s: &dyn Store) {
    s.ping().await.unwrap();
    let a = s.create_customer("Acme", None).await.unwrap();
    assert_eq!(a.origid.len(), 36, "a UUID origid is generated");
    let b = s
        .create_customer("Bravo", Some("123e4567-e89b-12d3-a456-426655440000"))
        .await
        .unwrap();
    assert_eq!(b.origid, "123e4567-e89b-12d3-a456-426655440000");
    assert!(matches!(
        s.create_customer("Acme", None).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(s.customer_by_name("Acme").await.unwrap(), Some(a.clone()));
    assert_eq!(s.customer_by_name("Nobody").await.unwrap(), None);
    assert_eq!(s.inventory().await.unwrap().customers, vec![a, b]);
}

async fn numbers_are_owned_by_one_customer(s: &dyn Store) {
    let a = s.create_customer("Acme", None).await.unwrap();
    let b = s.create_customer("Bravo", None).await.unwrap();
    s.add_numbers(
        a.id,
        &[block("12155550000", 10_000), block("442071234567", 1)],
    )
    .await
    .unwrap();
    // Overlaps, whoever owns the other block, and within one request: refused, all or none.
    for (owner, blocks) in [
        (b.id, vec![block("12155559999", 2)]),
        (a.id, vec![block("12155550500", 1)]),
        (b.id, vec![block("12155540000", 20_000)]),
        (
            b.id,
            vec![block("13125550000", 10), block("13125550005", 10)],
        ),
        (
            b.id,
            vec![block("14155550000", 10), block("12155551212", 1)],
        ),
    ] {
        let err = s.add_numbers(owner, &blocks).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict { .. }),
            "{blocks:?}: {err:?}"
        );
    }
    // Adjacent and other-length blocks are fine.
    s.add_numbers(
        b.id,
        &[block("12155560000", 100), block("2155550000", 10_000)],
    )
    .await
    .unwrap();
    let inv = s.inventory().await.unwrap();
    let owned: Vec<(i64, String)> = inv
        .blocks
        .iter()
        .map(|o| (o.customer.0, o.block.to_string()))
        .collect();
    assert_eq!(
        owned,
        vec![
            (b.id.0, "2155550000+10000".to_owned()),
            (a.id.0, "12155550000+10000".to_owned()),
            (b.id.0, "12155560000+100".to_owned()),
            (a.id.0, "442071234567".to_owned()),
        ]
    );
    assert!(
        !inv.blocks
            .iter()
            .any(|o| o.block.start().as_str() == "14155550000"),
        "the refused request left nothing"
    );
}

async fn every_write_moves_the_inventory_version(s: &dyn Store) {
    let v0 = s.inventory_version().await.unwrap();
    let a = s.create_customer("Acme", None).await.unwrap();
    let v1 = s.inventory_version().await.unwrap();
    s.add_trunk(a.id, "192.0.2.0/24").await.unwrap();
    let v2 = s.inventory_version().await.unwrap();
    s.add_numbers(a.id, &[block("12155550000", 10)])
        .await
        .unwrap();
    let v3 = s.inventory_version().await.unwrap();
    assert!(v0 < v1 && v1 < v2 && v2 < v3, "{v0} {v1} {v2} {v3}");
    let inv = s.inventory().await.unwrap();
    assert_eq!(inv.version, v3);
    assert_eq!(inv.trunks.len(), 1);
    assert_eq!(inv.trunks[0].cidr, "192.0.2.0/24");
    // A refused write does not move it.
    assert!(
        s.add_numbers(a.id, &[block("12155550005", 1)])
            .await
            .is_err()
    );
    assert_eq!(s.inventory_version().await.unwrap(), v3);
}

async fn api_keys_are_stored_hashed_and_revocable(s: &dyn Store) {
    let a = s.create_customer("Acme", None).await.unwrap();
    let key = s
        .create_api_key(NewApiKey {
            customer: Some(a.id),
            name: "sbc-1".into(),
            prefix: "cp_abcd".into(),
            hash: "ab".repeat(32),
            scopes: vec![Scope::Sign, Scope::Verify],
        })
        .await
        .unwrap();
    let admin = s
        .create_api_key(NewApiKey {
            customer: None,
            name: "ops".into(),
            prefix: "cp_ops1".into(),
            hash: "cd".repeat(32),
            scopes: vec![Scope::Admin],
        })
        .await
        .unwrap();
    let dup = s
        .create_api_key(NewApiKey {
            customer: None,
            name: "dup".into(),
            prefix: "cp_x".into(),
            hash: "cd".repeat(32),
            scopes: vec![Scope::Admin],
        })
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict { .. })), "{dup:?}");
    assert_eq!(
        s.inventory().await.unwrap().api_keys,
        vec![key.clone(), admin.clone()]
    );
    assert!(s.revoke_api_key(key.id).await.unwrap());
    assert!(!s.revoke_api_key(key.id).await.unwrap());
    assert_eq!(s.inventory().await.unwrap().api_keys, vec![admin]);
}

async fn removing_numbers_frees_them(s: &dyn Store) {
    let a = s.create_customer("Acme", None).await.unwrap();
    let b = s.create_customer("Bravo", None).await.unwrap();
    s.add_numbers(a.id, &[block("12155550000", 100)])
        .await
        .unwrap();
    let not_found = |r: Result<u64, StoreError>| matches!(r, Err(StoreError::NotFound { .. }));
    assert!(
        not_found(s.remove_numbers(b.id, &[block("12155550000", 100)]).await),
        "not b's to remove"
    );
    assert!(
        not_found(s.remove_numbers(a.id, &[block("12155550000", 10)]).await),
        "not as added"
    );
    // All or none: with one block that is not a's, the one that is stays too.
    s.add_numbers(a.id, &[block("14155550000", 1)])
        .await
        .unwrap();
    let mixed = [block("14155550000", 1), block("19995550000", 1)];
    assert!(not_found(s.remove_numbers(a.id, &mixed).await));
    assert!(
        s.inventory()
            .await
            .unwrap()
            .blocks
            .iter()
            .any(|o| o.block == block("14155550000", 1))
    );
    assert_eq!(
        s.remove_numbers(a.id, &[block("12155550000", 100)])
            .await
            .unwrap(),
        1
    );
    s.add_numbers(b.id, &[block("12155550050", 1)])
        .await
        .unwrap();
}

async fn unknown_customers_are_not_found(s: &dyn Store) {
    let ghost = store::CustomerId(999_999);
    assert!(matches!(
        s.add_numbers(ghost, &[block("1", 1)]).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        s.add_trunk(ghost, "192.0.2.1").await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn idempotency_records_keep_the_first_response_for_a_day(s: &dyn Store) {
    let t0 = 1_700_000_000;
    assert_eq!(s.idempotency_get("k1", t0).await.unwrap(), None);
    let v0 = s.inventory_version().await.unwrap();
    let first = s
        .idempotency_put("k1", "hash-a", 201, r#"{"id":1}"#, t0)
        .await
        .unwrap();
    assert_eq!(
        (
            first.request_hash.as_str(),
            first.status,
            first.body.as_str()
        ),
        ("hash-a", 201, r#"{"id":1}"#)
    );
    assert_eq!(first.created_at, t0);
    assert_eq!(
        s.inventory_version().await.unwrap(),
        v0,
        "not an inventory change"
    );
    // A second writer of the same key gets the first response back, unchanged.
    let second = s
        .idempotency_put("k1", "hash-b", 409, "{}", t0 + 5)
        .await
        .unwrap();
    assert_eq!(second, first);
    assert_eq!(
        s.idempotency_get("k1", t0 + 10).await.unwrap(),
        Some(first.clone())
    );
    // Keys are independent; a body of any size the server allows round-trips.
    let big = "x".repeat(64 * 1024);
    let other = s
        .idempotency_put("k2", "hash-c", 204, &big, t0 + 1)
        .await
        .unwrap();
    assert_eq!(other.body, big);
    // In force for a day, then gone: a new response may take the key.
    let last_second = t0 + IDEMPOTENCY_TTL_SECS - 1;
    assert_eq!(
        s.idempotency_get("k1", last_second).await.unwrap(),
        Some(first)
    );
    let expired = t0 + IDEMPOTENCY_TTL_SECS;
    assert_eq!(s.idempotency_get("k1", expired).await.unwrap(), None);
    let fresh = s
        .idempotency_put("k1", "hash-d", 200, "[]", expired)
        .await
        .unwrap();
    assert_eq!(
        (fresh.request_hash.as_str(), fresh.created_at),
        ("hash-d", expired)
    );
    // Writing purged the expired "k2"... which was stored one second later: still there.
    assert!(s.idempotency_get("k2", expired).await.unwrap().is_some());
    assert_eq!(s.idempotency_get("k2", expired + 1).await.unwrap(), None);
}
