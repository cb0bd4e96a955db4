//! One incident in the console: the seven phases as a stepper, what the current phase still
//! needs and its record form, tasks, links, observables (with the pivot to the event
//! search), notices, evidence with its custody log, playbook runs, the report and the
//! archive. An archived incident shows no forms, only its frozen report.

use super::incidents::{back, Fields, IncView};
use super::{done, page, Console, ConsoleError, ConsoleForm, Layout};
use crate::extract::IdPath;
use crate::respond::{report, runner};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use yunshou_evidence::custody::CustodyEntry;
use yunshou_model::Permission;
use yunshou_playbooks::TriggerKind;
use yunshou_respond::phases::Phase;
use yunshou_store::evidence_vault::EvidenceItem;
use yunshou_store::incident_parts::{IncidentDetail, NewLink, Observable};
use yunshou_store::incidents::{IncidentStatus, NewObservable};
use yunshou_store::playbook_runs::PlaybookRun;
use yunshou_store::response_plans::NewImprovementItem;

/// Runs shown with their steps.
const RUNS_SHOWN: usize = 20;

/// One phase of the stepper.
pub struct Step {
    pub phase: Phase,
    /// done | current | todo.
    pub state: &'static str,
    pub entered_at: Option<String>,
    pub left_at: Option<String>,
}

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage {
    l: Layout,
    d: IncidentDetail,
    steps: Vec<Step>,
    /// May change it (IncidentsManage, not archived).
    can_manage: bool,
    /// Open, and may change it: the record forms and the phase move.
    can_work: bool,
    can_evidence: bool,
    can_run: bool,
    can_approve: bool,
    evidence: Vec<EvidenceItem>,
    custody: Vec<CustodyEntry>,
    runs: Vec<PlaybookRun>,
    /// (id, name) of the tenant's enabled incident playbooks.
    playbooks: Vec<(String, String)>,
    now: String,
}

impl IncView for IncidentPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
    fn cur(&self, field: &str) -> String {
        let i = &self.d.incident;
        let grading = i
            .grading
            .map(|g| serde_json::to_value(g).unwrap_or_default());
        match field {
            "class" => match &i.category {
                Some(c) => format!("{c}/{}", i.subcategory),
                None => String::new(),
            },
            "level" => i.level.map(|l| l.as_str().to_string()).unwrap_or_default(),
            f => grading
                .and_then(|g| g[f].as_str().map(String::from))
                .unwrap_or_default(),
        }
    }
}

impl IncidentPage {
    fn archived(&self) -> bool {
        self.d.incident.status == IncidentStatus::Archived
    }
    fn overdue(&self) -> bool {
        self.d.incident.status == IncidentStatus::Open
            && self
                .d
                .phase_due_at
                .as_deref()
                .is_some_and(|d| d < self.now.as_str())
    }
    fn next_phase(&self) -> Option<Phase> {
        self.d.incident.phase.next()
    }
    fn current(&self, p: &str) -> bool {
        self.d.incident.phase.as_str() == p
    }
    /// What the current phase still needs, in the page's language.
    fn missing(&self) -> Vec<&'static str> {
        self.d
            .missing
            .iter()
            .map(|m| if self.zh() { m.zh } else { m.en })
            .collect()
    }
    /// The phase's tasks.
    fn tasks_of(&self, p: &Phase) -> Vec<&yunshou_store::incident_parts::IncidentTask> {
        self.d.tasks.iter().filter(|t| t.phase == *p).collect()
    }
    fn no_response(&self) -> bool {
        self.d.incident.phase == Phase::Diagnosis
            && self
                .d
                .incident
                .records
                .activation
                .as_ref()
                .is_some_and(|a| {
                    a.decision == yunshou_respond::phases::ActivationDecision::NoResponse
                })
    }
    fn may_archive(&self) -> bool {
        self.can_manage
            && (self.d.incident.phase == Phase::Optimization
                || self.d.incident.status == IncidentStatus::Closed)
    }
    fn pivot(&self, o: &Observable) -> String {
        format!("/events?q={}", super::url_encode(&o.search_query()))
    }
    /// Where a link points in the console.
    fn link_href(&self, kind: &str, id: &str) -> String {
        match kind {
            "alert" => format!("/alerts/{id}"),
            "asset" => format!("/assets/{id}"),
            "finding" => format!("/findings/{id}"),
            "work_order" => format!("/work-orders/{id}"),
            _ => format!(
                "/events?q={}",
                super::url_encode(&format!("event.id:\"{id}\""))
            ),
        }
    }
    fn kind_name(&self, k: &str) -> &'static str {
        self.l.t.get(&format!("inc.kind.{k}"))
    }
    fn size(&self, n: &i64) -> String {
        match *n {
            n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20)),
            n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
            n => format!("{n} B"),
        }
    }
    fn prefix(&self, h: &str) -> String {
        h.chars().take(16).collect()
    }
    fn grading_text(&self) -> String {
        match self.d.incident.grading {
            Some(g) => {
                let v = serde_json::to_value(g).unwrap_or_default();
                let get = |k: &str| {
                    let key = format!("inc.{k}.{}", v[k].as_str().unwrap_or(""));
                    self.l.t.get(&key)
                };
                format!(
                    "{} · {} · {}",
                    get("importance"),
                    get("loss"),
                    get("social_harm")
                )
            }
            None => String::new(),
        }
    }
    fn run_status(&self, s: &str) -> &'static str {
        self.l.t.get(&format!("inc.run.{s}"))
    }
}

