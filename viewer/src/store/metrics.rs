//! The metric store: metrics by name and kind, each with its series (resource, scope and
//! attributes), each series a ring of points in time order. Delta points are accumulated as
//! they arrive, so delta and cumulative metrics read the same way; a cumulative series that
//! starts again (a new start time, or a counter that went down) is counted as a reset; points
//! older than a series' newest are dropped and counted rather than reordering it. Bounded: at
//! most `max_series` series (points of further series are dropped and counted), at most
//! `max_points` points a series, and an approximate size cap. Plain data: no async, no terminal.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::mem::size_of;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHasher};

use crate::catalog::{Catalog, Remap};
use crate::model::{
    Attr, Exemplar, ExpHistogram, Histogram, MetricBatch, MetricKind, NewPoint, PointValue,
    ResourceId, ScopeId, Sym, Value,
};

/// Exemplars kept per series (the newest).
pub const MAX_EXEMPLARS: usize = 64;

pub type MetricId = u32;
pub type SeriesId = u32;

/// What the metric store counts; all cumulative except `points`, `series`, `metrics`, `bytes`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetricStats {
    /// Data points received in accepted requests, including rejected ones.
    pub received: u64,
    /// Points dropped at the boundary (malformed).
    pub rejected: u64,
    /// Points older than their series' newest point, dropped.
    pub out_of_order: u64,
    /// Points dropped because the series cap was reached and theirs was a new series.
    pub series_dropped: u64,
    /// Points removed from the front of a full series, or to stay under the size cap.
    pub evicted: u64,
    /// Points that replaced a point of the same time (sent again).
    pub replaced: u64,
    /// Times a cumulative series started again.
    pub resets: u64,
    pub points: u64,
    pub series: u64,
    pub metrics: u64,
    /// Approximate bytes the points take.
    pub bytes: u64,
}

/// A metric: a name and kind, with its series from every resource that sends it.
#[derive(Debug, Clone)]
pub struct Metric {
    pub name: Sym,
    pub description: Box<str>,
    pub unit: Sym,
    /// The kind, temporality folded away (delta points are accumulated).
    pub kind: MetricKind,
    pub series: Vec<SeriesId>,
}

/// A stored point: cumulative from `start` (delta points accumulated) to `time`.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub start: u64,
    pub time: u64,
    pub value: PointValue,
}

/// One series: a metric's points for one resource, scope and set of attributes.
#[derive(Debug, Clone)]
pub struct Series {
    pub metric: MetricId,
    pub resource: ResourceId,
    pub scope: ScopeId,
    pub attrs: Box<[Attr]>,
    pub points: VecDeque<Point>,
    pub exemplars: VecDeque<Exemplar>,
    /// Times this series started again.
    pub resets: u32,
}

impl Series {
    /// Rate per second between each point and the one before it (for monotonic sums): the
    /// increase over the time between them, or, across a reset, the value since its start.
    pub fn rates(&self) -> impl Iterator<Item = (u64, f64)> + '_ {
        self.points
            .iter()
            .zip(self.points.iter().skip(1))
            .map(|(a, b)| (b.time, rate(a, b)))
    }
}

/// The rate per second from point `a` to the later point `b` of one series.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn rate(a: &Point, b: &Point) -> f64 {
    let (va, vb) = (a.value.number(), b.value.number());
    if b.start == a.start && vb >= va && b.time > a.time {
        (vb - va) / ((b.time - a.time) as f64 / 1e9)
    } else if b.time > b.start && b.start != 0 {
        vb / ((b.time - b.start) as f64 / 1e9)
    } else {
        0.0
    }
}

/// The metric store. See the module docs.
pub struct Metrics {
    metrics: Vec<Metric>,
    metric_ids: FxHashMap<(Sym, MetricKind), MetricId>,
    series: Vec<Series>,
    series_ids: FxHashMap<u64, Vec<SeriesId>>,
    max_series: usize,
    max_points: usize,
    max_bytes: usize,
    stats: MetricStats,
    generation: u64,
}

impl Metrics {
    #[must_use]
    pub fn new(max_series: usize, max_points: usize) -> Self {
        Self {
            metrics: Vec::new(),
            metric_ids: FxHashMap::default(),
            series: Vec::new(),
            series_ids: FxHashMap::default(),
            max_series: max_series.max(1),
            max_points: max_points.max(2),
            max_bytes: usize::MAX,
            stats: MetricStats::default(),
            generation: 0,
        }
    }

