-- Foundation schema. Times are microseconds since the Unix epoch, UTC.
-- Only INTEGER, TEXT and BLOB column types: the same queries run on PostgreSQL.

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    fiscal_code TEXT,
    parent_id INTEGER REFERENCES organizations(id),
    region TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE offices (
    id INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations(id),
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    region TEXT,
    mailbox TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE applications (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

CREATE TABLE profiles (
    id INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (application_id, code)
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    fiscal_code TEXT NOT NULL UNIQUE,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    email TEXT NOT NULL,
    pec TEXT,
    phone TEXT,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    organization_id INTEGER REFERENCES organizations(id),
    password_hash TEXT,
    password_changed_at INTEGER,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE user_roles (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    role TEXT NOT NULL,
    organization_id INTEGER REFERENCES organizations(id),
    office_id INTEGER REFERENCES offices(id),
    region TEXT,
    scope_key TEXT NOT NULL,
    UNIQUE (user_id, role, scope_key)
);

-- At most one profile per application per user (seed 000), enforced here too.
CREATE TABLE enablements (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    application_id INTEGER NOT NULL REFERENCES applications(id),
    profile_id INTEGER NOT NULL REFERENCES profiles(id),
    granted_by INTEGER REFERENCES users(id),
    granted_at INTEGER NOT NULL,
    UNIQUE (user_id, application_id)
);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    source_address TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    done_at INTEGER
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);

CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY,
    occurred_at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    acting_organization TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    source_address TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

-- One row: the last sequence number and hash. Updating it first in every
-- transaction that appends serializes appends on both backends.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
