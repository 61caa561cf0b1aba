//! The hostile-token catalogue: every token an attacker (or a broken client) might present,
//! drawn from the security anchors (sections B–D: structure and encoding, algorithm and key
//! selection, registered claims), each with the exact [`crate::VerifyError::reason`] the
//! verifier must refuse it with.
//!
//! The server crate sends each of these over HTTP and asserts 401 with nothing changed; this
//! crate runs each through [`crate::Verifier::verify`] and asserts the reason.

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512, RSA_PSS_SHA256};
use serde_json::{Value, json};

use super::{
    POOL_ATTACKER, POOL_DUP_A, POOL_ENC, POOL_FOREIGN, POOL_RS512, Signer, TEST_CLIENT_ID,
    TestIssuer, compact, decoy, pool, public_components, public_der, public_pem, rsa_jwk, to_bytes,
    unix_now,
};
use crate::b64;

/// One hostile token and the [`crate::VerifyError::reason`] it must be refused with.
#[derive(Clone)]
pub struct HostileToken {
    /// A descriptive, unique name (safe to print; the token is not).
    pub name: &'static str,
    /// The token text.
    pub token: String,
    /// The expected `VerifyError::reason()`.
    pub reason: &'static str,
}

impl std::fmt::Debug for HostileToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostileToken")
            .field("name", &self.name)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

/// Replaces the segment `i` (0 header, 1 payload, 2 signature) of a compact token.
fn with_segment(token: &str, i: usize, seg: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    if let Some(p) = parts.get_mut(i) {
        *p = seg;
    }
    parts.join(".")
}

fn segment(token: &str, i: usize) -> String {
    token.split('.').nth(i).unwrap_or_default().to_owned()
}

/// Inserts `what` in the middle of segment `i`.
fn insert_in_segment(token: &str, i: usize, what: &str) -> String {
    let s = segment(token, i);
    let mid = s.len() / 2;
    with_segment(token, i, &format!("{}{what}{}", &s[..mid], &s[mid..]))
}

/// Sets an unused low bit in the last character of a base64url segment whose length is not a
/// multiple of 4 (the decoded bytes stay the same for a lenient decoder).
fn non_canonical(seg: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = seg.as_bytes().to_vec();
    if let Some(last) = bytes.last_mut()
        && let Some(v) = ALPHABET.iter().position(|c| c == last)
    {
        *last = ALPHABET[v | 1];
    }
    String::from_utf8(bytes).unwrap_or_default()
}

/// Claims whose base64url encoding has a length ≡ 2 or 3 (mod 4), so it has unused bits.
fn claims_with_unused_bits(issuer: &TestIssuer) -> Value {
    let mut claims = issuer.claims("auth0|bits", &["read:documents"]);
    for pad in 0..4 {
        if let Value::Object(m) = &mut claims {
            m.insert("x".into(), json!("y".repeat(pad)));
        }
        if !b64::encode(&to_bytes(&claims)).len().is_multiple_of(4) {
            break;
        }
    }
    claims
}

fn set(mut v: Value, name: &str, value: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.insert(name.to_owned(), value);
    }
    v
}

fn remove(mut v: Value, name: &str) -> Value {
    if let Value::Object(m) = &mut v {
        m.remove(name);
    }
    v
}

