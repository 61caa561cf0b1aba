//! Conformance suite for the PyMD dev tenant: it must behave like an Auth0 tenant (with the
//! differences `docs/dev-tenant.md` lists) for standard clients and for the hostile OAuth inputs
//! of the security catalogue (redirect URIs, PKCE, codes, refresh tokens, client authentication). Every test spawns its own tenant on 127.0.0.1:0.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking: unwrap, expect and panic are its assertions"
)]

mod actions_in_logins;
mod authorize;
mod backchannel_logout;
mod code_exchange;
mod dev_controls;
mod fidelity;
mod keys_and_faults;
mod login_ui;
mod logout_and_userinfo;
mod management_api;
mod oidc_client;
mod post_login_action;
mod refresh_tokens;
mod support;
mod support_selftest;
mod tenant_file;
mod token_shapes;
