//! Integration tests of the access-token verifier against the in-test issuer
//! (`pymd_auth::testkit`) and public test vectors (Wycheproof, under `tests/data/`).

mod counters;
mod hostile;
mod jwks_cache;
mod support;
mod valid;
mod wycheproof;
