use std::process::ExitCode;

use clap::Parser;
use viewer::{Config, headless, tui};

/// Ingest makes and frees many small objects from several threads; glibc's allocator spent
/// half of the store's ingest time in `malloc` and its consolidation (docs/BENCHMARKS.md).
/// Built with `no_thp`: with transparent huge pages, 40% of end-to-end ingest CPU went to the
/// kernel zeroing 2 MiB pages on first touch; without them it is 20-25% less CPU per span.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let config = Config::parse();
    viewer::format::use_local_time(!config.utc);
    if let Some(filter) = &config.filter
        && let Err(e) = viewer::report::check_filter(filter)
    {
        eprintln!("viewer: --filter {filter:?}: {e}");
        return ExitCode::from(2);
    }
    if let Some(url) = &config.forward
        && !config.no_listen
        && let Some(own) =
            viewer::record::forward::points_at(url, &[config.grpc_addr, config.http_addr])
    {
        eprintln!(
            "viewer: --forward {:?} is this viewer's own receiver ({own}): every request would come back for ever; forward to another port or host",
            viewer::format::redact_url(url)
        );
        return ExitCode::from(2);
    }
    for (what, addr) in [
        ("OTLP/gRPC", config.grpc_addr),
        ("OTLP/HTTP", config.http_addr),
    ] {
        if !addr.ip().is_loopback() {
            eprintln!(
                "viewer: warning: {what} listens on {addr}, reachable from beyond this machine"
            );
        }
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("viewer: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        if config.headless {
            headless::run(config).await
        } else {
            tui::run(config).await
        }
    });
    // Do not wait for stray connections' tasks.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors can carry text from outside (a Jaeger's answer, a file's name): escaped.
            eprintln!("viewer: {}", viewer::format::safe(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}
