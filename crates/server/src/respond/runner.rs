//! Playbook runs: a run is planned whole (every template resolved, every value checked)
//! before anything happens, recorded, then carried out step by step. A disruptive step
//! stops the run until someone other than its starter approves it; every step's outcome is
//! recorded and audited. A trigger round starts enabled playbooks on new alerts and changed
//! incidents, once per playbook and subject.

use crate::state::AppState;
use async_trait::async_trait;
use serde_json::{json, Value};
use yunshou_model::Actor;
use yunshou_playbooks::{Host, Playbook, RunOptions, StepStatus, TriggerKind};
use yunshou_store::playbook_runs::{PlannedRunStep, PlaybookRecord, StepResult};
use yunshou_store::{AssetQuery, AssetSort, Page, TenantScope};

/// Why a run could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] yunshou_store::Error),
    /// The playbook or its rendering is wrong (the message names where).
    #[error("{0}")]
    Playbook(String),
}

/// The platform as a playbook sees it: lookups, work items and secrets, inside one tenant.
pub struct PlatformHost {
    state: AppState,
    scope: TenantScope,
    incident_id: Option<String>,
    actor: Actor,
}

fn classify(value: &str) -> &'static str {
    if value.parse::<std::net::IpAddr>().is_ok() {
        "ip"
    } else if value.starts_with("http://") || value.starts_with("https://") {
        "url"
    } else if matches!(value.len(), 32 | 40 | 64) && value.chars().all(|c| c.is_ascii_hexdigit()) {
        "hash"
    } else {
        "domain"
    }
}

#[async_trait]
impl Host for PlatformHost {
    async fn enrich(&self, source: &str, value: &str) -> Result<Value, String> {
        let store = &self.state.store;
        match source {
            "ledger" => {
                let query = if classify(value) == "ip" {
                    AssetQuery {
                        ip: Some(value.into()),
                        ..Default::default()
                    }
                } else {
                    AssetQuery {
                        q: Some(value.into()),
                        ..Default::default()
                    }
                };
                let (assets, total) = store
                    .list_assets(
                        &self.scope,
                        &query,
                        AssetSort::default(),
                        Page {
                            limit: 5,
                            offset: 0,
                        },
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                let first = assets.first();
                Ok(json!({
                    "found": total > 0,
                    "count": total,
                    "id": first.map(|a| a.id.clone()),
                    "name": first.map(|a| a.fields.name.clone()),
                    "owner": first.and_then(|a| a.fields.owner.clone()),
                    "business_system": first.and_then(|a| a.fields.business_system.clone()),
                }))
            }
            "intel" => {
                let mut event = match classify(value) {
                    "ip" => json!({"source": {"ip": value}}),
                    "url" => json!({"url": {"full": value}}),
                    "hash" => {
                        json!({"file": {"hash": {"sha256": value, "md5": value, "sha1": value}}})
                    }
                    _ => json!({"url": {"domain": value}}),
                };
                let hits =
                    self.state
                        .intel
                        .enrich(self.scope.tenant_id(), &mut event, chrono::Utc::now());
                Ok(json!({
                    "verdict": if hits.is_empty() { "unknown" } else { "malicious" },
                    "hits": hits,
                    "enrichments": event.pointer("/threat/enrichments").cloned().unwrap_or(Value::Null),
                }))
            }
            "search" => {
                let Some(pipeline) = &self.state.pipeline else {
                    return Err("no event store on this server".into());
                };
                let events = pipeline.store().clone();
                let tenant = self.scope.tenant_id().to_string();
                let q = format!("\"{}\"", value.replace('"', ""));
                let to = chrono::Utc::now();
                let from = to - chrono::Duration::days(7);
                let page =
                    tokio::task::spawn_blocking(move || events.search(&tenant, &q, from, to, 1, 0))
                        .await
                        .map_err(|e| e.to_string())?
                        .map_err(|e| e.to_string())?;
                Ok(json!({"count": page.total, "days": 7}))
            }
            other => Err(format!("unknown enrichment source {other}")),
        }
    }

    async fn create_work_order(
        &self,
        title: &str,
        description: &str,
        assignee: Option<&str>,
        priority: &str,
    ) -> Result<String, String> {
        let Some(incident) = &self.incident_id else {
            return Err("create_work_order: the trigger is not part of an open incident".into());
        };
        let store = &self.state.store;
        let inc = store
            .incident(&self.scope, incident)
            .await
            .map_err(|e| e.to_string())?;
        let text = if description.is_empty() {
            format!("[{priority}] {title}")
        } else {
            format!("[{priority}] {title} — {description}")
        };
        store
            .add_incident_task(
                &self.scope,
                incident,
                inc.phase,
                &text,
                assignee,
                &self.actor,
            )
            .await
            .map_err(|e| e.to_string())
    }

    fn secret(&self, name: &str) -> Option<String> {
        // Secrets stay out of the database: the operator provides them to the process.
        std::env::var(format!("YUNSHOU_SECRET_{}", name.to_ascii_uppercase())).ok()
    }
}

fn parse(record: &PlaybookRecord) -> Result<Playbook, RunError> {
    yunshou_playbooks::parse(&record.yaml).map_err(|e| RunError::Playbook(e.to_string()))
}

async fn subject(
    state: &AppState,
    scope: &TenantScope,
    kind: TriggerKind,
    id: &str,
) -> Result<(Value, Option<String>), RunError> {
    Ok(match kind {
        TriggerKind::Alert => {
            let alert = state.store.alert(scope, id).await?.alert;
            let incident = state.store.incident_of_alert(scope, id).await?;
            (
                serde_json::to_value(alert).expect("alert serialises"),
                incident,
            )
        }
        TriggerKind::Incident => {
            let inc = state.store.incident(scope, id).await?;
            (
                serde_json::to_value(inc).expect("incident serialises"),
                Some(id.to_string()),
            )
        }
    })
}

/// Plans and starts a run; returns its id. A plan that cannot be made (a missing value, an
/// address that is not one) starts nothing.
pub async fn start(
    state: &AppState,
    scope: &TenantScope,
    playbook_id: &str,
    kind: TriggerKind,
    trigger_id: &str,
    dry_run: bool,
    actor: &Actor,
) -> Result<String, RunError> {
    let record = state.store.playbook(scope, playbook_id).await?;
    let pb = parse(&record)?;
    if pb.trigger.kind() != kind {
        return Err(RunError::Playbook(format!(
            "trigger: this playbook runs on {}, not on {}",
            kind_name(pb.trigger.kind()),
            kind_name(kind)
        )));
    }
    let (subject, incident_id) = subject(state, scope, kind, trigger_id).await?;
    let context = yunshou_playbooks::context(kind, &subject);
    let host = PlatformHost {
        state: state.clone(),
        scope: scope.clone(),
        incident_id: incident_id.clone(),
        actor: actor.clone(),
    };
    let planned = yunshou_playbooks::plan(&pb, &context, &host)
        .map_err(|e| RunError::Playbook(e.to_string()))?;
    let steps: Vec<PlannedRunStep> = planned
        .iter()
        .map(|p| PlannedRunStep {
            step_id: p.id.clone(),
            action: p.action.clone(),
            needs_approval: p.needs_approval,
            summary: p.summary.clone(),
        })
        .collect();
    let run_id = state
        .store
        .start_playbook_run(
            scope,
            &record,
            kind_name(kind),
            trigger_id,
            incident_id.as_deref(),
            dry_run,
            &context,
            &steps,
            actor,
        )
        .await?;
    proceed(state, scope, &run_id, actor).await?;
    Ok(run_id)
}

fn kind_name(kind: TriggerKind) -> &'static str {
    match kind {
        TriggerKind::Alert => "alert",
        TriggerKind::Incident => "incident",
    }
}

