//! The post-login flow: the tenant's own Action JavaScript (bound to the `post-login` trigger in
//! `tenant.yaml`), run for real in an embedded QuickJS engine at every login and at every
//! refresh-token exchange, as Auth0 runs it. The Actions alone shape the tokens' custom claims
//! and scopes, may deny the login, and may set the user's metadata; nothing is added that an
//! Action did not ask for.
//!
//! `engine` drives QuickJS, `host` is its one door to the network, and `prelude.js` is the
//! Node-like world the Action's code sees (console, timers, fetch, axios, `api`). The module is a
//! foundation: it knows nothing of the tenant's configuration or requests (the `event` object is
//! built by the `postlogin` service). What of Auth0's surface is covered: `docs/dev-tenant.md`.

mod engine;
mod host;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

/// Console lines kept per flow, and across flows for `/__dev/actions/console`.
const MAX_CONSOLE_LINES: usize = 500;

/// Auth0's time budget for a trigger's Actions.
pub const AUTH0_BUDGET: Duration = Duration::from_secs(20);

/// One deployed Action, bound to `post-login`.
#[derive(Debug, Clone)]
pub struct Action {
    /// Its name in `tenant.yaml`.
    pub name: String,
    /// Its JavaScript (a CommonJS module exporting `onExecutePostLogin`).
    pub code: String,
    /// `event.secrets`, by name.
    pub secrets: Vec<(String, String)>,
    /// Declared dependencies the dev tenant provides (`axios`).
    pub dependencies: Vec<String>,
}

/// A line an Action wrote with `console.*`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConsoleLine {
    /// `log`, `info`, `debug`, `warn` or `error`.
    pub level: String,
    /// The formatted arguments.
    pub text: String,
}

/// Why a flow ended the login (or the refresh) instead of letting it through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// `api.access.deny(reason)`.
    Denied(String),
    /// The handler threw or its promise rejected.
    Threw {
        /// Which Action.
        action: String,
        /// The error's message.
        message: String,
    },
    /// The flow ran past its time budget.
    TimedOut {
        /// Which Action was running.
        action: String,
    },
    /// The handler's promise waits on nothing that could ever settle it.
    NeverSettles {
        /// Which Action.
        action: String,
    },
    /// The engine itself failed (out of memory, a broken prelude).
    Engine(String),
}

impl Failure {
    /// The `error_description` the client receives with `access_denied`.
    pub fn description(&self) -> String {
        match self {
            Failure::Denied(reason) => reason.clone(),
            Failure::Threw { message, .. } => message.clone(),
            Failure::TimedOut { .. } | Failure::NeverSettles { .. } => {
                "Script Execution Time Exceeded".to_string()
            }
            Failure::Engine(_) => "Internal error in the post-login flow".to_string(),
        }
    }
}

/// What the flow's Actions asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// `api.accessToken.setCustomClaim`.
    pub access_claims: Map<String, Value>,
    /// `api.idToken.setCustomClaim`.
    pub id_claims: Map<String, Value>,
    /// `api.accessToken.addScope` / `removeScope`, in call order (`true` = add).
    pub scope_changes: Vec<(bool, String)>,
    /// `api.user.setUserMetadata` (`null` removes a key).
    pub user_metadata: Map<String, Value>,
    /// `api.user.setAppMetadata` (`null` removes a key).
    pub app_metadata: Map<String, Value>,
}

/// Claims an Action may not set: Auth0 drops them silently (its list of restricted claims).
const RESTRICTED: &[&str] = &[
    "acr",
    "act",
    "active",
    "amr",
    "at_hash",
    "ath",
    "attest",
    "aud",
    "auth_time",
    "authorization_details",
    "azp",
    "c_hash",
    "client_id",
    "cnf",
    "cty",
    "dest",
    "entitlements",
    "events",
    "exp",
    "groups",
    "gty",
    "htm",
    "htu",
    "iat",
    "internalService",
    "iss",
    "jcard",
    "jku",
    "jti",
    "jwe",
    "jwk",
    "kid",
    "may_act",
    "mky",
    "nbf",
    "nonce",
    "object_id",
    "org_id",
    "org_name",
    "orig",
    "origid",
    "permissions",
    "roles",
    "rph",
    "s_hash",
    "scope",
    "sid",
    "sip_callid",
    "sip_cseqnum",
    "sip_date",
    "sip_from",
    "sip_via_branch",
    "sub",
    "sub_jwk",
    "toe",
    "txn",
    "typ",
    "uuid",
    "vot",
    "vtm",
    "x5t#S256",
];

/// Namespaces reserved to Auth0.
const RESTRICTED_DOMAINS: &[&str] = &["auth0.com", "webtask.io", "webtask.run"];

fn allowed_claim(name: &str) -> bool {
    if RESTRICTED.contains(&name) {
        return false;
    }
    let host = url::Url::parse(name)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
    !host.is_some_and(|h| {
        RESTRICTED_DOMAINS
            .iter()
            .any(|d| h == *d || h.ends_with(&format!(".{d}")))
    })
}

