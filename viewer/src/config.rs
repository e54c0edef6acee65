//! Command-line flags.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

/// A fast local OpenTelemetry trace viewer for the terminal.
///
/// Point any OpenTelemetry SDK at it: OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 (gRPC)
/// or http://127.0.0.1:4318 (HTTP).
#[derive(Parser, Debug, Clone)]
#[command(name = "viewer", version, about, long_about = None)]
pub struct Config {
    /// Address for OTLP/gRPC. Listening beyond loopback needs an explicit address.
    #[arg(long, default_value = "127.0.0.1:4317", env = "VIEWER_GRPC_ADDR")]
    pub grpc_addr: SocketAddr,

    /// Address for OTLP/HTTP (/v1/traces, /v1/metrics, /v1/logs).
    #[arg(long, default_value = "127.0.0.1:4318", env = "VIEWER_HTTP_ADDR")]
    pub http_addr: SocketAddr,

    /// Run without a terminal UI; print every stored trace on exit.
    #[arg(long)]
    pub headless: bool,

    /// In headless mode, exit after this long (e.g. 10s, 2m).
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    pub exit_after: Option<Duration>,

    /// Files to load: OTLP JSON lines (the Collector's file exporter), length-prefixed OTLP
    /// protobuf, or Jaeger's JSON; gzip or zstd compressed too.
    #[arg(value_name = "FILE")]
    pub files: Vec<std::path::PathBuf>,

    /// Load this file too (as a FILE argument; may be given more than once).
    #[arg(long = "open", value_name = "FILE")]
    pub open: Vec<std::path::PathBuf>,

    /// Do not listen for OTLP: only show what the files and the data directory hold (headless,
    /// print the report once they are loaded and exit).
    #[arg(long)]
    pub no_listen: bool,

    /// Keep what is received in this directory, so it survives a restart or a crash: loaded
    /// back (within the caps) on start. An acknowledged request has been written to it.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<std::path::PathBuf>,

    /// Most the data directory may hold, in MiB; the oldest segments are deleted past it.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub data_max_mb: u64,

    /// Append everything received to this file as OTLP JSON lines (the OTLP file-exporter
    /// format, which `viewer FILE`, the Collector's otlpjsonfile receiver and otel-tui read).
    #[arg(long, value_name = "FILE")]
    pub save: Option<std::path::PathBuf>,

    /// Rotate the --save file past this many MiB (FILE.1 … FILE.5 kept).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub save_max_mb: u64,

    /// Send everything received on to an upstream OTLP endpoint: grpc://HOST:PORT (OTLP/gRPC)
    /// or http://HOST:PORT (OTLP/HTTP). Never slows local ingest: what cannot be forwarded is
    /// counted.
    #[arg(long, value_name = "URL")]
    pub forward: Option<String>,

    /// A header for --forward, NAME=VALUE (e.g. authorization=Bearer%20T); may be repeated.
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_header)]
    pub forward_header: Vec<(String, String)>,

    /// Requests that may wait to be forwarded; past it they are dropped (and counted).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub forward_queue: u64,

    /// At exit, how long --forward may go on sending what is still waiting (and retrying); what
    /// is left after it is counted as not forwarded. A second Ctrl-C stops waiting (headless).
    #[arg(long, default_value = "5s", value_parser = duration, value_name = "DURATION")]
    pub forward_drain: Duration,

    /// Read traces from a Jaeger backend's query service, api_v3 over HTTP (http://HOST:16686)
    /// or gRPC (grpc://HOST:16685): the traces of the last --since matching --filter, up to
    /// --limit per service. Headless: print them and exit.
    #[arg(long, value_name = "URL")]
    pub jaeger: Option<String>,

    /// A header for --jaeger requests, NAME=VALUE (%20 for a space); may be repeated.
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_header)]
    pub jaeger_header: Vec<(String, String)>,

    /// With --jaeger: most of Jaeger's answers one search may read, in MiB, all its answers
    /// together; past it the search stops with an error.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=1024 * 1024), value_name = "MIB")]
    pub jaeger_max_mb: u64,

    /// With --jaeger: how far back to search (e.g. 30m, 1h, 2d).
    #[arg(long, default_value = "1h", value_parser = since, value_name = "DURATION")]
    pub since: Duration,

    /// With --jaeger: traces per service at most.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,

    /// Show times in UTC rather than in the local time zone.
    #[arg(long)]
    pub utc: bool,

    /// Show only what matches this query (the filter language in the README): in headless
    /// mode, the report's traces, metrics and log records; in the UI, the trace list.
    #[arg(long, value_name = "QUERY")]
    pub filter: Option<String>,

    /// Most spans held; when full, whole oldest traces are evicted (and counted).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_spans: u64,

    /// Most log records held; when full, the oldest are evicted (and counted).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_logs: u64,

    /// Most metric series held (a series: resource, scope, metric and attributes); points of
    /// further series are dropped (and counted).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_series: u64,

    /// Points kept per metric series; older points are dropped (and counted).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(2..))]
    pub max_points: u64,

    /// Approximate memory each store (spans, log records, metric points) may take, in MiB;
    /// the oldest data is evicted to stay under it (as under --max-spans and --max-logs).
    #[arg(long, default_value_t = 2048, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_memory_mb: u64,

    /// Largest OTLP request accepted, in bytes, after decompression.
    #[arg(long, default_value_t = 16 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..=1024 * 1024 * 1024))]
    pub max_message_size: u64,

    /// Attribute string values longer than this many bytes are truncated with a marker.
    #[arg(long, default_value_t = 16 * 1024, value_parser = clap::value_parser!(u64).range(16..))]
    pub max_attr_len: u64,

    /// Attributes kept per span, event, link or resource; the rest are dropped.
    #[arg(long, default_value_t = 1024)]
    pub max_attrs: usize,

    /// Events and links kept per span; the rest are dropped.
    #[arg(long, default_value_t = 1024)]
    pub max_events: usize,

    /// Spans kept per trace; later spans of a full trace are dropped and counted.
    #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_trace_spans: u64,

    /// Spans that may wait between the receivers and the store.
    #[arg(long, default_value_t = 262_144, value_parser = clap::value_parser!(u32).range(1..))]
    pub queue_spans: u32,

    /// Log records that may wait between the receivers and the store.
    #[arg(long, default_value_t = 262_144, value_parser = clap::value_parser!(u32).range(1..))]
    pub queue_logs: u32,

    /// Metric data points that may wait between the receivers and the store.
    #[arg(long, default_value_t = 262_144, value_parser = clap::value_parser!(u32).range(1..))]
    pub queue_points: u32,

    /// How long a request waits for room in its queue before it is refused as retryable.
    #[arg(long, default_value = "2s", value_parser = duration, value_name = "DURATION")]
    pub queue_wait: Duration,

    /// Longest an OTLP request may take, body included.
    #[arg(long, default_value = "30s", value_parser = duration, value_name = "DURATION")]
    pub request_timeout: Duration,

    /// A client must send a request's headers (and an HTTP/2 connection its preface) within
    /// this long, however slowly it trickles them in.
    #[arg(long, default_value = "10s", value_parser = duration, value_name = "DURATION")]
    pub header_timeout: Duration,

    /// Memory all OTLP requests being received and decoded may take at once (bodies,
    /// decompressed bodies, what decoding builds); past it a request waits, then is refused as
    /// retryable.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(16..), value_name = "MIB")]
    pub max_inflight_mb: u64,

    /// Connections open at once per receiver; more wait until one closes.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,

    /// A connection that sends and receives nothing for this long is closed.
    #[arg(long, default_value = "120s", value_parser = duration, value_name = "DURATION")]
    pub idle_timeout: Duration,

    /// Require `Authorization: Bearer TOKEN` on every OTLP request (gRPC and HTTP).
    #[arg(long, env = "VIEWER_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,
}

