//! A Jaeger api_v3 answer (HTTP JSON or a gRPC `TracesData` stream, services or traces) →
//! the `--jaeger` client's decoders → store → report (`fuzz/src/jaeger.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| viewer_fuzz::jaeger_answer(data));
