//! Importers on realistic samples, and every way an import refuses input.

use chrono::{DateTime, TimeZone, Utc};
use yunshou_intel::{detect_format, import, Format, ImportError, IndicatorKind};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap()
}

/// In the shape of the OASIS STIX 2.1 spec examples (indicator + malware + relationship).
const STIX: &str = r#"{
  "type": "bundle",
  "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
  "objects": [
    {
      "type": "indicator", "spec_version": "2.1",
      "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
      "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z",
      "indicator_types": ["malicious-activity"],
      "name": "Poison Ivy Malware",
      "description": "This file is part of Poison Ivy",
      "pattern": "[ file:hashes.'SHA-256' = '4BAC27393BDD9777CE02453256C5577CD02275510B2227F473D03F533924F877' ]",
      "pattern_type": "stix",
      "valid_from": "2016-01-01T00:00:00Z",
      "confidence": 85,
      "labels": ["APT1"]
    },
    {
      "type": "indicator", "spec_version": "2.1",
      "id": "indicator--d81f86b9-975b-4c0b-875e-810c5ad45a4f",
      "created": "2014-06-29T13:49:37.079Z", "modified": "2014-06-29T13:49:37.079Z",
      "name": "Malicious site hosting downloader",
      "indicator_types": ["malicious-activity"],
      "pattern": "[url:value = 'http://x4z9arb.cn/4712/'] OR [domain-name:value = 'X4Z9ARB.cn.'] OR [ipv4-addr:value = '198.51.100.0/24' OR ipv6-addr:value = '::ffff:203.0.113.9']",
      "pattern_type": "stix",
      "valid_from": "2014-06-29T13:49:37.079Z",
      "valid_until": "2030-01-01T00:00:00Z"
    },
    {
      "type": "indicator", "spec_version": "2.1",
      "id": "indicator--and", "created": "2020-01-01T00:00:00Z", "modified": "2020-01-01T00:00:00Z",
      "pattern": "[ipv4-addr:value = '203.0.113.1' AND network-traffic:dst_port = 443] OR [domain-name:value LIKE '%.bad.example'] OR [file:name = 'x.exe'] OR ([ipv4-addr:value = '203.0.113.2'] FOLLOWEDBY [ipv4-addr:value = '203.0.113.3']) OR [ipv4-addr:value = '203.0.113.4'] WITHIN 60 SECONDS",
      "pattern_type": "stix", "valid_from": "2020-01-01T00:00:00Z"
    },
    {
      "type": "indicator", "spec_version": "2.1", "id": "indicator--snort",
      "created": "2020-01-01T00:00:00Z", "modified": "2020-01-01T00:00:00Z",
      "pattern": "alert tcp any any -> any any (msg:\"x\";)", "pattern_type": "snort",
      "valid_from": "2020-01-01T00:00:00Z"
    },
    {
      "type": "indicator", "spec_version": "2.1", "id": "indicator--revoked", "revoked": true,
      "created": "2020-01-01T00:00:00Z", "modified": "2020-01-01T00:00:00Z",
      "pattern": "[ipv4-addr:value = '192.0.2.66']", "pattern_type": "stix", "valid_from": "2020-01-01T00:00:00Z"
    },
    {
      "type": "indicator", "spec_version": "2.1", "id": "indicator--expired",
      "created": "2020-01-01T00:00:00Z", "modified": "2020-01-01T00:00:00Z",
      "pattern": "[ipv4-addr:value = '192.0.2.67']", "pattern_type": "stix",
      "valid_from": "2020-01-01T00:00:00Z", "valid_until": "2021-01-01T00:00:00Z"
    },
    {
      "type": "indicator", "spec_version": "2.1", "id": "indicator--broken",
      "created": "2020-01-01T00:00:00Z", "modified": "2020-01-01T00:00:00Z",
      "pattern": "[ipv4-addr:value = '192.0.2.1'", "pattern_type": "stix", "valid_from": "2020-01-01T00:00:00Z"
    },
    {
      "type": "indicator", "spec_version": "2.1", "id": "indicator--badvalue",
      "created": "2020-01-01T00:00:00Z", "modified": "2020-01-01T00:00:00Z",
      "pattern": "[ipv4-addr:value = '2001:db8::1'] OR [file:hashes.MD5 = 'abc'] OR [ipv4-addr:value = '192.0.2.200']",
      "pattern_type": "stix", "valid_from": "2020-01-01T00:00:00Z"
    },
    { "type": "malware", "spec_version": "2.1", "id": "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",
      "created": "2016-04-06T20:07:09.000Z", "modified": "2016-04-06T20:07:09.000Z",
      "name": "Poison Ivy", "is_family": true },
    { "type": "relationship", "spec_version": "2.1", "id": "relationship--1",
      "relationship_type": "indicates", "source_ref": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
      "target_ref": "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b" }
  ]
}"#;

