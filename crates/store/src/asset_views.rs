//! Ways of looking at the ledger (I.1.e): internet exposure over time (saved queries are in
//! [`crate::saved_searches`]).

use crate::db::Store;
use crate::error::{Error, Result};
use crate::TenantScope;
use serde::Serialize;
use sqlx::Row;
use yunshou_model::asset::{Asset, Exposure};
use yunshou_model::Actor;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

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
