//! The HTTP face: `/graphql` (GraphQL over HTTP, with the spec's content negotiation and
//! status codes, and multipart uploads; GraphiQL for browsers), `/graphql/ws`
//! (subscriptions), `/media/…` (stored pictures), `/healthz`, `/readyz`, `/metrics` unless
//! `MESSENGER_METRICS_LISTEN` gives it a listener of its own, and the web client at `/`
//! (see [`crate::web`]).

use std::collections::HashMap;
use std::time::Duration;

use async_graphql::http::MultipartOptions;
use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, BatchResponse};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Path, Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use diesel_async::SimpleAsyncConnection;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::auth::presented_token;
use crate::error::AppError;
use crate::graphql::gateway::{Gateway, failed_before_execution};
use crate::graphql::limits::selected_operation;
use crate::graphql::{build_gateway, json};
use crate::media::attachments::ATTACHMENT_PREFIX;
use crate::media::{IMMUTABLE_CACHE_CONTROL, ServableObject};
use crate::services::{accounts, attachments};
use crate::state::AppState;
use crate::throttle::ClientAddress;
use crate::web::Pages;

/// Media type of GraphQL-over-HTTP responses.
const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
/// The legacy media type every client understands.
const APPLICATION_JSON: &str = "application/json";
/// The media type of GraphQL multipart requests (uploads).
const MULTIPART_FORM_DATA: &str = "multipart/form-data";
/// Headers that a browser sends cross-site only after a CORS preflight (which this server
/// grants only to the origins of `MESSENGER_CORS_ORIGINS`). A multipart request must carry
/// one: see [`csrf_safe`].
const PREFLIGHT_HEADERS: [&str; 3] = [
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "authorization",
];

/// The peer of a request served with connect info (`None` for in-process calls).
struct Peer(Option<std::net::SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let info = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(Self(info.map(|info| info.0)))
    }
}

impl Peer {
    fn client(&self, headers: &HeaderMap, config: &crate::config::Config) -> ClientAddress {
        ClientAddress::of(self.0.map(|a| a.ip()), headers, &config.trusted_proxies)
    }
}

#[derive(Clone)]
struct HttpState {
    app: AppState,
    gateway: Gateway,
    pages: Pages,
}

/// Builds the router for a given state.
pub fn router(app: AppState) -> Router {
    // The outer bound admits a multipart request (an upload plus its operations); the
    // GraphQL handler holds JSON bodies to `body_limit_bytes`.
    let body_limit = multipart_limit(&app.config);
    let gateway = build_gateway(app.clone());
    let config = app.config.clone();
    let pages = Pages::new(&config);
    let fallback_pages = pages.clone();
    let routes = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/ws", get(graphql_ws))
        .route("/media/{*path}", get(media_get))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(HttpState {
            app: app.clone(),
            gateway,
            pages: pages.clone(),
        })
        .fallback(
            move |method: Method, uri: Uri, headers: HeaderMap| async move {
                fallback_pages.fallback(method, uri, headers).await
            },
        )
        .layer(RequestBodyLimitLayer::new(body_limit));
    // On the main port unless it has a listener of its own.
    let routes = if config.metrics_listen.is_none() {
        routes.merge(crate::metrics::router(app))
    } else {
        routes
    };
    // One `Router::layer` call for all of them: each call boxes every route again, and axum
    // clones a route's whole stack of boxes for every request (with one call per layer, 6 %
    // of a `user(id)` request's instructions).
    let [nosniff, referrer, framing, policy] = crate::browser::security_headers();
    routes.layer(
        ServiceBuilder::new()
            .layer(TraceLayer::new_for_http())
            .option_layer(crate::browser::cors(&config.cors_origins))
            .layer(policy)
            .layer(framing)
            .layer(referrer)
            .layer(nosniff),
    )
}

/// Which media type the response gets, from the `Accept` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseType {
    GraphqlResponseJson,
    Json,
}

impl ResponseType {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        })
    }
}

/// Picks the response type: the acceptable type with the highest quality, preferring
/// `application/graphql-response+json` on a tie. No `Accept` header, or only wildcards, gets
/// `application/json`, which legacy clients expect. `None`: nothing acceptable (406).
fn negotiate(headers: &HeaderMap) -> Option<ResponseType> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(ResponseType::Json);
    };
    let mut best: Option<(f32, u8, ResponseType)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if quality <= 0.0 {
            continue;
        }
        // (type, preference on equal quality)
        let candidate = match media.as_str() {
            GRAPHQL_RESPONSE_JSON => (ResponseType::GraphqlResponseJson, 3),
            APPLICATION_JSON => (ResponseType::Json, 2),
            "application/*" | "*/*" => (ResponseType::Json, 1),
            _ => continue,
        };
        if best.is_none_or(|(q, pref, _)| quality > q || (quality == q && candidate.1 > pref)) {
            best = Some((quality, candidate.1, candidate.0));
        }
    }
    best.map(|(_, _, t)| t)
}

