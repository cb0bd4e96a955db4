//! Users, per-tenant role grants, passwords, sign-in and lockout.

use crate::crypto::{dummy_password_hash, hash_password, verify_password};
use crate::db::Store;
use crate::error::{Error, Result};
use crate::{Page, TenantScope};
use serde::Serialize;
use yunshou_model::identity::{check_display_name, check_username};
use yunshou_model::{check_password_policy, ids, Actor, Outcome, Role, Tenant, TenantKind, User};

/// Failed sign-ins that lock an account.
pub const MAX_FAILED_LOGINS: i64 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT_MINUTES: i64 = 15;

const COLUMNS: &str =
    "id, username, display_name, home_tenant_id, failed_logins, locked_until, disabled, created_at, last_login_at";
type UserRow = (
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    i64,
    String,
    Option<String>,
);

fn user_from_row(r: UserRow) -> User {
    User {
        id: r.0,
        username: r.1,
        display_name: r.2,
        home_tenant_id: r.3,
        failed_logins: r.4,
        locked_until: r.5,
        disabled: r.6 != 0,
        created_at: r.7,
        last_login_at: r.8,
    }
}

/// A user with the roles held in the tenant being looked at.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserWithRoles {
    /// The account.
    #[serde(flatten)]
    pub user: User,
    /// Roles in the current tenant.
    pub roles: Vec<Role>,
}

/// How a sign-in attempt ended.
#[derive(Debug, Clone)]
pub enum LoginOutcome {
    /// Signed in.
    Success(User),
    /// Wrong username or password; `locked_now` when this failure locked the account.
    BadCredentials { locked_now: bool },
    /// The account is locked until this time (RFC 3339) — even the right password fails.
    Locked { until: String },
    /// The account is disabled.
    Disabled,
}

/// Hashes on the blocking pool: argon2 takes tens of milliseconds of CPU.
async fn hash_blocking(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| Error::Invalid(format!("password hashing failed: {e}")))
}

impl Store {
    /// On first start: creates the provider tenant `default` and the user `admin`. Returns
    /// the generated password when none was given, so it can be shown once.
    pub async fn bootstrap(&self, admin_password: Option<&str>) -> Result<Option<String>> {
        if self.provider_tenant().await?.is_some() {
            return Ok(None);
        }
        let actor = Actor {
            user_id: None,
            name: "system".into(),
            source_ip: Some("local".into()),
        };
        let tenant = self
            .create_tenant(
                "default",
                "平台运营方 Provider",
                TenantKind::Provider,
                &actor,
                None,
            )
            .await?;
        let (password, generated) = match admin_password {
            Some(p) => (p.to_string(), None),
            None => {
                let p = crate::crypto::generate_password();
                (p.clone(), Some(p))
            }
        };
        let scope = TenantScope::new(&tenant.id);
        self.create_user(
            &scope,
            "admin",
            "平台管理员 Administrator",
            &password,
            Role::Admin,
            &actor,
        )
        .await?;
        Ok(generated)
    }

