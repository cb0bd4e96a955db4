//! Detection rules in the console (MO.2.a): the loaded Sigma rules and correlations with
//! filters, a rule with its YAML, this tenant's switch, and a test against pasted events or an
//! event search. Actions go through the API's shared functions.

use super::alerts::console_time;
use super::Paged;
use super::{done, page, Console, ConsoleError, ConsoleForm, Layout};
use crate::api::rules::{
    find_rules, rule_view, switch_rule, test_rule, RuleQuery, RuleSummary, RuleTest,
    RuleTestResult, RuleView,
};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use yunshou_model::Permission;
use yunshou_store::alerts::Entities;

/// Rules per page.
const PAGE_SIZE: i64 = 50;

/// ATT&CK tactics suggested by the filter (any tactic tag may be typed).
const TACTICS: [&str; 15] = [
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "stealth",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
];

/// Sigma levels offered by the filter.
const LEVELS: [&str; 5] = ["informational", "low", "medium", "high", "critical"];

/// The label of a Sigma level (unknown ones as written).
fn level_label(l: &Layout, level: &Option<String>) -> String {
    match level.as_deref() {
        Some(v) if LEVELS.contains(&v) => l.t.get(&format!("sev.{v}")).to_string(),
        Some(v) => v.to_string(),
        None => String::new(),
    }
}

/// A rule id from the path: anything printable and short; unknown ids are 404 later.
fn rule_id(id: String) -> Result<String, ConsoleError> {
    if id.is_empty() || id.len() > 200 || id.chars().any(char::is_control) {
        return Err(ConsoleError::Page(StatusCode::NOT_FOUND, "rule id".into()));
    }
    Ok(id)
}

#[derive(Deserialize, Default)]
pub struct RulesForm {
    #[serde(default)]
    q: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    logsource: String,
    #[serde(default)]
    tactic: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    offset: Option<i64>,
}

#[derive(Template)]
#[template(path = "rules.html")]
struct RulesPage {
    l: Layout,
    f: RulesForm,
    rules: Vec<RuleSummary>,
    total: i64,
    offset: i64,
    can_manage: bool,
    error: Option<String>,
}

impl super::Paged for RulesPage {
    fn offset(&self) -> i64 {
        self.offset
    }
    fn total(&self) -> i64 {
        self.total
    }
    fn page_size(&self) -> i64 {
        PAGE_SIZE
    }
    fn page_link(&self, offset: i64) -> String {
        let f = &self.f;
        let offset = offset.max(0).to_string();
        let pairs = [
            ("q", f.q.as_str()),
            ("level", &f.level),
            ("logsource", &f.logsource),
            ("tactic", &f.tactic),
            ("status", &f.status),
            ("offset", &offset),
        ];
        let kept: Vec<_> = pairs.iter().filter(|(_, v)| !v.is_empty()).collect();
        format!(
            "/rules?{}",
            serde_urlencoded::to_string(kept).unwrap_or_default()
        )
    }
}

impl RulesPage {
    fn tactics(&self) -> &'static [&'static str] {
        &TACTICS
    }
    fn levels(&self) -> &'static [&'static str] {
        &LEVELS
    }
    fn level(&self, r: &RuleSummary) -> String {
        level_label(&self.l, &r.level)
    }
    /// This page's address, to come back to after a switch.
    fn here(&self) -> String {
        self.page_link(self.offset)
    }
}

/// `GET /rules`: loaded rules with filters and this tenant's switches.
pub async fn list(
    State(state): State<AppState>,
    Console(l): Console,
    Query(f): Query<RulesForm>,
) -> Result<Response, ConsoleError> {
    l.p.require(Permission::RulesRead)?;
    let offset = f.offset.unwrap_or(0).max(0);
    let text = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
    let q = RuleQuery {
        q: text(&f.q),
        level: text(&f.level),
        logsource: text(&f.logsource),
        tactic: text(&f.tactic),
        status: text(&f.status),
        limit: Some(PAGE_SIZE),
        offset: Some(offset),
    };
    let mut error = None;
    let (rules, total) = match find_rules(&state, &l.p, &q).await {
        Ok(found) => found,
        Err(e) if e.status == StatusCode::FORBIDDEN => return Err(e.into()),
        Err(e) => {
            error = Some(e.detail);
            (vec![], 0)
        }
    };
    let can_manage = l.p.can(Permission::RulesManage);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        RulesPage {
            l,
            f,
            rules,
            total,
            offset,
            can_manage,
            error,
        }
        .render()?,
    ))
}

