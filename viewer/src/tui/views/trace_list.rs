//! The trace list: one row per trace, newest first; filter, sort, follow or pause.

use std::any::Any;
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Paragraph, Widget};

use super::TraceView;
use crate::format::{self, safe};
use crate::query::{Signal, SpanFilter};
use crate::store::{Store, TraceRef};
use crate::tui::action::Action;
use crate::tui::cursor::Cursor;
use crate::tui::fit::{Weight, fit};
use crate::tui::keymap::Binding;
use crate::tui::layout::{Areas, Shape};
use crate::tui::save;
use crate::tui::theme::{Cells, DIM, ERROR, HEADER, TITLE, put, select_row, service_color};
use crate::tui::view::{Ctx, Outcome, Refresh, SaveTo, View};
use crate::tui::widgets::scatter::{Point as ScatterPoint, Scatter};

/// How often the list is rebuilt from the store while following, at most (and never more often
/// than every ten times what the last rebuild took).
const REFRESH_EVERY: Duration = Duration::from_millis(50);
/// How often the filter is re-run over the whole store while following, at most.
const REFILTER_EVERY: Duration = Duration::from_secs(1);

const TIME_W: u16 = 13;
const SERVICE_W: u16 = 18;
const DURATION_W: u16 = 10;
const SPANS_W: u16 = 7;
const SVCS_W: u16 = 5;

pub const HELP_TITLE: &str = "Trace list";
pub static KEYS: &[Binding] = &[
    Binding {
        codes: &[KeyCode::Enter],
        action: Action::Open,
        keys: "Enter",
        what: "open the trace",
    },
    Binding {
        codes: &[KeyCode::Char('/')],
        action: Action::StartFilter,
        keys: "/",
        what: "filter: words, or a query (status=error and duration>1s)",
    },
    Binding {
        codes: &[KeyCode::Char('f'), KeyCode::Char('p')],
        action: Action::ToggleFollow,
        keys: "f",
        what: "follow new traces / pause",
    },
    Binding {
        codes: &[KeyCode::Char('s')],
        action: Action::CycleSort,
        keys: "s",
        what: "sort by time, duration, span count",
    },
    Binding {
        codes: &[KeyCode::Char('R')],
        action: Action::SearchJaeger,
        keys: "R",
        what: "with --jaeger: search Jaeger with the filter",
    },
    Binding {
        codes: &[KeyCode::Char('S')],
        action: Action::ToggleChart,
        keys: "S",
        what: "latency scatter above the list: show / hide",
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
        codes: &[KeyCode::Char('M')],
        action: Action::ServiceMap,
        keys: "M",
        what: "service map of the traces listed",
    },
    Binding {
        codes: &[KeyCode::Char('w')],
        action: Action::Save,
        keys: "w",
        what: "write the traces listed to a file (OTLP JSON lines)",
    },
];

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

/// The trace list's state.
#[derive(Debug, Default)]
pub struct TraceList {
    pub rows: Vec<TraceRef>,
    pub cursor: Cursor,
    pub follow: bool,
    pub sort: Sort,
    /// The applied filter.
    pub filter: Option<String>,
    seen_generation: Option<u64>,
    last_refresh: Option<Instant>,
    /// How long the last rebuild took: rebuilds are spaced to at least ten times that, so a
    /// huge store never keeps the UI (or the store's lock) busy more than a tenth of the time.
    rebuild_cost: Duration,
    last_filter_run: Option<Instant>,
    /// The latest start among the rows (shown as an age).
    newest: Option<u64>,
    /// The latency scatter above the list (`S` hides it), binned at each rebuild.
    pub show_scatter: bool,
    scatter: Scatter,
    /// A fixed set of traces shown instead of the store's (not following), and its title.
    fixed: Option<(Vec<TraceRef>, String)>,
    /// While paused: the number of traces the store had taken in when the list was paused
    /// (held plus evicted), to say how many new ones wait.
    paused_at: Option<u64>,
}

impl TraceList {
    #[must_use]
    pub fn new() -> Self {
        Self {
            follow: true,
            show_scatter: true,
            ..Self::default()
        }
    }

    /// A list of exactly these traces (those still held), sortable and filterable, never
    /// following new data; `title` says what they are.
    #[must_use]
    pub fn of_traces(refs: Vec<TraceRef>, title: String) -> Self {
        Self {
            fixed: Some((refs, title)),
            show_scatter: true,
            ..Self::default()
        }
    }

    fn height(&self, cx: &Ctx) -> usize {
        cx.layout(self.shape()).body.height as usize
    }

