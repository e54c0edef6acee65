//! The status bar: listen addresses, what each store holds, the ingest rate, and what was
//! evicted, dropped or refused; or the input line: the filter being typed, or the name of a
//! file to write to. A leaf: it draws what it is given ([`Facts`], an [`InputLine`]).

use std::net::SocketAddr;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

use super::fit::{Weight, fit};
use super::input::{InputKind, InputLine};
use super::theme::put;
use super::view::SaveTo;
use crate::format::{self, plural, safe};
use crate::record::forward::ForwardStats;
use crate::server::Totals;

const BAR: Style = Style::new().fg(Color::Black).bg(Color::Gray);
/// The selected text (the filter applied before, replaced by typing), and the cursor.
const SELECTED: Style = Style::new().fg(Color::Gray).bg(Color::Black);
const CURSOR: Style = Style::new()
    .fg(Color::Black)
    .bg(Color::Gray)
    .add_modifier(Modifier::REVERSED);

/// What the bar says when no input line is shown.
pub struct Facts<'a> {
    pub totals: &'a Totals,
    /// Spans per second.
    pub rate: f64,
    pub listening: bool,
    pub grpc_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub forward: &'a ForwardStats,
    /// Loading files or a Jaeger search.
    pub load: Option<String>,
    pub notice: Option<&'a str>,
}

pub fn render(facts: &Facts, input: Option<&InputLine>, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    buf.set_style(area, BAR);
    if let Some(line) = input {
        match &line.kind {
            InputKind::Filter => render_input(line, area, buf),
            InputKind::SaveTo(target) => render_save(target, line, area, buf),
        }
        return;
    }
    put(
        buf,
        area.x,
        area.y,
        &text(facts, usize::from(area.width)),
        area.width,
        BAR,
    );
}

/// The line's text from where it is scrolled to, with the cursor (and the selection, and the
/// character where the query goes wrong) marked; returns where it ends.
fn render_text(line: &InputLine, x: u16, area: Rect, width: u16, buf: &mut Buffer) -> u16 {
    let chars = line.chars();
    let from = line.scroll(usize::from(width));
    let bad = line.error.as_ref().map(|e| e.at);
    let end = (x + width).min(area.x + area.width);
    let mut x = x;
    if from > 0 {
        x = put(buf, x, area.y, "…", end.saturating_sub(x), BAR);
    }
    for (i, c) in chars.iter().enumerate().skip(from + usize::from(from > 0)) {
        let style = if Some(i) == bad {
            ERROR_MARK
        } else if i == line.cursor() {
            CURSOR
        } else if line.is_selected() {
            SELECTED
        } else {
            BAR
        };
        x = put(
            buf,
            x,
            area.y,
            &safe(&c.to_string()),
            end.saturating_sub(x),
            style,
        );
    }
    if line.cursor() >= chars.len() {
        let style = if bad.is_some_and(|b| b >= chars.len()) {
            ERROR_MARK
        } else {
            CURSOR
        };
        x = put(buf, x, area.y, " ", end.saturating_sub(x), style);
    }
    x
}

/// The filter being typed, then the error (or the Tab candidates, or a hint, or the keys).
fn render_input(line: &InputLine, area: Rect, buf: &mut Buffer) {
    let end = area.x + area.width;
    let x = put(buf, area.x, area.y, "/", area.width, BAR);
    // The text takes what it needs, up to two thirds of the bar; the rest is for the tail.
    let room = end.saturating_sub(x);
    let width = (line.chars().len() as u16 + 1)
        .min(room * 2 / 3)
        .max(room.min(8));
    let x = render_text(line, x, area, width, buf);
    let (tail, style) = if let Some(e) = &line.error {
        (format!(" ✖ {e}"), ERROR_TEXT)
    } else if !line.completions.is_empty() {
        let list: Vec<String> = line
            .completions
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if Some(i) == line.completion_at {
                    format!("[{c}]")
                } else {
                    c.clone()
                }
            })
            .collect();
        (format!("  {}", list.join("  ")), BAR)
    } else if let Some(hint) = &line.hint {
        (format!(" {hint}"), HINT_TEXT)
    } else if line.is_selected() {
        (
            " typing replaces · ←→ edit · Enter applies · Esc cancels".to_owned(),
            BAR,
        )
    } else {
        (
            " Enter applies · Tab completes · ↑↓ history · Esc cancels".to_owned(),
            BAR,
        )
    };
    put(buf, x, area.y, &tail, end.saturating_sub(x), style);
}

