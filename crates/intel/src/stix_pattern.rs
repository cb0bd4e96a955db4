//! The part of the STIX 2.1 patterning language an indicator set can answer.
//!
//! The whole grammar is parsed (so a malformed pattern is told apart from an
//! unsupported one), then the expression is split into its `OR` branches. A
//! branch that is a single `object:path = 'literal'` comparison on a supported
//! path becomes an indicator; any other branch (`AND`, `FOLLOWEDBY`, a
//! qualifier, another operator or object type) is reported as unsupported —
//! matching only part of an `AND` would raise false alarms.

use crate::IndicatorKind;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LBrack,
    RBrack,
    LParen,
    RParen,
    Comma,
    Op(String),
    Str(String),
    /// Object path, keyword, number, or a typed literal such as `t'…'`.
    Word(String),
}

fn tokenize(p: &str) -> Result<Vec<Tok>, String> {
    let b = p.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'[' => (out.push(Tok::LBrack), i += 1).1,
            b']' => (out.push(Tok::RBrack), i += 1).1,
            b'(' => (out.push(Tok::LParen), i += 1).1,
            b')' => (out.push(Tok::RParen), i += 1).1,
            b',' => (out.push(Tok::Comma), i += 1).1,
            b'=' | b'!' | b'<' | b'>' => {
                let two = b.get(i + 1) == Some(&b'=') || (c == b'<' && b.get(i + 1) == Some(&b'>'));
                let n = if two { 2 } else { 1 };
                let op = &p[i..i + n];
                if op == "!" {
                    return Err("stray '!'".into());
                }
                out.push(Tok::Op(op.to_owned()));
                i += n;
            }
            b'\'' => {
                let (s, next) = string_lit(p, i)?;
                out.push(Tok::Str(s));
                i = next;
            }
            _ => {
                // A word runs to whitespace or punctuation; quoted path steps
                // (`hashes.'SHA-256'`) and typed literals (`t'…'`) stay inside it.
                let start = i;
                while i < b.len() && !b" \t\r\n[]()=!<>,".contains(&b[i]) {
                    if b[i] == b'\'' {
                        i = string_lit(p, i)?.1;
                    } else {
                        i += 1;
                    }
                }
                out.push(Tok::Word(p[start..i].to_owned()));
            }
        }
    }
    Ok(out)
}

/// Reads `'…'` starting at `i`, undoing `\'` and `\\`; returns the text and the next index.
fn string_lit(p: &str, i: usize) -> Result<(String, usize), String> {
    let mut s = String::new();
    let mut chars = p[i + 1..].char_indices();
    while let Some((j, ch)) = chars.next() {
        match ch {
            '\\' => match chars.next() {
                Some((_, e @ ('\'' | '\\'))) => s.push(e),
                _ => return Err("bad escape in string literal (only \\' and \\\\)".into()),
            },
            '\'' => return Ok((s, i + 1 + j + 1)),
            _ => s.push(ch),
        }
    }
    Err("unterminated string literal".into())
}

