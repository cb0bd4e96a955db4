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
use yunshou_respond::classification::{self, GradingInputs, Level, OperatorKind};
use yunshou_respond::phases::{self, IncidentFacts, Phase, PhaseRecords, TransitionError};

pub(crate) type Tx = sqlx::Transaction<'static, sqlx::Any>;

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

fn incident_from_row(r: &AnyRow) -> Result<Incident> {
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

pub(crate) fn clean_text(field: &str, s: &str, max: usize) -> Result<String> {
    let s = s.trim();
    if s.chars().count() > max {
        return Err(Error::Invalid(format!("{field}: at most {max} characters")));
    }
    if s.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(Error::Invalid(format!("{field}: control characters")));
    }
    Ok(s.to_string())
}

fn clean_title(s: &str) -> Result<String> {
    let t = clean_text("title", s, MAX_TITLE_CHARS)?;
    if t.is_empty() {
        return Err(Error::Invalid("title: required".into()));
    }
    Ok(t)
}

fn check_time(field: &str, s: &str) -> Result<String> {
    crate::parse_time(s)
        .map(crate::time_text)
        .ok_or_else(|| Error::Invalid(format!("{field}: not an RFC 3339 time")))
}

fn check_classification(category: Option<&str>, subcategory: &str) -> Result<()> {
    match category {
        Some(c) => classification::validate(c, subcategory)
            .map(|_| ())
            .map_err(|e| Error::Invalid(format!("category: {e}"))),
        None if subcategory.is_empty() => Ok(()),
        None => Err(Error::Invalid(
            "subcategory: give the category with it".into(),
        )),
    }
}

/// Validates an observable and returns it normalised.
pub fn check_observable(kind: &str, value: &str) -> Result<String> {
    let v = value.trim();
    let bad = |why: &str| Err(Error::Invalid(format!("observables: {kind} {v:?}: {why}")));
    if v.is_empty() || v.chars().count() > 2048 || v.chars().any(char::is_control) {
        return bad("1–2048 printable characters");
    }
    match kind {
        "ip" => match v.parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(ip.to_string()),
            Err(_) => bad("not an IP address"),
        },
        "domain" => {
            let d = v.trim_end_matches('.').to_ascii_lowercase();
            if d.contains('.')
                && d.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                })
            {
                Ok(d)
            } else {
                bad("not a domain name")
            }
        }
        "url" if v.starts_with("http://") || v.starts_with("https://") => Ok(v.to_string()),
        "url" => bad("an http(s) URL"),
        "hash"
            if matches!(v.len(), 32 | 40 | 64 | 128)
                && v.chars().all(|c| c.is_ascii_hexdigit()) =>
        {
            Ok(v.to_ascii_lowercase())
        }
        "hash" => bad("an MD5, SHA-1, SHA-256/SM3 or SHA-512 digest in hex"),
        "email" if v.contains('@') => Ok(v.to_string()),
        "email" => bad("not an address"),
        "account" => Ok(v.to_string()),
        _ => Err(Error::Invalid(format!(
            "observables: kind {kind:?} is not one of ip, domain, url, hash, account, email"
        ))),
    }
}

