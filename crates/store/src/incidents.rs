//! Incidents (R.1, R.2): graded per GB/T 20986-2023 and moved through the seven phases by
//! [`yunshou_respond::phases::check_transition`]. Every change is one write transaction with
//! its timeline row and audit record; an archived incident is read-only (a trigger refuses
//! any update of it, and every write here checks first).

use crate::db::Store;
use crate::error::{Error, Result};
use crate::scope::TenantScope;
use crate::Page;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use yunshou_model::{ids, Actor};
use yunshou_respond::classification::{GradingInputs, Level, OperatorKind};
use yunshou_respond::phases::{self, Phase, PhaseRecords};

pub(crate) use crate::incident_rows::{
    action_item_counts, add_observable, attach_plan, check_classification, check_records,
    check_time, clean_text, clean_title, enter_phase, link, locked_incident, raise_notices, save,
    stamp_records, tenant_operator_kind, timeline, transition_error, Tx,
};
pub use crate::incident_rows::{check_observable, facts, missing_message};

/// Longest title.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description, note or record text.
pub const MAX_TEXT_CHARS: usize = 20_000;

/// Where an incident stands apart from its phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    /// Being handled.
    Open,
    /// Closed at diagnosis: no response was needed.
    Closed,
    /// Archived with its report and evidence: read-only.
    Archived,
}

impl IncidentStatus {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Closed => "closed",
            IncidentStatus::Archived => "archived",
        }
    }
    fn parse(s: &str) -> Result<IncidentStatus> {
        match s {
            "open" => Ok(IncidentStatus::Open),
            "closed" => Ok(IncidentStatus::Closed),
            "archived" => Ok(IncidentStatus::Archived),
            _ => Err(Error::Corrupt(format!("incident status `{s}`"))),
        }
    }
}

/// An incident.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Incident {
    /// Identifier.
    pub id: String,
    /// Number within the tenant.
    pub number: i64,
    /// `INC-000042`.
    pub label: String,
    /// Title.
    pub title: String,
    /// What is known.
    pub description: String,
    /// GB/T 20986-2023 class code (`NA`).
    pub category: Option<String>,
    /// Subclass (Chinese name, 其他, or empty).
    pub subcategory: String,
    /// Level I–IV.
    pub level: Option<Level>,
    /// The grading inputs.
    pub grading: Option<GradingInputs>,
    /// The level the inputs suggest.
    pub suggested_level: Option<Level>,
    /// An analyst confirmed the level.
    pub level_confirmed: bool,
    /// Current phase.
    pub phase: Phase,
    /// open | closed | archived.
    pub status: IncidentStatus,
    /// Who leads the response.
    pub owner: Option<String>,
    /// The emergency plan version attached.
    pub plan_id: Option<String>,
    /// The phases' records.
    pub records: PhaseRecords,
    /// alert | manual | api | playbook.
    pub source: String,
    /// When it began, when known.
    pub occurred_at: Option<String>,
    /// When it was detected.
    pub detected_at: String,
    /// Created.
    pub created_at: String,
    /// By.
    pub created_by: String,
    /// Last change.
    pub updated_at: String,
    /// Closed (not activated).
    pub closed_at: Option<String>,
    /// Archived.
    pub archived_at: Option<String>,
}

/// A new incident.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIncident {
    /// Title (defaults to the first alert's title).
    #[serde(default)]
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Class code.
    #[serde(default)]
    pub category: Option<String>,
    /// Subclass.
    #[serde(default)]
    pub subcategory: String,
    /// Grading inputs.
    #[serde(default)]
    pub grading: Option<GradingInputs>,
    /// Level (defaults to the one the inputs suggest).
    #[serde(default)]
    pub level: Option<Level>,
    /// Owner (user name).
    #[serde(default)]
    pub owner: Option<String>,
    /// When it began (RFC 3339; defaults to the alerts' first event).
    #[serde(default)]
    pub occurred_at: Option<String>,
    /// Alerts it is made from.
    #[serde(default)]
    pub alert_ids: Vec<String>,
    /// Assets affected.
    #[serde(default)]
    pub asset_ids: Vec<String>,
    /// Findings involved.
    #[serde(default)]
    pub finding_ids: Vec<String>,
    /// Observables.
    #[serde(default)]
    pub observables: Vec<NewObservable>,
}

