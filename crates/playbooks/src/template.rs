//! `{{ path }}` templates: parsed when a playbook is loaded, resolved against the run's
//! context when a step is planned or run.
//!
//! A template only substitutes values; it has no filters or logic, so what a step sends is
//! always visible in the playbook. A reference that resolves to nothing (missing or null) is
//! an error naming the path, never an empty string: an empty IP or recipient must not slip
//! through into a command.

use serde_json::Value;

/// What a secret looks like in anything shown to people or written to the audit trail.
pub const REDACTED: &str = "***";

/// One piece of a template.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Ref(Vec<String>),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

/// A rendered template: the value to use, the value to show (secrets redacted), and whether
/// it still refers to the output of a step that has not run (only while planning).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rendered {
    pub real: String,
    pub shown: String,
    pub deferred: bool,
}

/// Where templates look values up.
pub(crate) struct Scope<'a> {
    /// The run's context: `alert`/`incident`, `steps`, `playbook`, step-local names.
    pub context: &'a Value,
    /// `{{ secrets.NAME }}`.
    pub secret: &'a dyn Fn(&str) -> Option<String>,
    /// While planning, a reference to an earlier step's output that is not in the context yet
    /// is kept as a placeholder instead of failing.
    pub allow_deferred: bool,
}

impl Template {
    /// Parses `text`; the error says what is wrong with the syntax.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Lit(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| "`{{` without a closing `}}`".to_string())?;
            let inner = after[..close].trim();
            parts.push(Part::Ref(parse_path(inner)?));
            rest = &after[close + 2..];
        }
        if rest.contains("}}") {
            return Err("`}}` without an opening `{{`".into());
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// Every path referenced, as its segments.
    pub fn refs(&self) -> impl Iterator<Item = &[String]> {
        self.parts.iter().filter_map(|p| match p {
            Part::Ref(path) => Some(path.as_slice()),
            Part::Lit(_) => None,
        })
    }

    /// True when the template has no references at all.
    pub fn is_literal(&self) -> bool {
        self.refs().next().is_none()
    }

    /// Substitutes every reference.
    pub fn render(&self, scope: &Scope<'_>) -> Result<Rendered, String> {
        let mut out = Rendered {
            real: String::new(),
            shown: String::new(),
            deferred: false,
        };
        for part in &self.parts {
            match part {
                Part::Lit(s) => {
                    out.real.push_str(s);
                    out.shown.push_str(s);
                }
                Part::Ref(path) => match resolve(path, scope)? {
                    Resolved::Value(v) => {
                        let s = as_text(&v);
                        out.real.push_str(&s);
                        out.shown.push_str(&s);
                    }
                    Resolved::Secret(s) => {
                        out.real.push_str(&s);
                        out.shown.push_str(REDACTED);
                    }
                    Resolved::Deferred => {
                        let placeholder = format!("{{{{ {} }}}}", path.join("."));
                        out.real.push_str(&placeholder);
                        out.shown.push_str(&placeholder);
                        out.deferred = true;
                    }
                },
            }
        }
        Ok(out)
    }

    /// A template that is exactly one reference to a non-secret value renders to that JSON
    /// value (a number stays a number in a request body); anything else renders to a string.
    fn render_value(&self, scope: &Scope<'_>) -> Result<(Value, Value, bool), String> {
        if let [Part::Ref(path)] = self.parts.as_slice() {
            if let Resolved::Value(v) = resolve(path, scope)? {
                return Ok((v.clone(), v, false));
            }
        }
        let r = self.render(scope)?;
        Ok((Value::String(r.real), Value::String(r.shown), r.deferred))
    }
}

fn parse_path(inner: &str) -> Result<Vec<String>, String> {
    if inner.is_empty() {
        return Err("empty `{{ }}`".into());
    }
    let segments: Vec<String> = inner.split('.').map(str::to_string).collect();
    for s in &segments {
        let ok = !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            return Err(format!(
                "`{{{{ {inner} }}}}` is not a path (names of letters, digits, `_`, `-` joined by `.`)"
            ));
        }
    }
    Ok(segments)
}

enum Resolved {
    Value(Value),
    Secret(String),
    Deferred,
}

