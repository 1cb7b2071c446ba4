//! Blocking: a user blocks another so that the other cannot start a direct conversation with
//! them, cannot send into the one they have, and does not find them in user search. In groups
//! both stay members; the blocker's view marks the blocked user's messages.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::models::block as block_model;
use crate::models::session::Session;
use crate::models::user::{self as user_model, User};
use crate::services::Page;
use crate::state::AppState;

/// How many users one account may block.
pub const MAX_BLOCKS: i64 = 1_000;

/// The refusal a blocked user gets when messaging the user who blocked them: it says no more
/// than that they cannot.
pub fn blocked_sender() -> AppError {
    AppError::forbidden("you cannot send messages to this user")
}

/// The refusal a user gets when messaging someone they blocked.
pub fn blocking_sender() -> AppError {
    AppError::forbidden("you blocked this user: unblock them to send messages")
}

/// In a direct session, refuses what `actor` would do to the other user if either has
/// blocked the other (reacting, typing; sending checks the same inside its statement).
/// Groups are not affected.
pub async fn check_direct(
    conn: &mut diesel_async::AsyncPgConnection,
    session: &Session,
    actor: Uuid,
) -> AppResult<()> {
    let (Some(low), Some(high)) = (session.direct_user_low, session.direct_user_high) else {
        return Ok(());
    };
    let blocks = block_model::between(conn, low, high).await?;
    if blocks.iter().any(|(by, _)| *by == actor) {
        Err(blocking_sender())
    } else if blocks.is_empty() {
        Ok(())
    } else {
        Err(blocked_sender())
    }
}

/// Blocks a user. Blocking twice is harmless. Returns the user blocked.
pub async fn block(state: &AppState, viewer: &Viewer, user_id: Uuid) -> AppResult<User> {
    state
        .throttle
        .write_by(|r| &r.group_changes_per_user, viewer.user_id)
        .await?;
    if user_id == viewer.user_id {
        return Err(AppError::bad_input("you cannot block yourself"));
    }
    let mut conn = state.db().await?;
    let user = user_model::find(&conn, user_id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let blocker = viewer.user_id;
    conn.transaction::<_, AppError, _>(async |conn| {
        // The blocker's own row, locked, serializes their blocks: two at once cannot both
        // see room for one more. (`NO KEY UPDATE`: their sends' foreign-key locks pass.)
        block_model::lock_blocker(conn, blocker).await?;
        if block_model::count(conn, blocker).await? >= MAX_BLOCKS {
            return Err(AppError::bad_input(format!(
                "you can block at most {MAX_BLOCKS} users: unblock someone first"
            )));
        }
        block_model::insert(conn, blocker, user_id).await?;
        Ok(())
    })
    .await?;
    Ok(user)
}

/// Lifts a block. Unblocking someone not blocked is harmless. Returns the user.
pub async fn unblock(state: &AppState, viewer: &Viewer, user_id: Uuid) -> AppResult<User> {
    state
        .throttle
        .write_by(|r| &r.group_changes_per_user, viewer.user_id)
        .await?;
    let mut conn = state.db().await?;
    let user = user_model::find(&conn, user_id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    block_model::delete(&mut conn, viewer.user_id, user_id).await?;
    Ok(user)
}

/// The users the viewer has blocked, with when, most recent first.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    first: usize,
    after: Option<(DateTime<Utc>, Uuid)>,
) -> AppResult<Page<(User, DateTime<Utc>)>> {
    let mut conn = state.db().await?;
    let rows = block_model::list(&mut conn, viewer.user_id, after, first as i64 + 1).await?;
    Ok(Page::from_overfetch(rows, first))
}
