//! The `attackProtection` section: brute-force protection (mode, attempts, allow-list),
//! breached-password detection and suspicious-IP throttling (per-IP budgets for failed logins
//! and for sign-ups).

use serde::Deserialize;

use super::database::DatabaseConfig;
use super::error::{Locator, TenantFileError, k};
use super::shape::Ignored;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case, dead_code)] // Deploy CLI key names; the `Ignored` keys are never read
pub(super) struct FileAttackProtection {
    #[serde(default)]
    bruteForceProtection: Option<FileBruteForce>,
    #[serde(default)]
    breachedPasswordDetection: Option<FileBreached>,
    #[serde(default)]
    suspiciousIpThrottling: Option<FileIpThrottling>,
    #[serde(default)]
    botDetection: Ignored,
    #[serde(default)]
    captcha: Ignored,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBruteForce {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    shields: Vec<String>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    max_attempts: Option<u32>,
    #[serde(default)]
    allowlist: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the `Ignored` keys are never read
struct FileBreached {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    shields: Vec<String>,
    #[serde(default)]
    admin_notification_frequency: Ignored,
    #[serde(default)]
    method: Ignored,
    #[serde(default)]
    stage: Ignored,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIpThrottling {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    shields: Vec<String>,
    #[serde(default)]
    allowlist: Vec<String>,
    #[serde(default)]
    stage: Option<FileStages>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStages {
    #[serde(default, rename = "pre-login")]
    pre_login: Option<FileStage>,
    #[serde(default, rename = "pre-user-registration")]
    pre_user_registration: Option<FileStage>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStage {
    #[serde(default)]
    max_attempts: Option<u32>,
    #[serde(default)]
    rate: Option<u64>,
}

/// One stage's budget: up to `max_attempts` at once, one more every `rate_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpBudget {
    /// Bucket size.
    pub max_attempts: u32,
    /// Milliseconds to earn one attempt back.
    pub rate_ms: u64,
}

/// Suspicious-IP throttling, when on with the `block` shield.
#[derive(Debug, Clone)]
pub struct IpThrottlingConfig {
    /// Failed logins from one IP, across accounts (Auth0 default: 100, one back per 864 s).
    pub pre_login: IpBudget,
    /// Sign-ups from one IP (Auth0 default: 50, one back per 1.2 s).
    pub pre_user_registration: IpBudget,
    /// IPs (or CIDR-free addresses) never throttled.
    pub allowlist: Vec<String>,
}

/// Attack protection.
#[derive(Debug, Clone)]
pub struct AttackProtectionConfig {
    /// Brute-force protection on.
    pub brute_force_enabled: bool,
    /// Failures per (identifier, IP) before blocking.
    pub max_attempts: u32,
    /// `count_per_identifier_and_ip` (default) or `count_per_identifier`.
    pub per_identifier_only: bool,
    /// IPs exempt from blocking.
    pub allowlist: Vec<String>,
    /// Breached-password detection on (with the `block` shield).
    pub breached_password_block: bool,
    /// Suspicious-IP throttling (`None`: off, or no `block` shield).
    pub ip_throttling: Option<IpThrottlingConfig>,
}

/// Resolves the `attackProtection` section. Brute-force protection is on unless switched
/// off here, stripped of its `block` shield, or switched off on the database connection.
pub(super) fn resolve(
    ap: Option<&FileAttackProtection>,
    database: &DatabaseConfig,
    loc: &Locator<'_>,
) -> Result<AttackProtectionConfig, TenantFileError> {
    let bf = ap.and_then(|a| a.bruteForceProtection.as_ref());
    let mode = bf
        .and_then(|b| b.mode.as_deref())
        .unwrap_or("count_per_identifier_and_ip");
    if !["count_per_identifier_and_ip", "count_per_identifier"].contains(&mode) {
        return Err(loc.at(
            &[k("attackProtection"), k("bruteForceProtection"), k("mode")],
            format!("unknown brute-force mode \"{mode}\""),
        ));
    }
    let max_attempts = bf.and_then(|b| b.max_attempts).unwrap_or(10);
    if !(1..=100).contains(&max_attempts) {
        return Err(loc.at(
            &[
                k("attackProtection"),
                k("bruteForceProtection"),
                k("max_attempts"),
            ],
            "max_attempts must be between 1 and 100",
        ));
    }
    let breached = ap.and_then(|a| a.breachedPasswordDetection.as_ref());
    let ip_throttling = ip_throttling(ap.and_then(|a| a.suspiciousIpThrottling.as_ref()), loc)?;
    Ok(AttackProtectionConfig {
        ip_throttling,
        brute_force_enabled: bf.and_then(|b| b.enabled).unwrap_or(true)
            && bf
                .map(|b| b.shields.is_empty() || b.shields.iter().any(|s| s == "block"))
                .unwrap_or(true)
            && database.brute_force_protection,
        max_attempts,
        per_identifier_only: mode == "count_per_identifier",
        allowlist: bf.map(|b| b.allowlist.clone()).unwrap_or_default(),
        breached_password_block: breached.and_then(|b| b.enabled).unwrap_or(false)
            && breached
                .map(|b| b.shields.iter().any(|s| s == "block"))
                .unwrap_or(false),
    })
}

/// Auth0's stage defaults, checked: a budget of 1–10000 attempts, a rate of at least 1 ms.
fn ip_throttling(
    t: Option<&FileIpThrottling>,
    loc: &Locator<'_>,
) -> Result<Option<IpThrottlingConfig>, TenantFileError> {
    let Some(t) = t else {
        return Ok(None);
    };
    let blocks = t.shields.is_empty() || t.shields.iter().any(|s| s == "block");
    if !t.enabled.unwrap_or(true) || !blocks {
        return Ok(None);
    }
    let stage = |f: Option<&FileStage>, name: &'static str, max: u32, rate: u64| {
        let budget = IpBudget {
            max_attempts: f.and_then(|s| s.max_attempts).unwrap_or(max),
            rate_ms: f.and_then(|s| s.rate).unwrap_or(rate),
        };
        if !(1..=10_000).contains(&budget.max_attempts) || budget.rate_ms == 0 {
            return Err(loc.at(
                &[
                    k("attackProtection"),
                    k("suspiciousIpThrottling"),
                    k("stage"),
                    k(name),
                ],
                "max_attempts must be 1–10000 and rate at least 1 (milliseconds)",
            ));
        }
        Ok(budget)
    };
    let stages = t.stage.as_ref();
    Ok(Some(IpThrottlingConfig {
        pre_login: stage(
            stages.and_then(|s| s.pre_login.as_ref()),
            "pre-login",
            100,
            864_000,
        )?,
        pre_user_registration: stage(
            stages.and_then(|s| s.pre_user_registration.as_ref()),
            "pre-user-registration",
            50,
            1_200,
        )?,
        allowlist: t.allowlist.clone(),
    }))
}
