//! Statistics of one trace per (service, span name): how many spans, their total, self and
//! longest durations, their errors; sorted by any column. Enter shows the group's spans in the
//! trace, with their ancestors.

use std::any::Any;
use std::time::Instant;

use crossterm::event::KeyCode;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Paragraph, Widget};
use rustc_hash::FxHashMap;

use super::TraceView;
use crate::analysis::{StatColumn, StatRow, sort_stats, stats};
use crate::format::{self, safe};
use crate::model::{Sym, TraceId};
use crate::store::tree::Tree;
use crate::store::{Store, TraceRef};
use crate::tui::action::Action;
use crate::tui::cursor::Cursor;
use crate::tui::keymap::Binding;
use crate::tui::layout::{Areas, Shape};
use crate::tui::theme::{Cells, DIM, ERROR, HEADER, TITLE, put, select_row, service_color};
use crate::tui::view::{Ctx, Outcome, Refresh, View};

/// The name column's narrowest width: on a narrow terminal the numbers are cut instead.
const NAME_MIN_W: u16 = 20;
const SERVICE_W: u16 = 18;
const COUNT_W: u16 = 7;
const DURATION_W: u16 = 10;
const ERRORS_W: u16 = 7;
/// The columns right of the name.
const NUMBERS_W: u16 = COUNT_W + 4 * DURATION_W + ERRORS_W;

pub const HELP_TITLE: &str = "Trace statistics";
pub static KEYS: &[Binding] = &[
    Binding {
        codes: &[KeyCode::Enter],
        action: Action::Open,
        keys: "Enter",
        what: "the trace filtered to the group's spans (n N walk them)",
    },
    Binding {
        codes: &[KeyCode::Char('s')],
        action: Action::CycleSort,
        keys: "s",
        what: "sort by self, total, avg, max, count, errors, name",
    },
    Binding {
        codes: &[KeyCode::Char('r')],
        action: Action::Reverse,
        keys: "r",
        what: "reverse the order",
    },
];

/// The columns `s` cycles through, in turn.
const SORTS: [StatColumn; 7] = [
    StatColumn::SelfTime,
    StatColumn::Total,
    StatColumn::Avg,
    StatColumn::Max,
    StatColumn::Count,
    StatColumn::Errors,
    StatColumn::Name,
];

#[must_use]
pub fn sort_label(c: StatColumn) -> &'static str {
    match c {
        StatColumn::Count => "count",
        StatColumn::Total => "total",
        StatColumn::SelfTime => "self",
        StatColumn::Avg => "avg",
        StatColumn::Max => "max",
        StatColumn::Errors => "errors",
        StatColumn::Name => "name",
    }
}

/// `▼` for a descending order, `▲` for an ascending one.
#[must_use]
pub fn arrow(descending: bool) -> &'static str {
    if descending { "▼" } else { "▲" }
}

