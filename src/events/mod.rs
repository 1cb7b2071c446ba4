//! Live events: what happened, in a total order every subscriber shares.
//!
//! Changes write [`NewEvent`] rows in their own transaction; after commit they poke the
//! [`Hub`]. Each server runs one pump that reads the log in `(xid, id)` order (only events no
//! running transaction can precede) and broadcasts them to its subscribers. The bus carries
//! only pokes, typing and sign-out notices between servers: in-process on one node, Redis
//! pub/sub across nodes. PostgreSQL stays the source of truth: a node that misses a poke
//! still finds the events on its next poll, and a client that reconnects replays from its
//! cursor.

pub mod bus;
pub mod hub;

pub use crate::models::event::{NewEvent, Position};
pub use hub::{Hub, HubConfig, Kick, LiveItem, LiveQueue, Received};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// What an event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum EventKind {
    /// A message was sent.
    MessageCreated,
    /// A message's text changed.
    MessageEdited,
    /// A message was deleted (its body erased).
    MessageDeleted,
    /// The viewer was made a member of a new session.
    SessionCreated,
    /// A user joined a group (`user`), added by `actor`.
    MemberAdded,
    /// A user was removed from a group (`user`) by `actor`.
    MemberRemoved,
    /// A user left a group.
    MemberLeft,
    /// A member's role changed (`user`, new `role`).
    MemberRoleChanged,
    /// A group's title changed (`title`).
    SessionRenamed,
    /// A member moved their read marker (`user`, `readUpTo`).
    ReadMarker,
    /// A member is typing (not stored; not replayed).
    Typing,
    /// The subscriber fell too far behind: resubscribe with `after: cursor`.
    Lagged,
    /// The cursor is too old to replay: reload state with queries, then subscribe afresh.
    Resync,
}

impl EventKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MessageCreated => "message_created",
            Self::MessageEdited => "message_edited",
            Self::MessageDeleted => "message_deleted",
            Self::SessionCreated => "session_created",
            Self::MemberAdded => "member_added",
            Self::MemberRemoved => "member_removed",
            Self::MemberLeft => "member_left",
            Self::MemberRoleChanged => "member_role_changed",
            Self::SessionRenamed => "session_renamed",
            Self::ReadMarker => "read_marker",
            Self::Typing => "typing",
            Self::Lagged => "lagged",
            Self::Resync => "resync",
        }
    }

    /// Reads the stored spelling.
    pub fn from_db(s: &str) -> Option<Self> {
        Some(match s {
            "message_created" => Self::MessageCreated,
            "message_edited" => Self::MessageEdited,
            "message_deleted" => Self::MessageDeleted,
            "session_created" => Self::SessionCreated,
            "member_added" => Self::MemberAdded,
            "member_removed" => Self::MemberRemoved,
            "member_left" => Self::MemberLeft,
            "member_role_changed" => Self::MemberRoleChanged,
            "session_renamed" => Self::SessionRenamed,
            "read_marker" => Self::ReadMarker,
            _ => return None,
        })
    }
}

/// An event about `session_id`, written with the change it reports.
pub fn event(kind: EventKind, session_id: Uuid, actor: Uuid) -> NewEvent {
    NewEvent {
        session_id,
        kind: kind.as_str(),
        actor_id: Some(actor),
        subject_id: None,
        message_id: None,
        detail: None,
    }
}

/// An event about a member of `session_id` (`subject`), done by `actor`.
pub fn member_event(kind: EventKind, session_id: Uuid, actor: Uuid, subject: Uuid) -> NewEvent {
    NewEvent {
        subject_id: Some(subject),
        ..event(kind, session_id, actor)
    }
}

/// An event about a message.
pub fn message_event(kind: EventKind, session_id: Uuid, actor: Uuid, message_id: Uuid) -> NewEvent {
    NewEvent {
        message_id: Some(message_id),
        ..event(kind, session_id, actor)
    }
}

/// Encodes a log position as a client cursor.
pub fn encode_cursor(p: Position) -> String {
    URL_SAFE_NO_PAD.encode(format!("ev:{}:{}", p.xid, p.id))
}

/// Decodes a client cursor, or `BAD_USER_INPUT`.
pub fn decode_cursor(cursor: &str) -> AppResult<Position> {
    let invalid = || AppError::bad_input("the event cursor is not valid");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let rest = text.strip_prefix("ev:").ok_or_else(invalid)?;
    let (xid, id) = rest.split_once(':').ok_or_else(invalid)?;
    Ok(Position {
        xid: xid.parse().map_err(|_| invalid())?,
        id: id.parse().map_err(|_| invalid())?,
    })
}
