-- R-WEB-1: dashboard sign-in sessions, kept server-side so that signing out
-- (or rotating the API token the session was opened with) ends them at once.
-- Only hashes are stored: a leaked database opens no session.
-- (Numbered 0012: 0009 is unused and 0011 belongs to another branch.)
CREATE TABLE web_sessions (
    -- Hex SHA-256 of the cookie's random value.
    id_hash TEXT PRIMARY KEY,
    -- The API token the user signed in with: a rotated token ends the session.
    token_hash TEXT NOT NULL,
    -- The form token (CSRF) of this session, sent back in every form.
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
