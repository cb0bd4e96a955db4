//! Searching and counting across a tenant's partitions.

use crate::query::{self, Translator};
use crate::{EventStore, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::Bound;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::agg_result::{AggregationResult, BucketResult};
use tantivy::aggregation::AggregationCollector;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery};
use tantivy::schema::{Term, Value};
use tantivy::{DocAddress, Order, TantivyDocument};

/// One event found.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    /// When it happened, RFC 3339.
    #[serde(rename = "@timestamp")]
    pub timestamp: String,
    /// The stored event (ECS, `event.original` included).
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

/// A page of results, newest first, and the exact number that match.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SearchPage {
    /// The events.
    pub items: Vec<SearchHit>,
    /// How many match in all.
    pub total: u64,
}

/// A count.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Bucket {
    /// The field's value, or the interval's start (RFC 3339).
    pub key: String,
    /// Matching events.
    pub count: u64,
}

/// What to count.
#[derive(Debug, Clone, PartialEq)]
pub enum Aggregation {
    /// The top `size` values of a field (ECS path), most frequent first.
    Terms {
        /// Field.
        field: String,
        /// How many values.
        size: u32,
    },
    /// Events per interval of `seconds`.
    Histogram {
        /// Interval length.
        seconds: u64,
    },
}

impl EventStore {
    fn bounded(&self, q: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Box<dyn Query>> {
        let parsed = query::parse(q)?;
        let mut t = Translator {
            fields: &self.fields,
            text: query::message_analyzer(),
        };
        let inner = t.query(&parsed)?;
        let time = RangeQuery::new(
            Bound::Included(Term::from_field_date(
                self.fields.ts,
                tantivy::DateTime::from_timestamp_micros(from.timestamp_micros()),
            )),
            Bound::Excluded(Term::from_field_date(
                self.fields.ts,
                tantivy::DateTime::from_timestamp_micros(to.timestamp_micros()),
            )),
        );
        Ok(Box::new(BooleanQuery::new(vec![
            (Occur::Must, inner),
            (Occur::Must, Box::new(time)),
        ])))
    }

    /// Events of `tenant` matching `q` with `from <= @timestamp < to`, newest first.
    pub fn search(
        &self,
        tenant: &str,
        q: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
        offset: usize,
    ) -> Result<SearchPage> {
        let query = self.bounded(q, from, to)?;
        let want = offset + limit;
        let mut hits: Vec<(i64, SearchHit)> = Vec::new();
        let mut total = 0u64;
        for (_, p) in self.covering(tenant, from, to)? {
            let searcher = p.reader.searcher();
            let top = TopDocs::with_limit(want.max(1))
                .order_by_fast_field::<tantivy::DateTime>("ts", Order::Desc);
            let (docs, n): (Vec<(tantivy::DateTime, DocAddress)>, usize) =
                searcher.search(&*query, &(top, Count))?;
            total += n as u64;
            if want == 0 {
                continue;
            }
            for (ts, addr) in docs {
                hits.push((ts.into_timestamp_micros(), self.hit(&searcher, addr)?));
            }
        }
        hits.sort_by_key(|h| std::cmp::Reverse(h.0));
        let items = hits
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|h| h.1)
            .collect();
        Ok(SearchPage { items, total })
    }

    fn hit(&self, searcher: &tantivy::Searcher, addr: DocAddress) -> Result<SearchHit> {
        let d: TantivyDocument = searcher.doc(addr)?;
        let json = d
            .get_first(self.fields.doc)
            .and_then(|v| v.as_str())
            .unwrap_or("{}");
        let event: serde_json::Value =
            serde_json::from_str(json).unwrap_or(serde_json::Value::Null);
        let timestamp = event
            .get("@timestamp")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        Ok(SearchHit { timestamp, event })
    }

    /// Hands `tenant`'s events matching `q` in `[from, to)` to `sink`, at most `max`: newest
    /// day first and newest first within a day (late arrivals sit in the day they arrived).
    /// Only document addresses are held, so memory stays small for large exports; `sink`
    /// returning `false` stops early. Returns how many were handed over.
    pub fn export(
        &self,
        tenant: &str,
        q: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        max: usize,
        mut sink: impl FnMut(SearchHit) -> bool,
    ) -> Result<u64> {
        let query = self.bounded(q, from, to)?;
        let mut sent = 0usize;
        for (_, p) in self.covering(tenant, from, to)? {
            if sent >= max {
                break;
            }
            let searcher = p.reader.searcher();
            let top = TopDocs::with_limit(max - sent)
                .order_by_fast_field::<tantivy::DateTime>("ts", Order::Desc);
            let docs: Vec<(tantivy::DateTime, DocAddress)> = searcher.search(&*query, &top)?;
            for (_, addr) in docs {
                sent += 1;
                if !sink(self.hit(&searcher, addr)?) {
                    return Ok(sent as u64);
                }
            }
        }
        Ok(sent as u64)
    }

    /// Counts of `tenant`'s events matching `q` in `[from, to)`, grouped by `agg`.
    pub fn aggregate(
        &self,
        tenant: &str,
        q: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        agg: &Aggregation,
    ) -> Result<Vec<Bucket>> {
        let query = self.bounded(q, from, to)?;
        let request = match agg {
            Aggregation::Terms { field, size } => {
                let path = if field == "event.dataset" || field == "dataset" {
                    "dataset".to_string()
                } else {
                    format!("f.{field}")
                };
                serde_json::json!({"a": {"terms": {"field": path, "size": size, "segment_size": size * 10}}})
            }
            Aggregation::Histogram { seconds } => {
                serde_json::json!({"a": {"date_histogram": {"field": "ts", "fixed_interval": format!("{seconds}s"), "min_doc_count": 0}}})
            }
        };
        let request: Aggregations = serde_json::from_value(request)
            .map_err(|e| crate::Error::Invalid(format!("aggregation: {e}")))?;
        let mut merged: BTreeMap<String, u64> = BTreeMap::new();
        for (_, p) in self.covering(tenant, from, to)? {
            let searcher = p.reader.searcher();
            let collector = AggregationCollector::from_aggs(request.clone(), Default::default());
            let result = searcher.search(&*query, &collector)?;
            if let Some(AggregationResult::BucketResult(b)) = result.0.get("a") {
                match b {
                    BucketResult::Terms { buckets, .. } => {
                        for x in buckets {
                            *merged.entry(x.key.to_string()).or_default() += x.doc_count;
                        }
                    }
                    BucketResult::Histogram { buckets } => {
                        let list = match buckets {
                            tantivy::aggregation::agg_result::BucketEntries::Vec(v) => v.clone(),
                            tantivy::aggregation::agg_result::BucketEntries::HashMap(m) => {
                                m.values().cloned().collect()
                            }
                        };
                        for x in list {
                            let key = x.key_as_string.clone().unwrap_or_else(|| x.key.to_string());
                            *merged.entry(key).or_default() += x.doc_count;
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut buckets: Vec<Bucket> = merged
            .into_iter()
            .map(|(key, count)| Bucket { key, count })
            .collect();
        match agg {
            Aggregation::Terms { size, .. } => {
                buckets.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
                buckets.truncate(*size as usize);
            }
            Aggregation::Histogram { .. } => buckets.sort_by(|a, b| a.key.cmp(&b.key)),
        }
        Ok(buckets)
    }
}
