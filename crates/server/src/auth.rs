//! Authentication: who is calling, in which tenant, with which roles and scopes.
//!
//! A request carries either a bearer secret (`Authorization: Bearer …`: an API token or a
//! sign-in token) or the console's session cookie. Resolving one costs several queries, so
//! results are cached for a few seconds, keyed by the secret's digest and the requested
//! tenant, and dropped whenever the store reports an identity change.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use yunshou_model::{Actor, Permission, ScopeSet, User};
use yunshou_store::{Session, TenantAccess, TenantScope};

/// Name of the console's session cookie.
pub const SESSION_COOKIE: &str = "ys_session";
/// Header that picks the tenant for one request.
pub const TENANT_HEADER: &str = "x-tenant";
/// Header carrying the CSRF token on cookie-authenticated requests that are not forms.
pub const CSRF_HEADER: &str = "x-csrf-token";

const CACHE_TTL: Duration = Duration::from_secs(5);
const CACHE_MAX: usize = 10_000;
/// Last-use timestamps are written at most this often, keeping reads read-only.
const TOUCH_EVERY: chrono::Duration = chrono::Duration::seconds(60);

/// How the caller authenticated.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A console cookie or a sign-in token.
    Session(Session),
    /// An API token (its id).
    ApiToken(String),
}

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The account.
    pub user: User,
    /// The tenant the request acts in, and the roles there.
    pub access: TenantAccess,
    /// What the credential may do.
    pub scopes: ScopeSet,
    /// The credential.
    pub credential: Credential,
    /// Where the request came from.
    pub source_ip: Option<String>,
    /// True when authenticated by the console cookie (so CSRF rules apply).
    pub via_cookie: bool,
    /// Every tenant the user holds roles in (for `/me` and the console's tenant switch).
    pub tenants: Vec<(yunshou_model::Tenant, Vec<yunshou_model::Role>)>,
}

impl Principal {
    /// The tenant scope, when both the roles and the credential's scopes allow `permission`.
    pub fn require(&self, permission: Permission) -> ApiResult<&TenantScope> {
        if !self.access.allows(permission) {
            return Err(ApiError::forbidden(format!(
                "your roles in tenant `{}` do not grant `{}`",
                self.access.tenant.name,
                serde_json::to_value(permission)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            )));
        }
        self.require_scope(permission.required_scope())?;
        Ok(&self.access.scope)
    }

    /// Checks only the credential's scope (for self-service actions every role may take).
    pub fn require_scope(&self, scope: yunshou_model::Scope) -> ApiResult<()> {
        if self.scopes.allows(scope) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this token lacks the `{}` scope",
                scope.as_str()
            )))
        }
    }

    /// True when roles and scopes allow `permission` (for showing or hiding console items).
    pub fn can(&self, permission: Permission) -> bool {
        self.access.allows(permission) && self.scopes.allows(permission.required_scope())
    }

    /// The actor for audit records.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user.id.clone()),
            name: self.user.username.clone(),
            source_ip: self.source_ip.clone(),
        }
    }

    /// The session, when authenticated by one.
    pub fn session(&self) -> Option<&Session> {
        match &self.credential {
            Credential::Session(s) => Some(s),
            Credential::ApiToken(_) => None,
        }
    }
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// No credential at all.
    Missing,
    /// A credential that is unknown, expired, revoked, or of a disabled account.
    Invalid(&'static str),
    /// The requested tenant does not exist or is not granted.
    Tenant(String),
}

impl From<AuthFailure> for ApiError {
    fn from(f: AuthFailure) -> ApiError {
        match f {
            AuthFailure::Missing => {
                ApiError::unauthorized("sign in, or send `Authorization: Bearer <token>`")
            }
            AuthFailure::Invalid(why) => ApiError::unauthorized(why),
            AuthFailure::Tenant(t) => ApiError::forbidden(format!(
                "tenant `{t}` does not exist or is not granted to you"
            )),
        }
    }
}

#[derive(Clone)]
struct CacheEntry {
    at: Instant,
    generation: u64,
    principal: Arc<Principal>,
}

/// A short-lived cache of resolved credentials.
#[derive(Default)]
pub struct AuthCache {
    entries: Mutex<HashMap<(String, Option<String>), CacheEntry>>,
}

impl AuthCache {
    fn get(&self, key: &(String, Option<String>), generation: u64) -> Option<Arc<Principal>> {
        let entries = self.entries.lock().expect("cache lock");
        entries
            .get(key)
            .filter(|e| e.generation == generation && e.at.elapsed() < CACHE_TTL)
            .map(|e| e.principal.clone())
    }

    fn put(&self, key: (String, Option<String>), generation: u64, principal: Arc<Principal>) {
        let mut entries = self.entries.lock().expect("cache lock");
        if entries.len() >= CACHE_MAX {
            entries.retain(|_, e| e.generation == generation && e.at.elapsed() < CACHE_TTL);
            if entries.len() >= CACHE_MAX {
                entries.clear();
            }
        }
        entries.insert(
            key,
            CacheEntry {
                at: Instant::now(),
                generation,
                principal,
            },
        );
    }
}

