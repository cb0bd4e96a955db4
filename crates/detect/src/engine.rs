//! The detection engine: every loaded rule compiled once, and an event evaluated only against
//! the rules that can match it (log-source routing and the literal prefilter, in
//! `prefilter.rs`), then the correlations run over the matches.

use crate::event::{FieldId, FlatEvent, Schema};
use crate::mapping::Mapping;
use crate::prefilter::{CompiledSource, Prefilter};
use crate::sigma::correlation::{Correlation, Correlator, Fired, Hit, Kind};
use crate::sigma::matcher::{compile_with, Clauses, Compiled};
use crate::sigma::{LoadError, Loaded, Rule};
use rustc_hash::FxHashMap;

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

pub use crate::prefilter::EventSource;

/// What a correlation lists in `rules`: a detection rule, or another correlation whose
/// results are its input (chaining).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member {
    /// A detection rule (index into [`Engine::rules`]).
    Rule(u32),
    /// A correlation rule (index as for [`Engine::correlation`]).
    Correlation(usize),
}

/// Where a member's grouping values come from.
#[derive(Debug)]
enum GroupFrom {
    /// Event fields of a rule's match (aliases resolved).
    Fields(Vec<FieldId>),
    /// Positions in an inner correlation's group values.
    Inner(Vec<usize>),
}

struct CorrelationEntry {
    corr: Correlation,
    /// What each listed rule is.
    members: Vec<Member>,
    /// Grouping per member.
    group: Vec<GroupFrom>,
    /// The aggregated field per member (rule members only).
    value: Vec<Option<FieldId>>,
    /// Its results only feed the correlations that list it (one of them has `generate: false`).
    quiet: bool,
}

/// A correlation result.
#[derive(Debug, Clone)]
pub struct CorrelationMatch {
    /// Index as for [`Engine::correlation`].
    pub correlation: usize,
    /// The correlation only feeds others (a correlation with `generate: false` lists it):
    /// callers report its results only where they also show the matches of quiet rules.
    pub quiet: bool,
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
    /// Rule → (correlation, position in its `rules`) listening to it.
    by_rule: Vec<Vec<(usize, usize)>>,
    /// Correlation → (outer correlation, position in its `rules`) chained over it.
    by_correlation: Vec<Vec<(usize, usize)>>,
    /// Correlations with every inner one before the outer ones that list it (for `flush`).
    chain_order: Vec<usize>,
    prefilter: Prefilter,
    time_fields: Vec<FieldId>,
    /// Every document that could not be used, with its reason.
    pub errors: Vec<LoadError>,
    /// Counts.
    pub stats: BuildStats,
}

impl Engine {
    /// Compiles what was loaded against a mapping. Rules that fail to compile join
    /// `errors` with their reason.
    pub fn build(loaded: Loaded, mapping: &Mapping) -> Engine {
        Self::build_over(loaded, mapping, Schema::default())
    }

    /// Like [`Engine::build`], with `base` (another engine's schema) as the start of this
    /// one's: the fields `base` knows keep their ids and groups, so an event flattened with
    /// this engine's schema also serves the engine `base` belongs to, and one flattening
    /// serves both (a tenant's own rule sets beside the shared rules).
    pub fn build_over(loaded: Loaded, mapping: &Mapping, base: Schema) -> Engine {
        let mut schema = base;
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
                category_named: s.category_named,
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

        let Linked {
            correlations,
            by_rule,
            by_correlation,
            chain_order,
        } = link_correlations(
            loaded.correlations,
            &mut rules,
            &index,
            &mut schema,
            &mut errors,
        );

        // The mapping's paths only for the fields something reads: values no rule, route,
        // correlation or time field names are not flattened at all.
        for (sigma, paths) in &mapping.fields {
            if let Some(id) = schema.lookup(sigma) {
                for p in paths {
                    schema.alias(p, id);
                }
            }
        }

        // The literal prefilter.
        let needs: Vec<Clauses> = rules
            .iter_mut()
            .map(|r| match r.compiled.necessary() {
                Some(clauses) if !clauses.is_empty() && clauses.iter().all(|c| !c.is_empty()) => {
                    r.prefiltered = true;
                    clauses
                }
                // An empty clause means the rule can never match; evaluate it anyway (cheap).
                _ => vec![],
            })
            .collect();
        let prefilter = Prefilter::build(
            rules.iter().map(|r| r.rule.logsource.clone()).collect(),
            needs,
            schema.groups().to_vec(),
            sources,
            source_fields,
        );
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
            by_correlation,
            chain_order,
            prefilter,
            time_fields,
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
        self.prefilter.event_source(ev)
    }

    /// Indices of the rules the event matches (every enabled rule, quiet ones included).
    pub fn evaluate(&self, ev: &FlatEvent) -> Vec<u32> {
        self.evaluate_where(ev, |_| true)
    }

    /// Like [`Engine::evaluate`], only over the rules `enabled` accepts.
    pub fn evaluate_where(&self, ev: &FlatEvent, enabled: impl Fn(u32) -> bool) -> Vec<u32> {
        let mut candidates = self.candidates(ev);
        candidates.retain(|i| enabled(*i) && self.check(*i, ev));
        candidates
    }

    /// Whether rule `i` and its filters match the event (no routing or prefilter).
    pub fn check(&self, i: u32, ev: &FlatEvent) -> bool {
        let r = &self.rules[i as usize];
        r.compiled.matches(ev) && r.filters.iter().all(|f| f.matches(ev))
    }

