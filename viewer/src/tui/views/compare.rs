//! Two traces compared: `m` marks the first (A), `C` on another (B) shows their trees merged by
//! the (service, span name) path of each span, with what B added, lost or repeats a different
//! number of times, and how the durations moved.

use std::any::Any;
use std::time::Instant;

use crossterm::event::KeyCode;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Style};
use ratatui::widgets::{Paragraph, Widget};
use rustc_hash::FxHashMap;

use super::trace_stats::open_filtered;
use crate::analysis::{DiffNode, DiffStatus, compare};
use crate::format::{self, safe};
use crate::model::{Sym, TraceId};
use crate::store::tree::Tree;
use crate::store::{Store, TraceRef};
use crate::tui::action::Action;
use crate::tui::cursor::Cursor;
use crate::tui::keymap::Binding;
use crate::tui::layout::{Areas, Shape};
use crate::tui::theme::{Cells, DIM, HEADER, TITLE, put, select_row, service_color};
use crate::tui::view::{Ctx, Outcome, Refresh, View};

/// The name column's narrowest width: on a narrow terminal the numbers are cut instead.
const NAME_MIN_W: u16 = 20;
const MARK_W: u16 = 2;
const COUNT_W: u16 = 12;
const DURATION_W: u16 = 10;
const DELTA_W: u16 = 11;
const NUMBERS_W: u16 = COUNT_W + 2 * DURATION_W + DELTA_W;
/// Deeper than this, a node shows its depth as a number instead of indenting further.
const MAX_INDENT: u32 = 24;

const ADDED: Style = Style::new().fg(Color::Green);
const REMOVED: Style = Style::new().fg(Color::Red);
const CHANGED: Style = Style::new().fg(Color::Yellow);

pub const HELP_TITLE: &str = "Compare traces";
pub static KEYS: &[Binding] = &[Binding {
    codes: &[KeyCode::Enter],
    action: Action::Open,
    keys: "Enter",
    what: "B's trace (A's if removed) filtered to those spans",
}];

/// A trace id, short: its hex digits without leading zeros, the first 12 of them.
#[must_use]
pub fn short_id(id: TraceId) -> String {
    let hex = format!("{id:x}");
    if hex.len() > 12 {
        format!("{}…", &hex[..12])
    } else {
        hex
    }
}

/// `m`: marks a trace as A of the next comparison.
pub fn mark(cx: &mut Ctx, store: &Store, trace: TraceRef) -> Outcome {
    match store.trace(trace) {
        Some(t) => {
            cx.marked = Some(t.id);
            cx.notice = Some(format!(
                "marked trace {} for compare; open another and press C",
                format::trace_id(t.id)
            ));
        }
        None => cx.notice = Some("that trace was evicted".into()),
    }
    Outcome::Done
}

/// `C`: compares the marked trace (A) with this one (B).
pub fn open(cx: &mut Ctx, store: &Store, b: TraceRef) -> Outcome {
    let Some(marked) = cx.marked else {
        cx.notice = Some("no trace marked: press m on one trace, then C on another".into());
        return Outcome::Done;
    };
    let Some(a) = store.find(marked) else {
        cx.marked = None;
        cx.notice = Some("the marked trace was evicted: press m on another".into());
        return Outcome::Done;
    };
    if store.trace(b).is_none() {
        cx.notice = Some("that trace was evicted".into());
        return Outcome::Done;
    }
    Outcome::Open(Box::new(CompareView::new(store, a, b)))
}

/// One side's span count and duration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Side {
    pub id: TraceId,
    pub version: u32,
    pub spans: usize,
    pub duration: u64,
}

/// The comparison's state.
#[derive(Debug)]
pub struct CompareView {
    pub a: TraceRef,
    pub b: TraceRef,
    pub side_a: Side,
    pub side_b: Side,
    /// The merged tree, depth first.
    pub nodes: Vec<DiffNode>,
    /// The text of the symbols in `nodes`, read when they were built.
    text: FxHashMap<Sym, String>,
    pub cursor: Cursor,
}

