//! Sigma correlation rules (v2.1): `event_count`, `value_count`, `value_sum`, `value_avg`,
//! `value_percentile`, `temporal` and `temporal_ordered` over the matches of other rules,
//! grouped by fields (with aliases when the rules name a field differently) within a timespan.
//!
//! Windows slide over event time, not arrival time, so events that arrive out of order (by up
//! to one timespan behind the newest) still count: each group keeps its recent matches sorted
//! by time, and a new match is checked against the window ending at it and, when it is late,
//! the windows ending at each later match that reach back to it. A group that fires starts
//! afresh, so one burst gives one result. Conditions with only an upper bound (`lt`, `lte`)
//! can only be judged once a window has closed; they are checked when the group is next
//! touched after its window ends, and by [`Correlator::flush`].
//!
//! A correlation may also list other correlations (chaining); the engine feeds each result of
//! the inner one to the outer as a [`Hit`] at the result's last event time, carrying the
//! result's events, so the outer result names the events underneath.

use rustc_hash::FxHashSet;
use std::collections::HashMap;
use yaml_rust2::Yaml;

/// The kind of correlation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Number of matching events.
    EventCount,
    /// Number of distinct values of a field.
    ValueCount,
    /// Sum of a numeric field.
    ValueSum,
    /// Average of a numeric field.
    ValueAvg,
    /// A percentile of a numeric field.
    ValuePercentile,
    /// All (or N of) the rules matched, in any order.
    Temporal,
    /// All the rules matched, in the order listed.
    TemporalOrdered,
}

impl Kind {
    /// The Sigma name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::EventCount => "event_count",
            Kind::ValueCount => "value_count",
            Kind::ValueSum => "value_sum",
            Kind::ValueAvg => "value_avg",
            Kind::ValuePercentile => "value_percentile",
            Kind::Temporal => "temporal",
            Kind::TemporalOrdered => "temporal_ordered",
        }
    }
}

/// A threshold: every bound must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Threshold {
    /// `(operator, value)` pairs: `gt`, `gte`, `lt`, `lte`, `eq`, `neq`.
    pub bounds: Vec<(String, f64)>,
}

impl Threshold {
    /// Whether `x` satisfies every bound.
    pub fn holds(&self, x: f64) -> bool {
        self.bounds.iter().all(|(op, v)| match op.as_str() {
            "gt" => x > *v,
            "gte" => x >= *v,
            "lt" => x < *v,
            "lte" => x <= *v,
            "eq" => x == *v,
            _ => x != *v,
        })
    }

    /// True when the threshold only bounds from below (once met, more cannot undo it).
    pub fn lower_only(&self) -> bool {
        self.bounds.iter().all(|(op, _)| op == "gt" || op == "gte")
    }

    /// True when the threshold only bounds from above (judged when a window closes).
    pub fn upper_only(&self) -> bool {
        self.bounds.iter().all(|(op, _)| op == "lt" || op == "lte")
    }
}

/// A correlation rule as loaded.
#[derive(Debug, Clone)]
pub struct Correlation {
    /// Id.
    pub id: String,
    /// Name (other correlations may refer to it).
    pub name: Option<String>,
    /// Title.
    pub title: String,
    /// Author (shown with every result).
    pub author: Option<String>,
    /// Level.
    pub level: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Kind.
    pub kind: Kind,
    /// The rules it correlates, by id or name.
    pub rules: Vec<String>,
    /// Grouping fields (alias names allowed).
    pub group_by: Vec<String>,
    /// Window length in milliseconds.
    pub timespan_ms: i64,
    /// The threshold.
    pub threshold: Threshold,
    /// The field aggregated by the value kinds.
    pub field: Option<String>,
    /// The percentile for `value_percentile` (0–100).
    pub percentile: f64,
    /// Alias → (rule id or name → that rule's field).
    pub aliases: HashMap<String, HashMap<String, String>>,
    /// Whether the correlated rules also report their own matches.
    pub generate: bool,
    /// The document as written.
    pub source: String,
}

