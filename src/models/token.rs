//! The `token_families` and `refresh_tokens` tables.

use chrono::{DateTime, Utc};
use diesel::prelude::{Insertable, Queryable, Selectable};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{refresh_tokens, token_families};

/// A refresh token joined with its family.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::pg::Pg))]
pub struct RefreshToken {
    /// Primary key.
    pub id: Uuid,
    /// The sign-in it belongs to.
    pub family_id: Uuid,
    /// Expiry time.
    pub expires_at: DateTime<Utc>,
    /// When it was rotated.
    pub used_at: Option<DateTime<Utc>>,
}

/// A new refresh token.
#[derive(Debug, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct NewRefreshToken<'a> {
    /// Primary key.
    pub id: Uuid,
    /// The sign-in it belongs to.
    pub family_id: Uuid,
    /// SHA-256 of the token.
    pub token_hash: &'a [u8],
    /// Expiry time.
    pub expires_at: DateTime<Utc>,
}

/// Starts a sign-in for a user; returns the family id.
pub async fn insert_family(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> diesel::QueryResult<Uuid> {
    diesel::insert_into(token_families::table)
        .values((
            token_families::id.eq(Uuid::now_v7()),
            token_families::user_id.eq(user_id),
        ))
        .returning(token_families::id)
        .get_result(conn)
        .await
}

/// Stores a refresh token.
pub async fn insert_refresh(
    conn: &mut AsyncPgConnection,
    new: &NewRefreshToken<'_>,
) -> diesel::QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(new)
        .execute(conn)
        .await
        .map(drop)
}

/// The refresh token with this hash, its family's user and revocation time, locked for
/// update so two concurrent refreshes of one token cannot both rotate it.
pub async fn find_refresh_for_update(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> diesel::QueryResult<Option<(RefreshToken, Uuid, Option<DateTime<Utc>>)>> {
    refresh_tokens::table
        .inner_join(token_families::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((
            RefreshToken::as_select(),
            token_families::user_id,
            token_families::revoked_at,
        ))
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Marks a refresh token as rotated.
pub async fn mark_used(conn: &mut AsyncPgConnection, id: Uuid) -> diesel::QueryResult<()> {
    diesel::update(refresh_tokens::table.find(id))
        .set(refresh_tokens::used_at.eq(Utc::now()))
        .execute(conn)
        .await
        .map(drop)
}

/// Revokes a sign-in, ending its refresh and access tokens.
pub async fn revoke_family(
    conn: &mut AsyncPgConnection,
    family_id: Uuid,
) -> diesel::QueryResult<()> {
    diesel::update(token_families::table.find(family_id))
        .filter(token_families::revoked_at.is_null())
        .set(token_families::revoked_at.eq(Utc::now()))
        .execute(conn)
        .await
        .map(drop)
}

/// Revokes every sign-in of a user.
pub async fn revoke_all_for_user(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> diesel::QueryResult<()> {
    diesel::update(token_families::table)
        .filter(token_families::user_id.eq(user_id))
        .filter(token_families::revoked_at.is_null())
        .set(token_families::revoked_at.eq(Utc::now()))
        .execute(conn)
        .await
        .map(drop)
}
