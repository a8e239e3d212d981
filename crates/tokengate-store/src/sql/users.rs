//! Users (the UPN is stored lower-case and unique; updates are compare-and-swap on a version),
//! groups and direct group memberships. Delegated grants belong to the same store trait but
//! live in `consent.rs`.

use tokengate_core::audit::AuditEvent;
use tokengate_core::directory::{DelegatedGrant, Group, User};
use tokengate_core::store::{DelegatedGrantFilter, GroupChange, StoreError, StoreResult, UserChange, UserStore};
use uuid::Uuid;

use super::audit::{delete_audited, write_audit};
use super::consent::{
    delegated_grant, delegated_grants, delete_delegated_grant, find_delegated_grants, grant_delegated,
};
use super::row::SqlRow;
use super::statement::{begin, commit, query, rollback};
use super::{forward_to_sql, SqlStore};

const USER_COLUMNS: &str = "object_id, tenant_id, upn, display_name, password_hash, enabled, version, created_at";

forward_to_sql! {
    UserStore {
        async fn insert_user(&self, user: &User, audit: &AuditEvent) -> StoreResult<()>;
        async fn user(&self, object_id: Uuid) -> StoreResult<Option<User>>;
        async fn user_by_upn(&self, upn: &str) -> StoreResult<Option<User>>;
        async fn users(&self, tenant_id: Uuid) -> StoreResult<Vec<User>>;
        async fn update_user(
            &self,
            object_id: Uuid,
            change: UserChange<'_>,
            audit: Option<&AuditEvent>,
        ) -> StoreResult<User>;
        async fn insert_group(&self, group: &Group, audit: &AuditEvent) -> StoreResult<()>;
        async fn groups(&self, tenant_id: Uuid) -> StoreResult<Vec<Group>>;
        async fn add_group_member(&self, group_id: Uuid, user_id: Uuid, audit: &AuditEvent) -> StoreResult<()>;
        async fn groups_of(&self, user_id: Uuid) -> StoreResult<Vec<Group>>;
        async fn grant_delegated(&self, grant: &DelegatedGrant, audit: &AuditEvent) -> StoreResult<DelegatedGrant>;
        async fn delegated_grants(
            &self,
            tenant_id: Uuid,
            client_app_id: Uuid,
            resource_app_id: Uuid,
            user_id: Uuid,
        ) -> StoreResult<Vec<DelegatedGrant>>;
        async fn delete_user(&self, object_id: Uuid, audit: &AuditEvent) -> StoreResult<()>;
        async fn group(&self, group_id: Uuid) -> StoreResult<Option<Group>>;
        async fn update_group(&self, group_id: Uuid, change: GroupChange<'_>, audit: &AuditEvent) -> StoreResult<Group>;
        async fn delete_group(&self, group_id: Uuid, audit: &AuditEvent) -> StoreResult<()>;
        async fn group_members(&self, group_id: Uuid) -> StoreResult<Vec<User>>;
        async fn remove_group_member(&self, group_id: Uuid, user_id: Uuid, audit: &AuditEvent) -> StoreResult<()>;
        async fn delegated_grant(&self, id: Uuid) -> StoreResult<Option<DelegatedGrant>>;
        async fn find_delegated_grants(&self, filter: &DelegatedGrantFilter) -> StoreResult<Vec<DelegatedGrant>>;
        async fn delete_delegated_grant(&self, id: Uuid, audit: &AuditEvent) -> StoreResult<()>;
    }
}

async fn insert_user<S: SqlStore>(store: &S, user: &User, audit: &AuditEvent) -> StoreResult<()> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    query(
        "INSERT INTO users (object_id, tenant_id, upn, display_name, password_hash, enabled, version, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7)",
    )
    .bind(user.object_id.to_string())
    .bind(user.tenant_id.to_string())
    .bind(user.user_principal_name.to_ascii_lowercase())
    .bind(&user.display_name)
    .bind(&user.password_hash)
    .bind(i64::from(user.enabled))
    .bind(user.created_at)
    .execute(&mut tx)
    .await?;
    write_audit(&mut tx, audit).await?;
    commit(tx).await
}

async fn user<S: SqlStore>(store: &S, object_id: Uuid) -> StoreResult<Option<User>> {
    let row = query(&format!("SELECT {USER_COLUMNS} FROM users WHERE object_id = $1"))
        .bind(object_id.to_string())
        .fetch_optional(store.pool())
        .await?;
    row.as_ref().map(|r| user_from_row(r).map(|(u, _)| u)).transpose()
}

