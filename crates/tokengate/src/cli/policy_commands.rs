//! `tokengate policy ...`: the gateway policy's versions through the admin API. The TOML file
//! stays the declarative form: `apply -f` shows what changes (and which recent requests would be
//! decided the other way), then publishes it conditionally on the version it was compared with,
//! so a change someone else published meanwhile is never overwritten unseen.

use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;
use tokengate_proto::admin::{
    PolicyChangeView, PolicyDiff, PolicyDiffRequest, PolicyDraft, PolicyHistoryPage, PolicyPublished, PolicySimulation,
    PolicySimulationRequest, PolicyVersionDocument, PublishPolicyRequest, RollbackPolicyRequest,
};

use super::admin_client::{is_status, AdminClient};
use super::admin_target::{Output, TargetArgs};
use super::confirmation::confirm;
use super::table::{emit, opt, print_fields, Table};
use super::{api_session, CliError};

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Show what a policy file changes against the published version, and publish it.
    Apply {
        /// The policy file (TOML: issuers, routes, settings).
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
        /// Why (kept with the version and in the audit log; default: "apply FILE").
        #[arg(short = 'm', long)]
        message: Option<String>,
        /// Show the changes and the simulation, publish nothing.
        #[arg(long)]
        dry_run: bool,
        /// Publish without asking.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// What a policy file changes against the published version, or between two versions.
    Diff {
        /// The policy file to compare with `--from` (default: the published version).
        #[arg(short = 'f', long = "file", conflicts_with = "to")]
        file: Option<PathBuf>,
        /// The version compared from (default: the published one).
        #[arg(long)]
        from: Option<i64>,
        /// The version compared to.
        #[arg(long)]
        to: Option<i64>,
    },
    /// Every version, newest first: who published it, when, and why.
    History {
        /// How many versions (1..=500).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One version (default: the published one) as TOML, or with `-o json` as the API's JSON.
    Show {
        /// A version number; default: the published version.
        version: Option<i64>,
    },
    /// Publish an older version's document again, as a new version.
    Rollback {
        /// The version to return to.
        #[arg(long)]
        to: i64,
        /// Why (default: "rollback to version N").
        #[arg(short = 'm', long)]
        message: Option<String>,
        /// Publish without asking.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Replay recent gateway decisions against a policy file: which would be decided the other way.
    Simulate {
        /// The draft policy file.
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
        /// How many of the most recent decisions (1..=100000).
        #[arg(long, default_value_t = 1000)]
        last: u32,
    },
}

#[derive(clap::Args, Clone, Copy)]
pub struct WaitArgs {
    /// Return only when every live gateway node runs the new version.
    #[arg(long)]
    wait: bool,
    /// With --wait: give up after this many seconds (1..=60).
    #[arg(long, default_value_t = 10)]
    timeout: u64,
}

pub async fn policy(args: &TargetArgs, command: PolicyCommand) -> Result<(), CliError> {
    let api = api_session(args).await?;
    match command {
        PolicyCommand::Apply { file, message, dry_run, yes, wait } => {
            apply(&api, args.output, &file, message, dry_run, yes, wait).await
        }
        PolicyCommand::Diff { file, from, to } => {
            let draft = match &file {
                Some(f) => toml_draft(f)?,
                None => PolicyDraft::default(),
            };
            if file.is_none() && to.is_none() {
                return Err(CliError::Argument("give -f FILE, or --to VERSION (and optionally --from)".into()));
            }
            let diff: PolicyDiff = api.post("/admin/v1/policies/diff", &PolicyDiffRequest { from, to, draft }).await?;
            emit(args.output, &diff, |d| print_changes(&d.changes))
        }
        PolicyCommand::History { limit } => {
            let page: PolicyHistoryPage = api.get("/admin/v1/policies", &[("limit", limit.to_string())]).await?;
            emit(args.output, &page, |p| {
                if p.items.is_empty() {
                    println!("no policy version yet: publish one with `tokengate policy apply -f routes.toml`");
                    return;
                }
                let mut table = Table::new(&["VERSION", "PUBLISHED", "CREATED", "AUTHOR", "ORIGIN", "HASH", "MESSAGE"]);
                for v in &p.items {
                    let message = match v.rollback_of {
                        Some(n) => format!("{} (rollback to {n})", v.message),
                        None => v.message.clone(),
                    };
                    table.row(vec![
                        v.version.to_string(),
                        if v.published { "*".into() } else { String::new() },
                        v.created_at.clone(),
                        v.author.clone(),
                        v.origin.clone(),
                        v.content_hash.clone(),
                        message,
                    ]);
                }
                table.print();
            })
        }
        PolicyCommand::Show { version } => {
            let path = format!("/admin/v1/policies/{}", version.map_or("published".to_owned(), |v| v.to_string()));
            let shown: PolicyVersionDocument = api.get(&path, &[]).await.map_err(|e| nothing_published(e, version))?;
            emit(args.output, &shown, |s| {
                println!(
                    "# version {} by {} at {}: {}",
                    s.version.version, s.version.author, s.version.created_at, s.version.message
                );
                match &s.source {
                    Some(text) => print!("{text}"),
                    None => match document_toml(&s.document) {
                        Ok(text) => print!("{text}"),
                        Err(e) => println!("# (cannot render as TOML: {e})\n{}", s.document),
                    },
                }
            })
        }
        PolicyCommand::Rollback { to, message, yes, wait } => {
            let (etag, published) = published_etag(&api).await?;
            let diff: PolicyDiff = api
                .post(
                    "/admin/v1/policies/diff",
                    &PolicyDiffRequest { from: published, to: Some(to), ..Default::default() },
                )
                .await?;
            if args.output == Output::Table {
                println!("rolling back to version {to} changes:");
                print_changes(&diff.changes);
            }
            if !confirm(&format!("Publish version {to}'s policy as a new version?"), yes, "publish")? {
                return Err(CliError::Argument("not published".into()));
            }
            let request = RollbackPolicyRequest {
                to,
                message,
                wait: wait.wait,
                timeout_seconds: wait.wait.then_some(wait.timeout),
            };
            let done: PolicyPublished = api
                .post_if_match("/admin/v1/policies/rollback", &request, &etag, Duration::from_secs(wait.timeout))
                .await?;
            emit(args.output, &done, |d| print_published(d, wait.wait))
        }
        PolicyCommand::Simulate { file, last } => {
            let request = PolicySimulationRequest { draft: toml_draft(&file)?, last: Some(last) };
            let simulation: PolicySimulation = api.post("/admin/v1/policies/simulate", &request).await?;
            emit(args.output, &simulation, print_simulation)
        }
    }
}

async fn apply(
    api: &AdminClient,
    output: Output,
    file: &PathBuf,
    message: Option<String>,
    dry_run: bool,
    yes: bool,
    wait: WaitArgs,
) -> Result<(), CliError> {
    let draft = toml_draft(file)?;
    let (etag, published) = published_etag(api).await?;
    let diff: PolicyDiff = api
        .post("/admin/v1/policies/diff", &PolicyDiffRequest { from: published, to: None, draft: draft.clone() })
        .await?;
    let simulation: PolicySimulation =
        api.post("/admin/v1/policies/simulate", &PolicySimulationRequest { draft: draft.clone(), last: None }).await?;
    if output == Output::Table {
        match published {
            Some(v) => println!("changes against the published version {v}:"),
            None => println!("nothing is published yet; this policy becomes version 1:"),
        }
        print_changes(&diff.changes);
        print_simulation(&simulation);
    }
    if diff.changes.is_empty() && published.is_some() {
        if output == Output::Json {
            super::table::print_json(&diff)?;
        }
        return Ok(());
    }
    if dry_run {
        if output == Output::Json {
            super::table::print_json(&serde_json::json!({"diff": diff, "simulation": simulation}))?;
        }
        return Ok(());
    }
    if !confirm("Publish this policy?", yes, "publish")? {
        return Err(CliError::Argument("not published".into()));
    }
    let request = PublishPolicyRequest {
        draft,
        message: message.unwrap_or_else(|| format!("apply {}", file.display())),
        wait: wait.wait,
        timeout_seconds: wait.wait.then_some(wait.timeout),
    };
    let done: PolicyPublished =
        api.post_if_match("/admin/v1/policies", &request, &etag, Duration::from_secs(wait.timeout)).await?;
    emit(output, &done, |d| print_published(d, wait.wait))
}

/// The published version's ETag (`*` when nothing is published) and number.
async fn published_etag(api: &AdminClient) -> Result<(String, Option<i64>), CliError> {
    match api.get::<PolicyVersionDocument>("/admin/v1/policies/published", &[]).await {
        Ok(shown) => Ok((format!("\"v{}\"", shown.version.version), Some(shown.version.version))),
        Err(e) if is_status(&e, reqwest::StatusCode::NOT_FOUND) => Ok(("*".to_owned(), None)),
        Err(e) => Err(e),
    }
}

fn nothing_published(e: CliError, version: Option<i64>) -> CliError {
    match version {
        None if is_status(&e, reqwest::StatusCode::NOT_FOUND) => CliError::Argument(
            "no policy is published yet: publish one with `tokengate policy apply -f routes.toml`".into(),
        ),
        _ => e,
    }
}

fn toml_draft(file: &PathBuf) -> Result<PolicyDraft, CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::Argument(format!("cannot read {}: {e}", file.display())))?;
    // Checked here first: the problems name the file, and nothing is sent when it cannot be a policy.
    crate::gateway::policy_file::parse(&text, file).map_err(|problems| {
        CliError::Argument(format!("{} is not a valid policy:\n  - {}", file.display(), problems.join("\n  - ")))
    })?;
    Ok(PolicyDraft { document: None, toml: Some(text) })
}

