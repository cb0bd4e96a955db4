//! The event store (MO.1.d, MO.4.d): every event the pipeline accepts, kept per tenant and
//! day in its own tantivy index (a *partition*), searchable by the language in [`query`],
//! countable by field and time, sealed when its day is over, and deleted when the tenant's
//! retention has passed.
//!
//! Layout under the store's root: `<tenant>/<YYYY-MM-DD>/` (one tantivy index each) and
//! `<tenant>/manifest.jsonl` (the seal chain, see [`seal`]).
//!
//! Writes are idempotent per WAL sequence number: each partition's commit records the highest
//! sequence it holds, and [`EventStore::add`] skips what a partition already has, so the
//! ingest pipeline can replay its log after a crash without duplicating events.

pub mod query;
pub mod schema;
pub mod seal;
mod search;

pub use schema::NewEvent;
pub use search::{Aggregation, Bucket, SearchHit, SearchPage};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use schema::Fields;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tantivy::directory::MmapDirectory;
use tantivy::{Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy};

/// What can go wrong in the event store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The search could not be understood.
    #[error(transparent)]
    Query(#[from] query::ParseError),
    /// Invalid input; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// The index failed.
    #[error("index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The day is sealed; nothing more is written to it.
    #[error("partition {0} is sealed")]
    Sealed(String),
}

/// Result with the event store's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether the index can hold `t`: tantivy keeps nanoseconds in an i64, so years past 2262
/// overflow; years 1900–2199 are what logs mean.
pub fn storable_time(t: DateTime<Utc>) -> bool {
    (1900..2200).contains(&t.year())
}

/// Parses `2026-11-25T06:16:01Z`, `2026-11-25T06:16:01+08:00` or `2026-11-25` (midnight UTC);
/// `None` also for times outside [`storable_time`].
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let t = match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)?
            .and_utc(),
    };
    storable_time(t).then_some(t)
}

/// What a partition's last commit recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CommitMark {
    /// Highest WAL sequence held.
    pub max_seq: u64,
    /// Earliest event time held (µs since the epoch); `i64::MAX` when empty.
    pub min_ts: i64,
    /// Latest event time held (µs).
    pub max_ts: i64,
    /// Events held.
    pub count: u64,
}

struct Partition {
    index: Index,
    reader: IndexReader,
    writer: Mutex<Option<IndexWriter>>,
    /// Mark as of the last commit, and as pending.
    committed: Mutex<CommitMark>,
    pending: Mutex<Option<CommitMark>>,
}

/// The key of a partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionKey {
    /// Tenant id.
    pub tenant: String,
    /// Day (UTC).
    pub day: NaiveDate,
}

impl PartitionKey {
    fn dir(&self, root: &Path) -> PathBuf {
        root.join(&self.tenant)
            .join(self.day.format("%Y-%m-%d").to_string())
    }
}

/// The store.
pub struct EventStore {
    root: PathBuf,
    schema: tantivy::schema::Schema,
    fields: Fields,
    open: Mutex<HashMap<PartitionKey, Arc<Partition>>>,
    /// Memory for each partition writer, bytes.
    writer_memory: usize,
    /// Adding events and sealing or retiring days exclude each other: an event added between
    /// a seal's commit and the moment it closes the day would otherwise be dropped with the
    /// day's writer while the log's checkpoint moved past it.
    pub(crate) gate: Mutex<()>,
}

fn valid_tenant(tenant: &str) -> Result<()> {
    if tenant.is_empty()
        || tenant.len() > 64
        || !tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(Error::Invalid(format!(
            "tenant: `{tenant}` is not a tenant id"
        )));
    }
    Ok(())
}

