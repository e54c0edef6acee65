//! Files: what is received saved (`--save`) and kept (`--data-dir`), then opened again
//! (`viewer FILE`, `--no-listen`) with the same traces, metrics and logs; the data directory
//! surviving SIGKILL and a segment cut short; files shaped as the Collector and Jaeger's UI write
//! them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use clap::Parser as _;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;
use viewer::{Config, Viewer};

const BIN: &str = env!("CARGO_BIN_EXE_viewer");

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("viewer-files-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config(args: &[&str]) -> Config {
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

/// The report of a viewer that only loads (`--no-listen`).
async fn opened(args: &[&str]) -> String {
    let mut all = vec!["--no-listen"];
    all.extend_from_slice(args);
    let mut viewer = Viewer::start(config(&all)).await.unwrap();
    viewer.wait_loaded().await;
    viewer.shutdown().await
}

/// Everything but the totals line, whose "received" counts include refusals made on receipt.
fn body(report: &str) -> String {
    report
        .lines()
        .filter(|l| !l.starts_with("totals:"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_data_saved_and_kept_opens_as_it_was_received() {
    let Ok(python) = std::env::var("VIEWER_TEST_PYTHON") else {
        assert!(
            std::env::var("CI").is_err(),
            "VIEWER_TEST_PYTHON is not set: run the tests through scripts/test.sh"
        );
        eprintln!("skipped: VIEWER_TEST_PYTHON not set (scripts/test.sh sets it)");
        return;
    };
    let dir = temp_dir("roundtrip");
    let saved = dir.join("received.jsonl");
    let data = dir.join("data");
    let (saved_s, data_s) = (saved.to_str().unwrap(), data.to_str().unwrap());
    let viewer = Viewer::start(config(&["--save", saved_s, "--data-dir", data_s]))
        .await
        .unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/python/export.py"
    );
    let (grpc, http) = (
        format!("http://{}", viewer.grpc_addr()),
        format!("http://{}", viewer.http_addr()),
    );
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(grpc)
            .arg(http)
            .output()
    })
    .await
    .unwrap()
    .expect("run python");
    assert!(
        out.status.success(),
        "python exporter failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let received = viewer.shutdown().await;
    assert!(received.contains("metric requests counter"), "{received}");
    assert!(received.contains("\nlog "), "{received}");
    assert_eq!(received.matches("\ntrace ").count() + 1, 2, "{received}");

    // The JSON lines, opened: the same traces, metric series and log records.
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(text.lines().count() >= 6, "one line per request: {text}");
    assert!(text.lines().all(|l| l.starts_with("{\"resource")), "{text}");
    let from_save = opened(&[saved_s]).await;
    assert_eq!(body(&from_save), body(&received), "--save then open");

    // The data directory, loaded by a viewer started on it.
    let from_data = opened(&["--data-dir", data_s]).await;
    assert_eq!(body(&from_data), body(&received), "--data-dir on restart");
    let _ = std::fs::remove_dir_all(&dir);
}

fn trace_request(trace: u8, name: &str) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![trace; 16],
                    span_id: vec![trace; 8],
                    name: name.into(),
                    start_time_unix_nano: 1_000_000,
                    end_time_unix_nano: 3_000_000,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Starts the binary headless on free ports with `args`; returns it and its gRPC port.
fn spawn_viewer(args: &[&str]) -> (std::process::Child, u16) {
    let (grpc, http) = (free_port(), free_port());
    let child = Command::new(BIN)
        .args(["--headless", "--grpc-addr", &format!("127.0.0.1:{grpc}")])
        .args(["--http-addr", &format!("127.0.0.1:{http}")])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    (child, grpc)
}

async fn export(port: u16, req: ExportTraceServiceRequest) {
    for _ in 0..100 {
        if let Ok(mut c) = TraceServiceClient::connect(format!("http://127.0.0.1:{port}")).await {
            c.export(req).await.expect("acknowledged");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the viewer never listened");
}

fn run(args: &[&str]) -> (String, String) {
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

#[tokio::test]
async fn what_was_acknowledged_survives_sigkill() {
    let dir = temp_dir("sigkill");
    let data = dir.join("data");
    let data_s = data.to_str().unwrap();
    let (mut child, port) = spawn_viewer(&["--data-dir", data_s]);
    export(port, trace_request(0xa1, "before the crash")).await;
    export(port, trace_request(0xa2, "acknowledged too")).await;
    child.kill().unwrap(); // SIGKILL: no shutdown, no flush
    let _ = child.wait();
    let (report, stderr) = run(&["--data-dir", data_s]);
    assert!(
        report.contains(&format!("trace {} 1 spans", "a1".repeat(16))),
        "{report}{stderr}"
    );
    assert!(
        report.contains("unknown_service: acknowledged too"),
        "{report}"
    );
    assert!(stderr.is_empty(), "{stderr}");
    // And a viewer on that directory keeps it, adding new segments.
    let (mut child, port) = spawn_viewer(&["--data-dir", data_s]);
    export(port, trace_request(0xa3, "after the restart")).await;
    child.kill().unwrap();
    let _ = child.wait();
    let (report, _) = run(&["--data-dir", data_s]);
    assert_eq!(report.matches("\ntrace ").count() + 1, 3, "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_segment_cut_short_loads_up_to_its_last_whole_record() {
    let dir = temp_dir("truncated");
    let mut bytes = Vec::new();
    for (i, name) in [(1u8, "one"), (2, "two"), (3, "three")] {
        let record = trace_request(i, name).encode_to_vec();
        bytes.extend_from_slice(&u32::try_from(record.len()).unwrap().to_be_bytes());
        bytes.extend_from_slice(&record);
    }
    // The crash: the third record half written.
    bytes.truncate(bytes.len() - 10);
    let segment = dir.join("0000000001.traces.pb");
    std::fs::write(&segment, &bytes).unwrap();
    let (report, stderr) = run(&["--data-dir", dir.to_str().unwrap()]);
    assert!(report.contains("unknown_service: one"), "{report}");
    assert!(report.contains("unknown_service: two"), "{report}");
    assert!(!report.contains("three"), "{report}");
    assert!(
        stderr.contains("0000000001.traces.pb:3:"),
        "the cut record is reported by number: {stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn a_collector_file_with_a_bad_line_opens_the_rest() {
    let dir = temp_dir("collector");
    // As the Collector's file exporter writes: upper-case hex ids, 64-bit numbers as strings,
    // enums as numbers; the second line is broken.
    let file = write(
        &dir,
        "traces.json",
        concat!(
            r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}}]},"scopeSpans":[{"scope":{"name":"x"},"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","name":"GET /cart","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000","status":{"code":2,"message":"boom"}}]}]}]}"#,
            "\n",
            r#"{"resourceSpans":[{"broken"#,
            "\n",
            r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}}]},"scopeSpans":[{"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B175","parentSpanId":"EEE19B7EC3C1B174","name":"SELECT","kind":3,"startTimeUnixNano":1544712660100000000,"endTimeUnixNano":1544712660200000000}]}]}]}"#,
            "\n"
        ),
    );
    let (report, stderr) = run(&[&file]);
    assert!(
        report.starts_with(
            "trace 5b8efff798038103d269b633813fc60c 2 spans, 1 services, 1.00s, 1 errors\n  cart: GET /cart [server] 1.00s ERROR boom\n    cart: SELECT [client] 100.00ms\n"
        ),
        "{report}"
    );
    assert!(stderr.contains("traces.json:2:"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_jaeger_ui_download_opens_as_its_trace() {
    let dir = temp_dir("jaeger");
    let file = write(
        &dir,
        "trace.json",
        r#"{"data":[{"traceID":"0af7651916cd43dd8448eb211c80319c","spans":[
            {"traceID":"0af7651916cd43dd8448eb211c80319c","spanID":"b7ad6b7169203331","operationName":"HTTP GET /dispatch","references":[],"startTime":1700000000000000,"duration":120000,"tags":[{"key":"span.kind","type":"string","value":"server"}],"logs":[],"processID":"p1","warnings":null},
            {"traceID":"0af7651916cd43dd8448eb211c80319c","spanID":"00f067aa0ba902b7","operationName":"SQL SELECT","references":[{"refType":"CHILD_OF","traceID":"0af7651916cd43dd8448eb211c80319c","spanID":"b7ad6b7169203331"}],"startTime":1700000000010000,"duration":50000,"tags":[{"key":"span.kind","type":"string","value":"client"},{"key":"error","type":"bool","value":true}],"logs":[],"processID":"p2","warnings":null}
          ],"processes":{"p1":{"serviceName":"frontend","tags":[]},"p2":{"serviceName":"mysql","tags":[]}},"warnings":null}],"total":0,"limit":0,"offset":0,"errors":null}"#,
    );
    let (report, stderr) = run(&[&file]);
    assert!(
        report.starts_with(
            "trace 0af7651916cd43dd8448eb211c80319c 2 spans, 2 services, 120.00ms, 1 errors\n  frontend: HTTP GET /dispatch [server] 120.00ms\n    mysql: SQL SELECT [client] 50.00ms ERROR"
        ),
        "{report}{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_file_is_one_line_and_the_rest_loads() {
    let dir = temp_dir("missing");
    let good = write(
        &dir,
        "ok.json",
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"fine","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}"#,
    );
    let (report, stderr) = run(&["/no/such/file.json", "--open", &good]);
    assert!(report.contains("unknown_service: fine"), "{report}");
    assert!(stderr.contains("/no/such/file.json"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
