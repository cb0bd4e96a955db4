//! Relations and graph (I.1.b), change rules, alerts, approval and webhooks (I.1.d), saved
//! queries and the exposure trend (I.1.e), against the real server.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{api, webhook_sink, Api, Server, ADMIN_PASSWORD, DEMO_PASSWORD};

fn asset(name: &str, extra: Value) -> Value {
    let mut v = json!({"name": name, "kind": "host", "confidentiality": 2, "integrity": 2, "availability": 2});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

async fn id_of(a: &Api<'_>, body: Value) -> String {
    a.create(body).await["id"].as_str().unwrap().to_string()
}

async fn alerts(a: &Api<'_>, query: &str) -> Vec<Value> {
    a.ok(
        "GET",
        &format!("/api/v1/assets/change-alerts?limit=1000&{query}"),
        None,
    )
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// Rule names of an asset's alerts, sorted.
async fn fired(a: &Api<'_>, asset_id: &str) -> Vec<String> {
    let mut names: Vec<String> = alerts(a, &format!("asset_id={asset_id}"))
        .await
        .iter()
        .map(|x| x["rule_name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn relations_neighbourhood_and_graph() {
    let server = Server::start();
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    let web = id_of(&a, asset("web <01>", json!({}))).await;
    let app = id_of(&a, asset("app-01", json!({}))).await;
    let db = id_of(&a, asset("db-01", json!({"kind": "database"}))).await;
    let far = id_of(&a, asset("backup-01", json!({}))).await;
    let rel = |to: &str, kind: &str| json!({"to_id": to, "kind": kind});
    let r1 = a
        .call(
            "POST",
            &format!("/api/v1/assets/{web}/relations"),
            Some(rel(&app, "connects_to")),
        )
        .await;
    assert_eq!(r1.0, StatusCode::CREATED, "{}", r1.1);
    a.ok(
        "POST",
        &format!("/api/v1/assets/{app}/relations"),
        Some(rel(&db, "depends_on")),
    )
    .await;
    a.ok(
        "POST",
        &format!("/api/v1/assets/{db}/relations"),
        Some(rel(&far, "connects_to")),
    )
    .await;
    // Bad relations are refused, naming the field.
    let path = format!("/api/v1/assets/{web}/relations");
    assert_eq!(
        a.problem(
            "POST",
            &path,
            Some(rel(&app, "connects_to")),
            StatusCode::CONFLICT
        )
        .await,
        "kind: the assets already have a connects_to relation"
    );
    assert!(a
        .problem(
            "POST",
            &path,
            Some(rel(&web, "runs_on")),
            StatusCode::BAD_REQUEST
        )
        .await
        .starts_with("to_id"));
    assert!(a
        .problem(
            "POST",
            &path,
            Some(rel(&app, "owns")),
            StatusCode::BAD_REQUEST
        )
        .await
        .contains("kind"));
    // Neighbourhoods grow with depth, both directions.
    let names = |v: &Value| -> Vec<(String, u64)> {
        let mut n: Vec<(String, u64)> = v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                (
                    n["asset"]["name"].as_str().unwrap().to_string(),
                    n["depth"].as_u64().unwrap(),
                )
            })
            .collect();
        n.sort();
        n
    };
    let n1 = a
        .ok(
            "GET",
            &format!("/api/v1/assets/{app}/neighbourhood?depth=1"),
            None,
        )
        .await;
    assert_eq!(
        names(&n1),
        [
            ("app-01".into(), 0),
            ("db-01".into(), 1),
            ("web <01>".into(), 1)
        ]
    );
    assert_eq!(n1["relations"].as_array().unwrap().len(), 2);
    let n2 = a
        .ok(
            "GET",
            &format!("/api/v1/assets/{web}/neighbourhood?depth=3"),
            None,
        )
        .await;
    assert_eq!(names(&n2).len(), 4);
    assert_eq!(n2["truncated"], false);
    a.problem(
        "GET",
        &format!("/api/v1/assets/{web}/neighbourhood?depth=9"),
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;
    // The graph is SVG drawn on the server, names escaped, nodes linked.
    let r = support::client()
        .get(server.url(&format!("/api/v1/assets/{app}/graph.svg")))
        .bearer_auth(&a.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("image/svg+xml"));
    let svg = r.text().await.unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains("web &lt;01&gt;") && !svg.contains("web <01>"));
    assert!(svg.contains(&format!("href=\"/assets/{db}\"")));
    // Removing a relation; the other end's list no longer shows it.
    let rels = a
        .ok("GET", &format!("/api/v1/assets/{db}/relations"), None)
        .await;
    let to_far = rels
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["to_id"] == far.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    a.problem(
        "DELETE",
        &format!("/api/v1/assets/{web}/relations/{to_far}"),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    a.ok(
        "DELETE",
        &format!("/api/v1/assets/{db}/relations/{to_far}"),
        None,
    )
    .await;
    assert_eq!(
        a.ok("GET", &format!("/api/v1/assets/{far}/relations"), None)
            .await,
        json!([])
    );
    let audit = a.ok("GET", "/api/v1/audit?action=asset.", None).await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"asset.relate") && actions.contains(&"asset.unrelate"));
}

#[tokio::test]
async fn relations_and_alerts_stay_in_their_tenant() {
    let server = Server::demo();
    let jn = api(&server, "jn.owner", DEMO_PASSWORD).await;
    let qh = api(&server, "qh.owner", DEMO_PASSWORD).await;
    let mine = id_of(&jn, asset("jn-only", json!({}))).await;
    let theirs = id_of(&qh, asset("qh-only", json!({}))).await;
    // Relating to another tenant's asset looks exactly like relating to a missing one.
    assert_eq!(
        jn.problem(
            "POST",
            &format!("/api/v1/assets/{mine}/relations"),
            Some(json!({"to_id": theirs, "kind": "connects_to"})),
            StatusCode::BAD_REQUEST
        )
        .await,
        "to_id: no such asset"
    );
    for path in [
        format!("/api/v1/assets/{theirs}/relations"),
        format!("/api/v1/assets/{theirs}/neighbourhood"),
        format!("/api/v1/assets/{theirs}/graph.svg"),
    ] {
        jn.problem("GET", &path, None, StatusCode::NOT_FOUND).await;
    }
    // The demo's held change in qh is invisible and undecidable from jn.
    let qh_pending = alerts(&qh, "status=pending").await;
    assert!(!qh_pending.is_empty(), "the demo leaves a change waiting");
    let alert = qh_pending[0]["id"].as_str().unwrap();
    let jn_admin = api(&server, "jn.admin", DEMO_PASSWORD).await;
    jn_admin
        .problem(
            "GET",
            &format!("/api/v1/assets/change-alerts/{alert}"),
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
    jn_admin
        .problem(
            "POST",
            &format!("/api/v1/assets/change-alerts/{alert}/decision"),
            Some(json!({"decision": "approve"})),
            StatusCode::NOT_FOUND,
        )
        .await;
    assert!(alerts(&jn, "")
        .await
        .iter()
        .all(|x| x["asset_name"] != "qh-only" && x["id"] != alert));
    // Saved queries too.
    let q = qh
        .ok(
            "POST",
            "/api/v1/assets/queries",
            Some(json!({"name": "qh", "query": "port=22", "shared": true})),
        )
        .await;
    let listed = jn.ok("GET", "/api/v1/assets/queries", None).await;
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["id"] != q["id"]));
    jn_admin
        .problem(
            "DELETE",
            &format!("/api/v1/assets/queries/{}", q["id"].as_str().unwrap()),
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
}

#[tokio::test]
async fn change_rules_fire_exactly_when_they_should() {
    let server = Server::start();
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    let rules = a.ok("GET", "/api/v1/assets/change-rules", None).await;
    let rules = rules.as_array().unwrap();
    assert_eq!(
        rules.len(),
        4,
        "a tenant starts with the four default rules"
    );
    let rule = |kind: &str| {
        rules
            .iter()
            .find(|r| r["condition"]["kind"] == kind)
            .unwrap()
            .clone()
    };
    // Send the owner-removed rule's alerts to a local webhook.
    let (url, mut hooks) = webhook_sink().await;
    let mut owner_rule = rule("owner_removed");
    let owner_rule_id = owner_rule["id"].as_str().unwrap().to_string();
    owner_rule.as_object_mut().unwrap().remove("id");
    owner_rule["webhook_url"] = json!(url);
    a.ok(
        "PUT",
        &format!("/api/v1/assets/change-rules/{owner_rule_id}"),
        Some(owner_rule),
    )
    .await;

    // A low-value internal asset: ordinary changes raise nothing.
    let low = id_of(
        &a,
        asset("low", json!({"owner": "甲", "ports": [{"port": 22}]})),
    )
    .await;
    a.ok(
        "PATCH",
        &format!("/api/v1/assets/{low}"),
        Some(json!({"zone": "内网"})),
    )
    .await;
    assert_eq!(fired(&a, &low).await, Vec::<String>::new());
    // Owner removed → alert, delivered to the webhook.
    a.ok(
        "PATCH",
        &format!("/api/v1/assets/{low}"),
        Some(json!({"owner": null})),
    )
    .await;
    assert_eq!(fired(&a, &low).await, ["责任人被移除"]);
    let hook = tokio::time::timeout(Duration::from_secs(15), hooks.recv())
        .await
        .expect("the webhook is called within seconds")
        .unwrap();
    assert_eq!(hook["type"], "asset.change_alert");
    assert_eq!(hook["alert"]["asset_id"], low.as_str());
    assert_eq!(hook["alert"]["reasons"], json!(["owner 甲 removed"]));
    // Fingerprint changed → alert; the same fingerprint again → nothing more.
    let fp = json!({"fingerprint": {"cpe": ["cpe:2.3:a:openbsd:openssh:9.6:*:*:*:*:*:*:*"]}});
    a.ok("PATCH", &format!("/api/v1/assets/{low}"), Some(fp.clone()))
        .await;
    a.ok("PATCH", &format!("/api/v1/assets/{low}"), Some(fp))
        .await;
    assert_eq!(fired(&a, &low).await, ["指纹变化", "责任人被移除"]);

    // A high-value asset: any change alerts.
    let high = id_of(
        &a,
        asset(
            "core-db",
            json!({"kind": "database", "owner": "乙", "confidentiality": 5, "integrity": 5, "availability": 4, "ports": [{"port": 3306}]}),
        ),
    )
    .await;
    assert_eq!(fired(&a, &high).await, Vec::<String>::new());
    a.ok(
        "PATCH",
        &format!("/api/v1/assets/{high}"),
        Some(json!({"os": "openEuler 22.03"})),
    )
    .await;
    assert_eq!(fired(&a, &high).await, ["高价值资产变更"]);

    // A new asset created with an internet port: alerted, not held (nothing to hold back).
    let edge = id_of(
        &a,
        asset(
            "edge",
            json!({"owner": "丙", "ports": [{"port": 443, "exposure": "internet"}]}),
        ),
    )
    .await;
    assert_eq!(fired(&a, &edge).await, ["新增互联网暴露端口"]);
    assert_eq!(
        alerts(&a, &format!("asset_id={edge}")).await[0]["status"],
        "open"
    );

    // Exposing a port is held for approval: 202, nothing changes yet.
    let expose = json!({"ports": [{"port": 22, "exposure": "internet"}]});
    let (status, held) = a
        .call(
            "PATCH",
            &format!("/api/v1/assets/{low}"),
            Some(expose.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{held}");
    assert_eq!(held["status"], "pending_approval");
    let before = a.ok("GET", &format!("/api/v1/assets/{low}"), None).await;
    assert_eq!(before["internet_facing"], false);
    let pending = alerts(&a, &format!("asset_id={low}&status=pending")).await;
    assert_eq!(pending.len(), 1);
    let alert = pending[0]["id"].as_str().unwrap().to_string();
    let decide = |d: &str| json!({"decision": d, "note": "评审"});
    let decision = format!("/api/v1/assets/change-alerts/{alert}/decision");
    // Nobody approves their own change; acknowledging is for open alerts.
    assert!(a
        .problem(
            "POST",
            &decision,
            Some(decide("approve")),
            StatusCode::CONFLICT
        )
        .await
        .contains("another person"));
    a.problem(
        "POST",
        &decision,
        Some(decide("acknowledge")),
        StatusCode::CONFLICT,
    )
    .await;
    // A second administrator approves; the change takes effect as the requester's.
    a.ok(
        "POST",
        "/api/v1/users",
        Some(json!({"username": "second.admin", "display_name": "复核人", "password": "Second-Admin-Pw1", "role": "admin"})),
    )
    .await;
    let b = api(&server, "second.admin", "Second-Admin-Pw1").await;
    let settled = b.ok("POST", &decision, Some(decide("approve"))).await;
    assert_eq!(settled["status"], "approved");
    assert_eq!(settled["decided_by"], "second.admin");
    let after = a.ok("GET", &format!("/api/v1/assets/{low}"), None).await;
    assert_eq!(after["internet_facing"], true);
    let history = a
        .ok("GET", &format!("/api/v1/assets/{low}/history"), None)
        .await;
    assert_eq!(history["items"][0]["actor_name"], "admin");
    assert_eq!(
        history["items"][0]["changed"],
        json!(["internet_facing", "ports", "priority"])
    );
    b.problem(
        "POST",
        &decision,
        Some(decide("approve")),
        StatusCode::CONFLICT,
    )
    .await;

    // A held change whose asset changed meanwhile cannot be approved; a rejected one leaves
    // the asset as it was.
    let (status, _) = a
        .call(
            "PATCH",
            &format!("/api/v1/assets/{high}"),
            Some(json!({"ports": [{"port": 3306, "exposure": "internet"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let stale = alerts(&a, &format!("asset_id={high}&status=pending")).await;
    let stale_alert = stale[0]["id"].as_str().unwrap().to_string();
    a.ok(
        "PATCH",
        &format!("/api/v1/assets/{high}"),
        Some(json!({"department": "数据资源处"})),
    )
    .await;
    assert!(b
        .problem(
            "POST",
            &format!("/api/v1/assets/change-alerts/{stale_alert}/decision"),
            Some(decide("approve")),
            StatusCode::CONFLICT
        )
        .await
        .starts_with("revision"));
    let rejected = b
        .ok(
            "POST",
            &format!("/api/v1/assets/change-alerts/{stale_alert}/decision"),
            Some(decide("reject")),
        )
        .await;
    assert_eq!(rejected["status"], "rejected");
    let detail = a
        .ok(
            "GET",
            &format!("/api/v1/assets/change-alerts/{stale_alert}"),
            None,
        )
        .await;
    assert_eq!(
        detail["pending"]["proposed"]["ports"][0]["exposure"],
        "internet"
    );
    let now = a.ok("GET", &format!("/api/v1/assets/{high}"), None).await;
    assert_eq!(now["internet_facing"], false);

    // Disabling a rule silences it; rules are validated; only admins manage them.
    let mut port_rule = rule("new_internet_port");
    let port_rule_id = port_rule["id"].as_str().unwrap().to_string();
    port_rule.as_object_mut().unwrap().remove("id");
    port_rule["enabled"] = json!(false);
    a.ok(
        "PUT",
        &format!("/api/v1/assets/change-rules/{port_rule_id}"),
        Some(port_rule),
    )
    .await;
    a.ok(
        "PATCH",
        &format!("/api/v1/assets/{high}"),
        Some(json!({"ports": [{"port": 3306, "exposure": "internet"}]})),
    )
    .await;
    assert!(a
        .problem(
            "POST",
            "/api/v1/assets/change-rules",
            Some(json!({"name": "x", "condition": {"kind": "field_changed", "fields": ["colour"]}, "action": "alert"})),
            StatusCode::BAD_REQUEST
        )
        .await
        .contains("colour"));
    assert!(a
        .problem(
            "POST",
            "/api/v1/assets/change-rules",
            Some(json!({"name": "x", "condition": {"kind": "owner_removed"}, "action": "alert", "webhook_url": "file:///etc/passwd"})),
            StatusCode::BAD_REQUEST
        )
        .await
        .starts_with("webhook_url"));
    let zone = a
        .ok(
            "POST",
            "/api/v1/assets/change-rules",
            Some(json!({"name": "区域变更", "condition": {"kind": "field_changed", "fields": ["zone"]}, "action": "alert", "severity": "low"})),
        )
        .await;
    a.ok(
        "PATCH",
        &format!("/api/v1/assets/{edge}"),
        Some(json!({"zone": "DMZ"})),
    )
    .await;
    assert!(fired(&a, &edge).await.contains(&"区域变更".to_string()));
    a.ok(
        "DELETE",
        &format!(
            "/api/v1/assets/change-rules/{}",
            zone["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    // No webhook for the other alerts: exactly one delivery happened.
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        assert!(
            hooks.try_recv().is_err(),
            "only the owner rule has a webhook"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn who_may_decide_and_manage_rules() {
    let server = Server::demo();
    let viewer = api(&server, "qh.analyst", DEMO_PASSWORD).await;
    let owner = api(&server, "qh.owner", DEMO_PASSWORD).await;
    let admin = api(&server, "qh.admin", DEMO_PASSWORD).await;
    let pending = alerts(&viewer, "status=pending").await;
    let path = format!(
        "/api/v1/assets/change-alerts/{}/decision",
        pending[0]["id"].as_str().unwrap()
    );
    viewer
        .problem(
            "POST",
            &path,
            Some(json!({"decision": "reject"})),
            StatusCode::FORBIDDEN,
        )
        .await;
    // The demo's waiting change was requested by qh.owner, who cannot decide it.
    owner
        .problem(
            "POST",
            &path,
            Some(json!({"decision": "approve"})),
            StatusCode::CONFLICT,
        )
        .await;
    let rule = json!({"name": "x", "condition": {"kind": "owner_removed"}, "action": "alert"});
    for who in [&viewer, &owner] {
        who.problem(
            "POST",
            "/api/v1/assets/change-rules",
            Some(rule.clone()),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    admin
        .ok("POST", "/api/v1/assets/change-rules", Some(rule))
        .await;
    // The demo's approved change is in the ledger's history and the audit trail.
    let approved = alerts(&viewer, "status=approved").await;
    assert!(!approved.is_empty());
    assert_eq!(approved[0]["decided_by"], "qh.admin");
}

#[tokio::test]
async fn saved_queries_and_exposure_trend() {
    let server = Server::start();
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    let saved = a
        .ok(
            "POST",
            "/api/v1/assets/queries",
            Some(json!({"name": "公网 SSH", "query": "?exposure=internet&port=22"})),
        )
        .await;
    assert_eq!(saved["query"], "exposure=internet&port=22");
    assert!(a
        .problem(
            "POST",
            "/api/v1/assets/queries",
            Some(json!({"name": "bad", "query": "ip=10.0.0.0/33"})),
            StatusCode::BAD_REQUEST
        )
        .await
        .starts_with("query: ip"));
    assert!(a
        .problem(
            "POST",
            "/api/v1/assets/queries",
            Some(json!({"name": "bad", "query": "colour=red"})),
            StatusCode::BAD_REQUEST
        )
        .await
        .starts_with("query:"));
    let listed = a.ok("GET", "/api/v1/assets/queries", None).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    // A private query is its author's alone.
    a.ok(
        "POST",
        "/api/v1/users",
        Some(json!({"username": "reader", "display_name": "读者", "password": "Reader-Passw0rd", "role": "viewer"})),
    )
    .await;
    let reader = api(&server, "reader", "Reader-Passw0rd").await;
    assert_eq!(
        reader.ok("GET", "/api/v1/assets/queries", None).await,
        json!([])
    );
    reader
        .problem(
            "POST",
            "/api/v1/assets/queries",
            Some(json!({"name": "s", "query": "port=22", "shared": true})),
            StatusCode::FORBIDDEN,
        )
        .await;
    reader
        .ok(
            "POST",
            "/api/v1/assets/queries",
            Some(json!({"name": "mine", "query": "port=22"})),
        )
        .await;
    a.ok(
        "DELETE",
        &format!("/api/v1/assets/queries/{}", saved["id"].as_str().unwrap()),
        None,
    )
    .await;

    // Exposure counts assets in use; today's point follows the ledger.
    let trend = |v: &Value| v["trend"].as_array().unwrap().clone();
    let empty = a.ok("GET", "/api/v1/assets/exposure", None).await;
    assert!(
        trend(&empty).is_empty(),
        "no history before the first asset"
    );
    a.create(asset(
        "portal",
        json!({"owner": "丁", "lifecycle": "in_service", "ports": [{"port": 443, "exposure": "internet"}, {"port": 80, "exposure": "internet"}]}),
    ))
    .await;
    a.create(asset(
        "planned",
        json!({"ports": [{"port": 8080, "exposure": "internet"}]}),
    ))
    .await;
    let v = a.ok("GET", "/api/v1/assets/exposure?days=7", None).await;
    let points = trend(&v);
    assert_eq!(points.len(), 1, "{v}");
    assert_eq!(
        points[0]["internet_assets"], 1,
        "planned assets are not exposed yet"
    );
    assert_eq!(points[0]["internet_ports"], 2);
    assert_eq!(v["ports"].as_array().unwrap().len(), 2);
    a.problem(
        "GET",
        "/api/v1/assets/exposure?days=0",
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn the_demo_trend_spans_a_month() {
    let server = Server::demo();
    let a = api(&server, "jn.analyst", DEMO_PASSWORD).await;
    let v = a.ok("GET", "/api/v1/assets/exposure?days=30", None).await;
    let points = v["trend"].as_array().unwrap();
    assert_eq!(points.len(), 30);
    let first = points[0]["internet_ports"].as_i64().unwrap();
    let last = points[29]["internet_ports"].as_i64().unwrap();
    assert!(
        first > last,
        "the demo's exposure review closed ports: {first} → {last}"
    );
    let n = a
        .ok(
            "GET",
            "/api/v1/assets?exposure=internet&state=in_service&limit=1",
            None,
        )
        .await["total"]
        .as_i64()
        .unwrap();
    assert!(n > 0);
}
