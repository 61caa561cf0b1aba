//! `POST /oauth/token` (authorization_code with PKCE, refresh_token with rotation, reuse
//! detection and family revocation, client_credentials) and `POST /oauth/revoke`, with the
//! client authentication rules of §4.2 and the error catalogue of §4.8.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::config::{AuthMethod, ClientConfig};
use crate::dev::{FaultTarget, apply_fault};
use crate::logs::LogEvent;
use crate::state::{AppState, RefreshEntry};
use crate::tokens::{
    MintFor, UserGrant, mint_user, mint_user_response, response_body, split_scope,
};
use crate::util::{b64std_decode, b64url, ct_eq, random_urlsafe, sha256};
use crate::web::{Caller, no_store_json, oauth_error, parse_params};

const KNOWN_GRANTS: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "password",
    "http://auth0.com/oauth/grant-type/password-realm",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "http://auth0.com/oauth/grant-type/mfa-oob",
    "http://auth0.com/oauth/grant-type/mfa-otp",
    "http://auth0.com/oauth/grant-type/mfa-recovery-code",
    "implicit",
];
const INVALID_RT: &str = "Unknown or invalid refresh token.";
const INVALID_CODE: &str = "Invalid authorization code";
/// An authorization code is redeemable this long.
pub(crate) const CODE_TTL: i64 = 600;
/// A code is kept this long after issue, so that a late replay still revokes its family.
pub(crate) const CODE_RETENTION: i64 = CODE_TTL * 6;

fn internal() -> Response {
    oauth_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "Internal error",
    )
}

/// A failed token request: the response plus the log event type to emit.
struct Failure {
    response: Response,
    log: Option<(&'static str, String)>,
}

impl Failure {
    fn new(status: StatusCode, error: &str, desc: &str) -> Failure {
        Failure {
            response: oauth_error(status, error, desc),
            log: None,
        }
    }
    fn logged(mut self, kind: &'static str) -> Failure {
        let desc = self.log.take().map(|(_, d)| d).unwrap_or_default();
        self.log = Some((kind, desc));
        self
    }
    fn with_desc(mut self, desc: &str) -> Failure {
        self.log = Some(("", desc.to_string()));
        self
    }
}

fn fail(status: StatusCode, error: &str, desc: &str) -> Failure {
    Failure::new(status, error, desc).with_desc(desc)
}

/// Authenticates the client per §4.2.
fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    p: &HashMap<String, String>,
) -> Result<ClientConfig, Response> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .map(|b| {
            b64std_decode(b)
                .and_then(|raw| String::from_utf8(raw).ok())
                .and_then(|s| {
                    s.split_once(':').map(|(i, sec)| {
                        let dec = |x: &str| {
                            url::form_urlencoded::parse(format!("x={x}").as_bytes())
                                .next()
                                .map(|(_, v)| v.into_owned())
                                .unwrap_or_default()
                        };
                        (dec(i), dec(sec))
                    })
                })
        });
    let unauthorized = |basic_used: bool| {
        let mut r = oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
        if basic_used {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"oauth\""),
            );
        }
        r
    };
    let (client_id, secret, basic_used) = match basic {
        Some(None) => return Err(unauthorized(true)),
        Some(Some((id, sec))) => {
            if p.contains_key("client_secret") {
                return Err(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Client authentication must use only one method (HTTP Basic or client_secret in the body), not both",
                ));
            }
            if p.get("client_id").is_some_and(|b| b != &id) {
                return Err(unauthorized(true));
            }
            (id, Some(sec), true)
        }
        None => match p.get("client_id") {
            Some(id) => (id.clone(), p.get("client_secret").cloned(), false),
            None => {
                return Err(oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "access_denied",
                    "Unauthorized",
                ));
            }
        },
    };
    let client = state
        .cfg
        .client(&client_id)
        .cloned()
        .ok_or_else(|| unauthorized(basic_used))?;
    if client.auth_method != AuthMethod::None {
        let expected = client.client_secret.as_deref().unwrap_or("");
        match secret {
            Some(s) if !expected.is_empty() && ct_eq(&s, expected) => {}
            _ => return Err(unauthorized(basic_used)),
        }
    }
    Ok(client)
}

