//! The search language and its translation into tantivy queries.
//!
//! ```text
//! failed password                      words of the message (AND by default)
//! "failed password for root"           a phrase of the message
//! user.name:root                       a field's exact value (case-insensitive)
//! url.path:/admin*   host.name:web-??  wildcards (* any run, ? one character)
//! source.ip:10.20.0.0/16               CIDR on source.ip, destination.ip, host.ip
//! http.response.status_code:>=500      numeric comparison; also [400 TO 499]
//! process.name:*                       the field exists
//! a AND (b OR c) NOT d   -e            boolean logic; `-x` is NOT x
//! ```
//! Field names are ECS paths. A bare word matches the message's words; quoting keeps
//! punctuation (`"10.0.0.1"`, `"2001:db8::1"`).

use crate::schema::{ip_field, Fields};
use std::net::{IpAddr, Ipv6Addr};
use std::ops::Bound;
use tantivy::query::{
    AllQuery, BooleanQuery, ExistsQuery, Occur, PhraseQuery, Query, RangeQuery, RegexQuery,
    TermQuery,
};
use tantivy::schema::{IndexRecordOption, Term};
use tantivy::tokenizer::TextAnalyzer;

/// A parsed search.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Everything (the empty query).
    All,
    /// All of these.
    And(Vec<Node>),
    /// Any of these.
    Or(Vec<Node>),
    /// Not this.
    Not(Box<Node>),
    /// A bare word or phrase of the message.
    Text(Value),
    /// A field condition.
    Field(String, Value),
}

/// What a value says.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An exact value.
    Exact(String),
    /// A quoted phrase.
    Phrase(String),
    /// A pattern with `*` and `?`.
    Wildcard(String),
    /// A range; bounds are the texts given.
    Range(Bound<String>, Bound<String>),
    /// The field exists.
    Exists,
}

/// Why a search could not be understood; `at` is the character offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("q: {message} (at character {at})")]
pub struct ParseError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub at: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    /// A word or `field:value` chunk, with whether it was quoted (whole or after the colon).
    Word(String, bool),
}

fn lex(input: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        match c {
            '(' => {
                out.push((Tok::LParen, i));
                i += 1;
            }
            ')' => {
                out.push((Tok::RParen, i));
                i += 1;
            }
            '-' if i + 1 < chars.len()
                && !chars[i + 1].is_whitespace()
                && (i == 0 || chars[i - 1].is_whitespace() || chars[i - 1] == '(') =>
            {
                out.push((Tok::Not, i));
                i += 1;
            }
            _ => {
                // A chunk: runs to whitespace or a closing parenthesis outside quotes and
                // brackets; quotes keep everything.
                let mut word = String::new();
                let mut quoted = false;
                let mut depth = 0;
                while i < chars.len() {
                    let c = chars[i];
                    if c == '"' {
                        quoted = true;
                        i += 1;
                        let mut closed = false;
                        while i < chars.len() {
                            if chars[i] == '\\' && i + 1 < chars.len() {
                                word.push(chars[i + 1]);
                                i += 2;
                                continue;
                            }
                            if chars[i] == '"' {
                                closed = true;
                                i += 1;
                                break;
                            }
                            word.push(chars[i]);
                            i += 1;
                        }
                        if !closed {
                            return Err(ParseError {
                                message: "unclosed quote".into(),
                                at: start,
                            });
                        }
                        continue;
                    }
                    if c == '[' || c == '{' {
                        depth += 1;
                    } else if (c == ']' || c == '}') && depth > 0 {
                        depth -= 1;
                    } else if depth == 0 && (c.is_whitespace() || c == ')' || c == '(') {
                        break;
                    } else if depth > 0 && c.is_whitespace() {
                        word.push(' ');
                        i += 1;
                        continue;
                    }
                    word.push(c);
                    i += 1;
                }
                if depth > 0 {
                    return Err(ParseError {
                        message: "unclosed range bracket".into(),
                        at: start,
                    });
                }
                let tok = match word.as_str() {
                    "AND" | "&&" if !quoted => Tok::And,
                    "OR" | "||" if !quoted => Tok::Or,
                    "NOT" if !quoted => Tok::Not,
                    _ => Tok::Word(word, quoted),
                };
                out.push((tok, start));
            }
        }
    }
    Ok(out)
}

