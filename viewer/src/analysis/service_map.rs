//! The service map: which services call which, over many traces, and how those calls fare.

use rustc_hash::FxHashMap;

use crate::model::{Span, Sym};
use crate::store::{Store, Trace, TraceRef};

/// What a [`ServiceMap`] keeps per edge at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceMapLimits {
    /// Child span durations kept per edge for the percentiles: every one up to this many,
    /// then a uniform sample of this size (reservoir sampling, with a fixed seed so the same
    /// input gives the same map).
    pub samples_per_edge: usize,
    /// Traces listed per edge; later ones are only counted.
    pub traces_per_edge: usize,
}

impl Default for ServiceMapLimits {
    fn default() -> Self {
        Self {
            samples_per_edge: 100_000,
            traces_per_edge: 10_000,
        }
    }
}

/// A service on the map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceNode {
    pub service: Sym,
    /// Spans of this service in the traces read.
    pub spans: u64,
    /// Of those, spans with an error status.
    pub errors: u64,
}

/// Calls from one service to another: spans of `to` whose parent span is of `from`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    /// Index of the calling service in [`ServiceMap::nodes`].
    pub from: u32,
    /// Index of the called service.
    pub to: u32,
    /// Parent/child span pairs.
    pub calls: u64,
    /// Of those, failed calls: the child span has an error status, or the parent is a client
    /// span (it stands for this one call) with an error status.
    pub errors: u64,
    /// The child spans' durations, sorted: all of them, or a uniform sample when `calls` is
    /// over [`ServiceMapLimits::samples_per_edge`].
    pub samples: Vec<u64>,
    /// The traces with at least one such call, in the order read, up to
    /// [`ServiceMapLimits::traces_per_edge`].
    pub traces: Vec<TraceRef>,
    /// Traces with such calls beyond that cap.
    pub traces_left_out: u64,
    /// Sequence number of the last trace listed, so a trace is listed once.
    last_trace: u64,
}

impl Edge {
    /// The `q`-quantile (0 to 1) of the child spans' durations, by nearest rank over
    /// [`Self::samples`]; zero without samples.
    #[must_use]
    pub fn percentile(&self, q: f64) -> u64 {
        let n = self.samples.len();
        if n == 0 {
            return 0;
        }
        let rank = (q.clamp(0.0, 1.0) * n as f64).ceil() as usize;
        self.samples[rank.clamp(1, n) - 1]
    }

    #[must_use]
    pub fn p50(&self) -> u64 {
        self.percentile(0.5)
    }

    #[must_use]
    pub fn p99(&self) -> u64 {
        self.percentile(0.99)
    }

    /// Whether [`Self::samples`] is a sample rather than every duration.
    #[must_use]
    pub fn is_sampled(&self) -> bool {
        self.calls > self.samples.len() as u64
    }
}

/// Services and the calls between them, over a set of traces.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceMap {
    /// In order of first appearance.
    pub nodes: Vec<ServiceNode>,
    /// In order of first appearance.
    pub edges: Vec<Edge>,
    /// Traces read.
    pub traces: u64,
}

/// The service map of `traces` in `store`, with the default limits. References that no longer
/// resolve (evicted traces) are skipped.
#[must_use]
pub fn service_map(store: &Store, traces: impl IntoIterator<Item = TraceRef>) -> ServiceMap {
    let mut b = ServiceMapBuilder::new(ServiceMapLimits::default());
    for r in traces {
        if let Some(t) = store.trace(r) {
            b.add(r, t, |s| store.resource(s.resource).service);
        }
    }
    b.finish()
}

/// Builds a [`ServiceMap`] a trace at a time (e.g. a chunk of traces per lock taken).
pub struct ServiceMapBuilder {
    limits: ServiceMapLimits,
    map: ServiceMap,
    node_index: FxHashMap<Sym, u32>,
    edge_index: FxHashMap<(u32, u32), u32>,
    /// Per span of the trace being added: its service's node.
    node_of_span: Vec<u32>,
    rng: u64,
}

