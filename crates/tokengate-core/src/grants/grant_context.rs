//! What every grant at the token endpoint is given, built once per request after the client
//! authenticated (dex `server/grants`, fosite's access request are the models): the issuer's
//! means, the tenant, the authenticated client, the browser `Origin` if any, the client's CAE
//! capabilities, and the time.

use super::Issuer;
use crate::client_auth::AuthenticatedClient;
use crate::directory::Tenant;
use crate::UnixTime;

pub struct GrantContext<'a> {
    pub issuer: Issuer<'a>,
    pub tenant: &'a Tenant,
    pub client: &'a AuthenticatedClient,
    /// The request's `Origin` header (a browser's cross-origin request).
    pub origin: Option<&'a str>,
    /// `xms_cc` values from the `claims` parameter (CAE: `cp1`).
    pub client_capabilities: Option<Vec<String>>,
    pub now: UnixTime,
    /// The same instant in milliseconds (device-code polling intervals).
    pub now_ms: i64,
}
