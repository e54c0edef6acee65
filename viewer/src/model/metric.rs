//! Metric data points: as they arrive (one request's worth, owned, grouped as in OTLP) and the
//! values the metric store keeps per series.

use std::sync::Arc;

use compact_str::CompactString;

use super::{OwnedAttr, SpanId, TraceId};

/// What kind of metric, as in OTLP; `delta` is the aggregation temporality.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricKind {
    Gauge,
    Sum { monotonic: bool, delta: bool },
    Histogram { delta: bool },
    ExpHistogram { delta: bool },
    Summary,
}

impl MetricKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gauge => "gauge",
            Self::Sum {
                monotonic: true, ..
            } => "counter",
            Self::Sum { .. } => "updown",
            Self::Histogram { .. } => "histogram",
            Self::ExpHistogram { .. } => "exphistogram",
            Self::Summary => "summary",
        }
    }

    #[must_use]
    pub fn is_delta(self) -> bool {
        matches!(
            self,
            Self::Sum { delta: true, .. }
                | Self::Histogram { delta: true }
                | Self::ExpHistogram { delta: true }
        )
    }

    /// Whether the value only grows (so its rate per second is what is charted).
    #[must_use]
    pub fn is_monotonic(self) -> bool {
        matches!(
            self,
            Self::Sum {
                monotonic: true,
                ..
            }
        )
    }

    /// Whether points are distributions (a count, a sum, and buckets or quantiles).
    #[must_use]
    pub fn is_distribution(self) -> bool {
        matches!(
            self,
            Self::Histogram { .. } | Self::ExpHistogram { .. } | Self::Summary
        )
    }

    /// The same kind whatever the temporality: delta points are accumulated into cumulative
    /// values, so a metric sent either way is one metric.
    #[must_use]
    pub fn shape(self) -> Self {
        match self {
            Self::Sum { monotonic, .. } => Self::Sum {
                monotonic,
                delta: false,
            },
            Self::Histogram { .. } => Self::Histogram { delta: false },
            Self::ExpHistogram { .. } => Self::ExpHistogram { delta: false },
            other => other,
        }
    }
}

/// One request's worth of metric data points.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MetricBatch {
    pub resources: Vec<MetricResource>,
    /// Data points dropped at the boundary (malformed); reported back to the sender.
    pub rejected: u64,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct MetricResource {
    pub attrs: Vec<OwnedAttr>,
    pub scopes: Vec<MetricScope>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct MetricScope {
    pub name: String,
    pub version: String,
    pub metrics: Vec<NewMetric>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewMetric {
    pub name: CompactString,
    pub description: String,
    pub unit: CompactString,
    pub kind: MetricKind,
    pub points: Vec<NewPoint>,
}

/// A data point as it arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPoint {
    pub attrs: Vec<OwnedAttr>,
    /// Start of the aggregation (cumulative and delta points); zero when unknown.
    pub start: u64,
    pub time: u64,
    pub value: PointValue,
    pub exemplars: Vec<Exemplar>,
}

impl MetricBatch {
    /// Number of valid data points in the batch.
    #[must_use]
    pub fn point_count(&self) -> usize {
        self.resources
            .iter()
            .flat_map(|r| &r.scopes)
            .flat_map(|s| &s.metrics)
            .map(|m| m.points.len())
            .sum()
    }
}

/// A data point's value. Distributions are boxed so a plain number takes 16 bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum PointValue {
    Number(f64),
    Histogram(Box<Histogram>),
    ExpHistogram(Box<ExpHistogram>),
    Summary(Box<Summary>),
}

/// An explicit-bucket histogram: `counts[i]` values fell in `(bounds[i-1], bounds[i]]`, the
/// last bucket above the last bound. Bounds are shared between the points of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    pub count: u64,
    pub sum: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub bounds: Arc<[f64]>,
    pub counts: Box<[u64]>,
}

/// An exponential histogram: bucket `offset + i` covers `(base^(offset+i), base^(offset+i+1)]`
/// with `base = 2^(2^-scale)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpHistogram {
    pub count: u64,
    pub sum: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub scale: i32,
    pub zero_count: u64,
    pub positive_offset: i32,
    pub positive: Box<[u64]>,
    pub negative_offset: i32,
    pub negative: Box<[u64]>,
}

