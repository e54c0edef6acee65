//! The input line, as a shell user expects it: what it is typed for (a filter, or the name of a
//! file to write to), its text with a cursor edited as readline edits (Left/Right, Home/End,
//! Ctrl-A/E/B/F, Alt-B/F by words, Backspace/Delete, Ctrl-W/U/K cut, Ctrl-Y yank), the previous
//! filter pre-selected (typing replaces it, a movement keeps it for editing), the query's error
//! and the Tab candidates; and the history of filters applied. No drawing here: the status bar
//! draws it.

use super::view::SaveTo;
use crate::query::QueryError;

/// Longest filter, and longest file name, in characters.
const MAX_FILTER: usize = 256;
const MAX_NAME: usize = 4096;
/// Filters kept in the history.
pub const HISTORY: usize = 100;

/// What the input line is typed for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum InputKind {
    /// A filter for the view shown (in a trace, its spans).
    #[default]
    Filter,
    /// The name of a file to write traces to.
    SaveTo(SaveTo),
}

/// An editing step, from a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    Insert(char),
    /// Delete the character before the cursor (Backspace, Ctrl-H).
    Backspace,
    /// Delete the character under the cursor (Delete, Ctrl-D).
    Delete,
    Left,
    Right,
    Home,
    End,
    WordLeft,
    WordRight,
    /// Cut the word before the cursor (Ctrl-W).
    CutWordBack,
    /// Cut from the start to the cursor (Ctrl-U).
    CutToStart,
    /// Cut from the cursor to the end (Ctrl-K).
    CutToEnd,
    /// Insert what was cut last (Ctrl-Y).
    Yank,
}

/// The line being typed.
#[derive(Clone, Debug, Default)]
pub struct InputLine {
    pub kind: InputKind,
    text: Vec<char>,
    /// Position of the cursor, in characters (0..=len).
    cursor: usize,
    /// The whole text is selected (the filter applied before): typing replaces it.
    selected: bool,
    /// What the last cut took, for Ctrl-Y.
    cut: String,
    /// What is wrong with the query typed, checked at each key.
    pub error: Option<QueryError>,
    /// Candidates of the last Tab, when it found several, and which one is in the text.
    pub completions: Vec<String>,
    pub completion_at: Option<usize>,
    /// What the candidates follow (`base + candidate` is the query with it chosen).
    pub completion_base: String,
    /// A hint on the query that is not an error (an unknown field: "did you mean service?").
    pub hint: Option<String>,
}

impl InputLine {
    /// A filter line starting from the filter applied now, selected.
    #[must_use]
    pub fn filter(current: Option<String>) -> Self {
        let mut line = Self::default();
        line.set_text(current.as_deref().unwrap_or(""));
        line.selected = !line.text.is_empty();
        line
    }

    /// A file-name line, with the name suggested (not selected: it is usually kept).
    #[must_use]
    pub fn save_to(target: SaveTo) -> Self {
        let mut line = Self::default();
        line.set_text(&target.name);
        line.kind = InputKind::SaveTo(target);
        line
    }

    #[must_use]
    pub fn text(&self) -> String {
        self.text.iter().collect()
    }

    #[must_use]
    pub fn chars(&self) -> &[char] {
        &self.text
    }

    #[must_use]
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    #[must_use]
    pub fn is_selected(&self) -> bool {
        self.selected
    }

    /// Replaces the text, the cursor at its end.
    pub fn set_text(&mut self, text: &str) {
        self.text = text.chars().collect();
        self.cursor = self.text.len();
        self.selected = false;
    }

    fn max(&self) -> usize {
        match self.kind {
            InputKind::Filter => MAX_FILTER,
            InputKind::SaveTo(_) => MAX_NAME,
        }
    }

