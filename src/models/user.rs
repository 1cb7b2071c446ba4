//! The `users` table.

use chrono::{DateTime, Utc};
use diesel::deserialize;
use diesel::pg::Pg;
use diesel::prelude::{AsChangeset, Insertable, Queryable, QueryableByName, Selectable};
use diesel::row::NamedRow;
use diesel::sql_types::{Array, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, OptionalExtension, QueryDsl, TextExpressionMethods,
};
use diesel::{PgTextExpressionMethods, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::Cached;
use crate::db::schema::users;
use crate::db::time::{NullableTimestamp, Timestamp};

/// The columns of [`User`], in its field order: the raw statements that load users name them.
macro_rules! user_columns {
    () => {
        "users.id, users.username, users.display_name, users.location, users.avatar_key, \
         users.role, users.created_at, users.updated_at, users.deactivated_at"
    };
}

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum Role {
    /// An ordinary account.
    User,
    /// May manage other accounts.
    Admin,
}

impl Role {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }

    /// Reads the stored spelling; anything unknown counts as an ordinary user.
    pub fn from_db(s: &str) -> Self {
        if s == "admin" {
            Self::Admin
        } else {
            Self::User
        }
    }
}

/// A row of `users`, without its password hash: only signing in reads that
/// ([`find_by_username`]), so it never reaches the GraphQL layer or a loader.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    /// Primary key.
    pub id: Uuid,
    /// Unique login name (lower case).
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Free-text location.
    pub location: Option<String>,
    /// Object key of the profile picture.
    pub avatar_key: Option<String>,
    /// `user` or `admin`.
    pub role: String,
    /// Registration time.
    #[diesel(deserialize_as = Timestamp)]
    pub created_at: DateTime<Utc>,
    /// Last profile change.
    #[diesel(deserialize_as = Timestamp)]
    pub updated_at: DateTime<Utc>,
    /// Set while deactivated.
    #[diesel(deserialize_as = NullableTimestamp)]
    pub deactivated_at: Option<DateTime<Utc>>,
}

/// The rows of the raw statements, which select `user_columns!()` first: read by position,
/// as [`crate::models::message::Message`]'s are. Debug builds (the tests) check the row's
/// column names against `user_columns!()`.
impl QueryableByName<Pg> for User {
    fn build<'a>(row: &impl NamedRow<'a, Pg>) -> deserialize::Result<Self> {
        #[cfg(debug_assertions)]
        crate::db::check_column_names(row, user_columns!(), "user")?;
        Ok(Self {
            id: row.get_value::<SqlUuid, _, _>(0)?,
            username: row.get_value::<Text, _, _>(1)?,
            display_name: row.get_value::<Text, _, _>(2)?,
            location: row.get_value::<Nullable<Text>, _, _>(3)?,
            avatar_key: row.get_value::<Nullable<Text>, _, _>(4)?,
            role: row.get_value::<Text, _, _>(5)?,
            created_at: row.get_value::<Timestamptz, Timestamp, _>(6)?.into(),
            updated_at: row.get_value::<Timestamptz, Timestamp, _>(7)?.into(),
            deactivated_at: row
                .get_value::<Nullable<Timestamptz>, NullableTimestamp, _>(8)?
                .into(),
        })
    }
}

impl User {
    /// The role as an enum.
    pub fn role(&self) -> Role {
        Role::from_db(&self.role)
    }

    /// Whether the account may sign in.
    pub fn is_active(&self) -> bool {
        self.deactivated_at.is_none()
    }
}

/// A new account.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    /// Primary key (uuid v7).
    pub id: Uuid,
    /// Validated, lower-case username.
    pub username: &'a str,
    /// Validated display name.
    pub display_name: &'a str,
    /// Validated location.
    pub location: Option<&'a str>,
    /// `user` or `admin`.
    pub role: &'a str,
    /// argon2id PHC string.
    pub password_hash: &'a str,
}

/// Profile changes; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges<'a> {
    /// New display name.
    pub display_name: Option<&'a str>,
    /// New location; `Some(None)` clears it.
    pub location: Option<Option<&'a str>>,
    /// Always set: the change time.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Inserts a user and returns the row.
pub async fn insert(conn: &mut AsyncPgConnection, new: &NewUser<'_>) -> diesel::QueryResult<User> {
    diesel::insert_into(users::table)
        .values(new)
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// The user with this id.
///
/// This and [`active_role_for_token`] run on every `user(id)` request, so their text is
/// fixed SQL rather than diesel's query builder, which writes a statement's text again on
/// every call (its cached plan is found by that text): 9 % of the server's instructions for
/// such a request, measured.
pub async fn find(mut conn: &AsyncPgConnection, id: Uuid) -> diesel::QueryResult<Option<User>> {
    Cached(
        diesel::sql_query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE users.id = $1 LIMIT 1"
        ))
        .bind::<SqlUuid, _>(id),
    )
    .get_result(&mut conn)
    .await
    .optional()
}

