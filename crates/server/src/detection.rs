//! Streaming detection (MO.2.a, MO.3.c): every event the pipeline indexes is evaluated by the
//! Sigma engine, after asset enrichment and threat-intelligence matching; matches and fired
//! correlations become detections, recorded as alerts before the write-ahead log's checkpoint
//! moves (see [`yunshou_ingest::Detector`]).
//!
//! One engine serves every tenant (rules compile once); what differs per tenant — rules
//! turned off, correlation windows, intelligence feeds — is kept per tenant here.

use crate::intel::IntelBook;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use yunshou_detect::sigma::{LoadError, Loaded};
use yunshou_detect::{CorrelationState, Engine, FlatEvent, Mapping};
use yunshou_store::alerts::{
    AlertAsset, DetectionKind, Entities, NewDetection, Severity, TriggerEvent,
};
use yunshou_store::Store;

/// Same rule and entity within this long fold into one alert.
pub const DEDUP_WINDOW_MINUTES: i64 = 60;

/// Matched events remembered per tenant so a correlation's alert can show its events.
const RECENT_EVENTS: usize = 20_000;

/// Where rules come from.
#[derive(Debug, Clone, Default)]
pub struct RuleSources {
    /// Directories of Sigma rules (recursively).
    pub dirs: Vec<PathBuf>,
    /// Leave out yunshou's own pack.
    pub no_builtin: bool,
}

/// What a rule is, found by id.
#[derive(Debug, Clone, Copy)]
pub enum RuleRef {
    /// A detection rule (engine index).
    Rule(u32),
    /// A correlation rule.
    Correlation(usize),
}

/// The loaded rules: the engine, an index by id, and what failed to load.
pub struct RuleBook {
    /// The engine.
    pub engine: Engine,
    /// Rule id → rule.
    pub by_id: HashMap<String, RuleRef>,
}

impl RuleBook {
    /// Loads the built-in pack and `sources`' directories, and compiles them against the
    /// built-in mappings (ECS and Windows).
    pub fn load(sources: &RuleSources) -> anyhow::Result<RuleBook> {
        let mut loaded = Loaded::default();
        if !sources.no_builtin {
            yunshou_detect::builtin::load(&mut loaded);
        }
        for dir in &sources.dirs {
            let more = yunshou_detect::sigma::load_dir(dir)
                .map_err(|e| anyhow::anyhow!("rules {}: {e}", dir.display()))?;
            loaded.rules.extend(more.rules);
            loaded.correlations.extend(more.correlations);
            loaded.filters.extend(more.filters);
            loaded.errors.extend(more.errors);
        }
        Ok(RuleBook::build(loaded))
    }

    /// Compiles what was loaded.
    pub fn build(loaded: Loaded) -> RuleBook {
        let engine = Engine::build(loaded, &Mapping::builtin());
        let mut by_id = HashMap::new();
        for (i, r) in engine.rules().iter().enumerate() {
            by_id.insert(r.rule.id.clone(), RuleRef::Rule(i as u32));
        }
        for i in 0..engine.correlation_count() {
            by_id.insert(engine.correlation(i).id.clone(), RuleRef::Correlation(i));
        }
        RuleBook { engine, by_id }
    }

    /// Documents that could not be loaded or compiled.
    pub fn errors(&self) -> &[LoadError] {
        &self.engine.errors
    }
}

/// A rule's metadata as an alert carries it.
struct RuleMeta<'a> {
    id: &'a str,
    title: &'a str,
    level: Option<&'a str>,
    author: Option<&'a str>,
    tags: &'a [String],
}

fn severity(level: Option<&str>) -> Severity {
    level.and_then(Severity::parse).unwrap_or(Severity::Medium)
}

#[derive(Default)]
struct TenantState {
    correlation: CorrelationState,
    /// seq → (time, event) of recent matches, for correlation alerts.
    recent: HashMap<u64, (String, Arc<Value>)>,
    order: VecDeque<u64>,
}

#[derive(Default)]
struct Pending {
    detections: HashMap<String, Vec<NewDetection>>,
    /// Highest sequence inspected.
    upto: u64,
    /// Intelligence hits per tenant and feed.
    intel_hits: HashMap<String, HashMap<String, i64>>,
}

/// The pipeline's detector.
pub struct StreamDetector {
    book: Arc<RuleBook>,
    intel: Arc<IntelBook>,
    disabled: RwLock<HashMap<String, HashSet<String>>>,
    tenants: Mutex<HashMap<String, TenantState>>,
    pending: Mutex<Pending>,
    store: Arc<Store>,
    runtime: tokio::runtime::Handle,
}

impl StreamDetector {
    /// A detector over `book`, recording into `store` from the current Tokio runtime.
    pub async fn new(
        book: Arc<RuleBook>,
        intel: Arc<IntelBook>,
        store: Arc<Store>,
    ) -> anyhow::Result<StreamDetector> {
        let d = StreamDetector {
            book,
            intel,
            disabled: Default::default(),
            tenants: Default::default(),
            pending: Default::default(),
            store,
            runtime: tokio::runtime::Handle::current(),
        };
        d.reload_settings().await?;
        Ok(d)
    }

