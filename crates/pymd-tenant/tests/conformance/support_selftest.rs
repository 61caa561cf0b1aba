//! The helpers themselves must be able to fail: a tampered token does not verify, the form parser
//! decodes HTML entities.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::support::*;

#[tokio::test]
async fn the_signature_helper_rejects_a_tampered_token() {
    let t = spawn().await;
    let r = t.client_credentials(API, None).await;
    let token = r.json()["access_token"].as_str().unwrap().to_string();
    t.verify(&token).await.expect("untouched token verifies");

    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    let mut claims = jwt_claims(&token);
    claims["sub"] = "attacker@clients".into();
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    assert!(
        t.verify(&parts.join(".")).await.is_err(),
        "tampered payload"
    );

    let mut header = jwt_header(&token);
    header["kid"] = "unknown-kid".into();
    let forged = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()),
        token.split('.').nth(1).unwrap(),
        token.split('.').nth(2).unwrap()
    );
    assert!(t.verify(&forged).await.is_err(), "unknown kid");
}

#[test]
fn the_form_parser_reads_action_and_escaped_values() {
    let html = r#"<html><form method="get" action="/nope"><input name="q"></form>
        <FORM Method='POST' action="/u/login?state=a&amp;b=c">
          <input type="hidden" name="csrf_token" value="x&quot;y&#x2F;z">
          <input name=email value=''><input name="password" type="password">
        </FORM></html>"#;
    let form = parse_form(html).expect("a POST form");
    assert_eq!(form.action, "/u/login?state=a&b=c");
    assert_eq!(form_value(&form, "csrf_token").as_deref(), Some("x\"y/z"));
    assert_eq!(form_value(&form, "email").as_deref(), Some(""));
    assert_eq!(form_value(&form, "password").as_deref(), Some(""));
    assert!(form_value(&form, "q").is_none(), "the GET form is skipped");
}

#[test]
fn pkce_pairs_follow_rfc_7636() {
    // RFC 7636 appendix B test vector.
    assert_eq!(
        s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    let p = pkce();
    assert_eq!(p.verifier.len(), 43);
    assert_eq!(p.challenge, s256(&p.verifier));
}
