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

use std::sync::atomic::{AtomicUsize, Ordering};

use passport::TelephoneNumber;
use serde_json::json;
use store::postgres::PgStore;
use store::sqlite::SqliteStore;
use store::{
    Asked, BrandBlock, BrandFields, BrandId, BrandNumberKind, CallCode, CallId, CallReason,
    CallSource, CustomerId, IDEMPOTENCY_TTL_SECS, NewApiKey, NewCall, NewPartner, NewReport,
    NumberBlock, OptOutChange, PartnerId, ReportChannel, ReportId, Scope, Store, StoreError,
};

fn block(start: &str, count: u64) -> NumberBlock {
    NumberBlock::new(TelephoneNumber::parse(start).unwrap(), count).unwrap()
}

fn tn(s: &str) -> TelephoneNumber {
    TelephoneNumber::parse(s).unwrap()
}

fn fields(display_name: &str) -> BrandFields {
    BrandFields {
        legal_name: format!("{display_name} plc"),
        display_name: display_name.to_owned(),
        call_reasons: vec![
            CallReason {
                code: "fraud-alert".into(),
                text: "Card fraud alert".into(),
                marketing: false,
            },
            CallReason {
                code: "offers".into(),
                text: "Savings offers".into(),
                marketing: true,
            },
        ],
        never_ask: vec![
            "We will never ask for your PIN".into(),
            "We will never ask you to move money".into(),
        ],
        callback: Some(tn("18005550100")),
    }
}

fn is_conflict<T: std::fmt::Debug>(r: &Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict { .. }))
}

fn is_not_found<T: std::fmt::Debug>(r: &Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::NotFound { .. }))
}

const T0: i64 = 1_700_000_000;

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
    brands_are_created_once_by_slug_and_updated_in_place,
    brand_logos_are_set_replaced_and_read_back,
    brand_numbers_are_added_and_removed_all_or_none_without_overlaps,
    partners_are_authorised_on_listed_numbers_and_revoked_once,
    the_dno_list_is_replaced_atomically,
    the_policy_version_moves_on_policy_writes_only,
    brand_policy_returns_what_was_written,
    opt_outs_count_changes_and_page_in_order_with_sources,
    brand_events_page_newest_first,
    concurrent_opt_out_writers_and_a_paging_reader_see_every_change_once,
    brand_callbacks_round_trip_through_create_update_and_policy,
    calls_are_recorded_in_batches_and_listed_newest_first_per_brand_and_number,
    ending_a_call_keeps_the_first_end,
    a_code_in_force_is_not_given_to_a_second_call,
    codes_are_redeemed_once_by_their_brand_before_expiry,
    concurrent_redemptions_give_the_call_to_exactly_one,
    purging_deletes_calls_started_before,
    reports_are_stored_once_per_idempotency_key_and_paged_newest_first,
    calls_and_reports_of_unknown_brands_are_not_found,
    reports_are_read_by_id_and_followed_in_id_order_across_brands,
    purging_reports_deletes_those_received_before_and_never_reuses_ids,
    concurrent_report_writers_and_a_following_reader_see_every_report_once,
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

async fn brands_are_created_once_by_slug_and_updated_in_place(s: &dyn Store) {
    let acme = s.create_customer("Acme", None).await.unwrap();
    let bank = s
        .create_brand("acme-bank", acme.id, &fields("Acme Bank"), T0)
        .await
        .unwrap();
    assert_eq!(
        (bank.slug.as_str(), bank.customer, bank.logo.as_ref()),
        ("acme-bank", acme.id, None)
    );
    assert_eq!((bank.created_at, bank.updated_at), (T0, T0));
    assert_eq!(bank.call_reasons, fields("Acme Bank").call_reasons);
    assert_eq!(bank.never_ask, fields("Acme Bank").never_ask);
    assert_eq!(
        s.brand_by_slug("acme-bank").await.unwrap(),
        Some(bank.clone())
    );
    assert_eq!(s.brand_by_slug("nobody").await.unwrap(), None);

    // A slug is taken once, whoever asks; an unknown customer gets nothing.
    let taken = s
        .create_brand("acme-bank", acme.id, &fields("Other"), T0)
        .await;
    assert!(is_conflict(&taken), "{taken:?}");
    let ghost = s
        .create_brand("ghost", CustomerId(999_999), &fields("Ghost"), T0)
        .await;
    assert!(is_not_found(&ghost), "{ghost:?}");
    assert_eq!(s.brand_by_slug("ghost").await.unwrap(), None);

    // An empty brand (no reasons, nothing it never asks) round-trips too.
    let empty = BrandFields {
        legal_name: "Acme Insurance Ltd".into(),
        display_name: "Acme Insurance".into(),
        call_reasons: vec![],
        never_ask: vec![],
        callback: None,
    };
    let insurer = s
        .create_brand("acme-insurance", acme.id, &empty, T0 + 1)
        .await
        .unwrap();
    assert_eq!(
        s.brands().await.unwrap(),
        vec![bank.clone(), insurer.clone()]
    );

    // An update replaces the fields, keeps slug, customer and creation time.
    let mut changed = fields("Acme");
    changed.call_reasons.truncate(1);
    changed.never_ask = vec!["We will never ask for your password".into()];
    let updated = s.update_brand(bank.id, &changed, T0 + 60).await.unwrap();
    assert_eq!(updated.id, bank.id);
    assert_eq!(updated.slug, "acme-bank");
    assert_eq!(updated.customer, acme.id);
    assert_eq!((updated.created_at, updated.updated_at), (T0, T0 + 60));
    assert_eq!(updated.display_name, "Acme");
    assert_eq!(updated.legal_name, "Acme plc");
    assert_eq!(updated.call_reasons, changed.call_reasons);
    assert_eq!(updated.never_ask, changed.never_ask);
    assert_eq!(
        s.brand_by_slug("acme-bank").await.unwrap(),
        Some(updated.clone())
    );
    assert_eq!(s.brands().await.unwrap(), vec![updated, insurer]);
    let missing = s.update_brand(BrandId(999_999), &changed, T0).await;
    assert!(is_not_found(&missing), "{missing:?}");
}

async fn brand_logos_are_set_replaced_and_read_back(s: &dyn Store) {
    let acme = s.create_customer("Acme", None).await.unwrap();
    let bank = s
        .create_brand("acme-bank", acme.id, &fields("Acme Bank"), T0)
        .await
        .unwrap();
    assert_eq!(s.brand_logo(bank.id).await.unwrap(), None);

    let png: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let meta = s
        .set_brand_logo(bank.id, "image/png", "sha256-first", &png, T0 + 10)
        .await
        .unwrap();
    assert_eq!(
        (meta.content_type.as_str(), meta.digest.as_str()),
        ("image/png", "sha256-first")
    );
    assert_eq!((meta.len, meta.updated_at), (10_000, T0 + 10));
    assert_eq!(
        s.brand_logo(bank.id).await.unwrap(),
        Some((meta.clone(), png))
    );
    // The brand carries the metadata; its own update time is its fields'.
    let read = s.brand_by_slug("acme-bank").await.unwrap().unwrap();
    assert_eq!(read.logo, Some(meta));
    assert_eq!(read.updated_at, T0);

    // Setting again replaces it whole.
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"/>"#.to_vec();
    let replaced = s
        .set_brand_logo(bank.id, "image/svg+xml", "sha256-second", &svg, T0 + 20)
        .await
        .unwrap();
    assert_eq!(replaced.len, svg.len() as u64);
    assert_eq!(
        s.brand_logo(bank.id).await.unwrap(),
        Some((replaced.clone(), svg))
    );
    assert_eq!(s.brands().await.unwrap()[0].logo, Some(replaced));

    let ghost = s
        .set_brand_logo(BrandId(999_999), "image/png", "sha256-x", b"x", T0)
        .await;
    assert!(is_not_found(&ghost), "{ghost:?}");
    assert_eq!(s.brand_logo(BrandId(999_999)).await.unwrap(), None);
}

