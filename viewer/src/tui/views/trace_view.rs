//! The trace view: the span tree with indentation guides beside a waterfall on a time axis,
//! the selected span's detail below (or full screen), find, next error, and the trace's logs.

use std::any::Any;
use std::time::Instant;

use crossterm::event::KeyCode;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget};
use rustc_hash::FxHashSet;

use super::{LogList, span_detail};
use crate::analysis::{self, NONE, Run, Segment};
use crate::format::{self, safe};
use crate::model::{Span, SpanId, TraceId};
use crate::query::{Signal, SpanFilter};
use crate::store::tree::{TopKind, Tree};
use crate::store::{Store, Trace, TraceRef};
use crate::tui::action::Action;
use crate::tui::cursor::{Cursor, Scroll};
use crate::tui::keymap::Binding;
use crate::tui::layout::{Areas, Shape};
use crate::tui::theme::{DIM, ERROR, HEADER, TITLE, put, put_cut, select_row, service_color};
use crate::tui::view::{Ctx, Outcome, Refresh, SaveTo, View};
use crate::tui::{clipboard, save};

/// Deeper than this, a row shows its depth as a number instead of drawing every guide.
const MAX_GUIDES: u32 = 24;
const DURATION_W: u16 = 10;
/// Marks a span that has log records.
const LOG_MARK: &str = " ≡";
const LOG_STYLE: Style = Style::new().fg(Color::Yellow);
const SELF_W: u16 = 10;
/// Runs of at least this many repeated siblings are folded into one row.
pub const MIN_RUN: usize = 3;
/// The critical path on the waterfall, over the dimmed bars.
const CRITICAL: Style = Style::new().fg(Color::White);
const RUN_STYLE: Style = Style::new().fg(Color::Magenta);

pub const HELP_TITLE: &str = "Trace";
pub static KEYS: &[Binding] = &[
    Binding {
        codes: &[KeyCode::Enter, KeyCode::Char('d')],
        action: Action::Open,
        keys: "Enter d",
        what: "span detail, full screen",
    },
    Binding {
        codes: &[KeyCode::Char(' ')],
        action: Action::ToggleCollapse,
        keys: "Space",
        what: "collapse / expand the subtree",
    },
    Binding {
        codes: &[KeyCode::Char('h'), KeyCode::Left],
        action: Action::Collapse,
        keys: "h ←  l →",
        what: "collapse (or go to parent) / expand",
    },
    Binding {
        codes: &[KeyCode::Char('l'), KeyCode::Right],
        action: Action::Expand,
        keys: "",
        what: "",
    },
    Binding {
        codes: &[KeyCode::Char('-')],
        action: Action::CollapseAll,
        keys: "- +",
        what: "collapse all / expand all",
    },
    Binding {
        codes: &[KeyCode::Char('+'), KeyCode::Char('=')],
        action: Action::ExpandAll,
        keys: "",
        what: "",
    },
    Binding {
        codes: &[KeyCode::Char('/')],
        action: Action::StartFilter,
        keys: "/",
        what: "filter spans: words or a query; ancestors of matches stay",
    },
    Binding {
        codes: &[KeyCode::Char('H')],
        action: Action::ToggleHideUnmatched,
        keys: "H",
        what: "filtered: hide the other spans / dim them",
    },
    Binding {
        codes: &[KeyCode::Char('n')],
        action: Action::FindNext,
        keys: "n N",
        what: "next / previous matching span",
    },
    Binding {
        codes: &[KeyCode::Char('N')],
        action: Action::FindPrev,
        keys: "",
        what: "",
    },
    Binding {
        codes: &[KeyCode::Char('c')],
        action: Action::ToggleCritical,
        keys: "c",
        what: "critical path: what the trace's duration waits on",
    },
    Binding {
        codes: &[KeyCode::Char('T')],
        action: Action::ToggleSelfTime,
        keys: "T",
        what: "self-time column (time no child covers)",
    },
    Binding {
        codes: &[KeyCode::Char('x')],
        action: Action::ToggleRuns,
        keys: "x",
        what: "fold / unfold repeated calls (×N rows; Space unfolds one)",
    },
    Binding {
        codes: &[KeyCode::Char('e')],
        action: Action::NextError,
        keys: "e",
        what: "next span with an error",
    },
    Binding {
        codes: &[KeyCode::Char('L')],
        action: Action::ShowLogs,
        keys: "L",
        what: "the trace's logs in time order (≡: the span has logs)",
    },
    Binding {
        codes: &[KeyCode::Char('s')],
        action: Action::ShowStats,
        keys: "s",
        what: "statistics per service and span name",
    },
    Binding {
        codes: &[KeyCode::Char('m')],
        action: Action::MarkCompare,
        keys: "m C",
        what: "mark for compare / compare the marked trace with it",
    },
    Binding {
        codes: &[KeyCode::Char('C')],
        action: Action::Compare,
        keys: "",
        what: "",
    },
    Binding {
        codes: &[KeyCode::Char('y')],
        action: Action::CopySpan,
        keys: "y Y",
        what: "copy the span / the trace as text (clipboard, OSC 52)",
    },
    Binding {
        codes: &[KeyCode::Char('Y')],
        action: Action::CopyTrace,
        keys: "",
        what: "",
    },
    Binding {
        codes: &[KeyCode::Char('J')],
        action: Action::CopyTraceJson,
        keys: "J",
        what: "copy the trace as OTLP JSON",
    },
    Binding {
        codes: &[KeyCode::Char('w')],
        action: Action::Save,
        keys: "w",
        what: "write the trace to a file (OTLP JSON lines)",
    },
];

