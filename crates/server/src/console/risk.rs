//! Threats and risk in the console (I.2, I.3.b–c): the threat catalog with computed
//! frequency, the risk register with treatment, the heat map and trend, and the periodic
//! report. Every change goes through the store calls the API uses, behind the same
//! permission.

use super::asset_control::Empty;
use super::{done, page, Console, ConsoleError, ConsoleForm, Layout};
use crate::extract::IdPath;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use yunshou_model::Permission;
use yunshou_store::risks::{Risk, RiskFields, TREATMENTS};
use yunshou_store::threats::{Threat, ThreatFields, AGENTS, KINDS, MOTIVES, SOURCES};
use yunshou_store::{AssetQuery, AssetSort, Page};

/// Splits a list typed into one box (commas, semicolons, spaces, new lines).
fn list(s: &str) -> Vec<String> {
    s.split([',', ';', ' ', '\n', '\r', '，', '；'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

#[derive(Template)]
#[template(path = "threats.html")]
struct ThreatsPage {
    l: Layout,
    threats: Vec<Threat>,
    can_manage: bool,
    /// The threat being edited, if any.
    edit: Option<Threat>,
}

impl ThreatsPage {
    fn label(&self, group: &str, v: &str) -> &'static str {
        self.l.t.get(&format!("threat.{group}.{v}"))
    }
    fn sources(&self) -> &'static [&'static str] {
        &SOURCES
    }
    fn agents(&self) -> &'static [&'static str] {
        &AGENTS
    }
    fn motives(&self) -> &'static [&'static str] {
        &MOTIVES
    }
    fn kinds(&self) -> &'static [&'static str] {
        &KINDS
    }
    fn basis_alerts(&self, t: &Threat) -> i64 {
        t.frequency_basis["alerts"].as_i64().unwrap_or(0)
    }
    fn basis_computed(&self, t: &Threat) -> i64 {
        t.frequency_basis["computed_level"].as_i64().unwrap_or(1)
    }
    fn edit_field(&self, f: &str) -> String {
        let Some(t) = &self.edit else {
            return String::new();
        };
        let x = &t.fields;
        match f {
            "name" => x.name.clone(),
            "source" => x.source.clone(),
            "kind" => x.kind.clone(),
            "agent" => x.agent.clone(),
            "motive" => x.motive.clone(),
            "timing" => x.timing.clone().unwrap_or_default(),
            "description" => x.description.clone().unwrap_or_default(),
            "techniques" => x.techniques.join(", "),
            "rule_ids" => x.rule_ids.join(", "),
            "baseline" => x.baseline_level.map(|l| l.to_string()).unwrap_or_default(),
            _ => String::new(),
        }
    }
}

async fn threats_page(
    state: &AppState,
    l: Layout,
    edit: Option<String>,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::FindingsRead)?.clone();
    let threats = state.store.threats(&scope).await?;
    let edit = match edit {
        Some(id) => Some(state.store.threat(&scope, &id).await?),
        None => None,
    };
    let can_manage = l.p.can(Permission::RiskManage);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        ThreatsPage {
            l,
            threats,
            can_manage,
            edit,
        }
        .render()?,
    ))
}

#[derive(Deserialize, Default)]
pub struct EditQuery {
    #[serde(default)]
    edit: Option<String>,
}

/// `GET /threats` (and `?edit=ID` to edit one).
pub async fn threats(
    State(state): State<AppState>,
    Console(l): Console,
    Query(q): Query<EditQuery>,
) -> Result<Response, ConsoleError> {
    let edit = q.edit.filter(|id| yunshou_model::ids::is_valid_id(id));
    threats_page(&state, l, edit).await
}

#[derive(Deserialize)]
pub struct ThreatForm {
    #[serde(default)]
    id: String,
    name: String,
    source: String,
    kind: String,
    agent: String,
    motive: String,
    #[serde(default)]
    timing: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    techniques: String,
    #[serde(default)]
    rule_ids: String,
    #[serde(default)]
    baseline: String,
}