fn steps(d: &IncidentDetail) -> Vec<Step> {
    let current = d.incident.phase;
    Phase::ALL
        .iter()
        .map(|p| {
            let entry = d.phases.iter().rev().find(|e| e.phase == *p);
            let state = if *p == current {
                if d.incident.status == IncidentStatus::Open {
                    "current"
                } else {
                    "done"
                }
            } else if *p < current {
                "done"
            } else {
                "todo"
            };
            Step {
                phase: *p,
                state,
                entered_at: entry.map(|e| e.entered_at.clone()),
                left_at: entry.and_then(|e| e.left_at.clone()),
            }
        })
        .collect()
}

/// `GET /incidents/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    Console(l): Console,
    IdPath(id): IdPath,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::IncidentsRead)?.clone();
    let d = state.store.incident_detail(&scope, &id).await?;
    let archived = d.incident.status == IncidentStatus::Archived;
    let can_manage = l.p.can(Permission::IncidentsManage) && !archived;
    let can_work = can_manage && d.incident.status == IncidentStatus::Open;
    let can_evidence = l.p.can(Permission::EvidenceAccess);
    let (evidence, custody) = if can_evidence {
        (
            state.store.evidence(&scope, &id).await?,
            state.store.custody_log(&scope, &id).await?,
        )
    } else {
        (vec![], vec![])
    };
    let mut runs = vec![];
    for r in state
        .store
        .playbook_runs(&scope, Some(&id))
        .await?
        .into_iter()
        .take(RUNS_SHOWN)
    {
        runs.push(state.store.playbook_run(&scope, &r.id).await?);
    }
    let can_run = l.p.can(Permission::PlaybooksManage) && can_work;
    let playbooks = if can_run {
        state
            .store
            .playbooks(&scope)
            .await?
            .into_iter()
            .filter(|p| p.enabled)
            .filter(|p| {
                yunshou_playbooks::parse(&p.yaml)
                    .is_ok_and(|pb| pb.trigger.kind() == TriggerKind::Incident)
            })
            .map(|p| (p.id, p.name))
            .collect()
    } else {
        vec![]
    };
    let page_ = IncidentPage {
        steps: steps(&d),
        can_manage,
        can_work,
        can_evidence,
        can_run,
        can_approve: l.p.can(Permission::PlaybooksApprove) && !archived,
        evidence,
        custody,
        runs,
        playbooks,
        now: yunshou_store::now_text(),
        d,
        l,
    };
    let flash = page_.l.flash.is_some();
    Ok(page(flash, page_.render()?))
}

fn bad(detail: impl Into<String>) -> ConsoleError {
    ConsoleError::Page(StatusCode::BAD_REQUEST, detail.into())
}

/// Both path ids, checked.
fn two_ids(p: (String, String)) -> Result<(String, String), ConsoleError> {
    if yunshou_model::ids::is_valid_id(&p.0) && yunshou_model::ids::is_valid_id(&p.1) {
        Ok(p)
    } else {
        Err(bad("id: not a valid identifier"))
    }
}