async fn brand_numbers_are_added_and_removed_all_or_none_without_overlaps(s: &dyn Store) {
    use BrandNumberKind::{InboundOnly, Listed};
    let acme = s.create_customer("Acme", None).await.unwrap();
    let a = s
        .create_brand("acme-bank", acme.id, &fields("Acme Bank"), T0)
        .await
        .unwrap();
    let b = s
        .create_brand("bravo", acme.id, &fields("Bravo"), T0)
        .await
        .unwrap();
    s.add_brand_numbers(a.id, Listed, &[block("12155550000", 100)])
        .await
        .unwrap();
    s.add_brand_numbers(a.id, InboundOnly, &[block("18005550000", 10)])
        .await
        .unwrap();
    // Brand lists are apart from the inventory: the customer may own the same numbers.
    s.add_numbers(acme.id, &[block("12155550000", 100)])
        .await
        .unwrap();

    // Overlaps with any stored brand block (same brand other list, other brand), or within
    // the call, are refused, and nothing of a refused call is kept.
    for (brand, kind, blocks) in [
        (a.id, InboundOnly, vec![block("12155550099", 1)]),
        (a.id, Listed, vec![block("18005550005", 1)]),
        (b.id, Listed, vec![block("12155549990", 20)]),
        (b.id, InboundOnly, vec![block("18005550000", 10)]),
        (
            b.id,
            Listed,
            vec![block("13125550000", 10), block("13125550009", 1)],
        ),
        (
            b.id,
            Listed,
            vec![block("14155550000", 10), block("12155550050", 1)],
        ),
    ] {
        let r = s.add_brand_numbers(brand, kind, &blocks).await;
        assert!(is_conflict(&r), "{brand:?} {kind:?} {blocks:?}: {r:?}");
    }
    let ghost = s
        .add_brand_numbers(BrandId(999_999), Listed, &[block("19995550000", 1)])
        .await;
    assert!(is_not_found(&ghost), "{ghost:?}");
    // Adjacent blocks and other lengths are fine.
    s.add_brand_numbers(
        b.id,
        Listed,
        &[block("12155550100", 5), block("2155550000", 100)],
    )
    .await
    .unwrap();
    let blocks = |p: store::BrandPolicy| -> Vec<(BrandId, BrandNumberKind, String)> {
        p.blocks
            .into_iter()
            .map(|x| (x.brand, x.kind, x.block.to_string()))
            .collect()
    };
    let expected = vec![
        (b.id, Listed, "2155550000+100".to_owned()),
        (a.id, Listed, "12155550000+100".to_owned()),
        (b.id, Listed, "12155550100+5".to_owned()),
        (a.id, InboundOnly, "18005550000+10".to_owned()),
    ];
    assert_eq!(blocks(s.brand_policy().await.unwrap()), expected);

    // Removal: exactly as added, on the list it is on, of the brand it belongs to; all or none.
    for (brand, kind, blocks) in [
        (b.id, Listed, vec![block("12155550000", 100)]),
        (a.id, InboundOnly, vec![block("12155550000", 100)]),
        (a.id, Listed, vec![block("12155550000", 10)]),
        (
            a.id,
            Listed,
            vec![block("12155550000", 100), block("19995550000", 1)],
        ),
    ] {
        let r = s.remove_brand_numbers(brand, kind, &blocks).await;
        assert!(is_not_found(&r), "{brand:?} {kind:?} {blocks:?}: {r:?}");
    }
    assert_eq!(blocks(s.brand_policy().await.unwrap()), expected);
    assert_eq!(
        s.remove_brand_numbers(a.id, Listed, &[block("12155550000", 100)])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.remove_brand_numbers(
            b.id,
            Listed,
            &[block("2155550000", 100), block("12155550100", 5)]
        )
        .await
        .unwrap(),
        2
    );
    // Freed numbers may go to another brand.
    s.add_brand_numbers(b.id, InboundOnly, &[block("12155550000", 100)])
        .await
        .unwrap();
    assert_eq!(
        blocks(s.brand_policy().await.unwrap()),
        vec![
            (b.id, InboundOnly, "12155550000+100".to_owned()),
            (a.id, InboundOnly, "18005550000+10".to_owned()),
        ]
    );
}

async fn partners_are_authorised_on_listed_numbers_and_revoked_once(s: &dyn Store) {
    use BrandNumberKind::{InboundOnly, Listed};
    let acme = s.create_customer("Acme", None).await.unwrap();
    let call_centre = s.create_customer("CallCo", None).await.unwrap();
    let a = s
        .create_brand("acme-bank", acme.id, &fields("Acme Bank"), T0)
        .await
        .unwrap();
    let b = s
        .create_brand("bravo", acme.id, &fields("Bravo"), T0)
        .await
        .unwrap();
    s.add_brand_numbers(
        a.id,
        Listed,
        &[block("12155550000", 100), block("12155550100", 100)],
    )
    .await
    .unwrap();
    s.add_brand_numbers(
        a.id,
        Listed,
        &[block("12155550300", 10), block("18005550010", 10)],
    )
    .await
    .unwrap();
    s.add_brand_numbers(a.id, InboundOnly, &[block("18005550000", 10)])
        .await
        .unwrap();
    s.add_brand_numbers(b.id, Listed, &[block("13125550000", 10)])
        .await
        .unwrap();
    let reseller = s.create_customer("ResellCo", None).await.unwrap();

    let new = NewPartner {
        brand: a.id,
        customer: call_centre.id,
        numbers: vec![block("12155550100", 100), block("12155550010", 10)],
        reasons: vec!["fraud-alert".into()],
        valid_from: T0,
        valid_until: Some(T0 + 86_400),
    };
    let p = s.create_partner(&new, T0 + 5).await.unwrap();
    assert_eq!(p.brand, a.id);
    assert_eq!(p.customer, call_centre.id);
    assert_eq!(p.numbers, new.numbers, "kept in the order given");
    assert_eq!(p.reasons, new.reasons);
    assert_eq!((p.valid_from, p.valid_until), (T0, Some(T0 + 86_400)));
    assert_eq!((p.revoked_at, p.created_at), (None, T0 + 5));
    // Open-ended, any reason, and a block spanning adjacent listed blocks are fine.
    let open = s
        .create_partner(
            &NewPartner {
                brand: a.id,
                customer: reseller.id,
                numbers: vec![block("12155550000", 1), block("12155550050", 100)],
                reasons: vec![],
                valid_from: T0,
                valid_until: None,
            },
            T0 + 6,
        )
        .await
        .unwrap();
    assert_eq!(
        s.partners(a.id).await.unwrap(),
        vec![p.clone(), open.clone()]
    );
    assert_eq!(s.partners(b.id).await.unwrap(), vec![]);

    // Every number must be on the brand's listed numbers, and blocks must not overlap.
    for numbers in [
        vec![block("18005550000", 1)],                           // inbound-only
        vec![block("18005550005", 10)],                          // inbound-only, then listed
        vec![block("13125550000", 1)],                           // another brand's
        vec![block("19995550000", 1)],                           // nobody's
        vec![block("12155550150", 200)],                         // over a gap in the list
        vec![block("12155550305", 10)],                          // past the last listed
        vec![block("12155549999", 2)],                           // before the first listed
        vec![block("12155550000", 10), block("12155550005", 1)], // overlap each other
    ] {
        let r = s
            .create_partner(
                &NewPartner {
                    numbers: numbers.clone(),
                    ..new.clone()
                },
                T0,
            )
            .await;
        assert!(is_conflict(&r), "{numbers:?}: {r:?}");
    }
    let r = s
        .create_partner(
            &NewPartner {
                customer: CustomerId(999_999),
                ..new.clone()
            },
            T0,
        )
        .await;
    assert!(is_not_found(&r), "{r:?}");
    let r = s
        .create_partner(
            &NewPartner {
                brand: BrandId(999_999),
                ..new.clone()
            },
            T0,
        )
        .await;
    assert!(is_not_found(&r), "{r:?}");
    assert_eq!(
        s.partners(a.id).await.unwrap().len(),
        2,
        "refusals left nothing"
    );

    // Revocation: once, and only through the partner's own brand.
    assert!(!s.revoke_partner(b.id, p.id, T0 + 100).await.unwrap());
    assert!(
        !s.revoke_partner(a.id, PartnerId(999_999), T0 + 100)
            .await
            .unwrap()
    );
    assert!(s.revoke_partner(a.id, p.id, T0 + 100).await.unwrap());
    assert!(!s.revoke_partner(a.id, p.id, T0 + 200).await.unwrap());
    let partners = s.partners(a.id).await.unwrap();
    assert_eq!(
        partners[0].revoked_at,
        Some(T0 + 100),
        "the first revocation stands"
    );
    assert_eq!(partners[0].numbers, p.numbers);
    assert_eq!(partners[1], open);
}

