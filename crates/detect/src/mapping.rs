//! Mapping files: how Sigma's log sources and field names meet an organisation's events.
//! A mapping says which events belong to which Sigma log source (`logsources`), which event
//! fields answer to a Sigma field name (`fields`, `prefixes`), where event time is read
//! (`time_fields`) and what `%placeholders%` expand to. Two ship with yunshou —
//! `mappings/ecs.yml` for its own ECS events and `mappings/windows.yml` for raw
//! Windows/Sysmon events — and users add their own; several combine in order.

use crate::sigma::matcher::Placeholders;
use std::path::Path;
use yaml_rust2::{Yaml, YamlLoader};

/// The mapping for yunshou's ECS events.
pub const ECS: &str = include_str!("../mappings/ecs.yml");
/// The mapping for raw Windows and Sysmon events.
pub const WINDOWS: &str = include_str!("../mappings/windows.yml");

/// One log-source definition: events whose fields hold these values are in this source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceRule {
    /// Field → accepted values (compared case-insensitively); every field must hold one.
    pub when: Vec<(String, Vec<String>)>,
    /// Products it contributes.
    pub product: Vec<String>,
    /// Services.
    pub service: Vec<String>,
    /// Categories.
    pub category: Vec<String>,
    /// Whether the definition names its categories (`category: []` included): an event it
    /// holds is in no category it does not name, so rules naming another category skip it.
    /// Without it an event's unnamed category is unknown, a wildcard every rule admits.
    pub category_named: bool,
}

/// A (combined) mapping.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// Names of the files combined, for reports.
    pub names: Vec<String>,
    /// Sigma field → event paths.
    pub fields: Vec<(String, Vec<String>)>,
    /// Event path prefixes whose children answer to their bare names.
    pub prefixes: Vec<String>,
    /// Log-source definitions.
    pub sources: Vec<SourceRule>,
    /// Where event time is read, first present wins.
    pub time_fields: Vec<String>,
    /// Event fields carrying the log source directly: (product, service, category).
    pub logsource_fields: Option<(String, String, String)>,
    /// `%placeholder%` values.
    pub placeholders: Placeholders,
}

fn strings(y: &Yaml) -> Vec<String> {
    let one = |v: &Yaml| match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Real(r) => Some(r.clone()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    };
    match y {
        Yaml::Array(a) => a.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    }
}

impl Mapping {
    /// The two shipped mappings combined.
    pub fn builtin() -> Mapping {
        let mut m = Mapping::default();
        m.add_text("ecs", ECS)
            .expect("the shipped ECS mapping is valid");
        m.add_text("windows", WINDOWS)
            .expect("the shipped Windows mapping is valid");
        m
    }

    /// Adds a mapping file.
    pub fn add_file(&mut self, path: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        self.add_text(&path.display().to_string(), &text)
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Adds a mapping given as YAML text; an error names what is wrong.
    pub fn add_text(&mut self, name: &str, text: &str) -> Result<(), String> {
        let docs = YamlLoader::load_from_str(text).map_err(|e| format!("YAML: {e}"))?;
        let doc = docs.first().ok_or("empty mapping")?;
        let top = doc.as_hash().ok_or("a mapping file is a YAML mapping")?;
        for (k, _) in top {
            let k = k.as_str().unwrap_or_default();
            if ![
                "name",
                "fields",
                "prefixes",
                "logsources",
                "time_fields",
                "logsource_fields",
                "placeholders",
            ]
            .contains(&k)
            {
                return Err(format!("unknown key `{k}`"));
            }
        }
        self.names
            .push(doc["name"].as_str().unwrap_or(name).to_string());
        if let Some(h) = doc["fields"].as_hash() {
            for (k, v) in h {
                let k = k.as_str().ok_or("a `fields` key is not text")?;
                let paths = strings(v);
                if paths.is_empty() {
                    return Err(format!("field `{k}` maps to nothing"));
                }
                self.fields.push((k.to_string(), paths));
            }
        }
        self.prefixes.extend(strings(&doc["prefixes"]));
        for (i, s) in doc["logsources"].as_vec().into_iter().flatten().enumerate() {
            let when = s["when"]
                .as_hash()
                .ok_or_else(|| format!("logsources[{i}]: no `when` mapping"))?
                .iter()
                .map(|(k, v)| {
                    Ok((
                        k.as_str()
                            .ok_or_else(|| format!("logsources[{i}]: a `when` key is not text"))?
                            .to_string(),
                        strings(v).into_iter().map(|x| x.to_lowercase()).collect(),
                    ))
                })
                .collect::<Result<Vec<_>, String>>()?;
            let rule = SourceRule {
                when,
                product: strings(&s["product"]),
                service: strings(&s["service"]),
                category: strings(&s["category"]),
                category_named: !s["category"].is_badvalue(),
            };
            if rule.product.is_empty() && rule.service.is_empty() && rule.category.is_empty() {
                return Err(format!(
                    "logsources[{i}]: names no product, service or category"
                ));
            }
            self.sources.push(rule);
        }
        for f in strings(&doc["time_fields"]) {
            if !self.time_fields.contains(&f) {
                self.time_fields.push(f);
            }
        }
        let lf = &doc["logsource_fields"];
        if lf.as_hash().is_some() {
            let get = |k: &str| lf[k].as_str().unwrap_or(k).to_string();
            self.logsource_fields = Some((get("product"), get("service"), get("category")));
        }
        if let Some(h) = doc["placeholders"].as_hash() {
            for (k, v) in h {
                let k = k.as_str().ok_or("a placeholder name is not text")?;
                self.placeholders.insert(k.to_string(), strings(v));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_and_errors() {
        let m = Mapping::builtin();
        assert_eq!(m.names, vec!["ecs", "windows"]);
        assert!(m.sources.len() > 60);
        assert!(m.fields.iter().any(|(k, _)| k == "CommandLine"));
        let mut bad = Mapping::default();
        assert!(bad.add_text("x", "nope: 1").unwrap_err().contains("nope"));
        assert!(bad
            .add_text("x", "logsources:\n  - {when: {a: 1}}\n")
            .unwrap_err()
            .contains("logsources[0]"));
        assert!(bad
            .add_text("x", "fields: [")
            .unwrap_err()
            .starts_with("YAML"));
    }

    #[test]
    fn an_empty_category_list_is_named_and_a_missing_one_is_not() {
        let mut m = Mapping::default();
        m.add_text(
            "x",
            "logsources:\n  - {when: {a: 1}, product: p, category: []}\n  - {when: {a: 2}, product: p}\n  - {when: {a: 3}, category: c}\n",
        )
        .unwrap();
        let named: Vec<_> = m
            .sources
            .iter()
            .map(|s| (s.category.clone(), s.category_named))
            .collect();
        assert_eq!(
            named,
            vec![
                (vec![], true),
                (vec![], false),
                (vec!["c".to_string()], true)
            ]
        );
        // A definition naming only an empty category names nothing.
        assert!(Mapping::default()
            .add_text("x", "logsources:\n  - {when: {a: 1}, category: []}\n")
            .is_err());
    }
}
