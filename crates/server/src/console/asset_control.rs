//! The ledger's relations graph, change alerts with approve/reject, change rules and saved
//! queries in the console (I.1.b, I.1.d, I.1.e). Actions go through the API's functions.

use super::{done, page, short_time, Console, ConsoleError, ConsoleForm, Layout};
use crate::api::asset_control::{
    self as api, graph_layout, graph_texts, AlertQuery, DecisionRequest, NewRelation, NewSavedQuery,
};
use crate::extract::IdPath;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use yunshou_identify::change_rules::{ChangeRule, Condition, RuleAction, RuleDefinition, Severity};
use yunshou_model::relation::RelationKind;
use yunshou_model::{ids, Permission};
use yunshou_store::{AssetQuery, AssetSort, ChangeAlert, Decision, Page, PendingChange};

/// The relations graph of an asset, drawn for the reader's language.
pub async fn graph_svg(
    state: &AppState,
    l: &Layout,
    id: &str,
    depth: u32,
) -> Result<(String, yunshou_store::Neighbourhood), ConsoleError> {
    let scope = l.p.require(Permission::AssetsRead)?;
    let n = state.store.neighbourhood(scope, id, depth).await?;
    let svg = super::svg::relation_graph(&graph_layout(&n), &graph_texts(&l.t));
    Ok((svg, n))
}

#[derive(Template)]
#[template(path = "asset_graph.html")]
struct GraphPage {
    l: Layout,
    id: String,
    name: String,
    depth: u32,
    nodes: usize,
    truncated: bool,
    svg: String,
}

#[derive(Deserialize)]
pub struct DepthForm {
    depth: Option<u32>,
}

/// `GET /assets/{id}/graph`: the neighbourhood graph, 1–3 hops.
pub async fn graph_page(
    State(state): State<AppState>,
    Console(l): Console,
    IdPath(id): IdPath,
    Query(q): Query<DepthForm>,
) -> Result<Response, ConsoleError> {
    let depth = q.depth.unwrap_or(2).clamp(1, yunshou_store::MAX_DEPTH);
    let (svg, n) = graph_svg(&state, &l, &id, depth).await?;
    let name = n
        .nodes
        .first()
        .map(|x| x.asset.fields.name.clone())
        .unwrap_or_default();
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        GraphPage {
            l,
            id,
            name,
            depth,
            nodes: n.nodes.len(),
            truncated: n.truncated,
            svg,
        }
        .render()?,
    ))
}

#[derive(Deserialize)]
pub struct RelationForm {
    kind: String,
    target: String,
    #[serde(default)]
    note: String,
}

/// `POST /assets/{id}/relations`: relates the asset to another, named by id or exact name.
pub async fn add_relation(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<RelationForm>,
) -> Result<Response, ConsoleError> {
    let back = format!("/assets/{id}");
    let bad = |msg: String| ConsoleError::Back(back.clone(), msg);
    let kind = RelationKind::parse(&f.form.kind)
        .ok_or_else(|| bad(format!("kind: unknown relation `{}`", f.form.kind)))?;
    let target = f.form.target.trim();
    let to_id = if ids::is_valid_id(target) {
        target.to_string()
    } else {
        let scope = f.layout.p.require(Permission::AssetsRead)?;
        let (found, _) = state
            .store
            .list_assets(
                scope,
                &AssetQuery {
                    q: Some(target.to_string()),
                    ..Default::default()
                },
                AssetSort::Name,
                Page {
                    limit: 1000,
                    offset: 0,
                },
            )
            .await?;
        let exact: Vec<_> = found.iter().filter(|a| a.fields.name == target).collect();
        match exact.as_slice() {
            [one] => one.id.clone(),
            [] => return Err(bad(format!("target: no asset is named “{target}”"))),
            many => {
                return Err(bad(format!(
                    "target: {} assets are named “{target}”; give the id",
                    many.len()
                )))
            }
        }
    };
    let note = Some(f.form.note.clone()).filter(|n| !n.trim().is_empty());
    api::relate(&state, &f.layout.p, &id, NewRelation { to_id, kind, note })
        .await
        .map_err(ConsoleError::back(&back))?;
    Ok(done(&back, f.layout.t.get("relation.added")))
}

#[derive(Deserialize)]
pub struct Empty {}

/// `POST /assets/{id}/relations/{relation_id}/delete`.
pub async fn delete_relation(
    State(state): State<AppState>,
    Path((id, relation_id)): Path<(String, String)>,
    f: ConsoleForm<Empty>,
) -> Result<Response, ConsoleError> {
    if !ids::is_valid_id(&id) || !ids::is_valid_id(&relation_id) {
        return Err(ConsoleError::Page(StatusCode::NOT_FOUND, "id".into()));
    }
    let scope = f.layout.p.require(Permission::AssetsWrite)?;
    let relations = state.store.relations_of(scope, &id).await?;
    if !relations.iter().any(|r| r.id == relation_id) {
        return Err(yunshou_store::Error::NotFound.into());
    }
    state
        .store
        .delete_relation(scope, &relation_id, &f.layout.p.actor())
        .await?;
    Ok(done(
        &format!("/assets/{id}"),
        f.layout.t.get("relation.removed"),
    ))
}

