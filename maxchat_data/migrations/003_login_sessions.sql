-- Logins that ended before their expiry (logout), kept until that expiry, so
-- a logged-out cookie stays dead after a restart.
CREATE TABLE revoked_sessions (
    sid        VARCHAR PRIMARY KEY,
    agent_id   INTEGER NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- Each agent's session epoch (no row = 0). A session token carries the epoch
-- it was made under; a password change or deactivation moves the epoch on,
-- which ends every session of that agent at once.
CREATE TABLE session_epochs (
    agent_id INTEGER PRIMARY KEY,
    epoch    INTEGER NOT NULL
);
