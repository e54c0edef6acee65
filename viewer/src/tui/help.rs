//! The help overlay: every key, drawn from the same tables the keys are read from: the keys
//! every view shares, the view shown, then every other view's.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use super::keymap::{Binding, COMMON};
use super::theme::TITLE;
use super::view::View;
use super::views::KEY_TABLES;

/// The overlay's lines: sections of (keys, what they do).
#[must_use]
pub fn lines(current: &dyn View) -> Vec<Line<'static>> {
    let mut sections: Vec<(&str, &[Binding])> = vec![
        ("Everywhere", COMMON),
        (current.help_title(), current.keys()),
    ];
    for (title, keys) in KEY_TABLES {
        if *title != current.help_title() {
            sections.push((title, keys));
        }
    }
    let mut lines = Vec::new();
    for (section, keys) in sections {
        if !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(section, TITLE));
        // A binding whose keys are shown with another's has an empty label.
        for b in keys.iter().filter(|b| !b.keys.is_empty()) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<14}", b.keys), Style::new().fg(Color::Cyan)),
                Span::raw(b.what),
            ]));
        }
    }
    lines
}

/// The furthest the overlay scrolls on a terminal of `area`: its last page at the bottom.
#[must_use]
pub fn max_scroll(current: &dyn View, area: Rect) -> usize {
    let n = lines(current).len();
    let inner_h = (n as u16 + 2).min(area.height).saturating_sub(2) as usize;
    n.saturating_sub(inner_h)
}

pub fn render(current: &dyn View, scroll: usize, area: Rect, buf: &mut Buffer) {
    let lines = lines(current);
    let w = 76.min(area.width);
    let h = (lines.len() as u16 + 2).min(area.height);
    let popup = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    let inner_h = h.saturating_sub(2) as usize;
    let scroll = scroll.min(lines.len().saturating_sub(inner_h));
    let title = " keys · j/k scroll · g/G top/end · ? or Esc closes ";
    Clear.render(popup, buf);
    Paragraph::new(lines)
        .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0))
        .block(Block::new().borders(Borders::ALL).title(title))
        .render(popup, buf);
}
