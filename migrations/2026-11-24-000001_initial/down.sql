DROP TABLE messages;
DROP TABLE session_members;
DROP TABLE sessions;
DROP TABLE refresh_tokens;
DROP TABLE token_families;
DROP TABLE users;
