//! Conversations and messages: the `Session`, `SessionMember` and `Message` types, the inbox
//! and history queries, search, and the mutations that change them.

use std::sync::{Arc, OnceLock};

use async_graphql::connection::{Connection, CursorType, Edge};
use async_graphql::resolver_utils::enum_value;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::graphql::eager::{Child, Eager, EagerConnection, EagerList, Leaf, Leaves};
use crate::graphql::loaders::{
    AttachmentsKey, BlockedKey, HistoryKey, LastMessageKey, Loaders, MembersKey, MembershipKey,
    MentionCountKey, MentionedKey, MessageKey, ReactionsKey, UnreadKey, UserKey,
};
use crate::graphql::media::Attachment;
use crate::graphql::prefetch::{HistoryArgs, PagePrefetch, connection_nodes};
use crate::graphql::social::Reaction;
use crate::graphql::types::{
    CursorHead, User, decode_cursor, decode_keyset, encode_keyset, page_size,
};
use crate::graphql::{ContextExt, parse_id, reader};
use crate::models::message::{Message as MessageRow, PageFrom, Window};
use crate::models::session::Member;
use crate::models::user::User as UserRow;
use crate::services::input::{ClientMessageId, MessageBody, MessageSearch, SessionTitle};
use crate::services::messages::{self, Outgoing};
use crate::services::sessions::{self, MemberRole, SessionView};

const SESSION_CURSOR: &str = "session";
const MESSAGE_CURSOR: &str = "msg";
const SEARCH_CURSOR: &str = "hit";

fn loaders<'a>(ctx: &Context<'a>) -> &'a Loaders {
    ctx.data_unchecked::<Loaders>()
}

/// A page of conversations, most recently active first.
pub type SessionConnection = EagerConnection<String, Session>;
/// A page of messages, oldest first within the page.
pub type MessageConnection = EagerConnection<MessageCursor, Message>;

/// Where a message's edge sits, encoded as its opaque `cursor` only when a client asks for
/// it (the inbox asks for none of its 400 messages' cursors).
pub enum MessageCursor {
    /// Its place in its session's history.
    History {
        /// The cursors of the page's session.
        page: Arc<HistoryCursors>,
        /// The message's number in the session.
        seq: i64,
    },
    /// Its place in search results, newest first.
    Search {
        /// When the message was sent.
        at: DateTime<Utc>,
        /// The message.
        id: Uuid,
    },
}

impl CursorType for MessageCursor {
    type Error = &'static str;

    /// Not used: the resolvers decode `after` and `before` themselves, knowing which kind of
    /// cursor the argument must be (`decode_message_cursor`, `decode_keyset`).
    fn decode_cursor(_: &str) -> Result<Self, Self::Error> {
        Err("message cursors are decoded by their resolvers")
    }

    fn encode_cursor(&self) -> String {
        match *self {
            Self::History { ref page, seq } => page.encode(seq),
            Self::Search { at, id } => encode_keyset(SEARCH_CURSOR, at, id),
        }
    }
}

/// The history cursors of one session, `msg:{session_id}:{seq}`: their shared head is
/// encoded once, by the first cursor a page is asked for (the inbox's pages are asked for
/// none).
pub struct HistoryCursors {
    session_id: Uuid,
    head: OnceLock<CursorHead>,
}

impl HistoryCursors {
    fn new(session_id: Uuid) -> Self {
        Self {
            session_id,
            head: OnceLock::new(),
        }
    }

    /// The cursor of the message `seq`.
    fn encode(&self, seq: i64) -> String {
        let head = self.head.get_or_init(|| {
            let mut id = Uuid::encode_buffer();
            let id = self.session_id.hyphenated().encode_lower(&mut id);
            CursorHead::new(MESSAGE_CURSOR, &[id])
        });
        head.encode(itoa::Buffer::new().format(seq))
    }
}

/// Direct (two people) or group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum SessionKind {
    /// Between two users; the same pair always has the same session.
    Direct,
    /// Titled, with owners, admins and members.
    Group,
}

