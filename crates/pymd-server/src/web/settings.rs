//! The settings page of the web app (spec §5): name, picture and bio, changed exactly like
//! `PATCH /api/v1/profile` — validated by `ProfilePatch`, written to the IdP through the
//! Management API first (so it stays the source of truth) and then locally. If the IdP refuses
//! or cannot be reached the form comes back with a clear error (502/503) and nothing is changed
//! locally.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use pymd_domain::{DomainError, Permission, ProfilePatch};
use serde::Deserialize;

use super::forms::{self, CheckedForm, CsrfProtected};
use super::pages::{self, esc};
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
    if let Err(e) = state.management.update_user(&s.user.auth0_id, &patch).await {
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
        crate::audit::record(
            &state,
            "profile_update",
            "failure",
            Some(&s.user.auth0_id),
            serde_json::json!({ "status": status.as_u16(), "via": "web" }),
        )
        .await;
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
    crate::audit::record(
        &state,
        "profile_update",
        "success",
        Some(&s.user.auth0_id),
        serde_json::json!({ "fields": fields, "via": "web" }),
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

fn field_error(error: Option<&String>, id: &str) -> String {
    error
        .map(|m| {
            format!(
                "<p class=\"field-error\" id=\"{id}\" role=\"alert\" data-testid=\"{id}\">{}</p>",
                esc(m)
            )
        })
        .unwrap_or_default()
}

fn invalid(error: Option<&String>, id: &str) -> String {
    match error {
        Some(_) => format!(" aria-invalid=\"true\" aria-describedby=\"{id}\""),
        None => String::new(),
    }
}

fn render(state: &AppState, s: &SessionUser, v: &View, status: StatusCode) -> Response {
    let notice = match (&v.error, v.saved) {
        (Some(e), _) => format!(
            "<div class=\"notice error\" role=\"alert\" data-testid=\"settings-error\"><p>{}</p></div>",
            esc(e)
        ),
        (None, true) => "<div class=\"notice success\" role=\"status\" data-testid=\"settings-saved\"><p>Your profile was saved.</p></div>".to_owned(),
        (None, false) => String::new(),
    };
    let email = s
        .user
        .email
        .as_deref()
        .map(|e| format!("<p class=\"sub\">Signed in as {}</p>", esc(e)))
        .unwrap_or_default();
    let body = format!(
        "<section class=\"card\"><h1>Settings</h1>{email}{notice}\
<form method=\"post\" action=\"/settings\" class=\"editor\">{csrf}\
<label for=\"name\">Name</label>\
<input type=\"text\" id=\"name\" name=\"name\" value=\"{name}\" required autocomplete=\"name\" data-testid=\"settings-name\"{name_invalid}>\
{name_error}\
<label for=\"picture\">Picture URL <span class=\"hint\">https://…; leave empty to keep the current one</span></label>\
<input type=\"url\" id=\"picture\" name=\"picture\" value=\"{picture}\" data-testid=\"settings-picture\"{picture_invalid}>\
{picture_error}\
<label for=\"bio\">Bio</label>\
<textarea id=\"bio\" name=\"bio\" rows=\"5\" data-testid=\"settings-bio\"{bio_invalid}>\n{bio}</textarea>\
{bio_error}\
<p class=\"actions\"><button type=\"submit\" data-testid=\"save\">Save</button> <a href=\"/dashboard\">Cancel</a></p>\
</form></section>",
        csrf = forms::hidden_field(state, s),
        name = esc(&v.name),
        picture = esc(&v.picture),
        bio = esc(&v.bio),
        name_invalid = invalid(v.name_error.as_ref(), "name-error"),
        picture_invalid = invalid(v.picture_error.as_ref(), "picture-error"),
        bio_invalid = invalid(v.bio_error.as_ref(), "bio-error"),
        name_error = field_error(v.name_error.as_ref(), "name-error"),
        picture_error = field_error(v.picture_error.as_ref(), "picture-error"),
        bio_error = field_error(v.bio_error.as_ref(), "bio-error"),
    );
    pages::html(status, pages::layout("Settings", Some(&s.user), &body))
}