/// `POST /oauth/token`.
pub async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = apply_fault(&state, FaultTarget::Token).await {
        return r;
    }
    let caller = Caller::new(Some(peer), &headers);
    let Ok(p) = parse_params(&headers, &body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid request payload JSON format",
        );
    };
    let Some(grant_type) = p.get("grant_type").cloned() else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: grant_type",
        );
    };
    if !KNOWN_GRANTS.contains(&grant_type.as_str()) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Unsupported grant type: {grant_type}"),
        );
    }
    let client = match authenticate(&state, &headers, &p) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !client.grant_types.iter().any(|g| g == &grant_type) || grant_type == "implicit" {
        let mut r = no_store_json(
            StatusCode::FORBIDDEN,
            json!({
                "error": "unauthorized_client",
                "error_description": format!("Grant type '{grant_type}' not allowed for the client."),
                "error_uri": "https://auth0.com/docs/clients/client-grant-types"
            }),
        );
        r.headers_mut()
            .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        return r;
    }
    let result = match grant_type.as_str() {
        "authorization_code" => code_grant(&state, &client, &p).await,
        "refresh_token" => refresh_grant(&state, &client, &p).await,
        "client_credentials" => client_credentials(&state, &client, &p).await,
        _ => Err(fail(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            &format!("Grant type '{grant_type}' not allowed for the client."),
        )),
    };
    let (ok_kind, fail_kind) = match grant_type.as_str() {
        "authorization_code" => ("seacft", "feacft"),
        "refresh_token" => ("sertft", "fertft"),
        "client_credentials" => ("seccft", "feccft"),
        _ => ("", "f"),
    };
    match result {
        Ok((body, user)) => {
            if !ok_kind.is_empty() {
                emit(&state, ok_kind, "", &client, &caller, user, &p);
            }
            no_store_json(StatusCode::OK, body)
        }
        Err(f) => {
            if let Some((kind, desc)) = f.log {
                emit(
                    &state,
                    if kind.is_empty() { fail_kind } else { kind },
                    &desc,
                    &client,
                    &caller,
                    None,
                    &p,
                );
            }
            f.response
        }
    }
}

fn emit(
    state: &AppState,
    kind: &'static str,
    desc: &str,
    client: &ClientConfig,
    caller: &Caller,
    user: Option<(String, String)>,
    p: &HashMap<String, String>,
) {
    let description = match kind {
        "seacft" => "Authorization Code for Access Token",
        "sertft" => "Successful exchange of Refresh Token for Access Token",
        "seccft" => "Client Credentials for Access Token",
        _ => desc,
    };
    let (user_id, user_name) = user
        .map(|(a, b)| (Some(a), Some(b)))
        .unwrap_or((None, None));
    state.logs.emit(
        state.clock.now(),
        LogEvent {
            kind,
            description: description.to_string(),
            client_id: Some(client.client_id.clone()),
            client_name: Some(client.name.clone()),
            ip: caller.ip_string(),
            user_agent: caller.user_agent.clone(),
            user_id,
            user_name,
            connection: false,
            audience: p.get("audience").cloned(),
            scope: p.get("scope").cloned(),
            details: None,
        },
    );
}

type GrantResult = Result<(Value, Option<(String, String)>), Failure>;

fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

