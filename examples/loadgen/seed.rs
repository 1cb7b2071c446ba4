//! `loadgen seed`: fills a fresh database with the benchmark data set in a handful of bulk
//! SQL statements run inside PostgreSQL (`generate_series`, `INSERT … SELECT`), with a
//! progress bar per phase on stderr.
//!
//! The messages table is loaded without its indexes and foreign keys (its own and those of
//! other tables that point at it, such as `events.message_id`), which are rebuilt afterwards
//! from their own definitions (read from the catalog, so they match the migrations exactly);
//! that is several times faster than maintaining them row by row.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Double, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use tokio::sync::Mutex;

use crate::dataset::{Dataset, RANK_MULTIPLIER, ZIPF_EXPONENT};
use crate::progress::Progress;

/// The password every seeded user has.
pub const PASSWORD: &str = "loadgen-password";

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// The database to (re)create. Its name must contain `bench`.
    pub database_url: String,
    /// Number of users.
    pub users: i64,
    /// Number of sessions.
    pub sessions: i64,
    /// Share of groups among sessions, in percent.
    pub group_percent: i64,
    /// Number of messages.
    pub messages: i64,
}

/// Words that seeded message bodies are made of (search has something to find).
const WORDS: &[&str] = &[
    "hello", "lunch", "meeting", "tomorrow", "deploy", "review", "coffee", "ticket", "release",
    "weekend", "project", "budget", "design", "server", "database", "latency", "invoice",
    "holiday", "train", "airport", "photo", "birthday", "dinner", "football", "weather", "rain",
    "sunny", "report", "draft", "slides", "call", "later", "thanks", "sure", "maybe", "tonight",
    "monday", "friday", "office", "remote", "bug", "fix", "merge", "branch", "test", "green",
    "red", "blue", "music", "movie", "book", "garden", "city", "river", "mountain", "pizza",
    "pasta", "salad", "tea", "cake", "plan", "idea", "question", "answer",
];

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Runs the seeding; prints the total time.
pub async fn seed(opts: SeedOptions) -> anyhow::Result<()> {
    let started = Instant::now();
    let (admin_url, name) = messenger::db::split_database(&opts.database_url)?;
    if !name.contains("bench") {
        bail!("refusing to seed database {name:?}: its name must contain \"bench\"");
    }
    let groups = opts.sessions * opts.group_percent / 100;
    if opts.users < 100 || opts.sessions - groups > 2 * opts.users || groups < 1 {
        bail!("need at least 100 users, at most two direct sessions per user, and a group");
    }
    // Group `s` takes members 131·s + j·step (mod users), step = 1 + s % 89, for j below its
    // size (at most 50): they are distinct only if users / gcd(step, users) ≥ 50.
    if let Some(step) = (1..=89).find(|&step| opts.users / gcd(step, opts.users) < 50) {
        bail!(
            "--users {}: group members would repeat (it shares the factor {} with the member \
             step {step}); pick a count with no such factor, a prime for instance",
            opts.users,
            gcd(step, opts.users)
        );
    }

    let mut bar = Progress::new("database", 3);
    {
        let mut admin = AsyncPgConnection::establish(&admin_url)
            .await
            .context("connecting to the postgres database")?;
        admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                messenger::db::quote_ident(&name)
            ))
            .await
            .context("dropping the old benchmark database")?;
    }
    bar.set(1);
    messenger::db::ensure_database(&opts.database_url).await?;
    bar.set(2);
    messenger::db::run_migrations(&opts.database_url).await?;
    bar.finish();

    let hash = messenger::auth::password::hash(PASSWORD.to_owned())
        .await
        .map_err(|e| anyhow::anyhow!("hashing the seed password: {e:?}"))?;

    let mut conn = connect(&opts.database_url).await?;
    let mut bar = Progress::new("users", 3);
    conn.batch_execute(&setup_sql(&opts, groups)).await?;
    bar.set(1);
    conn.batch_execute(&format!(
        "INSERT INTO users (id, username, display_name, location, role, password_hash, \
                            created_at, updated_at) \
         SELECT bench_uuid(1, n), 'user' || lpad(n::text, greatest(5, length(n::text)), '0'), \
                'User ' || n, CASE WHEN n % 3 = 0 THEN 'City ' || n % 50 END, 'user', {hash}, \
                now() - interval '400 days' + n * interval '1 second', \
                now() - interval '400 days' + n * interval '1 second' \
           FROM generate_series(1, {users}) n; \
         INSERT INTO token_families (id, user_id) \
         SELECT bench_uuid(3, n), bench_uuid(1, n) FROM generate_series(1, {users}) n;",
        hash = quote_literal(&hash),
        users = opts.users,
    ))
    .await
    .context("inserting users")?;
    bar.finish();

    let mut bar = Progress::new("sessions", 2);
    conn.batch_execute(&sessions_sql(&opts, groups))
        .await
        .context("inserting sessions")?;
    bar.set(1);
    conn.batch_execute(&members_sql(groups))
        .await
        .context("inserting members")?;
    bar.finish();

    load_messages(&opts, &mut conn).await?;

    let mut bar = Progress::new("analyze", 1);
    conn.batch_execute("VACUUM ANALYZE").await?;
    bar.finish();

    let meta = read_meta(&mut conn).await?;
    let elapsed = started.elapsed();
    check(&mut conn, &meta).await?;
    eprintln!(
        "seeded {} users, {} sessions ({} groups), {} messages in {:.1} s \
         (busiest session: {} messages; {} sessions hold more than 50)",
        meta.users,
        meta.sessions,
        meta.groups,
        meta.messages,
        elapsed.as_secs_f64(),
        meta.approx_count(1),
        meta.busy,
    );
    println!(
        "{{\"seed_seconds\": {:.1}, \"users\": {}, \"sessions\": {}, \"messages\": {}}}",
        elapsed.as_secs_f64(),
        meta.users,
        meta.sessions,
        meta.messages
    );
    Ok(())
}

