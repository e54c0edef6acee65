//! Loading files into the store on a thread of its own, while the receivers run: the data
//! directory's segments first (oldest first), then the files named on the command line. Bad
//! records are reported with their file and line and skipped; progress is counted for the
//! status bar.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

use super::SharedStore;
use crate::files::{self, Format, Options};
use crate::ingest::Signal;
use crate::receiver::Limits;

/// Bad records kept for showing (all are counted).
const KEEP_ERRORS: usize = 100;

/// One file to load.
#[derive(Clone, Debug)]
pub struct LoadJob {
    pub path: PathBuf,
    /// Known for the data directory's segments (length-prefixed protobuf of one signal).
    pub signal: Option<Signal>,
    pub format: Option<Format>,
}

/// How far loading is; read by the status bar and the headless mode.
#[derive(Debug, Default)]
pub struct LoadProgress {
    pub files_total: AtomicU64,
    pub files_done: AtomicU64,
    /// Bytes of the files on disk, read and in all.
    pub bytes_read: AtomicU64,
    pub bytes_total: AtomicU64,
    pub spans: AtomicU64,
    pub log_records: AtomicU64,
    pub metric_points: AtomicU64,
    /// Records skipped as malformed, and files that could not be read at all.
    pub bad_records: AtomicU64,
    pub bad_files: AtomicU64,
    pub done: AtomicBool,
    /// The file being read.
    pub current: Mutex<Option<PathBuf>>,
    /// The first bad records and unreadable files, as `file:line: what`.
    pub errors: Mutex<Vec<String>>,
    /// Why `--jaeger` could not be read, if it could not.
    pub jaeger_error: Mutex<Option<String>>,
}

impl LoadProgress {
    /// A line for the status bar while loading, or after it when something was wrong.
    #[must_use]
    pub fn summary(&self) -> Option<String> {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        if r(&self.files_total) == 0 {
            return None;
        }
        let done = self.done.load(Ordering::Relaxed);
        let bad = r(&self.bad_records) + r(&self.bad_files);
        let items = format!(
            "{} spans, {} logs, {} points",
            r(&self.spans),
            r(&self.log_records),
            r(&self.metric_points)
        );
        let mut text = if done {
            if bad == 0 {
                return None;
            }
            format!("loaded {items}")
        } else {
            let total = r(&self.bytes_total).max(1);
            let current = self.current.lock().clone().unwrap_or_default();
            let whole = current.to_string_lossy().into_owned();
            if whole.contains("://") {
                format!("searching {whole} · {items}")
            } else {
                let name = current
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                format!(
                    "loading {name} {}% ({} of {} files) · {items}",
                    r(&self.bytes_read).saturating_mul(100) / total,
                    r(&self.files_done),
                    r(&self.files_total),
                )
            }
        };
        if bad > 0 {
            let first = self.errors.lock().first().cloned().unwrap_or_default();
            text.push_str(&format!(" · {bad} skipped (first: {first})"));
        }
        Some(text)
    }

    fn error(&self, text: String) {
        let mut errors = self.errors.lock();
        if errors.len() < KEEP_ERRORS {
            errors.push(text);
        }
    }
}

/// Traces to fetch from a Jaeger backend (`--jaeger`).
#[derive(Clone, Debug)]
pub struct JaegerJob {
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// The query (`--filter`), mapped onto Jaeger's search where it can be.
    pub filter: Option<String>,
    pub since: std::time::Duration,
    pub limit: usize,
    /// Bytes one search may read (`--jaeger-max-mb`).
    pub max_bytes: u64,
}

impl JaegerJob {
    /// The search `--jaeger` and its flags ask for, if it is given.
    #[must_use]
    pub fn of(config: &crate::Config) -> Option<Self> {
        Some(Self {
            url: config.jaeger.clone()?,
            headers: config.jaeger_header.clone(),
            filter: config.filter.clone(),
            since: config.since,
            limit: usize::try_from(config.limit).unwrap_or(usize::MAX),
            max_bytes: config.jaeger_max_mb.saturating_mul(1024 * 1024),
        })
    }

    /// The URL as it may be shown (no password).
    #[must_use]
    pub fn name(&self) -> String {
        crate::format::redact_url(&self.url).into_owned()
    }
}

