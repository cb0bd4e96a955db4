//! Settings of the event pipeline: ingest tokens (P.3.a — the sender is authenticated and its
//! address checked) and per-tenant event retention (Cybersecurity Law art. 21: 180 days).

use crate::crypto::{new_secret, secret_digest};
use crate::db::Store;
use crate::error::{Error, Result};
use crate::TenantScope;
use serde::Serialize;
use sqlx::Row;
use yunshou_model::{ids, Actor};

/// Days events are kept unless a tenant's setting says otherwise (the legal minimum).
pub const DEFAULT_RETENTION_DAYS: i64 = 180;

/// An ingest token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IngestToken {
    /// Identifier.
    pub id: String,
    /// Name.
    pub name: String,
    /// First characters of the secret, to recognise it.
    pub prefix: String,
    /// Addresses or CIDR blocks allowed to use it; empty allows any.
    pub allowed_sources: Vec<String>,
    /// Created, RFC 3339.
    pub created_at: String,
    /// By whom.
    pub created_by: String,
    /// Revoked, RFC 3339.
    pub revoked_at: Option<String>,
}

/// What an ingest token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestGrant {
    /// Token id.
    pub token_id: String,
    /// The tenant its events belong to.
    pub tenant_id: String,
    /// Allowed sender addresses (CIDR); empty allows any.
    pub allowed_sources: Vec<String>,
}

/// A tenant's retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Retention {
    /// Days events are kept.
    pub days: i64,
    /// Why it is shorter than the default, when it is.
    pub reason: Option<String>,
}

fn token_from_row(r: &sqlx::any::AnyRow) -> Result<IngestToken> {
    let sources: String = r.try_get(3)?;
    Ok(IngestToken {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        prefix: r.try_get(2)?,
        allowed_sources: serde_json::from_str(&sources)
            .map_err(|e| Error::Corrupt(format!("ingest token sources: {e}")))?,
        created_at: r.try_get(4)?,
        created_by: r.try_get(5)?,
        revoked_at: r.try_get(6)?,
    })
}

const TOKEN_COLUMNS: &str = "id, name, prefix, allowed_sources, created_at, created_by, revoked_at";

