//! The README's commands, run as a new user runs them: every `cargo run` line of README.md (in its
//! ```sh blocks, and in its inline code), taken from the README itself and run with cargo from the
//! workspace root, so what is tested is what the README says, not a binary built for the tests.
//!
//! The commands stay as written. Ports and endpoints come from the environment variables the
//! programs read (`VIEWER_GRPC_ADDR`, `VIEWER_HTTP_ADDR`, demo-api's `*_PORT`, demo-client's
//! `JOKES_CLIENT_URL` and `DONUT_SHOP_URL`, `OTEL_EXPORTER_OTLP_ENDPOINT`), pointing at free ports;
//! the only words appended are `--headless` for the viewer and `--count 1` for demo-client (and
//! `--help`, where the README's flags and ports are checked against the programs' help).
//! "Try it with the demos" runs as a walkthrough (viewer, demo-api, one round of demo-client) and
//! a demo trace must reach the viewer's report; the other commands run on their own. A README
//! command this test does not know how to run fails it, so that none goes untested.
//!
//! Cargo is called as `env!("CARGO")` with the test's own target directory: it takes the build
//! directory's lock while it compiles and releases it before running the program, so it does not
//! wait on the `cargo test` that started it. The first run builds the programs as `cargo run`
//! builds them (for one package, so with that package's features, not the workspace's); later
//! runs find them built.
//!
//! `--release` commands: see [`release_command_profile`].

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Read, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest wait for cargo to build a program and start it: a cold build on a busy 2-core machine.
const BUILD: Duration = Duration::from_secs(45 * 60);
/// Longest wait for a started program to do what it was asked.
const RUN: Duration = Duration::from_secs(90);

/// The six demo services: name (also the `--only` value), and the variable that sets its port.
const SERVICES: [(&str, &str); 6] = [
    ("jokes-api", "JOKES_API_PORT"),
    ("joke-source", "JOKE_SOURCE_PORT"),
    ("delay-proxy", "DELAY_PROXY_PORT"),
    ("jokes-client", "JOKES_CLIENT_PORT"),
    ("donut-shop", "DONUT_SHOP_PORT"),
    ("kitchen", "KITCHEN_PORT"),
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("demo-client sits in the workspace")
        .to_owned()
}

fn readme() -> String {
    std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md")
}

// ---------------------------------------------------------------------------------------------
// The README's commands.

/// One `cargo run` command of the README.
#[derive(Clone, Debug)]
struct ReadmeCommand {
    /// As written, with any `# comment` dropped and runs of white space made one space.
    text: String,
    /// Variables set before `cargo` (`NAME=value cargo run ...`).
    env: Vec<(String, String)>,
    /// The words after `cargo`, up to any redirection.
    args: Vec<String>,
    /// Which ```sh block it is in (counted from 0), if it is in one.
    block: Option<usize>,
    /// The section it is in, for messages.
    section: String,
}

impl ReadmeCommand {
    fn parse(text: &str, block: Option<usize>, section: &str) -> Self {
        assert!(
            !text.contains(['"', '\'', '|', '<', '$', ';', '&']),
            "README command `{text}` needs a shell; teach this test to run it"
        );
        let mut words: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
        let assignments = words.iter().take_while(|w| is_assignment(w)).count();
        let env = words
            .drain(..assignments)
            .map(|w| {
                let (name, value) = w.split_once('=').unwrap();
                (name.to_owned(), value.to_owned())
            })
            .collect();
        let args = match words.iter().position(|w| w == ">") {
            // `> FILE`: the test reads standard output instead of writing the file.
            Some(at) => {
                assert_eq!(at + 2, words.len(), "`> FILE` ends `{text}`");
                words[1..at].to_vec()
            }
            None => words[1..].to_vec(),
        };
        assert!(
            !args.iter().any(|a| a.contains('>')),
            "README command `{text}` redirects other than `> FILE`"
        );
        Self {
            text: text.to_owned(),
            env,
            args,
            block,
            section: section.to_owned(),
        }
    }

    /// Cargo's own arguments: those before `--`.
    fn cargo_args(&self) -> &[String] {
        let end = self
            .args
            .iter()
            .position(|a| a == "--")
            .unwrap_or(self.args.len());
        &self.args[..end]
    }

    /// The program's arguments: those after `--`.
    fn program_args(&self) -> &[String] {
        match self.args.iter().position(|a| a == "--") {
            Some(at) => &self.args[at + 1..],
            None => &[],
        }
    }

    fn cargo_value(&self, names: &[&str]) -> Option<&str> {
        let args = self.cargo_args();
        args.iter()
            .position(|a| names.contains(&a.as_str()))
            .and_then(|at| args.get(at + 1))
            .map(String::as_str)
    }

    fn package(&self) -> &str {
        self.cargo_value(&["-p", "--package"])
            .unwrap_or_else(|| panic!("`{}` names no package (-p)", self.text))
    }

