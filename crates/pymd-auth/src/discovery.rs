//! Fetching the OpenID Provider metadata and the JWKS, defensively.
//!
//! Both documents come from the network, so each fetch has a total timeout, refuses
//! redirects (a followed redirect is detected and refused even if the caller's client follows
//! them), only accepts `200 OK` and caps the body at [`MAX_BODY_BYTES`]. The metadata is
//! refused when its `issuer` is not the configured base URL (one trailing-slash difference
//! allowed) or its `jwks_uri` is on another origin (ASVS 10.5.3, OIDF discovery-issuer-mismatch).

use std::time::Duration;

use serde_json::Value;
use url::Url;

use crate::json;

/// Largest accepted discovery or JWKS body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The parts of the discovery document PyMD uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMetadata {
    /// The `issuer`, exactly as published: tokens' `iss` must equal it character for character.
    pub issuer: String,
    /// Where the signing keys are published (same origin as the issuer).
    pub jwks_uri: Url,
    /// The authorization endpoint (login redirects).
    pub authorization_endpoint: Url,
    /// The token endpoint (code exchange, refresh).
    pub token_endpoint: Url,
    /// The userinfo endpoint.
    pub userinfo_endpoint: Url,
    /// The RP-initiated logout endpoint, when the provider publishes one.
    pub end_session_endpoint: Option<Url>,
    /// The token revocation endpoint (RFC 7009), when published (Auth0: `/oauth/revoke`); an
    /// unusable value is ignored, since revocation is only ever best effort.
    pub revocation_endpoint: Option<Url>,
    /// `authorization_response_iss_parameter_supported` (RFC 9207): every authorization
    /// response then carries `iss`, and one without it must be refused.
    pub iss_parameter_supported: bool,
}

/// Why a fetch or a document failed. Only used for logs and `JwksHealth::last_error`;
/// none of it reaches clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FetchError {
    /// Network error, timeout, non-200 status, redirect, oversized body, unusable document.
    Unavailable(String),
    /// The metadata contradicts the configuration.
    Rejected(String),
}

impl FetchError {
    pub(crate) fn message(&self) -> &str {
        match self {
            Self::Unavailable(m) | Self::Rejected(m) => m,
        }
    }
}

/// GETs `url` and returns the body, enforcing status 200, no redirect, the timeout and the cap.
pub(crate) async fn fetch(
    http: &reqwest::Client,
    url: &str,
    timeout: Duration,
) -> Result<Vec<u8>, FetchError> {
    let work =
        async {
            let mut resp = http
                .get(url)
                .header(reqwest::header::ACCEPT, "application/json")
                .timeout(timeout)
                .send()
                .await
                .map_err(|e| FetchError::Unavailable(format!("request failed: {}", short(&e))))?;
            if resp.url().as_str() != url {
                return Err(FetchError::Unavailable("redirect refused".into()));
            }
            if resp.status() != reqwest::StatusCode::OK {
                return Err(FetchError::Unavailable(format!(
                    "status {}",
                    resp.status().as_u16()
                )));
            }
            if resp
                .content_length()
                .is_some_and(|l| l > MAX_BODY_BYTES as u64)
            {
                return Err(FetchError::Unavailable("body too large".into()));
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| {
                FetchError::Unavailable(format!("reading body failed: {}", short(&e)))
            })? {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(FetchError::Unavailable("body too large".into()));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        };
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| Err(FetchError::Unavailable("timed out".into())))
}

/// A short, token-free description of a reqwest error.
fn short(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_redirect() {
        "redirect"
    } else if e.is_body() || e.is_decode() {
        "bad body"
    } else {
        "transport error"
    }
}

fn url_member(doc: &serde_json::Map<String, Value>, name: &str) -> Result<Url, FetchError> {
    let s = doc
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| FetchError::Unavailable(format!("discovery document lacks {name}")))?;
    let u = Url::parse(s)
        .map_err(|_| FetchError::Unavailable(format!("discovery {name} is not a URL")))?;
    if u.scheme() != "https" && u.scheme() != "http" {
        return Err(FetchError::Unavailable(format!(
            "discovery {name} is not http(s)"
        )));
    }
    Ok(u)
}

