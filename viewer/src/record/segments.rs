//! The data directory: accepted requests appended to segment files, one signal per file, in the
//! Collector's length-prefixed protobuf (a 4-byte big-endian length, then an
//! `Export*ServiceRequest`). Segments are named `NNNNNNNNNN.SIGNAL.pb`, numbered in the order
//! they were started; the oldest are deleted to keep the directory under its cap. A viewer
//! started on the directory loads them back oldest first, and writes new segments (a segment
//! cut short by a crash is never appended to). The directory is created readable by its owner
//! only (0700), and so is each segment (0600).

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;

use super::{Job, RecordStats, drain};
use crate::ingest::Signal;

/// A segment is closed and a new one started past this size (or a quarter of the cap).
const SEGMENT_MAX: u64 = 64 * 1024 * 1024;
/// Requests written in one go at most.
const GROUP: usize = 256;

/// A segment file found in a data directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub seq: u64,
    pub signal: Signal,
    pub path: PathBuf,
    pub bytes: u64,
}

fn signal_name(s: Signal) -> &'static str {
    match s {
        Signal::Traces => "traces",
        Signal::Logs => "logs",
        Signal::Metrics => "metrics",
    }
}

fn index(s: Signal) -> usize {
    match s {
        Signal::Traces => 0,
        Signal::Logs => 1,
        Signal::Metrics => 2,
    }
}

/// The segments of a directory, oldest first. Other files are left alone.
///
/// # Errors
/// The directory cannot be read.
pub fn list(dir: &Path) -> std::io::Result<Vec<Segment>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let mut parts = name.split('.');
        let (Some(seq), Some(signal), Some("pb"), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let Ok(seq) = seq.parse::<u64>() else {
            continue;
        };
        let signal = match signal {
            "traces" => Signal::Traces,
            "logs" => Signal::Logs,
            "metrics" => Signal::Metrics,
            _ => continue,
        };
        out.push(Segment {
            seq,
            signal,
            path: entry.path(),
            bytes: entry.metadata()?.len(),
        });
    }
    out.sort_by_key(|s| s.seq);
    Ok(out)
}

struct Open {
    file: File,
    seq: u64,
    bytes: u64,
}

/// The writer of a data directory.
pub struct Segments {
    dir: PathBuf,
    max_total: u64,
    segment_max: u64,
    next_seq: u64,
    /// Every segment on disk, oldest first, with its size (the open ones included).
    all: VecDeque<Segment>,
    open: [Option<Open>; 3],
    stats: Arc<RecordStats>,
}