fn resolve(path: &[String], scope: &Scope<'_>) -> Result<Resolved, String> {
    let dotted = path.join(".");
    if path[0] == "secrets" {
        if path.len() != 2 {
            return Err(format!(
                "`{dotted}`: a secret is referenced as secrets.NAME"
            ));
        }
        return (scope.secret)(&path[1])
            .map(Resolved::Secret)
            .ok_or_else(|| format!("secret `{}` is not set", path[1]));
    }
    let mut cur = scope.context;
    for (i, seg) in path.iter().enumerate() {
        let next = match cur {
            Value::Object(map) => map.get(seg),
            Value::Array(items) => seg.parse::<usize>().ok().and_then(|n| items.get(n)),
            _ => None,
        };
        match next {
            Some(v) if !v.is_null() => cur = v,
            _ => {
                // `steps.<id>` absent: that step has not run yet.
                if scope.allow_deferred && path[0] == "steps" && i == 1 {
                    return Ok(Resolved::Deferred);
                }
                return Err(format!("no value at `{dotted}`"));
            }
        }
    }
    Ok(Resolved::Value(cur.clone()))
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Renders every string leaf of a JSON template (object keys are taken as written).
/// Returns the real value, the shown (redacted) value and whether anything is deferred.
pub(crate) fn render_json(tpl: &Value, scope: &Scope<'_>) -> Result<(Value, Value, bool), String> {
    match tpl {
        Value::String(s) => Template::parse(s)?.render_value(scope),
        Value::Array(items) => {
            let (mut real, mut shown, mut deferred) = (Vec::new(), Vec::new(), false);
            for item in items {
                let (r, s, d) = render_json(item, scope)?;
                real.push(r);
                shown.push(s);
                deferred |= d;
            }
            Ok((Value::Array(real), Value::Array(shown), deferred))
        }
        Value::Object(map) => {
            let (mut real, mut shown, mut deferred) =
                (serde_json::Map::new(), serde_json::Map::new(), false);
            for (k, v) in map {
                let (r, s, d) = render_json(v, scope)?;
                real.insert(k.clone(), r);
                shown.insert(k.clone(), s);
                deferred |= d;
            }
            Ok((Value::Object(real), Value::Object(shown), deferred))
        }
        other => Ok((other.clone(), other.clone(), false)),
    }
}

/// Every template string inside a JSON template, with its path below `base`.
pub(crate) fn json_strings(tpl: &Value, base: &str, out: &mut Vec<(String, String)>) {
    match tpl {
        Value::String(s) => out.push((base.to_string(), s.clone())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                json_strings(item, &format!("{base}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                json_strings(v, &format!("{base}.{k}"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope<'a>(ctx: &'a Value, f: &'a dyn Fn(&str) -> Option<String>) -> Scope<'a> {
        Scope {
            context: ctx,
            secret: f,
            allow_deferred: false,
        }
    }

    #[test]
    fn renders_and_redacts() {
        let ctx = json!({"alert": {"entities": {"source_ip": "10.1.2.3"}, "count": 7}});
        let f = |n: &str| (n == "KEY").then(|| "s3cret".to_string());
        let t = Template::parse(
            "ip={{ alert.entities.source_ip }} n={{alert.count}} k={{ secrets.KEY }}",
        )
        .unwrap();
        let r = t.render(&scope(&ctx, &f)).unwrap();
        assert_eq!(r.real, "ip=10.1.2.3 n=7 k=s3cret");
        assert_eq!(r.shown, "ip=10.1.2.3 n=7 k=***");
    }

    #[test]
    fn missing_values_are_errors() {
        let ctx = json!({"alert": {"title": null}});
        let f = |_: &str| None;
        let t = Template::parse("{{ alert.title }}").unwrap();
        assert_eq!(
            t.render(&scope(&ctx, &f)).unwrap_err(),
            "no value at `alert.title`"
        );
        let t = Template::parse("{{ secrets.NOPE }}").unwrap();
        assert!(t.render(&scope(&ctx, &f)).unwrap_err().contains("NOPE"));
    }

    #[test]
    fn syntax_errors() {
        assert!(Template::parse("{{ alert.title").is_err());
        assert!(Template::parse("{{ }}").is_err());
        assert!(Template::parse("{{ a b }}").is_err());
        assert!(Template::parse("x }}").is_err());
        assert!(Template::parse("plain").unwrap().is_literal());
    }

    #[test]
    fn json_keeps_types() {
        let ctx = json!({"alert": {"count": 3, "ip": "1.1.1.1"}});
        let f = |_: &str| Some("tok".to_string());
        let tpl =
            json!({"n": "{{ alert.count }}", "s": "ip {{ alert.ip }}", "a": ["{{ secrets.T }}"]});
        let (real, shown, d) = render_json(&tpl, &scope(&ctx, &f)).unwrap();
        assert!(!d);
        assert_eq!(real, json!({"n": 3, "s": "ip 1.1.1.1", "a": ["tok"]}));
        assert_eq!(shown, json!({"n": 3, "s": "ip 1.1.1.1", "a": ["***"]}));
    }
}
