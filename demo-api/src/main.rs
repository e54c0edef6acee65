//! `demo-api`: starts the demo services (all six, or those of `--only`) until Ctrl-C or SIGTERM.

use std::process::ExitCode;

use clap::Parser as _;
use demo_api::Options;
use demo_api::telemetry::TelemetryConfig;

#[tokio::main]
async fn main() -> ExitCode {
    let options = Options::parse();
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("demo-api: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> anyhow::Result<()> {
    let mut config = TelemetryConfig::from_env()?;
    if let Some(endpoint) = &options.otlp_endpoint {
        config = config.with_endpoint(endpoint.clone());
    }
    let running = demo_api::start(&options, &config).await?;
    for (service, addr) in running.services() {
        println!("{:<13} http://{addr}", service.name());
    }
    println!("{}", config.describe());
    println!("Ctrl-C to stop.");
    demo_api::shutdown_signal().await;
    println!("stopping: finishing requests and flushing telemetry...");
    running.shutdown().await;
    Ok(())
}
