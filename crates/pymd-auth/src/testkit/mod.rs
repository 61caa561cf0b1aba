//! An in-test OpenID provider (discovery + JWKS over loopback) with fixed, test-only RSA keys,
//! and a catalogue of hostile tokens ([`hostile_tokens`]).
//!
//! Used by this crate's tests and by the server crate's integration tests, so that every
//! verification path (lazy load, rotation, revocation, outage, slow JWKS, hostile JWKS
//! content) can be exercised without a real identity provider. The keys under
//! `src/testkit/keys/` were generated for these tests only and protect nothing.
//!
//! The published JWKS always contains, besides the real signing keys, decoy entries that the
//! verifier must ignore (a 1024-bit key, `use: enc`, `key_ops: [encrypt]`, `alg: RS512`, a
//! duplicated `kid`, `e = 1`, `oct`, `EC` and an unknown `kty`). With them filtered out, a fresh
//! issuer has exactly one usable key.

mod hostile;

pub use hostile::{HostileToken, hostile_tokens};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair as _, RsaEncoding, RsaKeyPair, RsaPublicKeyComponents};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use num_bigint::BigUint;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use crate::b64;
use crate::config::VerifierConfig;
use crate::verifier::Verifier;

/// The API audience of the test issuer.
pub const TEST_AUDIENCE: &str = "https://api.pymd.io";
/// The `azp`/client id put in test tokens (and the `aud` of ID-token-shaped hostile tokens).
pub const TEST_CLIENT_ID: &str = "pymd-test-client";

const POOL_PEMS: [&str; 10] = [
    include_str!("keys/rsa2048-1.pem"),
    include_str!("keys/rsa2048-2.pem"),
    include_str!("keys/rsa2048-3.pem"),
    include_str!("keys/rsa2048-4.pem"),
    include_str!("keys/rsa2048-5.pem"),
    include_str!("keys/rsa2048-6.pem"),
    include_str!("keys/rsa2048-7.pem"),
    include_str!("keys/rsa2048-8.pem"),
    include_str!("keys/rsa2048-9.pem"),
    include_str!("keys/rsa2048-10.pem"),
];
const WEAK_1024_HEX: &str = include_str!("keys/rsa1024.hex");

/// Pool roles: 0 primary, 1..=3 rotation, 4 foreign issuer, 5 attacker, 6 enc decoy,
/// 7 and 8 duplicate-kid decoys, 9 RS512-only and e=1 decoys.
pub(crate) const POOL_FOREIGN: usize = 4;
pub(crate) const POOL_ATTACKER: usize = 5;
pub(crate) const POOL_ENC: usize = 6;
pub(crate) const POOL_DUP_A: usize = 7;
pub(crate) const POOL_DUP_B: usize = 8;
pub(crate) const POOL_RS512: usize = 9;
const ROTATION_POOL: [usize; 3] = [1, 2, 3];

/// Decoy `kid`s published in every test JWKS; none of them is usable.
pub mod decoy {
    /// A 1024-bit RSA key (`use: sig`, `alg: RS256`).
    pub const WEAK_1024: &str = "weak-1024";
    /// An RSA key with `use: enc`.
    pub const ENC: &str = "enc-key";
    /// An RSA key with `key_ops: ["encrypt"]`.
    pub const ENCRYPT_OPS: &str = "encrypt-ops-key";
    /// An RSA key restricted to `alg: RS512`.
    pub const RS512: &str = "rs512-key";
    /// Two different RSA keys published under the same `kid`.
    pub const DUPLICATE: &str = "dup-kid";
    /// An RSA "key" with public exponent 1 (anyone can forge signatures for it).
    pub const E_ONE: &str = "e-one";
    /// A symmetric (`oct`) key, secret `"secret"`.
    pub const HMAC: &str = "hmac-key";
    /// A P-256 key.
    pub const EC: &str = "ec-key";
    /// A key of an unknown type (`AKP`).
    pub const UNKNOWN_KTY: &str = "akp-key";
    /// The symmetric secret of [`HMAC`].
    pub const HMAC_SECRET: &[u8] = b"secret";
}

fn pem_to_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    match base64::engine::general_purpose::STANDARD.decode(body.trim()) {
        Ok(der) => der,
        Err(_) => panic!("a fixed test key is not valid PEM"),
    }
}

