//! A running `pymd` child process whose stdout is read line by line as it arrives, so a test can
//! wait (bounded by a timeout) for the start banner and take the addresses from it. The reader
//! keeps draining stdout afterwards, so a chatty child never blocks on a full pipe, and everything
//! it printed is available when it is stopped.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::mpsc;

/// How long a child may take to print its start lines.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// `pymd` with a clean environment: only `PATH` and `RUST_LOG=warn`, run in `dir` (which has no
/// `.env` file unless the test writes one).
pub fn pymd(dir: &std::path::Path) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_pymd"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .current_dir(dir);
    c
}

/// A fresh data directory `pymd-{tag}-…` under the system's temporary directory.
pub fn fresh_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pymd-{tag}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `pymd serve` as on a fresh machine (no `AUTH0_*`), data in `dir`, the app and the dev tenant
/// on `127.0.0.1:0`; `extra` variables on top.
pub fn serve_on_loopback(dir: &std::path::Path, extra: &[(&str, &str)]) -> Running {
    let mut command = pymd(dir);
    command
        .arg("serve")
        .env("PYMD_DATA_DIR", dir)
        .env("PYMD_BIND", "127.0.0.1:0")
        .env("PYMD_DEV_TENANT_BIND", "127.0.0.1:0")
        .envs(extra.iter().copied());
    Running::spawn(command)
}

/// A started child.
pub struct Running {
    child: tokio::process::Child,
    lines: mpsc::UnboundedReceiver<String>,
    stdout: Vec<String>,
    stderr: tokio::task::JoinHandle<String>,
}

/// What a stopped child printed.
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

impl Running {
    /// Spawns `command` with piped stdout and stderr (killed if the test panics).
    pub fn spawn(mut command: tokio::process::Command) -> Running {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn pymd");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = tokio::spawn(async move {
            let mut all = String::new();
            let _ = stderr.read_to_string(&mut all).await;
            all
        });
        Running {
            child,
            lines,
            stdout: Vec::new(),
            stderr,
        }
    }

    /// The stdout lines read so far.
    pub fn stdout(&self) -> &[String] {
        &self.stdout
    }

    /// Waits for the first stdout line (already read or still to come) for which `pick` gives a
    /// value, and returns it. Panics, with everything the child printed, when the child ends or
    /// [`START_TIMEOUT`] passes first.
    pub async fn wait_for<T>(&mut self, what: &str, pick: impl Fn(&str) -> Option<T>) -> T {
        if let Some(v) = self.stdout.iter().find_map(|l| pick(l)) {
            return v;
        }
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => {
                    let found = pick(&line);
                    self.stdout.push(line);
                    if let Some(v) = found {
                        return v;
                    }
                }
                Ok(None) => {
                    let status = self.child.wait().await;
                    let stderr = (&mut self.stderr).await.unwrap_or_default();
                    panic!(
                        "pymd ended ({status:?}) before printing {what}\nstdout:\n{}\nstderr:\n{stderr}",
                        self.stdout.join("\n")
                    );
                }
                Err(_) => panic!(
                    "pymd printed no {what} within {START_TIMEOUT:?}\nstdout:\n{}",
                    self.stdout.join("\n")
                ),
            }
        }
    }

    /// Kills the child and returns all it printed.
    pub async fn stop(mut self) -> Output {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        // The child is gone: the pipes end, so these finish.
        while let Some(line) = self.lines.recv().await {
            self.stdout.push(line);
        }
        Output {
            stdout: self.stdout.join("\n"),
            stderr: self.stderr.await.unwrap_or_default(),
        }
    }
}

/// The URL that follows `label` on a banner line, e.g. `app:` in
/// `  app:        http://localhost:41234/  (listening on 127.0.0.1:41234)`.
pub fn url_after(label: &str) -> impl Fn(&str) -> Option<url::Url> {
    let label = label.to_owned();
    move |line: &str| {
        let rest = line.trim_start().strip_prefix(label.as_str())?;
        url::Url::parse(rest.split_whitespace().next()?).ok()
    }
}

/// The address in `(listening on ADDR…)` on the banner line that starts with `label`.
pub fn listening_after(label: &str) -> impl Fn(&str) -> Option<std::net::SocketAddr> {
    let label = label.to_owned();
    move |line: &str| {
        let rest = line.trim_start().strip_prefix(label.as_str())?;
        let (_, after) = rest.split_once("(listening on ")?;
        after
            .split(|c: char| c == ')' || c == ';' || c.is_whitespace())
            .next()?
            .parse()
            .ok()
    }
}
