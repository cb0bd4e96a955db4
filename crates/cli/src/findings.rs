//! `yunshou import findings` and `yunshou findings list|count`: scanner reports into a
//! tenant's findings, and the findings back out, run by the operator on the data directory.

use crate::import::bar;
use crate::{open_bootstrapped, DataDir};
use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use yunshou_model::Actor;
use yunshou_server::api::findings::FindingQuery;
use yunshou_server::vuln_import;

/// `yunshou import findings`.
#[derive(Args)]
pub struct ImportFindings {
    /// Report files; each is imported whole in its own transaction, or not at all.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Tenant to import into (its short name).
    #[arg(long)]
    tenant: String,
    /// Report format: `auto` (default) or one of openvas-xml, openvas-csv, nessus,
    /// qualys-xml, nexpose-xml, nmap-xml, masscan-json, trivy-json, nuclei-json, sarif,
    /// wazuh-json, template-csv.
    #[arg(long, default_value = "auto")]
    format: String,
    /// Print each summary as JSON instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    dir: DataDir,
}

/// Runs `yunshou import findings`: exit 0 when every file was imported, 1 otherwise (the
/// refused files named with the reason; the others are imported).
pub async fn import_findings(args: ImportFindings) -> Result<ExitCode> {
    let store = open_bootstrapped(&args.dir.data_dir, None).await?;
    let (_, scope) = store.operator_scope(&args.tenant).await?;
    let actor = Actor::cli();
    let mut failed = 0;
    for path in &args.files {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let resolved = vuln_import::resolve_format(Some(&args.format), &name, Box::new(file));
        let (format, input) = match resolved {
            Ok(x) => x,
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                failed += 1;
                continue;
            }
        };
        let pb = bar(0, "{spinner} {msg} {pos} items {per_sec}");
        pb.set_message(name.clone());
        let progress = |n: u64| pb.set_position(n);
        let result =
            vuln_import::import_report(&store, &scope, format, &name, input, &actor, &progress)
                .await;
        pb.finish_and_clear();
        match result {
            Ok(s) if args.json => println!("{}", serde_json::to_string(&s)?),
            Ok(s) => {
                println!(
                    "{}: {} findings, {} targets ({}) — created {}, updated {}, reopened {}, not seen {}, retest passed {}, \
                     assets discovered {}, work orders {}",
                    path.display(),
                    s.findings,
                    s.targets,
                    s.format,
                    s.created,
                    s.updated,
                    s.reopened,
                    s.not_seen,
                    s.retest_passed,
                    s.assets_discovered,
                    s.work_orders
                );
                for skipped in &s.skipped {
                    println!("  skipped: {skipped}");
                }
            }
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                failed += 1;
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `yunshou findings …`.
#[derive(Subcommand)]
pub enum FindingsCommand {
    /// List a tenant's findings, the prioritised queue first.
    List(ListFindings),
    /// Count a tenant's findings.
    Count(CountFindings),
}

/// Filters shared by list and count.
#[derive(Args)]
pub struct FindingFilterArgs {
    /// Tenant (its short name).
    #[arg(long)]
    tenant: String,
    /// Statuses, comma-separated (open, not_seen, fixed, accepted, false_positive, active).
    #[arg(long)]
    status: Option<String>,
    /// At least this tool severity (info, low, medium, high, critical).
    #[arg(long)]
    severity: Option<String>,
    /// At least this risk level (1–5).
    #[arg(long)]
    risk_level: Option<u8>,
    /// Has this CVE.
    #[arg(long)]
    cve: Option<String>,
    /// Reported by this source (nessus, openvas, manual …).
    #[arg(long)]
    source: Option<String>,
    /// Text in the title or asset name.
    #[arg(long)]
    q: Option<String>,
    #[command(flatten)]
    dir: DataDir,
}

impl FindingFilterArgs {
    fn query(&self, limit: Option<i64>) -> FindingQuery {
        FindingQuery {
            status: self.status.clone(),
            severity: self.severity.clone(),
            risk_level: self.risk_level,
            cve: self.cve.clone(),
            source: self.source.clone(),
            q: self.q.clone(),
            limit,
            ..Default::default()
        }
    }
}

/// `yunshou findings list`.
#[derive(Args)]
pub struct ListFindings {
    #[command(flatten)]
    filter: FindingFilterArgs,
    /// At most this many (1–1000).
    #[arg(long, default_value_t = 100)]
    limit: i64,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    output: ListOutput,
}

/// `yunshou findings count`.
#[derive(Args)]
pub struct CountFindings {
    #[command(flatten)]
    filter: FindingFilterArgs,
}

/// How `findings list` prints.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListOutput {
    /// Aligned columns.
    Table,
    /// One JSON object a line.
    Jsonl,
}

/// Runs `yunshou findings …`.
pub async fn findings(c: FindingsCommand) -> Result<ExitCode> {
    match c {
        FindingsCommand::List(a) => {
            let q = a.filter.query(Some(a.limit));
            let store = open_bootstrapped(&a.filter.dir.data_dir, None).await?;
            let (_, scope) = store.operator_scope(&a.filter.tenant).await?;
            let filter = q.filter().map_err(|e| anyhow::anyhow!("{}", e.detail))?;
            let page = q.page().map_err(|e| anyhow::anyhow!("{}", e.detail))?;
            let (items, total) = store.findings(&scope, &filter, page).await?;
            let mut out = std::io::stdout().lock();
            match a.output {
                ListOutput::Jsonl => {
                    for f in &items {
                        writeln!(out, "{}", serde_json::to_string(f)?)?;
                    }
                }
                ListOutput::Table => {
                    writeln!(
                        out,
                        "{:<5} {:<9} {:<14} {:<18} {:<16} TITLE",
                        "RISK", "SEVERITY", "STATUS", "ASSET", "CVE"
                    )?;
                    for f in &items {
                        let name: String = f.asset_name.chars().take(18).collect();
                        writeln!(
                            out,
                            "{:<5} {:<9} {:<14} {:<18} {:<16} {}",
                            f.risk_level,
                            f.severity.as_str(),
                            f.status.as_str(),
                            name,
                            f.cves.first().map(String::as_str).unwrap_or("-"),
                            f.title
                        )?;
                    }
                    writeln!(out, "{} of {total}", items.len())?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        FindingsCommand::Count(a) => {
            let q = a.filter.query(None);
            let store = open_bootstrapped(&a.filter.dir.data_dir, None).await?;
            let (_, scope) = store.operator_scope(&a.filter.tenant).await?;
            let filter = q.filter().map_err(|e| anyhow::anyhow!("{}", e.detail))?;
            println!("{}", store.count_findings(&scope, &filter).await?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
