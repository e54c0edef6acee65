//! End to end: every demo service exports over OTLP/gRPC to a real (headless) viewer on a free
//! port; the viewer's report shows the jokes chain and the donut order as whole trace trees, the
//! `requests` counter with the count of every endpoint the test called, the server-duration
//! histogram per route with its percentiles, and each service's request logs on their traces.

use std::collections::BTreeMap;
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
        if !line.starts_with("  ") {
            break; // the metrics, logs and totals follow the traces
        }
        let Some((_, spans)) = traces.last_mut() else {
            continue;
        };
        let trimmed = line.trim_start_matches(' ');
        let indent = line.len() - trimmed.len();
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
    let mut config = TelemetryConfig::otlp(endpoint);
    // Metrics exported once, at shutdown, whatever the machine's speed: the counts are final.
    config.metric_interval = Duration::from_secs(600);
    let services = demo_api::start(&Options::for_tests(), &config)
        .await
        .unwrap();
    let client = reqwest::Client::new();

    // Through jokes-client and delay-proxy to jokes-api: 2 jokes (joke-source too), 3 hellos,
    // 1 healthcheck (the API's /hello).
    let jokes = services.url(Service::JokesClient).unwrap();
    for (path, times) in [("/jokes", 2), ("/hello", 3), ("/healthcheck", 1)] {
        for _ in 0..times {
            let res = client.get(format!("{jokes}{path}")).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
        }
    }

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
    // A client's mistake: counted, refused with a 400, logged as a warning.
    let bad = client
        .post(format!("{shop}/order"))
        .json(&serde_json::json!({"donuts": [{"flavor": "kale", "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut polls = 0;
    loop {
        polls += 1;
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

    // The `requests` counter: per service and endpoint, what this test asked for. The donut
    // shop counts the refused order too; the kitchen is asked for the order's donuts once by
    // the order and once per status poll.
    let metrics = metrics(&report);
    let requests = |service: &str| -> BTreeMap<String, f64> {
        let series = &metrics
            .get(&("requests".to_owned(), service.to_owned()))
            .unwrap_or_else(|| panic!("no `requests` of {service}: {report}"))
            .series;
        let counts: BTreeMap<String, f64> = series
            .iter()
            .map(|s| {
                assert_eq!(s.attrs.get("environment").map(String::as_str), Some("dev"));
                (s.attrs["endpoint"].clone(), s.value.expect("a number"))
            })
            .collect();
        assert_eq!(
            counts.len(),
            series.len(),
            "one series per endpoint: {report}"
        );
        counts
    };
    let counts = |pairs: &[(&str, f64)]| -> BTreeMap<String, f64> {
        pairs.iter().map(|&(e, n)| (e.to_owned(), n)).collect()
    };
    let polls = f64::from(polls);
    let expected = [
        (
            "jokes-client",
            counts(&[
                ("jokes client", 2.0),
                ("hello client", 3.0),
                ("healthcheck client", 1.0),
            ]),
        ),
        ("delay-proxy", counts(&[("delay proxy", 6.0)])),
        (
            "jokes-api",
            counts(&[("jokes api", 2.0), ("hello api", 4.0)]),
        ),
        ("joke-source", counts(&[("joke source", 2.0)])),
        ("donut-shop", counts(&[("order", 2.0), ("status", polls)])),
        (
            "kitchen",
            counts(&[
                ("kitchen add donut", 1.0),
                ("kitchen get donuts", 1.0 + polls),
            ]),
        ),
    ];
    for (service, expected) in &expected {
        assert_eq!(&requests(service), expected, "{service}: {report}");
        let m = &metrics[&("requests".to_owned(), (*service).to_owned())];
        assert_eq!((m.kind.as_str(), m.unit.as_str()), ("counter", "1"));
    }

    // The server-duration histogram, per service and route (and status): as many requests as
    // were made, with a median and a 99th percentile; those through the proxy take at least
    // its 20 ms delay.
    let durations = |service: &str| -> Vec<&Series> {
        let m = metrics
            .get(&(
                "http.server.request.duration".to_owned(),
                service.to_owned(),
            ))
            .unwrap_or_else(|| panic!("no server durations of {service}: {report}"));
        assert_eq!((m.kind.as_str(), m.unit.as_str()), ("histogram", "s"));
        m.series.iter().collect()
    };
    let route = |service: &str, route: &str, status: &str| -> Series {
        let found: Vec<&Series> = durations(service)
            .into_iter()
            .filter(|s| {
                s.attrs.get("http.route").map(String::as_str) == Some(route)
                    && s.attrs.get("http.response.status_code").map(String::as_str) == Some(status)
            })
            .collect();
        assert_eq!(found.len(), 1, "{service} {route} {status}: {report}");
        found[0].clone()
    };
    let checks: &[(&str, &str, &str, f64, f64)] = &[
        // service, route, status, count, least p50 (seconds)
        ("jokes-client", "/jokes", "200", 2.0, 0.02),
        ("jokes-client", "/hello", "200", 3.0, 0.02),
        ("jokes-client", "/healthcheck", "200", 1.0, 0.02),
        ("delay-proxy", "/{*path}", "200", 6.0, 0.02),
        ("jokes-api", "/jokes", "200", 2.0, 0.0),
        ("jokes-api", "/hello", "200", 4.0, 0.0),
        ("joke-source", "/random_joke", "200", 2.0, 0.0),
        ("donut-shop", "/order", "200", 1.0, 0.0),
        ("donut-shop", "/order", "400", 1.0, 0.0),
        ("donut-shop", "/status", "200", polls, 0.0),
        ("kitchen", "/kitchen/add_donut", "200", 1.0, 0.0),
        ("kitchen", "/kitchen/get_donuts", "200", 1.0 + polls, 0.0),
    ];
    for &(service, path, status, count, least) in checks {
        let s = route(service, path, status);
        let what = format!("{service} {path} {status}: {report}");
        assert_eq!(s.field("count"), count, "{what}");
        let (p50, p99, sum) = (s.field("p50"), s.field("p99"), s.field("sum"));
        assert!(p50 > 0.0 && p50 >= least && p50 <= p99, "{what}");
        assert!(p99 < 30.0, "{what}");
        assert!(sum >= least * count && sum > 0.0, "{what}");
    }
    // Every server request is in a histogram: jokes-client's 6, all 200.
    let client_total: f64 = durations("jokes-client")
        .iter()
        .map(|s| s.field("count"))
        .sum();
    assert_eq!(client_total, 6.0, "{report}");

    // Logs: one per request, per service, each on a trace the report shows.
    let trace_ids: Vec<&str> = report
        .lines()
        .filter_map(|l| l.strip_prefix("trace ")?.split(' ').next())
        .collect();
    let logs: Vec<Log> = report.lines().filter_map(Log::parse).collect();
    let per_service = |service: &str| logs.iter().filter(|l| l.service == service).count();
    let requests_of = |service: &str| -> f64 { requests(service).values().sum() };
    for (service, _) in &expected {
        #[allow(clippy::cast_precision_loss)]
        let n = per_service(service) as f64;
        assert_eq!(n, requests_of(service), "{service}'s logs: {report}");
    }
    for log in &logs {
        let trace = log
            .trace
            .as_deref()
            .unwrap_or_else(|| panic!("no trace: {log:?}"));
        assert!(
            trace_ids.contains(&trace),
            "{log:?} is on no trace in: {report}"
        );
        assert!(log.span.is_some(), "{log:?}");
    }
    let warn: Vec<&Log> = logs.iter().filter(|l| l.severity != "INFO").collect();
    assert_eq!(warn.len(), 1, "{report}");
    assert_eq!(
        (warn[0].severity.as_str(), warn[0].service.as_str()),
        ("WARN", "donut-shop")
    );
    assert!(warn[0].body.starts_with("POST /order 400 in "), "{report}");
    assert!(
        warn[0].body.contains("kale"),
        "the handler's message: {report}"
    );
    assert!(
        logs.iter()
            .filter(|l| l.service == "jokes-api")
            .all(|l| l.body.starts_with("GET /jokes 200 in ")
                || l.body.starts_with("GET /hello 200 in ")),
        "{report}"
    );
}

/// One metric of the report: its kind and unit, and its series.
#[derive(Debug, Default)]
struct MetricLines {
    kind: String,
    unit: String,
    series: Vec<Series>,
}

/// One series line: its attributes, and its number or its `count=` `sum=` `p50=` `p99=`.
#[derive(Debug, Clone, Default)]
struct Series {
    attrs: BTreeMap<String, String>,
    value: Option<f64>,
    fields: BTreeMap<String, String>,
}

impl Series {
    fn field(&self, key: &str) -> f64 {
        self.fields
            .get(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no number {key}= in {self:?}"))
    }
}

/// The report's metrics, by (name, service).
fn metrics(report: &str) -> BTreeMap<(String, String), MetricLines> {
    let mut out: BTreeMap<(String, String), MetricLines> = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in report.lines() {
        if let Some(header) = line.strip_prefix("metric ") {
            let w: Vec<&str> = header.split(' ').collect();
            assert_eq!(w.len(), 4, "metric name kind unit service: {line}");
            let key = (w[0].to_owned(), w[3].to_owned());
            out.insert(
                key.clone(),
                MetricLines {
                    kind: w[1].to_owned(),
                    unit: w[2].to_owned(),
                    series: Vec::new(),
                },
            );
            current = Some(key);
        } else if let (Some(rest), Some(key)) = (line.strip_prefix("  "), &current) {
            out.get_mut(key).unwrap().series.push(series_line(rest));
        } else {
            current = None;
        }
    }
    out
}

/// `k=v k="v w" 12` or `k=v count=2 sum=0.1 p50=0.02 p99=0.03`.
fn series_line(line: &str) -> Series {
    let mut s = Series::default();
    let words = words(line.strip_prefix("(no attributes)").unwrap_or(line));
    let stats = words.iter().position(|w| w.starts_with("count="));
    let attrs = match stats {
        Some(at) => {
            for w in &words[at..] {
                let (k, v) = w.split_once('=').expect("k=v");
                s.fields.insert(k.to_owned(), v.to_owned());
            }
            &words[..at]
        }
        None => {
            let (value, attrs) = words.split_last().expect("a value");
            s.value = Some(value.parse().expect("a number"));
            attrs
        }
    };
    for w in attrs {
        let (k, v) = w.split_once('=').expect("k=v");
        let v = match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(quoted) => quoted.replace("\\\"", "\"").replace("\\\\", "\\"),
            None => v.to_owned(),
        };
        s.attrs.insert(k.to_owned(), v);
    }
    s
}

/// Space-separated words; a quoted part (with `\"` inside) is one word.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut escaped) = (false, false);
    for c in line.chars() {
        match c {
            ' ' if !quoted => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                continue;
            }
            '"' if !escaped => quoted = !quoted,
            _ => {}
        }
        escaped = c == '\\' && !escaped;
        word.push(c);
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// A `log <time> <severity> <service> <body> [trace=<id> [span=<id>]]` line.
#[derive(Debug)]
struct Log {
    severity: String,
    service: String,
    body: String,
    trace: Option<String>,
    span: Option<String>,
}

impl Log {
    fn parse(line: &str) -> Option<Self> {
        let mut rest = line.strip_prefix("log ")?.splitn(4, ' ').skip(1);
        let (severity, service, mut body) = (rest.next()?, rest.next()?, rest.next()?);
        let mut take = |key: &str| {
            let at = body.rfind(&format!(" {key}="))?;
            let id = body[at + key.len() + 2..].to_owned();
            body = &body[..at];
            Some(id)
        };
        let span = take("span");
        let trace = take("trace");
        Some(Self {
            severity: severity.to_owned(),
            service: service.to_owned(),
            body: body.to_owned(),
            trace,
            span,
        })
    }
}
