//! The `events` table: the ordered log live subscriptions replay from.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use diesel::prelude::{Insertable, Queryable, QueryableByName, Selectable, SelectableHelper};
use diesel::sql_types::{Array, BigInt, Uuid as SqlUuid};
use diesel::{BoolExpressionMethods, ExpressionMethods, OptionalExtension, QueryDsl};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::Cached;
use crate::db::schema::{event_retention, events};

/// A position in the event log: events are ordered by their transaction id, then their id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Position {
    /// The writing transaction's id.
    pub xid: i64,
    /// Insertion order within the log.
    pub id: i64,
}

impl PartialOrd for Position {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Position {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.xid, self.id).cmp(&(other.xid, other.id))
    }
}

/// A row of `events`.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = events, check_for_backend(diesel::pg::Pg))]
pub struct EventRow {
    /// Insertion order.
    pub id: i64,
    /// The writing transaction's id.
    pub xid: i64,
    /// The conversation.
    pub session_id: Uuid,
    /// What happened (an [`crate::events::EventKind`] spelling).
    pub kind: String,
    /// Who did it.
    pub actor_id: Option<Uuid>,
    /// Whom it concerns.
    pub subject_id: Option<Uuid>,
    /// The message concerned.
    pub message_id: Option<Uuid>,
    /// Small extra data.
    pub detail: Option<serde_json::Value>,
    /// When it happened.
    pub created_at: DateTime<Utc>,
}

impl EventRow {
    /// Its place in the log.
    pub fn position(&self) -> Position {
        Position {
            xid: self.xid,
            id: self.id,
        }
    }
}

/// A new event, written in the same transaction as the change it reports. `None` inserts
/// NULL, so the statement's text does not vary.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = events, treat_none_as_default_value = false)]
pub struct NewEvent {
    /// The conversation.
    pub session_id: Uuid,
    /// What happened.
    pub kind: &'static str,
    /// Who did it.
    pub actor_id: Option<Uuid>,
    /// Whom it concerns.
    pub subject_id: Option<Uuid>,
    /// The message concerned.
    pub message_id: Option<Uuid>,
    /// Small extra data.
    pub detail: Option<serde_json::Value>,
}

/// Appends events to the log.
pub async fn insert(conn: &mut AsyncPgConnection, new: &[NewEvent]) -> diesel::QueryResult<()> {
    match new {
        [] => Ok(()),
        // One row (every send) as its own statement, whose prepared form is cached; a batch's
        // text varies with its length.
        [one] => diesel::insert_into(events::table)
            .values(one)
            .execute(conn)
            .await
            .map(drop),
        many => diesel::insert_into(events::table)
            .values(many)
            .execute(conn)
            .await
            .map(drop),
    }
}

/// Which transactions had committed when a snapshot was taken (PostgreSQL's
/// `pg_current_snapshot()`): a fresh subscription skips events its snapshot already saw.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    xmin: i64,
    xmax: i64,
    running: Vec<i64>,
}

impl Snapshot {
    /// Whether transaction `xid` had committed (or aborted) when the snapshot was taken.
    pub fn saw(&self, xid: i64) -> bool {
        xid < self.xmin || (xid < self.xmax && !self.running.contains(&xid))
    }

    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(':');
        let xmin = parts.next()?.parse().ok()?;
        let xmax = parts.next()?.parse().ok()?;
        let running = parts
            .next()
            .unwrap_or("")
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        Some(Self {
            xmin,
            xmax,
            running,
        })
    }
}

/// The current snapshot: which transactions have committed as of now.
pub async fn current_snapshot(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Snapshot> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        snapshot: String,
    }
    let row: Row = Cached(diesel::sql_query(
        "SELECT pg_current_snapshot()::text AS snapshot",
    ))
    .get_result(conn)
    .await?;
    Snapshot::parse(&row.snapshot).ok_or_else(|| {
        diesel::result::Error::DeserializationError(
            format!("unexpected snapshot {:?}", row.snapshot).into(),
        )
    })
}

/// The advisory lock that every transaction writing events takes, shared, as its first
/// statement (`pg_advisory_xact_lock_shared(key1, key2)`): it marks the writers of the log, so
/// readers wait for those transactions and for no others.
pub const WRITER_LOCK: (i32, i32) = (0x6d73_6772, 1); // "msgr", the event log

/// The SQL call that takes the writers' lock, shared, for the current transaction: for
/// [`lock_as_writer`], and for a statement that is its own transaction and takes the lock
/// itself before it writes (a send: `message::send`).
pub(crate) fn writer_lock_sql() -> String {
    let (key1, key2) = WRITER_LOCK;
    format!("pg_advisory_xact_lock_shared({key1}, {key2})")
}

/// Marks the current transaction as a writer of the log. It must be the transaction's first
/// statement, before it has a transaction id: [`readable_bound`] relies on every writer that
/// has an id being visible as a lock holder.
pub async fn lock_as_writer(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    Cached(diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
        &format!("{} IS NULL", writer_lock_sql()),
    )))
    .get_result::<bool>(conn)
    .await
    .map(drop)
}

