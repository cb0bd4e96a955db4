//! [`IndicatorSet`]: the compact, immutable lookup structure.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::indicator::{fold_ip, mask4, mask6, normalise_domain, normalise_url, Indicator};
use crate::keys::{FixedKeys, Groups, StrKeys};
use crate::IndicatorSetBuilder;

pub(crate) const NONE: u32 = u32::MAX;
pub(crate) const NO_CONFIDENCE: u8 = u8::MAX;

/// What a feed said about a value, shared by every entry that says the same:
/// a million indicators from one CSV feed cost one `Meta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Meta {
    pub(crate) valid_from: i64,
    pub(crate) valid_until: i64,
    pub(crate) source: u32,
    pub(crate) labels: u32,
    pub(crate) description: u32,
    pub(crate) confidence: u8,
}

/// One indicator in a table: its metadata and its external id (both numbers).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Entry {
    pub(crate) meta: u32,
    pub(crate) ext: u32,
}

/// One key space with several entries per key.
#[derive(Debug, Clone, Default)]
pub(crate) struct Table<S> {
    pub(crate) keys: S,
    pub(crate) pending: Vec<(u32, Entry)>,
    pub(crate) groups: Groups<Entry>,
}

/// Which table an indicator lives in; CIDR tables are per prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableId {
    /// Exact IPv4 addresses.
    V4,
    /// Exact IPv6 addresses.
    V6,
    /// IPv4 networks of this prefix length.
    Cidr4(u8),
    /// IPv6 networks of this prefix length.
    Cidr6(u8),
    /// Domains.
    Domain,
    /// URLs.
    Url,
    /// MD5 hashes.
    Md5,
    /// SHA-1 hashes.
    Sha1,
    /// SHA-256 hashes.
    Sha256,
    /// SM3 hashes.
    Sm3,
}

/// A stable handle on one indicator entry of one [`IndicatorSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndicatorId {
    /// The table.
    pub table: TableId,
    /// The entry within it.
    pub entry: u32,
}

/// Millions of indicators, compactly, with hash lookups.
///
/// Build with [`IndicatorSet::build`] or [`IndicatorSetBuilder`]; the set is
/// immutable afterwards (rebuild on feed refresh and swap an `Arc`).
#[derive(Debug, Clone, Default)]
pub struct IndicatorSet {
    pub(crate) v4: Table<FixedKeys<u32>>,
    pub(crate) v6: Table<FixedKeys<u128>>,
    /// Non-empty prefix lengths only, longest first: a lookup probes each once.
    pub(crate) cidr4: Vec<(u8, Table<FixedKeys<u32>>)>,
    pub(crate) cidr6: Vec<(u8, Table<FixedKeys<u128>>)>,
    pub(crate) domain: Table<StrKeys>,
    pub(crate) url: Table<StrKeys>,
    pub(crate) md5: Table<FixedKeys<[u8; 16]>>,
    pub(crate) sha1: Table<FixedKeys<[u8; 20]>>,
    pub(crate) sha256: Table<FixedKeys<[u8; 32]>>,
    pub(crate) sm3: Table<FixedKeys<[u8; 32]>>,
    /// One bit per IPv4 /24 holding an exact address or a network of /24 or
    /// longer (2 MiB, empty for small sets). Most addresses in events are in
    /// no feed; this answers "no" for them with one cache-resident read
    /// instead of a random memory access per table.
    pub(crate) v4_filter: Vec<u64>,
    pub(crate) metas: Vec<Meta>,
    /// Sources, descriptions, labels and external ids.
    pub(crate) strings: StrKeys,
    pub(crate) label_sets: Vec<Box<[u32]>>,
}

/// Decodes hex into a fixed-size array (case-insensitive).
pub(crate) fn hex_array<const N: usize>(s: &str) -> Result<[u8; N], String> {
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).map_err(|e| format!("{s:?}: {e}"))?;
    Ok(out)
}

