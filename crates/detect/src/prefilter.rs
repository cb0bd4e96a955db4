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
//! **Literals**: most rules need a literal in one field (`Image|endswith: \cmd.exe`); an
//! Aho-Corasick automaton over all such literals finds, in one pass over an event's values,
//! the rules worth evaluating. A rule needing literals in two fields (`Image|endswith:
//! \csi.exe` and `Company: Microsoft Corporation`) is worth it only when one of each clause is
//! found. Rules with no such literal are always evaluated. A route that
//! keeps being used gets automata of its own over only the literals of the rules it allows
//! (built on a thread of their own): a web server's access log is then searched for the web
//! rules' few hundred literals, not for the thousands of every Windows rule.

use crate::event::{FieldId, FlatEvent};
use crate::sigma::matcher::{Clauses, ANY_FIELD, MAX_CLAUSES};
use crate::sigma::LogSource;
use aho_corasick::automaton::Automaton;
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
    pub category_named: bool,
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
    /// The categories are all the event's (a mapping definition named them, perhaps none):
    /// an empty list is then no category, not an unknown one.
    pub category_known: bool,
}

/// Whether a rule's log source admits an event of source `ev`.
pub(crate) fn admits(rule: &LogSource, ev: &EventSource) -> bool {
    let ok = |r: &Option<String>, e: &[String], known: bool| match r {
        None => true,
        Some(r) => (e.is_empty() && !known) || e.iter().any(|x| x.eq_ignore_ascii_case(r)),
    };
    ok(&rule.product, &ev.product, false)
        && ok(&rule.service, &ev.service, false)
        && ok(&rule.category, &ev.category, ev.category_known)
}

/// Literals of fewer bytes than this are searched only in their own fields' values: in one
/// pass over every value, a one- or two-byte literal (`" "`, `"="`, a Cyrillic homoglyph)
/// would be found all over other fields.
const SHARED_MIN_LEN: usize = 3;

/// Bits of a [`Clause`] that number the clause within its rule.
const CLAUSE_BITS: u32 = 2;
const _: () = assert!(MAX_CLAUSES <= 1 << CLAUSE_BITS);

/// One clause of one rule's necessary literals: the rule's index shifted left by
/// [`CLAUSE_BITS`], the clause's number in the low bits.
type Clause = u32;

fn clause(rule: u32, number: usize) -> Clause {
    rule << CLAUSE_BITS | number as u32
}

fn rule_of(clause: Clause) -> u32 {
    clause >> CLAUSE_BITS
}

/// An automaton over some literals, with the (field, clause) pairs that need each pattern
/// (the field is [`ANY_FIELD`] for a keyword search's literal). `S` is how it searches:
/// [`AhoCorasick`] for one value at a time, [`Joint`] for all of an event's values at once.
struct Patterns<S> {
    search: S,
    needs: Vec<Vec<(FieldId, Clause)>>,
}

impl<S> Patterns<S> {
    /// Adds to `out` the clauses needing pattern `p` in a field that a value of schema group
    /// `group` answers to (asked once per field: the needs are sorted by field), of rules
    /// `keep` accepts.
    fn found(
        &self,
        p: usize,
        group: u32,
        answers: &impl Fn(u32, FieldId) -> bool,
        keep: &impl Fn(u32) -> bool,
        out: &mut Vec<Clause>,
    ) {
        for same_field in self.needs[p].chunk_by(|a, b| a.0 == b.0) {
            if answers(group, same_field[0].0) {
                out.extend(
                    same_field
                        .iter()
                        .map(|(_, c)| *c)
                        .filter(|c| keep(rule_of(*c))),
                );
            }
        }
    }

    /// The automaton `make` builds over `lits`' distinct literals (lower case; ASCII case
    /// is ignored when searching).
    fn build(lits: &[(&str, FieldId, Clause)], make: impl FnOnce(&[&str]) -> S) -> Self {
        let mut pats: Vec<&str> = vec![];
        let mut index: FxHashMap<&str, usize> = FxHashMap::default();
        let mut needs: Vec<Vec<(FieldId, Clause)>> = vec![];
        for (lit, field, clause) in lits {
            let p = *index.entry(lit).or_insert_with(|| {
                pats.push(lit);
                needs.push(vec![]);
                pats.len() - 1
            });
            needs[p].push((*field, *clause));
        }
        for n in &mut needs {
            n.sort_unstable();
            n.dedup();
        }
        Patterns {
            search: make(&pats),
            needs,
        }
    }
}

