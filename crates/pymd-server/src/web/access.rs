//! Who may see a page, checked by extractors before its handler runs (spec §5, §7), so that a
//! handler only ever starts with what it needs:
//!
//! - [`Signed<P>`]: a signed-in session whose IdP access token — verified like a bearer token —
//!   grants the permission `P` (one of the marker types below).
//! - [`OwnedDocument<P>`]: that, and the document the path names, if the session's user owns it
//!   (the same ownership rule as the API's).
//! - [`Posted<G, T>`]: a form POST, checked in this order: the session, the same-origin signal
//!   (before the body is read), the body, the session's CSRF token, and then the guard `G`
//!   ([`Signed`] or [`OwnedDocument`]), so a forged or stale form is refused before anything is
//!   looked up for it.
//!
//! An expired token sends the browser to log in again (and back to the page); a missing
//! permission is a 403 page; unusable IdP keys a 503 page.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{Method, Request as HttpRequest};
use pymd_auth::{VerifiedToken, VerifyError};
use pymd_domain::{Document, Permission};
use serde::de::DeserializeOwned;

use super::error::{BadInput, IdpNeed, PageError, Refusal, viewer_of};
use super::forms::{self, CsrfProtected};
use super::session::SessionUser;
use crate::service::documents;
use crate::state::AppState;

/// A permission a page needs, as a type (`Signed<WriteDocuments>`).
pub trait Needs: Send + Sync + 'static {
    /// The permission.
    const PERMISSION: Permission;
}

macro_rules! permission_markers {
    ($($(#[$doc:meta])* $name:ident => $permission:ident;)*) => {$(
        $(#[$doc])*
        pub struct $name;
        impl Needs for $name {
            const PERMISSION: Permission = Permission::$permission;
        }
    )*};
}

permission_markers! {
    /// `read:documents`.
    ReadDocuments => ReadDocuments;
    /// `write:documents`.
    WriteDocuments => WriteDocuments;
    /// `delete:documents`.
    DeleteDocuments => DeleteDocuments;
    /// `read:profile`.
    ReadProfile => ReadProfile;
    /// `write:profile`.
    WriteProfile => WriteProfile;
}

/// A signed-in session whose access token grants `P`.
pub struct Signed<P> {
    pub session: SessionUser,
    /// The session's verified access token (what else it grants decides what a page offers).
    pub token: Arc<VerifiedToken>,
    needs: PhantomData<P>,
}

impl<P> Signed<P> {
    /// Whether the session's token also grants `permission`.
    pub fn may(&self, permission: Permission) -> bool {
        self.token.has_permission(permission.as_str())
    }
}

/// A document the signed-in user owns, loaded after checking `P`.
pub struct OwnedDocument<P> {
    pub signed: Signed<P>,
    pub document: Document,
}

/// A check that runs once the session is known: [`Signed`] or [`OwnedDocument`].
pub trait Guard: Sized {
    /// Checks `session` against the request.
    ///
    /// # Errors
    /// The [`PageError`] to answer with.
    fn check(
        parts: &mut Parts,
        state: &AppState,
        session: SessionUser,
    ) -> impl Future<Output = Result<Self, PageError>> + Send;
}

/// A form that needs a signed-in session and nothing more (logging out).
impl Guard for SessionUser {
    async fn check(
        _parts: &mut Parts,
        _state: &AppState,
        session: SessionUser,
    ) -> Result<Self, PageError> {
        Ok(session)
    }
}

impl<P: Needs> Guard for Signed<P> {
    async fn check(
        parts: &mut Parts,
        state: &AppState,
        session: SessionUser,
    ) -> Result<Self, PageError> {
        let token = require(state, &session, P::PERMISSION, return_to(parts)).await?;
        Ok(Signed {
            session,
            token,
            needs: PhantomData,
        })
    }
}

impl<P: Needs> Guard for OwnedDocument<P> {
    async fn check(
        parts: &mut Parts,
        state: &AppState,
        session: SessionUser,
    ) -> Result<Self, PageError> {
        let signed = Signed::<P>::check(parts, state, session).await?;
        let viewer = || viewer_of(&signed.session.user);
        let Ok(Path(raw_id)) = Path::<String>::from_request_parts(parts, state).await else {
            return Err(PageError::NotFound(viewer()));
        };
        let document = owned(state, &signed.session, &raw_id).await?;
        Ok(OwnedDocument { signed, document })
    }
}

/// The caller's document `raw_id`, by the API's ownership rule ([`documents::get_owned`]): a 404
/// page for a malformed or unknown id, 403 for another user's.
async fn owned(state: &AppState, s: &SessionUser, raw_id: &str) -> Result<Document, PageError> {
    documents::get_owned(state, s.user.id, raw_id)
        .await
        .map_err(|e| PageError::service(e, viewer_of(&s.user)))
}

impl<P: Needs> FromRequestParts<AppState> for Signed<P> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let session = SessionUser::from_request_parts(parts, state).await?;
        Self::check(parts, state, session).await
    }
}

