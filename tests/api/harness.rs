//! The test harness: a real PostgreSQL, one fresh database per test (copied from a migrated
//! template), and the real router driven in-process.
//!
//! PostgreSQL comes from `TEST_DATABASE_URL` (a URL to a maintenance database such as
//! `postgres`), else the local server at `postgres://root@127.0.0.1:5432/postgres`, else a
//! private cluster started in `target/` from the installed binaries (and left running for
//! the next run).

use std::future::Future;
use std::io::{BufRead, Read};
use std::process::{Child, ExitStatus, Output};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use http_body_util::BodyExt;
use messenger::auth::tokens::TokenKey;
use messenger::config::Config;
use messenger::db::{self, StatementCounter, quote_ident};
use messenger::state::AppState;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;
use tower::ServiceExt;
use uuid::Uuid;

const DEFAULT_ADMIN_URL: &str = "postgres://root@127.0.0.1:5432/postgres";

/// The maintenance URL and the template database name, prepared once per test process.
struct Cluster {
    admin_url: String,
    template: String,
}

static CLUSTER: OnceCell<Cluster> = OnceCell::const_new();

fn quiet_logs() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
        }
    });
}

async fn reachable(url: &str) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(3), AsyncPgConnection::establish(url)).await,
        Ok(Ok(_))
    )
}

async fn admin_url() -> String {
    if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
        return url;
    }
    if reachable(DEFAULT_ADMIN_URL).await {
        return DEFAULT_ADMIN_URL.to_owned();
    }
    // No server: start (or reuse) a private one under target/, one process at a time.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-postgres");
    std::fs::create_dir_all(dir.parent().expect("has a parent")).expect("target tmpdir");
    let lock = std::fs::File::create(dir.with_extension("lock")).expect("lock file");
    lock.lock().expect("locking the test cluster");
    let pg = messenger::db::private::PrivatePostgres::start(&dir, None)
        .await
        .expect("no PostgreSQL reachable and none could be started");
    pg.url("postgres")
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn migrations_hash() -> String {
    let mut hasher = Sha256::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = walk(&root);
    files.sort();
    for file in files {
        hasher.update(file.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&file).expect("migration file"));
    }
    hasher.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("migrations dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

async fn cluster() -> &'static Cluster {
    CLUSTER
        .get_or_init(|| async {
            quiet_logs();
            let admin_url = admin_url().await;
            let template = format!("messenger_tmpl_{}", migrations_hash());
            let mut admin = AsyncPgConnection::establish(&admin_url)
                .await
                .expect("connecting to the test PostgreSQL");
            // One process at a time builds the template.
            admin
                .batch_execute("SELECT pg_advisory_lock(82710001)")
                .await
                .expect("advisory lock");
            let exists: Exists =
                diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
                    .bind::<Text, _>(&template)
                    .get_result(&mut admin)
                    .await
                    .expect("checking the template");
            if exists.n == 0 {
                let building = format!("{template}_building");
                for sql in [
                    "DROP DATABASE IF EXISTS {b} WITH (FORCE)",
                    "CREATE DATABASE {b}",
                ] {
                    admin
                        .batch_execute(&sql.replace("{b}", &quote_ident(&building)))
                        .await
                        .expect("creating the template");
                }
                db::run_migrations(&with_database(&admin_url, &building))
                    .await
                    .expect("migrating the template");
                admin
                    .batch_execute(&format!(
                        "ALTER DATABASE {} RENAME TO {}",
                        quote_ident(&building),
                        quote_ident(&template)
                    ))
                    .await
                    .expect("renaming the template");
            }
            admin
                .batch_execute("SELECT pg_advisory_unlock(82710001)")
                .await
                .expect("advisory unlock");
            Cluster {
                admin_url,
                template,
            }
        })
        .await
}

/// The same server URL with another database.
pub fn with_database(url: &str, db: &str) -> String {
    let (admin, _) = db::split_database(url).expect("a URL with a database");
    let (head, query) = match admin.split_once('?') {
        Some((h, q)) => (h.to_owned(), format!("?{q}")),
        None => (admin.clone(), String::new()),
    };
    let base = head
        .strip_suffix("/postgres")
        .expect("admin URL ends in /postgres");
    format!("{base}/{db}{query}")
}

/// A fresh, migrated, empty database that is dropped with this value.
pub struct TestDb {
    /// Its URL.
    pub url: String,
    name: String,
    admin_url: String,
}

