//! The settings page of the web app (spec §5): name, picture and bio, changed exactly like
//! `PATCH /api/v1/profile` — validated by `ProfilePatch`, written to the IdP through the
//! Management API first (so it stays the source of truth) and then locally. If the IdP refuses
//! or cannot be reached the form comes back with a clear error (502/503) and nothing is changed
//! locally.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pymd_domain::{DomainError, Permission, ProfilePatch};
use serde::Deserialize;

use super::forms::{self, CheckedForm, CsrfProtected};
use super::pages::{self, Page};
use super::session::SessionUser;
use crate::error::ApiError;
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

/// What the form shows.
#[derive(Default)]
struct View {
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

/// `GET /settings`: the form, filled in with the stored profile.
pub async fn show(
    State(state): State<AppState>,
    s: SessionUser,
    query: Result<Query<SettingsQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = forms::require(&state, &s, Permission::ReadProfile, "/settings").await {
        return r;
    }
    let saved = query.is_ok_and(|Query(q)| q.saved.is_some());
    let view = View {
        name: s.user.name.clone().unwrap_or_default(),
        picture: s.user.picture.clone().unwrap_or_default(),
        bio: s.user.bio.clone().unwrap_or_default(),
        saved,
        ..View::default()
    };
    render(&state, &s, &view, StatusCode::OK)
}

/// `POST /settings`: the IdP first, then the local profile; `303` back to `/settings?saved=1`.
pub async fn save(
    State(state): State<AppState>,
    CheckedForm {
        session: s,
        form: f,
    }: CheckedForm<SettingsForm>,
) -> Response {
    if let Err(r) = forms::require(&state, &s, Permission::WriteProfile, "/settings").await {
        return r;
    }
    let mut view = View {
        name: f.name,
        picture: f.picture,
        bio: f.bio,
        ..View::default()
    };
    let picture = view.picture.trim();
    let patch = ProfilePatch {
        name: Some(view.name.trim().to_owned()),
        // An empty picture field keeps the current picture.
        picture: (!picture.is_empty()).then(|| picture.to_owned()),
        bio: Some(view.bio.clone()),
    };
    let patch = match patch.validate() {
        Ok(p) => p,
        Err(e) => {
            let message = match &e {
                DomainError::Invalid { field, message } => format!("The {field} {message}."),
                DomainError::TooLarge { field, .. } => format!("The {field} is too long."),
            };
            match e.field() {
                "picture" => view.picture_error = Some(message),
                "bio" => view.bio_error = Some(message),
                _ => view.name_error = Some(message),
            }
            return render(&state, &s, &view, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    if let Err(e) = state
        .management
        .update_user(&s.user.auth0_id, &patch)
        .await
        .map_err(ApiError::from)
    {
        let (status, message) = match &e {
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
                (
                    StatusCode::BAD_GATEWAY,
                    "Your profile could not be changed at the sign-in service. Nothing was changed; please try again later.".to_owned(),
                )
            }
        };
        let event = crate::audit::Event::ProfileUpdateFailed {
            status: status.as_u16(),
            via: crate::audit::Via::Web,
        };
        crate::audit::record(&state, event, Some(&s.user.auth0_id)).await;
        view.error = Some(message);
        return render(&state, &s, &view, status);
    }
    if let Err(e) = state.store.update_profile(s.user.id, &patch).await {
        tracing::warn!(error = %e, "settings: the local profile could not be updated");
        view.error = Some(
            "Your profile was changed at the sign-in service but PyMD could not save it here. \
Please try again in a moment."
                .to_owned(),
        );
        return render(&state, &s, &view, StatusCode::SERVICE_UNAVAILABLE);
    }
    let fields: Vec<&str> = [
        patch.name.as_ref().map(|_| "name"),
        patch.picture.as_ref().map(|_| "picture"),
        patch.bio.as_ref().map(|_| "bio"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let via = crate::audit::Via::Web;
    crate::audit::record(
        &state,
        crate::audit::Event::ProfileUpdated { fields, via },
        Some(&s.user.auth0_id),
    )
    .await;
    pages::see_other("/settings?saved=1")
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

/// `GET /settings` and the form after a failed change.
#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage<'a> {
    viewer: Option<&'a str>,
    email: Option<&'a str>,
    csrf: String,
    name: &'a str,
    picture: &'a str,
    bio: &'a str,
    saved: bool,
    error: Option<&'a str>,
    name_error: Option<&'a str>,
    picture_error: Option<&'a str>,
    bio_error: Option<&'a str>,
}

fn render(state: &AppState, s: &SessionUser, v: &View, status: StatusCode) -> Response {
    let page = SettingsPage {
        viewer: pages::viewer(Some(&s.user)),
        email: s.user.email.as_deref(),
        csrf: forms::csrf_token(state, s),
        name: &v.name,
        picture: &v.picture,
        bio: &v.bio,
        saved: v.saved,
        error: v.error.as_deref(),
        name_error: v.name_error.as_deref(),
        picture_error: v.picture_error.as_deref(),
        bio_error: v.bio_error.as_deref(),
    };
    Page(status, page).into_response()
}
