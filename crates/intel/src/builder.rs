//! [`IndicatorSetBuilder`]: indicators in, compact tables out.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;

use crate::indicator::{normalise, parse_cidr, parse_ip, Indicator, IndicatorKind};
use crate::keys::{FixedKeys, Groups, StrKeys};
use crate::set::{hex_array, Entry, IndicatorSet, Meta, Table, NONE, NO_CONFIDENCE};
/// Collects indicators one at a time into the compact form, so a caller
/// streaming a large feed never holds every [`Indicator`] at once.
#[derive(Debug)]
pub struct IndicatorSetBuilder {
    set: IndicatorSet,
    cidr4: Vec<Table<FixedKeys<u32>>>,
    cidr6: Vec<Table<FixedKeys<u128>>>,
    meta_ids: FxHashMap<Meta, u32>,
    label_ids: FxHashMap<Box<[u32]>, u32>,
}

impl Default for IndicatorSetBuilder {
    fn default() -> Self {
        Self::new()
    }
}

fn millis(t: Option<DateTime<Utc>>, none: i64) -> i64 {
    t.map_or(none, |t| t.timestamp_millis())
}

impl IndicatorSetBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        let mut b = Self {
            set: IndicatorSet::default(),
            cidr4: (0..=32).map(|_| Table::default()).collect(),
            cidr6: (0..=128).map(|_| Table::default()).collect(),
            meta_ids: FxHashMap::default(),
            label_ids: FxHashMap::default(),
        };
        // Label set 0 is "no labels".
        b.set.label_sets.push(Box::new([]));
        b.label_ids.insert(Box::new([]), 0);
        b
    }

    /// Adds one indicator. Its value is re-normalised, so an `Indicator`
    /// built by hand with sloppy text still lands under the canonical key.
    pub fn insert(&mut self, ind: &Indicator) -> Result<(), String> {
        let (kind, value) = normalise(ind.kind, &ind.value)?;
        let entry = Entry {
            meta: self.meta(ind),
            ext: ind
                .external_id
                .as_deref()
                .map_or(NONE, |x| self.set.strings.intern(x)),
        };
        let s = &mut self.set;
        match kind {
            IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => match parse_ip(&value) {
                Some(IpAddr::V4(a)) => push(&mut s.v4, u32::from(a), entry),
                Some(IpAddr::V6(a)) => push(&mut s.v6, u128::from(a), entry),
                None => return Err(format!("{value:?} is not an IP address")),
            },
            IndicatorKind::Cidr => match parse_cidr(&value)? {
                (IpAddr::V4(a), len) => push(&mut self.cidr4[len as usize], a.into(), entry),
                (IpAddr::V6(a), len) => push(&mut self.cidr6[len as usize], a.into(), entry),
            },
            IndicatorKind::Domain => {
                let g = s.domain.keys.intern(&value);
                s.domain.pending.push((g, entry));
            }
            IndicatorKind::Url => {
                let g = s.url.keys.intern(&value);
                s.url.pending.push((g, entry));
            }
            IndicatorKind::Md5 => push(&mut s.md5, hex_array(&value)?, entry),
            IndicatorKind::Sha1 => push(&mut s.sha1, hex_array(&value)?, entry),
            IndicatorKind::Sha256 => push(&mut s.sha256, hex_array(&value)?, entry),
            IndicatorKind::Sm3 => push(&mut s.sm3, hex_array(&value)?, entry),
        }
        Ok(())
    }

    fn meta(&mut self, ind: &Indicator) -> u32 {
        let strings = &mut self.set.strings;
        let mut labels: Vec<u32> = ind.labels.iter().map(|l| strings.intern(l)).collect();
        labels.sort_unstable();
        labels.dedup();
        let labels = match self.label_ids.get(labels.as_slice()) {
            Some(&id) => id,
            None => {
                let id = self.set.label_sets.len() as u32;
                self.set.label_sets.push(labels.clone().into());
                self.label_ids.insert(labels.into(), id);
                id
            }
        };
        let meta = Meta {
            valid_from: millis(ind.valid_from, i64::MIN),
            valid_until: millis(ind.valid_until, i64::MAX),
            source: strings.intern(&ind.source),
            labels,
            description: ind
                .description
                .as_deref()
                .map_or(NONE, |d| strings.intern(d)),
            confidence: ind.confidence.map_or(NO_CONFIDENCE, |c| c.min(100)),
        };
        let metas = &mut self.set.metas;
        *self.meta_ids.entry(meta).or_insert_with(|| {
            metas.push(meta);
            (metas.len() - 1) as u32
        })
    }

    /// Freezes the set: groups every table's entries by key.
    pub fn build(mut self) -> IndicatorSet {
        let s = &mut self.set;
        finish(&mut s.v4);
        finish(&mut s.v6);
        finish(&mut s.md5);
        finish(&mut s.sha1);
        finish(&mut s.sha256);
        finish(&mut s.sm3);
        finish_str(&mut s.domain);
        finish_str(&mut s.url);
        s.cidr4 = longest_first(self.cidr4);
        s.cidr6 = longest_first(self.cidr6);
        s.v4_filter = v4_filter(s);
        s.metas.shrink_to_fit();
        s.strings.shrink();
        self.set
    }
}

/// Below this many IPv4 keys the tables are small enough to stay in cache.
const FILTER_MIN_KEYS: usize = 4096;

fn v4_filter(s: &IndicatorSet) -> Vec<u64> {
    let long: Vec<_> = s.cidr4.iter().filter(|(l, _)| *l >= 24).collect();
    let keys = s.v4.keys.len() + long.iter().map(|(_, t)| t.keys.len()).sum::<usize>();
    if keys < FILTER_MIN_KEYS {
        return Vec::new();
    }
    let mut bits = vec![0u64; (1 << 24) / 64];
    let mut set = |a: u32| bits[(a >> 14) as usize] |= 1 << ((a >> 8) & 63);
    (0..s.v4.keys.len() as u32).for_each(|g| set(s.v4.keys.get(g)));
    for (_, t) in long {
        (0..t.keys.len() as u32).for_each(|g| set(t.keys.get(g)));
    }
    bits
}

fn push<K: Copy + Eq + std::hash::Hash>(t: &mut Table<FixedKeys<K>>, k: K, e: Entry) {
    let g = t.keys.intern(k);
    t.pending.push((g, e));
}

fn finish<K: Copy + Eq + std::hash::Hash>(t: &mut Table<FixedKeys<K>>) {
    t.keys.shrink();
    t.groups = Groups::build(t.keys.len(), std::mem::take(&mut t.pending));
}

fn finish_str(t: &mut Table<StrKeys>) {
    t.keys.shrink();
    t.groups = Groups::build(t.keys.len(), std::mem::take(&mut t.pending));
}

fn longest_first<K: Copy + Eq + std::hash::Hash>(
    tables: Vec<Table<FixedKeys<K>>>,
) -> Vec<(u8, Table<FixedKeys<K>>)> {
    let mut out: Vec<_> = tables
        .into_iter()
        .enumerate()
        .filter(|(_, t)| !t.pending.is_empty())
        .map(|(len, mut t)| {
            finish(&mut t);
            (len as u8, t)
        })
        .collect();
    out.reverse();
    out
}
