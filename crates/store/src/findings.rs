//! Findings (I.3): the weaknesses found on a tenant's assets, deduplicated across scanners
//! and runs, each with its GB/T 20984 risk and, when it needs action, a work order. Imports
//! live in `finding_import`, work orders in `work_orders`.

use crate::alerts::like_escape;
use crate::clauses::Clauses;
use crate::db::Store;
use crate::error::{Error, Result};
use crate::finding_texts::text_of;
use crate::scope::TenantScope;
use crate::Page;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use yunshou_model::finding::{Severity, Target};
use yunshou_model::work_order::WorkOrderState;

/// Where a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    /// Reported and not fixed.
    Open,
    /// A later scan of its scope no longer reported it; awaiting a retest to confirm.
    NotSeen,
    /// Fixed, and a retest showed it.
    Fixed,
    /// The risk was accepted.
    Accepted,
    /// Not a real weakness.
    FalsePositive,
}

impl FindingStatus {
    /// Every status.
    pub const ALL: [FindingStatus; 5] = [
        FindingStatus::Open,
        FindingStatus::NotSeen,
        FindingStatus::Fixed,
        FindingStatus::Accepted,
        FindingStatus::FalsePositive,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Open => "open",
            FindingStatus::NotSeen => "not_seen",
            FindingStatus::Fixed => "fixed",
            FindingStatus::Accepted => "accepted",
            FindingStatus::FalsePositive => "false_positive",
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<FindingStatus> {
        FindingStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The work order of a finding, in brief.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WorkOrderBrief {
    /// Identifier.
    pub id: String,
    /// Number within the tenant (shown as `WO-000042`).
    pub number: i64,
    /// State.
    pub state: WorkOrderState,
    /// Assignee.
    pub assignee: Option<String>,
    /// Due (RFC 3339).
    pub due_at: String,
}

/// A stored finding.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Finding {
    /// Identifier.
    pub id: String,
    /// The asset it is on.
    pub asset_id: String,
    /// The asset's name.
    pub asset_name: String,
    /// The asset's business system.
    pub business_system: Option<String>,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Recommended fix.
    pub solution: Option<String>,
    /// What the tool saw.
    pub evidence: Option<String>,
    /// The tool's check id.
    pub check_id: Option<String>,
    /// Every source that has reported it (`nessus`, `openvas`, `manual` …).
    pub sources: Vec<String>,
    /// CVE ids.
    pub cves: Vec<String>,
    /// CWE ids.
    pub cwes: Vec<String>,
    /// CVSS v3.x vector.
    pub cvss3: Option<String>,
    /// CVSS v4.0 vector.
    pub cvss4: Option<String>,
    /// CVSS v2 vector (not scored).
    pub cvss2: Option<String>,
    /// Score of the most specific vector by our calculators (v4.0 before v3.x).
    pub cvss_score: Option<f64>,
    /// The tool's severity, normalised.
    pub severity: Severity,
    /// The tool's severity as written.
    pub severity_raw: Option<String>,
    /// Reference URLs.
    pub references: Vec<String>,
    /// Where on the asset (port, package, location) and what the tool matched it by.
    pub target: Target,
    /// Known to be exploited, or an exploit is public.
    pub known_exploited: bool,
    /// EPSS probability.
    pub epss: Option<f64>,
    /// Layer (I.3.a).
    pub category: Option<String>,
    /// How it was found (I.3.a).
    pub method: Option<String>,
    /// GB/T 20984 risk level 1–5 (5 很高).
    pub risk_level: u8,
    /// Risk value R (matrix or multiplication method).
    pub risk_value: f64,
    /// Sort key of the prioritised queue, higher first.
    pub risk_priority: i64,
    /// The assessment: inputs, grading, the table used and each step of the formula.
    #[schema(value_type = Object)]
    pub risk: serde_json::Value,
    /// Status.
    pub status: FindingStatus,
    /// First reported (RFC 3339).
    pub first_seen: String,
    /// Last reported.
    pub last_seen: String,
    /// How many times it came back after being closed or not seen.
    pub reopened: i64,
    /// The import that last reported it.
    pub last_import_id: Option<String>,
    /// Its work order, if it needs action.
    pub work_order: Option<WorkOrderBrief>,
}

/// Filters for listing findings.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// Statuses (empty: all).
    pub status: Vec<FindingStatus>,
    /// At least this tool severity.
    pub min_severity: Option<Severity>,
    /// At least this risk level.
    pub min_risk_level: Option<u8>,
    /// On this asset.
    pub asset_id: Option<String>,
    /// Has this CVE.
    pub cve: Option<String>,
    /// Reported by this source.
    pub source: Option<String>,
    /// On an asset of this business system.
    pub business_system: Option<String>,
    /// Text in the title or asset name.
    pub text: Option<String>,
    /// Known exploited only.
    pub known_exploited: Option<bool>,
}

/// What to group findings by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingGrouping {
    /// Per asset.
    Asset,
    /// Per CVE.
    Cve,
    /// Per business system of the asset.
    BusinessSystem,
}

