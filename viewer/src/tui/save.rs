//! Writing traces to a file from the UI (`w`): the names suggested, where a typed name points,
//! and the write itself, as OTLP JSON lines ([`crate::report::otlp`]). The app calls it when a
//! name is entered, never a view. A symbolic link at the name is refused, never written through.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::format;
use crate::model::TraceId;
use crate::record::save::open_no_follow;
use crate::server::SharedStore;
use crate::store::TraceRef;

/// Traces written under one lock of the store: the lock is let go between batches, so a big
/// write never holds up ingest for long.
const BATCH: usize = 256;

/// The name suggested for one trace: `trace-<first 8 hex digits of its id>.jsonl`.
#[must_use]
pub fn trace_file_name(id: TraceId) -> String {
    format!("trace-{}.jsonl", &format::trace_id(id)[..8])
}

/// The name suggested for a list of traces: `traces-<UTC time>.jsonl`, as
/// `traces-20261130T080230Z.jsonl`.
#[must_use]
pub fn list_file_name(now: SystemTime) -> String {
    let stamp: String = humantime::format_rfc3339_seconds(now)
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    format!("traces-{stamp}.jsonl")
}

/// Where a typed name points: relative to the current directory, `~/` the home directory.
#[must_use]
pub fn path_of(name: &str) -> PathBuf {
    match (name.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(name),
    }
}

/// What a write wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    pub traces: usize,
    pub spans: usize,
}

/// Writes the traces still held to `path`, one OTLP JSON request a line. A new file unless
/// `overwrite`, which replaces what is there.
///
/// # Errors
/// Creating or writing the file; `AlreadyExists` when it exists and `overwrite` is false.
pub fn write(
    store: &SharedStore,
    traces: &[TraceRef],
    path: &Path,
    overwrite: bool,
) -> io::Result<Written> {
    let file: File = if overwrite {
        open_no_follow(
            OpenOptions::new().write(true).create(true).truncate(true),
            path,
        )?
    } else {
        OpenOptions::new().write(true).create_new(true).open(path)?
    };
    let mut out = BufWriter::with_capacity(1 << 16, file);
    let mut written = Written {
        traces: 0,
        spans: 0,
    };
    for batch in traces.chunks(BATCH) {
        let store = Arc::clone(store);
        let store = store.lock();
        written.spans += batch
            .iter()
            .filter_map(|r| store.trace(*r))
            .map(crate::store::Trace::span_count)
            .sum::<usize>();
        written.traces +=
            crate::report::otlp::write_traces(&store, batch.iter().copied(), &mut out)?;
    }
    out.into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .sync_all()?;
    Ok(written)
}

/// An error as the notice says it: "permission denied", "no such directory".
#[must_use]
pub fn error_text(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::NotFound => "no such directory".into(),
        io::ErrorKind::AlreadyExists => "the file exists".into(),
        io::ErrorKind::IsADirectory => "it is a directory".into(),
        io::ErrorKind::StorageFull => "no space left on the device".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggested_names() {
        assert_eq!(
            trace_file_name(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
            "trace-4bf92f35.jsonl"
        );
        assert_eq!(trace_file_name(0xabc), "trace-00000000.jsonl");
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(list_file_name(t), "traces-20231114T221320Z.jsonl");
    }

    #[test]
    fn a_name_is_relative_to_the_current_directory_and_tilde_is_home() {
        assert_eq!(path_of("t.jsonl"), PathBuf::from("t.jsonl"));
        assert_eq!(path_of("/tmp/t.jsonl"), PathBuf::from("/tmp/t.jsonl"));
        if let Some(home) = std::env::var_os("HOME") {
            assert_eq!(path_of("~/t.jsonl"), Path::new(&home).join("t.jsonl"));
        }
    }
}
