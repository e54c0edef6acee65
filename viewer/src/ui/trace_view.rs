//! The trace view: the span tree with indentation guides beside a waterfall on a time axis,
//! and the selected span's detail below.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::{Areas, DIM, ERROR, HEADER, SELECTED, TITLE, put, service_color, span_detail};
use crate::app::{App, TraceView};
use crate::format::{self, safe};
use crate::store::tree::{TopKind, Tree};
use crate::store::{Store, Trace};

/// Deeper than this, a row shows its depth as a number instead of drawing every guide.
const MAX_GUIDES: u32 = 24;
const DURATION_W: u16 = 10;

pub fn render(app: &App, store: &Store, areas: &Areas, buf: &mut Buffer) {
    let Some(view) = &app.trace else { return };
    let Some(trace) = store.trace(view.trace) else {
        put(
            buf,
            areas.body.x,
            areas.body.y,
            "this trace was evicted",
            areas.body.width,
            DIM,
        );
        return;
    };
    render_title(store, trace, areas.title, buf);
    if let Some(find) = &view.find {
        let text = format!(" find: {} (n/N) ", safe(find));
        let w = (text.chars().count() as u16).min(areas.title.width);
        let x = areas.title.x + areas.title.width - w;
        put(buf, x, areas.title.y, &text, w, HEADER);
    }
    let cols = Columns::new(areas.body.width);
    render_axis(trace, &cols, areas.header, buf);
    render_rows(store, trace, view, &cols, areas.body, buf);
    if areas.detail.height > 0
        && let Some(span) = view.selected_span()
    {
        span_detail::render_pane(store, trace, span, areas.detail, buf);
    }
}

/// Column widths of a row: tree | waterfall | duration.
struct Columns {
    tree: u16,
    waterfall: u16,
    duration: u16,
}

impl Columns {
    fn new(width: u16) -> Self {
        let duration = DURATION_W.min(width);
        let tree = (width.saturating_sub(duration) * 45 / 100).max(width.min(10));
        let waterfall = width.saturating_sub(tree + duration);
        Self {
            tree,
            waterfall,
            duration,
        }
    }
}

fn render_title(store: &Store, trace: &Trace, area: Rect, buf: &mut Buffer) {
    let root = trace.root();
    let mut title = format!(
        " trace {} · {}: {} · {} · {} spans · {} services",
        format::trace_id(trace.id),
        safe(store.service_of(root)),
        safe(store.str(root.name)),
        format::duration(trace.duration()),
        trace.span_count(),
        trace.services().len(),
    );
    if trace.errors > 0 {
        title.push_str(&format!(" · {} errors", trace.errors));
    }
    put(buf, area.x, area.y, &title, area.width, TITLE);
}

fn render_axis(trace: &Trace, cols: &Columns, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    buf.set_style(area, HEADER);
    put(buf, area.x, area.y, "SPAN", cols.tree, HEADER);
    let x0 = area.x + cols.tree;
    let w = cols.waterfall;
    if w >= 8 {
        let ticks: u64 = if w >= 40 { 4 } else { 2 };
        // Labels left to right; one that would touch the previous is left out.
        let mut free_from = 0u16;
        for k in 0..=ticks {
            let label = if k == 0 {
                "0".to_owned()
            } else {
                format::duration(trace.duration() / ticks * k)
            };
            let len = label.chars().count() as u16;
            let pos = (u64::from(w.saturating_sub(1)) * k / ticks) as u16;
            let start = if k == ticks {
                (pos + 1).saturating_sub(len)
            } else {
                pos
            };
            if start < free_from || start + len > w {
                continue;
            }
            put(buf, x0 + start, area.y, &label, len, HEADER);
            free_from = start + len + 1;
        }
    }
    put(
        buf,
        x0 + w,
        area.y,
        &format!("{:>9}", "DURATION"),
        cols.duration,
        HEADER,
    );
}

