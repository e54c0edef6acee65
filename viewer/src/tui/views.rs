//! One module per view, each owning its state, its keys and its drawing.
//!
//! Traces: `trace_list` → `trace_view` (tree, waterfall, span detail pane and full screen,
//! `span_detail` builds the detail's lines). Logs: `log_list` (all records, or one trace's) →
//! `log_detail`. Metrics: `metric_list` → `metric_chart`.

pub mod compare;
pub mod log_detail;
pub mod log_list;
pub mod metric_chart;
pub mod metric_list;
pub mod service_map;
pub mod span_detail;
pub mod trace_list;
pub mod trace_stats;
pub mod trace_view;

pub use compare::CompareView;
pub use log_detail::LogDetail;
pub use log_list::LogList;
pub use metric_chart::MetricChart;
pub use metric_list::MetricList;
pub use service_map::ServiceMapView;
pub use trace_list::TraceList;
pub use trace_stats::TraceStats;
pub use trace_view::TraceView;

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::keymap::Binding;
use super::theme::{DIM, TITLE};
use super::view::Ctx;

/// Every view's key table, for the help overlay.
pub static KEY_TABLES: &[(&str, &[Binding])] = &[
    (trace_list::HELP_TITLE, trace_list::KEYS),
    (trace_view::HELP_TITLE, trace_view::KEYS),
    (trace_view::DETAIL_HELP_TITLE, trace_view::DETAIL_KEYS),
    (log_list::HELP_TITLE, log_list::KEYS),
    (log_detail::HELP_TITLE, log_detail::KEYS),
    (metric_list::HELP_TITLE, metric_list::KEYS),
    (metric_chart::HELP_TITLE, metric_chart::KEYS),
    (trace_stats::HELP_TITLE, trace_stats::KEYS),
    (compare::HELP_TITLE, compare::KEYS),
    (service_map::HELP_TITLE, service_map::KEYS),
];

/// What a list shows before anything arrived: what it waits for, and how to send it.
pub struct Empty<'a> {
    pub waiting: &'a str,
    pub sdk: &'a str,
    /// The line under the endpoint: the transport, the HTTP address.
    pub transport: String,
    pub demos: &'a str,
    pub footer: &'a str,
}

/// Draws an [`Empty`] state, centred.
pub fn render_empty(cx: &Ctx, e: Empty<'_>, area: Rect, buf: &mut Buffer) {
    let lines = vec![
        Line::styled(e.waiting.to_owned(), TITLE),
        Line::raw(""),
        Line::raw(e.sdk.to_owned()),
        Line::styled(
            format!("OTEL_EXPORTER_OTLP_ENDPOINT=http://{}", cx.grpc_addr),
            Style::new().fg(Color::Cyan),
        ),
        Line::raw(e.transport),
        Line::raw(""),
        Line::raw(e.demos.to_owned()),
        Line::styled(e.footer.to_owned(), DIM),
    ];
    let top = area.height.saturating_sub(lines.len() as u16) / 2;
    let area = Rect::new(area.x, area.y + top, area.width, area.height - top);
    Paragraph::new(lines)
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true })
        .render(area, buf);
}
