-- Files attached to messages. An upload is a row with no message until a send names it; the
-- sweep removes uploads never attached. Objects live under `attachments/<id>/` in the store.
CREATE TABLE attachments (
    id           uuid PRIMARY KEY,
    uploader_id  uuid NOT NULL REFERENCES users (id),
    message_id   uuid REFERENCES messages (id) ON DELETE CASCADE,
    position     smallint,
    kind         text NOT NULL CHECK (kind IN ('image', 'file')),
    filename     text NOT NULL,
    content_type text NOT NULL,
    byte_size    bigint NOT NULL,
    width        integer,
    height       integer,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT attachments_image_size CHECK ((kind = 'image') = (width IS NOT NULL AND height IS NOT NULL)),
    CONSTRAINT attachments_placed CHECK ((message_id IS NULL) = (position IS NULL))
);
-- A message's attachments in order (and the index its foreign key is deleted through).
CREATE UNIQUE INDEX attachments_message_idx ON attachments (message_id, position)
    WHERE message_id IS NOT NULL;
-- The sweep's uploads never attached, oldest first.
CREATE INDEX attachments_unattached_idx ON attachments (created_at) WHERE message_id IS NULL;
CREATE INDEX attachments_uploader_idx ON attachments (uploader_id);
