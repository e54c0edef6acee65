//! The critical path of a trace: the spans, and the parts of spans, that its end-to-end
//! duration waits on, computed as Jaeger UI does.

use super::{NONE, child_rows};
use crate::model::Span;
use crate::store::tree::Tree;

/// A stretch of one span's own time on the critical path, in unix nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Index of the span in the trace's spans.
    pub span: u32,
    /// The span's row in the [`Tree`].
    pub row: u32,
    pub start: u64,
    pub end: u64,
}

impl Segment {
    #[must_use]
    pub fn duration(&self) -> u64 {
        self.end - self.start
    }
}

/// A span on the walk's stack: its clipped start, how far back the walk has come (`cursor`),
/// and its clipped children, last-finishing first, at `kids[next..end]`.
struct Frame {
    row: u32,
    start: u64,
    cursor: u64,
    next: usize,
    begin: usize,
    end: usize,
}

/// The critical path of the trace whose spans are `spans` and whose tree is `tree`, as
/// segments of spans' own time, sorted by start, none empty.
///
/// The algorithm is Jaeger UI's (`TracePage/CriticalPath`): start at the top-level row that
/// ends last (roots, rows whose parent is missing and broken cycles all count as top-level;
/// on a tie the earliest start, then the first row, wins) and walk back from its end: pick the
/// last-finishing child that ends at or before the cursor; the span's own time between that
/// child's end and the cursor is a segment; walk the child the same way from its end; then
/// carry on in the parent from the child's start. When no child is left, the rest of the
/// span back to its start is a segment.
///
/// Awkward inputs: each child is first clipped to its (already clipped) parent's range, which
/// tolerates clock skew and asynchronous work: a child that starts before its parent or ends
/// after it is truncated, a child wholly outside its parent (starting at or after its end, or
/// ending at or before its start) is dropped with its subtree. A span that ends before it
/// starts counts as zero-length. Children ending at the same time: the one that starts first
/// wins. Other top-level rows (a second root, an orphaned subtree that ends earlier) are not
/// on the path. So the segments exactly tile the chosen top-level span: their lengths sum to
/// its duration. The walk uses an explicit stack, so any depth is fine.
#[must_use]
pub fn critical_path(spans: &[Span], tree: &Tree) -> Vec<Segment> {
    let end_of = |s: &Span| s.end.max(s.start);
    let Some(top) = tree
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.parent_row == NONE)
        .min_by_key(|(i, r)| {
            let s = &spans[r.span as usize];
            (std::cmp::Reverse(end_of(s)), s.start, *i)
        })
        .map(|(i, _)| i)
    else {
        return Vec::new();
    };

    let mut out = Vec::new();
    // The clipped children of every span on the stack: (row, start, end).
    let mut kids: Vec<(u32, u64, u64)> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let s = &spans[tree.rows[top].span as usize];
    push(&mut stack, &mut kids, tree, spans, top, s.start, end_of(s));

    while let Some(f) = stack.last_mut() {
        let found = (f.next..f.end).find(|&i| kids[i].2 <= f.cursor);
        let span = tree.rows[f.row as usize].span;
        if let Some(i) = found {
            let (child, cs, ce) = kids[i];
            if ce < f.cursor {
                out.push(Segment {
                    span,
                    row: f.row,
                    start: ce,
                    end: f.cursor,
                });
            }
            // The cursor only moves back, so children skipped here never fit later.
            f.next = i + 1;
            f.cursor = cs;
            push(&mut stack, &mut kids, tree, spans, child as usize, cs, ce);
        } else {
            if f.start < f.cursor {
                out.push(Segment {
                    span,
                    row: f.row,
                    start: f.start,
                    end: f.cursor,
                });
            }
            kids.truncate(f.begin);
            stack.pop();
        }
    }
    // Emitted walking back in time, without overlaps; a zero-length child splits its parent's
    // time in two, joined again here.
    out.reverse();
    out.dedup_by(|next, prev| {
        let join = prev.row == next.row && prev.end == next.start;
        if join {
            prev.end = next.end;
        }
        join
    });
    out
}

