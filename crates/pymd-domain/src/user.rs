//! Users as PyMD knows them: a local record keyed by the IdP's `sub` (`auth0_id`), created just in
//! time on a first request or by the post-login sync webhook, and the profile fields a user may
//! edit.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::DomainError;

/// Longest accepted `sub` / `auth0Id`, in bytes.
pub const MAX_AUTH0_ID_BYTES: usize = 255;
/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 300;
/// Longest bio, in characters.
pub const MAX_BIO_CHARS: usize = 2000;
/// Longest email or picture URL, in bytes.
pub const MAX_URL_BYTES: usize = 2048;

/// A local user id (random UUID; never the IdP's `sub`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub Uuid);

impl UserId {
    pub fn new_random() -> Self {
        UserId(Uuid::new_v4())
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    /// The IdP's subject (`auth0|…`, `google-oauth2|…`).
    pub auth0_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub picture: Option<String>,
    pub bio: Option<String>,
    pub email_verified: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// What the post-login Action (or a first authenticated request) tells us about a user. Fields
/// left `None` keep what is stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncUser {
    pub auth0_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub picture: Option<String>,
    pub email_verified: Option<bool>,
}

impl SyncUser {
    /// Checks the fields.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `auth0Id`, `email`, `name` or `picture` when one is empty
    /// where required, too long, has control characters, or (email) lacks an `@`.
    pub fn validate(self) -> Result<Self, DomainError> {
        check_text("auth0Id", &self.auth0_id, MAX_AUTH0_ID_BYTES, false)?;
        if let Some(email) = &self.email {
            check_text("email", email, MAX_URL_BYTES, false)?;
            if !email.contains('@') {
                return Err(DomainError::invalid("email", "must be an email address"));
            }
        }
        if let Some(name) = &self.name {
            check_chars("name", name, MAX_NAME_CHARS)?;
        }
        if let Some(picture) = &self.picture {
            check_url("picture", picture)?;
        }
        Ok(self)
    }
}

/// The profile fields a user may change (`PATCH /api/v1/profile`). `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProfilePatch {
    pub name: Option<String>,
    pub picture: Option<String>,
    pub bio: Option<String>,
}

impl ProfilePatch {
    /// Checks the fields.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `name`, `picture` or `bio`: empty name, too long, control
    /// characters, or a picture that is not an `https://` (or `http://`) URL. An empty patch is
    /// refused on `body`.
    pub fn validate(self) -> Result<Self, DomainError> {
        if self.name.is_none() && self.picture.is_none() && self.bio.is_none() {
            return Err(DomainError::invalid(
                "body",
                "name, picture or bio is required",
            ));
        }
        if let Some(name) = &self.name {
            if name.trim().is_empty() {
                return Err(DomainError::invalid("name", "must not be empty"));
            }
            check_chars("name", name, MAX_NAME_CHARS)?;
        }
        if let Some(picture) = &self.picture {
            check_url("picture", picture)?;
        }
        if let Some(bio) = &self.bio {
            if bio.chars().count() > MAX_BIO_CHARS {
                return Err(DomainError::invalid(
                    "bio",
                    format!("must be at most {MAX_BIO_CHARS} characters"),
                ));
            }
            if bio
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
            {
                return Err(DomainError::invalid(
                    "bio",
                    "must not contain control characters",
                ));
            }
        }
        Ok(self)
    }
}

fn check_text(
    field: &'static str,
    value: &str,
    max_bytes: usize,
    allow_empty: bool,
) -> Result<(), DomainError> {
    if !allow_empty && value.trim().is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    if value.len() > max_bytes {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {max_bytes} bytes"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

fn check_chars(field: &'static str, value: &str, max_chars: usize) -> Result<(), DomainError> {
    if value.chars().count() > max_chars {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

fn check_url(field: &'static str, value: &str) -> Result<(), DomainError> {
    check_text(field, value, MAX_URL_BYTES, false)?;
    let lower = value.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Err(DomainError::invalid(field, "must be an http(s) URL"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sync(id: &str) -> SyncUser {
        SyncUser {
            auth0_id: id.into(),
            ..SyncUser::default()
        }
    }

    #[test]
    fn a_sync_without_an_auth0_id_names_the_field() {
        assert_eq!(sync("").validate().unwrap_err().field(), "auth0Id");
        assert_eq!(sync("a\nb").validate().unwrap_err().field(), "auth0Id");
    }

    #[test]
    fn a_sync_with_a_bad_email_names_the_field() {
        let s = SyncUser {
            email: Some("nope".into()),
            ..sync("auth0|1")
        };
        assert_eq!(s.validate().unwrap_err().field(), "email");
    }

    #[test]
    fn a_javascript_picture_url_is_refused() {
        let p = ProfilePatch {
            picture: Some("javascript:alert(1)".into()),
            ..ProfilePatch::default()
        };
        assert_eq!(p.validate().unwrap_err().field(), "picture");
    }

    #[test]
    fn an_empty_profile_patch_is_refused() {
        assert_eq!(
            ProfilePatch::default().validate().unwrap_err().field(),
            "body"
        );
    }

    #[test]
    fn a_bio_may_have_newlines_but_not_other_control_characters() {
        let ok = ProfilePatch {
            bio: Some("line one\nline two".into()),
            ..ProfilePatch::default()
        };
        assert!(ok.validate().is_ok());
        let bad = ProfilePatch {
            bio: Some("bell\u{7}".into()),
            ..ProfilePatch::default()
        };
        assert_eq!(bad.validate().unwrap_err().field(), "bio");
    }
}
