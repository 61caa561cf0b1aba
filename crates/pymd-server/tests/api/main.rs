//! HTTP-level integration tests of `pymd-server`: each test starts the real app on
//! `127.0.0.1:0` (with an in-test OIDC issuer, or the real dev tenant) and talks to it over HTTP.
//!
//! Run with `cargo test -p pymd-server --test api`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking: unwrap, expect and panic are its assertions"
)]

mod support;

mod admin;
mod alerts;
mod bearer;
mod binary;
mod browser;
mod campaign;
mod cli;
mod contract;
mod database;
mod dev_tenant;
mod documents;
mod hardening;
mod headers;
mod hostile;
mod idp;
mod instances;
mod internal;
mod limits;
mod monitoring;
mod permissions;
mod profile;
mod web;
