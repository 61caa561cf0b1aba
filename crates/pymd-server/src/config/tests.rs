use super::*;

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn the_defaults_start_the_dev_tenant_with_sqlite() {
    let c = Config::from_vars(&vars(&[])).unwrap();
    assert_eq!(
        c.idp,
        Idp::DevTenant {
            bind: "127.0.0.1:3001".parse().unwrap()
        }
    );
    assert_eq!(c.bind, "127.0.0.1:3000".parse().unwrap());
    assert_eq!(c.audience, "https://api.pymd.io");
    assert_eq!(c.algorithms, vec![jsonwebtoken::Algorithm::RS256]);
    assert!(c.database_url().starts_with("sqlite://"));
    assert_eq!(c.cors_origins, vec!["http://localhost:3000".to_owned()]);
    assert_eq!(c.clock_leeway, Duration::from_secs(5));
}

#[test]
fn an_auth0_domain_gives_an_https_issuer_with_a_trailing_slash() {
    let c = Config::from_vars(&vars(&[("AUTH0_DOMAIN", "tenant.eu.auth0.com")])).unwrap();
    let Idp::External { issuer_base_url } = c.idp else {
        panic!("external expected")
    };
    assert_eq!(issuer_base_url.as_str(), "https://tenant.eu.auth0.com/");
}

#[test]
fn the_issuer_base_url_overrides_the_domain_and_may_be_local_http() {
    let c = Config::from_vars(&vars(&[
        ("AUTH0_DOMAIN", "tenant.auth0.com"),
        ("AUTH0_ISSUER_BASE_URL", "http://127.0.0.1:4700"),
    ]))
    .unwrap();
    let Idp::External { issuer_base_url } = c.idp else {
        panic!("external expected")
    };
    assert_eq!(issuer_base_url.as_str(), "http://127.0.0.1:4700/");
}

#[test]
fn the_api_audience_alias_is_read() {
    let c = Config::from_vars(&vars(&[("AUTH0_API_AUDIENCE", "https://x")])).unwrap();
    assert_eq!(c.audience, "https://x");
}

#[test]
fn every_problem_is_reported_at_once_naming_the_variable() {
    let err = Config::from_vars(&vars(&[
        ("PYMD_BIND", "not-an-address"),
        ("AUTH0_ALGORITHMS", "RS256,HS256"),
        ("AUTH0_SECRET", "short"),
        ("DATABASE_URL", "mysql://x"),
        ("PYMD_CLOCK_LEEWAY_SECS", "soon"),
        ("PYMD_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("PYMD_LOG_FORMAT", "xml"),
        ("AUTH0_BASE_URL", "ftp://x"),
    ]))
    .unwrap_err();
    for v in [
        "PYMD_BIND",
        "AUTH0_ALGORITHMS",
        "AUTH0_SECRET",
        "DATABASE_URL",
        "PYMD_CLOCK_LEEWAY_SECS",
        "PYMD_TRUSTED_PROXIES",
        "PYMD_LOG_FORMAT",
        "AUTH0_BASE_URL",
    ] {
        assert!(err.names(v), "{v} not named in {err}");
    }
    assert_eq!(err.problems.len(), 8, "{err}");
}

#[test]
fn production_refuses_to_start_without_secrets_https_and_a_real_idp() {
    let err = Config::from_vars(&vars(&[("PYMD_ENV", "production")])).unwrap_err();
    for v in [
        "AUTH0_SECRET",
        "INTERNAL_API_TOKEN",
        "AUTH0_BASE_URL",
        "AUTH0_DOMAIN",
    ] {
        assert!(err.names(v), "{v} not named in {err}");
    }
}

#[test]
fn production_starts_with_everything_it_needs() {
    let c = Config::from_vars(&vars(&[
        ("PYMD_ENV", "production"),
        ("AUTH0_DOMAIN", "t.auth0.com"),
        ("AUTH0_SECRET", "0123456789abcdef0123456789abcdef"),
        ("INTERNAL_API_TOKEN", "internal-token-0123456789"),
        ("AUTH0_BASE_URL", "https://pymd.example.com"),
    ]))
    .unwrap();
    assert_eq!(c.environment, Environment::Production);
    assert!(c.is_https());
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let c = Config::from_vars(&vars(&[
        ("AUTH0_SECRET", "super-secret-value-0123456789abcdef"),
        ("INTERNAL_API_TOKEN", "internal-token-value-xyz"),
        ("AUTH0_CLIENT_SECRET", "client-secret-value"),
        ("DATABASE_URL", "postgres://u:dbpassword@h/db"),
    ]))
    .unwrap();
    let debug = format!("{c:?}");
    for s in [
        "super-secret-value",
        "internal-token-value",
        "client-secret-value",
        "dbpassword",
    ] {
        assert!(!debug.contains(s), "{s} leaked in {debug}");
    }
}

#[test]
fn alert_thresholds_default_and_bad_values_are_refused_naming_the_variable() {
    let c = Config::from_vars(&vars(&[])).unwrap();
    assert_eq!(c.alerts.distinct_ips, 5);
    assert_eq!(c.alerts.window, Duration::from_secs(600));
    assert!(c.alerts.webhook.is_none());

    let c = Config::from_vars(&vars(&[
        ("PYMD_ALERT_DISTINCT_IPS", "3"),
        ("PYMD_ALERT_WINDOW_MINUTES", "2"),
        (
            "PYMD_ALERT_WEBHOOK",
            "https://hooks.example.com/T0/secret-path-token",
        ),
    ]))
    .unwrap();
    assert_eq!(c.alerts.distinct_ips, 3);
    assert_eq!(c.alerts.window, Duration::from_secs(120));
    assert!(!format!("{c:?}").contains("secret-path-token"));

    let err = Config::from_vars(&vars(&[
        ("PYMD_ALERT_DISTINCT_IPS", "1"),
        ("PYMD_ALERT_WINDOW_MINUTES", "0"),
        ("PYMD_ALERT_WEBHOOK", "ftp://hooks.example.com/x"),
    ]))
    .unwrap_err();
    for v in [
        "PYMD_ALERT_DISTINCT_IPS",
        "PYMD_ALERT_WINDOW_MINUTES",
        "PYMD_ALERT_WEBHOOK",
    ] {
        assert!(err.names(v), "{v} not named in {err}");
    }
    let err = Config::from_vars(&vars(&[
        ("PYMD_ALERT_DISTINCT_IPS", "many"),
        ("PYMD_ALERT_WEBHOOK", "/relative"),
    ]))
    .unwrap_err();
    assert!(err.names("PYMD_ALERT_DISTINCT_IPS"), "{err}");
    assert!(err.names("PYMD_ALERT_WEBHOOK"), "{err}");
}

#[test]
fn cidrs_match_addresses_inside_them() {
    let c = Cidr::parse("10.0.0.0/8").unwrap();
    assert!(c.contains("10.1.2.3".parse().unwrap()));
    assert!(!c.contains("11.0.0.1".parse().unwrap()));
    assert!(
        Cidr::parse("127.0.0.1")
            .unwrap()
            .contains("::ffff:127.0.0.1".parse().unwrap())
    );
    assert!(
        Cidr::parse("::1/128")
            .unwrap()
            .contains("::1".parse().unwrap())
    );
    assert!(
        Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap())
    );
    assert!(Cidr::parse("10.0.0.0/33").is_none());
}

