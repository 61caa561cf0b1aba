//! Every route of the tenant and the layers in front of them, in one place.

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use crate::state::AppState;
use crate::{
    authorize, dev_controls, discovery, fault_injection, login, logout, management, oauth_revoke,
    oauth_token, userinfo,
};

/// All routes of the tenant (`/__dev` only when dev controls are on).
pub fn router(state: AppState) -> Router {
    let s = state.clone();
    let discovery_doc = || {
        get(discovery::openid_configuration)
            .route_layer(from_fn_with_state(s.clone(), fault_injection::discovery))
    };
    let mut r = Router::new()
        .route("/.well-known/openid-configuration", discovery_doc())
        .route("/.well-known/oauth-authorization-server", discovery_doc())
        .route(
            "/.well-known/jwks.json",
            get(discovery::jwks).route_layer(from_fn_with_state(s.clone(), fault_injection::jwks)),
        )
        .route("/authorize", get(authorize::authorize))
        .route(
            "/u/login",
            get(login::form::login_page).post(login::password::login_submit),
        )
        .route(
            "/u/signup",
            get(login::form::signup_page).post(login::signup::signup_submit),
        )
        .route(
            "/u/email-verification",
            get(login::email_verification::verify_email),
        )
        .route(
            "/oauth/token",
            post(oauth_token::token)
                .route_layer(from_fn_with_state(s.clone(), fault_injection::token)),
        )
        .route("/oauth/revoke", post(oauth_revoke::revoke))
        .route(
            "/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route("/v2/logout", get(logout::v2_logout))
        .route(
            "/oidc/logout",
            get(logout::oidc_logout_get).post(logout::oidc_logout_post),
        )
        .nest("/api/v2", management::router(state.clone()));
    if state.opts.dev_controls {
        r = r.nest("/__dev", dev_controls::router(state.clone()));
    }
    r.fallback(discovery::not_found).with_state(state)
}
