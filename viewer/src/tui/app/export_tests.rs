//! Copying (`y`, `Y`, `J`) and writing traces to a file (`w`), driven as a user would.

use std::path::{Path, PathBuf};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use super::tests::{app_with, draw, full_store, list, sample_store, trace};
use super::*;
use crate::receiver::{Limits, convert};

/// A fresh directory for one test's files.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("viewer-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Replaces the input line's text, as typed.
fn type_over(app: &mut App, text: &str) {
    for _ in 0..app.input_text().as_deref().unwrap_or("").chars().count() {
        app.update(Action::Edit(Edit::Backspace));
    }
    for c in text.chars() {
        app.update(Action::Edit(Edit::Insert(c)));
    }
}

/// The trace with the checkout (0xaaaa), opened, its second span selected.
fn open_checkout() -> App {
    let mut app = app_with(sample_store(), (110, 30));
    app.update(Action::Down);
    app.update(Action::Open);
    app.update(Action::Down);
    assert_eq!(trace(&app).trace_id, 0xaaaa);
    app
}

/// Reads OTLP JSON lines as the receiver reads a JSON request: (trace id, span ids and names)
/// per line.
fn read_lines(path: &Path) -> Vec<(u128, Vec<(u64, String)>)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| {
            let req: ExportTraceServiceRequest = serde_json::from_str(line).unwrap();
            let (batch, problem) = convert::trace_request(req, &Limits::default());
            assert!(problem.is_empty(), "{problem}");
            let mut store = Store::new(100);
            store.ingest(batch);
            let r = store.traces_by_arrival().next().unwrap();
            let t = store.trace(r).unwrap();
            let mut spans: Vec<_> = t
                .spans()
                .iter()
                .map(|s| (s.span_id, store.str(s.name).to_owned()))
                .collect();
            spans.sort();
            (t.id, spans)
        })
        .collect()
}

/// What the store holds of a trace, as [`read_lines`] gives it.
fn held(app: &App, id: u128) -> (u128, Vec<(u64, String)>) {
    let store = app.store.lock();
    let t = store.trace(store.find(id).unwrap()).unwrap();
    let mut spans: Vec<_> = t
        .spans()
        .iter()
        .map(|s| (s.span_id, store.str(s.name).to_owned()))
        .collect();
    spans.sort();
    (id, spans)
}

#[test]
fn y_copies_the_span_and_capital_y_the_trace_as_the_text_tree() {
    let mut app = open_checkout();
    assert!(app.cx.clipboard.is_none());
    app.update(Action::CopySpan);
    let (span_text, trace_text) = {
        let store = app.store.lock();
        let view = trace(&app);
        let t = store.trace(view.trace).unwrap();
        let span = view.selected_span().unwrap();
        (
            crate::report::span_text(&store, t, span),
            crate::report::trace_text(&store, t),
        )
    };
    assert!(span_text.starts_with("frontend: POST /pay [client] 80.00ms\n"));
    assert_eq!(app.cx.clipboard.as_deref(), Some(span_text.as_str()));
    assert_eq!(
        app.cx.notice.as_deref(),
        Some(format!("copied span POST /pay as text, {} B", span_text.len()).as_str())
    );
    app.cx.clipboard = None;
    app.update(Action::CopyTrace);
    assert!(trace_text.starts_with("trace 0000000000000000000000000000aaaa 5 spans"));
    assert!(trace_text.contains("\n    frontend: POST /pay [client] 80.00ms\n"));
    assert_eq!(app.cx.clipboard.as_deref(), Some(trace_text.as_str()));
    assert_eq!(
        app.cx.notice.as_deref(),
        Some(
            format!(
                "copied trace 00000000… (5 spans) as text, {} B",
                trace_text.len()
            )
            .as_str()
        )
    );
    // The notice shows in the status bar.
    assert!(draw(&app).contains("copied trace 00000000… (5 spans) as text"));
}

