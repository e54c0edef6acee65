//! Wires the pieces together: binds the listeners, runs the receivers, and feeds the store from
//! the bounded channel on a thread of its own; loads files (`load`). Used by `main`, the
//! headless mode and tests.

pub mod load;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::ingest::{Counters, Ingest, QueueSizes, ToStore};
use crate::receiver::{self, Limits};
use crate::store::{Store, StoreStats};

/// The store as shared between the ingest thread and the UI.
pub type SharedStore = Arc<Mutex<Store>>;

/// Batches ingested under one lock of the store at most, and items (spans, log records,
/// points; after which the lock is let go, so the UI never waits long for a frame).
const BATCHES_PER_LOCK: usize = 64;
const ITEMS_PER_LOCK: usize = 16 * 1024;
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
    /// `--data-dir` or `--save` cannot be written, or `--forward` not used (the message names
    /// the flag).
    Record(String),
    /// `--jaeger` could not be read (headless).
    Jaeger(String),
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
            Self::Record(e) | Self::Jaeger(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for StartError {}

/// Everything counted so far, for the status bar and the headless totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub store: StoreStats,
    /// What `--data-dir` and `--save` wrote.
    pub record: crate::record::RecordTotals,
    /// Requests refused as retryable because the store was behind, over every signal.
    pub busy_refusals: u64,
    /// Requests refused as malformed, oversized or of the wrong type, over every signal.
    pub bad_requests: u64,
}

