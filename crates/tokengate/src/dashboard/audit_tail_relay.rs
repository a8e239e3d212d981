//! `/dashboard/audit/tail`: the admin API's audit tail (server-sent events of record JSON)
//! relayed to the browser as events of rendered table rows, which htmx's SSE extension inserts
//! into the live table. The rows are rendered here (escaped by askama), so the browser never
//! turns record text into markup, and the page needs no script of its own (CSP `script-src
//! 'self'`, the stream is same-origin for `connect-src 'self'`). The relay ends when the API's
//! stream ends, the browser leaves, or the dashboard session ends (sign-out, expiry): the API
//! checked the token when the stream opened, so the relay keeps checking the session.

use askama::Template;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use tokengate_proto::admin::AuditRecordView;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::audit_rows::{AuditRow, AuditRowFragment};

/// The SSE event name the page's `sse-swap` listens for.
pub const ROW_EVENT: &str = "record";

type Chunk = Result<Bytes, std::io::Error>;
type Names = std::collections::HashMap<String, String>;

/// Relays `upstream` (a successful `text/event-stream` answer of the API) as row events while
/// `signed_in()` holds (asked before every event and keep-alive).
/// `names` (read when the stream opened) names the rows' users and apps.
pub fn relay(upstream: Response, names: Names, signed_in: impl Fn() -> bool + Send + 'static) -> Response {
    let (tx, rx) = mpsc::channel::<Chunk>(4);
    tokio::spawn(forward(upstream.into_body(), tx, names, signed_in));
    let mut response = Body::from_stream(ReceiverStream::new(rx)).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// Reads the API's events as they come and sends each on, re-rendered; stops when either side
/// ends (the browser leaving drops `tx`'s receiver, which drops the API's stream with this task).
async fn forward(mut upstream: Body, tx: mpsc::Sender<Chunk>, names: Names, signed_in: impl Fn() -> bool) {
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let frame = tokio::select! {
            frame = upstream.frame() => frame,
            _ = tx.closed() => return,
        };
        let data = match frame {
            None => return,
            Some(Err(e)) => {
                tracing::debug!(error = %e, "audit tail relay: the API's stream broke");
                return;
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue, // trailers: nothing to relay
            },
        };
        if !signed_in() {
            return;
        }
        pending.extend_from_slice(&data);
        let out = take_events(&mut pending).iter().map(|event| rewrite(event, &names)).collect::<String>();
        if !out.is_empty() && tx.send(Ok(Bytes::from(out))).await.is_err() {
            return;
        }
    }
}

/// Complete events (blank-line terminated) cut from the front of `pending`.
fn take_events(pending: &mut Vec<u8>) -> Vec<String> {
    let mut events = Vec::new();
    while let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
        let event: Vec<u8> = pending.drain(..end + 2).collect();
        events.push(String::from_utf8_lossy(&event[..end]).into_owned());
    }
    events
}

/// One API event as the browser's: a record becomes a `record` event whose data is the row's
/// HTML, one `data:` line per line (SSE data cannot hold a bare newline); a comment (the API's
/// keep-alive) passes as a comment, so an idle relay still notices a browser that left.
fn rewrite(event: &str, names: &Names) -> String {
    let mut id = None;
    let mut data = String::new();
    for line in event.lines() {
        if let Some(v) = line.strip_prefix("id:") {
            id = Some(v.trim().to_owned());
        } else if let Some(v) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    if data.is_empty() {
        return ": keep-alive\n\n".to_owned();
    }
    let Ok(record) = serde_json::from_str::<AuditRecordView>(&data) else {
        tracing::debug!("audit tail relay: an event that is not a record was skipped");
        return String::new();
    };
    let row = AuditRow::of(&record).named(names);
    let Ok(html) = (AuditRowFragment { row: &row }).render() else { return String::new() };
    sse_event(ROW_EVENT, id.as_deref().filter(|i| i.chars().all(|c| c.is_ascii_digit())), &html)
}

/// `event:`, `id:` and the data split into `data:` lines, ended by a blank line.
pub fn sse_event(name: &str, id: Option<&str>, data: &str) -> String {
    let mut out = format!("event: {name}\n");
    if let Some(id) = id {
        out.push_str(&format!("id: {id}\n"));
    }
    for line in data.lines() {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn relayed(upstream: &'static str, signed_in: bool) -> String {
        let response = relay(Body::from(upstream).into_response(), Names::new(), move || signed_in);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn the_relay_stops_once_the_session_has_ended() {
        assert_eq!(relayed(": keep-alive\n\n", true).await, ": keep-alive\n\n");
        assert_eq!(relayed(": keep-alive\n\n", false).await, "", "nothing more after sign-out");
    }

    #[test]
    fn events_are_cut_at_blank_lines_and_the_rest_waits() {
        let mut pending = b"id: 1\ndata: {}\n\n: keep-alive\n\nid: 2\ndata: {".to_vec();
        assert_eq!(take_events(&mut pending), vec!["id: 1\ndata: {}".to_owned(), ": keep-alive".to_owned()]);
        assert_eq!(pending, b"id: 2\ndata: {");
    }

    #[test]
    fn multi_line_data_becomes_one_data_line_each() {
        assert_eq!(
            sse_event("record", Some("7"), "<tr>\n<td>x</td>\n</tr>"),
            "event: record\nid: 7\ndata: <tr>\ndata: <td>x</td>\ndata: </tr>\n\n"
        );
        assert_eq!(rewrite(": keep-alive", &Names::new()), ": keep-alive\n\n");
        assert_eq!(rewrite("id: 3\ndata: not json", &Names::new()), "");
    }
}
