//! Tenant scopes: the only way into a tenant's data.

use crate::db::Store;
use crate::error::{Error, Result};
use crate::tenants::tenant_from_row;
use yunshou_model::access::roles_grant;
use yunshou_model::{Permission, Role, Tenant, TenantKind};

/// Proof that access to one tenant was checked. Only this crate can make one, so every
/// tenant-scoped query receives a tenant that the caller was actually granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    tenant_id: String,
}

impl TenantScope {
    pub(crate) fn new(tenant_id: impl Into<String>) -> TenantScope {
        TenantScope {
            tenant_id: tenant_id.into(),
        }
    }

    /// The tenant this scope opens.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }
}

/// A user's access to one tenant: the tenant, the roles held there, and the scope.
#[derive(Debug, Clone)]
pub struct TenantAccess {
    /// The tenant.
    pub tenant: Tenant,
    /// Roles held in it.
    pub roles: Vec<Role>,
    /// The scope to pass to tenant-scoped store calls.
    pub scope: TenantScope,
}

impl TenantAccess {
    /// True when the roles grant `permission`. Managing tenants needs the admin role in a
    /// provider tenant.
    pub fn allows(&self, permission: Permission) -> bool {
        if permission == Permission::TenantsManage && self.tenant.kind != TenantKind::Provider {
            return false;
        }
        roles_grant(&self.roles, permission)
    }
}

impl Store {
    /// The user's access to a tenant, or `None` when the user holds no role there.
    pub async fn access(&self, user_id: &str, tenant_id: &str) -> Result<Option<TenantAccess>> {
        let Some(tenant) = self.tenant_by_id(tenant_id).await? else {
            return Ok(None);
        };
        let roles = self.roles_in(user_id, tenant_id).await?;
        if roles.is_empty() {
            return Ok(None);
        }
        let scope = TenantScope::new(&tenant.id);
        Ok(Some(TenantAccess {
            tenant,
            roles,
            scope,
        }))
    }

    /// Every tenant the user holds a role in, with the roles, by tenant name.
    pub async fn accessible_tenants(&self, user_id: &str) -> Result<Vec<(Tenant, Vec<Role>)>> {
        let rows: Vec<(String, String, String, String, String, String)> = sqlx::query_as(
            "SELECT t.id, t.name, t.display_name, t.kind, t.created_at, g.role \
             FROM role_grants g JOIN tenants t ON t.id = g.tenant_id \
             WHERE g.user_id = $1 ORDER BY t.kind DESC, t.name, g.role",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<(Tenant, Vec<Role>)> = Vec::new();
        for (id, name, display_name, kind, created_at, role) in rows {
            let role: Role = role.parse().map_err(Error::Corrupt)?;
            match out.last_mut() {
                Some((t, roles)) if t.id == id => roles.push(role),
                _ => out.push((
                    tenant_from_row((id, name, display_name, kind, created_at))?,
                    vec![role],
                )),
            }
        }
        Ok(out)
    }

    /// The scope of a tenant by name, for the operator at the command line, who holds the
    /// data directory and so every tenant's data already.
    pub async fn operator_scope(&self, tenant_name: &str) -> Result<(Tenant, TenantScope)> {
        let tenant = self
            .tenant_by_name(tenant_name)
            .await?
            .ok_or_else(|| Error::Invalid(format!("no tenant named `{tenant_name}`")))?;
        let scope = TenantScope::new(&tenant.id);
        Ok((tenant, scope))
    }

    pub(crate) async fn roles_in(&self, user_id: &str, tenant_id: &str) -> Result<Vec<Role>> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT role FROM role_grants WHERE user_id = $1 AND tenant_id = $2 ORDER BY role",
        )
        .bind(user_id)
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        names
            .iter()
            .map(|n| n.parse().map_err(Error::Corrupt))
            .collect()
    }
}
