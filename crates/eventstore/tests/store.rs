//! The event store end to end on disk: search language, aggregations, idempotent replay,
//! sealing and its verification, retention.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use yunshou_eventstore::{Aggregation, EventStore, NewEvent};

fn event(seq: u64, ts: DateTime<Utc>, doc: serde_json::Value) -> NewEvent {
    NewEvent {
        seq,
        ts,
        doc: doc.as_object().unwrap().clone(),
    }
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, h, m, 0).unwrap()
}

fn sample() -> Vec<NewEvent> {
    vec![
        event(
            1,
            at(8, 0),
            json!({"event": {"dataset": "linux.auth", "outcome": "failure", "original": "Failed password for root from 10.20.1.5 port 50022 ssh2"}, "message": "Failed password for root from 10.20.1.5 port 50022 ssh2", "source": {"ip": "10.20.1.5", "port": 50022}, "user": {"name": "root"}, "host": {"hostname": "web-01"}}),
        ),
        event(
            2,
            at(8, 5),
            json!({"event": {"dataset": "linux.auth", "outcome": "success"}, "message": "Accepted publickey for deploy from 10.30.0.9 port 40000 ssh2", "source": {"ip": "10.30.0.9", "port": 40000}, "user": {"name": "deploy"}, "host": {"hostname": "web-02"}}),
        ),
        event(
            3,
            at(9, 0),
            json!({"event": {"dataset": "nginx.access"}, "message": "GET /admin/login HTTP/1.1 403", "source": {"ip": "203.0.113.7"}, "url": {"path": "/admin/login"}, "http": {"response": {"status_code": 403}}, "host": {"hostname": "web-01"}}),
        ),
        event(
            4,
            at(9, 30),
            json!({"event": {"dataset": "nginx.access"}, "message": "GET /index.html HTTP/1.1 200", "source": {"ip": "2001:db8::7"}, "url": {"path": "/index.html"}, "http": {"response": {"status_code": 200}}, "host": {"hostname": "web-02"}}),
        ),
        event(
            5,
            at(10, 0),
            json!({"event": {"dataset": "nginx.access"}, "message": "POST /api/upload HTTP/1.1 502", "source": {"ip": "203.0.113.8"}, "url": {"path": "/api/upload"}, "http": {"response": {"status_code": 502}}, "host": {"hostname": "WEB-03"}}),
        ),
    ]
}

fn open() -> (tempfile::TempDir, EventStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    store.add("t1", &sample()).unwrap();
    store.commit().unwrap();
    (dir, store)
}

fn seqs(store: &EventStore, q: &str) -> Vec<u64> {
    let page = store
        .search("t1", q, at(0, 0), at(23, 59), 100, 0)
        .unwrap_or_else(|e| panic!("{q}: {e}"));
    let mut ids: Vec<u64> = page
        .items
        .iter()
        .map(|h| {
            sample()
                .iter()
                .find(|e| e.ts.to_rfc3339() == h.timestamp)
                .unwrap()
                .seq
        })
        .collect();
    assert_eq!(page.total as usize, ids.len(), "{q}");
    ids.sort();
    ids
}

#[test]
fn the_search_language_finds_what_it_says() {
    let (_dir, s) = open();
    let cases: &[(&str, &[u64])] = &[
        ("", &[1, 2, 3, 4, 5]),
        ("failed password", &[1]),
        ("\"password for root\"", &[1]),
        ("\"password root\"", &[]),
        ("user.name:root", &[1]),
        ("user.name:ROOT", &[1]),
        ("event.dataset:nginx.access", &[3, 4, 5]),
        ("event.outcome:failure OR event.outcome:success", &[1, 2]),
        (
            "event.dataset:nginx.access NOT url.path:/index.html",
            &[3, 5],
        ),
        (
            "event.dataset:nginx.access -http.response.status_code:200",
            &[3, 5],
        ),
        ("url.path:/admin*", &[3]),
        ("host.hostname:web-0?", &[1, 2, 3, 4, 5]),
        ("host.hostname:web-03", &[5]),
        ("source.ip:10.20.0.0/16", &[1]),
        ("source.ip:10.0.0.0/8", &[1, 2]),
        ("source.ip:2001:db8::/32", &[4]),
        ("source.ip:203.0.113.7", &[3]),
        ("http.response.status_code:>=500", &[5]),
        ("http.response.status_code:[400 TO 499]", &[3]),
        ("http.response.status_code:403", &[3]),
        ("source.port:*", &[1, 2]),
        ("url.path:* AND NOT http.response.status_code:<300", &[3, 5]),
        ("@timestamp:>=2026-11-20T09:00:00Z", &[3, 4, 5]),
        (
            "(user.name:root OR user.name:deploy) AND host.hostname:web-02",
            &[2],
        ),
    ];
    for (q, want) in cases {
        assert_eq!(seqs(&s, q), *want, "{q}");
    }
    assert!(s.search("t1", "(a", at(0, 0), at(23, 0), 10, 0).is_err());
    // Time bounds: [from, to).
    let page = s.search("t1", "", at(9, 0), at(10, 0), 10, 0).unwrap();
    assert_eq!(page.total, 2);
    // Another tenant sees nothing.
    assert_eq!(
        s.search("t2", "", at(0, 0), at(23, 0), 10, 0)
            .unwrap()
            .total,
        0
    );
}