/// A conversation, as the viewer (a member) sees it.
pub struct Session {
    view: SessionView,
    /// What the page this session came in loaded for its fields, if it came in a page.
    page: Option<Arc<PagePrefetch>>,
}

impl From<SessionView> for Session {
    fn from(view: SessionView) -> Self {
        Self { view, page: None }
    }
}

/// A conversation, as the viewer (a member) sees it: a direct one between two users, or a
/// group.
#[Object]
impl Session {
    /// Unique, stable id.
    async fn id(&self) -> ID {
        ID(self.view.session.id.to_string())
    }

    /// Direct or group.
    async fn kind(&self) -> SessionKind {
        self.kind_now()
    }

    /// The group's title (1–100 characters); null for direct sessions.
    async fn title(&self) -> Option<&str> {
        self.view.session.title.as_deref()
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.view.session.created_at
    }

    /// When the last message was sent, if any.
    async fn last_message_at(&self) -> Option<DateTime<Utc>> {
        self.view.session.last_message_at
    }

    /// Last activity (message, rename, creation): the inbox order.
    async fn last_activity_at(&self) -> DateTime<Utc> {
        self.view.session.last_activity_at
    }

    /// The viewer's role here.
    async fn viewer_role(&self) -> MemberRole {
        MemberRole::from_db(&self.view.membership.role)
    }

    /// The viewer's read marker: the `seq` of the last message they have read.
    async fn viewer_read_up_to(&self) -> i64 {
        self.view.membership.last_read_seq
    }

    /// Messages from others after the viewer's read marker, deleted ones not counted; counting
    /// stops at 1,000, so 1,000 means "1,000 or more" (show it as "999+").
    async fn unread_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        if let Some(n) = self
            .page
            .as_ref()
            .and_then(|p| p.unread(self.view.session.id))
        {
            return Ok(n);
        }
        let key = UnreadKey {
            session_id: self.view.session.id,
            user_id: self.view.membership.user_id,
        };
        Ok(loaders(ctx).load_one(key).await?.unwrap_or(0))
    }

    /// Messages after the viewer's read marker that mention them, counted up to 1,000 like
    /// `unreadCount`.
    async fn unread_mention_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let id = self.view.session.id;
        if let Some(n) = self.page.as_ref().and_then(|p| p.mention_count(id)) {
            return Ok(n);
        }
        let key = MentionCountKey {
            session_id: id,
            user_id: self.view.membership.user_id,
        };
        Ok(loaders(ctx).load_one(key).await?.unwrap_or(0))
    }

    /// Until when the viewer muted this conversation: null when not muted,
    /// `9999-12-31T23:59:59Z` when muted for good. A muted conversation keeps its place in
    /// the inbox and its counts; it raises no notices (`Event.notice` is `NONE`).
    async fn muted_until(&self) -> Option<DateTime<Utc>> {
        let member = &self.view.membership;
        member.muted_at(Utc::now()).then_some(member.muted_until)?
    }

    /// The members, longest-standing first (at most 1,000 in a group).
    async fn members(&self, ctx: &Context<'_>) -> async_graphql::Result<EagerList<SessionMember>> {
        let id = self.view.session.id;
        let members = match self.page.as_ref().and_then(|p| p.members(id)) {
            Some(members) => members,
            None => loaders(ctx)
                .load_one(MembersKey(id))
                .await?
                .unwrap_or_default(),
        };
        Ok(members
            .into_iter()
            .map(|(m, u)| Eager(SessionMember(m, Some(User::from(u)))))
            .collect())
    }

    /// The last message, deleted or not; null before the first.
    async fn last_message(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Eager<Message>>> {
        if self.view.session.last_message_seq == 0 {
            return Ok(None);
        }
        let id = self.view.session.id;
        let last = match self.page.as_ref().and_then(|p| p.last(id)) {
            Some(last) => last,
            None => loaders(ctx).load_one(LastMessageKey(id)).await?,
        };
        Ok(last.map(|(m, sender)| Eager(Message::new(m, sender, self.page.clone()))))
    }

    /// The history, as a Relay connection in either direction: `first`/`after` reads forward
    /// from a cursor, `last`/`before` backward; with neither, the newest 20. Pages hold 1–100
    /// messages, always oldest first. Cursors stay valid while new messages arrive.
    #[graphql(
        complexity = "first.or(last).unwrap_or(20).clamp(0, 100) as usize * child_complexity"
    )]
    async fn messages(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<MessageConnection> {
        let args = HistoryArgs {
            first,
            after,
            last,
            before,
        };
        let window = history_window(self.view.session.id, &args)?;
        let prefetched = self.page.as_ref().and_then(|p| p.history(&window));
        let mut rows = match prefetched {
            Some(rows) => rows,
            None => loaders(ctx)
                .load_one(HistoryKey(window))
                .await?
                .unwrap_or_default(),
        };
        let asked = (window.limit - 1) as usize;
        let more = rows.len() > asked;
        match window.from {
            PageFrom::Start => rows.truncate(asked),
            PageFrom::End => {
                if more {
                    rows.remove(0);
                }
            }
        }
        let (has_previous, has_next) = match window.from {
            PageFrom::Start => (window.after_seq.is_some(), more),
            PageFrom::End => (more, window.before_seq.is_some()),
        };
        let mut connection = Connection::new(has_previous, has_next);
        let cursors = Arc::new(HistoryCursors::new(self.view.session.id));
        connection.edges.extend(rows.into_iter().map(|(m, sender)| {
            Edge::new(
                MessageCursor::History {
                    page: cursors.clone(),
                    seq: m.seq,
                },
                Eager(Message::new(m, sender, self.page.clone())),
            )
        }));
        Ok(connection.into())
    }
}

