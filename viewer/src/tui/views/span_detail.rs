//! Span detail: name, kind, status, service, ids, timing, attributes, resource, scope, events,
//! links, and the span's log records. Shown as a pane under the tree and full screen.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span as TextSpan};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use crate::format::{self, safe};
use crate::model::{Attr, Severity, Span, StatusCode};
use crate::store::{Store, Trace};
use crate::tui::theme::{DIM, ERROR, KEY, TITLE, service_color, severity_style};

const SECTION: Style = TITLE;

/// What the trace view computed about a span: its self time and its time on the critical path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timing {
    pub self_ns: u64,
    pub critical_ns: u64,
}

/// The detail of `trace.spans()[span]`, as lines. `limit` caps how many are built.
#[must_use]
pub fn lines(
    store: &Store,
    trace: &Trace,
    span: usize,
    timing: Option<Timing>,
    limit: usize,
) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let Some(s) = trace.spans().get(span) else {
        return out;
    };
    let service = store.resource(s.resource).service;
    let name_style = if s.is_error() { ERROR } else { TITLE };
    out.push(Line::styled(
        safe(store.str(s.name)).into_owned(),
        name_style,
    ));
    let status = match s.status {
        StatusCode::Error => {
            let msg = s.status_message();
            let text = if msg.is_empty() {
                "ERROR".to_owned()
            } else {
                format!("ERROR: {}", safe(msg))
            };
            TextSpan::styled(text, ERROR)
        }
        other => TextSpan::raw(other.as_str()),
    };
    out.push(Line::from(vec![
        TextSpan::styled("service  ", KEY),
        TextSpan::styled(
            safe(store.str(service)).into_owned(),
            Style::new().fg(service_color(store.str(service))),
        ),
        TextSpan::styled("   kind ", KEY),
        TextSpan::raw(s.kind.as_str()),
        TextSpan::styled("   status ", KEY),
        status,
    ]));
    out.push(Line::from(vec![
        TextSpan::styled("start    ", KEY),
        TextSpan::raw(format!(
            "{} {} (+{} into the trace)   ",
            format::time_of_day(s.start),
            format::zone(),
            format::duration(s.start.saturating_sub(trace.start))
        )),
        TextSpan::styled("duration ", KEY),
        TextSpan::raw(format::duration(s.duration())),
    ]));
    if let Some(t) = timing {
        let mut parts = vec![
            TextSpan::styled("self     ", KEY),
            TextSpan::raw(format!(
                "{} (the time no child span covers)",
                format::duration(t.self_ns)
            )),
        ];
        if t.critical_ns > 0 {
            parts.push(TextSpan::styled("   critical path ", KEY));
            parts.push(TextSpan::raw(format::duration(t.critical_ns)));
        }
        out.push(Line::from(parts));
    }
    out.push(kv_line("trace id ", format::trace_id(trace.id)));
    out.push(kv_line("span id  ", format::span_id(s.span_id)));
    let parent = if s.parent_id == 0 {
        "none (root)".to_owned()
    } else if trace.position(s.parent_id).is_some() {
        format::span_id(s.parent_id)
    } else {
        format!("{} (missing)", format::span_id(s.parent_id))
    };
    out.push(kv_line("parent   ", parent));
    let scope = store.scope(s.scope);
    let scope_text = format!(
        "{} {}",
        safe(store.str(scope.name)),
        safe(store.str(scope.version))
    );
    out.push(kv_line("scope    ", scope_text.trim().to_owned()));

    section(&mut out, "Attributes", s.attrs.len());
    attrs(store, &s.attrs, "  ", &mut out, limit);
    let resource = store.resource(s.resource);
    section(&mut out, "Resource", resource.attrs.len());
    attrs(store, &resource.attrs, "  ", &mut out, limit);
    events_and_links(store, s, &mut out, limit);
    span_logs(store, trace, s, &mut out, limit);
    out.truncate(limit);
    out
}

/// The span's log records, time relative to the span's start.
fn span_logs(store: &Store, trace: &Trace, s: &Span, out: &mut Vec<Line<'static>>, limit: usize) {
    let n = store.logs.of_span(trace.id, s.span_id).count();
    if n == 0 {
        return;
    }
    section(out, "Logs", n);
    for (_, r) in store.logs.of_span(trace.id, s.span_id) {
        if out.len() >= limit {
            return;
        }
        let rel = if r.time >= s.start {
            format!("+{}", format::duration(r.time - s.start))
        } else {
            format!("-{}", format::duration(s.start - r.time))
        };
        let severity = Severity::of(r.severity);
        let body = store.value_text(&r.body);
        out.push(Line::from(vec![
            TextSpan::styled(format!("  {rel:>9} "), DIM),
            TextSpan::styled(
                format!("{:<5} ", severity.as_str()),
                severity_style(severity),
            ),
            TextSpan::raw(safe(&body).into_owned()),
        ]));
    }
}

fn events_and_links(store: &Store, s: &Span, out: &mut Vec<Line<'static>>, limit: usize) {
    if !s.events().is_empty() {
        section(out, "Events", s.events().len());
        for e in s.events() {
            if out.len() >= limit {
                return;
            }
            out.push(Line::from(vec![
                TextSpan::styled(
                    format!("  +{} ", format::duration(e.time.saturating_sub(s.start))),
                    DIM,
                ),
                TextSpan::raw(safe(store.str(e.name)).into_owned()),
            ]));
            attrs(store, &e.attrs, "      ", out, limit);
        }
    }
    if !s.links().is_empty() {
        section(out, "Links", s.links().len());
        for l in s.links() {
            if out.len() >= limit {
                return;
            }
            out.push(Line::raw(format!(
                "  trace {} span {}",
                format::trace_id(l.trace_id),
                format::span_id(l.span_id)
            )));
            attrs(store, &l.attrs, "      ", out, limit);
        }
    }
}

fn kv_line(key: &'static str, value: String) -> Line<'static> {
    Line::from(vec![TextSpan::styled(key, KEY), TextSpan::raw(value)])
}

fn section(out: &mut Vec<Line<'static>>, title: &str, n: usize) {
    out.push(Line::raw(""));
    out.push(Line::styled(format!("{title} ({n})"), SECTION));
}

fn attrs(store: &Store, attrs: &[Attr], indent: &str, out: &mut Vec<Line<'static>>, limit: usize) {
    for a in attrs {
        if out.len() >= limit {
            return;
        }
        out.push(Line::from(vec![
            TextSpan::styled(format!("{indent}{} = ", safe(store.str(a.key()))), KEY),
            TextSpan::raw(safe(&store.value_text(&a.value())).into_owned()),
        ]));
    }
}

/// The detail as a bordered pane (the top of it).
pub fn render_pane(
    store: &Store,
    trace: &Trace,
    span: usize,
    timing: Option<Timing>,
    area: Rect,
    buf: &mut Buffer,
) {
    let block = Block::new()
        .borders(Borders::TOP)
        .title(" span detail · Enter for all of it ")
        .border_style(DIM);
    let inner = block.inner(area);
    block.render(area, buf);
    Paragraph::new(lines(store, trace, span, timing, inner.height as usize)).render(inner, buf);
}
