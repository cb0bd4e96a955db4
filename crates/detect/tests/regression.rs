//! SigmaHQ's regression data: for every rule with a positive test, the rule must fire on the
//! recorded events (the JSON exports beside each `.evtx`), evaluated on the event's fields as
//! Windows names them (the raw-event field mapping: `EventData`/`UserData` names, `EventID`,
//! `Channel`, `Computer`, `Provider_Name`).

use serde_json::value::RawValue;
use std::path::{Path, PathBuf};
use yaml_rust2::YamlLoader;
use yunshou_detect::sigma::{load_dir, Loaded};
use yunshou_detect::{Engine, FlatEvent, Mapping};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/sigma")
}

/// Every SigmaHQ rule directory, loaded into one set.
pub fn all_rules() -> Loaded {
    let mut all = Loaded::default();
    for dir in [
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-compliance",
        "rules-dfir",
    ] {
        let l = load_dir(&root().join(dir)).unwrap();
        all.rules.extend(l.rules);
        all.correlations.extend(l.correlations);
        all.filters.extend(l.filters);
        all.errors.extend(l.errors);
    }
    all
}

fn info_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            info_files(&p, out);
        } else if p.file_name().is_some_and(|n| n == "info.yml") {
            out.push(p);
        }
    }
}

#[test]
fn every_positive_regression_event_matches_its_rule() {
    let engine = Engine::build(all_rules(), &Mapping::builtin());
    // Rules with `|expand` placeholders need values from the site's mapping; without them
    // they are reported, not loaded. Nothing else may fail.
    for e in &engine.errors {
        assert!(
            e.reason.contains("placeholder"),
            "{}: {}",
            e.file.display(),
            e.reason
        );
    }
    let index: std::collections::HashMap<&str, u32> = engine
        .rules()
        .iter()
        .enumerate()
        .map(|(i, r)| (r.rule.id.as_str(), i as u32))
        .collect();
    let mut infos = vec![];
    info_files(&root().join("regression_data"), &mut infos);
    infos.sort();
    let (mut checked, mut failures) = (0, vec![]);
    for info in &infos {
        let doc = &YamlLoader::load_from_str(&std::fs::read_to_string(info).unwrap()).unwrap()[0];
        let id = doc["rule_metadata"][0]["id"].as_str().unwrap();
        let rule = *index
            .get(id)
            .unwrap_or_else(|| panic!("{}: rule {id} not loaded", info.display()));
        let Some(tests) = doc["regression_tests_info"].as_vec() else {
            continue;
        };
        for test in tests {
            if test["name"]
                .as_str()
                .is_some_and(|n| !n.contains("Positive"))
            {
                continue;
            }
            let evtx = test["path"].as_str().unwrap();
            let json = root().join(evtx).with_extension("json");
            let text = std::fs::read_to_string(&json).unwrap();
            // A recording may hold the events around the one that fires: the rule must
            // fire on the recording, with every rule loaded and routed by log source.
            checked += 1;
            let fired = serde_json::Deserializer::from_str(&text)
                .into_iter::<&RawValue>()
                .any(|event| {
                    let ev = FlatEvent::from_json(engine.schema(), event.unwrap().get()).unwrap();
                    engine.evaluate(&ev).contains(&rule)
                });
            if !fired {
                failures.push(format!(
                    "{}: nothing in {} matches",
                    engine.rules()[rule as usize].rule.title,
                    json.display()
                ));
            }
        }
    }
    for f in &failures {
        eprintln!("{f}");
    }
    eprintln!(
        "{} of {checked} positive recordings fire their rule",
        checked - failures.len()
    );
    assert!(checked > 190, "{checked}");
    assert!(
        failures.is_empty(),
        "{} of {checked} recordings",
        failures.len()
    );
}
