//! The login and sign-up forms: the transaction a form belongs to, `GET /u/login` and
//! `GET /u/signup`, and a checked [`Submission`] (transaction, CSRF, fields) that the POST
//! handlers answer, log and complete through.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::complete::{LoginKind, complete_login};
use super::csrf::{browser_binding, csrf_token, sent_binding};
use crate::cookies::session_cookie;
use crate::error::OAuthError;
use crate::extract::{Caller, QueryParams};
use crate::html::{self, FormPage};
use crate::logs::LogEvent;
use crate::respond::with_optional_cookie;
use crate::state::AppState;
use crate::store::transactions::Transaction;

const NO_COOKIE: &str = "This form was submitted without the sign-in cookie it was issued with (cookies may be blocked, or the request came from another site). Go back to the application and sign in again.";
const BAD_TOKEN: &str =
    "Invalid or missing CSRF token for this browser. Reload the login page and try again.";

/// Which form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `/u/login`.
    Login,
    /// `/u/signup`.
    Signup,
}

/// The live transaction named by the `state` query parameter.
///
/// # Errors
/// A 400 page when it is missing or has expired.
async fn transaction(
    state: &AppState,
    q: &QueryParams,
) -> Result<(String, Transaction), OAuthError> {
    let id = q.get("state").cloned().unwrap_or_default();
    match state.transactions.get(&id, state.clock.unix()).await {
        Some(t) => Ok((id, t)),
        None => Err(OAuthError::bad_page(
            "The login transaction is missing or has expired. Go back to the application and sign in again.",
        )),
    }
}

/// What a form page shows.
struct View<'a> {
    form: Form,
    status: StatusCode,
    tx_id: &'a str,
    tx: &'a Transaction,
    binding: &'a str,
    email: &'a str,
}

fn render(state: &AppState, v: &View<'_>, error: Option<&str>, details: Vec<String>) -> Response {
    let client = state.client_name(&v.tx.req.client_id);
    let csrf = csrf_token(state, v.tx_id, v.binding);
    let f = FormPage {
        tenant: &state.cfg.tenant.friendly_name,
        client: &client,
        state: v.tx_id,
        csrf: &csrf,
        email: v.email,
        error,
        details,
    };
    match v.form {
        Form::Signup => html::signup(v.status, &f, &state.cfg.database.policy.policy_text()),
        Form::Login => html::login(v.status, &f),
    }
}

/// `GET /u/login?state=…`.
pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: QueryParams,
) -> Result<Response, OAuthError> {
    form_page(&state, &headers, &q, Form::Login).await
}

/// `GET /u/signup?state=…`.
pub async fn signup_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: QueryParams,
) -> Result<Response, OAuthError> {
    form_page(&state, &headers, &q, Form::Signup).await
}

async fn form_page(
    state: &AppState,
    headers: &HeaderMap,
    q: &QueryParams,
    form: Form,
) -> Result<Response, OAuthError> {
    let (tx_id, tx) = transaction(state, q).await?;
    let (binding, set_cookie) = browser_binding(state, headers);
    let hint = match form {
        Form::Signup => String::new(),
        Form::Login => tx.req.login_hint.clone().unwrap_or_default(),
    };
    let view = View {
        form,
        status: StatusCode::OK,
        tx_id: &tx_id,
        tx: &tx,
        binding: &binding,
        email: &hint,
    };
    let r = render(state, &view, None, vec![]);
    Ok(with_optional_cookie(r, set_cookie.as_deref()))
}

/// A submitted form that passed the transaction and CSRF checks.
pub struct Submission<'a> {
    state: &'a AppState,
    form: Form,
    tx_id: String,
    tx: Transaction,
    /// The browser's CSRF cookie the token was checked against.
    binding: String,
    /// Who submitted it.
    pub caller: Caller,
    /// The trimmed, lower-cased email.
    pub email: String,
    /// The password as typed.
    pub password: String,
}

impl<'a> Submission<'a> {
    /// Reads a submitted form, refusing it unless its transaction is live, the browser sent
    /// its CSRF cookie and the form's token was derived from that cookie and this transaction.
    ///
    /// # Errors
    /// A 400 page for a missing transaction; a 403 page (no cookie set, no session started)
    /// for a CSRF failure.
    pub async fn read(
        state: &'a AppState,
        form: Form,
        caller: Caller,
        headers: &HeaderMap,
        q: &QueryParams,
        body: &[u8],
    ) -> Result<Submission<'a>, OAuthError> {
        let (tx_id, tx) = transaction(state, q).await?;
        let csrf_failure = |d| OAuthError::page(StatusCode::FORBIDDEN, "invalid_request", d);
        let binding = sent_binding(headers).ok_or_else(|| csrf_failure(NO_COOKIE))?;
        let p: std::collections::HashMap<String, String> = url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let csrf = p.get("csrf_token").map(String::as_str).unwrap_or("");
        if !crate::util::ct_eq(csrf, &csrf_token(state, &tx_id, &binding)) {
            return Err(csrf_failure(BAD_TOKEN));
        }
        Ok(Submission {
            state,
            form,
            tx_id,
            tx,
            binding,
            caller,
            email: p
                .get("email")
                .map(|e| e.trim().to_lowercase())
                .unwrap_or_default(),
            password: p.get("password").cloned().unwrap_or_default(),
        })
    }

    /// The form again with `error` (and the password rules' `details`), at `status`.
    pub fn page(&self, status: StatusCode, error: &str, details: Vec<String>) -> Response {
        let view = View {
            form: self.form,
            status,
            tx_id: &self.tx_id,
            tx: &self.tx,
            binding: &self.binding,
            email: &self.email,
        };
        render(self.state, &view, Some(error), details)
    }

    /// Logs a tenant event about this submission.
    pub fn log(&self, kind: &'static str, description: &str, user_id: Option<&str>) {
        let req = &self.tx.req;
        self.state.logs.emit(
            self.state.clock.now(),
            LogEvent {
                kind,
                description: description.into(),
                client_id: Some(req.client_id.clone()),
                client_name: Some(self.state.client_name(&req.client_id)),
                ip: self.caller.ip_string(),
                user_agent: self.caller.user_agent.clone(),
                user_id: user_id.map(str::to_string),
                user_name: Some(self.email.clone()),
                connection: true,
                ..Default::default()
            },
        );
    }

    /// Ends the transaction and sends the browser back to the client with `error` and
    /// `error_description` (no SSO session is started), as Auth0 answers a blocked user.
    pub async fn refuse(self, error: &'static str, description: &'static str) -> OAuthError {
        self.state.transactions.finish(&self.tx_id).await;
        OAuthError::redirect(
            &self.tx.req.redirect_uri,
            self.tx.req.state.as_deref(),
            error,
            description,
        )
    }

    /// Ends the transaction, starts an SSO session for `user_id` and completes the login.
    ///
    /// # Errors
    /// See [`complete_login`].
    pub async fn complete(self, user_id: &str) -> Result<Response, OAuthError> {
        let state = self.state;
        state.transactions.finish(&self.tx_id).await;
        let (session, cookie) = state.sessions.start(user_id, state.clock.unix()).await;
        let set_cookie = session_cookie(&cookie, state.secure, None);
        complete_login(
            state,
            &self.tx.req,
            &session,
            &self.caller,
            LoginKind::Interactive,
            Some(set_cookie),
        )
        .await
    }
}
