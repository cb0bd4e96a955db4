//! Tenants.

use crate::db::Store;
use crate::error::{Error, Result};
use crate::TenantScope;
use yunshou_model::identity::{check_display_name, check_tenant_name};
use yunshou_model::{ids, Actor, Role, Tenant, TenantKind};

type TenantRow = (String, String, String, String, String);
const COLUMNS: &str = "id, name, display_name, kind, created_at";

pub(crate) fn tenant_from_row(
    (id, name, display_name, kind, created_at): TenantRow,
) -> Result<Tenant> {
    let kind =
        TenantKind::parse(&kind).ok_or_else(|| Error::Corrupt(format!("tenant kind `{kind}`")))?;
    Ok(Tenant {
        id,
        name,
        display_name,
        kind,
        created_at,
    })
}

impl Store {
    /// Creates a tenant. When `creator` is a signed-in user, that user is made its admin so
    /// the new tenant can be worked with at once.
    pub async fn create_tenant(
        &self,
        name: &str,
        display_name: &str,
        kind: TenantKind,
        creator: &Actor,
        audit_scope: Option<&TenantScope>,
    ) -> Result<Tenant> {
        check_tenant_name(name).map_err(Error::Invalid)?;
        check_display_name(display_name).map_err(Error::Invalid)?;
        let tenant = Tenant {
            id: ids::new_id(),
            name: name.to_string(),
            display_name: display_name.to_string(),
            kind,
            created_at: crate::now_text(),
        };
        let mut w = self.begin_write().await?;
        let inserted = sqlx::query(&format!(
            "INSERT INTO tenants ({COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
        ))
        .bind(&tenant.id)
        .bind(&tenant.name)
        .bind(&tenant.display_name)
        .bind(kind.as_str())
        .bind(&tenant.created_at)
        .execute(&mut *w.tx)
        .await;
        if let Err(e) = inserted {
            return Err(if Error::is_unique_violation(&e) {
                Error::Conflict(format!("a tenant named `{name}` already exists"))
            } else {
                e.into()
            });
        }
        crate::asset_control::seed_change_rules(&mut w.tx, &tenant.id).await?;
        if let Some(user_id) = &creator.user_id {
            sqlx::query("INSERT INTO role_grants (tenant_id, user_id, role, granted_at) VALUES ($1, $2, $3, $4)")
                .bind(&tenant.id)
                .bind(user_id)
                .bind(Role::Admin.as_str())
                .bind(&tenant.created_at)
                .execute(&mut *w.tx)
                .await?;
        }
        let audit_tenant = audit_scope
            .map(|s| s.tenant_id().to_string())
            .unwrap_or_else(|| tenant.id.clone());
        let mut entry = creator.entry(
            Some(&audit_tenant),
            "tenant.create",
            "tenant",
            Some(&tenant.id),
        );
        entry.after = Some(serde_json::to_value(&tenant).expect("tenant serialises"));
        w.commit(entry).await?;
        self.bump_identity_generation();
        Ok(tenant)
    }

    /// A tenant by id.
    pub async fn tenant_by_id(&self, id: &str) -> Result<Option<Tenant>> {
        let row: Option<TenantRow> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM tenants WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(tenant_from_row).transpose()
    }

    /// A tenant by its short name.
    pub async fn tenant_by_name(&self, name: &str) -> Result<Option<Tenant>> {
        let row: Option<TenantRow> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM tenants WHERE name = $1"))
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        row.map(tenant_from_row).transpose()
    }

    /// Every tenant, providers first. Only for provider administrators and the CLI.
    pub async fn all_tenants(&self) -> Result<Vec<Tenant>> {
        let rows: Vec<TenantRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM tenants ORDER BY kind DESC, name"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(tenant_from_row).collect()
    }

    /// The provider tenant (the first created), which owns platform-level audit records.
    pub async fn provider_tenant(&self) -> Result<Option<Tenant>> {
        let row: Option<TenantRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM tenants WHERE kind = 'provider' ORDER BY created_at LIMIT 1"
        ))
        .fetch_optional(&self.pool)
        .await?;
        row.map(tenant_from_row).transpose()
    }
}
