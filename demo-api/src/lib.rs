//! Demo services for the viewer: the jokes app and MicroDonuts, instrumented with OpenTelemetry.
//!
//! Six services, one module each, each its own `service.name` on its own loopback port:
//!
//! | service        | port | module            |
//! | -------------- | ---- | ----------------- |
//! | `jokes-api`    | 8000 | [`jokes_api`]     |
//! | `joke-source`  | 8001 | [`joke_source`]   |
//! | `delay-proxy`  | 8090 | [`delay_proxy`]   |
//! | `jokes-client` | 5000 | [`jokes_client`]  |
//! | `donut-shop`   | 8082 | [`donut_shop`]    |
//! | `kitchen`      | 8083 | [`kitchen`]       |
//!
//! [`start`] binds and serves any of them (port 0 works: [`Running::addr`] tells where they are)
//! and [`Running::shutdown`] stops them gracefully and flushes their telemetry.

pub mod b3;
pub mod delay_proxy;
pub mod donut_shop;
pub mod error;
pub mod joke_source;
pub mod jokes_api;
pub mod jokes_client;
pub mod kitchen;
pub mod telemetry;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::telemetry::{Telemetry, TelemetryConfig};

/// One of the demo services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Service {
    /// The jokes API (`/jokes`, `/hello`).
    JokesApi,
    /// The offline joke source (`/random_joke`).
    JokeSource,
    /// The proxy that adds a delay.
    DelayProxy,
    /// The jokes client web app.
    JokesClient,
    /// MicroDonuts' shop: page, `/order`, `/status`.
    DonutShop,
    /// MicroDonuts' kitchen and fryer.
    Kitchen,
}

impl Service {
    /// Every service, in start order (upstreams first).
    pub const ALL: [Self; 6] = [
        Self::JokeSource,
        Self::JokesApi,
        Self::DelayProxy,
        Self::JokesClient,
        Self::Kitchen,
        Self::DonutShop,
    ];

    /// The `service.name` it reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::JokesApi => "jokes-api",
            Self::JokeSource => "joke-source",
            Self::DelayProxy => "delay-proxy",
            Self::JokesClient => "jokes-client",
            Self::DonutShop => "donut-shop",
            Self::Kitchen => "kitchen",
        }
    }

    /// Its usual port.
    #[must_use]
    pub fn default_port(self) -> u16 {
        match self {
            Self::JokesApi => 8000,
            Self::JokeSource => 8001,
            Self::DelayProxy => 8090,
            Self::JokesClient => 5000,
            Self::DonutShop => 8082,
            Self::Kitchen => 8083,
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What to start and how: the command line of `demo-api`.
#[derive(Clone, Debug, clap::Parser)]
#[command(
    name = "demo-api",
    version,
    about = "Demo services for the viewer: the jokes app and MicroDonuts, instrumented with \
             OpenTelemetry. Starts all six services unless --only is given.",
    after_help = "Telemetry follows the standard variables: OTEL_EXPORTER_OTLP_ENDPOINT \
                  (default http://localhost:4317), OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER \
                  and OTEL_LOGS_EXPORTER (otlp, console, none), OTEL_PROPAGATORS \
                  (tracecontext, baggage, b3, b3multi), OTEL_RESOURCE_ATTRIBUTES, \
                  OTEL_METRIC_EXPORT_INTERVAL, and OTEL_SERVICE_NAME when a single service runs."
)]
pub struct Options {
    /// Start only this service (repeat for several).
    #[arg(long, value_enum)]
    pub only: Vec<Service>,
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,
    /// Port of jokes-api (0: any free port).
    #[arg(long, env = "JOKES_API_PORT", default_value_t = 8000)]
    pub jokes_api_port: u16,
    /// Port of joke-source.
    #[arg(long, env = "JOKE_SOURCE_PORT", default_value_t = 8001)]
    pub joke_source_port: u16,
    /// Port of delay-proxy.
    #[arg(long, env = "DELAY_PROXY_PORT", default_value_t = 8090)]
    pub delay_proxy_port: u16,
    /// Port of jokes-client.
    #[arg(long, env = "JOKES_CLIENT_PORT", default_value_t = 5000)]
    pub jokes_client_port: u16,
    /// Port of donut-shop.
    #[arg(long, env = "DONUT_SHOP_PORT", default_value_t = 8082)]
    pub donut_shop_port: u16,
    /// Port of kitchen.
    #[arg(long, env = "KITCHEN_PORT", default_value_t = 8083)]
    pub kitchen_port: u16,
    /// Where jokes-api gets its jokes [default: joke-source].
    #[arg(long, env = "JOKE_SOURCE_URL")]
    pub joke_source_url: Option<String>,
    /// Where delay-proxy forwards to [default: jokes-api].
    #[arg(long, env = "PROXY_TARGET")]
    pub proxy_target: Option<String>,
    /// The API jokes-client calls [default: delay-proxy, in front of jokes-api].
    #[arg(long, env = "API_URL")]
    pub api_url: Option<String>,
    /// Where donut-shop finds the kitchen [default: kitchen].
    #[arg(long, env = "KITCHEN_URL")]
    pub kitchen_url: Option<String>,
    /// OTLP gRPC endpoint (overrides OTEL_EXPORTER_OTLP_ENDPOINT).
    #[arg(long)]
    pub otlp_endpoint: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub joke_source: joke_source::Settings,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub proxy: delay_proxy::Settings,
}