fn render_rows(
    store: &Store,
    trace: &Trace,
    view: &TraceView,
    cols: &Columns,
    body: Rect,
    buf: &mut Buffer,
) {
    let spans = trace.spans();
    let tree = &view.tree;
    let cursor = view.cursor;
    for (i, &row_idx) in view
        .visible
        .iter()
        .enumerate()
        .skip(cursor.offset)
        .take(body.height as usize)
    {
        let y = body.y + (i - cursor.offset) as u16;
        let row_idx = row_idx as usize;
        let Some(row) = tree.rows.get(row_idx) else {
            continue;
        };
        let Some(span) = spans.get(row.span as usize) else {
            continue;
        };
        let selected = i == cursor.selected;
        let service = store.resource(span.resource).service;
        let color = service_color(store.str(service));

        // Tree column.
        let mut x = body.x;
        let end = body.x + cols.tree;
        let prefix = guides(tree, row_idx);
        x = put(buf, x, y, &prefix, end.saturating_sub(x), DIM);
        let marker = if row.has_children(row_idx) {
            if view.collapsed.contains(&span.span_id) {
                "▸ "
            } else {
                "▾ "
            }
        } else {
            "· "
        };
        x = put(buf, x, y, marker, end.saturating_sub(x), DIM);
        x = put(
            buf,
            x,
            y,
            &safe(store.str(service)),
            end.saturating_sub(x),
            Style::new().fg(color),
        );
        x = put(buf, x, y, " ", end.saturating_sub(x), Style::new());
        let name_style = if span.is_error() { ERROR } else { Style::new() };
        x = put(
            buf,
            x,
            y,
            &safe(store.str(span.name)),
            end.saturating_sub(x),
            name_style,
        );
        let note = match row.top {
            TopKind::MissingParent => " (missing parent)",
            TopKind::Cycle => " (parent cycle)",
            TopKind::Root | TopKind::Child => "",
        };
        put(buf, x, y, note, end.saturating_sub(x), DIM);

        // Waterfall column.
        let w = cols.waterfall;
        if w > 0 {
            let x0 = body.x + cols.tree;
            let dur = trace.duration().max(1);
            let off = span.start.saturating_sub(trace.start).min(dur);
            let from = (u128::from(off) * u128::from(w) / u128::from(dur)) as u16;
            let len = (u128::from(span.duration()) * u128::from(w) / u128::from(dur)) as u16;
            let from = from.min(w - 1);
            let len = len.clamp(1, w - from);
            let bar_style = if span.is_error() {
                Style::new().fg(ERROR.fg.unwrap_or(color))
            } else {
                Style::new().fg(color)
            };
            put(buf, x0 + from, y, &"█".repeat(len as usize), len, bar_style);
        }

        // Duration column.
        put(
            buf,
            body.x + cols.tree + w,
            y,
            &format!("{:>9}", format::duration(span.duration())),
            cols.duration,
            Style::new(),
        );
        if selected {
            buf.set_style(Rect::new(body.x, y, body.width, 1), SELECTED);
        }
    }
}

/// Indentation guides for a row: `│ ` where an ancestor has siblings below, then `├─`/`└─`.
fn guides(tree: &Tree, row_idx: usize) -> String {
    let row = &tree.rows[row_idx];
    if row.depth == 0 {
        return String::new();
    }
    if row.depth > MAX_GUIDES {
        return format!(
            "[{}] {}",
            row.depth,
            if row.last_child { "└─" } else { "├─" }
        );
    }
    let mut levels = Vec::with_capacity(row.depth as usize);
    let mut cur = row.parent_row;
    while cur != u32::MAX {
        let r = &tree.rows[cur as usize];
        if r.depth == 0 {
            break;
        }
        levels.push(if r.last_child { "  " } else { "│ " });
        cur = r.parent_row;
    }
    let mut out: String = levels.iter().rev().copied().collect();
    out.push_str(if row.last_child { "└─" } else { "├─" });
    out
}