    fn bin(&self) -> Option<&str> {
        self.cargo_value(&["--bin"])
    }

    fn release(&self) -> bool {
        self.cargo_args()
            .iter()
            .any(|a| a == "--release" || a == "-r")
    }

    fn has_program_arg(&self, arg: &str) -> bool {
        self.program_args().iter().any(|a| a == arg)
    }

    /// The value after `flag` among the program's arguments.
    fn program_value(&self, flag: &str) -> Option<&str> {
        let args = self.program_args();
        args.iter()
            .position(|a| a == flag)
            .map(|at| args[at + 1].as_str())
    }

    /// A variable the command sets (`NAME=value cargo run ...`).
    fn env_value(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The command as cargo is to run it, with `extra` appended to the program's arguments.
    fn command(&self, extra: &[&str]) -> Command {
        let mut args = self.args.clone();
        if self.release() && release_command_profile() == Profile::Dev {
            args.retain(|a| a != "--release" && a != "-r");
        }
        if !extra.is_empty() && !args.iter().any(|a| a == "--") {
            args.push("--".into());
        }
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let mut command = cargo(&args);
        command.envs(self.env.iter().map(|(n, v)| (n, v)));
        command
    }
}

/// The `cargo run` commands of the README, section by section: whole lines of ```sh blocks
/// (without their `# comments`), then inline code, that start with `cargo run` (after any
/// `NAME=value`).
fn readme_commands(readme: &str) -> Vec<ReadmeCommand> {
    let mut commands: Vec<ReadmeCommand> = Vec::new();
    let mut push = |command: ReadmeCommand| commands.push(command);
    let mut section = String::new();
    let mut prose = String::new();
    let mut fence: Option<String> = None;
    let mut blocks = 0;
    let inline = |prose: &str, section: &str, push: &mut dyn FnMut(ReadmeCommand)| {
        let spans: Vec<&str> = prose.split('`').collect();
        assert!(
            spans.len() % 2 == 1,
            "unbalanced backticks in README section {section:?}"
        );
        for code in spans.iter().skip(1).step_by(2) {
            let code = code.split_whitespace().collect::<Vec<_>>();
            if is_cargo_run(&code) {
                push(ReadmeCommand::parse(&code.join(" "), None, section));
            }
        }
    };
    for line in readme.lines() {
        if let Some(info) = line.trim_start().strip_prefix("```") {
            fence = match fence {
                Some(_) => None,
                None => {
                    blocks += 1;
                    Some(info.trim().to_owned())
                }
            };
            continue;
        }
        match fence.as_deref() {
            Some("sh") => {
                let code = strip_comment(line).split_whitespace().collect::<Vec<_>>();
                if is_cargo_run(&code) {
                    push(ReadmeCommand::parse(
                        &code.join(" "),
                        Some(blocks - 1),
                        &section,
                    ));
                }
            }
            Some(_) => {}
            None => {
                if let Some(heading) = line.strip_prefix('#') {
                    inline(&prose, &section, &mut push);
                    prose.clear();
                    section = heading.trim_start_matches('#').trim().to_owned();
                } else {
                    prose.push_str(line);
                    prose.push('\n');
                }
            }
        }
    }
    inline(&prose, &section, &mut push);
    commands
}

/// Whether shell words are `[NAME=value ...] cargo run ...`.
fn is_cargo_run(words: &[&str]) -> bool {
    let command: Vec<&str> = words
        .iter()
        .copied()
        .skip_while(|w| is_assignment(w))
        .collect();
    command.starts_with(&["cargo", "run"])
}

/// Whether a shell word is a variable assignment, `NAME=value`.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// A shell line without its comment: from a `#` at the start or after white space.
fn strip_comment(line: &str) -> &str {
    let mut previous = ' ';
    for (at, c) in line.char_indices() {
        if c == '#' && previous.is_whitespace() {
            return &line[..at];
        }
        previous = c;
    }
    line
}

#[test]
fn readme_commands_are_found() {
    let commands = readme_commands(&readme());
    let texts: Vec<&str> = commands.iter().map(|c| c.text.as_str()).collect();
    for expected in [
        "cargo run -p viewer",
        "cargo run -p demo-api",
        "cargo run -p demo-client",
        "cargo run --release -p demo-client --bin loadgen -- --help",
    ] {
        assert!(texts.contains(&expected), "{expected:?} not in {texts:#?}");
    }
    let sample = "x\n```sh\ncargo run -p a   # one\n# cargo run -p b\ncargo run -p a\n```\n\
                  see `cargo run\n-p c -- --x` and `cargo test`\n## S\n`cargo run -p d > f`\n\
                  ```sh\nA_1=x cargo run -p e # c#d\nexport B=y\n```\n";
    let found: Vec<(String, Option<usize>, Vec<String>)> = readme_commands(sample)
        .into_iter()
        .map(|c| (c.text, c.block, c.args))
        .collect();
    let words = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        found,
        [
            ("cargo run -p a".into(), Some(0), words("run -p a")),
            ("cargo run -p a".into(), Some(0), words("run -p a")),
            (
                "cargo run -p c -- --x".into(),
                None,
                words("run -p c -- --x")
            ),
            ("A_1=x cargo run -p e".into(), Some(1), words("run -p e")),
            ("cargo run -p d > f".into(), None, words("run -p d")),
        ]
    );
    let e = readme_commands(sample).swap_remove(3);
    assert_eq!(e.env, [("A_1".to_owned(), "x".to_owned())]);
}

