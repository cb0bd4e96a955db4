//! A tenant's detection settings: which rules are off, alert suppressions, alert webhooks,
//! and its threat-intelligence feeds. Every change is audited.

use crate::alerts::Severity;
use crate::db::Store;
use crate::error::{Error, Result};
use crate::TenantScope;
use serde::Serialize;
use sqlx::Row;
use yunshou_model::{ids, Actor};

/// A suppression: new detections of a rule (or of any rule) for an entity value are dropped
/// until it expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Suppression {
    /// Identifier.
    pub id: String,
    /// The rule, or none for every rule.
    pub rule_id: Option<String>,
    /// `host`, `user`, `source_ip`, `destination_ip`, `ip` (either side) or `asset` (an id).
    pub entity: String,
    /// The value.
    pub value: String,
    /// Why.
    pub reason: String,
    /// Who.
    pub created_by: String,
    /// When.
    pub created_at: String,
    /// Until when.
    pub expires_at: String,
    /// Matched events held back so far (a correlation counts the events it stood for).
    pub suppressed: i64,
}

/// The entity kinds a suppression can name.
pub const SUPPRESSION_ENTITIES: &[&str] =
    &["host", "user", "source_ip", "destination_ip", "ip", "asset"];

/// Longest a suppression may last: a permanent one would hide a rule without review.
pub const MAX_SUPPRESSION_DAYS: i64 = 90;

/// An alert webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AlertWebhook {
    /// Identifier.
    pub id: String,
    /// Where new alerts are posted.
    pub url: String,
    /// Only alerts at least this severe.
    pub min_severity: Severity,
    /// Who added it.
    pub created_by: String,
    /// When.
    pub created_at: String,
}

/// An imported intelligence feed (without its content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IntelFeed {
    /// Identifier.
    pub id: String,
    /// Name, unique in the tenant; indicators name it as their source.
    pub name: String,
    /// `stix`, `misp-json`, `misp-csv` or `csv`.
    pub format: String,
    /// Indicators loaded.
    pub indicators: i64,
    /// Entries refused at import.
    pub rejected: i64,
    /// Events that hit one of its indicators.
    pub hits: i64,
    /// Who imported it.
    pub imported_by: String,
    /// When.
    pub imported_at: String,
}

/// A feed's stored file, for rebuilding the indicator sets.
#[derive(Debug, Clone)]
pub struct IntelFeedContent {
    /// Tenant.
    pub tenant_id: String,
    /// Feed name.
    pub name: String,
    /// Format.
    pub format: String,
    /// The file as imported.
    pub content: Vec<u8>,
}

const FEED_COLUMNS: &str = "id, name, format, indicators, rejected, hits, imported_by, imported_at";

fn feed_from_row(r: &sqlx::any::AnyRow) -> Result<IntelFeed> {
    Ok(IntelFeed {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        format: r.try_get(2)?,
        indicators: r.try_get(3)?,
        rejected: r.try_get(4)?,
        hits: r.try_get(5)?,
        imported_by: r.try_get(6)?,
        imported_at: r.try_get(7)?,
    })
}

/// Tenant-owned rows removed by id, with their audit names.
#[derive(Clone, Copy)]
pub(crate) enum Owned {
    AlertWebhook,
    IntelFeed,
    RuleSet,
}

impl Owned {
    /// (table, audited object type)
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Owned::AlertWebhook => ("alert_webhooks", "alert_webhook"),
            Owned::IntelFeed => ("intel_feeds", "intel_feed"),
            Owned::RuleSet => ("rule_sets", "rule_set"),
        }
    }
}

