//! `yunshou import …` and `yunshou export …`: bulk data in and out of a tenant, run by the
//! operator on the data directory. Assets now; later issues add findings and the like as
//! further variants.

use crate::{open_bootstrapped, DataDir};
use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use yunshou_identify::transfer::{self, Format};
use yunshou_model::Actor;
use yunshou_server::api::asset_transfer::{export_assets, import_parsed};
use yunshou_store::{AssetQuery, AssetSort};

/// What to import.
#[derive(Subcommand)]
pub enum ImportCommand {
    /// Import assets from a CSV or JSON file (columns: docs/asset-import.md). A file with
    /// invalid rows writes nothing and exits 1 with the report, unless --skip-invalid.
    Assets(ImportAssets),
    /// Import scanner reports or manual findings (docs/findings-import.md) into a tenant's
    /// findings: deduplicated, risk-scored, work orders raised; prints what each file did.
    Findings(crate::findings::ImportFindings),
}

/// What to export.
#[derive(Subcommand)]
pub enum ExportCommand {
    /// Export a tenant's assets as CSV (the import columns) or JSON.
    Assets(ExportAssets),
}

/// File format on the command line.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// From the file name (.csv, .json), else from the content.
    Auto,
    /// CSV with a header row.
    Csv,
    /// A JSON array of assets.
    Json,
}

/// `yunshou import assets`.
#[derive(Args)]
pub struct ImportAssets {
    /// The file to import.
    file: PathBuf,
    /// Tenant to import into (its short name, e.g. `default`).
    #[arg(long)]
    tenant: String,
    /// File format.
    #[arg(long, value_enum, default_value = "auto")]
    format: FormatArg,
    /// Import the valid rows and report each skipped row, instead of refusing the file.
    #[arg(long)]
    skip_invalid: bool,
    #[command(flatten)]
    dir: DataDir,
}

/// `yunshou export assets`.
#[derive(Args)]
pub struct ExportAssets {
    /// Tenant to export (its short name).
    #[arg(long)]
    tenant: String,
    /// File format.
    #[arg(long, value_enum, default_value = "csv")]
    format: ExportFormatArg,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    dir: DataDir,
}

/// Export format on the command line.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormatArg {
    /// CSV with a header row (imports again unchanged).
    Csv,
    /// A JSON array.
    Json,
}

/// A bar on standard error, hidden when standard error is not a terminal (scripts, CI).
/// A progress bar on a terminal; hidden otherwise (scripts, tests).
pub(crate) fn bar(len: u64, template: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    if std::io::stderr().is_terminal() {
        pb.set_draw_target(ProgressDrawTarget::stderr());
    } else {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    pb.set_style(ProgressStyle::with_template(template).expect("valid progress template"));
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// Runs `yunshou import …`.
pub async fn import(c: ImportCommand) -> Result<ExitCode> {
    match c {
        ImportCommand::Assets(args) => import_assets(args).await,
        ImportCommand::Findings(args) => crate::findings::import_findings(args).await,
    }
}

async fn import_assets(args: ImportAssets) -> Result<ExitCode> {
    let data =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let store = open_bootstrapped(&args.dir.data_dir, None).await?;
    let (_, scope) = store.operator_scope(&args.tenant).await?;
    let format = match args.format {
        FormatArg::Csv => Format::Csv,
        FormatArg::Json => Format::Json,
        FormatArg::Auto => args
            .file
            .extension()
            .and_then(|e| e.to_str())
            .and_then(Format::parse)
            .unwrap_or_else(|| Format::sniff(&data)),
    };
    let spinner = bar(0, "{spinner} 校验 / validating {msg}");
    spinner.set_message(args.file.display().to_string());
    let parsed = transfer::parse(format, &data);
    spinner.finish_and_clear();
    let parsed = parsed.map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    drop(data);
    let valid = parsed.rows.len();
    let invalid = parsed.invalid_rows().len();
    if !parsed.errors.is_empty() {
        let mut out = std::io::stdout().lock();
        writeln!(out, "行 row\t字段 field\t原因 reason")?;
        for e in &parsed.errors {
            writeln!(out, "{}\t{}\t{}", e.row, e.field, e.reason)?;
        }
        if !args.skip_invalid {
            writeln!(
                out,
                "{invalid} 行有误，未导入任何资产 / {invalid} invalid row(s); nothing was imported ({valid} valid). Fix them, or run with --skip-invalid to import the valid rows."
            )?;
            return Ok(ExitCode::from(1));
        }
    }
    let pb = bar(
        valid as u64,
        "{bar:40} {pos}/{len} 写入 / writing  {per_sec}  ETA {eta}",
    );
    let source = format!("cli:{}", args.file.display());
    let report = import_parsed(
        &store,
        &scope,
        parsed,
        args.skip_invalid,
        &source,
        &Actor::cli(),
        &|n| pb.set_position(n as u64),
    )
    .await?
    .expect("invalid rows without --skip-invalid returned above");
    pb.finish_and_clear();
    println!(
        "已导入 {} 项资产到租户 {}；跳过 {invalid} 行 / imported {} asset(s) into tenant {}; skipped {invalid} row(s)",
        report.created, args.tenant, report.created, args.tenant
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `yunshou export …`.
pub async fn export(c: ExportCommand) -> Result<ExitCode> {
    match c {
        ExportCommand::Assets(args) => {
            let store = open_bootstrapped(&args.dir.data_dir, None).await?;
            let (_, scope) = store.operator_scope(&args.tenant).await?;
            let format = match args.format {
                ExportFormatArg::Csv => Format::Csv,
                ExportFormatArg::Json => Format::Json,
            };
            let (data, count) = export_assets(
                &store,
                &scope,
                &AssetQuery::default(),
                AssetSort::Priority,
                format,
                &Actor::cli(),
            )
            .await?;
            match &args.output {
                Some(path) => {
                    std::fs::write(path, &data)
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!(
                        "已导出 {count} 项资产 / exported {count} asset(s) to {}",
                        path.display()
                    );
                }
                None => std::io::stdout().lock().write_all(&data)?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
