//! The service map: services and the calls between them over the traces the trace list shows,
//! as a layered graph (when it fits) above a table of the calls. Built when opened and on `r`
//! only: over a million spans it takes a while. Enter on a call lists the traces that make it.

use std::any::Any;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crossterm::event::KeyCode;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Paragraph, Widget};

use super::TraceList;
use crate::analysis::{ServiceMap, ServiceMapBuilder, ServiceMapLimits};
use crate::format::{self, safe};
use crate::query::SpanFilter;
use crate::store::{Store, TraceRef};
use crate::tui::action::Action;
use crate::tui::cursor::Cursor;
use crate::tui::keymap::Binding;
use crate::tui::layout::{Areas, Shape};
use crate::tui::theme::{Cells, DIM, ERROR, HEADER, TITLE, put, select_row, service_color};
use crate::tui::view::{Ctx, Outcome, Refresh, View};

/// The name column's narrowest width: on a narrow terminal the numbers are cut instead.
const NAME_MIN_W: u16 = 20;
const CALLS_W: u16 = 10;
const ERRORS_W: u16 = 16;
const DURATION_W: u16 = 10;
const NUMBERS_W: u16 = CALLS_W + ERRORS_W + 2 * DURATION_W;

/// A service's box: its border, name and counts.
const BOX_H: u16 = 4;
/// Rows between boxes in a column.
const ROW_GAP: u16 = 1;
/// Widest and narrowest text inside a box.
const MAX_INNER: u16 = 20;
const MIN_INNER: u16 = 6;
/// Narrowest gap between columns.
const MIN_GAP: u16 = 6;
/// Table rows the graph leaves at least.
const MIN_TABLE_ROWS: u16 = 3;

const LINE: Style = Style::new().fg(Color::Gray);
const LINE_SELECTED: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);

pub const HELP_TITLE: &str = "Service map";
pub static KEYS: &[Binding] = &[
    Binding {
        codes: &[KeyCode::Enter],
        action: Action::Open,
        keys: "Enter",
        what: "the traces with the selected call",
    },
    Binding {
        codes: &[KeyCode::Char('r')],
        action: Action::Rebuild,
        keys: "r",
        what: "build the map again from the traces held now",
    },
];