impl FindingGrouping {
    /// Parses `asset`, `cve`, `business_system`.
    pub fn parse(s: &str) -> Option<FindingGrouping> {
        match s {
            "asset" => Some(FindingGrouping::Asset),
            "cve" => Some(FindingGrouping::Cve),
            "business_system" => Some(FindingGrouping::BusinessSystem),
            _ => None,
        }
    }
}

/// One group of findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FindingGroup {
    /// The grouping key (asset id, CVE, business system; empty when unset).
    pub key: String,
    /// What to show (asset name, CVE, business system).
    pub label: String,
    /// Findings in the group.
    pub count: i64,
    /// The highest risk level in the group.
    pub max_risk_level: i64,
}

pub(crate) const FINDING_COLUMNS: &str = concat!(
    "f.id, f.asset_id, a.name, a.business_system, f.title, ",
    text_of!("description_text"),
    ", ",
    text_of!("solution_text"),
    ", ",
    text_of!("evidence_text"),
    ", f.check_id, f.sources, f.cves, f.cwes, f.cvss3, f.cvss4, f.cvss2, f.cvss_score, f.severity, f.severity_raw, ",
    text_of!("refs_text"),
    ", f.target, f.known_exploited, f.epss, f.category, f.method, f.risk_level, f.risk_value, f.risk_priority, ",
    text_of!("risk_text"),
    ", f.status, f.first_seen, f.last_seen, f.reopened, f.last_import_id, w.id, w.number, w.state, w.assignee, w.due_at"
);

pub(crate) const FINDING_FROM: &str =
    "findings f JOIN assets a ON a.id = f.asset_id LEFT JOIN work_orders w ON w.finding_id = f.id";

fn json<T: serde::de::DeserializeOwned>(r: &AnyRow, i: usize) -> Result<T> {
    let s: String = r.try_get(i)?;
    serde_json::from_str(&s).map_err(|e| Error::Corrupt(format!("finding column {i}: {e}")))
}

