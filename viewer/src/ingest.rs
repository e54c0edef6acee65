//! The bounded path from the receivers to the store: typed batches of spans, log records and
//! metric points, each signal with its own budget of items in flight, so memory stays bounded
//! however large or many the requests are, and a flood of one signal cannot starve another.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::model::{Batch, LogBatch, MetricBatch};
use crate::receiver::Limits;
use crate::record::forward::Hops;

/// The three signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    /// What one item of the signal is called, plural.
    #[must_use]
    pub fn items(self) -> &'static str {
        match self {
            Self::Traces => "spans",
            Self::Metrics => "metric data points",
            Self::Logs => "log records",
        }
    }
}

/// One request's worth of one signal.
pub enum Payload {
    Spans(Batch),
    Logs(LogBatch),
    Metrics(MetricBatch),
}

impl Payload {
    #[must_use]
    pub fn signal(&self) -> Signal {
        match self {
            Self::Spans(_) => Signal::Traces,
            Self::Logs(_) => Signal::Logs,
            Self::Metrics(_) => Signal::Metrics,
        }
    }

    /// Items the payload holds, counted against its signal's budget.
    #[must_use]
    pub fn items(&self) -> usize {
        match self {
            Self::Spans(b) => b.span_count(),
            Self::Logs(b) => b.record_count(),
            Self::Metrics(b) => b.point_count(),
        }
    }
}

/// What travels to the store thread.
pub enum ToStore {
    Payload(Envelope),
    /// Refuse further batches, store those already queued, and end.
    Stop,
}

/// A payload on its way to the store, holding its share of its signal's budget until stored.
pub struct Envelope {
    pub payload: Payload,
    permit: Option<OwnedSemaphorePermit>,
}

impl Envelope {
    /// The payload, and the budget it holds (to be dropped once the payload is stored).
    #[must_use]
    pub fn open(self) -> (Payload, Option<OwnedSemaphorePermit>) {
        (self.payload, self.permit)
    }
}

/// What one signal's receivers count that the store does not see.
#[derive(Debug, Default)]
pub struct SignalCounters {
    /// Requests refused because the store could not keep up (retryable).
    pub busy_refusals: AtomicU64,
    /// Requests refused as malformed, oversized or of the wrong type.
    pub bad_requests: AtomicU64,
}

/// Counters kept by the receivers, per signal.
#[derive(Debug, Default)]
pub struct Counters {
    pub traces: SignalCounters,
    pub metrics: SignalCounters,
    pub logs: SignalCounters,
    /// What `--data-dir` and `--save` wrote (zero when not asked for).
    pub record: Arc<crate::record::RecordStats>,
    /// What `--forward` sent on, and did not.
    pub forward: Arc<crate::record::forward::ForwardStats>,
}

impl Counters {
    #[must_use]
    pub fn of(&self, signal: Signal) -> &SignalCounters {
        match signal {
            Signal::Traces => &self.traces,
            Signal::Metrics => &self.metrics,
            Signal::Logs => &self.logs,
        }
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Busy refusals and bad requests, over every signal.
    #[must_use]
    pub fn totals(&self) -> (u64, u64) {
        [&self.traces, &self.metrics, &self.logs]
            .iter()
            .fold((0, 0), |(busy, bad), c| {
                (
                    busy + c.busy_refusals.load(Ordering::Relaxed),
                    bad + c.bad_requests.load(Ordering::Relaxed),
                )
            })
    }
}

/// Why a batch could not be queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The store is behind; the sender should retry later.
    Busy,
    /// The viewer is shutting down.
    Closed,
    /// Queued, but it could not be written to the data directory (`--data-dir`), so it is not
    /// acknowledged: the sender should retry.
    NotRecorded(String),
}

impl Refusal {
    /// What to tell the sender.
    #[must_use]
    pub fn message(&self, signal: Signal) -> String {
        match self {
            Self::Busy => format!("the viewer is busy storing {}; retry later", signal.items()),
            Self::Closed => "the viewer is shutting down".to_owned(),
            Self::NotRecorded(e) => e.clone(),
        }
    }
}

