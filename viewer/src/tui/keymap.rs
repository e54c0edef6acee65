//! Keys and mouse events to actions. The keys every view shares are here; each view keeps its
//! own table ([`Binding`]s) beside its state, and the help overlay is drawn from the same tables,
//! so a key and its help cannot drift apart.

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::action::Action;
use super::input::Edit;
use super::view::Tab;

/// One key binding: the keys, what they do, and how the help overlay shows them.
pub struct Binding {
    pub codes: &'static [KeyCode],
    pub action: Action,
    /// The keys as the help shows them.
    pub keys: &'static str,
    pub what: &'static str,
}

/// The action a table binds to a key, if any.
#[must_use]
pub fn lookup(bindings: &[Binding], code: KeyCode) -> Option<Action> {
    bindings
        .iter()
        .find(|b| b.codes.contains(&code))
        .map(|b| b.action.clone())
}

/// What the keyboard is talking to, beyond the view shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The view shown.
    View,
    /// Typing into the input line: a filter, or a file name (`App::input_kind`).
    FilterInput,
    /// The help overlay is shown.
    Help,
}

/// The keys every view shares.
pub static COMMON: &[Binding] = &[
    Binding {
        codes: &[KeyCode::Tab],
        action: Action::NextTab,
        keys: "Tab S-Tab",
        what: "next / previous tab: Traces, Logs, Metrics",
    },
    Binding {
        codes: &[KeyCode::BackTab],
        action: Action::PrevTab,
        keys: "",
        what: "",
    },
    Binding {
        codes: &[KeyCode::Char('1')],
        action: Action::GoTab(Tab::Traces),
        keys: "1 2 3",
        what: "Traces, Logs, Metrics",
    },
    Binding {
        codes: &[KeyCode::Char('2')],
        action: Action::GoTab(Tab::Logs),
        keys: "",
        what: "",
    },
    Binding {
        codes: &[KeyCode::Char('3')],
        action: Action::GoTab(Tab::Metrics),
        keys: "",
        what: "",
    },
    Binding {
        codes: &[KeyCode::Char('j'), KeyCode::Down],
        action: Action::Down,
        keys: "j k ↓ ↑",
        what: "move down / up",
    },
    Binding {
        codes: &[KeyCode::Char('k'), KeyCode::Up],
        action: Action::Up,
        keys: "",
        what: "",
    },
    Binding {
        codes: &[KeyCode::PageDown],
        action: Action::PageDown,
        keys: "PgDn PgUp",
        what: "move a page (also Ctrl-d Ctrl-u)",
    },
    Binding {
        codes: &[KeyCode::PageUp],
        action: Action::PageUp,
        keys: "",
        what: "",
    },
    Binding {
        codes: &[KeyCode::Char('g'), KeyCode::Home],
        action: Action::Top,
        keys: "g G Home End",
        what: "first / last",
    },
    Binding {
        codes: &[KeyCode::Char('G'), KeyCode::End],
        action: Action::Bottom,
        keys: "",
        what: "",
    },
    Binding {
        codes: &[KeyCode::Esc],
        action: Action::Back,
        keys: "Esc",
        what: "back; in a list, clear the filter",
    },
    Binding {
        codes: &[KeyCode::Char('?')],
        action: Action::ToggleHelp,
        keys: "?",
        what: "this help",
    },
    Binding {
        codes: &[KeyCode::Char('q')],
        action: Action::Quit,
        keys: "q Ctrl-C",
        what: "quit",
    },
];

/// The action for a terminal event, given the mode and the view's own table (consulted first,
/// so a view may take a key the others share).
#[must_use]
pub fn action_for(mode: Mode, view_keys: &[Binding], event: &Event) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => key_action(mode, view_keys, key),
        Event::Mouse(mouse) => mouse_action(mode, mouse),
        Event::Resize(w, h) => Some(Action::Resize(*w, *h)),
        _ => None,
    }
}

