//! The load generator and benchmark suite of messenger.
//!
//! ```sh
//! cargo run --release --example loadgen -- seed   # 10,000 users, 20,000 sessions, 1M messages
//! cargo run --release --example loadgen -- run    # every scenario against its raw-SQL floor
//! cargo run --release --example loadgen -- instructions   # server instructions per request
//! ```
//!
//! `seed` (re)creates the database (default `postgres://root@127.0.0.1:5432/messenger_bench`;
//! its name must contain `bench`) and fills it in bulk inside PostgreSQL. `run` starts the
//! release server (`target/release/messenger`) on a free loopback port against that
//! database, or drives `--url` of a running one, and for each scenario measures the server
//! over real HTTP and WebSocket connections and then the same SQL with pgbench
//! (`bench/pgbench/<scenario>.sql`) at the same concurrency. It prints a table, writes
//! `bench/results/latest.json` and the table in `BENCHMARKS.md`. See `--help`. Every measured
//! phase, ours and each floor, starts on a vacuumed database (see `vacuum`).
//!
//! Two scenarios measure abuse rather than throughput and run only when named
//! (`--scenarios user,flood,toolarge`): `flood` runs `user` again while 64 connections send
//! wrong passwords from random addresses, `toolarge` times the refusal of a 10,000-field query.
//!
//! `instructions` counts the instructions the server executes per request under callgrind
//! (`instructions.rs`): figures a noisy machine does not move.

mod client;
mod dataset;
mod instructions;
mod pgbench;
mod procstat;
mod progress;
mod report;
mod scenarios;
mod seed;
mod sockets;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use messenger::auth::tokens::{Claims, TokenKey};
use serde_json::json;

use crate::client::{Client, is_success};
use crate::dataset::{Dataset, bench_uuid};
use crate::pgbench::Floor;
use crate::procstat::PostgresCpu;
use crate::report::{Report, ScenarioResult};
use crate::scenarios::{FLOOD_CONNECTIONS, Kind, Measured};

const DEFAULT_DATABASE: &str = "postgres://root@127.0.0.1:5432/messenger_bench";
const ALL_SCENARIOS: &str = "user,history,inbox,send16,send64,idle,fanout";
/// Scenarios outside the default list (they measure abuse, and `flood` compares with a `user`
/// run before it).
const ABUSE_SCENARIOS: &str = "flood,toolarge";
/// Requests of `toolarge`.
const TOO_LARGE_REQUESTS: usize = 200;
/// The warm-up of an HTTP scenario's slices after its first: time for the clients to connect.
const SLICE_WARMUP: Duration = Duration::from_secs(1);

const HELP: &str = "\
loadgen: seeds a benchmark database and measures messenger against its raw-SQL floor.

USAGE:
  cargo run --release --example loadgen -- seed [options]
  cargo run --release --example loadgen -- run  [options]
  cargo run --release --example loadgen -- instructions [options]

SEED OPTIONS:
  --database-url URL   database to (re)create [postgres://root@127.0.0.1:5432/messenger_bench]
  --users N            [10000]    --sessions N [20000]    --groups-percent N [10]
  --messages N         [1000000]

RUN OPTIONS:
  --database-url URL   the seeded database (also pgbench's)
  --url URL            drive a running server (it must sign tokens with the key in
                       MESSENGER_TOKEN_KEY) instead of starting target/release/messenger
  --server-bin PATH    server binary to start [target/release/messenger]
  --scenarios LIST     comma-separated [user,history,inbox,send16,send64,idle,fanout]; also
                       flood (user(id) under 64 connections of wrong passwords from random
                       X-Forwarded-For addresses; name user before it to compare) and
                       toolarge (200 refusals of a 10,000-alias query)
  --clients N          concurrency of user/history/inbox [16]
  --warmup S           seconds before measuring each scenario [3]
  --duration S         measured seconds of each HTTP scenario [15]
  --floor-duration S   seconds of each pgbench floor [15]
  --slices N           run each HTTP scenario and its floor in N alternating slices, so both
                       see the same minutes of a noisy machine [5]; 1 runs each whole
  --sockets N          open sockets for idle and fanout (at most the users) [10000]
  --group N            members of the fan-out group [1000]
  --fanout-rate N      messages a second sent to the group [10]
  --flood-accounts N   the flood guesses passwords of users 1..N [all users]
  --no-write           do not write bench/results/latest.json nor BENCHMARKS.md

INSTRUCTIONS OPTIONS (needs valgrind; one client, requests one after the other):
  --database-url URL   the seeded database
  --server-bin PATH    server binary to run under callgrind [target/release/messenger]
  --requests LIST      counted requests per scenario, in run order
                       [user=200,history=100,inbox=20,send=100]; a quarter more (at least 5)
                       warm each fresh server up first
  --out-dir DIR        where callgrind.<scenario>.out go [$TMPDIR/loadgen-callgrind]
  --no-write           do not write bench/results/instructions.json
";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else {
        eprint!("{HELP}");
        std::process::exit(2);
    };
    let opts = Options::parse(&args[1..])?;
    match command.as_str() {
        "seed" => {
            seed::seed(seed::SeedOptions {
                database_url: opts.database_url.clone(),
                users: opts.num("users", 10_000)?,
                sessions: opts.num("sessions", 20_000)?,
                group_percent: opts.num("groups-percent", 10)?,
                messages: opts.num("messages", 1_000_000)?,
            })
            .await
        }
        "run" => run(opts).await.map(drop),
        "instructions" => instructions(opts).await,
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => bail!("unknown command {other:?}: try `seed`, `run`, `instructions` or `--help`"),
    }
}

