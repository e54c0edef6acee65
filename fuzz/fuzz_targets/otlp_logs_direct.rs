//! OTLP/protobuf log requests → the direct decoder (`receiver::decode::log_request`), checked
//! against prost's decode plus convert: both refuse the same bytes, and whenever they accept
//! them they build the same batch. Then the usual ingest → store → report.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
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
        let direct = viewer::receiver::decode::log_request(data, &limits);
        let via_prost = ExportLogsServiceRequest::decode(data)
            .map(|req| viewer::receiver::convert::log_request(req, &limits));
        match (&direct, &via_prost) {
            // Debug, not ==: a NaN double equals itself there.
            (Ok(direct), Ok(via_prost)) => {
                assert_eq!(format!("{direct:?}"), format!("{via_prost:?}"));
            }
            (Err(_), Err(_)) => {}
            _ => panic!(
                "direct {:?} but prost {:?}",
                direct.as_ref().map(|_| ()),
                via_prost.as_ref().map(|_| ())
            ),
        }
    }
    if let Ok(req) = ExportLogsServiceRequest::decode(data) {
        viewer_fuzz::ingest_logs(req);
    }
});
