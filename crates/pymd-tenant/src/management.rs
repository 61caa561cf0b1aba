//! Management API v2 subset (§12): users by id and email, PATCH with Auth0's one-level
//! metadata merge, a user's roles and permissions, and the role list — behind Auth0's
//! bearer checks, error envelope and `x-ratelimit-*` headers (429 past the configured rate).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::passwords::{PasswordHash, looks_like_email};
use crate::state::AppState;
use crate::tokens::{AccessError, bearer, split_scope, verify_access};
use crate::users::{User, permissions_for};
use crate::web::query_params;

/// `/api/v2` routes.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/users/{id}", get(get_user).patch(patch_user))
        .route("/users-by-email", get(users_by_email))
        .route("/users/{id}/roles", get(user_roles))
        .route("/users/{id}/permissions", get(user_permissions))
        .route("/roles", get(list_roles))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state, rate_limit))
}

fn mgmt_error(status: StatusCode, message: &str, code: Option<&str>) -> Response {
    let mut body = json!({
        "statusCode": status.as_u16(),
        "error": status.canonical_reason().unwrap_or(""),
        "message": message,
    });
    if let Some(c) = code {
        body["errorCode"] = json!(c);
    }
    json_response(status, body)
}

fn json_response(status: StatusCode, body: Value) -> Response {
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

async fn not_found() -> Response {
    mgmt_error(StatusCode::NOT_FOUND, "Not Found", None)
}

/// Fixed one-second window; headers on every response, 429 past the limit.
async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let now = state.clock.unix();
    let limit = state.opts.management_rate_limit_per_sec;
    let (count, reset) = {
        let mut w = state.rate.lock().await;
        if w.second != now {
            w.second = now;
            w.count = 0;
        }
        w.count = w.count.saturating_add(1);
        (w.count, now + 1)
    };
    let shown_limit = limit.unwrap_or(1000);
    let over = limit.is_some_and(|l| count > l);
    let mut r = if over {
        let mut r = mgmt_error(
            StatusCode::TOO_MANY_REQUESTS,
            "Global limit has been reached",
            Some("too_many_requests"),
        );
        r.headers_mut().insert("retry-after", HeaderValue::from(1));
        r
    } else {
        next.run(req).await
    };
    let h = r.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(shown_limit));
    h.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(shown_limit.saturating_sub(count)),
    );
    h.insert("x-ratelimit-reset", HeaderValue::from(reset));
    r
}

/// Checks the bearer token: audience `ISSUER/api/v2/` and any of `scopes`.
async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    scopes: &[&str],
) -> Result<Value, Response> {
    let token = match bearer(headers) {
        None => {
            return Err(mgmt_error(
                StatusCode::UNAUTHORIZED,
                "Missing authentication",
                None,
            ));
        }
        Some(Err(())) => {
            return Err(mgmt_error(
                StatusCode::BAD_REQUEST,
                "Bad HTTP authentication header format",
                Some("Bearer"),
            ));
        }
        Some(Ok(t)) => t,
    };
    let claims = verify_access(state, &token, &state.cfg.management_audience())
        .await
        .map_err(|e| {
            let msg = match e {
                AccessError::Expired => "Expired token received for JSON Web Token validation",
                AccessError::Signature => "Invalid signature received for JSON Web Token validation",
                AccessError::Malformed | AccessError::Claims => "Invalid token",
            };
            let mut body = json!({"statusCode": 401, "error": "Unauthorized", "message": msg, "attributes": {"error": msg}});
            if e == AccessError::Malformed {
                body["message"] = json!("Invalid token");
            }
            json_response(StatusCode::UNAUTHORIZED, body)
        })?;
    let granted = split_scope(claims.get("scope").and_then(Value::as_str).unwrap_or(""));
    if !scopes.iter().any(|s| granted.iter().any(|g| g == s)) {
        return Err(mgmt_error(
            StatusCode::FORBIDDEN,
            &format!("Insufficient scope, expected any of: {}", scopes.join(",")),
            Some("insufficient_scope"),
        ));
    }
    Ok(claims)
}

fn inexistent() -> Response {
    mgmt_error(
        StatusCode::NOT_FOUND,
        "The user does not exist.",
        Some("inexistent_user"),
    )
}

