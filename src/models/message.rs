//! The `messages` table.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use diesel::deserialize;
use diesel::pg::Pg;
use diesel::prelude::{Queryable, QueryableByName, Selectable};
use diesel::row::NamedRow;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::Cached;
use crate::db::schema::messages;
use crate::db::time::{NullableTimestamp, Timestamp};

/// The columns of [`Message`], in its field order, as `m.<column>`: the raw statements that
/// load messages name them rather than `m.*`, which would also send the generated `search`
/// tsvector, as long as the body, and unused (PostgreSQL spent more per history page than its
/// floor, which does not send it).
macro_rules! message_columns {
    () => {
        "m.id, m.session_id, m.sender_id, m.seq, m.body, m.reply_to_id, m.client_message_id, \
         m.created_at, m.edited_at, m.deleted_at"
    };
}

/// A row of `messages`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = messages, check_for_backend(diesel::pg::Pg))]
pub struct Message {
    /// Primary key.
    pub id: Uuid,
    /// The conversation.
    pub session_id: Uuid,
    /// Who sent it.
    pub sender_id: Uuid,
    /// Position in the conversation (1, 2, 3, … without ties).
    pub seq: i64,
    /// The text; empty once deleted.
    pub body: String,
    /// The message it answers.
    pub reply_to_id: Option<Uuid>,
    /// The sender's idempotency key.
    pub client_message_id: Option<String>,
    /// Send time.
    #[diesel(deserialize_as = Timestamp)]
    pub created_at: DateTime<Utc>,
    /// Last edit time.
    #[diesel(deserialize_as = NullableTimestamp)]
    pub edited_at: Option<DateTime<Utc>>,
    /// Deletion time.
    #[diesel(deserialize_as = NullableTimestamp)]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The rows of the raw statements, which select `message_columns!()` first: read by position.
/// The derived reader looked each field up by name, comparing names across the row (1.4 % of
/// a history page's instructions, measured). Debug builds (the tests) check the row's column
/// names against `message_columns!()`.
impl QueryableByName<Pg> for Message {
    fn build<'a>(row: &impl NamedRow<'a, Pg>) -> deserialize::Result<Self> {
        #[cfg(debug_assertions)]
        crate::db::check_column_names(row, message_columns!(), "message")?;
        Ok(Self {
            id: row.get_value::<SqlUuid, _, _>(0)?,
            session_id: row.get_value::<SqlUuid, _, _>(1)?,
            sender_id: row.get_value::<SqlUuid, _, _>(2)?,
            seq: row.get_value::<BigInt, _, _>(3)?,
            body: row.get_value::<Text, _, _>(4)?,
            reply_to_id: row.get_value::<Nullable<SqlUuid>, _, _>(5)?,
            client_message_id: row.get_value::<Nullable<Text>, _, _>(6)?,
            created_at: row.get_value::<Timestamptz, Timestamp, _>(7)?.into(),
            edited_at: row
                .get_value::<Nullable<Timestamptz>, NullableTimestamp, _>(8)?
                .into(),
            deleted_at: row
                .get_value::<Nullable<Timestamptz>, NullableTimestamp, _>(9)?
                .into(),
        })
    }
}

/// A message to send: what [`send`] stores, besides the sequence number and the time it takes
/// under the session's lock.
#[derive(Debug)]
pub struct NewMessage<'a> {
    /// Primary key (uuid v7).
    pub id: Uuid,
    /// The conversation.
    pub session_id: Uuid,
    /// Who sends it.
    pub sender_id: Uuid,
    /// Validated body.
    pub body: &'a str,
    /// The message it answers.
    pub reply_to_id: Option<Uuid>,
    /// The sender's idempotency key.
    pub client_message_id: Option<&'a str>,
}

/// What [`send`] did.
#[derive(Debug)]
pub enum Sending {
    /// Stored, with its `MESSAGE_CREATED` event.
    Sent(Message),
    /// The sender had already sent a message with this client message id (in any session):
    /// that one, and nothing written.
    Before(Message),
    /// Nothing written: the sender is not a member, a block stands between the two users of a
    /// direct session, or the reply target is not a message of this session. Which one is
    /// asked only then, so a send pays for no extra statement.
    Refused,
}