#[derive(Debug)]
enum Expr {
    Or(Vec<Expr>),
    /// `AND` or `FOLLOWEDBY`, named for the message.
    Joined(&'static str),
    Qualified(String),
    Cmp {
        path: String,
        op: String,
        value: Option<Vec<String>>,
    },
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

fn is_kw(t: Option<&Tok>, kw: &str) -> bool {
    matches!(t, Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn expect(&mut self, t: Tok, what: &str) -> Result<(), String> {
        if self.next() == Some(t) {
            Ok(())
        } else {
            Err(format!("expected {what}"))
        }
    }

    /// Binary levels, lowest precedence first, as in the STIX grammar.
    fn binary(
        &mut self,
        op: &'static str,
        sub: fn(&mut Self) -> Result<Expr, String>,
    ) -> Result<Expr, String> {
        let first = sub(self)?;
        if !is_kw(self.peek(), op) {
            return Ok(first);
        }
        let mut items = vec![first];
        while is_kw(self.peek(), op) {
            self.pos += 1;
            items.push(sub(self)?);
        }
        Ok(if op == "OR" {
            Expr::Or(items)
        } else {
            Expr::Joined(op)
        })
    }

    fn obs_followed(&mut self) -> Result<Expr, String> {
        self.binary("FOLLOWEDBY", Self::obs_or)
    }
    fn obs_or(&mut self) -> Result<Expr, String> {
        self.binary("OR", Self::obs_and)
    }
    fn obs_and(&mut self) -> Result<Expr, String> {
        self.binary("AND", Self::observation)
    }

    fn observation(&mut self) -> Result<Expr, String> {
        let mut e = match self.next() {
            Some(Tok::LBrack) => {
                let e = self.cmp_or()?;
                self.expect(Tok::RBrack, "']'")?;
                e
            }
            Some(Tok::LParen) => {
                let e = self.obs_followed()?;
                self.expect(Tok::RParen, "')'")?;
                e
            }
            _ => return Err("expected '[' or '('".into()),
        };
        // Qualifiers: WITHIN n SECONDS | REPEATS n TIMES | START t STOP t.
        while let Some(Tok::Word(w)) = self.peek() {
            let w = w.to_ascii_uppercase();
            let arity = match w.as_str() {
                "WITHIN" | "REPEATS" => 2,
                "START" => 3,
                _ => break,
            };
            self.pos += 1 + arity;
            if self.pos > self.toks.len() {
                return Err(format!("incomplete {w} qualifier"));
            }
            e = Expr::Qualified(w);
        }
        Ok(e)
    }

    fn cmp_or(&mut self) -> Result<Expr, String> {
        self.binary("OR", Self::cmp_and)
    }
    fn cmp_and(&mut self) -> Result<Expr, String> {
        self.binary("AND", Self::cmp)
    }

    fn cmp(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Tok::LParen) => {
                let e = self.cmp_or()?;
                self.expect(Tok::RParen, "')'")?;
                Ok(e)
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("EXISTS") => match self.next() {
                Some(Tok::Word(path)) => Ok(Expr::Cmp {
                    path,
                    op: "EXISTS".into(),
                    value: None,
                }),
                _ => Err("EXISTS without an object path".into()),
            },
            Some(Tok::Word(path)) if path.contains(':') => {
                let mut op = String::new();
                if is_kw(self.peek(), "NOT") {
                    self.pos += 1;
                    op.push_str("NOT ");
                }
                match self.next() {
                    Some(Tok::Op(o)) => op.push_str(&o),
                    Some(Tok::Word(w)) => op.push_str(&w.to_ascii_uppercase()),
                    _ => return Err(format!("no operator after {path}")),
                }
                let value = match self.next() {
                    Some(Tok::Str(s)) => Some(vec![s]),
                    Some(Tok::LParen) => {
                        let mut set = Vec::new();
                        let mut all_str = true;
                        loop {
                            match self.next() {
                                Some(Tok::Str(s)) => set.push(s),
                                Some(Tok::Word(_)) => all_str = false,
                                _ => return Err("bad set literal".into()),
                            }
                            match self.next() {
                                Some(Tok::Comma) => {}
                                Some(Tok::RParen) => break,
                                _ => return Err("bad set literal".into()),
                            }
                        }
                        all_str.then_some(set)
                    }
                    Some(Tok::Word(_)) => None, // number, boolean, t'…', h'…', b'…'
                    _ => return Err(format!("no value after {path} {op}")),
                };
                Ok(Expr::Cmp { path, op, value })
            }
            _ => Err("expected a comparison (object-type:property op value)".into()),
        }
    }
}

/// The supported object paths. Hash names compare without quotes, dashes or case.
fn path_kind(path: &str) -> Option<IndicatorKind> {
    let (obj, prop) = path.split_once(':')?;
    let prop: String = prop
        .chars()
        .filter(|c| !matches!(c, '\'' | '-' | '_'))
        .collect::<String>()
        .to_ascii_lowercase();
    match (obj, prop.as_str()) {
        ("ipv4-addr", "value") => Some(IndicatorKind::Ipv4),
        ("ipv6-addr", "value") => Some(IndicatorKind::Ipv6),
        ("domain-name", "value") => Some(IndicatorKind::Domain),
        ("url", "value") => Some(IndicatorKind::Url),
        ("file", "hashes.md5") => Some(IndicatorKind::Md5),
        ("file", "hashes.sha1") => Some(IndicatorKind::Sha1),
        ("file", "hashes.sha256") => Some(IndicatorKind::Sha256),
        ("file", "hashes.sm3") => Some(IndicatorKind::Sm3),
        _ => None,
    }
}

/// A pattern split into usable comparisons and the reasons for the rest.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Split {
    pub(crate) atoms: Vec<(IndicatorKind, String)>,
    pub(crate) unsupported: Vec<String>,
}

/// Parses a pattern; `Err` only for a pattern that is not valid STIX patterning.
pub(crate) fn split(pattern: &str) -> Result<Split, String> {
    let toks = tokenize(pattern)?;
    let mut p = Parser { toks, pos: 0 };
    let e = p.obs_followed()?;
    if p.pos < p.toks.len() {
        return Err(format!(
            "unexpected {:?} after the expression",
            p.toks[p.pos]
        ));
    }
    let mut out = Split::default();
    collect(e, &mut out);
    Ok(out)
}

fn collect(e: Expr, out: &mut Split) {
    match e {
        Expr::Or(items) => items.into_iter().for_each(|i| collect(i, out)),
        Expr::Joined(op) => out.unsupported.push(format!("{op} combines observations")),
        Expr::Qualified(q) => out.unsupported.push(format!("{q} qualifier")),
        Expr::Cmp { path, op, value } => {
            let kind = path_kind(&path);
            match (kind, op.as_str(), value) {
                (Some(k), "=" | "IN", Some(vals)) => {
                    out.atoms.extend(vals.into_iter().map(|v| (k, v)));
                }
                (Some(_), "=" | "IN", None) => {
                    out.unsupported.push(format!("{path}: non-string literal"));
                }
                (Some(_), op, _) => out.unsupported.push(format!("operator {op} on {path}")),
                (None, _, _) => out.unsupported.push(format!("object path {path}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IndicatorKind::*;

    fn atoms(p: &str) -> Vec<(IndicatorKind, String)> {
        split(p).unwrap().atoms
    }

    #[test]
    fn equality_and_or() {
        assert_eq!(
            atoms("[ipv4-addr:value = '198.51.100.1/32']"),
            [(Ipv4, "198.51.100.1/32".into())]
        );
        let a = atoms("[domain-name:value = 'a.example' OR url:value = 'http://b.example/x'] OR ([file:hashes.'SHA-256' = 'ab'])");
        assert_eq!(
            a,
            [
                (Domain, "a.example".into()),
                (Url, "http://b.example/x".into()),
                (Sha256, "ab".into())
            ]
        );
        assert_eq!(
            atoms("[file:hashes.MD5 = 'x' OR file:hashes.'SHA-1' = 'y']")[1].0,
            Sha1
        );
        assert_eq!(
            atoms("[ipv6-addr:value IN ('::1', '2001:db8::/32')]").len(),
            2
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(
            atoms(r"[url:value = 'http://x.example/it\'s\\a']")[0].1,
            r"http://x.example/it's\a"
        );
        assert!(split("[url:value = 'open").is_err());
    }

    #[test]
    fn unsupported_parts_are_named() {
        let s = split("[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value = '5.6.7.8'] OR [domain-name:value = 'x.example']").unwrap();
        assert_eq!(s.atoms, [(Domain, "x.example".into())]);
        assert_eq!(s.unsupported, ["AND combines observations"]);
        let r = |p: &str| split(p).unwrap().unsupported;
        assert_eq!(
            r("[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [ipv4-addr:value = '5.6.7.8']"),
            ["FOLLOWEDBY combines observations"]
        );
        assert_eq!(
            r("[ipv4-addr:value = '1.2.3.4'] REPEATS 5 TIMES WITHIN 10 SECONDS"),
            ["WITHIN qualifier"]
        );
        assert_eq!(
            r("[ipv4-addr:value != '1.2.3.4']"),
            ["operator != on ipv4-addr:value"]
        );
        assert_eq!(
            r("[domain-name:value LIKE '%.example']"),
            ["operator LIKE on domain-name:value"]
        );
        assert_eq!(
            r("[url:value MATCHES '^http']"),
            ["operator MATCHES on url:value"]
        );
        assert_eq!(
            r("[ipv4-addr:value NOT = '1.2.3.4']"),
            ["operator NOT = on ipv4-addr:value"]
        );
        assert_eq!(r("[file:name = 'evil.exe']"), ["object path file:name"]);
        assert_eq!(r("[file:size > 10]"), ["object path file:size"]);
    }

    #[test]
    fn malformed_is_an_error() {
        for p in [
            "ipv4-addr:value = '1.2.3.4'",
            "[ipv4-addr:value = '1.2.3.4'",
            "[ipv4-addr:value '1']",
            "[] OR",
            "[a:b = 'c'] junk",
        ] {
            assert!(split(p).is_err(), "{p}");
        }
    }
}