pub(crate) async fn timeline(
    tx: &mut Tx,
    tenant: &str,
    incident: &str,
    at: &str,
    actor: &str,
    kind: &str,
    detail: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO incident_timeline (id, tenant_id, incident_id, at, actor, kind, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(ids::new_id())
    .bind(tenant)
    .bind(incident)
    .bind(at)
    .bind(actor)
    .bind(kind)
    .bind(detail)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Reads an incident inside a write transaction, refusing an archived one.
pub(crate) async fn locked_incident(
    tx: &mut Tx,
    scope: &TenantScope,
    id: &str,
) -> Result<Incident> {
    let r = sqlx::query(&format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(scope.tenant_id())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound)?;
    let inc = incident_from_row(&r)?;
    if inc.status == IncidentStatus::Archived {
        return Err(Error::Conflict(
            "the incident is archived and read-only".into(),
        ));
    }
    Ok(inc)
}

/// Adds a link unless it is there already.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn link(
    tx: &mut Tx,
    tenant: &str,
    incident: &str,
    kind: &str,
    ref_id: &str,
    label: &str,
    at: &str,
    by: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO incident_links (tenant_id, incident_id, kind, ref_id, label, added_at, added_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (incident_id, kind, ref_id) DO NOTHING",
    )
    .bind(tenant)
    .bind(incident)
    .bind(kind)
    .bind(ref_id)
    .bind(label)
    .bind(at)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn add_observable(
    tx: &mut Tx,
    tenant: &str,
    incident: &str,
    o: &NewObservable,
    at: &str,
    by: &str,
) -> Result<()> {
    let value = check_observable(&o.kind, &o.value)?;
    let note = clean_text("note", &o.note, 2000)?;
    sqlx::query(
        "INSERT INTO incident_observables (id, tenant_id, incident_id, kind, value, note, added_at, added_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (incident_id, kind, value) DO NOTHING",
    )
    .bind(ids::new_id())
    .bind(tenant)
    .bind(incident)
    .bind(&o.kind)
    .bind(value)
    .bind(note)
    .bind(at)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn tenant_operator_kind(tx: &mut Tx, tenant: &str) -> Result<OperatorKind> {
    let kind: Option<String> =
        sqlx::query_scalar("SELECT operator_kind FROM response_settings WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(kind
        .as_deref()
        .and_then(OperatorKind::parse)
        .unwrap_or(OperatorKind::Other))
}

/// Attaches the category's current plan (and its steps as tasks) when none is attached yet.
async fn attach_plan(
    tx: &mut Tx,
    tenant: &str,
    inc: &mut Incident,
    at: &str,
    by: &str,
) -> Result<()> {
    let Some(category) = inc.category.as_deref() else {
        return Ok(());
    };
    if inc.plan_id.is_some() {
        return Ok(());
    }
    let Some(plan) = crate::response_plans::current_plan(tx, tenant, category).await? else {
        return Ok(());
    };
    for (i, step) in plan.content.steps.iter().enumerate() {
        sqlx::query(
            "INSERT INTO incident_tasks (id, tenant_id, incident_id, phase, position, title, role, owner, done_at, done_by, from_plan) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, NULL, 1)",
        )
        .bind(ids::new_id())
        .bind(tenant)
        .bind(&inc.id)
        .bind(step.phase.as_str())
        .bind(i as i64)
        .bind(&step.title)
        .bind(&step.role)
        .execute(&mut **tx)
        .await?;
    }
    timeline(
        tx,
        tenant,
        &inc.id,
        at,
        by,
        "plan",
        &format!("{} v{}", plan.name, plan.version),
    )
    .await?;
    inc.plan_id = Some(plan.id);
    Ok(())
}

/// Records the reports owed once the level is confirmed (once per recipient).
async fn raise_notices(tx: &mut Tx, tenant: &str, inc: &Incident) -> Result<()> {
    let (Some(level), true) = (inc.level, inc.level_confirmed) else {
        return Ok(());
    };
    let kind = tenant_operator_kind(tx, tenant).await?;
    let detected = crate::parse_time(&inc.detected_at)
        .ok_or_else(|| Error::Corrupt("incident detected_at".into()))?;
    for duty in classification::reporting_duties(kind, level) {
        let exists: Option<String> = sqlx::query_scalar(
            "SELECT id FROM incident_notices WHERE incident_id = $1 AND recipient = $2",
        )
        .bind(&inc.id)
        .bind(duty.to_zh)
        .fetch_optional(&mut **tx)
        .await?;
        if exists.is_some() {
            continue;
        }
        let due = detected + chrono::Duration::minutes(duty.within_minutes);
        sqlx::query(
            "INSERT INTO incident_notices (id, tenant_id, incident_id, recipient, due_at, reported_at, reported_by, note) \
             VALUES ($1, $2, $3, $4, $5, NULL, NULL, NULL)",
        )
        .bind(ids::new_id())
        .bind(tenant)
        .bind(&inc.id)
        .bind(duty.to_zh)
        .bind(crate::time_text(due))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn enter_phase(
    tx: &mut Tx,
    tenant: &str,
    id: &str,
    phase: Phase,
    at: &str,
    by: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE incident_phases SET left_at = $1 WHERE incident_id = $2 AND left_at IS NULL",
    )
    .bind(at)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO incident_phases (tenant_id, incident_id, phase, entered_at, entered_by, left_at) \
         VALUES ($1, $2, $3, $4, $5, NULL)",
    )
    .bind(tenant)
    .bind(id)
    .bind(phase.as_str())
    .bind(at)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn save(tx: &mut Tx, tenant: &str, inc: &Incident) -> Result<()> {
    let records = serde_json::to_string(&inc.records).expect("records serialise");
    let grading = inc
        .grading
        .map(|g| serde_json::to_string(&g).expect("grading serialises"));
    sqlx::query(
        "UPDATE incidents SET title = $1, description = $2, category = $3, subcategory = $4, level = $5, \
         grading = $6, level_confirmed = $7, phase = $8, status = $9, owner = $10, plan_id = $11, records = $12, \
         occurred_at = $13, updated_at = $14, closed_at = $15, archived_at = $16 WHERE tenant_id = $17 AND id = $18",
    )
    .bind(&inc.title)
    .bind(&inc.description)
    .bind(&inc.category)
    .bind(&inc.subcategory)
    .bind(inc.level.map(Level::as_str))
    .bind(grading)
    .bind(inc.level_confirmed as i64)
    .bind(inc.phase.as_str())
    .bind(inc.status.as_str())
    .bind(&inc.owner)
    .bind(&inc.plan_id)
    .bind(records)
    .bind(&inc.occurred_at)
    .bind(&inc.updated_at)
    .bind(&inc.closed_at)
    .bind(&inc.archived_at)
    .bind(tenant)
    .bind(&inc.id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) async fn action_item_counts(tx: &mut Tx, incident: &str) -> Result<(usize, usize)> {
    let r = sqlx::query(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END), 0) \
         FROM improvement_items WHERE source_kind = 'incident' AND source_id = $1",
    )
    .bind(incident)
    .fetch_one(&mut **tx)
    .await?;
    Ok((
        r.try_get::<i64, _>(0)? as usize,
        r.try_get::<i64, _>(1)? as usize,
    ))
}

/// The facts the phase machine checks.
pub fn facts<'a>(inc: &'a Incident, items: (usize, usize)) -> IncidentFacts<'a> {
    IncidentFacts {
        has_owner: inc.owner.as_deref().is_some_and(|o| !o.is_empty()),
        category: inc.category.as_deref(),
        subcategory: &inc.subcategory,
        grading: inc.grading,
        level: inc.level,
        level_confirmed: inc.level_confirmed,
        records: &inc.records,
        action_items: items.0,
        action_items_open: items.1,
    }
}

/// The 422 text naming every missing record, in both languages.
pub fn missing_message(phase: Phase, missing: &[phases::Requirement]) -> String {
    format!(
        "the {} phase ({}) lacks: {}",
        phase.as_str(),
        phase.zh(),
        missing
            .iter()
            .map(|m| format!("{} ({}, {})", m.as_str(), m.zh(), m.en()))
            .collect::<Vec<_>>()
            .join("; ")
    )
}

fn transition_error(e: TransitionError) -> Error {
    match e {
        TransitionError::Missing { phase, missing } => {
            Error::Unprocessable(missing_message(phase, &missing))
        }
        other => Error::Conflict(other.to_string()),
    }
}

/// Fills in who and when on the records the platform stamps.
fn stamp_records(records: &mut PhaseRecords, by: &str, at: &str) {
    if let Some(a) = records.activation.as_mut() {
        if a.decided_by.is_empty() {
            a.decided_by = by.into();
            a.decided_at = at.into();
        }
    }
    for a in &mut records.containment_actions {
        if a.by.is_empty() {
            a.by = by.into();
        }
        if a.at.is_empty() {
            a.at = at.into();
        }
    }
    if let Some(r) = records.recovery.as_mut() {
        if r.verified_by.is_empty() {
            r.verified_by = by.into();
            r.verified_at = at.into();
        }
    }
}

fn check_records(records: &PhaseRecords) -> Result<()> {
    let text = serde_json::to_string(records).expect("records serialise");
    if text.chars().count() > 10 * MAX_TEXT_CHARS {
        return Err(Error::Invalid("records: too long".into()));
    }
    Ok(())
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