/// How many items of each signal may wait between the receivers and the store.
#[derive(Clone, Copy, Debug)]
pub struct QueueSizes {
    pub spans: u32,
    pub log_records: u32,
    pub metric_points: u32,
}

impl Default for QueueSizes {
    fn default() -> Self {
        Self {
            spans: 262_144,
            log_records: 262_144,
            metric_points: 262_144,
        }
    }
}

/// A signal's budget of items in flight.
#[derive(Clone)]
struct Budget {
    permits: Arc<Semaphore>,
    size: u32,
}

impl Budget {
    fn new(size: u32) -> Self {
        let size = size.max(1);
        Self {
            permits: Arc::new(Semaphore::new(size as usize)),
            size,
        }
    }

    fn is_full(&self) -> bool {
        self.permits.available_permits() == self.size as usize
    }
}

/// The sending side shared by every receiver: a bounded channel plus a budget per signal.
#[derive(Clone)]
pub struct Ingest {
    tx: mpsc::Sender<ToStore>,
    spans: Budget,
    logs: Budget,
    metrics: Budget,
    wait: Duration,
    pub limits: Limits,
    pub counters: Arc<Counters>,
    /// Writes accepted requests to `--data-dir` and `--save`, when asked for.
    pub recorder: Option<Arc<crate::record::Recorder>>,
}

impl Ingest {
    /// A channel holding at most `sizes` items of each signal (and 1,024 batches); a sender
    /// waits up to `wait` for room before being refused.
    #[must_use]
    pub fn channel(
        sizes: QueueSizes,
        wait: Duration,
        limits: Limits,
    ) -> (Self, mpsc::Receiver<ToStore>) {
        let (tx, rx) = mpsc::channel(1024);
        let ingest = Self {
            tx,
            spans: Budget::new(sizes.spans),
            logs: Budget::new(sizes.log_records),
            metrics: Budget::new(sizes.metric_points),
            wait,
            limits,
            counters: Arc::new(Counters::default()),
            recorder: None,
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
        self.spans.is_full()
            && self.logs.is_full()
            && self.metrics.is_full()
            && self.tx.capacity() == self.tx.max_capacity()
    }

    fn budget(&self, signal: Signal) -> &Budget {
        match signal {
            Signal::Traces => &self.spans,
            Signal::Logs => &self.logs,
            Signal::Metrics => &self.metrics,
        }
    }

    /// Whether accepted requests are recorded (their protobuf encoding is wanted).
    #[must_use]
    pub fn recording(&self) -> bool {
        self.recorder.is_some()
    }

    /// Queues a payload for the store and records the request it came from (`raw`, its
    /// protobuf encoding) when recording; once this returns `Ok`, the request may be
    /// acknowledged.
    ///
    /// In this order: room in the store's queue (a busy refusal has written nothing), the
    /// data directory (a request it cannot take is neither stored nor sent on), the store, then
    /// `--save` and `--forward`. So a refused request that its sender sends again is kept once,
    /// and only what is acknowledged is saved or forwarded.
    ///
    /// `hops` are the viewers that forwarded the request here (its
    /// [`crate::record::forward::HOP_HEADER`]); one that this viewer forwarded itself has come
    /// back round a loop, and is acknowledged without being kept again.
    pub async fn accept(
        &self,
        payload: impl Into<Payload>,
        raw: Option<bytes::Bytes>,
        hops: &Hops,
    ) -> Result<(), Refusal> {
        let payload = payload.into();
        if self.recorder.as_ref().is_some_and(|r| r.came_back(hops)) {
            return Ok(());
        }
        let (Some(recorder), Some(raw)) = (&self.recorder, raw) else {
            return self.send(payload).await;
        };
        let signal = payload.signal();
        let items = payload.items();
        let room = self.reserve(signal, items).await?;
        recorder
            .write(signal, raw.clone())
            .await
            .map_err(Refusal::NotRecorded)?;
        room.send(payload);
        recorder.tap(signal, raw, items as u64, hops);
        Ok(())
    }

    /// Queues a payload for the store; once this returns `Ok`, its items will be stored (or
    /// counted as evicted or dropped by the store's caps).
    pub async fn send(&self, payload: impl Into<Payload>) -> Result<(), Refusal> {
        let payload = payload.into();
        self.reserve(payload.signal(), payload.items())
            .await?
            .send(payload);
        Ok(())
    }

    /// Waits (up to the queue wait) for room for `items` items of `signal` in the store's
    /// queue.
    async fn reserve(&self, signal: Signal, items: usize) -> Result<Room<'_>, Refusal> {
        let budget = self.budget(signal);
        let busy = || {
            Counters::add(&self.counters.of(signal).busy_refusals, 1);
            Refusal::Busy
        };
        let n = u32::try_from(items).unwrap_or(u32::MAX).min(budget.size);
        // Room is there at once almost always: then no timer is set up.
        let permit = if n == 0 {
            None
        } else if let Ok(p) = Arc::clone(&budget.permits).try_acquire_many_owned(n) {
            Some(p)
        } else {
            let acquire = Arc::clone(&budget.permits).acquire_many_owned(n);
            match tokio::time::timeout(self.wait, acquire).await {
                Ok(Ok(p)) => Some(p),
                Ok(Err(_)) => return Err(Refusal::Closed),
                Err(_) => return Err(busy()),
            }
        };
        let slot = match self.tx.try_reserve() {
            Ok(slot) => slot,
            Err(mpsc::error::TrySendError::Closed(())) => return Err(Refusal::Closed),
            Err(mpsc::error::TrySendError::Full(())) => {
                match tokio::time::timeout(self.wait, self.tx.reserve()).await {
                    Ok(Ok(slot)) => slot,
                    Ok(Err(_)) => return Err(Refusal::Closed),
                    Err(_) => return Err(busy()),
                }
            }
        };
        Ok(Room { permit, slot })
    }
}

