//! Runs of repeated sibling spans: the same call made over and over in a row, as an N+1 query
//! loop does.

use super::{NONE, child_rows};
use crate::model::{Span, Sym};
use crate::store::tree::Tree;

/// Two or more adjacent sibling rows with the same service and span name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    /// The rows' parent row, or [`NONE`] for top-level rows.
    pub parent_row: u32,
    /// The run's rows in order, at least two; `rows[0]` is the first.
    pub rows: Vec<u32>,
    pub service: Sym,
    pub name: Sym,
    /// Sum of the spans' durations, in nanoseconds.
    pub total: u64,
    /// From the earliest start to the latest end of the run's spans: equal to `total` for
    /// back-to-back calls, less when they overlap, more when there are gaps.
    pub wall: u64,
    /// Spans with an error status.
    pub errors: u32,
}

impl Run {
    #[must_use]
    pub fn first_row(&self) -> u32 {
        self.rows[0]
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Always false: a run has at least two rows.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The row after the run's last row's subtree: where a view that shows the run as one
    /// line (`×N name`) continues.
    #[must_use]
    pub fn end_row(&self, tree: &Tree) -> u32 {
        let last = *self.rows.last().expect("a run has rows") as usize;
        tree.rows[last].subtree_end
    }
}

/// The runs of `tree`, ordered by first row: maximal sequences of two or more rows that are
/// adjacent children of the same parent (in the tree's child order, by start time) and share
/// `service_of(span)` and the span name. Top-level rows (roots, orphans, broken cycles) count
/// as siblings of each other. A run's rows' subtrees are not compared: `GET /a` calling `db`
/// and `GET /a` calling `cache` still form a run.
#[must_use]
pub fn runs(spans: &[Span], tree: &Tree, service_of: impl Fn(&Span) -> Sym) -> Vec<Run> {
    let mut out = Vec::new();
    let mut group: Vec<u32> = Vec::new();
    let key = |row: usize| {
        let s = &spans[tree.rows[row].span as usize];
        (service_of(s), s.name)
    };
    let mut flush = |group: &mut Vec<u32>, parent_row: u32| {
        if group.len() >= 2 {
            let (service, name) = key(group[0] as usize);
            let mut run = Run {
                parent_row,
                rows: std::mem::take(group),
                service,
                name,
                total: 0,
                wall: 0,
                errors: 0,
            };
            let (mut lo, mut hi) = (u64::MAX, 0);
            for &r in &run.rows {
                let s = &spans[tree.rows[r as usize].span as usize];
                run.total += s.duration();
                run.errors += u32::from(s.is_error());
                lo = lo.min(s.start);
                hi = hi.max(s.end.max(s.start));
            }
            run.wall = hi - lo;
            out.push(run);
        }
        group.clear();
    };
    let mut scan = |children: &mut dyn Iterator<Item = usize>, parent_row: u32| {
        for c in children {
            if let Some(&g) = group.first()
                && key(g as usize) != key(c)
            {
                flush(&mut group, parent_row);
            }
            group.push(c as u32);
        }
        flush(&mut group, parent_row);
    };
    let mut tops = std::iter::successors((!tree.rows.is_empty()).then_some(0usize), |&r| {
        let next = (tree.rows[r].subtree_end as usize).max(r + 1);
        (next < tree.rows.len()).then_some(next)
    });
    scan(&mut tops, NONE);
    for row in 0..tree.rows.len() {
        scan(&mut child_rows(tree, row), row as u32);
    }
    out.sort_unstable_by_key(|r| r.rows[0]);
    out
}

/// For each of `n_rows` rows, the index in `runs` of the run it belongs to, or [`NONE`]
/// (only a run's own rows, not their descendants).
#[must_use]
pub fn run_of_row(runs: &[Run], n_rows: usize) -> Vec<u32> {
    let mut out = vec![NONE; n_rows];
    for (i, run) in runs.iter().enumerate() {
        for &r in &run.rows {
            if let Some(v) = out.get_mut(r as usize) {
                *v = i as u32;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tests::{named, svc};
    use crate::model::StatusCode;

    #[test]
    fn finds_repeated_adjacent_siblings() {
        let mut spans = vec![
            named(1, 0, 0, 1000, 1, 1),
            named(2, 1, 10, 20, 2, 5),
            named(3, 1, 20, 30, 2, 5),
            named(4, 1, 30, 45, 2, 5),
            named(5, 1, 50, 60, 2, 6),
            named(6, 1, 60, 70, 2, 5),
            named(7, 1, 70, 80, 3, 5),
            named(8, 1, 80, 90, 3, 5),
            // Children of a run's row do not break it.
            named(9, 3, 21, 22, 4, 7),
        ];
        spans[3].status = StatusCode::Error;
        let tree = Tree::build(&spans);
        let runs = runs(&spans, &tree, svc);
        assert_eq!(runs.len(), 2);
        let ids = |r: &Run| -> Vec<u64> {
            r.rows
                .iter()
                .map(|&row| spans[tree.rows[row as usize].span as usize].span_id)
                .collect()
        };
        assert_eq!(ids(&runs[0]), vec![2, 3, 4]);
        assert_eq!(runs[0].parent_row, 0);
        assert_eq!((runs[0].service, runs[0].name), (Sym(2), Sym(5)));
        assert_eq!((runs[0].total, runs[0].wall, runs[0].errors), (35, 35, 1));
        assert_eq!(runs[0].first_row(), 1);
        // Row 2 (span 3) has a child at row 3: the run's last row is 4, and ends at 5.
        assert_eq!(runs[0].end_row(&tree), 5);
        assert_eq!(ids(&runs[1]), vec![7, 8], "another service is another run");
        let by_row = run_of_row(&runs, tree.rows.len());
        assert_eq!(by_row, vec![NONE, 0, 0, NONE, 0, NONE, NONE, 1, 1]);
    }

    #[test]
    fn nested_runs_and_top_level_runs() {
        let spans = vec![
            named(1, 0, 0, 100, 1, 1),
            named(2, 1, 0, 50, 1, 2),
            named(3, 2, 0, 10, 1, 3),
            named(4, 2, 10, 20, 1, 3),
            named(5, 1, 40, 60, 1, 2),
            // Two orphans of the same kind, overlapping.
            named(6, 99, 200, 300, 1, 4),
            named(7, 98, 250, 320, 1, 4),
        ];
        let tree = Tree::build(&spans);
        let runs = runs(&spans, &tree, svc);
        let firsts: Vec<u32> = runs.iter().map(Run::first_row).collect();
        assert_eq!(firsts, vec![1, 2, 5]);
        assert_eq!(runs[0].rows, vec![1, 4]);
        assert_eq!((runs[0].total, runs[0].wall), (70, 60));
        assert_eq!(runs[2].parent_row, NONE);
        assert_eq!((runs[2].total, runs[2].wall), (170, 120));
        assert_eq!(runs[2].len(), 2);
    }

    #[test]
    fn nothing_repeated_no_runs() {
        let spans = vec![named(1, 0, 0, 10, 1, 1), named(2, 1, 0, 5, 1, 1)];
        assert!(runs(&spans, &Tree::build(&spans), svc).is_empty());
        assert!(runs(&[], &Tree::default(), svc).is_empty());
    }
}
