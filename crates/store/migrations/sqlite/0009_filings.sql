-- Integrated filings (seed 004): services defined as data, agency connectors,
-- filings with their per-recipient deliveries and what the agencies said.

-- An agency's endpoint. The callback token is kept only as a hash.
CREATE TABLE agency_connectors (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    organization_id INTEGER REFERENCES organizations(id),
    endpoint TEXT NOT NULL,
    callback_token_hash TEXT NOT NULL,
    timeout_ms INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX agency_connectors_token ON agency_connectors(callback_token_hash);

-- A life event's service: one form; who may use it comes from the
-- application's profiles (capabilities filing.prepare / filing.submit).
CREATE TABLE integrated_services (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    application_id INTEGER NOT NULL REFERENCES applications(id),
    form_spec TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Each recipient: its connector, the mapping of form fields into its payload,
-- and the authorization the filer must hold at that agency.
CREATE TABLE service_recipients (
    id INTEGER PRIMARY KEY,
    service_id INTEGER NOT NULL REFERENCES integrated_services(id),
    connector_id INTEGER NOT NULL REFERENCES agency_connectors(id),
    position INTEGER NOT NULL,
    mapping TEXT NOT NULL,
    required_application_id INTEGER NOT NULL REFERENCES applications(id),
    required_profile_id INTEGER REFERENCES profiles(id),
    UNIQUE (service_id, connector_id)
);

-- A filing belongs to its owner (the filer, or the delegator of the
-- collaborator who prepared it). `search_text` holds the lower-cased values.
CREATE TABLE filings (
    id INTEGER PRIMARY KEY,
    service_id INTEGER NOT NULL REFERENCES integrated_services(id),
    owner_id INTEGER NOT NULL REFERENCES users(id),
    prepared_by INTEGER NOT NULL REFERENCES users(id),
    state TEXT NOT NULL,
    reference TEXT UNIQUE,
    data TEXT NOT NULL,
    search_text TEXT NOT NULL DEFAULT '',
    all_started_notified INTEGER NOT NULL DEFAULT 0,
    archived_at INTEGER,
    submitted_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX filings_owner ON filings(owner_id, updated_at);

-- One per (filing, recipient). The payload is frozen at submission so that
-- every attempt and every resend sends the same body under the same key.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    filing_id INTEGER NOT NULL REFERENCES filings(id),
    recipient_id INTEGER NOT NULL REFERENCES service_recipients(id),
    connector_id INTEGER NOT NULL REFERENCES agency_connectors(id),
    idempotency_key TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    protocol TEXT,
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    polls INTEGER NOT NULL DEFAULT 0,
    next_poll_at INTEGER,
    started_at INTEGER,
    updated_at INTEGER NOT NULL,
    UNIQUE (filing_id, recipient_id)
);
CREATE INDEX deliveries_protocol ON deliveries(protocol);
CREATE INDEX deliveries_poll ON deliveries(next_poll_at);

-- The history of a delivery, shown on the filing's page.
CREATE TABLE delivery_events (
    id INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    actor_id INTEGER REFERENCES users(id)
);
CREATE INDEX delivery_events_delivery ON delivery_events(delivery_id);
