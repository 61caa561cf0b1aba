//! The web pages' one error type, [`PageError`], and its one `IntoResponse`: what a browser sees
//! when a page cannot be shown — a redirect to log in, or a clear error page in the layout, with
//! a "try again" link where trying again can help. Handlers return `Result<_, PageError>` and use
//! `?`; the JSON API has its own [`crate::error::ApiError`].
//!
//! Every page here is one of a closed set: the variants name *what* went wrong, and the wording a
//! user reads is written once, in [`PageError::page`].

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pymd_domain::{Permission, User};
use pymd_storage::StoreError;

use super::callback::LoginFailure;
use super::pages::{self, ErrorPage, Page};
use super::session::SessionError;
use crate::service::ServiceError;

/// The signed-in user's display name for an error page's navigation (`None`: signed-out layout).
pub type Viewer = Option<String>;

/// The viewer of a page `user` asked for.
pub fn viewer_of(user: &User) -> Viewer {
    Some(pages::display_name(user).to_owned())
}

/// Why a page cannot be shown.
#[derive(Debug)]
pub enum PageError {
    /// No usable session: `302` to `/auth/login?returnTo=<return_to>`.
    SignIn { return_to: String },
    /// The session's access token cannot be confirmed (it is not its user's, or it fails
    /// verification): a `401` page linking to log in again and come back to `return_to`.
    SignInAgain { return_to: String },
    /// `403`: the request may not do this.
    Forbidden(Refusal),
    /// `404`: there is no such document (or the id is malformed).
    NotFound(Viewer),
    /// `400`: the request cannot be read.
    BadRequest(Viewer, BadInput),
    /// `503` with `Retry-After: 5`: the database cannot be reached.
    Unavailable,
    /// `503`: the identity provider cannot be reached for what the request needs.
    IdpUnavailable(IdpNeed),
    /// Signing in cannot work on this server: `503` when no web client is configured, `500`
    /// when something on our side failed.
    SignInBroken(Broken),
    /// A sign-in that failed (the callback has recorded it): its page.
    LoginFailed(LoginFailure),
    /// `429` with `Retry-After`: too many sign-in requests (or failed sign-ins) from the client.
    RateLimited {
        /// The client's network is blocked after failed sign-ins (rather than just too fast).
        blocked: bool,
        retry_after_secs: u64,
    },
}

/// Why a request is refused with `403`.
#[derive(Debug)]
pub enum Refusal {
    /// A form POST without a same-origin signal.
    CrossSite,
    /// A form without this session's CSRF token.
    StaleForm,
    /// The session's token lacks the permission the page needs.
    Missing(Permission),
    /// The document belongs to someone else.
    NotOwner(Viewer),
}

/// What about a request cannot be read (`400`).
#[derive(Debug)]
pub enum BadInput {
    /// A form body that does not parse.
    Form,
    /// A documents cursor that names no page.
    Cursor,
}

/// What the identity provider was needed for (`503`).
#[derive(Debug)]
pub enum IdpNeed {
    /// Checking the session's access token (its signing keys).
    CheckAccess,
    /// Renewing the session's expired access token.
    RenewSession,
    /// Starting or completing a sign-in (its discovery document).
    SignIn,
}

/// What on our side keeps signing in from working.
#[derive(Debug)]
pub enum Broken {
    /// No web application client (`AUTH0_CLIENT_ID` / `AUTH0_CLIENT_SECRET`).
    NotConfigured,
    /// Randomness, the cookie key or encoding failed.
    Internal,
    /// A redirect target that is not a valid header value.
    Redirect,
}

/// An error page's wording: status, title, message, "try again" target.
struct Wording<'a> {
    status: StatusCode,
    title: &'a str,
    message: std::borrow::Cow<'a, str>,
    retry: Option<String>,
}

const LOGIN: &str = "/auth/login";

fn login_link(return_to: &str) -> String {
    let q: String = url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
    format!("{LOGIN}?returnTo={q}")
}

