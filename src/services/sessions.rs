//! Conversations: starting direct ones, groups and their members, read markers, the inbox.
//!
//! Every function answers `NOT_FOUND` alike for a session that does not exist and for one the
//! viewer is not a member of, so non-members cannot learn that it exists.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::events::{self, Change, Event};
use crate::models::block as block_model;
use crate::models::session::{self as session_model, Member, NewSession, Session};
use crate::models::user as user_model;
use crate::services::blocks;
use crate::services::input::SessionTitle;
use crate::state::AppState;

/// Most members a group may have, its owner included.
pub const GROUP_MAX_MEMBERS: usize = 1000;
/// Largest page of sessions.
pub const MAX_PAGE: usize = 50;
/// Page size when none is asked for.
pub const DEFAULT_PAGE: usize = 20;

/// A member's role in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum MemberRole {
    /// Created the group, or inherited it; manages members and admins.
    Owner,
    /// Manages members and the title.
    Admin,
    /// Takes part.
    Member,
}

impl MemberRole {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    /// Reads the stored spelling.
    pub fn from_db(s: &str) -> Self {
        match s {
            "owner" => Self::Owner,
            "admin" => Self::Admin,
            _ => Self::Member,
        }
    }

    /// Whether the role manages the group.
    pub fn manages(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
    }
}

/// A session as one member sees it.
#[derive(Debug, Clone)]
pub struct SessionView {
    /// The conversation.
    pub session: Session,
    /// The viewer's membership (role, read marker).
    pub membership: Member,
}

const SESSION: AppError = AppError::NotFound("session");

fn new_member(session_id: Uuid, user_id: Uuid, role: MemberRole) -> Member {
    Member {
        session_id,
        user_id,
        role: role.as_str().to_owned(),
        joined_at: Utc::now(),
        last_read_seq: 0,
        muted_until: None,
    }
}

/// Checks that every id is an active user; `NOT_FOUND` names none of them.
async fn require_active_users(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> AppResult<()> {
    let users = user_model::find_many(conn, ids).await?;
    if users.len() != ids.len() {
        return Err(AppError::NotFound("user"));
    }
    if users.iter().any(|u| !u.is_active()) {
        return Err(AppError::bad_input(
            "a deactivated user cannot join a conversation",
        ));
    }
    Ok(())
}

/// The direct conversation between the viewer and another user, created the first time.
/// The same pair always gets the same session, whoever asks and however concurrently: the
/// database's unique index on the sorted pair decides. Starting one with yourself is refused
/// (`BAD_USER_INPUT`); with a deactivated user too.
pub async fn start_direct(
    state: &AppState,
    viewer: &Viewer,
    other: Uuid,
) -> AppResult<SessionView> {
    state
        .throttle
        .write_by(|r| &r.group_changes_per_user, viewer.user_id)
        .await?;
    if other == viewer.user_id {
        return Err(AppError::bad_input(
            "a direct conversation needs another user: you cannot start one with yourself",
        ));
    }
    let (low, high) = if viewer.user_id < other {
        (viewer.user_id, other)
    } else {
        (other, viewer.user_id)
    };
    let me = viewer.user_id;
    let mut conn = state.db().await?;
    events::write(&state.hub, &mut conn, async move |conn| {
        if let Some(session) = session_model::find_direct(conn, low, high).await? {
            let membership = session_model::find_member(conn, session.id, me)
                .await?
                .ok_or(SESSION)?;
            let view = SessionView {
                session,
                membership,
            };
            return Ok((view, Vec::new()));
        }
        require_active_users(conn, &[other]).await?;
        if block_model::between(conn, me, other)
            .await?
            .iter()
            .any(|(by, _)| *by == other)
        {
            return Err(blocks::blocked_sender());
        }
        let new = NewSession {
            id: Uuid::now_v7(),
            kind: "direct",
            title: None,
            created_by: me,
            direct_user_low: Some(low),
            direct_user_high: Some(high),
        };
        let mut created = Vec::new();
        let session = match session_model::insert_direct_if_absent(conn, &new).await? {
            Some(session) => {
                session_model::insert_members(
                    conn,
                    &[
                        new_member(session.id, low, MemberRole::Member),
                        new_member(session.id, high, MemberRole::Member),
                    ],
                )
                .await?;
                created = [low, high]
                    .map(|member| Event::new(session.id, me, Change::SessionCreated { member }))
                    .into();
                session
            }
            // Another request created it between our look-up and our insert; it committed
            // before our insert returned, so it is visible now.
            None => session_model::find_direct(conn, low, high)
                .await?
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("direct session vanished")))?,
        };
        let membership = session_model::find_member(conn, session.id, me)
            .await?
            .ok_or(SESSION)?;
        let view = SessionView {
            session,
            membership,
        };
        Ok((view, created))
    })
    .await
}

