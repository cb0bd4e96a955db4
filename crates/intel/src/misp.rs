//! MISP event JSON import (feed event files, API responses), and the
//! attribute-type mapping the MISP CSV importer shares.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::import::{parse_json, ImportError, ImportReport};
use crate::{Indicator, IndicatorKind};

/// The values a MISP attribute type yields, or `None` for types not matched
/// (`link`, `uri` — a path without host —, `email-src`, `regkey`, `text`…).
pub(crate) fn attribute_values(kind: &str, value: &str) -> Option<Vec<(IndicatorKind, String)>> {
    let first = || value.split('|').next().unwrap_or("").to_owned();
    let second = || value.split_once('|').map_or("", |x| x.1).to_owned();
    use IndicatorKind::*;
    Some(match kind {
        // The IP hint is refined to IPv6 or CIDR by the value.
        "ip-src" | "ip-dst" => vec![(Ipv4, value.to_owned())],
        "ip-src|port" | "ip-dst|port" => vec![(Ipv4, first())],
        "domain" | "hostname" => vec![(Domain, value.to_owned())],
        "hostname|port" => vec![(Domain, first())],
        "domain|ip" => vec![(Domain, first()), (Ipv4, second())],
        "url" => vec![(Url, value.to_owned())],
        "md5" => vec![(Md5, value.to_owned())],
        "sha1" => vec![(Sha1, value.to_owned())],
        "sha256" => vec![(Sha256, value.to_owned())],
        "sm3" => vec![(Sm3, value.to_owned())],
        "filename|md5" => vec![(Md5, second())],
        "filename|sha1" => vec![(Sha1, second())],
        "filename|sha256" => vec![(Sha256, second())],
        _ => return None,
    })
}

/// MISP booleans arrive as `true`, `"1"`, `1` or `"True"` depending on the exporter.
pub(crate) fn truthy(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => Some(n.as_u64() != Some(0)),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "1" | "true" => Some(true),
            "0" | "false" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Confidence from the `misp:confidence-level` taxonomy tag, if present.
fn tag_confidence(tags: &[String]) -> Option<Option<u8>> {
    tags.iter().find_map(|t| {
        let level = t.strip_prefix("misp:confidence-level=")?.trim_matches('"');
        Some(match level {
            "completely-confident" => Some(100),
            "usually-confident" => Some(75),
            "fairly-confident" => Some(50),
            "rarely-confident" => Some(25),
            "unconfident" => Some(0),
            _ => None,
        })
    })
}

fn tags(v: &Value) -> Vec<String> {
    v.get("Tag")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| t.get("name").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn import(
    bytes: &[u8],
    source: &str,
    now: DateTime<Utc>,
) -> Result<ImportReport, ImportError> {
    let doc = parse_json(bytes)?;
    let shape = || {
        ImportError::Shape(
            "expected a MISP event ({\"Event\":…}), an array of them, or {\"response\":[…]}".into(),
        )
    };
    let wrapped: Vec<&Value> = match &doc {
        Value::Object(o) if o.contains_key("Event") => vec![&doc],
        Value::Object(o) => o
            .get("response")
            .and_then(Value::as_array)
            .ok_or_else(shape)?
            .iter()
            .collect(),
        Value::Array(a) => a.iter().collect(),
        _ => return Err(shape()),
    };
    let source: Arc<str> = Arc::from(source);
    let mut report = ImportReport::default();
    for (i, w) in wrapped.into_iter().enumerate() {
        match w.get("Event").filter(|e| e.is_object()) {
            Some(ev) => event(ev, &source, now, &mut report),
            None => report.reject(format!("event[{i}]"), "no \"Event\" object"),
        }
    }
    Ok(report)
}

fn event(ev: &Value, source: &Arc<str>, now: DateTime<Utc>, report: &mut ImportReport) {
    let event_tags = tags(ev);
    let threat_level = match ev.get("threat_level_id") {
        Some(Value::String(s)) => s.parse().ok(),
        Some(v) => v.as_u64(),
        None => None,
    };
    let confidence = tag_confidence(&event_tags).unwrap_or(match threat_level {
        Some(1) => Some(90),
        Some(2) => Some(60),
        Some(3) => Some(30),
        _ => None,
    });
    let info = ev.get("info").and_then(Value::as_str).map(str::to_owned);
    let uuid = ev.get("uuid").and_then(Value::as_str).unwrap_or("?");
    let ctx = EventCtx {
        source,
        now,
        confidence,
        info,
        tags: event_tags,
    };
    let direct = ev.get("Attribute").and_then(Value::as_array);
    let in_objects = ev
        .get("Object")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| o.get("Attribute").and_then(Value::as_array))
        .flatten();
    for (i, a) in direct.into_iter().flatten().chain(in_objects).enumerate() {
        let loc = a.get("uuid").and_then(Value::as_str).map_or_else(
            || format!("event {uuid} attribute[{i}]"),
            |u| format!("attribute {u}"),
        );
        ctx.attribute(a, &loc, report);
    }
}

struct EventCtx<'a> {
    source: &'a Arc<str>,
    now: DateTime<Utc>,
    confidence: Option<u8>,
    info: Option<String>,
    tags: Vec<String>,
}

impl EventCtx<'_> {
    fn attribute(&self, a: &Value, loc: &str, report: &mut ImportReport) {
        if truthy(a.get("deleted")) == Some(true) {
            report.skipped.revoked += 1;
            return;
        }
        let (Some(kind), Some(value)) = (
            a.get("type").and_then(Value::as_str),
            a.get("value").and_then(Value::as_str),
        ) else {
            report.reject(loc, "attribute without string \"type\" and \"value\"");
            return;
        };
        let Some(values) = attribute_values(kind, value) else {
            report.skipped_unsupported += 1;
            return;
        };
        if truthy(a.get("to_ids")) == Some(false) {
            report.skipped.not_for_detection += 1;
            return;
        }
        let attr_tags = tags(a);
        let confidence = tag_confidence(&attr_tags).unwrap_or(self.confidence);
        let mut labels: Vec<String> = self.tags.iter().chain(&attr_tags).cloned().collect();
        labels.sort();
        labels.dedup();
        let comment = a
            .get("comment")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty());
        let description = match (&self.info, comment) {
            (Some(i), Some(c)) => Some(format!("{i} — {c}")),
            (i, c) => i.clone().or(c.map(str::to_owned)),
        };
        let ext = a.get("uuid").and_then(Value::as_str).map(str::to_owned);
        for (k, v) in values {
            match Indicator::new(k, &v, self.source.clone()) {
                Ok(mut ind) => {
                    ind.confidence = confidence;
                    ind.labels.clone_from(&labels);
                    ind.description.clone_from(&description);
                    ind.external_id.clone_from(&ext);
                    report.take(ind, self.now);
                }
                Err(e) => report.reject(loc, format!("{kind}: {e}")),
            }
        }
    }
}
