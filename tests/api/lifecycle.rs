//! The server's life: migrations down and up, creating a missing database, the private
//! PostgreSQL, and surviving a PostgreSQL restart.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use messenger::db;
use messenger::db::private::PrivatePostgres;
use serde_json::json;

use crate::harness::{
    ChildLog, TestApp, TestDb, error_code, output_within, test_config, wait_within, with_database,
};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn table_count(db: &TestDb) -> i64 {
    let mut conn = db.connect().await;
    let row: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public' \
         AND table_name IN ('users', 'token_families', 'refresh_tokens', 'sessions', \
         'session_members', 'messages', 'events', 'event_retention')",
    )
    .get_result(&mut conn)
    .await
    .expect("counting tables");
    row.n
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_run_down_and_up_again() {
    let db = TestDb::empty().await;
    db::run_migrations(&db.url).await.expect("up");
    assert_eq!(table_count(&db).await, 8);
    db::revert_all_migrations(&db.url).await.expect("down");
    assert_eq!(table_count(&db).await, 0);
    db::run_migrations(&db.url).await.expect("up again");
    assert_eq!(table_count(&db).await, 8);
    // And the schema works after the round trip.
    let app = TestApp::on_database(db, test_config("unused"));
    let user = app.register("roundtrip").await;
    assert!(!user.id.is_empty());
}

#[derive(QueryableByName, Debug)]
struct ForeignKey {
    #[diesel(sql_type = diesel::sql_types::Text)]
    constraint: String,
}