impl TestDb {
    /// Copies the migrated template into a new database.
    pub async fn new() -> Self {
        let cluster = cluster().await;
        let name = format!("messenger_test_{}", Uuid::now_v7().simple());
        let mut admin = AsyncPgConnection::establish(&cluster.admin_url)
            .await
            .expect("admin connection");
        admin
            .batch_execute(&format!(
                "CREATE DATABASE {} TEMPLATE {}",
                quote_ident(&name),
                quote_ident(&cluster.template)
            ))
            .await
            .expect("creating the test database");
        Self {
            url: with_database(&cluster.admin_url, &name),
            name,
            admin_url: cluster.admin_url.clone(),
        }
    }

    /// An empty database with no migrations applied.
    pub async fn empty() -> Self {
        let cluster = cluster().await;
        let name = format!("messenger_test_{}", Uuid::now_v7().simple());
        let mut admin = AsyncPgConnection::establish(&cluster.admin_url)
            .await
            .expect("admin connection");
        admin
            .batch_execute(&format!("CREATE DATABASE {}", quote_ident(&name)))
            .await
            .expect("creating the test database");
        Self {
            url: with_database(&cluster.admin_url, &name),
            name,
            admin_url: cluster.admin_url.clone(),
        }
    }

    /// A direct connection to this database.
    pub async fn connect(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.url)
            .await
            .expect("connecting to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs outside async context guarantees: use a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut admin) = AsyncPgConnection::establish(&admin_url).await {
                    let _ = admin
                        .batch_execute(&format!(
                            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                            quote_ident(&name)
                        ))
                        .await;
                }
            });
        })
        .join();
    }
}

/// A test configuration: fast to start, with a random signing key.
pub fn test_config(database_url: &str) -> Config {
    Config {
        database_url: Some(database_url.to_owned()),
        data_dir: std::env::temp_dir().join(format!("messenger-test-{}", Uuid::now_v7())),
        db_pool_size: 5,
        ..Config::default()
    }
}

/// A GraphQL POST as a JSON client sends it.
pub fn graphql_request(token: Option<&str>, query: &str, variables: Value) -> Request<Body> {
    let mut request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = json!({ "query": query, "variables": variables }).to_string();
    request.body(Body::from(body)).expect("request")
}

/// Sends a request through a router and reads the whole answer.
async fn send_to(router: &Router, request: Request<Body>) -> Answer {
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("the router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("reading the body")
        .to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}

/// Serves a router on a random loopback port.
pub async fn serve_router(router: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding a port");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        let _ = axum::serve(listener, service).await;
    });
    addr
}

/// Serves a router on a loopback port whose sockets have a small, fixed send buffer (Linux
/// accepted sockets inherit it from the listener), so a client that stops reading makes the
/// server's writes block quickly: how the tests make a slow subscriber.
pub async fn serve_router_with_small_send_buffer(router: Router) -> std::net::SocketAddr {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_send_buffer_size(4096).expect("send buffer");
    socket
        .bind("127.0.0.1:0".parse().expect("address"))
        .expect("binding");
    let listener = socket.listen(128).expect("listening");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        let _ = axum::serve(listener, service).await;
    });
    addr
}

/// Whether the tests run under CI: `CI` set to anything but empty, `0` or `false` (`.ci/run`
/// exports `CI=true`). There a test that cannot get a service it needs fails instead of
/// skipping.
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// Says that the running test cannot get a service it needs (Redis, the S3 test server). Under
/// CI this fails the test. Elsewhere it writes `SKIPPED: <test>: <reason>` to the process's
/// stderr (directly: libtest captures only the print macros, so the line shows without
/// `--nocapture`), and the caller returns without testing anything.
pub fn skip_or_fail(reason: &str) {
    let current = std::thread::current();
    let test = current.name().unwrap_or("<unnamed test>");
    assert!(!under_ci(), "{test}: cannot be skipped under CI: {reason}");
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {test}: {reason}");
}

/// The lines a child process writes to one of its pipes, read on a thread of their own: a
/// test waits for a line with a deadline instead of blocking on the pipe, and the child never
/// stalls on a full pipe (the thread reads until the pipe closes, also once this is dropped).
pub struct ChildLog {
    lines: std::sync::mpsc::Receiver<String>,
    /// Every line waited through so far, for failure messages.
    pub seen: String,
}

