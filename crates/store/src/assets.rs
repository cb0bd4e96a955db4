//! The asset ledger's storage (clause I.1): records, indexed attributes, filters, grouped
//! counts and per-asset history. Lifecycle rules come from the model and are checked here,
//! under the writer lock, so two requests cannot race past them.

use crate::asset_control::{check_rules, hold_change, needs_approval, raise_alerts, ChangeOutcome};
use crate::asset_views::{record_exposure_today, refresh_exposure};
use crate::batch::{bind_rows, execute_all, Batch, Bound, Val};
use crate::db::Store;
use crate::error::{Error, Result};
use crate::{Page, TenantScope};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use yunshou_identify::change_rules::changed_fields;
use yunshou_model::asset::{cidr_range, ip_key, Asset, AssetFields, Lifecycle};
use yunshou_model::{ids, Actor};

/// Filters of the ledger (I.1.e). Every filter narrows; all are optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetQuery {
    /// Free text, matched anywhere in the asset's searchable attributes.
    pub q: Option<String>,
    /// An address or CIDR block (IPv4 or IPv6).
    pub ip: Option<String>,
    /// A domain, matching itself and its subdomains.
    pub domain: Option<String>,
    /// An open port.
    pub port: Option<u16>,
    /// Middleware name prefix (`nginx` matches `nginx 1.24`).
    pub middleware: Option<String>,
    /// Application name prefix.
    pub application: Option<String>,
    /// Technology prefix.
    pub tech: Option<String>,
    /// Lifecycle state.
    pub state: Option<Lifecycle>,
    /// Business type.
    pub business_type: Option<String>,
    /// Accountable owner.
    pub owner: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Only internet-facing assets (`Some(true)`) or only internal ones (`Some(false)`).
    pub internet: Option<bool>,
}

/// List order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AssetSort {
    /// Highest protection priority first (I.1.c).
    #[default]
    Priority,
    /// By name.
    Name,
    /// Most recently changed first.
    Updated,
}

/// What grouped counts group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetGroup {
    /// Kind.
    Kind,
    /// Lifecycle state.
    Lifecycle,
    /// Business type.
    BusinessType,
    /// Business system.
    BusinessSystem,
    /// Owner.
    Owner,
    /// Department.
    Department,
    /// Network zone.
    Zone,
    /// Asset value.
    Value,
    /// Priority level.
    Priority,
    /// Internet-facing or not.
    Exposure,
    /// Data sensitivity.
    Sensitivity,
}

impl AssetGroup {
    /// Parses the name used in the API.
    pub fn parse(s: &str) -> Option<AssetGroup> {
        Some(match s {
            "kind" => AssetGroup::Kind,
            "lifecycle" | "state" => AssetGroup::Lifecycle,
            "business_type" => AssetGroup::BusinessType,
            "business_system" => AssetGroup::BusinessSystem,
            "owner" => AssetGroup::Owner,
            "department" => AssetGroup::Department,
            "zone" => AssetGroup::Zone,
            "value" => AssetGroup::Value,
            "priority" => AssetGroup::Priority,
            "exposure" => AssetGroup::Exposure,
            "sensitivity" => AssetGroup::Sensitivity,
            _ => return None,
        })
    }

    fn column(self) -> &'static str {
        match self {
            AssetGroup::Kind => "kind",
            AssetGroup::Lifecycle => "lifecycle",
            AssetGroup::BusinessType => "business_type",
            AssetGroup::BusinessSystem => "business_system",
            AssetGroup::Owner => "owner",
            AssetGroup::Department => "department",
            AssetGroup::Zone => "zone",
            AssetGroup::Value => "CAST(value AS TEXT)",
            AssetGroup::Priority => "CAST(priority_level AS TEXT)",
            AssetGroup::Exposure => {
                "CASE WHEN internet_facing <> 0 THEN 'internet' ELSE 'internal' END"
            }
            AssetGroup::Sensitivity => "sensitivity",
        }
    }
}

/// One entry of an asset's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AssetChange {
    /// Identifier.
    pub id: String,
    /// The asset.
    pub asset_id: String,
    /// When, RFC 3339.
    pub at: String,
    /// Who.
    pub actor_name: String,
    /// `create`, `update`, `lifecycle` or `delete`.
    pub action: String,
    /// The fields that changed.
    pub changed: Vec<String>,
    /// The record before (JSON), absent at creation.
    pub before: Option<serde_json::Value>,
    /// The record after (JSON).
    pub after: serde_json::Value,
}

enum Arg {
    Text(String),
    Int(i64),
}

