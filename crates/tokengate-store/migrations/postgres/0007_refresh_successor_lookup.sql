-- Refresh-token reuse detection looks up a token's successor by its parent inside the rotation
-- transaction (grace window, withdrawn successors): index it rather than scan every family.
-- Configured API permissions (requiredResourceAccess) need no table: they live in the app's spec.
CREATE INDEX refresh_tokens_parent ON refresh_tokens(parent_hash);
