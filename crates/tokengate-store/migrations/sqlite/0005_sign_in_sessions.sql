-- The browser sign-in session (`sid` of ID tokens) that codes, device approvals and refresh-token
-- families came from, so every token of one sign-in names the same session.
ALTER TABLE authorization_codes ADD COLUMN session_id TEXT;
ALTER TABLE refresh_tokens ADD COLUMN session_id TEXT;
ALTER TABLE device_codes ADD COLUMN session_id TEXT;
