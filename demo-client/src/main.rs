//! `demo-client`: drives traffic through the demo services until Ctrl-C, or for `--count` rounds.

use std::process::ExitCode;

use clap::Parser as _;
use demo_api::telemetry::{Telemetry, TelemetryConfig};
use demo_client::Options;

#[tokio::main]
async fn main() -> ExitCode {
    let options = Options::parse();
    let mut config = match TelemetryConfig::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("demo-client: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(endpoint) = &options.otlp_endpoint {
        config = config.with_endpoint(endpoint.clone());
    }
    let telemetry = match Telemetry::new(&config, &config.service_name("demo-client", true)) {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("demo-client: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "driving {} and {} ({}); {}",
        options.jokes_client_url,
        options.donut_shop_url,
        options
            .count
            .map_or_else(|| "until Ctrl-C".to_owned(), |n| format!("{n} rounds")),
        config.describe()
    );
    let summary = demo_client::run(
        &options,
        &telemetry,
        demo_api::shutdown_signal(),
        |outcome| {
            println!("{outcome}");
        },
    )
    .await;
    println!("{summary}");
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    if summary.unanswered > 0 {
        eprintln!(
            "demo-client: {} requests got no answer; start the services with `cargo run -p demo-api`",
            summary.unanswered
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
