//! The Redis replay cache and rate limiter against a real Redis server
//! (`CALLPROOF_TEST_REDIS_URL`, default the local one): two nodes share what they see and
//! count. An unreachable server fails the test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

use engine::rate_limit::{Counter, RateLimiter as _, RedisRateLimiter};
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

#[tokio::test]
async fn two_nodes_count_into_the_same_window() {
    let prefix = unique();
    let a = RedisRateLimiter::connect(&url(), &prefix)
        .await
        .unwrap_or_else(|e| panic!("Redis at {} is required for this test: {e}", url()));
    let b = RedisRateLimiter::connect(&url(), &prefix).await.unwrap();
    let client = Counter {
        key: "client:198.51.100.7",
        window_secs: 60,
    };
    let number = Counter {
        key: "tn:12125550100",
        window_secs: 60,
    };
    assert_eq!(a.hit(&[client, number], 6000).await.unwrap(), vec![1, 1]);
    assert_eq!(b.hit(&[client], 6030).await.unwrap(), vec![2]);
    assert_eq!(a.hit(&[number, client], 6059).await.unwrap(), vec![2, 3]);
    assert_eq!(
        b.hit(&[client], 6060).await.unwrap(),
        vec![1],
        "the next window starts afresh"
    );
    let long = Counter {
        key: "client:198.51.100.7",
        window_secs: 600,
    };
    assert_eq!(
        a.hit(&[long], 6060).await.unwrap(),
        vec![1],
        "another window length is another counter"
    );
}

#[tokio::test]
async fn an_unreachable_redis_limiter_is_an_error_not_a_hang() {
    let started = std::time::Instant::now();
    let result = RedisRateLimiter::connect("redis://127.0.0.1:1/", "x").await;
    assert!(result.is_err());
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}