impl CompareView {
    /// A (`a`) compared with B (`b`). Evicted traces give no nodes (and the first refresh
    /// closes the view).
    #[must_use]
    pub fn new(store: &Store, a: TraceRef, b: TraceRef) -> Self {
        let mut view = Self {
            a,
            b,
            side_a: Side::default(),
            side_b: Side::default(),
            nodes: Vec::new(),
            text: FxHashMap::default(),
            cursor: Cursor::default(),
        };
        view.build(store);
        view
    }

    fn height(cx: &Ctx) -> usize {
        cx.layout(Shape::List).body.height as usize
    }

    /// The text of a symbol of the nodes.
    #[must_use]
    pub fn text(&self, s: Sym) -> &str {
        self.text.get(&s).map_or("", String::as_str)
    }

    fn build(&mut self, store: &Store) {
        let (Some(ta), Some(tb)) = (store.trace(self.a), store.trace(self.b)) else {
            return;
        };
        let (sa, sb) = (ta.spans(), tb.spans());
        let (tree_a, tree_b) = (Tree::build(sa), Tree::build(sb));
        self.nodes = compare((sa, &tree_a), (sb, &tree_b), |s| {
            store.resource(s.resource).service
        });
        self.text.clear();
        for n in &self.nodes {
            for s in [n.service, n.name] {
                self.text
                    .entry(s)
                    .or_insert_with(|| store.str(s).to_owned());
            }
        }
        let side = |t: &crate::store::Trace| Side {
            id: t.id,
            version: t.version,
            spans: t.span_count(),
            duration: t.duration(),
        };
        self.side_a = side(ta);
        self.side_b = side(tb);
    }

    fn open_selected(&self, cx: &mut Ctx, store: &Store) -> Outcome {
        let Some(n) = self.nodes.get(self.cursor.selected) else {
            return Outcome::Done;
        };
        let trace = if n.status == DiffStatus::Removed {
            self.a
        } else {
            self.b
        };
        open_filtered(cx, store, trace, self.text(n.service), self.text(n.name))
    }

    fn render_title(&self, area: Rect, buf: &mut Buffer) {
        let (a, b) = (&self.side_a, &self.side_b);
        let mut title = format!(
            " compare · A {} · {} spans · {} → B {} · {} spans · {} · Δ {}",
            short_id(a.id),
            a.spans,
            format::duration(a.duration),
            short_id(b.id),
            b.spans,
            format::duration(b.duration),
            delta(a.duration, b.duration).0,
        );
        if self.a == self.b {
            title.push_str(" · A and B are the same trace");
        }
        put(buf, area.x, area.y, &title, area.width, TITLE);
    }
}

/// `b − a` with its sign, red when B is slower by more than 10%, green when faster by more.
#[must_use]
pub fn delta(a: u64, b: u64) -> (String, Style) {
    let text = if b >= a {
        format!("+{}", format::duration(b - a))
    } else {
        format!("-{}", format::duration(a - b))
    };
    let b10 = u128::from(b) * 10;
    let style = if b10 > u128::from(a) * 11 {
        REMOVED
    } else if b10 < u128::from(a) * 9 {
        ADDED
    } else {
        DIM
    };
    (text, style)
}

fn render_header(area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let end = area.x + area.width;
    let name_w = end
        .saturating_sub(area.x + MARK_W)
        .saturating_sub(NUMBERS_W)
        .max(NAME_MIN_W);
    let mut cells = Cells {
        x: area.x,
        y: area.y,
        end,
    };
    cells.put(buf, " ", MARK_W, HEADER);
    cells.put(buf, "SERVICE NAME", name_w, HEADER);
    cells.put(buf, &format!("{:>11}", "COUNT"), COUNT_W, HEADER);
    cells.put(buf, &format!("{:>9}", "TOTAL A"), DURATION_W, HEADER);
    cells.put(buf, &format!("{:>9}", "TOTAL B"), DURATION_W, HEADER);
    cells.put(buf, &format!("{:>10}", "Δ"), DELTA_W, HEADER);
}