impl Store {
    /// Deletes one of the tenant's rows by id, audited as `<noun>.delete`; another tenant's
    /// row is not found.
    pub(crate) async fn delete_tenant_row(
        &self,
        scope: &TenantScope,
        what: Owned,
        id: &str,
        actor: &Actor,
    ) -> Result<()> {
        let (table, noun) = what.names();
        let mut w = self.begin_write().await?;
        let done = sqlx::query(&format!(
            "DELETE FROM {table} WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(scope.tenant_id())
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        let action = format!("{noun}.delete");
        w.commit(actor.entry(Some(scope.tenant_id()), &action, noun, Some(id)))
            .await?;
        Ok(())
    }

    /// Every tenant's rule switches: (tenant, rule id, enabled).
    pub async fn all_rule_settings(&self) -> Result<Vec<(String, String, bool)>> {
        let rows = sqlx::query("SELECT tenant_id, rule_id, enabled FROM rule_settings")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get::<i64, _>(2)? != 0)))
            .collect()
    }

    /// The rules a tenant has turned off.
    pub async fn disabled_rules(&self, scope: &TenantScope) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT rule_id FROM rule_settings WHERE tenant_id = $1 AND enabled = 0 ORDER BY rule_id",
        )
        .bind(scope.tenant_id())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Turns a rule on or off for the tenant, audited. The caller checks the rule exists.
    pub async fn set_rule_enabled(
        &self,
        scope: &TenantScope,
        rule_id: &str,
        enabled: bool,
        actor: &Actor,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO rule_settings (tenant_id, rule_id, enabled, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, rule_id) DO UPDATE SET enabled = excluded.enabled, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(scope.tenant_id())
        .bind(rule_id)
        .bind(i64::from(enabled))
        .bind(&actor.name)
        .bind(crate::now_text())
        .execute(&mut *w.tx)
        .await?;
        let action = if enabled {
            "rule.enable"
        } else {
            "rule.disable"
        };
        w.commit(actor.entry(Some(scope.tenant_id()), action, "rule", Some(rule_id)))
            .await?;
        Ok(())
    }

    /// Adds a suppression, audited. It must expire within [`MAX_SUPPRESSION_DAYS`].
    #[allow(clippy::too_many_arguments)]
    pub async fn add_suppression(
        &self,
        scope: &TenantScope,
        rule_id: Option<&str>,
        entity: &str,
        value: &str,
        reason: &str,
        expires_at: chrono::DateTime<chrono::Utc>,
        actor: &Actor,
    ) -> Result<Suppression> {
        if !SUPPRESSION_ENTITIES.contains(&entity) {
            return Err(Error::Invalid(format!(
                "entity: one of {}",
                SUPPRESSION_ENTITIES.join(", ")
            )));
        }
        let value = value.trim();
        if value.is_empty() || value.len() > 256 {
            return Err(Error::Invalid("value: 1–256 characters".into()));
        }
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(Error::Invalid("reason: 1–500 characters (say why)".into()));
        }
        let now = chrono::Utc::now();
        if expires_at <= now || expires_at > now + chrono::Duration::days(MAX_SUPPRESSION_DAYS) {
            return Err(Error::Invalid(format!(
                "expires_at: in the future and within {MAX_SUPPRESSION_DAYS} days"
            )));
        }
        let s = Suppression {
            id: ids::new_id(),
            rule_id: rule_id
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(String::from),
            entity: entity.into(),
            value: value.into(),
            reason: reason.into(),
            created_by: actor.name.clone(),
            created_at: crate::time_text(now),
            expires_at: crate::time_text(expires_at),
            suppressed: 0,
        };
        let mut w = self.begin_write().await?;
        sqlx::query("INSERT INTO alert_suppressions (id, tenant_id, rule_id, entity, value, reason, created_by, created_at, expires_at, suppressed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0)")
            .bind(&s.id)
            .bind(scope.tenant_id())
            .bind(&s.rule_id)
            .bind(&s.entity)
            .bind(&s.value)
            .bind(&s.reason)
            .bind(&s.created_by)
            .bind(&s.created_at)
            .bind(&s.expires_at)
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "alert_suppression.create",
            "alert_suppression",
            Some(&s.id),
        );
        entry.after = Some(serde_json::to_value(&s).expect("suppression serialises"));
        w.commit(entry).await?;
        Ok(s)
    }

    /// The tenant's suppressions, expired ones included (newest first).
    pub async fn suppressions(&self, scope: &TenantScope) -> Result<Vec<Suppression>> {
        let rows = sqlx::query("SELECT id, rule_id, entity, value, reason, created_by, created_at, expires_at, suppressed FROM alert_suppressions WHERE tenant_id = $1 ORDER BY created_at DESC, id")
            .bind(scope.tenant_id())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Suppression {
                    id: r.try_get(0)?,
                    rule_id: r.try_get(1)?,
                    entity: r.try_get(2)?,
                    value: r.try_get(3)?,
                    reason: r.try_get(4)?,
                    created_by: r.try_get(5)?,
                    created_at: r.try_get(6)?,
                    expires_at: r.try_get(7)?,
                    suppressed: r.try_get(8)?,
                })
            })
            .collect()
    }

    /// Ends a suppression now (it stays listed as expired), audited.
    pub async fn end_suppression(
        &self,
        scope: &TenantScope,
        id: &str,
        actor: &Actor,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        let now = crate::now_text();
        let done = sqlx::query("UPDATE alert_suppressions SET expires_at = $1 WHERE tenant_id = $2 AND id = $3 AND expires_at > $1")
            .bind(&now)
            .bind(scope.tenant_id())
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        w.commit(actor.entry(
            Some(scope.tenant_id()),
            "alert_suppression.end",
            "alert_suppression",
            Some(id),
        ))
        .await?;
        Ok(())
    }

    /// Adds an alert webhook (http or https), audited.
    pub async fn add_alert_webhook(
        &self,
        scope: &TenantScope,
        url: &str,
        min_severity: Severity,
        actor: &Actor,
    ) -> Result<AlertWebhook> {
        let url = url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 2000 {
            return Err(Error::Invalid("url: an http:// or https:// address".into()));
        }
        let hook = AlertWebhook {
            id: ids::new_id(),
            url: url.into(),
            min_severity,
            created_by: actor.name.clone(),
            created_at: crate::now_text(),
        };
        let mut w = self.begin_write().await?;
        sqlx::query("INSERT INTO alert_webhooks (id, tenant_id, url, min_severity, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&hook.id)
            .bind(scope.tenant_id())
            .bind(&hook.url)
            .bind(min_severity.as_str())
            .bind(&hook.created_by)
            .bind(&hook.created_at)
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "alert_webhook.create",
            "alert_webhook",
            Some(&hook.id),
        );
        entry.after = Some(serde_json::to_value(&hook).expect("webhook serialises"));
        w.commit(entry).await?;
        Ok(hook)
    }

    /// The tenant's alert webhooks.
    pub async fn alert_webhooks(&self, scope: &TenantScope) -> Result<Vec<AlertWebhook>> {
        let rows = sqlx::query("SELECT id, url, min_severity, created_by, created_at FROM alert_webhooks WHERE tenant_id = $1 ORDER BY created_at, id")
            .bind(scope.tenant_id())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let min: String = r.try_get(2)?;
                Ok(AlertWebhook {
                    id: r.try_get(0)?,
                    url: r.try_get(1)?,
                    min_severity: Severity::parse(&min)
                        .ok_or_else(|| Error::Corrupt(min.clone()))?,
                    created_by: r.try_get(3)?,
                    created_at: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// Removes an alert webhook, audited.
    pub async fn delete_alert_webhook(
        &self,
        scope: &TenantScope,
        id: &str,
        actor: &Actor,
    ) -> Result<()> {
        self.delete_tenant_row(scope, Owned::AlertWebhook, id, actor)
            .await
    }

    /// Stores an imported feed (replacing one of the same name), audited. The caller parsed
    /// it and passes what the import found.
    #[allow(clippy::too_many_arguments)]
    pub async fn save_intel_feed(
        &self,
        scope: &TenantScope,
        name: &str,
        format: &str,
        content: &[u8],
        indicators: i64,
        rejected: i64,
        actor: &Actor,
    ) -> Result<IntelFeed> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::Invalid("name: 1–100 characters".into()));
        }
        let feed = IntelFeed {
            id: ids::new_id(),
            name: name.into(),
            format: format.into(),
            indicators,
            rejected,
            hits: 0,
            imported_by: actor.name.clone(),
            imported_at: crate::now_text(),
        };
        let mut w = self.begin_write().await?;
        let before = sqlx::query(
            "SELECT indicators, imported_at FROM intel_feeds WHERE tenant_id = $1 AND name = $2",
        )
        .bind(scope.tenant_id())
        .bind(name)
        .fetch_optional(&mut *w.tx)
        .await?;
        sqlx::query("DELETE FROM intel_feeds WHERE tenant_id = $1 AND name = $2")
            .bind(scope.tenant_id())
            .bind(name)
            .execute(&mut *w.tx)
            .await?;
        sqlx::query("INSERT INTO intel_feeds (id, tenant_id, name, format, content, indicators, rejected, hits, imported_by, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9)")
            .bind(&feed.id)
            .bind(scope.tenant_id())
            .bind(&feed.name)
            .bind(&feed.format)
            .bind(content.to_vec())
            .bind(indicators)
            .bind(rejected)
            .bind(&feed.imported_by)
            .bind(&feed.imported_at)
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "intel_feed.import",
            "intel_feed",
            Some(&feed.id),
        );
        if let Some(b) = before {
            entry.before = Some(serde_json::json!({
                "indicators": b.try_get::<i64, _>(0)?, "imported_at": b.try_get::<String, _>(1)?,
            }));
        }
        entry.after = Some(serde_json::to_value(&feed).expect("feed serialises"));
        w.commit(entry).await?;
        Ok(feed)
    }

    /// The tenant's feeds.
    pub async fn intel_feeds(&self, scope: &TenantScope) -> Result<Vec<IntelFeed>> {
        let rows = sqlx::query(&format!(
            "SELECT {FEED_COLUMNS} FROM intel_feeds WHERE tenant_id = $1 ORDER BY name"
        ))
        .bind(scope.tenant_id())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(feed_from_row).collect()
    }

    /// Every tenant's feed files.
    pub async fn all_intel_feed_contents(&self) -> Result<Vec<IntelFeedContent>> {
        let rows = sqlx::query(
            "SELECT tenant_id, name, format, content FROM intel_feeds ORDER BY tenant_id, name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(IntelFeedContent {
                    tenant_id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    format: r.try_get(2)?,
                    content: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Removes a feed, audited.
    pub async fn delete_intel_feed(
        &self,
        scope: &TenantScope,
        id: &str,
        actor: &Actor,
    ) -> Result<()> {
        self.delete_tenant_row(scope, Owned::IntelFeed, id, actor)
            .await
    }

    /// Adds to feeds' hit counts (bookkeeping of the pipeline, not audited).
    pub async fn add_intel_hits(&self, tenant_id: &str, hits: &[(String, i64)]) -> Result<()> {
        if hits.is_empty() {
            return Ok(());
        }
        let _lock = self.writer_lock().await;
        let mut tx = self.pool.begin().await?;
        for (name, n) in hits {
            sqlx::query(
                "UPDATE intel_feeds SET hits = hits + $1 WHERE tenant_id = $2 AND name = $3",
            )
            .bind(n)
            .bind(tenant_id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
