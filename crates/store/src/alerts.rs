//! Detection alerts (MO.2.a, MO.3.c): what Sigma rules, correlations and intelligence hits
//! raise from the event stream, deduplicated per rule and entity, then worked through their
//! lifecycle by analysts.
//!
//! Detections arrive in batches from the pipeline's indexer; a batch is recorded in one
//! transaction together with its batch key, before the write-ahead log's checkpoint moves,
//! so a crash neither loses a detection nor (on replay) counts one twice.

use crate::clauses::Clauses;
use crate::db::Store;
use crate::error::{Error, Result};
use crate::{Page, TenantScope};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use yunshou_model::{ids, Actor};

/// Triggering events kept on an alert; later ones only raise its count.
pub const MAX_ALERT_EVENTS: usize = 20;

/// Severity, from the rule's Sigma `level`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational.
    Informational,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses an API name or a Sigma level (unknown levels are `None`).
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "informational" | "info" => Severity::Informational,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }

    pub(crate) fn rank(self) -> i64 {
        self as i64
    }
}

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Raised, nobody has looked yet.
    New,
    /// Seen by someone.
    Acknowledged,
    /// Being worked on.
    Investigating,
    /// Done, with a resolution.
    Closed,
}

impl AlertState {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::New => "new",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Investigating => "investigating",
            AlertState::Closed => "closed",
        }
    }

    /// Parses the API name.
    pub fn parse(s: &str) -> Option<AlertState> {
        serde_json::from_value(serde_json::Value::String(s.into())).ok()
    }

    /// Whether the lifecycle allows going from `self` to `to`: forward only, and a closed
    /// alert may be reopened for investigation.
    pub fn may_become(self, to: AlertState) -> bool {
        use AlertState::*;
        matches!(
            (self, to),
            (New, Acknowledged | Investigating | Closed)
                | (Acknowledged, Investigating | Closed)
                | (Investigating, Closed)
                | (Closed, Investigating)
        )
    }
}

/// How a closed alert was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// A real attack or policy violation.
    TruePositive,
    /// The rule fired on something it should not have.
    FalsePositive,
    /// Real activity, but allowed.
    Benign,
}

impl Resolution {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::TruePositive => "true_positive",
            Resolution::FalsePositive => "false_positive",
            Resolution::Benign => "benign",
        }
    }

    /// Parses the API name.
    pub fn parse(s: &str) -> Option<Resolution> {
        serde_json::from_value(serde_json::Value::String(s.into())).ok()
    }
}

/// An asset an alert touches, from the event's enrichment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AlertAsset {
    /// Asset id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Value (1–5).
    pub value: Option<i64>,
    /// Owner.
    pub owner: Option<String>,
}

/// Who and what an alert is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Entities {
    /// Host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// User name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Source address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    /// Destination address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_ip: Option<String>,
    /// Assets (with value and owner) the addresses belong to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<AlertAsset>,
    /// Intelligence indicators hit (`provider: value`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indicators: Vec<String>,
    /// A correlation's group-by values (`field=value`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group: Vec<String>,
}

impl Entities {
    /// What deduplication compares.
    pub fn key(&self) -> String {
        if !self.group.is_empty() {
            return self.group.join("|");
        }
        [
            &self.host,
            &self.user,
            &self.source_ip,
            &self.destination_ip,
        ]
        .iter()
        .map(|v| v.as_deref().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("|")
    }

    pub(crate) fn text(&self) -> String {
        let mut parts: Vec<&str> = [
            &self.host,
            &self.user,
            &self.source_ip,
            &self.destination_ip,
        ]
        .iter()
        .filter_map(|v| v.as_deref())
        .collect();
        parts.extend(self.assets.iter().map(|a| a.name.as_str()));
        parts.extend(self.indicators.iter().map(String::as_str));
        parts.extend(self.group.iter().map(String::as_str));
        parts.join(" ").to_lowercase()
    }

    /// Whether a suppression for `entity` = `value` covers these entities.
    pub(crate) fn has(&self, entity: &str, value: &str) -> bool {
        let eq = |v: &Option<String>| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(value));
        match entity {
            "host" => eq(&self.host),
            "user" => eq(&self.user),
            "source_ip" => eq(&self.source_ip),
            "destination_ip" => eq(&self.destination_ip),
            "ip" => eq(&self.source_ip) || eq(&self.destination_ip),
            "asset" => self.assets.iter().any(|a| a.id == value),
            _ => false,
        }
    }
}

/// One event that triggered an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TriggerEvent {
    /// Its write-ahead log sequence (the event store's id), when it came through the pipeline.
    pub seq: Option<u64>,
    /// Event time, RFC 3339.
    pub time: String,
    /// The event.
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