/// `--key value` options and flags.
struct Options {
    database_url: String,
    values: Vec<(String, String)>,
    flags: Vec<String>,
}

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut values = Vec::new();
        let mut flags = Vec::new();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let Some(key) = arg.strip_prefix("--") else {
                bail!("unexpected argument {arg:?}");
            };
            if key == "no-write" {
                flags.push(key.to_owned());
                continue;
            }
            let value = it
                .next()
                .with_context(|| format!("--{key} needs a value"))?;
            values.push((key.to_owned(), value.clone()));
        }
        let database_url = values
            .iter()
            .find(|(k, _)| k == "database-url")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| DEFAULT_DATABASE.to_owned());
        Ok(Self {
            database_url,
            values,
            flags,
        })
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn num(&self, key: &str, default: i64) -> anyhow::Result<i64> {
        self.get(key)
            .map(|v| {
                v.parse()
                    .with_context(|| format!("--{key} must be a number"))
            })
            .unwrap_or(Ok(default))
    }

    fn flag(&self, key: &str) -> bool {
        self.flags.iter().any(|f| f == key)
    }
}

/// The server under test: started by us, or running elsewhere.
struct Server {
    addr: SocketAddr,
    child: Option<tokio::process::Child>,
    pid: Option<u32>,
}

impl Server {
    async fn start(bin: &Path, database_url: &str, token_key: &str) -> anyhow::Result<Self> {
        Self::start_with(bin, database_url, token_key, &[], Duration::from_secs(60)).await
    }

