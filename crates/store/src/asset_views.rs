//! Ways of looking at the ledger (I.1.e): saved queries, and internet exposure over time.

use crate::db::Store;
use crate::error::{Error, Result};
use crate::TenantScope;
use serde::Serialize;
use sqlx::Row;
use yunshou_model::asset::{Asset, Exposure};
use yunshou_model::{ids, Actor};

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// A saved ledger query: the list's query string under a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SavedQuery {
    /// Identifier.
    pub id: String,
    /// Name.
    pub name: String,
    /// The query string of `GET /api/v1/assets` (e.g. `exposure=internet&port=22`).
    pub query: String,
    /// Visible to everyone in the tenant, not only its author.
    pub shared: bool,
    /// Author's user id.
    pub user_id: String,
    /// Created, RFC 3339.
    pub created_at: String,
}

/// Internet exposure on one day: the day's last state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ExposurePoint {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Assets in use with at least one internet-facing port (or an internet kind).
    pub internet_assets: i64,
    /// Internet-facing ports of assets in use.
    pub internet_ports: i64,
}

/// Lifecycle states in which an asset is reachable, so counted as exposure.
const IN_USE: &str = "('onboarding', 'in_service', 'changing')";

fn exposure_signature(a: &Asset) -> (bool, bool, Vec<(u16, &str)>) {
    let ports = a
        .fields
        .ports
        .iter()
        .filter(|p| p.exposure == Exposure::Internet)
        .map(|p| (p.port, p.protocol.as_str()))
        .collect();
    (a.lifecycle.in_use(), a.internet_facing, ports)
}

/// Updates today's exposure point when a change can have moved it.
pub(crate) async fn refresh_exposure(
    tx: &mut Tx,
    scope: &TenantScope,
    before: Option<&Asset>,
    after: &Asset,
) -> Result<()> {
    if before.map(exposure_signature) == Some(exposure_signature(after)) {
        return Ok(());
    }
    record_exposure_today(tx, scope.tenant_id()).await
}

/// Recounts the tenant's exposure and stores it as today's point.
pub(crate) async fn record_exposure_today(tx: &mut Tx, tenant_id: &str) -> Result<()> {
    let assets: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM assets WHERE tenant_id = $1 AND internet_facing <> 0 AND lifecycle IN {IN_USE}"
    ))
    .bind(tenant_id)
    .fetch_one(&mut **tx)
    .await?;
    let ports: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM asset_ports p JOIN assets a ON a.id = p.asset_id \
         WHERE p.tenant_id = $1 AND p.internet <> 0 AND a.lifecycle IN {IN_USE}"
    ))
    .bind(tenant_id)
    .fetch_one(&mut **tx)
    .await?;
    let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
    upsert_point(tx, tenant_id, &day, assets, ports).await
}

