//! The `attackProtection` section: brute-force protection (mode, attempts, allow-list) and
//! breached-password detection.

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
    suspiciousIpThrottling: Ignored,
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
    Ok(AttackProtectionConfig {
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