/// True for a name that can be a field (so `10:30` and IPv6 stay words).
fn is_field_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '@' || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
}

fn value_of(raw: &str, quoted: bool, at: usize) -> Result<Value, ParseError> {
    if quoted {
        return Ok(Value::Phrase(raw.to_string()));
    }
    if raw == "*" {
        return Ok(Value::Exists);
    }
    let bad = |m: &str| ParseError {
        message: m.to_string(),
        at,
    };
    if let Some(rest) = raw.strip_prefix(">=") {
        return Ok(Value::Range(Bound::Included(rest.into()), Bound::Unbounded));
    }
    if let Some(rest) = raw.strip_prefix("<=") {
        return Ok(Value::Range(Bound::Unbounded, Bound::Included(rest.into())));
    }
    if let Some(rest) = raw.strip_prefix('>') {
        return Ok(Value::Range(Bound::Excluded(rest.into()), Bound::Unbounded));
    }
    if let Some(rest) = raw.strip_prefix('<') {
        return Ok(Value::Range(Bound::Unbounded, Bound::Excluded(rest.into())));
    }
    if (raw.starts_with('[') || raw.starts_with('{')) && (raw.ends_with(']') || raw.ends_with('}'))
    {
        let inner = &raw[1..raw.len() - 1];
        let (lo, hi) = inner
            .split_once(" TO ")
            .ok_or_else(|| bad("a range is written [low TO high]"))?;
        let bound = |s: &str, inclusive: bool| {
            let s = s.trim();
            if s == "*" {
                Bound::Unbounded
            } else if inclusive {
                Bound::Included(s.to_string())
            } else {
                Bound::Excluded(s.to_string())
            }
        };
        return Ok(Value::Range(
            bound(lo, raw.starts_with('[')),
            bound(hi, raw.ends_with(']')),
        ));
    }
    if raw.is_empty() {
        return Err(bad("a field needs a value"));
    }
    if raw.contains('*') || raw.contains('?') {
        return Ok(Value::Wildcard(raw.to_string()));
    }
    Ok(Value::Exact(raw.to_string()))
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    len: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }
    fn at(&self) -> usize {
        self.toks.get(self.pos).map(|t| t.1).unwrap_or(self.len)
    }
    fn or(&mut self) -> Result<Node, ParseError> {
        let mut items = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Node::Or(items)
        })
    }
    fn and(&mut self) -> Result<Node, ParseError> {
        let mut items = vec![self.not()?];
        loop {
            match self.peek() {
                Some(Tok::And) => {
                    self.pos += 1;
                    items.push(self.not()?);
                }
                Some(Tok::Word(..)) | Some(Tok::Not) | Some(Tok::LParen) => items.push(self.not()?),
                _ => break,
            }
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Node::And(items)
        })
    }
    fn not(&mut self) -> Result<Node, ParseError> {
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            return Ok(Node::Not(Box::new(self.not()?)));
        }
        self.primary()
    }
    fn primary(&mut self) -> Result<Node, ParseError> {
        let at = self.at();
        match self.toks.get(self.pos).cloned() {
            Some((Tok::LParen, _)) => {
                self.pos += 1;
                let n = self.or()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(ParseError {
                        message: "missing )".into(),
                        at: self.at(),
                    });
                }
                self.pos += 1;
                Ok(n)
            }
            Some((Tok::Word(w, quoted), _)) => {
                self.pos += 1;
                // `field:"quoted value"` arrives with the quotes dropped and `quoted` set.
                if let Some((field, value)) = w.split_once(':') {
                    if is_field_name(field) {
                        return Ok(Node::Field(field.to_string(), value_of(value, quoted, at)?));
                    }
                }
                Ok(Node::Text(value_of(&w, quoted, at)?))
            }
            Some((t, _)) => Err(ParseError {
                message: format!(
                    "unexpected {}",
                    match t {
                        Tok::RParen => ")",
                        Tok::And => "AND",
                        Tok::Or => "OR",
                        _ => "NOT",
                    }
                ),
                at,
            }),
            None => Err(ParseError {
                message: "the query ends too early".into(),
                at,
            }),
        }
    }
}