    /// The rules.
    pub fn book(&self) -> &Arc<RuleBook> {
        &self.book
    }

    /// Re-reads every tenant's rule switches (after one changes).
    pub async fn reload_settings(&self) -> anyhow::Result<()> {
        let mut table: HashMap<String, HashSet<String>> = HashMap::new();
        for (tenant, rule, enabled) in self.store.all_rule_settings().await? {
            if !enabled {
                table.entry(tenant).or_default().insert(rule);
            }
        }
        *self.disabled.write().expect("rule switches") = table;
        Ok(())
    }

    fn meta_rule(&self, i: u32) -> RuleMeta<'_> {
        let r = &self.book.engine.rules()[i as usize].rule;
        RuleMeta {
            id: &r.id,
            title: &r.title,
            level: r.level.as_deref(),
            author: r.author.as_deref(),
            tags: &r.tags,
        }
    }

    fn meta_correlation(&self, i: usize) -> RuleMeta<'_> {
        let c = self.book.engine.correlation(i);
        RuleMeta {
            id: &c.id,
            title: &c.title,
            level: c.level.as_deref(),
            author: c.author.as_deref(),
            tags: &c.tags,
        }
    }

    fn detection(
        meta: &RuleMeta,
        kind: DetectionKind,
        seq: u64,
        time: DateTime<Utc>,
        entities: Entities,
        count: i64,
        events: Vec<TriggerEvent>,
    ) -> NewDetection {
        NewDetection {
            seq,
            rule_id: meta.id.to_string(),
            title: meta.title.to_string(),
            kind,
            severity: severity(meta.level),
            author: meta.author.map(str::to_string),
            tags: meta.tags.to_vec(),
            entities,
            time,
            count,
            events,
        }
    }

    /// Evaluates one event for `tenant` and returns its detections (used by the pipeline and
    /// by rule tests in the console, which pass a fresh `state`).
    fn evaluate(
        &self,
        tenant: &str,
        seq: u64,
        time: DateTime<Utc>,
        value: &Value,
        state: &mut TenantState,
        testing: bool,
    ) -> Vec<NewDetection> {
        let engine = &self.book.engine;
        let none = HashMap::new();
        let guard = self.disabled.read().expect("rule switches");
        // A rule test ignores the tenant's switches and shows the matches of rules that
        // only feed correlations.
        let off_table = if testing { &none } else { &*guard };
        let ev = FlatEvent::from_value(engine.schema(), value);
        let mut matched = engine.evaluate(&ev);
        if matched.is_empty() {
            return vec![];
        }
        if let Some(off) = off_table.get(tenant) {
            matched.retain(|i| !off.contains(&engine.rules()[*i as usize].rule.id));
        }
        let mut out = vec![];
        let time_text = yunshou_store::time_text(time);
        // The event's entities are the same for every rule it matched: worked out once.
        let entities = entities_of(value);
        for r in &matched {
            if engine.rules()[*r as usize].quiet && !testing {
                continue;
            }
            out.push(Self::detection(
                &self.meta_rule(*r),
                DetectionKind::Rule,
                seq,
                time,
                entities.clone(),
                1,
                vec![TriggerEvent {
                    seq: Some(seq),
                    time: time_text.clone(),
                    event: value.clone(),
                }],
            ));
        }
        if engine.correlation_count() > 0 && !matched.is_empty() {
            // Kept only where correlations may need the event for their alert.
            state
                .recent
                .insert(seq, (time_text, Arc::new(value.clone())));
            state.order.push_back(seq);
            while state.order.len() > RECENT_EVENTS {
                if let Some(old) = state.order.pop_front() {
                    state.recent.remove(&old);
                }
            }
            // A correlation switched off neither alerts nor feeds those chained over it.
            let off = off_table.get(tenant);
            let fired = engine.correlate_where(
                &mut state.correlation,
                &matched,
                &ev,
                time.timestamp_millis(),
                seq,
                |c| !off.is_some_and(|o| o.contains(&engine.correlation(c).id)),
            );
            for m in fired {
                // One that only feeds others (`generate: false`) alerts through them.
                if m.quiet && !testing {
                    continue;
                }
                let c = engine.correlation(m.correlation);
                let mut entities = entities.clone();
                entities.group = c
                    .group_by
                    .iter()
                    .zip(&m.fired.group)
                    .map(|(f, v)| format!("{f}={v}"))
                    .collect();
                let events = m
                    .fired
                    .events
                    .iter()
                    .filter_map(|s| {
                        state.recent.get(s).map(|(t, e)| TriggerEvent {
                            seq: Some(*s),
                            time: t.clone(),
                            event: (**e).clone(),
                        })
                    })
                    .collect();
                let at = DateTime::from_timestamp_millis(m.fired.last).unwrap_or(time);
                out.push(Self::detection(
                    &self.meta_correlation(m.correlation),
                    DetectionKind::Correlation,
                    seq,
                    at,
                    entities,
                    m.fired.events.len().max(1) as i64,
                    events,
                ));
            }
        }
        out
    }

    /// Runs `events` (ECS documents) through every rule, switched off or not, without
    /// recording anything: the rule test. Returns each event's detections.
    pub fn test_events(&self, tenant: &str, events: &[Value]) -> Vec<Vec<NewDetection>> {
        let mut state = TenantState::default();
        let mut last = Utc::now();
        events
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let t = event_time(v).unwrap_or(last);
                last = t;
                self.evaluate(tenant, i as u64 + 1, t, v, &mut state, true)
            })
            .collect()
    }
}

