//! The terminal UI as a person uses it: the real binary in tmux, spans sent over gRPC, keys
//! typed with `send-keys`, the screen read with `capture-pane`.

use std::process::Command;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

const BIN: &str = env!("CARGO_BIN_EXE_viewer");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A tmux session that is killed when dropped.
struct Tmux(String);

impl Tmux {
    fn start(name: &str, command: &str) -> Option<Self> {
        if Command::new("tmux").arg("-V").output().is_err() {
            assert!(
                std::env::var("CI").is_err(),
                "tmux is needed for this test (scripts/test.sh installs it)"
            );
            eprintln!("skipped: no tmux");
            return None;
        }
        let status = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                "120",
                "-y",
                "30",
                command,
            ])
            .status()
            .unwrap();
        assert!(status.success());
        Some(Self(name.to_owned()))
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.0])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn type_text(&self, text: &str) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.0, "-l", text])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.0])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits (up to 10 s) until the screen shows `text`; returns the screen.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "never showed {text:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .status();
    }
}

/// `checkout` (trace 0x01…, 2 ms, fine) and `pay` (trace 0x02…, 40 ms, a failing child that
/// takes 30 of them).
fn two_traces() -> ExportTraceServiceRequest {
    let span = |trace: u8, id: u8, parent: u8, name: &str, from_ms: u64, to_ms: u64| Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        parent_span_id: if parent == 0 {
            Vec::new()
        } else {
            vec![parent; 8]
        },
        name: name.into(),
        start_time_unix_nano: 1_000_000_000 + from_ms * 1_000_000,
        end_time_unix_nano: 1_000_000_000 + to_ms * 1_000_000,
        ..Default::default()
    };
    let mut failing = span(2, 3, 2, "charge card", 5, 35);
    failing.status = Some(Status {
        code: 2,
        message: "declined".into(),
    });
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("shop".into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![
                    span(1, 1, 0, "checkout", 0, 2),
                    span(2, 2, 0, "pay", 0, 40),
                    failing,
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[tokio::test]
async fn a_query_typed_wrong_says_where_then_filters_and_the_trace_shows_its_critical_path() {
    let (grpc, http) = (free_port(), free_port());
    let Some(tmux) = Tmux::start(
        &format!("viewer-test-{grpc}"),
        &format!("{BIN} --grpc-addr 127.0.0.1:{grpc} --http-addr 127.0.0.1:{http}"),
    ) else {
        return;
    };
    tmux.wait_for("Waiting for traces");
    let mut client = TraceServiceClient::connect(format!("http://127.0.0.1:{grpc}"))
        .await
        .expect("the viewer listens");
    client.export(two_traces()).await.expect("export");
    tmux.wait_for("│ 2 traces · following");

    // A duration without a unit: marked where it goes wrong, not applied.
    tmux.keys(&["/"]);
    tmux.type_text("status=error and duration>5");
    let screen = tmux.wait_for("✖ at column 27");
    assert!(screen.contains("is not a duration"), "{screen}");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("/status=error and duration>5");
    assert!(
        screen.contains("│ 2 traces · following") && !screen.contains("filter:"),
        "still unfiltered:\n{screen}"
    );

    // Fixed: applied on Enter; only the failing trace is listed.
    tmux.type_text("ms");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("filter: status=error and duration>5ms");
    assert!(screen.contains("│ 1 trace ·"), "{screen}");
    assert!(screen.contains("✖ pay"), "{screen}");
    assert!(!screen.contains("checkout"), "{screen}");

    // The trace, its critical path, and the self-time column.
    tmux.keys(&["Enter"]);
    tmux.wait_for(&format!("trace {}", "02".repeat(4)));
    tmux.keys(&["c"]);
    let screen = tmux.wait_for("SPAN · critical path 40.00ms · 1 match, rest dim");
    // Opened from the filtered list, the failing span is the one selected.
    assert!(screen.contains("ERROR: declined"), "{screen}");
    tmux.keys(&["T"]);
    let screen = tmux.wait_for("SELF");
    let pay = screen
        .lines()
        .find(|l| l.contains("shop pay"))
        .unwrap_or_else(|| panic!("{screen}"));
    // pay's own time: 40 ms minus the 30 ms of its child.
    assert!(pay.contains("10.00ms"), "{pay}");

    // Statistics of the trace, sorted by self time: the card charge first.
    tmux.keys(&["s"]);
    let screen = tmux.wait_for("statistics · trace");
    let rows: Vec<&str> = screen.lines().filter(|l| l.starts_with("shop")).collect();
    assert!(rows[0].contains("charge card"), "{screen}");
    tmux.keys(&["q"]);
}

#[test]
fn a_file_opens_in_the_ui_and_its_bad_line_is_shown_in_the_status_bar() {
    let dir = std::env::temp_dir().join(format!("viewer-tmux-file-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let line = |trace: &str, name: &str| {
        format!(
            r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"filed"}}}}]}},"scopeSpans":[{{"spans":[{{"traceId":"{trace}","spanId":"0102030405060708","name":"{name}","startTimeUnixNano":"1000000","endTimeUnixNano":"4000000"}}]}}]}}]}}"#
        )
    };
    let file = dir.join("spans.jsonl");
    std::fs::write(
        &file,
        format!(
            "{}\n{{\"resourceSpans\":[oops\n{}\n",
            line(&"ab".repeat(16), "from the file"),
            line(&"cd".repeat(16), "second line")
        ),
    )
    .unwrap();
    let (grpc, http) = (free_port(), free_port());
    let Some(tmux) = Tmux::start(
        &format!("viewer-file-{grpc}"),
        &format!(
            "{BIN} --grpc-addr 127.0.0.1:{grpc} --http-addr 127.0.0.1:{http} {}",
            file.display()
        ),
    ) else {
        return;
    };
    let screen = tmux.wait_for("│ 2 traces");
    assert!(screen.contains("from the file"), "{screen}");
    assert!(screen.contains("second line"), "{screen}");
    let bar = screen.lines().last().unwrap_or_default().to_owned();
    assert!(
        bar.contains("1 skipped (first: ") && bar.contains("spans.jsonl:2:"),
        "{screen}"
    );
    tmux.keys(&["q"]);
    let _ = std::fs::remove_dir_all(&dir);
}
