//! The call registry's writer: calls signed for a brand are recorded off the call path, in
//! batches. The signing answer never waits for the store: calls go into a bounded queue and
//! one task writes whatever has gathered in one transaction, so under load a write carries
//! hundreds of calls, and a quiet node writes each call at once (other nodes see it within
//! a store round trip). A full queue (the store far behind) drops calls and counts them.

use std::sync::Arc;
use std::time::Duration;

use store::{NewCall, Store};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// Calls waiting to be written at most.
pub const QUEUE: usize = 65_536;
/// Calls in one write at most.
pub const BATCH: usize = 1000;

/// Where signed calls go.
#[derive(Debug, Clone)]
pub struct CallRecorder {
    tx: mpsc::Sender<NewCall>,
    metrics: Arc<Metrics>,
}

impl CallRecorder {
    /// A recorder writing to `store`, and its writer task, which runs until `shutdown` and
    /// then writes what is queued before it ends.
    pub fn new(
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
    ) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer = write_calls(store, rx, Arc::clone(&metrics), shutdown);
        (Self { tx, metrics }, writer)
    }

    /// Queues a signed call.
    pub fn record(&self, call: NewCall) {
        match self.tx.try_send(call) {
            Ok(()) => self.metrics.observe_registry("signed", 1),
            Err(_) => self.metrics.observe_registry("dropped", 1),
        }
    }
}

async fn write_calls(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<NewCall>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let first = tokio::select! {
            biased;
            call = rx.recv() => call,
            () = shutdown.cancelled() => {
                rx.close();
                rx.recv().await
            }
        };
        let Some(first) = first else {
            return;
        };
        batch.push(first);
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(call) => batch.push(call),
                Err(_) => break,
            }
        }
        write_batch(store.as_ref(), &mut batch, &metrics).await;
    }
}

/// Writes a batch, trying once more after a pause when the store fails (a PostgreSQL
/// failover); a batch the store still refuses is counted as failed and dropped.
async fn write_batch(store: &dyn Store, batch: &mut Vec<NewCall>, metrics: &Metrics) {
    for attempt in 0..2 {
        match store.record_calls(batch).await {
            Ok(_) => break,
            Err(e) if attempt == 0 => {
                tracing::warn!(error = %e, calls = batch.len(), "recording calls failed; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, calls = batch.len(), "calls were not recorded");
                metrics.observe_registry("failed", batch.len() as u64);
            }
        }
    }
    batch.clear();
}
