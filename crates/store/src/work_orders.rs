//! Work orders (I.3.c): one per finding that needs action, moved through
//! [`WorkOrderAction::apply`]'s state machine, every step kept in `work_order_history`.
//! A fix is signed off by a retest — a verdict with evidence from someone other than the
//! person who reported the fix, or an import that no longer reports the finding.

use crate::alerts::like_escape;
use crate::clauses::Clauses;
use crate::crypto::sm3_hex;
use crate::db::Store;
use crate::error::{Error, Result};
use crate::findings::{finding_from_row, Finding, FINDING_COLUMNS, FINDING_FROM};
use crate::outbox;
use crate::scope::TenantScope;
use crate::vuln_settings::VulnSettings;
use crate::Page;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;
use yunshou_model::work_order::{WorkOrderAction, WorkOrderResolution, WorkOrderState};
use yunshou_model::{ids, Actor};

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Largest attachment (retest screenshots, scan excerpts, change tickets).
pub const MAX_ATTACHMENT_BYTES: usize = 20 * 1024 * 1024;
/// Longest note or comment.
pub const MAX_NOTE_CHARS: usize = 10_000;

pub(crate) const INSERT_COLUMNS: &[&str] = &[
    "id",
    "tenant_id",
    "number",
    "finding_id",
    "state",
    "resolution",
    "assignee",
    "risk_level",
    "due_at",
    "escalated_at",
    "failed_retests",
    "created_at",
    "updated_at",
    "closed_at",
];
pub(crate) const HISTORY_COLUMNS: &[&str] = &[
    "id",
    "tenant_id",
    "work_order_id",
    "at",
    "actor",
    "action",
    "from_state",
    "to_state",
    "note",
];

/// A work order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WorkOrder {
    /// Identifier.
    pub id: String,
    /// Number within the tenant.
    pub number: i64,
    /// `WO-000042`.
    pub label: String,
    /// The finding.
    pub finding_id: String,
    /// The finding's title.
    pub title: String,
    /// The asset.
    pub asset_id: String,
    /// The asset's name.
    pub asset_name: String,
    /// State.
    pub state: WorkOrderState,
    /// How it ended, once closed.
    pub resolution: Option<WorkOrderResolution>,
    /// Who fixes it (defaults to the asset's owner).
    pub assignee: Option<String>,
    /// The finding's risk level when raised (1–5).
    pub risk_level: u8,
    /// Due by the SLA of its risk level (RFC 3339).
    pub due_at: String,
    /// Open past its due date.
    pub overdue: bool,
    /// When it was escalated for being overdue.
    pub escalated_at: Option<String>,
    /// Failed retests so far.
    pub failed_retests: i64,
    /// Raised.
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
    /// Closed.
    pub closed_at: Option<String>,
}

/// One step in a work order's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    /// When.
    pub at: String,
    /// Who (a user, or the import that did it).
    pub actor: String,
    /// What: an action name, `raise`, `assign`, `comment`, `attach`, `escalate`,
    /// `retest_pass_by_import`, `not_seen_by_import`.
    pub action: String,
    /// State before.
    pub from_state: Option<String>,
    /// State after.
    pub to_state: Option<String>,
    /// Note, comment or evidence.
    pub note: Option<String>,
}

/// An attachment's record (the bytes are fetched apart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Attachment {
    /// Identifier.
    pub id: String,
    /// File name.
    pub name: String,
    /// MIME type as uploaded.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256, hex.
    pub sha256: String,
    /// SM3, hex.
    pub sm3: String,
    /// Who uploaded it.
    pub uploaded_by: String,
    /// When.
    pub uploaded_at: String,
}

/// A work order with its finding, history and attachments.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WorkOrderDetail {
    /// The order.
    #[serde(flatten)]
    pub order: WorkOrder,
    /// Its finding.
    pub finding: Finding,
    /// Every step, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
}

/// Filters for listing work orders.
#[derive(Debug, Clone, Default)]
pub struct WorkOrderFilter {
    /// States (empty: all).
    pub state: Vec<WorkOrderState>,
    /// Assignee.
    pub assignee: Option<String>,
    /// Only those past due (true) or not (false).
    pub overdue: Option<bool>,
    /// At least this risk level.
    pub min_risk_level: Option<u8>,
    /// On this asset.
    pub asset_id: Option<String>,
    /// Text in the title or asset name.
    pub text: Option<String>,
}

