//! `yunshou ingest` (files into a tenant's event store, offline) and `yunshou replay` (files
//! to a running yunshou — or any syslog receiver — over TCP, UDP or HTTP, for tests and
//! benchmarks). Both read text files line by line and Windows `.evtx` files record by record
//! (each record one line of JSON).

use crate::import::bar;
use anyhow::{bail, Context, Result};
use clap::Args;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use yunshou_ingest::{Pipeline, RawRecord};

/// `yunshou ingest`.
#[derive(Args)]
pub struct IngestArgs {
    /// Tenant the events belong to.
    #[arg(long)]
    tenant: String,
    /// Parser for text files (`auto`, `json`, `syslog`, `cef`, `nginx`, `apache`, `winlog`,
    /// `raw`); `.evtx` records always use `winlog`.
    #[arg(long, default_value = "auto")]
    format: String,
    /// Files: text with one event per line, or Windows event logs (`.evtx`).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    dir: crate::DataDir,
}

/// One event read from a file.
struct Line {
    text: String,
    /// From an `.evtx` file: parsed as a Windows event whatever `--format` says.
    windows: bool,
}

/// The events of all files, and the EVTX records that could not be read (file, record
/// number, reason): those are reported, never dropped in silence.
fn lines(files: &[PathBuf]) -> Result<(Vec<Line>, Vec<String>)> {
    let (mut out, mut broken) = (Vec::new(), Vec::new());
    for f in files {
        if yunshou_ingest::evtx::is_evtx(f) {
            let records = yunshou_ingest::evtx::read(f).map_err(anyhow::Error::msg)?;
            for (i, r) in records.into_iter().enumerate() {
                match r {
                    Ok(text) => out.push(Line {
                        text,
                        windows: true,
                    }),
                    Err(e) => broken.push(format!("{}: record {}: {e}", f.display(), i + 1)),
                }
            }
            continue;
        }
        let file = std::fs::File::open(f).with_context(|| format!("reading {}", f.display()))?;
        for line in std::io::BufReader::new(file).lines() {
            let line = line.with_context(|| format!("reading {}", f.display()))?;
            if !line.trim().is_empty() {
                out.push(Line {
                    text: line,
                    windows: false,
                });
            }
        }
    }
    Ok((out, broken))
}

/// Ends a summary with the records left out; exit status 1 when there are any, so a script
/// notices an import that is not whole.
fn report_broken(broken: &[String]) -> ExitCode {
    if broken.is_empty() {
        return ExitCode::SUCCESS;
    }
    println!(
        "{} EVTX record{} could not be read and {} not taken:",
        broken.len(),
        if broken.len() == 1 { "" } else { "s" },
        if broken.len() == 1 { "was" } else { "were" }
    );
    for b in broken {
        println!("  {b}");
    }
    ExitCode::FAILURE
}

/// Imports files into the data directory's event store (the server must not be running on it).
pub async fn ingest(args: IngestArgs) -> Result<ExitCode> {
    let store = crate::open_bootstrapped(&args.dir.data_dir, None).await?;
    let (tenant, _) = store
        .operator_scope(&args.tenant)
        .await
        .with_context(|| format!("no tenant named `{}`", args.tenant))?;
    let (all, broken) = lines(&args.files)?;
    let pipeline = Pipeline::start(
        &args.dir.data_dir,
        Arc::new(yunshou_ingest::normalise::Parsers),
        Arc::new(yunshou_ingest::NoEnrichment),
    )
    .context("opening the event store (is a server running on this data directory?)")?;
    let pb = bar(
        all.len() as u64,
        "{bar:40} {pos}/{len} events {per_sec} {eta}",
    );
    let started = Instant::now();
    let mut last = 0;
    for chunk in all.chunks(1000) {
        let now = chrono::Utc::now().timestamp_micros();
        let batch = chunk
            .iter()
            .map(|line| RawRecord {
                tenant: tenant.id.clone(),
                source: "file".into(),
                format: if line.windows {
                    "winlog".into()
                } else {
                    args.format.clone()
                },
                peer: None,
                received_us: now,
                line: line.text.clone(),
            })
            .collect();
        last = pipeline.submit_waiting(batch).await?.1;
        pb.inc(chunk.len() as u64);
    }
    if !pipeline.wait_indexed(last, Duration::from_secs(600)).await {
        bail!("the events were logged but not yet indexed; they will be on the next start");
    }
    pb.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} events ingested into {} in {secs:.1} s ({:.0} events/s)",
        all.len(),
        args.tenant,
        all.len() as f64 / secs.max(0.001)
    );
    Ok(report_broken(&broken))
}

