//! Importing a report (I.3.a–c): one write transaction from the first item to the summary,
//! so a report that fails to parse half-way leaves nothing behind. Items arrive one by one
//! from a streaming parser; the asset of each is resolved once (an unknown host becomes a
//! discovered asset, onboarding, in the ledger), each finding is deduplicated by its
//! fingerprint, scored, and — when it needs action — given a work order. Finishing closes
//! what the report's scope no longer shows:
//!
//! - an open finding it no longer reports becomes `not_seen` and its work order waits for a
//!   retest;
//! - one no longer reported whose fix was already claimed (work order in `retest`), or that
//!   was already `not_seen`, counts as retested: fixed, its work order closed;
//! - a `not_seen` or fixed finding reported again is open again (a failed retest, or a
//!   regression), its work order back to fixing.

use crate::assets::AssetRows;
use crate::batch::{execute_all, Batch, Val, BATCH_ROWS};
use crate::crypto::sm3_hex;
use crate::db::{Store, WriteLock};
use crate::error::{Error, Result};
use crate::finding_assets::{self, AssetInfo, Discovered};
use crate::finding_texts::{FindingTexts, NewText};
use crate::findings::FindingStatus;
use crate::scope::TenantScope;
use crate::tx_queue::{op, TxQueue};
use crate::vuln_settings::VulnSettings;
use crate::work_orders::{self, NewOrderNotice};
use serde::Serialize;
use sqlx::Row;
use std::collections::{BTreeSet, HashMap, HashSet};
use yunshou_identify::assessment::{assess, AssessmentInputs, AssetExposure};
use yunshou_model::finding::{ReportItem, ReportedFinding, Severity, Target};
use yunshou_model::work_order::{WorkOrderAction, WorkOrderState};
use yunshou_model::{ids, Actor};

/// Longest text kept per field: reports carry whole HTTP responses as evidence.
const MAX_TEXT: usize = 64 * 1024;

/// What the file is.
#[derive(Debug, Clone)]
pub struct ImportMeta {
    /// The importer's format name (`nessus`, `openvas-xml` …).
    pub format: String,
    /// The findings' source for this format (`nessus`, `openvas`, `manual` …).
    pub source: String,
    /// The file's name as uploaded.
    pub file_name: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    /// The import's id.
    pub import_id: String,
    /// Format.
    pub format: String,
    /// File name.
    pub file_name: String,
    /// Findings in the file.
    pub findings: u64,
    /// Targets the file says it scanned.
    pub targets: u64,
    /// New findings.
    pub created: u64,
    /// Findings already known, seen again.
    pub updated: u64,
    /// Findings back after being fixed or not seen.
    pub reopened: u64,
    /// Open findings the file's scope no longer shows, now awaiting a retest.
    pub not_seen: u64,
    /// Findings whose retest this import passed: fixed, their work orders closed.
    pub retest_passed: u64,
    /// Unknown hosts added to the ledger as discovered assets.
    pub assets_discovered: u64,
    /// Work orders raised.
    pub work_orders: u64,
    /// Items the importer left out on purpose, with why (filled by the caller).
    pub skipped: Vec<String>,
}

/// The ids of a finding's texts in `finding_texts`.
struct TextIds {
    description: Option<i64>,
    solution: Option<i64>,
    evidence: Option<i64>,
    refs: i64,
}

/// A finding's assessment as stored: its figures and the id of its detail's text.
#[derive(Clone, Copy)]
struct Assessed {
    cvss_score: Option<i64>,
    risk_level: u8,
    risk_value: f64,
    priority: i64,
    risk_text: i64,
}

/// Assessments an import keeps for reuse; past this many distinct inputs it starts over (a
/// report has a few dozen: its checks' vectors times the assets' exposures).
const MAX_ASSESSED: usize = 4096;

struct Known {
    id: String,
    status: FindingStatus,
    sources: Vec<String>,
    order: Option<(String, WorkOrderState)>,
}