/// Parses a search; the empty search matches everything.
pub fn parse(input: &str) -> Result<Node, ParseError> {
    if input.chars().count() > 4000 {
        return Err(ParseError {
            message: "at most 4000 characters".into(),
            at: 4000,
        });
    }
    let toks = lex(input)?;
    if toks.is_empty() {
        return Ok(Node::All);
    }
    let mut p = Parser {
        toks,
        pos: 0,
        len: input.chars().count(),
    };
    let n = p.or()?;
    if p.pos < p.toks.len() {
        return Err(ParseError {
            message: "unexpected )".into(),
            at: p.at(),
        });
    }
    Ok(n)
}

/// Turns a glob (`*`, `?`) into a regular expression over the lower-cased value.
fn glob_regex(glob: &str) -> String {
    let mut re = String::new();
    for c in glob.to_lowercase().chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex_escape(c)),
        }
    }
    re
}

fn regex_escape(c: char) -> String {
    if c.is_alphanumeric() || c == ' ' || c as u32 > 127 {
        c.to_string()
    } else {
        format!("\\x{{{:x}}}", c as u32)
    }
}

/// The message field's analyzer as indexed (tantivy's default tokenizer, lower-cased), for
/// turning free text into the same terms.
pub fn message_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(tantivy::tokenizer::SimpleTokenizer::default())
        .filter(tantivy::tokenizer::RemoveLongFilter::limit(40))
        .filter(tantivy::tokenizer::LowerCaser)
        .build()
}

/// Translates parsed searches for one index.
pub struct Translator<'a> {
    /// The schema's fields.
    pub fields: &'a Fields,
    /// The message analyzer (as indexed).
    pub text: TextAnalyzer,
}

fn bad(message: String) -> ParseError {
    ParseError { message, at: 0 }
}