/// Parses `5m`, `30s`, `1h`, `2d`, `1w` (Sigma timespans) into milliseconds.
pub fn parse_timespan(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("timespan `{s}` is not a number with a unit"))?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        "M" => 30 * 86_400_000,
        "y" => 365 * 86_400_000,
        _ => return Err(format!("timespan `{s}`: unknown unit (s, m, h, d, w)")),
    };
    if n <= 0 {
        return Err(format!("timespan `{s}` must be positive"));
    }
    Ok(n * unit_ms)
}

fn texts(y: &Yaml) -> Vec<String> {
    match y {
        Yaml::Array(a) => a.iter().filter_map(text).collect(),
        other => text(other).into_iter().collect(),
    }
}

fn text(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        _ => None,
    }
}

fn number(y: &Yaml) -> Option<f64> {
    match y {
        Yaml::Integer(i) => Some(*i as f64),
        Yaml::Real(r) => r.parse().ok(),
        Yaml::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Reads a correlation document.
pub fn from_yaml(doc: &Yaml) -> Result<Correlation, String> {
    let c = &doc["correlation"];
    if c.as_hash().is_none() {
        return Err("`correlation` is not a mapping".into());
    }
    let title = text(&doc["title"]).ok_or("no `title`")?;
    let id = text(&doc["id"]).ok_or("no `id`")?;
    let kind = match c["type"].as_str().ok_or("the correlation has no `type`")? {
        "event_count" => Kind::EventCount,
        "value_count" => Kind::ValueCount,
        "value_sum" => Kind::ValueSum,
        "value_avg" => Kind::ValueAvg,
        "value_percentile" => Kind::ValuePercentile,
        "temporal" => Kind::Temporal,
        "temporal_ordered" => Kind::TemporalOrdered,
        other => return Err(format!("unknown correlation type `{other}`")),
    };
    let rules = texts(&c["rules"]);
    if rules.is_empty() {
        return Err("the correlation names no `rules`".into());
    }
    let span = text(&c["timespan"])
        .or_else(|| text(&c["timeframe"]))
        .ok_or("the correlation has no `timespan`")?;
    let timespan_ms = parse_timespan(&span)?;
    let mut threshold = Threshold::default();
    let mut field = None;
    let mut percentile = 50.0;
    match &c["condition"] {
        Yaml::Hash(h) => {
            for (k, v) in h {
                let k = k.as_str().unwrap_or_default();
                match k {
                    "gt" | "gte" | "lt" | "lte" | "eq" | "neq" => threshold.bounds.push((
                        k.to_string(),
                        number(v).ok_or_else(|| format!("condition `{k}` is not a number"))?,
                    )),
                    "field" => field = texts(v).into_iter().next(),
                    "percentile" => {
                        percentile = number(v).ok_or("`percentile` is not a number")?;
                        if !(0.0..=100.0).contains(&percentile) {
                            return Err("`percentile` must be within 0–100".into());
                        }
                    }
                    other => return Err(format!("unknown correlation condition key `{other}`")),
                }
            }
            if threshold.bounds.is_empty() {
                return Err("the correlation condition has no bound (gt, gte, lt, lte, eq)".into());
            }
        }
        Yaml::BadValue if matches!(kind, Kind::Temporal | Kind::TemporalOrdered) => {
            threshold.bounds.push(("gte".into(), rules.len() as f64));
        }
        Yaml::BadValue => return Err("the correlation has no `condition`".into()),
        _ => return Err("the correlation `condition` is not a mapping".into()),
    }
    let needs_field = matches!(
        kind,
        Kind::ValueCount | Kind::ValueSum | Kind::ValueAvg | Kind::ValuePercentile
    );
    if needs_field && field.is_none() {
        return Err(format!(
            "a {} correlation needs a condition `field`",
            kind.as_str()
        ));
    }
    let mut aliases = HashMap::new();
    if let Some(h) = c["aliases"].as_hash() {
        for (alias, per_rule) in h {
            let alias = alias.as_str().ok_or("an alias name is not text")?;
            let mut m = HashMap::new();
            for (rule, field) in per_rule.as_hash().ok_or("an alias is not a mapping")? {
                m.insert(
                    rule.as_str()
                        .ok_or("an alias rule is not text")?
                        .to_string(),
                    field
                        .as_str()
                        .ok_or("an alias field is not text")?
                        .to_string(),
                );
            }
            aliases.insert(alias.to_string(), m);
        }
    }
    let generate = doc["generate"]
        .as_bool()
        .or_else(|| c["generate"].as_bool())
        .unwrap_or(false);
    let mut source = String::new();
    let _ = yaml_rust2::YamlEmitter::new(&mut source).dump(doc);
    Ok(Correlation {
        id,
        name: text(&doc["name"]),
        title,
        author: text(&doc["author"]),
        level: text(&doc["level"]),
        status: text(&doc["status"]),
        tags: texts(&doc["tags"]),
        kind,
        rules,
        group_by: texts(&c["group-by"]),
        timespan_ms,
        threshold,
        field,
        percentile,
        aliases,
        generate,
        source,
    })
}

/// One input to a correlation: a match of one of its detection rules, or a result of one of
/// the correlations it chains over.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Event time, milliseconds since the epoch (a chained result's last event time).
    pub time: i64,
    /// Which of the correlation's rules matched (index into `rules`).
    pub rule: usize,
    /// The grouping values, in `group_by` order.
    pub group: Vec<String>,
    /// The aggregated field's value, when the kind has one.
    pub value: Option<String>,
    /// The caller's references to the events behind it (e.g. stored ids): one for a rule
    /// match, the events of the result for a chained correlation (at most [`MAX_EVENTS`]).
    pub events: Vec<u64>,
}

/// A correlation that fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    /// The grouping values.
    pub group: Vec<String>,
    /// The aggregate that met the threshold (count, distinct count, sum, …).
    pub value: f64,
    /// First and last event time in the window.
    pub first: i64,
    /// Last event time.
    pub last: i64,
    /// The events in the window, each once, in time order (at most [`MAX_EVENTS`]); through a
    /// chain, the events behind the results it correlated.
    pub events: Vec<u64>,
}

