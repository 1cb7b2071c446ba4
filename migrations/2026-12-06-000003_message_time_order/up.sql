-- From now on a send takes its message's time under the session's row lock, a microsecond at
-- least after the session's previous message: within a session, times strictly increase with
-- `seq`, so "newest first" is the `(session_id, seq)` index read backwards (search relies on
-- it). Older rows may be out of order where two concurrent sends took the lock in the other
-- order than they started. Each such message moves to a microsecond after the latest one
-- before it; passes repeat until no message is out of order (one, unless moves cascade).
DO $$
BEGIN
  LOOP
    UPDATE messages m SET created_at = o.latest_before + interval '1 microsecond'
      FROM (SELECT id, created_at,
                   max(created_at) OVER (PARTITION BY session_id ORDER BY seq
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                     AS latest_before
              FROM messages) o
     WHERE m.id = o.id AND o.created_at <= o.latest_before;
    EXIT WHEN NOT FOUND;
  END LOOP;
END $$;