impl Translator<'_> {
    /// The tantivy query for a parsed search.
    pub fn query(&mut self, n: &Node) -> Result<Box<dyn Query>, ParseError> {
        Ok(match n {
            Node::All => Box::new(AllQuery),
            Node::And(items) | Node::Or(items) => {
                let occur = if matches!(n, Node::And(_)) {
                    Occur::Must
                } else {
                    Occur::Should
                };
                let mut clauses = Vec::new();
                for item in items {
                    match item {
                        Node::Not(inner) if occur == Occur::Must => {
                            clauses.push((Occur::MustNot, self.query(inner)?))
                        }
                        _ => clauses.push((occur, self.query(item)?)),
                    }
                }
                if clauses.iter().all(|c| c.0 == Occur::MustNot) {
                    clauses.push((Occur::Must, Box::new(AllQuery)));
                }
                Box::new(BooleanQuery::new(clauses))
            }
            Node::Not(inner) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
                (Occur::MustNot, self.query(inner)?),
            ])),
            Node::Text(v) => self.message(v)?,
            Node::Field(path, v) => self.field(path, v)?,
        })
    }

    fn message(&mut self, v: &Value) -> Result<Box<dyn Query>, ParseError> {
        let field = self.fields.message;
        match v {
            Value::Exact(s) | Value::Phrase(s) => {
                let mut terms = Vec::new();
                let mut stream = self.text.token_stream(s);
                while let Some(t) = stream.next() {
                    terms.push(Term::from_field_text(field, &t.text));
                }
                Ok(match terms.len() {
                    0 => Box::new(BooleanQuery::new(vec![])),
                    1 => Box::new(TermQuery::new(terms.remove(0), IndexRecordOption::Basic)),
                    _ => Box::new(PhraseQuery::new(terms)),
                })
            }
            Value::Wildcard(g) => Ok(Box::new(
                RegexQuery::from_pattern(&glob_regex(g), field).map_err(|e| bad(e.to_string()))?,
            )),
            Value::Range(..) | Value::Exists => Err(bad(
                "ranges and * need a field, e.g. http.response.status_code:>=500".into(),
            )),
        }
    }

    fn json_term(&self, path: &str) -> Term {
        Term::from_field_json_path(self.fields.f, path, true)
    }

    fn field(&mut self, path: &str, v: &Value) -> Result<Box<dyn Query>, ParseError> {
        if path == "message" || path == "event.original" {
            return self.message(v);
        }
        if path == "@timestamp" {
            return self.time(v);
        }
        if let Some(ip) = ip_field(self.fields, path) {
            if let Value::Exact(s) = v {
                if let Some((lo, hi)) = cidr(s) {
                    return Ok(Box::new(RangeQuery::new(
                        Bound::Included(Term::from_field_ip_addr(ip, lo)),
                        Bound::Included(Term::from_field_ip_addr(ip, hi)),
                    )));
                }
            }
        }
        let (field_term, is_dataset) = if path == "event.dataset" || path == "dataset" {
            (Term::from_field_text(self.fields.dataset, ""), true)
        } else {
            (self.json_term(path), false)
        };
        match v {
            Value::Exists => Ok(Box::new(ExistsQuery::new(
                if is_dataset {
                    "dataset".into()
                } else {
                    format!("f.{path}")
                },
                true,
            ))),
            Value::Exact(s) | Value::Phrase(s) => {
                if is_dataset {
                    return Ok(Box::new(TermQuery::new(
                        Term::from_field_text(self.fields.dataset, s),
                        IndexRecordOption::Basic,
                    )));
                }
                let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
                let mut t = field_term.clone();
                t.append_type_and_str(&s.to_lowercase());
                alternatives.push((
                    Occur::Should,
                    Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
                ));
                if let Ok(n) = s.parse::<i64>() {
                    let mut t = field_term.clone();
                    t.append_type_and_fast_value(n);
                    alternatives.push((
                        Occur::Should,
                        Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
                    ));
                } else if let Ok(x) = s.parse::<f64>() {
                    let mut t = field_term.clone();
                    t.append_type_and_fast_value(x);
                    alternatives.push((
                        Occur::Should,
                        Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
                    ));
                }
                if s == "true" || s == "false" {
                    let mut t = field_term.clone();
                    t.append_type_and_fast_value(s == "true");
                    alternatives.push((
                        Occur::Should,
                        Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
                    ));
                }
                Ok(Box::new(BooleanQuery::new(alternatives)))
            }
            Value::Wildcard(g) => {
                let field = if is_dataset {
                    self.fields.dataset
                } else {
                    self.fields.f
                };
                // JSON terms are `path \0 's' value`: match the path exactly, the value by glob.
                let prefix = if is_dataset {
                    String::new()
                } else {
                    let mut p = String::new();
                    for (i, seg) in path.split('.').enumerate() {
                        if i > 0 {
                            p.push_str("\\x01");
                        }
                        for c in seg.chars() {
                            p.push_str(&regex_escape(c));
                        }
                    }
                    p.push_str("\\x00s");
                    p
                };
                let pattern = format!("{prefix}{}", glob_regex(g));
                Ok(Box::new(
                    RegexQuery::from_pattern(&pattern, field).map_err(|e| bad(e.to_string()))?,
                ))
            }
            Value::Range(lo, hi) => {
                if is_dataset {
                    return Err(bad("event.dataset takes no range".into()));
                }
                let num = |b: &Bound<String>| -> Result<Bound<Term>, ParseError> {
                    let make = |s: &String| -> Result<Term, ParseError> {
                        let n: i64 = s.trim().parse().map_err(|_| {
                            bad(format!(
                                "{path}: range bounds must be whole numbers, got `{s}`"
                            ))
                        })?;
                        let mut t = field_term.clone();
                        t.append_type_and_fast_value(n);
                        Ok(t)
                    };
                    Ok(match b {
                        Bound::Included(s) => Bound::Included(make(s)?),
                        Bound::Excluded(s) => Bound::Excluded(make(s)?),
                        Bound::Unbounded => Bound::Unbounded,
                    })
                };
                let (lo, hi) = (num(lo)?, num(hi)?);
                // An open end still has to stay within this path and type.
                let lo = match lo {
                    Bound::Unbounded => {
                        let mut t = field_term.clone();
                        t.append_type_and_fast_value(i64::MIN);
                        Bound::Included(t)
                    }
                    b => b,
                };
                let hi = match hi {
                    Bound::Unbounded => {
                        let mut t = field_term.clone();
                        t.append_type_and_fast_value(i64::MAX);
                        Bound::Included(t)
                    }
                    b => b,
                };
                Ok(Box::new(RangeQuery::new(lo, hi)))
            }
        }
    }

    fn time(&self, v: &Value) -> Result<Box<dyn Query>, ParseError> {
        let parse = |s: &String| -> Result<tantivy::DateTime, ParseError> {
            crate::parse_time(s)
                .map(|t| tantivy::DateTime::from_timestamp_micros(t.timestamp_micros()))
                .ok_or_else(|| {
                    bad(format!(
                        "@timestamp: `{s}` is not an RFC 3339 time or a date"
                    ))
                })
        };
        let b = |x: &Bound<String>| -> Result<Bound<Term>, ParseError> {
            Ok(match x {
                Bound::Included(s) => {
                    Bound::Included(Term::from_field_date(self.fields.ts, parse(s)?))
                }
                Bound::Excluded(s) => {
                    Bound::Excluded(Term::from_field_date(self.fields.ts, parse(s)?))
                }
                Bound::Unbounded => Bound::Unbounded,
            })
        };
        match v {
            Value::Range(lo, hi) => Ok(Box::new(RangeQuery::new(b(lo)?, b(hi)?))),
            _ => Err(bad(
                "@timestamp takes a range, e.g. @timestamp:>=2026-11-01".into(),
            )),
        }
    }
}