pub(crate) fn finding_from_row(r: &AnyRow) -> Result<Finding> {
    let severity: String = r.try_get(16)?;
    let status: String = r.try_get(28)?;
    let work_order = match r.try_get::<Option<String>, _>(33)? {
        Some(id) => {
            let state: String = r.try_get(35)?;
            Some(WorkOrderBrief {
                id,
                number: r.try_get(34)?,
                state: WorkOrderState::parse(&state)
                    .ok_or_else(|| Error::Corrupt(format!("work order state `{state}`")))?,
                assignee: r.try_get(36)?,
                due_at: r.try_get(37)?,
            })
        }
        None => None,
    };
    Ok(Finding {
        id: r.try_get(0)?,
        asset_id: r.try_get(1)?,
        asset_name: r.try_get(2)?,
        business_system: r.try_get(3)?,
        title: r.try_get(4)?,
        description: r.try_get(5)?,
        solution: r.try_get(6)?,
        evidence: r.try_get(7)?,
        check_id: r.try_get(8)?,
        sources: json(r, 9)?,
        cves: json(r, 10)?,
        cwes: json(r, 11)?,
        cvss3: r.try_get(12)?,
        cvss4: r.try_get(13)?,
        cvss2: r.try_get(14)?,
        cvss_score: r.try_get::<Option<i64>, _>(15)?.map(|s| s as f64 / 10.0),
        severity: Severity::parse(&severity)
            .ok_or_else(|| Error::Corrupt(format!("severity `{severity}`")))?,
        severity_raw: r.try_get(17)?,
        references: json(r, 18)?,
        target: json(r, 19)?,
        known_exploited: r.try_get::<i64, _>(20)? != 0,
        epss: r.try_get(21)?,
        category: r.try_get(22)?,
        method: r.try_get(23)?,
        risk_level: r.try_get::<i64, _>(24)? as u8,
        risk_value: r.try_get(25)?,
        risk_priority: r.try_get(26)?,
        risk: json(r, 27)?,
        status: FindingStatus::parse(&status)
            .ok_or_else(|| Error::Corrupt(format!("finding status `{status}`")))?,
        first_seen: r.try_get(29)?,
        last_seen: r.try_get(30)?,
        reopened: r.try_get(31)?,
        last_import_id: r.try_get(32)?,
        work_order,
    })
}

fn filter_clauses(scope: &TenantScope, filter: &FindingFilter) -> Clauses {
    let mut c = Clauses::new("f.tenant_id", scope.tenant_id());
    if !filter.status.is_empty() {
        let list: Vec<String> = filter
            .status
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        c.literal(format!("f.status IN ({})", list.join(", ")));
    }
    if let Some(s) = filter.min_severity {
        c.literal(format!("f.severity_rank >= {}", s as u8 as i64));
    }
    if let Some(l) = filter.min_risk_level {
        c.literal(format!("f.risk_level >= {}", i64::from(l)));
    }
    if let Some(k) = filter.known_exploited {
        c.literal(format!("f.known_exploited = {}", i64::from(k)));
    }
    if let Some(a) = &filter.asset_id {
        c.bind("f.asset_id = ?", a.clone());
    }
    if let Some(cve) = &filter.cve {
        c.bind(
            "f.id IN (SELECT x.finding_id FROM finding_cves x WHERE x.tenant_id = $1 AND x.cve = ?)",
            cve.trim().to_ascii_uppercase(),
        );
    }
    if let Some(s) = &filter.source {
        c.bind(
            "f.sources LIKE ? ESCAPE '\\'",
            format!("%\"{}\"%", like_escape(s)),
        );
    }
    if let Some(b) = &filter.business_system {
        if b.is_empty() {
            c.literal("a.business_system IS NULL".into());
        } else {
            c.bind("a.business_system = ?", b.clone());
        }
    }
    if let Some(t) = &filter.text {
        let pattern = format!("%{}%", like_escape(&t.to_lowercase()));
        c.bind(
            "(LOWER(f.title) LIKE ? ESCAPE '\\' OR LOWER(a.name) LIKE ? ESCAPE '\\')",
            pattern,
        );
    }
    c
}

impl Store {
    /// The tenant's findings matching `filter`, the prioritised queue first (risk priority,
    /// then most recently seen), and how many match in all.
    pub async fn findings(
        &self,
        scope: &TenantScope,
        filter: &FindingFilter,
        page: Page,
    ) -> Result<(Vec<Finding>, i64)> {
        let c = filter_clauses(scope, filter);
        let wh = c.sql();
        let count_sql = format!(
            "SELECT COUNT(*) FROM findings f JOIN assets a ON a.id = f.asset_id WHERE {wh}"
        );
        let total: i64 = c
            .query(&count_sql)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let sql = format!(
            "SELECT {FINDING_COLUMNS} FROM {FINDING_FROM} WHERE {wh} \
             ORDER BY f.risk_priority DESC, f.last_seen DESC, f.id LIMIT {} OFFSET {}",
            page.limit, page.offset
        );
        let rows = c.query(&sql).fetch_all(&self.pool).await?;
        let list = rows.iter().map(finding_from_row).collect::<Result<_>>()?;
        Ok((list, total))
    }