/// The position below which the log can no longer change: every event with a smaller
/// transaction id has committed (or never will).
///
/// It is the smallest transaction id among the writers now running (the holders of the
/// writers' lock, read from `pg_locks`; `pg_locks` shows 32-bit ids, widened here against the
/// snapshot), or, with none, the next id to be assigned. A writer that takes the lock later
/// gets a larger id, since it takes the lock before its id. Transactions that write no events
/// (in this database or any other of the cluster) do not hold it back, unlike
/// `pg_snapshot_xmin`. Events must be read in a later statement than this one, so that the
/// writers that finished meanwhile are visible.
pub async fn readable_bound(mut conn: &AsyncPgConnection) -> diesel::QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        bound: i64,
    }
    let (key1, key2) = WRITER_LOCK;
    let row: Row = Cached(diesel::sql_query(format!(
        "WITH snap AS (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax), \
              locks AS MATERIALIZED ( \
                SELECT locktype, database, classid, objid, objsubid, virtualtransaction, \
                       transactionid, mode, granted FROM pg_locks), \
              writers AS ( \
                SELECT (snap.xmax % 4294967296 - t.transactionid::text::bigint + 4294967296) \
                       % 4294967296 AS behind \
                  FROM locks a JOIN locks t ON t.virtualtransaction = a.virtualtransaction, snap \
                 WHERE a.locktype = 'advisory' AND a.classid = {key1} AND a.objid = {key2} \
                   AND a.objsubid = 2 \
                   AND a.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                   AND t.locktype = 'transactionid' AND t.mode = 'ExclusiveLock' AND t.granted) \
         SELECT snap.xmax - coalesce((SELECT max(behind) FROM writers \
                                       WHERE behind <= 2147483648), 0) AS bound \
           FROM snap"
    )))
    .get_result(&mut conn)
    .await?;
    Ok(row.bound)
}

/// The newest readable position of the log (where a fresh reader starts).
pub async fn stable_head(conn: &AsyncPgConnection) -> diesel::QueryResult<Position> {
    let bound = readable_bound(conn).await?;
    newest(conn, Some(bound)).await
}

/// The newest committed position, readable or not (what a pump must reach to have read
/// everything committed so far).
pub async fn committed_head(conn: &AsyncPgConnection) -> diesel::QueryResult<Position> {
    newest(conn, None).await
}

/// The newest position of the log, below the transaction id `below` if given.
async fn newest(mut conn: &AsyncPgConnection, below: Option<i64>) -> diesel::QueryResult<Position> {
    let mut query = events::table
        .order((events::xid.desc(), events::id.desc()))
        .select((events::xid, events::id))
        .into_boxed();
    if let Some(bound) = below {
        query = query.filter(events::xid.lt(bound));
    }
    let head = query.first::<(i64, i64)>(&mut conn).await.optional()?;
    Ok(head
        .map(|(xid, id)| Position { xid, id })
        .unwrap_or_default())
}

/// Readable events after `after`, in order, at most `limit`.
///
/// First below the cluster's oldest running transaction (`pg_snapshot_xmin`, read in the same
/// statement, which costs nothing more): also a safe bound, only a stricter one, and under a
/// steady flow of sends it lets the pump through most of the time. Only when that finds
/// nothing does it ask for the precise bound ([`readable_bound`], a read of `pg_locks` that
/// contends with every transaction taking locks): then a foreign transaction may be what holds
/// the cheap bound back.
pub async fn stable_after(
    conn: &mut AsyncPgConnection,
    after: Position,
    limit: i64,
) -> diesel::QueryResult<Vec<EventRow>> {
    let below_xmin =
        diesel::dsl::sql::<BigInt>("pg_snapshot_xmin(pg_current_snapshot())::text::bigint");
    let cheap = Cached(after_position(after, limit).filter(events::xid.lt(below_xmin)))
        .load(conn)
        .await?;
    if !cheap.is_empty() {
        return Ok(cheap);
    }
    let bound = readable_bound(conn).await?;
    Cached(after_position(after, limit).filter(events::xid.lt(bound)))
        .load(conn)
        .await
}

/// Events after `after`, in order, at most `limit`: the query the bounds are added to.
fn after_position(
    after: Position,
    limit: i64,
) -> events::BoxedQuery<
    'static,
    diesel::pg::Pg,
    diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<EventRow, diesel::pg::Pg>>,
> {
    events::table
        .filter(events::xid.ge(after.xid))
        .filter(events::xid.gt(after.xid).or(events::id.gt(after.id)))
        .order((events::xid, events::id))
        .limit(limit)
        .select(EventRow::as_select())
        .into_boxed()
}

/// A user's memberships around a position of the log.
#[derive(Debug, Default)]
pub struct MembershipHistory {
    /// The sessions the user belonged to at the position.
    pub at: Vec<Uuid>,
    /// The sessions whose membership of the user changed after it.
    pub changed: Vec<Uuid>,
}

