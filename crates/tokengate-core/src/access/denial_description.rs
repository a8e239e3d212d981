//! What a refused request is told, and what an operator's console shows: one RFC 6750
//! `error_description` per rejection reason (the one place that maps a reason to words), and,
//! where the cause is a value the token carries against one the policy names, both values.
//!
//! Built only on the denial path (it allocates). Never contains the token itself. Values read
//! from the token are the caller's own (it sent them) but untrusted, so each is shortened and
//! every description is reduced to what an RFC 6750 quoted-string may carry: printable ASCII
//! without `"` and `\`.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::policy::Requirements;
use super::policy_explanation::{explain, FailedRequirement};
use super::trusted_issuer::{TrustedIssuer, TrustedIssuers};
use super::{Rejection, VerifiedToken};
use crate::jws::{parse_compact, CompactJws};
use crate::UnixTime;

/// Longest description sent (a header parameter: short enough for any proxy's header limit).
pub const MAX_DESCRIPTION: usize = 240;
/// Longest single value quoted from a token or the policy.
const MAX_VALUE: usize = 80;

/// What the policy expected and what the token carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The claim or requirement compared (`aud`, `tid`, `iss`, `kid`, `alg`, `scp/roles`...).
    pub claim: &'static str,
    pub expected: String,
    pub got: String,
}

/// How one denial explains itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// Header-safe, at most `MAX_DESCRIPTION` characters.
    pub description: String,
    pub mismatch: Option<Mismatch>,
}

/// Everything a description may draw on; each part only when the request got that far.
pub struct DenialFacts<'a> {
    pub rejection: &'a Rejection,
    /// The bearer token as presented, read (never verified) only for what it claims.
    pub presented: Option<&'a str>,
    /// The verified token: set when the refusal came from the route's requirements or the
    /// revocation set, not from verification.
    pub verified: Option<&'a VerifiedToken>,
    pub requirements: Option<&'a Requirements>,
    pub issuers: &'a TrustedIssuers,
    pub now: UnixTime,
}

pub fn describe(facts: &DenialFacts<'_>) -> Denial {
    let (description, mismatch) = words(facts);
    Denial {
        description: header_safe(&description, MAX_DESCRIPTION),
        mismatch: mismatch.map(|m| Mismatch {
            claim: m.claim,
            expected: header_safe(&m.expected, MAX_DESCRIPTION),
            got: header_safe(&m.got, MAX_DESCRIPTION),
        }),
    }
}

fn mismatch(claim: &'static str, expected: impl Into<String>, got: impl Into<String>) -> Option<Mismatch> {
    Some(Mismatch { claim, expected: expected.into(), got: got.into() })
}

