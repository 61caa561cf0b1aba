//! The soak's traffic: API workers that create, update, read and list their own documents with
//! access tokens the IdP minted, sign-in workers that run full browser sign-ins and then open
//! the dashboard with the new session, and a probe of `/readyz`. Every request is recorded
//! (operation, start, end, outcome); the report judges them afterwards.
//!
//! Each API worker owns the documents it created, so it knows what each must hold: the last
//! acknowledged write (a create answered 201, an update answered 200) and the writes sent after
//! it whose answer never came or was a 5xx (they may or may not have been applied). Updates
//! carry `If-Match` with the acknowledged version, so nothing is overwritten blindly; a read
//! must show the acknowledged version and content, or a later one that is one of those pending
//! writes. Anything else is a lost or stale write.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::signin::{SESSION_COOKIE, SignInFailure, one_login};

/// What a request was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// `POST /api/v1/documents`.
    Create,
    /// `PUT /api/v1/documents/{id}` with `If-Match`.
    Update,
    /// `GET /api/v1/documents/{id}`.
    Read,
    /// `GET /api/v1/documents?limit=20`.
    List,
    /// A full browser sign-in (several hops).
    SignIn,
    /// `GET /dashboard` with the session a sign-in just made.
    Dashboard,
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP answer; `retry_after` says whether it carried `Retry-After`.
    Answered { status: u16, retry_after: bool },
    /// The connection could not be made (or was reset before an answer).
    Connect,
    /// No answer within [`REQUEST_TIMEOUT`].
    Timeout,
    /// Any other transport error (a body cut short…).
    Broken,
    /// A sign-in that ended with a session.
    SignedIn,
    /// A sign-in that stopped at a hop.
    SignInFailed(SignInFailure),
}

impl Outcome {
    /// A success for the soak: a 2xx (a 412 on an update is the concurrency control working
    /// and is judged by the worker), or a completed sign-in.
    pub fn is_success(&self, op: Op) -> bool {
        match self {
            Outcome::Answered { status, .. } => {
                (200..300).contains(status) || (op == Op::Update && *status == 412)
            }
            Outcome::SignedIn => true,
            _ => false,
        }
    }
}

/// One recorded request; times are from the start of the load.
#[derive(Debug, Clone)]
pub struct Record {
    pub op: Op,
    pub start: Duration,
    pub end: Duration,
    pub outcome: Outcome,
}

/// Bound on every request: a request without an answer by then is reported as a hang.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Pause between two requests of an API worker.
const API_PAUSE: Duration = Duration::from_millis(5);
/// Pause between two sign-ins of a sign-in worker.
const SIGNIN_PAUSE: Duration = Duration::from_millis(200);

/// The HTTP client of the load: no redirects followed (the sign-in follows them itself), bounded
/// requests.
///
/// # Errors
/// The client cannot be built.
pub fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(64)
        .build()?)
}

/// The time base of the load, and the flag that ends it (set by the scheduler, since the run
/// is stretched by however long the restarts take).
#[derive(Clone)]
pub struct Clock {
    pub t0: Instant,
    pub stop: Arc<AtomicBool>,
}

