-- Assistance desk: channels, protocol registers, requests and their
-- correspondence, inbound mail triage, report counters.

ALTER TABLE offices ADD COLUMN province TEXT;
-- An office that stops taking new requests (closure, shortage) is skipped by routing.
ALTER TABLE offices ADD COLUMN accepting_requests INTEGER NOT NULL DEFAULT 1;
ALTER TABLE organizations ADD COLUMN province TEXT;

-- A protocol register (registro di protocollo); `aoo` is the administration's
-- identifier shown in the segnatura with the number and date.
CREATE TABLE registers (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    aoo TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- The last number given per register and year (Europe/Rome). Incremented in
-- the transaction that registers the request, so a rollback leaves no gap.
CREATE TABLE register_counters (
    register_id INTEGER NOT NULL REFERENCES registers(id),
    year INTEGER NOT NULL,
    last_number INTEGER NOT NULL,
    PRIMARY KEY (register_id, year)
);

-- An assistance channel (CIVIS, BDNA), configured as data.
CREATE TABLE channels (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    register_id INTEGER NOT NULL REFERENCES registers(id),
    -- Who may submit on the web: users enabled to this application (if set) ...
    application_id INTEGER REFERENCES applications(id),
    -- ... of these categories (comma list, empty = any) ...
    requester_categories TEXT NOT NULL DEFAULT '',
    -- ... and associated with one of the channel's offices (CIVIS).
    require_association INTEGER NOT NULL DEFAULT 0,
    hours_weekly TEXT NOT NULL,
    hours_holidays TEXT NOT NULL DEFAULT '',
    form_spec TEXT NOT NULL,
    outcomes TEXT NOT NULL,
    routing_rules TEXT NOT NULL DEFAULT '',
    mail_address TEXT,
    intake_web INTEGER NOT NULL DEFAULT 1,
    intake_mail INTEGER NOT NULL DEFAULT 1,
    intake_phone INTEGER NOT NULL DEFAULT 1,
    notice_lookup INTEGER NOT NULL DEFAULT 0,
    sla_take_minutes INTEGER NOT NULL DEFAULT 0,
    sla_close_minutes INTEGER NOT NULL DEFAULT 0,
    max_attachment_bytes INTEGER NOT NULL DEFAULT 10485760,
    active INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE channel_offices (
    channel_id INTEGER NOT NULL REFERENCES channels(id),
    office_id INTEGER NOT NULL REFERENCES offices(id),
    PRIMARY KEY (channel_id, office_id)
);

-- Requesters associated with offices of a channel (seed 002: intermediaries
-- enabled to CIVIS by their offices or regional directorate).
CREATE TABLE channel_members (
    channel_id INTEGER NOT NULL REFERENCES channels(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    office_id INTEGER NOT NULL REFERENCES offices(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (channel_id, user_id, office_id)
);

-- Notices (comunicazioni di irregolarità, avvisi telematici) the CIVIS form pre-fills from.
CREATE TABLE notices (
    id INTEGER PRIMARY KEY,
    notice_number TEXT NOT NULL UNIQUE,
    taxpayer_fiscal_code TEXT NOT NULL,
    kind TEXT NOT NULL,
    model TEXT NOT NULL,
    tax_year INTEGER NOT NULL,
    loaded_at INTEGER NOT NULL
);

-- The contact details a requester gave last time, offered again.
CREATE TABLE requester_contacts (
    user_id INTEGER PRIMARY KEY REFERENCES users(id),
    contact_name TEXT NOT NULL,
    phone TEXT NOT NULL,
    email TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE requests (
    id INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL REFERENCES channels(id),
    register_id INTEGER NOT NULL REFERENCES registers(id),
    year INTEGER NOT NULL,
    number INTEGER NOT NULL,
    protocol TEXT NOT NULL UNIQUE,
    registered_at INTEGER NOT NULL,
    intake TEXT NOT NULL,
    requester_user_id INTEGER REFERENCES users(id),
    requester_name TEXT NOT NULL,
    requester_email TEXT,
    requester_phone TEXT,
    contact_name TEXT,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    fields TEXT NOT NULL DEFAULT '{}',
    document_hash TEXT NOT NULL,
    office_id INTEGER NOT NULL REFERENCES offices(id),
    region TEXT NOT NULL DEFAULT '',
    assignee_id INTEGER REFERENCES users(id),
    state TEXT NOT NULL,
    outcome TEXT,
    taken_at INTEGER,
    closed_at INTEGER,
    paused_since INTEGER,
    paused_micros INTEGER NOT NULL DEFAULT 0,
    take_due_at INTEGER,
    close_due_at INTEGER,
    sla_flag TEXT NOT NULL DEFAULT 'ok',
    annulled_at INTEGER,
    annulled_by INTEGER REFERENCES users(id),
    annul_reason TEXT,
    updated_at INTEGER NOT NULL,
    UNIQUE (register_id, year, number)
);
CREATE INDEX requests_office_state ON requests(office_id, state);
CREATE INDEX requests_requester ON requests(requester_user_id, registered_at);
CREATE INDEX requests_register_day ON requests(register_id, registered_at);
CREATE INDEX requests_open_due ON requests(state, close_due_at);

-- The request's history and correspondence. `public` events are shown to the requester.
CREATE TABLE request_events (
    id INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES requests(id),
    at INTEGER NOT NULL,
    actor_user_id INTEGER REFERENCES users(id),
    actor_label TEXT NOT NULL,
    kind TEXT NOT NULL,
    public INTEGER NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX request_events_request ON request_events(request_id, id);

CREATE TABLE request_attachments (
    id INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES requests(id),
    event_id INTEGER REFERENCES request_events(id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    data BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX request_attachments_request ON request_attachments(request_id);

-- Every inbound message is kept: opened a request, joined one, or waits in triage.
CREATE TABLE inbound_mail (
    id INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL,
    message_id TEXT UNIQUE,
    from_address TEXT,
    to_address TEXT,
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    request_id INTEGER REFERENCES requests(id),
    sha256 TEXT NOT NULL,
    raw BLOB NOT NULL,
    handled_by INTEGER REFERENCES users(id),
    handled_at INTEGER
);
CREATE INDEX inbound_mail_status ON inbound_mail(status, received_at);

-- Report counters kept in the same transaction as each change, so reports
-- never count millions of rows: per day (Europe/Rome, yyyymmdd) for an office,
-- its region and the nation.
CREATE TABLE desk_stats (
    level TEXT NOT NULL,
    scope TEXT NOT NULL,
    region TEXT NOT NULL,
    day INTEGER NOT NULL,
    metric TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (level, scope, day, metric)
);
CREATE INDEX desk_stats_region ON desk_stats(level, region, day);

-- Requests open now, per office and state.
CREATE TABLE desk_open_counts (
    office_id INTEGER NOT NULL REFERENCES offices(id),
    state TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (office_id, state)
);

-- Daily register exports: their hash is also in the audit trail.
CREATE TABLE register_exports (
    id INTEGER PRIMARY KEY,
    register_id INTEGER NOT NULL REFERENCES registers(id),
    day INTEGER NOT NULL,
    entries INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    exported_by INTEGER REFERENCES users(id),
    exported_at INTEGER NOT NULL
);
