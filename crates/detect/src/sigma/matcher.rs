//! Compiled Sigma searches: each search identifier becomes a matcher over an event's fields
//! (by field id), with the value modifiers applied once at load time, and the condition is
//! resolved to search indices. [`Compiled::necessary`] names the literals a match cannot do
//! without, which the engine's prefilter looks for before evaluating a rule at all.

use super::condition::{pattern_matches, Condition};
use super::value::{Ordering, StrOp, Test, TimePart};
use super::Rule;
use crate::event::{FieldId, FlatEvent, Kind, Schema};
use base64::Engine;
use regex::RegexBuilder;
use std::collections::HashMap;
use yaml_rust2::Yaml;

/// One `field|modifiers: values` line.
#[derive(Debug, Clone)]
struct FieldTest {
    /// `None` for keyword searches (any value of the event).
    field: Option<FieldId>,
    /// One entry per listed value: alternatives any of which passes (encodings, `windash`,
    /// placeholders give several).
    values: Vec<Vec<Test>>,
    /// `|all`: every listed value must pass, not any.
    all: bool,
    /// `|neq`: the line passes when no value does.
    negate: bool,
}

/// A search identifier: a map (every line), a list of maps (any map), or keywords.
#[derive(Debug, Clone)]
enum Search {
    AllOf(Vec<FieldTest>),
    AnyOf(Vec<Search>),
}