/// An observable to record.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewObservable {
    /// ip | domain | url | hash | account | email.
    pub kind: String,
    /// The value.
    pub value: String,
    /// Why it matters.
    #[serde(default)]
    pub note: String,
}

/// A change to an incident: fields first, then (optionally) one phase forward or a status
/// change, checked against the changed record — all or nothing.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentPatch {
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Class code.
    pub category: Option<String>,
    /// Subclass.
    pub subcategory: Option<String>,
    /// Grading inputs.
    pub grading: Option<GradingInputs>,
    /// Level.
    pub level: Option<Level>,
    /// Confirm (or withdraw) the level.
    pub level_confirmed: Option<bool>,
    /// Owner.
    pub owner: Option<String>,
    /// When it began.
    pub occurred_at: Option<String>,
    /// Phase records to set (each key given replaces that record).
    #[schema(value_type = Object)]
    pub records: Option<serde_json::Map<String, serde_json::Value>>,
    /// Move to this phase (the next one only).
    pub phase: Option<Phase>,
    /// `closed` (only after a decision not to respond).
    pub status: Option<IncidentStatus>,
}

/// Filters for the incident list.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    /// open | closed | archived.
    pub status: Option<IncidentStatus>,
    /// Phase.
    pub phase: Option<Phase>,
    /// Level.
    pub level: Option<Level>,
    /// Class code.
    pub category: Option<String>,
    /// Text in the title.
    pub text: Option<String>,
}

pub(crate) const INCIDENT_COLUMNS: &str = "id, number, title, description, category, subcategory, level, grading, \
     level_confirmed, phase, status, owner, plan_id, records, source, occurred_at, detected_at, created_at, created_by, \
     updated_at, closed_at, archived_at";

pub(crate) fn incident_from_row(r: &AnyRow) -> Result<Incident> {
    let number: i64 = r.try_get(1)?;
    let level: Option<String> = r.try_get(6)?;
    let grading: Option<String> = r.try_get(7)?;
    let grading: Option<GradingInputs> = grading
        .map(|g| serde_json::from_str(&g))
        .transpose()
        .map_err(|e| Error::Corrupt(format!("incident grading: {e}")))?;
    let phase: String = r.try_get(9)?;
    let status: String = r.try_get(10)?;
    let records: String = r.try_get(13)?;
    Ok(Incident {
        id: r.try_get(0)?,
        number,
        label: format!("INC-{number:06}"),
        title: r.try_get(2)?,
        description: r.try_get(3)?,
        category: r.try_get(4)?,
        subcategory: r.try_get(5)?,
        level: level
            .map(|l| Level::parse(&l).ok_or_else(|| Error::Corrupt(format!("level `{l}`"))))
            .transpose()?,
        suggested_level: grading.map(|g| g.suggested_level()),
        grading,
        level_confirmed: r.try_get::<i64, _>(8)? != 0,
        phase: Phase::parse(&phase).ok_or_else(|| Error::Corrupt(format!("phase `{phase}`")))?,
        status: IncidentStatus::parse(&status)?,
        owner: r.try_get(11)?,
        plan_id: r.try_get(12)?,
        records: serde_json::from_str(&records)
            .map_err(|e| Error::Corrupt(format!("incident records: {e}")))?,
        source: r.try_get(14)?,
        occurred_at: r.try_get(15)?,
        detected_at: r.try_get(16)?,
        created_at: r.try_get(17)?,
        created_by: r.try_get(18)?,
        updated_at: r.try_get(19)?,
        closed_at: r.try_get(20)?,
        archived_at: r.try_get(21)?,
    })
}