/// The crate's choice of automaton (with its prefilter): for short literals, searched a value
/// at a time, and for the full automata.
fn per_value(pats: &[&str]) -> AhoCorasick {
    AhoCorasick::builder()
        // Patterns are lower case; ASCII values are searched as they are.
        .ascii_case_insensitive(true)
        .build(pats)
        .expect("literal patterns build an automaton")
}

/// An automaton searching an event's joined values. A route's own automaton is a full DFA
/// (1.13–1.28× the stream benchmark's rate against the crate's choice), walked in lanes;
/// the full automata are the crate's choice, as DFAs over every literal were 4 % faster on
/// the hunt benchmark for 2.6× the memory (docs/benchmarks.md).
enum Joint {
    Dfa(Box<aho_corasick::dfa::DFA>),
    Chosen(AhoCorasick),
}

impl Joint {
    fn build(pats: &[&str], dfa: bool) -> Joint {
        if dfa {
            let built = aho_corasick::dfa::Builder::new()
                .ascii_case_insensitive(true)
                // A prefilter would make the start state special, stopping the walk there.
                .prefilter(false)
                .build(pats);
            if let Ok(d) = built {
                return Joint::Dfa(Box::new(d));
            }
        }
        Joint::Chosen(per_value(pats))
    }

    /// Calls `report(pattern, end)` for every occurrence of every pattern in `text`, as an
    /// overlapping search does (not necessarily in the same order).
    fn each_match(&self, text: &[u8], mut report: impl FnMut(usize, usize)) {
        match self {
            Joint::Dfa(a) => walk_in_lanes(a.as_ref(), text, report),
            Joint::Chosen(a) => {
                for m in a.find_overlapping_iter(text) {
                    report(m.pattern().as_usize(), m.end());
                }
            }
        }
    }
}

/// Walks `dfa` over [`LANES`] parts of `text` at once, each part ending with a
/// [`SEPARATOR`], through the crate's public [`Automaton`] trait.
///
/// Each step of an automaton waits for the load of the state the previous one chose, so a
/// single walk leaves the core mostly idle: independent walks interleaved overlap their
/// loads. Splitting after a separator loses nothing, as no literal holds that byte: past
/// it, the automaton is back in its start state either way.
fn walk_in_lanes(aut: &aho_corasick::dfa::DFA, text: &[u8], mut report: impl FnMut(usize, usize)) {
    use aho_corasick::Anchored::No;
    let start = aut
        .start_state(No)
        .expect("an unanchored automaton has an unanchored start");
    // Where each lane starts: just after the first separator from its share of the text on.
    let mut begins = [text.len(); LANES];
    begins[0] = 0;
    for lane in 1..LANES {
        let from = (text.len() * lane / LANES).max(begins[lane - 1]);
        begins[lane] =
            memchr::memchr(SEPARATOR, &text[from..]).map_or(text.len(), |at| from + at + 1);
    }
    let parts: [&[u8]; LANES] = std::array::from_fn(|lane| {
        let end = begins.get(lane + 1).copied().unwrap_or(text.len());
        &text[begins[lane]..end]
    });
    let mut matched = |sid, end| {
        if aut.is_match(sid) {
            for i in 0..aut.match_len(sid) {
                report(aut.match_pattern(sid, i).as_usize(), end);
            }
        }
    };
    let mut states = [start; LANES];
    let together = parts.iter().map(|p| p.len()).min().unwrap_or(0);
    // Every lane at the same offset: indexing reads better than zipping the lanes' iterators.
    #[allow(clippy::needless_range_loop)]
    for i in 0..together {
        for lane in 0..LANES {
            states[lane] = aut.next_state(No, states[lane], parts[lane][i]);
        }
        for lane in 0..LANES {
            if aut.is_special(states[lane]) {
                matched(states[lane], begins[lane] + i + 1);
            }
        }
    }
    for lane in 0..LANES {
        let mut s = states[lane];
        for (i, x) in parts[lane][together..].iter().enumerate() {
            s = aut.next_state(No, s, *x);
            if aut.is_special(s) {
                matched(s, begins[lane] + together + i + 1);
            }
        }
    }
}