/// Creates a group with a title; the viewer is its owner and the others plain members.
pub async fn create_group(
    state: &AppState,
    viewer: &Viewer,
    title: SessionTitle,
    member_ids: Vec<Uuid>,
) -> AppResult<SessionView> {
    state
        .throttle
        .write_by(|r| &r.group_changes_per_user, viewer.user_id)
        .await?;
    let mut others: Vec<Uuid> = member_ids
        .into_iter()
        .filter(|id| *id != viewer.user_id)
        .collect();
    others.sort();
    others.dedup();
    if others.len() + 1 > GROUP_MAX_MEMBERS {
        return Err(AppError::bad_input(format!(
            "a group has at most {GROUP_MAX_MEMBERS} members"
        )));
    }
    let me = viewer.user_id;
    let mut conn = state.db().await?;
    events::write(&state.hub, &mut conn, async move |conn| {
        require_active_users(conn, &others).await?;
        let session = session_model::insert(
            conn,
            &NewSession {
                id: Uuid::now_v7(),
                kind: "group",
                title: Some(title.as_str()),
                created_by: me,
                direct_user_low: None,
                direct_user_high: None,
            },
        )
        .await?;
        let mut members = vec![new_member(session.id, me, MemberRole::Owner)];
        members.extend(
            others
                .iter()
                .map(|id| new_member(session.id, *id, MemberRole::Member)),
        );
        for chunk in members.chunks(5000) {
            session_model::insert_members(conn, chunk).await?;
        }
        let created: Vec<_> = members
            .iter()
            .map(|m| Event::new(session.id, me, Change::SessionCreated { member: m.user_id }))
            .collect();
        let membership = members.swap_remove(0);
        let view = SessionView {
            session,
            membership,
        };
        Ok((view, created))
    })
    .await
}

/// The viewer's view of a session, or `NOT_FOUND`.
pub async fn get(
    conn: &AsyncPgConnection,
    viewer: &Viewer,
    session_id: Uuid,
) -> AppResult<SessionView> {
    let (session, membership) = session_model::find_for_member(conn, session_id, viewer.user_id)
        .await?
        .ok_or(SESSION)?;
    Ok(SessionView {
        session,
        membership,
    })
}

/// A page of the viewer's sessions, most recently active first.
#[derive(Debug)]
pub struct SessionPage {
    /// The sessions.
    pub sessions: Vec<SessionView>,
    /// Whether more follow.
    pub has_next_page: bool,
}

/// The viewer's sessions after a `(last activity, id)` cursor.
pub async fn list(
    conn: &AsyncPgConnection,
    viewer: &Viewer,
    first: usize,
    after: Option<(DateTime<Utc>, Uuid)>,
) -> AppResult<SessionPage> {
    let mut rows =
        session_model::list_for_member(conn, viewer.user_id, after, first as i64 + 1).await?;
    let has_next_page = rows.len() > first;
    rows.truncate(first);
    Ok(SessionPage {
        sessions: rows
            .into_iter()
            .map(|(session, membership)| SessionView {
                session,
                membership,
            })
            .collect(),
        has_next_page,
    })
}

/// Locks a group for a change by a member who manages it; `NOT_FOUND` for non-members,
/// `BAD_USER_INPUT` for direct sessions, `FORBIDDEN` for plain members.
async fn lock_managed_group(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    viewer: &Viewer,
) -> AppResult<(Session, Member)> {
    let (session, me) = session_model::lock_for_member(conn, session_id, viewer.user_id)
        .await?
        .ok_or(SESSION)?;
    if !session.is_group() {
        return Err(AppError::bad_input(
            "direct conversations have no members to manage",
        ));
    }
    if !MemberRole::from_db(&me.role).manages() {
        return Err(AppError::forbidden(
            "only the group's owners and admins can do this",
        ));
    }
    Ok((session, me))
}