/// The file name being typed: `save to: name`, then what Enter does, or that the file exists.
fn render_save(target: &SaveTo, line: &InputLine, area: Rect, buf: &mut Buffer) {
    let end = area.x + area.width;
    let x = put(buf, area.x, area.y, " save to: ", area.width, BAR);
    let room = end.saturating_sub(x);
    let width = (line.chars().len() as u16 + 1)
        .min(room * 2 / 3)
        .max(room.min(8));
    let x = render_text(line, x, area, width, buf);
    let (tail, style) = if target.confirming(&line.text()) {
        (
            " ✖ exists: Enter again overwrites it · Esc cancels".to_owned(),
            ERROR_TEXT,
        )
    } else {
        (
            format!(
                " Enter writes {} as OTLP JSON lines · Esc cancels",
                target.what
            ),
            BAR,
        )
    };
    put(buf, x, area.y, &tail, end.saturating_sub(x), style);
}

const ERROR_MARK: Style = Style::new().fg(Color::White).bg(Color::Red);
const ERROR_TEXT: Style = Style::new().fg(Color::Red).bg(Color::Gray);
const HINT_TEXT: Style = Style::new().fg(Color::Blue).bg(Color::Gray);

/// The bar's text, fitted to `width` columns: `? help` always at its end, the least important
/// parts left out first (memory, the rate and empty counts, then the other signals' counts, then
/// the listen addresses), never the spans and traces, what went wrong (evicted, dropped,
/// refused) or a notice.
#[must_use]
pub fn text(facts: &Facts, width: usize) -> String {
    let t = &facts.totals.store;
    let (tr, lg, mt) = (&t.traces, &t.logs, &t.metrics);
    let mut parts: Vec<(Weight, String)> = Vec::new();
    if let Some(notice) = facts.notice {
        parts.push((Weight::High, notice.to_owned()));
    }
    if let Some(load) = &facts.load {
        parts.push((Weight::High, safe(load).into_owned()));
    }
    let listen = if facts.listening {
        format!("grpc {} · http {}", facts.grpc_addr, facts.http_addr)
    } else {
        "not listening (--no-listen)".to_owned()
    };
    parts.push((Weight::Mid, listen));
    parts.push((
        Weight::High,
        format!(
            "{} / {}",
            plural(tr.spans, "span"),
            plural(tr.traces, "trace")
        ),
    ));
    // The other signals' counts, least when there are none.
    let some = |n: u64| if n > 0 { Weight::Mid } else { Weight::Low };
    parts.push((some(lg.records), plural(lg.records, "log")));
    parts.push((
        some(mt.metrics),
        format!(
            "{} / {}",
            plural(mt.metrics, "metric"),
            plural(mt.series, "series")
        ),
    ));
    parts.push((Weight::Low, format!("{:.0} spans/s", facts.rate)));
    parts.push((
        Weight::Low,
        format!("~{}", format::bytes(tr.bytes + lg.bytes + mt.bytes)),
    ));
    let mut note = |n: u64, what: &str| {
        if n > 0 {
            parts.push((Weight::High, format!("{n} {what}")));
        }
    };
    note(tr.evicted, "spans evicted");
    note(tr.trace_full, "spans dropped (trace full)");
    note(tr.rejected, "spans rejected");
    note(lg.evicted, "logs evicted");
    note(lg.rejected, "logs rejected");
    note(mt.series_dropped, "points dropped (series cap)");
    note(mt.rejected, "points rejected");
    note(facts.totals.busy_refusals, "busy refusals");
    let r = &facts.totals.record;
    note(r.data_errors, "not written to the data dir");
    note(r.saved, "requests saved");
    note(r.save_dropped, "requests not saved (writer behind)");
    {
        use std::sync::atomic::Ordering::Relaxed;
        let f = facts.forward;
        let (sent, pending, dropped) = (
            f.requests.load(Relaxed),
            f.pending.load(Relaxed),
            f.dropped_requests.load(Relaxed),
        );
        if sent + pending + dropped > 0 {
            let mut text = format!("forwarded {sent}");
            if pending > 0 {
                text.push_str(&format!(", {pending} waiting"));
            }
            if dropped > 0 {
                text.push_str(&format!(", {dropped} not forwarded"));
                if let Some(e) = f.last_error.lock().as_deref() {
                    text.push_str(&format!(" ({})", safe(e)));
                }
            }
            parts.push((Weight::High, text));
        }
        // Requests that came back round a forwarding loop, acknowledged and dropped.
        let looped = f.looped.load(Relaxed);
        if looped > 0 {
            parts.push((
                Weight::High,
                format!("{looped} came back round a forward loop"),
            ));
        }
    }
    if r.data_requests > 0 || r.data_bytes > 0 {
        parts.push((
            Weight::Low,
            format!("data-dir {}", format::bytes(r.data_bytes)),
        ));
    }
    fit(parts, width, Some("? help"))
}
