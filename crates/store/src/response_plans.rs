//! Emergency plans and drills (R.1.a) and the improvement items that reviews and drills
//! raise, tracked to closure. A plan version never changes: editing saves the next version.

use crate::db::Store;
use crate::error::{Error, Result};
use crate::incidents::{clean_text, Tx};
use crate::scope::TenantScope;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use yunshou_model::{ids, Actor};
use yunshou_respond::plans::{self, PlanContent};

/// One version of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ResponsePlan {
    /// Identifier (of this version).
    pub id: String,
    /// Incident class code.
    pub category: String,
    /// Name.
    pub name: String,
    /// Version, from 1.
    pub version: i64,
    /// Roles, contacts, steps, reporting chain.
    pub content: PlanContent,
    /// What changed in this version.
    pub note: String,
    /// Saved.
    pub created_at: String,
    /// By.
    pub created_by: String,
}

/// A plan to save (as the class's next version).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlanVersion {
    /// Incident class code.
    pub category: String,
    /// Name.
    pub name: String,
    /// Content.
    pub content: PlanContent,
    /// What changed.
    #[serde(default)]
    pub note: String,
}

const PLAN_COLUMNS: &str = "id, category, name, version, content, note, created_at, created_by";

fn plan_from_row(r: &AnyRow) -> Result<ResponsePlan> {
    let content: String = r.try_get(4)?;
    Ok(ResponsePlan {
        id: r.try_get(0)?,
        category: r.try_get(1)?,
        name: r.try_get(2)?,
        version: r.try_get(3)?,
        content: serde_json::from_str(&content)
            .map_err(|e| Error::Corrupt(format!("plan content: {e}")))?,
        note: r.try_get(5)?,
        created_at: r.try_get(6)?,
        created_by: r.try_get(7)?,
    })
}

/// The latest version of the class's plan.
pub(crate) async fn current_plan(
    tx: &mut Tx,
    tenant: &str,
    category: &str,
) -> Result<Option<ResponsePlan>> {
    sqlx::query(&format!(
        "SELECT {PLAN_COLUMNS} FROM response_plans WHERE tenant_id = $1 AND category = $2 ORDER BY version DESC LIMIT 1"
    ))
    .bind(tenant)
    .bind(category)
    .fetch_optional(&mut **tx)
    .await?
    .map(|r| plan_from_row(&r))
    .transpose()
}

/// A drill of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Drill {
    /// Identifier.
    pub id: String,
    /// The plan version drilled.
    pub plan_id: String,
    /// Title.
    pub title: String,
    /// Scenario.
    pub scenario: String,
    /// Date planned (YYYY-MM-DD).
    pub scheduled_for: String,
    /// scheduled | done | cancelled.
    pub status: String,
    /// Who took part.
    pub participants: String,
    /// Steps with their durations.
    pub steps: Vec<DrillStep>,
    /// What the drill showed.
    pub findings: String,
    /// When it was held.
    pub held_at: Option<String>,
    /// Created.
    pub created_at: String,
    /// By.
    pub created_by: String,
}

/// One step of a drill with how long it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrillStep {
    /// What was done.
    pub title: String,
    /// Minutes it took.
    pub minutes: u32,
}

/// A drill to schedule, or the record of one held.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrillInput {
    /// The plan version drilled.
    pub plan_id: String,
    /// Title.
    pub title: String,
    /// Scenario.
    #[serde(default)]
    pub scenario: String,
    /// Date (YYYY-MM-DD).
    pub scheduled_for: String,
    /// Participants.
    #[serde(default)]
    pub participants: String,
}

/// The record of a drill held.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrillRecord {
    /// Steps with durations.
    pub steps: Vec<DrillStep>,
    /// What it showed.
    pub findings: String,
    /// Participants.
    #[serde(default)]
    pub participants: Option<String>,
}

const DRILL_COLUMNS: &str = "id, plan_id, title, scenario, scheduled_for, status, participants, steps, findings, held_at, created_at, created_by";

