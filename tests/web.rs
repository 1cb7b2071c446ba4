//! The web client's suites, run by `cargo test` like everything else, on a machine where
//! nothing was installed by hand: its Node packages come from the lockfile (`npm ci`, when
//! `web/node_modules` is missing or older than `web/package-lock.json`) and Chromium from
//! Debian's packages (`apt-get install chromium`, when `/usr/bin/chromium` is missing and this
//! runs as root; Playwright never downloads a browser).
//!
//! - `unit_tests`: the client's type check (`tsc`) and its Vitest unit tests (`npm test`).
//! - `checked_in_dist_is_what_the_sources_build`: `web/dist`, which the server embeds, equals
//!   a fresh `vite build` byte for byte (as `schema.graphql` must equal the printed schema).
//! - `end_to_end_in_chromium`: `npx playwright test` (web/e2e) against the debug server binary,
//!   on a fresh database dropped afterwards; the tests start and restart the server themselves.
//!   The budget tests (tagged `@budget`, they time renders) run first on one worker, alone.
//!
//! The three run one after another (they share `web/` and the machine's cores, and the
//! end-to-end budgets measure render times). What cannot be had (Node, Chromium, PostgreSQL)
//! makes a test print `SKIPPED: <test>: <reason>` to stderr and pass, except under CI, where
//! it fails, as in `tests/api`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use messenger::db::quote_ident;

const CHROMIUM: &str = "/usr/bin/chromium";
const DEFAULT_ADMIN_URL: &str = "postgres://root@127.0.0.1:5432/postgres";
/// The longest any one step may take before its process group is killed.
const NPM_CI_TIMEOUT: Duration = Duration::from_secs(600);
const STEP_TIMEOUT: Duration = Duration::from_secs(300);
const BUDGETS_TIMEOUT: Duration = Duration::from_secs(240);
const E2E_TIMEOUT: Duration = Duration::from_secs(420);

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// Whether the tests run under CI: `CI` set to anything but empty, `0` or `false`.
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// Says that the running test cannot get something it needs: fails under CI, else writes
/// `SKIPPED: <test>: <reason>` straight to stderr (libtest does not capture that) and the
/// caller returns. The same rule as `tests/api/harness.rs`.
fn skip_or_fail(reason: &str) {
    let current = std::thread::current();
    let test = current.name().unwrap_or("<unnamed test>");
    assert!(!under_ci(), "{test}: cannot be skipped under CI: {reason}");
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {test}: {reason}");
}

/// One test at a time in this binary, whatever `--test-threads` says.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The output of a finished command, and how it ended.
struct Run {
    status: ExitStatus,
    /// The last lines of stdout and stderr, interleaved as they came.
    tail: String,
}

/// Runs `command` in its own process group, echoing its output line by line through
/// `eprintln!` (captured by libtest: shown when the test fails, or live with `--nocapture`),
/// and kills the whole group (npm, node, Chromium, servers) after `timeout`.
fn run(what: &str, command: &mut Command, timeout: Duration) -> Run {
    use std::os::unix::process::CommandExt;
    eprintln!("--- {what}");
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: could not start: {e}"));
    let tail = Arc::new(Mutex::new(std::collections::VecDeque::<String>::new()));
    let readers: Vec<_> = [
        Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().expect("stderr")),
    ]
    .into_iter()
    .map(|pipe| {
        let tail = Arc::clone(&tail);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                eprintln!("{line}");
                let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
                tail.push_back(line);
                if tail.len() > 80 {
                    tail.pop_front();
                }
            }
        })
    })
    .collect();
    let pid = rustix::process::Pid::from_child(&child);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > timeout => {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
                let _ = child.wait();
                for reader in readers {
                    let _ = reader.join();
                }
                let tail = tail.lock().unwrap_or_else(|p| p.into_inner());
                panic!(
                    "{what}: killed after {} s; its last lines:\n{}",
                    timeout.as_secs(),
                    Vec::from(tail.clone()).join("\n")
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => panic!("{what}: {e}"),
        }
    };
    // Whatever the leader left behind (a server a crashed test did not stop) goes too.
    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    for reader in readers {
        let _ = reader.join();
    }
    eprintln!(
        "--- {what}: {status} after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let tail = Vec::from(tail.lock().unwrap_or_else(|p| p.into_inner()).clone()).join("\n");
    Run { status, tail }
}

/// Runs it and fails the test with its last lines unless it succeeds.
fn run_ok(what: &str, command: &mut Command, timeout: Duration) {
    let done = run(what, command, timeout);
    assert!(
        done.status.success(),
        "{what} failed ({}); its last lines:\n{}",
        done.status,
        done.tail
    );
}

