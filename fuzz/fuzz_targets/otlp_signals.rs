//! OTLP logs and metrics: the first byte picks the signal and the encoding, the rest is an
//! `ExportLogsServiceRequest` or `ExportMetricsServiceRequest` (protobuf or JSON) → convert →
//! store (twice, with a compaction between) → indexes and report checked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(req) = ExportLogsServiceRequest::decode(rest) {
                viewer_fuzz::ingest_logs(req);
            }
        }
        1 => {
            if let Ok(req) = ExportMetricsServiceRequest::decode(rest) {
                viewer_fuzz::ingest_metrics(req);
            }
        }
        2 => {
            if let Ok(req) = serde_json::from_slice::<ExportLogsServiceRequest>(rest) {
                viewer_fuzz::ingest_logs(req);
            }
        }
        _ => {
            if let Ok(req) = serde_json::from_slice::<ExportMetricsServiceRequest>(rest) {
                viewer_fuzz::ingest_metrics(req);
            }
        }
    }
});