pub const DETAIL_HELP_TITLE: &str = "Span detail";
pub static DETAIL_KEYS: &[Binding] = &[
    Binding {
        codes: &[KeyCode::Char('L')],
        action: Action::ShowLogs,
        keys: "L",
        what: "the trace's logs (j k PgDn PgUp g G scroll)",
    },
    Binding {
        codes: &[KeyCode::Char('y')],
        action: Action::CopySpan,
        keys: "y Y J w",
        what: "copy the span, the trace as text / as JSON; write to a file",
    },
    Binding {
        codes: &[KeyCode::Char('Y')],
        action: Action::CopyTrace,
        keys: "",
        what: "",
    },
    Binding {
        codes: &[KeyCode::Char('J')],
        action: Action::CopyTraceJson,
        keys: "",
        what: "",
    },
    Binding {
        codes: &[KeyCode::Char('w')],
        action: Action::Save,
        keys: "",
        what: "",
    },
];

/// The open trace's state.
#[derive(Debug)]
pub struct TraceView {
    pub trace: TraceRef,
    pub trace_id: TraceId,
    pub version: u32,
    pub tree: Tree,
    /// Span ids whose subtrees are hidden.
    pub collapsed: FxHashSet<u64>,
    /// Indices into `tree.rows` of the rows shown.
    pub visible: Vec<u32>,
    pub cursor: Cursor,
    /// The selected span's detail is shown full screen.
    pub full_detail: bool,
    pub detail_scroll: Scroll,
    /// The query spans are filtered by (`/`, then `n`/`N` between matches).
    pub find: Option<String>,
    /// Per span (index into the trace's spans): whether it matches `find`; empty when no
    /// filter is applied.
    pub matched: Vec<bool>,
    /// With a filter: spans that neither match nor lead to a match are hidden (else dimmed).
    pub hide_unmatched: bool,
    /// The filter came with the trace from a filtered list: Esc goes straight back to it.
    filter_from_list: bool,
    /// How many log records the trace had when last refreshed (they mark its spans).
    logs_seen: usize,
    /// What was computed about the trace, with its tree.
    pub analysis: TraceAnalysis,
    /// The critical path is highlighted (`c`).
    pub show_critical: bool,
    /// The self-time column is shown (`T`).
    pub show_self: bool,
    /// Runs of [`MIN_RUN`] or more repeated siblings show as one `×N` row (`x`), except those
    /// unfolded (by their first span's id).
    pub fold_runs: bool,
    pub unfolded: FxHashSet<u64>,
}

/// A trace's critical path, self times and runs of repeated calls.
#[derive(Debug, Default)]
pub struct TraceAnalysis {
    /// Critical path segments ordered by span, then start.
    pub critical: Vec<Segment>,
    /// Per span: nanoseconds on the critical path.
    pub on_path: Vec<u64>,
    /// Per span: self time.
    pub self_ns: Vec<u64>,
    pub runs: Vec<Run>,
    /// Per tree row: its run's index, or `NONE`.
    pub run_of_row: Vec<u32>,
}

impl TraceAnalysis {
    fn of(store: &Store, spans: &[Span], tree: &Tree) -> Self {
        let mut critical = analysis::critical_path(spans, tree);
        let on_path = analysis::on_critical_path(&critical, spans.len());
        critical.sort_by_key(|s| (s.span, s.start));
        let runs = analysis::runs(spans, tree, |s| store.resource(s.resource).service);
        let run_of_row = analysis::run_of_row(&runs, tree.rows.len());
        Self {
            critical,
            on_path,
            self_ns: analysis::self_time(spans, tree),
            runs,
            run_of_row,
        }
    }

    /// The critical path's pieces of one span.
    fn segments_of(&self, span: u32) -> &[Segment] {
        let from = self.critical.partition_point(|s| s.span < span);
        let to = self.critical.partition_point(|s| s.span <= span);
        &self.critical[from..to]
    }

    /// The total length of the critical path.
    #[must_use]
    pub fn critical_total(&self) -> u64 {
        self.critical.iter().map(Segment::duration).sum()
    }
}

impl TraceView {
    /// The view of a stored trace, its root selected.
    #[must_use]
    pub fn new(store: &Store, trace: TraceRef) -> Option<Self> {
        let t = store.trace(trace)?;
        let tree = Tree::build(t.spans());
        let analysis = TraceAnalysis::of(store, t.spans(), &tree);
        let mut view = Self {
            trace,
            trace_id: t.id,
            version: t.version,
            tree,
            collapsed: FxHashSet::default(),
            visible: Vec::new(),
            cursor: Cursor::default(),
            full_detail: false,
            detail_scroll: Scroll::default(),
            find: None,
            matched: Vec::new(),
            hide_unmatched: true,
            filter_from_list: false,
            logs_seen: store.logs.count_of_trace(t.id),
            analysis,
            show_critical: false,
            show_self: false,
            // Off until asked for (`x`): nothing the user looks for is hidden unasked.
            fold_runs: false,
            unfolded: FxHashSet::default(),
        };
        view.recompute_visible(store);
        Some(view)
    }

