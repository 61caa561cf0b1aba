//! The start lines `pymd serve` and `pymd dev-tenant` print: where things are and how to sign in.
//! The binary tests read the real addresses from them, so their shape is part of the contract.
//! Nothing secret appears beyond the demo logins' passwords, which are meant to be read (the dev
//! tenant only runs in development).

use std::fmt::Write as _;
use std::net::SocketAddr;

use url::Url;

use crate::config::{Config, Idp};

/// What the banner says about a running dev tenant.
pub struct TenantLines {
    /// Its issuer URL.
    pub issuer: String,
    /// The address it really listens on.
    pub listening: SocketAddr,
    /// The demo logins (email, password, roles).
    pub logins: Vec<DemoLogin>,
}

/// One demo login of the dev tenant.
pub struct DemoLogin {
    pub email: String,
    pub password: String,
    pub roles: Vec<String>,
}

/// `pymd serve`'s banner: the app's URL and the address it listens on, the API docs, and the dev
/// tenant (or the external IdP).
pub fn serve(config: &Config, tenant: Option<&TenantLines>) -> String {
    let mut out = String::from("\n  PyMD is running\n");
    let _ = writeln!(
        out,
        "  app:        {}  (listening on {})",
        config.base_url, config.bind
    );
    let _ = writeln!(
        out,
        "  API docs:   {}api/openapi.json",
        with_slash(&config.base_url)
    );
    if let Some(m) = config.metrics_bind {
        let _ = writeln!(out, "  metrics:    http://{m}/metrics  (listening on {m})");
    }
    match tenant {
        Some(t) => {
            out.push_str(&tenant_lines(t));
            out.push_str("  a token for curl: cargo run -- token --user alice@example.com\n");
        }
        None => {
            if let Idp::External { issuer_base_url } = &config.idp {
                let _ = writeln!(out, "  identity provider: {issuer_base_url}");
            }
        }
    }
    out.push('\n');
    out
}

/// `pymd dev-tenant`'s banner.
pub fn dev_tenant(tenant: &TenantLines) -> String {
    format!("\n  PyMD dev tenant is running\n{}\n", tenant_lines(tenant))
}

/// The dev tenant's lines of a banner: its URL, where it listens, the demo logins.
fn tenant_lines(t: &TenantLines) -> String {
    let mut out = format!(
        "  dev tenant: {}  (listening on {}; an offline Auth0 emulator, not for production)\n  demo logins:\n",
        t.issuer, t.listening
    );
    for login in &t.logins {
        let _ = writeln!(
            out,
            "    {:<22} {:<18} roles: {}",
            login.email,
            login.password,
            login.roles.join(", ")
        );
    }
    out
}

fn with_slash(u: &Url) -> String {
    let s = u.as_str();
    if s.ends_with('/') {
        s.to_owned()
    } else {
        format!("{s}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> TenantLines {
        TenantLines {
            issuer: "http://127.0.0.1:3001/".to_owned(),
            listening: "127.0.0.1:3001".parse().unwrap(),
            logins: vec![DemoLogin {
                email: "alice@example.com".to_owned(),
                password: "pw".to_owned(),
                roles: vec!["admin".to_owned(), "user".to_owned()],
            }],
        }
    }

    #[test]
    fn the_serve_banner_names_the_app_the_docs_and_the_tenant() {
        let config = Config::from_vars(&Default::default()).unwrap();
        let text = serve(&config, Some(&tenant()));
        assert!(
            text.contains("  app:        http://localhost:3000/  (listening on 127.0.0.1:3000)"),
            "{text}"
        );
        assert!(
            text.contains("  API docs:   http://localhost:3000/api/openapi.json"),
            "{text}"
        );
        assert!(
            text.contains("  dev tenant: http://127.0.0.1:3001/  (listening on 127.0.0.1:3001;"),
            "{text}"
        );
        assert!(text.contains("alice@example.com"), "{text}");
        assert!(text.contains("roles: admin, user"), "{text}");
        assert!(dev_tenant(&tenant()).contains("PyMD dev tenant is running"));
    }
}
