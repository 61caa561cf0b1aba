//! Assembling the application: the routes (with their OpenAPI document), and the layers every
//! response passes through — request ids, redacted tracing, metrics, security headers, CORS,
//! body limits, timeouts and a panic guard that answers in the API's error envelope.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::routes::{admin, documents, health, internal, profile, spa_auth};
use crate::security_headers::SecurityHeadersLayer;
use crate::state::AppState;

/// Largest request body (a 1 MiB document, JSON-escaped, fits comfortably).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(title = "PyMD API", description = "Markdown documents behind Auth0. Access tokens are RS256 JWTs for the audience of AUTH0_AUDIENCE; permissions come from the token's `permissions` or `scope`."),
    modifiers(&SecuritySchemes),
    tags((name = "documents"), (name = "profile"), (name = "auth", description = "The SPA token API: a browser app signs in and renews its tokens through the backend"), (name = "admin"), (name = "internal"), (name = "health"))
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "internal",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

fn api_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(
            documents::list_documents,
            documents::create_document
        ))
        .routes(routes!(
            documents::get_document,
            documents::replace_document,
            documents::delete_document
        ))
        .routes(routes!(profile::get_profile, profile::patch_profile))
        .routes(routes!(spa_auth::authorize))
        .routes(routes!(spa_auth::callback))
        .routes(routes!(spa_auth::refresh))
        .routes(routes!(admin::list_users))
        .routes(routes!(admin::list_audit))
        .routes(routes!(admin::lift_block))
        .routes(routes!(internal::sync_user))
        .routes(routes!(internal::log_stream))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .split_for_parts()
}

/// The OpenAPI document generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().1
}

/// The served OpenAPI document, with what only the deployment knows filled in: the SPA redirect
/// URIs this instance accepts (an `enum`, so a client — or a contract test — reads which values
/// are valid instead of meeting a refusal).
fn spec_for_deployment(spec: &utoipa::openapi::OpenApi, state: &AppState) -> String {
    let Ok(mut doc) = serde_json::to_value(spec) else {
        return "{}".to_owned();
    };
    if let Some(redirect) =
        doc.pointer_mut("/components/schemas/AuthorizeInput/properties/redirectUri")
        && let Some(obj) = redirect.as_object_mut()
    {
        let mut allowed: Vec<serde_json::Value> = spa_auth::registered_redirect_uris(state)
            .into_iter()
            .map(serde_json::Value::String)
            .collect();
        allowed.push(serde_json::Value::Null);
        obj.insert("enum".into(), serde_json::Value::Array(allowed));
    }
    serde_json::to_string(&doc).unwrap_or_else(|_| "{}".to_owned())
}

/// The whole application as one service: what [`build_app`] returns and [`serve`] serves.
pub type AppService = BoxCloneSyncService<Request, Response, Infallible>;

/// Builds the whole application for `state`.
///
/// The router holds the routes and the middleware that needs a route (metrics by route
/// template) or the state; everything else wraps the router from outside, where it is built
/// once per connection instead of being cloned with the route on every request.
pub fn build_app(state: AppState) -> AppService {
    // Install the recorder before anything records, whoever embeds the app.
    let _ = crate::telemetry::metrics_handle();
    let https = state.config.is_https();
    let cors = cors(&state);
    let router = routes(&state)
        .fallback(not_found)
        .layer(middleware::from_fn(method_not_allowed_envelope))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(refuse_form_body_tokens))
        .layer(middleware::from_fn(drain_bodies_where_none_belong))
        .layer(middleware::from_fn(record_metrics))
        .layer(middleware::from_fn({
            let base: Option<Arc<str>> = https.then(|| Arc::from(state.config.base_url.as_str()));
            move |req, next| require_https(base.clone(), req, next)
        }))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::request_meta::capture,
        ))
        .with_state(state);
    let x_request_id = HeaderName::from_static("x-request-id");
    let service = ServiceBuilder::new()
        .map_response(into_axum_response)
        .map_request(set_aside_client_request_id)
        .layer(SetRequestIdLayer::new(
            x_request_id.clone(),
            MakeRequestUuid,
        ))
        .layer(PropagateRequestIdLayer::new(x_request_id))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span as fn(&Request) -> tracing::Span),
        )
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(CatchPanicLayer::custom(|_| panic_response()))
        .layer(SecurityHeadersLayer { https })
        .layer(cors)
        .service(router);
    BoxCloneSyncService::new(service)
}

