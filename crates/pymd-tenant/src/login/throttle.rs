//! Suspicious-IP throttling at the two stages Auth0 applies it: before a login (an IP that
//! failed too many logins, across accounts) and before a sign-up (an IP that signed up too many
//! accounts). An allow-listed IP, or a tenant without the `block` shield, is never throttled.

use std::net::IpAddr;

use crate::config::IpBudget;
use crate::extract::Caller;
use crate::state::AppState;
use crate::store::ip_throttle::Stage;

/// What Auth0 shows a throttled IP.
pub const SUSPICIOUS: &str = "We have detected suspicious login behavior and further attempts will be blocked. Please contact the administrator.";

/// The caller's IP and budget at `stage`, unless it is not throttled.
fn budget(state: &AppState, stage: Stage, caller: &Caller) -> Option<(IpAddr, IpBudget)> {
    let t = state.cfg.attack_protection.ip_throttling.as_ref()?;
    let ip = caller.ip?;
    if t.allowlist.iter().any(|a| a == &ip.to_string()) {
        return None;
    }
    let budget = match stage {
        Stage::PreLogin => t.pre_login,
        Stage::PreUserRegistration => t.pre_user_registration,
    };
    Some((ip, budget))
}

/// Whether the caller may try `stage` now.
pub async fn allowed(state: &AppState, stage: Stage, caller: &Caller) -> bool {
    match budget(state, stage, caller) {
        Some((ip, b)) => {
            state
                .ip_throttle
                .allows(stage, ip, b, state.clock.unix_ms())
                .await
        }
        None => true,
    }
}

/// Spends one of the caller's attempts at `stage`; `true` when that emptied its budget.
pub async fn spend(state: &AppState, stage: Stage, caller: &Caller) -> bool {
    match budget(state, stage, caller) {
        Some((ip, b)) => {
            state
                .ip_throttle
                .spend(stage, ip, b, state.clock.unix_ms())
                .await
        }
        None => false,
    }
}
