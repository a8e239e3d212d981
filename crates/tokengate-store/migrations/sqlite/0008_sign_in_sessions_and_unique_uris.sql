-- Server-side SSO sessions: the signed session cookie names one of these and is honoured only
-- while it is live (not ended by sign-out, a disabled user or a revocation, and not expired).
CREATE TABLE browser_sessions (
    session_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    auth_time INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ended_at INTEGER
);
CREATE INDEX browser_sessions_user ON browser_sessions(user_id);
CREATE INDEX browser_sessions_expires ON browser_sessions(expires_at);
-- An App ID URI names one app across the whole store (as in Entra): a token's `aud` must not be
-- claimable by an app of another tenant.
DROP INDEX app_identifier_uris_uri;
CREATE UNIQUE INDEX app_identifier_uris_uri_unique ON app_identifier_uris(uri);
