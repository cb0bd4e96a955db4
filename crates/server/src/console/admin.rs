//! Administration pages: users and roles, tenants, API tokens, the user's own account.
//! Each action calls the same function the API uses, so rules live in one place.

use super::{done, page, short_time, Console, ConsoleError, ConsoleForm, Layout};
use crate::api::{tenants, tokens, users};
use crate::error::ApiError;
use crate::extract::IdPath;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use yunshou_model::{Permission, Role, Scope, Tenant, TenantKind};
use yunshou_store::{ApiToken, NewApiToken, Page, UserWithRoles};

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    l: Layout,
    users: Vec<UserWithRoles>,
    total: i64,
    roles: [Role; 6],
    can_manage: bool,
    provider_admin: bool,
}

impl UsersPage {
    fn status(&self, u: &UserWithRoles) -> &'static str {
        user_status(&self.l, u)
    }
}

fn user_status(l: &Layout, u: &UserWithRoles) -> &'static str {
    if u.user.disabled {
        l.t.get("users.disabled")
    } else if u
        .user
        .locked_until
        .as_deref()
        .is_some_and(|t| t > yunshou_store::now_text().as_str())
    {
        l.t.get("users.locked")
    } else {
        l.t.get("users.active")
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    offset: Option<i64>,
}

/// `GET /users`.
pub async fn users_page(
    State(state): State<AppState>,
    Console(l): Console,
    Query(q): Query<ListQuery>,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::UsersRead)?.clone();
    let offset = q.offset.unwrap_or(0).max(0);
    let (users, total) = state
        .store
        .list_users(&scope, Page { limit: 200, offset })
        .await?;
    let can_manage = l.p.can(Permission::UsersManage);
    let provider_admin = can_manage
        && l.p.access.tenant.kind == TenantKind::Customer
        && users::is_provider_admin(&state, &l.p).await?;
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        UsersPage {
            l,
            users,
            total,
            roles: Role::ALL,
            can_manage,
            provider_admin,
        }
        .render()?,
    ))
}

#[derive(Deserialize)]
pub struct CreateUserForm {
    username: String,
    display_name: String,
    password: String,
    role: String,
}

fn role_field(v: &str) -> Result<Role, ConsoleError> {
    v.parse()
        .map_err(|e: String| ConsoleError::Page(StatusCode::BAD_REQUEST, format!("role: {e}")))
}

/// `POST /users`.
pub async fn create_user(
    State(state): State<AppState>,
    f: ConsoleForm<CreateUserForm>,
) -> Result<Response, ConsoleError> {
    let p = &f.layout.p;
    let scope = p.require(Permission::UsersManage)?;
    let role = role_field(&f.form.role)?;
    let user = state
        .store
        .create_user(
            scope,
            f.form.username.trim(),
            f.form.display_name.trim(),
            &f.form.password,
            role,
            &p.actor(),
        )
        .await
        .map_err(ConsoleError::back("/users"))?;
    Ok(done(
        &format!("/users/{}", user.user.id),
        f.layout.t.get("users.created"),
    ))
}

#[derive(Deserialize)]
pub struct GrantStaffForm {
    username: String,
    role: String,
}

/// `POST /users/grant-staff`: a provider administrator brings a user of another tenant in.
pub async fn grant_staff(
    State(state): State<AppState>,
    f: ConsoleForm<GrantStaffForm>,
) -> Result<Response, ConsoleError> {
    let role = role_field(&f.form.role)?;
    let user = state
        .store
        .user_by_username(f.form.username.trim())
        .await?
        .ok_or_else(|| {
            ConsoleError::Back(
                "/users".into(),
                format!("username: no user `{}`", f.form.username.trim()),
            )
        })?;
    if !users::is_provider_admin(&state, &f.layout.p).await? {
        return Err(
            ApiError::forbidden("only provider administrators grant staff across tenants").into(),
        );
    }
    users::grant(&state, &f.layout.p, &user.id, role)
        .await
        .map_err(ConsoleError::back("/users"))?;
    Ok(done(
        &format!("/users/{}", user.id),
        f.layout.t.get("users.updated"),
    ))
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    l: Layout,
    u: UserWithRoles,
    home: Option<Tenant>,
    is_home: bool,
    can_manage: bool,
    roles: [Role; 6],
    status: &'static str,
}

/// `GET /users/{id}`.
pub async fn user_page(
    State(state): State<AppState>,
    Console(l): Console,
    IdPath(id): IdPath,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::UsersRead)?.clone();
    let u = state.store.get_user(&scope, &id).await?;
    let home = state.store.tenant_by_id(&u.user.home_tenant_id).await?;
    let is_home = u.user.home_tenant_id == scope.tenant_id();
    let can_manage = l.p.can(Permission::UsersManage);
    let status = user_status(&l, &u);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        UserPage {
            l,
            u,
            home,
            is_home,
            can_manage,
            roles: Role::ALL,
            status,
        }
        .render()?,
    ))
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

