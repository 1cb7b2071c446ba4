//! The `messages` table.

use chrono::{DateTime, Utc};
use diesel::deserialize;
use diesel::pg::Pg;
use diesel::prelude::{Insertable, Queryable, QueryableByName, Selectable};
use diesel::row::NamedRow;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
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

/// A new message. `None` inserts NULL (not DEFAULT), so the statement's text never varies
/// and the prepared statement is cached.
#[derive(Debug, Insertable)]
#[diesel(table_name = messages, treat_none_as_default_value = false)]
pub struct NewMessage<'a> {
    /// Primary key (uuid v7).
    pub id: Uuid,
    /// The conversation.
    pub session_id: Uuid,
    /// Who sent it.
    pub sender_id: Uuid,
    /// Its sequence number.
    pub seq: i64,
    /// Validated body.
    pub body: &'a str,
    /// The message it answers.
    pub reply_to_id: Option<Uuid>,
    /// The sender's idempotency key.
    pub client_message_id: Option<&'a str>,
    /// Its time, from [`next_seq_for_member`].
    pub created_at: DateTime<Utc>,
}

diesel::define_sql_function! {
    /// PostgreSQL's `clock_timestamp()`: the time now, not the transaction's start.
    fn clock_timestamp() -> Timestamptz;
}

diesel::define_sql_function! {
    /// PostgreSQL's `greatest` of a time and a nullable one (NULL is ignored).
    #[sql_name = "greatest"]
    fn latest(a: Timestamptz, b: Nullable<Timestamptz>) -> Timestamptz;
}

/// Takes the next sequence number of a session, if `user_id` is a member and, in a direct
/// session, neither of the two has blocked the other; bumps its activity. Locks the session
/// row until commit, so sequence numbers have no ties. `None` says no without saying why
/// (the caller asks only then, so a send pays for no extra statement).
///
/// Also returns the message's time: the clock, but at least a microsecond after the
/// session's previous message, taken under the same lock. So within a session, times
/// strictly increase with `seq` (transaction start times do not: two concurrent sends may
/// take the lock in the other order), and "newest first" is one index, `(session_id, seq)`.
pub async fn next_seq_for_member(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    user_id: Uuid,
) -> diesel::QueryResult<Option<(i64, DateTime<Utc>)>> {
    use crate::db::schema::{session_members, sessions, user_blocks};
    use diesel::dsl::IntervalDsl;
    use diesel::{BoolExpressionMethods, NullableExpressionMethods};
    let member = session_members::table
        .filter(session_members::session_id.eq(session_id))
        .filter(session_members::user_id.eq(user_id));
    let block = user_blocks::table.filter(
        user_blocks::blocker_id
            .nullable()
            .eq(sessions::direct_user_low)
            .and(
                user_blocks::blocked_id
                    .nullable()
                    .eq(sessions::direct_user_high),
            )
            .or(user_blocks::blocker_id
                .nullable()
                .eq(sessions::direct_user_high)
                .and(
                    user_blocks::blocked_id
                        .nullable()
                        .eq(sessions::direct_user_low),
                )),
    );
    let update = diesel::update(sessions::table)
        .filter(sessions::id.eq(session_id))
        .filter(diesel::dsl::exists(member))
        .filter(diesel::dsl::not(diesel::dsl::exists(block)))
        .set((
            sessions::last_message_seq.eq(sessions::last_message_seq + 1),
            sessions::last_message_at.eq(latest(
                clock_timestamp(),
                sessions::last_message_at + 1.microseconds(),
            )
            .nullable()),
            sessions::last_activity_at.eq(diesel::dsl::now),
        ))
        .returning((sessions::last_message_seq, sessions::last_message_at));
    Cached(update)
        .get_result::<(i64, Option<DateTime<Utc>>)>(conn)
        .await
        .optional()
        .map(|row| row.map(|(seq, at)| (seq, at.unwrap_or_else(Utc::now))))
}

/// Inserts a message.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: &NewMessage<'_>,
) -> diesel::QueryResult<Message> {
    diesel::insert_into(messages::table)
        .values(new)
        .returning(Message::as_returning())
        .get_result(conn)
        .await
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
/// [`next_seq_for_member`]), stopping at `limit` hits, then the newest `limit` of those. A
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
