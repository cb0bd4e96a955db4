//! STIX 2.1 import: `indicator` objects of a bundle (or one bare indicator).
//! Other SDOs/SROs (identity, malware, relationship…) are context, not
//! indicators, and are passed over without comment.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::import::{parse_json, ImportError, ImportReport};
use crate::stix_pattern::split;
use crate::{Indicator, IndicatorKind};

pub(crate) fn import(
    bytes: &[u8],
    source: &str,
    now: DateTime<Utc>,
) -> Result<ImportReport, ImportError> {
    let doc = parse_json(bytes)?;
    let objects: Vec<&Value> = match doc.get("type").and_then(Value::as_str) {
        Some("bundle") => doc
            .get("objects")
            .and_then(Value::as_array)
            .ok_or_else(|| ImportError::Shape("STIX bundle without an \"objects\" array".into()))?
            .iter()
            .collect(),
        Some("indicator") => vec![&doc],
        _ => return Err(ImportError::Shape(
            "expected a STIX bundle ({\"type\":\"bundle\",\"objects\":[…]}) or an indicator object"
                .into(),
        )),
    };
    let source: Arc<str> = Arc::from(source);
    let mut report = ImportReport::default();
    for (i, obj) in objects.into_iter().enumerate() {
        let loc = obj
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| format!("objects[{i}]"), str::to_owned);
        if !obj.is_object() {
            report.reject(loc, "not a JSON object");
            continue;
        }
        if obj.get("type").and_then(Value::as_str) != Some("indicator") {
            continue;
        }
        if let Err(reason) = indicator(obj, &loc, &source, now, &mut report) {
            report.reject(loc, reason);
        }
    }
    Ok(report)
}

fn time(obj: &Value, key: &str) -> Result<Option<DateTime<Utc>>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| format!("{key} {s:?}: {e}")),
        Some(v) => Err(format!("{key} is not a timestamp: {v}")),
    }
}

fn strings(obj: &Value, key: &str) -> Vec<String> {
    obj.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// One indicator object; `Err` rejects the whole object with the reason.
fn indicator(
    obj: &Value,
    loc: &str,
    source: &Arc<str>,
    now: DateTime<Utc>,
    report: &mut ImportReport,
) -> Result<(), String> {
    if obj.get("revoked").and_then(Value::as_bool) == Some(true) {
        report.skipped.revoked += 1;
        return Ok(());
    }
    // STIX 2.0 indicators have no pattern_type; their patterns are STIX.
    let pattern_type = obj
        .get("pattern_type")
        .and_then(Value::as_str)
        .unwrap_or("stix");
    if pattern_type != "stix" {
        report.skipped_unsupported += 1;
        report.reject(loc, format!("unsupported: pattern_type {pattern_type:?}"));
        return Ok(());
    }
    let pattern = obj
        .get("pattern")
        .and_then(Value::as_str)
        .ok_or("no \"pattern\" string")?;
    let parts = split(pattern).map_err(|e| format!("bad STIX pattern: {e}"))?;
    let valid_from = time(obj, "valid_from")?;
    let valid_until = time(obj, "valid_until")?;
    let confidence = match obj.get("confidence") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|c| *c <= 100)
                .ok_or_else(|| format!("confidence {v} is not 0–100"))? as u8,
        ),
    };
    let mut labels = strings(obj, "labels");
    labels.extend(strings(obj, "indicator_types"));
    labels.sort();
    labels.dedup();
    let name = obj.get("name").and_then(Value::as_str);
    let desc = obj.get("description").and_then(Value::as_str);
    let description = match (name, desc) {
        (Some(n), Some(d)) => Some(format!("{n}: {d}")),
        (n, d) => n.or(d).map(str::to_owned),
    };
    for reason in parts.unsupported {
        report.skipped_unsupported += 1;
        report.reject(loc, format!("unsupported: {reason}"));
    }
    for (kind, value) in parts.atoms {
        match Indicator::new(kind, &value, source.clone()) {
            Ok(mut ind) if family_ok(kind, &ind) => {
                ind.confidence = confidence;
                ind.valid_from = valid_from;
                ind.valid_until = valid_until;
                ind.labels.clone_from(&labels);
                ind.description.clone_from(&description);
                ind.external_id = Some(loc.to_owned());
                report.take(ind, now);
            }
            Ok(ind) => report.reject(
                loc,
                format!("{value:?} is not a {kind} value (got {})", ind.kind),
            ),
            Err(e) => report.reject(loc, e),
        }
    }
    Ok(())
}

/// `ipv4-addr:value` must hold IPv4 (address or network). `ipv6-addr` may
/// normalise to IPv4 when it is IPv4-mapped (`::ffff:a.b.c.d`).
fn family_ok(path_kind: IndicatorKind, ind: &Indicator) -> bool {
    use IndicatorKind::{Cidr, Ipv4, Ipv6};
    match (path_kind, ind.kind) {
        (Ipv4, k) => !ind.value.contains(':') && matches!(k, Ipv4 | Cidr),
        (Ipv6, k) => matches!(k, Ipv4 | Ipv6 | Cidr),
        (a, b) => a == b,
    }
}
