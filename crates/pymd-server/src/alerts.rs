//! The suspicious-login alert of spec §8: one user signing in from many client IPs within
//! minutes.
//!
//! Every successful login (the web callback, and the IdP's log stream for hosted logins) is
//! passed to [`record_login`]. The distinct IPs of one user are counted over
//! `PYMD_ALERT_WINDOW_MINUTES` in the shared counters of [`pymd_limits::Limiter`] (Redis when
//! configured, so every instance adds to the same count):
//!
//! - a (user, IP) pair counts once per window: its own one-hit limit, so a repeated IP (or two
//!   logins from it at the same time, on two instances) is only "new" on its first hit;
//! - each new pair is one hit on the user's counter, and the hit that reaches
//!   `PYMD_ALERT_DISTINCT_IPS` raises the alert, once per window (later ones are past it).
//!
//! The alert is a `warn` log line with `alert = "suspicious_login"`, the audit event
//! `suspicious_login`, `pymd_alerts_total{alert="suspicious_login"}`, and when
//! `PYMD_ALERT_WEBHOOK` is set a JSON POST to it, sent in the background with a bounded timeout:
//! a slow or failing webhook is logged, and never delays or fails the login.

use std::net::IpAddr;
use std::time::Duration;

use pymd_limits::{Decision, Limit};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::audit::Event;
use crate::state::AppState;

/// The metric every alert counts in.
pub const METRIC_ALERTS: &str = "pymd_alerts_total";
/// The name of this alert (log field, metric label, audit event, webhook body).
pub const SUSPICIOUS_LOGIN: &str = "suspicious_login";
/// How long one webhook delivery may take.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// Counts a successful login of `subject` (the IdP user id) from `ip`; raises the
/// suspicious-login alert when this login brings the user's distinct IPs in the window to the
/// threshold. Without an IP there is nothing to count. Never fails.
pub async fn record_login(state: &AppState, subject: &str, ip: Option<IpAddr>) {
    let Some(ip) = ip else {
        return;
    };
    // An IPv4-mapped IPv6 address is the same client as its IPv4 form.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    let alerts = &state.config.alerts;
    let window = alerts.window;
    let pair = Limit {
        name: "alert_login_ip",
        max: 1,
        window,
    };
    // Only the first hit of a pair in its window is within its one-hit limit.
    let pair_key = format!("{subject}|{ip}");
    if !matches!(
        state.limiter.check(&pair, &pair_key).await,
        Decision::Allowed { .. }
    ) {
        return;
    }
    let user = Limit {
        name: "alert_login_ips",
        max: alerts.distinct_ips,
        window,
    };
    // `remaining == 0` is exactly the hit that reaches the threshold; later ones are `Limited`.
    if state.limiter.check(&user, subject).await != (Decision::Allowed { remaining: 0 }) {
        return;
    }
    raise(state, subject, ip).await;
}

async fn raise(state: &AppState, subject: &str, ip: IpAddr) {
    let alerts = &state.config.alerts;
    let minutes = alerts.window.as_secs() / 60;
    let count = alerts.distinct_ips;
    metrics::counter!(METRIC_ALERTS, "alert" => SUSPICIOUS_LOGIN).increment(1);
    tracing::warn!(
        alert = SUSPICIOUS_LOGIN,
        subject,
        ip = %ip,
        distinct_ips = count,
        window_minutes = minutes,
        "one user signed in from many IPs within minutes"
    );
    let event = Event::SuspiciousLogin {
        distinct_ips: count,
        window_minutes: minutes,
        ip,
    };
    crate::audit::record(state, event, Some(subject)).await;
    if let Some(webhook) = &alerts.webhook {
        let body = json!({
            "alert": SUSPICIOUS_LOGIN,
            "subject": subject,
            "ip": ip.to_string(),
            "distinct_ips": count,
            "window_minutes": minutes,
            "at": pymd_domain::now()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        });
        send_webhook(state.http.clone(), webhook.expose_secret().to_owned(), body);
    }
}

/// Posts an alert to the webhook in the background; a refusal or failure is logged (without
/// the URL, which may carry a token).
fn send_webhook(http: reqwest::Client, url: String, body: serde_json::Value) {
    tokio::spawn(async move {
        let sent = http
            .post(&url)
            .timeout(WEBHOOK_TIMEOUT)
            .json(&body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => {
                tracing::warn!(
                    alert = SUSPICIOUS_LOGIN,
                    status = r.status().as_u16(),
                    "alert webhook refused the alert"
                );
            }
            Err(e) => {
                tracing::warn!(alert = SUSPICIOUS_LOGIN, error = %e.without_url(), "alert webhook could not be reached");
            }
        }
    });
}
