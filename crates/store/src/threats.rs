//! The threat catalog (I.2): each threat's source, agent, kind, motive and timing, and its
//! frequency on GB/T 20984's five levels — computed from the tenant's own alerts over the
//! last half-year (threat-intelligence hits arrive as alerts of the intel rules), raised to
//! the analyst's baseline when one is given, never only typed in.

use crate::alerts::like_escape;
use crate::db::Store;
use crate::error::{Error, Result};
use crate::scope::TenantScope;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use yunshou_identify::risk::threat_frequency_level;
use yunshou_model::{ids, Actor};

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// The window frequency is computed over: half a year, the longest span the standard's
/// scale names.
pub const FREQUENCY_WINDOW_DAYS: u32 = 182;

/// Threat sources (I.2.b).
pub const SOURCES: [&str; 3] = ["environmental", "accidental", "human"];
/// Threat agents (I.2.c).
pub const AGENTS: [&str; 9] = [
    "nation",
    "organised_group",
    "individual",
    "insider",
    "ordinary_disaster",
    "serious_disaster",
    "severe_disaster",
    "system_failure",
    "operator_error",
];
/// Motives (I.2.d).
pub const MOTIVES: [&str; 2] = ["malicious", "non_malicious"];
/// Kinds the console suggests (GB/T 20984's threat classification); others are allowed.
pub const KINDS: [&str; 10] = [
    "physical_damage",
    "natural_disaster",
    "infrastructure_failure",
    "hardware_software_failure",
    "operator_error",
    "management_failure",
    "malicious_code",
    "unauthorised_actions",
    "information_damage",
    "repudiation",
];

/// What an analyst enters for a threat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThreatFields {
    /// Name (unique in the tenant).
    pub name: String,
    /// One of [`SOURCES`].
    pub source: String,
    /// Kind, e.g. one of [`KINDS`].
    pub kind: String,
    /// One of [`AGENTS`].
    pub agent: String,
    /// One of [`MOTIVES`].
    pub motive: String,
    /// When it tends to happen (e.g. `非工作时间`, `重大活动期间`).
    #[serde(default)]
    pub timing: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// ATT&CK techniques (`T1110`, `T1190` …); an alert with one of them (or a
    /// sub-technique) is an occurrence.
    #[serde(default)]
    pub techniques: Vec<String>,
    /// Detection rule ids whose alerts are occurrences.
    #[serde(default)]
    pub rule_ids: Vec<String>,
    /// The analyst's judgement from experience (1–5); the computed level never falls
    /// below it.
    #[serde(default)]
    pub baseline_level: Option<u8>,
}

