//! The app: three tabs (Traces, Logs, Metrics), each a stack of views whose root is the tab's
//! list. It routes every action to the view shown, opens what a view asks for (on its own tab
//! or another), draws the tab strip, the status bar, the input line (a filter, or the name of
//! a file to write traces to, which it writes) and the help overlay, and measures the ingest
//! rate. Each view owns its state, its keys and its drawing (`views/`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Widget;

use super::action::Action;
pub use super::input::{Edit, History, InputKind, InputLine};
use super::keymap::{Binding, Mode};
use super::layout::layout;
use super::theme::put;
pub use super::view::{Ctx, Outcome, Refresh, SaveTo, Tab, View};
use super::views::{LogList, MetricList, TraceList, TraceView};
use super::{help, status_bar};
use crate::ingest::Counters;
use crate::server::{SharedStore, Totals};
use crate::store::Store;

/// Measures an ingest rate from a received counter.
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
    pub cx: Ctx,
    pub tab: Tab,
    /// Per tab, its views: the list first, the view shown last.
    stacks: [Vec<Box<dyn View>>; 3],
    /// The input line, while typing: a filter or a file name.
    pub input: Option<InputLine>,
    /// Filters applied, and the one recalled by Up/Down.
    pub history: History,
    /// The help overlay, when shown, and how far it is scrolled.
    pub help: Option<usize>,
    pub totals: Totals,
    rate: RateMeter,
    pub quit: bool,
    /// Where the time comes from (a fixed clock in tests).
    pub clock: fn() -> u64,
    /// Loading files, when any were named (shown in the status bar).
    pub load: Option<Arc<crate::server::load::LoadProgress>>,
    /// The Jaeger backend of `--jaeger`, searched again by `R` with the list's filter.
    pub jaeger: Option<crate::server::load::JaegerJob>,
    /// Whether the receivers run (not with `--no-listen`).
    pub listening: bool,
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
            cx: Ctx {
                grpc_addr,
                http_addr,
                size,
                notice: None,
                now_ns: crate::format::now_ns(),
                marked: None,
                clipboard: None,
            },
            tab: Tab::Traces,
            stacks: [
                vec![Box::new(TraceList::new())],
                vec![Box::new(LogList::new(None))],
                vec![Box::new(MetricList::new())],
            ],
            input: None,
            history: History::default(),
            help: None,
            totals: Totals::default(),
            rate: RateMeter::default(),
            quit: false,
            clock: crate::format::now_ns,
            load: None,
            jaeger: None,
            listening: true,
        }
    }

    /// Ingest rate, spans per second.
    #[must_use]
    pub fn rate(&self) -> f64 {
        self.rate.rate
    }

    /// What the status bar says.
    #[must_use]
    pub fn facts(&self) -> status_bar::Facts<'_> {
        status_bar::Facts {
            totals: &self.totals,
            rate: self.rate(),
            listening: self.listening,
            grpc_addr: self.cx.grpc_addr,
            http_addr: self.cx.http_addr,
            forward: &self.counters.forward,
            load: self.load.as_ref().and_then(|l| l.summary()),
            notice: self.cx.notice.as_deref(),
        }
    }

    /// The view shown.
    #[must_use]
    pub fn view(&self) -> &dyn View {
        let stack = &self.stacks[self.tab.index()];
        stack.last().expect("a tab always has its list").as_ref()
    }

    /// The view shown, if it is a `T`.
    #[must_use]
    pub fn view_as<T: View>(&self) -> Option<&T> {
        self.view().as_any().downcast_ref::<T>()
    }

    /// How many views deep the current tab is (1: its list).
    #[must_use]
    pub fn depth(&self) -> usize {
        self.stacks[self.tab.index()].len()
    }

    /// Which key table applies now.
    #[must_use]
    pub fn mode(&self) -> Mode {
        if self.help.is_some() {
            Mode::Help
        } else if self.input.is_some() {
            Mode::FilterInput
        } else {
            Mode::View
        }
    }

    /// The view's own keys.
    #[must_use]
    pub fn view_keys(&self) -> &'static [Binding] {
        self.view().keys()
    }

    /// Takes in new data: counters always; the view shown when it may move. Returns whether
    /// anything visible may have changed.
    pub fn refresh(&mut self, now: Instant) -> bool {
        self.cx.now_ns = (self.clock)();
        let store = Arc::clone(&self.store);
        let store = store.lock();
        let totals = Totals::read(&store, &self.counters);
        self.rate.sample(now, totals.store.traces.received);
        let mut changed = totals != self.totals;
        self.totals = totals;
        changed |= self.refresh_view(&store, now);
        changed
    }

    fn refresh_view(&mut self, store: &Store, now: Instant) -> bool {
        let i = self.tab.index();
        let Some(view) = self.stacks[i].last_mut() else {
            return false;
        };
        match view.refresh(&mut self.cx, store, now) {
            Refresh::Unchanged => false,
            Refresh::Changed => true,
            Refresh::Gone(notice) => {
                if self.stacks[i].len() > 1 {
                    self.stacks[i].pop();
                }
                self.cx.notice = Some(notice.into());
                // The view under it catches up at once.
                self.refresh_view(store, now);
                true
            }
        }
    }

    /// Carries out an action.
    pub fn update(&mut self, action: Action) {
        if !matches!(action, Action::Resize(..)) {
            self.cx.notice = None;
        }
        let max_scroll = help::max_scroll(self.view(), self.cx.area());
        if let Some(scroll) = &mut self.help {
            match action {
                Action::Quit => self.quit = true,
                Action::Down | Action::ScrollDown => *scroll = (*scroll + 1).min(max_scroll),
                Action::Up | Action::ScrollUp => *scroll = scroll.saturating_sub(1),
                Action::PageDown => *scroll = (*scroll + 10).min(max_scroll),
                Action::PageUp => *scroll = scroll.saturating_sub(10),
                Action::Top => *scroll = 0,
                Action::Bottom => *scroll = max_scroll,
                Action::Resize(w, h) => self.resize(w, h),
                Action::ToggleHelp | Action::Back => self.help = None,
                _ => {}
            }
            return;
        }
        match action {
            Action::Quit => self.quit = true,
            Action::ToggleHelp => self.help = Some(0),
            Action::Resize(w, h) => self.resize(w, h),
            Action::NextTab | Action::PrevTab | Action::GoTab(_) => {
                let next = match action {
                    Action::GoTab(t) => t,
                    _ => {
                        let step = if action == Action::NextTab { 1 } else { 2 };
                        Tab::ALL[(self.tab.index() + step) % Tab::ALL.len()]
                    }
                };
                self.show_tab(next);
            }
            Action::SearchJaeger => self.search_jaeger(),
            Action::StartFilter => {
                self.input = Some(InputLine::filter(self.view().filter_text()));
                self.history.reset();
                self.check_input();
            }
            Action::Edit(edit) => {
                let changed = self.input.as_mut().is_some_and(|line| line.edit(edit));
                if changed {
                    self.edited();
                }
            }
            Action::FilterComplete => self.complete_input(),
            Action::FilterHistory(older) => self.recall(older),
            Action::FilterCancel => {
                if self
                    .input
                    .as_ref()
                    .is_some_and(|l| matches!(l.kind, InputKind::SaveTo(_)))
                {
                    self.cx.notice = Some("nothing written".into());
                }
                self.input = None;
            }
            Action::FilterApply
                if self
                    .input
                    .as_ref()
                    .is_some_and(|l| matches!(l.kind, InputKind::SaveTo(_))) =>
            {
                self.save();
            }
            Action::FilterApply => {
                self.check_input();
                if self.input.as_ref().is_some_and(|l| l.error.is_some()) {
                    // Stay in the input, the error shown; the applied filter stays.
                    return;
                }
                let text = self.input.take().map(|l| l.text()).unwrap_or_default();
                let text = (!text.trim().is_empty()).then_some(text);
                if let Some(t) = &text {
                    self.history.push(t);
                }
                self.route(&Action::Apply(text));
            }
            Action::Click(x, y) if self.click_tab(x, y) => {}
            other => self.route(&other),
        }
    }

    /// With `--jaeger`: asks Jaeger for one trace by id, in the background (quietly: nothing
    /// found is nothing to say).
    fn fetch_trace(&mut self, id: crate::model::TraceId) {
        let Some(job) = &self.jaeger else { return };
        let busy = self
            .load
            .as_ref()
            .is_some_and(|l| !l.done.load(std::sync::atomic::Ordering::Relaxed));
        if busy {
            return;
        }
        let mut job = job.clone();
        job.filter = Some(format!("trace={id:032x}"));
        let progress = self
            .load
            .get_or_insert_with(|| Arc::new(crate::server::load::LoadProgress::default()));
        drop(crate::server::load::search_again(
            Arc::clone(&self.store),
            job,
            Arc::clone(progress),
        ));
    }

    /// `R`: the trace list's filter sent to Jaeger (`--jaeger`) as a search; what it finds
    /// joins the list as it arrives, the progress in the status bar.
    fn search_jaeger(&mut self) {
        let Some(job) = &self.jaeger else {
            self.cx.notice = Some(
                "no Jaeger to search: start the viewer with --jaeger http://HOST:16686".into(),
            );
            return;
        };
        let busy = self
            .load
            .as_ref()
            .is_some_and(|l| !l.done.load(std::sync::atomic::Ordering::Relaxed));
        if busy {
            self.cx.notice = Some("still loading: wait for it to finish".into());
            return;
        }
        let filter = self.stacks[0]
            .first()
            .and_then(|v| v.as_any().downcast_ref::<TraceList>())
            .and_then(|l| l.filter.clone());
        let mut job = job.clone();
        job.filter = filter;
        let progress = self
            .load
            .get_or_insert_with(|| Arc::new(crate::server::load::LoadProgress::default()));
        self.cx.notice = Some(format!(
            "searching {} for {}",
            job.name(),
            job.filter.as_deref().unwrap_or("every trace")
        ));
        drop(crate::server::load::search_again(
            Arc::clone(&self.store),
            job,
            Arc::clone(progress),
        ));
    }

    /// Applies a filter to the view shown as if typed (`--filter`), when it is valid there.
    pub fn apply_filter(&mut self, text: String) {
        let mut line = InputLine::filter(None);
        line.set_text(&text);
        self.input = Some(line);
        self.update(Action::FilterApply);
        self.input = None;
    }

    /// The text of the input line, while typing.
    #[must_use]
    pub fn input_text(&self) -> Option<String> {
        self.input.as_ref().map(InputLine::text)
    }

    /// The input line's text changed: completions go, the query is checked again, a file name
    /// has to be confirmed again.
    fn edited(&mut self) {
        if let Some(line) = &mut self.input {
            line.completions.clear();
            line.completion_at = None;
            if let InputKind::SaveTo(target) = &mut line.kind {
                target.confirm = None;
            }
        }
        self.check_input();
    }

    /// Enter on a file name: writes the traces there and says how it went. A name that exists
    /// is refused once (the prompt says so); entered again, the file is overwritten.
    fn save(&mut self) {
        let Some(line) = &mut self.input else { return };
        let name = line.text().trim().to_owned();
        let InputKind::SaveTo(target) = &mut line.kind else {
            return;
        };
        if name.is_empty() {
            return;
        }
        let path = super::save::path_of(&name);
        let overwrite = target.confirming(&name);
        if !overwrite && std::fs::symlink_metadata(&path).is_ok() {
            target.confirm = Some(name);
            return;
        }
        let traces = std::mem::take(&mut target.traces);
        self.input = None;
        let shown = crate::format::safe(&name);
        self.cx.notice = Some(
            match super::save::write(&self.store, &traces, &path, overwrite) {
                Ok(w) => format!(
                    "wrote {} trace{} ({} span{}) to {shown}",
                    crate::format::count(w.traces as u64),
                    if w.traces == 1 { "" } else { "s" },
                    crate::format::count(w.spans as u64),
                    if w.spans == 1 { "" } else { "s" },
                ),
                Err(e) => format!("cannot write {shown}: {}", super::save::error_text(&e)),
            },
        );
    }

    /// Checks the query being typed against the view's signal.
    fn check_input(&mut self) {
        let signal = self.view().query_signal();
        let Some(line) = &mut self.input else { return };
        (line.error, line.hint) = match (&line.kind, signal) {
            (InputKind::Filter, Some(signal)) => {
                let store = self.store.lock();
                let text = line.text();
                match crate::query::check(signal, &text, &store) {
                    // Valid, but a key no one sends is worth a word: it may be a typo.
                    Ok(()) => (None, crate::query::hint(signal, &text, &store)),
                    Err(e) => (Some(e), None),
                }
            }
            _ => (None, None),
        };
    }

    /// Tab in the filter: completes the field, key or value being typed; when several fit,
    /// they are listed, and each Tab after that puts the next one in.
    fn complete_input(&mut self) {
        let Some(signal) = self.view().query_signal() else {
            return;
        };
        let Some(line) = &mut self.input else { return };
        if !matches!(line.kind, InputKind::Filter) {
            return;
        }
        if !line.completions.is_empty() {
            let next = line
                .completion_at
                .map_or(0, |i| (i + 1) % line.completions.len());
            let text = format!("{}{}", line.completion_base, line.completions[next]);
            line.set_text(&text);
            line.completion_at = Some(next);
        } else {
            let done = {
                let store = self.store.lock();
                crate::query::complete(signal, &line.text(), &store)
            };
            line.set_text(&done.text);
            line.completions = done.candidates;
            line.completion_base = done.base;
            line.completion_at = None;
        }
        self.check_input();
    }

    /// Up/Down in the filter: the previous or next query applied.
    fn recall(&mut self, older: bool) {
        let Some(line) = &mut self.input else { return };
        if !matches!(line.kind, InputKind::Filter) {
            return;
        }
        let Some(text) = self.history.recall(older) else {
            return;
        };
        line.set_text(&text);
        line.completions.clear();
        self.check_input();
    }

    /// Hands an action to the view shown and carries out what it asks.
    fn route(&mut self, action: &Action) {
        let store = Arc::clone(&self.store);
        let store = store.lock();
        let i = self.tab.index();
        let outcome = {
            let view = self.stacks[i]
                .last_mut()
                .expect("a tab always has its list");
            view.update(&mut self.cx, &store, action)
        };
        match outcome {
            Outcome::Done => {}
            Outcome::Back => {
                if self.stacks[i].len() > 1 {
                    self.stacks[i].pop();
                    self.refresh_view(&store, Instant::now());
                }
            }
            // A new view catches up with the data at once, so it never draws empty.
            Outcome::Open(view) => {
                // A trace opened from the list, with a Jaeger to ask: fetched again by id, so
                // spans Jaeger got since the search join it.
                let opened = (i == 0 && self.stacks[i].len() == 1)
                    .then(|| {
                        view.as_any()
                            .downcast_ref::<TraceView>()
                            .map(|v| v.trace_id)
                    })
                    .flatten();
                self.stacks[i].push(view);
                self.refresh_view(&store, Instant::now());
                drop(store);
                if let Some(id) = opened {
                    self.fetch_trace(id);
                }
            }
            Outcome::Goto(tab, view) => {
                let stack = &mut self.stacks[tab.index()];
                stack.truncate(1);
                stack.push(view);
                self.tab = tab;
                self.refresh_view(&store, Instant::now());
            }
            Outcome::Save(target) => self.input = Some(InputLine::save_to(target)),
        }
    }

    /// Shows a tab; its view catches up with new data at once.
    fn show_tab(&mut self, tab: Tab) {
        self.tab = tab;
        let store = Arc::clone(&self.store);
        let store = store.lock();
        self.refresh_view(&store, Instant::now());
    }

    fn resize(&mut self, w: u16, h: u16) {
        self.cx.size = (w, h);
        let store = Arc::clone(&self.store);
        let store = store.lock();
        for view in self.stacks.iter_mut().flatten() {
            view.update(&mut self.cx, &store, &Action::Resize(w, h));
        }
    }

    /// Switches tab on a click on the tab strip; returns whether the click was there.
    fn click_tab(&mut self, x: u16, y: u16) -> bool {
        let tabs = self.cx.layout(self.view().shape()).tabs;
        if y != tabs.y || x < tabs.x || x >= tabs.x + tabs.width {
            return false;
        }
        let mut from = tabs.x;
        for tab in Tab::ALL {
            let w = tab_label(tab).chars().count() as u16;
            if x < from + w {
                self.show_tab(tab);
                return true;
            }
            from += w;
        }
        true
    }
}