    /// Starts the server through `launcher` (a command line it is appended to, such as
    /// valgrind's; none if empty) and waits up to `ready_within` for `/readyz`.
    async fn start_with(
        bin: &Path,
        database_url: &str,
        token_key: &str,
        launcher: &[String],
        ready_within: Duration,
    ) -> anyhow::Result<Self> {
        if !bin.exists() {
            bail!(
                "{} is missing: build it with `cargo build --release --bin messenger`",
                bin.display()
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let data_dir = std::env::temp_dir().join(format!("loadgen-server-{}", std::process::id()));
        std::fs::create_dir_all(&data_dir)?;
        let log = std::fs::File::create(data_dir.join("server.log"))?;
        let mut command = match launcher.split_first() {
            Some((program, args)) => {
                let mut c = tokio::process::Command::new(program);
                c.args(args).arg(bin);
                c
            }
            None => tokio::process::Command::new(bin),
        };
        let child = command
            .env("DATABASE_URL", database_url)
            .env("MESSENGER_LISTEN", addr.to_string())
            .env("MESSENGER_RUN_MIGRATIONS", "true")
            .env("MESSENGER_TOKEN_KEY", token_key)
            .env("MESSENGER_DATA_DIR", &data_dir)
            // The scenarios measure throughput: the per-user write limits stay out of the way.
            .env("MESSENGER_MESSAGES_PER_MINUTE", "1000000000")
            .env("MESSENGER_GROUP_CHANGES_PER_MINUTE", "1000000000")
            // The load generator is the proxy of flood's botnet: its X-Forwarded-For counts.
            .env("MESSENGER_TRUSTED_PROXIES", "127.0.0.1")
            .env("RUST_LOG", "warn")
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id();
        let server = Self {
            addr,
            child: Some(child),
            pid,
        };
        let deadline = Instant::now() + ready_within;
        loop {
            if let Ok(mut c) = Client::connect(addr).await
                && c.get("/readyz").await.is_ok_and(|s| s.is_success())
            {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "the server did not become ready; see {}",
                    data_dir.join("server.log").display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(server)
    }

    async fn stop(self) {
        self.stop_within(Duration::from_secs(10)).await;
    }

    /// Asks the server to stop (SIGTERM) and kills it if it has not exited after `grace`.
    async fn stop_within(mut self, grace: Duration) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child
                .id()
                .and_then(|p| rustix::process::Pid::from_raw(p as i32))
            {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            }
            if tokio::time::timeout(grace, child.wait()).await.is_err() {
                let _ = child.kill().await;
            }
        }
    }

    fn cpu(&self) -> f64 {
        self.pid.and_then(procstat::cpu_seconds).unwrap_or(f64::NAN)
    }

    fn rss_kib(&self) -> Option<u64> {
        self.pid.and_then(procstat::rss_kib)
    }
}

/// Raises the soft limit on open files to the hard limit (ten thousand sockets need it);
/// a server we start inherits it.
fn raise_fd_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

fn mint_tokens(key: &TokenKey, d: &Dataset) -> Vec<String> {
    let now = chrono::Utc::now().timestamp();
    // Index 0 is unused: tokens[n] belongs to user n.
    let mut tokens = vec![String::new()];
    for n in 1..=d.users {
        tokens.push(key.sign(&Claims {
            sub: bench_uuid(1, n),
            fam: bench_uuid(3, n),
            iat: now,
            exp: now + 3 * 3600,
            adm: false,
        }));
    }
    tokens
}

async fn run(opts: Options) -> anyhow::Result<Report> {
    let started = Instant::now();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let fd_limit = raise_fd_limit();
    let scenarios: Vec<String> = opts
        .get("scenarios")
        .unwrap_or(ALL_SCENARIOS)
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let clients = opts.num("clients", 16)? as usize;
    let warmup = Duration::from_secs(opts.num("warmup", 3)? as u64);
    let duration = Duration::from_secs(opts.num("duration", 15)? as u64);

    let mut conn = AsyncPgConnection::establish(&opts.database_url)
        .await
        .with_context(|| format!("connecting to {}", opts.database_url))?;
    let d = seed::read_meta(&mut conn).await?;
    drop(conn);

    let (server, token_key) = match opts.get("url") {
        Some(url) => {
            let key = std::env::var("MESSENGER_TOKEN_KEY")
                .context("--url needs the server's MESSENGER_TOKEN_KEY in the environment")?;
            let addr = url
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .trim_end_matches("/graphql")
                .parse()
                .context("--url must look like http://127.0.0.1:8080")?;
            (
                Server {
                    addr,
                    child: None,
                    pid: None,
                },
                key,
            )
        }
        None => {
            let key = hex(&messenger::auth::tokens::random_bytes::<32>()?);
            let bin = opts
                .get("server-bin")
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("target/release/messenger"));
            eprintln!("starting {} …", bin.display());
            (Server::start(&bin, &opts.database_url, &key).await?, key)
        }
    };
    let tokens = Arc::new(mint_tokens(&TokenKey::new(token_key.into_bytes())?, &d));
    sanity_check(server.addr, &tokens).await?;
    let pg = PostgresCpu::start();
    let defines = pgbench::defines(&d);
    let mut report = Report::new(&root, &d, server.rss_kib(), fd_limit);
    let run_key = format!("{:x}", chrono::Utc::now().timestamp_millis());
    let mut fleet: Option<SocketFleet> = None;

    for name in &scenarios {
        let http = match name.as_str() {
            "user" => Some((Kind::User, clients, "user")),
            "history" => Some((Kind::History, clients, "history")),
            "inbox" => Some((Kind::Inbox, clients, "inbox")),
            "send16" => Some((Kind::Send, 16, "send")),
            "send64" => Some((Kind::Send, 64, "send")),
            _ => None,
        };
        if let Some((kind, clients, script)) = http {
            let result = http_scenario(
                &opts,
                &server,
                &tokens,
                &d,
                &pg,
                HttpScenario {
                    name,
                    kind,
                    clients,
                    warmup,
                    duration,
                    script: &root.join(format!("bench/pgbench/{script}.sql")),
                    defines: &defines,
                    run_key: &run_key,
                },
            )
            .await?;
            eprintln!("{}", result.one_line());
            report.scenarios.push(result);
            continue;
        }
        match name.as_str() {
            "flood" => {
                let quiet = report
                    .scenarios
                    .iter()
                    .find(|s| s.name == "user" && s.status == "ok")
                    .and_then(|s| s.p50_ms.zip(s.p99_ms));
                let result = flood_scenario(
                    &opts,
                    &server,
                    &tokens,
                    &d,
                    &pg,
                    (clients, warmup, duration),
                    quiet,
                    format!("{run_key}-{name}"),
                )
                .await;
                let result = match result {
                    Ok(r) => r,
                    Err(e) => ScenarioResult::unavailable(name, &format!("failed: {e:#}")),
                };
                eprintln!("{}", result.one_line());
                report.scenarios.push(result);
            }
            "toolarge" => {
                eprintln!("{name}: {TOO_LARGE_REQUESTS} oversized queries in a row …");
                let body = serde_json::to_vec(&json!({
                    "query": scenarios::aliases_query(10_000)
                }))?
                .len();
                let c0 = cpu_now(&server, &pg);
                let t0 = Instant::now();
                let result = scenarios::too_large(server.addr, TOO_LARGE_REQUESTS).await;
                let secs = t0.elapsed().as_secs_f64();
                let c1 = cpu_now(&server, &pg);
                let result = match result {
                    Ok(m) => {
                        ScenarioResult::too_large(&m, body, cores_between(&c0, &c1, secs), secs)
                    }
                    Err(e) => ScenarioResult::unavailable(name, &format!("failed: {e:#}")),
                };
                eprintln!("{}", result.one_line());
                report.scenarios.push(result);
            }
            "idle" | "fanout" => {
                vacuum(&opts.database_url).await?;
                let result =
                    socket_scenario(name, &opts, &server, &tokens, &d, &pg, &mut fleet).await;
                let result = match result {
                    Ok(r) => r,
                    Err(e) => ScenarioResult::unavailable(name, &format!("failed: {e:#}")),
                };
                eprintln!("{}", result.one_line());
                report.scenarios.push(result);
            }
            other => bail!("unknown scenario {other:?} (known: {ALL_SCENARIOS},{ABUSE_SCENARIOS})"),
        }
    }
    drop(fleet);
    report.total_seconds = started.elapsed().as_secs_f64();
    server.stop().await;
    println!("{}", report.table());
    if !opts.flag("no-write") {
        report.write(&root)?;
        eprintln!("wrote bench/results/latest.json and BENCHMARKS.md");
    }
    Ok(report)
}

/// One HTTP scenario and its floor.
struct HttpScenario<'a> {
    name: &'a str,
    kind: Kind,
    clients: usize,
    /// Before the first slice.
    warmup: Duration,
    /// Of ours, all slices together (whole seconds).
    duration: Duration,
    /// The floor's pgbench script.
    script: &'a Path,
    defines: &'a [(String, String)],
    run_key: &'a str,
}