async fn code_grant(
    state: &AppState,
    client: &ClientConfig,
    p: &HashMap<String, String>,
) -> GrantResult {
    let Some(code) = p.get("code") else {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: code",
        ));
    };
    let now = state.clock.unix();
    let entry = {
        let mut codes = state.codes.lock().await;
        codes.retain(|_, c| now - c.issued_at <= CODE_RETENTION);
        let Some(entry) = codes.get_mut(code) else {
            return Err(fail(StatusCode::FORBIDDEN, "invalid_grant", INVALID_CODE));
        };
        if entry.client_id != client.client_id {
            return Err(fail(StatusCode::FORBIDDEN, "invalid_grant", INVALID_CODE));
        }
        if entry.used {
            // A replay: revoke what the first redemption minted. If that redemption has not
            // recorded its family yet, the flag makes it revoke the family itself when it does.
            entry.reused = true;
            let family = entry.family.clone();
            drop(codes);
            if let Some(f) = family {
                revoke_family(state, &f).await;
            }
            return Err(fail(StatusCode::FORBIDDEN, "invalid_grant", INVALID_CODE));
        }
        // Single use from here on: any failure below consumes the code.
        entry.used = true;
        if now - entry.issued_at > CODE_TTL {
            return Err(fail(StatusCode::FORBIDDEN, "invalid_grant", INVALID_CODE));
        }
        entry.clone()
    };
    if p.get("redirect_uri") != Some(&entry.redirect_uri) {
        return Err(fail(
            StatusCode::FORBIDDEN,
            "invalid_grant",
            "The redirect_uri does not match the one used in the authorization request",
        ));
    }
    match (&entry.code_challenge, p.get("code_verifier")) {
        (Some(_), None) => {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Parameter 'code_verifier' is required",
            ));
        }
        (Some(ch), Some(v)) => {
            if !valid_verifier(v) || !ct_eq(&b64url(&sha256(v.as_bytes())), ch) {
                return Err(fail(
                    StatusCode::FORBIDDEN,
                    "invalid_grant",
                    "Failed to verify code verifier",
                ));
            }
        }
        (None, Some(_)) => {
            return Err(fail(
                StatusCode::FORBIDDEN,
                "invalid_grant",
                "Failed to verify code verifier",
            ));
        }
        (None, None) => {}
    }
    let Some(user) = state.users.read().await.get(&entry.user_id).cloned() else {
        return Err(fail(StatusCode::FORBIDDEN, "invalid_grant", INVALID_CODE));
    };
    if user.blocked {
        return Err(fail(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "user is blocked",
        ));
    }
    let grant = UserGrant {
        client_id: client.client_id.clone(),
        user_id: user.user_id.clone(),
        audience: entry.audience.clone(),
        scope: entry.scope.clone(),
        nonce: entry.nonce.clone(),
        sid: entry.sid.clone(),
        auth_time: entry.auth_time,
    };
    let (body, family) = mint_user_response(state, client, &user, &grant)
        .await
        .map_err(|_| Failure {
            response: internal(),
            log: None,
        })?;
    if let Some(fam) = family {
        // Record and check for a replay in the same critical section as the replay path, so
        // a replay landing at any moment revokes this family.
        let replayed = match state.codes.lock().await.get_mut(code) {
            Some(c) => {
                c.family = Some(fam.clone());
                c.reused
            }
            None => false,
        };
        if replayed {
            revoke_family(state, &fam).await;
        }
    }
    Ok((body, Some((user.user_id, user.email))))
}

/// Revokes one refresh-token family.
pub async fn revoke_family(state: &AppState, family: &str) {
    if let Some(f) = state.refresh.lock().await.families.get_mut(family) {
        f.revoked = true;
    }
}