impl Segments {
    /// Opens (creating it if needed) a data directory capped at `max_total` bytes.
    ///
    /// # Errors
    /// The directory cannot be created or read.
    pub fn open(dir: &Path, max_total: u64, stats: Arc<RecordStats>) -> std::io::Result<Self> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let all: VecDeque<Segment> = list(dir)?.into();
        let next_seq = match all.back() {
            None => 1,
            Some(last) => last.seq.checked_add(1).ok_or_else(|| {
                std::io::Error::other(format!(
                    "segment {} is numbered as high as a segment can be, so no segment can \
                     follow it; renumber the segments from 1, in their order",
                    last.path.file_name().unwrap_or_default().to_string_lossy()
                ))
            })?,
        };
        let total: u64 = all.iter().map(|s| s.bytes).sum();
        stats.data_bytes.store(total, Ordering::Relaxed);
        Ok(Self {
            dir: dir.to_owned(),
            max_total,
            segment_max: SEGMENT_MAX.min(max_total / 4).max(64 * 1024),
            next_seq,
            all,
            open: [None, None, None],
            stats,
        })
    }

    /// Writes what arrives on `rx` until every sender is gone.
    pub fn run(&mut self, rx: &mpsc::Receiver<Job>) {
        while let Ok(first) = rx.recv() {
            let jobs = drain(rx, first, GROUP);
            let results = self.write_group(&jobs);
            let written = jobs
                .iter()
                .filter(|j| results[index(j.signal)].is_ok())
                .count();
            self.stats
                .data_requests
                .fetch_add(written as u64, Ordering::Relaxed);
            for job in jobs {
                if let Some(done) = job.done {
                    let _ = done.send(results[index(job.signal)].clone());
                }
            }
        }
    }

    /// Appends a group of requests (each signal's in one write) and keeps the directory under
    /// its cap; the outcome per signal (a signal's requests are written all or none).
    fn write_group(&mut self, jobs: &[Job]) -> [Result<(), String>; 3] {
        let mut bufs: [Vec<u8>; 3] = Default::default();
        let mut results: [Result<(), String>; 3] = [Ok(()), Ok(()), Ok(())];
        for job in jobs {
            let i = index(job.signal);
            let Ok(len) = u32::try_from(job.bytes.len()) else {
                results[i] = Err("a request over 4 GiB".into());
                continue;
            };
            bufs[i].extend_from_slice(&len.to_be_bytes());
            bufs[i].extend_from_slice(&job.bytes);
        }
        for signal in [Signal::Traces, Signal::Logs, Signal::Metrics] {
            let i = index(signal);
            if bufs[i].is_empty() || results[i].is_err() {
                continue;
            }
            if let Err(e) = self.append(signal, &bufs[i]) {
                results[i] = Err(format!(
                    "cannot write to the data directory {}: {e}",
                    self.dir.display()
                ));
            }
        }
        self.enforce_cap();
        results
    }

    fn append(&mut self, signal: Signal, buf: &[u8]) -> std::io::Result<()> {
        let i = index(signal);
        let full = self.open[i]
            .as_ref()
            .is_some_and(|o| o.bytes > 0 && o.bytes + buf.len() as u64 > self.segment_max);
        if full {
            self.open[i] = None;
        }
        if self.open[i].is_none() {
            let seq = self.next_seq;
            self.next_seq = seq
                .checked_add(1)
                .ok_or_else(|| std::io::Error::other("segment numbers are used up"))?;
            let path = self
                .dir
                .join(format!("{seq:010}.{}.pb", signal_name(signal)));
            let file = OpenOptions::new()
                .create_new(true)
                .append(true)
                .mode(0o600)
                .open(&path)?;
            self.all.push_back(Segment {
                seq,
                signal,
                path,
                bytes: 0,
            });
            self.open[i] = Some(Open {
                file,
                seq,
                bytes: 0,
            });
        }
        let open = self.open[i].as_mut().expect("opened above");
        if let Err(e) = open.file.write_all(buf) {
            // Part of `buf` may be in the file (a full disk takes what fits): cut it off, so the
            // segment ends with its last whole record and the next write starts a record
            // there. If even that fails, the segment is closed and the next write starts a new
            // one (a viewer loading it stops at the partial record, after every whole one).
            if open.file.set_len(open.bytes).is_err() {
                self.open[i] = None;
            }
            return Err(e);
        }
        open.bytes += buf.len() as u64;
        let seq = open.seq;
        if let Some(s) = self.all.iter_mut().rev().find(|s| s.seq == seq) {
            s.bytes += buf.len() as u64;
        }
        self.stats
            .data_bytes
            .fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Deletes the oldest segments (never one being written) while over the cap.
    fn enforce_cap(&mut self) {
        let open: Vec<u64> = self.open.iter().flatten().map(|o| o.seq).collect();
        let mut total: u64 = self.all.iter().map(|s| s.bytes).sum();
        while total > self.max_total {
            let Some(pos) = self.all.iter().position(|s| !open.contains(&s.seq)) else {
                break;
            };
            let Some(old) = self.all.remove(pos) else {
                break;
            };
            if std::fs::remove_file(&old.path).is_ok() || !old.path.exists() {
                total = total.saturating_sub(old.bytes);
                self.stats
                    .data_segments_deleted
                    .fetch_add(1, Ordering::Relaxed);
            } else {
                // Cannot delete it: keep it listed, stop trying for now.
                self.all.insert(pos, old);
                break;
            }
        }
        self.stats.data_bytes.store(total, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn job(signal: Signal, n: usize) -> Job {
        Job {
            signal,
            bytes: Bytes::from(vec![7u8; n]),
            done: None,
        }
    }

    #[test]
    fn writes_length_prefixed_records_per_signal_and_rotates_and_caps() {
        let dir = std::env::temp_dir().join(format!("viewer-seg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let stats = Arc::new(RecordStats::default());
        let mut s = Segments::open(&dir, 1024 * 1024, Arc::clone(&stats)).unwrap();
        s.segment_max = 100;
        let written = s.write_group(&[
            job(Signal::Traces, 10),
            job(Signal::Logs, 5),
            job(Signal::Traces, 3),
        ]);
        assert!(written.iter().all(Result::is_ok), "{written:?}");
        let segs = list(&dir).unwrap();
        assert_eq!(segs.len(), 2);
        assert_eq!((segs[0].seq, segs[0].signal), (1, Signal::Traces));
        assert_eq!((segs[1].seq, segs[1].signal), (2, Signal::Logs));
        let bytes = std::fs::read(&segs[0].path).unwrap();
        assert_eq!(&bytes[..4], &10u32.to_be_bytes());
        assert_eq!(&bytes[14..18], &3u32.to_be_bytes());
        assert_eq!(bytes.len(), 4 + 10 + 4 + 3);
        // Past the segment size, a new segment.
        assert!(s.write_group(&[job(Signal::Traces, 90)])[0].is_ok());
        assert_eq!(list(&dir).unwrap().len(), 3);
        // A viewer started on the directory numbers on, and a tight cap deletes the oldest.
        drop(s);
        let mut s = Segments::open(&dir, 130, Arc::clone(&stats)).unwrap();
        assert_eq!(s.next_seq, 4);
        assert!(s.write_group(&[job(Signal::Metrics, 20)])[2].is_ok());
        let segs = list(&dir).unwrap();
        let total: u64 = segs.iter().map(|s| s.bytes).sum();
        assert!(total <= 130, "{segs:?}");
        assert_eq!(segs.last().unwrap().signal, Signal::Metrics);
        assert!(stats.data_segments_deleted.load(Ordering::Relaxed) >= 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
