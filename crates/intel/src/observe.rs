//! Observables in yunshou ECS events and [`IndicatorSet::match_event`].
//!
//! The event is walked once: each key is appended to a reused path buffer and
//! classified by one `match` — a leaf we read, a prefix we descend into, or
//! something we skip without looking inside. Nested (`{"source":{"ip":…}}`),
//! dotted (`{"source.ip":…}`) and mixed (`{"file.hash":{"md5":…}}`) shapes
//! all produce the same paths, and cost one pass whatever the event's size.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::indicator::{normalise_domain, parse_ip, parse_url};
use crate::set::IndicatorSet;
use crate::IndicatorRef;

/// How a field's value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    Ip,
    /// `*.address`: an IP, else a host name.
    IpOrDomain,
    Domain,
    /// URL exact, and its host as a domain.
    Url,
    /// A hex hash of any supported length.
    Hash,
}

enum Class {
    Leaf(&'static str, Read),
    Prefix,
}

/// The ECS fields read, by their dotted path. Source of truth: the fields our
/// parsers in `crates/ingest/src/normalise/` write, plus ECS's own homes for
/// the same observables (`related.*`, `client`/`server`, `dll`).
fn classify(path: &str) -> Option<Class> {
    use Class::{Leaf, Prefix};
    use Read::*;
    Some(match path {
        "source"
        | "destination"
        | "client"
        | "server"
        | "host"
        | "related"
        | "dns"
        | "dns.question"
        | "url"
        | "tls"
        | "tls.client"
        | "file"
        | "file.hash"
        | "process"
        | "process.hash"
        | "process.parent"
        | "process.parent.hash"
        | "dll"
        | "dll.hash" => Prefix,
        "source.ip" => Leaf("source.ip", Ip),
        "destination.ip" => Leaf("destination.ip", Ip),
        "client.ip" => Leaf("client.ip", Ip),
        "server.ip" => Leaf("server.ip", Ip),
        "host.ip" => Leaf("host.ip", Ip),
        "related.ip" => Leaf("related.ip", Ip),
        "dns.resolved_ip" => Leaf("dns.resolved_ip", Ip),
        "source.address" => Leaf("source.address", IpOrDomain),
        "destination.address" => Leaf("destination.address", IpOrDomain),
        "client.address" => Leaf("client.address", IpOrDomain),
        "server.address" => Leaf("server.address", IpOrDomain),
        "source.domain" => Leaf("source.domain", Domain),
        "destination.domain" => Leaf("destination.domain", Domain),
        "client.domain" => Leaf("client.domain", Domain),
        "server.domain" => Leaf("server.domain", Domain),
        "url.domain" => Leaf("url.domain", Domain),
        "dns.question.name" => Leaf("dns.question.name", Domain),
        "tls.client.server_name" => Leaf("tls.client.server_name", Domain),
        "related.hosts" => Leaf("related.hosts", Domain),
        "url.original" => Leaf("url.original", Url),
        "url.full" => Leaf("url.full", Url),
        "related.hash" => Leaf("related.hash", Hash),
        "file.hash.md5" => Leaf("file.hash.md5", Hash),
        "file.hash.sha1" => Leaf("file.hash.sha1", Hash),
        "file.hash.sha256" => Leaf("file.hash.sha256", Hash),
        "file.hash.sm3" => Leaf("file.hash.sm3", Hash),
        "process.hash.md5" => Leaf("process.hash.md5", Hash),
        "process.hash.sha1" => Leaf("process.hash.sha1", Hash),
        "process.hash.sha256" => Leaf("process.hash.sha256", Hash),
        "process.hash.sm3" => Leaf("process.hash.sm3", Hash),
        "process.parent.hash.md5" => Leaf("process.parent.hash.md5", Hash),
        "process.parent.hash.sha1" => Leaf("process.parent.hash.sha1", Hash),
        "process.parent.hash.sha256" => Leaf("process.parent.hash.sha256", Hash),
        "dll.hash.md5" => Leaf("dll.hash.md5", Hash),
        "dll.hash.sha1" => Leaf("dll.hash.sha1", Hash),
        "dll.hash.sha256" => Leaf("dll.hash.sha256", Hash),
        _ => return None,
    })
}

/// One indicator matched by one field of an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit<'a> {
    /// The ECS field, dotted (`source.ip`), whatever the event's shape.
    pub field: &'static str,
    /// The atomic value that matched: the address, the host, the URL, the hash
    /// as the event had it (for `url.*` fields, the host when a domain matched).
    pub value: String,
    /// The indicator.
    pub indicator: IndicatorRef<'a>,
}

