//! `tokengate token decode`: a token's header and claims as readable fields, offline. Times print
//! as ISO 8601 with how far from now ("in 58 min", "expired 3 h ago"). Never verifies anything
//! and says so: a decoded token proves nothing about who made it.

use serde_json::{Map, Value};
use tokengate_core::encoding::b64url_decode;

use super::admin_target::Output;
use super::CliError;

type JsonObject = Map<String, Value>;

/// Claims holding a NumericDate.
const TIME_CLAIMS: [&str; 6] = ["exp", "nbf", "iat", "auth_time", "xms_tcdt", "updated_at"];
const NOT_VERIFIED: &str =
    "Decoded only: the signature and claims are NOT verified (`tokengate token explain` asks the gateway).";

pub fn decode(token: &str, output: Output) -> Result<(), CliError> {
    let (header, claims) = split(token).map_err(|why| CliError::Argument(format!("not a token: {why}")))?;
    let now = crate::state::now();
    match output {
        Output::Json => super::table::print_json(&serde_json::json!({
            "signature_verified": false,
            "header": header,
            "claims": claims,
            "times": times(&claims, now),
        })),
        Output::Table => {
            println!("{NOT_VERIFIED}");
            println!("\nHEADER");
            print_object(&header, now);
            println!("\nCLAIMS");
            print_object(&claims, now);
            Ok(())
        }
    }
}

/// Header and claims of a compact JWS (without checking anything).
pub fn split(token: &str) -> Result<(JsonObject, JsonObject), String> {
    let parts: Vec<&str> = token.trim().split('.').collect();
    if parts.len() == 5 {
        return Err("it has five parts: an encrypted token (JWE) cannot be read without its key".into());
    }
    if parts.len() != 3 {
        return Err(format!("a JWT has three dot-separated parts; this has {}", parts.len()));
    }
    let part = |text: &str, what: &str| -> Result<JsonObject, String> {
        let bytes = b64url_decode(text).ok_or_else(|| format!("its {what} is not base64url"))?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(format!("its {what} is not a JSON object")),
        }
    };
    Ok((part(parts[0], "header")?, part(parts[1], "payload")?))
}

fn print_object(object: &Map<String, Value>, now: i64) {
    let width = object.keys().map(String::len).max().unwrap_or(0);
    for (name, value) in object {
        println!("  {name:<width$}  {}", readable(name, value, now));
    }
}

/// One claim as a person reads it.
pub fn readable(name: &str, value: &Value, now: i64) -> String {
    if let Some(at) = time_of(name, value) {
        return format!("{} ({})", iso8601(at), relative(name, at, now));
    }
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")
        }
        other => other.to_string(),
    }
}

fn time_of(name: &str, value: &Value) -> Option<i64> {
    if !TIME_CLAIMS.contains(&name) {
        return None;
    }
    value.as_i64().or_else(|| value.as_f64().map(|f| f as i64))
}

/// `{claim: {"at": ISO 8601, "relative": "in 58 min"}}` for every time claim.
fn times(claims: &Map<String, Value>, now: i64) -> Value {
    let mut out = Map::new();
    for (name, value) in claims {
        if let Some(at) = time_of(name, value) {
            out.insert(name.clone(), serde_json::json!({"at": iso8601(at), "relative": relative(name, at, now)}));
        }
    }
    Value::Object(out)
}

pub fn iso8601(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// "in 58 min", "1 h 13 min ago", and for `exp` in the past "expired 3 h ago".
pub fn relative(name: &str, at: i64, now: i64) -> String {
    let delta = at - now;
    if delta > 0 {
        return format!("in {}", span(delta));
    }
    let ago = format!("{} ago", span(-delta));
    if name == "exp" {
        format!("expired {ago}")
    } else {
        ago
    }
}

fn span(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 48 * 3600 && (s % 3600) / 60 > 0 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        s if s < 48 * 3600 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tokengate_core::encoding::b64url;

    use super::*;

    #[test]
    fn times_read_as_iso_8601_and_relative_to_now() {
        let now = 1_767_225_600; // 2026-01-01T00:00:00Z
        assert_eq!(readable("exp", &json!(now + 58 * 60 + 20), now), "2026-01-01T00:58:20Z (in 58 min)");
        assert_eq!(readable("exp", &json!(now - 3 * 3600 - 5), now), "2025-12-31T20:59:55Z (expired 3 h ago)");
        assert_eq!(readable("iat", &json!(now - 300), now), "2025-12-31T23:55:00Z (5 min ago)");
        assert_eq!(readable("iat", &json!(now - 73 * 60), now), "2025-12-31T22:47:00Z (1 h 13 min ago)");
        assert_eq!(readable("nbf", &json!(now - 3 * 86_400), now), "2025-12-29T00:00:00Z (3 d ago)");
        assert_eq!(readable("exp", &json!(now as f64 + 30.5), now), "2026-01-01T00:00:30Z (in 30 s)");
        // Not a time claim: as it came.
        assert_eq!(readable("ver", &json!("2.0"), now), "2.0");
        assert_eq!(readable("roles", &json!(["A", "B"]), now), "A, B");
        assert_eq!(readable("azpacr", &json!(1), now), "1");
    }

    #[test]
    fn a_token_splits_into_header_and_claims_and_junk_says_why_not() {
        let token = format!("{}.{}.sig", b64url(r#"{"alg":"RS256"}"#), b64url(r#"{"aud":"x","exp":1}"#));
        let (header, claims) = split(&token).unwrap();
        assert_eq!((header["alg"].as_str(), claims["aud"].as_str()), (Some("RS256"), Some("x")));
        assert!(split("a.b").unwrap_err().contains("three"));
        assert!(split("a.b.c.d.e").unwrap_err().contains("encrypted"));
        assert!(split("!!.e30.c").unwrap_err().contains("header"));
        let times = times(&claims, 0);
        assert_eq!(times["exp"]["at"], "1970-01-01T00:00:01Z");
    }
}