/// Walks interleaved over one event's joined values (two gave the stream benchmark the same
/// rate as four; one, 4 % less).
const LANES: usize = 4;

/// Automata over a set of rules' literals. Every literal of [`SHARED_MIN_LEN`] bytes or more
/// is in one automaton that searches all of an event's values in a single pass (the values
/// joined by a byte UTF-8 never holds, so no literal spans two); a match counts where the
/// value answers to the literal's field, or anywhere for a keyword search's literal. One
/// search an event rather than one per value (some twenty, half of them over eight bytes or
/// fewer), and for a busy route one automaton small enough to be a full DFA. Shorter
/// literals keep an automaton per group of fields, run only over those fields' values.
struct Literals {
    shared: Option<Patterns<Joint>>,
    /// Schema group → it answers to a field with a shared literal.
    in_shared: Vec<bool>,
    /// Some shared literal is a keyword search's (every value is then searched).
    keywords: bool,
    /// Automata for short literals, and schema group → its automaton (`u32::MAX`: none).
    short: Vec<Patterns<AhoCorasick>>,
    short_of: Vec<u32>,
}

/// What one scan over the joined values needs: the text, and where each value ends with
/// its schema group.
#[derive(Default)]
struct Joined {
    text: Vec<u8>,
    ends: Vec<(usize, u32)>,
    /// A value whose text is already joined (a web log's `message` and `event.original`
    /// hold the same line) is searched once: (its copy's index in `ends`, its group).
    copies: Vec<(usize, u32)>,
    /// The joined values long enough to look for copies of: (start, end, index in `ends`).
    long: Vec<(usize, usize, usize)>,
}

/// Values shorter than this are joined even when their text is already there: a rescan
/// costs less than looking for the copy.
const COPY_MIN_LEN: usize = 16;

/// Joins an event's values; never in UTF-8, so no literal matches across two values.
const SEPARATOR: u8 = 0xff;

thread_local! {
    static JOINED: std::cell::RefCell<Joined> = Default::default();
    /// The clauses one event's scan found (kept between events, like `JOINED`).
    static FOUND: std::cell::RefCell<Vec<Clause>> = Default::default();
}

impl Literals {
    /// Automata over the literals of the rules `include` accepts, for the schema's path
    /// `groups`.
    fn build(
        needs: &[Clauses],
        groups: &[Vec<FieldId>],
        include: impl Fn(u32) -> bool,
        dfa: bool,
    ) -> Self {
        let mut shared: Vec<(&str, FieldId, Clause)> = vec![];
        let mut short: FxHashMap<FieldId, Vec<(&str, FieldId, Clause)>> = FxHashMap::default();
        for (i, clauses) in needs.iter().enumerate() {
            let rule = i as u32;
            if clauses.is_empty() || !include(rule) {
                continue;
            }
            for (number, lits) in clauses.iter().enumerate() {
                for (field, lit) in lits {
                    let lit = (lit.as_str(), *field, clause(rule, number));
                    if *field == ANY_FIELD || lit.0.len() >= SHARED_MIN_LEN {
                        shared.push(lit);
                    } else {
                        short.entry(*field).or_default().push(lit);
                    }
                }
            }
        }
        let shared_fields: FxHashSet<FieldId> = shared.iter().map(|(_, f, _)| *f).collect();
        let in_shared = groups
            .iter()
            .map(|fields| fields.iter().any(|f| shared_fields.contains(f)))
            .collect();
        // Paths answering to the same fields share one automaton for short literals.
        let mut short_of = vec![u32::MAX; groups.len()];
        let mut automata = vec![];
        let mut by_fields: FxHashMap<Vec<FieldId>, u32> = FxHashMap::default();
        for (group, fields) in groups.iter().enumerate() {
            let mut fields: Vec<FieldId> = fields
                .iter()
                .copied()
                .filter(|f| short.contains_key(f))
                .collect();
            if fields.is_empty() {
                continue;
            }
            fields.sort_unstable();
            let a = *by_fields.entry(fields).or_insert_with_key(|fields| {
                let lits: Vec<(&str, FieldId, Clause)> = fields
                    .iter()
                    .flat_map(|f| short[f].iter().copied())
                    .collect();
                automata.push(Patterns::build(&lits, per_value));
                automata.len() as u32 - 1
            });
            short_of[group] = a;
        }
        Literals {
            keywords: shared_fields.contains(&ANY_FIELD),
            shared: (!shared.is_empty())
                .then(|| Patterns::build(&shared, |pats| Joint::build(pats, dfa))),
            in_shared,
            short: automata,
            short_of,
        }
    }

