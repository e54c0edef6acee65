//! Analyses of stored traces: pure functions over a trace's spans and its [`Tree`], no async,
//! no terminal. Results are indexed by span index (into [`crate::store::Trace::spans`]) or by
//! tree row, so nothing per span allocates. Functions taking `spans` and a `tree` expect the
//! tree built from those spans (`Tree::build(spans)`); walks over the tree are iterative, so
//! a 20,000-level trace is fine.
//!
//! - `critical_path`: the spans, and the parts of spans, that determine a trace's end-to-end
//!   duration, as Jaeger UI computes it ([`critical_path()`], [`on_critical_path`]).
//! - `self_time`: each span's duration minus the time its children cover ([`self_time()`]).
//! - `stats`: per (service, span name) counts, durations, self time and errors of one trace
//!   ([`stats()`], [`sort_stats`]).
//! - `runs`: runs of adjacent sibling rows with the same service and name, the shape of an
//!   N+1 loop ([`runs()`]).
//! - `compare`: two traces merged by their (service, name) paths from the root, with what was
//!   added, removed or changed ([`compare()`]).
//! - `service_map`: the service call graph of many traces, with call counts, errors, duration
//!   percentiles and the traces behind each edge, and a layering to draw it
//!   ([`service_map()`], [`ServiceMap::layers`]).
//!
//! [`Tree`]: crate::store::tree::Tree

pub mod compare;
pub mod critical_path;
pub mod runs;
pub mod self_time;
pub mod service_map;
pub mod stats;

pub use compare::{DiffNode, DiffStatus, compare};
pub use critical_path::{Segment, critical_path, on_critical_path};
pub use runs::{Run, run_of_row, runs};
pub use self_time::self_time;
pub use service_map::{
    Edge, ServiceMap, ServiceMapBuilder, ServiceMapLimits, ServiceNode, service_map,
};
pub use stats::{StatColumn, StatRow, sort_stats, stats};

/// Marks "no row" / "no parent" in row-indexed data, as in [`crate::store::tree::TreeRow`].
pub const NONE: u32 = u32::MAX;

/// The child rows of `row`, in the tree's child order (by start time).
pub(crate) fn child_rows(
    tree: &crate::store::tree::Tree,
    row: usize,
) -> impl Iterator<Item = usize> + '_ {
    let end = tree.rows[row].subtree_end as usize;
    let mut next = row + 1;
    std::iter::from_fn(move || {
        if next >= end || next >= tree.rows.len() {
            return None;
        }
        let c = next;
        next = (tree.rows[c].subtree_end as usize).max(c + 1);
        Some(c)
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::model::{ResourceId, ScopeId, Span, SpanKind, StatusCode, Sym};

    /// A span with id, parent id and times; name `Sym(0)`, resource 0.
    pub fn sp(id: u64, parent: u64, start: u64, end: u64) -> Span {
        Span {
            span_id: id,
            parent_id: parent,
            start,
            end,
            name: Sym(0),
            resource: ResourceId(0),
            scope: ScopeId(0),
            kind: SpanKind::Internal,
            status: StatusCode::Unset,
            attrs: Box::new([]),
            extra: None,
        }
    }

    /// A span with a service (as the resource id, see [`svc`]) and a name.
    pub fn named(id: u64, parent: u64, start: u64, end: u64, service: u32, name: u32) -> Span {
        let mut s = sp(id, parent, start, end);
        s.resource = ResourceId(service);
        s.name = Sym(name);
        s
    }

    /// The service of a test span: its resource id as a symbol.
    pub fn svc(s: &Span) -> Sym {
        Sym(s.resource.0)
    }
}
