//! Recording the pipeline's detections as alerts (MO.2.a): suppressed, folded into an open
//! alert of the same rule and entity, or raised.
//!
//! A flush carries hundreds of detections and every statement is a hand-off to the database
//! thread, so a batch is read and written a few hundred rows per statement: the open alerts
//! its detections may fold into are read in one query per chunk, folded in memory in the
//! batch's order (a later detection folds into an alert an earlier one raised, as if they had
//! been recorded one by one), then written back as multi-row inserts and updates. An alert's
//! events live in a table of their own (`alert_events`): a busy alert's count moves on every
//! flush, and SQLite rewrites the whole row for any update, events and all.

use crate::alerts::{
    attack_from_tags, NewDetection, NewTrigger, RecordOutcome, Severity, MAX_ALERT_EVENTS,
};
use crate::batch::{bind_rows, value_rows, Batch, Val, BATCH_ROWS};
use crate::db::Store;
use crate::error::Result;
use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use sqlx::Row;
use std::collections::HashMap;
use yunshou_model::{ids, Actor};

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// (rule id, entity key): what an alert is deduplicated by.
type DedupKey = (String, String);

const ALERT_INSERT: &[&str] = &[
    "id",
    "tenant_id",
    "rule_id",
    "title",
    "kind",
    "severity",
    "severity_rank",
    "rule_author",
    "tactics",
    "techniques",
    "entity_key",
    "entities",
    "entity_text",
    "count",
    "first_seen",
    "last_seen",
    "status",
    "created_at",
    "updated_at",
];

/// An alert a detection of the batch may fold into, as the batch leaves it.
struct OpenAlert {
    id: String,
    count: i64,
    first_seen: String,
    last_seen: String,
    /// Its events, parsed once the batch adds to them (`None`: as stored, untouched).
    events: Option<Vec<Box<RawValue>>>,
    /// The stored events text, while they may still be added to (`count` below the limit).
    stored_events: Option<String>,
    /// Raised by this batch (inserted; else a stored alert, updated when changed).
    raised: bool,
    changed: bool,
}

impl OpenAlert {
    /// Folds a detection in, as recording it on its own would.
    fn fold(&mut self, d: &NewDetection, time: &str, last: &str) {
        // Once an alert holds its share of events only the count moves.
        if (self.count as usize) < MAX_ALERT_EVENTS && !d.events.is_empty() {
            let events = match self.events.take() {
                Some(e) => e,
                None => serde_json::from_str(self.stored_events.as_deref().unwrap_or("[]"))
                    .unwrap_or_default(),
            };
            self.events = Some(with_triggers(events, &d.events));
        }
        self.count += d.count;
        if time < self.first_seen.as_str() {
            self.first_seen = time.to_string();
        }
        if last > self.last_seen.as_str() {
            self.last_seen = last.to_string();
        }
        self.changed = true;
    }

    fn events_text(&self) -> Option<String> {
        self.events
            .as_ref()
            .map(|e| serde_json::to_string(e).expect("events serialise"))
    }
}

/// `events` with as many of `triggers` as the alert has room for.
fn with_triggers(mut events: Vec<Box<RawValue>>, triggers: &[NewTrigger]) -> Vec<Box<RawValue>> {
    let room = MAX_ALERT_EVENTS.saturating_sub(events.len());
    for t in triggers.iter().take(room) {
        events.push(serde_json::value::to_raw_value(t).expect("events serialise"));
    }
    events
}

