//! Ingest throughput, in process: protobuf decode alone (the ceiling any OTLP receiver has),
//! decode plus our conversion, store ingest alone, and all three together; then the direct
//! decoder the receivers use (`receiver::decode`, bytes straight to our model), alone and with
//! the store. The requests are the ones `loadgen` sends (its template module is included here as
//! is).
//!
//! `cargo bench -p viewer --bench ingest`

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;
use viewer::receiver::convert::{self, Limits};
use viewer::receiver::decode;
use viewer::store::Store;

/// The allocator the viewer binary uses (see `src/main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../../demo-client/src/loadgen/template.rs"]
#[allow(dead_code)]
mod template;

use template::{Shape, Template};

const T0: u64 = 1_700_000_000_000_000_000;

/// The span shapes of the published figures: small (2 attributes), typical (14), and typical
/// with values that differ from span to span (`loadgen --varied`).
fn shapes() -> [(&'static str, Shape); 3] {
    [
        ("small", Shape::for_batch(9, 2, 512)),
        ("typical", Shape::for_batch(9, 14, 512)),
        (
            "varied",
            Shape {
                varied: true,
                ..Shape::for_batch(9, 14, 512)
            },
        ),
    ]
}

/// `n` encoded requests with distinct trace ids.
fn requests(shape: Shape, n: usize) -> Vec<Vec<u8>> {
    let t = Template::new(shape, T0);
    (0..n)
        .map(|i| {
            let mut out = Vec::new();
            t.render(
                (1u128 << 64) + (i * shape.traces_per_request) as u128,
                &mut out,
            );
            out
        })
        .collect()
}

fn ingest(c: &mut Criterion) {
    let limits = Limits::default();
    for (label, shape) in shapes() {
        let reqs = requests(shape, 4096);
        let spans = shape.spans_per_request() as u64;
        let mut g = c.benchmark_group(format!("ingest/{label}"));
        g.throughput(Throughput::Elements(spans));
        let mut i = 0;
        g.bench_function("decode", |b| {
            b.iter(|| {
                i = (i + 1) % reqs.len();
                black_box(ExportTraceServiceRequest::decode(reqs[i].as_slice()).unwrap())
            });
        });
        g.bench_function("decode+convert", |b| {
            b.iter(|| {
                i = (i + 1) % reqs.len();
                let req = ExportTraceServiceRequest::decode(reqs[i].as_slice()).unwrap();
                black_box(convert::trace_request(req, &limits))
            });
        });
        // Stores hold up to 1,000,000 spans and evict beyond, as the viewer does by default.
        let mut store = Store::new(1_000_000);
        g.bench_function("store", |b| {
            b.iter_batched(
                || {
                    i = (i + 1) % reqs.len();
                    let req = ExportTraceServiceRequest::decode(reqs[i].as_slice()).unwrap();
                    convert::trace_request(req, &limits).0
                },
                |batch| store.ingest(batch),
                BatchSize::SmallInput,
            );
        });
        let mut store = Store::new(1_000_000);
        g.bench_function("decode+convert+store", |b| {
            b.iter(|| {
                i = (i + 1) % reqs.len();
                let req = ExportTraceServiceRequest::decode(reqs[i].as_slice()).unwrap();
                store.ingest(convert::trace_request(req, &limits).0);
            });
        });
        g.bench_function("direct", |b| {
            b.iter(|| {
                i = (i + 1) % reqs.len();
                black_box(decode::trace_request(reqs[i].as_slice(), &limits).unwrap())
            });
        });
        let mut store = Store::new(1_000_000);
        g.bench_function("direct+store", |b| {
            b.iter(|| {
                i = (i + 1) % reqs.len();
                store.ingest(
                    decode::trace_request(reqs[i].as_slice(), &limits)
                        .unwrap()
                        .0,
                );
            });
        });
        g.finish();
    }
}

criterion_group!(benches, ingest);
criterion_main!(benches);