/// The send, one statement (so, outside a transaction, its own transaction):
/// - `writer` marks the transaction as a writer of the event log. The update joins its row,
///   so the lock is held before the first row is written, which is when the transaction takes
///   its id (see `event::readable_bound`). In a transaction that took it already, taking it
///   again changes nothing.
/// - `prior` is the sender's message with this client message id, if any: then nothing else
///   happens, and it is returned with `created` false.
/// - `taken` takes the next sequence number of the session and bumps its activity, if the
///   sender is a member, no block stands between the two users of a direct session, and the
///   reply target (if any) is a message of the session. It locks the session row until the
///   commit, so sequence numbers have no ties. The message's time is the clock, but at least a
///   microsecond after the session's previous message, under the same lock: so within a
///   session, times strictly increase with `seq` (transaction start times do not: two
///   concurrent sends may take the lock in the other order), and "newest first" is one index,
///   `(session_id, seq)`.
/// - `sent` inserts the message, `marked` moves the sender's read marker over it, and
///   `logged` appends its `MESSAGE_CREATED` event (the row `Event::to_row` would write).
///
/// This was nine round trips (the retry check, `BEGIN`, the lock, the update, the insert, the
/// marker, the event, `COMMIT`), with PostgreSQL waking up for each (`BENCHMARKS.md`). A send
/// with the same client message id that races this one fails on the unique index
/// (`messages_client_message_id_key`) and rolls back.
static SEND: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH writer AS MATERIALIZED (SELECT {lock} IS NULL AS locked), \
              prior AS MATERIALIZED ( \
                SELECT {columns} FROM messages m \
                 WHERE m.sender_id = $2 AND m.client_message_id = $6 LIMIT 1), \
              taken AS ( \
                UPDATE sessions s SET last_message_seq = s.last_message_seq + 1, \
                       last_message_at = greatest(clock_timestamp(), \
                                                  s.last_message_at + interval '1 microsecond'), \
                       last_activity_at = CURRENT_TIMESTAMP \
                  FROM writer \
                 WHERE s.id = $1 AND NOT EXISTS (SELECT FROM prior) \
                   AND EXISTS (SELECT FROM session_members sm \
                                WHERE sm.session_id = $1 AND sm.user_id = $2) \
                   AND NOT EXISTS (SELECT FROM user_blocks b \
                        WHERE (b.blocker_id = s.direct_user_low AND b.blocked_id = s.direct_user_high) \
                           OR (b.blocker_id = s.direct_user_high AND b.blocked_id = s.direct_user_low)) \
                   AND ($5::uuid IS NULL \
                        OR EXISTS (SELECT FROM messages r WHERE r.id = $5 AND r.session_id = $1)) \
                RETURNING s.last_message_seq, s.last_message_at), \
              sent AS ( \
                INSERT INTO messages AS m (id, session_id, sender_id, seq, body, reply_to_id, \
                                           client_message_id, created_at) \
                SELECT $3, $1, $2, t.last_message_seq, $4, $5, $6, t.last_message_at FROM taken t \
                RETURNING {columns}), \
              marked AS ( \
                UPDATE session_members sm SET last_read_seq = greatest(sm.last_read_seq, m.seq) \
                  FROM sent m WHERE sm.session_id = $1 AND sm.user_id = $2), \
              logged AS ( \
                INSERT INTO events (session_id, kind, actor_id, subject_id, message_id, detail) \
                SELECT $1, '{kind}', $2, NULL, m.id, NULL FROM sent m) \
         SELECT {columns}, true AS created FROM sent m \
         UNION ALL SELECT {columns}, false FROM prior m",
        lock = crate::models::event::writer_lock_sql(),
        columns = message_columns!(),
        kind = crate::events::EventKind::MessageCreated.as_str(),
    )
});

/// A row of [`SEND`]: a message, and whether this statement stored it. Read by position, as
/// [`Message`]'s rows are; debug builds check the names.
struct SendRow(Message, bool);

impl QueryableByName<Pg> for SendRow {
    fn build<'a>(row: &impl NamedRow<'a, Pg>) -> deserialize::Result<Self> {
        #[cfg(debug_assertions)]
        crate::db::check_column_names(row, concat!(message_columns!(), ", created"), "send")?;
        let message = <Message as QueryableByName<Pg>>::build(row)?;
        Ok(Self(message, row.get_value::<Bool, _, _>(10)?))
    }
}