impl Store {
    /// Records a batch of detections for a tenant: each is dropped if a suppression covers
    /// it, folded into an open alert of the same rule and entity last seen within
    /// `dedup_window`, or raised as a new alert (queuing the tenant's webhooks).
    ///
    /// `upto` is the highest write-ahead log sequence the pipeline had inspected; detections
    /// from events at or below the previous call's `upto` were recorded before (a replay
    /// after a crash) and are skipped. Detections with `seq` 0 (not from the pipeline) are
    /// always recorded. This is the pipeline's own work, not a user's: the tenant comes from
    /// the events.
    pub async fn record_detections(
        &self,
        tenant_id: &str,
        batch: &[NewDetection],
        upto: u64,
        dedup_window: chrono::Duration,
    ) -> Result<RecordOutcome> {
        let mut out = RecordOutcome::default();
        let mut w = self.begin_write().await?;
        let now = crate::now_text();
        let recorded: i64 =
            sqlx::query("SELECT upto FROM detection_watermarks WHERE tenant_id = $1")
                .bind(tenant_id)
                .fetch_optional(&mut *w.tx)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?
                .unwrap_or(0);
        let fresh: Vec<&NewDetection> = batch
            .iter()
            .filter(|d| d.seq == 0 || d.seq as i64 > recorded)
            .collect();
        out.replayed = batch.len() - fresh.len();
        if upto as i64 > recorded {
            sqlx::query(
                "INSERT INTO detection_watermarks (tenant_id, upto, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (tenant_id) DO UPDATE SET upto = excluded.upto, updated_at = excluded.updated_at",
            )
            .bind(tenant_id)
            .bind(upto as i64)
            .bind(&now)
            .execute(&mut *w.tx)
            .await?;
        }
        let suppressions = active_suppressions(&mut w.tx, tenant_id, &now).await?;
        let hooks = webhooks_of(&mut w.tx, tenant_id).await?;
        let mut kept = vec![];
        for (d, last_time, merged) in coalesce(fresh, dedup_window) {
            if let Some(s) = suppressions.iter().find(|s| {
                s.rule_id.as_deref().is_none_or(|r| r == d.rule_id)
                    && d.entities.has(&s.entity, &s.value)
            }) {
                sqlx::query(
                    "UPDATE alert_suppressions SET suppressed = suppressed + $2 WHERE id = $1",
                )
                .bind(&s.id)
                .bind(d.count)
                .execute(&mut *w.tx)
                .await?;
                out.suppressed += merged;
                continue;
            }
            kept.push((d, last_time, merged));
        }

        // Every alert the batch touches, and which of them each rule and entity now folds
        // into (one raised by the batch may take over from a stored one that went quiet).
        let mut alerts: Vec<OpenAlert> = vec![];
        let mut latest: HashMap<DedupKey, usize> = HashMap::new();
        for (key, alert) in open_alerts(&mut w.tx, tenant_id, &kept, dedup_window).await? {
            latest.insert(key, alerts.len());
            alerts.push(alert);
        }
        let mut raised: Vec<(usize, &NewDetection)> = vec![];
        for (d, last_time, merged) in &kept {
            let time = crate::time_text(d.time);
            let last_text = crate::time_text(*last_time);
            let since = crate::time_text(d.time - dedup_window);
            let key = (d.rule_id.clone(), d.entities.key());
            if let Some(alert) = latest
                .get(&key)
                .map(|i| &mut alerts[*i])
                .filter(|a| a.last_seen >= since)
            {
                alert.fold(d, &time, &last_text);
                out.folded += merged;
                continue;
            }
            let alert = OpenAlert {
                id: ids::new_id(),
                count: d.count,
                first_seen: time,
                last_seen: last_text,
                events: Some(with_triggers(vec![], &d.events)),
                stored_events: None,
                raised: true,
                changed: true,
            };
            let payload = alert_new_payload(tenant_id, &alert, d);
            for (url, min) in &hooks {
                if d.severity >= *min {
                    crate::outbox::enqueue(&mut w.tx, tenant_id, "alert.new", url, &payload)
                        .await?;
                }
            }
            raised.push((alerts.len(), d));
            latest.insert(key, alerts.len());
            alerts.push(alert);
            out.raised += 1;
            out.folded += merged - 1;
        }

        let mut inserts = Batch::new("alerts", ALERT_INSERT);
        for (at, d) in &raised {
            inserts
                .rows
                .push(insert_row(tenant_id, &alerts[*at], d, &now));
            if inserts.rows.len() == BATCH_ROWS {
                inserts.flush(&mut w.tx).await?;
            }
        }
        inserts.flush(&mut w.tx).await?;
        let raised_ids: Vec<&str> = raised
            .iter()
            .map(|(at, _)| alerts[*at].id.as_str())
            .collect();
        let updates: Vec<Vec<Val>> = alerts
            .iter()
            .filter(|a| a.changed && !a.raised)
            .map(|a| {
                vec![
                    Val::Text(Some(a.id.clone())),
                    Val::Int(Some(a.count)),
                    Val::Text(Some(a.first_seen.clone())),
                    Val::Text(Some(a.last_seen.clone())),
                ]
            })
            .collect();
        update_alerts(&mut w.tx, updates, &now).await?;
        // Events are written as an alert is raised and as it takes more in; a full alert's
        // stay as they are (`events` is `None`).
        let mut events = Batch::new("alert_events", &["alert_id", "events"]);
        events.upsert = " ON CONFLICT (alert_id) DO UPDATE SET events = excluded.events";
        for a in alerts.iter().filter(|a| a.changed) {
            if let Some(text) = a.events_text() {
                events
                    .rows
                    .push(vec![Val::Text(Some(a.id.clone())), Val::Text(Some(text))]);
            }
            if events.rows.len() == BATCH_ROWS {
                events.flush(&mut w.tx).await?;
            }
        }
        events.flush(&mut w.tx).await?;

        let actor = Actor {
            user_id: None,
            name: "system:detection".into(),
            source_ip: None,
        };
        let upto_text = upto.to_string();
        let mut entry = actor.entry(
            Some(tenant_id),
            "alerts.record",
            "alert_batch",
            Some(&upto_text),
        );
        entry.after = Some(serde_json::json!({
            "raised": raised_ids, "folded": out.folded, "suppressed": out.suppressed,
        }));
        w.commit(entry).await?;
        Ok(out)
    }
}

