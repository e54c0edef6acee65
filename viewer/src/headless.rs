//! Headless mode: receivers without a UI; on exit, the text report (`crate::report`) of
//! everything stored.

use crate::config::Config;
use crate::server::{StartError, Viewer};

/// Runs until SIGINT, SIGTERM or `--exit-after`, then prints the report to stdout.
pub async fn run(config: Config) -> Result<(), StartError> {
    let exit_after = config.exit_after;
    let filter = config.filter.clone();
    let viewer = Viewer::start(config).await?;
    eprintln!(
        "viewer: receiving OTLP on grpc://{} and http://{} (headless; Ctrl-C prints what was received)",
        viewer.grpc_addr(),
        viewer.http_addr()
    );
    let timer = async {
        match exit_after {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = timer => {}
        () = crate::signals::terminate() => {}
    }
    let (store, counters) = viewer.stop().await;
    let report = crate::report::render_filtered(&store.lock(), &counters, filter.as_deref());
    print!("{report}");
    Ok(())
}
