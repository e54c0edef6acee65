//! A metric's chart over time: a braille line per series (a colour each, with a legend to pick
//! which are shown), axes with units and tick labels; monotonic sums as a rate per second (or
//! the raw value); histograms as p50/p90/p99 over time of the selected series with its latest
//! distribution as a bar per bucket; summaries by their quantiles. Exemplars are marked on the
//! chart; one is selected with `x` and Enter opens its trace at its span.

use std::any::Any;
use std::time::Instant;

use crossterm::event::KeyCode;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span as TextSpan};
use ratatui::widgets::canvas::{Canvas, Line as CanvasLine, Points};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Widget};
use rustc_hash::FxHashSet;

use super::log_list::open_trace;
use super::metric_list::{label_with_unit, with_unit};
use crate::format::{self, safe};
use crate::model::{Histogram, PointValue, SpanId, TraceId};
use crate::store::Store;
use crate::store::metrics::{self, Metric, MetricId, Point, Series, SeriesId};
use crate::tui::action::Action;
use crate::tui::cursor::Cursor;
use crate::tui::keymap::Binding;
use crate::tui::layout::{Areas, Shape};
use crate::tui::theme::{DIM, KEY, TITLE, put, select_row, series_color};
use crate::tui::view::{Ctx, Outcome, Refresh, View};

/// Quantiles drawn for distributions, with their colours.
const QUANTILES: [(f64, &str, Color); 3] = [
    (0.5, "p50", Color::Green),
    (0.9, "p90", Color::Yellow),
    (0.99, "p99", Color::Red),
];
/// A line of the chart: its legend label (empty: none), colour and points.
type ChartLine = (String, Color, Vec<(f64, f64)>);

/// Most bars in a distribution (adjacent buckets are merged past it).
const MAX_BARS: usize = 48;

pub const HELP_TITLE: &str = "Metric chart";
pub static KEYS: &[Binding] = &[
    Binding {
        codes: &[KeyCode::Char(' ')],
        action: Action::ToggleSeries,
        keys: "j k  Space",
        what: "select a series / show or hide it",
    },
    Binding {
        codes: &[KeyCode::Char('/')],
        action: Action::StartFilter,
        keys: "/",
        what: "show only series whose attributes or service match",
    },
    Binding {
        codes: &[KeyCode::Char('a')],
        action: Action::ShowAllSeries,
        keys: "a",
        what: "show every series",
    },
    Binding {
        codes: &[KeyCode::Char('r')],
        action: Action::ToggleRate,
        keys: "r",
        what: "counters: rate per second / raw value",
    },
    Binding {
        codes: &[KeyCode::Char('x')],
        action: Action::NextExemplar,
        keys: "x",
        what: "select the next exemplar (◆ on the chart)",
    },
    Binding {
        codes: &[KeyCode::Enter],
        action: Action::Open,
        keys: "Enter",
        what: "open the selected exemplar's trace at its span",
    },
];

/// The chart's state.
#[derive(Debug)]
pub struct MetricChart {
    pub metric: MetricId,
    /// Monotonic sums: per second (the default) rather than the raw value.
    pub rate: bool,
    /// Series not drawn.
    pub hidden: FxHashSet<SeriesId>,
    /// The selected series, in the legend.
    pub legend: Cursor,
    /// The selected exemplar, by position in [`MetricChart::exemplars`].
    pub exemplar: Option<usize>,
    /// The metric store's generation when last refreshed.
    seen_generation: Option<u64>,
    /// The text series were picked by (`/`), if any.
    pub pick: Option<String>,
}

/// An exemplar as charted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Marked {
    pub time: u64,
    pub value: f64,
    pub trace_id: TraceId,
    pub span_id: SpanId,
}

impl MetricChart {
    #[must_use]
    pub fn new(metric: MetricId) -> Self {
        Self {
            metric,
            rate: true,
            hidden: FxHashSet::default(),
            legend: Cursor::default(),
            exemplar: None,
            seen_generation: None,
            pick: None,
        }
    }

