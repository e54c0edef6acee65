//! What the user sees and where they are: screen, selection, filter, scroll. Changed only by
//! [`App::update`] (user actions) and [`App::refresh`] (new data); drawn read-only by `ui`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustc_hash::FxHashSet;

use crate::action::Action;
use crate::ingest::Counters;
use crate::keymap::Mode;
use crate::model::Span;
use crate::server::{SharedStore, Totals};
use crate::store::filter::Query;
use crate::store::tree::Tree;
use crate::store::{Store, TraceRef};
use crate::ui;

/// How often the list is rebuilt from the store while following, at most.
const REFRESH_EVERY: Duration = Duration::from_millis(200);
/// How often the filter is re-run over the whole store while following, at most.
const REFILTER_EVERY: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    List,
    Trace,
    Detail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Sort {
    /// Newest start first.
    #[default]
    Time,
    /// Longest first.
    Duration,
    /// Most spans first.
    Spans,
}

impl Sort {
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Time => "time",
            Self::Duration => "duration",
            Self::Spans => "spans",
        }
    }

    fn next(self) -> Self {
        match self {
            Self::Time => Self::Duration,
            Self::Duration => Self::Spans,
            Self::Spans => Self::Time,
        }
    }
}

/// A scrollable selection over `len` rows, shown `height` rows at a time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    pub selected: usize,
    pub offset: usize,
}

impl Cursor {
    fn clamp(&mut self, len: usize, height: usize) {
        self.selected = self.selected.min(len.saturating_sub(1));
        let height = height.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        self.offset = self.offset.min(len.saturating_sub(height));
    }

    fn apply(&mut self, action: &Action, len: usize, height: usize) {
        let page = height.max(1);
        match action {
            Action::Up | Action::ScrollUp => self.selected = self.selected.saturating_sub(1),
            Action::Down | Action::ScrollDown => self.selected += 1,
            Action::PageUp => self.selected = self.selected.saturating_sub(page),
            Action::PageDown => self.selected += page,
            Action::Top => self.selected = 0,
            Action::Bottom => self.selected = len.saturating_sub(1),
            _ => {}
        }
        self.clamp(len, height);
    }
}

/// The trace list's state.
#[derive(Debug, Default)]
pub struct TraceList {
    pub rows: Vec<TraceRef>,
    pub cursor: Cursor,
    pub follow: bool,
    pub sort: Sort,
    /// The applied filter.
    pub filter: Option<String>,
    seen_generation: u64,
    last_refresh: Option<Instant>,
    /// How long the last rebuild took: rebuilds are spaced to at least ten times that, so a
    /// huge store never keeps the UI (or the store's lock) busy more than a tenth of the time.
    rebuild_cost: Duration,
    last_filter_run: Option<Instant>,
}

/// The open trace's state.
#[derive(Debug)]
pub struct TraceView {
    pub trace: TraceRef,
    pub version: u32,
    pub tree: Tree,
    /// Span ids whose subtrees are hidden.
    pub collapsed: FxHashSet<u64>,
    /// Indices into `tree.rows` of the rows shown.
    pub visible: Vec<u32>,
    pub cursor: Cursor,
    /// Scroll of the full-screen detail.
    pub detail_scroll: usize,
    /// The text to find spans by (`/`, then `n`/`N`).
    pub find: Option<String>,
}

impl TraceView {
    fn new(store: &Store, trace: TraceRef) -> Option<Self> {
        let t = store.trace(trace)?;
        let tree = Tree::build(t.spans());
        let mut view = Self {
            trace,
            version: t.version,
            tree,
            collapsed: FxHashSet::default(),
            visible: Vec::new(),
            cursor: Cursor::default(),
            detail_scroll: 0,
            find: None,
        };
        view.recompute_visible(store);
        Some(view)
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
    }

