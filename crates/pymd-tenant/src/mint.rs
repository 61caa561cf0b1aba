//! Token minting shared by the `/oauth/token` grants and `/__dev/token`: Auth0-profile
//! access tokens (§5.2), ID tokens (§5.3), opaque `/userinfo` tokens, the first token of a
//! refresh-token family, and the JSON token response (§4.1).

use serde_json::{Map, Value, json};

use crate::actions::Outcome;
use crate::config::ClientConfig;
use crate::keys::KeyError;
use crate::state::AppState;
use crate::store::opaque::OpaqueToken;
use crate::store::refresh::NewFamily;
use crate::store::users::{User, permissions_for};
use crate::util::random_urlsafe;

/// What a user-flow token request is about.
#[derive(Debug, Clone)]
pub struct UserGrant {
    /// The client.
    pub client_id: String,
    /// The user.
    pub user_id: String,
    /// Audience (None = `/userinfo` only).
    pub audience: Option<String>,
    /// Requested scopes.
    pub scope: Vec<String>,
    /// Nonce for the ID token.
    pub nonce: Option<String>,
    /// Session id.
    pub sid: String,
    /// Authentication time.
    pub auth_time: i64,
    /// The user's roles when the post-login flow began: RBAC permissions come from these, so a
    /// role an Action gives during the login counts from the next token on.
    pub roles: Vec<String>,
    /// What the post-login Actions asked for (custom claims, scope changes).
    pub action: Outcome,
}

/// Tokens minted for a user grant.
#[derive(Debug)]
pub struct Minted {
    /// Access token (JWT or opaque).
    pub access_token: String,
    /// ID token when `openid` was granted.
    pub id_token: Option<String>,
    /// Granted scopes.
    pub scope: Vec<String>,
    /// Access-token lifetime.
    pub expires_in: i64,
    /// Whether `offline_access` was granted (a refresh token may be issued).
    pub offline: bool,
}

/// Whether the client may receive refresh tokens for this audience.
pub fn offline_allowed(state: &AppState, client: &ClientConfig, audience: Option<&str>) -> bool {
    if !client.grant_types.iter().any(|g| g == "refresh_token") {
        return false;
    }
    if (client.app_type == "spa" || client.auth_method == crate::config::AuthMethod::None)
        && !client.refresh_token.rotating
    {
        return false;
    }
    match audience {
        None => true,
        Some(a) => state
            .cfg
            .resource_server(a)
            .is_some_and(|rs| rs.allow_offline_access),
    }
}

/// The scopes a user actually gets (§5.2 scope computation), in request order.
pub fn granted_scopes(state: &AppState, client: &ClientConfig, grant: &UserGrant) -> Vec<String> {
    let offline = offline_allowed(state, client, grant.audience.as_deref());
    let rs = grant
        .audience
        .as_deref()
        .and_then(|a| state.cfg.resource_server(a));
    let perms = match (rs, grant.audience.as_deref()) {
        (Some(rs), Some(a)) if rs.enforce_policies => {
            Some(permissions_for(&state.cfg, &grant.roles, a))
        }
        _ => None,
    };
    grant
        .scope
        .iter()
        .filter(|s| match s.as_str() {
            "openid" | "profile" | "email" => true,
            "offline_access" => offline,
            other => match (rs, &perms) {
                (Some(_), Some(perms)) => perms.iter().any(|p| p == other),
                (Some(rs), None) => rs.scopes.iter().any(|(v, _)| v == other),
                (None, _) => false,
            },
        })
        .cloned()
        .collect()
}

/// Which exchange tokens are minted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MintFor {
    /// A completed login (code exchange, `/__dev/token`): the ID token carries the nonce.
    Login,
    /// A refresh-token exchange: no nonce; the access token carries `gty: refresh_token`
    /// (auth0-surface §5.2).
    Refresh,
}

/// Mints the access token (and ID token if `openid`) for a user grant.
///
/// # Errors
/// [`KeyError`] if signing fails.
pub async fn mint_user(
    state: &AppState,
    client: &ClientConfig,
    user: &User,
    grant: &UserGrant,
    purpose: MintFor,
) -> Result<Minted, KeyError> {
    let scope = granted_scopes(state, client, grant);
    let has = |s: &str| scope.iter().any(|x| x == s);
    let (access_token, expires_in) =
        access_token(state, client, user, grant, &scope, purpose).await?;
    let id_token = if has("openid") {
        Some(id_token(state, client, user, grant, &scope, purpose).await?)
    } else {
        None
    };
    Ok(Minted {
        access_token,
        id_token,
        offline: has("offline_access"),
        scope,
        expires_in,
    })
}