impl ChildLog {
    /// Starts reading `pipe`.
    pub fn new(pipe: impl Read + Send + 'static) -> Self {
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                // Nobody may be listening any more: keep draining all the same.
                let _ = tx.send(line);
            }
        });
        Self {
            lines,
            seen: String::new(),
        }
    }

    /// The first value `pick` finds in a line, waiting at most `within`; the error says
    /// whether the output ended (the child exited) or time ran out, with the log so far.
    pub fn wait_for<T>(
        &mut self,
        within: Duration,
        mut pick: impl FnMut(&str) -> Option<T>,
    ) -> Result<T, String> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                    if let Some(found) = pick(&line) {
                        return Ok(found);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "no such line within {within:?}; output so far:\n{}",
                        self.seen
                    ));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!("the output ended; it was:\n{}", self.seen));
                }
            }
        }
    }
}

/// Waits for a child to exit, at most `within`; past that it is killed and the test fails.
pub fn wait_within(child: &mut Child, within: Duration) -> ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        match child.try_wait().expect("waiting for a child process") {
            Some(status) => return status,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the child process did not exit within {within:?}");
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Like [`Child::wait_with_output`] (stdout and stderr piped), but the child has at most
/// `within` to exit; past that it is killed and the test fails with what it printed.
pub fn output_within(mut child: Child, within: Duration) -> Output {
    fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + within;
    let status = loop {
        match child.try_wait().expect("waiting for a child process") {
            Some(status) => break Some(status),
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let Some(status) = status else {
        panic!(
            "the child process did not exit within {within:?}; stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        );
    };
    Output {
        status,
        stdout,
        stderr,
    }
}

/// How often [`TestRedis::start`] tries another port when the one it picked was taken.
const REDIS_PORT_ATTEMPTS: usize = 5;

/// Why a `redis-server` did not start.
enum RedisStartError {
    /// Its port was taken by another process (between picking it and binding it).
    PortTaken,
    /// Anything else: not installed, crashed, never ready.
    Failed(String),
}

/// A private Redis server on a loopback port, stopped on drop (or with [`TestRedis::stop`]).
pub struct TestRedis {
    /// Its port.
    pub port: u16,
    child: Option<Child>,
}

impl TestRedis {
    /// Starts one, or returns `None` after [`skip_or_fail`] when `redis-server` cannot be had.
    /// redis-server cannot bind port 0 for TCP, so the port is picked free beforehand; if
    /// another process takes it first, redis-server says so and another port is tried.
    pub fn start() -> Option<Self> {
        let mut taken = Vec::new();
        for _ in 0..REDIS_PORT_ATTEMPTS {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let mut redis = Self { port, child: None };
            match redis.launch() {
                Ok(()) => return Some(redis),
                Err(RedisStartError::PortTaken) => taken.push(port),
                Err(RedisStartError::Failed(reason)) => {
                    skip_or_fail(&format!("redis-server could not be started: {reason}"));
                    return None;
                }
            }
        }
        skip_or_fail(&format!(
            "redis-server found every port it was given taken: {taken:?}"
        ));
        None
    }

    /// The URL to give the server.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it again on the same port (the servers under test keep its URL).
    pub fn restart(&mut self) -> Result<(), String> {
        self.launch().map_err(|e| match e {
            RedisStartError::PortTaken => {
                format!("port {} was taken while Redis was down", self.port)
            }
            RedisStartError::Failed(reason) => reason,
        })
    }

    /// Runs `redis-server` on `self.port` and waits until it says it is ready, from its own
    /// log: a connection alone could reach another process that holds the port.
    fn launch(&mut self) -> Result<(), RedisStartError> {
        let mut child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| RedisStartError::Failed(e.to_string()))?;
        let mut log = ChildLog::new(child.stdout.take().expect("stdout"));
        let ready = log.wait_for(Duration::from_secs(10), |line| {
            if line.contains("Ready to accept connections") {
                Some(true)
            } else if line.contains("Address already in use") {
                Some(false)
            } else {
                None
            }
        });
        if ready != Ok(true) {
            let _ = child.kill();
            let _ = child.wait();
        }
        match ready {
            Ok(true) => {
                self.child = Some(child);
                Ok(())
            }
            Ok(false) => Err(RedisStartError::PortTaken),
            Err(log) => Err(RedisStartError::Failed(log)),
        }
    }

    /// Waits until `count` clients subscribe to `channel`: a server's bus is up once Redis
    /// counts its subscription. At most ten seconds.
    pub async fn wait_for_subscribers(&self, channel: &str, count: i64) {
        let client = redis::Client::open(self.url()).expect("a Redis URL");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("connecting to the test Redis");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, subscribed): (String, i64) = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(channel)
                .query_async(&mut conn)
                .await
                .expect("PUBSUB NUMSUB");
            if subscribed >= count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{subscribed} of {count} servers subscribed to {channel} within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A real server process (the `messenger` binary) on a loopback port, sharing a database and
/// a Redis with others, with polling effectively off (only Redis carries events between
/// servers); killed on drop.
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// The log line that said so (it also names the metrics address).
    pub listening: String,
}

impl ServerProcess {
    /// Starts one and waits (at most a minute) until it says where it listens.
    pub fn start(database_url: &str, redis_url: &str, data_dir: &std::path::Path) -> Self {
        Self::start_with(database_url, redis_url, data_dir, &[])
    }

    /// Like [`ServerProcess::start`], with more environment variables.
    pub fn start_with(
        database_url: &str,
        redis_url: &str,
        data_dir: &std::path::Path,
        env: &[(&str, &str)],
    ) -> Self {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_messenger"))
            .env("DATABASE_URL", database_url)
            .env("REDIS_URL", redis_url)
            .env(
                "MESSENGER_TOKEN_KEY",
                "a shared signing key of more than 32 bytes",
            )
            .env("MESSENGER_LISTEN", "127.0.0.1:0")
            .env("MESSENGER_DATA_DIR", data_dir)
            // Polling effectively off: only Redis can carry events between the two.
            .env("MESSENGER_EVENT_POLL_MS", "600000")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            // The caller's variables win over these defaults.
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starting messenger");
        let mut log = ChildLog::new(child.stderr.take().expect("stderr"));
        let listening = log.wait_for(Duration::from_secs(60), |line| {
            let rest = line.split("listening on http://").nth(1)?;
            let addr = rest.split_whitespace().next()?.parse().ok()?;
            Some((addr, line.to_owned()))
        });
        let (addr, listening) = match listening {
            Ok(found) => found,
            Err(log) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the server never said where it listens: {log}");
            }
        };
        // Dropping the log leaves its thread draining the pipe, so the server never blocks.
        Self {
            child,
            addr,
            listening,
        }
    }

    /// A GraphQL POST over a fresh connection; the answer comes within ten seconds.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        gql_at(self.addr, token, query, variables, &[]).await
    }
}

/// A GraphQL POST to a server listening at `addr`, over a fresh connection, with extra
/// headers; the answer comes within ten seconds.
pub async fn gql_at(
    addr: std::net::SocketAddr,
    token: Option<&str>,
    query: &str,
    variables: Value,
    headers: &[(&str, &str)],
) -> Value {
    try_gql_at(
        addr,
        token,
        query,
        variables,
        headers,
        Duration::from_secs(10),
    )
    .await
    .unwrap_or_else(|e| panic!("POST /graphql to {addr}: {e}"))
}

/// Like [`gql_at`], but a failure (no connection, no answer within `within`, an answer that
/// is not JSON) is returned, for tests where servers come and go.
pub async fn try_gql_at(
    addr: std::net::SocketAddr,
    token: Option<&str>,
    query: &str,
    variables: Value,
    headers: &[(&str, &str)],
    within: Duration,
) -> Result<Value, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = json!({ "query": query, "variables": variables }).to_string();
    let mut extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    if let Some(token) = token {
        extra.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connecting: {e}"))?;
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("writing: {e}"))?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .await
            .map_err(|e| format!("reading: {e}"))?;
        Ok::<_, String>(response)
    };
    let response = tokio::time::timeout(within, exchange)
        .await
        .map_err(|_| format!("no answer within {within:?}"))??;
    let text = String::from_utf8_lossy(&response);
    let (_, json) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("not an HTTP response: {text:?}"))?;
    serde_json::from_str(json).map_err(|_| format!("not a JSON answer: {text:?}"))
}

