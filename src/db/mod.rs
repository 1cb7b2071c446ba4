//! The database: connection pool, embedded migrations, creating a missing database, and the
//! private PostgreSQL started when no `DATABASE_URL` is given.

pub mod private;
#[allow(missing_docs)]
pub mod schema;
pub mod time;

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, bail};
use diesel::ConnectionError;
use diesel::connection::InstrumentationEvent;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{
    AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, SimpleAsyncConnection,
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use futures_util::FutureExt;

/// The migrations of `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// The connection pool type used everywhere.
pub type DbPool = Pool<AsyncPgConnection>;

/// A connection taken from the pool.
pub type PooledConn = Object<AsyncPgConnection>;

/// A connection a request lends to its reads while it checks the request's sign-in on it.
///
/// `&AsyncPgConnection` runs statements concurrently (pipelined): they reach PostgreSQL in one
/// write and run there one after another, with no round trip between them. So a query's first
/// read, sent on the connection its sign-in check is on, costs no wait of its own: one round
/// trip, one wake-up of a PostgreSQL backend and one checkout from the pool less per request
/// (see [`crate::graphql::gateway`]). The loan ends when the check returns; reads that ask
/// after that take a connection of their own. A borrower holds the connection for its own
/// statements only, never while it waits for the pool (a loader, say): requests that each
/// hold one connection and wait for another could empty the pool and wait for each other.
#[derive(Clone)]
pub struct Loan(Arc<Mutex<Option<Arc<PooledConn>>>>);

impl Loan {
    /// Lends `conn` until [`Loan::end`].
    pub fn new(conn: Arc<PooledConn>) -> Self {
        Self(Arc::new(Mutex::new(Some(conn))))
    }

    /// The lent connection, while the loan lasts.
    pub fn borrow(&self) -> Option<Arc<PooledConn>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Ends the loan. The connection goes back to the pool when the last borrower's statement
    /// is done.
    pub fn end(&self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
    }
}

/// A connection to read through: one a request lent ([`Loan`]), or one of the pool's.
// It lives for one resolver's statements: moving the pooled connection's bytes is cheaper
// than putting it on the heap.
#[allow(clippy::large_enum_variant)]
pub enum Reader {
    /// Borrowed from the request's sign-in check.
    Lent(Arc<PooledConn>),
    /// Taken from the pool.
    Pooled(PooledConn),
}

impl Deref for Reader {
    type Target = AsyncPgConnection;

    fn deref(&self) -> &AsyncPgConnection {
        match self {
            Self::Lent(conn) => conn,
            Self::Pooled(conn) => conn,
        }
    }
}

/// Counts the SQL statements run on a pool's connections (tests use it to prove that a
/// query's round trips do not grow with its page sizes).
#[derive(Debug, Clone, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    /// Statements started so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A statement whose SQL text is one of a few fixed ones, which diesel would otherwise prepare
/// again on every call: wrapped, its prepared form is kept in the connection's cache.
///
/// Diesel caches a statement's prepared form only when nothing in it may change its text from
/// call to call. An `UPDATE`'s changeset may skip `None` fields and `sql_query` takes any text,
/// so diesel prepares those again every time: a parse and a plan in PostgreSQL per execution,
/// which a send paid three times (the pgbench floor prepares once). Wrapping a statement here
/// promises that its text comes from a small fixed set; the cache then keys it by that text and
/// its bind types, so two different statements never share an entry. Never wrap one whose text
/// is built from values: the cache has no bound.
#[derive(Debug, Clone, Copy)]
pub struct Cached<Q>(pub Q);

impl<Q> diesel::query_builder::QueryId for Cached<Q> {
    type QueryId = ();
    // No type-based key: the text is the key, so statements of one Rust type with two texts
    // (a direction, a bound) are two entries.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> diesel::query_builder::QueryFragment<diesel::pg::Pg> for Cached<Q>
where
    Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
{
    fn walk_ast<'b>(
        &'b self,
        pass: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &diesel::pg::Pg) -> diesel::QueryResult<bool> {
        Ok(true)
    }
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for Cached<Q> {
    type SqlType = Q::SqlType;
}

/// Builds the pool. Each new connection gets an application name, a statement timeout, and
/// the same bound on how long it may sit idle inside a transaction: a server that stops in
/// the middle of a transaction (SIGSTOP, a hung task) loses it after `timeout`, so it cannot
/// hold back the event log's readers (see [`crate::models::event::readable_bound`]) for longer.
/// Connections found closed (after a PostgreSQL restart, say) are dropped on return and
/// replaced, so the pool recovers by itself.
pub fn build_pool(url: &str, size: usize, timeout: Duration) -> anyhow::Result<DbPool> {
    build_pool_counted(url, size, timeout, None)
}

/// Like [`build_pool`], counting every statement with `counter`.
pub fn build_pool_counted(
    url: &str,
    size: usize,
    timeout: Duration,
    counter: Option<StatementCounter>,
) -> anyhow::Result<DbPool> {
    let statement_timeout_ms = timeout.as_millis();
    let mut manager_config = ManagerConfig::default();
    manager_config.recycling_method = RecyclingMethod::Fast;
    manager_config.custom_setup = Box::new(move |url| {
        let counter = counter.clone();
        async move {
            let mut conn = AsyncPgConnection::establish(url).await?;
            conn.batch_execute(&format!(
                "SET application_name = 'messenger'; SET statement_timeout = {statement_timeout_ms}; \
                 SET idle_in_transaction_session_timeout = {statement_timeout_ms}"
            ))
            .await
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
            let tracing = crate::telemetry::tracing_enabled();
            if counter.is_some() || tracing {
                // One span per statement started and not yet finished. PostgreSQL answers a
                // connection's statements in the order they were sent, pipelined ones too, so
                // the oldest open span is the one that ends (its end may be seen a little late
                // when another task's statement was answered first).
                let mut statements: std::collections::VecDeque<tracing::Span> =
                    std::collections::VecDeque::new();
                conn.set_instrumentation(move |event: InstrumentationEvent<'_>| match event {
                    InstrumentationEvent::StartQuery { query, .. } => {
                        if let Some(StatementCounter(count)) = &counter {
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                        // Only statements of an operation get a span: the event pump's
                        // polling (or a health check under a logging-only span) would flood
                        // the traces with roots of their own.
                        let in_operation = || {
                            tracing::Span::current()
                                .metadata()
                                .is_some_and(|m| m.name() == "graphql.operation")
                        };
                        statements.push_back(if tracing && in_operation() {
                            statement_span(&query.to_string())
                        } else {
                            tracing::Span::none()
                        });
                    }
                    // Dropping the span ends it: its length is the statement's.
                    InstrumentationEvent::FinishQuery { .. } => drop(statements.pop_front()),
                    _ => {}
                });
            }
            Ok(conn)
        }
        .boxed()
    });
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, manager_config);
    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .context("building the database pool")
}

/// A span for one SQL statement, a child of the operation that runs it. Only the statement's
/// text: diesel's rendering appends the bound values (message bodies, password hashes), which
/// never leave the server.
fn statement_span(rendered: &str) -> tracing::Span {
    let text = rendered
        .split(" -- binds:")
        .next()
        .unwrap_or_default()
        .trim();
    let first_word = text
        .split_whitespace()
        .next()
        .unwrap_or("SQL")
        .to_ascii_uppercase();
    tracing::info_span!(
        "db.statement",
        otel.name = %first_word,
        otel.kind = "client",
        db.system = "postgresql",
        db.statement = %text,
    )
}

/// Runs pending migrations on the database at `url`. Needs the multi-thread tokio runtime.
pub async fn run_migrations(url: &str) -> anyhow::Result<()> {
    let conn = AsyncPgConnection::establish(url)
        .await
        .context("connecting to run migrations")?;
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut harness = AsyncMigrationHarness::new(conn);
        let applied = harness
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("running migrations: {e}"))?;
        for version in applied {
            tracing::info!(%version, "applied migration");
        }
        drop(url);
        Ok(())
    })
    .await
    .context("migration task")?
}