    fn series<'a>(&self, store: &'a Store) -> Vec<(SeriesId, &'a Series)> {
        store.metrics.series_of(self.metric).collect()
    }

    fn selected_series(&self, store: &Store) -> Option<SeriesId> {
        store
            .metrics
            .metric(self.metric)?
            .series
            .get(self.legend.selected)
            .copied()
    }

    /// The exemplars on the chart, oldest first: of the selected series for distributions, of
    /// every series shown otherwise; none for rates (they are measurements, not rates).
    #[must_use]
    pub fn exemplars(&self, store: &Store) -> Vec<Marked> {
        let Some(metric) = store.metrics.metric(self.metric) else {
            return Vec::new();
        };
        if metric.kind.is_monotonic() && self.rate {
            return Vec::new();
        }
        let selected = self.selected_series(store);
        let mut out: Vec<Marked> = self
            .series(store)
            .into_iter()
            .filter(|(id, _)| {
                if metric.kind.is_distribution() {
                    Some(*id) == selected
                } else {
                    !self.hidden.contains(id)
                }
            })
            .flat_map(|(_, s)| s.exemplars.iter())
            .filter(|e| e.trace_id != 0)
            .map(|e| Marked {
                time: e.time,
                value: e.value,
                trace_id: e.trace_id,
                span_id: e.span_id,
            })
            .collect();
        out.sort_by_key(|e| e.time);
        out
    }

    fn legend_height(cx: &Ctx) -> usize {
        cx.layout(Shape::Full).body.height.saturating_sub(2) as usize
    }
}

/// Points in time order as `(seconds before end, value)`.
fn line(points: impl Iterator<Item = (u64, f64)>, end: u64) -> Vec<(f64, f64)> {
    #[allow(clippy::cast_precision_loss)]
    points
        .filter(|(_, v)| v.is_finite())
        .map(|(t, v)| (-((end.saturating_sub(t)) as f64) / 1e9, v))
        .collect()
}

/// At most `max` points: every k-th, and always the last (a braille cell holds two columns of
/// dots, so more than twice the width draws nothing more).
#[must_use]
pub fn thin<T>(points: Vec<T>, max: usize) -> Vec<T> {
    let max = max.max(2);
    if points.len() <= max {
        return points;
    }
    let n = points.len();
    let step = n.div_ceil(max);
    // Every step-th from the first, and the last whether or not it falls on a step.
    points
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0 || *i == n - 1)
        .map(|(_, p)| p)
        .collect()
}

/// The distribution between two points of a cumulative histogram (what happened in that
/// interval), or the later point's own when they cannot be subtracted (a reset).
#[must_use]
pub fn interval(a: &Point, b: &Point) -> PointValue {
    if let (PointValue::Histogram(x), PointValue::Histogram(y)) = (&a.value, &b.value)
        && a.start == b.start
        && x.bounds == y.bounds
        && x.counts.len() == y.counts.len()
        && y.count >= x.count
        && x.counts.iter().zip(y.counts.iter()).all(|(p, q)| q >= p)
    {
        return PointValue::Histogram(Box::new(Histogram {
            count: y.count - x.count,
            sum: x.sum.zip(y.sum).map(|(p, q)| q - p),
            // Min and max are of the whole run: not kept for an interval.
            min: None,
            max: None,
            bounds: x.bounds.clone(),
            counts: x
                .counts
                .iter()
                .zip(y.counts.iter())
                .map(|(p, q)| q - p)
                .collect(),
        }));
    }
    b.value.clone()
}

/// A quantile of each interval of a distribution series, in time order.
fn quantile_line(s: &Series, q: f64) -> impl Iterator<Item = (u64, f64)> + '_ {
    let first = s
        .points
        .front()
        .and_then(|p| Some((p.time, p.value.quantile(q)?)));
    first.into_iter().chain(
        s.points
            .iter()
            .zip(s.points.iter().skip(1))
            .filter_map(move |(a, b)| Some((b.time, interval(a, b).quantile(q)?))),
    )
}

/// A series' attributes in full: its service, then every `k=v`.
fn series_full_label(store: &Store, s: &Series) -> String {
    let mut out = safe(store.catalog.service(s.resource)).into_owned();
    for a in s.attrs.iter() {
        out.push(' ');
        out.push_str(&safe(store.str(a.key())));
        out.push('=');
        out.push_str(&safe(&store.value_text(&a.value())));
    }
    out
}

