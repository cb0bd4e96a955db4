//! The event pipeline's intake (MO.1, MO.2.a): sources hand raw lines to the
//! [`pipeline::Pipeline`], which makes them durable in the write-ahead log ([`wal`]) before
//! acknowledging, then parses, enriches and indexes them into the event store.
//!
//! ```text
//! syslog UDP/TCP ─┐                               ┌─ parse (yunshou-parse)
//! HTTP /ingest ───┤                               │
//! NetFlow/IPFIX ──┼─► WAL (group commit, fsync) ──┤  enrich (asset ledger)
//! files ──────────┘      │ acknowledge            └─ event store (tantivy) ─► checkpoint
//! ```

pub mod evtx;
pub mod files;
pub mod netflow;
pub mod normalise;
pub mod pipeline;
pub mod syslog;
pub mod wal;

pub use pipeline::{Detector, Enricher, NoDetection, NoEnrichment, Normaliser, Pipeline};
pub use wal::{RawRecord, WalError};