/// A count with thousands separators: `1,234,567`.
#[must_use]
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 span`, `2 spans`.
fn counted(n: u64, what: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} {what}{s}", grouped(n))
}

fn now_unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The service map's state.
#[derive(Debug)]
pub struct ServiceMapView {
    pub map: ServiceMap,
    /// Per node: its service's name (read when built; symbols may be renumbered later).
    pub names: Vec<String>,
    /// Per node: its column.
    pub layers: Vec<u32>,
    /// Edge indices, most calls first: the table's rows.
    pub order: Vec<u32>,
    pub cursor: Cursor,
    /// The trace list's filter, which `r` runs again.
    pub filter: Option<String>,
    /// The trace list's fixed traces, if it shows a fixed set.
    fixed: Option<Vec<TraceRef>>,
    /// When it was built, unix nanoseconds.
    pub built_at: u64,
}

impl ServiceMapView {
    /// The map of `traces` (what the trace list shows): `filter` and `fixed` say where those
    /// came from, for `r`.
    #[must_use]
    pub fn new(
        store: &Store,
        traces: &[TraceRef],
        filter: Option<String>,
        fixed: Option<Vec<TraceRef>>,
    ) -> Self {
        let mut view = Self {
            map: ServiceMap::default(),
            names: Vec::new(),
            layers: Vec::new(),
            order: Vec::new(),
            cursor: Cursor::default(),
            filter,
            fixed,
            built_at: 0,
        };
        view.build(store, traces);
        view
    }

    /// The traces the list would show now: its fixed set or every trace, through its filter.
    fn traces_now(&self, store: &Store) -> Vec<TraceRef> {
        let filter = match &self.filter {
            Some(f) => match SpanFilter::parse(f, store) {
                Ok(f) => f,
                Err(_) => return Vec::new(),
            },
            None => None,
        };
        match (&self.fixed, filter) {
            (Some(refs), filter) => refs
                .iter()
                .copied()
                .filter(|r| {
                    store
                        .trace(*r)
                        .is_some_and(|t| filter.as_ref().is_none_or(|f| f.matches_trace(store, t)))
                })
                .collect(),
            (None, Some(f)) => f.traces(store),
            (None, None) => store.traces_by_arrival().collect(),
        }
    }

    fn build(&mut self, store: &Store, traces: &[TraceRef]) {
        let selected = self.selected_names();
        let mut b = ServiceMapBuilder::new(ServiceMapLimits::default());
        for &r in traces {
            if let Some(t) = store.trace(r) {
                b.add(r, t, |s| store.resource(s.resource).service);
            }
        }
        self.map = b.finish();
        self.names = self
            .map
            .nodes
            .iter()
            .map(|n| store.str(n.service).to_owned())
            .collect();
        self.layers = self.map.layers();
        self.order = (0..self.map.edges.len() as u32).collect();
        let edges = &self.map.edges;
        self.order
            .sort_by_key(|&e| std::cmp::Reverse(edges[e as usize].calls));
        self.built_at = now_unix_ns();
        self.cursor = Cursor::default();
        if let Some((from, to)) = selected
            && let Some(pos) = self.order.iter().position(|&e| {
                let e = &self.map.edges[e as usize];
                self.names[e.from as usize] == from && self.names[e.to as usize] == to
            })
        {
            self.cursor.selected = pos;
        }
    }

    /// The selected edge's index.
    #[must_use]
    pub fn selected(&self) -> Option<usize> {
        self.order.get(self.cursor.selected).map(|&e| e as usize)
    }

    /// The selected edge's services.
    #[must_use]
    pub fn selected_names(&self) -> Option<(String, String)> {
        let e = &self.map.edges[self.selected()?];
        Some((
            self.names[e.from as usize].clone(),
            self.names[e.to as usize].clone(),
        ))
    }

    /// Where the graph, its notes and the table go in `body`.
    fn plan(&self, body: Rect) -> Plan {
        let table_min = 1 + (self.order.len() as u16).clamp(1, MIN_TABLE_ROWS);
        let mut top = body.y;
        let mut graph = None;
        if let Some(g) = Graph::new(self, body.width, body.height) {
            let notes = u16::from(g.drawn.iter().any(|d| !d));
            let h = g.height + notes + 1;
            if h + table_min <= body.height {
                let area = Rect::new(body.x, body.y, g.width, g.height);
                let notes =
                    (notes > 0).then(|| Rect::new(body.x, body.y + g.height, body.width, 1));
                graph = Some((g, area, notes));
                top = body.y + h;
            }
        }
        let rest = body.height - (top - body.y);
        Plan {
            graph,
            header: Rect::new(body.x, top, body.width, rest.min(1)),
            rows: Rect::new(body.x, top + 1, body.width, rest.saturating_sub(1)),
        }
    }

    fn table_height(&self, cx: &Ctx) -> usize {
        self.plan(cx.layout(Shape::Full).body).rows.height as usize
    }

    fn open_selected(&self) -> Outcome {
        let Some(e) = self.selected() else {
            return Outcome::Done;
        };
        let edge = &self.map.edges[e];
        let mut title = format!(
            " traces with {} → {} calls",
            safe(&self.names[edge.from as usize]),
            safe(&self.names[edge.to as usize])
        );
        if edge.traces_left_out > 0 {
            title.push_str(&format!(
                " (the first {}; {} more not listed)",
                grouped(edge.traces.len() as u64),
                grouped(edge.traces_left_out)
            ));
        }
        Outcome::Open(Box::new(TraceList::of_traces(edge.traces.clone(), title)))
    }

    fn render_title(&self, fits: bool, area: Rect, buf: &mut Buffer) {
        let mut title = format!(" service map · {} traces", grouped(self.map.traces));
        if let Some(f) = &self.filter {
            title.push_str(&format!(" (filter: {})", safe(f)));
        }
        title.push_str(&format!(
            " · {} services · {} edges · built {} · r rebuilds",
            self.map.nodes.len(),
            self.map.edges.len(),
            &format::time_of_day(self.built_at)[..8],
        ));
        if !fits && !self.map.nodes.is_empty() {
            title.push_str(" · the graph does not fit");
        }
        put(buf, area.x, area.y, &title, area.width, TITLE);
    }

    fn render_table(&self, header: Rect, rows: Rect, buf: &mut Buffer) {
        if header.height > 0 {
            let end = header.x + header.width;
            let from_w = end
                .saturating_sub(header.x)
                .saturating_sub(NUMBERS_W)
                .max(NAME_MIN_W);
            let mut cells = Cells {
                x: header.x,
                y: header.y,
                end,
            };
            cells.put(buf, "FROM → TO", from_w, HEADER);
            cells.put(buf, &format!("{:>9}", "CALLS ▼"), CALLS_W, HEADER);
            cells.put(buf, &format!("{:>15}", "ERRORS (%)"), ERRORS_W, HEADER);
            cells.put(buf, &format!("{:>9}", "P50"), DURATION_W, HEADER);
            cells.put(buf, &format!("{:>9}", "P99"), DURATION_W, HEADER);
        }
        let end = rows.x + rows.width;
        let from_w = end
            .saturating_sub(rows.x)
            .saturating_sub(NUMBERS_W)
            .max(NAME_MIN_W);
        for i in self.cursor.visible(self.order.len(), rows.height as usize) {
            let e = &self.map.edges[self.order[i] as usize];
            let y = rows.y + (i - self.cursor.offset) as u16;
            let name_end = rows.x + from_w.min(rows.width);
            let (from, to) = (&self.names[e.from as usize], &self.names[e.to as usize]);
            let mut x = put(
                buf,
                rows.x,
                y,
                &safe(from),
                name_end.saturating_sub(rows.x),
                Style::new().fg(service_color(from)),
            );
            x = put(buf, x, y, " → ", name_end.saturating_sub(x), DIM);
            put(
                buf,
                x,
                y,
                &safe(to),
                name_end.saturating_sub(x).saturating_sub(1),
                Style::new().fg(service_color(to)),
            );
            let mut cells = Cells {
                x: name_end,
                y,
                end,
            };
            cells.put(
                buf,
                &format!("{:>9}", grouped(e.calls)),
                CALLS_W,
                Style::new(),
            );
            let (errors, style) = if e.errors == 0 {
                ("0".to_owned(), DIM)
            } else {
                #[allow(clippy::cast_precision_loss)]
                let pct = e.errors as f64 * 100.0 / e.calls.max(1) as f64;
                (format!("{} ({pct:.1}%)", grouped(e.errors)), ERROR)
            };
            cells.put(buf, &format!("{errors:>15}"), ERRORS_W, style);
            for d in [e.p50(), e.p99()] {
                cells.put(
                    buf,
                    &format!("{:>9}", format::duration(d)),
                    DURATION_W,
                    Style::new(),
                );
            }
            if i == self.cursor.selected {
                select_row(buf, Rect::new(rows.x, y, rows.width, 1));
            }
        }
    }

    fn render_graph(&self, g: &Graph, area: Rect, buf: &mut Buffer) {
        let mut canvas = Canvas::new(g.width, g.height);
        let selected = self.selected();
        // The selected edge last, so its cells are marked over the others'.
        let edges = (0..self.map.edges.len())
            .filter(|&e| Some(e) != selected)
            .chain(selected);
        for e in edges {
            if !g.drawn[e] {
                continue;
            }
            let edge = &self.map.edges[e];
            let (from, to) = (edge.from as usize, edge.to as usize);
            let (sx, sy) = g.pos[from];
            let (tx, ty) = g.pos[to];
            let (ay, by) = (sy + 1, ty + 1);
            let ch = g.channel[from];
            let hl = Some(e) == selected;
            // From the caller's right border to its channel, along it to the callee's row,
            // then to the callee's left border (the borders are drawn over afterwards); or,
            // skipping columns, down to its lane, along it, and up the callee's gap.
            canvas.hline(sx + g.box_w - 1, ch, ay, hl);
            let ch = match g.skip[e] {
                None => ch,
                Some((lane, up)) => {
                    canvas.vline(ch, ay, lane, hl);
                    canvas.hline(ch, up, lane, hl);
                    canvas.vline(up, lane, by, hl);
                    up
                }
            };
            if g.skip[e].is_none() {
                canvas.vline(ch, ay, by, hl);
            }
            canvas.hline(ch, tx, by, hl);
            canvas.arrow(tx - 1, by, hl);
        }
        canvas.render(area, buf);
        for (i, &(x, y)) in g.pos.iter().enumerate() {
            self.render_box(g, i, Rect::new(area.x + x, area.y + y, g.box_w, BOX_H), buf);
        }
        // Where edges meet the boxes.
        for (e, edge) in self.map.edges.iter().enumerate() {
            if !g.drawn[e] {
                continue;
            }
            let (sx, sy) = g.pos[edge.from as usize];
            let out = (area.x + sx + g.box_w - 1, area.y + sy + 1);
            let color = Style::new().fg(service_color(&self.names[edge.from as usize]));
            buf[out].set_symbol("├").set_style(color);
        }
    }

    fn render_box(&self, g: &Graph, i: usize, r: Rect, buf: &mut Buffer) {
        let name = &self.names[i];
        let border = Style::new().fg(service_color(name));
        let inner = g.box_w - 2;
        let bar = "─".repeat(inner as usize);
        put(buf, r.x, r.y, &format!("┌{bar}┐"), r.width, border);
        put(buf, r.x, r.y + 3, &format!("└{bar}┘"), r.width, border);
        for y in [r.y + 1, r.y + 2] {
            put(buf, r.x, y, "│", 1, border);
            put(
                buf,
                r.x + 1,
                y,
                &" ".repeat(inner as usize),
                inner,
                Style::new(),
            );
            put(buf, r.x + g.box_w - 1, y, "│", 1, border);
        }
        let text_w = inner - 2;
        put(
            buf,
            r.x + 2,
            r.y + 1,
            &safe(name),
            text_w,
            border.add_modifier(Modifier::BOLD),
        );
        let node = &self.map.nodes[i];
        let spans = counted(node.spans, "span");
        let x = put(buf, r.x + 2, r.y + 2, &spans, text_w, DIM);
        if node.errors > 0 {
            let left = (r.x + 2 + text_w).saturating_sub(x);
            put(
                buf,
                x,
                r.y + 2,
                &format!(" {} err", grouped(node.errors)),
                left,
                ERROR,
            );
        }
    }

    fn render_notes(&self, g: &Graph, area: Rect, buf: &mut Buffer) {
        let mut text = String::from(" calls back, not drawn:");
        for (e, edge) in self.map.edges.iter().enumerate() {
            if g.drawn[e] {
                continue;
            }
            text.push_str(&format!(
                " {} → {},",
                safe(&self.names[edge.from as usize]),
                safe(&self.names[edge.to as usize]),
            ));
        }
        text.pop();
        put(buf, area.x, area.y, &text, area.width, DIM);
    }
}

/// Where things go in the body.
struct Plan {
    graph: Option<(Graph, Rect, Option<Rect>)>,
    header: Rect,
    rows: Rect,
}

/// The graph's layout, relative to its area: a column per layer, a box per service, a
/// vertical channel per calling service in the gap right of its column. Edges going right are
/// drawn (those skipping columns along a lane of their own under the boxes); those going back
/// (cycles) are listed.
struct Graph {
    box_w: u16,
    /// Per node: its box's top left.
    pos: Vec<(u16, u16)>,
    /// Per node: the x of its channel (for nodes with drawn outgoing edges).
    channel: Vec<u16>,
    /// Per edge: whether it is drawn.
    drawn: Vec<bool>,
    /// Per edge skipping columns: the row of its lane and the x of the channel it rises by.
    skip: Vec<Option<(u16, u16)>>,
    width: u16,
    height: u16,
}

impl Graph {
    /// The layout in `width` columns, if it fits (and, roughly, in `max_height` rows: the
    /// caller checks the exact height).
    fn new(view: &ServiceMapView, width: u16, max_height: u16) -> Option<Self> {
        let map = &view.map;
        let n = map.nodes.len();
        if n == 0 {
            return None;
        }
        let layers = &view.layers;
        let columns = *layers.iter().max()? as usize + 1;
        if columns > usize::from(width / (MIN_INNER + 4)) {
            return None;
        }
        // Edges going right are drawn; those going back (cycles) are listed.
        let drawn: Vec<bool> = map
            .edges
            .iter()
            .map(|e| layers[e.to as usize] > layers[e.from as usize])
            .collect();
        let adjacent =
            |e: &crate::analysis::Edge| layers[e.to as usize] == layers[e.from as usize] + 1;

        // Columns, each ordered by where its callers stand in the column before.
        let mut cols: Vec<Vec<usize>> = vec![Vec::new(); columns];
        for (i, &l) in layers.iter().enumerate() {
            cols[l as usize].push(i);
        }
        let tallest = cols.iter().map(Vec::len).max().unwrap_or(0);
        if tallest > usize::from(max_height / (BOX_H + ROW_GAP)) + 1 {
            return None;
        }
        let mut callers_of: Vec<Vec<usize>> = vec![Vec::new(); n];
        for e in map.edges.iter().filter(|e| adjacent(e)) {
            callers_of[e.to as usize].push(e.from as usize);
        }
        let mut rank = vec![0usize; n];
        for col in &mut cols {
            let mut key: Vec<(f64, usize)> = col
                .iter()
                .map(|&v| {
                    let callers = &callers_of[v];
                    let sum: usize = callers.iter().map(|&c| rank[c]).sum();
                    #[allow(clippy::cast_precision_loss)]
                    let bary = if callers.is_empty() {
                        f64::MAX
                    } else {
                        sum as f64 / callers.len() as f64
                    };
                    (bary, v)
                })
                .collect();
            key.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            *col = key.into_iter().map(|(_, v)| v).collect();
            for (k, &v) in col.iter().enumerate() {
                rank[v] = k;
            }
        }

        // Gaps: a channel per calling node, two columns apart; then one per edge skipping
        // columns, in the gap before its callee, rising from its own lane under the boxes.
        let mut callers = vec![false; n];
        for (e, d) in map.edges.iter().zip(&drawn) {
            if *d {
                callers[e.from as usize] = true;
            }
        }
        let out_channels: Vec<u16> = cols
            .iter()
            .map(|c| c.iter().filter(|&&v| callers[v]).count() as u16)
            .collect();
        let mut in_channels = vec![0u16; columns];
        // Per skipping edge: (edge, its lane, its channel's index in the gap).
        let mut skips: Vec<(usize, u16, u16)> = Vec::new();
        for (k, e) in map.edges.iter().enumerate() {
            if drawn[k] && !adjacent(e) {
                let gap = layers[e.to as usize] as usize - 1;
                skips.push((k, skips.len() as u16, in_channels[gap]));
                in_channels[gap] = in_channels[gap].saturating_add(1);
            }
        }
        // Too many lanes or channels for the screen (and for u16 arithmetic): no graph.
        if skips.len() >= usize::from(max_height) {
            return None;
        }
        let gaps: Vec<u16> = (0..columns - 1)
            .map(|l| {
                let k = out_channels[l].saturating_add(in_channels[l]);
                MIN_GAP.max(k.saturating_mul(2).saturating_add(3))
            })
            .collect();
        let gaps_w = gaps.iter().map(|&g| u32::from(g)).sum::<u32>();
        if gaps_w >= u32::from(width) {
            return None;
        }
        let gaps_w = gaps_w as u16;
        let widest = (0..n)
            .map(|i| {
                let name = safe(&view.names[i]).chars().count();
                let node = &map.nodes[i];
                let mut counts = counted(node.spans, "span").len();
                if node.errors > 0 {
                    counts += format!(" {} err", grouped(node.errors)).len();
                }
                name.max(counts) as u16
            })
            .max()
            .unwrap_or(0);
        let room = width.saturating_sub(gaps_w) / columns as u16;
        let inner = widest
            .clamp(MIN_INNER, MAX_INNER)
            .min(room.saturating_sub(4));
        if inner < MIN_INNER {
            return None;
        }
        let box_w = inner + 4;

        let tallest = tallest as u16;
        let column_h = |k: u16| k * BOX_H + k.saturating_sub(1) * ROW_GAP;
        let boxes_h = column_h(tallest);
        let height = if skips.is_empty() {
            boxes_h
        } else {
            boxes_h + 1 + skips.len() as u16
        };
        let mut pos = vec![(0, 0); n];
        let mut channel = vec![0; n];
        let mut col_x = Vec::with_capacity(columns);
        let mut x = 0;
        for (l, col) in cols.iter().enumerate() {
            col_x.push(x);
            let top = (boxes_h - column_h(col.len() as u16)) / 2;
            let mut j = 0;
            for (k, &v) in col.iter().enumerate() {
                pos[v] = (x, top + k as u16 * (BOX_H + ROW_GAP));
                if callers[v] {
                    channel[v] = x + box_w + 1 + 2 * j;
                    j += 1;
                }
            }
            x += box_w + gaps.get(l).copied().unwrap_or(0);
        }
        let mut skip = vec![None; map.edges.len()];
        for (k, lane, m) in skips {
            let gap = layers[map.edges[k].to as usize] as usize - 1;
            let ch = col_x[gap] + box_w + 1 + 2 * (out_channels[gap] + m);
            skip[k] = Some((boxes_h + 1 + lane, ch));
        }
        Some(Self {
            box_w,
            pos,
            channel,
            drawn,
            skip,
            width: x,
            height,
        })
    }
}

const UP: u8 = 1;
const DOWN: u8 = 2;
const LEFT: u8 = 4;
const RIGHT: u8 = 8;
const ARROW: u8 = 16;
const HIGHLIGHT: u8 = 32;

/// Lines drawn cell by cell, each cell knowing which way its lines go, so crossings and
/// corners get the right box-drawing character.
struct Canvas {
    width: u16,
    cells: Vec<u8>,
}

impl Canvas {
    fn new(width: u16, height: u16) -> Self {
        Self {
            width,
            cells: vec![0; usize::from(width) * usize::from(height)],
        }
    }

    fn set(&mut self, x: u16, y: u16, bits: u8) {
        let i = usize::from(y) * usize::from(self.width) + usize::from(x);
        if let Some(c) = self.cells.get_mut(i) {
            *c |= bits;
        }
    }

    /// A line from `x1` to `x2` (either way) on row `y`.
    fn hline(&mut self, x1: u16, x2: u16, y: u16, hl: bool) {
        let (a, b) = (x1.min(x2), x1.max(x2));
        let hl = if hl { HIGHLIGHT } else { 0 };
        for x in a..=b {
            let mut bits = hl;
            if x > a {
                bits |= LEFT;
            }
            if x < b {
                bits |= RIGHT;
            }
            self.set(x, y, bits);
        }
    }

    /// A line from `y1` to `y2` (either way) in column `x`.
    fn vline(&mut self, x: u16, y1: u16, y2: u16, hl: bool) {
        let (a, b) = (y1.min(y2), y1.max(y2));
        let hl = if hl { HIGHLIGHT } else { 0 };
        for y in a..=b {
            let mut bits = hl;
            if y > a {
                bits |= UP;
            }
            if y < b {
                bits |= DOWN;
            }
            self.set(x, y, bits);
        }
    }

    fn arrow(&mut self, x: u16, y: u16, hl: bool) {
        self.set(x, y, ARROW | if hl { HIGHLIGHT } else { 0 });
    }

    fn render(&self, area: Rect, buf: &mut Buffer) {
        for (i, &c) in self.cells.iter().enumerate() {
            if c & !HIGHLIGHT == 0 {
                continue;
            }
            let x = area.x + (i % usize::from(self.width)) as u16;
            let y = area.y + (i / usize::from(self.width)) as u16;
            if x >= area.x + area.width || y >= area.y + area.height {
                continue;
            }
            let style = if c & HIGHLIGHT != 0 {
                LINE_SELECTED
            } else {
                LINE
            };
            buf[(x, y)].set_symbol(glyph(c)).set_style(style);
        }
    }
}

/// The box-drawing character for a cell's directions.
fn glyph(c: u8) -> &'static str {
    if c & ARROW != 0 {
        return "▶";
    }
    // Indexed by UP | DOWN | LEFT | RIGHT.
    const GLYPHS: [&str; 16] = [
        " ", "│", "│", "│", "─", "┘", "┐", "┤", "─", "└", "┌", "├", "─", "┴", "┬", "┼",
    ];
    GLYPHS[usize::from(c & (UP | DOWN | LEFT | RIGHT))]
}

impl View for ServiceMapView {
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
        let height = self.table_height(cx);
        match action {
            Action::Open => return self.open_selected(),
            Action::Back => return Outcome::Back,
            Action::Rebuild => {
                let traces = self.traces_now(store);
                self.build(store, &traces);
                self.cursor.clamp(self.order.len(), self.table_height(cx));
            }
            Action::Click(x, y) => {
                let rows = self.plan(cx.layout(Shape::Full).body).rows;
                if self.cursor.click(rows, self.order.len(), *x, *y) {
                    return self.open_selected();
                }
            }
            other => {
                self.cursor.apply(other, self.order.len(), height);
            }
        }
        Outcome::Done
    }

    fn refresh(&mut self, _cx: &mut Ctx, _store: &Store, _now: Instant) -> Refresh {
        // Built on demand only (`r`): over a big store it is expensive.
        Refresh::Unchanged
    }

    fn render(&self, _cx: &Ctx, _store: &Store, areas: &Areas, buf: &mut Buffer) {
        let body = areas.body;
        let plan = self.plan(body);
        self.render_title(plan.graph.is_some(), areas.title, buf);
        if body.height == 0 {
            return;
        }
        if self.map.nodes.is_empty() {
            Paragraph::new("No spans in these traces. r builds the map again.")
                .style(DIM)
                .alignment(Alignment::Center)
                .render(body, buf);
            return;
        }
        if let Some((g, area, notes)) = &plan.graph {
            self.render_graph(g, *area, buf);
            if let Some(notes) = notes {
                self.render_notes(g, *notes, buf);
            }
        }
        if self.order.is_empty() {
            put(
                buf,
                plan.header.x,
                plan.header.y,
                " No calls between services.",
                plan.header.width,
                DIM,
            );
            return;
        }
        self.render_table(plan.header, plan.rows, buf);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
