//! The log list: every record held, newest first, following live or paused; filtered by text
//! and by minimum severity. Opened from a trace, the same list shows that trace's records
//! only, in time order.

use std::any::Any;
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Style};
use ratatui::widgets::{Paragraph, Widget};

use super::{LogDetail, TraceView};
use crate::format::{self, safe};
use crate::model::{LogRecord, Severity, TraceId};
use crate::query::LogFilter;
use crate::store::{LogSeq, Logs, Store};
use crate::tui::action::Action;
use crate::tui::cursor::Cursor;
use crate::tui::keymap::Binding;
use crate::tui::layout::{Areas, Shape};
use crate::tui::theme::{
    Cells, DIM, HEADER, TITLE, put, select_row, service_color, severity_style,
};
use crate::tui::view::{Ctx, Outcome, Refresh, Tab, View};

/// How often the list is rebuilt from the store while following, at most (and never more often
/// than every ten times what the last rebuild took).
const REFRESH_EVERY: Duration = Duration::from_millis(50);

const TIME_W: u16 = 13;
const SEVERITY_W: u16 = 6;
const SERVICE_W: u16 = 18;
/// Marks a record that carries a trace.
const TRACE_MARK: &str = "◆";

pub const HELP_TITLE: &str = "Logs";
pub static KEYS: &[Binding] = &[
    Binding {
        codes: &[KeyCode::Enter],
        action: Action::Open,
        keys: "Enter",
        what: "the record's detail",
    },
    Binding {
        codes: &[KeyCode::Char('t')],
        action: Action::OpenTrace,
        keys: "t",
        what: "open the record's trace at its span (◆: it has one)",
    },
    Binding {
        codes: &[KeyCode::Char('/')],
        action: Action::StartFilter,
        keys: "/",
        what: "filter: body, service, attribute values, trace id",
    },
    Binding {
        codes: &[KeyCode::Char('v')],
        action: Action::CycleSeverity,
        keys: "v",
        what: "minimum severity: all, debug, info, warn, error",
    },
    Binding {
        codes: &[KeyCode::Char('f'), KeyCode::Char('p')],
        action: Action::ToggleFollow,
        keys: "f",
        what: "follow new records / pause",
    },
];

/// The rows: every record held (newest first) without a rebuild, or those picked by a filter.
#[derive(Debug, Clone)]
enum Rows {
    /// Every record, newest first by record time, read live from the store's time order (the
    /// number held when last rebuilt).
    Newest(usize),
    /// Picked records, in the order shown.
    Picked(Vec<LogSeq>),
}

impl Default for Rows {
    fn default() -> Self {
        Self::Newest(0)
    }
}

impl Rows {
    fn len(&self) -> usize {
        match self {
            Self::Newest(n) => *n,
            Self::Picked(v) => v.len(),
        }
    }

    fn get(&self, logs: &Logs, i: usize) -> Option<LogSeq> {
        match self {
            Self::Newest(n) => (i < *n).then(|| logs.nth_newest(i)).flatten(),
            Self::Picked(v) => v.get(i).copied(),
        }
    }

    fn position(&self, logs: &Logs, seq: LogSeq) -> Option<usize> {
        match self {
            Self::Newest(_) => logs.newest_position(seq),
            Self::Picked(v) => v.iter().position(|&s| s == seq),
        }
    }

    /// The rows as they are now, not to move when the store changes (a paused list).
    fn frozen(&self, logs: &Logs) -> Self {
        match self {
            Self::Newest(n) => Self::Picked((0..*n).filter_map(|i| logs.nth_newest(i)).collect()),
            Self::Picked(v) => Self::Picked(v.clone()),
        }
    }
}

/// The log list's state.
#[derive(Debug, Default)]
pub struct LogList {
    /// Only this trace's records, in time order.
    pub trace: Option<TraceId>,
    rows: Rows,
    pub cursor: Cursor,
    pub follow: bool,
    pub filter: Option<String>,
    pub min_severity: Severity,
    seen_generation: Option<u64>,
    last_refresh: Option<Instant>,
    rebuild_cost: Duration,
    /// When nothing is listed: whether the filter alone would list records (so the severity
    /// floor is what hides them), and whether the floor alone would.
    empty_because: Option<(bool, bool)>,
}

