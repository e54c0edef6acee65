//! A scrollable selection over rows, shared by every list-like view.

use ratatui::layout::Rect;

use super::action::Action;
use super::layout::row_at;

/// A selection over `len` rows, shown `height` rows at a time from `offset`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    pub selected: usize,
    pub offset: usize,
}

impl Cursor {
    /// Keeps the selection within the rows and on screen.
    pub fn clamp(&mut self, len: usize, height: usize) {
        self.selected = self.selected.min(len.saturating_sub(1));
        let height = height.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        self.offset = self.offset.min(len.saturating_sub(height));
    }

    /// Moves for a navigation action (and keeps to the screen on a resize); returns whether the
    /// action was one.
    pub fn apply(&mut self, action: &Action, len: usize, height: usize) -> bool {
        let page = height.max(1);
        match action {
            Action::Resize(..) => {}
            Action::Up | Action::ScrollUp => self.selected = self.selected.saturating_sub(1),
            Action::Down | Action::ScrollDown => self.selected += 1,
            Action::PageUp => self.selected = self.selected.saturating_sub(page),
            Action::PageDown => self.selected += page,
            Action::Top => self.selected = 0,
            Action::Bottom => self.selected = len.saturating_sub(1),
            _ => return false,
        }
        self.clamp(len, height);
        true
    }

    /// Selects the row of `len` shown in `body` that a click at `(x, y)` fell on; returns true
    /// when it was selected already (a second click, which opens it).
    pub fn click(&mut self, body: Rect, len: usize, x: u16, y: u16) -> bool {
        let Some(row) = row_at(body, x, y) else {
            return false;
        };
        let idx = self.offset + row;
        if idx >= len {
            return false;
        }
        let again = idx == self.selected;
        self.selected = idx;
        again
    }

    /// The rows on screen: `offset..offset + height`, within `len`.
    #[must_use]
    pub fn visible(&self, len: usize, height: usize) -> std::ops::Range<usize> {
        let start = self.offset.min(len);
        start..(start + height).min(len)
    }
}

/// A scroll position over text of `len` lines shown `height` at a time, clamped on every move
/// (so End then Up moves up at once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scroll {
    pub top: usize,
}

impl Scroll {
    /// Scrolls for a navigation action; returns whether the action was one.
    pub fn apply(&mut self, action: &Action, len: usize, height: usize) -> bool {
        let page = height.max(1);
        let max = len.saturating_sub(height);
        match action {
            Action::Up | Action::ScrollUp => self.top = self.top.saturating_sub(1),
            Action::Down | Action::ScrollDown => self.top += 1,
            Action::PageUp => self.top = self.top.saturating_sub(page),
            Action::PageDown => self.top += page,
            Action::Top => self.top = 0,
            Action::Bottom => self.top = max,
            _ => return false,
        }
        self.top = self.top.min(max);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolling_past_the_end_is_clamped_so_up_moves_at_once() {
        let mut s = Scroll::default();
        s.apply(&Action::Bottom, 100, 10);
        assert_eq!(s.top, 90);
        s.apply(&Action::Up, 100, 10);
        assert_eq!(s.top, 89);
        s.apply(&Action::PageDown, 100, 10);
        s.apply(&Action::PageDown, 100, 10);
        assert_eq!(s.top, 90);
        s.apply(&Action::Down, 5, 10);
        assert_eq!(s.top, 0, "text shorter than the screen does not scroll");
    }

    #[test]
    fn the_cursor_stays_on_screen() {
        let mut c = Cursor::default();
        c.apply(&Action::Bottom, 100, 10);
        assert_eq!((c.selected, c.offset), (99, 90));
        c.apply(&Action::Top, 100, 10);
        assert_eq!((c.selected, c.offset), (0, 0));
        c.apply(&Action::PageDown, 100, 10);
        assert_eq!(c.selected, 10);
        assert_eq!(c.visible(100, 10), 1..11);
        c.clamp(3, 10);
        assert_eq!((c.selected, c.offset), (2, 0));
    }
}