async fn user_by_upn<S: SqlStore>(store: &S, upn: &str) -> StoreResult<Option<User>> {
    let row = query(&format!("SELECT {USER_COLUMNS} FROM users WHERE upn = $1"))
        .bind(upn.to_ascii_lowercase())
        .fetch_optional(store.pool())
        .await?;
    row.as_ref().map(|r| user_from_row(r).map(|(u, _)| u)).transpose()
}

async fn users<S: SqlStore>(store: &S, tenant_id: Uuid) -> StoreResult<Vec<User>> {
    query(&format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY upn"))
        .bind(tenant_id.to_string())
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| user_from_row(r).map(|(u, _)| u))
        .collect()
}

async fn update_user<S: SqlStore>(
    store: &S,
    object_id: Uuid,
    change: UserChange<'_>,
    audit: Option<&AuditEvent>,
) -> StoreResult<User> {
    for _attempt in 0..16 {
        let row = query(&format!("SELECT {USER_COLUMNS} FROM users WHERE object_id = $1"))
            .bind(object_id.to_string())
            .fetch_optional(store.pool())
            .await?;
        let Some(row) = row else { return Err(StoreError::NotFound) };
        let (mut user, version) = user_from_row(&row)?;
        change(&mut user)?;
        if user.object_id != object_id {
            return Err(StoreError::Invalid("the object id of a user cannot change".into()));
        }
        let _writer = store.writer().await;
        let mut tx = begin(store).await?;
        let updated = query(
            "UPDATE users SET upn = $1, display_name = $2, password_hash = $3, enabled = $4, version = version + 1 \
             WHERE object_id = $5 AND version = $6",
        )
        .bind(user.user_principal_name.to_ascii_lowercase())
        .bind(&user.display_name)
        .bind(&user.password_hash)
        .bind(i64::from(user.enabled))
        .bind(object_id.to_string())
        .bind(version)
        .execute(&mut tx)
        .await?;
        if updated != 1 {
            rollback(tx).await?;
            continue;
        }
        if let Some(audit) = audit {
            write_audit(&mut tx, audit).await?;
        }
        commit(tx).await?;
        return Ok(user);
    }
    Err(StoreError::Backend("user update kept losing races; try again".into()))
}

async fn insert_group<S: SqlStore>(store: &S, group: &Group, audit: &AuditEvent) -> StoreResult<()> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    query("INSERT INTO groups (object_id, tenant_id, display_name, created_at) VALUES ($1, $2, $3, $4)")
        .bind(group.object_id.to_string())
        .bind(group.tenant_id.to_string())
        .bind(&group.display_name)
        .bind(group.created_at)
        .execute(&mut tx)
        .await?;
    write_audit(&mut tx, audit).await?;
    commit(tx).await
}

async fn groups<S: SqlStore>(store: &S, tenant_id: Uuid) -> StoreResult<Vec<Group>> {
    query(
        "SELECT object_id, tenant_id, display_name, created_at FROM groups WHERE tenant_id = $1 \
         ORDER BY display_name, object_id",
    )
    .bind(tenant_id.to_string())
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(group_from_row)
    .collect()
}

async fn add_group_member<S: SqlStore>(
    store: &S,
    group_id: Uuid,
    user_id: Uuid,
    audit: &AuditEvent,
) -> StoreResult<()> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
        .bind(group_id.to_string())
        .bind(user_id.to_string())
        .execute(&mut tx)
        .await?;
    write_audit(&mut tx, audit).await?;
    commit(tx).await
}

async fn groups_of<S: SqlStore>(store: &S, user_id: Uuid) -> StoreResult<Vec<Group>> {
    query(
        "SELECT g.object_id, g.tenant_id, g.display_name, g.created_at FROM groups g \
         JOIN group_members m ON m.group_id = g.object_id WHERE m.user_id = $1 ORDER BY g.display_name, g.object_id",
    )
    .bind(user_id.to_string())
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(group_from_row)
    .collect()
}

