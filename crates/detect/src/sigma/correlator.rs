//! The running windows of correlation rules ([`super::correlation`] reads the rules).
//!
//! Windows slide over event time, not arrival time, so events that arrive out of order (by up
//! to one timespan behind the newest) still count: each group keeps its recent matches sorted
//! by time, and a new match is checked against the window ending at it and, when it is late,
//! the windows ending at each later match that reach back to it. A group that fires starts
//! afresh, so one burst gives one result. Conditions with only an upper bound (`lt`, `lte`)
//! can only be judged once a window has closed; they are checked when the group is next
//! touched after its window ends, and by [`Correlator::flush`].
//!
//! While matches arrive in time order (a stream's normal case) judging costs no pass over the
//! window: each group keeps a [`Tally`] of the window ending at its newest match (its distinct
//! values, its matches per listed rule), updated as matches enter and leave it. A brute-force
//! source holds thousands of matches in a ten-minute window, and counting them afresh at
//! every match made the detector slower the longer a stream ran. A late match is judged by
//! counting its windows afresh, and the tally is rebuilt at the group's next match in order.
//! Matches sit in a ring buffer, so dropping the oldest of a full group moves nothing, and
//! groups no window can reach any more are swept away once a timespan.
//!
//! A correlation may also list other correlations (chaining); the engine feeds each result of
//! the inner one to the outer as a [`Hit`] at the result's last event time, carrying the
//! result's events, so the outer result names the events underneath.

use super::correlation::{Correlation, Kind};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::VecDeque;

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

/// One group's matches, sorted by time, and the tally of the window ending at the newest.
#[derive(Debug, Default)]
struct Group {
    hits: VecDeque<Hit>,
    /// `None` after a late match, until the group's next match in time order rebuilds it.
    tally: Option<Tally>,
}

/// What the window ending at a group's newest match holds, for the kinds that can be judged
/// from it.
#[derive(Debug, Default)]
struct Tally {
    /// Position in the group's matches of the window's first.
    from: usize,
    /// Value → matches in the window carrying it (`value_count`).
    values: FxHashMap<String, u32>,
    /// Matches in the window per listed rule (the temporal kinds).
    rules: Vec<u32>,
    /// Listed rules with a match in the window.
    present: usize,
}

impl Tally {
    /// Counts a match into the window (`enters`) or out of it.
    fn count(&mut self, kind: Kind, h: &Hit, enters: bool) {
        match kind {
            Kind::ValueCount => {
                let Some(v) = &h.value else { return };
                match self.values.get_mut(v.as_str()) {
                    Some(n) if enters => *n += 1,
                    None if enters => {
                        self.values.insert(v.clone(), 1);
                    }
                    Some(n) if *n > 1 => *n -= 1,
                    Some(_) => {
                        self.values.remove(v.as_str());
                    }
                    None => {}
                }
            }
            Kind::Temporal | Kind::TemporalOrdered => {
                if self.rules.len() <= h.rule {
                    self.rules.resize(h.rule + 1, 0);
                }
                let n = &mut self.rules[h.rule];
                if enters {
                    self.present += usize::from(*n == 0);
                    *n += 1;
                } else if *n > 0 {
                    *n -= 1;
                    self.present -= usize::from(*n == 0);
                }
            }
            _ => {}
        }
    }

    /// The window's aggregate where the tally tells it, or a bound on it that already fails
    /// the threshold; `None`: count the window.
    fn judged(&self, c: &Correlation, len: usize) -> Option<f64> {
        let present = self.present as f64;
        match c.kind {
            Kind::EventCount => Some(len as f64),
            Kind::ValueCount => Some(self.values.len() as f64),
            Kind::Temporal => Some(present),
            // Rules matched in order are at most the rules matched at all.
            Kind::TemporalOrdered if c.threshold.lower_only() && !c.threshold.holds(present) => {
                Some(present)
            }
            _ => None,
        }
    }
}

/// The running state of one correlation rule.
#[derive(Debug, Default)]
pub struct Correlator {
    groups: FxHashMap<Vec<String>, Group>,
    /// Latest event time seen, for expiring idle groups.
    latest: i64,
    /// Latest event time at the last sweep of groups no window can reach.
    swept: i64,
    /// Tests judge every window by counting it, the tallies' oracle.
    #[cfg(test)]
    afresh: bool,
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