/// Pushes the frame of `row`, clipped to `[start, end]`, with its children clipped to it.
fn push(
    stack: &mut Vec<Frame>,
    kids: &mut Vec<(u32, u64, u64)>,
    tree: &Tree,
    spans: &[Span],
    row: usize,
    start: u64,
    end: u64,
) {
    let begin = kids.len();
    for c in child_rows(tree, row) {
        let s = &spans[tree.rows[c].span as usize];
        let c_end = s.end.max(s.start);
        let clipped = if s.start >= start {
            (s.start < end).then(|| (s.start, c_end.min(end)))
        } else {
            (c_end > start).then(|| (start, c_end.min(end)))
        };
        if let Some((cs, ce)) = clipped {
            kids.push((c as u32, cs, ce));
        }
    }
    kids[begin..].sort_unstable_by_key(|&(r, cs, ce)| (std::cmp::Reverse(ce), cs, r));
    stack.push(Frame {
        row: row as u32,
        start,
        cursor: end,
        next: begin,
        begin,
        end: kids.len(),
    });
}

/// Nanoseconds each span spends on the critical path, indexed by span (for highlighting);
/// spans of `segments` at or past `n_spans` are ignored.
#[must_use]
pub fn on_critical_path(segments: &[Segment], n_spans: usize) -> Vec<u64> {
    let mut out = vec![0u64; n_spans];
    for seg in segments {
        if let Some(v) = out.get_mut(seg.span as usize) {
            *v += seg.duration();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tests::sp;

    /// The path as (span id, start, end).
    fn path(spans: &[Span]) -> Vec<(u64, u64, u64)> {
        let tree = Tree::build(spans);
        let segs = critical_path(spans, &tree);
        for w in segs.windows(2) {
            assert!(w[0].end <= w[1].start, "sorted, no overlap: {segs:?}");
        }
        for s in &segs {
            assert!(s.start < s.end);
            assert_eq!(tree.rows[s.row as usize].span, s.span);
        }
        segs.iter()
            .map(|s| (spans[s.span as usize].span_id, s.start, s.end))
            .collect()
    }

    fn total(p: &[(u64, u64, u64)]) -> u64 {
        p.iter().map(|(_, s, e)| e - s).sum()
    }

    #[test]
    fn sequential_children() {
        let spans = vec![sp(1, 0, 0, 100), sp(2, 1, 10, 40), sp(3, 1, 40, 90)];
        let p = path(&spans);
        assert_eq!(p, vec![(1, 0, 10), (2, 10, 40), (3, 40, 90), (1, 90, 100)]);
        assert_eq!(total(&p), 100);
    }

    #[test]
    fn gaps_between_children_belong_to_the_parent() {
        let spans = vec![sp(1, 0, 0, 100), sp(2, 1, 10, 30), sp(3, 1, 50, 90)];
        assert_eq!(
            path(&spans),
            vec![
                (1, 0, 10),
                (2, 10, 30),
                (1, 30, 50),
                (3, 50, 90),
                (1, 90, 100)
            ]
        );
    }

    #[test]
    fn of_parallel_children_only_the_last_finishing_counts() {
        // 2 and 3 overlap; 3 finishes last, so 2's overlapped part is off the path, and 2 does
        // not end before 3 starts, so it is off the path altogether.
        let spans = vec![sp(1, 0, 0, 100), sp(2, 1, 10, 60), sp(3, 1, 20, 80)];
        assert_eq!(path(&spans), vec![(1, 0, 20), (3, 20, 80), (1, 80, 100)]);
        // An earlier child that ends before the last one starts is on it again.
        let spans = vec![
            sp(1, 0, 0, 100),
            sp(2, 1, 5, 15),
            sp(4, 1, 10, 60),
            sp(3, 1, 65, 80),
        ];
        assert_eq!(
            path(&spans),
            vec![
                (1, 0, 10),
                (4, 10, 60),
                (1, 60, 65),
                (3, 65, 80),
                (1, 80, 100)
            ]
        );
    }

    #[test]
    fn grandchildren_are_walked() {
        let spans = vec![
            sp(1, 0, 0, 100),
            sp(2, 1, 10, 90),
            sp(3, 2, 20, 50),
            sp(4, 2, 30, 80),
        ];
        let p = path(&spans);
        assert_eq!(
            p,
            vec![
                (1, 0, 10),
                (2, 10, 30),
                (4, 30, 80),
                (2, 80, 90),
                (1, 90, 100)
            ]
        );
        assert_eq!(total(&p), 100);
    }

    #[test]
    fn a_child_outliving_its_parent_is_truncated() {
        let spans = vec![sp(1, 0, 0, 100), sp(2, 1, 50, 300)];
        let p = path(&spans);
        assert_eq!(p, vec![(1, 0, 50), (2, 50, 100)]);
        assert_eq!(total(&p), 100);
    }

    #[test]
    fn a_child_starting_before_its_parent_is_clipped() {
        let spans = vec![sp(1, 0, 100, 200), sp(2, 1, 50, 150)];
        assert_eq!(path(&spans), vec![(2, 100, 150), (1, 150, 200)]);
        // Covering the parent entirely: the child takes all of it.
        let spans = vec![sp(1, 0, 100, 200), sp(2, 1, 50, 250)];
        assert_eq!(path(&spans), vec![(2, 100, 200)]);
    }

    #[test]
    fn children_wholly_outside_their_parent_are_dropped_with_their_subtree() {
        let spans = vec![
            sp(1, 0, 100, 200),
            sp(2, 1, 200, 300),
            sp(3, 2, 210, 220),
            sp(4, 1, 10, 100),
        ];
        assert_eq!(path(&spans), vec![(1, 100, 200)]);
    }

    #[test]
    fn an_orphan_subtree_is_its_own_top_and_the_last_ending_top_wins() {
        // The orphan (parent 99 missing) ends after the root: the path follows it.
        let spans = vec![
            sp(1, 0, 0, 100),
            sp(2, 1, 10, 20),
            sp(5, 99, 50, 150),
            sp(6, 5, 60, 140),
        ];
        let p = path(&spans);
        assert_eq!(p, vec![(5, 50, 60), (6, 60, 140), (5, 140, 150)]);
        // With the root ending last, the orphan is off the path.
        let spans = vec![sp(1, 0, 0, 200), sp(2, 1, 10, 20), sp(5, 99, 50, 150)];
        assert_eq!(path(&spans), vec![(1, 0, 10), (2, 10, 20), (1, 20, 200)]);
    }

    #[test]
    fn zero_length_spans() {
        // A zero-length child does not split its parent; a zero-length root has no path.
        let spans = vec![sp(1, 0, 0, 100), sp(2, 1, 50, 50), sp(3, 1, 60, 70)];
        assert_eq!(path(&spans), vec![(1, 0, 60), (3, 60, 70), (1, 70, 100)]);
        assert_eq!(path(&[sp(1, 0, 5, 5), sp(2, 1, 5, 9)]), vec![]);
        // End before start counts as zero-length.
        assert_eq!(path(&[sp(1, 0, 9, 5)]), vec![]);
        assert_eq!(path(&[]), vec![]);
    }

    #[test]
    fn touching_children_are_all_on_the_path() {
        let spans = vec![
            sp(1, 0, 0, 30),
            sp(2, 1, 0, 10),
            sp(3, 1, 10, 20),
            sp(4, 1, 20, 30),
        ];
        assert_eq!(path(&spans), vec![(2, 0, 10), (3, 10, 20), (4, 20, 30)]);
    }

    #[test]
    fn segments_sum_to_the_root_duration() {
        let spans = vec![
            sp(1, 0, 1000, 2000),
            sp(2, 1, 1100, 1500),
            sp(3, 2, 1150, 1300),
            sp(4, 2, 1200, 1450),
            sp(5, 1, 1300, 1900),
            sp(6, 5, 1400, 1800),
            sp(7, 6, 1500, 1600),
            sp(8, 1, 1950, 1950),
        ];
        let tree = Tree::build(&spans);
        let segs = critical_path(&spans, &tree);
        assert_eq!(segs.iter().map(Segment::duration).sum::<u64>(), 1000);
        let per = on_critical_path(&segs, spans.len());
        assert_eq!(per.iter().sum::<u64>(), 1000);
        assert_eq!(per[1], 0, "span 2 finishes before 5 and overlaps it");
        assert_eq!(per[6], 100);
        assert_eq!(on_critical_path(&segs, 2).len(), 2);
    }

    #[test]
    fn a_20000_level_chain_does_not_overflow() {
        let n = 20_000u64;
        let spans: Vec<Span> = (1..=n).map(|i| sp(i, i - 1, i, 3 * n - i)).collect();
        let tree = Tree::build(&spans);
        let segs = critical_path(&spans, &tree);
        assert_eq!(segs.len(), 2 * n as usize - 1);
        assert_eq!(
            segs.iter().map(Segment::duration).sum::<u64>(),
            spans[0].duration()
        );
    }
}
