//! Request extractors, so handlers receive parsed input instead of `HeaderMap` + `Bytes`:
//! the [`Caller`] (peer IP, user agent), [`Params`] from a form or JSON body, [`QueryParams`],
//! a [`ClientRequest`] (parameters plus the client authentication presented —
//! `client_secret_basic`, `client_secret_post` or none) and the [`Bearer`] token.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::ops::Deref;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::config::{AuthMethod, ClientConfig, TenantConfig};
use crate::error::OAuthError;
use crate::util::{b64std_decode, ct_eq};

/// Who is calling: socket peer and user agent.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Socket peer.
    pub ip: Option<IpAddr>,
    /// `User-Agent` (at most 512 characters).
    pub user_agent: Option<String>,
}

impl Caller {
    /// IP as text.
    pub fn ip_string(&self) -> Option<String> {
        self.ip.map(|i| i.to_string())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect());
        Ok(Caller { ip, user_agent })
    }
}

/// String parameters of an `application/x-www-form-urlencoded` or `application/json` body
/// (JSON numbers and booleans as text, arrays of strings joined with spaces as for `scope`,
/// `null` members left out).
#[derive(Debug, Clone, Default)]
pub struct Params(pub HashMap<String, String>);

impl Deref for Params {
    type Target = HashMap<String, String>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Params {
    /// Parses a body by its `Content-Type`.
    ///
    /// # Errors
    /// 400 `invalid_request` "Invalid request payload JSON format" when a JSON body is not a
    /// JSON object of scalars and string arrays.
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if !ct.starts_with("application/json") {
            return Ok(Params(
                url::form_urlencoded::parse(body)
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
            ));
        }
        json_params(body)
            .map(Params)
            .ok_or_else(|| OAuthError::invalid_request("Invalid request payload JSON format"))
    }
}

fn json_params(body: &[u8]) -> Option<HashMap<String, String>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let mut out = HashMap::new();
    for (k, v) in v.as_object()? {
        let s = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            Value::Null => continue,
            Value::Object(_) => return None,
        };
        out.insert(k.clone(), s);
    }
    Some(out)
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Params::parse(&headers, &body).map_err(IntoResponse::into_response)
    }
}

/// Query-string parameters (last value wins).
#[derive(Debug, Clone, Default)]
pub struct QueryParams(pub HashMap<String, String>);

impl QueryParams {
    /// Parses a raw query string.
    pub fn parse(q: Option<&str>) -> QueryParams {
        QueryParams(
            url::form_urlencoded::parse(q.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }
}

impl Deref for QueryParams {
    type Target = HashMap<String, String>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(QueryParams::parse(parts.uri.query()))
    }
}

/// The client authentication a request presents (auth0-surface §4.2).
#[derive(Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// An `Authorization: Basic` header that does not decode to `id:secret`.
    MalformedBasic,
    /// HTTP Basic and a body `client_secret` both.
    TwoMethods,
    /// HTTP Basic whose id differs from the body's `client_id`.
    MismatchedBasic,
    /// `client_secret_basic`.
    Basic {
        /// Client id.
        client_id: String,
        /// Secret.
        secret: String,
    },
    /// `client_secret_post`, or `none` (a public client sends no secret).
    Post {
        /// Client id.
        client_id: String,
        /// Secret, if sent.
        secret: Option<String>,
    },
    /// No client id at all.
    Missing,
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientAuth::Basic { client_id, .. } => write!(f, "Basic({client_id})"),
            ClientAuth::Post { client_id, .. } => write!(f, "Post({client_id})"),
            ClientAuth::MalformedBasic => f.write_str("MalformedBasic"),
            ClientAuth::TwoMethods => f.write_str("TwoMethods"),
            ClientAuth::MismatchedBasic => f.write_str("MismatchedBasic"),
            ClientAuth::Missing => f.write_str("Missing"),
        }
    }
}

const TWO_METHODS: &str = "Client authentication must use only one method (HTTP Basic or client_secret in the body), not both";

