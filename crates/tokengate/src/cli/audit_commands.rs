//! `tokengate audit verify|export|query|tail`: the arguments, and the audit log read straight from
//! the store (or an export file). `verify` always works this way (an API could lie about what it
//! holds); query, export and tail go through the admin API unless `--config`/`--store` is given.
//!
//! Export format (JSON lines): one `{"type":"record", ...}` line per record in seq order (its seq,
//! prev_hash, chain_hash and every field), then one `{"type":"checkpoint", ...}` line per signed
//! checkpoint within the exported seq range, as a trailer. `--since`/`--until` select a contiguous
//! seq range (from the first record at or after `--since` up to the first at or after `--until`),
//! so an export verifies on its own, anchored by its first record's `prev_hash`.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use tokengate_core::audit::{AuditSource, Outcome};
use tokengate_core::audit_chain::ChainedRecord;
use tokengate_core::audit_checkpoint::{Checkpoint, CheckpointKey};
use tokengate_core::audit_records::AuditRecordFilter;
use tokengate_core::audit_verify::{ChainVerifier, VerifyReport};
use tokengate_core::keys::KeyEncryptionKey;
use tokengate_core::store::Store;

use super::CliError;

/// Records read from the store per round trip.
const PAGE: u32 = 1_000;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain and the signed checkpoints of the store (read directly: an API could
    /// lie) or of an export file; names the first record that does not verify and exits non-zero.
    Verify {
        /// Verify an export (`tokengate audit export`, with or without --from-store) instead of the store.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Write the records matching the filters as JSON lines to stdout.
    Export {
        #[command(flatten)]
        filter: AuditFilterArgs,
        /// Read the store directly and append its signed checkpoints: an archive that `audit
        /// verify --file` checks including deleted newest records (filters other than
        /// --since/--until do not apply: the export is a contiguous stretch of the chain).
        #[arg(long)]
        from_store: bool,
    },
    /// A page of the records matching every filter given, oldest first.
    Query {
        #[command(flatten)]
        filter: AuditFilterArgs,
        /// Records per page (1 to 1000).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Continue after this seq (the `next_cursor` printed with the previous page).
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Print records as they are written, until Ctrl-C (reconnects resume after the last one seen).
    Tail {
        #[command(flatten)]
        filter: AuditFilterArgs,
        /// Start after this seq instead of at the newest record.
        #[arg(long)]
        after: Option<i64>,
    },
}

/// Filters of `audit query|export|tail`: every one given must match (exact values).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct AuditFilterArgs {
    /// Written at or after this ISO 8601 time (2024-05-01T10:42:00Z) or date (2024-05-01).
    #[arg(long)]
    pub since: Option<String>,
    /// Written before this ISO 8601 time or date.
    #[arg(long)]
    pub until: Option<String>,
    /// issuer, gateway or admin.
    #[arg(long)]
    pub source: Option<String>,
    /// Exact action, e.g. `token.client_credentials` or `gateway.request`.
    #[arg(long)]
    pub action: Option<String>,
    /// allowed, denied or error.
    #[arg(long)]
    pub outcome: Option<String>,
    /// Exact reason code, e.g. `expired`.
    #[arg(long)]
    pub reason: Option<String>,
    /// The subject's object id (`oid`).
    #[arg(long)]
    pub subject: Option<String>,
    /// The client app id.
    #[arg(long)]
    pub client: Option<String>,
    /// The tenant id.
    #[arg(long)]
    pub tenant: Option<String>,
    /// The token id (`uti`).
    #[arg(long, allow_hyphen_values = true)]
    pub token_id: Option<String>,
    /// The gateway route that decided.
    #[arg(long)]
    pub route: Option<String>,
    /// Who made an admin change.
    #[arg(long)]
    pub actor: Option<String>,
    /// One gateway decision: the `X-Tokengate-Decision-Id` its answer carried.
    #[arg(long)]
    pub decision_id: Option<String>,
}

impl AuditFilterArgs {
    /// The filters as the admin API's query parameters (times normalised to RFC 3339).
    pub fn query(&self) -> Result<Vec<(&'static str, String)>, CliError> {
        let mut q = Vec::new();
        for (name, value) in [("since", &self.since), ("until", &self.until)] {
            if let Some(ms) = parse_time(value.clone())? {
                q.push((name, time_text(ms)));
            }
        }
        for (name, value) in [
            ("source", &self.source),
            ("action", &self.action),
            ("outcome", &self.outcome),
            ("reason", &self.reason),
            ("subject", &self.subject),
            ("client", &self.client),
            ("tenant", &self.tenant),
            ("token_id", &self.token_id),
            ("route", &self.route),
            ("actor", &self.actor),
            ("decision_id", &self.decision_id),
        ] {
            if let Some(v) = value {
                q.push((name, v.clone()));
            }
        }
        Ok(q)
    }

    /// The store's filter, for the direct-store path.
    fn store_filter(&self) -> Result<AuditRecordFilter, CliError> {
        let outcome = match &self.outcome {
            None => None,
            Some(text) => Some(Outcome::parse(text).ok_or_else(|| CliError::UnknownValue {
                what: "outcome",
                value: text.clone(),
                allowed: "allowed, denied, error",
            })?),
        };
        let source = match &self.source {
            None => None,
            Some(text) => Some(AuditSource::parse(text).ok_or_else(|| CliError::UnknownValue {
                what: "source",
                value: text.clone(),
                allowed: "issuer, gateway, admin",
            })?),
        };
        Ok(AuditRecordFilter {
            since_ms: parse_time(self.since.clone())?,
            until_ms: parse_time(self.until.clone())?,
            action: self.action.clone(),
            outcome,
            source,
            reason: self.reason.clone(),
            subject: self.subject.clone(),
            client_id: self.client.clone(),
            tenant_id: self.tenant.clone(),
            token_id: self.token_id.clone(),
            route: self.route.clone(),
            actor: self.actor.clone(),
            id: self.decision_id.clone(),
            ..Default::default()
        })
    }
}

/// One line of an export.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ExportLine {
    Record(Box<ChainedRecord>),
    Checkpoint(Checkpoint),
}

