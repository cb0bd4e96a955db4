//! Sigma correlation rules (v2.1): `event_count`, `value_count`, `value_sum`, `value_avg`,
//! `value_percentile`, `temporal` and `temporal_ordered` over the matches of other rules,
//! grouped by fields (with aliases when the rules name a field differently) within a timespan.
//!
//! This module reads the rules; [`super::correlator`] runs their windows.

pub use super::correlator::{Correlator, Fired, Hit, MAX_EVENTS, MAX_PER_GROUP};
use std::collections::HashMap;
use yaml_rust2::Yaml;

/// The kind of correlation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Number of matching events.
    EventCount,
    /// Number of distinct values of a field.
    ValueCount,
    /// Sum of a numeric field.
    ValueSum,
    /// Average of a numeric field.
    ValueAvg,
    /// A percentile of a numeric field.
    ValuePercentile,
    /// All (or N of) the rules matched, in any order.
    Temporal,
    /// All the rules matched, in the order listed.
    TemporalOrdered,
}

impl Kind {
    /// The Sigma name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::EventCount => "event_count",
            Kind::ValueCount => "value_count",
            Kind::ValueSum => "value_sum",
            Kind::ValueAvg => "value_avg",
            Kind::ValuePercentile => "value_percentile",
            Kind::Temporal => "temporal",
            Kind::TemporalOrdered => "temporal_ordered",
        }
    }
}

/// A threshold: every bound must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Threshold {
    /// `(operator, value)` pairs: `gt`, `gte`, `lt`, `lte`, `eq`, `neq`.
    pub bounds: Vec<(String, f64)>,
}

impl Threshold {
    /// Whether `x` satisfies every bound.
    pub fn holds(&self, x: f64) -> bool {
        self.bounds.iter().all(|(op, v)| match op.as_str() {
            "gt" => x > *v,
            "gte" => x >= *v,
            "lt" => x < *v,
            "lte" => x <= *v,
            "eq" => x == *v,
            _ => x != *v,
        })
    }

    /// True when the threshold only bounds from below (once met, more cannot undo it).
    pub fn lower_only(&self) -> bool {
        self.bounds.iter().all(|(op, _)| op == "gt" || op == "gte")
    }

    /// True when the threshold only bounds from above (judged when a window closes).
    pub fn upper_only(&self) -> bool {
        self.bounds.iter().all(|(op, _)| op == "lt" || op == "lte")
    }
}

/// A correlation rule as loaded.
#[derive(Debug, Clone)]
pub struct Correlation {
    /// Id.
    pub id: String,
    /// Name (other correlations may refer to it).
    pub name: Option<String>,
    /// Title.
    pub title: String,
    /// Author (shown with every result).
    pub author: Option<String>,
    /// Level.
    pub level: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Kind.
    pub kind: Kind,
    /// The rules it correlates, by id or name.
    pub rules: Vec<String>,
    /// Grouping fields (alias names allowed).
    pub group_by: Vec<String>,
    /// Window length in milliseconds.
    pub timespan_ms: i64,
    /// The threshold.
    pub threshold: Threshold,
    /// The field aggregated by the value kinds.
    pub field: Option<String>,
    /// The percentile for `value_percentile` (0–100).
    pub percentile: f64,
    /// Alias → (rule id or name → that rule's field).
    pub aliases: HashMap<String, HashMap<String, String>>,
    /// Whether the correlated rules also report their own matches.
    pub generate: bool,
    /// The document as written.
    pub source: String,
}

/// Parses `5m`, `30s`, `1h`, `2d`, `1w` (Sigma timespans) into milliseconds.
pub fn parse_timespan(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("timespan `{s}` is not a number with a unit"))?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        "M" => 30 * 86_400_000,
        "y" => 365 * 86_400_000,
        _ => return Err(format!("timespan `{s}`: unknown unit (s, m, h, d, w)")),
    };
    if n <= 0 {
        return Err(format!("timespan `{s}` must be positive"));
    }
    Ok(n * unit_ms)
}

fn texts(y: &Yaml) -> Vec<String> {
    match y {
        Yaml::Array(a) => a.iter().filter_map(text).collect(),
        other => text(other).into_iter().collect(),
    }
}

fn text(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        _ => None,
    }
}