fn tab_label(tab: Tab) -> String {
    format!(" {} ", tab.label())
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let view = self.view();
        let areas = layout(area, view.shape());
        let counts = {
            let store = self.store.lock();
            view.render(&self.cx, &store, &areas, buf);
            let s = store.stats();
            [s.traces.traces, s.logs.records, s.metrics.metrics]
        };
        render_tabs(self.tab, counts, areas.tabs, buf);
        status_bar::render(&self.facts(), self.input.as_ref(), areas.status, buf);
        if let Some(scroll) = self.help {
            help::render(self.view(), scroll, area, buf);
        }
    }
}

fn render_tabs(current: Tab, counts: [u64; 3], area: Rect, buf: &mut Buffer) {
    if area.width == 0 {
        return;
    }
    let mut x = area.x;
    let end = area.x + area.width;
    for (tab, n) in Tab::ALL.into_iter().zip(counts) {
        let style = if tab == current {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD)
        } else if n == 0 {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().fg(Color::Gray)
        };
        x = put(
            buf,
            x,
            area.y,
            &tab_label(tab),
            end.saturating_sub(x),
            style,
        );
    }
    put(
        buf,
        x,
        area.y,
        "│",
        end.saturating_sub(x),
        Style::new().fg(Color::DarkGray),
    );
}

#[cfg(test)]
mod analysis_tests;
#[cfg(test)]
mod export_tests;
#[cfg(test)]
mod small_tests;
#[cfg(test)]
pub(crate) mod tests;