/// A condition with its searches resolved to indices.
#[derive(Debug, Clone)]
enum Cond {
    Search(usize),
    Any(Vec<usize>),
    All(Vec<usize>),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

/// A rule ready to evaluate.
#[derive(Debug, Clone)]
pub struct Compiled {
    searches: Vec<Search>,
    condition: Cond,
    /// Some search looks at every value of the event (keywords).
    pub uses_keywords: bool,
}

/// Placeholder values for `|expand` (`%domain_controllers%` → its values).
pub type Placeholders = HashMap<String, Vec<String>>;

fn scalar(y: &Yaml) -> Option<Option<String>> {
    match y {
        Yaml::String(s) => Some(Some(s.clone())),
        Yaml::Integer(i) => Some(Some(i.to_string())),
        Yaml::Real(r) => Some(Some(r.clone())),
        Yaml::Boolean(b) => Some(Some(b.to_string())),
        Yaml::Null => Some(None),
        _ => None,
    }
}

fn utf16(s: &str, big_endian: bool) -> String {
    let bytes: Vec<u8> = s
        .encode_utf16()
        .flat_map(|u| {
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        })
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The three encodings of `bytes` at each offset modulo 3, without the edge characters
/// that depend on the neighbouring bytes (Sigma's `base64offset`).
fn base64_offsets(bytes: &[u8]) -> Vec<String> {
    let std = base64::engine::general_purpose::STANDARD;
    (0..3)
        .map(|i| {
            let mut padded = vec![b' '; i];
            padded.extend_from_slice(bytes);
            let enc = std.encode(&padded);
            let start = [0usize, 2, 3][i];
            let end = match (bytes.len() + i) % 3 {
                0 => enc.len(),
                1 => enc.len().saturating_sub(3),
                _ => enc.len().saturating_sub(2),
            };
            enc.get(start..end.max(start)).unwrap_or("").to_string()
        })
        .collect()
}

/// `windash`: the value as written and with each word-leading `-` as `/`, en, em and
/// horizontal-bar dashes.
fn windash(text: &str) -> Vec<String> {
    let mut out = vec![text.to_string()];
    for dash in ['/', '–', '—', '―'] {
        out.push(
            text.split(' ')
                .map(|w| match w.strip_prefix('-') {
                    Some(rest) => format!("{dash}{rest}"),
                    None => w.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    out
}

/// Replaces `%name%` placeholders with each configured value (the cross product).
fn expand(text: &str, placeholders: &Placeholders) -> Result<Vec<String>, String> {
    let Some(start) = text.find('%') else {
        return Ok(vec![text.to_string()]);
    };
    let Some(len) = text[start + 1..].find('%') else {
        return Ok(vec![text.to_string()]);
    };
    let name = &text[start + 1..start + 1 + len];
    let values = placeholders.get(name).ok_or_else(|| {
        format!(
            "placeholder `%{name}%` has no values (configure it in the mapping's `placeholders`)"
        )
    })?;
    let rest = expand(&text[start + len + 2..], placeholders)?;
    Ok(values
        .iter()
        .flat_map(|v| {
            rest.iter()
                .map(move |r| format!("{}{v}{r}", &text[..start]))
        })
        .collect())
}

#[derive(Default)]
struct Modifiers<'a> {
    all: bool,
    cased: bool,
    contains: bool,
    starts: bool,
    ends: bool,
    re: bool,
    re_flags: (bool, bool, bool),
    encode: Vec<&'a str>,
    compare: Option<Ordering>,
    time: Option<TimePart>,
    cidr: bool,
    exists: bool,
    fieldref: bool,
    neq: bool,
    expand: bool,
}

fn modifiers<'a>(key: &str, mods: &[&'a str]) -> Result<Modifiers<'a>, String> {
    let mut m = Modifiers::default();
    for name in mods {
        match *name {
            "contains" => m.contains = true,
            "startswith" => m.starts = true,
            "endswith" => m.ends = true,
            "all" => m.all = true,
            "cased" => m.cased = true,
            "re" => m.re = true,
            "i" => m.re_flags.0 = true,
            "m" => m.re_flags.1 = true,
            "s" => m.re_flags.2 = true,
            "base64" | "base64offset" | "utf16" | "utf16le" | "utf16be" | "wide" | "windash" => {
                m.encode.push(name)
            }
            "gt" => m.compare = Some(Ordering::Gt),
            "gte" => m.compare = Some(Ordering::Gte),
            "lt" => m.compare = Some(Ordering::Lt),
            "lte" => m.compare = Some(Ordering::Lte),
            "minute" => m.time = Some(TimePart::Minute),
            "hour" => m.time = Some(TimePart::Hour),
            "day" => m.time = Some(TimePart::Day),
            "week" => m.time = Some(TimePart::Week),
            "month" => m.time = Some(TimePart::Month),
            "year" => m.time = Some(TimePart::Year),
            "cidr" => m.cidr = true,
            "exists" => m.exists = true,
            "fieldref" => m.fieldref = true,
            "neq" => m.neq = true,
            "expand" => m.expand = true,
            other => return Err(format!("`{key}`: unknown modifier `{other}`")),
        }
    }
    Ok(m)
}

fn string_tests(
    key: &str,
    v: &str,
    m: &Modifiers,
    placeholders: &Placeholders,
) -> Result<Vec<Test>, String> {
    let texts = if m.expand {
        expand(v, placeholders).map_err(|e| format!("`{key}`: {e}"))?
    } else {
        vec![v.to_string()]
    };
    // Encodings turn one value into alternatives; encoded text is literal, not wildcards.
    let mut variants: Vec<(String, bool)> = texts.into_iter().map(|t| (t, true)).collect();
    for e in &m.encode {
        variants = variants
            .into_iter()
            .flat_map(|(text, wild)| -> Vec<(String, bool)> {
                match *e {
                    "windash" => windash(&text).into_iter().map(|t| (t, wild)).collect(),
                    "utf16" | "utf16le" | "wide" => vec![(utf16(&text, false), false)],
                    "utf16be" => vec![(utf16(&text, true), false)],
                    "base64" => vec![(
                        base64::engine::general_purpose::STANDARD.encode(text.as_bytes()),
                        false,
                    )],
                    _ => base64_offsets(text.as_bytes())
                        .into_iter()
                        .map(|t| (t, false))
                        .collect(),
                }
            })
            .collect();
    }
    let encoded = !m.encode.iter().all(|e| *e == "windash");
    let cased = m.cased || encoded;
    Ok(variants
        .into_iter()
        .map(|(text, wild)| {
            let text = if cased { text } else { text.to_lowercase() };
            Test::Str {
                op: StrOp::new(&text, wild, m.contains, m.starts, m.ends),
                cased,
            }
        })
        .collect())
}

fn field_test(
    key: &str,
    values: &Yaml,
    schema: &mut Schema,
    placeholders: &Placeholders,
) -> Result<FieldTest, String> {
    let mut parts = key.split('|');
    let name = parts.next().unwrap_or_default();
    let field = (!name.is_empty()).then(|| schema.field(name));
    let mods: Vec<&str> = parts.collect();
    let mut m = modifiers(key, &mods)?;
    let raw: Vec<Option<String>> = match values {
        Yaml::Array(a) => a
            .iter()
            .map(|v| scalar(v).ok_or_else(|| format!("`{key}`: a value is not a scalar")))
            .collect::<Result<_, _>>()?,
        v => vec![scalar(v).ok_or_else(|| format!("`{key}`: the value is not a scalar"))?],
    };
    // Keywords are found anywhere in a value (full-text search), not as whole values.
    if field.is_none() {
        if m.exists || m.fieldref || m.neq {
            return Err(format!(
                "`{key}`: a keyword search cannot use this modifier"
            ));
        }
        if !(m.starts || m.ends || m.re) {
            m.contains = true;
        }
    }
    let mut groups = vec![];
    for v in raw {
        let Some(v) = v else {
            groups.push(vec![Test::Null]);
            continue;
        };
        let test = if m.exists {
            match v.to_ascii_lowercase().as_str() {
                "true" => Test::Exists(true),
                "false" => Test::Exists(false),
                _ => return Err(format!("`{key}`: `exists` takes true or false, not `{v}`")),
            }
        } else if m.fieldref {
            Test::FieldRef(schema.field(&v), m.cased)
        } else if let Some(o) = m.compare {
            let n = v
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("`{key}`: `{v}` is not a number"))?;
            Test::Num(o, n)
        } else if let Some(part) = m.time {
            let n = v
                .trim()
                .parse::<i64>()
                .map_err(|_| format!("`{key}`: `{v}` is not a whole number"))?;
            Test::Time(part, n)
        } else if m.cidr {
            Test::Cidr(
                v.trim()
                    .parse::<ipnet::IpNet>()
                    .map_err(|e| format!("`{key}`: `{v}`: {e}"))?,
            )
        } else if m.re {
            let r = RegexBuilder::new(&v)
                .case_insensitive(m.re_flags.0)
                .multi_line(m.re_flags.1)
                .dot_matches_new_line(m.re_flags.2)
                .size_limit(1 << 22)
                .build()
                .map_err(|e| format!("`{key}`: regular expression: {e}"))?;
            Test::Regex(r)
        } else {
            groups.push(string_tests(key, &v, &m, placeholders)?);
            continue;
        };
        groups.push(vec![test]);
    }
    if groups.is_empty() {
        return Err(format!("`{key}`: an empty list of values"));
    }
    Ok(FieldTest {
        field,
        values: groups,
        all: m.all,
        negate: m.neq,
    })
}

fn search(y: &Yaml, schema: &mut Schema, placeholders: &Placeholders) -> Result<Search, String> {
    match y {
        Yaml::Hash(h) => {
            let mut lines = vec![];
            for (k, v) in h {
                let key = k
                    .as_str()
                    .map(str::to_string)
                    .or_else(|| scalar(k).flatten())
                    .ok_or("a search key is not text")?;
                lines.push(field_test(&key, v, schema, placeholders)?);
            }
            Ok(Search::AllOf(lines))
        }
        Yaml::Array(items) if items.iter().all(|i| i.as_hash().is_some()) => Ok(Search::AnyOf(
            items
                .iter()
                .map(|i| search(i, schema, placeholders))
                .collect::<Result<_, _>>()?,
        )),
        // A list of keywords, or a single one: any value anywhere in the event.
        other => Ok(Search::AllOf(vec![field_test(
            "",
            other,
            schema,
            placeholders,
        )?])),
    }
}

fn resolve(c: &Condition, names: &[String]) -> Cond {
    let matching = |p: &str| -> Vec<usize> {
        names
            .iter()
            .enumerate()
            // `them` leaves out identifiers starting with `_` (Sigma's convention).
            .filter(|(_, n)| pattern_matches(p, n) && !(p == "*" && n.starts_with('_')))
            .map(|(i, _)| i)
            .collect()
    };
    match c {
        Condition::Ref(n) => Cond::Search(names.iter().position(|x| x == n).unwrap_or(usize::MAX)),
        Condition::OneOf(p) => Cond::Any(matching(p)),
        Condition::AllOf(p) => Cond::All(matching(p)),
        Condition::Not(c) => Cond::Not(Box::new(resolve(c, names))),
        Condition::And(v) => Cond::And(v.iter().map(|c| resolve(c, names)).collect()),
        Condition::Or(v) => Cond::Or(v.iter().map(|c| resolve(c, names)).collect()),
    }
}

/// Compiles a loaded rule, registering the fields it reads in `schema`; an unknown modifier
/// or a bad value is an error naming it.
pub fn compile_with(
    rule: &Rule,
    schema: &mut Schema,
    placeholders: &Placeholders,
) -> Result<Compiled, String> {
    let names: Vec<String> = rule.searches.iter().map(|(n, _)| n.clone()).collect();
    let searches: Vec<Search> = rule
        .searches
        .iter()
        .map(|(_, y)| search(y, schema, placeholders))
        .collect::<Result<_, _>>()?;
    let mut conds: Vec<Cond> = rule.conditions.iter().map(|c| resolve(c, &names)).collect();
    let condition = if conds.len() == 1 {
        conds.pop().expect("one")
    } else {
        Cond::Or(conds)
    };
    let uses_keywords = searches.iter().any(Search::uses_keywords);
    if uses_keywords {
        schema.keep_unnamed = true;
    }
    Ok(Compiled {
        searches,
        condition,
        uses_keywords,
    })
}

/// Stands for "any field of the event" in prefilter literals of keyword searches.
pub const ANY_FIELD: FieldId = u32::MAX - 1;

impl FieldTest {
    fn group_passes(&self, group: &[Test], ev: &FlatEvent) -> bool {
        let Some(field) = self.field else {
            // Every value once: a field's alias copies hold the same text.
            return group
                .iter()
                .any(|t| ev.leaves.iter().any(|l| !l.alias && t.check_leaf(l)));
        };
        group.iter().any(|t| match t {
            Test::Exists(want) => ev.values(field).any(|l| l.kind != Kind::Null) == *want,
            Test::Null => ev
                .values(field)
                .all(|l| l.kind == Kind::Null || l.text.is_empty()),
            Test::FieldRef(other, cased) => ev.values(field).any(|a| {
                ev.values(*other).any(|b| {
                    if *cased {
                        a.text == b.text
                    } else {
                        a.lower() == b.lower()
                    }
                })
            }),
            t => ev.values(field).any(|l| t.check_leaf(l)),
        })
    }

