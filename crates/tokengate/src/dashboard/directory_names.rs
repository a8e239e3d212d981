//! Names for the ids pages show (users by object id, apps by client id), read through the admin
//! API's lists of every tenant. Best effort: an id whose name cannot be read stays a bare id.
//! It reads whole directories, which suits the dev and small-team directories the dashboard is
//! used with today; a name lookup operation in the API is the step for large ones.

use std::collections::HashMap;

use tokengate_proto::admin::{AppView, TenantView, UserView};

use super::admin_calls::{encode, Caller};
use super::dashboard_state::DashboardState;

/// Display names of users (by object id) and apps (by client id) across tenants, for the table.
/// Best effort: a name that cannot be read leaves the bare id.
pub async fn directory_names(state: &DashboardState, caller: Caller<'_>) -> HashMap<String, String> {
    let mut names = HashMap::new();
    let tenants: Vec<TenantView> = state.calls.get(caller, "/admin/v1/tenants").await.unwrap_or_default();
    for tenant in tenants {
        let id = encode(&tenant.id);
        let users: Vec<UserView> =
            state.calls.get(caller, &format!("/admin/v1/tenants/{id}/users")).await.unwrap_or_default();
        for u in users {
            names.insert(u.object_id, format!("{} ({})", u.display_name, u.user_principal_name));
        }
        let apps: Vec<AppView> =
            state.calls.get(caller, &format!("/admin/v1/tenants/{id}/apps")).await.unwrap_or_default();
        for a in apps {
            names.insert(a.app_id, a.display_name);
        }
    }
    names
}
