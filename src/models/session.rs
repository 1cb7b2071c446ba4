//! The `sessions` (conversations) and `session_members` tables.

use chrono::{DateTime, Utc};
use diesel::prelude::{Insertable, Queryable, QueryableByName, Selectable};
use diesel::sql_types::{Array, BigInt, Uuid as SqlUuid};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::Cached;
use crate::db::schema::{session_members, sessions};
use crate::db::time::{NullableTimestamp, Timestamp};

/// A row of `sessions`.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub struct Session {
    /// Primary key.
    pub id: Uuid,
    /// `direct` or `group`.
    pub kind: String,
    /// Group title.
    pub title: Option<String>,
    /// Creator.
    pub created_by: Uuid,
    /// Smaller user id of a direct pair.
    pub direct_user_low: Option<Uuid>,
    /// Larger user id of a direct pair.
    pub direct_user_high: Option<Uuid>,
    /// Creation time.
    #[diesel(deserialize_as = Timestamp)]
    pub created_at: DateTime<Utc>,
    /// Time of the last message.
    #[diesel(deserialize_as = NullableTimestamp)]
    pub last_message_at: Option<DateTime<Utc>>,
    /// Time of the last activity (inbox order).
    #[diesel(deserialize_as = Timestamp)]
    pub last_activity_at: DateTime<Utc>,
    /// Sequence number of the last message.
    pub last_message_seq: i64,
    /// Per-session event counter.
    pub event_seq: i64,
}

impl Session {
    /// Whether this is a group (not a direct conversation).
    pub fn is_group(&self) -> bool {
        self.kind == "group"
    }
}

/// A row of `session_members`.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName, Insertable)]
#[diesel(table_name = session_members, check_for_backend(diesel::pg::Pg))]
pub struct Member {
    /// The conversation.
    pub session_id: Uuid,
    /// The member.
    pub user_id: Uuid,
    /// `owner`, `admin` or `member`.
    pub role: String,
    /// When they joined.
    #[diesel(deserialize_as = Timestamp)]
    pub joined_at: DateTime<Utc>,
    /// Sequence number of the last message they read.
    pub last_read_seq: i64,
    /// Muted until then ([`muted_for_good`]: for good).
    #[diesel(deserialize_as = NullableTimestamp)]
    pub muted_until: Option<DateTime<Utc>>,
}

impl Member {
    /// Whether the conversation is muted for this member at `now`.
    pub fn muted_at(&self, now: DateTime<Utc>) -> bool {
        self.muted_until.is_some_and(|until| until > now)
    }
}

/// The `muted_until` of a conversation muted for good: [`end_of_time`].
pub fn muted_for_good() -> DateTime<Utc> {
    end_of_time()
}

/// The last second of year 9999: later than any real time, and one PostgreSQL stores.
pub fn end_of_time() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A new conversation.
#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    /// Primary key (uuid v7).
    pub id: Uuid,
    /// `direct` or `group`.
    pub kind: &'a str,
    /// Group title.
    pub title: Option<&'a str>,
    /// Creator.
    pub created_by: Uuid,
    /// Smaller user id of a direct pair.
    pub direct_user_low: Option<Uuid>,
    /// Larger user id of a direct pair.
    pub direct_user_high: Option<Uuid>,
}

