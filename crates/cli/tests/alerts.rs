//! Streaming detection against the real server (MO.2.a, MO.3.c, MO.1.b): sshd lines sent to
//! the ingest API raise deduplicated alerts from a Sigma rule and a correlation, webhooks are
//! called, the lifecycle and suppressions work over HTTP, rule switches and rule tests,
//! intelligence feeds enrich events; tenants and roles are kept apart.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{api, client, webhook_sink, Api, Server, ADMIN_PASSWORD, DEMO_PASSWORD};

const RULES: &str = r#"
title: SSH password failure
id: 5f0b3c1e-7d2a-4c55-9d61-0a8f2b7c9e11
name: test_ssh_failure
status: test
author: yunshou tests
level: high
tags: [attack.credential-access, attack.t1110.001]
logsource: {product: linux, service: sshd}
detection:
  selection:
    process.name: sshd
    event.outcome: failure
  condition: selection
---
title: SSH brute force
id: 0c9d7a35-2b61-4f0e-8f3a-6d2e1b4c8a77
status: test
author: yunshou tests
level: critical
correlation:
  type: event_count
  rules: [test_ssh_failure]
  generate: true
  group-by: [source.ip]
  timespan: 10m
  condition: {gte: 5}
"#;

async fn ingest_token(a: &Api<'_>) -> String {
    let v = a
        .ok(
            "POST",
            "/api/v1/ingest-tokens",
            Some(json!({"name": "sshd"})),
        )
        .await;
    v["secret"].as_str().unwrap().to_string()
}