/// Sends a message in one statement ([`SEND`]): takes the session's next sequence number and
/// stores the message, the sender's read marker and the `MESSAGE_CREATED` event; or returns
/// the sender's earlier message with the same client message id; or refuses.
pub async fn send(
    conn: &mut AsyncPgConnection,
    new: &NewMessage<'_>,
) -> diesel::QueryResult<Sending> {
    let row: Option<SendRow> = Cached(
        diesel::sql_query(SEND.as_str())
            .bind::<SqlUuid, _>(new.session_id)
            .bind::<SqlUuid, _>(new.sender_id)
            .bind::<SqlUuid, _>(new.id)
            .bind::<Text, _>(new.body)
            .bind::<Nullable<SqlUuid>, _>(new.reply_to_id)
            .bind::<Nullable<Text>, _>(new.client_message_id),
    )
    .get_result(conn)
    .await
    .optional()?;
    Ok(match row {
        Some(SendRow(message, true)) => Sending::Sent(message),
        Some(SendRow(message, false)) => Sending::Before(message),
        None => Sending::Refused,
    })
}

/// The message a sender already sent with this client message id.
pub async fn find_by_client_id(
    conn: &mut AsyncPgConnection,
    sender_id: Uuid,
    client_message_id: &str,
) -> diesel::QueryResult<Option<Message>> {
    messages::table
        .filter(messages::sender_id.eq(sender_id))
        .filter(messages::client_message_id.eq(client_message_id))
        .select(Message::as_select())
        .first(conn)
        .await
        .optional()
}

/// One message.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> diesel::QueryResult<Option<Message>> {
    messages::table
        .find(id)
        .select(Message::as_select())
        .first(conn)
        .await
        .optional()
}

/// One message, if `user_id` is a member of its session: one fixed statement (the message
/// and the membership that lets the user see it), which a query sends with its sign-in check.
pub async fn find_for_member(
    mut conn: &AsyncPgConnection,
    id: Uuid,
    user_id: Uuid,
) -> diesel::QueryResult<Option<Message>> {
    Cached(
        diesel::sql_query(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages m JOIN session_members ON session_members.session_id = m.session_id \
              WHERE m.id = $1 AND session_members.user_id = $2"
        ))
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(user_id),
    )
    .get_result(&mut conn)
    .await
    .optional()
}

/// One message, its row locked until the transaction ends.
pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> diesel::QueryResult<Option<Message>> {
    messages::table
        .find(id)
        .select(Message::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()
}

/// Messages by id.
pub async fn find_many(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> diesel::QueryResult<Vec<Message>> {
    messages::table
        .filter(messages::id.eq_any(ids))
        .select(Message::as_select())
        .load(conn)
        .await
}

/// Replaces a message's body and sets `edited_at`.
pub async fn update_body(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    body: &str,
) -> diesel::QueryResult<Message> {
    diesel::update(messages::table.find(id))
        .set((
            messages::body.eq(body),
            messages::edited_at.eq(diesel::dsl::now),
        ))
        .returning(Message::as_returning())
        .get_result(conn)
        .await
}

/// Soft-deletes a message: erases the body and sets `deleted_at`.
pub async fn soft_delete(conn: &mut AsyncPgConnection, id: Uuid) -> diesel::QueryResult<Message> {
    diesel::update(messages::table.find(id))
        .set((
            messages::body.eq(""),
            messages::deleted_at.eq(diesel::dsl::now),
        ))
        .returning(Message::as_returning())
        .get_result(conn)
        .await
}

/// The last message of each of these sessions: one query for any number of sessions.
pub async fn last_of_sessions(
    conn: &mut AsyncPgConnection,
    session_ids: &[Uuid],
) -> diesel::QueryResult<Vec<Message>> {
    Cached(
        diesel::sql_query(concat!(
            "SELECT ",
            message_columns!(),
            " FROM sessions s \
               JOIN messages m ON m.session_id = s.id AND m.seq = s.last_message_seq \
              WHERE s.id = ANY($1)",
        ))
        .bind::<Array<SqlUuid>, _>(session_ids),
    )
    .load(conn)
    .await
}

/// Which end of a history page to read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageFrom {
    /// Oldest first, after a position (`first`/`after`).
    Start,
    /// Newest first, before a position (`last`/`before`).
    End,
}

/// One history window: a session, exclusive bounds, a limit and a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    /// The conversation.
    pub session_id: Uuid,
    /// Only messages with a greater sequence number.
    pub after_seq: Option<i64>,
    /// Only messages with a smaller sequence number.
    pub before_seq: Option<i64>,
    /// At most this many.
    pub limit: i64,
    /// Read from the oldest or the newest end.
    pub from: PageFrom,
}

