//! Console sessions, sign-in tokens for scripts, and API tokens.
//!
//! Only digests of the secrets are stored; a secret is shown once, when it is made.

use crate::crypto::{new_secret, random_hex, secret_digest};
use crate::db::Store;
use crate::error::{Error, Result};
use serde::Serialize;
use yunshou_model::{ids, Actor, Scope, ScopeSet};

/// Where a session came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// A browser session held in a cookie.
    Console,
    /// A token from `POST /api/v1/auth/login`, for scripts.
    Api,
}

impl SessionKind {
    fn as_str(self) -> &'static str {
        match self {
            SessionKind::Console => "console",
            SessionKind::Api => "api",
        }
    }
}

/// A signed-in session. Expires after a period without use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Identifier (not the secret).
    pub id: String,
    /// Whose.
    pub user_id: String,
    /// The tenant currently selected.
    pub tenant_id: String,
    /// The token forms must echo (console sessions).
    pub csrf_token: String,
    /// Console or API.
    pub kind: String,
    /// Last use, RFC 3339.
    pub last_seen_at: String,
}

/// A session just made, with its secret.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The bearer secret (cookie value or token); shown once.
    pub secret: String,
    /// The session.
    pub session: Session,
}

/// An API token (without its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    /// Identifier.
    pub id: String,
    /// The tenant it was made in.
    pub tenant_id: String,
    /// The owner.
    pub user_id: String,
    /// A label chosen by the owner.
    pub name: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    /// Scopes.
    pub scopes: Vec<Scope>,
    /// Expiry, RFC 3339.
    pub expires_at: String,
    /// Creation, RFC 3339.
    pub created_at: String,
    /// Last use, RFC 3339 (updated at most once a minute).
    pub last_used_at: Option<String>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<String>,
}

impl ApiToken {
    /// The scopes as a set.
    pub fn scope_set(&self) -> ScopeSet {
        ScopeSet::from_scopes(&self.scopes)
            .unwrap_or(ScopeSet::from_scopes(&[Scope::Read]).expect("non-empty"))
    }
}

/// An API token just made, with its secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NewApiToken {
    /// The secret; shown this once and never again.
    pub token: String,
    /// The token's record.
    #[serde(flatten)]
    pub info: ApiToken,
}

const SESSION_COLUMNS: &str = "id, user_id, tenant_id, csrf_token, kind, last_seen_at";
const TOKEN_COLUMNS: &str =
    "id, tenant_id, user_id, name, prefix, scopes, expires_at, created_at, last_used_at, revoked_at";
type TokenRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

fn token_from_row(r: TokenRow) -> Result<ApiToken> {
    let scopes =
        r.5.split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().map_err(Error::Corrupt))
            .collect::<Result<Vec<Scope>>>()?;
    Ok(ApiToken {
        id: r.0,
        tenant_id: r.1,
        user_id: r.2,
        name: r.3,
        prefix: r.4,
        scopes,
        expires_at: r.6,
        created_at: r.7,
        last_used_at: r.8,
        revoked_at: r.9,
    })
}