fn words(facts: &DenialFacts<'_>) -> (String, Option<Mismatch>) {
    let claims = Unverified::read(facts.presented);
    // A refusal with a verified token came from the route's requirements: `explain` names the
    // first one failed (it checks in `evaluate`'s order).
    let failed = match (facts.verified, facts.requirements) {
        (Some(t), Some(req)) => explain(req, t).into_iter().next(),
        _ => None,
    };
    let now = facts.now;
    match facts.rejection {
        Rejection::NoToken => ("No bearer token: send Authorization: Bearer <access token>".into(), None),
        Rejection::MalformedRequest => (
            "Send exactly one bearer token, in one Authorization header (never in the query string)".into(),
            None,
        ),
        Rejection::TokenInBodyAndHeader => {
            ("The token came in both the Authorization header and the form body; send it once".into(), None)
        }
        Rejection::TokenTooLarge => ("The token is larger than this gateway accepts (max_token_bytes)".into(), None),
        Rejection::MalformedToken => {
            ("The bearer token is not a signed JWT (base64url header.payload.signature)".into(), None)
        }
        Rejection::AlgorithmNotAllowed => {
            let alg = claims.header_str("alg").unwrap_or("none");
            let issuer = claims.issuer(facts.issuers);
            let allowed = issuer.map(|i| i.algorithms.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(" or "));
            let name = issuer.map_or("its issuer", |i| &i.name);
            (
                format!("Signing algorithm {} is not allowed for {}", value(alg), value(name)),
                mismatch("alg", allowed.unwrap_or_else(|| "an allowed algorithm".into()), value(alg)),
            )
        }
        Rejection::UnknownKey => {
            let kid = claims.kid().unwrap_or("none");
            let name = claims.issuer(facts.issuers).map_or("its issuer", |i| &i.name);
            (
                format!(
                    "No signing key {} at issuer {}: a removed key, or a token from another environment",
                    value(kid),
                    value(name)
                ),
                mismatch("kid", format!("a key published by {}", value(name)), value(kid)),
            )
        }
        Rejection::KeysUnavailable => ("The issuer's signing keys cannot be fetched right now; retry later".into(), None),
        Rejection::BadSignature => {
            let kid = claims.kid().unwrap_or("none");
            (format!("The token signature does not verify with key {}: altered or forged", value(kid)), None)
        }
        Rejection::Expired => match claims.date("exp") {
            Some(exp) => (
                format!("The token expired {} ago (exp {}); get a new token", span(now - exp), iso(exp)),
                mismatch("exp", format!("after {}", iso(now)), iso(exp)),
            ),
            None => ("The token has expired; get a new token".into(), None),
        },
        Rejection::NotYetValid => match claims.date("nbf") {
            Some(nbf) => (
                format!("The token is not valid before {} (in {}); check the clocks", iso(nbf), span(nbf - now)),
                mismatch("nbf", format!("before {}", iso(now)), iso(nbf)),
            ),
            None => ("The token is not valid yet; check the clocks".into(), None),
        },
        Rejection::IssuedInFuture => match claims.date("iat") {
            Some(iat) => (
                format!("The token was issued {} in the future (iat {}); check the issuer's clock", span(iat - now), iso(iat)),
                mismatch("iat", format!("before {}", iso(now)), iso(iat)),
            ),
            None => ("The token was issued in the future; check the issuer's clock".into(), None),
        },
        Rejection::UntrustedIssuer => {
            let expected = trusted_templates(facts.issuers);
            match claims.str("iss") {
                Some(iss) => (format!("Issuer {} is not trusted here", value(iss)), mismatch("iss", expected, value(iss))),
                None => ("The token names no issuer (iss)".into(), mismatch("iss", expected, "none")),
            }
        }
        Rejection::TenantNotAllowed => tenant_not_allowed(facts, &claims, failed),
        Rejection::BadClaim(name) => (format!("Claim {name} is missing or has the wrong type"), None),
        Rejection::IdToken => (
            "This is an ID token: call APIs with an access token requested for the API (its scope)".into(),
            None,
        ),
        Rejection::AudienceMismatch => audience_mismatch(failed),
        Rejection::VersionMismatch => match failed {
            Some(f) => (
                format!("Token version {} is not accepted here; expected {}", value(&f.got), value(&f.expected)),
                mismatch("ver", f.expected, f.got),
            ),
            None => {
                let ver = claims.str("ver").unwrap_or("none");
                (
                    format!("The token's ver {} does not match the issuer's v1/v2 metadata its iss names", value(ver)),
                    None,
                )
            }
        },
        Rejection::IssuerNotAllowedOnRoute => {
            let got = facts.verified.map_or("another issuer", |t| &t.issuer);
            let expected = facts.requirements.map(|r| r.issuers.join(" or ")).unwrap_or_default();
            (format!("Tokens from issuer {} are not accepted on this route", value(got)), mismatch("issuer", expected, value(got)))
        }
        Rejection::Revoked => ("The token has been revoked; get a new one".into(), None),
        Rejection::Insufficient(needed) => insufficient(needed, failed),
        Rejection::NoPermissions => (
            "The token carries no scope or app role; this route requires one (grant the client an app role or request a scope)"
                .into(),
            mismatch("scp/roles", "a scope or an app role", "neither"),
        ),
    }
}

fn tenant_not_allowed(
    facts: &DenialFacts<'_>,
    claims: &Unverified<'_>,
    failed: Option<FailedRequirement>,
) -> (String, Option<Mismatch>) {
    if let Some(f) = failed {
        // Tenant allow-lists are configuration: the console shows them, the caller is not told.
        return (format!("Tenant {} is not allowed on this route", value(&f.got)), mismatch("tid", f.expected, f.got));
    }
    let tid = claims.str("tid").unwrap_or("none");
    let issuer = claims.issuer(facts.issuers);
    let name = issuer.map_or("its issuer", |i| &i.name);
    let allowed = issuer.and_then(|i| i.tenants.as_ref()).map(|t| {
        let mut list: Vec<&str> = t.iter().map(String::as_str).collect();
        list.sort_unstable();
        list.join(" or ")
    });
    (
        format!("Tenant {} is not allowed by issuer {}", value(tid), value(name)),
        mismatch("tid", allowed.unwrap_or_default(), value(tid)),
    )
}