/// The `alert.new` webhook message for an alert as it is raised.
fn alert_new_payload(tenant_id: &str, alert: &OpenAlert, d: &NewDetection) -> serde_json::Value {
    let (tactics, techniques) = attack_from_tags(&d.tags);
    serde_json::json!({
        "topic": "alert.new",
        "tenant_id": tenant_id,
        "alert": {
            "id": alert.id, "rule_id": d.rule_id, "title": d.title, "severity": d.severity,
            "rule_author": d.author, "tactics": tactics, "techniques": techniques,
            "entities": d.entities, "count": d.count, "first_seen": alert.first_seen,
        },
    })
}

fn insert_row(tenant_id: &str, alert: &OpenAlert, d: &NewDetection, now: &str) -> Vec<Val> {
    let (tactics, techniques) = attack_from_tags(&d.tags);
    let text = |s: &str| Val::Text(Some(s.to_string()));
    vec![
        text(&alert.id),
        text(tenant_id),
        text(&d.rule_id),
        text(&d.title),
        text(d.kind.as_str()),
        text(d.severity.as_str()),
        Val::Int(Some(d.severity.rank())),
        Val::Text(d.author.clone()),
        json(&tactics),
        json(&techniques),
        Val::Text(Some(d.entities.key())),
        json(&d.entities),
        Val::Text(Some(d.entities.text())),
        Val::Int(Some(alert.count)),
        text(&alert.first_seen),
        text(&alert.last_seen),
        text("new"),
        text(now),
        text(now),
    ]
}

/// A value written to a text column as JSON.
fn json<T: serde::Serialize>(v: &T) -> Val {
    Val::Text(Some(
        serde_json::to_string(v).expect("plain data serialises"),
    ))
}