/// Builds the catalogue for `issuer` (tokens are fresh: `iat` is now, `exp` in one hour).
pub fn hostile_tokens(issuer: &TestIssuer) -> Vec<HostileToken> {
    let mut out: Vec<HostileToken> = Vec::new();
    let mut add = |name: &'static str, token: String, reason: &'static str| {
        out.push(HostileToken {
            name,
            token,
            reason,
        });
    };

    let now = unix_now();
    let iss = issuer.issuer();
    let aud = issuer.audience().to_owned();
    let kid = issuer.current_kid();
    let hdr = issuer.header();
    let good = issuer.claims("auth0|hostile", &["read:documents"]);
    let valid = issuer.sign(hdr.clone(), good.clone());
    let other_valid = issuer.sign(
        hdr.clone(),
        issuer.claims("auth0|other", &["read:documents"]),
    );
    let primary = issuer.current_key();
    let attacker = pool(POOL_ATTACKER);
    let foreign = pool(POOL_FOREIGN);
    let rs256 = |k| Signer::Rsa(k, &RSA_PKCS1_SHA256);
    let claims_bytes = to_bytes(&good);
    let hs = |name: &str, secret: Vec<u8>, alg: hmac::Algorithm| -> String {
        let header = json!({"alg": name, "typ": "JWT", "kid": kid});
        compact(
            &to_bytes(&header),
            &claims_bytes,
            &Signer::Hmac(alg, secret),
        )
    };
    let attacker_signed = |header: Value| {
        compact(
            &to_bytes(&header),
            &claims_bytes,
            &rs256(pool(POOL_ATTACKER)),
        )
    };
    let signed_claims = |claims: Value| issuer.sign(hdr.clone(), claims);
    let signed_header = |header: Value| issuer.sign(header, good.clone());

    // --- B. Structure and encoding -------------------------------------------------------
    add("empty token", String::new(), "malformed");
    add("single segment", "abc".into(), "malformed");
    add(
        "two segments",
        format!("{}.{}", segment(&valid, 0), segment(&valid, 1)),
        "malformed",
    );
    add("only dots", "..".into(), "malformed");
    add(
        "four segments: trailing dot",
        format!("{valid}."),
        "malformed",
    );
    add(
        "four segments: extra junk segment",
        format!("{valid}.foo"),
        "malformed",
    );
    add(
        "JWE compact serialization (5 segments)",
        format!(
            "{}.{}.{}.{}.{}",
            b64::encode(br#"{"alg":"RSA-OAEP","enc":"A256GCM","kid":"test-key-1"}"#),
            b64::encode(&[7u8; 256]),
            b64::encode(&[1u8; 12]),
            b64::encode(b"ciphertext"),
            b64::encode(&[2u8; 16])
        ),
        "malformed",
    );
    add(
        "JWS JSON serialization",
        json!({"payload": segment(&valid, 1), "protected": segment(&valid, 0), "signature": segment(&valid, 2)}).to_string(),
        "malformed",
    );
    add(
        "JSON/compact mix (CVE-2022-39227)",
        format!(
            r#"{{"{valid}":"","protected":"{}","payload":"{}","signature":"{}"}}"#,
            segment(&valid, 0),
            b64::encode(&to_bytes(&set(good.clone(), "sub", json!("auth0|admin")))),
            segment(&valid, 2)
        ),
        "malformed",
    );
    add(
        "signature with = padding",
        format!("{valid}=="),
        "malformed",
    );
    add(
        "header with = padding",
        with_segment(&valid, 0, &format!("{}=", segment(&valid, 0))),
        "malformed",
    );
    add(
        "standard base64 alphabet (+/)",
        {
            let s = segment(&valid, 2);
            let std = if s.contains(['-', '_']) {
                s.replace('-', "+").replace('_', "/")
            } else {
                format!("+{s}")
            };
            with_segment(&valid, 2, &std)
        },
        "malformed",
    );
    add(
        "space inside the signature",
        insert_in_segment(&valid, 2, " "),
        "malformed",
    );
    add("leading whitespace", format!(" {valid}"), "malformed");
    add("trailing whitespace", format!("{valid} "), "malformed");
    add(
        "newline inside the payload",
        insert_in_segment(&valid, 1, "\n"),
        "malformed",
    );
    add("trailing newline", format!("{valid}\n"), "malformed");
    add(
        "!!!! appended to the signature",
        format!("{valid}!!!!"),
        "malformed",
    );
    add(
        "? inserted in the signature (Wycheproof tc372)",
        insert_in_segment(&valid, 2, "?"),
        "malformed",
    );
    add(
        "# inserted in the payload",
        insert_in_segment(&valid, 1, "#"),
        "malformed",
    );
    add(
        "non-canonical trailing bits in the signature",
        with_segment(&valid, 2, &non_canonical(&segment(&valid, 2))),
        "malformed",
    );
    {
        let t = signed_claims(claims_with_unused_bits(issuer));
        add(
            "non-canonical trailing bits in the payload",
            with_segment(&t, 1, &non_canonical(&segment(&t, 1))),
            "malformed",
        );
    }
    add(
        "header is not JSON",
        with_segment(&valid, 0, &b64::encode(b"alg=RS256")),
        "malformed",
    );
    add(
        "header is a JSON array",
        issuer.sign_raw(br#"["RS256"]"#, &claims_bytes),
        "malformed",
    );
    add(
        "header is a JSON string",
        issuer.sign_raw(br#""RS256""#, &claims_bytes),
        "malformed",
    );
    add(
        "duplicate alg in the header (none, RS256)",
        issuer.sign_raw(
            format!(r#"{{"alg":"none","alg":"RS256","kid":"{kid}"}}"#).as_bytes(),
            &claims_bytes,
        ),
        "malformed",
    );
    add(
        "payload is a JSON array",
        issuer.sign_raw(&to_bytes(&hdr), b"[1,2]"),
        "malformed",
    );
    add(
        "payload is a JSON string",
        issuer.sign_raw(&to_bytes(&hdr), br#""auth0|admin""#),
        "malformed",
    );
    add(
        "payload is a JSON number",
        issuer.sign_raw(&to_bytes(&hdr), b"42"),
        "malformed",
    );
    add(
        "payload is empty",
        issuer.sign_raw(&to_bytes(&hdr), b""),
        "malformed",
    );
    {
        let raw = String::from_utf8_lossy(&claims_bytes).replacen('{', "{\"name\":\"\u{1}\",", 1);
        let mut bytes = raw.into_bytes();
        // Replace the \u0001 placeholder with an overlong encoding of '/' (C0 AF).
        if let Some(pos) = bytes.iter().position(|b| *b == 1) {
            bytes.splice(pos..=pos, [0xC0, 0xAF]);
        }
        add(
            "invalid UTF-8 in a claim (overlong C0 AF)",
            issuer.sign_raw(&to_bytes(&hdr), &bytes),
            "malformed",
        );
    }
    {
        let raw = String::from_utf8_lossy(&claims_bytes).replacen('{', r#"{"name":"\ud800","#, 1);
        add(
            "lone surrogate escape in a claim",
            issuer.sign_raw(&to_bytes(&hdr), raw.as_bytes()),
            "malformed",
        );
    }
    {
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        let raw = String::from_utf8_lossy(&claims_bytes).replacen(
            '{',
            &format!(r#"{{"deep":{deep},"#),
            1,
        );
        add(
            "custom claim nested 5000 levels",
            issuer.sign_raw(&to_bytes(&hdr), raw.as_bytes()),
            "malformed",
        );
    }
    {
        let body = |first: i64, second: i64| {
            format!(
                r#"{{"iss":"{iss}","sub":"auth0|dup","aud":"{aud}","iat":{now},"exp":{first},"exp":{second}}}"#
            )
        };
        add(
            "duplicate exp (future, then past)",
            issuer.sign_raw(&to_bytes(&hdr), body(now + 3600, now - 3600).as_bytes()),
            "malformed",
        );
        add(
            "duplicate exp (past, then future)",
            issuer.sign_raw(&to_bytes(&hdr), body(now - 3600, now + 3600).as_bytes()),
            "malformed",
        );
        let subs = format!(
            r#"{{"iss":"{iss}","sub":"auth0|alice","sub":"auth0|admin","aud":"{aud}","iat":{now},"exp":{}}}"#,
            now + 3600
        );
        add(
            "duplicate sub (alice, then admin)",
            issuer.sign_raw(&to_bytes(&hdr), subs.as_bytes()),
            "malformed",
        );
    }

    // --- C. Algorithm and key selection ---------------------------------------------------
    for (name, alg) in [
        ("alg none", "none"),
        ("alg None", "None"),
        ("alg NONE", "NONE"),
        ("alg nOnE", "nOnE"),
    ] {
        let h = b64::encode(&to_bytes(&json!({"alg": alg, "typ": "JWT"})));
        add(
            name,
            format!("{h}.{}.", b64::encode(&claims_bytes)),
            "alg_not_allowed",
        );
    }
    add(
        "alg none keeping a valid RS256 signature",
        with_segment(
            &valid,
            0,
            &b64::encode(&to_bytes(&json!({"alg": "none", "kid": kid}))),
        ),
        "alg_not_allowed",
    );
    add(
        "alg missing",
        signed_header(json!({"typ": "JWT", "kid": kid})),
        "alg_not_allowed",
    );
    add(
        "alg lowercase rs256",
        signed_header(json!({"alg": "rs256", "kid": kid})),
        "alg_not_allowed",
    );
    add(
        "alg not a string",
        signed_header(json!({"alg": ["RS256"], "kid": kid})),
        "alg_not_allowed",
    );
    add(
        "alg RS256 with trailing space",
        signed_header(json!({"alg": "RS256 ", "kid": kid})),
        "alg_not_allowed",
    );
    let (spki_der, pkcs1_der) = public_der(&primary);
    let (n_bytes, _) = public_components(&primary);
    add(
        "HS256 signed with the public key PEM",
        hs(
            "HS256",
            public_pem(&primary).into_bytes(),
            hmac::HMAC_SHA256,
        ),
        "alg_not_allowed",
    );
    add(
        "HS256 signed with the public key SPKI DER",
        hs("HS256", spki_der, hmac::HMAC_SHA256),
        "alg_not_allowed",
    );
    add(
        "HS256 signed with the public key PKCS#1 DER",
        hs("HS256", pkcs1_der, hmac::HMAC_SHA256),
        "alg_not_allowed",
    );
    add(
        "HS256 signed with the public JWK JSON",
        hs(
            "HS256",
            to_bytes(&rsa_jwk(&primary, &kid)),
            hmac::HMAC_SHA256,
        ),
        "alg_not_allowed",
    );
    add(
        "HS256 signed with the modulus bytes",
        hs("HS256", n_bytes, hmac::HMAC_SHA256),
        "alg_not_allowed",
    );
    add(
        "HS256 with an empty secret",
        hs("HS256", Vec::new(), hmac::HMAC_SHA256),
        "alg_not_allowed",
    );
    add(
        "HS256 with the weak secret 'secret'",
        hs("HS256", b"secret".to_vec(), hmac::HMAC_SHA256),
        "alg_not_allowed",
    );
    add(
        "HS384 signed with the public key PEM",
        hs(
            "HS384",
            public_pem(&primary).into_bytes(),
            hmac::HMAC_SHA384,
        ),
        "alg_not_allowed",
    );
    add(
        "HS512 signed with the public key PEM",
        hs(
            "HS512",
            public_pem(&primary).into_bytes(),
            hmac::HMAC_SHA512,
        ),
        "alg_not_allowed",
    );
    let same_key = |alg: &str, enc| {
        compact(
            &to_bytes(&json!({"alg": alg, "typ": "JWT", "kid": kid})),
            &claims_bytes,
            &Signer::Rsa(issuer.current_key(), enc),
        )
    };
    add(
        "RS384 correctly signed with the same key",
        same_key("RS384", &RSA_PKCS1_SHA384),
        "alg_not_allowed",
    );
    add(
        "RS512 correctly signed with the same key",
        same_key("RS512", &RSA_PKCS1_SHA512),
        "alg_not_allowed",
    );
    add(
        "PS256 correctly signed with the same key",
        same_key("PS256", &RSA_PSS_SHA256),
        "alg_not_allowed",
    );
    add(
        "ES256 psychic signature (r = s = 0, CVE-2022-21449)",
        format!(
            "{}.{}.{}",
            b64::encode(&to_bytes(&json!({"alg": "ES256", "kid": kid}))),
            b64::encode(&claims_bytes),
            b64::encode(&[0u8; 64])
        ),
        "alg_not_allowed",
    );
    add(
        "EdDSA header",
        with_segment(
            &valid,
            0,
            &b64::encode(&to_bytes(&json!({"alg": "EdDSA", "kid": kid}))),
        ),
        "alg_not_allowed",
    );
    add(
        "kid path traversal with an HS256 empty-key signature",
        {
            let header = json!({"alg": "HS256", "kid": "../../../../../../dev/null"});
            compact(
                &to_bytes(&header),
                &claims_bytes,
                &Signer::Hmac(hmac::HMAC_SHA256, Vec::new()),
            )
        },
        "alg_not_allowed",
    );

    // Signature problems with an allowed algorithm and the right kid.
    add(
        "stripped signature (h.p.)",
        with_segment(&valid, 2, ""),
        "bad_signature",
    );
    add(
        "zero-filled signature",
        with_segment(&valid, 2, &b64::encode(&[0u8; 256])),
        "bad_signature",
    );
    {
        let sig = b64::decode(&segment(&valid, 2)).unwrap_or_default();
        add(
            "truncated signature (255 bytes)",
            with_segment(&valid, 2, &b64::encode(&sig[..sig.len().saturating_sub(1)])),
            "bad_signature",
        );
        let mut long = sig.clone();
        long.extend_from_slice(&[0, 0]);
        add(
            "signature two bytes too long",
            with_segment(&valid, 2, &b64::encode(&long)),
            "bad_signature",
        );
        let (n, _) = public_components(&primary);
        add(
            "signature equal to the modulus n",
            with_segment(&valid, 2, &b64::encode(&n)),
            "bad_signature",
        );
        let mut n_minus_1 = n.clone();
        if let Some(last) = n_minus_1.last_mut() {
            *last -= 1; // n is odd
        }
        add(
            "signature equal to n - 1",
            with_segment(&valid, 2, &b64::encode(&n_minus_1)),
            "bad_signature",
        );
        let mut one = vec![0u8; 256];
        one[255] = 1;
        add(
            "signature equal to 1",
            with_segment(&valid, 2, &b64::encode(&one)),
            "bad_signature",
        );
    }
    add(
        "signature from another token",
        with_segment(&valid, 2, &segment(&other_valid, 2)),
        "bad_signature",
    );
    add(
        "PSS signature labelled RS256",
        compact(
            &to_bytes(&hdr),
            &claims_bytes,
            &Signer::Rsa(issuer.current_key(), &RSA_PSS_SHA256),
        ),
        "bad_signature",
    );
    add(
        "payload tampered after signing (sub = auth0|admin)",
        with_segment(
            &valid,
            1,
            &b64::encode(&to_bytes(&set(good.clone(), "sub", json!("auth0|admin")))),
        ),
        "bad_signature",
    );
    add(
        "payload tampered after signing (permissions added)",
        with_segment(
            &valid,
            1,
            &b64::encode(&to_bytes(&set(
                good.clone(),
                "permissions",
                json!(["read:documents", "delete:documents"]),
            ))),
        ),
        "bad_signature",
    );
    add(
        "header tampered after signing (typ changed)",
        with_segment(
            &valid,
            0,
            &b64::encode(&to_bytes(
                &json!({"alg": "RS256", "typ": "at+jwt", "kid": kid}),
            )),
        ),
        "bad_signature",
    );
    add(
        "signed by an attacker key under our kid",
        attacker_signed(hdr.clone()),
        "bad_signature",
    );
    add(
        "token from another issuer with the same kid",
        compact(
            &to_bytes(&hdr),
            &to_bytes(&set(
                good.clone(),
                "iss",
                json!("https://other-tenant.example/"),
            )),
            &rs256(foreign),
        ),
        "bad_signature",
    );
    add(
        "embedded jwk header with the attacker key (CVE-2018-0114)",
        attacker_signed(json!({"alg": "RS256", "kid": kid, "jwk": rsa_jwk(&attacker, &kid)})),
        "bad_signature",
    );
    add(
        "embedded jwk header with the attacker key, no kid",
        attacker_signed(json!({"alg": "RS256", "jwk": rsa_jwk(&attacker, "attacker")})),
        "bad_signature",
    );
    add(
        "jku pointing at an attacker JWKS",
        attacker_signed(
            json!({"alg": "RS256", "kid": kid, "jku": "https://attacker.invalid/jwks.json"}),
        ),
        "bad_signature",
    );
    add(
        "jku pointing at the cloud metadata service",
        attacker_signed(
            json!({"alg": "RS256", "kid": kid, "jku": "http://169.254.169.254/latest/meta-data/"}),
        ),
        "bad_signature",
    );
    add(
        "x5u pointing at an attacker certificate",
        attacker_signed(
            json!({"alg": "RS256", "kid": kid, "x5u": "https://attacker.invalid/cert.pem"}),
        ),
        "bad_signature",
    );
    add(
        "x5c with an attacker certificate chain",
        attacker_signed(
            json!({"alg": "RS256", "kid": kid, "x5c": [b64::encode(&public_der(&attacker).0)]}),
        ),
        "bad_signature",
    );

    // kid values.
    for (name, k) in [
        ("kid path traversal", "../../../../../../dev/null"),
        ("kid /dev/null", "/dev/null"),
        ("kid empty string", ""),
        ("kid shell injection", "|sleep 10"),
        ("kid SQL injection", "x' UNION SELECT '1';--"),
        ("kid unknown", "no-such-key"),
    ] {
        add(
            name,
            attacker_signed(json!({"alg": "RS256", "kid": k})),
            "unknown_kid",
        );
    }
    add(
        "kid 10 KB long",
        attacker_signed(json!({"alg": "RS256", "kid": "k".repeat(10 * 1024)})),
        "bad_header",
    );
    add(
        "kid is a number",
        attacker_signed(json!({"alg": "RS256", "kid": 123})),
        "bad_header",
    );
    add(
        "kid is an object",
        attacker_signed(json!({"alg": "RS256", "kid": {}})),
        "bad_header",
    );
    add(
        "kid of a use=enc key, signed with that key",
        compact(
            &to_bytes(&json!({"alg": "RS256", "kid": decoy::ENC})),
            &claims_bytes,
            &rs256(pool(POOL_ENC)),
        ),
        "unknown_kid",
    );
    add(
        "kid of a key_ops=[encrypt] key, signed with that key",
        compact(
            &to_bytes(&json!({"alg": "RS256", "kid": decoy::ENCRYPT_OPS})),
            &claims_bytes,
            &rs256(pool(POOL_ENC)),
        ),
        "unknown_kid",
    );
    add(
        "kid of an alg=RS512 key, signed RS256 with that key",
        compact(
            &to_bytes(&json!({"alg": "RS256", "kid": decoy::RS512})),
            &claims_bytes,
            &rs256(pool(POOL_RS512)),
        ),
        "unknown_kid",
    );
    add(
        "kid of a 1024-bit key, signed with that key",
        compact(
            &to_bytes(&json!({"alg": "RS256", "kid": decoy::WEAK_1024})),
            &claims_bytes,
            &Signer::Weak1024,
        ),
        "unknown_kid",
    );
    add(
        "kid of an e=1 key, signature forged as the encoded message",
        compact(
            &to_bytes(&json!({"alg": "RS256", "kid": decoy::E_ONE})),
            &claims_bytes,
            &Signer::EOne(public_components(&pool(POOL_RS512)).0),
        ),
        "unknown_kid",
    );
    add(
        "kid shared by two JWKS keys, signed with one of them",
        compact(
            &to_bytes(&json!({"alg": "RS256", "kid": decoy::DUPLICATE})),
            &claims_bytes,
            &rs256(pool(POOL_DUP_A)),
        ),
        "ambiguous_key",
    );
    add(
        "kid of an oct key, HS256 with its secret",
        compact(
            &to_bytes(&json!({"alg": "HS256", "kid": decoy::HMAC})),
            &claims_bytes,
            &Signer::Hmac(hmac::HMAC_SHA256, decoy::HMAC_SECRET.to_vec()),
        ),
        "alg_not_allowed",
    );
    add(
        "kid of an oct key, RS256",
        attacker_signed(json!({"alg": "RS256", "kid": decoy::HMAC})),
        "unknown_kid",
    );
    add(
        "kid of an EC key, RS256",
        attacker_signed(json!({"alg": "RS256", "kid": decoy::EC})),
        "unknown_kid",
    );
    add(
        "kid of an unknown-kty key, RS256",
        attacker_signed(json!({"alg": "RS256", "kid": decoy::UNKNOWN_KTY})),
        "unknown_kid",
    );

    // crit / b64 / typ / cty / enc / zip, correctly signed with our key.
    add(
        "crit with an unknown extension",
        signed_header(json!({"alg": "RS256", "kid": kid, "crit": ["urn:x"], "urn:x": "1"})),
        "crit_header",
    );
    add(
        "crit naming exp",
        signed_header(json!({"alg": "RS256", "kid": kid, "crit": ["exp"]})),
        "crit_header",
    );
    add(
        "b64=false with crit (RFC 7797)",
        signed_header(json!({"alg": "RS256", "kid": kid, "b64": false, "crit": ["b64"]})),
        "crit_header",
    );
    add(
        "crit empty array",
        signed_header(json!({"alg": "RS256", "kid": kid, "crit": []})),
        "crit_header",
    );
    add(
        "crit not an array",
        signed_header(json!({"alg": "RS256", "kid": kid, "crit": 1})),
        "crit_header",
    );
    add(
        "b64=false without crit",
        signed_header(json!({"alg": "RS256", "kid": kid, "b64": false})),
        "bad_header",
    );
    for (name, typ) in [
        ("typ secevent+jwt", json!("secevent+jwt")),
        ("typ logout+jwt", json!("logout+jwt")),
        ("typ dpop+jwt", json!("dpop+jwt")),
        ("typ id_token", json!("id_token")),
        ("typ not a string", json!(1)),
    ] {
        add(
            name,
            signed_header(json!({"alg": "RS256", "kid": kid, "typ": typ})),
            "bad_header",
        );
    }
    add(
        "cty JWT (nested token)",
        signed_header(json!({"alg": "RS256", "kid": kid, "cty": "JWT"})),
        "bad_header",
    );
    add(
        "cty text/xml",
        signed_header(json!({"alg": "RS256", "kid": kid, "cty": "text/xml"})),
        "bad_header",
    );
    add(
        "enc header member",
        signed_header(json!({"alg": "RS256", "kid": kid, "enc": "A256GCM"})),
        "bad_header",
    );
    add(
        "zip header member",
        signed_header(json!({"alg": "RS256", "kid": kid, "zip": "DEF"})),
        "bad_header",
    );

    // --- D. Registered claims, correctly signed --------------------------------------------
    add(
        "exp missing",
        signed_claims(remove(good.clone(), "exp")),
        "bad_claims",
    );
    add(
        "exp one hour ago",
        signed_claims(set(good.clone(), "exp", json!(now - 3600))),
        "expired",
    );
    add(
        "exp 60 s ago (beyond the 5 s leeway)",
        signed_claims(set(good.clone(), "exp", json!(now - 60))),
        "expired",
    );
    for (name, v) in [
        ("exp as a string", json!("9999999999")),
        ("exp null", json!(null)),
        ("exp boolean", json!(true)),
        ("exp negative", json!(-1)),
        ("exp 1e20", json!(1e20)),
        ("exp empty array", json!([])),
        ("exp u64::MAX", json!(u64::MAX)),
        ("exp ten years ahead", json!(now + 10 * 366 * 24 * 3600)),
    ] {
        add(
            name,
            signed_claims(set(good.clone(), "exp", v)),
            "bad_claims",
        );
    }
    add(
        "nbf one hour ahead",
        signed_claims(set(good.clone(), "nbf", json!(now + 3600))),
        "not_yet_valid",
    );
    add(
        "nbf as a string",
        signed_claims(set(good.clone(), "nbf", json!("0"))),
        "bad_claims",
    );
    add(
        "iat one hour ahead",
        signed_claims(set(good.clone(), "iat", json!(now + 3600))),
        "issued_in_future",
    );
    add(
        "iat as a string",
        signed_claims(set(good.clone(), "iat", json!(now.to_string()))),
        "bad_claims",
    );
    let iss_no_slash = iss.trim_end_matches('/').to_owned();
    for (name, v) in [
        ("iss without the trailing slash", json!(iss_no_slash)),
        (
            "iss with https instead of http",
            json!(iss.replacen("http://", "https://", 1)),
        ),
        ("iss uppercase", json!(iss.to_uppercase())),
        ("iss with a trailing space", json!(format!("{iss} "))),
        ("iss with an extra path", json!(format!("{iss}x/"))),
        ("iss as an array containing the issuer", json!([iss])),
        (
            "iss as an array [evil, issuer]",
            json!(["https://evil.example/", iss]),
        ),
        ("iss of another tenant", json!("https://evil.example/")),
        ("iss null", json!(null)),
    ] {
        add(
            name,
            signed_claims(set(good.clone(), "iss", v)),
            "bad_issuer",
        );
    }
    add(
        "iss missing",
        signed_claims(remove(good.clone(), "iss")),
        "bad_issuer",
    );
    add(
        "aud missing",
        signed_claims(remove(good.clone(), "aud")),
        "bad_audience",
    );
    for (name, v) in [
        ("aud of another API", json!("https://other-api.example")),
        ("aud with a trailing slash", json!(format!("{aud}/"))),
        ("aud in another case", json!(aud.to_uppercase())),
        ("aud with a leading space", json!(format!(" {aud}"))),
        ("aud empty array", json!([])),
        ("aud as a number", json!(1)),
        ("aud nested array", json!([[aud]])),
        ("aud comma-joined string", json!(format!("x,{aud}"))),
        ("aud array with a non-string member", json!([aud, 1])),
        ("aud of the Management API", json!(format!("{iss}api/v2/"))),
    ] {
        add(
            name,
            signed_claims(set(good.clone(), "aud", v)),
            "bad_audience",
        );
    }
    add(
        "ID token sent as an access token (aud = client id, nonce, no scope)",
        signed_claims(json!({
            "iss": iss, "sub": "auth0|hostile", "aud": TEST_CLIENT_ID, "iat": now, "exp": now + 3600,
            "nonce": "n-0S6_WzA2Mj", "email": "victim@example.com", "sid": "s1"
        })),
        "bad_audience",
    );
    add(
        "sub missing",
        signed_claims(remove(good.clone(), "sub")),
        "bad_claims",
    );
    add(
        "sub empty",
        signed_claims(set(good.clone(), "sub", json!(""))),
        "bad_claims",
    );
    add(
        "sub as a number",
        signed_claims(set(good.clone(), "sub", json!(42))),
        "bad_claims",
    );
    add(
        "sub null",
        signed_claims(set(good.clone(), "sub", json!(null))),
        "bad_claims",
    );

    // --- A/B. Size -------------------------------------------------------------------------
    add(
        "token of 16 KiB + 1 byte",
        format!(
            "{valid}{}",
            "A".repeat((16usize * 1024 + 1).saturating_sub(valid.len()))
        ),
        "too_large",
    );
    add(
        "token of 64 KB with a huge claim",
        signed_claims(set(good.clone(), "blob", json!("x".repeat(64 * 1024)))),
        "too_large",
    );

    out
}