/// Room for one payload in the store's queue: its share of its signal's budget and a place in
/// the channel. Dropped unused, both are given back.
struct Room<'a> {
    permit: Option<OwnedSemaphorePermit>,
    slot: mpsc::Permit<'a, ToStore>,
}

impl Room<'_> {
    fn send(self, payload: Payload) {
        self.slot.send(ToStore::Payload(Envelope {
            payload,
            permit: self.permit,
        }));
    }
}

impl From<Batch> for Payload {
    fn from(b: Batch) -> Self {
        Self::Spans(b)
    }
}

impl From<LogBatch> for Payload {
    fn from(b: LogBatch) -> Self {
        Self::Logs(b)
    }
}

impl From<MetricBatch> for Payload {
    fn from(b: MetricBatch) -> Self {
        Self::Metrics(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LogResource, LogScope, NewLogRecord};

    fn logs(n: usize) -> LogBatch {
        LogBatch {
            resources: vec![LogResource {
                attrs: Vec::new(),
                scopes: vec![LogScope {
                    records: vec![NewLogRecord::default(); n],
                    ..LogScope::default()
                }],
            }],
            rejected: 0,
        }
    }

    #[tokio::test]
    async fn each_signal_has_its_own_budget() {
        let sizes = QueueSizes {
            spans: 10,
            log_records: 4,
            metric_points: 10,
        };
        let (ingest, mut rx) = Ingest::channel(sizes, Duration::from_millis(20), Limits::default());
        ingest.send(logs(4)).await.unwrap();
        // The log budget is spent: more logs wait, then are refused as busy...
        assert_eq!(ingest.send(logs(1)).await, Err(Refusal::Busy));
        assert_eq!(
            ingest.counters.logs.busy_refusals.load(Ordering::Relaxed),
            1
        );
        assert_eq!(
            ingest.counters.traces.busy_refusals.load(Ordering::Relaxed),
            0
        );
        // ...while spans still go through.
        ingest.send(Batch::default()).await.unwrap();
        assert!(!ingest.is_drained());
        // Once the store has taken the logs, their budget is back.
        while let Ok(msg) = rx.try_recv() {
            drop(msg);
        }
        assert!(ingest.is_drained());
        ingest.send(logs(2)).await.unwrap();
    }
}