impl Session {
    fn kind_now(&self) -> SessionKind {
        if self.view.session.is_group() {
            SessionKind::Group
        } else {
            SessionKind::Direct
        }
    }
}

impl Leaves for Session {
    fn leaf(&self, name: &str) -> Option<Leaf<'_>> {
        let (session, member) = (&self.view.session, &self.view.membership);
        Some(match name {
            "id" => Leaf::Id(Some(session.id)),
            "kind" => enum_value(self.kind_now()).into(),
            "title" => Leaf::Text(session.title.as_deref()),
            "createdAt" => Leaf::Time(Some(session.created_at)),
            "lastMessageAt" => Leaf::Time(session.last_message_at),
            "lastActivityAt" => Leaf::Time(Some(session.last_activity_at)),
            "viewerRole" => enum_value(MemberRole::from_db(&member.role)).into(),
            "viewerReadUpTo" => Leaf::scalar(Some(&member.last_read_seq)),
            _ => return None,
        })
    }
}

/// The history window that `messages(first, after, last, before)` reads in a session.
fn history_window(session_id: Uuid, args: &HistoryArgs) -> AppResult<Window> {
    let cursor = |c: &Option<String>| {
        c.as_deref()
            .map(|c| decode_message_cursor(session_id, c))
            .transpose()
    };
    messages::history_window(
        session_id,
        args.first,
        cursor(&args.after)?,
        args.last,
        cursor(&args.before)?,
    )
}

fn decode_message_cursor(session_id: Uuid, cursor: &str) -> AppResult<i64> {
    let invalid = || AppError::bad_input("the cursor is not valid for this session");
    let text = decode_cursor(MESSAGE_CURSOR, cursor)?;
    let (session, seq) = text.split_once(':').ok_or_else(invalid)?;
    if session != session_id.to_string() {
        return Err(invalid());
    }
    seq.parse::<i64>()
        .ok()
        .filter(|s| *s >= 0)
        .ok_or_else(invalid)
}

/// A member of a conversation, with their account loaded alongside.
pub struct SessionMember(pub Member, pub Option<User>);