    /// Applies a filter with the other spans dimmed (not hidden), the first match selected: how
    /// a trace opens from a filtered list.
    pub fn show_matches(&mut self, cx: &mut Ctx, store: &Store, query: &str) {
        self.hide_unmatched = false;
        let _ = self.update_tree(cx, store, &Action::Apply(Some(query.to_owned())));
        self.filter_from_list = self.find.is_some();
    }

    /// The view of a trace by id with a span selected (its ancestors expanded), if held.
    #[must_use]
    pub fn at_span(cx: &Ctx, store: &Store, trace: TraceId, span: SpanId) -> Option<Self> {
        let mut view = Self::new(store, store.find(trace)?)?;
        if span != 0 {
            view.select_next(store, true, true, |_, s| s.span_id == span);
            view.cursor.clamp(view.visible.len(), Self::height(cx));
        }
        Some(view)
    }

    fn height(cx: &Ctx) -> usize {
        cx.layout(Shape::Split).body.height as usize
    }

    fn recompute_visible(&mut self, store: &Store) {
        let Some(t) = store.trace(self.trace) else {
            return;
        };
        let spans = t.spans();
        let collapsed = &self.collapsed;
        self.visible = self
            .tree
            .visible(|r| collapsed.contains(&spans[r.span as usize].span_id));
        if self.hide_unmatched && !self.matched.is_empty() {
            let keep = self.leads_to_match();
            self.visible.retain(|&r| keep[r as usize]);
        } else if self.fold_runs {
            // A folded run shows as its first row; the others and every subtree under the run
            // are left out.
            let mut until = 0u32;
            let mut out = Vec::with_capacity(self.visible.len());
            for &r in &self.visible {
                if r < until {
                    continue;
                }
                out.push(r);
                if let Some(run) = self.folded_run_at(spans, r as usize) {
                    until = run.end_row(&self.tree);
                }
            }
            self.visible = out;
        }
    }

    /// The run folded into row `row`, when that row is a folded run's first.
    #[must_use]
    pub fn folded_run_at(&self, spans: &[Span], row: usize) -> Option<&Run> {
        if !self.fold_runs || (self.hide_unmatched && !self.matched.is_empty()) {
            return None;
        }
        let i = *self.analysis.run_of_row.get(row)?;
        let run = self.analysis.runs.get(i as usize).filter(|_| i != NONE)?;
        let first = spans.get(self.tree.rows[row].span as usize)?;
        (run.first_row() as usize == row
            && run.len() >= MIN_RUN
            && !self.unfolded.contains(&first.span_id))
        .then_some(run)
    }

    /// Per tree row: whether its span or one below it matches the filter.
    fn leads_to_match(&self) -> Vec<bool> {
        let rows = &self.tree.rows;
        let mut keep: Vec<bool> = rows
            .iter()
            .map(|r| self.matched.get(r.span as usize).copied().unwrap_or(false))
            .collect();
        // Children come after their parents in the walk: one backward pass carries every
        // match up to its ancestors.
        for i in (0..rows.len()).rev() {
            let p = rows[i].parent_row;
            if keep[i] && p != u32::MAX {
                keep[p as usize] = true;
            }
        }
        keep
    }

    /// Matches the filter against every span again (after new spans arrive).
    fn rematch(&mut self, store: &Store) {
        let Some(text) = &self.find else {
            self.matched.clear();
            return;
        };
        let Some(t) = store.trace(self.trace) else {
            return;
        };
        self.matched = match SpanFilter::parse(text, store) {
            Ok(Some(f)) => t
                .spans()
                .iter()
                .map(|s| f.matches_span(store, t, s))
                .collect(),
            _ => Vec::new(),
        };
    }

    /// A span's self time and time on the critical path.
    #[must_use]
    pub fn timing(&self, span: usize) -> span_detail::Timing {
        span_detail::Timing {
            self_ns: self.analysis.self_ns.get(span).copied().unwrap_or(0),
            critical_ns: self.analysis.on_path.get(span).copied().unwrap_or(0),
        }
    }

    /// Whether a span (index into the trace's spans) is dimmed by the filter.
    #[must_use]
    pub fn dimmed(&self, span: usize) -> bool {
        !self.matched.is_empty() && !self.matched.get(span).copied().unwrap_or(false)
    }

