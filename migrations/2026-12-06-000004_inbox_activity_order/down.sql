CREATE INDEX sessions_last_activity_idx ON sessions (last_activity_at DESC, id DESC);
CREATE INDEX session_members_user_idx ON session_members (user_id, session_id);
DROP INDEX session_members_user_activity_idx;
DROP TRIGGER sessions_spread_activity_hour ON sessions;
DROP FUNCTION sessions_spread_activity_hour();
DROP TRIGGER session_members_take_activity_hour ON session_members;
DROP FUNCTION session_members_take_activity_hour();
ALTER TABLE session_members DROP COLUMN activity_hour;
DROP FUNCTION activity_hour(timestamptz);
