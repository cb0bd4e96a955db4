//! Sigma rule directories a tenant imported (MO.2.a): each set is kept whole (its files as
//! uploaded) and replaced whole by a new import of the same name; the detector compiles a
//! tenant's sets into rules only that tenant's events meet.

use crate::detection_settings::Owned;
use crate::{Error, Result, Store, TenantScope};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use yunshou_model::{ids, Actor};

/// One file of a rule set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleFile {
    /// Path within the imported directory.
    pub path: String,
    /// The YAML.
    pub text: String,
}

/// An imported rule set (without its files).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleSet {
    /// Identifier.
    pub id: String,
    /// Name (the directory's, unless given).
    pub name: String,
    /// Rules and correlations it holds.
    pub rules: i64,
    /// Files it holds.
    pub files: i64,
    /// Who imported it.
    pub imported_by: String,
    /// When.
    pub imported_at: String,
}

/// A tenant's set with its files, as the detector compiles it.
#[derive(Debug, Clone)]
pub struct RuleSetContent {
    /// Tenant.
    pub tenant_id: String,
    /// Set name.
    pub name: String,
    /// Its files.
    pub files: Vec<RuleFile>,
}

/// Longest set name.
pub const MAX_NAME_CHARS: usize = 100;

fn set_from_row(r: &sqlx::any::AnyRow) -> Result<RuleSet> {
    let files: String = r.try_get(2)?;
    let files: Vec<RuleFile> =
        serde_json::from_str(&files).map_err(|e| Error::Corrupt(e.to_string()))?;
    Ok(RuleSet {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        files: files.len() as i64,
        rules: r.try_get(3)?,
        imported_by: r.try_get(4)?,
        imported_at: r.try_get(5)?,
    })
}

const SET_COLUMNS: &str = "id, name, files, rules, imported_by, imported_at";

impl Store {
    /// Saves a tenant's rule set, replacing one of the same name, audited. The caller has
    /// compiled `files` and counts `rules` in them.
    pub async fn save_rule_set(
        &self,
        scope: &TenantScope,
        name: &str,
        files: &[RuleFile],
        rules: i64,
        actor: &Actor,
    ) -> Result<RuleSet> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(Error::Invalid(format!(
                "name: 1–{MAX_NAME_CHARS} characters"
            )));
        }
        if files.is_empty() {
            return Err(Error::Invalid("files: at least one rule file".into()));
        }
        let set = RuleSet {
            id: ids::new_id(),
            name: name.into(),
            rules,
            files: files.len() as i64,
            imported_by: actor.name.clone(),
            imported_at: crate::now_text(),
        };
        let mut w = self.begin_write().await?;
        let before = sqlx::query(&format!(
            "SELECT {SET_COLUMNS} FROM rule_sets WHERE tenant_id = $1 AND name = $2"
        ))
        .bind(scope.tenant_id())
        .bind(name)
        .fetch_optional(&mut *w.tx)
        .await?
        .map(|r| set_from_row(&r))
        .transpose()?;
        sqlx::query("DELETE FROM rule_sets WHERE tenant_id = $1 AND name = $2")
            .bind(scope.tenant_id())
            .bind(name)
            .execute(&mut *w.tx)
            .await?;
        sqlx::query("INSERT INTO rule_sets (id, tenant_id, name, files, rules, imported_by, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&set.id)
            .bind(scope.tenant_id())
            .bind(&set.name)
            .bind(serde_json::to_string(files).expect("files serialise"))
            .bind(rules)
            .bind(&set.imported_by)
            .bind(&set.imported_at)
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "rule_set.import",
            "rule_set",
            Some(&set.id),
        );
        entry.before = before.map(|b| serde_json::to_value(b).expect("set serialises"));
        entry.after = Some(serde_json::to_value(&set).expect("set serialises"));
        w.commit(entry).await?;
        Ok(set)
    }

    /// The tenant's rule sets.
    pub async fn rule_sets(&self, scope: &TenantScope) -> Result<Vec<RuleSet>> {
        let rows = sqlx::query(&format!(
            "SELECT {SET_COLUMNS} FROM rule_sets WHERE tenant_id = $1 ORDER BY name"
        ))
        .bind(scope.tenant_id())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(set_from_row).collect()
    }

    /// Every tenant's sets with their files (or one tenant's).
    pub async fn rule_set_contents(&self, tenant_id: Option<&str>) -> Result<Vec<RuleSetContent>> {
        let rows = sqlx::query(
            "SELECT tenant_id, name, files FROM rule_sets WHERE $1 IS NULL OR tenant_id = $1 ORDER BY tenant_id, name",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let files: String = r.try_get(2)?;
                Ok(RuleSetContent {
                    tenant_id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    files: serde_json::from_str(&files)
                        .map_err(|e| Error::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }

    /// Removes a rule set, audited.
    pub async fn delete_rule_set(
        &self,
        scope: &TenantScope,
        id: &str,
        actor: &Actor,
    ) -> Result<()> {
        self.delete_tenant_row(scope, Owned::RuleSet, id, actor)
            .await
    }
}
