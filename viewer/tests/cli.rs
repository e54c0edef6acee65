//! The real binary: headless output on exit, signals, and plain errors for bad flags and busy
//! ports.

use std::process::{Command, Stdio};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

const BIN: &str = env!("CARGO_BIN_EXE_viewer");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn one_span_request() -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![0xab; 16],
                    span_id: vec![1; 8],
                    name: "hello".into(),
                    start_time_unix_nano: 1,
                    end_time_unix_nano: 2_000_001,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

async fn send_when_ready(port: u16) {
    for _ in 0..100 {
        if let Ok(mut c) = TraceServiceClient::connect(format!("http://127.0.0.1:{port}")).await {
            c.export(one_span_request()).await.expect("export");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("viewer never listened on {port}");
}

#[tokio::test]
async fn headless_sigterm_prints_the_traces_and_exits_zero() {
    let (grpc, http) = (free_port(), free_port());
    let child = Command::new(BIN)
        .args(["--headless", "--grpc-addr", &format!("127.0.0.1:{grpc}")])
        .args(["--http-addr", &format!("127.0.0.1:{http}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    send_when_ready(grpc).await;
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with(&format!(
            "trace {} 1 spans, 1 services, 2.00ms",
            "ab".repeat(16)
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n  unknown_service: hello [unspecified] 2.00ms\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("totals: 1 spans received, 1 stored"),
        "{stdout}"
    );
}

#[tokio::test]
async fn headless_exit_after() {
    let out = tokio::task::spawn_blocking(|| {
        Command::new(BIN)
            .args(["--headless", "--exit-after", "300ms"])
            .args(["--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout,
        "totals: 0 spans received, 0 stored, 0 traces, 0 rejected, 0 evicted, 0 duplicates, 0 dropped from full traces, 0 metric data points, 0 log records\n"
    );
}

#[test]
fn a_wrong_flag_gets_a_message_not_a_panic() {
    for args in [
        &["--grpc-addr", "not-an-address"][..],
        &["--exit-after", "whenever"],
        &["--no-such-flag"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.starts_with("error:"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_busy_port_is_one_line_and_a_failure() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let out = Command::new(BIN)
        .args([
            "--headless",
            "--grpc-addr",
            &addr.to_string(),
            "--http-addr",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen for OTLP/gRPC on {addr}")),
        "{stderr}"
    );
}

#[test]
fn the_ui_without_a_terminal_says_so() {
    let out = Command::new(BIN)
        .args(["--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("--headless"), "{stderr}");
}

/// Two traces: `ok` (trace 0x01…, 2 ms) and `failing` (trace 0x02…, an error span, 40 ms).
fn two_traces() -> ExportTraceServiceRequest {
    use opentelemetry_proto::tonic::trace::v1::Status;
    let span = |trace: u8, name: &str, ms: u64, error: bool| Span {
        trace_id: vec![trace; 16],
        span_id: vec![trace; 8],
        name: name.into(),
        start_time_unix_nano: 1_000_000_000,
        end_time_unix_nano: 1_000_000_000 + ms * 1_000_000,
        status: error.then(|| Status {
            code: 2,
            message: "boom".into(),
        }),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![span(1, "ok", 2, false), span(2, "failing", 40, true)],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[tokio::test]
async fn headless_filter_prints_only_the_matching_traces() {
    let (grpc, http) = (free_port(), free_port());
    let child = Command::new(BIN)
        .args(["--headless", "--grpc-addr", &format!("127.0.0.1:{grpc}")])
        .args(["--http-addr", &format!("127.0.0.1:{http}")])
        .args(["--filter", "status=error and duration>10ms"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut sent = false;
    for _ in 0..100 {
        if let Ok(mut c) = TraceServiceClient::connect(format!("http://127.0.0.1:{grpc}")).await {
            c.export(two_traces()).await.expect("export");
            sent = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(sent, "viewer never listened");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with(&format!("trace {} 1 spans", "02".repeat(16))),
        "{stdout}"
    );
    assert!(!stdout.contains(&"01".repeat(16)), "{stdout}");
    assert!(
        stdout.contains(
            "filter \"status=error and duration>10ms\": 1 of 2 traces, metrics left out, log records left out\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("totals: 2 spans received"), "{stdout}");
}

#[test]
fn a_bad_filter_says_where_before_anything_starts() {
    let out = Command::new(BIN)
        .args(["--headless", "--filter", "status=error and duration>5"])
        .args(["--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            "--filter \"status=error and duration>5\": at column 27: \"5\" is not a duration"
        ),
        "{stderr}"
    );
}

#[test]
fn unusable_file_and_forward_flags_are_one_line_each() {
    let dir = std::env::temp_dir().join(format!("viewer-cli-file-{}", std::process::id()));
    std::fs::write(&dir, "a file, not a directory").unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["--forward", "https://collector:4318"],
            "TLS is not supported yet",
        ),
        (
            &["--forward", "collector:4317"],
            "write grpc://HOST:PORT or http://HOST:PORT",
        ),
        (&["--data-dir", dir.to_str().unwrap()], "--data-dir"),
        (
            &["--save", "/no/such/dir/out.jsonl"],
            "--save /no/such/dir/out.jsonl",
        ),
    ];
    for (args, says) in cases {
        let out = Command::new(BIN)
            .args([
                "--headless",
                "--grpc-addr",
                "127.0.0.1:0",
                "--http-addr",
                "127.0.0.1:0",
            ])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let out = Command::new(BIN)
        .args(["--forward-header", "no-equals-sign"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("write NAME=VALUE"));
    let _ = std::fs::remove_file(&dir);
}
