//! Keys and randomness for the web sign-in. Two keys are derived from `AUTH0_SECRET` with
//! HKDF-SHA-256 under different labels, so neither can stand in for the other: a 64-byte
//! `cookie::Key` for the encrypted login-transaction cookie, and a 32-byte AES-256-GCM key that
//! seals the IdP's tokens stored with a session (aws-lc-rs `RandomizedNonceKey`: the library
//! draws every nonce, so none is ever reused by mistake). Sealed values carry a one-byte key
//! version so the key can rotate later.

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::hkdf;
use axum_extra::extract::cookie::Key;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Version byte of the current token-sealing key.
const SEAL_VERSION: u8 = 1;
const SALT: &[u8] = b"pymd web v1";
const COOKIE_LABEL: &[u8] = b"pymd login-transaction cookie key";
const TOKEN_LABEL: &[u8] = b"pymd session token key";

/// Why a key could not be derived or a value not be sealed or opened. Carries no key material.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the cookie secret is shorter than 32 bytes")]
    ShortSecret,
    #[error("key derivation failed")]
    Derive,
    #[error("encryption failed")]
    Seal,
    #[error("a sealed value is malformed, was sealed under another key or was tampered with")]
    Open,
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn derive(secret: &SecretString, label: &[u8], out: &mut [u8]) -> Result<(), CryptoError> {
    let secret = secret.expose_secret().as_bytes();
    if secret.len() < 32 {
        return Err(CryptoError::ShortSecret);
    }
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, SALT).extract(secret);
    let labels = [label];
    prk.expand(&labels, Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .map_err(|_| CryptoError::Derive)
}

/// The key of the encrypted login-transaction cookie (`PrivateCookieJar`).
///
/// # Errors
/// [`CryptoError::ShortSecret`] / [`CryptoError::Derive`].
pub fn cookie_key(secret: &SecretString) -> Result<Key, CryptoError> {
    let mut bytes = [0u8; 64];
    derive(secret, COOKIE_LABEL, &mut bytes)?;
    Key::try_from(bytes.as_slice()).map_err(|_| CryptoError::Derive)
}

/// Seals and opens the IdP tokens kept with a session.
pub struct TokenSealer {
    key: RandomizedNonceKey,
}

impl TokenSealer {
    /// Derives the sealing key from the cookie secret.
    ///
    /// # Errors
    /// [`CryptoError::ShortSecret`] / [`CryptoError::Derive`].
    pub fn new(secret: &SecretString) -> Result<Self, CryptoError> {
        let mut bytes = [0u8; 32];
        derive(secret, TOKEN_LABEL, &mut bytes)?;
        let key = RandomizedNonceKey::new(&AES_256_GCM, &bytes).map_err(|_| CryptoError::Derive)?;
        Ok(TokenSealer { key })
    }

    /// Encrypts `plaintext` bound to `aad` (the session hash): `version ‖ nonce ‖ ciphertext ‖ tag`.
    ///
    /// # Errors
    /// [`CryptoError::Seal`].
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut in_out = plaintext.to_vec();
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(aad), &mut in_out)
            .map_err(|_| CryptoError::Seal)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        out.push(SEAL_VERSION);
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&in_out);
        Ok(out)
    }

    /// Decrypts a value sealed by [`TokenSealer::seal`] with the same `aad`.
    ///
    /// # Errors
    /// [`CryptoError::Open`] for anything that does not authenticate.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let (&version, rest) = sealed.split_first().ok_or(CryptoError::Open)?;
        if version != SEAL_VERSION || rest.len() < NONCE_LEN {
            return Err(CryptoError::Open);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Open)?;
        let mut in_out = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut in_out)
            .map_err(|_| CryptoError::Open)?;
        Ok(plain.to_vec())
    }
}

/// `n` random bytes from the operating system's CSPRNG (aws-lc-rs).
///
/// # Errors
/// When the system RNG fails.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    aws_lc_rs::rand::fill(&mut out).map_err(|_| CryptoError::Seal)?;
    Ok(out)
}

/// A random URL-safe token of `N` bytes (base64url, no padding).
///
/// # Errors
/// When the system RNG fails.
pub fn random_token<const N: usize>() -> Result<String, CryptoError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<N>()?))
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The PKCE S256 challenge of a verifier: `base64url(SHA-256(verifier))`.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes()))
}

/// Constant-time equality of two strings.
pub fn ct_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn sealing_round_trips_and_binds_the_associated_data() {
        let sealer = TokenSealer::new(&secret("0123456789abcdef0123456789abcdef")).unwrap();
        let sealed = sealer.seal(b"session-a", b"the access token").unwrap();
        assert!(!sealed.windows(16).any(|w| w == b"the access token"));
        assert_eq!(
            sealer.open(b"session-a", &sealed).unwrap(),
            b"the access token"
        );
        assert!(
            sealer.open(b"session-b", &sealed).is_err(),
            "another session's AAD"
        );
        let again = sealer.seal(b"session-a", b"the access token").unwrap();
        assert_ne!(sealed, again, "a fresh nonce every time");
        for i in 0..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 1;
            assert!(sealer.open(b"session-a", &t).is_err(), "bit flip at {i}");
        }
        assert!(
            sealer
                .open(b"session-a", &sealed[..sealed.len() - 1])
                .is_err()
        );
        assert!(sealer.open(b"session-a", &[]).is_err());
    }

    #[test]
    fn another_secret_cannot_open() {
        let a = TokenSealer::new(&secret("0123456789abcdef0123456789abcdef")).unwrap();
        let b = TokenSealer::new(&secret("0123456789abcdef0123456789abcdeX")).unwrap();
        let sealed = a.seal(b"x", b"token").unwrap();
        assert!(b.open(b"x", &sealed).is_err());
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(matches!(
            TokenSealer::new(&secret("short")),
            Err(CryptoError::ShortSecret)
        ));
        assert!(cookie_key(&secret("short")).is_err());
        assert!(cookie_key(&secret("0123456789abcdef0123456789abcdef")).is_ok());
    }

    #[test]
    fn the_pkce_challenge_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