    /// Adds to `out` the clauses (of rules `keep` accepts) whose literals are in the event,
    /// each as often as found; with `keywords`, keyword searches' literals count too.
    fn scan(
        &self,
        ev: &FlatEvent,
        groups: &[Vec<FieldId>],
        keywords: bool,
        keep: impl Fn(u32) -> bool,
        out: &mut Vec<u32>,
    ) {
        let keywords = keywords && self.keywords;
        let answers = |group: u32, field: FieldId| {
            if field == ANY_FIELD {
                keywords
            } else {
                groups
                    .get(group as usize)
                    .is_some_and(|fields| fields.contains(&field))
            }
        };
        let searching = self.shared.is_some();
        JOINED.with_borrow_mut(|joined| {
            joined.text.clear();
            joined.ends.clear();
            joined.copies.clear();
            joined.long.clear();
            for leaf in &ev.leaves {
                // The value's first leaf stands for its group: its aliases hold the same text.
                if leaf.alias {
                    continue;
                }
                let short = self
                    .short_of
                    .get(leaf.group as usize)
                    .and_then(|a| self.short.get(*a as usize));
                let wanted = searching
                    && (keywords
                        || self
                            .in_shared
                            .get(leaf.group as usize)
                            .copied()
                            .unwrap_or(false));
                if short.is_none() && !wanted {
                    continue;
                }
                // Only a value some automaton reads is prepared (non-ASCII text is lowered).
                let text = searchable(leaf);
                if let Some(p) = short {
                    for m in p.search.find_overlapping_iter(text) {
                        p.found(m.pattern().as_usize(), leaf.group, &answers, &keep, out);
                    }
                }
                if wanted {
                    if let Some(copy) = joined.copy_of(text.as_bytes()) {
                        joined.copies.push((copy, leaf.group));
                        continue;
                    }
                    let start = joined.text.len();
                    joined.text.extend_from_slice(text.as_bytes());
                    if text.len() >= COPY_MIN_LEN {
                        joined
                            .long
                            .push((start, joined.text.len(), joined.ends.len()));
                    }
                    joined.ends.push((joined.text.len(), leaf.group));
                    joined.text.push(SEPARATOR);
                }
            }
            let Some(p) = &self.shared else { return };
            if joined.text.is_empty() {
                return;
            }
            p.search.each_match(&joined.text, |pattern, end| {
                let at = joined
                    .ends
                    .partition_point(|(value_end, _)| *value_end < end);
                let copies = joined.copies.iter().filter(|(of, _)| *of == at);
                for group in std::iter::once(joined.ends[at].1).chain(copies.map(|(_, g)| *g)) {
                    p.found(pattern, group, &answers, &keep, out);
                }
            });
        });
    }
}

