//! Management API users: `GET /users/{id}` and `GET /users-by-email` (with `fields` /
//! `include_fields`), and `PATCH /users/{id}` — Auth0's payload validation, password policy,
//! email uniqueness and one-level metadata merge.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

use super::bearer::require;
use crate::error::{ManagementError, management_json};
use crate::extract::{Bearer, QueryParams};
use crate::passwords::{PasswordHash, in_dictionary, looks_like_email};
use crate::state::AppState;
use crate::store::users::{ChangeError, User};

const PATCHABLE: &[&str] = &[
    "app_metadata",
    "blocked",
    "email",
    "email_verified",
    "family_name",
    "given_name",
    "name",
    "nickname",
    "password",
    "phone_number",
    "phone_verified",
    "picture",
    "username",
    "user_metadata",
    "verify_email",
    "verify_phone_number",
    "verify_password",
    "connection",
    "client_id",
];

/// The Management API user object, cut to `fields` (or without them if
/// `include_fields=false`).
fn user_json(state: &AppState, u: &User, query: &QueryParams) -> Value {
    let v = u.to_management_json(&state.cfg.database.name);
    let Some(fields) = query.get("fields").filter(|f| !f.is_empty()) else {
        return v;
    };
    let wanted: Vec<&str> = fields.split(',').map(str::trim).collect();
    let include = query.get("include_fields").map(String::as_str) != Some("false");
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| wanted.contains(&k.as_str()) == include)
                .collect(),
        ),
        other => other,
    }
}

/// `GET /api/v2/users/{id}`.
pub async fn get_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: QueryParams,
    bearer: Bearer,
) -> Result<Response, ManagementError> {
    let scopes = ["read:users", "read:current_user", "read:user_idp_tokens"];
    require(&state, bearer, &scopes).await?;
    let u = state
        .users
        .get(&id)
        .await
        .ok_or_else(ManagementError::inexistent_user)?;
    Ok(management_json(
        StatusCode::OK,
        user_json(&state, &u, &query),
    ))
}

/// `GET /api/v2/users-by-email?email=…` (case-sensitive, as Auth0 matches; hosted emails are
/// stored lower-cased).
pub async fn users_by_email(
    State(state): State<AppState>,
    query: QueryParams,
    bearer: Bearer,
) -> Result<Response, ManagementError> {
    require(&state, bearer, &["read:users"]).await?;
    let Some(email) = query.get("email").filter(|e| !e.is_empty()) else {
        return Err(ManagementError::new(
            StatusCode::BAD_REQUEST,
            "Query validation error: 'Missing required property: email' on property email (Email address to search for (case-sensitive)).",
            Some("invalid_query_string"),
        ));
    };
    let list: Vec<Value> = state
        .users
        .with_email(email)
        .await
        .iter()
        .map(|u| user_json(&state, u, &query))
        .collect();
    Ok(management_json(StatusCode::OK, Value::Array(list)))
}

/// Without `update:users`, a token may change only what its narrower scope covers:
/// `update:users_app_metadata` → `app_metadata`; `update:current_user_metadata` → the caller's
/// own `user_metadata`.
fn within_granted_fields(
    claims: &Value,
    id: &str,
    patch: &Map<String, Value>,
) -> Result<(), ManagementError> {
    let granted = crate::scope::split_scope(claims["scope"].as_str().unwrap_or(""));
    let has = |s: &str| granted.iter().any(|g| g == s);
    if has("update:users") {
        return Ok(());
    }
    let own = claims["sub"].as_str() == Some(id);
    let allowed = |field: &str| match field {
        "app_metadata" => has("update:users_app_metadata"),
        "user_metadata" => has("update:current_user_metadata") && own,
        _ => false,
    };
    if patch.keys().all(|k| allowed(k)) {
        return Ok(());
    }
    Err(ManagementError::new(
        StatusCode::FORBIDDEN,
        "Insufficient scope, expected any of: update:users",
        Some("insufficient_scope"),
    ))
}

