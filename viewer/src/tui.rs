//! The terminal UI. This file: terminal set-up, the event loop, and a restore that runs on
//! quit, on signals and on panic. `app` routes between the views (`views/`, one module each,
//! owning its state, keys and drawing); `layout` says where everything goes; `keymap` holds the
//! keys every view shares; `theme`, `cursor`, `help`, `status_bar` and `widgets/` are shared pieces.

pub mod action;
pub mod app;
pub mod clipboard;
pub mod cursor;
pub mod fit;
pub mod help;
pub mod input;
pub mod keymap;
pub mod layout;
pub mod save;
pub mod status_bar;
pub mod theme;
pub mod view;
pub mod views;
pub mod widgets;

use std::io::{self, BufWriter, IsTerminal, Stdout};
use std::sync::Once;
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture, EventStream};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::config::Config;
use crate::server::Viewer;
use app::App;

/// The terminal, written through a buffer so a frame leaves in one write (stdout's own buffer
/// writes every 1 KiB).
type Term = Terminal<CrosstermBackend<BufWriter<Stdout>>>;

/// New data is shown at most this often; input is drawn as soon as it is handled.
const FRAME: Duration = Duration::from_millis(16);

/// Runs the terminal UI until the user quits or a signal arrives.
pub async fn run(config: Config) -> anyhow::Result<()> {
    if !io::stdout().is_terminal() {
        anyhow::bail!(
            "standard output is not a terminal; use --headless to run without the terminal UI"
        );
    }
    let filter = config.filter.clone();
    // The first search (with --filter) is the loader's; `R` sends the list's filter.
    let jaeger =
        crate::server::load::JaegerJob::of(&config).map(|job| crate::server::load::JaegerJob {
            filter: None,
            ..job
        });
    let viewer = Viewer::start(config).await?;
    let mut terminal = init().context("cannot set up the terminal")?;
    let guard = RestoreGuard;
    let result = event_loop(&mut terminal, &viewer, filter, jaeger).await;
    drop(guard);
    // The terminal is back: a drain of --forward says so on stderr, and Ctrl-C cuts it short.
    viewer.stop_or(crate::signals::terminate()).await;
    result
}

async fn event_loop(
    terminal: &mut Term,
    viewer: &Viewer,
    filter: Option<String>,
    jaeger: Option<crate::server::load::JaegerJob>,
) -> anyhow::Result<()> {
    let size = terminal.size()?;
    let mut app = App::new(
        std::sync::Arc::clone(viewer.store()),
        viewer.counters(),
        viewer.grpc_addr(),
        viewer.http_addr(),
        (size.width, size.height),
    );
    app.load = Some(viewer.load_progress());
    app.jaeger = jaeger;
    app.listening = viewer.listening();
    if let Some(filter) = filter {
        app.apply_filter(filter);
    }
    let mut events = EventStream::new();
    let mut frames = tokio::time::interval(FRAME);
    frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let terminate = crate::signals::terminate();
    tokio::pin!(terminate);
    let mut dirty = true;
    // Inside tmux, clipboard escapes are also sent through tmux's passthrough.
    let tmux = std::env::var_os("TMUX").is_some_and(|v| !v.is_empty());
    // Fault injection for the terminal-restore test; debug builds only.
    let panic_in_draw =
        cfg!(debug_assertions) && std::env::var_os("VIEWER_DEBUG_PANIC_IN_DRAW").is_some();
    // https://no-color.org: set and not empty, no colours (selections and bars reversed).
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let draw = |terminal: &mut Term, app: &App| {
        terminal
            .draw(|f| {
                assert!(!panic_in_draw, "injected panic while drawing");
                f.render_widget(app, f.area());
                if no_color {
                    theme::strip_colors(f.buffer_mut());
                }
            })
            .map(|_| ())
    };
    while !app.quit {
        tokio::select! {
            () = &mut terminate => break,
            event = events.next() => match event {
                Some(Ok(event)) => {
                    if let Some(action) = keymap::action_for(app.mode(), app.view_keys(), &event) {
                        app.update(action);
                        // Drawn now rather than on the next tick: a key's effect shows at once
                        // (a frame takes well under a millisecond: docs/BENCHMARKS.md).
                        if !app.quit {
                            draw(terminal, &app)?;
                            send_clipboard(terminal, &mut app, tmux)?;
                        }
                    }
                }
                Some(Err(e)) => return Err(e).context("reading terminal input"),
                None => break,
            },
            _ = frames.tick() => {
                dirty |= app.refresh(Instant::now());
                if dirty {
                    draw(terminal, &app)?;
                    dirty = false;
                }
            }
        }
    }
    Ok(())
}

/// Writes what a view copied (`Ctx::clipboard`) to the terminal as an OSC 52 escape, after the
/// frame, and clears it.
fn send_clipboard(terminal: &mut Term, app: &mut App, tmux: bool) -> anyhow::Result<()> {
    use std::io::Write;
    let Some(text) = app.cx.clipboard.take() else {
        return Ok(());
    };
    let out = terminal.backend_mut();
    out.write_all(clipboard::escape(&text, tmux).as_bytes())
        .and_then(|()| out.flush())
        .context("writing the clipboard escape")
}

/// Raw mode, alternate screen, mouse capture; and a panic hook that undoes them first.
fn init() -> io::Result<Term> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
    enable_raw_mode()?;
    let mut stdout = io::stdout();
    if let Err(e) = execute!(stdout, EnterAlternateScreen, EnableMouseCapture) {
        restore();
        return Err(e);
    }
    Terminal::new(CrosstermBackend::new(BufWriter::with_capacity(
        1 << 16,
        stdout,
    )))
}

/// Puts the terminal back as it was. Safe to call more than once.
pub fn restore() {
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
}

/// Restores the terminal when dropped, whatever the way out.
struct RestoreGuard;

impl Drop for RestoreGuard {
    fn drop(&mut self) {
        restore();
    }
}
