//! Configuration from the environment: every variable the server reads is listed here.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MESSENGER_LISTEN` | `127.0.0.1:8080` | address and port to listen on |
//! | `MESSENGER_LOG_FORMAT` | `text` | `json` for one JSON object per log line (read by `main` before the rest) |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | unset | export traces over OTLP/HTTP to this collector (read by [`crate::telemetry`], with the other `OTEL_*` variables) |
//! | `MESSENGER_METRICS_LISTEN` | unset | serve `GET /metrics` on this address and port instead of the main one (keep it off the public network) |
//! | `DATABASE_URL` | unset | PostgreSQL to use; the database is created if missing. Unset: a private PostgreSQL is started in the data folder |
//! | `MESSENGER_DATA_DIR` | `data` | folder for the private PostgreSQL, the generated token key and media |
//! | `MESSENGER_POSTGRES_BIN_DIR` | searched | folder holding `initdb` and `postgres` (else `PATH`, then `/usr/lib/postgresql/*/bin`) |
//! | `MESSENGER_RUN_MIGRATIONS` | `true` | run pending migrations at start |
//! | `MESSENGER_DB_POOL_SIZE` | `16` | maximum pooled database connections |
//! | `MESSENGER_DB_TIMEOUT_MS` | `5000` | wait for a pooled connection, statement timeout, and idle-in-transaction timeout |
//! | `MESSENGER_TOKEN_KEY` | unset | secret that signs access tokens (at least 32 bytes) |
//! | `MESSENGER_TOKEN_KEY_FILE` | unset | file holding that secret; with neither, one is generated in the data folder |
//! | `MESSENGER_ACCESS_TOKEN_TTL_SECS` | `900` | lifetime of an access token |
//! | `MESSENGER_REFRESH_TOKEN_TTL_SECS` | `2592000` | lifetime of a refresh token (30 days) |
//! | `MESSENGER_BODY_LIMIT_BYTES` | `1048576` | largest accepted HTTP request body |
//! | `MESSENGER_MAX_QUERY_DEPTH` | `16` | deepest accepted GraphQL selection |
//! | `MESSENGER_MAX_QUERY_COMPLEXITY` | `20000` | largest accepted GraphQL query complexity |
//! | `MESSENGER_MAX_QUERY_BYTES` | `32768` | longest GraphQL query text, refused with `BAD_USER_INPUT` before it is parsed |
//! | `MESSENGER_MAX_FIELDS` | `1000` | most fields one operation may select, aliases and `__typename` included, fragments counted where spread (more: `BAD_USER_INPUT`) |
//! | `MESSENGER_MAX_BATCH` | `10` | most operations in one batched (JSON array) request (more: refused with `BAD_USER_INPUT`); each counts against every other limit |
//! | `MESSENGER_INTROSPECTION` | `true` | answer introspection queries (`__schema`, `__type`); switch off in production if the schema is not to be browsed |
//! | `MESSENGER_CORS_ORIGINS` | empty | browser origins allowed to call the API from other sites, comma-separated (`https://app.example.com,http://localhost:5173`), or `*` for any; no credentials mode (tokens travel in headers). Empty: none |
//! | `MESSENGER_MAX_UPLOAD_BYTES` | `5242880` | largest accepted profile picture (5 MiB) |
//! | `MESSENGER_MAX_ATTACHMENT_BYTES` | `26214400` | largest accepted attachment (25 MiB); a multipart request may be this (or the picture limit, if larger) bigger than `MESSENGER_BODY_LIMIT_BYTES` |
//! | `MESSENGER_MEDIA_URL_TTL_SECS` | `3600` | how long an attachment URL works (at least 60 s; rounded up to a quarter of it, so URLs repeat and can be cached) |
//! | `MESSENGER_UPLOAD_TTL_SECS` | `86400` | an upload not sent with a message within this long is removed by `messenger media sweep` |
//! | `MESSENGER_MAX_IMAGE_PIXELS` | `25000000` | largest accepted image, width × height, read from its header before decoding (and at most 16384 on a side) |
//! | `MESSENGER_IMAGE_TIMEOUT_MS` | `10000` | time allowed to decode, resize and encode one uploaded image |
//! | `MEDIA_BASE_URL` | unset | where the media URLs in the API point (a CDN, or the bucket's public address): `https://cdn.example.com` gives `https://cdn.example.com/avatars/…`. Unset: `/media/…` on this server |
//! | `MESSENGER_S3_BUCKET` | unset | keep media in this S3 (or S3-compatible) bucket. Unset: in the folder `<data>/media` |
//! | `MESSENGER_S3_REGION` | `us-east-1` | the bucket's region |
//! | `MESSENGER_S3_ENDPOINT` | unset | an S3-compatible server's address (MinIO, Ceph, moto…), used with path-style requests. Unset: AWS |
//! | `MESSENGER_S3_ALLOW_HTTP` | `false` | allow a plain `http://` endpoint (a local test server) |
//! | `REDIS_URL` | unset | Redis for live events across several servers (`redis://127.0.0.1:6379`). Unset: one server, in-process delivery |
//! | `MESSENGER_REDIS_CHANNEL` | `messenger:events` | Redis pub/sub channel shared by the servers of one deployment |
//! | `MESSENGER_EVENT_BUFFER` | `4096` | events a subscriber may fall behind before it gets a `LAGGED` event |
//! | `MESSENGER_EVENT_POLL_MS` | `250` | how often each server reads the event log without being poked (the fallback when Redis is down) |
//! | `MESSENGER_EVENT_RETENTION_SECS` | `604800` | how long events are kept for resuming subscriptions (7 days); older cursors get `RESYNC` |
//! | `MESSENGER_TYPING_PER_MINUTE` | `30` | typing notices a user may send per minute |
//! | `MESSENGER_SIGNIN_FAILURES_PER_ACCOUNT` | `5` | failed sign-ins per username (known or not) before it is locked for the rest of `MESSENGER_SIGNIN_LOCK_SECS` |
//! | `MESSENGER_SIGNIN_FAILURES_PER_ADDRESS` | `30` | failed sign-ins and refreshes per client address in that window |
//! | `MESSENGER_SIGNIN_LOCK_SECS` | `900` | the sign-in window: failures count for this long from the first |
//! | `MESSENGER_SIGNIN_REFUSAL_DELAY_MS` | `1000` | how long a sign-in, refresh or registration refused by these limits waits before its answer (0 to 10000) |
//! | `MESSENGER_REGISTRATIONS_PER_ADDRESS_PER_HOUR` | `20` | new accounts per client address and hour |
//! | `MESSENGER_MESSAGES_PER_MINUTE` | `300` | messages one user may send, edit or delete per minute |
//! | `MESSENGER_GROUP_CHANGES_PER_MINUTE` | `60` | conversations started and group changes (members, roles, titles, leaving) per user and minute |
//! | `MESSENGER_UPLOADS_PER_MINUTE` | `20` | uploads per user and minute |
//! | `MESSENGER_TRUSTED_PROXIES` | empty | addresses or networks (`10.0.0.0/16`) of the proxies (load balancers, ingress controllers) whose `X-Forwarded-For` names the client, comma-separated; from anyone else the peer address counts |
//! | `MESSENGER_HASH_CONCURRENCY` | half the cores, at least 1 | password hashes computed at once; more wait (up to 2 s, then `RATE_LIMITED`) |
//! | `MESSENGER_WS_INIT_TIMEOUT_MS` | `10000` | time a socket has to send `connection_init` (then closed with 4408) |
//! | `MESSENGER_WS_MAX_SUBSCRIPTIONS` | `100` | operations running at once on one socket |
//! | `MESSENGER_WS_MAX_MESSAGE_BYTES` | `65536` | largest WebSocket message accepted (larger: closed with 1009) |
//! | `MESSENGER_WS_MAX_SOCKETS_PER_USER` | `16` | sockets one user may hold open on one server (more: closed with 4429) |
//! | `MESSENGER_WS_KEEPALIVE_SECS` | `30` | interval of the server's pings on idle sockets |
//! | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` | unset | the S3 credentials (both or neither); `AWS_SESSION_TOKEN` too if temporary. Neither: the other standard `AWS_*` variables, then the instance's role |
//! | `DATABASE_URL_FILE`, `REDIS_URL_FILE`, `AWS_ACCESS_KEY_ID_FILE`, `AWS_SECRET_ACCESS_KEY_FILE`, `AWS_SESSION_TOKEN_FILE` | unset | read that secret from this file instead (Docker and Kubernetes secrets); setting both a variable and its `_FILE` is an error |
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
    /// Address of the metrics listener, if `/metrics` is not on the main one.
    pub metrics_listen: Option<SocketAddr>,
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
    /// Longest query text in bytes.
    pub max_query_bytes: usize,
    /// Most fields one operation may select.
    pub max_fields: usize,
    /// Most operations in one batched request.
    pub max_batch: usize,
    /// Whether introspection queries are answered.
    pub introspection: bool,
    /// Browser origins allowed cross-site (`["*"]`: any).
    pub cors_origins: Vec<String>,
    /// Largest accepted profile picture in bytes.
    pub max_upload_bytes: usize,
    /// Largest accepted attachment in bytes.
    pub max_attachment_bytes: usize,
    /// How long an attachment URL works.
    pub media_url_ttl: Duration,
    /// How long an upload may wait to be attached before the sweep removes it.
    pub upload_ttl: Duration,
    /// Largest accepted image in pixels (width × height), checked before decoding.
    pub max_image_pixels: u64,
    /// Time allowed to decode, resize and encode one image.
    pub image_timeout: Duration,
    /// Where media URLs point, without a trailing slash; `None`: `/media` on this server.
    pub media_base_url: Option<String>,
    /// S3 storage for media; `None`: the local folder `<data>/media`.
    pub s3: Option<S3Config>,
    /// Redis for cross-server events.
    pub redis_url: Option<String>,
    /// The Redis pub/sub channel.
    pub redis_channel: String,
    /// Events a subscriber may fall behind.
    pub event_buffer: usize,
    /// Poll interval of the event pump.
    pub event_poll: Duration,
    /// How long events are kept for replay.
    pub event_retention: Duration,
    /// Typing notices per user and minute.
    pub typing_per_minute: u32,
    /// Failed sign-ins per username before it is locked.
    pub signin_failures_per_account: u32,
    /// Failed sign-ins and refreshes per client address.
    pub signin_failures_per_address: u32,
    /// The window of the sign-in limits.
    pub signin_lock: Duration,
    /// How long a sign-in refused by a limit waits before its answer.
    pub signin_refusal_delay: Duration,
    /// New accounts per client address and hour.
    pub registrations_per_address_hour: u32,
    /// Messages sent, edited or deleted per user and minute.
    pub messages_per_minute: u32,
    /// Conversations started and group changes per user and minute.
    pub group_changes_per_minute: u32,
    /// Uploads per user and minute.
    pub uploads_per_minute: u32,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Password hashes computed at once.
    pub hash_concurrency: usize,
    /// Time to send `connection_init`.
    pub ws_init_timeout: Duration,
    /// Operations at once per socket.
    pub ws_max_subscriptions: usize,
    /// Largest WebSocket message.
    pub ws_max_message_bytes: usize,
    /// Sockets per user and server.
    pub ws_max_sockets_per_user: usize,
    /// Ping interval on idle sockets.
    pub ws_keepalive: Duration,
}

