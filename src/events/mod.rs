//! Live events: what happened, in a total order every subscriber shares.
//!
//! - [`event`]: the typed [`Event`]s, their rows, and the one routing rule.
//! - [`write()`]: the one way to write them, inside the change's transaction, marked as a
//!   writer of the log, with a poke to the [`Hub`] after the commit.
//! - [`hub`]: what one server's sockets and subscriptions talk to; it wires the rest together.
//! - [`pump`]: reads the log in `(xid, id)` order below the oldest running writer (see
//!   [`crate::models::event::readable_bound`]) and hands each event to the [`routes`], which
//!   fill the queues of the subscriptions of the session's members.
//! - [`sockets`]: socket accounting and the notices that close sockets; [`typing`]: its limit.
//! - [`bus`]: pokes, typing and sign-out notices between servers (Redis pub/sub). PostgreSQL
//!   stays the source of truth: a node that misses a poke still finds the events on its next
//!   poll, and a client that reconnects replays from its cursor.

pub mod bus;
pub mod event;
pub mod hub;
pub mod pump;
pub mod routes;
pub mod sockets;
pub mod typing;
pub mod write;

pub use crate::models::event::Position;
pub use event::{Change, Event, Memberships, Stored};
pub use hub::{Hub, HubConfig};
pub use routes::{LiveItem, LiveQueue, Received};
pub use sockets::{ConnectionGuard, Kick, SocketGuard};
pub use write::write;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

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
    /// A member reacted to a message (`actor`, `message`, `emoji`).
    ReactionAdded,
    /// A member took a reaction back (`actor`, `message`, `emoji`).
    ReactionRemoved,
    /// The viewer was mentioned in a message (`message`; `actor` wrote it). Only the member
    /// mentioned receives it.
    Mentioned,
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
            Self::ReactionAdded => "reaction_added",
            Self::ReactionRemoved => "reaction_removed",
            Self::Mentioned => "mentioned",
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
            "reaction_added" => Self::ReactionAdded,
            "reaction_removed" => Self::ReactionRemoved,
            "mentioned" => Self::Mentioned,
            _ => return None,
        })
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
