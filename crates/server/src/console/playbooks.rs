//! Response playbooks in the console (R.1.e): the list, saving from YAML (every parse problem
//! listed with its path), switching on and off, starting a run (a dry run by default), one
//! playbook's parsed steps and recent runs, and a run with its steps, where someone other
//! than the starter approves or rejects a step waiting for it.

use super::{done, page, Console, ConsoleError, ConsoleForm, Layout};
use crate::extract::IdPath;
use crate::respond::runner::{self, RunError};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use yunshou_model::Permission;
use yunshou_playbooks::{Playbook, TriggerKind};
use yunshou_store::playbook_runs::{PlaybookRecord, PlaybookRun};

/// A playbook as listed: the record and what its YAML says.
pub struct Listed {
    rec: PlaybookRecord,
    /// `alert` or `incident`, or empty when the stored YAML no longer parses.
    trigger: &'static str,
    steps: usize,
}

fn trigger_name(pb: &Playbook) -> &'static str {
    match pb.trigger.kind() {
        TriggerKind::Alert => "alert",
        TriggerKind::Incident => "incident",
    }
}

fn listed(rec: PlaybookRecord) -> Listed {
    let (trigger, steps) = match yunshou_playbooks::parse(&rec.yaml) {
        Ok(pb) => (trigger_name(&pb), pb.steps.len()),
        Err(_) => ("", 0),
    };
    Listed {
        rec,
        trigger,
        steps,
    }
}

/// A new playbook's starting text.
const STARTER: &str = "id: my-playbook\nname: 新剧本\ndescription: \"\"\nenabled: false\ntrigger:\n  alert:\n    severity_at_least: high\nsteps:\n  - id: enrich-ip\n    action: enrich\n    with:\n      source: intel\n      value: \"{{ alert.entities.source_ip }}\"\n";

#[derive(Template)]
#[template(path = "playbooks.html")]
struct PlaybooksPage {
    l: Layout,
    playbooks: Vec<Listed>,
    yaml: String,
    problems: Vec<String>,
    can_manage: bool,
}

async fn list_page(
    state: &AppState,
    l: Layout,
    yaml: String,
    problems: Vec<String>,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::IncidentsRead)?.clone();
    let playbooks = state
        .store
        .playbooks(&scope)
        .await?
        .into_iter()
        .map(listed)
        .collect();
    let can_manage = l.p.can(Permission::PlaybooksManage);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        PlaybooksPage {
            l,
            playbooks,
            yaml,
            problems,
            can_manage,
        }
        .render()?,
    ))
}

/// `GET /playbooks`.
pub async fn list(
    State(state): State<AppState>,
    Console(l): Console,
) -> Result<Response, ConsoleError> {
    list_page(&state, l, STARTER.into(), vec![]).await
}

#[derive(Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    yaml: String,
    /// Set when editing: the playbook whose next version this is.
    #[serde(default)]
    playbook_id: String,
}

