//! Integration tests of the access-token verifier against the in-test issuer
//! (`pymd_auth::testkit`) and public test vectors (Wycheproof, under `tests/data/`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking: unwrap, expect and panic are its assertions"
)]

mod counters;
mod hostile;
mod jwks_cache;
mod support;
mod valid;
mod wycheproof;
