//! Headless mode: receivers without a UI; on exit, the text report (`crate::report`) of
//! everything stored.
//!
//! The run fails (an error, so a non-zero exit) when a background thread failed: loading that
//! panicked, or the store or a writer that stopped, never an empty report that looks like
//! success. A reader that goes away before the report is written (`viewer --headless … | head`)
//! ends the run quietly.

use std::io::Write as _;

use anyhow::{Context as _, bail};

use crate::config::Config;
use crate::server::{StartError, Viewer};

/// Runs until SIGINT, SIGTERM or `--exit-after`, then prints the report to stdout.
///
/// # Errors
/// Start-up fails ([`StartError`]), `--jaeger` cannot be read, a background thread failed, or
/// stdout cannot be written (other than its reader having gone).
pub async fn run(config: Config) -> anyhow::Result<()> {
    let exit_after = config.exit_after;
    let filter = config.filter.clone();
    // Reading a Jaeger backend, headless: print what it holds and exit, as with files alone.
    let no_listen = config.no_listen || config.jaeger.is_some();
    let mut config = config;
    config.no_listen = no_listen;
    // A bad record's text names a file and quotes it: escaped (as `FileError` shows it), again.
    let mut viewer = Viewer::start_with(config, |bad| {
        eprintln!("viewer: {}", crate::format::safe(bad));
    })
    .await?;
    let failures = viewer.failures();
    if no_listen {
        // Only files: print what they hold once they are loaded.
        viewer.wait_loaded().await;
        let failed = viewer.load_progress().jaeger_error.lock().take();
        if let Some(e) = failed {
            drop(viewer.stop().await);
            return Err(StartError::Jaeger(e).into());
        }
    } else {
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
    }
    // A second Ctrl-C stops waiting for --forward to send what is left.
    let (store, counters) = viewer.stop_or(crate::signals::terminate()).await;
    if let Some(first) = failures.lock().first() {
        bail!("{first}; no report, as it would be incomplete");
    }
    let report = crate::report::render_filtered(&store.lock(), &counters, filter.as_deref());
    print(&report)
}

/// Writes `text` to stdout; a closed stdout (its reader gone, as `| head` does) is not an error:
/// there is no one left to tell.
fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write the report to stdout"),
    }
}