    /// Applies an editing step; returns whether the text changed.
    pub fn edit(&mut self, edit: Edit) -> bool {
        let selected = std::mem::take(&mut self.selected);
        if selected {
            match edit {
                // Typing, deleting or cutting replaces the selection.
                Edit::Insert(_)
                | Edit::Backspace
                | Edit::Delete
                | Edit::CutWordBack
                | Edit::CutToStart
                | Edit::CutToEnd
                | Edit::Yank => {
                    if !matches!(edit, Edit::Insert(_) | Edit::Yank) {
                        self.cut = self.text();
                    }
                    self.text.clear();
                    self.cursor = 0;
                    if !matches!(edit, Edit::Insert(_) | Edit::Yank) {
                        return true;
                    }
                }
                // A movement keeps the text, for editing.
                _ => {}
            }
        }
        let before = self.text.len();
        match edit {
            Edit::Insert(c) => {
                if c.is_control() || self.text.len() >= self.max() {
                    return selected;
                }
                self.text.insert(self.cursor, c);
                self.cursor += 1;
            }
            Edit::Backspace => {
                if self.cursor > 0 {
                    self.cursor -= 1;
                    self.text.remove(self.cursor);
                }
            }
            Edit::Delete => {
                if self.cursor < self.text.len() {
                    self.text.remove(self.cursor);
                }
            }
            Edit::Left => self.cursor = self.cursor.saturating_sub(1),
            Edit::Right => self.cursor = (self.cursor + 1).min(self.text.len()),
            Edit::Home => self.cursor = 0,
            Edit::End => self.cursor = self.text.len(),
            Edit::WordLeft => self.cursor = self.word_start(self.cursor),
            Edit::WordRight => self.cursor = self.word_end(self.cursor),
            Edit::CutWordBack => {
                let from = self.word_start(self.cursor);
                self.cut_range(from, self.cursor);
            }
            Edit::CutToStart => self.cut_range(0, self.cursor),
            Edit::CutToEnd => self.cut_range(self.cursor, self.text.len()),
            Edit::Yank => {
                let room = self.max().saturating_sub(self.text.len());
                let cut: Vec<char> = self.cut.chars().take(room).collect();
                let n = cut.len();
                self.text.splice(self.cursor..self.cursor, cut);
                self.cursor += n;
            }
        }
        selected || self.text.len() != before || matches!(edit, Edit::Yank)
    }

    fn cut_range(&mut self, from: usize, to: usize) {
        if from < to {
            self.cut = self.text.drain(from..to).collect();
            self.cursor = from;
        }
    }

    /// Where the word before `at` starts (skipping separators first), as readline's Alt-B.
    fn word_start(&self, mut at: usize) -> usize {
        while at > 0 && !is_word(self.text[at - 1]) {
            at -= 1;
        }
        while at > 0 && is_word(self.text[at - 1]) {
            at -= 1;
        }
        at
    }

    /// Where the word after `at` ends, as readline's Alt-F.
    fn word_end(&self, mut at: usize) -> usize {
        let len = self.text.len();
        while at < len && !is_word(self.text[at]) {
            at += 1;
        }
        while at < len && is_word(self.text[at]) {
            at += 1;
        }
        at
    }

    /// The first visible character when `width` cells show the line: the cursor always in
    /// view, with a few characters of context before it when scrolled.
    #[must_use]
    pub fn scroll(&self, width: usize) -> usize {
        if width == 0 || self.cursor < width {
            return 0;
        }
        self.cursor + 1 - width
    }
}

/// Word characters for word movements: letters, digits and the characters of field names.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.'
}

/// Filters applied, oldest first (at most [`HISTORY`]), and the one recalled by Up/Down.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub items: Vec<String>,
    at: Option<usize>,
}

impl History {
    /// Remembers a filter applied (once, as the newest).
    pub fn push(&mut self, text: &str) {
        self.items.retain(|h| h != text);
        self.items.push(text.to_owned());
        if self.items.len() > HISTORY {
            self.items.remove(0);
        }
        self.at = None;
    }

    /// Starts a new walk from the newest.
    pub fn reset(&mut self) {
        self.at = None;
    }