impl ServerProcess {
    /// Kills it with SIGKILL, as a crash would: nothing is flushed or closed.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops it with SIGTERM, as an orchestrator does, and waits (at most 15 s) for it to
    /// drain and exit; returns whether it exited cleanly.
    pub fn stop_gracefully(&mut self) -> bool {
        let Ok(pid) = i32::try_from(self.child.id()) else {
            return false;
        };
        let Some(pid) = rustix::process::Pid::from_raw(pid) else {
            return false;
        };
        if rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_err() {
            return false;
        }
        wait_within(&mut self.child, Duration::from_secs(15)).success()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The router on its own database.
pub struct TestApp {
    /// The router under test.
    pub router: Router,
    /// Its state (pool, key, config).
    pub state: AppState,
    /// Counts the statements the router's pool runs.
    pub statements: StatementCounter,
    /// Its database (dropped last).
    pub db: TestDb,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The data folder (media) of a test configuration is a fresh temporary folder.
        let dir = &self.state.config.data_dir;
        let ours = dir.starts_with(std::env::temp_dir())
            && dir
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("messenger-test-"));
        if ours {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A registered user and their tokens.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// User id.
    pub id: String,
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
    /// Access token.
    pub access: String,
    /// Refresh token.
    pub refresh: String,
}

/// The registration the tests use (see [`TestUser::registration`]).
pub const REGISTER: &str = "mutation($u: String!, $p: String!) { register(input: {username: $u, password: $p, displayName: $u}) { accessToken refreshToken user { id username } } }";

impl TestUser {
    /// The variables of [`REGISTER`] for `username` (password `password-<username>`), and
    /// the password.
    pub fn registration(username: &str) -> (Value, String) {
        let password = format!("password-{username}");
        (json!({ "u": username, "p": password }), password)
    }

    /// The user a [`REGISTER`] response signed in.
    pub fn registered(response: &Value, password: String) -> Self {
        let payload = &response["data"]["register"];
        assert!(payload.is_object(), "register failed: {response}");
        Self {
            id: payload["user"]["id"].as_str().expect("id").to_owned(),
            username: payload["user"]["username"]
                .as_str()
                .expect("username")
                .to_owned(),
            password,
            access: payload["accessToken"].as_str().expect("token").to_owned(),
            refresh: payload["refreshToken"].as_str().expect("token").to_owned(),
        }
    }
}

/// A raw HTTP answer.
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts a 200 (showing the body otherwise) and returns the body as JSON.
    pub fn ok_json(&self) -> Value {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self.json()
    }

    /// A header's value, if it is there and readable as text.
    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The Content-Type header.
    pub fn content_type(&self) -> &str {
        self.header(header::CONTENT_TYPE).unwrap_or("")
    }
}

/// Asserts that the JSON keys `keys` first appear in `text` in this order. serde_json's maps
/// sort their keys, so the order of a response's keys can only be checked on its text.
pub fn assert_keys_in_order(text: &str, keys: &[&str]) {
    let positions: Vec<usize> = keys
        .iter()
        .map(|key| {
            text.find(&format!("\"{key}\""))
                .unwrap_or_else(|| panic!("\"{key}\" missing: {text}"))
        })
        .collect();
    assert!(positions.is_sorted(), "keys out of order: {text}");
}

/// `extensions.code` of the first error, if any.
pub fn error_code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

/// The `data` of a GraphQL response that must have succeeded: no errors, data present. A check
/// that something is absent from a response means nothing until this has passed.
pub fn ok_data(response: &Value) -> &Value {
    assert!(
        response["errors"].is_null(),
        "the request failed: {response}"
    );
    let data = &response["data"];
    assert!(data.is_object(), "no data: {response}");
    data
}

/// Follows a Relay connection forward from its start: `fetch(after)` answers one page, and
/// the connection is at `path` in its `data` (a JSON pointer such as `/users`). Returns every
/// page's connection. At most `max_pages` pages: one that never ends fails the test instead
/// of looping forever.
pub async fn follow_pages<F, Fut>(path: &str, max_pages: usize, mut fetch: F) -> Vec<Value>
where
    F: FnMut(Value) -> Fut,
    Fut: Future<Output = Value>,
{
    let mut pages = Vec::new();
    let mut after = Value::Null;
    while pages.len() < max_pages {
        let response = fetch(after).await;
        let connection = ok_data(&response)
            .pointer(path)
            .unwrap_or_else(|| panic!("no {path} in {response}"))
            .clone();
        let info = &connection["pageInfo"];
        let more = info["hasNextPage"] == true;
        after = info["endCursor"].clone();
        pages.push(connection);
        if !more {
            return pages;
        }
    }
    panic!("{path} still had a next page after {max_pages} pages");
}

#[derive(QueryableByName)]
struct TableName {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Fingerprint {
    #[diesel(sql_type = Text)]
    digest: String,
}

impl TestApp {
    /// A router on a fresh database with the test configuration.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Like [`TestApp::spawn`], with configuration changes.
    pub async fn spawn_with(change: impl FnOnce(&mut Config)) -> Self {
        let db = TestDb::new().await;
        let mut config = test_config(&db.url);
        change(&mut config);
        Self::on_database(db, config)
    }

