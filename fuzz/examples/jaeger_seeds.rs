//! Writes the seed corpus of the `jaeger_answers` target (`viewer_fuzz::jaeger_seeds`): valid
//! api_v3 answers of each kind behind the selector byte the target reads.
//!
//! Run from fuzz/: cargo run --example jaeger_seeds

fn main() {
    let dir = std::path::Path::new("corpus/jaeger_answers");
    std::fs::create_dir_all(dir).unwrap();
    for (i, seed) in viewer_fuzz::jaeger_seeds().iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i}")), seed).unwrap();
    }
}