const FINDING_INSERT: &[&str] = &[
    "id",
    "tenant_id",
    "asset_id",
    "fingerprint",
    "identity",
    "title",
    "description_text",
    "solution_text",
    "evidence_text",
    "check_id",
    "sources",
    "cves",
    "cwes",
    "cvss3",
    "cvss4",
    "cvss2",
    "cvss_score",
    "severity",
    "severity_rank",
    "severity_raw",
    "refs_text",
    "target",
    "place",
    "known_exploited",
    "epss",
    "category",
    "method",
    "risk_level",
    "risk_value",
    "risk_priority",
    "risk_text",
    "status",
    "first_seen",
    "last_seen",
    "last_import_id",
    "reopened",
    "created_at",
    "updated_at",
];

/// A finding already stored keeps its id, first sighting, identity and CVEs; the rest is
/// what the latest report says.
const FINDING_UPSERT: &str = " ON CONFLICT (tenant_id, fingerprint) DO UPDATE SET title = excluded.title, \
    description_text = excluded.description_text, solution_text = excluded.solution_text, \
    evidence_text = excluded.evidence_text, sources = excluded.sources, cvss3 = excluded.cvss3, cvss4 = excluded.cvss4, \
    cvss_score = excluded.cvss_score, severity = excluded.severity, severity_rank = excluded.severity_rank, \
    severity_raw = excluded.severity_raw, refs_text = excluded.refs_text, known_exploited = excluded.known_exploited, \
    epss = excluded.epss, risk_level = excluded.risk_level, risk_value = excluded.risk_value, \
    risk_priority = excluded.risk_priority, risk_text = excluded.risk_text, status = excluded.status, \
    last_seen = excluded.last_seen, last_import_id = excluded.last_import_id, \
    reopened = findings.reopened + excluded.reopened, updated_at = excluded.updated_at";

/// An import under way. Dropping it without [`FindingImport::finish`] rolls everything back.
///
/// Writes are queued to the transaction ([`TxQueue`]) and run while the import prepares the
/// next rows; what the import reads was stored before it began, read on a second connection
/// (see [`crate::finding_assets`]).
pub struct FindingImport<'a> {
    lock: WriteLock<'a>,
    queue: TxQueue,
    read: sqlx::AnyConnection,
    /// Assets this import added to the ledger.
    discovered: Discovered,
    /// Their rows, not yet queued.
    new_assets: AssetRows,
    tenant: String,
    settings: VulnSettings,
    meta: ImportMeta,
    id: String,
    now: String,
    /// Target key → asset.
    resolved: HashMap<String, AssetInfo>,
    /// Asset id → its findings before this import, by fingerprint.
    known: HashMap<String, HashMap<String, Known>>,
    /// Fingerprints this import reported.
    seen: HashSet<String>,
    /// Sources the file's findings name (the scope that closes is theirs).
    sources: BTreeSet<String>,
    texts: FindingTexts,
    new_texts: Vec<NewText>,
    /// Assessments by their inputs.
    assessed: HashMap<AssessmentInputs, Assessed>,
    /// Findings new to the store: plain inserts.
    created: Batch,
    /// Findings stored before, refreshed by an upsert on their fingerprint (kept apart: an
    /// upsert's update may abort half-way, so SQLite keeps a statement journal for it).
    refreshed: Batch,
    cves: Batch,
    orders: Batch,
    history: Batch,
    notices: Vec<NewOrderNotice>,
    next_number: i64,
    summary: ImportSummary,
}

fn clip(s: Option<String>) -> Option<String> {
    s.map(|mut s| {
        if s.len() > MAX_TEXT {
            let mut cut = MAX_TEXT;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            s.push_str(" …");
        }
        s
    })
    .filter(|s| !s.trim().is_empty())
}

/// A title trimmed and cut to 1,000 characters, copied only when that changes it.
fn clip_title(title: String) -> String {
    let trimmed = title.trim();
    let cut = trimmed
        .char_indices()
        .nth(1000)
        .map_or(trimmed.len(), |(i, _)| i);
    if cut == title.len() {
        title
    } else {
        trimmed[..cut].to_string()
    }
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serialises")
}

