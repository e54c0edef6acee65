//! Telemetry read from files rather than received: the same payloads the receivers hand to the
//! ingest path, built from what exporters and tools write to disk. Pure and synchronous: no
//! async, no terminal; the caller decides where the payloads go.
//!
//! Formats ([`Format`]):
//! - **OTLP JSON lines**, as the Collector's `file` exporter and the OTLP file-exporter
//!   specification write them: one `Export{Trace,Metrics,Logs}ServiceRequest` per line, each line
//!   any of the three signals (`otlp_json`).
//! - **Length-prefixed OTLP protobuf**, the `file` exporter's `format: proto`: each record a
//!   4-byte big-endian length then the request's bytes (`protobuf`). The signal of a record is
//!   read from its structure (see `protobuf` for how), the file name a hint when it says nothing.
//! - **Jaeger JSON**, what Jaeger's UI downloads and its `/api/traces` returns (`jaeger`).
//!
//! Any of them may be gzip- or zstd-compressed, told by the extension (`.gz`, `.zst`, `.zstd`) or,
//! when the extension says nothing, by the magic bytes. The format is told by the content (see
//! [`detect`]); the caller may force it ([`Options::format`]).
//!
//! A bad record (a malformed line, a record that does not decode) is reported and skipped; the
//! rest of the file loads. A file that cannot be read at all, or is no telemetry file, is an
//! error.

mod jaeger;
mod open;
mod otlp_json;
mod protobuf;

use std::fmt;
use std::path::{Path, PathBuf};

pub use open::Compression;

use crate::ingest::{Payload, Signal};
use crate::receiver::Limits;

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One OTLP/JSON export request per line (traces, metrics or logs, line by line).
    OtlpJsonLines,
    /// OTLP/protobuf export requests, each after its 4-byte big-endian length.
    OtlpProtobuf,
    /// Jaeger's JSON: `{"data":[trace, …]}` (the UI's download, the query API's answer).
    JaegerJson,
}

impl Format {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OtlpJsonLines => "OTLP JSON lines",
            Self::OtlpProtobuf => "length-prefixed OTLP protobuf",
            Self::JaegerJson => "Jaeger JSON",
        }
    }
}

/// How to read a file; the defaults detect everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub limits: Limits,
    /// The format, when known; detected from the content otherwise.
    pub format: Option<Format>,
    /// For protobuf records: the signal they carry, when known (a record says it only by its
    /// structure; see `protobuf`).
    pub signal: Option<Signal>,
}

/// Something wrong with a file, or with one record of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError {
    pub path: PathBuf,
    /// The 1-based line of a JSON-lines record (or of a JSON document's syntax error); the
    /// 1-based record number of a protobuf record; `None` for the file as a whole.
    pub line: Option<u64>,
    pub message: String,
}

impl FileError {
    fn new(path: &Path, line: Option<u64>, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            line,
            message: message.into(),
        }
    }
}

/// Characters of a file's name, and of a message, shown at most: both can come from outside
/// (a directory's listing, a file's own text), so both are escaped too.
const SHOWN_CHARS: usize = 1024;

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display().to_string();
        let path = crate::format::safe_capped(&path, SHOWN_CHARS);
        let message = crate::format::safe_capped(&self.message, SHOWN_CHARS);
        match self.line {
            Some(line) => write!(f, "{path}:{line}: {message}"),
            None => write!(f, "{path}: {message}"),
        }
    }
}

impl std::error::Error for FileError {}

/// How far the reading is, in bytes of the file on disk (compressed, when it is).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub bytes_read: u64,
    pub bytes_total: u64,
}

/// What a file held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    pub format: Format,
    pub compression: Compression,
    /// Payloads handed on.
    pub payloads: u64,
    pub spans: u64,
    pub log_records: u64,
    pub metric_points: u64,
    /// Records (lines, protobuf records, Jaeger traces) skipped as malformed.
    pub bad_records: u64,
    /// Spans, log records or data points dropped from records that loaded (invalid ids,
    /// malformed points), as the receivers drop them.
    pub rejected: u64,
}

/// Progress is reported after at least this many more bytes of the file were read.
const PROGRESS_EVERY: u64 = 1 << 20;

