//! One module per view, each owning its state, its keys and its drawing.
//!
//! Traces: `trace_list` → `trace_view` (tree, waterfall, span detail pane and full screen,
//! `span_detail` builds the detail's lines). Logs: `log_list` (all records, or one trace's) →
//! `log_detail`. Metrics: `metric_list` → `metric_chart`.

pub mod log_detail;
pub mod log_list;
pub mod metric_chart;
pub mod metric_list;
pub mod span_detail;
pub mod trace_list;
pub mod trace_view;

pub use log_detail::LogDetail;
pub use log_list::LogList;
pub use metric_chart::MetricChart;
pub use metric_list::MetricList;
pub use trace_list::TraceList;
pub use trace_view::TraceView;

use super::keymap::Binding;

/// Every view's key table, for the help overlay.
pub static KEY_TABLES: &[(&str, &[Binding])] = &[
    (trace_list::HELP_TITLE, trace_list::KEYS),
    (trace_view::HELP_TITLE, trace_view::KEYS),
    (trace_view::DETAIL_HELP_TITLE, trace_view::DETAIL_KEYS),
    (log_list::HELP_TITLE, log_list::KEYS),
    (log_detail::HELP_TITLE, log_detail::KEYS),
    (metric_list::HELP_TITLE, metric_list::KEYS),
    (metric_chart::HELP_TITLE, metric_chart::KEYS),
];