/// The legend's labels: only what differs between the series (the service when there are
/// several, then the attribute keys whose values differ, those with the most distinct values
/// first), as `k=v`; where cut to `width` two would read the same, the values alone; and never
/// two identical labels (a `#n` is added where all else is equal).
fn legend_labels(store: &Store, series: &[(SeriesId, &Series)], width: usize) -> Vec<String> {
    use std::collections::BTreeMap;
    let several = series
        .iter()
        .map(|(_, s)| s.resource)
        .collect::<FxHashSet<_>>()
        .len()
        > 1;
    // Per key: the distinct values it takes (absent counts as one).
    let mut values: BTreeMap<String, FxHashSet<String>> = BTreeMap::new();
    let texts: Vec<Vec<(String, String)>> = series
        .iter()
        .map(|(_, s)| {
            s.attrs
                .iter()
                .map(|a| {
                    (
                        safe(store.str(a.key())).into_owned(),
                        safe(&store.value_text(&a.value())).into_owned(),
                    )
                })
                .collect()
        })
        .collect();
    for attrs in &texts {
        for (k, _) in attrs {
            values.entry(k.clone()).or_default();
        }
    }
    for (k, vals) in &mut values {
        for attrs in &texts {
            vals.insert(
                attrs
                    .iter()
                    .find(|(ak, _)| ak == k)
                    .map_or_else(|| "\u{0}".to_owned(), |(_, v)| v.clone()),
            );
        }
    }
    // One series alone: all of its attributes tell what it is.
    let alone = series.len() == 1;
    let mut keys: Vec<(&String, usize)> = values
        .iter()
        .filter(|(_, v)| alone || v.len() > 1)
        .map(|(k, v)| (k, v.len()))
        .collect();
    keys.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let build = |values_only: bool| -> Vec<String> {
        series
            .iter()
            .zip(&texts)
            .map(|((_, s), attrs)| {
                let mut parts = Vec::new();
                if several {
                    parts.push(safe(store.catalog.service(s.resource)).into_owned());
                }
                for (k, _) in &keys {
                    if let Some((_, v)) = attrs.iter().find(|(ak, _)| ak == *k) {
                        parts.push(if values_only {
                            v.clone()
                        } else {
                            format!("{k}={v}")
                        });
                    }
                }
                if parts.is_empty() {
                    parts.push(if attrs.is_empty() {
                        "(no attributes)".to_owned()
                    } else {
                        "(common attributes only)".to_owned()
                    });
                }
                parts.join(" ")
            })
            .collect()
    };
    let cut = |l: &String| l.chars().take(width).collect::<String>();
    let collide = |labels: &[String]| {
        let mut seen = FxHashSet::default();
        labels.iter().any(|l| !seen.insert(cut(l)))
    };
    let mut labels = build(false);
    if collide(&labels) {
        labels = build(true);
    }
    if collide(&labels) {
        // Values alike at the start (`/kitchen/add_donut`, `/kitchen/get_donuts`): what they
        // share is cut from the left, so what tells them apart shows.
        labels = strip_common_prefixes(&labels);
    }
    if collide(&labels) {
        // Still alike within the width: number them, at the front so the number shows.
        for (i, l) in labels.iter_mut().enumerate() {
            *l = format!("#{} {l}", i + 1);
        }
    }
    labels
}

/// Each label's words with the start they share with the same word of every other label cut
/// off (`/kitchen/add_donut` → `…add_donut`), where that start is longer than two characters.
fn strip_common_prefixes(labels: &[String]) -> Vec<String> {
    let words: Vec<Vec<&str>> = labels.iter().map(|l| l.split(' ').collect()).collect();
    let n = words.iter().map(Vec::len).max().unwrap_or(0);
    let mut out: Vec<Vec<String>> = words
        .iter()
        .map(|w| w.iter().map(|s| (*s).to_owned()).collect())
        .collect();
    for col in 0..n {
        let column: Vec<&str> = words.iter().filter_map(|w| w.get(col).copied()).collect();
        let Some(first) = column.first() else {
            continue;
        };
        let mut common = first.len();
        for w in &column[1..] {
            common = common.min(
                first
                    .char_indices()
                    .zip(w.chars())
                    .take_while(|((_, a), b)| a == b)
                    .last()
                    .map_or(0, |((i, a), _)| i + a.len_utf8()),
            );
        }
        let distinct = column.iter().any(|w| *w != *first);
        if distinct && common > 2 {
            for w in &mut out {
                if let Some(word) = w.get_mut(col)
                    && word.len() >= common
                {
                    *word = format!("…{}", &word[common..]);
                }
            }
        }
    }
    out.into_iter().map(|w| w.join(" ")).collect()
}