fn npm(args: &[&str]) -> Command {
    let mut command = Command::new("npm");
    command
        .args(args)
        .current_dir(web_dir())
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .env("NO_COLOR", "1")
        .env("FORCE_COLOR", "0")
        .env("npm_config_update_notifier", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_audit", "false");
    command
}

fn npx(args: &[&str]) -> Command {
    let mut command = npm(&["exec", "--no", "--"]);
    command.args(args);
    command
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// What every test here needs, done once per process: Node packages installed from the
/// lockfile and the GraphQL operation types generated. `Err` is why it cannot be done.
fn prepared() -> Result<(), String> {
    static PREPARED: OnceLock<Result<(), String>> = OnceLock::new();
    PREPARED
        .get_or_init(|| {
            let node_ok = Command::new("node")
                .arg("--version")
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .and_then(|v| {
                    let mut parts = v.trim().trim_start_matches('v').split('.');
                    let major: u32 = parts.next()?.parse().ok()?;
                    let minor: u32 = parts.next()?.parse().ok()?;
                    Some((major, minor) >= (20, 19))
                });
            match node_ok {
                None => return Err("Node.js (20.19 or later, with npm) is not installed".into()),
                Some(false) => return Err("Node.js is older than 20.19 (Vite needs 20.19+)".into()),
                Some(true) => {}
            }
            let web = web_dir();
            let installed = modified(&web.join("node_modules/.package-lock.json"));
            let locked = modified(&web.join("package-lock.json"));
            if installed.is_none() || installed < locked {
                let done = run(
                    "npm ci (web/node_modules is missing or older than the lockfile)",
                    &mut npm(&["ci", "--no-audit", "--no-fund"]),
                    NPM_CI_TIMEOUT,
                );
                if !done.status.success() {
                    return Err(format!("npm ci failed ({}):\n{}", done.status, done.tail));
                }
            }
            let done = run(
                "npm run codegen",
                &mut npm(&["run", "codegen"]),
                STEP_TIMEOUT,
            );
            if !done.status.success() {
                return Err(format!("npm run codegen failed:\n{}", done.tail));
            }
            Ok(())
        })
        .clone()
}

/// Prepares `web/`, or says why the test cannot run ([`skip_or_fail`]) and returns false.
fn ready() -> bool {
    match prepared() {
        Ok(()) => true,
        Err(reason) if reason.starts_with("Node.js") => {
            skip_or_fail(&reason);
            false
        }
        // npm ci or codegen failing is a failure, not a missing tool.
        Err(reason) => panic!("{reason}"),
    }
}

#[test]
fn unit_tests() {
    let _serial = one_at_a_time();
    if !ready() {
        return;
    }
    run_ok(
        "tsc --noEmit (the client, its unit and end-to-end tests)",
        &mut npx(&["tsc", "--noEmit"]),
        STEP_TIMEOUT,
    );
    run_ok("npm test (Vitest)", &mut npm(&["test"]), STEP_TIMEOUT);
}

/// Every file under `root`, by path relative to it.
fn files(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path
                    .strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .into_owned();
                out.insert(
                    relative,
                    std::fs::read(&path).expect("reading a built file"),
                );
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// A fresh folder under cargo's temporary folder for integration tests.
fn temp_dir(what: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("web-{what}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating a temporary folder");
    dir
}

/// Removes the folder when dropped.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn checked_in_dist_is_what_the_sources_build() {
    let _serial = one_at_a_time();
    if !ready() {
        return;
    }
    let out = RemoveOnDrop(temp_dir("dist"));
    let out_dir = out.0.to_string_lossy().into_owned();
    run_ok(
        "vite build into a temporary folder",
        &mut npx(&["vite", "build", "--outDir", &out_dir, "--emptyOutDir"]),
        STEP_TIMEOUT,
    );
    let fresh = files(&out.0);
    assert!(!fresh.is_empty(), "vite build wrote nothing to {out_dir}");
    let checked_in = files(&web_dir().join("dist"));
    let mut differences = Vec::new();
    for (name, bytes) in &fresh {
        match checked_in.get(name) {
            None => differences.push(format!("missing from web/dist: {name}")),
            Some(old) if old != bytes => differences.push(format!("differs: {name}")),
            Some(_) => {}
        }
    }
    for name in checked_in.keys().filter(|n| !fresh.contains_key(*n)) {
        differences.push(format!("not built any more: {name}"));
    }
    assert!(
        differences.is_empty(),
        "web/dist is stale: run `npm --prefix web run build` and commit web/dist\n{}",
        differences.join("\n")
    );
}

/// Debian's Chromium, installed first when missing and this runs as root (as the cluster test
/// installs HAProxy).
fn chromium() -> Option<&'static str> {
    if Path::new(CHROMIUM).exists() {
        return Some(CHROMIUM);
    }
    if rustix::process::geteuid().is_root() && Path::new("/usr/bin/apt-get").exists() {
        let install = |args: &[&str]| {
            let done = run(
                &format!("apt-get {}", args.join(" ")),
                Command::new("apt-get")
                    .args(args)
                    .env("DEBIAN_FRONTEND", "noninteractive"),
                NPM_CI_TIMEOUT,
            );
            done.status.success()
        };
        if !install(&["install", "-y", "-qq", "chromium"]) {
            install(&["update", "-qq"]);
            install(&["install", "-y", "-qq", "chromium"]);
        }
    }
    Path::new(CHROMIUM).exists().then_some(CHROMIUM)
}

/// A database of its own for the run, on the tests' PostgreSQL (`TEST_DATABASE_URL`, else the
/// local server, else the private cluster `tests/api` starts under `target/`); dropped on
/// drop.
struct Database {
    url: String,
    admin_url: String,
    name: String,
    runtime: tokio::runtime::Runtime,
}

impl Database {
    fn create() -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let admin_url = runtime.block_on(admin_url())?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let name = format!("messenger_web_{}_{nanos}", std::process::id());
        runtime.block_on(async {
            let mut admin = AsyncPgConnection::establish(&admin_url)
                .await
                .map_err(|e| format!("connecting to {admin_url}: {e}"))?;
            admin
                .batch_execute(&format!("CREATE DATABASE {}", quote_ident(&name)))
                .await
                .map_err(|e| format!("creating {name}: {e}"))
        })?;
        let url = with_database(&admin_url, &name);
        Ok(Self {
            url,
            admin_url,
            name,
            runtime,
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        self.runtime.block_on(async {
            if let Ok(mut admin) = AsyncPgConnection::establish(&self.admin_url).await {
                let _ = admin
                    .batch_execute(&format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        quote_ident(&self.name)
                    ))
                    .await;
            }
        });
    }
}

async fn admin_url() -> Result<String, String> {
    if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
        return Ok(url);
    }
    let reachable = matches!(
        tokio::time::timeout(
            Duration::from_secs(3),
            AsyncPgConnection::establish(DEFAULT_ADMIN_URL)
        )
        .await,
        Ok(Ok(_))
    );
    if reachable {
        return Ok(DEFAULT_ADMIN_URL.to_owned());
    }
    // The same private cluster as tests/api's harness, under target/.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-postgres");
    std::fs::create_dir_all(Path::new(env!("CARGO_TARGET_TMPDIR"))).map_err(|e| e.to_string())?;
    let lock = std::fs::File::create(dir.with_extension("lock")).map_err(|e| e.to_string())?;
    lock.lock().map_err(|e| e.to_string())?;
    let pg = messenger::db::private::PrivatePostgres::start(&dir, None)
        .await
        .map_err(|e| format!("no PostgreSQL reachable and none could be started: {e:#}"))?;
    Ok(pg.url("postgres"))
}