/// The direct-store implementation (`--config`/`--store`, and `verify` always). `json` prints
/// query results as JSON.
pub async fn audit(
    store: &dyn Store,
    kek: Option<KeyEncryptionKey>,
    command: AuditCommand,
    json: bool,
) -> Result<(), CliError> {
    match command {
        AuditCommand::Verify { file } => {
            let key = CheckpointKey::from_kek(&kek.ok_or(CliError::NeedsKeyEncryptionKey)?);
            let report = match file {
                Some(path) => verify_file(&path, &key)?,
                None => verify_store(store, &key).await?,
            };
            println!("{}", summary(&report));
            Ok(())
        }
        AuditCommand::Export { filter, .. } => {
            export(store, parse_time(filter.since.clone())?, parse_time(filter.until.clone())?).await
        }
        AuditCommand::Query { filter, limit, cursor } => {
            let after_seq = match cursor.as_deref() {
                None => None,
                Some(c) => {
                    Some(c.parse::<i64>().map_err(|_| CliError::Argument(format!("cursor '{c}' is not a seq")))?)
                }
            };
            let filter = AuditRecordFilter { after_seq, limit, ..filter.store_filter()? };
            let records = store.audit_records(&filter).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&records)?);
            } else {
                print_table(&records);
            }
            Ok(())
        }
        AuditCommand::Tail { .. } => {
            Err(CliError::Argument("audit tail follows the admin API: pass --dev-dir or --admin-url".into()))
        }
    }
}

async fn verify_store(store: &dyn Store, key: &CheckpointKey) -> Result<VerifyReport, CliError> {
    let mut verifier = ChainVerifier::new(store.audit_checkpoints().await?, key)?;
    let mut after_seq = None;
    loop {
        let page = store.audit_records(&AuditRecordFilter { after_seq, limit: PAGE, ..Default::default() }).await?;
        let Some(last) = page.last() else {
            return Ok(verifier.finish()?);
        };
        after_seq = Some(last.seq);
        for record in &page {
            verifier.push(record)?;
        }
    }
}

/// Two passes over the file: the checkpoints (the trailer) first, then the records in order,
/// so a large export never has to fit in memory.
fn verify_file(path: &Path, key: &CheckpointKey) -> Result<VerifyReport, CliError> {
    let mut checkpoints = Vec::new();
    for_each_line(path, |line| {
        if let ExportLine::Checkpoint(c) = line {
            checkpoints.push(c);
        }
        Ok(())
    })?;
    let mut verifier = ChainVerifier::new(checkpoints, key)?;
    for_each_line(path, |line| match line {
        ExportLine::Record(r) => verifier.push(&r).map_err(CliError::from),
        ExportLine::Checkpoint(_) => Ok(()),
    })?;
    Ok(verifier.finish()?)
}

