//! Differential test against rsigma 0.23.0, an independent Sigma engine run as an external
//! program: the same rules over the same events must give the same matches, or the difference
//! must be one of the explained exceptions below (each of which must still occur, so the list
//! cannot rot). Two corpora:
//!
//! - (a) every SigmaHQ fixture rule over SigmaHQ's regression recordings (raw Windows events
//!   flattened to the names Sigma's Windows rules use, as yunshou reads them);
//! - (b) yunshou's rule pack over its own test events (the ECS documents the ingest pipeline
//!   makes), correlations included, one stream per test file.
//!
//! rsigma reads nested JSON with dotted names, and routes by log source on plain `product`,
//! `service` and `category` fields (`--logsource-routing`, one value per field). Each event
//! is tagged with the log source yunshou's mapping gives it, so both engines route alike; an
//! event in several categories (Sysmon 12 is registry_event, registry_add and
//! registry_delete) goes to rsigma once per category and its matches are merged. yunshou's
//! field mapping reaches rsigma as a generated pipeline (`field_name_mapping`).
//!
//! The binary: `$YUNSHOU_RSIGMA`, else `~/.cache/peers/rsigma/bin/rsigma`; install it with
//! `cargo install rsigma --version 0.23.0 --locked --root ~/.cache/peers/rsigma`.

mod pack;

use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use yaml_rust2::Yaml;
use yunshou_detect::event::windows_name;
use yunshou_detect::sigma::{load_dir, Loaded};
use yunshou_detect::{CorrelationState, Engine, FlatEvent, Mapping};

/// The field each event carries its position in, so rsigma's output can be traced back.
const INDEX: &str = "yunshou_index";

fn rsigma() -> PathBuf {
    let path = std::env::var_os("YUNSHOU_RSIGMA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME"))
                .join(".cache/peers/rsigma/bin/rsigma")
        });
    assert!(
        path.is_file(),
        "rsigma not found at {} — install it with `cargo install rsigma --version 0.23.0 \
         --locked --root $HOME/.cache/peers/rsigma` or set YUNSHOU_RSIGMA",
        path.display()
    );
    let out = Command::new(&path).arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(
        version.contains("0.23.0"),
        "{}: version {version}, want 0.23.0",
        path.display()
    );
    path
}

/// What one engine reported: detections `(rule id, event index)` and correlations
/// `(correlation id, group values)`.
#[derive(Default, Debug)]
struct Matches {
    detections: BTreeSet<(String, usize)>,
    correlations: BTreeSet<(String, String)>,
}