/// Axis bounds padded a little, never empty.
fn bounds(lo: f64, hi: f64) -> [f64; 2] {
    if !lo.is_finite() || !hi.is_finite() {
        return [0.0, 1.0];
    }
    if hi <= lo {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return [
            if lo >= 0.0 {
                (lo - pad).max(0.0)
            } else {
                lo - pad
            },
            hi + pad,
        ];
    }
    let pad = (hi - lo) * 0.05;
    let lo = if lo >= 0.0 {
        (lo - pad).max(0.0)
    } else {
        lo - pad
    };
    [lo, hi + pad]
}

/// What a plot draws: bounds, tick labels (low, middle, high), lines and marked points.
struct Plot<'a> {
    x: [f64; 2],
    y: [f64; 2],
    x_labels: [String; 3],
    y_labels: [String; 3],
    lines: &'a [ChartLine],
    marked: &'a [(f64, f64)],
    chosen: &'a [(f64, f64)],
}

/// Draws a plot: axes with their labels, then every line into one braille canvas layer (one
/// layer for all of them: ratatui's `Chart` keeps a layer per dataset, four times the cost of a
/// 50-series frame, docs/BENCHMARKS.md), the exemplars on a layer above, and the named lines'
/// legend in the top left corner.
fn plot(p: &Plot<'_>, area: Rect, buf: &mut Buffer) {
    if area.width < 8 || area.height < 4 {
        return;
    }
    let axis = Style::new().fg(Color::DarkGray);
    let label_w = p
        .y_labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .min(area.width as usize / 3) as u16;
    let plot = Rect::new(
        area.x + label_w + 1,
        area.y,
        area.width - label_w - 1,
        area.height - 2,
    );
    // The y axis: labels right-aligned at the top, middle and bottom rows.
    let bottom = plot.y + plot.height - 1;
    for (label, row) in p
        .y_labels
        .iter()
        .zip([bottom, plot.y + (plot.height - 1) / 2, plot.y])
    {
        let w = (label.chars().count() as u16).min(label_w);
        put(buf, area.x + label_w - w, row, label, w, axis);
    }
    for row in plot.y..=bottom {
        put(buf, area.x + label_w, row, "│", 1, axis);
    }
    let x_axis = bottom + 1;
    put(buf, area.x + label_w, x_axis, "└", 1, axis);
    put(
        buf,
        plot.x,
        x_axis,
        &"─".repeat(plot.width as usize),
        plot.width,
        axis,
    );
    // The x axis: labels at the left, in the middle and at the right.
    let row = x_axis + 1;
    let [left, mid, right] = &p.x_labels;
    put(buf, plot.x, row, left, plot.width, axis);
    let mid_w = mid.chars().count() as u16;
    put(
        buf,
        plot.x + (plot.width.saturating_sub(mid_w)) / 2,
        row,
        mid,
        mid_w.min(plot.width),
        axis,
    );
    let right_w = (right.chars().count() as u16).min(plot.width);
    put(
        buf,
        plot.x + plot.width - right_w,
        row,
        right,
        right_w,
        axis,
    );
    Canvas::default()
        .marker(Marker::Braille)
        .x_bounds(p.x)
        .y_bounds(p.y)
        .paint(|ctx| {
            for (_, color, pts) in p.lines {
                for w in pts.windows(2) {
                    ctx.draw(&CanvasLine::new(w[0].0, w[0].1, w[1].0, w[1].1, *color));
                }
                if let [only] = pts.as_slice() {
                    ctx.draw(&Points {
                        coords: &[*only],
                        color: *color,
                    });
                }
            }
            if !p.marked.is_empty() || !p.chosen.is_empty() {
                ctx.layer();
                ctx.draw(&Points {
                    coords: p.marked,
                    color: Color::White,
                });
                ctx.draw(&Points {
                    coords: p.chosen,
                    color: Color::LightRed,
                });
            }
        })
        .render(plot, buf);
    // The named lines' legend.
    for (i, (name, color, _)) in p.lines.iter().filter(|(n, _, _)| !n.is_empty()).enumerate() {
        let row = plot.y + i as u16;
        if row > bottom {
            break;
        }
        let text = format!("■ {name}");
        let w = (text.chars().count() as u16).min(plot.width);
        put(buf, plot.x, row, &text, w, Style::new().fg(*color));
    }
}

