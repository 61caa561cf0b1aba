//! Group 4: the login and sign-up pages, brute-force protection, the SSO session
//! (auth0-surface §3.6, §14; security-anchors §J 146–148).

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

/// One credential attempt on a fresh login page of the same browser.
async fn attempt(t: &Tenant, b: &mut Browser, req: &AuthRequest, email: &str, pw: &str) -> Landing {
    let (url, form) = b.login_page(t, req).await;
    let (action, r) = b.submit(&url, &form, email, pw).await;
    b.follow(&action, r).await
}

fn visible_text(html: &str) -> String {
    // Strip tags and hidden values so per-request tokens do not make two pages differ.
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    let t = spawn().await;
    let req = AuthRequest::web();
    let mut b = t.browser();
    let (_, wrong_pw) = attempt(&t, &mut b, &req, ALICE_EMAIL, "Not-Her-Password-1")
        .await
        .page();
    let (_, unknown) = attempt(&t, &mut b, &req, "nobody@example.com", "Not-Her-Password-1")
        .await
        .page();
    assert!(wrong_pw.status.is_client_error() || wrong_pw.status == StatusCode::OK);
    assert_eq!(wrong_pw.status, unknown.status, "same status");
    assert!(
        wrong_pw.text.contains("Wrong email or password"),
        "{}",
        excerpt(&wrong_pw.text)
    );
    assert!(
        unknown.text.contains("Wrong email or password"),
        "{}",
        excerpt(&unknown.text)
    );
    assert_eq!(
        visible_text(&wrong_pw.text).replace(ALICE_EMAIL, "X"),
        visible_text(&unknown.text).replace("nobody@example.com", "X"),
        "the pages do not reveal whether the account exists"
    );
    assert!(!b.has_cookie("auth0"), "no session after failures");
}

#[tokio::test]
async fn failed_logins_are_logged_as_fp_and_fu() {
    let t = spawn().await;
    let req = AuthRequest::web();
    let mut b = t.browser();
    attempt(&t, &mut b, &req, ALICE_EMAIL, "Not-Her-Password-1")
        .await
        .page();
    attempt(&t, &mut b, &req, "nobody@example.com", "Not-Her-Password-1")
        .await
        .page();
    t.wait_for_log("fp", |e| {
        e["user_name"] == ALICE_EMAIL || e["user_id"] == ALICE_ID
    })
    .await;
    t.wait_for_log("fu", |_| true).await;
}

#[tokio::test]
async fn a_successful_login_sets_the_auth0_session_cookie_and_logs_s() {
    let t = spawn().await;
    let mut b = t.browser();
    b.login_code(&t, &AuthRequest::web(), ALICE_EMAIL, ALICE_PASSWORD)
        .await;
    assert!(
        b.has_cookie("auth0"),
        "session cookie named auth0: {:?}",
        b.jar.names()
    );
    let s = t.wait_for_log("s", |e| e["user_id"] == ALICE_ID).await;
    assert_eq!(s["client_id"], WEB_CLIENT_ID, "{s}");
    assert_eq!(s["ip"], "127.0.0.1", "{s}");
}

