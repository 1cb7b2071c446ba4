//! The web client and GraphiQL as the server serves them: the embedded `web/dist`, with its
//! cache rules, compression, content security policy and the client's route fallback. (The
//! client itself is tested in Chromium by `tests/web.rs`.)

use std::io::Read;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};

use crate::harness::{Answer, TestApp};

/// The built client, as checked in.
fn dist() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web/dist")
}

fn page_request(path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .body(Body::empty())
        .expect("request")
}

fn header_of(answer: &Answer, name: header::HeaderName) -> &str {
    answer.header(name).unwrap_or_default()
}

/// The `/assets/…` files a page names in `src="…"` and `href="…"`.
fn assets_of(page: &str) -> Vec<String> {
    page.split(['"', '\''])
        .filter(|part| part.starts_with("/assets/"))
        .map(str::to_owned)
        .collect()
}

/// Every file under `dir`, as paths relative to it.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).expect("read web/dist") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path.strip_prefix(dir).expect("under dist").to_path_buf());
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_is_served_at_the_root_and_its_routes_under_a_strict_policy() {
    let app = TestApp::spawn().await;
    let index = std::fs::read_to_string(dist().join("index.html")).expect("web/dist/index.html");
    for path in ["/", "/c/0192f4a2-0000-7000-8000-000000000000", "/profile"] {
        let page = app.send(page_request(path)).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.content_type().starts_with("text/html"), "{path}");
        assert_eq!(String::from_utf8_lossy(&page.body), index, "{path}");
        // Revalidated on every load, so a new release is picked up at once.
        assert_eq!(
            header_of(&page, header::CACHE_CONTROL),
            "no-cache",
            "{path}"
        );
        let policy = header_of(&page, header::CONTENT_SECURITY_POLICY);
        assert!(policy.contains("default-src 'self'"), "{policy}");
        assert!(policy.contains("script-src 'self';"), "{policy}");
        assert!(policy.contains("style-src 'self';"), "{policy}");
        assert!(!policy.contains("unsafe"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    }
    // The page starts no script inline.
    assert!(!index.contains("<script>"), "{index}");
    assert!(index.contains("<script type=\"module\" crossorigin src=\"/assets/"));
}

#[tokio::test(flavor = "multi_thread")]
async fn hashed_assets_are_cached_for_good_compressed_and_revalidated() {
    let app = TestApp::spawn().await;
    let page = app.send(page_request("/")).await;
    let assets = assets_of(&String::from_utf8_lossy(&page.body));
    assert!(
        assets.iter().any(|a| a.ends_with(".js")),
        "no script named in the page: {assets:?}"
    );
    for asset in &assets {
        let expected = std::fs::read(dist().join(asset.trim_start_matches('/'))).expect(asset);
        let answer = app
            .send(
                Request::get(asset.as_str())
                    .header(header::ACCEPT_ENCODING, "gzip")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{asset}");
        assert_eq!(
            header_of(&answer, header::CACHE_CONTROL),
            "max-age=31536000, immutable",
            "{asset}"
        );
        let kind = header_of(&answer, header::CONTENT_TYPE);
        if asset.ends_with(".js") {
            assert_eq!(kind, "text/javascript", "{asset}");
        } else if asset.ends_with(".css") {
            assert_eq!(kind, "text/css", "{asset}");
        }
        assert_eq!(
            header_of(&answer, header::CONTENT_ENCODING),
            "gzip",
            "{asset}"
        );
        let mut body = Vec::new();
        flate2::read::GzDecoder::new(&answer.body[..])
            .read_to_end(&mut body)
            .expect("gzip");
        assert_eq!(body, expected, "{asset} differs from web/dist");

        // A client holding it asks again with its tag and gets no body.
        let tag = header_of(&answer, header::ETAG).to_owned();
        assert!(!tag.is_empty(), "{asset} has no entity tag");
        let again = app
            .send(
                Request::get(asset.as_str())
                    .header(header::IF_NONE_MATCH, &tag)
                    .body(Body::empty())
                    .expect("request"),
            )
            .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{asset}");
        assert!(again.body.is_empty());
    }
}

#[test]
fn every_file_cached_for_good_is_named_by_its_content() {
    // The server caches everything but the pages for a year: that is only right for files
    // whose names change with their content (Vite's `name-<hash>.ext` under `assets/`).
    let files = files_under(&dist());
    assert!(files.iter().any(|f| f == Path::new("index.html")));
    assert!(files.iter().any(|f| f == Path::new("graphiql.html")));
    for file in files {
        let name = file.to_string_lossy();
        if name.ends_with(".html") {
            assert!(!name.contains('/'), "page {name} outside the root");
            continue;
        }
        // Vite names them `name-<8 characters of base64url hash>.ext`.
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let hash = stem.get(stem.len().saturating_sub(8)..).unwrap_or_default();
        assert!(
            name.starts_with("assets/")
                && stem.len() > 9
                && stem.as_bytes()[stem.len() - 9] == b'-'
                && hash
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "{name} is cached for good but not named by its content"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn server_paths_and_non_page_requests_are_not_answered_with_the_client() {
    let app = TestApp::spawn().await;
    for path in [
        "/assets/missing-0123abcd.js",
        "/media/nothing",
        "/graphqlx",
        "/metricsx",
    ] {
        let answer = app.send(page_request(path)).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
    }
    // A script or an API client asking for an unknown path gets 404, not a page.
    let answer = app
        .send(
            Request::get("/c/123")
                .header(header::ACCEPT, "application/json")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let answer = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/c/123")
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn graphiql_is_served_from_embedded_pinned_assets() {
    let app = TestApp::spawn().await;
    let page = app.send(page_request("/graphql")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = String::from_utf8_lossy(&page.body).into_owned();
    let expected = std::fs::read_to_string(dist().join("graphiql.html")).expect("graphiql.html");
    assert_eq!(html, expected);
    // Nothing from another site: every script and stylesheet is one of ours.
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    let assets = assets_of(&html);
    assert!(assets.iter().any(|a| a.ends_with(".js")), "{assets:?}");
    for asset in assets {
        let answer = app.send(page_request(&asset)).await;
        assert_eq!(answer.status, StatusCode::OK, "{asset}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pictures_on_a_cdn_are_allowed_by_the_pages_policy() {
    let app = TestApp::spawn_with(|c| {
        c.media_base_url = Some("https://cdn.example.com/media".into());
    })
    .await;
    let page = app.send(page_request("/")).await;
    let policy = header_of(&page, header::CONTENT_SECURITY_POLICY);
    assert!(
        policy.contains("img-src 'self' data: blob: https://cdn.example.com;"),
        "{policy}"
    );
}