    /// Bins the rows' traces for the latency scatter at the size it is drawn.
    fn rebuild_scatter(&mut self, cx: &Ctx, store: &Store) {
        let area = cx.layout(self.shape()).chart;
        if area.height == 0 {
            self.scatter = Scatter::default();
            return;
        }
        let points = self.rows.iter().filter_map(|r| {
            store.trace(*r).map(|t| ScatterPoint {
                start: t.start,
                duration: t.duration(),
                error: t.errors > 0,
            })
        });
        self.scatter = Scatter::new(points, area);
    }

    /// Sorts the rows by the sort chosen, newest (largest) first. Each trace's sort key is read
    /// once, into a contiguous vector, and sorted there; arrival order is nearly start order,
    /// so for the default sort the check below usually finds nothing to do at all.
    fn sort_rows(&mut self, store: &Store) {
        let mut keyed: Vec<(std::cmp::Reverse<u64>, TraceRef)> = self
            .rows
            .iter()
            .map(|r| {
                let k = store.trace(*r).map_or(0, |t| match self.sort {
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
        self.rows.clear();
        self.rows.extend(keyed.into_iter().map(|(_, r)| r));
    }

    /// Rebuilds the rows from the store: filter, then sort; keeps the selected trace.
    fn rebuild(&mut self, cx: &Ctx, store: &Store, now: Instant) {
        let began = Instant::now();
        let selected = self.rows.get(self.cursor.selected).copied();
        let mut rows: Vec<TraceRef> = match (&self.filter, &self.fixed) {
            (f, Some((refs, _))) => {
                let f = f.as_ref().map(|f| SpanFilter::parse(f, store));
                let live = |r: &&TraceRef| store.trace(**r);
                match f {
                    Some(Err(_)) => Vec::new(),
                    Some(Ok(Some(f))) => refs
                        .iter()
                        .filter(|r| live(r).is_some_and(|t| f.matches_trace(store, t)))
                        .copied()
                        .collect(),
                    _ => refs.iter().filter(|r| live(r).is_some()).copied().collect(),
                }
            }
            (Some(f), None) => {
                self.last_filter_run = Some(now);
                match SpanFilter::parse(f, store) {
                    Ok(Some(filter)) => filter.traces(store),
                    Ok(None) => store.traces_by_arrival().collect(),
                    Err(_) => Vec::new(),
                }
            }
            (None, None) => store.traces_by_arrival().collect(),
        };
        // Newest first.
        rows.reverse();
        self.newest = rows
            .iter()
            .filter_map(|r| store.trace(*r).map(|t| t.start))
            .max();
        self.rows = rows;
        self.sort_rows(store);
        self.seen_generation = Some(store.traces.generation());
        self.last_refresh = Some(now);
        self.rebuild_cost = began.elapsed();
        if let Some(sel) = selected
            && self.cursor.selected != 0
            && let Some(pos) = self.rows.iter().position(|r| *r == sel)
        {
            self.cursor.selected = pos;
        }
        self.cursor.clamp(self.rows.len(), self.height(cx));
        self.rebuild_scatter(cx, store);
    }

    fn open_selected(&self, cx: &mut Ctx, store: &Store) -> Outcome {
        let Some(&r) = self.rows.get(self.cursor.selected) else {
            return Outcome::Done;
        };
        match TraceView::new(store, r) {
            // Opened from a filtered list: the spans that matched stand out, the rest dimmed.
            Some(mut v) => {
                if let Some(f) = &self.filter {
                    v.show_matches(cx, store, f);
                }
                Outcome::Open(Box::new(v))
            }
            None => {
                cx.notice = Some("that trace was evicted".into());
                Outcome::Done
            }
        }
    }

    /// The title: how many traces, the filter (long ones cut: `?` shows it whole), following or
    /// paused (with the new traces waiting), the newest's age; what does not fit is left out,
    /// the least useful first.
    fn render_title(&self, store: &Store, now_ns: u64, area: Rect, buf: &mut Buffer) {
        let count = format::plural(self.rows.len() as u64, "trace");
        let mut parts = vec![(
            Weight::High,
            match &self.fixed {
                Some((_, t)) => format!("{} · {}", t.trim(), self.rows.len()),
                None => count,
            },
        )];
        if let Some(f) = &self.filter {
            let room = (usize::from(area.width) * 2 / 5).max(8);
            parts.push((
                Weight::High,
                format!("filter: {}", format::ellipsis(&safe(f), room)),
            ));
        }
        if self.fixed.is_none() {
            if self.follow {
                parts.push((Weight::High, "following".to_owned()));
                parts.push((Weight::Low, "f pauses".to_owned()));
            } else {
                let waiting = self
                    .paused_at
                    .map_or(0, |at| taken_in(store).saturating_sub(at));
                parts.push((
                    Weight::High,
                    if waiting > 0 {
                        format!("paused · {} new", format::count(waiting))
                    } else {
                        "paused".to_owned()
                    },
                ));
                parts.push((Weight::Low, "f follows".to_owned()));
            }
        }
        if let Some(newest) = self.newest {
            parts.push((
                Weight::Mid,
                format!("newest {}", format::age(now_ns, newest)),
            ));
        }
        let title = fit(parts, usize::from(area.width), None);
        put(buf, area.x, area.y, &title, area.width, TITLE);
    }
}

/// Traces the store has taken in: those held and those evicted (it only grows).
fn taken_in(store: &Store) -> u64 {
    let t = store.stats().traces;
    t.traces + t.evicted_traces
}

impl View for TraceList {
    fn keys(&self) -> &'static [Binding] {
        KEYS
    }

    fn help_title(&self) -> &'static str {
        HELP_TITLE
    }

    fn shape(&self) -> Shape {
        if self.show_scatter {
            Shape::ChartList
        } else {
            Shape::List
        }
    }

    fn filter_text(&self) -> Option<String> {
        Some(self.filter.clone().unwrap_or_default())
    }

    fn query_signal(&self) -> Option<Signal> {
        Some(Signal::Traces)
    }

    fn update(&mut self, cx: &mut Ctx, store: &Store, action: &Action) -> Outcome {
        let height = self.height(cx);
        match action {
            Action::Open => return self.open_selected(cx, store),
            Action::Back => {
                if self.filter.take().is_some() {
                    self.cursor = Cursor::default();
                    self.rebuild(cx, store, Instant::now());
                } else if self.fixed.is_some() {
                    return Outcome::Back;
                }
            }
            Action::MarkCompare | Action::Compare => {
                let Some(&r) = self.rows.get(self.cursor.selected) else {
                    cx.notice = Some("no trace selected".into());
                    return Outcome::Done;
                };
                return if *action == Action::Compare {
                    super::compare::open(cx, store, r)
                } else {
                    super::compare::mark(cx, store, r)
                };
            }
            Action::ServiceMap => {
                let fixed = self.fixed.as_ref().map(|(refs, _)| refs.clone());
                let map = super::ServiceMapView::new(store, &self.rows, self.filter.clone(), fixed);
                return Outcome::Open(Box::new(map));
            }
            Action::Save => {
                if self.rows.is_empty() {
                    cx.notice = Some("no traces to write".into());
                    return Outcome::Done;
                }
                let n = self.rows.len();
                let what = format!(
                    "{} trace{}",
                    format::count(n as u64),
                    if n == 1 { "" } else { "s" }
                );
                let name = save::list_file_name(std::time::SystemTime::now());
                return Outcome::Save(SaveTo::new(self.rows.clone(), what, name));
            }
            Action::Apply(text) => {
                self.filter.clone_from(text);
                self.cursor = Cursor::default();
                self.rebuild(cx, store, Instant::now());
            }
            Action::ToggleChart => {
                self.show_scatter = !self.show_scatter;
                self.cursor.clamp(self.rows.len(), self.height(cx));
                self.rebuild_scatter(cx, store);
            }
            Action::Resize(..) => {
                self.cursor.clamp(self.rows.len(), self.height(cx));
                self.rebuild_scatter(cx, store);
            }
            Action::ToggleFollow if self.fixed.is_some() => {
                cx.notice = Some("a fixed list of traces: nothing to follow".into());
            }
            Action::ToggleFollow => {
                self.follow = !self.follow;
                if self.follow {
                    self.paused_at = None;
                    self.rebuild(cx, store, Instant::now());
                } else {
                    self.paused_at = Some(taken_in(store));
                }
            }
            Action::CycleSort => {
                self.sort = self.sort.next();
                self.cursor = Cursor::default();
                if self.follow {
                    self.rebuild(cx, store, Instant::now());
                } else {
                    // Paused: the same traces, sorted again; nothing new comes in.
                    self.sort_rows(store);
                }
            }
            Action::Click(x, y) => {
                if self
                    .cursor
                    .click(cx.layout(self.shape()).body, self.rows.len(), *x, *y)
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

    fn refresh(&mut self, cx: &mut Ctx, store: &Store, now: Instant) -> Refresh {
        // A fixed list takes in changes to its traces (and their eviction), never new ones.
        if self.seen_generation == Some(store.traces.generation())
            || (!self.follow && self.fixed.is_none())
        {
            return Refresh::Unchanged;
        }
        let due = self
            .last_refresh
            .is_none_or(|t| now.duration_since(t) >= REFRESH_EVERY.max(self.rebuild_cost * 10));
        let filter_due = self
            .last_filter_run
            .is_none_or(|t| now.duration_since(t) >= REFILTER_EVERY);
        if due && (self.filter.is_none() || filter_due) {
            self.rebuild(cx, store, now);
            return Refresh::Changed;
        }
        Refresh::Unchanged
    }

    fn render(&self, cx: &Ctx, store: &Store, areas: &Areas, buf: &mut Buffer) {
        self.render_title(store, cx.now_ns, areas.title, buf);
        if areas.body.height == 0 {
            return;
        }
        if store.stats().traces.traces == 0 {
            super::render_empty(
                cx,
                super::Empty {
                    waiting: "Waiting for traces…",
                    sdk: "Point an OpenTelemetry SDK at this viewer:",
                    transport: format!("(OTLP/gRPC; for OTLP/HTTP use http://{})", cx.http_addr),
                    demos: "Or run the demos: cargo run -p demo-api, then cargo run -p demo-client",
                    footer: "? for help · q to quit",
                },
                areas.body,
                buf,
            );
            return;
        }
        let selected = self
            .rows
            .get(self.cursor.selected)
            .and_then(|r| store.trace(*r))
            .map(|t| (t.start, t.duration()));
        self.scatter.render(selected, areas.chart, buf);
        render_header(self.sort, areas.header, buf);
        if self.rows.is_empty() {
            let text = match &self.filter {
                Some(f) => format!("No trace matches {:?}. Esc clears the filter.", safe(f)),
                None => "No traces to show.".to_owned(),
            };
            Paragraph::new(text)
                .style(DIM)
                .alignment(Alignment::Center)
                .render(areas.body, buf);
            return;
        }
        let body = areas.body;
        let cursor = self.cursor;
        for (i, r) in self
            .rows
            .iter()
            .enumerate()
            .skip(cursor.offset)
            .take(body.height as usize)
        {
            let y = body.y + (i - cursor.offset) as u16;
            let row = Rect::new(body.x, y, body.width, 1);
            let selected = i == cursor.selected;
            if selected {
                select_row(buf, row);
            }
            let Some(trace) = store.trace(*r) else {
                put(buf, body.x, y, "(evicted)", body.width, DIM);
                continue;
            };
            let root = trace.root();
            let service = store.resource(root.resource).service;
            let end = body.x + body.width;
            let mut cells = Cells { x: body.x, y, end };
            cells.put(buf, &format::time_of_day(trace.start), TIME_W, DIM);
            cells.put(
                buf,
                &safe(store.str(service)),
                SERVICE_W,
                Style::new().fg(service_color(store.str(service))),
            );
            let fixed = DURATION_W + SPANS_W + SVCS_W;
            let name_w = end.saturating_sub(cells.x).saturating_sub(fixed).max(1);
            let mut name = String::new();
            if trace.errors > 0 {
                name.push_str("✖ ");
            }
            if root.parent_id != 0 {
                name.push_str("… ");
            }
            name.push_str(&safe(store.str(root.name)));
            let name_style = if trace.errors > 0 {
                ERROR
            } else {
                Style::new()
            };
            cells.put(buf, &name, name_w, name_style);
            let duration = format!("{:>9}", format::duration(trace.duration()));
            cells.put(buf, &duration, DURATION_W, Style::new());
            cells.put(
                buf,
                &format!("{:>6}", trace.span_count()),
                SPANS_W,
                Style::new(),
            );
            cells.put(
                buf,
                &format!("{:>4}", trace.services().len()),
                SVCS_W,
                Style::new(),
            );
            if selected {
                select_row(buf, row);
            }
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn render_header(sort: Sort, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    // The sorted column is marked ▼ (largest first).
    let arrow = |label: &str, column: Sort| {
        if sort == column {
            format!("{label}▼")
        } else {
            label.to_owned()
        }
    };
    let end = area.x + area.width;
    let mut cells = Cells {
        x: area.x,
        y: area.y,
        end,
    };
    let time = arrow(&format!("TIME ({})", format::zone()), Sort::Time);
    cells.put(buf, &time, TIME_W, HEADER);
    cells.put(buf, "SERVICE", SERVICE_W, HEADER);
    let fixed = DURATION_W + SPANS_W + SVCS_W;
    let name_w = end.saturating_sub(cells.x).saturating_sub(fixed).max(1);
    cells.put(buf, "ROOT SPAN", name_w, HEADER);
    let duration = arrow("DURATION", Sort::Duration);
    cells.put(buf, &format!("{duration:>9}"), DURATION_W, HEADER);
    let spans = arrow("SPANS", Sort::Spans);
    cells.put(buf, &format!("{spans:>6}"), SPANS_W, HEADER);
    cells.put(buf, &format!("{:>4}", "SVCS"), SVCS_W, HEADER);
}
