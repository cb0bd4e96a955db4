//! What hangs off an incident: phase history, links (alerts, assets, findings, events),
//! observables, tasks from the plan, the timeline, reporting notices; and the durations the
//! response metrics are computed from.

use crate::db::Store;
use crate::error::{Error, Result};
use crate::incidents::{
    add_observable, clean_text, link, locked_incident, timeline, Incident, NewObservable,
};
use crate::response_plans::{items_of, ImprovementItem};
use crate::scope::TenantScope;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use yunshou_model::{ids, Actor};
use yunshou_respond::metrics::Durations;
use yunshou_respond::phases::Phase;

/// A phase the incident went through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PhaseEntry {
    /// Phase.
    pub phase: Phase,
    /// Entered.
    pub entered_at: String,
    /// By.
    pub entered_by: String,
    /// Left.
    pub left_at: Option<String>,
}

/// A linked record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IncidentLink {
    /// alert | asset | finding | event | work_order.
    pub kind: String,
    /// Its id.
    pub ref_id: String,
    /// What to show.
    pub label: String,
    /// Added.
    pub added_at: String,
    /// By.
    pub added_by: String,
}

/// An observable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Observable {
    /// Identifier.
    pub id: String,
    /// ip | domain | url | hash | account | email.
    pub kind: String,
    /// Value.
    pub value: String,
    /// Note.
    pub note: String,
    /// Added.
    pub added_at: String,
}

impl Observable {
    /// The event search that pivots on it (the search language's field:value).
    pub fn search_query(&self) -> String {
        let field = match self.kind.as_str() {
            "ip" => return format!("source.ip:{0} OR destination.ip:{0}", self.value),
            "domain" => "url.domain",
            "url" => "url.full",
            "hash" => "file.hash.sha256",
            "account" | "email" => "user.name",
            _ => "message",
        };
        format!("{field}:\"{}\"", self.value.replace('"', ""))
    }
}

/// A task from the plan (or added by hand).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IncidentTask {
    /// Identifier.
    pub id: String,
    /// Phase.
    pub phase: Phase,
    /// What to do.
    pub title: String,
    /// The plan's role for it.
    pub role: String,
    /// Who does it.
    pub owner: Option<String>,
    /// Done.
    pub done_at: Option<String>,
    /// By.
    pub done_by: Option<String>,
    /// From the emergency plan.
    pub from_plan: bool,
}

/// One timeline row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// created, update, phase, link, observable, task, evidence, playbook, notice, archived …
    pub kind: String,
    /// What.
    pub detail: String,
}

/// A report owed to the authorities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Notice {
    /// Identifier.
    pub id: String,
    /// To whom.
    pub recipient: String,
    /// Due.
    pub due_at: String,
    /// Reported.
    pub reported_at: Option<String>,
    /// By.
    pub reported_by: Option<String>,
    /// How (reference, channel).
    pub note: Option<String>,
    /// Not reported and past due.
    pub overdue: bool,
}

/// An incident with everything hanging off it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IncidentDetail {
    /// The incident.
    #[serde(flatten)]
    pub incident: Incident,
    /// Phases gone through.
    pub phases: Vec<PhaseEntry>,
    /// Linked records.
    pub links: Vec<IncidentLink>,
    /// Observables.
    pub observables: Vec<Observable>,
    /// Tasks.
    pub tasks: Vec<IncidentTask>,
    /// Timeline, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// Reports owed.
    pub notices: Vec<Notice>,
    /// Improvement items from the review.
    pub improvement_items: Vec<ImprovementItem>,
    /// What the current phase still needs before the next (or before archiving).
    pub missing: Vec<MissingRecord>,
    /// When the current phase should be done by the level's time target.
    pub phase_due_at: Option<String>,
}

/// A missing record, named for the console and the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MissingRecord {
    /// Stable name.
    pub name: &'static str,
    /// Chinese.
    pub zh: &'static str,
    /// English.
    pub en: &'static str,
}

