//! Reactions, mentions, blocks and muting: their types, queries and mutations.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use crate::graphql::conversations::{Message, Session};
use crate::graphql::eager::Eager;
use crate::graphql::types::{User, decode_keyset, encode_keyset, page_size};
use crate::graphql::{ContextExt, parse_id};
use crate::models::reaction::Summary;
use crate::services::input::Emoji;
use crate::services::{blocks, mentions, reactions, sessions};

const REACTOR_CURSOR: &str = "reactor";
const BLOCK_CURSOR: &str = "block";
const MENTION_CURSOR: &str = "mention";

/// Who reacted with one emoji, earliest first.
pub type ReactorConnection = Connection<String, Reactor>;
/// The viewer's blocks, most recent first.
pub type BlockConnection = Connection<String, Block>;
/// Messages that mention the viewer, newest first.
pub type MentionConnection = Connection<String, Mention>;

/// One emoji on a message.
pub struct Reaction(pub Summary);

/// One emoji on a message: how many reacted with it and whether the viewer did.
#[Object]
impl Reaction {
    /// The emoji, fully qualified (a short code sent as `thumbsup` reads back as 👍).
    async fn emoji(&self) -> &str {
        &self.0.emoji
    }

    /// How many users reacted with it.
    async fn count(&self) -> i64 {
        self.0.count
    }

    /// Whether the viewer is one of them.
    async fn reacted_by_viewer(&self) -> bool {
        self.0.mine
    }

    /// Who reacted with it, earliest first: pages of `first` (1–100, default 20).
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ReactorConnection> {
        ctx.viewer()?;
        let first = page_size(first, 20, 100)?;
        let after = after
            .map(|c| decode_keyset(REACTOR_CURSOR, &c))
            .transpose()?;
        let page = reactions::reactors(ctx.state(), self.0.message_id, &self.0.emoji, first, after)
            .await?;
        let mut connection = Connection::new(after.is_some(), page.has_next_page);
        connection
            .edges
            .extend(page.items.into_iter().map(|(user, at)| {
                Edge::new(
                    encode_keyset(REACTOR_CURSOR, at, user.id),
                    Reactor {
                        user: User::from(user),
                        at,
                    },
                )
            }));
        Ok(connection)
    }
}

/// A user who reacted, and when.
pub struct Reactor {
    user: User,
    at: DateTime<Utc>,
}

/// A user who reacted, and when.
#[Object]
impl Reactor {
    /// Who.
    async fn user(&self) -> Eager<&User> {
        Eager(&self.user)
    }

    /// When.
    async fn reacted_at(&self) -> DateTime<Utc> {
        self.at
    }
}

/// A user the viewer blocked, and when.
pub struct Block {
    user: User,
    at: DateTime<Utc>,
}

/// A user the viewer blocked, and when.
#[Object]
impl Block {
    /// The user blocked.
    async fn user(&self) -> Eager<&User> {
        Eager(&self.user)
    }

    /// When.
    async fn blocked_at(&self) -> DateTime<Utc> {
        self.at
    }
}

/// A message that mentions the viewer.
pub struct Mention {
    message: Message,
    at: DateTime<Utc>,
}

/// A message that mentions the viewer, and when it did (sent, or edited to mention them).
#[Object]
impl Mention {
    /// The message; its `session` says where.
    async fn message(&self) -> Eager<&Message> {
        Eager(&self.message)
    }

    /// When it mentioned the viewer.
    async fn mentioned_at(&self) -> DateTime<Utc> {
        self.at
    }
}

/// Queries about reactions, mentions and blocks.
#[derive(Default)]
pub struct SocialQuery;

/// Queries about reactions, mentions and blocks.
#[Object]
impl SocialQuery {
    /// The users the viewer has blocked, most recent first: pages of `first` (1–100,
    /// default 20).
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn blocked_users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<BlockConnection> {
        let viewer = ctx.viewer()?;
        let first = page_size(first, 20, 100)?;
        let after = after.map(|c| decode_keyset(BLOCK_CURSOR, &c)).transpose()?;
        let page = blocks::list(ctx.state(), viewer, first, after).await?;
        let mut connection = Connection::new(after.is_some(), page.has_next_page);
        connection
            .edges
            .extend(page.items.into_iter().map(|(user, at)| {
                Edge::new(
                    encode_keyset(BLOCK_CURSOR, at, user.id),
                    Block {
                        user: User::from(user),
                        at,
                    },
                )
            }));
        Ok(connection)
    }