// ---------------------------------------------------------------------------------------------
// Running cargo.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Profile {
    Release,
    Dev,
}

/// How the README's `--release` commands run: as written (a release build) under `CI` or with
/// `README_TEST_RELEASE=1`; otherwise in the dev profile, `--release` dropped, saying so.
///
/// As written, they build the viewer and loadgen optimised (minutes on 2 cores, and again after
/// every change to the viewer). CI builds those very binaries anyway, for `bench/compare.sh`
/// (`cargo build --release -p viewer --bin viewer`, `-p demo-client --bin loadgen`: the same
/// packages, so the same features and artifacts), so there the cost only moves earlier. Locally
/// the dev profile still checks what such a command can get wrong short of the optimiser: the
/// package, the binary, the arguments.
fn release_command_profile() -> Profile {
    if under_ci() || set("README_TEST_RELEASE") {
        Profile::Release
    } else {
        Profile::Dev
    }
}

fn set(variable: &str) -> bool {
    std::env::var(variable).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Under CI (`CI=true`), what cannot run fails instead of being skipped.
fn under_ci() -> bool {
    set("CI")
}

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory holds tmp/")
        .to_owned()
}

/// `cargo ARGS` in the workspace root, in the environment a user's shell would give it: without
/// what `cargo test` set for this test, and without `OTEL_*` or the programs' own variables
/// (the caller sets those it means).
fn cargo(args: &[String]) -> Command {
    let mut command = Command::new(env!("CARGO"));
    command
        .args(args)
        .current_dir(workspace_root())
        .env("CARGO_TARGET_DIR", target_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let programs: Vec<&str> = SERVICES.iter().map(|(_, var)| *var).collect();
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_by_cargo_test = name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || [
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "OUT_DIR",
            ]
            .contains(&name.as_ref());
        let ours = name.starts_with("OTEL_")
            || name.starts_with("VIEWER_")
            || programs.contains(&name.as_ref())
            || [
                "JOKES_CLIENT_URL",
                "DONUT_SHOP_URL",
                "JOKE_SOURCE_URL",
                "PROXY_TARGET",
                "API_URL",
                "KITCHEN_URL",
            ]
            .contains(&name.as_ref());
        if set_by_cargo_test || ours {
            command.env_remove(name.as_ref());
        }
    }
    command
}

/// A running `cargo run`, its output collected (and echoed to the test's output, prefixed).
/// Cargo replaces itself with the program it runs, so signals reach the program.
struct Process {
    name: String,
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
}

