//! Offline hunting: events fed one by one (from files, in order), findings out — rule matches
//! with the event that matched, and correlation results with the events that made them.
//! Every finding carries the rule's author, as the Detection Rule License asks.

use crate::engine::{CorrelationState, Engine};
use crate::event::FlatEvent;
use serde::Serialize;

/// Where an event came from: which input, which record (from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EventRef {
    /// Index into the caller's list of inputs.
    pub input: usize,
    /// Record number within that input.
    pub record: u64,
}

/// What a finding shows about its rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleInfo<'e> {
    /// Rule id.
    pub rule_id: &'e str,
    /// Title.
    pub rule_title: &'e str,
    /// Level.
    pub level: Option<&'e str>,
    /// Tags.
    pub tags: &'e [String],
    /// Author (Detection Rule License).
    pub author: Option<&'e str>,
}

/// A finding.
#[derive(Debug)]
pub enum Finding<'e, 'a> {
    /// A rule matched an event.
    Rule {
        /// The rule.
        rule: RuleInfo<'e>,
        /// The event.
        at: EventRef,
        /// The event's JSON text as given (it parsed: it is a JSON document).
        event: &'a str,
    },
    /// A correlation fired.
    Correlation {
        /// The correlation rule.
        rule: RuleInfo<'e>,
        /// Its type.
        kind: &'static str,
        /// Grouping values.
        group: Vec<String>,
        /// The aggregate that met the threshold.
        value: f64,
        /// First and last event time (ms).
        first: i64,
        /// Last event time.
        last: i64,
        /// The events in the window.
        events: Vec<EventRef>,
    },
}

/// Counts of a hunt.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct HuntStats {
    /// Events read.
    pub events: u64,
    /// Events that could not be parsed.
    pub unreadable: u64,
    /// Rule matches reported.
    pub matches: u64,
    /// Correlation results.
    pub correlations: u64,
}

/// A hunt in progress.
pub struct Hunter<'e> {
    engine: &'e Engine,
    state: CorrelationState,
    refs: Vec<EventRef>,
    last_time: i64,
    /// Counts so far.
    pub stats: HuntStats,
}

impl<'e> Hunter<'e> {
    /// A hunt with `engine`'s rules.
    pub fn new(engine: &'e Engine) -> Hunter<'e> {
        Hunter {
            engine,
            state: CorrelationState::default(),
            refs: vec![],
            last_time: 0,
            stats: HuntStats::default(),
        }
    }

    fn info_rule(&self, i: u32) -> RuleInfo<'e> {
        let r = &self.engine.rules()[i as usize].rule;
        RuleInfo {
            rule_id: &r.id,
            rule_title: &r.title,
            level: r.level.as_deref(),
            tags: &r.tags,
            author: r.author.as_deref(),
        }
    }

