//! What browsers are told: which other sites' pages may call the API (CORS, from
//! `MESSENGER_CORS_ORIGINS`), and the security headers of everything this server sends (a
//! content security policy, `nosniff`, no referrer, no framing).

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

/// The policy of pages and files that run no script of ours (JSON, media): nothing may load
/// from them, and an SVG or HTML file opened directly runs sandboxed.
const LOCKED_DOWN: &str =
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox";

/// Headers a browser sends with API calls, which a preflight must allow.
const REQUEST_HEADERS: [HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::AUTHORIZATION,
    HeaderName::from_static("apollo-require-preflight"),
    HeaderName::from_static("x-apollo-operation-name"),
];

/// The security headers every response gets unless it sets its own (the web client's pages
/// do): `nosniff`, no referrer, no framing, and the locked-down content security policy.
pub fn security_headers() -> [SetResponseHeaderLayer<HeaderValue>; 4] {
    [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CONTENT_SECURITY_POLICY, LOCKED_DOWN),
    ]
    .map(|(name, value)| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    })
}

/// CORS for the allowed origins, without credentials (tokens travel in headers, not
/// cookies); `None` when no origin is allowed, so preflights get no grant.
pub fn cors(origins: &[String]) -> Option<CorsLayer> {
    let allow = match origins {
        [] => return None,
        [any] if any == "*" => AllowOrigin::any(),
        list => AllowOrigin::list(
            list.iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect::<Vec<_>>(),
        ),
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers(REQUEST_HEADERS)
            .max_age(std::time::Duration::from_secs(600)),
    )
}
