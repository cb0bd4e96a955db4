//! The asset ledger API (clause I.1) against the real server: filters, lifecycle rules,
//! change history, validation and tenant isolation.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{api, client, Api, Server, ADMIN_PASSWORD, DEMO_PASSWORD};

fn asset(name: &str, extra: Value) -> Value {
    let mut v = json!({"name": name, "kind": "host", "confidentiality": 3, "integrity": 3, "availability": 3});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

async fn seed(a: &Api<'_>) {
    a.create(asset("portal-web", json!({"ips": ["10.20.1.11"], "domains": ["www.zwfw.example.gov.cn"], "ports": [{"port": 443, "service": "https", "exposure": "internet"}], "middleware": ["nginx 1.24"], "tech_stack": ["Vue"], "business_type": "政务服务", "owner": "张伟", "business_importance": 5}))).await;
    a.create(asset("portal-app", json!({"ips": ["10.20.2.21"], "ports": [{"port": 8080}], "middleware": ["Tomcat 9.0"], "applications": ["一网通办后台"], "tech_stack": ["Java", "Spring Boot"], "business_type": "政务服务", "owner": "张伟"}))).await;
    a.create(asset("social-db", json!({"kind": "database", "ips": ["10.30.0.5", "2001:db8:30::5"], "ports": [{"port": 3306, "service": "mysql"}], "applications": ["社保核心库"], "business_type": "社保", "owner": "李娜", "confidentiality": 5, "integrity": 5, "availability": 4}))).await;
    a.create(asset("gjj-gateway", json!({"kind": "network_device", "ips": ["203.0.113.10"], "domains": ["gjj.example.gov.cn"], "ports": [{"port": 443, "exposure": "internet"}, {"port": 22}], "business_type": "公积金"}))).await;
    a.create(asset(
        "ipv6-only",
        json!({"ips": ["2001:db8:ffff::1"], "tech_stack": ["Go"]}),
    ))
    .await;
}

#[tokio::test]
async fn every_filter_narrows_correctly() {
    let server = Server::start();
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    seed(&a).await;
    let cases: &[(&str, &[&str])] = &[
        (
            "",
            &[
                "gjj-gateway",
                "ipv6-only",
                "portal-app",
                "portal-web",
                "social-db",
            ],
        ),
        ("ip=10.20.0.0/16", &["portal-app", "portal-web"]),
        ("ip=10.20.1.11", &["portal-web"]),
        ("ip=10.20.1.11/32", &["portal-web"]),
        ("ip=10.20.1.12", &[]),
        ("ip=10.0.0.0/8", &["portal-app", "portal-web", "social-db"]),
        (
            "ip=0.0.0.0/0",
            &["gjj-gateway", "portal-app", "portal-web", "social-db"],
        ),
        ("ip=2001:db8::/32", &["ipv6-only", "social-db"]),
        ("ip=2001:db8:30::/48", &["social-db"]),
        ("ip=2001:db8:30::5", &["social-db"]),
        ("ip=::ffff:10.30.0.5", &["social-db"]),
        ("domain=example.gov.cn", &["gjj-gateway", "portal-web"]),
        ("domain=zwfw.example.gov.cn", &["portal-web"]),
        ("domain=WWW.ZWFW.EXAMPLE.GOV.CN.", &["portal-web"]),
        ("domain=ample.gov.cn", &[]),
        ("port=443", &["gjj-gateway", "portal-web"]),
        ("port=22", &["gjj-gateway"]),
        ("middleware=nginx", &["portal-web"]),
        ("middleware=TOMCAT%209", &["portal-app"]),
        ("middleware=cat", &[]),
        ("application=%E7%A4%BE%E4%BF%9D", &["social-db"]),
        ("tech=spring", &["portal-app"]),
        ("tech=go", &["ipv6-only"]),
        (
            "state=planned",
            &[
                "gjj-gateway",
                "ipv6-only",
                "portal-app",
                "portal-web",
                "social-db",
            ],
        ),
        ("state=in_service", &[]),
        ("business_type=%E7%A4%BE%E4%BF%9D", &["social-db"]),
        ("owner=%E5%BC%A0%E4%BC%9F", &["portal-app", "portal-web"]),
        ("kind=database", &["social-db"]),
        ("exposure=internet", &["gjj-gateway", "portal-web"]),
        (
            "exposure=internal",
            &["ipv6-only", "portal-app", "social-db"],
        ),
        ("q=MYSQL", &["social-db"]),
        ("q=%E4%B8%80%E7%BD%91%E9%80%9A%E5%8A%9E", &["portal-app"]),
        ("q=100%25", &[]),
        ("q=portal&exposure=internet", &["portal-web"]),
        ("ip=10.0.0.0/8&port=8080&tech=java", &["portal-app"]),
    ];
    for (query, expected) in cases {
        assert_eq!(a.names(query).await, *expected, "filter {query}");
    }
    // Highest protection priority first; paging keeps the total.
    let v = a.ok("GET", "/api/v1/assets?limit=2", None).await;
    assert_eq!(v["total"], 5);
    assert_eq!(
        v["items"][0]["name"], "portal-web",
        "value 5 × importance 5 × internet 2 = 50"
    );
    assert_eq!(v["items"][0]["priority"], json!({"score": 50, "level": 1}));
    let v = a
        .ok("GET", "/api/v1/assets?sort=name&limit=1&offset=4", None)
        .await;
    assert_eq!(v["items"][0]["name"], "social-db");
    // Grouped counts honour the filters.
    let v = a
        .ok(
            "GET",
            "/api/v1/assets/stats?group_by=business_type&ip=10.0.0.0/8",
            None,
        )
        .await;
    assert_eq!(
        v,
        json!([{"key": "政务服务", "count": 2}, {"key": "社保", "count": 1}])
    );
    let v = a
        .ok("GET", "/api/v1/assets/stats?group_by=exposure", None)
        .await;
    assert_eq!(
        v,
        json!([{"key": "internal", "count": 3}, {"key": "internet", "count": 2}])
    );
    for bad in [
        "ip=10.0.0.0/33",
        "ip=banana",
        "port=0",
        "port=70000",
        "state=alive",
        "exposure=dmz",
        "sort=size",
        "colour=red",
    ] {
        a.problem(
            "GET",
            &format!("/api/v1/assets?{bad}"),
            None,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    a.problem(
        "GET",
        "/api/v1/assets/stats?group_by=colour",
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn valuation_and_validation() {
    let server = Server::start();
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    let v = a
        .create(asset(
            "db",
            json!({"confidentiality": 5, "integrity": 1, "availability": 1}),
        ))
        .await;
    assert_eq!(v["value"], 4, "round(log2((32+2+2)/3)) = 4");
    let v = a
        .create(json!({"name": "unrated", "kind": "my-custom-kind"}))
        .await;
    assert_eq!(v["value"], Value::Null);
    assert_eq!(v["lifecycle"], "planned");
    for (body, field) in [
        (json!({"kind": "host"}), "name"),
        (
            json!({"name": "x", "kind": "host", "ips": ["10.0.0.256"]}),
            "ips[0]",
        ),
        (
            json!({"name": "x", "kind": "host", "ports": [{"port": "https"}]}),
            "ports[0].port",
        ),
        (
            json!({"name": "x", "kind": "host", "ports": [{"port": 443, "exposure": "dmz"}]}),
            "ports[0].exposure",
        ),
        (
            json!({"name": "x", "kind": "host", "confidentiality": 9}),
            "confidentiality",
        ),
        (
            json!({"name": "x", "kind": "host", "colour": "red"}),
            "colour",
        ),
        (
            json!({"name": "x", "kind": "host", "lifecycle": "retired"}),
            "lifecycle",
        ),
        (
            json!({"name": "x", "kind": "host", "lifecycle": "in_service"}),
            "owner",
        ),
        (
            json!({"name": "x", "kind": "host", "owner": "王", "lifecycle": "in_service"}),
            "confidentiality",
        ),
        (
            json!({"name": "x", "kind": "host", "lifecycle": "disposed"}),
            "lifecycle",
        ),
    ] {
        let detail = a
            .problem(
                "POST",
                "/api/v1/assets",
                Some(body.clone()),
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert!(detail.contains(field), "{body}: {detail}");
    }
    assert_eq!(
        a.ok("GET", "/api/v1/assets", None).await["total"],
        2,
        "nothing half-written"
    );
}

#[tokio::test]
async fn lifecycle_rules_and_history() {
    let server = Server::start();
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    let v = a
        .create(asset("rsj-app-01", json!({"ports": [{"port": 8443}]})))
        .await;
    let id = v["id"].as_str().unwrap().to_string();
    let life = |to: &str, note: Option<&str>| json!({"to": to, "risk_note": note});
    let p = format!("/api/v1/assets/{id}/lifecycle");
    // planned → in_service skips onboarding.
    assert!(a
        .problem(
            "POST",
            &p,
            Some(life("in_service", None)),
            StatusCode::BAD_REQUEST
        )
        .await
        .contains("allowed: onboarding, disposed"));
    a.ok("POST", &p, Some(life("onboarding", None))).await;
    // Not under management yet: no owner.
    assert!(a
        .problem(
            "POST",
            &p,
            Some(life("in_service", None)),
            StatusCode::BAD_REQUEST
        )
        .await
        .contains("owner"));
    a.ok(
        "PATCH",
        &format!("/api/v1/assets/{id}"),
        Some(json!({"owner": "赵磊", "department": "信息中心"})),
    )
    .await;
    let v = a.ok("POST", &p, Some(life("in_service", None))).await;
    assert_eq!(v["lifecycle"], "in_service");
    // In service: the owner cannot be removed, and a stale revision is refused.
    assert!(a
        .problem(
            "PATCH",
            &format!("/api/v1/assets/{id}"),
            Some(json!({"owner": null})),
            StatusCode::BAD_REQUEST
        )
        .await
        .contains("owner"));
    let r = client()
        .patch(server.url(&format!("/api/v1/assets/{id}")))
        .bearer_auth(&a.token)
        .header("If-Match", "1")
        .json(&json!({"os": "麒麟 V10"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let rev = v["revision"].as_i64().unwrap();
    let r = client()
        .patch(server.url(&format!("/api/v1/assets/{id}")))
        .bearer_auth(&a.token)
        .header("If-Match", rev.to_string())
        .json(&json!({"os": "麒麟 V10", "kind": "public_ip"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["internet_facing"], true, "a public IP faces the internet");
    // Transfer needs a risk note; the record stays.
    assert!(a
        .problem(
            "POST",
            &p,
            Some(life("transferred", None)),
            StatusCode::BAD_REQUEST
        )
        .await
        .contains("risk_note"));
    let v = a
        .ok(
            "POST",
            &p,
            Some(life(
                "transferred",
                Some("移交市数据局；账号已回收，数据已迁移核验"),
            )),
        )
        .await;
    assert_eq!(v["risk_note"], "移交市数据局；账号已回收，数据已迁移核验");
    a.ok(
        "POST",
        &p,
        Some(life("disposed", Some("硬盘消磁，抽样核验不可恢复"))),
    )
    .await;
    assert!(a
        .problem(
            "POST",
            &p,
            Some(life("onboarding", None)),
            StatusCode::BAD_REQUEST
        )
        .await
        .contains("allowed: none"));
    // Used assets are never deleted.
    assert!(a
        .problem(
            "DELETE",
            &format!("/api/v1/assets/{id}"),
            None,
            StatusCode::CONFLICT
        )
        .await
        .contains("record is kept"));
    assert_eq!(
        a.ok("GET", &format!("/api/v1/assets/{id}"), None).await["lifecycle"],
        "disposed"
    );

    let h = a
        .ok("GET", &format!("/api/v1/assets/{id}/history"), None)
        .await;
    let actions: Vec<&str> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "lifecycle",
            "lifecycle",
            "update",
            "lifecycle",
            "update",
            "lifecycle",
            "create"
        ]
    );
    let os_change = &h["items"][2];
    assert_eq!(os_change["actor_name"], "admin");
    assert!(os_change["changed"]
        .as_array()
        .unwrap()
        .contains(&json!("os")));
    assert_eq!(os_change["before"]["os"], Value::Null);
    assert_eq!(os_change["after"]["os"], "麒麟 V10");
    // A mistaken planned entry can be deleted; its deletion is audited.
    let v = a.create(asset("typo", json!({}))).await;
    let typo = v["id"].as_str().unwrap();
    a.ok("DELETE", &format!("/api/v1/assets/{typo}"), None)
        .await;
    a.problem(
        "GET",
        &format!("/api/v1/assets/{typo}"),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    let audit = a.ok("GET", "/api/v1/audit?action=asset.", None).await;
    assert_eq!(
        audit["total"], 9,
        "7 changes of rsj-app-01, the typo's creation and deletion"
    );
    let ledger = a.ok("GET", "/api/v1/assets/history", None).await;
    assert_eq!(
        ledger["total"], 7,
        "the deleted entry's history goes with it; the audit trail keeps it"
    );
}

#[tokio::test]
async fn assets_are_tenant_scoped_and_role_checked() {
    let server = Server::demo();
    let jn = api(&server, "jn.owner", DEMO_PASSWORD).await;
    let qh = api(&server, "qh.owner", DEMO_PASSWORD).await;
    let jn_history = jn.ok("GET", "/api/v1/assets/history", None).await["total"].clone();
    let jn_stats = jn.ok("GET", "/api/v1/assets/stats", None).await;
    let v = qh
        .create(asset("qh-secret", json!({"ips": ["10.99.0.1"]})))
        .await;
    let id = v["id"].as_str().unwrap();
    for (method, path, body) in [
        ("GET", format!("/api/v1/assets/{id}"), None),
        (
            "PATCH",
            format!("/api/v1/assets/{id}"),
            Some(json!({"name": "pwned"})),
        ),
        ("DELETE", format!("/api/v1/assets/{id}"), None),
        (
            "POST",
            format!("/api/v1/assets/{id}/lifecycle"),
            Some(json!({"to": "onboarding"})),
        ),
        ("GET", format!("/api/v1/assets/{id}/history"), None),
    ] {
        assert_eq!(
            jn.problem(method, &path, body, StatusCode::NOT_FOUND).await,
            "no such record",
            "{method} {path}"
        );
    }
    assert_eq!(jn.names("ip=10.99.0.0/16").await, Vec::<String>::new());
    assert_eq!(
        jn.ok("GET", "/api/v1/assets/history", None).await["total"],
        jn_history
    );
    assert_eq!(jn.ok("GET", "/api/v1/assets/stats", None).await, jn_stats);
    assert_eq!(jn.names("q=qh-secret").await, Vec::<String>::new());
    assert_eq!(
        qh.ok("GET", &format!("/api/v1/assets/{id}"), None).await["name"],
        "qh-secret"
    );
    // Viewers and analysts read; only asset owners and admins write.
    let viewer = api(&server, "qh.analyst", DEMO_PASSWORD).await;
    viewer
        .ok("GET", &format!("/api/v1/assets/{id}"), None)
        .await;
    viewer
        .problem(
            "PATCH",
            &format!("/api/v1/assets/{id}"),
            Some(json!({"name": "x"})),
            StatusCode::FORBIDDEN,
        )
        .await;
    viewer
        .problem(
            "POST",
            "/api/v1/assets",
            Some(asset("x", json!({}))),
            StatusCode::FORBIDDEN,
        )
        .await;
}
