//! Profile-picture queries on `users.avatar_key`, and the lock that keeps one avatar's
//! objects from being deleted while another request starts to use them.

use chrono::Utc;
use diesel::sql_types::Text;
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::users;
use crate::models::user::User;

/// Holds, until the transaction ends, the lock of one avatar key. Whoever writes an avatar's
/// objects and points a user at it, or checks that nobody uses it and deletes its objects,
/// holds this lock, so the two never interleave.
pub async fn lock_key(conn: &mut AsyncPgConnection, stored_key: &str) -> diesel::QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('avatar:' || $1, 0))")
        .bind::<Text, _>(stored_key)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Locks a user's row for the transaction and returns its current avatar key; `None` when
/// there is no such user.
pub async fn lock_user(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> diesel::QueryResult<Option<Option<String>>> {
    users::table
        .find(user_id)
        .select(users::avatar_key)
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Points a user at an avatar (or at none) and returns the new row.
pub async fn set_key(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    stored_key: Option<&str>,
) -> diesel::QueryResult<User> {
    diesel::update(users::table.find(user_id))
        .set((
            users::avatar_key.eq(stored_key),
            users::updated_at.eq(Utc::now()),
        ))
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// Whether any user (deactivated ones included) uses this avatar.
pub async fn is_used(conn: &mut AsyncPgConnection, stored_key: &str) -> diesel::QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(users::avatar_key.eq(stored_key)),
    ))
    .get_result(conn)
    .await
}
