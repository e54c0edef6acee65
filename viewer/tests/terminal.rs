//! The terminal is restored on quit, on signals and on a panic while drawing. The viewer runs
//! under `script`, which gives it a pseudo-terminal; the test reads what it wrote and the
//! terminal's modes afterwards.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_viewer");
const ENTER_ALT: &str = "\x1b[?1049h";
const LEAVE_ALT: &str = "\x1b[?1049l";
const MOUSE_OFF: &str = "\x1b[?1000l";

/// Runs `shell` in a pseudo-terminal; returns everything written to it.
fn in_pty(shell: &str, panic_in_draw: bool) -> Option<String> {
    if Command::new("script").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").is_err(),
            "`script` (util-linux) is needed for this test"
        );
        eprintln!("skipped: no `script` command");
        return None;
    }
    let mut cmd = Command::new("script");
    cmd.args(["-qfec", shell, "/dev/null"]);
    if panic_in_draw {
        cmd.env("VIEWER_DEBUG_PANIC_IN_DRAW", "1");
    }
    let out = cmd.output().expect("run script");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn viewer_cmd() -> String {
    format!("stty cols 80 rows 24; {BIN} --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0")
}

fn assert_restored(out: &str) {
    let enter = out.find(ENTER_ALT).expect("entered the alternate screen");
    let leave = out.rfind(LEAVE_ALT).expect("left the alternate screen");
    assert!(leave > enter);
    assert!(out[enter..].contains(MOUSE_OFF), "mouse capture turned off");
    // `stty -a` after the viewer: canonical mode and echo are back on.
    let modes = &out[leave..];
    assert!(modes.contains(" icanon"), "{modes}");
    assert!(modes.contains(" echo"), "{modes}");
    assert!(!modes.contains("-icanon"), "{modes}");
}

#[test]
fn restored_after_sigterm_with_exit_zero() {
    for signal in ["TERM", "HUP", "INT"] {
        let shell = format!(
            "{} </dev/tty & pid=$!; sleep 1; kill -{signal} $pid; wait $pid; echo EXIT=$?; stty -a",
            viewer_cmd()
        );
        let Some(out) = in_pty(&shell, false) else {
            return;
        };
        assert!(out.contains("EXIT=0"), "SIG{signal}: {out:?}");
        assert_restored(&out);
    }
}

#[test]
fn restored_after_a_panic_while_drawing() {
    let shell = format!("{}; echo EXIT=$?; stty -a", viewer_cmd());
    let Some(out) = in_pty(&shell, true) else {
        return;
    };
    assert!(out.contains("injected panic while drawing"), "{out:?}");
    assert!(out.contains("EXIT=101"), "{out:?}");
    assert_restored(&out);
}
