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
// Tenant ids and sequence numbers key the per-event lookups: the pipeline makes them, not
// the events, so the faster Fx hash is safe where SipHash would cost each event.
use rustc_hash::FxHashMap;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use yunshou_detect::sigma::{LoadError, Loaded};
use yunshou_detect::{CorrelationState, Engine, FlatEvent, Mapping};
use yunshou_store::alerts::{
    AlertAsset, DetectionKind, Entities, NewDetection, NewTrigger, Severity, MAX_ALERT_EVENTS,
};
use yunshou_store::rule_sets::RuleSetContent;
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
        Self::build_over(loaded, Default::default())
    }

    /// Compiles what was loaded with `base` (another book's schema) as the start of its
    /// schema (see [`Engine::build_over`]).
    fn build_over(loaded: Loaded, base: yunshou_detect::Schema) -> RuleBook {
        let engine = Engine::build_over(loaded, &Mapping::builtin(), base);
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

    /// Compiles a tenant's imported rule sets (files named `set/path`), without the
    /// built-in pack: what could not be loaded is in [`RuleBook::errors`]. Its schema
    /// extends `shared`'s, so an event is flattened once for both books.
    pub fn from_sets(sets: &[RuleSetContent], shared: &RuleBook) -> RuleBook {
        let mut loaded = Loaded::default();
        for set in sets {
            for f in &set.files {
                // Named `set/path`; a directory upload's paths start with its name already.
                let path = if f.path.starts_with(&format!("{}/", set.name)) {
                    PathBuf::from(&f.path)
                } else {
                    PathBuf::from(&set.name).join(&f.path)
                };
                yunshou_detect::sigma::load_text(&path, &f.text, &mut loaded);
            }
        }
        let mut errors = std::mem::take(&mut loaded.errors);
        let mut book = RuleBook::build_over(loaded, shared.engine.schema().clone());
        errors.append(&mut book.engine.errors);
        book.engine.errors = errors;
        book
    }

    /// Number of rules and correlations.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when nothing is loaded.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
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
    /// Correlation windows of the shared rules.
    correlation: CorrelationState,
    /// Those of the tenant's own rule sets, and which compilation of them they belong to.
    own: CorrelationState,
    own_book: Option<Arc<RuleBook>>,
    recent: Recent,
}

/// Recent events that fed correlations (seq → event), for correlation alerts.
#[derive(Default)]
struct Recent {
    events: FxHashMap<u64, NewTrigger>,
    order: VecDeque<u64>,
}

impl Recent {
    fn keep(&mut self, seq: u64, trigger: &mut LazyTrigger) {
        if self.events.contains_key(&seq) {
            return;
        }
        self.events.insert(seq, trigger.get());
        self.order.push_back(seq);
        while self.order.len() > RECENT_EVENTS {
            if let Some(old) = self.order.pop_front() {
                self.events.remove(&old);
            }
        }
    }
}

/// The matched event as detections carry it, serialised on first need and then shared:
/// most detections fold into a burst that already holds its share of events and never
/// need it. Its entities too are worked out once, for every rule of either book it matched.
struct LazyTrigger<'a> {
    seq: u64,
    time: DateTime<Utc>,
    value: &'a Value,
    made: Option<NewTrigger>,
    entities: Option<Entities>,
}

