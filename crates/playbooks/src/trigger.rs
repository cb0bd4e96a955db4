//! Trigger conditions over the alert or incident JSON the platform hands over.

use serde_json::Value;

use crate::model::{
    AlertConditions, IncidentConditions, IncidentLevel, Playbook, Severity, Trigger, TriggerKind,
};

impl Playbook {
    /// True when the playbook is enabled, triggered by `kind` and every condition holds for
    /// `subject` (the alert or incident as JSON). A field the subject lacks fails its condition.
    pub fn matches(&self, kind: TriggerKind, subject: &Value) -> bool {
        if !self.enabled || self.trigger.kind() != kind {
            return false;
        }
        match &self.trigger {
            Trigger::Alert(c) => alert_matches(c, subject),
            Trigger::Incident(c) => incident_matches(c, subject),
        }
    }
}

fn text<'a>(subject: &'a Value, key: &str) -> Option<&'a str> {
    subject.get(key).and_then(Value::as_str)
}

/// Empty list: no condition; otherwise the field must equal one entry (case-insensitive).
fn one_of(list: &[String], value: Option<&str>) -> bool {
    list.is_empty() || value.is_some_and(|v| list.iter().any(|x| x.eq_ignore_ascii_case(v.trim())))
}

fn severity(s: &str) -> Option<Severity> {
    serde_json::from_value(Value::String(s.trim().to_ascii_lowercase())).ok()
}

fn alert_matches(c: &AlertConditions, a: &Value) -> bool {
    if !one_of(&c.rule_id, text(a, "rule_id")) {
        return false;
    }
    if let Some(min) = c.severity_at_least {
        match text(a, "severity").and_then(severity) {
            Some(s) if s >= min => {}
            _ => return false,
        }
    }
    if !c.tags_any.is_empty() {
        // The platform's alerts carry ATT&CK tactics and techniques; other sources `tags`.
        let has = ["tags", "tactics", "techniques"].iter().any(|k| {
            a.get(*k).and_then(Value::as_array).is_some_and(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|t| c.tags_any.iter().any(|w| w.eq_ignore_ascii_case(t)))
            })
        });
        if !has {
            return false;
        }
    }
    if let Some(needle) = &c.title_contains {
        match text(a, "title") {
            Some(t) if t.to_lowercase().contains(&needle.to_lowercase()) => {}
            _ => return false,
        }
    }
    true
}

fn level(s: &str) -> Option<IncidentLevel> {
    serde_json::from_value(Value::String(s.trim().to_ascii_uppercase())).ok()
}

fn incident_matches(c: &IncidentConditions, i: &Value) -> bool {
    if !one_of(&c.category, text(i, "category"))
        || !one_of(&c.subcategory, text(i, "subcategory"))
        || !one_of(&c.phase, text(i, "phase"))
    {
        return false;
    }
    if let Some(max) = c.level_at_most {
        // I < II < III < IV in declaration order: "at most II" = I or II.
        match text(i, "level").and_then(level) {
            Some(l) if l <= max => {}
            _ => return false,
        }
    }
    true
}
