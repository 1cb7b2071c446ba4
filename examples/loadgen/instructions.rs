//! `loadgen instructions`: the instructions the server executes per operation, counted by
//! callgrind, which a noisy shared machine cannot blur the way it blurs seconds.
//!
//! For each request scenario the release server is started under
//! `valgrind --tool=callgrind --instr-atstart=no`, warmed up with a fixed number of requests,
//! and then one client sends a fixed number of requests one after the other while callgrind
//! instruments it (`callgrind_control -i on` before them, `-i off` and `-d` after). Switching
//! instrumentation is what `callgrind_control` can do: `--collect-atstart=no` would need a
//! `--toggle-collect` function or a client request to ever start collecting, and `-i on` alone
//! does not (it counts 0). The ids come from a fixed seed, so
//! two runs of the same binary on the same data send the same requests; the total `Ir` of the
//! output file divided by the requests is the figure.
//!
//! PostgreSQL's side is CPU time, not instructions: the shared cluster cannot run under
//! valgrind, and on this machine callgrind's control of forked backends hangs them (see
//! `BENCHMARKS.md`). It is the CPU time of the server's own backends (their `pid`s from
//! `pg_stat_activity`), read from `/proc/<pid>/schedstat` in nanoseconds over the same
//! window, so other users of the cluster do not count.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use diesel::QueryableByName;
use diesel::sql_types::Integer;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use crate::Server;
use crate::client::{Client, is_success};
use crate::dataset::{Dataset, Rng};
use crate::procstat;
use crate::scenarios::{Kind, make_call};

/// The scenarios and their default request counts: small enough that the whole mode runs in
/// a few minutes under callgrind (~50× slower than native).
pub const DEFAULT_REQUESTS: &str = "user=200,history=100,inbox=20,send=100";
/// Seed of the measured requests' ids (the warm-up draws from another).
const SEED: u64 = 14;
/// How long valgrind may take to bring the server up.
const READY_WITHIN: Duration = Duration::from_secs(300);

/// One scenario's count.
#[derive(Debug, Serialize)]
pub struct Counted {
    /// Scenario name.
    pub name: String,
    /// Measured requests (one client, one after the other).
    pub requests: usize,
    /// Unmeasured requests before them.
    pub warmup: usize,
    /// Requests that failed (they are counted all the same).
    pub errors: u64,
    /// Instructions the server executed while collection was on (all threads).
    pub server_instructions: u64,
    /// `server_instructions / requests`.
    pub server_instructions_per_op: f64,
    /// CPU time of the server's PostgreSQL backends over the same requests, µs per request.
    pub postgres_cpu_us_per_op: Option<f64>,
    /// Wall time of the measured requests under callgrind, s.
    pub seconds: f64,
    /// The callgrind output file (for `callgrind_annotate`).
    pub callgrind_out: PathBuf,
}

/// What to measure, and where.
pub struct Settings {
    /// The seeded database the server uses.
    pub database_url: String,
    /// The release server binary.
    pub server_bin: PathBuf,
    /// `name=N` pairs, in run order.
    pub requests: String,
    /// Where the callgrind output files go.
    pub out_dir: PathBuf,
}

/// Counts every scenario of `settings.requests` and returns one entry per scenario.
pub async fn run(settings: &Settings, d: &Dataset) -> anyhow::Result<Vec<Counted>> {
    std::fs::create_dir_all(&settings.out_dir)?;
    let mut counted = Vec::new();
    for (name, requests) in parse_requests(&settings.requests)? {
        let kind = kind_of(&name)?;
        let warmup = (requests / 4).max(5);
        eprintln!("{name}: server under callgrind, {warmup} warm-up + {requests} counted …");
        let c = count(settings, d, &name, kind, warmup, requests).await?;
        eprintln!(
            "{name}: {:.0} instructions per request ({} in all), PostgreSQL {} µs CPU per \
             request, {} errors, {:.1} s",
            c.server_instructions_per_op,
            c.server_instructions,
            c.postgres_cpu_us_per_op
                .map_or("–".to_owned(), |v| format!("{v:.0}")),
            c.errors,
            c.seconds
        );
        counted.push(c);
    }
    Ok(counted)
}

