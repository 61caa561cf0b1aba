//! Suspicious-IP throttling's budgets: one token bucket per (stage, IP) — `max_attempts`
//! tokens, one earned back every `rate_ms` — drawn down by failed logins (pre-login) or by
//! sign-ups (pre-user-registration). An IP with an empty bucket is refused at that stage until
//! it earns a token back.

use std::collections::HashMap;
use std::net::IpAddr;

use tokio::sync::Mutex;

use crate::config::IpBudget;

/// Which budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Failed logins, across accounts.
    PreLogin,
    /// Sign-ups.
    PreUserRegistration,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at_ms: i64,
}

/// The buckets, keyed by stage and IP.
#[derive(Debug, Default)]
pub struct IpThrottle {
    buckets: Mutex<HashMap<(Stage, IpAddr), Bucket>>,
}

impl Bucket {
    fn full(budget: IpBudget, now_ms: i64) -> Bucket {
        Bucket {
            tokens: f64::from(budget.max_attempts),
            at_ms: now_ms,
        }
    }

    /// Earns back what the time since the last update is worth, up to the bucket size.
    fn refill(&mut self, budget: IpBudget, now_ms: i64) {
        let earned = (now_ms - self.at_ms).max(0) as f64 / budget.rate_ms as f64;
        self.tokens = (self.tokens + earned).min(f64::from(budget.max_attempts));
        self.at_ms = now_ms;
    }
}

impl IpThrottle {
    /// Whether `ip` still has an attempt left at `stage` (nothing is spent).
    pub async fn allows(&self, stage: Stage, ip: IpAddr, budget: IpBudget, now_ms: i64) -> bool {
        let mut buckets = self.buckets.lock().await;
        match buckets.get_mut(&(stage, ip)) {
            Some(b) => {
                b.refill(budget, now_ms);
                b.tokens >= 1.0
            }
            None => true,
        }
    }

    /// Spends one attempt of `ip` at `stage`; returns whether the bucket is now empty (the
    /// moment Auth0 logs `limit_mu`).
    pub async fn spend(&self, stage: Stage, ip: IpAddr, budget: IpBudget, now_ms: i64) -> bool {
        let mut buckets = self.buckets.lock().await;
        let b = buckets
            .entry((stage, ip))
            .or_insert_with(|| Bucket::full(budget, now_ms));
        b.refill(budget, now_ms);
        b.tokens = (b.tokens - 1.0).max(0.0);
        b.tokens < 1.0
    }

    /// Forgets buckets that are full again (they behave as absent ones).
    pub async fn sweep(&self, budgets: impl Fn(Stage) -> IpBudget, now_ms: i64) {
        let mut buckets = self.buckets.lock().await;
        buckets.retain(|(stage, _), b| {
            let budget = budgets(*stage);
            b.refill(budget, now_ms);
            b.tokens < f64::from(budget.max_attempts)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: IpBudget = IpBudget {
        max_attempts: 3,
        rate_ms: 1000,
    };

    #[tokio::test]
    async fn a_bucket_empties_after_its_size_and_earns_attempts_back_over_time() {
        let t = IpThrottle::default();
        let ip: IpAddr = [10, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 2].into();
        assert!(!t.spend(Stage::PreLogin, ip, BUDGET, 0).await);
        assert!(!t.spend(Stage::PreLogin, ip, BUDGET, 0).await);
        assert!(
            t.spend(Stage::PreLogin, ip, BUDGET, 0).await,
            "the third empties it"
        );
        assert!(!t.allows(Stage::PreLogin, ip, BUDGET, 999).await);
        assert!(t.allows(Stage::PreLogin, other, BUDGET, 0).await, "per IP");
        assert!(
            t.allows(Stage::PreUserRegistration, ip, BUDGET, 0).await,
            "per stage"
        );
        assert!(
            t.allows(Stage::PreLogin, ip, BUDGET, 1000).await,
            "one earned back"
        );
        t.sweep(|_| BUDGET, 10_000).await;
        assert!(
            t.buckets.lock().await.is_empty(),
            "full buckets are forgotten"
        );
    }
}