impl Process {
    fn spawn(name: &str, mut command: Command) -> Self {
        eprintln!("[{name}] $ {command:?}");
        let mut child = command.spawn().expect("cargo starts");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            echo(name, child.stdout.take().unwrap(), Arc::clone(&stdout)),
            echo(name, child.stderr.take().unwrap(), Arc::clone(&stderr)),
        ];
        Self {
            name: name.to_owned(),
            child,
            stdout,
            stderr,
            readers,
            status: None,
        }
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        self.status
    }

    /// Waits until `ready` holds; fails if the process ends first or `timeout` passes.
    fn wait_for(&mut self, what: &str, timeout: Duration, ready: impl Fn(&Self) -> bool) {
        let start = Instant::now();
        loop {
            if ready(self) {
                return;
            }
            if let Some(status) = self.exited() {
                self.join_readers();
                assert!(
                    ready(self),
                    "`{}` ended ({status}) before {what}; stderr:\n{}",
                    self.name,
                    self.stderr()
                );
                return;
            }
            assert!(
                start.elapsed() < timeout,
                "`{}`: no {what} after {timeout:?}; stderr:\n{}",
                self.name,
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (a build included) until something listens on each of `addrs`.
    fn wait_listening(&mut self, addrs: &[SocketAddr]) {
        for addr in addrs {
            self.wait_for(&format!("listener on {addr}"), BUILD, |_| {
                TcpStream::connect_timeout(addr, Duration::from_millis(200)).is_ok()
            });
        }
    }

    /// Ctrl-C.
    fn interrupt(&mut self) {
        assert!(self.exited().is_none(), "`{}` ended early", self.name);
        let sent = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
    }

    /// Waits for the end; returns the exit status, standard output and standard error.
    fn finish(&mut self, timeout: Duration) -> (ExitStatus, String, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.exited() {
                break status;
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                panic!(
                    "`{}` still running after {timeout:?}; stderr:\n{}",
                    self.name,
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.join_readers();
        (status, self.stdout(), self.stderr())
    }

    /// Waits for the end and fails unless it exited 0; returns standard output.
    fn succeed(&mut self, timeout: Duration) -> String {
        let (status, stdout, stderr) = self.finish(timeout);
        assert!(
            status.success(),
            "`{}` failed ({status}); stderr:\n{stderr}",
            self.name
        );
        stdout
    }

    fn join_readers(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn echo(name: &str, pipe: impl Read + Send + 'static, into: Arc<Mutex<String>>) -> JoinHandle<()> {
    let name = name.to_owned();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            eprintln!("[{name}] {line}");
            let mut text = into.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    })
}

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A bare HTTP/1.1 request; returns the status code and the body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    json: Option<&str>,
) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, RUN).expect("connect");
    stream.set_read_timeout(Some(RUN)).unwrap();
    let body = json.unwrap_or("");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    if json.is_some() {
        head.push_str("Content-Type: application/json\r\n");
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    write!(
        stream,
        "{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

// ---------------------------------------------------------------------------------------------
// What each command is expected to do.

/// The viewer's report's traces (each a header line and its indented span lines), and its
/// totals line. Other sections (metrics, logs) are passed over.
fn report_traces(report: &str) -> (Vec<Vec<&str>>, &str) {
    let mut traces: Vec<Vec<&str>> = Vec::new();
    let mut in_trace = false;
    let mut totals = "";
    for line in report.lines() {
        if line.starts_with("trace ") {
            traces.push(vec![line]);
            in_trace = true;
        } else if in_trace && line.starts_with("  ") {
            traces.last_mut().unwrap().push(line);
        } else {
            in_trace = false;
            if line.starts_with("totals: ") {
                totals = line;
            }
        }
    }
    assert!(!totals.is_empty(), "the report ends with totals:\n{report}");
    (traces, totals)
}

/// Says why a command cannot run here and goes on, except under `CI`, where it fails.
fn cannot_run(command: &ReadmeCommand, why: &str) {
    assert!(!under_ci(), "`{}` cannot run under CI: {why}", command.text);
    eprintln!("skipping `{}`: {why}", command.text);
}

/// A viewer command, running: its addresses, and (when it has `--exit-after`) how long it runs.
struct Viewer {
    command: ReadmeCommand,
    process: Process,
    http_addr: SocketAddr,
    grpc_addr: SocketAddr,
    exit_after: Option<Duration>,
}

impl Viewer {
    /// Starts a README viewer command headless (appending `--headless` unless it has it) on
    /// free ports, and waits until it listens. An address the command gives is kept; when
    /// something else holds it, the command is skipped (see [`cannot_run`]).
    fn start(command: &ReadmeCommand) -> Option<Self> {
        let extra: &[&str] = if command.has_program_arg("--headless") {
            &[]
        } else {
            &["--headless"]
        };
        let mut cargo = command.command(extra);
        let mut addr = |flag: &str, variable: &str| -> Option<SocketAddr> {
            let Some(given) = command.program_value(flag) else {
                let addr = free_addr();
                cargo.env(variable, addr.to_string());
                return Some(addr);
            };
            let given: SocketAddr = given.parse().expect("an address");
            if let Err(e) = std::net::TcpListener::bind(given) {
                cannot_run(command, &format!("{given} is taken ({e})"));
                return None;
            }
            Some(if given.ip().is_unspecified() {
                SocketAddr::from(([127, 0, 0, 1], given.port()))
            } else {
                given
            })
        };
        let grpc_addr = addr("--grpc-addr", "VIEWER_GRPC_ADDR")?;
        let http_addr = addr("--http-addr", "VIEWER_HTTP_ADDR")?;
        let exit_after = command
            .program_value("--exit-after")
            .map(|d| humantime::parse_duration(d).expect("a duration"));
        let mut process = Process::spawn(&command.text, cargo);
        process.wait_listening(&[grpc_addr, http_addr]);
        Some(Self {
            command: command.clone(),
            process,
            http_addr,
            grpc_addr,
            exit_after,
        })
    }

    /// The token the command requires, if it sets one.
    fn token(&self) -> Option<&str> {
        self.command
            .program_value("--auth-token")
            .or_else(|| self.command.env_value("VIEWER_AUTH_TOKEN"))
    }

    /// Stops it (Ctrl-C, or its own `--exit-after`); returns its report and its stderr.
    fn report(mut self) -> (String, String) {
        let timeout = match self.exit_after {
            Some(after) => after + RUN,
            None => {
                self.process.interrupt();
                RUN
            }
        };
        let (status, report, stderr) = self.process.finish(timeout);
        assert!(
            status.success(),
            "`{}` failed ({status}); stderr:\n{stderr}",
            self.command.text
        );
        eprintln!("[{}] report:\n{report}", self.command.text);
        (report, stderr)
    }
}

const PROBE_TRACE: &str = "5eadbeef5eadbeef5eadbeef5eadbeef";

/// Sends one span over OTLP/HTTP JSON, as any SDK would, with the viewer's token if it has
/// one (and then checks that the span is refused without it).
/// With `--filter status=error`: a second probe, failing, which alone should be printed.
const FAILING_TRACE: &str = "fa11edfa11edfa11edfa11edfa11edfa";

fn send_probe_span(viewer: &Viewer) {
    let failing = if viewer.command.program_value("--filter") == Some("status=error") {
        format!(
            r#",{{"traceId":"{FAILING_TRACE}","spanId":"0102030405060709","name":"failing","kind":2,"startTimeUnixNano":"1000000","endTimeUnixNano":"2000000","status":{{"code":2,"message":"boom"}}}}"#
        )
    } else {
        String::new()
    };
    let body = format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"readme-test"}}}}]}},"scopeSpans":[{{"spans":[{{"traceId":"{PROBE_TRACE}","spanId":"0102030405060708","name":"probe","kind":2,"startTimeUnixNano":"1000000","endTimeUnixNano":"3000000"}}{failing}]}}]}}]}}"#
    );
    let bearer = viewer.token().map(|token| format!("Bearer {token}"));
    if bearer.is_some() {
        let (status, _) = http(viewer.http_addr, "POST", "/v1/traces", &[], Some(&body));
        assert_eq!(status, 401, "without the token");
    }
    let headers: Vec<(&str, &str)> = bearer
        .iter()
        .map(|b| ("Authorization", b.as_str()))
        .collect();
    let (status, answer) = http(
        viewer.http_addr,
        "POST",
        "/v1/traces",
        &headers,
        Some(&body),
    );
    assert_eq!(status, 200, "{answer}");
}

