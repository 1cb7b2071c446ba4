-- The whole data model of DESIGN.md: accounts and their refresh tokens, conversations
-- ("sessions"), their members, and messages. Later migrations extend it.

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    username       text NOT NULL,
    display_name   text NOT NULL,
    location       text,
    avatar_key     text,
    role           text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    password_hash  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    deactivated_at timestamptz,
    CONSTRAINT users_username_format CHECK (username ~ '^[a-z0-9_.]{3,32}$')
);
-- Usernames are unique whatever their case.
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

-- One family per sign-in: every refresh rotates to a new token of the same family, and a
-- reused (already rotated) token revokes the whole family. Access tokens name their family,
-- so revoking it ends them too.
CREATE TABLE token_families (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX token_families_user_idx ON token_families (user_id);

CREATE TABLE refresh_tokens (
    id         uuid PRIMARY KEY,
    family_id  uuid NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    CONSTRAINT refresh_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

-- Conversations. A direct session stores its two users in sorted order, so the pair is
-- unique whichever of the two started it.
CREATE TABLE sessions (
    id               uuid PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('direct', 'group')),
    title            text,
    created_by       uuid NOT NULL REFERENCES users (id),
    direct_user_low  uuid REFERENCES users (id),
    direct_user_high uuid REFERENCES users (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_message_at  timestamptz,
    last_activity_at timestamptz NOT NULL DEFAULT now(),
    last_message_seq bigint NOT NULL DEFAULT 0,
    event_seq        bigint NOT NULL DEFAULT 0,
    CONSTRAINT sessions_direct_pair CHECK (
        (kind = 'direct') = (direct_user_low IS NOT NULL AND direct_user_high IS NOT NULL)
    ),
    CONSTRAINT sessions_direct_pair_order CHECK (direct_user_low <= direct_user_high),
    CONSTRAINT sessions_group_title CHECK ((kind = 'group') = (title IS NOT NULL))
);
CREATE UNIQUE INDEX sessions_direct_pair_key ON sessions (direct_user_low, direct_user_high)
    WHERE kind = 'direct';
CREATE INDEX sessions_last_activity_idx ON sessions (last_activity_at DESC, id DESC);

CREATE TABLE session_members (
    session_id    uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id       uuid NOT NULL REFERENCES users (id),
    role          text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
    joined_at     timestamptz NOT NULL DEFAULT now(),
    last_read_seq bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, user_id)
);
-- "My sessions": from the member row to the session.
CREATE INDEX session_members_user_idx ON session_members (user_id, session_id);

CREATE TABLE messages (
    id                uuid PRIMARY KEY,
    session_id        uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    sender_id         uuid NOT NULL REFERENCES users (id),
    seq               bigint NOT NULL,
    body              text NOT NULL,
    reply_to_id       uuid REFERENCES messages (id),
    client_message_id text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    edited_at         timestamptz,
    deleted_at        timestamptz,
    search            tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED,
    -- History pages, the last message and unread counts all walk this index.
    CONSTRAINT messages_session_seq_key UNIQUE (session_id, seq)
);
-- A retried send with the same client message id finds the first message.
CREATE UNIQUE INDEX messages_client_message_id_key ON messages (sender_id, client_message_id)
    WHERE client_message_id IS NOT NULL;
CREATE INDEX messages_search_idx ON messages USING gin (search);