impl View for CompareView {
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
            Action::Click(x, y) => {
                if self
                    .cursor
                    .click(cx.layout(Shape::List).body, self.nodes.len(), *x, *y)
                {
                    return self.open_selected(cx, store);
                }
            }
            other => {
                self.cursor.apply(other, self.nodes.len(), height);
            }
        }
        Outcome::Done
    }

    fn refresh(&mut self, cx: &mut Ctx, store: &Store, _now: Instant) -> Refresh {
        let (Some(ta), Some(tb)) = (store.trace(self.a), store.trace(self.b)) else {
            return Refresh::Gone("a compared trace was evicted");
        };
        if ta.version == self.side_a.version
            && tb.version == self.side_b.version
            && ta.id == self.side_a.id
            && tb.id == self.side_b.id
        {
            return Refresh::Unchanged;
        }
        self.build(store);
        self.cursor.clamp(self.nodes.len(), Self::height(cx));
        Refresh::Changed
    }

    fn render(&self, _cx: &Ctx, _store: &Store, areas: &Areas, buf: &mut Buffer) {
        self.render_title(areas.title, buf);
        render_header(areas.header, buf);
        let body = areas.body;
        if body.height == 0 {
            return;
        }
        if self.nodes.is_empty() {
            Paragraph::new("Nothing to compare.")
                .style(DIM)
                .alignment(Alignment::Center)
                .render(body, buf);
            return;
        }
        let end = body.x + body.width;
        let name_w = end
            .saturating_sub(body.x + MARK_W)
            .saturating_sub(NUMBERS_W)
            .max(NAME_MIN_W);
        for i in self.cursor.visible(self.nodes.len(), body.height as usize) {
            let n = &self.nodes[i];
            let y = body.y + (i - self.cursor.offset) as u16;
            let mut cells = Cells { x: body.x, y, end };
            let (mark, style) = match n.status {
                DiffStatus::Added => ("+", ADDED),
                DiffStatus::Removed => ("-", REMOVED),
                DiffStatus::Changed => ("~", CHANGED),
                DiffStatus::Same => (" ", Style::new()),
            };
            cells.put(buf, mark, MARK_W, style);

            // Service and name, indented by depth.
            let name_end = cells.x + name_w.min(end.saturating_sub(cells.x));
            let mut x = cells.x;
            let indent = if n.depth > MAX_INDENT {
                format!("[{}] ", n.depth)
            } else {
                "  ".repeat(n.depth as usize)
            };
            x = put(buf, x, y, &indent, name_end.saturating_sub(x), DIM);
            let service = self.text(n.service);
            x = put(
                buf,
                x,
                y,
                &safe(service),
                name_end.saturating_sub(x),
                Style::new().fg(service_color(service)),
            );
            x = put(buf, x, y, " ", name_end.saturating_sub(x), Style::new());
            let name_style = match n.status {
                DiffStatus::Same => Style::new(),
                _ => style,
            };
            put(
                buf,
                x,
                y,
                &safe(self.text(n.name)),
                name_end.saturating_sub(x).saturating_sub(1),
                name_style,
            );
            cells.x = name_end;

            let count = if n.count_a == n.count_b {
                n.count_a.to_string()
            } else {
                format!("{}→{}", n.count_a, n.count_b)
            };
            cells.put(buf, &format!("{count:>11}"), COUNT_W, style);
            for (count, total) in [(n.count_a, n.total_a), (n.count_b, n.total_b)] {
                let text = if count == 0 {
                    "-".to_owned()
                } else {
                    format::duration(total)
                };
                cells.put(buf, &format!("{text:>9}"), DURATION_W, Style::new());
            }
            let (d, d_style) = delta(n.total_a, n.total_b);
            cells.put(buf, &format!("{d:>10}"), DELTA_W, d_style);
            if i == self.cursor.selected {
                select_row(buf, Rect::new(body.x, y, body.width, 1));
            }
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