/// A WHERE clause under construction, always starting with the tenant.
struct Where {
    sql: String,
    args: Vec<Arg>,
}

impl Where {
    fn new(scope: &TenantScope) -> Where {
        Where {
            sql: "a.tenant_id = $1".into(),
            args: vec![Arg::Text(scope.tenant_id().to_string())],
        }
    }

    /// Adds a condition whose `?` placeholders take `args` in order.
    fn add(&mut self, cond: &str, args: Vec<Arg>) {
        let mut cond = cond.to_string();
        for a in args {
            self.args.push(a);
            cond = cond.replacen('?', &format!("${}", self.args.len()), 1);
        }
        self.sql.push_str(" AND ");
        self.sql.push_str(&cond);
    }

    fn next(&self) -> usize {
        self.args.len() + 1
    }

    fn bind<'q>(
        &'q self,
        mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for a in &self.args {
            q = match a {
                Arg::Text(t) => q.bind(t.as_str()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }
}

fn like_prefix(s: &str) -> String {
    format!(
        "{}%",
        s.to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

fn like_contains(s: &str) -> String {
    format!("%{}", like_prefix(s))
}

/// Assets with a term of `field` starting with the bound prefix: a range over the
/// `(tenant_id, field, term)` index (terms are lower case; U+FFFF sorts after any BMP text).
fn term_prefix(field: &str) -> String {
    format!("a.id IN (SELECT t.asset_id FROM asset_terms t WHERE t.tenant_id = $1 AND t.field = '{field}' AND t.term >= ? AND t.term < ?)")
}

impl AssetQuery {
    fn where_clause(&self, scope: &TenantScope) -> Result<Where> {
        let mut w = Where::new(scope);
        if let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            w.add(
                "a.search_text LIKE ? ESCAPE '\\'",
                vec![Arg::Text(like_contains(q))],
            );
        }
        if let Some(ip) = &self.ip {
            let (lo, hi) = cidr_range(ip).map_err(|e| Error::Invalid(e.to_string()))?;
            w.add(
                "a.id IN (SELECT i.asset_id FROM asset_ips i WHERE i.tenant_id = $1 AND i.ip_key >= ? AND i.ip_key <= ?)",
                vec![Arg::Text(lo), Arg::Text(hi)],
            );
        }
        if let Some(d) = &self.domain {
            let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
            let sub = format!(
                "%.{}",
                d.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            w.add(
                "a.id IN (SELECT t.asset_id FROM asset_terms t WHERE t.tenant_id = $1 AND t.field = 'domain' AND (t.term = ? OR t.term LIKE ? ESCAPE '\\'))",
                vec![Arg::Text(d), Arg::Text(sub)],
            );
        }
        if let Some(p) = self.port {
            w.add(
                "a.id IN (SELECT p.asset_id FROM asset_ports p WHERE p.tenant_id = $1 AND p.port = ?)",
                vec![Arg::Int(p.into())],
            );
        }
        for (field, v) in [
            ("middleware", &self.middleware),
            ("application", &self.application),
            ("tech", &self.tech),
        ] {
            if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                let lo = v.to_lowercase();
                let hi = format!("{lo}\u{ffff}");
                w.add(&term_prefix(field), vec![Arg::Text(lo), Arg::Text(hi)]);
            }
        }
        if let Some(s) = self.state {
            w.add("a.lifecycle = ?", vec![Arg::Text(s.as_str().into())]);
        }
        for (col, v) in [
            ("a.business_type", &self.business_type),
            ("a.owner", &self.owner),
            ("a.kind", &self.kind),
        ] {
            if let Some(v) = v {
                w.add(&format!("{col} = ?"), vec![Arg::Text(v.clone())]);
            }
        }
        if let Some(i) = self.internet {
            w.add("a.internet_facing = ?", vec![Arg::Int(i.into())]);
        }
        Ok(w)
    }
}

/// A new asset record (revision 1) with its computed values.
pub(crate) fn new_asset(
    scope: &TenantScope,
    fields: AssetFields,
    lifecycle: Lifecycle,
    now: &str,
) -> Asset {
    Asset {
        id: ids::new_id(),
        tenant_id: scope.tenant_id().to_string(),
        lifecycle,
        value: fields.value(),
        internet_facing: fields.internet_facing(),
        priority: fields.priority(),
        fields,
        risk_note: None,
        revision: 1,
        created_at: now.to_string(),
        updated_at: now.to_string(),
    }
}

pub(crate) const COLUMNS: &str =
    "a.id, a.tenant_id, a.lifecycle, a.doc, a.risk_note, a.revision, a.created_at, a.updated_at";

pub(crate) fn from_row(r: &AnyRow) -> Result<Asset> {
    let doc: String = r.try_get(3)?;
    let fields: AssetFields =
        serde_json::from_str(&doc).map_err(|e| Error::Corrupt(format!("asset doc: {e}")))?;
    let lifecycle: String = r.try_get(2)?;
    Ok(Asset {
        id: r.try_get(0)?,
        tenant_id: r.try_get(1)?,
        lifecycle: Lifecycle::parse(&lifecycle)
            .ok_or_else(|| Error::Corrupt(format!("lifecycle `{lifecycle}`")))?,
        value: fields.value(),
        internet_facing: fields.internet_facing(),
        priority: fields.priority(),
        fields,
        risk_note: r.try_get(4)?,
        revision: r.try_get(5)?,
        created_at: r.try_get(6)?,
        updated_at: r.try_get(7)?,
    })
}

fn search_text(f: &AssetFields) -> String {
    let mut parts: Vec<&str> = vec![&f.name, &f.kind];
    parts.extend(f.ips.iter().map(String::as_str));
    parts.extend(f.domains.iter().map(String::as_str));
    parts.extend(f.middleware.iter().map(String::as_str));
    parts.extend(f.applications.iter().map(String::as_str));
    parts.extend(f.tech_stack.iter().map(String::as_str));
    parts.extend(f.fingerprint.cpe.iter().map(String::as_str));
    parts.extend(f.fingerprint.banners.iter().map(String::as_str));
    for v in [
        &f.os,
        &f.zone,
        &f.data_center,
        &f.cloud_account,
        &f.owner,
        &f.department,
        &f.business_system,
        &f.business_type,
    ]
    .into_iter()
    .flatten()
    {
        parts.push(v);
    }
    parts.extend(f.ports.iter().filter_map(|p| p.service.as_deref()));
    parts.join(" \u{1f} ").to_lowercase()
}

impl Store {
    pub(crate) async fn write_asset_rows(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        asset: &Asset,
        insert: bool,
    ) -> Result<()> {
        let mut rows = AssetRows::default();
        if insert {
            // A new asset has no rows to replace (an import discovers thousands).
            rows.assets.rows.push(asset_row(asset));
        } else {
            bind_rows(
                sqlx::query(
                    "UPDATE assets SET tenant_id = $2, name = $3, kind = $4, lifecycle = $5, owner = $6, department = $7, business_system = $8, \
                     business_type = $9, zone = $10, sensitivity = $11, value = $12, priority_score = $13, priority_level = $14, internet_facing = $15, \
                     search_text = $16, doc = $17, risk_note = $18, revision = $19, created_at = $20, updated_at = $21 WHERE id = $1",
                ),
                [asset_row(asset)],
            )
            .execute(&mut **tx)
            .await?;
            for table in ["asset_ips", "asset_ports", "asset_terms"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE asset_id = $1"))
                    .bind(&asset.id)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        rows.push_lookups(asset);
        rows.flush(tx).await
    }

    pub(crate) async fn record_change(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        actor: &Actor,
        action: &str,
        before: Option<&Asset>,
        after: &Asset,
    ) -> Result<AssetChange> {
        let mut rows = AssetRows::default();
        let change = rows.push_change(actor, action, before, after);
        rows.flush(tx).await?;
        Ok(change)
    }

    fn audit_entry(
        actor: &Actor,
        scope: &TenantScope,
        action: &str,
        change: &AssetChange,
    ) -> yunshou_model::AuditEntry {
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            action,
            "asset",
            Some(&change.asset_id),
        );
        let pick = |v: &serde_json::Value| -> serde_json::Value {
            let mut out = serde_json::Map::new();
            for k in &change.changed {
                if let Some(x) = v.get(k) {
                    out.insert(k.clone(), x.clone());
                }
            }
            if change.changed.is_empty() {
                return v.clone();
            }
            out.into()
        };
        entry.before = change.before.as_ref().map(pick);
        entry.after = Some(pick(&change.after));
        entry
    }

    /// Adds an asset to the tenant's ledger. `fields` must have been validated. An asset
    /// created straight into service must already be under management (owner, valuation).
    pub async fn create_asset(
        &self,
        scope: &TenantScope,
        fields: AssetFields,
        lifecycle: Lifecycle,
        actor: &Actor,
    ) -> Result<(Asset, AssetChange)> {
        if !matches!(
            lifecycle,
            Lifecycle::Planned | Lifecycle::Onboarding | Lifecycle::InService
        ) {
            return Err(Error::Invalid(
                "lifecycle: a new asset starts as planned, onboarding or in_service".into(),
            ));
        }
        if lifecycle.in_use() {
            if let Some(e) = fields.missing_for_service() {
                return Err(Error::Invalid(e.to_string()));
            }
        }
        let asset = new_asset(scope, fields, lifecycle, &crate::now_text());
        let mut w = self.begin_write().await?;
        Self::write_asset_rows(&mut w.tx, &asset, true).await?;
        let change = Self::record_change(&mut w.tx, actor, "create", None, &asset).await?;
        // A new asset has nothing to hold back: rules requiring approval raise an alert.
        let matches = check_rules(&mut w.tx, scope, None, &asset).await?;
        raise_alerts(
            &mut w.tx,
            scope,
            &asset,
            &matches,
            Some(&change.id),
            None,
            actor,
        )
        .await?;
        refresh_exposure(&mut w.tx, scope, None, &asset).await?;
        w.commit(Self::audit_entry(actor, scope, "asset.create", &change))
            .await?;
        Ok((asset, change))
    }

    /// Adds many assets in one transaction — all or none — with one history entry each and
    /// one audit record for the batch. Every entry is checked before anything is written;
    /// the error names the entry (`rows[i]`) and field.
    pub async fn import_assets(
        &self,
        scope: &TenantScope,
        entries: Vec<(AssetFields, Lifecycle)>,
        source: &str,
        actor: &Actor,
    ) -> Result<Vec<Asset>> {
        self.import_assets_with_progress(scope, entries, source, actor, &|_| {})
            .await
    }

    /// [`Store::import_assets`], calling `progress(n)` after the `n`th asset is written (a
    /// 100,000-row import takes a while; the CLI draws a progress bar). Still one transaction.
    pub async fn import_assets_with_progress(
        &self,
        scope: &TenantScope,
        entries: Vec<(AssetFields, Lifecycle)>,
        source: &str,
        actor: &Actor,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<Vec<Asset>> {
        for (i, (fields, lifecycle)) in entries.iter().enumerate() {
            if !matches!(
                lifecycle,
                Lifecycle::Planned
                    | Lifecycle::Onboarding
                    | Lifecycle::InService
                    | Lifecycle::Decommissioned
            ) {
                return Err(Error::Invalid(format!("rows[{i}].lifecycle: an imported asset is planned, onboarding, in_service or decommissioned")));
            }
            if lifecycle.in_use() {
                if let Some(e) = fields.missing_for_service() {
                    return Err(Error::Invalid(format!("rows[{i}].{e}")));
                }
            }
        }
        let now = crate::now_text();
        let assets: Vec<Asset> = entries
            .into_iter()
            .map(|(fields, lifecycle)| new_asset(scope, fields, lifecycle, &now))
            .collect();
        let mut w = self.begin_write().await?;
        for (n, asset) in assets.iter().enumerate() {
            Self::write_asset_rows(&mut w.tx, asset, true).await?;
            Self::record_change(&mut w.tx, actor, "create", None, asset).await?;
            progress(n + 1);
        }
        record_exposure_today(&mut w.tx, scope.tenant_id()).await?;
        let mut entry = actor.entry(Some(scope.tenant_id()), "asset.import", "asset", None);
        entry.after = Some(serde_json::json!({ "source": source, "count": assets.len() }));
        w.commit(entry).await?;
        if assets.len() >= 1000 {
            self.analyze().await?;
        }
        Ok(assets)
    }

    /// One asset of the tenant.
    pub async fn get_asset(&self, scope: &TenantScope, id: &str) -> Result<Asset> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM assets a WHERE a.tenant_id = $1 AND a.id = $2"
        ))
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        from_row(&row)
    }

    /// The tenant's assets matching `query`, in `sort` order, and how many match in all.
    pub async fn list_assets(
        &self,
        scope: &TenantScope,
        query: &AssetQuery,
        sort: AssetSort,
        page: Page,
    ) -> Result<(Vec<Asset>, i64)> {
        let w = query.where_clause(scope)?;
        let order = match sort {
            AssetSort::Priority => "a.priority_score DESC, a.name, a.id",
            AssetSort::Name => "a.name, a.id",
            AssetSort::Updated => "a.updated_at DESC, a.id",
        };
        let n = w.next();
        let sql = format!(
            "SELECT {COLUMNS} FROM assets a WHERE {} ORDER BY {order} LIMIT ${n} OFFSET ${}",
            w.sql,
            n + 1
        );
        let rows = w
            .bind(sqlx::query(&sql))
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(&self.pool)
            .await?;
        let items = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        let count_sql = format!("SELECT COUNT(*) FROM assets a WHERE {}", w.sql);
        let total: i64 = w
            .bind(sqlx::query(&count_sql))
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok((items, total))
    }

    /// Counts of the tenant's matching assets grouped by `group` (largest first).
    pub async fn count_assets(
        &self,
        scope: &TenantScope,
        query: &AssetQuery,
        group: AssetGroup,
    ) -> Result<Vec<(Option<String>, i64)>> {
        let w = query.where_clause(scope)?;
        let col = group.column();
        let sql = format!("SELECT {col} AS g, COUNT(*) AS n FROM assets a WHERE {} GROUP BY {col} ORDER BY n DESC, g", w.sql);
        let rows = w.bind(sqlx::query(&sql)).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<Option<String>, _>(0)?, r.try_get::<i64, _>(1)?)))
            .collect()
    }

    pub(crate) async fn locked_asset(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        scope: &TenantScope,
        id: &str,
    ) -> Result<Asset> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM assets a WHERE a.tenant_id = $1 AND a.id = $2"
        ))
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::NotFound)?;
        from_row(&row)
    }

    /// Replaces an asset's fields (validated by the caller). `expected_revision`, when given,
    /// must match the stored one, so a stale edit cannot overwrite a newer one. A change that
    /// changes nothing records nothing. A change that a rule holds for approval is stored as
    /// pending instead ([`ChangeOutcome::Held`]).
    pub async fn update_asset(
        &self,
        scope: &TenantScope,
        id: &str,
        fields: AssetFields,
        expected_revision: Option<i64>,
        actor: &Actor,
    ) -> Result<ChangeOutcome> {
        let mut w = self.begin_write().await?;
        let before = Self::locked_asset(&mut w.tx, scope, id).await?;
        if let Some(rev) = expected_revision {
            if rev != before.revision {
                return Err(Error::Conflict(format!(
                    "revision: the asset changed meanwhile (now at revision {})",
                    before.revision
                )));
            }
        }
        if before.lifecycle.in_use() {
            if let Some(e) = fields.missing_for_service() {
                return Err(Error::Invalid(format!(
                    "{e} (the asset is {})",
                    before.lifecycle.as_str()
                )));
            }
        }
        let after = Asset {
            value: fields.value(),
            internet_facing: fields.internet_facing(),
            priority: fields.priority(),
            fields,
            revision: before.revision + 1,
            updated_at: crate::now_text(),
            ..before.clone()
        };
        if after.fields == before.fields {
            return Ok(ChangeOutcome::Applied {
                asset: before,
                change: None,
                alerts: vec![],
            });
        }
        self.gate_change(w, scope, "update", before, after, actor)
            .await
    }

    /// Moves an asset through its lifecycle (I.1.a, I.1.e). Going into service needs an owner
    /// and a valuation; transfer and disposal need a risk note, and the record stays.
    pub async fn set_lifecycle(
        &self,
        scope: &TenantScope,
        id: &str,
        to: Lifecycle,
        risk_note: Option<&str>,
        actor: &Actor,
    ) -> Result<ChangeOutcome> {
        let mut w = self.begin_write().await?;
        let before = Self::locked_asset(&mut w.tx, scope, id).await?;
        if !before.lifecycle.next_states().contains(&to) {
            let allowed: Vec<&str> = before
                .lifecycle
                .next_states()
                .iter()
                .map(|l| l.as_str())
                .collect();
            return Err(Error::Invalid(format!(
                "to: cannot go from {} to {}; allowed: {}",
                before.lifecycle.as_str(),
                to.as_str(),
                if allowed.is_empty() {
                    "none".to_string()
                } else {
                    allowed.join(", ")
                }
            )));
        }
        if to.in_use() {
            if let Some(e) = before.fields.missing_for_service() {
                return Err(Error::Invalid(e.to_string()));
            }
        }
        let note = risk_note.map(str::trim).filter(|n| !n.is_empty());
        if matches!(to, Lifecycle::Transferred | Lifecycle::Disposed) && note.is_none() {
            return Err(Error::Invalid(format!(
                "risk_note: {} needs a note on the risks identified and how they are controlled",
                to.as_str()
            )));
        }
        if note.is_some_and(|n| n.chars().count() > 2000) {
            return Err(Error::Invalid("risk_note: at most 2000 characters".into()));
        }
        let after = Asset {
            lifecycle: to,
            risk_note: note.map(str::to_string).or(before.risk_note.clone()),
            revision: before.revision + 1,
            updated_at: crate::now_text(),
            ..before.clone()
        };
        self.gate_change(w, scope, "lifecycle", before, after, actor)
            .await
    }

    /// Checks a change against the tenant's rules and either holds it for approval or applies
    /// it, raising the rules' alerts either way — all in the caller's transaction.
    async fn gate_change(
        &self,
        mut w: crate::WriteTx<'_>,
        scope: &TenantScope,
        action: &str,
        before: Asset,
        after: Asset,
        actor: &Actor,
    ) -> Result<ChangeOutcome> {
        let matches = check_rules(&mut w.tx, scope, Some(&before), &after).await?;
        if needs_approval(&matches) {
            let pending = hold_change(&mut w.tx, scope, action, &before, &after, actor).await?;
            let alerts = raise_alerts(
                &mut w.tx,
                scope,
                &after,
                &matches,
                None,
                Some(&pending.id),
                actor,
            )
            .await?;
            let mut entry = actor.entry(
                Some(scope.tenant_id()),
                "asset.change_held",
                "asset",
                Some(&before.id),
            );
            entry.after = Some(serde_json::json!({
                "pending": pending.id,
                "rules": matches.iter().map(|m| m.rule_name.as_str()).collect::<Vec<_>>(),
            }));
            w.commit(entry).await?;
            return Ok(ChangeOutcome::Held { pending, alerts });
        }
        Self::write_asset_rows(&mut w.tx, &after, false).await?;
        let change = Self::record_change(&mut w.tx, actor, action, Some(&before), &after).await?;
        let alerts = raise_alerts(
            &mut w.tx,
            scope,
            &after,
            &matches,
            Some(&change.id),
            None,
            actor,
        )
        .await?;
        refresh_exposure(&mut w.tx, scope, Some(&before), &after).await?;
        w.commit(Self::audit_entry(
            actor,
            scope,
            &format!("asset.{action}"),
            &change,
        ))
        .await?;
        Ok(ChangeOutcome::Applied {
            asset: after,
            change: Some(change),
            alerts,
        })
    }

    /// Deletes an asset that never went beyond `planned` (a mistaken entry). Anything that was
    /// ever onboarded is decommissioned or disposed instead, so its record is kept.
    pub async fn delete_asset(&self, scope: &TenantScope, id: &str, actor: &Actor) -> Result<()> {
        let mut w = self.begin_write().await?;
        let asset = Self::locked_asset(&mut w.tx, scope, id).await?;
        let history: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM asset_history WHERE tenant_id = $1 AND asset_id = $2 AND action = 'lifecycle'")
            .bind(scope.tenant_id())
            .bind(id)
            .fetch_one(&mut *w.tx)
            .await?;
        if asset.lifecycle != Lifecycle::Planned || history > 0 {
            return Err(Error::Conflict(format!(
                "lifecycle: only never-used planned assets can be deleted; this one is {} — decommission or dispose it, and its record is kept",
                asset.lifecycle.as_str()
            )));
        }
        for sql in [
            "DELETE FROM asset_relations WHERE from_id = $1 OR to_id = $1",
            "DELETE FROM asset_change_alerts WHERE asset_id = $1",
            "DELETE FROM asset_pending_changes WHERE asset_id = $1",
            "DELETE FROM asset_ips WHERE asset_id = $1",
            "DELETE FROM asset_ports WHERE asset_id = $1",
            "DELETE FROM asset_terms WHERE asset_id = $1",
            "DELETE FROM asset_history WHERE asset_id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *w.tx).await?;
        }
        sqlx::query("DELETE FROM assets WHERE id = $1")
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(Some(scope.tenant_id()), "asset.delete", "asset", Some(id));
        entry.before = Some(serde_json::to_value(&asset).expect("asset serialises"));
        w.commit(entry).await?;
        Ok(())
    }

    /// History of one asset (newest first), or of the whole ledger when `asset_id` is `None`.
    pub async fn asset_history(
        &self,
        scope: &TenantScope,
        asset_id: Option<&str>,
        page: Page,
    ) -> Result<(Vec<AssetChange>, i64)> {
        if let Some(id) = asset_id {
            self.get_asset(scope, id).await?;
        }
        let cond = if asset_id.is_some() {
            " AND asset_id = $2"
        } else {
            ""
        };
        let n = if asset_id.is_some() { 3 } else { 2 };
        let sql = format!(
            "SELECT id, asset_id, at, actor_name, action, changed, before_json, after_json FROM asset_history \
             WHERE tenant_id = $1{cond} ORDER BY at DESC, id DESC LIMIT ${n} OFFSET ${}",
            n + 1
        );
        let mut q = sqlx::query(&sql).bind(scope.tenant_id());
        if let Some(id) = asset_id {
            q = q.bind(id);
        }
        let rows = q
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(&self.pool)
            .await?;
        let parse = |s: Option<String>| -> Result<Option<serde_json::Value>> {
            s.map(|s| serde_json::from_str(&s).map_err(|e| Error::Corrupt(e.to_string())))
                .transpose()
        };
        let mut items = Vec::with_capacity(rows.len());
        for r in rows {
            let changed: String = r.try_get(5)?;
            items.push(AssetChange {
                id: r.try_get(0)?,
                asset_id: r.try_get(1)?,
                at: r.try_get(2)?,
                actor_name: r.try_get(3)?,
                action: r.try_get(4)?,
                changed: changed
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                before: parse(r.try_get(6)?)?,
                after: parse(r.try_get(7)?)?.unwrap_or_default(),
            });
        }
        let count_sql = format!("SELECT COUNT(*) FROM asset_history WHERE tenant_id = $1{cond}");
        let mut q = sqlx::query_scalar(&count_sql).bind(scope.tenant_id());
        if let Some(id) = asset_id {
            q = q.bind(id);
        }
        let total: i64 = q.fetch_one(&self.pool).await?;
        Ok((items, total))
    }
}