/// The key a target is resolved by, most specific first.
fn target_key(t: &Target) -> Option<String> {
    if let Some(ip) = &t.ip {
        return Some(format!("ip:{}", ip.trim()));
    }
    if let Some(h) = &t.hostname {
        return Some(format!("host:{}", h.trim().to_lowercase()));
    }
    if let Some(i) = &t.image {
        return Some(format!("image:{}", i.trim()));
    }
    t.repository.as_ref().map(|r| format!("repo:{}", r.trim()))
}

impl Store {
    /// Begins importing a report for the tenant. Holds the store's writer until finished or
    /// dropped, so keep the items coming.
    pub async fn begin_findings_import(
        &self,
        scope: &TenantScope,
        meta: ImportMeta,
    ) -> Result<FindingImport<'_>> {
        let settings = self.vuln_settings(scope).await?;
        let mut w = self.begin_write().await?;
        let next_number: i64 = sqlx::query(
            "SELECT COALESCE(MAX(number), 0) + 1 FROM work_orders WHERE tenant_id = $1",
        )
        .bind(scope.tenant_id())
        .fetch_one(&mut *w.tx)
        .await?
        .try_get(0)?;
        let mut sources = BTreeSet::new();
        sources.insert(meta.source.clone());
        let texts = FindingTexts::begin(&mut w.tx, scope.tenant_id()).await?;
        // Its own connection, closed with the import, with a small cache: it reads an
        // asset's findings once each (the pool's 32 MiB would be a fifth of a re-import's
        // peak memory, and stay with the pool).
        let mut read = self.pool.acquire().await?.detach();
        sqlx::query("PRAGMA cache_size = -4096")
            .execute(&mut read)
            .await?;
        let (lock, tx) = w.split();
        Ok(FindingImport {
            texts,
            new_texts: vec![],
            assessed: HashMap::new(),
            lock,
            queue: TxQueue::start(tx),
            read,
            discovered: Discovered::default(),
            new_assets: AssetRows::default(),
            tenant: scope.tenant_id().to_string(),
            settings,
            id: ids::new_id(),
            now: crate::now_text(),
            summary: ImportSummary {
                format: meta.format.clone(),
                file_name: meta.file_name.clone(),
                ..Default::default()
            },
            meta,
            resolved: HashMap::new(),
            known: HashMap::new(),
            seen: HashSet::new(),
            sources,
            created: Batch::new("findings", FINDING_INSERT),
            refreshed: Batch {
                upsert: FINDING_UPSERT,
                ..Batch::new("findings", FINDING_INSERT)
            },
            cves: Batch::new("finding_cves", &["tenant_id", "finding_id", "cve"]),
            orders: Batch::new("work_orders", work_orders::INSERT_COLUMNS),
            history: Batch::new("work_order_history", work_orders::HISTORY_COLUMNS),
            notices: vec![],
            next_number,
        })
    }
}

