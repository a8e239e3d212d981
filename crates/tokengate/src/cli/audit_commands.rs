//! `tokengate audit verify|export|query`: the audit log read straight from the store (or from an
//! export file), like the other commands until the admin API takes them over.
//!
//! Export format (JSON lines): one `{"type":"record", ...}` line per record in seq order (its seq,
//! prev_hash, chain_hash and every field), then one `{"type":"checkpoint", ...}` line per signed
//! checkpoint within the exported seq range, as a trailer. `--since`/`--until` select a contiguous
//! seq range (from the first record at or after `--since` up to the first at or after `--until`),
//! so an export verifies on its own, anchored by its first record's `prev_hash`.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use tokengate_core::audit::Outcome;
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
    /// Check the hash chain and the signed checkpoints; names the first record that does not
    /// verify and exits non-zero.
    Verify {
        /// Verify an export (`tokengate audit export`) instead of the store.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Write records and checkpoints as JSON lines to stdout.
    Export {
        /// ISO 8601 time (2024-05-01T00:00:00Z) or date (2024-05-01).
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        until: Option<String>,
    },
    /// The newest records matching every filter given.
    Query {
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        until: Option<String>,
        /// Exact action, e.g. `token.client_credentials`.
        #[arg(long)]
        action: Option<String>,
        /// allowed, denied or error.
        #[arg(long)]
        outcome: Option<String>,
        /// The subject's object id (`oid`).
        #[arg(long)]
        subject: Option<String>,
        /// The client app id.
        #[arg(long)]
        client: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

/// One line of an export.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ExportLine {
    Record(Box<ChainedRecord>),
    Checkpoint(Checkpoint),
}

pub async fn audit(store: &dyn Store, kek: Option<KeyEncryptionKey>, command: AuditCommand) -> Result<(), CliError> {
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
        AuditCommand::Export { since, until } => export(store, parse_time(since)?, parse_time(until)?).await,
        AuditCommand::Query { since, until, action, outcome, subject, client, limit, output } => {
            let outcome = match outcome {
                None => None,
                Some(text) => Some(Outcome::parse(&text).ok_or(CliError::UnknownValue {
                    what: "outcome",
                    value: text,
                    allowed: "allowed, denied, error",
                })?),
            };
            let filter = AuditRecordFilter {
                since_ms: parse_time(since)?,
                until_ms: parse_time(until)?,
                action,
                outcome,
                subject,
                client_id: client,
                newest_first: true,
                limit,
                ..Default::default()
            };
            let records = store.audit_records(&filter).await?;
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&records)?),
                Output::Table => print_table(&records),
            }
            Ok(())
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
        let parsed = serde_json::from_str(&line).map_err(|e| {
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

fn time_text(at_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| at_ms.to_string())
}

/// Unix milliseconds of an ISO 8601 time or date (midnight UTC).
fn parse_time(text: Option<String>) -> Result<Option<i64>, CliError> {
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