fn number(y: &Yaml) -> Option<f64> {
    match y {
        Yaml::Integer(i) => Some(*i as f64),
        Yaml::Real(r) => r.parse().ok(),
        Yaml::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Reads a correlation document.
pub fn from_yaml(doc: &Yaml) -> Result<Correlation, String> {
    let c = &doc["correlation"];
    if c.as_hash().is_none() {
        return Err("`correlation` is not a mapping".into());
    }
    let title = text(&doc["title"]).ok_or("no `title`")?;
    let id = text(&doc["id"]).ok_or("no `id`")?;
    let kind = match c["type"].as_str().ok_or("the correlation has no `type`")? {
        "event_count" => Kind::EventCount,
        "value_count" => Kind::ValueCount,
        "value_sum" => Kind::ValueSum,
        "value_avg" => Kind::ValueAvg,
        "value_percentile" => Kind::ValuePercentile,
        "temporal" => Kind::Temporal,
        "temporal_ordered" => Kind::TemporalOrdered,
        other => return Err(format!("unknown correlation type `{other}`")),
    };
    let rules = texts(&c["rules"]);
    if rules.is_empty() {
        return Err("the correlation names no `rules`".into());
    }
    let span = text(&c["timespan"])
        .or_else(|| text(&c["timeframe"]))
        .ok_or("the correlation has no `timespan`")?;
    let timespan_ms = parse_timespan(&span)?;
    let mut threshold = Threshold::default();
    let mut field = None;
    let mut percentile = 50.0;
    match &c["condition"] {
        Yaml::Hash(h) => {
            for (k, v) in h {
                let k = k.as_str().unwrap_or_default();
                match k {
                    "gt" | "gte" | "lt" | "lte" | "eq" | "neq" => threshold.bounds.push((
                        k.to_string(),
                        number(v).ok_or_else(|| format!("condition `{k}` is not a number"))?,
                    )),
                    "field" => field = texts(v).into_iter().next(),
                    "percentile" => {
                        percentile = number(v).ok_or("`percentile` is not a number")?;
                        if !(0.0..=100.0).contains(&percentile) {
                            return Err("`percentile` must be within 0–100".into());
                        }
                    }
                    other => return Err(format!("unknown correlation condition key `{other}`")),
                }
            }
            if threshold.bounds.is_empty() {
                return Err("the correlation condition has no bound (gt, gte, lt, lte, eq)".into());
            }
        }
        Yaml::BadValue if matches!(kind, Kind::Temporal | Kind::TemporalOrdered) => {
            threshold.bounds.push(("gte".into(), rules.len() as f64));
        }
        Yaml::BadValue => return Err("the correlation has no `condition`".into()),
        _ => return Err("the correlation `condition` is not a mapping".into()),
    }
    let needs_field = matches!(
        kind,
        Kind::ValueCount | Kind::ValueSum | Kind::ValueAvg | Kind::ValuePercentile
    );
    if needs_field && field.is_none() {
        return Err(format!(
            "a {} correlation needs a condition `field`",
            kind.as_str()
        ));
    }
    let mut aliases = HashMap::new();
    if let Some(h) = c["aliases"].as_hash() {
        for (alias, per_rule) in h {
            let alias = alias.as_str().ok_or("an alias name is not text")?;
            let mut m = HashMap::new();
            for (rule, field) in per_rule.as_hash().ok_or("an alias is not a mapping")? {
                m.insert(
                    rule.as_str()
                        .ok_or("an alias rule is not text")?
                        .to_string(),
                    field
                        .as_str()
                        .ok_or("an alias field is not text")?
                        .to_string(),
                );
            }
            aliases.insert(alias.to_string(), m);
        }
    }
    let generate = doc["generate"]
        .as_bool()
        .or_else(|| c["generate"].as_bool())
        .unwrap_or(false);
    let mut source = String::new();
    let _ = yaml_rust2::YamlEmitter::new(&mut source).dump(doc);
    Ok(Correlation {
        id,
        name: text(&doc["name"]),
        title,
        author: text(&doc["author"]),
        level: text(&doc["level"]),
        status: text(&doc["status"]),
        tags: texts(&doc["tags"]),
        kind,
        rules,
        group_by: texts(&c["group-by"]),
        timespan_ms,
        threshold,
        field,
        percentile,
        aliases,
        generate,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use yaml_rust2::YamlLoader;

    #[test]
    fn parse_errors() {
        let bad = |t: &str| from_yaml(&YamlLoader::load_from_str(t).unwrap()[0]).unwrap_err();
        assert!(
            bad("title: t\nid: c\ncorrelation:\n  type: nope\n  rules: [r]\n  timespan: 1m\n")
                .contains("nope")
        );
        assert!(bad("title: t\nid: c\ncorrelation:\n  type: value_count\n  rules: [r]\n  timespan: 1m\n  condition: {gte: 2}\n").contains("field"));
        assert!(bad("title: t\nid: c\ncorrelation:\n  type: event_count\n  rules: [r]\n  timespan: 5x\n  condition: {gte: 2}\n").contains("unit"));
        assert_eq!(parse_timespan("2h").unwrap(), 7_200_000);
    }
}