/// A change to a work order (`PATCH`): an action and/or a new assignee.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkOrderChange {
    /// Move it on.
    #[serde(default)]
    pub action: Option<WorkOrderAction>,
    /// Why, or what the retest showed; required by every action but accept and start_fix.
    #[serde(default)]
    pub note: Option<String>,
    /// New assignee (empty to unassign).
    #[serde(default)]
    pub assignee: Option<String>,
}

/// Work-order numbers of the SLA dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SlaStats {
    /// Open orders per state: notified, accepted, fixing, retest.
    pub open_by_state: [i64; 4],
    /// Open orders per risk level (index 0 = level 1).
    pub open_by_level: [i64; 5],
    /// Overdue open orders per risk level.
    pub overdue_by_level: [i64; 5],
    /// Open orders due within seven days (not yet overdue).
    pub due_soon: i64,
    /// Closed in the last 30 days.
    pub closed_30d: i64,
    /// Of those closed as fixed in the last 30 days, how many before their due date.
    pub closed_on_time_30d: i64,
    /// Closed as fixed in the last 30 days.
    pub fixed_30d: i64,
}

/// A new work order, for the notice its assignee gets.
#[derive(Debug, Clone)]
pub(crate) struct NewOrderNotice {
    pub number: i64,
    pub title: String,
    pub asset: String,
    pub assignee: Option<String>,
    pub risk_level: u8,
    pub due_at: String,
}

/// `WO-000042`.
pub fn label(number: i64) -> String {
    format!("WO-{number:06}")
}

