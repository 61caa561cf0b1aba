//! Group 8: the tenant directory (Deploy CLI layout, plus PyMD's own `pymd-dev.yaml`) is
//! validated with line-precise errors.

use pymd_tenant::{TenantFiles, TenantOptions, TenantSource, parse_files, parse_tenant};
use serde_json::Value;

use crate::support::*;

const ISSUER: &str = "http://127.0.0.1:4700/";

/// Replaces the `nth` (0-based) occurrence of `from` after `anchor` and returns the new file and
/// the 1-based line of the replacement.
fn mutate(anchor: &str, from: &str, to: &str) -> (String, usize) {
    mutate_in(DEFAULT_TENANT_YAML, anchor, from, to)
}

/// The shipped `pymd-dev.yaml`.
fn shipped_dev() -> String {
    TenantFiles::shipped()
        .dev_yaml
        .expect("a shipped pymd-dev.yaml")
}

/// [`mutate`] in the shipped `pymd-dev.yaml`.
fn mutate_dev(anchor: &str, from: &str, to: &str) -> (String, usize) {
    mutate_in(&shipped_dev(), anchor, from, to)
}

/// The message the shipped tenant with `dev_yaml` as its `pymd-dev.yaml` is refused with.
fn refused_dev(dev_yaml: &str) -> String {
    let files = TenantFiles::shipped().with_dev_yaml(Some(dev_yaml.to_string()));
    match parse_files(&files, ISSUER, APP, &Default::default()) {
        Ok(_) => panic!("a bad pymd-dev.yaml was accepted"),
        Err(e) => e.to_string(),
    }
}

fn mutate_in(base: &str, anchor: &str, from: &str, to: &str) -> (String, usize) {
    let a = base
        .find(anchor)
        .unwrap_or_else(|| panic!("anchor {anchor:?}"));
    let i = a + base[a..]
        .find(from)
        .unwrap_or_else(|| panic!("{from:?} after {anchor:?}"));
    let line = base[..i].matches('\n').count() + 1;
    let yaml = format!("{}{}{}", &base[..i], to, &base[i + from.len()..]);
    (yaml, line)
}

/// Extracts (line, column, reason) from "…tenant.yaml:LINE:COL: reason".
fn location(message: &str) -> (usize, usize, String) {
    let at = message
        .find(".yaml:")
        .unwrap_or_else(|| panic!("no file:line:col in {message:?}"))
        + ".yaml:".len();
    let mut parts = message[at..].splitn(3, ':');
    let line = parts
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{message:?}"));
    let col = parts
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{message:?}"));
    (
        line,
        col,
        parts.next().unwrap_or_default().trim().to_string(),
    )
}

