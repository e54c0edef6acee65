//! Keys and mouse events to actions: one place, one table per mode.

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use crate::action::Action;

/// What the keyboard is talking to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    List,
    Trace,
    Detail,
    /// Typing a filter.
    FilterInput,
    /// The help overlay is shown.
    Help,
}

/// The key bindings, for the help overlay: (keys, what they do), per mode.
pub const HELP: &[(&str, &[(&str, &str)])] = &[
    (
        "Everywhere",
        &[
            ("j k ↓ ↑", "move down / up"),
            ("PgDn PgUp", "move a page"),
            ("g G Home End", "first / last"),
            ("Esc", "back"),
            ("?", "this help"),
            ("q Ctrl-C", "quit"),
            ("mouse", "wheel scrolls, click selects, click again opens"),
        ],
    ),
    (
        "Trace list",
        &[
            ("Enter", "open the trace"),
            ("/", "filter: services, names, attribute values, trace id"),
            ("Esc", "clear the filter"),
            ("f", "follow new traces / pause"),
            ("s", "sort by time, duration, span count"),
        ],
    ),
    (
        "Trace",
        &[
            ("Enter d", "span detail, full screen"),
            ("Space", "collapse / expand the subtree"),
            ("h ←  l →", "collapse (or go to parent) / expand"),
            ("- +", "collapse all / expand all"),
            ("/", "find a span: service, name, attribute values"),
            ("n N", "next / previous span found"),
            ("e", "next span with an error"),
        ],
    ),
];

/// The action for a terminal event in a mode, if any.
#[must_use]
pub fn action_for(mode: Mode, event: &Event) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => key_action(mode, key),
        Event::Mouse(mouse) => mouse_action(mode, mouse),
        Event::Resize(w, h) => Some(Action::Resize(*w, *h)),
        _ => None,
    }
}

fn key_action(mode: Mode, key: &KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            KeyCode::Char('c') => Some(Action::Quit),
            KeyCode::Char('d') if mode != Mode::FilterInput => Some(Action::PageDown),
            KeyCode::Char('u') if mode != Mode::FilterInput => Some(Action::PageUp),
            _ => None,
        };
    }
    if mode == Mode::FilterInput {
        return match key.code {
            KeyCode::Enter => Some(Action::FilterApply),
            KeyCode::Esc => Some(Action::FilterCancel),
            KeyCode::Backspace => Some(Action::FilterBackspace),
            KeyCode::Char(c) => Some(Action::FilterChar(c)),
            _ => None,
        };
    }
    if mode == Mode::Help {
        return match key.code {
            KeyCode::Char('q') => Some(Action::Quit),
            _ => Some(Action::ToggleHelp),
        };
    }
    let common = match key.code {
        KeyCode::Char('q') => Some(Action::Quit),
        KeyCode::Char('?') => Some(Action::ToggleHelp),
        KeyCode::Char('j') | KeyCode::Down => Some(Action::Down),
        KeyCode::Char('k') | KeyCode::Up => Some(Action::Up),
        KeyCode::PageDown => Some(Action::PageDown),
        KeyCode::PageUp => Some(Action::PageUp),
        KeyCode::Char('g') | KeyCode::Home => Some(Action::Top),
        KeyCode::Char('G') | KeyCode::End => Some(Action::Bottom),
        KeyCode::Esc => Some(Action::Back),
        _ => None,
    };
    if common.is_some() {
        return common;
    }
    match mode {
        Mode::List => match key.code {
            KeyCode::Enter => Some(Action::Open),
            KeyCode::Char('/') => Some(Action::StartFilter),
            KeyCode::Char('f' | 'p') => Some(Action::ToggleFollow),
            KeyCode::Char('s') => Some(Action::CycleSort),
            _ => None,
        },
        Mode::Trace => match key.code {
            KeyCode::Enter | KeyCode::Char('d') => Some(Action::Open),
            KeyCode::Char(' ') => Some(Action::ToggleCollapse),
            KeyCode::Char('h') | KeyCode::Left => Some(Action::Collapse),
            KeyCode::Char('l') | KeyCode::Right => Some(Action::Expand),
            KeyCode::Char('-') => Some(Action::CollapseAll),
            KeyCode::Char('/') => Some(Action::StartFilter),
            KeyCode::Char('n') => Some(Action::FindNext),
            KeyCode::Char('N') => Some(Action::FindPrev),
            KeyCode::Char('e') => Some(Action::NextError),
            KeyCode::Char('+' | '=') => Some(Action::ExpandAll),
            _ => None,
        },
        Mode::Detail | Mode::FilterInput | Mode::Help => None,
    }
}

fn mouse_action(mode: Mode, mouse: &MouseEvent) -> Option<Action> {
    if matches!(mode, Mode::Help | Mode::FilterInput) {
        return None;
    }
    match mouse.kind {
        MouseEventKind::ScrollUp => Some(Action::ScrollUp),
        MouseEventKind::ScrollDown => Some(Action::ScrollDown),
        MouseEventKind::Down(MouseButton::Left) => Some(Action::Click(mouse.column, mouse.row)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> Event {
        Event::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    #[test]
    fn same_key_different_modes() {
        let slash = key(KeyCode::Char('/'));
        assert_eq!(action_for(Mode::List, &slash), Some(Action::StartFilter));
        assert_eq!(
            action_for(Mode::FilterInput, &slash),
            Some(Action::FilterChar('/'))
        );
        let q = key(KeyCode::Char('q'));
        assert_eq!(
            action_for(Mode::FilterInput, &q),
            Some(Action::FilterChar('q'))
        );
        assert_eq!(action_for(Mode::Trace, &q), Some(Action::Quit));
        let ctrl_c = Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert_eq!(action_for(Mode::FilterInput, &ctrl_c), Some(Action::Quit));
        assert_eq!(
            action_for(Mode::Help, &key(KeyCode::Esc)),
            Some(Action::ToggleHelp)
        );
    }
}