/// `POST /playbooks`: saves a playbook from YAML (new, or the next version of the one with
/// its `id`), or shows the form again with every problem and its path.
pub async fn save(
    State(state): State<AppState>,
    f: ConsoleForm<SaveForm>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::PlaybooksManage)?.clone();
    let editing = if f.form.playbook_id.is_empty() {
        None
    } else if yunshou_model::ids::is_valid_id(&f.form.playbook_id) {
        Some(state.store.playbook(&scope, &f.form.playbook_id).await?)
    } else {
        return Err(ConsoleError::Back("/playbooks".into(), "id?".into()));
    };
    let again = |l: Layout, problems: Vec<String>| {
        let state = state.clone();
        let yaml = f.form.yaml.clone();
        let editing = editing.clone();
        async move {
            match editing {
                Some(rec) => detail_page(&state, l, &rec.id, Some(yaml), problems).await,
                None => list_page(&state, l, yaml, problems).await,
            }
        }
    };
    let pb = match yunshou_playbooks::parse(&f.form.yaml) {
        Ok(pb) => pb,
        Err(e) => {
            let problems = e
                .problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect();
            return again(f.layout, problems).await;
        }
    };
    let existing = state
        .store
        .playbooks(&scope)
        .await?
        .into_iter()
        .find(|r| r.slug == pb.id);
    if let Some(rec) = &editing {
        if rec.slug != pb.id {
            let problem = format!(
                "id: this playbook is `{}`; to copy it, save it as a new playbook",
                rec.slug
            );
            return again(f.layout, vec![problem]).await;
        }
    }
    // An existing playbook keeps its switch; a new one starts as its YAML says.
    let enabled = existing.as_ref().map_or(pb.enabled, |r| r.enabled);
    match state
        .store
        .save_playbook(
            &scope,
            &pb.id,
            &pb.name,
            &f.form.yaml,
            enabled,
            &f.layout.p.actor(),
        )
        .await
    {
        Ok(rec) => Ok(done(
            &format!("/playbooks/{}", rec.id),
            f.layout.t.get("pb.saved"),
        )),
        Err(yunshou_store::Error::Invalid(reason)) => again(f.layout, vec![reason]).await,
        Err(e) => Err(e.into()),
    }
}

/// A playbook step as shown: id, name, action, whether it waits for approval.
pub struct StepRow {
    id: String,
    name: String,
    action: &'static str,
    needs_approval: bool,
}

#[derive(Template)]
#[template(path = "playbook.html")]
struct PlaybookPage {
    l: Layout,
    rec: PlaybookRecord,
    description: String,
    trigger: &'static str,
    steps: Vec<StepRow>,
    /// Why the stored YAML no longer parses.
    broken: Option<String>,
    runs: Vec<PlaybookRun>,
    yaml: String,
    problems: Vec<String>,
    can_manage: bool,
}

async fn detail_page(
    state: &AppState,
    l: Layout,
    id: &str,
    yaml: Option<String>,
    problems: Vec<String>,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::IncidentsRead)?.clone();
    let rec = state.store.playbook(&scope, id).await?;
    let runs = state
        .store
        .playbook_runs(&scope, None)
        .await?
        .into_iter()
        .filter(|r| r.playbook_id == rec.id)
        .take(20)
        .collect();
    let (description, trigger, steps, broken) = match yunshou_playbooks::parse(&rec.yaml) {
        Ok(pb) => (
            pb.description.clone(),
            trigger_name(&pb),
            pb.steps
                .iter()
                .map(|s| StepRow {
                    id: s.id.clone(),
                    name: s.name.clone().unwrap_or_default(),
                    action: s.action.name(),
                    needs_approval: s.needs_approval(),
                })
                .collect(),
            None,
        ),
        Err(e) => (String::new(), "", vec![], Some(e.to_string())),
    };
    let can_manage = l.p.can(Permission::PlaybooksManage);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        PlaybookPage {
            l,
            yaml: yaml.unwrap_or_else(|| rec.yaml.clone()),
            rec,
            description,
            trigger,
            steps,
            broken,
            runs,
            problems,
            can_manage,
        }
        .render()?,
    ))
}

/// `GET /playbooks/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    Console(l): Console,
    IdPath(id): IdPath,
) -> Result<Response, ConsoleError> {
    detail_page(&state, l, &id, None, vec![]).await
}

#[derive(Deserialize)]
pub struct EnabledForm {
    #[serde(default)]
    enabled: String,
}

/// `POST /playbooks/{id}/enabled`.
pub async fn set_enabled(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<EnabledForm>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::PlaybooksManage)?;
    let on = f.form.enabled == "true";
    state
        .store
        .set_playbook_enabled(scope, &id, on, &f.layout.p.actor())
        .await?;
    let key = if on {
        "pb.enabled_ok"
    } else {
        "pb.disabled_ok"
    };
    Ok(done(&format!("/playbooks/{id}"), f.layout.t.get(key)))
}

#[derive(Deserialize)]
pub struct RunForm {
    #[serde(default)]
    trigger_id: String,
    /// Present (`on`) when the box is ticked.
    #[serde(default)]
    dry_run: Option<String>,
}

