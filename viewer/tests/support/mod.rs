//! What the fault tests share: a viewer's test configuration, the real binary run to its end or
//! run headless until a signal, requests of a known size, and a small tmpfs to fill.

#![allow(dead_code)] // each test file uses its own part of this module

pub mod raw_codec;
pub mod upstream;

use std::io::{BufRead as _, BufReader, Read as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Parser as _;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use viewer::Config;

pub const BIN: &str = env!("CARGO_BIN_EXE_viewer");

/// Headless, both receivers on 127.0.0.1 port 0, then `args`.
pub fn config(args: &[&str]) -> Config {
    let mut all = vec![
        "viewer",
        "--grpc-addr",
        "127.0.0.1:0",
        "--http-addr",
        "127.0.0.1:0",
        "--headless",
    ];
    all.extend_from_slice(args);
    Config::parse_from(all)
}

/// Runs the binary with `args` to its end.
pub fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// The report of the binary loading what `args` name (`--headless --no-listen`), and its
/// stderr; it must exit 0.
pub fn loaded(args: &[&str]) -> (String, String) {
    let out = Command::new(BIN)
        .args(["--headless", "--no-listen"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The binary run headless, both receivers on 127.0.0.1 port 0, then `args`; its stderr read
/// line by line as it comes. Killed when dropped, unless [`Headless::finish`] waited for it.
pub struct Headless {
    child: Option<Child>,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    lines: mpsc::Receiver<String>,
    stderr: Vec<String>,
    stdout: Option<std::thread::JoinHandle<String>>,
}

/// How a [`Headless`] run ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Headless {
    /// Starts it and waits (up to 30 s) for its start-up line, which names the addresses.
    pub fn start(args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(["--headless", "--grpc-addr", "127.0.0.1:0"])
            .args(["--http-addr", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            stdout.read_to_string(&mut text).unwrap();
            text
        });
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut run = Self {
            child: Some(child),
            grpc: ([0, 0, 0, 0], 0).into(),
            http: ([0, 0, 0, 0], 0).into(),
            lines,
            stderr: Vec::new(),
            stdout: Some(stdout),
        };
        let line = run
            .wait_for("receiving OTLP on grpc://", Duration::from_secs(30))
            .unwrap_or_else(|| panic!("no start-up line: {:?}", run.stderr));
        let addr = |after: &str, before: &str| -> SocketAddr {
            let rest = &line[line.find(after).unwrap() + after.len()..];
            rest[..rest.find(before).unwrap()].parse().unwrap()
        };
        run.grpc = addr("grpc://", " ");
        run.http = addr("http://", " ");
        run
    }

    /// Waits (up to `within`) for a line of stderr containing `text`; the line, or `None` when
    /// none came (it may have exited).
    pub fn wait_for(&mut self, text: &str, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).ok()?;
            self.stderr.push(line.clone());
            if line.contains(text) {
                return Some(line);
            }
        }
    }

    /// Sends it a signal (`INT`, `TERM`, as `kill -NAME` takes it).
    pub fn signal(&self, name: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let status = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} {pid}");
    }

    /// Waits (as long as it takes) for it to exit; what it printed.
    pub fn finish(mut self) -> Finished {
        let status = self.child.take().unwrap().wait().unwrap();
        let stdout = self.stdout.take().unwrap().join().unwrap();
        let mut stderr = std::mem::take(&mut self.stderr);
        stderr.extend(self.lines.iter());
        Finished {
            status,
            stdout,
            stderr: stderr.join("\n"),
        }
    }
}

impl Drop for Headless {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The trace id of trace `n` (lowercase hex, as the report prints it).
pub fn trace_hex(n: u64) -> String {
    hex(&trace_id(n))
}

fn trace_id(n: u64) -> [u8; 16] {
    let mut id = [0x5au8; 16];
    id[8..].copy_from_slice(&n.to_be_bytes());
    id
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One trace, `n`, of `spans` spans, each with an attribute of `pad` bytes (so the request's
/// size is about `spans * pad`).
pub fn trace_request(n: u64, spans: u64, pad: usize) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: (1..=spans)
                    .map(|i| Span {
                        trace_id: trace_id(n).to_vec(),
                        span_id: i.to_be_bytes().to_vec(),
                        parent_span_id: if i == 1 {
                            Vec::new()
                        } else {
                            1u64.to_be_bytes().to_vec()
                        },
                        name: format!("span {i} of trace {n}"),
                        start_time_unix_nano: 1_000_000 + i,
                        end_time_unix_nano: 2_000_000 + i,
                        attributes: vec![KeyValue {
                            key: "pad".into(),
                            value: Some(AnyValue {
                                value: Some(any_value::Value::StringValue("x".repeat(pad))),
                            }),
                            ..Default::default()
                        }],
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A tmpfs mounted for one test, unmounted (and its mount point removed) when dropped.
pub struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it: `400k`) on a new directory; `None`,
    /// with a message, where mounting is refused (not root, no mount namespace): the test is
    /// then skipped, under CI too.
    pub fn mount(name: &str, size: &str) -> Option<Self> {
        let dir = std::env::temp_dir().join(format!("viewer-tmpfs-{name}-{}", std::process::id()));
        let _ = Command::new("umount").arg("-l").arg(&dir).output();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Self { dir }),
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
                    Err(e) => e.to_string(),
                };
                eprintln!("skipped: cannot mount a tmpfs ({why}); this test needs root");
                let _ = std::fs::remove_dir(&dir);
                None
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: a failed test may still hold files open on it.
        let _ = Command::new("umount").arg("-l").arg(&self.dir).output();
        let _ = std::fs::remove_dir(&self.dir);
    }
}