    /// Selects the next (or previous) row, in tree order and wrapping around, whose span
    /// satisfies `pred`, expanding collapsed ancestors so it shows. Returns whether one did.
    fn select_next(
        &mut self,
        store: &Store,
        forward: bool,
        include_current: bool,
        pred: impl Fn(usize, &Span) -> bool,
    ) -> bool {
        let Some(t) = store.trace(self.trace) else {
            return false;
        };
        let spans = t.spans();
        let n = self.tree.rows.len();
        if n == 0 {
            return false;
        }
        let cur = self.selected_row().unwrap_or(0);
        let found = (0..n).map(|k| {
            let step = if include_current { k } else { k + 1 };
            if forward {
                (cur + step) % n
            } else {
                (cur + n * 2 - step) % n
            }
        });
        let Some(row) = found.into_iter().find(|&i| {
            let s = self.tree.rows[i].span as usize;
            pred(s, &spans[s])
        }) else {
            return false;
        };
        let mut p = self.tree.rows[row].parent_row;
        while p != u32::MAX {
            let r = &self.tree.rows[p as usize];
            self.collapsed.remove(&spans[r.span as usize].span_id);
            p = r.parent_row;
        }
        let id = spans[self.tree.rows[row].span as usize].span_id;
        self.unfold_around(spans, row);
        self.recompute_visible(store);
        self.select_span(store, id);
        true
    }

    /// Unfolds every folded run that hides tree row `row` (a run it belongs to, or one over
    /// its ancestors), so a jump to it lands on it.
    fn unfold_around(&mut self, spans: &[Span], row: usize) {
        if !self.fold_runs {
            return;
        }
        let row = row as u32;
        for run in &self.analysis.runs {
            let first = run.first_row();
            if run.len() >= MIN_RUN && first < row && row < run.end_row(&self.tree) {
                let first_span = self.tree.rows[first as usize].span as usize;
                if let Some(s) = spans.get(first_span) {
                    self.unfolded.insert(s.span_id);
                }
            }
        }
    }

    fn select_span(&mut self, store: &Store, span_id: u64) {
        let Some(t) = store.trace(self.trace) else {
            return;
        };
        if let Some(pos) = self
            .visible
            .iter()
            .position(|&r| t.spans()[self.tree.rows[r as usize].span as usize].span_id == span_id)
        {
            self.cursor.selected = pos;
        }
    }

    /// The selected row's index into `tree.rows`.
    #[must_use]
    pub fn selected_row(&self) -> Option<usize> {
        self.visible.get(self.cursor.selected).map(|&i| i as usize)
    }

    /// The selected span's index into the trace's spans.
    #[must_use]
    pub fn selected_span(&self) -> Option<usize> {
        self.selected_row().map(|r| self.tree.rows[r].span as usize)
    }

    /// Moves to the next (or previous) span matching the filter.
    fn find(&mut self, cx: &mut Ctx, store: &Store, forward: bool, include_current: bool) {
        let Some(text) = self.find.clone() else {
            return;
        };
        // A copy: moving to a match recomputes the rows, which reads the matches.
        let matched = self.matched.clone();
        let found = self.select_next(store, forward, include_current, |i, _| {
            matched.get(i).copied().unwrap_or(false)
        });
        if found {
            self.cursor.clamp(self.visible.len(), Self::height(cx));
        } else {
            cx.notice = Some(format!("no span matches {:?}", crate::format::safe(&text)));
        }
    }