fn user_json(
    state: &AppState,
    u: &User,
    query: &std::collections::HashMap<String, String>,
) -> Value {
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

async fn get_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(
        &state,
        &headers,
        &["read:users", "read:current_user", "read:user_idp_tokens"],
    )
    .await
    {
        return r;
    }
    let query = query_params(q.as_deref());
    match state.users.read().await.get(&id) {
        Some(u) => json_response(StatusCode::OK, user_json(&state, u, &query)),
        None => inexistent(),
    }
}

async fn users_by_email(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &["read:users"]).await {
        return r;
    }
    let query = query_params(q.as_deref());
    let Some(email) = query.get("email").filter(|e| !e.is_empty()) else {
        return mgmt_error(
            StatusCode::BAD_REQUEST,
            "Query validation error: 'Missing required property: email' on property email (Email address to search for (case-sensitive)).",
            Some("invalid_query_string"),
        );
    };
    let users = state.users.read().await;
    // Auth0 matches case-sensitively; hosted emails are stored lower-cased.
    let list: Vec<Value> = users
        .all()
        .filter(|u| &u.email == email)
        .map(|u| user_json(&state, u, &query))
        .collect();
    json_response(StatusCode::OK, Value::Array(list))
}

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

fn invalid_body(msg: &str) -> Response {
    mgmt_error(
        StatusCode::BAD_REQUEST,
        &format!("Payload validation error: {msg}"),
        Some("invalid_body"),
    )
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

fn expect(v: &Value, key: &str, want: &str, nullable: bool) -> Result<(), Response> {
    let t = type_name(v);
    if t == want || (nullable && t == "null") {
        Ok(())
    } else {
        Err(invalid_body(&format!(
            "'Expected type {want} but found type {t}' on property {key}."
        )))
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

fn validate_patch(state: &AppState, body: &Map<String, Value>) -> Result<(), Response> {
    let unknown: Vec<&str> = body
        .keys()
        .filter(|k| !PATCHABLE.contains(&k.as_str()))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(invalid_body(&format!(
            "'Additional properties not allowed: {}' (consider storing them in app_metadata or user_metadata. See \"Users Metadata\" in https://auth0.com/docs/api/v2/changes for more details)",
            unknown.join(",")
        )));
    }
    if body.is_empty() {
        return Err(invalid_body("'Too few properties defined (0), minimum 1'."));
    }
    for (k, v) in body {
        match k.as_str() {
            "blocked"
            | "email_verified"
            | "verify_email"
            | "phone_verified"
            | "verify_phone_number" => expect(v, k, "boolean", false)?,
            "user_metadata" | "app_metadata" => {
                expect(v, k, "object", false)?;
                if let Some(bad) = v
                    .as_object()
                    .and_then(|m| m.keys().find(|x| x.contains('.') || x.contains('$')))
                {
                    return Err(invalid_body(&format!(
                        "'Metadata keys must not contain \".\" or \"$\"' on property {k} (key {bad})."
                    )));
                }
            }
            "given_name" | "family_name" | "phone_number" | "username" => {
                expect(v, k, "string", true)?
            }
            "connection" => {
                expect(v, k, "string", false)?;
                if v.as_str() != Some(state.cfg.database.name.as_str()) {
                    return Err(mgmt_error(
                        StatusCode::BAD_REQUEST,
                        "The connection does not exist.",
                        Some("inexistent_connection"),
                    ));
                }
            }
            _ => expect(v, k, "string", false)?,
        }
    }
    Ok(())
}

async fn patch_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = authorize(
        &state,
        &headers,
        &[
            "update:users",
            "update:users_app_metadata",
            "update:current_user_metadata",
        ],
    )
    .await
    {
        return r;
    }
    let Ok(Value::Object(patch)) = serde_json::from_slice::<Value>(&body) else {
        return mgmt_error(
            StatusCode::BAD_REQUEST,
            "Invalid request payload JSON format",
            None,
        );
    };
    if let Err(r) = validate_patch(&state, &patch) {
        return r;
    }
    if state.users.read().await.get(&id).is_none() {
        return inexistent();
    }
    let new_hash = match patch.get("password").and_then(Value::as_str) {
        Some(pw) => {
            if state.cfg.database.policy.check(pw).is_err() {
                return mgmt_error(
                    StatusCode::BAD_REQUEST,
                    "PasswordStrengthError: Password is too weak",
                    None,
                );
            }
            let pw = pw.to_string();
            match tokio::task::spawn_blocking(move || PasswordHash::new(&pw)).await {
                Ok(h) => Some(h),
                Err(_) => {
                    return mgmt_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal error", None);
                }
            }
        }
        None => None,
    };
    let new_email = match patch.get("email").and_then(Value::as_str) {
        Some(e) => {
            let e = e.trim().to_lowercase();
            if !looks_like_email(&e) {
                return invalid_body(
                    "'Object didn't pass validation for format email' on property email.",
                );
            }
            Some(e)
        }
        None => None,
    };
    let now = state.clock.now();
    let mut users = state.users.write().await;
    if let Some(e) = &new_email
        && users.by_email(e).is_some_and(|u| u.user_id != id)
    {
        return mgmt_error(
            StatusCode::CONFLICT,
            "The specified new email already exists",
            Some("email_conflict"),
        );
    }
    let Some(u) = users.get_mut(&id) else {
        return inexistent();
    };
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
        u.password = h;
    }
    u.updated_at = now;
    let out = u.to_management_json(&state.cfg.database.name);
    json_response(StatusCode::OK, out)
}

