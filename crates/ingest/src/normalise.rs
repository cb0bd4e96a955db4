//! The pipeline's parsing step: a raw record becomes an ECS document.
//!
//! Detection is by cheap first-character checks: `{` JSON (Suricata EVE, Zeek, MySQL audit,
//! PostgreSQL `jsonlog` and Windows events — EVTX, winlogbeat, NXLog — recognised by their
//! fields), `CEF:` ArcSight CEF, `type=`/`node=` auditd, `<` a syslog priority, then the
//! syslog timestamp shapes; a syslog message body goes on to the program parsers (sshd, sudo,
//! su, pam, auditd, MariaDB audit, PostgreSQL, iptables/nftables). Lines that start with a
//! date are tried as web access/error logs, MariaDB `server_audit`, PostgreSQL and OpenStack
//! logs. A line nothing understands is kept as a `raw` event.

mod access;
mod auditd;
mod auth;
mod database;
mod json;
mod openstack;
mod syslog;
mod windows;

use crate::{Normaliser, RawRecord};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// A parsed record: when it happened (if it says) and its ECS document.
pub type Normalised = (Option<DateTime<Utc>>, Map<String, Value>);

/// The built-in parsers.
pub struct Parsers;

/// Sets `a.b.c = v` in a nested document.
pub(crate) fn put(doc: &mut Map<String, Value>, path: &str, v: impl Into<Value>) {
    let mut parts = path.split('.').peekable();
    let mut cur = doc;
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            cur.insert(p.to_string(), v.into());
            return;
        }
        let next = cur
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        cur = next.as_object_mut().expect("object");
    }
}

/// Adds `v` to the array at `path`.
pub(crate) fn push(doc: &mut Map<String, Value>, path: &str, v: &str) {
    let existing = crate::normalise::get(doc, path).cloned();
    let mut list = match existing {
        Some(Value::Array(a)) => a,
        _ => vec![],
    };
    if !list.iter().any(|x| x == v) {
        list.push(v.into());
    }
    put(doc, path, Value::Array(list));
}

/// Reads `a.b.c`.
pub(crate) fn get<'a>(doc: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    yunshou_eventstore::schema::get_path(doc, path)
}

/// The parser families a source may name instead of `auto`.
pub const FORMATS: &[&str] = &[
    "auto",
    "json",
    "syslog",
    "cef",
    "nginx",
    "apache",
    "auditd",
    "mysql",
    "mariadb",
    "postgresql",
    "openstack",
    "netflow",
    "winlog",
    "evtx",
    "raw",
];

/// Checks a source's parser name: `Err` names the known ones.
pub fn check_format(format: &str) -> Result<(), String> {
    if FORMATS.contains(&format) {
        Ok(())
    } else {
        Err(format!(
            "format: `{format}` is not one of {}",
            FORMATS.join(", ")
        ))
    }
}

/// A followed file given as `[FORMAT:]PATH` (`postgresql:/var/log/postgresql/main.log`);
/// without a known format prefix the parser is `auto`.
pub fn split_format(spec: &std::path::Path) -> (String, std::path::PathBuf) {
    if let Some((prefix, rest)) = spec.to_str().and_then(|s| s.split_once(':')) {
        if FORMATS.contains(&prefix) && !rest.is_empty() {
            return (prefix.to_string(), rest.into());
        }
    }
    ("auto".into(), spec.to_path_buf())
}