impl LogList {
    /// Every record (`None`) or one trace's.
    #[must_use]
    pub fn new(trace: Option<TraceId>) -> Self {
        Self {
            trace,
            follow: true,
            ..Self::default()
        }
    }

    fn height(cx: &Ctx) -> usize {
        cx.layout(Shape::List).body.height as usize
    }

    /// Number of rows.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.len() == 0
    }

    /// The record shown on row `i`.
    #[must_use]
    pub fn row(&self, store: &Store, i: usize) -> Option<LogSeq> {
        self.rows.get(&store.logs, i)
    }

    fn rebuild(&mut self, cx: &Ctx, store: &Store, now: Instant) {
        let began = Instant::now();
        let selected = self.rows.get(&store.logs, self.cursor.selected);
        let query = self
            .filter
            .as_deref()
            .and_then(|f| LogFilter::parse(f, store).ok().flatten());
        self.rows = if query.is_none()
            && self.trace.is_none()
            && self.min_severity == Severity::Unspecified
        {
            Rows::Newest(store.logs.len())
        } else {
            let mut picked =
                LogFilter::records(query.as_ref(), store, self.min_severity, self.trace);
            if self.trace.is_some() {
                // One trace's records in time order (stable: arrival order among equals).
                picked.sort_by_key(|&s| store.logs.get(s).map_or(0, |r| r.time));
            } else {
                // Picked in time order: newest first.
                picked.reverse();
            }
            Rows::Picked(picked)
        };
        // Nothing listed: find out what hides the records, to say so.
        self.empty_because = (self.rows.len() == 0 && !store.logs.is_empty()).then(|| {
            let filter_alone = query.is_some()
                && !LogFilter::records(query.as_ref(), store, Severity::Unspecified, self.trace)
                    .is_empty();
            let floor_alone = self.min_severity != Severity::Unspecified
                && !LogFilter::records(None, store, self.min_severity, self.trace).is_empty();
            (filter_alone, floor_alone)
        });
        self.seen_generation = Some(store.logs.generation());
        self.last_refresh = Some(now);
        self.rebuild_cost = began.elapsed();
        if let Some(sel) = selected
            && (self.cursor.selected != 0 || self.trace.is_some())
            && let Some(pos) = self.rows.position(&store.logs, sel)
        {
            self.cursor.selected = pos;
        }
        self.cursor.clamp(self.rows.len(), Self::height(cx));
    }

    fn selected(&self, store: &Store) -> Option<(LogSeq, TraceId, u64)> {
        let seq = self.rows.get(&store.logs, self.cursor.selected)?;
        let r = store.logs.get(seq)?;
        Some((seq, r.trace_id, r.span_id))
    }

    fn render_title(&self, area: Rect, buf: &mut Buffer) {
        let mut title = match self.trace {
            Some(t) => format!(
                " logs of trace {} · {}",
                format::trace_id(t),
                self.rows.len()
            ),
            None => format!(" {} log records", self.rows.len()),
        };
        if self.trace.is_none() {
            title.push_str(if self.follow {
                " · following (f pauses)"
            } else {
                " · paused (f follows)"
            });
        }
        if self.min_severity != Severity::Unspecified {
            title.push_str(&format!(" · {}+", self.min_severity.as_str()));
        }
        if let Some(f) = &self.filter {
            title.push_str(" · filter: ");
            title.push_str(&format::ellipsis(&safe(f), 40));
        }
        put(buf, area.x, area.y, &title, area.width, TITLE);
    }
}

