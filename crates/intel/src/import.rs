//! The shared shape of every importer: a report of what was taken, what was
//! refused and why, and format detection.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Indicator;

/// A feed format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// STIX 2.1 bundle or single indicator object.
    Stix,
    /// MISP event JSON (one event, an array, or a `response` wrapper).
    MispJson,
    /// MISP attribute CSV (`uuid,event_id,category,type,value,…`).
    MispCsv,
    /// Plain CSV with a `value` (or `indicator`) column.
    Csv,
}

/// One entry that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// Where: `line 7`, or a STIX id / MISP uuid.
    pub location: String,
    /// Why, in words an analyst can act on.
    pub reason: String,
}

/// Entries deliberately left out (not errors, but counted so nothing vanishes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// STIX `revoked: true`, MISP `deleted: true`.
    pub revoked: usize,
    /// MISP `to_ids: false`: context, not for detection.
    pub not_for_detection: usize,
    /// `valid_until` already past at import time.
    pub expired: usize,
}

/// What an import produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportReport {
    /// The indicators taken.
    pub indicators: Vec<Indicator>,
    /// Entries refused, with location and reason (bad values, unsupported patterns).
    pub rejected: Vec<Rejected>,
    /// Entries of a kind this crate does not match (STIX `AND`/`FOLLOWEDBY`/
    /// qualifiers/other operators or object types, non-STIX pattern types,
    /// MISP attribute types such as `email-src`). STIX ones also appear in
    /// `rejected` with the reason; MISP ones are only counted (events carry
    /// many context attributes — a line each would drown real errors).
    pub skipped_unsupported: usize,
    /// Entries left out on purpose.
    pub skipped: Skipped,
}

impl ImportReport {
    pub(crate) fn reject(&mut self, location: impl Into<String>, reason: impl Into<String>) {
        self.rejected.push(Rejected {
            location: location.into(),
            reason: reason.into(),
        });
    }

    /// Keeps the indicator unless it has already expired.
    pub(crate) fn take(&mut self, ind: Indicator, now: DateTime<Utc>) {
        if ind.valid_until.is_some_and(|u| u < now) {
            self.skipped.expired += 1;
        } else {
            self.indicators.push(ind);
        }
    }
}

/// A file that cannot be read as a whole: nothing was imported.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    /// Not JSON at all.
    #[error("not valid JSON: {0}")]
    Json(String),
    /// JSON of the wrong shape for the format.
    #[error("unexpected document shape: {0}")]
    Shape(String),
    /// CSV without a usable header, or unreadable CSV.
    #[error("CSV: {0}")]
    Csv(String),
    /// The bytes are not UTF-8 text.
    #[error("not UTF-8 text")]
    NotText,
}

/// Guesses the format from the first bytes: JSON with MISP's `"Event"` key is
/// MISP; other JSON is STIX (the STIX importer then checks its shape); CSV
/// whose header has `type`, `value` and a MISP column (`uuid`, `event_id`,
/// `category`, `to_ids`) is MISP CSV; other text is plain CSV. `None` for
/// empty input.
pub fn detect_format(bytes: &[u8]) -> Option<Format> {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let text = &text[start..];
    if matches!(text[0], b'{' | b'[') {
        let head = &text[..text.len().min(64 * 1024)];
        let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
        return Some(if has(b"\"Event\"") {
            Format::MispJson
        } else {
            Format::Stix
        });
    }
    let line_end = text.iter().position(|&b| b == b'\n').unwrap_or(text.len());
    let header = String::from_utf8_lossy(&text[..line_end]).to_ascii_lowercase();
    let cols: Vec<&str> = header
        .split(',')
        .map(|c| c.trim().trim_matches('"'))
        .collect();
    let has = |c: &str| cols.contains(&c);
    let misp = ["uuid", "event_id", "category", "to_ids"]
        .iter()
        .any(|c| has(c));
    Some(if has("type") && has("value") && misp {
        Format::MispCsv
    } else {
        Format::Csv
    })
}

/// Imports a feed. `source` names the feed on every indicator; `now` decides
/// which indicators have already expired (counted in `skipped.expired`).
pub fn import(
    bytes: &[u8],
    format: Format,
    source: &str,
    now: DateTime<Utc>,
) -> Result<ImportReport, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match format {
        Format::Stix => crate::stix::import(bytes, source, now),
        Format::MispJson => crate::misp::import(bytes, source, now),
        Format::MispCsv => crate::csv::import_misp(bytes, source, now),
        Format::Csv => crate::csv::import_plain(bytes, source, now),
    }
}

/// Parses a JSON document, mapping errors to [`ImportError::Json`].
pub(crate) fn parse_json(bytes: &[u8]) -> Result<serde_json::Value, ImportError> {
    serde_json::from_slice(bytes).map_err(|e| ImportError::Json(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats() {
        let stix = br#" {"type": "bundle", "id": "bundle--1", "objects": []}"#;
        assert_eq!(detect_format(stix), Some(Format::Stix));
        assert_eq!(
            detect_format(br#"{"Event": {"info": "x"}}"#),
            Some(Format::MispJson)
        );
        assert_eq!(detect_format(br#"[{"Event": {}}]"#), Some(Format::MispJson));
        let misp = b"uuid,event_id,category,type,value,comment,to_ids,date\n";
        assert_eq!(detect_format(misp), Some(Format::MispCsv));
        assert_eq!(
            detect_format(b"\xEF\xBB\xBFvalue,type\n1.2.3.4,ip\n"),
            Some(Format::Csv)
        );
        assert_eq!(detect_format(b"type,value\n"), Some(Format::Csv));
        assert_eq!(detect_format(b"  \n"), None);
    }
}