#[test]
fn pages_are_newest_first_with_exact_totals() {
    let (_dir, s) = open();
    let p = s.search("t1", "", at(0, 0), at(23, 0), 2, 1).unwrap();
    assert_eq!(p.total, 5);
    let times: Vec<&str> = p.items.iter().map(|h| h.timestamp.as_str()).collect();
    assert_eq!(times, [at(9, 30).to_rfc3339(), at(9, 0).to_rfc3339()]);
    assert_eq!(p.items[0].event["url"]["path"], "/index.html");
}

#[test]
fn counts_by_field_and_time() {
    let (_dir, s) = open();
    let top = s
        .aggregate(
            "t1",
            "",
            at(0, 0),
            at(23, 0),
            &Aggregation::Terms {
                field: "host.hostname".into(),
                size: 2,
            },
        )
        .unwrap();
    assert_eq!(top.len(), 2);
    assert_eq!((top[0].key.as_str(), top[0].count), ("web-01", 2));
    let ds = s
        .aggregate(
            "t1",
            "",
            at(0, 0),
            at(23, 0),
            &Aggregation::Terms {
                field: "event.dataset".into(),
                size: 10,
            },
        )
        .unwrap();
    assert_eq!(ds.iter().map(|b| b.count).sum::<u64>(), 5);
    let hist = s
        .aggregate(
            "t1",
            "event.dataset:nginx.access",
            at(0, 0),
            at(23, 0),
            &Aggregation::Histogram { seconds: 3600 },
        )
        .unwrap();
    let counts: Vec<u64> = hist.iter().map(|b| b.count).collect();
    assert_eq!(counts, [2, 1], "09:00 and 10:00: {hist:?}");
}

#[test]
fn replaying_the_log_adds_nothing_twice() {
    let (dir, s) = open();
    drop(s);
    let s = EventStore::open(dir.path()).unwrap();
    assert_eq!(
        s.add("t1", &sample()).unwrap(),
        0,
        "every sequence is already held"
    );
    let mut more = sample();
    more.push(event(6, at(11, 0), json!({"message": "late line"})));
    assert_eq!(s.add("t1", &more).unwrap(), 1);
    s.commit().unwrap();
    assert_eq!(
        s.search("t1", "", at(0, 0), at(23, 0), 0, 0).unwrap().total,
        6
    );
}

#[test]
fn sealing_detects_changed_removed_and_added_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let s = EventStore::open(dir.path()).unwrap();
    let day = |d: i64| Utc::now() - Duration::days(d);
    for (i, d) in [5, 4, 3].iter().enumerate() {
        s.add(
            "t1",
            &[event(
                i as u64 + 1,
                day(*d),
                json!({"message": format!("day {d}")}),
            )],
        )
        .unwrap();
    }
    s.commit().unwrap();
    let today = Utc::now().date_naive();
    assert_eq!(s.seal_before("t1", today).unwrap().len(), 3);
    let report = s.verify("t1").unwrap();
    assert_eq!((report.sealed, report.problems.len()), (3, 0), "{report:?}");
    // Sealed days take no more writes: a late event lands today and is still found.
    s.add("t1", &[event(9, day(4), json!({"message": "late"}))])
        .unwrap();
    s.commit().unwrap();
    assert_eq!(
        s.search("t1", "late", day(6), day(0), 10, 0).unwrap().total,
        1
    );
    assert!(s.partitions("t1").unwrap().contains(&today));
    assert_eq!(s.verify("t1").unwrap().problems.len(), 0);
    // Change a file of one partition, remove another, add an unknown one.
    let d4 = dir
        .path()
        .join("t1")
        .join(day(4).format("%Y-%m-%d").to_string());
    let victim = std::fs::read_dir(&d4)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "store"))
        .unwrap();
    let mut bytes = std::fs::read(&victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&victim, bytes).unwrap();
    drop(s);
    std::fs::remove_dir_all(
        dir.path()
            .join("t1")
            .join(day(3).format("%Y-%m-%d").to_string()),
    )
    .unwrap();
    let s = EventStore::open(dir.path()).unwrap();
    let problems = s.verify("t1").unwrap().problems;
    assert!(
        problems.iter().any(|p| p.contains(".store: file changed")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.ends_with("partition removed")),
        "{problems:?}"
    );
    // Retention retires old days and the chain says so.
    let dir2 = tempfile::tempdir().unwrap();
    let s2 = EventStore::open(dir2.path()).unwrap();
    for (i, d) in [200, 190, 10].iter().enumerate() {
        s2.add(
            "t1",
            &[event(i as u64 + 1, day(*d), json!({"message": "x"}))],
        )
        .unwrap();
    }
    s2.commit().unwrap();
    let cutoff = (Utc::now() - Duration::days(180)).date_naive();
    assert_eq!(s2.retire_before("t1", cutoff).unwrap().len(), 2);
    assert_eq!(s2.partitions("t1").unwrap().len(), 1);
    assert!(s2.verify("t1").unwrap().problems.is_empty());
}
