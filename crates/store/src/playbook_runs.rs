//! Playbooks (their YAML, versioned) and their runs: each step's status, approval decision
//! and outcome, every one audited. The server parses and carries out the steps; this module
//! keeps what happened.

use crate::db::Store;
use crate::error::{Error, Result};
use crate::incidents::timeline;
use crate::scope::TenantScope;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use yunshou_model::{ids, Actor};

/// A stored playbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlaybookRecord {
    /// Identifier.
    pub id: String,
    /// The playbook's own id (from its YAML).
    pub slug: String,
    /// Name.
    pub name: String,
    /// The YAML.
    pub yaml: String,
    /// Runs on its triggers.
    pub enabled: bool,
    /// Version, from 1.
    pub version: i64,
    /// Saved.
    pub updated_at: String,
    /// By.
    pub updated_by: String,
}

/// A run of a playbook.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PlaybookRun {
    /// Identifier.
    pub id: String,
    /// The playbook.
    pub playbook_id: String,
    /// Its name.
    pub playbook_name: String,
    /// The version run.
    pub playbook_version: i64,
    /// alert | incident.
    pub trigger_kind: String,
    /// The alert or incident.
    pub trigger_id: String,
    /// The incident it belongs to, if any.
    pub incident_id: Option<String>,
    /// Describe only.
    pub dry_run: bool,
    /// running | awaiting_approval | succeeded | failed | rejected.
    pub status: String,
    /// The trigger and each finished step's output.
    #[schema(value_type = Object)]
    pub context: serde_json::Value,
    /// Started.
    pub started_at: String,
    /// By (a user, or `yunshou` for a trigger).
    pub started_by: String,
    /// Finished.
    pub finished_at: Option<String>,
    /// Steps.
    pub steps: Vec<RunStep>,
}

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RunStep {
    /// Position.
    pub index: i64,
    /// The step's id.
    pub step_id: String,
    /// enrich | notify | block_ip | disable_account | create_work_order.
    pub action: String,
    /// Disruptive: waits for an approval.
    pub needs_approval: bool,
    /// pending | awaiting_approval | approved | rejected | succeeded | failed | skipped.
    pub status: String,
    /// What it does (secrets redacted).
    pub summary: String,
    /// Who approved or rejected it.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<String>,
    /// What happened.
    pub detail: String,
    /// Its output.
    #[schema(value_type = Object)]
    pub output: serde_json::Value,
    /// Started.
    pub started_at: Option<String>,
    /// Finished.
    pub finished_at: Option<String>,
}

/// A step as planned when a run starts.
#[derive(Debug, Clone)]
pub struct PlannedRunStep {
    /// The step's id.
    pub step_id: String,
    /// Its action.
    pub action: String,
    /// Needs an approval.
    pub needs_approval: bool,
    /// What it does (redacted).
    pub summary: String,
}

/// A step's result to record.
#[derive(Debug, Clone)]
pub struct StepResult {
    /// succeeded | failed | skipped | awaiting_approval.
    pub status: String,
    /// What happened.
    pub detail: String,
    /// Output.
    pub output: serde_json::Value,
    /// Started.
    pub started_at: Option<String>,
    /// Finished.
    pub finished_at: Option<String>,
}

const PLAYBOOK_COLUMNS: &str = "id, slug, name, yaml, enabled, version, updated_at, updated_by";

fn playbook_from_row(r: &AnyRow) -> Result<PlaybookRecord> {
    Ok(PlaybookRecord {
        id: r.try_get(0)?,
        slug: r.try_get(1)?,
        name: r.try_get(2)?,
        yaml: r.try_get(3)?,
        enabled: r.try_get::<i64, _>(4)? != 0,
        version: r.try_get(5)?,
        updated_at: r.try_get(6)?,
        updated_by: r.try_get(7)?,
    })
}

const RUN_COLUMNS: &str = "r.id, r.playbook_id, p.name, r.playbook_version, r.trigger_kind, r.trigger_id, r.incident_id, r.dry_run, r.status, r.context, r.started_at, r.started_by, r.finished_at";

