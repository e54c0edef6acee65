//! The text report: every stored trace as an indented span tree, then every metric series with
//! its latest value, then every log record on one line, then the totals. Printed by the
//! headless mode; read by scripts and CI. One trace or span alone as text ([`trace_text`],
//! [`span_text`]: what the terminal UI copies); traces as OTLP JSON lines in `otlp`.

pub mod otlp;

use std::fmt::Write;

use crate::format::{self, safe};
use crate::ingest::Counters;
use crate::model::{Attr, PointValue, Severity, Span, StatusCode};
use crate::record::forward::ForwardStats;
use crate::server::Totals;
use crate::store::metrics::Series;
use crate::store::tree::{TopKind, Tree};
use crate::store::{Store, Trace};

/// The report: per trace (oldest start first) a header line and its spans in tree order; per
/// metric and service a header line and its series; the log records, oldest first; totals.
#[must_use]
pub fn render(store: &Store, counters: &Counters) -> String {
    render_filtered(store, counters, None)
}

/// The report of what matches `filter` (a query; see [`crate::query`]): the traces with a
/// matching span, the metrics with a matching series and the matching log records. A section
/// whose signal the query cannot apply to (`duration` for logs, `severity` for traces) is left
/// out, and a line before the totals says how many of each matched.
#[must_use]
pub fn render_filtered(store: &Store, counters: &Counters, filter: Option<&str>) -> String {
    use crate::query::{LogFilter, MetricFilter, SpanFilter};
    let mut out = String::new();
    let Some(text) = filter.filter(|f| !f.trim().is_empty()) else {
        traces(store, None, &mut out);
        metrics(store, None, &mut out);
        logs(store, None, &mut out);
        totals(store, counters, &mut out);
        return out;
    };
    let expr = match crate::query::parse(text) {
        Ok(Some(e)) => e,
        Ok(None) => unreachable!("an empty filter is handled above"),
        Err(e) => {
            let _ = writeln!(out, "filter {:?}: {e}", safe(text));
            totals(store, counters, &mut out);
            return out;
        }
    };
    let mut summary = Vec::new();
    match SpanFilter::new(&expr, store) {
        Ok(f) => {
            let n = traces(store, Some(&f), &mut out);
            summary.push(format!("{n} of {} traces", store.stats().traces.traces));
        }
        Err(_) => summary.push("traces left out".into()),
    }
    match MetricFilter::new(&expr, store) {
        Ok(f) => {
            let n = metrics(store, Some(&f), &mut out);
            summary.push(format!("{n} of {} metrics", store.metrics.metrics().len()));
        }
        Err(_) => summary.push("metrics left out".into()),
    }
    match LogFilter::new(&expr, store) {
        Ok(f) => {
            let n = logs(store, Some(&f), &mut out);
            summary.push(format!("{n} of {} log records", store.stats().logs.records));
        }
        Err(_) => summary.push("log records left out".into()),
    }
    let _ = writeln!(out, "filter {:?}: {}", safe(text), summary.join(", "));
    totals(store, counters, &mut out);
    out
}

/// Checks a `--filter` query: it must parse, and apply to at least one signal.
///
/// # Errors
/// Where the query is wrong (as a span query when it applies to no signal).
pub fn check_filter(text: &str) -> Result<(), crate::query::QueryError> {
    use crate::query::Signal;
    let empty = Store::new(1);
    let traces = crate::query::check(Signal::Traces, text, &empty);
    if traces.is_ok()
        || crate::query::check(Signal::Logs, text, &empty).is_ok()
        || crate::query::check(Signal::Metrics, text, &empty).is_ok()
    {
        return Ok(());
    }
    traces
}

/// One trace as the report prints it: a header line, then its spans in tree order, indented.
#[must_use]
pub fn trace_text(store: &Store, trace: &Trace) -> String {
    let mut out = String::new();
    write_trace(store, trace, &mut out);
    out
}