/// Parses `user=200,history=100`.
fn parse_requests(list: &str) -> anyhow::Result<Vec<(String, usize)>> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (name, n) = item
                .split_once('=')
                .with_context(|| format!("--requests: {item:?} is not name=N"))?;
            let n = n
                .parse()
                .with_context(|| format!("--requests: {n:?} is not a number"))?;
            Ok((name.to_owned(), n))
        })
        .collect()
}

fn kind_of(name: &str) -> anyhow::Result<Kind> {
    Ok(match name {
        "user" => Kind::User,
        "history" => Kind::History,
        "inbox" => Kind::Inbox,
        "send" => Kind::Send,
        other => bail!("no instruction count for scenario {other:?} (user, history, inbox, send)"),
    })
}

/// The valgrind command line the server runs under, writing to `out`.
fn callgrind_launcher(out: &Path) -> Vec<String> {
    [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        "--dump-instr=no",
        "--cache-sim=no",
        "--separate-threads=no",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([format!("--callgrind-out-file={}", out.display())])
    .collect()
}

/// One scenario: a fresh server under callgrind, warm-up, counted requests, totals.
async fn count(
    settings: &Settings,
    d: &Dataset,
    name: &str,
    kind: Kind,
    warmup: usize,
    requests: usize,
) -> anyhow::Result<Counted> {
    let out = settings.out_dir.join(format!("callgrind.{name}.out"));
    let _ = std::fs::remove_file(&out);
    let key = crate::hex(&messenger::auth::tokens::random_bytes::<32>()?);
    let server = Server::start_with(
        &settings.server_bin,
        &settings.database_url,
        &key,
        &callgrind_launcher(&out),
        READY_WITHIN,
    )
    .await?;
    let pid = server.pid.context("the server has no pid")?;
    let tokens = crate::mint_tokens(
        &messenger::auth::tokens::TokenKey::new(key.into_bytes())?,
        d,
    );
    // Client message ids must be new on every run (a repeated one is a retry, answered from
    // the stored message); the hex time keeps the body's length the same.
    let run_key = format!("{:x}", chrono::Utc::now().timestamp_millis());
    let mut client = Client::connect(server.addr).await?;
    let mut warm_rng = Rng::new(SEED.wrapping_add(1_000));
    send_all(
        &mut client,
        kind,
        d,
        &mut warm_rng,
        &tokens,
        &format!("w{run_key}"),
        warmup,
    )
    .await?;

    let mut admin = AsyncPgConnection::establish(&settings.database_url).await?;
    let before = backend_cpu_ns(&mut admin).await?;
    callgrind_control(pid, &["-i", "on"]).await?;
    let t0 = Instant::now();
    let mut rng = Rng::new(SEED);
    let errors = send_all(&mut client, kind, d, &mut rng, &tokens, &run_key, requests).await?;
    let seconds = t0.elapsed().as_secs_f64();
    callgrind_control(pid, &["-i", "off"]).await?;
    callgrind_control(pid, &["-d"]).await?;
    let after = backend_cpu_ns(&mut admin).await?;
    drop(client);
    server.stop_within(Duration::from_secs(120)).await;

    let server_instructions = total_instructions(&out)?;
    let pg_ns: u64 = after
        .iter()
        .map(|(pid, ns)| ns.saturating_sub(before.get(pid).copied().unwrap_or(0)))
        .sum();
    Ok(Counted {
        name: name.to_owned(),
        requests,
        warmup,
        errors,
        server_instructions,
        server_instructions_per_op: server_instructions as f64 / requests.max(1) as f64,
        postgres_cpu_us_per_op: (!after.is_empty())
            .then(|| pg_ns as f64 / 1000.0 / requests.max(1) as f64),
        seconds,
        callgrind_out: out,
    })
}

/// Sends `n` requests of `kind` one after the other; returns how many failed.
async fn send_all(
    client: &mut Client,
    kind: Kind,
    d: &Dataset,
    rng: &mut Rng,
    tokens: &[String],
    client_key: &str,
    n: usize,
) -> anyhow::Result<u64> {
    let mut errors = 0;
    for i in 0..n {
        let call = make_call(kind, d, rng, client_key, i as u64 + 1);
        let (status, body) = client
            .post(&tokens[call.viewer as usize], call.body)
            .await?;
        if !is_success(status, &body) {
            if errors == 0 {
                eprintln!(
                    "  {kind:?} request failed: {status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(300)])
                );
            }
            errors += 1;
        }
    }
    Ok(errors)
}

/// Runs `callgrind_control <args> <pid>`.
async fn callgrind_control(pid: u32, args: &[&str]) -> anyhow::Result<()> {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new("callgrind_control")
            .args(args)
            .arg(pid.to_string())
            .output(),
    )
    .await
    .context("callgrind_control did not answer in 60 s")?
    .context("running callgrind_control (apt-get install valgrind)")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || !stdout.contains("OK") {
        bail!(
            "callgrind_control {} {pid} failed: {stdout}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// The `Ir` total of a callgrind output file (its `totals:` line, else `summary:`), summed
/// over the parts callgrind dumped (`<file>.1` on `-d`, `<file>` at exit). A part dumped
/// after instrumentation was switched off has `summary: 0` above its real totals.
fn total_instructions(out: &Path) -> anyhow::Result<u64> {
    let dir = out.parent().context("no directory")?;
    let stem = out
        .file_name()
        .and_then(|n| n.to_str())
        .context("no file name")?;
    let mut total = 0;
    let mut found = false;
    for entry in std::fs::read_dir(dir)?.flatten() {
        let file_name = entry.file_name();
        let Some(n) = file_name.to_str() else {
            continue;
        };
        let part = n
            .strip_prefix(stem)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'));
        if !part {
            continue;
        }
        let text = std::fs::read_to_string(entry.path())?;
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix("totals:"))
            .or_else(|| text.lines().find_map(|l| l.strip_prefix("summary:")));
        if let Some(ir) = line.and_then(|l| l.split_whitespace().next()) {
            total += ir
                .parse::<u64>()
                .context("an Ir total that is not a number")?;
            found = true;
        }
    }
    if !found {
        bail!(
            "no summary in {} (did the server exit cleanly?)",
            out.display()
        );
    }
    Ok(total)
}

/// CPU nanoseconds so far of every other client backend of this database (the server's).
async fn backend_cpu_ns(
    conn: &mut AsyncPgConnection,
) -> anyhow::Result<std::collections::HashMap<u32, u64>> {
    #[derive(QueryableByName)]
    struct Backend {
        #[diesel(sql_type = Integer)]
        pid: i32,
    }
    let rows: Vec<Backend> = diesel::sql_query(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
          AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
    )
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|b| {
            let pid = b.pid as u32;
            procstat::cpu_ns(pid).map(|ns| (pid, ns))
        })
        .collect())
}

/// The Markdown table of a run.
pub fn table(counted: &[Counted]) -> String {
    let mut out = String::from(
        "| scenario | requests (warm-up) | errors | server instructions per op | PostgreSQL CPU µs per op (server's backends) |\n\
         |---|---:|---:|---:|---:|\n",
    );
    for c in counted {
        out += &format!(
            "| {} | {} ({}) | {} | {} | {} |\n",
            c.name,
            c.requests,
            c.warmup,
            c.errors,
            thousands(c.server_instructions_per_op.round() as u64),
            c.postgres_cpu_us_per_op
                .map_or("–".to_owned(), |v| format!("{v:.0}")),
        );
    }
    out
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