/// `PATCH /api/v2/users/{id}`.
pub async fn patch_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    bearer: Bearer,
    body: Bytes,
) -> Result<Response, ManagementError> {
    let scopes = [
        "update:users",
        "update:users_app_metadata",
        "update:current_user_metadata",
    ];
    let claims = require(&state, bearer, &scopes).await?;
    let patch = parse_patch(&state, &body)?;
    within_granted_fields(&claims, &id, &patch)?;
    let Some(current) = state.users.get(&id).await else {
        return Err(ManagementError::inexistent_user());
    };
    let new_hash = new_password(&state, &patch, current).await?;
    let new_email = new_email(&patch)?;
    let now = state.clock.now();
    let connection = state.cfg.database.name.clone();
    let history = state.cfg.database.history_size;
    let changed = state
        .users
        .change(&id, new_email.as_deref(), |u| {
            apply_patch(u, &patch, new_email.clone(), new_hash, history);
            u.updated_at = now;
            u.to_management_json(&connection)
        })
        .await;
    match changed {
        Ok(out) => Ok(management_json(StatusCode::OK, out)),
        Err(ChangeError::Missing) => Err(ManagementError::inexistent_user()),
        Err(ChangeError::EmailTaken) => Err(ManagementError::new(
            StatusCode::CONFLICT,
            "The specified new email already exists",
            Some("email_conflict"),
        )),
    }
}

/// The body as a JSON object that passes Auth0's payload validation.
fn parse_patch(state: &AppState, body: &[u8]) -> Result<Map<String, Value>, ManagementError> {
    let Ok(Value::Object(patch)) = serde_json::from_slice::<Value>(body) else {
        return Err(ManagementError::new(
            StatusCode::BAD_REQUEST,
            "Invalid request payload JSON format",
            None,
        ));
    };
    validate_patch(state, &patch)?;
    Ok(patch)
}

/// A new password (policy-checked, hashed off the async runtime), if the patch has one.
/// The new password's hash, once it passes the connection's rules in Auth0's order: strength,
/// dictionary, history.
async fn new_password(
    state: &AppState,
    patch: &Map<String, Value>,
    user: User,
) -> Result<Option<PasswordHash>, ManagementError> {
    let Some(pw) = patch.get("password").and_then(Value::as_str) else {
        return Ok(None);
    };
    let db = &state.cfg.database;
    let refuse =
        |message: &'static str| Err(ManagementError::new(StatusCode::BAD_REQUEST, message, None));
    if db.policy.check(pw).is_err() {
        return refuse("PasswordStrengthError: Password is too weak");
    }
    if db
        .dictionary
        .as_ref()
        .is_some_and(|custom| in_dictionary(pw, custom))
    {
        return refuse("PasswordDictionaryError: Password is too common");
    }
    let (pw, history) = (pw.to_string(), db.history_size);
    let hashed = tokio::task::spawn_blocking(move || {
        (!user.used_before(&pw, history)).then(|| PasswordHash::new(&pw))
    })
    .await
    .map_err(|_| ManagementError::internal())?;
    match hashed {
        Some(h) => Ok(Some(h)),
        None => refuse("PasswordHistoryError: Password has previously been used"),
    }
}

/// A new (trimmed, lower-cased) email, if the patch has one.
fn new_email(patch: &Map<String, Value>) -> Result<Option<String>, ManagementError> {
    let Some(e) = patch.get("email").and_then(Value::as_str) else {
        return Ok(None);
    };
    let e = e.trim().to_lowercase();
    if !looks_like_email(&e) {
        return Err(ManagementError::invalid_body(
            "'Object didn't pass validation for format email' on property email.",
        ));
    }
    Ok(Some(e))
}