#[test]
fn the_management_domain_is_an_https_url_and_a_bad_one_is_named() {
    let c = Config::from_vars(&vars(&[
        ("AUTH0_DOMAIN", "login.pymd.example"),
        ("AUTH0_MANAGEMENT_DOMAIN", "pymd-prod.eu.auth0.com"),
    ]))
    .unwrap();
    assert_eq!(
        c.management_base_url.as_ref().map(Url::as_str),
        Some("https://pymd-prod.eu.auth0.com/")
    );
    let c = Config::from_vars(&vars(&[(
        "AUTH0_MANAGEMENT_DOMAIN",
        "http://127.0.0.1:4700",
    )]))
    .unwrap();
    assert_eq!(
        c.management_base_url.as_ref().map(Url::as_str),
        Some("http://127.0.0.1:4700/")
    );
    let unset = Config::from_vars(&vars(&[])).unwrap();
    assert!(unset.management_base_url.is_none());
    let err = Config::from_vars(&vars(&[("AUTH0_MANAGEMENT_DOMAIN", "ftp://x")])).unwrap_err();
    assert!(err.to_string().contains("AUTH0_MANAGEMENT_DOMAIN"), "{err}");
}

#[test]
fn keyword_mappings_are_a_json_object_and_anything_else_is_named() {
    let c = Config::from_vars(&vars(&[(
        "AUTH0_KEYWORD_REPLACE_MAPPINGS",
        r#"{"M2M_CLIENT_ID": "abc", "SIZE": 5}"#,
    )]))
    .unwrap();
    assert_eq!(
        c.tenant_keywords.get("M2M_CLIENT_ID").map(String::as_str),
        Some("abc")
    );
    assert_eq!(c.tenant_keywords.get("SIZE").map(String::as_str), Some("5"));
    let err = Config::from_vars(&vars(&[("AUTH0_KEYWORD_REPLACE_MAPPINGS", "[1]")])).unwrap_err();
    assert!(
        err.to_string().contains("AUTH0_KEYWORD_REPLACE_MAPPINGS"),
        "{err}"
    );
    assert!(format!("{c:?}").contains("M2M_CLIENT_ID") && !format!("{c:?}").contains("abc"));
}

