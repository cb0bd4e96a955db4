//! Detection rules (MO.2.a): the loaded Sigma rules and correlations with filters, each
//! tenant's switches, and a rule test against pasted events or an event search.

use crate::auth::{ApiPrincipal, Principal};
use crate::detection::{RuleBook, RuleRef, StreamDetector};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, IdPath, ListOf, PageQuery};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use yunshou_model::Permission;
use yunshou_store::alerts::{attack_from_tags, Entities};

/// A rule in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleSummary {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// `rule` or `correlation`.
    pub kind: String,
    /// Sigma level.
    pub level: Option<String>,
    /// Sigma status (`stable`, `test`, `experimental` …).
    pub status: Option<String>,
    /// Author (Detection Rule License).
    pub author: Option<String>,
    /// ATT&CK tactics.
    pub tactics: Vec<String>,
    /// ATT&CK techniques.
    pub techniques: Vec<String>,
    /// `product/service/category` (empty parts left out); a correlation's type.
    pub logsource: String,
    /// Where it came from (`builtin:yunshou/…`, a file, or `set/path` of an imported set).
    pub file: String,
    /// From one of this tenant's imported rule sets.
    pub imported: bool,
    /// On for this tenant.
    pub enabled: bool,
}

/// A rule with its text.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleView {
    /// The summary.
    #[serde(flatten)]
    pub summary: RuleSummary,
    /// Description.
    pub description: Option<String>,
    /// Known false positives.
    pub falsepositives: Vec<String>,
    /// The YAML as written.
    pub source: String,
}

/// Filters of `GET /api/v1/rules`.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RuleQuery {
    /// Text in the id or title.
    pub q: Option<String>,
    /// Sigma level.
    pub level: Option<String>,
    /// Text in `product/service/category`.
    pub logsource: Option<String>,
    /// ATT&CK tactic (`credential-access`).
    pub tactic: Option<String>,
    /// `enabled` or `disabled`.
    pub status: Option<String>,
    /// Page size, 1–1000.
    pub limit: Option<i64>,
    /// Offset.
    pub offset: Option<i64>,
}

pub(crate) fn detector(state: &AppState) -> ApiResult<&Arc<StreamDetector>> {
    state.detection.as_ref().ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "detection is not running on this server",
        )
    })
}

/// The shared rules, then the tenant's own imported ones (flagged `true`).
fn books(d: &StreamDetector, tenant: &str) -> Vec<(Arc<RuleBook>, bool)> {
    let mut out = vec![(d.book().clone(), false)];
    if let Some(own) = d.tenant_book(tenant) {
        out.push((own, true));
    }
    out
}

/// A rule by id among those the tenant sees.
fn find(d: &StreamDetector, tenant: &str, id: &str) -> Option<(Arc<RuleBook>, RuleRef, bool)> {
    books(d, tenant)
        .into_iter()
        .find_map(|(b, own)| b.by_id.get(id).copied().map(|r| (b.clone(), r, own)))
}

fn summary(book: &RuleBook, r: RuleRef, disabled: &HashSet<String>, imported: bool) -> RuleSummary {
    let engine = &book.engine;
    match r {
        RuleRef::Rule(i) => {
            let rule = &engine.rules()[i as usize].rule;
            let (tactics, techniques) = attack_from_tags(&rule.tags);
            let ls = &rule.logsource;
            let logsource = [&ls.product, &ls.service, &ls.category]
                .iter()
                .filter_map(|p| p.as_deref())
                .collect::<Vec<_>>()
                .join("/");
            RuleSummary {
                id: rule.id.clone(),
                title: rule.title.clone(),
                kind: "rule".into(),
                level: rule.level.clone(),
                status: rule.status.clone(),
                author: rule.author.clone(),
                tactics,
                techniques,
                logsource,
                file: rule.file.display().to_string(),
                imported,
                enabled: !disabled.contains(&rule.id),
            }
        }
        RuleRef::Correlation(i) => {
            let c = engine.correlation(i);
            let (tactics, techniques) = attack_from_tags(&c.tags);
            RuleSummary {
                id: c.id.clone(),
                title: c.title.clone(),
                kind: "correlation".into(),
                level: c.level.clone(),
                status: c.status.clone(),
                author: c.author.clone(),
                tactics,
                techniques,
                logsource: format!("correlation:{}", c.kind.as_str()),
                file: String::new(),
                imported,
                enabled: !disabled.contains(&c.id),
            }
        }
    }
}

