//! The metric list: one row per metric (name, type, unit, services, series, the latest value or
//! rate, and a sparkline of the recent past), sorted by name, filtered by text.

use std::any::Any;
use std::time::Instant;

use crossterm::event::KeyCode;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Style};
use ratatui::widgets::{Paragraph, Widget};

use super::MetricChart;
use crate::format::{self, safe};
use crate::model::MetricKind;
use crate::query::MetricFilter;
use crate::store::Store;
use crate::store::metrics::{Metric, MetricId, Series, rate};
use crate::tui::action::Action;
use crate::tui::cursor::Cursor;
use crate::tui::keymap::Binding;
use crate::tui::layout::{Areas, Shape};
use crate::tui::theme::{Cells, DIM, HEADER, TITLE, put, select_row, service_color};
use crate::tui::view::{Ctx, Outcome, Refresh, View};

const TYPE_W: u16 = 13;
const UNIT_W: u16 = 8;
const SERVICE_W: u16 = 20;
const SERIES_W: u16 = 7;
const LATEST_W: u16 = 14;
const SPARK_W: u16 = 24;

pub const HELP_TITLE: &str = "Metrics";
pub static KEYS: &[Binding] = &[
    Binding {
        codes: &[KeyCode::Enter],
        action: Action::Open,
        keys: "Enter",
        what: "the metric's chart",
    },
    Binding {
        codes: &[KeyCode::Char('/')],
        action: Action::StartFilter,
        keys: "/",
        what: "filter: metric name, description, service",
    },
];

/// The metric list's state.
#[derive(Debug, Default)]
pub struct MetricList {
    pub rows: Vec<MetricId>,
    pub cursor: Cursor,
    pub filter: Option<String>,
    seen_generation: Option<u64>,
}

/// The values a metric's sparkline and latest column read: per second for monotonic sums, the
/// median for distributions, the value otherwise.
pub fn headline_values(kind: MetricKind, s: &Series) -> Vec<f64> {
    if kind.is_monotonic() {
        s.rates().map(|(_, r)| r).collect()
    } else if kind.is_distribution() {
        s.points
            .iter()
            .filter_map(|p| p.value.quantile(0.5))
            .collect()
    } else {
        s.points.iter().map(|p| p.value.number()).collect()
    }
}

impl MetricList {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn height(cx: &Ctx) -> usize {
        cx.layout(Shape::List).body.height as usize
    }

    fn rebuild(&mut self, cx: &Ctx, store: &Store) {
        let selected = self.rows.get(self.cursor.selected).copied();
        let query = self
            .filter
            .as_deref()
            .and_then(|f| MetricFilter::parse(f, store).ok().flatten());
        let m = &store.metrics;
        let mut rows: Vec<MetricId> = (0..m.metrics().len())
            .filter_map(|i| u32::try_from(i).ok())
            .filter(|&id| query.as_ref().is_none_or(|q| q.matches_metric(store, id)))
            .collect();
        rows.sort_by(|a, b| {
            let name = |id: &MetricId| store.str(m.metrics()[*id as usize].name);
            name(a).cmp(name(b)).then(a.cmp(b))
        });
        self.rows = rows;
        self.seen_generation = Some(m.generation());
        if let Some(sel) = selected
            && let Some(pos) = self.rows.iter().position(|r| *r == sel)
        {
            self.cursor.selected = pos;
        }
        self.cursor.clamp(self.rows.len(), Self::height(cx));
    }

    fn open_selected(&self) -> Outcome {
        match self.rows.get(self.cursor.selected) {
            Some(&id) => Outcome::Open(Box::new(MetricChart::new(id))),
            None => Outcome::Done,
        }
    }
}

/// The latest value of a metric, over its series: the sum of rates or values for sums, the
/// largest for gauges, the median of the busiest series for distributions.
fn latest(store: &Store, id: MetricId, metric: &Metric) -> String {
    let m = &store.metrics;
    let unit = store.str(metric.unit);
    let series: Vec<&Series> = m.series_of(id).map(|(_, s)| s).collect();
    let kind = metric.kind;
    if kind.is_distribution() {
        let busiest = series
            .iter()
            .filter_map(|s| s.points.back())
            .max_by_key(|p| p.value.count_sum().map_or(0, |(c, _)| c));
        return busiest
            .and_then(|p| p.value.quantile(0.5))
            .map_or_else(|| "-".to_owned(), |v| format!("p50 {}", with_unit(v, unit)));
    }
    let lasts = series.iter().filter_map(|s| {
        let n = s.points.len();
        if kind.is_monotonic() {
            (n >= 2).then(|| rate(&s.points[n - 2], &s.points[n - 1]))
        } else {
            s.points.back().map(|p| p.value.number())
        }
    });
    let v = if kind == MetricKind::Gauge {
        lasts.reduce(f64::max)
    } else {
        lasts.reduce(|a, b| a + b)
    };
    match v {
        None => "-".to_owned(),
        Some(v) if kind.is_monotonic() => with_unit(v, &format!("{unit}/s")),
        Some(v) => with_unit(v, unit),
    }
}

