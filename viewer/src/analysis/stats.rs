//! Per (service, span name) statistics of one trace.

use rustc_hash::FxHashMap;

use super::self_time;
use crate::model::{Span, Sym};
use crate::store::tree::Tree;

/// The spans of one trace sharing a service and a span name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatRow {
    pub service: Sym,
    pub name: Sym,
    pub count: u32,
    /// Sum of the spans' durations, in nanoseconds (nested spans of the group count each).
    pub total: u64,
    /// Sum of the spans' self times (see [`self_time`](super::self_time())).
    pub self_total: u64,
    pub max: u64,
    /// Spans with an error status.
    pub errors: u32,
    /// The group's span indices, in tree order.
    pub spans: Vec<u32>,
}

impl StatRow {
    /// Mean duration in nanoseconds (rounded down).
    #[must_use]
    pub fn avg(&self) -> u64 {
        self.total / u64::from(self.count.max(1))
    }
}

/// A column of [`StatRow`]s to sort by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatColumn {
    Count,
    Total,
    SelfTime,
    Avg,
    Max,
    Errors,
    /// Service name, then span name, by their text.
    Name,
}

/// One row per (service, span name) among the spans of `tree`, in order of first appearance
/// in the tree (depth first). `service_of` gives a span's service, usually
/// `|s| store.resource(s.resource).service`; any other grouping symbol works as well.
///
/// Spans that end before they start count as zero-length. An empty trace gives no rows.
#[must_use]
pub fn stats(spans: &[Span], tree: &Tree, service_of: impl Fn(&Span) -> Sym) -> Vec<StatRow> {
    let self_times = self_time(spans, tree);
    let mut index: FxHashMap<(Sym, Sym), u32> = FxHashMap::default();
    let mut rows: Vec<StatRow> = Vec::new();
    for r in &tree.rows {
        let s = &spans[r.span as usize];
        let key = (service_of(s), s.name);
        let i = *index.entry(key).or_insert_with(|| {
            rows.push(StatRow {
                service: key.0,
                name: key.1,
                count: 0,
                total: 0,
                self_total: 0,
                max: 0,
                errors: 0,
                spans: Vec::new(),
            });
            (rows.len() - 1) as u32
        });
        let row = &mut rows[i as usize];
        let d = s.duration();
        row.count += 1;
        row.total += d;
        row.self_total += self_times[r.span as usize];
        row.max = row.max.max(d);
        row.errors += u32::from(s.is_error());
        row.spans.push(r.span);
    }
    rows
}

/// Sorts `rows` by `column`, ascending or `descending`; ties keep their order (the sort is
/// stable). `text` reads a symbol, for [`StatColumn::Name`] (e.g. `|s| store.str(s)`).
pub fn sort_stats<'a>(
    rows: &mut [StatRow],
    column: StatColumn,
    descending: bool,
    text: impl Fn(Sym) -> &'a str,
) {
    let by_num = |f: fn(&StatRow) -> u64, rows: &mut [StatRow]| {
        if descending {
            rows.sort_by_key(|r| std::cmp::Reverse(f(r)));
        } else {
            rows.sort_by_key(f);
        }
    };
    match column {
        StatColumn::Count => by_num(|r| u64::from(r.count), rows),
        StatColumn::Total => by_num(|r| r.total, rows),
        StatColumn::SelfTime => by_num(|r| r.self_total, rows),
        StatColumn::Avg => by_num(StatRow::avg, rows),
        StatColumn::Max => by_num(|r| r.max, rows),
        StatColumn::Errors => by_num(|r| u64::from(r.errors), rows),
        StatColumn::Name => rows.sort_by(|a, b| {
            let o = text(a.service)
                .cmp(text(b.service))
                .then_with(|| text(a.name).cmp(text(b.name)));
            if descending { o.reverse() } else { o }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tests::{named, svc};
    use crate::model::StatusCode;

    fn sample() -> Vec<Span> {
        // Service 1 "GET" (name 10) calls service 2 "query" (name 20) three times, one failing,
        // and service 1 "render" (name 11) once.
        let mut spans = vec![
            named(1, 0, 0, 100, 1, 10),
            named(2, 1, 10, 20, 2, 20),
            named(3, 1, 20, 50, 2, 20),
            named(4, 1, 50, 55, 2, 20),
            named(5, 1, 60, 90, 1, 11),
        ];
        spans[2].status = StatusCode::Error;
        spans
    }

    #[test]
    fn groups_by_service_and_name() {
        let spans = sample();
        let tree = Tree::build(&spans);
        let rows = stats(&spans, &tree, svc);
        assert_eq!(rows.len(), 3);
        let q = &rows[1];
        assert_eq!((q.service, q.name), (Sym(2), Sym(20)));
        assert_eq!(
            (q.count, q.total, q.self_total, q.max, q.errors),
            (3, 45, 45, 30, 1)
        );
        assert_eq!(q.avg(), 15);
        assert_eq!(q.spans, vec![1, 2, 3]);
        let root = &rows[0];
        assert_eq!((root.count, root.total, root.self_total), (1, 100, 25));
        assert_eq!(rows[2].name, Sym(11));
        // A different service with the same name is another group.
        let mut spans = spans;
        spans[3].resource.0 = 3;
        let rows = stats(&spans, &Tree::build(&spans), svc);
        assert_eq!(rows.len(), 4);
        assert!(stats(&[], &Tree::default(), svc).is_empty());
    }

    #[test]
    fn sorts_by_any_column() {
        let spans = sample();
        let mut rows = stats(&spans, &Tree::build(&spans), svc);
        let names = |rows: &[StatRow]| rows.iter().map(|r| r.name.0).collect::<Vec<_>>();
        let text = |s: Sym| match s.0 {
            1 => "web",
            2 => "db",
            10 => "GET",
            11 => "render",
            _ => "query",
        };
        sort_stats(&mut rows, StatColumn::Count, true, text);
        assert_eq!(names(&rows), vec![20, 10, 11], "ties keep their order");
        sort_stats(&mut rows, StatColumn::Total, false, text);
        assert_eq!(names(&rows), vec![11, 20, 10]);
        sort_stats(&mut rows, StatColumn::SelfTime, true, text);
        assert_eq!(names(&rows), vec![20, 11, 10]);
        sort_stats(&mut rows, StatColumn::Avg, true, text);
        assert_eq!(names(&rows), vec![10, 11, 20]);
        sort_stats(&mut rows, StatColumn::Max, false, text);
        assert_eq!(names(&rows), vec![11, 20, 10]);
        sort_stats(&mut rows, StatColumn::Errors, true, text);
        assert_eq!(names(&rows), vec![20, 11, 10]);
        sort_stats(&mut rows, StatColumn::Name, false, text);
        assert_eq!(
            names(&rows),
            vec![20, 10, 11],
            "db/query, web/GET, web/render"
        );
        sort_stats(&mut rows, StatColumn::Name, true, text);
        assert_eq!(names(&rows), vec![11, 10, 20]);
    }
}
