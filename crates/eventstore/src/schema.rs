//! The index layout of one partition, and how an event becomes a tantivy document.
//!
//! - `ts` (date, fast): when the event happened; every search is bounded by it.
//! - `seq` (u64, fast): the write-ahead-log sequence number, for idempotent replay.
//! - `dataset` (keyword, fast): `event.dataset`.
//! - `message` (full text): the message, tokenised for free-text search.
//! - `f` (JSON): every other field, values as lower-cased keywords (exact match, wildcards by
//!   automaton), numbers as numbers (ranges), with a fast column per path (aggregations).
//! - `src_ip`, `dst_ip`, `host_ip` (IP, fast): for CIDR ranges.
//! - `doc` (stored only): the whole event as JSON, original included — what search returns.

use std::net::{IpAddr, Ipv6Addr};
use tantivy::schema::{
    DateOptions, DateTimePrecision, Field, IndexRecordOption, IpAddrOptions, JsonObjectOptions,
    NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST, STORED, STRING, TEXT,
};
use tantivy::tokenizer::{LowerCaser, RawTokenizer, TextAnalyzer};
use tantivy::{DateTime, Index, TantivyDocument};

/// Name of the keyword analyzer (whole value, lower-cased).
pub const KEYWORD: &str = "kw";

/// Handles to the schema's fields.
#[derive(Clone, Copy, Debug)]
pub struct Fields {
    /// Event time.
    pub ts: Field,
    /// WAL sequence.
    pub seq: Field,
    /// Dataset.
    pub dataset: Field,
    /// Message (full text).
    pub message: Field,
    /// Every other field.
    pub f: Field,
    /// `source.ip`.
    pub src_ip: Field,
    /// `destination.ip`.
    pub dst_ip: Field,
    /// `host.ip`.
    pub host_ip: Field,
    /// The stored event.
    pub doc: Field,
}

/// The schema and its fields.
pub fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let ts = b.add_date_field(
        "ts",
        DateOptions::default()
            .set_indexed()
            .set_fast()
            .set_precision(DateTimePrecision::Microseconds),
    );
    let seq = b.add_u64_field("seq", NumericOptions::default().set_fast().set_indexed());
    let dataset = b.add_text_field("dataset", STRING | FAST);
    let message = b.add_text_field("message", TEXT);
    let f = b.add_json_field(
        "f",
        JsonObjectOptions::default()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(KEYWORD)
                    .set_index_option(IndexRecordOption::Basic),
            )
            .set_fast(Some("raw")),
    );
    let ip = IpAddrOptions::default().set_indexed().set_fast();
    let src_ip = b.add_ip_addr_field("src_ip", ip.clone());
    let dst_ip = b.add_ip_addr_field("dst_ip", ip.clone());
    let host_ip = b.add_ip_addr_field("host_ip", ip);
    let doc = b.add_text_field("doc", TextOptions::default() | STORED);
    (
        b.build(),
        Fields {
            ts,
            seq,
            dataset,
            message,
            f,
            src_ip,
            dst_ip,
            host_ip,
            doc,
        },
    )
}

/// Registers the analyzers the schema names.
pub fn register_tokenizers(index: &Index) {
    index.tokenizers().register(
        KEYWORD,
        TextAnalyzer::builder(RawTokenizer::default())
            .filter(LowerCaser)
            .build(),
    );
}

/// An event to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Write-ahead-log sequence number (unique, increasing).
    pub seq: u64,
    /// When it happened.
    pub ts: chrono::DateTime<chrono::Utc>,
    /// The ECS document, `event.original` included.
    pub doc: serde_json::Map<String, serde_json::Value>,
}

/// Reads a dotted path (`source.ip`) from a nested document.
pub fn get_path<'a>(
    doc: &'a serde_json::Map<String, serde_json::Value>,
    path: &str,
) -> Option<&'a serde_json::Value> {
    let mut parts = path.split('.');
    let mut v = doc.get(parts.next()?)?;
    for p in parts {
        v = v.as_object()?.get(p)?;
    }
    Some(v)
}

fn ip_of(doc: &serde_json::Map<String, serde_json::Value>, path: &str) -> Option<Ipv6Addr> {
    let v = get_path(doc, path)?;
    let s = v.as_str().or_else(|| v.as_array()?.first()?.as_str())?;
    Some(match s.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    })
}

/// The tantivy document of an event.
pub fn document(fields: &Fields, e: &NewEvent) -> TantivyDocument {
    let mut d = TantivyDocument::new();
    d.add_date(
        fields.ts,
        DateTime::from_timestamp_micros(e.ts.timestamp_micros()),
    );
    d.add_u64(fields.seq, e.seq);
    if let Some(ds) = get_path(&e.doc, "event.dataset").and_then(|v| v.as_str()) {
        d.add_text(fields.dataset, ds);
    }
    let message = e
        .doc
        .get("message")
        .and_then(|v| v.as_str())
        .or_else(|| get_path(&e.doc, "event.original").and_then(|v| v.as_str()));
    if let Some(m) = message {
        d.add_text(fields.message, m);
    }
    // Every field but the message and the original, which the full-text field covers, and
    // the arrival time: unique per event, it would grow the term dictionary and the columns
    // by one entry per event for a field nobody filters on (it stays in the stored event).
    let mut rest = e.doc.clone();
    rest.remove("message");
    if let Some(serde_json::Value::Object(ev)) = rest.get_mut("event") {
        ev.remove("original");
        ev.remove("ingested");
    }
    let rest: serde_json::Value = rest.into();
    d.add_object(
        fields.f,
        match tantivy::schema::OwnedValue::from(rest) {
            tantivy::schema::OwnedValue::Object(o) => o.into_iter().collect(),
            _ => Default::default(),
        },
    );
    for (field, path) in [
        (fields.src_ip, "source.ip"),
        (fields.dst_ip, "destination.ip"),
        (fields.host_ip, "host.ip"),
    ] {
        if let Some(ip) = ip_of(&e.doc, path) {
            d.add_ip_addr(field, ip);
        }
    }
    let mut stored = e.doc.clone();
    stored.insert("@timestamp".into(), e.ts.to_rfc3339().into());
    d.add_text(fields.doc, serde_json::Value::Object(stored).to_string());
    d
}

/// The IP field that indexes a dotted path, if any.
pub fn ip_field(fields: &Fields, path: &str) -> Option<Field> {
    match path {
        "source.ip" => Some(fields.src_ip),
        "destination.ip" => Some(fields.dst_ip),
        "host.ip" => Some(fields.host_ip),
        _ => None,
    }
}