fn paged(query: &std::collections::HashMap<String, String>, key: &str, items: Vec<Value>) -> Value {
    let total = items.len();
    let per_page = query
        .get("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 100);
    let page = query
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(0);
    let paginate = query.contains_key("page") || query.contains_key("per_page");
    let slice: Vec<Value> = if paginate {
        items
            .into_iter()
            .skip(page * per_page)
            .take(per_page)
            .collect()
    } else {
        items
    };
    if query.get("include_totals").map(String::as_str) == Some("true") {
        json!({ key: slice, "start": if paginate { page * per_page } else { 0 }, "limit": if paginate { per_page } else { total.max(50) }, "total": total })
    } else {
        Value::Array(slice)
    }
}

async fn user_roles(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(
        &state,
        &headers,
        &["read:users", "read:roles", "read:role_members"],
    )
    .await
    {
        return r;
    }
    let Some(u) = state.users.read().await.get(&id).cloned() else {
        return inexistent();
    };
    let roles: Vec<Value> = state
        .cfg
        .roles
        .iter()
        .filter(|r| u.roles.contains(&r.name))
        .map(|r| json!({"id": r.id, "name": r.name, "description": r.description}))
        .collect();
    json_response(
        StatusCode::OK,
        paged(&query_params(q.as_deref()), "roles", roles),
    )
}

async fn user_permissions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &["read:users"]).await {
        return r;
    }
    let Some(u) = state.users.read().await.get(&id).cloned() else {
        return inexistent();
    };
    let mut out = Vec::new();
    for rs in &state.cfg.resource_servers {
        for perm in permissions_for(&state.cfg, &u.roles, &rs.identifier) {
            let sources: Vec<Value> = state
                .cfg
                .roles
                .iter()
                .filter(|r| u.roles.contains(&r.name))
                .filter(|r| {
                    r.permissions
                        .iter()
                        .any(|(a, p)| a == &rs.identifier && p == &perm)
                })
                .map(|r| json!({"source_id": r.id, "source_name": r.name, "source_type": "ROLE"}))
                .collect();
            let description = rs
                .scopes
                .iter()
                .find(|(s, _)| s == &perm)
                .map(|(_, d)| d.clone())
                .unwrap_or_default();
            out.push(json!({
                "permission_name": perm,
                "description": description,
                "resource_server_name": rs.name,
                "resource_server_identifier": rs.identifier,
                "sources": sources,
            }));
        }
    }
    json_response(
        StatusCode::OK,
        paged(&query_params(q.as_deref()), "permissions", out),
    )
}

async fn list_roles(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&state, &headers, &["read:roles"]).await {
        return r;
    }
    let query = query_params(q.as_deref());
    let filter = query.get("name_filter").cloned().unwrap_or_default();
    let roles: Vec<Value> = state
        .cfg
        .roles
        .iter()
        .filter(|r| filter.is_empty() || r.name.to_lowercase().contains(&filter.to_lowercase()))
        .map(|r| json!({"id": r.id, "name": r.name, "description": r.description}))
        .collect();
    json_response(StatusCode::OK, paged(&query, "roles", roles))
}
