-- Identity: credentials, throttling, smart-card certificates.

ALTER TABLE applications ADD COLUMN url TEXT NOT NULL DEFAULT '';

ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_failed_login_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until INTEGER;
ALTER TABLE users ADD COLUMN password_warning_sent_at INTEGER;
ALTER TABLE users ADD COLUMN last_login_at INTEGER;

CREATE TABLE password_history (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX password_history_user ON password_history(user_id, id);

-- Single-use secrets sent by e-mail (activation, reset); only the hash is kept.
CREATE TABLE credential_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    purpose TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX credential_tokens_user ON credential_tokens(user_id, purpose);

-- Failures per client address (per account they live on users).
CREATE TABLE address_throttle (
    scope TEXT NOT NULL,
    address TEXT NOT NULL,
    failures INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    blocked_until INTEGER,
    PRIMARY KEY (scope, address)
);

-- Smart-card (CNS) certificates bound to accounts.
CREATE TABLE certificates (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    fingerprint TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    issuer TEXT NOT NULL,
    serial TEXT NOT NULL,
    not_after INTEGER NOT NULL,
    bound_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    removed_at INTEGER
);
CREATE INDEX certificates_user ON certificates(user_id);

-- How the session was opened: a smart-card session is not held back by an
-- expired password.
ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';
