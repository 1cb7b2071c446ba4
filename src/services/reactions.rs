//! Emoji reactions: members react to the messages of their conversations, once per emoji.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::events::{self, Change, Event};
use crate::models::message::{self as message_model, Message};
use crate::models::reaction as reaction_model;
use crate::models::session as session_model;
use crate::models::user::User;
use crate::services::input::Emoji;
use crate::services::{Page, blocks};
use crate::state::AppState;

/// Distinct emoji one message may carry; a new one beyond is refused (`BAD_USER_INPUT`),
/// while reacting with one already there always works.
pub const MAX_EMOJI_PER_MESSAGE: usize = 20;

/// Adds (`on`) or takes back the viewer's `emoji` reaction to a message of a conversation they
/// belong to. Idempotent: adding twice or removing what is not there changes nothing and
/// writes no event. Returns the message.
pub async fn react(
    state: &AppState,
    viewer: &Viewer,
    message_id: Uuid,
    emoji: Emoji,
    on: bool,
) -> AppResult<Message> {
    state
        .throttle
        .write_by(|r| &r.messages_per_user, viewer.user_id)
        .await?;
    let mut conn = state.db().await?;
    events::write(&state.hub, &mut conn, async |conn| {
        // The message row's lock serializes reactions to one message, so the emoji limit
        // holds under concurrent adds.
        let message = message_model::lock(conn, message_id)
            .await?
            .ok_or(AppError::NotFound("message"))?;
        let (session, _) = session_model::find_for_member(conn, message.session_id, viewer.user_id)
            .await?
            .ok_or(AppError::NotFound("message"))?;
        blocks::check_direct(conn, &session, viewer.user_id).await?;
        if message.deleted_at.is_some() {
            return Err(AppError::bad_input(
                "a deleted message cannot be reacted to",
            ));
        }
        let emoji = emoji.as_str();
        let changed = if on {
            let present = reaction_model::emoji_of(conn, message_id).await?;
            if !present.iter().any(|e| e == emoji) && present.len() >= MAX_EMOJI_PER_MESSAGE {
                return Err(AppError::bad_input(format!(
                    "a message carries at most {MAX_EMOJI_PER_MESSAGE} different emoji"
                )));
            }
            reaction_model::add(conn, message_id, emoji, viewer.user_id).await?
        } else {
            reaction_model::remove(conn, message_id, emoji, viewer.user_id).await?
        };
        let mut events = Vec::new();
        if changed {
            let change = if on {
                Change::ReactionAdded {
                    message: message_id,
                    emoji: emoji.to_owned(),
                }
            } else {
                Change::ReactionRemoved {
                    message: message_id,
                    emoji: emoji.to_owned(),
                }
            };
            events.push(Event::new(message.session_id, viewer.user_id, change));
        }
        Ok((message, events))
    })
    .await
}

/// Who reacted to a message with an emoji, earliest first. The caller got the message through
/// the viewer's membership (a `Reaction` is only reached from a message they may see).
pub async fn reactors(
    state: &AppState,
    message_id: Uuid,
    emoji: &str,
    first: usize,
    after: Option<(DateTime<Utc>, Uuid)>,
) -> AppResult<Page<(User, DateTime<Utc>)>> {
    let mut conn = state.db().await?;
    let rows =
        reaction_model::reactors(&mut conn, message_id, emoji, after, first as i64 + 1).await?;
    Ok(Page::from_overfetch(rows, first))
}