impl Outcome {
    fn from_record(record: &Value) -> Outcome {
        let map = |k: &str| record[k].as_object().cloned().unwrap_or_default();
        let scope_changes = record["scopes"]
            .as_array()
            .map(|ops| {
                ops.iter()
                    .filter_map(|op| Some((op[0].as_str()? == "add", op[1].as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        Outcome {
            access_claims: map("accessClaims"),
            id_claims: map("idClaims"),
            scope_changes,
            user_metadata: map("userMetadata"),
            app_metadata: map("appMetadata"),
        }
    }

    /// Adds the access-token custom claims (restricted ones dropped, as Auth0 does) and applies
    /// the scope changes to `claims["scope"]`.
    pub fn shape_access_token(&self, claims: &mut Map<String, Value>) {
        insert_custom(&self.access_claims, claims);
        if self.scope_changes.is_empty() {
            return;
        }
        let mut scope: Vec<String> = claims
            .get("scope")
            .and_then(Value::as_str)
            .map(|s| {
                s.split(' ')
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        for (add, s) in &self.scope_changes {
            scope.retain(|x| x != s);
            if *add {
                scope.push(s.clone());
            }
        }
        claims.insert("scope".into(), Value::String(scope.join(" ")));
    }

    /// Adds the ID-token custom claims (restricted ones dropped).
    pub fn shape_id_token(&self, claims: &mut Map<String, Value>) {
        insert_custom(&self.id_claims, claims);
    }
}

fn insert_custom(custom: &Map<String, Value>, claims: &mut Map<String, Value>) {
    for (k, v) in custom {
        if allowed_claim(k) && !v.is_null() {
            claims.insert(k.clone(), v.clone());
        }
    }
}

/// The Actions bound to `post-login`, in trigger order, and how to run them.
#[derive(Clone)]
pub struct PostLoginFlow {
    actions: Arc<Vec<Action>>,
    budget: Duration,
    http: reqwest::Client,
    console: Arc<Mutex<VecDeque<ConsoleLine>>>,
}

impl std::fmt::Debug for PostLoginFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostLoginFlow")
            .field(
                "actions",
                &self.actions.iter().map(|a| &a.name).collect::<Vec<_>>(),
            )
            .field("budget", &self.budget)
            .finish()
    }
}

impl PostLoginFlow {
    /// A flow of `actions` held to `budget`, fetching with `http`.
    pub fn new(actions: Vec<Action>, budget: Duration, http: reqwest::Client) -> PostLoginFlow {
        PostLoginFlow {
            actions: Arc::new(actions),
            budget,
            http,
            console: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    /// Runs every bound Action on `event`.
    ///
    /// # Errors
    /// [`Failure`]: an Action denied, threw, or ran past the budget; the login (or refresh)
    /// must end with `access_denied`.
    pub async fn run(&self, event: Value) -> Result<Outcome, Failure> {
        if self.actions.is_empty() {
            return Ok(Outcome::default());
        }
        let fetcher = host::Fetcher {
            http: self.http.clone(),
            runtime: tokio::runtime::Handle::current(),
            deadline: Instant::now() + self.budget,
        };
        let actions = self.actions.clone();
        let deadline = fetcher.deadline;
        let ran = tokio::task::spawn_blocking(move || {
            engine::execute(&actions, &event, deadline, fetcher)
        })
        .await
        .map_err(|e| Failure::Engine(format!("the flow's thread failed: {e}")))?;
        let (result, lines) = match ran {
            Ok(done) => (Ok(done.record), done.console),
            Err((failure, lines)) => (Err(failure), lines),
        };
        self.keep_console(lines);
        let record = result?;
        if let Some(reason) = record["denied"].as_str() {
            return Err(Failure::Denied(reason.to_string()));
        }
        Ok(Outcome::from_record(&record))
    }

    fn keep_console(&self, lines: Vec<ConsoleLine>) {
        for l in &lines {
            tracing::info!(target: "pymd_tenant::action", level = %l.level, "{}", l.text);
        }
        if let Ok(mut kept) = self.console.lock() {
            for l in lines {
                if kept.len() == MAX_CONSOLE_LINES {
                    kept.pop_front();
                }
                kept.push_back(l);
            }
        }
    }

    /// The most recent console lines of all flows, oldest first.
    pub fn console(&self) -> Vec<ConsoleLine> {
        self.console
            .lock()
            .map(|k| k.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Checks that an Action's code compiles, so a syntax error stops the tenant at start.
///
/// # Errors
/// The engine's syntax error message.
pub fn check_syntax(code: &str) -> Result<(), String> {
    let rt = rquickjs::Runtime::new().map_err(|e| e.to_string())?;
    let ctx = rquickjs::Context::full(&rt).map_err(|e| e.to_string())?;
    ctx.with(|ctx| {
        use rquickjs::CatchResultExt;
        let f: rquickjs::Function = ctx
            .eval("(code) => { new Function('exports', 'require', 'module', '__filename', '__dirname', code); }")
            .catch(&ctx)
            .map_err(|e| e.to_string())?;
        f.call::<_, ()>((code,))
            .catch(&ctx)
            .map_err(|e| e.to_string())
    })
}

#[cfg(test)]
mod tests;
