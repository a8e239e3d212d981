//! A token issuer the gateway trusts: which `iss` values it signs (with Entra's `{tenantid}`
//! template for multi-tenant authorities), which tenants are allowed, which algorithms, and
//! its current public keys (swapped atomically when the JWKS is refetched).

use std::collections::HashSet;
use std::sync::Arc;

use arc_swap::ArcSwap;
use uuid::Uuid;

use super::verifying_keys::KeySnapshot;
use crate::jws::JwsAlgorithm;

/// Entra's placeholder in multi-tenant issuers and keys.
pub const TENANT_TEMPLATE: &str = "{tenantid}";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuerKind {
    /// tokengate's own issuer: keys come from the in-process key ring.
    Builtin,
    /// Microsoft Entra ID (or anything shaped like it): `tid`, `ver`, v1/v2 issuers.
    Entra,
    /// Any other OpenID Connect issuer.
    Oidc,
}

/// One accepted `iss` value; `version` ties it to Entra's v1 or v2 metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerPattern {
    pub template: String,
    pub version: Option<&'static str>,
}

impl IssuerPattern {
    /// Whether `iss` is this pattern, substituting `tid` (which must be a GUID) for the template.
    pub fn matches(&self, iss: &str, tid: Option<&str>) -> bool {
        match self.template.split_once(TENANT_TEMPLATE) {
            None => self.template == iss,
            Some((before, after)) => match tid {
                Some(tid) if is_guid(tid) => {
                    iss.len() == before.len() + tid.len() + after.len()
                        && iss.starts_with(before)
                        && iss.ends_with(after)
                        && &iss[before.len()..before.len() + tid.len()] == tid
                }
                _ => false,
            },
        }
    }
}

/// A canonical lower-case hyphenated GUID, as Entra writes `tid`.
pub fn is_guid(text: &str) -> bool {
    text.len() == 36 && Uuid::parse_str(text).is_ok_and(|u| u.hyphenated().to_string() == text)
}

/// What an issuer's metadata says: the `iss` values it uses and its keys. Replaced as a whole
/// when the metadata is refetched, so a request always sees one consistent version.
#[derive(Default)]
pub struct IssuerMaterial {
    pub patterns: Vec<IssuerPattern>,
    pub keys: KeySnapshot,
}

impl IssuerMaterial {
    pub fn matching_pattern(&self, iss: &str, tid: Option<&str>) -> Option<&IssuerPattern> {
        self.patterns.iter().find(|p| p.matches(iss, tid))
    }
}

pub struct TrustedIssuer {
    pub name: Arc<str>,
    pub kind: IssuerKind,
    /// Tenant allow-list (`tid`); `None` accepts any tenant the patterns accept.
    pub tenants: Option<HashSet<String>>,
    pub algorithms: Vec<JwsAlgorithm>,
    material: ArcSwap<IssuerMaterial>,
}

impl std::fmt::Debug for TrustedIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedIssuer").field("name", &self.name).field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl TrustedIssuer {
    pub fn new(name: &str, kind: IssuerKind, tenants: Option<HashSet<String>>, algorithms: Vec<JwsAlgorithm>) -> Self {
        TrustedIssuer {
            name: Arc::from(name),
            kind,
            tenants,
            algorithms,
            material: ArcSwap::from_pointee(IssuerMaterial::default()),
        }
    }

    pub fn material(&self) -> Arc<IssuerMaterial> {
        self.material.load_full()
    }

    pub fn replace_material(&self, material: IssuerMaterial) {
        self.material.store(Arc::new(material));
    }

    /// Keeps the patterns, replaces the keys.
    pub fn replace_keys(&self, keys: KeySnapshot) {
        let patterns = self.material.load().patterns.clone();
        self.material.store(Arc::new(IssuerMaterial { patterns, keys }));
    }

    /// Whether `kid` is still published (a cached verification is only as good as its key).
    pub fn has_key(&self, kid: &str) -> bool {
        self.material.load().keys.get(kid).is_some()
    }

    pub fn has_keys(&self) -> bool {
        !self.material.load().keys.keys.is_empty()
    }
}

/// Every issuer the gateway trusts.
#[derive(Default, Clone)]
pub struct TrustedIssuers {
    pub issuers: Vec<Arc<TrustedIssuer>>,
}

impl TrustedIssuers {
    /// The issuer an (unverified) `iss` + `tid` claim to come from, its current material and
    /// the token version that `iss` stands for.
    pub fn find(
        &self,
        iss: &str,
        tid: Option<&str>,
    ) -> Option<(&Arc<TrustedIssuer>, Arc<IssuerMaterial>, Option<&'static str>)> {
        self.issuers.iter().find_map(|i| {
            let material = i.material();
            let version = material.matching_pattern(iss, tid)?.version;
            Some((i, material, version))
        })
    }

    pub fn by_name(&self, name: &str) -> Option<&Arc<TrustedIssuer>> {
        self.issuers.iter().find(|i| &*i.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    #[test]
    fn template_substitutes_only_a_guid_tid() {
        let p = IssuerPattern { template: "https://login.example/{tenantid}/v2.0".into(), version: Some("2.0") };
        assert!(p.matches(&format!("https://login.example/{TID}/v2.0"), Some(TID)));
        assert!(!p.matches(&format!("https://login.example/{TID}/v2.0"), None));
        assert!(
            !p.matches(&format!("https://login.example/{TID}/v2.0"), Some("72f988bf-86f1-41af-91ab-2d7cd011db48")),
            "tid must be the one in iss"
        );
        assert!(!p.matches("https://login.example/{tenantid}/v2.0", Some("{tenantid}")), "literal template refused");
        assert!(!p.matches("https://login.example/contoso.com/v2.0", Some("contoso.com")));
        assert!(
            !p.matches(&format!("https://login.example/{}/v2.0", TID.to_uppercase()), Some(&TID.to_uppercase())),
            "non-canonical GUID"
        );
        let fixed = IssuerPattern { template: format!("https://login.example/{TID}/v2.0"), version: Some("2.0") };
        assert!(fixed.matches(&format!("https://login.example/{TID}/v2.0"), Some("anything")));
        assert!(!fixed.matches(&format!("https://login.example/{TID}/v2.0/"), Some(TID)));
    }
}