fn drill_from_row(r: &AnyRow) -> Result<Drill> {
    let steps: String = r.try_get(7)?;
    Ok(Drill {
        id: r.try_get(0)?,
        plan_id: r.try_get(1)?,
        title: r.try_get(2)?,
        scenario: r.try_get(3)?,
        scheduled_for: r.try_get(4)?,
        status: r.try_get(5)?,
        participants: r.try_get(6)?,
        steps: serde_json::from_str(&steps)
            .map_err(|e| Error::Corrupt(format!("drill steps: {e}")))?,
        findings: r.try_get(8)?,
        held_at: r.try_get(9)?,
        created_at: r.try_get(10)?,
        created_by: r.try_get(11)?,
    })
}

/// An improvement action from a review or a drill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImprovementItem {
    /// Identifier.
    pub id: String,
    /// incident | drill.
    pub source_kind: String,
    /// The incident or drill.
    pub source_id: String,
    /// What to improve.
    pub title: String,
    /// rule | baseline | plan | process | other.
    pub kind: String,
    /// What was changed: a rule id, a baseline, a plan version, a document.
    pub link: String,
    /// Who does it.
    pub owner: Option<String>,
    /// Due (YYYY-MM-DD).
    pub due_date: Option<String>,
    /// open | closed.
    pub status: String,
    /// How it was closed.
    pub resolution: Option<String>,
    /// Raised.
    pub created_at: String,
    /// Closed.
    pub closed_at: Option<String>,
    /// By.
    pub closed_by: Option<String>,
}

/// An improvement item to raise.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewImprovementItem {
    /// What to improve.
    pub title: String,
    /// rule | baseline | plan | process | other.
    pub kind: String,
    /// What will be changed (may be filled in at closing).
    #[serde(default)]
    pub link: String,
    /// Owner.
    #[serde(default)]
    pub owner: Option<String>,
    /// Due (YYYY-MM-DD).
    #[serde(default)]
    pub due_date: Option<String>,
}

const ITEM_COLUMNS: &str = "id, source_kind, source_id, title, kind, link, owner, due_date, status, resolution, created_at, closed_at, closed_by";

fn item_from_row(r: &AnyRow) -> Result<ImprovementItem> {
    Ok(ImprovementItem {
        id: r.try_get(0)?,
        source_kind: r.try_get(1)?,
        source_id: r.try_get(2)?,
        title: r.try_get(3)?,
        kind: r.try_get(4)?,
        link: r.try_get(5)?,
        owner: r.try_get(6)?,
        due_date: r.try_get(7)?,
        status: r.try_get(8)?,
        resolution: r.try_get(9)?,
        created_at: r.try_get(10)?,
        closed_at: r.try_get(11)?,
        closed_by: r.try_get(12)?,
    })
}

fn check_date(field: &str, s: &str) -> Result<String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map(|d| d.to_string())
        .map_err(|_| Error::Invalid(format!("{field}: a date YYYY-MM-DD")))
}