fn json_of(s: String) -> Result<serde_json::Value> {
    serde_json::from_str(&s).map_err(|e| Error::Corrupt(format!("playbook run json: {e}")))
}

fn run_from_row(r: &AnyRow) -> Result<PlaybookRun> {
    Ok(PlaybookRun {
        id: r.try_get(0)?,
        playbook_id: r.try_get(1)?,
        playbook_name: r.try_get(2)?,
        playbook_version: r.try_get(3)?,
        trigger_kind: r.try_get(4)?,
        trigger_id: r.try_get(5)?,
        incident_id: r.try_get(6)?,
        dry_run: r.try_get::<i64, _>(7)? != 0,
        status: r.try_get(8)?,
        context: json_of(r.try_get(9)?)?,
        started_at: r.try_get(10)?,
        started_by: r.try_get(11)?,
        finished_at: r.try_get(12)?,
        steps: Vec::new(),
    })
}

impl Store {
    /// Saves a playbook (new, or the next version of the one with the same slug). The YAML
    /// has been parsed and checked by the caller.
    pub async fn save_playbook(
        &self,
        scope: &TenantScope,
        slug: &str,
        name: &str,
        yaml: &str,
        enabled: bool,
        actor: &Actor,
    ) -> Result<PlaybookRecord> {
        if yaml.len() > 256 * 1024 {
            return Err(Error::Invalid("yaml: at most 256 KiB".into()));
        }
        let t = scope.tenant_id();
        let now = crate::now_text();
        let mut w = self.begin_write().await?;
        let existing: Option<(String, i64)> =
            sqlx::query("SELECT id, version FROM playbooks WHERE tenant_id = $1 AND slug = $2")
                .bind(t)
                .bind(slug)
                .fetch_optional(&mut *w.tx)
                .await?
                .map(|r| Ok::<_, Error>((r.try_get(0)?, r.try_get(1)?)))
                .transpose()?;
        let id = match existing {
            Some((id, version)) => {
                sqlx::query("UPDATE playbooks SET name = $1, yaml = $2, enabled = $3, version = $4, updated_at = $5, updated_by = $6 WHERE id = $7")
                    .bind(name)
                    .bind(yaml)
                    .bind(enabled as i64)
                    .bind(version + 1)
                    .bind(&now)
                    .bind(&actor.name)
                    .bind(&id)
                    .execute(&mut *w.tx)
                    .await?;
                id
            }
            None => {
                let id = ids::new_id();
                sqlx::query(&format!("INSERT INTO playbooks (tenant_id, {PLAYBOOK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8)"))
                    .bind(t)
                    .bind(&id)
                    .bind(slug)
                    .bind(name)
                    .bind(yaml)
                    .bind(enabled as i64)
                    .bind(&now)
                    .bind(&actor.name)
                    .execute(&mut *w.tx)
                    .await?;
                id
            }
        };
        let mut entry = actor.entry(Some(t), "playbook.save", "playbook", Some(&id));
        entry.after = Some(yaml.into());
        w.commit(entry).await?;
        self.playbook(scope, &id).await
    }