async fn upsert_point(
    tx: &mut Tx,
    tenant_id: &str,
    day: &str,
    assets: i64,
    ports: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO asset_exposure_daily (tenant_id, day, internet_assets, internet_ports) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id, day) DO UPDATE SET internet_assets = excluded.internet_assets, internet_ports = excluded.internet_ports",
    )
    .bind(tenant_id)
    .bind(day)
    .bind(assets)
    .bind(ports)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Saves a ledger query for its author, or for the whole tenant when `shared`. The query
    /// string is checked by the caller (it must parse as a list query).
    pub async fn save_query(
        &self,
        scope: &TenantScope,
        name: &str,
        query: &str,
        shared: bool,
        actor: &Actor,
    ) -> Result<SavedQuery> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(Error::Invalid("name: 1–80 characters".into()));
        }
        if query.len() > 2000 {
            return Err(Error::Invalid("query: at most 2000 characters".into()));
        }
        let user_id = actor
            .user_id
            .clone()
            .ok_or_else(|| Error::Invalid("user: saved queries belong to a user".into()))?;
        let saved = SavedQuery {
            id: ids::new_id(),
            name: name.into(),
            query: query.trim_start_matches('?').into(),
            shared,
            user_id,
            created_at: crate::now_text(),
        };
        let mut w = self.begin_write().await?;
        sqlx::query("INSERT INTO asset_saved_queries (id, tenant_id, user_id, name, query, shared, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&saved.id)
            .bind(scope.tenant_id())
            .bind(&saved.user_id)
            .bind(&saved.name)
            .bind(&saved.query)
            .bind(i64::from(shared))
            .bind(&saved.created_at)
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "asset_query.save",
            "asset_query",
            Some(&saved.id),
        );
        entry.after = Some(serde_json::to_value(&saved).expect("query serialises"));
        w.commit(entry).await?;
        Ok(saved)
    }

    /// The queries `user_id` may use: their own and the tenant's shared ones, by name.
    pub async fn saved_queries(
        &self,
        scope: &TenantScope,
        user_id: &str,
    ) -> Result<Vec<SavedQuery>> {
        let rows = sqlx::query(
            "SELECT id, name, query, shared, user_id, created_at FROM asset_saved_queries \
             WHERE tenant_id = $1 AND (user_id = $2 OR shared <> 0) ORDER BY name, id",
        )
        .bind(scope.tenant_id())
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SavedQuery {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    query: r.try_get(2)?,
                    shared: r.try_get::<i64, _>(3)? != 0,
                    user_id: r.try_get(4)?,
                    created_at: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// Deletes a saved query: its author may, and so may whoever `may_delete_others`
    /// (the tenant's administrators). Anyone else is told it does not exist.
    pub async fn delete_saved_query(
        &self,
        scope: &TenantScope,
        id: &str,
        may_delete_others: bool,
        actor: &Actor,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query("SELECT user_id, shared, name, query FROM asset_saved_queries WHERE tenant_id = $1 AND id = $2")
            .bind(scope.tenant_id())
            .bind(id)
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or(Error::NotFound)?;
        let owner: String = row.try_get(0)?;
        let shared = row.try_get::<i64, _>(1)? != 0;
        let mine = actor.user_id.as_deref() == Some(owner.as_str());
        if !(mine || (shared && may_delete_others)) {
            return Err(Error::NotFound);
        }
        sqlx::query("DELETE FROM asset_saved_queries WHERE id = $1")
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "asset_query.delete",
            "asset_query",
            Some(id),
        );
        entry.before = Some(
            serde_json::json!({"name": row.try_get::<String, _>(2)?, "query": row.try_get::<String, _>(3)?}),
        );
        w.commit(entry).await?;
        Ok(())
    }

    /// Internet exposure over the last `days` days (oldest first). A day without a change
    /// carries the previous day's state; days before the first record are left out.
    pub async fn exposure_trend(
        &self,
        scope: &TenantScope,
        days: u32,
    ) -> Result<Vec<ExposurePoint>> {
        let today = chrono::Utc::now().date_naive();
        let first = today - chrono::Duration::days(i64::from(days.max(1)) - 1);
        let rows = sqlx::query(
            "SELECT day, internet_assets, internet_ports FROM asset_exposure_daily WHERE tenant_id = $1 ORDER BY day",
        )
        .bind(scope.tenant_id())
        .fetch_all(&self.pool)
        .await?;
        let mut points: Vec<(chrono::NaiveDate, i64, i64)> = Vec::with_capacity(rows.len());
        for r in rows {
            let day: String = r.try_get(0)?;
            let day = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                .map_err(|e| Error::Corrupt(format!("exposure day: {e}")))?;
            points.push((day, r.try_get(1)?, r.try_get(2)?));
        }
        let mut out = Vec::new();
        let mut last: Option<(i64, i64)> = None;
        let mut it = points.into_iter().peekable();
        let mut day = points_start(first, &mut it, &mut last);
        while day <= today {
            while let Some((d, a, p)) = it.peek().copied() {
                if d > day {
                    break;
                }
                last = Some((a, p));
                it.next();
            }
            if let Some((a, p)) = last {
                out.push(ExposurePoint {
                    day: day.format("%Y-%m-%d").to_string(),
                    internet_assets: a,
                    internet_ports: p,
                });
            }
            day = day.succ_opt().expect("a date after today exists");
        }
        Ok(out)
    }

    /// Records a past day's exposure, for carrying history over from a previous system (and
    /// for the demo). Today's point is always recounted from the ledger instead.
    pub async fn record_past_exposure(
        &self,
        scope: &TenantScope,
        point: &ExposurePoint,
        actor: &Actor,
    ) -> Result<()> {
        let day = chrono::NaiveDate::parse_from_str(&point.day, "%Y-%m-%d")
            .map_err(|_| Error::Invalid("day: YYYY-MM-DD".into()))?;
        if day >= chrono::Utc::now().date_naive() {
            return Err(Error::Invalid("day: only past days can be recorded".into()));
        }
        if point.internet_assets < 0 || point.internet_ports < 0 {
            return Err(Error::Invalid("internet_assets: not negative".into()));
        }
        let mut w = self.begin_write().await?;
        upsert_point(
            &mut w.tx,
            scope.tenant_id(),
            &point.day,
            point.internet_assets,
            point.internet_ports,
        )
        .await?;
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "asset_exposure.record",
            "asset_exposure",
            Some(&point.day),
        );
        entry.after = Some(serde_json::to_value(point).expect("point serialises"));
        w.commit(entry).await?;
        Ok(())
    }
}

/// Skips records before `first`, keeping the last of them as the starting state.
fn points_start(
    first: chrono::NaiveDate,
    it: &mut std::iter::Peekable<std::vec::IntoIter<(chrono::NaiveDate, i64, i64)>>,
    last: &mut Option<(i64, i64)>,
) -> chrono::NaiveDate {
    while let Some((d, a, p)) = it.peek().copied() {
        if d >= first {
            break;
        }
        *last = Some((a, p));
        it.next();
    }
    first
}

/// How many in-use assets expose one port to the internet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ExposedPort {
    /// Port.
    pub port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// Assets exposing it.
    pub assets: i64,
}

impl Store {
    /// Internet-facing ports of assets in use, most exposed first.
    pub async fn exposed_ports(&self, scope: &TenantScope) -> Result<Vec<ExposedPort>> {
        let rows = sqlx::query(&format!(
            "SELECT p.port, p.protocol, COUNT(*) AS n FROM asset_ports p JOIN assets a ON a.id = p.asset_id \
             WHERE p.tenant_id = $1 AND p.internet <> 0 AND a.lifecycle IN {IN_USE} GROUP BY p.port, p.protocol ORDER BY n DESC, p.port"
        ))
        .bind(scope.tenant_id())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let port: i64 = r.try_get(0)?;
                Ok(ExposedPort {
                    port: u16::try_from(port)
                        .map_err(|_| Error::Corrupt(format!("port {port}")))?,
                    protocol: r.try_get(1)?,
                    assets: r.try_get(2)?,
                })
            })
            .collect()
    }
}
