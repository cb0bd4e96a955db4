//! Each tenant's vulnerability-management settings: the GB/T 20984 method and tables the
//! risk of every finding is computed with, SLA days per risk level, which findings get a
//! work order, and where work-order notices go. One JSON document per tenant; defaults
//! until an administrator saves one.

use crate::db::Store;
use crate::error::{Error, Result};
use crate::scope::TenantScope;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use yunshou_identify::risk::{RiskMethod, RiskTables};
use yunshou_model::work_order::SlaDays;
use yunshou_model::Actor;

/// A tenant's vulnerability-management settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VulnSettings {
    /// Matrix (default) or multiplication method.
    #[schema(value_type = String)]
    pub risk_method: RiskMethod,
    /// The lookup tables of the matrix method (editable; the table's name is shown on
    /// every finding it scored).
    #[schema(value_type = Object)]
    pub risk_tables: RiskTables,
    /// Days to fix per risk level.
    pub sla_days: SlaDays,
    /// The lowest risk level (1–5) whose findings get a work order; informational
    /// findings never do.
    pub work_order_min_level: u8,
    /// A webhook (http/https) told of new, overdue and reopened work orders.
    #[serde(default)]
    pub notify_webhook: Option<String>,
    /// E-mail addresses told of every notice, besides the assignee.
    #[serde(default)]
    pub notify_email: Vec<String>,
    /// Assignees' e-mail addresses (name → address): asset owners are people's names in
    /// the ledger; an assignee that is itself an address needs no entry.
    #[serde(default)]
    pub contacts: std::collections::BTreeMap<String, String>,
}

impl Default for VulnSettings {
    fn default() -> Self {
        VulnSettings {
            risk_method: RiskMethod::Matrix,
            risk_tables: RiskTables::default(),
            sla_days: SlaDays::default(),
            work_order_min_level: 2,
            notify_webhook: None,
            notify_email: vec![],
            contacts: Default::default(),
        }
    }
}

impl VulnSettings {
    /// Every reason the settings cannot be used, one a line.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let mut errors = vec![];
        if let Err(e) = self.risk_tables.validate() {
            errors.push(format!("risk_tables: {e}"));
        }
        if let Err(e) = self.sla_days.validate() {
            errors.push(e);
        }
        if !(1..=5).contains(&self.work_order_min_level) {
            errors.push("work_order_min_level: 1–5".into());
        }
        if let Some(url) = &self.notify_webhook {
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 2000 {
                errors.push("notify_webhook: an http(s) URL".into());
            }
        }
        for mail in &self.notify_email {
            if !is_mail_address(mail) {
                errors.push(format!("notify_email: `{mail}` is not an e-mail address"));
            }
        }
        for (name, mail) in &self.contacts {
            if name.trim().is_empty() || !is_mail_address(mail) {
                errors.push(format!(
                    "contacts: `{name}` → `{mail}` is not a name and an e-mail address"
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n"))
        }
    }
}

impl VulnSettings {
    /// Where to mail notices for `assignee`: its contact entry, or itself when it is an
    /// address, then every `notify_email`.
    pub fn mail_recipients(&self, assignee: Option<&str>) -> Vec<String> {
        let mut out = vec![];
        if let Some(a) = assignee {
            if let Some(m) = self.contacts.get(a) {
                out.push(m.clone());
            } else if is_mail_address(a) {
                out.push(a.to_string());
            }
        }
        for m in &self.notify_email {
            if !out.contains(m) {
                out.push(m.clone());
            }
        }
        out
    }
}

/// A plain `local@domain` check: enough to catch typing mistakes, not RFC 5322.
pub fn is_mail_address(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && s.len() <= 254
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
}

impl Store {
    /// The tenant's settings (defaults until saved).
    pub async fn vuln_settings(&self, scope: &TenantScope) -> Result<VulnSettings> {
        self.vuln_settings_of(scope.tenant_id()).await
    }

    pub(crate) async fn vuln_settings_of(&self, tenant_id: &str) -> Result<VulnSettings> {
        let row = sqlx::query("SELECT doc FROM vuln_settings WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => serde_json::from_str(&r.try_get::<String, _>(0)?)
                .map_err(|e| Error::Corrupt(format!("vuln settings: {e}"))),
            None => Ok(VulnSettings::default()),
        }
    }

    /// Saves the tenant's settings, audited with before and after. Findings already stored
    /// keep the risk they were scored with until they are reported again.
    pub async fn set_vuln_settings(
        &self,
        scope: &TenantScope,
        settings: &VulnSettings,
        actor: &Actor,
    ) -> Result<()> {
        settings.validate().map_err(Error::Invalid)?;
        let before = self.vuln_settings(scope).await?;
        let doc = serde_json::to_string(settings).expect("settings serialise");
        let mut w = self.begin_write().await?;
        sqlx::query("DELETE FROM vuln_settings WHERE tenant_id = $1")
            .bind(scope.tenant_id())
            .execute(&mut *w.tx)
            .await?;
        sqlx::query(
            "INSERT INTO vuln_settings (tenant_id, doc, updated_by, updated_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(scope.tenant_id())
        .bind(doc)
        .bind(&actor.name)
        .bind(crate::now_text())
        .execute(&mut *w.tx)
        .await?;
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "vuln.settings",
            "vuln_settings",
            None,
        );
        entry.before = serde_json::to_value(&before).ok();
        entry.after = serde_json::to_value(settings).ok();
        w.commit(entry).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_addresses() {
        assert!(is_mail_address("ops@jn.gov.cn"));
        assert!(!is_mail_address("ops@localhost"));
        assert!(!is_mail_address("a b@x.cn"));
        assert!(!is_mail_address("<a@x.cn>"));
    }

    #[test]
    fn defaults_are_valid() {
        assert!(VulnSettings::default().validate().is_ok());
        let bad = VulnSettings {
            work_order_min_level: 0,
            notify_email: vec!["nope".into()],
            ..Default::default()
        };
        let e = bad.validate().unwrap_err();
        assert_eq!(e.lines().count(), 2, "{e}");
    }
}