    /// How many findings match.
    pub async fn count_findings(&self, scope: &TenantScope, filter: &FindingFilter) -> Result<i64> {
        let c = filter_clauses(scope, filter);
        let sql = format!(
            "SELECT COUNT(*) FROM findings f JOIN assets a ON a.id = f.asset_id WHERE {}",
            c.sql()
        );
        Ok(c.query(&sql).fetch_one(&self.pool).await?.try_get(0)?)
    }

    /// One finding of the tenant.
    pub async fn finding(&self, scope: &TenantScope, id: &str) -> Result<Finding> {
        let row = sqlx::query(&format!(
            "SELECT {FINDING_COLUMNS} FROM {FINDING_FROM} WHERE f.tenant_id = $1 AND f.id = $2"
        ))
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        finding_from_row(&row)
    }

    /// Matching findings grouped, largest group first (at most 500 groups).
    pub async fn finding_groups(
        &self,
        scope: &TenantScope,
        filter: &FindingFilter,
        by: FindingGrouping,
    ) -> Result<Vec<FindingGroup>> {
        let c = filter_clauses(scope, filter);
        let wh = c.sql();
        let sql = match by {
            FindingGrouping::Asset => format!(
                "SELECT f.asset_id, MIN(a.name), COUNT(*), MAX(f.risk_level) FROM findings f JOIN assets a ON a.id = f.asset_id \
                 WHERE {wh} GROUP BY f.asset_id ORDER BY COUNT(*) DESC, MIN(a.name) LIMIT 500"
            ),
            FindingGrouping::Cve => format!(
                "SELECT x.cve, x.cve, COUNT(*), MAX(f.risk_level) FROM findings f JOIN assets a ON a.id = f.asset_id \
                 JOIN finding_cves x ON x.tenant_id = f.tenant_id AND x.finding_id = f.id WHERE {wh} GROUP BY x.cve ORDER BY COUNT(*) DESC, x.cve LIMIT 500"
            ),
            FindingGrouping::BusinessSystem => format!(
                "SELECT COALESCE(a.business_system, ''), COALESCE(a.business_system, ''), COUNT(*), MAX(f.risk_level) \
                 FROM findings f JOIN assets a ON a.id = f.asset_id WHERE {wh} GROUP BY a.business_system \
                 ORDER BY COUNT(*) DESC LIMIT 500"
            ),
        };
        let rows = c.query(&sql).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(FindingGroup {
                    key: r.try_get(0)?,
                    label: r.try_get(1)?,
                    count: r.try_get(2)?,
                    max_risk_level: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Open findings per risk level (index 0 = level 1), for the dashboard.
    pub async fn open_findings_by_risk(&self, scope: &TenantScope) -> Result<[i64; 5]> {
        let rows = sqlx::query(
            "SELECT risk_level, COUNT(*) FROM findings WHERE tenant_id = $1 AND status = 'open' GROUP BY risk_level",
        )
        .bind(scope.tenant_id())
        .fetch_all(&self.pool)
        .await?;
        let mut out = [0i64; 5];
        for r in rows {
            let level: i64 = r.try_get(0)?;
            if (1..=5).contains(&level) {
                out[level as usize - 1] = r.try_get(1)?;
            }
        }
        Ok(out)
    }
}

/// What happened to findings over a period, for the analysis report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PeriodStats {
    /// First reported in the period.
    pub new: i64,
    /// Closed as fixed in the period (by a retest).
    pub fixed: i64,
    /// Open or not seen now, per risk level (index 0 = level 1).
    pub active_by_level: [i64; 5],
    /// Per status now.
    pub by_status: Vec<(String, i64)>,
    /// Per source now (findings reported by several count once per source).
    pub by_source: Vec<(String, i64)>,
}

impl Store {
    /// Findings over the period since `since` (RFC 3339).
    pub async fn finding_period_stats(
        &self,
        scope: &TenantScope,
        since: &str,
    ) -> Result<PeriodStats> {
        let t = scope.tenant_id();
        let one = |sql: &'static str| async move {
            let n: i64 = sqlx::query(sql)
                .bind(t)
                .bind(since)
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?;
            Ok::<i64, Error>(n)
        };
        let new =
            one("SELECT COUNT(*) FROM findings WHERE tenant_id = $1 AND first_seen >= $2").await?;
        let fixed = one("SELECT COUNT(*) FROM findings WHERE tenant_id = $1 AND status = 'fixed' AND updated_at >= $2").await?;
        let mut active_by_level = [0i64; 5];
        for r in sqlx::query(
            "SELECT risk_level, COUNT(*) FROM findings WHERE tenant_id = $1 AND status IN ('open', 'not_seen') GROUP BY risk_level",
        )
        .bind(t)
        .fetch_all(&self.pool)
        .await?
        {
            let l: i64 = r.try_get(0)?;
            if (1..=5).contains(&l) {
                active_by_level[l as usize - 1] = r.try_get(1)?;
            }
        }
        let pairs = |rows: Vec<AnyRow>| -> Result<Vec<(String, i64)>> {
            rows.iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect()
        };
        let by_status = pairs(
            sqlx::query("SELECT status, COUNT(*) FROM findings WHERE tenant_id = $1 GROUP BY status ORDER BY COUNT(*) DESC")
                .bind(t)
                .fetch_all(&self.pool)
                .await?,
        )?;
        let by_source = pairs(
            sqlx::query(
                "SELECT sources, COUNT(*) FROM findings WHERE tenant_id = $1 GROUP BY sources ORDER BY COUNT(*) DESC LIMIT 100",
            )
            .bind(t)
            .fetch_all(&self.pool)
            .await?,
        )?;
        // `sources` is a JSON list: count each source of a combination.
        let mut per_source: std::collections::BTreeMap<String, i64> = Default::default();
        for (list, n) in by_source {
            for s in serde_json::from_str::<Vec<String>>(&list).unwrap_or_default() {
                *per_source.entry(s).or_default() += n;
            }
        }
        let mut by_source: Vec<(String, i64)> = per_source.into_iter().collect();
        by_source.sort_by_key(|x| std::cmp::Reverse(x.1));
        Ok(PeriodStats {
            new,
            fixed,
            active_by_level,
            by_status,
            by_source,
        })
    }
}

/// A finding's title, read inside a write transaction (tenant-checked).
pub(crate) async fn finding_title_in_tx(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    scope: &TenantScope,
    id: &str,
) -> Result<String> {
    sqlx::query_scalar("SELECT title FROM findings WHERE tenant_id = $1 AND id = $2")
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| Error::Invalid(format!("finding_ids: no finding {id}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding_import::ImportMeta;
    use yunshou_model::finding::{ReportItem, ReportedFinding};
    use yunshou_model::Actor;

    fn reported(ip: &str, cves: &[&str]) -> ReportItem {
        let f: ReportedFinding = serde_json::from_value(serde_json::json!({
            "source": "nessus",
            "check_id": format!("check-{}", cves.join("-")),
            "target": { "ip": ip, "port": 443, "protocol": "tcp" },
            "title": format!("{} on {ip}", cves.join(", ")),
            "cves": cves,
            "severity": "high",
        }))
        .unwrap();
        ReportItem::Finding(Box::new(f))
    }

    /// A data directory at schema `version` holding one import of `items`, reopened at the
    /// newest schema: the store and the tenant's scope.
    async fn imported_then_migrated(
        dir: &std::path::Path,
        version: i64,
        items: Vec<ReportItem>,
    ) -> (Store, TenantScope) {
        let store = Store::open_to(dir, version).await.unwrap();
        store.bootstrap(Some("Test-Admin-Passw0rd")).await.unwrap();
        let (_, scope) = store.operator_scope("default").await.unwrap();
        let meta = ImportMeta {
            format: "nessus".into(),
            source: "nessus".into(),
            file_name: "before.nessus".into(),
            sha256: String::new(),
        };
        let actor = Actor::cli();
        let mut import = store.begin_findings_import(&scope, meta).await.unwrap();
        for item in items {
            import.add(item, &actor).await.unwrap();
        }
        import.finish(&actor).await.unwrap();
        store.pool.close().await;
        drop(store);
        (Store::open(dir).await.unwrap(), scope)
    }

    #[tokio::test]
    async fn migration_13_keeps_every_finding_found_by_its_cves() {
        let dir = tempfile::tempdir().unwrap();
        let items = vec![
            reported("10.0.0.1", &["CVE-2021-44228", "CVE-2021-45046"]),
            reported("10.0.0.2", &["CVE-2021-44228"]),
        ];
        let (store, scope) = imported_then_migrated(dir.path(), 12, items).await;
        let key: Vec<String> =
            sqlx::query("SELECT name FROM pragma_index_info('sqlite_autoindex_finding_cves_1')")
                .fetch_all(&store.pool)
                .await
                .unwrap()
                .iter()
                .map(|r| r.try_get(0).unwrap())
                .collect();
        assert_eq!(key, ["tenant_id", "cve", "finding_id"]);
        let by_cve = |cve: &str| FindingFilter {
            cve: Some(cve.into()),
            ..Default::default()
        };
        let (_, both) = store
            .findings(&scope, &by_cve("cve-2021-44228"), Page::default())
            .await
            .unwrap();
        let (_, one) = store
            .findings(&scope, &by_cve("CVE-2021-45046"), Page::default())
            .await
            .unwrap();
        assert_eq!((both, one), (2, 1));
        let groups = store
            .finding_groups(&scope, &FindingFilter::default(), FindingGrouping::Cve)
            .await
            .unwrap();
        let counts: Vec<(&str, i64)> = groups.iter().map(|g| (g.key.as_str(), g.count)).collect();
        assert_eq!(counts, [("CVE-2021-44228", 2), ("CVE-2021-45046", 1)]);
    }

    #[tokio::test]
    async fn migration_15_checks_import_keys_at_commit_and_keeps_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let items = vec![reported("10.0.0.1", &["CVE-2021-44228"])];
        let (store, scope) = imported_then_migrated(dir.path(), 14, items).await;
        let actor = Actor::cli();
        let check: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&store.pool)
            .await
            .unwrap();
        assert_eq!(check, ["ok"]);
        let broken: Vec<String> =
            sqlx::query_scalar("SELECT \"table\" FROM pragma_foreign_key_check")
                .fetch_all(&store.pool)
                .await
                .unwrap();
        assert!(broken.is_empty(), "{broken:?}");
        // Every key of the edited tables is deferred, and no other table was touched (but
        // `alert_events`, made by migration 16 with its key deferred like its alert's).
        let deferred: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'table' \
             AND sql LIKE '%DEFERRABLE INITIALLY DEFERRED%' ORDER BY name",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        let names: Vec<&str> = deferred.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "alert_events",
                "alerts",
                "asset_history",
                "asset_ips",
                "asset_ports",
                "asset_terms",
                "assets",
                "finding_cves",
                "finding_texts",
                "findings",
                "work_order_history",
                "work_orders"
            ]
        );
        for (name, sql) in &deferred {
            let keys = sql.matches("REFERENCES").count();
            let deferred_keys = sql.matches(") DEFERRABLE INITIALLY DEFERRED").count();
            assert_eq!(keys, deferred_keys, "{name}: {sql}");
        }
        // A row naming a missing finding is written, and its transaction cannot commit.
        let mut w = store.begin_write().await.unwrap();
        sqlx::query(
            "INSERT INTO finding_cves (tenant_id, finding_id, cve) VALUES ($1, 'missing', 'CVE-1')",
        )
        .bind(scope.tenant_id())
        .execute(&mut *w.tx)
        .await
        .unwrap();
        let failed = w
            .commit(actor.entry(Some(scope.tenant_id()), "test", "finding", None))
            .await
            .unwrap_err();
        assert!(failed.to_string().contains("FOREIGN KEY"), "{failed}");
        let (found, total) = store
            .findings(&scope, &FindingFilter::default(), Page::default())
            .await
            .unwrap();
        assert_eq!((found.len(), total), (1, 1));
        assert_eq!(found[0].cves, ["CVE-2021-44228"]);
    }
}