    /// Switches a playbook on or off.
    pub async fn set_playbook_enabled(
        &self,
        scope: &TenantScope,
        id: &str,
        enabled: bool,
        actor: &Actor,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        let done =
            sqlx::query("UPDATE playbooks SET enabled = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(enabled as i64)
                .bind(scope.tenant_id())
                .bind(id)
                .execute(&mut *w.tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        let action = if enabled {
            "playbook.enable"
        } else {
            "playbook.disable"
        };
        w.commit(actor.entry(Some(scope.tenant_id()), action, "playbook", Some(id)))
            .await?;
        Ok(())
    }

    /// The tenant's playbooks.
    pub async fn playbooks(&self, scope: &TenantScope) -> Result<Vec<PlaybookRecord>> {
        sqlx::query(&format!(
            "SELECT {PLAYBOOK_COLUMNS} FROM playbooks WHERE tenant_id = $1 ORDER BY name"
        ))
        .bind(scope.tenant_id())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(playbook_from_row)
        .collect()
    }

    /// One playbook.
    pub async fn playbook(&self, scope: &TenantScope, id: &str) -> Result<PlaybookRecord> {
        let r = sqlx::query(&format!(
            "SELECT {PLAYBOOK_COLUMNS} FROM playbooks WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        playbook_from_row(&r)
    }

    /// Records a run and its planned steps (all pending).
    #[allow(clippy::too_many_arguments)]
    pub async fn start_playbook_run(
        &self,
        scope: &TenantScope,
        playbook: &PlaybookRecord,
        trigger_kind: &str,
        trigger_id: &str,
        incident_id: Option<&str>,
        dry_run: bool,
        context: &serde_json::Value,
        steps: &[PlannedRunStep],
        actor: &Actor,
    ) -> Result<String> {
        let t = scope.tenant_id();
        let now = crate::now_text();
        let id = ids::new_id();
        let mut w = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO playbook_runs (id, tenant_id, playbook_id, playbook_version, trigger_kind, trigger_id, incident_id, dry_run, status, context, started_at, started_by, finished_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'running', $9, $10, $11, NULL)",
        )
        .bind(&id)
        .bind(t)
        .bind(&playbook.id)
        .bind(playbook.version)
        .bind(trigger_kind)
        .bind(trigger_id)
        .bind(incident_id)
        .bind(dry_run as i64)
        .bind(context.to_string())
        .bind(&now)
        .bind(&actor.name)
        .execute(&mut *w.tx)
        .await?;
        for (i, s) in steps.iter().enumerate() {
            sqlx::query(
                "INSERT INTO playbook_steps (run_id, tenant_id, step_index, step_id, action, needs_approval, status, summary, decided_by, decided_at, detail, output, started_at, finished_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, NULL, NULL, '', 'null', NULL, NULL)",
            )
            .bind(&id)
            .bind(t)
            .bind(i as i64)
            .bind(&s.step_id)
            .bind(&s.action)
            .bind(s.needs_approval as i64)
            .bind(&s.summary)
            .execute(&mut *w.tx)
            .await?;
        }
        if let Some(inc) = incident_id {
            let mode = if dry_run { "dry-run" } else { "run" };
            timeline(
                &mut w.tx,
                t,
                inc,
                &now,
                &actor.name,
                "playbook",
                &format!("{} ({mode})", playbook.name),
            )
            .await?;
        }
        let mut entry = actor.entry(Some(t), "playbook.run", "playbook_run", Some(&id));
        entry.after = Some(
            serde_json::json!({"playbook": playbook.slug, "version": playbook.version, "trigger": trigger_kind, "trigger_id": trigger_id, "dry_run": dry_run}),
        );
        w.commit(entry).await?;
        Ok(id)
    }

    /// Records a step's result (and the run's context with its output), audited.
    pub async fn record_step_result(
        &self,
        scope: &TenantScope,
        run_id: &str,
        index: i64,
        result: &StepResult,
        context: &serde_json::Value,
        actor: &Actor,
    ) -> Result<()> {
        let t = scope.tenant_id();
        let mut w = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE playbook_steps SET status = $1, detail = $2, output = $3, started_at = COALESCE($4, started_at), finished_at = $5 \
             WHERE tenant_id = $6 AND run_id = $7 AND step_index = $8",
        )
        .bind(&result.status)
        .bind(&result.detail)
        .bind(result.output.to_string())
        .bind(&result.started_at)
        .bind(&result.finished_at)
        .bind(t)
        .bind(run_id)
        .bind(index)
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        sqlx::query("UPDATE playbook_runs SET context = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(context.to_string())
            .bind(t)
            .bind(run_id)
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(Some(t), "playbook.step", "playbook_run", Some(run_id));
        entry.after = Some(format!("#{index} {}: {}", result.status, result.detail).into());
        entry.outcome = Some(if result.status == "failed" {
            yunshou_model::Outcome::Failure
        } else {
            yunshou_model::Outcome::Success
        });
        w.commit(entry).await?;
        Ok(())
    }

    /// Sets a run's status (finishing it unless it waits for an approval).
    pub async fn set_run_status(
        &self,
        scope: &TenantScope,
        run_id: &str,
        status: &str,
    ) -> Result<()> {
        let finished = (!matches!(status, "running" | "awaiting_approval")).then(crate::now_text);
        if status == "failed" {
            // What a failed run never reached is skipped, not left pending.
            sqlx::query(
                "UPDATE playbook_steps SET status = 'skipped' WHERE tenant_id = $1 AND run_id = $2 AND status = 'pending'",
            )
            .bind(scope.tenant_id())
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        }
        sqlx::query("UPDATE playbook_runs SET status = $1, finished_at = $2 WHERE tenant_id = $3 AND id = $4")
            .bind(status)
            .bind(finished)
            .bind(scope.tenant_id())
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Approves or rejects the step a run waits on. Nobody approves a run they started.
    pub async fn decide_step(
        &self,
        scope: &TenantScope,
        run_id: &str,
        index: i64,
        approve: bool,
        actor: &Actor,
    ) -> Result<()> {
        let run = self.playbook_run(scope, run_id).await?;
        let step = run
            .steps
            .iter()
            .find(|s| s.index == index)
            .ok_or(Error::NotFound)?;
        if run.status != "awaiting_approval" || step.status != "awaiting_approval" {
            return Err(Error::Conflict(
                "the step is not waiting for an approval".into(),
            ));
        }
        if run.started_by == actor.name {
            return Err(Error::Conflict(
                "someone other than the person who started the run must decide".into(),
            ));
        }
        let t = scope.tenant_id();
        let now = crate::now_text();
        let status = if approve { "approved" } else { "rejected" };
        let mut w = self.begin_write().await?;
        sqlx::query("UPDATE playbook_steps SET status = $1, decided_by = $2, decided_at = $3 WHERE tenant_id = $4 AND run_id = $5 AND step_index = $6")
            .bind(status)
            .bind(&actor.name)
            .bind(&now)
            .bind(t)
            .bind(run_id)
            .bind(index)
            .execute(&mut *w.tx)
            .await?;
        if !approve {
            sqlx::query("UPDATE playbook_steps SET status = 'skipped' WHERE run_id = $1 AND step_index > $2")
                .bind(run_id)
                .bind(index)
                .execute(&mut *w.tx)
                .await?;
            sqlx::query(
                "UPDATE playbook_runs SET status = 'rejected', finished_at = $1 WHERE id = $2",
            )
            .bind(&now)
            .bind(run_id)
            .execute(&mut *w.tx)
            .await?;
        } else {
            sqlx::query("UPDATE playbook_runs SET status = 'running' WHERE id = $1")
                .bind(run_id)
                .execute(&mut *w.tx)
                .await?;
        }
        if let Some(inc) = &run.incident_id {
            timeline(
                &mut w.tx,
                t,
                inc,
                &now,
                &actor.name,
                "playbook",
                &format!("{} #{index} {}: {status}", run.playbook_name, step.step_id),
            )
            .await?;
        }
        let mut entry = actor.entry(
            Some(t),
            &format!("playbook.{}", if approve { "approve" } else { "reject" }),
            "playbook_run",
            Some(run_id),
        );
        entry.after = Some(format!("#{index} {} {}", step.step_id, step.summary).into());
        w.commit(entry).await?;
        Ok(())
    }

    /// One run with its steps.
    pub async fn playbook_run(&self, scope: &TenantScope, id: &str) -> Result<PlaybookRun> {
        let r = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM playbook_runs r JOIN playbooks p ON p.id = r.playbook_id WHERE r.tenant_id = $1 AND r.id = $2"
        ))
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        let mut run = run_from_row(&r)?;
        run.steps = sqlx::query(
            "SELECT step_index, step_id, action, needs_approval, status, summary, decided_by, decided_at, detail, output, started_at, finished_at \
             FROM playbook_steps WHERE tenant_id = $1 AND run_id = $2 ORDER BY step_index",
        )
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok(RunStep {
                index: r.try_get(0)?,
                step_id: r.try_get(1)?,
                action: r.try_get(2)?,
                needs_approval: r.try_get::<i64, _>(3)? != 0,
                status: r.try_get(4)?,
                summary: r.try_get(5)?,
                decided_by: r.try_get(6)?,
                decided_at: r.try_get(7)?,
                detail: r.try_get(8)?,
                output: json_of(r.try_get(9)?)?,
                started_at: r.try_get(10)?,
                finished_at: r.try_get(11)?,
            })
        })
        .collect::<Result<_>>()?;
        Ok(run)
    }