/// Carries a run on from its first step not yet done, until it finishes, fails, or reaches
/// a step waiting for approval.
pub async fn proceed(
    state: &AppState,
    scope: &TenantScope,
    run_id: &str,
    actor: &Actor,
) -> Result<(), RunError> {
    let store = &state.store;
    let run = store.playbook_run(scope, run_id).await?;
    let record = store.playbook(scope, &run.playbook_id).await?;
    if record.version != run.playbook_version {
        store.set_run_status(scope, run_id, "failed").await?;
        return Err(RunError::Playbook(
            "the playbook changed since this run started".into(),
        ));
    }
    let pb = parse(&record)?;
    let mut context = run.context.clone();
    let host = PlatformHost {
        state: state.clone(),
        scope: scope.clone(),
        incident_id: run.incident_id.clone(),
        actor: actor.clone(),
    };
    let responder = &state.respond;
    for step in run
        .steps
        .iter()
        .filter(|s| matches!(s.status.as_str(), "pending" | "approved"))
    {
        if step.needs_approval && step.status == "pending" && !run.dry_run {
            let waiting = StepResult {
                status: "awaiting_approval".into(),
                detail: "等待审批 / waiting for approval".into(),
                output: Value::Null,
                started_at: None,
                finished_at: None,
            };
            store
                .record_step_result(scope, run_id, step.index, &waiting, &context, actor)
                .await?;
            store
                .set_run_status(scope, run_id, "awaiting_approval")
                .await?;
            return Ok(());
        }
        let options = RunOptions {
            dry_run: run.dry_run,
            smtp_relay: responder.smtp_relay.clone(),
            smtp_from: responder.smtp_from.clone(),
            timeout: std::time::Duration::from_secs(30),
            approved_by: step.decided_by.clone(),
        };
        let outcome =
            yunshou_playbooks::run_step(&pb, step.index as usize, &context, &host, &options).await;
        yunshou_playbooks::with_step_output(&mut context, &outcome);
        let status = match outcome.status {
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
        };
        let result = StepResult {
            status: status.into(),
            detail: outcome.detail.clone(),
            output: json!({"output": outcome.output, "rendered": outcome.rendered}),
            started_at: Some(yunshou_store::time_text(outcome.started_at)),
            finished_at: Some(yunshou_store::time_text(outcome.finished_at)),
        };
        store
            .record_step_result(scope, run_id, step.index, &result, &context, actor)
            .await?;
        if outcome.status == StepStatus::Failed {
            store.set_run_status(scope, run_id, "failed").await?;
            return Ok(());
        }
    }
    store.set_run_status(scope, run_id, "succeeded").await?;
    Ok(())
}

