//! Text helpers shared by the terminal UI and the headless report.

use std::borrow::Cow;
use std::fmt::Write;

/// A duration in nanoseconds, short and human: `850ns`, `12.3µs`, `4.56ms`, `1.23s`, `2m05s`.
#[must_use]
pub fn duration(ns: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let f = ns as f64;
    // Units are chosen after rounding, so 999.999ms shows as 1.00s, not 1000.00ms.
    if ns < 1_000 {
        format!("{ns}ns")
    } else if f < 999_950.0 {
        format!("{:.1}µs", f / 1e3)
    } else if f < 999_995_000.0 {
        format!("{:.2}ms", f / 1e6)
    } else if f < 59_995_000_000.0 {
        format!("{:.2}s", f / 1e9)
    } else {
        // Rounded to the nearest second without `ns + 500ms`, which overflows near u64::MAX.
        let s = ns / 1_000_000_000 + u64::from(ns % 1_000_000_000 >= 500_000_000);
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// A duration as [`duration`] writes it, trailing zeros of the fraction dropped: `5ms`,
/// `2.5s`, `12.3µs` (for labels where room is short).
#[must_use]
pub fn duration_short(ns: u64) -> String {
    let s = duration(ns);
    let Some(unit_at) = s.find(|c: char| c.is_alphabetic() || c == 'µ') else {
        return s;
    };
    let (num, unit) = s.split_at(unit_at);
    if !num.contains('.') {
        return s;
    }
    format!("{}{unit}", num.trim_end_matches('0').trim_end_matches('.'))
}

/// A byte count, short: `512 B`, `12.3 KiB`, `4.5 MiB`, `1.2 GiB`.
#[must_use]
pub fn bytes(n: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let f = n as f64;
    if n < 1024 {
        format!("{n} B")
    } else if n < 1024 * 1024 {
        format!("{:.1} KiB", f / 1024.0)
    } else if n < 1024 * 1024 * 1024 {
        format!("{:.1} MiB", f / (1024.0 * 1024.0))
    } else {
        format!("{:.1} GiB", f / (1024.0 * 1024.0 * 1024.0))
    }
}

/// Whether the terminal UI shows local time (set once by `main`; UTC otherwise, as in tests
/// and the headless report).
static LOCAL_TIME: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Shows times in the machine's local time zone from now on (`--utc` leaves them in UTC).
pub fn use_local_time(local: bool) {
    LOCAL_TIME.store(local, std::sync::atomic::Ordering::Relaxed);
}

fn local_time() -> bool {
    LOCAL_TIME.load(std::sync::atomic::Ordering::Relaxed)
}

/// The zone times are shown in, for column headers: `UTC`, or the local offset (`+01:00`)
/// of now.
#[must_use]
pub fn zone() -> String {
    if !local_time() {
        return "UTC".to_owned();
    }
    let offset = chrono::Local::now().offset().to_string();
    if offset == "+00:00" {
        "UTC".to_owned()
    } else {
        offset
    }
}

/// How long ago a unix-nanosecond time was, from `now` (unix ns): `4s ago`, `3m ago`,
/// `2h ago`, `5d ago`; `now` for the last second and for the future.
#[must_use]
pub fn age(now_ns: u64, unix_ns: u64) -> String {
    let s = now_ns.saturating_sub(unix_ns) / 1_000_000_000;
    match s {
        0 => "now".to_owned(),
        1..60 => format!("{s}s ago"),
        60..3600 => format!("{}m ago", s / 60),
        3600..86_400 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86_400),
    }
}

/// The current time in unix nanoseconds.
#[must_use]
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A count with thousands separated: `1,234,567`.
#[must_use]
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Wall-clock time of day of a unix-nanosecond timestamp, `HH:MM:SS.mmm`: local time when the
/// UI asked for it ([`use_local_time`]), UTC otherwise.
#[must_use]
pub fn time_of_day(unix_ns: u64) -> String {
    if local_time() {
        use chrono::TimeZone as _;
        let t = chrono::Local.timestamp_nanos(i64::try_from(unix_ns).unwrap_or(i64::MAX));
        return t.format("%H:%M:%S%.3f").to_string();
    }
    let secs = unix_ns / 1_000_000_000;
    let ms = (unix_ns / 1_000_000) % 1000;
    let day = secs % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{ms:03}",
        day / 3600,
        (day / 60) % 60,
        day % 60
    )
}

