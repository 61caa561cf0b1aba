//! The servers a benchmark run starts as child processes, on free 127.0.0.1 ports: `pymd
//! serve` (SQLite, PostgreSQL, or with the dev tenant), the naive peer and uvicorn. Each is
//! stopped by its own process id (or, for uvicorn's worker tree, its own process group), and
//! its peak resident memory is read from `/proc` before it stops.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;

/// A free TCP port on 127.0.0.1 (the listener is closed again at once).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A started server: its process, its origin and what to remove when it stops.
pub struct Server {
    child: tokio::process::Child,
    pid: u32,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Stop the whole process group (uvicorn's supervisor and its workers).
    group: bool,
    scratch: Option<PathBuf>,
}

impl Server {
    /// Wraps a spawned child. With `group`, the child must lead its own process group.
    pub fn new(child: tokio::process::Child, base: String, group: bool) -> anyhow::Result<Self> {
        let pid = child.id().context("the server exited at once")?;
        Ok(Server {
            child,
            pid,
            base,
            group,
            scratch: None,
        })
    }

    /// Removes `dir` when the server stops.
    pub fn with_scratch(mut self, dir: PathBuf) -> Self {
        self.scratch = Some(dir);
        self
    }

    /// Peak resident memory (VmHWM) in KiB of the server's process and every descendant.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let root = vm_hwm_kib(self.pid)?;
        let tree: u64 = descendants(self.pid)
            .into_iter()
            .filter_map(vm_hwm_kib)
            .sum();
        Some(root + tree)
    }

    /// Polls `path` until it answers (any status) or `within` passes.
    ///
    /// # Errors
    /// The server exited, or did not answer in time.
    pub async fn wait_ready(
        &mut self,
        client: &reqwest::Client,
        path: &str,
        within: Duration,
    ) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            if client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .is_ok()
            {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                anyhow::bail!("the server exited before answering ({status})");
            }
            anyhow::ensure!(
                start.elapsed() < within,
                "no answer from {} within {within:?}",
                self.base
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the server (SIGTERM to uvicorn's group so its workers stop with it, SIGKILL
    /// otherwise), waits for it and removes its scratch directory.
    pub async fn stop(mut self) {
        if self.group {
            let tree = descendants(self.pid);
            signal(&format!("-{}", self.pid), "-TERM").await;
            let stopped = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
            if stopped.is_err() {
                signal(&format!("-{}", self.pid), "-KILL").await;
            }
            for pid in tree {
                if std::path::Path::new(&format!("/proc/{pid}")).exists() {
                    signal(&pid.to_string(), "-KILL").await;
                }
            }
        } else {
            let _ = self.child.start_kill();
        }
        let _ = self.child.wait().await;
        if let Some(dir) = self.scratch.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// `kill <sig> -- <target>` (a pid, or `-pgid` for a process group we started).
async fn signal(target: &str, sig: &str) {
    let _ = tokio::process::Command::new("kill")
        .args([sig, "--", target])
        .stderr(Stdio::null())
        .status()
        .await;
}

/// A process's peak resident memory in KiB (`VmHWM` of `/proc/<pid>/status`).
pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Every live descendant of `root` (children, their children, …), from `/proc/*/stat`.
pub fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, parent_of(pid)?)))
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    found.remove(0);
    found
}

/// The parent pid in `/proc/<pid>/stat` (the field after the parenthesised command name).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// How `pymd serve` is pointed at its database and identity provider.
pub enum PymdMode<'a> {
    /// A SQLite file in the scratch directory; tokens from `issuer` (`AUTH0_ISSUER_BASE_URL`).
    Sqlite { issuer: &'a str },
    /// `DATABASE_URL`; tokens from `issuer`.
    Database { url: &'a str, issuer: &'a str },
    /// The embedded dev tenant on a second free port (full browser sign-ins).
    DevTenant,
}

/// Starts `pymd serve` from the release binary `pymd` on a free port.
///
/// # Errors
/// No free port, or the process could not be spawned.
pub fn start_pymd(pymd: &Path, mode: PymdMode<'_>) -> anyhow::Result<Server> {
    let scratch =
        std::env::temp_dir().join(format!("pymd-bench-{}", uuid::Uuid::new_v4().simple()));
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = tokio::process::Command::new(pymd);
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PYMD_BIND", format!("127.0.0.1:{port}"))
        .env("PYMD_DATA_DIR", &scratch)
        .env("AUTH0_BASE_URL", &base)
        .env("RUST_LOG", "warn");
    match mode {
        PymdMode::Sqlite { issuer } => {
            cmd.env("AUTH0_ISSUER_BASE_URL", issuer);
        }
        PymdMode::Database { url, issuer } => {
            cmd.env("AUTH0_ISSUER_BASE_URL", issuer)
                .env("DATABASE_URL", url);
        }
        PymdMode::DevTenant => {
            cmd.env(
                "PYMD_DEV_TENANT_BIND",
                format!("127.0.0.1:{}", free_port()?),
            )
            // 100 browsers on one loopback address sign in over and over: the per-IP
            // limit of /auth/* (10 a minute) would measure the limiter, not the sign-in.
            .env("PYMD_AUTH_RATE_LIMIT_PER_MINUTE", "100000000");
        }
    }
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("starting pymd serve")?;
    Ok(Server::new(child, base, false)?.with_scratch(scratch))
}

/// The release `pymd` binary next to this one.
///
/// # Errors
/// It has not been built.
pub fn pymd_binary() -> anyhow::Result<PathBuf> {
    let pymd = std::env::current_exe()?.with_file_name("pymd");
    anyhow::ensure!(
        pymd.exists(),
        "{} not found: run `cargo build --release` first",
        pymd.display()
    );
    Ok(pymd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_peak_rss_and_its_parent_is_read_from_stat() {
        let me = std::process::id();
        assert!(vm_hwm_kib(me).is_some_and(|k| k > 0));
        let parent = parent_of(me).expect("own parent");
        assert!(descendants(parent).contains(&me));
    }
}