/// The input line's keys: readline's, as a shell has them.
fn edit_action(key: &KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let edit = match key.code {
        KeyCode::Char('c') if ctrl => return Some(Action::Quit),
        KeyCode::Char('a') if ctrl => Edit::Home,
        KeyCode::Char('e') if ctrl => Edit::End,
        KeyCode::Char('b') if ctrl => Edit::Left,
        KeyCode::Char('f') if ctrl => Edit::Right,
        KeyCode::Char('h') if ctrl => Edit::Backspace,
        KeyCode::Char('d') if ctrl => Edit::Delete,
        KeyCode::Char('w') if ctrl => Edit::CutWordBack,
        KeyCode::Char('u') if ctrl => Edit::CutToStart,
        KeyCode::Char('k') if ctrl => Edit::CutToEnd,
        KeyCode::Char('y') if ctrl => Edit::Yank,
        KeyCode::Char('b') if alt => Edit::WordLeft,
        KeyCode::Char('f') if alt => Edit::WordRight,
        KeyCode::Backspace if alt || ctrl => Edit::CutWordBack,
        KeyCode::Left if alt || ctrl => Edit::WordLeft,
        KeyCode::Right if alt || ctrl => Edit::WordRight,
        KeyCode::Char(_) if ctrl || alt => return None,
        KeyCode::Char(c) => Edit::Insert(c),
        KeyCode::Backspace => Edit::Backspace,
        KeyCode::Delete => Edit::Delete,
        KeyCode::Left => Edit::Left,
        KeyCode::Right => Edit::Right,
        KeyCode::Home => Edit::Home,
        KeyCode::End => Edit::End,
        KeyCode::Enter => return Some(Action::FilterApply),
        KeyCode::Esc => return Some(Action::FilterCancel),
        KeyCode::Tab => return Some(Action::FilterComplete),
        KeyCode::Up => return Some(Action::FilterHistory(true)),
        KeyCode::Down => return Some(Action::FilterHistory(false)),
        _ => return None,
    };
    Some(Action::Edit(edit))
}

fn key_action(mode: Mode, view_keys: &[Binding], key: &KeyEvent) -> Option<Action> {
    if mode == Mode::FilterInput {
        return edit_action(key);
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            KeyCode::Char('c') => Some(Action::Quit),
            KeyCode::Char('d') => Some(Action::PageDown),
            KeyCode::Char('u') => Some(Action::PageUp),
            _ => None,
        };
    }
    match mode {
        Mode::FilterInput => edit_action(key),
        Mode::Help => match key.code {
            KeyCode::Char('q') => Some(Action::Quit),
            KeyCode::Char('j') | KeyCode::Down => Some(Action::Down),
            KeyCode::Char('k') | KeyCode::Up => Some(Action::Up),
            KeyCode::PageDown | KeyCode::Char(' ') => Some(Action::PageDown),
            KeyCode::PageUp => Some(Action::PageUp),
            KeyCode::Char('g') | KeyCode::Home => Some(Action::Top),
            KeyCode::Char('G') | KeyCode::End => Some(Action::Bottom),
            KeyCode::Char('?') | KeyCode::Esc | KeyCode::Enter => Some(Action::ToggleHelp),
            // Other keys do nothing: a stray key does not close what is being read.
            _ => None,
        },
        Mode::View => lookup(view_keys, key.code).or_else(|| lookup(COMMON, key.code)),
    }
}

fn mouse_action(mode: Mode, mouse: &MouseEvent) -> Option<Action> {
    if mode == Mode::FilterInput {
        return None;
    }
    match mouse.kind {
        MouseEventKind::ScrollUp => Some(Action::ScrollUp),
        MouseEventKind::ScrollDown => Some(Action::ScrollDown),
        MouseEventKind::Down(MouseButton::Left) if mode == Mode::View => {
            Some(Action::Click(mouse.column, mouse.row))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> Event {
        Event::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    static VIEW: &[Binding] = &[Binding {
        codes: &[KeyCode::Char('/')],
        action: Action::StartFilter,
        keys: "/",
        what: "filter",
    }];

    #[test]
    fn same_key_different_modes() {
        let slash = key(KeyCode::Char('/'));
        assert_eq!(
            action_for(Mode::View, VIEW, &slash),
            Some(Action::StartFilter)
        );
        assert_eq!(action_for(Mode::View, &[], &slash), None);
        assert_eq!(
            action_for(Mode::FilterInput, VIEW, &slash),
            Some(Action::Edit(Edit::Insert('/')))
        );
        let q = key(KeyCode::Char('q'));
        assert_eq!(
            action_for(Mode::FilterInput, VIEW, &q),
            Some(Action::Edit(Edit::Insert('q')))
        );
        assert_eq!(action_for(Mode::View, VIEW, &q), Some(Action::Quit));
        let ctrl_c = Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert_eq!(
            action_for(Mode::FilterInput, VIEW, &ctrl_c),
            Some(Action::Quit)
        );
        assert_eq!(
            action_for(Mode::Help, VIEW, &key(KeyCode::Esc)),
            Some(Action::ToggleHelp)
        );
        assert_eq!(
            action_for(Mode::View, VIEW, &key(KeyCode::Tab)),
            Some(Action::NextTab)
        );
    }
}