/// The open alerts (not closed, last seen within the window of the earliest detection) of
/// each rule and entity in `kept`: the one last seen most recently per pair, as the
/// detections would fold into it.
async fn open_alerts(
    tx: &mut Tx,
    tenant_id: &str,
    kept: &[(NewDetection, DateTime<Utc>, usize)],
    window: chrono::Duration,
) -> Result<HashMap<DedupKey, OpenAlert>> {
    let mut open: HashMap<DedupKey, OpenAlert> = HashMap::new();
    let Some(earliest) = kept.iter().map(|(d, ..)| d.time).min() else {
        return Ok(open);
    };
    let since = crate::time_text(earliest - window);
    let mut pairs: Vec<DedupKey> = kept
        .iter()
        .map(|(d, ..)| (d.rule_id.clone(), d.entities.key()))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    for chunk in pairs.chunks(BATCH_ROWS) {
        // Each pair looked up in the dedup index (tenant, rule, entity, status); the `+`
        // keeps SQLite from walking the tenant's alerts by time instead.
        let sql = format!(
            "WITH k (rule_id, entity_key) AS (VALUES {}) \
             SELECT a.id, a.rule_id, a.entity_key, a.count, a.first_seen, a.last_seen, \
             CASE WHEN a.count < ? THEN (SELECT e.events FROM alert_events e WHERE e.alert_id = a.id) END \
             FROM k CROSS JOIN alerts a ON a.tenant_id = ? AND a.rule_id = k.rule_id \
             AND a.entity_key = k.entity_key \
             WHERE a.status <> 'closed' AND +a.last_seen >= ?",
            value_rows(chunk.len(), 2)
        );
        let pairs = chunk
            .iter()
            .map(|(rule, key)| vec![Val::Text(Some(rule.clone())), Val::Text(Some(key.clone()))]);
        let rows = bind_rows(sqlx::query(&sql), pairs)
            .bind(MAX_ALERT_EVENTS as i64)
            .bind(tenant_id)
            .bind(&since)
            .fetch_all(&mut **tx)
            .await?;
        for r in rows {
            let alert = OpenAlert {
                id: r.try_get(0)?,
                count: r.try_get(3)?,
                first_seen: r.try_get(4)?,
                last_seen: r.try_get(5)?,
                events: None,
                stored_events: r.try_get(6)?,
                raised: false,
                changed: false,
            };
            let key = (r.try_get(1)?, r.try_get(2)?);
            match open.get(&key) {
                Some(seen) if seen.last_seen >= alert.last_seen => {}
                _ => {
                    open.insert(key, alert);
                }
            }
        }
    }
    Ok(open)
}

/// Writes folded alerts back: (id, count, first, last seen).
async fn update_alerts(tx: &mut Tx, rows: Vec<Vec<Val>>, now: &str) -> Result<()> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Val>> = rows.by_ref().take(BATCH_ROWS).collect();
        let sql = format!(
            "UPDATE alerts SET count = v.column2, first_seen = v.column3, \
             last_seen = v.column4, updated_at = ? \
             FROM (VALUES {}) AS v WHERE alerts.id = v.column1",
            value_rows(chunk.len(), 4)
        );
        bind_rows(sqlx::query(&sql).bind(now), chunk)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Folds detections of the same rule and entity within `window` of each other into one
/// (summed count, the first events kept), in first-seen order: a burst of a thousand
/// failures is one database update, not a thousand. Returns each with its last time and
/// how many detections it stands for.
fn coalesce(
    batch: Vec<&NewDetection>,
    window: chrono::Duration,
) -> Vec<(NewDetection, DateTime<Utc>, usize)> {
    let mut out: Vec<(NewDetection, DateTime<Utc>, usize)> = vec![];
    let mut open: std::collections::HashMap<(String, String), usize> = Default::default();
    for d in batch {
        let key = (d.rule_id.clone(), d.entities.key());
        if let Some(&i) = open.get(&key) {
            let (first, last, merged) = &mut out[i];
            if d.time >= first.time && d.time - first.time <= window {
                *merged += 1;
                first.count += d.count;
                let room = MAX_ALERT_EVENTS.saturating_sub(first.events.len());
                first.events.extend(d.events.iter().take(room).cloned());
                *last = (*last).max(d.last_time);
                continue;
            }
        }
        open.insert(key, out.len());
        out.push((d.clone(), d.last_time.max(d.time), 1));
    }
    out
}

struct ActiveSuppression {
    id: String,
    rule_id: Option<String>,
    entity: String,
    value: String,
}

async fn active_suppressions(
    tx: &mut Tx,
    tenant_id: &str,
    now: &str,
) -> Result<Vec<ActiveSuppression>> {
    let rows = sqlx::query("SELECT id, rule_id, entity, value FROM alert_suppressions WHERE tenant_id = $1 AND expires_at > $2")
        .bind(tenant_id)
        .bind(now)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ActiveSuppression {
                id: r.try_get(0)?,
                rule_id: r.try_get(1)?,
                entity: r.try_get(2)?,
                value: r.try_get(3)?,
            })
        })
        .collect()
}

