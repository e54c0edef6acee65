//! Everything the user can ask for. Keys and mouse events resolve to an [`Action`] in
//! [`crate::keymap`]; [`crate::app::App::update`] carries it out.

/// A user intent, independent of the key that asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Leave the program.
    Quit,
    /// Move the selection (or scroll the detail) one row up.
    Up,
    /// Move the selection (or scroll the detail) one row down.
    Down,
    /// Move one page up.
    PageUp,
    /// Move one page down.
    PageDown,
    /// Jump to the first row.
    Top,
    /// Jump to the last row.
    Bottom,
    /// Open what is selected: a trace from the list, a span's full detail from the tree.
    Open,
    /// Go back one screen; in the list, clear the filter.
    Back,
    /// Toggle between following new traces live and pausing the list.
    ToggleFollow,
    /// Cycle the list's sort order: time, duration, span count.
    CycleSort,
    /// Start typing a filter.
    StartFilter,
    /// Type a character into the filter.
    FilterChar(char),
    /// Delete the last character of the filter being typed.
    FilterBackspace,
    /// Apply the typed filter.
    FilterApply,
    /// Stop typing, keeping the filter that was applied before.
    FilterCancel,
    /// In a trace: select the next span matching the find text (typed after `/`).
    FindNext,
    /// In a trace: select the previous span matching the find text.
    FindPrev,
    /// In a trace: select the next span with an error status.
    NextError,
    /// Collapse or expand the selected span's subtree.
    ToggleCollapse,
    /// Collapse the selected subtree, or go to the parent if already collapsed.
    Collapse,
    /// Expand the selected subtree.
    Expand,
    /// Collapse every span that has children.
    CollapseAll,
    /// Expand every span.
    ExpandAll,
    /// Show or hide the help overlay.
    ToggleHelp,
    /// Mouse click at a terminal cell (column, row): select, or open if already selected.
    Click(u16, u16),
    /// Mouse wheel up.
    ScrollUp,
    /// Mouse wheel down.
    ScrollDown,
    /// The terminal changed size (columns, rows).
    Resize(u16, u16),
}
