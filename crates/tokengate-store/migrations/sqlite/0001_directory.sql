-- Directory, credentials, keys, replay protection and audit (SQLite dialect).
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE tenant_domains (
    domain TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE
);
-- App registrations: the whole object as JSON, versioned for compare-and-swap updates.
CREATE TABLE apps (
    app_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    version INTEGER NOT NULL,
    spec TEXT NOT NULL,
    created_at INTEGER NOT NULL
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
    created_at INTEGER NOT NULL,
    UNIQUE (tenant_id, app_id)
);
CREATE TABLE client_secrets (
    key_id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    hint TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX client_secrets_app ON client_secrets(app_id);
CREATE TABLE client_certificates (
    key_id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    der BLOB NOT NULL,
    thumbprint_sha1 BLOB NOT NULL,
    thumbprint_sha256 BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX client_certificates_app ON client_certificates(app_id);
CREATE TABLE app_role_grants (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    resource_app_id TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,
    app_role_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (principal_id, resource_app_id, app_role_id)
);
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    sealed_private_key BLOB NOT NULL,
    cert_der BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    retire_after INTEGER
);
CREATE TABLE replay_ids (
    namespace TEXT NOT NULL,
    id TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (namespace, id)
);
CREATE INDEX replay_ids_expiry ON replay_ids(expires_at);
CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    source TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    tenant_id TEXT,
    client_id TEXT,
    subject TEXT,
    token_id TEXT,
    client_ip TEXT,
    status INTEGER,
    latency_us INTEGER,
    detail TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events(at_ms);