impl MetricChart {
    fn render_lines(
        &self,
        store: &Store,
        metric: &Metric,
        area: Rect,
        selected: Option<&Series>,
        exemplars: &[Marked],
        buf: &mut Buffer,
    ) {
        let series = self.series(store);
        let unit = store.str(metric.unit);
        let rate = metric.kind.is_monotonic() && self.rate;
        // Lines: (label, colour, points).
        let mut lines: Vec<ChartLine> = Vec::new();
        let end = if metric.kind.is_distribution() {
            selected.and_then(|s| s.points.back()).map_or(0, |p| p.time)
        } else {
            series
                .iter()
                .filter(|(id, _)| !self.hidden.contains(id))
                .filter_map(|(_, s)| s.points.back())
                .map(|p| p.time)
                .max()
                .unwrap_or(0)
        };
        let max_points = 2 * area.width as usize;
        if metric.kind.is_distribution() {
            if let Some(s) = selected {
                if let PointValue::Summary(sm) = s
                    .points
                    .back()
                    .map(|p| &p.value)
                    .unwrap_or(&PointValue::Number(0.0))
                {
                    for (i, (q, _)) in sm.quantiles.iter().enumerate() {
                        let pts = line(
                            s.points
                                .iter()
                                .filter_map(|p| Some((p.time, p.value.quantile(*q)?))),
                            end,
                        );
                        lines.push((
                            format!("p{}", format::number(q * 100.0)),
                            series_color(i),
                            thin(pts, max_points),
                        ));
                    }
                } else {
                    for (q, label, color) in QUANTILES {
                        lines.push((
                            label.to_owned(),
                            color,
                            thin(line(quantile_line(s, q), end), max_points),
                        ));
                    }
                }
            }
        } else {
            for (n, (id, s)) in series.iter().enumerate() {
                if self.hidden.contains(id) {
                    continue;
                }
                let pts = if rate {
                    // The rate between the points drawn: over a thinned series, the mean rate
                    // of each stretch (and no work for the points a cell could not show).
                    let kept = thin(s.points.iter().collect::<Vec<_>>(), max_points + 1);
                    line(
                        kept.windows(2)
                            .map(|w| (w[1].time, metrics::rate(w[0], w[1]))),
                        end,
                    )
                } else {
                    thin(
                        line(s.points.iter().map(|p| (p.time, p.value.number())), end),
                        max_points,
                    )
                };
                lines.push((String::new(), series_color(n), pts));
            }
        }
        let marked: Vec<(f64, f64)> = line(exemplars.iter().map(|e| (e.time, e.value)), end);
        let chosen: Vec<(f64, f64)> = self
            .exemplar
            .and_then(|i| exemplars.get(i))
            .map(|e| line(std::iter::once((e.time, e.value)), end))
            .unwrap_or_default();
        let all = lines.iter().flat_map(|(_, _, p)| p).chain(&marked);
        let (mut x_lo, mut y_lo, mut y_hi) = (0.0f64, f64::INFINITY, f64::NEG_INFINITY);
        for &(x, y) in all {
            x_lo = x_lo.min(x);
            y_lo = y_lo.min(y);
            y_hi = y_hi.max(y);
        }
        let y = bounds(y_lo, y_hi);
        let x = if x_lo < 0.0 { [x_lo, 0.0] } else { [-1.0, 0.0] };
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let span_ns = (-x[0] * 1e9) as u64;
        let x_labels = [
            format!("-{}", format::duration(span_ns)),
            format!("-{}", format::duration(span_ns / 2)),
            "now".to_owned(),
        ];
        let y_unit = if rate {
            format!("{unit}/s")
        } else {
            unit.to_owned()
        };
        let y_labels = [
            label_with_unit(y[0], &y_unit),
            label_with_unit((y[0] + y[1]) / 2.0, &y_unit),
            label_with_unit(y[1], &y_unit),
        ];
        plot(
            &Plot {
                x,
                y,
                x_labels,
                y_labels,
                lines: &lines,
                marked: &marked,
                chosen: &chosen,
            },
            area,
            buf,
        );
    }

