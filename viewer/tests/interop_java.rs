//! Interoperability: the OpenTelemetry Java agent (from Maven Central, the version
//! `tests/interop/java/pom.xml` pins), attached to a JDK-only HTTP server
//! (`tests/interop/java/Server.java`), exports over OTLP/gRPC and over OTLP/HTTP protobuf with
//! gzip, one JVM per transport, to one viewer. The test sends each server `REQUESTS` requests
//! to `GET /interop`, which calls the server's own `GET /backend` with the JDK HttpClient and
//! logs a WARNING with java.util.logging; the agent makes the spans, the log records and the
//! metrics. Each answer is the `traceparent` that `/backend` received, so the test knows every
//! trace id and client span id. Then `GET /stop` exits the JVM, whose shutdown makes the agent
//! export what it holds. `scripts/test.sh` fetches the agent, compiles the server and sets
//! `VIEWER_TEST_JAVA` to a launcher (`target/interop/java/server TRANSPORT`).

mod interop;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use viewer::model::SpanKind;
use viewer::{Config, Viewer};

/// Requests sent to each JVM's `GET /interop`.
const REQUESTS: usize = 3;

/// One JVM's run: its transport (`grpc` or `http-gzip`, also in its log bodies), its service
/// name (`java-<transport>`), and the `(trace id, client span id)` of each request, as
/// `/backend` received them.
struct Run {
    transport: &'static str,
    service: String,
    requests: Vec<(String, String)>,
}

/// Whether the store holds every one of `traces` with its three spans.
fn complete(viewer: &Viewer, traces: &[(String, String)]) -> bool {
    let store = viewer.store().lock();
    traces.iter().all(|(trace, _)| {
        let id = u128::from_str_radix(trace, 16).unwrap();
        store
            .find(id)
            .and_then(|t| store.trace(t))
            .is_some_and(|t| t.span_count() == 3)
    })
}

/// Starts the server under the agent, exporting to `endpoint`, sends it the requests, waits
/// for their spans to reach the viewer (so the requests have ended, and the agent has recorded
/// their metrics), stops it and waits for the JVM to exit (its shutdown exports what is left).
async fn run(
    viewer: &Viewer,
    launcher: &str,
    transport: &'static str,
    protocol: &str,
    compression: &str,
    endpoint: String,
) -> Run {
    let service = format!("java-{transport}");
    let mut command = Command::new(launcher);
    command
        .arg(transport)
        .env("OTEL_SERVICE_NAME", &service)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        .env("OTEL_EXPORTER_OTLP_COMPRESSION", compression)
        .env("OTEL_TRACES_EXPORTER", "otlp")
        .env("OTEL_METRICS_EXPORTER", "otlp")
        .env("OTEL_LOGS_EXPORTER", "otlp")
        .env("OTEL_METRIC_EXPORT_INTERVAL", "1000")
        .env("OTEL_BSP_SCHEDULE_DELAY", "200")
        .env("OTEL_BLRP_SCHEDULE_DELAY", "200")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {launcher}: {e}"));
    // The agent's own log and the server's on stderr, shown when the test fails.
    let mut stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let stdout = child.stdout.take().unwrap();
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(port) = line.strip_prefix("listening ") {
                let _ = port_tx.send(port.trim().parse::<u16>().expect("port"));
            }
        }
    });
    // The agent's start is slow (seconds), slower on a busy machine.
    let port = tokio::task::spawn_blocking(move || port_rx.recv_timeout(Duration::from_secs(60)))
        .await
        .unwrap();
    let Ok(port) = port else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "{service}: the server did not start:\n{}",
            stderr.join().unwrap()
        );
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut requests = Vec::new();
    for _ in 0..REQUESTS {
        let body = http
            .get(format!("http://127.0.0.1:{port}/interop"))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .expect("GET /interop")
            .text()
            .await
            .unwrap();
        // `00-<trace>-<client span>-<flags>`: the agent propagated its client span.
        let parts: Vec<&str> = body.trim().split('-').collect();
        assert!(
            parts.len() == 4 && parts[1].len() == 32 && parts[2].len() == 16,
            "{service}: /backend received traceparent {body:?}"
        );
        requests.push((parts[1].to_owned(), parts[2].to_owned()));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while !complete(viewer, &requests) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    http.get(format!("http://127.0.0.1:{port}/stop"))
        .send()
        .await
        .expect("GET /stop");
    let status = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
    let log = stderr.join().unwrap();
    eprintln!("== {service} stderr:\n{log}");
    assert!(
        status.is_some_and(|s| s.success()),
        "{service}: the JVM did not exit cleanly ({status:?}):\n{log}"
    );
    Run {
        transport,
        service,
        requests,
    }
}