impl Options {
    /// Every service on a free port of 127.0.0.1, no simulated failures, a short proxy delay.
    #[must_use]
    pub fn for_tests() -> Self {
        Self {
            only: Vec::new(),
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            jokes_api_port: 0,
            joke_source_port: 0,
            delay_proxy_port: 0,
            jokes_client_port: 0,
            donut_shop_port: 0,
            kitchen_port: 0,
            joke_source_url: None,
            proxy_target: None,
            api_url: None,
            kitchen_url: None,
            otlp_endpoint: None,
            joke_source: joke_source::Settings::reliable(),
            proxy: delay_proxy::Settings {
                delay_ms: 20,
                jitter_ms: 10,
            },
        }
    }

    /// The services to start: those of `--only`, or all.
    #[must_use]
    pub fn services(&self) -> Vec<Service> {
        Service::ALL
            .into_iter()
            .filter(|s| self.only.is_empty() || self.only.contains(s))
            .collect()
    }

    /// The port configured for a service.
    #[must_use]
    pub fn port(&self, service: Service) -> u16 {
        match service {
            Service::JokesApi => self.jokes_api_port,
            Service::JokeSource => self.joke_source_port,
            Service::DelayProxy => self.delay_proxy_port,
            Service::JokesClient => self.jokes_client_port,
            Service::DonutShop => self.donut_shop_port,
            Service::Kitchen => self.kitchen_port,
        }
    }
}

/// The running services.
#[derive(Debug)]
pub struct Running {
    addrs: BTreeMap<Service, SocketAddr>,
    stop: watch::Sender<bool>,
    servers: Vec<(Service, JoinHandle<std::io::Result<()>>)>,
    telemetry: Vec<Telemetry>,
}

impl Running {
    /// Where a started service listens.
    #[must_use]
    pub fn addr(&self, service: Service) -> Option<SocketAddr> {
        self.addrs.get(&service).copied()
    }

    /// `http://addr` of a started service.
    #[must_use]
    pub fn url(&self, service: Service) -> Option<String> {
        self.addr(service).map(|a| format!("http://{a}"))
    }

    /// The started services and their addresses.
    pub fn services(&self) -> impl Iterator<Item = (Service, SocketAddr)> + '_ {
        self.addrs.iter().map(|(s, a)| (*s, *a))
    }

    /// Stops accepting, lets requests in flight finish (up to 5 s), then flushes and shuts down
    /// every service's telemetry.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for (service, server) in self.servers {
            match tokio::time::timeout(Duration::from_secs(5), server).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(err))) => eprintln!("{service} stopped with an error: {err}"),
                Ok(Err(err)) => eprintln!("{service} crashed: {err}"),
                Err(_) => eprintln!("{service} did not stop within 5 s"),
            }
        }
        let telemetry = self.telemetry;
        // Provider shutdown blocks until the last batch is exported.
        let _ = tokio::task::spawn_blocking(move || {
            for t in &telemetry {
                t.shutdown();
            }
        })
        .await;
    }
}

