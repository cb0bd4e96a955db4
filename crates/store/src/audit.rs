//! The append-only, SM3 hash-chained audit trail.
//!
//! Each row's `hash` is SM3 over its fields and the previous row's hash; `seq` runs from 1
//! without gaps. The head (last `seq` and `hash`) is mirrored in an anchor file outside the
//! database, so deleting rows from the end is caught as well as editing, deleting or
//! inserting rows anywhere else.

use crate::crypto::sm3_hex;
use crate::db::Store;
use crate::error::{Error, Result};
use crate::{Page, TenantScope};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::path::Path;
use yunshou_model::{ids, AuditEntry, AuditRecord, Outcome, GENESIS_HASH};

const COLUMNS: &str = "seq, id, at, tenant_id, actor_id, actor_name, action, object_type, \
                       object_id, before_json, after_json, source_ip, outcome, prev_hash, hash";

fn from_row(r: &AnyRow) -> Result<AuditRecord, sqlx::Error> {
    Ok(AuditRecord {
        seq: r.try_get(0)?,
        id: r.try_get(1)?,
        at: r.try_get(2)?,
        tenant_id: r.try_get(3)?,
        actor_id: r.try_get(4)?,
        actor_name: r.try_get(5)?,
        action: r.try_get(6)?,
        object_type: r.try_get(7)?,
        object_id: r.try_get(8)?,
        before: r.try_get(9)?,
        after: r.try_get(10)?,
        source_ip: r.try_get(11)?,
        outcome: r.try_get(12)?,
        prev_hash: r.try_get(13)?,
        hash: r.try_get(14)?,
    })
}

/// Appends one record inside an open transaction. The caller holds the writer lock.
pub(crate) async fn append(conn: &mut AnyConnection, entry: AuditEntry) -> Result<AuditRecord> {
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let (seq, prev_hash) = match last {
        Some((s, h)) => (s + 1, h),
        None => (1, GENESIS_HASH.to_string()),
    };
    let json = |v: Option<serde_json::Value>| v.map(|v| v.to_string());
    let mut record = AuditRecord {
        seq,
        id: ids::new_id(),
        at: crate::now_text(),
        tenant_id: entry.tenant_id,
        actor_id: entry.actor_id,
        actor_name: entry.actor_name,
        action: entry.action,
        object_type: entry.object_type,
        object_id: entry.object_id,
        before: json(entry.before),
        after: json(entry.after),
        source_ip: entry.source_ip,
        outcome: entry
            .outcome
            .unwrap_or(Outcome::Success)
            .as_str()
            .to_string(),
        prev_hash,
        hash: String::new(),
    };
    record.hash = sm3_hex(&record.canonical_bytes());
    sqlx::query(&format!(
        "INSERT INTO audit_log ({COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)"
    ))
    .bind(record.seq)
    .bind(&record.id)
    .bind(&record.at)
    .bind(&record.tenant_id)
    .bind(&record.actor_id)
    .bind(&record.actor_name)
    .bind(&record.action)
    .bind(&record.object_type)
    .bind(&record.object_id)
    .bind(&record.before)
    .bind(&record.after)
    .bind(&record.source_ip)
    .bind(&record.outcome)
    .bind(&record.prev_hash)
    .bind(&record.hash)
    .execute(&mut *conn)
    .await?;
    Ok(record)
}

/// The chain's head as mirrored outside the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Anchor {
    seq: i64,
    hash: String,
}

