//! Sign-in for scripts, sign-out, the current user, own password, the role table.

use crate::auth::{ApiPrincipal, Credential};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiJson;
use crate::state::AppState;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use utoipa::ToSchema;
use yunshou_model::{Permission, Role, Scope, Tenant, User};
use yunshou_store::{LoginOutcome, SessionKind, Store, LOCKOUT_MINUTES, MAX_FAILED_LOGINS};

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Sign-in name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A sign-in token for scripts.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`. Ends after 30 idle minutes or at sign-out.
    pub token: String,
    /// The account.
    pub user: User,
    /// The tenant the token acts in unless `X-Tenant` says otherwise.
    pub tenant: Tenant,
    /// Minutes of inactivity after which the token stops working.
    pub idle_timeout_minutes: i64,
}

/// Why a sign-in failed, in words for people; shared by the API and the console.
pub enum LoginRefusal {
    /// Wrong name or password (or a disabled account, which is not revealed).
    BadCredentials {
        /// This failure locked the account.
        locked_now: bool,
    },
    /// Locked; minutes left.
    Locked(i64),
}

/// Runs a sign-in and opens a session of `kind` in the user's home tenant (or the first
/// tenant granted).
pub async fn sign_in(
    store: &Store,
    username: &str,
    password: &str,
    kind: SessionKind,
    ip: Option<&str>,
) -> ApiResult<Result<(yunshou_store::NewSession, User, Tenant), LoginRefusal>> {
    if username.len() > 128 || password.len() > 1024 {
        return Ok(Err(LoginRefusal::BadCredentials { locked_now: false }));
    }
    let user = match store.login(username, password, ip).await? {
        LoginOutcome::Success(u) => u,
        LoginOutcome::BadCredentials { locked_now } => {
            return Ok(Err(LoginRefusal::BadCredentials { locked_now }))
        }
        LoginOutcome::Disabled => {
            return Ok(Err(LoginRefusal::BadCredentials { locked_now: false }))
        }
        LoginOutcome::Locked { until } => {
            let left = yunshou_store::parse_time(&until)
                .map(|t| ((t - chrono::Utc::now()).num_seconds() + 59) / 60)
                .unwrap_or(LOCKOUT_MINUTES)
                .max(1);
            return Ok(Err(LoginRefusal::Locked(left)));
        }
    };
    let tenant = match store.access(&user.id, &user.home_tenant_id).await? {
        Some(a) => a.tenant,
        None => store
            .accessible_tenants(&user.id)
            .await?
            .into_iter()
            .next()
            .map(|(t, _)| t)
            .ok_or_else(|| ApiError::forbidden("this account holds no role in any tenant"))?,
    };
    let session = store.create_session(&user.id, &tenant.id, kind, ip).await?;
    Ok(Ok((session, user, tenant)))
}

/// Sign in and get a token for scripts.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "identity", security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 401, description = "Wrong username or password", body = Problem),
        (status = 423, description = "Account locked after 5 failed sign-ins", body = Problem),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let ip = addr.ip().to_string();
    match sign_in(&state.store, &req.username, &req.password, SessionKind::Api, Some(&ip)).await? {
        Ok((session, user, tenant)) => Ok(Json(LoginResponse {
            token: session.secret,
            user,
            tenant,
            idle_timeout_minutes: state.session_idle_minutes,
        })),
        Err(LoginRefusal::BadCredentials { locked_now: false }) => {
            Err(ApiError::unauthorized("wrong username or password"))
        }
        Err(LoginRefusal::BadCredentials { locked_now: true }) => Err(ApiError::new(
            StatusCode::LOCKED,
            format!("wrong username or password; after {MAX_FAILED_LOGINS} failed sign-ins the account is locked for {LOCKOUT_MINUTES} minutes"),
        )),
        Err(LoginRefusal::Locked(minutes)) => Err(ApiError::new(
            StatusCode::LOCKED,
            format!("account locked after {MAX_FAILED_LOGINS} failed sign-ins; try again in {minutes} minutes"),
        )),
    }
}

/// End the session or sign-in token used for this request.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "identity",
    responses((status = 204, description = "Signed out"), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn logout(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<StatusCode> {
    match &p.credential {
        Credential::Session(s) => {
            state.store.logout(s, &p.actor()).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        Credential::ApiToken(_) => Err(ApiError::bad_request(
            "API tokens are revoked, not signed out: DELETE /api/v1/tokens/{id}",
        )),
    }
}

/// A tenant with the caller's roles in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantRoles {
    /// The tenant.
    pub tenant: Tenant,
    /// Roles held there.
    pub roles: Vec<Role>,
}

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    /// The account.
    pub user: User,
    /// The tenant this request acts in.
    pub tenant: Tenant,
    /// Roles in that tenant.
    pub roles: Vec<Role>,
    /// Permissions those roles and this credential's scope give.
    pub permissions: Vec<Permission>,
    /// The credential's highest scope.
    pub scope: Scope,
    /// Every tenant granted, for switching with `X-Tenant`.
    pub tenants: Vec<TenantRoles>,
}

/// The current user, tenant and roles.
#[utoipa::path(get, path = "/api/v1/me", tag = "identity",
    params(("X-Tenant" = Option<String>, Header, description = "Tenant name or id to act in")),
    responses((status = 200, body = MeResponse), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn me(ApiPrincipal(p): ApiPrincipal) -> ApiResult<Json<MeResponse>> {
    p.require_scope(Scope::Read)?;
    let tenants = p
        .tenants
        .iter()
        .map(|(tenant, roles)| TenantRoles {
            tenant: tenant.clone(),
            roles: roles.clone(),
        })
        .collect();
    Ok(Json(MeResponse {
        user: p.user.clone(),
        tenant: p.access.tenant.clone(),
        roles: p.access.roles.clone(),
        permissions: Permission::ALL
            .into_iter()
            .filter(|perm| p.can(*perm))
            .collect(),
        scope: p.scopes.highest(),
        tenants,
    }))
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The current password.
    pub current_password: String,
    /// The new one: at least 12 characters, 3 of 4 character classes.
    pub new_password: String,
}

/// Change your own password. Ends all your sessions.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "identity", request_body = ChangePasswordRequest,
    responses((status = 204, description = "Changed"), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn change_password(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    p.require_scope(Scope::Admin)?;
    state
        .store
        .change_own_password(
            &p.user.id,
            &p.access.tenant.id,
            &req.current_password,
            &req.new_password,
            &p.actor(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A role and what it grants.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleInfo {
    /// The role.
    pub role: Role,
    /// Its permissions.
    pub permissions: Vec<Permission>,
}

/// The role table: what each role may do.
#[utoipa::path(get, path = "/api/v1/roles", tag = "identity",
    responses((status = 200, body = Vec<RoleInfo>), (status = 401, body = Problem)))]
pub async fn roles(ApiPrincipal(p): ApiPrincipal) -> ApiResult<Json<Vec<RoleInfo>>> {
    p.require_scope(Scope::Read)?;
    Ok(Json(
        Role::ALL
            .into_iter()
            .map(|role| RoleInfo {
                role,
                permissions: role.permissions().to_vec(),
            })
            .collect(),
    ))
}