/// Binds every selected service, then serves them until [`Running::shutdown`].
///
/// Upstream URLs that are not configured point at the services started here (at their bound
/// addresses, so port 0 works) or, for a service not started here, at its configured port.
///
/// # Errors
/// When a port is taken or telemetry cannot be set up.
pub async fn start(options: &Options, config: &TelemetryConfig) -> anyhow::Result<Running> {
    let services = options.services();
    let alone = services.len() == 1;
    let mut listeners = BTreeMap::new();
    let mut addrs = BTreeMap::new();
    for service in &services {
        let wanted = SocketAddr::new(options.host, options.port(*service));
        let listener = TcpListener::bind(wanted).await.with_context(|| {
            format!(
                "cannot listen on {wanted} for {service}: is it already running? \
                 Choose another port with --{service}-port"
            )
        })?;
        addrs.insert(*service, listener.local_addr()?);
        listeners.insert(*service, listener);
    }
    let url = |service: Service| {
        let addr = addrs
            .get(&service)
            .copied()
            .unwrap_or_else(|| SocketAddr::new(options.host, options.port(service)));
        format!("http://{addr}")
    };
    let joke_source_url = options
        .joke_source_url
        .clone()
        .unwrap_or_else(|| url(Service::JokeSource));
    let proxy_target = options
        .proxy_target
        .clone()
        .unwrap_or_else(|| url(Service::JokesApi));
    let api_url = options
        .api_url
        .clone()
        .unwrap_or_else(|| url(Service::DelayProxy));
    let kitchen_url = options
        .kitchen_url
        .clone()
        .unwrap_or_else(|| url(Service::Kitchen));

    let (stop, stopped) = watch::channel(false);
    let mut servers = Vec::new();
    let mut all_telemetry = Vec::new();
    for (service, listener) in listeners {
        let telemetry = Telemetry::new(config, &config.service_name(service.name(), alone))
            .with_context(|| format!("cannot set up telemetry for {service}"))?;
        all_telemetry.push(telemetry.clone());
        let router = match service {
            Service::JokesApi => jokes_api::app(telemetry, joke_source_url.clone()),
            Service::JokeSource => joke_source::app(telemetry, options.joke_source.clone()),
            Service::DelayProxy => {
                delay_proxy::app(telemetry, proxy_target.clone(), options.proxy.clone())
            }
            Service::JokesClient => jokes_client::app(telemetry, api_url.clone()),
            Service::DonutShop => donut_shop::app(telemetry, kitchen_url.clone()),
            Service::Kitchen => kitchen::app(kitchen::Kitchen::start(
                telemetry,
                kitchen::Limits::default(),
            )),
        };
        let server = tokio::spawn(serve(listener, router, stopped.clone()));
        servers.push((service, server));
    }
    Ok(Running {
        addrs,
        stop,
        servers,
        telemetry: all_telemetry,
    })
}

/// Serves `router` on `listener` until `stop` turns true (or its sender is dropped), letting
/// requests in flight finish.
///
/// # Errors
/// When accepting fails for good.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = stop.wait_for(|stop| *stop).await;
    })
    .await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory as _, Parser as _};

    #[test]
    fn command_line_is_well_formed() {
        Options::command().debug_assert();
    }

    #[test]
    fn only_selects_services_and_ports_are_configurable() {
        let options = Options::try_parse_from([
            "demo-api",
            "--only",
            "kitchen",
            "--only",
            "donut-shop",
            "--kitchen-port",
            "9083",
            "--fail-rate",
            "0.5",
        ])
        .unwrap();
        assert_eq!(options.services(), [Service::Kitchen, Service::DonutShop]);
        assert_eq!(options.port(Service::Kitchen), 9083);
        assert_eq!(options.port(Service::DonutShop), 8082);
        assert!((options.joke_source.fail_rate - 0.5).abs() < f64::EPSILON);
        assert_eq!(
            Options::try_parse_from(["demo-api"]).unwrap().services(),
            Service::ALL
        );
        assert!(Options::try_parse_from(["demo-api", "--only", "bakery"]).is_err());
        assert!(Options::try_parse_from(["demo-api", "--fail-rate", "2"]).is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn all_services_start_on_free_ports_and_talk_to_each_other() {
        let running = start(&Options::for_tests(), &TelemetryConfig::disabled())
            .await
            .unwrap();
        assert_eq!(running.services().count(), 6);
        let client = running.url(Service::JokesClient).unwrap();
        let joke: joke_source::Joke = reqwest::get(format!("{client}/jokes"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(!joke.punchline.is_empty());
        let health = reqwest::get(format!("{client}/healthcheck")).await.unwrap();
        assert_eq!(health.text().await.unwrap(), "API is live");
        running.shutdown().await;
        assert!(
            reqwest::get(format!("{client}/hello")).await.is_err(),
            "stopped"
        );
    }

    #[tokio::test]
    async fn a_taken_port_is_a_clear_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut options = Options::for_tests();
        options.only = vec![Service::Kitchen];
        options.kitchen_port = taken.local_addr().unwrap().port();
        let err = start(&options, &TelemetryConfig::disabled())
            .await
            .unwrap_err();
        assert!(format!("{err:#}").contains("--kitchen-port"), "{err:#}");
    }
}