    /// The rules the log-source routing and the literal prefilter let through for an event
    /// (each still to be checked exactly); public for diagnostics and benchmarks.
    pub fn candidates(&self, ev: &FlatEvent) -> Vec<u32> {
        self.prefilter.candidates(ev)
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

    /// Feeds rule matches of one event to the correlations; returns what fired, the results
    /// of inner correlations before those of the outer ones they fed.
    pub fn correlate(
        &self,
        state: &mut CorrelationState,
        matched: &[u32],
        ev: &FlatEvent,
        time_ms: i64,
        event_ref: u64,
    ) -> Vec<CorrelationMatch> {
        self.correlate_where(state, matched, ev, time_ms, event_ref, |_| true)
    }

    /// Like [`Engine::correlate`], only over the correlations `enabled` accepts: the others
    /// are neither fed nor feed the correlations chained over them.
    pub fn correlate_where(
        &self,
        state: &mut CorrelationState,
        matched: &[u32],
        ev: &FlatEvent,
        time_ms: i64,
        event_ref: u64,
        enabled: impl Fn(usize) -> bool,
    ) -> Vec<CorrelationMatch> {
        if self.correlations.is_empty() {
            return vec![];
        }
        self.grow(state);
        let mut out = vec![];
        for r in matched {
            for (ci, pos) in &self.by_rule[*r as usize] {
                if !enabled(*ci) {
                    continue;
                }
                let entry = &self.correlations[*ci];
                let GroupFrom::Fields(fields) = &entry.group[*pos] else {
                    continue;
                };
                let hit = Hit {
                    time: time_ms,
                    rule: *pos,
                    group: fields
                        .iter()
                        .map(|f| ev.first(*f).unwrap_or_default().to_string())
                        .collect(),
                    value: entry.value[*pos].and_then(|f| ev.first(f).map(str::to_string)),
                    events: vec![event_ref],
                };
                for fired in state.correlators[*ci].add(&entry.corr, hit) {
                    self.chain(state, *ci, fired, &enabled, &mut out);
                }
            }
        }
        out
    }

    fn grow(&self, state: &mut CorrelationState) {
        if state.correlators.len() < self.correlations.len() {
            state
                .correlators
                .resize_with(self.correlations.len(), Correlator::default);
        }
    }

    /// Reports a result of correlation `ci` and feeds it, as one hit, to the correlations
    /// chained over it, and theirs in turn (links never form a cycle).
    fn chain(
        &self,
        state: &mut CorrelationState,
        ci: usize,
        fired: Fired,
        enabled: &impl Fn(usize) -> bool,
        out: &mut Vec<CorrelationMatch>,
    ) {
        let mut queue = std::collections::VecDeque::from([(ci, fired)]);
        while let Some((ci, fired)) = queue.pop_front() {
            for (outer, pos) in &self.by_correlation[ci] {
                if !enabled(*outer) {
                    continue;
                }
                let entry = &self.correlations[*outer];
                let GroupFrom::Inner(at) = &entry.group[*pos] else {
                    continue;
                };
                let hit = Hit {
                    time: fired.last,
                    rule: *pos,
                    group: at
                        .iter()
                        .map(|k| fired.group.get(*k).cloned().unwrap_or_default())
                        .collect(),
                    value: None,
                    events: fired.events.clone(),
                };
                for f in state.correlators[*outer].add(&entry.corr, hit) {
                    queue.push_back((*outer, f));
                }
            }
            out.push(CorrelationMatch {
                correlation: ci,
                quiet: self.correlations[ci].quiet,
                fired,
            });
        }
    }

    /// Closes every open window (end of an offline hunt), inner correlations first so their
    /// last results still reach the correlations chained over them.
    pub fn flush(&self, state: &mut CorrelationState) -> Vec<CorrelationMatch> {
        let mut out = vec![];
        if state.correlators.is_empty() {
            return out;
        }
        self.grow(state);
        for &ci in &self.chain_order {
            let corr = &self.correlations[ci].corr;
            for fired in state.correlators[ci].flush(corr) {
                self.chain(state, ci, fired, &|_| true, &mut out);
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

    /// What a correlation listens to: detection rules and the correlations it chains over.
    pub fn correlation_members(&self, i: usize) -> &[Member] {
        &self.correlations[i].members
    }

    /// Whether a correlation only feeds others (see [`CorrelationMatch::quiet`]).
    pub fn correlation_quiet(&self, i: usize) -> bool {
        self.correlations[i].quiet
    }
}

/// The correlations as linked to their members.
struct Linked {
    correlations: Vec<CorrelationEntry>,
    by_rule: Vec<Vec<(usize, usize)>>,
    by_correlation: Vec<Vec<(usize, usize)>>,
    chain_order: Vec<usize>,
}

fn describe(c: &Correlation) -> String {
    format!("correlation `{}` ({})", c.title, c.id)
}

/// Resolves every correlation's `rules` to detection rules and other correlations. A
/// correlation that names something unknown or ambiguous, takes part in (or builds on) a cycle,
/// groups by a field the correlation it chains over does not group by, aggregates a field over
/// a correlation, or builds on a correlation that failed, joins `errors` with its reason; the
/// others keep their load order.
fn link_correlations(
    corrs: Vec<Correlation>,
    rules: &mut [EngineRule],
    rule_index: &FxHashMap<String, u32>,
    schema: &mut Schema,
    errors: &mut Vec<LoadError>,
) -> Linked {
    let n = corrs.len();
    let mut corr_index: FxHashMap<&str, usize> = FxHashMap::default();
    for (i, c) in corrs.iter().enumerate() {
        corr_index.insert(c.id.as_str(), i);
        if let Some(name) = &c.name {
            corr_index.insert(name.as_str(), i);
        }
    }
    let mut failed: Vec<Option<String>> = vec![None; n];
    // Each listed rule resolved (`None`: unknown or ambiguous, and the correlation failed).
    let mut refs: Vec<Vec<Option<Member>>> = Vec::with_capacity(n);
    for (i, c) in corrs.iter().enumerate() {
        let (mut unknown, mut ambiguous) = (vec![], vec![]);
        let resolved = c
            .rules
            .iter()
            .map(|r| match (rule_index.get(r), corr_index.get(r.as_str())) {
                (Some(m), None) => Some(Member::Rule(*m)),
                (None, Some(j)) => Some(Member::Correlation(*j)),
                (Some(_), Some(_)) => {
                    ambiguous.push(r.as_str());
                    None
                }
                (None, None) => {
                    unknown.push(r.as_str());
                    None
                }
            })
            .collect();
        refs.push(resolved);
        if !unknown.is_empty() {
            failed[i] = Some(format!(
                "{}: names rules or correlations that are not loaded: {}",
                describe(c),
                unknown.join(", ")
            ));
        } else if !ambiguous.is_empty() {
            failed[i] = Some(format!(
                "{}: names both a detection rule and a correlation rule: {}",
                describe(c),
                ambiguous.join(", ")
            ));
        }
    }
    let inner = |i: usize| -> Vec<usize> {
        let mut v: Vec<usize> = refs[i]
            .iter()
            .filter_map(|m| match m {
                Some(Member::Correlation(j)) => Some(*j),
                _ => None,
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    // Dependency order (Kahn): a correlation comes after every correlation it lists.
    let mut users: Vec<Vec<usize>> = vec![vec![]; n];
    let mut waiting = vec![0usize; n];
    for (i, w) in waiting.iter_mut().enumerate() {
        for j in inner(i) {
            users[j].push(i);
            *w += 1;
        }
    }
    let mut order: Vec<usize> = (0..n).filter(|i| waiting[*i] == 0).collect();
    let mut next = 0;
    while next < order.len() {
        let j = order[next];
        next += 1;
        for &i in &users[j] {
            waiting[i] -= 1;
            if waiting[i] == 0 {
                order.push(i);
            }
        }
    }
    // What is left lies on a cycle or builds on one: follow unresolved references until one
    // repeats to name the cycle.
    let reference_to = |i: usize, j: usize| -> &str {
        refs[i]
            .iter()
            .position(|m| *m == Some(Member::Correlation(j)))
            .map_or("?", |k| corrs[i].rules[k].as_str())
    };
    for i in 0..n {
        if waiting[i] == 0 || failed[i].is_some() {
            continue;
        }
        let mut path = vec![i];
        let cycle_from = loop {
            let cur = *path.last().expect("the path starts with i");
            let Some(j) = inner(cur).into_iter().find(|j| waiting[*j] > 0) else {
                break None; // cannot happen: a waiting correlation waits on another
            };
            if let Some(p) = path.iter().position(|x| *x == j) {
                path.push(j);
                break Some(p);
            }
            path.push(j);
        };
        let Some(p) = cycle_from else {
            failed[i] = Some(format!(
                "{}: its references do not resolve",
                describe(&corrs[i])
            ));
            continue;
        };
        let cycle = path[p..]
            .iter()
            .map(|k| corrs[*k].name.as_deref().unwrap_or(&corrs[*k].id))
            .collect::<Vec<_>>()
            .join(" → ");
        failed[i] = Some(if p == 0 {
            format!(
                "{}: its reference `{}` closes a cycle of correlations: {cycle}",
                describe(&corrs[i]),
                reference_to(i, path[1])
            )
        } else {
            format!(
                "{}: its reference `{}` leads into a cycle of correlations: {cycle}",
                describe(&corrs[i]),
                reference_to(i, path[1])
            )
        });
    }
    // In dependency order: what builds on a failed correlation fails; the group-by and the
    // kind must suit chaining.
    let mut inner_groups: Vec<Vec<Option<Vec<usize>>>> = vec![vec![]; n];
    for &i in &order {
        if failed[i].is_some() {
            continue;
        }
        let c = &corrs[i];
        let mut groups = vec![None; c.rules.len()];
        let mut problem = None;
        for (pos, m) in refs[i].iter().enumerate() {
            let Some(Member::Correlation(j)) = m else {
                continue;
            };
            let inner_c = &corrs[*j];
            let reference = &c.rules[pos];
            if failed[*j].is_some() {
                problem = Some(format!(
                    "{}: names correlation `{reference}`, which failed to load",
                    describe(c)
                ));
                break;
            }
            if matches!(
                c.kind,
                Kind::ValueCount | Kind::ValueSum | Kind::ValueAvg | Kind::ValuePercentile
            ) {
                problem = Some(format!(
                    "{}: a {} correlation aggregates the field `{}` of events, but `{reference}` \
                     is a correlation, whose results have no fields (Sigma defines value \
                     correlations over rules only)",
                    describe(c),
                    c.kind.as_str(),
                    c.field.as_deref().unwrap_or_default()
                ));
                break;
            }
            let mut at = vec![];
            for g in &c.group_by {
                let name = c
                    .aliases
                    .get(g)
                    .and_then(|per| {
                        per.get(&inner_c.id)
                            .or_else(|| inner_c.name.as_ref().and_then(|n| per.get(n)))
                    })
                    .unwrap_or(g);
                match inner_c.group_by.iter().position(|x| x == name) {
                    Some(k) => at.push(k),
                    None => {
                        let as_name = if name == g {
                            String::new()
                        } else {
                            format!(" (`{name}` for it)")
                        };
                        problem = Some(format!(
                            "{}: groups by `{g}`{as_name}, which correlation `{reference}` does \
                             not group by (its group-by: {})",
                            describe(c),
                            if inner_c.group_by.is_empty() {
                                "none".to_string()
                            } else {
                                inner_c.group_by.join(", ")
                            }
                        ));
                        break;
                    }
                }
            }
            if problem.is_some() {
                break;
            }
            groups[pos] = Some(at);
        }
        match problem {
            Some(p) => failed[i] = Some(p),
            None => inner_groups[i] = groups,
        }
    }
    // The correlations that loaded keep their order.
    let mut final_index = vec![usize::MAX; n];
    let mut loaded = 0;
    for i in 0..n {
        if failed[i].is_none() {
            final_index[i] = loaded;
            loaded += 1;
        }
    }
    let mut correlations = Vec::with_capacity(loaded);
    let mut by_rule: Vec<Vec<(usize, usize)>> = vec![vec![]; rules.len()];
    let mut by_correlation: Vec<Vec<(usize, usize)>> = vec![vec![]; loaded];
    let mut quiet = vec![false; loaded];
    let mut quiet_rules = vec![];
    let mut refs = refs.into_iter();
    let mut inner_groups = inner_groups.into_iter();
    for (i, c) in corrs.into_iter().enumerate() {
        let (resolved, groups) = (
            refs.next().expect("one per correlation"),
            inner_groups.next().expect("one per correlation"),
        );
        if let Some(reason) = failed[i].take() {
            errors.push(LoadError {
                file: Default::default(),
                document: 0,
                reason,
            });
            continue;
        }
        let ci = final_index[i];
        // A field of rule `m`: its alias target for that rule, else the name itself.
        let resolve = |schema: &mut Schema, name: &str, m: u32| -> FieldId {
            let rule = &rules[m as usize].rule;
            let field = c.aliases.get(name).and_then(|per| {
                per.get(&rule.id)
                    .or_else(|| rule.name.as_ref().and_then(|n| per.get(n)))
            });
            schema.field(field.map(String::as_str).unwrap_or(name))
        };
        let mut members = Vec::with_capacity(resolved.len());
        let mut group = Vec::with_capacity(resolved.len());
        let mut value = Vec::with_capacity(resolved.len());
        for (pos, (m, inner_at)) in resolved.into_iter().zip(groups).enumerate() {
            match m.expect("a loaded correlation resolved all it lists") {
                Member::Rule(r) => {
                    members.push(Member::Rule(r));
                    group.push(GroupFrom::Fields(
                        c.group_by.iter().map(|g| resolve(schema, g, r)).collect(),
                    ));
                    value.push(c.field.as_ref().map(|f| resolve(schema, f, r)));
                    by_rule[r as usize].push((ci, pos));
                    if !c.generate {
                        quiet_rules.push(r);
                    }
                }
                Member::Correlation(j) => {
                    let j = final_index[j];
                    members.push(Member::Correlation(j));
                    group.push(GroupFrom::Inner(
                        inner_at.expect("group positions of a loaded inner correlation"),
                    ));
                    value.push(None);
                    by_correlation[j].push((ci, pos));
                    if !c.generate {
                        quiet[j] = true;
                    }
                }
            }
        }
        correlations.push(CorrelationEntry {
            corr: c,
            members,
            group,
            value,
            quiet: false,
        });
    }
    for (entry, q) in correlations.iter_mut().zip(quiet) {
        entry.quiet = q;
    }
    for r in quiet_rules {
        rules[r as usize].quiet = true;
    }
    let chain_order = order
        .into_iter()
        .map(|i| final_index[i])
        .filter(|ci| *ci != usize::MAX)
        .collect();
    Linked {
        correlations,
        by_rule,
        by_correlation,
        chain_order,
    }
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

    /// The log sources an event is routed by, and the rules it matches.
    fn sourced(e: &Engine, json: &str) -> (EventSource, Vec<u32>) {
        let ev = FlatEvent::from_json(e.schema(), json).unwrap();
        (e.event_source(&ev), e.evaluate(&ev))
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
    fn firewall_and_flow_records_reach_only_rules_for_their_products() {
        // Zeek's RDP rule is a negated selection: on a record without Zeek's fields it would
        // fire, so it must never see netfilter's or a flow collector's records.
        let e = engine("title: public rdp\nid: z1\nlogsource: {product: zeek, service: rdp}\ndetection:\n  sel: {id.orig_h|cidr: 10.0.0.0/8}\n  condition: not sel\n---\ntitle: linux firewall drop\nid: l1\nlogsource: {product: linux}\ndetection:\n  sel: {event.action: ngfw-drop}\n  condition: sel\n---\ntitle: any firewall\nid: f1\nlogsource: {category: firewall}\ndetection:\n  sel: {dst_port: 445}\n  condition: sel\n");
        let eval = |json: &str| sourced(&e, json);
        let (src, hits) = eval(
            r#"{"event":{"dataset":"firewall","action":"ngfw-drop"},"source":{"ip":"45.155.205.233"},"destination":{"ip":"10.20.12.84","port":445}}"#,
        );
        assert_eq!(
            (src.product, src.category),
            (vec!["linux".to_string()], vec!["firewall".to_string()])
        );
        assert_eq!(hits, vec![1, 2]);
        for dataset in ["netflow.v5", "netflow.v9", "ipfix"] {
            let (src, hits) = eval(&format!(
                r#"{{"event":{{"dataset":"{dataset}"}},"source":{{"ip":"36.110.44.8"}},"destination":{{"ip":"10.20.10.26","port":445}}}}"#
            ));
            assert_eq!(src.product, vec!["netflow"], "{dataset}");
            // Neither the Zeek nor the Linux rule; a rule naming only a category still reads
            // it (the flow's category is unknown, a wildcard).
            assert_eq!(hits, vec![2], "{dataset}");
        }
        // Without a known source the negated rule is still a candidate (routing loses nothing).
        assert_eq!(eval(r#"{"destination":{"port":445}}"#).1, vec![0, 2]);
    }

    #[test]
    fn sources_naming_no_category_skip_rules_that_name_one() {
        // A keyword rule for Sysmon for Linux's process records would fire on an SSH line
        // that mentions the same word; the mapping says auth, syslog and auditd lines are in
        // no category, so only auditd's execve (process_creation) and events of unknown
        // source reach it.
        let e = engine("title: linux shell\nid: p1\nlogsource: {product: linux, category: process_creation}\ndetection:\n  kw: [bash]\n  condition: kw\n---\ntitle: auth bash\nid: a1\nlogsource: {product: linux, service: auth}\ndetection:\n  kw: [bash]\n  condition: kw\n---\ntitle: any linux\nid: l1\nlogsource: {product: linux}\ndetection:\n  kw: [bash]\n  condition: kw\n");
        let eval = |json: &str| sourced(&e, json);
        for dataset in ["linux.auth", "syslog", "auditd.log"] {
            let (src, hits) = eval(&format!(
                r#"{{"event":{{"dataset":"{dataset}"}},"message":"session opened by bash"}}"#
            ));
            assert!(src.category.is_empty() && src.category_known, "{dataset}");
            let own = if dataset == "linux.auth" {
                vec![1, 2]
            } else {
                vec![2]
            };
            assert_eq!(hits, own, "{dataset}");
        }
        let (src, hits) = eval(
            r#"{"event":{"dataset":"auditd.log","action":"execve"},"message":"exe=/bin/bash"}"#,
        );
        assert_eq!(src.category, vec!["process_creation"]);
        assert_eq!(hits, vec![0, 2]);
        // The execve system call's own record (it names the new image) is one too; another
        // system call's is not.
        let syscall = |arch: &str, nr: &str| {
            format!(
                r#"{{"event":{{"dataset":"auditd.log","action":"syscall"}},"auditd":{{"data":{{"arch":"{arch}","syscall":"{nr}"}}}},"message":"exe=/bin/bash"}}"#
            )
        };
        for (arch, nr) in [
            ("c000003e", "59"),
            ("c00000b7", "221"),
            ("x86_64", "execve"),
        ] {
            assert_eq!(eval(&syscall(arch, nr)).1, vec![0, 2], "{arch} {nr}");
        }
        for (arch, nr) in [("c000003e", "2"), ("c000003e", "221"), ("c00000b7", "59")] {
            assert_eq!(eval(&syscall(arch, nr)).1, vec![2], "{arch} {nr}");
        }
        // A tagged event naming only its product keeps an unknown category (a wildcard).
        assert_eq!(
            eval(r#"{"product":"linux","message":"bash"}"#).1,
            vec![0, 1, 2]
        );
        assert_eq!(eval(r#"{"message":"bash"}"#).1, vec![0, 1, 2]);
    }

    #[test]
    fn busy_routes_narrow_without_losing_candidates() {
        // A keyword rule and a field rule for Linux authentication, next to Windows rules
        // whose literals the narrowed automata leave out.
        let text = format!(
            "{RULES}---\ntitle: ssh keyword\nid: k1\nlogsource: {{product: linux, service: auth}}\ndetection:\n  kw: ['Failed password']\n  condition: kw\n---\ntitle: root\nid: u1\nlogsource: {{product: linux, service: auth}}\ndetection:\n  sel: {{user.name: root}}\n  condition: sel\n---\ntitle: windows keyword\nid: k2\nlogsource: {{product: windows}}\ndetection:\n  kw: ['Failed password']\n  condition: kw\n"
        );
        let e = engine(&text);
        let auth = r#"{"event":{"dataset":"linux.auth"},"user":{"name":"ROOT"},"message":"Failed password for root"}"#;
        let ev = FlatEvent::from_json(e.schema(), auth).unwrap();
        let want = vec![3, 4];
        // Past the threshold the route searches its own automata: the same answers.
        for _ in 0..600 {
            assert_eq!(e.candidates(&ev), want);
        }
        assert_eq!(e.evaluate(&ev), want);
        let other =
            r#"{"event":{"dataset":"linux.auth"},"user":{"name":"alice"},"message":"Accepted"}"#;
        assert!(e
            .candidates(&FlatEvent::from_json(e.schema(), other).unwrap())
            .is_empty());
    }

    #[test]
    fn the_rarer_conjunct_guards_a_rule() {
        // `GET` is in nearly every request; `={{` in almost none.
        let text = "title: ssti\nid: s1\nlogsource: {category: webserver}\ndetection:\n  get: {cs-method: GET}\n  kw: ['={{', '=${']\n  condition: get and kw\n";
        let e = engine(text);
        let web = |url: &str| {
            let json = format!(
                r#"{{"event":{{"dataset":"nginx.access"}},"http":{{"request":{{"method":"GET"}}}},"url":{{"original":"{url}"}}}}"#
            );
            let ev = FlatEvent::from_json(e.schema(), &json).unwrap();
            (e.candidates(&ev), e.evaluate(&ev))
        };
        assert_eq!(web("/index.html"), (vec![], vec![]));
        assert_eq!(web("/q?name={{7*7}}"), (vec![0], vec![0]));
    }

    #[test]
    fn literals_count_in_their_own_fields_and_never_across_values() {
        // `url.original` is registered first, so its value comes just before the agent's in
        // the joined text the shared automaton searches.
        let text = "title: path\nid: p1\nlogsource: {product: test}\ndetection:\n  sel: {url.original|contains: 'zzz'}\n  condition: sel\n---\ntitle: agent\nid: a1\nlogsource: {product: test}\ndetection:\n  sel: {user_agent.original|contains: 'sqlmap'}\n  condition: sel\n---\ntitle: short\nid: m1\nlogsource: {product: test}\ndetection:\n  sel: {http.request.method: 'GE'}\n  condition: sel\n---\ntitle: keyword\nid: k1\nlogsource: {product: test}\ndetection:\n  kw: ['evilcorp']\n  condition: kw\n";
        let e = engine(text);
        let candidates =
            |json: &str| e.candidates(&FlatEvent::from_json(e.schema(), json).unwrap());
        assert_eq!(
            candidates(r#"{"user_agent":{"original":"SQLMap/1.7"}}"#),
            vec![1]
        );
        // In another field the literal says nothing.
        assert!(
            candidates(r#"{"url":{"original":"/sqlmap"},"user_agent":{"original":"curl"}}"#)
                .is_empty()
        );
        // Two values never run into each other.
        assert!(
            candidates(r#"{"url":{"original":"/sql"},"user_agent":{"original":"map/1"}}"#)
                .is_empty()
        );
        // A two-byte literal is searched in its own field only.
        assert_eq!(
            candidates(r#"{"http":{"request":{"method":"GE"}}}"#),
            vec![2]
        );
        assert!(candidates(
            r#"{"http":{"request":{"method":"PUT"}},"user_agent":{"original":"GE"}}"#
        )
        .is_empty());
        // A keyword is found in any value, named or not.
        assert_eq!(
            candidates(r#"{"user_agent":{"original":"x"},"note":"from EvilCorp"}"#),
            vec![3]
        );
    }

    #[test]
    fn a_value_held_twice_is_searched_once_for_both_fields() {
        // A web log's `message` and `event.original` hold the same line: the joined text has
        // it once, and a literal found there counts for either field.
        let text = "title: in message\nid: m1\nlogsource: {product: test}\ndetection:\n  sel: {message|contains: 'union select'}\n  condition: sel\n---\ntitle: in original\nid: o1\nlogsource: {product: test}\ndetection:\n  sel: {event.original|contains: 'union select'}\n  condition: sel\n---\ntitle: in agent\nid: a1\nlogsource: {product: test}\ndetection:\n  sel: {user_agent.original|contains: 'union select'}\n  condition: sel\n---\ntitle: keyword\nid: k1\nlogsource: {product: test}\ndetection:\n  kw: ['union select']\n  condition: kw\n";
        // Literals of another product's rule, so the test route keeps few enough to narrow.
        let others: Vec<String> = (0..16).map(|i| format!("'tool{i}.exe'")).collect();
        let text = format!(
            "{text}---\ntitle: tools\nid: w1\nlogsource: {{product: windows}}\ndetection:\n  sel: {{Image|endswith: [{}]}}\n  condition: sel\n",
            others.join(", ")
        );
        let e = engine(&text);
        let line = "GET /q?id=1 UNION SELECT password FROM users HTTP/1.1";
        let ev = |json: String| {
            let ev = FlatEvent::from_json(e.schema(), &json).unwrap();
            (e.candidates(&ev), e.evaluate(&ev))
        };
        let both = format!(
            r#"{{"product":"test","message":"{line}","event":{{"original":"{line}"}},"user_agent":{{"original":"curl/8.5"}}}}"#
        );
        // Past the threshold the route's own automata answer the same.
        for _ in 0..600 {
            assert_eq!(ev(both.clone()), (vec![0, 1, 3], vec![0, 1, 3]));
        }
        // The agent holds the line too: three fields share one search.
        let three = format!(
            r#"{{"product":"test","message":"{line}","event":{{"original":"{line}"}},"user_agent":{{"original":"{line}"}}}}"#
        );
        assert_eq!(ev(three), (vec![0, 1, 2, 3], vec![0, 1, 2, 3]));
        // Only in the original: the other fields' rules are no candidates.
        let one = format!(
            r#"{{"product":"test","message":"GET / HTTP/1.1","event":{{"original":"{line}"}}}}"#
        );
        assert_eq!(ev(one), (vec![1, 3], vec![1, 3]));
    }

    #[test]
    fn a_small_rule_set_flattens_only_what_it_reads() {
        let e = engine("title: key login\nid: s1\nlogsource: {product: linux, service: sshd}\ndetection:\n  sel: {message|contains: 'Accepted publickey'}\n  condition: sel\n");
        // The mapping knows `c-ip` and `source.ip`, but no rule, route or time field reads them.
        assert!(e.schema().lookup("c-ip").is_none());
        assert!(e.schema().lookup("source.ip").is_none());
        let json = r#"{"event":{"dataset":"system.auth"},"process":{"name":"sshd"},"source":{"ip":"203.0.113.9"},"message":"Accepted publickey for ops from 203.0.113.9"}"#;
        let ev = FlatEvent::from_json(e.schema(), json).unwrap();
        assert!(ev
            .leaves
            .iter()
            .all(|l| !l.text.contains("203.0.113.9") || l.text.starts_with("Accepted")));
        assert_eq!(e.evaluate(&ev), vec![0]);
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(
            e.evaluate(&FlatEvent::from_value(e.schema(), &value)),
            vec![0]
        );
    }

    #[test]
    fn an_engine_built_over_another_serves_events_flattened_once() {
        let shared_text = format!(
            "{RULES}---\ntitle: ssh keyword\nid: k1\nlogsource: {{product: linux, service: auth}}\ndetection:\n  kw: ['Failed password']\n  condition: kw\n"
        );
        let load = |text: &str| {
            let mut loaded = Loaded::default();
            load_text(std::path::Path::new("t.yml"), text, &mut loaded);
            loaded
        };
        let shared = Engine::build(load(&shared_text), &Mapping::builtin());
        // The tenant's rules read fields the shared ones do not (`c-ip`, `message`), one
        // they do (`Image`), and a keyword.
        let own_text = "title: key login\nid: s1\nlogsource: {product: linux}\ndetection:\n  sel: {message|contains: 'Accepted publickey'}\n  condition: sel\n---\ntitle: from\nid: s2\ndetection:\n  sel: {c-ip: 203.0.113.9}\n  condition: sel\n---\ntitle: tool\nid: s3\nlogsource: {product: linux, category: process_creation}\ndetection:\n  sel: {Image|endswith: '/nc'}\n  kw: [reverse]\n  condition: sel or kw\n";
        let own = Engine::build_over(load(own_text), &Mapping::builtin(), shared.schema().clone());
        let alone = Engine::build(load(own_text), &Mapping::builtin());
        assert_eq!(
            shared.schema().lookup("Image"),
            own.schema().lookup("Image")
        );
        let events = [
            r#"{"event":{"dataset":"system.auth"},"process":{"name":"sshd"},"source":{"ip":"203.0.113.9"},"message":"Accepted publickey for ops from 203.0.113.9"}"#,
            r#"{"event":{"dataset":"system.auth"},"message":"Failed password for root from 198.51.100.7"}"#,
            r#"{"event":{"dataset":"auditd.log","action":"execve"},"process":{"executable":"/usr/bin/whoami"}}"#,
            r#"{"event":{"dataset":"auditd.log","action":"execve"},"process":{"executable":"/bin/nc","args":["reverse"]}}"#,
            r#"{"Event":{"System":{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1},"EventData":{"Image":"C:\\Windows\\System32\\whoami.exe","User":"bob"}}}"#,
            r#"{"Image":"/bin/whoami","Count":11,"note":"reverse"}"#,
        ];
        let mut fired = 0;
        // Past the busy-route threshold, so narrowed automata take part too.
        for round in 0..300 {
            for json in events {
                let value: serde_json::Value = serde_json::from_str(json).unwrap();
                let once = FlatEvent::from_value(own.schema(), &value);
                let apart = FlatEvent::from_value(shared.schema(), &value);
                assert_eq!(shared.evaluate(&once), shared.evaluate(&apart), "{json}");
                assert_eq!(
                    shared.candidates(&once),
                    shared.candidates(&apart),
                    "{json}"
                );
                let own_alone = FlatEvent::from_value(alone.schema(), &value);
                let matched = own.evaluate(&once);
                assert_eq!(matched, alone.evaluate(&own_alone), "{json}");
                if round == 0 {
                    fired += matched.len();
                }
            }
        }
        assert_eq!(
            fired, 4,
            "s1 and s2 on the login, s3 on nc and on the unrouted event's keyword"
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

    // Chaining: correlations over correlations. Base rules over sshd lines (ECS, builtin
    // mapping): a failed and an accepted password.
    const SSH: &str = "title: ssh fail\nid: b1\nname: ssh_fail\nlogsource: {product: linux, service: auth}\ndetection:\n  sel: {message|contains: 'Failed password'}\n  condition: sel\n---\ntitle: ssh ok\nid: b2\nname: ssh_ok\nlogsource: {product: linux, service: auth}\ndetection:\n  sel: {message|contains: 'Accepted password'}\n  condition: sel\n";

    /// Three failures from one address on one host within five minutes.
    const BRUTE: &str = "title: ssh brute force\nid: c-brute\nname: brute\ncorrelation:\n  type: event_count\n  rules: [ssh_fail]\n  group-by: [source.ip, host.name]\n  timespan: 5m\n  condition: {gte: 3}\n";

    fn chained(extra: &str) -> Engine {
        let e = engine(&format!("{SSH}---\n{BRUTE}---\n{extra}"));
        assert!(e.errors.is_empty(), "{:?}", e.errors);
        e
    }

    /// An sshd line (ECS) `sec` seconds after 10:00 on `host` from `ip`; `ok`: accepted.
    fn sshd(sec: u32, host: &str, ip: &str, ok: bool) -> String {
        let what = if ok { "Accepted" } else { "Failed" };
        format!(
            r#"{{"@timestamp":"2026-11-25T10:{:02}:{:02}Z","event":{{"dataset":"linux.auth"}},"host":{{"name":"{host}"}},"message":"{what} password for root from {ip}","source":{{"ip":"{ip}"}}}}"#,
            sec / 60,
            sec % 60
        )
    }

    /// What fired: (correlation id, group, events, quiet).
    type Out = Vec<(String, Vec<String>, Vec<u64>, bool)>;

    fn shown(e: &Engine, fired: Vec<CorrelationMatch>) -> Out {
        fired
            .into_iter()
            .map(|m| {
                (
                    e.correlation(m.correlation).id.clone(),
                    m.fired.group,
                    m.fired.events,
                    m.quiet,
                )
            })
            .collect()
    }

    /// Feeds `(seconds, host, ip, accepted)` lines in the order given (event ref = position).
    fn feed(e: &Engine, state: &mut CorrelationState, lines: &[(u32, &str, &str, bool)]) -> Out {
        let mut out = vec![];
        for (i, (sec, host, ip, ok)) in lines.iter().enumerate() {
            let json = sshd(*sec, host, ip, *ok);
            let ev = FlatEvent::from_json(e.schema(), &json).unwrap();
            let m = e.evaluate(&ev);
            assert_eq!(m.len(), 1, "line {i}");
            let t = e.event_time(&ev).unwrap();
            out.extend(shown(e, e.correlate(state, &m, &ev, t, i as u64)));
        }
        out
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn load_errors(text: &str) -> (Engine, Vec<String>) {
        let mut loaded = Loaded::default();
        load_text(std::path::Path::new("t.yml"), text, &mut loaded);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let e = Engine::build(loaded, &Mapping::builtin());
        let reasons = e.errors.iter().map(|x| x.reason.clone()).collect();
        (e, reasons)
    }

    #[test]
    fn a_correlation_over_a_correlation() {
        // Brute force on a host, then a login from that address within ten minutes.
        let e = chained("title: brute force then login\nid: c-owned\ncorrelation:\n  type: temporal_ordered\n  rules: [brute, ssh_ok]\n  group-by: [source.ip]\n  timespan: 10m\nlevel: high\n");
        assert_eq!(e.stats.correlations, 2);
        let (brute, owned) = (0, 1);
        assert_eq!(
            e.correlation_members(owned),
            &[Member::Correlation(brute), Member::Rule(1)]
        );
        assert!(e.correlation_quiet(brute), "`generate` is false by default");
        assert!(!e.correlation_quiet(owned));
        assert!(e.rules().iter().all(|r| r.quiet));
        let mut state = CorrelationState::default();
        let out = feed(
            &e,
            &mut state,
            &[
                (0, "h1", "203.0.113.9", false),
                (10, "h1", "203.0.113.9", false),
                // Another host: another brute-force group.
                (20, "h2", "203.0.113.9", false),
                // A login before any brute force from 198.51.100.7 counts for nothing.
                (25, "h1", "198.51.100.7", true),
                (40, "h1", "203.0.113.9", false),
                (50, "h1", "203.0.113.9", true),
            ],
        );
        assert_eq!(
            out,
            vec![
                (
                    "c-brute".into(),
                    s(&["203.0.113.9", "h1"]),
                    vec![0, 1, 4],
                    true
                ),
                (
                    "c-owned".into(),
                    s(&["203.0.113.9"]),
                    vec![0, 1, 4, 5],
                    false
                ),
            ]
        );
        // The other address: failures, a login, then the third failure — the login came
        // before the brute force, so nothing follows it.
        let out = feed(
            &e,
            &mut state,
            &[
                (100, "h3", "198.51.100.8", false),
                (110, "h3", "198.51.100.8", false),
                (115, "h3", "198.51.100.8", true),
                (120, "h3", "198.51.100.8", false),
            ],
        );
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].0, "c-brute");
    }

    #[test]
    fn late_events_travel_through_a_chain() {
        let e = chained("title: brute force then login\nid: c-owned\ncorrelation:\n  type: temporal_ordered\n  rules: [brute, ssh_ok]\n  group-by: [source.ip]\n  timespan: 10m\n");
        // The login arrives first, the failures before it late and out of order: the brute
        // force fires on the last of them, at its last event's time (40 s), before the login.
        let mut state = CorrelationState::default();
        let out = feed(
            &e,
            &mut state,
            &[
                (50, "h1", "203.0.113.9", true),
                (10, "h1", "203.0.113.9", false),
                (40, "h1", "203.0.113.9", false),
                (0, "h1", "203.0.113.9", false),
            ],
        );
        assert_eq!(
            out,
            vec![
                (
                    "c-brute".into(),
                    s(&["203.0.113.9", "h1"]),
                    vec![3, 1, 2],
                    true
                ),
                (
                    "c-owned".into(),
                    s(&["203.0.113.9"]),
                    vec![3, 1, 2, 0],
                    false
                ),
            ]
        );
        // A brute force whose last failure comes after the login does not make it "followed
        // by a login", however late it arrives.
        let mut state = CorrelationState::default();
        let out = feed(
            &e,
            &mut state,
            &[
                (30, "h1", "203.0.113.9", true),
                (0, "h1", "203.0.113.9", false),
                (10, "h1", "203.0.113.9", false),
                (40, "h1", "203.0.113.9", false),
            ],
        );
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].0, "c-brute");
    }

    #[test]
    fn three_levels_with_aliases_and_generate() {
        // brute → owned (a login after it, on the same host; `generate: true` keeps the brute
        // force's own results) → campaign (two hosts owned from one address; `generate`
        // unset, so `owned` only feeds it), grouping by an alias of `owned`'s source.ip.
        let e = chained("title: brute force then login\nid: c-owned\nname: owned\ngenerate: true\ncorrelation:\n  type: temporal_ordered\n  rules: [brute, ssh_ok]\n  group-by: [source.ip, host.name]\n  timespan: 10m\n---\ntitle: campaign\nid: c-campaign\ncorrelation:\n  type: event_count\n  rules: [owned]\n  group-by: [attacker]\n  aliases:\n    attacker:\n      owned: source.ip\n  timespan: 1h\n  condition: {gte: 2}\n");
        assert_eq!(e.stats.correlations, 3);
        assert!(!e.correlation_quiet(0), "`owned` generates its inputs");
        assert!(e.correlation_quiet(1), "`campaign` does not");
        assert!(!e.correlation_quiet(2));
        let mut state = CorrelationState::default();
        let ip = "203.0.113.9";
        let mut lines = vec![];
        for (host, at) in [("h1", 0), ("h2", 600)] {
            for k in 0..3 {
                lines.push((at + k * 10, host, ip, false));
            }
            lines.push((at + 40, host, ip, true));
        }
        let out = feed(&e, &mut state, &lines);
        assert_eq!(
            out,
            vec![
                ("c-brute".into(), s(&[ip, "h1"]), vec![0, 1, 2], false),
                ("c-owned".into(), s(&[ip, "h1"]), vec![0, 1, 2, 3], true),
                ("c-brute".into(), s(&[ip, "h2"]), vec![4, 5, 6], false),
                ("c-owned".into(), s(&[ip, "h2"]), vec![4, 5, 6, 7], true),
                ("c-campaign".into(), s(&[ip]), (0..8).collect(), false),
            ]
        );
    }

    #[test]
    fn flush_reaches_through_chains() {
        // `once`: an address that logged in only once in ten minutes (judged when its window
        // closes); `then_once`: a brute force and such a login from one address (fed by the
        // flush of `once`); `single`: exactly one brute-force burst per address in the hour
        // (judged at the end too).
        let e = chained("title: one login\nid: c-once\nname: once\ncorrelation:\n  type: event_count\n  rules: [ssh_ok]\n  group-by: [source.ip]\n  timespan: 10m\n  condition: {lt: 2}\n---\ntitle: then once\nid: c-then-once\ncorrelation:\n  type: temporal\n  rules: [brute, once]\n  group-by: [source.ip]\n  timespan: 1h\n---\ntitle: single burst\nid: c-single\ncorrelation:\n  type: event_count\n  rules: [brute]\n  group-by: [source.ip]\n  timespan: 1h\n  condition: {lt: 2}\n");
        let ip = "203.0.113.9";
        let mut state = CorrelationState::default();
        let out = feed(
            &e,
            &mut state,
            &[
                (0, "h1", ip, false),
                (10, "h1", ip, false),
                (20, "h1", ip, false),
                (30, "h1", ip, true),
            ],
        );
        assert_eq!(out.len(), 1, "only the brute force so far: {out:?}");
        let out = shown(&e, e.flush(&mut state));
        assert_eq!(
            out,
            vec![
                ("c-once".into(), s(&[ip]), vec![3], true),
                ("c-then-once".into(), s(&[ip]), vec![0, 1, 2, 3], false),
                ("c-single".into(), s(&[ip]), vec![0, 1, 2], false),
            ]
        );
        assert!(e.flush(&mut state).is_empty(), "flushed once");
        assert!(
            e.flush(&mut CorrelationState::default()).is_empty(),
            "no state, nothing to close"
        );
    }

    #[test]
    fn generate_decides_what_an_inner_correlation_reports() {
        // Listed by one correlation that generates and one that does not: quiet, as rules are.
        let text = "title: a\nid: c-a\ngenerate: true\ncorrelation:\n  type: event_count\n  rules: [brute]\n  group-by: [source.ip]\n  timespan: 1h\n  condition: {gte: 2}\n";
        let e = chained(text);
        assert!(!e.correlation_quiet(0));
        assert!(e.rules()[0].quiet, "brute's own rule stays quiet");
        assert!(!e.rules()[1].quiet, "nothing correlates ssh_ok");
        let e = chained(&format!("{text}---\ntitle: b\nid: c-b\ncorrelation:\n  type: event_count\n  rules: [c-brute]\n  group-by: [host.name]\n  timespan: 1h\n  condition: {{gte: 2}}\n"));
        assert!(e.correlation_quiet(0), "c-b does not generate, by id");
        let mut state = CorrelationState::default();
        let out = feed(
            &e,
            &mut state,
            &[
                (0, "h1", "203.0.113.9", false),
                (1, "h1", "203.0.113.9", false),
                (2, "h1", "203.0.113.9", false),
            ],
        );
        assert_eq!(out.len(), 1);
        assert!(out[0].3, "returned, marked quiet");
        // Not listed by any other correlation: reported.
        let e = chained("title: unrelated\nid: c-u\ncorrelation:\n  type: event_count\n  rules: [ssh_ok]\n  group-by: [source.ip]\n  timespan: 1h\n  condition: {gte: 5}\n");
        assert!(!e.correlation_quiet(0) && !e.correlation_quiet(1));
    }

    #[test]
    fn disabled_correlations_do_not_feed_chains() {
        let e = chained("title: brute force then login\nid: c-owned\ncorrelation:\n  type: temporal_ordered\n  rules: [brute, ssh_ok]\n  group-by: [source.ip]\n  timespan: 10m\n");
        let mut state = CorrelationState::default();
        let mut out = vec![];
        for (i, (sec, ok)) in [(0, false), (10, false), (20, false), (30, true)]
            .into_iter()
            .enumerate()
        {
            let json = sshd(sec, "h1", "203.0.113.9", ok);
            let ev = FlatEvent::from_json(e.schema(), &json).unwrap();
            let m = e.evaluate(&ev);
            let t = e.event_time(&ev).unwrap();
            out.extend(e.correlate_where(&mut state, &m, &ev, t, i as u64, |c| c != 0));
        }
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn chaining_errors_name_the_correlation_and_the_reference() {
        let cyc = |id: &str, name: &str, over: &str| {
            format!("title: {id}\nid: {id}\nname: {name}\ncorrelation:\n  type: event_count\n  rules: [{over}]\n  timespan: 1h\n  condition: {{gte: 2}}\n")
        };
        let text = [
            SSH.to_string(),
            BRUTE.to_string(),
            // A cycle of two, one correlation building on it, one naming itself.
            cyc("c-x", "x", "y"),
            cyc("c-y", "y", "x"),
            cyc("c-z", "z", "x"),
            cyc("c-self", "me", "me"),
            // Unknown, and built on what failed.
            cyc("c-unknown", "u", "nope"),
            cyc("c-on-failed", "of", "u"),
            // Group-by fields the inner correlation does not have (plain, and through an
            // alias), and one it has through an alias (loads).
            "title: by user\nid: c-user\ncorrelation:\n  type: event_count\n  rules: [brute]\n  group-by: [user.name]\n  timespan: 1h\n  condition: {gte: 2}\n".into(),
            "title: by alias\nid: c-alias-bad\ncorrelation:\n  type: event_count\n  rules: [brute]\n  group-by: [who]\n  aliases:\n    who:\n      brute: user.name\n  timespan: 1h\n  condition: {gte: 2}\n".into(),
            "title: by alias ok\nid: c-alias\ncorrelation:\n  type: event_count\n  rules: [brute]\n  group-by: [addr]\n  aliases:\n    addr:\n      c-brute: source.ip\n  timespan: 1h\n  condition: {gte: 2}\n".into(),
            // A value correlation over a correlation.
            "title: hosts\nid: c-value\ncorrelation:\n  type: value_count\n  rules: [brute]\n  group-by: [source.ip]\n  timespan: 1h\n  condition: {field: host.name, gte: 3}\n".into(),
            // A name that is a rule's and a correlation's.
            cyc("c-dup", "ssh_ok", "brute"),
            cyc("c-ambiguous", "amb", "ssh_ok"),
        ]
        .join("---\n");
        let (e, errors) = load_errors(&text);
        let has = |id: &str, parts: &[&str]| {
            let found = errors
                .iter()
                .find(|r| r.contains(&format!("({id})")))
                .unwrap_or_else(|| panic!("no error for {id}: {errors:#?}"));
            for p in parts {
                assert!(found.contains(p), "{id}: `{p}` not in `{found}`");
            }
        };
        has("c-x", &["`y`", "closes a cycle", "x → y → x"]);
        has("c-y", &["`x`", "closes a cycle", "y → x → y"]);
        has("c-z", &["`x`", "leads into a cycle", "x → y → x"]);
        has("c-self", &["`me`", "closes a cycle", "me → me"]);
        has("c-unknown", &["not loaded", "nope"]);
        has("c-on-failed", &["`u`", "failed to load"]);
        has(
            "c-user",
            &["`user.name`", "`brute`", "source.ip, host.name"],
        );
        has("c-alias-bad", &["`who`", "`user.name`", "`brute`"]);
        has("c-value", &["value_count", "`brute`"]);
        has("c-ambiguous", &["ssh_ok", "both"]);
        assert_eq!(errors.len(), 10, "{errors:#?}");
        // What loaded works: brute, the alias one, and c-dup (its `brute` is unambiguous).
        let ids: Vec<&str> = (0..e.correlation_count())
            .map(|i| e.correlation(i).id.as_str())
            .collect();
        assert_eq!(ids, vec!["c-brute", "c-alias", "c-dup"]);
        assert_eq!(e.stats.correlations, 3);
        assert_eq!(
            e.correlation_members(1),
            &[Member::Correlation(0)],
            "indices follow what loaded"
        );
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