/// Rules matching `q`, by title; shared with the console.
pub async fn find_rules(
    state: &AppState,
    p: &Principal,
    q: &RuleQuery,
) -> ApiResult<(Vec<RuleSummary>, i64)> {
    let scope = p.require(Permission::RulesRead)?;
    let page = PageQuery {
        limit: q.limit,
        offset: q.offset,
    }
    .page()?;
    let d = detector(state)?;
    let disabled: HashSet<String> = state
        .store
        .disabled_rules(scope)
        .await?
        .into_iter()
        .collect();
    let want_enabled = match q.status.as_deref().unwrap_or("") {
        "" => None,
        "enabled" => Some(true),
        "disabled" => Some(false),
        _ => return Err(ApiError::bad_request("status: enabled or disabled")),
    };
    let lower = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase)
    };
    let (text, level, logsource, tactic) = (
        lower(&q.q),
        lower(&q.level),
        lower(&q.logsource),
        lower(&q.tactic),
    );
    let mut all: Vec<RuleSummary> = books(d, scope.tenant_id())
        .iter()
        .flat_map(|(book, own)| {
            book.by_id
                .values()
                .map(|r| summary(book, *r, &disabled, *own))
                .collect::<Vec<_>>()
        })
        .filter(|s| {
            text.as_ref().is_none_or(|t| {
                s.title.to_lowercase().contains(t) || s.id.to_lowercase().contains(t)
            }) && level
                .as_ref()
                .is_none_or(|l| s.level.as_deref() == Some(l.as_str()))
                && logsource
                    .as_ref()
                    .is_none_or(|l| s.logsource.to_lowercase().contains(l))
                && tactic
                    .as_ref()
                    .is_none_or(|t| s.tactics.iter().any(|x| x == t))
                && want_enabled.is_none_or(|e| s.enabled == e)
        })
        .collect();
    all.sort_by(|a, b| a.title.cmp(&b.title).then(a.id.cmp(&b.id)));
    let total = all.len() as i64;
    let items = all
        .into_iter()
        .skip(page.offset as usize)
        .take(page.limit as usize)
        .collect();
    Ok((items, total))
}

/// Loaded rules and correlations, with this tenant's switches.
#[utoipa::path(get, path = "/api/v1/rules", tag = "rules", params(RuleQuery),
    responses((status = 200, body = ListOf<RuleSummary>), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn list_rules(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<RuleQuery>,
) -> ApiResult<Json<ListOf<RuleSummary>>> {
    let (items, total) = find_rules(&state, &p, &q).await?;
    Ok(Json(ListOf { items, total }))
}

/// One rule with its text; shared with the console.
pub async fn rule_view(state: &AppState, p: &Principal, id: &str) -> ApiResult<RuleView> {
    let scope = p.require(Permission::RulesRead)?;
    let d = detector(state)?;
    let (book, r, own) = find(d, scope.tenant_id(), id).ok_or_else(ApiError::not_found)?;
    let disabled: HashSet<String> = state
        .store
        .disabled_rules(scope)
        .await?
        .into_iter()
        .collect();
    let s = summary(&book, r, &disabled, own);
    Ok(match r {
        RuleRef::Rule(i) => {
            let rule = &book.engine.rules()[i as usize].rule;
            RuleView {
                summary: s,
                description: rule.description.clone(),
                falsepositives: rule.falsepositives.clone(),
                source: rule.source.clone(),
            }
        }
        RuleRef::Correlation(i) => RuleView {
            summary: s,
            description: None,
            falsepositives: vec![],
            source: book.engine.correlation(i).source.clone(),
        },
    })
}

/// A rule with its YAML.
#[utoipa::path(get, path = "/api/v1/rules/{id}", tag = "rules", params(("id" = String, Path)),
    responses((status = 200, body = RuleView), (status = 404, body = Problem)))]
pub async fn get_rule(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Json<RuleView>> {
    Ok(Json(rule_view(&state, &p, &id).await?))
}

/// A rule switch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSwitch {
    /// On or off for this tenant.
    pub enabled: bool,
}