    /// A router over an existing database.
    pub fn on_database(db: TestDb, config: Config) -> Self {
        let statements = StatementCounter::default();
        let pool = db::build_pool_counted(
            &db.url,
            config.db_pool_size,
            config.db_timeout,
            Some(statements.clone()),
        )
        .expect("pool");
        let state = AppState::new(
            pool,
            db::build_pool(&db.url, 2, config.db_timeout).expect("hub pool"),
            TokenKey::random().expect("key"),
            messenger::media::Media::from_config(&config).expect("media store"),
            config,
        );
        Self {
            router: messenger::build_app(state.clone()),
            state,
            statements,
            db,
        }
    }

    /// Serves the router on a random loopback port (for WebSocket and binary clients).
    pub async fn serve(&self) -> std::net::SocketAddr {
        serve_router(self.router.clone()).await
    }

    /// A second server on the same database: its own pool and router, the same signing key
    /// (as two processes behind one load balancer would have).
    pub fn second_node(&self) -> Router {
        messenger::build_app(self.second_node_state())
    }

    /// The state of a second server (see [`TestApp::second_node`]).
    pub fn second_node_state(&self) -> AppState {
        let timeout = self.state.config.db_timeout;
        AppState::new(
            db::build_pool(&self.db.url, 5, timeout).expect("pool"),
            db::build_pool(&self.db.url, 2, timeout).expect("hub pool"),
            self.state.token_key.clone(),
            self.state.media.clone(),
            (*self.state.config).clone(),
        )
    }