/// One span (`span` indexes the trace's spans): its line as in the tree, then its ids, start,
/// status, attributes, resource, scope, events (time from the span's start) and links, one
/// item a line.
#[must_use]
pub fn span_text(store: &Store, trace: &Trace, span: usize) -> String {
    let mut out = String::new();
    let Some(s) = trace.spans().get(span) else {
        return out;
    };
    span_line(store, s, &mut out);
    out.push('\n');
    let _ = write!(
        out,
        "  trace {} span {}",
        format::trace_id(trace.id),
        format::span_id(s.span_id)
    );
    if s.parent_id != 0 {
        let _ = write!(out, " parent {}", format::span_id(s.parent_id));
    }
    let _ = writeln!(out, "\n  start {}", format::timestamp(s.start));
    if s.status != StatusCode::Unset || !s.status_message().is_empty() {
        let _ = writeln!(
            out,
            "  status {} {}",
            s.status.as_str(),
            safe(s.status_message())
        );
    }
    attr_line(store, "  attributes", &s.attrs, false, &mut out);
    let resource = store.resource(s.resource);
    attr_line(store, "  resource", &resource.attrs, false, &mut out);
    let scope = store.scope(s.scope);
    let (name, version) = (store.str(scope.name), store.str(scope.version));
    if !name.is_empty() || !version.is_empty() {
        let _ = writeln!(out, "  scope {} {}", safe(name), safe(version));
    }
    for e in s.events() {
        let label = format!(
            "  event +{} {}",
            format::duration(e.time.saturating_sub(s.start)),
            safe(store.str(e.name))
        );
        attr_line(store, &label, &e.attrs, true, &mut out);
    }
    for l in s.links() {
        let label = format!(
            "  link {} {}",
            format::trace_id(l.trace_id),
            format::span_id(l.span_id)
        );
        attr_line(store, &label, &l.attrs, true, &mut out);
    }
    out
}

/// `label` and the attributes as `key=value` on one line; for no attributes, the label alone
/// when `always`, else nothing.
fn attr_line(store: &Store, label: &str, attrs: &[Attr], always: bool, out: &mut String) {
    if attrs.is_empty() && !always {
        return;
    }
    out.push_str(label);
    if !attrs.is_empty() {
        out.push(':');
    }
    for a in attrs {
        out.push(' ');
        attr(store, a, out);
    }
    out.push('\n');
}

/// A trace's header line and its spans in tree order.
fn write_trace(store: &Store, trace: &Trace, out: &mut String) {
    let _ = writeln!(
        out,
        "trace {} {} spans, {} services, {}{}",
        format::trace_id(trace.id),
        trace.span_count(),
        trace.services().len(),
        format::duration(trace.duration()),
        if trace.errors > 0 {
            format!(", {} errors", trace.errors)
        } else {
            String::new()
        }
    );
    let tree = Tree::build(trace.spans());
    for row in &tree.rows {
        let span = &trace.spans()[row.span as usize];
        out.push_str(&"  ".repeat(row.depth as usize + 1));
        span_line(store, span, out);
        match row.top {
            TopKind::MissingParent => out.push_str(" (missing parent)"),
            TopKind::Cycle => out.push_str(" (parent cycle)"),
            TopKind::Root | TopKind::Child => {}
        }
        out.push('\n');
    }
}

/// `service: name [kind] duration`, then ` ERROR message` for a failed span.
fn span_line(store: &Store, span: &Span, out: &mut String) {
    let _ = write!(
        out,
        "{}: {} [{}] {}",
        safe(store.service_of(span)),
        safe(store.str(span.name)),
        span.kind.as_str(),
        format::duration(span.duration()),
    );
    if span.is_error() {
        out.push_str(" ERROR");
        if !span.status_message().is_empty() {
            let _ = write!(out, " {}", safe(span.status_message()));
        }
    }
}

