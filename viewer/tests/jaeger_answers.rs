//! Random and mutated Jaeger api_v3 answers through the `--jaeger` client's decoders, with the
//! `jaeger_answers` fuzz target's own harness and seeds (`fuzz/src/jaeger.rs`), so `cargo test`
//! exercises what the fuzzer does: HTTP JSON search and services answers, gRPC `TracesData`
//! streams and `GetServicesResponse`s. Checked by the harness: no panic; every error printable
//! as it is (already escaped) and short; what decodes ingested and reported without a raw ESC.

#[path = "../../fuzz/src/jaeger.rs"]
mod harness;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// One edit of a seed.
#[derive(Clone, Debug)]
enum Edit {
    /// Sets the byte at this position (modulo the length).
    Set(usize, u8),
    /// Inserts bytes at this position.
    Insert(usize, Vec<u8>),
    /// Removes up to this many bytes from this position.
    Remove(usize, usize),
    /// Cuts the answer here.
    Truncate(usize),
    /// Repeats a stretch (a chunk or a frame twice, a string doubled).
    Repeat(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (
            any::<usize>(),
            prop::collection::vec(
                prop_oneof![
                    any::<u8>(),
                    Just(b'"'),
                    Just(b'{'),
                    Just(b'}'),
                    Just(b'\\'),
                    Just(0x1b)
                ],
                1..8
            )
        )
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<usize>(), 1..16usize).prop_map(|(i, n)| Edit::Remove(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), 1..64usize).prop_map(|(i, n)| Edit::Repeat(i, n)),
    ]
}

/// The seed with the edits made, its selector byte kept.
fn mutated(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let (which, body) = seed.split_first().unwrap();
    let mut body = body.to_vec();
    for e in edits {
        let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
        match e {
            Edit::Set(i, b) if !body.is_empty() => {
                let i = at(*i, body.len());
                body[i] = *b;
            }
            Edit::Set(..) => {}
            Edit::Insert(i, bytes) => {
                let i = at(*i, body.len() + 1);
                body.splice(i..i, bytes.iter().copied());
            }
            Edit::Remove(i, n) => {
                let i = at(*i, body.len());
                let end = (i + n).min(body.len());
                body.drain(i..end);
            }
            Edit::Truncate(i) => body.truncate(at(*i, body.len() + 1)),
            Edit::Repeat(i, n) => {
                let i = at(*i, body.len());
                let end = (i + n).min(body.len());
                let stretch = body[i..end].to_vec();
                body.splice(end..end, stretch);
            }
        }
    }
    let mut out = vec![*which];
    out.extend(body);
    out
}

#[test]
fn the_seeds_decode() {
    // The seeds are valid answers: each kind decodes (the harness would pass errors too, so
    // this is checked here), and the stream's cut-short last frame is an error.
    use viewer::jaeger::answer;
    let limits = viewer::receiver::Limits::default();
    let seeds = harness::seeds();
    assert_eq!(
        answer::http_traces(&seeds[0][1..], &limits).unwrap().len(),
        2
    );
    assert!(answer::http_traces(&seeds[1][1..], &limits).is_err());
    assert!(
        answer::http_traces(&seeds[2][1..], &limits)
            .unwrap()
            .is_empty()
    );
    assert_eq!(answer::http_services(&seeds[3][1..]).unwrap().len(), 3);
    assert_eq!(
        answer::grpc_services(&seeds[5][1..]).unwrap(),
        ["shop", "billing"]
    );
    for seed in &seeds {
        harness::jaeger_answer(seed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_answers(which in 0u8..4, body in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut data = vec![which];
        data.extend(body);
        harness::jaeger_answer(&data);
    }

    #[test]
    fn mutated_answers(
        seed in prop::sample::select(harness::seeds()),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        harness::jaeger_answer(&mutated(&seed, &edits));
    }
}