impl EventStore {
    /// Opens (creating) the store under `root`.
    pub fn open(root: &Path) -> Result<EventStore> {
        std::fs::create_dir_all(root)?;
        let (schema, fields) = schema::schema();
        Ok(EventStore {
            root: root.to_path_buf(),
            schema,
            fields,
            open: Mutex::new(HashMap::new()),
            writer_memory: 32 << 20,
            gate: Mutex::new(()),
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn partition(&self, key: &PartitionKey, create: bool) -> Result<Option<Arc<Partition>>> {
        valid_tenant(&key.tenant)?;
        let mut open = self.open.lock().expect("partition map");
        if let Some(p) = open.get(key) {
            return Ok(Some(p.clone()));
        }
        let dir = key.dir(&self.root);
        let exists = dir.join("meta.json").exists();
        if !exists && !create {
            return Ok(None);
        }
        if !exists && seal::is_sealed(&self.root, key)? {
            return Err(Error::Sealed(format!("{}/{}", key.tenant, key.day)));
        }
        std::fs::create_dir_all(&dir)?;
        let mmap = MmapDirectory::open(&dir)
            .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
        let index = if exists {
            Index::open(mmap)?
        } else {
            // Events are read a page at a time and kept for months: bigger blocks trade a
            // little read time for less disk. zstd's default level: level 9 saved only ~3 %
            // more disk for ~6 % of the ingest rate (docs/benchmarks.md).
            let settings = IndexSettings {
                docstore_compression: tantivy::store::Compressor::Zstd(Default::default()),
                docstore_blocksize: 256 * 1024,
                ..Default::default()
            };
            Index::builder()
                .schema(self.schema.clone())
                .settings(settings)
                .open_or_create(mmap)?
        };
        schema::register_tokenizers(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let mark = index
            .load_metas()?
            .payload
            .and_then(|p| serde_json::from_str::<CommitMark>(&p).ok())
            .unwrap_or(CommitMark {
                min_ts: i64::MAX,
                ..Default::default()
            });
        let p = Arc::new(Partition {
            index,
            reader,
            writer: Mutex::new(None),
            committed: Mutex::new(mark),
            pending: Mutex::new(None),
        });
        open.insert(key.clone(), p.clone());
        Ok(Some(p))
    }

    /// Adds events to the tenant's partitions (by event day). Events whose sequence number a
    /// partition already holds are skipped. Nothing is searchable before [`Self::commit`].
    pub fn add(&self, tenant: &str, events: &[NewEvent]) -> Result<usize> {
        valid_tenant(tenant)?;
        if let Some(e) = events.iter().find(|e| !storable_time(e.ts)) {
            return Err(Error::Invalid(format!(
                "event {}: time {} is outside the years 1900–2199",
                e.seq, e.ts
            )));
        }
        let _gate = self.gate.lock().expect("gate");
        // A late event for a day already sealed goes to today's partition, which is searched
        // by the time span it records.
        let closed = seal::last_closed_day(&self.root, tenant)?;
        let today = Utc::now().date_naive();
        let mut by_day: HashMap<NaiveDate, Vec<&NewEvent>> = HashMap::new();
        for e in events {
            let day = e.ts.date_naive();
            let day = if closed.is_some_and(|c| day <= c) {
                today
            } else {
                day
            };
            by_day.entry(day).or_default().push(e);
        }
        let mut added = 0;
        for (day, events) in by_day {
            let key = PartitionKey {
                tenant: tenant.to_string(),
                day,
            };
            let p = self.partition(&key, true)?.expect("created");
            let mut writer = p.writer.lock().expect("writer");
            if writer.is_none() {
                *writer = Some(p.index.writer_with_num_threads(1, self.writer_memory)?);
            }
            let w = writer.as_mut().expect("opened");
            let committed = *p.committed.lock().expect("mark");
            let mut pending = p.pending.lock().expect("pending");
            let mark = pending.get_or_insert(committed);
            for e in events {
                if e.seq <= committed.max_seq && committed.count > 0 {
                    continue;
                }
                w.add_document(schema::document(&self.fields, e))?;
                let us = e.ts.timestamp_micros();
                mark.max_seq = mark.max_seq.max(e.seq);
                mark.min_ts = mark.min_ts.min(us);
                mark.max_ts = mark.max_ts.max(us);
                mark.count += 1;
                added += 1;
            }
        }
        Ok(added)
    }

    /// Makes everything added durable and searchable. Returns the highest sequence number now
    /// committed everywhere it was added (the WAL may drop what is at or below it).
    pub fn commit(&self) -> Result<()> {
        let parts: Vec<Arc<Partition>> = self.open.lock().expect("map").values().cloned().collect();
        for p in parts {
            let Some(mark) = p.pending.lock().expect("pending").take() else {
                continue;
            };
            let mut writer = p.writer.lock().expect("writer");
            if let Some(w) = writer.as_mut() {
                let mut prepared = w.prepare_commit()?;
                prepared.set_payload(&serde_json::to_string(&mark).expect("mark serialises"));
                prepared.commit()?;
                *p.committed.lock().expect("mark") = mark;
                p.reader.reload()?;
            }
        }
        Ok(())
    }

    /// The tenant's partitions on disk, oldest first.
    pub fn partitions(&self, tenant: &str) -> Result<Vec<NaiveDate>> {
        valid_tenant(tenant)?;
        let dir = self.root.join(tenant);
        let mut days = Vec::new();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(days);
        };
        for e in entries {
            let e = e?;
            if let Some(day) = e
                .file_name()
                .to_str()
                .and_then(|n| NaiveDate::parse_from_str(n, "%Y-%m-%d").ok())
            {
                if e.path().join("meta.json").exists() {
                    days.push(day);
                }
            }
        }
        days.sort();
        Ok(days)
    }

    /// Partitions that may hold events between `from` and `to`: by their recorded time span
    /// (late events land in the partition of the day they arrived in, not the day they say).
    fn covering(
        &self,
        tenant: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(NaiveDate, Arc<Partition>)>> {
        let mut out = Vec::new();
        for day in self.partitions(tenant)? {
            let key = PartitionKey {
                tenant: tenant.into(),
                day,
            };
            let Some(p) = self.partition(&key, false)? else {
                continue;
            };
            let mark = *p.committed.lock().expect("mark");
            if mark.count == 0
                || mark.max_ts < from.timestamp_micros()
                || mark.min_ts > to.timestamp_micros()
            {
                continue;
            }
            out.push((day, p));
        }
        out.reverse();
        Ok(out)
    }

    /// Closes the writers of partitions of days before `today` (they are not written again
    /// except by late events, which reopen them).
    pub fn close_writers_before(&self, today: NaiveDate) -> Result<()> {
        self.commit()?;
        let parts: Vec<(PartitionKey, Arc<Partition>)> = self
            .open
            .lock()
            .expect("map")
            .iter()
            .map(|(k, p)| (k.clone(), p.clone()))
            .collect();
        for (k, p) in parts {
            if k.day < today {
                if let Some(w) = p.writer.lock().expect("writer").take() {
                    w.wait_merging_threads()?;
                }
            }
        }
        Ok(())
    }

    /// Forgets an open partition (before its files are sealed or removed).
    fn forget(&self, key: &PartitionKey) -> Result<()> {
        let p = self.open.lock().expect("map").remove(key);
        if let Some(p) = p {
            if let Some(w) = p.writer.lock().expect("writer").take() {
                w.wait_merging_threads()?;
            }
        }
        Ok(())
    }

    /// Bytes on disk for a tenant (all partitions).
    pub fn disk_bytes(&self, tenant: &str) -> Result<u64> {
        fn walk(p: &Path) -> std::io::Result<u64> {
            let mut n = 0;
            for e in std::fs::read_dir(p)? {
                let e = e?;
                let m = e.metadata()?;
                n += if m.is_dir() {
                    walk(&e.path())?
                } else {
                    m.len()
                };
            }
            Ok(n)
        }
        let dir = self.root.join(tenant);
        Ok(if dir.exists() { walk(&dir)? } else { 0 })
    }
}
