//! Turning a JWK Set document into the few RSA verification keys we are willing to use.
//!
//! `jsonwebtoken::DecodingKey::from_jwk` checks neither `kty`, `use`, `alg` nor the key size,
//! so the filtering lives here: only `kty=RSA` keys meant for signatures (`use` absent or
//! `sig`, `key_ops` absent or containing `verify`, `alg` absent or allowed), with a modulus of
//! 2048–8192 bits, an odd public exponent ≥ 3 and no ROCA fingerprint are kept. Entries that
//! cannot be parsed are skipped without failing the whole set (RFC 7517 §5, OIDF
//! `ignores-unparseable-key-in-jwks`). Two usable keys sharing a `kid` make that `kid`
//! unusable (jose `JWKSMultipleMatchingKeys`, Wycheproof `rejectsDuplicateKid`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::{b64, json, jws};

/// Smallest accepted RSA modulus, in bits.
pub(crate) const MIN_RSA_BITS: usize = 2048;
/// Largest accepted RSA modulus, in bits (the verification primitive's limit).
pub(crate) const MAX_RSA_BITS: usize = 8192;

/// One usable RSA verification key.
#[derive(Debug)]
pub(crate) struct RsaKey {
    /// Modulus, big-endian, no leading zeros.
    pub(crate) n: Vec<u8>,
    /// Public exponent, big-endian, no leading zeros.
    pub(crate) e: Vec<u8>,
    /// The JWK's `alg`, if it named one (then only that algorithm may use the key).
    pub(crate) alg: Option<Algorithm>,
    /// SHA-256 of `n || e`, used to tie cached verifications to a still-published key.
    pub(crate) fingerprint: [u8; 32],
}

/// Why a JWK Set document as a whole was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JwksError {
    /// Not JSON, duplicate member names, not an object, `keys` missing or not an array.
    NotAJwkSet,
    /// `keys` is an empty array.
    Empty,
}

impl JwksError {
    pub(crate) fn message(self) -> &'static str {
        match self {
            Self::NotAJwkSet => "JWKS is not a JWK Set document",
            Self::Empty => "JWKS has no keys",
        }
    }
}

/// Outcome of looking a key up for a token.
#[derive(Debug)]
pub(crate) enum Selection {
    /// Exactly one usable key matches.
    Found(Arc<RsaKey>),
    /// More than one usable key could match.
    Ambiguous,
    /// No usable key matches.
    NotFound,
}

/// The usable keys of one JWK Set document.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    by_kid: HashMap<String, Arc<RsaKey>>,
    ambiguous_kids: HashSet<String>,
    without_kid: Vec<Arc<RsaKey>>,
    fingerprints: HashSet<[u8; 32]>,
}

impl KeySet {
    /// Parses and filters a JWK Set document. Individual unusable keys are skipped; the
    /// document itself must be a JSON object with a non-empty `keys` array.
    pub(crate) fn parse(bytes: &[u8], allowed: &[Algorithm]) -> Result<Self, JwksError> {
        let doc = json::parse_object(bytes).ok_or(JwksError::NotAJwkSet)?;
        let Some(Value::Array(keys)) = doc.get("keys") else {
            return Err(JwksError::NotAJwkSet);
        };
        if keys.is_empty() {
            return Err(JwksError::Empty);
        }
        let mut set = KeySet::default();
        for entry in keys {
            let Value::Object(jwk) = entry else { continue };
            let Some((kid, key)) = usable_key(jwk, allowed) else {
                continue;
            };
            let key = Arc::new(key);
            match kid {
                None => set.without_kid.push(key),
                Some(kid) => {
                    if set.ambiguous_kids.contains(&kid) {
                        continue;
                    }
                    if set.by_kid.remove(&kid).is_some() {
                        set.ambiguous_kids.insert(kid);
                    } else {
                        set.by_kid.insert(kid, key);
                    }
                }
            }
        }
        set.fingerprints = set
            .by_kid
            .values()
            .chain(set.without_kid.iter())
            .map(|k| k.fingerprint)
            .collect();
        Ok(set)
    }

    /// Number of keys a token can actually be verified with (ambiguous `kid`s excluded).
    pub(crate) fn usable_count(&self) -> usize {
        self.by_kid.len() + self.without_kid.len()
    }

    /// Whether a key with this fingerprint is still usable.
    pub(crate) fn contains_fingerprint(&self, fp: &[u8; 32]) -> bool {
        self.fingerprints.contains(fp)
    }

    /// Picks the key for a token's `kid` (or lack of one) and `alg`.
    ///
    /// A token without `kid` gets the only usable key, if there is exactly one.
    pub(crate) fn select(&self, kid: Option<&str>, alg: Algorithm) -> Selection {
        let key = match kid {
            Some(kid) => {
                if self.ambiguous_kids.contains(kid) {
                    return Selection::Ambiguous;
                }
                match self.by_kid.get(kid) {
                    Some(k) => k,
                    None => return Selection::NotFound,
                }
            }
            None => {
                if self.usable_count() > 1 {
                    return Selection::Ambiguous;
                }
                match self.by_kid.values().chain(self.without_kid.iter()).next() {
                    Some(k) => k,
                    None => return Selection::NotFound,
                }
            }
        };
        match key.alg {
            Some(a) if a != alg => Selection::NotFound,
            _ => Selection::Found(Arc::clone(key)),
        }
    }
}