async fn connect(url: &str) -> anyhow::Result<AsyncPgConnection> {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    conn.batch_execute(
        "SET synchronous_commit = off; SET maintenance_work_mem = '512MB'; \
         SET application_name = 'loadgen seed'",
    )
    .await?;
    Ok(conn)
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Helper functions, the meta table and the plan: per session its rank, message count,
/// time span, creator and (direct) pair.
fn setup_sql(opts: &SeedOptions, groups: i64) -> String {
    let SeedOptions {
        users,
        sessions,
        messages,
        ..
    } = *opts;
    format!(
        r#"
CREATE FUNCTION bench_uuid(kind int, n bigint) RETURNS uuid
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT (lpad(to_hex(kind), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid $$;
-- A version 7 uuid at a given time, like the server's Uuid::now_v7().
CREATE FUNCTION bench_uuid7(ts timestamptz) RETURNS uuid
  LANGUAGE sql VOLATILE PARALLEL SAFE
  AS $$ SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
          PLACING substring(int8send(floor(extract(epoch FROM ts) * 1000)::bigint) FROM 3)
          FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid $$;
CREATE TABLE bench_plan AS
  WITH r AS (SELECT s, 1 + ((s - 1) * {RANK_MULTIPLIER}::bigint) % {sessions} AS k
               FROM generate_series(1, {sessions}) s),
       w AS (SELECT s, k, power(k, -{ZIPF_EXPONENT}) AS w FROM r),
       t AS (SELECT sum(w) AS total FROM w)
  SELECT s, k, floor({messages} * w / total)::bigint AS count,
         {messages} / total AS c0
    FROM w, t;
UPDATE bench_plan SET count = count + ({messages} - (SELECT sum(count) FROM bench_plan))
 WHERE k = 1;
ALTER TABLE bench_plan ADD PRIMARY KEY (s),
  ADD COLUMN t0 timestamptz, ADD COLUMN tend timestamptz, ADD COLUMN ua bigint,
  ADD COLUMN ub bigint, ADD COLUMN size bigint;
UPDATE bench_plan SET
  t0 = now() - interval '365 days' + ((s * 104729) % 30000000) * interval '1 second',
  tend = now() - interval '1 minute',
  size = CASE WHEN s <= {groups} THEN 5 + (s * 7) % 46 ELSE 2 END,
  ua = CASE WHEN s <= {groups} THEN 1 + (s * 131) % {users}
            ELSE 1 + (s - {groups} - 1) % {users} END,
  ub = CASE WHEN s <= {groups} THEN NULL
            ELSE 1 + ((s - {groups} - 1) % {users}
                      + 1 + (((s - {groups} - 1) % {users}) * 7919
                             + ((s - {groups} - 1) / {users}) * 2477) % ({users} / 2 - 1))
                     % {users} END;
CREATE TABLE bench_meta AS
  SELECT {users}::bigint AS users, {sessions}::bigint AS sessions, {groups}::bigint AS groups,
         {messages}::bigint AS messages,
         (SELECT round(max(c0))::bigint FROM bench_plan) AS c0,
         (SELECT count(*) FROM bench_plan WHERE count > 50) AS busy;
"#
    )
}

fn sessions_sql(opts: &SeedOptions, groups: i64) -> String {
    let _ = opts;
    format!(
        r#"
INSERT INTO sessions (id, kind, title, created_by, direct_user_low, direct_user_high,
                      created_at, last_message_at, last_activity_at, last_message_seq, event_seq)
SELECT bench_uuid(2, s),
       CASE WHEN s <= {groups} THEN 'group' ELSE 'direct' END,
       CASE WHEN s <= {groups} THEN 'Group ' || s END,
       bench_uuid(1, ua),
       CASE WHEN s > {groups} THEN bench_uuid(1, least(ua, ub)) END,
       CASE WHEN s > {groups} THEN bench_uuid(1, greatest(ua, ub)) END,
       t0, last_at, coalesce(last_at, t0), count, count
  FROM bench_plan,
       LATERAL (SELECT CASE WHEN count > 0
                       THEN t0 + (tend - t0) * (count::float8 / (count + 1)) END AS last_at) l;
"#
    )
}

fn members_sql(groups: i64) -> String {
    format!(
        r#"
INSERT INTO session_members (session_id, user_id, role, joined_at, last_read_seq)
SELECT bench_uuid(2, p.s), bench_uuid(1, 1 + (p.s * 131 + j * (1 + p.s % 89)) % m.users),
       CASE j WHEN 0 THEN 'owner' WHEN 1 THEN 'admin' ELSE 'member' END,
       p.t0 + j * interval '1 second',
       greatest(0, p.count - (p.s * 31 + j * 17) % 8)
  FROM bench_plan p CROSS JOIN bench_meta m CROSS JOIN LATERAL generate_series(0, p.size - 1) j
 WHERE p.s <= {groups}
UNION ALL
SELECT bench_uuid(2, p.s), bench_uuid(1, x.u), 'member', p.t0,
       greatest(0, p.count - (p.s * 31 + x.j * 17) % 8)
  FROM bench_plan p CROSS JOIN LATERAL (VALUES (0, p.ua), (1, p.ub)) x(j, u)
 WHERE p.s > {groups};
"#
    )
}

/// The messages of sessions `lo..=hi`: sequence numbers 1..n without gaps, times spread
/// evenly from the session's creation to a minute ago, senders among the members.
fn messages_sql(groups: i64, lo: i64, hi: i64) -> String {
    let words = format!(
        "'{{{}}}'::text[]",
        WORDS
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let nw = WORDS.len();
    format!(
        r#"
INSERT INTO messages (id, session_id, sender_id, seq, body, client_message_id, created_at,
                      edited_at, deleted_at)
SELECT bench_uuid7(x.ts), bench_uuid(2, p.s), bench_uuid(1, x.sender), q,
       CASE WHEN x.deleted THEN '' ELSE
         'msg ' || q || ' ' || w[1 + (q * 7 + p.s) % {nw}] || ' ' || w[1 + (q * 13 + p.s * 3) % {nw}]
         || ' ' || w[1 + (q * 29 + p.s * 5) % {nw}]
         || CASE WHEN q % 3 = 0 THEN ' ' || w[1 + (q * 31 + p.s) % {nw}] || ' and '
                 || w[1 + (q * 37 + p.s * 11) % {nw}] ELSE '' END
       END,
       'seed-' || p.s || '-' || q, x.ts,
       CASE WHEN (q * 17 + p.s) % 100 = 0 THEN x.ts + interval '30 seconds' END,
       CASE WHEN x.deleted THEN x.ts + interval '1 minute' END
  FROM bench_plan p CROSS JOIN bench_meta m CROSS JOIN (SELECT {words} AS w) ws
       CROSS JOIN LATERAL generate_series(1, p.count) q
       CROSS JOIN LATERAL (
         SELECT p.t0 + (p.tend - p.t0) * (q::float8 / (p.count + 1)) AS ts,
                (q * 31 + p.s) % 200 = 0 AS deleted,
                CASE WHEN p.s <= {groups}
                     THEN 1 + (p.s * 131 + ((q * 40503 + p.s) % p.size) * (1 + p.s % 89)) % m.users
                     WHEN (q / (1 + p.s % 3)) % 2 = 0 THEN p.ua ELSE p.ub END AS sender) x
 WHERE p.s BETWEEN {lo} AND {hi};
"#
    )
}

#[derive(QueryableByName)]
struct PlanRow {
    #[diesel(sql_type = BigInt)]
    s: i64,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[derive(QueryableByName)]
struct Definition {
    /// The table the constraint or index belongs to (quoted as needed).
    #[diesel(sql_type = Text)]
    table: String,
    /// Its name (quoted as needed).
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    def: String,
    #[diesel(sql_type = Text)]
    kind: String,
}

impl Definition {
    /// The statement that recreates it.
    fn create(&self) -> String {
        match self.kind.as_str() {
            "i" => self.def.clone(),
            _ => format!(
                "ALTER TABLE {} ADD CONSTRAINT {} {}",
                self.table, self.name, self.def
            ),
        }
    }
}

/// Loads the messages in chunks of about 50,000 on two connections, with the table's
/// indexes and foreign keys dropped, and the foreign keys of other tables that reference it
/// (its primary key cannot be dropped while they exist), then rebuilds them (two at a time)
/// and restores and validates the foreign keys.
async fn load_messages(opts: &SeedOptions, conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    let groups = opts.sessions * opts.group_percent / 100;
    // Constraints first (foreign keys, of messages or pointing at it, before the keys they
    // need), then plain indexes.
    let defs: Vec<Definition> = diesel::sql_query(
        "SELECT conrelid::regclass::text AS table, quote_ident(conname) AS name, \
                pg_get_constraintdef(oid) AS def, contype::text AS kind \
           FROM pg_constraint \
          WHERE (conrelid = 'messages'::regclass AND contype IN ('p','u','f')) \
             OR (confrelid = 'messages'::regclass AND contype = 'f') \
         UNION ALL \
         SELECT 'messages', quote_ident(i.relname), pg_get_indexdef(i.oid), 'i' \
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
          WHERE x.indrelid = 'messages'::regclass \
            AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)",
    )
    .load(conn)
    .await
    .context("reading the messages indexes")?;
    let mut drop = String::new();
    for d in defs.iter().filter(|d| d.kind == "f") {
        drop += &format!("ALTER TABLE {} DROP CONSTRAINT {};", d.table, d.name);
    }
    for d in defs.iter().filter(|d| d.kind == "p" || d.kind == "u") {
        drop += &format!("ALTER TABLE {} DROP CONSTRAINT {};", d.table, d.name);
    }
    for d in defs.iter().filter(|d| d.kind == "i") {
        drop += &format!("DROP INDEX {};", d.name);
    }
    conn.batch_execute(&drop).await?;

    let plan: Vec<PlanRow> =
        diesel::sql_query("SELECT s::bigint AS s, count FROM bench_plan ORDER BY s")
            .load(conn)
            .await?;
    let mut chunks = Vec::new();
    let (mut lo, mut acc) = (1i64, 0i64);
    for row in &plan {
        acc += row.count;
        if acc >= 50_000 {
            chunks.push((lo, row.s, acc));
            lo = row.s + 1;
            acc = 0;
        }
    }
    if let Some(last) = plan.last()
        && lo <= last.s
    {
        chunks.push((lo, last.s, acc));
    }
    let total: i64 = plan.iter().map(|r| r.count).sum();
    let bar = Arc::new(Mutex::new(Progress::new("messages", total as u64)));
    let next = Arc::new(AtomicUsize::new(0));
    let chunks = Arc::new(chunks);
    let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..2 {
        let (next, chunks, bar, done) = (next.clone(), chunks.clone(), bar.clone(), done.clone());
        let url = opts.database_url.clone();
        workers.push(tokio::spawn(async move {
            let mut conn = connect(&url).await?;
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(&(lo, hi, n)) = chunks.get(i) else {
                    break;
                };
                conn.batch_execute(&messages_sql(groups, lo, hi))
                    .await
                    .with_context(|| format!("inserting messages of sessions {lo}..={hi}"))?;
                let d = done.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
                bar.lock().await.set(d);
            }
            anyhow::Ok(())
        }));
    }
    for w in workers {
        w.await.context("a message loader panicked")??;
    }
    bar.lock().await.finish();

    // Rebuild: keys and indexes two at a time (the GIN index is the slow one), then the
    // foreign keys, which need the primary key.
    let builds: Vec<String> = defs
        .iter()
        .filter(|d| d.kind != "f")
        .map(Definition::create)
        .collect();
    let fks: Vec<String> = defs
        .iter()
        .filter(|d| d.kind == "f")
        .map(Definition::create)
        .collect();
    let bar = Arc::new(Mutex::new(Progress::new(
        "indexes",
        (builds.len() + fks.len()) as u64,
    )));
    let queue = Arc::new(Mutex::new(
        // Slowest first, so the two builders finish together.
        {
            let mut b = builds;
            b.sort_by_key(|sql| !sql.contains("gin"));
            b.into_iter().collect::<std::collections::VecDeque<_>>()
        },
    ));
    let mut workers = Vec::new();
    for _ in 0..2 {
        let (queue, bar) = (queue.clone(), bar.clone());
        let url = opts.database_url.clone();
        workers.push(tokio::spawn(async move {
            let mut conn = connect(&url).await?;
            loop {
                let Some(sql) = queue.lock().await.pop_front() else {
                    break;
                };
                conn.batch_execute(&sql)
                    .await
                    .with_context(|| format!("running {sql}"))?;
                bar.lock().await.step();
            }
            anyhow::Ok(())
        }));
    }
    for w in workers {
        w.await.context("an index builder panicked")??;
    }
    for fk in fks {
        conn.batch_execute(&fk)
            .await
            .with_context(|| format!("running {fk}"))?;
        bar.lock().await.step();
    }
    bar.lock().await.finish();
    Ok(())
}

#[derive(QueryableByName)]
struct MetaRow {
    #[diesel(sql_type = BigInt)]
    users: i64,
    #[diesel(sql_type = BigInt)]
    sessions: i64,
    #[diesel(sql_type = BigInt)]
    groups: i64,
    #[diesel(sql_type = BigInt)]
    messages: i64,
    #[diesel(sql_type = BigInt)]
    c0: i64,
    #[diesel(sql_type = BigInt)]
    busy: i64,
}

/// Reads the sizes of a seeded database.
pub async fn read_meta(conn: &mut AsyncPgConnection) -> anyhow::Result<Dataset> {
    let row: MetaRow = diesel::sql_query("SELECT * FROM bench_meta")
        .get_result(conn)
        .await
        .context("reading bench_meta: seed the database first (loadgen seed)")?;
    Ok(Dataset {
        users: row.users,
        sessions: row.sessions,
        groups: row.groups,
        messages: row.messages,
        c0: row.c0,
        busy: row.busy,
    })
}

/// Checks the seeded data against the formulas of [`Dataset`] on a few samples, and the
/// invariants the schema does not enforce (sequence numbers without gaps).
pub async fn check(conn: &mut AsyncPgConnection, d: &Dataset) -> anyhow::Result<()> {
    #[derive(QueryableByName)]
    struct Bad {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    #[derive(QueryableByName)]
    struct Avg {
        #[diesel(sql_type = Double)]
        v: f64,
    }
    for s in [1, d.groups, d.groups + 1, d.sessions] {
        for pick in 0..3 {
            let u = d.member(s, pick);
            let found: Bad = diesel::sql_query(format!(
                "SELECT count(*) AS n FROM session_members \
                  WHERE session_id = bench_uuid(2, {s}) AND user_id = bench_uuid(1, {u})"
            ))
            .get_result(conn)
            .await?;
            if found.n != 1 {
                bail!("member formula disagrees with the data: session {s}, user {u}");
            }
        }
    }
    let gaps: Bad = diesel::sql_query(
        "SELECT count(*) AS n FROM sessions s \
          WHERE s.last_message_seq <> (SELECT count(*) FROM messages m WHERE m.session_id = s.id)",
    )
    .get_result(conn)
    .await?;
    if gaps.n != 0 {
        bail!("{} sessions have gaps in their sequence numbers", gaps.n);
    }
    let avg: Avg = diesel::sql_query(
        "SELECT avg(n)::float8 AS v FROM (SELECT count(*) AS n FROM session_members GROUP BY user_id) c",
    )
    .get_result(conn)
    .await?;
    eprintln!(
        "check: formulas match; no gaps; {:.1} sessions per user",
        avg.v
    );
    Ok(())
}
