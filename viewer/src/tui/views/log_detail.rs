//! A log record's detail: time, severity, service, scope, event name, trace and span ids, the
//! whole body (multi-line; JSON pretty-printed), attributes and resource attributes. Enter
//! opens the record's trace at its span.

use std::any::Any;
use std::time::Instant;

use crossterm::event::KeyCode;
use ratatui::buffer::Buffer;
use ratatui::style::Style;
use ratatui::text::{Line, Span as TextSpan};
use ratatui::widgets::{Paragraph, Widget};

use super::log_list::open_trace;
use crate::format::{self, safe};
use crate::model::{Attr, LogRecord, Severity, Value};
use crate::store::{LogSeq, Store};
use crate::tui::action::Action;
use crate::tui::cursor::Scroll;
use crate::tui::keymap::Binding;
use crate::tui::layout::{Areas, Shape};
use crate::tui::theme::{DIM, KEY, TITLE, put, service_color, severity_style};
use crate::tui::view::{Ctx, Outcome, Refresh, View};

pub const HELP_TITLE: &str = "Log record";
pub static KEYS: &[Binding] = &[Binding {
    codes: &[KeyCode::Enter, KeyCode::Char('t')],
    action: Action::OpenTrace,
    keys: "Enter t",
    what: "open the record's trace at its span (j k scroll)",
}];

/// The open record's state.
#[derive(Debug)]
pub struct LogDetail {
    pub seq: LogSeq,
    pub scroll: Scroll,
}

impl LogDetail {
    #[must_use]
    pub fn new(seq: LogSeq) -> Self {
        Self {
            seq,
            scroll: Scroll::default(),
        }
    }
}

/// The body as lines: a JSON object or array pretty-printed, other text split at newlines.
fn body_lines(text: &str) -> Vec<String> {
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(json) = serde_json::from_str::<serde_json::Value>(text)
        && let Ok(pretty) = serde_json::to_string_pretty(&json)
    {
        return pretty.lines().map(|l| safe(l).into_owned()).collect();
    }
    text.lines().map(|l| safe(l).into_owned()).collect()
}

/// The detail's lines.
#[must_use]
pub fn lines(store: &Store, r: &LogRecord) -> Vec<Line<'static>> {
    let kv =
        |k: &'static str, v: String| Line::from(vec![TextSpan::styled(k, KEY), TextSpan::raw(v)]);
    let severity = Severity::of(r.severity);
    let service = store.catalog.service(r.resource);
    let mut out = vec![
        Line::from(vec![
            TextSpan::styled("time      ", KEY),
            TextSpan::raw(format!("{}   ", format::timestamp(r.time))),
            TextSpan::styled("severity ", KEY),
            TextSpan::styled(
                format!(
                    "{} ({}{})",
                    severity.as_str(),
                    r.severity,
                    match store.str(r.severity_text) {
                        "" => String::new(),
                        t => format!(", {}", safe(t)),
                    }
                ),
                severity_style(severity),
            ),
        ]),
        Line::from(vec![
            TextSpan::styled("service   ", KEY),
            TextSpan::styled(
                safe(service).into_owned(),
                Style::new().fg(service_color(service)),
            ),
        ]),
    ];
    let scope = store.scope(r.scope);
    let scope = format!(
        "{} {}",
        safe(store.str(scope.name)),
        safe(store.str(scope.version))
    );
    out.push(kv("scope     ", scope.trim().to_owned()));
    let event = store.str(r.event_name);
    if !event.is_empty() {
        out.push(kv("event     ", safe(event).into_owned()));
    }
    if r.trace_id == 0 {
        out.push(kv("trace     ", "none".to_owned()));
    } else {
        let held = if store.find(r.trace_id).is_some() {
            "   (Enter opens it)"
        } else {
            "   (not held)"
        };
        out.push(kv(
            "trace id  ",
            format!("{}{held}", format::trace_id(r.trace_id)),
        ));
        if r.span_id != 0 {
            out.push(kv("span id   ", format::span_id(r.span_id)));
        }
    }
    out.push(Line::raw(""));
    out.push(Line::styled("Body", TITLE));
    let body = match &r.body {
        Value::Empty => Vec::new(),
        v => body_lines(&store.value_text(v)),
    };
    out.extend(body.into_iter().map(|l| Line::raw(format!("  {l}"))));
    attrs(store, "Attributes", &r.attrs, &mut out);
    attrs(
        store,
        "Resource",
        &store.resource(r.resource).attrs,
        &mut out,
    );
    out
}

fn attrs(store: &Store, title: &str, attrs: &[Attr], out: &mut Vec<Line<'static>>) {
    out.push(Line::raw(""));
    out.push(Line::styled(format!("{title} ({})", attrs.len()), TITLE));
    for a in attrs {
        out.push(Line::from(vec![
            TextSpan::styled(format!("  {} = ", safe(store.str(a.key()))), KEY),
            TextSpan::raw(safe(&store.value_text(&a.value())).into_owned()),
        ]));
    }
}

impl View for LogDetail {
    fn keys(&self) -> &'static [Binding] {
        KEYS
    }

    fn help_title(&self) -> &'static str {
        HELP_TITLE
    }

    fn shape(&self) -> Shape {
        Shape::Full
    }

    fn update(&mut self, cx: &mut Ctx, store: &Store, action: &Action) -> Outcome {
        let Some(r) = store.logs.get(self.seq) else {
            return Outcome::Back;
        };
        match action {
            Action::Back => Outcome::Back,
            Action::OpenTrace => open_trace(cx, store, r.trace_id, r.span_id),
            other => {
                let height = cx.layout(Shape::Full).body.height as usize;
                self.scroll.apply(other, lines(store, r).len(), height);
                Outcome::Done
            }
        }
    }

    fn refresh(&mut self, _cx: &mut Ctx, store: &Store, _now: Instant) -> Refresh {
        if store.logs.get(self.seq).is_some() {
            Refresh::Unchanged
        } else {
            Refresh::Gone("the open log record was evicted")
        }
    }

    fn render(&self, _cx: &Ctx, store: &Store, areas: &Areas, buf: &mut Buffer) {
        put(
            buf,
            areas.title.x,
            areas.title.y,
            " log record · j/k scroll · Enter opens its trace · Esc back",
            areas.title.width,
            TITLE,
        );
        let Some(r) = store.logs.get(self.seq) else {
            put(
                buf,
                areas.body.x,
                areas.body.y,
                "this record was evicted",
                areas.body.width,
                DIM,
            );
            return;
        };
        let height = areas.body.height as usize;
        let all = lines(store, r);
        let top = self.scroll.top.min(all.len().saturating_sub(height));
        let shown: Vec<Line<'static>> = all.into_iter().skip(top).take(height).collect();
        Paragraph::new(shown).render(areas.body, buf);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_bodies_are_pretty_printed_and_text_keeps_its_lines() {
        assert_eq!(
            body_lines(r#"{"a":1,"b":[true]}"#),
            ["{", "  \"a\": 1,", "  \"b\": [", "    true", "  ]", "}"]
        );
        assert_eq!(body_lines("one\ntwo\x1b[2J"), ["one", "two\\x1b[2J"]);
        assert_eq!(body_lines("{not json"), ["{not json"]);
    }
}
