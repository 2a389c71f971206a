//! Rate limits for the public check endpoints: fixed-window counters per key (a client
//! address, a called number, a client's code attempts).
//!
//! [`MemoryRateLimiter`] counts for one node; [`RedisRateLimiter`] is shared by every node
//! (`INCR` and `EXPIRE` on a key per window, all of a request's keys in one round trip), so
//! a client spreading its requests over nodes meets the same limit.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

/// Why the limiter could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateLimitError {
    /// Redis failed or could not be reached.
    #[error("rate limiter unavailable: {detail}")]
    Unavailable {
        /// The driver's message.
        detail: String,
    },
}

/// One counter to bump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter<'a> {
    /// What is counted, e.g. `client:203.0.113.9`.
    pub key: &'a str,
    /// The window length in seconds.
    pub window_secs: u64,
}

/// A rate limiter.
#[async_trait]
pub trait RateLimiter: Send + Sync + std::fmt::Debug + 'static {
    /// Counts one hit on each counter at `now` (Unix seconds) and returns each counter's
    /// hits in its current window, this one included, in order.
    async fn hit(&self, counters: &[Counter<'_>], now: i64) -> Result<Vec<u64>, RateLimitError>;
}

fn window_of(now: i64, window_secs: u64) -> i64 {
    now.div_euclid(i64::try_from(window_secs.max(1)).unwrap_or(i64::MAX))
}

const SHARDS: usize = 16;

/// Counters by (key, window length): (window, hits).
type Counters = HashMap<(Box<str>, u64), (i64, u64)>;

/// Fixed-window counters in this node's memory, holding at most a set number of keys:
/// past it, counters of ended windows go first, and if every counter is current the
/// shard starts afresh (a flood of distinct keys cannot grow memory without bound).
#[derive(Debug)]
pub struct MemoryRateLimiter {
    shards: Vec<Mutex<Counters>>,
    per_shard: usize,
}

impl MemoryRateLimiter {
    /// A limiter holding at most about `capacity` counters.
    pub fn new(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
        }
    }

    fn shard(&self, key: &str) -> Option<&Mutex<Counters>> {
        self.shards.get(crate::replay::shard_of(key, SHARDS))
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(&self, counters: &[Counter<'_>], now: i64) -> Result<Vec<u64>, RateLimitError> {
        let mut out = Vec::with_capacity(counters.len());
        for c in counters {
            let window = window_of(now, c.window_secs);
            let shard = self.shard(c.key).ok_or(RateLimitError::Unavailable {
                detail: "no shard".into(),
            })?;
            let mut map = shard.lock().map_err(|_| RateLimitError::Unavailable {
                detail: "lock poisoned".into(),
            })?;
            let id = (Box::<str>::from(c.key), c.window_secs);
            if !map.contains_key(&id) && map.len() >= self.per_shard {
                map.retain(|(_, secs), (w, _)| *w == window_of(now, *secs));
                if map.len() >= self.per_shard {
                    map.clear();
                }
            }
            let entry = map.entry(id).or_insert((window, 0));
            if entry.0 != window {
                *entry = (window, 0);
            }
            entry.1 += 1;
            out.push(entry.1);
        }
        Ok(out)
    }
}

/// Fixed-window counters in Redis, shared by all nodes.
#[derive(Clone)]
pub struct RedisRateLimiter {
    conn: redis::aio::ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisRateLimiter {
    /// Connects to `url`; keys are `<prefix>rl:<window secs>:<window>:<key>`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, RateLimitError> {
        // A check waits for its counters at most a second: past that it goes through.
        let conn = crate::replay::redis_manager(url, std::time::Duration::from_secs(1), 1)
            .await
            .map_err(|e| RateLimitError::Unavailable {
                detail: e.to_string(),
            })?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
        })
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(&self, counters: &[Counter<'_>], now: i64) -> Result<Vec<u64>, RateLimitError> {
        let mut pipe = redis::pipe();
        for c in counters {
            let key = format!(
                "{}rl:{}:{}:{}",
                self.prefix,
                c.window_secs,
                window_of(now, c.window_secs),
                c.key
            );
            pipe.cmd("INCR").arg(&key);
            // The key outlives its window by a little, for clocks that differ between nodes.
            pipe.cmd("EXPIRE")
                .arg(&key)
                .arg(c.window_secs.saturating_add(5))
                .ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async(&mut conn)
            .await
            .map_err(|e| RateLimitError::Unavailable {
                detail: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_counts_per_key_and_window() {
        let l = MemoryRateLimiter::new(1000);
        let a = Counter {
            key: "client:a",
            window_secs: 60,
        };
        let b = Counter {
            key: "tn:1",
            window_secs: 60,
        };
        assert_eq!(l.hit(&[a, b], 120).await.unwrap(), vec![1, 1]);
        assert_eq!(l.hit(&[a], 179).await.unwrap(), vec![2]);
        assert_eq!(
            l.hit(&[a, b], 180).await.unwrap(),
            vec![1, 1],
            "a new window"
        );
        let long = Counter {
            key: "client:a",
            window_secs: 600,
        };
        assert_eq!(
            l.hit(&[long], 180).await.unwrap(),
            vec![1],
            "another window length is another counter"
        );
    }

    #[tokio::test]
    async fn memory_is_bounded() {
        let l = MemoryRateLimiter::new(160);
        for i in 0..10_000 {
            let key = format!("k{i}");
            l.hit(
                &[Counter {
                    key: &key,
                    window_secs: 60,
                }],
                100,
            )
            .await
            .unwrap();
        }
        let held: usize = l.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(held <= 160 + SHARDS, "{held}");
    }
}
