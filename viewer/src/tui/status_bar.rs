//! The status bar: listen addresses, what each store holds, the ingest rate, and what was
//! evicted, dropped or refused; or the filter being typed.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};

use super::app::App;
use super::theme::put;
use crate::format::{self, safe};

const BAR: Style = Style::new().fg(Color::Black).bg(Color::Gray);

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    buf.set_style(area, BAR);
    if let Some(input) = &app.input {
        let text = format!("/{}▏ Enter applies · Esc cancels", safe(input));
        put(buf, area.x, area.y, &text, area.width, BAR);
        return;
    }
    put(buf, area.x, area.y, &text(app), area.width, BAR);
}

/// The bar's text.
#[must_use]
pub fn text(app: &App) -> String {
    let t = &app.totals.store;
    let (tr, lg, mt) = (&t.traces, &t.logs, &t.metrics);
    let mut text = format!(
        " grpc {} · http {} · {} spans / {} traces · {} logs · {} metrics / {} series · {:.0} spans/s · ~{}",
        app.cx.grpc_addr,
        app.cx.http_addr,
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
    if let Some(notice) = &app.cx.notice {
        text = format!(" {notice} ·{text}");
    }
    text.push_str(" · ? help");
    text
}
