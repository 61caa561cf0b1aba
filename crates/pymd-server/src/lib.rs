//! The PyMD web app and API. `main.rs` only calls [`cli::run`]; everything else is a library so
//! tests can build the app with [`build_state`] + [`build_app`] and [`serve`] it on port 0.

pub mod alerts;
pub mod app;
pub mod audit;
pub mod cli;
pub mod config;
pub mod error;
pub mod extract;
pub mod limits;
pub mod management;
pub mod principal;
pub mod request_meta;
pub mod routes;
pub mod runtime;
pub mod service;
pub mod state;
pub mod telemetry;
pub mod web;

pub use app::{build_app, openapi, serve};
pub use runtime::{IdpWiring, build_state};