    /// The result of `window` when it meets the threshold; `judged` is its aggregate (or a
    /// failing bound) from a tally, else the window is counted.
    fn fired(
        c: &Correlation,
        group: &[String],
        window: &[Hit],
        judged: Option<f64>,
    ) -> Option<Fired> {
        if window.is_empty() {
            return None;
        }
        let tallied = judged.is_some();
        let judged = judged.unwrap_or_else(|| Self::aggregate(c, window, true));
        if !c.threshold.holds(judged) {
            return None;
        }
        // A distinct count judged early may have stopped short of the window's whole count.
        let value = if c.kind == Kind::ValueCount && !tallied {
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

    /// Forgets the groups whose newest match is beyond the reach of any window still to be
    /// judged (a late match is taken up to one timespan behind the newest), once a timespan:
    /// a long stream's one-off sources do not pile up.
    fn sweep(&mut self, c: &Correlation) {
        let span = c.timespan_ms;
        if c.threshold.upper_only() || self.latest - self.swept < span {
            return;
        }
        self.swept = self.latest;
        let reach = self.latest - 2 * span;
        self.groups
            .retain(|_, g| g.hits.back().is_some_and(|h| h.time >= reach));
    }

    /// Adds a match; returns the result when the correlation fires.
    pub fn add(&mut self, c: &Correlation, mut hit: Hit) -> Vec<Fired> {
        let mut out = vec![];
        self.latest = self.latest.max(hit.time);
        self.sweep(c);
        let span = c.timespan_ms;
        let key = std::mem::take(&mut hit.group);
        let time = hit.time;
        if c.threshold.upper_only() {
            // Judge the windows that closed before this event, then start anew.
            let closing: Vec<Vec<String>> = self
                .groups
                .iter()
                .filter(|(_, g)| g.hits.front().is_some_and(|f| f.time + span < time))
                .map(|(k, _)| k.clone())
                .collect();
            for k in closing {
                if let Some(mut g) = self.groups.remove(&k) {
                    out.extend(Self::fired(c, &k, g.hits.make_contiguous(), None));
                }
            }
            let hits = &mut self.groups.entry(key).or_default().hits;
            let at = hits.partition_point(|h| h.time <= time);
            hits.insert(at, hit);
            return out;
        }
        if !self.groups.contains_key(&key) {
            self.groups.insert(key.clone(), Group::default());
        }
        let Group { hits, tally } = self.groups.get_mut(&key).expect("inserted above");
        // In time order the match goes last: no search.
        let newest = hits.back().is_none_or(|h| h.time <= time);
        let at = if newest {
            hits.len()
        } else {
            hits.partition_point(|h| h.time <= time)
        };
        hits.insert(at, hit);
        match tally {
            Some(t) if newest => t.count(c.kind, &hits[at], true),
            _ => *tally = None,
        }
        // Forget what no window reaching the newest event can hold.
        let horizon = self.latest - span;
        let stale = match hits.front() {
            Some(h) if h.time < horizon - span => hits.partition_point(|h| h.time < horizon - span),
            _ => 0,
        };
        let drop = stale.max(hits.len().saturating_sub(MAX_PER_GROUP));
        if drop > 0 {
            if let Some(t) = tally {
                for h in hits.range(t.from.min(drop)..drop) {
                    t.count(c.kind, h, false);
                }
                t.from = t.from.saturating_sub(drop);
            }
            hits.drain(..drop);
        }
        if hits.is_empty() {
            return out;
        }
        #[cfg(test)]
        let newest = newest && !self.afresh;
        if newest {
            // The one window ending at it (matches at the same time end the same window).
            if tally.is_none() {
                let mut t = Tally {
                    from: hits.partition_point(|h| h.time < time - span),
                    ..Default::default()
                };
                for h in hits.range(t.from..) {
                    t.count(c.kind, h, true);
                }
                *tally = Some(t);
            }
            let t = tally.as_mut().expect("tallied above");
            while t.from < hits.len() && hits[t.from].time < time - span {
                t.count(c.kind, &hits[t.from], false);
                t.from += 1;
            }
            let judged = t.judged(c, hits.len() - t.from);
            if judged.is_some_and(|v| !c.threshold.holds(v)) {
                return out;
            }
            let from = t.from;
            if let Some(f) = Self::fired(c, &key, &hits.make_contiguous()[from..], judged) {
                self.groups.remove(&key);
                out.push(f);
            }
            return out;
        }
        // The windows holding this late match: the one ending at it and those ending at each
        // later match that reaches back to it (at most 64 checked).
        let hits = hits.make_contiguous();
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
            if let Some(f) = Self::fired(c, &key, &hits[lo..hi], None) {
                self.groups.remove(&key);
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
            .filter_map(|(k, mut g)| Self::fired(c, &k, g.hits.make_contiguous(), None))
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
        super::super::correlation::from_yaml(&YamlLoader::load_from_str(text).unwrap()[0]).unwrap()
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

    /// A stream mostly in time order with some matches late, over a few groups, values and
    /// rules: every kind judged by its tally fires exactly as when each window is counted.
    #[test]
    fn tallies_fire_as_counting_afresh_does() {
        let kinds = [
            "event_count\n  rules: [a]\n  group-by: [ip]\n  timespan: 1m\n  condition: {gte: 6}",
            "value_count\n  rules: [a]\n  group-by: [ip]\n  timespan: 1m\n  condition: {field: user, gte: 4}",
            "value_count\n  rules: [a]\n  group-by: [ip]\n  timespan: 1m\n  condition: {field: user, gte: 3, lte: 4}",
            "temporal\n  rules: [a, b, c]\n  group-by: [ip]\n  timespan: 1m",
            "temporal_ordered\n  rules: [a, b, c]\n  group-by: [ip]\n  timespan: 1m",
            "value_sum\n  rules: [a]\n  group-by: [ip]\n  timespan: 1m\n  condition: {field: user, gte: 20}",
        ];
        for kind in kinds {
            let c = corr(&format!("title: t\nid: c\ncorrelation:\n  type: {kind}\n"));
            let mut tallied = Correlator::default();
            let mut counted = Correlator {
                afresh: true,
                ..Default::default()
            };
            let (mut seed, mut now, mut fired) = (7u64, 0i64, 0);
            for i in 0..4000u64 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let r = seed >> 33;
                now += (r % 4000) as i64;
                // One match in ten is late, by up to a timespan.
                let time = if r % 10 == 0 {
                    now - (r % 60_000) as i64
                } else {
                    now
                };
                let h = Hit {
                    time,
                    rule: (r / 7 % 3) as usize,
                    group: vec![format!("10.0.0.{}", r / 11 % 3)],
                    value: Some(format!("{}", r / 13 % 6)),
                    events: vec![i],
                };
                let a = tallied.add(&c, h.clone());
                assert_eq!(a, counted.add(&c, h), "{kind}: match {i}");
                fired += a.len();
            }
            assert!(fired > 10, "{kind}: the stream fires ({fired})");
        }
    }

    #[test]
    fn a_full_group_forgets_its_oldest_values() {
        let c = corr("title: t\nid: c\ncorrelation:\n  type: value_count\n  rules: [r]\n  group-by: [ip]\n  timespan: 1d\n  condition: {field: user, gte: 4}\n");
        let mut s = Correlator::default();
        let at = |ms: i64, user: &str| Hit {
            time: ms,
            rule: 0,
            group: vec!["x".into()],
            value: Some(user.into()),
            events: vec![ms as u64],
        };
        assert!(s.add(&c, at(0, "old")).is_empty());
        for ms in 1..=MAX_PER_GROUP as i64 {
            assert!(s.add(&c, at(ms, "root")).is_empty());
        }
        // `old` has left the group: root, a and b are three.
        let ms = MAX_PER_GROUP as i64;
        assert!(s.add(&c, at(ms + 1, "a")).is_empty());
        assert!(s.add(&c, at(ms + 2, "b")).is_empty());
        let fired = s.add(&c, at(ms + 3, "c"));
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].value, 4.0);
    }

    #[test]
    fn idle_groups_are_swept() {
        let c = corr("title: t\nid: c\ncorrelation:\n  type: event_count\n  rules: [r]\n  group-by: [ip]\n  timespan: 1m\n  condition: {gte: 100}\n");
        let mut s = Correlator::default();
        for i in 0..50 {
            s.add(&c, hit(i, 0, &format!("once-{i}"), None));
        }
        assert_eq!(s.groups(), 50);
        // Three minutes on, none of them can be in a window any more.
        s.add(&c, hit(230, 0, "later", None));
        assert_eq!(s.groups(), 1);
    }
}
