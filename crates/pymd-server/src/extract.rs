//! Strict JSON bodies: `ApiJson<T>` accepts only `application/json`, refuses unknown fields and
//! tokens smuggled into the body, and names the offending field in its 400/422, in the API's
//! error envelope rather than axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A query string of type `T`; a malformed one (duplicate or mistyped parameter) is a 400
/// `invalid_request` in the API's envelope, not axum's plain-text rejection.
pub struct ApiQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|rejection| {
                let text = rejection.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                ApiError::InvalidRequest(format!("the query string is invalid ({detail})"))
            })
    }
}

/// A JSON body of type `T` (which should use `#[serde(deny_unknown_fields)]`).
pub struct ApiJson<T>(pub T);

fn is_json(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge("the request body is too large".into())
            } else {
                ApiError::InvalidRequest("the request body could not be read".into())
            }
        })?;
        if !is_json(&content_type) {
            let form_token = url::form_urlencoded::parse(&bytes).any(|(k, _)| k == "access_token");
            if form_token {
                return Err(ApiError::InvalidRequest(
                    "access tokens are accepted only in the Authorization header".into(),
                ));
            }
            return Err(ApiError::UnsupportedMediaType);
        }
        parse(&bytes).map(ApiJson)
    }
}

/// Parses a JSON body, naming the field a data error is about.
///
/// # Errors
/// [`ApiError::InvalidRequest`] for malformed JSON or a token in the body;
/// [`ApiError::Validation`] naming the field for wrong types, missing or unknown fields.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut *de) {
        Ok(v) => de.end().map(|()| v).map_err(|e| {
            ApiError::InvalidRequest(format!(
                "the body is not valid JSON ({})",
                strip_position(&e.to_string())
            ))
        }),
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            let message = inner.to_string();
            if message.contains("unknown field `access_token`") {
                return Err(ApiError::InvalidRequest(
                    "access tokens are accepted only in the Authorization header".into(),
                ));
            }
            match inner.classify() {
                serde_json::error::Category::Data => {
                    let field = unknown_or_missing_field(&message).unwrap_or(path);
                    let field = if field == "." {
                        "body".to_owned()
                    } else {
                        field
                    };
                    Err(ApiError::Validation {
                        field,
                        message: strip_position(&message),
                    })
                }
                _ => Err(ApiError::InvalidRequest(format!(
                    "the body is not valid JSON ({})",
                    strip_position(&message)
                ))),
            }
        }
    }
}

fn unknown_or_missing_field(message: &str) -> Option<String> {
    for prefix in ["unknown field `", "missing field `"] {
        if let Some(rest) = message.strip_prefix(prefix) {
            return rest.split('`').next().map(str::to_owned);
        }
    }
    None
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        title: String,
        content: String,
    }

    fn field_of(body: &str) -> String {
        match parse::<Doc>(body.as_bytes()) {
            Err(ApiError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn wrong_types_name_the_field() {
        assert_eq!(field_of(r#"{"title":1,"content":"x"}"#), "title");
        assert_eq!(field_of(r#"{"title":"t","content":["x"]}"#), "content");
    }

    #[test]
    fn unknown_and_missing_fields_are_named() {
        assert_eq!(
            field_of(r#"{"title":"t","content":"c","owner_id":"x"}"#),
            "owner_id"
        );
        assert_eq!(field_of(r#"{"title":"t"}"#), "content");
    }

    #[test]
    fn malformed_json_is_an_invalid_request() {
        assert!(matches!(
            parse::<Doc>(b"{\"title\":"),
            Err(ApiError::InvalidRequest(_))
        ));
        assert!(matches!(
            parse::<Doc>(b"\xff\xfe"),
            Err(ApiError::InvalidRequest(_))
        ));
    }

    #[test]
    fn characters_after_the_json_value_are_an_invalid_request() {
        for body in [
            r#"{"title":"t","content":"c"}}"#,
            r#"{"title":"t","content":"c"} garbage"#,
            r#"{"title":"t","content":"c"}{"title":"u","content":"d"}"#,
        ] {
            assert!(
                matches!(
                    parse::<Doc>(body.as_bytes()),
                    Err(ApiError::InvalidRequest(_))
                ),
                "{body}"
            );
        }
        assert!(parse::<Doc>(br#" {"title":"t","content":"c"} "#).is_ok());
    }

    #[test]
    fn a_token_in_the_body_is_an_invalid_request() {
        let body = r#"{"title":"t","content":"c","access_token":"x"}"#;
        assert!(matches!(
            parse::<Doc>(body.as_bytes()),
            Err(ApiError::InvalidRequest(_))
        ));
    }

    #[test]
    fn deeply_nested_json_does_not_overflow_the_stack() {
        let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse::<Doc>(body.as_bytes()).is_err());
    }

    #[test]
    fn json_media_types_are_recognised() {
        assert!(is_json("application/json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
    }
}
