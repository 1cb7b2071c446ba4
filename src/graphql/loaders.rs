//! DataLoaders: every parent-to-child edge of the schema loads through one of these, so a
//! request's SQL round trips do not grow with the number of sessions or messages in it.
//! One key type per lookup; one query per batch; results in a map.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::error::AppError;
use crate::graphql::batcher::Batcher;
use crate::graphql::prefetch::{WithSender, WithUser};
use crate::models::attachment as attachment_model;
use crate::models::block as block_model;
use crate::models::mention as mention_model;
use crate::models::message::{self as message_model, Message, PageFrom, Window};
use crate::models::reaction as reaction_model;
use crate::models::session::{self as session_model, Member, Session};
use crate::models::user::{self as user_model, User};
use crate::state::AppState;

/// The loader type the schema holds.
pub type Loaders = Batcher<DbLoader>;

/// Builds the loaders over the state's pool. They cache nothing (each batch loads afresh), so
/// one instance serves every request and WebSocket connection without going stale, and
/// batches keys across them (see [`Batcher`]).
pub fn loaders(state: AppState) -> Loaders {
    Batcher::new(DbLoader { state })
}

/// Loads rows for the keys below.
pub struct DbLoader {
    state: AppState,
}

type LoadResult<K, V> = Result<HashMap<K, V>, async_graphql::Error>;

fn fail(e: impl Into<AppError>) -> async_graphql::Error {
    e.into().into()
}

/// Groups (user, session) pairs by user: the per-member lookups run one query per user,
/// and a request has one viewer.
fn sessions_by_user(pairs: impl Iterator<Item = (Uuid, Uuid)>) -> HashMap<Uuid, Vec<Uuid>> {
    let mut by_user: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (user, session) in pairs {
        by_user.entry(user).or_default().push(session);
    }
    by_user
}

/// A user by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserKey(pub Uuid);

impl Loader<UserKey> for DbLoader {
    type Value = Arc<User>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[UserKey]) -> LoadResult<UserKey, Arc<User>> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut conn = self.state.db().await.map_err(fail)?;
        let users = user_model::find_many(&mut conn, &ids).await.map_err(fail)?;
        Ok(users
            .into_iter()
            .map(|u| (UserKey(u.id), Arc::new(u)))
            .collect())
    }
}

/// A session together with one member's row: how that member sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MembershipKey {
    /// The session.
    pub session_id: Uuid,
    /// The member.
    pub user_id: Uuid,
}

impl Loader<MembershipKey> for DbLoader {
    type Value = (Session, Member);
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[MembershipKey]) -> LoadResult<MembershipKey, (Session, Member)> {
        let by_user = sessions_by_user(keys.iter().map(|k| (k.user_id, k.session_id)));
        let mut conn = self.state.db().await.map_err(fail)?;
        let mut out = HashMap::new();
        for (user_id, session_ids) in by_user {
            let rows = session_model::find_many_for_member(&mut conn, user_id, &session_ids)
                .await
                .map_err(fail)?;
            out.extend(rows.into_iter().map(|(session, member)| {
                let key = MembershipKey {
                    session_id: session.id,
                    user_id,
                };
                (key, (session, member))
            }));
        }
        Ok(out)
    }
}

/// All members of a session, longest-standing first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MembersKey(pub Uuid);

impl Loader<MembersKey> for DbLoader {
    type Value = Vec<WithUser>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[MembersKey]) -> LoadResult<MembersKey, Vec<(Member, Arc<User>)>> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut conn = self.state.db().await.map_err(fail)?;
        let members = session_model::members_with_users(&mut conn, &ids)
            .await
            .map_err(fail)?;
        let mut out: HashMap<MembersKey, Vec<WithUser>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for (member, user) in members {
            out.entry(MembersKey(member.session_id))
                .or_default()
                .push((member, Arc::new(user)));
        }
        Ok(out)
    }
}

/// The senders of these messages, by id: one query.
async fn senders(
    conn: &mut diesel_async::AsyncPgConnection,
    messages: &[&Message],
) -> Result<HashMap<Uuid, Arc<User>>, async_graphql::Error> {
    let mut ids: Vec<Uuid> = messages.iter().map(|m| m.sender_id).collect();
    ids.sort();
    ids.dedup();
    let users = user_model::find_many(conn, &ids).await.map_err(fail)?;
    Ok(users.into_iter().map(|u| (u.id, Arc::new(u))).collect())
}

