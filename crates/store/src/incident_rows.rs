//! The write-side helpers of incidents: validation of what users type, timeline rows,
//! links and observables, the plan's tasks, reporting notices, phase rows, and the facts
//! the phase machine checks. Every function runs inside the caller's write transaction.

use crate::error::{Error, Result};
use crate::incidents::{
    incident_from_row, Incident, IncidentStatus, NewObservable, INCIDENT_COLUMNS, MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
};
use crate::scope::TenantScope;
use sqlx::Row;
use yunshou_model::ids;
use yunshou_respond::classification::{self, Level, OperatorKind};
use yunshou_respond::phases::{self, IncidentFacts, Phase, PhaseRecords, TransitionError};

pub(crate) type Tx = sqlx::Transaction<'static, sqlx::Any>;

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

pub(crate) fn clean_title(s: &str) -> Result<String> {
    let t = clean_text("title", s, MAX_TITLE_CHARS)?;
    if t.is_empty() {
        return Err(Error::Invalid("title: required".into()));
    }
    Ok(t)
}

pub(crate) fn check_time(field: &str, s: &str) -> Result<String> {
    crate::parse_time(s)
        .map(crate::time_text)
        .ok_or_else(|| Error::Invalid(format!("{field}: not an RFC 3339 time")))
}

pub(crate) fn check_classification(category: Option<&str>, subcategory: &str) -> Result<()> {
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

pub(crate) async fn tenant_operator_kind(tx: &mut Tx, tenant: &str) -> Result<OperatorKind> {
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
pub(crate) async fn attach_plan(
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
pub(crate) async fn raise_notices(tx: &mut Tx, tenant: &str, inc: &Incident) -> Result<()> {
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

pub(crate) async fn enter_phase(
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

pub(crate) async fn save(tx: &mut Tx, tenant: &str, inc: &Incident) -> Result<()> {
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

pub(crate) fn transition_error(e: TransitionError) -> Error {
    match e {
        TransitionError::Missing { phase, missing } => {
            Error::Unprocessable(missing_message(phase, &missing))
        }
        other => Error::Conflict(other.to_string()),
    }
}

/// Fills in who and when on the records the platform stamps.
pub(crate) fn stamp_records(records: &mut PhaseRecords, by: &str, at: &str) {
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

pub(crate) fn check_records(records: &PhaseRecords) -> Result<()> {
    let text = serde_json::to_string(records).expect("records serialise");
    if text.chars().count() > 10 * MAX_TEXT_CHARS {
        return Err(Error::Invalid("records: too long".into()));
    }
    Ok(())
}