async fn refresh_grant(
    state: &AppState,
    client: &ClientConfig,
    p: &HashMap<String, String>,
) -> GrantResult {
    let Some(rt) = p.get("refresh_token") else {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: refresh_token",
        ));
    };
    let now = state.clock.unix();
    let key = sha256(rt.as_bytes());
    let settings = &client.refresh_token;
    // The user is read before the refresh lock is taken (no handler ever holds two of the
    // tenant's locks at once); whether it still exists is judged below, in Auth0's order.
    let owner = {
        let store = state.refresh.lock().await;
        store
            .tokens
            .get(&key)
            .and_then(|e| store.families.get(&e.family))
            .map(|f| f.user_id.clone())
    };
    let user = match owner {
        Some(id) => state.users.read().await.get(&id).cloned(),
        None => None,
    };
    // Check and claim in one critical section: of N concurrent exchanges of one token, exactly
    // one sees it unused; every other one is a reuse (revoking the family unless the overlap
    // period allows it).
    let claim = {
        let mut store = state.refresh.lock().await;
        let Some(entry) = store.tokens.get(&key).cloned() else {
            return Err(fail(StatusCode::FORBIDDEN, "invalid_grant", INVALID_RT));
        };
        let Some(fam) = store.families.get(&entry.family).cloned() else {
            return Err(fail(StatusCode::FORBIDDEN, "invalid_grant", INVALID_RT));
        };
        if fam.revoked || fam.client_id != client.client_id {
            return Err(fail(StatusCode::FORBIDDEN, "invalid_grant", INVALID_RT));
        }
        let expired = settings
            .token_lifetime_secs
            .is_some_and(|l| now - fam.created_at > l)
            || settings
                .idle_token_lifetime_secs
                .is_some_and(|l| now - fam.last_used > l);
        if expired {
            return Err(fail(StatusCode::FORBIDDEN, "invalid_grant", INVALID_RT));
        }
        if settings.rotating
            && let Some(used_at) = entry.used_at
        {
            // Reuse: allowed only inside the leeway and only for the immediately previous
            // token (one generation behind the newest); anything else revokes the family.
            let previous = entry.generation + 1 == fam.latest_generation;
            if !(settings.leeway_secs > 0 && now - used_at <= settings.leeway_secs && previous) {
                if let Some(f) = store.families.get_mut(&entry.family) {
                    f.revoked = true;
                }
                return Err(
                    fail(StatusCode::FORBIDDEN, "invalid_grant", INVALID_RT).logged("ferrt")
                );
            }
        }
        let scope = match p.get("scope") {
            Some(s) => {
                let asked = split_scope(s);
                if let Some(extra) = asked.iter().find(|s| !fam.scope.contains(s)) {
                    return Err(fail(
                        StatusCode::BAD_REQUEST,
                        "invalid_scope",
                        &format!("The requested scope exceeds the granted scope: {extra}"),
                    ));
                }
                asked
            }
            None => fam.scope.clone(),
        };
        let Some(user) = user.filter(|u| u.user_id == fam.user_id) else {
            return Err(fail(
                StatusCode::FORBIDDEN,
                "invalid_grant",
                "The refresh_token was generated for a user who doesn't exist anymore.",
            ));
        };
        if user.blocked {
            return Err(fail(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "user is blocked",
            ));
        }
        // Every check passed: claim the token and reserve its successor.
        if let Some(f) = store.families.get_mut(&entry.family) {
            f.last_used = now;
        }
        let successor = if settings.rotating {
            let token = format!("v1.{}", random_urlsafe(86));
            let generation = entry.generation + 1;
            if let Some(f) = store.families.get_mut(&entry.family) {
                f.latest_generation = f.latest_generation.max(generation);
            }
            store.tokens.insert(
                sha256(token.as_bytes()),
                RefreshEntry {
                    family: entry.family.clone(),
                    used_at: None,
                    generation,
                    successors: 0,
                },
            );
            if let Some(e) = store.tokens.get_mut(&key) {
                e.used_at.get_or_insert(now);
                e.successors += 1;
            }
            Some(token)
        } else {
            None
        };
        Claim {
            fam,
            user,
            scope,
            fam_id: entry.family.clone(),
            successor,
        }
    };
    let Claim {
        fam,
        user,
        scope,
        fam_id,
        successor,
    } = claim;
    let grant = UserGrant {
        client_id: client.client_id.clone(),
        user_id: user.user_id.clone(),
        audience: fam.audience.clone(),
        scope,
        nonce: None,
        sid: fam.sid.clone(),
        auth_time: fam.auth_time,
    };
    let minted = match mint_user(state, client, &user, &grant, MintFor::Refresh).await {
        Ok(m) => m,
        Err(_) => {
            // Nothing was handed out by this exchange: undo its own claim (and only that) so
            // the client can retry with the token.
            if let Some(token) = &successor {
                let mut store = state.refresh.lock().await;
                store.tokens.remove(&sha256(token.as_bytes()));
                let highest = store
                    .tokens
                    .values()
                    .filter(|e| e.family == fam_id)
                    .map(|e| e.generation)
                    .max()
                    .unwrap_or(0);
                let store = &mut *store;
                if let Some(e) = store.tokens.get_mut(&key)
                    && let Some(f) = store.families.get_mut(&fam_id)
                {
                    undo_claim(e, &mut f.latest_generation, highest);
                }
            }
            return Err(Failure {
                response: internal(),
                log: None,
            });
        }
    };
    let new_rt = successor;
    Ok((
        response_body(&minted, new_rt.as_deref(), true),
        Some((user.user_id, user.email)),
    ))
}