    /// Messages that mention the viewer, in conversations they still belong to, newest
    /// first: pages of `first` (1–100, default 20). Deleted messages drop out.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn mentions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<MentionConnection> {
        let viewer = ctx.viewer()?;
        let first = page_size(first, 20, 100)?;
        let after = after
            .map(|c| decode_keyset(MENTION_CURSOR, &c))
            .transpose()?;
        let page = mentions::list(ctx.state(), viewer, first, after).await?;
        let mut connection = Connection::new(after.is_some(), page.has_next_page);
        connection
            .edges
            .extend(page.items.into_iter().map(|(row, at)| {
                let cursor = encode_keyset(MENTION_CURSOR, at, row.id);
                Edge::new(
                    cursor,
                    Mention {
                        message: Message::from(row),
                        at,
                    },
                )
            }));
        Ok(connection)
    }
}

/// Mutations for reactions, blocks and muting.
#[derive(Default)]
pub struct SocialMutation;

/// Mutations for reactions, blocks and muting.
#[Object]
impl SocialMutation {
    /// Reacts to a message of a conversation of the viewer's with `emoji`: one emoji (any
    /// Unicode emoji, skin tones included, a single grapheme cluster) or its GitHub short
    /// code (`thumbsup`, `:tada:`). A message carries at most 20 different emoji. Reacting
    /// twice with the same emoji changes nothing, so a retry is safe; toggle with
    /// `removeReaction`. Members get `REACTION_ADDED`. Returns the message.
    async fn add_reaction(
        &self,
        ctx: &Context<'_>,
        message_id: ID,
        emoji: String,
    ) -> async_graphql::Result<Eager<Message>> {
        let viewer = ctx.viewer()?;
        let id = parse_id(&message_id, "messageId")?;
        let emoji = Emoji::parse(&emoji)?;
        let message = reactions::react(ctx.state(), viewer, id, emoji, true).await?;
        Ok(Message::from(message).into())
    }

    /// Takes back the viewer's `emoji` reaction (as in `addReaction`); harmless if there is
    /// none. Members get `REACTION_REMOVED`. Returns the message.
    async fn remove_reaction(
        &self,
        ctx: &Context<'_>,
        message_id: ID,
        emoji: String,
    ) -> async_graphql::Result<Eager<Message>> {
        let viewer = ctx.viewer()?;
        let id = parse_id(&message_id, "messageId")?;
        let emoji = Emoji::parse(&emoji)?;
        let message = reactions::react(ctx.state(), viewer, id, emoji, false).await?;
        Ok(Message::from(message).into())
    }

    /// Blocks a user (at most 1,000 blocks). They can no longer start a direct conversation
    /// with the viewer, nor send, react or type in the one they have (`FORBIDDEN`; the viewer
    /// neither, until they unblock), they do not find the
    /// viewer in `users` search, and their mentions of the viewer are not recorded. In groups
    /// both stay members; their messages read `senderBlocked: true` for the viewer. Blocking
    /// twice is harmless. Returns the user.
    async fn block_user(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
    ) -> async_graphql::Result<Eager<User>> {
        let viewer = ctx.viewer()?;
        let id = parse_id(&user_id, "userId")?;
        Ok(User::from(blocks::block(ctx.state(), viewer, id).await?).into())
    }

    /// Lifts a block (harmless if there is none). Returns the user.
    async fn unblock_user(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
    ) -> async_graphql::Result<Eager<User>> {
        let viewer = ctx.viewer()?;
        let id = parse_id(&user_id, "userId")?;
        Ok(User::from(blocks::unblock(ctx.state(), viewer, id).await?).into())
    }

    /// Mutes a conversation for the viewer until `until` (in the future, within 366 days),
    /// or for good without it. It keeps its place in the inbox and its counts, and raises no
    /// notices. Returns the session.
    async fn mute_session(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
        until: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<Eager<Session>> {
        let viewer = ctx.viewer()?;
        let id = parse_id(&session_id, "sessionId")?;
        Ok(Session::from(sessions::mute(ctx.state(), viewer, id, until).await?).into())
    }

    /// Unmutes a conversation (harmless if it was not muted). Returns the session.
    async fn unmute_session(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
    ) -> async_graphql::Result<Eager<Session>> {
        let viewer = ctx.viewer()?;
        let id = parse_id(&session_id, "sessionId")?;
        Ok(Session::from(sessions::unmute(ctx.state(), viewer, id).await?).into())
    }
}