/// An asset's name, read inside a write transaction (tenant-checked).
pub(crate) async fn asset_name_in_tx(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    scope: &TenantScope,
    id: &str,
) -> Result<String> {
    sqlx::query_scalar("SELECT name FROM assets WHERE tenant_id = $1 AND id = $2")
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| Error::Invalid(format!("asset_ids: no asset {id}")))
}

/// The `assets` columns, in the order [`asset_row`] gives them (and the `UPDATE` in
/// `write_asset_rows` numbers them).
const ASSET_COLUMNS: &[&str] = &[
    "id",
    "tenant_id",
    "name",
    "kind",
    "lifecycle",
    "owner",
    "department",
    "business_system",
    "business_type",
    "zone",
    "sensitivity",
    "value",
    "priority_score",
    "priority_level",
    "internet_facing",
    "search_text",
    "doc",
    "risk_note",
    "revision",
    "created_at",
    "updated_at",
];

/// An asset's `assets` row.
fn asset_row(asset: &Asset) -> Vec<Val> {
    let f = &asset.fields;
    let sensitivity = f.sensitivity.map(|s| {
        serde_json::to_value(s)
            .expect("enum")
            .as_str()
            .unwrap_or_default()
            .to_string()
    });
    vec![
        Val::Text(Some(asset.id.clone())),
        Val::Text(Some(asset.tenant_id.clone())),
        Val::Text(Some(f.name.clone())),
        Val::Text(Some(f.kind.clone())),
        Val::Text(Some(asset.lifecycle.as_str().into())),
        Val::Text(f.owner.clone()),
        Val::Text(f.department.clone()),
        Val::Text(f.business_system.clone()),
        Val::Text(f.business_type.clone()),
        Val::Text(f.zone.clone()),
        Val::Text(sensitivity),
        Val::Int(asset.value.map(i64::from)),
        Val::Int(Some(i64::from(asset.priority.score))),
        Val::Int(Some(i64::from(asset.priority.level))),
        Val::Int(Some(i64::from(asset.internet_facing))),
        Val::Text(Some(search_text(f))),
        Val::Text(Some(serde_json::to_string(f).expect("fields serialise"))),
        Val::Text(asset.risk_note.clone()),
        Val::Int(Some(asset.revision)),
        Val::Text(Some(asset.created_at.clone())),
        Val::Text(Some(asset.updated_at.clone())),
    ]
}