/// `POST /users/{id}/roles`.
pub async fn grant_role(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<RoleForm>,
) -> Result<Response, ConsoleError> {
    let back = format!("/users/{id}");
    users::grant(&state, &f.layout.p, &id, role_field(&f.form.role)?)
        .await
        .map_err(ConsoleError::back(&back))?;
    Ok(done(&back, f.layout.t.get("users.updated")))
}

/// `POST /users/{id}/revoke-role`.
pub async fn revoke_role(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<RoleForm>,
) -> Result<Response, ConsoleError> {
    let back = format!("/users/{id}");
    let scope = f.layout.p.require(Permission::UsersManage)?;
    state
        .store
        .revoke_role(scope, &id, role_field(&f.form.role)?, &f.layout.p.actor())
        .await
        .map_err(ConsoleError::back(&back))?;
    Ok(done(&back, f.layout.t.get("users.updated")))
}

#[derive(Deserialize)]
pub struct NoFields {}

/// `POST /users/{id}/unlock`.
pub async fn unlock(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<NoFields>,
) -> Result<Response, ConsoleError> {
    let back = format!("/users/{id}");
    let scope = f.layout.p.require(Permission::UsersManage)?;
    state
        .store
        .unlock_user(scope, &id, &f.layout.p.actor())
        .await
        .map_err(ConsoleError::back(&back))?;
    Ok(done(&back, f.layout.t.get("users.updated")))
}

#[derive(Deserialize)]
pub struct DisabledForm {
    disabled: String,
}

/// `POST /users/{id}/disabled`.
pub async fn set_disabled(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<DisabledForm>,
) -> Result<Response, ConsoleError> {
    let back = format!("/users/{id}");
    let scope = f.layout.p.require(Permission::UsersManage)?;
    let disabled = f.form.disabled == "true";
    state
        .store
        .set_disabled(scope, &id, disabled, &f.layout.p.actor())
        .await
        .map_err(ConsoleError::back(&back))?;
    Ok(done(&back, f.layout.t.get("users.updated")))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    password: String,
}

/// `POST /users/{id}/password`.
pub async fn reset_password(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<PasswordForm>,
) -> Result<Response, ConsoleError> {
    let back = format!("/users/{id}");
    let scope = f.layout.p.require(Permission::UsersManage)?;
    state
        .store
        .set_password(scope, &id, &f.form.password, &f.layout.p.actor())
        .await
        .map_err(ConsoleError::back(&back))?;
    Ok(done(&back, f.layout.t.get("users.updated")))
}

#[derive(Template)]
#[template(path = "tenants.html")]
struct TenantsPage {
    l: Layout,
    tenants: Vec<Tenant>,
    can_create: bool,
}

impl TenantsPage {
    fn kind(&self, t: &Tenant) -> &'static str {
        self.l.t.get(if t.kind == TenantKind::Provider {
            "tenants.kind.provider"
        } else {
            "tenants.kind.customer"
        })
    }
    fn time(&self, t: &str) -> String {
        short_time(t)
    }
}

/// `GET /tenants`.
pub async fn tenants_page(
    State(state): State<AppState>,
    Console(l): Console,
) -> Result<Response, ConsoleError> {
    let tenants = tenants::visible_tenants(&state, &l.p).await?;
    let can_create = l.p.can(Permission::TenantsManage);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        TenantsPage {
            l,
            tenants,
            can_create,
        }
        .render()?,
    ))
}

#[derive(Deserialize)]
pub struct TenantForm {
    name: String,
    display_name: String,
}

/// `POST /tenants`.
pub async fn create_tenant(
    State(state): State<AppState>,
    f: ConsoleForm<TenantForm>,
) -> Result<Response, ConsoleError> {
    let p = &f.layout.p;
    let scope = p.require(Permission::TenantsManage)?;
    state
        .store
        .create_tenant(
            f.form.name.trim(),
            f.form.display_name.trim(),
            TenantKind::Customer,
            &p.actor(),
            Some(scope),
        )
        .await
        .map_err(ConsoleError::back("/tenants"))?;
    Ok(done("/tenants", f.layout.t.get("tenants.done")))
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    l: Layout,
    tokens: Vec<ApiToken>,
    created: Option<NewApiToken>,
}

