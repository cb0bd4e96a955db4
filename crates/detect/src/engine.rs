//! The detection engine: every loaded rule compiled once, and an event evaluated only against
//! the rules that can match it.
//!
//! Two indexes keep the work per event small. **Log-source routing**: the mapping tells which
//! Sigma log sources an event belongs to; a rule whose product, service or category conflicts
//! is never looked at (an event with no known source is checked against every rule, so
//! routing never loses a match). **Literal prefilter**: most rules need a literal in one field
//! (`Image|endswith: \cmd.exe`); one Aho-Corasick automaton per field, over all such
//! literals, finds in one pass over each value the rules worth evaluating. Rules with no such
//! literal are always evaluated.

use crate::event::{FieldId, FlatEvent, Schema, UNNAMED};
use crate::mapping::Mapping;
use crate::sigma::correlation::{Correlation, Correlator, Fired, Hit};
use crate::sigma::matcher::{compile_with, Compiled, ANY_FIELD};
use crate::sigma::{LoadError, Loaded, Rule};
use aho_corasick::AhoCorasick;
use rustc_hash::FxHashMap;
use std::sync::{Arc, RwLock};

/// A rule ready to evaluate.
#[derive(Debug)]
pub struct EngineRule {
    /// The rule as loaded.
    pub rule: Rule,
    compiled: Compiled,
    /// Filters that apply to it (each must pass).
    filters: Vec<Compiled>,
    /// Whether the prefilter guards it.
    pub prefiltered: bool,
    /// Its matches are inputs to a correlation only (`generate: false`).
    pub quiet: bool,
}

/// A field's prefilter literals while building: patterns, pattern → index, rules per pattern.
type FieldLiterals = (Vec<String>, FxHashMap<String, usize>, Vec<Vec<u32>>);

struct FieldAutomaton {
    ac: AhoCorasick,
    /// Pattern index → rules needing it.
    rules: Vec<Vec<u32>>,
}

#[derive(Debug, Clone)]
struct CompiledSource {
    when: Vec<(FieldId, Vec<String>)>,
    product: Vec<String>,
    service: Vec<String>,
    category: Vec<String>,
}

/// The log sources an event belongs to (empty: unknown, a wildcard).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct EventSource {
    /// Products.
    pub product: Vec<String>,
    /// Services.
    pub service: Vec<String>,
    /// Categories.
    pub category: Vec<String>,
}

struct Route {
    compatible: Vec<u64>,
    unfiltered: Vec<u32>,
    /// Some rule of this source has keyword literals (else the any-field pass is skipped).
    keywords: bool,
}

impl Route {
    fn allows(&self, rule: u32) -> bool {
        self.compatible
            .get(rule as usize / 64)
            .is_some_and(|w| w & (1 << (rule % 64)) != 0)
    }
}

struct CorrelationEntry {
    corr: Correlation,
    /// Rule index per listed rule.
    members: Vec<u32>,
    /// Grouping fields per member (aliases resolved).
    group: Vec<Vec<FieldId>>,
    /// The aggregated field per member.
    value: Vec<Option<FieldId>>,
}

/// A correlation result.
#[derive(Debug, Clone)]
pub struct CorrelationMatch {
    /// Index into [`Engine::correlations`].
    pub correlation: usize,
    /// What fired.
    pub fired: Fired,
}

/// Running correlation state (one per stream of events, e.g. per tenant).
#[derive(Default)]
pub struct CorrelationState {
    correlators: Vec<Correlator>,
}

/// Counts from building an engine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildStats {
    /// Rules compiled.
    pub rules: usize,
    /// Of which guarded by the literal prefilter.
    pub prefiltered: usize,
    /// Correlation rules.
    pub correlations: usize,
    /// Filters applied.
    pub filters: usize,
    /// Documents that failed (loading or compiling).
    pub failed: usize,
}