/// Reads one file with the default options: see [`read`].
///
/// # Errors
/// When the file cannot be opened or read at all, or holds no telemetry.
pub fn read_file(
    path: &Path,
    limits: &Limits,
    on_payload: impl FnMut(Payload),
    on_error: impl FnMut(FileError),
    on_progress: impl FnMut(Progress),
) -> Result<Summary, FileError> {
    let options = Options {
        limits: *limits,
        ..Options::default()
    };
    read(path, &options, on_payload, on_error, on_progress)
}

/// Reads one file: detects its compression and format, hands each payload to `on_payload`,
/// each bad record to `on_error` (skipped; the rest loads; records that load with some items
/// dropped are reported too), and progress now and then to `on_progress` (and once at the end).
///
/// # Errors
/// When the file cannot be opened or read at all (not found, no permission, a broken
/// compressed stream before any record), or holds no telemetry.
pub fn read(
    path: &Path,
    options: &Options,
    mut on_payload: impl FnMut(Payload),
    mut on_error: impl FnMut(FileError),
    mut on_progress: impl FnMut(Progress),
) -> Result<Summary, FileError> {
    let mut file = open::open(path)?;
    let format = match options.format {
        Some(f) => f,
        None => detect(path, &file.head)?,
    };
    let mut summary = Summary {
        format,
        compression: file.compression,
        payloads: 0,
        spans: 0,
        log_records: 0,
        metric_points: 0,
        bad_records: 0,
        rejected: 0,
    };
    let counter = file.counter.clone();
    let total = file.bytes_total;
    let mut last_reported = 0;
    let mut sink = Sink {
        path,
        summary: &mut summary,
        on_payload: &mut on_payload,
        on_error: &mut on_error,
        on_progress: &mut |force: bool| {
            let read = counter.get();
            if force || read >= last_reported + PROGRESS_EVERY {
                last_reported = read;
                on_progress(Progress {
                    bytes_read: read,
                    bytes_total: total,
                });
            }
        },
    };
    let result = match format {
        Format::OtlpJsonLines => otlp_json::read_lines(&mut file.reader, options, &mut sink),
        Format::OtlpProtobuf => {
            let hint = options.signal.or_else(|| signal_in_name(path));
            protobuf::read_records(&mut file.reader, options, hint, &mut sink)
        }
        Format::JaegerJson => jaeger::read_document(&mut file.reader, options, &mut sink),
    };
    (sink.on_progress)(true);
    result?;
    Ok(summary)
}

/// Where a reader puts what it finds.
pub(crate) struct Sink<'a> {
    path: &'a Path,
    summary: &'a mut Summary,
    on_payload: &'a mut dyn FnMut(Payload),
    on_error: &'a mut dyn FnMut(FileError),
    /// `true` to report regardless of how much was read since.
    on_progress: &'a mut dyn FnMut(bool),
}

impl Sink<'_> {
    /// A payload that loaded; `problem` says what of it was dropped, if anything.
    fn payload(&mut self, payload: Payload, line: Option<u64>, problem: &str) {
        let s = &mut *self.summary;
        let n = payload.items() as u64;
        let rejected = match &payload {
            Payload::Spans(b) => {
                s.spans += n;
                b.rejected
            }
            Payload::Logs(b) => {
                s.log_records += n;
                b.rejected
            }
            Payload::Metrics(b) => {
                s.metric_points += n;
                b.rejected
            }
        };
        s.rejected += rejected;
        s.payloads += 1;
        (self.on_payload)(payload);
        if !problem.is_empty() {
            (self.on_error)(FileError::new(self.path, line, problem));
        }
        (self.on_progress)(false);
    }

    /// A record skipped as malformed.
    fn bad(&mut self, line: Option<u64>, message: impl Into<String>) {
        self.summary.bad_records += 1;
        (self.on_error)(FileError::new(self.path, line, message));
        (self.on_progress)(false);
    }

    /// An error about the file as a whole, to return.
    fn fatal(&self, line: Option<u64>, message: impl Into<String>) -> FileError {
        FileError::new(self.path, line, message)
    }
}

