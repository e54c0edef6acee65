//! The status bar: listen addresses, what each store holds, the ingest rate, and what was
//! evicted, dropped or refused; or the input line: the filter being typed, or the name of a
//! file to write to.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};

use super::app::{App, InputKind, SaveTo};
use super::theme::put;
use crate::format::{self, safe};

const BAR: Style = Style::new().fg(Color::Black).bg(Color::Gray);

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    buf.set_style(area, BAR);
    if let Some(input) = &app.input {
        match &app.input_kind {
            InputKind::Filter => render_input(app, input, area, buf),
            InputKind::SaveTo(target) => render_save(target, input, area, buf),
        }
        return;
    }
    put(buf, area.x, area.y, &text(app), area.width, BAR);
}

/// The filter being typed: the text with the character where the query goes wrong marked,
/// then the error (or the Tab candidates, or the keys).
fn render_input(app: &App, input: &str, area: Rect, buf: &mut Buffer) {
    let end = area.x + area.width;
    let mut x = put(buf, area.x, area.y, "/", area.width, BAR);
    let bad = app.input_error.as_ref().map(|e| e.at);
    for (i, c) in input.chars().enumerate() {
        let style = if Some(i) == bad { ERROR_MARK } else { BAR };
        x = put(
            buf,
            x,
            area.y,
            &safe(&c.to_string()),
            end.saturating_sub(x),
            style,
        );
    }
    let caret_style = if bad.is_some_and(|b| b >= input.chars().count()) {
        ERROR_MARK
    } else {
        BAR
    };
    x = put(buf, x, area.y, "▏", end.saturating_sub(x), caret_style);
    let (tail, style) = if let Some(e) = &app.input_error {
        (format!(" ✖ {e}"), ERROR_TEXT)
    } else if !app.completions.is_empty() {
        (format!("  {}", app.completions.join("  ")), BAR)
    } else {
        (
            " Enter applies · Tab completes · ↑↓ history · Esc cancels".to_owned(),
            BAR,
        )
    };
    put(buf, x, area.y, &tail, end.saturating_sub(x), style);
}

/// The file name being typed: `save to: name▏`, then what Enter does, or that the file exists.
fn render_save(target: &SaveTo, input: &str, area: Rect, buf: &mut Buffer) {
    let end = area.x + area.width;
    let mut x = put(buf, area.x, area.y, " save to: ", area.width, BAR);
    x = put(buf, x, area.y, &safe(input), end.saturating_sub(x), BAR);
    x = put(buf, x, area.y, "▏", end.saturating_sub(x), BAR);
    let (tail, style) = if target.confirming(input) {
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

/// The bar's text.
#[must_use]
pub fn text(app: &App) -> String {
    let t = &app.totals.store;
    let (tr, lg, mt) = (&t.traces, &t.logs, &t.metrics);
    let listen = if app.listening {
        format!("grpc {} · http {}", app.cx.grpc_addr, app.cx.http_addr)
    } else {
        "not listening (--no-listen)".to_owned()
    };
    let mut text = format!(
        " {listen} · {} spans / {} traces · {} logs · {} metrics / {} series · {:.0} spans/s · ~{}",
        tr.spans,
        tr.traces,
        lg.records,
        mt.metrics,
        mt.series,
        app.rate(),
        format::bytes(tr.bytes + lg.bytes + mt.bytes),
    );
    let mut note = |n: u64, what: &str| {
        if n > 0 {
            text.push_str(&format!(" · {n} {what}"));
        }
    };
    note(tr.evicted, "spans evicted");
    note(tr.trace_full, "spans dropped (trace full)");
    note(tr.rejected, "spans rejected");
    note(lg.evicted, "logs evicted");
    note(lg.rejected, "logs rejected");
    note(mt.series_dropped, "points dropped (series cap)");
    note(mt.rejected, "points rejected");
    note(app.totals.busy_refusals, "busy refusals");
    let r = &app.totals.record;
    note(r.data_errors, "not written to the data dir");
    note(r.saved, "requests saved");
    note(r.save_dropped, "requests not saved (writer behind)");
    {
        use std::sync::atomic::Ordering::Relaxed;
        let f = &app.counters.forward;
        let (sent, pending, dropped) = (
            f.requests.load(Relaxed),
            f.pending.load(Relaxed),
            f.dropped_requests.load(Relaxed),
        );
        if sent + pending + dropped > 0 {
            text.push_str(&format!(" · forwarded {sent}"));
            if pending > 0 {
                text.push_str(&format!(", {pending} waiting"));
            }
            if dropped > 0 {
                text.push_str(&format!(", {dropped} not forwarded"));
                if let Some(e) = f.last_error.lock().as_deref() {
                    text.push_str(&format!(" ({})", safe(e)));
                }
            }
        }
    }
    if r.data_requests > 0 || r.data_bytes > 0 {
        text.push_str(&format!(" · data-dir {}", format::bytes(r.data_bytes)));
    }
    if let Some(load) = app.load.as_ref().and_then(|l| l.summary()) {
        text = format!(" {} ·{text}", safe(&load));
    }
    if let Some(notice) = &app.cx.notice {
        text = format!(" {notice} ·{text}");
    }
    text.push_str(" · ? help");
    text
}
