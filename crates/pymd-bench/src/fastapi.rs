//! The source plan's stack for the side-by-side run: FastAPI + python-jose served by uvicorn with
//! 2 workers on 127.0.0.1 (`fastapi/app.py`, written to the plan's design). Its virtualenv is made
//! here under `target/bench-venv` with `python3 -m venv` and `pip install -r requirements.txt`
//! (pinned; nothing else is downloaded), and reused while the requirements stay the same. When
//! Python, venv or pip is unavailable the caller skips the row with the reason this returns.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::Context;

use crate::servers::{Server, free_port};

/// The app, embedded so the bench needs nothing from the source tree at run time.
const APP_PY: &str = include_str!("../fastapi/app.py");
/// The pinned requirements, embedded for the same reason.
const REQUIREMENTS: &str = include_str!("../fastapi/requirements.txt");

/// `target/bench-venv`, next to the `release` directory this binary runs from.
///
/// # Errors
/// The binary's path has no `target` directory above it.
pub fn venv_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let target = exe
        .parent()
        .and_then(Path::parent)
        .context("no target directory above the bench binary")?;
    Ok(target.join("bench-venv"))
}

/// Makes (or reuses) the virtualenv in `venv` with the pinned requirements and writes `app.py`
/// there.
///
/// # Errors
/// `python3 -m venv` or `pip install` failed; the message says which, for the skipped row.
pub async fn ensure_venv(venv: &Path) -> anyhow::Result<()> {
    let stamp = venv.join("requirements.txt");
    let current = std::fs::read_to_string(&stamp).ok();
    if current.as_deref() != Some(REQUIREMENTS) || !venv.join("bin/uvicorn").exists() {
        if !venv.join("bin/python").exists() {
            run_quiet("python3", &["-m", "venv", &venv.to_string_lossy()])
                .await
                .context("python3 -m venv")?;
        }
        let requirements = venv.join("requirements.wanted.txt");
        std::fs::write(&requirements, REQUIREMENTS)?;
        let pip = venv.join("bin/pip");
        let args = ["install", "-q", "-r", &requirements.to_string_lossy()];
        run_quiet(&pip.to_string_lossy(), &args)
            .await
            .context("pip install -r requirements.txt")?;
        std::fs::write(&stamp, REQUIREMENTS)?;
    }
    std::fs::write(venv.join("app.py"), APP_PY)?;
    Ok(())
}

/// Runs a program to completion; on failure, the error carries the last lines of its stderr.
async fn run_quiet(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let out = tokio::process::Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .await
        .with_context(|| format!("cannot run {program}"))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = err.lines().rev().take(3).collect();
    anyhow::bail!(
        "{program} exited with {}: {}",
        out.status,
        tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
    )
}

/// Starts `uvicorn app:app --workers 2` from `venv` on a free loopback port, in its own process
/// group (so stopping it stops its workers), verifying tokens of `issuer` for `audience`.
///
/// # Errors
/// No free port, or uvicorn could not be spawned.
pub fn start(venv: &Path, issuer: &str, audience: &str) -> anyhow::Result<Server> {
    let port = free_port()?;
    let child = tokio::process::Command::new(venv.join("bin/uvicorn"))
        .args(["app:app", "--host", "127.0.0.1", "--workers", "2"])
        .args(["--port", &port.to_string(), "--log-level", "warning"])
        .arg("--no-access-log")
        .current_dir(venv)
        .env("BENCH_ISSUER", issuer)
        .env("BENCH_AUDIENCE", audience)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .context("starting uvicorn")?;
    Server::new(child, format!("http://127.0.0.1:{port}"), true)
}