/// Applies a validated patch; a changed email is no longer verified.
fn apply_patch(
    u: &mut User,
    patch: &Map<String, Value>,
    new_email: Option<String>,
    new_hash: Option<PasswordHash>,
    history_size: usize,
) {
    let s = |k: &str| patch.get(k).and_then(Value::as_str).map(str::to_string);
    if let Some(e) = new_email
        && e != u.email
    {
        u.email = e;
        u.email_verified = false;
    }
    if let Some(v) = patch.get("email_verified").and_then(Value::as_bool) {
        u.email_verified = v;
    }
    if let Some(v) = s("name") {
        u.name = v;
    }
    if let Some(v) = s("nickname") {
        u.nickname = v;
    }
    if let Some(v) = s("picture") {
        u.picture = v;
    }
    if let Some(v) = patch.get("given_name") {
        u.given_name = v.as_str().map(str::to_string);
    }
    if let Some(v) = patch.get("family_name") {
        u.family_name = v.as_str().map(str::to_string);
    }
    if let Some(v) = patch.get("blocked").and_then(Value::as_bool) {
        u.blocked = v;
    }
    if let Some(Value::Object(m)) = patch.get("user_metadata") {
        merge(&mut u.user_metadata, m);
    }
    if let Some(Value::Object(m)) = patch.get("app_metadata") {
        let mut cur = u.app_metadata.take().unwrap_or_default();
        merge(&mut cur, m);
        u.app_metadata = if cur.is_empty() { None } else { Some(cur) };
    }
    if let Some(h) = new_hash {
        u.set_password(h, history_size);
    }
}

/// One-level merge: each top-level key replaces; `null` deletes; `{}` clears everything.
fn merge(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    if patch.is_empty() {
        target.clear();
        return;
    }
    for (k, v) in patch {
        if v.is_null() {
            target.remove(k);
        } else {
            target.insert(k.clone(), v.clone());
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn expect(v: &Value, key: &str, want: &str, nullable: bool) -> Result<(), ManagementError> {
    let t = type_name(v);
    if t == want || (nullable && t == "null") {
        Ok(())
    } else {
        Err(ManagementError::invalid_body(&format!(
            "'Expected type {want} but found type {t}' on property {key}."
        )))
    }
}

/// Auth0's payload validation: only patchable properties, at least one, each of its type.
fn validate_patch(state: &AppState, body: &Map<String, Value>) -> Result<(), ManagementError> {
    let unknown: Vec<&str> = body
        .keys()
        .filter(|k| !PATCHABLE.contains(&k.as_str()))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(ManagementError::invalid_body(&format!(
            "'Additional properties not allowed: {}' (consider storing them in app_metadata or user_metadata. See \"Users Metadata\" in https://auth0.com/docs/api/v2/changes for more details)",
            unknown.join(",")
        )));
    }
    if body.is_empty() {
        return Err(ManagementError::invalid_body(
            "'Too few properties defined (0), minimum 1'.",
        ));
    }
    for (k, v) in body {
        validate_property(state, k, v)?;
    }
    Ok(())
}

fn validate_property(state: &AppState, k: &str, v: &Value) -> Result<(), ManagementError> {
    match k {
        "blocked"
        | "email_verified"
        | "verify_email"
        | "phone_verified"
        | "verify_phone_number" => expect(v, k, "boolean", false),
        "user_metadata" | "app_metadata" => {
            expect(v, k, "object", false)?;
            match v
                .as_object()
                .and_then(|m| m.keys().find(|x| x.contains('.') || x.contains('$')))
            {
                Some(bad) => Err(ManagementError::invalid_body(&format!(
                    "'Metadata keys must not contain \".\" or \"$\"' on property {k} (key {bad})."
                ))),
                None => Ok(()),
            }
        }
        "given_name" | "family_name" | "phone_number" | "username" => expect(v, k, "string", true),
        "connection" => {
            expect(v, k, "string", false)?;
            if v.as_str() != Some(state.cfg.database.name.as_str()) {
                return Err(ManagementError::new(
                    StatusCode::BAD_REQUEST,
                    "The connection does not exist.",
                    Some("inexistent_connection"),
                ));
            }
            Ok(())
        }
        _ => expect(v, k, "string", false),
    }
}