/// Makes untrusted text safe to put on a terminal: control characters (including ESC, so no
/// escape sequence gets through) are shown escaped, like `\x1b` or `\n`.
#[must_use]
pub fn safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let n = u32::from(c);
                if n <= 0xff {
                    let _ = write!(out, "\\x{n:02x}");
                } else {
                    let _ = write!(out, "\\u{{{n:x}}}");
                }
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`safe`], at most `max_chars` characters of `s` kept: the rest is dropped and counted, as
/// `…[N more bytes]` (for text from outside, such as an error body, printed in one line).
#[must_use]
pub fn safe_capped(s: &str, max_chars: usize) -> Cow<'_, str> {
    let Some((cut, _)) = s.char_indices().nth(max_chars) else {
        return safe(s);
    };
    let mut out = safe(&s[..cut]).into_owned();
    let _ = write!(out, "…[{} more bytes]", s.len() - cut);
    Cow::Owned(out)
}

/// Characters [`safe`] shows escaped: control characters (C0, DEL, C1), and the invisible ones
/// that reorder or hide text: the Arabic letter mark, zero-width spaces and joiners, the
/// left-to-right and right-to-left marks, the line and paragraph separators, the bidirectional
/// embeddings, overrides and isolates, the word joiner and invisible operators, and the
/// byte-order mark (zero-width no-break space).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{feff}'
        )
}

/// An error in one line: its own words, then those of each error under it, after `: `
/// (`error sending request: client error (Connect): tcp connect error: Connection refused (os
/// error 111)`), leaving out one that says again what was said.
#[must_use]
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(source) = next {
        let why = source.to_string();
        if !text.contains(&why) {
            text.push_str(": ");
            text.push_str(&why);
        }
        next = source.source();
    }
    text
}

/// A URL as it may be printed: a password in it (`http://alice:hunter2@host`) shown as `***`
/// (`http://alice:***@host`), a user name alone (often a token) too (`http://***@host`).
/// Everything else is kept as written.
#[must_use]
pub fn redact_url(url: &str) -> Cow<'_, str> {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return Cow::Borrowed(url);
    };
    let rest = &url[scheme_end..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let Some(at) = authority.rfind('@') else {
        return Cow::Borrowed(url);
    };
    let kept_user = match authority[..at].split_once(':') {
        Some((user, _)) => format!("{user}:***"),
        None => "***".to_owned(),
    };
    Cow::Owned(format!("{}{kept_user}{}", &url[..scheme_end], &rest[at..]))
}

/// A measured value, short: integers without a fraction, others to four significant digits
/// (`12`, `0.0123`, `1234.5`, `1.235e9`); not-a-number and infinities as Rust spells them.
#[must_use]
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let a = v.abs();
    if (1e-3..1e9).contains(&a) {
        // Four significant digits, trailing zeros dropped.
        #[allow(clippy::cast_possible_truncation)]
        let decimals = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            return s.trim_end_matches('0').trim_end_matches('.').to_owned();
        }
        return s;
    }
    format!("{v:.3e}")
}

/// A unix-nanosecond timestamp as an RFC 3339 UTC time to the microsecond.
#[must_use]
pub fn timestamp(unix_ns: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(unix_ns);
    humantime::format_rfc3339_micros(t).to_string()
}

