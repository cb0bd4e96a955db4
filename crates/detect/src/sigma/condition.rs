//! The condition grammar of Sigma rules: `and`, `or`, `not`, parentheses, selection names,
//! `1 of sel_*`, `all of filter_*`, `1 of them`, `all of them`. Precedence: `not` binds
//! tightest, then `and`, then `or`. The pipe aggregations of Sigma 1 (`| count() > 5`) are
//! refused with a reason: correlation rules replace them.

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// A named search identifier.
    Ref(String),
    /// `1 of PATTERN` (`them` is `*`).
    OneOf(String),
    /// `all of PATTERN`.
    AllOf(String),
    /// Negation.
    Not(Box<Condition>),
    /// Conjunction.
    And(Vec<Condition>),
    /// Disjunction.
    Or(Vec<Condition>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Open,
    Close,
}

fn tokens(s: &str) -> Result<Vec<Token>, String> {
    let mut out = vec![];
    let mut word = String::new();
    for c in s.chars() {
        match c {
            '(' | ')' | ' ' | '\t' | '\n' => {
                if !word.is_empty() {
                    out.push(Token::Word(std::mem::take(&mut word)));
                }
                match c {
                    '(' => out.push(Token::Open),
                    ')' => out.push(Token::Close),
                    _ => {}
                }
            }
            '|' => {
                return Err(
                    "pipe aggregations (`| count() …`) are Sigma 1; use a correlation rule".into(),
                )
            }
            _ => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(Token::Word(word));
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek_word(&self) -> Option<&str> {
        match self.tokens.get(self.at) {
            Some(Token::Word(w)) => Some(w.as_str()),
            _ => None,
        }
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut parts = vec![self.and()?];
        while self
            .peek_word()
            .is_some_and(|w| w.eq_ignore_ascii_case("or"))
        {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().expect("one")
        } else {
            Condition::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut parts = vec![self.not()?];
        while self
            .peek_word()
            .is_some_and(|w| w.eq_ignore_ascii_case("and"))
        {
            self.at += 1;
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().expect("one")
        } else {
            Condition::And(parts)
        })
    }

    fn not(&mut self) -> Result<Condition, String> {
        if self
            .peek_word()
            .is_some_and(|w| w.eq_ignore_ascii_case("not"))
        {
            self.at += 1;
            return Ok(Condition::Not(Box::new(self.not()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Condition, String> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::Open) => {
                self.at += 1;
                let inner = self.or()?;
                match self.tokens.get(self.at) {
                    Some(Token::Close) => {
                        self.at += 1;
                        Ok(inner)
                    }
                    _ => Err("missing `)`".into()),
                }
            }
            Some(Token::Word(w)) => {
                self.at += 1;
                let quantifier = if w == "1" || w.eq_ignore_ascii_case("any") {
                    Some(true)
                } else if w.eq_ignore_ascii_case("all") {
                    Some(false)
                } else {
                    None
                };
                if let Some(one) = quantifier {
                    if self
                        .peek_word()
                        .is_some_and(|x| x.eq_ignore_ascii_case("of"))
                    {
                        self.at += 1;
                        let pattern = match self.tokens.get(self.at) {
                            Some(Token::Word(p)) => p.clone(),
                            _ => return Err(format!("`{w} of` needs a name pattern or `them`")),
                        };
                        self.at += 1;
                        let pattern = if pattern.eq_ignore_ascii_case("them") {
                            "*".to_string()
                        } else {
                            pattern
                        };
                        return Ok(if one {
                            Condition::OneOf(pattern)
                        } else {
                            Condition::AllOf(pattern)
                        });
                    }
                }
                if ["and", "or", "not", "of"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k))
                {
                    return Err(format!("`{w}` where a selection was expected"));
                }
                Ok(Condition::Ref(w))
            }
            Some(Token::Close) => Err("unexpected `)`".into()),
            None => Err("the condition ends too early".into()),
        }
    }
}

/// Parses a condition.
pub fn parse(s: &str) -> Result<Condition, String> {
    let mut p = Parser {
        tokens: tokens(s)?,
        at: 0,
    };
    let c = p.or()?;
    if p.at != p.tokens.len() {
        return Err(format!(
            "unexpected text after the condition at token {}",
            p.at + 1
        ));
    }
    Ok(c)
}

/// Whether a `1 of`/`all of` pattern (with `*` wildcards) names `name`.
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            name.len() >= head.len()
                && name.starts_with(head)
                && pattern_matches_rest(tail, &name[head.len()..])
        }
    }
}

fn pattern_matches_rest(pattern: &str, name: &str) -> bool {
    if pattern.is_empty() {
        return true;
    }
    (0..=name.len())
        .filter(|i| name.is_char_boundary(*i))
        .any(|i| pattern_matches(pattern, &name[i..]))
}

impl Condition {
    /// Every selection name the condition refers to directly (not through patterns).
    pub fn refs(&self) -> Vec<&str> {
        match self {
            Condition::Ref(r) => vec![r.as_str()],
            Condition::OneOf(_) | Condition::AllOf(_) => vec![],
            Condition::Not(c) => c.refs(),
            Condition::And(v) | Condition::Or(v) => v.iter().flat_map(|c| c.refs()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Condition {
        Condition::Ref(s.into())
    }

    #[test]
    fn precedence_and_quantifiers() {
        assert_eq!(
            parse("a or b and not c").unwrap(),
            Condition::Or(vec![
                r("a"),
                Condition::And(vec![r("b"), Condition::Not(Box::new(r("c")))])
            ])
        );
        assert_eq!(
            parse("(a or b) and not 1 of filter_*").unwrap(),
            Condition::And(vec![
                Condition::Or(vec![r("a"), r("b")]),
                Condition::Not(Box::new(Condition::OneOf("filter_*".into())))
            ])
        );
        assert_eq!(parse("all of them").unwrap(), Condition::AllOf("*".into()));
        assert_eq!(
            parse("1 of selection*").unwrap(),
            Condition::OneOf("selection*".into())
        );
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(parse("selection | count() > 5")
            .unwrap_err()
            .contains("correlation"));
        assert!(parse("(a or b").unwrap_err().contains(")"));
        assert!(parse("a and").unwrap_err().contains("early"));
        assert!(parse("a b").is_err());
        assert!(parse("1 of").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn patterns() {
        assert!(pattern_matches("*", "anything"));
        assert!(pattern_matches("sel_*", "sel_img"));
        assert!(!pattern_matches("sel_*", "filter"));
        assert!(pattern_matches("*_main", "filter_main"));
        assert!(pattern_matches("a*b*c", "aXbYc"));
        assert!(!pattern_matches("a*b*c", "aXbY"));
    }
}
