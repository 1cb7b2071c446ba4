//! What a page of sessions loads for its children before they ask.
//!
//! The loaders batch the keys that are queued when a batch starts (see
//! [`crate::graphql::batcher`]). On a busy machine one level of a query can take longer than
//! one pass to reach every key, and then splits into several batches (with async-graphql's
//! 1 ms timer, the inbox ran 12 or 14 statements instead of 8 under the test suite's load).
//! The page's resolver sees the whole selection (`ctx.look_ahead()`), so it asks each loader
//! once with every key of the page, and hands the results to the sessions it returns: one
//! batch per level by construction, whatever the scheduling.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_graphql::dataloader::Loader;
use async_graphql::{Lookahead, SelectionField, Value};
use uuid::Uuid;

use crate::graphql::loaders::{
    AttachmentsKey, BlockedKey, DbLoader, HistoryKey, LastMessageKey, Loaders, MembersKey,
    MentionCountKey, MentionedKey, MessageKey, ReactionsKey, UnreadKey, UserKey,
};
use crate::models::attachment::Attachment;
use crate::models::message::{Message, Window};
use crate::models::reaction::Summary;
use crate::models::session::Member;
use crate::models::user::User;
use crate::services::sessions::SessionView;

/// A message with its sender, as the loaders give them.
pub type WithSender = (Arc<Message>, Option<Arc<User>>);

/// A member with their account, as the loaders give them.
pub type WithUser = (Member, Arc<User>);

/// The arguments of a history connection (`Session.messages`), cursors still encoded.
#[derive(Debug, Default)]
pub struct HistoryArgs {
    /// Read forward: at most this many.
    pub first: Option<i32>,
    /// Read forward from this cursor.
    pub after: Option<String>,
    /// Read backward: at most this many.
    pub last: Option<i32>,
    /// Read backward from this cursor.
    pub before: Option<String>,
}

impl HistoryArgs {
    /// Reads the arguments of one selected `messages` field; `None` when they cannot be read
    /// (the field's resolver then reports the error).
    fn of(field: &SelectionField<'_>) -> Option<Self> {
        let mut args = Self::default();
        for (name, value) in field.arguments().ok()? {
            match (name.as_str(), value) {
                (_, Value::Null) => {}
                ("first", Value::Number(n)) => args.first = Some(i32::try_from(n.as_i64()?).ok()?),
                ("last", Value::Number(n)) => args.last = Some(i32::try_from(n.as_i64()?).ok()?),
                ("after", Value::String(s)) => args.after = Some(s),
                ("before", Value::String(s)) => args.before = Some(s),
                _ => return None,
            }
        }
        Some(args)
    }
}

/// The children of one page of sessions, loaded for all of them at once. Each part is `None`
/// when the selection does not ask for it; the fields then fall back to their loaders.
#[derive(Debug, Default)]
pub struct PagePrefetch {
    unread: Option<HashMap<Uuid, i64>>,
    members: Option<HashMap<Uuid, Vec<WithUser>>>,
    last: Option<HashMap<Uuid, WithSender>>,
    /// Taken, not copied, by the one field that reads each window (a second reader, an
    /// alias with the same arguments, falls back to the loader).
    history: Mutex<HashMap<Window, Vec<WithSender>>>,
    replies: Option<HashMap<Uuid, WithSender>>,
    mention_counts: Option<HashMap<Uuid, i64>>,
    extras: MessageExtras,
}

/// What the page's messages (last messages and history) ask for besides their own row.
#[derive(Debug, Default)]
struct MessageExtras {
    attachments: Option<HashMap<Uuid, Vec<Attachment>>>,
    reactions: Option<HashMap<Uuid, Vec<Summary>>>,
    mentions: Option<HashMap<Uuid, Vec<Arc<User>>>>,
    blocked: Option<Arc<HashSet<Uuid>>>,
}

/// Joins the selections of several look-aheads into one (`edges.node` and `nodes`, say).
fn merged<'a>(parts: impl IntoIterator<Item = Lookahead<'a>>) -> Option<Lookahead<'a>> {
    let fields: Vec<SelectionField<'a>> = parts
        .into_iter()
        .flat_map(|part| part.selection_fields())
        .collect();
    Lookahead::try_from(fields.as_slice()).ok()
}

/// The node selection of a connection field: `edges { node }` and `nodes` together.
pub fn connection_nodes<'a>(connection: &Lookahead<'a>) -> Option<Lookahead<'a>> {
    merged([
        connection.field("edges").field("node"),
        connection.field("nodes"),
    ])
}