/// `POST /incidents/{id}/tasks`: a task added by hand.
pub async fn add_task(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::IncidentsManage)?;
    let to = format!("/incidents/{id}");
    let fields = Fields(&f.form);
    let phase = Phase::parse(fields.get("phase"))
        .ok_or_else(|| ConsoleError::Back(to.clone(), "phase?".into()))?;
    let owner = fields.opt("owner");
    state
        .store
        .add_incident_task(
            scope,
            &id,
            phase,
            fields.get("title"),
            owner.as_deref(),
            &f.layout.p.actor(),
        )
        .await
        .map_err(back(&to))?;
    Ok(done(&to, f.layout.t.get("inc.saved")))
}

/// `POST /incidents/{id}/tasks/{task}`: done (`done=1`) or not done.
pub async fn task_done(
    State(state): State<AppState>,
    Path(p): Path<(String, String)>,
    f: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let (id, task) = two_ids(p)?;
    let scope = f.layout.p.require(Permission::IncidentsManage)?;
    let to = format!("/incidents/{id}");
    let done_ = Fields(&f.form).get("done") == "1";
    state
        .store
        .set_task_done(scope, &id, &task, done_, &f.layout.p.actor())
        .await
        .map_err(back(&to))?;
    Ok(done(&to, f.layout.t.get("inc.saved")))
}

/// `POST /incidents/{id}/links`: an alert, asset, finding or event by id.
pub async fn add_link(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::IncidentsManage)?;
    let to = format!("/incidents/{id}");
    let fields = Fields(&f.form);
    let kind = fields.get("kind").to_string();
    let ref_id = fields.get("ref_id").to_string();
    // A record of another kind must be an identifier; a wrong one is the user's typo.
    if kind != "event" && !yunshou_model::ids::is_valid_id(&ref_id) {
        return Err(ConsoleError::Back(
            to,
            format!("ref_id: {ref_id:?} is not an identifier"),
        ));
    }
    let new = NewLink {
        kind,
        ref_id,
        label: fields.get("label").to_string(),
    };
    state
        .store
        .link_to_incident(scope, &id, &new, &f.layout.p.actor())
        .await
        .map_err(|e| match e {
            yunshou_store::Error::NotFound => {
                ConsoleError::Back(to.clone(), f.layout.t.get("inc.link_unknown").into())
            }
            e => back(&to)(e),
        })?;
    Ok(done(&to, f.layout.t.get("inc.saved")))
}

/// `POST /incidents/{id}/observables`.
pub async fn add_observable(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::IncidentsManage)?;
    let to = format!("/incidents/{id}");
    let fields = Fields(&f.form);
    let o = NewObservable {
        kind: fields.get("kind").to_string(),
        value: fields.get("value").to_string(),
        note: fields.get("note").to_string(),
    };
    state
        .store
        .add_observables(scope, &id, &[o], &f.layout.p.actor())
        .await
        .map_err(back(&to))?;
    Ok(done(&to, f.layout.t.get("inc.saved")))
}

/// `POST /incidents/{id}/notices/{notice}`: reported, with how.
pub async fn notice_reported(
    State(state): State<AppState>,
    Path(p): Path<(String, String)>,
    f: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let (id, notice) = two_ids(p)?;
    let scope = f.layout.p.require(Permission::IncidentsManage)?;
    let to = format!("/incidents/{id}");
    state
        .store
        .mark_notice_reported(
            scope,
            &id,
            &notice,
            Fields(&f.form).get("note"),
            &f.layout.p.actor(),
        )
        .await
        .map_err(back(&to))?;
    Ok(done(&to, f.layout.t.get("inc.saved")))
}

/// `POST /incidents/{id}/improvements`: an improvement item raised at the review.
pub async fn add_improvement(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::IncidentsManage)?;
    let to = format!("/incidents/{id}");
    let fields = Fields(&f.form);
    let new = NewImprovementItem {
        title: fields.get("title").to_string(),
        kind: fields.get("kind").to_string(),
        link: fields.get("link").to_string(),
        owner: fields.opt("owner"),
        due_date: fields.opt("due_date"),
    };
    state
        .store
        .add_improvement_item(scope, "incident", &id, &new, &f.layout.p.actor())
        .await
        .map_err(back(&to))?;
    Ok(done(&to, f.layout.t.get("inc.saved")))
}

