//! `loadgen`: sends OTLP trace load and prints what the receiver accepted.

use std::process::ExitCode;

use clap::Parser as _;
use demo_client::loadgen::{self, LoadOptions};

#[tokio::main]
async fn main() -> ExitCode {
    let opts = LoadOptions::parse();
    let shape = opts.shape();
    eprintln!(
        "loadgen: {} worker(s), {} spans per request ({} traces of {} spans, {} attributes each)",
        opts.workers,
        shape.spans_per_request(),
        shape.traces_per_request,
        shape.spans_per_trace(),
        shape.attributes
    );
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match loadgen::run(&opts, stop).await {
        Ok(summary) => {
            println!("{summary}");
            if summary.failed > 0 {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("loadgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}
