//! The write-ahead log: an event is acknowledged only once it is here and on disk.
//!
//! Segments `wal/<first-seq>.log` hold records `[len u32][crc32 u32][seq u64][payload]`
//! (little endian; the CRC covers seq and payload). One writer thread takes batches from a
//! bounded queue, appends every batch waiting, calls `fdatasync` once, then acknowledges them
//! all (group commit): a burst of small requests costs one sync. The indexer records in
//! `wal/checkpoint` the highest sequence number the event store has committed; segments
//! wholly below it are deleted, and on start everything above it is replayed. A torn record
//! at the tail (a crash mid-write, never acknowledged) is cut off.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};

/// Segments roll over past this size.
pub const SEGMENT_BYTES: u64 = 64 << 20;

/// One raw event as received: what is replayed after a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawRecord {
    /// Tenant id (from the source or the ingest token).
    pub tenant: String,
    /// Source name (`syslog-tcp`, `http`, `file:/var/log/secure`, …).
    pub source: String,
    /// Parser to use (`auto` or a format name).
    pub format: String,
    /// Sender's address, if known.
    pub peer: Option<String>,
    /// Received, µs since the epoch.
    pub received_us: i64,
    /// The line or document.
    pub line: String,
}

/// Why the log refused a batch.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// The queue is full: the caller should slow down (HTTP 503, TCP pauses).
    #[error("the write-ahead log is busy")]
    Busy,
    /// The writer has stopped (shutdown or a disk error).
    #[error("the write-ahead log is closed")]
    Closed,
    /// Disk error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

type Ack = tokio::sync::oneshot::Sender<Result<(u64, u64), String>>;

struct Batch {
    records: Vec<RawRecord>,
    ack: Ack,
}

/// A handle to append to the log; cheap to clone.
#[derive(Clone)]
pub struct WalHandle {
    tx: SyncSender<Batch>,
}

impl WalHandle {
    /// Appends a batch; resolves once it is on disk, with the first and last sequence number.
    /// Fails at once with [`WalError::Busy`] when the queue is full.
    pub async fn append(&self, records: Vec<RawRecord>) -> Result<(u64, u64), WalError> {
        let (ack, done) = tokio::sync::oneshot::channel();
        match self.tx.try_send(Batch { records, ack }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(WalError::Busy),
            Err(TrySendError::Disconnected(_)) => return Err(WalError::Closed),
        }
        match done.await {
            Ok(Ok(range)) => Ok(range),
            Ok(Err(e)) => Err(WalError::Io(std::io::Error::other(e))),
            Err(_) => Err(WalError::Closed),
        }
    }

    /// Appends a batch, waiting for room instead of failing (for readers that can pause, such
    /// as TCP connections and file tails).
    pub async fn append_waiting(&self, records: Vec<RawRecord>) -> Result<(u64, u64), WalError> {
        let mut records = Some(records);
        loop {
            let (ack, done) = tokio::sync::oneshot::channel();
            match self.tx.try_send(Batch {
                records: records.take().expect("kept"),
                ack,
            }) {
                Ok(()) => {
                    return match done.await {
                        Ok(Ok(range)) => Ok(range),
                        Ok(Err(e)) => Err(WalError::Io(std::io::Error::other(e))),
                        Err(_) => Err(WalError::Closed),
                    }
                }
                Err(TrySendError::Full(b)) => {
                    records = Some(b.records);
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
                Err(TrySendError::Disconnected(_)) => return Err(WalError::Closed),
            }
        }
    }
}

fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}.log")
}