/// `POST /incidents/{id}/improvements/{item}/close`: closed with what was changed.
pub async fn close_improvement(
    State(state): State<AppState>,
    Path(p): Path<(String, String)>,
    f: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let (id, item) = two_ids(p)?;
    let scope = f.layout.p.require(Permission::IncidentsManage)?;
    let to = format!("/incidents/{id}");
    // The item must be this incident's.
    let it = state.store.improvement_item(scope, &item).await?;
    if it.source_kind != "incident" || it.source_id != id {
        return Err(ConsoleError::Page(StatusCode::NOT_FOUND, "item".into()));
    }
    let fields = Fields(&f.form);
    state
        .store
        .close_improvement_item(
            scope,
            &item,
            fields.get("link"),
            fields.get("resolution"),
            &f.layout.p.actor(),
        )
        .await
        .map_err(back(&to))?;
    Ok(done(&to, f.layout.t.get("inc.saved")))
}

/// `POST /incidents/{id}/archive`: the report rendered and frozen with the incident.
pub async fn archive(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::IncidentsManage)?.clone();
    let to = format!("/incidents/{id}");
    let tenant = f.layout.p.access.tenant.display_name.clone();
    report::archive(
        &state.store,
        &state.respond,
        &scope,
        &tenant,
        &id,
        &f.layout.p.actor(),
    )
    .await
    .map_err(|e| match e {
        report::ArchiveError::Store(e) => back(&to)(e),
        report::ArchiveError::Pdf(m) => ConsoleError::Back(to.clone(), format!("PDF: {m}")),
    })?;
    Ok(done(&to, f.layout.t.get("inc.archived")))
}

/// `POST /incidents/{id}/runs`: starts an incident playbook (optionally as a dry run).
pub async fn start_run(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::PlaybooksManage)?.clone();
    let to = format!("/incidents/{id}");
    let fields = Fields(&f.form);
    let playbook = fields.get("playbook_id");
    if !yunshou_model::ids::is_valid_id(playbook) {
        return Err(ConsoleError::Back(to, "playbook_id?".into()));
    }
    runner::start(
        &state,
        &scope,
        playbook,
        TriggerKind::Incident,
        &id,
        fields.checked("dry_run"),
        &f.layout.p.actor(),
    )
    .await
    .map_err(|e| match e {
        runner::RunError::Store(e) => back(&to)(e),
        runner::RunError::Playbook(m) => ConsoleError::Back(to.clone(), m),
    })?;
    Ok(done(&to, f.layout.t.get("inc.run_started")))
}

/// `POST /incidents/{id}/runs/{run}/decide`: approve (`approve=1`) or reject a waiting step.
pub async fn decide(
    State(state): State<AppState>,
    Path(p): Path<(String, String)>,
    f: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let (id, run) = two_ids(p)?;
    let scope = f.layout.p.require(Permission::PlaybooksApprove)?.clone();
    let to = format!("/incidents/{id}");
    let r = state.store.playbook_run(&scope, &run).await?;
    if r.incident_id.as_deref() != Some(id.as_str()) {
        return Err(ConsoleError::Page(StatusCode::NOT_FOUND, "run".into()));
    }
    let fields = Fields(&f.form);
    let index: i64 = fields
        .get("step")
        .parse()
        .map_err(|_| ConsoleError::Back(to.clone(), "step?".into()))?;
    runner::decide(
        &state,
        &scope,
        &run,
        index,
        fields.get("approve") == "1",
        &f.layout.p.actor(),
    )
    .await
    .map_err(|e| match e {
        runner::RunError::Store(e) => back(&to)(e),
        runner::RunError::Playbook(m) => ConsoleError::Back(to.clone(), m),
    })?;
    Ok(done(&to, f.layout.t.get("inc.saved")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn pivot_is_url_encoded() {
        let q = super::super::url_encode("source.ip:1.2.3.4 OR destination.ip:1.2.3.4");
        assert_eq!(q, "source.ip%3A1.2.3.4%20OR%20destination.ip%3A1.2.3.4");
    }
}
