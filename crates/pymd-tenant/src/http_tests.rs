//! Tests over real HTTP that look inside the tenant's state (the in-memory maps, the sweep, the
//! mailbox): what a client cannot observe. Everything a client can observe is pinned by the
//! conformance suite in `tests/conformance`; these move into the modules owning that state.

use std::collections::HashMap;

use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::util::{b64url, sha256};
use crate::{DevTenant, TenantOptions, start};

pub(crate) async fn tenant_with(f: impl FnOnce(&mut TenantOptions)) -> DevTenant {
    let dir =
        std::env::temp_dir().join(format!("pymd-tenant-test-{}", crate::util::random_hex(10)));
    let mut opts = TenantOptions::new(dir);
    f(&mut opts);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start(listener, opts).await.unwrap()
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// PKCE pair.
pub(crate) fn pkce() -> (String, String) {
    let verifier = crate::util::random_urlsafe(64);
    let challenge = b64url(&sha256(verifier.as_bytes()));
    (verifier, challenge)
}

pub(crate) fn location_params(r: &reqwest::Response) -> HashMap<String, String> {
    let loc = r.headers()["location"].to_str().unwrap();
    let u = url::Url::parse(loc).unwrap();
    u.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(crate) const CB: &str = "http://localhost:3000/auth/callback";

/// Runs /authorize → /u/login → POST and returns (redirect response params, session cookie).
pub(crate) async fn login(
    t: &DevTenant,
    c: &reqwest::Client,
    email: &str,
    password: &str,
    challenge: &str,
    extra: &str,
) -> (reqwest::Response, Option<String>) {
    let iss = t.issuer();
    let web = t.web_client();
    let url = format!(
        "{iss}authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid%20profile%20email%20offline_access%20read:documents&state=st-1&nonce=n-1&code_challenge={challenge}&code_challenge_method=S256{extra}",
        web.client_id,
        urlenc(CB)
    );
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with("/u/login?state="), "{loc}");
    let binding = csrf_cookie_of(&r);
    let page = c
        .get(format!("{}{}", iss.trim_end_matches('/'), loc))
        .header("cookie", &binding)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("action=\"{loc}\"")), "{html}");
    let csrf = between(&html, "name=\"csrf_token\" value=\"", "\"");
    let r = c
        .post(format!("{}{}", iss.trim_end_matches('/'), loc))
        .header("cookie", &binding)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    let cookie = r
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
    (r, cookie)
}

/// The `auth0_csrf=…` pair the tenant set on a response (what a browser sends back).
pub(crate) fn csrf_cookie_of(r: &reqwest::Response) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("auth0_csrf="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_string()
}

pub(crate) fn urlenc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(crate) fn between(s: &str, a: &str, b: &str) -> String {
    let start = s.find(a).unwrap() + a.len();
    let end = s[start..].find(b).unwrap() + start;
    s[start..end].to_string()
}

async fn exchange(t: &DevTenant, c: &reqwest::Client, form: &[(&str, &str)]) -> (u16, Value) {
    let r = c
        .post(format!("{}oauth/token", t.issuer()))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert_eq!(r.headers()["cache-control"], "no-store");
    (status, r.json().await.unwrap())
}