    /// Selects the next (or previous) row, in tree order and wrapping around, whose span
    /// satisfies `pred`, expanding collapsed ancestors so it shows. Returns whether one did.
    fn select_next(
        &mut self,
        store: &Store,
        forward: bool,
        include_current: bool,
        pred: impl Fn(&Span) -> bool,
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
        let Some(row) = found
            .into_iter()
            .find(|&i| pred(&spans[self.tree.rows[i].span as usize]))
        else {
            return false;
        };
        let mut p = self.tree.rows[row].parent_row;
        while p != u32::MAX {
            let r = &self.tree.rows[p as usize];
            self.collapsed.remove(&spans[r.span as usize].span_id);
            p = r.parent_row;
        }
        let id = spans[self.tree.rows[row].span as usize].span_id;
        self.recompute_visible(store);
        App::select_span(self, store, id);
        true
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
}

/// Measures the ingest rate from the received counter.
#[derive(Debug, Default)]
struct RateMeter {
    last: Option<(Instant, u64)>,
    rate: f64,
}

impl RateMeter {
    fn sample(&mut self, now: Instant, received: u64) {
        match self.last {
            None => self.last = Some((now, received)),
            Some((t, n)) => {
                let dt = now.duration_since(t);
                if dt >= Duration::from_secs(1) {
                    #[allow(clippy::cast_precision_loss)]
                    let delta = received.saturating_sub(n) as f64;
                    self.rate = delta / dt.as_secs_f64();
                    self.last = Some((now, received));
                }
            }
        }
    }
}

/// The application state.
pub struct App {
    pub store: SharedStore,
    pub counters: Arc<Counters>,
    pub grpc_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub screen: Screen,
    pub list: TraceList,
    pub trace: Option<TraceView>,
    /// The filter being typed, while typing.
    pub input: Option<String>,
    pub help: bool,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    /// A one-line notice for the status bar.
    pub notice: Option<String>,
    pub totals: Totals,
    rate: RateMeter,
    pub quit: bool,
}

impl App {
    #[must_use]
    pub fn new(
        store: SharedStore,
        counters: Arc<Counters>,
        grpc_addr: SocketAddr,
        http_addr: SocketAddr,
        size: (u16, u16),
    ) -> Self {
        Self {
            store,
            counters,
            grpc_addr,
            http_addr,
            screen: Screen::List,
            list: TraceList {
                follow: true,
                ..TraceList::default()
            },
            trace: None,
            input: None,
            help: false,
            size,
            notice: None,
            totals: Totals::default(),
            rate: RateMeter::default(),
            quit: false,
        }
    }

    /// Ingest rate, spans per second.
    #[must_use]
    pub fn rate(&self) -> f64 {
        self.rate.rate
    }

    /// Which key table applies now.
    #[must_use]
    pub fn mode(&self) -> Mode {
        if self.help {
            Mode::Help
        } else if self.input.is_some() {
            Mode::FilterInput
        } else {
            match self.screen {
                Screen::List => Mode::List,
                Screen::Trace => Mode::Trace,
                Screen::Detail => Mode::Detail,
            }
        }
    }

    /// Takes in new data: counters always; the list and the open trace when they may move.
    /// Returns whether anything visible may have changed.
    pub fn refresh(&mut self, now: Instant) -> bool {
        let store = Arc::clone(&self.store);
        let store = store.lock();
        let totals = Totals::read(&store, &self.counters);
        self.rate.sample(now, totals.store.traces.received);
        let mut changed = totals != self.totals;
        self.totals = totals;
        let due = self.list.last_refresh.is_none_or(|t| {
            now.duration_since(t) >= REFRESH_EVERY.max(self.list.rebuild_cost * 10)
        });
        if store.generation() != self.list.seen_generation && due {
            if self.list.follow {
                let filter_due = self
                    .list
                    .last_filter_run
                    .is_none_or(|t| now.duration_since(t) >= REFILTER_EVERY);
                if self.list.filter.is_none() || filter_due {
                    self.rebuild_rows(&store, now);
                    changed = true;
                }
            }
            if let Some(view) = &mut self.trace {
                match store.trace(view.trace) {
                    Some(t) if t.version != view.version => {
                        let selected = view.selected_span().map(|i| t.spans()[i].span_id);
                        view.tree = Tree::build(t.spans());
                        view.version = t.version;
                        view.recompute_visible(&store);
                        if let Some(id) = selected {
                            Self::select_span(view, &store, id);
                        }
                        changed = true;
                    }
                    Some(_) => {}
                    None => {
                        self.notice = Some("the open trace was evicted".into());
                        self.trace = None;
                        self.screen = Screen::List;
                        changed = true;
                    }
                }
            }
        }
        changed
    }

