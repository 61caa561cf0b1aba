//! Where a tenant's files come from: a directory on disk (`tenant.yaml`, the Action code files
//! it names, an optional `pymd-dev.yaml`), or memory (the shipped `auth0/` directory, embedded
//! at build time, and the texts tests build).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The shipped tenant-as-code directory (`auth0/` at the repository's root).
const SHIPPED_TENANT: &str = include_str!("../../../../auth0/tenant.yaml");
pub(crate) const SHIPPED_DEV: &str = include_str!("../../../../auth0/pymd-dev.yaml");
const SHIPPED_CODE: &[(&str, &str)] = &[(
    "actions/pymd-post-login/code.js",
    include_str!("../../../../auth0/actions/pymd-post-login/code.js"),
)];

/// A tenant-as-code directory's texts.
#[derive(Debug, Clone)]
pub struct TenantFiles {
    /// `tenant.yaml`.
    pub tenant_yaml: String,
    /// `pymd-dev.yaml`, if present.
    pub dev_yaml: Option<String>,
    base: Base,
}

#[derive(Debug, Clone)]
enum Base {
    Dir(PathBuf),
    Memory(BTreeMap<String, String>),
}

/// A code path as written (`./actions/x/code.js`) in the form the memory base keys.
fn normalise(path: &str) -> String {
    path.trim_start_matches("./").to_string()
}

impl TenantFiles {
    /// The shipped directory.
    pub fn shipped() -> TenantFiles {
        TenantFiles::from_yaml(SHIPPED_TENANT.to_string())
    }

    /// `tenant.yaml` text with the shipped `pymd-dev.yaml` and Action code.
    pub fn from_yaml(tenant_yaml: String) -> TenantFiles {
        TenantFiles {
            tenant_yaml,
            dev_yaml: Some(SHIPPED_DEV.to_string()),
            base: Base::Memory(
                SHIPPED_CODE
                    .iter()
                    .map(|(p, c)| ((*p).to_string(), (*c).to_string()))
                    .collect(),
            ),
        }
    }

    /// The same texts with `pymd-dev.yaml` replaced (`None`: no dev file).
    pub fn with_dev_yaml(mut self, dev_yaml: Option<String>) -> TenantFiles {
        self.dev_yaml = dev_yaml;
        self
    }

    /// The same texts with a code file added (memory bases only; a directory is read as is).
    pub fn with_code(mut self, path: &str, code: &str) -> TenantFiles {
        if let Base::Memory(files) = &mut self.base {
            files.insert(normalise(path), code.to_string());
        }
        self
    }

    /// Reads a directory: `tenant.yaml` (required), `pymd-dev.yaml` (optional); Action code
    /// files are read relative to it when the tenant is parsed.
    ///
    /// # Errors
    /// `tenant.yaml` or `pymd-dev.yaml` cannot be read.
    pub fn read_dir(dir: &Path) -> std::io::Result<TenantFiles> {
        TenantFiles::read_tenant_yaml(&dir.join("tenant.yaml"))
    }

    /// Reads a `tenant.yaml` file; its directory is the base for the rest.
    ///
    /// # Errors
    /// The file (or a `pymd-dev.yaml` beside it) cannot be read.
    pub fn read_tenant_yaml(path: &Path) -> std::io::Result<TenantFiles> {
        let tenant_yaml = std::fs::read_to_string(path)?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let dev_yaml = match std::fs::read_to_string(dir.join(super::DEV_FILE)) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        Ok(TenantFiles {
            tenant_yaml,
            dev_yaml,
            base: Base::Dir(dir),
        })
    }

    /// A code file named in `tenant.yaml`.
    pub(super) fn read(&self, path: &str) -> Result<String, String> {
        match &self.base {
            Base::Dir(dir) => {
                let full = dir.join(path);
                std::fs::read_to_string(&full).map_err(|e| format!("{}: {e}", full.display()))
            }
            Base::Memory(files) => files
                .get(&normalise(path))
                .cloned()
                .ok_or_else(|| format!("{path}: no such file")),
        }
    }
}
