//! One value of a search line, compiled: its modifiers applied once at load time into the
//! cheapest comparison that does the job — equality, prefix, suffix, substring (a prebuilt
//! `memmem` finder), a wildcard pattern, or a regular expression only when the rule wrote one.
//! Plain strings compare case-insensitively (Sigma's default) on the event's lower-cased text.

use crate::event::{FieldId, Kind, Leaf};
use chrono::{DateTime, Datelike, NaiveDateTime, Timelike};
use memchr::memmem;
use regex::Regex;

/// A comparison of text.
#[derive(Debug, Clone)]
pub enum StrOp {
    /// The whole value.
    Eq(String),
    /// The start.
    Prefix(String),
    /// The end.
    Suffix(String),
    /// Anywhere.
    Contains(Box<memmem::Finder<'static>>),
    /// With `*`/`?` wildcards, anchored at both ends.
    Glob(Vec<Step>),
}

/// A compiled step of a wildcard pattern.
#[derive(Debug, Clone)]
pub enum Step {
    /// Literal text right here.
    Lit(String),
    /// One character.
    One,
    /// Any run, then this literal (found with a prebuilt finder).
    Find(Box<memmem::Finder<'static>>),
    /// Any run (at the end, or before `?`).
    Star,
}

fn steps(parts: &[GlobPart]) -> Vec<Step> {
    let mut out = vec![];
    let mut i = 0;
    while i < parts.len() {
        match (&parts[i], parts.get(i + 1)) {
            (GlobPart::Star, Some(GlobPart::Lit(l))) => {
                out.push(Step::Find(Box::new(
                    memmem::Finder::new(l.as_bytes()).into_owned(),
                )));
                i += 1;
            }
            (GlobPart::Star, _) => out.push(Step::Star),
            (GlobPart::One, _) => out.push(Step::One),
            (GlobPart::Lit(l), _) => out.push(Step::Lit(l.clone())),
        }
        i += 1;
    }
    out
}

/// A piece of a wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlobPart {
    /// Literal text.
    Lit(String),
    /// `*`: any run of characters.
    Star,
    /// `?`: one character.
    One,
}

/// Numeric comparisons (`gt`, `gte`, `lt`, `lte`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordering {
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
}

/// Part of a timestamp (`minute`, `hour`, `day`, `week`, `month`, `year`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimePart {
    /// 0–59.
    Minute,
    /// 0–23.
    Hour,
    /// Day of the month, 1–31.
    Day,
    /// ISO week, 1–53.
    Week,
    /// 1–12.
    Month,
    /// The year.
    Year,
}

/// How one value is compared.
#[derive(Debug, Clone)]
pub enum Test {
    /// Text; `cased` compares the original text, otherwise the lower-cased one.
    Str {
        /// The comparison (its literals lower-cased unless `cased`).
        op: StrOp,
        /// Case-sensitive.
        cased: bool,
    },
    /// A regular expression (`re`), over the original text.
    Regex(Regex),
    /// Numeric comparison.
    Num(Ordering, f64),
    /// An address in a network.
    Cidr(ipnet::IpNet),
    /// The field is present (`true`) or absent (`false`).
    Exists(bool),
    /// The field is absent, null or empty (`field: null`).
    Null,
    /// Equal to another field of the same event (`fieldref`).
    FieldRef(FieldId, bool),
    /// A part of a timestamp equals a number.
    Time(TimePart, i64),
}

impl StrOp {
    /// Builds the comparison for `text` (already lower-cased when case-insensitive) with the
    /// match position the modifiers asked for; `wild` lets `*`/`?` act as wildcards.
    pub fn new(text: &str, wild: bool, contains: bool, starts: bool, ends: bool) -> StrOp {
        let parts = if wild {
            glob_parts(text)
        } else {
            vec![GlobPart::Lit(text.to_string())]
        };
        let mut parts = parts;
        if contains || ends {
            parts.insert(0, GlobPart::Star);
        }
        if contains || starts {
            parts.push(GlobPart::Star);
        }
        // Collapse to the cheapest form the pattern allows.
        match parts.as_slice() {
            [GlobPart::Lit(l)] => StrOp::Eq(l.clone()),
            [GlobPart::Lit(l), GlobPart::Star] => StrOp::Prefix(l.clone()),
            [GlobPart::Star, GlobPart::Lit(l)] => StrOp::Suffix(l.clone()),
            [GlobPart::Star, GlobPart::Lit(l), GlobPart::Star] => {
                StrOp::Contains(Box::new(memmem::Finder::new(l.as_bytes()).into_owned()))
            }
            [GlobPart::Star] | [GlobPart::Star, GlobPart::Star] => StrOp::Glob(vec![Step::Star]),
            _ => StrOp::Glob(steps(&parts)),
        }
    }