/// The longest duration a flag takes: beyond any use, and within what the clocks can count
/// (100 years of 365.25 days, as `100y` means).
const MAX_DURATION: Duration = Duration::from_secs(100 * 31_557_600);

/// A duration as `10s`, `2m` or `1h 30m` write it, at most 100 years.
fn duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if d > MAX_DURATION {
        return Err("longer than 100 years".into());
    }
    Ok(d)
}

/// `--since`: a duration that reaches back no further than 1970, where the clocks start.
fn since(text: &str) -> Result<Duration, String> {
    let d = duration(text)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    if d > now {
        return Err(format!(
            "reaches back before 1970 (at most {} years)",
            now.as_secs() / 31_557_600
        ));
    }
    Ok(d)
}

/// `NAME=VALUE`, the value %-decoded (`%20` is a space), as OTEL_EXPORTER_OTLP_HEADERS writes
/// them.
fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: write NAME=VALUE"))?;
    if name.trim().is_empty() {
        return Err(format!("{text:?}: the name is empty"));
    }
    let mut out = Vec::with_capacity(value.len());
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(h) = value.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(h, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    let value = String::from_utf8(out).map_err(|_| format!("{text:?}: not UTF-8 once decoded"))?;
    Ok((name.trim().to_owned(), value))
}

impl Config {
    /// Both receivers on 127.0.0.1 port 0, headless, default limits: for tests.
    #[must_use]
    pub fn for_tests() -> Self {
        Self::parse_from([
            "viewer",
            "--grpc-addr",
            "127.0.0.1:0",
            "--http-addr",
            "127.0.0.1:0",
            "--headless",
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_listen_on_loopback() {
        let c = Config::parse_from(["viewer"]);
        assert!(c.grpc_addr.ip().is_loopback());
        assert!(c.http_addr.ip().is_loopback());
        assert_eq!((c.grpc_addr.port(), c.http_addr.port()), (4317, 4318));
        assert_eq!(c.max_spans, 1_000_000);
    }

    #[test]
    fn bad_flags_are_errors_not_panics() {
        assert!(Config::try_parse_from(["viewer", "--grpc-addr", "nope"]).is_err());
        assert!(Config::try_parse_from(["viewer", "--exit-after", "soon"]).is_err());
        assert!(Config::try_parse_from(["viewer", "--max-spans", "0"]).is_err());
        let c = Config::try_parse_from(["viewer", "--exit-after", "1m 5s"]).unwrap();
        assert_eq!(c.exit_after, Some(Duration::from_secs(65)));
        for (flag, value) in [
            ("--exit-after", "101y"),
            ("--idle-timeout", "500000000000y"),
            ("--since", "60y"),
        ] {
            assert!(
                Config::try_parse_from(["viewer", flag, value]).is_err(),
                "{flag} {value}"
            );
        }
        let c =
            Config::try_parse_from(["viewer", "--since", "30d", "--queue-wait", "100y"]).unwrap();
        assert_eq!(c.since, Duration::from_secs(30 * 24 * 3600));
        let c = Config::try_parse_from(["viewer"]).unwrap();
        assert_eq!(c.forward_drain, Duration::from_secs(5));
        let c = Config::try_parse_from(["viewer", "--forward-drain", "0s"]).unwrap();
        assert_eq!(c.forward_drain, Duration::ZERO);
        assert!(Config::try_parse_from(["viewer", "--forward-drain", "later"]).is_err());
    }
}