async fn the_dno_list_is_replaced_atomically(s: &dyn Store) {
    assert_eq!(s.brand_policy().await.unwrap().dno, vec![]);
    let first = [
        block("18005550000", 1000),
        block("2125550000", 1),
        block("18005551000", 1),
    ];
    assert_eq!(s.replace_dno(&first).await.unwrap(), 3);
    assert_eq!(
        s.brand_policy().await.unwrap().dno,
        vec![first[1], first[0], first[2]],
        "by length, then first number"
    );
    let second = [block("18885550000", 10), block("18005550500", 1)];
    assert_eq!(s.replace_dno(&second).await.unwrap(), 2);
    assert_eq!(
        s.brand_policy().await.unwrap().dno,
        vec![second[1], second[0]]
    );
    // A refused import leaves the list in force untouched.
    let overlapping = [block("19005550000", 10), block("19005550009", 1)];
    let r = s.replace_dno(&overlapping).await;
    assert!(is_conflict(&r), "{r:?}");
    assert_eq!(
        s.brand_policy().await.unwrap().dno,
        vec![second[1], second[0]]
    );
    // A large import goes in as one.
    let many: Vec<NumberBlock> = (0..5_000u64)
        .map(|i| block(&format!("1900{:07}", i * 2), 1))
        .collect();
    assert_eq!(s.replace_dno(&many).await.unwrap(), 5_000);
    assert_eq!(s.brand_policy().await.unwrap().dno, many);
    assert_eq!(s.replace_dno(&[]).await.unwrap(), 0);
    assert_eq!(s.brand_policy().await.unwrap().dno, vec![]);
}

async fn the_policy_version_moves_on_policy_writes_only(s: &dyn Store) {
    use BrandNumberKind::Listed;
    let acme = s.create_customer("Acme", None).await.unwrap();
    let inventory = s.inventory_version().await.unwrap();
    let mut last = s.policy_version().await.unwrap();
    let mut moved = |label: &str, v: i64| {
        assert!(v > last, "{label}: {v} after {last}");
        last = v;
    };

    let a = s
        .create_brand("acme-bank", acme.id, &fields("Acme Bank"), T0)
        .await
        .unwrap();
    moved("create_brand", s.policy_version().await.unwrap());
    s.update_brand(a.id, &fields("Acme"), T0 + 1).await.unwrap();
    moved("update_brand", s.policy_version().await.unwrap());
    s.set_brand_logo(a.id, "image/png", "sha256-x", b"png", T0 + 2)
        .await
        .unwrap();
    moved("set_brand_logo", s.policy_version().await.unwrap());
    s.add_brand_numbers(a.id, Listed, &[block("12155550000", 10)])
        .await
        .unwrap();
    moved("add_brand_numbers", s.policy_version().await.unwrap());
    let p = s
        .create_partner(
            &NewPartner {
                brand: a.id,
                customer: acme.id,
                numbers: vec![block("12155550000", 1)],
                reasons: vec![],
                valid_from: T0,
                valid_until: None,
            },
            T0 + 3,
        )
        .await
        .unwrap();
    moved("create_partner", s.policy_version().await.unwrap());
    assert!(s.revoke_partner(a.id, p.id, T0 + 4).await.unwrap());
    moved("revoke_partner", s.policy_version().await.unwrap());
    s.replace_dno(&[block("18005550000", 1)]).await.unwrap();
    moved("replace_dno", s.policy_version().await.unwrap());
    s.remove_brand_numbers(a.id, Listed, &[block("12155550000", 10)])
        .await
        .unwrap();
    moved("remove_brand_numbers", s.policy_version().await.unwrap());
    assert_eq!(
        s.inventory_version().await.unwrap(),
        inventory,
        "policy writes are not inventory writes"
    );

    // Refused writes, no-ops, opt-outs, events and inventory writes leave it alone.
    let still = s.policy_version().await.unwrap();
    assert!(!s.revoke_partner(a.id, p.id, T0 + 5).await.unwrap());
    assert!(
        s.create_brand("acme-bank", acme.id, &fields("Again"), T0)
            .await
            .is_err()
    );
    assert!(
        s.remove_brand_numbers(a.id, Listed, &[block("12155550000", 10)])
            .await
            .is_err()
    );
    assert!(
        s.replace_dno(&[block("1", 2), block("2", 1)])
            .await
            .is_err()
    );
    assert_eq!(
        s.set_opt_outs(a.id, &[tn("447700900123")], true, "api", T0)
            .await
            .unwrap(),
        1
    );
    s.set_opt_outs(a.id, &[tn("447700900123")], false, "api", T0)
        .await
        .unwrap();
    s.record_brand_event(a.id, "opt_out_refused", &json!({}), T0)
        .await
        .unwrap();
    s.create_customer("Bravo", None).await.unwrap();
    s.add_numbers(acme.id, &[block("12155550000", 10)])
        .await
        .unwrap();
    assert_eq!(s.policy_version().await.unwrap(), still);
    assert_eq!(s.brand_policy().await.unwrap().version, still);
}

