//! The `reactions` table.

use chrono::{DateTime, Utc};
use diesel::prelude::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Text, Uuid as SqlUuid};
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::Cached;
use crate::db::schema::reactions;
use crate::models::user::User;

/// One emoji on one message: how many reacted with it, and whether the viewer did.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Summary {
    /// The message.
    #[diesel(sql_type = SqlUuid)]
    pub message_id: Uuid,
    /// The emoji.
    #[diesel(sql_type = Text)]
    pub emoji: String,
    /// How many users reacted with it.
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    /// Whether the viewer is one of them.
    #[diesel(sql_type = Bool)]
    pub mine: bool,
}

/// Adds a reaction; false when the user had already reacted with this emoji.
pub async fn add(
    conn: &mut AsyncPgConnection,
    message_id: Uuid,
    emoji: &str,
    user_id: Uuid,
) -> diesel::QueryResult<bool> {
    let added = diesel::insert_into(reactions::table)
        .values((
            reactions::message_id.eq(message_id),
            reactions::emoji.eq(emoji),
            reactions::user_id.eq(user_id),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(added > 0)
}

/// Removes a reaction; false when there was none.
pub async fn remove(
    conn: &mut AsyncPgConnection,
    message_id: Uuid,
    emoji: &str,
    user_id: Uuid,
) -> diesel::QueryResult<bool> {
    let removed = diesel::delete(reactions::table.find((message_id, emoji, user_id)))
        .execute(conn)
        .await?;
    Ok(removed > 0)
}

/// Removes every reaction to a message.
pub async fn delete_for_message(
    conn: &mut AsyncPgConnection,
    message_id: Uuid,
) -> diesel::QueryResult<()> {
    diesel::delete(reactions::table.filter(reactions::message_id.eq(message_id)))
        .execute(conn)
        .await?;
    Ok(())
}

/// The distinct emoji on a message.
pub async fn emoji_of(
    conn: &mut AsyncPgConnection,
    message_id: Uuid,
) -> diesel::QueryResult<Vec<String>> {
    reactions::table
        .filter(reactions::message_id.eq(message_id))
        .select(reactions::emoji)
        .distinct()
        .load(conn)
        .await
}

/// The reactions of these messages, per emoji, each message's emoji in the order they first
/// appeared: one statement for any number of messages.
pub async fn summaries(
    conn: &mut AsyncPgConnection,
    message_ids: &[Uuid],
    viewer: Uuid,
) -> diesel::QueryResult<Vec<Summary>> {
    Cached(
        diesel::sql_query(
            "SELECT message_id, emoji, count(*) AS count, bool_or(user_id = $2) AS mine \
               FROM reactions WHERE message_id = ANY($1) \
              GROUP BY message_id, emoji \
              ORDER BY message_id, min(created_at), emoji",
        )
        .bind::<Array<SqlUuid>, _>(message_ids)
        .bind::<SqlUuid, _>(viewer),
    )
    .load(conn)
    .await
}

/// Who reacted to a message with an emoji, earliest first, after a `(time, user)` cursor.
pub async fn reactors(
    conn: &mut AsyncPgConnection,
    message_id: Uuid,
    emoji: &str,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> diesel::QueryResult<Vec<(User, DateTime<Utc>)>> {
    use crate::db::schema::users;
    use diesel::{BoolExpressionMethods, SelectableHelper};
    let mut query = reactions::table
        .inner_join(users::table)
        .filter(reactions::message_id.eq(message_id))
        .filter(reactions::emoji.eq(emoji))
        .select((User::as_select(), reactions::created_at))
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(
            reactions::created_at
                .gt(at)
                .or(reactions::created_at.eq(at).and(reactions::user_id.gt(id))),
        );
    }
    query
        .order((reactions::created_at, reactions::user_id))
        .limit(limit)
        .load(conn)
        .await
}