/// `text` cut to `max` characters, ending with `…` when it was longer (a filter in a title:
/// `/` shows it whole).
#[must_use]
pub fn ellipsis(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.chars().count() <= max {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    std::borrow::Cow::Owned(out)
}

/// `1 span`, `3 spans`, the count's thousands separated.
#[must_use]
pub fn plural(n: u64, one: &str) -> String {
    let s = if n == 1 || one.ends_with('s') {
        ""
    } else {
        "s"
    };
    format!("{} {one}{s}", count(n))
}

/// A 128-bit trace id as 32 lowercase hex digits.
#[must_use]
pub fn trace_id(id: u128) -> String {
    format!("{id:032x}")
}

/// A 64-bit span id as 16 lowercase hex digits.
#[must_use]
pub fn span_id(id: u64) -> String {
    format!("{id:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separated() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(850), "850ns");
        assert_eq!(duration(12_345), "12.3µs");
        assert_eq!(duration(4_560_000), "4.56ms");
        assert_eq!(duration(1_234_000_000), "1.23s");
        assert_eq!(duration(125_000_000_000), "2m05s");
        assert_eq!(duration(999_999_000), "1.00s");
        assert_eq!(duration(999_990), "1.00ms");
        assert_eq!(duration(125_500_000_000), "2m06s");
    }

    #[test]
    fn short_durations_drop_trailing_zeros() {
        assert_eq!(duration_short(5_000_000), "5ms");
        assert_eq!(duration_short(2_500_000_000), "2.5s");
        assert_eq!(duration_short(12_345), "12.3µs");
        assert_eq!(duration_short(850), "850ns");
        assert_eq!(duration_short(125_000_000_000), "2m05s");
    }

    #[test]
    fn extreme_durations_do_not_overflow() {
        // A span from 0 to u64::MAX is legal OTLP; found by the store property tests.
        assert_eq!(duration(u64::MAX), "307445734m34s");
    }

    #[test]
    fn escapes_control_characters_and_escape_sequences() {
        assert_eq!(safe("plain"), Cow::Borrowed("plain"));
        assert_eq!(safe("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(safe("line\nnext\u{7}"), "line\\nnext\\x07");
        assert_eq!(safe("\u{202e}evil"), "\\u{202e}evil");
        assert!(
            !safe("\u{9b}31m").contains('\u{9b}'),
            "C1 CSI must be escaped"
        );
        // Invisible characters that reorder, hide or break lines of text.
        for c in [
            '\u{061c}', '\u{200e}', '\u{200f}', '\u{2028}', '\u{2029}', '\u{2060}', '\u{2064}',
            '\u{2066}', '\u{feff}',
        ] {
            let text = format!("a{c}b");
            assert_eq!(safe(&text), format!("a\\u{{{:x}}}b", u32::from(c)), "{c:?}");
        }
        // Visible non-ASCII stays as it is.
        assert_eq!(safe("café → 東京"), Cow::Borrowed("café → 東京"));
    }

    #[test]
    fn capped_text_is_cut_on_a_character_and_counts_the_rest() {
        assert_eq!(safe_capped("short", 10), Cow::Borrowed("short"));
        assert_eq!(safe_capped("exactly10!", 10), "exactly10!");
        assert_eq!(safe_capped("abcdef", 3), "abc…[3 more bytes]");
        // Characters, not bytes, are counted, and the cut never splits one.
        assert_eq!(safe_capped("ééé", 1), "é…[4 more bytes]");
        // Escaped as well: what is kept, and an escape sequence cut in the middle.
        assert_eq!(
            safe_capped("\x1b]0;PWNED\x07\x1b[2J", 4),
            "\\x1b]0;…[10 more bytes]"
        );
        assert_eq!(safe_capped("", 0), "");
        assert_eq!(safe_capped("x", 0), "…[1 more bytes]");
    }

    #[test]
    fn an_error_in_one_line_with_the_errors_under_it() {
        #[derive(Debug)]
        struct E(&'static str, Option<Box<E>>);
        impl std::fmt::Display for E {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for E {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.1.as_deref().map(|e| e as _)
            }
        }
        // As hyper nests a refused connection: one layer says again what another said.
        let root = E("Connection refused", None);
        let again = E("tcp connect error", Some(Box::new(root)));
        let middle = E("tcp connect error", Some(Box::new(again)));
        let top = E("error sending request", Some(Box::new(middle)));
        assert_eq!(
            error_chain(&top),
            "error sending request: tcp connect error: Connection refused"
        );
        assert_eq!(error_chain(&E("alone", None)), "alone");
    }

    #[test]
    fn passwords_in_urls_are_not_shown() {
        for (url, shown) in [
            (
                "http://alice:hunter2@host:16686",
                "http://alice:***@host:16686",
            ),
            (
                "grpc://alice:hunter2@host:16685/",
                "grpc://alice:***@host:16685/",
            ),
            ("http://token@host/v1", "http://***@host/v1"),
            // The last `@` of the authority ends the user information; later ones are the path's.
            ("http://a:p@ss@host/x@y?q=@", "http://a:***@host/x@y?q=@"),
            ("http://host:4318/prefix", "http://host:4318/prefix"),
            ("http://host/a@b", "http://host/a@b"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
            assert!(!redact_url(url).contains("hunter2"));
        }
    }

    #[test]
    fn byte_counts() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(12_595), "12.3 KiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
    }

    #[test]
    fn numbers() {
        assert_eq!(number(12.0), "12");
        assert_eq!(number(-3.0), "-3");
        assert_eq!(number(0.012_346), "0.01235");
        assert_eq!(number(1234.56), "1235");
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(1.5e12), "1500000000000");
        assert_eq!(number(1.234_567e20), "1.235e20");
        assert_eq!(number(2.5e-7), "2.500e-7");
        assert_eq!(number(f64::NAN), "NaN");
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(
            timestamp(1_700_000_000_123_456_789),
            "2023-11-14T22:13:20.123456Z"
        );
    }

    #[test]
    fn time_of_day_is_utc() {
        assert_eq!(time_of_day(3_723_004_000_000), "01:02:03.004");
    }
}
