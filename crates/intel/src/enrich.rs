//! Hits rendered as ECS 8 `threat.enrichments` entries.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::observe::Hit;
use crate::set::IndicatorSet;
use crate::IndicatorKind;

/// ECS `threat.indicator.confidence` text for a 0–100 score, using the STIX 2.1
/// "None/Low/Med/High" scale (0, 1–29, 30–69, 70–100).
pub fn confidence_text(c: Option<u8>) -> &'static str {
    match c {
        None => "Not Specified",
        Some(0) => "None",
        Some(1..=29) => "Low",
        Some(30..=69) => "Medium",
        Some(_) => "High",
    }
}

fn ts(t: DateTime<Utc>) -> Value {
    Value::String(t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// A JSON object of the given entries, in order.
fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

impl Hit<'_> {
    /// One `threat.enrichments` entry. ECS has no place for a numeric
    /// confidence, labels or a CIDR value; those go under `yunshou`.
    ///
    /// Built entry by entry rather than with `json!`, which serialises each
    /// interpolated value: this runs for every hit of a busy stream.
    pub fn to_enrichment(&self) -> Value {
        let ind = &self.indicator;
        let kind = ind.kind();
        let value = ind.value();
        let mut indicator = Map::new();
        let ecs_type = match kind {
            IndicatorKind::Ipv4 => "ipv4-addr",
            IndicatorKind::Ipv6 => "ipv6-addr",
            IndicatorKind::Cidr if value.contains(':') => "ipv6-addr",
            IndicatorKind::Cidr => "ipv4-addr",
            IndicatorKind::Domain => "domain-name",
            IndicatorKind::Url => "url",
            _ => "file",
        };
        indicator.insert("type".into(), ecs_type.into());
        match kind {
            // ECS `ip` is an address field; a network does not fit it.
            IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => {
                indicator.insert("ip".into(), value.clone().into());
            }
            IndicatorKind::Domain => {
                indicator.insert("url".into(), object([("domain", value.clone().into())]));
            }
            IndicatorKind::Url => {
                indicator.insert("url".into(), object([("full", value.clone().into())]));
            }
            IndicatorKind::Md5
            | IndicatorKind::Sha1
            | IndicatorKind::Sha256
            | IndicatorKind::Sm3 => {
                let hash = object([(kind.name(), value.clone().into())]);
                indicator.insert("file".into(), object([("hash", hash)]));
            }
            IndicatorKind::Cidr => {}
        }
        indicator.insert("provider".into(), ind.source().into());
        indicator.insert(
            "confidence".into(),
            confidence_text(ind.confidence()).into(),
        );
        if let Some(d) = ind.description() {
            indicator.insert("description".into(), d.into());
        }
        if let Some(t) = ind.valid_from() {
            indicator.insert("first_seen".into(), ts(t));
        }
        let mut matched = Map::new();
        matched.insert("atomic".into(), self.value.clone().into());
        matched.insert("field".into(), self.field.into());
        matched.insert("type".into(), "indicator_match_rule".into());
        if let Some(id) = ind.external_id() {
            matched.insert("id".into(), id.into());
        }
        let mut yunshou = Map::new();
        yunshou.insert("value".into(), value.into());
        yunshou.insert("kind".into(), kind.name().into());
        if let Some(c) = ind.confidence() {
            yunshou.insert("confidence".into(), c.into());
        }
        let labels = ind.labels();
        if !labels.is_empty() {
            yunshou.insert("labels".into(), labels.into());
        }
        if let Some(t) = ind.valid_until() {
            yunshou.insert("valid_until".into(), ts(t));
        }
        object([
            ("indicator", Value::Object(indicator)),
            ("matched", Value::Object(matched)),
            ("yunshou", Value::Object(yunshou)),
        ])
    }
}

impl IndicatorSet {
    /// Matches the event and appends one `threat.enrichments` entry per hit
    /// (creating `threat` as a nested object if needed). Returns the number added.
    pub fn enrich_event(&self, event: &mut Value, now: DateTime<Utc>) -> usize {
        let entries: Vec<Value> = self
            .match_event(event, now)
            .iter()
            .map(Hit::to_enrichment)
            .collect();
        let n = entries.len();
        if n == 0 {
            return 0;
        }
        let Value::Object(doc) = event else { return 0 };
        let threat = doc
            .entry("threat")
            .or_insert_with(|| Value::Object(Map::new()));
        if !threat.is_object() {
            *threat = Value::Object(Map::new());
        }
        let list = threat
            .as_object_mut()
            .expect("object")
            .entry("enrichments")
            .or_insert_with(|| Value::Array(Vec::new()));
        if !list.is_array() {
            *list = Value::Array(Vec::new());
        }
        list.as_array_mut().expect("array").extend(entries);
        n
    }
}
