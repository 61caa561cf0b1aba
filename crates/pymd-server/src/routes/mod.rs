//! The HTTP routes, one module per resource. Handlers stay short: extractors authenticate and
//! authorise, the domain validates, storage persists.

pub mod admin;
pub mod documents;
pub mod health;
pub mod internal;
pub mod profile;
pub mod spa_auth;