/// The trace's block in the report: its header line and the span lines under it, with each
/// span line's duration removed (`  svc: name [kind]`).
fn tree(report: &str, trace: &str) -> Vec<String> {
    let header = format!("trace {trace} ");
    report
        .lines()
        .skip_while(|l| !l.starts_with(&header))
        .enumerate()
        .take_while(|(i, l)| *i == 0 || l.starts_with("  "))
        .map(|(i, l)| {
            if i == 0 {
                // `trace <id> 3 spans, 1 services, <duration>`
                l.rsplit_once(", ").map_or(l, |(head, _)| head).to_owned()
            } else {
                l.rsplit_once(' ').map_or(l, |(head, _)| head).to_owned()
            }
        })
        .collect()
}

/// The series line under `header` whose attributes include `attr` (`key=value`).
fn series_with<'a>(report: &'a str, header: &str, attr: &str) -> &'a str {
    let lines = interop::series(report, header);
    let found: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.split(' ').any(|w| w == attr))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one `{attr}` series under `{header}`: {lines:?}"
    );
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_agent_exports_all_three_signals_over_grpc_and_http() {
    let Some(launcher) = interop::client("VIEWER_TEST_JAVA") else {
        return;
    };
    let began = Instant::now();
    let viewer = Viewer::start(Config::for_tests()).await.unwrap();
    // Both JVMs at once: the agent's start dominates.
    let (grpc, http) = tokio::join!(
        run(
            &viewer,
            &launcher,
            "grpc",
            "grpc",
            "none",
            format!("http://{}", viewer.grpc_addr()),
        ),
        run(
            &viewer,
            &launcher,
            "http-gzip",
            "http/protobuf",
            "gzip",
            format!("http://{}", viewer.http_addr()),
        ),
    );
    eprintln!("JVMs done after {:?}", began.elapsed());
    let runs = [grpc, http];

    // The JVMs exported the rest at shutdown: wait for the viewer to have taken it all in.
    let expected_logs = runs.len() * REQUESTS;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        viewer.flush().await;
        let ready = runs.iter().all(|r| complete(&viewer, &r.requests))
            && viewer.store().lock().logs.len() >= expected_logs;
        if ready || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The store: each trace is GET /interop [server, root] -> GET [client, the span that
    // /backend received as its parent] -> GET /backend [server], and the request's log record
    // is indexed under the GET /interop span.
    let mut sent = Vec::new();
    {
        let store = viewer.store().lock();
        for r in &runs {
            for (trace, client) in &r.requests {
                let id = u128::from_str_radix(trace, 16).unwrap();
                let client_id = u64::from_str_radix(client, 16).unwrap();
                let t = store
                    .find(id)
                    .and_then(|t| store.trace(t))
                    .unwrap_or_else(|| panic!("{}: trace {trace} is not stored", r.service));
                assert_eq!(t.span_count(), 3, "{}: trace {trace}", r.service);
                let span = |id: u64| t.spans().iter().find(|s| s.span_id == id);
                let c = span(client_id)
                    .unwrap_or_else(|| panic!("{}: no client span {client} in {trace}", r.service));
                assert_eq!(store.str(c.name), "GET", "{}", r.service);
                assert_eq!(c.kind, SpanKind::Client, "{}", r.service);
                let server = span(c.parent_id)
                    .unwrap_or_else(|| panic!("{}: the client span's parent", r.service));
                assert_eq!(store.str(server.name), "GET /interop", "{}", r.service);
                assert_eq!(server.kind, SpanKind::Server, "{}", r.service);
                assert_eq!(server.parent_id, 0, "{}: a root", r.service);
                assert_eq!(store.service_of(server), r.service);
                let backend = t
                    .spans()
                    .iter()
                    .find(|s| s.parent_id == client_id)
                    .unwrap_or_else(|| panic!("{}: no span under the client span", r.service));
                assert_eq!(store.str(backend.name), "GET /backend", "{}", r.service);
                assert_eq!(backend.kind, SpanKind::Server, "{}", r.service);
                // The server span's attributes, as the terminal UI shows them.
                let index = t
                    .spans()
                    .iter()
                    .position(|s| s.span_id == server.span_id)
                    .unwrap();
                let text = viewer::report::span_text(&store, t, index);
                let attributes = text
                    .lines()
                    .find(|l| l.starts_with("  attributes: "))
                    .unwrap_or_else(|| panic!("{}: no attributes in {text}", r.service));
                for attr in [
                    "http.route=/interop",
                    "http.request.method=GET",
                    "http.response.status_code=200",
                    "url.path=/interop",
                ] {
                    assert!(
                        attributes.split(' ').any(|w| w == attr),
                        "{}: no {attr} in {text}",
                        r.service
                    );
                }
                let resource = text
                    .lines()
                    .find(|l| l.starts_with("  resource: "))
                    .unwrap_or_else(|| panic!("{}: no resource in {text}", r.service));
                for attr in [
                    format!("service.name={}", r.service),
                    "telemetry.sdk.language=java".to_owned(),
                    "telemetry.distro.name=opentelemetry-java-instrumentation".to_owned(),
                ] {
                    assert!(
                        resource.split(' ').any(|w| w == attr),
                        "{}: no {attr} in {text}",
                        r.service
                    );
                }
                sent.push(interop::Sent {
                    transport: r.transport.to_owned(),
                    trace: trace.clone(),
                    span: format!("{:016x}", server.span_id),
                });
            }
        }
    }
    // Each trace stored, and exactly one log record under each GET /interop span.
    interop::check_store(&viewer, &sent);

    let report = viewer.shutdown().await;
    eprintln!("{report}");
    for r in &runs {
        let service = &r.service;
        for s in sent.iter().filter(|s| s.transport == r.transport) {
            assert_eq!(
                tree(&report, &s.trace),
                [
                    format!("trace {} 3 spans, 1 services", s.trace),
                    format!("  {service}: GET /interop [server]"),
                    format!("    {service}: GET [client]"),
                    format!("      {service}: GET /backend [server]"),
                ],
                "{report}"
            );
            // The WARNING, made while GET /interop was the current span.
            let line = format!(
                " WARN {service} order failed over {} trace={} span={}",
                r.transport, s.trace, s.span
            );
            assert_eq!(
                report
                    .lines()
                    .filter(|l| l.starts_with("log ") && l.ends_with(&line))
                    .count(),
                1,
                "no `log …{line}` in:\n{report}"
            );
        }
        // The agent's HTTP metrics, cumulative: every request counted by the end.
        let header = format!("metric http.server.request.duration histogram s {service}");
        for route in ["/interop", "/backend"] {
            let line = series_with(&report, &header, &format!("http.route={route}"));
            for attr in ["http.request.method=GET", "http.response.status_code=200"] {
                assert!(line.split(' ').any(|w| w == attr), "{service}: {line}");
            }
            assert_eq!(
                interop::field(line, "count"),
                REQUESTS as f64,
                "{service} {route}: {line}"
            );
            assert!(interop::field(line, "sum") > 0.0, "{service}: {line}");
        }
        let header = format!("metric http.client.request.duration histogram s {service}");
        let line = series_with(&report, &header, "server.address=127.0.0.1");
        assert_eq!(interop::field(line, "count"), REQUESTS as f64, "{line}");
        // The JVM's runtime metrics.
        let loaded = interop::series(
            &report,
            &format!("metric jvm.class.loaded counter {{class}} {service}"),
        );
        assert_eq!(loaded.len(), 1, "{service}: {loaded:?}");
        let classes: f64 = loaded[0]
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{service}: {loaded:?}"));
        assert!(classes > 1000.0, "{service}: {} classes loaded", classes);
        let used = interop::series(
            &report,
            &format!("metric jvm.memory.used updown By {service}"),
        );
        assert!(
            used.iter()
                .any(|l| l.contains("jvm.memory.type=heap") && l.contains("jvm.memory.pool.name=")),
            "{service}: {used:?}"
        );
    }
    // Every record is one of ours: 3 WARNINGs per JVM, nothing else, nothing lost.
    assert_eq!(
        report.lines().filter(|l| l.starts_with("log ")).count(),
        expected_logs,
        "{report}"
    );
    assert!(
        report.lines().last().unwrap().contains(" 0 rejected, "),
        "{report}"
    );
    eprintln!("test done after {:?}", began.elapsed());
}