/// A triggering event as a new detection brings it: the event already as JSON text, shared
/// between the detections of the rules it matched and written into the alert as it is.
#[derive(Debug, Clone, Serialize)]
pub struct NewTrigger {
    /// Its write-ahead log sequence, when it came through the pipeline.
    pub seq: Option<u64>,
    /// Event time, RFC 3339.
    pub time: String,
    /// The event as JSON.
    #[serde(serialize_with = "raw_json")]
    pub event: std::sync::Arc<serde_json::value::RawValue>,
}

impl PartialEq for NewTrigger {
    fn eq(&self, other: &NewTrigger) -> bool {
        (self.seq, &self.time, self.event.get()) == (other.seq, &other.time, other.event.get())
    }
}

impl NewTrigger {
    /// A trigger from a parsed event.
    pub fn new(seq: Option<u64>, time: String, event: &serde_json::Value) -> NewTrigger {
        NewTrigger {
            seq,
            time,
            event: serde_json::value::to_raw_value(event)
                .expect("a JSON value serialises")
                .into(),
        }
    }

    /// The trigger as an alert shows it.
    pub fn to_stored(&self) -> TriggerEvent {
        TriggerEvent {
            seq: self.seq,
            time: self.time.clone(),
            event: serde_json::from_str(self.event.get()).unwrap_or_default(),
        }
    }
}

fn raw_json<S: serde::Serializer>(
    v: &std::sync::Arc<serde_json::value::RawValue>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    v.serialize(s)
}

/// What raised a detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DetectionKind {
    /// A Sigma rule on one event.
    Rule,
    /// A Sigma correlation over several.
    Correlation,
}

impl DetectionKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DetectionKind::Rule => "rule",
            DetectionKind::Correlation => "correlation",
        }
    }
}

/// A detection to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDetection {
    /// The write-ahead log sequence of the event that completed it (0: not from the
    /// pipeline).
    pub seq: u64,
    /// Rule id.
    pub rule_id: String,
    /// Rule title.
    pub title: String,
    /// Rule or correlation.
    pub kind: DetectionKind,
    /// Severity.
    pub severity: Severity,
    /// Rule author (the Detection Rule License asks for it wherever a match is shown).
    pub author: Option<String>,
    /// The rule's tags (ATT&CK tactics and techniques are taken from them).
    pub tags: Vec<String>,
    /// Entities.
    pub entities: Entities,
    /// Event time (the first event's, when it stands for several).
    pub time: DateTime<Utc>,
    /// Its last event's time (`time` for a single event).
    pub last_time: DateTime<Utc>,
    /// Events it stands for.
    pub count: i64,
    /// Triggering events.
    pub events: Vec<NewTrigger>,
}

/// An alert.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Alert {
    /// Identifier.
    pub id: String,
    /// Rule id.
    pub rule_id: String,
    /// Title.
    pub title: String,
    /// `rule` or `correlation`.
    pub kind: String,
    /// Severity.
    pub severity: Severity,
    /// The rule's author.
    pub rule_author: Option<String>,
    /// ATT&CK tactics (`credential-access`).
    pub tactics: Vec<String>,
    /// ATT&CK techniques (`T1110.001`).
    pub techniques: Vec<String>,
    /// Entities.
    pub entities: Entities,
    /// Detections folded into this alert.
    pub count: i64,
    /// First detection's event time.
    pub first_seen: String,
    /// Last detection's event time.
    pub last_seen: String,
    /// Lifecycle state.
    pub status: AlertState,
    /// Resolution once closed.
    pub resolution: Option<Resolution>,
    /// Assignee (user name).
    pub assignee: Option<String>,
    /// Created.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// An alert with its triggering events and comments.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AlertDetail {
    /// The alert.
    #[serde(flatten)]
    pub alert: Alert,
    /// Triggering events (the first [`MAX_ALERT_EVENTS`]).
    pub events: Vec<TriggerEvent>,
    /// Comments, oldest first.
    pub comments: Vec<AlertComment>,
}

/// A comment on an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AlertComment {
    /// Identifier.
    pub id: String,
    /// Author.
    pub author: String,
    /// Text.
    pub body: String,
    /// Written.
    pub created_at: String,
}

/// Filters for listing alerts.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// Lifecycle states.
    pub status: Vec<AlertState>,
    /// At least this severity.
    pub min_severity: Option<Severity>,
    /// Rule id.
    pub rule_id: Option<String>,
    /// Text in the entities (host, user, address, asset, indicator).
    pub entity: Option<String>,
    /// Last seen at or after (RFC 3339).
    pub from: Option<String>,
    /// Last seen before.
    pub to: Option<String>,
    /// Assignee.
    pub assignee: Option<String>,
}