#[test]
fn stix_bundle() {
    assert_eq!(detect_format(STIX.as_bytes()), Some(Format::Stix));
    let r = import(STIX.as_bytes(), Format::Stix, "osint-stix", now()).unwrap();
    let got: Vec<(IndicatorKind, &str)> = r
        .indicators
        .iter()
        .map(|i| (i.kind, i.value.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                IndicatorKind::Sha256,
                "4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877"
            ),
            (IndicatorKind::Url, "http://x4z9arb.cn/4712/"),
            (IndicatorKind::Domain, "x4z9arb.cn"),
            (IndicatorKind::Cidr, "198.51.100.0/24"),
            (IndicatorKind::Ipv4, "203.0.113.9"),
            (IndicatorKind::Ipv4, "192.0.2.200"),
        ]
    );
    let first = &r.indicators[0];
    assert_eq!(&*first.source, "osint-stix");
    assert_eq!(first.confidence, Some(85));
    assert_eq!(first.labels, ["APT1", "malicious-activity"]);
    assert_eq!(
        first.description.as_deref(),
        Some("Poison Ivy Malware: This file is part of Poison Ivy")
    );
    assert_eq!(
        first.external_id.as_deref(),
        Some("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
    );
    assert_eq!(
        first.valid_from.unwrap().to_rfc3339(),
        "2016-01-01T00:00:00+00:00"
    );
    assert_eq!(
        r.indicators[1].valid_until.unwrap().to_rfc3339(),
        "2030-01-01T00:00:00+00:00"
    );

    // Five unsupported branches of indicator--and, plus the snort indicator.
    assert_eq!(r.skipped_unsupported, 6);
    assert_eq!((r.skipped.revoked, r.skipped.expired), (1, 1));
    let reasons: Vec<String> = r
        .rejected
        .iter()
        .map(|x| format!("{}: {}", x.location, x.reason))
        .collect();
    let expect = [
        "indicator--and: unsupported: AND combines observations",
        "indicator--and: unsupported: operator LIKE on domain-name:value",
        "indicator--and: unsupported: object path file:name",
        "indicator--and: unsupported: FOLLOWEDBY combines observations",
        "indicator--and: unsupported: WITHIN qualifier",
        "indicator--snort: unsupported: pattern_type \"snort\"",
    ];
    assert_eq!(&reasons[..6], expect);
    assert!(
        reasons[6].starts_with("indicator--broken: bad STIX pattern"),
        "{reasons:?}"
    );
    assert!(
        reasons[7].starts_with("indicator--badvalue: \"2001:db8::1\" is not a ipv4"),
        "{reasons:?}"
    );
    assert!(
        reasons[8].starts_with("indicator--badvalue: md5 must be 32 hex digits"),
        "{reasons:?}"
    );
    assert_eq!(reasons.len(), 9);
}

