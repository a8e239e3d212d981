-- The kill switch's feed (SQLite): every revocation is a row numbered by one counter, and
-- the nodes that apply it report how far they got.
--
-- `feed_head` holds the last version handed out. Writers take the next one with
-- `UPDATE feed_head SET version = version + 1 RETURNING version` inside their own transaction:
-- SQLite's write lock makes the next writer wait for this one's commit, so versions become
-- visible in order (a reader that saw N never later finds N-1 appear), the same rule as on
-- Postgres, where a sequence would break it. Signing-key writes advance it too, without a row.
CREATE TABLE feed_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
-- One row per revocation. `kind` and `subject` are `RevocationTarget::kind()`/`subject()`;
-- `tenant_id` is the user kind's tenant; `detail` (JSON) holds the rest of the target: the family
-- kind's `token_ids`, the client kind's `disable_credentials`. Times: `issued_before` and
-- `forget_after` in seconds, `created_at_ms` in milliseconds.
CREATE TABLE revocations (
    version INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    tenant_id TEXT,
    detail TEXT NOT NULL,
    issued_before INTEGER NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT,
    created_at_ms INTEGER NOT NULL,
    forget_after INTEGER NOT NULL
);
CREATE INDEX revocations_forget_after ON revocations(forget_after);
-- Access tokens of families revoked before this migration were revoked through
-- `revoked_families`: they go on the feed as token revocations, so no gateway forgets them.
INSERT INTO revocations (version, kind, subject, tenant_id, detail, issued_before, actor, reason, created_at_ms,
                         forget_after)
SELECT ROW_NUMBER() OVER (ORDER BY a.family_id, a.uti), 'token', a.uti, NULL, '{}', f.revoked_at + 1,
       'migration', 'family revoked before the revocation feed', f.revoked_at * 1000, a.expires_at
FROM family_access_tokens a JOIN revoked_families f ON f.family_id = a.family_id;
INSERT INTO feed_head (id, version) SELECT 1, COUNT(*) FROM revocations;
-- A user or client revocation revokes every refresh-token family of that user or client, inside
-- its transaction: find them by index rather than by scanning every token.
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);
CREATE INDEX refresh_tokens_client ON refresh_tokens(client_id);
-- Node heartbeats: what each node runs and which feed version it has applied.
CREATE TABLE nodes (
    node_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    roles TEXT NOT NULL,
    software_version TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL,
    heartbeat_at_ms INTEGER NOT NULL,
    applied_revocation_version INTEGER NOT NULL,
    applied_policy_version TEXT,
    last_sync_ms INTEGER NOT NULL,
    ready INTEGER NOT NULL
);
