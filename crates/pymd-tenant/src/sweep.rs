//! Expiry sweep of the tenant's in-memory data (authorization codes, login transactions, SSO
//! sessions, opaque `/userinfo` tokens, brute-force counters, refresh-token families and their
//! tokens, dev-mailbox mails whose verification link has expired). Every read path already
//! refuses an expired entry; the sweep only reclaims memory. It runs on a timer task owned by
//! the tenant ([`spawn`]), asking each owner to sweep itself under its own lock, judged by the
//! tenant clock (so `/__dev/clock` shifts count).

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::state::Tenant;
use crate::store::ip_throttle::Stage;

/// How often the timer task sweeps.
pub const INTERVAL: Duration = Duration::from_secs(60);

/// What one pass removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Authorization codes past their retention.
    pub codes: usize,
    /// Login transactions past their lifetime.
    pub transactions: usize,
    /// SSO sessions past their absolute or idle lifetime.
    pub sessions: usize,
    /// Opaque `/userinfo` tokens past `exp`.
    pub opaque: usize,
    /// Brute-force counters that have lapsed.
    pub brute: usize,
    /// Refresh-token families revoked or past their lifetimes.
    pub families: usize,
    /// Refresh tokens whose family is gone.
    pub refresh_tokens: usize,
    /// Dev-mailbox mails whose verification link has expired.
    pub mails: usize,
}

/// One pass over every owner.
pub async fn sweep(state: &Tenant) -> Swept {
    let now = state.clock.unix();
    let (families, refresh_tokens) = state
        .refresh
        .sweep(now, |client| {
            state.cfg.client(client).map(|c| &c.refresh_token)
        })
        .await;
    if let Some(t) = &state.cfg.attack_protection.ip_throttling {
        let budgets = |stage| match stage {
            Stage::PreLogin => t.pre_login,
            Stage::PreUserRegistration => t.pre_user_registration,
        };
        state
            .ip_throttle
            .sweep(budgets, state.clock.unix_ms())
            .await;
    }
    Swept {
        codes: state.codes.sweep(now).await,
        transactions: state.transactions.sweep(now).await,
        sessions: state.sessions.sweep(state.session_lifetimes(), now).await,
        opaque: state.opaque.sweep(now).await,
        brute: state.brute_force.sweep(now).await,
        families,
        refresh_tokens,
        mails: state.mailbox.sweep(now).await,
    }
}

