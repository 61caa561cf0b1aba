//! Signing keys and JWTs: RSA-2048 keys generated with aws-lc-rs and persisted in the data
//! directory, the Auth0 current/next/previous rotation model (§7.3), the public JWKS, and
//! RS256 signing/verification of the tenant's own tokens.
//!
//! Signing uses aws-lc-rs directly (PKCS#1 v1.5 + SHA-256 over `header.payload`), which is
//! exactly RS256; it avoids converting PKCS#8 keys into the RFC 8017 form jsonwebtoken wants.

use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{self, KeyPair as _};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::util::{b64std, b64std_decode, b64url, b64url_decode};

/// Key-store failures.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing `keys.json` failed.
    #[error("signing keys file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `keys.json` exists but is not valid.
    #[error("signing keys file {0} is corrupt; delete it to generate new keys")]
    Corrupt(PathBuf),
    /// RSA key generation or signing failed.
    #[error("RSA operation failed")]
    Crypto,
    /// Revocation of a key that is not a previous key.
    #[error("{0}")]
    Revoke(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum KeyRole {
    Current,
    Next,
    Previous,
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    role: KeyRole,
    pkcs8: String,
    created_at: i64,
}

#[derive(Serialize, Deserialize)]
struct StoredKeys {
    keys: Vec<StoredKey>,
}

struct LoadedKey {
    kid: String,
    role: KeyRole,
    pair: KeyPair,
    pkcs8: Vec<u8>,
    created_at: i64,
    n: Vec<u8>,
    e: Vec<u8>,
    cert: Option<Vec<u8>>,
}

/// The tenant's signing keys.
pub struct KeyStore {
    path: PathBuf,
    host: String,
    keys: Vec<LoadedKey>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("path", &self.path)
            .field(
                "kids",
                &self.keys.iter().map(|k| &k.kid).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn load_key(
    kid: String,
    role: KeyRole,
    pkcs8: Vec<u8>,
    created_at: i64,
    host: &str,
) -> Option<LoadedKey> {
    let pair = KeyPair::from_pkcs8(&pkcs8).ok()?;
    let (n, e) = {
        let pk = pair.public_key();
        let comps: PublicKeyComponents<Vec<u8>> = pk.into();
        (strip_zeros(comps.n), strip_zeros(comps.e))
    };
    if pair.public_modulus_len() < 256 {
        return None;
    }
    let cert = crate::x509::self_signed(&pair, &n, &e, host, created_at);
    Some(LoadedKey {
        cert,
        kid,
        role,
        pair,
        pkcs8,
        created_at,
        n,
        e,
    })
}

fn strip_zeros(mut v: Vec<u8>) -> Vec<u8> {
    while v.len() > 1 && v[0] == 0 {
        v.remove(0);
    }
    v
}

fn generate(role: KeyRole, now: i64, host: &str) -> Result<LoadedKey, KeyError> {
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Crypto)?;
    let der = pair.as_der().map_err(|_| KeyError::Crypto)?;
    load_key(
        crate::util::random_urlsafe(21),
        role,
        der.as_ref().to_vec(),
        now,
        host,
    )
    .ok_or(KeyError::Crypto)
}

impl KeyStore {
    /// Loads `dir/keys.json`, or creates it with a current and a next key.
    ///
    /// # Errors
    /// [`KeyError::Io`] if the directory or file cannot be read/written, [`KeyError::Corrupt`]
    /// if the file is not a valid key store, [`KeyError::Crypto`] if key generation fails.
    pub fn open(dir: &Path, now: i64, host: &str) -> Result<KeyStore, KeyError> {
        std::fs::create_dir_all(dir).map_err(|source| KeyError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join("keys.json");
        let mut store = KeyStore {
            path: path.clone(),
            host: host.to_string(),
            keys: Vec::new(),
        };
        match std::fs::read(&path) {
            Ok(bytes) => {
                let stored: StoredKeys =
                    serde_json::from_slice(&bytes).map_err(|_| KeyError::Corrupt(path.clone()))?;
                for k in stored.keys {
                    let pkcs8 =
                        b64std_decode(&k.pkcs8).ok_or_else(|| KeyError::Corrupt(path.clone()))?;
                    let key = load_key(k.kid, k.role, pkcs8, k.created_at, host)
                        .ok_or_else(|| KeyError::Corrupt(path.clone()))?;
                    store.keys.push(key);
                }
                if !store.keys.iter().any(|k| k.role == KeyRole::Current) {
                    return Err(KeyError::Corrupt(path));
                }
                if !store.keys.iter().any(|k| k.role == KeyRole::Next) {
                    store.keys.push(generate(KeyRole::Next, now, host)?);
                    store.save()?;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                store.keys.push(generate(KeyRole::Current, now, host)?);
                store.keys.push(generate(KeyRole::Next, now, host)?);
                store.save()?;
            }
            Err(source) => return Err(KeyError::Io { path, source }),
        }
        Ok(store)
    }

    fn save(&self) -> Result<(), KeyError> {
        let stored = StoredKeys {
            keys: self
                .keys
                .iter()
                .map(|k| StoredKey {
                    kid: k.kid.clone(),
                    role: k.role,
                    pkcs8: b64std(&k.pkcs8),
                    created_at: k.created_at,
                })
                .collect(),
        };
        let bytes = serde_json::to_vec_pretty(&stored).map_err(|_| KeyError::Crypto)?;
        let tmp = self.path.with_extension("json.tmp");
        let io = |source| KeyError::Io {
            path: self.path.clone(),
            source,
        };
        write_private(&tmp, &bytes).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        Ok(())
    }

    /// The kid new tokens are signed with.
    pub fn current_kid(&self) -> &str {
        self.current().map(|k| k.kid.as_str()).unwrap_or("")
    }

    fn current(&self) -> Option<&LoadedKey> {
        self.keys.iter().find(|k| k.role == KeyRole::Current)
    }

    /// Rotates: next → current, current → previous, a new next. Returns the new current kid.
    ///
    /// # Errors
    /// Key generation or persisting failed.
    pub fn rotate(&mut self, now: i64) -> Result<String, KeyError> {
        let fresh = generate(KeyRole::Next, now, &self.host)?;
        for k in &mut self.keys {
            k.role = match k.role {
                KeyRole::Current => KeyRole::Previous,
                KeyRole::Next => KeyRole::Current,
                KeyRole::Previous => KeyRole::Previous,
            };
        }
        self.keys.push(fresh);
        self.save()?;
        Ok(self.current_kid().to_string())
    }

    /// Revokes a previous key: it leaves the JWKS and tokens signed with it stop verifying.
    ///
    /// # Errors
    /// [`KeyError::Revoke`] if `kid` is unknown or is the current/next key.
    pub fn revoke(&mut self, kid: &str) -> Result<(), KeyError> {
        match self.keys.iter().find(|k| k.kid == kid).map(|k| k.role) {
            None => Err(KeyError::Revoke(format!(
                "signing key {kid} does not exist"
            ))),
            Some(KeyRole::Previous) => {
                self.keys.retain(|k| k.kid != kid);
                self.save()
            }
            Some(_) => Err(KeyError::Revoke(
                "only a previous signing key can be revoked; rotate first".into(),
            )),
        }
    }

    /// The public JWKS (`kty n e kid use alg` only, plus x5t/x5c with a self-signed cert).
    pub fn jwks(&self) -> Value {
        let mut ordered: Vec<&LoadedKey> = self.keys.iter().collect();
        ordered.sort_by_key(|k| match k.role {
            KeyRole::Current => 0,
            KeyRole::Next => 1,
            KeyRole::Previous => 2,
        });
        let keys: Vec<Value> = ordered
            .iter()
            .map(|k| {
                let mut jwk = json!({
                    "kty": "RSA",
                    "use": "sig",
                    "n": b64url(&k.n),
                    "e": b64url(&k.e),
                    "kid": k.kid,
                });
                if let Some(cert) = &k.cert {
                    let sha1 = aws_lc_rs::digest::digest(
                        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
                        cert,
                    );
                    jwk["x5t"] = json!(b64url(sha1.as_ref()));
                    jwk["x5c"] = json!([b64std(cert)]);
                }
                jwk["alg"] = json!("RS256");
                jwk
            })
            .collect();
        json!({ "keys": keys })
    }

    /// Signs `claims` as an RS256 JWT with the current key.
    ///
    /// # Errors
    /// [`KeyError::Crypto`] if signing fails.
    pub fn sign(&self, claims: &Value) -> Result<String, KeyError> {
        self.sign_typed(claims, "JWT")
    }

    /// Signs `claims` as an RS256 JWT with the current key and the header `typ` given (e.g.
    /// `logout+jwt` for a back-channel logout token).
    ///
    /// # Errors
    /// [`KeyError::Crypto`] if signing fails.
    pub fn sign_typed(&self, claims: &Value, typ: &str) -> Result<String, KeyError> {
        let key = self.current().ok_or(KeyError::Crypto)?;
        let header = json!({"alg": "RS256", "typ": typ, "kid": key.kid});
        let h = serde_json::to_vec(&header).map_err(|_| KeyError::Crypto)?;
        let c = serde_json::to_vec(claims).map_err(|_| KeyError::Crypto)?;
        let msg = format!("{}.{}", b64url(&h), b64url(&c));
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let mut sig = vec![0u8; key.pair.public_modulus_len()];
        key.pair
            .sign(&signature::RSA_PKCS1_SHA256, &rng, msg.as_bytes(), &mut sig)
            .map_err(|_| KeyError::Crypto)?;
        Ok(format!("{msg}.{}", b64url(&sig)))
    }

    /// Verifies a token signed by one of the published keys and returns its claims.
    /// Checks only the signature, `alg` and `kid`; callers check `iss`, `aud`, `exp`.
    pub fn verify(&self, token: &str) -> Result<Value, VerifyError> {
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(VerifyError::Malformed);
        };
        let header: Value = b64url_decode(h)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(VerifyError::Malformed)?;
        if header.get("alg").and_then(Value::as_str) != Some("RS256") {
            return Err(VerifyError::Signature);
        }
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or(VerifyError::Signature)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(VerifyError::Signature)?;
        let sig = b64url_decode(s).ok_or(VerifyError::Malformed)?;
        let public = PublicKeyComponents {
            n: key.n.as_slice(),
            e: key.e.as_slice(),
        };
        public
            .verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                format!("{h}.{c}").as_bytes(),
                &sig,
            )
            .map_err(|_| VerifyError::Signature)?;
        b64url_decode(c)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(VerifyError::Malformed)
    }
}

/// The signing keys as the tenant shares them: one lock, held only for the duration of one
/// operation.
#[derive(Debug)]
pub struct SigningKeys {
    store: tokio::sync::RwLock<KeyStore>,
}

impl SigningKeys {
    /// Wraps an opened key store.
    pub fn new(store: KeyStore) -> SigningKeys {
        SigningKeys {
            store: tokio::sync::RwLock::new(store),
        }
    }

    /// Signs `claims` with the current key.
    ///
    /// # Errors
    /// [`KeyError`] if signing fails.
    pub async fn sign(&self, claims: &Value) -> Result<String, KeyError> {
        self.store.read().await.sign(claims)
    }

    /// Signs `claims` with the current key and the header `typ` given.
    ///
    /// # Errors
    /// [`KeyError`] if signing fails.
    pub async fn sign_typed(&self, claims: &Value, typ: &str) -> Result<String, KeyError> {
        self.store.read().await.sign_typed(claims, typ)
    }

    /// Verifies a token's signature and returns its claims (nothing else is checked).
    ///
    /// # Errors
    /// [`VerifyError`].
    pub async fn verify(&self, token: &str) -> Result<Value, VerifyError> {
        self.store.read().await.verify(token)
    }

    /// The public JWKS document.
    pub async fn jwks(&self) -> Value {
        self.store.read().await.jwks()
    }

    /// Rotates the keys at `now`; returns the new current kid.
    ///
    /// # Errors
    /// [`KeyError`] if the new key cannot be generated or saved.
    pub async fn rotate(&self, now: i64) -> Result<String, KeyError> {
        self.store.write().await.rotate(now)
    }

    /// Revokes the key `kid`.
    ///
    /// # Errors
    /// [`KeyError`] if the key is unknown, current, or the file cannot be saved.
    pub async fn revoke(&self, kid: &str) -> Result<(), KeyError> {
        self.store.write().await.revoke(kid)
    }
}

/// Why a token failed verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyError {
    /// Not three base64url JSON parts.
    Malformed,
    /// Unknown kid, wrong alg or bad signature.
    Signature,
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_rotate_revoke() {
        let dir = std::env::temp_dir().join(format!("pymd-keys-{}", crate::util::random_hex(8)));
        let mut ks = KeyStore::open(&dir, 0, "127.0.0.1").unwrap();
        let first = ks.current_kid().to_string();
        assert_eq!(first.len(), 21);
        let tok = ks.sign(&json!({"sub": "x"})).unwrap();
        assert_eq!(ks.verify(&tok).unwrap()["sub"], "x");
        let jwks = ks.jwks();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        for k in jwks["keys"].as_array().unwrap() {
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(k.get(private).is_none());
            }
            assert_eq!(k["n"].as_str().unwrap().len(), 342);
        }
        let new = ks.rotate(1).unwrap();
        assert_ne!(new, first);
        assert!(ks.verify(&tok).is_ok());
        assert_eq!(ks.jwks()["keys"].as_array().unwrap().len(), 3);
        assert!(ks.revoke(&new).is_err());
        ks.revoke(&first).unwrap();
        assert_eq!(ks.verify(&tok), Err(VerifyError::Signature));
        // reload from disk
        let again = KeyStore::open(&dir, 2, "127.0.0.1").unwrap();
        assert_eq!(again.current_kid(), new);
        let _ = std::fs::remove_dir_all(dir);
    }
}
