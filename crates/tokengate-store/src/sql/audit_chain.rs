//! Appending audit records onto the hash chain (`tokengate_core::audit_chain`), for both write
//! paths: records committed with the change they describe (`audit::write_audit`) and the gateway's
//! batches (`AuditStore::append_audit`).
//!
//! Each append reads and locks the single `audit_chain_head` row, gives the records the next seqs
//! (head seq + 1, ...), hashes each onto the previous one, inserts them and moves the head, all in
//! the caller's transaction. The lock (a row lock on Postgres, the write lock on SQLite) makes
//! the next writer wait for this one's commit and then read the head it left, so the chain never
//! forks and seq order is chain order.
//!
//! Lock order, in every transaction that takes more than one: `refresh_tokens` rows, then the
//! family lock, then the feed head (`feed::advance_feed`), then the audit head last. The audit
//! head is the lock every audited write shares, so it is taken just before the insert and the
//! commit and held as briefly as possible; a transaction must not take any other lock after it.
//! Every caller of `write_audit` does so as its last statement before `commit`.

use std::borrow::Cow;
use std::sync::OnceLock;

use sqlx::Transaction;
use tokengate_core::audit::AuditEvent;
use tokengate_core::audit_chain::{detail_text, link_with_detail, ChainHash};
use tokengate_core::store::StoreResult;
use uuid::Uuid;

use super::backend::Backend;
use super::row::SqlRow;
use super::statement::{query, Statement};
use crate::error::corrupt;

/// Rows per multi-row INSERT: 17 parameters each stays far below both dialects' limits.
const ROWS_PER_INSERT: usize = 128;
/// How many statement sizes `chunk_sizes` uses: 128, 64, ..., 1.
const CHUNK_SIZES: usize = ROWS_PER_INSERT.ilog2() as usize + 1;
const COLUMNS: usize = 17;

const INSERT_COLUMNS: &str = "seq, prev_hash, chain_hash, id, at_ms, source, action, outcome, reason, tenant_id, \
     client_id, subject, token_id, client_ip, status, latency_us, detail";

/// Appends `events` in order after the chain head, inside `tx`; returns the last seq assigned.
pub(super) async fn append_chained<DB: Backend>(
    tx: &mut Transaction<'_, DB>,
    events: &[AuditEvent],
) -> StoreResult<Option<i64>> {
    if events.is_empty() {
        return Ok(None);
    }
    let head = query(DB::LOCK_AUDIT_HEAD).fetch_one(&mut *tx).await?;
    let mut seq: i64 = head.read("seq")?;
    let head_hash: String = head.read("chain_hash")?;
    let mut prev = ChainHash::from_hex(&head_hash).ok_or_else(|| corrupt("audit chain head"))?;
    let mut links = Vec::with_capacity(events.len());
    for event in events {
        seq += 1;
        // Rendered once: the same text is hashed and stored.
        let detail = detail_text(&event.detail);
        let hash = link_with_detail(&prev, seq, event, &detail);
        links.push(Link { seq, prev_hash: prev.to_hex(), chain_hash: hash.to_hex(), detail, event });
        prev = hash;
    }
    let sizes = chunk_sizes(links.len());
    let mut links = links.into_iter();
    for size in sizes {
        let sql = insert_statement(size, DB::POSITIONAL_PARAMETERS);
        let mut statement = query(&sql);
        for l in links.by_ref().take(size) {
            statement = bind_link(statement, l);
        }
        statement.execute(&mut *tx).await?;
    }
    query("UPDATE audit_chain_head SET seq = $1, chain_hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(prev.to_hex())
        .execute(&mut *tx)
        .await?;
    Ok(Some(seq))
}

/// How `n` rows are split into INSERTs: whole chunks of `ROWS_PER_INSERT`, then the rest as
/// powers of two, largest first. Every row count is its own statement, prepared and cached on each
/// pooled connection; with one statement per count (1..=128) the caches filled with up to 128
/// large programs per connection (measured: SQLite connections grew to ~11 MB each within
/// seconds of gateway load). These sizes make at most 8 statements.
fn chunk_sizes(mut n: usize) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let size = match n {
            0 => return None,
            n if n >= ROWS_PER_INSERT => ROWS_PER_INSERT,
            n => 1 << n.ilog2(),
        };
        n -= size;
        Some(size)
    })
}

/// The INSERT for `rows` rows (one of `chunk_sizes`), built once per size and dialect: sqlx
/// finds its prepared statement by this text, so it is the same text every time.
fn insert_statement(rows: usize, positional: bool) -> Cow<'static, str> {
    static STATEMENTS: [[OnceLock<String>; 2]; CHUNK_SIZES] =
        [const { [OnceLock::new(), OnceLock::new()] }; CHUNK_SIZES];
    match rows.checked_ilog2().and_then(|i| STATEMENTS.get(i as usize)) {
        Some(dialects) if rows.is_power_of_two() => {
            Cow::Borrowed(dialects[usize::from(positional)].get_or_init(|| multi_row_insert(rows, positional)))
        }
        // Not a chunk size (never asked for): built for this statement alone.
        _ => Cow::Owned(multi_row_insert(rows, positional)),
    }
}