/// What `user_id` belonged to at `at`, read in one snapshot from the membership events after
/// it and the members table: the first such event of a session says whether the user was a
/// member before it (removed or left: yes; added or created with: no), and a session with none
/// since is as the members table says now.
pub async fn memberships_since(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    at: Position,
) -> diesel::QueryResult<MembershipHistory> {
    use crate::events::EventKind;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        session_id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        member: bool,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        changed: bool,
    }
    let [created, added, removed, left] = [
        EventKind::SessionCreated,
        EventKind::MemberAdded,
        EventKind::MemberRemoved,
        EventKind::MemberLeft,
    ]
    .map(EventKind::as_str);
    let rows: Vec<Row> = Cached(
        diesel::sql_query(format!(
            "WITH changes AS ( \
               SELECT DISTINCT ON (session_id) session_id, kind IN ('{removed}', '{left}') AS member \
                 FROM events \
                WHERE subject_id = $1 AND (xid, id) > ($2, $3) \
                  AND kind IN ('{created}', '{added}', '{removed}', '{left}') \
                ORDER BY session_id, xid, id) \
             SELECT session_id, member, true AS changed FROM changes \
             UNION ALL \
             SELECT sm.session_id, true, false FROM session_members sm \
              WHERE sm.user_id = $1 \
                AND NOT EXISTS (SELECT 1 FROM changes c WHERE c.session_id = sm.session_id)"
        ))
        .bind::<SqlUuid, _>(user_id)
        .bind::<BigInt, _>(at.xid)
        .bind::<BigInt, _>(at.id),
    )
    .load(conn)
    .await?;
    let mut history = MembershipHistory::default();
    for row in rows {
        if row.member {
            history.at.push(row.session_id);
        }
        if row.changed {
            history.changed.push(row.session_id);
        }
    }
    Ok(history)
}

/// Events a member missed between two positions: those of their sessions and those about
/// them, in order, at most `limit`.
pub async fn replay_for_user(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    session_ids: &[Uuid],
    after: Position,
    up_to: Position,
    limit: i64,
) -> diesel::QueryResult<Vec<EventRow>> {
    Cached(
        diesel::sql_query(
            "SELECT * FROM events \
              WHERE (xid, id) > ($1, $2) AND (xid, id) <= ($3, $4) \
                AND (session_id = ANY($5) OR subject_id = $6) \
              ORDER BY xid, id LIMIT $7",
        )
        .bind::<BigInt, _>(after.xid)
        .bind::<BigInt, _>(after.id)
        .bind::<BigInt, _>(up_to.xid)
        .bind::<BigInt, _>(up_to.id)
        .bind::<Array<SqlUuid>, _>(session_ids)
        .bind::<SqlUuid, _>(user_id)
        .bind::<BigInt, _>(limit),
    )
    .load(conn)
    .await
}

/// The newest pruned position: cursors at or before it cannot be replayed.
pub async fn pruned_through(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Position> {
    let (xid, id) = event_retention::table
        .select((event_retention::pruned_xid, event_retention::pruned_id))
        .first::<(i64, i64)>(conn)
        .await?;
    Ok(Position { xid, id })
}

/// Deletes readable events older than `before`, recording how far it went. Returns how many.
pub async fn prune(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    #[derive(QueryableByName)]
    struct Pruned {
        #[diesel(sql_type = BigInt)]
        n: i64,
        #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
        xid: Option<i64>,
        #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
        id: Option<i64>,
    }
    let bound = readable_bound(conn).await?;
    let row: Pruned = diesel::sql_query(
        "WITH gone AS (DELETE FROM events WHERE created_at < $1 AND xid < $2 RETURNING xid, id), \
              last AS (SELECT xid, id FROM gone ORDER BY xid DESC, id DESC LIMIT 1) \
         SELECT (SELECT count(*) FROM gone) AS n, (SELECT xid FROM last) AS xid, (SELECT id FROM last) AS id",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(before)
    .bind::<BigInt, _>(bound)
    .get_result(conn)
    .await?;
    if let (Some(xid), Some(id)) = (row.xid, row.id) {
        diesel::update(event_retention::table)
            .filter(
                event_retention::pruned_xid
                    .lt(xid)
                    .or(event_retention::pruned_xid
                        .eq(xid)
                        .and(event_retention::pruned_id.lt(id))),
            )
            .set((
                event_retention::pruned_xid.eq(xid),
                event_retention::pruned_id.eq(id),
            ))
            .execute(conn)
            .await?;
    }
    Ok(row.n as usize)
}

/// The ids of the sessions a user belongs to.
pub async fn session_ids_of(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> diesel::QueryResult<Vec<Uuid>> {
    use crate::db::schema::session_members;
    session_members::table
        .filter(session_members::user_id.eq(user_id))
        .select(session_members::session_id)
        .load(conn)
        .await
}