/// Parses and checks a discovery document against the configured base URL.
pub(crate) fn parse_metadata(body: &[u8], base: &Url) -> Result<ProviderMetadata, FetchError> {
    let doc = json::parse_object(body)
        .ok_or_else(|| FetchError::Unavailable("discovery document is not a JSON object".into()))?;
    let issuer = doc
        .get("issuer")
        .and_then(Value::as_str)
        .ok_or_else(|| FetchError::Unavailable("discovery document lacks issuer".into()))?
        .to_owned();
    let configured = base.as_str();
    let configured = configured.strip_suffix('/').unwrap_or(configured);
    let published = issuer.strip_suffix('/').unwrap_or(&issuer);
    if published != configured {
        return Err(FetchError::Rejected(
            "discovery issuer does not match the configured issuer".into(),
        ));
    }
    let issuer_url = Url::parse(&issuer)
        .map_err(|_| FetchError::Rejected("discovery issuer is not a URL".into()))?;
    let jwks_uri = url_member(&doc, "jwks_uri")?;
    if jwks_uri.origin() != issuer_url.origin() {
        return Err(FetchError::Rejected(
            "jwks_uri is on another origin than the issuer".into(),
        ));
    }
    let end_session_endpoint = match doc.get("end_session_endpoint") {
        None | Some(Value::Null) => None,
        Some(_) => Some(url_member(&doc, "end_session_endpoint")?),
    };
    Ok(ProviderMetadata {
        issuer,
        jwks_uri,
        authorization_endpoint: url_member(&doc, "authorization_endpoint")?,
        token_endpoint: url_member(&doc, "token_endpoint")?,
        userinfo_endpoint: url_member(&doc, "userinfo_endpoint")?,
        end_session_endpoint,
        revocation_endpoint: doc
            .get("revocation_endpoint")
            .and_then(|_| url_member(&doc, "revocation_endpoint").ok()),
        iss_parameter_supported: doc
            .get("authorization_response_iss_parameter_supported")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(issuer: &str, jwks: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "issuer": issuer, "jwks_uri": jwks,
            "authorization_endpoint": "https://t.example/authorize",
            "token_endpoint": "https://t.example/oauth/token",
            "userinfo_endpoint": "https://t.example/userinfo",
        }))
        .unwrap_or_default()
    }

    fn base(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn auth0_shape_is_accepted_with_or_without_trailing_slash_in_config() {
        let d = doc(
            "https://t.example/",
            "https://t.example/.well-known/jwks.json",
        );
        let m = parse_metadata(&d, &base("https://t.example")).expect("ok");
        assert_eq!(m.issuer, "https://t.example/");
        assert_eq!(m.end_session_endpoint, None);
        assert!(parse_metadata(&d, &base("https://t.example/")).is_ok());
    }

    #[test]
    fn a_path_issuer_without_trailing_slash_is_kept_verbatim() {
        let d = doc(
            "https://t.example/realms/x",
            "https://t.example/realms/x/certs",
        );
        let m = parse_metadata(&d, &base("https://t.example/realms/x/")).expect("ok");
        assert_eq!(m.issuer, "https://t.example/realms/x");
    }

    #[test]
    fn issuer_mismatch_is_rejected() {
        for iss in [
            "https://evil.example/",
            "http://t.example/",
            "https://t.example//",
            "https://t.example/x",
        ] {
            let d = doc(iss, "https://t.example/jwks");
            assert!(
                matches!(
                    parse_metadata(&d, &base("https://t.example")),
                    Err(FetchError::Rejected(_))
                ),
                "{iss}"
            );
        }
    }

    #[test]
    fn jwks_uri_on_another_origin_is_rejected() {
        for j in [
            "https://evil.example/jwks",
            "http://t.example/jwks",
            "https://t.example:8443/jwks",
        ] {
            let d = doc("https://t.example/", j);
            assert!(
                matches!(
                    parse_metadata(&d, &base("https://t.example")),
                    Err(FetchError::Rejected(_))
                ),
                "{j}"
            );
        }
    }

    #[test]
    fn garbage_is_unavailable_not_rejected() {
        assert!(matches!(
            parse_metadata(b"<html>", &base("https://t.example")),
            Err(FetchError::Unavailable(_))
        ));
        assert!(matches!(
            parse_metadata(
                br#"{"issuer":"https://t.example/"}"#,
                &base("https://t.example")
            ),
            Err(FetchError::Unavailable(_))
        ));
    }
}
