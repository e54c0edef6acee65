//! The load generator against an in-process viewer: what it counts as accepted is exactly what
//! the viewer stored.

use clap::Parser as _;
use demo_client::loadgen::{self, LoadOptions};
use viewer::{Config, Viewer};

async fn run_against(viewer: &Viewer, extra: &[&str]) -> loadgen::Summary {
    let mut args = vec!["loadgen".to_owned()];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let mut opts = LoadOptions::parse_from(args);
    opts.endpoint = Some(match opts.protocol {
        loadgen::Protocol::Grpc => format!("http://{}", viewer.grpc_addr()),
        loadgen::Protocol::Http => format!("http://{}", viewer.http_addr()),
    });
    loadgen::run(&opts, std::future::pending()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_stores_exactly_the_accepted_spans() {
    let viewer = Viewer::start(Config::for_tests()).await.unwrap();
    let grpc = run_against(
        &viewer,
        &[
            "--traces",
            "301",
            "--child-spans",
            "4",
            "--attributes",
            "14",
            "--batch-size",
            "100",
            "--workers",
            "3",
        ],
    )
    .await;
    assert_eq!(grpc.sent, 301 * 5);
    assert_eq!(
        (grpc.refused, grpc.rejected, grpc.failed),
        (0, 0, 0),
        "{grpc}"
    );
    let http = run_against(
        &viewer,
        &[
            "--protocol",
            "http",
            "--gzip",
            "--traces",
            "50",
            "--attributes",
            "2",
            "--batch-size",
            "7",
            "--workers",
            "2",
        ],
    )
    .await;
    assert_eq!(http.sent, 50);
    let gzip_grpc = run_against(
        &viewer,
        &["--gzip", "--duration", "200ms", "--rate", "2000"],
    )
    .await;
    assert!(gzip_grpc.sent > 0);
    viewer.flush().await;
    let stats = viewer.totals().store.traces;
    let accepted = grpc.accepted + http.accepted + gzip_grpc.accepted;
    assert_eq!(stats.spans + stats.evicted, accepted);
    assert_eq!(stats.duplicates, 0, "trace ids are fresh for every trace");
    assert_eq!(stats.traces, 301 + 50 + gzip_grpc.sent);
    viewer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_stores_exactly_the_accepted_log_records() {
    let viewer = Viewer::start(Config::for_tests()).await.unwrap();
    let grpc = run_against(
        &viewer,
        &[
            "--signal",
            "logs",
            "--traces",
            "101",
            "--child-spans",
            "4",
            "--batch-size",
            "50",
            "--workers",
            "2",
        ],
    )
    .await;
    assert_eq!(grpc.sent, 101 * 5);
    assert_eq!(
        (grpc.refused, grpc.rejected, grpc.failed),
        (0, 0, 0),
        "{grpc}"
    );
    assert!(
        grpc.to_string().starts_with("sent 505 log records"),
        "{grpc}"
    );
    let http = run_against(
        &viewer,
        &[
            "--signal",
            "logs",
            "--protocol",
            "http",
            "--gzip",
            "--traces",
            "20",
            "--attributes",
            "6",
        ],
    )
    .await;
    assert_eq!((http.sent, http.accepted), (20, 20), "{http}");
    viewer.flush().await;
    let logs = viewer.totals().store.logs;
    assert_eq!(logs.records + logs.evicted, grpc.accepted + http.accepted);
    assert_eq!(logs.rejected, 0);
    viewer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_stores_exactly_the_accepted_metric_points() {
    let viewer = Viewer::start(Config::for_tests()).await.unwrap();
    let grpc = run_against(
        &viewer,
        &[
            "--signal",
            "metrics",
            "--requests",
            "9",
            "--metrics",
            "6",
            "--series",
            "10",
            "--workers",
            "3",
        ],
    )
    .await;
    assert_eq!(grpc.sent, 9 * 60);
    assert_eq!(
        (grpc.refused, grpc.rejected, grpc.failed),
        (0, 0, 0),
        "{grpc}"
    );
    let http = run_against(
        &viewer,
        &[
            "--signal",
            "metrics",
            "--protocol",
            "http",
            "--requests",
            "2",
            "--metrics",
            "3",
            "--series",
            "4",
        ],
    )
    .await;
    assert_eq!((http.sent, http.accepted), (24, 24), "{http}");
    viewer.flush().await;
    let m = viewer.totals().store.metrics;
    // Each worker is its own service instance, so its series are its own and its points
    // arrive in time order: every point is stored, none is out of order.
    assert_eq!(m.points + m.evicted, grpc.accepted + http.accepted, "{m:?}");
    assert_eq!((m.out_of_order, m.series_dropped, m.rejected), (0, 0, 0));
    assert_eq!(m.metrics, 6);
    // Up to 3 gRPC workers' series (a worker may have sent nothing) and the HTTP run's 12.
    assert!(m.series > 12 && m.series <= 3 * 60 + 12, "{m:?}");
    viewer.shutdown().await;
}