async fn webhooks_of(tx: &mut Tx, tenant_id: &str) -> Result<Vec<(String, Severity)>> {
    let rows = sqlx::query("SELECT url, min_severity FROM alert_webhooks WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_all(&mut **tx)
        .await?;
    let mut out = vec![];
    for r in rows {
        let min: String = r.try_get(1)?;
        out.push((
            r.try_get(0)?,
            Severity::parse(&min).unwrap_or(Severity::Informational),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::{DetectionKind, Entities};

    fn detection(seq: u64) -> NewDetection {
        let time = Utc::now();
        NewDetection {
            seq,
            rule_id: "rule-ssh".into(),
            title: "SSH failure".into(),
            kind: DetectionKind::Rule,
            severity: Severity::High,
            author: None,
            tags: vec![],
            entities: Entities {
                source_ip: Some("203.0.113.7".into()),
                ..Default::default()
            },
            time,
            last_time: time,
            count: 1,
            events: vec![NewTrigger::new(
                Some(seq),
                crate::time_text(time),
                &serde_json::json!({ "seq": seq }),
            )],
        }
    }

    async fn seqs(store: &Store, scope: &crate::TenantScope, id: &str) -> Vec<u64> {
        let detail = store.alert(scope, id).await.unwrap();
        detail
            .events
            .iter()
            .map(|e| e.event["seq"].as_u64().unwrap())
            .collect()
    }

    /// Migration 16 moves every alert's events into `alert_events`: an alert raised before it
    /// still shows them, and takes more in as before, up to the limit.
    #[tokio::test]
    async fn migration_16_keeps_alert_events_and_they_still_grow_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let window = chrono::Duration::hours(1);
        let store = Store::open_to(dir.path(), 15).await.unwrap();
        store.bootstrap(Some("Test-Admin-Passw0rd")).await.unwrap();
        let (tenant, _) = store.operator_scope("default").await.unwrap();
        let before = [detection(1), detection(2)];
        // Recorded the way the store did before migration 16: events in the row.
        sqlx::query(
            "INSERT INTO alerts (id, tenant_id, rule_id, title, kind, severity, severity_rank, \
             tactics, techniques, entity_key, entities, entity_text, count, first_seen, \
             last_seen, status, events, created_at, updated_at) \
             VALUES ('a1', $1, 'rule-ssh', 'SSH failure', 'rule', 'high', 3, '[]', '[]', \
             $2, '{}', '', 2, $3, $3, 'new', $4, $3, $3)",
        )
        .bind(&tenant.id)
        .bind(detection(1).entities.key())
        .bind(crate::time_text(Utc::now()))
        .bind(
            serde_json::to_string(&before.iter().map(|d| &d.events[0]).collect::<Vec<_>>())
                .unwrap(),
        )
        .execute(&store.pool)
        .await
        .unwrap();
        store.pool.close().await;
        drop(store);

        let store = Store::open(dir.path()).await.unwrap();
        let (_, scope) = store.operator_scope("default").await.unwrap();
        assert_eq!(seqs(&store, &scope, "a1").await, [1, 2]);
        let more: Vec<NewDetection> = (3..=MAX_ALERT_EVENTS as u64 + 5).map(detection).collect();
        let out = store
            .record_detections(&tenant.id, &more, MAX_ALERT_EVENTS as u64 + 5, window)
            .await
            .unwrap();
        assert_eq!((out.raised, out.folded), (0, more.len()));
        let (list, _) = store
            .alerts(&scope, &Default::default(), crate::Page::default())
            .await
            .unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].count, 2 + more.len() as i64);
        let kept: Vec<u64> = (1..=MAX_ALERT_EVENTS as u64).collect();
        assert_eq!(seqs(&store, &scope, "a1").await, kept);
        // Full: the count moves on, the events stay as they are.
        store
            .record_detections(&tenant.id, &[detection(99)], 99, window)
            .await
            .unwrap();
        assert_eq!(seqs(&store, &scope, "a1").await, kept);
        let check: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&store.pool)
            .await
            .unwrap();
        assert_eq!(check, ["ok"]);
    }
}