/// Events kept per result.
pub const MAX_EVENTS: usize = 100;
/// Matches kept per group (older ones are dropped first).
pub const MAX_PER_GROUP: usize = 10_000;

/// The running state of one correlation rule.
#[derive(Debug, Default)]
pub struct Correlator {
    groups: HashMap<Vec<String>, Vec<Hit>>,
    /// Latest event time seen, for expiring idle groups.
    latest: i64,
}

fn percentile_of(mut xs: Vec<f64>, p: f64) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    if xs.is_empty() {
        return 0.0;
    }
    // Nearest rank.
    let rank = ((p / 100.0) * xs.len() as f64).ceil().max(1.0) as usize;
    xs[rank.min(xs.len()) - 1]
}

impl Correlator {
    /// The window's aggregate; with `judging`, a distinct count may stop once it meets a
    /// threshold no larger count could fail.
    fn aggregate(c: &Correlation, hits: &[Hit], judging: bool) -> f64 {
        let numbers = || -> Vec<f64> {
            hits.iter()
                .filter_map(|h| h.value.as_deref()?.trim().parse::<f64>().ok())
                .collect()
        };
        match c.kind {
            Kind::EventCount => hits.len() as f64,
            Kind::ValueCount => {
                // Judged on every match over windows of thousands: hashed, not sorted.
                let open_ended = judging && c.threshold.lower_only();
                let mut seen: FxHashSet<&str> = FxHashSet::default();
                for v in hits.iter().filter_map(|h| h.value.as_deref()) {
                    if seen.insert(v) && open_ended && c.threshold.holds(seen.len() as f64) {
                        break;
                    }
                }
                seen.len() as f64
            }
            Kind::ValueSum => numbers().iter().sum(),
            Kind::ValueAvg => {
                let n = numbers();
                if n.is_empty() {
                    0.0
                } else {
                    n.iter().sum::<f64>() / n.len() as f64
                }
            }
            Kind::ValuePercentile => percentile_of(numbers(), c.percentile),
            Kind::Temporal => {
                let mut rules: Vec<usize> = hits.iter().map(|h| h.rule).collect();
                rules.sort_unstable();
                rules.dedup();
                rules.len() as f64
            }
            Kind::TemporalOrdered => {
                // How many of the rules matched in their listed order.
                let mut next = 0;
                for h in hits {
                    if h.rule == next {
                        next += 1;
                    }
                }
                next as f64
            }
        }
    }