/// A value and its unit, as short as it goes (for axis and bucket labels): times without
/// trailing zeros, others as [`with_unit`].
#[must_use]
pub fn label_with_unit(v: f64, unit: &str) -> String {
    let scale = match unit {
        "s" => 1e9,
        "ms" => 1e6,
        "us" | "µs" => 1e3,
        "ns" => 1.0,
        // An axis label needs no more than three significant digits.
        _ => return with_unit(significant(v, 3), unit),
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let ns = (v * scale).abs().round() as u64;
    format!(
        "{}{}",
        if v < 0.0 { "-" } else { "" },
        format::duration_short(ns)
    )
}

/// `v` rounded to `digits` significant digits.
#[must_use]
pub fn significant(v: f64, digits: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    #[allow(clippy::cast_possible_truncation)]
    let magnitude = v.abs().log10().floor() as i32;
    let factor = 10f64.powi(digits - 1 - magnitude);
    (v * factor).round() / factor
}

/// A value and its unit: times as durations, bytes as byte counts, `1` and `{...}`
/// annotations left out.
#[must_use]
pub fn with_unit(v: f64, unit: &str) -> String {
    let per_second = unit.strip_suffix("/s");
    let (base, suffix) = per_second.map_or((unit, ""), |u| (u, "/s"));
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let as_ns = |scale: f64| {
        let ns = (v * scale).abs().round() as u64;
        format!(
            "{}{}{suffix}",
            if v < 0.0 { "-" } else { "" },
            format::duration(ns)
        )
    };
    match base {
        "s" => as_ns(1e9),
        "ms" => as_ns(1e6),
        "us" | "µs" => as_ns(1e3),
        "ns" => as_ns(1.0),
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        "By" if v >= 0.0 => format!("{}{suffix}", format::bytes(v.round() as u64)),
        "" | "1" => format!("{}{suffix}", format::number(v)),
        u if u.starts_with('{') => format!("{}{suffix}", format::number(v)),
        u => format!("{} {}{suffix}", format::number(v), safe(u)),
    }
}

/// A one-line chart of `values` in `width` cells (the most recent values, scaled to their
/// range).
#[must_use]
pub fn sparkline(values: &[f64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let values = &values[values.len().saturating_sub(width)..];
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    values
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                ' '
            } else if hi <= lo {
                BARS[3]
            } else {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let i = (((v - lo) / (hi - lo)) * 7.0).round() as usize;
                BARS[i.min(7)]
            }
        })
        .collect()
}

