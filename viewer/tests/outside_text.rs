//! Text from outside, printed by the binary (issue 26, items 5 and 10): a Jaeger's error
//! answers (HTTP body, api_v3 error chunk, gRPC status message), a Jaeger JSON file's
//! `errors[].msg`, a file's name: escape sequences and bidirectional overrides in them never
//! reach stdout or stderr raw, and long ones are cut. A password in a `--jaeger` URL is never
//! printed.

mod support;

use std::process::Output;

use axum::http::StatusCode;
use support::upstream::{grpc_error, serve_grpc, serve_http};

/// A window title, a cleared screen, a clipboard write, then a right-to-left override; and a
/// long tail, to be cut (shorter for a gRPC status, which travels in a header).
fn hostile_of(tail: usize) -> String {
    format!(
        "\x1b]0;PWNED\x07\x1b[2J\x1b]52;c;AAAA\x07\u{202e}evil{}",
        "x".repeat(tail)
    )
}

fn hostile() -> String {
    hostile_of(20_000)
}

/// `out`'s stdout and stderr, checked to hold nothing raw of [`hostile`] and not all of it.
fn checked(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let start: String = text.chars().take(300).collect();
    for raw in ['\x1b', '\x07', '\u{202e}'] {
        assert!(
            !text.contains(raw),
            "{raw:?} reached the terminal: {start:?}…"
        );
    }
    assert!(
        text.len() < 10_000,
        "not cut: {} bytes: {start:?}…",
        text.len()
    );
    text
}

async fn viewer(args: &[&str]) -> Output {
    tokio::process::Command::new(support::BIN)
        .arg("--headless")
        .args(args)
        .output()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jaegers_error_answers_are_escaped_and_cut() {
    // An error status with the text as its body.
    let plain = serve_http(axum::Router::new().route(
        "/api/v3/services",
        axum::routing::get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, hostile()) }),
    ))
    .await;
    // A search answered with api_v3's error chunk.
    let chunk = serve_http(
        axum::Router::new()
            .route(
                "/api/v3/services",
                axum::routing::get(|| async { r#"{"services":["shop"]}"# }),
            )
            .route(
                "/api/v3/traces",
                axum::routing::get(|| async {
                    serde_json::json!({"error": {"httpCode": 500, "message": hostile()}})
                        .to_string()
                }),
            ),
    )
    .await;
    // A gRPC status (its message percent-encoded, as gRPC sends it).
    let grpc = serve_grpc(|_| grpc_error(13, &hostile_of(4_000))).await;
    for url in [
        format!("http://{plain}"),
        format!("http://{chunk}"),
        format!("grpc://{grpc}"),
    ] {
        let out = viewer(&["--jaeger", &url]).await;
        let text = checked(&out);
        assert_eq!(out.status.code(), Some(1), "{url}: {text}");
        assert!(
            text.contains("\\x1b]0;PWNED\\x07\\x1b[2J\\x1b]52;c;AAAA\\x07\\u{202e}evilxxx"),
            "{url}: {text}"
        );
        assert!(text.contains(" more bytes]"), "{url}: {text}");
    }
}

#[test]
fn a_jaeger_files_errors_and_a_files_name_are_escaped_and_cut() {
    let dir = std::env::temp_dir().join(format!("viewer-outside-text-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let reported = dir.join("reported.json");
    let doc = serde_json::json!({"data": [], "errors": [{"code": 500, "msg": hostile()}]});
    std::fs::write(&reported, doc.to_string()).unwrap();
    // A name with the same escapes, holding something that is no telemetry.
    let named = dir.join("bad\x1b]0;PWNED\x07\x1b[2J\u{202e}name.json");
    std::fs::write(&named, b"{\"data\":[\n{\"traceID\":}]}").unwrap();
    let out = support::run(&[
        "--headless",
        "--no-listen",
        reported.to_str().unwrap(),
        named.to_str().unwrap(),
    ]);
    let text = checked(&out);
    assert!(
        text.contains(
            "the Jaeger document reports an error: \\x1b]0;PWNED\\x07\\x1b[2J\\x1b]52;c;AAAA\\x07\\u{202e}evilxxx"
        ),
        "{text}"
    );
    assert!(text.contains(" more bytes]"), "{text}");
    assert!(
        text.contains("bad\\x1b]0;PWNED\\x07\\x1b[2J\\u{202e}name.json:2: malformed JSON"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_in_the_jaeger_url_is_never_printed() {
    let failing = serve_http(axum::Router::new().route(
        "/api/v3/services",
        axum::routing::get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "storage down") }),
    ))
    .await;
    for (url, shown) in [
        (
            format!("http://alice:hunter2@{failing}"),
            format!(
                "Jaeger at http://alice:***@{failing} answered 500 Internal Server Error to /api/v3/services: storage down"
            ),
        ),
        (
            "http://alice:hunter2@127.0.0.1:1".to_owned(),
            "Jaeger at http://alice:***@127.0.0.1:1: unreachable".to_owned(),
        ),
        (
            "grpc://alice:hunter2@127.0.0.1:1".to_owned(),
            "Jaeger at grpc://alice:***@127.0.0.1:1: unreachable".to_owned(),
        ),
        (
            "https://alice:hunter2@127.0.0.1:1".to_owned(),
            "--jaeger \"https://alice:***@127.0.0.1:1\": write http://HOST:16686".to_owned(),
        ),
    ] {
        let out = viewer(&["--jaeger", &url]).await;
        let text = checked(&out);
        assert_eq!(out.status.code(), Some(1), "{url}: {text}");
        assert!(text.contains(&shown), "{url}: {text}");
        assert!(!text.contains("hunter2"), "{url}: {text}");
    }
}
