//! Change control of the asset ledger (I.1.d): change rules, the change alerts they raise,
//! changes held for approval, and the decisions on them.
//!
//! Rules are checked inside the write transaction of the change, so an alert exists exactly
//! when its change does (or, for a held change, exactly when the request does), and its
//! webhook notification is queued in the same transaction (see [`crate::outbox`]).

use crate::assets::AssetChange;
use crate::db::Store;
use crate::error::{Error, Result};
use crate::{Page, TenantScope};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use yunshou_identify::change_rules::{
    default_rules, ChangeRule, RuleAction, RuleDefinition, RuleMatch,
};
use yunshou_model::asset::Asset;
use yunshou_model::{ids, Actor};

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Where a change alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// Raised; the change took effect; nobody has looked yet.
    Open,
    /// Seen by someone.
    Acknowledged,
    /// The change is held until someone approves or rejects it.
    Pending,
    /// The held change was approved and took effect.
    Approved,
    /// The held change was rejected and discarded.
    Rejected,
}

impl AlertStatus {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Pending => "pending",
            AlertStatus::Approved => "approved",
            AlertStatus::Rejected => "rejected",
        }
    }

    /// Parses the API name.
    pub fn parse(s: &str) -> Option<AlertStatus> {
        serde_json::from_value(serde_json::Value::String(s.into())).ok()
    }
}

/// A decision on a change alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Mark an open alert as seen.
    Acknowledge,
    /// Let a held change take effect.
    Approve,
    /// Discard a held change.
    Reject,
}

/// A change alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChangeAlert {
    /// Identifier.
    pub id: String,
    /// The asset.
    pub asset_id: String,
    /// Its name when the alert was raised.
    pub asset_name: String,
    /// The rule that raised it.
    pub rule_id: String,
    /// The rule's name.
    pub rule_name: String,
    /// `low`, `medium` or `high`.
    pub severity: String,
    /// What happened.
    pub reasons: Vec<String>,
    /// The history entry of the change, once it took effect.
    pub change_id: Option<String>,
    /// The held change awaiting a decision, if the rule requires approval.
    pub pending_id: Option<String>,
    /// Status.
    pub status: AlertStatus,
    /// Who made (or requested) the change.
    pub raised_by: String,
    /// When, RFC 3339.
    pub created_at: String,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<String>,
    /// Why.
    pub decision_note: Option<String>,
}

/// A change held for approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PendingChange {
    /// Identifier.
    pub id: String,
    /// The asset.
    pub asset_id: String,
    /// `update` or `lifecycle`.
    pub action: String,
    /// The asset's revision the change was made against.
    pub base_revision: i64,
    /// The record as it will be once approved.
    pub proposed: Asset,
    /// Who asked for it.
    pub requested_by: String,
    /// When.
    pub requested_at: String,
}

/// What became of a requested change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// It took effect (`change` is `None` when it changed nothing); `alerts` were raised.
    Applied {
        /// The asset now.
        asset: Asset,
        /// Its history entry.
        change: Option<AssetChange>,
        /// Alerts raised.
        alerts: Vec<ChangeAlert>,
    },
    /// A rule requires approval: nothing changed yet.
    Held {
        /// The held change.
        pending: PendingChange,
        /// Alerts raised, all `pending`.
        alerts: Vec<ChangeAlert>,
    },
}

const ALERT_COLUMNS: &str = "id, asset_id, asset_name, rule_id, rule_name, severity, reasons, change_id, pending_id, status, raised_by, created_at, decided_by, decided_at, decision_note";

fn alert_from_row(r: &sqlx::any::AnyRow) -> Result<ChangeAlert> {
    let reasons: String = r.try_get(6)?;
    let status: String = r.try_get(9)?;
    Ok(ChangeAlert {
        id: r.try_get(0)?,
        asset_id: r.try_get(1)?,
        asset_name: r.try_get(2)?,
        rule_id: r.try_get(3)?,
        rule_name: r.try_get(4)?,
        severity: r.try_get(5)?,
        reasons: serde_json::from_str(&reasons)
            .map_err(|e| Error::Corrupt(format!("alert reasons: {e}")))?,
        change_id: r.try_get(7)?,
        pending_id: r.try_get(8)?,
        status: AlertStatus::parse(&status)
            .ok_or_else(|| Error::Corrupt(format!("alert status `{status}`")))?,
        raised_by: r.try_get(10)?,
        created_at: r.try_get(11)?,
        decided_by: r.try_get(12)?,
        decided_at: r.try_get(13)?,
        decision_note: r.try_get(14)?,
    })
}

