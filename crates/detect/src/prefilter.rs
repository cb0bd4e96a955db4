//! Which rules an event is worth evaluating against: log-source routing, then the literal
//! prefilter.
//!
//! **Routing**: the mapping says which Sigma log sources an event belongs to; a rule whose
//! product, service or category conflicts is never looked at (an event with no known source
//! is checked against every rule, so routing never loses a match). An event's route depends
//! only on the values of a few fields (`event.dataset`, `Channel`, `EventID`…), so routes are
//! cached by those values' text: finding one costs a handful of lookups, not the mapping's
//! every source definition.
//!
//! **Literals**: most rules need a literal in one field (`Image|endswith: \cmd.exe`); one
//! Aho-Corasick automaton per field, over all such literals, finds in one pass over each value
//! the rules worth evaluating. Rules with no such literal are always evaluated. A route that
//! keeps being used gets automata of its own over only the literals of the rules it allows:
//! a web server's access log is then searched for the web rules' few hundred literals, not
//! for the thousands of every Windows rule.

use crate::event::{FieldId, FlatEvent};
use crate::sigma::matcher::ANY_FIELD;
use crate::sigma::LogSource;
use aho_corasick::AhoCorasick;
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// A log-source definition of the mapping, its fields resolved.
#[derive(Debug, Clone)]
pub(crate) struct CompiledSource {
    pub when: Vec<(FieldId, Vec<String>)>,
    pub product: Vec<String>,
    pub service: Vec<String>,
    pub category: Vec<String>,
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

/// Whether a rule's log source admits an event of source `ev`.
pub(crate) fn admits(rule: &LogSource, ev: &EventSource) -> bool {
    let ok = |r: &Option<String>, e: &[String]| match r {
        None => true,
        Some(r) => e.is_empty() || e.iter().any(|x| x.eq_ignore_ascii_case(r)),
    };
    ok(&rule.product, &ev.product)
        && ok(&rule.service, &ev.service)
        && ok(&rule.category, &ev.category)
}

struct FieldAutomaton {
    ac: AhoCorasick,
    /// Pattern index → rules needing it.
    rules: Vec<Vec<u32>>,
    /// It holds the keyword literals too.
    with_keywords: bool,
}

impl FieldAutomaton {
    fn build(lits: &[(&str, u32)], with_keywords: bool) -> FieldAutomaton {
        let mut pats: Vec<&str> = vec![];
        let mut index: FxHashMap<&str, usize> = FxHashMap::default();
        let mut rules: Vec<Vec<u32>> = vec![];
        for (lit, rule) in lits {
            let p = *index.entry(lit).or_insert_with(|| {
                pats.push(lit);
                rules.push(vec![]);
                pats.len() - 1
            });
            rules[p].push(*rule);
        }
        for r in &mut rules {
            r.sort_unstable();
            r.dedup();
        }
        FieldAutomaton {
            // The crate picks the automaton; full DFAs were measured 4 % faster on the hunt
            // benchmark for 2.6× the memory (docs/benchmarks.md).
            ac: AhoCorasick::builder()
                // Patterns are lower case; ASCII values are searched as they are.
                .ascii_case_insensitive(true)
                .build(&pats)
                .expect("literal patterns build an automaton"),
            rules,
            with_keywords,
        }
    }
}

/// Automata over a set of rules' literals: one per group of fields that share a value (an
/// event path answering to several Sigma names is searched once for all of them), plus one
/// for keyword searches.
struct Literals {
    automata: Vec<FieldAutomaton>,
    /// Schema group → automaton index (`u32::MAX`: none).
    automaton_of: Vec<u32>,
    /// Literals of keyword searches, found in any value.
    any_field: Option<FieldAutomaton>,
}

impl Literals {
    /// Automata over the literals of the rules `include` accepts, for the schema's path
    /// `groups`; with `merge_keywords` the keyword literals join each group's automaton, so
    /// a value is searched once (worth it for a route's few keywords, not for all of them).
    fn build(
        needs: &[Vec<(FieldId, String)>],
        groups: &[Vec<FieldId>],
        include: impl Fn(u32) -> bool,
        merge_keywords: bool,
    ) -> Self {
        let mut per_field: FxHashMap<FieldId, Vec<(&str, u32)>> = FxHashMap::default();
        for (i, lits) in needs.iter().enumerate() {
            let rule = i as u32;
            if lits.is_empty() || !include(rule) {
                continue;
            }
            for (field, lit) in lits {
                per_field
                    .entry(*field)
                    .or_default()
                    .push((lit.as_str(), rule));
            }
        }
        let keywords = per_field.remove(&ANY_FIELD).unwrap_or_default();
        let any_field = (!keywords.is_empty()).then(|| FieldAutomaton::build(&keywords, true));
        // Paths answering to the same fields share one automaton.
        let group_fields: Vec<Vec<FieldId>> = groups
            .iter()
            .map(|fields| {
                let mut fields: Vec<FieldId> = fields
                    .iter()
                    .copied()
                    .filter(|f| per_field.contains_key(f))
                    .collect();
                fields.sort_unstable();
                fields
            })
            .collect();
        let distinct: FxHashSet<&[FieldId]> = group_fields
            .iter()
            .filter(|f| !f.is_empty())
            .map(Vec::as_slice)
            .collect();
        // Each automaton repeats every keyword literal: only while that stays cheap to build.
        let merge = merge_keywords
            && !keywords.is_empty()
            && keywords.len() * distinct.len() <= MERGE_BUDGET;
        let mut automaton_of = vec![u32::MAX; groups.len()];
        let mut automata = vec![];
        let mut by_fields: FxHashMap<&[FieldId], u32> = FxHashMap::default();
        for (group, fields) in group_fields.iter().enumerate() {
            if fields.is_empty() {
                continue;
            }
            let a = *by_fields
                .entry(fields.as_slice())
                .or_insert_with_key(|fields| {
                    let mut lits: Vec<(&str, u32)> = fields
                        .iter()
                        .flat_map(|f| per_field[f].iter().copied())
                        .collect();
                    if merge {
                        lits.extend(keywords.iter().copied());
                    }
                    automata.push(FieldAutomaton::build(&lits, merge));
                    automata.len() as u32 - 1
                });
            automaton_of[group] = a;
        }
        Literals {
            automata,
            automaton_of,
            any_field,
        }
    }

