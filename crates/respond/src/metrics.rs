//! Response metrics: time to detect, acknowledge, contain and recover, summarised per group
//! (level or category).

use serde::Serialize;
use utoipa::ToSchema;

/// One incident's durations in minutes (None where the incident has not got that far).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Durations {
    /// Occurred → detected.
    pub detect: Option<i64>,
    /// Detected → diagnosis entered.
    pub acknowledge: Option<i64>,
    /// Detected → containment left.
    pub contain: Option<i64>,
    /// Detected → recovery left.
    pub recover: Option<i64>,
}

/// Summary of one measure in a group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
pub struct Measure {
    /// Incidents measured.
    pub count: usize,
    /// Mean minutes.
    pub mean: Option<f64>,
    /// Median minutes.
    pub median: Option<f64>,
    /// Longest.
    pub max: Option<i64>,
}

impl Measure {
    fn of(mut values: Vec<i64>) -> Measure {
        if values.is_empty() {
            return Measure::default();
        }
        values.sort_unstable();
        let n = values.len();
        let median = if n % 2 == 1 {
            values[n / 2] as f64
        } else {
            (values[n / 2 - 1] + values[n / 2]) as f64 / 2.0
        };
        Measure {
            count: n,
            mean: Some(values.iter().sum::<i64>() as f64 / n as f64),
            median: Some(median),
            max: values.last().copied(),
        }
    }
}

/// The four measures of one group.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct GroupMetrics {
    /// The group (a level `I`…`IV` or a category code).
    pub group: String,
    /// Incidents in the group.
    pub incidents: usize,
    /// Time to detect.
    pub detect: Measure,
    /// Time to acknowledge.
    pub acknowledge: Measure,
    /// Time to contain.
    pub contain: Measure,
    /// Time to recover.
    pub recover: Measure,
}

/// Summarises `(group, durations)` pairs per group, groups in first-seen order of `order`.
pub fn summarise(order: &[&str], items: &[(String, Durations)]) -> Vec<GroupMetrics> {
    order
        .iter()
        .map(|g| {
            let of = |pick: fn(&Durations) -> Option<i64>| {
                Measure::of(
                    items
                        .iter()
                        .filter(|(k, _)| k == g)
                        .filter_map(|(_, d)| pick(d))
                        .collect(),
                )
            };
            GroupMetrics {
                group: g.to_string(),
                incidents: items.iter().filter(|(k, _)| k == g).count(),
                detect: of(|d| d.detect),
                acknowledge: of(|d| d.acknowledge),
                contain: of(|d| d.contain),
                recover: of(|d| d.recover),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_per_group() {
        let d = |detect, contain| Durations {
            detect: Some(detect),
            acknowledge: None,
            contain,
            recover: None,
        };
        let items = vec![
            ("I".to_string(), d(10, Some(100))),
            ("I".to_string(), d(20, None)),
            ("I".to_string(), d(60, Some(300))),
            ("IV".to_string(), d(5, Some(7))),
        ];
        let m = summarise(&["I", "II", "IV"], &items);
        assert_eq!(m[0].incidents, 3);
        assert_eq!(m[0].detect.median, Some(20.0));
        assert_eq!(m[0].detect.mean, Some(30.0));
        assert_eq!(m[0].contain.count, 2);
        assert_eq!(m[0].contain.median, Some(200.0));
        assert_eq!(m[0].contain.max, Some(300));
        assert_eq!(m[1].incidents, 0);
        assert_eq!(m[1].detect.mean, None);
        assert_eq!(m[2].contain.max, Some(7));
    }
}