fn rule_from_row(r: &sqlx::any::AnyRow) -> Result<ChangeRule> {
    let definition: String = r.try_get(1)?;
    Ok(ChangeRule {
        id: r.try_get(0)?,
        definition: serde_json::from_str(&definition)
            .map_err(|e| Error::Corrupt(format!("change rule: {e}")))?,
    })
}

/// Gives a new tenant the default change rules.
pub(crate) async fn seed_change_rules(tx: &mut Tx, tenant_id: &str) -> Result<()> {
    let now = crate::now_text();
    for definition in default_rules() {
        sqlx::query("INSERT INTO asset_change_rules (id, tenant_id, definition, created_at) VALUES ($1, $2, $3, $4)")
            .bind(ids::new_id())
            .bind(tenant_id)
            .bind(serde_json::to_string(&definition).expect("rule serialises"))
            .bind(&now)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

async fn rules_in(tx: &mut Tx, tenant_id: &str) -> Result<Vec<ChangeRule>> {
    let rows = sqlx::query(
        "SELECT id, definition FROM asset_change_rules WHERE tenant_id = $1 ORDER BY created_at, id",
    )
    .bind(tenant_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(rule_from_row).collect()
}

/// The rules that hold for a change, checked inside its transaction.
pub(crate) async fn check_rules(
    tx: &mut Tx,
    scope: &TenantScope,
    before: Option<&Asset>,
    after: &Asset,
) -> Result<Vec<RuleMatch>> {
    let rules = rules_in(tx, scope.tenant_id()).await?;
    Ok(yunshou_identify::change_rules::evaluate(
        &rules, before, after,
    ))
}

/// True when any match holds the change for approval.
pub(crate) fn needs_approval(matches: &[RuleMatch]) -> bool {
    matches
        .iter()
        .any(|m| m.action == RuleAction::RequireApproval)
}

/// Records an alert per match and queues each rule's webhook.
pub(crate) async fn raise_alerts(
    tx: &mut Tx,
    scope: &TenantScope,
    asset: &Asset,
    matches: &[RuleMatch],
    change_id: Option<&str>,
    pending_id: Option<&str>,
    actor: &Actor,
) -> Result<Vec<ChangeAlert>> {
    let status = if pending_id.is_some() {
        AlertStatus::Pending
    } else {
        AlertStatus::Open
    };
    let mut alerts = Vec::with_capacity(matches.len());
    for m in matches {
        let alert = ChangeAlert {
            id: ids::new_id(),
            asset_id: asset.id.clone(),
            asset_name: asset.fields.name.clone(),
            rule_id: m.rule_id.clone(),
            rule_name: m.rule_name.clone(),
            severity: m.severity.as_str().into(),
            reasons: m.reasons.clone(),
            change_id: change_id.map(str::to_string),
            pending_id: pending_id.map(str::to_string),
            status,
            raised_by: actor.name.clone(),
            created_at: crate::now_text(),
            decided_by: None,
            decided_at: None,
            decision_note: None,
        };
        sqlx::query(&format!(
            "INSERT INTO asset_change_alerts (tenant_id, {ALERT_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)"
        ))
        .bind(scope.tenant_id())
        .bind(&alert.id)
        .bind(&alert.asset_id)
        .bind(&alert.asset_name)
        .bind(&alert.rule_id)
        .bind(&alert.rule_name)
        .bind(&alert.severity)
        .bind(serde_json::to_string(&alert.reasons).expect("strings serialise"))
        .bind(&alert.change_id)
        .bind(&alert.pending_id)
        .bind(alert.status.as_str())
        .bind(&alert.raised_by)
        .bind(&alert.created_at)
        .bind(&alert.decided_by)
        .bind(&alert.decided_at)
        .bind(&alert.decision_note)
        .execute(&mut **tx)
        .await?;
        if let Some(url) = &m.webhook_url {
            notify(tx, scope, url, &alert).await?;
        }
        alerts.push(alert);
    }
    Ok(alerts)
}

async fn notify(tx: &mut Tx, scope: &TenantScope, url: &str, alert: &ChangeAlert) -> Result<()> {
    let payload = serde_json::json!({
        "type": "asset.change_alert",
        "tenant_id": scope.tenant_id(),
        "alert": alert,
    });
    crate::outbox::enqueue(tx, scope.tenant_id(), "asset.change_alert", url, &payload).await
}

/// Stores a held change.
pub(crate) async fn hold_change(
    tx: &mut Tx,
    scope: &TenantScope,
    action: &str,
    before: &Asset,
    proposed: &Asset,
    actor: &Actor,
) -> Result<PendingChange> {
    let pending = PendingChange {
        id: ids::new_id(),
        asset_id: before.id.clone(),
        action: action.into(),
        base_revision: before.revision,
        proposed: proposed.clone(),
        requested_by: actor.name.clone(),
        requested_at: crate::now_text(),
    };
    sqlx::query(
        "INSERT INTO asset_pending_changes (id, tenant_id, asset_id, action, base_revision, proposed, requested_by_id, requested_by, requested_at, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending')",
    )
    .bind(&pending.id)
    .bind(scope.tenant_id())
    .bind(&pending.asset_id)
    .bind(action)
    .bind(pending.base_revision)
    .bind(serde_json::to_string(proposed).expect("asset serialises"))
    .bind(&actor.user_id)
    .bind(&actor.name)
    .bind(&pending.requested_at)
    .execute(&mut **tx)
    .await?;
    Ok(pending)
}

/// Filters of the change-alert list.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// Only this status.
    pub status: Option<AlertStatus>,
    /// Only this asset.
    pub asset_id: Option<String>,
}

impl Store {
    /// The tenant's change rules, oldest first.
    pub async fn change_rules(&self, scope: &TenantScope) -> Result<Vec<ChangeRule>> {
        let mut tx = self.pool.begin().await?;
        let rules = rules_in(&mut tx, scope.tenant_id()).await?;
        tx.commit().await?;
        Ok(rules)
    }

    /// Adds a change rule (validated by the caller with [`RuleDefinition::validate`]).
    pub async fn create_change_rule(
        &self,
        scope: &TenantScope,
        definition: RuleDefinition,
        actor: &Actor,
    ) -> Result<ChangeRule> {
        let rule = ChangeRule {
            id: ids::new_id(),
            definition,
        };
        let mut w = self.begin_write().await?;
        sqlx::query("INSERT INTO asset_change_rules (id, tenant_id, definition, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&rule.id)
            .bind(scope.tenant_id())
            .bind(serde_json::to_string(&rule.definition).expect("rule serialises"))
            .bind(crate::now_text())
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "asset_rule.create",
            "asset_rule",
            Some(&rule.id),
        );
        entry.after = Some(serde_json::to_value(&rule).expect("rule serialises"));
        w.commit(entry).await?;
        Ok(rule)
    }

    /// Replaces a rule's definition.
    pub async fn update_change_rule(
        &self,
        scope: &TenantScope,
        id: &str,
        definition: RuleDefinition,
        actor: &Actor,
    ) -> Result<ChangeRule> {
        let mut w = self.begin_write().await?;
        let before = self.rule_in(&mut w.tx, scope, id).await?;
        let rule = ChangeRule {
            id: id.into(),
            definition,
        };
        sqlx::query("UPDATE asset_change_rules SET definition = $1 WHERE id = $2")
            .bind(serde_json::to_string(&rule.definition).expect("rule serialises"))
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "asset_rule.update",
            "asset_rule",
            Some(id),
        );
        entry.before = Some(serde_json::to_value(&before).expect("rule serialises"));
        entry.after = Some(serde_json::to_value(&rule).expect("rule serialises"));
        w.commit(entry).await?;
        Ok(rule)
    }

    /// Deletes a rule; the alerts it raised stay.
    pub async fn delete_change_rule(
        &self,
        scope: &TenantScope,
        id: &str,
        actor: &Actor,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        let before = self.rule_in(&mut w.tx, scope, id).await?;
        sqlx::query("DELETE FROM asset_change_rules WHERE id = $1")
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "asset_rule.delete",
            "asset_rule",
            Some(id),
        );
        entry.before = Some(serde_json::to_value(&before).expect("rule serialises"));
        w.commit(entry).await?;
        Ok(())
    }

    async fn rule_in(&self, tx: &mut Tx, scope: &TenantScope, id: &str) -> Result<ChangeRule> {
        let row = sqlx::query(
            "SELECT id, definition FROM asset_change_rules WHERE tenant_id = $1 AND id = $2",
        )
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::NotFound)?;
        rule_from_row(&row)
    }

    /// The tenant's change alerts, newest first, and how many match.
    pub async fn change_alerts(
        &self,
        scope: &TenantScope,
        filter: &AlertFilter,
        page: Page,
    ) -> Result<(Vec<ChangeAlert>, i64)> {
        let mut cond = String::from("tenant_id = $1");
        let mut args = vec![scope.tenant_id().to_string()];
        if let Some(s) = filter.status {
            args.push(s.as_str().into());
            cond.push_str(&format!(" AND status = ${}", args.len()));
        }
        if let Some(a) = &filter.asset_id {
            args.push(a.clone());
            cond.push_str(&format!(" AND asset_id = ${}", args.len()));
        }
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM asset_change_alerts WHERE {cond} ORDER BY created_at DESC, id DESC LIMIT ${} OFFSET ${}",
            args.len() + 1,
            args.len() + 2
        );
        let mut q = sqlx::query(&sql);
        for a in &args {
            q = q.bind(a);
        }
        let rows = q
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(&self.pool)
            .await?;
        let items = rows.iter().map(alert_from_row).collect::<Result<_>>()?;
        let count_sql = format!("SELECT COUNT(*) FROM asset_change_alerts WHERE {cond}");
        let mut q = sqlx::query_scalar(&count_sql);
        for a in &args {
            q = q.bind(a);
        }
        Ok((items, q.fetch_one(&self.pool).await?))
    }

    /// One change alert.
    pub async fn change_alert(&self, scope: &TenantScope, id: &str) -> Result<ChangeAlert> {
        let row = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM asset_change_alerts WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        alert_from_row(&row)
    }

    /// The held change behind an alert.
    pub async fn pending_change(&self, scope: &TenantScope, id: &str) -> Result<PendingChange> {
        let mut tx = self.pool.begin().await?;
        let (pending, _, _) = pending_in(&mut tx, scope, id).await?;
        tx.commit().await?;
        Ok(pending)
    }

    /// Decides on a change alert. Acknowledging applies to open alerts. Approving or
    /// rejecting applies to held changes and settles every alert of that change; the person
    /// who requested a change cannot approve it, and a change whose asset has changed since
    /// cannot be approved (it would overwrite the newer record).
    pub async fn decide_change_alert(
        &self,
        scope: &TenantScope,
        id: &str,
        decision: Decision,
        note: Option<&str>,
        actor: &Actor,
    ) -> Result<ChangeAlert> {
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > 1000) {
            return Err(Error::Invalid("note: at most 1000 characters".into()));
        }
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM asset_change_alerts WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(&mut *w.tx)
        .await?
        .ok_or(Error::NotFound)?;
        let alert = alert_from_row(&row)?;
        let now = crate::now_text();
        let settle = |status: AlertStatus, change_id: Option<String>| {
            let mut a = alert.clone();
            a.status = status;
            a.change_id = change_id.or(a.change_id);
            a.decided_by = Some(actor.name.clone());
            a.decided_at = Some(now.clone());
            a.decision_note = note.map(str::to_string);
            a
        };
        let (after, action) = match (alert.status, decision) {
            (AlertStatus::Open, Decision::Acknowledge) => (
                settle(AlertStatus::Acknowledged, None),
                "asset_alert.acknowledge",
            ),
            (AlertStatus::Pending, Decision::Approve | Decision::Reject) => {
                let pending_id = alert
                    .pending_id
                    .clone()
                    .ok_or_else(|| Error::Corrupt("pending alert without a change".into()))?;
                let (pending, requested_by_id, _) =
                    pending_in(&mut w.tx, scope, &pending_id).await?;
                if requested_by_id.is_some() && requested_by_id == actor.user_id {
                    return Err(Error::Conflict(
                        "decision: you requested this change; another person must decide on it"
                            .into(),
                    ));
                }
                let (status, change_id) = if decision == Decision::Approve {
                    let requester = Actor {
                        user_id: requested_by_id,
                        name: pending.requested_by.clone(),
                        source_ip: None,
                    };
                    let change = apply_pending(&mut w.tx, scope, &pending, &requester).await?;
                    (AlertStatus::Approved, Some(change.id))
                } else {
                    (AlertStatus::Rejected, None)
                };
                sqlx::query("UPDATE asset_pending_changes SET status = $1 WHERE id = $2")
                    .bind(status.as_str())
                    .bind(&pending_id)
                    .execute(&mut *w.tx)
                    .await?;
                sqlx::query("UPDATE asset_change_alerts SET status = $1, change_id = $2, decided_by = $3, decided_at = $4, decision_note = $5 WHERE tenant_id = $6 AND pending_id = $7")
                    .bind(status.as_str())
                    .bind(&change_id)
                    .bind(&actor.name)
                    .bind(&now)
                    .bind(note)
                    .bind(scope.tenant_id())
                    .bind(&pending_id)
                    .execute(&mut *w.tx)
                    .await?;
                let action = if decision == Decision::Approve {
                    "asset_change.approve"
                } else {
                    "asset_change.reject"
                };
                (settle(status, change_id), action)
            }
            (status, decision) => {
                return Err(Error::Conflict(format!(
                    "decision: cannot {} an alert that is {}",
                    match decision {
                        Decision::Acknowledge => "acknowledge",
                        Decision::Approve => "approve",
                        Decision::Reject => "reject",
                    },
                    status.as_str()
                )))
            }
        };
        if action == "asset_alert.acknowledge" {
            sqlx::query("UPDATE asset_change_alerts SET status = $1, decided_by = $2, decided_at = $3, decision_note = $4 WHERE id = $5")
                .bind(after.status.as_str())
                .bind(&actor.name)
                .bind(&now)
                .bind(note)
                .bind(id)
                .execute(&mut *w.tx)
                .await?;
        }
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            action,
            "asset",
            Some(&alert.asset_id),
        );
        entry.before = Some(serde_json::json!({"alert": alert.id, "status": alert.status}));
        entry.after =
            Some(serde_json::json!({"alert": after.id, "status": after.status, "note": note}));
        w.commit(entry).await?;
        Ok(after)
    }
}