    fn check(&self, ev: &FlatEvent) -> bool {
        let pass = if self.all {
            self.values.iter().all(|g| self.group_passes(g, ev))
        } else {
            self.values.iter().any(|g| self.group_passes(g, ev))
        };
        pass != self.negate
    }

    /// Literals (field, lower-cased text) any passing event contains, as clauses (one per
    /// value of an `all` test, else one); a keyword search's literals may be in any field
    /// ([`ANY_FIELD`]).
    fn necessary(&self) -> Option<Clauses> {
        if self.negate {
            return None;
        }
        let field = self.field.unwrap_or(ANY_FIELD);
        let group = |g: &Vec<Test>| -> Option<Vec<(FieldId, String)>> {
            let mut out = vec![];
            for t in g {
                match t {
                    Test::Str { op, .. } => out.push((field, op.literal()?.to_lowercase())),
                    Test::Regex(r) => out.extend(
                        crate::sigma::value::regex_literals(r.as_str())?
                            .into_iter()
                            .map(|l| (field, l)),
                    ),
                    _ => return None,
                }
            }
            Some(out)
        };
        if self.all {
            let clauses: Clauses = self.values.iter().filter_map(group).collect();
            (!clauses.is_empty()).then_some(clauses)
        } else {
            union(self.values.iter().map(group)).map(|any| vec![any])
        }
    }
}

/// Literals a rule cannot match without, in conjunctive form: for every clause, a matching
/// event holds one of its literals in that literal's field. Several clauses let the
/// prefilter pass a rule only when all of them are found: a rule needing
/// `ParentImage|contains: \AppData\` and `User|contains: ANONYMOUS` is not evaluated for
/// every process started from a user's profile.
pub type Clauses = Vec<Vec<(FieldId, String)>>;

/// At most this many clauses per rule are kept, the most selective: each costs the
/// prefilter its literals' matches. Two beat one by 1.02–1.03× on the hunt over the regression
/// events (27 candidate rules per process creation, for 1.6 matches); three lost 1.06× to
/// two (docs/benchmarks.md).
pub const MAX_CLAUSES: usize = 2;

/// How selective a clause is: the rarity of its commonest literal, then fewer literals.
fn selectivity(clause: &[(FieldId, String)]) -> (usize, usize) {
    (
        clause
            .iter()
            .map(|(_, l)| rarity(l))
            .min()
            .unwrap_or(usize::MAX),
        usize::MAX - clause.len(),
    )
}

/// The clauses of parts that must all hold (`None`: no part has any).
fn conjunction(parts: impl Iterator<Item = Clauses>) -> Option<Clauses> {
    let clauses: Clauses = parts.flatten().collect();
    (!clauses.is_empty()).then_some(clauses)
}

/// The clause of parts one of which must hold: each part's most selective clause, joined
/// (`None`: some part has none, so nothing is necessary).
fn disjunction(parts: impl Iterator<Item = Option<Clauses>>) -> Option<Clauses> {
    let mut any = vec![];
    for clauses in parts {
        any.extend(clauses?.into_iter().max_by_key(|c| selectivity(c))?);
    }
    Some(vec![any])
}

/// How seldom a literal is likely to occur in values: longer is rarer, and punctuation is
/// rarer than letters and digits (`={{` says more than `get`, though both are three long).
fn rarity(literal: &str) -> usize {
    literal.len() + 2 * literal.bytes().filter(|b| b.is_ascii_punctuation()).count()
}

fn union(
    sets: impl Iterator<Item = Option<Vec<(FieldId, String)>>>,
) -> Option<Vec<(FieldId, String)>> {
    let mut out = vec![];
    for s in sets {
        out.extend(s?);
    }
    Some(out)
}

impl Search {
    fn check(&self, ev: &FlatEvent) -> bool {
        match self {
            Search::AllOf(lines) => lines.iter().all(|l| l.check(ev)),
            Search::AnyOf(alts) => alts.iter().any(|s| s.check(ev)),
        }
    }

