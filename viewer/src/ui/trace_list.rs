//! The trace list: one row per trace, newest first.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{Areas, DIM, ERROR, HEADER, SELECTED, TITLE, put, service_color};
use crate::app::App;
use crate::format::{self, safe};
use crate::store::Store;

const TIME_W: u16 = 13;
const SERVICE_W: u16 = 18;
const DURATION_W: u16 = 10;
const SPANS_W: u16 = 7;
const SVCS_W: u16 = 5;

pub fn render(app: &App, store: &Store, areas: &Areas, buf: &mut Buffer) {
    render_title(app, areas.title, buf);
    if areas.body.height == 0 {
        return;
    }
    if store.stats().traces.traces == 0 {
        render_empty(app, areas.body, buf);
        return;
    }
    render_header(areas.header, buf);
    if app.list.rows.is_empty() {
        let text = match &app.list.filter {
            Some(f) => format!("No trace matches {:?}. Esc clears the filter.", safe(f)),
            None => "No traces to show.".to_owned(),
        };
        Paragraph::new(text)
            .style(DIM)
            .alignment(Alignment::Center)
            .render(areas.body, buf);
        return;
    }
    let body = areas.body;
    let cursor = app.list.cursor;
    for (i, r) in app
        .list
        .rows
        .iter()
        .enumerate()
        .skip(cursor.offset)
        .take(body.height as usize)
    {
        let y = body.y + (i - cursor.offset) as u16;
        let row = Rect::new(body.x, y, body.width, 1);
        let selected = i == cursor.selected;
        if selected {
            buf.set_style(row, SELECTED);
        }
        let Some(trace) = store.trace(*r) else {
            put(buf, body.x, y, "(evicted)", body.width, DIM);
            continue;
        };
        let root = trace.root();
        let service = store.resource(root.resource).service;
        let end = body.x + body.width;
        let mut cells = Cells { x: body.x, y, end };
        cells.put(buf, &format::time_of_day(trace.start), TIME_W, DIM);
        cells.put(
            buf,
            &safe(store.str(service)),
            SERVICE_W,
            Style::new().fg(service_color(store.str(service))),
        );
        let fixed = DURATION_W + SPANS_W + SVCS_W;
        let name_w = end.saturating_sub(cells.x).saturating_sub(fixed).max(1);
        let mut name = String::new();
        if trace.errors > 0 {
            name.push_str("✖ ");
        }
        if root.parent_id != 0 {
            name.push_str("… ");
        }
        name.push_str(&safe(store.str(root.name)));
        let name_style = if trace.errors > 0 {
            ERROR
        } else {
            Style::new()
        };
        cells.put(buf, &name, name_w, name_style);
        let duration = format!("{:>9}", format::duration(trace.duration()));
        cells.put(buf, &duration, DURATION_W, Style::new());
        cells.put(
            buf,
            &format!("{:>6}", trace.span_count()),
            SPANS_W,
            Style::new(),
        );
        cells.put(
            buf,
            &format!("{:>4}", trace.services().len()),
            SVCS_W,
            Style::new(),
        );
        if selected {
            buf.set_style(row, SELECTED);
        }
    }
}

/// Fixed-width cells written left to right along a row.
struct Cells {
    x: u16,
    y: u16,
    end: u16,
}

impl Cells {
    fn put(&mut self, buf: &mut Buffer, text: &str, w: u16, style: Style) {
        let w = w.min(self.end.saturating_sub(self.x));
        put(buf, self.x, self.y, text, w.saturating_sub(1), style);
        self.x += w;
    }
}

fn render_title(app: &App, area: Rect, buf: &mut Buffer) {
    let mut title = format!(" otel viewer · {} traces", app.list.rows.len());
    title.push_str(if app.list.follow {
        " · following (f pauses)"
    } else {
        " · paused (f follows)"
    });
    title.push_str(" · sort: ");
    title.push_str(app.list.sort.label());
    if let Some(f) = &app.list.filter {
        title.push_str(" · filter: ");
        title.push_str(&safe(f));
    }
    put(buf, area.x, area.y, &title, area.width, TITLE);
}

fn render_header(area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let end = area.x + area.width;
    let mut x = area.x;
    for (label, w) in [("TIME (UTC)", TIME_W), ("SERVICE", SERVICE_W)] {
        put(buf, x, area.y, label, w.min(end.saturating_sub(x)), HEADER);
        x += w;
    }
    let fixed = DURATION_W + SPANS_W + SVCS_W;
    let name_w = end.saturating_sub(x).saturating_sub(fixed).max(1);
    put(
        buf,
        x,
        area.y,
        "ROOT SPAN",
        name_w.min(end.saturating_sub(x)),
        HEADER,
    );
    x += name_w;
    for (label, w) in [
        (" DURATION", DURATION_W),
        ("  SPANS", SPANS_W),
        (" SVCS", SVCS_W),
    ] {
        if x >= end {
            break;
        }
        put(buf, x, area.y, label, w.min(end - x), HEADER);
        x += w;
    }
}

fn render_empty(app: &App, area: Rect, buf: &mut Buffer) {
    let lines = vec![
        Line::styled("Waiting for traces…", TITLE),
        Line::raw(""),
        Line::raw("Point an OpenTelemetry SDK at this viewer:"),
        Line::styled(
            format!("OTEL_EXPORTER_OTLP_ENDPOINT=http://{}", app.grpc_addr),
            Style::new().fg(Color::Cyan),
        ),
        Line::raw(format!(
            "(OTLP/gRPC; for OTLP/HTTP use http://{})",
            app.http_addr
        )),
        Line::raw(""),
        Line::raw("Or run the demos: cargo run -p demo-api, then cargo run -p demo-client"),
        Line::styled("? for help · q to quit", DIM),
    ];
    let top = area.height.saturating_sub(lines.len() as u16) / 2;
    let area = Rect::new(area.x, area.y + top, area.width, area.height - top);
    Paragraph::new(lines)
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true })
        .render(area, buf);
}
