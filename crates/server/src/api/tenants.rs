//! Tenants: listing what the caller may see; provider administrators create them.

use crate::auth::ApiPrincipal;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, IdPath, ListOf};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use yunshou_model::{Permission, Scope, Tenant, TenantKind};

/// A tenant to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantRequest {
    /// Short unique name: 2–40 of a-z, 0-9, '-'.
    pub name: String,
    /// Name shown to people.
    pub display_name: String,
}

/// The tenants the caller may see: every tenant for a provider administrator, otherwise
/// those the caller holds roles in.
pub async fn visible_tenants(
    state: &AppState,
    p: &crate::auth::Principal,
) -> ApiResult<Vec<Tenant>> {
    if p.can(Permission::TenantsManage) {
        Ok(state.store.all_tenants().await?)
    } else {
        Ok(state
            .store
            .accessible_tenants(&p.user.id)
            .await?
            .into_iter()
            .map(|(t, _)| t)
            .collect())
    }
}

/// Tenants you can see.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants",
    responses((status = 200, body = ListOf<Tenant>), (status = 401, body = Problem)))]
pub async fn list_tenants(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<ListOf<Tenant>>> {
    p.require_scope(Scope::Read)?;
    let items = visible_tenants(&state, &p).await?;
    let total = items.len() as i64;
    Ok(Json(ListOf { items, total }))
}

/// One tenant you can see.
#[utoipa::path(get, path = "/api/v1/tenants/{id}", tag = "tenants", params(("id" = String, Path)),
    responses((status = 200, body = Tenant), (status = 404, body = Problem)))]
pub async fn get_tenant(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Json<Tenant>> {
    p.require_scope(Scope::Read)?;
    visible_tenants(&state, &p)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .map(Json)
        .ok_or_else(crate::error::ApiError::not_found)
}

/// Create a customer tenant (provider administrators). You become its admin.
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", request_body = CreateTenantRequest,
    responses((status = 201, body = Tenant), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn create_tenant(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(req): ApiJson<CreateTenantRequest>,
) -> ApiResult<(StatusCode, Json<Tenant>)> {
    let scope = p.require(Permission::TenantsManage)?;
    let tenant = state
        .store
        .create_tenant(
            &req.name,
            &req.display_name,
            TenantKind::Customer,
            &p.actor(),
            Some(scope),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(tenant)))
}