fn error_body(message: &str, code: &str) -> serde_json::Value {
    serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
}

/// The least room a response body starts with: most answers fit (a GraphQL response gets
/// room for its data's JSON, [`json::to_vec`]).
const RESPONSE_CAPACITY: usize = 8 * 1024;

fn json_response(status: StatusCode, ty: ResponseType, body: &impl serde::Serialize) -> Response {
    let mut bytes = Vec::with_capacity(RESPONSE_CAPACITY);
    let written = serde_json::to_writer(&mut bytes, body).map(|()| bytes);
    written_response(status, ty, written)
}

/// A GraphQL response, written by [`crate::graphql::json`].
fn graphql_response(status: StatusCode, ty: ResponseType, batch: &BatchResponse) -> Response {
    written_response(status, ty, json::to_vec(batch, RESPONSE_CAPACITY))
}

/// The written body as a JSON response of type `ty`; a 500 (and a log line) if writing failed.
fn written_response(
    status: StatusCode,
    ty: ResponseType,
    written: serde_json::Result<Vec<u8>>,
) -> Response {
    match written {
        Ok(bytes) => {
            let mut response = (status, bytes).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, ty.content_type());
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "serializing a response");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A request that could not be parsed as GraphQL over HTTP: 400 whatever the media type.
fn bad_request(ty: ResponseType, message: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        ty,
        &error_body(message, "BAD_USER_INPUT"),
    )
}

fn not_acceptable() -> Response {
    (
        StatusCode::NOT_ACCEPTABLE,
        "accepted response types: application/graphql-response+json, application/json",
    )
        .into_response()
}

async fn execute(
    state: &HttpState,
    headers: &HeaderMap,
    client: ClientAddress,
    ty: ResponseType,
    batch: BatchRequest,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(presented_token);
    let credentials = accounts::credentials(&state.app, token);
    let response = match state
        .gateway
        .execute_batch(batch, credentials, client)
        .await
    {
        Ok(response) => response,
        // The sign-in could not be checked.
        Err(e) => {
            let error: async_graphql::Error = e.into();
            let body =
                serde_json::json!({ "errors": [error.into_server_error(Default::default())] });
            let status = match ty {
                ResponseType::GraphqlResponseJson => StatusCode::SERVICE_UNAVAILABLE,
                ResponseType::Json => StatusCode::OK,
            };
            return json_response(status, ty, &body);
        }
    };
    let status = match (&response, ty) {
        (BatchResponse::Single(r), ResponseType::GraphqlResponseJson)
            if failed_before_execution(r) =>
        {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::OK,
    };
    graphql_response(status, ty, &response)
}

/// Largest multipart request: one upload plus a JSON-sized rest.
fn multipart_limit(config: &crate::config::Config) -> usize {
    config.body_limit_bytes.saturating_add(largest_file(config))
}

/// Largest file any upload accepts (each mutation checks its own limit).
fn largest_file(config: &crate::config::Config) -> usize {
    config.max_upload_bytes.max(config.max_attachment_bytes)
}

/// The CSRF rule of the GraphQL multipart request spec. `multipart/form-data` is a "simple"
/// content type: any web page can make a browser POST it here cross-site, without asking. So
/// a multipart request must also carry a header that a browser adds cross-site only after a
/// CORS preflight, which this server grants to configured origins only: `Apollo-Require-Preflight` (any value,
/// what apollo-upload-client users add), `X-Apollo-Operation-Name`, or `Authorization`
/// (uploads need sign-in anyway). JSON requests need nothing: their content type already
/// forces a preflight.
fn csrf_safe(headers: &HeaderMap) -> bool {
    PREFLIGHT_HEADERS
        .iter()
        .any(|name| headers.get(*name).is_some_and(|v| !v.is_empty()))
}

async fn graphql_post(
    State(state): State<HttpState>,
    peer: Peer,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(ty) = negotiate(&headers) else {
        return not_acceptable();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let essence = content_type
        .as_deref()
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase());
    let multipart = essence.as_deref() == Some(MULTIPART_FORM_DATA);
    match essence.as_deref() {
        Some(APPLICATION_JSON | MULTIPART_FORM_DATA) => {}
        _ => {
            return json_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ty,
                &error_body(
                    "send the request as application/json (or multipart/form-data for uploads)",
                    "BAD_USER_INPUT",
                ),
            );
        }
    }
    if multipart && !csrf_safe(&headers) {
        return bad_request(
            ty,
            "a multipart request must carry an Apollo-Require-Preflight header (or be signed in \
             with Authorization)",
        );
    }
    let config = &state.app.config;
    let limit = if multipart {
        multipart_limit(config)
    } else {
        config.body_limit_bytes
    };
    let bytes = match to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return json_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                ty,
                &error_body(
                    &format!("the request body is larger than {limit} bytes"),
                    "BAD_USER_INPUT",
                ),
            );
        }
    };
    let options = MultipartOptions::default().max_file_size(largest_file(config));
    let batch = match async_graphql::http::receive_batch_body(content_type, bytes.as_ref(), options)
        .await
    {
        Ok(batch) => batch,
        Err(async_graphql::ParseRequestError::PayloadTooLarge) => {
            return json_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                ty,
                &error_body(
                    &crate::media::process::too_large_file(largest_file(config)).message(),
                    "BAD_USER_INPUT",
                ),
            );
        }
        Err(e) => {
            tracing::debug!(error = %e, "unparsable GraphQL request");
            return bad_request(
                ty,
                "the body is not a valid GraphQL request (JSON with a \"query\")",
            );
        }
    };
    let missing_query = match &batch {
        BatchRequest::Single(r) => r.query.trim().is_empty(),
        BatchRequest::Batch(rs) => rs.is_empty() || rs.iter().any(|r| r.query.trim().is_empty()),
    };
    if missing_query {
        return bad_request(ty, "the request has no query");
    }
    let max_batch = state.app.config.max_batch;
    if let BatchRequest::Batch(requests) = &batch
        && requests.len() > max_batch
    {
        return bad_request(
            ty,
            &format!("a batch holds at most {max_batch} operations (MESSENGER_MAX_BATCH)"),
        );
    }
    let client = peer.client(&headers, &state.app.config);
    execute(&state, &headers, client, ty, batch).await
}