/// Rows of new assets, their lookup tables and change records, written together: an
/// import discovering thousands of hosts writes them a few hundred per statement.
pub(crate) struct AssetRows {
    assets: Batch,
    ips: Batch,
    ports: Batch,
    terms: Batch,
    history: Batch,
}

impl Default for AssetRows {
    fn default() -> Self {
        AssetRows {
            assets: Batch::new("assets", ASSET_COLUMNS),
            ips: Batch::new("asset_ips", &["tenant_id", "asset_id", "ip_key"]),
            ports: Batch::new(
                "asset_ports",
                &["tenant_id", "asset_id", "port", "protocol", "internet"],
            ),
            terms: Batch::new("asset_terms", &["tenant_id", "asset_id", "field", "term"]),
            history: Batch::new(
                "asset_history",
                &[
                    "id",
                    "tenant_id",
                    "asset_id",
                    "at",
                    "actor_id",
                    "actor_name",
                    "action",
                    "changed",
                    "before_json",
                    "after_json",
                ],
            ),
        }
    }
}

impl AssetRows {
    /// A new asset: its row, lookups and the change that created it.
    pub(crate) fn push_new(&mut self, asset: &Asset, actor: &Actor, action: &str) {
        self.assets.rows.push(asset_row(asset));
        self.push_lookups(asset);
        self.push_change(actor, action, None, asset);
    }

