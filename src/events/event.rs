//! The events of the log, typed: what happened and its details together. They become rows
//! and are read back from rows here and nowhere else, and the rule of who may see each one
//! (membership changes included) lives here too.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::events::EventKind;
use crate::models::event::{EventRow, NewEvent, Position};
use crate::services::sessions::MemberRole;

/// Something that happened in a session, done by `actor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The conversation.
    pub session_id: Uuid,
    /// Who did it.
    pub actor: Uuid,
    /// What they did.
    pub change: Change,
}

/// What happened, with its details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A message was sent.
    MessageCreated(Uuid),
    /// A message's text changed.
    MessageEdited(Uuid),
    /// A message was deleted.
    MessageDeleted(Uuid),
    /// `member` was made a member of a new session (one event per member).
    SessionCreated {
        /// The new member.
        member: Uuid,
    },
    /// `member` was added to a group.
    MemberAdded {
        /// The new member.
        member: Uuid,
    },
    /// `member` was removed from a group.
    MemberRemoved {
        /// The removed member.
        member: Uuid,
    },
    /// The actor left a group.
    MemberLeft,
    /// `member`'s role changed to `role`.
    MemberRoleChanged {
        /// Whose role.
        member: Uuid,
        /// The new role.
        role: MemberRole,
    },
    /// The group's title changed.
    SessionRenamed {
        /// The new title.
        title: String,
    },
    /// The actor moved their read marker to `up_to`.
    ReadMarker {
        /// The `seq` of the last message read.
        up_to: i64,
    },
    /// The actor reacted to `message` with `emoji`.
    ReactionAdded {
        /// The message.
        message: Uuid,
        /// The emoji.
        emoji: String,
    },
    /// The actor took back their `emoji` reaction to `message`.
    ReactionRemoved {
        /// The message.
        message: Uuid,
        /// The emoji.
        emoji: String,
    },
    /// `member` was mentioned in `message` (sent or edited by the actor). Only they get it.
    Mentioned {
        /// The message.
        message: Uuid,
        /// Who was mentioned.
        member: Uuid,
    },
}

/// An event read from the log, with its place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Where it is in the log (the resume cursor).
    pub position: Position,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// The event.
    pub event: Event,
}

/// The small details some kinds carry, in the `detail` column.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Detail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, rename = "upTo", skip_serializing_if = "Option::is_none")]
    up_to: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    emoji: Option<String>,
}

/// How a reader keeps track of who belongs to which session, so that [`Event::route`] can
/// apply the membership changes of the log in its order.
pub trait Memberships {
    /// `user` is now a member of `session`.
    fn join(&mut self, session: Uuid, user: Uuid);
    /// `user` is no longer a member of `session`.
    fn leave(&mut self, session: Uuid, user: Uuid);
    /// The members of `session` this reader serves.
    fn members(&self, session: Uuid) -> Vec<Uuid>;
}

impl Event {
    /// An event in `session_id` done by `actor`.
    pub fn new(session_id: Uuid, actor: Uuid, change: Change) -> Self {
        Self {
            session_id,
            actor,
            change,
        }
    }

    /// Its kind, as the API names it.
    pub fn kind(&self) -> EventKind {
        match self.change {
            Change::MessageCreated(_) => EventKind::MessageCreated,
            Change::MessageEdited(_) => EventKind::MessageEdited,
            Change::MessageDeleted(_) => EventKind::MessageDeleted,
            Change::SessionCreated { .. } => EventKind::SessionCreated,
            Change::MemberAdded { .. } => EventKind::MemberAdded,
            Change::MemberRemoved { .. } => EventKind::MemberRemoved,
            Change::MemberLeft => EventKind::MemberLeft,
            Change::MemberRoleChanged { .. } => EventKind::MemberRoleChanged,
            Change::SessionRenamed { .. } => EventKind::SessionRenamed,
            Change::ReadMarker { .. } => EventKind::ReadMarker,
            Change::ReactionAdded { .. } => EventKind::ReactionAdded,
            Change::ReactionRemoved { .. } => EventKind::ReactionRemoved,
            Change::Mentioned { .. } => EventKind::Mentioned,
        }
    }

