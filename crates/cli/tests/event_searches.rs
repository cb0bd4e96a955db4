//! Saved event searches and event export against the real server with the demo's day of logs:
//! who sees which saved search, validation, tenant isolation; exports that match the search's
//! exact total, keep originals back without the permission, and are audited.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::{api, Api, Server, DEMO_PASSWORD};

async fn total(a: &Api<'_>, q: &str) -> u64 {
    let v = a
        .ok(
            "GET",
            &format!(
                "/api/v1/events/search?from=2020-01-01&limit=1&q={}",
                q.replace(' ', "%20").replace(':', "%3A")
            ),
            None,
        )
        .await;
    v["total"].as_u64().unwrap()
}

/// The demo feeds its day of logs through the pipeline after start: waits until `q`'s total
/// stops growing.
async fn settled_total(a: &Api<'_>, q: &str) -> u64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut last = u64::MAX;
    loop {
        let n = total(a, q).await;
        if n > 0 && n == last {
            return n;
        }
        assert!(std::time::Instant::now() < deadline, "{q}: still {n}");
        last = n;
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    }
}

#[tokio::test]
async fn saved_searches_are_private_shared_or_refused() {
    let server = Server::demo();
    let analyst = api(&server, "jn.analyst", DEMO_PASSWORD).await;
    let auditor = api(&server, "jn.auditor", DEMO_PASSWORD).await;
    let admin = api(&server, "jn.admin", DEMO_PASSWORD).await;
    let other_tenant = api(&server, "qh.admin", DEMO_PASSWORD).await;
    let saves = || async {
        admin
            .ok("GET", "/api/v1/audit?action=event_search.save", None)
            .await["total"]
            .as_u64()
            .unwrap()
    };
    let saves_before = saves().await;
    let mine = analyst
        .ok(
            "POST",
            "/api/v1/events/searches",
            Some(
                json!({"name": "SSH 失败", "query": "event.outcome:failure AND process.name:sshd"}),
            ),
        )
        .await;
    let shared = analyst
        .ok(
            "POST",
            "/api/v1/events/searches",
            Some(json!({"name": "外网扫描", "query": "source.ip:203.0.113.0/24", "shared": true})),
        )
        .await;
    // The demo's own shared searches are there too; these are the test's.
    let names = |v: serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .filter(|n| n == "SSH 失败" || n == "外网扫描")
            .collect()
    };
    assert_eq!(
        names(analyst.ok("GET", "/api/v1/events/searches", None).await),
        ["SSH 失败", "外网扫描"]
    );
    assert_eq!(
        names(auditor.ok("GET", "/api/v1/events/searches", None).await),
        ["外网扫描"]
    );
    assert!(names(
        other_tenant
            .ok("GET", "/api/v1/events/searches", None)
            .await
    )
    .is_empty());
    // Ledger queries and event searches do not mix.
    let ledger = analyst.ok("GET", "/api/v1/assets/queries", None).await;
    assert!(!names(ledger).contains(&"SSH 失败".to_string()));
    // A search that does not parse is refused, naming why.
    let detail = analyst
        .problem(
            "POST",
            "/api/v1/events/searches",
            Some(json!({"name": "x", "query": "(unclosed"})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(detail.starts_with("query:"), "{detail}");
    // Others cannot delete a private search (it does not exist for them), nor another
    // tenant's; the tenant's administrator may delete a shared one.
    let private = format!("/api/v1/events/searches/{}", mine["id"].as_str().unwrap());
    let public = format!("/api/v1/events/searches/{}", shared["id"].as_str().unwrap());
    auditor
        .problem("DELETE", &private, None, StatusCode::NOT_FOUND)
        .await;
    auditor
        .problem("DELETE", &public, None, StatusCode::NOT_FOUND)
        .await;
    other_tenant
        .problem("DELETE", &public, None, StatusCode::NOT_FOUND)
        .await;
    admin.call("DELETE", &public, None).await;
    assert_eq!(
        names(analyst.ok("GET", "/api/v1/events/searches", None).await),
        ["SSH 失败"]
    );
    let (status, _) = analyst.call("DELETE", &private, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(saves().await, saves_before + 2);
    // Viewers may not search, so may not save either.
    let viewer = api(&server, "qh.viewer", DEMO_PASSWORD).await;
    viewer
        .problem(
            "POST",
            "/api/v1/events/searches",
            Some(json!({"name": "v", "query": "sshd"})),
            StatusCode::FORBIDDEN,
        )
        .await;
}

#[tokio::test]
async fn exports_match_the_search_and_are_audited() {
    let server = Server::demo();
    let analyst = api(&server, "jn.analyst", DEMO_PASSWORD).await;
    let q = "event.dataset:linux.auth";
    settled_total(&analyst, "").await;
    let want = total(&analyst, q).await;
    assert!(want > 50, "the demo day has authentication events: {want}");
    let path = |extra: &str| {
        format!("/api/v1/events/export?from=2020-01-01&q=event.dataset%3Alinux.auth{extra}")
    };

    let csv_text = analyst.ok("GET", &path(""), None).await;
    let csv_text = csv_text.as_str().unwrap();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "@timestamp");
    assert!(!header.iter().any(|h| h == "event.original"));
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len() as u64, want);
    assert!(rows.iter().all(|r| &r[1] == "linux.auth"));

    let ndjson = analyst
        .ok("GET", &path("&format=ndjson&max=10"), None)
        .await;
    let lines: Vec<serde_json::Value> = ndjson
        .as_str()
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 10);
    assert!(lines.iter().all(|e| e["event"].get("original").is_none()));
    let with_raw = analyst
        .ok("GET", &path("&format=ndjson&max=3&raw=true"), None)
        .await;
    assert!(with_raw
        .as_str()
        .unwrap()
        .lines()
        .all(
            |l| serde_json::from_str::<serde_json::Value>(l).unwrap()["event"]["original"]
                .is_string()
        ));

    // Auditors may export what they may search, but not the originals.
    let auditor = api(&server, "jn.auditor", DEMO_PASSWORD).await;
    auditor.ok("GET", &path("&max=5"), None).await;
    auditor
        .problem("GET", &path("&raw=true"), None, StatusCode::FORBIDDEN)
        .await;
    for bad in ["&format=xml", "&max=0", "&max=100001", "&from=yesterday"] {
        analyst
            .problem("GET", &path(bad), None, StatusCode::BAD_REQUEST)
            .await;
    }
    analyst
        .problem(
            "GET",
            "/api/v1/events/export?q=(broken",
            None,
            StatusCode::BAD_REQUEST,
        )
        .await;
    // Every export is in the trail with its query; the other tenant exports none of these.
    let admin = api(&server, "jn.admin", DEMO_PASSWORD).await;
    let audit = admin
        .ok("GET", "/api/v1/audit?action=events.export", None)
        .await;
    assert_eq!(audit["total"], 4);
    let other = api(&server, "qh.admin", DEMO_PASSWORD).await;
    let theirs = other.ok("GET", &path("&format=ndjson"), None).await;
    let theirs_text = theirs.as_str().map(str::to_string).unwrap_or_default();
    let jn_hosts: std::collections::BTreeSet<String> =
        rows.iter().map(|r| r[4].to_string()).collect();
    for line in theirs_text.lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        let host = e["host"]["hostname"].as_str().unwrap_or_default();
        assert!(!jn_hosts.contains(host) || host.is_empty(), "{host} leaked");
    }
}
