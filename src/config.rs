//! Configuration from the environment: every variable the server reads is listed here.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MESSENGER_LISTEN` | `127.0.0.1:8080` | address and port to listen on |
//! | `DATABASE_URL` | unset | PostgreSQL to use; the database is created if missing. Unset: a private PostgreSQL is started in the data folder |
//! | `MESSENGER_DATA_DIR` | `data` | folder for the private PostgreSQL, the generated token key and media |
//! | `MESSENGER_POSTGRES_BIN_DIR` | searched | folder holding `initdb` and `postgres` (else `PATH`, then `/usr/lib/postgresql/*/bin`) |
//! | `MESSENGER_RUN_MIGRATIONS` | `true` | run pending migrations at start |
//! | `MESSENGER_DB_POOL_SIZE` | `16` | maximum pooled database connections |
//! | `MESSENGER_DB_TIMEOUT_MS` | `5000` | wait for a pooled connection, and statement timeout |
//! | `MESSENGER_TOKEN_KEY` | unset | secret that signs access tokens (at least 32 bytes) |
//! | `MESSENGER_TOKEN_KEY_FILE` | unset | file holding that secret; with neither, one is generated in the data folder |
//! | `MESSENGER_ACCESS_TOKEN_TTL_SECS` | `900` | lifetime of an access token |
//! | `MESSENGER_REFRESH_TOKEN_TTL_SECS` | `2592000` | lifetime of a refresh token (30 days) |
//! | `MESSENGER_BODY_LIMIT_BYTES` | `1048576` | largest accepted HTTP request body |
//! | `MESSENGER_MAX_QUERY_DEPTH` | `16` | deepest accepted GraphQL selection |
//! | `MESSENGER_MAX_QUERY_COMPLEXITY` | `20000` | largest accepted GraphQL query complexity |
//! | `RUST_LOG` | `info` | log filter (tracing-subscriber syntax) |

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};

/// Everything the server is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// External PostgreSQL, or `None` for the private one.
    pub database_url: Option<String>,
    /// Folder the server owns.
    pub data_dir: PathBuf,
    /// Where the PostgreSQL server binaries are, if set.
    pub postgres_bin_dir: Option<PathBuf>,
    /// Run pending migrations at start.
    pub run_migrations: bool,
    /// Maximum pooled connections.
    pub db_pool_size: usize,
    /// Pool wait and statement timeout.
    pub db_timeout: Duration,
    /// The token-signing secret, if given directly.
    pub token_key: Option<Vec<u8>>,
    /// File holding the token-signing secret, if given.
    pub token_key_file: Option<PathBuf>,
    /// Access-token lifetime.
    pub access_token_ttl: Duration,
    /// Refresh-token lifetime.
    pub refresh_token_ttl: Duration,
    /// Largest accepted request body in bytes.
    pub body_limit_bytes: usize,
    /// Deepest accepted GraphQL selection.
    pub max_query_depth: usize,
    /// Largest accepted GraphQL query complexity.
    pub max_query_complexity: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            data_dir: PathBuf::from("data"),
            postgres_bin_dir: None,
            run_migrations: true,
            db_pool_size: 16,
            db_timeout: Duration::from_secs(5),
            token_key: None,
            token_key_file: None,
            access_token_ttl: Duration::from_secs(900),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            body_limit_bytes: 1024 * 1024,
            max_query_depth: 16,
            max_query_complexity: 20_000,
        }
    }
}

impl Config {
    /// Reads the variables of the table above; a bad value fails with the variable's name.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Config::from_env`], reading from any lookup (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let d = Self::default();
        let token_key = match get("MESSENGER_TOKEN_KEY").filter(|v| !v.is_empty()) {
            Some(key) if key.len() < 32 => {
                bail!("MESSENGER_TOKEN_KEY must be at least 32 bytes long")
            }
            Some(key) => Some(key.into_bytes()),
            None => None,
        };
        Ok(Self {
            listen: parse(&get, "MESSENGER_LISTEN", d.listen)?,
            database_url: get("DATABASE_URL").filter(|v| !v.is_empty()),
            data_dir: get("MESSENGER_DATA_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or(d.data_dir),
            postgres_bin_dir: get("MESSENGER_POSTGRES_BIN_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            run_migrations: parse_bool(&get, "MESSENGER_RUN_MIGRATIONS", d.run_migrations)?,
            db_pool_size: positive(&get, "MESSENGER_DB_POOL_SIZE", d.db_pool_size)?,
            db_timeout: Duration::from_millis(positive(
                &get,
                "MESSENGER_DB_TIMEOUT_MS",
                d.db_timeout.as_millis() as u64,
            )?),
            token_key,
            token_key_file: get("MESSENGER_TOKEN_KEY_FILE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            access_token_ttl: Duration::from_secs(positive(
                &get,
                "MESSENGER_ACCESS_TOKEN_TTL_SECS",
                d.access_token_ttl.as_secs(),
            )?),
            refresh_token_ttl: Duration::from_secs(positive(
                &get,
                "MESSENGER_REFRESH_TOKEN_TTL_SECS",
                d.refresh_token_ttl.as_secs(),
            )?),
            body_limit_bytes: positive(&get, "MESSENGER_BODY_LIMIT_BYTES", d.body_limit_bytes)?,
            max_query_depth: positive(&get, "MESSENGER_MAX_QUERY_DEPTH", d.max_query_depth)?,
            max_query_complexity: positive(
                &get,
                "MESSENGER_MAX_QUERY_COMPLEXITY",
                d.max_query_complexity,
            )?,
        })
    }
}

fn parse<T: FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: T,
) -> anyhow::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    match get(name).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .with_context(|| format!("{name} has an invalid value {raw:?}")),
    }
}

fn positive<T>(get: &impl Fn(&str) -> Option<String>, name: &str, default: T) -> anyhow::Result<T>
where
    T: FromStr + PartialOrd + Default,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let value = parse(get, name, default)?;
    if value <= T::default() {
        bail!("{name} must be greater than zero");
    }
    Ok(value)
}

fn parse_bool(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: bool,
) -> anyhow::Result<bool> {
    match get(name).as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => bail!("{name} has an invalid value {other:?}: expected true or false"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let c = config(&[]).expect("defaults are valid");
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert!(c.database_url.is_none());
        assert!(c.run_migrations);
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (name, value) in [
            ("MESSENGER_LISTEN", "not-an-address"),
            ("MESSENGER_DB_POOL_SIZE", "0"),
            ("MESSENGER_DB_POOL_SIZE", "many"),
            ("MESSENGER_RUN_MIGRATIONS", "perhaps"),
            ("MESSENGER_TOKEN_KEY", "short"),
            ("MESSENGER_ACCESS_TOKEN_TTL_SECS", "-5"),
        ] {
            let err = config(&[(name, value)]).expect_err(name);
            assert!(format!("{err:#}").contains(name), "{err:#} names {name}");
        }
    }
}
