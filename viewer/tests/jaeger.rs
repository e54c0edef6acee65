//! A real Jaeger v2 (built by `scripts/test.sh` from the Go module proxy; in-memory storage,
//! every port on loopback): a viewer forwards what it receives to Jaeger; a second viewer with
//! `--jaeger` finds the same traces and prints the same trees; with Jaeger stopped, the first
//! viewer goes on serving and counts what it could not forward.
//!
//! Without `VIEWER_TEST_JAEGER` (scripts/test.sh sets it) the test says it is skipped, except
//! under CI, where it fails.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::Parser as _;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use viewer::{Config, Viewer};

const BIN: &str = env!("CARGO_BIN_EXE_viewer");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Jaeger {
    child: Child,
    otlp_grpc: u16,
    query_http: u16,
    query_grpc: u16,
}

impl Drop for Jaeger {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_jaeger(bin: &str) -> Jaeger {
    let [otlp_grpc, otlp_http, query_http, query_grpc] = [0; 4].map(|_| free_port());
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/jaeger-memory.yaml");
    let child = Command::new(bin)
        .arg("--config")
        .arg(config)
        .env("JAEGER_OTLP_GRPC", otlp_grpc.to_string())
        .env("JAEGER_OTLP_HTTP", otlp_http.to_string())
        .env("JAEGER_QUERY_HTTP", query_http.to_string())
        .env("JAEGER_QUERY_GRPC", query_grpc.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start jaeger");
    let jaeger = Jaeger {
        child,
        otlp_grpc,
        query_http,
        query_grpc,
    };
    for port in [otlp_grpc, query_http, query_grpc] {
        let mut up = false;
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                up = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(up, "jaeger never listened on {port}");
    }
    jaeger
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

fn now_ns() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap()
}

/// `checkout` → `charge` (failing) in trace `t`, a few seconds ago.
fn trace(t: u8, service: &str) -> ExportTraceServiceRequest {
    let start = now_ns() - 5_000_000_000;
    let span = |id: u8, parent: u8, name: &str, from: u64, to: u64, error: bool| Span {
        trace_id: vec![t; 16],
        span_id: vec![id; 8],
        parent_span_id: if parent == 0 {
            Vec::new()
        } else {
            vec![parent; 8]
        },
        name: name.into(),
        kind: 2,
        start_time_unix_nano: start + from * 1_000_000,
        end_time_unix_nano: start + to * 1_000_000,
        status: error.then(|| Status {
            code: 2,
            message: "declined".into(),
        }),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue(service.into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![
                    span(1, 0, "checkout", 0, 40, false),
                    span(2, 1, "charge", 5, 35, t % 2 == 0),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn traces_of(report: &str) -> String {
    report
        .lines()
        .filter(|l| l.starts_with("trace ") || l.starts_with("  "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn jaeger_report(url: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(["--headless", "--jaeger", url])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_to_jaeger_then_read_back_with_the_same_trees() {
    let Ok(bin) = std::env::var("VIEWER_TEST_JAEGER") else {
        assert!(
            std::env::var("CI").is_err(),
            "VIEWER_TEST_JAEGER is not set: run the tests through scripts/test.sh (it builds Jaeger with Go)"
        );
        eprintln!("skipped: VIEWER_TEST_JAEGER not set (scripts/test.sh builds Jaeger with Go)");
        return;
    };
    let jaeger = start_jaeger(&bin);
    let forward = format!("grpc://127.0.0.1:{}", jaeger.otlp_grpc);
    let edge = Viewer::start(config(&["--forward", &forward, "--forward-queue", "4"]))
        .await
        .unwrap();
    let mut client = TraceServiceClient::connect(format!("http://{}", edge.grpc_addr()))
        .await
        .unwrap();
    for (t, service) in [(1, "shop"), (2, "shop"), (3, "billing")] {
        client.export(trace(t, service)).await.unwrap();
    }
    let url = format!("http://127.0.0.1:{}", jaeger.query_http);
    // Jaeger stores what it is sent in batches: wait until it has all three traces.
    let mut found = String::new();
    for _ in 0..100 {
        let (code, out, _) = jaeger_report(&url, &[]);
        if code == 0
            && out.matches("\ntrace ").count() + usize::from(out.starts_with("trace ")) == 3
        {
            found = out;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!found.is_empty(), "Jaeger never had the three traces");
    let counters = edge.counters();
    assert_eq!(counters.forward.requests.load(Ordering::Relaxed), 3);

    // The same trees as the viewer that received them.
    let local = edge.report().await;
    assert_eq!(
        traces_of(&found),
        traces_of(&local),
        "{found}\n---\n{local}"
    );

    // A query: mapped onto Jaeger's search (service, operation) and applied locally (status).
    let (code, errors, stderr) = jaeger_report(
        &url,
        &["--filter", "service=shop and status=error", "--since", "1h"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        errors.starts_with(&format!("trace {} 2 spans", "02".repeat(16))),
        "{errors}"
    );
    assert!(
        errors.contains("filter \"service=shop and status=error\": 1 of 2 traces"),
        "{errors}"
    );

    // The same over api_v3's gRPC; there, attributes go to Jaeger's search too.
    let grpc = format!("grpc://127.0.0.1:{}", jaeger.query_grpc);
    let (code, over_grpc, stderr) = jaeger_report(&grpc, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        traces_of(&over_grpc),
        traces_of(&found),
        "gRPC and HTTP agree"
    );
    let (code, billing, stderr) = jaeger_report(&grpc, &["--filter", "service.name=billing"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        billing.starts_with(&format!("trace {} 2 spans", "03".repeat(16))),
        "{billing}"
    );
    assert_eq!(billing.matches("\ntrace ").count(), 0, "{billing}");

    // A trace by its id.
    let id = "03".repeat(16);
    let (code, one, stderr) = jaeger_report(&url, &["--filter", &format!("trace={id}")]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        one.starts_with(&format!("trace {id} 2 spans, 1 services")),
        "{one}"
    );
    assert_eq!(one.matches("trace ").count(), 1, "{one}");

    // In the terminal UI: the traces Jaeger holds are listed; R searches it again with the
    // list's filter.
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok()
    {
        let session = format!("viewer-jaeger-{}", jaeger.query_http);
        let (g, h) = (free_port(), free_port());
        let status = Command::new("tmux")
            .args(["new-session", "-d", "-s", &session, "-x", "120", "-y", "30"])
            .arg(format!(
                "{BIN} --grpc-addr 127.0.0.1:{g} --http-addr 127.0.0.1:{h} --jaeger {url} --filter service=billing"
            ))
            .status()
            .unwrap();
        assert!(status.success());
        let screen = |want: &str| {
            for _ in 0..200 {
                let out = Command::new("tmux")
                    .args(["capture-pane", "-p", "-t", &session])
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                if text.contains(want) {
                    return text;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            panic!("the UI never showed {want:?}");
        };
        // Started with --filter service=billing: Jaeger is asked for billing's traces only.
        let first = screen("│ 1 trace · filter: service=billing");
        assert!(first.contains("billing"), "{first}");
        // A wider filter, then R: Jaeger's shop traces join.
        let keys = |k: &[&str]| {
            Command::new("tmux")
                .args(["send-keys", "-t", &session])
                .args(k)
                .status()
                .unwrap();
        };
        keys(&["/"]);
        for _ in 0..20 {
            keys(&["BSpace"]);
        }
        keys(&["-l", "checkout"]);
        keys(&["Enter"]);
        screen("│ 1 trace · filter: checkout");
        keys(&["R"]);
        screen("│ 3 traces · filter: checkout");
        // A span of billing's trace reaches Jaeger late; opening the trace asks Jaeger for it
        // by id, and the late span joins.
        let mut late = trace(3, "billing");
        let spans = &mut late.resource_spans[0].scope_spans[0].spans;
        spans.truncate(1);
        spans[0].span_id = vec![9; 8];
        spans[0].parent_span_id = vec![1; 8];
        spans[0].name = "late".into();
        TraceServiceClient::connect(format!("http://127.0.0.1:{}", jaeger.otlp_grpc))
            .await
            .unwrap()
            .export(late)
            .await
            .unwrap();
        let id = "03".repeat(16);
        for _ in 0..100 {
            let (_, out, _) = jaeger_report(&url, &["--filter", &format!("trace={id}")]);
            if out.starts_with(&format!("trace {id} 3 spans")) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        keys(&["g", "Enter"]);
        let opened = screen("billing: checkout · ");
        assert!(opened.contains(&format!("trace {id}")), "{opened}");
        let grown = screen(" · 3 spans");
        assert!(grown.contains("late"), "{grown}");
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &session])
            .status();
    }

    // Jaeger stops mid-run: the edge viewer goes on, counting what it could not forward.
    drop(jaeger);
    for t in 10..30 {
        client.export(trace(t, "shop")).await.expect("still served");
    }
    assert!(
        counters.forward.dropped_requests.load(Ordering::Relaxed) >= 12,
        "{}",
        counters.forward.dropped_requests.load(Ordering::Relaxed)
    );
    let report = edge.shutdown().await;
    assert_eq!(
        report.matches(": checkout [server]").count(),
        23,
        "{report}"
    );
    assert!(report.contains("not forwarded"), "{report}");

    // And Jaeger gone is a plain error, over either.
    for url in [&url, &grpc] {
        let (code, _, stderr) = jaeger_report(url, &[]);
        assert_eq!(code, 1, "{url}");
        assert!(stderr.contains("unreachable"), "{url}: {stderr}");
    }
}
