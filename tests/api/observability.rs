//! `/metrics`: what an operator's Prometheus reads after real traffic, over HTTP and the
//! socket, and that it can move to a listener of its own.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

use crate::chat::{direct, send};
use crate::harness::{ServerProcess, TestApp, TestDb, error_code};
use crate::media::upload;
use crate::wsclient::WsClient;

/// The exposition as a scraper gets it.
async fn scrape(app: &TestApp) -> String {
    let answer = app
        .send(
            Request::get("/metrics")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer
            .content_type()
            .starts_with("application/openmetrics-text"),
        "{}",
        answer.content_type()
    );
    String::from_utf8(answer.body.to_vec()).expect("utf-8")
}

/// The value of one sample (`name{labels}` exactly as exposed). A series that is not there
/// fails the test: an assertion of 0 must not pass because the metric went missing.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no series {series} in:\n{text}"))
        .trim()
        .parse()
        .expect("a number")
}

/// A query checks its sign-in on the connection of its first read, so the two reach
/// PostgreSQL together: one connection from the pool per query, not one for the check and one
/// for the read (`messenger_db_pool_wait_seconds` counts every connection requests take).
#[tokio::test(flavor = "multi_thread")]
async fn a_query_checks_its_sign_in_on_the_connection_of_its_first_read() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let session = direct(&app, &alice, &bob).await;
    let sent = send(&app, &bob, &session, "open me").await;
    let queries = [
        (
            "{ me { username } }",
            json!({}),
            json!({ "me": { "username": "alice" } }),
        ),
        (
            "query($id: ID!) { user(id: $id) { username } }",
            json!({ "id": bob.id }),
            json!({ "user": { "username": "bob" } }),
        ),
        (
            "query($id: ID!) { session(id: $id) { id } }",
            json!({ "id": session }),
            json!({ "session": { "id": session } }),
        ),
        (
            "query($id: ID!) { message(id: $id) { body } }",
            json!({ "id": sent["id"] }),
            json!({ "message": { "body": "open me" } }),
        ),
    ];
    for (query, variables, expected) in queries {
        let before = sample(&scrape(&app).await, "messenger_db_pool_wait_seconds_count");
        for _ in 0..5 {
            let answer = app.gql(Some(&alice.access), query, variables.clone()).await;
            assert!(answer["errors"].is_null(), "{answer}");
            assert_eq!(answer["data"], expected, "{answer}");
        }
        let after = sample(&scrape(&app).await, "messenger_db_pool_wait_seconds_count");
        assert_eq!(
            after - before,
            5.0,
            "connections taken by five runs of {query}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_what_clients_did() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let addr = app.serve().await;

    // A named query twice, a refused mutation, a query that does not parse.
    for _ in 0..2 {
        let me = app
            .gql(Some(&alice.access), "query Me { me { id } }", json!({}))
            .await;
        assert!(me["errors"].is_null(), "{me}");
    }
    let refused = app
        .gql(
            None,
            "mutation Leave($s: ID!) { leaveSession(sessionId: $s) }",
            json!({ "s": "00000000-0000-0000-0000-000000000000" }),
        )
        .await;
    assert_eq!(error_code(&refused), Some("UNAUTHENTICATED"), "{refused}");
    let broken = app.gql(None, "query {", json!({})).await;
    assert_eq!(error_code(&broken), Some("GRAPHQL_PARSE_FAILED"));

    // A live subscriber over the socket, and a message it receives.
    let mut ws = WsClient::connect(addr, "graphql-transport-ws").await;
    ws.init(Some(&bob.access)).await;
    ws.subscribe_live(
        &app.state.hub,
        "e",
        "subscription Feed { events { kind } }",
        json!({}),
    )
    .await;
    let session = direct(&app, &alice, &bob).await;
    assert_eq!(
        ws.next_event("e", "events").await["kind"],
        "SESSION_CREATED"
    );
    send(&app, &alice, &session, "hello").await;
    assert_eq!(
        ws.next_event("e", "events").await["kind"],
        "MESSAGE_CREATED"
    );
    // A query over the socket counts as well.
    ws.subscribe("q", "query Sock { me { id } }", json!({}))
        .await;
    let answer = ws.next_payload("q").await;
    assert_eq!(answer["data"]["me"]["id"], bob.id, "{answer}");
    // A picture that is not one.
    let upload = upload(&app, &alice.access, "x.png", b"not a picture").await;
    assert_eq!(error_code(&upload), Some("BAD_USER_INPUT"), "{upload}");

    let text = scrape(&app).await;
    let requests = |labels: &str| {
        sample(
            &text,
            &format!("messenger_graphql_requests_total{{{labels}}}"),
        )
    };
    assert_eq!(
        requests(r#"operation="Me",kind="query",code="OK""#),
        2.0,
        "{text}"
    );
    assert_eq!(
        requests(r#"operation="Leave",kind="mutation",code="UNAUTHENTICATED""#),
        1.0,
        "{text}"
    );
    assert_eq!(
        requests(r#"operation="anonymous",kind="unknown",code="GRAPHQL_PARSE_FAILED""#),
        1.0,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"messenger_graphql_request_duration_seconds_count{operation="Me",kind="query"}"#
        ),
        2.0
    );
    assert_eq!(
        sample(
            &text,
            r#"messenger_graphql_requests_total{operation="Sock",kind="query",code="OK"}"#
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        sample(&text, "messenger_live_subscriptions_started_total"),
        1.0,
        "{text}"
    );
    assert_eq!(sample(&text, "messenger_open_sockets"), 1.0, "{text}");
    assert_eq!(sample(&text, "messenger_live_subscriptions"), 1.0, "{text}");
    assert!(
        sample(&text, "messenger_event_pump_delay_seconds_count") >= 2.0,
        "the session and the message went through the pump: {text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"messenger_uploads_total{kind="avatar",code="BAD_USER_INPUT"}"#
        ),
        1.0,
        "{text}"
    );
    assert_eq!(sample(&text, "messenger_redis_connected"), 0.0);
    assert!(
        sample(&text, "messenger_db_pool_wait_seconds_count") >= 5.0,
        "every request waited for a connection, however briefly: {text}"
    );
    assert!(
        sample(&text, r#"messenger_db_pool_connections{state="idle"}"#) >= 1.0,
        "{text}"
    );
    // No user or session id in any label.
    for id in [&alice.id, &bob.id, &session] {
        assert!(!text.contains(id.as_str()), "{id} in {text}");
    }

    // The socket's close is seen at the next scrape.
    drop(ws);
    let mut closed = String::new();
    for _ in 0..50 {
        closed = scrape(&app).await;
        if sample(&closed, "messenger_open_sockets") == 0.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(sample(&closed, "messenger_open_sockets"), 0.0, "{closed}");
    assert_eq!(
        sample(&closed, "messenger_live_subscriptions"),
        0.0,
        "{closed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_metrics_listener_of_its_own_takes_metrics_off_the_main_port() {
    let db = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("messenger-metrics-{}", uuid::Uuid::now_v7()));
    // Redis on a port nobody listens on: the server runs alone and says so.
    let server = ServerProcess::start_with(
        &db.url,
        "redis://127.0.0.1:1",
        &dir,
        &[("MESSENGER_METRICS_LISTEN", "127.0.0.1:0")],
    );
    // The metrics listener's port, from the line that says where the server listens.
    let metrics_addr: std::net::SocketAddr = server
        .listening
        .split("metrics at http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no metrics address in {:?}", server.listening));
    let me = server
        .gql(None, "query Anon { __typename }", json!({}))
        .await;
    assert_eq!(me["data"]["__typename"], "Query", "{me}");

    let (status, _) = http_get(server.addr, "/metrics").await;
    assert_eq!(status, 404, "metrics stay off the main port");
    // Both listeners were bound before the server said where they are.
    let (status, text) = http_get(metrics_addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        text.contains(
            r#"messenger_graphql_requests_total{operation="Anon",kind="query",code="OK"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains("messenger_redis_connected 0"), "{text}");

    // The container health check: `messenger healthcheck` against the running server, and
    // against a port where nothing answers.
    let check = |listen: String| {
        std::process::Command::new(env!("CARGO_BIN_EXE_messenger"))
            .arg("healthcheck")
            .env("MESSENGER_LISTEN", listen)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("running messenger healthcheck")
    };
    assert!(check(server.addr.to_string()).success());
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    assert!(!check(closed.to_string()).success());
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// GET over a plain TCP connection (HTTP/1.1, closed after the answer): status and body.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .expect("write");
    let mut answer = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_string(&mut answer),
    )
    .await
    .expect("an answer within 10 s")
    .expect("read");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn operations_and_their_statements_reach_an_otlp_collector_without_their_values() {
    // A stand-in collector: OTLP over HTTP is a protobuf body POSTed to /v1/traces.
    let received: std::sync::Arc<std::sync::Mutex<Vec<u8>>> = Default::default();
    let sink = received.clone();
    let collector = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock().expect("sink").extend_from_slice(&body);
                StatusCode::OK
            }
        }),
    );
    let collector_addr = crate::harness::serve_router(collector).await;
    let endpoint = format!("http://{collector_addr}");

    let db = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("messenger-otlp-{}", uuid::Uuid::now_v7()));
    let server = ServerProcess::start_with(
        &db.url,
        "redis://127.0.0.1:1",
        &dir,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let secret = "a password nobody may see 7f3a";
    let username = "tracedname7q";
    let signed_up = server
        .gql(
            None,
            "mutation SignUp($u: String!, $p: String!) { register(input: {username: $u, password: $p, displayName: $u}) { user { id } } }",
            json!({ "u": username, "p": secret }),
        )
        .await;
    assert!(signed_up["errors"].is_null(), "{signed_up}");

    let contains = |bytes: &[u8], needle: &str| {
        bytes
            .windows(needle.len())
            .any(|window| window == needle.as_bytes())
    };
    let mut exported = Vec::new();
    for _ in 0..100 {
        exported = received.lock().expect("sink").clone();
        if contains(&exported, "mutation SignUp") && contains(&exported, "INSERT INTO") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        contains(&exported, "mutation SignUp"),
        "no operation span in {} exported bytes",
        exported.len()
    );
    assert!(contains(&exported, "INSERT INTO"), "no statement span");
    assert!(contains(&exported, "postgresql"));
    // The event pump's polling, outside any operation, makes no spans.
    assert!(
        !contains(&exported, "pg_snapshot"),
        "the pump's statements were traced"
    );
    // Statements go without their bound values: neither the username nor the password's
    // hash (the password itself never reaches a statement).
    assert!(!contains(&exported, secret));
    assert!(!contains(&exported, username));
    assert!(!contains(&exported, "$argon2"));
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_are_one_object_per_line() {
    let db = TestDb::empty().await;
    let data = std::env::temp_dir().join(format!("messenger-migrate-{}", uuid::Uuid::now_v7()));
    let output = crate::harness::output_within(
        std::process::Command::new(env!("CARGO_BIN_EXE_messenger"))
            .arg("migrate")
            .env("DATABASE_URL", &db.url)
            .env("MESSENGER_DATA_DIR", &data)
            .env("MESSENGER_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("running messenger migrate"),
        std::time::Duration::from_secs(60),
    );
    assert!(output.status.success(), "{output:?}");
    // A one-shot migration needs the database and nothing else: no signing key is made.
    assert!(
        !data.join("token.key").exists(),
        "migrate wrote a token key"
    );
    let _ = std::fs::remove_dir_all(&data);
    let stderr = String::from_utf8(output.stderr).expect("utf-8");
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "applied migration" && l["level"] == "INFO"),
        "{stderr}"
    );

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_messenger"))
        .arg("print-schema")
        .env("MESSENGER_LOG_FORMAT", "yaml")
        .output()
        .expect("running messenger");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("MESSENGER_LOG_FORMAT"));
}