/// Sends sshd failures from `ip` (RFC 5424 lines, a second apart, ending now).
async fn send_failures(server: &Server, token: &str, ip: &str, n: usize) {
    let now = chrono::Utc::now();
    let body = (0..n)
        .map(|i| {
            let t = now - chrono::Duration::seconds((n - i) as i64);
            json!(format!(
                "<38>1 {} web-01 sshd 812 - - Failed password for root from {ip} port {} ssh2",
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                40000 + i
            ))
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n");
    let r = client()
        .post(server.url("/api/v1/ingest"))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
}

/// Waits until `query` lists alerts for which `done` holds.
async fn wait_alerts(a: &Api<'_>, query: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    // The demo feeds a day of logs per organisation after start; debug builds take a while.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let v = a.ok("GET", &format!("/api/v1/alerts?{query}"), None).await;
        let items = v["items"].as_array().unwrap().clone();
        if done(&items) {
            return items;
        }
        assert!(Instant::now() < deadline, "{query}: {items:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn count_of(items: &[Value], rule: &str) -> i64 {
    items
        .iter()
        .filter(|a| a["rule_id"] == rule)
        .map(|a| a["count"].as_i64().unwrap())
        .sum()
}

const RULE: &str = "5f0b3c1e-7d2a-4c55-9d61-0a8f2b7c9e11";
const BRUTE: &str = "0c9d7a35-2b61-4f0e-8f3a-6d2e1b4c8a77";

#[tokio::test]
async fn sshd_failures_raise_deduplicated_alerts_that_analysts_work_through() {
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(rules.path().join("ssh.yml"), RULES).unwrap();
    let server = Server::start_with(
        false,
        &[
            "--no-builtin-rules",
            "--rules",
            rules.path().to_str().unwrap(),
        ],
    );
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    let (hook, mut hooks) = webhook_sink().await;
    a.ok(
        "POST",
        "/api/v1/alerts/webhooks",
        Some(json!({"url": hook, "min_severity": "critical"})),
    )
    .await;
    let token = ingest_token(&a).await;
    send_failures(&server, &token, "203.0.113.7", 6).await;
    let items = wait_alerts(&a, "status=open", |i| {
        count_of(i, RULE) == 6 && count_of(i, BRUTE) >= 5
    })
    .await;
    // Six failures fold into one alert; the correlation raised its own.
    let alert = items.iter().find(|x| x["rule_id"] == RULE).unwrap();
    assert_eq!(items.iter().filter(|x| x["rule_id"] == RULE).count(), 1);
    assert_eq!(alert["severity"], "high");
    assert_eq!(alert["entities"]["source_ip"], "203.0.113.7");
    assert_eq!(alert["entities"]["user"], "root");
    assert_eq!(alert["rule_author"], "yunshou tests");
    assert_eq!(alert["techniques"], json!(["T1110.001"]));
    let brute = items.iter().find(|x| x["rule_id"] == BRUTE).unwrap();
    assert_eq!(brute["entities"]["group"], json!(["source.ip=203.0.113.7"]));
    // Only the critical correlation reaches the webhook.
    let sent = tokio::time::timeout(Duration::from_secs(30), hooks.recv())
        .await
        .expect("the webhook is called")
        .unwrap();
    assert_eq!(sent["alert"]["rule_id"], BRUTE);
    // Detail carries the triggering events.
    let id = alert["id"].as_str().unwrap();
    let detail = a.ok("GET", &format!("/api/v1/alerts/{id}"), None).await;
    assert_eq!(detail["events"].as_array().unwrap().len(), 6);
    assert!(detail["events"][0]["event"]["message"]
        .as_str()
        .unwrap()
        .contains("Failed password"));
    // Lifecycle: closing needs a resolution; going back is refused.
    let path = format!("/api/v1/alerts/{id}");
    let why = a
        .problem(
            "PATCH",
            &path,
            Some(json!({"status": "closed"})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(why.starts_with("resolution"), "{why}");
    a.ok(
        "PATCH",
        &path,
        Some(json!({"status": "investigating", "assignee": "admin"})),
    )
    .await;
    a.problem(
        "PATCH",
        &path,
        Some(json!({"status": "acknowledged"})),
        StatusCode::BAD_REQUEST,
    )
    .await;
    a.ok(
        "POST",
        &format!("{path}/comments"),
        Some(json!({"body": "来自已知扫描器，确认误报"})),
    )
    .await;
    let closed = a
        .ok(
            "PATCH",
            &path,
            Some(json!({"status": "closed", "resolution": "false_positive"})),
        )
        .await;
    assert_eq!(closed["resolution"], "false_positive");
    let audit = a.ok("GET", "/api/v1/audit?action=alert.update", None).await;
    assert_eq!(audit["total"], 2);
    // Suppressed for this rule and address: more failures raise nothing new for it.
    let until = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    a.ok(
        "POST",
        "/api/v1/alerts/suppressions",
        Some(json!({"rule_id": RULE, "entity": "ip", "value": "203.0.113.7", "reason": "scanner", "expires_at": until})),
    )
    .await;
    send_failures(&server, &token, "203.0.113.7", 2).await;
    send_failures(&server, &token, "198.51.100.4", 1).await;
    wait_alerts(&a, &format!("rule={RULE}&entity=198.51.100.4"), |i| {
        i.len() == 1
    })
    .await;
    let s = a.ok("GET", "/api/v1/alerts/suppressions", None).await;
    assert_eq!(s[0]["suppressed"], 2);
    let open_for_ip = a
        .ok(
            "GET",
            &format!("/api/v1/alerts?rule={RULE}&entity=203.0.113.7&status=open"),
            None,
        )
        .await;
    assert_eq!(open_for_ip["total"], 0);
    // Turned off for the tenant: nothing more from the rule.
    a.ok(
        "PUT",
        &format!("/api/v1/rules/{RULE}/enabled"),
        Some(json!({"enabled": false})),
    )
    .await;
    send_failures(&server, &token, "192.0.2.77", 1).await;
    send_failures(&server, &token, "198.51.100.4", 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let v = a
        .ok("GET", &format!("/api/v1/alerts?rule={RULE}"), None)
        .await;
    assert_eq!(v["total"], 2, "{v}");
    let listed = a.ok("GET", "/api/v1/rules?status=disabled", None).await;
    assert_eq!(listed["items"][0]["id"], RULE);
    // Filter validation.
    a.problem(
        "GET",
        "/api/v1/alerts?severity=urgent",
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;
    a.problem(
        "GET",
        "/api/v1/alerts?from=yesterday",
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn rules_are_listed_viewed_and_tested_without_recording() {
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(rules.path().join("ssh.yml"), RULES).unwrap();
    std::fs::write(
        rules.path().join("broken.yml"),
        "title: no detection\nid: x\n",
    )
    .unwrap();
    let server = Server::start_with(false, &["--rules", rules.path().to_str().unwrap()]);
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    let v = a.ok("GET", "/api/v1/rules?q=ssh%20password", None).await;
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["logsource"], "linux/sshd");
    assert_eq!(v["items"][0]["tactics"], json!(["credential-access"]));
    let view = a.ok("GET", &format!("/api/v1/rules/{RULE}"), None).await;
    assert!(view["source"]
        .as_str()
        .unwrap()
        .contains("event.outcome: failure"));
    let failure = json!({"@timestamp": "2026-12-01T10:00:00Z", "event": {"dataset": "linux.auth", "outcome": "failure"}, "process": {"name": "sshd"}, "source": {"ip": "203.0.113.9"}});
    let success = json!({"@timestamp": "2026-12-01T10:00:01Z", "event": {"dataset": "linux.auth", "outcome": "success"}, "process": {"name": "sshd"}, "source": {"ip": "203.0.113.9"}});
    let t = a
        .ok(
            "POST",
            &format!("/api/v1/rules/{RULE}/test"),
            Some(json!({"events": [failure, success, failure]})),
        )
        .await;
    assert_eq!(t["events_tested"], 3);
    let hit: Vec<u64> = t["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["index"].as_u64().unwrap())
        .collect();
    assert_eq!(hit, [0, 2]);
    assert_eq!(t["matches"][0]["entities"]["source_ip"], "203.0.113.9");
    a.problem(
        "POST",
        &format!("/api/v1/rules/{RULE}/test"),
        Some(json!({"events": ["not an object"]})),
        StatusCode::BAD_REQUEST,
    )
    .await;
    a.problem(
        "GET",
        "/api/v1/rules/00000000-0000-4000-8000-000000000000",
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    let none = a.ok("GET", "/api/v1/alerts", None).await;
    assert_eq!(none["total"], 0, "a test records nothing");
}

#[tokio::test]
async fn intel_feeds_enrich_events_and_count_hits() {
    let server = Server::start_with(false, &["--no-builtin-rules"]);
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    let csv = "value,type,confidence,description\n203.0.113.66,ip,90,botnet C2\nevil.example,domain,80,phishing\nnot-an-ip,ip,50,bad row\n";
    let r = client()
        .post(server.url("/api/v1/intel/feeds?name=cn-cert&format=csv"))
        .bearer_auth(&a.token)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let out: Value = r.json().await.unwrap();
    assert_eq!(out["indicators"], 2);
    assert_eq!(out["rejected_count"], 1);
    assert!(
        out["rejected"][0]["location"]
            .as_str()
            .unwrap()
            .contains('4'),
        "{out}"
    );
    // A file that is not a feed is refused whole.
    let r = client()
        .post(server.url("/api/v1/intel/feeds?name=junk&format=stix"))
        .bearer_auth(&a.token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let token = ingest_token(&a).await;
    let ev = json!({"@timestamp": chrono::Utc::now().to_rfc3339(), "event": {"dataset": "firewall"}, "source": {"ip": "10.1.1.1"}, "destination": {"ip": "203.0.113.66"}, "message": "outbound to c2"});
    let r = client()
        .post(server.url("/api/v1/ingest"))
        .bearer_auth(&token)
        .body(ev.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let found = support::wait_total(&a, "threat.enrichments.indicator.provider:cn-cert", 1).await;
    let e = &found["items"][0]["event"]["threat"]["enrichments"][0];
    assert_eq!(e["matched"]["field"], "destination.ip");
    assert_eq!(e["matched"]["atomic"], "203.0.113.66");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let feeds = a.ok("GET", "/api/v1/intel/feeds", None).await;
        if feeds[0]["hits"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "{feeds}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn tenants_and_roles_are_kept_apart() {
    let server = Server::demo();
    let analyst = api(&server, "jn.analyst", DEMO_PASSWORD).await;
    let auditor = api(&server, "jn.auditor", DEMO_PASSWORD).await;
    let other = api(&server, "qh.admin", DEMO_PASSWORD).await;
    // The demo's day of logs raises alerts in its organisations.
    let items = wait_alerts(&analyst, "limit=1000", |i| !i.is_empty()).await;
    let id = items[0]["id"].as_str().unwrap();
    let theirs = other.ok("GET", "/api/v1/alerts?limit=1000", None).await;
    assert!(theirs["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["id"] != id));
    other
        .problem(
            "GET",
            &format!("/api/v1/alerts/{id}"),
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
    other
        .problem(
            "PATCH",
            &format!("/api/v1/alerts/{id}"),
            Some(json!({"status": "acknowledged"})),
            StatusCode::NOT_FOUND,
        )
        .await;
    // An auditor reads but does not work alerts, nor manage rules or feeds.
    auditor
        .ok("GET", &format!("/api/v1/alerts/{id}"), None)
        .await;
    auditor
        .problem(
            "PATCH",
            &format!("/api/v1/alerts/{id}"),
            Some(json!({"status": "acknowledged"})),
            StatusCode::FORBIDDEN,
        )
        .await;
    let rule = items[0]["rule_id"].as_str().unwrap();
    analyst
        .problem(
            "PUT",
            &format!("/api/v1/rules/{rule}/enabled"),
            Some(json!({"enabled": false})),
            StatusCode::FORBIDDEN,
        )
        .await;
    analyst
        .ok(
            "PATCH",
            &format!("/api/v1/alerts/{id}"),
            Some(json!({"status": "acknowledged"})),
        )
        .await;
}