fn refused(yaml: &str) -> String {
    match parse_tenant(yaml, ISSUER, APP) {
        Ok(_) => panic!("a bad tenant file was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_default_tenant_file_parses() {
    parse_tenant(DEFAULT_TENANT_YAML, ISSUER, APP).expect("the shipped tenant.yaml is valid");
}

#[test]
fn invalid_yaml_is_refused_with_its_line() {
    let (yaml, line) = mutate(
        "tenant:",
        "friendly_name: PyMD",
        "friendly_name: PyMD: Dev Tenant",
    );
    let msg = refused(&yaml);
    assert!(msg.starts_with("tenant.yaml:"), "{msg}");
    let (l, _, reason) = location(&msg);
    assert_eq!(l, line, "{msg}");
    assert!(!reason.is_empty(), "{msg}");
}

#[test]
fn a_grant_for_an_unknown_client_is_refused_with_its_line() {
    let (yaml, line) = mutate(
        "clientGrants:",
        "client_id: PyMD Management (M2M)",
        "client_id: PyMD Nonexistent Client",
    );
    let msg = refused(&yaml);
    let (l, _, reason) = location(&msg);
    assert_eq!(l, line, "{msg}");
    assert!(
        reason.contains("PyMD Nonexistent Client"),
        "names the client: {msg}"
    );
}

#[test]
fn a_role_with_an_unknown_permission_is_refused_with_its_line() {
    let (yaml, line) = mutate(
        "  - name: admin",
        "permission_name: delete:documents",
        "permission_name: fly:rockets",
    );
    let msg = refused(&yaml);
    let (l, _, reason) = location(&msg);
    assert_eq!(l, line, "{msg}");
    assert!(
        reason.contains("fly:rockets"),
        "names the permission: {msg}"
    );
}

#[test]
fn a_user_with_an_unknown_role_is_refused_with_its_line() {
    let (yaml, line) = mutate_dev(
        "admin@example.com",
        "roles: [user, admin]",
        "roles: [user, superuser]",
    );
    let msg = refused_dev(&yaml);
    assert!(msg.starts_with("pymd-dev.yaml:"), "{msg}");
    let (l, _, reason) = location(&msg);
    assert_eq!(l, line, "{msg}");
    assert!(reason.contains("superuser"), "names the role: {msg}");
}

#[test]
fn a_seeded_password_violating_the_policy_is_refused_with_its_line() {
    let (yaml, line) = mutate_dev(
        "bob@example.com",
        "password: Bob-Dev-2026!",
        "password: bobby",
    );
    let msg = refused_dev(&yaml);
    let (l, _, reason) = location(&msg);
    assert_eq!(l, line, "{msg}");
    assert!(
        reason.to_lowercase().contains("password"),
        "says why: {msg}"
    );
    assert!(
        !msg.contains("bobby"),
        "the password itself is not echoed: {msg}"
    );
}

#[test]
fn a_client_grant_for_an_unknown_api_is_refused() {
    let (yaml, line) = mutate(
        "clientGrants:",
        "audience: https://api.pymd.io",
        "audience: https://unknown.example",
    );
    let msg = refused(&yaml);
    let (l, _, _) = location(&msg);
    assert_eq!(l, line, "{msg}");
}

#[test]
fn keyword_replacement_builds_callbacks_from_the_app_base_url() {
    // A differently based app must not make the default file invalid.
    parse_tenant(
        DEFAULT_TENANT_YAML,
        "http://127.0.0.1:9999/",
        "http://app.test:8080",
    )
    .expect("keyword replacement works for any base URL");
}

#[tokio::test]
async fn start_with_a_bad_tenant_directory_fails_naming_the_line() {
    let (yaml, line) = mutate(
        "  - name: admin",
        "permission_name: delete:documents",
        "permission_name: fly:rockets",
    );
    let data = TempDir::new();
    let mut options = TenantOptions::new(data.0.clone());
    options.source = TenantSource::Yaml(yaml.clone());
    let Err(err) = try_start(options).await else {
        panic!("start refuses a bad file");
    };
    assert!(err.to_string().contains("fly:rockets"), "{err}");

    let dir = TempDir::new();
    std::fs::write(dir.0.join("tenant.yaml"), &yaml).unwrap();
    std::fs::write(dir.0.join("pymd-dev.yaml"), shipped_dev()).unwrap();
    let mut options = TenantOptions::new(data.0.clone());
    options.source = TenantSource::Dir(dir.0.clone());
    let Err(err) = try_start(options).await else {
        panic!("start refuses a bad directory");
    };
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("tenant.yaml:{line}:")),
        "names the line: {msg}"
    );
}