/// Inserts a direct session unless the pair already has one; returns the new row or `None`.
pub async fn insert_direct_if_absent(
    conn: &mut AsyncPgConnection,
    new: &NewSession<'_>,
) -> diesel::QueryResult<Option<Session>> {
    diesel::insert_into(sessions::table)
        .values(new)
        .on_conflict_do_nothing()
        .returning(Session::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// The direct session of an ordered pair.
pub async fn find_direct(
    conn: &mut AsyncPgConnection,
    low: Uuid,
    high: Uuid,
) -> diesel::QueryResult<Option<Session>> {
    sessions::table
        .filter(sessions::kind.eq("direct"))
        .filter(sessions::direct_user_low.eq(low))
        .filter(sessions::direct_user_high.eq(high))
        .select(Session::as_select())
        .first(conn)
        .await
        .optional()
}

/// Inserts a session (a group).
pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: &NewSession<'_>,
) -> diesel::QueryResult<Session> {
    diesel::insert_into(sessions::table)
        .values(new)
        .returning(Session::as_returning())
        .get_result(conn)
        .await
}

/// Adds members; existing members are left as they are. Returns the rows actually added.
pub async fn insert_members(
    conn: &mut AsyncPgConnection,
    members: &[Member],
) -> diesel::QueryResult<Vec<Member>> {
    diesel::insert_into(session_members::table)
        .values(members)
        .on_conflict_do_nothing()
        .returning(Member::as_returning())
        .get_results(conn)
        .await
}

/// How a read of the viewer's membership locks the rows it reads.
enum RowLock {
    None,
    KeyShare,
    Update,
}

/// A session row and a member row, read by their column names (no name is in both).
#[derive(QueryableByName)]
struct MemberOf {
    #[diesel(embed)]
    session: Session,
    #[diesel(embed)]
    member: Member,
}

/// The statement of [`member_of`], up to its lock clause: fixed SQL, as `user::find`'s, for
/// it runs on every history page (diesel's query builder wrote its text again on every call;
/// this and the senders' read as fixed SQL saved 2.7 % of a page's instructions).
macro_rules! member_of_sql {
    ($lock:literal) => {
        concat!(
            "SELECT sessions.id, sessions.kind, sessions.title, sessions.created_by, \
                    sessions.direct_user_low, sessions.direct_user_high, sessions.created_at, \
                    sessions.last_message_at, sessions.last_activity_at, \
                    sessions.last_message_seq, sessions.event_seq, \
                    session_members.session_id, session_members.user_id, \
                    session_members.role, session_members.joined_at, \
                    session_members.last_read_seq, session_members.muted_until \
               FROM sessions JOIN session_members ON session_members.session_id = sessions.id \
              WHERE sessions.id = $1 AND session_members.user_id = $2 LIMIT 1",
            $lock
        )
    };
}

/// The session with this id and the viewer's membership, locked as `lock` says (both rows).
async fn member_of(
    mut conn: &AsyncPgConnection,
    session_id: Uuid,
    user_id: Uuid,
    lock: RowLock,
) -> diesel::QueryResult<Option<(Session, Member)>> {
    let text = match lock {
        RowLock::None => member_of_sql!(""),
        RowLock::KeyShare => member_of_sql!(" FOR KEY SHARE"),
        RowLock::Update => member_of_sql!(" FOR UPDATE"),
    };
    Cached(
        diesel::sql_query(text)
            .bind::<SqlUuid, _>(session_id)
            .bind::<SqlUuid, _>(user_id),
    )
    .get_result::<MemberOf>(&mut conn)
    .await
    .optional()
    .map(|row| row.map(|row| (row.session, row.member)))
}

/// The session with this id, with the viewer's membership, if the viewer is a member.
pub async fn find_for_member(
    conn: &AsyncPgConnection,
    session_id: Uuid,
    user_id: Uuid,
) -> diesel::QueryResult<Option<(Session, Member)>> {
    member_of(conn, session_id, user_id, RowLock::None).await
}

/// Like [`find_for_member`], holding the session row `FOR KEY SHARE` (the lock the event
/// row's foreign key takes anyway), for a transaction that then updates the viewer's member
/// row: taken first, it makes the transaction wait for a membership change (which holds the
/// session row `FOR UPDATE` and then updates member rows) before it touches a member row.
/// Member row, then session row, was the other order, and the two deadlocked.
pub async fn share_for_member(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    user_id: Uuid,
) -> diesel::QueryResult<Option<(Session, Member)>> {
    member_of(conn, session_id, user_id, RowLock::KeyShare).await
}

/// Like [`find_for_member`], locking the session row (serializes membership changes).
pub async fn lock_for_member(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    user_id: Uuid,
) -> diesel::QueryResult<Option<(Session, Member)>> {
    member_of(conn, session_id, user_id, RowLock::Update).await
}

diesel::define_sql_function! {
    /// The hour a time falls in (UTC): the unit of `session_members.activity_hour`, defined
    /// by the migration `inbox_activity_order`.
    fn activity_hour(t: diesel::sql_types::Timestamptz) -> diesel::sql_types::Timestamptz;
}

diesel::define_sql_function! {
    /// PostgreSQL's `coalesce` of a nullable time and a time.
    #[sql_name = "coalesce"]
    fn time_or(a: diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>, b: diesel::sql_types::Timestamptz) -> diesel::sql_types::Timestamptz;
}

/// The viewer's sessions, most recently active first (ties: larger id first), after the
/// keyset cursor if any.
///
/// Sorts only the sessions of the newest hours that hold the page, not all of the viewer's:
/// member rows carry their session's activity hour (kept by triggers) under the index
/// `(user_id, activity_hour DESC, session_id)`. Among the sessions of hours before the
/// cursor's, the `limit`-th newest hour bounds the page: sessions of older hours are older
/// than at least `limit` others, so they cannot be on it. One statement of fixed shape for
/// the first page and the next ones (no cursor reads as one at the end of time), so its
/// prepared form is cached.
pub async fn list_for_member(
    mut conn: &AsyncPgConnection,
    user_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> diesel::QueryResult<Vec<(Session, Member)>> {
    use diesel::BoolExpressionMethods;
    let (at, id) = after.unwrap_or((end_of_time(), Uuid::max()));
    let older = diesel::alias!(session_members as older);
    let bound = older
        .filter(older.field(session_members::user_id).eq(user_id))
        .filter(
            older
                .field(session_members::activity_hour)
                .lt(activity_hour(at)),
        )
        .select(older.field(session_members::activity_hour))
        .order(older.field(session_members::activity_hour).desc())
        .offset(limit.max(1) - 1)
        .single_value();
    // Fewer sessions than a page before the cursor's hour: all of them (none is that old).
    let before_any = DateTime::<Utc>::UNIX_EPOCH;
    sessions::table
        .inner_join(session_members::table)
        .filter(session_members::user_id.eq(user_id))
        .filter(session_members::activity_hour.le(activity_hour(at)))
        .filter(session_members::activity_hour.ge(time_or(bound, before_any)))
        .filter(
            sessions::last_activity_at
                .lt(at)
                .or(sessions::last_activity_at.eq(at).and(sessions::id.lt(id))),
        )
        .select((Session::as_select(), Member::as_select()))
        .order((sessions::last_activity_at.desc(), sessions::id.desc()))
        .limit(limit)
        .load(&mut conn)
        .await
}

/// These sessions with one member's row, where that user is a member.
pub async fn find_many_for_member(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    session_ids: &[Uuid],
) -> diesel::QueryResult<Vec<(Session, Member)>> {
    sessions::table
        .inner_join(session_members::table)
        .filter(sessions::id.eq_any(session_ids))
        .filter(session_members::user_id.eq(user_id))
        .select((Session::as_select(), Member::as_select()))
        .load(conn)
        .await
}

/// Sessions by id.
pub async fn find_many(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> diesel::QueryResult<Vec<Session>> {
    sessions::table
        .filter(sessions::id.eq_any(ids))
        .select(Session::as_select())
        .load(conn)
        .await
}

/// Members of these sessions, longest-standing first.
pub async fn members_of(
    conn: &mut AsyncPgConnection,
    session_ids: &[Uuid],
) -> diesel::QueryResult<Vec<Member>> {
    session_members::table
        .filter(session_members::session_id.eq_any(session_ids))
        .order((
            session_members::session_id,
            session_members::joined_at,
            session_members::user_id,
        ))
        .select(Member::as_select())
        .load(conn)
        .await
}

/// Members of these sessions with their accounts, longest-standing first: one query.
pub async fn members_with_users(
    conn: &mut AsyncPgConnection,
    session_ids: &[Uuid],
) -> diesel::QueryResult<Vec<(Member, crate::models::user::User)>> {
    use crate::db::schema::users;
    session_members::table
        .inner_join(users::table)
        .filter(session_members::session_id.eq_any(session_ids))
        .order((
            session_members::session_id,
            session_members::joined_at,
            session_members::user_id,
        ))
        .select((Member::as_select(), crate::models::user::User::as_select()))
        .load(conn)
        .await
}

/// Number of members of a session.
pub async fn member_count(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
) -> diesel::QueryResult<i64> {
    session_members::table
        .filter(session_members::session_id.eq(session_id))
        .count()
        .get_result(conn)
        .await
}

/// One member's row.
pub async fn find_member(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    user_id: Uuid,
) -> diesel::QueryResult<Option<Member>> {
    session_members::table
        .find((session_id, user_id))
        .select(Member::as_select())
        .first(conn)
        .await
        .optional()
}

/// Removes a member; returns whether a row was removed.
pub async fn delete_member(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    user_id: Uuid,
) -> diesel::QueryResult<bool> {
    diesel::delete(session_members::table.find((session_id, user_id)))
        .execute(conn)
        .await
        .map(|n| n > 0)
}

/// Changes a member's role.
pub async fn set_member_role(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    user_id: Uuid,
    role: &str,
) -> diesel::QueryResult<()> {
    diesel::update(session_members::table.find((session_id, user_id)))
        .set(session_members::role.eq(role))
        .execute(conn)
        .await
        .map(drop)
}

/// Renames a group and bumps its activity.
pub async fn set_title(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    title: &str,
) -> diesel::QueryResult<Session> {
    diesel::update(sessions::table.find(session_id))
        .set((
            sessions::title.eq(title),
            sessions::last_activity_at.eq(diesel::dsl::now),
        ))
        .returning(Session::as_returning())
        .get_result(conn)
        .await
}

/// Moves a member's read marker forward (never back), up to the last message. Returns the
/// new marker.
pub async fn advance_read_marker(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    user_id: Uuid,
    up_to: i64,
) -> diesel::QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Marker {
        #[diesel(sql_type = BigInt)]
        last_read_seq: i64,
    }
    let row: Marker = Cached(
        diesel::sql_query(
            "UPDATE session_members sm \
             SET last_read_seq = GREATEST(sm.last_read_seq, LEAST($3, s.last_message_seq)) \
             FROM sessions s \
             WHERE s.id = sm.session_id AND sm.session_id = $1 AND sm.user_id = $2 \
             RETURNING sm.last_read_seq",
        )
        .bind::<SqlUuid, _>(session_id)
        .bind::<SqlUuid, _>(user_id)
        .bind::<BigInt, _>(up_to),
    )
    .get_result(conn)
    .await?;
    Ok(row.last_read_seq)
}

/// The most unread messages counted per session: counting stops there, so the cost of an
/// unread count stays bounded however far behind a member is (a member 67,000 messages
/// behind cost 27 ms before).
pub const MAX_UNREAD_COUNT: i64 = 1000;

/// Unread messages (from others, not deleted, after the marker) of one member in each of
/// these sessions: one query for any number of sessions.
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
                    (SELECT count(*) FROM (SELECT 1 FROM messages m \
                      WHERE m.session_id = sm.session_id AND m.seq > sm.last_read_seq \
                        AND m.deleted_at IS NULL AND m.sender_id <> sm.user_id \
                      LIMIT $3) counted) AS unread \
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

/// Sets (or with `None` clears) a member's mute; `None` when they are not a member.
pub async fn set_muted_until(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    user_id: Uuid,
    until: Option<DateTime<Utc>>,
) -> diesel::QueryResult<Option<Member>> {
    diesel::update(session_members::table.find((session_id, user_id)))
        .set(session_members::muted_until.eq(until))
        .returning(Member::as_returning())
        .get_result(conn)
        .await
        .optional()
}