impl FindingImport<'_> {
    /// Takes the next item of the report.
    pub async fn add(&mut self, item: ReportItem, actor: &Actor) -> Result<()> {
        match item {
            ReportItem::Scanned(s) => {
                self.summary.targets += 1;
                self.asset(&s.target, actor).await?;
                Ok(())
            }
            ReportItem::Finding(f) => {
                self.summary.findings += 1;
                self.finding(*f, actor).await?;
                self.flush_full().await
            }
        }
    }

    /// Writes the batches once one is full — all of them, in dependency order (findings,
    /// their CVEs, work orders, their history), so no row lands before the row it names.
    async fn flush_full(&mut self) -> Result<()> {
        let full = self.new_texts.len() >= BATCH_ROWS
            || self.new_assets.assets() >= BATCH_ROWS
            || [
                &self.created,
                &self.refreshed,
                &self.cves,
                &self.orders,
                &self.history,
            ]
            .iter()
            .any(|b| b.rows.len() >= BATCH_ROWS);
        if full {
            self.flush_all().await?;
        }
        Ok(())
    }

    /// Queues every batch's rows, in dependency order, bound here (see
    /// [`crate::batch::Bound`]).
    async fn flush_all(&mut self) -> Result<()> {
        let mut texts = Batch::new("finding_texts", &["id", "tenant_id", "digest", "body"]);
        for t in self.new_texts.drain(..) {
            texts.rows.push(vec![
                Val::Int(Some(t.id)),
                Val::Text(Some(self.tenant.clone())),
                Val::Text(Some(t.digest)),
                Val::Text(Some(t.body)),
            ]);
        }
        let mut statements = self.new_assets.bind_all()?;
        for batch in [
            &mut texts,
            &mut self.created,
            &mut self.refreshed,
            &mut self.cves,
            &mut self.orders,
            &mut self.history,
        ] {
            statements.extend(batch.bind_all()?);
        }
        if statements.is_empty() {
            return Ok(());
        }
        self.queue
            .push(op(move |tx| Box::pin(execute_all(statements, tx))))
            .await
    }

    async fn asset(&mut self, target: &Target, actor: &Actor) -> Result<AssetInfo> {
        // A report that names no target (a file-system or source scan) is about the
        // project it was run on: the file's name stands for it.
        let named;
        let target = if target.is_anonymous() {
            named = Target {
                repository: Some(
                    self.meta
                        .file_name
                        .rsplit_once('.')
                        .map_or(self.meta.file_name.as_str(), |(s, _)| s)
                        .to_string(),
                ),
                ..target.clone()
            };
            &named
        } else {
            target
        };
        let key = target_key(target).expect("a target with a name");
        if let Some(a) = self.resolved.get(&key) {
            return Ok(a.clone());
        }
        let found =
            finding_assets::find(&mut self.read, &self.tenant, &self.discovered, target).await?;
        let info = match found {
            Some(info) => {
                self.load_known(&info.id).await?;
                info
            }
            None => {
                self.summary.assets_discovered += 1;
                let info = finding_assets::discover(
                    &mut self.discovered,
                    &mut self.new_assets,
                    &self.tenant,
                    target,
                    &self.meta.format,
                    actor,
                )?;
                // Just added: it has no findings yet.
                self.known.insert(info.id.clone(), HashMap::new());
                info
            }
        };
        self.resolved.insert(key, info.clone());
        Ok(info)
    }

    async fn load_known(&mut self, asset_id: &str) -> Result<()> {
        if self.known.contains_key(asset_id) {
            return Ok(());
        }
        let rows = sqlx::query(
            "SELECT f.id, f.fingerprint, f.status, f.sources, w.id, w.state FROM findings f \
             LEFT JOIN work_orders w ON w.finding_id = f.id WHERE f.tenant_id = $1 AND f.asset_id = $2",
        )
        .bind(&self.tenant)
        .bind(asset_id)
        .fetch_all(&mut self.read)
        .await?;
        let mut map = HashMap::with_capacity(rows.len());
        for r in rows {
            let status: String = r.try_get(2)?;
            let sources: String = r.try_get(3)?;
            let order = match r.try_get::<Option<String>, _>(4)? {
                Some(id) => {
                    let s: String = r.try_get(5)?;
                    Some((
                        id,
                        WorkOrderState::parse(&s)
                            .ok_or_else(|| Error::Corrupt(format!("work order state `{s}`")))?,
                    ))
                }
                None => None,
            };
            map.insert(
                r.try_get(1)?,
                Known {
                    id: r.try_get(0)?,
                    status: FindingStatus::parse(&status)
                        .ok_or_else(|| Error::Corrupt(format!("finding status `{status}`")))?,
                    sources: serde_json::from_str(&sources)
                        .map_err(|e| Error::Corrupt(e.to_string()))?,
                    order,
                },
            );
        }
        self.known.insert(asset_id.to_string(), map);
        Ok(())
    }

    async fn finding(&mut self, mut f: ReportedFinding, actor: &Actor) -> Result<()> {
        if f.title.trim().is_empty() {
            return Err(Error::Invalid(format!(
                "finding {}: no title",
                self.summary.findings
            )));
        }
        let asset = self.asset(&f.target, actor).await?;
        let identity = f.identity();
        let fingerprint = sm3_hex(format!("{}\n{}", asset.id, identity).as_bytes());
        self.sources.insert(f.source.clone());
        if !self.seen.insert(fingerprint.clone()) {
            // Reported twice in one file (two plugins, or a port listed twice): the first
            // stands.
            return Ok(());
        }
        let seen_at = f.seen_at.clone().unwrap_or_else(|| self.now.clone());
        let assessment = self.assess(&f, asset.exposure).await?;
        let needs_order = f.severity > Severity::Info
            && assessment.risk_level >= self.settings.work_order_min_level;
        f.title = clip_title(std::mem::take(&mut f.title));
        let texts = self.text_ids(&mut f).await?;
        let known = self
            .known
            .get_mut(&asset.id)
            .and_then(|m| m.remove(&fingerprint));
        // A finding reported before keeps its row: it is written as an upsert on its
        // fingerprint, refreshed with what the report says now.
        let (id, sources, status, reopened) = match &known {
            None => {
                self.summary.created += 1;
                (
                    ids::new_id(),
                    vec![f.source.clone()],
                    FindingStatus::Open,
                    0,
                )
            }
            Some(known) => {
                let mut sources = known.sources.clone();
                if !sources.contains(&f.source) {
                    sources.push(f.source.clone());
                    sources.sort();
                }
                let (status, reopened) = match known.status {
                    FindingStatus::Open => (FindingStatus::Open, 0),
                    FindingStatus::NotSeen | FindingStatus::Fixed => (FindingStatus::Open, 1),
                    s @ (FindingStatus::Accepted | FindingStatus::FalsePositive) => (s, 0),
                };
                if reopened == 1 {
                    self.summary.reopened += 1;
                } else {
                    self.summary.updated += 1;
                }
                // The row's id stays; this one is never stored (the fingerprint conflicts).
                (ids::new_id(), sources, status, reopened)
            }
        };
        if known.is_none() {
            for cve in &f.cves {
                self.cves.rows.push(vec![
                    Val::Text(Some(self.tenant.clone())),
                    Val::Text(Some(id.clone())),
                    Val::Text(Some(cve.clone())),
                ]);
            }
        }
        let place = f.target.place();
        let batch = match known {
            None => &mut self.created,
            Some(_) => &mut self.refreshed,
        };
        batch.rows.push(vec![
            Val::Text(Some(id.clone())),
            Val::Text(Some(self.tenant.clone())),
            Val::Text(Some(asset.id.clone())),
            Val::Text(Some(fingerprint)),
            Val::Text(Some(identity)),
            Val::Text(Some(f.title.clone())),
            Val::Int(texts.description),
            Val::Int(texts.solution),
            Val::Int(texts.evidence),
            Val::Text(f.check_id),
            Val::Text(Some(to_json(&sources))),
            Val::Text(Some(to_json(&f.cves))),
            Val::Text(Some(to_json(&f.cwes))),
            Val::Text(f.cvss3),
            Val::Text(f.cvss4),
            Val::Text(f.cvss2),
            Val::Int(assessment.cvss_score),
            Val::Text(Some(f.severity.as_str().into())),
            Val::Int(Some(f.severity as i64)),
            Val::Text(f.severity_raw),
            Val::Int(Some(texts.refs)),
            Val::Text(Some(to_json(&f.target))),
            Val::Text(Some(place)),
            Val::Int(Some(i64::from(f.known_exploited))),
            Val::Real(f.epss),
            Val::Text(f.category),
            Val::Text(f.method),
            Val::Int(Some(i64::from(assessment.risk_level))),
            Val::Real(Some(assessment.risk_value)),
            Val::Int(Some(assessment.priority)),
            Val::Int(Some(assessment.risk_text)),
            Val::Text(Some(status.as_str().into())),
            Val::Text(Some(seen_at.clone())),
            Val::Text(Some(seen_at)),
            Val::Text(Some(self.id.clone())),
            Val::Int(Some(reopened)),
            Val::Text(Some(self.now.clone())),
            Val::Text(Some(self.now.clone())),
        ]);
        let Some(known) = known else {
            if needs_order {
                self.raise_order(&id, &f.title, &asset, assessment.risk_level, actor)
                    .await?;
            }
            return Ok(());
        };
        match known.order {
            Some((order_id, state)) if reopened == 1 => {
                let (action, note) = if state == WorkOrderState::Retest {
                    (
                        WorkOrderAction::RetestFail,
                        "retest failed: reported again by import",
                    )
                } else if state == WorkOrderState::Closed {
                    (
                        WorkOrderAction::Reopen,
                        "regression: reported again by import",
                    )
                } else {
                    return Ok(());
                };
                let to = action.apply(state).map_err(Error::Invalid)?.0;
                let (tenant, who, now) =
                    (self.tenant.clone(), actor.name.clone(), self.now.clone());
                let note = format!("{note} {} ({})", self.meta.file_name, self.id);
                self.queue
                    .push(op(move |tx| {
                        Box::pin(async move {
                            work_orders::move_order(
                                tx, &tenant, &order_id, action, state, to, None, &who, &note, &now,
                            )
                            .await
                        })
                    }))
                    .await?;
            }
            None if needs_order && status == FindingStatus::Open => {
                self.raise_order(&known.id, &f.title, &asset, assessment.risk_level, actor)
                    .await?;
            }
            _ => {}
        }
        Ok(())
    }

    /// The finding's assessment on its asset, with the tenant's method and tables.
    async fn assess(&mut self, f: &ReportedFinding, exposure: AssetExposure) -> Result<Assessed> {
        let inputs = AssessmentInputs::of(f, exposure);
        if let Some(a) = self.assessed.get(&inputs) {
            return Ok(*a);
        }
        let a = assess(
            &inputs,
            self.settings.risk_method,
            &self.settings.risk_tables,
        );
        let risk_text = self
            .texts
            .id_of(&mut self.read, a.detail.to_string(), &mut self.new_texts)
            .await?;
        let assessed = Assessed {
            cvss_score: a.cvss_score.map(|s| (s * 10.0).round() as i64),
            risk_level: a.risk_level,
            risk_value: a.risk_value,
            priority: a.priority,
            risk_text,
        };
        if self.assessed.len() >= MAX_ASSESSED {
            self.assessed.clear();
        }
        self.assessed.insert(inputs, assessed);
        Ok(assessed)
    }

    /// Names the finding's texts, storing those not stored yet.
    async fn text_ids(&mut self, f: &mut ReportedFinding) -> Result<TextIds> {
        let (texts, tx, new) = (&mut self.texts, &mut self.read, &mut self.new_texts);
        Ok(TextIds {
            description: texts
                .id_of_some(tx, clip(f.description.take()), new)
                .await?,
            solution: texts.id_of_some(tx, clip(f.solution.take()), new).await?,
            evidence: texts.id_of_some(tx, clip(f.evidence.take()), new).await?,
            refs: texts.id_of(tx, to_json(&f.references), new).await?,
        })
    }

    async fn raise_order(
        &mut self,
        finding_id: &str,
        title: &str,
        asset: &AssetInfo,
        risk_level: u8,
        actor: &Actor,
    ) -> Result<()> {
        let number = self.next_number;
        self.next_number += 1;
        self.summary.work_orders += 1;
        let due = work_orders::due_at(&self.now, self.settings.sla_days.days(risk_level));
        let id = ids::new_id();
        self.orders.rows.push(work_orders::insert_row(
            &id,
            &self.tenant,
            number,
            finding_id,
            asset.owner.as_deref(),
            risk_level,
            &due,
            &self.now,
        ));
        self.history.rows.push(work_orders::history_row(
            &self.tenant,
            &id,
            &self.now,
            &actor.name,
            "raise",
            None,
            Some(WorkOrderState::Notified),
            Some(&format!("{} ({})", self.meta.file_name, self.id)),
        ));
        self.notices.push(NewOrderNotice {
            number,
            title: title.to_string(),
            asset: asset.name.clone(),
            assignee: asset.owner.clone(),
            risk_level,
            due_at: due,
        });
        Ok(())
    }

    /// Records the file's SHA-256 (known only once the parser has read it all).
    pub fn set_sha256(&mut self, hex: String) {
        self.meta.sha256 = hex;
    }

    /// Closes what the scope no longer shows, writes the import's record and commits.
    pub async fn finish(mut self, actor: &Actor) -> Result<ImportSummary> {
        self.flush_all().await?;
        let sources: Vec<String> = self.sources.iter().cloned().collect();
        let leftovers: Vec<Known> = self
            .known
            .drain()
            .flat_map(|(_, m)| m.into_values())
            .filter(|k| k.sources.iter().any(|s| sources.contains(s)))
            .collect();
        for k in leftovers {
            self.absent(k, actor).await?;
        }
        let FindingImport {
            lock,
            queue,
            tenant,
            summary,
            meta,
            id,
            now,
            settings,
            notices,
            ..
        } = self;
        let mut w = lock.resume(queue.finish().await?);
        if summary.assets_discovered > 0 {
            crate::asset_views::record_exposure_today(&mut w.tx, &tenant).await?;
        }
        let s = &summary;
        sqlx::query(
            "INSERT INTO finding_imports (id, tenant_id, format, file_name, sha256, scanned_at, findings, targets, created, updated, \
             reopened, not_seen, retest_passed, assets_discovered, work_orders, imported_by, imported_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)",
        )
        .bind(&id)
        .bind(&tenant)
        .bind(&meta.format)
        .bind(&meta.file_name)
        .bind(&meta.sha256)
        .bind(None::<String>)
        .bind(s.findings as i64)
        .bind(s.targets as i64)
        .bind(s.created as i64)
        .bind(s.updated as i64)
        .bind(s.reopened as i64)
        .bind(s.not_seen as i64)
        .bind(s.retest_passed as i64)
        .bind(s.assets_discovered as i64)
        .bind(s.work_orders as i64)
        .bind(&actor.name)
        .bind(&now)
        .execute(&mut *w.tx)
        .await?;
        work_orders::queue_new_order_notices(&mut w.tx, &tenant, &settings, &notices).await?;
        let mut summary = summary;
        summary.import_id = id.clone();
        let mut entry = actor.entry(Some(&tenant), "finding.import", "finding_import", Some(&id));
        entry.after = serde_json::to_value(&summary).ok();
        if let Some(v) = entry.after.as_mut() {
            v["sha256"] = meta.sha256.clone().into();
        }
        w.commit(entry).await?;
        Ok(summary)
    }

    /// A known finding the report's scope did not show.
    async fn absent(&mut self, k: Known, actor: &Actor) -> Result<()> {
        let order_state = k.order.as_ref().map(|o| o.1);
        let passed = match k.status {
            FindingStatus::Open => order_state == Some(WorkOrderState::Retest),
            FindingStatus::NotSeen => true,
            _ => return Ok(()),
        };
        let status = if passed {
            FindingStatus::Fixed
        } else {
            FindingStatus::NotSeen
        };
        let note = format!("{} ({})", self.meta.file_name, self.id);
        if passed {
            self.summary.retest_passed += 1;
        } else {
            self.summary.not_seen += 1;
        }
        let order = match k.order {
            Some((order_id, state)) if state.is_open() => {
                if passed {
                    Some((
                        order_id,
                        state,
                        WorkOrderState::Closed,
                        Some(yunshou_model::work_order::WorkOrderResolution::Fixed),
                        "retest_pass_by_import",
                        "retest passed: no longer reported by import",
                    ))
                } else if state == WorkOrderState::Retest {
                    None
                } else {
                    Some((
                        order_id,
                        state,
                        WorkOrderState::Retest,
                        None,
                        "not_seen_by_import",
                        "not reported by import; awaiting retest",
                    ))
                }
            }
            _ => None,
        };
        let (tenant, who, now, finding_id) = (
            self.tenant.clone(),
            actor.name.clone(),
            self.now.clone(),
            k.id,
        );
        self.queue
            .push(op(move |tx| {
                Box::pin(async move {
                    sqlx::query("UPDATE findings SET status = $1, updated_at = $2 WHERE id = $3")
                        .bind(status.as_str())
                        .bind(&now)
                        .bind(&finding_id)
                        .execute(&mut **tx)
                        .await?;
                    let Some((order_id, from, to, resolution, action, why)) = order else {
                        return Ok(());
                    };
                    work_orders::move_order_raw(
                        tx,
                        &tenant,
                        &order_id,
                        action,
                        from,
                        to,
                        resolution,
                        &who,
                        &format!("{why} {note}"),
                        &now,
                    )
                    .await
                })
            }))
            .await
    }
}