/// Applies an approved change, recorded in the history as the requester's, provided the asset
/// is still at the revision it was made against.
async fn apply_pending(
    tx: &mut Tx,
    scope: &TenantScope,
    pending: &PendingChange,
    requester: &Actor,
) -> Result<AssetChange> {
    let before = Store::locked_asset(tx, scope, &pending.asset_id).await?;
    if before.revision != pending.base_revision {
        return Err(Error::Conflict(format!(
                "revision: the asset changed after this change was requested (revision {} → {}); reject it and request it again",
                pending.base_revision, before.revision
            )));
    }
    let after = Asset {
        revision: before.revision + 1,
        updated_at: crate::now_text(),
        ..pending.proposed.clone()
    };
    Store::write_asset_rows(tx, &after, false).await?;
    let change =
        Store::record_change(tx, requester, &pending.action, Some(&before), &after).await?;
    crate::asset_views::refresh_exposure(tx, scope, Some(&before), &after).await?;
    Ok(change)
}

async fn pending_in(
    tx: &mut Tx,
    scope: &TenantScope,
    id: &str,
) -> Result<(PendingChange, Option<String>, String)> {
    let row = sqlx::query(
        "SELECT id, asset_id, action, base_revision, proposed, requested_by_id, requested_by, requested_at, status \
         FROM asset_pending_changes WHERE tenant_id = $1 AND id = $2",
    )
    .bind(scope.tenant_id())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound)?;
    let proposed: String = row.try_get(4)?;
    Ok((
        PendingChange {
            id: row.try_get(0)?,
            asset_id: row.try_get(1)?,
            action: row.try_get(2)?,
            base_revision: row.try_get(3)?,
            proposed: serde_json::from_str(&proposed)
                .map_err(|e| Error::Corrupt(format!("pending change: {e}")))?,
            requested_by: row.try_get(6)?,
            requested_at: row.try_get(7)?,
        },
        row.try_get(5)?,
        row.try_get(8)?,
    ))
}