/// What recording a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RecordOutcome {
    /// Alerts raised.
    pub raised: usize,
    /// Detections folded into an open alert.
    pub folded: usize,
    /// Detections dropped by a suppression.
    pub suppressed: usize,
    /// Detections recorded before (replayed after a crash) and skipped.
    pub replayed: usize,
}

/// A change to an alert (`PATCH`).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct AlertUpdate {
    /// New state.
    pub status: Option<AlertState>,
    /// Required when closing.
    pub resolution: Option<Resolution>,
    /// Assignee (a user name in the tenant; empty string unassigns).
    pub assignee: Option<String>,
}

/// ATT&CK tactics and techniques from Sigma tags (`attack.credential-access`,
/// `attack.t1110.001`).
pub fn attack_from_tags(tags: &[String]) -> (Vec<String>, Vec<String>) {
    let mut tactics = vec![];
    let mut techniques = vec![];
    for t in tags {
        let Some(rest) = t.strip_prefix("attack.") else {
            continue;
        };
        let numbered = |prefix: u8| {
            rest.len() >= 5
                && rest.as_bytes()[0].eq_ignore_ascii_case(&prefix)
                && rest[1..5].bytes().all(|b| b.is_ascii_digit())
        };
        if numbered(b't') {
            techniques.push(rest.to_ascii_uppercase());
        } else if !(numbered(b'g') || numbered(b's')) {
            // Groups (g0032) and software (s0002) are neither tactics nor techniques.
            tactics.push(rest.replace('_', "-"));
        }
    }
    tactics.dedup();
    techniques.dedup();
    (tactics, techniques)
}

const ALERT_COLUMNS: &str = "id, rule_id, title, kind, severity, rule_author, tactics, techniques, entities, count, first_seen, last_seen, status, resolution, assignee, created_at, updated_at";

fn alert_from_row(r: &sqlx::any::AnyRow) -> Result<Alert> {
    let json = |i: usize| -> Result<serde_json::Value> {
        let s: String = r.try_get(i)?;
        serde_json::from_str(&s).map_err(|e| Error::Corrupt(e.to_string()))
    };
    let severity: String = r.try_get(4)?;
    let status: String = r.try_get(12)?;
    let resolution: Option<String> = r.try_get(13)?;
    Ok(Alert {
        id: r.try_get(0)?,
        rule_id: r.try_get(1)?,
        title: r.try_get(2)?,
        kind: r.try_get(3)?,
        severity: Severity::parse(&severity).ok_or_else(|| Error::Corrupt(severity.clone()))?,
        rule_author: r.try_get(5)?,
        tactics: serde_json::from_value(json(6)?).unwrap_or_default(),
        techniques: serde_json::from_value(json(7)?).unwrap_or_default(),
        entities: serde_json::from_value(json(8)?).map_err(|e| Error::Corrupt(e.to_string()))?,
        count: r.try_get(9)?,
        first_seen: r.try_get(10)?,
        last_seen: r.try_get(11)?,
        status: AlertState::parse(&status).ok_or_else(|| Error::Corrupt(status.clone()))?,
        resolution: resolution.as_deref().and_then(Resolution::parse),
        assignee: r.try_get(14)?,
        created_at: r.try_get(15)?,
        updated_at: r.try_get(16)?,
    })
}