/// A tenant whose every request appears to come from `peer` (the real socket is on loopback).
async fn tenant_seen_from(peer: std::net::SocketAddr) -> DevTenant {
    use axum::extract::{ConnectInfo, Request};
    use axum::middleware::{Next, from_fn};
    let dir =
        std::env::temp_dir().join(format!("pymd-tenant-test-{}", crate::util::random_hex(10)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    crate::start_wrapped(listener, TenantOptions::new(dir), move |app| {
        app.layer(from_fn(move |mut req: Request, next: Next| async move {
            req.extensions_mut().insert(ConnectInfo(peer));
            next.run(req).await
        }))
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn dev_controls_refuse_a_peer_that_is_not_on_loopback() {
    let t = tenant_seen_from("192.0.2.7:40000".parse().unwrap()).await;
    let c = client();
    let iss = t.issuer().to_string();
    let refused = json!({
        "error": "access_denied",
        "error_description": "The dev tenant's /__dev test controls answer only to clients on this machine (loopback)."
    });
    let r = c
        .post(format!("{iss}__dev/token"))
        .json(&json!({"user": "alice@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap(), refused);
    let r = c
        .post(format!("{iss}__dev/clock"))
        .json(&json!({"offset_secs": 999}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap(), refused);
    // Nothing changed: no token family was minted, the clock was not moved.
    assert!(t.state.refresh.len().await.0 == 0);
    assert_eq!(t.state.clock.offset(), 0);
    // The rest of the tenant still answers that peer.
    let r = c
        .get(format!("{iss}.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    t.shutdown().await;
}

#[tokio::test]
async fn dev_controls_answer_an_ipv4_mapped_loopback_peer() {
    let t = tenant_seen_from("[::ffff:127.0.0.1]:40000".parse().unwrap()).await;
    let r = client()
        .get(format!("{}__dev/clock", t.issuer()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    t.shutdown().await;
}

#[tokio::test]
async fn dev_controls_refuse_a_rebinding_host_and_mint_no_token() {
    let t = tenant_with(|_| {}).await;
    let c = client();
    let iss = t.issuer().to_string();
    for host in [
        "attacker.example",
        "attacker.example:80",
        "127.0.0.1.attacker.example",
    ] {
        let r = c
            .post(format!("{iss}__dev/token"))
            .header("host", host)
            .json(&json!({"user": "alice@example.com"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{host}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "access_denied", "{v}");
        assert!(v.get("access_token").is_none());
        let r = c
            .get(format!("{iss}__dev/mailbox?format=json"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{host}");
    }
    assert!(t.state.refresh.len().await.0 == 0, "no token minted");
    t.shutdown().await;
}

#[tokio::test]
async fn expired_entries_are_swept_from_every_in_memory_map() {
    use crate::store::brute_force::FailedLogins;
    use crate::store::opaque::OpaqueToken;
    use crate::sweep::{Swept, sweep};
    let t = tenant_with(|_| {}).await;
    let c = client();
    // A real login leaves a session, a redeemed code and a refresh-token family…
    let (verifier, challenge) = pkce();
    let (r, _) = login(
        &t,
        &c,
        "alice@example.com",
        "Alice-Dev-2026!",
        &challenge,
        "",
    )
    .await;
    let code = location_params(&r)["code"].clone();
    let web = t.web_client();
    let (status, _) = exchange(
        &t,
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", web.client_id.as_str()),
            ("client_secret", web.client_secret.as_str()),
            ("code", code.as_str()),
            ("redirect_uri", CB),
            ("code_verifier", verifier.as_str()),
        ],
    )
    .await;
    assert_eq!(status, 200);
    // …an abandoned /authorize leaves a transaction; add a failed-login counter and an opaque
    // /userinfo token.
    let abandoned = c
        .get(format!(
            "{}authorize?response_type=code&client_id={}&redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256",
            t.issuer(),
            web.client_id,
            urlenc(CB)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(abandoned.status(), 302);
    let now = t.state.clock.unix();
    t.state
        .brute_force
        .set(
            ("bob@example.com".into(), None),
            FailedLogins {
                count: 3,
                last: now,
            },
        )
        .await;
    t.state
        .opaque
        .insert(
            "opaque-token".into(),
            OpaqueToken {
                user_id: "auth0|64b1f0c2a1b2c3d4e5f60001".into(),
                scope: vec!["openid".into()],
                exp: now + 86_400,
            },
        )
        .await;
    let sizes = |t: &DevTenant| {
        let s = t.state.clone();
        async move {
            let (families, tokens) = s.refresh.len().await;
            [
                s.codes.len().await,
                s.transactions.len().await,
                s.sessions.len().await,
                s.opaque.len().await,
                s.brute_force.len().await,
                families,
                tokens,
            ]
        }
    };
    assert_eq!(sizes(&t).await, [1, 1, 1, 1, 1, 1, 1]);
    assert_eq!(
        sweep(&t.state).await,
        Swept::default(),
        "nothing is due yet"
    );

    // Two hours on: the code (kept an hour for replay detection) and the transaction are gone.
    t.state.clock.set_offset(2 * 3600);
    let swept = sweep(&t.state).await;
    assert_eq!(
        swept,
        Swept {
            codes: 1,
            transactions: 1,
            ..Swept::default()
        }
    );
    assert_eq!(sizes(&t).await, [0, 0, 1, 1, 1, 1, 1]);

    // 91 days on: past the session, the opaque token, the 30-day brute-force lapse and the
    // refresh family's 90-day absolute lifetime.
    t.state.clock.set_offset(91 * 86_400);
    let swept = sweep(&t.state).await;
    assert_eq!(
        swept,
        Swept {
            sessions: 1,
            opaque: 1,
            brute: 1,
            families: 1,
            refresh_tokens: 1,
            ..Swept::default()
        }
    );
    assert_eq!(sizes(&t).await, [0; 7]);
    t.shutdown().await;
}

#[tokio::test]
async fn a_revoked_refresh_family_is_swept_with_all_its_tokens() {
    use crate::sweep::sweep;
    let t = tenant_with(|_| {}).await;
    let c = client();
    let body: Value = c
        .post(format!("{}__dev/token", t.issuer()))
        .json(&json!({"user": "alice@example.com", "scope": "openid offline_access"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let web = t.web_client();
    let rt = body["refresh_token"].as_str().unwrap().to_string();
    let form = |rt: &str| {
        [
            ("grant_type", "refresh_token".to_string()),
            ("client_id", web.client_id.clone()),
            ("client_secret", web.client_secret.clone()),
            ("refresh_token", rt.to_string()),
        ]
    };
    let url = format!("{}oauth/token", t.issuer());
    let r = c.post(&url).form(&form(&rt)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Reuse revokes the family; the sweep then drops it and both of its tokens.
    let r = c.post(&url).form(&form(&rt)).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let swept = sweep(&t.state).await;
    assert_eq!((swept.families, swept.refresh_tokens), (1, 2));
    // Presenting a swept token still gets Auth0's answer.
    let r = c.post(&url).form(&form(&rt)).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."})
    );
    t.shutdown().await;
}

#[tokio::test]
async fn a_correct_password_clears_the_failure_counter() {
    let t = tenant_with(|_| {}).await;
    let c = client();
    let (_, challenge) = pkce();
    for _ in 0..9 {
        let (r, _) = login(&t, &c, "bob@example.com", "nope", &challenge, "").await;
        assert_eq!(r.status(), 400);
    }
    let (r, _) = login(&t, &c, "bob@example.com", "Bob-Dev-2026!", &challenge, "").await;
    assert_eq!(r.status(), 302);
    assert_eq!(t.state.brute_force.len().await, 0, "cleared on success");
    let (r, _) = login(&t, &c, "bob@example.com", "nope", &challenge, "").await;
    assert_eq!(r.status(), 400);
    let count = |t: &DevTenant| {
        let s = t.state.clone();
        async move { s.brute_force.total().await }
    };
    assert_eq!(count(&t).await, 1);
    t.shutdown().await;
}

#[tokio::test]
async fn an_expired_verification_link_changes_nothing_and_is_swept() {
    use crate::store::mailbox::Mail;
    let t = tenant_with(|_| {}).await;
    let c = client();
    let user_id = t
        .state
        .users
        .by_email("bob@example.com")
        .await
        .unwrap()
        .user_id;
    t.state
        .users
        .change(&user_id, None, |u| u.email_verified = false)
        .await
        .unwrap();
    let now = t.state.clock.unix();
    let mail = |ticket: &str, sent_at: i64| Mail {
        to: "bob@example.com".into(),
        subject: "Verify your email".into(),
        link: format!("{}u/email-verification?ticket={ticket}", t.issuer()),
        sent_at,
        ticket: ticket.into(),
        user_id: user_id.clone(),
        used: false,
    };
    t.state.mailbox.deliver(mail("old-ticket", now)).await;
    t.state
        .mailbox
        .deliver(mail("new-ticket", now + 2 * 86_400))
        .await;
    // 5 days and a minute on: the first link has expired, the second has not.
    t.state.clock.set_offset(5 * 86_400 + 60);
    let r = c
        .get(format!(
            "{}u/email-verification?ticket=old-ticket",
            t.issuer()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("invalid or has expired"));
    let verified = |t: &DevTenant| {
        let s = t.state.clone();
        let id = user_id.clone();
        async move { s.users.get(&id).await.unwrap().email_verified }
    };
    assert!(!verified(&t).await, "an expired link verifies nothing");
    assert!(!t.state.mailbox.all().await[0].used);
    // The sweep drops the expired mail and keeps the live one.
    let swept = crate::sweep::sweep(&t.state).await;
    assert_eq!(swept.mails, 1);
    let left: Vec<String> = t
        .state
        .mailbox
        .all()
        .await
        .iter()
        .map(|m| m.ticket.clone())
        .collect();
    assert_eq!(left, ["new-ticket"]);
    let r = c
        .get(format!(
            "{}u/email-verification?ticket=new-ticket",
            t.issuer()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(verified(&t).await);
    t.shutdown().await;
}
