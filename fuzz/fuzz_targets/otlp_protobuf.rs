//! OTLP/protobuf bytes → `ExportTraceServiceRequest` → convert → store → trees → report.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = ExportTraceServiceRequest::decode(data) {
        viewer_fuzz::ingest_and_render(req);
    }
});
