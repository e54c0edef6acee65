//! What the viewer writes is its user's alone: the data directory is created 0700, its
//! segments and the `--save` file 0600; `--save` and the UI's `w` refuse a symbolic link where
//! the file goes rather than write through it.

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use viewer::Viewer;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("viewer-private-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The permission bits of `path`.
fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_its_segments_and_the_save_file_are_private() {
    let dir = temp_dir("modes");
    let data = dir.join("data");
    let saved = dir.join("saved.jsonl");
    let viewer = Viewer::start(support::config(&[
        "--data-dir",
        data.to_str().unwrap(),
        "--save",
        saved.to_str().unwrap(),
    ]))
    .await
    .unwrap();
    let mut client = TraceServiceClient::connect(format!("http://{}", viewer.grpc_addr()))
        .await
        .unwrap();
    client
        .export(support::trace_request(1, 1, 10))
        .await
        .unwrap();
    viewer.stop().await;
    let segments: Vec<PathBuf> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(segments.len(), 1, "{segments:?}");
    // Whatever the umask, neither group nor others may read.
    assert_eq!(mode(&data) & 0o077, 0, "data dir {:o}", mode(&data));
    assert_eq!(
        mode(&segments[0]) & 0o077,
        0,
        "segment {:o}",
        mode(&segments[0])
    );
    assert_eq!(mode(&saved) & 0o077, 0, "--save {:o}", mode(&saved));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn save_refuses_a_symbolic_link() {
    let dir = temp_dir("save-link");
    let target = dir.join("target");
    std::fs::write(&target, "not the viewer's\n").unwrap();
    let link = dir.join("out.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = support::run(&[
        "--headless",
        "--grpc-addr",
        "127.0.0.1:0",
        "--http-addr",
        "127.0.0.1:0",
        "--exit-after",
        "1s",
        "--save",
        link.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim(),
        format!(
            "viewer: --save {}: it is a symbolic link, not followed",
            link.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "not the viewer's\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_ui_writer_refuses_a_symbolic_link() {
    let dir = temp_dir("w-link");
    let target = dir.join("target");
    std::fs::write(&target, "not the viewer's\n").unwrap();
    let link = dir.join("trace.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let viewer = Viewer::start(support::config(&["--no-listen"]))
        .await
        .unwrap();
    for overwrite in [false, true] {
        let e = viewer::tui::save::write(viewer.store(), &[], &link, overwrite).unwrap_err();
        let text = viewer::tui::save::error_text(&e);
        let expected = if overwrite {
            "it is a symbolic link, not followed"
        } else {
            "the file exists"
        };
        assert_eq!(text, expected, "overwrite {overwrite}");
    }
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "not the viewer's\n"
    );
    viewer.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