    fn fired(c: &Correlation, group: &[String], window: &[Hit]) -> Option<Fired> {
        if window.is_empty() {
            return None;
        }
        let judged = Self::aggregate(c, window, true);
        if !c.threshold.holds(judged) {
            return None;
        }
        // A distinct count judged early may have stopped short of the window's whole count.
        let value = if c.kind == Kind::ValueCount {
            Self::aggregate(c, window, false)
        } else {
            judged
        };
        // Each event once (one event may match two rules of a temporal correlation, or
        // reach it both directly and through a chained correlation).
        let mut events = vec![];
        for e in window.iter().flat_map(|h| h.events.iter().copied()) {
            if events.len() == MAX_EVENTS {
                break;
            }
            if !events.contains(&e) {
                events.push(e);
            }
        }
        Some(Fired {
            group: group.to_vec(),
            value,
            first: window[0].time,
            last: window[window.len() - 1].time,
            events,
        })
    }

    /// Adds a match; returns the result when the correlation fires.
    pub fn add(&mut self, c: &Correlation, hit: Hit) -> Vec<Fired> {
        let mut out = vec![];
        self.latest = self.latest.max(hit.time);
        let span = c.timespan_ms;
        if c.threshold.upper_only() {
            // Judge the windows that closed before this event, then start anew.
            let closing: Vec<Vec<String>> = self
                .groups
                .iter()
                .filter(|(_, h)| h.first().is_some_and(|f| f.time + span < hit.time))
                .map(|(g, _)| g.clone())
                .collect();
            for g in closing {
                if let Some(hits) = self.groups.remove(&g) {
                    out.extend(Self::fired(c, &g, &hits));
                }
            }
            let hits = self.groups.entry(hit.group.clone()).or_default();
            let at = hits.partition_point(|h| h.time <= hit.time);
            hits.insert(at, hit);
            return out;
        }
        let group = hit.group.clone();
        let time = hit.time;
        let hits = self.groups.entry(group.clone()).or_default();
        let at = hits.partition_point(|h| h.time <= time);
        hits.insert(at, hit);
        // Forget what no window reaching the newest event can hold.
        let horizon = self.latest - span;
        let keep_from = hits.partition_point(|h| h.time < horizon - span);
        hits.drain(..keep_from);
        if hits.len() > MAX_PER_GROUP {
            let excess = hits.len() - MAX_PER_GROUP;
            hits.drain(..excess);
        }
        // The windows holding this match: the one ending at it and, for a late match, those
        // ending at each later match that reaches back to it (at most 64 checked).
        let from = hits.partition_point(|h| h.time < time);
        let ends: Vec<i64> = hits[from..]
            .iter()
            .map(|h| h.time)
            .take_while(|t| *t <= time + span)
            .take(64)
            .collect();
        for end in ends {
            let lo = hits.partition_point(|h| h.time < end - span);
            let hi = hits.partition_point(|h| h.time <= end);
            if let Some(f) = Self::fired(c, &group, &hits[lo..hi]) {
                self.groups.remove(&group);
                out.push(f);
                break;
            }
        }
        out
    }

