//! Emergency plans and drills in the console (R.1.a): every GB/T 20986 class's current plan
//! (or its template to start from), one version with its history and an editor that saves the
//! next version, drills scheduled and recorded, and their improvement items tracked to
//! closure. Everyone who reads incidents sees them; `PlansManage` changes them.

use super::response_metrics::{category_label, humanise, level_label, phase_label};
use super::{done, page, Console, ConsoleError, ConsoleForm, Layout};
use crate::extract::IdPath;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use yunshou_model::Permission;
use yunshou_respond::classification::CATEGORIES;
use yunshou_respond::plans::{self, PlanContent};
use yunshou_respond::Phase;
use yunshou_store::response_plans::{
    Drill, DrillInput, DrillRecord, DrillStep, ImprovementItem, NewImprovementItem, NewPlanVersion,
    ResponsePlan,
};

/// One class on the plans page: its code, label and current plan if any.
pub struct ClassRow {
    code: &'static str,
    label: String,
    plan: Option<ResponsePlan>,
}

#[derive(Template)]
#[template(path = "plans.html")]
struct PlansPage {
    l: Layout,
    classes: Vec<ClassRow>,
    can_manage: bool,
}

/// `GET /plans`.
pub async fn list(
    State(state): State<AppState>,
    Console(l): Console,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::IncidentsRead)?.clone();
    let current = state.store.current_plans(&scope).await?;
    let classes = CATEGORIES
        .iter()
        .map(|c| ClassRow {
            code: c.code,
            label: category_label(&l.t, c.code),
            plan: current.iter().find(|p| p.category == c.code).cloned(),
        })
        .collect();
    let can_manage = l.p.can(Permission::PlansManage);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        PlansPage {
            l,
            classes,
            can_manage,
        }
        .render()?,
    ))
}

#[derive(Deserialize)]
pub struct TemplateForm {
    #[serde(default)]
    category: String,
}

/// `POST /plans`: saves a class's template as its plan's next version.
pub async fn from_template(
    State(state): State<AppState>,
    f: ConsoleForm<TemplateForm>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::PlansManage)?;
    let Some(class) = CATEGORIES.iter().find(|c| c.code == f.form.category) else {
        return Err(ConsoleError::Back("/plans".into(), "category?".into()));
    };
    let t = &f.layout.t;
    let new = NewPlanVersion {
        category: class.code.into(),
        name: format!("{}{}", class.zh, t.get("plan.name_suffix")),
        content: plans::template(class.code),
        note: t.get("plan.from_template_note").into(),
    };
    let plan = state
        .store
        .save_plan(scope, &new, &f.layout.p.actor())
        .await
        .map_err(ConsoleError::back("/plans"))?;
    Ok(done(&format!("/plans/{}", plan.id), t.get("plan.saved")))
}

/// The plan editor as typed, so a refused form comes back as it was.
#[derive(Deserialize, Default)]
pub struct PlanForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    content: String,
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    l: Layout,
    plan: ResponsePlan,
    class: String,
    versions: Vec<ResponsePlan>,
    /// Steps per phase, in phase order.
    phases: Vec<(String, Vec<(String, String)>)>,
    /// Reporting chain: (to, within, from level).
    chain: Vec<(String, String, String)>,
    f: PlanForm,
    problems: Vec<String>,
    can_manage: bool,
}

async fn plan_page(
    state: &AppState,
    l: Layout,
    id: &str,
    form: Option<PlanForm>,
    problems: Vec<String>,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::IncidentsRead)?.clone();
    let plan = state.store.plan(&scope, id).await?;
    let versions = state.store.plan_versions(&scope, &plan.category).await?;
    let t = l.t;
    let phases = Phase::ALL
        .iter()
        .map(|p| {
            let steps = plan
                .content
                .steps
                .iter()
                .filter(|s| s.phase == *p)
                .map(|s| (s.title.clone(), s.role.clone()))
                .collect();
            (phase_label(&t, p.as_str()), steps)
        })
        .collect();
    let chain = plan
        .content
        .reporting_chain
        .iter()
        .map(|r| {
            (
                r.to.clone(),
                humanise(&t, r.within_minutes as f64),
                level_label(&t, r.from_level.as_str()),
            )
        })
        .collect();
    let f = form.unwrap_or_else(|| PlanForm {
        name: plan.name.clone(),
        note: String::new(),
        content: serde_json::to_string_pretty(&plan.content).unwrap_or_default(),
    });
    let can_manage = l.p.can(Permission::PlansManage);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        PlanPage {
            class: category_label(&t, &plan.category),
            l,
            plan,
            versions,
            phases,
            chain,
            f,
            problems,
            can_manage,
        }
        .render()?,
    ))
}

