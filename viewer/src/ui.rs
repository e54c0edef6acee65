//! Read-only drawing of [`App`]: one file per view; only visible rows are built.

pub mod help;
pub mod span_detail;
pub mod status_bar;
pub mod trace_list;
pub mod trace_view;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Widget;

use crate::app::{App, Screen};

/// The screen's regions. Zero-sized where a region does not apply or does not fit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    pub title: Rect,
    pub header: Rect,
    pub body: Rect,
    pub detail: Rect,
    pub status: Rect,
}

/// Where everything goes; shared by drawing and by mouse handling.
#[must_use]
pub fn layout(area: Rect, screen: Screen, detail_pane: bool) -> Areas {
    let [title, rest, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    match screen {
        Screen::List => {
            let [header, body] =
                Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(rest);
            Areas {
                title,
                header,
                body,
                detail: Rect::default(),
                status,
            }
        }
        Screen::Trace => {
            let (top, detail) = if detail_pane {
                let [top, detail] =
                    Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)])
                        .areas(rest);
                (top, detail)
            } else {
                (rest, Rect::default())
            };
            let [header, body] =
                Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(top);
            Areas {
                title,
                header,
                body,
                detail,
                status,
            }
        }
        Screen::Detail => Areas {
            title,
            header: Rect::default(),
            body: rest,
            detail: Rect::default(),
            status,
        },
    }
}

/// Colours given to services, in turn.
const PALETTE: [Color; 8] = [
    Color::Cyan,
    Color::Green,
    Color::Yellow,
    Color::Magenta,
    Color::Blue,
    Color::LightCyan,
    Color::LightGreen,
    Color::LightMagenta,
];

/// The colour of a service, from its name: the same in every view, across compactions of the
/// catalog (which renumber symbols) and from one run to the next.
#[must_use]
pub fn service_color(service: &str) -> Color {
    // FNV-1a: tiny, and stable across Rust versions (the standard hasher is not promised to be).
    let h = service.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    PALETTE[h as usize % PALETTE.len()]
}

pub const ERROR: Style = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
pub const DIM: Style = Style::new().fg(Color::DarkGray);
pub const TITLE: Style = Style::new().add_modifier(Modifier::BOLD);
pub const HEADER: Style = Style::new()
    .fg(Color::Gray)
    .add_modifier(Modifier::UNDERLINED);
pub const SELECTED: Style = Style::new()
    .bg(Color::DarkGray)
    .add_modifier(Modifier::BOLD);

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let areas = layout(area, self.screen, self.detail_pane());
        {
            let store = self.store.lock();
            match self.screen {
                Screen::List => trace_list::render(self, &store, &areas, buf),
                Screen::Trace => trace_view::render(self, &store, &areas, buf),
                Screen::Detail => span_detail::render_full(self, &store, &areas, buf),
            }
        }
        status_bar::render(self, areas.status, buf);
        if self.help {
            help::render(area, buf);
        }
    }
}

