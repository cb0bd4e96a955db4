//! yunshou's own rule pack (`rules/yunshou/` at the repository root) and its test events, shared
//! by the pack's tests and the differential test against a peer engine.
//!
//! Each rule file `<dir>/<stem>.yml` has `tests/<stem>/positive.*` and `negative.*`: raw log
//! lines (`.log`, parsed by the ingest pipeline's normaliser with the format named on a first
//! `# format: …` line, else `auto`) or ECS documents (`.jsonl`).

#![allow(dead_code)]

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::path::{Path, PathBuf};
use yunshou_detect::sigma::{load_text, Loaded};

/// The pack's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/yunshou")
}

/// "Now" for the parsers: syslog lines carry no year, the test lines are from November 2026.
pub fn now() -> DateTime<Utc> {
    "2026-11-25T12:00:00Z".parse().unwrap()
}

/// One rule file of the pack and what it defines.
pub struct RuleFile {
    /// Its path.
    pub path: PathBuf,
    /// Its file stem, which names its test folder.
    pub stem: String,
    /// Ids of the detection rules and correlation rules it defines.
    pub ids: Vec<String>,
    /// Whether it holds a correlation (fires over several events) rather than detections.
    pub correlation: bool,
}

fn yml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() && p.file_name().is_some_and(|n| n != "tests") {
            yml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(p);
        }
    }
}

/// Loads every rule file of the pack into one set, remembering which file defined what.
pub fn load() -> (Loaded, Vec<RuleFile>) {
    let mut paths = vec![];
    yml_files(&root(), &mut paths);
    paths.sort();
    let mut all = Loaded::default();
    let mut files = vec![];
    for path in paths {
        let mut one = Loaded::default();
        load_text(&path, &std::fs::read_to_string(&path).unwrap(), &mut one);
        let mut ids: Vec<String> = one.rules.iter().map(|r| r.id.clone()).collect();
        ids.extend(one.correlations.iter().map(|c| c.id.clone()));
        files.push(RuleFile {
            stem: path.file_stem().unwrap().to_string_lossy().into_owned(),
            correlation: !one.correlations.is_empty(),
            path,
            ids,
        });
        all.rules.extend(one.rules);
        all.correlations.extend(one.correlations);
        all.filters.extend(one.filters);
        all.errors.extend(one.errors);
    }
    (all, files)
}

/// The test file `tests/<stem>/<kind>.*` (`kind` is `positive` or `negative`), if present.
pub fn test_file(stem: &str, kind: &str) -> Option<PathBuf> {
    let dir = root().join("tests").join(stem);
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_stem().is_some_and(|s| s == kind))
        .collect();
    found.sort();
    found.into_iter().next()
}

/// One test event: where it came from and the ECS document the pipeline would store.
pub struct TestEvent {
    /// 1-based line in its file.
    pub line: usize,
    /// The line as written.
    pub text: String,
    /// The ECS document, with `@timestamp` set as the event store sets it.
    pub doc: Value,
}

/// The events of a test file.
pub fn events(path: &Path) -> Vec<TestEvent> {
    let text = std::fs::read_to_string(path).unwrap();
    let jsonl = path.extension().is_some_and(|e| e == "jsonl");
    let mut format = "auto".to_string();
    let mut out = vec![];
    for (i, line) in text.lines().enumerate() {
        if let Some(f) = line.strip_prefix("# format:") {
            format = f.trim().to_string();
            continue;
        }
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let doc = if jsonl {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1))
        } else {
            let (ts, mut doc) = yunshou_ingest::normalise::parse(line, &format, now());
            assert_ne!(
                doc["event"]["dataset"],
                "raw",
                "{}:{}: the {format} parser did not understand the line",
                path.display(),
                i + 1
            );
            doc.insert(
                "@timestamp".into(),
                ts.unwrap_or_else(now).to_rfc3339().into(),
            );
            Value::Object(doc)
        };
        out.push(TestEvent {
            line: i + 1,
            text: line.to_string(),
            doc,
        });
    }
    out
}
