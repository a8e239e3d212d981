//! Which stored revocation covers a token the applied set refuses: the set only answers "revoked
//! by a user revocation", the operator needs the row (who, why, when) to undo or explain it.

use tokengate_core::access::revocation::RevokedBy;
use tokengate_core::access::VerifiedToken;
use tokengate_core::revocations::{Revocation, RevocationTarget};

/// The latest row among `rows` of kind `by` that covers `t`, matched as the set matches.
pub fn covering_row<'a>(rows: &'a [Revocation], t: &VerifiedToken, by: RevokedBy) -> Option<&'a Revocation> {
    let issued_before = |cutoff: i64| t.iat.is_none_or(|iat| iat < cutoff);
    let same = |a: &str, b: Option<&str>| b.is_some_and(|b| a.eq_ignore_ascii_case(b));
    rows.iter().rev().find(|row| {
        let r = &row.revocation;
        match (&r.target, by) {
            (RevocationTarget::Token { token_id }, RevokedBy::Token) => t.uti.as_deref() == Some(token_id.as_str()),
            (RevocationTarget::Family { token_ids, .. }, RevokedBy::Family) => {
                t.uti.as_deref().is_some_and(|uti| token_ids.iter().any(|id| id == uti))
            }
            (RevocationTarget::Key { kid }, RevokedBy::Key) => **kid == *t.kid,
            (RevocationTarget::User { tenant_id, object_id }, RevokedBy::User) => {
                same(tenant_id, t.tid.as_deref()) && same(object_id, t.oid.as_deref()) && issued_before(r.issued_before)
            }
            (RevocationTarget::Client { client_id, .. }, RevokedBy::Client) => {
                same(client_id, t.client_id.as_deref()) && issued_before(r.issued_before)
            }
            _ => false,
        }
    })
}
