//! Runs a scanner-report import (I.3.a): the streaming parser on a blocking thread, the
//! store's import transaction on this one, items passed through a bounded channel so memory
//! stays flat whatever the report's size. Used by the API, the console and `yunshou import
//! findings`.

use sha2::{Digest, Sha256};
use std::io::{BufReader, Read};
use yunshou_model::finding::ReportItem;
use yunshou_model::Actor;
use yunshou_scanners::{Format, ParseError};
use yunshou_store::finding_import::{ImportMeta, ImportSummary};
use yunshou_store::{Store, TenantScope};

/// Items handed from the parser to the store at once: one hand-off (a thread wake-up) per
/// item was a tenth of an import's time.
const CHUNK_ITEMS: usize = 64;
/// Chunks in flight between the parser and the store.
const CHANNEL_CHUNKS: usize = 8;
/// Bytes read to recognise a format.
const SNIFF_BYTES: usize = 64 * 1024;

/// Why an import did not happen. Nothing of it was kept.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The format was not given and could not be recognised.
    #[error("format: not recognised — name it (one of: {0})")]
    UnknownFormat(String),
    /// The report could not be read; nothing was imported.
    #[error("{0} (nothing imported)")]
    Invalid(String),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] yunshou_store::Error),
    /// Reading the input failed.
    #[error("reading the report: {0}")]
    Io(#[from] std::io::Error),
}

/// The format names, for messages and forms.
pub fn format_names() -> String {
    Format::ALL
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads the start of `input` and works out the format (`auto`), or takes the named one.
/// Returns the format and a reader that starts from the beginning again.
pub fn resolve_format(
    requested: Option<&str>,
    file_name: &str,
    mut input: Box<dyn Read + Send>,
) -> Result<(Format, Box<dyn Read + Send>), ImportError> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    (&mut input)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)?;
    let format = match requested
        .map(str::trim)
        .filter(|f| !f.is_empty() && *f != "auto")
    {
        Some(name) => {
            Format::parse(name).ok_or_else(|| ImportError::UnknownFormat(format_names()))?
        }
        None => yunshou_scanners::sniff(file_name, &head)
            .ok_or_else(|| ImportError::UnknownFormat(format_names()))?,
    };
    Ok((format, Box::new(std::io::Cursor::new(head).chain(input))))
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    sha: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        Ok(n)
    }
}

/// Imports one report into the tenant: all of it, or — on any error — none of it.
/// `progress(n)` is called with the number of items taken so far.
pub async fn import_report(
    store: &Store,
    scope: &TenantScope,
    format: Format,
    file_name: &str,
    input: Box<dyn Read + Send>,
    actor: &Actor,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<ImportSummary, ImportError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<ReportItem>>(CHANNEL_CHUNKS);
    let parser = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::with_capacity(
            256 * 1024,
            Hashing {
                inner: input,
                sha: Sha256::new(),
            },
        );
        let mut chunk = Vec::with_capacity(CHUNK_ITEMS);
        let mut result = yunshou_scanners::parse(format, &mut reader, &mut |item| {
            chunk.push(item);
            if chunk.len() < CHUNK_ITEMS {
                return Ok(());
            }
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_ITEMS));
            tx.blocking_send(full).map_err(|_| "the import stopped")
        });
        if result.is_ok() && !chunk.is_empty() && tx.blocking_send(chunk).is_err() {
            result = Err(ParseError::Sink("the import stopped"));
        }
        // Hash what the parser left unread too: the digest is the whole file's.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
        let digest = hex::encode(reader.into_inner().sha.finalize());
        (result.map_err(describe), digest)
    });
    let meta = ImportMeta {
        format: format.as_str().to_string(),
        source: format.source().to_string(),
        file_name: file_name.to_string(),
        sha256: String::new(),
    };
    let mut import = store.begin_findings_import(scope, meta).await?;
    let mut taken = 0u64;
    let mut failure = None;
    'chunks: while let Some(chunk) = rx.recv().await {
        for item in chunk {
            if let Err(e) = import.add(item, actor).await {
                failure = Some(e);
                break 'chunks;
            }
            taken += 1;
            if taken.is_multiple_of(256) {
                progress(taken);
            }
        }
    }
    drop(rx);
    let (parsed, digest) = parser
        .await
        .map_err(|e| ImportError::Invalid(format!("the parser failed: {e}")))?;
    if let Some(e) = failure {
        return Err(match e {
            yunshou_store::Error::Invalid(m) => {
                ImportError::Invalid(format!("item {}: {m}", taken + 1))
            }
            other => other.into(),
        });
    }
    let summary = parsed.map_err(ImportError::Invalid)?;
    progress(taken);
    import.set_sha256(digest);
    let mut out = import.finish(actor).await?;
    out.skipped = summary.skipped;
    Ok(out)
}

fn describe(e: ParseError<&'static str>) -> String {
    match e {
        ParseError::Invalid {
            format,
            position,
            reason,
        } => format!("{} report, {position}: {reason}", format.as_str()),
        ParseError::Sink(m) => m.to_string(),
    }
}