impl ThreatFields {
    /// Trims and checks every field; every problem, one a line.
    pub fn validate(&mut self) -> std::result::Result<(), String> {
        let mut errors = vec![];
        self.name = self.name.trim().to_string();
        if self.name.is_empty() || self.name.chars().count() > 200 {
            errors.push("name: 1–200 characters".to_string());
        }
        for (field, value, allowed) in [
            ("source", &self.source, &SOURCES[..]),
            ("agent", &self.agent, &AGENTS[..]),
            ("motive", &self.motive, &MOTIVES[..]),
        ] {
            if !allowed.contains(&value.as_str()) {
                errors.push(format!("{field}: one of {}", allowed.join(", ")));
            }
        }
        self.kind = self.kind.trim().to_string();
        let kind_ok = (1..=60).contains(&self.kind.len())
            && self
                .kind
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !kind_ok {
            errors.push("kind: 1–60 of a-z, 0-9, '_' (e.g. unauthorised_actions)".into());
        }
        for t in &mut self.techniques {
            *t = t.trim().to_ascii_uppercase();
        }
        self.techniques.retain(|t| !t.is_empty());
        self.techniques.sort();
        self.techniques.dedup();
        for t in &self.techniques {
            let ok = t.len() >= 5
                && t.starts_with('T')
                && t[1..]
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            if !ok {
                errors.push(format!(
                    "techniques: `{t}` is not an ATT&CK technique id (T1110, T1110.001)"
                ));
            }
        }
        self.rule_ids
            .iter_mut()
            .for_each(|r| *r = r.trim().to_string());
        self.rule_ids.retain(|r| !r.is_empty());
        self.rule_ids.sort();
        self.rule_ids.dedup();
        if self.rule_ids.iter().any(|r| r.len() > 200)
            || self.rule_ids.len() > 200
            || self.techniques.len() > 200
        {
            errors.push("rule_ids, techniques: at most 200 each, 200 characters each".into());
        }
        if self.baseline_level.is_some_and(|l| !(1..=5).contains(&l)) {
            errors.push("baseline_level: 1–5".into());
        }
        for (field, v, max) in [
            ("timing", &mut self.timing, 200),
            ("description", &mut self.description, 5000),
        ] {
            *v = v
                .as_ref()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
            if v.as_ref().is_some_and(|s| s.chars().count() > max) {
                errors.push(format!("{field}: at most {max} characters"));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n"))
        }
    }
}

/// A stored threat.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Threat {
    /// Identifier.
    pub id: String,
    /// The analyst's fields.
    #[serde(flatten)]
    pub fields: ThreatFields,
    /// The frequency level used (1–5): the computed one, raised to the baseline.
    pub frequency_level: u8,
    /// What it was computed from: window, alerts counted, computed level, when.
    #[schema(value_type = Object)]
    pub frequency_basis: serde_json::Value,
    /// Created.
    pub created_at: String,
    /// Last changed or recomputed.
    pub updated_at: String,
}

const THREAT_COLUMNS: &str = "id, name, source, kind, agent, motive, timing, description, techniques, rule_ids, baseline_level, \
     frequency_level, frequency_basis, created_at, updated_at";

fn threat_from_row(r: &AnyRow) -> Result<Threat> {
    let list = |i: usize| -> Result<Vec<String>> {
        serde_json::from_str(&r.try_get::<String, _>(i)?).map_err(|e| Error::Corrupt(e.to_string()))
    };
    Ok(Threat {
        id: r.try_get(0)?,
        fields: ThreatFields {
            name: r.try_get(1)?,
            source: r.try_get(2)?,
            kind: r.try_get(3)?,
            agent: r.try_get(4)?,
            motive: r.try_get(5)?,
            timing: r.try_get(6)?,
            description: r.try_get(7)?,
            techniques: list(8)?,
            rule_ids: list(9)?,
            baseline_level: r.try_get::<Option<i64>, _>(10)?.map(|l| l as u8),
        },
        frequency_level: r.try_get::<i64, _>(11)? as u8,
        frequency_basis: serde_json::from_str(&r.try_get::<String, _>(12)?)
            .map_err(|e| Error::Corrupt(e.to_string()))?,
        created_at: r.try_get(13)?,
        updated_at: r.try_get(14)?,
    })
}

