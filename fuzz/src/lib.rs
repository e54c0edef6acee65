//! The decode-and-ingest path shared by the fuzz targets: a decoded OTLP trace request is
//! converted at the boundary, ingested twice (the second time every span is a duplicate) into a
//! small store so eviction and the per-trace cap happen, and every trace's tree and the headless report are built.
//! Beyond "no panic" (overflow checks are on), the store's bookkeeping is checked.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use viewer::ingest::Counters;
use viewer::receiver::Limits;
use viewer::store::Store;
use viewer::store::tree::Tree;

/// Small enough that a fuzzed request overflows it and eviction runs.
const MAX_SPANS: usize = 64;
/// Smaller still, so a trace fills up and later spans are dropped and counted.
const MAX_TRACE_SPANS: usize = 48;

pub fn ingest_and_render(req: ExportTraceServiceRequest) {
    let limits = Limits::default();
    let mut store = Store::new(MAX_SPANS).with_max_trace_spans(MAX_TRACE_SPANS);
    let (batch, _problem) = viewer::receiver::convert::trace_request(req.clone(), &limits);
    store.ingest(batch);
    let (batch, _problem) = viewer::receiver::convert::trace_request(req, &limits);
    store.ingest(batch);

    let st = store.stats().traces;
    assert!(st.spans as usize <= MAX_SPANS, "over the cap: {st:?}");
    assert_eq!(
        st.received,
        st.spans + st.rejected + st.evicted + st.duplicates + st.trace_full,
        "counts do not add up: {st:?}"
    );
    let mut held = 0;
    for r in store.traces_by_arrival() {
        let trace = store.trace(r).expect("live trace reference resolves");
        let tree = Tree::build(trace.spans());
        assert_eq!(
            tree.rows.len(),
            trace.span_count(),
            "every span once in the tree"
        );
        for (i, row) in tree.rows.iter().enumerate() {
            assert!(row.parent_row == u32::MAX || (row.parent_row as usize) < i);
            assert!(
                (row.subtree_end as usize) > i && (row.subtree_end as usize) <= tree.rows.len()
            );
        }
        held += trace.span_count() as u64;
    }
    assert_eq!(held, st.spans);
    let report = viewer::report::render(&store, &Counters::default());
    assert!(!report.contains('\x1b'), "raw escape in the report");
}