    /// The member it concerns: added, removed, leaving, whose role or read marker changed.
    pub fn subject(&self) -> Option<Uuid> {
        match self.change {
            Change::SessionCreated { member }
            | Change::MemberAdded { member }
            | Change::MemberRemoved { member }
            | Change::MemberRoleChanged { member, .. }
            | Change::Mentioned { member, .. } => Some(member),
            Change::MemberLeft | Change::ReadMarker { .. } => Some(self.actor),
            Change::MessageCreated(_)
            | Change::MessageEdited(_)
            | Change::MessageDeleted(_)
            | Change::ReactionAdded { .. }
            | Change::ReactionRemoved { .. }
            | Change::SessionRenamed { .. } => None,
        }
    }

    /// The message it concerns.
    pub fn message_id(&self) -> Option<Uuid> {
        match self.change {
            Change::MessageCreated(id) | Change::MessageEdited(id) | Change::MessageDeleted(id) => {
                Some(id)
            }
            Change::ReactionAdded { message, .. }
            | Change::ReactionRemoved { message, .. }
            | Change::Mentioned { message, .. } => Some(message),
            _ => None,
        }
    }

    /// The user who becomes a member with this event (before it is delivered: they get the
    /// event that says so).
    pub fn joiner(&self) -> Option<Uuid> {
        match self.change {
            Change::SessionCreated { member } | Change::MemberAdded { member } => Some(member),
            _ => None,
        }
    }

    /// The user who stops being a member with this event (after it is delivered: they get the
    /// event that says so, and nothing of the session after it).
    pub fn leaver(&self) -> Option<Uuid> {
        match self.change {
            Change::MemberRemoved { member } => Some(member),
            Change::MemberLeft => Some(self.actor),
            _ => None,
        }
    }

    /// The routing rule, the one place it is written: applies the event's membership change
    /// to `members` and returns who receives it. A session's creation goes to the member it
    /// names only, and so does a mention; everything else to every member, the joiner
    /// included and the leaver too.
    pub fn route(&self, members: &mut impl Memberships) -> Vec<Uuid> {
        if let Some(user) = self.joiner() {
            members.join(self.session_id, user);
        }
        let to = match self.change {
            Change::SessionCreated { member } | Change::Mentioned { member, .. } => members
                .members(self.session_id)
                .into_iter()
                .filter(|u| *u == member)
                .collect(),
            _ => members.members(self.session_id),
        };
        if let Some(user) = self.leaver() {
            members.leave(self.session_id, user);
        }
        to
    }

    /// The row that stores it.
    pub(crate) fn to_row(&self) -> NewEvent {
        let mut detail = Detail::default();
        match &self.change {
            Change::MemberRoleChanged { role, .. } => detail.role = Some(role.as_str().into()),
            Change::SessionRenamed { title } => detail.title = Some(title.clone()),
            Change::ReadMarker { up_to } => detail.up_to = Some(*up_to),
            Change::ReactionAdded { emoji, .. } | Change::ReactionRemoved { emoji, .. } => {
                detail.emoji = Some(emoji.clone());
            }
            _ => {}
        }
        let has_detail = detail.role.is_some()
            || detail.title.is_some()
            || detail.up_to.is_some()
            || detail.emoji.is_some();
        NewEvent {
            session_id: self.session_id,
            kind: self.kind().as_str(),
            actor_id: Some(self.actor),
            subject_id: self.subject(),
            message_id: self.message_id(),
            detail: has_detail
                .then(|| serde_json::to_value(&detail).ok())
                .flatten(),
        }
    }