impl Clock {
    /// A clock starting now.
    pub fn start() -> Self {
        Self {
            t0: Instant::now(),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Now, from the start of the load.
    pub fn now(&self) -> Duration {
        self.t0.elapsed()
    }

    fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
    }
}

/// A small xorshift generator: the soak needs variety, not statistics.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// What a worker knows a document holds.
#[derive(Debug, Clone)]
pub struct Doc {
    pub id: String,
    /// The acknowledged version, title and content.
    pub version: i64,
    pub title: String,
    pub content: String,
    /// Writes sent after the acknowledged one without a definite answer.
    pub pending: Vec<(String, String)>,
    /// A read is due before the next update (after a 412).
    resync: bool,
}

/// What one document turned out to hold when read.
pub enum Check {
    /// The acknowledged state.
    Acknowledged,
    /// A later version holding one of the writes whose answer was lost.
    PendingApplied,
    /// Anything else: the acknowledged write is not what the server holds.
    Lost(String),
}

impl Doc {
    /// Compares a read of this document (`None` for a 404) with what was acknowledged, and
    /// adopts what was read.
    pub fn check(&mut self, read: Option<(i64, String, String)>) -> Check {
        let Some((version, title, content)) = read else {
            return Check::Lost(format!(
                "document {} (acknowledged at version {}) is gone (404)",
                self.id, self.version
            ));
        };
        let check = if version == self.version && title == self.title && content == self.content {
            Check::Acknowledged
        } else if version > self.version
            && self
                .pending
                .iter()
                .any(|(t, c)| *t == title && *c == content)
        {
            Check::PendingApplied
        } else {
            Check::Lost(format!(
                "document {}: acknowledged version {} ({:?}), read version {version} ({title:?})",
                self.id, self.version, self.title
            ))
        };
        // A pending write still in flight carries `If-Match` with the acknowledged version: it
        // can still land while the acknowledged state is what is read, never after a newer one.
        if !matches!(check, Check::Acknowledged) {
            self.pending.clear();
        }
        self.version = version;
        self.title = title;
        self.content = content;
        self.resync = false;
        check
    }
}

/// An answer: its outcome and, when it was JSON, its body.
struct Answer {
    outcome: Outcome,
    body: Option<serde_json::Value>,
}

/// Sends `rb` and classifies what came back.
async fn send(rb: reqwest::RequestBuilder) -> Answer {
    match rb.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            let retry_after = r.headers().contains_key("retry-after");
            match r.bytes().await {
                Ok(bytes) => Answer {
                    outcome: Outcome::Answered {
                        status,
                        retry_after,
                    },
                    body: serde_json::from_slice(&bytes).ok(),
                },
                Err(e) => Answer {
                    outcome: transport(&e),
                    body: None,
                },
            }
        }
        Err(e) => Answer {
            outcome: transport(&e),
            body: None,
        },
    }
}

fn transport(e: &reqwest::Error) -> Outcome {
    if e.is_timeout() {
        Outcome::Timeout
    } else if e.is_connect() {
        Outcome::Connect
    } else {
        Outcome::Broken
    }
}

/// `(version, title, content)` of a `{"document": …}` body.
fn document_state(body: Option<&serde_json::Value>) -> Option<(i64, String, String)> {
    let d = body?.get("document")?;
    Some((
        d.get("version")?.as_i64()?,
        d.get("title")?.as_str()?.to_owned(),
        d.get("content")?.as_str()?.to_owned(),
    ))
}

/// What an API worker leaves: its records, its documents, the writes acknowledged and any
/// inconsistency it saw while running.
pub struct ApiResult {
    pub records: Vec<Record>,
    pub docs: Vec<Doc>,
    pub acknowledged_writes: usize,
    /// Reads during the run that found a write whose answer was lost applied.
    pub pending_applied: usize,
    pub violations: Vec<String>,
}

/// One API worker: until the clock stops, creates (15%), updates (35%), reads (30%) and lists
/// (20%) with its own token, keeping at least two documents of its own.
pub async fn api_worker(
    id: usize,
    http: reqwest::Client,
    base: String,
    token: String,
    clock: Clock,
) -> ApiResult {
    let mut rng = Rng::new(id as u64 + 1);
    let mut out = ApiResult {
        records: Vec::new(),
        docs: Vec::new(),
        acknowledged_writes: 0,
        pending_applied: 0,
        violations: Vec::new(),
    };
    let mut serial = 0u64;
    while clock.running() {
        serial += 1;
        let roll = rng.below(100);
        let resync = out.docs.iter().position(|d| d.resync);
        let start = clock.now();
        let (op, outcome) = if let Some(i) = resync {
            read(&http, &base, &token, &mut out, i).await
        } else if out.docs.len() < 2 || roll < 15 {
            create(&http, &base, &token, &mut out, id, serial).await
        } else if roll < 50 {
            let i = rng.below(out.docs.len());
            update(&http, &base, &token, &mut out, i, serial).await
        } else if roll < 80 {
            let i = rng.below(out.docs.len());
            read(&http, &base, &token, &mut out, i).await
        } else {
            let a = send(
                http.get(format!("{base}/api/v1/documents?limit=20"))
                    .bearer_auth(&token),
            )
            .await;
            (Op::List, a.outcome)
        };
        out.records.push(Record {
            op,
            start,
            end: clock.now(),
            outcome,
        });
        tokio::time::sleep(API_PAUSE).await;
    }
    out
}

/// A document body with a few Markdown features, unique to this write.
fn content(worker: usize, serial: u64) -> String {
    format!(
        "# Soak {worker}-{serial}\n\nWritten by soak worker {worker}, write {serial}.\n\n\
         - a *list* item\n- `code`\n\n> quoted\n"
    )
}

