//! The donut shop page in a real headless browser: Debian's Chromium driven by Playwright
//! (`tests/browser/donuts.mjs`). Picks donuts, orders, and waits for the status to read `ready`.
//!
//! Needs `/usr/bin/chromium` and `tests/browser/node_modules` (run `tests/browser/setup.sh`).
//! Without them the test says why and passes, except under `CI=true`, where it fails.

use std::path::{Path, PathBuf};
use std::time::Duration;

use demo_api::kitchen::{DonutStatus, DonutView, Flavor};
use demo_api::telemetry::TelemetryConfig;
use demo_api::{Options, Service};

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Why the browser test cannot run here, if it cannot.
fn missing() -> Option<String> {
    if !chromium().exists() {
        return Some(format!("{} not found", chromium().display()));
    }
    if !browser_dir().join("node_modules/playwright-core").is_dir() {
        return Some("playwright-core not installed in demo-api/tests/browser".into());
    }
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        return Some("node not found".into());
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn donut_page_orders_and_shows_ready_in_chromium() {
    if let Some(why) = missing() {
        let hint = "run demo-api/tests/browser/setup.sh";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "browser test cannot run under CI: {why}; {hint}"
        );
        eprintln!("skipping the browser test: {why} ({hint})");
        return;
    }

    let mut options = Options::for_tests();
    options.only = vec![Service::DonutShop, Service::Kitchen];
    let services = demo_api::start(&options, &TelemetryConfig::disabled())
        .await
        .unwrap();
    let shop = services.url(Service::DonutShop).unwrap();
    let kitchen = services.url(Service::Kitchen).unwrap();
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");

    let run = tokio::process::Command::new("node")
        .arg(browser_dir().join("donuts.mjs"))
        .arg(&shop)
        .arg(&shots)
        .env("CHROMIUM", chromium())
        .current_dir(browser_dir())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the browser run took over 2 minutes")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "browser run failed\nstdout: {stdout}\nstderr: {stderr}"
    );
    let seen: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("no JSON from the browser run ({e}): {stdout}"));
    eprintln!("browser saw: {seen:#}");
    eprintln!("screenshots: {}", shots.display());

    assert_eq!(seen["heading"], "Donuts as a Service");
    let flavors: Vec<&str> = seen["flavors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let menu: Vec<&str> = Flavor::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(flavors, menu);
    assert_eq!(seen["orderDisabledWhenEmpty"], true);
    assert_eq!(seen["cart"], serde_json::json!(["glazed: 2", "jelly: 1"]));
    assert!(
        seen["firstWait"]
            .as_str()
            .unwrap()
            .starts_with("Wait time: ")
    );
    assert_eq!(seen["final"], "ready");
    assert_eq!(seen["finalWait"], "Wait time: 0 seconds");
    let states = seen["states"].as_array().unwrap();
    assert!(
        states.len() >= 2,
        "the status changed while polled: {states:?}"
    );
    assert_eq!(seen["message"], "", "no error shown");
    assert_eq!(seen["consoleErrors"], serde_json::json!([]));
    for url in seen["requests"].as_array().unwrap() {
        let url = url.as_str().unwrap();
        assert!(
            url.starts_with(&shop) || url.starts_with("data:"),
            "the page fetched {url} from elsewhere"
        );
    }
    for shot in ["donut-shop-cart.png", "donut-shop-ready.png"] {
        let size = std::fs::metadata(shots.join(shot)).unwrap().len();
        assert!(size > 10_000, "{shot} is {size} bytes");
    }

    // The kitchen really fried what the page ordered.
    let donuts: Vec<DonutView> = reqwest::get(format!("{kitchen}/kitchen/get_donuts"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut fried: Vec<Flavor> = donuts.iter().map(|d| d.flavor).collect();
    fried.sort_by_key(|f| f.name());
    assert_eq!(fried, [Flavor::Glazed, Flavor::Glazed, Flavor::Jelly]);
    assert!(donuts.iter().all(|d| d.status == DonutStatus::Ready));
    services.shutdown().await;
}