    /// Adds to `out` the rules (that `keep` accepts) whose literals are in the event.
    fn scan(&self, ev: &FlatEvent, keywords: bool, keep: impl Fn(u32) -> bool, out: &mut Vec<u32>) {
        let mut found = |fa: &FieldAutomaton, text: &str| {
            for m in fa.ac.find_overlapping_iter(text) {
                out.extend(
                    fa.rules[m.pattern().as_usize()]
                        .iter()
                        .filter(|r| keep(**r)),
                );
            }
        };
        let any_field = self.any_field.as_ref().filter(|_| keywords);
        for leaf in &ev.leaves {
            // The value's first leaf stands for its group: its aliases hold the same text.
            if leaf.alias {
                continue;
            }
            let text = searchable(leaf);
            let own = self
                .automaton_of
                .get(leaf.group as usize)
                .and_then(|a| self.automata.get(*a as usize));
            if let Some(fa) = own {
                found(fa, text);
            }
            if let Some(fa) = any_field.filter(|_| !own.is_some_and(|o| o.with_keywords)) {
                found(fa, text);
            }
        }
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

/// Keyword literals are merged into a narrowed route's field automata while that adds at
/// most this many patterns.
const MERGE_BUDGET: usize = 4096;
/// A route used this often gets automata of its own.
const NARROW_AFTER: u32 = 256;
/// A route is narrowed when it keeps at most one in this many literals.
const NARROW_SHARE: usize = 4;
/// At most this many distinct narrowed rule sets are kept (events can claim arbitrary
/// sources through fields; beyond it, routes share the full automata).
const MAX_NARROWED: usize = 64;
/// Routes cached by their fields' text before the cache starts again.
const MAX_ROUTES: usize = 4096;

/// Where events of one log source go.
struct Route {
    /// Bit per rule: its log source admits the event.
    compatible: Vec<u64>,
    /// Rules without literals it allows (always evaluated).
    unfiltered: Vec<u32>,
    /// Some rule it allows searches keywords (else the any-field pass is skipped).
    keywords: bool,
    /// Events routed here so far (until it is narrowed).
    seen: AtomicU32,
    /// Its own automata, once it is used often enough (`None`: it shares the full ones).
    narrowed: OnceLock<Option<Arc<Literals>>>,
}

impl Route {
    fn allows(&self, rule: u32) -> bool {
        self.compatible
            .get(rule as usize / 64)
            .is_some_and(|w| w & (1 << (rule % 64)) != 0)
    }
}

/// Routing and literal prefilter over a fixed set of rules.
pub(crate) struct Prefilter {
    sources: Vec<CompiledSource>,
    /// Event fields carrying the log source directly: (product, service, category).
    source_fields: Option<(FieldId, FieldId, FieldId)>,
    /// Every field an event's route depends on.
    route_fields: Vec<FieldId>,
    /// Literals per rule (empty: none, always evaluated).
    needs: Vec<Vec<(FieldId, String)>>,
    /// The rules' log sources, for routing.
    logsources: Vec<LogSource>,
    /// Rules without literals.
    unfiltered: Vec<u32>,
    /// The schema's path groups.
    groups: Vec<Vec<FieldId>>,
    all: Arc<Literals>,
    routes: RwLock<FxHashMap<Box<[u8]>, Arc<Route>>>,
    by_source: RwLock<FxHashMap<EventSource, Arc<Route>>>,
    /// Narrowed automata by the rule set they cover.
    narrowed: Mutex<FxHashMap<Vec<u64>, Arc<Literals>>>,
}

impl Prefilter {
    /// Indexes rules by their log sources and `needs` (`needs[i]`: the literals rule `i`
    /// cannot match without) for a schema's path `groups`.
    pub fn build(
        logsources: Vec<LogSource>,
        needs: Vec<Vec<(FieldId, String)>>,
        groups: Vec<Vec<FieldId>>,
        sources: Vec<CompiledSource>,
        source_fields: Option<(FieldId, FieldId, FieldId)>,
    ) -> Prefilter {
        let unfiltered = (0..needs.len() as u32)
            .filter(|i| needs[*i as usize].is_empty())
            .collect();
        let mut route_fields: Vec<FieldId> = sources
            .iter()
            .flat_map(|s| s.when.iter().map(|(f, _)| *f))
            .chain(source_fields.iter().flat_map(|(p, s, c)| [*p, *s, *c]))
            .collect();
        route_fields.sort_unstable();
        route_fields.dedup();
        Prefilter {
            all: Arc::new(Literals::build(&needs, &groups, |_| true, false)),
            sources,
            source_fields,
            route_fields,
            needs,
            logsources,
            unfiltered,
            groups,
            routes: Default::default(),
            by_source: Default::default(),
            narrowed: Default::default(),
        }
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

    /// The rules the routing and the literals let through for an event, sorted.
    pub fn candidates(&self, ev: &FlatEvent) -> Vec<u32> {
        let route = self.route(ev);
        let mut out = route.unfiltered.clone();
        match self.narrowed(&route) {
            Some(own) => own.scan(ev, true, |_| true, &mut out),
            None => self
                .all
                .scan(ev, route.keywords, |r| route.allows(r), &mut out),
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The text of the fields the route depends on, as a cache key.
    fn route_key(&self, ev: &FlatEvent) -> Vec<u8> {
        let mut key = Vec::with_capacity(64);
        for f in &self.route_fields {
            for leaf in ev.values(*f) {
                key.extend_from_slice(&f.to_le_bytes());
                key.extend_from_slice(leaf.text.as_bytes());
                // Never in UTF-8: values cannot run into each other.
                key.push(0xff);
            }
        }
        key
    }

    fn route(&self, ev: &FlatEvent) -> Arc<Route> {
        let key = self.route_key(ev);
        if let Some(r) = self.routes.read().expect("routes").get(key.as_slice()) {
            return r.clone();
        }
        let src = self.event_source(ev);
        let known = self.by_source.read().expect("routes").get(&src).cloned();
        let route = known.unwrap_or_else(|| Arc::new(self.new_route(&src)));
        let mut routes = self.routes.write().expect("routes");
        let mut by_source = self.by_source.write().expect("routes");
        // Events can claim arbitrary sources through fields; keep the caches bounded.
        if routes.len() >= MAX_ROUTES {
            routes.clear();
            by_source.clear();
        }
        routes.insert(key.into_boxed_slice(), route.clone());
        by_source.insert(src, route.clone());
        route
    }

    fn new_route(&self, src: &EventSource) -> Route {
        let mut compatible = vec![0u64; self.logsources.len().div_ceil(64)];
        for (i, r) in self.logsources.iter().enumerate() {
            if admits(r, src) {
                compatible[i / 64] |= 1 << (i % 64);
            }
        }
        let allowed = |i: u32| compatible[i as usize / 64] & (1 << (i % 64)) != 0;
        let keywords = self
            .all
            .any_field
            .as_ref()
            .is_some_and(|fa| fa.rules.iter().flatten().any(|r| allowed(*r)));
        Route {
            unfiltered: self
                .unfiltered
                .iter()
                .copied()
                .filter(|i| allowed(*i))
                .collect(),
            keywords,
            compatible,
            seen: AtomicU32::new(0),
            narrowed: OnceLock::new(),
        }
    }

    /// The route's own automata, once it has been used often enough to be worth them.
    fn narrowed(&self, route: &Route) -> Option<Arc<Literals>> {
        if let Some(own) = route.narrowed.get() {
            return own.clone();
        }
        if route.seen.fetch_add(1, Ordering::Relaxed) < NARROW_AFTER {
            return None;
        }
        route
            .narrowed
            .get_or_init(|| {
                let mut sets = self.narrowed.lock().expect("narrowed automata");
                if let Some(own) = sets.get(&route.compatible) {
                    return Some(own.clone());
                }
                // Worth it where the route leaves out most literals: building automata
                // nearly as large as the full ones costs more than it saves.
                let (kept, all) =
                    self.needs
                        .iter()
                        .enumerate()
                        .fold((0, 0), |(kept, all), (r, lits)| {
                            let n = lits.len();
                            (kept + if route.allows(r as u32) { n } else { 0 }, all + n)
                        });
                if kept * NARROW_SHARE > all || sets.len() >= MAX_NARROWED {
                    return None;
                }
                let own = Literals::build(&self.needs, &self.groups, |r| route.allows(r), true);
                let own = Arc::new(own);
                sets.insert(route.compatible.clone(), own.clone());
                Some(own)
            })
            .clone()
    }
}
