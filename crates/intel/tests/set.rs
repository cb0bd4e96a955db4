//! IndicatorSet lookups, event matching and enrichment.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use yunshou_intel::{Indicator, IndicatorKind, IndicatorSet, IndicatorSetBuilder, Observable};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap()
}

fn ind(kind: IndicatorKind, value: &str, source: &str) -> Indicator {
    Indicator::new(kind, value, Arc::from(source)).unwrap()
}

fn set(list: Vec<Indicator>) -> IndicatorSet {
    let (s, bad) = IndicatorSet::build(list);
    assert!(bad.is_empty(), "{bad:?}");
    s
}

/// `(value, source)` of every hit, in lookup order.
fn hits(s: &IndicatorSet, obs: Observable<'_>) -> Vec<(String, String)> {
    s.lookup(&obs, now())
        .map(|r| (r.value(), r.source().to_owned()))
        .collect()
}

fn ip(s: &str) -> Observable<'static> {
    Observable::Ip(s.parse::<IpAddr>().unwrap())
}

#[test]
fn exact_ips_and_mapped_v6() {
    use IndicatorKind::*;
    let s = set(vec![
        ind(Ipv4, "192.0.2.1", "a"),
        ind(Ipv6, "2001:db8::1", "a"),
    ]);
    assert_eq!(
        hits(&s, ip("192.0.2.1")),
        [("192.0.2.1".into(), "a".into())]
    );
    assert_eq!(
        hits(&s, ip("::ffff:192.0.2.1")).len(),
        1,
        "mapped IPv6 folds to IPv4"
    );
    assert_eq!(hits(&s, ip("2001:db8:0:0::1")).len(), 1);
    assert!(hits(&s, ip("192.0.2.2")).is_empty());
    assert!(hits(&s, ip("2001:db8::2")).is_empty());
    assert_eq!(s.len(), 2);
}

#[test]
fn cidr_longest_prefix_first_and_ipv6() {
    use IndicatorKind::*;
    let s = set(vec![
        ind(Cidr, "10.0.0.0/8", "wide"),
        ind(Cidr, "10.1.2.99/24", "narrow"),
        ind(Cidr, "10.1.0.0/16", "mid"),
        ind(Ipv4, "10.1.2.3", "exact"),
        ind(Cidr, "2001:db8:abcd::/48", "v6"),
        ind(Cidr, "0.0.0.0/0", "everything"),
    ]);
    let got: Vec<String> = hits(&s, ip("10.1.2.3")).into_iter().map(|h| h.1).collect();
    assert_eq!(got, ["exact", "narrow", "mid", "wide", "everything"]);
    let got: Vec<String> = hits(&s, ip("10.2.0.1")).into_iter().map(|h| h.0).collect();
    assert_eq!(got, ["10.0.0.0/8", "0.0.0.0/0"]);
    assert_eq!(
        hits(&s, ip("2001:db8:abcd:1::5")),
        [("2001:db8:abcd::/48".into(), "v6".into())]
    );
    assert!(hits(&s, ip("2001:db8:abce::1")).is_empty());
}

#[test]
fn subdomains_match_whole_labels_only() {
    let s = set(vec![ind(IndicatorKind::Domain, "evil.example", "d")]);
    for yes in [
        "evil.example",
        "EVIL.example.",
        "a.b.evil.example",
        "www.Evil.Example",
    ] {
        assert_eq!(hits(&s, Observable::Domain(yes)).len(), 1, "{yes}");
    }
    for no in [
        "notevil.example",
        "evil.example.com",
        "example",
        "evil-example",
        "xevil.example",
    ] {
        assert!(hits(&s, Observable::Domain(no)).is_empty(), "{no}");
    }
}

#[test]
fn urls_and_hashes() {
    use IndicatorKind::*;
    let sha = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
    let s = set(vec![
        ind(Url, "http://evil.example/a?b=1", "u"),
        ind(Sha256, sha, "h"),
        ind(Sm3, &sha.to_lowercase(), "sm"),
        ind(Md5, "44d88612fea8a8f36de82e1278abb02f", "h"),
    ]);
    assert_eq!(
        hits(&s, Observable::Url("HTTP://EVIL.example:80/a?b=1#frag")).len(),
        1
    );
    assert!(hits(&s, Observable::Url("http://evil.example/a?b=2")).is_empty());
    let both = hits(&s, Observable::Hash(&sha.to_lowercase()));
    assert_eq!(
        both.iter().map(|h| h.1.as_str()).collect::<Vec<_>>(),
        ["h", "sm"]
    );
    assert_eq!(both[0].0, sha.to_lowercase());
    assert_eq!(
        hits(&s, Observable::Hash("44D88612FEA8A8F36DE82E1278ABB02F")).len(),
        1
    );
    assert!(hits(&s, Observable::Hash("44d88612fea8a8f36de82e1278abb02e")).is_empty());
}