/// `url` with its database name replaced by `name` (query string kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = base.rsplit_once('/').map_or(base, |(server, _)| server);
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

#[test]
fn end_to_end_in_chromium() {
    let _serial = one_at_a_time();
    if !ready() {
        return;
    }
    let Some(chromium) = chromium() else {
        skip_or_fail("Chromium is not installed and could not be (apt-get install chromium)");
        return;
    };
    let database = match Database::create() {
        Ok(database) => database,
        Err(reason) => {
            skip_or_fail(&format!("no PostgreSQL for the end-to-end tests: {reason}"));
            return;
        }
    };
    let data = RemoveOnDrop(temp_dir("e2e"));
    let playwright = |what: &str, args: &[&str], timeout: Duration| {
        let mut command = npx(&["playwright", "test"]);
        command
            .args(args)
            .env("MESSENGER_BIN", env!("CARGO_BIN_EXE_messenger"))
            .env("DATABASE_URL", &database.url)
            .env("MESSENGER_DATA_DIR", &data.0)
            .env("CHROMIUM", chromium);
        run(what, &mut command, timeout)
    };
    // The budgets first, on one worker with nothing else running (they time renders), then
    // everything else on two.
    let budgets = playwright(
        "npx playwright test --grep @budget (web/e2e, alone)",
        &[
            "--grep",
            "@budget",
            "--workers",
            "1",
            "--output",
            "e2e/output/test-results-budgets",
        ],
        BUDGETS_TIMEOUT,
    );
    let rest = playwright(
        "npx playwright test --grep-invert @budget (web/e2e)",
        &["--grep-invert", "@budget"],
        E2E_TIMEOUT,
    );
    drop(database);
    let failed: Vec<String> = [
        ("the budget tests", budgets),
        ("the end-to-end tests", rest),
    ]
    .into_iter()
    .filter(|(_, run)| !run.status.success())
    .map(|(what, run)| {
        format!(
            "{what} failed ({}); the last lines:\n{}",
            run.status, run.tail
        )
    })
    .collect();
    assert!(
        failed.is_empty(),
        "{}\n(the report and screenshots of failures are in web/e2e/output/; budgets in \
         web/e2e/output/budgets.json)",
        failed.join("\n\n")
    );
}