impl Store {
    /// Creates an ingest token for the tenant; the secret is returned once. `allowed_sources`
    /// are checked by the caller (addresses or CIDR blocks).
    pub async fn create_ingest_token(
        &self,
        scope: &TenantScope,
        name: &str,
        allowed_sources: &[String],
        actor: &Actor,
    ) -> Result<(IngestToken, String)> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(Error::Invalid("name: 1–100 characters".into()));
        }
        if allowed_sources.len() > 100 {
            return Err(Error::Invalid(
                "allowed_sources: at most 100 entries".into(),
            ));
        }
        let secret = new_secret("ysi_");
        let token = IngestToken {
            id: ids::new_id(),
            name: name.into(),
            prefix: secret[..10].to_string(),
            allowed_sources: allowed_sources.to_vec(),
            created_at: crate::now_text(),
            created_by: actor.name.clone(),
            revoked_at: None,
        };
        let mut w = self.begin_write().await?;
        sqlx::query("INSERT INTO ingest_tokens (id, tenant_id, name, prefix, digest, allowed_sources, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&token.id)
            .bind(scope.tenant_id())
            .bind(&token.name)
            .bind(&token.prefix)
            .bind(secret_digest(&secret))
            .bind(serde_json::to_string(&token.allowed_sources).expect("strings serialise"))
            .bind(&token.created_at)
            .bind(&token.created_by)
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "ingest_token.create",
            "ingest_token",
            Some(&token.id),
        );
        entry.after = Some(serde_json::to_value(&token).expect("token serialises"));
        w.commit(entry).await?;
        Ok((token, secret))
    }

    /// The tenant's ingest tokens.
    pub async fn ingest_tokens(&self, scope: &TenantScope) -> Result<Vec<IngestToken>> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM ingest_tokens WHERE tenant_id = $1 ORDER BY created_at"
        ))
        .bind(scope.tenant_id())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// Revokes an ingest token of the tenant.
    pub async fn revoke_ingest_token(
        &self,
        scope: &TenantScope,
        id: &str,
        actor: &Actor,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        let n = sqlx::query("UPDATE ingest_tokens SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 AND revoked_at IS NULL")
            .bind(crate::now_text())
            .bind(scope.tenant_id())
            .bind(id)
            .execute(&mut *w.tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::NotFound);
        }
        let entry = actor.entry(
            Some(scope.tenant_id()),
            "ingest_token.revoke",
            "ingest_token",
            Some(id),
        );
        w.commit(entry).await?;
        Ok(())
    }

    /// What a presented ingest secret grants, if it is a live token.
    pub async fn ingest_grant(&self, secret: &str) -> Result<Option<IngestGrant>> {
        let row = sqlx::query("SELECT id, tenant_id, allowed_sources FROM ingest_tokens WHERE digest = $1 AND revoked_at IS NULL")
            .bind(secret_digest(secret))
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = row else { return Ok(None) };
        let sources: String = r.try_get(2)?;
        Ok(Some(IngestGrant {
            token_id: r.try_get(0)?,
            tenant_id: r.try_get(1)?,
            allowed_sources: serde_json::from_str(&sources)
                .map_err(|e| Error::Corrupt(format!("ingest token sources: {e}")))?,
        }))
    }

    /// The tenant's event retention.
    pub async fn retention(&self, scope: &TenantScope) -> Result<Retention> {
        self.retention_of(scope.tenant_id()).await
    }

    /// Any tenant's retention (for the retention worker).
    pub async fn retention_of(&self, tenant_id: &str) -> Result<Retention> {
        let row = sqlx::query("SELECT days, reason FROM event_retention WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => Retention {
                days: r.try_get(0)?,
                reason: r.try_get(1)?,
            },
            None => Retention {
                days: DEFAULT_RETENTION_DAYS,
                reason: None,
            },
        })
    }

    /// Sets the tenant's retention. Fewer than [`DEFAULT_RETENTION_DAYS`] needs an explicit
    /// override with a reason; every change is audited.
    pub async fn set_retention(
        &self,
        scope: &TenantScope,
        days: i64,
        override_minimum: bool,
        reason: Option<&str>,
        actor: &Actor,
    ) -> Result<Retention> {
        if !(1..=3650).contains(&days) {
            return Err(Error::Invalid("days: 1–3650".into()));
        }
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if days < DEFAULT_RETENTION_DAYS && !(override_minimum && reason.is_some()) {
            return Err(Error::Invalid(format!(
                "days: fewer than {DEFAULT_RETENTION_DAYS} days (Cybersecurity Law art. 21) needs override_minimum and a reason"
            )));
        }
        let before = self.retention(scope).await?;
        let after = Retention {
            days,
            reason: reason.map(str::to_string),
        };
        let mut w = self.begin_write().await?;
        sqlx::query("INSERT INTO event_retention (tenant_id, days, reason, changed_at, changed_by) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (tenant_id) DO UPDATE SET days = excluded.days, reason = excluded.reason, changed_at = excluded.changed_at, changed_by = excluded.changed_by")
            .bind(scope.tenant_id())
            .bind(days)
            .bind(&after.reason)
            .bind(crate::now_text())
            .bind(&actor.name)
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "events.retention",
            "tenant",
            Some(scope.tenant_id()),
        );
        entry.before = Some(serde_json::to_value(&before).expect("retention serialises"));
        entry.after = Some(serde_json::to_value(&after).expect("retention serialises"));
        w.commit(entry).await?;
        Ok(after)
    }
}

/// An address of an asset in use, for enriching events (system-wide, for the pipeline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressedAsset {
    /// Tenant.
    pub tenant_id: String,
    /// The address.
    pub ip: std::net::IpAddr,
    /// Asset id.
    pub asset_id: String,
    /// Asset name.
    pub name: String,
    /// Asset value 1–5.
    pub value: Option<i64>,
    /// Owner.
    pub owner: Option<String>,
    /// Business system.
    pub business_system: Option<String>,
}

impl Store {
    /// Every address of every asset not yet disposed, across tenants: the pipeline's
    /// enrichment table (each event is matched within its own tenant).
    pub async fn asset_addresses(&self) -> Result<Vec<AddressedAsset>> {
        let rows = sqlx::query(
            "SELECT a.tenant_id, i.ip_key, a.id, a.name, a.value, a.owner, a.business_system FROM asset_ips i \
             JOIN assets a ON a.id = i.asset_id WHERE a.lifecycle NOT IN ('disposed', 'transferred')",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let key: String = r.try_get(1)?;
            let Ok(bits) = u128::from_str_radix(&key, 16) else {
                continue;
            };
            let v6 = std::net::Ipv6Addr::from(bits);
            let ip = match v6.to_ipv4_mapped() {
                Some(v4) => std::net::IpAddr::V4(v4),
                None => std::net::IpAddr::V6(v6),
            };
            out.push(AddressedAsset {
                tenant_id: r.try_get(0)?,
                ip,
                asset_id: r.try_get(2)?,
                name: r.try_get(3)?,
                value: r.try_get(4)?,
                owner: r.try_get(5)?,
                business_system: r.try_get(6)?,
            });
        }
        Ok(out)
    }
}
