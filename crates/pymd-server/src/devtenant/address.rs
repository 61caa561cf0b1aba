//! Where a running dev tenant records its issuer (`{PYMD_DATA_DIR}/dev-tenant.json`), so that
//! `pymd token` finds it when `PYMD_DEV_TENANT_BIND` names port 0. Not a secret: the issuer is
//! public.

use std::path::{Path, PathBuf};

use anyhow::Context;
use url::Url;

fn record_path(data_dir: &Path) -> PathBuf {
    data_dir.join("dev-tenant.json")
}

/// The record of a running dev tenant's address; removed again when dropped (unless another
/// tenant has replaced it meanwhile).
pub struct TenantAddressRecord {
    path: PathBuf,
    contents: String,
}

impl Drop for TenantAddressRecord {
    fn drop(&mut self) {
        if std::fs::read_to_string(&self.path).is_ok_and(|c| c == self.contents) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes `{data_dir}/dev-tenant.json` naming the tenant's issuer (atomically, so a concurrent
/// `pymd token` never reads half a file). A failure is logged, not fatal: only `pymd token`
/// against a port-0 tenant needs the record.
pub fn record(data_dir: &Path, issuer: &str) -> Option<TenantAddressRecord> {
    let path = record_path(data_dir);
    let contents = serde_json::json!({ "issuer": issuer }).to_string();
    let partial = data_dir.join(format!("dev-tenant.json.{}", std::process::id()));
    let written = std::fs::create_dir_all(data_dir)
        .and_then(|()| std::fs::write(&partial, &contents))
        .and_then(|()| std::fs::rename(&partial, &path));
    match written {
        Ok(()) => Some(TenantAddressRecord { path, contents }),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            tracing::warn!(error = %e, path = %path.display(), "could not record the dev tenant's address; `pymd token` will not find it on port 0");
            None
        }
    }
}

/// The issuer a running dev tenant recorded in the data directory.
///
/// # Errors
/// No record (the message says who writes it), or one that names no valid issuer.
pub fn recorded_issuer(data_dir: &Path) -> anyhow::Result<Url> {
    let path = record_path(data_dir);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "PYMD_DEV_TENANT_BIND names port 0, so the dev tenant's address is read from {}, \
             which a running `pymd serve` or `pymd dev-tenant` with the same PYMD_DATA_DIR writes",
            path.display()
        )
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
    let issuer = value
        .get("issuer")
        .and_then(|v| v.as_str())
        .with_context(|| format!("{} names no issuer", path.display()))?;
    Url::parse(issuer).with_context(|| format!("the issuer in {}", path.display()))
}
