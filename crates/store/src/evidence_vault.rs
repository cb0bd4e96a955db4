//! The evidence vault's records (R.1.e, R.2.a): each item's digests at intake and the
//! incident's chain of custody, hashed by [`yunshou_evidence::custody`]. The bytes live in
//! files the server writes once (read-only) before the row is committed; rows and custody
//! entries are never updated or deleted (SQLite triggers refuse it).

use crate::db::Store;
use crate::error::{Error, Result};
use crate::incidents::{clean_text, locked_incident, timeline, Tx};
use crate::scope::TenantScope;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::io::Read;
use std::path::PathBuf;
use yunshou_evidence::custody::CustodyEntry;
use yunshou_evidence::digest::Digests;
use yunshou_evidence::package::{Manifest, ManifestItem};
use yunshou_evidence::signing::PlatformKey;
use yunshou_model::Actor;

/// One item in the vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EvidenceItem {
    /// Identifier (also the file's name in the vault).
    pub id: String,
    /// The incident.
    pub incident_id: String,
    /// file | pcap | screenshot | search.
    pub kind: String,
    /// Original file name.
    pub name: String,
    /// Media type.
    pub media_type: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256 at intake.
    pub sha256: String,
    /// SM3 at intake.
    pub sm3: String,
    /// Who collected it.
    pub collector: String,
    /// When.
    pub collected_at: String,
    /// Where from (host, path, the search that produced it).
    pub source: String,
    /// What it shows.
    pub description: String,
}

/// An item to record, once its bytes are stored.
#[derive(Debug, Clone)]
pub struct NewEvidence {
    /// Identifier chosen before the bytes were written.
    pub id: String,
    /// file | pcap | screenshot | search.
    pub kind: String,
    /// Original file name.
    pub name: String,
    /// Media type.
    pub media_type: String,
    /// Digests taken while the bytes were written.
    pub digests: Digests,
    /// Where from.
    pub source: String,
    /// What it shows.
    pub description: String,
}

const EVIDENCE_COLUMNS: &str = "id, incident_id, kind, name, media_type, size, sha256, sm3, collector, collected_at, source, description";

fn item_from_row(r: &AnyRow) -> Result<EvidenceItem> {
    Ok(EvidenceItem {
        id: r.try_get(0)?,
        incident_id: r.try_get(1)?,
        kind: r.try_get(2)?,
        name: r.try_get(3)?,
        media_type: r.try_get(4)?,
        size: r.try_get(5)?,
        sha256: r.try_get(6)?,
        sm3: r.try_get(7)?,
        collector: r.try_get(8)?,
        collected_at: r.try_get(9)?,
        source: r.try_get(10)?,
        description: r.try_get(11)?,
    })
}

fn entry_from_row(r: &AnyRow) -> Result<CustodyEntry> {
    Ok(CustodyEntry {
        seq: r.try_get::<i64, _>(0)? as u64,
        at: r.try_get(1)?,
        actor: r.try_get(2)?,
        action: r.try_get(3)?,
        evidence_id: r.try_get(4)?,
        detail: r.try_get(5)?,
        prev_hash: r.try_get(6)?,
        hash: r.try_get(7)?,
    })
}

const CUSTODY_COLUMNS: &str = "seq, at, actor, action, evidence_id, detail, prev_hash, hash";