/// A member of a conversation, with their role and read marker.
#[Object]
impl SessionMember {
    /// The member.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Eager<User>> {
        if let Some(user) = &self.1 {
            return Ok(Eager(user.clone()));
        }
        let user = loaders(ctx)
            .load_one(UserKey(self.0.user_id))
            .await?
            .ok_or(AppError::NotFound("user"))?;
        Ok(Eager(User::from(user)))
    }

    /// Owner, admin or member.
    async fn role(&self) -> MemberRole {
        MemberRole::from_db(&self.0.role)
    }

    /// When they joined.
    async fn joined_at(&self) -> DateTime<Utc> {
        self.0.joined_at
    }

    /// Their read marker: the `seq` of the last message they have read.
    async fn read_up_to(&self) -> i64 {
        self.0.last_read_seq
    }
}

impl Leaves for SessionMember {
    fn leaf(&self, name: &str) -> Option<Leaf<'_>> {
        Some(match name {
            "role" => enum_value(MemberRole::from_db(&self.0.role)).into(),
            "joinedAt" => Leaf::Time(Some(self.0.joined_at)),
            "readUpTo" => Leaf::scalar(Some(&self.0.last_read_seq)),
            _ => return None,
        })
    }

    fn child(&self, name: &str) -> Option<Child<'_>> {
        match name {
            "user" => self.1.as_ref().map(Child::of),
            _ => None,
        }
    }
}

/// A message of a conversation, with its sender when it was loaded alongside.
pub struct Message {
    /// Shared with the loaders that found it.
    row: Arc<MessageRow>,
    /// Its sender, when loaded with it.
    sender: Option<User>,
    /// What the page of sessions this message came in loaded, if it came in one.
    page: Option<Arc<PagePrefetch>>,
}

impl Message {
    pub(crate) fn new(
        row: Arc<MessageRow>,
        sender: Option<Arc<UserRow>>,
        page: Option<Arc<PagePrefetch>>,
    ) -> Self {
        Self {
            row,
            sender: sender.map(User::from),
            page,
        }
    }
}

impl From<Arc<MessageRow>> for Message {
    fn from(row: Arc<MessageRow>) -> Self {
        Self::new(row, None, None)
    }
}

impl From<MessageRow> for Message {
    fn from(row: MessageRow) -> Self {
        Self::new(Arc::new(row), None, None)
    }
}

impl Message {
    /// The text as others see it: none once deleted.
    fn shown_body(&self) -> Option<&str> {
        self.row
            .deleted_at
            .is_none()
            .then_some(self.row.body.as_str())
    }
}

impl Leaves for Message {
    fn leaf(&self, name: &str) -> Option<Leaf<'_>> {
        let row = &*self.row;
        Some(match name {
            "id" => Leaf::Id(Some(row.id)),
            "seq" => Leaf::scalar(Some(&row.seq)),
            "body" => Leaf::Text(self.shown_body()),
            "createdAt" => Leaf::Time(Some(row.created_at)),
            "editedAt" => Leaf::Time(row.edited_at),
            "deletedAt" => Leaf::Time(row.deleted_at),
            _ => return None,
        })
    }

    fn child(&self, name: &str) -> Option<Child<'_>> {
        match name {
            "sender" => self.sender.as_ref().map(Child::of),
            _ => None,
        }
    }
}