/// `GET /plans/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    Console(l): Console,
    IdPath(id): IdPath,
) -> Result<Response, ConsoleError> {
    plan_page(&state, l, &id, None, vec![]).await
}

/// `POST /plans/{id}`: saves the edited plan as the class's next version, or shows the form
/// again with every problem.
pub async fn save(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<PlanForm>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::PlansManage)?.clone();
    let plan = state.store.plan(&scope, &id).await?;
    let content = match serde_json::from_str::<PlanContent>(&f.form.content) {
        Ok(c) => c,
        Err(e) => {
            let problems = vec![format!("content: {e}")];
            return plan_page(&state, f.layout, &id, Some(f.form), problems).await;
        }
    };
    let problems = plans::validate(&plan.category, &content);
    if !problems.is_empty() {
        return plan_page(&state, f.layout, &id, Some(f.form), problems).await;
    }
    let new = NewPlanVersion {
        category: plan.category.clone(),
        name: f.form.name.clone(),
        content,
        note: f.form.note.clone(),
    };
    match state
        .store
        .save_plan(&scope, &new, &f.layout.p.actor())
        .await
    {
        Ok(saved) => Ok(done(
            &format!("/plans/{}", saved.id),
            f.layout.t.get("plan.saved"),
        )),
        Err(yunshou_store::Error::Invalid(reasons)) => {
            let problems = reasons.split("; ").map(str::to_string).collect();
            plan_page(&state, f.layout, &id, Some(f.form), problems).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "drills.html")]
struct DrillsPage {
    l: Layout,
    drills: Vec<Drill>,
    plans: Vec<(String, String)>,
    can_manage: bool,
}

impl DrillsPage {
    fn plan_name(&self, id: &str) -> String {
        self.plans
            .iter()
            .find(|p| p.0 == id)
            .map(|p| p.1.clone())
            .unwrap_or_default()
    }
}

fn plan_title(l: &Layout, p: &ResponsePlan) -> String {
    format!(
        "{} · {} v{}",
        category_label(&l.t, &p.category),
        p.name,
        p.version
    )
}

/// `GET /drills`.
pub async fn drills(
    State(state): State<AppState>,
    Console(l): Console,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::IncidentsRead)?.clone();
    let drills = state.store.drills(&scope).await?;
    let mut plans: Vec<(String, String)> = state
        .store
        .current_plans(&scope)
        .await?
        .iter()
        .map(|p| (p.id.clone(), plan_title(&l, p)))
        .collect();
    // Drills of older plan versions still name their plan.
    for d in &drills {
        if !plans.iter().any(|p| p.0 == d.plan_id) {
            if let Ok(p) = state.store.plan(&scope, &d.plan_id).await {
                plans.push((p.id.clone(), plan_title(&l, &p)));
            }
        }
    }
    let can_manage = l.p.can(Permission::PlansManage);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        DrillsPage {
            l,
            drills,
            plans,
            can_manage,
        }
        .render()?,
    ))
}

#[derive(Deserialize)]
pub struct ScheduleForm {
    #[serde(default)]
    plan_id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    scenario: String,
    #[serde(default)]
    scheduled_for: String,
    #[serde(default)]
    participants: String,
}

/// `POST /drills`: schedules a drill.
pub async fn schedule(
    State(state): State<AppState>,
    f: ConsoleForm<ScheduleForm>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::PlansManage)?;
    let form = f.form;
    if !yunshou_model::ids::is_valid_id(&form.plan_id) {
        return Err(ConsoleError::Back(
            "/drills".into(),
            "plan_id: choose a plan".into(),
        ));
    }
    let input = DrillInput {
        plan_id: form.plan_id,
        title: form.title,
        scenario: form.scenario,
        scheduled_for: form.scheduled_for,
        participants: form.participants,
    };
    let drill = state
        .store
        .schedule_drill(scope, &input, &f.layout.p.actor())
        .await
        .map_err(ConsoleError::back("/drills"))?;
    Ok(done(
        &format!("/drills/{}", drill.id),
        f.layout.t.get("drill.scheduled_ok"),
    ))
}

#[derive(Template)]
#[template(path = "drill.html")]
struct DrillPage {
    l: Layout,
    drill: Drill,
    plan: Option<(String, String)>,
    items: Vec<ImprovementItem>,
    total_minutes: u32,
    can_manage: bool,
}

impl DrillPage {
    fn kinds(&self) -> [&'static str; 5] {
        ["rule", "baseline", "plan", "process", "other"]
    }
    fn minutes(&self, m: &u32) -> String {
        humanise(&self.l.t, f64::from(*m))
    }
}

