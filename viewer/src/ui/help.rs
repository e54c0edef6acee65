//! The help overlay: every key, from the keymap's own table.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use super::TITLE;
use crate::keymap::HELP;

pub fn render(area: Rect, buf: &mut Buffer) {
    let mut lines = Vec::new();
    let entries: usize = HELP.iter().map(|(_, keys)| keys.len() + 1).sum();
    // Blank lines between sections only where they fit (with the border).
    let spaced = entries + HELP.len() < area.height as usize;
    for (section, keys) in HELP {
        if spaced && !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(*section, TITLE));
        for (k, what) in *keys {
            lines.push(Line::from(vec![
                Span::styled(format!("  {k:<14}"), Style::new().fg(Color::Cyan)),
                Span::raw(*what),
            ]));
        }
    }
    let w = 70.min(area.width);
    let h = (lines.len() as u16 + 2).min(area.height);
    let popup = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    Clear.render(popup, buf);
    Paragraph::new(lines)
        .block(
            Block::new()
                .borders(Borders::ALL)
                .title(" keys · any key closes "),
        )
        .render(popup, buf);
}