fn for_each_line(path: &Path, mut each: impl FnMut(ExportLine) -> Result<(), CliError>) -> Result<(), CliError> {
    let file_error = |source| CliError::File { path: path.to_owned(), source };
    let reader = std::io::BufReader::new(std::fs::File::open(path).map_err(file_error)?);
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(file_error)?;
        if line.trim().is_empty() {
            continue;
        }
        // `audit export --from-store` tags its lines; the admin API's export is bare records.
        let parsed = serde_json::from_str::<ExportLine>(&line)
            .or_else(|_| serde_json::from_str::<ChainedRecord>(&line).map(|r| ExportLine::Record(Box::new(r))))
            .map_err(|e| {
                CliError::Argument(format!("{}: line {}: not an audit export line: {e}", path.display(), n + 1))
            })?;
        each(parsed)?;
    }
    Ok(())
}

async fn export(store: &dyn Store, since_ms: Option<i64>, until_ms: Option<i64>) -> Result<(), CliError> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let write_error = |source| CliError::File { path: PathBuf::from("<stdout>"), source };
    let mut after_seq = None;
    let mut started = since_ms.is_none();
    let mut range: Option<(i64, i64)> = None;
    'pages: loop {
        let page = store.audit_records(&AuditRecordFilter { after_seq, limit: PAGE, ..Default::default() }).await?;
        let Some(last) = page.last() else { break };
        after_seq = Some(last.seq);
        for record in page {
            started = started || since_ms.is_some_and(|since| record.event.at_ms >= since);
            if !started {
                continue;
            }
            if until_ms.is_some_and(|until| record.event.at_ms >= until) {
                break 'pages;
            }
            range = Some((range.map_or(record.seq, |(first, _)| first), record.seq));
            serde_json::to_writer(&mut out, &ExportLine::Record(Box::new(record)))?;
            out.write_all(b"\n").map_err(write_error)?;
        }
    }
    if let Some((first, last)) = range {
        for checkpoint in store.audit_checkpoints().await? {
            if (first..=last).contains(&checkpoint.seq) {
                serde_json::to_writer(&mut out, &ExportLine::Checkpoint(checkpoint))?;
                out.write_all(b"\n").map_err(write_error)?;
            }
        }
    }
    out.flush().map_err(write_error)
}

fn summary(r: &VerifyReport) -> String {
    let range = match (r.first_seq, r.last_seq) {
        (Some(first), Some(last)) => format!("seq {first} to {last}"),
        _ => "no chained records".into(),
    };
    let mut text = format!(
        "audit log verifies: {} records ({range}), {} signed checkpoints ({} matched a record still present)",
        r.records, r.checkpoints, r.checkpoints_matched
    );
    if r.first_seq.is_some_and(|first| first > 1 + r.unchained as i64) {
        text.push_str("; earlier records were pruned by retention (see the audit.pruned records)");
    }
    if r.unchained > 0 {
        text.push_str(&format!("; {} records from before the chain existed were not checked", r.unchained));
    }
    text
}

fn print_table(records: &[ChainedRecord]) {
    println!(
        "{:<8} {:<24} {:<8} {:<32} {:<8} {:<20} {:<36} {:<36}",
        "SEQ", "TIME", "SOURCE", "ACTION", "OUTCOME", "REASON", "SUBJECT", "CLIENT"
    );
    for r in records {
        let e = &r.event;
        println!(
            "{:<8} {:<24} {:<8} {:<32} {:<8} {:<20} {:<36} {:<36}",
            r.seq,
            time_text(e.at_ms),
            e.source.as_str(),
            e.action,
            e.outcome.as_str(),
            e.reason.as_deref().unwrap_or("-"),
            e.subject.as_deref().unwrap_or("-"),
            e.client_id.as_deref().unwrap_or("-"),
        );
    }
}

pub fn time_text(at_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| at_ms.to_string())
}

/// Unix milliseconds of an ISO 8601 time or date (midnight UTC).
pub fn parse_time(text: Option<String>) -> Result<Option<i64>, CliError> {
    let Some(text) = text else { return Ok(None) };
    let with_time = if text.len() == 10 { format!("{text}T00:00:00Z") } else { text.clone() };
    let parsed = time::OffsetDateTime::parse(&with_time, &Rfc3339)
        .map_err(|_| CliError::Argument(format!("'{text}' is not an ISO 8601 time such as 2024-05-01T12:00:00Z")))?;
    Ok(Some((parsed.unix_timestamp_nanos() / 1_000_000) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_iso_8601_times_or_dates() {
        assert_eq!(parse_time(Some("1970-01-02".into())).unwrap(), Some(86_400_000));
        assert_eq!(parse_time(Some("1970-01-01T00:00:01.5Z".into())).unwrap(), Some(1_500));
        assert!(parse_time(Some("yesterday".into())).is_err());
        assert_eq!(time_text(1_500), "1970-01-01T00:00:01.5Z");
    }
}
