//! Waiting for the signals that end the program.

/// Completes on Ctrl-C (SIGINT), SIGTERM or SIGHUP (the terminal went away). A signal that
/// cannot be listened for is reported once and never completes: it must not end the program.
pub async fn terminate() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        async fn recv(s: Option<Signal>) {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        let listen = |kind: SignalKind, name: &str| match signal(kind) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("viewer: cannot listen for {name}: {e}");
                None
            }
        };
        let term = listen(SignalKind::terminate(), "SIGTERM");
        let hup = listen(SignalKind::hangup(), "SIGHUP");
        tokio::select! {
            () = ctrl_c() => {}
            () = recv(term) => {}
            () = recv(hup) => {}
        }
    }
    #[cfg(not(unix))]
    {
        ctrl_c().await;
    }
}

/// Completes on Ctrl-C; never, if its handler cannot be installed (once that made the viewer
/// exit at once).
async fn ctrl_c() {
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("viewer: cannot listen for Ctrl-C: {e}");
        std::future::pending::<()>().await;
    }
}