impl Store {
    /// Creates an incident — by hand, through the API, or from one or many alerts (which are
    /// linked, with their assets and addresses as observables, and acknowledged).
    pub async fn create_incident(
        &self,
        scope: &TenantScope,
        new: &NewIncident,
        source: &str,
        actor: &Actor,
    ) -> Result<Incident> {
        let tenant = scope.tenant_id();
        let description = clean_text("description", &new.description, MAX_TEXT_CHARS)?;
        check_classification(new.category.as_deref(), new.subcategory.trim())?;
        let occurred_at = new
            .occurred_at
            .as_deref()
            .map(|t| check_time("occurred_at", t))
            .transpose()?;
        if new.alert_ids.len() > 500 || new.asset_ids.len() > 500 || new.observables.len() > 1000 {
            return Err(Error::Invalid(
                "at most 500 alerts, 500 assets and 1000 observables".into(),
            ));
        }
        for o in &new.observables {
            check_observable(&o.kind, &o.value)?;
        }
        let owner = new
            .owner
            .as_deref()
            .map(|o| clean_text("owner", o, 200))
            .transpose()?
            .filter(|o| !o.is_empty());
        let now = crate::now_text();
        let mut w = self.begin_write().await?;
        // Alerts first: they give the title and the first event time when none were typed.
        let mut alerts = Vec::new();
        for id in &new.alert_ids {
            alerts.push(crate::alerts::alert_in_tx(&mut w.tx, scope, id).await?);
        }
        let title = if new.title.trim().is_empty() {
            match alerts.first() {
                Some(a) if alerts.len() == 1 => a.title.clone(),
                Some(a) => format!("{}（及另外 {} 条告警）", a.title, alerts.len() - 1),
                None => return Err(Error::Invalid("title: required".into())),
            }
        } else {
            clean_title(&new.title)?
        };
        let occurred_at = occurred_at.or_else(|| alerts.iter().map(|a| a.first_seen.clone()).min());
        let number: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(number), 0) + 1 FROM incidents WHERE tenant_id = $1",
        )
        .bind(tenant)
        .fetch_one(&mut *w.tx)
        .await?;
        let level = new.level.or(new.grading.map(|g| g.suggested_level()));
        let mut inc = Incident {
            id: ids::new_id(),
            number,
            label: format!("INC-{number:06}"),
            title,
            description,
            category: new.category.clone(),
            subcategory: new.subcategory.trim().to_string(),
            level,
            grading: new.grading,
            suggested_level: new.grading.map(|g| g.suggested_level()),
            level_confirmed: false,
            phase: Phase::Preparation,
            status: IncidentStatus::Open,
            owner,
            plan_id: None,
            records: PhaseRecords::default(),
            source: source.to_string(),
            occurred_at,
            detected_at: now.clone(),
            created_at: now.clone(),
            created_by: actor.name.clone(),
            updated_at: now.clone(),
            closed_at: None,
            archived_at: None,
        };
        sqlx::query(&format!(
            "INSERT INTO incidents (tenant_id, {INCIDENT_COLUMNS}) VALUES ({})",
            (1..=23)
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .bind(tenant)
        .bind(&inc.id)
        .bind(number)
        .bind(&inc.title)
        .bind(&inc.description)
        .bind(&inc.category)
        .bind(&inc.subcategory)
        .bind(inc.level.map(Level::as_str))
        .bind(
            inc.grading
                .map(|g| serde_json::to_string(&g).expect("grading serialises")),
        )
        .bind(0i64)
        .bind(inc.phase.as_str())
        .bind(inc.status.as_str())
        .bind(&inc.owner)
        .bind(None::<String>)
        .bind("{}")
        .bind(source)
        .bind(&inc.occurred_at)
        .bind(&inc.detected_at)
        .bind(&now)
        .bind(&actor.name)
        .bind(&now)
        .bind(None::<String>)
        .bind(None::<String>)
        .execute(&mut *w.tx)
        .await?;
        enter_phase(
            &mut w.tx,
            tenant,
            &inc.id,
            Phase::Preparation,
            &now,
            &actor.name,
        )
        .await?;
        timeline(
            &mut w.tx,
            tenant,
            &inc.id,
            &now,
            &actor.name,
            "created",
            &inc.title,
        )
        .await?;
        for a in &alerts {
            link(
                &mut w.tx,
                tenant,
                &inc.id,
                "alert",
                &a.id,
                &a.title,
                &now,
                &actor.name,
            )
            .await?;
            for asset in &a.entities.assets {
                link(
                    &mut w.tx,
                    tenant,
                    &inc.id,
                    "asset",
                    &asset.id,
                    &asset.name,
                    &now,
                    &actor.name,
                )
                .await?;
            }
            let observed = [
                ("ip", a.entities.source_ip.as_deref()),
                ("ip", a.entities.destination_ip.as_deref()),
                ("account", a.entities.user.as_deref()),
            ];
            for (kind, value) in observed {
                if let Some(v) = value.filter(|v| check_observable(kind, v).is_ok()) {
                    let o = NewObservable {
                        kind: kind.into(),
                        value: v.into(),
                        note: a.title.clone(),
                    };
                    add_observable(&mut w.tx, tenant, &inc.id, &o, &now, &actor.name).await?;
                }
            }
            crate::alerts::acknowledge_for_incident(
                &mut w.tx,
                scope,
                &a.id,
                &inc.label,
                &actor.name,
                &now,
            )
            .await?;
        }
        for id in &new.asset_ids {
            let name = crate::assets::asset_name_in_tx(&mut w.tx, scope, id).await?;
            link(
                &mut w.tx,
                tenant,
                &inc.id,
                "asset",
                id,
                &name,
                &now,
                &actor.name,
            )
            .await?;
        }
        for id in &new.finding_ids {
            let title = crate::findings::finding_title_in_tx(&mut w.tx, scope, id).await?;
            link(
                &mut w.tx,
                tenant,
                &inc.id,
                "finding",
                id,
                &title,
                &now,
                &actor.name,
            )
            .await?;
        }
        for o in &new.observables {
            add_observable(&mut w.tx, tenant, &inc.id, o, &now, &actor.name).await?;
        }
        attach_plan(&mut w.tx, tenant, &mut inc, &now, &actor.name).await?;
        save(&mut w.tx, tenant, &inc).await?;
        let mut entry = actor.entry(Some(tenant), "incident.create", "incident", Some(&inc.id));
        entry.after = Some(
            serde_json::json!({"label": inc.label, "title": inc.title, "alerts": new.alert_ids, "source": source}),
        );
        w.commit(entry).await?;
        Ok(inc)
    }

    /// One incident.
    pub async fn incident(&self, scope: &TenantScope, id: &str) -> Result<Incident> {
        let r = sqlx::query(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        incident_from_row(&r)
    }

    /// Incidents, newest first, with the total matching.
    pub async fn incidents(
        &self,
        scope: &TenantScope,
        filter: &IncidentFilter,
        page: Page,
    ) -> Result<(Vec<Incident>, i64)> {
        let mut c = crate::clauses::Clauses::new("tenant_id", scope.tenant_id());
        if let Some(s) = filter.status {
            c.literal(format!("status = '{}'", s.as_str()));
        }
        if let Some(p) = filter.phase {
            c.literal(format!("phase = '{}'", p.as_str()));
        }
        if let Some(l) = filter.level {
            c.literal(format!("level = '{}'", l.as_str()));
        }
        if let Some(cat) = &filter.category {
            c.bind("category = ?", cat.clone());
        }
        if let Some(t) = filter.text.as_deref().filter(|t| !t.trim().is_empty()) {
            let p = format!("%{}%", crate::alerts::like_escape(&t.trim().to_lowercase()));
            c.bind(
                "(LOWER(title) LIKE ? ESCAPE '\\' OR LOWER(description) LIKE ? ESCAPE '\\')",
                p,
            );
        }
        let wh = c.sql();
        let total: i64 = c
            .query(&format!("SELECT COUNT(*) FROM incidents WHERE {wh}"))
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE {wh} ORDER BY number DESC LIMIT {} OFFSET {}",
            page.limit, page.offset
        );
        let rows = c.query(&sql).fetch_all(&self.pool).await?;
        Ok((
            rows.iter().map(incident_from_row).collect::<Result<_>>()?,
            total,
        ))
    }

    /// Applies a patch: field changes, then a phase move or status change checked against
    /// the changed incident. Refused whole: 400 bad field, 409 phase skipped or incident
    /// finished, 422 required records missing.
    pub async fn update_incident(
        &self,
        scope: &TenantScope,
        id: &str,
        patch: &IncidentPatch,
        actor: &Actor,
    ) -> Result<Incident> {
        let tenant = scope.tenant_id();
        let now = crate::now_text();
        let mut w = self.begin_write().await?;
        let mut inc = locked_incident(&mut w.tx, scope, id).await?;
        let before = serde_json::to_value(&inc).expect("incident serialises");
        if inc.status == IncidentStatus::Closed {
            return Err(Error::Conflict(
                "the incident is closed (no response was needed); archive it".into(),
            ));
        }
        let mut changed = Vec::new();
        if let Some(t) = &patch.title {
            inc.title = clean_title(t)?;
            changed.push("title");
        }
        if let Some(d) = &patch.description {
            inc.description = clean_text("description", d, MAX_TEXT_CHARS)?;
            changed.push("description");
        }
        if patch.category.is_some() || patch.subcategory.is_some() {
            let category = patch.category.clone().or(inc.category.clone());
            let sub = patch
                .subcategory
                .as_deref()
                .map(str::trim)
                .unwrap_or(if patch.category.is_some() {
                    ""
                } else {
                    &inc.subcategory
                })
                .to_string();
            check_classification(category.as_deref(), &sub)?;
            inc.category = category;
            inc.subcategory = sub;
            changed.push("classification");
        }
        if let Some(g) = patch.grading {
            inc.grading = Some(g);
            inc.suggested_level = Some(g.suggested_level());
            if patch.level.is_none() {
                inc.level = Some(g.suggested_level());
            }
            inc.level_confirmed = false;
            changed.push("grading");
        }
        if let Some(l) = patch.level {
            if inc.level != Some(l) {
                inc.level_confirmed = false;
            }
            inc.level = Some(l);
            changed.push("level");
        }
        if let Some(c) = patch.level_confirmed {
            if c && inc.level.is_none() {
                return Err(Error::Invalid(
                    "level_confirmed: set the level (or the grading inputs) first".into(),
                ));
            }
            inc.level_confirmed = c;
            changed.push("level_confirmed");
        }
        if let Some(o) = &patch.owner {
            let o = clean_text("owner", o, 200)?;
            inc.owner = (!o.is_empty()).then_some(o);
            changed.push("owner");
        }
        if let Some(t) = &patch.occurred_at {
            inc.occurred_at = Some(check_time("occurred_at", t)?);
            changed.push("occurred_at");
        }
        if let Some(map) = &patch.records {
            let mut merged = serde_json::to_value(&inc.records).expect("records serialise");
            let obj = merged.as_object_mut().expect("records are an object");
            for (k, v) in map {
                obj.insert(k.clone(), v.clone());
            }
            let mut records: PhaseRecords = serde_path_to_error::deserialize(merged)
                .map_err(|e| Error::Invalid(format!("records.{}: {}", e.path(), e.inner())))?;
            stamp_records(&mut records, &actor.name, &now);
            check_records(&records)?;
            inc.records = records;
            changed.push("records");
        }
        attach_plan(&mut w.tx, tenant, &mut inc, &now, &actor.name).await?;
        let mut moved = None;
        if let Some(to) = patch
            .phase
            .filter(|p| *p != inc.phase || patch.status.is_none())
        {
            let items = action_item_counts(&mut w.tx, &inc.id).await?;
            phases::check_transition(inc.phase, to, &facts(&inc, items))
                .map_err(transition_error)?;
            moved = Some((inc.phase, to));
            inc.phase = to;
            enter_phase(&mut w.tx, tenant, &inc.id, to, &now, &actor.name).await?;
        }
        match patch.status {
            None | Some(IncidentStatus::Open) => {}
            Some(IncidentStatus::Closed) => {
                let declined = inc
                    .records
                    .activation
                    .as_ref()
                    .is_some_and(|a| a.decision == phases::ActivationDecision::NoResponse);
                if inc.phase != Phase::Diagnosis || !declined {
                    return Err(Error::Unprocessable(
                        "status closed: only at diagnosis, after recording the decision not to respond (records.activation.decision = no_response)".into(),
                    ));
                }
                inc.status = IncidentStatus::Closed;
                inc.closed_at = Some(now.clone());
                changed.push("closed");
            }
            Some(IncidentStatus::Archived) => {
                return Err(Error::Invalid(
                    "status archived: use the archive action, which freezes the report".into(),
                ));
            }
        }
        if changed.is_empty() && moved.is_none() {
            return Err(Error::Invalid("nothing to change".into()));
        }
        inc.updated_at = now.clone();
        raise_notices(&mut w.tx, tenant, &inc).await?;
        save(&mut w.tx, tenant, &inc).await?;
        if !changed.is_empty() {
            timeline(
                &mut w.tx,
                tenant,
                &inc.id,
                &now,
                &actor.name,
                "update",
                &changed.join(", "),
            )
            .await?;
        }
        if let Some((from, to)) = moved {
            let detail = format!("{} → {}", from.zh(), to.zh());
            timeline(
                &mut w.tx,
                tenant,
                &inc.id,
                &now,
                &actor.name,
                "phase",
                &detail,
            )
            .await?;
        }
        let mut entry = actor.entry(Some(tenant), "incident.update", "incident", Some(&inc.id));
        entry.before = Some(before);
        entry.after = Some(serde_json::to_value(&inc).expect("incident serialises"));
        w.commit(entry).await?;
        Ok(inc)
    }

    /// Archives an incident with its report (every format given, digests kept): afterwards
    /// it is read-only. Needs the optimisation phase's records (or a closed incident).
    pub async fn archive_incident(
        &self,
        scope: &TenantScope,
        id: &str,
        reports: &[(&str, Vec<u8>)],
        actor: &Actor,
    ) -> Result<Incident> {
        let tenant = scope.tenant_id();
        let now = crate::now_text();
        let mut w = self.begin_write().await?;
        let mut inc = locked_incident(&mut w.tx, scope, id).await?;
        if inc.status == IncidentStatus::Open {
            if inc.phase != Phase::Optimization {
                return Err(Error::Conflict(format!(
                    "archive: the incident is in the {} phase; archive after optimization",
                    inc.phase.as_str()
                )));
            }
            let items = action_item_counts(&mut w.tx, &inc.id).await?;
            let missing = phases::missing_to_leave(Phase::Optimization, &facts(&inc, items));
            if !missing.is_empty() {
                return Err(Error::Unprocessable(missing_message(
                    Phase::Optimization,
                    &missing,
                )));
            }
        }
        for (format, bytes) in reports {
            sqlx::query(
                "INSERT INTO incident_reports (incident_id, tenant_id, format, content, sha256, sm3, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&inc.id)
            .bind(tenant)
            .bind(*format)
            .bind(bytes.clone())
            .bind(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes)))
            .bind(crate::crypto::sm3_hex(bytes))
            .bind(&now)
            .execute(&mut *w.tx)
            .await?;
        }
        sqlx::query(
            "UPDATE incident_phases SET left_at = $1 WHERE incident_id = $2 AND left_at IS NULL",
        )
        .bind(&now)
        .bind(&inc.id)
        .execute(&mut *w.tx)
        .await?;
        timeline(
            &mut w.tx,
            tenant,
            &inc.id,
            &now,
            &actor.name,
            "archived",
            "",
        )
        .await?;
        crate::evidence_vault::append_custody(
            &mut w.tx,
            tenant,
            &inc.id,
            &now,
            &actor.name,
            "archive",
            None,
            "incident archived with its report",
        )
        .await?;
        inc.status = IncidentStatus::Archived;
        inc.archived_at = Some(now.clone());
        inc.updated_at = now;
        save(&mut w.tx, tenant, &inc).await?;
        let entry = actor.entry(Some(tenant), "incident.archive", "incident", Some(&inc.id));
        w.commit(entry).await?;
        Ok(inc)
    }

    /// A report frozen at archiving: (bytes, sha256, sm3).
    pub async fn archived_report(
        &self,
        scope: &TenantScope,
        id: &str,
        format: &str,
    ) -> Result<(Vec<u8>, String, String)> {
        let r = sqlx::query(
            "SELECT content, sha256, sm3 FROM incident_reports WHERE tenant_id = $1 AND incident_id = $2 AND format = $3",
        )
        .bind(scope.tenant_id())
        .bind(id)
        .bind(format)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
    }

    /// Who the tenant is for reporting duties.
    pub async fn operator_kind(&self, scope: &TenantScope) -> Result<OperatorKind> {
        let mut tx = self.pool.begin().await?;
        let k = tenant_operator_kind(&mut tx, scope.tenant_id()).await?;
        tx.commit().await?;
        Ok(k)
    }

    /// Sets who the tenant is for reporting duties.
    pub async fn set_operator_kind(
        &self,
        scope: &TenantScope,
        kind: OperatorKind,
        actor: &Actor,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO response_settings (tenant_id, operator_kind, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id) DO UPDATE SET operator_kind = excluded.operator_kind, updated_at = excluded.updated_at",
        )
        .bind(scope.tenant_id())
        .bind(kind.as_str())
        .bind(crate::now_text())
        .execute(&mut *w.tx)
        .await?;
        let mut entry = actor.entry(Some(scope.tenant_id()), "response.settings", "tenant", None);
        entry.after = Some(kind.as_str().into());
        w.commit(entry).await?;
        Ok(())
    }
}