#[test]
fn expiry_and_not_yet_valid() {
    let mut b = IndicatorSetBuilder::new();
    let mut old = ind(IndicatorKind::Ipv4, "192.0.2.1", "expired");
    old.valid_until = Some(now() - Duration::days(1));
    let mut future = ind(IndicatorKind::Ipv4, "192.0.2.1", "future");
    future.valid_from = Some(now() + Duration::days(1));
    let mut live = ind(IndicatorKind::Ipv4, "192.0.2.1", "live");
    live.valid_from = Some(now() - Duration::days(1));
    live.valid_until = Some(now() + Duration::days(1));
    for i in [&old, &future, &live] {
        b.insert(i).unwrap();
    }
    let s = b.build();
    assert_eq!(s.len(), 3);
    assert_eq!(
        hits(&s, ip("192.0.2.1")),
        [("192.0.2.1".into(), "live".into())]
    );
    let later = now() + Duration::days(2);
    let srcs: Vec<&str> = s
        .lookup(&ip("192.0.2.1"), later)
        .map(|r| r.source())
        .collect();
    assert_eq!(srcs, ["future"]);
    let r = s.lookup(&ip("192.0.2.1"), now()).next().unwrap();
    assert_eq!(r.valid_until(), live.valid_until);
}

#[test]
fn several_sources_for_one_value_and_round_trip() {
    let mut a = ind(IndicatorKind::Domain, "evil.example", "feed-a");
    a.confidence = Some(90);
    a.labels = vec!["apt-x".into(), "c2".into()];
    a.description = Some("C2 domain".into());
    a.external_id = Some("indicator--1".into());
    let b = ind(IndicatorKind::Domain, "EVIL.EXAMPLE", "feed-b");
    let s = set(vec![a.clone(), b]);
    let got: Vec<String> = hits(&s, Observable::Domain("x.evil.example"))
        .into_iter()
        .map(|h| h.1)
        .collect();
    assert_eq!(got, ["feed-a", "feed-b"]);
    let first = s
        .lookup(&Observable::Domain("evil.example"), now())
        .next()
        .unwrap();
    assert_eq!(first.to_indicator(), a);
    assert_eq!(s.get(first.id()).unwrap().source(), "feed-a");
}

#[test]
fn build_reports_values_that_do_not_normalise() {
    let mut bad = ind(IndicatorKind::Domain, "ok.example", "x");
    bad.value = "not a domain".into();
    let (s, errs) = IndicatorSet::build(vec![ind(IndicatorKind::Md5, &"a".repeat(32), "x"), bad]);
    assert_eq!(s.len(), 1);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].0, 1);
}

fn event_set() -> IndicatorSet {
    use IndicatorKind::*;
    let mut c2 = ind(Ipv4, "198.51.100.7", "feed-a");
    c2.external_id = Some("indicator--c2".into());
    c2.confidence = Some(85);
    c2.description = Some("Emotet C2".into());
    c2.labels = vec!["emotet".into()];
    set(vec![
        c2,
        ind(Ipv4, "198.51.100.7", "feed-b"),
        ind(Cidr, "203.0.113.0/24", "nets"),
        ind(Domain, "evil.example", "doms"),
        ind(Url, "https://evil.example/payload.doc", "urls"),
        ind(Sha256, &"ab".repeat(32), "hashes"),
        ind(Md5, &"cd".repeat(16), "hashes"),
    ])
}

fn summary(s: &IndicatorSet, ev: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = s
        .match_event(ev, now())
        .iter()
        .map(|h| format!("{} {} {}", h.field, h.value, h.indicator.source()))
        .collect();
    v.sort();
    v
}

#[test]
fn match_event_nested_dotted_and_mixed() {
    let s = event_set();
    let nested = json!({
        "@timestamp": "2025-06-01T00:00:00Z",
        "message": "198.51.100.7 is only in the message",
        "source": {"ip": "198.51.100.7", "port": 443},
        "destination": {"ip": "203.0.113.9", "domain": "cdn.evil.example"},
        "url": {"original": "https://EVIL.example:443/payload.doc#x"},
        "dns": {"question": {"name": "notevil.example"}},
        "file": {"hash": {"sha256": "AB".repeat(32)}},
        "related": {"ip": ["192.0.2.1", "203.0.113.10"], "hash": ["cd".repeat(16)]},
    });
    let expect = [
        "destination.domain cdn.evil.example doms",
        "destination.ip 203.0.113.9 nets",
        "file.hash.sha256 ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB hashes",
        "related.hash cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd hashes",
        "related.ip 203.0.113.10 nets",
        "source.ip 198.51.100.7 feed-a",
        "source.ip 198.51.100.7 feed-b",
        "url.original evil.example doms",
        "url.original https://EVIL.example:443/payload.doc#x urls",
    ];
    assert_eq!(summary(&s, &nested), expect);

    let dotted = json!({
        "source.ip": "198.51.100.7",
        "destination.ip": "203.0.113.9",
        "destination.domain": "cdn.evil.example",
        "url.original": "https://EVIL.example:443/payload.doc#x",
        "dns.question.name": "notevil.example",
        "file.hash": {"sha256": "AB".repeat(32)},
        "related.ip": ["192.0.2.1", "203.0.113.10"],
        "related": {"hash": ["cd".repeat(16)]},
    });
    assert_eq!(summary(&s, &dotted), expect);
}