#[test]
fn stix_single_indicator_and_shapes() {
    let one = r#"{"type":"indicator","id":"indicator--1","pattern":"[domain-name:value = 'it\\'s.example' OR domain-name:value = 'a.example']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"}"#;
    let r = import(one.as_bytes(), Format::Stix, "s", now()).unwrap();
    // The escaped quote makes the first value an invalid domain: rejected, not dropped.
    assert_eq!(r.indicators.len(), 1);
    assert_eq!(r.rejected.len(), 1);
    assert!(
        r.rejected[0].reason.contains("invalid character '\\''"),
        "{:?}",
        r.rejected
    );

    let err = |s: &str| import(s.as_bytes(), Format::Stix, "s", now()).unwrap_err();
    assert!(matches!(err("{not json"), ImportError::Json(_)));
    assert!(matches!(
        err(r#"[{"type":"indicator"}]"#),
        ImportError::Shape(_)
    ));
    assert!(matches!(err(r#"{"type":"bundle"}"#), ImportError::Shape(_)));
    assert!(matches!(
        err(r#"{"type":"malware"}"#),
        ImportError::Shape(_)
    ));
}

/// In the shape of CIRCL's OSINT feed event files.
const MISP: &str = r##"{"Event": {
  "uuid": "5a4f6b2c-1c3c-4b3e-9b4a-43f402de0b81", "info": "OSINT - Emotet campaign", "threat_level_id": "1",
  "analysis": "2", "date": "2024-01-15", "published": true, "timestamp": "1705312345",
  "Orgc": {"name": "CIRCL", "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"},
  "Tag": [{"name": "tlp:white", "colour": "#ffffff"}, {"name": "misp-galaxy:threat-actor=\"TA542\""}],
  "Attribute": [
    {"type": "ip-dst", "category": "Network activity", "to_ids": true, "uuid": "a-1", "value": "198.51.100.23", "comment": "C2", "deleted": false},
    {"type": "ip-dst|port", "category": "Network activity", "to_ids": true, "uuid": "a-2", "value": "2001:DB8::5|8080"},
    {"type": "domain|ip", "category": "Network activity", "to_ids": true, "uuid": "a-3", "value": "c2.Emotet.example|192.0.2.44"},
    {"type": "hostname", "category": "Network activity", "to_ids": true, "uuid": "a-4", "value": "dl.emotet.example."},
    {"type": "url", "category": "Network activity", "to_ids": true, "uuid": "a-5", "value": "HTTPS://dl.emotet.example:443/payload.doc#x",
     "Tag": [{"name": "misp:confidence-level=\"usually-confident\""}]},
    {"type": "link", "category": "External analysis", "to_ids": false, "uuid": "a-6", "value": "https://blog.example/analysis"},
    {"type": "ip-src", "category": "Network activity", "to_ids": false, "uuid": "a-7", "value": "203.0.113.77"},
    {"type": "ip-src", "category": "Network activity", "to_ids": true, "uuid": "a-8", "value": "203.0.113.78", "deleted": true},
    {"type": "md5", "category": "Payload delivery", "to_ids": "1", "uuid": "a-9", "value": "not-a-hash"},
    {"type": "email-src", "category": "Payload delivery", "to_ids": true, "uuid": "a-10", "value": "x@evil.example"}
  ],
  "Object": [{"name": "file", "meta-category": "file", "uuid": "o-1", "Attribute": [
    {"type": "filename|sha256", "object_relation": "sha256", "to_ids": true, "uuid": "a-11",
     "value": "invoice.doc|E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"},
    {"type": "sha1", "to_ids": true, "uuid": "a-12", "value": "da39a3ee5e6b4b0d3255bfef95601890afd80709"}
  ]}]
}}"##;

#[test]
fn misp_event() {
    assert_eq!(detect_format(MISP.as_bytes()), Some(Format::MispJson));
    let r = import(MISP.as_bytes(), Format::MispJson, "circl-osint", now()).unwrap();
    let got: Vec<(IndicatorKind, &str)> = r
        .indicators
        .iter()
        .map(|i| (i.kind, i.value.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (IndicatorKind::Ipv4, "198.51.100.23"),
            (IndicatorKind::Ipv6, "2001:db8::5"),
            (IndicatorKind::Domain, "c2.emotet.example"),
            (IndicatorKind::Ipv4, "192.0.2.44"),
            (IndicatorKind::Domain, "dl.emotet.example"),
            (IndicatorKind::Url, "https://dl.emotet.example/payload.doc"),
            (
                IndicatorKind::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            ),
            (
                IndicatorKind::Sha1,
                "da39a3ee5e6b4b0d3255bfef95601890afd80709"
            ),
        ]
    );
    let c2 = &r.indicators[0];
    assert_eq!(c2.confidence, Some(90));
    assert_eq!(
        c2.description.as_deref(),
        Some("OSINT - Emotet campaign — C2")
    );
    assert_eq!(c2.external_id.as_deref(), Some("a-1"));
    assert_eq!(
        c2.labels,
        ["misp-galaxy:threat-actor=\"TA542\"", "tlp:white"]
    );
    assert_eq!(
        r.indicators[5].confidence,
        Some(75),
        "attribute confidence tag wins"
    );
    assert_eq!(r.skipped.not_for_detection, 1);
    assert_eq!(r.skipped.revoked, 1);
    assert_eq!(r.skipped_unsupported, 2, "link and email-src");
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].location, "attribute a-9");
    assert!(
        r.rejected[0].reason.starts_with("md5: md5 must be 32"),
        "{:?}",
        r.rejected
    );
}

#[test]
fn misp_wrappers_and_errors() {
    let ev = r#"{"Event":{"threat_level_id":"3","info":"x","Attribute":[{"type":"domain","to_ids":true,"value":"a.example"}]}}"#;
    let arr = format!("[{ev}, {{\"nope\": 1}}]");
    let r = import(arr.as_bytes(), Format::MispJson, "m", now()).unwrap();
    assert_eq!(r.indicators.len(), 1);
    assert_eq!(r.indicators[0].confidence, Some(30));
    assert_eq!(r.rejected[0].location, "event[1]");
    let resp = format!("{{\"response\": [{ev}, {ev}]}}");
    assert_eq!(
        import(resp.as_bytes(), Format::MispJson, "m", now())
            .unwrap()
            .indicators
            .len(),
        2
    );
    let four = ev.replace("\"3\"", "\"4\"");
    assert_eq!(
        import(four.as_bytes(), Format::MispJson, "m", now())
            .unwrap()
            .indicators[0]
            .confidence,
        None
    );
    assert!(matches!(
        import(b"{\"Event\": ", Format::MispJson, "m", now()),
        Err(ImportError::Json(_))
    ));
    assert!(matches!(
        import(b"{\"event\": {}}", Format::MispJson, "m", now()),
        Err(ImportError::Shape(_))
    ));
    assert!(matches!(
        import(b"\"Event\"", Format::MispJson, "m", now()),
        Err(ImportError::Shape(_))
    ));
}

const MISP_CSV: &str = "uuid,event_id,category,type,value,comment,to_ids,date,object_relation,attribute_tag,object_uuid,object_name,object_meta_category
5c1a0000-0000-0000-0000-000000000001,1234,Network activity,ip-dst,198.51.100.9,C2 server,1,20240115,,\"tlp:green,kill-chain:c2\",,,
5c1a0000-0000-0000-0000-000000000002,1234,Network activity,domain,EVIL.example,,1,20240115,,,,,
5c1a0000-0000-0000-0000-000000000003,1234,Network activity,ip-dst,999.1.1.1,,1,20240115,,,,,
5c1a0000-0000-0000-0000-000000000004,1234,External analysis,link,https://ref.example/,,0,20240115,,,,,
5c1a0000-0000-0000-0000-000000000005,1234,Network activity,domain,ctx.example,,0,20240115,,,,,
5c1a0000-0000-0000-0000-000000000006,1234,Payload delivery,filename|md5,a.exe|D41D8CD98F00B204E9800998ECF8427E,,1,20240115,md5,,o-1,file,file
5c1a0000-0000-0000-0000-000000000007,1234,Network activity,url
";

#[test]
fn misp_csv() {
    assert_eq!(detect_format(MISP_CSV.as_bytes()), Some(Format::MispCsv));
    let r = import(MISP_CSV.as_bytes(), Format::MispCsv, "misp-csv", now()).unwrap();
    let got: Vec<&str> = r.indicators.iter().map(|i| i.value.as_str()).collect();
    assert_eq!(
        got,
        [
            "198.51.100.9",
            "evil.example",
            "d41d8cd98f00b204e9800998ecf8427e"
        ]
    );
    assert_eq!(r.indicators[0].labels, ["tlp:green", "kill-chain:c2"]);
    assert_eq!(r.indicators[0].description.as_deref(), Some("C2 server"));
    assert_eq!(
        r.indicators[0].external_id.as_deref(),
        Some("5c1a0000-0000-0000-0000-000000000001")
    );
    assert_eq!(r.skipped_unsupported, 1);
    assert_eq!(r.skipped.not_for_detection, 1);
    let locs: Vec<&str> = r.rejected.iter().map(|x| x.location.as_str()).collect();
    assert_eq!(locs, ["line 4", "line 8"], "{:?}", r.rejected);
    // Any header with type and value will do, columns in any order.
    let minimal = "value,type\n192.0.2.1,ip-src\n";
    let r = import(minimal.as_bytes(), Format::MispCsv, "m", now()).unwrap();
    assert_eq!(r.indicators[0].value, "192.0.2.1");
    let e = import(b"uuid,event_id\n1,2\n", Format::MispCsv, "m", now()).unwrap_err();
    assert!(matches!(e, ImportError::Csv(_)));
}

#[test]
fn plain_csv() {
    let text = "# feed: example blocklist\nvalue,type,confidence,expires,description,tags
10.1.2.3/8,,80,2030-01-01,Internal scanner range,scanner;internal
Evil.Example.,domain,,,,
https://evil.example:443/login,url,,2030-01-01T00:00:00Z,,phishing
44D88612FEA8A8F36DE82E1278ABB02F,md5,,,EICAR,
not a thing,,,,,
198.51.100.1,ip,150,,,
192.0.2.5,ip,,yesterday,,
192.0.2.6,ip,,2020-01-01,,
2001:db8::1,ipv6
";
    assert_eq!(detect_format(text.as_bytes()), Some(Format::Csv));
    let r = import(text.as_bytes(), Format::Csv, "blocklist", now()).unwrap();
    let got: Vec<(IndicatorKind, &str)> = r
        .indicators
        .iter()
        .map(|i| (i.kind, i.value.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (IndicatorKind::Cidr, "10.0.0.0/8"),
            (IndicatorKind::Domain, "evil.example"),
            (IndicatorKind::Url, "https://evil.example/login"),
            (IndicatorKind::Md5, "44d88612fea8a8f36de82e1278abb02f"),
        ]
    );
    let scanner = &r.indicators[0];
    assert_eq!(scanner.confidence, Some(80));
    assert_eq!(scanner.labels, ["scanner", "internal"]);
    assert_eq!(
        scanner.valid_until.unwrap().to_rfc3339(),
        "2030-01-01T23:59:59+00:00"
    );
    assert_eq!(r.skipped.expired, 1);
    let rej: Vec<String> = r
        .rejected
        .iter()
        .map(|x| format!("{}: {}", x.location, x.reason))
        .collect();
    assert_eq!(rej.len(), 4, "{rej:?}");
    assert!(rej[0].starts_with("line 7: cannot tell what"), "{rej:?}");
    assert!(rej[1].starts_with("line 8: confidence \"150\""), "{rej:?}");
    assert!(
        rej[2].starts_with("line 9: expires \"yesterday\""),
        "{rej:?}"
    );
    assert!(
        rej[3].starts_with("line 11") && rej[3].contains("fields"),
        "{rej:?}"
    );
}

#[test]
fn plain_csv_one_column_and_errors() {
    let r = import(
        b"indicator\n192.0.2.1\nbad..example\nfoo.example\n",
        Format::Csv,
        "c",
        now(),
    )
    .unwrap();
    assert_eq!(r.indicators.len(), 2);
    assert_eq!(r.rejected[0].location, "line 3");
    let e = import(b"192.0.2.1\n192.0.2.2\n", Format::Csv, "c", now()).unwrap_err();
    assert!(e.to_string().contains("header"), "{e}");
    assert!(import(b"", Format::Csv, "c", now()).is_err());
}