/// The fixed test keys, parsed once.
pub(crate) fn pool(i: usize) -> Arc<RsaKeyPair> {
    static POOL: OnceLock<Vec<Arc<RsaKeyPair>>> = OnceLock::new();
    let keys = POOL.get_or_init(|| {
        POOL_PEMS
            .iter()
            .map(|pem| match RsaKeyPair::from_pkcs8(&pem_to_der(pem)) {
                Ok(k) => Arc::new(k),
                Err(_) => panic!("a fixed test key is not a valid PKCS#8 RSA key"),
            })
            .collect()
    });
    Arc::clone(&keys[i])
}

/// Public components (n, e) of a key pair, big-endian without leading zeros.
pub(crate) fn public_components(key: &RsaKeyPair) -> (Vec<u8>, Vec<u8>) {
    let c = RsaPublicKeyComponents::<Vec<u8>>::from(key.public_key());
    (c.n, c.e)
}

/// The public key as SubjectPublicKeyInfo DER, and as PKCS#1 RSAPublicKey DER.
pub(crate) fn public_der(key: &RsaKeyPair) -> (Vec<u8>, Vec<u8>) {
    let spki = match key.public_key().as_der() {
        Ok(d) => d.as_ref().to_vec(),
        Err(_) => Vec::new(),
    };
    (spki, key.public_key().as_ref().to_vec())
}

/// The public key as a PEM document (what an attacker would download and use as an HMAC secret).
pub(crate) fn public_pem(key: &RsaKeyPair) -> String {
    let b = base64::engine::general_purpose::STANDARD.encode(public_der(key).0);
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for chunk in b.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    pem
}

/// A public JWK for an RSA key pair.
pub(crate) fn rsa_jwk(key: &RsaKeyPair, kid: &str) -> Value {
    let (n, e) = public_components(key);
    json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": b64::encode(&n), "e": b64::encode(&e)})
}

/// How a hostile token's signature is produced.
pub(crate) enum Signer {
    /// An RSA key with a padding/digest scheme.
    Rsa(Arc<RsaKeyPair>, &'static dyn RsaEncoding),
    /// HMAC with a secret.
    Hmac(aws_lc_rs::hmac::Algorithm, Vec<u8>),
    /// Textbook RS256 with the published 1024-bit decoy key.
    Weak1024,
    /// "RS256" for a public exponent of 1 with this modulus: the signature is the encoded message.
    EOne(Vec<u8>),
}

/// EMSA-PKCS1-v1_5 encoding of SHA-256(msg) for a `k`-byte modulus.
fn pkcs1_sha256_encoded(msg: &[u8], k: usize) -> Vec<u8> {
    const PREFIX: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    let h = Sha256::digest(msg);
    let t_len = PREFIX.len() + h.len();
    let mut em = vec![0x00, 0x01];
    em.extend(std::iter::repeat_n(0xff, k.saturating_sub(t_len + 3)));
    em.push(0x00);
    em.extend_from_slice(&PREFIX);
    em.extend_from_slice(&h);
    em
}

fn weak_1024() -> (BigUint, BigUint) {
    let mut n = None;
    let mut d = None;
    for line in WEAK_1024_HEX.lines() {
        if let Some(v) = line.strip_prefix("n=") {
            n = BigUint::parse_bytes(v.trim().as_bytes(), 16);
        } else if let Some(v) = line.strip_prefix("d=") {
            d = BigUint::parse_bytes(v.trim().as_bytes(), 16);
        }
    }
    match (n, d) {
        (Some(n), Some(d)) => (n, d),
        _ => panic!("the fixed 1024-bit test key is invalid"),
    }
}

fn left_pad(mut v: Vec<u8>, len: usize) -> Vec<u8> {
    while v.len() < len {
        v.insert(0, 0);
    }
    v
}

impl Signer {
    pub(crate) fn sign(&self, input: &[u8]) -> Vec<u8> {
        match self {
            Signer::Rsa(key, enc) => {
                let mut sig = vec![0u8; key.public_modulus_len()];
                let rng = aws_lc_rs::rand::SystemRandom::new();
                match key.sign(*enc, &rng, input, &mut sig) {
                    Ok(()) => sig,
                    Err(_) => panic!("RSA signing with a test key failed"),
                }
            }
            Signer::Hmac(alg, secret) => {
                let key = aws_lc_rs::hmac::Key::new(*alg, secret);
                aws_lc_rs::hmac::sign(&key, input).as_ref().to_vec()
            }
            Signer::Weak1024 => {
                let (n, d) = weak_1024();
                let em = BigUint::from_bytes_be(&pkcs1_sha256_encoded(input, 128));
                left_pad(em.modpow(&d, &n).to_bytes_be(), 128)
            }
            Signer::EOne(n) => pkcs1_sha256_encoded(input, n.len()),
        }
    }
}

/// Assembles a compact JWS from raw header and payload bytes.
pub(crate) fn compact(header: &[u8], payload: &[u8], signer: &Signer) -> String {
    let input = format!("{}.{}", b64::encode(header), b64::encode(payload));
    let sig = signer.sign(input.as_bytes());
    format!("{input}.{}", b64::encode(&sig))
}

fn to_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

struct PublishedKey {
    kid: String,
    key: Arc<RsaKeyPair>,
    published: bool,
}

struct IssuerState {
    keys: Vec<PublishedKey>,
    signing: usize,
    down: bool,
    jwks_delay: Duration,
    jwks_override: Option<Value>,
    jwks_raw: Option<(u16, String)>,
    discovery_override: Option<Value>,
    next_rotation: usize,
}

struct Shared {
    issuer: String,
    state: Mutex<IssuerState>,
    jwks_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, IssuerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn jwks(&self) -> Value {
        let st = self.lock();
        if let Some(v) = &st.jwks_override {
            return v.clone();
        }
        let mut keys: Vec<Value> = st
            .keys
            .iter()
            .filter(|k| k.published)
            .map(|k| rsa_jwk(&k.key, &k.kid))
            .collect();
        keys.extend(decoy_jwks());
        json!({ "keys": keys })
    }