/// The engine.
pub struct Engine {
    schema: Schema,
    rules: Vec<EngineRule>,
    correlations: Vec<CorrelationEntry>,
    by_rule: Vec<Vec<(usize, usize)>>,
    automata: Vec<FieldAutomaton>,
    /// FieldId → automaton index (`u32::MAX`: none).
    automaton_of: Vec<u32>,
    /// Literals of keyword searches, found in any value.
    any_field: Option<FieldAutomaton>,
    unfiltered: Vec<u32>,
    sources: Vec<CompiledSource>,
    source_fields: Option<(FieldId, FieldId, FieldId)>,
    time_fields: Vec<FieldId>,
    routes: RwLock<FxHashMap<EventSource, Arc<Route>>>,
    /// Every document that could not be used, with its reason.
    pub errors: Vec<LoadError>,
    /// Counts.
    pub stats: BuildStats,
}

fn compatible(rule: &Rule, ev: &EventSource) -> bool {
    let ok = |r: &Option<String>, e: &[String]| match r {
        None => true,
        Some(r) => e.is_empty() || e.iter().any(|x| x.eq_ignore_ascii_case(r)),
    };
    ok(&rule.logsource.product, &ev.product)
        && ok(&rule.logsource.service, &ev.service)
        && ok(&rule.logsource.category, &ev.category)
}