/// The last message of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LastMessageKey(pub Uuid);

impl Loader<LastMessageKey> for DbLoader {
    type Value = WithSender;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[LastMessageKey]) -> LoadResult<LastMessageKey, WithSender> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut conn = self.state.db().await.map_err(fail)?;
        let messages = message_model::last_of_sessions(&mut conn, &ids)
            .await
            .map_err(fail)?;
        let users = senders(&mut conn, &messages.iter().collect::<Vec<_>>()).await?;
        Ok(messages
            .into_iter()
            .map(|m| {
                let sender = users.get(&m.sender_id).cloned();
                (LastMessageKey(m.session_id), (Arc::new(m), sender))
            })
            .collect())
    }
}

/// A member's unread count in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnreadKey {
    /// The session.
    pub session_id: Uuid,
    /// The member.
    pub user_id: Uuid,
}

impl Loader<UnreadKey> for DbLoader {
    type Value = i64;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[UnreadKey]) -> LoadResult<UnreadKey, i64> {
        let by_user = sessions_by_user(keys.iter().map(|k| (k.user_id, k.session_id)));
        let mut conn = self.state.db().await.map_err(fail)?;
        let mut out = HashMap::new();
        for (user_id, session_ids) in by_user {
            let counts = session_model::unread_counts(&mut conn, user_id, &session_ids)
                .await
                .map_err(fail)?;
            out.extend(counts.into_iter().map(|(session_id, n)| {
                (
                    UnreadKey {
                        session_id,
                        user_id,
                    },
                    n,
                )
            }));
        }
        Ok(out)
    }
}

/// A message by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageKey(pub Uuid);

impl Loader<MessageKey> for DbLoader {
    type Value = Arc<Message>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[MessageKey]) -> LoadResult<MessageKey, Arc<Message>> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut conn = self.state.db().await.map_err(fail)?;
        let messages = message_model::find_many(&mut conn, &ids)
            .await
            .map_err(fail)?;
        Ok(messages
            .into_iter()
            .map(|m| (MessageKey(m.id), Arc::new(m)))
            .collect())
    }
}

/// A window of a session's history, with each message's sender. The value is in ascending
/// sequence order and may hold one message more than asked (the caller trims it and knows
/// more exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HistoryKey(pub Window);

impl Loader<HistoryKey> for DbLoader {
    type Value = Vec<WithSender>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[HistoryKey]) -> LoadResult<HistoryKey, Vec<WithSender>> {
        // Windows with the same limit and direction share one lateral query.
        let mut groups: HashMap<(i64, PageFrom), Vec<Window>> = HashMap::new();
        for key in keys {
            groups
                .entry((key.0.limit, key.0.from))
                .or_default()
                .push(key.0);
        }
        let mut conn = self.state.db().await.map_err(fail)?;
        let mut out = HashMap::new();
        let mut all_rows = Vec::new();
        for windows in groups.into_values() {
            let rows = message_model::windows(&mut conn, &windows)
                .await
                .map_err(fail)?;
            all_rows.push((windows, rows));
        }
        let users = senders(
            &mut conn,
            &all_rows
                .iter()
                .flat_map(|(_, rows)| rows.iter())
                .collect::<Vec<_>>(),
        )
        .await?;
        for (windows, rows) in all_rows {
            let mut by_session: HashMap<Uuid, Vec<Arc<Message>>> = HashMap::new();
            for row in rows {
                by_session
                    .entry(row.session_id)
                    .or_default()
                    .push(Arc::new(row));
            }
            for window in windows {
                // Two windows of one batch on the same session are rare (two aliases of
                // `messages` with different cursors); give each its own slice.
                let mut rows: Vec<Arc<Message>> = by_session
                    .get(&window.session_id)
                    .map(|all| {
                        all.iter()
                            .filter(|m| window.after_seq.is_none_or(|a| m.seq > a))
                            .filter(|m| window.before_seq.is_none_or(|b| m.seq < b))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                rows.sort_by_key(|m| m.seq);
                let keep = window.limit.max(0) as usize;
                if rows.len() > keep {
                    match window.from {
                        PageFrom::Start => rows.truncate(keep),
                        PageFrom::End => {
                            rows.drain(..rows.len() - keep);
                        }
                    }
                }
                let with_senders = rows
                    .into_iter()
                    .map(|m| {
                        let sender = users.get(&m.sender_id).cloned();
                        (m, sender)
                    })
                    .collect();
                out.insert(HistoryKey(window), with_senders);
            }
        }
        Ok(out)
    }
}

/// The reactions to a message as one viewer sees them (whether they reacted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReactionsKey {
    /// The message.
    pub message_id: Uuid,
    /// The viewer.
    pub viewer: Uuid,
}

