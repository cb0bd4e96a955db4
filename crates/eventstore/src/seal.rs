//! Sealing (MO.1.d, MO.4.d): once a day is over, its partition is closed and the SM3 digest of
//! every file is appended to the tenant's `manifest.jsonl`, each entry chained to the one
//! before. [`EventStore::verify`] recomputes everything and names what was changed, removed
//! or added. Retention removes old partitions and records that in the chain too, so a
//! deletion by retention is told apart from a deletion by someone else.

use crate::{EventStore, PartitionKey, Result};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sm3::{Digest, Sm3};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// The chain's first `prev`.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One line of a tenant's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// `sealed` or `retired`.
    pub kind: String,
    /// The partition's day.
    pub day: String,
    /// File name → SM3 (hex), for `sealed`.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Events in the partition, for `sealed`.
    #[serde(default)]
    pub events: u64,
    /// When, RFC 3339.
    pub at: String,
    /// Hash of the previous entry.
    pub prev: String,
    /// SM3 over this entry's canonical content and `prev`.
    pub hash: String,
}

impl Entry {
    fn compute_hash(&self) -> String {
        let files: Vec<String> = self.files.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let canonical = format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            self.prev,
            self.kind,
            self.day,
            self.events,
            self.at,
            files.join("\n")
        );
        hex::encode(Sm3::digest(canonical.as_bytes()))
    }
}

fn manifest_path(root: &Path, tenant: &str) -> std::path::PathBuf {
    root.join(tenant).join("manifest.jsonl")
}

/// The tenant's manifest entries, in order (an unreadable line is reported by `verify`).
pub fn entries(root: &Path, tenant: &str) -> Result<Vec<std::result::Result<Entry, String>>> {
    let path = manifest_path(root, tenant);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(vec![]);
    };
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Entry>(l).map_err(|e| e.to_string()))
        .collect())
}

/// True when the partition's day was sealed (and so takes no more writes).
pub fn is_sealed(root: &Path, key: &PartitionKey) -> Result<bool> {
    let day = key.day.format("%Y-%m-%d").to_string();
    Ok(entries(root, &key.tenant)?
        .into_iter()
        .flatten()
        .any(|e| e.day == day))
}

/// The last sealed or retired day of a tenant.
pub fn last_closed_day(root: &Path, tenant: &str) -> Result<Option<NaiveDate>> {
    Ok(entries(root, tenant)?
        .into_iter()
        .flatten()
        .filter_map(|e| NaiveDate::parse_from_str(&e.day, "%Y-%m-%d").ok())
        .max())
}

fn is_index_file(name: &str) -> bool {
    !name.starts_with(".tantivy-") || name == ".managed.json"
}

fn digest_dir(dir: &Path) -> Result<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().to_string();
        if !e.file_type()?.is_file() || !is_index_file(&name) {
            continue;
        }
        let mut h = Sm3::new();
        let mut f = std::fs::File::open(e.path())?;
        std::io::copy(&mut f, &mut h)?;
        files.insert(name, hex::encode(h.finalize()));
    }
    Ok(files)
}

fn append(root: &Path, tenant: &str, mut entry: Entry) -> Result<Entry> {
    let prev = entries(root, tenant)?
        .into_iter()
        .flatten()
        .last()
        .map(|e| e.hash)
        .unwrap_or_else(|| GENESIS.to_string());
    entry.prev = prev;
    entry.hash = entry.compute_hash();
    let path = manifest_path(root, tenant);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    writeln!(
        f,
        "{}",
        serde_json::to_string(&entry).expect("entry serialises")
    )?;
    f.sync_all()?;
    Ok(entry)
}

/// What verification found for one tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Sealed partitions checked.
    pub sealed: usize,
    /// Problems, each naming the partition and file.
    pub problems: Vec<String>,
}