/// What a successful check of a refresh token hands to minting.
struct Claim {
    fam: crate::state::Family,
    user: crate::users::User,
    scope: Vec<String>,
    /// Family id.
    fam_id: String,
    /// The successor token (rotating clients).
    successor: Option<String>,
}

/// Undoes one exchange's claim of `parent` after its mint failed (its successor already
/// removed from the store). Only this exchange's share is given back: `parent` looks unused
/// again only if no other successor issued from it survives (a concurrent exchange inside the
/// overlap period may have handed one out, and a later replay must still count as reuse).
/// `highest` is the highest generation still held by the family's tokens; the family's latest
/// generation falls back to it.
fn undo_claim(parent: &mut RefreshEntry, latest_generation: &mut u32, highest: u32) {
    parent.successors = parent.successors.saturating_sub(1);
    if parent.successors == 0 {
        parent.used_at = None;
    }
    *latest_generation = (*latest_generation).min(highest.max(parent.generation));
}

async fn client_credentials(
    state: &AppState,
    client: &ClientConfig,
    p: &HashMap<String, String>,
) -> GrantResult {
    if client.auth_method == AuthMethod::None {
        return Err(fail(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "Grant type 'client_credentials' not allowed for the client.",
        ));
    }
    let mgmt = state.cfg.management_audience();
    let Some(audience) = p
        .get("audience")
        .filter(|a| !a.is_empty())
        .cloned()
        .or_else(|| state.cfg.tenant.default_audience.clone())
    else {
        return Err(fail(
            StatusCode::FORBIDDEN,
            "access_denied",
            "No audience parameter was provided, and no default audience has been configured",
        ));
    };
    let rs = state.cfg.resource_server(&audience);
    if rs.is_none() && audience != mgmt {
        return Err(fail(
            StatusCode::FORBIDDEN,
            "access_denied",
            &format!("Service not enabled within domain: {audience}"),
        ));
    }
    let Some(cg) = state
        .cfg
        .client_grants
        .iter()
        .find(|g| g.client_id == client.client_id && g.audience == audience)
    else {
        return Err(fail(
            StatusCode::FORBIDDEN,
            "access_denied",
            &format!(
                "Client is not authorized to access \"{audience}\". You need to create a \"client-grant\" associated to this API."
            ),
        ));
    };
    let scope = match p.get("scope").map(|s| split_scope(s)) {
        Some(asked) if !asked.is_empty() => {
            let missing: Vec<&str> = asked
                .iter()
                .filter(|s| !cg.scope.contains(s))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return Err(fail(
                    StatusCode::FORBIDDEN,
                    "access_denied",
                    &format!("Client has not been granted scopes: {}", missing.join(" ")),
                ));
            }
            asked
        }
        _ => cg.scope.clone(),
    };
    let now = state.clock.unix();
    let lifetime = rs.map(|r| r.token_lifetime_secs).unwrap_or(86_400);
    let mut c = Map::new();
    c.insert("iss".into(), json!(state.issuer));
    c.insert("sub".into(), json!(format!("{}@clients", client.client_id)));
    c.insert("aud".into(), json!(audience));
    c.insert("iat".into(), json!(now));
    c.insert("exp".into(), json!(now + lifetime));
    if !scope.is_empty() {
        c.insert("scope".into(), json!(scope.join(" ")));
    }
    c.insert("gty".into(), json!("client-credentials"));
    c.insert("azp".into(), json!(client.client_id));
    if rs.is_some_and(|r| r.permissions_in_token) {
        c.insert("permissions".into(), json!(scope));
    }
    let jwt = state
        .keys
        .read()
        .await
        .sign(&Value::Object(c))
        .map_err(|_| Failure {
            response: internal(),
            log: None,
        })?;
    let mut body = Map::new();
    body.insert("access_token".into(), json!(jwt));
    if !scope.is_empty() {
        body.insert("scope".into(), json!(scope.join(" ")));
    }
    body.insert("expires_in".into(), json!(lifetime));
    body.insert("token_type".into(), json!("Bearer"));
    Ok((Value::Object(body), None))
}