impl Engine {
    /// Compiles what was loaded against a mapping. Rules that fail to compile join
    /// `errors` with their reason.
    pub fn build(loaded: Loaded, mapping: &Mapping) -> Engine {
        let mut schema = Schema::default();
        for (sigma, paths) in &mapping.fields {
            let id = schema.field(sigma);
            for p in paths {
                schema.alias(p, id);
            }
        }
        for p in &mapping.prefixes {
            schema.strip_prefix(p);
        }
        let sources = mapping
            .sources
            .iter()
            .map(|s| CompiledSource {
                when: s
                    .when
                    .iter()
                    .map(|(f, v)| (schema.field(f), v.clone()))
                    .collect(),
                product: s.product.iter().map(|x| x.to_lowercase()).collect(),
                service: s.service.iter().map(|x| x.to_lowercase()).collect(),
                category: s.category.iter().map(|x| x.to_lowercase()).collect(),
            })
            .collect();
        let source_fields = mapping
            .logsource_fields
            .as_ref()
            .map(|(p, s, c)| (schema.field(p), schema.field(s), schema.field(c)));
        let time_fields = mapping
            .time_fields
            .iter()
            .map(|f| schema.field(f))
            .collect();

        let mut errors = loaded.errors;
        let mut rules: Vec<EngineRule> = vec![];
        for rule in loaded.rules {
            match compile_with(&rule, &mut schema, &mapping.placeholders) {
                Ok(compiled) => rules.push(EngineRule {
                    rule,
                    compiled,
                    filters: vec![],
                    prefiltered: false,
                    quiet: false,
                }),
                Err(reason) => errors.push(LoadError {
                    file: rule.file.clone(),
                    document: rule.document,
                    reason,
                }),
            }
        }
        let mut index: FxHashMap<&str, u32> = FxHashMap::default();
        for (i, r) in rules.iter().enumerate() {
            index.insert(r.rule.id.as_str(), i as u32);
            if let Some(n) = &r.rule.name {
                index.insert(n.as_str(), i as u32);
            }
        }
        let index: FxHashMap<String, u32> =
            index.into_iter().map(|(k, v)| (k.to_string(), v)).collect();

        let mut filters = 0;
        for f in loaded.filters {
            let targets: Vec<u32> = f
                .rules
                .iter()
                .filter_map(|r| index.get(r).copied())
                .collect();
            if targets.len() != f.rules.len() {
                let missing: Vec<&str> = f
                    .rules
                    .iter()
                    .filter(|r| !index.contains_key(*r))
                    .map(String::as_str)
                    .collect();
                errors.push(LoadError {
                    file: f.rule.file.clone(),
                    document: f.rule.document,
                    reason: format!(
                        "the filter names rules that are not loaded: {}",
                        missing.join(", ")
                    ),
                });
                continue;
            }
            match compile_with(&f.rule, &mut schema, &mapping.placeholders) {
                Ok(c) => {
                    filters += 1;
                    for t in targets {
                        rules[t as usize].filters.push(c.clone());
                    }
                }
                Err(reason) => errors.push(LoadError {
                    file: f.rule.file.clone(),
                    document: f.rule.document,
                    reason,
                }),
            }
        }

        let mut correlations = vec![];
        let mut by_rule: Vec<Vec<(usize, usize)>> = vec![vec![]; rules.len()];
        for c in loaded.correlations {
            let members: Option<Vec<u32>> = c.rules.iter().map(|r| index.get(r).copied()).collect();
            let Some(members) = members else {
                errors.push(LoadError {
                    file: Default::default(),
                    document: 0,
                    reason: format!(
                        "correlation `{}` ({}): names rules that are not loaded: {}",
                        c.title,
                        c.id,
                        c.rules
                            .iter()
                            .filter(|r| !index.contains_key(*r))
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
                continue;
            };
            // A field of member `m`: its alias target for that rule, else the name itself.
            let resolve = |schema: &mut Schema, name: &str, m: u32| -> FieldId {
                let rule = &rules[m as usize].rule;
                let field = c.aliases.get(name).and_then(|per| {
                    per.get(&rule.id)
                        .or_else(|| rule.name.as_ref().and_then(|n| per.get(n)))
                });
                schema.field(field.map(String::as_str).unwrap_or(name))
            };
            let group = members
                .iter()
                .map(|m| {
                    c.group_by
                        .iter()
                        .map(|g| resolve(&mut schema, g, *m))
                        .collect()
                })
                .collect();
            let value = members
                .iter()
                .map(|m| c.field.as_ref().map(|f| resolve(&mut schema, f, *m)))
                .collect();
            let ci = correlations.len();
            for (pos, m) in members.iter().enumerate() {
                by_rule[*m as usize].push((ci, pos));
                if !c.generate {
                    rules[*m as usize].quiet = true;
                }
            }
            correlations.push(CorrelationEntry {
                corr: c,
                members,
                group,
                value,
            });
        }

        // The literal prefilter.
        let mut per_field: FxHashMap<FieldId, FieldLiterals> = FxHashMap::default();
        let mut unfiltered = vec![];
        for (i, r) in rules.iter_mut().enumerate() {
            match r.compiled.necessary() {
                Some(lits) if !lits.is_empty() => {
                    r.prefiltered = true;
                    for (field, lit) in lits {
                        let (pats, seen, owners) = per_field.entry(field).or_default();
                        let p = *seen.entry(lit.clone()).or_insert_with(|| {
                            pats.push(lit);
                            owners.push(vec![]);
                            pats.len() - 1
                        });
                        if owners[p].last() != Some(&(i as u32)) {
                            owners[p].push(i as u32);
                        }
                    }
                }
                // An empty set means the rule can never match; evaluate it anyway (cheap).
                _ => unfiltered.push(i as u32),
            }
        }
        let automaton = |(pats, _, owners): FieldLiterals| FieldAutomaton {
            // A DFA: every event's values go through these, overlapping, so the fastest
            // search is worth its memory (a few MB for all of SigmaHQ).
            ac: AhoCorasick::builder()
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                // Patterns are lower case; ASCII values are searched as they are.
                .ascii_case_insensitive(true)
                .build(&pats)
                .expect("literal patterns build an automaton"),
            rules: owners,
        };
        // Keyword literals are searched for in every value of the event.
        let any_field = per_field.remove(&ANY_FIELD).map(automaton);
        let mut automaton_of = vec![u32::MAX; schema.len()];
        let mut automata = vec![];
        let mut fields: Vec<_> = per_field.into_iter().collect();
        fields.sort_by_key(|(f, _)| *f);
        for (field, lits) in fields {
            automaton_of[field as usize] = automata.len() as u32;
            automata.push(automaton(lits));
        }
        let stats = BuildStats {
            rules: rules.len(),
            prefiltered: rules.iter().filter(|r| r.prefiltered).count(),
            correlations: correlations.len(),
            filters,
            failed: errors.len(),
        };
        Engine {
            schema,
            rules,
            correlations,
            by_rule,
            automata,
            automaton_of,
            any_field,
            unfiltered,
            sources,
            source_fields,
            time_fields,
            routes: RwLock::new(FxHashMap::default()),
            errors,
            stats,
        }
    }

    /// The field table events are flattened with.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The rules, by index.
    pub fn rules(&self) -> &[EngineRule] {
        &self.rules
    }

    /// A correlation rule by index.
    pub fn correlation(&self, i: usize) -> &Correlation {
        &self.correlations[i].corr
    }

    /// Number of correlation rules.
    pub fn correlation_count(&self) -> usize {
        self.correlations.len()
    }

    /// The log sources an event belongs to, by the mapping.
    pub fn event_source(&self, ev: &FlatEvent) -> EventSource {
        let mut out = EventSource::default();
        if let Some((p, s, c)) = self.source_fields {
            let take = |f: FieldId, into: &mut Vec<String>| {
                if let Some(v) = ev.values(f).next() {
                    into.push(v.lower().to_string());
                }
            };
            take(p, &mut out.product);
            take(s, &mut out.service);
            take(c, &mut out.category);
        }
        for src in &self.sources {
            let holds = src.when.iter().all(|(f, want)| {
                ev.values(*f)
                    .any(|l| want.iter().any(|w| w.as_str() == l.lower()))
            });
            if holds {
                out.product.extend(src.product.iter().cloned());
                out.service.extend(src.service.iter().cloned());
                out.category.extend(src.category.iter().cloned());
            }
        }
        for v in [&mut out.product, &mut out.service, &mut out.category] {
            v.sort_unstable();
            v.dedup();
        }
        out
    }

    fn route(&self, src: EventSource) -> Arc<Route> {
        if let Some(r) = self.routes.read().expect("routes").get(&src) {
            return r.clone();
        }
        let mut compatible = vec![0u64; self.rules.len().div_ceil(64)];
        for (i, r) in self.rules.iter().enumerate() {
            if compatible_rule(r, &src) {
                compatible[i / 64] |= 1 << (i % 64);
            }
        }
        let allowed = |i: u32| compatible[i as usize / 64] & (1 << (i % 64)) != 0;
        let keywords = self
            .any_field
            .as_ref()
            .is_some_and(|fa| fa.rules.iter().flatten().any(|r| allowed(*r)));
        let route = Route {
            unfiltered: self
                .unfiltered
                .iter()
                .copied()
                .filter(|i| allowed(*i))
                .collect(),
            keywords,
            compatible,
        };
        let route = Arc::new(route);
        let mut routes = self.routes.write().expect("routes");
        // Events can claim arbitrary sources through fields; keep the cache bounded.
        if routes.len() > 4096 {
            routes.clear();
        }
        routes.insert(src, route.clone());
        route
    }

    /// Indices of the rules the event matches (every enabled rule, quiet ones included).
    pub fn evaluate(&self, ev: &FlatEvent) -> Vec<u32> {
        self.evaluate_where(ev, |_| true)
    }

    /// Like [`Engine::evaluate`], only over the rules `enabled` accepts.
    pub fn evaluate_where(&self, ev: &FlatEvent, enabled: impl Fn(u32) -> bool) -> Vec<u32> {
        let mut candidates = self.candidates(ev);
        candidates.retain(|i| {
            let r = &self.rules[*i as usize];
            enabled(*i) && r.compiled.matches(ev) && r.filters.iter().all(|f| f.matches(ev))
        });
        candidates
    }

    /// The rules the log-source routing and the literal prefilter let through for an event
    /// (each still to be checked exactly); public for diagnostics and benchmarks.
    pub fn candidates(&self, ev: &FlatEvent) -> Vec<u32> {
        let route = self.route(self.event_source(ev));
        let mut candidates: Vec<u32> = route.unfiltered.clone();
        let mut found = |fa: &FieldAutomaton, text: &str| {
            for m in fa.ac.find_overlapping_iter(text) {
                for r in &fa.rules[m.pattern().as_usize()] {
                    if route.allows(*r) {
                        candidates.push(*r);
                    }
                }
            }
        };
        let any_field = self.any_field.as_ref().filter(|_| route.keywords);
        for leaf in &ev.leaves {
            let text = searchable(leaf);
            if let Some(fa) = any_field {
                found(fa, text);
            }
            if leaf.field == UNNAMED {
                continue;
            }
            let Some(&a) = self.automaton_of.get(leaf.field as usize) else {
                continue;
            };
            let Some(fa) = self.automata.get(a as usize) else {
                continue;
            };
            found(fa, text);
        }
        candidates.sort_unstable();
        candidates.dedup();
        candidates
    }

    /// The event's time in milliseconds since the epoch, from the mapping's time fields.
    pub fn event_time(&self, ev: &FlatEvent) -> Option<i64> {
        self.time_fields.iter().find_map(|f| {
            let t = ev.first(*f)?.trim();
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|d| d.timestamp_millis())
                .ok()
                .or_else(|| {
                    chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f")
                        .ok()
                        .map(|d| d.and_utc().timestamp_millis())
                })
        })
    }

    /// Feeds rule matches of one event to the correlations; returns what fired.
    pub fn correlate(
        &self,
        state: &mut CorrelationState,
        matched: &[u32],
        ev: &FlatEvent,
        time_ms: i64,
        event_ref: u64,
    ) -> Vec<CorrelationMatch> {
        if self.correlations.is_empty() {
            return vec![];
        }
        if state.correlators.len() < self.correlations.len() {
            state
                .correlators
                .resize_with(self.correlations.len(), Correlator::default);
        }
        let mut out = vec![];
        for r in matched {
            for (ci, pos) in &self.by_rule[*r as usize] {
                let entry = &self.correlations[*ci];
                let hit = Hit {
                    time: time_ms,
                    rule: *pos,
                    group: entry.group[*pos]
                        .iter()
                        .map(|f| ev.first(*f).unwrap_or_default().to_string())
                        .collect(),
                    value: entry.value[*pos].and_then(|f| ev.first(f).map(str::to_string)),
                    event: event_ref,
                };
                for fired in state.correlators[*ci].add(&entry.corr, hit) {
                    out.push(CorrelationMatch {
                        correlation: *ci,
                        fired,
                    });
                }
            }
        }
        out
    }

    /// Closes every open window (end of an offline hunt).
    pub fn flush(&self, state: &mut CorrelationState) -> Vec<CorrelationMatch> {
        let mut out = vec![];
        for (ci, c) in state.correlators.iter_mut().enumerate() {
            for fired in c.flush(&self.correlations[ci].corr) {
                out.push(CorrelationMatch {
                    correlation: ci,
                    fired,
                });
            }
        }
        out
    }

    /// Whether a rule's matches feed a correlation.
    pub fn feeds_correlation(&self, rule: u32) -> bool {
        self.by_rule
            .get(rule as usize)
            .is_some_and(|c| !c.is_empty())
    }

    /// The rule indices a correlation listens to.
    pub fn correlation_members(&self, i: usize) -> &[u32] {
        &self.correlations[i].members
    }
}

/// A value as the literal automata search it: they ignore ASCII case, so only text beyond
/// ASCII needs lowering first.
fn searchable<'l>(leaf: &'l crate::event::Leaf<'_>) -> &'l str {
    if leaf.text.is_ascii() {
        &leaf.text
    } else {
        leaf.lower()
    }
}

fn compatible_rule(r: &EngineRule, src: &EventSource) -> bool {
    compatible(&r.rule, src)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigma::load_text;

    fn engine(text: &str) -> Engine {
        let mut loaded = Loaded::default();
        load_text(std::path::Path::new("t.yml"), text, &mut loaded);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        Engine::build(loaded, &Mapping::builtin())
    }

    const RULES: &str = "title: whoami\nid: r1\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image|endswith: '\\whoami.exe'}\n  condition: sel\n---\ntitle: linux whoami\nid: r2\nlogsource: {product: linux, category: process_creation}\ndetection:\n  sel: {Image|endswith: '/whoami'}\n  condition: sel\n---\ntitle: any big count\nid: r3\nlogsource: {product: windows}\ndetection:\n  sel: {Count|gt: 10}\n  condition: sel\n---\ntitle: not system\nid: f1\nlogsource: {product: windows}\nfilter:\n  rules: [r1]\n  sel: {User: SYSTEM}\n  condition: not sel\n";

    #[test]
    fn routing_prefilter_and_filters() {
        let e = engine(RULES);
        assert_eq!(e.stats.rules, 3);
        assert_eq!(e.stats.prefiltered, 2);
        assert_eq!(e.stats.filters, 1);
        let eval = |json: &str| {
            let ev = FlatEvent::from_json(e.schema(), json).unwrap();
            e.evaluate(&ev)
        };
        let sysmon = |img: &str, user: &str| {
            format!(
                r#"{{"Event":{{"System":{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1}},"EventData":{{"Image":"{img}","User":"{user}"}}}}}}"#
            )
        };
        assert_eq!(
            eval(&sysmon("C:\\\\Windows\\\\System32\\\\WHOAMI.EXE", "bob")),
            vec![0]
        );
        assert!(eval(&sysmon("C:\\\\Windows\\\\System32\\\\whoami.exe", "SYSTEM")).is_empty());
        // Routed: a Linux process event never reaches the Windows rule, and vice versa.
        let linux = r#"{"event":{"dataset":"auditd.log","action":"execve"},"process":{"executable":"/usr/bin/whoami"}}"#;
        assert_eq!(eval(linux), vec![1]);
        let ev = FlatEvent::from_json(e.schema(), linux).unwrap();
        let src = e.event_source(&ev);
        assert_eq!(src.product, vec!["linux"]);
        assert!(src.category.contains(&"process_creation".to_string()));
        // Unknown source: every rule is a candidate.
        assert_eq!(eval(r#"{"Image":"/bin/whoami","Count":11}"#), vec![1, 2]);
        // Tagged events route by their own fields.
        assert_eq!(
            eval(r#"{"product":"linux","Image":"x\\whoami.exe","Count":50}"#),
            Vec::<u32>::new()
        );
    }

    #[test]
    fn correlations_run_over_matches() {
        let text = "title: ssh fail\nid: b1\nname: ssh_fail\nlogsource: {product: linux, service: auth}\ndetection:\n  sel: {message|contains: 'Failed password'}\n  condition: sel\n---\ntitle: brute\nid: c1\ncorrelation:\n  type: event_count\n  rules: [ssh_fail]\n  group-by: [source.ip]\n  timespan: 5m\n  condition: {gte: 3}\nlevel: high\n";
        let e = engine(text);
        assert_eq!(e.stats.correlations, 1);
        assert!(e.rules()[0].quiet);
        let mut state = CorrelationState::default();
        let mut fired = vec![];
        for (i, ip) in ["10.0.0.9", "10.0.0.9", "10.0.0.7", "10.0.0.9"]
            .iter()
            .enumerate()
        {
            let json = format!(
                r#"{{"@timestamp":"2026-11-25T10:00:0{i}Z","event":{{"dataset":"linux.auth"}},"message":"Failed password for root from {ip}","source":{{"ip":"{ip}"}}}}"#
            );
            let ev = FlatEvent::from_json(e.schema(), &json).unwrap();
            let m = e.evaluate(&ev);
            assert_eq!(m, vec![0]);
            let t = e.event_time(&ev).unwrap();
            fired.extend(e.correlate(&mut state, &m, &ev, t, i as u64));
        }
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].fired.group, vec!["10.0.0.9".to_string()]);
        assert_eq!(fired[0].fired.events, vec![0, 1, 3]);
    }

    #[test]
    fn unknown_references_are_reported() {
        let mut loaded = Loaded::default();
        load_text(
            std::path::Path::new("t.yml"),
            "title: c\nid: c1\ncorrelation: {type: event_count, rules: [nope], timespan: 1m, condition: {gte: 2}}\n---\ntitle: f\nid: f1\nfilter:\n  rules: [gone]\n  sel: {a: 1}\n  condition: not sel\n",
            &mut loaded,
        );
        let e = Engine::build(loaded, &Mapping::builtin());
        assert_eq!(e.errors.len(), 2, "{:?}", e.errors);
        assert!(e.errors.iter().any(|x| x.reason.contains("nope")));
        assert!(e.errors.iter().any(|x| x.reason.contains("gone")));
    }
}