    /// Whether `value` passes.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            StrOp::Eq(l) => value == l,
            StrOp::Prefix(l) => value.starts_with(l.as_str()),
            StrOp::Suffix(l) => value.ends_with(l.as_str()),
            StrOp::Contains(f) => f.find(value.as_bytes()).is_some(),
            StrOp::Glob(parts) => glob_matches(parts, value),
        }
    }

    /// The literal text every matching value contains (for prefiltering); the longest one.
    pub fn literal(&self) -> Option<&str> {
        match self {
            StrOp::Eq(l) | StrOp::Prefix(l) | StrOp::Suffix(l) => Some(l.as_str()),
            StrOp::Contains(f) => std::str::from_utf8(f.needle()).ok(),
            StrOp::Glob(steps) => steps
                .iter()
                .filter_map(|p| match p {
                    Step::Lit(l) => Some(l.as_str()),
                    Step::Find(f) => std::str::from_utf8(f.needle()).ok(),
                    _ => None,
                })
                .max_by_key(|l| l.len()),
        }
        .filter(|l| !l.is_empty())
    }
}

/// Literals one of which (lower-cased) every text a regular expression matches contains:
/// the prefixes of its matches, when they are finitely many, ASCII, and at least three
/// characters long (shorter ones would let nearly every event through the prefilter).
pub fn regex_literals(pattern: &str) -> Option<Vec<String>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    // Literals are compared with lower-cased text, so a leading `(?i)` is dropped: a
    // case-insensitive match, lower-cased, contains a lower-cased literal of the
    // case-sensitive pattern (ASCII), and case variants would exhaust the extractor.
    let pattern = match pattern.strip_prefix("(?").and_then(|r| r.split_once(')')) {
        Some((flags, rest)) if !flags.is_empty() && flags.chars().all(|c| "imsUux".contains(c)) => {
            let kept: String = flags.chars().filter(|c| *c != 'i').collect();
            if kept.is_empty() {
                rest.to_string()
            } else {
                format!("(?{kept}){rest}")
            }
        }
        _ => pattern.to_string(),
    };
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(&pattern)
        .ok()?;
    let mut seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
    seq.optimize_for_prefix_by_preference();
    let lits = seq.literals()?;
    let mut out: Vec<String> = lits
        .iter()
        .map(|l| {
            std::str::from_utf8(l.as_bytes())
                .ok()
                .map(str::to_ascii_lowercase)
        })
        .collect::<Option<_>>()?;
    if out.is_empty() || out.iter().any(|l| l.len() < 3 || !l.is_ascii()) || out.len() > 64 {
        return None;
    }
    out.sort();
    out.dedup();
    Some(out)
}

/// Sigma wildcards: `*` any run, `?` one character; `\*`, `\?` and `\\` escape.
fn glob_parts(s: &str) -> Vec<GlobPart> {
    let mut out = vec![];
    let mut lit = String::new();
    let mut chars = s.chars().peekable();
    let flush = |lit: &mut String, out: &mut Vec<GlobPart>| {
        if !lit.is_empty() {
            out.push(GlobPart::Lit(std::mem::take(lit)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('*' | '?' | '\\')) => {
                lit.push(chars.next().expect("peeked"))
            }
            '*' => {
                flush(&mut lit, &mut out);
                if out.last() != Some(&GlobPart::Star) {
                    out.push(GlobPart::Star);
                }
            }
            '?' => {
                flush(&mut lit, &mut out);
                out.push(GlobPart::One);
            }
            c => lit.push(c),
        }
    }
    flush(&mut lit, &mut out);
    out
}

/// Anchored wildcard match; backtracks only over the positions where the next literal occurs.
fn glob_matches(steps: &[Step], value: &str) -> bool {
    match steps.split_first() {
        None => value.is_empty(),
        Some((Step::Lit(l), rest)) => value
            .strip_prefix(l.as_str())
            .is_some_and(|v| glob_matches(rest, v)),
        Some((Step::One, rest)) => {
            let mut chars = value.chars();
            chars.next().is_some() && glob_matches(rest, chars.as_str())
        }
        Some((Step::Find(f), rest)) => {
            let len = f.needle().len();
            if rest.is_empty() {
                // The pattern ends with this literal: only the last occurrence can end it.
                return value.len() >= len
                    && value.ends_with(std::str::from_utf8(f.needle()).unwrap_or_default());
            }
            f.find_iter(value.as_bytes()).any(|at| {
                value.is_char_boundary(at + len) && glob_matches(rest, &value[at + len..])
            })
        }
        Some((Step::Star, rest)) => {
            rest.is_empty()
                || value
                    .char_indices()
                    .map(|(i, _)| i)
                    .chain(std::iter::once(value.len()))
                    .any(|i| glob_matches(rest, &value[i..]))
        }
    }
}

fn parse_time(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.naive_utc())
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok())
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok())
}