/// Whether the operation a GET request would run is a mutation (GET must not mutate).
fn is_mutation(request: &async_graphql::Request) -> bool {
    let Ok(doc) = async_graphql::parser::parse_query(&request.query) else {
        return false; // execution reports the syntax error
    };
    selected_operation(&doc, request.operation_name.as_deref())
        .is_some_and(|(_, op)| op.node.ty == OperationType::Mutation)
}

/// Reads a GET request's parameters as the spec names them (`query`, `operationName`,
/// `variables` and `extensions` as JSON). async-graphql's own parser expects
/// `operation_name`, so we read them ourselves.
fn request_from_params(
    params: &HashMap<String, String>,
) -> Result<async_graphql::Request, &'static str> {
    let query = params
        .get("query")
        .filter(|q| !q.is_empty())
        .ok_or("missing the query parameter")?;
    let mut request = async_graphql::Request::new(query.as_str());
    if let Some(name) = params
        .get("operationName")
        .or_else(|| params.get("operation_name"))
    {
        request = request.operation_name(name.as_str());
    }
    if let Some(variables) = params.get("variables").filter(|v| !v.is_empty()) {
        let json: serde_json::Value =
            serde_json::from_str(variables).map_err(|_| "variables must be a JSON object")?;
        if !json.is_object() && !json.is_null() {
            return Err("variables must be a JSON object");
        }
        request = request.variables(async_graphql::Variables::from_json(json));
    }
    if let Some(extensions) = params.get("extensions").filter(|v| !v.is_empty()) {
        request.extensions =
            serde_json::from_str(extensions).map_err(|_| "extensions must be a JSON object")?;
    }
    Ok(request)
}

async fn graphql_get(
    State(state): State<HttpState>,
    peer: Peer,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let params = match Query::<HashMap<String, String>>::try_from_uri(&uri) {
        Ok(Query(params)) => params,
        Err(_) => HashMap::new(),
    };
    if wants_html && !params.contains_key("query") {
        return state.pages.graphiql(&headers).await;
    }
    let Some(ty) = negotiate(&headers) else {
        return not_acceptable();
    };
    let request = match request_from_params(&params) {
        Ok(request) => request,
        Err(message) => return bad_request(ty, message),
    };
    if is_mutation(&request) {
        let mut response = json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            ty,
            &error_body("mutations must be sent with POST", "BAD_USER_INPUT"),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let client = peer.client(&headers, &state.app.config);
    execute(&state, &headers, client, ty, BatchRequest::Single(request)).await
}

async fn graphql_ws(
    State(state): State<HttpState>,
    peer: Peer,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let HttpState { app, gateway, .. } = state;
    let client = peer.client(&headers, &app.config);
    let max = app.config.ws_max_message_bytes;
    let upgrade = upgrade
        .protocols(crate::ws::PROTOCOLS)
        .max_message_size(max)
        .max_frame_size(max)
        // Small buffers: an idle socket should cost a few KiB, not the 128 KiB default.
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0);
    let protocol =
        crate::ws::Protocol::from_header(upgrade.selected_protocol().and_then(|p| p.to_str().ok()));
    upgrade.on_upgrade(move |socket| crate::ws::serve(socket, protocol, app, gateway, client))
}

