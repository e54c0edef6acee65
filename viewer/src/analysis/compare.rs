//! Two traces compared: their trees merged by the (service, span name) path of each span.

use rustc_hash::FxHashMap;

use super::NONE;
use crate::model::{Span, Sym};
use crate::store::tree::Tree;

/// How a merged node differs between trace `a` and trace `b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DiffStatus {
    /// The same number of spans in both.
    Same,
    /// In both, with a different number of spans.
    Changed,
    /// Only in `b`.
    Added,
    /// Only in `a`.
    Removed,
}

/// The spans of `a` and `b` that share one path of (service, span name) from the top.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffNode {
    /// Length of the path minus one: 0 for top-level spans.
    pub depth: u32,
    /// Index of the parent node in the result, or [`NONE`].
    pub parent: u32,
    /// One past the last node of this node's subtree in the result.
    pub subtree_end: u32,
    pub service: Sym,
    pub name: Sym,
    /// Spans on this path in `a` and in `b`.
    pub count_a: u32,
    pub count_b: u32,
    /// Sum of those spans' durations, in nanoseconds.
    pub total_a: u64,
    pub total_b: u64,
    /// Those spans with an error status.
    pub errors_a: u32,
    pub errors_b: u32,
    /// The first such span (in tree order) in `a` and in `b`, as a span index, or [`NONE`].
    pub span_a: u32,
    pub span_b: u32,
    pub status: DiffStatus,
}

/// A node while merging; children in a linked list, in order of first appearance.
struct Merged {
    service: Sym,
    name: Sym,
    first_child: u32,
    last_child: u32,
    next_sibling: u32,
    count: [u32; 2],
    total: [u64; 2],
    errors: [u32; 2],
    span: [u32; 2],
}

/// Trees `a` and `b` merged: spans are matched by their path of (`service_of(span)`, span
/// name) from their top-level row, so the five `SELECT`s under `GET /cart` in `a` and the
/// seven in `b` become one node with counts 5 and 7. The result is in depth-first order,
/// children (and top-level nodes) ordered by first appearance, `a` before `b`.
///
/// The symbols of both traces must come from the same store. Top-level rows of either trace
/// (roots, orphans, broken cycles) all start paths at depth 0. Spans ending before they start
/// count as zero-length. A node's status only compares counts; the totals are there to
/// compare durations. The walk is iterative, so any depth is fine.
#[must_use]
pub fn compare(
    a: (&[Span], &Tree),
    b: (&[Span], &Tree),
    service_of: impl Fn(&Span) -> Sym,
) -> Vec<DiffNode> {
    let mut nodes: Vec<Merged> = Vec::new();
    let mut index: FxHashMap<(u32, Sym, Sym), u32> = FxHashMap::default();
    // The virtual root's children.
    let (mut first_top, mut last_top) = (NONE, NONE);
    let mut node_of_row: Vec<u32> = Vec::new();
    for (side, (spans, tree)) in [a, b].into_iter().enumerate() {
        node_of_row.clear();
        node_of_row.reserve(tree.rows.len());
        for r in &tree.rows {
            let s = &spans[r.span as usize];
            let parent = if r.parent_row == NONE {
                NONE
            } else {
                node_of_row[r.parent_row as usize]
            };
            let key = (parent, service_of(s), s.name);
            let n = *index.entry(key).or_insert_with(|| {
                let n = nodes.len() as u32;
                nodes.push(Merged {
                    service: key.1,
                    name: key.2,
                    first_child: NONE,
                    last_child: NONE,
                    next_sibling: NONE,
                    count: [0; 2],
                    total: [0; 2],
                    errors: [0; 2],
                    span: [NONE; 2],
                });
                let (first, last) = if parent == NONE {
                    (&mut first_top, &mut last_top)
                } else {
                    let p = &mut nodes[parent as usize];
                    (&mut p.first_child, &mut p.last_child)
                };
                let prev = *last;
                *last = n;
                if prev == NONE {
                    *first = n;
                } else {
                    nodes[prev as usize].next_sibling = n;
                }
                n
            });
            node_of_row.push(n);
            let m = &mut nodes[n as usize];
            m.count[side] += 1;
            m.total[side] += s.duration();
            m.errors[side] += u32::from(s.is_error());
            if m.span[side] == NONE {
                m.span[side] = r.span;
            }
        }
    }

    let mut out: Vec<DiffNode> = Vec::with_capacity(nodes.len());
    // (index in `out`, next child to emit).
    let mut stack: Vec<(u32, u32)> = Vec::new();
    let mut top = first_top;
    while top != NONE {
        emit(&mut out, &nodes[top as usize], 0, NONE);
        stack.push((out.len() as u32 - 1, nodes[top as usize].first_child));
        while let Some((at, next)) = stack.last_mut() {
            if *next == NONE {
                out[*at as usize].subtree_end = out.len() as u32;
                stack.pop();
                continue;
            }
            let (parent, c) = (*at, *next);
            *next = nodes[c as usize].next_sibling;
            let depth = stack.len() as u32;
            emit(&mut out, &nodes[c as usize], depth, parent);
            stack.push((out.len() as u32 - 1, nodes[c as usize].first_child));
        }
        top = nodes[top as usize].next_sibling;
    }
    out
}

