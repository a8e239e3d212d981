//! Which tenant a URL's `{tenant}` segment names: a tenant GUID, one of its verified domains, or
//! the `common` / `organizations` aliases. Found tenants are cached (tenants are never deleted);
//! misses are not, so junk segments cannot grow memory.

use std::sync::Arc;

use dashmap::DashMap;
use tokengate_core::directory::Tenant;
use tokengate_core::store::{Store, StoreError};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub enum TenantSegment {
    /// A real tenant.
    Tenant(Arc<Tenant>),
    /// `common` or `organizations`: any work tenant; the issuer is the `{tenantid}` template.
    MultiTenant(&'static str),
}

#[derive(Default)]
pub struct TenantCache {
    by_segment: DashMap<String, Arc<Tenant>>,
}

impl TenantCache {
    pub async fn resolve(&self, store: &dyn Store, segment: &str) -> Result<Option<TenantSegment>, StoreError> {
        let lower = segment.to_ascii_lowercase();
        match lower.as_str() {
            "common" => return Ok(Some(TenantSegment::MultiTenant("common"))),
            "organizations" => return Ok(Some(TenantSegment::MultiTenant("organizations"))),
            _ => {}
        }
        if let Some(t) = self.by_segment.get(&lower) {
            return Ok(Some(TenantSegment::Tenant(t.clone())));
        }
        if lower.len() > 256 {
            return Ok(None);
        }
        let found = match Uuid::parse_str(&lower) {
            Ok(id) => store.tenant(id).await?,
            Err(_) => store.tenant_by_domain(&lower).await?,
        };
        Ok(found.map(|t| {
            let t = Arc::new(t);
            self.by_segment.insert(lower, t.clone());
            TenantSegment::Tenant(t)
        }))
    }
}
