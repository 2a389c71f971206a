//! Brand events (refused signings, spoofing evidence) written to the store off the call
//! path: the caller's answer never waits for them. At most [`MAX_PENDING`] writes are in
//! flight; beyond that (a flood of refused calls) events are counted as dropped instead of
//! queueing without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use store::{BrandId, Store};
use tokio::sync::Semaphore;

/// Event writes in flight at most.
pub const MAX_PENDING: usize = 256;

/// Where brand events go.
#[derive(Debug)]
pub struct EventSink {
    store: Arc<dyn Store>,
    permits: Arc<Semaphore>,
    dropped: AtomicU64,
}

impl EventSink {
    /// A sink writing to `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            permits: Arc::new(Semaphore::new(MAX_PENDING)),
            dropped: AtomicU64::new(0),
        }
    }

    /// Records an event of `brand` in the background.
    pub fn record(&self, brand: BrandId, kind: &'static str, detail: Value, now: i64) {
        let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let store = Arc::clone(&self.store);
        tokio::spawn(async move {
            if let Err(e) = store.record_brand_event(brand, kind, &detail, now).await {
                tracing::warn!(error = %e, kind, "a brand event could not be recorded");
            }
            drop(permit);
        });
    }

    /// Events not recorded because too many writes were in flight.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