/// Writes the anchor atomically (temporary file, fsync, rename).
pub(crate) fn write_anchor(path: &Path, seq: i64, hash: &str) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("anchor.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(
        serde_json::to_string(&Anchor {
            seq,
            hash: hash.to_string(),
        })
        .unwrap()
        .as_bytes(),
    )?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn read_anchor(path: &Path) -> Result<Option<Anchor>> {
    match std::fs::read_to_string(path) {
        Ok(s) => serde_json::from_str(&s)
            .map(Some)
            .map_err(|e| Error::Corrupt(format!("audit anchor {}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The result of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Rows checked.
    pub rows: i64,
    /// The first row found wrong (its `seq`, or where it should have been) and why.
    pub first_bad: Option<(i64, String)>,
}

impl VerifyReport {
    /// True when every row and the anchor agree.
    pub fn is_intact(&self) -> bool {
        self.first_bad.is_none()
    }
}

/// Filters for browsing the audit trail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Actor name contains this (case-insensitive for ASCII).
    pub actor: Option<String>,
    /// Action starts with this (e.g. `auth.` or `user.create`).
    pub action: Option<String>,
    /// `success` or `failure`.
    pub outcome: Option<String>,
    /// At or after this time (RFC 3339).
    pub from: Option<String>,
    /// Before this time (RFC 3339).
    pub to: Option<String>,
}

impl AuditFilter {
    /// The WHERE clause after the tenant condition, and its arguments from `$2` on.
    fn clause(&self) -> (String, Vec<String>) {
        let mut sql = String::new();
        let mut args = Vec::new();
        let mut add = |cond: &str, v: String| {
            args.push(v);
            sql.push_str(&cond.replace('?', &format!("${}", args.len() + 1)));
        };
        if let Some(a) = &self.actor {
            add(
                " AND LOWER(actor_name) LIKE ? ESCAPE '\\'",
                format!("%{}%", like_escape(&a.to_lowercase())),
            );
        }
        if let Some(a) = &self.action {
            add(
                " AND action LIKE ? ESCAPE '\\'",
                format!("{}%", like_escape(a)),
            );
        }
        if let Some(o) = &self.outcome {
            add(" AND outcome = ?", o.clone());
        }
        if let Some(f) = &self.from {
            add(" AND at >= ?", f.clone());
        }
        if let Some(t) = &self.to {
            add(" AND at < ?", t.clone());
        }
        (sql, args)
    }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl Store {
    /// The tenant's audit records, newest first, and how many match in all.
    pub async fn audit_list(
        &self,
        scope: &TenantScope,
        filter: &AuditFilter,
        page: Page,
    ) -> Result<(Vec<AuditRecord>, i64)> {
        let (cond, args) = filter.clause();
        let n = args.len();
        let list_sql = format!(
            "SELECT {COLUMNS} FROM audit_log WHERE tenant_id = $1{cond} ORDER BY seq DESC LIMIT ${} OFFSET ${}",
            n + 2,
            n + 3
        );
        let mut q = sqlx::query(&list_sql).bind(scope.tenant_id());
        for a in &args {
            q = q.bind(a);
        }
        let rows = q
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(&self.pool)
            .await?;
        let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        let count_sql = format!("SELECT COUNT(*) FROM audit_log WHERE tenant_id = $1{cond}");
        let mut q = sqlx::query_scalar(&count_sql).bind(scope.tenant_id());
        for a in &args {
            q = q.bind(a);
        }
        let total: i64 = q.fetch_one(&self.pool).await?;
        Ok((items, total))
    }

    /// Up to `limit` matching records of the tenant with `seq` above `after_seq`, oldest
    /// first: the pages of an export, read by key so a long export never rescans.
    pub async fn audit_export_page(
        &self,
        scope: &TenantScope,
        filter: &AuditFilter,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditRecord>> {
        let (cond, args) = filter.clause();
        let n = args.len();
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log WHERE tenant_id = $1{cond} AND seq > ${} ORDER BY seq ASC LIMIT ${}",
            n + 2,
            n + 3
        );
        let mut q = sqlx::query(&sql).bind(scope.tenant_id());
        for a in &args {
            q = q.bind(a);
        }
        let rows = q.bind(after_seq).bind(limit).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?)
    }

    /// One record of the tenant by id.
    pub async fn audit_get(&self, scope: &TenantScope, id: &str) -> Result<AuditRecord> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit_log WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        Ok(from_row(&row)?)
    }

    /// Records per UTC day of the tenant since `since` (RFC 3339), split by outcome:
    /// `(day, successes, failures)`.
    pub async fn audit_daily_counts(
        &self,
        scope: &TenantScope,
        since: &str,
    ) -> Result<Vec<(String, i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT SUBSTR(at, 1, 10) AS day, \
                    SUM(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END), \
                    SUM(CASE WHEN outcome = 'failure' THEN 1 ELSE 0 END) \
             FROM audit_log WHERE tenant_id = $1 AND at >= $2 GROUP BY SUBSTR(at, 1, 10) ORDER BY day",
        )
        .bind(scope.tenant_id())
        .bind(since)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Checks every row of the chain and the anchor. Reads the whole table in `seq` order.
    pub async fn audit_verify(&self) -> Result<VerifyReport> {
        use futures_util::StreamExt;
        // The anchor and the chain's length are read together under the writer lock: a
        // commit moves both (row, then anchor) while holding it, so a chain growing during
        // the check is never mistaken for rows added behind the product's back.
        let (anchor, bound) = {
            let _writer = self.writer.lock().await;
            let anchor = match &self.anchor_path {
                Some(p) => read_anchor(p)?,
                None => None,
            };
            let bound: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_log")
                .fetch_one(&self.pool)
                .await?;
            (anchor, bound.unwrap_or(0))
        };
        let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE seq <= $1 ORDER BY seq ASC");
        let mut rows = sqlx::query(&sql).bind(bound).fetch(&self.pool);
        let mut expected_seq = 1i64;
        let mut prev = GENESIS_HASH.to_string();
        let mut count = 0i64;
        let mut hash_at: Option<(i64, String)> = None;
        let bad = |rows: i64, seq: i64, why: String| {
            Ok(VerifyReport {
                rows,
                first_bad: Some((seq, why)),
            })
        };
        while let Some(row) = rows.next().await {
            let rec = from_row(&row?)?;
            count += 1;
            if rec.seq != expected_seq {
                return bad(
                    count,
                    expected_seq,
                    if rec.seq > expected_seq {
                        format!(
                            "row {expected_seq} is missing (next row is {}): rows were deleted",
                            rec.seq
                        )
                    } else {
                        format!("row {} is out of order", rec.seq)
                    },
                );
            }
            if rec.prev_hash != prev {
                return bad(count, rec.seq, "prev_hash does not match the previous row: a row was inserted, deleted or altered".into());
            }
            let computed = sm3_hex(&rec.canonical_bytes());
            if computed != rec.hash {
                return bad(
                    count,
                    rec.seq,
                    "hash does not match the row's contents: the row was altered".into(),
                );
            }
            if let Some(a) = &anchor {
                if a.seq == rec.seq {
                    hash_at = Some((rec.seq, rec.hash.clone()));
                }
            }
            prev = rec.hash;
            expected_seq += 1;
        }
        let last = expected_seq - 1;
        if let Some(a) = anchor {
            if last < a.seq {
                return bad(count, last + 1, format!("the chain ends at row {last} but row {} was anchored: rows were deleted from the end", a.seq));
            }
            if last > a.seq {
                return bad(
                    count,
                    a.seq + 1,
                    format!(
                        "rows {}..{last} were added after the anchored head without the product",
                        a.seq + 1
                    ),
                );
            }
            match hash_at {
                Some((_, h)) if h == a.hash => {}
                _ => {
                    return bad(
                        count,
                        a.seq,
                        "the anchored head's hash does not match the row: the chain was rewritten"
                            .into(),
                    )
                }
            }
        } else if last > 0 && self.anchor_path.is_some() {
            return bad(count, last, "the audit anchor file is missing".into());
        }
        Ok(VerifyReport {
            rows: count,
            first_bad: None,
        })
    }

    /// At start-up: if a crash came between a commit and its anchor update, the database holds
    /// rows past the anchor. Re-anchor them and record that this happened, visibly.
    pub async fn audit_recover_anchor(&self) -> Result<Option<(i64, i64)>> {
        let Some(path) = self.anchor_path.clone() else {
            return Ok(None);
        };
        let anchor = read_anchor(&path)?;
        let last: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&self.pool)
                .await?;
        let Some((last_seq, last_hash)) = last else {
            return Ok(None);
        };
        let from = match &anchor {
            Some(a) if a.seq >= last_seq => return Ok(None),
            Some(a) => a.seq + 1,
            None => 1,
        };
        write_anchor(&path, last_seq, &last_hash)?;
        self.audit(AuditEntry {
            actor_name: "system".into(),
            action: "audit.anchor_recovered".into(),
            object_type: "audit_log".into(),
            after: Some(serde_json::json!({ "unanchored_from": from, "unanchored_to": last_seq })),
            ..Default::default()
        })
        .await?;
        Ok(Some((from, last_seq)))
    }
}
