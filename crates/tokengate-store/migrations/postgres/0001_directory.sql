-- Directory, credentials, keys, replay protection and audit (PostgreSQL dialect).
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE tenant_domains (
    domain TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE
);
-- App registrations: the whole object as JSON, versioned for compare-and-swap updates.
CREATE TABLE apps (
    app_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    version BIGINT NOT NULL,
    spec TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX apps_tenant ON apps(tenant_id);
CREATE TABLE app_identifier_uris (
    tenant_id TEXT NOT NULL,
    uri TEXT NOT NULL,
    app_id TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, uri)
);
CREATE INDEX app_identifier_uris_uri ON app_identifier_uris(uri);
CREATE TABLE service_principals (
    object_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    app_id TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, app_id)
);
CREATE TABLE client_secrets (
    key_id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    hint TEXT NOT NULL,
    secret_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX client_secrets_app ON client_secrets(app_id);
CREATE TABLE client_certificates (
    key_id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    der BYTEA NOT NULL,
    thumbprint_sha1 BYTEA NOT NULL,
    thumbprint_sha256 BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX client_certificates_app ON client_certificates(app_id);
CREATE TABLE app_role_grants (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    resource_app_id TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,
    app_role_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (principal_id, resource_app_id, app_role_id)
);
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    sealed_private_key BYTEA NOT NULL,
    cert_der BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    retire_after BIGINT
);
CREATE TABLE replay_ids (
    namespace TEXT NOT NULL,
    id TEXT NOT NULL,
    fingerprint BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (namespace, id)
);
CREATE INDEX replay_ids_expiry ON replay_ids(expires_at);
CREATE TABLE audit_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    source TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    tenant_id TEXT,
    client_id TEXT,
    subject TEXT,
    token_id TEXT,
    client_ip TEXT,
    status BIGINT,
    latency_us BIGINT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events(at_ms);