/// Where media are kept when they are kept in S3 (or an S3-compatible store).
#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    /// The bucket.
    pub bucket: String,
    /// Its region.
    pub region: String,
    /// An S3-compatible server's address; `None` for AWS.
    pub endpoint: Option<String>,
    /// Whether a plain-HTTP endpoint is allowed.
    pub allow_http: bool,
    /// Access key id, if given.
    pub access_key_id: Option<String>,
    /// Secret access key, if given.
    pub secret_access_key: Option<String>,
    /// Session token of temporary credentials, if given.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secrets.
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("allow_http", &self.allow_http)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "…"),
            )
            .field("session_token", &self.session_token.as_ref().map(|_| "…"))
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_listen: None,
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
            max_query_bytes: 32 * 1024,
            max_fields: 1000,
            max_batch: 10,
            introspection: true,
            cors_origins: Vec::new(),
            max_upload_bytes: 5 * 1024 * 1024,
            max_attachment_bytes: 25 * 1024 * 1024,
            media_url_ttl: Duration::from_secs(3600),
            upload_ttl: Duration::from_secs(86_400),
            max_image_pixels: 25_000_000,
            image_timeout: Duration::from_secs(10),
            media_base_url: None,
            s3: None,
            redis_url: None,
            redis_channel: "messenger:events".to_owned(),
            event_buffer: 4096,
            event_poll: Duration::from_millis(250),
            event_retention: Duration::from_secs(7 * 24 * 3600),
            typing_per_minute: 30,
            signin_failures_per_account: 5,
            signin_failures_per_address: 30,
            signin_lock: Duration::from_secs(900),
            signin_refusal_delay: Duration::from_secs(1),
            registrations_per_address_hour: 20,
            messages_per_minute: 300,
            group_changes_per_minute: 60,
            uploads_per_minute: 20,
            trusted_proxies: Vec::new(),
            hash_concurrency: std::thread::available_parallelism()
                .map_or(1, |n| (n.get() / 2).max(1)),
            ws_init_timeout: Duration::from_secs(10),
            ws_max_subscriptions: 100,
            ws_max_message_bytes: 64 * 1024,
            ws_max_sockets_per_user: 16,
            ws_keepalive: Duration::from_secs(30),
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
        let get = with_secret_files(get)?;
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
            metrics_listen: get("MESSENGER_METRICS_LISTEN")
                .filter(|v| !v.trim().is_empty())
                .map(|v| {
                    v.trim().parse().with_context(|| {
                        format!("MESSENGER_METRICS_LISTEN has an invalid value {v:?}")
                    })
                })
                .transpose()?,
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
            max_query_bytes: positive(&get, "MESSENGER_MAX_QUERY_BYTES", d.max_query_bytes)?,
            max_fields: positive(&get, "MESSENGER_MAX_FIELDS", d.max_fields)?,
            max_batch: positive(&get, "MESSENGER_MAX_BATCH", d.max_batch)?,
            introspection: parse_bool(&get, "MESSENGER_INTROSPECTION", d.introspection)?,
            cors_origins: cors_origins(&get)?,
            max_upload_bytes: positive(&get, "MESSENGER_MAX_UPLOAD_BYTES", d.max_upload_bytes)?,
            max_attachment_bytes: positive(
                &get,
                "MESSENGER_MAX_ATTACHMENT_BYTES",
                d.max_attachment_bytes,
            )?,
            media_url_ttl: Duration::from_secs(positive(
                &get,
                "MESSENGER_MEDIA_URL_TTL_SECS",
                d.media_url_ttl.as_secs(),
            )?),
            upload_ttl: Duration::from_secs(positive(
                &get,
                "MESSENGER_UPLOAD_TTL_SECS",
                d.upload_ttl.as_secs(),
            )?),
            max_image_pixels: positive(&get, "MESSENGER_MAX_IMAGE_PIXELS", d.max_image_pixels)?,
            image_timeout: Duration::from_millis(positive(
                &get,
                "MESSENGER_IMAGE_TIMEOUT_MS",
                d.image_timeout.as_millis() as u64,
            )?),
            media_base_url: media_base_url(&get)?,
            s3: s3_config(&get)?,
            redis_url: match get("REDIS_URL").filter(|v| !v.is_empty()) {
                Some(url) if !url.starts_with("redis://") && !url.starts_with("rediss://") => {
                    bail!("REDIS_URL has an invalid value {url:?}: expected redis://host:port")
                }
                other => other,
            },
            redis_channel: get("MESSENGER_REDIS_CHANNEL")
                .filter(|v| !v.is_empty())
                .unwrap_or(d.redis_channel),
            event_buffer: positive(&get, "MESSENGER_EVENT_BUFFER", d.event_buffer)?,
            event_poll: Duration::from_millis(positive(
                &get,
                "MESSENGER_EVENT_POLL_MS",
                d.event_poll.as_millis() as u64,
            )?),
            event_retention: Duration::from_secs(positive(
                &get,
                "MESSENGER_EVENT_RETENTION_SECS",
                d.event_retention.as_secs(),
            )?),
            typing_per_minute: positive(&get, "MESSENGER_TYPING_PER_MINUTE", d.typing_per_minute)?,
            signin_failures_per_account: positive(
                &get,
                "MESSENGER_SIGNIN_FAILURES_PER_ACCOUNT",
                d.signin_failures_per_account,
            )?,
            signin_failures_per_address: positive(
                &get,
                "MESSENGER_SIGNIN_FAILURES_PER_ADDRESS",
                d.signin_failures_per_address,
            )?,
            signin_lock: Duration::from_secs(positive(
                &get,
                "MESSENGER_SIGNIN_LOCK_SECS",
                d.signin_lock.as_secs(),
            )?),
            signin_refusal_delay: Duration::from_millis(at_most(
                parse(
                    &get,
                    "MESSENGER_SIGNIN_REFUSAL_DELAY_MS",
                    d.signin_refusal_delay.as_millis() as u64,
                )?,
                10_000,
                "MESSENGER_SIGNIN_REFUSAL_DELAY_MS",
            )?),
            registrations_per_address_hour: positive(
                &get,
                "MESSENGER_REGISTRATIONS_PER_ADDRESS_PER_HOUR",
                d.registrations_per_address_hour,
            )?,
            messages_per_minute: positive(
                &get,
                "MESSENGER_MESSAGES_PER_MINUTE",
                d.messages_per_minute,
            )?,
            group_changes_per_minute: positive(
                &get,
                "MESSENGER_GROUP_CHANGES_PER_MINUTE",
                d.group_changes_per_minute,
            )?,
            uploads_per_minute: positive(
                &get,
                "MESSENGER_UPLOADS_PER_MINUTE",
                d.uploads_per_minute,
            )?,
            trusted_proxies: trusted_proxies(&get)?,
            hash_concurrency: positive(&get, "MESSENGER_HASH_CONCURRENCY", d.hash_concurrency)?,
            ws_init_timeout: Duration::from_millis(positive(
                &get,
                "MESSENGER_WS_INIT_TIMEOUT_MS",
                d.ws_init_timeout.as_millis() as u64,
            )?),
            ws_max_subscriptions: positive(
                &get,
                "MESSENGER_WS_MAX_SUBSCRIPTIONS",
                d.ws_max_subscriptions,
            )?,
            ws_max_message_bytes: positive(
                &get,
                "MESSENGER_WS_MAX_MESSAGE_BYTES",
                d.ws_max_message_bytes,
            )?,
            ws_max_sockets_per_user: positive(
                &get,
                "MESSENGER_WS_MAX_SOCKETS_PER_USER",
                d.ws_max_sockets_per_user,
            )?,
            ws_keepalive: Duration::from_secs(positive(
                &get,
                "MESSENGER_WS_KEEPALIVE_SECS",
                d.ws_keepalive.as_secs(),
            )?),
        })
    }
}

