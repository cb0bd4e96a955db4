//! The risk register (GB/T 20984-2022, I.3.b–c): each risk is an asset × a threat × a
//! vulnerability (a finding, or a weakness described by hand), valued by the tenant's method
//! (matrix by default) from the threat's frequency, the vulnerability's severity and the
//! asset's value; treated (reduce, accept, transfer, avoid) by an owner before a date, with
//! the residual level expected. Any change of the inputs reassesses the open risks, and the
//! count per level is kept per day for the trend.

use crate::db::Store;
use crate::error::{Error, Result};
use crate::finding_texts::text_of;
use crate::findings::FindingStatus;
use crate::scope::TenantScope;
use crate::vuln_settings::VulnSettings;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use yunshou_identify::risk::assess;
use yunshou_model::{ids, Actor};

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Risk treatments.
pub const TREATMENTS: [&str; 4] = ["reduce", "accept", "transfer", "avoid"];
/// Risk statuses.
pub const STATUSES: [&str; 3] = ["open", "treating", "closed"];

/// What an analyst enters for a risk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskFields {
    /// The asset.
    pub asset_id: String,
    /// The threat.
    pub threat_id: String,
    /// The finding that is the vulnerability; or give `vulnerability` and its level.
    #[serde(default)]
    pub finding_id: Option<String>,
    /// A weakness described by hand (a management weakness, a design gap).
    #[serde(default)]
    pub vulnerability: Option<String>,
    /// Its severity, 1–5 (GB/T 20984).
    #[serde(default)]
    pub vulnerability_level: Option<u8>,
    /// One of [`TREATMENTS`], once decided.
    #[serde(default)]
    pub treatment: Option<String>,
    /// Who carries the treatment out.
    #[serde(default)]
    pub owner: Option<String>,
    /// By when (`YYYY-MM-DD`).
    #[serde(default)]
    pub due_date: Option<String>,
    /// The level expected after treatment, 1–5.
    #[serde(default)]
    pub residual_level: Option<u8>,
    /// One of [`STATUSES`] (default `open`).
    #[serde(default)]
    pub status: Option<String>,
    /// Notes.
    #[serde(default)]
    pub note: Option<String>,
}

impl RiskFields {
    /// Trims and checks; every problem, one a line.
    pub fn validate(&mut self) -> std::result::Result<(), String> {
        let mut errors = vec![];
        for (field, v) in [("asset_id", &self.asset_id), ("threat_id", &self.threat_id)] {
            if !ids::is_valid_id(v) {
                errors.push(format!("{field}: an id"));
            }
        }
        let clean = |v: &mut Option<String>| {
            *v = v
                .as_ref()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
        };
        for v in [
            &mut self.finding_id,
            &mut self.vulnerability,
            &mut self.treatment,
            &mut self.owner,
            &mut self.due_date,
            &mut self.status,
            &mut self.note,
        ] {
            clean(v);
        }
        match (&self.finding_id, &self.vulnerability) {
            (Some(f), _) if !ids::is_valid_id(f) => errors.push("finding_id: an id".into()),
            (None, None) => errors
                .push("vulnerability: name a finding (finding_id) or describe the weakness".into()),
            (None, Some(v)) => {
                if v.chars().count() > 500 {
                    errors.push("vulnerability: at most 500 characters".into());
                }
                if !self
                    .vulnerability_level
                    .is_some_and(|l| (1..=5).contains(&l))
                {
                    errors.push("vulnerability_level: 1–5 for a weakness described by hand".into());
                }
            }
            _ => {}
        }
        if let Some(t) = &self.treatment {
            if !TREATMENTS.contains(&t.as_str()) {
                errors.push(format!("treatment: one of {}", TREATMENTS.join(", ")));
            } else if self.owner.is_none() {
                errors.push("owner: a treatment needs an owner".into());
            }
        }
        if let Some(d) = &self.due_date {
            if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
                errors.push("due_date: YYYY-MM-DD".into());
            }
        }
        if self.residual_level.is_some_and(|l| !(1..=5).contains(&l)) {
            errors.push("residual_level: 1–5".into());
        }
        let status = self.status.get_or_insert_with(|| "open".into());
        if !STATUSES.contains(&status.as_str()) {
            errors.push(format!("status: one of {}", STATUSES.join(", ")));
        } else if status != "open" && self.treatment.is_none() {
            errors.push(format!("status: `{status}` needs a treatment decided"));
        }
        if self.owner.as_ref().is_some_and(|o| o.chars().count() > 200)
            || self.note.as_ref().is_some_and(|n| n.chars().count() > 5000)
        {
            errors.push("owner (200), note (5000): too long".into());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n"))
        }
    }
}

