//! Auth0-format tenant log events (`s`, `f`, `fp`, `fu`, `ss`, `fs`, `slo`, `sertft`,
//! `ferrt`, `seccft`, `feccft`, `limit_wc`, `sv`…), kept in memory for `/__dev/logs` and
//! streamed in batches to a log-stream webhook the way Auth0's custom-webhook stream does.

use std::sync::Mutex as StdMutex;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::config::{ContentFormat, LogStreamConfig};

const MAX_KEPT: usize = 10_000;
const BATCH: usize = 100;

/// Fields of one event; everything optional except the type.
#[derive(Debug, Default, Clone)]
pub struct LogEvent {
    /// Auth0 event type code.
    pub kind: &'static str,
    /// Human description.
    pub description: String,
    /// Client id.
    pub client_id: Option<String>,
    /// Client name.
    pub client_name: Option<String>,
    /// Client IP.
    pub ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// User id.
    pub user_id: Option<String>,
    /// User name (email).
    pub user_name: Option<String>,
    /// Whether the event concerns the database connection.
    pub connection: bool,
    /// Audience.
    pub audience: Option<String>,
    /// Scope.
    pub scope: Option<String>,
    /// Extra details.
    pub details: Option<Value>,
}

/// The in-memory log plus the stream sender.
#[derive(Debug)]
pub struct LogSink {
    kept: StdMutex<Vec<Value>>,
    tx: Option<mpsc::UnboundedSender<Value>>,
    hostname: String,
    connection: (String, String),
    seq: std::sync::atomic::AtomicU64,
}

impl LogSink {
    /// A sink; `tx` is the stream worker's channel when a log stream is configured.
    pub fn new(
        tx: Option<mpsc::UnboundedSender<Value>>,
        hostname: String,
        connection_name: String,
        connection_id: String,
    ) -> LogSink {
        LogSink {
            kept: StdMutex::new(Vec::new()),
            tx,
            hostname,
            connection: (connection_name, connection_id),
            seq: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Records an event at tenant time `now`.
    pub fn emit(&self, now: time::OffsetDateTime, ev: LogEvent) {
        let seq = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Auth0 log ids are 56 digits, increasing; the counter keeps them ordered.
        let log_id = format!(
            "900{:020}{:06}{}",
            now.unix_timestamp_nanos().max(0) as u128 / 1_000,
            seq % 1_000_000,
            crate::util::random_hex(27)
                .chars()
                .map(|c| char::from(b'0' + (c.to_digit(16).unwrap_or(0) % 10) as u8))
                .collect::<String>()
        );
        let mut v = json!({
            "log_id": log_id,
            "date": crate::util::iso_millis(now),
            "type": ev.kind,
            "description": ev.description,
            "hostname": self.hostname,
        });
        let put = |v: &mut Value, k: &str, x: &Option<String>| {
            if let Some(x) = x {
                v[k] = json!(x);
            }
        };
        put(&mut v, "client_id", &ev.client_id);
        put(&mut v, "client_name", &ev.client_name);
        put(&mut v, "ip", &ev.ip);
        put(&mut v, "user_agent", &ev.user_agent);
        put(&mut v, "user_id", &ev.user_id);
        put(&mut v, "user_name", &ev.user_name);
        put(&mut v, "audience", &ev.audience);
        put(&mut v, "scope", &ev.scope);
        if ev.connection {
            v["connection"] = json!(self.connection.0);
            v["connection_id"] = json!(self.connection.1);
            v["strategy"] = json!("auth0");
            v["strategy_type"] = json!("database");
        }
        v["details"] = ev.details.unwrap_or_else(|| json!({}));
        if let Ok(mut kept) = self.kept.lock() {
            kept.push(v.clone());
            if kept.len() > MAX_KEPT {
                let extra = kept.len() - MAX_KEPT;
                kept.drain(..extra);
            }
        }
        if let Some(tx) = &self.tx {
            let _ = tx.send(v);
        }
    }

    /// All kept events, oldest first.
    pub fn all(&self) -> Vec<Value> {
        self.kept.lock().map(|k| k.clone()).unwrap_or_default()
    }
}

/// Streams events to the webhook: batches of up to 100, flushed every second, each batch a
/// JSON array of `{"log_id", "data": event}` (Auth0's custom-webhook payload), retried
/// three times with back-off and then dropped with a warning. Ends when the channel closes
/// (after a final flush), or on `stop`.
pub async fn stream_worker(
    mut rx: mpsc::UnboundedReceiver<Value>,
    streams: Vec<LogStreamConfig>,
    http: reqwest::Client,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let mut buf: Vec<Value> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(ev) => {
                    buf.push(ev);
                    if buf.len() >= BATCH {
                        send_all(&http, &streams, std::mem::take(&mut buf)).await;
                    }
                }
                None => {
                    if !buf.is_empty() {
                        send_all(&http, &streams, std::mem::take(&mut buf)).await;
                    }
                    return;
                }
            },
            _ = &mut stop => {
                while let Ok(ev) = rx.try_recv() {
                    buf.push(ev);
                }
                for chunk in std::mem::take(&mut buf).chunks(BATCH) {
                    send_all(&http, &streams, chunk.to_vec()).await;
                }
                return;
            }
            _ = tick.tick() => {
                if !buf.is_empty() {
                    send_all(&http, &streams, std::mem::take(&mut buf)).await;
                }
            }
        }
    }
}

/// Sends one batch to every stream.
async fn send_all(http: &reqwest::Client, streams: &[LogStreamConfig], events: Vec<Value>) {
    for stream in streams {
        send_batch(http, stream, &events).await;
    }
}

/// The request bodies for a batch, in the stream's format: Auth0 wraps each event as
/// `{"log_id", "data"}`.
fn bodies(format: ContentFormat, events: &[Value]) -> Vec<String> {
    let wrapped: Vec<Value> = events
        .iter()
        .map(|e| json!({"log_id": e.get("log_id").cloned().unwrap_or(Value::Null), "data": e}))
        .collect();
    match format {
        ContentFormat::Array => vec![Value::Array(wrapped).to_string()],
        ContentFormat::Lines => vec![
            wrapped
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        ],
        ContentFormat::Object => wrapped.iter().map(Value::to_string).collect(),
    }
}

async fn send_batch(http: &reqwest::Client, stream: &LogStreamConfig, events: &[Value]) {
    for body in bodies(stream.format, events) {
        send_one(http, stream, body, events.len()).await;
    }
}

/// POSTs one body, retried with backoff; `Authorization` is the configured value as typed.
async fn send_one(http: &reqwest::Client, stream: &LogStreamConfig, body: String, n: usize) {
    let mut delay = Duration::from_millis(200);
    for attempt in 1..=4 {
        let mut req = http
            .post(stream.endpoint.clone())
            .header(reqwest::header::CONTENT_TYPE, &stream.content_type)
            .body(body.clone());
        if let Some(auth) = &stream.authorization {
            req = req.header(reqwest::header::AUTHORIZATION, auth);
        }
        for (k, v) in &stream.custom_headers {
            req = req.header(k, v);
        }
        let res = req.send().await;
        match res {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => {
                tracing::warn!(status = %r.status(), attempt, "log stream webhook refused a batch")
            }
            Err(e) => {
                tracing::warn!(error = %e.without_url(), attempt, "log stream webhook unreachable")
            }
        }
        if attempt < 4 {
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
    tracing::warn!(events = n, "log stream batch dropped after retries");
}