/// What the test form held, to show again with the result.
#[derive(Deserialize, Default)]
pub struct TestForm {
    #[serde(default)]
    events: String,
    #[serde(default)]
    search: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

#[derive(Template)]
#[template(path = "rule.html")]
struct RulePage {
    l: Layout,
    rule: RuleView,
    can_manage: bool,
    test: TestForm,
    result: Option<RuleTestResult>,
    test_error: Option<String>,
}

impl RulePage {
    fn level(&self) -> String {
        level_label(&self.l, &self.rule.summary.level)
    }
    fn entities(&self, e: &Entities) -> String {
        let mut parts = vec![];
        for (key, v) in [
            ("det.entity.host", &e.host),
            ("det.entity.user", &e.user),
            ("det.entity.source_ip", &e.source_ip),
            ("det.entity.destination_ip", &e.destination_ip),
        ] {
            if let Some(v) = v {
                parts.push(format!("{}: {v}", self.l.t.get(key)));
            }
        }
        parts.extend(
            e.assets
                .iter()
                .map(|a| format!("{}: {}", self.l.t.get("det.entity.asset"), a.name)),
        );
        parts.extend(e.indicators.iter().cloned());
        parts.extend(e.group.iter().cloned());
        parts.join(" · ")
    }
    fn back(&self) -> String {
        format!("/rules/{}", super::url_encode(&self.rule.summary.id))
    }
}

async fn show(
    state: &AppState,
    l: Layout,
    id: &str,
    test: TestForm,
    result: Option<RuleTestResult>,
    test_error: Option<String>,
) -> Result<Response, ConsoleError> {
    let rule = rule_view(state, &l.p, id).await?;
    let can_manage = l.p.can(Permission::RulesManage);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        RulePage {
            l,
            rule,
            can_manage,
            test,
            result,
            test_error,
        }
        .render()?,
    ))
}

/// `GET /rules/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    Console(l): Console,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let id = rule_id(id)?;
    show(&state, l, &id, TestForm::default(), None, None).await
}

/// Pasted events: a JSON array, one object, or one object per line.
pub fn parse_events(text: &str) -> Result<Vec<serde_json::Value>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(vec![]);
    }
    if text.starts_with('[') {
        return serde_json::from_str::<Vec<serde_json::Value>>(text)
            .map_err(|e| format!("events: not a JSON array of events ({e})"));
    }
    if let Ok(one) = serde_json::from_str::<serde_json::Value>(text) {
        return Ok(vec![one]);
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line.trim())
                .map_err(|e| format!("events: line {}: not JSON ({e})", i + 1))
        })
        .collect()
}

/// `POST /rules/{id}/test`: runs the rule over the pasted events or the search's events and
/// shows which matched (nothing is recorded).
pub async fn test(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: ConsoleForm<TestForm>,
) -> Result<Response, ConsoleError> {
    let id = rule_id(id)?;
    let l = f.layout;
    let form = f.form;
    let run = match parse_events(&form.events) {
        Err(e) => Err(e),
        Ok(events) => {
            let req = RuleTest {
                events,
                search: Some(form.search.clone()).filter(|s| !s.trim().is_empty()),
                from: console_time(&form.from),
                to: console_time(&form.to),
            };
            match test_rule(&state, &l.p, &id, req).await {
                Ok(r) => Ok(r),
                Err(e) if e.status == StatusCode::BAD_REQUEST => Err(e.detail),
                Err(e) => return Err(e.into()),
            }
        }
    };
    let (result, error) = match run {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(e)),
    };
    show(&state, l, &id, form, result, error).await
}

#[derive(Deserialize)]
pub struct SwitchForm {
    enabled: String,
    #[serde(default)]
    back: String,
}

/// `POST /rules/{id}/enabled`: turns the rule on or off for this tenant.
pub async fn switch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: ConsoleForm<SwitchForm>,
) -> Result<Response, ConsoleError> {
    let id = rule_id(id)?;
    let enabled = f.form.enabled == "true";
    // Only back to a console page of rules.
    let back = if f.form.back.starts_with("/rules") && !f.form.back.starts_with("/rules//") {
        f.form.back.clone()
    } else {
        format!("/rules/{}", super::url_encode(&id))
    };
    switch_rule(&state, &f.layout.p, &id, enabled)
        .await
        .map_err(ConsoleError::back(&back))?;
    let msg = if enabled {
        "drule.enabled_done"
    } else {
        "drule.disabled_done"
    };
    Ok(done(&back, f.layout.t.get(msg)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_events() {
        assert_eq!(parse_events("  ").unwrap().len(), 0);
        assert_eq!(parse_events(r#"[{"a":1},{"b":2}]"#).unwrap().len(), 2);
        assert_eq!(parse_events(r#"{"a":1}"#).unwrap().len(), 1);
        assert_eq!(parse_events("{\"a\":1}\n\n{\"b\":2}\n").unwrap().len(), 2);
        let e = parse_events("{\"a\":1}\n{oops").unwrap_err();
        assert!(e.starts_with("events: line 2: not JSON"), "{e}");
        assert!(parse_events("[1,").unwrap_err().contains("array"));
    }
}
