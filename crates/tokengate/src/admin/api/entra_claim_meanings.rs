//! One line per Entra ID access-token claim, for the token debugger: what an operator reading a
//! decoded token needs to know about each claim without opening Microsoft's reference.

/// (claim, meaning), in the order the debugger lists them.
const MEANINGS: &[(&str, &str)] = &[
    ("aud", "Audience: the API the token is for (its App ID URI in v1 tokens, its client id in v2)"),
    ("iss", "Issuer: the security token service and tenant that minted and signed the token"),
    ("iat", "Issued at (unix seconds); revocations of users and clients cover tokens issued before them"),
    ("nbf", "Not before (unix seconds): the token is refused before this time"),
    ("exp", "Expires (unix seconds): the token is refused after this time (allowing for clock skew)"),
    ("tid", "Tenant id: the directory the caller signed in to"),
    ("oid", "Object id of the user (or of the client's service principal in app-only tokens), stable across apps"),
    ("sub", "Subject: the principal, pairwise per application (do not compare across apps; use oid)"),
    ("azp", "Authorized party (v2): client id of the application that requested the token"),
    ("appid", "Application id (v1): client id of the application that requested the token"),
    ("azpacr", "How the client authenticated (v2): 0 public client, 1 secret, 2 certificate or assertion"),
    ("appidacr", "How the client authenticated (v1): 0 public client, 1 secret, 2 certificate or assertion"),
    ("idtyp", "Token type: `app` for app-only (client credentials), `user` for a signed-in user"),
    ("scp", "Delegated scopes (space-separated) the user consented to for this client; present only for user tokens"),
    ("roles", "App roles assigned to the user or granted to the client application"),
    ("groups", "Object ids of groups the user belongs to (absent when over the limit: see _claim_names)"),
    ("_claim_names", "Claims that did not fit (groups overage): they must be fetched from Microsoft Graph"),
    ("_claim_sources", "Where to fetch the claims named in _claim_names"),
    ("uti", "Unique token identifier: what a token revocation names (Entra's equivalent of jti)"),
    ("jti", "JWT id: unique token identifier"),
    ("ver", "Token version: 1.0 or 2.0 (decided by the API's accessTokenAcceptedVersion)"),
    ("xms_cc", "Client capabilities: `cp1` means the client handles continuous access evaluation claims challenges"),
    ("name", "Display name of the user (informational, not for authorization)"),
    ("preferred_username", "Sign-in name of the user, usually an email or UPN (mutable, not for authorization)"),
    ("upn", "User principal name (v1; mutable, not for authorization)"),
    ("unique_name", "Display identifier of the user (v1; mutable, not for authorization)"),
    ("email", "Email address of the user, when it has one (mutable, unverified in general)"),
    ("given_name", "Given name of the user"),
    ("family_name", "Family name of the user"),
    ("aio", "Opaque data Entra uses to re-issue tokens; ignore"),
    ("rh", "Opaque refresh hint Entra uses to re-validate tokens; ignore"),
    ("sid", "Session id of the user's sign-in session"),
    ("nonce", "Value the client sent in the authorization request, echoed to bind an ID token to it"),
    ("amr", "Authentication methods used at sign-in (pwd, mfa, ...)"),
    ("acr", "Authentication context class reference"),
    ("acrs", "Authentication context ids the sign-in satisfied (conditional access)"),
    ("wids", "Directory role template ids held by the user (tenant-wide admin roles)"),
    ("ipaddr", "IP address the user signed in from"),
    ("onprem_sid", "On-premises security identifier of a synced user"),
    ("hasgroups", "The user has groups, but too many to include (implicit flow overage)"),
    ("auth_time", "When the user last authenticated (unix seconds)"),
    ("at_hash", "Hash of the access token issued alongside this ID token"),
    ("c_hash", "Hash of the authorization code issued alongside this ID token"),
    ("cnf", "Confirmation: the key the token is bound to (proof of possession)"),
];

/// The meaning of `claim`, if it is an Entra claim this table knows.
pub fn meaning_of(claim: &str) -> Option<&'static str> {
    MEANINGS.iter().find(|(name, _)| *name == claim).map(|(_, meaning)| *meaning)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_claim_the_debugger_promises_has_a_meaning_once() {
        for claim in [
            "aud",
            "iss",
            "iat",
            "nbf",
            "exp",
            "tid",
            "oid",
            "sub",
            "azp",
            "appid",
            "azpacr",
            "appidacr",
            "idtyp",
            "scp",
            "roles",
            "groups",
            "uti",
            "ver",
            "xms_cc",
            "name",
            "preferred_username",
            "upn",
            "aio",
            "rh",
            "sid",
            "nonce",
        ] {
            assert!(meaning_of(claim).is_some(), "{claim}");
        }
        let mut names: Vec<&str> = MEANINGS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), MEANINGS.len(), "no claim listed twice");
        assert_eq!(meaning_of("department"), None);
    }
}