/// A message of a conversation. Deleted messages stay in history with their body erased.
#[Object]
impl Message {
    /// Unique, stable id.
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }

    /// Position in its session: 1, 2, 3… with no ties. Use it with `markRead`.
    async fn seq(&self) -> i64 {
        self.row.seq
    }

    /// The text (1–4,000 characters); null once deleted.
    async fn body(&self) -> Option<&str> {
        self.shown_body()
    }

    /// Who sent it.
    async fn sender(&self, ctx: &Context<'_>) -> async_graphql::Result<Eager<User>> {
        if let Some(user) = &self.sender {
            return Ok(Eager(user.clone()));
        }
        let user = loaders(ctx)
            .load_one(UserKey(self.row.sender_id))
            .await?
            .ok_or(AppError::NotFound("user"))?;
        Ok(Eager(User::from(user)))
    }

    /// The conversation it belongs to.
    async fn session(&self, ctx: &Context<'_>) -> async_graphql::Result<Eager<Session>> {
        let viewer = ctx.viewer()?;
        let key = MembershipKey {
            session_id: self.row.session_id,
            user_id: viewer.user_id,
        };
        let (session, membership) = loaders(ctx)
            .load_one(key)
            .await?
            .ok_or(AppError::NotFound("session"))?;
        Ok(Session::from(SessionView {
            session,
            membership,
        })
        .into())
    }

    /// The message this one answers, if any.
    async fn reply_to(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Eager<Message>>> {
        let Some(id) = self.row.reply_to_id else {
            return Ok(None);
        };
        if let Some(found) = self.page.as_ref().and_then(|p| p.reply(id)) {
            return Ok(found.map(|(m, sender)| Eager(Message::new(m, sender, None))));
        }
        Ok(loaders(ctx)
            .load_one(MessageKey(id))
            .await?
            .map(|m| Eager(Message::from(m))))
    }

    /// The sender's idempotency key; shown to the sender only.
    async fn client_message_id(&self, ctx: &Context<'_>) -> Option<&str> {
        let mine = ctx
            .viewer_opt()
            .is_some_and(|v| v.user_id == self.row.sender_id);
        mine.then_some(self.row.client_message_id.as_deref())
            .flatten()
    }

    /// When it was sent.
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }

    /// When it was last edited, if ever.
    async fn edited_at(&self) -> Option<DateTime<Utc>> {
        self.row.edited_at
    }

    /// When it was deleted, if it was.
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.row.deleted_at
    }

    /// The files attached, in the order they were sent (at most 10). Empty once deleted.
    async fn attachments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Attachment>> {
        let id = self.row.id;
        let rows = match self.page.as_ref().and_then(|p| p.attachments(id)) {
            Some(rows) => rows,
            None => loaders(ctx)
                .load_one(AttachmentsKey(id))
                .await?
                .unwrap_or_default(),
        };
        Ok(rows.into_iter().map(Attachment).collect())
    }

    /// The emoji reactions, one entry per emoji in the order each first appeared, with how
    /// many reacted and whether the viewer did. Empty once deleted.
    async fn reactions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Reaction>> {
        let viewer = ctx.viewer()?;
        let id = self.row.id;
        let summaries = match self.page.as_ref().and_then(|p| p.reactions(id)) {
            Some(found) => found,
            None => {
                let key = ReactionsKey {
                    message_id: id,
                    viewer: viewer.user_id,
                };
                loaders(ctx).load_one(key).await?.unwrap_or_default()
            }
        };
        Ok(summaries.into_iter().map(Reaction).collect())
    }

    /// The members this message mentions (by `@username` in its text or picked by id when it
    /// was sent), never its sender; empty once deleted.
    async fn mentions(&self, ctx: &Context<'_>) -> async_graphql::Result<EagerList<User>> {
        if let Some(users) = self.page.as_ref().and_then(|p| p.mentions(self.row.id)) {
            return Ok(users.into_iter().map(|u| User::from(u).into()).collect());
        }
        let ids = loaders(ctx)
            .load_one(MentionedKey(self.row.id))
            .await?
            .unwrap_or_default();
        let users = loaders(ctx)
            .load_many(ids.iter().copied().map(UserKey))
            .await?;
        Ok(ids
            .iter()
            .filter_map(|id| users.get(&UserKey(*id)).cloned())
            .map(|u| User::from(u).into())
            .collect())
    }

    /// True when the viewer has blocked the sender: clients collapse such messages (in groups,
    /// where both stay members).
    async fn sender_blocked(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let viewer = ctx.viewer()?;
        if viewer.user_id == self.row.sender_id {
            return Ok(false);
        }
        let blocked = match self.page.as_ref().and_then(|p| p.blocked()) {
            Some(blocked) => blocked,
            None => loaders(ctx)
                .load_one(BlockedKey(viewer.user_id))
                .await?
                .unwrap_or_default(),
        };
        Ok(blocked.contains(&self.row.sender_id))
    }
}

/// Conversation queries.
#[derive(Default)]
pub struct ConversationQuery;

