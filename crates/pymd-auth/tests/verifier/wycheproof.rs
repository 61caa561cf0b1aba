//! Wycheproof test vectors (Apache-2.0, copied under `tests/data/wycheproof/`):
//! - `json_web_signature_test.json` through the JWS layer (`pymd_auth::jws::verify_compact`):
//!   every non-RS256 case must be refused, RS256 cases answered as marked;
//! - `json_web_key_test.json` through the same layer, to exercise the JWKS-loader filters;
//! - `rsa_signature_2048_sha256_test.json` through the raw RS256 primitive the verifier uses.
//!
//! "acceptable" cases may go either way; they are counted, not asserted.

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use jsonwebtoken::Algorithm;
use pymd_auth::jws;
use serde_json::{Value, json};

fn load(name: &str) -> Value {
    let path = format!(
        "{}/tests/data/wycheproof/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("test vector file");
    serde_json::from_str(&text).expect("test vector JSON")
}

fn groups(doc: &Value) -> &Vec<Value> {
    doc["testGroups"].as_array().expect("testGroups")
}

/// The `alg` of a compact token's header, read leniently (for classifying the case only).
fn header_alg(jws: &str) -> Option<String> {
    use base64::Engine;
    let h = jws.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(h.trim_end_matches('='))
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("alg")?.as_str().map(str::to_owned)
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

struct Tally {
    run: usize,
    accepted_valid: usize,
    refused: usize,
    acceptable: usize,
    failures: Vec<String>,
}

impl Tally {
    fn new() -> Self {
        Tally {
            run: 0,
            accepted_valid: 0,
            refused: 0,
            acceptable: 0,
            failures: Vec::new(),
        }
    }
}

/// Runs compact-JWS cases against a JWK Set; `rs256_only` cases must match the marking.
fn run_jws_cases(doc: &Value, keyset_of: impl Fn(&Value) -> Value) -> Tally {
    let mut t = Tally::new();
    for g in groups(doc) {
        let jwks = keyset_of(g).to_string();
        for case in g["tests"].as_array().expect("tests") {
            t.run += 1;
            let id = case["tcId"].as_u64().unwrap_or_default();
            let token = case["jws"].as_str().expect("jws");
            let result = case["result"].as_str().expect("result");
            let got = jws::verify_compact(token, &jwks);
            let is_rs256 = header_alg(token).as_deref() == Some("RS256");
            match (result, is_rs256, &got) {
                ("acceptable", _, _) => t.acceptable += 1,
                ("valid", true, Ok(_)) => t.accepted_valid += 1,
                (_, _, Err(_)) if !(result == "valid" && is_rs256) => t.refused += 1,
                _ => t.failures.push(format!(
                    "tc{id} ({}, {}): marked {result}, got {:?}",
                    g["comment"].as_str().unwrap_or_default(),
                    case["comment"].as_str().unwrap_or_default(),
                    got.as_ref().map(|_| "accepted").map_err(|e| e.reason())
                )),
            }
        }
    }
    t
}

#[test]
fn json_web_signature_vectors() {
    let doc = load("json_web_signature_test.json");
    // Each group has one public JWK (or none, for symmetric groups); offer it as a JWK Set.
    let t = run_jws_cases(&doc, |g| match g.get("public") {
        Some(k) if k.get("keys").is_some() => k.clone(),
        Some(k) => json!({ "keys": [k] }),
        None => json!({ "keys": [] }),
    });
    assert!(
        t.failures.is_empty(),
        "{} failures:\n{}",
        t.failures.len(),
        t.failures.join("\n")
    );
    assert_eq!(
        t.run,
        doc["numberOfTests"].as_u64().unwrap_or_default() as usize
    );
    assert!(t.accepted_valid > 0, "positive controls ran");
    eprintln!(
        "json_web_signature_test: {} cases ({} valid RS256 accepted, {} refused, {} acceptable)",
        t.run, t.accepted_valid, t.refused, t.acceptable
    );
}

#[test]
fn json_web_key_vectors_drive_the_jwks_filters() {
    let doc = load("json_web_key_test.json");
    let t = run_jws_cases(&doc, |g| {
        g.get("public")
            .cloned()
            .unwrap_or_else(|| json!({ "keys": [] }))
    });
    assert!(
        t.failures.is_empty(),
        "{} failures:\n{}",
        t.failures.len(),
        t.failures.join("\n")
    );
    assert_eq!(
        t.run,
        doc["numberOfTests"].as_u64().unwrap_or_default() as usize
    );
    eprintln!(
        "json_web_key_test: {} cases ({} valid RS256 accepted, {} refused)",
        t.run, t.accepted_valid, t.refused
    );

    // The loader itself: which published keys survive the filter.
    let mut expectations = 0;
    for g in groups(&doc) {
        let Some(public) = g.get("public") else {
            continue;
        };
        let count =
            jws::usable_key_count(&public.to_string(), &[Algorithm::RS256]).expect("a JWK Set");
        let comment = g["comment"].as_str().unwrap_or_default();
        let alg = public["keys"][0]["alg"].as_str().unwrap_or_default();
        let usable = match (comment, alg) {
            ("rs256", "RS256") => 1, // the one good RSA signing key
            ("rs256", _) => 0,       // same key published for RSA1_5 encryption
            _ => 0,                  // ROCA, 1024-bit, e = 1, EC keys
        };
        assert_eq!(count, usable, "group {comment} / {alg}");
        expectations += 1;
    }
    assert!(expectations >= 8);
}

#[test]
fn rsa_pkcs1_sha256_2048_vectors_through_the_raw_primitive() {
    let doc = load("rsa_signature_2048_sha256_test.json");
    let mut t = Tally::new();
    for g in groups(&doc) {
        let jwk = &g["keyJwk"];
        let n = pymd_auth::base64url::decode(jwk["n"].as_str().expect("n")).expect("n b64");
        let e = pymd_auth::base64url::decode(jwk["e"].as_str().expect("e")).expect("e b64");
        let key = RsaPublicKeyComponents {
            n: &n[..],
            e: &e[..],
        };
        for case in g["tests"].as_array().expect("tests") {
            t.run += 1;
            let msg = hex(case["msg"].as_str().expect("msg"));
            let sig = hex(case["sig"].as_str().expect("sig"));
            let ok = key.verify(&RSA_PKCS1_2048_8192_SHA256, &msg, &sig).is_ok();
            match (case["result"].as_str().expect("result"), ok) {
                ("valid", true) => t.accepted_valid += 1,
                ("invalid", false) => t.refused += 1,
                ("acceptable", _) => t.acceptable += 1,
                (r, _) => t
                    .failures
                    .push(format!("tc{}: marked {r}, verify ok = {ok}", case["tcId"])),
            }
        }
    }
    assert!(
        t.failures.is_empty(),
        "{} failures:\n{}",
        t.failures.len(),
        t.failures.join("\n")
    );
    assert_eq!(
        t.run,
        doc["numberOfTests"].as_u64().unwrap_or_default() as usize
    );
    assert!(t.accepted_valid > 0 && t.refused > 0);
    eprintln!(
        "rsa_signature_2048_sha256_test: {} cases ({} valid, {} invalid refused, {} acceptable)",
        t.run, t.accepted_valid, t.refused, t.acceptable
    );
}