    fn select_span(view: &mut TraceView, store: &Store, span_id: u64) {
        let Some(t) = store.trace(view.trace) else {
            return;
        };
        if let Some(pos) = view
            .visible
            .iter()
            .position(|&r| t.spans()[view.tree.rows[r as usize].span as usize].span_id == span_id)
        {
            view.cursor.selected = pos;
        }
    }

    /// Rebuilds the list's rows from the store: filter, then sort; keeps the selected trace.
    fn rebuild_rows(&mut self, store: &Store, now: Instant) {
        let began = Instant::now();
        let selected = self.list.rows.get(self.list.cursor.selected).copied();
        let mut rows: Vec<TraceRef> = match &self.list.filter {
            Some(f) => {
                self.list.last_filter_run = Some(now);
                store.filter(&Query::new(f))
            }
            None => store.traces_by_arrival().collect(),
        };
        // Newest first. Each trace's sort key is read once, into a contiguous vector, and
        // sorted there; arrival order is nearly start order, so for the default sort the check
        // below usually finds nothing to do at all.
        rows.reverse();
        let mut keyed: Vec<(std::cmp::Reverse<u64>, TraceRef)> = rows
            .iter()
            .map(|r| {
                let k = store.trace(*r).map_or(0, |t| match self.list.sort {
                    Sort::Time => t.start,
                    Sort::Duration => t.duration(),
                    Sort::Spans => t.span_count() as u64,
                });
                (std::cmp::Reverse(k), *r)
            })
            .collect();
        if !keyed.is_sorted_by_key(|(k, _)| *k) {
            keyed.sort_by_key(|(k, _)| *k);
        }
        rows.clear();
        rows.extend(keyed.into_iter().map(|(_, r)| r));
        self.list.rows = rows;
        self.list.seen_generation = store.generation();
        self.list.last_refresh = Some(now);
        self.list.rebuild_cost = began.elapsed();
        if let Some(sel) = selected
            && self.list.cursor.selected != 0
            && let Some(pos) = self.list.rows.iter().position(|r| *r == sel)
        {
            self.list.cursor.selected = pos;
        }
        let h = self.list_height();
        self.list.cursor.clamp(self.list.rows.len(), h);
    }

    fn list_height(&self) -> usize {
        ui::layout(self.area(), self.screen, self.detail_pane())
            .body
            .height as usize
    }

    fn area(&self) -> ratatui::layout::Rect {
        ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1)
    }

    /// Whether the trace screen shows the detail pane under the tree.
    #[must_use]
    pub fn detail_pane(&self) -> bool {
        self.size.1 >= 16
    }

    /// Carries out an action.
    pub fn update(&mut self, action: Action) {
        if !matches!(action, Action::Resize(..)) {
            self.notice = None;
        }
        match action {
            Action::Quit => self.quit = true,
            Action::ToggleHelp => self.help = !self.help,
            Action::Resize(w, h) => {
                self.size = (w, h);
                self.reclamp();
            }
            Action::StartFilter => {
                let current = match (&self.screen, &self.trace) {
                    (Screen::Trace, Some(view)) => view.find.clone(),
                    _ => self.list.filter.clone(),
                };
                self.input = Some(current.unwrap_or_default());
            }
            Action::FilterChar(c) => {
                if let Some(input) = &mut self.input
                    && input.len() < 256
                    && !c.is_control()
                {
                    input.push(c);
                }
            }
            Action::FilterBackspace => {
                if let Some(input) = &mut self.input {
                    input.pop();
                }
            }
            Action::FilterCancel => self.input = None,
            Action::FilterApply => {
                let text = self.input.take().unwrap_or_default();
                let text = (!text.is_empty()).then_some(text);
                if self.screen == Screen::Trace {
                    if let Some(view) = &mut self.trace {
                        view.find = text;
                    }
                    self.find(true, true);
                } else {
                    self.list.filter = text;
                    self.list.cursor = Cursor::default();
                    self.force_rebuild();
                }
            }
            Action::ToggleFollow => {
                self.list.follow = !self.list.follow;
                if self.list.follow {
                    self.force_rebuild();
                }
            }
            Action::CycleSort => {
                self.list.sort = self.list.sort.next();
                self.list.cursor = Cursor::default();
                self.force_rebuild();
            }
            Action::Click(x, y) => self.click(x, y),
            other => match self.screen {
                Screen::List => self.update_list(&other),
                Screen::Trace => self.update_trace(&other),
                Screen::Detail => self.update_detail(&other),
            },
        }
    }