async fn delete_user<S: SqlStore>(store: &S, object_id: Uuid, audit: &AuditEvent) -> StoreResult<()> {
    let key = object_id.to_string();
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    // Grants name their principal without a foreign key; memberships cascade.
    query("DELETE FROM app_role_grants WHERE principal_id = $1").bind(&key).execute(&mut tx).await?;
    query("DELETE FROM delegated_grants WHERE principal_id = $1").bind(&key).execute(&mut tx).await?;
    let deleted = query("DELETE FROM users WHERE object_id = $1").bind(&key).execute(&mut tx).await?;
    if deleted != 1 {
        rollback(tx).await?;
        return Err(StoreError::NotFound);
    }
    write_audit(&mut tx, audit).await?;
    commit(tx).await
}

async fn group<S: SqlStore>(store: &S, group_id: Uuid) -> StoreResult<Option<Group>> {
    query("SELECT object_id, tenant_id, display_name, created_at FROM groups WHERE object_id = $1")
        .bind(group_id.to_string())
        .fetch_optional(store.pool())
        .await?
        .as_ref()
        .map(group_from_row)
        .transpose()
}

/// Groups have no version column: the row is locked first with a no-op write (as tenants are),
/// then read, changed and written in that one transaction.
async fn update_group<S: SqlStore>(
    store: &S,
    group_id: Uuid,
    change: GroupChange<'_>,
    audit: &AuditEvent,
) -> StoreResult<Group> {
    let key = group_id.to_string();
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    let locked =
        query("UPDATE groups SET display_name = display_name WHERE object_id = $1").bind(&key).execute(&mut tx).await?;
    if locked != 1 {
        rollback(tx).await?;
        return Err(StoreError::NotFound);
    }
    let row = query("SELECT object_id, tenant_id, display_name, created_at FROM groups WHERE object_id = $1")
        .bind(&key)
        .fetch_one(&mut tx)
        .await?;
    let mut group = group_from_row(&row)?;
    change(&mut group)?;
    if group.object_id != group_id {
        return Err(StoreError::Invalid("the object id of a group cannot change".into()));
    }
    query("UPDATE groups SET display_name = $1 WHERE object_id = $2")
        .bind(&group.display_name)
        .bind(&key)
        .execute(&mut tx)
        .await?;
    write_audit(&mut tx, audit).await?;
    commit(tx).await?;
    Ok(group)
}

async fn delete_group<S: SqlStore>(store: &S, group_id: Uuid, audit: &AuditEvent) -> StoreResult<()> {
    let key = group_id.to_string();
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    query("DELETE FROM app_role_grants WHERE principal_id = $1").bind(&key).execute(&mut tx).await?;
    let deleted = query("DELETE FROM groups WHERE object_id = $1").bind(&key).execute(&mut tx).await?;
    if deleted != 1 {
        rollback(tx).await?;
        return Err(StoreError::NotFound);
    }
    write_audit(&mut tx, audit).await?;
    commit(tx).await
}

async fn group_members<S: SqlStore>(store: &S, group_id: Uuid) -> StoreResult<Vec<User>> {
    query(
        "SELECT u.object_id, u.tenant_id, u.upn, u.display_name, u.password_hash, u.enabled, u.version, u.created_at \
         FROM users u JOIN group_members m ON m.user_id = u.object_id WHERE m.group_id = $1 ORDER BY u.upn",
    )
    .bind(group_id.to_string())
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| user_from_row(r).map(|(u, _)| u))
    .collect()
}

async fn remove_group_member<S: SqlStore>(
    store: &S,
    group_id: Uuid,
    user_id: Uuid,
    audit: &AuditEvent,
) -> StoreResult<()> {
    let binds = [group_id.to_string(), user_id.to_string()];
    let sql = "DELETE FROM group_members WHERE group_id = $1 AND user_id = $2";
    delete_audited(store, sql, &[&binds[0], &binds[1]], audit).await
}

/// The user and the row's version (for compare-and-swap).
fn user_from_row(row: &impl SqlRow) -> StoreResult<(User, i64)> {
    Ok((
        User {
            object_id: row.uuid("object_id")?,
            tenant_id: row.uuid("tenant_id")?,
            user_principal_name: row.read("upn")?,
            display_name: row.read("display_name")?,
            password_hash: row.read("password_hash")?,
            enabled: row.read::<i64>("enabled")? != 0,
            created_at: row.read("created_at")?,
        },
        row.read("version")?,
    ))
}

fn group_from_row(row: &impl SqlRow) -> StoreResult<Group> {
    Ok(Group {
        object_id: row.uuid("object_id")?,
        tenant_id: row.uuid("tenant_id")?,
        display_name: row.read("display_name")?,
        created_at: row.read("created_at")?,
    })
}