#[tokio::test]
async fn a_tenant_directory_on_disk_is_served_with_its_action_and_dev_file() {
    // The layout a user deploys: tenant.yaml, actions/<name>/code.js, and PyMD's pymd-dev.yaml.
    let dir = TempDir::new();
    std::fs::create_dir_all(dir.0.join("actions/pymd-post-login")).unwrap();
    std::fs::write(dir.0.join("tenant.yaml"), DEFAULT_TENANT_YAML).unwrap();
    std::fs::write(
        dir.0.join("actions/pymd-post-login/code.js"),
        "exports.onExecutePostLogin = async (e, api) => { api.idToken.setCustomClaim('https://example.com/disk', true); };",
    )
    .unwrap();
    std::fs::write(
        dir.0.join("pymd-dev.yaml"),
        shipped_dev().replace("Alice Example", "Alice Disk"),
    )
    .unwrap();
    let path = dir.0.clone();
    let t = spawn_with(move |o| o.source = TenantSource::from_path(path)).await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    let id = jwt_claims(&tokens.id_token);
    assert_eq!(id["name"], "Alice Disk");
    assert_eq!(id["https://example.com/disk"], true);
    // Without pymd-dev.yaml the keywords must come from the options (as from
    // AUTH0_KEYWORD_REPLACE_MAPPINGS), and no user is seeded.
    std::fs::remove_file(dir.0.join("pymd-dev.yaml")).unwrap();
    let path = dir.0.join("tenant.yaml");
    let data = TempDir::new();
    let mut options = TenantOptions::new(data.0.clone());
    options.source = TenantSource::from_path(path.clone());
    let msg = try_start(options)
        .await
        .expect_err("keywords lack values")
        .to_string();
    assert!(
        msg.contains("##BACKEND_INTERNAL_TOKEN## has no value"),
        "{msg}"
    );
    let t = spawn_with(move |o| {
        o.source = TenantSource::from_path(path);
        for k in [
            "BACKEND_INTERNAL_TOKEN",
            "M2M_CLIENT_ID",
            "M2M_CLIENT_SECRET",
        ] {
            o.keywords.insert(k.into(), "x".into());
        }
    })
    .await;
    assert!(t.dev().demo_logins().is_empty());
}

#[tokio::test]
async fn start_with_a_missing_tenant_file_fails() {
    let data = TempDir::new();
    let mut options = TenantOptions::new(data.0.clone());
    options.source = TenantSource::File(data.0.join("does-not-exist.yaml"));
    assert!(try_start(options).await.is_err());
}

#[tokio::test]
async fn a_custom_dev_file_is_served() {
    let files = TenantFiles::shipped()
        .with_dev_yaml(Some(shipped_dev().replace("Alice Example", "Alice Custom")));
    let t = spawn_with(|o| o.source = TenantSource::Files(files)).await;
    let tokens = t.login_tokens(ALICE_EMAIL, ALICE_PASSWORD).await;
    assert_eq!(jwt_claims(&tokens.id_token)["name"], "Alice Custom");
}

#[tokio::test]
async fn the_tenant_exposes_the_default_clients_and_demo_logins() {
    let t = spawn().await;
    let dev = t.dev();
    assert_eq!(dev.web_client().client_id, WEB_CLIENT_ID);
    assert_eq!(dev.web_client().client_secret, WEB_CLIENT_SECRET);
    assert_eq!(dev.m2m_client().client_id, M2M_CLIENT_ID);
    assert_eq!(dev.audience(), API);
    assert_eq!(dev.issuer(), t.issuer);
    assert!(dev.issuer().starts_with("http://127.0.0.1:") && dev.issuer().ends_with('/'));
    let logins = dev.demo_logins();
    let alice = logins
        .iter()
        .find(|l| l.email == ALICE_EMAIL)
        .expect("alice is a demo login");
    assert_eq!(alice.password, ALICE_PASSWORD);
    // Each demo login really works.
    for l in &logins {
        t.login_tokens(&l.email, &l.password).await;
    }
}

/// Like [`mutate`], also returning the 1-based column where the replacement starts.
fn mutate_at(anchor: &str, from: &str, to: &str) -> (String, usize, usize) {
    let (yaml, line) = mutate(anchor, from, to);
    let a = DEFAULT_TENANT_YAML.find(anchor).unwrap();
    let i = a + DEFAULT_TENANT_YAML[a..].find(from).unwrap();
    let line_start = DEFAULT_TENANT_YAML[..i].rfind('\n').map_or(0, |j| j + 1);
    (
        yaml,
        line,
        DEFAULT_TENANT_YAML[line_start..i].chars().count() + 1,
    )
}