pub(crate) fn due_at(now: &str, days: u32) -> String {
    let start = crate::parse_time(now).unwrap_or_else(chrono::Utc::now);
    crate::time_text(start + chrono::Duration::days(i64::from(days)))
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_row(
    id: &str,
    tenant: &str,
    number: i64,
    finding_id: &str,
    assignee: Option<&str>,
    risk_level: u8,
    due: &str,
    now: &str,
) -> Vec<crate::batch::Val> {
    use crate::batch::Val::{Int, Text};
    vec![
        Text(Some(id.into())),
        Text(Some(tenant.into())),
        Int(Some(number)),
        Text(Some(finding_id.into())),
        Text(Some(WorkOrderState::Notified.as_str().into())),
        Text(None),
        Text(assignee.map(str::to_string)),
        Int(Some(i64::from(risk_level))),
        Text(Some(due.into())),
        Text(None),
        Int(Some(0)),
        Text(Some(now.into())),
        Text(Some(now.into())),
        Text(None),
    ]
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn history_row(
    tenant: &str,
    order_id: &str,
    at: &str,
    actor: &str,
    action: &str,
    from: Option<WorkOrderState>,
    to: Option<WorkOrderState>,
    note: Option<&str>,
) -> Vec<crate::batch::Val> {
    use crate::batch::Val::Text;
    vec![
        Text(Some(ids::new_id())),
        Text(Some(tenant.into())),
        Text(Some(order_id.into())),
        Text(Some(at.into())),
        Text(Some(actor.into())),
        Text(Some(action.into())),
        Text(from.map(|s| s.as_str().into())),
        Text(to.map(|s| s.as_str().into())),
        Text(note.map(str::to_string)),
    ]
}

#[allow(clippy::too_many_arguments)]
async fn add_history(
    tx: &mut Tx,
    tenant: &str,
    order_id: &str,
    at: &str,
    actor: &str,
    action: &str,
    from: Option<WorkOrderState>,
    to: Option<WorkOrderState>,
    note: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO work_order_history (id, tenant_id, work_order_id, at, actor, action, from_state, to_state, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(ids::new_id())
    .bind(tenant)
    .bind(order_id)
    .bind(at)
    .bind(actor)
    .bind(action)
    .bind(from.map(|s| s.as_str()))
    .bind(to.map(|s| s.as_str()))
    .bind(note)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves an order by one of the state machine's actions (its name goes in the history).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn move_order(
    tx: &mut Tx,
    tenant: &str,
    order_id: &str,
    action: WorkOrderAction,
    from: WorkOrderState,
    to: WorkOrderState,
    resolution: Option<WorkOrderResolution>,
    actor: &str,
    note: &str,
    now: &str,
) -> Result<()> {
    move_order_raw(
        tx,
        tenant,
        order_id,
        action.as_str(),
        from,
        to,
        resolution,
        actor,
        note,
        now,
    )
    .await?;
    if action == WorkOrderAction::RetestFail {
        sqlx::query("UPDATE work_orders SET failed_retests = failed_retests + 1 WHERE id = $1")
            .bind(order_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Moves an order to `to`, recording `action` (also the import's own moves, which are not
/// user actions).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn move_order_raw(
    tx: &mut Tx,
    tenant: &str,
    order_id: &str,
    action: &str,
    from: WorkOrderState,
    to: WorkOrderState,
    resolution: Option<WorkOrderResolution>,
    actor: &str,
    note: &str,
    now: &str,
) -> Result<()> {
    let closed = to == WorkOrderState::Closed;
    sqlx::query(
        "UPDATE work_orders SET state = $1, resolution = $2, closed_at = $3, updated_at = $4 WHERE id = $5 AND tenant_id = $6",
    )
    .bind(to.as_str())
    .bind(resolution.map(|r| r.as_str()))
    .bind(closed.then_some(now))
    .bind(now)
    .bind(order_id)
    .bind(tenant)
    .execute(&mut **tx)
    .await?;
    add_history(
        tx,
        tenant,
        order_id,
        now,
        actor,
        action,
        Some(from),
        Some(to),
        Some(note),
    )
    .await
}

/// Queues one notice per assignee (and one for the webhook) for the orders an import
/// raised: a scan that raises 300 orders sends each owner one message, not 300.
pub(crate) async fn queue_new_order_notices(
    tx: &mut Tx,
    tenant: &str,
    settings: &VulnSettings,
    notices: &[NewOrderNotice],
) -> Result<()> {
    if notices.is_empty() {
        return Ok(());
    }
    let mut by_assignee: std::collections::BTreeMap<Option<&str>, Vec<&NewOrderNotice>> =
        Default::default();
    for n in notices {
        by_assignee
            .entry(n.assignee.as_deref())
            .or_default()
            .push(n);
    }
    for (assignee, list) in &by_assignee {
        let payload = notice_payload("work_order.raised", *assignee, list);
        for mail in settings.mail_recipients(*assignee) {
            outbox::enqueue(
                tx,
                tenant,
                "work_order.raised",
                &format!("mailto:{mail}"),
                &payload,
            )
            .await?;
        }
    }
    if let Some(url) = &settings.notify_webhook {
        let all: Vec<&NewOrderNotice> = notices.iter().collect();
        let payload = notice_payload("work_order.raised", None, &all);
        outbox::enqueue(tx, tenant, "work_order.raised", url, &payload).await?;
    }
    Ok(())
}

fn notice_payload(
    topic: &str,
    assignee: Option<&str>,
    list: &[&NewOrderNotice],
) -> serde_json::Value {
    serde_json::json!({
        "topic": topic,
        "assignee": assignee,
        "count": list.len(),
        "work_orders": list.iter().take(500).map(|n| serde_json::json!({
            "number": label(n.number),
            "title": n.title,
            "asset": n.asset,
            "assignee": n.assignee,
            "risk_level": n.risk_level,
            "due_at": n.due_at,
        })).collect::<Vec<_>>(),
    })
}

const ORDER_COLUMNS: &str = "w.id, w.number, w.finding_id, f.title, f.asset_id, a.name, w.state, w.resolution, w.assignee, \
     w.risk_level, w.due_at, w.escalated_at, w.failed_retests, w.created_at, w.updated_at, w.closed_at";
const ORDER_FROM: &str =
    "work_orders w JOIN findings f ON f.id = w.finding_id JOIN assets a ON a.id = f.asset_id";

/// A work order from `ORDER_COLUMNS`, which start at column `at` of the row.
fn order_from_row(r: &AnyRow, now: &str, at: usize) -> Result<WorkOrder> {
    let state: String = r.try_get(at + 6)?;
    let state = WorkOrderState::parse(&state)
        .ok_or_else(|| Error::Corrupt(format!("work order state `{state}`")))?;
    let resolution: Option<String> = r.try_get(at + 7)?;
    let due_at: String = r.try_get(at + 10)?;
    let number: i64 = r.try_get(at + 1)?;
    Ok(WorkOrder {
        id: r.try_get(at)?,
        number,
        label: label(number),
        finding_id: r.try_get(at + 2)?,
        title: r.try_get(at + 3)?,
        asset_id: r.try_get(at + 4)?,
        asset_name: r.try_get(at + 5)?,
        overdue: state.is_open() && due_at.as_str() < now,
        state,
        resolution: resolution.as_deref().and_then(WorkOrderResolution::parse),
        assignee: r.try_get(at + 8)?,
        risk_level: r.try_get::<i64, _>(at + 9)? as u8,
        due_at,
        escalated_at: r.try_get(at + 11)?,
        failed_retests: r.try_get(at + 12)?,
        created_at: r.try_get(at + 13)?,
        updated_at: r.try_get(at + 14)?,
        closed_at: r.try_get(at + 15)?,
    })
}

fn clean_note(note: Option<&str>) -> Result<Option<String>> {
    let Some(n) = note.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if n.chars().count() > MAX_NOTE_CHARS {
        return Err(Error::Invalid(format!(
            "note: at most {MAX_NOTE_CHARS} characters"
        )));
    }
    Ok(Some(n.to_string()))
}

impl Store {
    /// The tenant's work orders matching `filter`: most urgent first (open before closed,
    /// then by due date), and how many match.
    pub async fn work_orders(
        &self,
        scope: &TenantScope,
        filter: &WorkOrderFilter,
        page: Page,
    ) -> Result<(Vec<WorkOrder>, i64)> {
        let now = crate::now_text();
        let mut c = Clauses::new("w.tenant_id", scope.tenant_id());
        if !filter.state.is_empty() {
            let list: Vec<String> = filter
                .state
                .iter()
                .map(|s| format!("'{}'", s.as_str()))
                .collect();
            c.literal(format!("w.state IN ({})", list.join(", ")));
        }
        if let Some(l) = filter.min_risk_level {
            c.literal(format!("w.risk_level >= {}", i64::from(l)));
        }
        if let Some(a) = &filter.assignee {
            c.bind("w.assignee = ?", a.clone());
        }
        if let Some(a) = &filter.asset_id {
            c.bind("f.asset_id = ?", a.clone());
        }
        match filter.overdue {
            Some(true) => c.bind("w.state <> 'closed' AND w.due_at < ?", now.clone()),
            Some(false) => c.bind("(w.state = 'closed' OR w.due_at >= ?)", now.clone()),
            None => {}
        }
        if let Some(t) = &filter.text {
            let p = format!("%{}%", like_escape(&t.to_lowercase()));
            c.bind(
                "(LOWER(f.title) LIKE ? ESCAPE '\\' OR LOWER(a.name) LIKE ? ESCAPE '\\')",
                p,
            );
        }
        let wh = c.sql();
        let count_sql = format!("SELECT COUNT(*) FROM {ORDER_FROM} WHERE {wh}");
        let total: i64 = c
            .query(&count_sql)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM {ORDER_FROM} WHERE {wh} ORDER BY (w.state = 'closed'), w.due_at, w.number LIMIT {} OFFSET {}",
            page.limit, page.offset
        );
        let rows = c.query(&sql).fetch_all(&self.pool).await?;
        let list = rows
            .iter()
            .map(|r| order_from_row(r, &now, 0))
            .collect::<Result<_>>()?;
        Ok((list, total))
    }

    /// One work order with its finding, history and attachments.
    pub async fn work_order(&self, scope: &TenantScope, id: &str) -> Result<WorkOrderDetail> {
        let now = crate::now_text();
        let row = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM {ORDER_FROM} WHERE w.tenant_id = $1 AND w.id = $2"
        ))
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        let order = order_from_row(&row, &now, 0)?;
        let finding_row = sqlx::query(&format!(
            "SELECT {FINDING_COLUMNS} FROM {FINDING_FROM} WHERE f.tenant_id = $1 AND f.id = $2"
        ))
        .bind(scope.tenant_id())
        .bind(&order.finding_id)
        .fetch_one(&self.pool)
        .await?;
        let history = sqlx::query(
            "SELECT at, actor, action, from_state, to_state, note FROM work_order_history \
             WHERE tenant_id = $1 AND work_order_id = $2 ORDER BY at, id",
        )
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(HistoryEntry {
                at: r.try_get(0)?,
                actor: r.try_get(1)?,
                action: r.try_get(2)?,
                from_state: r.try_get(3)?,
                to_state: r.try_get(4)?,
                note: r.try_get(5)?,
            })
        })
        .collect::<Result<_>>()?;
        let attachments = self.attachments(scope, id).await?;
        Ok(WorkOrderDetail {
            order,
            finding: finding_from_row(&finding_row)?,
            history,
            attachments,
        })
    }

    async fn attachments(&self, scope: &TenantScope, order_id: &str) -> Result<Vec<Attachment>> {
        sqlx::query(
            "SELECT id, name, content_type, size, sha256, sm3, uploaded_by, uploaded_at FROM work_order_attachments \
             WHERE tenant_id = $1 AND work_order_id = $2 ORDER BY uploaded_at, id",
        )
        .bind(scope.tenant_id())
        .bind(order_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Attachment {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                content_type: r.try_get(2)?,
                size: r.try_get(3)?,
                sha256: r.try_get(4)?,
                sm3: r.try_get(5)?,
                uploaded_by: r.try_get(6)?,
                uploaded_at: r.try_get(7)?,
            })
        })
        .collect()
    }

    /// Applies `change` to one order (see [`Store::change_work_orders`]).
    pub async fn change_work_order(
        &self,
        scope: &TenantScope,
        id: &str,
        change: &WorkOrderChange,
        actor: &Actor,
    ) -> Result<WorkOrder> {
        self.change_work_orders(scope, &[id.to_string()], change, actor)
            .await
            .map_err(|mut e| match e.pop() {
                Some((_, e)) => e,
                None => Error::Invalid("nothing to change".into()),
            })?
            .pop()
            .ok_or(Error::NotFound)
    }

    /// Applies `change` to every listed order in one transaction — all or none. The error
    /// lists each order refused and why. The caller has checked the permission: verdicts
    /// (`WorkOrderAction::is_verdict`) and assignment need `WorkOrdersVerify`. A passed
    /// retest is refused when the person giving it reported the fix.
    pub async fn change_work_orders(
        &self,
        scope: &TenantScope,
        ids_: &[String],
        change: &WorkOrderChange,
        actor: &Actor,
    ) -> std::result::Result<Vec<WorkOrder>, Vec<(String, Error)>> {
        let whole = |e: Error| vec![(String::new(), e)];
        if ids_.is_empty() || ids_.len() > 1000 {
            return Err(whole(Error::Invalid("ids: 1–1000 work orders".into())));
        }
        if change.action.is_none() && change.assignee.is_none() {
            return Err(whole(Error::Invalid(
                "give an action, an assignee, or both".into(),
            )));
        }
        let note = clean_note(change.note.as_deref()).map_err(whole)?;
        if let Some(a) = change.action {
            if a.needs_note() && note.is_none() {
                return Err(whole(Error::Invalid(format!(
                    "note: `{}` needs a note saying why (for a passed retest: what showed it)",
                    a.as_str()
                ))));
            }
        }
        let assignee = change.assignee.as_deref().map(str::trim);
        if assignee.is_some_and(|a| a.chars().count() > 200) {
            return Err(whole(Error::Invalid(
                "assignee: at most 200 characters".into(),
            )));
        }
        let now = crate::now_text();
        let mut w = self.begin_write().await.map_err(whole)?;
        let mut errors = vec![];
        let mut done = vec![];
        for id in ids_ {
            match apply_change(
                &mut w.tx,
                scope,
                id,
                change.action,
                note.as_deref(),
                assignee,
                actor,
                &now,
            )
            .await
            {
                Ok(()) => done.push(id.clone()),
                Err(e) => errors.push((id.clone(), e)),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "work_order.change",
            "work_order",
            (ids_.len() == 1).then(|| ids_[0].as_str()),
        );
        entry.after = Some(serde_json::json!({
            "ids": ids_,
            "action": change.action.map(|a| a.as_str()),
            "assignee": assignee,
            "note": note,
        }));
        w.commit(entry).await.map_err(whole)?;
        let mut out = vec![];
        for id in done {
            out.push(self.work_order(scope, &id).await.map_err(whole)?.order);
        }
        Ok(out)
    }

    /// Adds a comment to an order's history.
    pub async fn comment_work_order(
        &self,
        scope: &TenantScope,
        id: &str,
        body: &str,
        actor: &Actor,
    ) -> Result<()> {
        let body =
            clean_note(Some(body))?.ok_or_else(|| Error::Invalid("body: empty comment".into()))?;
        let mut w = self.begin_write().await?;
        locked_order(&mut w.tx, scope, id).await?;
        add_history(
            &mut w.tx,
            scope.tenant_id(),
            id,
            &crate::now_text(),
            &actor.name,
            "comment",
            None,
            None,
            Some(&body),
        )
        .await?;
        let entry = actor.entry(
            Some(scope.tenant_id()),
            "work_order.comment",
            "work_order",
            Some(id),
        );
        w.commit(entry).await?;
        Ok(())
    }

    /// Stores a file with an order (SHA-256 and SM3 at intake), recorded in its history.
    pub async fn attach_to_work_order(
        &self,
        scope: &TenantScope,
        id: &str,
        name: &str,
        content_type: &str,
        data: &[u8],
        actor: &Actor,
    ) -> Result<Attachment> {
        let name = name
            .trim()
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .to_string();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(Error::Invalid(
                "name: a file name of 1–200 characters".into(),
            ));
        }
        if data.is_empty() || data.len() > MAX_ATTACHMENT_BYTES {
            return Err(Error::Invalid(format!(
                "file: 1 byte to {} MiB",
                MAX_ATTACHMENT_BYTES >> 20
            )));
        }
        let content_type = if content_type.is_empty() || content_type.len() > 100 {
            "application/octet-stream"
        } else {
            content_type
        };
        let att = Attachment {
            id: ids::new_id(),
            name,
            content_type: content_type.to_string(),
            size: data.len() as i64,
            sha256: hex::encode(Sha256::digest(data)),
            sm3: sm3_hex(data),
            uploaded_by: actor.name.clone(),
            uploaded_at: crate::now_text(),
        };
        let mut w = self.begin_write().await?;
        locked_order(&mut w.tx, scope, id).await?;
        sqlx::query(
            "INSERT INTO work_order_attachments (id, tenant_id, work_order_id, name, content_type, size, sha256, sm3, data, uploaded_by, uploaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&att.id)
        .bind(scope.tenant_id())
        .bind(id)
        .bind(&att.name)
        .bind(&att.content_type)
        .bind(att.size)
        .bind(&att.sha256)
        .bind(&att.sm3)
        .bind(data.to_vec())
        .bind(&att.uploaded_by)
        .bind(&att.uploaded_at)
        .execute(&mut *w.tx)
        .await?;
        let note = format!("{} ({} bytes, SM3 {})", att.name, att.size, att.sm3);
        add_history(
            &mut w.tx,
            scope.tenant_id(),
            id,
            &att.uploaded_at,
            &actor.name,
            "attach",
            None,
            None,
            Some(&note),
        )
        .await?;
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "work_order.attach",
            "work_order",
            Some(id),
        );
        entry.after = serde_json::to_value(&att).ok();
        w.commit(entry).await?;
        Ok(att)
    }

    /// An attachment's record and bytes.
    pub async fn work_order_attachment(
        &self,
        scope: &TenantScope,
        order_id: &str,
        attachment_id: &str,
    ) -> Result<(Attachment, Vec<u8>)> {
        let att = self
            .attachments(scope, order_id)
            .await?
            .into_iter()
            .find(|a| a.id == attachment_id)
            .ok_or(Error::NotFound)?;
        let data: Vec<u8> =
            sqlx::query("SELECT data FROM work_order_attachments WHERE tenant_id = $1 AND id = $2")
                .bind(scope.tenant_id())
                .bind(attachment_id)
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?;
        Ok((att, data))
    }

    /// The SLA dashboard's numbers.
    pub async fn sla_stats(&self, scope: &TenantScope) -> Result<SlaStats> {
        let now = chrono::Utc::now();
        let now_text = crate::time_text(now);
        let soon = crate::time_text(now + chrono::Duration::days(7));
        let month_ago = crate::time_text(now - chrono::Duration::days(30));
        let mut s = SlaStats::default();
        let rows = sqlx::query(
            "SELECT state, risk_level, due_at < $2, due_at < $3, COUNT(*) FROM work_orders \
             WHERE tenant_id = $1 AND state <> 'closed' GROUP BY state, risk_level, due_at < $2, due_at < $3",
        )
        .bind(scope.tenant_id())
        .bind(&now_text)
        .bind(&soon)
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let state: String = r.try_get(0)?;
            let level = (r.try_get::<i64, _>(1)?.clamp(1, 5) - 1) as usize;
            let overdue: i64 = r.try_get(2)?;
            let soon: i64 = r.try_get(3)?;
            let n: i64 = r.try_get(4)?;
            if let Some(i) = ["notified", "accepted", "fixing", "retest"]
                .iter()
                .position(|x| *x == state)
            {
                s.open_by_state[i] += n;
            }
            s.open_by_level[level] += n;
            if overdue != 0 {
                s.overdue_by_level[level] += n;
            } else if soon != 0 {
                s.due_soon += n;
            }
        }
        let r = sqlx::query(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN resolution = 'fixed' THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN resolution = 'fixed' AND closed_at <= due_at THEN 1 ELSE 0 END), 0) \
             FROM work_orders WHERE tenant_id = $1 AND state = 'closed' AND closed_at >= $2",
        )
        .bind(scope.tenant_id())
        .bind(&month_ago)
        .fetch_one(&self.pool)
        .await?;
        s.closed_30d = r.try_get(0)?;
        s.fixed_30d = r.try_get(1)?;
        s.closed_on_time_30d = r.try_get(2)?;
        Ok(s)
    }

    /// Escalates open orders past due that were not yet escalated, in every tenant: a
    /// history entry and a notice to the tenant's webhook and mail recipients. Returns how
    /// many. Run by the server's periodic round.
    pub async fn escalate_overdue_work_orders(&self) -> Result<usize> {
        let now = crate::now_text();
        let rows = sqlx::query(&format!(
            "SELECT w.tenant_id, {ORDER_COLUMNS} FROM {ORDER_FROM} WHERE w.state <> 'closed' AND w.due_at < $1 \
             AND w.escalated_at IS NULL ORDER BY w.tenant_id, w.due_at LIMIT 5000"
        ))
        .bind(&now)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut by_tenant: std::collections::BTreeMap<String, Vec<WorkOrder>> = Default::default();
        for r in &rows {
            let tenant: String = r.try_get(0)?;
            let order = order_from_row(r, &now, 1)?;
            by_tenant.entry(tenant).or_default().push(order);
        }
        let mut w = self.begin_write().await?;
        for (tenant, orders) in &by_tenant {
            let settings = self.vuln_settings_of(tenant).await?;
            for o in orders {
                sqlx::query("UPDATE work_orders SET escalated_at = $1 WHERE id = $2")
                    .bind(&now)
                    .bind(&o.id)
                    .execute(&mut *w.tx)
                    .await?;
                let note = format!("overdue since {}", o.due_at);
                add_history(
                    &mut w.tx,
                    tenant,
                    &o.id,
                    &now,
                    "yunshou",
                    "escalate",
                    None,
                    None,
                    Some(&note),
                )
                .await?;
            }
            let payload = serde_json::json!({
                "topic": "work_order.overdue",
                "count": orders.len(),
                "work_orders": orders.iter().take(500).map(|o| serde_json::json!({
                    "number": o.label, "title": o.title, "asset": o.asset_name, "assignee": o.assignee,
                    "risk_level": o.risk_level, "due_at": o.due_at,
                })).collect::<Vec<_>>(),
            });
            for mail in settings.mail_recipients(None) {
                outbox::enqueue(
                    &mut w.tx,
                    tenant,
                    "work_order.overdue",
                    &format!("mailto:{mail}"),
                    &payload,
                )
                .await?;
            }
            if let Some(url) = &settings.notify_webhook {
                outbox::enqueue(&mut w.tx, tenant, "work_order.overdue", url, &payload).await?;
            }
        }
        let mut entry = Actor::system().entry(None, "work_order.escalate", "work_order", None);
        entry.after = Some(serde_json::json!({ "count": rows.len() }));
        w.commit(entry).await?;
        Ok(rows.len())
    }
}

