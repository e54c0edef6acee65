//! Styles, colours and small drawing helpers shared by every view.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};

use crate::model::Severity;

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

/// The colour of the n-th series of a chart.
#[must_use]
pub fn series_color(n: usize) -> Color {
    PALETTE[n % PALETTE.len()]
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
    pub fn put(&mut self, buf: &mut Buffer, text: &str, w: u16, style: Style) {
        let w = w.min(self.end.saturating_sub(self.x));
        put(buf, self.x, self.y, text, w.saturating_sub(1), style);
        self.x += w;
    }
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