/// `POST /threats`: adds a threat, or replaces one (`id`).
pub async fn save_threat(
    State(state): State<AppState>,
    f: ConsoleForm<ThreatForm>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::RiskManage)?;
    let form = &f.form;
    let baseline = match form.baseline.trim() {
        "" => None,
        b => Some(
            b.parse::<u8>()
                .map_err(|_| ConsoleError::Back("/threats".into(), "baseline_level: 1–5".into()))?,
        ),
    };
    let fields = ThreatFields {
        name: form.name.clone(),
        source: form.source.clone(),
        kind: form.kind.clone(),
        agent: form.agent.clone(),
        motive: form.motive.clone(),
        timing: opt(&form.timing),
        description: opt(&form.description),
        techniques: list(&form.techniques),
        rule_ids: list(&form.rule_ids),
        baseline_level: baseline,
    };
    let actor = f.layout.p.actor();
    let back = if form.id.is_empty() {
        "/threats".to_string()
    } else {
        format!("/threats?edit={}", form.id)
    };
    let result = if form.id.is_empty() {
        state.store.create_threat(scope, fields, &actor).await
    } else if yunshou_model::ids::is_valid_id(&form.id) {
        state
            .store
            .update_threat(scope, &form.id, fields, &actor)
            .await
    } else {
        return Err(ConsoleError::Back("/threats".into(), "id?".into()));
    };
    result.map_err(ConsoleError::back(&back))?;
    Ok(done("/threats", f.layout.t.get("threat.saved")))
}

/// `POST /threats/refresh`: recomputes frequencies and reassesses risks.
pub async fn refresh_threats(
    State(state): State<AppState>,
    f: ConsoleForm<Empty>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::RiskManage)?;
    state
        .store
        .refresh_threats(scope, &f.layout.p.actor())
        .await?;
    Ok(done("/threats", f.layout.t.get("threat.refreshed")))
}

/// `POST /threats/{id}/delete`.
pub async fn delete_threat(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<Empty>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::RiskManage)?;
    state
        .store
        .delete_threat(scope, &id, &f.layout.p.actor())
        .await
        .map_err(ConsoleError::back("/threats"))?;
    Ok(done("/threats", f.layout.t.get("threat.deleted")))
}

#[derive(Template)]
#[template(path = "risks.html")]
struct RisksPage {
    l: Layout,
    risks: Vec<Risk>,
    threats: Vec<Threat>,
    assets: Vec<(String, String)>,
    can_manage: bool,
    heat_svg: String,
    trend_svg: String,
    edit: Option<Risk>,
    show_closed: bool,
}

impl RisksPage {
    fn level(&self, l: &u8) -> &'static str {
        self.l.t.get(&format!("risk.level.{l}"))
    }
    fn treatment(&self, t: &Option<String>) -> &'static str {
        match t {
            Some(t) => self.l.t.get(&format!("risk.treatment.{t}")),
            None => self.l.t.get("risk.treatment.none"),
        }
    }
    fn treatments(&self) -> &'static [&'static str] {
        &TREATMENTS
    }
    fn status(&self, s: &Option<String>) -> &'static str {
        self.l
            .t
            .get(&format!("risk.status.{}", s.as_deref().unwrap_or("open")))
    }
    fn edit_is(&self, field: &str, value: &str) -> bool {
        let Some(r) = &self.edit else { return false };
        match field {
            "treatment" => r.fields.treatment.as_deref() == Some(value),
            "status" => r.fields.status.as_deref() == Some(value),
            "residual" => r.fields.residual_level.map(|l| l.to_string()).as_deref() == Some(value),
            _ => false,
        }
    }
}

#[derive(Deserialize, Default)]
pub struct RisksQuery {
    #[serde(default)]
    edit: Option<String>,
    #[serde(default)]
    closed: Option<String>,
}

/// `GET /risks`: the register, heat map and trend; `?edit=ID` opens a risk's treatment form.
pub async fn risks(
    State(state): State<AppState>,
    Console(l): Console,
    Query(q): Query<RisksQuery>,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::FindingsRead)?.clone();
    let show_closed = q.closed.is_some();
    let risks = state.store.risks(&scope, show_closed).await?;
    let threats = state.store.threats(&scope).await?;
    let can_manage = l.p.can(Permission::RiskManage);
    let assets = if can_manage && l.p.can(Permission::AssetsRead) {
        let query = AssetQuery::default();
        state
            .store
            .list_assets(
                &scope,
                &query,
                AssetSort::Name,
                Page {
                    limit: 1000,
                    offset: 0,
                },
            )
            .await?
            .0
            .into_iter()
            .map(|a| (a.id, a.fields.name))
            .collect()
    } else {
        vec![]
    };
    let heat = state.store.risk_heat_map(&scope).await?;
    let trend = state.store.risk_trend(&scope, 90).await?;
    let edit = match q.edit.filter(|id| yunshou_model::ids::is_valid_id(id)) {
        Some(id) => Some(state.store.risk(&scope, &id).await?),
        None => None,
    };
    let heat_svg = crate::risk_report::heat_map_svg(&l.t, &heat);
    let trend_svg = crate::risk_report::trend_svg(&l.t, &trend);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        RisksPage {
            l,
            risks,
            threats,
            assets,
            can_manage,
            heat_svg,
            trend_svg,
            edit,
            show_closed,
        }
        .render()?,
    ))
}