/// A link to add.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    /// alert | asset | finding | event.
    pub kind: String,
    /// Its id (for an event: its id in the event store).
    pub ref_id: String,
    /// What to show (events: a summary).
    #[serde(default)]
    pub label: String,
}

fn phase_of(s: String) -> Result<Phase> {
    Phase::parse(&s).ok_or_else(|| Error::Corrupt(format!("phase `{s}`")))
}

impl Store {
    /// An incident with its phases, links, observables, tasks, timeline, notices and items.
    pub async fn incident_detail(&self, scope: &TenantScope, id: &str) -> Result<IncidentDetail> {
        let incident = self.incident(scope, id).await?;
        let t = scope.tenant_id();
        let phases = sqlx::query(
            "SELECT phase, entered_at, entered_by, left_at FROM incident_phases WHERE tenant_id = $1 AND incident_id = $2 ORDER BY entered_at",
        )
        .bind(t)
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok(PhaseEntry {
                phase: phase_of(r.try_get(0)?)?,
                entered_at: r.try_get(1)?,
                entered_by: r.try_get(2)?,
                left_at: r.try_get(3)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let links = sqlx::query(
            "SELECT kind, ref_id, label, added_at, added_by FROM incident_links WHERE tenant_id = $1 AND incident_id = $2 ORDER BY kind, added_at",
        )
        .bind(t)
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok(IncidentLink {
                kind: r.try_get(0)?,
                ref_id: r.try_get(1)?,
                label: r.try_get(2)?,
                added_at: r.try_get(3)?,
                added_by: r.try_get(4)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let observables = sqlx::query(
            "SELECT id, kind, value, note, added_at FROM incident_observables WHERE tenant_id = $1 AND incident_id = $2 ORDER BY kind, value",
        )
        .bind(t)
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok(Observable {
                id: r.try_get(0)?,
                kind: r.try_get(1)?,
                value: r.try_get(2)?,
                note: r.try_get(3)?,
                added_at: r.try_get(4)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let mut tasks = sqlx::query(
            "SELECT id, phase, title, role, owner, done_at, done_by, from_plan, position FROM incident_tasks WHERE tenant_id = $1 AND incident_id = $2",
        )
        .bind(t)
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok((
                IncidentTask {
                    id: r.try_get(0)?,
                    phase: phase_of(r.try_get(1)?)?,
                    title: r.try_get(2)?,
                    role: r.try_get(3)?,
                    owner: r.try_get(4)?,
                    done_at: r.try_get(5)?,
                    done_by: r.try_get(6)?,
                    from_plan: r.try_get::<i64, _>(7)? != 0,
                },
                r.try_get::<i64, _>(8)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
        tasks.sort_by_key(|(task, pos)| (task.phase, *pos));
        let timeline = sqlx::query(
            "SELECT at, actor, kind, detail FROM incident_timeline WHERE tenant_id = $1 AND incident_id = $2 ORDER BY at, id",
        )
        .bind(t)
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok(TimelineEntry {
                at: r.try_get(0)?,
                actor: r.try_get(1)?,
                kind: r.try_get(2)?,
                detail: r.try_get(3)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let now = crate::now_text();
        let notices = sqlx::query(
            "SELECT id, recipient, due_at, reported_at, reported_by, note FROM incident_notices WHERE tenant_id = $1 AND incident_id = $2 ORDER BY due_at",
        )
        .bind(t)
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            let due_at: String = r.try_get(2)?;
            let reported_at: Option<String> = r.try_get(3)?;
            Ok(Notice {
                id: r.try_get(0)?,
                recipient: r.try_get(1)?,
                overdue: reported_at.is_none() && due_at < now,
                due_at,
                reported_at,
                reported_by: r.try_get(4)?,
                note: r.try_get(5)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let improvement_items = items_of(&self.pool, t, "incident", id).await?;
        let open = improvement_items
            .iter()
            .filter(|i| i.status == "open")
            .count();
        let missing = if incident.status == crate::incidents::IncidentStatus::Open {
            yunshou_respond::phases::missing_to_leave(
                incident.phase,
                &crate::incidents::facts(&incident, (improvement_items.len(), open)),
            )
            .into_iter()
            .map(|m| MissingRecord {
                name: m.as_str(),
                zh: m.zh(),
                en: m.en(),
            })
            .collect()
        } else {
            Vec::new()
        };
        let phase_due_at = incident.level.and_then(|level| {
            let minutes = yunshou_respond::phases::phase_deadline(level, incident.phase)?;
            let detected = crate::parse_time(&incident.detected_at)?;
            Some(crate::time_text(
                detected + chrono::Duration::minutes(minutes),
            ))
        });
        Ok(IncidentDetail {
            incident,
            phases,
            links,
            observables,
            tasks: tasks.into_iter().map(|(t, _)| t).collect(),
            timeline,
            notices,
            improvement_items,
            missing,
            phase_due_at,
        })
    }

    /// Links an alert, asset, finding or event (checked to be the tenant's).
    pub async fn link_to_incident(
        &self,
        scope: &TenantScope,
        id: &str,
        new: &NewLink,
        actor: &Actor,
    ) -> Result<()> {
        let t = scope.tenant_id();
        let now = crate::now_text();
        let mut w = self.begin_write().await?;
        let inc = locked_incident(&mut w.tx, scope, id).await?;
        let label = match new.kind.as_str() {
            "alert" => {
                let a = crate::alerts::alert_in_tx(&mut w.tx, scope, &new.ref_id).await?;
                crate::alerts::acknowledge_for_incident(
                    &mut w.tx,
                    scope,
                    &a.id,
                    &inc.label,
                    &actor.name,
                    &now,
                )
                .await?;
                a.title
            }
            "asset" => crate::assets::asset_name_in_tx(&mut w.tx, scope, &new.ref_id).await?,
            "finding" => {
                crate::findings::finding_title_in_tx(&mut w.tx, scope, &new.ref_id).await?
            }
            "event" => {
                let l = clean_text("label", &new.label, 500)?;
                if new.ref_id.is_empty() || new.ref_id.len() > 200 {
                    return Err(Error::Invalid("ref_id: an event id".into()));
                }
                if l.is_empty() {
                    new.ref_id.clone()
                } else {
                    l
                }
            }
            _ => {
                return Err(Error::Invalid(
                    "kind: one of alert, asset, finding, event".into(),
                ))
            }
        };
        if !link(
            &mut w.tx,
            t,
            id,
            &new.kind,
            &new.ref_id,
            &label,
            &now,
            &actor.name,
        )
        .await?
        {
            return Err(Error::Conflict("already linked".into()));
        }
        timeline(
            &mut w.tx,
            t,
            id,
            &now,
            &actor.name,
            "link",
            &format!("{}: {label}", new.kind),
        )
        .await?;
        let mut entry = actor.entry(Some(t), "incident.link", "incident", Some(id));
        entry.after = Some(format!("{} {}", new.kind, new.ref_id).into());
        w.commit(entry).await?;
        Ok(())
    }

    /// Records observables.
    pub async fn add_observables(
        &self,
        scope: &TenantScope,
        id: &str,
        list: &[NewObservable],
        actor: &Actor,
    ) -> Result<()> {
        if list.is_empty() || list.len() > 1000 {
            return Err(Error::Invalid("observables: 1–1000".into()));
        }
        for o in list {
            crate::incidents::check_observable(&o.kind, &o.value)?;
        }
        let t = scope.tenant_id();
        let now = crate::now_text();
        let mut w = self.begin_write().await?;
        locked_incident(&mut w.tx, scope, id).await?;
        for o in list {
            add_observable(&mut w.tx, t, id, o, &now, &actor.name).await?;
        }
        let summary: Vec<String> = list
            .iter()
            .map(|o| format!("{} {}", o.kind, o.value))
            .collect();
        timeline(
            &mut w.tx,
            t,
            id,
            &now,
            &actor.name,
            "observable",
            &summary.join(", "),
        )
        .await?;
        w.commit(actor.entry(Some(t), "incident.observables", "incident", Some(id)))
            .await?;
        Ok(())
    }

    /// Adds a task by hand.
    pub async fn add_incident_task(
        &self,
        scope: &TenantScope,
        id: &str,
        phase: Phase,
        title: &str,
        owner: Option<&str>,
        actor: &Actor,
    ) -> Result<String> {
        let title = clean_text("title", title, 500)?;
        if title.is_empty() {
            return Err(Error::Invalid("title: required".into()));
        }
        let t = scope.tenant_id();
        let now = crate::now_text();
        let task_id = ids::new_id();
        let mut w = self.begin_write().await?;
        locked_incident(&mut w.tx, scope, id).await?;
        sqlx::query(
            "INSERT INTO incident_tasks (id, tenant_id, incident_id, phase, position, title, role, owner, done_at, done_by, from_plan) \
             VALUES ($1, $2, $3, $4, 1000000, $5, '', $6, NULL, NULL, 0)",
        )
        .bind(&task_id)
        .bind(t)
        .bind(id)
        .bind(phase.as_str())
        .bind(&title)
        .bind(owner)
        .execute(&mut *w.tx)
        .await?;
        timeline(&mut w.tx, t, id, &now, &actor.name, "task", &title).await?;
        w.commit(actor.entry(Some(t), "incident.task_add", "incident", Some(id)))
            .await?;
        Ok(task_id)
    }

    /// Marks a task done (or not done).
    pub async fn set_task_done(
        &self,
        scope: &TenantScope,
        id: &str,
        task_id: &str,
        done: bool,
        actor: &Actor,
    ) -> Result<()> {
        let t = scope.tenant_id();
        let now = crate::now_text();
        let mut w = self.begin_write().await?;
        locked_incident(&mut w.tx, scope, id).await?;
        let title: String = sqlx::query_scalar("SELECT title FROM incident_tasks WHERE tenant_id = $1 AND incident_id = $2 AND id = $3")
            .bind(t)
            .bind(id)
            .bind(task_id)
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or(Error::NotFound)?;
        sqlx::query(
            "UPDATE incident_tasks SET done_at = $1, done_by = $2 WHERE tenant_id = $3 AND id = $4",
        )
        .bind(done.then_some(now.clone()))
        .bind(done.then_some(actor.name.clone()))
        .bind(t)
        .bind(task_id)
        .execute(&mut *w.tx)
        .await?;
        let detail = format!("{} {title}", if done { "✓" } else { "↺" });
        timeline(&mut w.tx, t, id, &now, &actor.name, "task", &detail).await?;
        w.commit(actor.entry(Some(t), "incident.task", "incident", Some(id)))
            .await?;
        Ok(())
    }

    /// Records that a notice was reported to its recipient.
    pub async fn mark_notice_reported(
        &self,
        scope: &TenantScope,
        id: &str,
        notice_id: &str,
        note: &str,
        actor: &Actor,
    ) -> Result<()> {
        let note = clean_text("note", note, 2000)?;
        if note.is_empty() {
            return Err(Error::Invalid(
                "note: how and to whom it was reported".into(),
            ));
        }
        let t = scope.tenant_id();
        let now = crate::now_text();
        let mut w = self.begin_write().await?;
        locked_incident(&mut w.tx, scope, id).await?;
        let recipient: String = sqlx::query_scalar(
            "SELECT recipient FROM incident_notices WHERE tenant_id = $1 AND incident_id = $2 AND id = $3 AND reported_at IS NULL",
        )
        .bind(t)
        .bind(id)
        .bind(notice_id)
        .fetch_optional(&mut *w.tx)
        .await?
        .ok_or(Error::NotFound)?;
        sqlx::query("UPDATE incident_notices SET reported_at = $1, reported_by = $2, note = $3 WHERE id = $4")
            .bind(&now)
            .bind(&actor.name)
            .bind(&note)
            .bind(notice_id)
            .execute(&mut *w.tx)
            .await?;
        timeline(
            &mut w.tx,
            t,
            id,
            &now,
            &actor.name,
            "notice",
            &format!("{recipient}: {note}"),
        )
        .await?;
        w.commit(actor.entry(Some(t), "incident.notice", "incident", Some(id)))
            .await?;
        Ok(())
    }

    /// Unreported notices of open incidents, soonest due first (the dashboard's reminders).
    pub async fn pending_notices(
        &self,
        scope: &TenantScope,
    ) -> Result<Vec<(String, String, Notice)>> {
        let now = crate::now_text();
        sqlx::query(
            "SELECT n.id, n.recipient, n.due_at, i.id, i.number FROM incident_notices n JOIN incidents i ON i.id = n.incident_id \
             WHERE n.tenant_id = $1 AND n.reported_at IS NULL AND i.status = 'open' ORDER BY n.due_at LIMIT 100",
        )
        .bind(scope.tenant_id())
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            let due_at: String = r.try_get(2)?;
            let number: i64 = r.try_get(4)?;
            Ok((
                r.try_get(3)?,
                format!("INC-{number:06}"),
                Notice {
                    id: r.try_get(0)?,
                    recipient: r.try_get(1)?,
                    overdue: due_at < now,
                    due_at,
                    reported_at: None,
                    reported_by: None,
                    note: None,
                },
            ))
        })
        .collect()
    }

    /// Every incident's level, category and durations, for the response metrics.
    pub async fn incident_durations(
        &self,
        scope: &TenantScope,
    ) -> Result<Vec<(Option<String>, Option<String>, Durations)>> {
        let rows = sqlx::query(
            "SELECT i.id, i.level, i.category, i.occurred_at, i.detected_at, p.phase, p.entered_at, p.left_at \
             FROM incidents i LEFT JOIN incident_phases p ON p.incident_id = i.id WHERE i.tenant_id = $1 ORDER BY i.id",
        )
        .bind(scope.tenant_id())
        .fetch_all(&self.pool)
        .await?;
        let minutes = |from: &str, to: &str| -> Option<i64> {
            Some(
                (crate::parse_time(to)? - crate::parse_time(from)?)
                    .num_minutes()
                    .max(0),
            )
        };
        let mut out: Vec<(String, Option<String>, Option<String>, Durations)> = Vec::new();
        for r in rows {
            let id: String = r.try_get(0)?;
            let detected: String = r.try_get(4)?;
            if out.last().map(|o| &o.0) != Some(&id) {
                let occurred: Option<String> = r.try_get(3)?;
                let d = Durations {
                    detect: occurred.as_deref().and_then(|o| minutes(o, &detected)),
                    ..Default::default()
                };
                out.push((id.clone(), r.try_get(1)?, r.try_get(2)?, d));
            }
            let d = &mut out.last_mut().expect("pushed above").3;
            let phase: Option<String> = r.try_get(5)?;
            let entered: Option<String> = r.try_get(6)?;
            let left: Option<String> = r.try_get(7)?;
            match (phase.as_deref(), entered, left) {
                (Some("diagnosis"), Some(e), _) => d.acknowledge = minutes(&detected, &e),
                (Some("containment"), _, Some(l)) => d.contain = minutes(&detected, &l),
                (Some("recovery"), _, Some(l)) => d.recover = minutes(&detected, &l),
                _ => {}
            }
        }
        Ok(out.into_iter().map(|(_, l, c, d)| (l, c, d)).collect())
    }

    /// Open incidents per phase and level (the dashboard tile).
    pub async fn open_incident_counts(
        &self,
        scope: &TenantScope,
    ) -> Result<Vec<(String, Option<String>, i64)>> {
        sqlx::query(
            "SELECT phase, level, COUNT(*) FROM incidents WHERE tenant_id = $1 AND status = 'open' GROUP BY phase, level",
        )
        .bind(scope.tenant_id())
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
    }
}