fn segments(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(n) = name
            .strip_suffix(".log")
            .and_then(|n| n.parse::<u64>().ok())
        {
            out.push((n, e.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Reads the checkpoint: the highest sequence the event store holds.
pub fn read_checkpoint(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join("checkpoint"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Records the checkpoint (atomically) and deletes segments wholly at or below it.
pub fn write_checkpoint(dir: &Path, seq: u64) -> std::io::Result<()> {
    let tmp = dir.join("checkpoint.tmp");
    {
        let mut f = File::create(&tmp)?;
        writeln!(f, "{seq}")?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join("checkpoint"))?;
    let segs = segments(dir)?;
    // A segment may go when the next one starts at or below seq + 1.
    for w in segs.windows(2) {
        if w[1].0 <= seq + 1 {
            std::fs::remove_file(&w[0].1)?;
        }
    }
    Ok(())
}

/// Reads every intact record after `after`, cutting a torn tail off the last segment.
/// Returns the records and the next sequence number to use.
pub fn replay(dir: &Path, after: u64) -> std::io::Result<(Vec<(u64, RawRecord)>, u64)> {
    std::fs::create_dir_all(dir)?;
    let mut out = Vec::new();
    let mut next = after + 1;
    let segs = segments(dir)?;
    for (i, (_, path)) in segs.iter().enumerate() {
        let mut r = BufReader::new(File::open(path)?);
        let mut good_len: u64 = 0;
        loop {
            let mut head = [0u8; 16];
            match r.read_exact(&mut head) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e),
            }
            let len = u32::from_le_bytes(head[0..4].try_into().expect("4")) as usize;
            let crc = u32::from_le_bytes(head[4..8].try_into().expect("4"));
            let seq = u64::from_le_bytes(head[8..16].try_into().expect("8"));
            let mut payload = vec![0u8; len];
            if r.read_exact(&mut payload).is_err() {
                break;
            }
            let mut h = crc32fast::Hasher::new();
            h.update(&head[8..16]);
            h.update(&payload);
            if h.finalize() != crc {
                break;
            }
            good_len += 16 + len as u64;
            next = next.max(seq + 1);
            if seq > after {
                if let Ok(rec) = serde_json::from_slice::<RawRecord>(&payload) {
                    out.push((seq, rec));
                }
            }
        }
        let actual = std::fs::metadata(path)?.len();
        if good_len < actual {
            if i + 1 == segs.len() {
                tracing::warn!(segment = %path.display(), cut = actual - good_len, "write-ahead log: cutting a torn tail (never acknowledged)");
                OpenOptions::new()
                    .write(true)
                    .open(path)?
                    .set_len(good_len)?;
            } else {
                tracing::error!(segment = %path.display(), "write-ahead log: a damaged record inside an older segment; later records of that segment are skipped");
            }
        }
    }
    Ok((out, next))
}

/// Starts the writer thread. `queue` batches may wait; `on_appended` receives every record
/// after it is on disk (to feed the indexer).
pub fn start(
    dir: &Path,
    next_seq: u64,
    queue: usize,
    on_appended: SyncSender<Vec<(u64, RawRecord)>>,
) -> std::io::Result<WalHandle> {
    std::fs::create_dir_all(dir)?;
    let (tx, rx) = sync_channel::<Batch>(queue);
    let dir = dir.to_path_buf();
    let segs = segments(&dir)?;
    let (path, size) = match segs.last() {
        Some((_, p)) => (p.clone(), std::fs::metadata(p)?.len()),
        None => (dir.join(segment_name(next_seq)), 0),
    };
    let file = OpenOptions::new().create(true).append(true).open(&path)?;
    std::thread::Builder::new()
        .name("wal-writer".into())
        .spawn(move || writer(dir, file, size, next_seq, rx, on_appended))?;
    Ok(WalHandle { tx })
}

fn writer(
    dir: PathBuf,
    mut file: File,
    mut size: u64,
    mut seq: u64,
    rx: Receiver<Batch>,
    on_appended: SyncSender<Vec<(u64, RawRecord)>>,
) {
    let mut buf = Vec::with_capacity(1 << 20);
    while let Ok(first) = rx.recv() {
        let mut batches = vec![first];
        while batches.len() < 256 {
            match rx.try_recv() {
                Ok(b) => batches.push(b),
                Err(_) => break,
            }
        }
        if size > SEGMENT_BYTES {
            match OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(segment_name(seq)))
            {
                Ok(f) => {
                    file = f;
                    size = 0;
                    if let Ok(d) = File::open(&dir) {
                        let _ = d.sync_all();
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "write-ahead log: cannot start a new segment")
                }
            }
        }
        buf.clear();
        let mut ranges = Vec::with_capacity(batches.len());
        let mut appended = Vec::new();
        for b in &batches {
            let start = seq;
            for r in &b.records {
                let payload = serde_json::to_vec(r).expect("record serialises");
                let mut h = crc32fast::Hasher::new();
                h.update(&seq.to_le_bytes());
                h.update(&payload);
                buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
                buf.extend_from_slice(&h.finalize().to_le_bytes());
                buf.extend_from_slice(&seq.to_le_bytes());
                buf.extend_from_slice(&payload);
                appended.push((seq, r.clone()));
                seq += 1;
            }
            ranges.push((start, seq.saturating_sub(1)));
        }
        let written = file.write_all(&buf).and_then(|_| file.sync_data());
        metrics::counter!("yunshou_wal_syncs_total").increment(1);
        match written {
            Ok(()) => {
                size += buf.len() as u64;
                metrics::counter!("yunshou_wal_bytes_total").increment(buf.len() as u64);
                // Feed the indexer before acknowledging, so a search right after an
                // acknowledged write waits only for the next commit.
                if !appended.is_empty() && on_appended.send(appended).is_err() {
                    tracing::error!("write-ahead log: the indexer has stopped");
                }
                for (b, r) in batches.into_iter().zip(ranges) {
                    let _ = b.ack.send(Ok(r));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "write-ahead log: write failed; batches refused");
                // Cut whatever part of the batch reached the file, so later records follow
                // intact ones.
                let _ = file.set_len(size);
                // Nothing of these batches is acknowledged; roll the sequence back so the
                // numbering stays gap-free on disk.
                seq -= appended.len() as u64;
                for b in batches {
                    let _ = b.ack.send(Err(e.to_string()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(line: &str) -> RawRecord {
        RawRecord {
            tenant: "t1".into(),
            source: "test".into(),
            format: "auto".into(),
            peer: None,
            received_us: 1,
            line: line.into(),
        }
    }

    #[tokio::test]
    async fn appends_replays_and_cuts_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = sync_channel(100);
        let wal = start(dir.path(), 1, 8, tx).unwrap();
        assert_eq!(wal.append(vec![rec("a"), rec("b")]).await.unwrap(), (1, 2));
        assert_eq!(wal.append(vec![rec("c")]).await.unwrap(), (3, 3));
        assert_eq!(rx.recv().unwrap().len(), 2);
        drop(wal);
        // A torn record at the end: half a header.
        let seg = segments(dir.path()).unwrap().pop().unwrap().1;
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(&[9, 0, 0]).unwrap();
        let (records, next) = replay(dir.path(), 0).unwrap();
        let lines: Vec<&str> = records.iter().map(|r| r.1.line.as_str()).collect();
        assert_eq!(lines, ["a", "b", "c"]);
        assert_eq!(next, 4);
        let (after_two, _) = replay(dir.path(), 2).unwrap();
        assert_eq!(after_two.len(), 1);
        // The tail was cut, so appending continues cleanly.
        let (tx, _rx) = sync_channel(100);
        let wal = start(dir.path(), next, 8, tx).unwrap();
        assert_eq!(wal.append(vec![rec("d")]).await.unwrap(), (4, 4));
        let (all, _) = replay(dir.path(), 0).unwrap();
        assert_eq!(all.len(), 4);
    }

    #[tokio::test]
    async fn a_full_queue_says_busy_and_checkpoints_drop_old_segments() {
        let dir = tempfile::tempdir().unwrap();
        // An indexer that never reads: the writer blocks on it, so the queue fills.
        let (tx, _rx) = sync_channel(0);
        let wal = start(dir.path(), 1, 1, tx).unwrap();
        let mut busy = false;
        let mut pending = Vec::new();
        for _ in 0..10 {
            let w = wal.clone();
            match w.tx.try_send(Batch {
                records: vec![rec("x")],
                ack: tokio::sync::oneshot::channel().0,
            }) {
                Err(TrySendError::Full(_)) => {
                    busy = true;
                    break;
                }
                other => pending.push(other),
            }
        }
        assert!(busy, "a bounded queue refuses when full");
        assert!(matches!(
            wal.append(vec![rec("y")]).await,
            Err(WalError::Busy)
        ));
        // Checkpoints remove segments wholly below them.
        let d2 = tempfile::tempdir().unwrap();
        for first in [1u64, 100, 200] {
            std::fs::write(d2.path().join(segment_name(first)), b"").unwrap();
        }
        write_checkpoint(d2.path(), 150).unwrap();
        let left: Vec<u64> = segments(d2.path())
            .unwrap()
            .into_iter()
            .map(|s| s.0)
            .collect();
        assert_eq!(left, [100, 200]);
        assert_eq!(read_checkpoint(d2.path()), 150);
    }
}