impl ClientAuth {
    /// What the headers and body parameters present.
    pub fn presented(headers: &HeaderMap, p: &Params) -> ClientAuth {
        match basic_credentials(headers) {
            Some(None) => ClientAuth::MalformedBasic,
            Some(Some(_)) if p.contains_key("client_secret") => ClientAuth::TwoMethods,
            Some(Some((id, _))) if p.get("client_id").is_some_and(|b| b != &id) => {
                ClientAuth::MismatchedBasic
            }
            Some(Some((client_id, secret))) => ClientAuth::Basic { client_id, secret },
            None => match p.get("client_id") {
                Some(id) => ClientAuth::Post {
                    client_id: id.clone(),
                    secret: p.get("client_secret").cloned(),
                },
                None => ClientAuth::Missing,
            },
        }
    }

    /// Authenticates the client against the tenant's applications: a confidential client
    /// must present its secret (compared in constant time); a public one (`none`) need not.
    ///
    /// # Errors
    /// 401 `access_denied` "Unauthorized" (with `WWW-Authenticate: Basic` when Basic was
    /// used), or 400 `invalid_request` when two methods were used at once.
    pub fn authenticate(&self, cfg: &TenantConfig) -> Result<ClientConfig, OAuthError> {
        let (client_id, secret, basic) = match self {
            ClientAuth::MalformedBasic | ClientAuth::MismatchedBasic => {
                return Err(OAuthError::client_unauthorized(true));
            }
            ClientAuth::TwoMethods => return Err(OAuthError::invalid_request(TWO_METHODS)),
            ClientAuth::Missing => return Err(OAuthError::client_unauthorized(false)),
            ClientAuth::Basic { client_id, secret } => (client_id, Some(secret), true),
            ClientAuth::Post { client_id, secret } => (client_id, secret.as_ref(), false),
        };
        let client = cfg
            .client(client_id)
            .ok_or_else(|| OAuthError::client_unauthorized(basic))?;
        if client.auth_method != AuthMethod::None {
            let expected = client.client_secret.as_deref().unwrap_or("");
            match secret {
                Some(s) if !expected.is_empty() && ct_eq(s, expected) => {}
                _ => return Err(OAuthError::client_unauthorized(basic)),
            }
        }
        Ok(client.clone())
    }
}

/// `Some(None)` for a Basic header that does not decode; `Some(Some((id, secret)))` with both
/// parts form-decoded (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<Option<(String, String)>> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let decoded = b64std_decode(b)
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(i, sec)| (form_decode(i), form_decode(sec)))
        });
    Some(decoded)
}

fn form_decode(x: &str) -> String {
    url::form_urlencoded::parse(format!("x={x}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// A token-endpoint style request: body parameters and the client authentication presented.
#[derive(Debug, Clone)]
pub struct ClientRequest {
    /// Body parameters.
    pub params: Params,
    /// The client authentication presented (checked by [`ClientAuth::authenticate`]).
    pub auth: ClientAuth,
}

impl<S: Send + Sync> FromRequest<S> for ClientRequest {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let params = Params::from_request(req, state).await?;
        let auth = ClientAuth::presented(&headers, &params);
        Ok(ClientRequest { params, auth })
    }
}

/// The `Authorization: Bearer` token of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bearer {
    /// No `Authorization` header (or one that is not text).
    Missing,
    /// An `Authorization` header that is not `Bearer <token>`.
    Malformed,
    /// The token.
    Token(String),
}

impl Bearer {
    /// From the request headers.
    pub fn from_headers(headers: &HeaderMap) -> Bearer {
        let Some(s) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return Bearer::Missing;
        };
        match s.split_once(' ') {
            Some((scheme, tok))
                if scheme.eq_ignore_ascii_case("bearer")
                    && !tok.trim().is_empty()
                    && !tok.trim().contains(' ') =>
            {
                Bearer::Token(tok.trim().to_string())
            }
            _ => Bearer::Malformed,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Bearer::from_headers(&parts.headers))
    }
}