impl ServiceMapBuilder {
    #[must_use]
    pub fn new(limits: ServiceMapLimits) -> Self {
        Self {
            limits,
            map: ServiceMap::default(),
            node_index: FxHashMap::default(),
            edge_index: FxHashMap::default(),
            node_of_span: Vec::new(),
            rng: 0x853c_49e6_748f_ea9b,
        }
    }

    /// Adds the calls of one trace. An edge is a span whose parent span (found by id in the
    /// same trace) belongs to another service. Spans whose parent is missing, or is the span
    /// itself, make no edge but count for their service's node; calls within one service make
    /// no edge. Parent cycles need no care: each span has one parent, so each pair counts once.
    pub fn add(&mut self, r: TraceRef, trace: &Trace, service_of: impl Fn(&Span) -> Sym) {
        self.map.traces += 1;
        let seq = self.map.traces;
        let spans = trace.spans();
        self.node_of_span.clear();
        for s in spans {
            let service = service_of(s);
            let nodes = &mut self.map.nodes;
            let n = *self.node_index.entry(service).or_insert_with(|| {
                nodes.push(ServiceNode {
                    service,
                    spans: 0,
                    errors: 0,
                });
                (nodes.len() - 1) as u32
            });
            let node = &mut nodes[n as usize];
            node.spans += 1;
            node.errors += u64::from(s.is_error());
            self.node_of_span.push(n);
        }
        for (i, s) in spans.iter().enumerate() {
            if s.parent_id == 0 || s.parent_id == s.span_id {
                continue;
            }
            let Some(p) = trace.position(s.parent_id) else {
                continue;
            };
            let (from, to) = (self.node_of_span[p], self.node_of_span[i]);
            if from == to {
                continue;
            }
            let edges = &mut self.map.edges;
            let e = *self.edge_index.entry((from, to)).or_insert_with(|| {
                edges.push(Edge {
                    from,
                    to,
                    calls: 0,
                    errors: 0,
                    samples: Vec::new(),
                    traces: Vec::new(),
                    traces_left_out: 0,
                    last_trace: 0,
                });
                (edges.len() - 1) as u32
            });
            let edge = &mut edges[e as usize];
            edge.calls += 1;
            let caller = &spans[p];
            edge.errors += u64::from(
                s.is_error()
                    || (caller.kind == crate::model::SpanKind::Client && caller.is_error()),
            );
            let d = s.duration();
            if edge.samples.len() < self.limits.samples_per_edge {
                edge.samples.push(d);
            } else if self.limits.samples_per_edge > 0 {
                // Algorithm R: the k-th duration replaces a random kept one with chance cap/k.
                self.rng = splitmix64(self.rng);
                let j = self.rng % edge.calls;
                if let Some(slot) = edge.samples.get_mut(j as usize) {
                    *slot = d;
                }
            }
            if edge.last_trace != seq {
                edge.last_trace = seq;
                if edge.traces.len() < self.limits.traces_per_edge {
                    edge.traces.push(r);
                } else {
                    edge.traces_left_out += 1;
                }
            }
        }
    }

