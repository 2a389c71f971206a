//! Replay detection: the same PASSporT presented twice within its freshness window is a
//! copied signature on another call. Each PASSporT is keyed by its signature (unique per
//! signing, since ES256 signatures are randomised) and remembered for the window.
//!
//! [`MemoryReplayCache`] serves one node; [`RedisReplayCache`] is shared by every node
//! (`SET key NX EX ttl`), so a PASSporT replayed to another node is caught too.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;

/// Why the replay cache could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// Redis failed or could not be reached.
    #[error("replay cache unavailable: {detail}")]
    Unavailable {
        /// The driver's message.
        detail: String,
    },
}

/// What the cache knows of a PASSporT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sighting {
    /// Not seen before (now remembered).
    First,
    /// Seen before, `secs_ago` seconds ago.
    Repeat {
        /// Time since the first sighting.
        secs_ago: i64,
    },
}

/// A replay cache.
#[async_trait]
pub trait ReplayCache: Send + Sync + std::fmt::Debug + 'static {
    /// Records `key` at `now` (Unix seconds) for `ttl_secs`, and says whether it was new.
    async fn sight(&self, key: &str, now: i64, ttl_secs: u64) -> Result<Sighting, ReplayError>;
}

const SHARDS: usize = 16;

/// A bounded in-memory replay cache, sharded to keep lock hold times short.
#[derive(Debug)]
pub struct MemoryReplayCache {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
}

#[derive(Debug, Default)]
struct Shard {
    seen: HashMap<Box<str>, i64>,
    /// (expiry, key), in insertion order; expiries are non-decreasing for a fixed TTL.
    order: VecDeque<(i64, Box<str>)>,
}

impl MemoryReplayCache {
    /// A cache holding at most `capacity` PASSporTs (the oldest are forgotten first).
    pub fn new(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS).max(1);
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard,
        }
    }

    fn shard(&self, key: &str) -> Option<&Mutex<Shard>> {
        self.shards.get(shard_of(key, SHARDS))
    }
}

#[async_trait]
impl ReplayCache for MemoryReplayCache {
    async fn sight(&self, key: &str, now: i64, ttl_secs: u64) -> Result<Sighting, ReplayError> {
        let ttl = i64::try_from(ttl_secs).unwrap_or(i64::MAX);
        let shard = self.shard(key).ok_or(ReplayError::Unavailable {
            detail: "no shard".into(),
        })?;
        let mut s = shard.lock().map_err(|_| ReplayError::Unavailable {
            detail: "lock poisoned".into(),
        })?;
        while let Some((expiry, _)) = s.order.front() {
            if *expiry > now && s.order.len() < self.per_shard {
                break;
            }
            if let Some((expiry, old)) = s.order.pop_front()
                && s.seen.get(&old) == Some(&(expiry - ttl))
            {
                s.seen.remove(&old);
            }
        }
        if let Some(&first) = s.seen.get(key)
            && first + ttl > now
        {
            return Ok(Sighting::Repeat {
                secs_ago: now - first,
            });
        }
        let key: Box<str> = key.into();
        s.seen.insert(key.clone(), now);
        s.order.push_back((now + ttl, key));
        Ok(Sighting::First)
    }
}

/// Which of `shards` holds `key`: FNV-1a, cheap and good enough to spread keys.
pub(crate) fn shard_of(key: &str, shards: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    usize::try_from(h % u64::try_from(shards.max(1)).unwrap_or(1)).unwrap_or(0)
}

/// A replay cache in Redis, shared by all nodes.
#[derive(Clone)]
pub struct RedisReplayCache {
    conn: redis::aio::ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisReplayCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisReplayCache")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisReplayCache {
    /// Connects to `url`; keys are `<prefix>replay:<signature>`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, ReplayError> {
        let conn = redis_manager(url, std::time::Duration::from_secs(2), 2)
            .await
            .map_err(|e| ReplayError::Unavailable {
                detail: e.to_string(),
            })?;
        let cache = Self {
            conn,
            prefix: prefix.to_owned(),
        };
        // SET ... NX GET needs Redis 7.0: find out now, not on the first call.
        let probe = format!("probe:{}", std::process::id());
        cache
            .sight(&probe, 0, 1)
            .await
            .map_err(|e| ReplayError::Unavailable {
                detail: format!("{e} (the replay cache needs Redis 7.0 or later)"),
            })?;
        Ok(cache)
    }
}

/// A reconnecting Redis connection to `url`: connecting may take 2 s, an answer
/// `response_timeout`, and a failed command is retried `retries` times.
pub(crate) async fn redis_manager(
    url: &str,
    response_timeout: std::time::Duration,
    retries: usize,
) -> Result<redis::aio::ConnectionManager, redis::RedisError> {
    let client = redis::Client::open(url)?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(std::time::Duration::from_secs(2)))
        .set_response_timeout(Some(response_timeout))
        .set_number_of_retries(retries);
    redis::aio::ConnectionManager::new_with_config(client, config).await
}

#[async_trait]
impl ReplayCache for RedisReplayCache {
    async fn sight(&self, key: &str, now: i64, ttl_secs: u64) -> Result<Sighting, ReplayError> {
        let mut conn = self.conn.clone();
        let redis_key = format!("{}replay:{key}", self.prefix);
        // SET NX returns OK when the key was new, nil when it existed; GET in the same
        // round trip (SET ... GET) returns the old value: the first sighting's time.
        let old: Option<i64> = redis::cmd("SET")
            .arg(&redis_key)
            .arg(now)
            .arg("NX")
            .arg("GET")
            .arg("EX")
            .arg(ttl_secs.max(1))
            .query_async(&mut conn)
            .await
            .map_err(|e| ReplayError::Unavailable {
                detail: e.to_string(),
            })?;
        Ok(match old {
            None => Sighting::First,
            Some(first) => Sighting::Repeat {
                secs_ago: now - first,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_cache_sees_repeats_within_the_window_only() {
        let c = MemoryReplayCache::new(1000);
        assert_eq!(c.sight("a", 100, 60).await.unwrap(), Sighting::First);
        assert_eq!(
            c.sight("a", 130, 60).await.unwrap(),
            Sighting::Repeat { secs_ago: 30 }
        );
        assert_eq!(c.sight("b", 130, 60).await.unwrap(), Sighting::First);
        assert_eq!(
            c.sight("a", 161, 60).await.unwrap(),
            Sighting::First,
            "forgotten after the window"
        );
    }

    #[tokio::test]
    async fn memory_cache_is_bounded() {
        let c = MemoryReplayCache::new(160);
        for i in 0..10_000 {
            c.sight(&format!("k{i}"), 100, 3600).await.unwrap();
        }
        let held: usize = c.shards.iter().map(|s| s.lock().unwrap().seen.len()).sum();
        assert!(held <= 160 + SHARDS, "{held}");
        assert_eq!(
            c.sight("k9999", 101, 3600).await.unwrap(),
            Sighting::Repeat { secs_ago: 1 }
        );
    }
}
