//! Spec §10 row 1 / security anchors B–D: every token of the hostile catalogue, sent over HTTP,
//! gets 401 `invalid_token` with an RFC 6750 challenge, leaks no token text, and changes nothing.

use pymd_auth::testkit::hostile_tokens;
use serde_json::json;

use crate::support::{Resp, TestApp, bearer_value, raw_http};

/// How a catalogue token can travel in an HTTP/1.1 `Authorization` field.
enum Transport {
    /// As a normal header value.
    Header,
    /// Only as raw bytes (it holds control characters a client library refuses to send).
    Raw,
    /// Not at all: trailing whitespace or a trailing line end is not part of a field value
    /// (RFC 9110 §5.5), so what reaches the app is a different (here: the valid) token.
    NotExpressible(&'static str),
}

fn transport(token: &str) -> Transport {
    if token.ends_with([' ', '\t', '\r', '\n']) {
        return Transport::NotExpressible(
            "trailing whitespace / line end is stripped by HTTP framing (RFC 9110 §5.5)",
        );
    }
    if token.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f)
        || reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).is_err()
    {
        return Transport::Raw;
    }
    Transport::Header
}

/// What a hostile-token answer must look like. `presented` is false for the empty token, which
/// HTTP delivers as a bare `Bearer` (no credential: RFC 6750 §3 says no error code then).
fn check_refusal(r: &Resp, token: &str, presented: bool) -> Result<(), String> {
    let mut problems = Vec::new();
    if r.status != 401 {
        problems.push(format!("status {} (expected 401)", r.status));
    }
    if r.error() != "invalid_token" {
        problems.push(format!("error {:?} (expected invalid_token)", r.error()));
    }
    let www = r.header("www-authenticate");
    if !www.starts_with("Bearer realm=\"pymd\"") {
        problems.push(format!("WWW-Authenticate {www:?}"));
    }
    if presented && !www.contains("error=\"invalid_token\"") {
        problems.push(format!(
            "WWW-Authenticate lacks error=\"invalid_token\": {www:?}"
        ));
    }
    let leaks = |s: &str| {
        (token.len() >= 16 && s.contains(token))
            || token
                .split('.')
                .filter(|seg| seg.len() >= 16)
                .any(|seg| s.contains(seg))
    };
    if leaks(&r.text) || leaks(&www) {
        problems.push("the response echoes token text".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} [{}]",
            problems.join("; "),
            crate::support::truncate(&r.text)
        ))
    }
}

fn raw_request(method: &str, token: &str, body: &str) -> Vec<u8> {
    let mut req = format!(
        "{method} /api/v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\nAuthorization: Bearer ",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(token.as_bytes());
    req.extend_from_slice(b"\r\n\r\n");
    req.extend_from_slice(body.as_bytes());
    req
}

#[tokio::test]
async fn every_hostile_token_gets_401_invalid_token_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let cases = hostile_tokens(&app.issuer);
    let body = json!({"title": "pwned", "content": "hostile"});
    let mut failures: Vec<String> = Vec::new();
    let mut over_http = 0usize;
    let mut not_expressible = Vec::new();

    for case in &cases {
        match transport(&case.token) {
            Transport::NotExpressible(why) => {
                not_expressible.push(format!("{} ({why})", case.name));
                continue;
            }
            Transport::Header => {
                over_http += 1;
                let presented = !case.token.is_empty();
                let post = crate::support::send(
                    app.request(reqwest::Method::POST, "/api/v1/documents")
                        .header("authorization", bearer_value(&case.token))
                        .json(&body),
                )
                .await;
                if let Err(e) = check_refusal(&post, &case.token, presented) {
                    failures.push(format!("{} — POST: {e}", case.name));
                }
                let list = crate::support::send(
                    app.request(reqwest::Method::GET, "/api/v1/documents")
                        .header("authorization", bearer_value(&case.token)),
                )
                .await;
                if let Err(e) = check_refusal(&list, &case.token, presented) {
                    failures.push(format!("{} — GET: {e}", case.name));
                }
            }
            Transport::Raw => {
                // A control character inside the field breaks HTTP framing; the server must
                // refuse (400 from the HTTP layer, or 401), never accept or crash.
                over_http += 1;
                let body = body.to_string();
                for method in ["POST", "GET"] {
                    let status = raw_http(app.addr, raw_request(method, &case.token, &body)).await;
                    if !matches!(status, Some(400) | Some(401)) {
                        failures.push(format!(
                            "{} — raw {method}: status {status:?} (expected 400 or 401)",
                            case.name
                        ));
                    }
                }
            }
        }
        // Nothing changed: no user (hence no document) for any subject.
        let users = app.all_users().await;
        if !users.is_empty() {
            let subs: Vec<&str> = users.iter().map(|u| u.auth0_id.as_str()).collect();
            failures.push(format!("{} — users were created: {subs:?}", case.name));
        }
    }

    eprintln!(
        "hostile tokens: {} in the catalogue, {over_http} sent over HTTP, {} not expressible in HTTP: {not_expressible:#?}",
        cases.len(),
        not_expressible.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {over_http} hostile tokens were not refused properly:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        over_http >= 60,
        "only {over_http} hostile tokens were sent over HTTP"
    );
    assert!(
        not_expressible.len() <= 2,
        "more catalogue tokens than expected cannot travel in HTTP: {not_expressible:?}"
    );

    // Control: the same app accepts a valid token, so the 401s above were the verifier's doing.
    let valid = app.token("auth0|control", &["read:documents"]);
    let r = app.get("/api/v1/documents", Some(&valid)).await;
    assert_eq!(r.status, 200, "control request: {}", r.summary());
    assert_eq!(app.all_users().await.len(), 1);
}