impl TokensPage {
    fn state_of(&self, tok: &ApiToken) -> &'static str {
        if tok.revoked_at.is_some() {
            self.l.t.get("tokens.revoked")
        } else if tok.expires_at.as_str() <= yunshou_store::now_text().as_str() {
            self.l.t.get("tokens.expired")
        } else {
            self.l.t.get("tokens.valid")
        }
    }
    fn scopes(&self, tok: &ApiToken) -> String {
        tok.scopes
            .iter()
            .map(|s| self.l.t.get(&format!("scope.{}", s.as_str())))
            .collect::<Vec<_>>()
            .join(", ")
    }
    fn time(&self, t: &str) -> String {
        short_time(t)
    }
}

async fn render_tokens(
    state: &AppState,
    l: Layout,
    created: Option<NewApiToken>,
) -> Result<Response, ConsoleError> {
    let tokens = state.store.list_api_tokens(&l.p.user.id).await?;
    let flash = l.flash.is_some();
    Ok(page(flash, TokensPage { l, tokens, created }.render()?))
}

/// `GET /tokens`.
pub async fn tokens_page(
    State(state): State<AppState>,
    Console(l): Console,
) -> Result<Response, ConsoleError> {
    render_tokens(&state, l, None).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    name: String,
    scope: String,
    days: String,
}

/// `POST /tokens`: shows the new secret on this response only (never stored, never
/// redirected through a cookie).
pub async fn create_token(
    State(state): State<AppState>,
    f: ConsoleForm<TokenForm>,
) -> Result<Response, ConsoleError> {
    let scope: Scope = f
        .form
        .scope
        .parse()
        .map_err(|e: String| ConsoleError::Back("/tokens".into(), format!("scope: {e}")))?;
    let days = f.form.days.trim().parse::<i64>().map_err(|_| {
        ConsoleError::Back("/tokens".into(), "expires_in_days: not a number".into())
    })?;
    let req = tokens::CreateTokenRequest {
        name: f.form.name,
        scopes: vec![scope],
        expires_in_days: Some(days),
    };
    let created = tokens::issue_token(&state, &f.layout.p, req)
        .await
        .map_err(ConsoleError::back("/tokens"))?;
    let mut response = render_tokens(&state, f.layout, Some(created)).await?;
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

#[derive(Deserialize)]
pub struct RevokeForm {
    id: String,
}

/// `POST /tokens/revoke`.
pub async fn revoke_token(
    State(state): State<AppState>,
    f: ConsoleForm<RevokeForm>,
) -> Result<Response, ConsoleError> {
    let p = &f.layout.p;
    if !yunshou_model::ids::is_valid_id(&f.form.id) {
        return Err(ConsoleError::Back(
            "/tokens".into(),
            "id: not a valid identifier".into(),
        ));
    }
    state
        .store
        .revoke_api_token(&p.user.id, &f.form.id, &p.access.tenant.id, &p.actor())
        .await?;
    Ok(done("/tokens", f.layout.t.get("users.updated")))
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    l: Layout,
}

/// `GET /account`.
pub async fn account_page(Console(l): Console) -> Result<Response, ConsoleError> {
    let flash = l.flash.is_some();
    Ok(page(flash, AccountPage { l }.render()?))
}

#[derive(Deserialize)]
pub struct ChangePasswordForm {
    current_password: String,
    new_password: String,
}

/// `POST /account/password`: changes the password and, since that ends every session,
/// sends the user to sign in again.
pub async fn change_password(
    State(state): State<AppState>,
    f: ConsoleForm<ChangePasswordForm>,
) -> Result<Response, ConsoleError> {
    let p = &f.layout.p;
    state
        .store
        .change_own_password(
            &p.user.id,
            &p.access.tenant.id,
            &f.form.current_password,
            &f.form.new_password,
            &p.actor(),
        )
        .await
        .map_err(ConsoleError::back("/account"))?;
    Ok(done("/login", f.layout.t.get("account.changed")))
}

#[derive(Template)]
#[template(path = "roles.html")]
struct RolesPage {
    l: Layout,
    roles: [Role; 6],
}

impl RolesPage {
    fn permissions(&self, role: &Role) -> Vec<(&'static str, &'static str)> {
        role.permissions()
            .iter()
            .map(|p| {
                let name = serde_json::to_value(p)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                (
                    self.l.t.get(&format!("perm.{name}")),
                    p.required_scope().as_str(),
                )
            })
            .collect()
    }
}

/// `GET /roles`: the access policy, readable by everyone it applies to.
pub async fn roles_page(Console(l): Console) -> Result<Response, ConsoleError> {
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        RolesPage {
            l,
            roles: Role::ALL,
        }
        .render()?,
    ))
}