/// Loads `jobs` in order on a new thread, then the traces `jaeger` finds; each bad record (and
/// a Jaeger that cannot be asked) also goes to `report` (the headless mode prints them; the
/// terminal UI shows them in its status bar).
#[must_use]
pub fn spawn(
    store: SharedStore,
    jobs: Vec<LoadJob>,
    jaeger: Option<JaegerJob>,
    limits: Limits,
    progress: Arc<LoadProgress>,
    report: fn(&str),
) -> std::thread::JoinHandle<()> {
    progress.files_total.store(
        jobs.len() as u64 + u64::from(jaeger.is_some()),
        Ordering::Relaxed,
    );
    let total: u64 = jobs
        .iter()
        .filter_map(|j| std::fs::metadata(&j.path).ok())
        .map(|m| m.len())
        .sum();
    progress.bytes_total.store(total, Ordering::Relaxed);
    std::thread::Builder::new()
        .name("load".into())
        .spawn(move || {
            for job in jobs {
                load_one(&store, &job, limits, &progress, report);
                progress.files_done.fetch_add(1, Ordering::Relaxed);
            }
            if let Some(job) = jaeger {
                *progress.current.lock() = Some(PathBuf::from(job.name()));
                if let Err(e) = fetch(&store, &job, &progress) {
                    progress.bad_files.fetch_add(1, Ordering::Relaxed);
                    progress.error(e.clone());
                    *progress.jaeger_error.lock() = Some(e);
                }
                progress.files_done.fetch_add(1, Ordering::Relaxed);
            }
            *progress.current.lock() = None;
            progress.done.store(true, Ordering::Relaxed);
        })
        .expect("spawn the loading thread")
}

fn load_one(
    store: &SharedStore,
    job: &LoadJob,
    limits: Limits,
    progress: &LoadProgress,
    report: fn(&str),
) {
    *progress.current.lock() = Some(job.path.clone());
    let before = progress.bytes_read.load(Ordering::Relaxed);
    let options = Options {
        limits,
        format: job.format,
        signal: job.signal,
    };
    let result = files::read(
        &job.path,
        &options,
        |payload| {
            let n = payload.items() as u64;
            let counter = match payload.signal() {
                Signal::Traces => &progress.spans,
                Signal::Logs => &progress.log_records,
                Signal::Metrics => &progress.metric_points,
            };
            store.lock().ingest_payload(payload);
            counter.fetch_add(n, Ordering::Relaxed);
        },
        |e| {
            progress.bad_records.fetch_add(1, Ordering::Relaxed);
            let text = e.to_string();
            report(&text);
            progress.error(text);
        },
        |p| {
            progress
                .bytes_read
                .store(before + p.bytes_read, Ordering::Relaxed);
        },
    );
    if let Err(e) = result {
        progress.bad_files.fetch_add(1, Ordering::Relaxed);
        let text = e.to_string();
        report(&text);
        progress.error(text);
    }
    if let Ok(m) = std::fs::metadata(&job.path) {
        progress
            .bytes_read
            .store(before + m.len(), Ordering::Relaxed);
    }
}

/// Searches Jaeger again on a thread of its own (the UI's `R`), with `progress` starting over.
#[must_use]
pub fn search_again(
    store: SharedStore,
    job: JaegerJob,
    progress: Arc<LoadProgress>,
) -> std::thread::JoinHandle<()> {
    progress.files_total.fetch_add(1, Ordering::Relaxed);
    progress.done.store(false, Ordering::Relaxed);
    *progress.jaeger_error.lock() = None;
    std::thread::Builder::new()
        .name("jaeger".into())
        .spawn(move || {
            *progress.current.lock() = Some(PathBuf::from(job.name()));
            if let Err(e) = fetch(&store, &job, &progress) {
                progress.bad_files.fetch_add(1, Ordering::Relaxed);
                progress.error(e.clone());
                *progress.jaeger_error.lock() = Some(e);
            }
            progress.files_done.fetch_add(1, Ordering::Relaxed);
            *progress.current.lock() = None;
            progress.done.store(true, Ordering::Relaxed);
        })
        .expect("spawn the Jaeger search thread")
}

/// Searches Jaeger (each service, when the query names none) and stores what it finds.
fn fetch(store: &SharedStore, job: &JaegerJob, progress: &LoadProgress) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let options = crate::jaeger::Options::new(job.headers.clone(), job.max_bytes);
        let jaeger = crate::jaeger::Jaeger::new(&job.url, options).map_err(|e| e.0)?;
        let expr = match &job.filter {
            Some(f) => crate::query::parse(f).map_err(|e| e.to_string())?,
            None => None,
        };
        // A whole trace id: that trace, by id.
        if let Some(crate::query::Expr::Cond(c)) = &expr
            && c.field == crate::query::Field::TraceId
            && c.op == crate::query::Op::Eq
            && c.value.text.len() == 32
            && let Ok(id) = u128::from_str_radix(&c.value.text, 16)
        {
            for payload in jaeger.trace(id).await.map_err(|e| e.0)? {
                let n = payload.items() as u64;
                store.lock().ingest_payload(payload);
                progress.spans.fetch_add(n, Ordering::Relaxed);
            }
            return Ok(());
        }
        let search = crate::jaeger::Search::of(expr.as_ref(), job.since, job.limit);
        let services = match &search.service {
            Some(s) => vec![s.clone()],
            None => jaeger.services().await.map_err(|e| e.0)?,
        };
        let now = std::time::SystemTime::now();
        for service in services {
            let one = crate::jaeger::Search {
                service: Some(service),
                ..search.clone()
            };
            for payload in jaeger.find(&one, now).await.map_err(|e| e.0)? {
                let n = payload.items() as u64;
                store.lock().ingest_payload(payload);
                progress.spans.fetch_add(n, Ordering::Relaxed);
            }
        }
        Ok(())
    })
}