    fn update_tree(&mut self, cx: &mut Ctx, store: &Store, action: &Action) -> Outcome {
        let height = Self::height(cx);
        match action {
            Action::FindNext => self.find(cx, store, true, false),
            Action::FindPrev => self.find(cx, store, false, false),
            Action::ShowStats => {
                return Outcome::Open(Box::new(super::TraceStats::new(store, self.trace)));
            }
            Action::MarkCompare => return super::compare::mark(cx, store, self.trace),
            Action::Compare => return super::compare::open(cx, store, self.trace),
            Action::Apply(text) => {
                self.filter_from_list = false;
                let selected = self
                    .selected_span()
                    .and_then(|i| store.trace(self.trace).map(|t| t.spans()[i].span_id));
                self.find.clone_from(text);
                self.rematch(store);
                if self.find.is_some() && !self.matched.contains(&true) {
                    cx.notice = Some(format!(
                        "no span matches {:?}",
                        crate::format::safe(self.find.as_deref().unwrap_or(""))
                    ));
                    self.find = None;
                    self.matched.clear();
                }
                self.recompute_visible(store);
                self.cursor = Cursor::default();
                if let Some(id) = selected {
                    self.select_span(store, id);
                }
                if self.find.is_some() {
                    self.find(cx, store, true, true);
                }
                self.cursor.clamp(self.visible.len(), height);
            }
            Action::ToggleCritical => {
                self.show_critical = !self.show_critical;
                if self.show_critical {
                    cx.notice = Some(format!(
                        "critical path: {} of the trace's {} (bright on the waterfall)",
                        format::duration(self.analysis.critical_total()),
                        store
                            .trace(self.trace)
                            .map_or_else(String::new, |t| format::duration(t.duration()))
                    ));
                }
            }
            Action::ToggleSelfTime => self.show_self = !self.show_self,
            Action::ToggleRuns => {
                let selected = self
                    .selected_span()
                    .and_then(|i| store.trace(self.trace).map(|t| t.spans()[i].span_id));
                self.fold_runs = !self.fold_runs;
                self.unfolded.clear();
                self.recompute_visible(store);
                self.cursor = Cursor::default();
                if let Some(id) = selected {
                    self.select_span(store, id);
                }
                self.cursor.clamp(self.visible.len(), height);
            }
            Action::ToggleHideUnmatched => {
                if self.matched.is_empty() {
                    cx.notice = Some("no filter: / filters the spans".into());
                    return Outcome::Done;
                }
                let selected = self
                    .selected_span()
                    .and_then(|i| store.trace(self.trace).map(|t| t.spans()[i].span_id));
                self.hide_unmatched = !self.hide_unmatched;
                self.recompute_visible(store);
                if let Some(id) = selected {
                    self.select_span(store, id);
                }
                self.cursor.clamp(self.visible.len(), height);
            }
            Action::NextError => {
                if self.select_next(store, true, false, |_, s| s.is_error()) {
                    self.cursor.clamp(self.visible.len(), height);
                } else {
                    cx.notice = Some("no span has an error status".into());
                }
            }
            Action::Back => {
                if self.filter_from_list {
                    return Outcome::Back;
                }
                if self.find.take().is_some() {
                    let selected = self
                        .selected_span()
                        .and_then(|i| store.trace(self.trace).map(|t| t.spans()[i].span_id));
                    self.matched.clear();
                    self.recompute_visible(store);
                    if let Some(id) = selected {
                        self.select_span(store, id);
                    }
                    self.cursor.clamp(self.visible.len(), height);
                    return Outcome::Done;
                }
                return Outcome::Back;
            }
            Action::Open => {
                if self.selected_span().is_some() {
                    self.detail_scroll = Scroll::default();
                    self.full_detail = true;
                }
            }
            Action::ToggleCollapse | Action::Collapse | Action::Expand => {
                let Some(t) = store.trace(self.trace) else {
                    return Outcome::Done;
                };
                let Some(row_idx) = self.selected_row() else {
                    return Outcome::Done;
                };
                let row = self.tree.rows[row_idx];
                let id = t.spans()[row.span as usize].span_id;
                if matches!(action, Action::ToggleCollapse | Action::Expand)
                    && self.folded_run_at(t.spans(), row_idx).is_some()
                {
                    self.unfolded.insert(id);
                    self.recompute_visible(store);
                    self.select_span(store, id);
                    self.cursor.clamp(self.visible.len(), height);
                    return Outcome::Done;
                }
                let is_collapsed = self.collapsed.contains(&id);
                let has_children = row.has_children(row_idx);
                let mut select = id;
                match action {
                    Action::ToggleCollapse if has_children => {
                        if is_collapsed {
                            self.collapsed.remove(&id);
                        } else {
                            self.collapsed.insert(id);
                        }
                    }
                    Action::Collapse if has_children && !is_collapsed => {
                        self.collapsed.insert(id);
                    }
                    // Already collapsed or a leaf: go to the parent.
                    Action::Collapse if row.parent_row != u32::MAX => {
                        select = t.spans()[self.tree.rows[row.parent_row as usize].span as usize]
                            .span_id;
                    }
                    Action::Expand => {
                        self.collapsed.remove(&id);
                    }
                    _ => {}
                }
                self.recompute_visible(store);
                self.select_span(store, select);
                self.cursor.clamp(self.visible.len(), height);
            }
            Action::CollapseAll | Action::ExpandAll => {
                let Some(t) = store.trace(self.trace) else {
                    return Outcome::Done;
                };
                let selected = self.selected_span().map(|i| t.spans()[i].span_id);
                self.collapsed.clear();
                if *action == Action::CollapseAll {
                    for (i, row) in self.tree.rows.iter().enumerate() {
                        if row.has_children(i) {
                            self.collapsed.insert(t.spans()[row.span as usize].span_id);
                        }
                    }
                }
                self.recompute_visible(store);
                self.cursor = Cursor::default();
                if let Some(id) = selected {
                    self.select_span(store, id);
                }
                self.cursor.clamp(self.visible.len(), height);
            }
            Action::Click(x, y) => {
                if self
                    .cursor
                    .click(cx.layout(Shape::Split).body, self.visible.len(), *x, *y)
                {
                    self.detail_scroll = Scroll::default();
                    self.full_detail = true;
                }
            }
            other => {
                self.cursor.apply(other, self.visible.len(), height);
            }
        }
        Outcome::Done
    }

    fn update_detail(&mut self, cx: &Ctx, store: &Store, action: &Action) {
        if *action == Action::Back {
            self.full_detail = false;
            return;
        }
        let Some(t) = store.trace(self.trace) else {
            return;
        };
        let Some(span) = self.selected_span() else {
            return;
        };
        let height = cx.layout(Shape::Full).body.height as usize;
        let len = span_detail::lines(store, t, span, Some(self.timing(span)), usize::MAX).len();
        self.detail_scroll.apply(action, len, height);
    }

    /// `y`, `Y`, `J`: the selected span or the trace, as text or OTLP JSON, to the clipboard.
    fn copy(&self, cx: &mut Ctx, store: &Store, action: &Action) {
        let Some(t) = store.trace(self.trace) else {
            return;
        };
        let id = format::trace_id(t.id);
        let short = &id[..8];
        let spans = match t.span_count() {
            1 => "1 span".to_owned(),
            n => format!("{n} spans"),
        };
        match action {
            Action::CopySpan => {
                let Some(span) = self.selected_span() else {
                    cx.notice = Some("no span selected".into());
                    return;
                };
                let what = format!("span {} as text", safe(store.str(t.spans()[span].name)));
                clipboard::copy(cx, &what, crate::report::span_text(store, t, span));
            }
            Action::CopyTrace => {
                let what = format!("trace {short}… ({spans}) as text");
                clipboard::copy(cx, &what, crate::report::trace_text(store, t));
            }
            _ => {
                let what = format!("trace {short}… ({spans}) as OTLP JSON");
                clipboard::copy(cx, &what, crate::report::otlp::trace_json(store, t));
            }
        }
    }

