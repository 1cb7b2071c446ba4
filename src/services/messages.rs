//! Messages: sending (idempotent per client message id), editing, deleting, history windows
//! and search.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult, unique_violation};
use crate::events::{self, Change, Event};
use crate::models::attachment as attachment_model;
use crate::models::mention as mention_model;
use crate::models::message::{
    self as message_model, Message, NewMessage, PageFrom, Sending, Window,
};
use crate::models::session as session_model;
use crate::services::input::{ClientMessageId, MessageBody, MessageSearch};
use crate::services::mentions::{self, Asked};
use crate::services::sessions::MemberRole;
use crate::services::{attachments, blocks};
use crate::state::AppState;

/// Largest page of history or search results.
pub const MAX_PAGE: usize = 100;
/// History page size when none is asked for.
pub const DEFAULT_PAGE: usize = 20;

/// A message to send, validated.
#[derive(Debug)]
pub struct Outgoing {
    /// The conversation.
    pub session_id: Uuid,
    /// The text.
    pub body: MessageBody,
    /// The message this one answers (same session).
    pub reply_to: Option<Uuid>,
    /// The client's idempotency key.
    pub client_message_id: Option<ClientMessageId>,
    /// Ids of members the client picked to mention (besides `@name` in the body).
    pub mention_ids: Vec<Uuid>,
    /// The sender's uploads to attach, in order (at most [`attachments::MAX_PER_MESSAGE`]).
    pub attachment_ids: Vec<Uuid>,
}

/// What a send did.
#[derive(Debug)]
pub struct Sent {
    /// The stored message.
    pub message: Message,
    /// False when a retry found the message sent the first time.
    pub created: bool,
}

/// Why a send transaction rolled back.
enum SendFailure {
    /// A rule or the database said no.
    App(AppError),
    /// The client message id was used by a concurrent send that committed first: roll back
    /// (giving the sequence number back) and return that message.
    Duplicate,
}

impl From<AppError> for SendFailure {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

impl From<diesel::result::Error> for SendFailure {
    /// A race lost on the client message id (only the send statement inserts a message) is a
    /// duplicate; any other error is the app's.
    fn from(e: diesel::result::Error) -> Self {
        if unique_violation(&e) == Some("messages_client_message_id_key") {
            Self::Duplicate
        } else {
            Self::App(e.into())
        }
    }
}

/// Sends a message. A plain one (no mention asked, no attachment) is one statement, its own
/// transaction (`message_model::send`): it checks the retry, membership, blocks and the reply
/// target, takes the next sequence number (locking the session row), inserts, moves the
/// sender's read marker and logs the event. Mentions and attachments add their statements to a
/// transaction around it. A retry with the same client message id returns the first message,
/// even when the two race on different servers (the unique index decides).
pub async fn send(state: &AppState, viewer: &Viewer, out: Outgoing) -> AppResult<Sent> {
    state
        .throttle
        .write_by(|r| &r.messages_per_user, viewer.user_id)
        .await?;
    let sender = viewer.user_id;
    let asked = Asked::new(out.body.as_str(), out.mention_ids.clone())?;
    if out.attachment_ids.len() > attachments::MAX_PER_MESSAGE {
        return Err(AppError::bad_input(format!(
            "a message carries at most {} attachments",
            attachments::MAX_PER_MESSAGE
        )));
    }
    let new = NewMessage {
        id: Uuid::now_v7(),
        session_id: out.session_id,
        sender_id: sender,
        body: out.body.as_str(),
        reply_to_id: out.reply_to,
        client_message_id: out.client_message_id.as_ref().map(ClientMessageId::as_str),
    };
    let mut conn = state.db().await?;
    let outcome = if asked.is_empty() && out.attachment_ids.is_empty() {
        let sending = message_model::send(&mut conn, &new).await;
        if let Ok(Sending::Sent(_)) = sending {
            // The statement wrote its event (see `events::write`).
            state.hub.poke();
        }
        sending.map_err(SendFailure::from)
    } else {
        events::write(&state.hub, &mut conn, async |conn| {
            let message = match message_model::send(conn, &new).await? {
                Sending::Sent(message) => message,
                other => return Ok((other, Vec::new())),
            };
            attachments::attach(conn, &out.attachment_ids, sender, message.id).await?;
            let events = mentions::record(conn, &message, &asked, &[]).await?;
            Ok((Sending::Sent(message), events))
        })
        .await
    };
    match outcome {
        Ok(Sending::Sent(message)) => Ok(Sent {
            message,
            created: true,
        }),
        Ok(Sending::Before(existing)) => same_send(existing, out.session_id),
        Ok(Sending::Refused) => Err(why_not_sent(&mut conn, &out, sender).await),
        Err(SendFailure::Duplicate) => send_duplicate(&mut conn, sender, &out).await,
        Err(SendFailure::App(e)) => Err(e),
    }
}

/// Why a send was refused: not a member (`NOT_FOUND`), a block between the two users of a
/// direct session (`FORBIDDEN`), or a reply target outside the session (`BAD_USER_INPUT`).
async fn why_not_sent(
    conn: &mut diesel_async::AsyncPgConnection,
    out: &Outgoing,
    sender: Uuid,
) -> AppError {
    let session_id = out.session_id;
    let session = match session_model::find_for_member(conn, session_id, sender).await {
        Ok(Some((session, _))) => session,
        Ok(None) => return AppError::NotFound("session"),
        Err(e) => return e.into(),
    };
    if let Err(refusal) = blocks::check_direct(conn, &session, sender).await {
        return refusal;
    }
    if let Some(reply_to) = out.reply_to {
        match message_model::session_of(conn, reply_to).await {
            Ok(same) if same == Some(session_id) => {}
            Ok(_) => {
                return AppError::bad_input("replyToId must name a message of the same session");
            }
            Err(e) => return e.into(),
        }
    }
    // A block lifted, or a membership changed, since the statement ran: as if the session
    // had gone.
    AppError::NotFound("session")
}

/// Loads the message that won a race on the same client message id.
async fn send_duplicate(
    conn: &mut diesel_async::AsyncPgConnection,
    sender: Uuid,
    out: &Outgoing,
) -> AppResult<Sent> {
    let client_id = out
        .client_message_id
        .as_ref()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("duplicate without a client id")))?;
    let existing = message_model::find_by_client_id(conn, sender, client_id.as_str())
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("duplicate message not found")))?;
    same_send(existing, out.session_id)
}