/// Foreign keys (`table.constraint`) whose referencing columns lead no index, except those
/// that point at `users`.
async fn unindexed_foreign_keys(conn: &mut AsyncPgConnection) -> Vec<String> {
    let keys: Vec<ForeignKey> = diesel::sql_query(
        "SELECT format('%s.%s', c.conrelid::regclass, c.conname) AS constraint \
           FROM pg_constraint c \
          WHERE c.contype = 'f' AND c.confrelid <> 'users'::regclass \
            AND NOT EXISTS ( \
                SELECT 1 FROM pg_index i \
                 WHERE i.indrelid = c.conrelid \
                   AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] = c.conkey::int2[]) \
          ORDER BY 1",
    )
    .load(conn)
    .await
    .expect("reading the catalog");
    keys.into_iter().map(|k| k.constraint).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_foreign_key_a_delete_can_reach_has_an_index() {
    // Deleting a referenced row makes PostgreSQL look up its referencing rows: without an
    // index on the referencing columns that is a scan of the whole table (a million messages
    // for one deleted message). Users are the exception: accounts are deactivated, never
    // deleted, and the keys that point at them (senders, authors, actors) stay unindexed.
    let db = TestDb::new().await;
    let mut conn = db.connect().await;
    let missing = unindexed_foreign_keys(&mut conn).await;
    assert!(
        missing.is_empty(),
        "foreign keys without an index: {missing:?}"
    );

    // And the check sees what it looks for: the indexes of this migration are among those it
    // counts (dropping one makes its key unindexed).
    diesel_async::SimpleAsyncConnection::batch_execute(
        &mut conn,
        "DROP INDEX messages_reply_to_id_idx",
    )
    .await
    .expect("dropping an index");
    assert_eq!(
        unindexed_foreign_keys(&mut conn).await,
        ["messages.messages_reply_to_id_fkey"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_database_is_created() {
    let db = TestDb::new().await;
    let missing = with_database(&db.url, &format!("{}_new", uuid::Uuid::now_v7().simple()));
    db::ensure_database(&missing).await.expect("created");
    db::run_migrations(&missing).await.expect("migrated");
    // Clean up the extra database.
    let (admin, name) = db::split_database(&missing).expect("url");
    let mut conn = diesel_async::AsyncPgConnection::establish(&admin)
        .await
        .expect("admin");
    diesel_async::SimpleAsyncConnection::batch_execute(
        &mut conn,
        &format!("DROP DATABASE {} WITH (FORCE)", db::quote_ident(&name)),
    )
    .await
    .expect("drop");
}

/// A private cluster in a fresh folder under target/ (reachable by the postgres user).
fn private_dir(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("folder");
    dir
}

/// A router on a migrated database of a private cluster (which a test may stop and restart),
/// with one-second database timeouts and a pool of `pool_size`. The `TestApp` is only the
/// source of the rest of the state; it lives as long as the router.
struct PrivateApp {
    pg: PrivatePostgres,
    dir: std::path::PathBuf,
    url: String,
    router: axum::Router,
    _app: TestApp,
}

impl PrivateApp {
    async fn start(name: &str, pool_size: usize) -> Self {
        let dir = private_dir(name);
        let pg = PrivatePostgres::start(&dir.join("pg"), None)
            .await
            .expect("private PostgreSQL");
        let url = pg.url("messenger");
        db::ensure_database(&url).await.expect("database");
        db::run_migrations(&url).await.expect("migrations");
        let mut config = test_config(&url);
        config.db_timeout = Duration::from_secs(1);
        let app = TestApp::on_database(TestDb::new().await, config);
        let state = messenger::state::AppState {
            pool: db::build_pool(&url, pool_size, Duration::from_secs(1)).expect("pool"),
            ..app.state.clone()
        };
        Self {
            pg,
            dir,
            url,
            router: messenger::build_app(state),
            _app: app,
        }
    }

    async fn stop(mut self) {
        self.pg.stop().await.expect("stopping PostgreSQL");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_and_requests_follow_a_postgres_restart() {
    let mut private = PrivateApp::start("restart", 4).await;
    let router = private.router.clone();
    let ready = |router: axum::Router| async move {
        use tower::ServiceExt;
        let response = router
            .oneshot(
                Request::get("/readyz")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("infallible");
        response.status()
    };
    let register = |router: axum::Router, name: &'static str| async move {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let body = json!({ "query": format!("mutation {{ register(input: {{username: \"{name}\", password: \"12345678\", displayName: \"x\"}}) {{ user {{ id }} }} }}") });
        let response = router
            .oneshot(
                Request::post("/graphql")
                    .header("content-type", "application/json")
                    .body(Body::from(body.to_string()))
                    .expect("request"),
            )
            .await
            .expect("infallible");
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        serde_json::from_slice::<serde_json::Value>(&bytes).expect("json")
    };

    assert_eq!(ready(router.clone()).await, StatusCode::OK);
    let first = register(router.clone(), "before").await;
    assert!(first["errors"].is_null(), "{first}");

    private.pg.stop().await.expect("stopping PostgreSQL");
    assert_eq!(ready(router.clone()).await, StatusCode::SERVICE_UNAVAILABLE);
    let during = register(router.clone(), "during").await;
    assert_eq!(error_code(&during), Some("UNAVAILABLE"), "{during}");
    assert_eq!(during["errors"][0]["extensions"]["retryable"], true);

    private.pg.restart().await.expect("restarting PostgreSQL");
    let deadline = Instant::now() + Duration::from_secs(20);
    while ready(router.clone()).await != StatusCode::OK {
        assert!(Instant::now() < deadline, "never ready again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = register(router.clone(), "after").await;
    assert!(after["errors"].is_null(), "{after}");
    private.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sends_across_a_postgres_restart_are_unavailable_then_stored_exactly_once() {
    let mut private = PrivateApp::start("sends", 8).await;
    let router = private.router.clone();
    let gql = move |token: Option<String>, query: &'static str, variables: serde_json::Value| {
        let router = router.clone();
        async move { TestApp::gql_on(&router, token.as_deref(), query, variables).await }
    };
    let register = "mutation($u: String!) { register(input: {username: $u, password: \"12345678\", displayName: $u}) { accessToken user { id } } }";
    let alice = gql(None, register, json!({ "u": "alice" })).await;
    let bob = gql(None, register, json!({ "u": "bob" })).await;
    let alice_token = alice["data"]["register"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{alice}"))
        .to_owned();
    let session = gql(
        Some(alice_token.clone()),
        "mutation($u: ID!) { startDirectSession(userId: $u) { id } }",
        json!({ "u": bob["data"]["register"]["user"]["id"] }),
    )
    .await["data"]["startDirectSession"]["id"]
        .clone();
    assert!(session.is_string(), "no session");

    // 16 clients send 8 messages each, retrying a failed send with the same client message
    // id, as a well-behaved client does when told `retryable`; PostgreSQL restarts meanwhile.
    const CLIENTS: usize = 16;
    const EACH: usize = 8;
    let send = "mutation($s: ID!, $c: String!) { sendMessage(input: {sessionId: $s, body: \"hi\", clientMessageId: $c}) { id } }";
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (gql, token, session) = (gql.clone(), alice_token.clone(), session.clone());
        clients.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut refusals = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(60);
            for k in 0..EACH {
                let client_id = format!("c{c}-{k}");
                loop {
                    assert!(Instant::now() < deadline, "sends never came back");
                    let answer = gql(
                        Some(token.clone()),
                        send,
                        json!({ "s": session, "c": client_id }),
                    )
                    .await;
                    if let Some(id) = answer["data"]["sendMessage"]["id"].as_str() {
                        acknowledged.push(id.to_owned());
                        break;
                    }
                    let error = &answer["errors"][0]["extensions"];
                    refusals.push((error["code"].clone(), error["retryable"].clone()));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            (acknowledged, refusals)
        }));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    private.pg.stop().await.expect("stopping PostgreSQL");
    tokio::time::sleep(Duration::from_millis(500)).await;
    private.pg.restart().await.expect("restarting PostgreSQL");

    let mut acknowledged = Vec::new();
    let mut refusals = Vec::new();
    for client in clients {
        let (ids, refused) = client.await.expect("client");
        acknowledged.extend(ids);
        refusals.extend(refused);
    }
    assert!(
        !refusals.is_empty(),
        "the restart refused nothing: it proved nothing"
    );
    for (code, retryable) in &refusals {
        assert_eq!(
            (code.as_str(), retryable.as_bool()),
            (Some("UNAVAILABLE"), Some(true)),
            "a send refused during the restart must say it can be retried"
        );
    }
    assert_eq!(acknowledged.len(), CLIENTS * EACH);
    let mut conn = AsyncPgConnection::establish(&private.url)
        .await
        .expect("connection");
    let stored: Count =
        diesel::sql_query("SELECT count(*) AS n FROM messages WHERE client_message_id IS NOT NULL")
            .get_result(&mut conn)
            .await
            .expect("count");
    assert_eq!(
        stored.n as usize,
        CLIENTS * EACH,
        "every message stored once"
    );
    let found: Count =
        diesel::sql_query("SELECT count(*) AS n FROM messages WHERE id::text = ANY($1)")
            .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&acknowledged)
            .get_result(&mut conn)
            .await
            .expect("count");
    assert_eq!(
        found.n as usize,
        CLIENTS * EACH,
        "every acknowledged message kept"
    );
    drop(conn);
    private.stop().await;
}

fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connecting");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
    )
    .expect("writing");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("reading");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response)
}

/// `cargo run` with no configuration: the server starts its own PostgreSQL in its data folder,
/// serves GraphiQL, stops cleanly on SIGTERM, and reuses the folder on the next start.
#[test]
fn the_binary_runs_its_own_postgres_and_stops_cleanly() {
    let dir = private_dir("serve");
    for round in 0..2 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_messenger"))
            .env_remove("DATABASE_URL")
            .env("MESSENGER_DATA_DIR", &dir)
            .env("MESSENGER_LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting messenger");
        let mut lines = ChildLog::new(child.stderr.take().expect("stderr"));
        let listening = lines.wait_for(Duration::from_secs(60), |line| {
            let rest = line.split("listening on http://").nth(1)?;
            rest.split_whitespace().next().map(str::to_owned)
        });
        let addr = listening.unwrap_or_else(|log| {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no listening line: {log}")
        });
        let log = lines.seen.clone();
        if round == 0 {
            assert!(
                log.contains("creating a private PostgreSQL cluster"),
                "{log}"
            );
            assert!(log.contains("generated a signing key"), "{log}");
        } else {
            assert!(
                !log.contains("creating a private PostgreSQL cluster"),
                "{log}"
            );
        }
        let (status, body) = http_get(&addr, "/graphql");
        assert_eq!(status, 200);
        assert!(body.contains("graphiql"));
        let (status, _) = http_get(&addr, "/readyz");
        assert_eq!(status, 200);

        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        let status = wait_within(&mut child, Duration::from_secs(30));
        assert!(status.success(), "exit status {status}");
        assert!(
            !dir.join("postgres/postmaster.pid").exists(),
            "PostgreSQL still running after the server stopped"
        );
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("token.key"))
        .expect("key file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Start-up failures end the process with one sentence naming what to fix.
#[test]
fn bad_configuration_stops_the_start_with_a_clear_sentence() {
    let cases = [
        ("MESSENGER_DB_POOL_SIZE", "zero", "MESSENGER_DB_POOL_SIZE"),
        ("MESSENGER_LISTEN", "nowhere", "MESSENGER_LISTEN"),
        (
            "MESSENGER_POSTGRES_BIN_DIR",
            "/nonexistent",
            "MESSENGER_POSTGRES_BIN_DIR",
        ),
    ];
    for (name, value, expected) in cases {
        let child = Command::new(env!("CARGO_BIN_EXE_messenger"))
            .env_remove("DATABASE_URL")
            .env("MESSENGER_DATA_DIR", private_dir("badconfig"))
            .env(name, value)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running messenger");
        // A start that wrongly succeeds would serve forever: it has a minute to give up.
        let output = output_within(child, Duration::from_secs(60));
        assert!(!output.status.success(), "{name}={value} started");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{name}={value}: {stderr}");
    }
}