/// Serves a stored picture. Names are content hashes, so the answer is cacheable forever and
/// its entity tag is the name; `If-None-Match` gets 304 without reading the object. Only names
/// this server makes are served; anything else is 404.
async fn media_get(
    State(state): State<HttpState>,
    Path(path): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if path.starts_with(ATTACHMENT_PREFIX) {
        return attachment_get(&state.app, &path, &query).await;
    }
    let Some(object) = ServableObject::parse(&path) else {
        return media_not_found();
    };
    let store = &state.app.media.store;
    if if_none_match(&headers, &object.etag) {
        return match store.exists(&object).await {
            Ok(true) => media_response(StatusCode::NOT_MODIFIED, &object, Body::empty()),
            Ok(false) => media_not_found(),
            Err(e) => media_unavailable(e),
        };
    }
    match store.get(&object).await {
        Ok(Some(bytes)) => {
            let length = bytes.len();
            let mut response = media_response(StatusCode::OK, &object, Body::from(bytes));
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
            response
        }
        Ok(None) => media_not_found(),
        Err(e) => media_unavailable(e),
    }
}

/// Serves an attachment object to whoever holds a signed URL that has not expired. Files
/// are downloads (`Content-Disposition: attachment`, `application/octet-stream`, and a
/// sandbox policy should one be opened anyway); images are shown inline. Nothing here is
/// shared-cacheable: a CDN must not keep private files.
async fn attachment_get(app: &AppState, path: &str, query: &HashMap<String, String>) -> Response {
    let param = |name: &str| query.get(name).map(String::as_str);
    let served = attachments::serve(app, path, param("expires"), param("sig")).await;
    let served = match served {
        Ok(Ok(served)) => served,
        Ok(Err(attachments::Refused::BadSignature)) => {
            return (
                StatusCode::FORBIDDEN,
                [
                    (header::CACHE_CONTROL, "no-store"),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                ],
                "this link has expired or is not valid: fetch the message again for a new one",
            )
                .into_response();
        }
        Ok(Err(attachments::Refused::Gone)) => return media_not_found(),
        Err(e) => return media_unavailable(e),
    };
    let length = served.bytes.len();
    let mut response = (StatusCode::OK, Body::from(served.bytes)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(served.content_type),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Ok(value) = HeaderValue::from_str(&served.disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("private, max-age={}", served.max_age)) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'; img-src 'self'"),
    );
    response
}

/// Whether an `If-None-Match` header matches a strong entity tag (weak comparison, as
/// RFC 9110 asks for this header).
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

fn media_response(status: StatusCode, object: &ServableObject, body: Body) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(object.content_type),
    );
    if let Ok(etag) = HeaderValue::from_str(&object.etag) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(IMMUTABLE_CACHE_CONTROL),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn media_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        "not found",
    )
        .into_response()
}

fn media_unavailable(err: AppError) -> Response {
    // The detail goes to the log; the client learns only that it may retry.
    tracing::warn!(error = ?err, "serving media");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CACHE_CONTROL, "no-store")],
        "media storage is unavailable, try again",
    )
        .into_response()
}

/// Alive: the process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers. A connection found dead is replaced and tried again.
async fn readyz(State(state): State<HttpState>) -> Response {
    for _ in 0..2 {
        let attempt = tokio::time::timeout(Duration::from_secs(2), async {
            let mut conn = state.app.pool.get().await.ok()?;
            conn.batch_execute("SELECT 1").await.ok()
        })
        .await;
        if let Ok(Some(())) = attempt {
            return (
                StatusCode::OK,
                axum::Json(serde_json::json!({ "ready": true })),
            )
                .into_response();
        }
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(serde_json::json!({ "ready": false, "reason": "database unreachable" })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_str(value).expect("header"),
        );
        headers
    }

    #[test]
    fn negotiation_follows_the_spec() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(ResponseType::Json));
        assert_eq!(
            negotiate(&accept("application/json")),
            Some(ResponseType::Json)
        );
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(ResponseType::GraphqlResponseJson)
        );
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Some(ResponseType::Json)
        );
        assert_eq!(negotiate(&accept("*/*")), Some(ResponseType::Json));
        assert_eq!(negotiate(&accept("text/plain")), None);
        assert_eq!(negotiate(&accept("application/json;q=0")), None);
    }
}
