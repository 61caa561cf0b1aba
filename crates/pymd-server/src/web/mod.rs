//! The web app (backend-for-frontend, spec §5): server-rendered pages and the sign-in with the
//! IdP. Tokens stay on the server; the browser holds only a session cookie (`session`) and, while
//! a login is under way, an encrypted transaction cookie (`auth`).

pub mod auth;
pub mod crypto;
pub mod documents;
pub mod forms;
pub mod oidc;
pub mod pages;
pub mod session;
pub mod settings;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use pymd_domain::PageRequest;

use self::session::{MaybeSession, SessionUser};
use crate::state::AppState;

/// The web pages (`/`, `/dashboard`, `/documents…`, `/settings`, `/static/app.css`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(landing))
        .route("/dashboard", get(dashboard))
        .route("/documents", get(documents::list).post(documents::create))
        .route("/documents/new", get(documents::new))
        .route(
            "/documents/{id}",
            get(documents::view).post(documents::update),
        )
        .route("/documents/{id}/edit", get(documents::edit))
        .route("/documents/{id}/delete", post(documents::delete))
        .route("/settings", get(settings::show).post(settings::save))
        .route("/static/app.css", get(stylesheet))
}

/// The sign-in routes `/auth/*` and their `/api/auth/*` aliases (rate limited per client IP by
/// the caller, see `crate::limits`).
pub fn auth_router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", get(auth::login))
        .route("/auth/callback", get(auth::callback))
        .route("/auth/logout", get(auth::logout))
        .route("/auth/profile", get(auth::profile_json))
        .route("/api/auth/login", get(auth::login))
        .route("/api/auth/callback", get(auth::callback))
        .route("/api/auth/logout", get(auth::logout))
        .route("/api/auth/profile", get(auth::profile_json))
}

async fn landing(MaybeSession(session): MaybeSession) -> Response {
    pages::landing(session.as_ref().map(|s| &s.user))
}

async fn dashboard(State(state): State<AppState>, s: SessionUser) -> Response {
    let page = PageRequest {
        limit: 10,
        after: None,
    };
    match state.store.list_documents(s.user.id, page).await {
        Ok(p) => pages::dashboard(&s.user, &p.documents),
        Err(e) => {
            tracing::warn!(error = %e, "dashboard: listing documents failed");
            pages::unavailable()
        }
    }
}

async fn stylesheet() -> Response {
    let mut r = pages::STYLESHEET.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}