/// Opens a record's trace at its span, or says why not.
pub fn open_trace(cx: &mut Ctx, store: &Store, trace: TraceId, span: u64) -> Outcome {
    if trace == 0 {
        cx.notice = Some("this record carries no trace".into());
        return Outcome::Done;
    }
    match TraceView::at_span(cx, store, trace, span) {
        Some(view) => Outcome::Goto(Tab::Traces, Box::new(view)),
        None => {
            cx.notice = Some(format!(
                "trace {} is not held (not received, or evicted)",
                format::trace_id(trace)
            ));
            Outcome::Done
        }
    }
}

impl View for LogList {
    fn keys(&self) -> &'static [Binding] {
        KEYS
    }

    fn help_title(&self) -> &'static str {
        HELP_TITLE
    }

    fn shape(&self) -> Shape {
        Shape::List
    }

    fn filter_text(&self) -> Option<String> {
        Some(self.filter.clone().unwrap_or_default())
    }

    fn query_signal(&self) -> Option<crate::query::Signal> {
        Some(crate::query::Signal::Logs)
    }

    fn update(&mut self, cx: &mut Ctx, store: &Store, action: &Action) -> Outcome {
        let height = Self::height(cx);
        match action {
            Action::Open => {
                if let Some((seq, ..)) = self.selected(store) {
                    return Outcome::Open(Box::new(LogDetail::new(seq)));
                }
            }
            Action::OpenTrace => {
                if let Some((_, trace, span)) = self.selected(store) {
                    return open_trace(cx, store, trace, span);
                }
            }
            Action::Back => {
                if self.filter.take().is_some() {
                    self.cursor = Cursor::default();
                    self.rebuild(cx, store, Instant::now());
                } else if self.trace.is_some() {
                    return Outcome::Back;
                }
            }
            Action::Apply(text) => {
                self.filter.clone_from(text);
                self.cursor = Cursor::default();
                self.rebuild(cx, store, Instant::now());
            }
            Action::CycleSeverity => {
                let i = Severity::ALL
                    .iter()
                    .position(|s| *s == self.min_severity)
                    .unwrap_or(0);
                // Trace is as good as all: skip it.
                let mut next = Severity::ALL[(i + 1) % Severity::ALL.len()];
                if next == Severity::Trace {
                    next = Severity::Debug;
                }
                self.min_severity = next;
                self.cursor = Cursor::default();
                self.rebuild(cx, store, Instant::now());
            }
            Action::ToggleFollow => {
                self.follow = !self.follow;
                if self.follow {
                    self.rebuild(cx, store, Instant::now());
                } else {
                    // Paused: the rows stay put, whatever arrives.
                    self.rows = self.rows.frozen(&store.logs);
                }
            }
            Action::Click(x, y) => {
                if self
                    .cursor
                    .click(cx.layout(Shape::List).body, self.rows.len(), *x, *y)
                {
                    return self.update(cx, store, &Action::Open);
                }
            }
            other => {
                self.cursor.apply(other, self.rows.len(), height);
            }
        }
        Outcome::Done
    }

    fn refresh(&mut self, cx: &mut Ctx, store: &Store, now: Instant) -> Refresh {
        if self.seen_generation == Some(store.logs.generation()) {
            return Refresh::Unchanged;
        }
        // A paused list (a trace's list never moves on its own, but may grow) keeps its rows.
        if !self.follow && self.seen_generation.is_some() {
            return Refresh::Unchanged;
        }
        let due = self
            .last_refresh
            .is_none_or(|t| now.duration_since(t) >= REFRESH_EVERY.max(self.rebuild_cost * 10));
        if due {
            self.rebuild(cx, store, now);
            return Refresh::Changed;
        }
        Refresh::Unchanged
    }

    fn render(&self, cx: &Ctx, store: &Store, areas: &Areas, buf: &mut Buffer) {
        self.render_title(areas.title, buf);
        if areas.body.height == 0 {
            return;
        }
        if store.logs.is_empty() {
            super::render_empty(
                cx,
                super::Empty {
                    waiting: "Waiting for log records…",
                    sdk: "Point an OpenTelemetry SDK's log exporter at this viewer:",
                    transport: format!(
                        "(OTLP/gRPC; OTLP/HTTP: http://{}/v1/logs) with OTEL_LOGS_EXPORTER=otlp",
                        cx.http_addr
                    ),
                    demos: "The demos log every request: cargo run -p demo-api, then cargo run -p demo-client",
                    footer: "? for help · Tab for traces and metrics",
                },
                areas.body,
                buf,
            );
            return;
        }
        render_header(areas.header, buf);
        if self.rows.len() == 0 {
            let floor = self.min_severity.as_str();
            let text = match (&self.filter, self.empty_because) {
                // The filter matches records, all below the floor.
                (Some(f), Some((true, _))) => format!(
                    "{:?} matches records, none at {floor} or above: v lowers the minimum severity.",
                    safe(f)
                ),
                // Records pass the floor, none matches the filter.
                (Some(f), Some((false, true))) => format!(
                    "No {floor}+ record matches {:?}. Esc clears the filter.",
                    safe(f)
                ),
                (Some(f), _) if self.min_severity != Severity::Unspecified => format!(
                    "No record matches {:?}, and none is at {floor} or above: Esc clears the filter, v lowers the minimum severity.",
                    safe(f)
                ),
                (Some(f), _) => format!("No record matches {:?}. Esc clears the filter.", safe(f)),
                (None, _) if self.min_severity != Severity::Unspecified => {
                    format!("No record at {floor} or above: v lowers the minimum severity.")
                }
                (None, _) => "No records to show.".to_owned(),
            };
            Paragraph::new(text)
                .style(DIM)
                .alignment(Alignment::Center)
                .render(areas.body, buf);
            return;
        }
        let body = areas.body;
        for i in self.cursor.visible(self.rows.len(), body.height as usize) {
            let y = body.y + (i - self.cursor.offset) as u16;
            let row = Rect::new(body.x, y, body.width, 1);
            let Some(r) = self
                .rows
                .get(&store.logs, i)
                .and_then(|s| store.logs.get(s))
            else {
                put(buf, body.x, y, "(evicted)", body.width, DIM);
                continue;
            };
            render_row(store, r, body, y, buf);
            if i == self.cursor.selected {
                select_row(buf, row);
            }
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn render_row(store: &Store, r: &LogRecord, body: Rect, y: u16, buf: &mut Buffer) {
    let end = body.x + body.width;
    let mut cells = Cells { x: body.x, y, end };
    cells.put(buf, &format::time_of_day(r.time), TIME_W, DIM);
    let severity = Severity::of(r.severity);
    let text = store.str(r.severity_text);
    let label = if severity == Severity::Unspecified && !text.is_empty() {
        safe(text)
    } else {
        severity.as_str().into()
    };
    cells.put(buf, &label, SEVERITY_W, severity_style(severity));
    let service = store.catalog.service(r.resource);
    cells.put(
        buf,
        &safe(service),
        SERVICE_W,
        Style::new().fg(service_color(service)),
    );
    let mark = if r.trace_id == 0 { " " } else { TRACE_MARK };
    cells.put(buf, mark, 2, Style::new().fg(Color::Cyan));
    let body_text = store.value_text(&r.body);
    // The body on one line: control characters (newlines too) escaped.
    put(
        buf,
        cells.x,
        y,
        &safe(&body_text),
        end.saturating_sub(cells.x),
        Style::new(),
    );
}

fn render_header(area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let end = area.x + area.width;
    let mut cells = Cells {
        x: area.x,
        y: area.y,
        end,
    };
    let time = format!("TIME ({})", format::zone());
    for (label, w) in [
        (time.as_str(), TIME_W),
        ("LEVEL", SEVERITY_W),
        ("SERVICE", SERVICE_W),
        ("", 2),
    ] {
        cells.put(buf, label, w, HEADER);
    }
    put(
        buf,
        cells.x,
        area.y,
        "BODY",
        end.saturating_sub(cells.x),
        HEADER,
    );
}