async fn create(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    out: &mut ApiResult,
    worker: usize,
    serial: u64,
) -> (Op, Outcome) {
    let title = format!("soak w{worker} #{serial}");
    let content = content(worker, serial);
    let a = send(
        http.post(format!("{base}/api/v1/documents"))
            .bearer_auth(token)
            .json(&serde_json::json!({ "title": title, "content": content })),
    )
    .await;
    if let Outcome::Answered { status: 201, .. } = a.outcome {
        let id = a
            .body
            .as_ref()
            .and_then(|b| b.pointer("/document/id"))
            .and_then(|v| v.as_str());
        match (id, document_state(a.body.as_ref())) {
            (Some(id), Some((version, t, c))) if t == title && c == content => {
                out.acknowledged_writes += 1;
                out.docs.push(Doc {
                    id: id.to_owned(),
                    version,
                    title,
                    content,
                    pending: Vec::new(),
                    resync: false,
                });
            }
            _ => out
                .violations
                .push("a 201 to a create without the document just written".to_owned()),
        }
    }
    (Op::Create, a.outcome)
}

async fn update(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    out: &mut ApiResult,
    i: usize,
    serial: u64,
) -> (Op, Outcome) {
    let Some(doc) = out.docs.get_mut(i) else {
        return (Op::Update, Outcome::Broken);
    };
    let title = format!(
        "{} r{serial}",
        doc.title.split(" r").next().unwrap_or("soak")
    );
    let content = format!("{}\nRevision {serial}.\n", content(0, serial));
    let a = send(
        http.put(format!("{base}/api/v1/documents/{}", doc.id))
            .bearer_auth(token)
            .header("if-match", format!("\"{}\"", doc.version))
            .json(&serde_json::json!({ "title": title, "content": content })),
    )
    .await;
    match a.outcome {
        Outcome::Answered { status: 200, .. } => match document_state(a.body.as_ref()) {
            Some((version, t, c)) if version == doc.version + 1 && t == title && c == content => {
                doc.version = version;
                doc.title = title;
                doc.content = content;
                doc.pending.clear();
                out.acknowledged_writes += 1;
            }
            other => {
                out.violations.push(format!(
                    "document {}: a 200 to an update of version {} answered {:?}",
                    doc.id,
                    doc.version,
                    other.map(|(v, t, _)| (v, t))
                ));
                doc.resync = true;
            }
        },
        Outcome::Answered { status: 412, .. } => {
            if doc.pending.is_empty() {
                out.violations.push(format!(
                    "document {}: 412 to an update of the acknowledged version {} with no \
                     unanswered write before it",
                    doc.id, doc.version
                ));
            }
            doc.resync = true;
        }
        Outcome::Answered { status: 404, .. } => {
            out.violations.push(format!(
                "document {}: 404 to an update (acknowledged at version {})",
                doc.id, doc.version
            ));
            out.docs.remove(i);
        }
        Outcome::Answered { status, .. } if status < 500 => {}
        // A 5xx or no answer: the write may or may not have been applied.
        _ => doc.pending.push((title, content)),
    }
    (Op::Update, a.outcome)
}

async fn read(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    out: &mut ApiResult,
    i: usize,
) -> (Op, Outcome) {
    let Some(doc) = out.docs.get_mut(i) else {
        return (Op::Read, Outcome::Broken);
    };
    let a = send(
        http.get(format!("{base}/api/v1/documents/{}", doc.id))
            .bearer_auth(token),
    )
    .await;
    let seen = match a.outcome {
        Outcome::Answered { status: 200, .. } => match document_state(a.body.as_ref()) {
            Some(state) => Some(Some(state)),
            None => {
                out.violations
                    .push(format!("document {}: a 200 without a document", doc.id));
                None
            }
        },
        Outcome::Answered { status: 404, .. } => Some(None),
        _ => None,
    };
    if let Some(state) = seen {
        let gone = state.is_none();
        match doc.check(state) {
            Check::Lost(what) => out.violations.push(format!("while running: {what}")),
            Check::PendingApplied => out.pending_applied += 1,
            Check::Acknowledged => {}
        }
        if gone {
            out.docs.remove(i);
        }
    }
    (Op::Read, a.outcome)
}