/// Adds users to a group (owners and admins only). Users already in it are left as they are.
pub async fn add_members(
    state: &AppState,
    viewer: &Viewer,
    session_id: Uuid,
    user_ids: Vec<Uuid>,
) -> AppResult<(SessionView, Vec<Uuid>)> {
    state
        .throttle
        .write_by(|r| &r.group_changes_per_user, viewer.user_id)
        .await?;
    let mut ids = user_ids;
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Err(AppError::bad_input("userIds must name at least one user"));
    }
    if ids.len() > GROUP_MAX_MEMBERS {
        return Err(AppError::bad_input(format!(
            "a group has at most {GROUP_MAX_MEMBERS} members"
        )));
    }
    let mut conn = state.db().await?;
    events::write(&state.hub, &mut conn, async move |conn| {
        let (session, me) = lock_managed_group(conn, session_id, viewer).await?;
        require_active_users(conn, &ids).await?;
        let count = session_model::member_count(conn, session_id).await? as usize;
        let rows: Vec<Member> = ids
            .iter()
            .map(|id| new_member(session_id, *id, MemberRole::Member))
            .collect();
        let added = session_model::insert_members(conn, &rows).await?;
        if count + added.len() > GROUP_MAX_MEMBERS {
            return Err(AppError::bad_input(format!(
                "a group has at most {GROUP_MAX_MEMBERS} members"
            )));
        }
        let events: Vec<_> = added
            .iter()
            .map(|m| {
                let change = Change::MemberAdded { member: m.user_id };
                Event::new(session_id, viewer.user_id, change)
            })
            .collect();
        let view = SessionView {
            session,
            membership: me,
        };
        Ok((
            (view, added.into_iter().map(|m| m.user_id).collect()),
            events,
        ))
    })
    .await
}

