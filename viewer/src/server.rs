//! Wires the pieces together: binds the listeners, runs the receivers, and feeds the store from
//! the bounded channel on a thread of its own. Used by `main`, the headless mode and tests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::receiver::{self, Counters, Ingest, Limits, ToStore};
use crate::store::{Store, StoreStats};

/// The store as shared between the ingest thread and the UI.
pub type SharedStore = Arc<Mutex<Store>>;

/// Batches ingested under one lock of the store at most, and spans (after which the lock is
/// let go, so the UI never waits long for a frame).
const BATCHES_PER_LOCK: usize = 64;
const SPANS_PER_LOCK: usize = 16 * 1024;
/// How long shutting down waits for requests in progress.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Start-up failures, worded for the user.
#[derive(Debug)]
pub enum StartError {
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bind { what, addr, source } => {
                write!(f, "cannot listen for {what} on {addr}: {source}")?;
                if source.kind() == std::io::ErrorKind::AddrInUse {
                    write!(
                        f,
                        " (is another viewer or collector running? choose another port with --{}-addr)",
                        if *what == "OTLP/gRPC" { "grpc" } else { "http" }
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for StartError {}

/// Everything counted so far, for the status bar and the headless totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub store: StoreStats,
    pub metric_points: u64,
    pub log_records: u64,
    pub busy_refusals: u64,
    pub bad_requests: u64,
}

impl Totals {
    #[must_use]
    pub fn read(store: &Store, counters: &Counters) -> Self {
        Self {
            store: store.stats(),
            metric_points: counters.metric_points.load(Ordering::Relaxed),
            log_records: counters.log_records.load(Ordering::Relaxed),
            busy_refusals: counters.busy_refusals.load(Ordering::Relaxed),
            bad_requests: counters.bad_requests.load(Ordering::Relaxed),
        }
    }
}

/// A running viewer back end: receivers plus store.
pub struct Viewer {
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    store: SharedStore,
    ingest: Option<Ingest>,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    store_thread: Option<std::thread::JoinHandle<()>>,
}

impl Viewer {
    /// Binds both listeners (so a busy port is reported before anything else starts) and
    /// starts the receivers and the store thread.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        let grpc = TcpListener::bind(config.grpc_addr)
            .await
            .map_err(|source| StartError::Bind {
                what: "OTLP/gRPC",
                addr: config.grpc_addr,
                source,
            })?;
        let http = TcpListener::bind(config.http_addr)
            .await
            .map_err(|source| StartError::Bind {
                what: "OTLP/HTTP",
                addr: config.http_addr,
                source,
            })?;
        let grpc_addr = grpc.local_addr().unwrap_or(config.grpc_addr);
        let http_addr = http.local_addr().unwrap_or(config.http_addr);

        let limits = Limits {
            max_attr_value_len: usize::try_from(config.max_attr_len).unwrap_or(usize::MAX),
            max_attrs: config.max_attrs,
            max_events: config.max_events,
        };
        let (ingest, rx) = Ingest::channel(config.queue_spans, config.queue_wait, limits);
        let options = receiver::Options {
            max_message_size: usize::try_from(config.max_message_size).unwrap_or(usize::MAX),
            auth_token: config.auth_token.as_deref().map(Arc::from),
            request_timeout: config.request_timeout,
            conn: receiver::conn::ConnLimits {
                max: usize::try_from(config.max_connections).unwrap_or(usize::MAX),
                idle: config.idle_timeout,
            },
        };
        let store: SharedStore = Arc::new(Mutex::new(
            Store::new(usize::try_from(config.max_spans).unwrap_or(usize::MAX))
                .with_max_trace_spans(usize::try_from(config.max_trace_spans).unwrap_or(usize::MAX))
                .with_max_bytes(
                    usize::try_from(config.max_memory_mb.saturating_mul(1024 * 1024))
                        .unwrap_or(usize::MAX),
                ),
        ));
        let store_thread = {
            let store = Arc::clone(&store);
            std::thread::Builder::new()
                .name("store".into())
                .spawn(move || store_loop(rx, &store))
                .expect("spawn the store thread")
        };

        let (stop, stopped) = watch::channel(false);
        let wait = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let grpc_task = {
            let ingest = ingest.clone();
            let options = options.clone();
            let shutdown = wait(stopped.clone());
            tokio::spawn(async move {
                if let Err(e) = receiver::grpc::serve(grpc, ingest, options, shutdown).await {
                    eprintln!("OTLP/gRPC receiver stopped: {e}");
                }
            })
        };
        let http_task = {
            let ingest = ingest.clone();
            let options = options.clone();
            let shutdown = wait(stopped);
            tokio::spawn(async move {
                if let Err(e) = receiver::http::serve(http, ingest, options, shutdown).await {
                    eprintln!("OTLP/HTTP receiver stopped: {e}");
                }
            })
        };
        Ok(Self {
            grpc_addr,
            http_addr,
            store,
            ingest: Some(ingest),
            stop,
            servers: vec![grpc_task, http_task],
            store_thread: Some(store_thread),
        })
    }

    #[must_use]
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    #[must_use]
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    #[must_use]
    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    #[must_use]
    pub fn counters(&self) -> Arc<Counters> {
        self.ingest
            .as_ref()
            .map(|i| Arc::clone(&i.counters))
            .unwrap_or_default()
    }

    #[must_use]
    pub fn totals(&self) -> Totals {
        Totals::read(&self.store.lock(), &self.counters())
    }

    /// Waits (up to five seconds) until every acknowledged batch has reached the store.
    pub async fn flush(&self) {
        let Some(ingest) = &self.ingest else { return };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !ingest.is_drained() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The headless report of everything stored now (after a flush).
    pub async fn report(&self) -> String {
        self.flush().await;
        crate::headless::render(&self.store.lock(), &self.counters())
    }

    /// Stops the receivers (letting requests in progress finish), stores everything they
    /// acknowledged, and returns the final headless report.
    pub async fn shutdown(mut self) -> String {
        let counters = self.counters();
        let _ = self.stop.send(true);
        // Exporters keep idle connections open; give requests in progress a moment, then stop
        // waiting for connections to close.
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        for task in self.servers.drain(..) {
            let abort = task.abort_handle();
            if tokio::time::timeout_at(deadline, task).await.is_err() {
                abort.abort();
            }
        }
        // Everything acknowledged is in the channel: the store thread stores it, refuses
        // anything later (so nothing is acknowledged and then lost), and ends.
        if let Some(ingest) = self.ingest.take() {
            ingest.stop().await;
        }
        if let Some(thread) = self.store_thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        crate::headless::render(&self.store.lock(), &counters)
    }
}

fn store_loop(mut rx: mpsc::Receiver<ToStore>, store: &Mutex<Store>) {
    while let Some(first) = rx.blocking_recv() {
        let mut done = Vec::with_capacity(BATCHES_PER_LOCK);
        let mut guard = store.lock();
        let mut next = Some(first);
        let mut spans = 0;
        while let Some(msg) = next.take() {
            match msg {
                ToStore::Batch(mut envelope) => {
                    spans += envelope.batch.span_count();
                    guard.ingest(std::mem::take(&mut envelope.batch));
                    done.push(envelope);
                }
                ToStore::Stop => {
                    rx.close();
                }
            }
            if done.len() < BATCHES_PER_LOCK && spans < SPANS_PER_LOCK {
                next = rx.try_recv().ok();
            }
        }
        drop(guard);
        // Permits go back only once the spans are in the store.
        drop(done);
    }
}
