//! Styles, colours and small drawing helpers shared by every view.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};

use crate::model::Severity;

/// Colours given to services and series, in turn: the ten of the 16-colour set that are
/// neither grey, white, black nor the red of errors, then six of the 256-colour set.
const PALETTE: [Color; 16] = [
    Color::Cyan,
    Color::Green,
    Color::Yellow,
    Color::Magenta,
    Color::Blue,
    Color::LightGreen,
    Color::LightMagenta,
    Color::LightCyan,
    Color::LightYellow,
    Color::LightBlue,
    Color::Indexed(208), // orange
    Color::Indexed(141), // lavender
    Color::Indexed(37),  // teal
    Color::Indexed(178), // gold
    Color::Indexed(168), // pink
    Color::Indexed(107), // olive
];

/// How many of [`PALETTE`] this terminal shows: all of it where 256 colours are announced
/// (`TERM` with `256color`, or `COLORTERM`), the first ten otherwise.
fn palette() -> &'static [Color] {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let n = *N.get_or_init(|| {
        let term = std::env::var("TERM").unwrap_or_default();
        if term.contains("256color") || std::env::var_os("COLORTERM").is_some() {
            PALETTE.len()
        } else {
            10
        }
    });
    &PALETTE[..n]
}

/// Services in the order they were first drawn (at most [`MAX_SERVICES`]): the n-th gets the
/// n-th colour, so the first services seen all differ, and keep their colour for the session,
/// in every view.
#[derive(Default)]
struct Seen(Vec<Box<str>>);

const MAX_SERVICES: usize = 256;

impl Seen {
    /// The service's number: its order of first appearance (past the cap, a stable hash).
    fn number(&mut self, service: &str) -> usize {
        match self.0.iter().position(|s| &**s == service) {
            Some(n) => n,
            None if self.0.len() < MAX_SERVICES => {
                self.0.push(service.into());
                self.0.len() - 1
            }
            // FNV-1a: stable for the session too.
            None => service.bytes().fold(0x811c_9dc5_u32, |h, b| {
                (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
            }) as usize,
        }
    }
}

static SERVICES: parking_lot::Mutex<Seen> = parking_lot::Mutex::new(Seen(Vec::new()));

/// The colour of a service: by its order of first appearance in this session, the same in
/// every view.
#[must_use]
pub fn service_color(service: &str) -> Color {
    let palette = palette();
    palette[SERVICES.lock().number(service) % palette.len()]
}

/// The colour of the n-th series of a chart.
#[must_use]
pub fn series_color(n: usize) -> Color {
    let palette = palette();
    palette[n % palette.len()]
}

/// How a log severity is shown.
#[must_use]
pub fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Unspecified | Severity::Trace => DIM,
        Severity::Debug => Style::new().fg(Color::Blue),
        Severity::Info => Style::new().fg(Color::Green),
        Severity::Warn => Style::new().fg(Color::Yellow),
        Severity::Error => ERROR,
        Severity::Fatal => Style::new()
            .fg(Color::White)
            .bg(Color::Red)
            .add_modifier(Modifier::BOLD),
    }
}

pub const ERROR: Style = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
pub const DIM: Style = Style::new().fg(Color::DarkGray);
pub const TITLE: Style = Style::new().add_modifier(Modifier::BOLD);
pub const KEY: Style = Style::new().fg(Color::Gray);
pub const HEADER: Style = Style::new()
    .fg(Color::Gray)
    .add_modifier(Modifier::UNDERLINED);
pub const SELECTED: Style = Style::new()
    .bg(Color::DarkGray)
    .add_modifier(Modifier::BOLD);

