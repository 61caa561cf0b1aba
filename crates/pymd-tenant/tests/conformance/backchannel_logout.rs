//! OpenID Connect Back-Channel Logout from the tenant: discovery says it is supported; when a
//! session ends at `/v2/logout` or `/oidc/logout`, each client that received tokens in it and has
//! a back-channel URL gets a logout token (form `logout_token=`) of the exact shape the spec and
//! Auth0 give, signed with the tenant's key; each delivery is logged
//! (`oidc_backchannel_logout_succeeded` / `_failed`).

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The shipped tenant with the web client's back-channel URL aimed at `rx` (`/bcl`).
fn backchannel_at(rx: &Receiver) -> impl FnOnce(&mut pymd_tenant::TenantOptions) + use<> {
    let yaml = DEFAULT_TENANT_YAML.replace(
        "\"##APP_BASE_URL##/auth/backchannel-logout\"",
        "\"##RECEIVER##bcl\"",
    );
    assert_ne!(
        yaml, DEFAULT_TENANT_YAML,
        "the shipped tenant registers the URL"
    );
    let base = rx.base.to_string();
    move |o| {
        o.source = pymd_tenant::TenantSource::Yaml(yaml);
        o.keywords.insert("RECEIVER".into(), base);
    }
}

fn logout_token(r: &Received) -> String {
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(r.body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(fields.len(), 1, "only logout_token: {fields:?}");
    assert_eq!(fields[0].0, "logout_token");
    fields[0].1.clone()
}

fn sid_of(r: &Received) -> String {
    jwt_claims(&logout_token(r))["sid"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn discovery_advertises_back_channel_logout_with_sessions() {
    let t = spawn().await;
    let doc = t.get(".well-known/openid-configuration").await.json();
    assert_eq!(doc["backchannel_logout_supported"], true);
    assert_eq!(doc["backchannel_logout_session_supported"], true);
}

#[tokio::test]
async fn v2_logout_posts_a_signed_logout_token_of_the_exact_shape() {
    let rx = receiver(Behaviour::Ok).await;
    let t = spawn_with(backchannel_at(&rx)).await;
    let mut b = t.browser();
    let tokens =
        login_tokens_with(&t, &mut b, &AuthRequest::web(), ALICE_EMAIL, ALICE_PASSWORD).await;
    let id_claims = jwt_claims(&tokens.id_token);
    let sid = id_claims["sid"].as_str().expect("the ID token carries sid");
    assert_eq!(sid.len(), 32);

    let url = format!("v2/logout?client_id={WEB_CLIENT_ID}&returnTo={}", enc(APP));
    let r = b.get(&t.url(&url)).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", excerpt(&r.text));

    let got = rx.wait_for("a logout token", |r| r.path == "/bcl").await;
    let token = logout_token(&got);
    let header = jwt_header(&token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "logout+jwt");
    assert!(t.jwks_kids().await.iter().any(|k| header["kid"] == *k));
    let claims = t
        .verify(&token)
        .await
        .expect("signed with the tenant's key");
    let mut names: Vec<&str> = claims
        .as_object()
        .expect("claims")
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["aud", "events", "exp", "iat", "iss", "jti", "sid", "sub"]
    );
    assert_eq!(claims["iss"], t.dev().issuer());
    assert_eq!(claims["aud"], WEB_CLIENT_ID);
    assert_eq!(claims["sub"], ALICE_ID);
    assert_eq!(claims["sid"], sid, "the sid of the session's ID tokens");
    assert_eq!(claims["events"], serde_json::json!({ EVENT: {} }));
    let (iat, exp) = (
        claims["iat"].as_i64().expect("iat"),
        claims["exp"].as_i64().expect("exp"),
    );
    assert!(exp > iat && exp - iat <= 300, "a short life: {iat}..{exp}");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    assert!(claims.get("nonce").is_none());

    let log = t
        .wait_for_log("oidc_backchannel_logout_succeeded", |_| true)
        .await;
    assert_eq!(log["client_id"], WEB_CLIENT_ID);
    assert_eq!(log["user_id"], ALICE_ID);
    assert_eq!(log["details"]["session_id"], sid);
    assert_eq!(log["details"]["initiator"], "rp-logout");
    assert_eq!(log["details"]["status"], 200);
    assert_eq!(log["details"]["jti"], claims["jti"]);
    assert!(
        !log.to_string().contains(&token),
        "the token itself is not logged"
    );
}

#[tokio::test]
async fn oidc_logout_sends_only_the_ended_sessions_sid_and_each_logout_once() {
    let rx = receiver(Behaviour::Ok).await;
    let t = spawn_with(backchannel_at(&rx)).await;
    let (mut one, mut two) = (t.browser(), t.browser());
    let a = login_tokens_with(
        &t,
        &mut one,
        &AuthRequest::web(),
        ALICE_EMAIL,
        ALICE_PASSWORD,
    )
    .await;
    let b = login_tokens_with(
        &t,
        &mut two,
        &AuthRequest::web(),
        ALICE_EMAIL,
        ALICE_PASSWORD,
    )
    .await;
    let sid_a = jwt_claims(&a.id_token)["sid"].as_str().unwrap().to_owned();
    let sid_b = jwt_claims(&b.id_token)["sid"].as_str().unwrap().to_owned();
    assert_ne!(sid_a, sid_b);
    // A refresh in session A keeps the same sid (and the client is recorded once).
    let refreshed = t.refresh(&a.refresh_token).await;
    assert_eq!(refreshed.status, StatusCode::OK);
    let rid = refreshed.json()["id_token"].as_str().map(jwt_claims);
    assert_eq!(
        rid.map(|c| c["sid"].clone()),
        Some(Value::from(sid_a.clone()))
    );

    let url = format!(
        "oidc/logout?id_token_hint={}&post_logout_redirect_uri={}",
        a.id_token,
        enc(APP)
    );
    let r = one.get(&t.url(&url)).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", excerpt(&r.text));
    rx.wait_for("session A's logout", |r| sid_of(r) == sid_a)
        .await;

    // Session B ends through /v2/logout; its own token arrives, and by then A's was sent once.
    let url = format!("v2/logout?client_id={WEB_CLIENT_ID}&returnTo={}", enc(APP));
    let r = two.get(&t.url(&url)).await;
    assert_eq!(r.status, StatusCode::FOUND);
    rx.wait_for("session B's logout", |r| sid_of(r) == sid_b)
        .await;
    let sids: Vec<String> = rx.all().iter().map(sid_of).collect();
    assert_eq!(sids, vec![sid_a, sid_b], "one token per ended session");

    // A logout without a session (no cookie) sends nothing more.
    let r = t.browser().get(&t.url(&url)).await;
    assert_eq!(r.status, StatusCode::FOUND);
    let url = format!("v2/logout?client_id={WEB_CLIENT_ID}&returnTo={}", enc(APP));
    let mut three = t.browser();
    let c = login_tokens_with(&t, &mut three, &AuthRequest::web(), BOB_EMAIL, BOB_PASSWORD).await;
    let sid_c = jwt_claims(&c.id_token)["sid"].as_str().unwrap().to_owned();
    three.get(&t.url(&url)).await;
    rx.wait_for("session C's logout", |r| sid_of(r) == sid_c)
        .await;
    assert_eq!(rx.all().len(), 3, "the cookie-less logout sent nothing");
}

#[tokio::test]
async fn a_client_without_a_back_channel_url_or_outside_the_session_gets_nothing() {
    // The web client has no URL here; the only client with one (aimed at the receiver) is the
    // M2M client, which never takes part in a browser session.
    let rx = receiver(Behaviour::Ok).await;
    let marker = "    app_type: non_interactive\n";
    assert!(DEFAULT_TENANT_YAML.contains(marker));
    let yaml = DEFAULT_TENANT_YAML
        .replace(
            "\"##APP_BASE_URL##/auth/backchannel-logout\"",
            "\"##APP_BASE_URL##/nowhere\"",
        )
        .replacen(
            marker,
            &format!(
                "{marker}    oidc_logout:\n      backchannel_logout_urls:\n        - \"##RECEIVER##m2m\"\n      backchannel_logout_initiators:\n        mode: all\n"
            ),
            1,
        );
    // The web client's URL: removed entirely (its oidc_logout block goes).
    let start = yaml.find("    oidc_logout:").expect("web oidc_logout");
    let end = yaml[start..].find("    web_origins:").expect("after it") + start;
    let yaml = format!("{}{}", &yaml[..start], &yaml[end..]);
    let base = rx.base.to_string();
    let t = spawn_with(move |o| {
        o.source = pymd_tenant::TenantSource::Yaml(yaml);
        o.keywords.insert("RECEIVER".into(), base);
    })
    .await;
    let mut b = t.browser();
    login_tokens_with(&t, &mut b, &AuthRequest::web(), ALICE_EMAIL, ALICE_PASSWORD).await;
    let url = format!("v2/logout?client_id={WEB_CLIENT_ID}&returnTo={}", enc(APP));
    let r = b.get(&t.url(&url)).await;
    assert_eq!(r.status, StatusCode::FOUND);
    t.wait_for_log("slo", |_| true).await;
    // Deliveries are chosen before the logout answers: none was chosen, none arrives.
    assert!(rx.all().is_empty(), "{:?}", rx.all());
    assert!(
        !t.logs().await.iter().any(|e| e["type"]
            .as_str()
            .is_some_and(|k| k.starts_with("oidc_backchannel"))),
        "no delivery was attempted"
    );
}

#[tokio::test]
async fn a_failing_back_channel_url_is_retried_and_logged_as_failed() {
    let rx = receiver(Behaviour::Fail500).await;
    let t = spawn_with(backchannel_at(&rx)).await;
    let mut b = t.browser();
    login_tokens_with(&t, &mut b, &AuthRequest::web(), ALICE_EMAIL, ALICE_PASSWORD).await;
    let url = format!("v2/logout?client_id={WEB_CLIENT_ID}&returnTo={}", enc(APP));
    let started = std::time::Instant::now();
    let r = b.get(&t.url(&url)).await;
    assert_eq!(r.status, StatusCode::FOUND);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "the logout does not wait for the delivery"
    );
    let log = t
        .wait_for_log("oidc_backchannel_logout_failed", |_| true)
        .await;
    assert!(log["description"].as_str().unwrap_or("").contains("500"));
    assert_eq!(rx.all().len(), 3, "the first try and two retries");
    let jtis: std::collections::HashSet<String> = rx
        .all()
        .iter()
        .map(|r| {
            jwt_claims(&logout_token(r))["jti"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(jtis.len(), 1, "a retry resends the same token");
}

#[tokio::test]
async fn an_unknown_initiator_or_mode_or_a_non_http_url_stops_the_tenant() {
    for (from, to, says) in [
        (
            "          - idp-logout\n",
            "          - coffee-break\n",
            "coffee-break",
        ),
        ("        mode: custom\n", "        mode: some\n", "mode"),
        (
            "\"##APP_BASE_URL##/auth/backchannel-logout\"",
            "\"ftp://127.0.0.1/x\"",
            "ftp://",
        ),
    ] {
        let yaml = DEFAULT_TENANT_YAML.replacen(from, to, 1);
        assert_ne!(yaml, DEFAULT_TENANT_YAML, "{from}");
        let mut o = pymd_tenant::TenantOptions::new(fresh_data_dir());
        o.source = pymd_tenant::TenantSource::Yaml(yaml);
        let err = try_start(o).await.expect_err(says).to_string();
        assert!(err.contains(says), "{err}");
        assert!(
            err.starts_with("tenant.yaml:"),
            "the error names where: {err}"
        );
    }
}
