-- The inbox in activity order without sorting all of a member's conversations.
--
-- Each member row carries the hour (UTC) of its conversation's last activity, and an index
-- reads a user's rows newest hour first. The inbox takes the hours that hold its page (at
-- least a page of conversations), and sorts only the conversations in those hours by their
-- exact time: the rest are older than all of them. A copy of the exact time per member would
-- cost a group of a thousand members a thousand row updates on every message; the hour changes
-- at most once an hour per conversation.
--
-- Triggers keep the copy: every writer of `sessions.last_activity_at` (a send, a rename, a
-- seed) updates the member rows when the hour changes, and a new member row takes the hour of
-- its conversation. A membership change holds the conversation's row lock, as a send does, so
-- a row is never added with an hour a concurrent send is moving.

-- The hour a time falls in, the unit of `session_members.activity_hour`.
CREATE FUNCTION activity_hour(t timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN date_bin('1 hour', t, TIMESTAMPTZ '2000-01-01 00:00:00+00');

ALTER TABLE session_members ADD COLUMN activity_hour timestamptz;
UPDATE session_members sm SET activity_hour = activity_hour(s.last_activity_at)
  FROM sessions s WHERE s.id = sm.session_id;
ALTER TABLE session_members ALTER COLUMN activity_hour SET NOT NULL;

CREATE FUNCTION session_members_take_activity_hour() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.activity_hour := (SELECT activity_hour(s.last_activity_at)
                            FROM sessions s WHERE s.id = NEW.session_id);
    RETURN NEW;
END
$$;
CREATE TRIGGER session_members_take_activity_hour
    BEFORE INSERT ON session_members
    FOR EACH ROW EXECUTE FUNCTION session_members_take_activity_hour();

CREATE FUNCTION sessions_spread_activity_hour() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE session_members SET activity_hour = activity_hour(NEW.last_activity_at)
     WHERE session_id = NEW.id;
    RETURN NULL;
END
$$;
-- The WHEN condition is checked without running the trigger function: a send within the hour
-- of the conversation's previous activity pays for nothing more.
CREATE TRIGGER sessions_spread_activity_hour
    AFTER UPDATE OF last_activity_at ON sessions
    FOR EACH ROW
    WHEN (activity_hour(OLD.last_activity_at) IS DISTINCT FROM activity_hour(NEW.last_activity_at))
    EXECUTE FUNCTION sessions_spread_activity_hour();

-- "My conversations, newest hour first". It replaces `(user_id, session_id)`: lookups of one
-- membership use the primary key `(session_id, user_id)`, and "all my conversations" (search,
-- the live stream's start, deleting a user) reads this one by `user_id`.
CREATE INDEX session_members_user_activity_idx
    ON session_members (user_id, activity_hour DESC, session_id);
DROP INDEX session_members_user_idx;

-- No query reads conversations by activity across users, and the index made every send's
-- update of `last_activity_at` a non-HOT update that also writes an index entry.
DROP INDEX sessions_last_activity_idx;
