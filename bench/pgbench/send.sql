-- Floor of the "send" scenarios: sendMessage(input: { sessionId, body, clientMessageId })
-- by a member of a random session (services::messages::send).
-- Variables (-D): users, sessions, groups.
\set s random(1, :sessions)
\set pick random(0, 1000000)
\set i :s - :groups - 1
\set a :i % :users
\set d 1 + (:a * 7919 + (:i / :users) * 2477) % (:users / 2 - 1)
\set u case when :s <= :groups then 1 + (:s * 131 + (:pick % (5 + (:s * 7) % 46)) * (1 + :s % 89)) % :users when :pick % 2 = 0 then 1 + :a else 1 + (:a + :d) % :users end
\set cid random(1, 1000000000000000)
-- Every authenticated request: accounts::authenticate -> user::active_role_for_token.
SELECT users.role FROM (users INNER JOIN token_families ON token_families.user_id = users.id)
 WHERE users.id = bench_uuid(1, :u) AND users.deactivated_at IS NULL
   AND token_families.id = bench_uuid(3, :u) AND token_families.revoked_at IS NULL
 LIMIT 1;
-- The retry check before the transaction: message::find_by_client_id
SELECT messages.id, messages.session_id, messages.sender_id, messages.seq, messages.body, messages.reply_to_id, messages.client_message_id, messages.created_at, messages.edited_at, messages.deleted_at
  FROM messages
 WHERE messages.sender_id = bench_uuid(1, :u) AND messages.client_message_id = 'pgb-' || :cid
 LIMIT 1;
BEGIN;
-- events::write: mark the transaction as a writer of the event log, before it has an id
-- (event::lock_as_writer).
SELECT pg_advisory_xact_lock_shared(1836279666, 1) IS NULL;
-- message::next_seq_for_member (query builder; locks the session row; no block between the
-- two users of a direct session; the message's time a microsecond at least after the last)
UPDATE sessions SET last_message_seq = sessions.last_message_seq + 1,
       last_message_at = greatest(clock_timestamp(), sessions.last_message_at + interval '1 microsecond'),
       last_activity_at = CURRENT_TIMESTAMP
 WHERE sessions.id = bench_uuid(2, :s) AND EXISTS
       (SELECT session_members.session_id, session_members.user_id, session_members.role, session_members.joined_at, session_members.last_read_seq, session_members.muted_until
          FROM session_members WHERE session_members.session_id = bench_uuid(2, :s) AND session_members.user_id = bench_uuid(1, :u))
   AND NOT EXISTS
       (SELECT user_blocks.blocker_id, user_blocks.blocked_id, user_blocks.created_at FROM user_blocks
         WHERE (user_blocks.blocker_id = sessions.direct_user_low AND user_blocks.blocked_id = sessions.direct_user_high)
            OR (user_blocks.blocker_id = sessions.direct_user_high AND user_blocks.blocked_id = sessions.direct_user_low))
 RETURNING sessions.last_message_seq, sessions.last_message_at \gset
-- message::insert (a version 7 id, like Uuid::now_v7())
INSERT INTO messages (id, session_id, sender_id, seq, body, reply_to_id, client_message_id, created_at)
VALUES (bench_uuid7(now()), bench_uuid(2, :s), bench_uuid(1, :u), :last_message_seq,
        'pgbench floor message', NULL, 'pgb-' || :cid, CAST(:last_message_at AS timestamptz))
RETURNING messages.id, messages.session_id, messages.sender_id, messages.seq, messages.body, messages.reply_to_id, messages.client_message_id, messages.created_at, messages.edited_at, messages.deleted_at \gset m_
-- session::advance_own_marker (query builder, no RETURNING)
UPDATE session_members SET last_read_seq = greatest(session_members.last_read_seq, :last_message_seq)
 WHERE session_members.session_id = bench_uuid(2, :s) AND session_members.user_id = bench_uuid(1, :u);
-- event::insert, one row: the MESSAGE_CREATED event live subscribers read. The message id
-- comes from the INSERT above (with -M prepared, :m_id is sent as a parameter, like the server's).
INSERT INTO events (session_id, kind, actor_id, subject_id, message_id, detail)
VALUES (bench_uuid(2, :s), 'message_created', bench_uuid(1, :u), NULL, :m_id, NULL);
COMMIT;
-- The server's event pump then reads the new event once (one query per wake-up, shared by
-- all concurrent sends; not counted here).