impl Test {
    /// Whether one value of the field passes (the value-level tests).
    pub fn check_leaf(&self, leaf: &Leaf) -> bool {
        match self {
            Test::Str { op, cased } => {
                leaf.kind != Kind::Null
                    && op.matches(if *cased { &leaf.text } else { leaf.lower() })
            }
            Test::Regex(r) => leaf.kind != Kind::Null && r.is_match(&leaf.text),
            Test::Num(o, n) => {
                leaf.kind != Kind::Null
                    && leaf.text.trim().parse::<f64>().is_ok_and(|x| match o {
                        Ordering::Gt => x > *n,
                        Ordering::Gte => x >= *n,
                        Ordering::Lt => x < *n,
                        Ordering::Lte => x <= *n,
                    })
            }
            Test::Cidr(net) => leaf
                .text
                .trim()
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| net.contains(&ip)),
            Test::Time(part, want) => parse_time(&leaf.text).is_some_and(|t| {
                i64::from(match part {
                    TimePart::Minute => t.minute(),
                    TimePart::Hour => t.hour(),
                    TimePart::Day => t.day(),
                    TimePart::Week => t.iso_week().week(),
                    TimePart::Month => t.month(),
                    TimePart::Year => return i64::from(t.year()) == *want,
                }) == *want
            }),
            Test::Exists(_) | Test::Null | Test::FieldRef(..) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_prefilter_literals_are_necessary_and_selective() {
        let lits = regex_literals("(?i)invoke-(expression|webrequest)").unwrap();
        assert!(
            lits.iter()
                .all(|l| l.len() >= 3 && l.starts_with("invoke-")),
            "{lits:?}"
        );
        for text in ["x INVOKE-Expression y", "Invoke-WebRequest -Uri"] {
            let lower = text.to_lowercase();
            assert!(lits.iter().any(|l| lower.contains(l.as_str())), "{text}");
        }
        assert_eq!(regex_literals("a.*b"), None, "too short to filter");
        assert_eq!(regex_literals(r"\d+abc"), None, "unbounded prefixes");
        assert_eq!(regex_literals("(abc|)"), None, "may match empty");
    }

    #[test]
    fn ops_collapse_and_match() {
        assert!(matches!(
            StrOp::new("abc", true, true, false, false),
            StrOp::Contains(_)
        ));
        assert!(matches!(
            StrOp::new("abc*", true, false, false, false),
            StrOp::Prefix(_)
        ));
        assert!(matches!(
            StrOp::new("*abc", true, false, false, false),
            StrOp::Suffix(_)
        ));
        assert!(matches!(
            StrOp::new("a*c", false, false, false, false),
            StrOp::Eq(_)
        ));
        let g = StrOp::new("c:\\\\*\\sys?em32\\\\*.exe", true, false, false, false);
        assert!(g.matches("c:\\windows\\system32\\cmd.exe"));
        assert!(!g.matches("c:\\windows\\system32\\cmd.dll"));
        assert!(!g.matches("d:\\windows\\system32\\cmd.exe"));
        assert_eq!(g.literal(), Some("em32\\"));
        let star = StrOp::new("a\\*b", true, false, false, false);
        assert!(star.matches("a*b") && !star.matches("axb"));
        assert!(StrOp::new("*", true, false, false, false).matches(""));
        assert!(StrOp::new("a*b*c", true, false, false, false).matches("aXbYbZc"));
        assert!(!StrOp::new("a*b*c", true, false, false, false).matches("aXbY"));
        assert!(StrOp::new("é?", true, false, false, false).matches("éü"));
    }

    #[test]
    fn time_parts() {
        let leaf = |t: &'static str| Leaf {
            field: 0,
            text: t.into(),
            lower: Default::default(),
            alias: false,
            group: 0,
            kind: Kind::Str,
        };
        let l = leaf("2025-11-27T07:40:10.165Z");
        assert!(Test::Time(TimePart::Hour, 7).check_leaf(&l));
        assert!(Test::Time(TimePart::Month, 11).check_leaf(&l));
        assert!(Test::Time(TimePart::Week, 48).check_leaf(&l));
        assert!(!Test::Time(TimePart::Minute, 41).check_leaf(&l));
        assert!(Test::Time(TimePart::Year, 2025).check_leaf(&leaf("2025-01-02 03:04:05.123")));
    }
}