    /// `w`: asks the app for a file name to write the trace to.
    fn save(&self) -> Outcome {
        Outcome::Save(SaveTo::new(
            vec![self.trace],
            format!("trace {}…", &format::trace_id(self.trace_id)[..8]),
            save::trace_file_name(self.trace_id),
        ))
    }

    /// The trace's facts, the most useful first, as many as fit: root service and span,
    /// duration, spans, errors; then the id (8 digits when narrow), the services, the logs;
    /// then a legend of the services' colours.
    fn render_title(store: &Store, trace: &Trace, area: Rect, buf: &mut Buffer) {
        let root = trace.root();
        let width = usize::from(area.width);
        let mut title = format!(
            " {}: {} · {} · {}",
            safe(store.service_of(root)),
            safe(store.str(root.name)),
            format::duration(trace.duration()),
            format::plural(trace.span_count() as u64, "span"),
        );
        if trace.errors > 0 {
            title.push_str(&format!(
                " · ✖ {}",
                format::plural(u64::from(trace.errors), "error")
            ));
        }
        let fits = |t: &str, more: &str| t.chars().count() + more.chars().count() <= width;
        let full_id = format!(" · trace {}", format::trace_id(trace.id));
        let short_id = format!(" · trace {}…", &format::trace_id(trace.id)[..8]);
        let services = format!(
            " · {}",
            format::plural(trace.services().len() as u64, "service")
        );
        let logs = store.logs.count_of_trace(trace.id);
        let logs = if logs > 0 {
            format!(" · {} (L)", format::plural(logs as u64, "log"))
        } else {
            String::new()
        };
        let rest = format!("{services}{logs}");
        let id = if fits(&title, &format!("{full_id}{rest}")) {
            full_id
        } else {
            short_id
        };
        for part in [id, rest] {
            if fits(&title, &part) {
                title.push_str(&part);
            }
        }
        let mut x = put(buf, area.x, area.y, &title, area.width, TITLE);
        // The legend: each service's colour, as in the tree and the waterfall.
        let end = area.x + area.width;
        let mut sep = " · ";
        for &service in trace.services() {
            let name = safe(store.str(service));
            let need = (sep.chars().count() + 2 + name.chars().count()) as u16;
            if x + need > end {
                break;
            }
            x = put(buf, x, area.y, sep, end - x, DIM);
            x = put(
                buf,
                x,
                area.y,
                "■ ",
                end - x,
                Style::new().fg(service_color(store.str(service))),
            );
            x = put(buf, x, area.y, &name, end - x, Style::new());
            sep = " ";
        }
    }

    fn render_full_detail(&self, store: &Store, trace: &Trace, areas: &Areas, buf: &mut Buffer) {
        let Some(span) = self.selected_span() else {
            return;
        };
        put(
            buf,
            areas.title.x,
            areas.title.y,
            " span detail · j/k scroll · L logs · Esc back",
            areas.title.width,
            TITLE,
        );
        let height = areas.body.height as usize;
        let all = span_detail::lines(store, trace, span, Some(self.timing(span)), usize::MAX);
        let max_scroll = all.len().saturating_sub(height);
        let scroll = self.detail_scroll.top.min(max_scroll);
        let shown: Vec<Line<'static>> = all.into_iter().skip(scroll).take(height).collect();
        Paragraph::new(shown).render(areas.body, buf);
    }
}