/// Starts the timer task; it ends by itself once the tenant is dropped (it holds only a weak
/// reference) and is aborted by `DevTenant::shutdown`.
pub fn spawn(state: &Arc<Tenant>) -> tokio::task::JoinHandle<()> {
    let weak: Weak<Tenant> = Arc::downgrade(state);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate; nothing has expired yet
        loop {
            tick.tick().await;
            let Some(state) = weak.upgrade() else {
                return;
            };
            let swept = sweep(&state).await;
            if swept != Swept::default() {
                tracing::debug!(?swept, "dev tenant swept expired entries");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::DevTenant;
    use crate::test_support::{
        CB, client, exchange, location_params, login, pkce, tenant_with, urlenc,
    };

    #[tokio::test]
    async fn expired_entries_are_swept_from_every_in_memory_map() {
        use crate::store::brute_force::FailedLogins;
        use crate::store::opaque::OpaqueToken;
        use crate::sweep::{Swept, sweep};
        let t = tenant_with(|_| {}).await;
        let c = client();
        // A real login leaves a session, a redeemed code and a refresh-token family…
        let (verifier, challenge) = pkce();
        let (r, _) = login(
            &t,
            &c,
            "alice@example.com",
            "Alice-Dev-2026!",
            &challenge,
            "",
        )
        .await;
        let code = location_params(&r)["code"].clone();
        let web = t.web_client();
        let (status, _) = exchange(
            &t,
            &c,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", web.client_id.as_str()),
                ("client_secret", web.client_secret.as_str()),
                ("code", code.as_str()),
                ("redirect_uri", CB),
                ("code_verifier", verifier.as_str()),
            ],
        )
        .await;
        assert_eq!(status, 200);
        // …an abandoned /authorize leaves a transaction; add a failed-login counter and an opaque
        // /userinfo token.
        let abandoned = c
            .get(format!(
                "{}authorize?response_type=code&client_id={}&redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256",
                t.issuer(),
                web.client_id,
                urlenc(CB)
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(abandoned.status(), 302);
        let now = t.state.clock.unix();
        t.state
            .brute_force
            .set(
                ("bob@example.com".into(), None),
                FailedLogins {
                    count: 3,
                    last: now,
                    in_flight: 0,
                },
            )
            .await;
        t.state
            .opaque
            .insert(
                "opaque-token".into(),
                OpaqueToken {
                    user_id: "auth0|64b1f0c2a1b2c3d4e5f60001".into(),
                    scope: vec!["openid".into()],
                    exp: now + 86_400,
                },
            )
            .await;
        let sizes = |t: &DevTenant| {
            let s = t.state.clone();
            async move {
                let (families, tokens) = s.refresh.len().await;
                [
                    s.codes.len().await,
                    s.transactions.len().await,
                    s.sessions.len().await,
                    s.opaque.len().await,
                    s.brute_force.len().await,
                    families,
                    tokens,
                ]
            }
        };
        assert_eq!(sizes(&t).await, [1, 1, 1, 1, 1, 1, 1]);
        assert_eq!(
            sweep(&t.state).await,
            Swept::default(),
            "nothing is due yet"
        );

        // Two hours on: the code (kept an hour for replay detection) and the transaction are gone.
        t.state.clock.set_offset(2 * 3600);
        let swept = sweep(&t.state).await;
        assert_eq!(
            swept,
            Swept {
                codes: 1,
                transactions: 1,
                ..Swept::default()
            }
        );
        assert_eq!(sizes(&t).await, [0, 0, 1, 1, 1, 1, 1]);

        // 91 days on: past the session, the opaque token, the 30-day brute-force lapse and the
        // refresh family's 90-day absolute lifetime.
        t.state.clock.set_offset(91 * 86_400);
        let swept = sweep(&t.state).await;
        assert_eq!(
            swept,
            Swept {
                sessions: 1,
                opaque: 1,
                brute: 1,
                families: 1,
                refresh_tokens: 1,
                ..Swept::default()
            }
        );
        assert_eq!(sizes(&t).await, [0; 7]);
        t.shutdown().await;
    }

    #[tokio::test]
    async fn a_revoked_refresh_family_is_swept_with_all_its_tokens() {
        use crate::sweep::sweep;
        let t = tenant_with(|_| {}).await;
        let c = client();
        let body: Value = c
            .post(format!("{}__dev/token", t.issuer()))
            .json(&json!({"user": "alice@example.com", "scope": "openid offline_access"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let web = t.web_client();
        let rt = body["refresh_token"].as_str().unwrap().to_string();
        let form = |rt: &str| {
            [
                ("grant_type", "refresh_token".to_string()),
                ("client_id", web.client_id.clone()),
                ("client_secret", web.client_secret.clone()),
                ("refresh_token", rt.to_string()),
            ]
        };
        let url = format!("{}oauth/token", t.issuer());
        let r = c.post(&url).form(&form(&rt)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        // Reuse revokes the family; the sweep then drops it and both of its tokens.
        let r = c.post(&url).form(&form(&rt)).send().await.unwrap();
        assert_eq!(r.status(), 403);
        let swept = sweep(&t.state).await;
        assert_eq!((swept.families, swept.refresh_tokens), (1, 2));
        // Presenting a swept token still gets Auth0's answer.
        let r = c.post(&url).form(&form(&rt)).send().await.unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."})
        );
        t.shutdown().await;
    }
}