    fn render_distribution(
        store: &Store,
        metric: &Metric,
        s: &Series,
        area: Rect,
        buf: &mut Buffer,
    ) {
        let Some(last) = s.points.back() else { return };
        let unit = store.str(metric.unit);
        let bars: Vec<(String, u64)> = match &last.value {
            PointValue::Histogram(h) => h
                .counts
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let label = match h.bounds.get(i) {
                        Some(b) => format!("≤{}", label_with_unit(*b, unit)),
                        None => format!(
                            ">{}",
                            h.bounds
                                .last()
                                .map_or_else(String::new, |b| label_with_unit(*b, unit))
                        ),
                    };
                    (label, *c)
                })
                .collect(),
            PointValue::ExpHistogram(h) => {
                let mut v: Vec<(String, u64)> = Vec::new();
                if h.zero_count > 0 {
                    v.push(("0".to_owned(), h.zero_count));
                }
                for (i, c) in h.positive.iter().enumerate() {
                    let idx = h
                        .positive_offset
                        .saturating_add(i32::try_from(i).unwrap_or(0));
                    let (_, hi) = h.bucket_bounds(idx);
                    v.push((format!("≤{}", label_with_unit(hi, unit)), *c));
                }
                v
            }
            PointValue::Summary(sm) => sm
                .quantiles
                .iter()
                .map(|(q, v)| {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let v = v.max(0.0) as u64;
                    (format!("p{}", format::number(q * 100.0)), v)
                })
                .collect(),
            PointValue::Number(_) => return,
        };
        // Adjacent buckets merged so the bars fit, each at least as wide as its label (a
        // label is never cut: `≤100ms`, not `≤100m`).
        let label_w = bars
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(1)
            .max(3);
        let fit = (area.width as usize / (label_w + 1)).clamp(1, MAX_BARS);
        let group = bars.len().div_ceil(fit).max(1);
        let merged: Vec<(String, u64)> = bars
            .chunks(group)
            .map(|c| {
                (
                    c.last().map(|(l, _)| l.clone()).unwrap_or_default(),
                    c.iter().fold(0u64, |t, (_, n)| t.saturating_add(*n)),
                )
            })
            .collect();
        let width = u16::try_from(
            (area.width as usize / merged.len().max(1))
                .saturating_sub(1)
                .clamp(1, 9)
                .max(label_w.min(area.width as usize)),
        )
        .unwrap_or(1);
        let data: Vec<Bar<'_>> = merged
            .iter()
            .map(|(label, n)| Bar::default().value(*n).label(Line::raw(label.clone())))
            .collect();
        let title = match &last.value {
            PointValue::Summary(_) => format!(" latest quantiles ({}) ", safe(unit)),
            _ => format!(" latest distribution: count per bucket ({}) ", safe(unit)),
        };
        BarChart::default()
            .block(
                Block::new()
                    .borders(Borders::TOP)
                    .title(title)
                    .border_style(DIM),
            )
            .bar_width(width)
            .bar_gap(1)
            .bar_style(Style::new().fg(Color::Cyan))
            .data(BarGroup::default().bars(&data))
            .render(area, buf);
    }

    fn render_legend(&self, store: &Store, metric: &Metric, area: Rect, buf: &mut Buffer) {
        let series = self.series(store);
        let unit = store.str(metric.unit);
        let rate = metric.kind.is_monotonic() && self.rate;
        put(
            buf,
            area.x,
            area.y,
            " SERIES (Space hides)",
            area.width,
            KEY,
        );
        let height = area.height.saturating_sub(1) as usize;
        // The latest value takes up to a dozen cells; the label the rest.
        let labels = legend_labels(store, &series, usize::from(area.width.saturating_sub(14)));
        for i in self.legend.visible(series.len(), height) {
            let (id, s) = series[i];
            let y = area.y + 1 + (i - self.legend.offset) as u16;
            let shown = !self.hidden.contains(&id);
            let color = if metric.kind.is_distribution() {
                Color::Gray
            } else {
                series_color(i)
            };
            let mark = if shown { "■ " } else { "□ " };
            let x = put(buf, area.x, y, mark, area.width, Style::new().fg(color));
            // In rate mode, the latest rate; else the latest value.
            let latest = if rate {
                let mut pts = s.points.iter().rev();
                match (pts.next(), pts.next()) {
                    (Some(b), Some(a)) => {
                        label_with_unit(metrics::rate(a, b), &format!("{unit}/s"))
                    }
                    _ => String::new(),
                }
            } else {
                s.points
                    .back()
                    .map_or_else(String::new, |p| match &p.value {
                        PointValue::Number(v) => with_unit(*v, unit),
                        other => other
                            .count_sum()
                            .map_or_else(String::new, |(c, _)| format!("n={c}")),
                    })
            };
            let end = area.x + area.width;
            let latest_w = (latest.chars().count() as u16 + 1).min(end.saturating_sub(x));
            let style = if shown { Style::new() } else { DIM };
            put(
                buf,
                x,
                y,
                &labels[i],
                end.saturating_sub(x).saturating_sub(latest_w),
                style,
            );
            put(
                buf,
                end - latest_w + 1,
                y,
                &latest,
                latest_w.saturating_sub(1),
                style,
            );
            if i == self.legend.selected {
                select_row(buf, Rect::new(area.x, y, area.width, 1));
            }
        }
    }
}

