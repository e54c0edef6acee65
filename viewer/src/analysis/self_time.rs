//! Self time: the part of a span's duration that none of its children covers.

use super::child_rows;
use crate::model::Span;
use crate::store::tree::Tree;

/// Each span's self time in nanoseconds, indexed by span: its duration minus the union of its
/// children's intervals, each clipped to the span's own `[start, end]`.
///
/// Overlapping (parallel) children are counted once; the part of a child outside its parent
/// (clock skew, asynchronous work) does not count; a span that ends before it starts has a
/// self time of zero, as has a span whose children cover it entirely. Spans the tree does not
/// place (none, when `tree` was built from `spans`) keep zero.
#[must_use]
pub fn self_time(spans: &[Span], tree: &Tree) -> Vec<u64> {
    let mut out = vec![0u64; spans.len()];
    for (row, r) in tree.rows.iter().enumerate() {
        let s = &spans[r.span as usize];
        let (start, end) = (s.start, s.end.max(s.start));
        let mut covered = 0u64;
        // Children come sorted by start, so the clipped intervals do too: one sweep merges them.
        let mut run: Option<(u64, u64)> = None;
        for c in child_rows(tree, row) {
            let k = &spans[tree.rows[c].span as usize];
            let (cs, ce) = (k.start.max(start), k.end.min(end));
            if cs >= ce {
                continue;
            }
            run = match run {
                Some((rs, re)) if cs <= re => Some((rs, re.max(ce))),
                Some((rs, re)) => {
                    covered += re - rs;
                    Some((cs, ce))
                }
                None => Some((cs, ce)),
            };
        }
        if let Some((rs, re)) = run {
            covered += re - rs;
        }
        out[r.span as usize] = (end - start).saturating_sub(covered);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tests::sp;

    fn self_of(spans: &[Span]) -> Vec<u64> {
        self_time(spans, &Tree::build(spans))
    }

    #[test]
    fn no_children_is_all_self() {
        assert_eq!(self_of(&[sp(1, 0, 10, 110)]), vec![100]);
        assert_eq!(self_of(&[sp(1, 0, 110, 10)]), vec![0]);
    }

    #[test]
    fn overlapping_children_count_once() {
        let spans = vec![
            sp(1, 0, 0, 100),
            sp(2, 1, 10, 50),
            sp(3, 1, 20, 40),
            sp(4, 1, 30, 60),
            sp(5, 1, 80, 90),
        ];
        // Covered: [10, 60] and [80, 90].
        assert_eq!(self_of(&spans), vec![40, 40, 20, 30, 10]);
    }

    #[test]
    fn children_outside_the_parent_are_clipped() {
        let spans = vec![
            sp(1, 0, 100, 200),
            sp(2, 1, 150, 400),
            sp(3, 1, 50, 120),
            sp(4, 1, 300, 400),
        ];
        assert_eq!(self_of(&spans)[0], 100 - 50 - 20);
    }

    #[test]
    fn children_covering_everything_leave_nothing() {
        let spans = vec![sp(1, 0, 0, 100), sp(2, 1, 0, 60), sp(3, 1, 50, 100)];
        assert_eq!(self_of(&spans), vec![0, 60, 50]);
        let spans = vec![sp(1, 0, 0, 100), sp(2, 1, 0, 100), sp(3, 2, 0, 100)];
        assert_eq!(self_of(&spans), vec![0, 0, 100]);
    }

    #[test]
    fn grandchildren_do_not_count_against_the_grandparent() {
        // Only direct children are subtracted: a grandchild outliving its parent does not.
        let spans = vec![sp(1, 0, 0, 100), sp(2, 1, 0, 10), sp(3, 2, 5, 90)];
        assert_eq!(self_of(&spans), vec![90, 5, 85]);
    }
}