    /// Reads a stored row back; `None` for a row this version cannot read (an unknown kind
    /// from a newer server, or missing details), which readers skip.
    pub(crate) fn from_row(row: &EventRow) -> Option<Stored> {
        let detail: Detail = match &row.detail {
            Some(value) => serde_json::from_value(value.clone()).ok()?,
            None => Detail::default(),
        };
        let member = row.subject_id;
        let change = match EventKind::from_db(&row.kind)? {
            EventKind::MessageCreated => Change::MessageCreated(row.message_id?),
            EventKind::MessageEdited => Change::MessageEdited(row.message_id?),
            EventKind::MessageDeleted => Change::MessageDeleted(row.message_id?),
            EventKind::SessionCreated => Change::SessionCreated { member: member? },
            EventKind::MemberAdded => Change::MemberAdded { member: member? },
            EventKind::MemberRemoved => Change::MemberRemoved { member: member? },
            EventKind::MemberLeft => Change::MemberLeft,
            EventKind::MemberRoleChanged => Change::MemberRoleChanged {
                member: member?,
                role: MemberRole::from_db(detail.role.as_deref()?),
            },
            EventKind::SessionRenamed => Change::SessionRenamed {
                title: detail.title?,
            },
            EventKind::ReadMarker => Change::ReadMarker {
                up_to: detail.up_to?,
            },
            EventKind::ReactionAdded => Change::ReactionAdded {
                message: row.message_id?,
                emoji: detail.emoji?,
            },
            EventKind::ReactionRemoved => Change::ReactionRemoved {
                message: row.message_id?,
                emoji: detail.emoji?,
            },
            EventKind::Mentioned => Change::Mentioned {
                message: row.message_id?,
                member: member?,
            },
            EventKind::Typing | EventKind::Lagged | EventKind::Resync => return None,
        };
        Some(Stored {
            position: row.position(),
            at: row.created_at,
            event: Event::new(row.session_id, row.actor_id.or(member)?, change),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(event: Event) {
        let new = event.to_row();
        let row = EventRow {
            id: 7,
            xid: 42,
            session_id: new.session_id,
            kind: new.kind.to_owned(),
            actor_id: new.actor_id,
            subject_id: new.subject_id,
            message_id: new.message_id,
            detail: new.detail.clone(),
            created_at: Utc::now(),
        };
        let stored = Event::from_row(&row).expect("readable");
        assert_eq!(stored.event, event);
        assert_eq!(stored.position, Position { xid: 42, id: 7 });
    }

    #[test]
    fn every_change_survives_its_row() {
        let (s, a, b) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        for change in [
            Change::MessageCreated(b),
            Change::MessageEdited(b),
            Change::MessageDeleted(b),
            Change::SessionCreated { member: b },
            Change::MemberAdded { member: b },
            Change::MemberRemoved { member: b },
            Change::MemberLeft,
            Change::MemberRoleChanged {
                member: b,
                role: MemberRole::Admin,
            },
            Change::SessionRenamed {
                title: "Plans".into(),
            },
            Change::ReadMarker { up_to: 12 },
            Change::ReactionAdded {
                message: b,
                emoji: "👍".into(),
            },
            Change::ReactionRemoved {
                message: b,
                emoji: "🎉".into(),
            },
            Change::Mentioned {
                message: b,
                member: a,
            },
        ] {
            round_trip(Event::new(s, a, change));
        }
    }

    #[derive(Default)]
    struct OneSession(Vec<Uuid>);

    impl Memberships for OneSession {
        fn join(&mut self, _: Uuid, user: Uuid) {
            if !self.0.contains(&user) {
                self.0.push(user);
            }
        }
        fn leave(&mut self, _: Uuid, user: Uuid) {
            self.0.retain(|u| *u != user);
        }
        fn members(&self, _: Uuid) -> Vec<Uuid> {
            self.0.clone()
        }
    }

    #[test]
    fn joiners_and_leavers_get_the_event_that_says_so() {
        let (s, owner, new) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut members = OneSession(vec![owner]);
        let added = Event::new(s, owner, Change::MemberAdded { member: new });
        assert_eq!(added.route(&mut members), vec![owner, new]);
        let created = Event::new(s, owner, Change::SessionCreated { member: new });
        assert_eq!(created.route(&mut members), vec![new]);
        let removed = Event::new(s, owner, Change::MemberRemoved { member: new });
        assert_eq!(removed.route(&mut members), vec![owner, new]);
        let sent = Event::new(s, owner, Change::MessageCreated(Uuid::now_v7()));
        assert_eq!(sent.route(&mut members), vec![owner]);
    }

    #[test]
    fn a_mention_goes_to_the_member_mentioned_only() {
        let (s, a, b) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut members = OneSession(vec![a, b]);
        let mentioned = Event::new(
            s,
            a,
            Change::Mentioned {
                message: Uuid::now_v7(),
                member: b,
            },
        );
        assert_eq!(mentioned.route(&mut members), vec![b]);
    }
}