    fn discovery(&self) -> Value {
        let i = &self.issuer;
        json!({
            "issuer": i,
            "jwks_uri": format!("{i}.well-known/jwks.json"),
            "authorization_endpoint": format!("{i}authorize"),
            "token_endpoint": format!("{i}oauth/token"),
            "userinfo_endpoint": format!("{i}userinfo"),
            "end_session_endpoint": format!("{i}oidc/logout"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        })
    }
}

/// The decoy JWKS entries (see the module documentation).
fn decoy_jwks() -> Vec<Value> {
    let (weak_n, _) = weak_1024();
    let (enc_n, enc_e) = public_components(&pool(POOL_ENC));
    let (rs512_n, rs512_e) = public_components(&pool(POOL_RS512));
    let mut dup_a = rsa_jwk(&pool(POOL_DUP_A), decoy::DUPLICATE);
    let mut dup_b = rsa_jwk(&pool(POOL_DUP_B), decoy::DUPLICATE);
    for d in [&mut dup_a, &mut dup_b] {
        if let Value::Object(m) = d {
            m.remove("alg");
        }
    }
    vec![
        json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": decoy::WEAK_1024,
               "n": b64::encode(&weak_n.to_bytes_be()), "e": "AQAB"}),
        json!({"kty": "RSA", "use": "enc", "alg": "RSA-OAEP", "kid": decoy::ENC,
               "n": b64::encode(&enc_n), "e": b64::encode(&enc_e)}),
        json!({"kty": "RSA", "key_ops": ["encrypt"], "kid": decoy::ENCRYPT_OPS,
               "n": b64::encode(&enc_n), "e": b64::encode(&enc_e)}),
        json!({"kty": "RSA", "use": "sig", "alg": "RS512", "kid": decoy::RS512,
               "n": b64::encode(&rs512_n), "e": b64::encode(&rs512_e)}),
        dup_a,
        dup_b,
        json!({"kty": "RSA", "use": "sig", "kid": decoy::E_ONE, "n": b64::encode(&rs512_n), "e": "AQ"}),
        json!({"kty": "oct", "kid": decoy::HMAC, "alg": "HS256", "k": b64::encode(decoy::HMAC_SECRET)}),
        json!({"kty": "EC", "use": "sig", "alg": "ES256", "kid": decoy::EC, "crv": "P-256",
               "x": "04N0xi21hshyvBp7I167sbE_bXqyqkAPfefdklMO7wY", "y": "UI8exy-C06a7DUnjIdENkxeFtHM4-l_41LqEw9nVgmw"}),
        json!({"kty": "AKP", "alg": "ML-DSA-44", "kid": decoy::UNKNOWN_KTY, "pub": "AAAA"}),
    ]
}

async fn discovery_handler(State(shared): State<Arc<Shared>>) -> Response {
    shared.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    let (down, doc) = {
        let st = shared.lock();
        (st.down, st.discovery_override.clone())
    };
    if down {
        return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
    }
    axum::Json(doc.unwrap_or_else(|| shared.discovery())).into_response()
}

