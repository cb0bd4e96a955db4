//! CSV imports: MISP attribute CSV and plain indicator lists. Columns are
//! found by header name, so extra or reordered columns are fine.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use crate::import::{ImportError, ImportReport};
use crate::misp::{attribute_values, truthy};
use crate::{Indicator, IndicatorKind};

fn open(bytes: &[u8], comments: bool) -> Result<(csv::Reader<&[u8]>, Vec<String>), ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .comment(comments.then_some(b'#'))
        .from_reader(bytes);
    let columns = reader
        .headers()
        .map_err(|e| ImportError::Csv(e.to_string()))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    Ok((reader, columns))
}

fn col(columns: &[String], names: &[&str]) -> Option<usize> {
    names
        .iter()
        .find_map(|n| columns.iter().position(|c| c == n))
}

fn line_of(r: &csv::StringRecord) -> String {
    r.position()
        .map_or_else(|| "line ?".into(), |p| format!("line {}", p.line()))
}

fn field(r: &csv::StringRecord, i: Option<usize>) -> Option<&str> {
    i.and_then(|i| r.get(i)).filter(|s| !s.is_empty())
}

/// MISP attribute CSV (`/events/csv/download`, CSV feeds).
pub(crate) fn import_misp(
    bytes: &[u8],
    source: &str,
    now: DateTime<Utc>,
) -> Result<ImportReport, ImportError> {
    let (mut reader, columns) = open(bytes, false)?;
    let (Some(ty), Some(val)) = (col(&columns, &["type"]), col(&columns, &["value"])) else {
        return Err(ImportError::Csv(
            "MISP CSV header needs \"type\" and \"value\" columns".into(),
        ));
    };
    let uuid = col(&columns, &["uuid"]);
    let comment = col(&columns, &["comment"]);
    let to_ids = col(&columns, &["to_ids"]);
    let tags = col(&columns, &["attribute_tag", "tags"]);
    let source: Arc<str> = Arc::from(source);
    let mut report = ImportReport::default();
    for rec in reader.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                report.reject(csv_location(&e), e.to_string());
                continue;
            }
        };
        let loc = line_of(&rec);
        let (Some(kind), Some(value)) = (field(&rec, Some(ty)), field(&rec, Some(val))) else {
            report.reject(loc, "empty type or value");
            continue;
        };
        let Some(values) = attribute_values(kind, value) else {
            report.skipped_unsupported += 1;
            continue;
        };
        let ids = field(&rec, to_ids).map(|s| Value::String(s.to_owned()));
        if truthy(ids.as_ref()) == Some(false) {
            report.skipped.not_for_detection += 1;
            continue;
        }
        let labels: Vec<String> = field(&rec, tags)
            .map(|t| {
                t.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        for (k, v) in values {
            match Indicator::new(k, &v, source.clone()) {
                Ok(mut ind) => {
                    ind.labels.clone_from(&labels);
                    ind.description = field(&rec, comment).map(str::to_owned);
                    ind.external_id = field(&rec, uuid).map(str::to_owned);
                    report.take(ind, now);
                }
                Err(e) => report.reject(loc.clone(), format!("{kind}: {e}")),
            }
        }
    }
    Ok(report)
}

fn csv_location(e: &csv::Error) -> String {
    e.position()
        .map_or_else(|| "line ?".into(), |p| format!("line {}", p.line()))
}

/// Plain CSV: `value` (or `indicator`) plus optional `type`, `confidence`,
/// `expires`, `description`, `tags`. Lines starting with `#` are comments.
pub(crate) fn import_plain(
    bytes: &[u8],
    source: &str,
    now: DateTime<Utc>,
) -> Result<ImportReport, ImportError> {
    let (mut reader, columns) = open(bytes, true)?;
    let Some(val) = col(&columns, &["value", "indicator"]) else {
        return Err(ImportError::Csv(format!(
            "header has no \"value\" or \"indicator\" column (got {:?}); a header line is required",
            columns.join(",")
        )));
    };
    let ty = col(&columns, &["type"]);
    let conf = col(&columns, &["confidence"]);
    let expires = col(&columns, &["expires", "valid_until"]);
    let desc = col(&columns, &["description"]);
    let tags = col(&columns, &["tags", "labels"]);
    let source: Arc<str> = Arc::from(source);
    let mut report = ImportReport::default();
    for rec in reader.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                report.reject(csv_location(&e), e.to_string());
                continue;
            }
        };
        let loc = line_of(&rec);
        match plain_row(&rec, val, [ty, conf, expires, desc, tags], &source) {
            Ok(ind) => report.take(ind, now),
            Err(e) => report.reject(loc, e),
        }
    }
    Ok(report)
}

fn plain_row(
    rec: &csv::StringRecord,
    val: usize,
    [ty, conf, expires, desc, tags]: [Option<usize>; 5],
    source: &Arc<str>,
) -> Result<Indicator, String> {
    let value = field(rec, Some(val)).ok_or("empty value")?;
    let kind = match field(rec, ty) {
        Some(t) => IndicatorKind::from_name(t).ok_or_else(|| format!("unknown type {t:?}"))?,
        None => IndicatorKind::infer(value)
            .ok_or_else(|| format!("cannot tell what {value:?} is (add a type column)"))?,
    };
    let mut ind = Indicator::new(kind, value, source.clone())?;
    if let Some(c) = field(rec, conf) {
        ind.confidence = Some(
            c.parse::<u8>()
                .ok()
                .filter(|c| *c <= 100)
                .ok_or_else(|| format!("confidence {c:?} is not 0–100"))?,
        );
    }
    if let Some(e) = field(rec, expires) {
        ind.valid_until = Some(parse_expiry(e)?);
    }
    ind.description = field(rec, desc).map(str::to_owned);
    if let Some(t) = field(rec, tags) {
        ind.labels = t
            .split(';')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
    }
    Ok(ind)
}

/// RFC 3339, or a date meaning "valid through that day" (until 23:59:59 UTC).
pub(crate) fn parse_expiry(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("expires {s:?} is neither RFC 3339 nor YYYY-MM-DD"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_formats() {
        assert_eq!(
            parse_expiry("2030-01-02").unwrap().to_rfc3339(),
            "2030-01-02T23:59:59+00:00"
        );
        assert_eq!(
            parse_expiry("2030-01-02T03:04:05+08:00")
                .unwrap()
                .to_rfc3339(),
            "2030-01-01T19:04:05+00:00"
        );
        assert!(parse_expiry("02/01/2030").is_err());
    }
}