/// Secrets that may be read from a file named by `<NAME>_FILE` instead (how Docker and
/// Kubernetes hand secrets over). `MESSENGER_TOKEN_KEY_FILE` has its own rule (generated when
/// missing).
pub const SECRET_FILE_VARIABLES: [&str; 5] = [
    "DATABASE_URL",
    "REDIS_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// `get`, with each of [`SECRET_FILE_VARIABLES`] read from its `_FILE` when that is set (the
/// file's text without its final line break). Both set, or an unreadable file, is an error
/// naming the variable.
fn with_secret_files(
    get: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<impl Fn(&str) -> Option<String>> {
    let mut from_files = std::collections::HashMap::new();
    for name in SECRET_FILE_VARIABLES {
        let file_variable = format!("{name}_FILE");
        let Some(path) = get(&file_variable).filter(|v| !v.is_empty()) else {
            continue;
        };
        if get(name).is_some_and(|v| !v.is_empty()) {
            bail!("{name} and {file_variable} are both set: set one of them");
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{file_variable}: cannot read {path}"))?;
        from_files.insert(name, text.trim_end_matches(['\r', '\n']).to_owned());
    }
    Ok(move |name: &str| from_files.get(name).cloned().or_else(|| get(name)))
}

/// `MESSENGER_TRUSTED_PROXIES`: addresses or networks (`10.0.0.0/16`), comma-separated: a
/// load balancer's or an ingress controller's addresses change, its network does not.
fn trusted_proxies(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Vec<ipnet::IpNet>> {
    let raw = get("MESSENGER_TRUSTED_PROXIES").unwrap_or_default();
    raw.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| {
            a.parse::<ipnet::IpNet>()
                .or_else(|_| a.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .with_context(|| {
                    format!("MESSENGER_TRUSTED_PROXIES has an invalid address or network {a:?}")
                })
        })
        .collect()
}

/// `MESSENGER_CORS_ORIGINS`: `*`, or origins as browsers send them (`scheme://host[:port]`,
/// no path), comma-separated.
fn cors_origins(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Vec<String>> {
    const NAME: &str = "MESSENGER_CORS_ORIGINS";
    let raw = get(NAME).unwrap_or_default();
    let origins: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect();
    if origins.iter().any(|o| o == "*") {
        if origins.len() > 1 {
            bail!("{NAME} has an invalid value {raw:?}: `*` stands alone");
        }
        return Ok(origins);
    }
    for origin in &origins {
        let rest = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        let valid = rest.is_some_and(|host| {
            !host.is_empty()
                && !host.contains(['/', '?', '#', ' '])
                && axum::http::HeaderValue::from_str(origin).is_ok()
        });
        if !valid {
            bail!(
                "{NAME} has an invalid origin {origin:?}: expected scheme://host[:port], like https://app.example.com"
            );
        }
    }
    Ok(origins)
}

/// `MEDIA_BASE_URL`: an absolute http(s) URL or a path, without query or fragment.
fn media_base_url(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Option<String>> {
    let Some(raw) = get("MEDIA_BASE_URL").map(|v| v.trim().to_owned()) else {
        return Ok(None);
    };
    if raw.is_empty() {
        return Ok(None);
    }
    let absolute = raw.starts_with("https://") || raw.starts_with("http://");
    if !(absolute || raw.starts_with('/'))
        || raw.contains(['?', '#', ' ', '"', '<', '>'])
        || raw.chars().any(char::is_control)
    {
        bail!(
            "MEDIA_BASE_URL has an invalid value {raw:?}: expected an http(s) URL or a path \
             starting with /, without query or fragment"
        );
    }
    Ok(Some(raw.trim_end_matches('/').to_owned()))
}

fn s3_config(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Option<S3Config>> {
    let value = |name: &str| {
        get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let endpoint = value("MESSENGER_S3_ENDPOINT");
    let allow_http = parse_bool(get, "MESSENGER_S3_ALLOW_HTTP", false)?;
    let access_key_id = value("AWS_ACCESS_KEY_ID");
    let secret_access_key = value("AWS_SECRET_ACCESS_KEY");
    let Some(bucket) = value("MESSENGER_S3_BUCKET") else {
        if endpoint.is_some() {
            bail!("MESSENGER_S3_ENDPOINT is set but MESSENGER_S3_BUCKET is not");
        }
        return Ok(None);
    };
    if let Some(endpoint) = &endpoint {
        let plain = endpoint.starts_with("http://");
        if !(plain || endpoint.starts_with("https://")) {
            bail!(
                "MESSENGER_S3_ENDPOINT has an invalid value {endpoint:?}: expected an http(s) URL"
            );
        }
        if plain && !allow_http {
            bail!(
                "MESSENGER_S3_ENDPOINT is a plain http:// address: set \
                 MESSENGER_S3_ALLOW_HTTP=true to allow it"
            );
        }
    }
    match (&access_key_id, &secret_access_key) {
        (Some(_), None) => bail!("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"),
        (None, Some(_)) => bail!("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"),
        _ => {}
    }
    Ok(Some(S3Config {
        bucket,
        region: value("MESSENGER_S3_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
        endpoint: endpoint.map(|e| e.trim_end_matches('/').to_owned()),
        allow_http,
        access_key_id,
        secret_access_key,
        session_token: value("AWS_SESSION_TOKEN"),
    }))
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

fn at_most<T: PartialOrd + std::fmt::Display>(value: T, max: T, name: &str) -> anyhow::Result<T> {
    if value > max {
        bail!("{name} must be at most {max}");
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

impl Config {
    /// The event hub's settings.
    pub fn hub(&self) -> crate::events::HubConfig {
        crate::events::HubConfig {
            buffer: self.event_buffer,
            poll: self.event_poll,
            retention: self.event_retention,
            typing_per_minute: self.typing_per_minute,
            redis_url: self.redis_url.clone(),
            redis_channel: self.redis_channel.clone(),
            metrics: Default::default(),
        }
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
            ("REDIS_URL", "localhost:6379"),
            ("MESSENGER_EVENT_BUFFER", "0"),
            ("MESSENGER_WS_INIT_TIMEOUT_MS", "soon"),
            ("MESSENGER_SIGNIN_REFUSAL_DELAY_MS", "10001"),
            ("MESSENGER_TRUSTED_PROXIES", "10.0.0.0/33"),
            ("MESSENGER_METRICS_LISTEN", "everywhere"),
            ("MESSENGER_MAX_UPLOAD_BYTES", "0"),
            ("MESSENGER_MAX_IMAGE_PIXELS", "lots"),
            ("MESSENGER_IMAGE_TIMEOUT_MS", "0"),
            ("MEDIA_BASE_URL", "cdn.example.com"),
            ("MEDIA_BASE_URL", "https://cdn.example.com/?x=1"),
            ("MESSENGER_S3_ENDPOINT", "http://127.0.0.1:9000"),
            ("MESSENGER_MAX_FIELDS", "0"),
            ("MESSENGER_MAX_QUERY_BYTES", "0"),
            ("MESSENGER_SIGNIN_FAILURES_PER_ACCOUNT", "0"),
            ("MESSENGER_MESSAGES_PER_MINUTE", "lots"),
            ("MESSENGER_TRUSTED_PROXIES", "10.0.0.1, proxy.local"),
            ("MESSENGER_HASH_CONCURRENCY", "0"),
            ("MESSENGER_MAX_BATCH", "none"),
            ("MESSENGER_INTROSPECTION", "sometimes"),
            ("MESSENGER_CORS_ORIGINS", "app.example.com"),
            ("MESSENGER_CORS_ORIGINS", "https://app.example.com/path"),
            ("MESSENGER_CORS_ORIGINS", "*,https://app.example.com"),
        ] {
            let err = config(&[(name, value)]).expect_err(name);
            assert!(format!("{err:#}").contains(name), "{err:#} names {name}");
        }
    }

    #[test]
    fn secrets_come_from_files_when_named() {
        let dir = std::env::temp_dir().join(format!("messenger-secrets-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("dir");
        let url = dir.join("database_url");
        std::fs::write(&url, "postgres://app:s3cret@db/messenger\n").expect("write");
        let path = url.to_string_lossy().into_owned();
        let c = config(&[("DATABASE_URL_FILE", &path)]).expect("valid");
        assert_eq!(
            c.database_url.as_deref(),
            Some("postgres://app:s3cret@db/messenger")
        );
        let both = config(&[
            ("DATABASE_URL_FILE", &path),
            ("DATABASE_URL", "postgres://x"),
        ]);
        let both = both.expect_err("both set is refused");
        assert!(both.to_string().contains("DATABASE_URL_FILE"));
        let missing = config(&[("REDIS_URL_FILE", "/nonexistent/redis_url")]);
        let missing = missing.expect_err("an unreadable file is refused");
        assert!(format!("{missing:#}").contains("REDIS_URL_FILE"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn cors_origins_are_a_list_or_any() {
        let c = config(&[(
            "MESSENGER_CORS_ORIGINS",
            "https://app.example.com, http://127.0.0.1:5173",
        )])
        .expect("valid");
        assert_eq!(
            c.cors_origins,
            ["https://app.example.com", "http://127.0.0.1:5173"]
        );
        let any = config(&[("MESSENGER_CORS_ORIGINS", "*")]).expect("valid");
        assert_eq!(any.cors_origins, ["*"]);
        assert!(config(&[]).expect("valid").cors_origins.is_empty());
    }

    #[test]
    fn media_settings_are_read_and_checked() {
        let c = config(&[("MEDIA_BASE_URL", "https://cdn.example.com/m/")]).expect("valid");
        assert_eq!(
            c.media_base_url.as_deref(),
            Some("https://cdn.example.com/m")
        );
        assert_eq!(c.max_upload_bytes, 5 * 1024 * 1024);
        assert!(c.s3.is_none());

        let s3 = config(&[
            ("MESSENGER_S3_BUCKET", "pictures"),
            ("MESSENGER_S3_ENDPOINT", "http://127.0.0.1:9000/"),
            ("MESSENGER_S3_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "id"),
            ("AWS_SECRET_ACCESS_KEY", "very-secret"),
        ])
        .expect("valid")
        .s3
        .expect("S3 is configured");
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(s3.region, "us-east-1");
        assert!(!format!("{s3:?}").contains("very-secret"));

        for (vars, name) in [
            (
                &[
                    ("MESSENGER_S3_BUCKET", "b"),
                    ("MESSENGER_S3_ENDPOINT", "http://h"),
                ][..],
                "MESSENGER_S3_ALLOW_HTTP",
            ),
            (
                &[("MESSENGER_S3_BUCKET", "b"), ("AWS_ACCESS_KEY_ID", "id")][..],
                "AWS_SECRET_ACCESS_KEY",
            ),
            (
                &[
                    ("MESSENGER_S3_BUCKET", "b"),
                    ("MESSENGER_S3_ALLOW_HTTP", "maybe"),
                ][..],
                "MESSENGER_S3_ALLOW_HTTP",
            ),
        ] {
            let err = config(vars).expect_err(name);
            assert!(format!("{err:#}").contains(name), "{err:#} names {name}");
        }
    }
}