/// A summary: count, sum and precomputed quantiles `(quantile, value)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub sum: f64,
    pub quantiles: Box<[(f64, f64)]>,
}

/// A measurement that links a point to the trace it was made in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exemplar {
    pub time: u64,
    pub value: f64,
    /// Zero when the exemplar has no trace.
    pub trace_id: TraceId,
    pub span_id: SpanId,
}

impl PointValue {
    /// The number a chart draws for the point: the value, or a distribution's count.
    #[must_use]
    pub fn number(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        match self {
            Self::Number(v) => *v,
            Self::Histogram(h) => h.count as f64,
            Self::ExpHistogram(h) => h.count as f64,
            Self::Summary(s) => s.count as f64,
        }
    }

    /// A distribution's count and sum.
    #[must_use]
    pub fn count_sum(&self) -> Option<(u64, Option<f64>)> {
        match self {
            Self::Number(_) => None,
            Self::Histogram(h) => Some((h.count, h.sum)),
            Self::ExpHistogram(h) => Some((h.count, h.sum)),
            Self::Summary(s) => Some((s.count, Some(s.sum))),
        }
    }

    /// The value below which a share `q` (0 to 1) of the measurements fall, estimated by
    /// linear interpolation inside the bucket that holds it (a summary's own nearest quantile).
    #[must_use]
    pub fn quantile(&self, q: f64) -> Option<f64> {
        match self {
            Self::Number(_) => None,
            Self::Histogram(h) => h.quantile(q),
            Self::ExpHistogram(h) => h.quantile(q),
            Self::Summary(s) => s
                .quantiles
                .iter()
                .min_by(|a, b| (a.0 - q).abs().total_cmp(&(b.0 - q).abs()))
                .map(|&(_, v)| v),
        }
    }
}

/// Bucket counts added up, saturating (a sender's counts are not to be trusted).
fn sum_counts(counts: impl Iterator<Item = u64>) -> u64 {
    counts.fold(0u64, u64::saturating_add)
}

/// Rank-th measurement's place among bucket counts: the bucket index and how far into it.
#[allow(clippy::cast_precision_loss)]
fn locate(counts: impl Iterator<Item = u64>, total: u64, q: f64) -> Option<(usize, f64)> {
    if total == 0 {
        return None;
    }
    let rank = q.clamp(0.0, 1.0) * total as f64;
    let mut below = 0u64;
    let mut last = None;
    for (i, c) in counts.enumerate() {
        if c == 0 {
            continue;
        }
        last = Some(i);
        if below.saturating_add(c) as f64 >= rank {
            let into = ((rank - below as f64) / c as f64).clamp(0.0, 1.0);
            return Some((i, into));
        }
        below = below.saturating_add(c);
    }
    last.map(|i| (i, 1.0))
}

impl Histogram {
    #[must_use]
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = sum_counts(self.counts.iter().copied());
        let (i, into) = locate(self.counts.iter().copied(), total, q)?;
        let n = self.bounds.len();
        // The open-ended buckets are closed by min and max where known.
        let lower = if i == 0 {
            self.min
                .unwrap_or_else(|| self.bounds.first().map_or(0.0, |b| b.min(0.0)))
        } else {
            self.bounds[i - 1]
        };
        let upper = if i >= n {
            self.max.unwrap_or(lower)
        } else {
            self.bounds[i]
        };
        let (lower, upper) = (
            self.min.map_or(lower, |m| lower.max(m)),
            self.max.map_or(upper, |m| upper.min(m)),
        );
        Some(lower + (upper - lower).max(0.0) * into)
    }
}

impl ExpHistogram {
    /// The bucket boundaries' base.
    #[must_use]
    pub fn base(&self) -> f64 {
        2f64.powf(2f64.powi(-self.scale))
    }

    /// Lower and upper bound of positive bucket `index` (absolute, offset included).
    #[must_use]
    pub fn bucket_bounds(&self, index: i32) -> (f64, f64) {
        let base = self.base();
        (base.powi(index), base.powi(index.saturating_add(1)))
    }

