//! The IdP's log stream (Auth0 Log Streams, custom webhook): a batch of log events, each
//! counted in metrics and audited as `auth0_{type}`; failed logins feed the brute-force block
//! ([`crate::limits::record_failed_login`]) and successful ones the suspicious-login alert
//! ([`crate::alerts::record_login`]).
//!
//! Parsing is lenient the way Auth0's stream needs: a batch is a JSON array or
//! newline-delimited JSON; an event is `{"log_id", "data": {…}}` or (from the dev tenant) the
//! bare `{…}`; anything that is not an object, or has no string `type`, is skipped; a field of
//! an unexpected JSON type reads as absent.

use std::fmt;
use std::marker::PhantomData;
use std::net::IpAddr;

use serde::de::value::MapAccessDeserializer;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{ServiceError, ServiceResult};
use crate::audit::{self, Event, IdpLogEntry};
use crate::state::AppState;

/// One log event, with the fields PyMD reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct LogData {
    /// Auth0's event type code: `s` success, `f`/`fp`/`fu` failed login, …
    #[serde(rename = "type", default, deserialize_with = "text")]
    pub kind: Option<String>,
    /// The client's IP address, as Auth0 writes it.
    #[serde(default, deserialize_with = "text")]
    pub ip: Option<String>,
    /// The IdP user id (`sub`).
    #[serde(default, deserialize_with = "text")]
    pub user_id: Option<String>,
    /// The login name (an email) typed at the login page.
    #[serde(default, deserialize_with = "text")]
    pub user_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub client_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub description: Option<String>,
}

/// One delivered event: Auth0's `log_id` (a re-delivery repeats it) and its data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogEvent {
    pub log_id: Option<String>,
    pub data: LogData,
}

impl LogData {
    /// The client IP, when it is a valid address.
    fn client_ip(&self) -> Option<IpAddr> {
        self.ip.as_deref().and_then(|ip| ip.parse().ok())
    }
}

/// Reads a batch: a JSON array of events, else newline-delimited JSON (blank lines ignored).
/// Elements that are not objects are dropped.
///
/// # Errors
/// [`ServiceError::MalformedLogBatch`] when the body is neither.
pub fn parse_batch(body: &[u8]) -> ServiceResult<Vec<LogEvent>> {
    let elements = match serde_json::from_slice::<Vec<Element>>(body) {
        Ok(elements) => elements,
        Err(_) => body
            .split(|b| *b == b'\n')
            .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
            .map(serde_json::from_slice::<Element>)
            .collect::<Result<_, _>>()
            .map_err(|_| ServiceError::MalformedLogBatch)?,
    };
    Ok(elements.into_iter().filter_map(Element::event).collect())
}

/// Counts, audits and acts on each event of a batch. Returns how many were accepted (had a
/// type). Never fails: a storage problem is logged by [`audit::record`].
pub async fn ingest(state: &AppState, events: &[LogEvent]) -> usize {
    let mut accepted = 0;
    for event in events {
        if ingest_one(state, event).await {
            accepted += 1;
        }
    }
    accepted
}

/// Auth0 log event types PyMD names in its metric; any other type is counted as `other`, so a
/// label never comes from the sender.
const KNOWN_TYPES: &[&str] = &[
    "s",
    "ssa",
    "f",
    "fp",
    "fu",
    "fsa",
    "fs",
    "ss",
    "slo",
    "flo",
    "sv",
    "fv",
    "scp",
    "fcp",
    "scpr",
    "fcpr",
    "sce",
    "fce",
    "sapi",
    "fapi",
    "seccft",
    "feccft",
    "sertft",
    "ferrt",
    "limit_wc",
    "limit_mu",
    "limit_sul",
    "pwd_leak",
    "du",
    "sdu",
    "fdu",
    "w",
    "depnote",
    "sd",
    "fd",
    "api_limit",
    "gd_auth_succeed",
    "gd_auth_failed",
    "mfar",
];

fn type_label(kind: &str) -> &'static str {
    KNOWN_TYPES
        .iter()
        .find(|k| **k == kind)
        .copied()
        .unwrap_or("other")
}

