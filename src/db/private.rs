//! A private PostgreSQL server in a folder we own, started from the installed binaries.
//!
//! Used by `messenger serve` when no `DATABASE_URL` is set, and by the test harness when no
//! server is reachable. The cluster listens only on a Unix socket inside its folder, so it
//! never clashes with another server's port. `initdb` and `postgres` refuse to run as root:
//! when we are root they run as the machine's `postgres` user, who must be able to reach the
//! folder.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use diesel_async::{AsyncConnection, AsyncPgConnection};

/// Superuser created by `initdb` for the private cluster.
const SUPERUSER: &str = "messenger";
/// Port number that names the socket file (no TCP port is opened).
const SOCKET_PORT: u16 = 5432;

/// A running private cluster. [`PrivatePostgres::stop`] shuts it down.
#[derive(Debug)]
pub struct PrivatePostgres {
    dir: PathBuf,
    bin_dir: PathBuf,
    run_as: Option<(u32, u32)>,
    child: Option<tokio::process::Child>,
}

impl PrivatePostgres {
    /// Starts the cluster in `dir` (creating it with `initdb` the first time), or adopts one
    /// already running there, and waits until it accepts connections.
    pub async fn start(dir: &Path, bin_dir: Option<&Path>) -> anyhow::Result<Self> {
        let bin_dir = find_bin_dir(bin_dir)?;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the PostgreSQL folder {}", dir.display()))?;
        let dir = dir
            .canonicalize()
            .with_context(|| format!("resolving {}", dir.display()))?;
        let run_as = if is_root() {
            Some(prepare_for_postgres_user(&dir)?)
        } else {
            None
        };
        let mut pg = Self {
            dir,
            bin_dir,
            run_as,
            child: None,
        };
        if pg.accepts_connections().await {
            tracing::info!(dir = %pg.dir.display(), "reusing the private PostgreSQL already running");
            return Ok(pg);
        }
        if !pg.dir.join("PG_VERSION").exists() {
            pg.initdb().await?;
        }
        pg.spawn_server()?;
        pg.wait_until_ready().await?;
        Ok(pg)
    }

    /// URL of database `db` on this cluster.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@/{db}?host={}&port={SOCKET_PORT}",
            self.dir.display()
        )
    }

    /// The cluster's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Fast shutdown: ends sessions, checkpoints, exits. Waits up to 30 seconds.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let Some(pid) = self.postmaster_pid() else {
            return Ok(());
        };
        let status = std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .context("sending SIGINT to PostgreSQL")?;
        if !status.success() {
            return Ok(()); // already gone
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.dir.join("postmaster.pid").exists() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if let Some(mut child) = self.child.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        }
        if self.dir.join("postmaster.pid").exists() {
            bail!("PostgreSQL did not stop within 30 seconds");
        }
        tracing::info!("private PostgreSQL stopped");
        Ok(())
    }

    /// Starts the server again after [`PrivatePostgres::stop`].
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.spawn_server()?;
        self.wait_until_ready().await
    }

    fn postmaster_pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.dir.join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    async fn accepts_connections(&self) -> bool {
        matches!(
            tokio::time::timeout(
                Duration::from_secs(2),
                AsyncPgConnection::establish(&self.url("postgres"))
            )
            .await,
            Ok(Ok(_))
        )
    }

    fn command(&self, program: &str) -> tokio::process::Command {
        let mut cmd = std::process::Command::new(self.bin_dir.join(program));
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        // Keep the server out of our process group, so a Ctrl-C in the terminal reaches only
        // us and we stop it in order.
        cmd.process_group(0);
        cmd.current_dir(&self.dir);
        tokio::process::Command::from(cmd)
    }

    async fn initdb(&self) -> anyhow::Result<()> {
        tracing::info!(dir = %self.dir.display(), "creating a private PostgreSQL cluster");
        let output = self
            .command("initdb")
            .args([
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ])
            .arg(format!("--username={SUPERUSER}"))
            .arg("-D")
            .arg(&self.dir)
            .output()
            .await
            .context("running initdb")?;
        if !output.status.success() {
            bail!(
                "initdb failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    fn spawn_server(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))
            .context("opening the PostgreSQL log")?;
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(self.dir.join("server.log"), Some(uid), Some(gid))?;
        }
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(&self.dir)
            .args(["-c", "listen_addresses="])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.dir.display()))
            .arg("-c")
            .arg(format!("port={SOCKET_PORT}"))
            .args(["-c", "max_connections=200", "-c", "fsync=on"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(false)
            .spawn()
            .context("starting postgres")?;
        self.child = Some(child);
        Ok(())
    }

    async fn wait_until_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.accepts_connections().await {
                tracing::info!(dir = %self.dir.display(), "private PostgreSQL is ready");
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "postgres exited with {status} before accepting connections; see {}",
                    self.dir.join("server.log").display()
                );
            }
            if Instant::now() > deadline {
                bail!("postgres did not accept connections within 30 seconds");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Finds the folder holding `initdb` and `postgres`.
pub fn find_bin_dir(configured: Option<&Path>) -> anyhow::Result<PathBuf> {
    let has_binaries = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = configured {
        if has_binaries(dir) {
            return Ok(dir.to_owned());
        }
        bail!(
            "MESSENGER_POSTGRES_BIN_DIR={} holds no initdb and postgres",
            dir.display()
        );
    }
    if let Some(path) = std::env::var_os("PATH")
        && let Some(dir) = std::env::split_paths(&path).find(|d| has_binaries(d))
    {
        return Ok(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| has_binaries(bin))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        anyhow::anyhow!(
            "No PostgreSQL found: set DATABASE_URL to a PostgreSQL server, or install the \
             PostgreSQL server binaries (Debian: apt-get install postgresql) so messenger can \
             start its own."
        )
    })
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Gives the folder to the `postgres` user and checks that user can reach it.
fn prepare_for_postgres_user(dir: &Path) -> anyhow::Result<(u32, u32)> {
    let (uid, gid) = lookup_user("postgres")?.ok_or_else(|| {
        anyhow::anyhow!(
            "running as root, the private PostgreSQL needs the 'postgres' user to run as: \
             create it, run messenger as another user, or set DATABASE_URL"
        )
    })?;
    for ancestor in dir.ancestors().skip(1) {
        let meta = std::fs::metadata(ancestor)?;
        let reachable = meta.mode() & 0o001 != 0 || meta.uid() == uid;
        if !reachable {
            bail!(
                "the postgres user cannot reach {} (no search permission on {}): set \
                 MESSENGER_DATA_DIR to a folder outside it, or set DATABASE_URL",
                dir.display(),
                ancestor.display()
            );
        }
    }
    std::os::unix::fs::chown(dir, Some(uid), Some(gid))
        .with_context(|| format!("giving {} to the postgres user", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    Ok((uid, gid))
}

/// uid and gid of a user, from `/etc/passwd`.
fn lookup_user(name: &str) -> anyhow::Result<Option<(u32, u32)>> {
    let passwd = std::fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
    Ok(passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let uid = fields.nth(1)?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some((uid, gid))
    }))
}
