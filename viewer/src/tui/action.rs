//! Everything the user can ask for. Keys and mouse events resolve to an [`Action`] in
//! [`super::keymap`] (common keys) and in each view's own key table; the app routes it to the
//! view shown.

use super::input::Edit;
use super::view::Tab;

/// A user intent, independent of the key that asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Leave the program.
    Quit,
    /// Move the selection (or scroll a detail) one row up.
    Up,
    /// Move the selection (or scroll a detail) one row down.
    Down,
    /// Move one page up.
    PageUp,
    /// Move one page down.
    PageDown,
    /// Jump to the first row.
    Top,
    /// Jump to the last row.
    Bottom,
    /// Open what is selected: a trace, a span's or a log's full detail, a metric's chart, an
    /// exemplar's trace.
    Open,
    /// Go back one view; in a list, clear its filter.
    Back,
    /// Show the next tab (Traces, Logs, Metrics).
    NextTab,
    /// Show the previous tab.
    PrevTab,
    /// Show a given tab.
    GoTab(Tab),
    /// Toggle between following new data live and pausing, so rows stay put.
    ToggleFollow,
    /// Cycle the sort order: the trace list's (time, duration, span count) or the sorted
    /// column of the statistics.
    CycleSort,
    /// Show or hide the chart above a list (the trace list's latency scatter).
    ToggleChart,
    /// On the trace list: search the Jaeger backend (`--jaeger`) with the list's filter.
    SearchJaeger,
    /// Start typing a filter (or, in a trace, a find).
    StartFilter,
    /// Edit the line being typed: insert a character, delete, move the cursor, cut, yank.
    Edit(Edit),
    /// Complete the field name or attribute key being typed in the filter.
    FilterComplete,
    /// Walk the history of applied filters: older (`true`) or newer.
    FilterHistory(bool),
    /// Apply the typed filter.
    FilterApply,
    /// Stop typing, keeping the filter that was applied before.
    FilterCancel,
    /// The text a view was given by the filter line (`None`: cleared). Sent by the app.
    Apply(Option<String>),
    /// In a trace: select the next span matching the find text.
    FindNext,
    /// In a trace: select the previous span matching the find text.
    FindPrev,
    /// In a filtered trace: hide the spans that neither match nor lead to a match, or dim them.
    ToggleHideUnmatched,
    /// In a trace: highlight the critical path (what the end-to-end duration waits on).
    ToggleCritical,
    /// In a trace: show or hide the self-time column.
    ToggleSelfTime,
    /// In a trace: fold runs of repeated sibling spans into one `×N` row, or unfold them all.
    ToggleRuns,
    /// In a trace: select the next span with an error status.
    NextError,
    /// Collapse or expand the selected span's subtree.
    ToggleCollapse,
    /// Collapse the selected subtree, or go to the parent if already collapsed.
    Collapse,
    /// Expand the selected subtree.
    Expand,
    /// Collapse every span that has children.
    CollapseAll,
    /// Expand every span.
    ExpandAll,
    /// In a trace: list the trace's log records in time order.
    ShowLogs,
    /// On a log record: open its trace at its span.
    OpenTrace,
    /// In the log list: raise the minimum severity shown (wrapping back to all).
    CycleSeverity,
    /// In a chart: rate per second or the raw value (monotonic sums).
    ToggleRate,
    /// In a chart: show or hide the selected series.
    ToggleSeries,
    /// In a chart: show every series again.
    ShowAllSeries,
    /// In a chart: select the next exemplar (Enter opens its trace).
    NextExemplar,
    /// In a trace: statistics of its spans per (service, span name).
    ShowStats,
    /// In the statistics: reverse the sort order.
    Reverse,
    /// Mark the selected (or open) trace as the first of a comparison.
    MarkCompare,
    /// Compare the marked trace with the selected (or open) one.
    Compare,
    /// In the trace list: the service map of the traces it shows.
    ServiceMap,
    /// In the service map: build it again from the traces held now.
    Rebuild,
    /// In a trace: copy the selected span to the clipboard, as text.
    CopySpan,
    /// In a trace: copy the whole trace to the clipboard, as the text tree.
    CopyTrace,
    /// In a trace: copy the whole trace to the clipboard, as one line of OTLP JSON.
    CopyTraceJson,
    /// Write traces to a file (OTLP JSON lines), named in a prompt: in a trace, that trace; in
    /// the trace list, the traces it shows.
    Save,
    /// Show or hide the help overlay.
    ToggleHelp,
    /// Mouse click at a terminal cell (column, row): select, or open if already selected.
    Click(u16, u16),
    /// Mouse wheel up.
    ScrollUp,
    /// Mouse wheel down.
    ScrollDown,
    /// The terminal changed size (columns, rows).
    Resize(u16, u16),
}
