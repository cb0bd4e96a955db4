//! [`IndicatorRef`]: a borrowed view of one entry of an [`IndicatorSet`],
//! rebuilding text (IP, hex hash) only when asked.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::set::{IndicatorId, IndicatorSet, TableId};
use crate::{Indicator, IndicatorKind};

/// One indicator of a set, as returned by lookups.
#[derive(Clone, Copy)]
pub struct IndicatorRef<'a> {
    set: &'a IndicatorSet,
    id: IndicatorId,
    group: u32,
}

impl std::fmt::Debug for IndicatorRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndicatorRef")
            .field("kind", &self.kind())
            .field("value", &self.value())
            .field("source", &self.source())
            .finish()
    }
}

impl PartialEq for IndicatorRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.set, other.set) && self.id == other.id
    }
}

impl<'a> IndicatorRef<'a> {
    pub(crate) fn new(set: &'a IndicatorSet, id: IndicatorId, group: u32) -> Self {
        Self { set, id, group }
    }

    /// The stable handle (for [`IndicatorSet::get`]).
    pub fn id(&self) -> IndicatorId {
        self.id
    }

    /// The indicator's kind.
    pub fn kind(&self) -> IndicatorKind {
        match self.id.table {
            TableId::V4 => IndicatorKind::Ipv4,
            TableId::V6 => IndicatorKind::Ipv6,
            TableId::Cidr4(_) | TableId::Cidr6(_) => IndicatorKind::Cidr,
            TableId::Domain => IndicatorKind::Domain,
            TableId::Url => IndicatorKind::Url,
            TableId::Md5 => IndicatorKind::Md5,
            TableId::Sha1 => IndicatorKind::Sha1,
            TableId::Sha256 => IndicatorKind::Sha256,
            TableId::Sm3 => IndicatorKind::Sm3,
        }
    }

    /// The normalised value, as [`crate::normalise`] writes it.
    pub fn value(&self) -> String {
        let s = self.set;
        let g = self.group;
        match self.id.table {
            TableId::V4 => Ipv4Addr::from(s.v4.keys.get(g)).to_string(),
            TableId::V6 => Ipv6Addr::from(s.v6.keys.get(g)).to_string(),
            TableId::Cidr4(l) => {
                let t = &s.cidr4.iter().find(|x| x.0 == l).expect("table").1;
                format!("{}/{l}", Ipv4Addr::from(t.keys.get(g)))
            }
            TableId::Cidr6(l) => {
                let t = &s.cidr6.iter().find(|x| x.0 == l).expect("table").1;
                format!("{}/{l}", Ipv6Addr::from(t.keys.get(g)))
            }
            TableId::Domain => s.domain.keys.get(g).to_owned(),
            TableId::Url => s.url.keys.get(g).to_owned(),
            TableId::Md5 => hex::encode(s.md5.keys.get(g)),
            TableId::Sha1 => hex::encode(s.sha1.keys.get(g)),
            TableId::Sha256 => hex::encode(s.sha256.keys.get(g)),
            TableId::Sm3 => hex::encode(s.sm3.keys.get(g)),
        }
    }

    /// The feed it came from.
    pub fn source(&self) -> &'a str {
        let (m, _) = self.set.entry(self.id);
        self.set.strings.get(m.source)
    }

    /// Confidence 0–100, if the feed gave one.
    pub fn confidence(&self) -> Option<u8> {
        IndicatorSet::confidence_of(self.set.entry(self.id).0)
    }

    /// Start of validity.
    pub fn valid_from(&self) -> Option<DateTime<Utc>> {
        let t = self.set.entry(self.id).0.valid_from;
        (t != i64::MIN)
            .then(|| DateTime::from_timestamp_millis(t))
            .flatten()
    }

    /// End of validity.
    pub fn valid_until(&self) -> Option<DateTime<Utc>> {
        let t = self.set.entry(self.id).0.valid_until;
        (t != i64::MAX)
            .then(|| DateTime::from_timestamp_millis(t))
            .flatten()
    }

    /// Labels and tags, sorted.
    pub fn labels(&self) -> Vec<&'a str> {
        let set = self.set;
        let (m, _) = set.entry(self.id);
        set.label_sets[m.labels as usize]
            .iter()
            .map(|&l| set.strings.get(l))
            .collect()
    }

    /// Free-text description.
    pub fn description(&self) -> Option<&'a str> {
        self.set.opt_string(self.set.entry(self.id).0.description)
    }

    /// The id in the source feed.
    pub fn external_id(&self) -> Option<&'a str> {
        self.set.opt_string(self.set.entry(self.id).1)
    }

    /// An owned copy.
    pub fn to_indicator(&self) -> Indicator {
        Indicator {
            kind: self.kind(),
            value: self.value(),
            source: Arc::from(self.source()),
            confidence: self.confidence(),
            valid_from: self.valid_from(),
            valid_until: self.valid_until(),
            labels: self.labels().into_iter().map(str::to_owned).collect(),
            description: self.description().map(str::to_owned),
            external_id: self.external_id().map(str::to_owned),
        }
    }
}