impl Totals {
    #[must_use]
    pub fn read(store: &Store, counters: &Counters) -> Self {
        let (busy_refusals, bad_requests) = counters.totals();
        Self {
            store: store.stats(),
            record: counters.record.read(),
            busy_refusals,
            bad_requests,
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
    /// The `--data-dir` and `--save` writers and the `--forward` senders (they count in the
    /// ingest counters).
    writers: Option<crate::record::Writers>,
    /// How long the `--forward` senders may go on at exit (`--forward-drain`).
    forward_drain: Duration,
    /// Whether the receivers run (not with `--no-listen`).
    listening: bool,
    /// Loading the data directory and the files named, and how far it is.
    loader: Option<std::thread::JoinHandle<()>>,
    load: Arc<load::LoadProgress>,
    /// Why background threads (loading, the store, the writers) stopped early, as found when
    /// they are waited for.
    failures: Arc<Mutex<Vec<String>>>,
}

impl Viewer {
    /// Binds both listeners (so a busy port is reported before anything else starts) and
    /// starts the receivers and the store thread.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        Self::start_with(config, |_| {}).await
    }

    /// As [`Viewer::start`]; `report` gets each bad record of the files loaded (the headless
    /// mode prints them).
    pub async fn start_with(config: Config, report: fn(&str)) -> Result<Self, StartError> {
        let listeners = if config.no_listen {
            None
        } else {
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
            Some((grpc, http))
        };
        let (grpc_addr, http_addr) = match &listeners {
            Some((g, h)) => (
                g.local_addr().unwrap_or(config.grpc_addr),
                h.local_addr().unwrap_or(config.http_addr),
            ),
            None => (config.grpc_addr, config.http_addr),
        };

        let limits = Limits {
            max_attr_value_len: usize::try_from(config.max_attr_len).unwrap_or(usize::MAX),
            max_attrs: config.max_attrs,
            max_events: config.max_events,
        };
        let sizes = QueueSizes {
            spans: config.queue_spans,
            log_records: config.queue_logs,
            metric_points: config.queue_points,
        };
        let (mut ingest, rx) = Ingest::channel(sizes, config.queue_wait, limits);
        // What to load: the data directory's segments (listed before new ones are written),
        // then the files named.
        let mut jobs = Vec::new();
        if let Some(dir) = &config.data_dir
            && dir.is_dir()
        {
            let segments = crate::record::segments::list(dir)
                .map_err(|e| StartError::Record(format!("--data-dir {}: {e}", dir.display())))?;
            jobs.extend(segments.into_iter().map(|s| load::LoadJob {
                path: s.path,
                signal: Some(s.signal),
                format: Some(crate::files::Format::OtlpProtobuf),
            }));
        }
        jobs.extend(
            config
                .files
                .iter()
                .chain(&config.open)
                .map(|path| load::LoadJob {
                    path: path.clone(),
                    signal: None,
                    format: None,
                }),
        );
        let mb = |n: u64| n.saturating_mul(1024 * 1024);
        let record = crate::record::RecordOptions {
            data_dir: config.data_dir.clone().map(|d| (d, mb(config.data_max_mb))),
            save: config.save.clone().map(|f| (f, mb(config.save_max_mb))),
            forward: config
                .forward
                .clone()
                .map(|url| crate::record::forward::ForwardOptions {
                    url,
                    headers: config.forward_header.clone(),
                    queue: usize::try_from(config.forward_queue).unwrap_or(usize::MAX),
                    give_up_after: crate::record::forward::GIVE_UP_AFTER,
                }),
        };
        let stats = Arc::clone(&ingest.counters.record);
        let forward_stats = Arc::clone(&ingest.counters.forward);
        let writers = match crate::record::Recorder::start(&record, stats, forward_stats)
            .map_err(StartError::Record)?
        {
            Some((recorder, writers)) => {
                ingest.recorder = Some(Arc::new(recorder));
                Some(writers)
            }
            None => None,
        };
        let options = receiver::Options {
            max_message_size: usize::try_from(config.max_message_size).unwrap_or(usize::MAX),
            auth_token: config.auth_token.as_deref().map(Arc::from),
            request_timeout: config.request_timeout,
            header_timeout: config.header_timeout,
            conn: receiver::conn::ConnLimits {
                max: usize::try_from(config.max_connections).unwrap_or(usize::MAX),
                idle: config.idle_timeout,
                handshake: config.header_timeout,
            },
            budget: receiver::budget::MemoryBudget::new(
                usize::try_from(mb(config.max_inflight_mb)).unwrap_or(usize::MAX),
                config.queue_wait,
            ),
        };
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let store: SharedStore = Arc::new(Mutex::new(
            Store::new(size(config.max_spans))
                .with_max_trace_spans(size(config.max_trace_spans))
                .with_max_logs(size(config.max_logs))
                .with_max_series(size(config.max_series), size(config.max_points))
                .with_max_bytes(size(config.max_memory_mb.saturating_mul(1024 * 1024))),
        ));
        let store_thread = {
            let store = Arc::clone(&store);
            std::thread::Builder::new()
                .name("store".into())
                .spawn(move || store_loop(rx, &store))
                .expect("spawn the store thread")
        };

        let load = Arc::new(load::LoadProgress::default());
        let jaeger = load::JaegerJob::of(&config);
        let loader = (!jobs.is_empty() || jaeger.is_some()).then(|| {
            load::spawn(
                Arc::clone(&store),
                jobs,
                jaeger,
                limits,
                Arc::clone(&load),
                report,
            )
        });

        let (stop, stopped) = watch::channel(false);
        let wait = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let mut servers = Vec::new();
        if let Some((grpc, http)) = listeners {
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
            servers = vec![grpc_task, http_task];
        }
        Ok(Self {
            grpc_addr,
            http_addr,
            store,
            ingest: Some(ingest),
            stop,
            servers,
            store_thread: Some(store_thread),
            writers,
            forward_drain: config.forward_drain,
            listening: !config.no_listen,
            loader,
            load,
            failures: Arc::default(),
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

    /// Whether the receivers run (`--no-listen` turns them off).
    #[must_use]
    pub fn listening(&self) -> bool {
        self.listening
    }

    /// How far loading the data directory and the files is.
    #[must_use]
    pub fn load_progress(&self) -> Arc<load::LoadProgress> {
        Arc::clone(&self.load)
    }

    /// Waits until the data directory and the files named are loaded (or loading failed: see
    /// [`Viewer::failures`]).
    pub async fn wait_loaded(&mut self) {
        if let Some(loader) = self.loader.take() {
            let joined = tokio::task::spawn_blocking(move || {
                loader
                    .join()
                    .map_err(|p| crate::record::panic_text(p.as_ref()).to_owned())
            })
            .await;
            if let Ok(Err(why)) = joined {
                self.failures.lock().push(format!("loading stopped: {why}"));
            }
        }
    }

    /// Why background threads stopped early: filled as [`Viewer::wait_loaded`] and
    /// [`Viewer::stop`] wait for them; empty when all went well.
    #[must_use]
    pub fn failures(&self) -> Arc<Mutex<Vec<String>>> {
        Arc::clone(&self.failures)
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

    /// The text report of everything stored now (after a flush).
    pub async fn report(&self) -> String {
        self.flush().await;
        crate::report::render(&self.store.lock(), &self.counters())
    }

    /// Stops as [`Viewer::stop`] does and returns the text report of everything stored.
    pub async fn shutdown(self) -> String {
        let (store, counters) = self.stop().await;
        crate::report::render(&store.lock(), &counters)
    }

    /// Stops the receivers (letting requests in progress finish), stores everything they
    /// acknowledged, and gives `--forward` up to `--forward-drain` to send what is waiting;
    /// returns the store and the counters.
    pub async fn stop(self) -> (SharedStore, Arc<Counters>) {
        self.stop_or(std::future::pending()).await
    }

    /// As [`Viewer::stop`]; `give_up` completing (a second Ctrl-C) ends the `--forward` drain
    /// at once. Says on stderr that it drains, and, at the end, what was not forwarded.
    pub async fn stop_or(
        mut self,
        give_up: impl Future<Output = ()>,
    ) -> (SharedStore, Arc<Counters>) {
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
            let joined = tokio::task::spawn_blocking(move || {
                thread
                    .join()
                    .map_err(|p| crate::record::panic_text(p.as_ref()).to_owned())
            })
            .await;
            if let Ok(Err(why)) = joined {
                self.failures
                    .lock()
                    .push(format!("the store stopped: {why}"));
            }
        }
        // The writers finish what is queued once the last recorder (held by the ingest path
        // and the receivers, now stopped) is gone.
        let mut forward = None;
        if let Some(mut writers) = self.writers.take() {
            forward = writers.take_forward();
            let join = tokio::task::spawn_blocking(move || writers.join());
            if let Ok(Ok(failed)) = tokio::time::timeout(SHUTDOWN_GRACE * 5, join).await {
                self.failures.lock().extend(failed);
            }
        }
        if let Some(senders) = forward {
            drain_forward(senders, self.forward_drain, give_up, &counters.forward).await;
        }
        (Arc::clone(&self.store), counters)
    }
}

/// Drains `--forward` at exit, saying on stderr that it does (when anything is waiting) and
/// what was not forwarded in the whole run (when anything was not).
async fn drain_forward(
    senders: crate::record::forward::Senders,
    within: Duration,
    give_up: impl Future<Output = ()>,
    stats: &crate::record::forward::ForwardStats,
) {
    let waiting = senders.waiting();
    if waiting > 0 && !within.is_zero() {
        eprintln!(
            "viewer: forwarding the {waiting} requests still waiting, for up to {} (--forward-drain)",
            humantime::format_duration(within)
        );
    }
    senders.drain(within, give_up).await;
    let lost = stats
        .dropped_requests
        .load(std::sync::atomic::Ordering::Relaxed);
    if (waiting > 0 || lost > 0)
        && let Some(line) = crate::report::forward_line(stats)
    {
        eprintln!("viewer: {line}");
    }
}

fn store_loop(mut rx: mpsc::Receiver<ToStore>, store: &Mutex<Store>) {
    while let Some(first) = rx.blocking_recv() {
        let mut done = Vec::with_capacity(BATCHES_PER_LOCK);
        let mut guard = store.lock();
        let mut next = Some(first);
        let mut items = 0;
        while let Some(msg) = next.take() {
            match msg {
                ToStore::Payload(envelope) => {
                    let (payload, permit) = envelope.open();
                    items += payload.items();
                    guard.ingest_payload(payload);
                    done.push(permit);
                }
                ToStore::Stop => {
                    rx.close();
                }
            }
            if done.len() < BATCHES_PER_LOCK && items < ITEMS_PER_LOCK {
                next = rx.try_recv().ok();
            }
        }
        drop(guard);
        // Permits go back only once the items are in the store.
        drop(done);
    }
}