/// One record with its place on the chain, ready to bind; binding moves its texts into the
/// statement's arguments rather than copying them.
struct Link<'e> {
    seq: i64,
    prev_hash: String,
    chain_hash: String,
    /// `event.detail` as hashed (`detail_text`).
    detail: String,
    event: &'e AuditEvent,
}

/// `INSERT INTO audit_events (...) VALUES ($1..$17), ($18..$34), ...` for `rows` rows, or with
/// anonymous `?` placeholders where `positional` (SQLite: it resolves each `$n` by a linear scan of
/// the statement's parameter names, which makes binding a large statement quadratic — measured:
/// a third of the gateway's CPU before this).
fn multi_row_insert(rows: usize, positional: bool) -> String {
    let mut sql = format!("INSERT INTO audit_events ({INSERT_COLUMNS}) VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for col in 0..COLUMNS {
            if col > 0 {
                sql.push_str(", ");
            }
            if positional {
                sql.push('?');
            } else {
                sql.push_str(&format!("${}", row * COLUMNS + col + 1));
            }
        }
        sql.push(')');
    }
    sql
}

/// Binds the seventeen columns of one record, in the order of `INSERT_COLUMNS`.
fn bind_link<'q, DB: Backend>(statement: Statement<'q, DB>, l: Link<'q>) -> Statement<'q, DB> {
    let e = l.event;
    statement
        .bind(l.seq)
        .bind(l.prev_hash)
        .bind(l.chain_hash)
        .bind(e.id.hyphenated().encode_lower(&mut Uuid::encode_buffer()).to_owned())
        .bind(e.at_ms)
        .bind(e.source.as_str())
        .bind(&e.action)
        .bind(e.outcome.as_str())
        .bind(&e.reason)
        .bind(&e.tenant_id)
        .bind(&e.client_id)
        .bind(&e.subject)
        .bind(&e.token_id)
        .bind(&e.client_ip)
        .bind(e.status.map(i64::from))
        .bind(e.latency_us)
        .bind(l.detail)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::{chunk_sizes, insert_statement, multi_row_insert, CHUNK_SIZES, COLUMNS, ROWS_PER_INSERT};

    #[test]
    fn rows_are_split_into_a_few_statement_sizes() {
        assert_eq!(chunk_sizes(0).count(), 0);
        assert_eq!(chunk_sizes(1).collect::<Vec<_>>(), [1]);
        assert_eq!(chunk_sizes(100).collect::<Vec<_>>(), [64, 32, 4]);
        assert_eq!(chunk_sizes(300).collect::<Vec<_>>(), [128, 128, 32, 8, 4]);
        let mut sizes = std::collections::BTreeSet::new();
        for n in 0..=1000 {
            assert_eq!(chunk_sizes(n).sum::<usize>(), n, "{n} rows");
            sizes.extend(chunk_sizes(n));
        }
        assert_eq!(sizes.len(), 8, "{sizes:?}");
        assert!(sizes.iter().all(|s| s.is_power_of_two() && *s <= ROWS_PER_INSERT));
    }

    #[test]
    fn each_statement_size_is_built_once_per_dialect() {
        for positional in [false, true] {
            for size in (0..CHUNK_SIZES).map(|i| 1 << i) {
                let first = insert_statement(size, positional);
                assert!(matches!(first, Cow::Borrowed(_)), "{size} rows are one of the chunk sizes");
                assert_eq!(first, multi_row_insert(size, positional));
                let again = insert_statement(size, positional);
                assert!(std::ptr::eq(first.as_ptr(), again.as_ptr()), "{size} rows: the same text, not a new one");
            }
        }
        assert_eq!(insert_statement(3, true), multi_row_insert(3, true), "any other size still gets its statement");
        assert_eq!(insert_statement(0, true), multi_row_insert(0, true), "no rows: no panic");
    }

    #[test]
    fn multi_row_insert_numbers_its_parameters_or_leaves_them_anonymous() {
        let numbered = multi_row_insert(2, false);
        assert!(numbered.ends_with("$33, $34)"), "{numbered}");
        assert!(numbered.contains("$17), ($18, "), "{numbered}");
        let positional = multi_row_insert(2, true);
        assert_eq!(positional.matches('?').count(), 2 * COLUMNS);
        assert!(!positional.contains('$'), "{positional}");
        assert_eq!(positional.split(" VALUES ").next(), numbered.split(" VALUES ").next());
    }
}