/// Removes a member from a group. Owners remove anyone but themselves (they leave instead);
/// admins remove plain members.
pub async fn remove_member(
    state: &AppState,
    viewer: &Viewer,
    session_id: Uuid,
    user_id: Uuid,
) -> AppResult<SessionView> {
    state
        .throttle
        .write_by(|r| &r.group_changes_per_user, viewer.user_id)
        .await?;
    if user_id == viewer.user_id {
        return Err(AppError::bad_input("to remove yourself, leave the session"));
    }
    let mut conn = state.db().await?;
    events::write(&state.hub, &mut conn, async move |conn| {
        let (session, me) = lock_managed_group(conn, session_id, viewer).await?;
        let target = session_model::find_member(conn, session_id, user_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        let my_role = MemberRole::from_db(&me.role);
        if my_role != MemberRole::Owner && MemberRole::from_db(&target.role) != MemberRole::Member {
            return Err(AppError::forbidden(
                "only owners can remove owners and admins",
            ));
        }
        session_model::delete_member(conn, session_id, user_id).await?;
        let removed = Change::MemberRemoved { member: user_id };
        let view = SessionView {
            session,
            membership: me,
        };
        Ok((view, vec![Event::new(session_id, viewer.user_id, removed)]))
    })
    .await
}

/// Leaves a group. When its last owner leaves, the longest-standing remaining member becomes
/// owner. Direct conversations cannot be left.
pub async fn leave(state: &AppState, viewer: &Viewer, session_id: Uuid) -> AppResult<Option<Uuid>> {
    state
        .throttle
        .write_by(|r| &r.group_changes_per_user, viewer.user_id)
        .await?;
    let mut conn = state.db().await?;
    events::write(&state.hub, &mut conn, async move |conn| {
        let (session, me) = session_model::lock_for_member(conn, session_id, viewer.user_id)
            .await?
            .ok_or(SESSION)?;
        if !session.is_group() {
            return Err(AppError::bad_input("direct conversations cannot be left"));
        }
        session_model::delete_member(conn, session_id, viewer.user_id).await?;
        let mut events = vec![Event::new(session_id, viewer.user_id, Change::MemberLeft)];
        if MemberRole::from_db(&me.role) != MemberRole::Owner {
            return Ok((None, events));
        }
        let remaining = session_model::members_of(conn, &[session_id]).await?;
        if remaining
            .iter()
            .any(|m| MemberRole::from_db(&m.role) == MemberRole::Owner)
        {
            return Ok((None, events));
        }
        // `members_of` orders by joined_at, then user id: the first is the longest-standing.
        let Some(heir) = remaining.first() else {
            return Ok((None, events));
        };
        session_model::set_member_role(conn, session_id, heir.user_id, MemberRole::Owner.as_str())
            .await?;
        let handover = Change::MemberRoleChanged {
            member: heir.user_id,
            role: MemberRole::Owner,
        };
        events.push(Event::new(session_id, viewer.user_id, handover));
        Ok((Some(heir.user_id), events))
    })
    .await
}

/// Changes another member's role (owners only): promote to admin or owner, or demote.
pub async fn set_member_role(
    state: &AppState,
    viewer: &Viewer,
    session_id: Uuid,
    user_id: Uuid,
    role: MemberRole,
) -> AppResult<SessionView> {
    state
        .throttle
        .write_by(|r| &r.group_changes_per_user, viewer.user_id)
        .await?;
    if user_id == viewer.user_id {
        return Err(AppError::bad_input("you cannot change your own role"));
    }
    let mut conn = state.db().await?;
    events::write(&state.hub, &mut conn, async move |conn| {
        let (session, me) = lock_managed_group(conn, session_id, viewer).await?;
        if MemberRole::from_db(&me.role) != MemberRole::Owner {
            return Err(AppError::forbidden("only owners change roles"));
        }
        session_model::find_member(conn, session_id, user_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        session_model::set_member_role(conn, session_id, user_id, role.as_str()).await?;
        let changed = Change::MemberRoleChanged {
            member: user_id,
            role,
        };
        let view = SessionView {
            session,
            membership: me,
        };
        Ok((view, vec![Event::new(session_id, viewer.user_id, changed)]))
    })
    .await
}

/// Renames a group (owners and admins).
pub async fn rename(
    state: &AppState,
    viewer: &Viewer,
    session_id: Uuid,
    title: SessionTitle,
) -> AppResult<SessionView> {
    state
        .throttle
        .write_by(|r| &r.group_changes_per_user, viewer.user_id)
        .await?;
    let mut conn = state.db().await?;
    events::write(&state.hub, &mut conn, async move |conn| {
        let (_, me) = lock_managed_group(conn, session_id, viewer).await?;
        let session = session_model::set_title(conn, session_id, title.as_str()).await?;
        let renamed = Change::SessionRenamed {
            title: title.as_str().to_owned(),
        };
        let view = SessionView {
            session,
            membership: me,
        };
        Ok((view, vec![Event::new(session_id, viewer.user_id, renamed)]))
    })
    .await
}

/// Moves the viewer's read marker forward to `up_to` (clamped to the last message; never
/// backwards).
pub async fn mark_read(
    state: &AppState,
    viewer: &Viewer,
    session_id: Uuid,
    up_to: i64,
) -> AppResult<SessionView> {
    if up_to < 0 {
        return Err(AppError::bad_input("upTo must not be negative"));
    }
    let mut conn = state.db().await?;
    events::write(&state.hub, &mut conn, async |conn| {
        let (session, mut membership) =
            session_model::share_for_member(conn, session_id, viewer.user_id)
                .await?
                .ok_or(SESSION)?;
        let before = membership.last_read_seq;
        membership.last_read_seq =
            session_model::advance_read_marker(conn, session_id, viewer.user_id, up_to).await?;
        let mut events = Vec::new();
        if membership.last_read_seq != before {
            let moved = Change::ReadMarker {
                up_to: membership.last_read_seq,
            };
            events.push(Event::new(session_id, viewer.user_id, moved));
        }
        let view = SessionView {
            session,
            membership,
        };
        Ok((view, events))
    })
    .await
}

/// Longest a mute with an end may last; longer is "for good".
pub const MAX_MUTE_DAYS: i64 = 366;

/// Mutes a conversation for the viewer until `until` (in the future, at most a year ahead),
/// or for good with `None`. The conversation keeps its place in the inbox; it raises no
/// notices (see [`crate::services::notify`]).
pub async fn mute(
    state: &AppState,
    viewer: &Viewer,
    session_id: Uuid,
    until: Option<DateTime<Utc>>,
) -> AppResult<SessionView> {
    let now = Utc::now();
    let until = match until {
        None => session_model::muted_for_good(),
        Some(t) if t <= now => {
            return Err(AppError::bad_input("until must be in the future"));
        }
        Some(t) if t > now + chrono::Duration::days(MAX_MUTE_DAYS) => {
            return Err(AppError::bad_input(format!(
                "until must be within {MAX_MUTE_DAYS} days: leave it out to mute for good"
            )));
        }
        Some(t) => t,
    };
    set_mute(state, viewer, session_id, Some(until)).await
}

/// Unmutes a conversation for the viewer (harmless if it was not muted).
pub async fn unmute(state: &AppState, viewer: &Viewer, session_id: Uuid) -> AppResult<SessionView> {
    set_mute(state, viewer, session_id, None).await
}

async fn set_mute(
    state: &AppState,
    viewer: &Viewer,
    session_id: Uuid,
    until: Option<DateTime<Utc>>,
) -> AppResult<SessionView> {
    state
        .throttle
        .write_by(|r| &r.group_changes_per_user, viewer.user_id)
        .await?;
    let mut conn = state.db().await?;
    let session = session_model::find_for_member(&conn, session_id, viewer.user_id)
        .await?
        .ok_or(SESSION)?
        .0;
    let membership = session_model::set_muted_until(&mut conn, session_id, viewer.user_id, until)
        .await?
        .ok_or(SESSION)?;
    Ok(SessionView {
        session,
        membership,
    })
}
