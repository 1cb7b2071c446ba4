//! The `user_blocks` table.

use chrono::{DateTime, Utc};
use diesel::{BoolExpressionMethods, ExpressionMethods, JoinOnDsl, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{user_blocks, users};
use crate::models::user::User;

/// Records that `blocker` blocked `blocked`; false if it already had.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    blocker: Uuid,
    blocked: Uuid,
) -> diesel::QueryResult<bool> {
    let added = diesel::insert_into(user_blocks::table)
        .values((
            user_blocks::blocker_id.eq(blocker),
            user_blocks::blocked_id.eq(blocked),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(added > 0)
}

/// Locks the blocker's user row until the transaction ends (`FOR NO KEY UPDATE`).
pub async fn lock_blocker(conn: &mut AsyncPgConnection, blocker: Uuid) -> diesel::QueryResult<()> {
    users::table
        .find(blocker)
        .select(users::id)
        .for_no_key_update()
        .first::<Uuid>(conn)
        .await?;
    Ok(())
}

/// Lifts a block; false if there was none.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    blocker: Uuid,
    blocked: Uuid,
) -> diesel::QueryResult<bool> {
    let removed = diesel::delete(user_blocks::table.find((blocker, blocked)))
        .execute(conn)
        .await?;
    Ok(removed > 0)
}

/// How many users `blocker` has blocked.
pub async fn count(conn: &mut AsyncPgConnection, blocker: Uuid) -> diesel::QueryResult<i64> {
    user_blocks::table
        .filter(user_blocks::blocker_id.eq(blocker))
        .count()
        .get_result(conn)
        .await
}

/// Everyone each of `blockers` has blocked (bounded by the per-user limit), as
/// `(blocker, blocked)` pairs: one statement for any number of blockers.
pub async fn blocked_by(
    conn: &mut AsyncPgConnection,
    blockers: &[Uuid],
) -> diesel::QueryResult<Vec<(Uuid, Uuid)>> {
    user_blocks::table
        .filter(user_blocks::blocker_id.eq_any(blockers))
        .select((user_blocks::blocker_id, user_blocks::blocked_id))
        .load(conn)
        .await
}

/// The blocks between two users, as `(blocker, blocked)` pairs: none, one or both ways.
pub async fn between(
    conn: &mut AsyncPgConnection,
    a: Uuid,
    b: Uuid,
) -> diesel::QueryResult<Vec<(Uuid, Uuid)>> {
    user_blocks::table
        .filter(
            (user_blocks::blocker_id
                .eq(a)
                .and(user_blocks::blocked_id.eq(b)))
            .or(user_blocks::blocker_id
                .eq(b)
                .and(user_blocks::blocked_id.eq(a))),
        )
        .select((user_blocks::blocker_id, user_blocks::blocked_id))
        .load(conn)
        .await
}

/// The users `blocker` has blocked, most recent first, after a `(time, user)` cursor.
pub async fn list(
    conn: &mut AsyncPgConnection,
    blocker: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> diesel::QueryResult<Vec<(User, DateTime<Utc>)>> {
    let mut query = user_blocks::table
        .inner_join(users::table.on(users::id.eq(user_blocks::blocked_id)))
        .filter(user_blocks::blocker_id.eq(blocker))
        .select((User::as_select(), user_blocks::created_at))
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(
            user_blocks::created_at.lt(at).or(user_blocks::created_at
                .eq(at)
                .and(user_blocks::blocked_id.lt(id))),
        );
    }
    query
        .order((
            user_blocks::created_at.desc(),
            user_blocks::blocked_id.desc(),
        ))
        .limit(limit)
        .load(conn)
        .await
}