impl View for MetricChart {
    fn keys(&self) -> &'static [Binding] {
        KEYS
    }

    fn help_title(&self) -> &'static str {
        HELP_TITLE
    }

    fn shape(&self) -> Shape {
        Shape::Full
    }

    fn filter_text(&self) -> Option<String> {
        Some(self.pick.clone().unwrap_or_default())
    }

    fn query_signal(&self) -> Option<crate::query::Signal> {
        Some(crate::query::Signal::Metrics)
    }

    fn update(&mut self, cx: &mut Ctx, store: &Store, action: &Action) -> Outcome {
        let n = self.series(store).len();
        let height = Self::legend_height(cx);
        match action {
            Action::Back => return Outcome::Back,
            Action::ToggleRate => self.rate = !self.rate,
            Action::ToggleSeries => {
                if let Some(id) = self.selected_series(store)
                    && !self.hidden.remove(&id)
                {
                    self.hidden.insert(id);
                }
            }
            Action::ShowAllSeries => {
                self.hidden.clear();
                self.pick = None;
            }
            Action::Apply(text) => {
                self.pick.clone_from(text);
                self.hidden.clear();
                if let Some(text) = text {
                    let query = crate::query::MetricFilter::parse(text, store)
                        .ok()
                        .flatten();
                    let metric = store.metrics.metric(self.metric);
                    for (id, s) in self.series(store) {
                        let keep = match (&query, metric) {
                            (Some(q), Some(m)) => q.matches_series(store, m, s),
                            _ => true,
                        };
                        if !keep {
                            self.hidden.insert(id);
                        }
                    }
                    if self.hidden.len() == n {
                        cx.notice = Some(format!("no series matches {:?}", safe(text)));
                    }
                }
            }
            Action::NextExemplar => {
                let count = self.exemplars(store).len();
                if count == 0 {
                    cx.notice = Some("no exemplar with a trace on this chart".into());
                    self.exemplar = None;
                } else {
                    self.exemplar =
                        Some(self.exemplar.map_or(count - 1, |i| (i + count - 1) % count));
                }
            }
            Action::Open => {
                let ex = self.exemplars(store);
                match self.exemplar.and_then(|i| ex.get(i)) {
                    Some(e) => return open_trace(cx, store, e.trace_id, e.span_id),
                    None => cx.notice = Some("select an exemplar with x first".into()),
                }
            }
            Action::Resize(..) => self.legend.clamp(n, height),
            other => {
                if self.legend.apply(other, n, height) {
                    self.exemplar = None;
                }
            }
        }
        Outcome::Done
    }

    fn refresh(&mut self, cx: &mut Ctx, store: &Store, _now: Instant) -> Refresh {
        if store.metrics.metric(self.metric).is_none() {
            return Refresh::Gone("the metric is no longer held");
        }
        // Charts follow their data: redrawn whenever a point arrived.
        let generation = store.metrics.generation();
        if self.seen_generation == Some(generation) {
            return Refresh::Unchanged;
        }
        self.seen_generation = Some(generation);
        let n = self.series(store).len();
        self.legend.clamp(n, Self::legend_height(cx));
        Refresh::Changed
    }

    fn render(&self, _cx: &Ctx, store: &Store, areas: &Areas, buf: &mut Buffer) {
        let Some(metric) = store.metrics.metric(self.metric) else {
            return;
        };
        let unit = store.str(metric.unit);
        let mut title = format!(
            " {} · {}{}",
            safe(store.str(metric.name)),
            metric.kind.as_str(),
            if unit.is_empty() {
                String::new()
            } else {
                format!(" · {}", safe(unit))
            },
        );
        if metric.kind.is_monotonic() {
            title.push_str(if self.rate {
                " · rate per second (r: raw)"
            } else {
                " · raw value (r: rate)"
            });
        }
        if let Some(pick) = &self.pick {
            title.push_str(" · series: ");
            title.push_str(&safe(pick));
        }
        if !metric.description.is_empty() {
            title.push_str(" · ");
            title.push_str(&safe(&metric.description));
        }
        put(
            buf,
            areas.title.x,
            areas.title.y,
            &title,
            areas.title.width,
            TITLE,
        );
        let body = areas.body;
        if body.height < 3 || body.width < 20 {
            return;
        }
        let legend_w = (body.width / 3).clamp(16, 48);
        let [main, info] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(body);
        let [chart, legend] =
            Layout::horizontal([Constraint::Min(0), Constraint::Length(legend_w)]).areas(main);
        let selected = self
            .selected_series(store)
            .and_then(|id| store.metrics.series(id));
        let exemplars = self.exemplars(store);
        if metric.kind.is_distribution() {
            let [top, bottom] =
                Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)])
                    .areas(chart);
            self.render_lines(store, metric, top, selected, &exemplars, buf);
            if let Some(s) = selected {
                Self::render_distribution(store, metric, s, bottom, buf);
            }
        } else {
            self.render_lines(store, metric, chart, selected, &exemplars, buf);
        }
        self.render_legend(store, metric, legend, buf);
        let text = match self.exemplar.and_then(|i| exemplars.get(i)) {
            Some(e) => format!(
                " exemplar {} at {} · trace {} span {} · Enter opens it",
                with_unit(e.value, unit),
                format::time_of_day(e.time),
                format::trace_id(e.trace_id),
                format::span_id(e.span_id)
            ),
            None if !exemplars.is_empty() => {
                format!(
                    " {} (◆) · x selects one",
                    format::plural(exemplars.len() as u64, "exemplar")
                )
            }
            None => String::new(),
        };
        let mut spans = vec![TextSpan::styled(text, Style::new().fg(Color::LightRed))];
        // The selected series in full: what the legend leaves out.
        if self.exemplar.is_none()
            && let Some(s) = selected
        {
            let sep = if spans[0].content.is_empty() {
                ""
            } else {
                " ·"
            };
            spans.insert(
                0,
                TextSpan::styled(format!(" ■ {}{sep}", series_full_label(store, s)), KEY),
            );
        }
        buf.set_line(info.x, info.y, &Line::from(spans), info.width);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_last_point_and_at_most_max() {
        let pts: Vec<(f64, f64)> = (0..1000).map(|i| (f64::from(i), 0.0)).collect();
        let t = thin(pts, 100);
        assert!(t.len() <= 101, "{}", t.len());
        assert_eq!(t.last(), Some(&(999.0, 0.0)));
        assert_eq!(thin(vec![(1.0, 1.0)], 100), vec![(1.0, 1.0)]);
    }

    #[test]
    fn histogram_intervals_subtract_cumulative_counts_unless_reset() {
        let h = |start, time, counts: &[u64]| Point {
            start,
            time,
            value: PointValue::Histogram(Box::new(Histogram {
                count: counts.iter().sum(),
                sum: Some(counts.iter().sum::<u64>() as f64),
                min: None,
                max: None,
                bounds: vec![10.0].into(),
                counts: counts.into(),
            })),
        };
        let PointValue::Histogram(d) = interval(&h(1, 10, &[5, 1]), &h(1, 20, &[6, 9])) else {
            panic!("histogram");
        };
        assert_eq!((d.count, &*d.counts, d.sum), (9, &[1, 8][..], Some(9.0)));
        // A new start: the later point stands alone.
        let PointValue::Histogram(d) = interval(&h(1, 10, &[5, 1]), &h(15, 20, &[1, 1])) else {
            panic!("histogram");
        };
        assert_eq!(d.count, 2);
    }

    #[test]
    fn what_values_share_at_the_start_is_cut_from_the_left() {
        let labels = [
            "kitchen /kitchen/add_donut",
            "kitchen /kitchen/get_donuts",
            "shop /order",
        ]
        .map(String::from);
        // Only `/` in common: nothing worth cutting.
        assert_eq!(strip_common_prefixes(&labels), labels);
        let labels = ["api /kitchen/add_donut", "api /kitchen/get_donuts"].map(String::from);
        assert_eq!(
            strip_common_prefixes(&labels),
            ["api …add_donut", "api …get_donuts"]
        );
    }
}