fn same_send(existing: Message, session_id: Uuid) -> AppResult<Sent> {
    if existing.session_id != session_id {
        return Err(AppError::conflict(
            "this clientMessageId was already used for a message in another session",
        ));
    }
    Ok(Sent {
        message: existing,
        created: false,
    })
}

/// A message the viewer may see (as a member of its session), with their role there.
async fn visible_message(
    conn: &mut diesel_async::AsyncPgConnection,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<(Message, MemberRole, bool)> {
    let message = message_model::find(conn, id)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    let (session, member) =
        session_model::find_for_member(conn, message.session_id, viewer.user_id)
            .await?
            .ok_or(AppError::NotFound("message"))?;
    Ok((
        message,
        MemberRole::from_db(&member.role),
        session.is_group(),
    ))
}

/// One message of a conversation the viewer belongs to; `NOT_FOUND` otherwise (a message
/// that does not exist answers the same). One statement; [`visible_message`] also reads the
/// viewer's role, for those who need it.
pub async fn get(
    conn: &diesel_async::AsyncPgConnection,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<Message> {
    message_model::find_for_member(conn, id, viewer.user_id)
        .await?
        .ok_or(AppError::NotFound("message"))
}

/// Edits the viewer's own message. Deleted messages cannot be edited. Mentions follow the new
/// text (with `mention_ids`): members newly mentioned get their event, dropped ones lose it.
pub async fn edit(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    body: MessageBody,
    mention_ids: Vec<Uuid>,
) -> AppResult<Message> {
    state
        .throttle
        .write_by(|r| &r.messages_per_user, viewer.user_id)
        .await?;
    let asked = Asked::new(body.as_str(), mention_ids)?;
    let mut conn = state.db().await?;
    events::write(&state.hub, &mut conn, async |conn| {
        let message = get(conn, viewer, id).await?;
        if message.sender_id != viewer.user_id {
            return Err(AppError::forbidden("only the sender can edit a message"));
        }
        if message.deleted_at.is_some() {
            return Err(AppError::bad_input("a deleted message cannot be edited"));
        }
        let edited = message_model::update_body(conn, id, body.as_str()).await?;
        let mut events = vec![Event::new(
            edited.session_id,
            viewer.user_id,
            Change::MessageEdited(id),
        )];
        let already: Vec<Uuid> = mention_model::of_messages(conn, &[id])
            .await?
            .into_iter()
            .map(|(_, user)| user)
            .collect();
        events.extend(mentions::record(conn, &edited, &asked, &already).await?);
        Ok((edited, events))
    })
    .await
}

/// Deletes a message (softly: it stays in history, its body erased). The sender may, and in
/// a group so may its owners and admins. Deleting twice is harmless.
pub async fn delete(state: &AppState, viewer: &Viewer, id: Uuid) -> AppResult<Message> {
    state
        .throttle
        .write_by(|r| &r.messages_per_user, viewer.user_id)
        .await?;
    let mut conn = state.db().await?;
    let (deleted, removed) = events::write(&state.hub, &mut conn, async |conn| {
        let (message, role, is_group) = visible_message(conn, viewer, id).await?;
        let allowed = message.sender_id == viewer.user_id || (is_group && role.manages());
        if !allowed {
            return Err(AppError::forbidden(
                "only the sender, or a group's owners and admins, can delete a message",
            ));
        }
        if message.deleted_at.is_some() {
            return Ok(((message, Vec::new()), Vec::new()));
        }
        let deleted = message_model::soft_delete(conn, id).await?;
        // A deleted message mentions nobody any more, and keeps no reactions or files.
        mention_model::delete_for_message(conn, id, None).await?;
        crate::models::reaction::delete_for_message(conn, id).await?;
        let removed = attachment_model::delete_for_message(conn, id).await?;
        let event = Event::new(
            deleted.session_id,
            viewer.user_id,
            Change::MessageDeleted(id),
        );
        Ok(((deleted, removed), vec![event]))
    })
    .await?;
    // The rows are gone with the commit; their objects go now (or with the sweep).
    attachments::release(state, &removed).await;
    Ok(deleted)
}

/// Relay arguments of a history page, checked and turned into a window.
pub fn history_window(
    session_id: Uuid,
    first: Option<i32>,
    after: Option<i64>,
    last: Option<i32>,
    before: Option<i64>,
) -> AppResult<Window> {
    let size = |n: i32, name: &str| {
        if n >= 1 && n as usize <= MAX_PAGE {
            Ok(n as i64)
        } else {
            Err(AppError::bad_input(format!(
                "{name} must be between 1 and {MAX_PAGE}"
            )))
        }
    };
    let (limit, from) = match (first, last) {
        (Some(_), Some(_)) => {
            return Err(AppError::bad_input("pass first or last, not both"));
        }
        (Some(n), None) => (size(n, "first")?, PageFrom::Start),
        (None, Some(n)) => (size(n, "last")?, PageFrom::End),
        // Without either: from `after` forwards, else the newest messages.
        (None, None) if after.is_some() && before.is_none() => {
            (DEFAULT_PAGE as i64, PageFrom::Start)
        }
        (None, None) => (DEFAULT_PAGE as i64, PageFrom::End),
    };
    Ok(Window {
        session_id,
        after_seq: after,
        before_seq: before,
        // One more than asked, to tell whether more exist.
        limit: limit + 1,
        from,
    })
}

/// A page of search results, newest first.
#[derive(Debug)]
pub struct SearchPage {
    /// The hits.
    pub messages: Vec<Message>,
    /// Whether more follow.
    pub has_next_page: bool,
}

/// Finds messages by words in the sessions the viewer belongs to, newest first.
pub async fn search(
    state: &AppState,
    viewer: &Viewer,
    text: MessageSearch,
    first: usize,
    after: Option<(DateTime<Utc>, Uuid)>,
) -> AppResult<SearchPage> {
    let mut conn = state.db().await?;
    let mut messages = message_model::search_for_member(
        &mut conn,
        viewer.user_id,
        text.as_str(),
        after,
        first as i64 + 1,
    )
    .await?;
    let has_next_page = messages.len() > first;
    messages.truncate(first);
    Ok(SearchPage {
        messages,
        has_next_page,
    })
}