    /// The map, with each edge's samples sorted.
    #[must_use]
    pub fn finish(mut self) -> ServiceMap {
        for e in &mut self.map.edges {
            e.samples.sort_unstable();
        }
        self.map
    }
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl ServiceMap {
    /// Index of a service's node.
    #[must_use]
    pub fn node(&self, service: Sym) -> Option<u32> {
        self.nodes
            .iter()
            .position(|n| n.service == service)
            .map(|i| i as u32)
    }

    /// A layer per node, for drawing the map left to right: the length of the longest path
    /// to the node from a node without incoming edges. Cycles are broken first, at the edges
    /// a depth-first search (from nodes without incoming edges, then from any node left, in
    /// node order) finds going back to a node on its path; those edges are then the ones
    /// whose `from` layer is not below their `to` layer. Iterative, any size.
    #[must_use]
    pub fn layers(&self) -> Vec<u32> {
        let n = self.nodes.len();
        // Outgoing edges per node (CSR).
        let mut offsets = vec![0u32; n + 1];
        for e in &self.edges {
            offsets[e.from as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut out_edges = vec![0u32; self.edges.len()];
        let mut indegree = vec![0u32; n];
        for (k, e) in self.edges.iter().enumerate() {
            out_edges[fill[e.from as usize] as usize] = k as u32;
            fill[e.from as usize] += 1;
            indegree[e.to as usize] += 1;
        }

        // Back edges, by an iterative depth-first search. 0: new, 1: on the path, 2: done.
        let mut state = vec![0u8; n];
        let mut back = vec![false; self.edges.len()];
        let starts = (0..n)
            .filter(|&i| indegree[i] == 0)
            .chain((0..n).filter(|&i| indegree[i] != 0));
        let mut stack: Vec<(u32, u32)> = Vec::new();
        for s in starts {
            if state[s] != 0 {
                continue;
            }
            state[s] = 1;
            stack.push((s as u32, offsets[s]));
            while let Some((v, next)) = stack.last_mut() {
                if *next == offsets[*v as usize + 1] {
                    state[*v as usize] = 2;
                    stack.pop();
                    continue;
                }
                let k = out_edges[*next as usize] as usize;
                *next += 1;
                let to = self.edges[k].to as usize;
                match state[to] {
                    0 => {
                        state[to] = 1;
                        stack.push((to as u32, offsets[to]));
                    }
                    1 => back[k] = true,
                    _ => {}
                }
            }
        }

        // Longest paths over what is left, a directed acyclic graph (Kahn's order).
        let mut indegree = vec![0u32; n];
        for (k, e) in self.edges.iter().enumerate() {
            if !back[k] {
                indegree[e.to as usize] += 1;
            }
        }
        let mut layer = vec![0u32; n];
        let mut queue: Vec<u32> = (0..n as u32)
            .filter(|&i| indegree[i as usize] == 0)
            .collect();
        let mut head = 0;
        while head < queue.len() {
            let v = queue[head] as usize;
            head += 1;
            for &k in &out_edges[offsets[v] as usize..offsets[v + 1] as usize] {
                if back[k as usize] {
                    continue;
                }
                let to = self.edges[k as usize].to as usize;
                layer[to] = layer[to].max(layer[v] + 1);
                indegree[to] -= 1;
                if indegree[to] == 0 {
                    queue.push(to as u32);
                }
            }
        }
        debug_assert_eq!(queue.len(), n, "back edges leave no cycle");
        layer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StatusCode;
    use crate::store::tests::{batch, span};

    fn names(store: &Store, map: &ServiceMap) -> Vec<String> {
        map.nodes
            .iter()
            .map(|n| store.str(n.service).to_owned())
            .collect()
    }

    /// Edges as (from, to, calls, errors) by service name.
    fn edges(store: &Store, map: &ServiceMap) -> Vec<(String, String, u64, u64)> {
        let name = |i: u32| store.str(map.nodes[i as usize].service).to_owned();
        map.edges
            .iter()
            .map(|e| (name(e.from), name(e.to), e.calls, e.errors))
            .collect()
    }

    fn e(a: &str, b: &str, calls: u64, errors: u64) -> (String, String, u64, u64) {
        (a.into(), b.into(), calls, errors)
    }

    #[test]
    fn calls_between_services_across_traces() {
        let mut store = Store::new(1000);
        store.ingest(batch("web", vec![span(1, 1, 0, 0, 100, "GET /")]));
        let mut failing = span(1, 3, 1, 40, 70, "GET /api");
        failing.status = StatusCode::Error;
        store.ingest(batch(
            "api",
            vec![span(1, 2, 1, 10, 30, "GET /api"), failing],
        ));
        store.ingest(batch(
            "db",
            vec![
                span(1, 4, 3, 45, 50, "SELECT"),
                span(1, 5, 4, 46, 47, "inner"),
            ],
        ));
        // Web calling web: no edge.
        store.ingest(batch(
            "web",
            vec![
                span(2, 1, 0, 0, 100, "GET /"),
                span(2, 2, 1, 0, 10, "render"),
            ],
        ));
        store.ingest(batch("api", vec![span(2, 3, 1, 10, 20, "GET /api")]));
        let refs: Vec<TraceRef> = store.traces_by_arrival().collect();
        let map = service_map(&store, refs.iter().copied());
        assert_eq!(map.traces, 2);
        assert_eq!(names(&store, &map), vec!["web", "api", "db"]);
        assert_eq!(
            map.nodes
                .iter()
                .map(|n| (n.spans, n.errors))
                .collect::<Vec<_>>(),
            vec![(3, 0), (3, 1), (2, 0)]
        );
        assert_eq!(
            edges(&store, &map),
            vec![e("web", "api", 3, 1), e("api", "db", 1, 0)]
        );
        let web_api = &map.edges[0];
        assert_eq!(web_api.samples, vec![10, 20, 30]);
        assert_eq!((web_api.p50(), web_api.p99()), (20, 30));
        assert_eq!(web_api.percentile(0.0), 10);
        assert!(!web_api.is_sampled());
        assert_eq!(web_api.traces, refs);
        assert_eq!(map.edges[1].traces, vec![refs[0]], "listed once per trace");
        assert_eq!(map.layers(), vec![0, 1, 2]);
        assert_eq!(
            map.node(store.catalog.strings.lookup("db").unwrap()),
            Some(2)
        );
    }

    #[test]
    fn a_failed_client_call_counts_as_an_error_of_its_edge() {
        use crate::model::SpanKind;
        let mut store = Store::new(100);
        let mut call = span(1, 2, 1, 10, 90, "GET /pay");
        call.kind = SpanKind::Client;
        call.status = StatusCode::Error;
        // An internal parent's error is its own, not the call's.
        let mut work = span(1, 4, 1, 10, 90, "work");
        work.status = StatusCode::Error;
        store.ingest(batch(
            "web",
            vec![span(1, 1, 0, 0, 100, "GET /"), call, work],
        ));
        store.ingest(batch(
            "pay",
            vec![span(1, 3, 2, 20, 80, "pay"), span(1, 5, 4, 20, 80, "audit")],
        ));
        let map = service_map(&store, store.traces_by_arrival());
        assert_eq!(edges(&store, &map), vec![e("web", "pay", 2, 1)]);
    }

    #[test]
    fn a_cycle_between_services() {
        // a -> b -> a (a callback), and a -> c.
        let mut store = Store::new(100);
        store.ingest(batch("a", vec![span(1, 1, 0, 0, 100, "x")]));
        store.ingest(batch("b", vec![span(1, 2, 1, 10, 90, "y")]));
        store.ingest(batch(
            "a",
            vec![
                span(1, 3, 2, 20, 30, "callback"),
                span(1, 4, 1, 90, 95, "z"),
            ],
        ));
        store.ingest(batch("c", vec![span(1, 5, 4, 91, 92, "w")]));
        let map = service_map(&store, store.traces_by_arrival());
        assert_eq!(
            edges(&store, &map),
            vec![e("a", "b", 1, 0), e("b", "a", 1, 0), e("a", "c", 1, 0)]
        );
        assert_eq!(names(&store, &map), vec!["a", "b", "c"]);
        assert_eq!(map.layers(), vec![0, 1, 1]);
    }

    #[test]
    fn a_missing_parent_makes_no_edge() {
        let mut store = Store::new(100);
        store.ingest(batch("a", vec![span(1, 1, 0, 0, 100, "x")]));
        store.ingest(batch("b", vec![span(1, 2, 99, 10, 90, "orphan")]));
        store.ingest(batch("c", vec![span(1, 3, 2, 20, 30, "under the orphan")]));
        let map = service_map(&store, store.traces_by_arrival());
        assert_eq!(names(&store, &map), vec!["a", "b", "c"]);
        assert_eq!(edges(&store, &map), vec![e("b", "c", 1, 0)]);
        assert_eq!(map.layers(), vec![0, 0, 1]);
    }

    #[test]
    fn evicted_traces_are_skipped() {
        let mut store = Store::new(2);
        store.ingest(batch(
            "a",
            vec![span(1, 1, 0, 0, 1, "x"), span(1, 2, 1, 0, 1, "y")],
        ));
        let old: Vec<TraceRef> = store.traces_by_arrival().collect();
        store.ingest(batch("a", vec![span(2, 1, 0, 0, 1, "x")]));
        let map = service_map(&store, old);
        assert_eq!(map.traces, 0);
        assert!(map.nodes.is_empty());
        assert!(map.layers().is_empty());
    }

    #[test]
    fn samples_and_trace_lists_are_capped() {
        let mut store = Store::new(10_000);
        for t in 1..=5u128 {
            store.ingest(batch("web", vec![span(t, 1, 0, 0, 1000, "GET")]));
            let calls = (2..=21u64).map(|i| span(t, i, 1, 0, i, "q")).collect();
            store.ingest(batch("db", calls));
        }
        let limits = ServiceMapLimits {
            samples_per_edge: 10,
            traces_per_edge: 2,
        };
        let mut b = ServiceMapBuilder::new(limits);
        let refs: Vec<TraceRef> = store.traces_by_arrival().collect();
        for &r in &refs {
            b.add(r, store.trace(r).unwrap(), |s| {
                store.resource(s.resource).service
            });
        }
        let map = b.finish();
        let edge = &map.edges[0];
        assert_eq!(edge.calls, 100);
        assert_eq!(edge.samples.len(), 10);
        assert!(edge.is_sampled());
        assert!(edge.samples.windows(2).all(|w| w[0] <= w[1]));
        assert!(edge.samples.iter().all(|d| (2..=21).contains(d)));
        assert_eq!(edge.traces, refs[..2]);
        assert_eq!(edge.traces_left_out, 3);
    }

    fn graph(n: usize, edges: &[(u32, u32)]) -> ServiceMap {
        ServiceMap {
            nodes: (0..n as u32)
                .map(|i| ServiceNode {
                    service: Sym(i),
                    spans: 1,
                    errors: 0,
                })
                .collect(),
            edges: edges
                .iter()
                .map(|&(from, to)| Edge {
                    from,
                    to,
                    calls: 1,
                    errors: 0,
                    samples: Vec::new(),
                    traces: Vec::new(),
                    traces_left_out: 0,
                    last_trace: 0,
                })
                .collect(),
            traces: 1,
        }
    }

    #[test]
    fn layers_are_longest_paths_with_cycles_broken() {
        // 0 -> 1 -> 2 -> 3, 0 -> 2 (shortcut), 3 -> 1 (cycle), 4 alone, 5 -> 6 -> 5 (no source).
        let map = graph(7, &[(0, 1), (1, 2), (2, 3), (0, 2), (3, 1), (5, 6), (6, 5)]);
        assert_eq!(map.layers(), vec![0, 1, 2, 3, 0, 0, 1]);
        assert_eq!(map.edges[0].percentile(0.5), 0, "no samples");
        // A long chain, for the iterative search.
        let chain: Vec<(u32, u32)> = (0..19_999).map(|i| (i, i + 1)).collect();
        let layers = graph(20_000, &chain).layers();
        assert_eq!(layers[19_999], 19_999);
    }
}
