//! Directory objects as the admin API shows them: ids as strings, times as ISO 8601, and never a
//! credential (secret hash, password hash).

use tokengate_core::directory::{
    AllowedMemberType, AppRegistration, AppRole, AppRoleGrant, ClientSecret, Group, PermissionScope, RedirectPlatform,
    RedirectUri, User,
};
use tokengate_proto::admin::{
    AppRoleGrantView, AppRoleView, AppView, GroupView, MemberTypeView, RedirectPlatformView, RedirectUriView,
    ScopeView, SecretView, UserView,
};

use super::iso8601;

pub fn app_view(app: AppRegistration) -> AppView {
    AppView {
        app_id: app.app_id.to_string(),
        tenant_id: app.tenant_id.to_string(),
        display_name: app.display_name,
        identifier_uris: app.identifier_uris,
        sign_in_audience: app.sign_in_audience.as_str().to_owned(),
        is_public_client: app.is_public_client,
        access_token_version: app.access_token_accepted_version,
        redirect_uris: app.redirect_uris.into_iter().map(redirect_view).collect(),
        scopes: app.scopes.into_iter().map(scope_view).collect(),
        app_roles: app.app_roles.into_iter().map(role_view).collect(),
        created_at: iso8601(app.created_at),
        single_use_client_assertions: app.single_use_client_assertions,
        entra_compatible_refresh_tokens: app.entra_compatible_refresh_tokens,
        group_membership_claims: app.group_membership_claims,
    }
}

pub fn redirect_view(r: RedirectUri) -> RedirectUriView {
    let platform = match r.platform {
        RedirectPlatform::Web => RedirectPlatformView::Web,
        RedirectPlatform::Spa => RedirectPlatformView::Spa,
        RedirectPlatform::PublicClient => RedirectPlatformView::PublicClient,
    };
    RedirectUriView { platform, uri: r.uri }
}

pub fn redirect_uri(r: RedirectUriView) -> RedirectUri {
    RedirectUri { platform: redirect_platform(r.platform), uri: r.uri }
}

pub fn redirect_platform(p: RedirectPlatformView) -> RedirectPlatform {
    match p {
        RedirectPlatformView::Web => RedirectPlatform::Web,
        RedirectPlatformView::Spa => RedirectPlatform::Spa,
        RedirectPlatformView::PublicClient => RedirectPlatform::PublicClient,
    }
}

pub fn scope_view(s: PermissionScope) -> ScopeView {
    ScopeView { id: s.id.to_string(), value: s.value, display_name: s.admin_consent_display_name, enabled: s.enabled }
}

pub fn role_view(r: AppRole) -> AppRoleView {
    AppRoleView {
        id: r.id.to_string(),
        value: r.value,
        display_name: r.display_name,
        allowed_member_types: r.allowed_member_types.into_iter().map(member_type_view).collect(),
        enabled: r.enabled,
    }
}

fn member_type_view(m: AllowedMemberType) -> MemberTypeView {
    match m {
        AllowedMemberType::Application => MemberTypeView::Application,
        AllowedMemberType::User => MemberTypeView::User,
    }
}

pub fn member_type(m: MemberTypeView) -> AllowedMemberType {
    match m {
        MemberTypeView::Application => AllowedMemberType::Application,
        MemberTypeView::User => AllowedMemberType::User,
    }
}

/// Metadata only: the hash stays behind.
pub fn secret_view(s: ClientSecret) -> SecretView {
    SecretView {
        key_id: s.key_id.to_string(),
        app_id: s.app_id.to_string(),
        display_name: s.display_name,
        hint: s.hint,
        created_at: iso8601(s.created_at),
        expires_at: iso8601(s.expires_at),
    }
}

/// Everything but the password hash.
pub fn user_view(u: User) -> UserView {
    UserView {
        object_id: u.object_id.to_string(),
        tenant_id: u.tenant_id.to_string(),
        user_principal_name: u.user_principal_name,
        display_name: u.display_name,
        enabled: u.enabled,
        created_at: iso8601(u.created_at),
    }
}

pub fn group_view(g: Group) -> GroupView {
    GroupView {
        object_id: g.object_id.to_string(),
        tenant_id: g.tenant_id.to_string(),
        display_name: g.display_name,
        created_at: iso8601(g.created_at),
    }
}

pub fn grant_view(g: AppRoleGrant) -> AppRoleGrantView {
    AppRoleGrantView {
        id: g.id.to_string(),
        tenant_id: g.tenant_id.to_string(),
        principal_id: g.principal_id.to_string(),
        resource_app_id: g.resource_app_id.to_string(),
        app_role_id: g.app_role_id.to_string(),
        created_at: iso8601(g.created_at),
    }
}

/// The certificate's public identity: the DER itself is not repeated.
pub fn certificate_view(c: tokengate_core::directory::ClientCertificate) -> tokengate_proto::admin::CertificateView {
    use tokengate_core::encoding::hex_upper;
    tokengate_proto::admin::CertificateView {
        key_id: c.key_id.to_string(),
        app_id: c.app_id.to_string(),
        display_name: c.display_name,
        thumbprint: hex_upper(&c.thumbprint_sha1),
        thumbprint_sha256: hex_upper(&c.thumbprint_sha256),
        created_at: iso8601(c.created_at),
        expires_at: iso8601(c.expires_at),
    }
}

pub fn service_principal_view(
    sp: tokengate_core::directory::ServicePrincipal,
) -> tokengate_proto::admin::ServicePrincipalView {
    tokengate_proto::admin::ServicePrincipalView {
        object_id: sp.object_id.to_string(),
        tenant_id: sp.tenant_id.to_string(),
        app_id: sp.app_id.to_string(),
        display_name: sp.display_name,
        created_at: iso8601(sp.created_at),
    }
}

pub fn consent_view(g: tokengate_core::directory::DelegatedGrant) -> tokengate_proto::admin::ConsentView {
    tokengate_proto::admin::ConsentView {
        id: g.id.to_string(),
        tenant_id: g.tenant_id.to_string(),
        client_app_id: g.client_app_id.to_string(),
        resource_app_id: g.resource_app_id.to_string(),
        user_id: g.principal_id.map(|u| u.to_string()),
        scopes: g.scopes,
        created_at: iso8601(g.created_at),
    }
}