/// A query value, quoted so the query language reads it back exactly.
#[must_use]
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The view of a trace filtered to the spans of one service and span name (with their
/// ancestors), the first of them selected.
pub fn open_filtered(
    cx: &mut Ctx,
    store: &Store,
    trace: TraceRef,
    service: &str,
    name: &str,
) -> Outcome {
    let Some(mut view) = TraceView::new(store, trace) else {
        cx.notice = Some("that trace was evicted".into());
        return Outcome::Done;
    };
    let query = format!("service={} and name={}", quote(service), quote(name));
    view.update(cx, store, &Action::Apply(Some(query)));
    Outcome::Open(Box::new(view))
}

/// The statistics view's state.
#[derive(Debug)]
pub struct TraceStats {
    pub trace: TraceRef,
    pub trace_id: TraceId,
    /// The trace's version the rows were built from.
    pub version: u32,
    pub rows: Vec<StatRow>,
    /// The text of the symbols in `rows`, read when they were built (a compaction of the
    /// catalog renumbers symbols; these stay right until the next build).
    text: FxHashMap<Sym, String>,
    pub sort: StatColumn,
    pub descending: bool,
    pub cursor: Cursor,
}

impl TraceStats {
    /// The statistics of a trace, by self time, most first. An evicted trace gives no rows
    /// (and the first refresh closes the view).
    #[must_use]
    pub fn new(store: &Store, trace: TraceRef) -> Self {
        let mut view = Self {
            trace,
            trace_id: 0,
            version: 0,
            rows: Vec::new(),
            text: FxHashMap::default(),
            sort: StatColumn::SelfTime,
            descending: true,
            cursor: Cursor::default(),
        };
        view.build(store);
        view
    }

    fn height(cx: &Ctx) -> usize {
        cx.layout(Shape::List).body.height as usize
    }

    /// The text of a symbol of the rows.
    #[must_use]
    pub fn text(&self, s: Sym) -> &str {
        self.text.get(&s).map_or("", String::as_str)
    }

    /// The selected group's service and span name.
    #[must_use]
    pub fn selected(&self) -> Option<(&str, &str)> {
        let r = self.rows.get(self.cursor.selected)?;
        Some((self.text(r.service), self.text(r.name)))
    }

    /// Builds the rows from the trace as it is now, keeping the selected group selected.
    fn build(&mut self, store: &Store) {
        let Some(t) = store.trace(self.trace) else {
            return;
        };
        let selected = self.selected().map(|(s, n)| (s.to_owned(), n.to_owned()));
        let spans = t.spans();
        let tree = Tree::build(spans);
        self.rows = stats(spans, &tree, |s| store.resource(s.resource).service);
        self.text.clear();
        for r in &self.rows {
            for s in [r.service, r.name] {
                self.text
                    .entry(s)
                    .or_insert_with(|| store.str(s).to_owned());
            }
        }
        self.trace_id = t.id;
        self.version = t.version;
        self.resort();
        if let Some((service, name)) = selected
            && let Some(pos) = self
                .rows
                .iter()
                .position(|r| self.text(r.service) == service && self.text(r.name) == name)
        {
            self.cursor.selected = pos;
        }
    }

    fn resort(&mut self) {
        let text = &self.text;
        sort_stats(&mut self.rows, self.sort, self.descending, |s| {
            text.get(&s).map_or("", String::as_str)
        });
    }

    fn open_selected(&self, cx: &mut Ctx, store: &Store) -> Outcome {
        match self.selected() {
            Some((service, name)) => open_filtered(cx, store, self.trace, service, name),
            None => Outcome::Done,
        }
    }

    fn render_header(&self, area: Rect, buf: &mut Buffer) {
        if area.height == 0 {
            return;
        }
        let mark = |c: StatColumn, label: &str| {
            if c == self.sort {
                format!("{label} {}", arrow(self.descending))
            } else {
                label.to_owned()
            }
        };
        let end = area.x + area.width;
        let name_w = end
            .saturating_sub(area.x + SERVICE_W)
            .saturating_sub(NUMBERS_W)
            .max(NAME_MIN_W);
        let mut cells = Cells {
            x: area.x,
            y: area.y,
            end,
        };
        cells.put(buf, &mark(StatColumn::Name, "SERVICE"), SERVICE_W, HEADER);
        cells.put(buf, "NAME", name_w, HEADER);
        for (c, label, w) in [
            (StatColumn::Count, "COUNT", COUNT_W),
            (StatColumn::Total, "TOTAL", DURATION_W),
            (StatColumn::SelfTime, "SELF", DURATION_W),
            (StatColumn::Avg, "AVG", DURATION_W),
            (StatColumn::Max, "MAX", DURATION_W),
            (StatColumn::Errors, "ERRORS", ERRORS_W),
        ] {
            let text = format!("{:>1$}", mark(c, label), w as usize - 1);
            cells.put(buf, &text, w, HEADER);
        }
    }

    fn render_title(&self, area: Rect, buf: &mut Buffer) {
        let title = format!(
            " statistics · trace {} · {} groups · sort: {} {}",
            format::trace_id(self.trace_id),
            self.rows.len(),
            sort_label(self.sort),
            arrow(self.descending),
        );
        put(buf, area.x, area.y, &title, area.width, TITLE);
    }
}

impl View for TraceStats {
    fn keys(&self) -> &'static [Binding] {
        KEYS
    }

    fn help_title(&self) -> &'static str {
        HELP_TITLE
    }

    fn shape(&self) -> Shape {
        Shape::List
    }

    fn update(&mut self, cx: &mut Ctx, store: &Store, action: &Action) -> Outcome {
        let height = Self::height(cx);
        match action {
            Action::Open => return self.open_selected(cx, store),
            Action::Back => return Outcome::Back,
            Action::CycleSort => {
                let i = SORTS.iter().position(|c| *c == self.sort).unwrap_or(0);
                self.sort = SORTS[(i + 1) % SORTS.len()];
                self.descending = self.sort != StatColumn::Name;
                self.resort();
                self.cursor = Cursor::default();
            }
            Action::Reverse => {
                self.descending = !self.descending;
                self.resort();
                self.cursor = Cursor::default();
            }
            Action::Click(x, y) => {
                if self
                    .cursor
                    .click(cx.layout(Shape::List).body, self.rows.len(), *x, *y)
                {
                    return self.open_selected(cx, store);
                }
            }
            other => {
                self.cursor.apply(other, self.rows.len(), height);
            }
        }
        Outcome::Done
    }

    fn refresh(&mut self, cx: &mut Ctx, store: &Store, _now: Instant) -> Refresh {
        match store.trace(self.trace) {
            None => Refresh::Gone("the trace was evicted"),
            Some(t) if t.version != self.version || self.trace_id != t.id => {
                self.build(store);
                self.cursor.clamp(self.rows.len(), Self::height(cx));
                Refresh::Changed
            }
            Some(_) => Refresh::Unchanged,
        }
    }

    fn render(&self, _cx: &Ctx, _store: &Store, areas: &Areas, buf: &mut Buffer) {
        self.render_title(areas.title, buf);
        self.render_header(areas.header, buf);
        let body = areas.body;
        if body.height == 0 {
            return;
        }
        if self.rows.is_empty() {
            Paragraph::new("This trace has no spans.")
                .style(DIM)
                .alignment(Alignment::Center)
                .render(body, buf);
            return;
        }
        let end = body.x + body.width;
        let name_w = end
            .saturating_sub(body.x + SERVICE_W)
            .saturating_sub(NUMBERS_W)
            .max(NAME_MIN_W);
        for i in self.cursor.visible(self.rows.len(), body.height as usize) {
            let r = &self.rows[i];
            let y = body.y + (i - self.cursor.offset) as u16;
            let mut cells = Cells { x: body.x, y, end };
            let service = self.text(r.service);
            cells.put(
                buf,
                &safe(service),
                SERVICE_W,
                Style::new().fg(service_color(service)),
            );
            let name_style = if r.errors > 0 { ERROR } else { Style::new() };
            cells.put(buf, &safe(self.text(r.name)), name_w, name_style);
            cells.put(buf, &format!("{:>6}", r.count), COUNT_W, Style::new());
            for d in [r.total, r.self_total, r.avg(), r.max] {
                cells.put(
                    buf,
                    &format!("{:>9}", format::duration(d)),
                    DURATION_W,
                    Style::new(),
                );
            }
            let (errors, style) = if r.errors > 0 {
                (format!("{:>6}", r.errors), ERROR)
            } else {
                (format!("{:>6}", "-"), DIM)
            };
            cells.put(buf, &errors, ERRORS_W, style);
            if i == self.cursor.selected {
                select_row(buf, Rect::new(body.x, y, body.width, 1));
            }
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
