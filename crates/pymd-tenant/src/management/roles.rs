//! Management API roles: `GET /users/{id}/roles`, `GET /users/{id}/permissions` (with their
//! role sources) and `GET /roles` (`name_filter`), paged the Auth0 way.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::bearer::require;
use crate::error::{ManagementError, management_json};
use crate::extract::{Bearer, QueryParams};
use crate::state::AppState;
use crate::store::users::{User, permissions_for};

/// Auth0's paging: `page`/`per_page` (1–100, default 50) only when asked, and the
/// `include_totals` envelope.
fn paged(query: &QueryParams, key: &str, items: Vec<Value>) -> Value {
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

async fn existing_user(state: &AppState, id: &str) -> Result<User, ManagementError> {
    state
        .users
        .get(id)
        .await
        .ok_or_else(ManagementError::inexistent_user)
}

/// `GET /api/v2/users/{id}/roles`.
pub async fn user_roles(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: QueryParams,
    bearer: Bearer,
) -> Result<Response, ManagementError> {
    let scopes = ["read:users", "read:roles", "read:role_members"];
    require(&state, bearer, &scopes).await?;
    let u = existing_user(&state, &id).await?;
    let roles: Vec<Value> = state
        .cfg
        .roles
        .iter()
        .filter(|r| u.roles.contains(&r.name))
        .map(|r| json!({"id": r.id, "name": r.name, "description": r.description}))
        .collect();
    Ok(management_json(
        StatusCode::OK,
        paged(&query, "roles", roles),
    ))
}

/// `GET /api/v2/users/{id}/permissions`.
pub async fn user_permissions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: QueryParams,
    bearer: Bearer,
) -> Result<Response, ManagementError> {
    require(&state, bearer, &["read:users"]).await?;
    let u = existing_user(&state, &id).await?;
    let mut out = Vec::new();
    for rs in &state.cfg.resource_servers {
        for perm in permissions_for(&state.cfg, &u.roles, &rs.identifier) {
            out.push(permission_json(&state, &u, rs, &perm));
        }
    }
    Ok(management_json(
        StatusCode::OK,
        paged(&query, "permissions", out),
    ))
}

/// One permission of a user on an API, with the roles it comes from.
fn permission_json(
    state: &AppState,
    u: &User,
    rs: &crate::config::ResourceServerConfig,
    perm: &str,
) -> Value {
    let sources: Vec<Value> = state
        .cfg
        .roles
        .iter()
        .filter(|r| u.roles.contains(&r.name))
        .filter(|r| {
            r.permissions
                .iter()
                .any(|(a, p)| a == &rs.identifier && p == perm)
        })
        .map(|r| json!({"source_id": r.id, "source_name": r.name, "source_type": "ROLE"}))
        .collect();
    let description = rs
        .scopes
        .iter()
        .find(|(s, _)| s == perm)
        .map(|(_, d)| d.clone())
        .unwrap_or_default();
    json!({
        "permission_name": perm,
        "description": description,
        "resource_server_name": rs.name,
        "resource_server_identifier": rs.identifier,
        "sources": sources,
    })
}

/// `GET /api/v2/roles`.
pub async fn list_roles(
    State(state): State<AppState>,
    query: QueryParams,
    bearer: Bearer,
) -> Result<Response, ManagementError> {
    require(&state, bearer, &["read:roles"]).await?;
    let filter = query
        .get("name_filter")
        .cloned()
        .unwrap_or_default()
        .to_lowercase();
    let roles: Vec<Value> = state
        .cfg
        .roles
        .iter()
        .filter(|r| filter.is_empty() || r.name.to_lowercase().contains(&filter))
        .map(|r| json!({"id": r.id, "name": r.name, "description": r.description}))
        .collect();
    Ok(management_json(
        StatusCode::OK,
        paged(&query, "roles", roles),
    ))
}

/// `POST /api/v2/users/{id}/roles` with `{"roles": ["rol_…"]}`: gives the user those roles
/// (already held ones are kept once) and answers 204.
pub async fn assign_roles(
    State(state): State<AppState>,
    Path(id): Path<String>,
    bearer: Bearer,
    body: axum::body::Bytes,
) -> Result<Response, ManagementError> {
    require(&state, bearer, &["create:role_members", "update:users"]).await?;
    let invalid = |why: &'static str| {
        ManagementError::new(
            StatusCode::BAD_REQUEST,
            format!("Payload validation error: {why}"),
            Some("invalid_body"),
        )
    };
    let v: Value = serde_json::from_slice(&body).map_err(|_| invalid("Invalid JSON."))?;
    let Some(ids) = v
        .as_object()
        .and_then(|o| o.get("roles"))
        .and_then(Value::as_array)
    else {
        return Err(invalid("Missing required property: roles."));
    };
    if ids.is_empty() || v.as_object().is_some_and(|o| o.len() != 1) {
        return Err(invalid(
            "'roles' must hold at least one role id and nothing else may be sent.",
        ));
    }
    let mut names = Vec::new();
    for id in ids {
        let role = id
            .as_str()
            .and_then(|rid| state.cfg.roles.iter().find(|r| r.id == rid));
        match role {
            Some(r) => names.push(r.name.clone()),
            None => {
                return Err(ManagementError::new(
                    StatusCode::NOT_FOUND,
                    "The role does not exist.",
                    Some("inexistent_role"),
                ));
            }
        }
    }
    let changed = state
        .users
        .change(&id, None, |u| {
            for n in names {
                if !u.roles.contains(&n) {
                    u.roles.push(n);
                }
            }
        })
        .await;
    match changed {
        Ok(()) => Ok(axum::response::IntoResponse::into_response(
            StatusCode::NO_CONTENT,
        )),
        Err(_) => Err(ManagementError::inexistent_user()),
    }
}
