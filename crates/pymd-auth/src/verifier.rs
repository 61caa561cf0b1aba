//! The access-token verifier: JWKS cache with lazy load, background refresh, single-flight
//! refetch on unknown `kid` (at most one per cooldown), stale-if-error, and a bounded cache of
//! verified tokens.
//!
//! Concurrency design: the hot path (known `kid`) only takes a short `std::sync::RwLock` read
//! to clone an `Arc<KeySet>`; it never waits on the network. Fetches are serialised by a
//! `tokio::sync::Mutex` plus an attempt counter: a caller that needed a fetch remembers the
//! counter, takes the mutex, and only fetches if nobody else did in the meantime and the
//! cooldown has passed. So N concurrent unknown-`kid` requests produce at most one fetch.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::Algorithm;

use crate::cache::{self, TokenCache};
use crate::claims::{self, ClaimRules, VerifiedToken};
use crate::config::VerifierConfig;
use crate::discovery::{self, FetchError, ProviderMetadata};
use crate::error::VerifyError;
use crate::jwks::{KeySet, RsaKey};
use crate::jws;

/// How soon a fetch is retried while no key set has ever loaded (cold start with the IdP down):
/// requests then get 503 and the keys are picked up within this long once the IdP answers.
pub const COLD_START_RETRY: Duration = Duration::from_secs(2);

/// Metric: failed verifications, labelled by [`VerifyError::reason`].
pub const METRIC_FAILURES: &str = "pymd_jwt_verification_failures_total";
/// Metric: JWKS refresh attempts, labelled `result="ok"|"error"`.
pub const METRIC_JWKS_REFRESH: &str = "pymd_jwks_refresh_total";

/// A cheap snapshot of the JWKS cache state, for `/readyz` and diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksHealth {
    /// Usable keys currently cached (0 before the first successful load).
    pub keys: usize,
    /// Outcome of the last refresh attempt; `None` before the first attempt.
    pub last_refresh_ok: Option<bool>,
    /// Short description of the last failure (no token material), cleared on success.
    pub last_error: Option<String>,
}

#[derive(Default)]
struct State {
    metadata: Option<Arc<ProviderMetadata>>,
    keys: Option<Arc<KeySet>>,
    /// Number of completed refresh attempts (the single-flight generation).
    attempts: u64,
    last_attempt: Option<Instant>,
    last_ok: Option<bool>,
    last_error: Option<String>,
    /// The last failure was a refused discovery document (not an outage).
    last_rejected: bool,
}

struct Inner {
    config: VerifierConfig,
    algorithms: Vec<Algorithm>,
    http: reqwest::Client,
    state: RwLock<State>,
    fetch_lock: tokio::sync::Mutex<()>,
    cache: std::sync::Mutex<TokenCache>,
}

