//! End-to-end tests of the web sign-in (spec §5): the real app and the real dev tenant on
//! 127.0.0.1:0, driven hop by hop like a browser (no redirect following, cookies by hand), and the
//! session table inspected through the store and as raw database bytes.

mod api_cookie;
mod backchannel;
mod documents_pages;
pub mod harness;
mod login;
mod negative;
mod refresh;
mod sessions;
mod settings_page;
mod signup;
mod spa;
mod store_down;