#[tokio::test]
async fn ten_failures_block_the_account_from_that_ip_even_for_the_right_password() {
    let t = spawn().await;
    let req = AuthRequest::web();
    let mut b = t.browser();
    let (_, unknown) = attempt(&t, &mut b, &req, "nobody@example.com", "whatever")
        .await
        .page();
    assert!(unknown.text.contains("Wrong email or password."));
    for i in 0..10 {
        let landing = attempt(&t, &mut b, &req, ALICE_EMAIL, &format!("Wrong-Guess-{i}a")).await;
        let (_, page) = landing.page();
        assert!(
            !page.status.is_success() || page.text.contains("Wrong"),
            "attempt {i}"
        );
        assert_eq!(page.status, unknown.status, "attempt {i}");
    }
    let (url, form) = b.login_page(&t, &req).await;
    let (action, r) = b.submit(&url, &form, ALICE_EMAIL, ALICE_PASSWORD).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the right password is refused while blocked: {}",
        excerpt(&r.text)
    );
    assert!(
        r.text
            .contains("blocked after multiple consecutive login attempts"),
        "{}",
        excerpt(&r.text)
    );
    let landing = b.follow(&action, r).await;
    assert!(
        matches!(landing, Landing::Page(..)),
        "no code while blocked"
    );
    assert!(!b.has_cookie("auth0"));
    t.wait_for_log("limit_wc", |_| true).await;

    // Other accounts from the same IP are not blocked (count_per_identifier_and_ip).
    let mut other = t.browser();
    other
        .login_code(&t, &AuthRequest::web(), BOB_EMAIL, BOB_PASSWORD)
        .await;
    // Nor is the same account from another IP.
    let mut elsewhere = t.browser();
    elsewhere.http = http_client_from([127, 0, 0, 2]);
    elsewhere
        .login_code(&t, &AuthRequest::web(), ALICE_EMAIL, ALICE_PASSWORD)
        .await;
}

async fn signup_page(t: &Tenant, b: &mut Browser) -> (String, Form, AuthRequest) {
    let req = AuthRequest::web().with("screen_hint", "signup");
    let (url, page) = b.authorize(t, &req).await.page();
    assert_eq!(
        url::Url::parse(&url).unwrap().path(),
        "/u/signup",
        "screen_hint=signup"
    );
    assert_eq!(page.status, StatusCode::OK);
    let form = parse_form(&page.text).expect("sign-up form");
    assert!(
        form_value(&form, "csrf_token").is_some(),
        "sign-up form has a csrf_token"
    );
    (url, form, req)
}