fn emit(out: &mut Vec<DiffNode>, m: &Merged, depth: u32, parent: u32) {
    let status = match m.count {
        [0, _] => DiffStatus::Added,
        [_, 0] => DiffStatus::Removed,
        [x, y] if x != y => DiffStatus::Changed,
        _ => DiffStatus::Same,
    };
    out.push(DiffNode {
        depth,
        parent,
        subtree_end: 0,
        service: m.service,
        name: m.name,
        count_a: m.count[0],
        count_b: m.count[1],
        total_a: m.total[0],
        total_b: m.total[1],
        errors_a: m.errors[0],
        errors_b: m.errors[1],
        span_a: m.span[0],
        span_b: m.span[1],
        status,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tests::{named, sp, svc};

    fn diff(a: &[Span], b: &[Span]) -> Vec<DiffNode> {
        compare((a, &Tree::build(a)), (b, &Tree::build(b)), svc)
    }

    /// (depth, name, count a, count b, status) per node.
    fn shape(d: &[DiffNode]) -> Vec<(u32, u32, u32, u32, DiffStatus)> {
        d.iter()
            .map(|n| (n.depth, n.name.0, n.count_a, n.count_b, n.status))
            .collect()
    }

    #[test]
    fn merges_by_path_and_counts_each_side() {
        use DiffStatus::{Added, Changed, Removed, Same};
        // a: GET(1) -> auth(2), query(3) x2, cache(4)
        let a = vec![
            named(1, 0, 0, 100, 1, 1),
            named(2, 1, 0, 10, 2, 2),
            named(3, 1, 10, 20, 3, 3),
            named(4, 1, 20, 30, 3, 3),
            named(5, 1, 30, 40, 4, 4),
        ];
        // b: GET(1) -> auth(2), query(3) x3 with one child (5), render(6)
        let mut b = vec![
            named(1, 0, 0, 200, 1, 1),
            named(2, 1, 0, 20, 2, 2),
            named(3, 1, 20, 30, 3, 3),
            named(4, 1, 30, 40, 3, 3),
            named(5, 1, 40, 50, 3, 3),
            named(6, 5, 41, 42, 3, 5),
            named(7, 1, 50, 60, 1, 6),
        ];
        b[2].status = crate::model::StatusCode::Error;
        let d = diff(&a, &b);
        assert_eq!(
            shape(&d),
            vec![
                (0, 1, 1, 1, Same),
                (1, 2, 1, 1, Same),
                (1, 3, 2, 3, Changed),
                (2, 5, 0, 1, Added),
                (1, 4, 1, 0, Removed),
                (1, 6, 0, 1, Added),
            ]
        );
        assert_eq!((d[0].total_a, d[0].total_b), (100, 200));
        assert_eq!((d[2].total_a, d[2].total_b), (20, 30));
        assert_eq!((d[2].errors_a, d[2].errors_b), (0, 1));
        assert_eq!((d[2].span_a, d[2].span_b), (2, 2));
        assert_eq!((d[4].span_a, d[4].span_b), (4, NONE));
        let parents: Vec<u32> = d.iter().map(|n| n.parent).collect();
        assert_eq!(parents, vec![NONE, 0, 0, 2, 0, 0]);
        let ends: Vec<u32> = d.iter().map(|n| n.subtree_end).collect();
        assert_eq!(ends, vec![6, 2, 4, 4, 5, 6]);
    }

    #[test]
    fn the_same_name_under_another_service_is_another_path() {
        let a = vec![named(1, 0, 0, 10, 1, 1), named(2, 1, 0, 5, 2, 7)];
        let b = vec![named(1, 0, 0, 10, 1, 1), named(2, 1, 0, 5, 3, 7)];
        let d = diff(&a, &b);
        let st: Vec<DiffStatus> = d.iter().map(|n| n.status).collect();
        assert_eq!(
            st,
            vec![DiffStatus::Same, DiffStatus::Removed, DiffStatus::Added]
        );
    }

    #[test]
    fn top_level_rows_and_empty_traces() {
        // An orphan in b becomes a second top-level node; an empty side marks all as one-sided.
        let a = vec![named(1, 0, 0, 10, 1, 1)];
        let b = vec![named(1, 0, 0, 10, 1, 1), named(5, 99, 0, 10, 1, 9)];
        let d = diff(&a, &b);
        assert_eq!(
            shape(&d),
            vec![
                (0, 1, 1, 1, DiffStatus::Same),
                (0, 9, 0, 1, DiffStatus::Added)
            ]
        );
        assert_eq!(d[0].subtree_end, 1);
        let d = diff(&a, &[]);
        assert_eq!(shape(&d), vec![(0, 1, 1, 0, DiffStatus::Removed)]);
        assert!(diff(&[], &[]).is_empty());
    }

    #[test]
    fn deep_traces_do_not_overflow() {
        let n = 20_000u64;
        let a: Vec<Span> = (1..=n).map(|i| sp(i, i - 1, i, 2 * n)).collect();
        let b: Vec<Span> = (1..=n / 2).map(|i| sp(i, i - 1, i, 2 * n)).collect();
        let d = diff(&a, &b);
        assert_eq!(d.len(), n as usize);
        assert_eq!(d.last().unwrap().depth, n as u32 - 1);
        assert_eq!(d[n as usize / 2 - 1].status, DiffStatus::Same);
        assert_eq!(d[n as usize / 2].status, DiffStatus::Removed);
        assert_eq!(d[0].subtree_end, n as u32);
    }
}
