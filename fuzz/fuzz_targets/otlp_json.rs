//! OTLP/JSON bytes → `ExportTraceServiceRequest` → convert → store → trees → report.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = serde_json::from_slice::<ExportTraceServiceRequest>(data) {
        viewer_fuzz::ingest_and_render(req);
    }
});
