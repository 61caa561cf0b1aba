//! The web app (backend-for-frontend, spec §5): server-rendered pages and the sign-in with the
//! IdP. Tokens stay on the server; the browser holds only a session cookie (`session`) and, while
//! a login is under way, an encrypted transaction cookie (`auth`).

pub mod access;
pub mod api_docs;
pub mod auth;
pub mod backchannel;
pub mod callback;
pub mod crypto;
pub mod documents;
pub mod error;
pub mod forms;
pub mod oidc;
pub mod pages;
pub mod session;
pub mod settings;
pub mod spa;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use pymd_domain::PageRequest;

use self::error::PageError;
use self::pages::{Dashboard, Landing, Page};
use self::session::{MaybeSession, SessionUser};
use crate::state::AppState;

/// The web pages (`/`, `/dashboard`, `/documents…`, `/settings`, `/api/docs`, `/static/…`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(landing))
        .route("/dashboard", get(dashboard))
        .route("/documents", get(documents::list).post(documents::create))
        .route("/documents/new", get(documents::new))
        .route("/documents/preview", post(documents::preview))
        .route(
            "/documents/{id}",
            get(documents::view).post(documents::update),
        )
        .route("/documents/{id}/edit", get(documents::edit))
        .route("/documents/{id}/delete", post(documents::delete))
        .route("/settings", get(settings::show).post(settings::save))
        .route("/static/app.css", get(stylesheet))
        .route("/static/favicon.svg", get(pages::favicon))
        .route("/favicon.ico", get(pages::favicon))
        .route("/static/editor.js", get(pages::editor_script))
        .route("/api/docs", get(api_docs::show))
}

/// The sign-in routes `/auth/login`, `/auth/callback` and their `/api/auth/*` aliases (rate
/// limited per client IP by the caller, see `crate::limits`).
pub fn auth_router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", get(auth::login))
        .route("/auth/callback", get(callback::callback))
        .route("/api/auth/login", get(auth::login))
        .route("/api/auth/callback", get(callback::callback))
}

/// The session's own `/auth/*` routes: logging out must always work, and reading the profile
/// does not spend the sign-in budget, so neither is rate limited or refused to a blocked IP.
/// The IdP's back-channel logout (server to server, guarded by its signed token) is here too.
pub fn session_router() -> Router<AppState> {
    Router::new()
        .route(
            "/auth/backchannel-logout",
            post(backchannel::backchannel_logout),
        )
        .route(
            "/auth/logout",
            get(auth::logout).post(auth::logout_confirmed),
        )
        .route("/auth/profile", get(auth::profile_json))
        .route("/api/auth/logout", get(auth::logout))
        .route("/api/auth/profile", get(auth::profile_json))
}

async fn landing(MaybeSession(session): MaybeSession) -> Page<Landing> {
    let viewer = session.map(|s| pages::display_name(&s.user).to_owned());
    Page(StatusCode::OK, Landing { viewer })
}

async fn dashboard(
    State(state): State<AppState>,
    s: SessionUser,
) -> Result<Page<Dashboard>, PageError> {
    let recent = PageRequest {
        limit: 10,
        after: None,
    };
    let found = state.store.list_documents(s.user.id, recent).await?;
    Ok(Page(
        StatusCode::OK,
        Dashboard::new(&s.user, &found.documents),
    ))
}

async fn stylesheet() -> Response {
    pages::static_asset(
        pages::STYLESHEET,
        "text/css; charset=utf-8",
        "public, max-age=3600",
    )
}
