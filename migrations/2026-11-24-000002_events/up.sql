-- The event log behind live subscriptions and their resume cursors.
--
-- Events are ordered by (xid, id): the writing transaction's id, then insertion order. A
-- reader only takes events whose transaction is older than the oldest transaction still
-- running (pg_snapshot_xmin), so no event can later appear before a position already read:
-- cursors have no gaps, whatever order concurrent transactions commit in.
CREATE TABLE events (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid            bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    session_id     uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    kind           text NOT NULL,
    actor_id       uuid REFERENCES users (id),
    subject_id     uuid REFERENCES users (id),
    message_id     uuid REFERENCES messages (id) ON DELETE CASCADE,
    detail         jsonb,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_order_idx ON events (xid, id);
CREATE INDEX events_session_order_idx ON events (session_id, xid, id);
CREATE INDEX events_created_idx ON events (created_at);

-- How far old events have been pruned: a cursor at or before this position cannot be
-- replayed and gets a RESYNC answer.
CREATE TABLE event_retention (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    pruned_xid     bigint NOT NULL DEFAULT 0,
    pruned_id      bigint NOT NULL DEFAULT 0
);
INSERT INTO event_retention DEFAULT VALUES;