impl View for MetricList {
    fn keys(&self) -> &'static [Binding] {
        KEYS
    }

    fn help_title(&self) -> &'static str {
        HELP_TITLE
    }

    fn shape(&self) -> Shape {
        Shape::List
    }

    fn filter_text(&self) -> Option<String> {
        Some(self.filter.clone().unwrap_or_default())
    }

    fn query_signal(&self) -> Option<crate::query::Signal> {
        Some(crate::query::Signal::Metrics)
    }

    fn update(&mut self, cx: &mut Ctx, store: &Store, action: &Action) -> Outcome {
        let height = Self::height(cx);
        match action {
            Action::Open => return self.open_selected(),
            Action::Back => {
                if self.filter.take().is_some() {
                    self.cursor = Cursor::default();
                    self.rebuild(cx, store);
                }
            }
            Action::Apply(text) => {
                self.filter.clone_from(text);
                self.cursor = Cursor::default();
                self.rebuild(cx, store);
            }
            Action::Click(x, y) => {
                if self
                    .cursor
                    .click(cx.layout(Shape::List).body, self.rows.len(), *x, *y)
                {
                    return self.open_selected();
                }
            }
            other => {
                self.cursor.apply(other, self.rows.len(), height);
            }
        }
        Outcome::Done
    }

    fn refresh(&mut self, cx: &mut Ctx, store: &Store, _now: Instant) -> Refresh {
        if self.seen_generation == Some(store.metrics.generation()) {
            return Refresh::Unchanged;
        }
        self.rebuild(cx, store);
        Refresh::Changed
    }

    fn render(&self, cx: &Ctx, store: &Store, areas: &Areas, buf: &mut Buffer) {
        let mut title = format!(" {}", format::plural(self.rows.len() as u64, "metric"));
        if let Some(f) = &self.filter {
            title.push_str(" · filter: ");
            title.push_str(&format::ellipsis(&safe(f), 40));
        }
        put(
            buf,
            areas.title.x,
            areas.title.y,
            &title,
            areas.title.width,
            TITLE,
        );
        if areas.body.height == 0 {
            return;
        }
        if store.metrics.metrics().is_empty() {
            super::render_empty(
                cx,
                super::Empty {
                    waiting: "Waiting for metrics…",
                    sdk: "Point an OpenTelemetry SDK's metric exporter at this viewer:",
                    transport: format!(
                        "(OTLP/gRPC; OTLP/HTTP: http://{}/v1/metrics) with OTEL_METRICS_EXPORTER=otlp",
                        cx.http_addr
                    ),
                    demos: "The demos count requests and time them: cargo run -p demo-api, then cargo run -p demo-client",
                    footer: "? for help · Tab for traces and logs",
                },
                areas.body,
                buf,
            );
            return;
        }
        let body = areas.body;
        // The sparkline only where the names keep room (28 columns); on a narrow terminal
        // the names get its room instead.
        let fixed = TYPE_W + UNIT_W + SERVICE_W + SERIES_W + LATEST_W;
        let fixed = if body.width >= fixed + SPARK_W + 28 {
            fixed + SPARK_W
        } else {
            fixed
        };
        let name_w = body.width.saturating_sub(fixed).max(12);
        render_header(areas.header, name_w, buf);
        if self.rows.is_empty() {
            Paragraph::new("No metric matches. Esc clears the filter.")
                .style(DIM)
                .alignment(Alignment::Center)
                .render(body, buf);
            return;
        }
        let m = &store.metrics;
        for i in self.cursor.visible(self.rows.len(), body.height as usize) {
            let y = body.y + (i - self.cursor.offset) as u16;
            let id = self.rows[i];
            let Some(metric) = m.metric(id) else { continue };
            let mut cells = Cells {
                x: body.x,
                y,
                end: body.x + body.width,
            };
            cells.put(buf, &safe(store.str(metric.name)), name_w, Style::new());
            cells.put(buf, metric.kind.as_str(), TYPE_W, DIM);
            cells.put(buf, &safe(store.str(metric.unit)), UNIT_W, DIM);
            let mut services: Vec<&str> = Vec::new();
            for (_, s) in m.series_of(id) {
                let service = store.catalog.service(s.resource);
                if !services.contains(&service) {
                    services.push(service);
                }
            }
            let first = services.first().copied().unwrap_or("");
            let text = if services.len() > 1 {
                format!("{} +{}", safe(first), services.len() - 1)
            } else {
                safe(first).into_owned()
            };
            cells.put(buf, &text, SERVICE_W, Style::new().fg(service_color(first)));
            cells.put(
                buf,
                &format!("{:>5}", metric.series.len()),
                SERIES_W,
                Style::new(),
            );
            cells.put(
                buf,
                &format!("{:>13}", latest(store, id, metric)),
                LATEST_W,
                Style::new(),
            );
            if let Some((_, s)) = m.series_of(id).next() {
                let line = sparkline(&headline_values(metric.kind, s), SPARK_W as usize - 1);
                cells.put(buf, &line, SPARK_W, Style::new().fg(Color::Cyan));
            }
            if i == self.cursor.selected {
                select_row(buf, Rect::new(body.x, y, body.width, 1));
            }
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn render_header(area: Rect, name_w: u16, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let mut cells = Cells {
        x: area.x,
        y: area.y,
        end: area.x + area.width,
    };
    for (label, w) in [
        ("NAME", name_w),
        ("TYPE", TYPE_W),
        ("UNIT", UNIT_W),
        ("SERVICES", SERVICE_W),
        ("SERIES", SERIES_W),
        ("       LATEST", LATEST_W),
        ("RECENT", SPARK_W),
    ] {
        cells.put(buf, label, w, HEADER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_to_their_range() {
        assert_eq!(sparkline(&[0.0, 1.0, 2.0, 7.0], 10), "▁▂▃█");
        assert_eq!(sparkline(&[5.0, 5.0], 10), "▄▄");
        assert_eq!(sparkline(&[1.0, 2.0, 3.0], 2), "▁█", "only the most recent");
        assert_eq!(sparkline(&[], 3), "");
    }

    #[test]
    fn axis_labels_have_three_significant_digits() {
        assert_eq!(label_with_unit(41.537, "1/s"), "41.5/s");
        assert_eq!(label_with_unit(1234.5678, "1"), "1230");
        assert_eq!(label_with_unit(0.012_345, "1"), "0.0123");
        assert_eq!(label_with_unit(0.0, "1"), "0");
        assert_eq!(label_with_unit(-2.345_6, "{req}"), "-2.35");
    }

    #[test]
    fn units_are_shown_unless_dimensionless() {
        assert_eq!(with_unit(3.0, "1"), "3");
        assert_eq!(with_unit(3.0, "{request}"), "3");
        assert_eq!(with_unit(0.25, "s"), "250.00ms");
        assert_eq!(with_unit(0.000_208, "s"), "208.0µs");
        assert_eq!(with_unit(12.0, "ms/s"), "12.00ms/s");
        assert_eq!(with_unit(4.4, "1/s"), "4.4/s");
        assert_eq!(with_unit(2048.0, "By"), "2.0 KiB");
        assert_eq!(with_unit(7.0, "widgets"), "7 widgets");
    }
}
