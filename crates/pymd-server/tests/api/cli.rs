//! The `pymd` binary itself: configuration errors, `pymd token`, `pymd migrate`, and `serve` /
//! `dev-tenant` on port 0 (the tests read the real addresses from the start lines).

use std::process::Command;

use crate::binary::process::{Running, listening_after, url_after};

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
fn a_dot_env_file_in_the_working_directory_is_read_and_the_environment_wins() {
    let dir = temp_dir();
    std::fs::write(
        dir.join(".env"),
        "PYMD_LOG_FORMAT=xml\nPYMD_CLOCK_LEEWAY_SECS=later\n",
    )
    .unwrap();
    let out = pymd()
        .arg("migrate")
        .current_dir(&dir)
        .env("PYMD_DATA_DIR", &dir)
        // Set in the environment too: this value wins over the file's.
        .env("PYMD_LOG_FORMAT", "json")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PYMD_CLOCK_LEEWAY_SECS"), "{stderr}");
    assert!(!stderr.contains("PYMD_LOG_FORMAT"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_unreadable_dot_env_file_is_reported_and_a_parent_directorys_is_not_read() {
    let dir = temp_dir();
    std::fs::write(
        dir.join(".env"),
        "PYMD_LOG_FORMAT=json\nTHIS LINE HAS NO EQUALS SIGN\n",
    )
    .unwrap();
    let out = pymd()
        .arg("migrate")
        .current_dir(&dir)
        .env("PYMD_DATA_DIR", &dir)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a broken .env must not be ignored");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(".env: cannot be read"), "{stderr}");

    // Only the working directory's .env counts: one in a parent directory is not read.
    let child = dir.join("child");
    std::fs::create_dir_all(&child).unwrap();
    std::fs::write(dir.join(".env"), "PYMD_CLOCK_LEEWAY_SECS=later\n").unwrap();
    let out = pymd()
        .arg("migrate")
        .current_dir(&child)
        .env("PYMD_DATA_DIR", &child)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(dir);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_secrets_and_cookies_never_reach_the_logs_even_at_debug_level() {
    use pymd_auth::testkit::TestIssuer;

    let issuer = TestIssuer::start().await;
    let dir = temp_dir();
    let internal = format!("internal-{}", uuid::Uuid::new_v4().simple());
    let mut command = crate::binary::process::pymd(&dir);
    command
        .arg("serve")
        .env("RUST_LOG", "debug")
        .env("PYMD_LOG_FORMAT", "json")
        .env("PYMD_BIND", "127.0.0.1:0")
        .env("PYMD_DATA_DIR", &dir)
        .env("AUTH0_ISSUER_BASE_URL", issuer.base_url().as_str())
        .env("INTERNAL_API_TOKEN", &internal);
    let mut child = Running::spawn(command);
    // The banner is printed once the listener is bound: requests from here on are answered.
    let addr = child
        .wait_for("the app's address", listening_after("app:"))
        .await;
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), reqwest::StatusCode::OK);

    let valid = issuer.token("auth0|log-hygiene", &["read:documents", "write:documents"]);
    let forged = format!("{}AAAA", &valid[..valid.len() - 4]);
    let cookie = "pymd_session=c2Vzc2lvbi1jb29raWUtdmFsdWUtdGhhdC1tdXN0LW5vdC1sZWFr";
    let docs = format!("{base}/api/v1/documents");
    for token in [&valid, &forged] {
        let _ = http.get(&docs).bearer_auth(token).send().await.unwrap();
        let _ = http
            .post(&docs)
            .bearer_auth(token)
            .json(&serde_json::json!({"title": "t", "content": "c"}))
            .send()
            .await
            .unwrap();
    }
    let _ = http
        .get(format!("{docs}?access_token={valid}"))
        .send()
        .await
        .unwrap();
    let _ = http
        .get(&docs)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let _ = http
        .post(format!("{base}/internal/auth/sync-user"))
        .bearer_auth(&internal)
        .json(&serde_json::json!({"auth0Id": "auth0|log-hygiene", "email": "l@example.com"}))
        .send()
        .await
        .unwrap();
    let _ = http
        .post(format!("{base}/internal/auth/sync-user"))
        .bearer_auth(format!("{internal}x"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();

    let out = child.stop().await;
    let logs = format!("{}{}", out.stdout, out.stderr);
    assert!(
        logs.contains("request"),
        "the debug logs were captured: {logs}"
    );
    let signature = valid.rsplit('.').next().unwrap();
    for (what, secret) in [
        ("the access token", valid.as_str()),
        ("its signature", signature),
        ("the forged token", forged.as_str()),
        ("the webhook secret", internal.as_str()),
        (
            "the session cookie",
            "c2Vzc2lvbi1jb29raWUtdmFsdWUtdGhhdC1tdXN0LW5vdC1sZWFr",
        ),
    ] {
        assert!(!logs.contains(secret), "{what} reached the logs");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pymd_dev_tenant_runs_a_tenant_directory_with_auth0_keyword_replace_mappings() {
    let dir = temp_dir();
    let tenant = dir.join("tenant");
    write_tenant_dir(&tenant, &shipped_dev_yaml());
    let yaml = pymd_tenant::DEFAULT_TENANT_YAML
        .replace("friendly_name: PyMD", "friendly_name: \"##TENANT_NAME##\"");
    std::fs::write(tenant.join("tenant.yaml"), yaml).unwrap();
    let mut command = crate::binary::process::pymd(&dir);
    command
        .args(["dev-tenant", "--bind", "127.0.0.1:0", "--config"])
        .arg(&tenant)
        .env("PYMD_DATA_DIR", &dir)
        .env(
            "AUTH0_KEYWORD_REPLACE_MAPPINGS",
            r#"{"TENANT_NAME": "Mapped Tenant"}"#,
        );
    let mut child = Running::spawn(command);
    let issuer = child
        .wait_for("the tenant's URL", url_after("dev tenant:"))
        .await;
    // The login page names the tenant with the mapped value.
    let mut b = pymd_test_support::Browser::new();
    let authorize = format!(
        "{issuer}authorize?response_type=code&client_id=pymdWebDevClient7Hk2Lq9Xz4Rt8Vw1\
         &redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fauth%2Fcallback&scope=openid\
         &state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
    );
    let to_form = b.get(&authorize).await;
    let form = b.get(&to_form.next_url().expect("the login form")).await;
    assert!(form.text.contains("Mapped Tenant"), "{}", form.text);
    child.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_dev_tenant_directory_with_a_keyword_left_without_a_value_is_refused() {
    let dir = temp_dir();
    let tenant = dir.join("tenant");
    write_tenant_dir(&tenant, &shipped_dev_yaml());
    let yaml = pymd_tenant::DEFAULT_TENANT_YAML
        .replace("friendly_name: PyMD", "friendly_name: \"##TENANT_NAME##\"");
    std::fs::write(tenant.join("tenant.yaml"), yaml).unwrap();
    let start = |mappings: Option<&str>| {
        let mut c = pymd();
        c.args(["dev-tenant", "--bind", "127.0.0.1:0", "--config"])
            .arg(&tenant)
            .env("PYMD_DATA_DIR", &dir);
        if let Some(m) = mappings {
            c.env("AUTH0_KEYWORD_REPLACE_MAPPINGS", m);
        }
        c.output().unwrap()
    };
    let out = start(None);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("##TENANT_NAME## has no value"), "{stderr}");
    // Malformed mappings are a configuration error naming the variable.
    let out = start(Some("not json"));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("AUTH0_KEYWORD_REPLACE_MAPPINGS"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// The shipped `pymd-dev.yaml`.
fn shipped_dev_yaml() -> String {
    pymd_tenant::TenantFiles::shipped()
        .dev_yaml
        .expect("a shipped pymd-dev.yaml")
}

/// A tenant directory: the shipped tenant.yaml and Action, with `dev_yaml` as pymd-dev.yaml.
fn write_tenant_dir(dir: &std::path::Path, dev_yaml: &str) {
    std::fs::create_dir_all(dir.join("actions/pymd-post-login")).unwrap();
    std::fs::write(dir.join("tenant.yaml"), pymd_tenant::DEFAULT_TENANT_YAML).unwrap();
    std::fs::write(
        dir.join("actions/pymd-post-login/code.js"),
        include_str!("../../../../auth0/actions/pymd-post-login/code.js"),
    )
    .unwrap();
    std::fs::write(dir.join("pymd-dev.yaml"), dev_yaml).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pymd_dev_tenant_serves_an_auth0_style_issuer_on_its_own() {
    let dir = temp_dir();
    let mut command = crate::binary::process::pymd(&dir);
    command
        .args([
            "dev-tenant",
            "--bind",
            "127.0.0.1:0",
            "--management-rate-limit",
            "5",
        ])
        .env("PYMD_DATA_DIR", &dir);
    let mut child = Running::spawn(command);
    let addr = child
        .wait_for("the tenant's address", listening_after("dev tenant:"))
        .await;
    let issuer = child
        .wait_for("the tenant's URL", url_after("dev tenant:"))
        .await;
    assert_ne!(addr.port(), 0);
    assert_eq!(issuer.as_str(), format!("http://{addr}/"));
    let discovery: serde_json::Value =
        reqwest::get(issuer.join(".well-known/openid-configuration").unwrap())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(discovery["issuer"], issuer.as_str());
    assert_eq!(
        discovery["jwks_uri"],
        format!("http://{addr}/.well-known/jwks.json")
    );
    child
        .wait_for("alice's demo login", |l| {
            (l.contains("alice@example.com") && l.contains("Alice-Dev-2026!")).then_some(())
        })
        .await;
    assert!(
        child.stdout().iter().any(|l| l.trim() == "demo logins:"),
        "{:?}",
        child.stdout()
    );
    child.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pymd_token_finds_a_dev_tenant_on_port_0_through_the_data_dir() {
    let dir = temp_dir();
    let token = |dir: std::path::PathBuf| {
        let mut c = pymd();
        c.args(["token", "--user", "alice@example.com"])
            .env("PYMD_DATA_DIR", &dir)
            .env("PYMD_DEV_TENANT_BIND", "127.0.0.1:0");
        tokio::task::spawn_blocking(move || c.output().unwrap())
    };

    // Nothing running yet: the error says where the address would have come from.
    let none = token(dir.clone()).await.unwrap();
    assert!(!none.status.success());
    let stderr = String::from_utf8_lossy(&none.stderr);
    assert!(
        stderr.contains("PYMD_DEV_TENANT_BIND") && stderr.contains("dev-tenant.json"),
        "{stderr}"
    );
    assert!(none.stdout.is_empty());

    let mut command = crate::binary::process::pymd(&dir);
    command
        .args(["dev-tenant", "--bind", "127.0.0.1:0"])
        .env("PYMD_DATA_DIR", &dir);
    let mut child = Running::spawn(command);
    let issuer = child
        .wait_for("the tenant's URL", url_after("dev tenant:"))
        .await;
    let out = token(dir.clone()).await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let claims = claims_of(String::from_utf8_lossy(&out.stdout).trim());
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["sub"], "auth0|64b1f0c2a1b2c3d4e5f60001");

    // A tenant started with `--bind` on port 0 is found with the default settings too: the
    // running tenant's record wins over the default PYMD_DEV_TENANT_BIND (127.0.0.1:3001).
    let mut default_bind = pymd();
    default_bind
        .args(["token", "--user", "alice@example.com"])
        .env("PYMD_DATA_DIR", &dir);
    let out = tokio::task::spawn_blocking(move || default_bind.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let claims = claims_of(String::from_utf8_lossy(&out.stdout).trim());
    assert_eq!(claims["iss"], issuer.as_str());
    child.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn pymd_token_m2m_uses_the_tenant_file_the_dev_tenant_runs_with() {
    let dir = temp_dir();
    // The built-in tenant with another M2M client: only PYMD_TENANT_FILE knows its credentials.
    let yaml = shipped_dev_yaml()
        .replace(
            "pymdM2MDevClient3Jd8Fp2Nc6Yb5Qs0",
            "customM2MClient9Zx8Cv7Bn6Ml5Kj4",
        )
        .replace(
            "dev-m2m-secret-7a1e4c9b2f6d8035b7e2a4c6f8d0b2e4a6c8e0f2b4d6a8c0",
            "custom-m2m-secret-1b3d5f7h9j1l3n5p7r9t1v3x5z7b9d1f3h5j7l9n",
        );
    assert_ne!(yaml, shipped_dev_yaml());
    let file = dir.join("my-tenant");
    write_tenant_dir(&file, &yaml);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut options = pymd_tenant::TenantOptions::new(&dir);
    options.source = pymd_tenant::TenantSource::Dir(file.clone());
    let tenant = pymd_tenant::start(listener, options).await.unwrap();
    assert_eq!(
        tenant.m2m_client().client_id,
        "customM2MClient9Zx8Cv7Bn6Ml5Kj4"
    );

    let run = |tenant_file: Option<std::path::PathBuf>| {
        let mut c = pymd();
        c.args(["token", "--m2m"])
            .env("PYMD_DEV_TENANT_BIND", addr.to_string());
        if let Some(f) = tenant_file {
            c.env("PYMD_TENANT_FILE", f);
        }
        tokio::task::spawn_blocking(move || c.output().unwrap())
    };
    let with_file = run(Some(file.clone())).await.unwrap();
    assert!(
        with_file.status.success(),
        "{}",
        String::from_utf8_lossy(&with_file.stderr)
    );
    let claims = claims_of(String::from_utf8_lossy(&with_file.stdout).trim());
    assert_eq!(claims["sub"], "customM2MClient9Zx8Cv7Bn6Ml5Kj4@clients");
    assert_eq!(claims["gty"], "client-credentials");

    // Without the file the built-in client is presented, which this tenant does not know.
    let without = run(None).await.unwrap();
    assert!(!without.status.success());
    let stderr = String::from_utf8_lossy(&without.stderr);
    assert!(stderr.contains("the dev tenant refused"), "{stderr}");
    assert!(without.stdout.is_empty());
    let stderr_all = format!("{stderr}{}", String::from_utf8_lossy(&with_file.stderr));
    assert!(
        !stderr_all.contains("custom-m2m-secret-") && !stderr_all.contains("dev-m2m-secret-"),
        "a client secret reached the output: {stderr_all}"
    );

    // A tenant file that cannot be read is named.
    let missing = run(Some(dir.join("nowhere.yaml"))).await.unwrap();
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("PYMD_TENANT_FILE"), "{stderr}");

    tenant.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn with_the_dev_tenant_a_non_loopback_address_is_refused_before_anything_listens() {
    let dir = temp_dir();
    let run = |args: &[&str], vars: &[(&str, &str)]| {
        let mut c = pymd();
        c.args(args).env("PYMD_DATA_DIR", &dir);
        for (k, v) in vars {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert!(!out.status.success(), "{args:?} {vars:?} started");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = run(&["serve"], &[("PYMD_BIND", "0.0.0.0:0")]);
    assert!(
        e.contains("PYMD_BIND 0.0.0.0:0 is not a loopback address"),
        "{e}"
    );
    assert!(e.contains("PYMD_DEV_ALLOW_REMOTE"), "{e}");
    let e = run(&["serve"], &[("PYMD_DEV_TENANT_BIND", "0.0.0.0:0")]);
    assert!(e.contains("PYMD_DEV_TENANT_BIND"), "{e}");
    let e = run(&["dev-tenant", "--bind", "0.0.0.0:0"], &[]);
    assert!(e.contains("not a loopback address"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_log_written_to_a_pipe_or_file_carries_no_colour_codes() {
    use pymd_auth::testkit::TestIssuer;

    let issuer = TestIssuer::start().await;
    let dir = temp_dir();
    let mut command = crate::binary::process::pymd(&dir);
    command
        .arg("serve")
        .env("RUST_LOG", "info")
        .env("PYMD_LOG_FORMAT", "text")
        .env("PYMD_BIND", "127.0.0.1:0")
        .env("PYMD_DATA_DIR", &dir)
        .env("AUTH0_ISSUER_BASE_URL", issuer.base_url().as_str())
        .env(
            "INTERNAL_API_TOKEN",
            format!("internal-{}", uuid::Uuid::new_v4().simple()),
        );
    let mut child = Running::spawn(command);
    child
        .wait_for("the app's address", listening_after("app:"))
        .await;
    let out = child.stop().await;
    let logs = format!("{}{}", out.stdout, out.stderr);
    assert!(
        logs.contains("database ready"),
        "the log was captured: {logs}"
    );
    assert!(
        !logs.contains('\u{1b}'),
        "an escape sequence in a log that is not a terminal: {logs:?}"
    );
}
