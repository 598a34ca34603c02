-- Web sessions of /web/session/authenticate, shared by every process on this database and kept across
-- restarts. Only a SHA-256 of the session id is stored: a copy of the table opens no session. The
-- credential is the stored hash the user logged in with (password or API key); the session lives while it
-- stays stored and the user stays active.
CREATE TABLE web_sessions (
    sid_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    login TEXT NOT NULL,
    credential_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
CREATE INDEX web_sessions_user ON web_sessions (user_id);

-- Failed and running credential checks per (client address, login or uid), shared by every process so
-- that N replicas do not give N times the guesses. The key is a SHA-256: no login or address is stored.
-- Times are Unix seconds.
CREATE TABLE login_throttle (
    key_hash TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_start INTEGER NOT NULL
);
CREATE INDEX login_throttle_window ON login_throttle (window_start);