/// Marks a row as selected: the selection's background, and every colour that would not read
/// on it lifted (dimmed text, tree guides, blue), so nothing on the selected row disappears, in
/// 16-colour terminals too.
pub fn select_row(buf: &mut Buffer, row: ratatui::layout::Rect) {
    let row = row.intersection(buf.area);
    for y in row.top()..row.bottom() {
        for x in row.left()..row.right() {
            let cell = &mut buf[(x, y)];
            cell.fg = match cell.fg {
                Color::DarkGray | Color::Black => Color::Gray,
                Color::Blue => Color::LightBlue,
                Color::Indexed(8) => Color::Gray,
                other => other,
            };
            cell.bg = SELECTED.bg.unwrap_or(Color::DarkGray);
            cell.modifier.insert(Modifier::BOLD);
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

/// Fixed-width cells written left to right along a row.
pub struct Cells {
    pub x: u16,
    pub y: u16,
    pub end: u16,
}

impl Cells {
    /// Writes a cell of `w` columns (its text, then a one-column gap): whole or not at all, so
    /// a column that does not fit is left out rather than cut (a number is never shown in
    /// part), and so is every cell after it; a text longer than its cell ends with `…`.
    pub fn put(&mut self, buf: &mut Buffer, text: &str, w: u16, style: Style) {
        if self.x.saturating_add(w.saturating_sub(1)) > self.end {
            self.x = self.end;
            return;
        }
        put_cut(buf, self.x, self.y, text, w.saturating_sub(1), style);
        self.x = (self.x + w).min(self.end);
    }
}

/// Writes `text` at (x, y) in `width` columns, ending with `…` when it is longer; returns the
/// column after it.
pub fn put_cut(buf: &mut Buffer, x: u16, y: u16, text: &str, width: u16, style: Style) -> u16 {
    use unicode_width::UnicodeWidthStr;
    if width == 0 {
        return x;
    }
    if text.width() <= usize::from(width) {
        return put(buf, x, y, text, width, style);
    }
    let x2 = put(buf, x, y, text, width - 1, style);
    put(buf, x2, y, "…", 1, style)
}

/// Takes the colours out of a drawn frame (`NO_COLOR`): a cell drawn on a coloured background
/// (a selection, a bar) is shown reversed instead; bold, dim and the like stay.
pub fn strip_colors(buf: &mut Buffer) {
    for cell in &mut buf.content {
        if cell.bg != Color::Reset {
            cell.modifier.insert(Modifier::REVERSED);
        }
        cell.fg = Color::Reset;
        cell.bg = Color::Reset;
    }
}

#[cfg(test)]
mod palette_tests {
    use super::*;

    #[test]
    fn the_first_services_seen_get_distinct_colours_and_keep_them() {
        let mut seen = Seen::default();
        let names = [
            "demo-client",
            "donut-shop",
            "jokes-api",
            "kitchen",
            "joke-source",
        ];
        let numbers: Vec<usize> = names.iter().map(|n| seen.number(n)).collect();
        assert_eq!(numbers, [0, 1, 2, 3, 4]);
        // Asked again, in another order: the same.
        for (name, n) in names.iter().zip(&numbers).rev() {
            assert_eq!(seen.number(name), *n);
        }
        // The palette's colours differ, and none is the red of errors or a grey.
        let mut distinct: Vec<String> = PALETTE.iter().map(|c| format!("{c:?}")).collect();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), PALETTE.len());
        assert!(PALETTE.len() >= 12);
        for c in [
            Color::Red,
            Color::LightRed,
            Color::DarkGray,
            Color::Gray,
            Color::White,
        ] {
            assert!(!PALETTE.contains(&c));
        }
        // Past the cap, still a colour, and the same each time.
        for i in 0..MAX_SERVICES {
            seen.number(&format!("s{i}"));
        }
        assert_eq!(seen.number("late"), seen.number("late"));
    }
}

#[cfg(test)]
mod selection_tests {
    use super::*;
    use ratatui::layout::Rect;

    #[test]
    fn dim_text_stays_readable_on_the_selected_row() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 4, 1));
        put(&mut buf, 0, 0, "ab", 2, DIM);
        put(&mut buf, 2, 0, "c", 1, Style::new().fg(Color::Blue));
        put(&mut buf, 3, 0, "d", 1, ERROR);
        select_row(&mut buf, Rect::new(0, 0, 4, 1));
        for x in 0..4 {
            let cell = &buf[(x, 0)];
            assert_ne!(cell.fg, cell.bg, "cell {x}");
            assert_ne!(cell.fg, Color::DarkGray);
            assert!(cell.modifier.contains(Modifier::BOLD));
        }
        assert_eq!(buf[(3, 0)].fg, Color::Red, "errors keep their colour");
    }
}

#[cfg(test)]
mod no_color_tests {
    use super::*;
    use ratatui::layout::Rect;

    #[test]
    fn no_color_keeps_selections_visible_as_reversed() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 3, 1));
        buf[(0, 0)].set_fg(Color::Red);
        buf[(1, 0)].set_bg(Color::Cyan).set_fg(Color::Black);
        buf[(2, 0)].set_style(Style::new().add_modifier(Modifier::BOLD));
        strip_colors(&mut buf);
        assert!(
            buf.content
                .iter()
                .all(|c| c.fg == Color::Reset && c.bg == Color::Reset)
        );
        assert!(!buf[(0, 0)].modifier.contains(Modifier::REVERSED));
        assert!(buf[(1, 0)].modifier.contains(Modifier::REVERSED));
        assert!(buf[(2, 0)].modifier.contains(Modifier::BOLD));
    }
}