impl Store {
    /// Per tenant, the write-ahead log sequence up to which detections are recorded.
    pub async fn detection_watermarks(&self) -> Result<std::collections::HashMap<String, u64>> {
        let rows = sqlx::query("SELECT tenant_id, upto FROM detection_watermarks")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get::<i64, _>(1)? as u64)))
            .collect()
    }

    /// Alerts matching `filter`, most recent first, with the total.
    pub async fn alerts(
        &self,
        scope: &TenantScope,
        filter: &AlertFilter,
        page: Page,
    ) -> Result<(Vec<Alert>, i64)> {
        let mut c = Clauses::new("tenant_id", scope.tenant_id());
        if !filter.status.is_empty() {
            let list: Vec<String> = filter
                .status
                .iter()
                .map(|s| format!("'{}'", s.as_str()))
                .collect();
            c.literal(format!("status IN ({})", list.join(", ")));
        }
        if let Some(s) = filter.min_severity {
            c.literal(format!("severity_rank >= {}", s.rank()));
        }
        if let Some(r) = &filter.rule_id {
            c.bind("rule_id = ?", r.clone());
        }
        if let Some(e) = &filter.entity {
            c.bind(
                "entity_text LIKE ? ESCAPE '\\'",
                format!("%{}%", like_escape(&e.to_lowercase())),
            );
        }
        if let Some(f) = &filter.from {
            c.bind("last_seen >= ?", f.clone());
        }
        if let Some(t) = &filter.to {
            c.bind("last_seen < ?", t.clone());
        }
        if let Some(a) = &filter.assignee {
            c.bind("assignee = ?", a.clone());
        }
        let wh = c.sql();
        let count_sql = format!("SELECT COUNT(*) FROM alerts WHERE {wh}");
        let total: i64 = c
            .query(&count_sql)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE {wh} ORDER BY last_seen DESC, id LIMIT {} OFFSET {}",
            page.limit, page.offset
        );
        let rows = c.query(&sql).fetch_all(&self.pool).await?;
        let list = rows.iter().map(alert_from_row).collect::<Result<_>>()?;
        Ok((list, total))
    }

    /// One alert with its events and comments.
    pub async fn alert(&self, scope: &TenantScope, id: &str) -> Result<AlertDetail> {
        let row = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS}, (SELECT events FROM alert_events WHERE alert_id = alerts.id) \
             FROM alerts WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        let alert = alert_from_row(&row)?;
        let events = serde_json::from_str(&row.try_get::<String, _>(17)?)
            .map_err(|e| Error::Corrupt(e.to_string()))?;
        let comments = sqlx::query(
            "SELECT id, author, body, created_at FROM alert_comments WHERE tenant_id = $1 AND alert_id = $2 ORDER BY created_at, id",
        )
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(AlertComment {
                id: r.try_get(0)?,
                author: r.try_get(1)?,
                body: r.try_get(2)?,
                created_at: r.try_get(3)?,
            })
        })
        .collect::<Result<_>>()?;
        Ok(AlertDetail {
            alert,
            events,
            comments,
        })
    }

    /// Moves an alert through its lifecycle and/or assigns it, audited with before and after.
    /// Closing needs a resolution; going backwards (other than reopening a closed alert) is
    /// refused; the assignee must be a user of the tenant.
    pub async fn update_alert(
        &self,
        scope: &TenantScope,
        id: &str,
        update: &AlertUpdate,
        actor: &Actor,
    ) -> Result<Alert> {
        let before = self.alert(scope, id).await?.alert;
        let mut after = before.clone();
        if let Some(to) = update.status {
            if to != before.status {
                if !before.status.may_become(to) {
                    return Err(Error::Invalid(format!(
                        "status: an alert that is {} cannot become {}",
                        before.status.as_str(),
                        to.as_str()
                    )));
                }
                after.status = to;
            }
        }
        if after.status == AlertState::Closed {
            after.resolution = update.resolution.or(before.resolution);
            if after.resolution.is_none() {
                return Err(Error::Invalid(
                    "resolution: closing needs true_positive, false_positive or benign".into(),
                ));
            }
        } else {
            if update.resolution.is_some() {
                return Err(Error::Invalid(
                    "resolution: only a closed alert has one".into(),
                ));
            }
            after.resolution = None;
        }
        if let Some(a) = &update.assignee {
            let a = a.trim();
            if a.is_empty() {
                after.assignee = None;
            } else {
                let known = sqlx::query(
                    "SELECT 1 FROM users u JOIN role_grants r ON r.user_id = u.id WHERE r.tenant_id = $1 AND u.username = $2 LIMIT 1",
                )
                .bind(scope.tenant_id())
                .bind(a)
                .fetch_optional(&self.pool)
                .await?;
                if known.is_none() {
                    return Err(Error::Invalid(format!(
                        "assignee: no user {a} in this tenant"
                    )));
                }
                after.assignee = Some(a.to_string());
            }
        }
        after.updated_at = crate::now_text();
        let mut w = self.begin_write().await?;
        sqlx::query("UPDATE alerts SET status = $1, resolution = $2, assignee = $3, updated_at = $4 WHERE tenant_id = $5 AND id = $6")
            .bind(after.status.as_str())
            .bind(after.resolution.map(Resolution::as_str))
            .bind(&after.assignee)
            .bind(&after.updated_at)
            .bind(scope.tenant_id())
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(Some(scope.tenant_id()), "alert.update", "alert", Some(id));
        let view = |a: &Alert| serde_json::json!({"status": a.status, "resolution": a.resolution, "assignee": a.assignee});
        entry.before = Some(view(&before));
        entry.after = Some(view(&after));
        w.commit(entry).await?;
        Ok(after)
    }

    /// Adds a comment to an alert, audited.
    pub async fn comment_alert(
        &self,
        scope: &TenantScope,
        id: &str,
        body: &str,
        actor: &Actor,
    ) -> Result<AlertComment> {
        let body = body.trim();
        if body.is_empty() || body.chars().count() > 4000 {
            return Err(Error::Invalid("body: 1–4000 characters".into()));
        }
        self.alert(scope, id).await?;
        let c = AlertComment {
            id: ids::new_id(),
            author: actor.name.clone(),
            body: body.into(),
            created_at: crate::now_text(),
        };
        let mut w = self.begin_write().await?;
        sqlx::query("INSERT INTO alert_comments (id, tenant_id, alert_id, author, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&c.id)
            .bind(scope.tenant_id())
            .bind(id)
            .bind(&c.author)
            .bind(&c.body)
            .bind(&c.created_at)
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(Some(scope.tenant_id()), "alert.comment", "alert", Some(id));
        entry.after = Some(serde_json::json!({"comment": c.body}));
        w.commit(entry).await?;
        Ok(c)
    }

    /// Alert counts per severity among alerts not closed (the dashboard's tiles).
    pub async fn open_alert_counts(&self, scope: &TenantScope) -> Result<Vec<(Severity, i64)>> {
        let rows = sqlx::query("SELECT severity, COUNT(*) FROM alerts WHERE tenant_id = $1 AND status <> 'closed' GROUP BY severity")
            .bind(scope.tenant_id())
            .fetch_all(&self.pool)
            .await?;
        let mut out = vec![];
        for r in rows {
            let s: String = r.try_get(0)?;
            if let Some(sev) = Severity::parse(&s) {
                out.push((sev, r.try_get(1)?));
            }
        }
        out.sort_by_key(|x| std::cmp::Reverse(x.0));
        Ok(out)
    }
}

