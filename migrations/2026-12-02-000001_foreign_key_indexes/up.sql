-- Every foreign key that a delete can reach gets an index on its referencing columns, so that
-- deleting a message (or a session, whose messages and events go by cascade) looks its
-- references up instead of scanning: replies point at messages, events at messages.
-- Partial: most messages reply to nothing, and the index stays small.
CREATE INDEX messages_reply_to_id_idx ON messages (reply_to_id) WHERE reply_to_id IS NOT NULL;
CREATE INDEX events_message_id_idx ON events (message_id) WHERE message_id IS NOT NULL;