/// Appends to an incident's custody chain inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn append_custody(
    tx: &mut Tx,
    tenant: &str,
    incident: &str,
    at: &str,
    actor: &str,
    action: &str,
    evidence_id: Option<&str>,
    detail: &str,
) -> Result<CustodyEntry> {
    let prev = sqlx::query(&format!(
        "SELECT {CUSTODY_COLUMNS} FROM evidence_custody WHERE incident_id = $1 ORDER BY seq DESC LIMIT 1"
    ))
    .bind(incident)
    .fetch_optional(&mut **tx)
    .await?
    .map(|r| entry_from_row(&r))
    .transpose()?;
    let e = CustodyEntry::next(
        prev.as_ref(),
        at.to_string(),
        actor.to_string(),
        action.to_string(),
        evidence_id.map(str::to_string),
        detail.to_string(),
    );
    sqlx::query(&format!(
        "INSERT INTO evidence_custody (tenant_id, incident_id, {CUSTODY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(tenant)
    .bind(incident)
    .bind(e.seq as i64)
    .bind(&e.at)
    .bind(&e.actor)
    .bind(&e.action)
    .bind(&e.evidence_id)
    .bind(&e.detail)
    .bind(&e.prev_hash)
    .bind(&e.hash)
    .execute(&mut **tx)
    .await?;
    Ok(e)
}

/// The vault's folder for a tenant's incident.
fn vault_dir(store: &Store, tenant: &str, incident: &str) -> Result<PathBuf> {
    let data = store
        .anchor_path
        .as_ref()
        .and_then(|a| a.parent())
        .ok_or_else(|| Error::Invalid("this store has no data directory for evidence".into()))?;
    Ok(data.join("evidence").join(tenant).join(incident))
}

/// What a new item is, before its bytes are read.
#[derive(Debug, Clone)]
pub struct EvidenceIntake {
    /// file | pcap | screenshot | search.
    pub kind: String,
    /// Original file name.
    pub name: String,
    /// Media type.
    pub media_type: String,
    /// Where from.
    pub source: String,
    /// What it shows.
    pub description: String,
}

/// Largest item.
pub const MAX_EVIDENCE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

impl Store {
    /// Takes an item into the vault: streams `content` into a new read-only file while
    /// hashing it (SHA-256 and SM3), then records it with its intake custody entry. If the
    /// record cannot be written the file is removed: nothing half-taken stays behind.
    pub async fn take_evidence(
        &self,
        scope: &TenantScope,
        incident_id: &str,
        intake: EvidenceIntake,
        content: Box<dyn Read + Send>,
        actor: &Actor,
    ) -> Result<EvidenceItem> {
        // Refuse early (archived, missing, another tenant's) before reading a byte.
        let inc = self.incident(scope, incident_id).await?;
        if inc.status == crate::incidents::IncidentStatus::Archived {
            return Err(Error::Conflict(
                "the incident is archived and read-only".into(),
            ));
        }
        let dir = vault_dir(self, scope.tenant_id(), incident_id)?;
        let id = yunshou_model::ids::new_id();
        let path = dir.join(&id);
        let write_path = path.clone();
        let digests = tokio::task::spawn_blocking(move || -> Result<Digests> {
            std::fs::create_dir_all(&dir)?;
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&write_path)?;
            let mut limited = content.take(MAX_EVIDENCE_BYTES + 1);
            let mut out = std::io::BufWriter::new(file);
            let d = yunshou_evidence::digest::copy_and_digest(&mut limited, &mut out)?;
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            let mut perms = file.metadata()?.permissions();
            perms.set_readonly(true);
            std::fs::set_permissions(&write_path, perms)?;
            Ok(d)
        })
        .await
        .map_err(|e| Error::Invalid(format!("evidence intake: {e}")))?;
        let result = match digests {
            Ok(d) if d.size == 0 => Err(Error::Invalid("file: empty".into())),
            Ok(d) if d.size > MAX_EVIDENCE_BYTES => Err(Error::Invalid(format!(
                "file: at most {} GiB",
                MAX_EVIDENCE_BYTES >> 30
            ))),
            Ok(digests) => {
                let new = NewEvidence {
                    id,
                    kind: intake.kind,
                    name: intake.name,
                    media_type: intake.media_type,
                    digests,
                    source: intake.source,
                    description: intake.description,
                };
                self.add_evidence(scope, incident_id, &new, actor).await
            }
            Err(e) => Err(e),
        };
        if result.is_err() {
            let _ = std::fs::remove_file(&path);
        }
        result
    }

    /// Opens an item's bytes (the caller records the view or download in the custody log).
    pub fn open_evidence(&self, scope: &TenantScope, item: &EvidenceItem) -> Result<std::fs::File> {
        Ok(std::fs::File::open(
            vault_dir(self, scope.tenant_id(), &item.incident_id)?.join(&item.id),
        )?)
    }

    /// Writes an incident's evidence package (zip: manifest, items, custody log, SM2
    /// signature) to `out`, after appending the export to the custody log so the package
    /// carries its own export entry.
    pub async fn export_evidence_package(
        &self,
        scope: &TenantScope,
        incident_id: &str,
        key: std::sync::Arc<PlatformKey>,
        out: std::fs::File,
        actor: &Actor,
    ) -> Result<Manifest> {
        let inc = self.incident(scope, incident_id).await?;
        let items = self.evidence(scope, incident_id).await?;
        self.record_custody(
            scope,
            incident_id,
            "export",
            None,
            &format!("package of {} items", items.len()),
            actor,
        )
        .await?;
        let custody = self.custody_log(scope, incident_id).await?;
        let dir = vault_dir(self, scope.tenant_id(), incident_id)?;
        let manifest = Manifest {
            format: yunshou_evidence::package::FORMAT.to_string(),
            tenant: scope.tenant_id().to_string(),
            incident_id: inc.id.clone(),
            incident_title: format!("{} {}", inc.label, inc.title),
            created_at: crate::now_text(),
            created_by: actor.name.clone(),
            items: items
                .iter()
                .map(|i| ManifestItem {
                    id: i.id.clone(),
                    name: i.name.clone(),
                    media_type: i.media_type.clone(),
                    kind: i.kind.clone(),
                    digests: Digests {
                        size: i.size as u64,
                        sha256: i.sha256.clone(),
                        sm3: i.sm3.clone(),
                    },
                    collector: i.collector.clone(),
                    collected_at: i.collected_at.clone(),
                    source: i.source.clone(),
                    description: i.description.clone(),
                })
                .collect(),
            custody: Default::default(),
            signer_public_key: String::new(),
        };
        tokio::task::spawn_blocking(move || {
            let mut open = |item: &ManifestItem| -> std::io::Result<Box<dyn Read>> {
                Ok(Box::new(std::fs::File::open(dir.join(&item.id))?))
            };
            yunshou_evidence::package::write_package(
                std::io::BufWriter::new(out),
                manifest,
                &custody,
                &key,
                &mut open,
            )
        })
        .await
        .map_err(|e| Error::Invalid(format!("evidence export: {e}")))?
        .map_err(|e| Error::Invalid(format!("evidence export: {e}")))
    }

    /// Records an item whose bytes are stored, with its intake custody entry.
    pub(crate) async fn add_evidence(
        &self,
        scope: &TenantScope,
        incident_id: &str,
        new: &NewEvidence,
        actor: &Actor,
    ) -> Result<EvidenceItem> {
        if !["file", "pcap", "screenshot", "search"].contains(&new.kind.as_str()) {
            return Err(Error::Invalid(
                "kind: one of file, pcap, screenshot, search".into(),
            ));
        }
        let name = clean_text("name", &new.name, 255)?;
        if name.is_empty() {
            return Err(Error::Invalid("name: required".into()));
        }
        let source = clean_text("source", &new.source, 2000)?;
        let description = clean_text("description", &new.description, 5000)?;
        let media_type = clean_text("media_type", &new.media_type, 100)?;
        let t = scope.tenant_id();
        let now = crate::now_text();
        let mut w = self.begin_write().await?;
        locked_incident(&mut w.tx, scope, incident_id).await?;
        sqlx::query(&format!(
            "INSERT INTO evidence (tenant_id, created_at, {EVIDENCE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(t)
        .bind(&now)
        .bind(&new.id)
        .bind(incident_id)
        .bind(&new.kind)
        .bind(&name)
        .bind(&media_type)
        .bind(new.digests.size as i64)
        .bind(&new.digests.sha256)
        .bind(&new.digests.sm3)
        .bind(&actor.name)
        .bind(&now)
        .bind(&source)
        .bind(&description)
        .execute(&mut *w.tx)
        .await?;
        let detail = format!(
            "{name} {} bytes sha256={} sm3={}",
            new.digests.size, new.digests.sha256, new.digests.sm3
        );
        append_custody(
            &mut w.tx,
            t,
            incident_id,
            &now,
            &actor.name,
            "intake",
            Some(&new.id),
            &detail,
        )
        .await?;
        timeline(
            &mut w.tx,
            t,
            incident_id,
            &now,
            &actor.name,
            "evidence",
            &name,
        )
        .await?;
        let mut entry = actor.entry(Some(t), "evidence.intake", "evidence", Some(&new.id));
        entry.after = Some(detail.into());
        w.commit(entry).await?;
        self.evidence_item(scope, incident_id, &new.id).await
    }

    /// An incident's evidence, in intake order.
    pub async fn evidence(
        &self,
        scope: &TenantScope,
        incident_id: &str,
    ) -> Result<Vec<EvidenceItem>> {
        sqlx::query(&format!(
            "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE tenant_id = $1 AND incident_id = $2 ORDER BY created_at, id"
        ))
        .bind(scope.tenant_id())
        .bind(incident_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(item_from_row)
        .collect()
    }

    /// One item.
    pub async fn evidence_item(
        &self,
        scope: &TenantScope,
        incident_id: &str,
        id: &str,
    ) -> Result<EvidenceItem> {
        let r = sqlx::query(&format!(
            "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE tenant_id = $1 AND incident_id = $2 AND id = $3"
        ))
        .bind(scope.tenant_id())
        .bind(incident_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        item_from_row(&r)
    }

    /// Appends a view, download, export or transfer to the custody chain (archived incidents
    /// included: looking at archived evidence is custody too).
    pub async fn record_custody(
        &self,
        scope: &TenantScope,
        incident_id: &str,
        action: &str,
        evidence_id: Option<&str>,
        detail: &str,
        actor: &Actor,
    ) -> Result<CustodyEntry> {
        if !["view", "download", "export", "transfer"].contains(&action) {
            return Err(Error::Invalid(
                "action: one of view, download, export, transfer".into(),
            ));
        }
        let detail = clean_text("detail", detail, 2000)?;
        let t = scope.tenant_id();
        self.incident(scope, incident_id).await?;
        let mut w = self.begin_write().await?;
        let e = append_custody(
            &mut w.tx,
            t,
            incident_id,
            &crate::now_text(),
            &actor.name,
            action,
            evidence_id,
            &detail,
        )
        .await?;
        let mut entry = actor.entry(
            Some(t),
            &format!("evidence.{action}"),
            "incident",
            Some(incident_id),
        );
        entry.after = Some(format!("custody #{} {}", e.seq, evidence_id.unwrap_or("")).into());
        w.commit(entry).await?;
        Ok(e)
    }

    /// An incident's custody chain, in order.
    pub async fn custody_log(
        &self,
        scope: &TenantScope,
        incident_id: &str,
    ) -> Result<Vec<CustodyEntry>> {
        sqlx::query(&format!(
            "SELECT {CUSTODY_COLUMNS} FROM evidence_custody WHERE tenant_id = $1 AND incident_id = $2 ORDER BY seq"
        ))
        .bind(scope.tenant_id())
        .bind(incident_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(entry_from_row)
        .collect()
    }
}
