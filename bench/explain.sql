-- EXPLAIN (ANALYZE, BUFFERS) of every hot query on the seeded database:
--   psql postgres://root@127.0.0.1:5432/messenger_bench -f bench/explain.sql
-- Run inside a transaction that is rolled back, so the writes leave no trace.
-- User 1234; session 2 (a group of 19 members, rank 15813: a quiet one) and the busiest
-- session (rank 1) with its member; a history cursor in the middle of the busiest session.
\set u 'bench_uuid(1, 1234)'
\set f 'bench_uuid(3, 1234)'
BEGIN;
SELECT s.id AS busy_id, (SELECT sm.user_id FROM session_members sm WHERE sm.session_id = s.id LIMIT 1) AS busy_member,
       s.last_message_seq / 2 AS mid
  FROM sessions s ORDER BY s.last_message_seq DESC LIMIT 1 \gset
\echo '### auth: user::active_role_for_token'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT users.role FROM (users INNER JOIN token_families ON token_families.user_id = users.id)
 WHERE users.id = :u AND users.deactivated_at IS NULL AND token_families.id = :f AND token_families.revoked_at IS NULL LIMIT 1;
\echo '### user: user::find'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM users WHERE users.id = bench_uuid(1, 777) LIMIT 1;
\echo '### send: message::send (busiest session), one statement'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
WITH writer AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(1836279666, 1) IS NULL AS locked),
     prior AS MATERIALIZED (
       SELECT m.id, m.session_id, m.sender_id, m.seq, m.body, m.reply_to_id, m.client_message_id, m.created_at, m.edited_at, m.deleted_at
         FROM messages m WHERE m.sender_id = :'busy_member' AND m.client_message_id = 'lg-explain-1' LIMIT 1),
     taken AS (
       UPDATE sessions s SET last_message_seq = s.last_message_seq + 1,
              last_message_at = greatest(clock_timestamp(), s.last_message_at + interval '1 microsecond'),
              last_activity_at = CURRENT_TIMESTAMP
         FROM writer
        WHERE s.id = :'busy_id' AND NOT EXISTS (SELECT FROM prior)
          AND EXISTS (SELECT FROM session_members sm WHERE sm.session_id = :'busy_id' AND sm.user_id = :'busy_member')
          AND NOT EXISTS (SELECT FROM user_blocks b
                           WHERE (b.blocker_id = s.direct_user_low AND b.blocked_id = s.direct_user_high)
                              OR (b.blocker_id = s.direct_user_high AND b.blocked_id = s.direct_user_low))
          AND (NULL::uuid IS NULL OR EXISTS (SELECT FROM messages r WHERE r.id = NULL::uuid AND r.session_id = :'busy_id'))
       RETURNING s.last_message_seq, s.last_message_at),
     sent AS (
       INSERT INTO messages AS m (id, session_id, sender_id, seq, body, reply_to_id, client_message_id, created_at)
       SELECT gen_random_uuid(), :'busy_id', :'busy_member', t.last_message_seq, 'explain message', NULL, 'lg-explain-1', t.last_message_at FROM taken t
       RETURNING m.id, m.session_id, m.sender_id, m.seq, m.body, m.reply_to_id, m.client_message_id, m.created_at, m.edited_at, m.deleted_at),
     marked AS (
       UPDATE session_members sm SET last_read_seq = greatest(sm.last_read_seq, m.seq) FROM sent m
        WHERE sm.session_id = :'busy_id' AND sm.user_id = :'busy_member'),
     logged AS (
       INSERT INTO events (session_id, kind, actor_id, subject_id, message_id, detail)
       SELECT :'busy_id', 'message_created', :'busy_member', NULL, m.id, NULL FROM sent m)
SELECT m.id, m.seq, true AS created FROM sent m
UNION ALL SELECT m.id, m.seq, false FROM prior m;
\echo '### history: session::find_for_member'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM sessions INNER JOIN session_members ON session_members.session_id = sessions.id
 WHERE sessions.id = :'busy_id' AND session_members.user_id = :'busy_member' LIMIT 1;