#[test]
fn capital_j_copies_the_trace_as_otlp_json_and_copies_work_in_the_full_detail_too() {
    let mut app = open_checkout();
    app.update(Action::Open);
    assert!(trace(&app).full_detail);
    app.update(Action::CopyTraceJson);
    let json = app.cx.clipboard.take().expect("copied");
    assert!(
        app.cx
            .notice
            .as_deref()
            .unwrap()
            .starts_with("copied trace 00000000… (5 spans) as OTLP JSON, ")
    );
    let req: ExportTraceServiceRequest = serde_json::from_str(&json).unwrap();
    let spans: usize = req
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    assert_eq!(spans, 5);
    app.update(Action::CopySpan);
    assert!(
        app.cx
            .clipboard
            .as_deref()
            .unwrap()
            .starts_with("frontend: POST /pay")
    );
    assert!(trace(&app).full_detail, "still in the detail");
}

#[test]
fn w_in_a_trace_writes_it_to_the_file_named_in_the_prompt() {
    let dir = temp_dir("save-trace");
    let mut app = open_checkout();
    app.update(Action::Save);
    assert_eq!(app.mode(), Mode::FilterInput);
    assert_eq!(app.input_text().as_deref(), Some("trace-00000000.jsonl"));
    let screen = draw(&app);
    assert!(
        screen.contains(
            "save to: trace-00000000.jsonl  Enter writes trace 00000000… as OTLP JSON lines · Esc cancels"
        ),
        "{screen}"
    );
    // Tab and the history do nothing to a file name.
    app.history.push("status=error");
    app.update(Action::FilterHistory(true));
    app.update(Action::FilterComplete);
    assert_eq!(app.input_text().as_deref(), Some("trace-00000000.jsonl"));
    let path = dir.join("checkout.jsonl");
    type_over(&mut app, path.to_str().unwrap());
    app.update(Action::FilterApply);
    assert_eq!(app.mode(), Mode::View);
    assert_eq!(
        app.cx.notice.as_deref(),
        Some(format!("wrote 1 trace (5 spans) to {}", path.display()).as_str())
    );
    assert_eq!(read_lines(&path), vec![held(&app, 0xaaaa)]);
    assert!(app.view_as::<crate::tui::views::TraceView>().is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn w_writes_the_trace_s_log_records_too_and_they_come_back_under_their_spans() {
    let dir = temp_dir("save-logs");
    let mut app = app_with(full_store(), (140, 34));
    app.update(Action::Down);
    app.update(Action::Open);
    assert_eq!(trace(&app).trace_id, 0xaaaa);
    app.update(Action::Save);
    let path = dir.join("with-logs.jsonl");
    type_over(&mut app, path.to_str().unwrap());
    app.update(Action::FilterApply);
    // Read back as `viewer FILE` reads it: every line into a fresh store.
    let mut store = Store::new(1000);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 2, "the trace, then its logs: {text}");
    for line in text.lines() {
        let (payload, problem) = crate::files::parse_otlp_json(line.as_bytes(), &Limits::default())
            .unwrap()
            .unwrap();
        assert!(problem.is_empty(), "{problem}");
        store.ingest_payload(payload);
    }
    assert_eq!(store.logs.count_of_trace(0xaaaa), 3);
    let mut reopened = app_with(store, (140, 34));
    reopened.update(Action::Open);
    let screen = draw(&reopened);
    assert!(screen.contains("GET /checkout ≡"), "{screen}");
    assert!(screen.contains("3 logs (L)"), "{screen}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_existing_file_is_overwritten_only_when_its_name_is_entered_again() {
    let dir = temp_dir("save-exists");
    let path = dir.join("t.jsonl");
    std::fs::write(&path, "keep me\n").unwrap();
    let mut app = open_checkout();
    app.update(Action::Save);
    type_over(&mut app, path.to_str().unwrap());
    app.update(Action::FilterApply);
    assert_eq!(app.mode(), Mode::FilterInput, "still asking");
    assert!(draw(&app).contains("✖ exists: Enter again overwrites it · Esc cancels"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me\n");
    // Another name, then back: asked again.
    app.update(Action::Edit(Edit::Insert('x')));
    assert!(!draw(&app).contains("Enter again overwrites"));
    app.update(Action::Edit(Edit::Backspace));
    app.update(Action::FilterApply);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me\n");
    app.update(Action::FilterApply);
    assert_eq!(app.mode(), Mode::View);
    assert!(
        app.cx
            .notice
            .as_deref()
            .unwrap()
            .starts_with("wrote 1 trace")
    );
    assert_eq!(read_lines(&path), vec![held(&app, 0xaaaa)]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn w_in_the_list_writes_the_traces_it_shows() {
    let dir = temp_dir("save-list");
    let mut app = app_with(sample_store(), (100, 24));
    app.update(Action::Save);
    let suggested = app.input_text().unwrap();
    assert!(
        suggested.starts_with("traces-") && suggested.ends_with("Z.jsonl"),
        "{suggested}"
    );
    assert!(draw(&app).contains("Enter writes 2 traces as OTLP JSON lines"));
    let all = dir.join("all.jsonl");
    type_over(&mut app, all.to_str().unwrap());
    app.update(Action::FilterApply);
    assert_eq!(
        app.cx.notice.as_deref(),
        Some(format!("wrote 2 traces (6 spans) to {}", all.display()).as_str())
    );
    // In the list's order: newest first.
    assert_eq!(
        read_lines(&all),
        vec![held(&app, 0xcccc), held(&app, 0xaaaa)]
    );
    // Filtered: the traces that match.
    app.update(Action::StartFilter);
    for c in "tick".chars() {
        app.update(Action::Edit(Edit::Insert(c)));
    }
    app.update(Action::FilterApply);
    assert_eq!(list(&app).rows.len(), 1);
    app.update(Action::Save);
    let some = dir.join("some.jsonl");
    type_over(&mut app, some.to_str().unwrap());
    app.update(Action::FilterApply);
    assert_eq!(read_lines(&some), vec![held(&app, 0xcccc)]);
    // After a save, `/` is a filter again, starting from the one applied.
    app.update(Action::StartFilter);
    assert!(
        app.input
            .as_ref()
            .is_none_or(|l| l.kind == InputKind::Filter)
    );
    assert_eq!(app.input_text().as_deref(), Some("tick"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_that_cannot_be_written_is_reported_and_esc_cancels() {
    let dir = temp_dir("save-fail");
    let mut app = open_checkout();
    app.update(Action::Save);
    let missing = dir.join("no-such-dir").join("t.jsonl");
    type_over(&mut app, missing.to_str().unwrap());
    app.update(Action::FilterApply);
    assert_eq!(app.mode(), Mode::View);
    assert_eq!(
        app.cx.notice.as_deref(),
        Some(format!("cannot write {}: no such directory", missing.display()).as_str())
    );
    assert!(draw(&app).contains("cannot write"));
    assert!(app.view_as::<crate::tui::views::TraceView>().is_some());
    // A directory's name: it exists, so asked once; then refused.
    app.update(Action::Save);
    type_over(&mut app, dir.to_str().unwrap());
    app.update(Action::FilterApply);
    app.update(Action::FilterApply);
    assert_eq!(
        app.cx.notice.as_deref(),
        Some(format!("cannot write {}: it is a directory", dir.display()).as_str())
    );
    // Esc: nothing written, the trace still shown.
    app.update(Action::Save);
    let path = dir.join("cancelled.jsonl");
    type_over(&mut app, path.to_str().unwrap());
    app.update(Action::FilterCancel);
    assert_eq!(app.mode(), Mode::View);
    assert!(
        app.input
            .as_ref()
            .is_none_or(|l| l.kind == InputKind::Filter)
    );
    assert_eq!(app.cx.notice.as_deref(), Some("nothing written"));
    assert!(!path.exists());
    assert!(app.view_as::<crate::tui::views::TraceView>().is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_empty_list_has_nothing_to_write() {
    let mut app = app_with(Store::new(10), (80, 24));
    app.update(Action::Save);
    assert_eq!(app.mode(), Mode::View);
    assert_eq!(app.cx.notice.as_deref(), Some("no traces to write"));
}