/// Runs rsigma over `events` (each must carry [`INDEX`]).
fn run_rsigma(
    bin: &Path,
    rules: &Path,
    pipeline: Option<&Path>,
    events: &[Value],
    work: &Path,
) -> Matches {
    let input = work.join("events.ndjson");
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    std::fs::write(&input, text).unwrap();
    let mut cmd = Command::new(bin);
    cmd.args([
        "engine",
        "eval",
        "-q",
        "--no-stats",
        "--output-format",
        "ndjson",
    ])
    .args([
        "--logsource-routing",
        "--include-event",
        "--action",
        "reset",
    ])
    .arg("-r")
    .arg(rules)
    .arg("-e")
    .arg(format!("@{}", input.display()));
    if let Some(p) = pipeline {
        cmd.arg("-p").arg(p);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "rsigma failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut m = Matches::default();
    for line in String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
    {
        let r: Value = serde_json::from_str(line).unwrap();
        let id = r["rule_id"].as_str().unwrap_or_default().to_string();
        if r.get("correlation_type").is_some() {
            let group: Vec<&str> = r["group_key"]
                .as_array()
                .unwrap()
                .iter()
                .map(|kv| kv[1].as_str().unwrap_or_default())
                .collect();
            m.correlations.insert((id, group.join("|")));
        } else {
            let i = r["event"][INDEX]
                .as_u64()
                .unwrap_or_else(|| panic!("no {INDEX}: {line}"));
            m.detections.insert((id, i as usize));
        }
    }
    m
}

/// The log sources yunshou gives an event, as rsigma's tags: one object per combination.
///
/// rsigma routes on one value per dimension. Only values some loaded rule names can make a
/// rule conflict, so each dimension keeps those (or, if it names none, its first value, which
/// conflicts with every rule naming that dimension in both engines); an event left with two
/// named values in a dimension goes to rsigma once per value. An event the mapping says is in
/// no category gets a category no rule names, as rsigma takes a missing one for any.
fn tags(engine: &Engine, event: &Value) -> Vec<Map<String, Value>> {
    let src = engine.event_source(&FlatEvent::from_value(engine.schema(), event));
    let named = |pick: fn(&yunshou_detect::sigma::LogSource) -> &Option<String>| {
        let set: BTreeSet<String> = engine
            .rules()
            .iter()
            .filter_map(|r| pick(&r.rule.logsource).as_ref().map(|v| v.to_lowercase()))
            .collect();
        set
    };
    let dim = |v: &[String], named: &BTreeSet<String>| -> Vec<Option<String>> {
        let kept: Vec<Option<String>> = v
            .iter()
            .filter(|x| named.contains(*x))
            .cloned()
            .map(Some)
            .collect();
        match (kept.is_empty(), v.first()) {
            (false, _) => kept,
            (true, Some(first)) => vec![Some(first.clone())],
            (true, None) => vec![None],
        }
    };
    let products = dim(&src.product, &named(|l| &l.product));
    let services = dim(&src.service, &named(|l| &l.service));
    let categories = match (src.category.is_empty(), src.category_known) {
        (true, true) => vec![Some("(none)".to_string())],
        _ => dim(&src.category, &named(|l| &l.category)),
    };
    let mut out = vec![];
    for p in &products {
        for s in &services {
            for c in &categories {
                let mut t = Map::new();
                for (k, v) in [("product", p), ("service", s), ("category", c)] {
                    if let Some(v) = v {
                        t.insert(k.into(), v.clone().into());
                    }
                }
                out.push(t);
            }
        }
    }
    out
}

/// One difference: which corpus, what, and on which side only.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Diff {
    corpus: &'static str,
    rule: String,
    what: String,
    only_in: &'static str,
}

fn compare(
    corpus: &'static str,
    label: &str,
    ys: &Matches,
    rs: &Matches,
    diffs: &mut Vec<Diff>,
) -> usize {
    let mut agreed = 0;
    let mut side = |a: &BTreeSet<(String, String)>, b: &BTreeSet<(String, String)>, only_in| {
        for x in a.difference(b) {
            diffs.push(Diff {
                corpus,
                rule: x.0.clone(),
                what: format!("{label} {}", x.1),
                only_in,
            });
        }
    };
    let det = |m: &Matches| -> BTreeSet<(String, String)> {
        m.detections
            .iter()
            .map(|(r, i)| (r.clone(), format!("event {i}")))
            .collect()
    };
    let cor = |m: &Matches| -> BTreeSet<(String, String)> {
        m.correlations
            .iter()
            .map(|(r, g)| (r.clone(), format!("group [{g}]")))
            .collect()
    };
    for (y, r) in [(det(ys), det(rs)), (cor(ys), cor(rs))] {
        agreed += y.intersection(&r).count();
        side(&y, &r, "yunshou");
        side(&r, &y, "rsigma");
    }
    agreed
}

/// A difference that is understood: the rule, the side that reports it, and why.
struct Exception {
    corpus: &'static str,
    rule: &'static str,
    only_in: &'static str,
    why: &'static str,
}

const EXCEPTIONS: &[Exception] = &[Exception {
    // SigmaHQ's "Binary Padding" (lnx_auditd_binary_padding.yml) has
    // `keywords_truncate: {'|all': [truncate, '-s']}`. Keywords match anywhere in the event
    // (implicitly `contains`), and `|all` asks for every one of them. rsigma 0.23.0 compiles
    // such a map like a field item with no field: each keyword an exact match, all against one
    // and the same string, which no event satisfies. yunshou is right here; nothing to fix.
    corpus: "c",
    rule: "c52a914f-3d8b-4b2a-bb75-b3991e75f8ba",
    only_in: "yunshou",
    why: "rsigma never matches a keyword list with `|all` (it compiles the keywords as exact \
          matches that one string must satisfy together); yunshou requires each keyword \
          somewhere in the event, as Sigma specifies",
}];

fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/sigma")
}

const FIXTURE_DIRS: [&str; 5] = [
    "rules",
    "rules-emerging-threats",
    "rules-threat-hunting",
    "rules-compliance",
    "rules-dfir",
];

/// The regression recordings' events, flattened to Windows names (what yunshou reads).
fn regression_events() -> Vec<(String, Value)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    fn flatten(v: &Value, path: &mut String, out: &mut Map<String, Value>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let mark = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                    flatten(x, path, out);
                    path.truncate(mark);
                }
            }
            leaf => {
                if let Some(name) = windows_name(path) {
                    out.insert(name, leaf.clone());
                }
            }
        }
    }
    let mut files = vec![];
    walk(&fixture_root().join("regression_data"), &mut files);
    files.sort();
    let mut out = vec![];
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, v) in serde_json::Deserializer::from_str(&text)
            .into_iter::<Value>()
            .enumerate()
        {
            let mut flat = Map::new();
            flatten(&v.unwrap(), &mut String::new(), &mut flat);
            let rel = f
                .strip_prefix(fixture_root())
                .unwrap()
                .display()
                .to_string();
            out.push((format!("{rel}#{i}"), Value::Object(flat)));
        }
    }
    out
}

/// yunshou's field mapping as a pipeline for rsigma: each field a rule names reads itself, its
/// mapped paths and the mapping's prefixed forms (`auditd.data.a0` answers to `a0`), as
/// yunshou's schema does.
fn pipeline_from(mapping: &Mapping, engine: &Engine) -> String {
    let mut names: BTreeSet<String> = mapping.fields.iter().map(|(n, _)| n.clone()).collect();
    for r in engine.rules() {
        for (_, search) in &r.rule.searches {
            let maps = match search {
                Yaml::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            for key in maps
                .iter()
                .filter_map(|m| m.as_hash())
                .flat_map(|h| h.keys())
            {
                if let Some(k) = key.as_str() {
                    names.insert(k.split('|').next().unwrap_or(k).to_string());
                }
            }
        }
    }
    let mut s = String::from("name: yunshou-ecs\npriority: 10\ntransformations:\n  - id: yunshou_fields\n    type: field_name_mapping\n    mapping:\n");
    for name in names.iter().filter(|n| !n.is_empty()) {
        let mut all = vec![name.clone()];
        for (_, paths) in mapping.fields.iter().filter(|(n, _)| n == name) {
            all.extend(paths.iter().cloned());
        }
        // Only bare names: what sits under a prefix (auditd's key=value pairs) has no dots,
        // and rsigma refuses one-to-many names in correlation fields (`url.path`).
        if !name.contains('.') {
            all.extend(mapping.prefixes.iter().map(|p| format!("{p}{name}")));
        }
        s.push_str(&format!("      {}: {}\n", json!(name), json!(all)));
    }
    s
}

fn check(diffs: &[Diff], corpus: &'static str) -> (usize, Vec<String>) {
    let mut explained = 0;
    let mut unexplained = vec![];
    for d in diffs {
        match EXCEPTIONS
            .iter()
            .find(|e| e.corpus == corpus && e.rule == d.rule && e.only_in == d.only_in)
        {
            Some(_) => explained += 1,
            None => unexplained.push(format!(
                "{corpus}: {} {} only in {}",
                d.rule, d.what, d.only_in
            )),
        }
    }
    for e in EXCEPTIONS.iter().filter(|e| e.corpus == corpus) {
        assert!(
            diffs
                .iter()
                .any(|d| d.rule == e.rule && d.only_in == e.only_in),
            "exception for {} ({}) no longer occurs: remove it",
            e.rule,
            e.why
        );
    }
    (explained, unexplained)
}

#[test]
fn sigmahq_fixture_rules_agree_on_the_regression_events() {
    let bin = rsigma();
    let work = tempdir("a");
    let mut all = Loaded::default();
    for dir in FIXTURE_DIRS {
        let l = load_dir(&fixture_root().join(dir)).unwrap();
        all.rules.extend(l.rules);
        all.errors.extend(l.errors);
    }
    let engine = Engine::build(all, &Mapping::builtin());
    // Events, tagged; one rsigma event per log-source combination, same index.
    let events = regression_events();
    let mut tagged = vec![];
    let mut ys = Matches::default();
    for (i, (_, ev)) in events.iter().enumerate() {
        let mut ev = ev.clone();
        ev.as_object_mut().unwrap().insert(INDEX.into(), i.into());
        for t in tags(&engine, &ev) {
            let mut copy = ev.clone();
            copy.as_object_mut().unwrap().extend(t);
            for r in engine.evaluate(&FlatEvent::from_value(engine.schema(), &copy)) {
                ys.detections
                    .insert((engine.rules()[r as usize].rule.id.clone(), i));
            }
            tagged.push(copy);
        }
    }
    let mut rs = Matches::default();
    for dir in FIXTURE_DIRS {
        let m = run_rsigma(&bin, &fixture_root().join(dir), None, &tagged, &work);
        rs.detections.extend(m.detections);
    }
    let mut diffs = vec![];
    let agreed = compare("a", "", &ys, &rs, &mut diffs);
    for d in &mut diffs {
        let i: usize = d.what.trim().trim_start_matches("event ").parse().unwrap();
        d.what = events[i].0.clone();
    }
    report(
        "a",
        agreed,
        &diffs,
        ys.detections.len(),
        rs.detections.len(),
    );
}

fn report(corpus: &'static str, agreed: usize, diffs: &[Diff], ys: usize, rs: usize) {
    let (explained, unexplained) = check(diffs, corpus);
    for e in EXCEPTIONS.iter().filter(|e| e.corpus == corpus) {
        let n = diffs
            .iter()
            .filter(|d| d.rule == e.rule && d.only_in == e.only_in)
            .count();
        eprintln!(
            "explained ({n}): {} only in {}: {}",
            e.rule, e.only_in, e.why
        );
    }
    for u in &unexplained {
        eprintln!("UNEXPLAINED {u}");
    }
    eprintln!(
        "({corpus}) yunshou {ys}, rsigma {rs} matches: {agreed} agreed, {explained} differences explained, {} unexplained",
        unexplained.len()
    );
    assert!(
        agreed > 0,
        "the engines agreed on nothing: the comparison is broken"
    );
    assert!(
        unexplained.is_empty(),
        "{} unexplained differences",
        unexplained.len()
    );
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "yunshou-differential-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn the_rule_pack_agrees_on_its_test_events() {
    let bin = rsigma();
    let work = tempdir("b");
    let (loaded, files) = pack::load();
    let mut mapping = Mapping::default();
    mapping
        .add_text("ecs", yunshou_detect::mapping::ECS)
        .unwrap();
    let pipeline = work.join("yunshou-ecs.yml");
    let engine = Engine::build(loaded, &mapping);
    std::fs::write(&pipeline, pipeline_from(&mapping, &engine)).unwrap();
    assert!(engine.errors.is_empty(), "{:?}", engine.errors);
    let mut diffs = vec![];
    let (mut agreed, mut ys_total, mut rs_total) = (0, 0, 0);
    // Correlation results per engine, so a run where neither fires anything shows.
    let (mut ys_corr, mut rs_corr) = (0, 0);
    let mut streams = 0;
    for f in &files {
        for kind in ["positive", "negative"] {
            let Some(path) = pack::test_file(&f.stem, kind) else {
                continue;
            };
            let mut events = vec![];
            for (i, e) in pack::events(&path).into_iter().enumerate() {
                let mut doc = e.doc;
                doc.as_object_mut().unwrap().insert(INDEX.into(), i.into());
                let t = tags(&engine, &doc);
                assert_eq!(
                    t.len(),
                    1,
                    "{}: pack events have one log source",
                    path.display()
                );
                doc.as_object_mut()
                    .unwrap()
                    .extend(t.into_iter().next().unwrap());
                events.push(doc);
            }
            let ys = run_yunshou(&engine, &events);
            let rs = run_rsigma(&bin, &pack::root(), Some(&pipeline), &events, &work);
            let label = path
                .strip_prefix(pack::root())
                .unwrap()
                .display()
                .to_string();
            agreed += compare("b", &label, &ys, &rs, &mut diffs);
            ys_total += ys.detections.len() + ys.correlations.len();
            rs_total += rs.detections.len() + rs.correlations.len();
            ys_corr += ys.correlations.len();
            rs_corr += rs.correlations.len();
            streams += 1;
        }
    }
    assert!(streams >= 60, "{streams} test files");
    eprintln!("(b) {streams} streams; correlation results: yunshou {ys_corr}, rsigma {rs_corr}");
    assert!(
        ys_corr >= 9 && rs_corr >= 9,
        "the correlations must fire on their positives"
    );
    report("b", agreed, &diffs, ys_total, rs_total);
    let _ = std::fs::remove_dir_all(&work);
}

/// yunshou over one stream: every rule match, correlations, and what the end of input closes.
fn run_yunshou(engine: &Engine, events: &[Value]) -> Matches {
    let mut m = Matches::default();
    let mut state = CorrelationState::default();
    let mut fired = vec![];
    for (i, doc) in events.iter().enumerate() {
        let ev = FlatEvent::from_value(engine.schema(), doc);
        let matched = engine.evaluate(&ev);
        for r in &matched {
            m.detections
                .insert((engine.rules()[*r as usize].rule.id.clone(), i));
        }
        let t = engine.event_time(&ev).unwrap();
        fired.extend(engine.correlate(&mut state, &matched, &ev, t, i as u64));
    }
    fired.extend(engine.flush(&mut state));
    for c in fired {
        m.correlations.insert((
            engine.correlation(c.correlation).id.clone(),
            c.fired.group.join("|"),
        ));
    }
    m
}

/// (c) every SigmaHQ fixture rule over the pack's test events: SigmaHQ's Linux, web and
/// database rules meet real parsed logs through the ECS mapping (a pipeline for rsigma).
#[test]
fn sigmahq_fixture_rules_agree_on_the_pack_events() {
    let bin = rsigma();
    let work = tempdir("c");
    let mut all = Loaded::default();
    for dir in FIXTURE_DIRS {
        let l = load_dir(&fixture_root().join(dir)).unwrap();
        all.rules.extend(l.rules);
    }
    let mut mapping = Mapping::default();
    mapping
        .add_text("ecs", yunshou_detect::mapping::ECS)
        .unwrap();
    let engine = Engine::build(all, &mapping);
    let pipeline = work.join("yunshou-ecs.yml");
    std::fs::write(&pipeline, pipeline_from(&mapping, &engine)).unwrap();
    // One stream of every test event (SigmaHQ's fixtures hold no correlations).
    let (_, files) = pack::load();
    let (mut labels, mut tagged) = (vec![], vec![]);
    let mut ys = Matches::default();
    for f in &files {
        for kind in ["positive", "negative"] {
            let Some(path) = pack::test_file(&f.stem, kind) else {
                continue;
            };
            for e in pack::events(&path) {
                let i = labels.len();
                labels.push(format!("tests/{}/{kind}:{}", f.stem, e.line));
                let mut doc = e.doc;
                doc.as_object_mut().unwrap().insert(INDEX.into(), i.into());
                for t in tags(&engine, &doc) {
                    let mut copy = doc.clone();
                    copy.as_object_mut().unwrap().extend(t);
                    for r in engine.evaluate(&FlatEvent::from_value(engine.schema(), &copy)) {
                        ys.detections
                            .insert((engine.rules()[r as usize].rule.id.clone(), i));
                    }
                    tagged.push(copy);
                }
            }
        }
    }
    let mut rs = Matches::default();
    for dir in FIXTURE_DIRS {
        let m = run_rsigma(
            &bin,
            &fixture_root().join(dir),
            Some(&pipeline),
            &tagged,
            &work,
        );
        rs.detections.extend(m.detections);
    }
    let mut diffs = vec![];
    let agreed = compare("c", "", &ys, &rs, &mut diffs);
    for d in &mut diffs {
        let i: usize = d.what.trim().trim_start_matches("event ").parse().unwrap();
        d.what = labels[i].clone();
    }
    report(
        "c",
        agreed,
        &diffs,
        ys.detections.len(),
        rs.detections.len(),
    );
    let _ = std::fs::remove_dir_all(&work);
}
