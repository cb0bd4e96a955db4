//! Tailing log files (MO.1.a): follow a file as it grows, across rotation (rename and
//! re-create, or truncation), resuming after a restart where the last acknowledged line
//! ended. The offset is saved only after the write-ahead log has the lines, so a crash never
//! skips a line (at most the last batch is read again).

use crate::{Pipeline, RawRecord};
use serde::{Deserialize, Serialize};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often an idle file is checked for growth and rotation.
const POLL: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Position {
    inode: u64,
    offset: u64,
}

fn state_file(state_dir: &Path, path: &Path) -> PathBuf {
    let name: String = path
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    state_dir.join(format!("{name}.json"))
}

fn load(state: &Path) -> Position {
    std::fs::read(state)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn save(state: &Path, pos: Position) -> std::io::Result<()> {
    let tmp = state.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(&pos).expect("position serialises"))?;
    std::fs::rename(tmp, state)
}

/// Follows `path` for `tenant` forever, keeping its position under `state_dir`.
pub async fn tail(
    path: PathBuf,
    tenant: String,
    format: String,
    pipeline: Pipeline,
    state_dir: PathBuf,
) {
    if let Err(e) = std::fs::create_dir_all(&state_dir) {
        tracing::error!(error = %e, "tail: cannot keep positions");
        return;
    }
    let state = state_file(&state_dir, &path);
    let mut pos = load(&state);
    let source = format!("file:{}", path.display());
    // The open file: it keeps being read after a rename until its end, then the new file
    // under the name is opened.
    let mut open: Option<std::fs::File> = None;
    let mut carry: Vec<u8> = Vec::new();
    loop {
        if open.is_none() {
            match std::fs::File::open(&path).and_then(|f| Ok((f.metadata()?, f))) {
                Ok((meta, mut f)) => {
                    if meta.ino() != pos.inode || meta.len() < pos.offset {
                        pos = Position {
                            inode: meta.ino(),
                            offset: 0,
                        };
                    }
                    if f.seek(SeekFrom::Start(pos.offset)).is_ok() {
                        open = Some(f);
                        carry.clear();
                    }
                }
                Err(_) => {
                    tokio::time::sleep(POLL).await;
                    continue;
                }
            }
        }
        let f = open.as_mut().expect("opened above");
        let mut buf = Vec::new();
        if let Err(e) = f.take(4 << 20).read_to_end(&mut buf) {
            tracing::warn!(path = %path.display(), error = %e, "tail: read failed");
            open = None;
            tokio::time::sleep(POLL).await;
            continue;
        }
        if buf.is_empty() {
            // At the end: rotated (another file under the name) or truncated?
            match std::fs::metadata(&path) {
                Ok(meta) if meta.ino() != pos.inode => {
                    // The old file is finished; a last line without newline still counts.
                    if !carry.is_empty() {
                        let line = std::mem::take(&mut carry);
                        if !submit(&pipeline, &tenant, &source, &format, vec![line]).await {
                            return;
                        }
                    }
                    open = None;
                    continue;
                }
                Ok(meta) if meta.len() < pos.offset => {
                    open = None;
                    pos.offset = 0;
                    continue;
                }
                _ => {}
            }
            tokio::time::sleep(POLL).await;
            continue;
        }
        carry.extend_from_slice(&buf);
        let Some(end) = carry.iter().rposition(|b| *b == b'\n') else {
            continue;
        };
        let rest = carry.split_off(end + 1);
        let whole = std::mem::replace(&mut carry, rest);
        let lines: Vec<Vec<u8>> = whole.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
        if !submit(&pipeline, &tenant, &source, &format, lines).await {
            return;
        }
        pos.offset += whole.len() as u64;
        if let Err(e) = save(&state, pos) {
            tracing::warn!(error = %e, "tail: cannot save the position");
        }
    }
}

/// Submits lines; false when the log refuses them (the tail stops).
async fn submit(
    pipeline: &Pipeline,
    tenant: &str,
    source: &str,
    format: &str,
    lines: Vec<Vec<u8>>,
) -> bool {
    let now = chrono::Utc::now().timestamp_micros();
    let records: Vec<RawRecord> = lines
        .into_iter()
        .map(|l| {
            String::from_utf8_lossy(&l)
                .trim_end_matches('\r')
                .to_string()
        })
        .filter(|l| !l.trim().is_empty())
        .map(|line| RawRecord {
            tenant: tenant.to_string(),
            source: source.to_string(),
            format: format.to_string(),
            peer: None,
            received_us: now,
            line,
        })
        .collect();
    if records.is_empty() {
        return true;
    }
    match pipeline.submit_waiting(records).await {
        Ok(_) => true,
        Err(e) => {
            tracing::error!(source, error = %e, "tail: the log refused lines; stopping");
            false
        }
    }
}
