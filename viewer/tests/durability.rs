//! The data directory's promise (`--data-dir`: an acknowledged request has been written) under
//! a full disk, a 400 KB tmpfs mounted by the test: requests are refused as retryable while the
//! disk is full, accepted again once there is room, and a viewer restarted on the directory
//! loads every request that was acknowledged, whole; a refused request is neither stored nor
//! forwarded (its sender will send it again).

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use prost::Message as _;
use viewer::Viewer;

/// Spans per request, and the bytes of each span's attribute: a request of about 10 KB.
const SPANS: u64 = 5;
const PAD: usize = 2000;

/// What one request got: acknowledged (200) or refused as retryable (503).
async fn post(client: &reqwest::Client, url: &str, n: u64) -> bool {
    let res = client
        .post(url)
        .header("content-type", "application/x-protobuf")
        .body(support::trace_request(n, SPANS, PAD).encode_to_vec())
        .send()
        .await
        .unwrap();
    match res.status().as_u16() {
        200 => true,
        503 => false,
        other => panic!("request {n}: status {other}: {:?}", res.text().await),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_full_disk_every_acknowledged_request_loads_back() {
    let Some(disk) = support::Tmpfs::mount("full", "400k") else {
        return;
    };
    let data = disk.path().join("data");
    let data_s = data.to_str().unwrap();
    // Most of the disk taken by a file the test frees later.
    let filler = disk.path().join("filler");
    std::fs::write(&filler, vec![0u8; 300 * 1024]).unwrap();

    let upstream = Viewer::start(support::config(&[])).await.unwrap();
    let forward = format!("grpc://{}", upstream.grpc_addr());
    let viewer = Viewer::start(support::config(&[
        "--data-dir",
        data_s,
        "--forward",
        &forward,
    ]))
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let url = format!("http://{}/v1/traces", viewer.http_addr());
    let (mut acked, mut refused) = (Vec::new(), Vec::new());
    let mut n = 0;
    // Until the disk is full, and a few refusals more.
    while refused.len() < 5 {
        assert!(n < 200, "never refused: is the disk full?");
        if post(&client, &url, n).await {
            acked.push(n);
        } else {
            refused.push(n);
        }
        n += 1;
    }
    let before_freeing = acked.len();
    std::fs::remove_file(&filler).unwrap();
    for _ in 0..10 {
        assert!(
            post(&client, &url, n).await,
            "request {n} refused with room"
        );
        acked.push(n);
        n += 1;
    }
    // Only what was acknowledged is stored, and forwarded.
    let spans = acked.len() as u64 * SPANS;
    viewer.flush().await;
    assert_eq!(viewer.totals().store.traces.spans, spans, "stored");
    let sent = std::sync::Arc::clone(&viewer.counters().forward);
    for _ in 0..1000 {
        if sent.pending.load(Ordering::Relaxed) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(sent.pending.load(Ordering::Relaxed), 0, "forwarding ended");
    assert_eq!(
        sent.requests.load(Ordering::Relaxed),
        acked.len() as u64,
        "forwarded"
    );
    upstream.flush().await;
    assert_eq!(upstream.totals().store.traces.spans, spans, "upstream");
    upstream.shutdown().await;
    viewer.stop().await;
    eprintln!(
        "full disk: {before_freeing} acknowledged, then {} refused, then {} acknowledged once freed",
        refused.len(),
        acked.len() - before_freeing
    );

    let (report, stderr) = support::loaded(&["--data-dir", data_s]);
    let missing: Vec<u64> = acked
        .iter()
        .copied()
        .filter(|n| {
            let header = format!("trace {} {SPANS} spans", support::trace_hex(*n));
            !report.contains(&header)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged requests did not load back ({missing:?}): {stderr}",
        missing.len(),
        acked.len()
    );
    assert!(
        report.contains(&format!("totals: {spans} spans received, {spans} stored")),
        "{report}"
    );
    assert!(stderr.is_empty(), "every record loads whole: {stderr}");
}