/// Every route of the app, with the API's OpenAPI document served for this deployment.
fn routes(state: &AppState) -> Router<AppState> {
    let (api, spec) = api_routes();
    let spec_json = spec_for_deployment(&spec, state);
    // With PYMD_METRICS_BIND, `/metrics` lives on its own listener (see `metrics_app`) and the
    // app's answers 404 for it.
    let metrics_here = if state.config.metrics_bind.is_none() {
        Router::new().route("/metrics", get(metrics))
    } else {
        Router::new()
    };
    Router::new()
        .merge(api)
        .route(
            "/api/openapi.json",
            get(move || async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    spec_json.clone(),
                )
            }),
        )
        .merge(metrics_here)
        .merge(crate::web::router())
        .merge(crate::web::spa::router())
        .merge(crate::web::session_router())
        .merge(
            crate::web::auth_router().route_layer(middleware::from_fn_with_state(
                state.clone(),
                crate::limits::limit_auth_routes,
            )),
        )
}

/// The request's tracing span: the path only (a query string may carry what must never be
/// logged) and both request ids.
fn request_span(req: &Request) -> tracing::Span {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let (request_id, client_request_id) = (header("x-request-id"), header(CLIENT_REQUEST_ID));
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id, client_request_id)
}

/// The outer layers' response, with its body as axum's own.
fn into_axum_response<B>(response: axum::http::Response<B>) -> Response
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    response.map(axum::body::Body::new)
}

/// Where a client's own `X-Request-Id` is kept (at most 64 visible ASCII characters).
const CLIENT_REQUEST_ID: &str = "x-client-request-id";

/// The request id is always PyMD's own: a client's `X-Request-Id` is moved aside (truncated,
/// printable only) so logs and audit rows can still name it, but never as the id.
fn set_aside_client_request_id(mut req: Request) -> Request {
    let headers = req.headers_mut();
    headers.remove(CLIENT_REQUEST_ID);
    if let Some(sent) = headers.remove("x-request-id") {
        let kept: String = String::from_utf8_lossy(sent.as_bytes())
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(64)
            .collect();
        if let Ok(v) = HeaderValue::from_str(&kept) {
            headers.insert(HeaderName::from_static(CLIENT_REQUEST_ID), v);
        }
    }
    req
}

/// The metrics listener's app (`PYMD_METRICS_BIND`): `/metrics` and nothing else.
pub fn metrics_app() -> AppService {
    BoxCloneSyncService::new(
        Router::new()
            .route("/metrics", get(metrics))
            .fallback(not_found),
    )
}

