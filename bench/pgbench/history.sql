-- Floor of the "history" scenario: session(id) { messages(last: 50, before: cursor) { …
-- sender { … } } } for a member of a session with more than 50 messages, at a random cursor.
-- Variables (-D): users, sessions, groups, c0, busy, pinv (see examples/loadgen/dataset.rs).
\set k random(1, :busy)
\set s 1 + ((:k - 1) * :pinv) % :sessions
\set pick random(0, 1000000)
\set i :s - :groups - 1
\set a :i % :users
\set d 1 + (:a * 7919 + (:i / :users) * 2477) % (:users / 2 - 1)
\set u case when :s <= :groups then 1 + (:s * 131 + (:pick % (5 + (:s * 7) % 46)) * (1 + :s % 89)) % :users when :pick % 2 = 0 then 1 + :a else 1 + (:a + :d) % :users end
\set cnt int(:c0 / pow(:k, 0.9))
\set before random(51, greatest(51, :cnt))
-- The server sends the sign-in check and the membership read together (a pipeline: a query's
-- first read rides on the connection of its sign-in check, src/graphql/gateway.rs), with a Sync after
-- each, so each is a transaction of its own. pgbench 15 pipelines only up to one Sync, which
-- makes them one transaction (\syncpipeline came in PostgreSQL 17): less work than the
-- server's, so the floor sends them one after the other, as two transactions (BENCHMARKS.md
-- measured the one-transaction pipeline too).
-- Every authenticated request: accounts::confirm -> user::active_role_for_token.
SELECT users.role FROM (users INNER JOIN token_families ON token_families.user_id = users.id)
 WHERE users.id = bench_uuid(1, :u) AND users.deactivated_at IS NULL
   AND token_families.id = bench_uuid(3, :u) AND token_families.revoked_at IS NULL
 LIMIT 1;
-- sessions::get -> session::find_for_member
SELECT sessions.id, sessions.kind, sessions.title, sessions.created_by, sessions.direct_user_low, sessions.direct_user_high, sessions.created_at, sessions.last_message_at, sessions.last_activity_at, sessions.last_message_seq, sessions.event_seq, session_members.session_id, session_members.user_id, session_members.role, session_members.joined_at, session_members.last_read_seq, session_members.muted_until
  FROM sessions JOIN session_members ON session_members.session_id = sessions.id
 WHERE sessions.id = bench_uuid(2, :s) AND session_members.user_id = bench_uuid(1, :u)
 LIMIT 1;
-- HistoryKey loader -> message::windows (one window, 51 rows newest first); the floor keeps
-- only the senders, which the next statement needs.
SELECT coalesce(array_agg(DISTINCT m.sender_id), '{}') AS senders FROM (
SELECT page.* FROM unnest(ARRAY[bench_uuid(2, :s)], ARRAY[NULL::bigint], ARRAY[:before::bigint]) AS w(session_id, after_seq, before_seq)
 CROSS JOIN LATERAL (
   SELECT m.id, m.session_id, m.sender_id, m.seq, m.body, m.reply_to_id, m.client_message_id, m.created_at, m.edited_at, m.deleted_at FROM messages m
    WHERE m.session_id = w.session_id
      AND m.seq > coalesce(w.after_seq, 0)
      AND m.seq < coalesce(w.before_seq, 9223372036854775807)
    ORDER BY m.seq DESC LIMIT 51) page) m \gset
-- UserKey loader -> user::find_many (the senders)
SELECT users.id, users.username, users.display_name, users.location, users.avatar_key, users.role, users.created_at, users.updated_at, users.deactivated_at
  FROM users WHERE users.id = ANY(:senders::uuid[]);
