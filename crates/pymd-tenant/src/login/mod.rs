//! The Universal-Login-style pages behind `/authorize`: the login and sign-up forms with
//! their per-browser CSRF binding, password login with brute-force protection and
//! breached-password checks, sign-up with the password policy and the verification mail,
//! the verification link, and the completion every login shares (post-login Action, code,
//! redirect).

pub mod complete;
pub mod csrf;
pub mod email_verification;
pub mod form;
pub mod password;
pub mod signup;
pub mod throttle;
