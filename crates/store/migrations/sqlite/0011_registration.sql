-- Self-registration of private subjects (seed 001, case 1): PEC confirmed by
-- a link, the request document signed digitally (CAdES) and verified; bodies
-- without a local administrator (case 3) wait for the central administrator.

-- The profile a verified registrant receives, by category (data, not code).
CREATE TABLE registration_profiles (
    category TEXT PRIMARY KEY,
    profile_id INTEGER NOT NULL REFERENCES profiles(id),
    needs_approval INTEGER NOT NULL DEFAULT 0
);

-- The applicant holds the link sent to his PEC (kept as a hash); the issued
-- document and its SHA-256 are what his signature must cover.
CREATE TABLE registrations (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    fiscal_code TEXT NOT NULL,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    category TEXT NOT NULL,
    email TEXT NOT NULL,
    pec TEXT NOT NULL,
    organization_id INTEGER REFERENCES organizations(id),
    state TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at INTEGER NOT NULL,
    document BLOB,
    document_sha256 TEXT,
    issued_at INTEGER,
    signed_file BLOB,
    signer_subject TEXT,
    signed_at INTEGER,
    support_file BLOB,
    support_filename TEXT,
    support_sha256 TEXT,
    reason TEXT,
    decided_by INTEGER REFERENCES users(id),
    decided_at INTEGER,
    user_id INTEGER REFERENCES users(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX registrations_state ON registrations(state, created_at);
CREATE INDEX registrations_fiscal_code ON registrations(fiscal_code);

-- Every signed file uploaded, with what the verification said.
CREATE TABLE registration_attempts (
    id INTEGER PRIMARY KEY,
    registration_id INTEGER NOT NULL REFERENCES registrations(id),
    at INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    reason TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    source_address TEXT
);
CREATE INDEX registration_attempts_registration ON registration_attempts(registration_id);
