//! The pipeline: sources → write-ahead log (acknowledge) → indexer (parse, normalise, enrich,
//! store) → event store, with bounded queues between the stages.
//!
//! The indexer commits the event store at most every [`COMMIT_INTERVAL`] and then moves the
//! log's checkpoint, so a crash loses nothing acknowledged: on start everything after the
//! checkpoint is replayed, and the store skips what it already holds.

use crate::wal::{self, RawRecord, WalHandle};
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use yunshou_eventstore::{EventStore, NewEvent};

/// How often the indexer makes new events searchable.
pub const COMMIT_INTERVAL: Duration = Duration::from_millis(500);
/// Batches that may wait for the log writer.
pub const WAL_QUEUE: usize = 1024;
/// Batches that may wait for the indexer (bounds memory between the stages).
pub const INDEX_QUEUE: usize = 64;

/// Turns a raw record into a normalised event document (ECS), and says when it happened.
pub trait Normaliser: Send + Sync + 'static {
    /// The event time (if the record says) and the ECS document (without `event.original`,
    /// which the pipeline adds).
    fn normalise(
        &self,
        record: &RawRecord,
        now: DateTime<Utc>,
    ) -> (
        Option<DateTime<Utc>>,
        serde_json::Map<String, serde_json::Value>,
    );
}

/// Adds context the event does not carry (asset owner, value, business system).
pub trait Enricher: Send + Sync + 'static {
    /// Adds fields to `doc` for `tenant`.
    fn enrich(&self, tenant: &str, doc: &mut serde_json::Map<String, serde_json::Value>);
}

/// No enrichment.
pub struct NoEnrichment;

impl Enricher for NoEnrichment {
    fn enrich(&self, _: &str, _: &mut serde_json::Map<String, serde_json::Value>) {}
}

/// Evaluates every event as it is indexed (known-threat detection), after enrichment. It may
/// add fields (threat-intelligence matches) before the event is stored.
pub trait Detector: Send + Sync + 'static {
    /// Looks at one event of `tenant`; `seq` is its write-ahead log sequence.
    fn inspect(
        &self,
        tenant: &str,
        seq: u64,
        time: DateTime<Utc>,
        doc: &mut serde_json::Map<String, serde_json::Value>,
    );

    /// Makes what was detected so far durable. Called before the log's checkpoint moves
    /// past the events inspected; an error keeps the checkpoint where it is (the detections
    /// stay pending and are retried), so nothing detected is lost to a crash.
    fn flush(&self) -> Result<(), String>;
}

/// No detection.
pub struct NoDetection;

impl Detector for NoDetection {
    fn inspect(
        &self,
        _: &str,
        _: u64,
        _: DateTime<Utc>,
        _: &mut serde_json::Map<String, serde_json::Value>,
    ) {
    }

    fn flush(&self) -> Result<(), String> {
        Ok(())
    }
}

/// The running pipeline.
#[derive(Clone)]
pub struct Pipeline {
    wal: WalHandle,
    store: Arc<EventStore>,
    /// Highest sequence number committed to the event store.
    indexed: Arc<std::sync::atomic::AtomicU64>,
}

impl Pipeline {
    /// Starts the pipeline on `data_dir` (`wal/` and `events/` under it), first replaying
    /// whatever the log holds beyond the store's checkpoint. A detector that blocks on async
    /// work needs this called outside the runtime's workers (`spawn_blocking`).
    pub fn start(
        data_dir: &Path,
        normaliser: Arc<dyn Normaliser>,
        enricher: Arc<dyn Enricher>,
        detector: Arc<dyn Detector>,
    ) -> std::io::Result<Pipeline> {
        let wal_dir = data_dir.join("wal");
        let store = Arc::new(
            EventStore::open(&data_dir.join("events"))
                .map_err(|e| std::io::Error::other(e.to_string()))?,
        );
        let checkpoint = wal::read_checkpoint(&wal_dir);
        let (replayed, next) = wal::replay(&wal_dir, checkpoint)?;
        let indexed = Arc::new(std::sync::atomic::AtomicU64::new(checkpoint));
        let mut indexer = Indexer {
            indexed: indexed.clone(),
            store: store.clone(),
            normaliser,
            enricher,
            detector,
            wal_dir: wal_dir.clone(),
            max_seq: checkpoint,
            failed_from: None,
        };
        if !replayed.is_empty() {
            tracing::info!(events = replayed.len(), "replaying the write-ahead log");
            indexer.index(replayed);
            indexer.commit();
        }
        let (tx, rx) = sync_channel(queue_len("YUNSHOU_INDEX_QUEUE", INDEX_QUEUE));
        let wal = wal::start(
            &wal_dir,
            next,
            queue_len("YUNSHOU_WAL_QUEUE", WAL_QUEUE),
            tx,
        )?;
        std::thread::Builder::new()
            .name("indexer".into())
            .spawn(move || indexer.run(rx))?;
        Ok(Pipeline {
            wal,
            store,
            indexed,
        })
    }