/// `POST /oauth/revoke`: revokes the refresh token's family; 200 with an empty body even for
/// unknown tokens.
pub async fn revoke(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(p) = parse_params(&headers, &body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid request payload JSON format",
        );
    };
    let client = match authenticate(&state, &headers, &p) {
        Ok(c) => c,
        Err(r) => {
            return if r.status() == StatusCode::UNAUTHORIZED {
                oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "Client authentication failed",
                )
            } else {
                r
            };
        }
    };
    let Some(token) = p.get("token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: token",
        );
    };
    let key = sha256(token.as_bytes());
    let mut store = state.refresh.lock().await;
    if let Some(fam_id) = store.tokens.get(&key).map(|e| e.family.clone())
        && let Some(f) = store.families.get_mut(&fam_id)
        && f.client_id == client.client_id
    {
        f.revoked = true;
    }
    let mut r = StatusCode::OK.into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Revokes every refresh-token family of a user; returns how many.
pub async fn revoke_user_families(state: &AppState, user_id: &str) -> usize {
    let mut store = state.refresh.lock().await;
    let mut n = 0;
    for f in store.families.values_mut() {
        if f.user_id == user_id && !f.revoked {
            f.revoked = true;
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod undo_claim_tests {
    use super::undo_claim;
    use crate::state::RefreshEntry;

    fn entry(used_at: Option<i64>, generation: u32, successors: u32) -> RefreshEntry {
        RefreshEntry {
            family: "f".into(),
            used_at,
            generation,
            successors,
        }
    }

    #[test]
    fn the_only_claim_undone_leaves_the_token_unused() {
        let mut parent = entry(Some(100), 0, 1);
        let mut latest = 1;
        undo_claim(&mut parent, &mut latest, 0);
        assert_eq!(parent.used_at, None);
        assert_eq!(parent.successors, 0);
        assert_eq!(latest, 0, "no generation-1 token is left");
    }

    #[test]
    fn a_successor_handed_out_in_the_overlap_period_keeps_the_token_used() {
        // A claimed first (used_at = 100), B reused it inside the leeway and got a successor;
        // then A's mint failed.
        let mut parent = entry(Some(100), 3, 2);
        let mut latest = 4;
        undo_claim(&mut parent, &mut latest, 4);
        assert_eq!(parent.used_at, Some(100), "a later replay is still a reuse");
        assert_eq!(parent.successors, 1);
        assert_eq!(latest, 4, "B's successor is still the newest generation");
    }

    #[test]
    fn both_claims_undone_leave_the_token_unused() {
        let mut parent = entry(Some(100), 3, 2);
        let mut latest = 4;
        undo_claim(&mut parent, &mut latest, 4);
        undo_claim(&mut parent, &mut latest, 3);
        assert_eq!((parent.used_at, parent.successors, latest), (None, 0, 3));
    }

    #[test]
    fn the_latest_generation_never_rises() {
        let mut parent = entry(Some(100), 0, 1);
        let mut latest = 2;
        undo_claim(&mut parent, &mut latest, 5);
        assert_eq!(latest, 2);
        let mut parent = entry(None, 0, 0);
        undo_claim(&mut parent, &mut latest, 0);
        assert_eq!((parent.used_at, parent.successors), (None, 0));
    }
}
