//! The contract every view implements, and what views and the app exchange: the tabs, the
//! context a view reads ([`Ctx`]), what a view asks of the app after an action ([`Outcome`]),
//! what new data did to it ([`Refresh`]). Views depend on this module, never on the app.

use std::any::Any;
use std::net::SocketAddr;
use std::time::Instant;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::action::Action;
use super::keymap::Binding;
use super::layout::{Areas, Shape, layout};
use crate::store::{Store, TraceRef};

/// The tabs, one per signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tab {
    Traces,
    Logs,
    Metrics,
}

impl Tab {
    pub const ALL: [Self; 3] = [Self::Traces, Self::Logs, Self::Metrics];

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Traces => "Traces",
            Self::Logs => "Logs",
            Self::Metrics => "Metrics",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Self::Traces => 0,
            Self::Logs => 1,
            Self::Metrics => 2,
        }
    }
}

/// What every view may read and the little it may change besides its own state.
#[derive(Debug)]
pub struct Ctx {
    pub grpc_addr: SocketAddr,
    pub http_addr: SocketAddr,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    /// A one-line notice for the status bar.
    pub notice: Option<String>,
    /// The time (unix ns) at the last refresh, for ages ("3s ago").
    pub now_ns: u64,
    /// The trace marked (`m`) as the first of a comparison (`C`).
    pub marked: Option<crate::model::TraceId>,
    /// Text for the clipboard (`y`), set by a view through [`super::clipboard::copy`]; the
    /// event loop writes it to the terminal as an OSC 52 escape after the frame, and clears it.
    pub clipboard: Option<String>,
}

impl Ctx {
    #[must_use]
    pub fn area(&self) -> Rect {
        Rect::new(0, 0, self.size.0, self.size.1)
    }

    /// The regions of a view of this shape on this terminal.
    #[must_use]
    pub fn layout(&self, shape: Shape) -> Areas {
        layout(self.area(), shape)
    }
}

/// What a view asks of the app after an action.
pub enum Outcome {
    /// Nothing more.
    Done,
    /// Close this view (never the root of a tab).
    Back,
    /// Show a new view on top of this one.
    Open(Box<dyn View>),
    /// Show a view on another tab (or this one), on top of that tab's list.
    Goto(Tab, Box<dyn View>),
    /// Ask for a file name (suggesting one) and write these traces to it.
    Save(SaveTo),
}

/// Traces to write to the file named in the input line (`w`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaveTo {
    pub traces: Vec<TraceRef>,
    /// What they are, for the prompt: "trace 4bf92f35…", "42 traces".
    pub what: String,
    /// The name suggested.
    pub name: String,
    /// A name entered that exists: entered again, the file is overwritten.
    pub confirm: Option<String>,
}

impl SaveTo {
    #[must_use]
    pub fn new(traces: Vec<TraceRef>, what: String, name: String) -> Self {
        Self {
            traces,
            what,
            name,
            confirm: None,
        }
    }

    /// Whether the name typed is one that exists and was entered once already.
    #[must_use]
    pub fn confirming(&self, typed: &str) -> bool {
        self.confirm.as_deref() == Some(typed.trim())
    }
}

/// What new data did to a view.
#[derive(Debug, PartialEq, Eq)]
pub enum Refresh {
    Unchanged,
    Changed,
    /// What the view shows is gone (evicted); the app closes it with this notice.
    Gone(&'static str),
}

/// A view: its state, its keys, its drawing. Drawing is read-only and builds only what is on
/// screen; the store is locked by the app around each call.
pub trait View: Any {
    /// The view's own keys (the app's common keys apply too).
    fn keys(&self) -> &'static [Binding];
    /// The section title of its keys in the help overlay.
    fn help_title(&self) -> &'static str;
    /// The regions it draws into.
    fn shape(&self) -> Shape;
    /// Carries out an action.
    fn update(&mut self, cx: &mut Ctx, store: &Store, action: &Action) -> Outcome;
    /// Takes in new data.
    fn refresh(&mut self, cx: &mut Ctx, store: &Store, now: Instant) -> Refresh;
    /// Draws the view.
    fn render(&self, cx: &Ctx, store: &Store, areas: &Areas, buf: &mut Buffer);
    /// The text `/` starts from, for views that take a filter or find text.
    fn filter_text(&self) -> Option<String> {
        None
    }
    /// The signal the filter text is a query over (checked as it is typed), if it is one.
    fn query_signal(&self) -> Option<crate::query::Signal> {
        None
    }
    fn as_any(&self) -> &dyn Any;
}
