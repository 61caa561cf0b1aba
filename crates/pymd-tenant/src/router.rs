//! Every route of the tenant and the layers in front of them, in one place.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
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
        .route(
            "/authorize",
            get(authorize::authorize).route_layer(from_fn_with_state(s.clone(), with_iss)),
        )
        .route(
            "/u/login",
            get(login::form::login_page)
                .post(login::password::login_submit)
                .route_layer(from_fn_with_state(s.clone(), with_iss)),
        )
        .route(
            "/u/signup",
            get(login::form::signup_page)
                .post(login::signup::signup_submit)
                .route_layer(from_fn_with_state(s.clone(), with_iss)),
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

/// RFC 9207, when the tenant turns it on (`authorization_response_iss_parameter_supported`):
/// every authorization response — a redirect to the client with `code` or `error` — also
/// carries `iss`.
async fn with_iss(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if !state.cfg.tenant.iss_parameter || res.status() != StatusCode::FOUND {
        return res;
    }
    let location = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| url::Url::parse(l).ok());
    let Some(mut url) = location.filter(|u| !u.as_str().starts_with(&state.issuer)) else {
        return res;
    };
    let keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    let answers = keys.iter().any(|k| k == "code" || k == "error");
    if !answers || keys.iter().any(|k| k == "iss") {
        return res;
    }
    url.query_pairs_mut().append_pair("iss", &state.issuer);
    if let Ok(v) = HeaderValue::from_str(url.as_str()) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}
