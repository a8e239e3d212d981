-- Versions of the gateway policy (SQLite): immutable documents and one published pointer.
--
-- `document` is the policy as JSON (`PolicyDocument`), `source` the TOML text it was written
-- in when it came from a file or `policy apply`. `origin` is `api` or `file:<path>` (a node's
-- watched policy file). Publishing advances `feed_head` in the same transaction, which wakes
-- every node; nodes then read `policy_published`.
CREATE TABLE policy_versions (
    version INTEGER PRIMARY KEY,
    document TEXT NOT NULL,
    source TEXT,
    content_hash TEXT NOT NULL,
    author TEXT NOT NULL,
    message TEXT NOT NULL,
    origin TEXT NOT NULL,
    rollback_of INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX policy_versions_origin ON policy_versions(origin, version);
CREATE TABLE policy_published (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL REFERENCES policy_versions(version),
    published_at INTEGER NOT NULL
);
