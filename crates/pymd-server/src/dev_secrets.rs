//! Development secrets kept in the data directory (`secrets.json`, mode 0600), so that cookies
//! and webhooks survive restarts when `AUTH0_SECRET` / `INTERNAL_API_TOKEN` are not set. Never
//! used with `PYMD_ENV=production`, where both variables are required.

use std::path::Path;

use anyhow::Context;
use secrecy::SecretString;

/// The two secrets a development `pymd serve` may make up.
pub struct DevSecrets {
    /// Stands in for `AUTH0_SECRET`.
    pub auth0_secret: SecretString,
    /// Stands in for `INTERNAL_API_TOKEN`.
    pub internal_api_token: SecretString,
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Reads `secrets.json` from the data directory, creating it (mode 0600) with fresh random
/// values when missing.
///
/// # Errors
/// I/O errors, or a file that is not ours.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<DevSecrets> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let path = data_dir.join("secrets.json");
    let value: serde_json::Value = match std::fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).with_context(|| format!("reading {}", path.display()))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let value = serde_json::json!({
                "auth0_secret": random_hex(32),
                "internal_api_token": random_hex(32),
            });
            write_private(&path, value.to_string().as_bytes())?;
            value
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let field = |name: &str| -> anyhow::Result<SecretString> {
        value
            .get(name)
            .and_then(|v| v.as_str())
            .map(|s| SecretString::from(s.to_owned()))
            .with_context(|| format!("{} lacks {name}", path.display()))
    };
    Ok(DevSecrets {
        auth0_secret: field("auth0_secret")?,
        internal_api_token: field("internal_api_token")?,
    })
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}