/// Writes `text` at (x, y), cut to `width` columns; returns the column after it.
pub fn put(buf: &mut Buffer, x: u16, y: u16, text: &str, width: u16, style: Style) -> u16 {
    if width == 0 {
        return x;
    }
    buf.set_stringn(x, y, text, width as usize, style).0
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use insta::assert_snapshot;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use crate::action::Action;
    use crate::app::tests::app_with;
    use crate::model::{OwnedEvent, OwnedLink, SpanKind, StatusCode, Value};
    use crate::store::Store;
    use crate::store::tests::{batch, span};

    const T0: u64 = 1_700_000_000_000_000_000;

    fn sample_store() -> Store {
        let mut store = Store::new(1000);
        let mut root = span(0xaaaa, 1, 0, T0, T0 + 120_000_000, "GET /checkout");
        root.kind = SpanKind::Server;
        root.attrs = vec![
            ("http.request.method".into(), Value::Str("GET".into())),
            ("http.response.status_code".into(), Value::Int(500)),
        ];
        root.status = StatusCode::Error;
        root.status_message = "payment failed".into();
        root.events = vec![OwnedEvent {
            time: T0 + 100_000_000,
            name: "exception".into(),
            attrs: vec![(
                "exception.message".into(),
                Value::Str("card declined".into()),
            )],
        }];
        root.links = vec![OwnedLink {
            trace_id: 0xbbbb,
            span_id: 7,
            attrs: vec![],
        }];
        let mut call = span(0xaaaa, 2, 1, T0 + 10_000_000, T0 + 90_000_000, "POST /pay");
        call.kind = SpanKind::Client;
        store.ingest(batch("frontend", vec![root, call]));
        let mut pay = span(0xaaaa, 3, 2, T0 + 15_000_000, T0 + 85_000_000, "pay");
        pay.kind = SpanKind::Server;
        pay.status = StatusCode::Error;
        let db = span(
            0xaaaa,
            4,
            3,
            T0 + 20_000_000,
            T0 + 40_000_000,
            "SELECT cards",
        );
        let orphan = span(
            0xaaaa,
            5,
            99,
            T0 + 50_000_000,
            T0 + 60_000_000,
            "late\x1b[2J",
        );
        store.ingest(batch("payments", vec![pay, db, orphan]));
        store.ingest(batch(
            "worker",
            vec![span(
                0xcccc,
                1,
                0,
                T0 + 200_000_000,
                T0 + 201_500_000,
                "tick",
            )],
        ));
        store
    }

    fn draw(app: &crate::app::App) -> String {
        let mut terminal = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
        terminal.draw(|f| f.render_widget(app, f.area())).unwrap();
        let buf = terminal.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..buf.area.height {
            let mut line = String::new();
            for x in 0..buf.area.width {
                line.push_str(buf[(x, y)].symbol());
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    #[test]
    fn empty_state_says_how_to_send_data() {
        let app = app_with(Store::new(10), (80, 16));
        let screen = draw(&app);
        assert!(screen.contains("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317"));
        assert_snapshot!(screen);
    }

    #[test]
    fn trace_list() {
        let app = app_with(sample_store(), (100, 10));
        assert_snapshot!(draw(&app));
    }

    #[test]
    fn trace_view_with_detail_pane() {
        let mut app = app_with(sample_store(), (110, 30));
        app.update(Action::Down);
        app.update(Action::Open);
        app.update(Action::Down);
        assert_snapshot!(draw(&app));
    }

    #[test]
    fn span_detail_full_screen() {
        let mut app = app_with(sample_store(), (90, 30));
        app.update(Action::Down);
        app.update(Action::Open);
        app.update(Action::Open);
        assert_snapshot!(draw(&app));
    }

    #[test]
    fn help_overlay() {
        let mut app = app_with(sample_store(), (90, 40));
        app.update(Action::ToggleHelp);
        assert_snapshot!(draw(&app));
    }

    #[test]
    fn help_fits_a_classic_80x24_terminal() {
        let mut app = app_with(sample_store(), (80, 24));
        app.update(Action::ToggleHelp);
        let screen = draw(&app);
        for (_, keys) in crate::keymap::HELP {
            for (_, what) in *keys {
                assert!(screen.contains(what), "{what:?} missing:\n{screen}");
            }
        }
    }

    #[test]
    fn filter_input_line() {
        let mut app = app_with(sample_store(), (90, 8));
        app.update(Action::StartFilter);
        app.update(Action::FilterChar('p'));
        app.update(Action::FilterChar('a'));
        assert!(draw(&app).contains("/pa"));
        app.update(Action::FilterApply);
        let screen = draw(&app);
        assert!(screen.contains("GET /checkout"));
        assert!(!screen.contains("tick"));
        assert!(screen.contains("filter: pa"));
    }

    #[test]
    fn tiny_terminals_do_not_panic() {
        for (w, h) in [(20, 5), (1, 1), (0, 0), (5, 20), (20, 2)] {
            let mut app = app_with(sample_store(), (w, h));
            draw(&app);
            app.update(Action::Open);
            draw(&app);
            app.update(Action::Open);
            draw(&app);
            app.update(Action::ToggleHelp);
            draw(&app);
        }
        let app = app_with(sample_store(), (20, 5));
        assert_snapshot!(draw(&app));
    }

    #[test]
    fn escape_sequences_in_span_names_never_reach_the_terminal() {
        let mut app = app_with(sample_store(), (110, 30));
        app.update(Action::Down);
        app.update(Action::Open);
        let screen = draw(&app);
        assert!(!screen.contains('\x1b'));
        assert!(screen.contains("late\\x1b[2J"));
        app.refresh(Instant::now());
    }
}