    /// Caps the series held and the points kept per series.
    pub fn set_caps(&mut self, max_series: usize, max_points: usize) {
        self.max_series = max_series.max(1);
        self.max_points = max_points.max(2);
    }

    /// Caps the approximate bytes the points take.
    pub fn set_max_bytes(&mut self, n: usize) {
        self.max_bytes = n.max(1);
    }

    #[must_use]
    pub fn stats(&self) -> MetricStats {
        self.stats
    }

    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    #[must_use]
    pub fn metrics(&self) -> &[Metric] {
        &self.metrics
    }

    #[must_use]
    pub fn metric(&self, id: MetricId) -> Option<&Metric> {
        self.metrics.get(id as usize)
    }

    #[must_use]
    pub fn series(&self, id: SeriesId) -> Option<&Series> {
        self.series.get(id as usize)
    }

    /// A metric's series.
    pub fn series_of(&self, id: MetricId) -> impl Iterator<Item = (SeriesId, &Series)> + '_ {
        self.metric(id)
            .into_iter()
            .flat_map(|m| &m.series)
            .filter_map(|&s| Some((s, self.series(s)?)))
    }

    /// Adds a batch of points.
    pub fn ingest(&mut self, catalog: &mut Catalog, batch: MetricBatch) {
        self.stats.received += batch.rejected;
        self.stats.rejected += batch.rejected;
        for rm in batch.resources {
            let attrs: Vec<(&str, Value)> = rm
                .attrs
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            let resource = catalog.intern_resource(&attrs);
            for sm in rm.scopes {
                let scope = catalog.intern_scope(&sm.name, &sm.version);
                for m in sm.metrics {
                    let name = catalog.intern(&m.name);
                    let shape = m.kind.shape();
                    let metric = match self.metric_ids.get(&(name, shape)) {
                        Some(&id) => id,
                        None if m.points.is_empty() => continue,
                        None => {
                            let id = u32::try_from(self.metrics.len()).unwrap_or(u32::MAX);
                            self.metrics.push(Metric {
                                name,
                                description: m.description.into(),
                                unit: catalog.intern(&m.unit),
                                kind: shape,
                                series: Vec::new(),
                            });
                            self.metric_ids.insert((name, shape), id);
                            self.stats.metrics += 1;
                            id
                        }
                    };
                    for p in m.points {
                        self.stats.received += 1;
                        self.add(catalog, metric, resource, scope, m.kind, p);
                    }
                }
            }
        }
        self.generation += 1;
    }

    fn add(
        &mut self,
        catalog: &mut Catalog,
        metric: MetricId,
        resource: ResourceId,
        scope: ScopeId,
        kind: MetricKind,
        p: NewPoint,
    ) {
        // Attributes are a set: the same ones in another order are the same series. Sorted by
        // key (the first of a repeated key kept) before the look-up.
        let mut sorted: Vec<&(compact_str::CompactString, Value)> = p.attrs.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        sorted.dedup_by(|b, a| a.0 == b.0);
        let attrs = catalog.attrs(sorted.into_iter().map(|(k, v)| (k.as_str(), v.clone())));
        let key = series_key(metric, resource, scope, &attrs);
        let found = self.series_ids.get(&key).and_then(|ids| {
            ids.iter().copied().find(|&id| {
                let s = &self.series[id as usize];
                s.metric == metric && s.resource == resource && s.scope == scope && s.attrs == attrs
            })
        });
        let id = match found {
            Some(id) => id,
            None if self.series.len() >= self.max_series => {
                self.stats.series_dropped += 1;
                return;
            }
            None => {
                let id = u32::try_from(self.series.len()).unwrap_or(u32::MAX);
                self.series.push(Series {
                    metric,
                    resource,
                    scope,
                    attrs,
                    points: VecDeque::new(),
                    exemplars: VecDeque::new(),
                    resets: 0,
                });
                self.series_ids.entry(key).or_default().push(id);
                self.metrics[metric as usize].series.push(id);
                self.stats.series += 1;
                id
            }
        };
        let series = &mut self.series[id as usize];
        for e in &p.exemplars {
            if series.exemplars.len() >= MAX_EXEMPLARS {
                series.exemplars.pop_front();
            }
            series.exemplars.push_back(*e);
        }
        let mut point = Point {
            start: p.start,
            time: p.time,
            value: p.value,
        };
        if let PointValue::Histogram(h) = &mut point.value {
            // Bounds are shared with the series' last point when equal.
            if let Some(PointValue::Histogram(last)) = series.points.back().map(|p| &p.value)
                && last.bounds == h.bounds
            {
                h.bounds = Arc::clone(&last.bounds);
            }
        }
        match series.points.back_mut() {
            Some(last) if point.time < last.time => {
                self.stats.out_of_order += 1;
                return;
            }
            Some(last) if kind.is_delta() => {
                if let Some(sum) = merge(&last.value, &point.value) {
                    point.start = last.start;
                    point.value = sum;
                } else {
                    series.resets += 1;
                    self.stats.resets += 1;
                }
            }
            Some(last) if point.time == last.time => {
                // The same point sent again: the newer word wins.
                self.stats.replaced += 1;
                self.stats.bytes -= point_bytes(last) as u64;
                self.stats.bytes += point_bytes(&point) as u64;
                *last = point;
                return;
            }
            Some(last) => {
                let went_down = kind.is_monotonic() && point.value.number() < last.value.number();
                if (point.start != 0 && point.start != last.start) || went_down {
                    series.resets += 1;
                    self.stats.resets += 1;
                }
            }
            None => {}
        }
        self.stats.bytes += point_bytes(&point) as u64;
        self.stats.points += 1;
        series.points.push_back(point);
        while series.points.len() > self.max_points
            || (self.stats.bytes as usize > self.max_bytes && series.points.len() > 1)
        {
            if let Some(old) = series.points.pop_front() {
                self.stats.bytes -= point_bytes(&old) as u64;
                self.stats.points -= 1;
                self.stats.evicted += 1;
            }
        }
    }

    /// Renumbers every symbol, resource and scope the metrics use (see [`Catalog`]).
    pub fn remap(&mut self, remap: &mut Remap) {
        for m in &mut self.metrics {
            m.name = remap.sym(m.name);
            m.unit = remap.sym(m.unit);
        }
        for s in &mut self.series {
            s.resource = remap.resource(s.resource);
            s.scope = remap.scope(s.scope);
            remap.attrs(&mut s.attrs);
        }
        self.metric_ids = self
            .metrics
            .iter()
            .enumerate()
            .map(|(i, m)| ((m.name, m.kind), u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        let mut ids: FxHashMap<u64, Vec<SeriesId>> = FxHashMap::default();
        for (i, s) in self.series.iter().enumerate() {
            ids.entry(series_key(s.metric, s.resource, s.scope, &s.attrs))
                .or_default()
                .push(u32::try_from(i).unwrap_or(u32::MAX));
        }
        self.series_ids = ids;
        self.generation += 1;
    }
}

/// The sum of two accumulations of one series, if they can be added.
fn merge(a: &PointValue, b: &PointValue) -> Option<PointValue> {
    let add_opt = |x: Option<f64>, y: Option<f64>| x.zip(y).map(|(x, y)| x + y);
    let min_opt = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    let max_opt = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
    match (a, b) {
        (PointValue::Number(x), PointValue::Number(y)) => Some(PointValue::Number(x + y)),
        (PointValue::Histogram(x), PointValue::Histogram(y)) if x.bounds == y.bounds => {
            let counts = if x.counts.is_empty() {
                y.counts.clone()
            } else if y.counts.is_empty() {
                x.counts.clone()
            } else {
                x.counts
                    .iter()
                    .zip(y.counts.iter())
                    .map(|(a, b)| a.saturating_add(*b))
                    .collect()
            };
            Some(PointValue::Histogram(Box::new(Histogram {
                count: x.count.saturating_add(y.count),
                sum: add_opt(x.sum, y.sum),
                min: min_opt(x.min, y.min),
                max: max_opt(x.max, y.max),
                bounds: Arc::clone(&x.bounds),
                counts,
            })))
        }
        (PointValue::ExpHistogram(x), PointValue::ExpHistogram(y)) => {
            // Different scales (an SDK picks each point's scale to fit its values): both are
            // taken down to the coarser one, as the OpenTelemetry SDKs merge them.
            let scale = x.scale.min(y.scale);
            let shift = |h: &ExpHistogram| u32::try_from(h.scale - scale).unwrap_or(u32::MAX);
            let (xs, ys) = (shift(x), shift(y));
            let (xpo, xp) = downscale(x.positive_offset, &x.positive, xs)?;
            let (ypo, yp) = downscale(y.positive_offset, &y.positive, ys)?;
            let (xno, xn) = downscale(x.negative_offset, &x.negative, xs)?;
            let (yno, yn) = downscale(y.negative_offset, &y.negative, ys)?;
            let (positive_offset, positive) = add_buckets(xpo, &xp, ypo, &yp)?;
            let (negative_offset, negative) = add_buckets(xno, &xn, yno, &yn)?;
            Some(PointValue::ExpHistogram(Box::new(ExpHistogram {
                count: x.count.saturating_add(y.count),
                sum: add_opt(x.sum, y.sum),
                min: min_opt(x.min, y.min),
                max: max_opt(x.max, y.max),
                scale,
                zero_count: x.zero_count.saturating_add(y.zero_count),
                positive_offset,
                positive,
                negative_offset,
                negative,
            })))
        }
        _ => None,
    }
}

/// A run of exponential buckets taken `shift` scales coarser: bucket index `i` becomes
/// `i >> shift` (floor, negative indexes too), so 2^shift neighbours fall into one bucket.
fn downscale(offset: i32, buckets: &[u64], shift: u32) -> Option<(i32, Cow<'_, [u64]>)> {
    if shift == 0 || buckets.is_empty() {
        return Some((offset, Cow::Borrowed(buckets)));
    }
    // Past 63 every index of an i32 lands in bucket 0 or -1.
    let shift = shift.min(63);
    let first = i64::from(offset) >> shift;
    let last = (i64::from(offset) + i64::try_from(buckets.len()).ok()? - 1) >> shift;
    let mut out = vec![0u64; usize::try_from(last - first + 1).ok()?];
    for (i, c) in buckets.iter().enumerate() {
        let at = ((i64::from(offset) + i64::try_from(i).ok()?) >> shift) - first;
        let slot = &mut out[usize::try_from(at).ok()?];
        *slot = slot.saturating_add(*c);
    }
    Some((i32::try_from(first).ok()?, Cow::Owned(out)))
}

/// Two runs of exponential buckets added, aligned by their offsets.
fn add_buckets(ao: i32, a: &[u64], bo: i32, b: &[u64]) -> Option<(i32, Box<[u64]>)> {
    if a.is_empty() {
        return Some((bo, b.into()));
    }
    if b.is_empty() {
        return Some((ao, a.into()));
    }
    let len = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let start = i64::from(ao.min(bo));
    let end = (i64::from(ao) + len(a.len())).max(i64::from(bo) + len(b.len()));
    let n = usize::try_from(end - start).ok()?;
    if n > 2 * crate::receiver::convert::MAX_BUCKETS {
        return None;
    }
    let mut out = vec![0u64; n];
    for (off, run) in [(ao, a), (bo, b)] {
        let at = usize::try_from(i64::from(off) - start).ok()?;
        for (i, c) in run.iter().enumerate() {
            out[at + i] = out[at + i].saturating_add(*c);
        }
    }
    Some((i32::try_from(start).ok()?, out.into()))
}

fn series_key(metric: MetricId, resource: ResourceId, scope: ScopeId, attrs: &[Attr]) -> u64 {
    let mut h = FxHasher::default();
    (metric, resource.0, scope.0).hash(&mut h);
    for a in attrs {
        a.key().hash(&mut h);
        match a {
            Attr::Sym { value, .. } => value.hash(&mut h),
            Attr::Int { value, .. } => value.hash(&mut h),
            Attr::Double { value, .. } => value.to_bits().hash(&mut h),
            Attr::Bool { value, .. } => value.hash(&mut h),
            Attr::Other { value, .. } => value.to_string().hash(&mut h),
        }
    }
    h.finish()
}

/// Approximate bytes a stored point holds, its slot in the ring included.
fn point_bytes(p: &Point) -> usize {
    size_of::<Point>()
        + match &p.value {
            PointValue::Number(_) => 0,
            // Bounds are shared between points: not counted per point.
            PointValue::Histogram(h) => size_of::<Histogram>() + h.counts.len() * 8,
            PointValue::ExpHistogram(h) => {
                size_of::<ExpHistogram>() + (h.positive.len() + h.negative.len()) * 8
            }
            PointValue::Summary(s) => size_of::<crate::model::Summary>() + s.quantiles.len() * 16,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MetricResource, MetricScope, NewMetric};

    fn batch(service: &str, name: &str, kind: MetricKind, points: Vec<NewPoint>) -> MetricBatch {
        MetricBatch {
            resources: vec![MetricResource {
                attrs: vec![("service.name".into(), Value::Str(service.into()))],
                scopes: vec![MetricScope {
                    name: "lib".into(),
                    version: "1".into(),
                    metrics: vec![NewMetric {
                        name: name.into(),
                        description: "d".into(),
                        unit: "1".into(),
                        kind,
                        points,
                    }],
                }],
            }],
            rejected: 0,
        }
    }

    fn num(endpoint: &str, start: u64, time: u64, v: f64) -> NewPoint {
        NewPoint {
            attrs: vec![("endpoint".into(), Value::Str(endpoint.into()))],
            start,
            time,
            value: PointValue::Number(v),
            exemplars: Vec::new(),
        }
    }

    fn values(m: &Metrics, series: SeriesId) -> Vec<(u64, f64)> {
        m.series(series)
            .unwrap()
            .points
            .iter()
            .map(|p| (p.time, p.value.number()))
            .collect()
    }

    const CUMULATIVE: MetricKind = MetricKind::Sum {
        monotonic: true,
        delta: false,
    };
    const DELTA: MetricKind = MetricKind::Sum {
        monotonic: true,
        delta: true,
    };

    #[test]
    fn delta_and_cumulative_read_the_same_way() {
        let mut c = Catalog::default();
        let mut m = Metrics::new(100, 100);
        for (t, v) in [(10, 3.0), (20, 5.0), (30, 9.0)] {
            m.ingest(
                &mut c,
                batch("a", "cum", CUMULATIVE, vec![num("x", 1, t, v)]),
            );
        }
        for (s, t, v) in [(1, 10, 3.0), (10, 20, 2.0), (20, 30, 4.0)] {
            m.ingest(&mut c, batch("a", "delta", DELTA, vec![num("x", s, t, v)]));
        }
        assert_eq!(m.metrics().len(), 2);
        assert_eq!(values(&m, 0), values(&m, 1));
        assert_eq!(values(&m, 1), [(10, 3.0), (20, 5.0), (30, 9.0)]);
        assert_eq!(m.metrics()[1].kind, CUMULATIVE, "temporality folded away");
        let rates: Vec<f64> = m.series(0).unwrap().rates().map(|(_, r)| r).collect();
        assert_eq!(rates, [2e8, 4e8], "per second: 2 per 10 ns, 4 per 10 ns");
    }

    #[test]
    fn a_new_start_time_is_a_reset_and_rates_do_not_go_negative() {
        let mut c = Catalog::default();
        let mut m = Metrics::new(100, 100);
        m.ingest(
            &mut c,
            batch(
                "a",
                "c",
                CUMULATIVE,
                vec![num("x", 1_000_000_000, 2_000_000_000, 100.0)],
            ),
        );
        m.ingest(
            &mut c,
            batch(
                "a",
                "c",
                CUMULATIVE,
                vec![num("x", 4_000_000_000, 6_000_000_000, 10.0)],
            ),
        );
        assert_eq!(m.stats().resets, 1);
        assert_eq!(m.series(0).unwrap().resets, 1);
        let rates: Vec<f64> = m.series(0).unwrap().rates().map(|(_, r)| r).collect();
        assert_eq!(rates, [5.0], "10 since the restart 2 s before");
    }

    #[test]
    fn out_of_order_points_are_dropped_and_a_resent_point_replaces() {
        let mut c = Catalog::default();
        let mut m = Metrics::new(100, 100);
        let g = MetricKind::Gauge;
        m.ingest(&mut c, batch("a", "g", g, vec![num("x", 0, 20, 1.0)]));
        m.ingest(&mut c, batch("a", "g", g, vec![num("x", 0, 10, 2.0)]));
        m.ingest(&mut c, batch("a", "g", g, vec![num("x", 0, 20, 3.0)]));
        m.ingest(&mut c, batch("a", "g", g, vec![num("x", 0, 30, 4.0)]));
        assert_eq!(values(&m, 0), [(20, 3.0), (30, 4.0)]);
        assert_eq!(m.stats().out_of_order, 1);
        assert_eq!(m.stats().replaced, 1);
        assert_eq!(m.stats().points, 2);
    }

    #[test]
    fn series_are_told_apart_by_attributes_and_resource() {
        let mut c = Catalog::default();
        let mut m = Metrics::new(100, 100);
        m.ingest(
            &mut c,
            batch(
                "a",
                "requests",
                CUMULATIVE,
                vec![num("jokes", 1, 10, 1.0), num("hello", 1, 10, 2.0)],
            ),
        );
        m.ingest(
            &mut c,
            batch("b", "requests", CUMULATIVE, vec![num("jokes", 1, 10, 5.0)]),
        );
        m.ingest(
            &mut c,
            batch("a", "requests", CUMULATIVE, vec![num("jokes", 1, 20, 3.0)]),
        );
        assert_eq!(m.metrics().len(), 1);
        let series: Vec<_> = m.series_of(0).collect();
        assert_eq!(series.len(), 3);
        assert_eq!(values(&m, 0), [(10, 1.0), (20, 3.0)]);
        assert_eq!(c.service(m.series(2).unwrap().resource), "b");
    }

    #[test]
    fn the_series_cap_drops_and_counts_and_rings_stay_bounded() {
        let mut c = Catalog::default();
        let mut m = Metrics::new(3, 4);
        let points = (0..10).map(|i| num(&format!("e{i}"), 1, 10, 1.0)).collect();
        m.ingest(&mut c, batch("a", "exploding", CUMULATIVE, points));
        assert_eq!(m.stats().series, 3);
        assert_eq!(m.stats().series_dropped, 7);
        for t in 0..10 {
            m.ingest(
                &mut c,
                batch(
                    "a",
                    "exploding",
                    CUMULATIVE,
                    vec![num("e0", 1, 20 + t, 1.0)],
                ),
            );
        }
        assert_eq!(m.series(0).unwrap().points.len(), 4);
        assert_eq!(m.stats().evicted, 7);
        let s = m.stats();
        assert_eq!(
            s.received,
            s.points + s.evicted + s.series_dropped + s.out_of_order
        );
    }

    #[test]
    fn delta_histograms_accumulate_and_exponential_buckets_align() {
        let mut c = Catalog::default();
        let mut m = Metrics::new(100, 100);
        let h = |t: u64, counts: &[u64]| NewPoint {
            attrs: Vec::new(),
            start: t - 10,
            time: t,
            value: PointValue::Histogram(Box::new(Histogram {
                count: counts.iter().sum(),
                sum: Some(1.0),
                min: None,
                max: None,
                bounds: vec![1.0, 2.0].into(),
                counts: counts.into(),
            })),
            exemplars: Vec::new(),
        };
        let kind = MetricKind::Histogram { delta: true };
        m.ingest(&mut c, batch("a", "h", kind, vec![h(10, &[1, 0, 0])]));
        m.ingest(&mut c, batch("a", "h", kind, vec![h(20, &[0, 2, 1])]));
        let last = m.series(0).unwrap().points.back().unwrap().clone();
        let PointValue::Histogram(got) = last.value else {
            panic!("histogram")
        };
        assert_eq!(
            (got.count, got.sum, &*got.counts),
            (4, Some(2.0), &[1, 2, 1][..])
        );
        assert_eq!(last.start, 0);
        assert_eq!(
            add_buckets(2, &[1, 1], 0, &[5]),
            Some((0, vec![5, 0, 1, 1].into()))
        );
        assert_eq!(
            add_buckets(-1, &[1], 0, &[1, 1]),
            Some((-1, vec![1, 1, 1].into()))
        );
    }

    #[test]
    fn delta_exponential_histograms_of_different_scales_accumulate_at_the_coarser() {
        let mut c = Catalog::default();
        let mut m = Metrics::new(100, 100);
        let exp = |t: u64, scale: i32, offset: i32, positive: &[u64], negative: &[u64]| NewPoint {
            attrs: Vec::new(),
            start: t - 10,
            time: t,
            value: PointValue::ExpHistogram(Box::new(ExpHistogram {
                count: positive.iter().chain(negative).sum::<u64>() + 1,
                sum: Some(1.0),
                min: None,
                max: None,
                scale,
                zero_count: 1,
                positive_offset: offset,
                positive: positive.into(),
                negative_offset: -3,
                negative: negative.into(),
            })),
            exemplars: Vec::new(),
        };
        let kind = MetricKind::ExpHistogram { delta: true };
        // Scale 1 buckets 0..3 are scale 0 buckets 0, 0, 1, 1; negative -3..0 are -2, -1, -1, 0.
        m.ingest(
            &mut c,
            batch(
                "a",
                "e",
                kind,
                vec![exp(10, 1, 0, &[1, 2, 3, 4], &[1, 1, 1, 1])],
            ),
        );
        m.ingest(
            &mut c,
            batch("a", "e", kind, vec![exp(20, 0, 1, &[5], &[])]),
        );
        let series = m.series(0).unwrap();
        assert_eq!((series.points.len(), series.resets), (2, 0));
        let last = series.points.back().unwrap();
        assert_eq!(last.start, 0);
        let PointValue::ExpHistogram(got) = &last.value else {
            panic!("exponential histogram")
        };
        assert_eq!(
            (got.count, got.sum, got.zero_count, got.scale),
            (21, Some(2.0), 2, 0)
        );
        assert_eq!((got.positive_offset, &*got.positive), (0, &[3, 12][..]));
        assert_eq!((got.negative_offset, &*got.negative), (-2, &[1, 2, 1][..]));
        // The coarser point first: the finer one is taken down to it.
        assert_eq!(
            downscale(-1, &[1, 1, 1, 1, 1], 2),
            Some((-1, Cow::Owned(vec![1, 4])))
        );
        assert_eq!(downscale(5, &[7], 0), Some((5, Cow::Borrowed(&[7][..]))));
    }

    #[test]
    fn exemplars_are_kept_per_series_newest_last() {
        let mut c = Catalog::default();
        let mut m = Metrics::new(10, 10);
        let mut p = num("x", 1, 10, 1.0);
        p.exemplars = (0..100)
            .map(|i| Exemplar {
                time: i,
                value: 0.5,
                trace_id: u128::from(i) + 1,
                span_id: 1,
            })
            .collect();
        m.ingest(&mut c, batch("a", "h", CUMULATIVE, vec![p]));
        let ex = &m.series(0).unwrap().exemplars;
        assert_eq!(ex.len(), MAX_EXEMPLARS);
        assert_eq!(ex.back().unwrap().trace_id, 100);
    }

    #[test]
    fn summaries_and_exponential_histograms_are_stored_with_their_quantiles() {
        use crate::model::Summary;
        let mut c = Catalog::default();
        let mut m = Metrics::new(10, 10);
        let summary = NewPoint {
            attrs: Vec::new(),
            start: 1,
            time: 10,
            value: PointValue::Summary(Box::new(Summary {
                count: 4,
                sum: 2.0,
                quantiles: vec![(0.5, 0.4), (0.99, 0.9)].into(),
            })),
            exemplars: Vec::new(),
        };
        m.ingest(&mut c, batch("a", "s", MetricKind::Summary, vec![summary]));
        let exp = |t: u64, positive: Vec<u64>| NewPoint {
            attrs: Vec::new(),
            start: t - 10,
            time: t,
            value: PointValue::ExpHistogram(Box::new(ExpHistogram {
                count: positive.iter().sum(),
                sum: None,
                min: None,
                max: None,
                scale: 0,
                zero_count: 0,
                positive_offset: 0,
                positive: positive.into(),
                negative_offset: 0,
                negative: Box::new([]),
            })),
            exemplars: Vec::new(),
        };
        let kind = MetricKind::ExpHistogram { delta: true };
        m.ingest(&mut c, batch("a", "e", kind, vec![exp(10, vec![2, 0])]));
        m.ingest(&mut c, batch("a", "e", kind, vec![exp(20, vec![0, 2])]));
        let s = m.series(0).unwrap().points.back().unwrap();
        assert_eq!(s.value.quantile(0.5), Some(0.4));
        assert_eq!(s.value.count_sum(), Some((4, Some(2.0))));
        let e = m.series(1).unwrap().points.back().unwrap();
        // Accumulated: two values in (1, 2], two in (2, 4]; the median at 2.
        assert_eq!(e.value.count_sum(), Some((4, None)));
        assert_eq!(e.value.quantile(0.5), Some(2.0));
        assert_eq!(
            m.metrics()[1].kind,
            MetricKind::ExpHistogram { delta: false }
        );
    }
}