impl PagePrefetch {
    /// Loads what `node` (the selection of each session of the page) asks for: unread counts,
    /// members with their accounts, last messages and history windows with their senders, and
    /// the messages those answer. `window` turns a history field's arguments into the window
    /// of one session, as the field's resolver does.
    pub async fn load(
        loaders: &Loaders,
        node: &Lookahead<'_>,
        views: &[SessionView],
        window: impl Fn(Uuid, &HistoryArgs) -> Option<Window>,
    ) -> async_graphql::Result<Self> {
        let member_keys = || {
            views.iter().map(|v| UnreadKey {
                session_id: v.session.id,
                user_id: v.membership.user_id,
            })
        };
        let unread = async {
            if !node.field("unreadCount").exists() {
                return Ok(None);
            }
            let counts = loaders.load_many(member_keys()).await?;
            Ok::<_, async_graphql::Error>(Some(
                counts.into_iter().map(|(k, n)| (k.session_id, n)).collect(),
            ))
        };
        let members = async {
            if !node.field("members").exists() {
                return Ok(None);
            }
            let keys = views.iter().map(|v| MembersKey(v.session.id));
            let members = loaders.load_many(keys).await?;
            Ok(Some(members.into_iter().map(|(k, m)| (k.0, m)).collect()))
        };
        let last_field = node.field("lastMessage");
        let last = async {
            if !last_field.exists() {
                return Ok(None);
            }
            let keys = views
                .iter()
                .filter(|v| v.session.last_message_seq > 0)
                .map(|v| LastMessageKey(v.session.id));
            let last = loaders.load_many(keys).await?;
            Ok(Some(last.into_iter().map(|(k, m)| (k.0, m)).collect()))
        };
        let history_field = node.field("messages");
        let history = async {
            let mut keys = Vec::new();
            for field in history_field.selection_fields() {
                let Some(args) = HistoryArgs::of(&field) else {
                    continue;
                };
                keys.extend(
                    views
                        .iter()
                        .filter_map(|v| window(v.session.id, &args))
                        .map(HistoryKey),
                );
            }
            let windows = loaders.load_many(keys).await?;
            Ok(windows.into_iter().map(|(k, rows)| (k.0, rows)).collect())
        };
        let mention_counts = async {
            if !node.field("unreadMentionCount").exists() {
                return Ok(None);
            }
            let keys = views.iter().map(|v| MentionCountKey {
                session_id: v.session.id,
                user_id: v.membership.user_id,
            });
            let counts = loaders.load_many(keys).await?;
            Ok(Some(
                counts.into_iter().map(|(k, n)| (k.session_id, n)).collect(),
            ))
        };
        let (unread, members, last, history, mention_counts) =
            tokio::try_join!(unread, members, last, history, mention_counts)?;
        let mut page = Self {
            unread,
            members,
            last,
            history: Mutex::new(history),
            replies: None,
            mention_counts,
            extras: MessageExtras::default(),
        };
        let history_nodes = connection_nodes(&history_field);
        let messages = merged(
            [Some(last_field), history_nodes]
                .into_iter()
                .flatten()
                .filter(|l| l.exists()),
        );
        let Some(messages) = messages else {
            return Ok(page);
        };
        let viewer = views.first().map(|v| v.membership.user_id);
        let reply = messages.field("replyTo");
        let (replies, extras) = tokio::try_join!(
            page.load_replies(loaders, &reply),
            page.load_extras(loaders, &messages, viewer),
        )?;
        page.replies = replies;
        page.extras = extras;
        Ok(page)
    }

    /// The page's messages (last messages and history), as `f` sees each: while the page is
    /// being loaded, before any field takes its window.
    fn each_message<T>(&self, f: impl Fn(&Message) -> Option<T>) -> Vec<T> {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        self.last
            .iter()
            .flat_map(|last| last.values())
            .chain(history.values().flatten())
            .filter_map(|(m, _)| f(m))
            .collect()
    }