/// A stored risk with its assessment.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Risk {
    /// Identifier.
    pub id: String,
    /// The analyst's fields.
    #[serde(flatten)]
    pub fields: RiskFields,
    /// The asset's name.
    pub asset_name: String,
    /// The threat's name.
    pub threat_name: String,
    /// The vulnerability as shown: the finding's title or the description.
    pub vulnerability_title: String,
    /// Inputs: threat frequency T, vulnerability severity V, asset value A (1–5 each).
    pub threat_level: u8,
    /// V.
    pub vulnerability_level_used: u8,
    /// A.
    pub asset_value: u8,
    /// Likelihood L (two decimals with the multiplication method).
    pub likelihood: f64,
    /// Loss F.
    pub loss: f64,
    /// Risk value R.
    pub value: f64,
    /// Risk level 1–5 (5 很高).
    pub level: u8,
    /// `matrix` or `multiplication`, and the table.
    pub method: String,
    /// Each step of the computation.
    pub steps: Vec<String>,
    /// Last assessed.
    pub assessed_at: String,
    /// Created.
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
}

/// Open risks per cell of likelihood × loss: `cells[l-1][f-1]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HeatMap {
    /// Counts by likelihood (rows) and loss (columns), 1–5 each.
    pub cells: [[i64; 5]; 5],
    /// The level each cell stands for under the tenant's method and tables.
    pub levels: [[u8; 5]; 5],
}

/// Open risks per level on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TrendPoint {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Counts for levels 1–5.
    pub levels: [i64; 5],
}

const RISK_COLUMNS: &str = "r.id, r.asset_id, r.threat_id, r.finding_id, r.vulnerability, r.vulnerability_level, r.treatment, r.owner, \
     r.due_date, r.residual_level, r.status, r.note, a.name, t.name, COALESCE(f.title, r.vulnerability, ''), r.threat_level, \
     r.asset_value, r.likelihood, r.loss, r.value, r.level, r.method, r.steps, r.assessed_at, r.created_at, r.updated_at";
const RISK_FROM: &str =
    "risks r JOIN assets a ON a.id = r.asset_id JOIN threats t ON t.id = r.threat_id \
     LEFT JOIN findings f ON f.id = r.finding_id";

fn risk_from_row(r: &AnyRow) -> Result<Risk> {
    let small = |i: usize| -> Result<u8> { Ok(r.try_get::<i64, _>(i)? as u8) };
    let manual_level: i64 = r.try_get(5)?;
    let finding_id: Option<String> = r.try_get(3)?;
    Ok(Risk {
        id: r.try_get(0)?,
        fields: RiskFields {
            asset_id: r.try_get(1)?,
            threat_id: r.try_get(2)?,
            vulnerability_level: finding_id.is_none().then_some(manual_level as u8),
            finding_id,
            vulnerability: r.try_get(4)?,
            treatment: r.try_get(6)?,
            owner: r.try_get(7)?,
            due_date: r.try_get(8)?,
            residual_level: r.try_get::<Option<i64>, _>(9)?.map(|l| l as u8),
            status: r.try_get(10)?,
            note: r.try_get(11)?,
        },
        asset_name: r.try_get(12)?,
        threat_name: r.try_get(13)?,
        vulnerability_title: r.try_get(14)?,
        threat_level: small(15)?,
        vulnerability_level_used: manual_level as u8,
        asset_value: small(16)?,
        likelihood: r.try_get(17)?,
        loss: r.try_get(18)?,
        value: r.try_get(19)?,
        level: small(20)?,
        method: r.try_get(21)?,
        steps: serde_json::from_str(&r.try_get::<String, _>(22)?)
            .map_err(|e| Error::Corrupt(e.to_string()))?,
        assessed_at: r.try_get(23)?,
        created_at: r.try_get(24)?,
        updated_at: r.try_get(25)?,
    })
}

