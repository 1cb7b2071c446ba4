-- Reactions, mentions, blocks and muting.

-- One row per (message, emoji, user): a user reacts with an emoji once. The summary of a
-- message (count per emoji, in the order each emoji first appeared) reads the primary key's
-- prefix; who reacted pages by (created_at, user_id) within one emoji.
CREATE TABLE reactions (
    message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    emoji      text NOT NULL,
    user_id    uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, emoji, user_id)
);
CREATE INDEX reactions_user_idx ON reactions (user_id);

-- Who a message mentions (members of its session only, never the sender). `session_id` and
-- `seq` are copies of the message's, so that an unread-mention count is a range of one index:
-- the viewer's mentions in a session after their read marker.
CREATE TABLE mentions (
    message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id),
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq        bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX mentions_unread_idx ON mentions (user_id, session_id, seq);
CREATE INDEX mentions_recent_idx ON mentions (user_id, created_at DESC, message_id DESC);
CREATE INDEX mentions_session_idx ON mentions (session_id);

-- `blocker_id` blocked `blocked_id`.
CREATE TABLE user_blocks (
    blocker_id uuid NOT NULL REFERENCES users (id),
    blocked_id uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker_id, blocked_id),
    CONSTRAINT user_blocks_not_self CHECK (blocker_id <> blocked_id)
);
CREATE INDEX user_blocks_blocked_idx ON user_blocks (blocked_id, blocker_id);
CREATE INDEX user_blocks_recent_idx ON user_blocks (blocker_id, created_at DESC, blocked_id DESC);

-- Muted until this time; 9999-12-31 means for good. Null: not muted.
ALTER TABLE session_members ADD COLUMN muted_until timestamptz;
