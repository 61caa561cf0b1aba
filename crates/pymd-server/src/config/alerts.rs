//! The alerts area: the suspicious-login alert of spec §8 (one user signing in from many IPs
//! within minutes) and the webhook it is also posted to.

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;

use super::reader::Reader;

/// The suspicious-login alert of spec §8: one user signing in from many IPs within minutes.
#[derive(Clone)]
pub struct Alerts {
    /// Distinct client IPs for one user within the window that raise the alert
    /// (`PYMD_ALERT_DISTINCT_IPS`, default 5, at least 2).
    pub distinct_ips: u64,
    /// The window (`PYMD_ALERT_WINDOW_MINUTES`, default 10).
    pub window: Duration,
    /// Where alerts are also POSTed as JSON (`PYMD_ALERT_WEBHOOK`, optional absolute http(s)
    /// URL). Held as a secret: chat and incident webhooks carry their token in the URL.
    pub webhook: Option<SecretString>,
}

impl Default for Alerts {
    fn default() -> Self {
        Self {
            distinct_ips: 5,
            window: Duration::from_secs(10 * 60),
            webhook: None,
        }
    }
}

impl fmt::Debug for Alerts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Alerts")
            .field("distinct_ips", &self.distinct_ips)
            .field("window", &self.window)
            .field(
                "webhook",
                &if self.webhook.is_some() {
                    "[redacted]"
                } else {
                    "None"
                },
            )
            .finish()
    }
}

pub(super) fn read(r: &mut Reader<'_>) -> Alerts {
    let defaults = Alerts::default();
    let window = Duration::from_secs(
        r.positive("PYMD_ALERT_WINDOW_MINUTES", defaults.window.as_secs() / 60)
            .saturating_mul(60),
    );
    let distinct_ips: u64 = r.parse(
        "PYMD_ALERT_DISTINCT_IPS",
        defaults.distinct_ips,
        "a whole number of at least 2",
    );
    if distinct_ips < 2 {
        r.problem(
            "PYMD_ALERT_DISTINCT_IPS",
            "must be at least 2 (one IP is every sign-in, and the alert cannot be switched off)",
        );
    }
    Alerts {
        distinct_ips: distinct_ips.max(2),
        window,
        webhook: r
            .url("PYMD_ALERT_WEBHOOK")
            .map(|u| SecretString::from(String::from(u))),
    }
}
