//! The `pymd` binary itself: configuration errors, `pymd token`, `pymd migrate`.

use std::process::Command;

fn pymd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pymd"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        // A working directory without a .env file.
        .current_dir(std::env::temp_dir());
    c
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pymd-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn every_configuration_problem_is_reported_at_start_naming_the_variable() {
    let out = pymd()
        .arg("serve")
        .env("PYMD_BIND", "nowhere")
        .env("AUTH0_ALGORITHMS", "HS256")
        .env("DATABASE_URL", "mysql://db")
        .env("PYMD_ENV", "production")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for var in [
        "PYMD_BIND",
        "AUTH0_ALGORITHMS",
        "DATABASE_URL",
        "AUTH0_SECRET",
        "INTERNAL_API_TOKEN",
        "AUTH0_BASE_URL",
    ] {
        assert!(stderr.contains(var), "{var} missing from: {stderr}");
    }
}

#[test]
fn secrets_given_in_the_environment_never_reach_the_error_output() {
    let out = pymd()
        .arg("serve")
        .env("PYMD_BIND", "nowhere")
        .env("AUTH0_SECRET", "short-secret-value")
        .env("AUTH0_CLIENT_SECRET", "client-secret-value-123")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("AUTH0_SECRET"), "{all}");
    assert!(!all.contains("short-secret-value"), "{all}");
    assert!(!all.contains("client-secret-value-123"), "{all}");
}

#[test]
fn pymd_token_refuses_a_real_auth0_domain() {
    let out = pymd()
        .args(["token", "--user", "alice@example.com"])
        .env("AUTH0_DOMAIN", "real-tenant.eu.auth0.com")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("only mints tokens from a local dev tenant"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn pymd_migrate_creates_the_database_and_can_run_twice() {
    let dir = temp_dir();
    for _ in 0..2 {
        let out = pymd()
            .arg("migrate")
            .env("PYMD_DATA_DIR", &dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(dir.join("pymd.db").exists());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn pymd_token_mints_user_and_m2m_tokens_from_the_dev_tenant() {
    let dir = temp_dir();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let tenant = pymd_tenant::start(listener, pymd_tenant::TenantOptions::new(&dir))
        .await
        .unwrap();
    let issuer = tenant.issuer().to_owned();

    let run = |args: Vec<&'static str>| {
        let mut c = pymd();
        c.args(args).env("PYMD_DEV_TENANT_BIND", addr.to_string());
        tokio::task::spawn_blocking(move || c.output().unwrap())
    };
    let user = run(vec![
        "token",
        "--user",
        "alice@example.com",
        "--scope",
        "read:documents",
    ])
    .await
    .unwrap();
    assert!(
        user.status.success(),
        "{}",
        String::from_utf8_lossy(&user.stderr)
    );
    let claims = claims_of(String::from_utf8_lossy(&user.stdout).trim());
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["sub"], "auth0|64b1f0c2a1b2c3d4e5f60001");
    assert!(
        claims["scope"]
            .as_str()
            .unwrap()
            .split(' ')
            .any(|s| s == "read:documents")
    );

    let m2m = run(vec!["token", "--m2m", "--scope", "read:documents"])
        .await
        .unwrap();
    assert!(
        m2m.status.success(),
        "{}",
        String::from_utf8_lossy(&m2m.stderr)
    );
    let claims = claims_of(String::from_utf8_lossy(&m2m.stdout).trim());
    assert_eq!(claims["gty"], "client-credentials");
    assert!(claims["sub"].as_str().unwrap().ends_with("@clients"));

    tenant.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

fn claims_of(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}