/// Runs an HTTP scenario and its floor in turns: `--slices` slices of each, ours then the
/// floor's, so that both sample the same minutes of a machine whose speed drifts. Measured
/// on this 2-core VM, the floor's PostgreSQL CPU per transaction moved from 235 to 352 µs
/// between runs minutes apart; run whole, one after the other, ours and the floor's each got
/// a different machine, and the ratio moved with it. With one slice, this is the old order
/// (ours whole, then the floor whole). Every slice starts on a vacuumed database.
async fn http_scenario(
    opts: &Options,
    server: &Server,
    tokens: &Arc<Vec<String>>,
    d: &Dataset,
    pg: &PostgresCpu,
    s: HttpScenario<'_>,
) -> anyhow::Result<ScenarioResult> {
    let (name, clients, warmup) = (s.name, s.clients, s.warmup);
    let duration = s.duration.as_secs().max(1);
    let floor_secs = opts.num("floor-duration", 15)?.max(1) as u64;
    // Whole seconds each: pgbench counts its run in seconds.
    let slices = (opts.num("slices", 5)?.max(1) as u64)
        .min(duration)
        .min(floor_secs);
    let slice = Duration::from_secs(duration / slices);
    let floor_slice = floor_secs / slices;
    eprintln!(
        "{name}: {clients} clients, {warmup:?} warm-up, then {slices} × ({slice:?} ours + \
         {floor_slice} s pgbench floor) …"
    );
    let mut measured = Measured::default();
    let mut floors = Vec::new();
    let (mut cpu, mut secs, mut ran) = ([0.0; 3], 0.0, 0u32);
    for i in 0..slices {
        vacuum(&opts.database_url).await?;
        // The first slice warms the server up; later ones only let the clients connect.
        let warm = if i == 0 { warmup } else { SLICE_WARMUP };
        let task = tokio::spawn(scenarios::drive(
            server.addr,
            s.kind,
            clients,
            warm,
            slice,
            *d,
            tokens.clone(),
            format!("{}-{name}-{i}", s.run_key),
        ));
        tokio::time::sleep(warm).await;
        let t0 = Instant::now();
        let before = (
            server.cpu(),
            procstat::self_and_children_cpu().0,
            pg.snapshot(),
        );
        let part = task.await.context("the scenario's clients panicked")?;
        secs += t0.elapsed().as_secs_f64();
        cpu[0] += server.cpu() - before.0;
        cpu[1] += procstat::self_and_children_cpu().0 - before.1;
        cpu[2] += PostgresCpu::between(&before.2, &pg.snapshot());
        measured.merge(part);
        ran += 1;
        vacuum(&opts.database_url).await?;
        match pgbench::run(
            &opts.database_url,
            s.script,
            clients,
            floor_slice,
            s.defines,
            pg,
        )
        .await
        {
            Ok(floor) => floors.push(floor),
            Err(e) => {
                // No floor then (the report says so), and no more slices: ours is measured
                // over the slices that ran.
                eprintln!("{name}: the floor failed: {e:#}");
                floors.clear();
                break;
            }
        }
    }
    Ok(ScenarioResult::http(
        name,
        clients,
        &measured,
        (slice * ran).as_secs_f64(),
        cpu.map(|c| c / secs),
        Floor::merge(floors),
        server.rss_kib(),
    ))
}

