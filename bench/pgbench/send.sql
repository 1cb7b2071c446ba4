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
-- message::next_seq_for_member (locks the session row)
UPDATE sessions SET last_message_seq = last_message_seq + 1,
       last_message_at = now(), last_activity_at = now()
 WHERE id = bench_uuid(2, :s) AND EXISTS
       (SELECT 1 FROM session_members WHERE session_id = bench_uuid(2, :s) AND user_id = bench_uuid(1, :u))
 RETURNING last_message_seq \gset
-- message::insert (a version 7 id, like Uuid::now_v7())
INSERT INTO messages (id, session_id, sender_id, seq, body, reply_to_id, client_message_id)
VALUES (bench_uuid7(now()), bench_uuid(2, :s), bench_uuid(1, :u), :last_message_seq,
        'pgbench floor message', NULL, 'pgb-' || :cid)
RETURNING messages.id, messages.session_id, messages.sender_id, messages.seq, messages.body, messages.reply_to_id, messages.client_message_id, messages.created_at, messages.edited_at, messages.deleted_at;
-- session::advance_read_marker
UPDATE session_members sm
   SET last_read_seq = GREATEST(sm.last_read_seq, LEAST(:last_message_seq, s.last_message_seq))
  FROM sessions s
 WHERE s.id = sm.session_id AND sm.session_id = bench_uuid(2, :s) AND sm.user_id = bench_uuid(1, :u)
 RETURNING sm.last_read_seq;
-- event::insert: the MESSAGE_CREATED event live subscribers read
INSERT INTO events (session_id, kind, actor_id, subject_id, message_id, detail)
SELECT bench_uuid(2, :s), 'message_created', bench_uuid(1, :u), NULL, m.id, NULL
  FROM messages m WHERE m.session_id = bench_uuid(2, :s) AND m.seq = :last_message_seq;
COMMIT;
-- The server's event pump then reads the new event once (one query per wake-up, shared by
-- all concurrent sends; not counted here).