/// `yunshou replay`.
#[derive(Args)]
pub struct ReplayArgs {
    /// Where to: `tcp://HOST:PORT`, `udp://HOST:PORT` (syslog) or `http(s)://…/api/v1/ingest`.
    #[arg(long)]
    to: String,
    /// Ingest token, for HTTP.
    #[arg(long)]
    token: Option<String>,
    /// Accept a self-signed HTTPS certificate (test servers).
    #[arg(long)]
    insecure: bool,
    /// Lines per second at most (0: as fast as possible).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Files: text with one event per line, or Windows event logs (`.evtx`, each record sent
    /// as a line of JSON, which the receiver recognises).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Sends files' lines to a receiver.
pub async fn replay(args: ReplayArgs) -> Result<ExitCode> {
    let (all, broken) = lines(&args.files)?;
    let all: Vec<String> = all.into_iter().map(|l| l.text).collect();
    let pb = bar(
        all.len() as u64,
        "{bar:40} {pos}/{len} lines {per_sec} {eta}",
    );
    let started = Instant::now();
    let pace = |sent: usize| async move {
        if args.rate > 0 {
            let due = Duration::from_secs_f64(sent as f64 / args.rate as f64);
            let elapsed = started.elapsed();
            if due > elapsed {
                tokio::time::sleep(due - elapsed).await;
            }
        }
    };
    if let Some(addr) = args.to.strip_prefix("tcp://") {
        let mut sock = tokio::net::TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        for (i, chunk) in all.chunks(256).enumerate() {
            let mut buf = Vec::new();
            for l in chunk {
                buf.extend_from_slice(l.as_bytes());
                buf.push(b'\n');
            }
            sock.write_all(&buf).await?;
            pb.inc(chunk.len() as u64);
            pace((i + 1) * 256).await;
        }
        sock.shutdown().await?;
    } else if let Some(addr) = args.to.strip_prefix("udp://") {
        let sock = tokio::net::UdpSocket::bind("0.0.0.0:0").await?;
        sock.connect(addr)
            .await
            .with_context(|| format!("udp {addr}"))?;
        for (i, l) in all.iter().enumerate() {
            sock.send(l.as_bytes()).await?;
            pb.inc(1);
            pace(i + 1).await;
        }
    } else if args.to.starts_with("http://") || args.to.starts_with("https://") {
        let token = args
            .token
            .clone()
            .context("--token: HTTP needs an ingest token")?;
        let client = reqwest::Client::builder()
            .danger_accept_invalid_certs(args.insecure)
            .build()?;
        for (i, chunk) in all.chunks(500).enumerate() {
            let body: String = chunk
                .iter()
                .map(|l| serde_json::Value::String(l.clone()).to_string() + "\n")
                .collect();
            loop {
                let r = client
                    .post(&args.to)
                    .bearer_auth(&token)
                    .header("content-type", "application/x-ndjson")
                    .body(body.clone())
                    .send()
                    .await?;
                match r.status().as_u16() {
                    202 => break,
                    429 | 503 => tokio::time::sleep(Duration::from_millis(200)).await,
                    s => bail!(
                        "{}: HTTP {s}: {}",
                        args.to,
                        r.text().await.unwrap_or_default()
                    ),
                }
            }
            pb.inc(chunk.len() as u64);
            pace((i + 1) * 500).await;
        }
    } else {
        bail!("--to: tcp://HOST:PORT, udp://HOST:PORT or http(s)://HOST/api/v1/ingest");
    }
    pb.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} lines sent in {secs:.1} s ({:.0} lines/s)",
        all.len(),
        all.len() as f64 / secs.max(0.001)
    );
    Ok(report_broken(&broken))
}
