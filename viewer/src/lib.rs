//! A fast local OpenTelemetry trace viewer for the terminal.
//!
//! Data flows `receiver` → bounded channel → `store`; the terminal UI (`app`, `ui`, `tui`)
//! reads the store; `headless` prints it.

pub mod action;
pub mod app;
pub mod catalog;
pub mod config;
pub mod format;
pub mod headless;
pub mod keymap;
pub mod model;
pub mod receiver;
pub mod server;
pub mod signals;
pub mod store;
pub mod tui;
pub mod ui;

pub use config::Config;
pub use server::Viewer;
