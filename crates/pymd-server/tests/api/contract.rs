//! The OpenAPI document is a contract the server keeps: schemathesis (a Python tool) drives every
//! operation of the served `/api/openapi.json` against `pymd serve` — as a user and as an admin —
//! and must report no failure: no status the document does not list, no schema-valid request
//! refused, no schema-violating one accepted.
//!
//! The tool is found as `PYMD_SCHEMATHESIS` (the `st` executable), else `st` on `PATH`. Without
//! it the test is skipped, unless `PYMD_REQUIRE_SCHEMATHESIS` is set (`.ci/run` installs it in a
//! virtual environment and sets both).

use std::path::PathBuf;

use crate::binary::first_run::token_for;
use crate::binary::process::{fresh_dir, listening_after, serve_on_loopback};

fn schemathesis() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PYMD_SCHEMATHESIS").map(PathBuf::from) {
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("st"))
        .find(|p| p.is_file())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_openapi_document_is_a_contract_the_server_keeps() {
    let Some(st) = schemathesis() else {
        assert!(
            std::env::var_os("PYMD_REQUIRE_SCHEMATHESIS").is_none_or(|v| v.is_empty()),
            "schemathesis is not installed but PYMD_REQUIRE_SCHEMATHESIS is set"
        );
        println!("skipped: schemathesis (st) is not installed (set PYMD_SCHEMATHESIS or PATH)");
        return;
    };
    let dir = fresh_dir("contract");
    let mut serve = serve_on_loopback(&dir, &[]);
    let app = serve.wait_for("the app", listening_after("app:")).await;
    serve
        .wait_for("the end of the banner", |l| {
            l.contains("a token for curl").then_some(())
        })
        .await;
    let spec = format!("http://{app}/api/openapi.json");
    for user in ["alice@example.com", "admin@example.com"] {
        let token = token_for(&dir, user).await;
        let out = tokio::process::Command::new(&st)
            .arg("--config-file")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/api/schemathesis.toml"
            ))
            .args(["run", &spec, "--max-examples", "25", "--seed", "20261203"])
            .arg("-H")
            .arg(format!("Authorization: Bearer {token}"))
            .env("NO_COLOR", "1")
            .current_dir(&dir)
            .output()
            .await
            .expect("run schemathesis");
        let text = String::from_utf8_lossy(&out.stdout);
        // The failures section when there is one (each failure's heading, response and replay
        // command), else the summary at the end.
        let lines: Vec<&str> = text.lines().collect();
        let from = lines
            .iter()
            .position(|l| l.contains("FAILURES"))
            .unwrap_or(lines.len().saturating_sub(60));
        let tail: String = lines[from..]
            .iter()
            .take(200)
            .map(|l| l.chars().take(300).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            out.status.success(),
            "schemathesis as {user} found failures:\n{tail}"
        );
        println!("schemathesis as {user}:\n{tail}");
    }
    serve.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