    fn uses_keywords(&self) -> bool {
        match self {
            Search::AllOf(lines) => lines.iter().any(|l| l.field.is_none()),
            Search::AnyOf(alts) => alts.iter().any(Search::uses_keywords),
        }
    }

    fn necessary(&self) -> Option<Clauses> {
        match self {
            Search::AllOf(lines) => conjunction(lines.iter().filter_map(FieldTest::necessary)),
            Search::AnyOf(alts) => disjunction(alts.iter().map(Search::necessary)),
        }
    }
}

impl Compiled {
    fn eval(&self, c: &Cond, ev: &FlatEvent) -> bool {
        let search = |i: &usize| self.searches.get(*i).is_some_and(|s| s.check(ev));
        match c {
            Cond::Search(i) => search(i),
            Cond::Any(v) => v.iter().any(search),
            Cond::All(v) => !v.is_empty() && v.iter().all(search),
            Cond::Not(c) => !self.eval(c, ev),
            Cond::And(v) => v.iter().all(|c| self.eval(c, ev)),
            Cond::Or(v) => v.iter().any(|c| self.eval(c, ev)),
        }
    }

    fn necessary_of(&self, c: &Cond) -> Option<Clauses> {
        let search = |i: &usize| self.searches.get(*i).and_then(Search::necessary);
        match c {
            Cond::Search(i) => search(i),
            Cond::Any(v) => disjunction(v.iter().map(search)),
            Cond::All(v) => conjunction(v.iter().filter_map(search)),
            Cond::Not(_) => None,
            Cond::And(v) => conjunction(v.iter().filter_map(|c| self.necessary_of(c))),
            Cond::Or(v) => disjunction(v.iter().map(|c| self.necessary_of(c))),
        }
    }