impl PageError {
    /// The page's wording. [`PageError::SignIn`] is a redirect, not a page; should it ever need
    /// one, it reads like [`PageError::SignInAgain`].
    fn page(&self) -> Wording<'_> {
        let w = |status, title, message: &'static str, retry: Option<&str>| Wording {
            status,
            title,
            message: message.into(),
            retry: retry.map(str::to_owned),
        };
        match self {
            PageError::SignIn { return_to } | PageError::SignInAgain { return_to } => Wording {
                retry: Some(login_link(return_to)),
                ..w(
                    StatusCode::UNAUTHORIZED,
                    "Please log in again",
                    "Your sign-in could not be confirmed. Log in again to continue.",
                    None,
                )
            },
            PageError::Forbidden(refusal) => refusal.page(),
            PageError::NotFound(_) => w(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no such document.",
                None,
            ),
            PageError::BadRequest(_, BadInput::Form) => w(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "The form could not be read. Go back, reload the page and try again.",
                None,
            ),
            PageError::BadRequest(_, BadInput::Cursor) => w(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "That page of documents does not exist.",
                Some("/documents"),
            ),
            PageError::Unavailable => w(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "PyMD cannot reach its database right now. Please try again in a moment.",
                None,
            ),
            PageError::IdpUnavailable(need) => need.page(),
            PageError::SignInBroken(broken) => broken.page(),
            PageError::LoginFailed(failure) => Wording {
                status: failure.status(),
                title: failure.title(),
                message: failure.message().into(),
                retry: Some(LOGIN.to_owned()),
            },
            PageError::RateLimited { blocked: true, .. } => w(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                "Too many failed sign-ins came from your network, so signing in is paused for a while.",
                None,
            ),
            PageError::RateLimited { blocked: false, .. } => w(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                "Too many sign-in requests came from your network. Please wait a moment and try again.",
                None,
            ),
        }
    }

    /// The user whose navigation the page shows.
    fn viewer(&self) -> Option<&str> {
        match self {
            PageError::NotFound(v)
            | PageError::BadRequest(v, _)
            | PageError::Forbidden(Refusal::NotOwner(v)) => v.as_deref(),
            _ => None,
        }
    }

    /// The `Retry-After` seconds the page carries, if any.
    fn retry_after(&self) -> Option<u64> {
        match self {
            PageError::Unavailable
            | PageError::IdpUnavailable(IdpNeed::CheckAccess | IdpNeed::RenewSession) => Some(5),
            PageError::RateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

impl Refusal {
    fn page(&self) -> Wording<'_> {
        let refused = |message: &'static str| Wording {
            status: StatusCode::FORBIDDEN,
            title: "Request refused",
            message: message.into(),
            retry: None,
        };
        match self {
            Refusal::CrossSite => {
                refused("This form was not sent from a PyMD page, so nothing was changed.")
            }
            Refusal::StaleForm => refused(
                "This form has expired or did not come from PyMD, so nothing was changed. \
Go back, reload the page and try again.",
            ),
            Refusal::Missing(permission) => Wording {
                status: StatusCode::FORBIDDEN,
                title: "Not allowed",
                message: format!(
                    "Your account does not have the {} permission this page needs.",
                    permission.as_str()
                )
                .into(),
                retry: None,
            },
            Refusal::NotOwner(_) => Wording {
                status: StatusCode::FORBIDDEN,
                title: "Forbidden",
                message: "This document belongs to someone else.".into(),
                retry: None,
            },
        }
    }
}

impl IdpNeed {
    fn page(&self) -> Wording<'_> {
        let (title, message, retry) = match self {
            IdpNeed::CheckAccess => (
                "Temporarily unavailable",
                "PyMD cannot reach the sign-in service to check your access right now. Please try again in a moment.",
                None,
            ),
            IdpNeed::RenewSession => (
                "Temporarily unavailable",
                "Your sign-in could not be renewed because the identity provider cannot be \
                 reached right now. Please try again in a moment.",
                None,
            ),
            IdpNeed::SignIn => (
                "Sign-in is unavailable",
                "The identity provider cannot be reached right now. Please try again in a moment.",
                Some(LOGIN.to_owned()),
            ),
        };
        Wording {
            status: StatusCode::SERVICE_UNAVAILABLE,
            title,
            message: message.into(),
            retry,
        }
    }
}

impl Broken {
    fn page(&self) -> Wording<'_> {
        let (status, title, message, retry) = match self {
            Broken::NotConfigured => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is not configured",
                "This PyMD has no web application client (AUTH0_CLIENT_ID / AUTH0_CLIENT_SECRET).",
                None,
            ),
            Broken::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in failed",
                "Something went wrong on our side. Please try again.",
                Some(LOGIN.to_owned()),
            ),
            Broken::Redirect => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in failed",
                "The redirect could not be built.",
                Some(LOGIN.to_owned()),
            ),
        };
        Wording {
            status,
            title,
            message: message.into(),
            retry,
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let PageError::SignIn { return_to } = &self {
            // A 302, as browsers and the spec expect for a GET redirect to log in.
            return match HeaderValue::from_str(&login_link(return_to)) {
                Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
                Err(_) => PageError::SignInBroken(Broken::Redirect).into_response(),
            };
        }
        let wording = self.page();
        let page = ErrorPage {
            viewer: self.viewer(),
            title: wording.title,
            message: &wording.message,
            retry: wording.retry.as_deref(),
        };
        let mut response = Page(wording.status, page).into_response();
        if let Some(secs) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A storage failure behind a page: logged here, once, and shown as [`PageError::Unavailable`].
impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        tracing::warn!(error = %e, "a page's storage call failed");
        PageError::Unavailable
    }
}

impl PageError {
    /// A failed application-layer call of a page `viewer` asked for. Outcomes a page shows in
    /// its own form (a validation message, a version conflict, a Management API refusal) are
    /// handled by that page before it falls back to this.
    pub fn service(e: ServiceError, viewer: Viewer) -> Self {
        match e {
            ServiceError::NotFound => PageError::NotFound(viewer),
            ServiceError::NotOwner => PageError::Forbidden(Refusal::NotOwner(viewer)),
            ServiceError::Invalid(_)
            | ServiceError::VersionMismatch
            | ServiceError::MalformedLogBatch => PageError::BadRequest(viewer, BadInput::Form),
            ServiceError::Management(e) => {
                tracing::warn!(error = %e, "a page's Management API call failed");
                PageError::Unavailable
            }
            ServiceError::ProfileNotStored(e) | ServiceError::Store(e) => e.into(),
        }
    }
}

impl From<ServiceError> for PageError {
    fn from(e: ServiceError) -> Self {
        PageError::service(e, None)
    }
}

impl From<SessionError> for PageError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Store(e) => {
                tracing::warn!(error = %e, "session lookup failed");
                PageError::Unavailable
            }
            SessionError::IdpUnavailable => PageError::IdpUnavailable(IdpNeed::RenewSession),
            SessionError::RefreshLimited { retry_after_secs } => PageError::RateLimited {
                blocked: false,
                retry_after_secs,
            },
        }
    }
}