    fn force_rebuild(&mut self) {
        let store = Arc::clone(&self.store);
        let store = store.lock();
        self.rebuild_rows(&store, Instant::now());
    }

    fn reclamp(&mut self) {
        let h = self.list_height();
        self.list.cursor.clamp(self.list.rows.len(), h);
        let h = ui::layout(self.area(), Screen::Trace, self.detail_pane())
            .body
            .height as usize;
        if let Some(view) = &mut self.trace {
            view.cursor.clamp(view.visible.len(), h);
        }
    }

    fn update_list(&mut self, action: &Action) {
        let height = self.list_height();
        match action {
            Action::Open => self.open_selected_trace(),
            Action::Back => {
                if self.list.filter.take().is_some() {
                    self.list.cursor = Cursor::default();
                    self.force_rebuild();
                }
            }
            other => self.list.cursor.apply(other, self.list.rows.len(), height),
        }
    }

    fn open_selected_trace(&mut self) {
        let Some(&r) = self.list.rows.get(self.list.cursor.selected) else {
            return;
        };
        let view = TraceView::new(&self.store.lock(), r);
        match view {
            Some(v) => {
                self.trace = Some(v);
                self.screen = Screen::Trace;
            }
            None => self.notice = Some("that trace was evicted".into()),
        }
    }

    /// Moves to the next (or previous) span matching the trace view's find text.
    fn find(&mut self, forward: bool, include_current: bool) {
        let height = self.trace_height();
        let store = Arc::clone(&self.store);
        let store = store.lock();
        let Some(view) = &mut self.trace else { return };
        let Some(text) = view.find.clone() else {
            return;
        };
        let query = Query::new(&text);
        if view.select_next(&store, forward, include_current, |s| {
            query.matches_span(&store, s)
        }) {
            view.cursor.clamp(view.visible.len(), height);
        } else {
            self.notice = Some(format!("no span matches {:?}", crate::format::safe(&text)));
        }
    }

    fn trace_height(&self) -> usize {
        ui::layout(self.area(), Screen::Trace, self.detail_pane())
            .body
            .height as usize
    }

