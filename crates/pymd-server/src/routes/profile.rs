//! `/api/v1/profile`: the caller's profile, read from the token and the stored user, and changed
//! through [`crate::service::profile::update`] (Auth0's Management API first, so Auth0 stays
//! the source of truth, then locally).

use axum::Json;
use axum::extract::State;
use pymd_domain::{Permission, ProfilePatch, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::Via;
use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::principal::Principal;
use crate::service::profile;
use crate::state::AppState;

/// The caller's profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileView {
    /// The IdP's user id (`sub`).
    user_id: String,
    email: Option<String>,
    name: Option<String>,
    picture: Option<String>,
    bio: Option<String>,
    email_verified: bool,
    roles: Vec<String>,
    permissions: Vec<String>,
}

impl ProfileView {
    fn new(user: User, principal: &Principal, roles_claim: &str) -> Self {
        ProfileView {
            user_id: user.auth0_id,
            email: user.email,
            name: user.name,
            picture: user.picture,
            bio: user.bio,
            email_verified: user.email_verified,
            roles: principal.roles(roles_claim),
            permissions: principal
                .permissions()
                .into_iter()
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// Body of a profile change: any of the three fields, at least one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct ProfileInput {
    /// 1–300 characters, not blank, no control characters.
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 300,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    #[serde(default, deserialize_with = "string_not_null")]
    name: Option<String>,
    /// An `http(s)://` URL of at most 2048 bytes, no control characters.
    #[schema(
        nullable = false,
        max_length = 512,
        pattern = r"^[hH][tT][tT][pP][sS]?://[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    #[serde(default, deserialize_with = "string_not_null")]
    picture: Option<String>,
    /// At most 2000 characters; no control characters but tab and line breaks.
    #[schema(
        nullable = false,
        max_length = 2000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    #[serde(default, deserialize_with = "string_not_null")]
    bio: Option<String>,
}

/// A field that may be left out but, when sent, is a string: `null` is refused (422 naming it)
/// rather than read as "leave it".
fn string_not_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    <String as serde::Deserialize>::deserialize(d).map(Some)
}

/// The caller's profile.
#[utoipa::path(get, path = "/api/v1/profile", tag = "profile",
    responses((status = 200, body = ProfileView), (status = 401), (status = 403)),
    security(("bearer" = ["read:profile"])))]
pub async fn get_profile(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<ProfileView>> {
    principal.require(Permission::ReadProfile)?;
    let user = principal.user(&state).await?;
    Ok(Json(ProfileView::new(
        user,
        &principal,
        &state.config.roles_claim,
    )))
}

/// Change name, picture or bio: written to Auth0 (`PATCH /api/v2/users/{id}`, `bio` in
/// `user_metadata`), then locally. If Auth0 refuses or is down: 502/503, nothing changed, and a
/// `profile_update` failure is audited.
#[utoipa::path(patch, path = "/api/v1/profile", tag = "profile", request_body = ProfileInput,
    responses((status = 200, body = ProfileView), (status = 400), (status = 401), (status = 403), (status = 415), (status = 422), (status = 502), (status = 503)),
    security(("bearer" = ["write:profile"])))]
pub async fn patch_profile(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<ProfileInput>,
) -> ApiResult<Json<ProfileView>> {
    principal.require(Permission::WriteProfile)?;
    let patch = ProfilePatch {
        name: input.name,
        picture: input.picture,
        bio: input.bio,
    };
    let user = profile::update(&state, &principal.user(&state).await?, patch, Via::Api).await?;
    Ok(Json(ProfileView::new(
        user,
        &principal,
        &state.config.roles_claim,
    )))
}
