//! The naive peer: the smallest honest axum + jsonwebtoken server, the yardstick PyMD's hot path
//! is measured against. It fetches the issuer's JWKS once at start, then verifies RS256 (with
//! audience, issuer and expiry) on EVERY request: no verified-token cache, no database. It
//! serves `GET /api/v1/documents` (a fixed list of the same shape as PyMD's) and a bare public
//! `GET /`.
//!
//! It runs as a child process of the bench (`pymd-bench __peer ISSUER AUDIENCE`) so its
//! memory is its own; it binds 127.0.0.1:0 and prints `listening <addr>` on its first line.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tokio::io::AsyncBufReadExt;

use crate::servers::Server;

/// The name of the hidden subcommand that runs the peer.
pub const SUBCOMMAND: &str = "__peer";

/// The keys (by `kid`) and the validation rules, both fixed at start.
struct Peer {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
}

#[derive(serde::Deserialize)]
struct Claims {
    sub: String,
}

/// Runs the peer until it is killed: `args` are the issuer (with its trailing slash) and the
/// audience.
///
/// # Errors
/// Missing arguments, the JWKS cannot be fetched or parsed, or no loopback port can be bound.
pub async fn main(args: &[String]) -> anyhow::Result<()> {
    let [issuer, audience] = args else {
        anyhow::bail!("usage: pymd-bench {SUBCOMMAND} ISSUER AUDIENCE");
    };
    let jwks: JwkSet = reqwest::get(format!("{issuer}.well-known/jwks.json"))
        .await?
        .error_for_status()?
        .json()
        .await
        .context("the issuer's JWKS")?;
    let keys = jwks
        .keys
        .iter()
        .filter_map(|jwk| Some((jwk.common.key_id.clone()?, DecodingKey::from_jwk(jwk).ok()?)))
        .collect();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer]);
    let app = Router::new()
        .route(
            "/",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/api/v1/documents", get(list))
        .with_state(Arc::new(Peer { keys, validation }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// Verifies the bearer token, then answers ten summaries owned by its `sub`.
async fn list(State(peer): State<Arc<Peer>>, headers: HeaderMap) -> Response {
    match verify(&peer, &headers) {
        Some(sub) => axum::Json(documents(&sub)).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// The token's `sub` when its RS256 signature, audience, issuer and expiry hold.
fn verify(peer: &Peer, headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
    let key = peer.keys.get(&kid)?;
    let data = jsonwebtoken::decode::<Claims>(token, key, &peer.validation).ok()?;
    Some(data.claims.sub)
}

/// A page of ten document summaries, the shape of PyMD's list.
fn documents(sub: &str) -> serde_json::Value {
    let docs: Vec<_> = (0..10)
        .map(|i| {
            serde_json::json!({
                "id": format!("00000000-0000-4000-8000-{i:012}"),
                "title": format!("Document {i}"),
                "excerpt": "Bench Some Markdown.",
                "owner_id": sub,
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z",
                "version": 1,
            })
        })
        .collect();
    serde_json::json!({"documents": docs, "next_cursor": null})
}

/// Starts the peer as a child process of this binary and waits for its address.
///
/// # Errors
/// It could not be spawned, or exited before printing its address.
pub async fn start(issuer: &str, audience: &str) -> anyhow::Result<Server> {
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args([SUBCOMMAND, issuer, audience])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("starting the naive peer")?;
    let stdout = child.stdout.take().context("the peer's stdout")?;
    let mut line = String::new();
    tokio::io::BufReader::new(stdout)
        .read_line(&mut line)
        .await?;
    let addr = line
        .trim()
        .strip_prefix("listening ")
        .with_context(|| format!("the peer did not start: {line:?}"))?;
    Server::new(child, format!("http://{addr}"), false)
}