/// Reverts every migration, newest first (used by `messenger migrate --revert-all` and tests).
pub async fn revert_all_migrations(url: &str) -> anyhow::Result<()> {
    let conn = AsyncPgConnection::establish(url)
        .await
        .context("connecting to revert migrations")?;
    tokio::task::spawn_blocking(move || {
        let mut harness = AsyncMigrationHarness::new(conn);
        harness
            .revert_all_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("reverting migrations: {e}"))?;
        Ok(())
    })
    .await
    .context("migration task")?
}

/// Connects to `url`; if its database does not exist, creates it through the server's
/// `postgres` database (when the role may), then connects again.
pub async fn ensure_database(url: &str) -> anyhow::Result<()> {
    match AsyncPgConnection::establish(url).await {
        Ok(_) => return Ok(()),
        // SQLSTATE 3D000 (invalid_catalog_name) reaches us only as text.
        Err(e) if format!("{e:?}").contains("does not exist") => {
            tracing::info!("database missing: creating it");
        }
        Err(e) => return Err(e).context("connecting to DATABASE_URL"),
    }
    let (admin_url, name) = split_database(url)?;
    let mut admin = AsyncPgConnection::establish(&admin_url)
        .await
        .context("connecting to the server's postgres database to create the database")?;
    let sql = format!("CREATE DATABASE {}", quote_ident(&name));
    if let Err(e) = admin.batch_execute(&sql).await {
        // Another process may have created it in the meantime.
        if !e.to_string().contains("already exists") {
            return Err(e).context(format!("creating database {name}"));
        }
    }
    AsyncPgConnection::establish(url)
        .await
        .context("connecting to the newly created database")?;
    Ok(())
}

