//! The audit trail (spec §7): each security-relevant event becomes one structured log line and one
//! row in the append-only `audit_events` table, with the caller's IP, user agent and request id
//! (see [`crate::request_meta`]). Values are passed as structured fields, so CRLF,
//! ANSI escapes or quotes in a claim cannot forge a line.

use pymd_storage::NewAuditEvent;

use crate::state::AppState;

/// Records an audit event. A storage failure is logged (the event is still in the log line);
/// it never turns a successful operation into a failed one.
pub async fn record(
    state: &AppState,
    event: &str,
    outcome: &str,
    subject: Option<&str>,
    detail: serde_json::Value,
) {
    let meta = crate::request_meta::current().unwrap_or_default();
    let ip = meta.ip.map(|ip| ip.to_string());
    tracing::info!(
        target: "pymd::audit",
        event,
        outcome,
        subject,
        ip = ip.as_deref(),
        user_agent = meta.user_agent.as_deref(),
        request_id = meta.request_id.as_deref(),
        detail = %detail,
        "audit"
    );
    let row = NewAuditEvent {
        event: event.to_owned(),
        outcome: outcome.to_owned(),
        subject: subject.map(str::to_owned),
        ip,
        user_agent: meta.user_agent,
        request_id: meta.request_id,
        detail,
    };
    if let Err(e) = state.store.record_audit(&row).await {
        tracing::error!(target: "pymd::audit", error = %e, event, "audit event could not be stored");
    }
}