async fn users_by_email(t: &Tenant, email: &str) -> Vec<Value> {
    let token = t.management_token(None).await;
    let path = format!(
        "api/v2/users-by-email?email={}",
        url::form_urlencoded::byte_serialize(email.as_bytes()).collect::<String>()
    );
    let r = t.get_bearer(&path, &token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json().as_array().unwrap().clone()
}

#[tokio::test]
async fn screen_hint_signup_lands_on_the_sign_up_page() {
    let t = spawn().await;
    let mut b = t.browser();
    signup_page(&t, &mut b).await;
}

#[tokio::test]
async fn sign_up_with_a_weak_password_is_refused_with_the_policy() {
    let t = spawn().await;
    let mut b = t.browser();
    let email = format!("weak-{}@example.com", uuid::Uuid::new_v4().simple());
    let (url, form, _) = signup_page(&t, &mut b).await;
    let (_, r) = b.submit(&url, &form, &email, "weakpass").await;
    assert!(!r.is_redirect(), "refused sign-ups stay on the page");
    assert!(r.status.is_client_error(), "{}", r.status);
    let text = r.text.to_lowercase();
    assert!(
        text.contains("at least 8 characters"),
        "policy shown: {}",
        excerpt(&r.text)
    );
    assert!(
        users_by_email(&t, &email).await.is_empty(),
        "no user created"
    );
}

#[tokio::test]
async fn sign_up_with_a_breached_password_is_refused() {
    let t = spawn().await;
    let mut b = t.browser();
    let email = format!("breached-{}@example.com", uuid::Uuid::new_v4().simple());
    let (url, form, _) = signup_page(&t, &mut b).await;
    // Satisfies "fair" (upper, lower, digit, ≥ 8) but is a well-known breached password.
    let (_, r) = b.submit(&url, &form, &email, "Password123!").await;
    assert!(!r.is_redirect(), "refused sign-ups stay on the page");
    assert!(r.status.is_client_error(), "{}", r.status);
    assert!(
        users_by_email(&t, &email).await.is_empty(),
        "no user created"
    );
}

#[tokio::test]
async fn sign_up_with_an_existing_email_is_refused() {
    let t = spawn().await;
    let mut b = t.browser();
    let (url, form, _) = signup_page(&t, &mut b).await;
    let (_, r) = b
        .submit(&url, &form, ALICE_EMAIL, "Fresh-Strong-Pass-42")
        .await;
    assert!(!r.is_redirect(), "refused sign-ups stay on the page");
    assert!(r.status.is_client_error(), "{}", r.status);
    assert_eq!(users_by_email(&t, ALICE_EMAIL).await.len(), 1);
    // Alice's password was not changed.
    t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
}

#[tokio::test]
async fn a_valid_sign_up_creates_an_unverified_user_logs_ss_and_mails_a_link() {
    let t = spawn().await;
    let mut b = t.browser();
    let email = format!("carol-{}@example.com", uuid::Uuid::new_v4().simple());
    let (url, form, req) = signup_page(&t, &mut b).await;
    let (action, r) = b.submit(&url, &form, &email, "Carol-Dev-2026!x").await;
    let to = b.follow(&action, r).await.away();
    assert!(to.starts_with(CALLBACK), "{to}");
    let code = query_param(&to, "code").expect("sign-up logs the user in");
    assert_eq!(
        query_param(&to, "state").as_deref(),
        Some(req.state.as_str())
    );

    let users = users_by_email(&t, &email).await;
    assert_eq!(users.len(), 1, "{users:?}");
    let user = &users[0];
    assert_eq!(user["email_verified"], false);
    let user_id = user["user_id"].as_str().unwrap();
    assert!(user_id.starts_with("auth0|"), "{user_id}");
    assert_eq!(
        user["identities"][0]["connection"],
        "Username-Password-Authentication"
    );

    let tokens = t.exchange_code(&code, &req.pkce_verifier, CALLBACK).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    let id = jwt_claims(tokens.json()["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], user_id);
    assert_eq!(id["email_verified"], false);

    t.wait_for_log("ss", |_| true).await;
    let mailbox = t.get("__dev/mailbox").await;
    assert_eq!(mailbox.status, StatusCode::OK);
    assert!(
        mailbox.text.contains(&email),
        "a verification mail for {email}"
    );
}

#[tokio::test]
async fn the_session_cookie_lets_a_second_authorize_skip_the_form() {
    let t = spawn().await;
    let mut b = t.browser();
    b.login_code(&t, &AuthRequest::web(), ALICE_EMAIL, ALICE_PASSWORD)
        .await;
    let req = AuthRequest::web();
    let to = b.authorize(&t, &req).await.away();
    let code = query_param(&to, "code").expect("SSO: straight back with a code");
    assert_eq!(
        query_param(&to, "state").as_deref(),
        Some(req.state.as_str())
    );
    let r = t.exchange_code(&code, &req.pkce_verifier, CALLBACK).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = jwt_claims(r.json()["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], ALICE_ID);
    assert_eq!(
        id["nonce"],
        req.nonce.as_str(),
        "the new nonce, not the first one"
    );
}

#[tokio::test]
async fn prompt_none_with_a_session_returns_a_code() {
    let t = spawn().await;
    let mut b = t.browser();
    b.login_code(&t, &AuthRequest::web(), ALICE_EMAIL, ALICE_PASSWORD)
        .await;
    let req = AuthRequest::web().with("prompt", "none");
    let to = b.authorize(&t, &req).await.away();
    assert!(query_param(&to, "code").is_some(), "{to}");
    assert!(query_param(&to, "error").is_none(), "{to}");
}

#[tokio::test]
async fn prompt_login_forces_the_form_despite_a_session() {
    let t = spawn().await;
    let mut b = t.browser();
    b.login_code(&t, &AuthRequest::web(), ALICE_EMAIL, ALICE_PASSWORD)
        .await;
    let req = AuthRequest::web().with("prompt", "login");
    let (url, page) = b.authorize(&t, &req).await.page();
    assert_eq!(url::Url::parse(&url).unwrap().path(), "/u/login");
    assert!(parse_form(&page.text).is_some());
}

#[tokio::test]
async fn a_login_post_without_the_csrf_token_is_refused() {
    let t = spawn().await;
    let mut b = t.browser();
    let req = AuthRequest::web();
    let (url, mut form) = b.login_page(&t, &req).await;
    form.fields.retain(|(k, _)| k != "csrf_token");
    let (action, r) = b.submit(&url, &form, ALICE_EMAIL, ALICE_PASSWORD).await;
    assert!(
        r.status.is_client_error(),
        "{} {}",
        r.status,
        excerpt(&r.text)
    );
    assert!(
        matches!(b.follow(&action, r).await, Landing::Page(..)),
        "no code"
    );
    assert!(!b.has_cookie("auth0"));
}

#[tokio::test]
async fn the_login_page_is_not_framable_and_not_cached() {
    let t = spawn().await;
    let mut b = t.browser();
    let (_, page) = b.authorize(&t, &AuthRequest::web()).await.page();
    let xfo = page
        .header("x-frame-options")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(
        xfo == "deny" || xfo == "sameorigin" || csp.contains("frame-ancestors"),
        "clickjacking protection on the login page"
    );
    assert!(
        page.header("cache-control")
            .unwrap_or_default()
            .contains("no-store")
    );
}

/// What a refused form post must leave behind: a 403 page, no cookie, no session, no login.
async fn assert_refused_without_side_effects(t: &Tenant, b: &Browser, r: &Resp, text: &str) {
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", excerpt(&r.text));
    assert!(r.text.contains(text), "{}", excerpt(&r.text));
    assert!(r.header("set-cookie").is_none(), "no cookie is set");
    assert!(r.location().is_none(), "no redirect, so no code");
    assert!(!b.has_cookie("auth0"), "no session");
    let logs = t.logs().await;
    assert!(
        !logs
            .iter()
            .any(|e| ["s", "ss", "fp", "fu", "fs"].contains(&e["type"].as_str().unwrap_or(""))),
        "the credentials were never checked: {logs:#?}"
    );
}

#[tokio::test]
async fn the_login_page_binds_its_csrf_token_to_an_http_only_lax_cookie() {
    let t = spawn().await;
    let mut b = t.browser();
    let first = b.get(&AuthRequest::web().url(&t)).await;
    let set = first
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("auth0_csrf="))
        .expect("the redirect to the login page sets the CSRF cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/;"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    // The page itself keeps the cookie the browser already has.
    let page = b.get(&first.location().unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("set-cookie").is_none(), "cookie reused");
}

#[tokio::test]
async fn a_login_post_without_the_csrf_cookie_is_refused_and_starts_no_session() {
    let t = spawn().await;
    let mut b = t.browser();
    let (url, form) = b.login_page(&t, &AuthRequest::web()).await;
    // A cross-site POST (SameSite=Lax) or a browser that dropped the cookie.
    b.jar.remove("auth0_csrf");
    let (_, r) = b.submit(&url, &form, ALICE_EMAIL, ALICE_PASSWORD).await;
    assert_refused_without_side_effects(&t, &b, &r, "without the sign-in cookie").await;
}

#[tokio::test]
async fn a_login_form_loaded_by_an_attacker_cannot_be_submitted_from_the_victims_browser() {
    let t = spawn().await;
    // The attacker loads a login form in their own browser: transaction id and token are theirs.
    let mut attacker = t.browser();
    let (url, form) = attacker.login_page(&t, &AuthRequest::web()).await;
    // The victim's browser has its own CSRF cookie (it opened a login page of its own).
    let mut victim = t.browser();
    victim.login_page(&t, &AuthRequest::web()).await;
    assert_ne!(victim.jar.get("auth0_csrf"), attacker.jar.get("auth0_csrf"));
    // Login CSRF: the victim is made to post the attacker's form with the attacker's account.
    let (_, r) = victim.submit(&url, &form, BOB_EMAIL, BOB_PASSWORD).await;
    assert_refused_without_side_effects(&t, &victim, &r, "Invalid or missing CSRF token").await;
    // The attacker's own browser could still use it.
    let (_, r) = attacker.submit(&url, &form, BOB_EMAIL, BOB_PASSWORD).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", excerpt(&r.text));
}

#[tokio::test]
async fn a_sign_up_post_without_the_csrf_cookie_creates_no_user() {
    let t = spawn().await;
    let mut b = t.browser();
    let (url, form, _) = signup_page(&t, &mut b).await;
    b.jar.remove("auth0_csrf");
    let (_, r) = b
        .submit(&url, &form, "mallory@example.com", "Mallory-Dev-2026!")
        .await;
    assert_refused_without_side_effects(&t, &b, &r, "without the sign-in cookie").await;
    assert!(users_by_email(&t, "mallory@example.com").await.is_empty());
}

#[tokio::test]
async fn an_email_verification_link_works_only_once() {
    let t = spawn().await;
    let mut b = t.browser();
    let email = format!("dave-{}@example.com", uuid::Uuid::new_v4().simple());
    let (url, form, _) = signup_page(&t, &mut b).await;
    let (action, r) = b.submit(&url, &form, &email, "Dave-Dev-2026!x").await;
    b.follow(&action, r).await.away();
    let mails = t.get("__dev/mailbox?format=json").await.json();
    let link = mails
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["to"] == email.as_str())
        .and_then(|m| m["link"].as_str())
        .expect("a verification mail")
        .to_string();

    let first = t.http.get(&link).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let verified = users_by_email(&t, &email).await[0].clone();
    assert_eq!(verified["email_verified"], true);

    let again = into_resp(t.http.get(&link).send().await.unwrap()).await;
    assert_eq!(
        again.status,
        StatusCode::BAD_REQUEST,
        "{}",
        excerpt(&again.text)
    );
    assert!(
        again
            .text
            .contains("This verification link has already been used"),
        "{}",
        excerpt(&again.text)
    );
    // Nothing changed: the user was not touched again and no second sv event was logged.
    let after = users_by_email(&t, &email).await[0].clone();
    assert_eq!(after["updated_at"], verified["updated_at"]);
    let sv = t.logs().await.iter().filter(|e| e["type"] == "sv").count();
    assert_eq!(sv, 1);
}

#[tokio::test]
async fn a_brute_force_block_lifts_thirty_days_after_the_last_failure() {
    let t = spawn().await;
    let req = AuthRequest::web();
    let mut b = t.browser();
    for i in 0..10 {
        attempt(&t, &mut b, &req, ALICE_EMAIL, &format!("Wrong-Guess-{i}a"))
            .await
            .page();
    }
    t.set_clock_offset(29 * 86_400).await;
    let (url, form) = b.login_page(&t, &req).await;
    let (_, r) = b.submit(&url, &form, ALICE_EMAIL, ALICE_PASSWORD).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "still blocked on day 29"
    );
    // Auth0: "Unblock: 30 days after the last failed attempt".
    t.set_clock_offset(31 * 86_400).await;
    b.login_code(&t, &AuthRequest::web(), ALICE_EMAIL, ALICE_PASSWORD)
        .await;
}

#[tokio::test]
async fn the_first_of_two_login_tabs_in_one_browser_still_signs_in() {
    let t = spawn().await;
    let mut b = t.browser();
    // Tab 1 opens /authorize and gets a login form; then tab 2 does the same (or the user
    // starts a second sign-in attempt) before tab 1's form is submitted.
    let (first_url, first_form) = b.login_page(&t, &AuthRequest::web()).await;
    let binding = b.jar.get("auth0_csrf").map(str::to_owned);
    let (second_url, _) = b.login_page(&t, &AuthRequest::web()).await;
    assert_ne!(first_url, second_url, "two transactions");
    assert_eq!(
        b.jar.get("auth0_csrf").map(str::to_owned),
        binding,
        "the second /authorize reuses the browser's CSRF cookie"
    );
    let (action, r) = b
        .submit(&first_url, &first_form, ALICE_EMAIL, ALICE_PASSWORD)
        .await;
    assert_ne!(r.status, StatusCode::FORBIDDEN, "{}", excerpt(&r.text));
    let callback = b.follow(&action, r).await.away();
    assert!(
        callback.starts_with(&AuthRequest::web().redirect_uri) && callback.contains("code="),
        "{callback}"
    );
}

/// Opens the login form `n` times with `http` (no cookie jar); returns each form's URL, the
/// `auth0_csrf=…` cookie it was bound to and its `csrf_token`.
async fn open_login_forms(
    t: &Tenant,
    http: &reqwest::Client,
    n: usize,
) -> Vec<(String, String, String)> {
    let mut forms = Vec::new();
    for _ in 0..n {
        let r = into_resp(http.get(AuthRequest::web().url(t)).send().await.unwrap()).await;
        assert_eq!(r.status, StatusCode::FOUND);
        let url = t.base.join(&r.location().unwrap()).unwrap().to_string();
        let binding = csrf_cookie(&r);
        let page = into_resp(
            http.get(&url)
                .header("cookie", &binding)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let form = parse_form(&page.text).expect("the login form");
        let csrf = form_value(&form, "csrf_token").expect("csrf_token");
        forms.push((url, binding, csrf));
    }
    forms
}

#[tokio::test]
async fn parallel_wrong_passwords_get_no_more_than_the_allowed_attempts() {
    let t = spawn().await;
    let mut posts = tokio::task::JoinSet::new();
    for (url, binding, csrf) in open_login_forms(&t, &t.http, 30).await {
        let http = t.http.clone();
        posts.spawn(async move {
            let form = [
                ("csrf_token", csrf.as_str()),
                ("email", BOB_EMAIL),
                ("password", "nope"),
            ];
            let r = http.post(url).header("cookie", binding).form(&form);
            into_resp(r.send().await.unwrap()).await
        });
    }
    let (mut wrong, mut blocked) = (0, 0);
    while let Some(r) = posts.join_next().await {
        let r = r.unwrap();
        match r.status.as_u16() {
            400 => {
                assert!(r.text.contains("Wrong email or password."), "{}", r.text);
                wrong += 1;
            }
            429 => {
                assert!(
                    r.text
                        .contains("blocked after multiple consecutive login attempts")
                );
                blocked += 1;
            }
            s => panic!("unexpected status {s}: {}", r.text),
        }
    }
    assert_eq!(
        (wrong, blocked),
        (10, 20),
        "exactly 10 guesses are evaluated"
    );
    // The pair stays blocked even with the right password…
    let mut b = t.browser();
    let (url, form) = b.login_page(&t, &AuthRequest::web()).await;
    let (_, r) = b.submit(&url, &form, BOB_EMAIL, BOB_PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // …while another IP still signs in.
    let mut elsewhere = t.browser();
    elsewhere.http = http_client_from([127, 0, 0, 2]);
    let (url, form) = elsewhere.login_page(&t, &AuthRequest::web()).await;
    let (_, r) = elsewhere.submit(&url, &form, BOB_EMAIL, BOB_PASSWORD).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", excerpt(&r.text));
}

#[tokio::test]
async fn a_burst_of_correct_logins_for_one_account_from_one_ip_is_served_not_refused() {
    let t = spawn().await;
    let mut posts = tokio::task::JoinSet::new();
    for (url, binding, csrf) in open_login_forms(&t, &t.http, 40).await {
        let http = t.http.clone();
        posts.spawn(async move {
            let form = [
                ("csrf_token", csrf.as_str()),
                ("email", ALICE_EMAIL),
                ("password", ALICE_PASSWORD),
            ];
            let r = http.post(url).header("cookie", binding).form(&form);
            into_resp(r.send().await.unwrap()).await
        });
    }
    let mut statuses = Vec::new();
    while let Some(r) = posts.join_next().await {
        statuses.push(r.unwrap().status.as_u16());
    }
    // More checks than the brute-force limit run at once: the extra ones wait for a slot.
    assert!(statuses.iter().all(|s| *s == 302), "{statuses:?}");
}