struct Matcher<'s, 'h> {
    set: &'s IndicatorSet,
    now: i64,
    hits: &'h mut Vec<Hit<'s>>,
    path: String,
}

impl IndicatorSet {
    /// Every valid indicator matched by the event's observables, once per
    /// (field, indicator). Allocates nothing for an event that hits nothing.
    pub fn match_event(&self, event: &Value, now: DateTime<Utc>) -> Vec<Hit<'_>> {
        let mut hits = Vec::new();
        if let Value::Object(map) = event {
            let mut m = Matcher {
                set: self,
                now: now.timestamp_millis(),
                hits: &mut hits,
                path: String::new(),
            };
            m.walk(map);
        }
        hits
    }
}

impl<'s> Matcher<'s, '_> {
    fn walk(&mut self, map: &Map<String, Value>) {
        for (k, v) in map {
            let len = self.path.len();
            if len > 0 {
                self.path.push('.');
            }
            self.path.push_str(k);
            match classify(&self.path) {
                Some(Class::Prefix) => {
                    if let Value::Object(inner) = v {
                        self.walk(inner);
                    }
                }
                Some(Class::Leaf(field, read)) => match v {
                    Value::String(s) => self.read(field, read, s),
                    Value::Array(items) => {
                        for item in items {
                            if let Value::String(s) = item {
                                self.read(field, read, s);
                            }
                        }
                    }
                    _ => {}
                },
                None => {}
            }
            self.path.truncate(len);
        }
    }

    fn read(&mut self, field: &'static str, read: Read, s: &str) {
        let set = self.set;
        let now = self.now;
        let hits = &mut *self.hits;
        let mut add = |value: &str, r: IndicatorRef<'s>| {
            if !hits.iter().any(|h| h.field == field && h.indicator == r) {
                hits.push(Hit {
                    field,
                    value: value.to_owned(),
                    indicator: r,
                });
            }
        };
        match read {
            Read::Ip => {
                if let Some(ip) = parse_ip(s) {
                    set.probe_ip(ip, now, &mut |r| add(s, r));
                }
            }
            Read::IpOrDomain => {
                if let Some(ip) = parse_ip(s) {
                    set.probe_ip(ip, now, &mut |r| add(s, r));
                } else if let Ok(d) = normalise_domain(s) {
                    set.probe_domain(&d, now, &mut |r| add(s, r));
                }
            }
            Read::Domain => {
                if set.domain.keys.len() > 0 {
                    if let Ok(d) = normalise_domain(s) {
                        set.probe_domain(&d, now, &mut |r| add(s, r));
                    }
                }
            }
            Read::Url => {
                // Parsing is the costly step: skip it when nothing could match.
                if set.url.keys.len() == 0
                    && set.domain.keys.len() == 0
                    && set.v4.keys.len() == 0
                    && set.v6.keys.len() == 0
                    && set.cidr4.is_empty()
                    && set.cidr6.is_empty()
                {
                    return;
                }
                let Ok(u) = parse_url(s) else { return };
                set.probe_url(u.as_str(), now, &mut |r| add(s, r));
                match u.host() {
                    Some(url::Host::Domain(d)) => set.probe_domain(d, now, &mut |r| add(d, r)),
                    Some(url::Host::Ipv4(a)) => {
                        set.probe_ip(a.into(), now, &mut |r| add(&a.to_string(), r));
                    }
                    Some(url::Host::Ipv6(a)) => {
                        set.probe_ip(a.into(), now, &mut |r| add(&a.to_string(), r));
                    }
                    None => {}
                }
            }
            Read::Hash => set.probe_hash(s, now, &mut |r| add(s, r)),
        }
    }
}