async fn brand_policy_returns_what_was_written(s: &dyn Store) {
    use BrandNumberKind::{InboundOnly, Listed};
    let acme = s.create_customer("Acme", None).await.unwrap();
    let call_centre = s.create_customer("CallCo", None).await.unwrap();
    let empty = s.brand_policy().await.unwrap();
    assert_eq!(
        (
            empty.brands.len(),
            empty.blocks.len(),
            empty.partners.len(),
            empty.dno.len()
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(empty.version, s.policy_version().await.unwrap());

    let a = s
        .create_brand("acme-bank", acme.id, &fields("Acme Bank"), T0)
        .await
        .unwrap();
    let b = s
        .create_brand("bravo", call_centre.id, &fields("Bravo"), T0)
        .await
        .unwrap();
    s.set_brand_logo(b.id, "image/webp", "sha256-b", b"webp", T0 + 1)
        .await
        .unwrap();
    s.add_brand_numbers(a.id, Listed, &[block("12155550000", 100)])
        .await
        .unwrap();
    s.add_brand_numbers(a.id, InboundOnly, &[block("18005550000", 10)])
        .await
        .unwrap();
    s.add_brand_numbers(b.id, Listed, &[block("13125550000", 10)])
        .await
        .unwrap();
    let pa = s
        .create_partner(
            &NewPartner {
                brand: a.id,
                customer: call_centre.id,
                numbers: vec![block("12155550050", 50), block("12155550000", 1)],
                reasons: vec!["fraud-alert".into(), "offers".into()],
                valid_from: T0,
                valid_until: Some(T0 + 1000),
            },
            T0 + 2,
        )
        .await
        .unwrap();
    let pb = s
        .create_partner(
            &NewPartner {
                brand: b.id,
                customer: acme.id,
                numbers: vec![block("13125550000", 10)],
                reasons: vec![],
                valid_from: T0 + 10,
                valid_until: None,
            },
            T0 + 3,
        )
        .await
        .unwrap();
    assert!(s.revoke_partner(b.id, pb.id, T0 + 4).await.unwrap());
    s.replace_dno(&[block("18885550000", 5)]).await.unwrap();

    let policy = s.brand_policy().await.unwrap();
    assert_eq!(policy.version, s.policy_version().await.unwrap());
    assert_eq!(policy.brands, s.brands().await.unwrap());
    assert_eq!(policy.brands[1].logo.as_ref().unwrap().digest, "sha256-b");
    assert_eq!(
        policy.blocks,
        vec![
            BrandBlock {
                brand: a.id,
                kind: Listed,
                block: block("12155550000", 100)
            },
            BrandBlock {
                brand: b.id,
                kind: Listed,
                block: block("13125550000", 10)
            },
            BrandBlock {
                brand: a.id,
                kind: InboundOnly,
                block: block("18005550000", 10)
            },
        ]
    );
    let mut revoked = pb.clone();
    revoked.revoked_at = Some(T0 + 4);
    assert_eq!(
        policy.partners,
        vec![pa, revoked],
        "revoked partners included"
    );
    assert_eq!(policy.dno, vec![block("18885550000", 5)]);
}

async fn opt_outs_count_changes_and_page_in_order_with_sources(s: &dyn Store) {
    let acme = s.create_customer("Acme", None).await.unwrap();
    let a = s
        .create_brand("acme-bank", acme.id, &fields("Acme Bank"), T0)
        .await
        .unwrap();
    let b = s
        .create_brand("bravo", acme.id, &fields("Bravo"), T0)
        .await
        .unwrap();
    let (n1, n2, n3, n4) = (
        tn("447700900001"),
        tn("447700900002"),
        tn("447700900003"),
        tn("447700900004"),
    );
    assert!(s.opt_out_changes(0, 100).await.unwrap().is_empty());
    assert!(!s.is_opted_out(a.id, &n1).await.unwrap());

    // A number given twice counts once; a repeated opt-out changes and records nothing.
    assert_eq!(
        s.set_opt_outs(a.id, &[n1, n2, n1], true, "import:list.csv", T0)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        s.set_opt_outs(a.id, &[n1], true, "page", T0 + 1)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.set_opt_outs(a.id, &[n2, n3], true, "page", T0 + 2)
            .await
            .unwrap(),
        1
    );
    // Opt-outs are per brand.
    assert_eq!(
        s.set_opt_outs(b.id, &[n1], true, "api", T0 + 3)
            .await
            .unwrap(),
        1
    );
    // Opting back in changes only numbers that were out.
    assert_eq!(
        s.set_opt_outs(a.id, &[n1, n4], false, "api", T0 + 4)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.set_opt_outs(a.id, &[n4], false, "api", T0 + 5)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.set_opt_outs(a.id, &[], true, "api", T0 + 5)
            .await
            .unwrap(),
        0
    );
    let ghost = s
        .set_opt_outs(BrandId(999_999), &[n1], true, "api", T0)
        .await;
    assert!(is_not_found(&ghost), "{ghost:?}");

    for (brand, number, out) in [
        (a.id, n1, false),
        (a.id, n2, true),
        (a.id, n3, true),
        (a.id, n4, false),
        (b.id, n1, true),
        (b.id, n2, false),
        (BrandId(999_999), n1, false),
    ] {
        assert_eq!(
            s.is_opted_out(brand, &number).await.unwrap(),
            out,
            "{brand:?} {number:?}"
        );
    }

    // Paged with a cursor, the log holds every change once, in order, with its source.
    let mut pages = Vec::new();
    let mut cursor = 0;
    loop {
        let page = s.opt_out_changes(cursor, 2).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        cursor = last.seq;
        pages.extend(page);
    }
    assert!(pages.windows(2).all(|w| w[0].seq < w[1].seq), "{pages:?}");
    assert_eq!(pages, s.opt_out_changes(0, 100).await.unwrap());
    let seen: Vec<(BrandId, &str, bool, &str, i64)> = pages
        .iter()
        .map(|c| (c.brand, c.tn.as_str(), c.opted_out, c.source.as_str(), c.at))
        .collect();
    assert_eq!(
        seen,
        vec![
            (a.id, "447700900001", true, "import:list.csv", T0),
            (a.id, "447700900002", true, "import:list.csv", T0),
            (a.id, "447700900003", true, "page", T0 + 2),
            (b.id, "447700900001", true, "api", T0 + 3),
            (a.id, "447700900001", false, "api", T0 + 4),
        ]
    );
    let from_third = s.opt_out_changes(pages[1].seq, 100).await.unwrap();
    assert_eq!(from_third, pages[2..].to_vec());
    assert!(
        s.opt_out_changes(pages[4].seq, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.opt_out_changes(0, 0).await.unwrap().is_empty());
}

async fn brand_events_page_newest_first(s: &dyn Store) {
    let acme = s.create_customer("Acme", None).await.unwrap();
    let a = s
        .create_brand("acme-bank", acme.id, &fields("Acme Bank"), T0)
        .await
        .unwrap();
    let b = s
        .create_brand("bravo", acme.id, &fields("Bravo"), T0)
        .await
        .unwrap();
    assert!(s.brand_events(a.id, None, 10).await.unwrap().is_empty());
    let mut written = Vec::new();
    for i in 0..5i64 {
        let detail = json!({
            "orig": format!("1215555{i:04}"),
            "dest": ["12125551213"],
            "partner": {"customer": i, "reasons": ["offers"]},
            "score": 0.5,
            "note": null,
        });
        let e = s
            .record_brand_event(a.id, "spoofed_listed_number", &detail, T0 + i)
            .await
            .unwrap();
        assert_eq!(
            (e.brand, e.at, e.kind.as_str()),
            (a.id, T0 + i, "spoofed_listed_number")
        );
        assert_eq!(e.detail, detail);
        written.push(e);
        s.record_brand_event(b.id, "dno_signing_refused", &json!({"i": i}), T0 + i)
            .await
            .unwrap();
    }
    assert!(written.windows(2).all(|w| w[0].seq < w[1].seq));
    let newest_first: Vec<_> = written.iter().rev().cloned().collect();
    assert_eq!(s.brand_events(a.id, None, 100).await.unwrap(), newest_first);

    // Paging back with `before`.
    let first = s.brand_events(a.id, None, 2).await.unwrap();
    assert_eq!(first, newest_first[..2].to_vec());
    let second = s.brand_events(a.id, Some(first[1].seq), 2).await.unwrap();
    assert_eq!(second, newest_first[2..4].to_vec());
    let third = s.brand_events(a.id, Some(second[1].seq), 2).await.unwrap();
    assert_eq!(third, newest_first[4..].to_vec());
    assert!(
        s.brand_events(a.id, Some(third[0].seq), 2)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.brand_events(a.id, None, 0).await.unwrap().is_empty());

    // Brands see their own events only.
    let theirs = s.brand_events(b.id, None, 100).await.unwrap();
    assert_eq!(theirs.len(), 5);
    assert!(
        theirs
            .iter()
            .all(|e| e.brand == b.id && e.kind == "dno_signing_refused")
    );
    assert_eq!(theirs[0].detail, json!({"i": 4}));
    let ghost = s
        .record_brand_event(BrandId(999_999), "x", &json!({}), T0)
        .await;
    assert!(is_not_found(&ghost), "{ghost:?}");
    assert!(
        s.brand_events(BrandId(999_999), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Guards the opt-out cursor: `seq` must follow commit order, or a reader paging while
/// writers commit out of order skips a change for good.
async fn concurrent_opt_out_writers_and_a_paging_reader_see_every_change_once(s: &dyn Store) {
    const WRITERS: usize = 3;
    const ROUNDS: usize = 25;
    let acme = s.create_customer("Acme", None).await.unwrap();
    let mut brands = Vec::new();
    for w in 0..WRITERS {
        brands.push(
            s.create_brand(&format!("brand-{w}"), acme.id, &fields("Brand"), T0)
                .await
                .unwrap()
                .id,
        );
    }
    let finished = AtomicUsize::new(0);

    let writer = |w: usize| {
        let finished = &finished;
        let brand = brands[w];
        async move {
            let mut changes = 0;
            for round in 0..ROUNDS {
                // Batches of numbers: some new, some already out; every third round opts
                // some back in.
                let tns: Vec<TelephoneNumber> = (0..6)
                    .map(|i| tn(&format!("4477009{w:02}{:03}", round * 3 + i)))
                    .collect();
                let source = format!("writer-{w}");
                changes += s
                    .set_opt_outs(brand, &tns, true, &source, T0 + round as i64)
                    .await
                    .unwrap();
                if round % 3 == 2 {
                    changes += s
                        .set_opt_outs(brand, &tns[..4], false, &source, T0 + round as i64)
                        .await
                        .unwrap();
                }
            }
            finished.fetch_add(1, Ordering::SeqCst);
            changes
        }
    };

    let reader = async {
        let mut seen: Vec<OptOutChange> = Vec::new();
        let mut cursor = 0;
        loop {
            // Read the flag before the page: once every writer is done, one more empty page
            // means nothing is left.
            let done = finished.load(Ordering::SeqCst) == WRITERS;
            let page = s.opt_out_changes(cursor, 7).await.unwrap();
            match page.last() {
                Some(last) => {
                    cursor = last.seq;
                    seen.extend(page);
                }
                None if done => break seen,
                None => tokio::time::sleep(std::time::Duration::from_millis(1)).await,
            }
        }
    };

    let (c0, c1, c2, seen) = tokio::join!(writer(0), writer(1), writer(2), reader);
    let total = c0 + c1 + c2;
    assert!(
        seen.windows(2).all(|w| w[0].seq < w[1].seq),
        "each change once, in order"
    );
    let all = s.opt_out_changes(0, u32::MAX).await.unwrap();
    assert_eq!(all.len() as u64, total);
    assert_eq!(
        seen.iter().map(|c| c.seq).collect::<Vec<_>>(),
        all.iter().map(|c| c.seq).collect::<Vec<_>>(),
        "the paging reader missed changes"
    );
    assert_eq!(seen, all);
    // And the state agrees with the last change of each number.
    let mut last = std::collections::HashMap::new();
    for c in &all {
        last.insert((c.brand, c.tn), c.opted_out);
    }
    for ((brand, number), out) in last {
        assert_eq!(s.is_opted_out(brand, &number).await.unwrap(), out);
    }
}

async fn brand_callbacks_round_trip_through_create_update_and_policy(s: &dyn Store) {
    let acme = s.create_customer("Acme", None).await.unwrap();
    let bank = s
        .create_brand("acme-bank", acme.id, &fields("Acme Bank"), T0)
        .await
        .unwrap();
    assert_eq!(bank.callback, Some(tn("18005550100")));
    assert_eq!(
        s.brand_by_slug("acme-bank").await.unwrap(),
        Some(bank.clone())
    );

    // An update replaces it like the other fields: cleared, then set to another number.
    let mut changed = fields("Acme Bank");
    changed.callback = None;
    let cleared = s.update_brand(bank.id, &changed, T0 + 1).await.unwrap();
    assert_eq!(cleared.callback, None);
    assert_eq!(
        s.brand_by_slug("acme-bank")
            .await
            .unwrap()
            .unwrap()
            .callback,
        None
    );
    changed.callback = Some(tn("+44 20 7946 0000"));
    let moved = s.update_brand(bank.id, &changed, T0 + 2).await.unwrap();
    assert_eq!(moved.callback, Some(tn("442079460000")));
    assert_eq!(s.brands().await.unwrap(), vec![moved.clone()]);
    assert_eq!(s.brand_policy().await.unwrap().brands, vec![moved]);
}

/// A call of `brand` to `called` started at `started_at`, without partner, reason or code.
fn new_call(brand: BrandId, called: &str, started_at: i64) -> NewCall {
    NewCall {
        brand,
        partner: None,
        calling: tn("12155550100"),
        called: tn(called),
        reason: None,
        agent_ref: None,
        agent_name: None,
        source: CallSource::Signed,
        started_at,
        code: None,
    }
}

/// A registered call holding a one-time code.
fn coded_call(brand: BrandId, digest: &str, started_at: i64, expires_at: i64) -> NewCall {
    NewCall {
        source: CallSource::Registered,
        code: Some(CallCode {
            digest: digest.to_owned(),
            expires_at,
        }),
        ..new_call(brand, "447700900123", started_at)
    }
}

async fn calls_are_recorded_in_batches_and_listed_newest_first_per_brand_and_number(s: &dyn Store) {
    let acme = s.create_customer("Acme", None).await.unwrap();
    let callco = s.create_customer("CallCo", None).await.unwrap();
    let a = s
        .create_brand("acme-bank", acme.id, &fields("Acme Bank"), T0)
        .await
        .unwrap();
    let b = s
        .create_brand("bravo", acme.id, &fields("Bravo"), T0)
        .await
        .unwrap();
    s.add_brand_numbers(a.id, BrandNumberKind::Listed, &[block("12155550000", 100)])
        .await
        .unwrap();
    let partner = s
        .create_partner(
            &NewPartner {
                brand: a.id,
                customer: callco.id,
                numbers: vec![block("12155550000", 10)],
                reasons: vec![],
                valid_from: T0,
                valid_until: None,
            },
            T0,
        )
        .await
        .unwrap();
    assert!(s.record_calls(&[]).await.unwrap().is_empty());

    let x = "447700900001";
    let full = NewCall {
        partner: Some(partner.id),
        reason: Some("fraud-alert".into()),
        agent_ref: Some("agent-42".into()),
        agent_name: Some("Sam".into()),
        source: CallSource::Registered,
        code: Some(CallCode {
            digest: "digest-full".into(),
            expires_at: T0 + 300,
        }),
        ..new_call(a.id, x, T0 + 10)
    };
    let first = vec![
        new_call(a.id, x, T0),
        full.clone(),
        new_call(a.id, "447700900002", T0 + 20),
        new_call(b.id, x, T0 + 30),
        new_call(a.id, x, T0 + 10),
    ];
    let ids1 = s.record_calls(&first).await.unwrap();
    assert_eq!(ids1.len(), first.len());
    assert!(ids1.windows(2).all(|w| w[0] < w[1]), "ids in input order");
    let second: Vec<NewCall> = (0..50).map(|i| new_call(a.id, x, T0 + 40 + i)).collect();
    let ids2 = s.record_calls(&second).await.unwrap();
    assert_eq!(ids2.len(), 50);
    assert!(ids2.windows(2).all(|w| w[0] < w[1]));
    assert!(ids1.last().unwrap() < ids2.first().unwrap());

    // Every field reads back; another brand's id finds nothing.
    let stored = s.call(a.id, ids1[1]).await.unwrap().unwrap();
    assert_eq!(
        (stored.id, stored.brand, stored.partner, stored.source),
        (ids1[1], a.id, Some(partner.id), CallSource::Registered)
    );
    assert_eq!((stored.calling, stored.called), (tn("12155550100"), tn(x)));
    assert_eq!(stored.reason.as_deref(), Some("fraud-alert"));
    assert_eq!(stored.agent_ref.as_deref(), Some("agent-42"));
    assert_eq!(stored.agent_name.as_deref(), Some("Sam"));
    assert_eq!((stored.started_at, stored.ended_at), (T0 + 10, None));
    assert_eq!(
        (stored.code_expires_at, stored.code_used_at),
        (Some(T0 + 300), None)
    );
    assert_eq!(s.call(b.id, ids1[1]).await.unwrap(), None);
    assert_eq!(s.call(a.id, CallId(999_999)).await.unwrap(), None);

    // Newest first, ties by highest id; only that brand and number; from `since`.
    let listed = s.calls_to(a.id, &tn(x), T0, 100).await.unwrap();
    let mut expected: Vec<CallId> = ids2.iter().rev().copied().collect();
    expected.extend([ids1[4], ids1[1], ids1[0]]);
    assert_eq!(listed.iter().map(|c| c.id).collect::<Vec<_>>(), expected);
    assert!(listed.iter().all(|c| c.brand == a.id && c.called == tn(x)));
    assert_eq!(listed[51], stored);
    let since = s.calls_to(a.id, &tn(x), T0 + 10, 100).await.unwrap();
    assert_eq!(since.len(), 52);
    assert_eq!(since.last().unwrap().id, ids1[1]);
    let limited = s.calls_to(a.id, &tn(x), T0, 3).await.unwrap();
    assert_eq!(limited, listed[..3].to_vec());
    assert!(s.calls_to(a.id, &tn(x), T0, 0).await.unwrap().is_empty());
    let theirs = s.calls_to(b.id, &tn(x), T0, 100).await.unwrap();
    assert_eq!(
        theirs.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![ids1[3]]
    );
    assert!(
        s.calls_to(a.id, &tn("447700900003"), T0, 100)
            .await
            .unwrap()
            .is_empty()
    );

    // A partner of another brand, or none at all, is not found, and the batch stores nothing.
    for ghost in [partner.id, PartnerId(999_999)] {
        let batch = [
            new_call(b.id, x, T0 + 1_000),
            NewCall {
                partner: Some(ghost),
                ..new_call(b.id, x, T0 + 1_000)
            },
        ];
        let refused = s.record_calls(&batch).await;
        assert!(is_not_found(&refused), "{refused:?}");
    }
    assert_eq!(s.calls_to(b.id, &tn(x), T0, 100).await.unwrap(), theirs);
}

async fn ending_a_call_keeps_the_first_end(s: &dyn Store) {
    let acme = s.create_customer("Acme", None).await.unwrap();
    let a = s
        .create_brand("acme-bank", acme.id, &fields("Acme Bank"), T0)
        .await
        .unwrap();
    let b = s
        .create_brand("bravo", acme.id, &fields("Bravo"), T0)
        .await
        .unwrap();
    let ids = s
        .record_calls(&[new_call(a.id, "447700900001", T0)])
        .await
        .unwrap();
    let ended = s.end_call(a.id, ids[0], T0 + 60).await.unwrap();
    assert_eq!((ended.id, ended.ended_at), (ids[0], Some(T0 + 60)));
    let again = s.end_call(a.id, ids[0], T0 + 90).await.unwrap();
    assert_eq!(again, ended, "the first end stays");
    assert_eq!(s.call(a.id, ids[0]).await.unwrap(), Some(ended));

    let theirs = s.end_call(b.id, ids[0], T0 + 90).await;
    assert!(is_not_found(&theirs), "{theirs:?}");
    let missing = s.end_call(a.id, CallId(999_999), T0 + 90).await;
    assert!(is_not_found(&missing), "{missing:?}");
}

async fn a_code_in_force_is_not_given_to_a_second_call(s: &dyn Store) {
    let acme = s.create_customer("Acme", None).await.unwrap();
    let a = s
        .create_brand("acme-bank", acme.id, &fields("Acme Bank"), T0)
        .await
        .unwrap();
    let b = s
        .create_brand("bravo", acme.id, &fields("Bravo"), T0)
        .await
        .unwrap();
    let to = tn("447700900123");
    s.record_calls(&[coded_call(a.id, "d1", T0, T0 + 300)])
        .await
        .unwrap();

    // The same digest of the same brand, unused and unexpired at the new call's start: refused
    // with the whole batch; so is a batch that reuses a digest of its own.
    for batch in [
        vec![
            new_call(a.id, "447700900123", T0 + 100),
            coded_call(a.id, "d1", T0 + 100, T0 + 400),
        ],
        vec![coded_call(a.id, "d1", T0 + 299, T0 + 400)],
        vec![
            coded_call(a.id, "d2", T0 + 100, T0 + 400),
            coded_call(a.id, "d2", T0 + 200, T0 + 500),
        ],
    ] {
        let refused = s.record_calls(&batch).await;
        assert!(is_conflict(&refused), "{refused:?}");
    }
    assert_eq!(
        s.calls_to(a.id, &to, T0, 100).await.unwrap().len(),
        1,
        "a refused batch stores nothing"
    );

    // Another brand's digest, a code expired by the new call's start, or one used: fine.
    s.record_calls(&[coded_call(b.id, "d1", T0 + 100, T0 + 400)])
        .await
        .unwrap();
    s.record_calls(&[coded_call(a.id, "d1", T0 + 300, T0 + 600)])
        .await
        .unwrap();
    s.record_calls(&[coded_call(a.id, "d3", T0 + 10, T0 + 310)])
        .await
        .unwrap();
    assert!(s.redeem_code(a.id, "d3", T0 + 20).await.unwrap().is_some());
    s.record_calls(&[
        coded_call(a.id, "d3", T0 + 30, T0 + 330),
        // Within a batch too: the first expired by the second's start.
        coded_call(a.id, "d4", T0 + 30, T0 + 40),
        coded_call(a.id, "d4", T0 + 40, T0 + 340),
    ])
    .await
    .unwrap();
    assert_eq!(s.calls_to(a.id, &to, T0, 100).await.unwrap().len(), 6);
}

async fn codes_are_redeemed_once_by_their_brand_before_expiry(s: &dyn Store) {
    let acme = s.create_customer("Acme", None).await.unwrap();
    let a = s
        .create_brand("acme-bank", acme.id, &fields("Acme Bank"), T0)
        .await
        .unwrap();
    let b = s
        .create_brand("bravo", acme.id, &fields("Bravo"), T0)
        .await
        .unwrap();
    let ids = s
        .record_calls(&[
            coded_call(a.id, "c1", T0, T0 + 300),
            coded_call(a.id, "c2", T0, T0 + 300),
        ])
        .await
        .unwrap();

    // Unknown, another brand's, expired: nothing, and nothing changes.
    assert_eq!(s.redeem_code(a.id, "nope", T0 + 1).await.unwrap(), None);
    assert_eq!(s.redeem_code(b.id, "c1", T0 + 1).await.unwrap(), None);
    assert_eq!(s.redeem_code(a.id, "c2", T0 + 300).await.unwrap(), None);
    assert_eq!(s.redeem_code(a.id, "c2", T0 + 301).await.unwrap(), None);
    assert_eq!(
        s.call(a.id, ids[1]).await.unwrap().unwrap().code_used_at,
        None
    );

    let used = s.redeem_code(a.id, "c1", T0 + 10).await.unwrap().unwrap();
    assert_eq!(
        (used.id, used.code_used_at, used.code_expires_at),
        (ids[0], Some(T0 + 10), Some(T0 + 300))
    );
    assert_eq!(s.call(a.id, ids[0]).await.unwrap(), Some(used));
    assert_eq!(s.redeem_code(a.id, "c1", T0 + 11).await.unwrap(), None);
    assert_eq!(
        s.call(a.id, ids[0]).await.unwrap().unwrap().code_used_at,
        Some(T0 + 10),
        "a second use changes nothing"
    );
}

/// Guards the atomicity of `redeem_code`: of concurrent uses of one code, one wins.
async fn concurrent_redemptions_give_the_call_to_exactly_one(s: &dyn Store) {
    let acme = s.create_customer("Acme", None).await.unwrap();
    let a = s
        .create_brand("acme-bank", acme.id, &fields("Acme Bank"), T0)
        .await
        .unwrap();
    for round in 0..5 {
        let digest = format!("code-{round}");
        let ids = s
            .record_calls(&[coded_call(a.id, &digest, T0, T0 + 300)])
            .await
            .unwrap();
        let redeem = || s.redeem_code(a.id, &digest, T0 + 5);
        let results = tokio::join!(
            redeem(),
            redeem(),
            redeem(),
            redeem(),
            redeem(),
            redeem(),
            redeem(),
            redeem()
        );
        let results = [
            results.0, results.1, results.2, results.3, results.4, results.5, results.6, results.7,
        ];
        let winners: Vec<_> = results.into_iter().filter_map(Result::unwrap).collect();
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        assert_eq!(winners[0].id, ids[0]);
        assert_eq!(winners[0].code_used_at, Some(T0 + 5));
    }
}

async fn purging_deletes_calls_started_before(s: &dyn Store) {
    let acme = s.create_customer("Acme", None).await.unwrap();
    let a = s
        .create_brand("acme-bank", acme.id, &fields("Acme Bank"), T0)
        .await
        .unwrap();
    let x = "447700900001";
    let ids = s
        .record_calls(&[
            new_call(a.id, x, T0),
            new_call(a.id, x, T0 + 10),
            new_call(a.id, x, T0 + 20),
        ])
        .await
        .unwrap();
    assert_eq!(s.purge_calls(T0).await.unwrap(), 0);
    assert_eq!(s.purge_calls(T0 + 10).await.unwrap(), 1);
    assert_eq!(s.call(a.id, ids[0]).await.unwrap(), None);
    assert_eq!(
        s.calls_to(a.id, &tn(x), 0, 100)
            .await
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        vec![ids[2], ids[1]]
    );
    assert_eq!(s.purge_calls(T0 + 10).await.unwrap(), 0);
    assert_eq!(s.purge_calls(T0 + 1_000).await.unwrap(), 2);
    assert!(s.calls_to(a.id, &tn(x), 0, 100).await.unwrap().is_empty());
}

/// A report of `brand` from the check page, with nothing optional but the brand.
fn new_report(brand: Option<BrandId>, text: &str, received_at: i64) -> NewReport {
    NewReport {
        brand,
        claimed_brand: None,
        calling: None,
        called: None,
        call_at: None,
        asked: vec![],
        text: text.to_owned(),
        channel: ReportChannel::CheckPage,
        idempotency_key: None,
        received_at,
    }
}

async fn reports_are_stored_once_per_idempotency_key_and_paged_newest_first(s: &dyn Store) {
    let acme = s.create_customer("Acme", None).await.unwrap();
    let a = s
        .create_brand("acme-bank", acme.id, &fields("Acme Bank"), T0)
        .await
        .unwrap();
    let b = s
        .create_brand("bravo", acme.id, &fields("Bravo"), T0)
        .await
        .unwrap();
    assert!(s.reports(None, None, 10).await.unwrap().is_empty());

    let full = NewReport {
        claimed_brand: Some("Acme Bank fraud team".into()),
        calling: Some(tn("+1 215 555 0100")),
        called: Some(tn("447700900001")),
        call_at: Some(T0 - 60),
        asked: vec![Asked::GiftCards, Asked::Password, Asked::GiftCards],
        channel: ReportChannel::Api,
        idempotency_key: Some("key-1".into()),
        ..new_report(Some(a.id), "They asked for my PIN", T0)
    };
    let (first, created) = s.create_report(&full).await.unwrap();
    assert!(created);
    assert_eq!(
        (first.brand, first.claimed_brand.as_deref()),
        (Some(a.id), Some("Acme Bank fraud team"))
    );
    assert_eq!(
        (first.calling, first.called, first.call_at),
        (
            Some(tn("12155550100")),
            Some(tn("447700900001")),
            Some(T0 - 60)
        )
    );
    assert_eq!(first.asked, vec![Asked::Password, Asked::GiftCards]);
    assert_eq!(
        (first.text.as_str(), first.channel, first.received_at),
        ("They asked for my PIN", ReportChannel::Api, T0)
    );
    assert_eq!(
        s.reports(None, None, 10).await.unwrap(),
        vec![first.clone()]
    );

    // The same key again, whatever the rest says: the first report, nothing stored.
    let repeat = NewReport {
        text: "a retry with other text".into(),
        brand: Some(b.id),
        received_at: T0 + 5,
        ..full.clone()
    };
    assert_eq!(
        s.create_report(&repeat).await.unwrap(),
        (first.clone(), false)
    );
    assert_eq!(
        s.reports(None, None, 10).await.unwrap(),
        vec![first.clone()]
    );

    // Reports without a key are all stored; with or without a brand.
    let mut all = vec![first];
    for i in 0..6i64 {
        let brand = match i % 3 {
            0 => Some(a.id),
            1 => Some(b.id),
            _ => None,
        };
        let (r, created) = s
            .create_report(&new_report(brand, &format!("report {i}"), T0 + i))
            .await
            .unwrap();
        assert!(created);
        assert!(r.asked.is_empty());
        all.push(r);
    }
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    let newest_first: Vec<_> = all.iter().rev().cloned().collect();
    assert_eq!(s.reports(None, None, 100).await.unwrap(), newest_first);

    // One brand's, paged with `before`.
    let of_a: Vec<_> = newest_first
        .iter()
        .filter(|r| r.brand == Some(a.id))
        .cloned()
        .collect();
    assert_eq!(of_a.len(), 3);
    assert_eq!(s.reports(Some(a.id), None, 100).await.unwrap(), of_a);
    let page1 = s.reports(Some(a.id), None, 2).await.unwrap();
    assert_eq!(page1, of_a[..2].to_vec());
    let page2 = s.reports(Some(a.id), Some(page1[1].id), 2).await.unwrap();
    assert_eq!(page2, of_a[2..].to_vec());
    assert!(
        s.reports(Some(a.id), Some(page2[0].id), 2)
            .await
            .unwrap()
            .is_empty()
    );
    let all_page = s.reports(None, Some(newest_first[2].id), 3).await.unwrap();
    assert_eq!(all_page, newest_first[3..6].to_vec());
    assert!(s.reports(None, None, 0).await.unwrap().is_empty());
    assert!(
        s.reports(Some(BrandId(999_999)), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.reports(None, Some(ReportId(all[0].id.0)), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn calls_and_reports_of_unknown_brands_are_not_found(s: &dyn Store) {
    let acme = s.create_customer("Acme", None).await.unwrap();
    let a = s
        .create_brand("acme-bank", acme.id, &fields("Acme Bank"), T0)
        .await
        .unwrap();
    let x = "447700900001";
    let ghost = BrandId(999_999);
    let calls = s
        .record_calls(&[new_call(a.id, x, T0), new_call(ghost, x, T0)])
        .await;
    assert!(is_not_found(&calls), "{calls:?}");
    assert!(
        s.calls_to(a.id, &tn(x), 0, 10).await.unwrap().is_empty(),
        "all or none"
    );
    let coded = s.record_calls(&[coded_call(ghost, "d", T0, T0 + 1)]).await;
    assert!(is_not_found(&coded), "{coded:?}");

    let report = NewReport {
        idempotency_key: Some("k".into()),
        ..new_report(Some(ghost), "who?", T0)
    };
    let refused = s.create_report(&report).await;
    assert!(is_not_found(&refused), "{refused:?}");
    assert!(s.reports(None, None, 10).await.unwrap().is_empty());
    // The key was not used up by the refused report.
    let (stored, created) = s
        .create_report(&NewReport {
            brand: Some(a.id),
            ..report
        })
        .await
        .unwrap();
    assert!(created);
    assert_eq!(stored.brand, Some(a.id));
}

async fn reports_are_read_by_id_and_followed_in_id_order_across_brands(s: &dyn Store) {
    let acme = s.create_customer("Acme", None).await.unwrap();
    let a = s
        .create_brand("acme-bank", acme.id, &fields("Acme Bank"), T0)
        .await
        .unwrap();
    let b = s
        .create_brand("bravo", acme.id, &fields("Bravo"), T0)
        .await
        .unwrap();
    assert!(s.reports_after(ReportId(0), 10).await.unwrap().is_empty());
    assert_eq!(s.report(ReportId(1)).await.unwrap(), None);

    let mut all = Vec::new();
    for i in 0..7i64 {
        let brand = [Some(a.id), Some(b.id), None][(i % 3) as usize];
        let report = NewReport {
            calling: Some(tn("12155550100")),
            asked: vec![Asked::Card],
            channel: ReportChannel::Verification,
            idempotency_key: Some(format!("verification:{i}")),
            ..new_report(brand, &format!("report {i}"), T0 + i)
        };
        all.push(s.create_report(&report).await.unwrap().0);
    }
    // By id: exactly what was stored; an unknown id is none.
    for r in &all {
        assert_eq!(s.report(r.id).await.unwrap().as_ref(), Some(r));
    }
    let last = all.last().unwrap().id;
    assert_eq!(s.report(ReportId(last.0 + 1)).await.unwrap(), None);

    // Followed from the start in pages: every brand's (and none's), oldest first, each once.
    assert_eq!(s.reports_after(ReportId(0), 100).await.unwrap(), all);
    let mut seen = Vec::new();
    let mut cursor = ReportId(0);
    loop {
        let page = s.reports_after(cursor, 3).await.unwrap();
        let Some(next) = page.last() else { break };
        assert!(page.len() <= 3);
        cursor = next.id;
        seen.extend(page);
    }
    assert_eq!(seen, all);
    assert_eq!(
        s.reports_after(all[3].id, 2).await.unwrap(),
        all[4..6].to_vec()
    );
    assert!(s.reports_after(last, 10).await.unwrap().is_empty());
    assert!(s.reports_after(ReportId(0), 0).await.unwrap().is_empty());

    // A repeated key adds nothing to follow.
    let repeat = NewReport {
        idempotency_key: Some("verification:0".into()),
        ..new_report(Some(a.id), "again", T0 + 100)
    };
    assert_eq!(
        s.create_report(&repeat).await.unwrap(),
        (all[0].clone(), false)
    );
    assert!(s.reports_after(last, 10).await.unwrap().is_empty());
}

async fn purging_reports_deletes_those_received_before_and_never_reuses_ids(s: &dyn Store) {
    let acme = s.create_customer("Acme", None).await.unwrap();
    let a = s
        .create_brand("acme-bank", acme.id, &fields("Acme Bank"), T0)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..5i64 {
        let report = NewReport {
            idempotency_key: Some(format!("api:{i}")),
            ..new_report(Some(a.id), &format!("report {i}"), T0 + i * 100)
        };
        ids.push(s.create_report(&report).await.unwrap().0.id);
    }
    assert_eq!(
        s.purge_reports(T0).await.unwrap(),
        0,
        "none received before T0"
    );
    // Received strictly before T0 + 200: the first two.
    assert_eq!(s.purge_reports(T0 + 200).await.unwrap(), 2);
    assert_eq!(s.report(ids[0]).await.unwrap(), None);
    assert_eq!(s.report(ids[1]).await.unwrap(), None);
    let left: Vec<ReportId> = s
        .reports_after(ReportId(0), 100)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(left, ids[2..].to_vec());
    assert_eq!(s.purge_reports(T0 + 200).await.unwrap(), 0);

    // The newest purged too: the next report still gets a larger id (a follower's cursor
    // stays valid), and a purged report's key is free again.
    assert_eq!(s.purge_reports(T0 + 10_000).await.unwrap(), 3);
    assert!(s.reports_after(ReportId(0), 100).await.unwrap().is_empty());
    let (again, created) = s
        .create_report(&NewReport {
            idempotency_key: Some("api:4".into()),
            ..new_report(Some(a.id), "after the purge", T0 + 20_000)
        })
        .await
        .unwrap();
    assert!(created);
    assert!(again.id > ids[4], "{} after {}", again.id, ids[4]);
    assert_eq!(s.reports_after(ids[4], 10).await.unwrap(), vec![again]);
}

/// Guards the report cursor: ids must follow commit order, or a node following reports while
/// writers commit out of order skips a report for good.
async fn concurrent_report_writers_and_a_following_reader_see_every_report_once(s: &dyn Store) {
    const WRITERS: usize = 3;
    const REPORTS: usize = 40;
    let acme = s.create_customer("Acme", None).await.unwrap();
    let brand = s
        .create_brand("acme-bank", acme.id, &fields("Acme Bank"), T0)
        .await
        .unwrap()
        .id;
    let finished = AtomicUsize::new(0);

    let writer = |w: usize| {
        let finished = &finished;
        async move {
            let mut created = 0;
            for i in 0..REPORTS {
                // Some with a key, some repeated, some for no brand.
                let key = (i % 4 != 3).then(|| format!("api:{w}:{}", i - i % 2));
                let report = NewReport {
                    idempotency_key: key,
                    ..new_report(
                        (i % 5 != 0).then_some(brand),
                        &format!("writer {w} report {i}"),
                        T0 + i as i64,
                    )
                };
                if s.create_report(&report).await.unwrap().1 {
                    created += 1;
                }
            }
            finished.fetch_add(1, Ordering::SeqCst);
            created
        }
    };

    let reader = async {
        let mut seen = Vec::new();
        let mut cursor = ReportId(0);
        loop {
            // Read the flag before the page: once every writer is done, one more empty page
            // means nothing is left.
            let done = finished.load(Ordering::SeqCst) == WRITERS;
            let page = s.reports_after(cursor, 5).await.unwrap();
            match page.last() {
                Some(last) => {
                    cursor = last.id;
                    seen.extend(page);
                }
                None if done => break seen,
                None => tokio::time::sleep(std::time::Duration::from_millis(1)).await,
            }
        }
    };

    let (c0, c1, c2, seen) = tokio::join!(writer(0), writer(1), writer(2), reader);
    let all = s.reports_after(ReportId(0), u32::MAX).await.unwrap();
    assert_eq!(all.len(), c0 + c1 + c2);
    assert!(
        seen.windows(2).all(|w| w[0].id < w[1].id),
        "each report once, in order"
    );
    assert_eq!(
        seen.iter().map(|r| r.id).collect::<Vec<_>>(),
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        "the following reader missed reports"
    );
    assert_eq!(seen, all);
}