fn traces(store: &Store, filter: Option<&crate::query::SpanFilter>, out: &mut String) -> usize {
    let refs: Vec<_> = match filter {
        Some(f) => f.traces(store),
        None => store.traces_by_arrival().collect(),
    };
    let mut traces: Vec<_> = refs.into_iter().filter_map(|r| store.trace(r)).collect();
    let count = traces.len();
    traces.sort_by_key(|t| (t.start, t.id));
    for trace in traces {
        write_trace(store, trace, out);
    }
    count
}

fn metrics(store: &Store, filter: Option<&crate::query::MetricFilter>, out: &mut String) -> usize {
    let m = &store.metrics;
    let mut order: Vec<_> = m
        .metrics()
        .iter()
        .enumerate()
        .filter(|(id, _)| {
            filter.is_none_or(|f| f.matches_metric(store, u32::try_from(*id).unwrap_or(u32::MAX)))
        })
        .collect();
    let count = order.len();
    order.sort_by(|(_, a), (_, b)| store.str(a.name).cmp(store.str(b.name)));
    for (id, metric) in order {
        // One header per service that sends the metric, in order of first arrival.
        let mut services: Vec<&str> = Vec::new();
        for (_, s) in m.series_of(u32::try_from(id).unwrap_or(u32::MAX)) {
            let service = store.catalog.service(s.resource);
            if !services.contains(&service) {
                services.push(service);
            }
        }
        for service in services {
            let unit = safe(store.str(metric.unit));
            let _ = writeln!(
                out,
                "metric {} {} {} {}",
                safe(store.str(metric.name)),
                metric.kind.as_str(),
                if unit.is_empty() { "-" } else { &unit },
                safe(service)
            );
            for (_, s) in m.series_of(u32::try_from(id).unwrap_or(u32::MAX)) {
                if store.catalog.service(s.resource) == service
                    && filter.is_none_or(|f| f.matches_series(store, metric, s))
                {
                    series_line(store, s, out);
                }
            }
        }
    }
    count
}

fn series_line(store: &Store, s: &Series, out: &mut String) {
    out.push_str("  ");
    if s.attrs.is_empty() {
        out.push_str("(no attributes)");
    }
    for (i, a) in s.attrs.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        attr(store, a, out);
    }
    let Some(last) = s.points.back() else {
        out.push('\n');
        return;
    };
    let q = |p: f64| {
        last.value
            .quantile(p)
            .map_or_else(|| "-".to_owned(), format::number)
    };
    let _ = match &last.value {
        PointValue::Number(v) => write!(out, " {}", format::number(*v)),
        PointValue::Histogram(h) => write!(
            out,
            " count={} sum={} p50={} p99={}",
            h.count,
            h.sum.map_or_else(|| "-".to_owned(), format::number),
            q(0.5),
            q(0.99)
        ),
        PointValue::ExpHistogram(h) => write!(
            out,
            " count={} sum={} p50={} p99={}",
            h.count,
            h.sum.map_or_else(|| "-".to_owned(), format::number),
            q(0.5),
            q(0.99)
        ),
        PointValue::Summary(sm) => {
            let _ = write!(out, " count={} sum={}", sm.count, format::number(sm.sum));
            for (quantile, v) in &*sm.quantiles {
                let _ = write!(
                    out,
                    " p{}={}",
                    format::number(quantile * 100.0),
                    format::number(*v)
                );
            }
            Ok(())
        }
    };
    out.push('\n');
}

/// `key=value`, the value quoted when it holds a space, a quote or an equals sign.
fn attr(store: &Store, a: &Attr, out: &mut String) {
    let value = a.value();
    let text = store.value_text(&value);
    let text = safe(&text);
    let _ = if text.is_empty() || text.contains([' ', '"', '=']) {
        write!(out, "{}={:?}", safe(store.str(a.key())), &*text)
    } else {
        write!(out, "{}={}", safe(store.str(a.key())), text)
    };
}