/// A value to look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observable<'a> {
    /// An address: exact IP tables, then every CIDR table, longest prefix first.
    Ip(IpAddr),
    /// A host name, any case, optional trailing dot: the name and each parent domain.
    Domain(&'a str),
    /// A URL as seen; normalised before the exact lookup.
    Url(&'a str),
    /// A hex hash; its length picks MD5, SHA-1 or SHA-256/SM3.
    Hash(&'a str),
}

impl IndicatorSet {
    /// Builds a set from indicators; values that do not normalise are returned
    /// with their position instead of being dropped silently.
    pub fn build(indicators: Vec<Indicator>) -> (Self, Vec<(usize, String)>) {
        let mut b = IndicatorSetBuilder::new();
        let mut bad = Vec::new();
        for (i, ind) in indicators.iter().enumerate() {
            if let Err(e) = b.insert(ind) {
                bad.push((i, e));
            }
        }
        (b.build(), bad)
    }

    /// Number of indicator entries (a value listed by two sources counts twice).
    pub fn len(&self) -> usize {
        let fixed = self.v4.groups.len()
            + self.v6.groups.len()
            + self.md5.groups.len()
            + self.sha1.groups.len()
            + self.sha256.groups.len()
            + self.sm3.groups.len()
            + self.domain.groups.len()
            + self.url.groups.len();
        let cidr: usize = self
            .cidr4
            .iter()
            .map(|(_, t)| t.groups.len())
            .sum::<usize>()
            + self
                .cidr6
                .iter()
                .map(|(_, t)| t.groups.len())
                .sum::<usize>();
        fixed + cidr
    }

    /// Whether the set holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Approximate heap use in bytes (tables, arenas, metadata).
    pub fn heap_bytes(&self) -> usize {
        fn t<K: Copy + Eq + std::hash::Hash>(t: &Table<FixedKeys<K>>) -> usize {
            t.keys.heap_bytes() + t.groups.heap_bytes()
        }
        t(&self.v4)
            + t(&self.v6)
            + t(&self.md5)
            + t(&self.sha1)
            + t(&self.sha256)
            + t(&self.sm3)
            + self.cidr4.iter().map(|(_, x)| t(x)).sum::<usize>()
            + self.cidr6.iter().map(|(_, x)| t(x)).sum::<usize>()
            + self.domain.keys.heap_bytes()
            + self.domain.groups.heap_bytes()
            + self.url.keys.heap_bytes()
            + self.url.groups.heap_bytes()
            + self.v4_filter.capacity() * 8
            + self.metas.capacity() * size_of::<Meta>()
            + self.strings.heap_bytes()
    }

    /// Every indicator valid at `now` that matches `obs`.
    pub fn lookup<'s>(
        &'s self,
        obs: &Observable<'_>,
        now: DateTime<Utc>,
    ) -> impl Iterator<Item = crate::IndicatorRef<'s>> + 's {
        // Collected (no allocation on a miss) so the iterator owns no borrowed text.
        let mut out = Vec::new();
        self.probe(obs, now.timestamp_millis(), &mut |r| out.push(r));
        out.into_iter()
    }

    /// Calls `f` for every valid match of `obs`. The hot path: no allocation
    /// unless a domain needs lower-casing or a URL normalising.
    pub(crate) fn probe<'s>(
        &'s self,
        obs: &Observable<'_>,
        now_ms: i64,
        f: &mut dyn FnMut(crate::IndicatorRef<'s>),
    ) {
        match *obs {
            Observable::Ip(ip) => self.probe_ip(ip, now_ms, f),
            Observable::Domain(d) => {
                if self.domain.keys.len() == 0 {
                    return;
                }
                if let Ok(d) = normalise_domain(d) {
                    self.probe_domain(&d, now_ms, f);
                }
            }
            Observable::Url(u) => {
                if self.url.keys.len() > 0 {
                    if let Ok(u) = normalise_url(u) {
                        self.probe_url(&u, now_ms, f);
                    }
                }
            }
            Observable::Hash(h) => self.probe_hash(h, now_ms, f),
        }
    }

    pub(crate) fn probe_ip<'s>(
        &'s self,
        ip: IpAddr,
        now: i64,
        f: &mut dyn FnMut(crate::IndicatorRef<'s>),
    ) {
        match fold_ip(ip) {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                self.emit(&self.v4, TableId::V4, self.v4.keys.find(&a), now, f);
                for (len, t) in &self.cidr4 {
                    self.emit(
                        t,
                        TableId::Cidr4(*len),
                        t.keys.find(&mask4(a, *len)),
                        now,
                        f,
                    );
                }
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                self.emit(&self.v6, TableId::V6, self.v6.keys.find(&a), now, f);
                for (len, t) in &self.cidr6 {
                    self.emit(
                        t,
                        TableId::Cidr6(*len),
                        t.keys.find(&mask6(a, *len)),
                        now,
                        f,
                    );
                }
            }
        }
    }

    /// `a.b.evil.example` probes itself, `b.evil.example`, `evil.example`,
    /// `example`: whole labels only, so `notevil.example` never reaches `evil.example`.
    pub(crate) fn probe_domain<'s>(
        &'s self,
        d: &str,
        now: i64,
        f: &mut dyn FnMut(crate::IndicatorRef<'s>),
    ) {
        let mut s = d;
        loop {
            self.emit(
                &self.domain,
                TableId::Domain,
                self.domain.keys.find(s),
                now,
                f,
            );
            match s.find('.') {
                Some(i) => s = &s[i + 1..],
                None => break,
            }
        }
    }

    pub(crate) fn probe_url<'s>(
        &'s self,
        u: &str,
        now: i64,
        f: &mut dyn FnMut(crate::IndicatorRef<'s>),
    ) {
        self.emit(&self.url, TableId::Url, self.url.keys.find(u), now, f);
    }

    pub(crate) fn probe_hash<'s>(
        &'s self,
        h: &str,
        now: i64,
        f: &mut dyn FnMut(crate::IndicatorRef<'s>),
    ) {
        let h = h.trim();
        match h.len() {
            32 => {
                if let Ok(k) = hex_array::<16>(h) {
                    self.emit(&self.md5, TableId::Md5, self.md5.keys.find(&k), now, f);
                }
            }
            40 => {
                if let Ok(k) = hex_array::<20>(h) {
                    self.emit(&self.sha1, TableId::Sha1, self.sha1.keys.find(&k), now, f);
                }
            }
            // SHA-256 and SM3 have the same length: a bare hash may be either.
            64 => {
                if let Ok(k) = hex_array::<32>(h) {
                    self.emit(
                        &self.sha256,
                        TableId::Sha256,
                        self.sha256.keys.find(&k),
                        now,
                        f,
                    );
                    self.emit(&self.sm3, TableId::Sm3, self.sm3.keys.find(&k), now, f);
                }
            }
            _ => {}
        }
    }

    #[inline]
    fn emit<'s, S>(
        &'s self,
        t: &'s Table<S>,
        table: TableId,
        group: Option<u32>,
        now: i64,
        f: &mut dyn FnMut(crate::IndicatorRef<'s>),
    ) {
        let Some(g) = group else { return };
        for e in t.groups.range(g) {
            let m = &self.metas[t.groups.entry(e).meta as usize];
            if m.valid_from <= now && now <= m.valid_until {
                f(crate::IndicatorRef::new(
                    self,
                    IndicatorId { table, entry: e },
                    g,
                ));
            }
        }
    }

    /// The entry's metadata and external-id number.
    pub(crate) fn entry(&self, id: IndicatorId) -> (&Meta, u32) {
        let e = self.groups(id.table).entry(id.entry);
        (&self.metas[e.meta as usize], e.ext)
    }

    pub(crate) fn groups(&self, t: TableId) -> &Groups<Entry> {
        match t {
            TableId::V4 => &self.v4.groups,
            TableId::V6 => &self.v6.groups,
            TableId::Cidr4(l) => {
                &self
                    .cidr4
                    .iter()
                    .find(|x| x.0 == l)
                    .expect("table")
                    .1
                    .groups
            }
            TableId::Cidr6(l) => {
                &self
                    .cidr6
                    .iter()
                    .find(|x| x.0 == l)
                    .expect("table")
                    .1
                    .groups
            }
            TableId::Domain => &self.domain.groups,
            TableId::Url => &self.url.groups,
            TableId::Md5 => &self.md5.groups,
            TableId::Sha1 => &self.sha1.groups,
            TableId::Sha256 => &self.sha256.groups,
            TableId::Sm3 => &self.sm3.groups,
        }
    }

    /// The indicator behind an id from this set; `None` if the id is from another set.
    pub fn get(&self, id: IndicatorId) -> Option<crate::IndicatorRef<'_>> {
        let present = match id.table {
            TableId::Cidr4(l) => self.cidr4.iter().any(|x| x.0 == l),
            TableId::Cidr6(l) => self.cidr6.iter().any(|x| x.0 == l),
            _ => true,
        };
        if !present || id.entry as usize >= self.groups(id.table).len() {
            return None;
        }
        let g = self.groups(id.table).group_of(id.entry);
        Some(crate::IndicatorRef::new(self, id, g))
    }

    pub(crate) fn opt_string(&self, n: u32) -> Option<&str> {
        (n != NONE).then(|| self.strings.get(n))
    }

    pub(crate) fn confidence_of(m: &Meta) -> Option<u8> {
        (m.confidence != NO_CONFIDENCE).then_some(m.confidence)
    }
}
