//! OIDC discovery (`/.well-known/openid-configuration`, also served as
//! `/.well-known/oauth-authorization-server`) and the JWKS, shaped like a real tenant's
//! (§7.1, §7.2); both honour injected faults (see `fault_injection`).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

/// `GET /.well-known/openid-configuration`.
pub async fn openid_configuration(State(state): State<AppState>) -> Response {
    let i = &state.issuer;
    let mut doc = json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}authorize"),
        "token_endpoint": format!("{i}oauth/token"),
        "device_authorization_endpoint": format!("{i}oauth/device/code"),
        "userinfo_endpoint": format!("{i}userinfo"),
        "mfa_challenge_endpoint": format!("{i}mfa/challenge"),
        "jwks_uri": format!("{i}.well-known/jwks.json"),
        "registration_endpoint": format!("{i}oidc/register"),
        "revocation_endpoint": format!("{i}oauth/revoke"),
        "scopes_supported": ["openid","profile","offline_access","name","given_name","family_name","nickname","email","email_verified","picture","created_at","identities","phone","address"],
        "response_types_supported": ["code","token","id_token","code token","code id_token","token id_token","code token id_token"],
        "code_challenge_methods_supported": ["S256","plain"],
        "response_modes_supported": ["query","fragment","form_post"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["HS256","RS256","PS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic","client_secret_post","private_key_jwt"],
        "claims_supported": ["aud","auth_time","created_at","email","email_verified","exp","family_name","given_name","iat","identities","iss","name","nickname","phone_number","picture","sub"],
        "request_uri_parameter_supported": false,
        "request_parameter_supported": false,
        "token_endpoint_auth_signing_alg_values_supported": ["RS256","RS384","PS256"],
    });
    if state.cfg.tenant.iss_parameter {
        doc["authorization_response_iss_parameter_supported"] = json!(true);
    }
    // OpenID Connect Back-Channel Logout 1.0 §2.1: logout tokens are sent, with `sid`.
    doc["backchannel_logout_supported"] = json!(true);
    doc["backchannel_logout_session_supported"] = json!(true);
    if state.cfg.tenant.end_session_endpoint_discovery {
        doc["end_session_endpoint"] = json!(format!("{i}oidc/logout"));
    }
    cached_json(doc)
}

/// `GET /.well-known/jwks.json`: public members only.
pub async fn jwks(State(state): State<AppState>) -> Response {
    let doc = state.keys.jwks().await;
    cached_json(doc)
}

fn cached_json(v: serde_json::Value) -> Response {
    let mut r = (StatusCode::OK, axum::Json(v)).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(
            "public, max-age=15, stale-while-revalidate=15, stale-if-error=86400",
        ),
    );
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

/// Fallback: Auth0-style 404.
pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"statusCode": 404, "error": "Not Found", "message": "Not Found"})),
    )
        .into_response()
}