fn logs(store: &Store, filter: Option<&crate::query::LogFilter>, out: &mut String) -> usize {
    let mut count = 0;
    for (_, r) in store.logs.iter() {
        if filter.is_some_and(|f| !f.matches(store, r)) {
            continue;
        }
        count += 1;
        let body = store.value_text(&r.body);
        let severity = Severity::of(r.severity);
        let text = store.str(r.severity_text);
        let _ = write!(
            out,
            "log {} {} {} {}",
            format::timestamp(r.time),
            if severity == Severity::Unspecified && !text.is_empty() {
                safe(text)
            } else {
                severity.as_str().into()
            },
            safe(store.catalog.service(r.resource)),
            safe(&body)
        );
        if r.trace_id != 0 {
            let _ = write!(out, " trace={}", format::trace_id(r.trace_id));
            if r.span_id != 0 {
                let _ = write!(out, " span={}", format::span_id(r.span_id));
            }
        }
        out.push('\n');
    }
    count
}

fn totals(store: &Store, counters: &Counters, out: &mut String) {
    forwarded(counters, out);
    let t = Totals::read(store, counters);
    let _ = writeln!(
        out,
        "totals: {} spans received, {} stored, {} traces, {} rejected, {} evicted, {} duplicates, {} dropped from full traces, {} metric data points, {} log records",
        t.store.traces.received,
        t.store.traces.spans,
        t.store.traces.traces,
        t.store.traces.rejected,
        t.store.traces.evicted,
        t.store.traces.duplicates,
        t.store.traces.trace_full,
        t.store.metrics.received,
        t.store.logs.received,
    );
}

/// The report's line on `--forward`, whenever it is on.
fn forwarded(counters: &Counters, out: &mut String) {
    if let Some(line) = forward_line(&counters.forward) {
        out.push_str(&line);
        out.push('\n');
    }
}