#[test]
fn a_misspelt_key_anywhere_in_the_supported_layout_is_refused_at_its_line_and_column() {
    // (anchor, key as written, misspelling) — one per nested object of the layout.
    let cases = [
        ("refresh_token:", "leeway: 0", "leeeway: 0"),
        (
            "  - name: PyMD Web",
            "oidc_conformant: true",
            "oidc_conformnt: true",
        ),
        (
            "jwt_configuration:",
            "lifetime_in_seconds:",
            "lifetime_in_second:",
        ),
        (
            "resourceServers:",
            "allow_offline_access: true",
            "allow_ofline_access: true",
        ),
        (
            "scopes:",
            "description: Read your documents",
            "descripton: Read your documents",
        ),
        ("clientGrants:", "scope:", "scopes:"),
        (
            "roles:",
            "resource_server_identifier:",
            "resource_server_identifer:",
        ),
        ("roles:", "description: A PyMD user", "desc: A PyMD user"),
        ("databases:", "enabled_clients:", "enabled_client:"),
        ("options:", "passwordPolicy: fair", "password_policy: fair"),
        (
            "bruteForceProtection:",
            "max_attempts: 10",
            "max_attempt: 10",
        ),
        ("breachedPasswordDetection:", "shields:", "shield:"),
        ("tenant:", "session_lifetime: 168", "session_lifetme: 168"),
    ];
    for (anchor, from, to) in cases {
        let (yaml, line, column) = mutate_at(anchor, from, to);
        let msg = refused(&yaml);
        let (l, c, reason) = location(&msg);
        let key = to.split(':').next().unwrap();
        assert_eq!((l, c), (line, column), "{to}: {msg}");
        assert!(reason.contains(&format!("unknown field `{key}`")), "{msg}");
    }
}

#[test]
fn deploy_cli_keys_the_emulator_does_not_act_on_are_accepted() {
    let yaml = DEFAULT_TENANT_YAML
        .replacen(
            "    oidc_conformant: true\n",
            "    oidc_conformant: true\n    sso_disabled: false\n    cross_origin_auth: false\n    \
             custom_login_page_on: true\n    native_social_login:\n      apple:\n        enabled: false\n",
            1,
        )
        .replacen(
            "      infinite_idle_token_lifetime: false\n",
            "      infinite_idle_token_lifetime: false\n      policies: []\n",
            1,
        )
        .replacen(
            "    token_lifetime: 3600\n",
            "    token_lifetime: 3600\n    token_lifetime_for_web: 7200\n",
            1,
        )
        .replacen(
            "      disable_signup: false\n",
            "      disable_signup: false\n      mfa:\n        active: true\n      import_mode: false\n",
            1,
        )
        .replacen(
            "  friendly_name: PyMD\n",
            "  friendly_name: PyMD\n  enabled_locales: [en]\n  flags:\n    revoke_refresh_token_grant: false\n",
            1,
        );
    let cfg = parse_tenant(&yaml, ISSUER, APP).expect("real Deploy CLI export keys are accepted");
    assert_eq!(cfg.clients.len(), 2);
}

#[test]
fn a_semantic_error_points_at_the_offending_node_not_an_earlier_lookalike() {
    // The role name `use` also occurs earlier in the file ("users:", "user"): the error must
    // point at the list item itself.
    let dev = shipped_dev();
    let (yaml, line) = mutate_dev("bob@example.com", "roles: [user]", "roles: [use]");
    let a = dev.find("bob@example.com").unwrap();
    let i = a + dev[a..].find("roles: [user]").unwrap();
    let column = i - dev[..i].rfind('\n').map_or(0, |j| j + 1) + 1;
    let (l, c, reason) = location(&refused_dev(&yaml));
    assert_eq!((l, c), (line, column + "roles: [".len()), "{reason}");
    assert!(reason.contains("unknown role \"use\""), "{reason}");

    // A duplicate client_id points at the second client's id, not the first.
    let (yaml, line, column) = mutate_at(
        "  - name: PyMD Management (M2M)",
        "app_type: non_interactive",
        &format!("client_id: {WEB_CLIENT_ID}\n    app_type: non_interactive"),
    );
    let (l, c, reason) = location(&refused(&yaml));
    assert_eq!((l, c), (line, column + "client_id: ".len()), "{reason}");
    assert!(reason.contains("duplicate client_id"), "{reason}");
}

