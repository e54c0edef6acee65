//! OTLP/protobuf bytes → the direct decoder (`receiver::decode`), checked against prost's decode
//! plus convert: whenever both accept the bytes, they must build the same batch. Then the usual
//! ingest → trees → report.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use viewer::receiver::Limits;

fuzz_target!(|data: &[u8]| {
    // Small limits too, so truncation and the count limits are exercised.
    for limits in [
        Limits::default(),
        Limits {
            max_attr_value_len: 5,
            max_attrs: 2,
            max_events: 1,
        },
    ] {
        let direct = viewer::receiver::decode::trace_request(data, &limits);
        if let (Ok(direct), Ok(req)) = (&direct, ExportTraceServiceRequest::decode(data)) {
            let via_prost = viewer::receiver::convert::trace_request(req, &limits);
            // Batches keep their strings in one buffer, laid out differently by the two paths:
            // compared as owned data.
            let owned = |(b, problem): &(viewer::model::Batch, String)| {
                format!("{:?}", (b.to_owned(), b.rejected, problem))
            };
            assert_eq!(owned(direct), owned(&via_prost));
        }
    }
    if let Ok(req) = ExportTraceServiceRequest::decode(data) {
        viewer_fuzz::ingest_and_render(req);
    }
});