    /// Waits until everything up to `seq` is searchable (or `timeout` passes; false then).
    pub async fn wait_indexed(&self, seq: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.indexed.load(std::sync::atomic::Ordering::Acquire) < seq {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// The event store (for search).
    pub fn store(&self) -> &Arc<EventStore> {
        &self.store
    }

    /// Accepts records; resolves once they are durable. Refuses at once when the log is busy.
    pub async fn submit(&self, records: Vec<RawRecord>) -> Result<(u64, u64), wal::WalError> {
        count("received", &records);
        let (n, label) = (
            records.len() as u64,
            records.first().map(|r| source_label(&r.source)),
        );
        let r = self.wal.append(records).await;
        if let (Err(_), Some(label)) = (&r, label) {
            metrics::counter!("yunshou_ingest_events_total", "source" => label, "stage" => "dropped")
                .increment(n);
        }
        r
    }

    /// Accepts records, waiting while the log is busy (for sources that can pause).
    pub async fn submit_waiting(
        &self,
        records: Vec<RawRecord>,
    ) -> Result<(u64, u64), wal::WalError> {
        count("received", &records);
        self.wal.append_waiting(records).await
    }
}

/// A queue length from the environment (for tuning, and for tests that provoke overload),
/// else the default.
fn queue_len(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(default)
}

fn count(stage: &'static str, records: &[RawRecord]) {
    if let Some(first) = records.first() {
        metrics::counter!("yunshou_ingest_events_total", "source" => source_label(&first.source), "stage" => stage)
            .increment(records.len() as u64);
    }
}

/// Source names have bounded cardinality: `file:/path` counts as `file`.
fn source_label(source: &str) -> String {
    source.split(':').next().unwrap_or(source).to_string()
}

struct Indexer {
    indexed: Arc<std::sync::atomic::AtomicU64>,
    store: Arc<EventStore>,
    normaliser: Arc<dyn Normaliser>,
    enricher: Arc<dyn Enricher>,
    detector: Arc<dyn Detector>,
    wal_dir: PathBuf,
    max_seq: u64,
    /// The lowest sequence the store refused, if any: the checkpoint stays below it so the
    /// events are indexed again after a restart.
    failed_from: Option<u64>,
}

impl Indexer {
    fn run(mut self, rx: Receiver<Vec<(u64, RawRecord)>>) {
        let mut last_commit = Instant::now();
        let mut dirty = false;
        loop {
            match rx.recv_timeout(COMMIT_INTERVAL) {
                Ok(batch) => {
                    self.index(batch);
                    dirty = true;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    if dirty {
                        self.commit();
                    }
                    return;
                }
            }
            if dirty && last_commit.elapsed() >= COMMIT_INTERVAL {
                // A failed commit stays dirty and is tried again next interval.
                dirty = !self.commit();
                last_commit = Instant::now();
            }
        }
    }

    fn index(&mut self, batch: Vec<(u64, RawRecord)>) {
        let now = Utc::now();
        let mut by_tenant: std::collections::HashMap<String, Vec<NewEvent>> = Default::default();
        for (seq, rec) in batch {
            let (ts, mut doc) = self.normaliser.normalise(&rec, now);
            let received = DateTime::from_timestamp_micros(rec.received_us).unwrap_or(now);
            // A time the index cannot hold, or days ahead of its arrival (a wrong clock, or a
            // sender spraying far-future partitions), is replaced by the arrival time.
            let ts = match ts {
                Some(t)
                    if !yunshou_eventstore::storable_time(t)
                        || t > received + chrono::Duration::days(2) =>
                {
                    crate::normalise::push(&mut doc, "tags", "event_time_out_of_range");
                    None
                }
                other => other,
            };
            let event = doc
                .entry("event")
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
            if let Some(ev) = event.as_object_mut() {
                ev.insert("original".into(), rec.line.clone().into());
                ev.insert("ingested".into(), received.to_rfc3339().into());
                ev.entry("dataset").or_insert_with(|| "raw".into());
                ev.insert("module".into(), source_label(&rec.source).into());
            }
            if let Some(peer) = &rec.peer {
                doc.entry("observer")
                    .or_insert_with(|| serde_json::json!({}))
                    .as_object_mut()
                    .map(|o| o.insert("ip".into(), peer.clone().into()));
            }
            self.enricher.enrich(&rec.tenant, &mut doc);
            self.detector
                .inspect(&rec.tenant, seq, ts.unwrap_or(received), &mut doc);
            let parsed = ts.is_some();
            metrics::counter!("yunshou_ingest_events_total", "source" => source_label(&rec.source), "stage" => if parsed { "parsed" } else { "unparsed" }).increment(1);
            self.max_seq = self.max_seq.max(seq);
            by_tenant
                .entry(rec.tenant.clone())
                .or_default()
                .push(NewEvent {
                    seq,
                    ts: ts.unwrap_or(received),
                    doc,
                });
        }
        for (tenant, events) in by_tenant {
            if let Err(e) = self.store.add(&tenant, &events) {
                // The events stay in the log; they are indexed again after a restart.
                let low = events.iter().map(|e| e.seq).min().unwrap_or(0);
                self.failed_from = Some(self.failed_from.map_or(low, |f| f.min(low)));
                tracing::error!(tenant, error = %e, "indexing failed");
                metrics::counter!("yunshou_ingest_events_total", "source" => "indexer", "stage" => "failed").increment(events.len() as u64);
            }
        }
    }

    /// Commits the store and moves the checkpoint; false when something failed.
    fn commit(&mut self) -> bool {
        if let Err(e) = self.detector.flush() {
            // The checkpoint stays put: after a restart these events are inspected again.
            tracing::error!(error = %e, "recording detections failed");
            metrics::counter!("yunshou_detection_flush_failures_total").increment(1);
            return false;
        }
        match self.store.commit() {
            Ok(()) => {
                let upto = match self.failed_from {
                    Some(f) => self.max_seq.min(f.saturating_sub(1)),
                    None => self.max_seq,
                };
                if let Err(e) = wal::write_checkpoint(&self.wal_dir, upto) {
                    tracing::error!(error = %e, "moving the write-ahead log checkpoint failed");
                }
                self.indexed
                    .store(upto, std::sync::atomic::Ordering::Release);
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "committing the event store failed");
                false
            }
        }
    }
}
