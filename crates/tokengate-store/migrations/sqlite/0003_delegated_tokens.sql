-- Authorization codes, refresh-token families and the access tokens minted from them (SQLite).
CREATE TABLE authorization_codes (
    code_hash BLOB PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scopes TEXT NOT NULL,
    nonce TEXT,
    pkce_challenge TEXT,
    pkce_method TEXT,
    auth_time INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    redeemed_at INTEGER,
    family_id TEXT
);
CREATE TABLE refresh_tokens (
    token_hash BLOB PRIMARY KEY,
    family_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    state TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated_at INTEGER,
    parent_hash BLOB
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE TABLE revoked_families (
    family_id TEXT PRIMARY KEY,
    revoked_at INTEGER NOT NULL
);
CREATE TABLE family_access_tokens (
    family_id TEXT NOT NULL,
    uti TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (family_id, uti)
);