    /// The rows that find an asset by address, port and term.
    fn push_lookups(&mut self, asset: &Asset) {
        let f = &asset.fields;
        let text = |s: &str| Val::Text(Some(s.to_string()));
        let mut keys: Vec<String> = f
            .ips
            .iter()
            .filter_map(|ip| ip.parse().ok())
            .map(ip_key)
            .collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            self.ips.rows.push(vec![
                text(&asset.tenant_id),
                text(&asset.id),
                Val::Text(Some(key)),
            ]);
        }
        let mut ports: Vec<(i64, &str, bool)> = f
            .ports
            .iter()
            .map(|p| {
                (
                    i64::from(p.port),
                    p.protocol.as_str(),
                    p.exposure == yunshou_model::asset::Exposure::Internet,
                )
            })
            .collect();
        ports.sort();
        ports.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        for (port, protocol, internet) in ports {
            self.ports.rows.push(vec![
                text(&asset.tenant_id),
                text(&asset.id),
                Val::Int(Some(port)),
                text(protocol),
                Val::Int(Some(i64::from(internet))),
            ]);
        }
        let mut terms: Vec<(&str, String)> = Vec::new();
        terms.extend(f.domains.iter().map(|d| ("domain", d.to_lowercase())));
        terms.extend(
            f.middleware
                .iter()
                .map(|v| ("middleware", v.to_lowercase())),
        );
        terms.extend(
            f.applications
                .iter()
                .map(|v| ("application", v.to_lowercase())),
        );
        terms.extend(f.tech_stack.iter().map(|v| ("tech", v.to_lowercase())));
        terms.sort();
        terms.dedup();
        for (field, term) in terms {
            self.terms.rows.push(vec![
                text(&asset.tenant_id),
                text(&asset.id),
                text(field),
                Val::Text(Some(term)),
            ]);
        }
    }

    /// The record of a change to `after` (from `before`, when it existed).
    fn push_change(
        &mut self,
        actor: &Actor,
        action: &str,
        before: Option<&Asset>,
        after: &Asset,
    ) -> AssetChange {
        let after_json = serde_json::to_value(after).expect("asset serialises");
        let before_json = before.map(|b| serde_json::to_value(b).expect("asset serialises"));
        let changed = match &before_json {
            Some(b) => changed_fields(b, &after_json)
                .into_iter()
                .filter(|k| !matches!(k.as_str(), "revision" | "updated_at"))
                .collect(),
            None => vec![],
        };
        let change = AssetChange {
            id: ids::new_id(),
            asset_id: after.id.clone(),
            at: after.updated_at.clone(),
            actor_name: actor.name.clone(),
            action: action.to_string(),
            changed,
            before: before_json,
            after: after_json,
        };
        self.history.rows.push(vec![
            Val::Text(Some(change.id.clone())),
            Val::Text(Some(after.tenant_id.clone())),
            Val::Text(Some(after.id.clone())),
            Val::Text(Some(change.at.clone())),
            Val::Text(actor.user_id.clone()),
            Val::Text(Some(actor.name.clone())),
            Val::Text(Some(action.to_string())),
            Val::Text(Some(change.changed.join(","))),
            Val::Text(change.before.as_ref().map(|v| v.to_string())),
            Val::Text(Some(change.after.to_string())),
        ]);
        change
    }

    /// New assets waiting to be written.
    pub(crate) fn assets(&self) -> usize {
        self.assets.rows.len()
    }

    /// Writes the rows (assets before the rows naming them), `BATCH_ROWS` per statement.
    pub(crate) async fn flush(
        &mut self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    ) -> Result<()> {
        execute_all(self.bind_all()?, tx).await
    }

    /// The rows as statements, in the order [`AssetRows::flush`] writes them.
    pub(crate) fn bind_all(&mut self) -> Result<Vec<Bound>> {
        let mut statements = Vec::new();
        for batch in [
            &mut self.assets,
            &mut self.ips,
            &mut self.ports,
            &mut self.terms,
            &mut self.history,
        ] {
            statements.extend(batch.bind_all()?);
        }
        Ok(statements)
    }
}
