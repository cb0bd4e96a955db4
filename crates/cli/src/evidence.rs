//! `yunshou evidence verify PACKAGE`: checks an exported evidence package offline — every
//! item against its digests, the custody chain, and the SM2 signature over the manifest.

use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Work with evidence packages.
#[derive(Subcommand)]
pub enum EvidenceCommand {
    /// Check a package offline. Exit 0: intact; 1: problems found (each named); 2: not a
    /// readable package.
    Verify(VerifyArgs),
}

/// Arguments of `evidence verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The package (zip) exported by the platform.
    pub package: PathBuf,
    /// The platform's public key (hex) the signature must be made with; without it the key
    /// inside the package is used, which proves integrity but not origin.
    #[arg(long)]
    pub key: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn evidence(command: EvidenceCommand) -> ExitCode {
    match command {
        EvidenceCommand::Verify(a) => verify(a),
    }
}

fn verify(a: VerifyArgs) -> ExitCode {
    let file = match std::fs::File::open(&a.package) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {}: {e}", a.package.display());
            return ExitCode::from(2);
        }
    };
    let v = match yunshou_evidence::package::verify_package(
        std::io::BufReader::new(file),
        a.key.as_deref(),
    ) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {}: {e}", a.package.display());
            return ExitCode::from(2);
        }
    };
    if a.json {
        let out = serde_json::json!({
            "intact": v.is_intact(),
            "incident_id": v.manifest.as_ref().map(|m| m.incident_id.clone()),
            "items_checked": v.items_checked,
            "custody_entries": v.custody_entries,
            "problems": v.problems,
        });
        println!("{out}");
    } else {
        print!("{}", yunshou_evidence::package::render_report(&v));
    }
    if v.is_intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
