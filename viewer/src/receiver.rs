//! OTLP receivers (gRPC and HTTP). They decode, convert to our model at the boundary and send
//! into a bounded channel; nothing else. Backpressure and limits live here.

pub mod conn;
pub mod convert;
pub mod decode;
pub mod grpc;
pub mod http;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

pub use convert::Limits;

use crate::model::Batch;

/// Settings the receivers share.
#[derive(Clone, Debug)]
pub struct Options {
    /// Largest request body, after decompression.
    pub max_message_size: usize,
    /// When set, requests must carry `Authorization: Bearer <token>`.
    pub auth_token: Option<Arc<str>>,
    /// Longest a request may take, body included; slower ones are cut off.
    pub request_timeout: Duration,
    /// Open connections per listener, and how long one may sit idle.
    pub conn: conn::ConnLimits,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_message_size: 16 * 1024 * 1024,
            auth_token: None,
            request_timeout: Duration::from_secs(30),
            conn: conn::ConnLimits {
                max: 1024,
                idle: Duration::from_secs(120),
            },
        }
    }
}

impl Options {
    /// Whether an `authorization` header value grants access.
    #[must_use]
    pub fn authorized(&self, header: Option<&[u8]>) -> bool {
        let Some(token) = &self.auth_token else {
            return true;
        };
        let Some(header) = header else { return false };
        let expected = format!("Bearer {token}");
        // Compare in time independent of where the first difference is.
        header.len() == expected.len()
            && header
                .iter()
                .zip(expected.as_bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// The message an unauthenticated sender gets.
pub const UNAUTHENTICATED: &str = "missing or wrong bearer token: send the header \
    `Authorization: Bearer <token>` (OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>)";

/// What travels to the store thread.
pub enum ToStore {
    Batch(Envelope),
    /// Refuse further batches, store those already queued, and end.
    Stop,
}

/// A batch on its way to the store, holding its share of the in-flight span budget.
pub struct Envelope {
    pub batch: Batch,
    _permit: Option<OwnedSemaphorePermit>,
}

/// Counters kept by the receivers for what the store does not see.
#[derive(Debug, Default)]
pub struct Counters {
    pub metric_points: AtomicU64,
    pub log_records: AtomicU64,
    /// Requests refused because the store could not keep up (retryable).
    pub busy_refusals: AtomicU64,
    /// Requests refused as malformed, oversized or of the wrong type.
    pub bad_requests: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Why a batch could not be queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The store is behind; the sender should retry later.
    Busy,
    /// The viewer is shutting down.
    Closed,
}

/// The sending side shared by every receiver: a bounded channel plus a budget of spans in
/// flight, so memory stays bounded however large or many the requests are.
#[derive(Clone)]
pub struct Ingest {
    tx: mpsc::Sender<ToStore>,
    budget: Arc<Semaphore>,
    budget_size: u32,
    wait: Duration,
    pub limits: Limits,
    pub counters: Arc<Counters>,
}

impl Ingest {
    /// A channel holding at most `max_in_flight` spans (and 1,024 batches); a sender waits up
    /// to `wait` for room before being refused.
    #[must_use]
    pub fn channel(
        max_in_flight: u32,
        wait: Duration,
        limits: Limits,
    ) -> (Self, mpsc::Receiver<ToStore>) {
        let (tx, rx) = mpsc::channel(1024);
        let budget_size = max_in_flight.max(1);
        let ingest = Self {
            tx,
            budget: Arc::new(Semaphore::new(budget_size as usize)),
            budget_size,
            wait,
            limits,
            counters: Arc::new(Counters::default()),
        };
        (ingest, rx)
    }

    /// Asks the store thread to stop once what is queued is stored; later sends are refused.
    pub async fn stop(&self) {
        let _ = self.tx.send(ToStore::Stop).await;
    }

    /// True when nothing is waiting between the receivers and the store.
    #[must_use]
    pub fn is_drained(&self) -> bool {
        self.budget.available_permits() == self.budget_size as usize
            && self.tx.capacity() == self.tx.max_capacity()
    }

    /// Queues a batch for the store; once this returns `Ok`, the spans will be stored (or
    /// counted as evicted).
    pub async fn send(&self, batch: Batch) -> Result<(), Refusal> {
        let n = u32::try_from(batch.span_count())
            .unwrap_or(u32::MAX)
            .min(self.budget_size);
        // Room is there at once almost always: then no timer is set up.
        let permit = if n == 0 {
            None
        } else if let Ok(p) = Arc::clone(&self.budget).try_acquire_many_owned(n) {
            Some(p)
        } else {
            let acquire = Arc::clone(&self.budget).acquire_many_owned(n);
            match tokio::time::timeout(self.wait, acquire).await {
                Ok(Ok(p)) => Some(p),
                Ok(Err(_)) => return Err(Refusal::Closed),
                Err(_) => {
                    Counters::add(&self.counters.busy_refusals, 1);
                    return Err(Refusal::Busy);
                }
            }
        };
        let envelope = Envelope {
            batch,
            _permit: permit,
        };
        let envelope = match self.tx.try_send(ToStore::Batch(envelope)) {
            Ok(()) => return Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(Refusal::Closed),
            Err(mpsc::error::TrySendError::Full(msg)) => msg,
        };
        match tokio::time::timeout(self.wait, self.tx.send(envelope)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Refusal::Closed),
            Err(_) => {
                Counters::add(&self.counters.busy_refusals, 1);
                Err(Refusal::Busy)
            }
        }
    }
}