/// The file the README's `--save` command writes (and its other file commands open), and the
/// directory of its `--data-dir` command; relative to the workspace, where the commands run.
const SAVED: &str = "received.jsonl";
const DATA_DIR: &str = "otel-data";

/// A command that only opens files (`--no-listen`): it exits by itself, and prints what the
/// file saved by the README's `--save` command holds: the probe span.
fn check_no_listen(command: &ReadmeCommand) {
    assert!(
        command.program_args().iter().any(|a| a == SAVED),
        "teach the test this --no-listen command"
    );
    assert!(
        workspace_root().join(SAVED).exists(),
        "the README's --save command comes before `{}`",
        command.text
    );
    let mut process = Process::spawn(&command.text, command.command(&[]));
    let report = process.succeed(BUILD);
    let (traces, totals) = report_traces(&report);
    assert_eq!(
        traces,
        [vec![
            format!("trace {PROBE_TRACE} 1 spans, 1 services, 2.00ms").as_str(),
            "  readme-test: probe [server] 2.00ms"
        ]],
        "{report}"
    );
    assert!(totals.starts_with("totals: 1 spans received, 1 stored, 1 traces"));
}

/// Any viewer command of the README, sent the probe span: it prints the span on exit, and warns
/// when it listens beyond loopback.
fn check_viewer(viewer: Viewer) {
    let beyond_loopback = [
        viewer.command.program_value("--grpc-addr"),
        viewer.command.program_value("--http-addr"),
    ]
    .into_iter()
    .flatten()
    .any(|a| !a.parse::<SocketAddr>().unwrap().ip().is_loopback());
    let filter = viewer.command.program_value("--filter").map(str::to_owned);
    let command = viewer.command.clone();
    let (report, stderr) = viewer.report();
    let (traces, totals) = report_traces(&report);
    if let Some(filter) = filter {
        assert_eq!(filter, "status=error", "teach the test this filter");
        assert_eq!(
            traces,
            [vec![
                format!("trace {FAILING_TRACE} 1 spans, 1 services, 1.00ms, 1 errors").as_str(),
                "  readme-test: failing [server] 1.00ms ERROR boom"
            ]],
            "{report}"
        );
        assert!(
            report.contains("filter \"status=error\": 1 of 2 traces"),
            "{report}"
        );
        assert!(totals.starts_with("totals: 2 spans received, 2 stored, 2 traces"));
        return;
    }
    assert_eq!(
        traces,
        [vec![
            format!("trace {PROBE_TRACE} 1 spans, 1 services, 2.00ms").as_str(),
            "  readme-test: probe [server] 2.00ms"
        ]],
        "{report}"
    );
    // A viewer that opened the saved file got the probe from it too (kept once).
    let opened =
        !command.has_program_arg("--save") && command.program_args().iter().any(|a| a == SAVED);
    let received = if opened { 2 } else { 1 };
    assert!(
        totals.starts_with(&format!(
            "totals: {received} spans received, 1 stored, 1 traces"
        )),
        "{report}"
    );
    if let Some(file) = command.program_value("--save") {
        let saved = std::fs::read_to_string(workspace_root().join(file)).unwrap();
        assert!(saved.contains("\"name\":\"probe\""), "{saved}");
    }
    if let Some(dir) = command.program_value("--data-dir") {
        let segments: Vec<_> = std::fs::read_dir(workspace_root().join(dir))
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".traces.pb"))
            .collect();
        assert_eq!(segments.len(), 1, "one segment of traces in {dir}");
    }
    assert_eq!(
        stderr.contains("warning"),
        beyond_loopback,
        "a warning exactly when listening beyond loopback: {stderr}"
    );
}