#[test]
fn positions_are_in_the_file_as_written_before_keyword_replacement() {
    // A bad URL after a keyword on the same line: the column counts `##APP_BASE_URL##` as
    // written, not the (longer) URL it expands to.
    let block = "    callbacks:\n      - \"##APP_BASE_URL##/auth/callback\"\n      - \"##APP_BASE_URL##/api/auth/callback\"\n      - \"##APP_BASE_URL##/spa/callback\"\n";
    let flow = "    callbacks: [\"##APP_BASE_URL##/auth/callback\", \"not a url\"]\n";
    assert!(DEFAULT_TENANT_YAML.contains(block));
    let yaml = DEFAULT_TENANT_YAML.replacen(block, flow, 1);
    let line = yaml[..yaml.find(flow).unwrap()].matches('\n').count() + 1;
    let column = flow.find("\"not a url\"").unwrap() + 1;
    let (l, c, reason) = location(&refused(&yaml));
    assert_eq!((l, c), (line, column), "{reason}");
    assert!(
        reason.contains("\"not a url\" is not an absolute URL"),
        "{reason}"
    );
}

/// Where the Deploy CLI's own key lists say `path` (dotted, as in the key file) is checked.
fn schema_section(path: &str) -> String {
    let parts: Vec<&str> = path.split('.').collect();
    match parts.as_slice() {
        ["triggers", _] => "triggers.<trigger entry>".into(),
        ["logStreams", "sink"] => "logStreams.sink (type http)".into(),
        ["attackProtection", "suspiciousIpThrottling", "stage", _] => {
            "attackProtection.suspiciousIpThrottling.stage.*".into()
        }
        _ => path.into(),
    }
}

/// Every key of `value` at `path` that the Deploy CLI does not know, recursing into the
/// objects and lists it describes; counts the objects checked.
fn unknown_keys(
    keys: &Value,
    path: &str,
    value: &Value,
    checked: &mut usize,
    out: &mut Vec<String>,
) {
    match value {
        Value::Array(items) => {
            for item in items {
                unknown_keys(keys, path, item, checked, out);
            }
        }
        Value::Object(map) => {
            let section = schema_section(path);
            let known = keys["sections"][&section].as_array();
            if let Some(known) = known {
                *checked += 1;
                for k in map.keys() {
                    if !known.iter().any(|x| x == k) {
                        out.push(format!("{path}.{k}"));
                    }
                }
            }
            for (k, v) in map {
                let child = if path == "triggers" {
                    format!("triggers.{k}")
                } else {
                    format!("{path}.{k}")
                };
                if known.is_some() || path == "triggers" {
                    unknown_keys(keys, &child, v, checked, out);
                }
            }
        }
        _ => {}
    }
}

/// The top-level sections and nested keys of `yaml` the Deploy CLI's schema lacks.
fn keys_outside_the_deploy_cli_schema(yaml: &str) -> (Vec<String>, usize) {
    let keys: Value =
        serde_json::from_str(include_str!("../data/deploy-cli-keys.json")).expect("key file");
    let doc: Value = yaml_serde::from_str(yaml).expect("YAML");
    let mut out = Vec::new();
    let mut checked = 0;
    for (section, value) in doc.as_object().expect("a mapping at the top") {
        if !keys["root"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == section)
        {
            out.push(section.clone());
            continue;
        }
        unknown_keys(&keys, section, value, &mut checked, &mut out);
    }
    (out, checked)
}

#[test]
fn the_shipped_tenant_yaml_uses_only_keys_of_the_deploy_cli_schema() {
    let (unknown, checked) = keys_outside_the_deploy_cli_schema(DEFAULT_TENANT_YAML);
    assert!(
        unknown.is_empty(),
        "keys the Deploy CLI does not know: {unknown:?}"
    );
    assert!(checked >= 25, "only {checked} objects were checked");
    // The check itself sees what it must refuse: a PyMD-only section or key.
    let seeded = format!("{DEFAULT_TENANT_YAML}\nusers:\n  - email: a@example.com\n");
    assert_eq!(keys_outside_the_deploy_cli_schema(&seeded).0, vec!["users"]);
    let claim = DEFAULT_TENANT_YAML.replacen(
        "    app_type: regular_web\n",
        "    app_type: regular_web\n    roles_claim: x\n",
        1,
    );
    assert_eq!(
        keys_outside_the_deploy_cli_schema(&claim).0,
        vec!["clients.roles_claim"]
    );
}