#[test]
fn verified_email_is_required_only_when_asked() {
    assert!(
        !Config::from_vars(&vars(&[]))
            .unwrap()
            .require_verified_email
    );
    let on = Config::from_vars(&vars(&[("PYMD_REQUIRE_VERIFIED_EMAIL", "true")])).unwrap();
    assert!(on.require_verified_email);
    let err = Config::from_vars(&vars(&[("PYMD_REQUIRE_VERIFIED_EMAIL", "yes")])).unwrap_err();
    assert!(
        err.to_string().contains("PYMD_REQUIRE_VERIFIED_EMAIL"),
        "{err}"
    );
}

#[test]
fn with_the_dev_tenant_only_loopback_addresses_pass_unless_remote_is_allowed() {
    let public: SocketAddr = "0.0.0.0:3000".parse().unwrap();
    let v6: SocketAddr = "[2001:db8::1]:3001".parse().unwrap();
    let strict = Config::from_vars(&vars(&[])).unwrap();
    assert!(!strict.dev_allow_remote);
    for addr in [public, v6] {
        let refused = strict.check_dev_exposure("PYMD_BIND", addr).unwrap_err();
        assert!(refused.starts_with("PYMD_BIND "), "{refused}");
        assert!(refused.contains("PYMD_DEV_ALLOW_REMOTE=1"), "{refused}");
    }
    for loopback in ["127.0.0.1:3000", "127.0.0.2:3000", "[::1]:3000"] {
        assert!(
            strict
                .check_dev_exposure("PYMD_BIND", loopback.parse().unwrap())
                .is_ok()
        );
    }
    let allowed = Config::from_vars(&vars(&[("PYMD_DEV_ALLOW_REMOTE", "1")])).unwrap();
    assert!(allowed.dev_allow_remote);
    for addr in [public, v6] {
        assert_eq!(
            allowed.check_dev_exposure("PYMD_DEV_TENANT_BIND", addr),
            Ok(())
        );
    }
    // Anything but a clear yes/no is a start-up error, like every variable.
    let err = Config::from_vars(&vars(&[("PYMD_DEV_ALLOW_REMOTE", "maybe")])).unwrap_err();
    assert!(err.to_string().contains("PYMD_DEV_ALLOW_REMOTE"), "{err}");
}

#[test]
fn session_lifetimes_are_read_and_validated() {
    let c = Config::from_vars(&vars(&[])).unwrap();
    assert_eq!(c.sessions.idle_timeout, Duration::from_secs(86_400));
    assert_eq!(c.sessions.absolute_timeout, Duration::from_secs(604_800));
    assert_eq!(c.limits.refresh_per_hour, 30);
    let c = Config::from_vars(&vars(&[
        ("PYMD_SESSION_IDLE_TIMEOUT_SECS", "600"),
        ("PYMD_SESSION_ABSOLUTE_TIMEOUT_SECS", "3600"),
        ("PYMD_REFRESH_RATE_LIMIT_PER_HOUR", "60"),
    ]))
    .unwrap();
    assert_eq!(c.sessions.idle_timeout, Duration::from_secs(600));
    assert_eq!(c.sessions.absolute_timeout, Duration::from_secs(3600));
    assert_eq!(c.limits.refresh_per_hour, 60);
    for (pairs, named) in [
        (
            vec![("PYMD_SESSION_IDLE_TIMEOUT_SECS", "0")],
            "PYMD_SESSION_IDLE_TIMEOUT_SECS",
        ),
        (
            vec![("PYMD_SESSION_IDLE_TIMEOUT_SECS", "59")],
            "PYMD_SESSION_IDLE_TIMEOUT_SECS",
        ),
        (
            vec![("PYMD_SESSION_ABSOLUTE_TIMEOUT_SECS", "soon")],
            "PYMD_SESSION_ABSOLUTE_TIMEOUT_SECS",
        ),
        (
            vec![("PYMD_SESSION_ABSOLUTE_TIMEOUT_SECS", "34560001")],
            "PYMD_SESSION_ABSOLUTE_TIMEOUT_SECS",
        ),
        (
            vec![
                ("PYMD_SESSION_IDLE_TIMEOUT_SECS", "7200"),
                ("PYMD_SESSION_ABSOLUTE_TIMEOUT_SECS", "3600"),
            ],
            "must not exceed PYMD_SESSION_ABSOLUTE_TIMEOUT_SECS",
        ),
        (
            vec![("PYMD_REFRESH_RATE_LIMIT_PER_HOUR", "0")],
            "PYMD_REFRESH_RATE_LIMIT_PER_HOUR",
        ),
    ] {
        let err = Config::from_vars(&vars(&pairs)).unwrap_err().to_string();
        assert!(err.contains(named), "{pairs:?}: {err}");
    }
}
