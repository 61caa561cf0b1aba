//! Group 1: a standard OpenID Connect client (`openidconnect` + reqwest 0.13) works unchanged.

use oauth2_reqwest::ReqwestClient;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, RefreshToken, Scope, TokenResponse,
};
use reqwest::StatusCode;

use crate::support::*;

fn oidc_http() -> ReqwestClient {
    ReqwestClient::from(http_client())
}

async fn discover(t: &Tenant) -> CoreProviderMetadata {
    CoreProviderMetadata::discover_async(IssuerUrl::new(t.issuer.clone()).unwrap(), &oidc_http())
        .await
        .expect("openidconnect discovery succeeds")
}

#[tokio::test]
async fn discovery_is_accepted_by_openidconnect_and_every_endpoint_hangs_off_the_issuer() {
    let t = spawn().await;
    let meta = discover(&t).await;
    assert_eq!(meta.issuer().as_str(), t.issuer);
    assert!(t.issuer.ends_with('/'), "issuer ends with a slash");
    assert_eq!(meta.authorization_endpoint().as_str(), t.url("authorize"));
    assert_eq!(
        meta.token_endpoint().unwrap().as_str(),
        t.url("oauth/token")
    );
    assert_eq!(
        meta.userinfo_endpoint().unwrap().as_str(),
        t.url("userinfo")
    );
    assert_eq!(meta.jwks_uri().as_str(), t.url(".well-known/jwks.json"));
    assert!(!meta.jwks().keys().is_empty(), "discovery fetched the JWKS");

    // Raw document: fields Auth0 publishes that clients switch on.
    let doc = t.get(".well-known/openid-configuration").await.json();
    assert_eq!(doc["end_session_endpoint"], t.url("oidc/logout"));
    let methods = doc["code_challenge_methods_supported"].as_array().unwrap();
    assert!(methods.iter().any(|m| m == "S256"));
    let algs = doc["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.iter().any(|m| m == "RS256"));
    let auth = doc["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(auth.iter().any(|m| m == "client_secret_post"));
    assert!(auth.iter().any(|m| m == "client_secret_basic"));
}

#[tokio::test]
async fn authorization_code_with_pkce_through_the_login_form_yields_an_id_token_openidconnect_verifies()
 {
    let t = spawn().await;
    let http = oidc_http();
    let client = CoreClient::from_provider_metadata(
        discover(&t).await,
        ClientId::new(WEB_CLIENT_ID.into()),
        Some(ClientSecret::new(WEB_CLIENT_SECRET.into())),
    )
    .set_auth_type(AuthType::RequestBody)
    .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .add_scope(Scope::new("read:documents".into()))
        .add_extra_param("audience", API)
        .set_pkce_challenge(challenge)
        .url();

    let mut browser = t.browser();
    let (page_url, form) = {
        let (url, page) = browser.open(auth_url.as_str()).await.page();
        (url, parse_form(&page.text).expect("login form"))
    };
    let (action, r) = browser
        .submit(&page_url, &form, ALICE_EMAIL, ALICE_PASSWORD)
        .await;
    let callback = browser.follow(&action, r).await.away();
    assert!(callback.starts_with(CALLBACK), "{callback}");
    assert_eq!(
        query_param(&callback, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    let code = query_param(&callback, "code").expect("code");

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange succeeds");
    let id_token = tokens.id_token().expect("an ID token for scope openid");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("openidconnect verifies nonce, aud, iss, signature");
    assert_eq!(claims.subject().as_str(), ALICE_ID);
    assert_eq!(claims.email().map(|e| e.as_str()), Some(ALICE_EMAIL));
    assert_eq!(claims.email_verified(), Some(true));
    assert!(
        claims.updated_at().is_some(),
        "updated_at parses (RFC 3339 string)"
    );
    assert!(
        tokens.refresh_token().is_some(),
        "offline_access yields a refresh token"
    );
    let granted: Vec<String> = tokens
        .scopes()
        .expect("scope in the response")
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(granted.contains(&"openid".to_string()), "{granted:?}");

    // A different nonce must be rejected by the same verifier.
    assert!(
        id_token
            .claims(&client.id_token_verifier(), &Nonce::new("other".into()))
            .is_err()
    );
}

#[tokio::test]
async fn openidconnect_refreshes_tokens_and_reads_userinfo() {
    let t = spawn().await;
    let http = oidc_http();
    let client = CoreClient::from_provider_metadata(
        discover(&t).await,
        ClientId::new(WEB_CLIENT_ID.into()),
        Some(ClientSecret::new(WEB_CLIENT_SECRET.into())),
    )
    .set_auth_type(AuthType::RequestBody)
    .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());

    let first = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let refreshed = client
        .exchange_refresh_token(&RefreshToken::new(first.refresh_token.clone()))
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh_token grant succeeds");
    let new_rt = refreshed
        .refresh_token()
        .expect("rotating client gets a new RT");
    assert_ne!(new_rt.secret(), &first.refresh_token);
    let id_token = refreshed
        .id_token()
        .expect("refresh with openid returns an ID token");
    // Refreshed ID tokens carry no nonce: verify with a nonce check that accepts its absence.
    let claims = id_token
        .claims(
            &client.id_token_verifier(),
            |_: Option<&Nonce>| -> Result<(), String> { Ok(()) },
        )
        .expect("refreshed ID token verifies");
    assert_eq!(claims.subject().as_str(), ALICE_ID);

    let userinfo: CoreUserInfoClaims = client
        .user_info(refreshed.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo succeeds");
    assert_eq!(userinfo.subject().as_str(), ALICE_ID);
    assert_eq!(userinfo.email().map(|e| e.as_str()), Some(ALICE_EMAIL));
}

#[tokio::test]
async fn openidconnect_client_credentials_for_the_m2m_client() {
    let t = spawn().await;
    let client = CoreClient::from_provider_metadata(
        discover(&t).await,
        ClientId::new(M2M_CLIENT_ID.into()),
        Some(ClientSecret::new(M2M_CLIENT_SECRET.into())),
    )
    .set_auth_type(AuthType::RequestBody);
    let token = client
        .exchange_client_credentials()
        .unwrap()
        .add_extra_param("audience", API)
        .request_async(&oidc_http())
        .await
        .expect("client_credentials succeeds");
    let claims = t
        .verify(token.access_token().secret())
        .await
        .expect("M2M token verifies against the JWKS");
    assert_eq!(claims["sub"], format!("{M2M_CLIENT_ID}@clients"));
    assert!(
        token.refresh_token().is_none(),
        "client_credentials never mints an RT"
    );
}

#[tokio::test]
async fn client_secret_basic_is_accepted_at_the_token_endpoint() {
    let t = spawn().await;
    let http = oidc_http();
    // openidconnect's default auth type is HTTP Basic.
    let client = CoreClient::from_provider_metadata(
        discover(&t).await,
        ClientId::new(WEB_CLIENT_ID.into()),
        Some(ClientSecret::new(WEB_CLIENT_SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());
    let req = AuthRequest::web();
    let code = t
        .browser()
        .login_code(&t, &req, ALICE_EMAIL, ALICE_PASSWORD)
        .await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(openidconnect::PkceCodeVerifier::new(
            req.pkce_verifier.clone(),
        ))
        .request_async(&http)
        .await
        .expect("exchange with the secret in Basic succeeds");
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), &Nonce::new(req.nonce.clone()))
        .expect("ID token verifies");
    assert_eq!(claims.subject().as_str(), ALICE_ID);

    // And raw: Basic header only, no secret in the body.
    let req = AuthRequest::web();
    let code = t
        .browser()
        .login_code(&t, &req, BOB_EMAIL, BOB_PASSWORD)
        .await;
    let r = into_resp(
        t.http
            .post(t.url("oauth/token"))
            .header("authorization", basic(WEB_CLIENT_ID, WEB_CLIENT_SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("code_verifier", req.pkce_verifier.as_str()),
                ("redirect_uri", CALLBACK),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