/// Approves (and carries on) or rejects the step a run waits on.
pub async fn decide(
    state: &AppState,
    scope: &TenantScope,
    run_id: &str,
    index: i64,
    approve: bool,
    actor: &Actor,
) -> Result<(), RunError> {
    state
        .store
        .decide_step(scope, run_id, index, approve, actor)
        .await?;
    if approve {
        proceed(state, scope, run_id, actor).await?;
    }
    Ok(())
}

/// Every 10 seconds: starts enabled playbooks whose trigger matches an alert raised or an
/// incident changed since the last round (each playbook once per subject).
pub async fn trigger_round(state: AppState) {
    let mut since = yunshou_store::now_text();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
    loop {
        tick.tick().await;
        let now = yunshou_store::now_text();
        match state.store.playbook_subjects_since(&since).await {
            Ok(subjects) => {
                // Each tenant's enabled playbooks are read and parsed once per round.
                let mut playbooks: std::collections::HashMap<
                    String,
                    Vec<(PlaybookRecord, Playbook)>,
                > = Default::default();
                for (tenant, kind, id) in subjects {
                    if !playbooks.contains_key(&tenant) {
                        match enabled_playbooks(&state, &tenant).await {
                            Ok(list) => {
                                playbooks.insert(tenant.clone(), list);
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, %tenant, "playbook trigger");
                                continue;
                            }
                        }
                    }
                    let list = &playbooks[&tenant];
                    if let Err(e) = trigger(&state, &tenant, list, &kind, &id).await {
                        tracing::warn!(error = %e, %kind, %id, "playbook trigger");
                    }
                }
                since = now;
            }
            Err(e) => tracing::warn!(error = %e, "playbook trigger round"),
        }
    }
}

/// A tenant's enabled playbooks that parse, with their parsed form.
async fn enabled_playbooks(
    state: &AppState,
    tenant: &str,
) -> Result<Vec<(PlaybookRecord, Playbook)>, RunError> {
    let scope = state.store.system_scope(tenant).await?;
    Ok(state
        .store
        .playbooks(&scope)
        .await?
        .into_iter()
        .filter(|p| p.enabled)
        .filter_map(|r| {
            let pb = yunshou_playbooks::parse(&r.yaml).ok()?;
            pb.enabled.then_some((r, pb))
        })
        .collect())
}

async fn trigger(
    state: &AppState,
    tenant: &str,
    playbooks: &[(PlaybookRecord, Playbook)],
    kind: &str,
    id: &str,
) -> Result<(), RunError> {
    let scope = state.store.system_scope(tenant).await?;
    let kind = if kind == "alert" {
        TriggerKind::Alert
    } else {
        TriggerKind::Incident
    };
    let (subject, _) = subject(state, &scope, kind, id).await?;
    for (record, pb) in playbooks {
        if !pb.matches(kind, &subject)
            || state.store.playbook_ran_for(&scope, &record.id, id).await?
        {
            continue;
        }
        match start(state, &scope, &record.id, kind, id, false, &Actor::system()).await {
            Ok(_) => {}
            // A plan that cannot be made (a secret not set, a value missing) is kept as a
            // failed run with its reason, so the analysts see it and it is not retried.
            Err(RunError::Playbook(reason)) => {
                let incident = match kind {
                    TriggerKind::Incident => Some(id.to_string()),
                    TriggerKind::Alert => state.store.incident_of_alert(&scope, id).await?,
                };
                let context = json!({ kind_name(kind): subject, "error": reason });
                let run = state
                    .store
                    .start_playbook_run(
                        &scope,
                        record,
                        kind_name(kind),
                        id,
                        incident.as_deref(),
                        false,
                        &context,
                        &[],
                        &Actor::system(),
                    )
                    .await?;
                state.store.set_run_status(&scope, &run, "failed").await?;
                tracing::warn!(%reason, playbook = %record.slug, "playbook could not be planned");
            }
            Err(e) => tracing::warn!(error = %e, playbook = %record.slug, "playbook did not start"),
        }
    }
    Ok(())
}