fn run_problem(e: RunError) -> String {
    match e {
        RunError::Store(yunshou_store::Error::NotFound) => {
            "trigger_id: no such alert or incident here".into()
        }
        e => e.to_string(),
    }
}

/// `POST /playbooks/{id}/run`: starts a run on the alert or incident named (the playbook's
/// trigger decides which).
pub async fn run(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<RunForm>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::PlaybooksManage)?.clone();
    let back = format!("/playbooks/{id}");
    let rec = state.store.playbook(&scope, &id).await?;
    let pb = yunshou_playbooks::parse(&rec.yaml)
        .map_err(|e| ConsoleError::Back(back.clone(), e.to_string()))?;
    let trigger_id = f.form.trigger_id.trim();
    if !yunshou_model::ids::is_valid_id(trigger_id) {
        return Err(ConsoleError::Back(
            back,
            "trigger_id: the id of an alert or incident".into(),
        ));
    }
    let dry_run = f.form.dry_run.is_some();
    let run_id = runner::start(
        &state,
        &scope,
        &id,
        pb.trigger.kind(),
        trigger_id,
        dry_run,
        &f.layout.p.actor(),
    )
    .await
    .map_err(|e| ConsoleError::Back(back.clone(), run_problem(e)))?;
    Ok(done(
        &format!("/playbook-runs/{run_id}"),
        f.layout.t.get("pb.started"),
    ))
}

/// A run step as shown, its output as pretty JSON (escaped by the template).
pub struct RunStepRow {
    index: i64,
    step_id: String,
    action: String,
    needs_approval: bool,
    status: String,
    summary: String,
    decided_by: String,
    detail: String,
    output: String,
}

#[derive(Template)]
#[template(path = "playbook_run.html")]
struct RunPage {
    l: Layout,
    run: PlaybookRun,
    steps: Vec<RunStepRow>,
    can_approve: bool,
}

impl RunPage {
    /// Why an automatic run could not be planned (kept in its context), if it could not.
    fn refused(&self) -> Option<&str> {
        self.run.context.get("error").and_then(|e| e.as_str())
    }
}

/// `GET /playbook-runs/{id}`.
pub async fn run_page(
    State(state): State<AppState>,
    Console(l): Console,
    IdPath(id): IdPath,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::IncidentsRead)?.clone();
    let run = state.store.playbook_run(&scope, &id).await?;
    let steps = run
        .steps
        .iter()
        .map(|s| RunStepRow {
            index: s.index,
            step_id: s.step_id.clone(),
            action: s.action.clone(),
            needs_approval: s.needs_approval,
            status: s.status.clone(),
            summary: s.summary.clone(),
            decided_by: s.decided_by.clone().unwrap_or_default(),
            detail: s.detail.clone(),
            output: if s.output.is_null() {
                String::new()
            } else {
                serde_json::to_string_pretty(&s.output).unwrap_or_default()
            },
        })
        .collect();
    let can_approve = l.p.can(Permission::PlaybooksApprove);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        RunPage {
            l,
            run,
            steps,
            can_approve,
        }
        .render()?,
    ))
}

#[derive(Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    index: String,
    #[serde(default)]
    decision: String,
}

/// `POST /playbook-runs/{id}/decide`: approves (and carries on) or rejects the step.
pub async fn decide(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<DecideForm>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::PlaybooksApprove)?.clone();
    let back = format!("/playbook-runs/{id}");
    let Ok(index) = f.form.index.parse::<i64>() else {
        return Err(ConsoleError::Back(back, "index?".into()));
    };
    let approve = match f.form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            return Err(ConsoleError::Back(
                back,
                "decision: approve or reject".into(),
            ))
        }
    };
    runner::decide(&state, &scope, &id, index, approve, &f.layout.p.actor())
        .await
        .map_err(|e| ConsoleError::Back(back.clone(), e.to_string()))?;
    let key = if approve {
        "run.approved"
    } else {
        "run.rejected"
    };
    Ok(done(&back, f.layout.t.get(key)))
}
