-- Device authorization grant (RFC 8628): both codes stored only as SHA-256 hashes (PostgreSQL).
-- status: pending | approved | declined | redeemed. scopes: space-separated, as elsewhere.
-- interval: seconds between polls (grows on slow_down); last_poll_ms: milliseconds.
CREATE TABLE device_codes (
    device_code_hash BYTEA PRIMARY KEY,
    user_code_hash BYTEA NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    status TEXT NOT NULL,
    user_id TEXT,
    auth_time BIGINT,
    interval BIGINT NOT NULL,
    last_poll_ms BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX device_codes_expires ON device_codes(expires_at);
