//! `token get` in a dev checkout: the authority, CA, client, credential and scope of one of the
//! identities `tokengate dev` created (`--as daemon|admin|auditor|user`), read from `dev.json`.
//! Flags given on the command line win over every value read here.

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use serde::Deserialize;

use super::CliError;

/// Which `tokengate dev` identity `token get` acts as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DevIdentity {
    /// The demo daemon (confidential client: secret or certificate), app-only token for the demo API.
    Daemon,
    /// The admin client (Tokengate.Admin), app-only token for the admin API.
    Admin,
    /// The auditor client (Tokengate.Auditor), app-only token for the admin API.
    Auditor,
    /// The demo user through the public client (device code), delegated token for the demo API.
    User,
}

/// What `dev.json` says for one identity (no `Debug`: it holds a secret).
pub struct DevDefaults {
    pub authority: String,
    pub ca_cert: PathBuf,
    pub client_id: String,
    /// Its secret (none for the public client).
    pub client_secret: Option<String>,
    /// The demo daemon's key + certificate PEM.
    pub certificate: Option<PathBuf>,
    pub scope: String,
    pub device_code: bool,
}

#[derive(Deserialize)]
struct DevJson {
    authority: String,
    ca_cert: PathBuf,
    api: DevApi,
    confidential_client: DevClient,
    public_client: DevClient,
    admin: DevAdmin,
    #[serde(default)]
    auditor: Option<DevClient>,
}

#[derive(Deserialize)]
struct DevApi {
    app_id_uri: String,
}

#[derive(Deserialize)]
struct DevClient {
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    certificate_pem: Option<PathBuf>,
}

#[derive(Deserialize)]
struct DevAdmin {
    client_id: String,
    client_secret: String,
    #[serde(default)]
    app_id_uri: Option<String>,
}

/// The defaults for `identity` from `dir/dev.json`.
pub fn dev_defaults(dir: &Path, identity: DevIdentity) -> Result<DevDefaults, CliError> {
    let path = dir.join("dev.json");
    let text = std::fs::read_to_string(&path).map_err(|_| CliError::DevNotRunning { dir: dir.to_owned() })?;
    parse(&text, identity).map_err(|why| CliError::Argument(format!("{}: {why}", path.display())))
}

fn parse(text: &str, identity: DevIdentity) -> Result<DevDefaults, String> {
    let dev: DevJson = serde_json::from_str(text).map_err(|e| format!("not a dev.json this CLI understands: {e}"))?;
    let admin_scope = format!("{}/.default", dev.admin.app_id_uri.as_deref().unwrap_or("api://tokengate-admin"));
    let (client, scope, device_code) = match identity {
        DevIdentity::Daemon => (dev.confidential_client, format!("{}/.default", dev.api.app_id_uri), false),
        DevIdentity::Admin => (
            DevClient {
                client_id: dev.admin.client_id,
                client_secret: Some(dev.admin.client_secret),
                certificate_pem: None,
            },
            admin_scope,
            false,
        ),
        DevIdentity::Auditor => {
            let auditor = dev.auditor.ok_or("this dev dir has no auditor yet: restart `tokengate dev` once")?;
            (auditor, admin_scope, false)
        }
        DevIdentity::User => (dev.public_client, format!("{}/Demo.Read", dev.api.app_id_uri), true),
    };
    Ok(DevDefaults {
        authority: dev.authority,
        ca_cert: dev.ca_cert,
        client_id: client.client_id,
        client_secret: client.client_secret,
        certificate: client.certificate_pem,
        scope,
        device_code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEV_JSON: &str = r#"{
        "authority": "https://127.0.0.1:8443/t", "ca_cert": "/d/ca.pem",
        "api": {"app_id_uri": "api://tokengate-demo-api"},
        "confidential_client": {"client_id": "daemon", "client_secret": "s1", "certificate_pem": "/d/cc.pem"},
        "public_client": {"client_id": "public", "redirect_uri": "http://localhost"},
        "admin": {"client_id": "admin", "client_secret": "s2", "app_id_uri": "api://tokengate-admin"},
        "auditor": {"client_id": "auditor", "client_secret": "s3"}
    }"#;

    #[test]
    fn each_identity_gets_its_client_credential_and_scope() {
        let d = parse(DEV_JSON, DevIdentity::Daemon).unwrap();
        assert_eq!((d.client_id.as_str(), d.client_secret.as_deref()), ("daemon", Some("s1")));
        assert_eq!((d.scope.as_str(), d.device_code), ("api://tokengate-demo-api/.default", false));
        assert_eq!(d.certificate, Some(PathBuf::from("/d/cc.pem")));
        assert_eq!(d.authority, "https://127.0.0.1:8443/t");
        let a = parse(DEV_JSON, DevIdentity::Admin).unwrap();
        assert_eq!((a.client_id.as_str(), a.scope.as_str()), ("admin", "api://tokengate-admin/.default"));
        let r = parse(DEV_JSON, DevIdentity::Auditor).unwrap();
        assert_eq!((r.client_id.as_str(), r.client_secret.as_deref()), ("auditor", Some("s3")));
        let u = parse(DEV_JSON, DevIdentity::User).unwrap();
        assert_eq!((u.client_id.as_str(), u.client_secret, u.device_code), ("public", None, true));
        assert_eq!(u.scope, "api://tokengate-demo-api/Demo.Read");
    }
}