pub(crate) fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// An alert read inside a write transaction (tenant-checked).
pub(crate) async fn alert_in_tx(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    scope: &TenantScope,
    id: &str,
) -> Result<Alert> {
    let row = sqlx::query(&format!(
        "SELECT {ALERT_COLUMNS} FROM alerts WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(scope.tenant_id())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| Error::Invalid(format!("alert_ids: no alert {id}")))?;
    alert_from_row(&row)
}

/// Marks an alert as being investigated in an incident, with a comment naming it.
pub(crate) async fn acknowledge_for_incident(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    scope: &TenantScope,
    id: &str,
    incident_label: &str,
    actor: &str,
    now: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE alerts SET status = 'investigating', updated_at = $1 \
         WHERE tenant_id = $2 AND id = $3 AND status IN ('new', 'acknowledged')",
    )
    .bind(now)
    .bind(scope.tenant_id())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("INSERT INTO alert_comments (id, tenant_id, alert_id, author, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(yunshou_model::ids::new_id())
        .bind(scope.tenant_id())
        .bind(id)
        .bind(actor)
        .bind(format!("纳入事件 {incident_label} / added to incident {incident_label}"))
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_tags_split_into_tactics_and_techniques() {
        let tags: Vec<String> = [
            "attack.credential-access",
            "attack.t1110.001",
            "attack.T1059",
            "attack.g0032",
            "attack.s0002",
            "cve.2021-44228",
            "attack.initial_access",
        ]
        .map(String::from)
        .to_vec();
        let (tactics, techniques) = attack_from_tags(&tags);
        assert_eq!(tactics, ["credential-access", "initial-access"]);
        assert_eq!(techniques, ["T1110.001", "T1059"]);
    }

    #[test]
    fn lifecycle_moves_forward_and_reopens() {
        use AlertState::*;
        assert!(New.may_become(Closed));
        assert!(Acknowledged.may_become(Investigating));
        assert!(Closed.may_become(Investigating));
        assert!(!Investigating.may_become(New));
        assert!(!Closed.may_become(Acknowledged));
        assert!(!Investigating.may_become(Acknowledged));
    }

    #[test]
    fn entity_key_and_suppression_match() {
        let e = Entities {
            host: Some("web-01".into()),
            source_ip: Some("203.0.113.9".into()),
            ..Default::default()
        };
        assert_eq!(e.key(), "web-01||203.0.113.9|");
        assert!(e.has("ip", "203.0.113.9"));
        assert!(e.has("host", "WEB-01"));
        assert!(!e.has("user", "root"));
        let g = Entities {
            group: vec!["source.ip=203.0.113.9".into()],
            ..Default::default()
        };
        assert_eq!(g.key(), "source.ip=203.0.113.9");
    }
}
