//! Headless mode: receivers without a UI; on exit, the text report (`crate::report`) of
//! everything stored.

use crate::config::Config;
use crate::server::{StartError, Viewer};

/// Runs until SIGINT, SIGTERM or `--exit-after`, then prints the report to stdout.
pub async fn run(config: Config) -> Result<(), StartError> {
    let exit_after = config.exit_after;
    let filter = config.filter.clone();
    // Reading a Jaeger backend, headless: print what it holds and exit, as with files alone.
    let no_listen = config.no_listen || config.jaeger.is_some();
    let mut config = config;
    config.no_listen = no_listen;
    let mut viewer = Viewer::start_with(config, |bad| eprintln!("viewer: {bad}")).await?;
    if no_listen {
        // Only files: print what they hold once they are loaded.
        viewer.wait_loaded().await;
        let failed = viewer.load_progress().jaeger_error.lock().take();
        if let Some(e) = failed {
            drop(viewer.stop().await);
            return Err(StartError::Jaeger(e));
        }
        let (store, counters) = viewer.stop().await;
        let report = crate::report::render_filtered(&store.lock(), &counters, filter.as_deref());
        print!("{report}");
        return Ok(());
    }
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
    viewer.wait_loaded().await;
    let (store, counters) = viewer.stop().await;
    let report = crate::report::render_filtered(&store.lock(), &counters, filter.as_deref());
    print!("{report}");
    Ok(())
}