/// Parses one record. `format` is `auto` or a parser family (`json`, `syslog`, `cef`,
/// `nginx`, `apache`, `auditd`, `mysql`, `postgresql`, `openstack`, `netflow`, `winlog` or its
/// alias `evtx`, `raw`); a named family that does not understand the line leaves it raw
/// rather than guessing.
pub fn parse(
    line: &str,
    format: &str,
    now: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, Map<String, Value>) {
    let trimmed = line.trim();
    let parsed = match format {
        "raw" => None,
        // NetFlow/IPFIX lines are the ECS documents the collector made.
        "json" | "netflow" => json::parse(trimmed),
        "cef" => syslog::cef(trimmed, Map::new()),
        "nginx" | "apache" => access::parse(trimmed),
        "syslog" => syslog::parse(trimmed, now),
        "auditd" => auditd::parse(trimmed),
        "mysql" | "mariadb" => {
            database::mariadb_audit_file(trimmed).or_else(|| json::parse(trimmed))
        }
        "postgresql" => database::postgres_stderr(trimmed).or_else(|| json::parse(trimmed)),
        "openstack" => openstack::parse(trimmed),
        // JSON that is not a Windows event after all is still worth its fields.
        "winlog" | "evtx" => windows::parse(trimmed).or_else(|| json::parse(trimmed)),
        _ => {
            if trimmed.starts_with('{') {
                json::parse(trimmed)
            } else if trimmed.starts_with("CEF:") {
                syslog::cef(trimmed, Map::new())
            } else if trimmed.starts_with("type=") || trimmed.starts_with("node=") {
                auditd::parse(trimmed)
            } else if trimmed.starts_with(|c: char| c.is_ascii_digit()) {
                // Dates first: access logs start with an address, the rest with a date.
                access::parse(trimmed)
                    .or_else(|| database::postgres_stderr(trimmed))
                    .or_else(|| database::mariadb_audit_file(trimmed))
                    .or_else(|| openstack::parse(trimmed))
                    .or_else(|| syslog::parse(trimmed, now))
            } else {
                syslog::parse(trimmed, now)
                    .or_else(|| access::parse(trimmed))
                    .or_else(|| openstack::parse(trimmed))
            }
        }
    };
    match parsed {
        Some(p) => p,
        None => {
            let mut doc = Map::new();
            doc.insert("message".into(), line.into());
            put(&mut doc, "event.dataset", "raw");
            (None, doc)
        }
    }
}

impl Normaliser for Parsers {
    fn normalise(
        &self,
        record: &RawRecord,
        now: DateTime<Utc>,
    ) -> (Option<DateTime<Utc>>, Map<String, Value>) {
        parse(&record.line, &record.format, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-25T08:00:00Z".parse().unwrap()
    }

    #[test]
    fn unknown_lines_stay_raw_and_nothing_panics_on_noise() {
        let (ts, doc) = parse("something nobody logs like this", "auto", now());
        assert!(ts.is_none());
        assert_eq!(doc["event"]["dataset"], "raw");
        for junk in [
            "",
            "<",
            "<999>",
            "{",
            "CEF:",
            "CEF:0|a",
            "Nov",
            "Nov 99 99:99:99 x",
            "<34>1",
            "\u{0}\u{ffff}",
            // Found by the fuzzer: a timestamp whose zone runs into a multi-byte character.
            "025-10-25 0:53:30 +0\u{fffd} \u{1}\u{fffd}\u{7f}\u{0}",
        ] {
            let _ = parse(junk, "auto", now());
        }
    }

    #[test]
    fn formats_are_checked_and_taken_from_tail_specs() {
        assert!(check_format("postgresql").is_ok());
        assert!(check_format("xml").unwrap_err().contains("auditd"));
        let (f, p) = split_format(std::path::Path::new("auditd:/var/log/audit/audit.log"));
        assert_eq!(
            (f.as_str(), p.to_str().unwrap()),
            ("auditd", "/var/log/audit/audit.log")
        );
        let (f, p) = split_format(std::path::Path::new("/var/log/c:d.log"));
        assert_eq!(
            (f.as_str(), p.to_str().unwrap()),
            ("auto", "/var/log/c:d.log")
        );
    }

    #[test]
    fn put_builds_nested_objects() {
        let mut d = Map::new();
        put(&mut d, "source.ip", "10.0.0.1");
        put(&mut d, "source.port", 22);
        push(&mut d, "event.category", "authentication");
        push(&mut d, "event.category", "authentication");
        assert_eq!(
            Value::Object(d),
            serde_json::json!({"source": {"ip": "10.0.0.1", "port": 22}, "event": {"category": ["authentication"]}})
        );
    }
}
