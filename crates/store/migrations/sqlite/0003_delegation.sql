-- Delegated access: catalogue rules, sub-delegations, appointment of local
-- administrators, SCIM tokens.

-- Which organization kinds may hold a profile (empty = any).
CREATE TABLE profile_org_kinds (
    profile_id INTEGER NOT NULL REFERENCES profiles(id),
    org_kind TEXT NOT NULL,
    PRIMARY KEY (profile_id, org_kind)
);

-- What a profile lets its holder do inside the application.
CREATE TABLE profile_capabilities (
    profile_id INTEGER NOT NULL REFERENCES profiles(id),
    capability TEXT NOT NULL,
    PRIMARY KEY (profile_id, capability)
);

-- A profile that also opens another application's profile (PTT opens Telecontenzioso).
CREATE TABLE profile_implications (
    profile_id INTEGER NOT NULL REFERENCES profiles(id),
    implied_profile_id INTEGER NOT NULL REFERENCES profiles(id),
    PRIMARY KEY (profile_id, implied_profile_id)
);

-- A holder extends his profile (or a narrower one) to a collaborator; it
-- hangs on the holder's enablement and ends with it.
CREATE TABLE subdelegations (
    id INTEGER PRIMARY KEY,
    enablement_id INTEGER NOT NULL REFERENCES enablements(id) ON DELETE CASCADE,
    delegator_id INTEGER NOT NULL REFERENCES users(id),
    delegate_id INTEGER NOT NULL REFERENCES users(id),
    application_id INTEGER NOT NULL REFERENCES applications(id),
    profile_id INTEGER NOT NULL REFERENCES profiles(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX subdelegations_delegate ON subdelegations(delegate_id);
CREATE INDEX subdelegations_delegator ON subdelegations(delegator_id);

-- The head of an office asks the central administrator to appoint a local administrator.
CREATE TABLE appointment_requests (
    id INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations(id),
    requester_name TEXT NOT NULL,
    requester_email TEXT NOT NULL,
    requester_role TEXT NOT NULL,
    candidate_fiscal_code TEXT NOT NULL,
    candidate_given_name TEXT NOT NULL,
    candidate_family_name TEXT NOT NULL,
    candidate_email TEXT NOT NULL,
    letter_name TEXT NOT NULL,
    letter_type TEXT NOT NULL,
    letter_sha256 TEXT NOT NULL,
    letter BLOB NOT NULL,
    status TEXT NOT NULL,
    decided_by INTEGER REFERENCES users(id),
    decided_at INTEGER,
    decision_note TEXT,
    created_at INTEGER NOT NULL
);

-- Bearer tokens for an organization's provisioning system (SCIM), scoped to it.
CREATE TABLE scim_tokens (
    token_hash TEXT PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations(id),
    label TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

ALTER TABLE users ADD COLUMN disabled_at INTEGER;
ALTER TABLE users ADD COLUMN external_id TEXT;
