//! SigmaHQ's regression data: for every rule with a positive test, the rule must fire on the
//! recorded events (the JSON exports beside each `.evtx`), evaluated on the event's fields as
//! Windows names them (the raw-event field mapping: `EventData`/`UserData` names, `EventID`,
//! `Channel`, `Computer`, `Provider_Name`).

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use yaml_rust2::YamlLoader;
use yunshou_detect::sigma::{load_dir, matcher::compile, Rule};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/sigma")
}

/// A Windows event as Sigma's raw field names see it.
fn flatten(event: &Value) -> Value {
    let mut out = Map::new();
    let e = &event["Event"];
    if let Some(system) = e["System"].as_object() {
        for (k, v) in system {
            let v = match v {
                Value::Object(o) => o.get("#text").cloned().unwrap_or(Value::Null),
                other => other.clone(),
            };
            if !v.is_null() {
                out.insert(k.clone(), v);
            }
        }
        if let Some(name) = e["System"]["Provider"]["#attributes"]["Name"].as_str() {
            out.insert("Provider_Name".into(), name.into());
        }
    }
    let mut data = |v: &Value| {
        if let Some(o) = v.as_object() {
            for (k, v) in o {
                match v {
                    Value::Object(inner) if k != "#attributes" => {
                        for (ik, iv) in inner {
                            if ik != "#attributes" {
                                out.insert(ik.clone(), iv.clone());
                            }
                        }
                    }
                    _ if k != "#attributes" => {
                        // Defender writes `Threat Name`; Sigma's field is `ThreatName`.
                        if k.contains(' ') {
                            out.insert(k.replace(' ', ""), v.clone());
                        }
                        out.insert(k.clone(), v.clone());
                    }
                    _ => {}
                }
            }
        }
    };
    data(&e["EventData"]);
    data(&e["UserData"]);
    Value::Object(out)
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
    let mut rules: HashMap<String, Rule> = HashMap::new();
    for dir in [
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-compliance",
        "rules-dfir",
    ] {
        for r in load_dir(&root().join(dir)).unwrap().rules {
            rules.insert(r.id.clone(), r);
        }
    }
    let mut infos = vec![];
    info_files(&root().join("regression_data"), &mut infos);
    infos.sort();
    let (mut checked, mut failures) = (0, vec![]);
    for info in &infos {
        let doc = &YamlLoader::load_from_str(&std::fs::read_to_string(info).unwrap()).unwrap()[0];
        let id = doc["rule_metadata"][0]["id"].as_str().unwrap();
        let rule = rules
            .get(id)
            .unwrap_or_else(|| panic!("{}: rule {id} not loaded", info.display()));
        let compiled = match compile(rule) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{}: {e}", rule.title));
                continue;
            }
        };
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
            // fire on the recording.
            checked += 1;
            let fired = serde_json::Deserializer::from_str(&text)
                .into_iter::<Value>()
                .any(|event| compiled.matches(&flatten(&event.unwrap())));
            if !fired {
                failures.push(format!(
                    "{}: nothing in {} matches",
                    rule.title,
                    json.display()
                ));
            }
        }
    }
    for f in &failures {
        eprintln!("{f}");
    }
    assert!(checked > 190, "{checked}");
    assert!(
        failures.is_empty(),
        "{} of {checked} recordings",
        failures.len()
    );
}
