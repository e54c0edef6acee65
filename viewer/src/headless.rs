//! Headless mode: receivers without a UI; on exit, every stored trace printed as text.

use std::fmt::Write;

use crate::config::Config;
use crate::format::{self, safe};
use crate::receiver::Counters;
use crate::server::{StartError, Totals, Viewer};
use crate::store::Store;
use crate::store::tree::{TopKind, Tree};

/// Runs until SIGINT, SIGTERM or `--exit-after`, then prints the report to stdout.
pub async fn run(config: Config) -> Result<(), StartError> {
    let exit_after = config.exit_after;
    let viewer = Viewer::start(config).await?;
    eprintln!(
        "viewer: receiving OTLP on grpc://{} and http://{} (headless; Ctrl-C prints the traces)",
        viewer.grpc_addr(),
        viewer.http_addr()
    );
    let timer = async {
        match exit_after {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = timer => {}
        () = crate::signals::terminate() => {}
    }
    let report = viewer.shutdown().await;
    print!("{report}");
    Ok(())
}

/// The report: per trace (oldest first) a header line and its spans in tree order, then totals.
#[must_use]
pub fn render(store: &Store, counters: &Counters) -> String {
    let mut out = String::new();
    let mut traces: Vec<_> = store
        .traces_by_arrival()
        .filter_map(|r| store.trace(r))
        .collect();
    traces.sort_by_key(|t| (t.start, t.id));
    for trace in traces {
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
            let indent = "  ".repeat(row.depth as usize + 1);
            let _ = write!(
                out,
                "{indent}{}: {} [{}] {}",
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
            match row.top {
                TopKind::MissingParent => out.push_str(" (missing parent)"),
                TopKind::Cycle => out.push_str(" (parent cycle)"),
                TopKind::Root | TopKind::Child => {}
            }
            out.push('\n');
        }
    }
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
        t.metric_points,
        t.log_records,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StatusCode;
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
}