    /// Literals (field, lower-cased text) every matching event holds, as clauses: one
    /// literal of each in its field; the [`MAX_CLAUSES`] most selective, most selective
    /// first. `None` when the rule has no such literal (it is always evaluated).
    pub fn necessary(&self) -> Option<Clauses> {
        let mut clauses = self.necessary_of(&self.condition)?;
        clauses.sort_by(|a, b| selectivity(b).cmp(&selectivity(a)).then_with(|| a.cmp(b)));
        clauses.dedup();
        clauses.truncate(MAX_CLAUSES);
        Some(clauses)
    }

    /// Whether the event matches the rule's condition.
    pub fn matches(&self, ev: &FlatEvent) -> bool {
        self.eval(&self.condition, ev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct R(Compiled, Schema);

    impl R {
        fn hit(&self, v: serde_json::Value) -> bool {
            self.0.matches(&FlatEvent::from_value(&self.1, &v))
        }
    }

    fn rule_with(detection: &str, placeholders: &Placeholders) -> Result<R, String> {
        let mut out = super::super::Loaded::default();
        super::super::load_text(
            std::path::Path::new("t.yml"),
            &format!("title: t\nid: t\ndetection:\n{detection}"),
            &mut out,
        );
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let mut schema = Schema::default();
        compile_with(&out.rules[0], &mut schema, placeholders).map(|c| R(c, schema))
    }

    fn rule(detection: &str) -> R {
        rule_with(detection, &Placeholders::new()).unwrap()
    }

    #[test]
    fn string_modifiers_and_case() {
        let r = rule("  sel:\n    CommandLine|contains|all: [' -enc ', 'bypass']\n    Image|endswith: '\\powershell.exe'\n  condition: sel\n");
        let ev = |cmd: &str, img: &str| json!({"CommandLine": cmd, "Image": img});
        assert!(r.hit(ev(
            "powershell -ExecutionPolicy Bypass -enc AAAA",
            "C:\\Windows\\PowerShell.EXE"
        )));
        assert!(!r.hit(ev("powershell -enc AAAA", "C:\\Windows\\powershell.exe")));
        assert!(!r.hit(ev("x -enc bypass", "C:\\pwsh.exe")));
        let cased = rule("  sel:\n    User|cased: Admin\n  condition: sel\n");
        assert!(cased.hit(json!({"User": "Admin"})));
        assert!(!cased.hit(json!({"User": "admin"})));
        // `\*` is a literal star; `\\*` a backslash then a wildcard (Sigma's escaping).
        let wild = rule("  sel:\n    Image: 'C:\\Windows\\\\*\\cmd.exe'\n  condition: sel\n");
        let star = rule("  sel:\n    Name: 'a\\*b'\n  condition: sel\n");
        assert!(star.hit(json!({"Name": "a*b"})));
        assert!(!star.hit(json!({"Name": "axxb"})));
        assert!(wild.hit(json!({"Image": "c:\\windows\\system32\\CMD.exe"})));
        assert!(!wild.hit(json!({"Image": "c:\\windows\\cmd.exe.bak"})));
        let neq = rule("  sel:\n    Status|neq: ok\n  condition: sel\n");
        assert!(neq.hit(json!({"Status": "failed"})) && !neq.hit(json!({"Status": "OK"})));
    }

    #[test]
    fn encodings_numbers_networks_time_and_presence() {
        let dash = rule("  sel:\n    CommandLine|windash|contains: ' -nop '\n  condition: sel\n");
        assert!(dash.hit(json!({"CommandLine": "powershell /nop -w hidden"})));
        assert!(dash.hit(json!({"CommandLine": "powershell –nop -w hidden"})));
        let b64 =
            rule("  sel:\n    CommandLine|base64offset|contains: 'http://'\n  condition: sel\n");
        for prefix in ["", "a", "ab"] {
            let encoded = base64::engine::general_purpose::STANDARD
                .encode(format!("{prefix}curl http://evil.example/x"));
            assert!(b64.hit(json!({ "CommandLine": encoded })), "{prefix}");
        }
        assert!(!b64.hit(json!({"CommandLine": "aHR0cHM6Ly9ub3BlCg=="})));
        let wide = rule("  sel:\n    Data|wide|base64offset|contains: 'ping'\n  condition: sel\n");
        let encoded = base64::engine::general_purpose::STANDARD.encode(utf16("x ping y", false));
        assert!(wide.hit(json!({ "Data": encoded })));
        let num = rule("  sel:\n    Count|gte: 10\n  condition: sel\n");
        assert!(num.hit(json!({"Count": 10})) && num.hit(json!({"Count": "12"})));
        assert!(!num.hit(json!({"Count": 9})));
        let net = rule("  sel:\n    SourceIp|cidr: ['10.0.0.0/8', 'fd00::/8']\n  condition: sel\n");
        assert!(net.hit(json!({"SourceIp": "10.20.1.5"})));
        assert!(net.hit(json!({"SourceIp": "fd12::1"})));
        assert!(!net.hit(json!({"SourceIp": "11.0.0.1"})));
        let present = rule("  sel:\n    Hashes|exists: true\n  none:\n    ParentImage: null\n  condition: sel and none\n");
        assert!(present.hit(json!({"Hashes": "MD5=1"})));
        assert!(!present.hit(json!({"Hashes": "MD5=1", "ParentImage": "x"})));
        let re = rule(
            "  sel:\n    CommandLine|re|i: 'invoke-(expression|webrequest)'\n  condition: sel\n",
        );
        assert!(re.hit(json!({"CommandLine": "IEX; Invoke-WebRequest x"})));
        let hour = rule("  sel:\n    UtcTime|hour: 3\n  condition: sel\n");
        assert!(hour.hit(json!({"UtcTime": "2025-11-27 03:10:00.000"})));
        assert!(!hour.hit(json!({"UtcTime": "2025-11-27 04:10:00.000"})));
        let same = rule("  sel:\n    SubjectUserName|fieldref: TargetUserName\n  condition: sel\n");
        assert!(same.hit(json!({"SubjectUserName": "Bob", "TargetUserName": "bob"})));
        assert!(!same.hit(json!({"SubjectUserName": "bob", "TargetUserName": "eve"})));
    }

    #[test]
    fn expand_placeholders() {
        let p: Placeholders = [(
            "admins".to_string(),
            vec!["root".to_string(), "Administrator".to_string()],
        )]
        .into();
        let r = rule_with(
            "  sel:\n    User|expand: '%admins%'\n  condition: sel\n",
            &p,
        )
        .unwrap();
        assert!(r.hit(json!({"User": "administrator"})));
        assert!(!r.hit(json!({"User": "bob"})));
        let err = rule_with(
            "  sel:\n    User|expand: '%nope%'\n  condition: sel\n",
            &Placeholders::new(),
        )
        .err()
        .unwrap();
        assert!(err.contains("%nope%"));
    }

    #[test]
    fn lists_keywords_and_quantifiers() {
        let r = rule("  sel_a:\n    - {A: 1}\n    - {B: 2}\n  sel_b:\n    C: 3\n  keywords:\n    - 'mimikatz'\n  condition: (all of sel_* and not keywords) or keywords\n");
        assert!(r.hit(json!({"B": 2, "C": 3})));
        assert!(!r.hit(json!({"B": 2})));
        assert!(r.hit(json!({"x": {"deep": "ran MIMIKATZ.exe"}})));
        let err = rule_with(
            "  sel:\n    A|nosuch: 1\n  condition: sel\n",
            &Placeholders::new(),
        )
        .err()
        .unwrap();
        assert!(err.contains("nosuch"));
        let them = rule("  sel: {A: 1}\n  _hidden: {B: 2}\n  condition: all of them\n");
        assert!(them.hit(json!({"A": 1})));
    }

    #[test]
    fn necessary_literals() {
        let r = rule("  sel:\n    Image|endswith: '\\cmd.exe'\n    CommandLine|contains: ['/c', 'whoami']\n  filter:\n    User: SYSTEM\n  condition: sel and not filter\n");
        let texts = |r: &R| -> Vec<Vec<String>> {
            r.0.necessary()
                .unwrap()
                .into_iter()
                .map(|c| c.into_iter().map(|(_, l)| l).collect())
                .collect()
        };
        // Both lines of the selection are needed: two clauses, the rarer first.
        assert_eq!(texts(&r), [vec!["\\cmd.exe"], vec!["/c", "whoami"]]);
        let none = rule("  sel:\n    Count|gt: 3\n  condition: sel\n");
        assert!(none.0.necessary().is_none());
        // Either selection: one clause holding each one's literal.
        let either = rule("  a: {X: foo}\n  b: {Y: Bar}\n  condition: a or b\n");
        assert_eq!(texts(&either), [vec!["foo", "bar"]]);
        // Of an alternative, its most selective clause stands for it.
        let alternatives =
            rule("  a: {X: foo, Z: rarevalue}\n  b: {Y: Bar}\n  condition: a or b\n");
        assert_eq!(texts(&alternatives), [vec!["rarevalue", "bar"]]);
        // `all`: each value its own clause; at most MAX_CLAUSES, the rarest kept.
        let all = rule("  sel:\n    CommandLine|contains|all: ['-w', 'hidden', 'net.webclient', 'downloadstring']\n  condition: sel and sel\n");
        assert_eq!(MAX_CLAUSES, 2);
        assert_eq!(texts(&all), [vec!["net.webclient"], vec!["downloadstring"]]);
        assert!(rule("  a: {X: foo}\n  condition: not a\n")
            .0
            .necessary()
            .is_none());
    }
}