/// The event's `@timestamp`.
pub fn event_time(v: &Value) -> Option<DateTime<Utc>> {
    v.get("@timestamp")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// A field as text, nested (`{"source":{"ip":…}}`) or dotted (`{"source.ip":…}`); the first
/// of a list.
fn text_at(v: &Value, path: &str) -> Option<String> {
    let nested = path.split('.').try_fold(v, |cur, p| cur.get(p));
    match nested.or_else(|| v.get(path))? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

/// Host, user, addresses, assets and intelligence hits of an ECS event.
pub fn entities_of(v: &Value) -> Entities {
    let mut assets: Vec<AlertAsset> = vec![];
    for side in ["host", "source", "destination"] {
        if let Some(a) = v.get(side).and_then(|s| s.get("asset")) {
            let id = a.get("id").and_then(Value::as_str).unwrap_or_default();
            if id.is_empty() || assets.iter().any(|x| x.id == id) {
                continue;
            }
            assets.push(AlertAsset {
                id: id.into(),
                name: a
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .into(),
                value: a.get("value").and_then(Value::as_i64),
                owner: a.get("owner").and_then(Value::as_str).map(str::to_string),
            });
        }
    }
    let indicators = v
        .get("threat")
        .and_then(|t| t.get("enrichments"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|e| {
                    let provider = e.pointer("/indicator/provider")?.as_str()?;
                    let atomic = e.pointer("/matched/atomic")?.as_str()?;
                    Some(format!("{provider}: {atomic}"))
                })
                .collect()
        })
        .unwrap_or_default();
    Entities {
        host: text_at(v, "host.name").or_else(|| text_at(v, "host.hostname")),
        user: text_at(v, "user.name"),
        source_ip: text_at(v, "source.ip"),
        destination_ip: text_at(v, "destination.ip"),
        assets,
        indicators,
        group: vec![],
    }
}

impl yunshou_ingest::Detector for StreamDetector {
    fn inspect(&self, tenant: &str, seq: u64, time: DateTime<Utc>, doc: &mut Map<String, Value>) {
        let mut value = Value::Object(std::mem::take(doc));
        let feeds = self.intel.enrich(tenant, &mut value, Utc::now());
        let detections = {
            let mut tenants = self.tenants.lock().expect("detector state");
            let state = tenants.entry(tenant.to_string()).or_default();
            self.evaluate(tenant, seq, time, &value, state, false)
        };
        if let Value::Object(m) = value {
            *doc = m;
        }
        let mut p = self.pending.lock().expect("pending detections");
        p.upto = p.upto.max(seq);
        if !feeds.is_empty() {
            let hits = p.intel_hits.entry(tenant.to_string()).or_default();
            for f in feeds {
                *hits.entry(f).or_default() += 1;
            }
        }
        if !detections.is_empty() {
            metrics::counter!("yunshou_detections_total").increment(detections.len() as u64);
            p.detections
                .entry(tenant.to_string())
                .or_default()
                .extend(detections);
        }
    }

    fn flush(&self) -> Result<(), String> {
        let (detections, intel_hits, upto) = {
            let mut p = self.pending.lock().expect("pending detections");
            if p.detections.is_empty() && p.intel_hits.is_empty() {
                return Ok(());
            }
            (
                std::mem::take(&mut p.detections),
                std::mem::take(&mut p.intel_hits),
                p.upto,
            )
        };
        let store = self.store.clone();
        let window = chrono::Duration::minutes(DEDUP_WINDOW_MINUTES);
        let result = self.runtime.block_on(async {
            for (tenant, batch) in &detections {
                store
                    .record_detections(tenant, batch, upto, window)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            for (tenant, hits) in &intel_hits {
                let list: Vec<(String, i64)> = hits.iter().map(|(k, v)| (k.clone(), *v)).collect();
                store
                    .add_intel_hits(tenant, &list)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        });
        if result.is_err() {
            // Put them back: they are retried with the next flush.
            let mut p = self.pending.lock().expect("pending detections");
            for (t, mut batch) in detections {
                let slot = p.detections.entry(t).or_default();
                batch.append(slot);
                *slot = batch;
            }
            for (t, hits) in intel_hits {
                let slot = p.intel_hits.entry(t).or_default();
                for (k, v) in hits {
                    *slot.entry(k).or_default() += v;
                }
            }
        }
        result
    }
}
