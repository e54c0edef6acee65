//! End to end: every demo service exports over OTLP/gRPC to a real (headless) viewer on a free
//! port; the viewer's report shows the jokes chain and the donut order as whole trace trees.

use std::time::{Duration, Instant};

use demo_api::telemetry::TelemetryConfig;
use demo_api::{Options, Service};

/// One span line of the report: depth (from 0), service, span name, kind.
#[derive(Debug, Clone)]
struct Line {
    depth: usize,
    service: String,
    name: String,
    kind: String,
    error: bool,
}

/// The report's traces: header line and span lines.
fn traces(report: &str) -> Vec<(String, Vec<Line>)> {
    let mut traces: Vec<(String, Vec<Line>)> = Vec::new();
    for line in report.lines() {
        if line.starts_with("trace ") {
            traces.push((line.to_owned(), Vec::new()));
            continue;
        }
        let Some((_, spans)) = traces.last_mut() else {
            continue;
        };
        let trimmed = line.trim_start_matches(' ');
        let indent = line.len() - trimmed.len();
        if indent < 2 {
            continue; // totals
        }
        let (service, rest) = trimmed.split_once(": ").expect("service: name");
        let open = rest.rfind(" [").expect("[kind]");
        let close = rest[open..].find(']').expect("[kind]") + open;
        spans.push(Line {
            depth: indent / 2 - 1,
            service: service.to_owned(),
            name: rest[..open].to_owned(),
            kind: rest[open + 2..close].to_owned(),
            error: rest[close..].contains(" ERROR"),
        });
    }
    traces
}

/// The services from the root down to `spans[index]`, each once.
fn service_path(spans: &[Line], index: usize) -> Vec<String> {
    let mut path = vec![&spans[index]];
    let mut depth = spans[index].depth;
    for span in spans[..index].iter().rev() {
        if span.depth < depth {
            path.push(span);
            depth = span.depth;
        }
    }
    path.reverse();
    let mut services: Vec<String> = path.iter().map(|s| s.service.clone()).collect();
    services.dedup();
    services
}

/// The names of the ancestors of `spans[index]`, root first.
fn ancestor_names(spans: &[Line], index: usize) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = spans[index].depth;
    for span in spans[..index].iter().rev() {
        if span.depth < depth {
            names.push(span.name.clone());
            depth = span.depth;
        }
    }
    names.reverse();
    names
}

fn metric_points(report: &str) -> u64 {
    let totals = report.lines().last().unwrap_or_default();
    let before = totals
        .split(" metric data points")
        .next()
        .unwrap_or_default();
    before
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_traces_arrive_in_the_viewer_as_whole_trees() {
    let viewer = viewer::Viewer::start(viewer::Config::for_tests())
        .await
        .unwrap();
    let endpoint = format!("http://{}", viewer.grpc_addr());
    let config = TelemetryConfig::otlp(endpoint);
    let services = demo_api::start(&Options::for_tests(), &config)
        .await
        .unwrap();
    let client = reqwest::Client::new();

    let jokes = services.url(Service::JokesClient).unwrap();
    let joke = client.get(format!("{jokes}/jokes")).send().await.unwrap();
    assert_eq!(joke.status(), 200);

    let shop = services.url(Service::DonutShop).unwrap();
    let order: serde_json::Value = client
        .post(format!("{shop}/order"))
        .json(&serde_json::json!({"donuts": [{"flavor": "sprinkles", "quantity": 1}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let order_id = order["order_id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status: serde_json::Value = client
            .post(format!("{shop}/status"))
            .json(&serde_json::json!({ "order_id": order_id }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["state"] == "ready" {
            break;
        }
        assert!(Instant::now() < deadline, "order never ready: {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Stop the services: their providers flush every span and metric to the viewer.
    services.shutdown().await;
    assert!(!config.export_failed(), "export to the viewer failed");
    let report = viewer.shutdown().await;
    eprintln!("{report}");
    let traces = traces(&report);

    // jokes-client -> delay-proxy -> jokes-api -> joke-source, in one tree.
    let (header, spans) = traces
        .iter()
        .find(|(_, spans)| spans.iter().any(|s| s.service == "joke-source"))
        .expect("a trace reaching joke-source");
    let source = spans
        .iter()
        .position(|s| s.service == "joke-source" && s.name == "GET /random_joke")
        .expect("joke-source's server span");
    assert_eq!(
        service_path(spans, source),
        ["jokes-client", "delay-proxy", "jokes-api", "joke-source"],
        "{header}"
    );
    assert_eq!(spans[0].name, "GET /jokes");
    assert_eq!(spans[0].kind, "server");
    assert!(
        spans
            .iter()
            .any(|s| s.service == "delay-proxy" && s.name == "delay" && s.kind == "internal"),
        "the proxy's wait is its own span"
    );
    assert!(spans.iter().all(|s| !s.error), "{header}");
    assert!(header.contains(" 4 services"), "{header}");

    // donut-shop -> kitchen, with the fryer's steps in the order's trace.
    let (header, spans) = traces
        .iter()
        .find(|(_, spans)| spans.iter().any(|s| s.name == "order"))
        .expect("the order's trace");
    let cook = spans
        .iter()
        .position(|s| s.name == "fryer.cook")
        .expect("fryer steps in the order's trace");
    assert_eq!(
        service_path(spans, cook),
        ["donut-shop", "kitchen"],
        "{header}"
    );
    let ancestors = ancestor_names(spans, cook);
    assert_eq!(
        ancestors,
        [
            "POST /order",
            "order",
            "POST /kitchen/add_donut",
            "POST /kitchen/add_donut",
            "fryer"
        ]
    );

    // Hand-made status spans, in the status requests' traces.
    assert!(traces.iter().any(|(_, spans)| {
        spans
            .iter()
            .any(|s| s.service == "donut-shop" && s.name == "status")
    }));
    // The exporters' own gRPC calls are never traced.
    assert!(!report.contains("TraceService") && !report.contains("MetricsService"));
    // Metrics arrived too (the `requests` counter and the duration histograms).
    assert!(metric_points(&report) > 0, "no metrics: {report}");
}
