//! `audit query|export|tail` through the admin API. `verify`, and `export --from-store`, read the
//! store itself (mod.rs routes them): an archive meant to be verified should not trust the API.

use std::io::Write;

use tokengate_proto::admin::{AuditPage, AuditRecordView};

use super::admin_target::{Output, TargetArgs};
use super::audit_commands::AuditFilterArgs;
use super::table::{opt, Table};
use super::{api_session, audit_tail, CliError};

pub async fn query(
    args: &TargetArgs,
    filter: &AuditFilterArgs,
    limit: u32,
    cursor: Option<String>,
) -> Result<(), CliError> {
    let mut query = filter.query()?;
    query.push(("limit", limit.to_string()));
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor));
    }
    let page: AuditPage = api_session(args).await?.get("/admin/v1/audit", &query).await?;
    match args.output {
        Output::Json => super::table::print_json(&page)?,
        Output::Table => {
            let mut table = records_table();
            for r in &page.items {
                table.row(record_row(r));
            }
            table.print();
            if let Some(next) = &page.next_cursor {
                // On stderr: the table stays clean for `| grep`, the hint still reaches a person.
                eprintln!("more records: add --cursor {next}");
            }
        }
    }
    Ok(())
}

/// Streams the API's JSON lines to stdout as they arrive (memory stays one chunk).
pub async fn export(args: &TargetArgs, filter: &AuditFilterArgs) -> Result<(), CliError> {
    let api = api_session(args).await?;
    let mut response = api.stream("/admin/v1/audit/export", &filter.query()?, None).await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let write_error = |source| CliError::File { path: "<stdout>".into(), source };
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| CliError::Argument(format!("the export was cut short ({e}): run it again")))?
    {
        out.write_all(&chunk).map_err(write_error)?;
    }
    out.flush().map_err(write_error)
}

pub async fn tail(args: &TargetArgs, filter: &AuditFilterArgs, after: Option<i64>) -> Result<(), CliError> {
    let api = api_session(args).await?;
    let output = args.output;
    let mut header_printed = false;
    let follow = audit_tail::follow(api, filter.query()?, after, |record| match output {
        Output::Json => println!("{}", serde_json::to_string(record).unwrap_or_default()),
        Output::Table => {
            // A stream cannot measure its widest cell in advance: fixed widths keep it aligned.
            if !header_printed {
                println!("{}", fixed_row(&TAIL_HEADERS.map(str::to_owned)));
                header_printed = true;
            }
            println!("{}", fixed_row(&record_row(record)));
        }
    });
    tokio::select! {
        result = follow => result,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

const TAIL_HEADERS: [&str; 8] = ["SEQ", "TIME", "SOURCE", "ACTION", "OUTCOME", "REASON", "SUBJECT", "CLIENT"];
const TAIL_WIDTHS: [usize; 8] = [8, 24, 8, 28, 8, 20, 36, 36];

fn fixed_row(cells: &[String]) -> String {
    let padded: Vec<String> = cells.iter().zip(TAIL_WIDTHS).map(|(c, w)| format!("{c:<w$}")).collect();
    padded.join("  ").trim_end().to_owned()
}

fn records_table() -> Table {
    Table::new(&["SEQ", "TIME", "SOURCE", "ACTION", "OUTCOME", "REASON", "SUBJECT", "CLIENT"])
}

fn record_row(r: &AuditRecordView) -> Vec<String> {
    vec![
        r.seq.to_string(),
        super::audit_commands::time_text(r.at_ms),
        r.source.clone(),
        r.action.clone(),
        r.outcome.clone(),
        opt(r.reason.as_deref()),
        opt(r.subject.as_deref()),
        opt(r.client_id.as_deref()),
    ]
}