impl View for TraceView {
    fn keys(&self) -> &'static [Binding] {
        if self.full_detail { DETAIL_KEYS } else { KEYS }
    }

    fn help_title(&self) -> &'static str {
        if self.full_detail {
            DETAIL_HELP_TITLE
        } else {
            HELP_TITLE
        }
    }

    fn shape(&self) -> Shape {
        if self.full_detail {
            Shape::Full
        } else {
            Shape::Split
        }
    }

    fn filter_text(&self) -> Option<String> {
        (!self.full_detail).then(|| self.find.clone().unwrap_or_default())
    }

    fn query_signal(&self) -> Option<Signal> {
        (!self.full_detail).then_some(Signal::Traces)
    }

    fn update(&mut self, cx: &mut Ctx, store: &Store, action: &Action) -> Outcome {
        if *action == Action::ShowLogs {
            if store.logs.count_of_trace(self.trace_id) == 0 {
                cx.notice = Some("no log records carry this trace's id".into());
                return Outcome::Done;
            }
            return Outcome::Open(Box::new(LogList::new(Some(self.trace_id))));
        }
        match action {
            Action::CopySpan | Action::CopyTrace | Action::CopyTraceJson => {
                self.copy(cx, store, action);
                return Outcome::Done;
            }
            Action::Save => return self.save(),
            _ => {}
        }
        if self.full_detail {
            self.update_detail(cx, store, action);
            return Outcome::Done;
        }
        self.update_tree(cx, store, action)
    }

    fn refresh(&mut self, cx: &mut Ctx, store: &Store, _now: Instant) -> Refresh {
        match store.trace(self.trace) {
            Some(t) if t.version != self.version => {
                let selected = self.selected_span().map(|i| t.spans()[i].span_id);
                self.tree = Tree::build(t.spans());
                self.analysis = TraceAnalysis::of(store, t.spans(), &self.tree);
                self.version = t.version;
                self.rematch(store);
                self.recompute_visible(store);
                if let Some(id) = selected {
                    self.select_span(store, id);
                }
                self.cursor.clamp(self.visible.len(), Self::height(cx));
                Refresh::Changed
            }
            Some(t) => {
                // Records that arrive later mark their spans.
                let logs = store.logs.count_of_trace(t.id);
                if logs == self.logs_seen {
                    return Refresh::Unchanged;
                }
                self.logs_seen = logs;
                Refresh::Changed
            }
            None => Refresh::Gone("the open trace was evicted"),
        }
    }

    fn render(&self, _cx: &Ctx, store: &Store, areas: &Areas, buf: &mut Buffer) {
        let Some(trace) = store.trace(self.trace) else {
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
        if self.full_detail {
            self.render_full_detail(store, trace, areas, buf);
            return;
        }
        Self::render_title(store, trace, areas.title, buf);
        // What the tree shows beyond the spans, in its column's header.
        let mut label = "SPAN".to_owned();
        if self.show_critical {
            label.push_str(&format!(
                " · critical path {}",
                format::duration(self.analysis.critical_total())
            ));
        }
        if let Some(find) = &self.find {
            let n = self.matched.iter().filter(|m| **m).count();
            let how = if self.hide_unmatched {
                "hidden"
            } else {
                "dimmed"
            };
            label.push_str(&format!(
                " · {n} match{}, rest {how} (H) · {}",
                if n == 1 { "" } else { "es" },
                format::ellipsis(&safe(find), 40)
            ));
        }
        let cols = Columns::new(areas.body.width, self.show_self);
        render_axis(trace, &label, &cols, areas.header, buf);
        render_rows(store, trace, self, &store.logs, &cols, areas.body, buf);
        if areas.detail.height > 0
            && let Some(span) = self.selected_span()
        {
            span_detail::render_pane(
                store,
                trace,
                span,
                Some(self.timing(span)),
                areas.detail,
                buf,
            );
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Column widths of a row: tree | waterfall | self time (optional) | duration.
struct Columns {
    tree: u16,
    waterfall: u16,
    self_time: u16,
    duration: u16,
}

impl Columns {
    fn new(width: u16, show_self: bool) -> Self {
        let duration = DURATION_W.min(width);
        let self_time = if show_self {
            SELF_W.min(width.saturating_sub(duration))
        } else {
            0
        };
        let rest = width.saturating_sub(duration + self_time);
        let tree = (rest * 45 / 100).max(rest.min(10));
        let waterfall = rest.saturating_sub(tree);
        Self {
            tree,
            waterfall,
            self_time,
            duration,
        }
    }
}

fn render_axis(trace: &Trace, label: &str, cols: &Columns, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    buf.set_style(area, HEADER);
    put(
        buf,
        area.x,
        area.y,
        label,
        cols.tree.saturating_sub(1),
        HEADER,
    );
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
    if cols.self_time > 0 {
        put(
            buf,
            x0 + w,
            area.y,
            &format!("{:>9}", "SELF"),
            cols.self_time,
            HEADER,
        );
    }
    put(
        buf,
        x0 + w + cols.self_time,
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
    logs: &crate::store::Logs,
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
        let run = view.folded_run_at(spans, row_idx);
        let analysis = &view.analysis;
        let on_path = analysis
            .on_path
            .get(row.span as usize)
            .copied()
            .unwrap_or(0)
            > 0;

        // Tree column, with a one-column gap before the bar; names cut end with `…`.
        let mut x = body.x;
        let end = body.x + cols.tree.saturating_sub(1);
        let prefix = guides(tree, row_idx);
        x = put(buf, x, y, &prefix, end.saturating_sub(x), DIM);
        let marker = if run.is_some()
            || (row.has_children(row_idx) && view.collapsed.contains(&span.span_id))
        {
            "▸ "
        } else if row.has_children(row_idx) {
            "▾ "
        } else {
            "· "
        };
        x = put(buf, x, y, marker, end.saturating_sub(x), DIM);
        // A run's whole extent: its calls and everything under them.
        let extent = run.map(|r| {
            let (a, b) = (r.first_row() as usize..r.end_row(tree) as usize)
                .filter_map(|m| spans.get(tree.rows[m].span as usize))
                .fold((u64::MAX, 0), |(a, b), s| {
                    (a.min(s.start), b.max(s.end.max(s.start)))
                });
            (a, b.max(a))
        });
        if let Some(run) = run {
            x = put(
                buf,
                x,
                y,
                &format!("×{} ", run.len()),
                end.saturating_sub(x),
                RUN_STYLE,
            );
        }
        x = put_cut(
            buf,
            x,
            y,
            &safe(store.str(service)),
            end.saturating_sub(x),
            Style::new().fg(color),
        );
        x = put(buf, x, y, " ", end.saturating_sub(x), Style::new());
        let dim = view.dimmed(row.span as usize) || (view.show_critical && !on_path);
        let errors = run.map_or(u32::from(span.is_error()), |r| r.errors);
        let name_style = if errors > 0 {
            ERROR
        } else if dim {
            DIM
        } else {
            Style::new()
        };
        // Marks that do not depend on colour (NO_COLOR, or a colour-blind reader): `✖` on a
        // failed span, `›` on a filter's match while the rest is dimmed.
        if errors > 0 {
            x = put(buf, x, y, "✖ ", end.saturating_sub(x), ERROR);
        } else if !view.matched.is_empty() && !view.hide_unmatched && !dim {
            x = put(buf, x, y, "› ", end.saturating_sub(x), Style::new());
        }
        x = put_cut(
            buf,
            x,
            y,
            &safe(store.str(span.name)),
            end.saturating_sub(x),
            name_style,
        );
        if logs.of_span(trace.id, span.span_id).next().is_some() {
            x = put(buf, x, y, LOG_MARK, end.saturating_sub(x), LOG_STYLE);
        }
        if let (Some(run), Some((a, b))) = (run, extent) {
            // What the folded calls took: their total, and the time from the first start to
            // the last end under them.
            x = put_cut(
                buf,
                x,
                y,
                &format!(
                    " · {} total · {} span",
                    format::duration(run.total),
                    format::duration(b - a)
                ),
                end.saturating_sub(x),
                RUN_STYLE,
            );
        }
        let note = match (run, row.top) {
            (Some(r), _) if r.errors > 0 => format!(" ({} errors)", r.errors),
            (_, TopKind::MissingParent) => " (missing parent)".to_owned(),
            (_, TopKind::Cycle) => " (parent cycle)".to_owned(),
            _ => String::new(),
        };
        put(buf, x, y, &note, end.saturating_sub(x), DIM);

        // The run's spans, for its bar, self time and total.
        let members: Vec<&Span> = match run {
            Some(r) => r
                .rows
                .iter()
                .filter_map(|&m| spans.get(tree.rows[m as usize].span as usize))
                .collect(),
            None => vec![span],
        };
        let (start, stop) = extent.unwrap_or((span.start, span.end.max(span.start)));
        let total: u64 = members.iter().map(|s| s.duration()).sum();

        // Waterfall column.
        let w = cols.waterfall;
        if w > 0 {
            let x0 = body.x + cols.tree;
            let bar_style = if dim {
                DIM
            } else if errors > 0 {
                Style::new().fg(ERROR.fg.unwrap_or(color))
            } else {
                Style::new().fg(color)
            };
            let scale = Scale::new(trace, w);
            let (from, len) = scale.bar(start, stop);
            put(buf, x0 + from, y, &"█".repeat(len as usize), len, bar_style);
            if view.show_critical {
                let pieces: Vec<u32> = match run {
                    Some(r) => r.rows.iter().map(|&m| tree.rows[m as usize].span).collect(),
                    None => vec![row.span],
                };
                for p in pieces {
                    for seg in analysis.segments_of(p) {
                        let (from, len) = scale.bar(seg.start, seg.end);
                        put(buf, x0 + from, y, &"█".repeat(len as usize), len, CRITICAL);
                    }
                }
            }
        }

        // Self time and duration columns (a run: the sums over its spans).
        let mut x = body.x + cols.tree + w;
        if cols.self_time > 0 {
            let own: u64 = match run {
                Some(r) => r
                    .rows
                    .iter()
                    .map(|&m| {
                        let k = tree.rows[m as usize].span as usize;
                        analysis.self_ns.get(k).copied().unwrap_or(0)
                    })
                    .sum(),
                None => analysis
                    .self_ns
                    .get(row.span as usize)
                    .copied()
                    .unwrap_or(0),
            };
            put(
                buf,
                x,
                y,
                &format!("{:>9}", format::duration(own)),
                cols.self_time,
                DIM,
            );
            x += cols.self_time;
        }
        let shown = if run.is_some() {
            total
        } else {
            span.duration()
        };
        put(
            buf,
            x,
            y,
            &format!("{:>9}", format::duration(shown)),
            cols.duration,
            Style::new(),
        );
        if selected {
            select_row(buf, Rect::new(body.x, y, body.width, 1));
        }
    }
}

/// Maps times of a trace onto the waterfall's columns.
struct Scale {
    start: u64,
    dur: u64,
    width: u16,
}

impl Scale {
    fn new(trace: &Trace, width: u16) -> Self {
        Self {
            start: trace.start,
            dur: trace.duration().max(1),
            width,
        }
    }

    /// First column and length (at least one cell) of the bar from `a` to `b`.
    fn bar(&self, a: u64, b: u64) -> (u16, u16) {
        let w = u128::from(self.width);
        let off = a.saturating_sub(self.start).min(self.dur);
        let from = (u128::from(off) * w / u128::from(self.dur)) as u16;
        let len = (u128::from(b.saturating_sub(a)) * w / u128::from(self.dur)) as u16;
        let from = from.min(self.width - 1);
        (from, len.clamp(1, self.width - from))
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