/// Turns a rule on or off for the tenant; shared with the console.
pub async fn switch_rule(
    state: &AppState,
    p: &Principal,
    id: &str,
    enabled: bool,
) -> ApiResult<()> {
    let scope = p.require(Permission::RulesManage)?;
    let d = detector(state)?;
    if find(d, scope.tenant_id(), id).is_none() {
        return Err(ApiError::not_found());
    }
    state
        .store
        .set_rule_enabled(scope, id, enabled, &p.actor())
        .await?;
    d.reload_settings().await.map_err(ApiError::internal)?;
    Ok(())
}

/// Turn a rule on or off for this tenant (audited).
#[utoipa::path(put, path = "/api/v1/rules/{id}/enabled", tag = "rules", params(("id" = String, Path)), request_body = RuleSwitch,
    responses((status = 200, body = RuleView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn put_enabled(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(req): ApiJson<RuleSwitch>,
) -> ApiResult<Json<RuleView>> {
    switch_rule(&state, &p, &id, req.enabled).await?;
    Ok(Json(rule_view(&state, &p, &id).await?))
}

/// What to test a rule against: pasted events, or an event search.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleTest {
    /// ECS events (at most 1000).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<serde_json::Value>,
    /// Or an event search (the newest 1000 matches within `from`–`to`).
    pub search: Option<String>,
    /// Search window start (RFC 3339; default 24 hours ago).
    pub from: Option<String>,
    /// Search window end.
    pub to: Option<String>,
}

/// One event the rule matched.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleTestMatch {
    /// Index of the event in the tested list (search results: newest first).
    pub index: usize,
    /// Entities as an alert would show them.
    pub entities: Entities,
    /// Events it stands for (a correlation's window).
    pub count: i64,
}

/// A rule test's answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleTestResult {
    /// Events tested.
    pub events_tested: usize,
    /// Matches of the rule.
    pub matches: Vec<RuleTestMatch>,
}

/// Runs a rule over events without recording anything; shared with the console.
pub async fn test_rule(
    state: &AppState,
    p: &Principal,
    id: &str,
    req: RuleTest,
) -> ApiResult<RuleTestResult> {
    let scope = p.require(Permission::RulesRead)?;
    let d = detector(state)?.clone();
    if find(&d, scope.tenant_id(), id).is_none() {
        return Err(ApiError::not_found());
    }
    let mut events = req.events;
    if let Some(q) = req.search.filter(|s| !s.trim().is_empty()) {
        let page = super::events::search_events(
            state,
            p,
            &super::events::SearchQuery {
                q: Some(q),
                from: req.from,
                to: req.to,
                limit: Some(1000),
                ..Default::default()
            },
        )
        .await?;
        events.extend(page.items.into_iter().map(|h| h.event));
    }
    if events.is_empty() || events.len() > 1000 {
        return Err(ApiError::bad_request(
            "events: give 1–1000 events or a search that finds some",
        ));
    }
    if let Some(i) = events.iter().position(|e| !e.is_object()) {
        return Err(ApiError::bad_request(format!(
            "events[{i}]: not a JSON object"
        )));
    }
    let tenant = scope.tenant_id().to_string();
    let (n, rule) = (events.len(), id.to_string());
    let found = tokio::task::spawn_blocking(move || d.test_events(&tenant, &events))
        .await
        .map_err(ApiError::internal)?;
    let matches = found
        .into_iter()
        .enumerate()
        .flat_map(|(index, ds)| {
            ds.into_iter()
                .filter(|x| x.rule_id == rule)
                .map(move |x| RuleTestMatch {
                    index,
                    entities: x.entities,
                    count: x.count,
                })
        })
        .collect();
    Ok(RuleTestResult {
        events_tested: n,
        matches,
    })
}

/// Test a rule against pasted events or an event search; nothing is recorded.
#[utoipa::path(post, path = "/api/v1/rules/{id}/test", tag = "rules", params(("id" = String, Path)), request_body = RuleTest,
    responses((status = 200, body = RuleTestResult), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn post_test(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(req): ApiJson<RuleTest>,
) -> ApiResult<Json<RuleTestResult>> {
    Ok(Json(test_rule(&state, &p, &id, req).await?))
}
