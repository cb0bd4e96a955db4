//! yunshou's rule pack (`rules/yunshou/`): every rule loads with the ECS mapping, carries the
//! metadata the console shows, and has test events that prove it — every line of a detection
//! rule's `positive` file fires it, a correlation's `positive` file fires it as a stream, and
//! nothing in a `negative` file fires it.

mod pack;

use std::collections::{BTreeSet, HashSet};
use yunshou_detect::{CorrelationState, Engine, FlatEvent, Mapping};

fn engine() -> (Engine, Vec<pack::RuleFile>) {
    let (loaded, files) = pack::load();
    let mut mapping = Mapping::default();
    mapping
        .add_text("ecs", yunshou_detect::mapping::ECS)
        .unwrap();
    (Engine::build(loaded, &mapping), files)
}

/// What fired on one test file: `(id, line)` for every rule and correlation match.
fn run(engine: &Engine, path: &std::path::Path) -> Vec<(String, usize, String)> {
    let mut state = CorrelationState::default();
    let mut fired = vec![];
    let events = pack::events(path);
    assert!(!events.is_empty(), "{}: no events", path.display());
    for (i, e) in events.iter().enumerate() {
        let ev = FlatEvent::from_value(engine.schema(), &e.doc);
        let matched = engine.evaluate(&ev);
        for r in &matched {
            fired.push((
                engine.rules()[*r as usize].rule.id.clone(),
                e.line,
                e.text.clone(),
            ));
        }
        let time = engine
            .event_time(&ev)
            .unwrap_or_else(|| panic!("{}:{}: no @timestamp", path.display(), e.line));
        for c in engine.correlate(&mut state, &matched, &ev, time, i as u64) {
            fired.push((
                engine.correlation(c.correlation).id.clone(),
                e.line,
                e.text.clone(),
            ));
        }
    }
    for c in engine.flush(&mut state) {
        fired.push((
            engine.correlation(c.correlation).id.clone(),
            0,
            "(end of input)".into(),
        ));
    }
    fired
}

#[test]
fn every_rule_loads_with_its_metadata() {
    let (engine, files) = engine();
    for e in &engine.errors {
        eprintln!("{}#{}: {}", e.file.display(), e.document, e.reason);
    }
    assert!(
        engine.errors.is_empty(),
        "{} rules failed to load",
        engine.errors.len()
    );
    assert!(files.len() >= 30, "{} rule files", files.len());
    assert_eq!(
        engine.stats.rules + engine.stats.correlations,
        files.iter().map(|f| f.ids.len()).sum::<usize>()
    );
    let uuid4 =
        regex::Regex::new("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
            .unwrap();
    let mut seen = HashSet::new();
    let check = |id: &str,
                 author: Option<&str>,
                 level: Option<&str>,
                 tags: &[String],
                 status: Option<&str>| {
        assert!(uuid4.is_match(id), "{id}: not a UUIDv4");
        assert_eq!(author, Some("yunshou"), "{id}: author");
        assert!(
            matches!(
                level,
                Some("informational" | "low" | "medium" | "high" | "critical")
            ),
            "{id}: level {level:?}"
        );
        assert!(
            matches!(status, Some("experimental" | "test" | "stable")),
            "{id}: status"
        );
        assert!(
            tags.iter().any(|t| t.starts_with("attack.t")),
            "{id}: no ATT&CK technique tag"
        );
    };
    for r in engine.rules() {
        let r = &r.rule;
        check(
            &r.id,
            r.author.as_deref(),
            r.level.as_deref(),
            &r.tags,
            r.status.as_deref(),
        );
        assert!(
            r.description.is_some() && !r.falsepositives.is_empty(),
            "{}",
            r.id
        );
        assert!(seen.insert(r.id.clone()), "{}: duplicate id", r.id);
    }
    for i in 0..engine.correlation_count() {
        let c = engine.correlation(i);
        check(
            &c.id,
            c.author.as_deref(),
            c.level.as_deref(),
            &c.tags,
            c.status.as_deref(),
        );
        assert!(seen.insert(c.id.clone()), "{}: duplicate id", c.id);
    }
    for f in &files {
        assert_eq!(f.ids.len(), 1, "{}: one rule per file", f.path.display());
        let text = std::fs::read_to_string(&f.path).unwrap();
        for key in ["\ndate: ", "\ndescription: ", "\nfalsepositives:"] {
            assert!(
                text.contains(key),
                "{}: no `{}`",
                f.path.display(),
                key.trim()
            );
        }
    }
}

#[test]
fn every_rule_fires_on_its_positives_and_not_on_its_negatives() {
    let (engine, files) = engine();
    assert!(engine.errors.is_empty());
    let mut failures = vec![];
    let (mut positives, mut negatives) = (0, 0);
    for f in &files {
        let id = &f.ids[0];
        let (Some(pos), Some(neg)) = (
            pack::test_file(&f.stem, "positive"),
            pack::test_file(&f.stem, "negative"),
        ) else {
            failures.push(format!(
                "{}: tests/{}/ needs a positive and a negative file",
                f.path.display(),
                f.stem
            ));
            continue;
        };
        let fired = run(&engine, &pos);
        if f.correlation {
            if !fired.iter().any(|(r, _, _)| r == id) {
                failures.push(format!("{}: {} did not fire", pos.display(), f.stem));
            }
        } else {
            // Every line of a detection rule's positive file must fire it.
            let lines: BTreeSet<usize> = fired
                .iter()
                .filter(|(r, _, _)| r == id)
                .map(|(_, l, _)| *l)
                .collect();
            for e in pack::events(&pos) {
                if !lines.contains(&e.line) {
                    failures.push(format!(
                        "{}:{}: {} did not fire on `{}`",
                        pos.display(),
                        e.line,
                        f.stem,
                        e.text
                    ));
                }
            }
        }
        positives += 1;
        for (r, line, text) in run(&engine, &neg) {
            if &r == id {
                failures.push(format!(
                    "{}:{line}: {} fired on a negative: `{text}`",
                    neg.display(),
                    f.stem
                ));
            }
        }
        negatives += 1;
    }
    // A test folder whose rule was renamed or removed would test nothing.
    let stems: HashSet<&str> = files.iter().map(|f| f.stem.as_str()).collect();
    for dir in std::fs::read_dir(pack::root().join("tests")).unwrap() {
        let name = dir.unwrap().file_name().to_string_lossy().into_owned();
        if !stems.contains(name.as_str()) {
            failures.push(format!("tests/{name}/ belongs to no rule file"));
        }
    }
    for m in &failures {
        eprintln!("{m}");
    }
    eprintln!("{positives} positive and {negatives} negative files checked");
    assert!(failures.is_empty(), "{} failures", failures.len());
}