    #[must_use]
    pub fn quantile(&self, q: f64) -> Option<f64> {
        // In value order: negative buckets from the largest magnitude, zero, positive.
        let neg = self.negative.len();
        let counts = self
            .negative
            .iter()
            .rev()
            .copied()
            .chain(std::iter::once(self.zero_count))
            .chain(self.positive.iter().copied());
        let total = sum_counts(
            self.negative
                .iter()
                .chain(&self.positive)
                .chain(std::iter::once(&self.zero_count))
                .copied(),
        );
        let (i, into) = locate(counts, total, q)?;
        let value = if i < neg {
            let idx = self
                .negative_offset
                .saturating_add(i32::try_from(neg - 1 - i).unwrap_or(0));
            let (lo, hi) = self.bucket_bounds(idx);
            -(hi - (hi - lo) * into)
        } else if i == neg {
            0.0
        } else {
            let idx = self
                .positive_offset
                .saturating_add(i32::try_from(i - neg - 1).unwrap_or(0));
            let (lo, hi) = self.bucket_bounds(idx);
            lo + (hi - lo) * into
        };
        let value = self.min.map_or(value, |m| value.max(m));
        Some(self.max.map_or(value, |m| value.min(m)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(bounds: &[f64], counts: &[u64]) -> Histogram {
        Histogram {
            count: sum_counts(counts.iter().copied()),
            sum: None,
            min: None,
            max: None,
            bounds: bounds.into(),
            counts: counts.into(),
        }
    }

    #[test]
    fn histogram_quantiles_interpolate_inside_the_bucket() {
        // 100 values: 50 in (0, 10], 40 in (10, 100], 10 in (100, 1000].
        let h = hist(&[0.0, 10.0, 100.0, 1000.0], &[0, 50, 40, 10, 0]);
        assert_eq!(h.quantile(0.5), Some(10.0));
        assert_eq!(h.quantile(0.25), Some(5.0));
        assert_eq!(h.quantile(0.7), Some(55.0));
        assert_eq!(h.quantile(0.99), Some(910.0));
        assert_eq!(hist(&[1.0], &[0, 0]).quantile(0.5), None);
    }

    #[test]
    fn the_open_top_bucket_is_closed_by_max() {
        let mut h = hist(&[10.0], &[0, 4]);
        h.max = Some(30.0);
        assert_eq!(h.quantile(0.5), Some(20.0));
        assert_eq!(h.quantile(1.0), Some(30.0));
    }

    #[test]
    fn exponential_histogram_quantiles() {
        // Scale 0: base 2; buckets (1,2], (2,4], (4,8] with offset 0.
        let h = ExpHistogram {
            count: 4,
            sum: None,
            min: None,
            max: None,
            scale: 0,
            zero_count: 0,
            positive_offset: 0,
            positive: vec![2, 0, 2].into(),
            negative_offset: 0,
            negative: Box::new([]),
        };
        assert_eq!(h.quantile(0.5), Some(2.0));
        assert_eq!(h.quantile(1.0), Some(8.0));
        assert_eq!(h.quantile(0.75), Some(6.0));
        let neg = ExpHistogram {
            positive: Box::new([]),
            negative: vec![1, 1].into(),
            count: 2,
            ..h
        };
        // Values in (-4, -2] then (-2, -1]: the lowest quarter lies in the first.
        assert_eq!(neg.quantile(0.25), Some(-3.0));
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        let h = hist(&[1.0], &[u64::MAX, u64::MAX]);
        assert!(h.quantile(0.99).is_some());
    }

    #[test]
    fn summary_quantiles_are_its_own() {
        let s = PointValue::Summary(Box::new(Summary {
            count: 10,
            sum: 5.0,
            quantiles: vec![(0.5, 1.5), (0.99, 9.0)].into(),
        }));
        assert_eq!(s.quantile(0.5), Some(1.5));
        assert_eq!(s.quantile(0.98), Some(9.0));
        assert_eq!(s.number(), 10.0);
    }
}