\echo '### history: message::windows (one window, 51 before the middle of the busiest session)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT m.* FROM unnest(ARRAY[:'busy_id'::uuid], ARRAY[NULL::bigint], ARRAY[:mid::bigint]) AS w(session_id, after_seq, before_seq)
 CROSS JOIN LATERAL (SELECT * FROM messages WHERE messages.session_id = w.session_id
   AND messages.seq > coalesce(w.after_seq, 0) AND messages.seq < coalesce(w.before_seq, 9223372036854775807)
   ORDER BY messages.seq DESC LIMIT 51) m;
-- The inbox list as the server sends it (diesel's text, as the statement log shows it); no
-- cursor reads as one at the end of time, and fewer than a page before it as 1970.
PREPARE inbox_list(uuid, timestamptz, uuid, timestamptz, bigint, bigint, timestamptz, timestamptz, timestamptz, uuid, bigint) AS
SELECT "sessions"."id", "sessions"."kind", "sessions"."title", "sessions"."created_by", "sessions"."direct_user_low", "sessions"."direct_user_high", "sessions"."created_at", "sessions"."last_message_at", "sessions"."last_activity_at", "sessions"."last_message_seq", "sessions"."event_seq", "session_members"."session_id", "session_members"."user_id", "session_members"."role", "session_members"."joined_at", "session_members"."last_read_seq", "session_members"."muted_until" FROM ("sessions" INNER JOIN "session_members" ON ("session_members"."session_id" = "sessions"."id")) WHERE (((("session_members"."user_id" = $1) AND ("session_members"."activity_hour" <= activity_hour($2))) AND ("session_members"."activity_hour" >= coalesce((SELECT "older"."activity_hour" FROM "session_members" AS "older" WHERE (("older"."user_id" = $3) AND ("older"."activity_hour" < activity_hour($4))) ORDER BY "older"."activity_hour" DESC LIMIT $5 OFFSET $6), $7))) AND (("sessions"."last_activity_at" < $8) OR (("sessions"."last_activity_at" = $9) AND ("sessions"."id" < $10)))) ORDER BY "sessions"."last_activity_at" DESC, "sessions"."id" DESC LIMIT $11;
\set end '''9999-12-31 23:59:59+00'''
\set last '''ffffffff-ffff-ffff-ffff-ffffffffffff'''
\echo '### inbox: session::list_for_member (first 21)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE inbox_list(:u, :end, :u, :end, 1, 20, '1970-01-01 00:00:00+00', :end, :end, :last, 21);
-- A member of 5,000 conversations more (user 4321; it was in 9).
INSERT INTO session_members (session_id, user_id)
SELECT s.id, bench_uuid(1, 4321) FROM sessions s
 WHERE NOT EXISTS (SELECT 1 FROM session_members x WHERE x.session_id = s.id AND x.user_id = bench_uuid(1, 4321))
 ORDER BY s.id LIMIT 5000;
ANALYZE session_members;
\echo '### inbox list of a member of 5,009 conversations, before: all of them joined and sorted'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM sessions INNER JOIN session_members ON session_members.session_id = sessions.id
 WHERE session_members.user_id = bench_uuid(1, 4321) ORDER BY sessions.last_activity_at DESC, sessions.id DESC LIMIT 21;
\echo '### inbox list of a member of 5,009 conversations, now: first page'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE inbox_list(bench_uuid(1, 4321), :end, bench_uuid(1, 4321), :end, 1, 20, '1970-01-01 00:00:00+00', :end, :end, :last, 21);
SELECT s.last_activity_at AS cursor_at, s.id AS cursor_id FROM sessions s JOIN session_members sm ON sm.session_id = s.id
 WHERE sm.user_id = bench_uuid(1, 4321) ORDER BY s.last_activity_at DESC, s.id DESC OFFSET 19 LIMIT 1 \gset
\echo '### inbox list of a member of 5,009 conversations, now: second page (after the 20th)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE inbox_list(bench_uuid(1, 4321), :'cursor_at', bench_uuid(1, 4321), :'cursor_at', 1, 20, '1970-01-01 00:00:00+00', :'cursor_at', :'cursor_at', :'cursor_id', 21);
\echo '### inbox list of a member of 5,009 conversations, now: first page, generic plan (a cached statement may switch to it)'
SET LOCAL plan_cache_mode = force_generic_plan;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE inbox_list(bench_uuid(1, 4321), :end, bench_uuid(1, 4321), :end, 1, 20, '1970-01-01 00:00:00+00', :end, :end, :last, 21);
RESET plan_cache_mode;
SELECT array_agg(session_id) AS ids FROM session_members WHERE user_id = :u \gset
\echo '### inbox: session::members_of'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM session_members WHERE session_id = ANY(:'ids'::uuid[]) ORDER BY session_id, joined_at, user_id;
\echo '### inbox: message::last_of_sessions'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT m.* FROM sessions s JOIN messages m ON m.session_id = s.id AND m.seq = s.last_message_seq WHERE s.id = ANY(:'ids'::uuid[]);
\echo '### inbox: session::unread_counts'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT sm.session_id, (SELECT count(*) FROM (SELECT 1 FROM messages m WHERE m.session_id = sm.session_id AND m.seq > sm.last_read_seq
   AND m.deleted_at IS NULL AND m.sender_id <> sm.user_id LIMIT 1000) counted) AS unread
  FROM session_members sm WHERE sm.user_id = :u AND sm.session_id = ANY(:'ids'::uuid[]);
\echo '### inbox: unread_counts for a member far behind in the busiest session (read marker 0; counting stops at 1,000)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT count(*) FROM (SELECT 1 FROM messages m WHERE m.session_id = :'busy_id' AND m.seq > 0 AND m.deleted_at IS NULL AND m.sender_id <> :'busy_member' LIMIT 1000) counted;
\echo '### inbox: message::windows (all the user''s sessions, last 21 each)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT m.* FROM unnest(:'ids'::uuid[], array_fill(NULL::bigint, ARRAY[cardinality(:'ids'::uuid[])]), array_fill(NULL::bigint, ARRAY[cardinality(:'ids'::uuid[])])) AS w(session_id, after_seq, before_seq)
 CROSS JOIN LATERAL (SELECT * FROM messages WHERE messages.session_id = w.session_id
   AND messages.seq > coalesce(w.after_seq, 0) AND messages.seq < coalesce(w.before_seq, 9223372036854775807)
   ORDER BY messages.seq DESC LIMIT 21) m;
\echo '### inbox: user::find_many (40 users)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM users WHERE id = ANY(ARRAY(SELECT bench_uuid(1, n) FROM generate_series(1, 400, 10) n));
\echo '### search: message::search_for_member (a common word, first page of 21)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT hit.id FROM session_members sm
 CROSS JOIN LATERAL (SELECT m.id, m.created_at FROM messages m
   WHERE m.session_id = sm.session_id AND m.search @@ websearch_to_tsquery('simple', 'coffee')
     AND m.deleted_at IS NULL ORDER BY m.seq DESC LIMIT 21) hit
 WHERE sm.user_id = :u ORDER BY hit.created_at DESC, hit.id DESC LIMIT 21;
\echo '### search: a rare phrase (no hits)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT hit.id FROM session_members sm
 CROSS JOIN LATERAL (SELECT m.id, m.created_at FROM messages m
   WHERE m.session_id = sm.session_id AND m.search @@ websearch_to_tsquery('simple', '"pizza airport"')
     AND m.deleted_at IS NULL ORDER BY m.seq DESC LIMIT 21) hit
 WHERE sm.user_id = :u ORDER BY hit.created_at DESC, hit.id DESC LIMIT 21;
\echo '### search: a common word, by a member of the busiest session'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT hit.id FROM session_members sm
 CROSS JOIN LATERAL (SELECT m.id, m.created_at FROM messages m
   WHERE m.session_id = sm.session_id AND m.search @@ websearch_to_tsquery('simple', 'coffee')
     AND m.deleted_at IS NULL ORDER BY m.seq DESC LIMIT 21) hit
 WHERE sm.user_id = :'busy_member' ORDER BY hit.created_at DESC, hit.id DESC LIMIT 21;
ROLLBACK;
