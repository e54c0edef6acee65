//! Ingest throughput, in process: protobuf decode alone (the ceiling any OTLP receiver has),
//! decode plus our conversion, store ingest alone, and all three together; then the direct
//! decoder the receivers use (`receiver::decode`, bytes straight to our model), alone and with
//! the store. The requests are the ones `loadgen` sends (its template modules are included here
//! as they are). Then the same for log records (`loadgen --signal logs`: also their direct
//! decoder, `decode::log_request`, alone and with the store) and metric points
//! (`loadgen --signal metrics`, which go through prost and `convert` only): decode alone (the
//! ceiling), decode + convert, store alone, all three.
//!
//! `cargo bench -p viewer --bench ingest`

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
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

#[path = "../../demo-client/src/loadgen/logs.rs"]
#[allow(dead_code)]
mod logs;

#[path = "../../demo-client/src/loadgen/metrics.rs"]
#[allow(dead_code)]
mod metrics;

use logs::LogTemplate;
use metrics::{MetricShape, MetricTemplate};
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
        // What the receivers do first: estimate what decoding will take (the memory budget).
        g.bench_function("estimate", |b| {
            b.iter(|| {
                i = (i + 1) % reqs.len();
                black_box(viewer::receiver::estimate::protobuf(
                    viewer::ingest::Signal::Traces,
                    reqs[i].as_slice(),
                ))
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

/// Log records as `bench/compare.sh logs` sends them: 5 per trace, 5 attributes, 510 a request.
fn ingest_logs(c: &mut Criterion) {
    let limits = Limits::default();
    let shape = Shape::for_batch(4, 5, 512);
    let t = LogTemplate::new(shape, T0);
    let reqs: Vec<Vec<u8>> = (0..4096)
        .map(|i| {
            let mut out = Vec::new();
            t.render(
                (1u128 << 64) + (i * shape.traces_per_request) as u128,
                &mut out,
            );
            out
        })
        .collect();
    let mut g = c.benchmark_group("ingest_logs");
    g.throughput(Throughput::Elements(shape.spans_per_request() as u64));
    let mut i = 0;
    g.bench_function("decode", |b| {
        b.iter(|| {
            i = (i + 1) % reqs.len();
            black_box(ExportLogsServiceRequest::decode(reqs[i].as_slice()).unwrap())
        });
    });
    g.bench_function("decode+convert", |b| {
        b.iter(|| {
            i = (i + 1) % reqs.len();
            let req = ExportLogsServiceRequest::decode(reqs[i].as_slice()).unwrap();
            black_box(convert::log_request(req, &limits))
        });
    });
    // The viewer's default cap: 1,000,000 records, the oldest evicted beyond.
    let mut store = Store::new(1_000_000);
    g.bench_function("store", |b| {
        b.iter_batched(
            || {
                i = (i + 1) % reqs.len();
                let req = ExportLogsServiceRequest::decode(reqs[i].as_slice()).unwrap();
                convert::log_request(req, &limits).0
            },
            |batch| store.ingest_logs(batch),
            BatchSize::SmallInput,
        );
    });
    let mut store = Store::new(1_000_000);
    g.bench_function("decode+convert+store", |b| {
        b.iter(|| {
            i = (i + 1) % reqs.len();
            let req = ExportLogsServiceRequest::decode(reqs[i].as_slice()).unwrap();
            store.ingest_logs(convert::log_request(req, &limits).0);
        });
    });
    g.bench_function("direct", |b| {
        b.iter(|| {
            i = (i + 1) % reqs.len();
            black_box(decode::log_request(reqs[i].as_slice(), &limits).unwrap())
        });
    });
    let mut store = Store::new(1_000_000);
    g.bench_function("direct+store", |b| {
        b.iter(|| {
            i = (i + 1) % reqs.len();
            store.ingest_logs(decode::log_request(reqs[i].as_slice(), &limits).unwrap().0);
        });
    });
    g.finish();
}

/// Metric points as `bench/compare.sh metrics` sends them: 16 metrics (a third each counters,
/// gauges, histograms) of 32 series, 512 points a request, each request a second later.
fn ingest_metrics(c: &mut Criterion) {
    let limits = Limits::default();
    let shape = MetricShape {
        metrics: 16,
        series: 32,
    };
    let t = MetricTemplate::new(shape, T0, "loadgen-0");
    let mut time = T0;
    let mut next = move || {
        time += 1_000_000_000;
        let mut out = Vec::new();
        t.render(time, &mut out);
        out
    };
    let one = next();
    let mut g = c.benchmark_group("ingest_metrics");
    g.throughput(Throughput::Elements(shape.points_per_request() as u64));
    g.bench_function("decode", |b| {
        b.iter(|| black_box(ExportMetricsServiceRequest::decode(one.as_slice()).unwrap()));
    });
    g.bench_function("decode+convert", |b| {
        b.iter(|| {
            let req = ExportMetricsServiceRequest::decode(one.as_slice()).unwrap();
            black_box(convert::metric_request(req, &limits))
        });
    });
    // Points arrive in time order (a request rendered per iteration, untimed); each series
    // keeps the viewer's default 1,000 points, the oldest evicted beyond.
    let mut store = Store::new(1_000_000);
    g.bench_function("store", |b| {
        b.iter_batched(
            || {
                let req = ExportMetricsServiceRequest::decode(next().as_slice()).unwrap();
                convert::metric_request(req, &limits).0
            },
            |batch| store.ingest_metrics(batch),
            BatchSize::SmallInput,
        );
    });
    let mut store = Store::new(1_000_000);
    g.bench_function("decode+convert+store", |b| {
        b.iter_batched(
            &mut next,
            |bytes| {
                let req = ExportMetricsServiceRequest::decode(bytes.as_slice()).unwrap();
                store.ingest_metrics(convert::metric_request(req, &limits).0);
            },
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

criterion_group!(benches, ingest, ingest_logs, ingest_metrics);
criterion_main!(benches);
