//! The `logStreams` section: Auth0 log streams. The dev tenant runs the custom-webhook kind
//! (`type: http`) the way Auth0 does: batches of events POSTed to `httpEndpoint`, with
//! `httpAuthorization` sent as the `Authorization` header exactly as typed, in the configured
//! format. Other stream types (Datadog, Splunk…) are accepted and not run.

use serde::Deserialize;

use super::error::{Locator, TenantFileError, k, n};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case, dead_code)] // Auth0's key names; filters and the rest are never read
pub(super) struct FileLogStream {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    sink: Option<yaml_serde::Value>,
    #[serde(default)]
    filters: Option<yaml_serde::Value>,
    #[serde(default)]
    isPriority: Option<yaml_serde::Value>,
    #[serde(default)]
    pii_config: Option<yaml_serde::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)] // Auth0's key names
struct FileHttpSink {
    httpEndpoint: String,
    #[serde(default)]
    httpAuthorization: Option<String>,
    #[serde(default)]
    httpContentFormat: Option<String>,
    #[serde(default)]
    httpContentType: Option<String>,
    #[serde(default)]
    httpCustomHeaders: Vec<FileHeader>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileHeader {
    header: String,
    value: String,
}

/// How a batch is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentFormat {
    /// `JSONARRAY`: one JSON array per batch (Auth0's default).
    Array,
    /// `JSONLINES`: one event per line.
    Lines,
    /// `JSONOBJECT`: one request per event.
    Object,
}

/// A custom-webhook log stream.
#[derive(Clone)]
pub struct LogStreamConfig {
    /// Name.
    pub name: String,
    /// Where batches go.
    pub endpoint: url::Url,
    /// Sent verbatim as `Authorization`.
    pub authorization: Option<String>,
    /// Batch layout.
    pub format: ContentFormat,
    /// `Content-Type` of each request.
    pub content_type: String,
    /// Extra headers.
    pub custom_headers: Vec<(String, String)>,
}

impl std::fmt::Debug for LogStreamConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStreamConfig")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint.as_str())
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// The active `http` streams.
pub(super) fn resolve(
    files: &[FileLogStream],
    loc: &Locator<'_>,
) -> Result<Vec<LogStreamConfig>, TenantFileError> {
    let mut out = Vec::new();
    for (i, s) in files.iter().enumerate() {
        let at = |key: &'static str| [k("logStreams"), n(i), k(key)];
        if s.kind != "http" {
            tracing::warn!(stream = %s.name, kind = %s.kind, "the dev tenant runs only http (custom webhook) log streams; this one is ignored");
            continue;
        }
        if s.status.as_deref().is_some_and(|st| st != "active") {
            continue;
        }
        let Some(sink) = &s.sink else {
            return Err(loc.at(
                &at("type"),
                format!("log stream \"{}\" has no sink", s.name),
            ));
        };
        let sink: FileHttpSink = yaml_serde::from_value(sink.clone())
            .map_err(|e| loc.at(&at("sink"), format!("log stream \"{}\": {e}", s.name)))?;
        let endpoint = url::Url::parse(&sink.httpEndpoint)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                loc.at(
                    &[k("logStreams"), n(i), k("sink"), k("httpEndpoint")],
                    format!("\"{}\" is not an http(s) URL", sink.httpEndpoint),
                )
            })?;
        let format = match sink.httpContentFormat.as_deref() {
            None | Some("JSONARRAY") => ContentFormat::Array,
            Some("JSONLINES") => ContentFormat::Lines,
            Some("JSONOBJECT") => ContentFormat::Object,
            Some(other) => {
                return Err(loc.at(
                    &[k("logStreams"), n(i), k("sink"), k("httpContentFormat")],
                    format!(
                        "unknown httpContentFormat \"{other}\" (JSONARRAY, JSONLINES or JSONOBJECT)"
                    ),
                ));
            }
        };
        out.push(LogStreamConfig {
            name: s.name.clone(),
            endpoint,
            authorization: sink.httpAuthorization.filter(|a| !a.is_empty()),
            format,
            content_type: sink
                .httpContentType
                .unwrap_or_else(|| "application/json".to_string()),
            custom_headers: sink
                .httpCustomHeaders
                .into_iter()
                .map(|h| (h.header, h.value))
                .collect(),
        });
    }
    Ok(out)
}