/// Serves `app` on `listener` until `shutdown` completes, with the peer address available to
/// handlers.
///
/// # Errors
/// The listener's I/O errors.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: AppService,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        axum::ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(app),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// RFC 6750 §2.2 (a token in a form body) is not supported: such a request gets 400
/// `invalid_request` whatever else it carries, before any authentication. Other bodies pass
/// through untouched.
async fn refuse_form_body_tokens(req: Request, next: Next) -> Response {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return next.run(req).await;
    }
    // Only the pages take forms. Elsewhere (the JSON API, the internal webhooks) a form body is
    // never served: at most a small one is read, to answer a token in it with 400 (RFC 6750's
    // form method is not supported), and anything else is 415 — nothing large is buffered
    // before authentication.
    let path = req.uri().path();
    let takes_forms = !(path.starts_with("/api/") || path.starts_with("/internal/"));
    let limit = if takes_forms {
        MAX_BODY_BYTES
    } else {
        MAX_FORM_PROBE_BYTES
    };
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return crate::error::ApiError::PayloadTooLarge("the request body is too large".into())
                .into_response();
        }
    };
    if url::form_urlencoded::parse(&bytes).any(|(k, _)| k == "access_token") {
        return crate::error::ApiError::InvalidRequest(
            "access tokens are accepted only in the Authorization header".into(),
        )
        .into_response();
    }
    if !takes_forms {
        return crate::error::ApiError::UnsupportedMediaType.into_response();
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// GET, HEAD, OPTIONS and DELETE take no body. One sent anyway is drained (up to
/// `MAX_BODY_BYTES`, chunk by chunk, so the connection stays in sync and the answer is not cut
/// off by a reset) and the request goes on without it; a larger one gets 413 and the connection
/// is closed.
async fn drain_bodies_where_none_belong(req: Request, next: Next) -> Response {
    let bodiless = matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::DELETE
    );
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let chunked = req.headers().contains_key(header::TRANSFER_ENCODING);
    if !bodiless || (declared == 0 && !chunked) {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let (mut parts, body) = req.into_parts();
    // A declared length past the limit is answered at once; anything else is read and dropped
    // chunk by chunk (nothing is kept), so the client's upload ends before the answer does.
    if declared <= MAX_BODY_BYTES as u64 && drain(body, MAX_BODY_BYTES).await {
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.remove(header::TRANSFER_ENCODING);
        return next
            .run(Request::from_parts(parts, axum::body::Body::empty()))
            .await;
    }
    let mut refusal =
        crate::error::ApiError::PayloadTooLarge(format!("a {method} request takes no body"))
            .into_response();
    refusal
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    refusal
}

/// Reads `body` to its end, keeping nothing; `false` past `limit` bytes or on a read error.
async fn drain(mut body: axum::body::Body, limit: usize) -> bool {
    use axum::body::HttpBody as _;
    let mut seen = 0usize;
    loop {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
        match frame {
            None => return true,
            Some(Err(_)) => return false,
            Some(Ok(frame)) => {
                seen += frame.data_ref().map_or(0, |d| d.len());
                if seen > limit {
                    return false;
                }
            }
        }
    }
}

/// How much of a form body a route that takes none reads before refusing it.
const MAX_FORM_PROBE_BYTES: usize = 16 * 1024;

fn panic_response() -> Response {
    crate::error::ApiError::Internal("handler panicked".into()).into_response()
}

/// axum answers a known route with an unknown method by a bare 405 with an `Allow` header; give
/// it the error envelope (keeping `Allow`) like every other error.
async fn method_not_allowed_envelope(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    if response.status() != StatusCode::METHOD_NOT_ALLOWED
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut envelope = crate::error::ApiError::MethodNotAllowed.into_response();
    if let Some(allow) = allow {
        envelope.headers_mut().insert(header::ALLOW, allow);
    }
    envelope
}

async fn not_found() -> crate::error::ApiError {
    crate::error::ApiError::NotFound
}

async fn metrics() -> Response {
    match crate::telemetry::metrics_handle() {
        Some(handle) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"error": "upstream_unavailable", "error_description": "metrics are not available"}))).into_response(),
    }
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = method_label(req.method());
    let response = next.run(req).await;
    crate::http_metrics::record(
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        method,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

/// The `method` label: one of the standard methods, else `other` (hyper accepts any token as a
/// method, and a label must come from a fixed set).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// With an https `AUTH0_BASE_URL`, what arrives over plain http (as a trusted proxy's
/// `X-Forwarded-Proto` tells; without one, everything is plain http) never reaches a handler: a
/// page GET is sent to the same path on the https base URL (301), anything else is refused
/// (400 `invalid_request`: a bearer token or a form already crossed the network in clear and
/// must not be acted on). Health checks are exempt: load balancers probe them directly.
async fn require_https(https_base: Option<Arc<str>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let exempt = matches!(path, "/healthz" | "/readyz" | "/metrics");
    let secure = crate::request_meta::is_https();
    let Some(base) = https_base.filter(|_| !secure && !exempt) else {
        return next.run(req).await;
    };
    let is_page = !(path.starts_with("/api/") || path.starts_with("/internal/"));
    if is_page && matches!(*req.method(), Method::GET | Method::HEAD) {
        let target = format!(
            "{}{}",
            base.trim_end_matches('/'),
            req.uri().path_and_query().map_or(path, |p| p.as_str())
        );
        if let Ok(location) = HeaderValue::from_str(&target) {
            return (
                StatusCode::MOVED_PERMANENTLY,
                [(header::LOCATION, location)],
            )
                .into_response();
        }
    }
    crate::error::ApiError::InvalidRequest("PyMD is served over https only".into()).into_response()
}

fn cors(state: &AppState) -> CorsLayer {
    let origins: Vec<HeaderValue> = state
        .config
        .cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
        ])
        .expose_headers([header::ETAG, header::LOCATION, header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}