/// The open sockets of idle and fanout, and the group they share.
struct SocketFleet {
    fleet: sockets::Fleet,
    group: String,
    members: usize,
}

/// CPU seconds so far of the server, the load generator and PostgreSQL.
fn cpu_now(server: &Server, pg: &PostgresCpu) -> (f64, f64, std::collections::HashMap<u32, f64>) {
    (
        server.cpu(),
        procstat::self_and_children_cpu().0,
        pg.snapshot(),
    )
}

/// Cores used by each side between two `cpu_now` readings `secs` apart.
fn cores_between(
    a: &(f64, f64, std::collections::HashMap<u32, f64>),
    b: &(f64, f64, std::collections::HashMap<u32, f64>),
    secs: f64,
) -> [f64; 3] {
    [
        (b.0 - a.0) / secs,
        (b.1 - a.1) / secs,
        PostgresCpu::between(&a.2, &b.2) / secs,
    ]
}

/// Waits until the server has been nearly idle (under 5 % of a core) for a whole second,
/// at most `limit`: the subscriptions' start-up queries are done.
async fn server_quiet(server: &Server, limit: Duration) -> f64 {
    let t0 = Instant::now();
    let mut last = server.cpu();
    let mut quiet = 0;
    while t0.elapsed() < limit && quiet < 2 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = server.cpu();
        quiet = if now - last < 0.025 { quiet + 1 } else { 0 };
        last = now;
    }
    t0.elapsed().as_secs_f64()
}

