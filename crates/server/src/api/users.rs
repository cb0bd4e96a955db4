//! Users of the current tenant and their roles there.

use crate::auth::{ApiPrincipal, Principal};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, IdPath, ListOf, PageQuery};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use yunshou_model::{Permission, Role};
use yunshou_store::UserWithRoles;

/// A user to create in the current tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// Sign-in name.
    pub username: String,
    /// Name shown to people.
    pub display_name: String,
    /// Initial password: at least 12 characters, 3 of 4 character classes.
    pub password: String,
    /// First role in this tenant.
    pub role: Role,
}

/// A role to grant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    /// The role.
    pub role: Role,
}

/// A new password set by an administrator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    /// The new password.
    pub password: String,
}

/// Disable or enable an account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisabledRequest {
    /// True to disable.
    pub disabled: bool,
}

/// Users holding a role in the current tenant.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(PageQuery),
    responses((status = 200, body = ListOf<UserWithRoles>), (status = 403, body = Problem)))]
pub async fn list_users(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOf<UserWithRoles>>> {
    let scope = p.require(Permission::UsersRead)?;
    let (items, total) = state.store.list_users(scope, q.page()?).await?;
    Ok(Json(ListOf { items, total }))
}

/// Create a user whose home is the current tenant.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUserRequest,
    responses((status = 201, body = UserWithRoles), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn create_user(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(req): ApiJson<CreateUserRequest>,
) -> ApiResult<(StatusCode, Json<UserWithRoles>)> {
    let scope = p.require(Permission::UsersManage)?;
    let user = state
        .store
        .create_user(
            scope,
            &req.username,
            &req.display_name,
            &req.password,
            req.role,
            &p.actor(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// One user of the current tenant.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = UserWithRoles), (status = 404, body = Problem)))]
pub async fn get_user(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Json<UserWithRoles>> {
    let scope = p.require(Permission::UsersRead)?;
    Ok(Json(state.store.get_user(scope, &id).await?))
}

/// True when the caller administers the provider tenant, so may grant staff of other
/// tenants into this one.
pub async fn is_provider_admin(state: &AppState, p: &Principal) -> ApiResult<bool> {
    let Some(provider) = state.store.provider_tenant().await? else {
        return Ok(false);
    };
    Ok(state
        .store
        .access(&p.user.id, &provider.id)
        .await?
        .is_some_and(|a| a.allows(Permission::TenantsManage)))
}

/// Grants a role; shared with the console.
pub async fn grant(
    state: &AppState,
    p: &Principal,
    user_id: &str,
    role: Role,
) -> ApiResult<UserWithRoles> {
    let scope = p.require(Permission::UsersManage)?;
    let cross_tenant = match state.store.get_user(scope, user_id).await {
        Ok(_) => false,
        Err(yunshou_store::Error::NotFound) if is_provider_admin(state, p).await? => true,
        Err(e) => return Err(e.into()),
    };
    Ok(state
        .store
        .grant_role(scope, user_id, role, cross_tenant, &p.actor())
        .await?)
}

/// Grant a role in the current tenant. Provider administrators may grant any user (provider
/// staff working for a customer tenant).
#[utoipa::path(post, path = "/api/v1/users/{id}/roles", tag = "users", params(("id" = String, Path)), request_body = GrantRequest,
    responses((status = 200, body = UserWithRoles), (status = 404, body = Problem)))]
pub async fn grant_role(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(req): ApiJson<GrantRequest>,
) -> ApiResult<Json<UserWithRoles>> {
    Ok(Json(grant(&state, &p, &id, req.role).await?))
}

/// Revoke a role in the current tenant.
#[utoipa::path(delete, path = "/api/v1/users/{id}/roles/{role}", tag = "users",
    params(("id" = String, Path), ("role" = Role, Path)),
    responses((status = 200, body = UserWithRoles), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke_role(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    Path((id, role)): Path<(String, String)>,
) -> ApiResult<Json<UserWithRoles>> {
    let scope = p.require(Permission::UsersManage)?;
    if !yunshou_model::ids::is_valid_id(&id) {
        return Err(ApiError::bad_request(
            "id: not a valid identifier (expected a UUID)",
        ));
    }
    let role: Role = role
        .parse()
        .map_err(|e| ApiError::bad_request(format!("role: {e}")))?;
    Ok(Json(
        state
            .store
            .revoke_role(scope, &id, role, &p.actor())
            .await?,
    ))
}

/// Set a new password for an account of this tenant; ends its sessions.
#[utoipa::path(post, path = "/api/v1/users/{id}/password", tag = "users", params(("id" = String, Path)), request_body = ResetPasswordRequest,
    responses((status = 204, description = "Set"), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn reset_password(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(req): ApiJson<ResetPasswordRequest>,
) -> ApiResult<StatusCode> {
    let scope = p.require(Permission::UsersManage)?;
    state
        .store
        .set_password(scope, &id, &req.password, &p.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unlock an account of this tenant before its lock runs out.
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = UserWithRoles), (status = 404, body = Problem)))]
pub async fn unlock_user(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Json<UserWithRoles>> {
    let scope = p.require(Permission::UsersManage)?;
    Ok(Json(state.store.unlock_user(scope, &id, &p.actor()).await?))
}

/// Disable or enable an account of this tenant.
#[utoipa::path(put, path = "/api/v1/users/{id}/disabled", tag = "users", params(("id" = String, Path)), request_body = DisabledRequest,
    responses((status = 200, body = UserWithRoles), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn set_disabled(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(req): ApiJson<DisabledRequest>,
) -> ApiResult<Json<UserWithRoles>> {
    let scope = p.require(Permission::UsersManage)?;
    Ok(Json(
        state
            .store
            .set_disabled(scope, &id, req.disabled, &p.actor())
            .await?,
    ))
}
