//! A fast local OpenTelemetry trace viewer for the terminal.
//!
//! Data flows `receiver` (OTLP, decoded at the boundary into `model`) → `ingest` (a bounded
//! path, a budget per signal) → `store` (one store per signal sharing the `catalog`); the
//! terminal UI (`tui`) reads the store; `report` renders it as text for the
//! `headless` mode.

pub mod analysis;
pub mod catalog;
pub mod config;
pub mod files;
pub mod format;
pub mod headless;
pub mod ingest;
pub mod jaeger;
pub mod model;
pub mod query;
pub mod receiver;
pub mod record;
pub mod report;
pub mod server;
pub mod signals;
pub mod store;
pub mod tui;

pub use config::Config;
pub use server::Viewer;
