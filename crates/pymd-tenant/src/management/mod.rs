//! Management API v2 subset (§12): users by id and email, PATCH with Auth0's one-level
//! metadata merge ([`users`]), a user's roles and permissions and the role list ([`roles`]) —
//! behind Auth0's bearer checks ([`bearer`]), error envelope and `x-ratelimit-*` headers (429 past the
//! configured rate).

pub mod bearer;
pub mod roles;
pub mod users;

use crate::error::ManagementError;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// `/api/v2` routes.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/users/{id}", get(users::get_user).patch(users::patch_user))
        .route("/users-by-email", get(users::users_by_email))
        .route(
            "/users/{id}/roles",
            get(roles::user_roles).post(roles::assign_roles),
        )
        .route("/users/{id}/permissions", get(roles::user_permissions))
        .route("/roles", get(roles::list_roles))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state, rate_limit))
}

async fn not_found() -> ManagementError {
    ManagementError::new(StatusCode::NOT_FOUND, "Not Found", None)
}

/// Fixed one-second window when a limit is configured: `x-ratelimit-*` headers on every
/// response and 429 past the limit. Unlimited (the default) sends no such headers, rather than
/// advertise a limit that is not enforced.
async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let now = state.clock.unix();
    let Some(limit) = state.opts.management_rate_limit_per_sec else {
        return next.run(req).await;
    };
    let count = state.rate.hit(now).await;
    let mut r = if count > limit {
        let mut r = ManagementError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Global limit has been reached",
            Some("too_many_requests"),
        )
        .into_response();
        r.headers_mut().insert("retry-after", HeaderValue::from(1));
        r
    } else {
        next.run(req).await
    };
    let h = r.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(limit));
    h.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(limit.saturating_sub(count)),
    );
    h.insert("x-ratelimit-reset", HeaderValue::from(now + 1));
    r
}