/// Counts the tenant's alerts that are occurrences of a threat over the window, and turns
/// them into a frequency level.
async fn frequency(
    tx: &mut Tx,
    tenant: &str,
    f: &ThreatFields,
    now: &str,
) -> Result<(u8, serde_json::Value)> {
    let since = crate::time_text(
        crate::parse_time(now).unwrap_or_else(chrono::Utc::now)
            - chrono::Duration::days(i64::from(FREQUENCY_WINDOW_DAYS)),
    );
    let mut alternatives = vec![];
    let mut binds: Vec<String> = vec![tenant.into(), since.clone()];
    for t in &f.techniques {
        binds.push(format!("%\"{}%", like_escape(t)));
        alternatives.push(format!("techniques LIKE ${} ESCAPE '\\'", binds.len()));
    }
    for r in &f.rule_ids {
        binds.push(r.clone());
        alternatives.push(format!("rule_id = ${}", binds.len()));
    }
    let alerts: i64 = if alternatives.is_empty() {
        0
    } else {
        let sql = format!(
            "SELECT COUNT(*) FROM alerts WHERE tenant_id = $1 AND last_seen >= $2 AND ({})",
            alternatives.join(" OR ")
        );
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b);
        }
        q.fetch_one(&mut **tx).await?.try_get(0)?
    };
    let computed = threat_frequency_level(alerts.max(0) as u64, FREQUENCY_WINDOW_DAYS);
    let level = computed.max(f.baseline_level.unwrap_or(1));
    let basis = serde_json::json!({
        "window_days": FREQUENCY_WINDOW_DAYS,
        "since": since,
        "alerts": alerts,
        "computed_level": computed,
        "baseline_level": f.baseline_level,
        "level": level,
        "computed_at": now,
    });
    Ok((level, basis))
}

impl Store {
    /// The tenant's threats, highest frequency first.
    pub async fn threats(&self, scope: &TenantScope) -> Result<Vec<Threat>> {
        sqlx::query(&format!(
            "SELECT {THREAT_COLUMNS} FROM threats WHERE tenant_id = $1 ORDER BY frequency_level DESC, name"
        ))
        .bind(scope.tenant_id())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(threat_from_row)
        .collect()
    }