impl Store {
    /// Opens a session for a user who has just signed in.
    pub async fn create_session(
        &self,
        user_id: &str,
        tenant_id: &str,
        kind: SessionKind,
        source_ip: Option<&str>,
    ) -> Result<NewSession> {
        let secret = new_secret("yss_");
        let now = crate::now_text();
        let session = Session {
            id: ids::new_id(),
            user_id: user_id.to_string(),
            tenant_id: tenant_id.to_string(),
            csrf_token: random_hex(32),
            kind: kind.as_str().to_string(),
            last_seen_at: now.clone(),
        };
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, user_id, tenant_id, csrf_token, kind, source_ip, \
             created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&session.id)
        .bind(secret_digest(&secret))
        .bind(user_id)
        .bind(tenant_id)
        .bind(&session.csrf_token)
        .bind(&session.kind)
        .bind(source_ip)
        .bind(&now)
        .bind(&now)
        .execute(&self.pool)
        .await?;
        Ok(NewSession { secret, session })
    }

    /// The session a secret belongs to.
    pub async fn session_by_secret(&self, secret: &str) -> Result<Option<Session>> {
        let row: Option<(String, String, String, String, String, String)> = sqlx::query_as(
            &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1"),
        )
        .bind(secret_digest(secret))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| Session {
            id: r.0,
            user_id: r.1,
            tenant_id: r.2,
            csrf_token: r.3,
            kind: r.4,
            last_seen_at: r.5,
        }))
    }

    /// Records that a session was used now.
    pub async fn touch_session(&self, session_id: &str) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(crate::now_text())
            .bind(session_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends a session that ran out (idle too long); no audit record, it was not an action.
    pub async fn expire_session(&self, session_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(session_id)
            .execute(&self.pool)
            .await?;
        self.bump_identity_generation();
        Ok(())
    }

    /// Deletes every session idle since before `cutoff` (RFC 3339).
    pub async fn expire_idle_sessions(&self, cutoff: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Signs out: ends the session and records it.
    pub async fn logout(&self, session: &Session, actor: &Actor) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(&session.id)
            .execute(&mut *w.tx)
            .await?;
        w.commit(actor.entry(
            Some(&session.tenant_id),
            "auth.logout",
            "session",
            Some(&session.id),
        ))
        .await?;
        self.bump_identity_generation();
        Ok(())
    }

    /// Switches the session to another tenant (already checked to be granted).
    pub async fn switch_session_tenant(
        &self,
        session: &Session,
        access: &crate::TenantAccess,
        actor: &Actor,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("UPDATE sessions SET tenant_id = $1 WHERE id = $2")
            .bind(&access.tenant.id)
            .bind(&session.id)
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(
            Some(&access.tenant.id),
            "session.switch_tenant",
            "session",
            Some(&session.id),
        );
        entry.before = Some(serde_json::json!({ "tenant_id": session.tenant_id }));
        entry.after = Some(
            serde_json::json!({ "tenant_id": access.tenant.id, "tenant": access.tenant.name }),
        );
        w.commit(entry).await?;
        self.bump_identity_generation();
        Ok(())
    }

    /// Makes an API token for `user_id`. `expires_at` is RFC 3339.
    pub async fn create_api_token(
        &self,
        tenant_id: &str,
        user_id: &str,
        name: &str,
        scopes: &[Scope],
        expires_at: &str,
        actor: &Actor,
    ) -> Result<NewApiToken> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(Error::Invalid(
                "name: must be 1–100 characters without control characters".into(),
            ));
        }
        if scopes.is_empty() {
            return Err(Error::Invalid(
                "scopes: at least one of read, write, admin".into(),
            ));
        }
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        let secret = new_secret("ysk_");
        let info = ApiToken {
            id: ids::new_id(),
            tenant_id: tenant_id.to_string(),
            user_id: user_id.to_string(),
            name: name.to_string(),
            prefix: secret[..10].to_string(),
            scopes: scopes.clone(),
            expires_at: expires_at.to_string(),
            created_at: crate::now_text(),
            last_used_at: None,
            revoked_at: None,
        };
        let scope_text = scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let mut w = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, tenant_id, user_id, name, token_hash, prefix, scopes, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&info.id)
        .bind(tenant_id)
        .bind(user_id)
        .bind(&info.name)
        .bind(secret_digest(&secret))
        .bind(&info.prefix)
        .bind(&scope_text)
        .bind(&info.expires_at)
        .bind(&info.created_at)
        .execute(&mut *w.tx)
        .await?;
        let mut entry = actor.entry(Some(tenant_id), "token.create", "api_token", Some(&info.id));
        entry.after = Some(serde_json::to_value(&info).expect("token serialises"));
        w.commit(entry).await?;
        Ok(NewApiToken {
            token: secret,
            info,
        })
    }

    /// The API token a secret belongs to (revoked and expired ones included; callers check).
    pub async fn api_token_by_secret(&self, secret: &str) -> Result<Option<ApiToken>> {
        let row: Option<TokenRow> = sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1"
        ))
        .bind(secret_digest(secret))
        .fetch_optional(&self.pool)
        .await?;
        row.map(token_from_row).transpose()
    }

    /// A user's own tokens, newest first.
    pub async fn list_api_tokens(&self, user_id: &str) -> Result<Vec<ApiToken>> {
        let rows: Vec<TokenRow> = sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(token_from_row).collect()
    }

    /// Revokes one of the user's own tokens. Another user's token answers `NotFound`.
    pub async fn revoke_api_token(
        &self,
        user_id: &str,
        token_id: &str,
        audit_tenant: &str,
        actor: &Actor,
    ) -> Result<ApiToken> {
        let row: Option<TokenRow> = sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1 AND user_id = $2"
        ))
        .bind(token_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        let mut token = token_from_row(row.ok_or(Error::NotFound)?)?;
        if token.revoked_at.is_some() {
            return Ok(token);
        }
        let now = crate::now_text();
        let mut w = self.begin_write().await?;
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
            .bind(&now)
            .bind(token_id)
            .execute(&mut *w.tx)
            .await?;
        token.revoked_at = Some(now);
        let mut entry = actor.entry(
            Some(audit_tenant),
            "token.revoke",
            "api_token",
            Some(token_id),
        );
        entry.after = Some(serde_json::json!({ "name": token.name, "prefix": token.prefix }));
        w.commit(entry).await?;
        self.bump_identity_generation();
        Ok(token)
    }

    /// Records that a token was used now.
    pub async fn touch_api_token(&self, token_id: &str) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(crate::now_text())
            .bind(token_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
