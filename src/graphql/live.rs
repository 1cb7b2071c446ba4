//! Subscriptions: the viewer-wide event stream and the per-session one, and the typing
//! notice. (Kept apart from modules that import diesel-async's `RunQueryDsl`, which clashes
//! with the `#[Subscription]` macro.)

use async_graphql::resolver_utils::enum_value;
use async_graphql::{Context, ID, Object, Subscription, Value};
use chrono::{DateTime, Utc};
use futures_util::Stream;

use crate::error::AppError;
use crate::events::{Change, EventKind, decode_cursor, encode_cursor};
use crate::graphql::conversations::{Message, Session};
use crate::graphql::eager::{Eager, Leaf, Leaves};
use crate::graphql::loaders::{
    BlockedKey, Loaders, MembershipKey, MentionedKey, MessageKey, UserKey,
};
use crate::graphql::types::User;
use crate::graphql::{ContextExt, parse_id, reader};
use crate::services::live::{self, LiveEvent, Scope};
use crate::services::notify::{self, Notice};
use crate::services::sessions::{MemberRole, SessionView};

/// Something that happened in one of the viewer's conversations.
pub struct Event(pub LiveEvent);

/// Something that happened in one of the viewer's conversations. Which fields are set
/// depends on `kind`; `cursor` is always set: subscribe again with `after: cursor` to resume
/// right after this event.
#[Object]
impl Event {
    /// Where to resume: pass it as `after` when subscribing again.
    async fn cursor(&self) -> String {
        encode_cursor(self.0.cursor())
    }

    /// What happened.
    async fn kind(&self) -> EventKind {
        self.0.kind()
    }

    /// When it happened.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at()
    }

    /// The conversation's id (null for `LAGGED` and `RESYNC`).
    async fn session_id(&self) -> Option<ID> {
        self.0.session_id().map(|id| ID(id.to_string()))
    }

    /// The conversation as the viewer sees it now; null if they are no longer a member.
    async fn session(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Eager<Session>>> {
        let (Some(session_id), Ok(viewer)) = (self.0.session_id(), ctx.viewer()) else {
            return Ok(None);
        };
        let key = MembershipKey {
            session_id,
            user_id: viewer.user_id,
        };
        let found = ctx.data_unchecked::<Loaders>().load_one(key).await?;
        Ok(found.map(|(session, membership)| {
            Session::from(SessionView {
                session,
                membership,
            })
            .into()
        }))
    }

    /// The message, as it is now, for `MESSAGE_CREATED`, `MESSAGE_EDITED`,
    /// `MESSAGE_DELETED`, `REACTION_ADDED`, `REACTION_REMOVED` and `MENTIONED`.
    async fn message(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Eager<Message>>> {
        let Some(id) = self.0.stored().and_then(crate::events::Event::message_id) else {
            return Ok(None);
        };
        let found = ctx
            .data_unchecked::<Loaders>()
            .load_one(MessageKey(id))
            .await?;
        Ok(found.map(|m| Message::from(m).into()))
    }

    /// Who did it.
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Eager<User>>> {
        load_user(ctx, self.0.actor_id()).await
    }

    /// Whom it concerns: the member added, removed or leaving, whose role or read marker
    /// changed, who is typing, or who was mentioned.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Eager<User>>> {
        load_user(ctx, self.0.subject_id()).await
    }

    /// The new read marker, for `READ_MARKER`.
    async fn read_up_to(&self) -> Option<i64> {
        match self.change()? {
            Change::ReadMarker { up_to } => Some(*up_to),
            _ => None,
        }
    }

    /// The new title, for `SESSION_RENAMED`.
    async fn title(&self) -> Option<&str> {
        match self.change()? {
            Change::SessionRenamed { title } => Some(title),
            _ => None,
        }
    }

    /// The emoji, for `REACTION_ADDED` and `REACTION_REMOVED`.
    async fn emoji(&self) -> Option<&str> {
        match self.change()? {
            Change::ReactionAdded { emoji, .. } | Change::ReactionRemoved { emoji, .. } => {
                Some(emoji)
            }
            _ => None,
        }
    }

    /// What this event should raise for the viewer, for `MESSAGE_CREATED`: `MENTION` when
    /// the message mentions them, `MESSAGE` otherwise, and `NONE` for their own messages, in a
    /// conversation they muted, or from someone they blocked. `NONE` for every other kind.
    async fn notice(&self, ctx: &Context<'_>) -> async_graphql::Result<Notice> {
        let (Some(Change::MessageCreated(message)), Some(session_id), Some(sender), Ok(viewer)) = (
            self.change(),
            self.0.session_id(),
            self.0.actor_id(),
            ctx.viewer(),
        ) else {
            return Ok(Notice::None);
        };
        let loaders = ctx.data_unchecked::<Loaders>();
        let key = MembershipKey {
            session_id,
            user_id: viewer.user_id,
        };
        let (membership, mentioned, blocked) = futures_util::try_join!(
            loaders.load_one(key),
            loaders.load_one(MentionedKey(*message)),
            loaders.load_one(BlockedKey(viewer.user_id)),
        )?;
        let Some((_, member)) = membership else {
            return Ok(Notice::None);
        };
        let mentioned = mentioned.is_some_and(|users| users.contains(&viewer.user_id));
        let blocked = blocked.is_some_and(|users| users.contains(&sender));
        Ok(notify::notice(
            &member,
            sender,
            Utc::now(),
            mentioned,
            blocked,
        ))
    }

    /// The new role, for `MEMBER_ROLE_CHANGED`.
    async fn role(&self) -> Option<MemberRole> {
        match self.change()? {
            Change::MemberRoleChanged { role, .. } => Some(*role),
            _ => None,
        }
    }
}

