ALTER TABLE session_members DROP COLUMN muted_until;
DROP TABLE user_blocks;
DROP TABLE mentions;
DROP TABLE reactions;