/// The demo services a demo-api command starts, by name, on free ports, as variables to set.
fn service_ports(command: &ReadmeCommand) -> Vec<(&'static str, &'static str, SocketAddr)> {
    let args = command.program_args();
    let only: Vec<&str> = args
        .iter()
        .enumerate()
        .filter(|(_, a)| *a == "--only")
        .map(|(at, _)| args[at + 1].as_str())
        .collect();
    SERVICES
        .iter()
        .filter(|(name, _)| only.is_empty() || only.contains(name))
        .map(|&(name, var)| (name, var, free_addr()))
        .collect()
}

/// Starts a README demo-api command on free ports, exporting to `endpoint` (or nowhere), and
/// waits until every service it should start listens.
fn start_demo_api(
    command: &ReadmeCommand,
    endpoint: Option<&str>,
) -> (Process, Vec<(&'static str, &'static str, SocketAddr)>) {
    let services = service_ports(command);
    let mut cargo = command.command(&[]);
    for (name, var) in SERVICES {
        // Services not started still get a port that nothing of the user's is listening on.
        let addr = services
            .iter()
            .find(|(n, _, _)| *n == name)
            .map_or_else(free_addr, |(_, _, addr)| *addr);
        cargo.env(var, addr.port().to_string());
    }
    match endpoint {
        Some(endpoint) => {
            cargo.env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint);
        }
        None => {
            cargo
                .env("OTEL_TRACES_EXPORTER", "none")
                .env("OTEL_METRICS_EXPORTER", "none");
        }
    }
    let mut process = Process::spawn(&command.text, cargo);
    let addrs: Vec<SocketAddr> = services.iter().map(|(_, _, addr)| *addr).collect();
    process.wait_listening(&addrs);
    process.wait_for("`Ctrl-C to stop.`", RUN, |p| {
        p.stdout().contains("Ctrl-C to stop.")
    });
    let listed: BTreeSet<String> = process
        .stdout()
        .lines()
        .filter_map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            [name, url] if url.starts_with("http://") => Some(name.to_owned()),
            _ => None,
        })
        .collect();
    let expected: BTreeSet<String> = services.iter().map(|(n, _, _)| (*n).to_owned()).collect();
    assert_eq!(listed, expected, "services started by `{}`", command.text);
    (process, services)
}

/// Any demo-api command of the README: it starts its services and stops on Ctrl-C.
fn check_demo_api(command: &ReadmeCommand) {
    let (mut process, _) = start_demo_api(command, None);
    process.interrupt();
    process.succeed(RUN);
}

/// A `--help` command: it prints usage and exits 0.
fn check_help(command: &ReadmeCommand) {
    let mut process = Process::spawn(&command.text, command.command(&[]));
    let out = process.succeed(BUILD);
    assert!(out.contains("Usage: "), "{out}");
}

