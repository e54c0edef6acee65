//! How the binary ends when something is wrong: a duration flag out of range is a flag error
//! (exit 2) rather than a panic later; a background thread that fails fails the run; a reader
//! that goes away (`| head`) ends it quietly; a segment numbered as high as segments go is
//! refused with a message rather than numbering on from 0.

mod support;

use std::process::{Command, Stdio};

use viewer::Viewer;

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("viewer-exits-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const LISTEN: [&str; 7] = [
    "--headless",
    "--grpc-addr",
    "127.0.0.1:0",
    "--http-addr",
    "127.0.0.1:0",
    "--exit-after",
    "1s",
];

#[test]
fn a_duration_out_of_range_is_a_flag_error() {
    let jaeger = [
        "--headless",
        "--jaeger",
        "http://127.0.0.1:1",
        "--filter",
        "service = \"checkout\"",
    ];
    let cases: [(&[&str], &str, &str); 3] = [
        (&jaeger, "--since", "500000000000y"),
        (&jaeger, "--since", "60y"),
        (&LISTEN, "--idle-timeout", "500000000000y"),
    ];
    for (args, flag, value) in cases {
        let out = Command::new(support::BIN)
            .args(args)
            .args([flag, value])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(
            stderr.starts_with(&format!(
                "error: invalid value '{value}' for '{flag} <DURATION>': "
            )),
            "{flag} {value}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[tokio::test]
async fn a_loading_thread_that_panics_fails_the_run() {
    let dir = temp_dir("panic");
    let file = dir.join("bad.json");
    std::fs::write(&file, "{\"resourceSpans\": [{\"broken\"\n").unwrap();
    // The report of a bad record panics: so does the loading thread.
    let mut viewer = Viewer::start_with(
        support::config(&["--no-listen", file.to_str().unwrap()]),
        |_| panic!("reporting a bad record"),
    )
    .await
    .unwrap();
    viewer.wait_loaded().await;
    let failures = viewer.failures();
    viewer.stop().await;
    assert_eq!(
        *failures.lock(),
        ["loading stopped: reporting a bad record"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    // A pipe whose reader is already gone, as `viewer --headless … | head` leaves it.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(support::BIN)
        .args(["--headless", "--no-listen"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn a_segment_numbered_as_high_as_segments_go_is_refused() {
    let dir = temp_dir("max-seq");
    let segment = dir.join(format!("{}.traces.pb", u64::MAX));
    std::fs::write(&segment, b"").unwrap();
    let out = Command::new(support::BIN)
        .args(LISTEN)
        .args(["--data-dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("is numbered as high as a segment can be"),
        "{stderr}"
    );
    // Nothing numbered 0 (or anything else) was started.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
