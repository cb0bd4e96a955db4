//! Observables in yunshou ECS events and [`IndicatorSet::match_event`].
//!
//! The event is walked once through a small tree of the fields we read: each
//! key is a leaf we read, a branch we descend into, or something we skip
//! without looking inside. Nested (`{"source":{"ip":…}}`),
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

/// A position in the tree of fields read. One small `match` per key and
/// level, with no path string built: most keys of an event (`@timestamp`,
/// `event`, `message`…) are dismissed by the first comparison that fails.
#[derive(Debug, Clone, Copy)]
enum Node {
    Root,
    /// `source`, `destination`, `client`, `server` (index into [`ENDPOINTS`]).
    Endpoint(usize),
    Host,
    Related,
    Dns,
    DnsQuestion,
    Url,
    Tls,
    TlsClient,
    /// `file`, `dll`, `process`, `process.parent` (index into [`HASHES`]).
    HashOwner(usize),
    Hashes(usize),
    Process,
    ProcessParent,
}

enum Step {
    Node(Node),
    Leaf(&'static str, Read),
}

/// `ip`, `address`, `domain` under each endpoint.
const ENDPOINTS: [[&str; 3]; 4] = [
    ["source.ip", "source.address", "source.domain"],
    [
        "destination.ip",
        "destination.address",
        "destination.domain",
    ],
    ["client.ip", "client.address", "client.domain"],
    ["server.ip", "server.address", "server.domain"],
];

/// `md5`, `sha1`, `sha256`, `sm3` under each hash owner.
const HASHES: [[&str; 4]; 4] = [
    [
        "file.hash.md5",
        "file.hash.sha1",
        "file.hash.sha256",
        "file.hash.sm3",
    ],
    [
        "dll.hash.md5",
        "dll.hash.sha1",
        "dll.hash.sha256",
        "dll.hash.sm3",
    ],
    [
        "process.hash.md5",
        "process.hash.sha1",
        "process.hash.sha256",
        "process.hash.sm3",
    ],
    [
        "process.parent.hash.md5",
        "process.parent.hash.sha1",
        "process.parent.hash.sha256",
        "process.parent.hash.sm3",
    ],
];

/// The ECS fields read. Source of truth: the fields our parsers in
/// `crates/ingest/src/normalise/` write, plus ECS's own homes for the same
/// observables (`related.*`, `client`/`server`, `dll`, `url.full`).
fn step(node: Node, key: &str) -> Option<Step> {
    use Node::*;
    use Read::{Domain, Hash, Ip, IpOrDomain};
    let n = Step::Node;
    Some(match (node, key) {
        (Root, "source") => n(Endpoint(0)),
        (Root, "destination") => n(Endpoint(1)),
        (Root, "client") => n(Endpoint(2)),
        (Root, "server") => n(Endpoint(3)),
        (Root, "host") => n(Host),
        (Root, "related") => n(Related),
        (Root, "dns") => n(Dns),
        (Root, "url") => n(Url),
        (Root, "tls") => n(Tls),
        (Root, "file") => n(HashOwner(0)),
        (Root, "dll") => n(HashOwner(1)),
        (Root, "process") => n(Process),
        (Endpoint(i), "ip") => Step::Leaf(ENDPOINTS[i][0], Ip),
        (Endpoint(i), "address") => Step::Leaf(ENDPOINTS[i][1], IpOrDomain),
        (Endpoint(i), "domain") => Step::Leaf(ENDPOINTS[i][2], Domain),
        (Host, "ip") => Step::Leaf("host.ip", Ip),
        (Related, "ip") => Step::Leaf("related.ip", Ip),
        (Related, "hosts") => Step::Leaf("related.hosts", Domain),
        (Related, "hash") => Step::Leaf("related.hash", Hash),
        (Dns, "question") => n(DnsQuestion),
        (Dns, "resolved_ip") => Step::Leaf("dns.resolved_ip", Ip),
        (DnsQuestion, "name") => Step::Leaf("dns.question.name", Domain),
        (Url, "original") => Step::Leaf("url.original", Read::Url),
        (Url, "full") => Step::Leaf("url.full", Read::Url),
        (Url, "domain") => Step::Leaf("url.domain", Domain),
        (Tls, "client") => n(TlsClient),
        (TlsClient, "server_name") => Step::Leaf("tls.client.server_name", Domain),
        (Process, "hash") => n(Hashes(2)),
        (Process, "parent") => n(ProcessParent),
        (ProcessParent, "hash") => n(Hashes(3)),
        (HashOwner(i), "hash") => n(Hashes(i)),
        (Hashes(i), "md5") => Step::Leaf(HASHES[i][0], Hash),
        (Hashes(i), "sha1") => Step::Leaf(HASHES[i][1], Hash),
        (Hashes(i), "sha256") => Step::Leaf(HASHES[i][2], Hash),
        (Hashes(i), "sm3") => Step::Leaf(HASHES[i][3], Hash),
        _ => return None,
    })
}

/// Like [`step`], for a key that may be dotted (`source.ip`, `file.hash`).
fn resolve(node: Node, key: &str) -> Option<Step> {
    if let Some(s) = step(node, key) {
        return Some(s);
    }
    if !key.contains('.') {
        return None;
    }
    let mut parts = key.split('.');
    let mut cur = step(node, parts.next()?)?;
    for p in parts {
        match cur {
            Step::Node(n) => cur = step(n, p)?,
            Step::Leaf(..) => return None,
        }
    }
    Some(cur)
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
            };
            m.walk(Node::Root, map);
        }
        hits
    }
}

impl<'s> Matcher<'s, '_> {
    fn walk(&mut self, node: Node, map: &Map<String, Value>) {
        for (k, v) in map {
            match resolve(node, k) {
                Some(Step::Node(next)) => {
                    if let Value::Object(inner) = v {
                        self.walk(next, inner);
                    }
                }
                Some(Step::Leaf(field, read)) => match v {
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
                // A request's path (`/a/b?q`, what a web server logs as `url.original`) names
                // no host: read as a URL its first segment would pass for one.
                if s.starts_with('/') && !s.starts_with("//") {
                    return;
                }
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