    /// The previous (`older`) or next filter; `Some("")` past the newest.
    pub fn recall(&mut self, older: bool) -> Option<String> {
        if self.items.is_empty() {
            return None;
        }
        let last = self.items.len() - 1;
        self.at = match (self.at, older) {
            (None, true) => Some(last),
            (None, false) => None,
            (Some(i), true) => Some(i.saturating_sub(1)),
            (Some(i), false) if i < last => Some(i + 1),
            (Some(_), false) => None,
        };
        Some(self.at.map_or_else(String::new, |i| self.items[i].clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(start: &str, edits: &[Edit]) -> (String, usize) {
        let mut line = InputLine::filter(Some(start.to_owned()));
        for e in edits {
            line.edit(*e);
        }
        (line.text(), line.cursor())
    }

    fn keys(s: &str) -> Vec<Edit> {
        s.chars().map(Edit::Insert).collect()
    }

    #[test]
    fn the_old_filter_is_replaced_by_typing_and_kept_by_a_movement() {
        assert_eq!(typed("service=a", &keys("x")), ("x".into(), 1));
        let mut edits = vec![Edit::End];
        edits.extend(keys(" and x"));
        assert_eq!(typed("service=a", &edits), ("service=a and x".into(), 15));
        assert_eq!(typed("service=a", &[Edit::Backspace]), (String::new(), 0));
    }

    #[test]
    fn cursor_movement_and_insertion_in_the_middle() {
        let mut e = vec![Edit::Home];
        e.extend(keys("not "));
        assert_eq!(typed("status=error", &e), ("not status=error".into(), 4));
        let e = [Edit::Left, Edit::Left, Edit::Backspace, Edit::Delete];
        assert_eq!(typed("abcdef", &e), ("abcf".into(), 3));
        let e = [Edit::Home, Edit::Left, Edit::Right, Edit::Right];
        assert_eq!(typed("ab", &e).1, 2);
        assert_eq!(typed("ab", &[Edit::End, Edit::Right]).1, 2);
    }

    #[test]
    fn words_as_readline_moves_and_cuts_them() {
        let q = "service=checkout and http.route=/cart";
        let (_, at) = typed(q, &[Edit::End, Edit::WordLeft]);
        assert_eq!(at, q.find("cart").unwrap());
        let (_, at) = typed(q, &[Edit::End, Edit::WordLeft, Edit::WordLeft]);
        assert_eq!(at, q.find("http.route").unwrap());
        let (_, at) = typed(q, &[Edit::Home, Edit::WordRight, Edit::WordRight]);
        assert_eq!(at, q.find(" and").unwrap());
        let (t, _) = typed(q, &[Edit::End, Edit::CutWordBack]);
        assert_eq!(t, "service=checkout and http.route=/");
        let (t, _) = typed(q, &[Edit::End, Edit::CutWordBack, Edit::Home, Edit::Yank]);
        assert_eq!(t, "cartservice=checkout and http.route=/");
        let (t, at) = typed(q, &[Edit::Home, Edit::WordRight, Edit::CutToEnd]);
        assert_eq!((t.as_str(), at), ("service", 7));
        let (t, at) = typed(q, &[Edit::Home, Edit::WordRight, Edit::CutToStart]);
        assert_eq!((t.as_str(), at), ("=checkout and http.route=/cart", 0));
    }

    #[test]
    fn the_line_scrolls_to_keep_the_cursor_in_view() {
        let line = InputLine::filter(Some("x".repeat(100)));
        assert_eq!(line.scroll(40), 61);
        assert_eq!(line.scroll(200), 0);
        let mut line = line;
        line.edit(Edit::Home);
        assert_eq!(line.scroll(40), 0);
    }

    #[test]
    fn history_walks_older_and_newer() {
        let mut h = History::default();
        assert_eq!(h.recall(true), None);
        h.push("a");
        h.push("b");
        h.push("a");
        assert_eq!(h.items, vec!["b", "a"]);
        assert_eq!(h.recall(true).as_deref(), Some("a"));
        assert_eq!(h.recall(true).as_deref(), Some("b"));
        assert_eq!(h.recall(true).as_deref(), Some("b"));
        assert_eq!(h.recall(false).as_deref(), Some("a"));
        assert_eq!(h.recall(false).as_deref(), Some(""));
    }
}
