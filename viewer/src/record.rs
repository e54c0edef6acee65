//! Recording what is received, as the receivers accept it: `--data-dir` keeps every accepted
//! request in segment files (the Collector's length-prefixed protobuf, one file per signal and
//! segment) so it survives a restart or a crash, and `--save` appends it to a file of OTLP JSON
//! lines (the OTLP file-exporter format).
//!
//! Each writer has a thread of its own. A request is written to the data directory before it is
//! stored, saved, forwarded or acknowledged: the receiver waits for the write (the writer takes
//! every request waiting and writes them in one go, so many requests share one system call). A
//! request the directory cannot take (a full disk) is refused as retryable and kept nowhere, so
//! the sender's retry is not a duplicate; what a failed write left in a segment is cut off
//! (`segments`). Written means handed to the operating system: it survives the viewer being
//! killed (SIGKILL, a panic), not the machine losing power. `--save` does not hold requests up:
//! its queue is bounded, and what does not fit is counted as dropped. `--forward` sends each
//! acknowledged request on to an upstream OTLP endpoint (`forward`), never holding it up either.

pub mod forward;
pub mod save;
pub mod segments;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::ingest::Signal;

/// Requests that may wait for the `--save` writer; more are dropped (and counted).
const SAVE_QUEUE: usize = 4096;
/// Requests that may wait for the data-directory writer; receivers wait for room beyond it.
const DATA_QUEUE: usize = 4096;

/// What the writers count.
#[derive(Debug, Default)]
pub struct RecordStats {
    /// Requests written to the data directory.
    pub data_requests: AtomicU64,
    /// Bytes the data directory's segments hold now.
    pub data_bytes: AtomicU64,
    /// Segments deleted to stay under `--data-max-mb`.
    pub data_segments_deleted: AtomicU64,
    /// Requests refused because the data directory could not be written.
    pub data_errors: AtomicU64,
    /// Requests appended to the `--save` file.
    pub saved: AtomicU64,
    /// Requests not saved: the writer was behind, or the file could not be written.
    pub save_dropped: AtomicU64,
}

/// A copy of [`RecordStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordTotals {
    pub data_requests: u64,
    pub data_bytes: u64,
    pub data_segments_deleted: u64,
    pub data_errors: u64,
    pub saved: u64,
    pub save_dropped: u64,
}

impl RecordStats {
    #[must_use]
    pub fn read(&self) -> RecordTotals {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RecordTotals {
            data_requests: r(&self.data_requests),
            data_bytes: r(&self.data_bytes),
            data_segments_deleted: r(&self.data_segments_deleted),
            data_errors: r(&self.data_errors),
            saved: r(&self.saved),
            save_dropped: r(&self.save_dropped),
        }
    }
}

/// One accepted request: its signal and its protobuf encoding.
pub struct Job {
    pub signal: Signal,
    pub bytes: Bytes,
    /// Told once the request is written (data directory only).
    pub done: Option<oneshot::Sender<Result<(), String>>>,
}

/// Where to record.
#[derive(Clone, Debug, Default)]
pub struct RecordOptions {
    /// `--data-dir` and `--data-max-mb` (in bytes).
    pub data_dir: Option<(PathBuf, u64)>,
    /// `--save` and `--save-max-mb` (in bytes).
    pub save: Option<(PathBuf, u64)>,
    /// `--forward` and its settings.
    pub forward: Option<forward::ForwardOptions>,
}

/// What the receivers hand accepted requests to (through [`crate::ingest::Ingest`]).
pub struct Recorder {
    data: Option<mpsc::SyncSender<Job>>,
    save: Option<mpsc::SyncSender<Job>>,
    forward: Option<forward::Forwarder>,
    pub stats: Arc<RecordStats>,
}

/// The writers' threads: they end, having written everything queued, once every
/// [`Recorder`] is dropped; and the `--forward` senders, drained at exit.
pub struct Writers {
    threads: Vec<std::thread::JoinHandle<()>>,
    forward: Option<forward::Senders>,
}

impl Writers {
    /// The `--forward` senders, to drain ([`forward::Senders::drain`]).
    pub fn take_forward(&mut self) -> Option<forward::Senders> {
        self.forward.take()
    }

    /// Waits for the writers to finish (call once the recorder is dropped); what stopped one
    /// early (a panic's message), for each that did.
    #[must_use]
    pub fn join(self) -> Vec<String> {
        self.threads
            .into_iter()
            .filter_map(|t| {
                let name = t.thread().name().unwrap_or("a writer").to_owned();
                t.join()
                    .err()
                    .map(|p| format!("the {name} writer stopped: {}", panic_text(p.as_ref())))
            })
            .collect()
    }
}