/// Messages of many windows that share a limit and direction, in one query (a lateral join
/// over the windows). Rows come back in no particular order.
pub async fn windows(
    conn: &mut AsyncPgConnection,
    windows: &[Window],
) -> diesel::QueryResult<Vec<Message>> {
    let Some(first) = windows.first() else {
        return Ok(Vec::new());
    };
    let ids: Vec<Uuid> = windows.iter().map(|w| w.session_id).collect();
    let after: Vec<Option<i64>> = windows.iter().map(|w| w.after_seq).collect();
    let before: Vec<Option<i64>> = windows.iter().map(|w| w.before_seq).collect();
    let order = match first.from {
        PageFrom::Start => "ASC",
        PageFrom::End => "DESC",
    };
    Cached(diesel::sql_query(format!(
        "SELECT page.* FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS w(session_id, after_seq, before_seq) \
         CROSS JOIN LATERAL ( \
           SELECT {columns} FROM messages m \
            WHERE m.session_id = w.session_id \
              AND m.seq > coalesce(w.after_seq, 0) \
              AND m.seq < coalesce(w.before_seq, 9223372036854775807) \
            ORDER BY m.seq {order} LIMIT $4) page",
        columns = message_columns!(),
    ))
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Nullable<BigInt>>, _>(after)
    .bind::<Array<Nullable<BigInt>>, _>(before)
    .bind::<BigInt, _>(first.limit))
    .load(conn)
    .await
}

/// Full-text search over the messages of the sessions a user belongs to, newest first,
/// after a `(created_at, id)` cursor.
///
/// Per session, newest first along `(session_id, seq)` (the same order as time: see
/// [`SEND`]), stopping at `limit` hits, then the newest `limit` of those. A
/// common word stops after a few rows of each session instead of reading every message of
/// the user's sessions and sorting the hits (21 ms for a member of the busiest seeded
/// session, 0.3 ms this way); a rare one lets the planner look the word up in the GIN index
/// per session.
///
/// Planned on every call, not cached: which plan is fast depends on the words (a common one
/// wants the backward scan, a rare one the index), and a cached statement may settle on one
/// generic plan for all of them.
pub async fn search_for_member(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    text: &str,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> diesel::QueryResult<Vec<Message>> {
    let (after_at, after_id) = match after {
        Some((at, id)) => (Some(at), Some(id)),
        None => (None, None),
    };
    diesel::sql_query(concat!(
        "SELECT hit.* FROM session_members sm \
          CROSS JOIN LATERAL ( \
            SELECT ",
        message_columns!(),
        " FROM messages m \
             WHERE m.session_id = sm.session_id \
               AND m.search @@ websearch_to_tsquery('simple', $2) \
               AND m.deleted_at IS NULL \
               AND ($3::timestamptz IS NULL OR (m.created_at, m.id) < ($3, $4)) \
             ORDER BY m.seq DESC LIMIT $5) hit \
          WHERE sm.user_id = $1 \
          ORDER BY hit.created_at DESC, hit.id DESC \
          LIMIT $5",
    ))
    .bind::<SqlUuid, _>(user_id)
    .bind::<Text, _>(text)
    .bind::<Nullable<Timestamptz>, _>(after_at)
    .bind::<Nullable<SqlUuid>, _>(after_id)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// The session id of a message joined with nothing else (for authorization lookups).
pub async fn session_of(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> diesel::QueryResult<Option<Uuid>> {
    messages::table
        .find(id)
        .select(messages::session_id)
        .first(conn)
        .await
        .optional()
}
