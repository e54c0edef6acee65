//! Copying to the clipboard through the terminal: an OSC 52 escape (`ESC ] 52 ; c ; <base64>
//! BEL`) that the terminal turns into a clipboard write, so a copy works over ssh and with no
//! clipboard tool installed. Views only say what to copy ([`copy`] fills `Ctx::clipboard`); the
//! event loop writes the escape ([`escape`]) after the frame.
//!
//! Inside tmux the escape is written twice: as it is, which tmux takes when its
//! `set-clipboard` option is `on` (and passes on to the terminal outside), and wrapped in tmux's
//! DCS passthrough (`ESC P tmux; … ESC \`, every ESC inside doubled), which reaches the
//! terminal outside when `allow-passthrough` is `on`. With both on, the clipboard is set twice
//! to the same text.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::view::Ctx;
use crate::format;

/// The largest payload (in base64) written: beyond it, nothing is copied and the notice says
/// so.
pub const MAX_BASE64: usize = 1024 * 1024;
/// Payloads (in base64) over this are dropped by many terminals (xterm's and tmux's limits,
/// for example): copied, with a warning in the notice.
pub const WARN_BASE64: usize = 100_000;

/// How long `n` bytes are in base64.
#[must_use]
pub fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// The bytes that set the clipboard to `text`: the OSC 52 escape, and inside tmux (`tmux`) the
/// escape again in tmux's passthrough.
#[must_use]
pub fn escape(text: &str, tmux: bool) -> String {
    let osc = format!("\x1b]52;c;{}\x07", STANDARD.encode(text));
    if !tmux {
        return osc;
    }
    let inner = osc.replace('\x1b', "\x1b\x1b");
    format!("{osc}\x1bPtmux;{inner}\x1b\\")
}

/// Puts `text` in the app's outbox for the clipboard and says in the notice what was copied
/// (`what`, as in "trace 4bf92f35… (12 spans) as text") and how big; or, over
/// [`MAX_BASE64`], copies nothing and says why.
pub fn copy(cx: &mut Ctx, what: &str, text: String) {
    let size = format::bytes(text.len() as u64);
    let encoded = base64_len(text.len());
    if encoded > MAX_BASE64 {
        cx.notice = Some(format!(
            "not copied: {what} is {size}, and the clipboard escape carries at most {} (w writes it to a file)",
            format::bytes(((MAX_BASE64 / 4) * 3) as u64)
        ));
        return;
    }
    let mut notice = format!("copied {what}, {size}");
    if encoded > WARN_BASE64 {
        notice.push_str(" (over 100 KB: some terminals drop a copy this big)");
    }
    cx.notice = Some(notice);
    cx.clipboard = Some(text);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx() -> Ctx {
        Ctx {
            grpc_addr: "127.0.0.1:4317".parse().unwrap(),
            http_addr: "127.0.0.1:4318".parse().unwrap(),
            size: (80, 24),
            notice: None,
            marked: None,
            clipboard: None,
            now_ns: 0,
        }
    }

    #[test]
    fn the_escape_carries_the_text_in_base64() {
        assert_eq!(escape("hello", false), "\x1b]52;c;aGVsbG8=\x07");
        assert_eq!(escape("", false), "\x1b]52;c;\x07");
        // Control characters and non-ASCII text travel inside the base64, never raw.
        let e = escape("a\x1b[2J\u{e9}\n", false);
        assert_eq!(e.matches('\x1b').count(), 1);
        assert!(e.is_ascii());
    }

    #[test]
    fn inside_tmux_the_escape_is_also_passed_through() {
        assert_eq!(
            escape("hello", true),
            "\x1b]52;c;aGVsbG8=\x07\x1bPtmux;\x1b\x1b]52;c;aGVsbG8=\x07\x1b\\"
        );
    }

    #[test]
    fn a_copy_says_what_and_how_big() {
        let mut cx = cx();
        copy(
            &mut cx,
            "trace 4bf92f35… (12 spans) as text",
            "x".repeat(1300),
        );
        assert_eq!(
            cx.notice.as_deref(),
            Some("copied trace 4bf92f35… (12 spans) as text, 1.3 KiB")
        );
        assert_eq!(cx.clipboard.as_deref().map(str::len), Some(1300));
    }

    #[test]
    fn big_copies_are_warned_about_and_too_big_ones_refused() {
        let mut cx = cx();
        copy(&mut cx, "trace", "x".repeat(200_000));
        assert!(cx.clipboard.is_some());
        assert!(
            cx.notice
                .as_deref()
                .unwrap()
                .contains("some terminals drop")
        );
        let mut cx = super::tests::cx();
        // Just under the cap: copied; just over: not.
        let fits = MAX_BASE64 / 4 * 3;
        copy(&mut cx, "trace", "x".repeat(fits));
        assert!(cx.clipboard.is_some());
        let mut cx = super::tests::cx();
        copy(&mut cx, "trace", "x".repeat(fits + 1));
        assert!(cx.clipboard.is_none());
        let mut cx = super::tests::cx();
        copy(&mut cx, "trace", "x".repeat(2 << 20));
        assert!(cx.clipboard.is_none());
        assert_eq!(
            cx.notice.as_deref(),
            Some(
                "not copied: trace is 2.0 MiB, and the clipboard escape carries at most 768.0 KiB (w writes it to a file)"
            )
        );
    }
}