/// What `--forward` sent and did not (with the last error when something was not sent), as the
/// report and the exit's line on stderr say it; `None` when `--forward` is off.
#[must_use]
pub fn forward_line(f: &ForwardStats) -> Option<String> {
    use std::sync::atomic::Ordering::Relaxed;
    if !f.on.load(Relaxed) {
        return None;
    }
    let (sent, items, dropped, dropped_items, cut_off) = (
        f.requests.load(Relaxed),
        f.items.load(Relaxed),
        f.dropped_requests.load(Relaxed),
        f.dropped_items.load(Relaxed),
        f.cut_off.load(Relaxed),
    );
    let mut out = format!(
        "forwarded: {sent} requests ({items} items), {dropped} not forwarded ({dropped_items} items)"
    );
    if cut_off > 0 {
        let _ = write!(out, ", {cut_off} of them still waiting at exit");
    }
    if dropped > 0
        && let Some(e) = f.last_error.lock().as_deref()
    {
        let _ = write!(out, "; last error: {}", safe(e));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{batch, span};

    #[test]
    fn report_shows_the_tree_errors_and_orphans() {
        let mut store = Store::new(100);
        let mut failing = span(0xabc, 3, 2, 30, 40, "SELECT");
        failing.status = StatusCode::Error;
        failing.status_message = "timeout".into();
        store.ingest(batch(
            "api",
            vec![failing, span(0xabc, 1, 0, 10, 60, "GET /")],
        ));
        store.ingest(batch("db", vec![span(0xabc, 2, 1, 20, 50, "query")]));
        store.ingest(batch("late", vec![span(0xabc, 9, 77, 55, 56, "orphan")]));
        let text = render(&store, &Counters::default());
        let expected = "\
trace 00000000000000000000000000000abc 4 spans, 3 services, 50ns, 1 errors
  api: GET / [unspecified] 50ns
    db: query [unspecified] 30ns
      api: SELECT [unspecified] 10ns ERROR timeout
  late: orphan [unspecified] 1ns (missing parent)
totals: 4 spans received, 4 stored, 1 traces, 0 rejected, 0 evicted, 0 duplicates, 0 dropped from full traces, 0 metric data points, 0 log records
";
        assert_eq!(text, expected);
    }

    #[test]
    fn one_trace_and_one_span_as_text() {
        use crate::model::{OwnedEvent, OwnedLink, SpanKind, Value};
        let mut store = Store::new(100);
        let mut root = span(
            0xabc,
            1,
            0,
            1_700_000_000_000_000_000,
            1_700_000_000_050_000_000,
            "GET /",
        );
        root.kind = SpanKind::Server;
        root.status = StatusCode::Error;
        root.status_message = "bad\nthing".into();
        root.attrs = vec![
            ("http.route".into(), Value::Str("/a b".into())),
            ("code".into(), Value::Int(500)),
        ];
        root.events = vec![OwnedEvent {
            time: 1_700_000_000_010_000_000,
            name: "retry".into(),
            attrs: vec![],
        }];
        root.links = vec![OwnedLink {
            trace_id: 0xdef,
            span_id: 9,
            attrs: vec![("why".into(), Value::Str("batch".into()))],
        }];
        store.ingest(batch(
            "api",
            vec![
                root,
                span(
                    0xabc,
                    2,
                    1,
                    1_700_000_000_001_000_000,
                    1_700_000_000_002_000_000,
                    "child",
                ),
            ],
        ));
        let t = store.trace(store.find(0xabc).unwrap()).unwrap();
        assert_eq!(
            trace_text(&store, t),
            "\
trace 00000000000000000000000000000abc 2 spans, 1 services, 50.00ms, 1 errors
  api: GET / [server] 50.00ms ERROR bad\\nthing
    api: child [unspecified] 1.00ms
"
        );
        assert_eq!(
            span_text(&store, t, 0),
            "\
api: GET / [server] 50.00ms ERROR bad\\nthing
  trace 00000000000000000000000000000abc span 0000000000000001
  start 2023-11-14T22:13:20.000000Z
  status error bad\\nthing
  attributes: http.route=\"/a b\" code=500
  resource: service.name=api
  scope test 1
  event +10.00ms retry
  link 00000000000000000000000000000def 0000000000000009: why=batch
"
        );
        assert!(
            span_text(&store, t, 1).contains("span 0000000000000002 parent 0000000000000001\n")
        );
        assert_eq!(span_text(&store, t, 7), "");
    }

    #[test]
    fn untrusted_names_are_escaped() {
        let mut store = Store::new(100);
        store.ingest(batch(
            "svc\x1b[31m",
            vec![span(1, 1, 0, 0, 1, "a\x1b]0;pwned\x07")],
        ));
        let text = render(&store, &Counters::default());
        assert!(!text.contains('\x1b'));
        assert!(text.contains("svc\\x1b[31m: a\\x1b]0;pwned\\x07"));
    }

    #[test]
    fn metrics_and_logs_follow_the_traces_and_the_totals_stay_last() {
        use crate::model::{
            Histogram, LogBatch, LogResource, LogScope, MetricBatch, MetricKind, MetricResource,
            MetricScope, NewLogRecord, NewMetric, NewPoint, PointValue, Value,
        };
        let mut store = Store::new(100);
        store.ingest(batch("api", vec![span(0xabc, 1, 0, 10, 60, "GET /")]));
        let point = |attrs: Vec<(&str, &str)>, value| NewPoint {
            attrs: attrs
                .into_iter()
                .map(|(k, v)| (k.into(), Value::Str(v.into())))
                .collect(),
            start: 1,
            time: 2,
            value,
            exemplars: Vec::new(),
        };
        let metric = |name: &str, kind, points| NewMetric {
            name: name.into(),
            description: String::new(),
            unit: if name == "requests" { "1" } else { "ms" }.into(),
            kind,
            points,
        };
        store.ingest_metrics(MetricBatch {
            resources: vec![MetricResource {
                attrs: vec![("service.name".into(), Value::Str("jokes-api".into()))],
                scopes: vec![MetricScope {
                    metrics: vec![
                        metric(
                            "requests",
                            MetricKind::Sum {
                                monotonic: true,
                                delta: false,
                            },
                            vec![
                                point(
                                    vec![("endpoint", "jokes api"), ("environment", "dev")],
                                    PointValue::Number(12.0),
                                ),
                                point(vec![("endpoint", "hello api")], PointValue::Number(3.0)),
                            ],
                        ),
                        metric(
                            "duration",
                            MetricKind::Histogram { delta: false },
                            vec![point(
                                vec![("http.route", "/jokes")],
                                PointValue::Histogram(Box::new(Histogram {
                                    count: 10,
                                    sum: Some(250.0),
                                    min: None,
                                    max: None,
                                    bounds: vec![10.0, 50.0].into(),
                                    counts: vec![5, 5, 0].into(),
                                })),
                            )],
                        ),
                    ],
                    ..MetricScope::default()
                }],
            }],
            rejected: 0,
        });
        store.ingest_logs(LogBatch {
            resources: vec![LogResource {
                attrs: vec![("service.name".into(), Value::Str("jokes-api".into()))],
                scopes: vec![LogScope {
                    records: vec![
                        NewLogRecord {
                            time: 1_700_000_000_000_000_000,
                            severity: 13,
                            body: Value::Str("upstream slow\nretrying".into()),
                            trace_id: 0xabc,
                            span_id: 1,
                            ..NewLogRecord::default()
                        },
                        NewLogRecord {
                            observed_time: 1_700_000_001_000_000_000,
                            severity: 9,
                            body: Value::Str("started".into()),
                            ..NewLogRecord::default()
                        },
                    ],
                    ..LogScope::default()
                }],
            }],
            rejected: 0,
        });
        let text = render(&store, &Counters::default());
        let expected = "\
trace 00000000000000000000000000000abc 1 spans, 1 services, 50ns
  api: GET / [unspecified] 50ns
metric duration histogram ms jokes-api
  http.route=/jokes count=10 sum=250 p50=10 p99=49.2
metric requests counter 1 jokes-api
  endpoint=\"jokes api\" environment=dev 12
  endpoint=\"hello api\" 3
log 2023-11-14T22:13:20.000000Z WARN jokes-api upstream slow\\nretrying trace=00000000000000000000000000000abc span=0000000000000001
log 2023-11-14T22:13:21.000000Z INFO jokes-api started
totals: 1 spans received, 1 stored, 1 traces, 0 rejected, 0 evicted, 0 duplicates, 0 dropped from full traces, 3 metric data points, 2 log records
";
        assert_eq!(text, expected);
    }

    #[test]
    fn the_forward_line_is_there_whenever_forward_is_on() {
        use std::sync::atomic::Ordering::Relaxed;
        let f = ForwardStats::default();
        assert_eq!(forward_line(&f), None, "off");
        f.on.store(true, Relaxed);
        assert_eq!(
            forward_line(&f).as_deref(),
            Some("forwarded: 0 requests (0 items), 0 not forwarded (0 items)"),
            "on, nothing received"
        );
        *f.last_error.lock() = Some("upstream answered 503\nagain".into());
        f.requests.store(2, Relaxed);
        f.items.store(7, Relaxed);
        f.dropped_requests.store(3, Relaxed);
        f.dropped_items.store(4, Relaxed);
        f.cut_off.store(1, Relaxed);
        assert_eq!(
            forward_line(&f).as_deref(),
            Some(
                "forwarded: 2 requests (7 items), 3 not forwarded (4 items), 1 of them still waiting at exit; last error: upstream answered 503\\nagain"
            )
        );
        let counters = Counters {
            forward: std::sync::Arc::new(f),
            ..Counters::default()
        };
        let text = render(&Store::new(10), &counters);
        assert!(text.starts_with("forwarded: 2 requests"), "{text}");
    }
}