fn audience_mismatch(failed: Option<FailedRequirement>) -> (String, Option<Mismatch>) {
    match failed {
        Some(f) if f.requirement == "audience_array" => (
            format!("The token's aud is a list ({}); this route accepts a single audience", value(&f.got)),
            mismatch("aud", f.expected, f.got),
        ),
        Some(f) => (
            format!("Audience {} is not accepted here; expected {}", value(&f.got), value(&f.expected)),
            mismatch("aud", f.expected, f.got),
        ),
        None => ("The token is for another audience (aud)".into(), None),
    }
}

fn insufficient(needed: &str, failed: Option<FailedRequirement>) -> (String, Option<Mismatch>) {
    let needed = value(needed);
    let Some(f) = failed else { return (format!("The token lacks a required permission: {needed}"), None) };
    let description = match f.requirement {
        "token_kind" => format!("This route accepts {} tokens only; this one is {}", f.expected, f.got),
        "scope_or_role" => format!("Missing permission: needs one of {needed} (a delegated scope or an app role)"),
        "scopes_all" => format!("Missing scope {needed}"),
        "roles_all" => format!("Missing app role {needed}"),
        "groups_any" => format!("Not a member of any of the groups {needed}"),
        "groups_all" => format!("Not a member of group {needed}"),
        "claim" => format!("Claim {} does not meet this route's condition", needed.trim_start_matches("claim:")),
        _ => format!("The token lacks a required permission: {needed}"),
    };
    let claim = match f.requirement {
        "token_kind" => "token kind",
        "scopes_all" => "scp",
        "roles_all" => "roles",
        "groups_any" | "groups_all" => "groups",
        "claim" => "claim",
        _ => "scp/roles",
    };
    (description, mismatch(claim, f.expected, f.got))
}

/// The `iss` values the trusted issuers accept (Entra's `{tenantid}` template included).
fn trusted_templates(issuers: &TrustedIssuers) -> String {
    let templates: Vec<String> = issuers
        .issuers
        .iter()
        .flat_map(|i| i.material().patterns.iter().map(|p| p.template.clone()).collect::<Vec<_>>())
        .collect();
    if templates.is_empty() {
        "a trusted issuer".into()
    } else {
        templates.join(" or ")
    }
}

/// The presented token's header and claims, unverified: only ever quoted back, never trusted.
struct Unverified<'a>(Option<CompactJws<'a>>);

impl<'a> Unverified<'a> {
    fn read(presented: Option<&'a str>) -> Self {
        Unverified(presented.and_then(|t| parse_compact(t, usize::MAX).ok()))
    }

    fn str(&self, name: &str) -> Option<&str> {
        self.0.as_ref().and_then(|j| j.claims.str(name).ok().flatten())
    }

    fn header_str(&self, name: &str) -> Option<&str> {
        self.0.as_ref().and_then(|j| j.header.str(name).ok().flatten())
    }

    fn kid(&self) -> Option<&str> {
        self.header_str("kid").or_else(|| self.header_str("x5t"))
    }

    fn date(&self, name: &str) -> Option<UnixTime> {
        self.0.as_ref().and_then(|j| j.claims.numeric_date(name).ok().flatten())
    }

    /// The trusted issuer the token claims to come from.
    fn issuer<'i>(&self, issuers: &'i TrustedIssuers) -> Option<&'i TrustedIssuer> {
        let iss = self.str("iss")?;
        issuers.find(iss, self.str("tid")).map(|(issuer, _, _)| &**issuer)
    }
}

/// A value quoted in a description: shortened (on a character boundary).
fn value(text: &str) -> String {
    match text.char_indices().nth(MAX_VALUE) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_owned(),
    }
}

/// RFC 6750 §3: `error_description` may only hold %x20-21 / %x23-5B / %x5D-7E. Anything else
/// becomes `?`, so the header can always be built and no caller text can end the quoted string.
pub fn header_safe(text: &str, max: usize) -> String {
    text.chars().take(max).map(|c| if matches!(c, ' '..='~') && c != '"' && c != '\\' { c } else { '?' }).collect()
}

fn iso(at: UnixTime) -> String {
    OffsetDateTime::from_unix_timestamp(at).ok().and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_else(|| at.to_string())
}

/// A duration as people say it: seconds up to two minutes, then minutes, hours, days.
fn span(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    match s {
        0..120 => format!("{s} s"),
        120..7_200 => format!("{} min", s / 60),
        7_200..172_800 => format!("{} h", s / 3_600),
        _ => format!("{} days", s / 86_400),
    }
}

#[cfg(test)]
#[path = "denial_description/tests.rs"]
mod tests;