/// The value of one cookie.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The client address of a request.
pub fn client_ip(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// Resolves the caller of a request, or says why not.
pub async fn resolve(state: &AppState, parts: &Parts) -> Result<Arc<Principal>, AuthFailure> {
    if let Some(p) = parts.extensions.get::<Arc<Principal>>() {
        return Ok(p.clone());
    }
    let (secret, via_cookie) = match bearer(&parts.headers) {
        Some(s) => (s, false),
        None => match cookie(&parts.headers, SESSION_COOKIE) {
            Some(s) => (s, true),
            None => return Err(AuthFailure::Missing),
        },
    };
    let tenant_header = parts
        .headers
        .get(TENANT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let key = (
        yunshou_store::crypto::secret_digest(secret),
        tenant_header.clone(),
    );
    let generation = state.store.identity_generation();
    if let Some(p) = state.auth_cache.get(&key, generation) {
        if p.via_cookie == via_cookie {
            return Ok(p);
        }
    }
    let principal = Arc::new(
        resolve_uncached(state, secret, via_cookie, tenant_header, client_ip(parts)).await?,
    );
    state.auth_cache.put(key, generation, principal.clone());
    Ok(principal)
}

async fn resolve_uncached(
    state: &AppState,
    secret: &str,
    via_cookie: bool,
    tenant_header: Option<String>,
    source_ip: Option<String>,
) -> Result<Principal, AuthFailure> {
    let store = &state.store;
    let internal = |_| AuthFailure::Invalid("credential could not be checked");
    let now = chrono::Utc::now();
    let (user_id, default_tenant, scopes, credential) = if secret.starts_with("ysk_") && !via_cookie
    {
        let token = store
            .api_token_by_secret(secret)
            .await
            .map_err(internal)?
            .ok_or(AuthFailure::Invalid("unknown token"))?;
        if token.revoked_at.is_some() {
            return Err(AuthFailure::Invalid("this token was revoked"));
        }
        if yunshou_store::parse_time(&token.expires_at).is_none_or(|t| t <= now) {
            return Err(AuthFailure::Invalid("this token has expired"));
        }
        if stale(token.last_used_at.as_deref(), now) {
            store.touch_api_token(&token.id).await.map_err(internal)?;
        }
        (
            token.user_id.clone(),
            token.tenant_id.clone(),
            token.scope_set(),
            Credential::ApiToken(token.id),
        )
    } else if secret.starts_with("yss_") {
        let session = store
            .session_by_secret(secret)
            .await
            .map_err(internal)?
            .ok_or(AuthFailure::Invalid("session ended; sign in again"))?;
        let idle_limit = chrono::Duration::minutes(state.session_idle_minutes);
        if yunshou_store::parse_time(&session.last_seen_at).is_none_or(|t| now - t > idle_limit) {
            store.expire_session(&session.id).await.map_err(internal)?;
            return Err(AuthFailure::Invalid(
                "session expired after inactivity; sign in again",
            ));
        }
        if (session.kind == "console") != via_cookie {
            return Err(AuthFailure::Invalid("this session cannot be used this way"));
        }
        if stale(Some(&session.last_seen_at), now) {
            store.touch_session(&session.id).await.map_err(internal)?;
        }
        (
            session.user_id.clone(),
            session.tenant_id.clone(),
            ScopeSet::FULL,
            Credential::Session(session),
        )
    } else {
        return Err(AuthFailure::Invalid("malformed credential"));
    };
    let user = store
        .user_by_id(&user_id)
        .await
        .map_err(internal)?
        .ok_or(AuthFailure::Invalid("account no longer exists"))?;
    if user.disabled {
        return Err(AuthFailure::Invalid("account is disabled"));
    }
    let access = match &tenant_header {
        Some(t) => {
            let tenant = match store.tenant_by_name(t).await.map_err(internal)? {
                Some(tenant) => Some(tenant),
                None if yunshou_model::ids::is_valid_id(t) => {
                    store.tenant_by_id(t).await.map_err(internal)?
                }
                None => None,
            };
            match tenant {
                Some(tenant) => store.access(&user.id, &tenant.id).await.map_err(internal)?,
                None => None,
            }
            .ok_or_else(|| AuthFailure::Tenant(t.chars().take(64).collect()))?
        }
        None => match store
            .access(&user.id, &default_tenant)
            .await
            .map_err(internal)?
        {
            Some(a) => a,
            // The default tenant was revoked: fall back to any tenant still granted.
            None => {
                let first = store.accessible_tenants(&user.id).await.map_err(internal)?;
                let (tenant, _) = first
                    .first()
                    .ok_or(AuthFailure::Invalid("account holds no role in any tenant"))?;
                store
                    .access(&user.id, &tenant.id)
                    .await
                    .map_err(internal)?
                    .ok_or(AuthFailure::Invalid("no tenant"))?
            }
        },
    };
    let tenants = store.accessible_tenants(&user.id).await.map_err(internal)?;
    Ok(Principal {
        user,
        access,
        scopes,
        credential,
        source_ip,
        via_cookie,
        tenants,
    })
}

fn stale(last: Option<&str>, now: chrono::DateTime<chrono::Utc>) -> bool {
    last.and_then(yunshou_store::parse_time)
        .is_none_or(|t| now - t > TOUCH_EVERY)
}

/// Extracts the caller for API routes: 401/403 problem documents on failure.
pub struct ApiPrincipal(pub Arc<Principal>);

impl FromRequestParts<AppState> for ApiPrincipal {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let p = resolve(state, parts).await?;
        if p.via_cookie && !is_safe(&parts.method) {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            let expected = p.session().map(|s| s.csrf_token.as_str());
            if sent.is_none() || sent != expected {
                return Err(ApiError::forbidden(
                    "missing or wrong X-CSRF-Token for a cookie-authenticated request",
                ));
            }
        }
        Ok(ApiPrincipal(p))
    }
}

/// True for methods that change nothing.
pub fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}