#[derive(Template)]
#[template(path = "asset_alerts.html")]
struct AlertsPage {
    l: Layout,
    alerts: Vec<ChangeAlert>,
    total: i64,
    status: String,
}

impl AlertsPage {
    fn time(&self, t: &str) -> String {
        short_time(t)
    }
}

/// `GET /assets/alerts`: change alerts, pending ones first by default.
pub async fn alerts_page(
    State(state): State<AppState>,
    Console(l): Console,
    Query(mut q): Query<AlertQuery>,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::AssetsRead)?.clone();
    if q.status.is_none() {
        q.status = Some("pending".into());
    }
    q.limit = Some(200);
    let (filter, page_) = q.filter().map_err(ConsoleError::back("/assets/alerts"))?;
    let (alerts, total) = state.store.change_alerts(&scope, &filter, page_).await?;
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        AlertsPage {
            l,
            alerts,
            total,
            status: q.status.unwrap_or_default(),
        }
        .render()?,
    ))
}

#[derive(Template)]
#[template(path = "asset_alert.html")]
struct AlertPage {
    l: Layout,
    alert: ChangeAlert,
    pending: Option<PendingChange>,
    /// (attribute, now, proposed) for a held change.
    diff: Vec<(String, String, String)>,
    can_decide: bool,
}

impl AlertPage {
    fn time(&self, t: &str) -> String {
        short_time(t)
    }
}

fn show(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => "∅".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

/// `GET /assets/alerts/{id}`: one alert; for a held change, what it would change.
pub async fn alert_page(
    State(state): State<AppState>,
    Console(l): Console,
    IdPath(id): IdPath,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::AssetsRead)?.clone();
    let alert = state.store.change_alert(&scope, &id).await?;
    let pending = match &alert.pending_id {
        Some(pid) => Some(state.store.pending_change(&scope, pid).await?),
        None => None,
    };
    let mut diff = Vec::new();
    if let Some(p) = &pending {
        let now = state.store.get_asset(&scope, &p.asset_id).await?;
        let now = serde_json::to_value(&now).expect("asset serialises");
        let proposed = serde_json::to_value(&p.proposed).expect("asset serialises");
        for k in yunshou_identify::change_rules::changed_fields(&now, &proposed) {
            if matches!(k.as_str(), "revision" | "updated_at") {
                continue;
            }
            diff.push((k.clone(), show(now.get(&k)), show(proposed.get(&k))));
        }
    }
    let can_decide = l.p.can(Permission::AssetsApprove);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        AlertPage {
            l,
            alert,
            pending,
            diff,
            can_decide,
        }
        .render()?,
    ))
}

#[derive(Deserialize)]
pub struct DecisionForm {
    decision: String,
    #[serde(default)]
    note: String,
}

/// `POST /assets/alerts/{id}`: acknowledge, approve or reject.
pub async fn decide(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<DecisionForm>,
) -> Result<Response, ConsoleError> {
    let back = format!("/assets/alerts/{id}");
    let decision = match f.form.decision.as_str() {
        "acknowledge" => Decision::Acknowledge,
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        other => {
            return Err(ConsoleError::Back(
                back,
                format!("decision: unknown decision `{other}`"),
            ))
        }
    };
    let note = Some(f.form.note.clone()).filter(|n| !n.trim().is_empty());
    api::decide(&state, &f.layout.p, &id, DecisionRequest { decision, note })
        .await
        .map_err(ConsoleError::back(&back))?;
    Ok(done(&back, f.layout.t.get("alert.decided")))
}

#[derive(Template)]
#[template(path = "asset_rules.html")]
struct RulesPage {
    l: Layout,
    rules: Vec<ChangeRule>,
    can_manage: bool,
}

impl RulesPage {
    fn condition(&self, c: &Condition) -> String {
        let t = &self.l.t;
        match c {
            Condition::NewInternetPort => t.get("rule.new_internet_port").into(),
            Condition::HighValueChanged { min_value } => {
                format!("{} ≥ {min_value}", t.get("rule.high_value_changed"))
            }
            Condition::OwnerRemoved => t.get("rule.owner_removed").into(),
            Condition::FingerprintChanged => t.get("rule.fingerprint_changed").into(),
            Condition::FieldChanged { fields } => {
                format!("{}: {}", t.get("rule.field_changed"), fields.join(", "))
            }
        }
    }
    fn action(&self, a: &RuleAction) -> &'static str {
        match a {
            RuleAction::Alert => self.l.t.get("rule.action.alert"),
            RuleAction::RequireApproval => self.l.t.get("rule.action.require_approval"),
        }
    }
    fn severity(&self, s: &Severity) -> &'static str {
        self.l.t.get(&format!("severity.{}", s.as_str()))
    }
}

