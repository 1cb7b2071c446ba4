//! Profile pictures: who may change whose, and keeping the database and the object store in
//! step.
//!
//! An upload is checked and turned into thumbnails before anything is written. Then, in one
//! transaction holding the avatar key's lock ([`avatar_model::lock_key`]) and the user's row,
//! the objects are written and the user pointed at them. After the commit, the user's previous
//! avatar is deleted if nobody else uses it (identical pictures share objects), under that
//! avatar's lock. A failed request deletes what it wrote unless someone uses it. Whatever a
//! crash or an unreachable store leaves behind, [`sweep`] (`messenger media sweep`) deletes.

use std::time::Duration;

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::media::AvatarKey;
use crate::models::avatar as avatar_model;
use crate::models::user::User;
use crate::state::AppState;

/// Sets the viewer's profile picture from an uploaded file. Returns the user.
pub async fn set_avatar(state: &AppState, viewer: &Viewer, upload: Vec<u8>) -> AppResult<User> {
    state
        .throttle
        .write_by(|r| &r.uploads_per_user, viewer.user_id)
        .await?;
    let avatar = state.media.images.avatar(upload).await?;
    let key = avatar.key.to_string();
    let mut conn = state.db().await?;
    let written = conn
        .transaction::<_, AppError, _>(async |conn| {
            avatar_model::lock_key(conn, &key).await?;
            let previous = avatar_model::lock_user(conn, viewer.user_id)
                .await?
                .ok_or(AppError::NotFound("user"))?;
            state.media.store.put_avatar(&avatar).await?;
            let user = avatar_model::set_key(conn, viewer.user_id, Some(&key)).await?;
            Ok((user, previous))
        })
        .await;
    match written {
        Ok((user, previous)) => {
            if let Some(previous) = previous.filter(|p| *p != key) {
                release(state, &mut conn, &previous).await;
            }
            Ok(user)
        }
        Err(e) => {
            // Leave the store as it was: the objects go unless someone else uses them.
            release(state, &mut conn, &key).await;
            Err(e)
        }
    }
}

/// Removes a profile picture: the viewer's own, or (admins only) anyone's. Returns the user.
pub async fn remove_avatar(state: &AppState, viewer: &Viewer, user_id: Uuid) -> AppResult<User> {
    if user_id != viewer.user_id {
        viewer.require_admin()?;
    }
    let mut conn = state.db().await?;
    let (user, previous) = conn
        .transaction::<_, AppError, _>(async |conn| {
            let previous = avatar_model::lock_user(conn, user_id)
                .await?
                .ok_or(AppError::NotFound("user"))?;
            let user = match previous {
                Some(_) => avatar_model::set_key(conn, user_id, None).await?,
                None => crate::models::user::find(conn, user_id)
                    .await?
                    .ok_or(AppError::NotFound("user"))?,
            };
            Ok((user, previous))
        })
        .await?;
    if let Some(previous) = previous {
        release(state, &mut conn, &previous).await;
    }
    Ok(user)
}

/// Deletes an avatar's objects if no user uses it. Failures are logged, not returned: the
/// request that got here has done what it was asked, and the sweep finishes the job.
async fn release(state: &AppState, conn: &mut AsyncPgConnection, stored_key: &str) {
    let Some(key) = AvatarKey::parse(stored_key) else {
        tracing::warn!(
            key = stored_key,
            "a user pointed at an avatar key of unknown form"
        );
        return;
    };
    if let Err(e) = delete_if_unused(state, conn, &key).await {
        tracing::warn!(
            key = stored_key,
            error = ?e,
            "could not delete an unused avatar; `messenger media sweep` will"
        );
    }
}

/// Under the key's lock: deletes the avatar's objects if nobody uses it. Returns whether it
/// deleted them.
async fn delete_if_unused(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    key: &AvatarKey,
) -> AppResult<bool> {
    let stored_key = key.to_string();
    conn.transaction::<_, AppError, _>(async |conn| {
        avatar_model::lock_key(conn, &stored_key).await?;
        if avatar_model::is_used(conn, &stored_key).await? {
            return Ok(false);
        }
        state.media.store.delete_avatar(key).await?;
        Ok(true)
    })
    .await
}

/// What a sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Avatars found in the store.
    pub found: usize,
    /// Unused ones deleted.
    pub deleted: usize,
}

/// Deletes every avatar in the store that no user uses and that was written at least
/// `min_age` ago (younger ones may belong to an upload still in progress).
pub async fn sweep(state: &AppState, min_age: Duration) -> AppResult<SweepReport> {
    let avatars = state.media.store.list_avatars().await?;
    let cutoff = Utc::now() - min_age;
    let mut report = SweepReport {
        found: avatars.len(),
        deleted: 0,
    };
    let mut conn = state.db().await?;
    for avatar in avatars {
        if avatar.last_modified > cutoff {
            continue;
        }
        if delete_if_unused(state, &mut conn, &avatar.key).await? {
            tracing::info!(key = %avatar.key, "swept an unused avatar");
            report.deleted += 1;
        }
    }
    Ok(report)
}
