//! `tokengate tenant | secret | cert | grant ...`: the arguments. Tenants are named by id,
//! verified domain or display name; apps as in `app_args`.

use std::path::PathBuf;

use clap::Subcommand;
use uuid::Uuid;

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Verified domain name (repeatable).
        #[arg(long = "domain", required = true)]
        domains: Vec<String>,
    },
    /// List tenants.
    List,
    /// Show one tenant and its ETag.
    Show {
        /// Tenant id, verified domain or display name.
        tenant: String,
    },
    /// Rename a tenant or change its verified domains; refused, changing nothing, when someone
    /// else changed it since it was read.
    Update {
        /// Tenant id, verified domain or display name.
        tenant: String,
        /// New display name.
        #[arg(long)]
        name: Option<String>,
        /// Add a verified domain (repeatable).
        #[arg(long = "add-domain")]
        add_domains: Vec<String>,
        /// Remove a verified domain (repeatable; refused while a user's UPN is at it).
        #[arg(long = "remove-domain")]
        remove_domains: Vec<String>,
        /// Change the tenant only if it is still the version with this ETag (as `tenant show`
        /// prints it); default: the version this command reads just before.
        #[arg(long)]
        if_match: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum SecretCommand {
    /// Create a client secret; its value is printed once and never stored.
    Create {
        /// The app: client id, App ID URI or display name.
        app: String,
        /// Display name of the secret.
        #[arg(long, default_value = "secret")]
        name: String,
        /// Lifetime in days (1 to 730).
        #[arg(long, default_value_t = 180)]
        days: i64,
    },
    /// List an app's secrets: key id, name, first characters and expiry (never the value).
    List {
        /// The app: client id, App ID URI or display name.
        app: String,
    },
    /// Delete a secret: clients using it can no longer get tokens.
    Delete {
        /// The app: client id, App ID URI or display name.
        app: String,
        /// The secret's key id (from `secret list`).
        key_id: Uuid,
    },
}

#[derive(Subcommand)]
pub enum CertCommand {
    /// Register a certificate (PEM file; only the certificate is read and sent).
    Add {
        /// The app: client id, App ID URI or display name.
        app: String,
        /// PEM file holding the certificate.
        #[arg(long)]
        pem: PathBuf,
        /// Display name of the credential.
        #[arg(long, default_value = "certificate")]
        name: String,
    },
    /// List an app's certificates: key id, name, thumbprint and expiry.
    List {
        /// The app: client id, App ID URI or display name.
        app: String,
    },
    /// Delete a certificate credential.
    Delete {
        /// The app: client id, App ID URI or display name.
        app: String,
        /// The certificate's key id (from `cert list`).
        key_id: Uuid,
    },
}

#[derive(Subcommand)]
pub enum GrantCommand {
    /// Grant a resource's app role to a client app (admin consent for an application permission).
    AppRole {
        /// Tenant where the client holds the role: id, verified domain or display name.
        #[arg(long)]
        tenant: String,
        /// The client app: client id, App ID URI or display name.
        #[arg(long)]
        client: String,
        /// The resource app: client id, App ID URI or display name.
        #[arg(long)]
        resource: String,
        /// The app role's value, e.g. Orders.Read.All.
        #[arg(long)]
        role: String,
    },
    /// List the app roles a client app holds in a tenant.
    List {
        /// Tenant: id, verified domain or display name (default: the client's home tenant).
        #[arg(long)]
        tenant: Option<String>,
        /// The client app: client id, App ID URI or display name.
        #[arg(long)]
        client: String,
    },
    /// Show one grant.
    Show {
        /// The grant's id (from `grant list`).
        grant_id: Uuid,
    },
    /// Revoke a grant by id.
    Revoke {
        /// The grant's id (from `grant list`).
        grant_id: Uuid,
    },
}
