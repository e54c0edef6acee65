//! `loadgen`: sends OTLP load (traces, logs or metrics) and prints what the receiver accepted.

use std::process::ExitCode;

use clap::Parser as _;
use demo_client::loadgen::{self, LoadOptions, Signal};

#[tokio::main]
async fn main() -> ExitCode {
    let opts = LoadOptions::parse();
    let shape = opts.shape();
    match opts.signal {
        Signal::Traces => eprintln!(
            "loadgen: {} worker(s), {} spans per request ({} traces of {} spans, {} attributes each)",
            opts.workers,
            shape.spans_per_request(),
            shape.traces_per_request,
            shape.spans_per_trace(),
            shape.attributes
        ),
        Signal::Logs => eprintln!(
            "loadgen: {} worker(s), {} log records per request ({} traces of {} records, {} attributes each)",
            opts.workers,
            shape.spans_per_request(),
            shape.traces_per_request,
            shape.spans_per_trace(),
            shape.attributes
        ),
        Signal::Metrics => {
            let m = opts.metric_shape();
            eprintln!(
                "loadgen: {} worker(s), {} metric points per request ({} metrics of {} series; {} series in all)",
                opts.workers,
                m.points_per_request(),
                m.metrics,
                m.series,
                m.points_per_request() as u64 * opts.workers
            );
        }
    }
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
