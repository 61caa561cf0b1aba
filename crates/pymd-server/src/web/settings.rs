//! The settings page of the web app (spec §5): name, picture and bio, changed by the same
//! [`service::profile::update`] as `PATCH /api/v1/profile` — validated by `ProfilePatch`, written
//! to the IdP through the Management API first (so it stays the source of truth) and then locally. If the IdP refuses
//! or cannot be reached the form comes back with a clear error (502/503) and nothing is changed
//! locally.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pymd_domain::{DomainError, ProfilePatch};
use serde::Deserialize;

use super::access::{Posted, ReadProfile, Signed, WriteProfile};
use super::error::{PageError, Viewer, viewer_of};
use super::forms::{self, CsrfProtected};
use super::pages::{self, Page};
use super::session::SessionUser;
use crate::audit::Via;
use crate::error::ApiError;
use crate::service::{self, ServiceError};
use crate::state::AppState;

/// The query of `GET /settings` (`?saved=1` after a successful change).
#[derive(Debug, Default, Deserialize)]
pub struct SettingsQuery {
    saved: Option<String>,
}

/// The body of the settings form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    csrf_token: String,
    name: String,
    picture: String,
    bio: String,
}

impl CsrfProtected for SettingsForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// The settings page: the form, and what became of the last change.
#[derive(Default, Template)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    viewer: Viewer,
    email: Option<String>,
    csrf: String,
    name: String,
    picture: String,
    bio: String,
    saved: bool,
    /// A message about the whole form (the IdP refused or is down).
    error: Option<String>,
    name_error: Option<String>,
    picture_error: Option<String>,
    bio_error: Option<String>,
}

impl SettingsPage {
    /// The page of `s`, showing `form`'s fields.
    fn new(state: &AppState, s: &SessionUser, form: SettingsForm) -> Self {
        SettingsPage {
            viewer: viewer_of(&s.user),
            email: s.user.email.clone(),
            csrf: forms::csrf_token(state, s),
            name: form.name,
            picture: form.picture,
            bio: form.bio,
            ..SettingsPage::default()
        }
    }

    /// The change the form asks for. An empty picture field keeps the current picture.
    fn patch(&self) -> ProfilePatch {
        let picture = self.picture.trim();
        ProfilePatch {
            name: Some(self.name.trim().to_owned()),
            picture: (!picture.is_empty()).then(|| picture.to_owned()),
            bio: Some(self.bio.clone()),
        }
    }

    /// Puts a validation message next to the field it is about.
    fn with_field_error(mut self, e: &DomainError) -> Self {
        let message = match e {
            DomainError::Invalid { field, message } => format!("The {field} {message}."),
            DomainError::TooLarge { field, .. } => format!("The {field} is too long."),
        };
        match e.field() {
            "picture" => self.picture_error = Some(message),
            "bio" => self.bio_error = Some(message),
            _ => self.name_error = Some(message),
        }
        self
    }

    /// The form again with `status` and a message about the whole form.
    fn failed(mut self, status: StatusCode, message: String) -> Response {
        self.error = Some(message);
        Page(status, self).into_response()
    }
}

/// `GET /settings`: the form, filled in with the stored profile.
pub async fn show(
    State(state): State<AppState>,
    Signed { session, .. }: Signed<ReadProfile>,
    query: Result<Query<SettingsQuery>, QueryRejection>,
) -> Page<SettingsPage> {
    let stored = SettingsForm {
        name: session.user.name.clone().unwrap_or_default(),
        picture: session.user.picture.clone().unwrap_or_default(),
        bio: session.user.bio.clone().unwrap_or_default(),
        ..SettingsForm::default()
    };
    let page = SettingsPage {
        saved: query.is_ok_and(|Query(q)| q.saved.is_some()),
        ..SettingsPage::new(&state, &session, stored)
    };
    Page(StatusCode::OK, page)
}

/// `POST /settings`: the profile change of [`service::profile::update`] (the IdP first, then the
/// local profile); `303` back to `/settings?saved=1`, or the form again with what went wrong.
pub async fn save(
    State(state): State<AppState>,
    Posted { guard, form }: Posted<Signed<WriteProfile>, SettingsForm>,
) -> Response {
    let s = &guard.session;
    let page = SettingsPage::new(&state, s, form);
    match service::profile::update(&state, &s.user, page.patch(), Via::Web).await {
        Ok(_) => pages::see_other("/settings?saved=1"),
        Err(ServiceError::Invalid(e)) => {
            let page = page.with_field_error(&e);
            Page(StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
        }
        Err(ServiceError::Management(e)) => {
            let (status, message) = management_failure(&ApiError::from(e));
            page.failed(status, message)
        }
        Err(ServiceError::ProfileNotStored(e)) => {
            tracing::warn!(error = %e, "settings: the local profile could not be updated");
            let message = "Your profile was changed at the sign-in service but PyMD could not \
save it here. Please try again in a moment.";
            page.failed(StatusCode::SERVICE_UNAVAILABLE, message.to_owned())
        }
        Err(other) => PageError::from(other).into_response(),
    }
}

/// The status and message of a change the Management API refused or failed.
fn management_failure(e: &ApiError) -> (StatusCode, String) {
    match e {
        ApiError::Upstream {
            status,
            description,
            cause,
        } => {
            tracing::warn!(%cause, "settings: the Management API change failed");
            (*status, upstream_message(description))
        }
        other => {
            tracing::warn!(error = %other, "settings: the Management API change failed");
            let message = "Your profile could not be changed at the sign-in service. Nothing was \
changed; please try again later.";
            (StatusCode::BAD_GATEWAY, message.to_owned())
        }
    }
}

/// The Management client's description, as a sentence for the page.
fn upstream_message(description: &str) -> String {
    let mut chars = description.chars();
    let capitalised: String = match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => "The sign-in service could not be reached; nothing was changed".to_owned(),
    };
    format!("{capitalised}. Please try again later.")
}