#[derive(Deserialize)]
pub struct RiskForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    asset_id: String,
    #[serde(default)]
    threat_id: String,
    #[serde(default)]
    finding_id: String,
    #[serde(default)]
    vulnerability: String,
    #[serde(default)]
    vulnerability_level: String,
    #[serde(default)]
    treatment: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    due_date: String,
    #[serde(default)]
    residual_level: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    note: String,
    /// Where to return (a finding's page when the risk was raised from it).
    #[serde(default)]
    back: String,
}

fn level_field(name: &str, v: &str, back: &str) -> Result<Option<u8>, ConsoleError> {
    match v.trim() {
        "" => Ok(None),
        x => x
            .parse::<u8>()
            .map(Some)
            .map_err(|_| ConsoleError::Back(back.to_string(), format!("{name}: 1–5"))),
    }
}

/// `POST /risks`: registers a risk, or (with `id`) changes its treatment.
pub async fn save_risk(
    State(state): State<AppState>,
    f: ConsoleForm<RiskForm>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::RiskManage)?;
    let form = &f.form;
    let back = if form.back.starts_with("/findings/") || form.back == "/risks" {
        form.back.clone()
    } else if !form.id.is_empty() {
        format!("/risks?edit={}", form.id)
    } else {
        "/risks".into()
    };
    let actor = f.layout.p.actor();
    if form.id.is_empty() {
        let fields = RiskFields {
            asset_id: form.asset_id.trim().to_string(),
            threat_id: form.threat_id.trim().to_string(),
            finding_id: opt(&form.finding_id),
            vulnerability: opt(&form.vulnerability),
            vulnerability_level: level_field(
                "vulnerability_level",
                &form.vulnerability_level,
                &back,
            )?,
            owner: opt(&form.owner),
            due_date: opt(&form.due_date),
            treatment: opt(&form.treatment),
            residual_level: level_field("residual_level", &form.residual_level, &back)?,
            status: None,
            note: opt(&form.note),
        };
        state
            .store
            .create_risk(scope, fields, &actor)
            .await
            .map_err(ConsoleError::back(&back))?;
        return Ok(done(&back, f.layout.t.get("risk.saved")));
    }
    if !yunshou_model::ids::is_valid_id(&form.id) {
        return Err(ConsoleError::Back("/risks".into(), "id?".into()));
    }
    let mut fields = state.store.risk(scope, &form.id).await?.fields;
    fields.treatment = opt(&form.treatment);
    fields.owner = opt(&form.owner);
    fields.due_date = opt(&form.due_date);
    fields.residual_level = level_field("residual_level", &form.residual_level, &back)?;
    fields.status = opt(&form.status);
    fields.note = opt(&form.note);
    state
        .store
        .update_risk(scope, &form.id, fields, &actor)
        .await
        .map_err(ConsoleError::back(&back))?;
    Ok(done("/risks", f.layout.t.get("risk.saved")))
}

/// `POST /risks/reassess`.
pub async fn reassess(
    State(state): State<AppState>,
    f: ConsoleForm<Empty>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::RiskManage)?;
    state
        .store
        .reassess_risks(scope, &f.layout.p.actor())
        .await?;
    Ok(done("/risks", f.layout.t.get("risk.reassessed")))
}

#[derive(Deserialize, Default)]
pub struct ReportForm {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    days: Option<u32>,
}

/// `GET /risks/report`: the periodic analysis report in the console's language.
pub async fn report(
    State(state): State<AppState>,
    Console(l): Console,
    Query(q): Query<ReportForm>,
) -> Result<Response, ConsoleError> {
    let days = q.days.unwrap_or(30).clamp(1, 366);
    let format = q.format.as_deref().unwrap_or("html");
    Ok(crate::api::risk::report_response(&state, &l.p, format, days, l.t.lang).await?)
}