/// Splits a URL into the same URL pointing at database `postgres`, and the database name.
pub fn split_database(url: &str) -> anyhow::Result<(String, String)> {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let Some(slash) = head
        .rfind('/')
        .filter(|&i| i > head.find("//").map_or(0, |j| j + 1))
    else {
        bail!("DATABASE_URL names no database");
    };
    let name = head[slash + 1..].to_owned();
    if name.is_empty() {
        bail!("DATABASE_URL names no database");
    }
    let mut admin = format!("{}/postgres", &head[..slash]);
    if let Some(q) = query {
        admin.push('?');
        admin.push_str(q);
    }
    Ok((admin, name))
}

/// Quotes an SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Fails unless the row's first columns are named as in `columns`, the `SELECT` list of a raw
/// statement (`m.id, m.body`: each name after its table's alias), in that order; `what` names
/// the row in the error. For the rows read by position (debug builds only: the tests).
#[cfg(debug_assertions)]
pub fn check_column_names<'a>(
    row: &impl diesel::row::Row<'a, diesel::pg::Pg>,
    columns: &str,
    what: &str,
) -> diesel::deserialize::Result<()> {
    use diesel::row::{Field, Row};
    for (i, column) in columns.split(',').enumerate() {
        let name = column.trim().rsplit('.').next().unwrap_or_default();
        let found = Row::get(row, i).and_then(|f| f.field_name().map(str::to_owned));
        if found.as_deref() != Some(name) {
            return Err(format!("column {i} of a {what} row is {found:?}, not {name}").into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_database_keeps_host_and_options() {
        let (admin, name) =
            split_database("postgres://root@127.0.0.1:5432/chat?sslmode=disable").expect("valid");
        assert_eq!(
            admin,
            "postgres://root@127.0.0.1:5432/postgres?sslmode=disable"
        );
        assert_eq!(name, "chat");
        assert!(split_database("postgres://root@127.0.0.1:5432").is_err());
    }
}
