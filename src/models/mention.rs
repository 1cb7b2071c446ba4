//! The `mentions` table.

use chrono::{DateTime, Utc};
use diesel::prelude::{Insertable, QueryableByName};
use diesel::sql_types::{Array, BigInt, Uuid as SqlUuid};
use diesel::{BoolExpressionMethods, ExpressionMethods, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::Cached;
use crate::db::schema::{mentions, messages, session_members};
use crate::models::message::Message;
use crate::models::session::MAX_UNREAD_COUNT;

/// A member mentioned by a message.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = mentions)]
pub struct NewMention {
    /// The message.
    pub message_id: Uuid,
    /// The member mentioned.
    pub user_id: Uuid,
    /// The message's session.
    pub session_id: Uuid,
    /// The message's sequence number.
    pub seq: i64,
}

/// Records mentions; ones already recorded are left alone.
pub async fn insert(conn: &mut AsyncPgConnection, rows: &[NewMention]) -> diesel::QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    diesel::insert_into(mentions::table)
        .values(rows)
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets a message's mentions of these users (all of them with `None`).
pub async fn delete_for_message(
    conn: &mut AsyncPgConnection,
    message_id: Uuid,
    only: Option<&[Uuid]>,
) -> diesel::QueryResult<()> {
    let rows = mentions::table.filter(mentions::message_id.eq(message_id));
    match only {
        Some(users) => {
            diesel::delete(rows.filter(mentions::user_id.eq_any(users)))
                .execute(conn)
                .await?
        }
        None => diesel::delete(rows).execute(conn).await?,
    };
    Ok(())
}

/// Who these messages mention, as `(message, user)` pairs.
pub async fn of_messages(
    conn: &mut AsyncPgConnection,
    message_ids: &[Uuid],
) -> diesel::QueryResult<Vec<(Uuid, Uuid)>> {
    mentions::table
        .filter(mentions::message_id.eq_any(message_ids))
        .select((mentions::message_id, mentions::user_id))
        .order((
            mentions::message_id,
            mentions::created_at,
            mentions::user_id,
        ))
        .load(conn)
        .await
}

/// A member's unread mentions in each of these sessions (after their read marker), counted
/// up to [`MAX_UNREAD_COUNT`] as unread messages are: one statement, one index range per
/// session.
pub async fn unread_counts(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    session_ids: &[Uuid],
) -> diesel::QueryResult<Vec<(Uuid, i64)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        session_id: Uuid,
        #[diesel(sql_type = BigInt)]
        unread: i64,
    }
    let rows: Vec<Row> = Cached(
        diesel::sql_query(
            "SELECT sm.session_id, \
                    (SELECT count(*) FROM (SELECT 1 FROM mentions mn \
                      WHERE mn.user_id = sm.user_id AND mn.session_id = sm.session_id \
                        AND mn.seq > sm.last_read_seq LIMIT $3) capped) AS unread \
               FROM session_members sm \
              WHERE sm.user_id = $1 AND sm.session_id = ANY($2)",
        )
        .bind::<SqlUuid, _>(user_id)
        .bind::<Array<SqlUuid>, _>(session_ids)
        .bind::<BigInt, _>(MAX_UNREAD_COUNT),
    )
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.session_id, r.unread)).collect())
}

/// The messages that mention a user, in the sessions they still belong to, newest first,
/// after a `(time, message)` cursor. Deleted messages have no mentions left.
pub async fn recent(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> diesel::QueryResult<Vec<(Message, DateTime<Utc>)>> {
    let member = session_members::table
        .filter(session_members::session_id.eq(mentions::session_id))
        .filter(session_members::user_id.eq(user_id));
    let mut query = mentions::table
        .inner_join(messages::table)
        .filter(mentions::user_id.eq(user_id))
        .filter(diesel::dsl::exists(member))
        .select((Message::as_select(), mentions::created_at))
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(
            mentions::created_at
                .lt(at)
                .or(mentions::created_at.eq(at).and(mentions::message_id.lt(id))),
        );
    }
    query
        .order((mentions::created_at.desc(), mentions::message_id.desc()))
        .limit(limit)
        .load(conn)
        .await
}
