//! The pipeline's parsing step: a raw record becomes an ECS document.

use crate::{Normaliser, RawRecord};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Parses JSON documents (keeping their fields, `@timestamp` recognised) and keeps any
/// other line as a raw event with its `message`.
pub struct Parsers;

fn json_time(doc: &Map<String, Value>) -> Option<DateTime<Utc>> {
    ["@timestamp", "timestamp", "time"]
        .iter()
        .find_map(|k| doc.get(*k)?.as_str())
        .and_then(yunshou_eventstore::parse_time)
}

impl Normaliser for Parsers {
    fn normalise(
        &self,
        record: &RawRecord,
        _now: DateTime<Utc>,
    ) -> (Option<DateTime<Utc>>, Map<String, Value>) {
        let line = record.line.trim_start();
        if record.format != "raw" && line.starts_with('{') {
            if let Ok(Value::Object(mut doc)) = serde_json::from_str::<Value>(line) {
                let ts = json_time(&doc);
                doc.remove("@timestamp");
                let event = doc
                    .entry("event")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(ev) = event.as_object_mut() {
                    ev.entry("dataset").or_insert_with(|| "json".into());
                }
                return (ts, doc);
            }
        }
        let mut doc = Map::new();
        doc.insert("message".into(), record.line.clone().into());
        doc.insert("event".into(), serde_json::json!({"dataset": "raw"}));
        (None, doc)
    }
}