/// A past import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportRecord {
    /// Identifier.
    pub id: String,
    /// Format.
    pub format: String,
    /// File name.
    pub file_name: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Findings in the file.
    pub findings: i64,
    /// Targets in the file.
    pub targets: i64,
    /// New findings.
    pub created: i64,
    /// Seen again.
    pub updated: i64,
    /// Back after being fixed or not seen.
    pub reopened: i64,
    /// Now awaiting a retest.
    pub not_seen: i64,
    /// Retests passed.
    pub retest_passed: i64,
    /// Assets discovered.
    pub assets_discovered: i64,
    /// Work orders raised.
    pub work_orders: i64,
    /// Who imported it.
    pub imported_by: String,
    /// When.
    pub imported_at: String,
}

impl Store {
    /// The tenant's latest imports, newest first.
    pub async fn finding_imports(
        &self,
        scope: &TenantScope,
        limit: i64,
    ) -> Result<Vec<ImportRecord>> {
        sqlx::query(
            "SELECT id, format, file_name, sha256, findings, targets, created, updated, reopened, not_seen, retest_passed, \
             assets_discovered, work_orders, imported_by, imported_at FROM finding_imports WHERE tenant_id = $1 \
             ORDER BY imported_at DESC, id DESC LIMIT $2",
        )
        .bind(scope.tenant_id())
        .bind(limit.clamp(1, 1000))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(ImportRecord {
                id: r.try_get(0)?,
                format: r.try_get(1)?,
                file_name: r.try_get(2)?,
                sha256: r.try_get(3)?,
                findings: r.try_get(4)?,
                targets: r.try_get(5)?,
                created: r.try_get(6)?,
                updated: r.try_get(7)?,
                reopened: r.try_get(8)?,
                not_seen: r.try_get(9)?,
                retest_passed: r.try_get(10)?,
                assets_discovered: r.try_get(11)?,
                work_orders: r.try_get(12)?,
                imported_by: r.try_get(13)?,
                imported_at: r.try_get(14)?,
            })
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::clip_title;

    #[test]
    fn titles_are_trimmed_and_cut_at_a_thousand_characters() {
        assert_eq!(clip_title("SSL 证书过期".into()), "SSL 证书过期");
        assert_eq!(clip_title("  padded \n".into()), "padded");
        let long = "漏".repeat(1200);
        let clipped = clip_title(format!(" {long}"));
        assert_eq!(clipped.chars().count(), 1000);
        assert!(clipped.starts_with('漏'));
        assert_eq!(clip_title("a".repeat(1000)).len(), 1000);
    }
}