async fn socket_scenario(
    name: &str,
    opts: &Options,
    server: &Server,
    tokens: &Arc<Vec<String>>,
    d: &Dataset,
    pg: &PostgresCpu,
    fleet: &mut Option<SocketFleet>,
) -> anyhow::Result<ScenarioResult> {
    // One socket per user (users 1..=S): the per-user socket limit never applies.
    let wanted = (opts.num("sockets", 10_000)? as usize).min(d.users as usize);
    if let Err(reason) = sockets::probe(server.addr, &tokens[1]).await {
        return Ok(ScenarioResult::unavailable(
            name,
            &format!("not available: {reason}"),
        ));
    }
    if fleet.is_none() {
        // The group exists before the sockets subscribe, so every member's subscription has
        // it in its starting set of sessions.
        let members = (opts.num("group", 1000)? as usize).min(wanted).max(2);
        let member_ids: Vec<String> = (2..=members as i64)
            .map(|n| bench_uuid(1, n).to_string())
            .collect();
        let group = sockets::create_group(server.addr, &tokens[1], &member_ids).await?;
        // Let the probe's socket close and the server settle before reading its memory.
        server_quiet(server, Duration::from_secs(5)).await;
        eprintln!("{name}: opening {wanted} subscribed sockets …");
        let rss_before = server.rss_kib();
        let c0 = cpu_now(server, pg);
        let t0 = Instant::now();
        let opened = sockets::Fleet::open(server.addr, &tokens[1..=wanted]).await?;
        let open_secs = t0.elapsed().as_secs_f64();
        // The subscriptions start after the handshakes (three queries each): wait until the
        // server is idle again, then read its memory.
        let settle_secs = server_quiet(server, Duration::from_secs(30)).await;
        let rss_after = server.rss_kib();
        let secs = t0.elapsed().as_secs_f64();
        let c1 = cpu_now(server, pg);
        let idle = ScenarioResult::idle(
            opened.open,
            rss_before,
            rss_after,
            open_secs,
            settle_secs,
            cores_between(&c0, &c1, secs),
            secs,
            opened.dropped.load(std::sync::atomic::Ordering::Relaxed),
        );
        *fleet = Some(SocketFleet {
            fleet: opened,
            group,
            members,
        });
        if name == "idle" {
            return Ok(idle);
        }
        eprintln!("{}", idle.one_line());
    } else if name == "idle" {
        bail!("idle must run before fanout (it opens the sockets)");
    }
    let SocketFleet {
        fleet,
        group,
        members,
    } = fleet.as_ref().context("no sockets")?;
    let members = *members;
    let rate = opts
        .get("fanout-rate")
        .map(str::parse::<f64>)
        .transpose()?
        .unwrap_or(10.0);
    let duration = Duration::from_secs(opts.num("duration", 15)? as u64);
    let w0 = Instant::now();
    let ready = sockets::warm_up(server.addr, fleet, &tokens[1], group, members as u64).await?;
    let warmup_seconds = w0.elapsed().as_secs_f64();
    eprintln!(
        "{name}: {} sockets, group of {members} ({ready} received the warm-up message in \
         {warmup_seconds:.1} s), {rate} messages/s for {duration:?} …",
        fleet.open
    );
    let c0 = cpu_now(server, pg);
    let t0 = Instant::now();
    let mut result = sockets::fanout(
        server.addr,
        fleet,
        &tokens[1],
        group,
        members as u64,
        rate,
        duration,
    )
    .await?;
    let secs = t0.elapsed().as_secs_f64();
    let c1 = cpu_now(server, pg);
    result.ready = ready;
    result.warmup_seconds = warmup_seconds;
    Ok(ScenarioResult::fanout(
        fleet.open,
        members,
        &result,
        duration.as_secs_f64(),
        cores_between(&c0, &c1, secs),
        secs,
        fleet.dropped.load(std::sync::atomic::Ordering::Relaxed),
        fleet.lagged.load(std::sync::atomic::Ordering::Relaxed),
        server.rss_kib(),
    ))
}