/// The access token and its lifetime: a JWT for an API audience, else an opaque token good
/// only at `/userinfo` for a day.
async fn access_token(
    state: &AppState,
    client: &ClientConfig,
    user: &User,
    grant: &UserGrant,
    scope: &[String],
    purpose: MintFor,
) -> Result<(String, i64), KeyError> {
    let now = state.clock.unix();
    let rs = grant
        .audience
        .as_deref()
        .and_then(|a| state.cfg.resource_server(a));
    let Some(rs) = rs else {
        let token = random_urlsafe(32);
        let grant = OpaqueToken {
            user_id: user.user_id.clone(),
            scope: scope.to_vec(),
            exp: now + 86_400,
        };
        state.opaque.insert(token.clone(), grant).await;
        return Ok((token, 86_400));
    };
    let mut c = Map::new();
    c.insert("iss".into(), json!(state.issuer));
    c.insert("sub".into(), json!(user.user_id));
    if scope.iter().any(|s| s == "openid") {
        c.insert(
            "aud".into(),
            json!([rs.identifier, format!("{}userinfo", state.issuer)]),
        );
    } else {
        c.insert("aud".into(), json!(rs.identifier));
    }
    c.insert("iat".into(), json!(now));
    c.insert("exp".into(), json!(now + rs.token_lifetime_secs));
    c.insert("scope".into(), json!(scope.join(" ")));
    c.insert("azp".into(), json!(client.client_id));
    if purpose == MintFor::Refresh {
        c.insert("gty".into(), json!("refresh_token"));
    }
    if rs.permissions_in_token {
        c.insert(
            "permissions".into(),
            json!(permissions_for(&state.cfg, &grant.roles, &rs.identifier)),
        );
    }
    grant.action.shape_access_token(&mut c);
    let jwt = state.keys.sign(&Value::Object(c)).await?;
    Ok((jwt, rs.token_lifetime_secs))
}

/// The ID token (profile claims for the granted scopes; the nonce only for a login).
async fn id_token(
    state: &AppState,
    client: &ClientConfig,
    user: &User,
    grant: &UserGrant,
    scope: &[String],
    purpose: MintFor,
) -> Result<String, KeyError> {
    let now = state.clock.unix();
    let mut c = Map::new();
    user.profile_claims(scope, &mut c);
    c.insert("iss".into(), json!(state.issuer));
    c.insert("aud".into(), json!(client.client_id));
    c.insert("sub".into(), json!(user.user_id));
    c.insert("iat".into(), json!(now));
    c.insert("exp".into(), json!(now + client.id_token_lifetime_secs));
    c.insert("sid".into(), json!(grant.sid));
    c.insert("auth_time".into(), json!(grant.auth_time));
    c.insert("azp".into(), json!(client.client_id));
    if purpose == MintFor::Login
        && let Some(n) = &grant.nonce
    {
        c.insert("nonce".into(), json!(n));
    }
    grant.action.shape_id_token(&mut c);
    // This client now takes part in the session: its back-channel logout URL hears of its end.
    state.sessions.join(&grant.sid, &client.client_id).await;
    state.keys.sign(&Value::Object(c)).await
}

/// Starts a refresh-token family for a grant and returns its first token and the family id.
pub async fn new_family(state: &AppState, grant: &UserGrant, scope: &[String]) -> (String, String) {
    let family = NewFamily {
        client_id: &grant.client_id,
        user_id: &grant.user_id,
        audience: grant.audience.as_deref(),
        scope,
        sid: &grant.sid,
        auth_time: grant.auth_time,
    };
    state.refresh.start_family(family, state.clock.unix()).await
}

/// The §4.1 token response body.
pub fn response_body(m: &Minted, refresh_token: Option<&str>, include_scope: bool) -> Value {
    let mut v = Map::new();
    v.insert("access_token".into(), json!(m.access_token));
    if let Some(rt) = refresh_token {
        v.insert("refresh_token".into(), json!(rt));
    }
    if let Some(id) = &m.id_token {
        v.insert("id_token".into(), json!(id));
    }
    if include_scope {
        v.insert("scope".into(), json!(m.scope.join(" ")));
    }
    v.insert("expires_in".into(), json!(m.expires_in));
    v.insert("token_type".into(), json!("Bearer"));
    Value::Object(v)
}

/// Mints a full user token set (access, ID, refresh if granted) — what a completed code
/// exchange returns. Used by the code grant and `/__dev/token`.
///
/// # Errors
/// [`KeyError`] if signing fails.
pub async fn mint_user_response(
    state: &AppState,
    client: &ClientConfig,
    user: &User,
    grant: &UserGrant,
) -> Result<(Value, Option<String>), KeyError> {
    let m = mint_user(state, client, user, grant, MintFor::Login).await?;
    let (rt, family) = if m.offline {
        let (rt, fam) = new_family(state, grant, &m.scope).await;
        (Some(rt), Some(fam))
    } else {
        (None, None)
    };
    Ok((response_body(&m, rt.as_deref(), true), family))
}
