//! Following `GET /admin/v1/audit/tail` (server-sent events): each event's id is the record's seq,
//! so after a dropped connection the stream is reopened with `Last-Event-ID` and resumes after the
//! last record printed, with no gap and no repeat. Runs until the caller stops it (Ctrl-C).

use std::time::Duration;

use reqwest::StatusCode;
use tokengate_proto::admin::AuditRecordView;

use super::admin_client::{is_status, AdminClient};
use super::CliError;

const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

/// Calls `on_record` for every record the tail sends, reconnecting when the stream drops. Only
/// the first connection's failure is an error: later ones are retried (the node may restart).
pub async fn follow(
    mut api: AdminClient,
    query: Vec<(&'static str, String)>,
    after: Option<i64>,
    mut on_record: impl FnMut(&AuditRecordView),
) -> Result<(), CliError> {
    let mut last_seq = after;
    let mut connected_once = false;
    loop {
        let response = match api.stream("/admin/v1/audit/tail", &query, last_seq).await {
            Ok(response) => response,
            Err(e) if !connected_once => return Err(e),
            Err(e) => {
                if is_status(&e, StatusCode::UNAUTHORIZED) {
                    // The token expired during a long tail: a new one, then reopen.
                    let _ = api.renew_token().await;
                } else {
                    eprintln!("audit tail: {e}; retrying");
                }
                tokio::time::sleep(RECONNECT_PAUSE).await;
                continue;
            }
        };
        connected_once = true;
        read_events(response, &mut last_seq, &mut on_record).await;
        tokio::time::sleep(RECONNECT_PAUSE).await;
    }
}

/// Reads events until the stream ends or fails.
async fn read_events(
    mut response: reqwest::Response,
    last_seq: &mut Option<i64>,
    on_record: &mut impl FnMut(&AuditRecordView),
) {
    let mut parser = EventParser::default();
    while let Ok(Some(chunk)) = response.chunk().await {
        for event in parser.push(&chunk) {
            let Ok(record) = serde_json::from_str::<AuditRecordView>(&event.data) else { continue };
            on_record(&record);
            *last_seq = event.id.or(Some(record.seq));
        }
    }
}

/// One server-sent event (only the fields the tail uses).
#[derive(Debug, PartialEq, Eq)]
struct Event {
    id: Option<i64>,
    data: String,
}

/// Splits a byte stream into events at blank lines; comments (`: keep-alive`) are dropped.
#[derive(Default)]
struct EventParser {
    buffer: String,
}

impl EventParser {
    fn push(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.buffer.push_str(&String::from_utf8_lossy(bytes).replace("\r\n", "\n"));
        let mut events = Vec::new();
        while let Some(end) = self.buffer.find("\n\n") {
            let block: String = self.buffer.drain(..end + 2).collect();
            let (mut id, mut data) = (None, Vec::new());
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("id:") {
                    id = value.trim().parse().ok();
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push(value.strip_prefix(' ').unwrap_or(value));
                }
            }
            if !data.is_empty() {
                events.push(Event { id, data: data.join("\n") });
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_are_joined_and_comments_dropped() {
        let mut p = EventParser::default();
        assert!(p.push(b": keep-alive\n\nid: 7\nda").is_empty());
        let events = p.push(b"ta: {\"a\":1}\n\nid: 8\r\ndata: x\r\n\r\n");
        assert_eq!(
            events,
            vec![Event { id: Some(7), data: "{\"a\":1}".into() }, Event { id: Some(8), data: "x".into() }]
        );
    }
}