impl Leaves for Event {
    fn leaf(&self, name: &str) -> Option<Leaf<'_>> {
        Some(match name {
            "cursor" => Value::String(encode_cursor(self.0.cursor())).into(),
            "kind" => enum_value(self.0.kind()).into(),
            "at" => Leaf::Time(Some(self.0.at())),
            "sessionId" => Leaf::Id(self.0.session_id()),
            _ => return None,
        })
    }
}

impl Event {
    fn change(&self) -> Option<&Change> {
        self.0.stored().map(|event| &event.change)
    }
}

async fn load_user(
    ctx: &Context<'_>,
    id: Option<uuid::Uuid>,
) -> async_graphql::Result<Option<Eager<User>>> {
    let Some(id) = id else {
        return Ok(None);
    };
    let found = ctx
        .data_unchecked::<Loaders>()
        .load_one(UserKey(id))
        .await?;
    Ok(found.map(|u| User::from(u).into()))
}

fn parse_after(after: Option<String>) -> Result<Option<crate::events::Position>, AppError> {
    after.map(|c| decode_cursor(&c)).transpose()
}

/// The query that pairs with the subscriptions.
#[derive(Default)]
pub struct LiveQuery;

/// The query that pairs with the subscriptions.
#[Object]
impl LiveQuery {
    /// Where the viewer's event stream stands now. Read it before loading state with
    /// queries, then subscribe with `events(after:)` set to it: every event after this
    /// point arrives, so nothing that happens between the queries and the subscription is
    /// missed (events the answers already reflect may arrive too; each says where things
    /// stand, so applying it again is harmless). Needs sign-in.
    async fn events_cursor(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        ctx.viewer()?;
        Ok(encode_cursor(live::head(&*reader(ctx).await?).await?))
    }
}

/// Live subscriptions.
#[derive(Default)]
pub struct LiveSubscription;

/// Live subscriptions.
#[Subscription]
impl LiveSubscription {
    /// Everything a chat screen needs about the viewer's conversations: messages created,
    /// edited and deleted; reactions added and removed; mentions of the viewer; sessions
    /// created; members added, removed, leaving, changing role; renames; others' read
    /// markers; typing. With `after` (a cursor from an earlier event, or `eventsCursor`),
    /// first every stored event missed since, in order, then live ones, with nothing lost or
    /// repeated; without it, live from when the subscription starts (a client that loads
    /// state with queries reads `eventsCursor` first, so nothing falls between the two). A
    /// cursor too old to replay gets one `RESYNC` event; a subscriber that falls too far
    /// behind gets `LAGGED` with the cursor to resume from, and the stream ends.
    async fn events(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = Eager<Event>> + use<>> {
        let viewer = ctx.viewer()?;
        let after = parse_after(after)?;
        let stream = live::subscribe(ctx.state(), viewer, Scope::Viewer, after).await?;
        Ok(futures_util::StreamExt::map(stream, |e| Eager(Event(e))))
    }

    /// The events of one conversation of the viewer's (same rules as `events`). Ends after
    /// the viewer leaves or is removed. `NOT_FOUND` for a session they are not in.
    async fn session_events(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = Eager<Event>> + use<>> {
        let viewer = ctx.viewer()?;
        let session_id = parse_id(&session_id, "sessionId")?;
        let after = parse_after(after)?;
        let stream =
            live::subscribe(ctx.state(), viewer, Scope::Session(session_id), after).await?;
        Ok(futures_util::StreamExt::map(stream, |e| Eager(Event(e))))
    }
}