impl Joined {
    /// The index in `ends` of a joined value with the same text, for a long enough one.
    fn copy_of(&self, text: &[u8]) -> Option<usize> {
        if text.len() < COPY_MIN_LEN {
            return None;
        }
        self.long
            .iter()
            .find(|(start, end, _)| end - start == text.len() && &self.text[*start..*end] == text)
            .map(|(_, _, index)| *index)
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

/// A route used this often gets automata of its own.
const NARROW_AFTER: u32 = 256;
/// A route is narrowed when it keeps at most one in this many literals. Two narrows Windows
/// process creation (1,420 of 3,755 fixture rules, 40 % of the literals): its own DFA over
/// those made the hunt over the regression events 1.07× faster for 90 MB more memory
/// (docs/benchmarks.md); routes keeping more share the full automata.
const NARROW_SHARE: usize = 2;
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
    /// It allows no rule (a tenant's own rules are often all for other log sources).
    closed: bool,
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
    /// Whether an event's route depends on a field, by field id.
    route_fields: Vec<bool>,
    /// The rules' log sources, for routing.
    logsources: Vec<LogSource>,
    /// Rules without literals.
    unfiltered: Vec<u32>,
    all: Arc<Literals>,
    routes: RwLock<FxHashMap<Box<[u8]>, Arc<Route>>>,
    by_source: RwLock<FxHashMap<EventSource, Arc<Route>>>,
    corpus: Arc<Corpus>,
}

/// What routes' own automata are built from, shared with the threads that build them.
struct Corpus {
    /// Necessary literals per rule (no clause: none, always evaluated).
    needs: Vec<Clauses>,
    /// The schema's path groups.
    groups: Vec<Vec<FieldId>>,
    /// Narrowed automata by the rule set they cover.
    narrowed: Mutex<FxHashMap<Vec<u64>, Arc<Literals>>>,
}

impl Prefilter {
    /// Indexes rules by their log sources and `needs` (`needs[i]`: the literals rule `i`
    /// cannot match without) for a schema's path `groups`.
    pub fn build(
        logsources: Vec<LogSource>,
        needs: Vec<Clauses>,
        groups: Vec<Vec<FieldId>>,
        sources: Vec<CompiledSource>,
        source_fields: Option<(FieldId, FieldId, FieldId)>,
    ) -> Prefilter {
        let unfiltered = (0..needs.len() as u32)
            .filter(|i| needs[*i as usize].is_empty())
            .collect();
        let depends: Vec<FieldId> = sources
            .iter()
            .flat_map(|s| s.when.iter().map(|(f, _)| *f))
            .chain(source_fields.iter().flat_map(|(p, s, c)| [*p, *s, *c]))
            .collect();
        let mut route_fields = vec![false; depends.iter().max().map_or(0, |f| *f as usize + 1)];
        for f in depends {
            route_fields[f as usize] = true;
        }
        Prefilter {
            all: Arc::new(Literals::build(&needs, &groups, |_| true, false)),
            sources,
            source_fields,
            route_fields,
            logsources,
            unfiltered,
            routes: Default::default(),
            by_source: Default::default(),
            corpus: Arc::new(Corpus {
                needs,
                groups,
                narrowed: Default::default(),
            }),
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
                out.category_known |= src.category_named;
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
        if route.closed {
            return vec![];
        }
        let mut out = route.unfiltered.clone();
        FOUND.with_borrow_mut(|found| {
            found.clear();
            match self.narrowed(&route) {
                Some(own) => own.scan(ev, &self.corpus.groups, true, |_| true, found),
                None => self.all.scan(
                    ev,
                    &self.corpus.groups,
                    route.keywords,
                    |r| route.allows(r),
                    found,
                ),
            }
            found.sort_unstable();
            found.dedup();
            // A rule is a candidate when every one of its clauses was found.
            for same_rule in found.chunk_by(|a, b| rule_of(*a) == rule_of(*b)) {
                let rule = rule_of(same_rule[0]);
                if same_rule.len() == self.corpus.needs[rule as usize].len() {
                    out.push(rule);
                }
            }
        });
        // Rules without literals and rules found by them are two sets: one sort joins them.
        out.sort_unstable();
        out
    }

    /// The text of the fields the route depends on, as a cache key (one pass over the
    /// leaves, which are sorted by field, rather than a search per route field).
    fn route_key(&self, ev: &FlatEvent) -> Vec<u8> {
        let mut key = Vec::with_capacity(64);
        for leaf in &ev.leaves {
            if self.route_fields.get(leaf.field as usize) == Some(&true) {
                key.extend_from_slice(&leaf.field.to_le_bytes());
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
        let keywords = self.corpus.needs.iter().enumerate().any(|(r, clauses)| {
            allowed(r as u32) && clauses.iter().flatten().any(|(f, _)| *f == ANY_FIELD)
        });
        Route {
            closed: compatible.iter().all(|w| *w == 0),
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

    /// The route's own automata, once they are built: the event that finds the route used
    /// often enough starts building them on a thread of their own (a few hundred
    /// milliseconds for a large set), and the route searches the full automata meanwhile,
    /// so no event waits for them.
    fn narrowed(&self, route: &Arc<Route>) -> Option<Arc<Literals>> {
        if let Some(own) = route.narrowed.get() {
            return own.clone();
        }
        if route.seen.fetch_add(1, Ordering::Relaxed) != NARROW_AFTER {
            return None;
        }
        let (corpus, for_thread) = (self.corpus.clone(), route.clone());
        let spawned = std::thread::Builder::new()
            .name("yunshou-narrow".into())
            .spawn(move || corpus.narrow(&for_thread));
        if spawned.is_err() {
            self.corpus.narrow(route);
        }
        route.narrowed.get().cloned().flatten()
    }
}

impl Corpus {
    /// Gives `route` automata over only the literals of the rules it allows, where that
    /// leaves out most literals (building automata nearly as large as the full ones costs
    /// more than it saves); routes allowing the same rules share them.
    fn narrow(&self, route: &Route) {
        let known = {
            let sets = self.narrowed.lock().expect("narrowed automata");
            sets.get(&route.compatible)
                .cloned()
                .ok_or(sets.len() < MAX_NARROWED)
        };
        let own = match known {
            Ok(own) => Some(own),
            Err(room) => {
                let (kept, all) =
                    self.needs
                        .iter()
                        .enumerate()
                        .fold((0, 0), |(kept, all), (r, clauses)| {
                            let n = clauses.iter().map(Vec::len).sum::<usize>();
                            (kept + if route.allows(r as u32) { n } else { 0 }, all + n)
                        });
                if !room || kept * NARROW_SHARE > all {
                    None
                } else {
                    // Built without the lock, so routes turning busy together build at once;
                    // should two build the same set, the first one stored is shared.
                    let built = Arc::new(Literals::build(
                        &self.needs,
                        &self.groups,
                        |r| route.allows(r),
                        true,
                    ));
                    let mut sets = self.narrowed.lock().expect("narrowed automata");
                    match sets.get(&route.compatible) {
                        Some(first) => Some(first.clone()),
                        None if sets.len() < MAX_NARROWED => {
                            sets.insert(route.compatible.clone(), built.clone());
                            Some(built)
                        }
                        None => None,
                    }
                }
            }
        };
        let _ = route.narrowed.set(own);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every walk in lanes finds what the crate's overlapping search finds, at the same
    /// places, for each kind of automaton, wherever the separators fall.
    #[test]
    fn lanes_find_every_overlapping_match() {
        let pats = ["abc", "bc", "c", "cab", "x\u{0416}y", "aaaa", "ab"];
        let reference = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(pats)
            .unwrap();
        // A small generator (xorshift), so the texts are the same on every run.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet: Vec<Vec<u8>> = ["a", "b", "c", "A", "B", "C", "x", "\u{0416}", "y"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .chain([vec![SEPARATOR]])
            .collect();
        for dfa in [true, false] {
            let joint = Joint::build(&pats, dfa);
            assert_eq!(matches!(joint, Joint::Dfa(_)), dfa);
            for len in 0..60 {
                let mut text: Vec<u8> = (0..len)
                    .flat_map(|_| alphabet[next() as usize % alphabet.len()].clone())
                    .collect();
                text.push(SEPARATOR);
                let mut want: Vec<(usize, usize)> = reference
                    .find_overlapping_iter(text.as_slice())
                    .map(|m| (m.pattern().as_usize(), m.end()))
                    .collect();
                let mut got = vec![];
                joint.each_match(&text, |p, end| got.push((p, end)));
                want.sort_unstable();
                got.sort_unstable();
                assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&text));
            }
        }
        let mut got = vec![];
        Joint::build(&pats, true).each_match(b"zabcab\xffcab\xff", |p, end| got.push((p, end)));
        got.sort_unstable();
        assert_eq!(
            got,
            [
                (0, 4),
                (1, 4),
                (2, 4),
                (2, 8),
                (3, 6),
                (3, 10),
                (6, 3),
                (6, 6),
                (6, 10)
            ]
        );
    }
}