impl EventStore {
    /// Tenants with events.
    pub fn tenants(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(self.root())? {
            let e = e?;
            if e.file_type()?.is_dir() {
                out.push(e.file_name().to_string_lossy().to_string());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Seals every unsealed partition of `tenant` whose day is before `before`.
    pub fn seal_before(&self, tenant: &str, before: NaiveDate) -> Result<Vec<NaiveDate>> {
        let _gate = self.gate.lock().expect("gate");
        self.seal_before_gated(tenant, before)
    }

    fn seal_before_gated(&self, tenant: &str, before: NaiveDate) -> Result<Vec<NaiveDate>> {
        self.commit()?;
        let mut sealed = Vec::new();
        for day in self.partitions(tenant)? {
            let key = PartitionKey {
                tenant: tenant.into(),
                day,
            };
            if day >= before || is_sealed(self.root(), &key)? {
                continue;
            }
            let events = self
                .partition(&key, false)?
                .map(|p| p.committed.lock().expect("mark").count)
                .unwrap_or(0);
            self.forget(&key)?;
            let files = digest_dir(&key.dir(self.root()))?;
            append(
                self.root(),
                tenant,
                Entry {
                    kind: "sealed".into(),
                    day: day.format("%Y-%m-%d").to_string(),
                    files,
                    events,
                    at: chrono::Utc::now().to_rfc3339(),
                    prev: String::new(),
                    hash: String::new(),
                },
            )?;
            sealed.push(day);
        }
        Ok(sealed)
    }

    /// Removes `tenant`'s partitions whose day is before `before` (retention), recording each
    /// removal in the chain. Unsealed ones are sealed first, so the chain shows what existed.
    pub fn retire_before(&self, tenant: &str, before: NaiveDate) -> Result<Vec<NaiveDate>> {
        let _gate = self.gate.lock().expect("gate");
        self.seal_before_gated(tenant, before)?;
        let mut retired = Vec::new();
        for day in self.partitions(tenant)? {
            if day >= before {
                continue;
            }
            let key = PartitionKey {
                tenant: tenant.into(),
                day,
            };
            self.forget(&key)?;
            std::fs::remove_dir_all(key.dir(self.root()))?;
            append(
                self.root(),
                tenant,
                Entry {
                    kind: "retired".into(),
                    day: day.format("%Y-%m-%d").to_string(),
                    files: BTreeMap::new(),
                    events: 0,
                    at: chrono::Utc::now().to_rfc3339(),
                    prev: String::new(),
                    hash: String::new(),
                },
            )?;
            retired.push(day);
        }
        Ok(retired)
    }

    /// Recomputes a tenant's seal chain and every sealed partition's files.
    pub fn verify(&self, tenant: &str) -> Result<Report> {
        let mut report = Report::default();
        let mut prev = GENESIS.to_string();
        let mut sealed: BTreeMap<String, Entry> = BTreeMap::new();
        for (i, e) in entries(self.root(), tenant)?.into_iter().enumerate() {
            let e = match e {
                Ok(e) => e,
                Err(err) => {
                    report.problems.push(format!(
                        "{tenant}: manifest line {} unreadable: {err}",
                        i + 1
                    ));
                    continue;
                }
            };
            if e.prev != prev || e.hash != e.compute_hash() {
                report.problems.push(format!(
                    "{tenant}: manifest line {} ({}) breaks the chain",
                    i + 1,
                    e.day
                ));
            }
            prev = e.hash.clone();
            if e.kind == "retired" {
                sealed.remove(&e.day);
            } else {
                sealed.insert(e.day.clone(), e);
            }
        }
        for (day, e) in &sealed {
            report.sealed += 1;
            let dir = self.root().join(tenant).join(day);
            if !dir.exists() {
                report
                    .problems
                    .push(format!("{tenant}/{day}: partition removed"));
                continue;
            }
            let now = digest_dir(&dir)?;
            for (name, digest) in &e.files {
                match now.get(name) {
                    None => report
                        .problems
                        .push(format!("{tenant}/{day}/{name}: file removed")),
                    Some(d) if d != digest => report
                        .problems
                        .push(format!("{tenant}/{day}/{name}: file changed")),
                    _ => {}
                }
            }
            for name in now.keys() {
                if !e.files.contains_key(name) {
                    report
                        .problems
                        .push(format!("{tenant}/{day}/{name}: file added"));
                }
            }
        }
        // A partition on disk at or before the last closed day that the chain does not know.
        if let Some(last) = last_closed_day(self.root(), tenant)? {
            for day in self.partitions(tenant)? {
                let name = day.format("%Y-%m-%d").to_string();
                if day <= last && !sealed.contains_key(&name) {
                    report
                        .problems
                        .push(format!("{tenant}/{name}: partition added after sealing"));
                }
            }
        }
        Ok(report)
    }
}