/// `GET /assets/rules`.
pub async fn rules_page(
    State(state): State<AppState>,
    Console(l): Console,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::AssetsRead)?.clone();
    let rules = state.store.change_rules(&scope).await?;
    let can_manage = l.p.can(Permission::AssetRulesManage);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        RulesPage {
            l,
            rules,
            can_manage,
        }
        .render()?,
    ))
}

#[derive(Deserialize)]
pub struct RuleForm {
    name: String,
    kind: String,
    #[serde(default)]
    min_value: String,
    #[serde(default)]
    fields: String,
    action: String,
    severity: String,
    #[serde(default)]
    webhook_url: String,
}

impl RuleForm {
    fn definition(&self) -> Result<RuleDefinition, String> {
        let condition = match self.kind.as_str() {
            "new_internet_port" => Condition::NewInternetPort,
            "high_value_changed" => Condition::HighValueChanged {
                min_value: self
                    .min_value
                    .trim()
                    .parse()
                    .map_err(|_| "condition.min_value: 1–5".to_string())?,
            },
            "owner_removed" => Condition::OwnerRemoved,
            "fingerprint_changed" => Condition::FingerprintChanged,
            "field_changed" => Condition::FieldChanged {
                fields: self
                    .fields
                    .split([',', '，', ' ', '\n'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            },
            other => return Err(format!("condition.kind: unknown condition `{other}`")),
        };
        let mut def = RuleDefinition {
            name: self.name.clone(),
            condition,
            action: match self.action.as_str() {
                "require_approval" => RuleAction::RequireApproval,
                _ => RuleAction::Alert,
            },
            severity: Severity::parse(&self.severity)
                .ok_or_else(|| format!("severity: unknown severity `{}`", self.severity))?,
            webhook_url: Some(self.webhook_url.clone()),
            enabled: true,
        };
        def.validate()?;
        Ok(def)
    }
}

/// `POST /assets/rules`: adds a rule.
pub async fn create_rule(
    State(state): State<AppState>,
    f: ConsoleForm<RuleForm>,
) -> Result<Response, ConsoleError> {
    let back = "/assets/rules";
    let scope = f.layout.p.require(Permission::AssetRulesManage)?;
    let def = f
        .form
        .definition()
        .map_err(|e| ConsoleError::Back(back.into(), e))?;
    state
        .store
        .create_change_rule(scope, def, &f.layout.p.actor())
        .await?;
    Ok(done(back, f.layout.t.get("rule.saved")))
}

#[derive(Deserialize)]
pub struct RuleToggle {
    op: String,
}

/// `POST /assets/rules/{id}`: enables, disables or deletes a rule.
pub async fn change_rule(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<RuleToggle>,
) -> Result<Response, ConsoleError> {
    let back = "/assets/rules";
    let scope = f.layout.p.require(Permission::AssetRulesManage)?;
    let actor = f.layout.p.actor();
    if f.form.op == "delete" {
        state.store.delete_change_rule(scope, &id, &actor).await?;
    } else {
        let rules = state.store.change_rules(scope).await?;
        let mut rule = rules
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(yunshou_store::Error::NotFound)?;
        rule.definition.enabled = f.form.op == "enable";
        state
            .store
            .update_change_rule(scope, &id, rule.definition, &actor)
            .await?;
    }
    Ok(done(back, f.layout.t.get("rule.saved")))
}

#[derive(Deserialize)]
pub struct SaveQueryForm {
    name: String,
    query: String,
    #[serde(default)]
    shared: Option<String>,
}

/// `POST /assets/queries`: saves the ledger's current filter.
pub async fn save_query(
    State(state): State<AppState>,
    f: ConsoleForm<SaveQueryForm>,
) -> Result<Response, ConsoleError> {
    let back = format!("/assets?{}", f.form.query);
    api::save_query(
        &state,
        &f.layout.p,
        NewSavedQuery {
            name: f.form.name.clone(),
            query: f.form.query.clone(),
            shared: f.form.shared.is_some(),
        },
    )
    .await
    .map_err(ConsoleError::back(&back))?;
    Ok(done(&back, f.layout.t.get("query.saved")))
}

/// `POST /assets/queries/{id}/delete`.
pub async fn delete_query(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<Empty>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::AssetsRead)?;
    let admin = f.layout.p.can(Permission::AssetRulesManage);
    state
        .store
        .delete_saved_query(
            scope,
            yunshou_store::SavedKind::Assets,
            &id,
            admin,
            &f.layout.p.actor(),
        )
        .await?;
    Ok(done("/assets", f.layout.t.get("query.deleted")))
}