/// "Try it with the demos": the viewer, the six services, demo-client for one round; the demo's
/// traces arrive in the viewer as whole trees; the pages the README sends people to load.
fn walkthrough(commands: &[ReadmeCommand]) {
    let packages: Vec<&str> = commands.iter().map(ReadmeCommand::package).collect();
    assert_eq!(
        packages,
        ["viewer", "demo-api", "demo-client"],
        "the README's demo walkthrough changed; teach this test to run it"
    );
    let viewer = Viewer::start(&commands[0]).expect("the demo's viewer on free ports");
    let endpoint = format!("http://{}", viewer.grpc_addr);
    let (mut services, ports) = start_demo_api(&commands[1], Some(&endpoint));
    let url = |name: &str| {
        let (_, _, addr) = ports.iter().find(|(n, _, _)| *n == name).unwrap();
        *addr
    };
    for page in ["donut-shop", "jokes-client"] {
        let (status, body) = http(url(page), "GET", "/", &[], None);
        assert_eq!(status, 200, "{page}'s page: {body}");
    }

    let mut client = commands[2].command(&["--count", "1"]);
    client
        .env(
            "JOKES_CLIENT_URL",
            format!("http://{}", url("jokes-client")),
        )
        .env("DONUT_SHOP_URL", format!("http://{}", url("donut-shop")))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint);
    let out = Process::spawn(&commands[2].text, client).succeed(BUILD);
    assert!(out.contains("1 rounds"), "{out}");

    // Ctrl-C in terminal 2: the services flush their telemetry; then the viewer's report.
    services.interrupt();
    let (status, _, stderr) = services.finish(RUN);
    assert!(status.success(), "demo-api: {status}\n{stderr}");
    assert!(
        !stderr.contains("cannot export"),
        "demo-api could not export to the viewer: {stderr}"
    );
    let (report, _) = viewer.report();
    let (traces, totals) = report_traces(&report);
    let whole = |first: &str, last: &str| {
        traces.iter().any(|t| {
            t.get(1)
                .is_some_and(|root| root.starts_with(&format!("  demo-client: {first}")))
                && t.iter().any(|l| l.trim_start().starts_with(last))
        })
    };
    assert!(
        whole("", "joke-source: GET /random_joke [server]"),
        "a joke: demo-client to joke-source, in one trace:\n{report}"
    );
    assert!(
        whole("order donuts", "kitchen: "),
        "a donut order: demo-client to the kitchen, in one trace:\n{report}"
    );
    assert!(totals.contains(" 0 rejected"), "{totals}");
}

/// Every `cargo run` command of the README works as written.
#[test]
fn readme_commands_work_as_written() {
    let started = Instant::now();
    for name in [SAVED, DATA_DIR] {
        let path = workspace_root().join(name);
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_dir_all(&path);
    }
    let commands = readme_commands(&readme());
    if release_command_profile() == Profile::Dev && commands.iter().any(ReadmeCommand::release) {
        eprintln!(
            "README commands with --release run without it here (README_TEST_RELEASE=1 or CI: \
             as written)"
        );
    }
    // The walkthrough: the ```sh block that runs demo-client.
    let block = commands
        .iter()
        .find(|c| c.package() == "demo-client" && c.bin().is_none() && c.block.is_some())
        .and_then(|c| c.block)
        .expect("README: a ```sh block with `cargo run -p demo-client`");
    let (demo, others): (Vec<ReadmeCommand>, Vec<ReadmeCommand>) =
        commands.into_iter().partition(|c| c.block == Some(block));

    // Viewers that stop on their own (`--exit-after`) start first, and are checked last.
    let (timed, others): (Vec<ReadmeCommand>, Vec<ReadmeCommand>) =
        others.into_iter().partition(|c| {
            c.package() == "viewer"
                && !c.has_program_arg("--help")
                && c.has_program_arg("--exit-after")
        });
    let timed: Vec<Viewer> = timed.iter().filter_map(Viewer::start).collect();
    for viewer in &timed {
        send_probe_span(viewer);
    }

    walkthrough(&demo);
    // A command written twice (`cargo run -p viewer`, with and without a comment) runs once.
    let mut done: BTreeSet<String> = demo.iter().map(|c| c.text.clone()).collect();
    for command in &others {
        if !done.insert(command.text.clone()) {
            continue;
        }
        eprintln!("== `{}` ({})", command.text, command.section);
        if command.has_program_arg("--help") {
            check_help(command);
            continue;
        }
        match (command.package(), command.bin()) {
            ("viewer", None | Some("viewer")) if command.has_program_arg("--no-listen") => {
                check_no_listen(command);
            }
            ("viewer", None | Some("viewer")) => {
                if let Some(viewer) = Viewer::start(command) {
                    send_probe_span(&viewer);
                    check_viewer(viewer);
                }
            }
            ("demo-api", None | Some("demo-api")) => check_demo_api(command),
            _ => panic!(
                "README command `{}` (in {:?}) is not one this test knows how to run: teach it",
                command.text, command.section
            ),
        }
    }
    for viewer in timed {
        check_viewer(viewer);
    }
    // What the file commands left in the workspace.
    for name in [SAVED, DATA_DIR] {
        let path = workspace_root().join(name);
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_dir_all(&path);
    }
    eprintln!("README commands took {:.1?}", started.elapsed());
}

// ---------------------------------------------------------------------------------------------
// What the README says about flags.

