//! The processes the soak owns, each on a free 127.0.0.1 port and in its own directory under
//! the run's temporary directory: a PostgreSQL cluster made with `initdb` (as the `postgres`
//! user when the soak runs as root, since `initdb` refuses root), a `redis-server` without
//! persistence, the IdP (`pymd dev-tenant`) and `pymd serve`. Each can be stopped and started
//! again on the same port; every stop goes to a PID this module started (or the postmaster PID
//! of the cluster it created). Dropping one stops it, so an error or Ctrl-C leaves nothing
//! running — PostgreSQL included, although `pg_ctl` runs it detached.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where Debian's PostgreSQL 15 keeps `initdb` and `pg_ctl`.
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A free port on 127.0.0.1 (bound and released at once).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// An append-mode log file for a child's stdout and stderr.
fn log_file(path: &Path) -> anyhow::Result<(Stdio, Stdio)> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let g = f.try_clone()?;
    Ok((Stdio::from(f), Stdio::from(g)))
}

fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Sends SIGKILL to `pid` (a process this module started).
async fn kill_pid(pid: u32) -> anyhow::Result<()> {
    let status = tokio::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .await?;
    anyhow::ensure!(status.success(), "kill -KILL {pid} failed");
    Ok(())
}

/// Polls `ready` every 100 ms until it holds or `within` passes.
async fn wait_until<F, Fut>(what: &str, within: Duration, mut ready: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !ready().await {
        anyhow::ensure!(
            start.elapsed() < within,
            "{what} not ready within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// The soak's own PostgreSQL cluster.
pub struct Postgres {
    data: PathBuf,
    sockets: PathBuf,
    log: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Postgres {
    /// `initdb` a fresh cluster under `root` (trust authentication, UTF-8) on a free port.
    ///
    /// # Errors
    /// A missing PostgreSQL 15, or `initdb` failing.
    pub async fn init(root: &Path) -> anyhow::Result<Self> {
        let as_postgres = running_as_root();
        std::fs::create_dir_all(root.join("sockets"))?;
        if as_postgres {
            let status = tokio::process::Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(root)
                .status()
                .await?;
            anyhow::ensure!(status.success(), "chown of {} failed", root.display());
        }
        let pg = Self {
            data: root.join("data"),
            sockets: root.join("sockets"),
            log: root.join("postgres.log"),
            port: free_port()?,
            as_postgres,
        };
        let out = pg
            .command("initdb")
            .arg("-D")
            .arg(&pg.data)
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
            .output()
            .await
            .with_context(|| format!("running {PG_BIN}/initdb"))?;
        anyhow::ensure!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(pg)
    }

    /// A PostgreSQL program, run as `postgres` when the soak is root.
    fn command(&self, program: &str) -> tokio::process::Command {
        let path = format!("{PG_BIN}/{program}");
        let mut c = if self.as_postgres {
            let mut c = tokio::process::Command::new("runuser");
            c.args(["-u", "postgres", "--", &path]);
            c
        } else {
            tokio::process::Command::new(path)
        };
        c.stdin(Stdio::null());
        c
    }

    /// The URL `pymd serve` uses.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Where the server logs.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// `pg_ctl start -w` on the cluster's port, listening on 127.0.0.1 only. After a SIGKILL of
    /// the postmaster the start is refused while its children still hold the shared memory, so
    /// it is tried again for up to 30 s.
    ///
    /// # Errors
    /// The server did not start within 30 s.
    pub async fn start(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.sockets.display()
        );
        let start = Instant::now();
        loop {
            let out = self
                .command("pg_ctl")
                .arg("-D")
                .arg(&self.data)
                .arg("-l")
                .arg(&self.log)
                .args(["-w", "-t", "20", "-o", &options, "start"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .output()
                .await?;
            if out.status.success() {
                return Ok(());
            }
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(30),
                "pg_ctl start failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// `pg_ctl stop -m immediate`.
    ///
    /// # Errors
    /// `pg_ctl` failing.
    pub async fn stop_immediate(&self) -> anyhow::Result<()> {
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output()
            .await?;
        anyhow::ensure!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }

    /// The running postmaster's PID, from the cluster's own `postmaster.pid`.
    fn postmaster_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// SIGKILL of this cluster's postmaster.
    ///
    /// # Errors
    /// No postmaster PID, or `kill` failing.
    pub async fn kill(&self) -> anyhow::Result<()> {
        let pid = self
            .postmaster_pid()
            .context("no postmaster.pid in the soak's cluster")?;
        kill_pid(pid).await
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.data.join("postmaster.pid").exists() {
            let path = format!("{PG_BIN}/pg_ctl");
            let mut c = if self.as_postgres {
                let mut c = std::process::Command::new("runuser");
                c.args(["-u", "postgres", "--", &path]);
                c
            } else {
                std::process::Command::new(path)
            };
            let _ = c
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "-w", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The soak's own `redis-server`, without persistence.
pub struct Redis {
    port: u16,
    log: PathBuf,
    child: Option<tokio::process::Child>,
}

impl Redis {
    /// A Redis on a free port, not started yet.
    ///
    /// # Errors
    /// No free port.
    pub fn new(dir: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            port: free_port()?,
            log: dir.join("redis.log"),
            child: None,
        })
    }

    /// The URL `pymd serve` uses.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts `redis-server` and waits until it answers `PING`.
    ///
    /// # Errors
    /// `redis-server` missing or not answering within 10 s.
    pub async fn start(&mut self) -> anyhow::Result<()> {
        let (out, err) = log_file(&self.log)?;
        let child = tokio::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .context("starting redis-server")?;
        self.child = Some(child);
        let port = self.port;
        wait_until("redis-server", Duration::from_secs(10), || ping(port)).await
    }

    /// SIGKILL of the server.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.start_kill()?;
            child.wait().await?;
        }
        Ok(())
    }
}

/// Whether a Redis on `port` answers `PING`.
async fn ping(port: u16) -> bool {
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    if s.write_all(b"PING\r\n").await.is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), s.read_exact(&mut buf)).await,
        Ok(Ok(_)) if &buf == b"+PONG\r\n"
    )
}

/// A `pymd` child process (the IdP or the app) with its environment, restartable on its port.
pub struct Pymd {
    exe: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    log: PathBuf,
    port: u16,
    ready_path: &'static str,
    child: Option<tokio::process::Child>,
}

impl Pymd {
    /// `pymd dev-tenant` on `port`, its keys in `data_dir`, for the app at `app_base` (its
    /// callback) with the app's internal token (its post-login Action calls the app).
    pub fn dev_tenant(
        exe: &Path,
        dir: &Path,
        port: u16,
        app_base: &str,
        internal_token: &str,
    ) -> Self {
        let data = dir.join("tenant");
        Self {
            exe: exe.to_owned(),
            args: vec![
                "dev-tenant".into(),
                "--bind".into(),
                format!("127.0.0.1:{port}"),
            ],
            env: vec![
                ("PYMD_DATA_DIR".into(), data.display().to_string()),
                ("AUTH0_BASE_URL".into(), app_base.to_owned()),
                ("INTERNAL_API_TOKEN".into(), internal_token.to_owned()),
            ],
            log: dir.join("tenant.log"),
            port,
            ready_path: "/.well-known/openid-configuration",
            child: None,
        }
    }

    /// `pymd serve` on `port` with `env` (the IdP, PostgreSQL, Redis and secrets).
    pub fn serve(exe: &Path, dir: &Path, port: u16, env: Vec<(String, String)>) -> Self {
        Self {
            exe: exe.to_owned(),
            args: vec!["serve".into()],
            env,
            log: dir.join("app.log"),
            port,
            ready_path: "/healthz",
            child: None,
        }
    }

    /// The base URL, without a trailing `/`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Where its stdout and stderr go.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The running child's PID.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(tokio::process::Child::id)
    }

    /// Whether the child is still running (it has not exited).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Starts the process (clean environment: `PATH`, `RUST_LOG=warn` and its own variables)
    /// and waits until its ready path answers 200.
    ///
    /// # Errors
    /// Spawning failed, or no answer within 30 s.
    pub async fn start(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        let (out, err) = log_file(&self.log)?;
        let child = tokio::process::Command::new(&self.exe)
            .args(&self.args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting pymd {}", self.args.join(" ")))?;
        self.child = Some(child);
        let url = format!("{}{}", self.base(), self.ready_path);
        let what = format!("pymd {}", self.args[0]);
        wait_until(&what, Duration::from_secs(30), || async {
            http.get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await
    }

    /// SIGKILL of the child.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.start_kill()?;
            child.wait().await?;
        }
        Ok(())
    }

    /// `pymd token --user USER` against this dev tenant: a user's access token.
    ///
    /// # Errors
    /// `pymd token` failing (its stderr is included; it holds no secret).
    pub async fn token_for(&self, user: &str) -> anyhow::Result<String> {
        let out = tokio::process::Command::new(&self.exe)
            .args(["token", "--user", user])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("PYMD_DEV_TENANT_BIND", format!("127.0.0.1:{}", self.port))
            .stdin(Stdio::null())
            .output()
            .await
            .context("running pymd token")?;
        anyhow::ensure!(
            out.status.success(),
            "pymd token: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

/// `VmRSS` and `VmHWM` of `pid`, in KiB.
pub fn memory_kib(pid: u32) -> (Option<u64>, Option<u64>) {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return (None, None);
    };
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    (field("VmRSS:"), field("VmHWM:"))
}
