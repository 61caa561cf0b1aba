//! Stable ids for what the tenant file names (a leaf module: the sections use it, it uses none).

/// Deterministic Auth0-style id (`prefix` + 16 alphanumerics) derived from a name, so ids
/// are stable across restarts.
pub fn stable_id(prefix: &str, name: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let digest = crate::util::sha256(format!("{prefix}{name}").as_bytes());
    let body: String = digest
        .iter()
        .take(16)
        .map(|b| ALPHABET[(*b as usize) % 62] as char)
        .collect();
    format!("{prefix}{body}")
}