    /// The ids of the page's messages: last messages and history.
    fn message_ids(&self) -> Vec<Uuid> {
        let mut ids = self.each_message(|m| Some(m.id));
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Attachments, reactions, mentions and the viewer's blocks, where the messages' selection
    /// asks.
    async fn load_extras(
        &self,
        loaders: &Loaders,
        messages: &Lookahead<'_>,
        viewer: Option<Uuid>,
    ) -> async_graphql::Result<MessageExtras> {
        let Some(viewer) = viewer else {
            return Ok(MessageExtras::default());
        };
        let ids = self.message_ids();
        let selected = |field: &str| messages.field(field).exists().then_some(ids.as_slice());
        let blocked = async {
            if !messages.field("senderBlocked").exists() {
                return Ok(None);
            }
            loaders.load_one(BlockedKey(viewer)).await
        };
        let (attachments, reactions, mentioned, blocked) = tokio::try_join!(
            per_message(loaders, selected("attachments"), AttachmentsKey, |k| k.0),
            per_message(
                loaders,
                selected("reactions"),
                |message_id| ReactionsKey { message_id, viewer },
                |k| k.message_id,
            ),
            per_message(loaders, selected("mentions"), MentionedKey, |k| k.0),
            blocked,
        )?;
        let mentions = match mentioned {
            Some(mentioned) => {
                let users = loaders
                    .load_many(mentioned.values().flatten().copied().map(UserKey))
                    .await?;
                let named = |ids: Vec<Uuid>| {
                    ids.iter()
                        .filter_map(|id| users.get(&UserKey(*id)).cloned())
                        .collect()
                };
                Some(
                    mentioned
                        .into_iter()
                        .map(|(id, ids)| (id, named(ids)))
                        .collect(),
                )
            }
            None => None,
        };
        Ok(MessageExtras {
            attachments,
            reactions,
            mentions,
            blocked,
        })
    }

    /// The messages that the page's messages answer, with their senders if asked for.
    async fn load_replies(
        &self,
        loaders: &Loaders,
        reply: &Lookahead<'_>,
    ) -> async_graphql::Result<Option<HashMap<Uuid, WithSender>>> {
        if !reply.exists() {
            return Ok(None);
        }
        let answered = self.each_message(|m| m.reply_to_id.map(MessageKey));
        let targets = loaders.load_many(answered).await?;
        let mut senders = HashMap::new();
        if reply.field("sender").exists() {
            let ids = targets.values().map(|m| UserKey(m.sender_id));
            senders = loaders.load_many(ids).await?;
        }
        Ok(Some(
            targets
                .into_values()
                .map(|m| {
                    let sender = senders.get(&UserKey(m.sender_id)).cloned();
                    (m.id, (m, sender))
                })
                .collect(),
        ))
    }

    /// The viewer's unread count in a session, if loaded.
    pub fn unread(&self, session_id: Uuid) -> Option<i64> {
        let counts = self.unread.as_ref()?;
        Some(counts.get(&session_id).copied().unwrap_or(0))
    }

    /// A session's members with their accounts, if loaded.
    pub fn members(&self, session_id: Uuid) -> Option<Vec<WithUser>> {
        let members = self.members.as_ref()?;
        Some(members.get(&session_id).cloned().unwrap_or_default())
    }

    /// A session's last message, if loaded (`Some(None)`: it has none).
    pub fn last(&self, session_id: Uuid) -> Option<Option<WithSender>> {
        Some(self.last.as_ref()?.get(&session_id).cloned())
    }

    /// A history window as the loader gives it, if loaded.
    pub fn history(&self, window: &Window) -> Option<Vec<WithSender>> {
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        history.remove(window)
    }

    /// The viewer's unread mentions in a session, if loaded.
    pub fn mention_count(&self, session_id: Uuid) -> Option<i64> {
        let counts = self.mention_counts.as_ref()?;
        Some(counts.get(&session_id).copied().unwrap_or(0))
    }

    /// The attachments of a message of the page, if loaded.
    pub fn attachments(&self, message_id: Uuid) -> Option<Vec<Attachment>> {
        let attachments = self.extras.attachments.as_ref()?;
        Some(attachments.get(&message_id).cloned().unwrap_or_default())
    }

    /// The reactions to a message of the page, if loaded.
    pub fn reactions(&self, message_id: Uuid) -> Option<Vec<Summary>> {
        let reactions = self.extras.reactions.as_ref()?;
        Some(reactions.get(&message_id).cloned().unwrap_or_default())
    }

    /// The members a message of the page mentions, if loaded.
    pub fn mentions(&self, message_id: Uuid) -> Option<Vec<Arc<User>>> {
        let mentions = self.extras.mentions.as_ref()?;
        Some(mentions.get(&message_id).cloned().unwrap_or_default())
    }

    /// Everyone the viewer blocked, if loaded.
    pub fn blocked(&self) -> Option<Arc<HashSet<Uuid>>> {
        self.extras.blocked.clone()
    }

    /// The message `id` that a message of the page answers, if loaded.
    pub fn reply(&self, id: Uuid) -> Option<Option<WithSender>> {
        Some(self.replies.as_ref()?.get(&id).cloned())
    }
}

/// One loader's values for each of the page's messages (`ids`, `None` when the selection does
/// not ask for them), by message id: `key` makes a message's key, `id_of` reads it back.
async fn per_message<K>(
    loaders: &Loaders,
    ids: Option<&[Uuid]>,
    key: impl Fn(Uuid) -> K,
    id_of: impl Fn(&K) -> Uuid,
) -> async_graphql::Result<Option<HashMap<Uuid, <DbLoader as Loader<K>>::Value>>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    DbLoader: Loader<K, Error = async_graphql::Error>,
{
    let Some(ids) = ids else {
        return Ok(None);
    };
    let found = loaders.load_many(ids.iter().copied().map(key)).await?;
    Ok(Some(
        found.into_iter().map(|(k, v)| (id_of(&k), v)).collect(),
    ))
}
