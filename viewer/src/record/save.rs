//! `--save FILE`: every accepted request appended as one line of OTLP JSON (the OTLP
//! file-exporter format, which the Collector's `otlpjsonfile` receiver and `viewer FILE` read).
//! Past `--save-max-mb` the file is rotated: `FILE` becomes `FILE.1` (and `FILE.1` `FILE.2`, up
//! to [`KEEP`] old files), and a new `FILE` is started.
//!
//! A file this creates is readable by its owner only (0600), and a symbolic link where the file
//! goes is refused, never written through ([`open_no_follow`]).

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use super::{Job, RecordStats, drain};
use crate::ingest::Signal;

/// Rotated files kept besides the one being written.
pub const KEEP: usize = 5;
const GROUP: usize = 256;

/// The file being appended to.
pub struct SaveFile {
    path: PathBuf,
    max: u64,
    out: BufWriter<File>,
    bytes: u64,
    stats: Arc<RecordStats>,
}

impl SaveFile {
    /// Opens `path` for appending (creating it), rotated past `max` bytes.
    ///
    /// # Errors
    /// The file cannot be created or opened for writing.
    pub fn open(path: &Path, max: u64, stats: Arc<RecordStats>) -> std::io::Result<Self> {
        let file = open_append(path)?;
        let bytes = file.metadata()?.len();
        Ok(Self {
            path: path.to_owned(),
            max,
            out: BufWriter::with_capacity(256 * 1024, file),
            bytes,
            stats,
        })
    }

    /// Writes what arrives on `rx` until every sender is gone.
    pub fn run(&mut self, rx: &mpsc::Receiver<Job>) {
        while let Ok(first) = rx.recv() {
            let jobs = drain(rx, first, GROUP);
            let n = jobs.len() as u64;
            match self.write_group(&jobs) {
                Ok(()) => self.stats.saved.fetch_add(n, Ordering::Relaxed),
                Err(_) => self.stats.save_dropped.fetch_add(n, Ordering::Relaxed),
            };
        }
        let _ = self.out.flush();
    }

    fn write_group(&mut self, jobs: &[Job]) -> std::io::Result<()> {
        let mut line = Vec::with_capacity(64 * 1024);
        for job in jobs {
            line.clear();
            json_line(job.signal, &job.bytes, &mut line)?;
            if self.bytes > 0 && self.bytes + line.len() as u64 > self.max {
                self.rotate()?;
            }
            self.out.write_all(&line)?;
            self.bytes += line.len() as u64;
        }
        self.out.flush()
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.out.flush()?;
        let name = |k: usize| {
            let mut p = self.path.clone().into_os_string();
            p.push(format!(".{k}"));
            PathBuf::from(p)
        };
        for k in (1..KEEP).rev() {
            let from = name(k);
            if from.exists() {
                std::fs::rename(&from, name(k + 1))?;
            }
        }
        std::fs::rename(&self.path, name(1))?;
        let file = open_append(&self.path)?;
        self.out = BufWriter::with_capacity(256 * 1024, file);
        self.bytes = 0;
        Ok(())
    }
}

/// Opens `path` for appending, created readable by its owner only.
fn open_append(path: &Path) -> io::Result<File> {
    open_no_follow(
        OpenOptions::new().create(true).append(true).mode(0o600),
        path,
    )
}

/// Opens `path` as `options` say, except through a symbolic link: a link at `path` is refused
/// ("it is a symbolic link, not followed"), so a link planted where a file is written cannot
/// send the write elsewhere.
///
/// # Errors
/// As [`OpenOptions::open`]; `InvalidInput` for a symbolic link.
pub fn open_no_follow(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    options
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| {
            let link = path
                .symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink());
            if e.raw_os_error() == Some(libc::ELOOP) && link {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "it is a symbolic link, not followed",
                )
            } else {
                e
            }
        })
}

/// One request's OTLP JSON and a newline.
///
/// # Errors
/// The bytes are not a request of that signal (the receivers decoded them, so this does not
/// happen), or the JSON cannot be written.
pub fn json_line(signal: Signal, bytes: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
    let bad = |e: prost::DecodeError| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
    match signal {
        Signal::Traces => serde_json::to_writer(
            &mut *out,
            &ExportTraceServiceRequest::decode(bytes).map_err(bad)?,
        ),
        Signal::Logs => serde_json::to_writer(
            &mut *out,
            &ExportLogsServiceRequest::decode(bytes).map_err(bad)?,
        ),
        Signal::Metrics => serde_json::to_writer(
            &mut *out,
            &ExportMetricsServiceRequest::decode(bytes).map_err(bad)?,
        ),
    }
    .map_err(std::io::Error::from)?;
    out.push(b'\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    fn request(name: &str) -> Bytes {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        trace_id: vec![0xab; 16],
                        span_id: vec![1; 8],
                        name: name.into(),
                        start_time_unix_nano: 1,
                        end_time_unix_nano: 2,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode_to_vec()
        .into()
    }

    #[test]
    fn appends_json_lines_and_rotates() {
        let dir = std::env::temp_dir().join(format!("viewer-save-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.jsonl");
        let stats = Arc::new(RecordStats::default());
        let mut f = SaveFile::open(&path, 10_000, Arc::clone(&stats)).unwrap();
        let job = |name: &str| Job {
            signal: Signal::Traces,
            bytes: request(name),
            done: None,
        };
        f.write_group(&[job("first"), job("second")]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let back: ExportTraceServiceRequest = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(
            back.resource_spans[0].scope_spans[0].spans[0].name,
            "second"
        );
        assert_eq!(
            back.resource_spans[0].scope_spans[0].spans[0].trace_id,
            vec![0xab; 16]
        );
        // Rotation: a small cap starts a new file and keeps the old one as .1.
        f.max = lines[0].len() as u64 + 10;
        f.write_group(&[job("third")]).unwrap();
        let rotated = std::fs::read_to_string(dir.join("out.jsonl.1")).unwrap();
        assert_eq!(rotated.lines().count(), 2);
        let now = std::fs::read_to_string(&path).unwrap();
        assert_eq!(now.lines().count(), 1);
        assert!(now.contains("third"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