/// The inputs of one risk, read inside the transaction.
struct Inputs {
    threat_level: u8,
    vulnerability_level: u8,
    asset_value: u8,
}

async fn inputs(tx: &mut Tx, tenant: &str, f: &RiskFields) -> Result<Inputs> {
    let asset = sqlx::query("SELECT value FROM assets WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(&f.asset_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| Error::Invalid("asset_id: no such asset".into()))?;
    let asset_value = asset.try_get::<Option<i64>, _>(0)?.unwrap_or(3).clamp(1, 5) as u8;
    let threat_level: i64 =
        sqlx::query("SELECT frequency_level FROM threats WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(&f.threat_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| Error::Invalid("threat_id: no such threat".into()))?
            .try_get(0)?;
    let vulnerability_level = match &f.finding_id {
        Some(id) => {
            let row = sqlx::query(concat!(
                "SELECT f.asset_id, f.status, ",
                text_of!("risk_text"),
                " FROM findings f WHERE f.tenant_id = $1 AND f.id = $2"
            ))
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| Error::Invalid("finding_id: no such finding".into()))?;
            if row.try_get::<String, _>(0)? != f.asset_id {
                return Err(Error::Invalid(
                    "finding_id: the finding is on another asset".into(),
                ));
            }
            let status: String = row.try_get(1)?;
            if matches!(
                FindingStatus::parse(&status),
                Some(FindingStatus::Fixed | FindingStatus::FalsePositive)
            ) {
                // A fixed weakness leaves almost nothing to exploit.
                1
            } else {
                let risk: serde_json::Value = serde_json::from_str(&row.try_get::<String, _>(2)?)
                    .map_err(|e| Error::Corrupt(e.to_string()))?;
                risk["severity_level"].as_u64().unwrap_or(3).clamp(1, 5) as u8
            }
        }
        None => f.vulnerability_level.unwrap_or(3),
    };
    Ok(Inputs {
        threat_level: threat_level.clamp(1, 5) as u8,
        vulnerability_level,
        asset_value,
    })
}

/// Writes a risk's assessment from its current inputs.
async fn assess_into(
    settings: &VulnSettings,
    tx: &mut Tx,
    tenant: &str,
    id: &str,
    f: &RiskFields,
    now: &str,
) -> Result<()> {
    let i = inputs(tx, tenant, f).await?;
    let r = assess(
        settings.risk_method,
        &settings.risk_tables,
        i.threat_level,
        i.vulnerability_level,
        i.asset_value,
    )
    .map_err(|e| Error::Invalid(e.to_string()))?;
    sqlx::query(
        "UPDATE risks SET vulnerability_level = $1, threat_level = $2, asset_value = $3, likelihood = $4, loss = $5, value = $6, \
         level = $7, method = $8, steps = $9, assessed_at = $10 WHERE tenant_id = $11 AND id = $12",
    )
    .bind(i64::from(i.vulnerability_level))
    .bind(i64::from(i.threat_level))
    .bind(i64::from(i.asset_value))
    .bind(r.likelihood)
    .bind(r.loss)
    .bind(r.value)
    .bind(i64::from(r.level))
    .bind(format!("{} ({})", r.method.as_str(), r.table))
    .bind(serde_json::to_string(&r.steps).expect("strings"))
    .bind(now)
    .bind(tenant)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Reassesses the tenant's risks that are not closed (those of one threat, or all) and
/// records today's counts.
pub(crate) async fn reassess_in(
    tx: &mut Tx,
    store: &Store,
    tenant: &str,
    threat: Option<&str>,
    now: &str,
) -> Result<()> {
    let rows = sqlx::query(&format!(
        "SELECT {RISK_COLUMNS} FROM {RISK_FROM} WHERE r.tenant_id = $1 AND r.status <> 'closed' AND ($2 = '' OR r.threat_id = $2)"
    ))
    .bind(tenant)
    .bind(threat.unwrap_or(""))
    .fetch_all(&mut **tx)
    .await?;
    let settings = store.vuln_settings_of(tenant).await?;
    for row in rows {
        let risk = risk_from_row(&row)?;
        assess_into(&settings, tx, tenant, &risk.id, &risk.fields, now).await?;
    }
    record_trend(tx, tenant, now).await
}

async fn record_trend(tx: &mut Tx, tenant: &str, now: &str) -> Result<()> {
    let rows = sqlx::query("SELECT level, COUNT(*) FROM risks WHERE tenant_id = $1 AND status <> 'closed' GROUP BY level")
        .bind(tenant)
        .fetch_all(&mut **tx)
        .await?;
    let mut levels = [0i64; 5];
    for r in rows {
        let l: i64 = r.try_get(0)?;
        if (1..=5).contains(&l) {
            levels[l as usize - 1] = r.try_get(1)?;
        }
    }
    let day = &now[..10];
    sqlx::query("DELETE FROM risk_trend WHERE tenant_id = $1 AND day = $2")
        .bind(tenant)
        .bind(day)
        .execute(&mut **tx)
        .await?;
    sqlx::query("INSERT INTO risk_trend (tenant_id, day, level1, level2, level3, level4, level5) VALUES ($1,$2,$3,$4,$5,$6,$7)")
        .bind(tenant)
        .bind(day)
        .bind(levels[0])
        .bind(levels[1])
        .bind(levels[2])
        .bind(levels[3])
        .bind(levels[4])
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn write_fields(
    tx: &mut Tx,
    tenant: &str,
    id: &str,
    f: &RiskFields,
    now: &str,
    insert: bool,
) -> Result<()> {
    let sql = if insert {
        "INSERT INTO risks (asset_id, threat_id, finding_id, vulnerability, vulnerability_level, treatment, owner, due_date, \
         residual_level, status, note, updated_at, tenant_id, id, created_at, threat_level, asset_value, likelihood, loss, value, \
         level, method, steps, assessed_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$12,1,1,1,1,1,1,'','[]',$12)"
    } else {
        "UPDATE risks SET asset_id = $1, threat_id = $2, finding_id = $3, vulnerability = $4, vulnerability_level = $5, \
         treatment = $6, owner = $7, due_date = $8, residual_level = $9, status = $10, note = $11, updated_at = $12 \
         WHERE tenant_id = $13 AND id = $14"
    };
    sqlx::query(sql)
        .bind(&f.asset_id)
        .bind(&f.threat_id)
        .bind(&f.finding_id)
        .bind(&f.vulnerability)
        .bind(i64::from(f.vulnerability_level.unwrap_or(3)))
        .bind(&f.treatment)
        .bind(&f.owner)
        .bind(&f.due_date)
        .bind(f.residual_level.map(i64::from))
        .bind(f.status.as_deref().unwrap_or("open"))
        .bind(&f.note)
        .bind(now)
        .bind(tenant)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// The tenant's risks, highest level first (closed last).
    pub async fn risks(&self, scope: &TenantScope, include_closed: bool) -> Result<Vec<Risk>> {
        sqlx::query(&format!(
            "SELECT {RISK_COLUMNS} FROM {RISK_FROM} WHERE r.tenant_id = $1 AND ($2 = 1 OR r.status <> 'closed') \
             ORDER BY (r.status = 'closed'), r.level DESC, r.value DESC, a.name LIMIT 5000"
        ))
        .bind(scope.tenant_id())
        .bind(i64::from(include_closed))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(risk_from_row)
        .collect()
    }

    /// One risk.
    pub async fn risk(&self, scope: &TenantScope, id: &str) -> Result<Risk> {
        let row = sqlx::query(&format!(
            "SELECT {RISK_COLUMNS} FROM {RISK_FROM} WHERE r.tenant_id = $1 AND r.id = $2"
        ))
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        risk_from_row(&row)
    }

    /// Adds a risk and assesses it.
    pub async fn create_risk(
        &self,
        scope: &TenantScope,
        mut fields: RiskFields,
        actor: &Actor,
    ) -> Result<Risk> {
        fields.validate().map_err(Error::Invalid)?;
        let id = ids::new_id();
        let now = crate::now_text();
        let mut w = self.begin_write().await?;
        write_fields(&mut w.tx, scope.tenant_id(), &id, &fields, &now, true).await?;
        let settings = self.vuln_settings(scope).await?;
        assess_into(&settings, &mut w.tx, scope.tenant_id(), &id, &fields, &now).await?;
        record_trend(&mut w.tx, scope.tenant_id(), &now).await?;
        let mut entry = actor.entry(Some(scope.tenant_id()), "risk.create", "risk", Some(&id));
        entry.after = serde_json::to_value(&fields).ok();
        w.commit(entry).await?;
        self.risk(scope, &id).await
    }

    /// Replaces a risk's fields (treatment, owner, status …) and reassesses it.
    pub async fn update_risk(
        &self,
        scope: &TenantScope,
        id: &str,
        mut fields: RiskFields,
        actor: &Actor,
    ) -> Result<Risk> {
        fields.validate().map_err(Error::Invalid)?;
        let before = self.risk(scope, id).await?;
        let now = crate::now_text();
        let mut w = self.begin_write().await?;
        write_fields(&mut w.tx, scope.tenant_id(), id, &fields, &now, false).await?;
        let settings = self.vuln_settings(scope).await?;
        assess_into(&settings, &mut w.tx, scope.tenant_id(), id, &fields, &now).await?;
        record_trend(&mut w.tx, scope.tenant_id(), &now).await?;
        let mut entry = actor.entry(Some(scope.tenant_id()), "risk.update", "risk", Some(id));
        entry.before = serde_json::to_value(&before.fields).ok();
        entry.after = serde_json::to_value(&fields).ok();
        w.commit(entry).await?;
        self.risk(scope, id).await
    }

    /// Open risks by likelihood × loss, and the level of each cell.
    pub async fn risk_heat_map(&self, scope: &TenantScope) -> Result<HeatMap> {
        let settings = self.vuln_settings(scope).await?;
        let mut map = HeatMap::default();
        let rows = sqlx::query(
            "SELECT CAST(ROUND(likelihood) AS BIGINT), CAST(ROUND(loss) AS BIGINT), COUNT(*) FROM risks \
             WHERE tenant_id = $1 AND status <> 'closed' GROUP BY 1, 2",
        )
        .bind(scope.tenant_id())
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let (l, f): (i64, i64) = (r.try_get(0)?, r.try_get(1)?);
            if (1..=5).contains(&l) && (1..=5).contains(&f) {
                map.cells[l as usize - 1][f as usize - 1] = r.try_get(2)?;
            }
        }
        for l in 1..=5u8 {
            for f in 1..=5u8 {
                map.levels[l as usize - 1][f as usize - 1] = yunshou_identify::risk::level_of_cell(
                    settings.risk_method,
                    &settings.risk_tables,
                    l,
                    f,
                );
            }
        }
        Ok(map)
    }

    /// Open risks per level per day over the last `days` days (days without a change
    /// carry the previous day's counts).
    pub async fn risk_trend(&self, scope: &TenantScope, days: u32) -> Result<Vec<TrendPoint>> {
        let today = chrono::Utc::now().date_naive();
        let start = today - chrono::Duration::days(i64::from(days.clamp(1, 730)) - 1);
        let rows = sqlx::query(
            "SELECT day, level1, level2, level3, level4, level5 FROM risk_trend WHERE tenant_id = $1 AND day <= $2 ORDER BY day",
        )
        .bind(scope.tenant_id())
        .bind(today.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut known: Vec<(String, [i64; 5])> = vec![];
        for r in rows {
            known.push((
                r.try_get(0)?,
                [
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                    r.try_get(5)?,
                ],
            ));
        }
        let mut out = vec![];
        let mut current = [0i64; 5];
        let mut next = 0;
        let mut day = start;
        // Carry forward from before the window.
        while next < known.len() && known[next].0.as_str() < start.to_string().as_str() {
            current = known[next].1;
            next += 1;
        }
        while day <= today {
            let d = day.to_string();
            while next < known.len() && known[next].0 == d {
                current = known[next].1;
                next += 1;
            }
            out.push(TrendPoint {
                day: d,
                levels: current,
            });
            day += chrono::Duration::days(1);
        }
        Ok(out)
    }

    /// Reassesses every open risk with current inputs (threat frequency, finding status,
    /// asset value, method and tables).
    pub async fn reassess_risks(&self, scope: &TenantScope, actor: &Actor) -> Result<()> {
        let now = crate::now_text();
        let mut w = self.begin_write().await?;
        reassess_in(&mut w.tx, self, scope.tenant_id(), None, &now).await?;
        w.commit(actor.entry(Some(scope.tenant_id()), "risk.reassess", "risk", None))
            .await?;
        Ok(())
    }
}
