//! Sigma rules (the SigmaHQ format, v2): documents read from YAML, checked, and kept with what
//! a match must show — id, title, level, tags and the author the Detection Rule License
//! requires. A document that cannot be used is reported with its file and reason.

pub mod condition;
pub mod correlation;
pub mod correlator;
pub mod matcher;
pub mod value;

use condition::Condition;
use std::path::{Path, PathBuf};
use yaml_rust2::{Yaml, YamlLoader};

/// Where a rule applies (`logsource`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSource {
    /// e.g. `windows`, `linux`.
    pub product: Option<String>,
    /// e.g. `sysmon`, `auth`.
    pub service: Option<String>,
    /// e.g. `process_creation`.
    pub category: Option<String>,
}

/// A detection rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule's id (a UUID in SigmaHQ).
    pub id: String,
    /// The rule's `name`, by which correlation rules may refer to it.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Known false positives.
    pub falsepositives: Vec<String>,
    /// The file it came from.
    pub file: PathBuf,
    /// Which YAML document of the file (1-based).
    pub document: usize,
    /// The document as written (shown in the console).
    pub source: String,
    /// Title.
    pub title: String,
    /// Author(s), shown with every match (Detection Rule License).
    pub author: Option<String>,
    /// `informational`, `low`, `medium`, `high`, `critical`.
    pub level: Option<String>,
    /// `stable`, `test`, `experimental`, `deprecated`, `unsupported`.
    pub status: Option<String>,
    /// Tags (`attack.t1110`, …).
    pub tags: Vec<String>,
    /// Where it applies.
    pub logsource: LogSource,
    /// The named search identifiers, as written.
    pub searches: Vec<(String, Yaml)>,
    /// The condition(s): several are alternatives.
    pub conditions: Vec<Condition>,
}

/// A document of a rule file that was not loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The file.
    pub file: PathBuf,
    /// Which YAML document of the file (1-based).
    pub document: usize,
    /// Why.
    pub reason: String,
}

/// A Sigma filter: a condition added to the rules it names (`not selection` to drop
/// known-benign matches without editing the rules).
#[derive(Debug, Clone)]
pub struct Filter {
    /// Its id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Ids or names of the rules it applies to.
    pub rules: Vec<String>,
    /// The filter's own searches and condition, as a rule.
    pub rule: Rule,
}

/// What a load produced.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Detection rules.
    pub rules: Vec<Rule>,
    /// Correlation rules.
    pub correlations: Vec<correlation::Correlation>,
    /// Filters.
    pub filters: Vec<Filter>,
    /// Everything that could not be loaded, with the reason.
    pub errors: Vec<LoadError>,
}

fn list(y: &Yaml) -> Vec<String> {
    match y {
        Yaml::Array(v) => v.iter().filter_map(scalar_text).collect(),
        other => scalar_text(other).into_iter().collect(),
    }
}

fn scalar_text(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Real(r) => Some(r.clone()),
        _ => None,
    }
}

/// One parsed document of a rule file.
pub enum Document {
    /// A detection rule.
    Rule(Rule),
    /// A correlation rule.
    Correlation(correlation::Correlation),
    /// A filter.
    Filter(Filter),
}

fn text(y: &Yaml, key: &str) -> Option<String> {
    match &y[key] {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Real(r) => Some(r.clone()),
        _ => None,
    }
}

/// Reads one YAML document: a rule, a correlation rule or a filter.
pub fn document_from_yaml(doc: &Yaml, file: &Path) -> Result<Document, String> {
    if doc.as_hash().is_none() {
        return Err("not a YAML mapping".into());
    }
    if !doc["correlation"].is_badvalue() {
        return correlation::from_yaml(doc).map(Document::Correlation);
    }
    if !doc["filter"].is_badvalue() {
        let f = &doc["filter"];
        let rules = list(&f["rules"]);
        if rules.is_empty() {
            return Err("the filter names no `rules`".into());
        }
        let rule = rule_from_parts(doc, f, file)?;
        return Ok(Document::Filter(Filter {
            id: rule.id.clone(),
            title: rule.title.clone(),
            rules,
            rule,
        }));
    }
    let detection = &doc["detection"];
    rule_from_parts(doc, detection, file).map(Document::Rule)
}

/// Reads one YAML document as a detection rule (correlations and filters are refused).
pub fn rule_from_yaml(doc: &Yaml) -> Result<Rule, String> {
    match document_from_yaml(doc, Path::new(""))? {
        Document::Rule(r) => Ok(r),
        _ => Err("not a detection rule".into()),
    }
}