/// Conversation queries.
#[Object]
impl ConversationQuery {
    /// A conversation of the viewer's. `NOT_FOUND` if it does not exist or the viewer is not
    /// a member (the two are not told apart).
    async fn session(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Eager<Session>> {
        let viewer = ctx.viewer()?;
        let id = parse_id(&id, "id")?;
        Ok(Eager(Session::from(
            sessions::get(&*reader(ctx).await?, viewer, id).await?,
        )))
    }

    /// A message of one of the viewer's conversations (to open a mention or a search hit, or
    /// to refresh its attachments' URLs). `NOT_FOUND` if it does not exist or the viewer is
    /// not a member of its conversation (the two are not told apart).
    async fn message(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Eager<Message>> {
        let viewer = ctx.viewer()?;
        let id = parse_id(&id, "id")?;
        Ok(Message::from(messages::get(&*reader(ctx).await?, viewer, id).await?).into())
    }

    /// The viewer's conversations, most recently active first: pages of `first` (1–50,
    /// default 20) after the cursor `after`.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 50) as usize * child_complexity")]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<SessionConnection> {
        let viewer = ctx.viewer()?;
        let first = page_size(first, sessions::DEFAULT_PAGE, sessions::MAX_PAGE)?;
        let after = after
            .map(|c| decode_keyset(SESSION_CURSOR, &c))
            .transpose()?;
        // The reader is let go before the loaders below wait for the pool.
        let page = sessions::list(&*reader(ctx).await?, viewer, first, after).await?;
        let prefetched = match connection_nodes(&ctx.look_ahead()) {
            Some(node) => {
                let window = |id, args: &HistoryArgs| history_window(id, args).ok();
                let loaded = PagePrefetch::load(loaders(ctx), &node, &page.sessions, window);
                Some(Arc::new(loaded.await?))
            }
            None => None,
        };
        let mut connection = Connection::new(after.is_some(), page.has_next_page);
        connection
            .edges
            .extend(page.sessions.into_iter().map(|view| {
                let cursor = encode_keyset(
                    SESSION_CURSOR,
                    view.session.last_activity_at,
                    view.session.id,
                );
                let page = prefetched.clone();
                Edge::new(cursor, Eager(Session { view, page }))
            }));
        Ok(connection.into())
    }

    /// Messages of the viewer's conversations that contain the words of `text` (1–200
    /// characters; `"exact phrase"`, `or` and `-word` work as in web search), newest first.
    /// Each hit's `session` says where it was said. Pages of `first` (1–100, default 20).
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn search_messages(
        &self,
        ctx: &Context<'_>,
        text: String,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<MessageConnection> {
        let viewer = ctx.viewer()?;
        let text = MessageSearch::parse(&text)?;
        let first = page_size(first, messages::DEFAULT_PAGE, messages::MAX_PAGE)?;
        let after = after
            .map(|c| decode_keyset(SEARCH_CURSOR, &c))
            .transpose()?;
        let page = messages::search(ctx.state(), viewer, text, first, after).await?;
        let mut connection = Connection::new(after.is_some(), page.has_next_page);
        connection.edges.extend(page.messages.into_iter().map(|m| {
            Edge::new(
                MessageCursor::Search {
                    at: m.created_at,
                    id: m.id,
                },
                Eager(Message::from(m)),
            )
        }));
        Ok(connection.into())
    }
}

/// A new group.
#[derive(InputObject)]
pub struct CreateGroupInput {
    /// 1–100 characters after trimming; no control characters.
    pub title: String,
    /// The other members (the creator joins as owner). At most 999 others; duplicates and
    /// the creator are ignored.
    pub member_ids: Vec<ID>,
}

/// A message to send.
#[derive(InputObject)]
pub struct SendMessageInput {
    /// The conversation (the viewer must be a member).
    pub session_id: ID,
    /// 1–4,000 characters after trimming (0 with attachments); newlines and tabs allowed,
    /// other control characters and NUL refused. Stored NFC-normalized.
    pub body: String,
    /// A message of the same session this one answers.
    pub reply_to_id: Option<ID>,
    /// An id the client chooses (1–100 printable ASCII characters). Sending again with the
    /// same id returns the first message instead of a duplicate.
    pub client_message_id: Option<String>,
    /// Members to mention besides those written as `@username` in the body (at most 50), for
    /// clients that pick from a menu. Ids of non-members are ignored, and so is the sender.
    pub mention_ids: Option<Vec<ID>>,
    /// The viewer's uploads (`uploadAttachment`) to attach, in this order: at most 10, each
    /// not sent before. With attachments, `body` may be empty.
    pub attachment_ids: Option<Vec<ID>>,
}

fn parse_ids(ids: &[ID], what: &str) -> AppResult<Vec<Uuid>> {
    ids.iter().map(|id| parse_id(id, what)).collect()
}

/// Conversation mutations.
#[derive(Default)]
pub struct ConversationMutation;

/// Conversation mutations.
#[Object]
impl ConversationMutation {
    /// The direct conversation with another user, created the first time: the same pair always
    /// gets the same session, whoever starts it. Refused with yourself or a deactivated user
    /// (`BAD_USER_INPUT`); `NOT_FOUND` for an unknown user.
    async fn start_direct_session(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
    ) -> async_graphql::Result<Eager<Session>> {
        let viewer = ctx.viewer()?;
        let other = parse_id(&user_id, "userId")?;
        Ok(Session::from(sessions::start_direct(ctx.state(), viewer, other).await?).into())
    }

    /// Creates a group; the viewer becomes its owner. Groups hold at most 1,000 members.
    async fn create_group_session(
        &self,
        ctx: &Context<'_>,
        input: CreateGroupInput,
    ) -> async_graphql::Result<Eager<Session>> {
        let viewer = ctx.viewer()?;
        let title = SessionTitle::parse(&input.title)?;
        let members = parse_ids(&input.member_ids, "memberIds")?;
        Ok(
            Session::from(sessions::create_group(ctx.state(), viewer, title, members).await?)
                .into(),
        )
    }

    /// Adds users to a group (owners and admins). Members already in it are ignored.
    async fn add_session_members(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
        user_ids: Vec<ID>,
    ) -> async_graphql::Result<Eager<Session>> {
        let viewer = ctx.viewer()?;
        let session_id = parse_id(&session_id, "sessionId")?;
        let users = parse_ids(&user_ids, "userIds")?;
        let (view, _) = sessions::add_members(ctx.state(), viewer, session_id, users).await?;
        Ok(Session::from(view).into())
    }

    /// Removes a member from a group: owners remove anyone else, admins plain members. The
    /// removed member loses access at once.
    async fn remove_session_member(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
        user_id: ID,
    ) -> async_graphql::Result<Eager<Session>> {
        let viewer = ctx.viewer()?;
        let session_id = parse_id(&session_id, "sessionId")?;
        let user_id = parse_id(&user_id, "userId")?;
        Ok(
            Session::from(sessions::remove_member(ctx.state(), viewer, session_id, user_id).await?)
                .into(),
        )
    }

    /// Leaves a group. When its last owner leaves, the longest-standing member becomes owner.
    /// Direct sessions cannot be left. Returns true.
    async fn leave_session(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
    ) -> async_graphql::Result<bool> {
        let viewer = ctx.viewer()?;
        let session_id = parse_id(&session_id, "sessionId")?;
        sessions::leave(ctx.state(), viewer, session_id).await?;
        Ok(true)
    }

    /// Renames a group (owners and admins).
    async fn rename_session(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
        title: String,
    ) -> async_graphql::Result<Eager<Session>> {
        let viewer = ctx.viewer()?;
        let session_id = parse_id(&session_id, "sessionId")?;
        let title = SessionTitle::parse(&title)?;
        Ok(Session::from(sessions::rename(ctx.state(), viewer, session_id, title).await?).into())
    }

    /// Changes another member's role in a group (owners only).
    async fn set_session_member_role(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
        user_id: ID,
        role: MemberRole,
    ) -> async_graphql::Result<Eager<Session>> {
        let viewer = ctx.viewer()?;
        let session_id = parse_id(&session_id, "sessionId")?;
        let user_id = parse_id(&user_id, "userId")?;
        Ok(Session::from(
            sessions::set_member_role(ctx.state(), viewer, session_id, user_id, role).await?,
        )
        .into())
    }

    /// Moves the viewer's read marker forward to `upTo` (a message `seq`; clamped to the last
    /// message, never moved back). Unread counts follow.
    async fn mark_read(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
        up_to: i64,
    ) -> async_graphql::Result<Eager<Session>> {
        let viewer = ctx.viewer()?;
        let session_id = parse_id(&session_id, "sessionId")?;
        Ok(
            Session::from(sessions::mark_read(ctx.state(), viewer, session_id, up_to).await?)
                .into(),
        )
    }

    /// Sends a message to a conversation of the viewer's. Also marks it read for the sender.
    async fn send_message(
        &self,
        ctx: &Context<'_>,
        input: SendMessageInput,
    ) -> async_graphql::Result<Eager<Message>> {
        let viewer = ctx.viewer()?;
        let attachment_ids = parse_ids(
            input.attachment_ids.as_deref().unwrap_or(&[]),
            "attachmentIds",
        )?;
        let outgoing = Outgoing {
            session_id: parse_id(&input.session_id, "sessionId")?,
            body: MessageBody::parse_beside(&input.body, !attachment_ids.is_empty())?,
            reply_to: input
                .reply_to_id
                .as_ref()
                .map(|id| parse_id(id, "replyToId"))
                .transpose()?,
            client_message_id: input
                .client_message_id
                .as_deref()
                .map(ClientMessageId::parse)
                .transpose()?,
            mention_ids: parse_ids(input.mention_ids.as_deref().unwrap_or(&[]), "mentionIds")?,
            attachment_ids,
        };
        let sent = messages::send(ctx.state(), viewer, outgoing).await?;
        Ok(Message::from(sent.message).into())
    }

    /// Replaces the text of the viewer's own message; sets `editedAt`. Mentions follow the
    /// new text and `mentionIds` (as in `sendMessage`): members newly mentioned get a
    /// `MENTIONED` event, and members no longer mentioned lose the mention.
    async fn edit_message(
        &self,
        ctx: &Context<'_>,
        id: ID,
        body: String,
        mention_ids: Option<Vec<ID>>,
    ) -> async_graphql::Result<Eager<Message>> {
        let viewer = ctx.viewer()?;
        let id = parse_id(&id, "id")?;
        let body = MessageBody::parse(&body)?;
        let mention_ids = parse_ids(mention_ids.as_deref().unwrap_or(&[]), "mentionIds")?;
        Ok(Message::from(messages::edit(ctx.state(), viewer, id, body, mention_ids).await?).into())
    }

    /// Tells the session's other members that the viewer is typing (not stored; at most
    /// `MESSENGER_TYPING_PER_MINUTE` a minute, then `RATE_LIMITED`). Returns true.
    async fn typing(&self, ctx: &Context<'_>, session_id: ID) -> async_graphql::Result<bool> {
        let viewer = ctx.viewer()?;
        let session_id = parse_id(&session_id, "sessionId")?;
        crate::services::live::typing(ctx.state(), viewer, session_id).await?;
        Ok(true)
    }

    /// Deletes a message: its body is erased, it stays in history as deleted. The sender may,
    /// and in a group its owners and admins.
    async fn delete_message(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Eager<Message>> {
        let viewer = ctx.viewer()?;
        let id = parse_id(&id, "id")?;
        Ok(Message::from(messages::delete(ctx.state(), viewer, id).await?).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphql::types::encode_cursor;

    #[test]
    fn history_cursors_are_the_generic_encoding() {
        let id = Uuid::parse_str("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b").expect("uuid");
        let cursors = HistoryCursors::new(id);
        for seq in [0, 1, 42, 1_000_000, i64::MAX, -1, i64::MIN] {
            assert_eq!(
                cursors.encode(seq),
                encode_cursor(MESSAGE_CURSOR, format_args!("{id}:{seq}")),
                "{seq}"
            );
        }
    }
}
