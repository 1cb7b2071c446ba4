//! Diesel's view of the tables created by `migrations/`.
//!
//! Written in the shape `diesel print-schema` produces. `messages.search` (a generated
//! `tsvector`) is left out: diesel has no type for it, and full-text queries name it in SQL.

diesel::table! {
    /// Conversation members and their read markers.
    session_members (session_id, user_id) {
        /// The conversation.
        session_id -> Uuid,
        /// The member.
        user_id -> Uuid,
        /// `owner`, `admin` or `member`.
        role -> Text,
        /// When the user joined.
        joined_at -> Timestamptz,
        /// Sequence number of the last message the member has read.
        last_read_seq -> Int8,
        /// Muted until then (9999-12-31: for good); null when not muted.
        muted_until -> Nullable<Timestamptz>,
        /// The hour of the conversation's last activity, kept by triggers (inbox order).
        activity_hour -> Timestamptz,
    }
}

diesel::table! {
    /// Conversations, direct or group.
    sessions (id) {
        /// Primary key (uuid v7).
        id -> Uuid,
        /// `direct` or `group`.
        kind -> Text,
        /// Title of a group; null for direct sessions.
        title -> Nullable<Text>,
        /// Who created it.
        created_by -> Uuid,
        /// The smaller user id of a direct pair.
        direct_user_low -> Nullable<Uuid>,
        /// The larger user id of a direct pair.
        direct_user_high -> Nullable<Uuid>,
        /// Creation time.
        created_at -> Timestamptz,
        /// Time of the last message.
        last_message_at -> Nullable<Timestamptz>,
        /// Time of the last activity, for inbox order.
        last_activity_at -> Timestamptz,
        /// Sequence number of the last message.
        last_message_seq -> Int8,
        /// Per-session event counter.
        event_seq -> Int8,
    }
}

diesel::table! {
    /// Messages of conversations.
    messages (id) {
        /// Primary key (uuid v7).
        id -> Uuid,
        /// The conversation.
        session_id -> Uuid,
        /// Who sent it.
        sender_id -> Uuid,
        /// Per-session sequence number.
        seq -> Int8,
        /// The text; empty once deleted.
        body -> Text,
        /// The message this one answers.
        reply_to_id -> Nullable<Uuid>,
        /// Idempotency key chosen by the sender's client.
        client_message_id -> Nullable<Text>,
        /// Send time.
        created_at -> Timestamptz,
        /// Last edit time.
        edited_at -> Nullable<Timestamptz>,
        /// Deletion time (soft delete).
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// Refresh tokens, stored only as hashes.
    refresh_tokens (id) {
        /// Primary key.
        id -> Uuid,
        /// The sign-in this token belongs to.
        family_id -> Uuid,
        /// SHA-256 of the token.
        token_hash -> Bytea,
        /// Issue time.
        created_at -> Timestamptz,
        /// Expiry time.
        expires_at -> Timestamptz,
        /// When it was exchanged for a new one.
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// One row per sign-in; revoking it ends its refresh and access tokens.
    token_families (id) {
        /// Primary key.
        id -> Uuid,
        /// The signed-in user.
        user_id -> Uuid,
        /// Sign-in time.
        created_at -> Timestamptz,
        /// Revocation time (logout or detected reuse).
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// Accounts.
    users (id) {
        /// Primary key (uuid v7).
        id -> Uuid,
        /// Unique login name.
        username -> Text,
        /// Name shown to others.
        display_name -> Text,
        /// Free-text location.
        location -> Nullable<Text>,
        /// Object-storage key of the profile picture.
        avatar_key -> Nullable<Text>,
        /// `user` or `admin`.
        role -> Text,
        /// argon2id PHC string.
        password_hash -> Text,
        /// Registration time.
        created_at -> Timestamptz,
        /// Last profile change.
        updated_at -> Timestamptz,
        /// Set while the account is deactivated.
        deactivated_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(messages -> sessions (session_id));
diesel::joinable!(messages -> users (sender_id));
diesel::joinable!(refresh_tokens -> token_families (family_id));
diesel::joinable!(session_members -> sessions (session_id));
diesel::joinable!(session_members -> users (user_id));
diesel::joinable!(token_families -> users (user_id));

diesel::joinable!(events -> sessions (session_id));
diesel::joinable!(reactions -> messages (message_id));
diesel::joinable!(reactions -> users (user_id));
diesel::joinable!(mentions -> messages (message_id));
diesel::joinable!(attachments -> messages (message_id));

diesel::allow_tables_to_appear_in_same_query!(
    attachments,
    events,
    mentions,
    messages,
    reactions,
    refresh_tokens,
    session_members,
    sessions,
    token_families,
    user_blocks,
    users,
);

diesel::table! {
    /// The event log of live subscriptions, ordered by (xid, id).
    events (id) {
        /// Insertion order.
        id -> Int8,
        /// The writing transaction's id.
        xid -> Int8,
        /// The conversation.
        session_id -> Uuid,
        /// What happened.
        kind -> Text,
        /// Who did it.
        actor_id -> Nullable<Uuid>,
        /// Whom it concerns (member added, removed, read marker).
        subject_id -> Nullable<Uuid>,
        /// The message concerned.
        message_id -> Nullable<Uuid>,
        /// Small extra data (new title, read position).
        detail -> Nullable<Jsonb>,
        /// When it happened.
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// How far the event log has been pruned.
    event_retention (singleton) {
        /// Always true: one row.
        singleton -> Bool,
        /// Transaction id of the newest pruned event.
        pruned_xid -> Int8,
        /// Id of the newest pruned event.
        pruned_id -> Int8,
    }
}

diesel::table! {
    /// Emoji reactions: one row per message, emoji and user.
    reactions (message_id, emoji, user_id) {
        /// The message.
        message_id -> Uuid,
        /// The emoji (one grapheme cluster).
        emoji -> Text,
        /// Who reacted.
        user_id -> Uuid,
        /// When.
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// Who each message mentions.
    mentions (message_id, user_id) {
        /// The message.
        message_id -> Uuid,
        /// The member mentioned.
        user_id -> Uuid,
        /// The message's session.
        session_id -> Uuid,
        /// The message's sequence number.
        seq -> Int8,
        /// When.
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// Blocks between users.
    user_blocks (blocker_id, blocked_id) {
        /// Who blocked.
        blocker_id -> Uuid,
        /// Whom.
        blocked_id -> Uuid,
        /// When.
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// Files attached to messages, and uploads not attached yet.
    attachments (id) {
        /// Primary key (uuid v7); names its objects.
        id -> Uuid,
        /// Who uploaded it.
        uploader_id -> Uuid,
        /// The message it is attached to; null until sent.
        message_id -> Nullable<Uuid>,
        /// Its place among the message's attachments.
        position -> Nullable<Int2>,
        /// `image` or `file`.
        kind -> Text,
        /// The file name shown and offered for download.
        filename -> Text,
        /// Its media type.
        content_type -> Text,
        /// Size of the stored file in bytes.
        byte_size -> Int8,
        /// Width of an image in pixels.
        width -> Nullable<Int4>,
        /// Height of an image in pixels.
        height -> Nullable<Int4>,
        /// Upload time.
        created_at -> Timestamptz,
    }
}