fn rule_from_parts(doc: &Yaml, detection: &Yaml, file: &Path) -> Result<Rule, String> {
    let title = text(doc, "title").ok_or("no `title`")?;
    let id = text(doc, "id").ok_or("no `id`")?;
    let detection = detection.as_hash().ok_or("no `detection` mapping")?;
    let mut searches = vec![];
    let mut conditions = vec![];
    for (k, v) in detection {
        let name = k.as_str().ok_or("a `detection` key is not a string")?;
        if name == "rules" {
            // A filter's target list, read by the caller.
            continue;
        }
        if name == "condition" {
            let list: Vec<&str> = match v {
                Yaml::String(s) => vec![s.as_str()],
                Yaml::Array(a) => a
                    .iter()
                    .map(|c| c.as_str().ok_or("a condition is not text"))
                    .collect::<Result<_, _>>()?,
                _ => return Err("`condition` is neither text nor a list".into()),
            };
            for c in list {
                conditions.push(condition::parse(c).map_err(|e| format!("condition `{c}`: {e}"))?);
            }
        } else if name == "timeframe" {
            // Sigma 1's aggregation window; only meaningful with pipes, refused there.
        } else {
            match v {
                Yaml::Hash(_) | Yaml::Array(_) | Yaml::String(_) | Yaml::Integer(_) => {
                    searches.push((name.to_string(), v.clone()))
                }
                _ => {
                    return Err(format!(
                        "search `{name}`: neither a map, a list nor a value"
                    ))
                }
            }
        }
    }
    if conditions.is_empty() {
        return Err("no `condition`".into());
    }
    for c in &conditions {
        for r in c.refs() {
            if !searches.iter().any(|(n, _)| n == r) {
                return Err(format!(
                    "the condition names `{r}`, which `detection` does not define"
                ));
            }
        }
    }
    let tags = list(&doc["tags"]);
    let ls = &doc["logsource"];
    let mut source = String::new();
    let _ = yaml_rust2::YamlEmitter::new(&mut source).dump(doc);
    Ok(Rule {
        id,
        name: text(doc, "name"),
        description: text(doc, "description"),
        falsepositives: list(&doc["falsepositives"]),
        file: file.to_path_buf(),
        document: 0,
        source,
        title,
        author: text(doc, "author"),
        level: text(doc, "level"),
        status: text(doc, "status"),
        tags,
        logsource: LogSource {
            product: text(ls, "product"),
            service: text(ls, "service"),
            category: text(ls, "category"),
        },
        searches,
        conditions,
    })
}

/// Loads every document of `text` (from `file`) into `out`.
pub fn load_text(file: &Path, text: &str, out: &mut Loaded) {
    let docs = match YamlLoader::load_from_str(text) {
        Ok(d) => d,
        Err(e) => {
            out.errors.push(LoadError {
                file: file.into(),
                document: 1,
                reason: format!("YAML: {e}"),
            });
            return;
        }
    };
    for (i, doc) in docs.iter().enumerate() {
        match document_from_yaml(doc, file) {
            Ok(Document::Rule(mut rule)) => {
                rule.document = i + 1;
                out.rules.push(rule)
            }
            Ok(Document::Correlation(c)) => out.correlations.push(c),
            Ok(Document::Filter(f)) => out.filters.push(f),
            Err(reason) => out.errors.push(LoadError {
                file: file.into(),
                document: i + 1,
                reason,
            }),
        }
    }
}

/// Loads every `.yml`/`.yaml` file under `dir` (recursively, in name order).
pub fn load_dir(dir: &Path) -> std::io::Result<Loaded> {
    let mut files = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e == "yml" || e == "yaml")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut out = Loaded::default();
    for f in files {
        match std::fs::read_to_string(&f) {
            Ok(text) => load_text(&f, &text, &mut out),
            Err(e) => out.errors.push(LoadError {
                file: f,
                document: 1,
                reason: format!("reading: {e}"),
            }),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_and_its_problems() {
        let mut out = Loaded::default();
        load_text(
            Path::new("r.yml"),
            "title: SSH brute force\nid: 1\nauthor: yunshou\nlevel: high\ntags: [attack.t1110]\nlogsource: {product: linux, service: auth}\ndetection:\n  sel: {message|contains: Failed password}\n  condition: sel\n---\ntitle: bad\nid: 2\ndetection:\n  sel: {a: 1}\n  condition: sel and other\n---\ntitle: c\nid: 3\ncorrelation: {type: event_count, rules: [1], group-by: [source.ip], timespan: 5m, condition: {gte: 10}}\n",
            &mut out,
        );
        assert_eq!(out.rules.len(), 1);
        assert_eq!(out.rules[0].author.as_deref(), Some("yunshou"));
        assert_eq!(out.rules[0].logsource.service.as_deref(), Some("auth"));
        assert_eq!(out.correlations.len(), 1);
        assert_eq!(out.errors.len(), 1);
        assert_eq!(out.errors[0].document, 2);
        assert!(out.errors[0].reason.contains("`other`"), "{:?}", out.errors);
        let mut out = Loaded::default();
        load_text(Path::new("x.yml"), "title: [unclosed", &mut out);
        assert!(out.errors[0].reason.starts_with("YAML"));
    }
}