/// One OTLP/JSON export request (or `TracesData`, `MetricsData`, `LogsData`: the same shape)
/// as a payload: `Ok(None)` for an empty one; the text says what of it was dropped.
///
/// # Errors
/// Not OTLP/JSON, or malformed.
pub fn parse_otlp_json(text: &[u8], limits: &Limits) -> Result<Option<(Payload, String)>, String> {
    otlp_json::parse(text, limits).map_err(|e| e.message)
}

/// The signal a file's name suggests (`traces.pb`, `otel-metrics.binpb.zst`, `logs-1.pb`), if
/// exactly one is named.
#[must_use]
pub fn signal_in_name(path: &Path) -> Option<Signal> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    let found = [
        (Signal::Traces, ["trace", "span"]),
        (Signal::Metrics, ["metric", "metric"]),
        (Signal::Logs, ["log", "log"]),
    ]
    .into_iter()
    .filter(|(_, words)| words.iter().any(|w| name.contains(w)))
    .map(|(s, _)| s)
    .collect::<Vec<_>>();
    match found[..] {
        [one] => Some(one),
        _ => None,
    }
}

/// Tells the format of a file from its first bytes (after decompression):
/// - a JSON object or array (after white space and a byte-order mark): Jaeger's when the first
///   key is one of Jaeger's (`data`, `traceID`, `spans`, `processes`, …) or it is an array,
///   OTLP JSON lines when it is one of OTLP's (`resourceSpans`, `resourceMetrics`,
///   `resourceLogs`, or their snake-case names); an object with another first key is no
///   telemetry file — unless the extension says `.jsonl`/`.ndjson` (OTLP JSON lines);
/// - nothing at all: an empty OTLP JSON lines file;
/// - anything else: length-prefixed protobuf, when its first record looks like one (a length,
///   then an OTLP request's first field, or a zstd frame); no telemetry file otherwise.
///
/// # Errors
/// When the file cannot be read, or is none of the formats.
pub fn detect(path: &Path, head: &[u8]) -> Result<Format, FileError> {
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let ext = open::inner_extension(path);
    let lines_ext = matches!(ext.as_deref(), Some("jsonl" | "ndjson"));
    let Some(start) = text.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Ok(Format::OtlpJsonLines);
    };
    match text[start] {
        b'[' => Ok(Format::JaegerJson),
        b'{' => match first_key(&text[start + 1..]) {
            Some(
                "resourceSpans" | "resourceMetrics" | "resourceLogs" | "resource_spans"
                | "resource_metrics" | "resource_logs",
            ) => Ok(Format::OtlpJsonLines),
            Some(
                "data" | "traceID" | "spans" | "processes" | "total" | "limit" | "offset"
                | "errors" | "warnings",
            ) => Ok(Format::JaegerJson),
            // An empty object, or a key cut off by the end of the head: the lines will tell.
            None => Ok(Format::OtlpJsonLines),
            Some(_) if lines_ext => Ok(Format::OtlpJsonLines),
            Some(other) => Err(FileError::new(
                path,
                None,
                format!(
                    "not a telemetry file: a JSON object whose first key is {other:?} is \
                     neither OTLP JSON (resourceSpans, resourceMetrics, resourceLogs) nor \
                     Jaeger JSON (data)"
                ),
            )),
        },
        _ if protobuf::plausible(head) => Ok(Format::OtlpProtobuf),
        _ => Err(FileError::new(
            path,
            None,
            format!(
                "not a telemetry file: neither JSON nor length-prefixed OTLP protobuf{}",
                match ext.as_deref() {
                    Some(e @ ("json" | "jsonl" | "ndjson")) => {
                        format!(" (a .{e} file should start with `{{`)")
                    }
                    _ => String::new(),
                }
            ),
        )),
    }
}

/// The first key of a JSON object, given what follows its `{`; `None` for an empty object or
/// when the key is not complete in `rest`.
fn first_key(rest: &[u8]) -> Option<&str> {
    let start = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = rest[start..].strip_prefix(b"\"")?;
    let end = memchr::memchr(b'"', rest)?;
    std::str::from_utf8(&rest[..end]).ok()
}

#[cfg(test)]
mod tests;
