//! The Redis replay cache against a real Redis server (`CALLPROOF_TEST_REDIS_URL`, default
//! the local one). An unreachable server fails the test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

use engine::replay::{RedisReplayCache, ReplayCache as _, Sighting};

fn url() -> String {
    std::env::var("CALLPROOF_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

fn unique() -> String {
    use std::io::Read as _;
    let mut b = [0u8; 8];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut b)
        .unwrap();
    format!("cptest:{:016x}:", u64::from_le_bytes(b))
}

#[tokio::test]
async fn a_passport_seen_by_one_node_is_a_replay_on_another() {
    let prefix = unique();
    let node_a = RedisReplayCache::connect(&url(), &prefix)
        .await
        .unwrap_or_else(|e| panic!("Redis at {} is required for this test: {e}", url()));
    let node_b = RedisReplayCache::connect(&url(), &prefix).await.unwrap();
    assert_eq!(
        node_a.sight("sig1", 1000, 2).await.unwrap(),
        Sighting::First
    );
    assert_eq!(
        node_b.sight("sig1", 1004, 2).await.unwrap(),
        Sighting::Repeat { secs_ago: 4 }
    );
    assert_eq!(
        node_b.sight("sig2", 1004, 2).await.unwrap(),
        Sighting::First
    );
    // Redis forgets it after the TTL.
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    assert_eq!(
        node_a.sight("sig1", 1010, 2).await.unwrap(),
        Sighting::First
    );
}

#[tokio::test]
async fn an_unreachable_redis_is_an_error_not_a_hang() {
    let started = std::time::Instant::now();
    let result = RedisReplayCache::connect("redis://127.0.0.1:1/", "x").await;
    assert!(result.is_err());
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}