/// The first and last address of a CIDR block, as IPv6 (IPv4 mapped).
pub fn cidr(s: &str) -> Option<(Ipv6Addr, Ipv6Addr)> {
    let (addr, len) = s.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let len: u32 = len.parse().ok()?;
    let (base, total) = match addr {
        IpAddr::V4(a) if len <= 32 => (u128::from(a.to_ipv6_mapped()), 96 + len),
        IpAddr::V6(a) if len <= 128 => (u128::from(a), len),
        _ => return None,
    };
    let host_bits = 128 - total;
    let mask: u128 = if host_bits == 128 {
        0
    } else {
        !0u128 << host_bits
    };
    let lo = base & mask;
    let hi = lo | !mask;
    Some((Ipv6Addr::from(lo), Ipv6Addr::from(hi)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(p: &str, v: Value) -> Node {
        Node::Field(p.into(), v)
    }
    fn ex(s: &str) -> Value {
        Value::Exact(s.into())
    }

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse("").unwrap(), Node::All);
        assert_eq!(
            parse("failed password").unwrap(),
            Node::And(vec![Node::Text(ex("failed")), Node::Text(ex("password"))])
        );
        assert_eq!(
            parse("\"failed password for root\"").unwrap(),
            Node::Text(Value::Phrase("failed password for root".into()))
        );
        assert_eq!(parse("user.name:root").unwrap(), f("user.name", ex("root")));
        assert_eq!(
            parse("source.ip:2001:db8::/32").unwrap(),
            f("source.ip", ex("2001:db8::/32"))
        );
        assert_eq!(
            parse("url.path:/admin*").unwrap(),
            f("url.path", Value::Wildcard("/admin*".into()))
        );
        assert_eq!(
            parse("http.response.status_code:>=500").unwrap(),
            f(
                "http.response.status_code",
                Value::Range(Bound::Included("500".into()), Bound::Unbounded)
            )
        );
        assert_eq!(
            parse("source.port:[1 TO 1023}").unwrap(),
            f(
                "source.port",
                Value::Range(Bound::Included("1".into()), Bound::Excluded("1023".into()))
            )
        );
        assert_eq!(
            parse("process.name:*").unwrap(),
            f("process.name", Value::Exists)
        );
        assert_eq!(
            parse("a AND (b OR c) NOT d -e").unwrap(),
            Node::And(vec![
                Node::Text(ex("a")),
                Node::Or(vec![Node::Text(ex("b")), Node::Text(ex("c"))]),
                Node::Not(Box::new(Node::Text(ex("d")))),
                Node::Not(Box::new(Node::Text(ex("e")))),
            ])
        );
        assert_eq!(
            parse("user.name:\"Zhang San\"").unwrap(),
            f("user.name", Value::Phrase("Zhang San".into()))
        );
        assert_eq!(parse("10:30").unwrap(), Node::Text(ex("10:30")));
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(parse("(a OR b").unwrap_err().message, "missing )");
        assert_eq!(parse("a)").unwrap_err().message, "unexpected )");
        assert_eq!(parse("\"open").unwrap_err().at, 0);
        assert_eq!(
            parse("x AND").unwrap_err().message,
            "the query ends too early"
        );
        assert!(parse("port:[1 2]").unwrap_err().message.contains("TO"));
    }

    #[test]
    fn cidr_blocks_cover_their_addresses() {
        let (lo, hi) = cidr("10.20.0.0/16").unwrap();
        assert_eq!(
            lo,
            "10.20.0.0"
                .parse::<std::net::Ipv4Addr>()
                .unwrap()
                .to_ipv6_mapped()
        );
        assert_eq!(
            hi,
            "10.20.255.255"
                .parse::<std::net::Ipv4Addr>()
                .unwrap()
                .to_ipv6_mapped()
        );
        let (lo, hi) = cidr("2001:db8::/32").unwrap();
        assert_eq!(lo, "2001:db8::".parse::<Ipv6Addr>().unwrap());
        assert_eq!(
            hi,
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"
                .parse::<Ipv6Addr>()
                .unwrap()
        );
        assert!(cidr("10.0.0.0/33").is_none());
        assert!(cidr("10.0.0.1").is_none());
    }

    #[test]
    fn globs_escape_everything_else() {
        assert_eq!(glob_regex("/Admin*"), "\\x{2f}admin.*");
        assert_eq!(glob_regex("web-??"), "web\\x{2d}..");
    }
}

/// Inputs the fuzzer found (`scripts/fuzz`).
#[cfg(test)]
mod fuzz_found {
    use super::*;

    fn translate(q: &str) -> Result<(), ParseError> {
        let (_, fields) = crate::schema::schema();
        let mut t = Translator {
            fields: &fields,
            text: message_analyzer(),
        };
        t.query(&parse(q)?).map(|_| ())
    }

    #[test]
    fn far_future_times_and_control_characters() {
        assert!(translate("@timestamp:>6037-11-25").is_err());
        assert!(translate("@timestamp:>2199-11-25").is_ok());
        assert!(translate("host.name:web-z?\u{1}\u{0}R").is_ok());
    }
}