/// `GET /drills/{id}`.
pub async fn drill(
    State(state): State<AppState>,
    Console(l): Console,
    IdPath(id): IdPath,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::IncidentsRead)?.clone();
    let drill = state.store.drill(&scope, &id).await?;
    let plan = state
        .store
        .plan(&scope, &drill.plan_id)
        .await
        .ok()
        .map(|p| (p.id.clone(), plan_title(&l, &p)));
    let items = state.store.improvement_items(&scope, "drill", &id).await?;
    let total_minutes = drill.steps.iter().map(|s| s.minutes).sum();
    let can_manage = l.p.can(Permission::PlansManage);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        DrillPage {
            l,
            drill,
            plan,
            items,
            total_minutes,
            can_manage,
        }
        .render()?,
    ))
}

/// Reads `title | minutes` lines (blank lines skipped); every bad line is named.
fn drill_steps(text: &str) -> Result<Vec<DrillStep>, String> {
    let mut steps = vec![];
    let mut problems = vec![];
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((title, minutes)) = line.rsplit_once(['|', '｜']) else {
            problems.push(format!("steps line {}: write `title | minutes`", i + 1));
            continue;
        };
        match minutes.trim().parse::<u32>() {
            Ok(m) if !title.trim().is_empty() => steps.push(DrillStep {
                title: title.trim().to_string(),
                minutes: m,
            }),
            Ok(_) => problems.push(format!("steps line {}: the title is empty", i + 1)),
            Err(_) => problems.push(format!(
                "steps line {}: `{}` is not a whole number of minutes",
                i + 1,
                minutes.trim()
            )),
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    if steps.is_empty() {
        return Err("steps: at least one line `title | minutes`".into());
    }
    Ok(steps)
}

#[derive(Deserialize)]
pub struct RecordForm {
    #[serde(default)]
    steps: String,
    #[serde(default)]
    findings: String,
    #[serde(default)]
    participants: String,
}

/// `POST /drills/{id}/record`: records the drill as held.
pub async fn record(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<RecordForm>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::PlansManage)?;
    let back = format!("/drills/{id}");
    let steps = drill_steps(&f.form.steps).map_err(|e| ConsoleError::Back(back.clone(), e))?;
    let rec = DrillRecord {
        steps,
        findings: f.form.findings.clone(),
        participants: Some(f.form.participants.trim().to_string()).filter(|p| !p.is_empty()),
    };
    state
        .store
        .record_drill(scope, &id, &rec, &f.layout.p.actor())
        .await
        .map_err(ConsoleError::back(&back))?;
    Ok(done(&back, f.layout.t.get("drill.recorded")))
}

#[derive(Deserialize)]
pub struct ItemForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    link: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    due_date: String,
}

/// `POST /drills/{id}/items`: raises an improvement item.
pub async fn add_item(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<ItemForm>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::PlansManage)?;
    let back = format!("/drills/{id}");
    let form = f.form;
    let new = NewImprovementItem {
        title: form.title,
        kind: form.kind,
        link: form.link,
        owner: Some(form.owner.trim().to_string()).filter(|o| !o.is_empty()),
        due_date: Some(form.due_date.trim().to_string()).filter(|d| !d.is_empty()),
    };
    state
        .store
        .add_improvement_item(scope, "drill", &id, &new, &f.layout.p.actor())
        .await
        .map_err(ConsoleError::back(&back))?;
    Ok(done(&back, f.layout.t.get("drill.item_added")))
}

#[derive(Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    link: String,
    #[serde(default)]
    resolution: String,
}

/// `POST /drills/{id}/items/{item}/close`: closes an item, naming what changed.
pub async fn close_item(
    State(state): State<AppState>,
    Path((id, item)): Path<(String, String)>,
    f: ConsoleForm<CloseForm>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::PlansManage)?;
    let valid = yunshou_model::ids::is_valid_id;
    if !valid(&id) || !valid(&item) {
        return Err(ConsoleError::Page(
            axum::http::StatusCode::NOT_FOUND,
            "id?".into(),
        ));
    }
    let back = format!("/drills/{id}");
    let found = state.store.improvement_item(scope, &item).await?;
    if found.source_kind != "drill" || found.source_id != id {
        return Err(yunshou_store::Error::NotFound.into());
    }
    state
        .store
        .close_improvement_item(
            scope,
            &item,
            &f.form.link,
            &f.form.resolution,
            &f.layout.p.actor(),
        )
        .await
        .map_err(ConsoleError::back(&back))?;
    Ok(done(&back, f.layout.t.get("drill.item_closed")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drill_steps_read_a_line_each() {
        let s = drill_steps("通知应急小组 | 5\n\n隔离主机｜20\n").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].title, "隔离主机");
        assert_eq!(s[1].minutes, 20);
        let e = drill_steps("a | soon\nno bar\n").unwrap_err();
        assert!(e.contains("line 1") && e.contains("line 2"), "{e}");
        assert!(drill_steps("  \n").is_err());
    }
}
