-- OpenID Connect provider: signing keys, registered clients, authorization
-- codes, grants (one per code exchange: the "family" of its tokens),
-- refresh tokens, and the opaque subject identifier of each user.
-- Secrets (codes, refresh tokens, client secrets) are stored as SHA-256 only.

CREATE TABLE oidc_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    -- PKCS#8 PEM of the private key.
    private_pem TEXT NOT NULL,
    -- The public JWK as published at /oidc/jwks.
    public_jwk TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- Set when a newer key takes over; still published until its tokens expire.
    retired_at BIGINT
);

CREATE TABLE oidc_clients (
    client_id TEXT PRIMARY KEY,
    -- SHA-256 of a 256-bit random secret; NULL for public clients.
    secret_hash TEXT,
    application_id BIGINT NOT NULL REFERENCES applications(id),
    name TEXT NOT NULL,
    is_public BIGINT NOT NULL,
    -- JSON arrays of exact-match URIs.
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    -- Space-separated scopes the client may ask for.
    scopes TEXT NOT NULL,
    id_token_alg TEXT NOT NULL,
    backchannel_logout_uri TEXT,
    created_by BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX oidc_clients_application ON oidc_clients(application_id);

CREATE TABLE oidc_subjects (
    user_id BIGINT PRIMARY KEY REFERENCES users(id),
    subject TEXT NOT NULL UNIQUE
);

CREATE TABLE oidc_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES oidc_clients(client_id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    code_challenge_method TEXT,
    auth_time BIGINT NOT NULL,
    session_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    -- The grant the exchange created: revoked if the code is replayed.
    grant_id TEXT
);

CREATE TABLE oidc_grants (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES oidc_clients(client_id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    scope TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    session_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX oidc_grants_user ON oidc_grants(user_id);
CREATE INDEX oidc_grants_session ON oidc_grants(session_hash);

CREATE TABLE oidc_refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    -- The family: every rotation stays in the grant it started from.
    grant_id TEXT NOT NULL REFERENCES oidc_grants(id),
    client_id TEXT NOT NULL REFERENCES oidc_clients(client_id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    rotated_to TEXT,
    revoked_at BIGINT
);
CREATE INDEX oidc_refresh_grant ON oidc_refresh_tokens(grant_id);
