-- Floor of the "inbox" scenario: the nested query of the conversations issue, 20 sessions
-- with members, last message, unread count and last 20 messages with senders:
--   sessions(first: 20) { … unreadCount members { user } lastMessage { sender }
--                          messages(last: 20) { … sender } }
-- The server runs the four loader queries in parallel on separate connections; the floor
-- runs them one after the other on one. Variables (-D): users.
\set u random(1, :users)
-- The server sends the sign-in check and the list together (a pipeline: a query's first read
-- rides on the connection of its check, src/graphql/gateway.rs); the floor sends them one
-- after the other, as user.sql explains (and \gset is not allowed in a pipeline).
-- Every authenticated request: accounts::confirm -> user::active_role_for_token.
SELECT users.role FROM (users INNER JOIN token_families ON token_families.user_id = users.id)
 WHERE users.id = bench_uuid(1, :u) AND users.deactivated_at IS NULL
   AND token_families.id = bench_uuid(3, :u) AND token_families.revoked_at IS NULL
 LIMIT 1;
-- sessions::list -> session::list_for_member (21 rows: one more tells whether more exist)
SELECT coalesce((array_agg(q.id))[1:20], '{}') AS ids FROM (
SELECT sessions.id, sessions.kind, sessions.title, sessions.created_by, sessions.direct_user_low, sessions.direct_user_high, sessions.created_at, sessions.last_message_at, sessions.last_activity_at, sessions.last_message_seq, sessions.event_seq, session_members.session_id, session_members.user_id, session_members.role, session_members.joined_at, session_members.last_read_seq
  FROM (sessions INNER JOIN session_members ON session_members.session_id = sessions.id)
 WHERE session_members.user_id = bench_uuid(1, :u)
 ORDER BY sessions.last_activity_at DESC, sessions.id DESC
 LIMIT 21) q \gset
-- MembersKey loader -> session::members_of
SELECT coalesce(array_agg(DISTINCT q.user_id), '{}') AS member_ids FROM (
SELECT session_members.session_id, session_members.user_id, session_members.role, session_members.joined_at, session_members.last_read_seq
  FROM session_members WHERE session_members.session_id = ANY(:ids::uuid[])
 ORDER BY session_members.session_id, session_members.joined_at, session_members.user_id) q \gset
-- LastMessageKey loader -> message::last_of_sessions
SELECT m.id, m.session_id, m.sender_id, m.seq, m.body, m.reply_to_id, m.client_message_id, m.created_at, m.edited_at, m.deleted_at FROM sessions s
  JOIN messages m ON m.session_id = s.id AND m.seq = s.last_message_seq
 WHERE s.id = ANY(:ids::uuid[]);
-- UnreadKey loader -> session::unread_counts
SELECT sm.session_id,
       (SELECT count(*) FROM messages m
         WHERE m.session_id = sm.session_id AND m.seq > sm.last_read_seq
           AND m.deleted_at IS NULL AND m.sender_id <> sm.user_id) AS unread
  FROM session_members sm
 WHERE sm.user_id = bench_uuid(1, :u) AND sm.session_id = ANY(:ids::uuid[]);
-- HistoryKey loader -> message::windows (20 windows of 21, newest first)
SELECT coalesce(array_agg(DISTINCT m.sender_id), '{}') AS senders FROM (
SELECT page.* FROM unnest(:ids::uuid[],
                       array_fill(NULL::bigint, ARRAY[cardinality(:ids::uuid[])]),
                       array_fill(NULL::bigint, ARRAY[cardinality(:ids::uuid[])]))
                AS w(session_id, after_seq, before_seq)
 CROSS JOIN LATERAL (
   SELECT m.id, m.session_id, m.sender_id, m.seq, m.body, m.reply_to_id, m.client_message_id, m.created_at, m.edited_at, m.deleted_at FROM messages m
    WHERE m.session_id = w.session_id
      AND m.seq > coalesce(w.after_seq, 0)
      AND m.seq < coalesce(w.before_seq, 9223372036854775807)
    ORDER BY m.seq DESC LIMIT 21) page) m \gset
-- UserKey loader -> user::find_many (members and senders)
SELECT users.id, users.username, users.display_name, users.location, users.avatar_key, users.role, users.created_at, users.updated_at, users.deactivated_at
  FROM users WHERE users.id = ANY(:member_ids::uuid[] || :senders::uuid[]);
