//! The headers every answer carries — CSP, `nosniff`, referrer policy, frame denial, HSTS over
//! https — and `Cache-Control: no-store` on whatever answers a credential. A tower layer of its
//! own rather than an axum `from_fn` middleware: it sits outside the router, around CORS, and
//! `from_fn` would clone everything beneath it on every request.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::Response;
use tower::{Layer, Service};

/// The page's content security policy: same-origin scripts only, no plugins, no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Adds the security headers to every response of the wrapped service (`https`: also HSTS).
#[derive(Debug, Clone, Copy)]
pub struct SecurityHeadersLayer {
    pub https: bool,
}

impl<S> Layer<S> for SecurityHeadersLayer {
    type Service = SecurityHeaders<S>;

    fn layer(&self, inner: S) -> SecurityHeaders<S> {
        SecurityHeaders {
            inner,
            https: self.https,
        }
    }
}

/// See [`SecurityHeadersLayer`].
#[derive(Debug, Clone)]
pub struct SecurityHeaders<S> {
    inner: S,
    https: bool,
}

impl<S> Service<Request> for SecurityHeaders<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // What answers a credential (a bearer token, a session cookie) is the user's own: no
        // cache may keep it.
        let private = req.headers().contains_key(header::AUTHORIZATION)
            || req.headers().contains_key(header::COOKIE)
            || req.uri().path().starts_with("/api/v1/");
        let https = self.https;
        let answer = self.inner.call(req);
        Box::pin(async move {
            let mut response = answer.await?;
            add_headers(response.headers_mut(), private, https);
            Ok(response)
        })
    }
}

/// Sets each header the handler did not set itself.
fn add_headers(h: &mut HeaderMap, private: bool, https: bool) {
    let mut set = |name: HeaderName, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    if private {
        set(header::CACHE_CONTROL, "no-store");
    }
    set(header::CONTENT_SECURITY_POLICY, CSP);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // `same-origin`, not `no-referrer`: with `no-referrer` browsers send `Origin: null` on our
    // own form posts, which the same-origin (CSRF) check must then refuse. Cross-origin requests
    // still carry no referrer.
    set(header::REFERRER_POLICY, "same-origin");
    set(header::X_FRAME_OPTIONS, "DENY");
    if https {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
}