    /// One threat.
    pub async fn threat(&self, scope: &TenantScope, id: &str) -> Result<Threat> {
        let row = sqlx::query(&format!(
            "SELECT {THREAT_COLUMNS} FROM threats WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        threat_from_row(&row)
    }

    /// Adds a threat, its frequency computed at once.
    pub async fn create_threat(
        &self,
        scope: &TenantScope,
        mut fields: ThreatFields,
        actor: &Actor,
    ) -> Result<Threat> {
        fields.validate().map_err(Error::Invalid)?;
        let now = crate::now_text();
        let id = ids::new_id();
        let mut w = self.begin_write().await?;
        let (level, basis) = frequency(&mut w.tx, scope.tenant_id(), &fields, &now).await?;
        let result = sqlx::query(
            "INSERT INTO threats (id, tenant_id, name, source, kind, agent, motive, timing, description, techniques, rule_ids, \
             baseline_level, frequency_level, frequency_basis, created_at, updated_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$15)",
        )
        .bind(&id)
        .bind(scope.tenant_id())
        .bind(&fields.name)
        .bind(&fields.source)
        .bind(&fields.kind)
        .bind(&fields.agent)
        .bind(&fields.motive)
        .bind(&fields.timing)
        .bind(&fields.description)
        .bind(serde_json::to_string(&fields.techniques).expect("strings"))
        .bind(serde_json::to_string(&fields.rule_ids).expect("strings"))
        .bind(fields.baseline_level.map(i64::from))
        .bind(i64::from(level))
        .bind(basis.to_string())
        .bind(&now)
        .execute(&mut *w.tx)
        .await;
        match result {
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => {
                return Err(Error::Conflict(format!(
                    "name: a threat named `{}` exists",
                    fields.name
                )))
            }
            r => {
                r?;
            }
        }
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "threat.create",
            "threat",
            Some(&id),
        );
        entry.after = serde_json::to_value(&fields).ok();
        w.commit(entry).await?;
        self.threat(scope, &id).await
    }

    /// Replaces a threat's fields and recomputes its frequency; the risks it is part of are
    /// reassessed.
    pub async fn update_threat(
        &self,
        scope: &TenantScope,
        id: &str,
        mut fields: ThreatFields,
        actor: &Actor,
    ) -> Result<Threat> {
        fields.validate().map_err(Error::Invalid)?;
        let before = self.threat(scope, id).await?;
        let now = crate::now_text();
        let mut w = self.begin_write().await?;
        let (level, basis) = frequency(&mut w.tx, scope.tenant_id(), &fields, &now).await?;
        let result = sqlx::query(
            "UPDATE threats SET name = $1, source = $2, kind = $3, agent = $4, motive = $5, timing = $6, description = $7, \
             techniques = $8, rule_ids = $9, baseline_level = $10, frequency_level = $11, frequency_basis = $12, updated_at = $13 \
             WHERE tenant_id = $14 AND id = $15",
        )
        .bind(&fields.name)
        .bind(&fields.source)
        .bind(&fields.kind)
        .bind(&fields.agent)
        .bind(&fields.motive)
        .bind(&fields.timing)
        .bind(&fields.description)
        .bind(serde_json::to_string(&fields.techniques).expect("strings"))
        .bind(serde_json::to_string(&fields.rule_ids).expect("strings"))
        .bind(fields.baseline_level.map(i64::from))
        .bind(i64::from(level))
        .bind(basis.to_string())
        .bind(&now)
        .bind(scope.tenant_id())
        .bind(id)
        .execute(&mut *w.tx)
        .await;
        match result {
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => {
                return Err(Error::Conflict(format!(
                    "name: a threat named `{}` exists",
                    fields.name
                )))
            }
            r => {
                r?;
            }
        }
        crate::risks::reassess_in(&mut w.tx, self, scope.tenant_id(), Some(id), &now).await?;
        let mut entry = actor.entry(Some(scope.tenant_id()), "threat.update", "threat", Some(id));
        entry.before = serde_json::to_value(&before.fields).ok();
        entry.after = serde_json::to_value(&fields).ok();
        w.commit(entry).await?;
        self.threat(scope, id).await
    }

    /// Removes a threat no risk refers to.
    pub async fn delete_threat(&self, scope: &TenantScope, id: &str, actor: &Actor) -> Result<()> {
        let before = self.threat(scope, id).await?;
        let mut w = self.begin_write().await?;
        let used: i64 =
            sqlx::query("SELECT COUNT(*) FROM risks WHERE tenant_id = $1 AND threat_id = $2")
                .bind(scope.tenant_id())
                .bind(id)
                .fetch_one(&mut *w.tx)
                .await?
                .try_get(0)?;
        if used > 0 {
            return Err(Error::Conflict(format!(
                "{used} risks refer to this threat; close or reassign them first"
            )));
        }
        sqlx::query("DELETE FROM threats WHERE tenant_id = $1 AND id = $2")
            .bind(scope.tenant_id())
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(Some(scope.tenant_id()), "threat.delete", "threat", Some(id));
        entry.before = serde_json::to_value(&before.fields).ok();
        w.commit(entry).await?;
        Ok(())
    }

    /// Recomputes every threat's frequency from the alerts of the window, then reassesses
    /// the open risks. Returns how many threats changed level.
    pub async fn refresh_threats(&self, scope: &TenantScope, actor: &Actor) -> Result<usize> {
        let threats = self.threats(scope).await?;
        let now = crate::now_text();
        let mut w = self.begin_write().await?;
        let mut changed = 0;
        for t in &threats {
            let (level, basis) = frequency(&mut w.tx, scope.tenant_id(), &t.fields, &now).await?;
            changed += usize::from(level != t.frequency_level);
            sqlx::query("UPDATE threats SET frequency_level = $1, frequency_basis = $2, updated_at = $3 WHERE id = $4")
                .bind(i64::from(level))
                .bind(basis.to_string())
                .bind(&now)
                .bind(&t.id)
                .execute(&mut *w.tx)
                .await?;
        }
        crate::risks::reassess_in(&mut w.tx, self, scope.tenant_id(), None, &now).await?;
        let mut entry = actor.entry(Some(scope.tenant_id()), "threat.refresh", "threat", None);
        entry.after = Some(serde_json::json!({ "threats": threats.len(), "changed": changed }));
        w.commit(entry).await?;
        Ok(changed)
    }
}