fn document_toml(document: &serde_json::Value) -> Result<String, String> {
    let typed: crate::gateway::policy_file::PolicyDocument =
        serde_json::from_value(document.clone()).map_err(|e| e.to_string())?;
    toml::to_string_pretty(&typed).map_err(|e| e.to_string())
}

fn print_changes(changes: &[PolicyChangeView]) {
    if changes.is_empty() {
        println!("  no changes");
    }
    for c in changes {
        println!("  {}", c.line);
    }
}

fn print_simulation(s: &PolicySimulation) {
    println!(
        "simulation over the last {} gateway decisions: {} would now be denied, {} would now be allowed{}",
        s.replayed,
        s.newly_denied,
        s.newly_allowed,
        if s.clients.is_empty() { String::new() } else { format!(" (clients: {})", s.clients.join(", ")) }
    );
    if s.flips.is_empty() {
        return;
    }
    let mut table = Table::new(&["SEQ", "AT", "METHOD", "PATH", "CLIENT", "WAS", "WOULD BE"]);
    let decision = |d: &tokengate_proto::admin::SimulatedDecision| {
        if d.allowed {
            format!("allowed ({})", opt(d.route.as_deref()))
        } else {
            format!("denied: {}", d.reason)
        }
    };
    for f in s.flips.iter().take(50) {
        table.row(vec![
            f.seq.to_string(),
            f.at.clone(),
            f.method.clone(),
            f.path.clone(),
            opt(f.client_id.as_deref()),
            decision(&f.recorded),
            decision(&f.simulated),
        ]);
    }
    table.print();
    if s.flips.len() > 50 {
        println!("... and {} more (-o json lists them all)", s.flips.len() - 50);
    }
}

fn print_published(d: &PolicyPublished, waited: bool) {
    if !d.changed {
        println!("no changes: version {} is published", d.version.version);
        return;
    }
    print_fields(&[
        ("published", format!("version {}", d.version.version)),
        ("author", d.version.author.clone()),
        ("message", d.version.message.clone()),
        ("hash", d.version.content_hash.clone()),
    ]);
    for w in &d.warnings {
        println!("warning: {w}");
    }
    let p = &d.propagation;
    if waited {
        println!("{} live gateway node(s) run version {}", p.applied.len(), p.version);
    } else {
        println!(
            "{} of {} live gateway node(s) already run it (every node follows within a second; --wait waits)",
            p.applied.len(),
            p.applied.len() + p.lagging.len()
        );
    }
    if !p.gone.is_empty() {
        println!("gone (not waited on): {}", p.gone.join(", "));
    }
}