impl Loader<ReactionsKey> for DbLoader {
    type Value = Vec<reaction_model::Summary>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[ReactionsKey],
    ) -> LoadResult<ReactionsKey, Vec<reaction_model::Summary>> {
        let by_viewer = sessions_by_user(keys.iter().map(|k| (k.viewer, k.message_id)));
        let mut conn = self.state.db().await.map_err(fail)?;
        let mut out: HashMap<ReactionsKey, Vec<reaction_model::Summary>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for (viewer, message_ids) in by_viewer {
            let rows = reaction_model::summaries(&mut conn, &message_ids, viewer)
                .await
                .map_err(fail)?;
            for row in rows {
                let key = ReactionsKey {
                    message_id: row.message_id,
                    viewer,
                };
                out.entry(key).or_default().push(row);
            }
        }
        Ok(out)
    }
}

/// The members a message mentions, in the order they were recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MentionedKey(pub Uuid);

impl Loader<MentionedKey> for DbLoader {
    type Value = Vec<Uuid>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[MentionedKey]) -> LoadResult<MentionedKey, Vec<Uuid>> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut conn = self.state.db().await.map_err(fail)?;
        let pairs = mention_model::of_messages(&mut conn, &ids)
            .await
            .map_err(fail)?;
        let mut out: HashMap<MentionedKey, Vec<Uuid>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for (message, user) in pairs {
            out.entry(MentionedKey(message)).or_default().push(user);
        }
        Ok(out)
    }
}

/// A member's unread mentions in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MentionCountKey {
    /// The session.
    pub session_id: Uuid,
    /// The member.
    pub user_id: Uuid,
}

impl Loader<MentionCountKey> for DbLoader {
    type Value = i64;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[MentionCountKey]) -> LoadResult<MentionCountKey, i64> {
        let by_user = sessions_by_user(keys.iter().map(|k| (k.user_id, k.session_id)));
        let mut conn = self.state.db().await.map_err(fail)?;
        let mut out = HashMap::new();
        for (user_id, session_ids) in by_user {
            let counts = mention_model::unread_counts(&mut conn, user_id, &session_ids)
                .await
                .map_err(fail)?;
            out.extend(counts.into_iter().map(|(session_id, n)| {
                let key = MentionCountKey {
                    session_id,
                    user_id,
                };
                (key, n)
            }));
        }
        Ok(out)
    }
}

/// Everyone a user has blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockedKey(pub Uuid);

impl Loader<BlockedKey> for DbLoader {
    type Value = Arc<HashSet<Uuid>>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[BlockedKey]) -> LoadResult<BlockedKey, Arc<HashSet<Uuid>>> {
        let blockers: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut conn = self.state.db().await.map_err(fail)?;
        let pairs = block_model::blocked_by(&mut conn, &blockers)
            .await
            .map_err(fail)?;
        let mut sets: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
        for (blocker, blocked) in pairs {
            sets.entry(blocker).or_default().insert(blocked);
        }
        Ok(keys
            .iter()
            .map(|k| (*k, Arc::new(sets.remove(&k.0).unwrap_or_default())))
            .collect())
    }
}

/// The attachments of a message, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttachmentsKey(pub Uuid);

impl Loader<AttachmentsKey> for DbLoader {
    type Value = Vec<attachment_model::Attachment>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[AttachmentsKey],
    ) -> LoadResult<AttachmentsKey, Vec<attachment_model::Attachment>> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut conn = self.state.db().await.map_err(fail)?;
        let rows = attachment_model::of_messages(&mut conn, &ids)
            .await
            .map_err(fail)?;
        let mut out: HashMap<AttachmentsKey, Vec<attachment_model::Attachment>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            if let Some(message) = row.message_id {
                out.entry(AttachmentsKey(message)).or_default().push(row);
            }
        }
        Ok(out)
    }
}
