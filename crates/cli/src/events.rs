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
    /// Parser for text files (`auto`, `json`, `syslog`, `cef`, `nginx`, `apache`, `auditd`,
    /// `mysql`, `postgresql`, `openstack`, `netflow`, `winlog`, `raw`); `.evtx` records always
    /// use `winlog`.
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

/// The files' events, read as they are sent: text files line by line, `.evtx` files record by
/// record (one EVTX file's records are held at a time). EVTX records that cannot be read are
/// collected in `broken` (file, record number, reason): reported, never dropped in silence.
struct Events {
    files: std::collections::VecDeque<PathBuf>,
    current: Option<Source>,
    broken: Vec<String>,
    /// Bytes of the input consumed, for the progress bar.
    done_bytes: u64,
}

enum Source {
    Text(PathBuf, std::io::Lines<std::io::BufReader<std::fs::File>>),
    Evtx(
        PathBuf,
        std::vec::IntoIter<Result<String, String>>,
        usize,
        u64,
    ),
}

impl Events {
    /// Checks every file can be opened before anything is sent; returns the reader and the
    /// total size in bytes.
    fn open(files: &[PathBuf]) -> Result<(Events, u64)> {
        let mut total = 0;
        for f in files {
            total += std::fs::metadata(f)
                .with_context(|| format!("reading {}", f.display()))?
                .len();
        }
        Ok((
            Events {
                files: files.iter().cloned().collect(),
                current: None,
                broken: vec![],
                done_bytes: 0,
            },
            total,
        ))
    }

    /// Up to `n` events; empty when all files are read.
    fn chunk(&mut self, n: usize) -> Result<Vec<Line>> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let Some(source) = self.current.as_mut() else {
                let Some(f) = self.files.pop_front() else {
                    break;
                };
                self.current = Some(if yunshou_ingest::evtx::is_evtx(&f) {
                    let size = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
                    let records = yunshou_ingest::evtx::read(&f).map_err(anyhow::Error::msg)?;
                    Source::Evtx(f, records.into_iter(), 0, size)
                } else {
                    let file = std::fs::File::open(&f)
                        .with_context(|| format!("reading {}", f.display()))?;
                    Source::Text(f, std::io::BufReader::new(file).lines())
                });
                continue;
            };
            match source {
                Source::Text(f, lines) => match lines.next() {
                    Some(line) => {
                        let line = line.with_context(|| format!("reading {}", f.display()))?;
                        self.done_bytes += line.len() as u64 + 1;
                        if !line.trim().is_empty() {
                            out.push(Line {
                                text: line,
                                windows: false,
                            });
                        }
                    }
                    None => self.current = None,
                },
                Source::Evtx(f, records, i, size) => match records.next() {
                    Some(r) => {
                        *i += 1;
                        match r {
                            Ok(text) => out.push(Line {
                                text,
                                windows: true,
                            }),
                            Err(e) => {
                                self.broken
                                    .push(format!("{}: record {}: {e}", f.display(), *i))
                            }
                        }
                    }
                    None => {
                        self.done_bytes += *size;
                        self.current = None;
                    }
                },
            }
        }
        Ok(out)
    }
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
    yunshou_ingest::normalise::check_format(&args.format).map_err(anyhow::Error::msg)?;
    let (mut events, total_bytes) = Events::open(&args.files)?;
    let pipeline = Pipeline::start(
        &args.dir.data_dir,
        Arc::new(yunshou_ingest::normalise::Parsers),
        Arc::new(yunshou_ingest::NoEnrichment),
        Arc::new(yunshou_ingest::NoDetection),
    )
    .context("opening the event store (is a server running on this data directory?)")?;
    let pb = bar(
        total_bytes,
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    );
    let started = Instant::now();
    let (mut last, mut count) = (0, 0usize);
    loop {
        let chunk = events.chunk(1000)?;
        if chunk.is_empty() {
            break;
        }
        count += chunk.len();
        let now = chrono::Utc::now().timestamp_micros();
        let batch = chunk
            .into_iter()
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
                line: line.text,
            })
            .collect();
        last = pipeline.submit_waiting(batch).await?.1;
        pb.set_position(events.done_bytes);
    }
    if !pipeline.wait_indexed(last, Duration::from_secs(600)).await {
        bail!("the events were logged but not yet indexed; they will be on the next start");
    }
    pb.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{count} events ingested into {} in {secs:.1} s ({:.0} events/s)",
        args.tenant,
        count as f64 / secs.max(0.001)
    );
    let broken = events.broken;
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
    let (mut events, total_bytes) = Events::open(&args.files)?;
    let pb = bar(
        total_bytes,
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
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
    let mut sent = 0usize;
    if let Some(addr) = args.to.strip_prefix("tcp://") {
        let mut sock = tokio::net::TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        loop {
            let chunk = events.chunk(256)?;
            if chunk.is_empty() {
                break;
            }
            let mut buf = Vec::new();
            for l in &chunk {
                buf.extend_from_slice(l.text.as_bytes());
                buf.push(b'\n');
            }
            sock.write_all(&buf).await?;
            sent += chunk.len();
            pb.set_position(events.done_bytes);
            pace(sent).await;
        }
        sock.shutdown().await?;
    } else if let Some(addr) = args.to.strip_prefix("udp://") {
        let sock = tokio::net::UdpSocket::bind("0.0.0.0:0").await?;
        sock.connect(addr)
            .await
            .with_context(|| format!("udp {addr}"))?;
        loop {
            let chunk = events.chunk(256)?;
            if chunk.is_empty() {
                break;
            }
            for l in &chunk {
                sock.send(l.text.as_bytes()).await?;
                sent += 1;
                pace(sent).await;
            }
            pb.set_position(events.done_bytes);
        }
    } else if args.to.starts_with("http://") || args.to.starts_with("https://") {
        let token = args
            .token
            .clone()
            .context("--token: HTTP needs an ingest token")?;
        let client = reqwest::Client::builder()
            .danger_accept_invalid_certs(args.insecure)
            .build()?;
        loop {
            let chunk = events.chunk(500)?;
            if chunk.is_empty() {
                break;
            }
            let body: String = chunk
                .iter()
                .map(|l| serde_json::Value::String(l.text.clone()).to_string() + "\n")
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
            sent += chunk.len();
            pb.set_position(events.done_bytes);
            pace(sent).await;
        }
    } else {
        bail!("--to: tcp://HOST:PORT, udp://HOST:PORT or http(s)://HOST/api/v1/ingest");
    }
    pb.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{sent} lines sent in {secs:.1} s ({:.0} lines/s)",
        sent as f64 / secs.max(0.001)
    );
    Ok(report_broken(&events.broken))
}