    fn info_correlation(&self, i: usize) -> RuleInfo<'e> {
        let c = self.engine.correlation(i);
        RuleInfo {
            rule_id: &c.id,
            rule_title: &c.title,
            level: c.level.as_deref(),
            tags: &c.tags,
            author: c.author.as_deref(),
        }
    }

    /// Evaluates one event (JSON text, parsed only here); an unparseable event is counted
    /// and its error returned.
    pub fn feed<'a>(
        &mut self,
        at: EventRef,
        event: &'a str,
        out: &mut impl FnMut(Finding<'e, 'a>),
    ) -> Result<(), serde_json::Error> {
        let engine = self.engine;
        let ev = match FlatEvent::from_json(engine.schema(), event) {
            Ok(ev) => ev,
            Err(e) => {
                self.stats.unreadable += 1;
                return Err(e);
            }
        };
        self.stats.events += 1;
        let matched = engine.evaluate(&ev);
        if matched.is_empty() {
            return Ok(());
        }
        for r in &matched {
            if !engine.rules()[*r as usize].quiet {
                self.stats.matches += 1;
                out(Finding::Rule {
                    rule: self.info_rule(*r),
                    at,
                    event,
                });
            }
        }
        if engine.correlation_count() > 0 {
            // Events without a time of their own take the last time seen (file order).
            let time = engine.event_time(&ev).unwrap_or(self.last_time);
            self.last_time = time;
            let event_ref = self.refs.len() as u64;
            self.refs.push(at);
            for m in engine.correlate(&mut self.state, &matched, &ev, time, event_ref) {
                self.emit_correlation(m, out);
            }
        }
        Ok(())
    }

    fn emit_correlation<'a>(
        &mut self,
        m: crate::engine::CorrelationMatch,
        out: &mut impl FnMut(Finding<'e, 'a>),
    ) {
        // A correlation that only feeds others (`generate: false`) is reported through them.
        if m.quiet {
            return;
        }
        self.stats.correlations += 1;
        let c = self.engine.correlation(m.correlation);
        out(Finding::Correlation {
            rule: self.info_correlation(m.correlation),
            kind: c.kind.as_str(),
            group: m.fired.group,
            value: m.fired.value,
            first: m.fired.first,
            last: m.fired.last,
            events: m
                .fired
                .events
                .iter()
                .filter_map(|e| self.refs.get(*e as usize).copied())
                .collect(),
        });
    }

    /// Ends the hunt: windows still open are judged.
    pub fn finish<'a>(&mut self, out: &mut impl FnMut(Finding<'e, 'a>)) {
        let engine = self.engine;
        for m in engine.flush(&mut self.state) {
            self.emit_correlation(m, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::Mapping;
    use crate::sigma::{load_text, Loaded};

    #[test]
    fn chained_correlations_report_the_outer_result_with_the_events_underneath() {
        // A brute force (quiet: it only feeds the next) followed by a login from the address.
        let rules = "title: ssh fail\nid: b1\nname: ssh_fail\nlogsource: {product: linux, service: auth}\ndetection:\n  sel: {message|contains: 'Failed password'}\n  condition: sel\n---\ntitle: ssh ok\nid: b2\nname: ssh_ok\nlogsource: {product: linux, service: auth}\ndetection:\n  sel: {message|contains: 'Accepted password'}\n  condition: sel\n---\ntitle: brute\nid: c1\nname: brute\ncorrelation:\n  type: event_count\n  rules: [ssh_fail]\n  group-by: [source.ip]\n  timespan: 5m\n  condition: {gte: 3}\n---\ntitle: brute then login\nid: c2\nauthor: yunshou\ncorrelation:\n  type: temporal_ordered\n  rules: [brute, ssh_ok]\n  group-by: [source.ip]\n  timespan: 10m\nlevel: high\n";
        let mut loaded = Loaded::default();
        load_text(std::path::Path::new("t.yml"), rules, &mut loaded);
        let engine = Engine::build(loaded, &Mapping::builtin());
        assert!(engine.errors.is_empty(), "{:?}", engine.errors);
        let lines: Vec<String> = [
            (0, "Failed", "203.0.113.9"),
            (5, "Accepted", "10.0.0.1"),
            (10, "Failed", "203.0.113.9"),
            (20, "Failed", "203.0.113.9"),
            (30, "Accepted", "203.0.113.9"),
        ]
        .iter()
        .map(|(sec, what, ip)| {
            format!(
                r#"{{"@timestamp":"2026-11-25T10:00:{sec:02}Z","event":{{"dataset":"linux.auth"}},"message":"{what} password for root from {ip}","source":{{"ip":"{ip}"}}}}"#
            )
        })
        .collect();
        let mut hunter = Hunter::new(&engine);
        let mut found = vec![];
        for (i, line) in lines.iter().enumerate() {
            let at = EventRef {
                input: 0,
                record: i as u64 + 1,
            };
            hunter
                .feed(at, line, &mut |f| found.push(format!("{f:?}")))
                .unwrap();
        }
        hunter.finish(&mut |f| found.push(format!("{f:?}")));
        // No rule matches (all quiet), no brute-force result (quiet): the chain's result only,
        // with the records of the three failures and the login.
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].contains("rule_id: \"c2\""), "{}", found[0]);
        assert!(
            found[0].contains("group: [\"203.0.113.9\"]"),
            "{}",
            found[0]
        );
        let records: Vec<String> = [1, 3, 4, 5]
            .iter()
            .map(|r| format!("EventRef {{ input: 0, record: {r} }}"))
            .collect();
        assert!(
            found[0].contains(&format!("events: [{}]", records.join(", "))),
            "{}",
            found[0]
        );
        assert_eq!(hunter.stats.correlations, 1);
        assert_eq!(hunter.stats.matches, 0);
    }
}