async fn jwks_handler(State(shared): State<Arc<Shared>>) -> Response {
    shared.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let (down, delay, raw) = {
        let st = shared.lock();
        (st.down, st.jwks_delay, st.jwks_raw.clone())
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if down {
        return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
    }
    if let Some((status, body)) = raw {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, body).into_response();
    }
    axum::Json(shared.jwks()).into_response()
}

/// An OpenID provider on `127.0.0.1:<random port>` serving discovery and JWKS, shaped like
/// Auth0 (issuer with a trailing slash). The server stops when the value is dropped.
pub struct TestIssuer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIssuer")
            .field("issuer", &self.shared.issuer)
            .finish_non_exhaustive()
    }
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestIssuer {
    /// Starts the issuer on a random loopback port with one signing key (`test-key-1`).
    ///
    /// # Panics
    /// If no loopback port can be bound (test environment broken).
    pub async fn start() -> TestIssuer {
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("cannot bind the test issuer on 127.0.0.1:0: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("test issuer has no local address: {e}"),
        };
        let shared = Arc::new(Shared {
            issuer: format!("http://{addr}/"),
            state: Mutex::new(IssuerState {
                keys: vec![PublishedKey {
                    kid: "test-key-1".into(),
                    key: pool(0),
                    published: true,
                }],
                signing: 0,
                down: false,
                jwks_delay: Duration::ZERO,
                jwks_override: None,
                jwks_raw: None,
                discovery_override: None,
                next_rotation: 0,
            }),
            jwks_fetches: AtomicUsize::new(0),
            discovery_fetches: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery_handler))
            .route("/.well-known/jwks.json", get(jwks_handler))
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestIssuer {
            shared,
            addr,
            server,
        }
    }

    /// The socket address the issuer listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>/` (use as `issuer_base_url`).
    pub fn base_url(&self) -> Url {
        match Url::parse(&self.shared.issuer) {
            Ok(u) => u,
            Err(e) => panic!("test issuer URL is invalid: {e}"),
        }
    }

    /// The issuer string with its trailing slash, as in discovery and in tokens (like Auth0).
    pub fn issuer(&self) -> String {
        self.shared.issuer.clone()
    }

    /// The API audience, `https://api.pymd.io`.
    pub fn audience(&self) -> &str {
        TEST_AUDIENCE
    }

    /// A configuration for this issuer: specification defaults, except a 2 s fetch timeout.
    pub fn verifier_config(&self) -> VerifierConfig {
        let mut c = VerifierConfig::new(self.base_url(), TEST_AUDIENCE);
        c.fetch_timeout = Duration::from_secs(2);
        c
    }

    /// A verifier for this issuer (no redirects, [`TestIssuer::verifier_config`]).
    pub fn verifier(&self) -> Verifier {
        self.verifier_with(self.verifier_config())
    }

    /// A verifier with a custom configuration and a no-redirect HTTP client.
    pub fn verifier_with(&self, config: VerifierConfig) -> Verifier {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Verifier::new(config, http)
    }

    /// The `kid` tokens are currently signed with.
    pub fn current_kid(&self) -> String {
        let st = self.shared.lock();
        st.keys[st.signing].kid.clone()
    }

    pub(crate) fn current_key(&self) -> Arc<RsaKeyPair> {
        let st = self.shared.lock();
        Arc::clone(&st.keys[st.signing].key)
    }

    /// The claims of a valid Auth0-shaped access token for `sub` with `permissions`
    /// (also listed in `scope` after `openid profile email`).
    pub fn claims(&self, sub: &str, permissions: &[&str]) -> Value {
        let now = unix_now();
        let iss = self.issuer();
        let mut scope = String::from("openid profile email");
        for p in permissions {
            scope.push(' ');
            scope.push_str(p);
        }
        json!({
            "iss": iss,
            "sub": sub,
            "aud": [TEST_AUDIENCE, format!("{iss}userinfo")],
            "iat": now,
            "exp": now + 3600,
            "scope": scope,
            "permissions": permissions,
            "azp": TEST_CLIENT_ID,
        })
    }

    /// The header of a valid token: `{"alg":"RS256","typ":"JWT","kid":<current kid>}`.
    pub fn header(&self) -> Value {
        json!({"alg": "RS256", "typ": "JWT", "kid": self.current_kid()})
    }

    /// A valid access token for `sub` with `permissions`.
    pub fn token(&self, sub: &str, permissions: &[&str]) -> String {
        self.sign(self.header(), self.claims(sub, permissions))
    }

    /// Signs any header and claims with RS256 and the current key (the header is used as is).
    pub fn sign(&self, header: Value, claims: Value) -> String {
        self.sign_raw(&to_bytes(&header), &to_bytes(&claims))
    }

    /// Signs raw header and payload bytes with RS256 and the current key (for duplicate
    /// members, invalid UTF-8 and other things `serde_json::Value` cannot express).
    pub fn sign_raw(&self, header: &[u8], payload: &[u8]) -> String {
        compact(
            header,
            payload,
            &Signer::Rsa(self.current_key(), &aws_lc_rs::signature::RSA_PKCS1_SHA256),
        )
    }

    /// Signs raw bytes with RS256 and the key published under `kid` (even if revoked).
    /// Returns `None` if the issuer never had that key.
    pub fn sign_raw_with_kid(&self, kid: &str, header: &[u8], payload: &[u8]) -> Option<String> {
        let key = {
            let st = self.shared.lock();
            st.keys
                .iter()
                .find(|k| k.kid == kid)
                .map(|k| Arc::clone(&k.key))?
        };
        Some(compact(
            header,
            payload,
            &Signer::Rsa(key, &aws_lc_rs::signature::RSA_PKCS1_SHA256),
        ))
    }

    /// A valid token signed with the key `kid` (even if revoked), for rotation tests.
    pub fn token_with_kid(&self, kid: &str, sub: &str, permissions: &[&str]) -> Option<String> {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
        self.sign_raw_with_kid(
            kid,
            &to_bytes(&header),
            &to_bytes(&self.claims(sub, permissions)),
        )
    }

    /// Number of JWKS requests received (including those answered 503).
    pub fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Number of discovery requests received (including those answered 503).
    pub fn discovery_fetches(&self) -> usize {
        self.shared.discovery_fetches.load(Ordering::SeqCst)
    }

    /// While `true`, discovery and JWKS answer 503.
    pub fn set_down(&self, down: bool) {
        self.shared.lock().down = down;
    }

    /// Delay every JWKS answer (to test timeouts and request coalescing).
    pub fn set_jwks_delay(&self, delay: Duration) {
        self.shared.lock().jwks_delay = delay;
    }

    /// Serve this document as the JWKS instead of the real one (`None` restores it).
    pub fn set_jwks_override(&self, jwks: Option<Value>) {
        self.shared.lock().jwks_override = jwks;
    }

    /// Answer JWKS requests with this status and body instead (`None` restores the JWKS);
    /// for HTML pages, huge bodies and error statuses.
    pub fn set_jwks_raw_response(&self, response: Option<(u16, String)>) {
        self.shared.lock().jwks_raw = response;
    }

    /// Serve this document as the discovery document (`None` restores the real one).
    pub fn set_discovery_override(&self, doc: Option<Value>) {
        self.shared.lock().discovery_override = doc;
    }

    /// The discovery document the issuer serves by default.
    pub fn discovery_document(&self) -> Value {
        self.shared.discovery()
    }

    /// The JWKS document currently served.
    pub fn jwks(&self) -> Value {
        self.shared.jwks()
    }

    /// Adds a new signing key and signs new tokens with it; old keys stay published.
    /// Returns the new `kid`.
    ///
    /// # Panics
    /// If a fresh RSA key cannot be generated once the fixed pool is used up.
    pub fn rotate(&self) -> String {
        let mut st = self.shared.lock();
        let key = match ROTATION_POOL.get(st.next_rotation) {
            Some(i) => pool(*i),
            None => match RsaKeyPair::generate(KeySize::Rsa2048) {
                Ok(k) => Arc::new(k),
                Err(_) => panic!("cannot generate an RSA test key"),
            },
        };
        st.next_rotation += 1;
        let kid = format!("test-key-{}", st.keys.len() + 1);
        st.keys.push(PublishedKey {
            kid: kid.clone(),
            key,
            published: true,
        });
        st.signing = st.keys.len() - 1;
        kid
    }

    /// Stops publishing the key `kid` (tokens can still be signed with it, to prove they fail).
    pub fn revoke(&self, kid: &str) {
        let mut st = self.shared.lock();
        for k in st.keys.iter_mut().filter(|k| k.kid == kid) {
            k.published = false;
        }
    }
}