impl<P: Needs> FromRequestParts<AppState> for OwnedDocument<P> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let session = SessionUser::from_request_parts(parts, state).await?;
        Self::check(parts, state, session).await
    }
}

/// A form POST that passed every check (see the module documentation): the guard's outcome and
/// the form.
pub struct Posted<G, T> {
    pub guard: G,
    pub form: T,
}

impl<G, T> FromRequest<AppState> for Posted<G, T>
where
    G: Guard + Send,
    T: DeserializeOwned + CsrfProtected + Send,
{
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let (mut parts, body) = req.into_parts();
        let session = SessionUser::from_request_parts(&mut parts, state).await?;
        forms::check_origin(state, &parts.headers)?;
        let head = HttpRequest::from_parts(parts.clone(), body);
        let Ok(Form(form)) = Form::<T>::from_request(head, state).await else {
            return Err(PageError::BadRequest(
                viewer_of(&session.user),
                BadInput::Form,
            ));
        };
        forms::check_token(state, &session, form.csrf_token())?;
        let guard = G::check(&mut parts, state, session).await?;
        Ok(Posted { guard, form })
    }
}

/// The page to come back to after logging in again: the page itself for a GET; for a form POST,
/// the page the form is on (`POST /documents` → `/documents/new`, `POST /documents/{id}` →
/// `/documents/{id}/edit`, `POST /documents/{id}/delete` → `/documents/{id}`, `POST /settings`
/// → `/settings`).
fn return_to(parts: &Parts) -> String {
    let path = parts.uri.path();
    if parts.method == Method::GET || parts.method == Method::HEAD {
        return parts
            .uri
            .path_and_query()
            .map_or_else(|| path.to_owned(), |p| p.as_str().to_owned());
    }
    if path == "/documents" {
        "/documents/new".to_owned()
    } else if let Some(document) = path.strip_suffix("/delete") {
        document.to_owned()
    } else if path.starts_with("/documents/") {
        format!("{path}/edit")
    } else {
        path.to_owned()
    }
}

/// Verifies the session's access token and checks it grants `permission`.
async fn require(
    state: &AppState,
    session: &SessionUser,
    permission: Permission,
    return_to: String,
) -> Result<Arc<VerifiedToken>, PageError> {
    let Some(raw) = session.access_token(state) else {
        return Err(PageError::SignIn { return_to });
    };
    match state.verifier.verify(&raw).await {
        Ok(token) if token.sub != session.user.auth0_id => {
            tracing::warn!("a session's access token is not its user's");
            Err(PageError::SignInAgain { return_to })
        }
        Ok(token) if token.has_permission(permission.as_str()) => Ok(token),
        Ok(_) => Err(PageError::Forbidden(Refusal::Missing(permission))),
        Err(e) if e.is_unavailable() => Err(PageError::IdpUnavailable(IdpNeed::CheckAccess)),
        Err(VerifyError::Expired) => Err(PageError::SignIn { return_to }),
        Err(e) => {
            tracing::warn!(reason = e.reason(), "a session's access token was refused");
            Err(PageError::SignInAgain { return_to })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: Method, uri: &str) -> Parts {
        let (parts, ()) = HttpRequest::builder()
            .method(method)
            .uri(uri)
            .body(())
            .unwrap()
            .into_parts();
        parts
    }

    #[test]
    fn a_page_returns_to_itself_and_a_form_to_its_page() {
        let id = "0190b8f0-0000-7000-8000-000000000000";
        for (method, uri, want) in [
            (
                Method::GET,
                "/documents?cursor=abc".to_owned(),
                "/documents?cursor=abc".to_owned(),
            ),
            (
                Method::GET,
                format!("/documents/{id}/edit"),
                format!("/documents/{id}/edit"),
            ),
            (
                Method::POST,
                "/documents".to_owned(),
                "/documents/new".to_owned(),
            ),
            (
                Method::POST,
                format!("/documents/{id}"),
                format!("/documents/{id}/edit"),
            ),
            (
                Method::POST,
                format!("/documents/{id}/delete"),
                format!("/documents/{id}"),
            ),
            (Method::POST, "/settings".to_owned(), "/settings".to_owned()),
        ] {
            assert_eq!(
                return_to(&parts(method.clone(), &uri)),
                want,
                "{method} {uri}"
            );
        }
    }
}
