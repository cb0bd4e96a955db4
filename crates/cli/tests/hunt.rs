//! `yunshou hunt` (MO.1.c): SigmaHQ's own regression recordings (EVTX and their JSON exports)
//! hunted with SigmaHQ's rules; JSONL with the rule's author, the table, statistics,
//! directories, correlations over JSONL, and unreadable input reported rather than skipped.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use support::cli;

fn sigma() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/sigma")
}

/// The first regression case under `rules/windows/process_creation` with both files.
fn case() -> (String, PathBuf) {
    let base = sigma().join("regression_data/rules/windows/process_creation");
    let mut dirs: Vec<_> = std::fs::read_dir(&base)
        .expect("SigmaHQ regression data beside the clone")
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for d in dirs {
        let info = std::fs::read_to_string(d.join("info.yml")).unwrap_or_default();
        let id = info
            .lines()
            .skip_while(|l| !l.contains("rule_metadata"))
            .find_map(|l| l.trim().strip_prefix("- id: "))
            .map(str::to_string);
        let has = |ext: &str| {
            std::fs::read_dir(&d)
                .unwrap()
                .any(|e| e.unwrap().path().extension().is_some_and(|x| x == ext))
        };
        if let (Some(id), true, true) = (id, has("evtx"), has("json")) {
            return (id, d);
        }
    }
    panic!("no process_creation case with EVTX and JSON");
}

fn lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn evtx_and_json_recordings_fire_their_rule_with_its_author() {
    let (id, dir) = case();
    let rules = sigma().join("rules");
    let (code, out, err) = cli(
        &[
            "hunt",
            "--rules",
            rules.to_str().unwrap(),
            "--stats",
            dir.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let found = lines(&out);
    let mine: Vec<&Value> = found
        .iter()
        .filter(|m| m["rule_id"] == id.as_str())
        .collect();
    assert_eq!(mine.len(), 2, "the EVTX record and its JSON export: {out}");
    for m in &mine {
        for key in [
            "rule_title",
            "level",
            "tags",
            "author",
            "source",
            "record",
            "event",
        ] {
            assert!(!m[key].is_null(), "{key} in {m}");
        }
    }
    let sources: Vec<&str> = mine.iter().map(|m| m["source"].as_str().unwrap()).collect();
    assert!(
        sources.iter().any(|s| s.ends_with(".evtx"))
            && sources.iter().any(|s| s.ends_with(".json"))
    );
    assert!(err.contains("events 2"), "{err}");
    assert!(err.contains("rules failed 0"), "{err}");
    // The table names the same rule and author.
    let (code, table, _) = cli(
        &[
            "hunt",
            "--rules",
            rules.to_str().unwrap(),
            "--output",
            "table",
            dir.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0);
    let title = mine[0]["rule_title"].as_str().unwrap();
    assert!(table.contains(&title[..title.len().min(40)]), "{table}");
}

const BRUTE: &str = r#"
title: Failed logon
id: 7d3f2a10-5b6c-4e8f-9a01-2b3c4d5e6f70
name: failed_logon
status: test
author: hunt test
level: low
logsource: {product: linux, service: sshd}
detection:
  selection: {event.outcome: failure}
  condition: selection
---
title: Many failed logons
id: 1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d
status: test
author: hunt test
level: high
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [source.ip]
  timespan: 5m
  condition: {gte: 3}
"#;

#[test]
fn jsonl_correlations_and_unreadable_lines() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("brute.yml"), BRUTE).unwrap();
    let ev = |s: u32, ip: &str, outcome: &str| {
        format!(
            r#"{{"@timestamp":"2026-12-01T10:00:{s:02}Z","event":{{"dataset":"linux.auth","outcome":"{outcome}"}},"source":{{"ip":"{ip}"}}}}"#
        )
    };
    let events = [
        ev(1, "203.0.113.5", "failure"),
        ev(2, "203.0.113.5", "failure"),
        ev(3, "198.51.100.1", "failure"),
        ev(4, "203.0.113.5", "success"),
        "{not json".to_string(),
        ev(5, "203.0.113.5", "failure"),
    ]
    .join("\n");
    let input = dir.path().join("auth.jsonl");
    std::fs::write(&input, events).unwrap();
    let rules = dir.path().join("brute.yml");
    let (code, out, err) = cli(
        &[
            "hunt",
            "--rules",
            rules.to_str().unwrap(),
            "--stats",
            input.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 2, "an unreadable line makes the exit code 2: {err}");
    assert!(
        err.contains("line 5") || err.contains(":5"),
        "the bad line is named: {err}"
    );
    assert!(err.contains("not JSON"), "and said to be no JSON: {err}");
    assert!(err.contains("unreadable 1 "), "and counted once: {err}");
    let found = lines(&out);
    let corr: Vec<&Value> = found
        .iter()
        .filter(|m| m["rule_id"] == "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
        .collect();
    assert_eq!(corr.len(), 1, "{out}");
    assert_eq!(corr[0]["group"], serde_json::json!(["203.0.113.5"]));
    assert_eq!(corr[0]["events"].as_array().unwrap().len(), 3);
    assert_eq!(corr[0]["author"], "hunt test");
    // The base rule is only an input to the correlation (no `generate`).
    assert!(found
        .iter()
        .all(|m| m["rule_id"] != "7d3f2a10-5b6c-4e8f-9a01-2b3c4d5e6f70"));
    // A rule directory that does not exist is an error, not an empty hunt.
    let (code, _, err) = cli(
        &[
            "hunt",
            "--rules",
            "/nonexistent/rules",
            input.to_str().unwrap(),
        ],
        None,
    );
    assert_ne!(code, 0);
    assert!(err.contains("/nonexistent/rules"), "{err}");
}

/// Hunting a directory that holds the output file does not read the output back (the
/// matches carry their events and would match again, without end).
#[test]
fn output_inside_an_input_directory_is_not_hunted() {
    let (id, case_dir) = case();
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&case_dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "evtx") {
            std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    let out_path = dir.path().join("matches.jsonl");
    let status = std::process::Command::new(support::bin())
        .args(["hunt", "--rules"])
        .arg(sigma().join("rules"))
        .arg(dir.path())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let err = String::from_utf8_lossy(&status.stderr);
    assert!(err.contains("matches.jsonl: it is the output"), "{err}");
    let out = std::fs::read_to_string(&out_path).unwrap();
    let found = lines(&out);
    assert!(found.iter().any(|m| m["rule_id"] == id.as_str()));
    assert!(
        found.iter().all(|m| !m["source"]
            .as_str()
            .unwrap_or_default()
            .ends_with("matches.jsonl")),
        "the output was hunted"
    );
}