    /// POSTs a GraphQL request to another router (see [`TestApp::second_node`]).
    pub async fn gql_on(
        router: &Router,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        send_to(router, graphql_request(token, query, variables))
            .await
            .ok_json()
    }

    /// Sends a request through the router.
    pub async fn send(&self, request: Request<Body>) -> Answer {
        send_to(&self.router, request).await
    }

    /// POSTs a GraphQL request as JSON (Accept: application/json) with an optional token.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        Self::gql_on(&self.router, token, query, variables).await
    }

    /// [`Self::gql`] for an operation that hashes a password, sent again a second later while
    /// the server says it waited over 2 s for a turn to hash (a busy machine), as a client
    /// would: the answer is the request's own (checked, refused by a limit, created).
    pub async fn gql_when_hashing_frees(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        for _ in 0..30 {
            let answer = self.gql(token, query, variables.clone()).await;
            if answer["errors"][0]["message"] != messenger::throttle::HASHING_BUSY {
                return answer;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        panic!("no turn to hash in 30 tries: {query}");
    }

    /// Registers a user (password `password-<username>`) and returns their tokens.
    pub async fn register(&self, username: &str) -> TestUser {
        let (variables, password) = TestUser::registration(username);
        let response = self.gql(None, REGISTER, variables).await;
        TestUser::registered(&response, password)
    }

    /// Registers a user and makes them an admin (as `messenger admin` would).
    pub async fn register_admin(&self, username: &str) -> TestUser {
        let user = self.register(username).await;
        let mut conn = self.db.connect().await;
        conn.batch_execute(&format!(
            "UPDATE users SET role = 'admin' WHERE id = '{}'",
            user.id
        ))
        .await
        .expect("promoting");
        user
    }

    /// A digest of every table's content: equal before and after means nothing changed. The
    /// tables come from the catalog, so a new table is never left out.
    pub async fn fingerprint(&self) -> String {
        let mut conn = self.db.connect().await;
        let tables: Vec<TableName> = diesel::sql_query(
            "SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables \
             WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
        )
        .load(&mut conn)
        .await
        .expect("listing the tables");
        assert!(!tables.is_empty(), "the catalog lists no tables");
        let mut parts = Vec::new();
        for TableName { name } in tables {
            let row: Fingerprint = diesel::sql_query(format!(
                "SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') AS digest FROM {name} t"
            ))
            .get_result(&mut conn)
            .await
            .expect("fingerprint");
            parts.push(format!("{name}:{}", row.digest));
        }
        parts.join(",")
    }

    /// Rows in a table.
    pub async fn count(&self, table: &str) -> i64 {
        self.count_of(&format!("SELECT count(*) AS n FROM {table}"))
            .await
    }

    /// What a counting query answers: `query` selects one bigint named `n`.
    pub async fn count_of(&self, query: &str) -> i64 {
        let mut conn = self.db.connect().await;
        let row: Exists = diesel::sql_query(query)
            .get_result(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"));
        row.n
    }
}
