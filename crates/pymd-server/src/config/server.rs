//! The process area: which environment, where to listen, where data lives, how to log, and the
//! tenant file the dev tenant runs with (`PYMD_ENV`, `PYMD_BIND`, `PYMD_DEV_TENANT_BIND`,
//! `PYMD_DATA_DIR`, `PYMD_LOG_FORMAT`, `PYMD_TENANT_FILE`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::reader::Reader;

/// `development` or `production`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The process area, as read.
pub(super) struct Server {
    pub environment: Environment,
    pub bind: SocketAddr,
    pub dev_tenant_bind: SocketAddr,
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    pub tenant_file: Option<PathBuf>,
    pub tenant_keywords: BTreeMap<String, String>,
    pub dev_allow_remote: bool,
    pub metrics_bind: Option<SocketAddr>,
}

pub(super) fn read(r: &mut Reader<'_>) -> Server {
    let environment = match r.raw("PYMD_ENV") {
        None | Some("development") => Environment::Development,
        Some("production") => Environment::Production,
        Some(_) => {
            r.problem("PYMD_ENV", "must be development or production");
            Environment::Development
        }
    };
    let bind = r.parse(
        "PYMD_BIND",
        SocketAddr::from(([127, 0, 0, 1], 3000)),
        "an address like 127.0.0.1:3000",
    );
    let dev_tenant_bind = r.parse(
        "PYMD_DEV_TENANT_BIND",
        SocketAddr::from(([127, 0, 0, 1], 3001)),
        "an address like 127.0.0.1:3001",
    );
    let log_format = match r.raw("PYMD_LOG_FORMAT") {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(_) => {
            r.problem("PYMD_LOG_FORMAT", "must be text or json");
            LogFormat::Text
        }
    };
    Server {
        environment,
        bind,
        dev_tenant_bind,
        data_dir: PathBuf::from(r.raw("PYMD_DATA_DIR").unwrap_or("./.pymd")),
        log_format,
        tenant_file: r.raw("PYMD_TENANT_FILE").map(PathBuf::from),
        tenant_keywords: keyword_mappings(r),
        dev_allow_remote: r.flag("PYMD_DEV_ALLOW_REMOTE", false),
        metrics_bind: r.raw("PYMD_METRICS_BIND").is_some().then(|| {
            r.parse(
                "PYMD_METRICS_BIND",
                SocketAddr::from(([127, 0, 0, 1], 9100)),
                "an address like 127.0.0.1:9100",
            )
        }),
    }
}

/// `AUTH0_KEYWORD_REPLACE_MAPPINGS`, as the Deploy CLI reads it: a JSON object of strings. The
/// dev tenant replaces `##NAME##` in the tenant directory with these values.
fn keyword_mappings(r: &mut Reader<'_>) -> BTreeMap<String, String> {
    let Some(raw) = r.raw("AUTH0_KEYWORD_REPLACE_MAPPINGS") else {
        return BTreeMap::new();
    };
    match serde_json::from_str::<BTreeMap<String, serde_json::Value>>(raw) {
        Ok(map) => map
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect(),
        Err(_) => {
            r.problem(
                "AUTH0_KEYWORD_REPLACE_MAPPINGS",
                "must be a JSON object, e.g. {\"M2M_CLIENT_ID\": \"…\"}",
            );
            BTreeMap::new()
        }
    }
}