impl Recorder {
    /// Opens the data directory and the save file and starts their writers; `Ok(None)` when
    /// neither is asked for.
    ///
    /// # Errors
    /// The directory or the file cannot be created or written, or `--forward` is not usable;
    /// worded for the user, naming the flag.
    pub fn start(
        options: &RecordOptions,
        stats: Arc<RecordStats>,
        forward_stats: Arc<forward::ForwardStats>,
    ) -> Result<Option<(Self, Writers)>, String> {
        if options.data_dir.is_none() && options.save.is_none() && options.forward.is_none() {
            return Ok(None);
        }
        let (forward, senders) = match &options.forward {
            Some(f) => {
                let (forwarder, senders) = forward::Forwarder::start(f, forward_stats)?;
                (Some(forwarder), Some(senders))
            }
            None => (None, None),
        };
        let mut threads = Vec::new();
        let data = match &options.data_dir {
            Some((dir, max)) => {
                let mut segments = segments::Segments::open(dir, *max, Arc::clone(&stats))
                    .map_err(|e| format!("--data-dir {}: {e}", dir.display()))?;
                let (tx, rx) = mpsc::sync_channel::<Job>(DATA_QUEUE);
                threads.push(
                    std::thread::Builder::new()
                        .name("data-dir".into())
                        .spawn(move || segments.run(&rx))
                        .map_err(|e| e.to_string())?,
                );
                Some(tx)
            }
            None => None,
        };
        let save = match &options.save {
            Some((path, max)) => {
                let mut file = save::SaveFile::open(path, *max, Arc::clone(&stats))
                    .map_err(|e| format!("--save {}: {e}", path.display()))?;
                let (tx, rx) = mpsc::sync_channel::<Job>(SAVE_QUEUE);
                threads.push(
                    std::thread::Builder::new()
                        .name("save".into())
                        .spawn(move || file.run(&rx))
                        .map_err(|e| e.to_string())?,
                );
                Some(tx)
            }
            None => None,
        };
        Ok(Some((
            Self {
                data,
                save,
                forward,
                stats,
            },
            Writers {
                threads,
                forward: senders,
            },
        )))
    }

    /// Writes a request to the data directory (when there is one) and returns once it is
    /// written.
    ///
    /// # Errors
    /// The data directory could not be written (the request should not be acknowledged).
    pub async fn write(&self, signal: Signal, bytes: Bytes) -> Result<(), String> {
        let Some(data) = &self.data else {
            return Ok(());
        };
        let (tx, rx) = oneshot::channel();
        let job = Job {
            signal,
            bytes,
            done: Some(tx),
        };
        let fail = |e: &str| {
            self.stats.data_errors.fetch_add(1, Ordering::Relaxed);
            Err(e.to_owned())
        };
        match data.try_send(job) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Disconnected(_)) => {
                return fail("the data directory is closed");
            }
            Err(mpsc::TrySendError::Full(job)) => {
                // The writer is behind: wait for room off the async threads.
                let data = data.clone();
                let sent = tokio::task::spawn_blocking(move || data.send(job)).await;
                if !matches!(sent, Ok(Ok(()))) {
                    return fail("the data directory is closed");
                }
            }
        }
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => fail(&e),
            Err(_) => fail("the data directory writer stopped"),
        }
    }

    /// Whether a request that went through `hops` was forwarded by this viewer (it came back
    /// round a loop: it is acknowledged and dropped).
    #[must_use]
    pub fn came_back(&self, hops: &forward::Hops) -> bool {
        self.forward.as_ref().is_some_and(|f| f.came_back(hops))
    }

    /// Hands an acknowledged request (of `items` spans, records or points, forwarded to this
    /// viewer through `hops`) to `--forward` and `--save`; each drops it (and counts it) when its
    /// queue is full. Never waits.
    pub fn tap(&self, signal: Signal, bytes: Bytes, items: u64, hops: &forward::Hops) {
        if let Some(forward) = &self.forward {
            forward.offer(signal, bytes.clone(), items, hops);
        }
        if let Some(save) = &self.save {
            let job = Job {
                signal,
                bytes,
                done: None,
            };
            if save.try_send(job).is_err() {
                self.stats.save_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// A panic's message, as `std::thread::JoinHandle::join` hands it back.
#[must_use]
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic")
}

/// Drains what is waiting, after the first job, up to `max`: the writers write a group at once.
fn drain(rx: &mpsc::Receiver<Job>, first: Job, max: usize) -> Vec<Job> {
    let mut jobs = vec![first];
    while jobs.len() < max {
        match rx.try_recv() {
            Ok(j) => jobs.push(j),
            Err(_) => break,
        }
    }
    jobs
}