    fn update_trace(&mut self, action: &Action) {
        match action {
            Action::FindNext => return self.find(true, false),
            Action::FindPrev => return self.find(false, false),
            Action::NextError => {
                let height = self.trace_height();
                let store = Arc::clone(&self.store);
                let store = store.lock();
                if let Some(view) = &mut self.trace {
                    if view.select_next(&store, true, false, Span::is_error) {
                        view.cursor.clamp(view.visible.len(), height);
                    } else {
                        self.notice = Some("no span has an error status".into());
                    }
                }
                return;
            }
            _ => {}
        }
        let height = ui::layout(self.area(), Screen::Trace, self.detail_pane())
            .body
            .height as usize;
        let store = Arc::clone(&self.store);
        let Some(view) = &mut self.trace else {
            self.screen = Screen::List;
            return;
        };
        match action {
            Action::Back => {
                self.screen = Screen::List;
                self.trace = None;
            }
            Action::Open => {
                if view.selected_span().is_some() {
                    view.detail_scroll = 0;
                    self.screen = Screen::Detail;
                }
            }
            Action::ToggleCollapse | Action::Collapse | Action::Expand => {
                let store = store.lock();
                let Some(t) = store.trace(view.trace) else {
                    return;
                };
                let Some(row_idx) = view.selected_row() else {
                    return;
                };
                let row = view.tree.rows[row_idx];
                let id = t.spans()[row.span as usize].span_id;
                let is_collapsed = view.collapsed.contains(&id);
                let has_children = row.has_children(row_idx);
                let mut select = id;
                match action {
                    Action::ToggleCollapse if has_children => {
                        if is_collapsed {
                            view.collapsed.remove(&id);
                        } else {
                            view.collapsed.insert(id);
                        }
                    }
                    Action::Collapse if has_children && !is_collapsed => {
                        view.collapsed.insert(id);
                    }
                    // Already collapsed or a leaf: go to the parent.
                    Action::Collapse if row.parent_row != u32::MAX => {
                        select = t.spans()[view.tree.rows[row.parent_row as usize].span as usize]
                            .span_id;
                    }
                    Action::Expand => {
                        view.collapsed.remove(&id);
                    }
                    _ => {}
                }
                view.recompute_visible(&store);
                Self::select_span(view, &store, select);
                view.cursor.clamp(view.visible.len(), height);
            }
            Action::CollapseAll | Action::ExpandAll => {
                let store = store.lock();
                let Some(t) = store.trace(view.trace) else {
                    return;
                };
                let selected = view.selected_span().map(|i| t.spans()[i].span_id);
                view.collapsed.clear();
                if *action == Action::CollapseAll {
                    for (i, row) in view.tree.rows.iter().enumerate() {
                        if row.has_children(i) {
                            view.collapsed.insert(t.spans()[row.span as usize].span_id);
                        }
                    }
                }
                view.recompute_visible(&store);
                view.cursor = Cursor::default();
                if let Some(id) = selected {
                    Self::select_span(view, &store, id);
                }
                view.cursor.clamp(view.visible.len(), height);
            }
            other => view.cursor.apply(other, view.visible.len(), height),
        }
    }

    fn update_detail(&mut self, action: &Action) {
        let Some(view) = &mut self.trace else {
            self.screen = Screen::List;
            return;
        };
        let page = (self.size.1 as usize).saturating_sub(3).max(1);
        match action {
            Action::Back => self.screen = Screen::Trace,
            Action::Up | Action::ScrollUp => {
                view.detail_scroll = view.detail_scroll.saturating_sub(1)
            }
            Action::Down | Action::ScrollDown => view.detail_scroll += 1,
            Action::PageUp => view.detail_scroll = view.detail_scroll.saturating_sub(page),
            Action::PageDown => view.detail_scroll += page,
            Action::Top => view.detail_scroll = 0,
            Action::Bottom => view.detail_scroll = usize::MAX / 2,
            _ => {}
        }
    }

