//! The driver against the real services on free ports.

use demo_api::telemetry::{Telemetry, TelemetryConfig};
use demo_api::{Options as ServiceOptions, Service};
use demo_client::{Options, Outcome, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rounds_cover_every_step_and_fail_on_purpose() {
    let services = demo_api::start(&ServiceOptions::for_tests(), &TelemetryConfig::disabled())
        .await
        .unwrap();
    let options = Options {
        count: Some(2),
        jokes_client_url: services.url(Service::JokesClient).unwrap(),
        donut_shop_url: services.url(Service::DonutShop).unwrap(),
        pause_ms: 0,
        fail_every: 1,
        max_donuts: 1,
        poll_ms: 200,
        order_timeout_secs: 20,
        otlp_endpoint: None,
    };
    let mut outcomes: Vec<Outcome> = Vec::new();
    let summary = run(
        &options,
        &Telemetry::disabled("demo-client"),
        std::future::pending(),
        |o| outcomes.push(o.clone()),
    )
    .await;
    services.shutdown().await;

    assert_eq!(summary.rounds, 2);
    assert_eq!(summary.requests, outcomes.len() as u64);
    assert_eq!(summary.unanswered, 0);
    assert_eq!(summary.errors, 0, "{outcomes:#?}");
    for round in 1..=2 {
        let steps: Vec<&str> = outcomes
            .iter()
            .filter(|o| o.round == round)
            .map(|o| o.step)
            .collect();
        assert_eq!(
            &steps[..4],
            ["joke", "hello", "healthcheck", "order"],
            "{steps:?}"
        );
        assert_eq!(steps.last(), Some(&"failure"));
        let last_status = outcomes
            .iter()
            .rfind(|o| o.round == round && o.step == "status")
            .unwrap();
        assert!(last_status.detail.starts_with("ready"), "{last_status:?}");
    }
    let failures: Vec<&Outcome> = outcomes.iter().filter(|o| o.expected_failure).collect();
    assert_eq!(failures.len(), 2);
    // Two different deliberate failures, both 4xx.
    assert_ne!(failures[0].request, failures[1].request);
    assert!(failures.iter().all(|o| o.as_intended()));
}

#[tokio::test]
async fn services_down_means_unanswered_not_a_hang() {
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let options = Options {
        count: Some(1),
        jokes_client_url: dead.clone(),
        donut_shop_url: dead,
        pause_ms: 0,
        fail_every: 0,
        max_donuts: 1,
        poll_ms: 10,
        order_timeout_secs: 1,
        otlp_endpoint: None,
    };
    let summary = run(
        &options,
        &Telemetry::disabled("demo-client"),
        std::future::pending(),
        |_| {},
    )
    .await;
    assert_eq!(summary.rounds, 1);
    assert_eq!(summary.unanswered, 4, "joke, hello, healthcheck, order");
}
