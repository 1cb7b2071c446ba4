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
-- Every authenticated request: accounts::settle -> user::active_role_for_token (a mutation's
-- check comes before it, not in a pipeline with it).
SELECT users.role FROM (users INNER JOIN token_families ON token_families.user_id = users.id)
 WHERE users.id = bench_uuid(1, :u) AND users.deactivated_at IS NULL
   AND token_families.id = bench_uuid(3, :u) AND token_families.revoked_at IS NULL
 LIMIT 1;
-- message::send, one statement and its own transaction: the writers' lock, the retry check
-- (an earlier message with this client message id), the session's next sequence number
-- (locking its row; membership, blocks and the reply target checked), the message, the
-- sender's read marker and the MESSAGE_CREATED event. The server binds a NULL reply target
-- as a parameter; pgbench cannot bind NULL, so it is written as a literal here.
WITH writer AS MATERIALIZED (
       SELECT pg_advisory_xact_lock_shared(1836279666, 1) IS NULL AS locked),
     prior AS MATERIALIZED (
       SELECT m.id, m.session_id, m.sender_id, m.seq, m.body, m.reply_to_id, m.client_message_id, m.created_at, m.edited_at, m.deleted_at
         FROM messages m WHERE m.sender_id = bench_uuid(1, :u) AND m.client_message_id = 'pgb-' || :cid LIMIT 1),
     taken AS (
       UPDATE sessions s SET last_message_seq = s.last_message_seq + 1,
              last_message_at = greatest(clock_timestamp(), s.last_message_at + interval '1 microsecond'),
              last_activity_at = CURRENT_TIMESTAMP
         FROM writer
        WHERE s.id = bench_uuid(2, :s)
          AND NOT EXISTS (SELECT FROM prior)
          AND EXISTS (SELECT FROM session_members sm WHERE sm.session_id = bench_uuid(2, :s) AND sm.user_id = bench_uuid(1, :u))
          AND NOT EXISTS (SELECT FROM user_blocks b
                           WHERE (b.blocker_id = s.direct_user_low AND b.blocked_id = s.direct_user_high)
                              OR (b.blocker_id = s.direct_user_high AND b.blocked_id = s.direct_user_low))
          AND (NULL::uuid IS NULL OR EXISTS (SELECT FROM messages r WHERE r.id = NULL::uuid AND r.session_id = bench_uuid(2, :s)))
       RETURNING s.last_message_seq, s.last_message_at),
     sent AS (
       INSERT INTO messages AS m (id, session_id, sender_id, seq, body, reply_to_id, client_message_id, created_at)
       SELECT bench_uuid7(now()), bench_uuid(2, :s), bench_uuid(1, :u), t.last_message_seq, 'pgbench floor message', NULL, 'pgb-' || :cid, t.last_message_at FROM taken t
       RETURNING m.id, m.session_id, m.sender_id, m.seq, m.body, m.reply_to_id, m.client_message_id, m.created_at, m.edited_at, m.deleted_at),
     marked AS (
       UPDATE session_members sm SET last_read_seq = greatest(sm.last_read_seq, m.seq) FROM sent m
        WHERE sm.session_id = bench_uuid(2, :s) AND sm.user_id = bench_uuid(1, :u)),
     logged AS (
       INSERT INTO events (session_id, kind, actor_id, subject_id, message_id, detail)
       SELECT bench_uuid(2, :s), 'message_created', bench_uuid(1, :u), NULL, m.id, NULL FROM sent m)
SELECT m.id, m.session_id, m.sender_id, m.seq, m.body, m.reply_to_id, m.client_message_id, m.created_at, m.edited_at, m.deleted_at, true AS created FROM sent m
UNION ALL
SELECT m.id, m.session_id, m.sender_id, m.seq, m.body, m.reply_to_id, m.client_message_id, m.created_at, m.edited_at, m.deleted_at, false FROM prior m;
-- The server's event pump then reads the new event once (one query per wake-up, shared by
-- all concurrent sends; not counted here).