/// `user(id)` (the `user` scenario's clients and closed loop) while a login flood runs from
/// before its warm-up to its end; `quiet` is the `user` scenario's p50 and p99 of this run.
#[allow(clippy::too_many_arguments)]
async fn flood_scenario(
    opts: &Options,
    server: &Server,
    tokens: &Arc<Vec<String>>,
    d: &Dataset,
    pg: &PostgresCpu,
    (clients, warmup, duration): (usize, Duration, Duration),
    quiet: Option<(f64, f64)>,
    run_key: String,
) -> anyhow::Result<ScenarioResult> {
    let accounts = opts.num("flood-accounts", d.users)?;
    eprintln!(
        "flood: {clients} user(id) clients under {FLOOD_CONNECTIONS} connections of wrong \
         passwords for users 1..{}, {warmup:?} warm-up + {duration:?} …",
        accounts.clamp(1, d.users)
    );
    let f0 = Instant::now();
    let flood = tokio::spawn(scenarios::flood(
        server.addr,
        *d,
        accounts,
        FLOOD_CONNECTIONS,
        warmup + duration,
    ));
    let task = tokio::spawn(scenarios::drive(
        server.addr,
        Kind::User,
        clients,
        warmup,
        duration,
        *d,
        tokens.clone(),
        run_key,
    ));
    tokio::time::sleep(warmup).await;
    let c0 = cpu_now(server, pg);
    let t0 = Instant::now();
    let measured = task.await.context("the scenario's clients panicked")?;
    let secs = t0.elapsed().as_secs_f64();
    let c1 = cpu_now(server, pg);
    let flooded = flood.await.context("the flood's connections panicked")?;
    let flood_seconds = f0.elapsed().as_secs_f64();
    Ok(ScenarioResult::flood(
        clients,
        &measured,
        duration.as_secs_f64(),
        cores_between(&c0, &c1, secs),
        quiet,
        &flooded,
        flood_seconds,
        messenger::config::Config::default().signin_failures_per_account,
        server.rss_kib(),
    ))
}

/// Vacuums and analyzes the benchmark database, before every measured phase (ours and each
/// floor), outside the measured time.
///
/// The benchmark machines run PostgreSQL with autovacuum off (the CI configuration); a
/// production server runs it. Without it, the dead rows a sending phase leaves behind (every
/// send moves its sender's read marker; the first send of an hour moves every member row of
/// its conversation) slowed every phase after it: the fan-out's first delivery took 9.5 ms
/// after a send scenario against 3.3 ms after a `VACUUM` (2026-12-07). So each phase starts
/// from the state autovacuum would have left, whatever ran before it.
async fn vacuum(url: &str) -> anyhow::Result<()> {
    use diesel_async::SimpleAsyncConnection;
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    conn.batch_execute("VACUUM ANALYZE")
        .await
        .context("VACUUM ANALYZE before a phase")
}