async fn ingest_one(state: &AppState, event: &LogEvent) -> bool {
    let data = &event.data;
    let Some(kind) = data.kind.as_deref() else {
        return false;
    };
    // Auth0 may deliver a batch again: an event already taken (by `log_id`) changes nothing —
    // no metric, no audit row, no failed-login count.
    if let Some(id) = event.log_id.as_deref()
        && crate::limits::seen_log_event(state, id).await
    {
        return false;
    }
    metrics::counter!("pymd_auth0_log_events_total", "type" => type_label(kind)).increment(1);
    if matches!(kind, "f" | "fp" | "fu") {
        metrics::counter!("pymd_failed_logins_total").increment(1);
        // Failed logins per email: enough of them block the IP they came from (spec §7).
        if let Some(email) = data.user_name.as_deref() {
            crate::limits::record_failed_login(state, email, data.client_ip()).await;
        }
    }
    let subject = data.user_id.as_deref();
    if kind == "s"
        && let Some(user_id) = subject
    {
        crate::alerts::record_login(state, user_id, data.client_ip()).await;
    }
    let entry = IdpLogEntry {
        kind: kind.to_owned(),
        ip: data.ip.clone(),
        user_name: data.user_name.clone(),
        client_id: data.client_id.clone(),
        description: data.description.clone(),
    };
    audit::record(state, Event::IdpLog(entry), subject).await;
    true
}

/// One element of a batch: an object (an event), or anything else (skipped).
#[derive(Deserialize)]
#[serde(untagged)]
enum Element {
    Object(Box<ObjectOnly<RawEvent>>),
    Other(IgnoredAny),
}

impl Element {
    fn event(self) -> Option<LogEvent> {
        match self {
            Element::Object(object) => {
                let ObjectOnly(raw) = *object;
                Some(LogEvent {
                    log_id: raw.log_id,
                    // Auth0 wraps the event in `data`; the dev tenant may send it bare.
                    data: raw.data.unwrap_or(raw.bare),
                })
            }
            Element::Other(_) => None,
        }
    }
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(default, deserialize_with = "text")]
    log_id: Option<String>,
    /// Present (even as a non-object, which has no type) means "wrapped".
    #[serde(default, deserialize_with = "wrapped")]
    data: Option<LogData>,
    #[serde(flatten)]
    bare: LogData,
}

/// A string, or `None` for any other JSON value.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        Text(String),
        Other(IgnoredAny),
    }
    Ok(match Text::deserialize(d)? {
        Text::Text(s) => Some(s),
        Text::Other(_) => None,
    })
}

/// The `data` member: its fields when it is an object, an empty (type-less) event otherwise.
fn wrapped<'de, D: Deserializer<'de>>(d: D) -> Result<Option<LogData>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wrapped {
        Object(ObjectOnly<LogData>),
        Other(IgnoredAny),
    }
    Ok(Some(match Wrapped::deserialize(d)? {
        Wrapped::Object(ObjectOnly(data)) => data,
        Wrapped::Other(_) => LogData::default(),
    }))
}

/// `T` read from a JSON object only (serde's derived structs would also accept an array).
struct ObjectOnly<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = ObjectOnly<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(ObjectOnly)
            }
        }
        d.deserialize_map(ObjectVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(body: &str) -> Vec<Option<String>> {
        parse_batch(body.as_bytes())
            .unwrap()
            .into_iter()
            .map(|e| e.data.kind)
            .collect()
    }

    #[test]
    fn wrapped_and_bare_events_are_read() {
        let batch = parse_batch(
            br#"[{"log_id":"1","data":{"type":"fp","user_name":"a@example.com","ip":"192.0.2.1"}},
                 {"type":"s","user_id":"auth0|u","log_id":"2"}]"#,
        )
        .unwrap();
        assert_eq!(batch.len(), 2);
        assert_eq!(batch[0].log_id.as_deref(), Some("1"));
        assert_eq!(batch[0].data.kind.as_deref(), Some("fp"));
        assert_eq!(batch[0].data.user_name.as_deref(), Some("a@example.com"));
        assert_eq!(
            batch[0].data.client_ip(),
            Some("192.0.2.1".parse().unwrap())
        );
        assert_eq!(batch[1].log_id.as_deref(), Some("2"));
        assert_eq!(batch[1].data.user_id.as_deref(), Some("auth0|u"));
    }

    #[test]
    fn newline_delimited_json_is_read() {
        assert_eq!(
            kinds("{\"data\":{\"type\":\"s\"}}\n\n  \n{\"type\":\"f\"}\n"),
            [Some("s".to_owned()), Some("f".to_owned())]
        );
    }

    #[test]
    fn a_body_that_is_neither_is_refused() {
        for body in ["not json", "{\"type\":\"s\"}\n{", "[1,"] {
            assert!(
                matches!(
                    parse_batch(body.as_bytes()),
                    Err(ServiceError::MalformedLogBatch)
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn non_objects_and_odd_fields_are_skipped_not_refused() {
        let body = r#"[1, "s", null, ["s"], {"data": 5, "type": "s"}, {"data": null, "type": "s"},
            {"data": ["s"]}, {"type": 7}, {"data": {"type": "f", "ip": 12}}]"#;
        assert_eq!(kinds(body), [None, None, None, None, Some("f".to_owned())]);
        let last = parse_batch(body.as_bytes()).unwrap().pop().unwrap();
        assert_eq!(last.data.ip, None);
    }
}
