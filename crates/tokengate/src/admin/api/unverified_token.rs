//! Reading a token's header and claims without trusting them: the debugger shows what an expired,
//! foreign or forged token claims, which verification would refuse to look at.

use serde_json::Value;
use tokengate_core::encoding::b64url_decode;

/// The largest token the debugger reads, as the gateway's bearer limit.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The decoded JOSE header and claims of a compact JWS (`header.payload.signature`), or why it
/// is not one.
pub fn decode_unverified(token: &str) -> Result<(Value, Value), String> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(format!(
            "a compact JWS has three dot-separated parts; this has {} (an encrypted token has five and cannot be read)",
            parts.len()
        ));
    }
    let part = |index: usize, what: &str| -> Result<Value, String> {
        let bytes = b64url_decode(parts[index]).ok_or_else(|| format!("the {what} is not base64url"))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(value @ Value::Object(_)) => Ok(value),
            _ => Err(format!("the {what} is not a JSON object")),
        }
    };
    Ok((part(0, "header")?, part(1, "payload")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_claims_are_decoded_and_anything_else_is_named() {
        let (header, claims) = decode_unverified("eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln").unwrap();
        assert_eq!((header["alg"].as_str(), claims["aud"].as_str()), (Some("RS256"), Some("x")));
        assert!(decode_unverified("garbage").unwrap_err().contains("three"));
        assert!(decode_unverified("a.b.c.d.e").unwrap_err().contains("encrypted"));
        assert!(decode_unverified("!!.eyJhdWQiOiJ4In0.c2ln").unwrap_err().contains("header"));
        assert!(decode_unverified("eyJhbGciOiJSUzI1NiJ9.WzFd.c2ln").unwrap_err().contains("payload"));
    }
}