    /// Creates a user whose home is the scope's tenant, holding `role` there.
    pub async fn create_user(
        &self,
        scope: &TenantScope,
        username: &str,
        display_name: &str,
        password: &str,
        role: Role,
        actor: &Actor,
    ) -> Result<UserWithRoles> {
        check_username(username).map_err(Error::Invalid)?;
        check_display_name(display_name).map_err(Error::Invalid)?;
        check_password_policy(password).map_err(|e| Error::Invalid(format!("password: {e}")))?;
        let hash = hash_blocking(password.to_string()).await?;
        let now = crate::now_text();
        let user = User {
            id: ids::new_id(),
            username: username.to_string(),
            display_name: display_name.to_string(),
            home_tenant_id: scope.tenant_id().to_string(),
            failed_logins: 0,
            locked_until: None,
            disabled: false,
            created_at: now.clone(),
            last_login_at: None,
        };
        let mut w = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO users (id, username, display_name, home_tenant_id, password_hash, \
             password_changed_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&user.id)
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(&user.home_tenant_id)
        .bind(&hash)
        .bind(&now)
        .bind(&now)
        .execute(&mut *w.tx)
        .await;
        if let Err(e) = inserted {
            return Err(if Error::is_unique_violation(&e) {
                Error::Conflict(format!("username `{username}` is taken"))
            } else {
                e.into()
            });
        }
        insert_grant(&mut w.tx, scope.tenant_id(), &user.id, role, &now).await?;
        let result = UserWithRoles {
            user,
            roles: vec![role],
        };
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "user.create",
            "user",
            Some(&result.user.id),
        );
        entry.after = Some(serde_json::to_value(&result).expect("user serialises"));
        w.commit(entry).await?;
        Ok(result)
    }

    /// A user by id, without tenant filtering: for authentication only.
    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        let row: Option<UserRow> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(user_from_row))
    }

    /// A user by name, without tenant filtering: for sign-in, the CLI, and provider
    /// administrators granting staff across tenants.
    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let row: Option<UserRow> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE username = $1"))
                .bind(username)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(user_from_row))
    }

    /// A user visible in the tenant (holding a role there), with those roles.
    pub async fn get_user(&self, scope: &TenantScope, id: &str) -> Result<UserWithRoles> {
        let user = self.user_by_id(id).await?.ok_or(Error::NotFound)?;
        let roles = self.roles_in(id, scope.tenant_id()).await?;
        if roles.is_empty() {
            return Err(Error::NotFound);
        }
        Ok(UserWithRoles { user, roles })
    }

    /// The tenant's users (everyone holding a role there), by username.
    pub async fn list_users(
        &self,
        scope: &TenantScope,
        page: Page,
    ) -> Result<(Vec<UserWithRoles>, i64)> {
        let cols = COLUMNS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows: Vec<UserRow> = sqlx::query_as(&format!(
            "SELECT {cols} FROM users u WHERE u.id IN \
             (SELECT user_id FROM role_grants WHERE tenant_id = $1) ORDER BY u.username LIMIT $2 OFFSET $3"
        ))
        .bind(scope.tenant_id())
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT user_id) FROM role_grants WHERE tenant_id = $1",
        )
        .bind(scope.tenant_id())
        .fetch_one(&self.pool)
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        for r in rows {
            let user = user_from_row(r);
            let roles = self.roles_in(&user.id, scope.tenant_id()).await?;
            items.push(UserWithRoles { user, roles });
        }
        Ok((items, total))
    }

    /// Every user, for the CLI.
    pub async fn all_users(&self) -> Result<Vec<User>> {
        let rows: Vec<UserRow> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM users ORDER BY username"))
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(user_from_row).collect())
    }

    /// Grants a role in the scope's tenant. The user must already be visible there, unless
    /// `cross_tenant` (a provider administrator granting staff to a customer tenant).
    pub async fn grant_role(
        &self,
        scope: &TenantScope,
        user_id: &str,
        role: Role,
        cross_tenant: bool,
        actor: &Actor,
    ) -> Result<UserWithRoles> {
        let before = if cross_tenant {
            let user = self.user_by_id(user_id).await?.ok_or(Error::NotFound)?;
            let roles = self.roles_in(user_id, scope.tenant_id()).await?;
            UserWithRoles { user, roles }
        } else {
            self.get_user(scope, user_id).await?
        };
        if before.roles.contains(&role) {
            return Ok(before);
        }
        let mut w = self.begin_write().await?;
        insert_grant(
            &mut w.tx,
            scope.tenant_id(),
            user_id,
            role,
            &crate::now_text(),
        )
        .await?;
        let mut after = before.clone();
        after.roles.push(role);
        after.roles.sort();
        let mut entry = actor.entry(Some(scope.tenant_id()), "role.grant", "user", Some(user_id));
        entry.before = Some(serde_json::json!({ "roles": before.roles }));
        entry.after = Some(serde_json::json!({ "roles": after.roles, "granted": role }));
        w.commit(entry).await?;
        self.bump_identity_generation();
        Ok(after)
    }

    /// Revokes a role in the scope's tenant. Refuses to remove the tenant's last admin.
    pub async fn revoke_role(
        &self,
        scope: &TenantScope,
        user_id: &str,
        role: Role,
        actor: &Actor,
    ) -> Result<UserWithRoles> {
        let before = self.get_user(scope, user_id).await?;
        if !before.roles.contains(&role) {
            return Err(Error::NotFound);
        }
        let mut w = self.begin_write().await?;
        if role == Role::Admin {
            let admins: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM role_grants g JOIN users u ON u.id = g.user_id \
                 WHERE g.tenant_id = $1 AND g.role = 'admin' AND u.disabled = 0",
            )
            .bind(scope.tenant_id())
            .fetch_one(&mut *w.tx)
            .await?;
            if admins <= 1 {
                return Err(Error::Invalid(
                    "role: cannot revoke the tenant's last admin".into(),
                ));
            }
        }
        sqlx::query("DELETE FROM role_grants WHERE tenant_id = $1 AND user_id = $2 AND role = $3")
            .bind(scope.tenant_id())
            .bind(user_id)
            .bind(role.as_str())
            .execute(&mut *w.tx)
            .await?;
        let mut after = before.clone();
        after.roles.retain(|r| *r != role);
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "role.revoke",
            "user",
            Some(user_id),
        );
        entry.before = Some(serde_json::json!({ "roles": before.roles }));
        entry.after = Some(serde_json::json!({ "roles": after.roles, "revoked": role }));
        w.commit(entry).await?;
        self.bump_identity_generation();
        Ok(after)
    }

    /// A user of the scope's tenant whose account that tenant administers (home tenant).
    async fn home_user(&self, scope: &TenantScope, user_id: &str) -> Result<UserWithRoles> {
        let u = self.get_user(scope, user_id).await?;
        if u.user.home_tenant_id != scope.tenant_id() {
            return Err(Error::Invalid(
                "user: this account belongs to another tenant; its own administrators manage it"
                    .into(),
            ));
        }
        Ok(u)
    }

    /// Sets a new password (an administrator's reset, or the CLI). Ends the user's sessions.
    pub async fn set_password(
        &self,
        scope: &TenantScope,
        user_id: &str,
        password: &str,
        actor: &Actor,
    ) -> Result<()> {
        self.home_user(scope, user_id).await?;
        self.write_password(
            Some(scope.tenant_id()),
            user_id,
            password,
            actor,
            "user.password_reset",
        )
        .await
    }

    /// Changes the signed-in user's own password after checking the current one.
    pub async fn change_own_password(
        &self,
        user_id: &str,
        tenant_id: &str,
        current: &str,
        new: &str,
        actor: &Actor,
    ) -> Result<()> {
        let stored = self.password_hash(user_id).await?.ok_or(Error::NotFound)?;
        let current = current.to_string();
        let ok = tokio::task::spawn_blocking(move || verify_password(&current, &stored))
            .await
            .unwrap_or(false);
        if !ok {
            let mut entry = actor.entry(
                Some(tenant_id),
                "user.password_change",
                "user",
                Some(user_id),
            );
            entry.outcome = Some(Outcome::Failure);
            self.audit(entry).await?;
            return Err(Error::Invalid(
                "current_password: the current password is wrong".into(),
            ));
        }
        self.write_password(Some(tenant_id), user_id, new, actor, "user.password_change")
            .await
    }

    async fn write_password(
        &self,
        tenant_id: Option<&str>,
        user_id: &str,
        password: &str,
        actor: &Actor,
        action: &str,
    ) -> Result<()> {
        check_password_policy(password).map_err(|e| Error::Invalid(format!("password: {e}")))?;
        let hash = hash_blocking(password.to_string()).await?;
        let mut w = self.begin_write().await?;
        sqlx::query(
            "UPDATE users SET password_hash = $1, password_changed_at = $2, failed_logins = 0, \
             locked_until = NULL WHERE id = $3",
        )
        .bind(&hash)
        .bind(crate::now_text())
        .bind(user_id)
        .execute(&mut *w.tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *w.tx)
            .await?;
        w.commit(actor.entry(tenant_id, action, "user", Some(user_id)))
            .await?;
        self.bump_identity_generation();
        Ok(())
    }

    async fn password_hash(&self, user_id: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Unlocks an account of the scope's tenant before its lock runs out.
    pub async fn unlock_user(
        &self,
        scope: &TenantScope,
        user_id: &str,
        actor: &Actor,
    ) -> Result<UserWithRoles> {
        let before = self.home_user(scope, user_id).await?;
        let mut w = self.begin_write().await?;
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(user_id)
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "user.unlock",
            "user",
            Some(user_id),
        );
        entry.before = Some(
            serde_json::json!({ "locked_until": before.user.locked_until, "failed_logins": before.user.failed_logins }),
        );
        w.commit(entry).await?;
        self.bump_identity_generation();
        self.get_user(scope, user_id).await
    }

    /// Disables or enables an account of the scope's tenant. Disabling ends its sessions.
    pub async fn set_disabled(
        &self,
        scope: &TenantScope,
        user_id: &str,
        disabled: bool,
        actor: &Actor,
    ) -> Result<UserWithRoles> {
        let before = self.home_user(scope, user_id).await?;
        if disabled && actor.user_id.as_deref() == Some(user_id) {
            return Err(Error::Invalid(
                "user: you cannot disable your own account".into(),
            ));
        }
        let mut w = self.begin_write().await?;
        sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
            .bind(i64::from(disabled))
            .bind(user_id)
            .execute(&mut *w.tx)
            .await?;
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *w.tx)
                .await?;
        }
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        let mut entry = actor.entry(Some(scope.tenant_id()), action, "user", Some(user_id));
        entry.before = Some(serde_json::json!({ "disabled": before.user.disabled }));
        entry.after = Some(serde_json::json!({ "disabled": disabled }));
        w.commit(entry).await?;
        self.bump_identity_generation();
        self.get_user(scope, user_id).await
    }

    /// Checks a sign-in, applies the lockout rule and records the attempt in the audit trail
    /// (of the user's home tenant; of the provider tenant for unknown names).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        source_ip: Option<&str>,
    ) -> Result<LoginOutcome> {
        let user = self.user_by_username(username).await?;
        let stored = match &user {
            Some(u) => self.password_hash(&u.id).await?,
            None => None,
        };
        let given = password.to_string();
        let to_check = stored
            .clone()
            .unwrap_or_else(|| dummy_password_hash().to_string());
        let password_ok = tokio::task::spawn_blocking(move || verify_password(&given, &to_check))
            .await
            .unwrap_or(false)
            && stored.is_some();

        let actor = Actor {
            user_id: user.as_ref().map(|u| u.id.clone()),
            name: username.chars().take(64).collect(),
            source_ip: source_ip.map(str::to_string),
        };
        let Some(user) = user else {
            let provider: Option<Tenant> = self.provider_tenant().await?;
            let mut entry = actor.entry(
                provider.as_ref().map(|t| t.id.as_str()),
                "auth.login",
                "session",
                None,
            );
            entry.outcome = Some(Outcome::Failure);
            entry.after = Some(serde_json::json!({ "reason": "unknown_user" }));
            self.audit(entry).await?;
            return Ok(LoginOutcome::BadCredentials { locked_now: false });
        };

        let now = chrono::Utc::now();
        let now_text = crate::time_text(now);
        let mut w = self.begin_write().await?;
        // Re-read under the writer lock: concurrent attempts must not lose a failure count.
        let (failed, locked_until, disabled): (i64, Option<String>, i64) =
            sqlx::query_as("SELECT failed_logins, locked_until, disabled FROM users WHERE id = $1")
                .bind(&user.id)
                .fetch_one(&mut *w.tx)
                .await?;
        let mut entry = actor.entry(Some(&user.home_tenant_id), "auth.login", "session", None);
        let still_locked = locked_until
            .as_deref()
            .filter(|u| *u > now_text.as_str())
            .map(str::to_string);
        let (outcome, reason) = if disabled != 0 {
            (LoginOutcome::Disabled, "disabled")
        } else if let Some(until) = still_locked {
            (LoginOutcome::Locked { until }, "locked")
        } else if password_ok {
            sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = $1 WHERE id = $2")
                .bind(&now_text)
                .bind(&user.id)
                .execute(&mut *w.tx)
                .await?;
            (LoginOutcome::Success(user.clone()), "ok")
        } else {
            // An expired lock starts a fresh count.
            let failed = if locked_until.is_some() {
                1
            } else {
                failed + 1
            };
            let locked_now = failed >= MAX_FAILED_LOGINS;
            let until = locked_now
                .then(|| crate::time_text(now + chrono::Duration::minutes(LOCKOUT_MINUTES)));
            sqlx::query("UPDATE users SET failed_logins = $1, locked_until = $2 WHERE id = $3")
                .bind(if locked_now { 0 } else { failed })
                .bind(&until)
                .bind(&user.id)
                .execute(&mut *w.tx)
                .await?;
            if locked_now {
                entry.after =
                    Some(serde_json::json!({ "reason": "bad_password", "locked_until": until }));
            }
            (LoginOutcome::BadCredentials { locked_now }, "bad_password")
        };
        if !matches!(outcome, LoginOutcome::Success(_)) {
            entry.outcome = Some(Outcome::Failure);
            if entry.after.is_none() {
                entry.after =
                    Some(serde_json::json!({ "reason": reason, "failed_logins": failed }));
            }
        }
        w.commit(entry).await?;
        if matches!(outcome, LoginOutcome::BadCredentials { locked_now: true }) {
            self.bump_identity_generation();
        }
        Ok(outcome)
    }

    /// Counts for the dashboard: users in the tenant, how many are locked now, how many
    /// disabled.
    pub async fn user_counts(&self, scope: &TenantScope) -> Result<(i64, i64, i64)> {
        Ok(sqlx::query_as(
            "SELECT COUNT(*), \
                    COALESCE(SUM(CASE WHEN locked_until IS NOT NULL AND locked_until > $2 THEN 1 ELSE 0 END), 0), \
                    COALESCE(SUM(CASE WHEN disabled <> 0 THEN 1 ELSE 0 END), 0) \
             FROM users WHERE id IN (SELECT user_id FROM role_grants WHERE tenant_id = $1)",
        )
        .bind(scope.tenant_id())
        .bind(crate::now_text())
        .fetch_one(&self.pool)
        .await?)
    }
}

async fn insert_grant(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    tenant_id: &str,
    user_id: &str,
    role: Role,
    now: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO role_grants (tenant_id, user_id, role, granted_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
