//! A trace's span tree, built without recursion so a 20,000-level trace cannot overflow the
//! stack, and tolerant of orphans, self-parents and cycles: every span appears exactly once.

use crate::model::Span;

const NONE: u32 = u32::MAX;

/// Why a row stands at the top level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopKind {
    /// Not at the top: its parent is the row above it in the walk.
    Child,
    /// A root: no parent id.
    Root,
    /// Its parent id names a span that is not (yet) in the trace, or itself.
    MissingParent,
    /// Part of a parent cycle; broken here.
    Cycle,
}

/// One row of the tree walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeRow {
    /// Index of the span in [`crate::store::Trace::spans`].
    pub span: u32,
    pub depth: u32,
    /// Row index of the parent row, or `u32::MAX` at the top.
    pub parent_row: u32,
    /// One past the last row of this row's subtree.
    pub subtree_end: u32,
    /// Whether this is the last child of its parent (for indentation guides).
    pub last_child: bool,
    pub top: TopKind,
}

impl TreeRow {
    #[must_use]
    pub fn has_children(&self, row_index: usize) -> bool {
        self.subtree_end as usize > row_index + 1
    }
}

/// The rows of a trace in depth-first order, children sorted by start time.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    pub rows: Vec<TreeRow>,
}

impl Tree {
    /// Builds the tree of `spans`.
    #[must_use]
    pub fn build(spans: &[Span]) -> Self {
        let n = spans.len();
        let mut by_id: rustc_hash::FxHashMap<u64, u32> =
            rustc_hash::FxHashMap::with_capacity_and_hasher(n, Default::default());
        for (i, s) in spans.iter().enumerate() {
            by_id.entry(s.span_id).or_insert(i as u32);
        }
        let mut parent = vec![NONE; n];
        let mut top = vec![TopKind::Child; n];
        for (i, s) in spans.iter().enumerate() {
            if s.parent_id == 0 {
                top[i] = TopKind::Root;
            } else if s.parent_id == s.span_id {
                top[i] = TopKind::MissingParent;
            } else if let Some(&p) = by_id.get(&s.parent_id) {
                parent[i] = p;
            } else {
                top[i] = TopKind::MissingParent;
            }
        }
        // Children lists in one flat array (CSR), each sorted by start time.
        let mut offsets = vec![0u32; n + 1];
        for &p in &parent {
            if p != NONE {
                offsets[p as usize + 1] += 1;
            }
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut children = vec![0u32; offsets[n] as usize];
        for (i, &p) in parent.iter().enumerate() {
            if p != NONE {
                children[fill[p as usize] as usize] = i as u32;
                fill[p as usize] += 1;
            }
        }
        let key = |i: &u32| (spans[*i as usize].start, spans[*i as usize].span_id);
        for p in 0..n {
            children[offsets[p] as usize..offsets[p + 1] as usize].sort_unstable_by_key(key);
        }

        let mut roots: Vec<u32> = (0..n as u32)
            .filter(|&i| top[i as usize] != TopKind::Child)
            .collect();
        roots.sort_unstable_by_key(key);

        let mut rows = Vec::with_capacity(n);
        let mut visited = vec![false; n];
        let mut walk = Walk {
            spans_children: &children,
            offsets: &offsets,
            visited: &mut visited,
            rows: &mut rows,
        };
        let root_count = roots.len();
        for (k, &r) in roots.iter().enumerate() {
            walk.run(r, top[r as usize], k + 1 == root_count);
        }
        if rows.len() < n {
            // What is left sits on parent cycles: break each at its earliest span.
            let mut rest: Vec<u32> = (0..n as u32).filter(|&i| !visited[i as usize]).collect();
            rest.sort_unstable_by_key(key);
            let mut walk = Walk {
                spans_children: &children,
                offsets: &offsets,
                visited: &mut visited,
                rows: &mut rows,
            };
            for r in rest {
                if !walk.visited[r as usize] {
                    walk.run(r, TopKind::Cycle, true);
                }
            }
        }
        Self { rows }
    }

    /// Row indices visible when the rows for which `collapsed` is true hide their subtrees.
    pub fn visible(&self, mut collapsed: impl FnMut(&TreeRow) -> bool) -> Vec<u32> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.rows.len() {
            out.push(i as u32);
            let row = &self.rows[i];
            i = if collapsed(row) {
                (row.subtree_end as usize).max(i + 1)
            } else {
                i + 1
            };
        }
        out
    }
}

struct Walk<'a> {
    spans_children: &'a [u32],
    offsets: &'a [u32],
    visited: &'a mut [bool],
    rows: &'a mut Vec<TreeRow>,
}