/// Checks one JWK; returns its `kid` and key when it is a usable RSA signing key.
fn usable_key(jwk: &Map<String, Value>, allowed: &[Algorithm]) -> Option<(Option<String>, RsaKey)> {
    if jwk.get("kty")?.as_str()? != "RSA" {
        return None;
    }
    if let Some(u) = jwk.get("use")
        && u.as_str()? != "sig"
    {
        return None;
    }
    if let Some(ops) = jwk.get("key_ops") {
        let ops = ops.as_array()?;
        if !ops.iter().all(Value::is_string) || !ops.iter().any(|o| o.as_str() == Some("verify")) {
            return None;
        }
    }
    let alg = match jwk.get("alg") {
        None => None,
        Some(a) => {
            let a = jws::algorithm_from_name(a.as_str()?)?;
            if !allowed.contains(&a) {
                return None;
            }
            Some(a)
        }
    };
    let kid = match jwk.get("kid") {
        None => None,
        Some(k) => Some(k.as_str()?.to_owned()),
    };
    let n = strip_leading_zeros(b64::decode(jwk.get("n")?.as_str()?)?);
    let e = strip_leading_zeros(b64::decode(jwk.get("e")?.as_str()?)?);
    if !modulus_ok(&n) || !exponent_ok(&e) || roca_fingerprint(&n) {
        return None;
    }
    let mut h = Sha256::new();
    h.update((n.len() as u64).to_be_bytes());
    h.update(&n);
    h.update(&e);
    let fingerprint = h.finalize().into();
    Some((
        kid,
        RsaKey {
            n,
            e,
            alg,
            fingerprint,
        },
    ))
}

fn strip_leading_zeros(mut v: Vec<u8>) -> Vec<u8> {
    let nz = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    v.drain(..nz);
    v
}

/// Bit length of a big-endian number without leading zero bytes.
pub(crate) fn bit_len(be: &[u8]) -> usize {
    match be.first() {
        None => 0,
        Some(first) => (be.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
    }
}

fn modulus_ok(n: &[u8]) -> bool {
    let bits = bit_len(n);
    (MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) && n.last().is_some_and(|b| b & 1 == 1)
}

fn exponent_ok(e: &[u8]) -> bool {
    // Odd, at least 3, at most 32 bits (65537 in practice).
    if e.is_empty() || e.len() > 4 || e.last().is_some_and(|b| b & 1 == 0) {
        return false;
    }
    let v = e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    v >= 3
}

/// The ROCA (CVE-2017-15361) fingerprint: a modulus made by the vulnerable Infineon library
/// is, modulo each small prime below, a power of 65537. Testing these 17 primes is the
/// published detector's test; a random modulus passes all of them with negligible probability.
fn roca_fingerprint(n: &[u8]) -> bool {
    const PRIMES: [u64; 17] = [
        11, 13, 17, 19, 37, 53, 61, 71, 73, 79, 97, 103, 107, 109, 127, 151, 157,
    ];
    PRIMES.iter().all(|&p| {
        let r = n
            .iter()
            .fold(0u64, |acc, b| ((acc << 8) | u64::from(*b)) % p);
        let g = 65537 % p;
        let mut x = 1u64;
        for _ in 0..p {
            if x == r {
                return true;
            }
            x = x * g % p;
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_length_counts_from_the_top_bit() {
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[1]), 1);
        assert_eq!(bit_len(&[0x80, 0]), 16);
        assert_eq!(bit_len(&[0x7f, 0]), 15);
    }

    #[test]
    fn exponents() {
        assert!(exponent_ok(&[1, 0, 1]));
        assert!(exponent_ok(&[3]));
        assert!(!exponent_ok(&[1]));
        assert!(!exponent_ok(&[2]));
        assert!(!exponent_ok(&[]));
        assert!(!exponent_ok(&[1, 0, 0, 0, 1]));
    }

    #[test]
    fn document_shape_errors() {
        let rs = [Algorithm::RS256];
        assert_eq!(
            KeySet::parse(b"<html>", &rs).err(),
            Some(JwksError::NotAJwkSet)
        );
        assert_eq!(
            KeySet::parse(br#"{"keys":"x"}"#, &rs).err(),
            Some(JwksError::NotAJwkSet)
        );
        assert_eq!(
            KeySet::parse(br#"[]"#, &rs).err(),
            Some(JwksError::NotAJwkSet)
        );
        assert_eq!(
            KeySet::parse(br#"{"keys":[]}"#, &rs).err(),
            Some(JwksError::Empty)
        );
        assert_eq!(
            KeySet::parse(br#"{"keys":[],"keys":[{}]}"#, &rs).err(),
            Some(JwksError::NotAJwkSet)
        );
    }

    #[test]
    fn unparseable_entries_are_skipped_not_fatal() {
        let set = KeySet::parse(
            br#"{"keys":[1,"x",{"kty":"AKP"},{"kty":"RSA","n":"!!"}]}"#,
            &[Algorithm::RS256],
        );
        assert_eq!(set.map(|s| s.usable_count()).ok(), Some(0));
    }
}