/// A web server's request path is not a URL with a host: its first segment is not taken
/// for a domain. A scheme-relative URL names its host.
#[test]
fn request_paths_name_no_host() {
    let s = event_set();
    let path = json!({"url": {"original": "/evil.example/payload.doc?x=1"}});
    assert!(summary(&s, &path).is_empty());
    let relative = json!({"url": {"original": "//evil.example/payload.doc"}});
    assert_eq!(summary(&s, &relative), ["url.original evil.example doms"]);
}

#[test]
fn match_event_dedups_and_ignores_other_fields() {
    let s = event_set();
    let ev = json!({
        "source": {"ip": "198.51.100.7"},
        "related": {"ip": ["198.51.100.7", "198.51.100.7"]},
        "user": {"ip": "198.51.100.7"},
        "process": {"command_line": "curl evil.example"},
        "dns": {"question": {"name": "evil.example."}},
        "tls": {"client": {"server_name": "a.evil.example"}},
    });
    assert_eq!(
        summary(&s, &ev),
        [
            "dns.question.name evil.example. doms",
            "related.ip 198.51.100.7 feed-a",
            "related.ip 198.51.100.7 feed-b",
            "source.ip 198.51.100.7 feed-a",
            "source.ip 198.51.100.7 feed-b",
            "tls.client.server_name a.evil.example doms",
        ]
    );
    assert!(s
        .match_event(&json!({"source": {"ip": "192.0.2.1"}}), now())
        .is_empty());
    assert!(s.match_event(&json!("not an object"), now()).is_empty());
}

#[test]
fn enrichment_is_ecs_threat_shape() {
    let s = event_set();
    let mut ev = json!({"source": {"ip": "198.51.100.7"}, "threat": {"framework": "MITRE ATT&CK"}});
    assert_eq!(s.enrich_event(&mut ev, now()), 2);
    let e = &ev["threat"]["enrichments"];
    assert_eq!(ev["threat"]["framework"], "MITRE ATT&CK");
    assert_eq!(
        e[0],
        json!({
            "indicator": {
                "type": "ipv4-addr", "ip": "198.51.100.7", "provider": "feed-a",
                "confidence": "High", "description": "Emotet C2"
            },
            "matched": {
                "atomic": "198.51.100.7", "field": "source.ip",
                "type": "indicator_match_rule", "id": "indicator--c2"
            },
            "yunshou": {"value": "198.51.100.7", "kind": "ipv4", "confidence": 85, "labels": ["emotet"]}
        })
    );
    assert_eq!(e[1]["indicator"]["confidence"], "Not Specified");
    assert_eq!(e[1]["indicator"]["provider"], "feed-b");

    let mut ev = json!({"destination": {"ip": "203.0.113.1"}, "url": {"full": "https://evil.example/payload.doc"}});
    assert_eq!(s.enrich_event(&mut ev, now()), 3);
    let kinds: Vec<&str> = ev["threat"]["enrichments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["indicator"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["ipv4-addr", "url", "domain-name"]);
    let cidr = &ev["threat"]["enrichments"][0];
    assert!(cidr["indicator"].get("ip").is_none());
    assert_eq!(cidr["yunshou"]["value"], "203.0.113.0/24");
    assert_eq!(
        ev["threat"]["enrichments"][1]["indicator"]["url"]["full"],
        "https://evil.example/payload.doc"
    );
    assert_eq!(
        ev["threat"]["enrichments"][2]["indicator"]["url"]["domain"],
        "evil.example"
    );

    let mut quiet = json!({"source": {"ip": "192.0.2.1"}});
    assert_eq!(s.enrich_event(&mut quiet, now()), 0);
    assert!(quiet.get("threat").is_none());
}

#[test]
fn large_sets_use_the_v4_prefilter_without_losing_matches() {
    // Enough keys to build the /24 bitmap; short prefixes must bypass it.
    let mut list: Vec<Indicator> = (0..5000u32)
        .map(|i| {
            ind(
                IndicatorKind::Ipv4,
                &std::net::Ipv4Addr::from(0x0a00_0000 | (i << 8) | 7).to_string(),
                "many",
            )
        })
        .collect();
    list.push(ind(IndicatorKind::Cidr, "172.16.0.0/12", "short"));
    list.push(ind(IndicatorKind::Cidr, "192.168.7.16/28", "long"));
    let s = set(list);
    assert_eq!(
        hits(&s, ip("10.0.42.7")),
        [("10.0.42.7".into(), "many".into())]
    );
    assert!(hits(&s, ip("10.0.42.8")).is_empty());
    assert_eq!(
        hits(&s, ip("172.20.1.1")),
        [("172.16.0.0/12".into(), "short".into())]
    );
    assert_eq!(
        hits(&s, ip("192.168.7.20")),
        [("192.168.7.16/28".into(), "long".into())]
    );
    assert!(hits(&s, ip("192.168.7.40")).is_empty());
    assert!(hits(&s, ip("10.200.0.7")).is_empty());
}
