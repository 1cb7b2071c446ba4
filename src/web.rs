//! The web client and GraphiQL: the pages Vite builds into `web/dist`, embedded in the
//! binary at compile time (by memory-serve, with brotli and gzip forms and entity tags), so
//! the server needs no Node and no network at run time.
//!
//! `/` and every other page route of the client get `index.html` (the client routes in the
//! browser); `/graphql` gets `graphiql.html` when a browser asks for a page. Files under
//! `/assets/` are named by their content and cached for a year; the pages are revalidated
//! on every load, so a new release is picked up at once. Both pages run under a policy that
//! allows only our own scripts and styles.

use axum::Router;
use axum::body::Body;
use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use memory_serve::CacheControl;
use tower::ServiceExt;

use crate::config::Config;

/// The client's page, served for its routes.
const INDEX: &str = "/index.html";
/// GraphiQL's page, served for a browser's `GET /graphql`.
const GRAPHIQL: &str = "/graphiql.html";

/// Paths that belong to the server, never to the client's routes: an unknown path under
/// them is a plain 404, not the client's page.
const SERVER_PREFIXES: [&str; 6] = [
    "/graphql", "/media/", "/assets/", "/healthz", "/readyz", "/metrics",
];

/// The embedded files' routes, built on first use: building them decompresses and
/// compresses every file (and leaks them, as memory-serve intends for a once-per-process
/// router), so a server that is never asked for a page never pays for it.
static FILES: OnceLock<Router> = OnceLock::new();

fn files() -> Router {
    FILES
        .get_or_init(|| {
            memory_serve::load!()
                .index_file(Some(INDEX))
                // A page names its scripts by their content: it must be revalidated each
                // time, and they may be kept for good.
                .html_cache_control(CacheControl::NoCache)
                .cache_control(CacheControl::Long)
                .enable_gzip(true)
                // Brotli at its best quality takes seconds for GraphiQL's megabyte: release
                // builds get it from the build step, a debug build would compress it at
                // start-up, in every test server.
                .enable_brotli(!cfg!(debug_assertions))
                .into_router()
        })
        .clone()
}

/// The embedded pages and files under this server's content security policy.
#[derive(Clone)]
pub struct Pages {
    policy: HeaderValue,
}

impl Pages {
    /// The pages as `config` serves them (its media origin is allowed to show pictures).
    pub fn new(config: &Config) -> Self {
        Self {
            policy: policy(config),
        }
    }

    /// GraphiQL's page, as the embedded `graphiql.html`.
    pub async fn graphiql(&self, headers: &HeaderMap) -> Response {
        self.serve(GRAPHIQL, headers.clone()).await
    }

    /// What a request no API route matched gets: an embedded file (`/` is the client's
    /// page), else the client's page when a browser asks for a page outside the server's
    /// own paths (a client route such as `/c/<id>`), else 404.
    pub async fn fallback(&self, method: Method, uri: Uri, headers: HeaderMap) -> Response {
        let readable = method == Method::GET || method == Method::HEAD;
        if !readable {
            return StatusCode::NOT_FOUND.into_response();
        }
        let wants_page = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
        let path = uri.path();
        let servers = SERVER_PREFIXES
            .iter()
            .any(|prefix| path.starts_with(prefix));
        let response = self
            .serve_request(method, uri.clone(), headers.clone())
            .await;
        if response.status() == StatusCode::NOT_FOUND && wants_page && !servers {
            self.serve(INDEX, headers).await
        } else {
            response
        }
    }

    /// The embedded file at `route`, negotiated against the request's headers (encoding,
    /// `If-None-Match`).
    async fn serve(&self, route: &'static str, headers: HeaderMap) -> Response {
        self.serve_request(Method::GET, Uri::from_static(route), headers)
            .await
    }

    async fn serve_request(&self, method: Method, uri: Uri, headers: HeaderMap) -> Response {
        let mut request = Request::new(Body::empty());
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        let mut response = match files().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        if response.status() != StatusCode::NOT_FOUND {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, self.policy.clone());
        }
        response
    }
}

/// The pages' content security policy: scripts, styles and connections of this origin only
/// (WebSockets included: `'self'` covers `ws:` to the same host), fonts and pictures also as
/// `data:` (GraphiQL's icons) and `blob:` (a picture previewed before its upload), plus the
/// media origin when `MEDIA_BASE_URL` puts pictures on a CDN, and the bucket's when attachment
/// URLs are presigned by S3.
fn policy(config: &Config) -> HeaderValue {
    let bucket = config.s3.as_ref().map(|s3| match &s3.endpoint {
        Some(endpoint) => endpoint.trim_end_matches('/').to_owned(),
        // object_store addresses AWS path-style: https://s3.<region>.amazonaws.com/<bucket>/….
        None => format!("https://s3.{}.amazonaws.com", s3.region),
    });
    let media: String = [config.media_base_url.as_deref(), bucket.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(origin)
        .map(|origin| format!(" {origin}"))
        .collect();
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; \
         img-src 'self' data: blob:{media}; font-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    // The origin comes from a validated URL (no quotes, spaces or control characters).
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
}

/// `scheme://host[:port]` of an absolute http(s) URL; `None` for a path.
fn origin(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let end = rest
        .find('/')
        .map_or(url.len(), |i| url.len() - rest.len() + i);
    Some(&url[..end])
}

#[cfg(test)]
mod tests {
    use super::origin;

    #[test]
    fn origin_of_a_media_base_url() {
        assert_eq!(
            origin("https://cdn.example.com/media"),
            Some("https://cdn.example.com")
        );
        assert_eq!(
            origin("http://127.0.0.1:9000"),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(origin("/media"), None);
    }
}