/// Reads every document after the load (retrying a few times while the answer is neither 200
/// nor 404) and returns `(acknowledged, pending applied, lost)` with a line per lost write.
pub async fn verify(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    docs: &mut [Doc],
) -> (usize, usize, Vec<String>) {
    let (mut acknowledged, mut applied, mut lost) = (0, 0, Vec::new());
    for doc in docs.iter_mut() {
        let mut state = Err("no answer".to_owned());
        for _ in 0..10 {
            let a = send(
                http.get(format!("{base}/api/v1/documents/{}", doc.id))
                    .bearer_auth(token),
            )
            .await;
            state = match a.outcome {
                Outcome::Answered { status: 200, .. } => document_state(a.body.as_ref())
                    .map(Some)
                    .ok_or_else(|| "a 200 without a document".to_owned()),
                Outcome::Answered { status: 404, .. } => Ok(None),
                other => Err(format!("{other:?}")),
            };
            if state.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        match state {
            Ok(read) => match doc.check(read) {
                Check::Acknowledged => acknowledged += 1,
                Check::PendingApplied => applied += 1,
                Check::Lost(what) => lost.push(what),
            },
            Err(e) => lost.push(format!("document {}: could not be read: {e}", doc.id)),
        }
    }
    (acknowledged, applied, lost)
}

/// One sign-in worker: full sign-ins until the clock stops, each followed (when it made a session)
/// by `GET /dashboard` with that session.
pub async fn signin_worker(http: reqwest::Client, base: String, clock: Clock) -> Vec<Record> {
    let mut records = Vec::new();
    while clock.running() {
        let start = clock.now();
        let result = one_login(&http, &base).await;
        let end = clock.now();
        match result {
            Ok(session) => {
                records.push(Record {
                    op: Op::SignIn,
                    start,
                    end,
                    outcome: Outcome::SignedIn,
                });
                let a = send(
                    http.get(format!("{base}/dashboard"))
                        .header("cookie", format!("{SESSION_COOKIE}={session}")),
                )
                .await;
                records.push(Record {
                    op: Op::Dashboard,
                    start: end,
                    end: clock.now(),
                    outcome: a.outcome,
                });
            }
            Err(f) => records.push(Record {
                op: Op::SignIn,
                start,
                end,
                outcome: Outcome::SignInFailed(f),
            }),
        }
        tokio::time::sleep(SIGNIN_PAUSE).await;
    }
    records
}

/// One `/readyz` sample: time, status (None: no answer) and its `checks`.
#[derive(Debug, Clone)]
pub struct Probe {
    pub at: Duration,
    pub status: Option<u16>,
    pub database: String,
    pub rate_limits: String,
    pub idp: String,
}

/// Samples `/readyz` every 250 ms until `stop` says so.
pub async fn probe(
    http: reqwest::Client,
    base: String,
    clock: Clock,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<Probe> {
    let mut samples = Vec::new();
    while !*stop.borrow() {
        let at = clock.now();
        let a = send(http.get(format!("{base}/readyz"))).await;
        let check = |name: &str| {
            a.body
                .as_ref()
                .and_then(|b| b.pointer(&format!("/checks/{name}")))
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .unwrap_or_default()
        };
        samples.push(Probe {
            at,
            status: match a.outcome {
                Outcome::Answered { status, .. } => Some(status),
                _ => None,
            },
            database: check("database"),
            rate_limits: check("rate_limits"),
            idp: check("idp"),
        });
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    samples
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Doc {
        Doc {
            id: "d".into(),
            version: 3,
            title: "t3".into(),
            content: "c3".into(),
            pending: vec![("t4".into(), "c4".into())],
            resync: true,
        }
    }

    #[test]
    fn a_read_must_show_the_acknowledged_write_or_a_pending_one_after_it() {
        assert!(matches!(
            doc().check(Some((3, "t3".into(), "c3".into()))),
            Check::Acknowledged
        ));
        assert!(matches!(
            doc().check(Some((4, "t4".into(), "c4".into()))),
            Check::PendingApplied
        ));
        // An older version, other content at the same version, a later version nobody sent,
        // and a 404 are all lost writes.
        for read in [
            Some((2, "t2".to_owned(), "c2".to_owned())),
            Some((3, "t3".to_owned(), "other".to_owned())),
            Some((5, "t5".to_owned(), "c5".to_owned())),
            None,
        ] {
            assert!(matches!(doc().check(read), Check::Lost(_)));
        }
        // What was read becomes the new base.
        let mut d = doc();
        d.check(Some((4, "t4".into(), "c4".into())));
        assert_eq!((d.version, d.pending.len(), d.resync), (4, 0, false));
    }

    #[test]
    fn a_412_is_a_success_only_for_an_update() {
        let conflict = Outcome::Answered {
            status: 412,
            retry_after: false,
        };
        assert!(conflict.is_success(Op::Update));
        assert!(!conflict.is_success(Op::Read));
        assert!(!Outcome::Timeout.is_success(Op::List));
    }
}
