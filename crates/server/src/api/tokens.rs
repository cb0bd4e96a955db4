//! The caller's own API tokens.

use crate::auth::ApiPrincipal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, IdPath, ListOf};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use yunshou_model::Scope;
use yunshou_store::{ApiToken, NewApiToken};

/// Longest token lifetime.
pub const MAX_TOKEN_DAYS: i64 = 365;

/// A token to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// A label, e.g. what script uses it.
    pub name: String,
    /// `read`, `write` and/or `admin` (each includes the ones before it).
    pub scopes: Vec<Scope>,
    /// Days until it expires, 1–365 (default 90).
    pub expires_in_days: Option<i64>,
}

/// Validates and makes a token for the caller; shared with the console.
pub async fn issue_token(
    state: &AppState,
    p: &crate::auth::Principal,
    req: CreateTokenRequest,
) -> ApiResult<NewApiToken> {
    p.require_scope(Scope::Admin)?;
    let days = req.expires_in_days.unwrap_or(90);
    if !(1..=MAX_TOKEN_DAYS).contains(&days) {
        return Err(ApiError::bad_request(format!(
            "expires_in_days: must be between 1 and {MAX_TOKEN_DAYS}"
        )));
    }
    let expires = yunshou_store::time_text(chrono::Utc::now() + chrono::Duration::days(days));
    Ok(state
        .store
        .create_api_token(
            &p.access.tenant.id,
            &p.user.id,
            &req.name,
            &req.scopes,
            &expires,
            &p.actor(),
        )
        .await?)
}

/// Your API tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "identity",
    responses((status = 200, body = ListOf<ApiToken>), (status = 401, body = Problem)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<ListOf<ApiToken>>> {
    p.require_scope(Scope::Read)?;
    let items = state.store.list_api_tokens(&p.user.id).await?;
    let total = items.len() as i64;
    Ok(Json(ListOf { items, total }))
}

/// Make an API token. Its secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "identity", request_body = CreateTokenRequest,
    responses((status = 201, body = NewApiToken), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn create_token(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(req): ApiJson<CreateTokenRequest>,
) -> ApiResult<(StatusCode, Json<NewApiToken>)> {
    Ok((
        StatusCode::CREATED,
        Json(issue_token(&state, &p, req).await?),
    ))
}

/// Revoke one of your API tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "identity", params(("id" = String, Path)),
    responses((status = 200, body = ApiToken), (status = 404, body = Problem)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Json<ApiToken>> {
    p.require_scope(Scope::Admin)?;
    Ok(Json(
        state
            .store
            .revoke_api_token(&p.user.id, &id, &p.access.tenant.id, &p.actor())
            .await?,
    ))
}