impl<'a> LazyTrigger<'a> {
    fn new(seq: u64, time: DateTime<Utc>, value: &'a Value) -> LazyTrigger<'a> {
        LazyTrigger {
            seq,
            time,
            value,
            made: None,
            entities: None,
        }
    }

    /// Host, user, addresses, assets and indicators of the event.
    fn entities(&mut self) -> &Entities {
        let value = self.value;
        self.entities.get_or_insert_with(|| entities_of(value))
    }

    fn get(&mut self) -> NewTrigger {
        let LazyTrigger {
            seq,
            time,
            value,
            made,
            ..
        } = self;
        made.get_or_insert_with(|| {
            NewTrigger::new(Some(*seq), yunshou_store::time_text(*time), value)
        })
        .clone()
    }
}

/// A detection before it is recorded: a rule or correlation, its entities, and the events
/// it stands for (the first [`MAX_ALERT_EVENTS`] of them).
struct Detected {
    /// The rules `rule` indexes (shared, or the tenant's own sets).
    book: Arc<RuleBook>,
    rule: RuleRef,
    /// The event being inspected belongs in `events` (when there is room).
    own_event: bool,
    seq: u64,
    time: DateTime<Utc>,
    last_time: DateTime<Utc>,
    entities: Entities,
    count: i64,
    events: Vec<NewTrigger>,
}

/// One tenant's detections waiting for the next flush, folded as they arrive by rule and
/// entity within the dedup window — a burst of a million SSH failures waits as one
/// detection with a count and its first events, not a million copies of events.
#[derive(Default)]
struct Coalesced {
    list: Vec<Detected>,
    open: HashMap<(usize, RuleRef, String), usize>,
}

impl Coalesced {
    fn add(
        &mut self,
        mut d: Detected,
        key: String,
        window: chrono::Duration,
        // Where the inspected event is made from; `None` for detections whose events are
        // in place already (own_event false).
        mut trigger: Option<&mut LazyTrigger>,
    ) {
        let key = (Arc::as_ptr(&d.book) as usize, d.rule, key);
        let mut own = |d: &Detected| -> Option<NewTrigger> {
            d.own_event
                .then(|| trigger.as_mut().map(|t| t.get()))
                .flatten()
        };
        if let Some(&i) = self.open.get(&key) {
            let first = &mut self.list[i];
            if d.time >= first.time && d.time - first.time <= window {
                first.count += d.count;
                first.last_time = first.last_time.max(d.last_time);
                let room = MAX_ALERT_EVENTS.saturating_sub(first.events.len());
                if room > 0 {
                    first.events.extend(own(&d));
                }
                first.events.extend(d.events.into_iter().take(room));
                first.events.truncate(MAX_ALERT_EVENTS);
                return;
            }
        }
        if let Some(e) = own(&d) {
            d.events.insert(0, e);
        }
        d.own_event = false;
        self.open.insert(key, self.list.len());
        self.list.push(d);
    }
}

#[derive(Default)]
struct Pending {
    detections: FxHashMap<String, Coalesced>,
    /// Highest sequence inspected.
    upto: u64,
    /// Intelligence hits per tenant and feed.
    intel_hits: FxHashMap<String, HashMap<String, i64>>,
}

/// The pipeline's detector.
pub struct StreamDetector {
    book: Arc<RuleBook>,
    /// Each tenant's imported rule sets, compiled apart: no other tenant's events meet them.
    tenant_books: RwLock<FxHashMap<String, Arc<RuleBook>>>,
    intel: Arc<IntelBook>,
    disabled: RwLock<FxHashMap<String, HashSet<String>>>,
    tenants: Mutex<FxHashMap<String, TenantState>>,
    pending: Mutex<Pending>,
    /// Per tenant, the sequence up to which detections are already recorded: events at or
    /// below it are being replayed after a restart and only feed the correlations.
    recorded: HashMap<String, u64>,
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
            tenant_books: Default::default(),
            intel,
            disabled: Default::default(),
            tenants: Default::default(),
            pending: Default::default(),
            recorded: store.detection_watermarks().await?,
            store,
            runtime: tokio::runtime::Handle::current(),
        };
        d.reload_settings().await?;
        d.reload_rule_sets(None).await?;
        Ok(d)
    }

    /// The rules.
    pub fn book(&self) -> &Arc<RuleBook> {
        &self.book
    }

    /// Compiles the imported rule sets again: one tenant's (after an import or removal), or
    /// every tenant's (at start).
    pub async fn reload_rule_sets(&self, tenant: Option<&str>) -> anyhow::Result<()> {
        let mut by_tenant: HashMap<String, Vec<RuleSetContent>> = HashMap::new();
        for set in self.store.rule_set_contents(tenant).await? {
            by_tenant
                .entry(set.tenant_id.clone())
                .or_default()
                .push(set);
        }
        let shared = self.book.clone();
        let compiled: Vec<(String, RuleBook)> = tokio::task::spawn_blocking(move || {
            by_tenant
                .into_iter()
                .map(|(t, sets)| (t, RuleBook::from_sets(&sets, &shared)))
                .collect()
        })
        .await?;
        let mut books = self.tenant_books.write().expect("tenant rule sets");
        match tenant {
            Some(t) => {
                books.remove(t);
            }
            None => books.clear(),
        }
        for (t, book) in compiled {
            for e in book.errors() {
                // Checked at import; a rule that stops loading (after an upgrade) is named.
                tracing::warn!(tenant = %t, file = %e.file.display(), reason = %e.reason, "imported rule not loaded");
            }
            books.insert(t, Arc::new(book));
        }
        Ok(())
    }

    /// Re-reads every tenant's rule switches (after one changes).
    pub async fn reload_settings(&self) -> anyhow::Result<()> {
        let mut table: FxHashMap<String, HashSet<String>> = FxHashMap::default();
        for (tenant, rule, enabled) in self.store.all_rule_settings().await? {
            if !enabled {
                table.entry(tenant).or_default().insert(rule);
            }
        }
        *self.disabled.write().expect("rule switches") = table;
        Ok(())
    }

    fn meta(book: &RuleBook, rule: RuleRef) -> RuleMeta<'_> {
        match rule {
            RuleRef::Rule(i) => {
                let r = &book.engine.rules()[i as usize].rule;
                RuleMeta {
                    id: &r.id,
                    title: &r.title,
                    level: r.level.as_deref(),
                    author: r.author.as_deref(),
                    tags: &r.tags,
                }
            }
            RuleRef::Correlation(i) => {
                let c = book.engine.correlation(i);
                RuleMeta {
                    id: &c.id,
                    title: &c.title,
                    level: c.level.as_deref(),
                    author: c.author.as_deref(),
                    tags: &c.tags,
                }
            }
        }
    }

    /// The detection as the store records it.
    fn to_new(d: &Detected) -> NewDetection {
        let meta = Self::meta(&d.book, d.rule);
        NewDetection {
            seq: d.seq,
            rule_id: meta.id.to_string(),
            title: meta.title.to_string(),
            kind: match d.rule {
                RuleRef::Rule(_) => DetectionKind::Rule,
                RuleRef::Correlation(_) => DetectionKind::Correlation,
            },
            severity: severity(meta.level),
            author: meta.author.map(str::to_string),
            tags: meta.tags.to_vec(),
            entities: d.entities.clone(),
            time: d.time,
            last_time: d.last_time,
            count: d.count,
            events: d.events.clone(),
        }
    }

    /// Evaluates one event for `tenant` and returns its detections (used by the pipeline and
    /// by rule tests in the console, which pass a fresh `state`).
    fn evaluate(
        &self,
        tenant: &str,
        trigger: &mut LazyTrigger,
        state: &mut TenantState,
        testing: bool,
    ) -> Vec<Detected> {
        let own = self.tenant_book(tenant);
        // The tenant's schema extends the shared one: flattened once, read by both.
        let schema = own.as_ref().unwrap_or(&self.book).engine.schema();
        let value = trigger.value;
        let ev = FlatEvent::from_value(schema, value);
        let mut out = self.evaluate_book(
            &self.book,
            &ev,
            tenant,
            trigger,
            &mut state.correlation,
            &mut state.recent,
            testing,
        );
        if let Some(own) = own {
            if state
                .own_book
                .as_ref()
                .is_none_or(|b| !Arc::ptr_eq(b, &own))
            {
                // The tenant's sets changed: their correlation windows start afresh.
                state.own_book = Some(own.clone());
                state.own = CorrelationState::default();
            }
            out.extend(self.evaluate_book(
                &own,
                &ev,
                tenant,
                trigger,
                &mut state.own,
                &mut state.recent,
                testing,
            ));
        }
        out
    }

    /// The tenant's own imported rules, when it has imported any.
    pub fn tenant_book(&self, tenant: &str) -> Option<Arc<RuleBook>> {
        let books = self.tenant_books.read().expect("tenant rule sets");
        if books.is_empty() {
            return None;
        }
        books.get(tenant).cloned()
    }

    #[allow(clippy::too_many_arguments)]
    fn evaluate_book(
        &self,
        book: &Arc<RuleBook>,
        ev: &FlatEvent,
        tenant: &str,
        trigger: &mut LazyTrigger,
        correlation: &mut CorrelationState,
        recent: &mut Recent,
        testing: bool,
    ) -> Vec<Detected> {
        let (seq, time) = (trigger.seq, trigger.time);
        let engine = &book.engine;
        let mut matched = engine.evaluate(ev);
        if matched.is_empty() {
            return vec![];
        }
        let guard = self.disabled.read().expect("rule switches");
        // A rule test ignores the tenant's switches and shows the matches of rules that
        // only feed correlations.
        let off = if testing { None } else { guard.get(tenant) };
        if let Some(off) = off {
            matched.retain(|i| !off.contains(&engine.rules()[*i as usize].rule.id));
            if matched.is_empty() {
                return vec![];
            }
        }
        let entities = trigger.entities().clone();
        let mut out: Vec<Detected> = matched
            .iter()
            .filter(|r| testing || !engine.rules()[**r as usize].quiet)
            .map(|r| Detected {
                book: book.clone(),
                rule: RuleRef::Rule(*r),
                own_event: true,
                seq,
                time,
                last_time: time,
                entities: entities.clone(),
                count: 1,
                events: vec![],
            })
            .collect();
        if matched.iter().any(|r| engine.feeds_correlation(*r)) {
            // Kept where a correlation's alert may show the event.
            recent.keep(seq, trigger);
            // A correlation switched off neither alerts nor feeds those chained over it.
            let fired = engine.correlate_where(
                correlation,
                &matched,
                ev,
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
                    .filter_map(|s| recent.events.get(s).cloned())
                    .take(MAX_ALERT_EVENTS)
                    .collect();
                let at = DateTime::from_timestamp_millis(m.fired.last).unwrap_or(time);
                out.push(Detected {
                    book: book.clone(),
                    rule: RuleRef::Correlation(m.correlation),
                    own_event: false,
                    seq,
                    time: at,
                    last_time: at,
                    entities,
                    count: m.fired.events.len().max(1) as i64,
                    events,
                });
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
                let mut trigger = LazyTrigger::new(i as u64 + 1, t, v);
                let found = self.evaluate(tenant, &mut trigger, &mut state, true);
                found
                    .into_iter()
                    .map(|mut d| {
                        if d.own_event {
                            d.events.insert(0, trigger.get());
                        }
                        Self::to_new(&d)
                    })
                    .collect()
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
                    // `get` rather than `pointer`, which allocates to unescape each segment.
                    let provider = e.get("indicator")?.get("provider")?.as_str()?;
                    let atomic = e.get("matched")?.get("atomic")?.as_str()?;
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
        let mut trigger = LazyTrigger::new(seq, time, &value);
        let detections = {
            let mut tenants = self.tenants.lock().expect("detector state");
            let state = match tenants.get_mut(tenant) {
                Some(s) => s,
                None => tenants.entry(tenant.to_string()).or_default(),
            };
            self.evaluate(tenant, &mut trigger, state, false)
        };
        // Replayed after a restart: already recorded (its correlations have been fed).
        let replayed = self.recorded.get(tenant).is_some_and(|r| seq <= *r);
        let mut p = self.pending.lock().expect("pending detections");
        p.upto = p.upto.max(seq);
        if !feeds.is_empty() && !replayed {
            let hits = p.intel_hits.entry(tenant.to_string()).or_default();
            for f in feeds {
                *hits.entry(f).or_default() += 1;
            }
        }
        if !detections.is_empty() && !replayed {
            metrics::counter!("yunshou_detections_total").increment(detections.len() as u64);
            let window = chrono::Duration::minutes(DEDUP_WINDOW_MINUTES);
            let pending = match p.detections.get_mut(tenant) {
                Some(c) => c,
                None => p.detections.entry(tenant.to_string()).or_default(),
            };
            for d in detections {
                let key = d.entities.key();
                pending.add(d, key, window, Some(&mut trigger));
            }
        }
        drop(p);
        drop(trigger);
        if let Value::Object(m) = value {
            *doc = m;
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
        let batches: Vec<(&String, Vec<NewDetection>)> = detections
            .iter()
            .map(|(t, c)| (t, c.list.iter().map(Self::to_new).collect()))
            .collect();
        let store = self.store.clone();
        let window = chrono::Duration::minutes(DEDUP_WINDOW_MINUTES);
        let result = self.runtime.block_on(async {
            for (tenant, batch) in &batches {
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
        drop(batches);
        if result.is_err() {
            // Put them back, ahead of what arrived since: retried with the next flush.
            let mut p = self.pending.lock().expect("pending detections");
            for (t, earlier) in detections {
                let later = p.detections.remove(&t).unwrap_or_default();
                let mut merged = earlier;
                for d in later.list {
                    let key = d.entities.key();
                    merged.add(d, key, window, None);
                }
                p.detections.insert(t, merged);
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
