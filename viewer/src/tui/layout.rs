//! Where everything goes on the screen: computed from the terminal's size and the shape of the
//! view shown, below both the views' state and their drawing, and shared by drawing and by mouse
//! handling.

use ratatui::layout::{Constraint, Layout, Rect};

/// The regions a view draws into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A title, a column header and rows.
    List,
    /// A chart over a column header and rows (the chart only when the terminal is tall
    /// enough).
    ChartList,
    /// A title, a header and rows over a detail pane (when the terminal is tall enough).
    Split,
    /// A title and a body.
    Full,
}

/// The screen's regions. Zero-sized where a region does not apply or does not fit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    /// The tab strip (Traces, Logs, Metrics), at the left of the top row.
    pub tabs: Rect,
    /// The rest of the top row.
    pub title: Rect,
    /// A chart above the list (`ChartList`).
    pub chart: Rect,
    pub header: Rect,
    pub body: Rect,
    pub detail: Rect,
    pub status: Rect,
}

/// Width of the tab strip.
pub const TABS_WIDTH: u16 = 24;
/// Rows a terminal needs for the chart over a list, and the chart's rows.
pub const CHART_MIN_ROWS: u16 = 20;
pub const CHART_ROWS: u16 = 8;
/// Rows a terminal needs for the split shape's detail pane.
pub const DETAIL_PANE_MIN_ROWS: u16 = 16;

#[must_use]
pub fn layout(area: Rect, shape: Shape) -> Areas {
    let [top, rest, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    // The tabs only where they leave room for a title.
    let tabs_w = if top.width >= 2 * TABS_WIDTH {
        TABS_WIDTH
    } else {
        0
    };
    let [tabs, title] =
        Layout::horizontal([Constraint::Length(tabs_w), Constraint::Min(0)]).areas(top);
    let mut areas = Areas {
        tabs,
        title,
        status,
        ..Areas::default()
    };
    match shape {
        Shape::ChartList => {
            // At most a quarter of the rows, so the list keeps most of a small terminal.
            let chart_h = if area.height >= CHART_MIN_ROWS {
                CHART_ROWS.min(area.height / 4)
            } else {
                0
            };
            let [chart, header, body] = Layout::vertical([
                Constraint::Length(chart_h),
                Constraint::Length(1),
                Constraint::Min(0),
            ])
            .areas(rest);
            areas.chart = chart;
            areas.header = header;
            areas.body = body;
        }
        Shape::List => {
            let [header, body] =
                Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(rest);
            areas.header = header;
            areas.body = body;
        }
        Shape::Split => {
            let (top, detail) = if area.height >= DETAIL_PANE_MIN_ROWS {
                let [top, detail] =
                    Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)])
                        .areas(rest);
                (top, detail)
            } else {
                (rest, Rect::default())
            };
            let [header, body] =
                Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(top);
            areas.header = header;
            areas.body = body;
            areas.detail = detail;
        }
        Shape::Full => areas.body = rest,
    }
    areas
}

/// The row of `body` a click at `(x, y)` falls on, if it falls inside.
#[must_use]
pub fn row_at(body: Rect, x: u16, y: u16) -> Option<usize> {
    let inside = x >= body.x && x < body.x + body.width && y >= body.y && y < body.y + body.height;
    inside.then(|| (y - body.y) as usize)
}