impl Walk<'_> {
    /// Iterative depth-first walk from `root`.
    fn run(&mut self, root: u32, top: TopKind, last: bool) {
        // Stack of (row index, next child position in `spans_children`).
        let mut stack: Vec<(u32, u32)> = Vec::new();
        self.visited[root as usize] = true;
        self.push_row(root, 0, NONE, last, top);
        stack.push((self.rows.len() as u32 - 1, self.offsets[root as usize]));
        while let Some(&mut (row_idx, ref mut next)) = stack.last_mut() {
            let span = self.rows[row_idx as usize].span as usize;
            let end = self.offsets[span + 1];
            // Skip children already placed (possible only through cycles).
            while *next < end && self.visited[self.spans_children[*next as usize] as usize] {
                *next += 1;
            }
            if *next >= end {
                self.rows[row_idx as usize].subtree_end = self.rows.len() as u32;
                stack.pop();
                continue;
            }
            let child = self.spans_children[*next as usize];
            *next += 1;
            // A span has one parent, so a child already placed can only be a cycle's break
            // point, placed before this walk began: skipping those now is exact.
            while *next < end && self.visited[self.spans_children[*next as usize] as usize] {
                *next += 1;
            }
            let is_last = *next >= end;
            self.visited[child as usize] = true;
            let depth = self.rows[row_idx as usize].depth + 1;
            self.push_row(child, depth, row_idx, is_last, TopKind::Child);
            stack.push((self.rows.len() as u32 - 1, self.offsets[child as usize]));
        }
    }

    fn push_row(&mut self, span: u32, depth: u32, parent_row: u32, last: bool, top: TopKind) {
        self.rows.push(TreeRow {
            span,
            depth,
            parent_row,
            subtree_end: 0,
            last_child: last,
            top,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ResourceId, ScopeId, SpanKind, StatusCode, Sym};

    fn s(id: u64, parent: u64, start: u64) -> Span {
        Span {
            span_id: id,
            parent_id: parent,
            start,
            end: start + 1,
            name: Sym(0),
            resource: ResourceId(0),
            scope: ScopeId(0),
            kind: SpanKind::Internal,
            status: StatusCode::Unset,
            attrs: Box::new([]),
            extra: None,
        }
    }

    fn walk(tree: &Tree, spans: &[Span]) -> Vec<(u64, u32)> {
        tree.rows
            .iter()
            .map(|r| (spans[r.span as usize].span_id, r.depth))
            .collect()
    }

    #[test]
    fn children_arriving_before_parents_are_linked() {
        let spans = vec![s(3, 2, 30), s(2, 1, 20), s(4, 1, 10), s(1, 0, 0)];
        let tree = Tree::build(&spans);
        assert_eq!(walk(&tree, &spans), vec![(1, 0), (4, 1), (2, 1), (3, 2)]);
        assert_eq!(tree.rows[0].subtree_end, 4);
        assert_eq!(tree.rows[0].top, TopKind::Root);
        assert!(tree.rows[2].last_child);
        assert!(!tree.rows[1].last_child);
    }

    #[test]
    fn orphans_and_self_parents_stand_at_the_top() {
        let spans = vec![s(1, 0, 0), s(2, 99, 5), s(3, 3, 7)];
        let tree = Tree::build(&spans);
        assert_eq!(walk(&tree, &spans), vec![(1, 0), (2, 0), (3, 0)]);
        assert_eq!(tree.rows[1].top, TopKind::MissingParent);
        assert_eq!(tree.rows[2].top, TopKind::MissingParent);
    }

    #[test]
    fn cycles_are_broken_and_nothing_is_dropped() {
        // 1 -> 2 -> 3 -> 1, plus 4 under 3, plus a real root 5.
        let spans = vec![
            s(1, 3, 10),
            s(2, 1, 20),
            s(3, 2, 30),
            s(4, 3, 40),
            s(5, 0, 0),
        ];
        let tree = Tree::build(&spans);
        let mut seen: Vec<u64> = walk(&tree, &spans).iter().map(|x| x.0).collect();
        assert_eq!(seen.len(), 5);
        seen.sort_unstable();
        assert_eq!(seen, vec![1, 2, 3, 4, 5]);
        let cycle_top = tree.rows.iter().find(|r| r.top == TopKind::Cycle).unwrap();
        assert_eq!(
            spans[cycle_top.span as usize].span_id, 1,
            "broken at earliest span"
        );
    }

    #[test]
    fn a_20000_level_chain_does_not_overflow() {
        let n = 20_000u64;
        let spans: Vec<Span> = (1..=n).rev().map(|i| s(i, i - 1, i)).collect();
        let tree = Tree::build(&spans);
        assert_eq!(tree.rows.len(), n as usize);
        assert_eq!(tree.rows.last().unwrap().depth, (n - 1) as u32);
        assert_eq!(tree.rows[0].subtree_end, n as u32);
    }

    #[test]
    fn collapsing_hides_the_subtree() {
        let spans = vec![s(1, 0, 0), s(2, 1, 1), s(3, 2, 2), s(4, 1, 3)];
        let tree = Tree::build(&spans);
        let collapsed_id = 2;
        let vis = tree.visible(|r| spans[r.span as usize].span_id == collapsed_id);
        let ids: Vec<u64> = vis
            .iter()
            .map(|&i| spans[tree.rows[i as usize].span as usize].span_id)
            .collect();
        assert_eq!(ids, vec![1, 2, 4]);
        assert_eq!(tree.visible(|_| false).len(), 4);
    }
}
