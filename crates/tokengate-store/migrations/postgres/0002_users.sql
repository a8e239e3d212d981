-- Users, groups, memberships and delegated-permission grants (PostgreSQL dialect).
CREATE TABLE users (
    object_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    upn TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX users_tenant ON users(tenant_id);
CREATE TABLE groups (
    object_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    display_name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups(object_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(object_id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members(user_id);
-- principal_id '' = tenant-wide (admin) consent, so the unique key covers it.
CREATE TABLE delegated_grants (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    client_app_id TEXT NOT NULL,
    resource_app_id TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, client_app_id, resource_app_id, principal_id)
);
