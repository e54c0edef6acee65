//! The status bar: listen addresses, spans and traces held, ingest rate, evictions; or the
//! filter being typed.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};

use super::put;
use crate::app::App;
use crate::format::safe;

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
    let t = &app.totals;
    let mut text = format!(
        " grpc {} · http {} · {} spans / {} traces · {:.0} spans/s",
        app.grpc_addr,
        app.http_addr,
        t.store.traces.spans,
        t.store.traces.traces,
        app.rate()
    );
    text.push_str(&format!(
        " · ~{}",
        crate::format::bytes(t.store.traces.bytes)
    ));
    if t.store.traces.evicted > 0 {
        text.push_str(&format!(" · {} evicted", t.store.traces.evicted));
    }
    if t.store.traces.trace_full > 0 {
        text.push_str(&format!(
            " · {} dropped (trace full)",
            t.store.traces.trace_full
        ));
    }
    if t.store.traces.rejected > 0 {
        text.push_str(&format!(" · {} rejected", t.store.traces.rejected));
    }
    if t.busy_refusals > 0 {
        text.push_str(&format!(" · {} busy refusals", t.busy_refusals));
    }
    if let Some(notice) = &app.notice {
        text = format!(" {notice} ·{text}");
    }
    text.push_str(" · ? help");
    put(buf, area.x, area.y, &text, area.width, BAR);
}