/// `--help` of a README command (`cargo run ... -- --help`), as entries: each option's long name
/// and its whole text (description, `[env: ...]`, `[default: ...]`), white space made single.
fn help_entries(command: &ReadmeCommand) -> Vec<(String, String)> {
    let mut process = Process::spawn(
        &format!("{} -- --help", command.text),
        command.command(&["--help"]),
    );
    let help = process.succeed(BUILD);
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in help.lines() {
        let text = line.trim_start();
        let indent = line.len() - text.len();
        if text.starts_with('-') && indent <= 6 {
            let long = text
                .split([' ', ',', '='])
                .find(|w| w.starts_with("--"))
                .unwrap_or_default();
            entries.push((long.to_owned(), text.to_owned()));
        } else if indent > 0 && !text.is_empty() {
            if let Some((_, entry)) = entries.last_mut() {
                entry.push(' ');
                entry.push_str(text);
            }
        }
    }
    for (_, entry) in &mut entries {
        *entry = entry.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    assert!(!entries.is_empty(), "no options in:\n{help}");
    entries
}

/// The README's text from the heading `## {title}` to the next `## `.
fn section<'a>(readme: &'a str, title: &str) -> &'a str {
    let start = readme
        .find(&format!("\n## {title}\n"))
        .unwrap_or_else(|| panic!("README: no section {title:?}"));
    let rest = &readme[start + 1..];
    &rest[..rest[3..].find("\n## ").map_or(rest.len(), |end| end + 3)]
}

/// The README's Flags table is the viewer's `--help`: the same flags, defaults and variables.
#[test]
fn flags_table_matches_the_viewers_help() {
    let readme = readme();
    let viewer = readme_commands(&readme)
        .into_iter()
        .find(|c| c.args == ["run", "-p", "viewer"])
        .expect("README: `cargo run -p viewer`");
    let help = help_entries(&viewer);
    let mut listed = BTreeSet::new();
    for row in section(&readme, "Flags")
        .lines()
        .filter(|l| l.starts_with("| `--"))
    {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let [_, flag, default, meaning, _] = cells[..] else {
            panic!("a Flags row of three cells: {row}");
        };
        let flag = flag.trim_matches('`').split(' ').next().unwrap();
        let default = default.trim_matches('`');
        listed.insert(flag.to_owned());
        let (_, entry) = help
            .iter()
            .find(|(long, _)| long == flag)
            .unwrap_or_else(|| panic!("README's {flag} is not in the viewer's --help"));
        if default == "off" || default == "none" {
            assert!(
                !entry.contains("[default: "),
                "{flag}: README says {default}: {entry}"
            );
        } else {
            assert!(
                entry.contains(&format!("[default: {default}]")),
                "{flag}: README says {default}: {entry}"
            );
        }
        let readme_env = meaning
            .split_once("(env `")
            .map(|(_, rest)| rest.split('`').next().unwrap());
        let help_env = entry
            .split_once("[env: ")
            .map(|(_, rest)| rest.split([']', '=']).next().unwrap());
        assert_eq!(readme_env, help_env, "{flag}'s variable: {entry}");
    }
    let in_help: BTreeSet<String> = help
        .iter()
        .map(|(long, _)| long.clone())
        .filter(|long| long != "--help" && long != "--version")
        .collect();
    assert_eq!(
        listed, in_help,
        "README's Flags table and the viewer's --help"
    );
}

/// "Try it with the demos": the ports in the README are demo-api's defaults, and `--help` lists
/// ports, upstream URLs, failure and delay settings.
#[test]
fn demo_ports_and_help_match_the_readme() {
    let readme = readme();
    let demo_api = readme_commands(&readme)
        .into_iter()
        .find(|c| c.args == ["run", "-p", "demo-api"])
        .expect("README: `cargo run -p demo-api`");
    let help = help_entries(&demo_api);
    let default_port = |name: &str| -> u16 {
        let (_, entry) = help
            .iter()
            .find(|(long, _)| *long == format!("--{name}-port"))
            .unwrap_or_else(|| panic!("--{name}-port in demo-api's --help"));
        let (_, rest) = entry.split_once("[default: ").expect("a default port");
        rest.split(']').next().unwrap().parse().unwrap()
    };
    let text = section(&readme, "Try it with the demos");
    for (name, _) in SERVICES {
        let (_, rest) = text
            .split_once(&format!("{name} :"))
            .unwrap_or_else(|| panic!("README gives {name}'s port as `{name} :PORT`"));
        let port: u16 = rest
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(port, default_port(name), "{name}'s port");
    }
    for (_, rest) in text
        .match_indices("http://127.0.0.1:")
        .map(|(at, _)| text.split_at(at))
    {
        let port: u16 = rest["http://127.0.0.1:".len()..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            SERVICES.iter().any(|(name, _)| default_port(name) == port),
            "README's http://127.0.0.1:{port} is no demo service's default port"
        );
    }
    let all = help
        .iter()
        .map(|(_, entry)| entry.to_lowercase())
        .collect::<Vec<_>>()
        .join("\n");
    for word in ["port", "url", "fail", "delay"] {
        assert!(all.contains(word), "demo-api --help mentions {word}: {all}");
    }
    assert!(
        help.iter().any(|(long, _)| long == "--only"),
        "demo-api --only"
    );
}