/// Verifies Auth0 (or any OIDC provider's) RS256 access tokens. Cheap to clone.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field(
                "issuer_base_url",
                &self.inner.config.issuer_base_url.as_str(),
            )
            .field("audience", &self.inner.config.audience)
            .finish_non_exhaustive()
    }
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Verifier {
    /// Builds a verifier. Does no network I/O: discovery and JWKS are loaded on first use
    /// (or by [`Verifier::spawn_background_refresh`]), so the app can start while the IdP is down.
    ///
    /// Algorithms in `config.algorithms` that are not RSA (RS*/PS*) are dropped with a warning.
    /// `http` should be built with `redirect::Policy::none()`; a redirected response is refused
    /// either way.
    pub fn new(config: VerifierConfig, http: reqwest::Client) -> Self {
        let algorithms: Vec<Algorithm> = config
            .algorithms
            .iter()
            .copied()
            .filter(|a| jws::algorithm_name(*a).is_some())
            .collect();
        if algorithms.len() != config.algorithms.len() {
            tracing::warn!("non-RSA algorithms in the verifier configuration were ignored");
        }
        let cache = std::sync::Mutex::new(TokenCache::new(config.cache_capacity));
        Self {
            inner: Arc::new(Inner {
                config,
                algorithms,
                http,
                state: RwLock::new(State::default()),
                fetch_lock: tokio::sync::Mutex::new(()),
                cache,
            }),
        }
    }

    /// The configuration this verifier was built with.
    pub fn config(&self) -> &VerifierConfig {
        &self.inner.config
    }

    /// Verifies a bearer access token (the text after `Bearer `).
    ///
    /// # Errors
    /// A [`VerifyError`] naming the failure class; [`VerifyError::is_unavailable`] is true
    /// when no key could be obtained because the identity provider is unreachable (or its
    /// metadata was refused). Every failure increments
    /// `pymd_jwt_verification_failures_total{reason}` and is logged at debug level with the
    /// reason only.
    pub async fn verify(&self, token: &str) -> Result<Arc<VerifiedToken>, VerifyError> {
        let result = self.verify_inner(token).await;
        if let Err(e) = &result {
            metrics::counter!(METRIC_FAILURES, "reason" => e.reason()).increment(1);
            tracing::debug!(reason = e.reason(), "access token refused");
        }
        result
    }

    async fn verify_inner(&self, token: &str) -> Result<Arc<VerifiedToken>, VerifyError> {
        let inner = &self.inner;
        if token.len() > inner.config.max_token_bytes {
            return Err(VerifyError::TooLarge);
        }
        let now = now_secs();
        let digest = cache::digest(token);
        if let Some(keys) = self.current_keys() {
            let hit = inner
                .cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&digest, now as i64, |fp| keys.contains_fingerprint(fp));
            if let Some(t) = hit {
                return Ok(t);
            }
        }
        let parsed = jws::parse_compact(token, &inner.algorithms)?;
        let (key, issuer) = self.key_for(parsed.kid.as_deref(), parsed.alg).await?;
        jws::verify_signature(&parsed, &key)?;
        let rules = ClaimRules {
            issuer: &issuer,
            audience: &inner.config.audience,
            leeway_secs: inner.config.leeway.as_secs_f64(),
        };
        let verified = Arc::new(claims::validate(&parsed.payload, &rules, now)?);
        inner
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(digest, Arc::clone(&verified), key.fingerprint, now as i64);
        Ok(verified)
    }

    /// Verifies a compact JWS (an ID token, say) with the same cached key set and algorithm
    /// allow-list as access tokens — fetching keys only for an unknown `kid`, once per cooldown —
    /// and returns its payload. The caller checks the claims, which differ by token kind.
    ///
    /// # Errors
    /// As [`Verifier::verify`] for the header, the key and the signature;
    /// [`VerifyError::is_unavailable`] when no key could be obtained.
    pub async fn verify_signed_payload(&self, token: &str) -> Result<Vec<u8>, VerifyError> {
        if token.len() > self.inner.config.max_token_bytes {
            return Err(VerifyError::TooLarge);
        }
        let parsed = jws::parse_compact(token, &self.inner.algorithms)?;
        let (key, _issuer) = self.key_for(parsed.kid.as_deref(), parsed.alg).await?;
        jws::verify_signature(&parsed, &key)?;
        Ok(parsed.payload)
    }

    /// Verifies an OpenID Connect Back-Channel Logout token's signature exactly as
    /// [`Verifier::verify_signed_payload`] does, except for its `typ`: only `logout+jwt` (or
    /// none) is accepted, so an access token (`at+jwt`, `JWT`) can never pass as a logout token.
    /// The caller checks the claims.
    ///
    /// # Errors
    /// As [`Verifier::verify_signed_payload`].
    pub async fn verify_logout_token_payload(&self, token: &str) -> Result<Vec<u8>, VerifyError> {
        if token.len() > self.inner.config.max_token_bytes {
            return Err(VerifyError::TooLarge);
        }
        let parsed = jws::parse_compact_typed(token, &self.inner.algorithms, jws::logout_typ_ok)?;
        let (key, _issuer) = self.key_for(parsed.kid.as_deref(), parsed.alg).await?;
        jws::verify_signature(&parsed, &key)?;
        Ok(parsed.payload)
    }

    fn current_keys(&self) -> Option<Arc<KeySet>> {
        self.inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys
            .clone()
    }

    /// Finds the key for a token, fetching the JWKS when it was never loaded or the `kid` is
    /// unknown (single flight, at most once per cooldown). Returns the key and the issuer the
    /// key set belongs to.
    async fn key_for(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<(Arc<RsaKey>, String), VerifyError> {
        let inner = &self.inner;
        let seen_attempts = {
            let st = inner.state.read().unwrap_or_else(PoisonError::into_inner);
            if let (Some(keys), Some(meta)) = (&st.keys, &st.metadata) {
                match keys.select(kid, alg) {
                    crate::jwks::Selection::NotFound => {}
                    other => return jws::selection_result(other).map(|k| (k, meta.issuer.clone())),
                }
            }
            st.attempts
        };
        {
            let _flight = inner.fetch_lock.lock().await;
            let should_fetch = {
                let st = inner.state.read().unwrap_or_else(PoisonError::into_inner);
                // Until a key set has loaded there is nothing to protect from a refetch storm but
                // the IdP itself, so retry sooner (still one request in flight).
                let cooldown = if st.keys.is_none() {
                    inner.config.unknown_kid_cooldown.min(COLD_START_RETRY)
                } else {
                    inner.config.unknown_kid_cooldown
                };
                st.attempts == seen_attempts
                    && st.last_attempt.is_none_or(|t| t.elapsed() >= cooldown)
            };
            if should_fetch {
                // The outcome is recorded in the state; the lookup below decides.
                let _ = self.refresh_locked(false).await;
            }
        }
        let st = inner.state.read().unwrap_or_else(PoisonError::into_inner);
        match (&st.keys, &st.metadata) {
            (Some(keys), Some(meta)) => {
                jws::selection_result(keys.select(kid, alg)).map(|k| (k, meta.issuer.clone()))
            }
            _ if st.last_rejected => Err(VerifyError::MetadataRejected),
            _ => Err(VerifyError::Unavailable),
        }
    }

    /// One refresh attempt; the caller holds `fetch_lock`. Replaces the key set on success,
    /// keeps the last known good one on failure.
    async fn refresh_locked(&self, force_discovery: bool) -> Result<(), VerifyError> {
        let inner = &self.inner;
        let outcome = self.fetch_all(force_discovery).await;
        let mut st = inner.state.write().unwrap_or_else(PoisonError::into_inner);
        st.attempts += 1;
        st.last_attempt = Some(Instant::now());
        match outcome {
            Ok((meta, keys)) => {
                tracing::debug!(keys = keys.usable_count(), "JWKS refreshed");
                metrics::counter!(METRIC_JWKS_REFRESH, "result" => "ok").increment(1);
                st.metadata = Some(meta);
                st.keys = Some(Arc::new(keys));
                st.last_ok = Some(true);
                st.last_error = None;
                st.last_rejected = false;
                Ok(())
            }
            Err(e) => {
                tracing::warn!(
                    error = e.message(),
                    "JWKS refresh failed; keeping the last known good keys"
                );
                metrics::counter!(METRIC_JWKS_REFRESH, "result" => "error").increment(1);
                st.last_ok = Some(false);
                st.last_error = Some(e.message().to_owned());
                st.last_rejected = matches!(e, FetchError::Rejected(_));
                Err(match e {
                    FetchError::Rejected(_) => VerifyError::MetadataRejected,
                    FetchError::Unavailable(_) => VerifyError::Unavailable,
                })
            }
        }
    }

    async fn fetch_metadata(&self) -> Result<Arc<ProviderMetadata>, FetchError> {
        let inner = &self.inner;
        let body = discovery::fetch(
            &inner.http,
            &inner.config.discovery_url(),
            inner.config.fetch_timeout,
        )
        .await?;
        discovery::parse_metadata(&body, &inner.config.issuer_base_url).map(Arc::new)
    }

    async fn fetch_all(
        &self,
        force_discovery: bool,
    ) -> Result<(Arc<ProviderMetadata>, KeySet), FetchError> {
        let inner = &self.inner;
        let cached = {
            let st = inner.state.read().unwrap_or_else(PoisonError::into_inner);
            if force_discovery || st.last_ok == Some(false) {
                None
            } else {
                st.metadata.clone()
            }
        };
        let meta = match cached {
            Some(m) => m,
            None => self.fetch_metadata().await?,
        };
        let body = discovery::fetch(
            &inner.http,
            meta.jwks_uri.as_str(),
            inner.config.fetch_timeout,
        )
        .await?;
        let keys = KeySet::parse(&body, &inner.algorithms)
            .map_err(|e| FetchError::Unavailable(e.message().into()))?;
        if keys.usable_count() == 0 {
            return Err(FetchError::Unavailable(
                "JWKS has no usable signing key".into(),
            ));
        }
        Ok((meta, keys))
    }

    /// Forces a discovery + JWKS refetch now (ignores the cooldown), e.g. after a key
    /// revocation. On success the key set is replaced, so removed keys stop working at once.
    ///
    /// # Errors
    /// [`VerifyError::Unavailable`] when the IdP cannot be reached or serves an unusable
    /// document (the previous keys are kept); [`VerifyError::MetadataRejected`] when the
    /// discovery document contradicts the configuration.
    pub async fn refresh_now(&self) -> Result<(), VerifyError> {
        let _flight = self.inner.fetch_lock.lock().await;
        self.refresh_locked(true).await
    }

    /// The provider's discovery metadata, fetched on first use and then cached.
    ///
    /// # Errors
    /// [`VerifyError::Unavailable`] when it cannot be fetched; [`VerifyError::MetadataRejected`]
    /// when its `issuer` or `jwks_uri` contradicts the configuration.
    pub async fn provider_metadata(&self) -> Result<Arc<ProviderMetadata>, VerifyError> {
        let inner = &self.inner;
        if let Some(m) = inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .metadata
            .clone()
        {
            return Ok(m);
        }
        let _flight = inner.fetch_lock.lock().await;
        if let Some(m) = inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .metadata
            .clone()
        {
            return Ok(m);
        }
        match self.fetch_metadata().await {
            Ok(m) => {
                inner
                    .state
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .metadata = Some(Arc::clone(&m));
                Ok(m)
            }
            Err(FetchError::Rejected(msg)) => {
                tracing::warn!(error = msg.as_str(), "discovery document refused");
                Err(VerifyError::MetadataRejected)
            }
            Err(FetchError::Unavailable(msg)) => {
                tracing::warn!(error = msg.as_str(), "discovery document unavailable");
                Err(VerifyError::Unavailable)
            }
        }
    }

    /// A snapshot of the key cache (no I/O).
    pub fn health(&self) -> JwksHealth {
        let st = self
            .inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        JwksHealth {
            keys: st.keys.as_ref().map_or(0, |k| k.usable_count()),
            last_refresh_ok: st.last_ok,
            last_error: st.last_error.clone(),
        }
    }

    /// Spawns a task that loads the keys at once and then refreshes them every
    /// `refresh_interval` (after a failure: every `unknown_kid_cooldown`, at least 1 s, until
    /// a load succeeds). The task ends by itself once every clone of the verifier is dropped;
    /// abort the handle to stop it earlier.
    pub fn spawn_background_refresh(&self) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                let Some(inner) = weak.upgrade() else { return };
                let verifier = Verifier { inner };
                let ok = {
                    let _flight = verifier.inner.fetch_lock.lock().await;
                    verifier.refresh_locked(true).await.is_ok()
                };
                let cfg = &verifier.inner.config;
                let never_loaded = verifier
                    .inner
                    .state
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .keys
                    .is_none();
                let wait = if ok {
                    cfg.refresh_interval
                } else if never_loaded {
                    cfg.refresh_interval.min(COLD_START_RETRY)
                } else {
                    cfg.refresh_interval
                        .min(cfg.unknown_kid_cooldown.max(Duration::from_secs(1)))
                };
                drop(verifier);
                tokio::time::sleep(wait).await;
            }
        })
    }
}
