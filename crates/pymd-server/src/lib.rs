//! The PyMD web app and API. `main.rs` only calls [`cli::run`]; everything else is a library so
//! tests can build the state with [`AppState::builder`], the app with [`build_app`], and
//! [`serve`] it on port 0 — or run all of `pymd serve` through [`App`].
//!
//! Start-up reads top-down: [`cli`] parses and dispatches, [`config`] reads and validates the
//! environment, [`startup`] turns a configuration into a running [`App`] (with the embedded dev
//! tenant of [`devtenant`] when no IdP is configured), [`state`] builds what handlers share, and
//! [`app`] assembles the routes and layers.

pub mod alerts;
pub mod app;
pub mod audit;
pub mod banner;
pub mod cli;
pub mod config;
pub mod dev_secrets;
pub mod devtenant;
pub mod error;
pub mod extract;
pub mod http_metrics;
pub mod limits;
pub mod management;
pub mod principal;
pub mod request_meta;
pub mod routes;
pub mod security_headers;
pub mod service;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod user_ids;
pub mod web;

pub use app::{AppService, build_app, openapi, serve};
pub use startup::App;
pub use state::{AppState, IdpWiring, StateBuilder};