/// The users with these ids, in no particular order. Fixed SQL, as [`find`]'s: every page of
/// messages reads its senders here.
pub async fn find_many(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> diesel::QueryResult<Vec<User>> {
    Cached(
        diesel::sql_query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE users.id = ANY($1)"
        ))
        .bind::<Array<SqlUuid>, _>(ids),
    )
    .load(conn)
    .await
}

/// The user with this username (already lower-cased), with their password's argon2id PHC
/// string: the one read of `password_hash`, which no other query selects.
pub async fn find_by_username(
    conn: &mut AsyncPgConnection,
    username: &str,
) -> diesel::QueryResult<Option<(User, String)>> {
    users::table
        .filter(users::username.eq(username))
        .select((User::as_select(), users::password_hash))
        .first(conn)
        .await
        .optional()
}

/// Applies profile changes and returns the new row.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &UserChanges<'_>,
) -> diesel::QueryResult<User> {
    diesel::update(users::table.find(id))
        .set(changes)
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// Sets or clears the deactivation time; returns the new row.
pub async fn set_deactivated(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    at: Option<DateTime<Utc>>,
) -> diesel::QueryResult<User> {
    diesel::update(users::table.find(id))
        .set((
            users::deactivated_at.eq(at),
            users::updated_at.eq(Utc::now()),
        ))
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// Changes a role; returns the new row.
pub async fn set_role(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    role: Role,
) -> diesel::QueryResult<User> {
    diesel::update(users::table.find(id))
        .set((
            users::role.eq(role.as_str()),
            users::updated_at.eq(Utc::now()),
        ))
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// Which users a listing shows.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Case-insensitive substring of the username or display name (already escaped for LIKE).
    pub like_pattern: Option<String>,
    /// Include deactivated accounts (admins only).
    pub include_deactivated: bool,
    /// Only accounts after this username (the cursor).
    pub after_username: Option<String>,
    /// Leave out the accounts that have blocked this user (the searcher).
    pub hidden_from: Option<Uuid>,
}

/// Users ordered by username, at most `limit` of them.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &UserFilter,
    limit: i64,
) -> diesel::QueryResult<Vec<User>> {
    let mut query = users::table.select(User::as_select()).into_boxed();
    if let Some(pattern) = &filter.like_pattern {
        query = query.filter(
            users::username
                .like(pattern.clone())
                .or(users::display_name.ilike(pattern.clone())),
        );
    }
    if !filter.include_deactivated {
        query = query.filter(users::deactivated_at.is_null());
    }
    if let Some(after) = &filter.after_username {
        query = query.filter(users::username.gt(after.clone()));
    }
    if let Some(searcher) = filter.hidden_from {
        use crate::db::schema::user_blocks;
        let blocked_by = user_blocks::table
            .filter(user_blocks::blocker_id.eq(users::id))
            .filter(user_blocks::blocked_id.eq(searcher));
        query = query.filter(diesel::dsl::not(diesel::dsl::exists(blocked_by)));
    }
    query
        .order(users::username.asc())
        .limit(limit)
        .load(conn)
        .await
}

/// The role of an active user with a live sign-in: the one query behind every authenticated
/// request. `None` when the user is gone or deactivated, or the sign-in was revoked.
pub async fn active_role_for_token(
    mut conn: &AsyncPgConnection,
    user_id: Uuid,
    family_id: Uuid,
) -> diesel::QueryResult<Option<String>> {
    /// The one column the statement reads.
    #[derive(QueryableByName)]
    struct Active {
        #[diesel(sql_type = Text)]
        role: String,
    }
    // Fixed text, as [`find`]'s, for the same reason.
    Cached(
        diesel::sql_query(
            "SELECT users.role FROM users \
               JOIN token_families ON token_families.user_id = users.id \
              WHERE users.id = $1 AND users.deactivated_at IS NULL \
                AND token_families.id = $2 AND token_families.revoked_at IS NULL \
              LIMIT 1",
        )
        .bind::<SqlUuid, _>(user_id)
        .bind::<SqlUuid, _>(family_id),
    )
    .get_result::<Active>(&mut conn)
    .await
    .optional()
    .map(|active| active.map(|a| a.role))
}