pub(crate) async fn items_of(
    pool: &sqlx::AnyPool,
    tenant: &str,
    source_kind: &str,
    source_id: &str,
) -> Result<Vec<ImprovementItem>> {
    sqlx::query(&format!(
        "SELECT {ITEM_COLUMNS} FROM improvement_items WHERE tenant_id = $1 AND source_kind = $2 AND source_id = $3 ORDER BY created_at, id"
    ))
    .bind(tenant)
    .bind(source_kind)
    .bind(source_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(item_from_row)
    .collect()
}

impl Store {
    /// Saves a plan as its class's next version.
    pub async fn save_plan(
        &self,
        scope: &TenantScope,
        new: &NewPlanVersion,
        actor: &Actor,
    ) -> Result<ResponsePlan> {
        let problems = plans::validate(&new.category, &new.content);
        if !problems.is_empty() {
            return Err(Error::Invalid(problems.join("; ")));
        }
        let name = clean_text("name", &new.name, 200)?;
        if name.is_empty() {
            return Err(Error::Invalid("name: required".into()));
        }
        let note = clean_text("note", &new.note, 2000)?;
        let tenant = scope.tenant_id();
        let mut w = self.begin_write().await?;
        let version: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM response_plans WHERE tenant_id = $1 AND category = $2",
        )
        .bind(tenant)
        .bind(&new.category)
        .fetch_one(&mut *w.tx)
        .await?;
        let plan = ResponsePlan {
            id: ids::new_id(),
            category: new.category.clone(),
            name,
            version,
            content: new.content.clone(),
            note,
            created_at: crate::now_text(),
            created_by: actor.name.clone(),
        };
        sqlx::query(&format!(
            "INSERT INTO response_plans (tenant_id, {PLAN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(tenant)
        .bind(&plan.id)
        .bind(&plan.category)
        .bind(&plan.name)
        .bind(plan.version)
        .bind(serde_json::to_string(&plan.content).expect("plan serialises"))
        .bind(&plan.note)
        .bind(&plan.created_at)
        .bind(&plan.created_by)
        .execute(&mut *w.tx)
        .await?;
        let mut entry = actor.entry(Some(tenant), "plan.save", "response_plan", Some(&plan.id));
        entry.after = Some(format!("{} {} v{}", plan.category, plan.name, plan.version).into());
        w.commit(entry).await?;
        Ok(plan)
    }

    /// The latest version of every class's plan.
    pub async fn current_plans(&self, scope: &TenantScope) -> Result<Vec<ResponsePlan>> {
        sqlx::query(&format!(
            "SELECT {PLAN_COLUMNS} FROM response_plans p WHERE tenant_id = $1 AND version = \
             (SELECT MAX(version) FROM response_plans q WHERE q.tenant_id = p.tenant_id AND q.category = p.category) \
             ORDER BY category"
        ))
        .bind(scope.tenant_id())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(plan_from_row)
        .collect()
    }

    /// One plan version.
    pub async fn plan(&self, scope: &TenantScope, id: &str) -> Result<ResponsePlan> {
        let r = sqlx::query(&format!(
            "SELECT {PLAN_COLUMNS} FROM response_plans WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        plan_from_row(&r)
    }

    /// Every version of a class's plan, newest first.
    pub async fn plan_versions(
        &self,
        scope: &TenantScope,
        category: &str,
    ) -> Result<Vec<ResponsePlan>> {
        sqlx::query(&format!(
            "SELECT {PLAN_COLUMNS} FROM response_plans WHERE tenant_id = $1 AND category = $2 ORDER BY version DESC"
        ))
        .bind(scope.tenant_id())
        .bind(category)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(plan_from_row)
        .collect()
    }

    /// Schedules a drill.
    pub async fn schedule_drill(
        &self,
        scope: &TenantScope,
        input: &DrillInput,
        actor: &Actor,
    ) -> Result<Drill> {
        let tenant = scope.tenant_id();
        let title = clean_text("title", &input.title, 200)?;
        if title.is_empty() {
            return Err(Error::Invalid("title: required".into()));
        }
        let scheduled_for = check_date("scheduled_for", &input.scheduled_for)?;
        let scenario = clean_text("scenario", &input.scenario, 5000)?;
        let participants = clean_text("participants", &input.participants, 2000)?;
        self.plan(scope, &input.plan_id)
            .await
            .map_err(|_| Error::Invalid("plan_id: no such plan".into()))?;
        let now = crate::now_text();
        let id = ids::new_id();
        let mut w = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO drills (id, tenant_id, plan_id, title, scenario, scheduled_for, status, participants, steps, findings, held_at, created_at, created_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'scheduled', $7, '[]', '', NULL, $8, $9, $8)",
        )
        .bind(&id)
        .bind(tenant)
        .bind(&input.plan_id)
        .bind(&title)
        .bind(&scenario)
        .bind(&scheduled_for)
        .bind(&participants)
        .bind(&now)
        .bind(&actor.name)
        .execute(&mut *w.tx)
        .await?;
        w.commit(actor.entry(Some(tenant), "drill.schedule", "drill", Some(&id)))
            .await?;
        self.drill(scope, &id).await
    }

    /// Records a drill as held: its steps with durations and what it showed.
    pub async fn record_drill(
        &self,
        scope: &TenantScope,
        id: &str,
        rec: &DrillRecord,
        actor: &Actor,
    ) -> Result<Drill> {
        if rec.steps.is_empty() || rec.steps.len() > 200 {
            return Err(Error::Invalid("steps: 1–200 steps".into()));
        }
        for (i, s) in rec.steps.iter().enumerate() {
            if clean_text("steps", &s.title, 500)?.is_empty() {
                return Err(Error::Invalid(format!("steps[{i}].title: required")));
            }
        }
        let findings = clean_text("findings", &rec.findings, 20_000)?;
        let drill = self.drill(scope, id).await?;
        if drill.status != "scheduled" {
            return Err(Error::Conflict(format!(
                "the drill is already {}",
                drill.status
            )));
        }
        let participants = match &rec.participants {
            Some(p) => clean_text("participants", p, 2000)?,
            None => drill.participants.clone(),
        };
        let now = crate::now_text();
        let mut w = self.begin_write().await?;
        sqlx::query(
            "UPDATE drills SET status = 'done', steps = $1, findings = $2, participants = $3, held_at = $4, updated_at = $4 \
             WHERE tenant_id = $5 AND id = $6 AND status = 'scheduled'",
        )
        .bind(serde_json::to_string(&rec.steps).expect("steps serialise"))
        .bind(&findings)
        .bind(&participants)
        .bind(&now)
        .bind(scope.tenant_id())
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
        w.commit(actor.entry(Some(scope.tenant_id()), "drill.record", "drill", Some(id)))
            .await?;
        self.drill(scope, id).await
    }

    /// One drill.
    pub async fn drill(&self, scope: &TenantScope, id: &str) -> Result<Drill> {
        let r = sqlx::query(&format!(
            "SELECT {DRILL_COLUMNS} FROM drills WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        drill_from_row(&r)
    }

    /// Drills, latest date first.
    pub async fn drills(&self, scope: &TenantScope) -> Result<Vec<Drill>> {
        sqlx::query(&format!(
            "SELECT {DRILL_COLUMNS} FROM drills WHERE tenant_id = $1 ORDER BY scheduled_for DESC, created_at DESC LIMIT 500"
        ))
        .bind(scope.tenant_id())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(drill_from_row)
        .collect()
    }

    /// Raises an improvement item for an incident or a drill.
    pub async fn add_improvement_item(
        &self,
        scope: &TenantScope,
        source_kind: &str,
        source_id: &str,
        new: &NewImprovementItem,
        actor: &Actor,
    ) -> Result<ImprovementItem> {
        let tenant = scope.tenant_id();
        let title = clean_text("title", &new.title, 500)?;
        if title.is_empty() {
            return Err(Error::Invalid("title: required".into()));
        }
        if !["rule", "baseline", "plan", "process", "other"].contains(&new.kind.as_str()) {
            return Err(Error::Invalid(
                "kind: one of rule, baseline, plan, process, other".into(),
            ));
        }
        let link = clean_text("link", &new.link, 500)?;
        let owner = new
            .owner
            .as_deref()
            .map(|o| clean_text("owner", o, 200))
            .transpose()?;
        let due = new
            .due_date
            .as_deref()
            .filter(|d| !d.is_empty())
            .map(|d| check_date("due_date", d))
            .transpose()?;
        let now = crate::now_text();
        let mut w = self.begin_write().await?;
        match source_kind {
            "incident" => {
                crate::incidents::locked_incident(&mut w.tx, scope, source_id).await?;
                crate::incidents::timeline(
                    &mut w.tx,
                    tenant,
                    source_id,
                    &now,
                    &actor.name,
                    "improvement",
                    &title,
                )
                .await?;
            }
            "drill" => {
                sqlx::query_scalar::<_, String>(
                    "SELECT id FROM drills WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant)
                .bind(source_id)
                .fetch_optional(&mut *w.tx)
                .await?
                .ok_or(Error::NotFound)?;
            }
            _ => return Err(Error::Invalid("source: incident or drill".into())),
        }
        let id = ids::new_id();
        sqlx::query(
            "INSERT INTO improvement_items (id, tenant_id, source_kind, source_id, title, kind, link, owner, due_date, status, resolution, created_at, created_by, closed_at, closed_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', NULL, $10, $11, NULL, NULL)",
        )
        .bind(&id)
        .bind(tenant)
        .bind(source_kind)
        .bind(source_id)
        .bind(&title)
        .bind(&new.kind)
        .bind(&link)
        .bind(&owner)
        .bind(&due)
        .bind(&now)
        .bind(&actor.name)
        .execute(&mut *w.tx)
        .await?;
        w.commit(actor.entry(
            Some(tenant),
            "improvement.add",
            "improvement_item",
            Some(&id),
        ))
        .await?;
        self.improvement_item(scope, &id).await
    }

    /// Closes an improvement item, naming what was changed (rule, baseline, plan version…).
    pub async fn close_improvement_item(
        &self,
        scope: &TenantScope,
        id: &str,
        link: &str,
        resolution: &str,
        actor: &Actor,
    ) -> Result<ImprovementItem> {
        let link = clean_text("link", link, 500)?;
        let resolution = clean_text("resolution", resolution, 5000)?;
        if link.is_empty() || resolution.is_empty() {
            return Err(Error::Invalid(
                "link and resolution: say what was changed and how".into(),
            ));
        }
        let item = self.improvement_item(scope, id).await?;
        if item.status != "open" {
            return Err(Error::Conflict("the item is already closed".into()));
        }
        let now = crate::now_text();
        let mut w = self.begin_write().await?;
        if item.source_kind == "incident" {
            crate::incidents::locked_incident(&mut w.tx, scope, &item.source_id).await?;
            crate::incidents::timeline(
                &mut w.tx,
                scope.tenant_id(),
                &item.source_id,
                &now,
                &actor.name,
                "improvement_closed",
                &format!("{} → {link}", item.title),
            )
            .await?;
        }
        sqlx::query(
            "UPDATE improvement_items SET status = 'closed', link = $1, resolution = $2, closed_at = $3, closed_by = $4 \
             WHERE tenant_id = $5 AND id = $6",
        )
        .bind(&link)
        .bind(&resolution)
        .bind(&now)
        .bind(&actor.name)
        .bind(scope.tenant_id())
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
        w.commit(actor.entry(
            Some(scope.tenant_id()),
            "improvement.close",
            "improvement_item",
            Some(id),
        ))
        .await?;
        self.improvement_item(scope, id).await
    }

    /// One improvement item.
    pub async fn improvement_item(&self, scope: &TenantScope, id: &str) -> Result<ImprovementItem> {
        let r = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM improvement_items WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        item_from_row(&r)
    }

    /// Improvement items of an incident or a drill.
    pub async fn improvement_items(
        &self,
        scope: &TenantScope,
        source_kind: &str,
        source_id: &str,
    ) -> Result<Vec<ImprovementItem>> {
        items_of(&self.pool, scope.tenant_id(), source_kind, source_id).await
    }

    /// Every open improvement item of the tenant.
    pub async fn open_improvement_items(
        &self,
        scope: &TenantScope,
    ) -> Result<Vec<ImprovementItem>> {
        sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM improvement_items WHERE tenant_id = $1 AND status = 'open' ORDER BY due_date, created_at"
        ))
        .bind(scope.tenant_id())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(item_from_row)
        .collect()
    }
}