    fn click(&mut self, x: u16, y: u16) {
        let areas = ui::layout(self.area(), self.screen, self.detail_pane());
        let body = areas.body;
        if x < body.x || x >= body.x + body.width || y < body.y || y >= body.y + body.height {
            return;
        }
        let row = (y - body.y) as usize;
        match self.screen {
            Screen::List => {
                let idx = self.list.cursor.offset + row;
                if idx < self.list.rows.len() {
                    if idx == self.list.cursor.selected {
                        self.open_selected_trace();
                    } else {
                        self.list.cursor.selected = idx;
                    }
                }
            }
            Screen::Trace => {
                if let Some(view) = &mut self.trace {
                    let idx = view.cursor.offset + row;
                    if idx < view.visible.len() {
                        if idx == view.cursor.selected {
                            view.detail_scroll = 0;
                            self.screen = Screen::Detail;
                        } else {
                            view.cursor.selected = idx;
                        }
                    }
                }
            }
            Screen::Detail => {}
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::tests::{batch, span};
    use parking_lot::Mutex;

    pub(crate) fn app_with(store: Store, size: (u16, u16)) -> App {
        let mut app = App::new(
            Arc::new(Mutex::new(store)),
            Arc::new(Counters::default()),
            "127.0.0.1:4317".parse().unwrap(),
            "127.0.0.1:4318".parse().unwrap(),
            size,
        );
        app.refresh(Instant::now());
        app
    }

    fn three_traces() -> Store {
        let mut store = Store::new(1000);
        store.ingest(batch("a", vec![span(1, 1, 0, 100, 200, "first")]));
        store.ingest(batch(
            "b",
            vec![
                span(2, 1, 0, 300, 1300, "second"),
                span(2, 2, 1, 400, 500, "child"),
                span(2, 3, 2, 410, 420, "grandchild"),
                span(2, 4, 1, 600, 700, "child2"),
            ],
        ));
        store.ingest(batch("c", vec![span(3, 1, 0, 500, 550, "third")]));
        store
    }

    #[test]
    fn list_is_newest_first_and_sorts() {
        let mut app = app_with(three_traces(), (80, 24));
        let ids = |app: &App| -> Vec<u128> {
            let s = app.store.lock();
            app.list
                .rows
                .iter()
                .map(|r| s.trace(*r).unwrap().id)
                .collect()
        };
        assert_eq!(ids(&app), vec![3, 2, 1]);
        app.update(Action::CycleSort);
        assert_eq!(app.list.sort, Sort::Duration);
        assert_eq!(ids(&app), vec![2, 1, 3]);
        app.update(Action::CycleSort);
        assert_eq!(ids(&app)[0], 2);
    }

    #[test]
    fn paused_list_does_not_move_under_the_cursor() {
        let mut app = app_with(three_traces(), (80, 24));
        app.update(Action::ToggleFollow);
        assert!(!app.list.follow);
        app.store
            .lock()
            .ingest(batch("d", vec![span(4, 1, 0, 900, 950, "new")]));
        app.refresh(Instant::now() + Duration::from_secs(1));
        assert_eq!(app.list.rows.len(), 3, "paused: no new rows");
        app.update(Action::ToggleFollow);
        assert_eq!(app.list.rows.len(), 4, "following again: new rows");
    }

    #[test]
    fn following_keeps_the_selected_trace_selected() {
        let mut app = app_with(three_traces(), (80, 24));
        app.update(Action::Down);
        let selected = app.list.rows[app.list.cursor.selected];
        app.store
            .lock()
            .ingest(batch("d", vec![span(4, 1, 0, 900, 950, "new")]));
        app.refresh(Instant::now() + Duration::from_secs(1));
        assert_eq!(app.list.rows.len(), 4);
        assert_eq!(app.list.rows[app.list.cursor.selected], selected);
    }

    #[test]
    fn filter_applies_on_enter_and_clears_on_esc() {
        let mut app = app_with(three_traces(), (80, 24));
        app.update(Action::StartFilter);
        assert_eq!(app.mode(), Mode::FilterInput);
        for c in "grand".chars() {
            app.update(Action::FilterChar(c));
        }
        assert_eq!(app.list.rows.len(), 3, "not applied while typing");
        app.update(Action::FilterApply);
        assert_eq!(app.list.rows.len(), 1);
        assert_eq!(app.list.filter.as_deref(), Some("grand"));
        app.update(Action::Back);
        assert_eq!(app.list.rows.len(), 3);
        assert!(app.list.filter.is_none());
    }

    #[test]
    fn open_trace_collapse_expand_and_back() {
        let mut app = app_with(three_traces(), (80, 24));
        app.update(Action::Down);
        app.update(Action::Open);
        assert_eq!(app.screen, Screen::Trace);
        let view = app.trace.as_ref().unwrap();
        assert_eq!(view.visible.len(), 4);
        app.update(Action::CollapseAll);
        assert_eq!(app.trace.as_ref().unwrap().visible.len(), 1);
        app.update(Action::ExpandAll);
        assert_eq!(app.trace.as_ref().unwrap().visible.len(), 4);
        app.update(Action::Down); // child (has grandchild)
        app.update(Action::ToggleCollapse);
        assert_eq!(app.trace.as_ref().unwrap().visible.len(), 3);
        app.update(Action::Collapse); // already collapsed: go to parent
        assert_eq!(app.trace.as_ref().unwrap().cursor.selected, 0);
        app.update(Action::Open);
        assert_eq!(app.screen, Screen::Detail);
        app.update(Action::Back);
        assert_eq!(app.screen, Screen::Trace);
        app.update(Action::Back);
        assert_eq!(app.screen, Screen::List);
    }

    #[test]
    fn find_in_a_trace_expands_to_the_match_and_cycles() {
        let mut store = three_traces();
        let mut failing = span(2, 5, 4, 650, 660, "failing grandchild");
        failing.status = crate::model::StatusCode::Error;
        store.ingest(batch("b", vec![failing]));
        let mut app = app_with(store, (80, 24));
        app.update(Action::Down);
        app.update(Action::Open);
        app.update(Action::CollapseAll);
        assert_eq!(app.trace.as_ref().unwrap().visible.len(), 1);
        app.update(Action::StartFilter);
        for c in "grandchild".chars() {
            app.update(Action::FilterChar(c));
        }
        app.update(Action::FilterApply);
        let name = |app: &App| {
            let store = app.store.lock();
            let view = app.trace.as_ref().unwrap();
            let t = store.trace(view.trace).unwrap();
            store
                .str(t.spans()[view.selected_span().unwrap()].name)
                .to_owned()
        };
        assert_eq!(name(&app), "grandchild");
        assert_eq!(
            app.trace.as_ref().unwrap().visible.len(),
            4,
            "ancestors expanded"
        );
        app.update(Action::FindNext);
        assert_eq!(name(&app), "failing grandchild");
        app.update(Action::FindNext);
        assert_eq!(name(&app), "grandchild", "wraps around");
        app.update(Action::FindPrev);
        assert_eq!(name(&app), "failing grandchild");
        app.update(Action::Top);
        app.update(Action::NextError);
        assert_eq!(name(&app), "failing grandchild");
        app.update(Action::StartFilter);
        app.update(Action::FilterChar('z'));
        app.update(Action::FilterApply);
        assert!(app.notice.as_deref().unwrap().contains("no span matches"));
        assert_eq!(app.screen, Screen::Trace);
    }

    #[test]
    fn open_trace_grows_live_and_eviction_returns_to_the_list() {
        let mut app = app_with(three_traces(), (80, 24));
        app.update(Action::Open); // trace 3
        app.store
            .lock()
            .ingest(batch("c", vec![span(3, 2, 1, 510, 520, "late child")]));
        app.refresh(Instant::now() + Duration::from_secs(1));
        assert_eq!(app.trace.as_ref().unwrap().visible.len(), 2);
        // Push the store past its cap so trace 3 goes.
        let mut big = Vec::new();
        for i in 0..1000 {
            big.push(span(99, i + 1, 0, 0, 1, "filler"));
        }
        app.store.lock().ingest(batch("z", big));
        app.refresh(Instant::now() + Duration::from_secs(2));
        assert_eq!(app.screen, Screen::List);
        assert!(app.notice.is_some());
    }

    #[test]
    fn paging_and_clicks() {
        let mut store = Store::new(1000);
        for i in 1..=100u128 {
            store.ingest(batch("a", vec![span(i, 1, 0, i as u64, i as u64 + 1, "s")]));
        }
        let mut app = app_with(store, (80, 24));
        app.update(Action::Bottom);
        assert_eq!(app.list.cursor.selected, 99);
        assert!(app.list.cursor.offset > 0);
        app.update(Action::Top);
        assert_eq!(app.list.cursor, Cursor::default());
        app.update(Action::PageDown);
        let page = app.list_height();
        assert_eq!(app.list.cursor.selected, page);
        app.update(Action::Top);
        let body = ui::layout(app.area(), Screen::List, true).body;
        app.update(Action::Click(body.x + 1, body.y + 3));
        assert_eq!(app.list.cursor.selected, 3);
        app.update(Action::Click(body.x + 1, body.y + 3));
        assert_eq!(app.screen, Screen::Trace, "second click opens");
    }
}