async fn locked_order(
    tx: &mut Tx,
    scope: &TenantScope,
    id: &str,
) -> Result<(WorkOrderState, String)> {
    let r =
        sqlx::query("SELECT state, finding_id FROM work_orders WHERE tenant_id = $1 AND id = $2")
            .bind(scope.tenant_id())
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(Error::NotFound)?;
    let state: String = r.try_get(0)?;
    Ok((
        WorkOrderState::parse(&state)
            .ok_or_else(|| Error::Corrupt(format!("work order state `{state}`")))?,
        r.try_get(1)?,
    ))
}

#[allow(clippy::too_many_arguments)]
async fn apply_change(
    tx: &mut Tx,
    scope: &TenantScope,
    id: &str,
    action: Option<WorkOrderAction>,
    note: Option<&str>,
    assignee: Option<&str>,
    actor: &Actor,
    now: &str,
) -> Result<()> {
    let (state, finding_id) = locked_order(tx, scope, id).await?;
    let tenant = scope.tenant_id();
    if let Some(a) = assignee {
        let value = (!a.is_empty()).then_some(a);
        sqlx::query("UPDATE work_orders SET assignee = $1, updated_at = $2 WHERE id = $3")
            .bind(value)
            .bind(now)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        add_history(
            tx,
            tenant,
            id,
            now,
            &actor.name,
            "assign",
            None,
            None,
            Some(a),
        )
        .await?;
    }
    let Some(action) = action else { return Ok(()) };
    let (to, resolution) = action.apply(state).map_err(Error::Conflict)?;
    if action == WorkOrderAction::RetestPass {
        let fixer: Option<String> = sqlx::query(
            "SELECT actor FROM work_order_history WHERE tenant_id = $1 AND work_order_id = $2 AND action = 'request_retest' \
             ORDER BY at DESC, id DESC LIMIT 1",
        )
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
        if fixer.as_deref() == Some(actor.name.as_str()) {
            return Err(Error::Conflict(
                "the retest verdict must come from someone other than the person who reported the fix".into(),
            ));
        }
    }
    move_order(
        tx,
        tenant,
        id,
        action,
        state,
        to,
        resolution,
        &actor.name,
        note.unwrap_or_default(),
        now,
    )
    .await?;
    let finding_status = match (action, resolution) {
        (_, Some(WorkOrderResolution::Fixed)) => Some("fixed"),
        (_, Some(WorkOrderResolution::RiskAccepted)) => Some("accepted"),
        (_, Some(WorkOrderResolution::FalsePositive)) => Some("false_positive"),
        (WorkOrderAction::Reopen | WorkOrderAction::RetestFail, _) => Some("open"),
        _ => None,
    };
    if let Some(status) = finding_status {
        let reopened = i64::from(action == WorkOrderAction::Reopen);
        sqlx::query("UPDATE findings SET status = $1, reopened = reopened + $2, updated_at = $3 WHERE tenant_id = $4 AND id = $5")
            .bind(status)
            .bind(reopened)
            .bind(now)
            .bind(tenant)
            .bind(&finding_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use yunshou_model::finding::{ReportItem, ReportedFinding, Severity, Target};

    #[tokio::test]
    async fn overdue_orders_are_escalated_once_with_a_notice() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        store.bootstrap(Some("Store-Test-Passw0rd")).await.unwrap();
        let (_, scope) = store.operator_scope("default").await.unwrap();
        let actor = Actor::cli();
        let mut settings = store.vuln_settings(&scope).await.unwrap();
        settings.notify_webhook = Some("http://127.0.0.1:9/hook".into());
        store
            .set_vuln_settings(&scope, &settings, &actor)
            .await
            .unwrap();
        let meta = crate::finding_import::ImportMeta {
            format: "nessus".into(),
            source: "nessus".into(),
            file_name: "scan.nessus".into(),
            sha256: String::new(),
        };
        let mut imp = store.begin_findings_import(&scope, meta).await.unwrap();
        let f = ReportedFinding {
            source: "nessus".into(),
            check_id: Some("1".into()),
            target: Target {
                ip: Some("10.9.9.9".into()),
                port: Some(22),
                ..Default::default()
            },
            title: "weak".into(),
            description: None,
            solution: None,
            evidence: None,
            cves: vec![],
            cwes: vec![],
            cvss3: None,
            cvss4: None,
            cvss2: None,
            severity: Severity::High,
            severity_raw: None,
            references: vec![],
            seen_at: None,
            known_exploited: true,
            epss: None,
            category: None,
            method: None,
        };
        imp.add(ReportItem::Finding(Box::new(f)), &actor)
            .await
            .unwrap();
        imp.finish(&actor).await.unwrap();
        assert_eq!(
            store.escalate_overdue_work_orders().await.unwrap(),
            0,
            "nothing is due yet"
        );
        sqlx::query("UPDATE work_orders SET due_at = '2020-01-01T00:00:00.000000Z'")
            .execute(&store.pool)
            .await
            .unwrap();
        assert_eq!(store.escalate_overdue_work_orders().await.unwrap(), 1);
        assert_eq!(
            store.escalate_overdue_work_orders().await.unwrap(),
            0,
            "once"
        );
        let (orders, _) = store
            .work_orders(
                &scope,
                &WorkOrderFilter {
                    overdue: Some(true),
                    ..Default::default()
                },
                Page::default(),
            )
            .await
            .unwrap();
        assert_eq!(orders.len(), 1);
        assert!(orders[0].escalated_at.is_some());
        let detail = store.work_order(&scope, &orders[0].id).await.unwrap();
        assert!(detail.history.iter().any(|h| h.action == "escalate"));
        let due = store.due_notifications(50, false).await.unwrap();
        assert!(
            due.iter()
                .any(|n| n.topic == "work_order.overdue" && n.url.starts_with("http")),
            "{due:?}"
        );
        assert_eq!(
            store
                .sla_stats(&scope)
                .await
                .unwrap()
                .overdue_by_level
                .iter()
                .sum::<i64>(),
            1
        );
    }
}