    /// Judges every open window (end of input for offline hunting).
    pub fn flush(&mut self, c: &Correlation) -> Vec<Fired> {
        if !c.threshold.upper_only() {
            self.groups.clear();
            return vec![];
        }
        let mut groups: Vec<_> = self.groups.drain().collect();
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        groups
            .into_iter()
            .filter_map(|(g, hits)| Self::fired(c, &g, &hits))
            .collect()
    }

    /// Number of groups held.
    pub fn groups(&self) -> usize {
        self.groups.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yaml_rust2::YamlLoader;

    fn corr(text: &str) -> Correlation {
        from_yaml(&YamlLoader::load_from_str(text).unwrap()[0]).unwrap()
    }

    fn hit(time: i64, rule: usize, group: &str, value: Option<&str>) -> Hit {
        Hit {
            time: time * 1000,
            rule,
            group: vec![group.into()],
            value: value.map(str::to_string),
            events: vec![time as u64],
        }
    }

    #[test]
    fn event_count_with_out_of_order_events() {
        let c = corr("title: t\nid: c\ncorrelation:\n  type: event_count\n  rules: [r]\n  group-by: [ip]\n  timespan: 1m\n  condition: {gte: 3}\n");
        let mut s = Correlator::default();
        assert!(s.add(&c, hit(100, 0, "a", None)).is_empty());
        assert!(
            s.add(&c, hit(200, 0, "a", None)).is_empty(),
            "outside the window"
        );
        assert!(
            s.add(&c, hit(100, 0, "b", None)).is_empty(),
            "another group"
        );
        // Late arrival inside the first window.
        assert!(s.add(&c, hit(130, 0, "a", None)).is_empty());
        let fired = s.add(&c, hit(120, 0, "a", None));
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].value, 3.0);
        assert_eq!((fired[0].first, fired[0].last), (100_000, 130_000));
        assert!(
            s.add(&c, hit(131, 0, "a", None)).is_empty(),
            "fired groups start afresh"
        );
        // Far too late (beyond one timespan behind the newest): forgotten, not counted.
        for t in [400, 401] {
            assert!(s.add(&c, hit(t, 0, "a", None)).is_empty());
        }
        assert!(s.add(&c, hit(250, 0, "a", None)).is_empty());
    }

    #[test]
    fn value_kinds() {
        let vc = corr("title: t\nid: c\ncorrelation:\n  type: value_count\n  rules: [r]\n  group-by: [ip]\n  timespan: 5m\n  condition: {field: user, gte: 3}\n");
        let mut s = Correlator::default();
        for (t, u) in [(1, "a"), (2, "a"), (3, "b")] {
            assert!(s.add(&vc, hit(t, 0, "x", Some(u))).is_empty());
        }
        assert_eq!(s.add(&vc, hit(4, 0, "x", Some("c")))[0].value, 3.0);
        let sum = corr("title: t\nid: c\ncorrelation:\n  type: value_sum\n  rules: [r]\n  timespan: 1h\n  condition: {field: bytes, gt: 1000}\n");
        let mut s = Correlator::default();
        assert!(s.add(&sum, hit(1, 0, "", Some("600"))).is_empty());
        assert_eq!(s.add(&sum, hit(2, 0, "", Some("500")))[0].value, 1100.0);
        let avg = corr("title: t\nid: c\ncorrelation:\n  type: value_avg\n  rules: [r]\n  timespan: 1h\n  condition: {field: ms, gte: 50}\n");
        let mut s = Correlator::default();
        assert!(s.add(&avg, hit(1, 0, "", Some("10"))).is_empty());
        assert_eq!(s.add(&avg, hit(2, 0, "", Some("100")))[0].value, 55.0);
        let pct = corr("title: t\nid: c\ncorrelation:\n  type: value_percentile\n  rules: [r]\n  timespan: 1h\n  condition: {field: ms, percentile: 90, gte: 900}\n");
        let mut s = Correlator::default();
        for t in 1..=9 {
            assert!(s.add(&pct, hit(t, 0, "", Some("10"))).is_empty());
        }
        assert_eq!(
            s.add(&pct, hit(10, 0, "", Some("1000"))).len(),
            0,
            "p90 of 10×… is 10"
        );
        assert_eq!(s.add(&pct, hit(11, 0, "", Some("1000")))[0].value, 1000.0);
    }

    #[test]
    fn temporal_kinds_and_upper_bounds() {
        let t = corr("title: t\nid: c\ncorrelation:\n  type: temporal\n  rules: [a, b]\n  group-by: [host]\n  timespan: 10m\n");
        let mut s = Correlator::default();
        assert!(s.add(&t, hit(10, 1, "h", None)).is_empty());
        assert!(s.add(&t, hit(11, 1, "h", None)).is_empty());
        assert_eq!(s.add(&t, hit(5, 0, "h", None)).len(), 1, "any order");
        let o = corr("title: t\nid: c\ncorrelation:\n  type: temporal_ordered\n  rules: [a, b]\n  group-by: [host]\n  timespan: 10m\n");
        let mut s = Correlator::default();
        assert!(s.add(&o, hit(10, 1, "h", None)).is_empty());
        assert!(s.add(&o, hit(11, 0, "h", None)).is_empty(), "b before a");
        assert_eq!(s.add(&o, hit(12, 1, "h", None)).len(), 1);
        let few = corr("title: t\nid: c\ncorrelation:\n  type: event_count\n  rules: [r]\n  group-by: [host]\n  timespan: 1m\n  condition: {lt: 2}\n");
        let mut s = Correlator::default();
        assert!(s.add(&few, hit(0, 0, "quiet", None)).is_empty());
        assert!(s.add(&few, hit(1, 0, "busy", None)).is_empty());
        assert!(s.add(&few, hit(2, 0, "busy", None)).is_empty());
        let closed = s.add(&few, hit(500, 0, "later", None));
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].group, vec!["quiet".to_string()]);
        assert_eq!(s.flush(&few).len(), 1, "`later` closes at the end");
    }

    #[test]
    fn hits_carry_several_events_within_the_bound() {
        // Chained results arrive as hits that each stand for several events.
        let c = corr("title: t\nid: c\ncorrelation:\n  type: event_count\n  rules: [inner]\n  group-by: [ip]\n  timespan: 1h\n  condition: {gte: 2}\n");
        let mut s = Correlator::default();
        let many = |time: i64, from: u64, n: u64| Hit {
            time: time * 1000,
            rule: 0,
            group: vec!["a".into()],
            value: None,
            events: (from..from + n).collect(),
        };
        assert!(s.add(&c, many(20, 10, 3)).is_empty());
        // Late: its events come first in the result; events it shares are listed once.
        let fired = s.add(&c, many(10, 8, 3));
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].events, vec![8, 9, 10, 11, 12]);
        assert_eq!((fired[0].first, fired[0].last), (10_000, 20_000));
        assert!(s.add(&c, many(30, 100, MAX_EVENTS as u64)).is_empty());
        let fired = s.add(&c, many(31, 1000, MAX_EVENTS as u64));
        assert_eq!(fired[0].events.len(), MAX_EVENTS);
        assert_eq!(fired[0].events[0], 100);
        assert_eq!(fired[0].events[MAX_EVENTS - 1], 100 + MAX_EVENTS as u64 - 1);
    }

    #[test]
    fn parse_errors() {
        let bad = |t: &str| from_yaml(&YamlLoader::load_from_str(t).unwrap()[0]).unwrap_err();
        assert!(
            bad("title: t\nid: c\ncorrelation:\n  type: nope\n  rules: [r]\n  timespan: 1m\n")
                .contains("nope")
        );
        assert!(bad("title: t\nid: c\ncorrelation:\n  type: value_count\n  rules: [r]\n  timespan: 1m\n  condition: {gte: 2}\n").contains("field"));
        assert!(bad("title: t\nid: c\ncorrelation:\n  type: event_count\n  rules: [r]\n  timespan: 5x\n  condition: {gte: 2}\n").contains("unit"));
        assert_eq!(parse_timespan("2h").unwrap(), 7_200_000);
    }
}
