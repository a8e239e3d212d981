//! The Entra error body (RFC 6749 §5.2 plus Entra's `error_codes`, trace and correlation ids).

use serde::{Deserialize, Serialize};

/// Body of every token-endpoint error, as Entra sends it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EntraErrorBody {
    pub error: String,
    /// `AADSTS<code>: <text>\r\nTrace ID: ...\r\nCorrelation ID: ...\r\nTimestamp: ...`
    pub error_description: String,
    pub error_codes: Vec<u32>,
    /// `YYYY-MM-DD hh:mm:ssZ`
    pub timestamp: String,
    pub trace_id: String,
    pub correlation_id: String,
    pub error_uri: String,
}