    /// Recent runs (of an incident, or all), newest first, without their steps.
    pub async fn playbook_runs(
        &self,
        scope: &TenantScope,
        incident_id: Option<&str>,
    ) -> Result<Vec<PlaybookRun>> {
        let filter = if incident_id.is_some() {
            "AND r.incident_id = $2"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM playbook_runs r JOIN playbooks p ON p.id = r.playbook_id WHERE r.tenant_id = $1 {filter} ORDER BY r.started_at DESC LIMIT 200"
        );
        let mut q = sqlx::query(&sql).bind(scope.tenant_id());
        if let Some(i) = incident_id {
            q = q.bind(i);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(run_from_row)
            .collect()
    }

    /// Whether a playbook already ran for this trigger (a trigger runs a playbook once).
    pub async fn playbook_ran_for(
        &self,
        scope: &TenantScope,
        playbook_id: &str,
        trigger_id: &str,
    ) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM playbook_runs WHERE tenant_id = $1 AND playbook_id = $2 AND trigger_id = $3 AND dry_run = 0")
            .bind(scope.tenant_id())
            .bind(playbook_id)
            .bind(trigger_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }
}

/// Something that may trigger playbooks: (tenant id, `alert` or `incident`, its id).
pub type TriggerSubject = (String, String, String);

impl Store {
    /// Alerts raised and incidents changed after `since` in tenants that have an enabled
    /// playbook, oldest first: what the platform's trigger round looks at. The playbooks
    /// themselves run in each tenant's own scope.
    pub async fn playbook_subjects_since(&self, since: &str) -> Result<Vec<TriggerSubject>> {
        let rows = sqlx::query(
            "SELECT tenant_id, 'alert', id, created_at FROM alerts WHERE created_at > $1 \
               AND tenant_id IN (SELECT tenant_id FROM playbooks WHERE enabled = 1) \
             UNION ALL \
             SELECT tenant_id, 'incident', id, updated_at FROM incidents WHERE updated_at > $1 AND status = 'open' \
               AND tenant_id IN (SELECT tenant_id FROM playbooks WHERE enabled = 1) \
             ORDER BY 4 LIMIT 1000",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    /// The scope of a tenant by id, for the platform's own rounds (escalation, playbook
    /// triggers) acting inside one tenant.
    pub async fn system_scope(&self, tenant_id: &str) -> Result<TenantScope> {
        let found: Option<String> = sqlx::query_scalar("SELECT id FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_optional(&self.pool)
            .await?;
        found.map(|id| TenantScope::new(&id)).ok_or(Error::NotFound)
    }

    /// The open incident an alert was taken into, if any.
    pub async fn incident_of_alert(
        &self,
        scope: &TenantScope,
        alert_id: &str,
    ) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT l.incident_id FROM incident_links l JOIN incidents i ON i.id = l.incident_id \
             WHERE l.tenant_id = $1 AND l.kind = 'alert' AND l.ref_id = $2 AND i.status = 'open' ORDER BY l.added_at DESC LIMIT 1",
        )
        .bind(scope.tenant_id())
        .bind(alert_id)
        .fetch_optional(&self.pool)
        .await?)
    }
}