/// One real sign-in with the seeded password (the seed and the login path work), and one
/// `me` with a minted token (the server accepts them).
async fn sanity_check(addr: SocketAddr, tokens: &[String]) -> anyhow::Result<()> {
    let mut client = Client::connect(addr).await?;
    let login = json!({
        "query": "mutation($i: LoginInput!) { login(input: $i) { accessToken user { id } } }",
        "variables": {"i": {"username": "user00001", "password": seed::PASSWORD}},
    });
    let (status, body) = client
        .post("", serde_json::to_vec(&login)?.into())
        .await
        .context("signing in user00001")?;
    if !is_success(status, &body) {
        bail!(
            "signing in user00001 failed: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let me = json!({"query": "{ me { id username } }"});
    let (status, body) = client
        .post(&tokens[1], serde_json::to_vec(&me)?.into())
        .await?;
    if !is_success(status, &body)
        || !String::from_utf8_lossy(&body).contains(&bench_uuid(1, 1).to_string())
    {
        bail!(
            "the server refused a minted token (another MESSENGER_TOKEN_KEY?): {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(())
}

/// `loadgen instructions`: instructions per request of each scenario, under callgrind.
async fn instructions(opts: Options) -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut conn = AsyncPgConnection::establish(&opts.database_url)
        .await
        .with_context(|| format!("connecting to {}", opts.database_url))?;
    let d = seed::read_meta(&mut conn).await?;
    drop(conn);
    let settings = instructions::Settings {
        database_url: opts.database_url.clone(),
        server_bin: opts
            .get("server-bin")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target/release/messenger")),
        requests: opts
            .get("requests")
            .unwrap_or(instructions::DEFAULT_REQUESTS)
            .to_owned(),
        out_dir: opts
            .get("out-dir")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("loadgen-callgrind")),
    };
    let started = Instant::now();
    let counted = instructions::run(&settings, &d).await?;
    let report = Report::new(&root, &d, None, 0);
    println!(
        "{}, commit `{}`; data set {} users, {} sessions, {} messages; {:.0} s\n\n{}",
        report.date,
        report.commit,
        d.users,
        d.sessions,
        d.messages,
        started.elapsed().as_secs_f64(),
        instructions::table(&counted)
    );
    if !opts.flag("no-write") {
        let path = root.join("bench/results/instructions.json");
        let json = json!({
            "date": report.date,
            "commit": report.commit,
            "dataset": report.dataset,
            "scenarios": counted,
        });
        std::fs::write(&path, serde_json::to_string_pretty(&json)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod smoke {
    //! The documented commands, small, on a database that does not exist yet: `seed` must
    //! work on a freshly migrated schema (it drops and restores every constraint that depends
    //! on the tables it bulk-loads, so a migration that adds one cannot break it unnoticed) and
    //! every scenario must run against the real server, with its floor, without errors.

    use super::*;

    #[tokio::test]
    async fn user_counts_that_would_repeat_group_members_are_refused() {
        let refused = seed::seed(seed::SeedOptions {
            database_url: "postgres://nobody@127.0.0.1:1/messenger_bench_never".to_owned(),
            users: 1000,
            sessions: 2000,
            group_percent: 10,
            messages: 10,
        })
        .await
        .expect_err("1000 shares factors with the member steps");
        assert!(refused.to_string().contains("--users 1000"), "{refused}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn seeds_a_fresh_database_and_runs_every_scenario_for_a_second() {
        let base = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/postgres".to_owned());
        let Some((server, _)) = base.rsplit_once('/') else {
            panic!("TEST_DATABASE_URL {base:?} names no database");
        };
        if AsyncPgConnection::establish(&base).await.is_err() {
            let ci = std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"));
            assert!(!ci, "no PostgreSQL at {base}: cannot be skipped under CI");
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: loadgen smoke test: no PostgreSQL at {base}"
            );
            return;
        }
        let name = format!("messenger_bench_smoke_{}", uuid::Uuid::now_v7().simple());
        let url = format!("{server}/{name}");
        // The server binary cargo built next to this test (target/<profile>/messenger).
        let bin = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("messenger")))
            .filter(|bin| bin.exists())
            .expect("the messenger binary next to the examples (cargo test builds it)");

        let seeded = seed::seed(seed::SeedOptions {
            database_url: url.clone(),
            // Prime: the seeder refuses counts whose factors would repeat group members
            // (found by this test with 300; the default 10,000 is safe).
            users: 307,
            sessions: 600,
            group_percent: 10,
            messages: 6000,
        })
        .await
        .context("seeding a fresh database");
        let args: Vec<String> = [
            "--database-url",
            &url,
            "--server-bin",
            &bin.to_string_lossy(),
            "--scenarios",
            &format!("{ALL_SCENARIOS},{ABUSE_SCENARIOS}"),
            "--warmup",
            "0",
            // Two slices of a second each: ours and the floor's in turns.
            "--duration",
            "2",
            "--floor-duration",
            "2",
            "--slices",
            "2",
            "--clients",
            "4",
            "--sockets",
            "100",
            "--group",
            "30",
            "--fanout-rate",
            "5",
            "--no-write",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Seed and run, then drop the database whatever happened, then judge.
        let report = match seeded {
            Ok(()) => run(Options::parse(&args).expect("options")).await,
            Err(e) => Err(e),
        };

        let mut admin = AsyncPgConnection::establish(&base).await.expect("admin");
        let _ = diesel_async::SimpleAsyncConnection::batch_execute(
            &mut admin,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )
        .await;
        let report = report.expect("the run");
        let names: Vec<&str> = report.scenarios.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "user", "history", "inbox", "send16", "send64", "idle", "fanout", "flood",
                "toolarge"
            ]
        );
        for s in &report.scenarios {
            assert_eq!(s.status, "ok", "{}: {:?}", s.name, s.note);
            assert_eq!(s.errors, Some(0), "{}: {:?}", s.name, s.sample_error);
            if ["user", "history", "inbox", "send16", "send64"].contains(&s.name.as_str()) {
                assert!(s.throughput.is_some_and(|t| t > 0.0), "{}", s.name);
                assert!(
                    s.floor.is_some(),
                    "{}: its pgbench floor did not run",
                    s.name
                );
            }
        }
    }
}
