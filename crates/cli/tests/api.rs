//! API integration tests against the real server on a random loopback port.
//! Clause IDs: M.a–M.c (tenants, provider staff across tenants), F (one platform), and the
//! 等保 level-3 identity/access/audit controls.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{client, login, Server, ADMIN_PASSWORD, DEMO_PASSWORD};

async fn get(server: &Server, token: &str, path: &str) -> reqwest::Response {
    client()
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn send(
    server: &Server,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut r = client()
        .request(method.parse().unwrap(), server.url(path))
        .bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    r.send().await.unwrap()
}

async fn problem(r: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(r.status(), status, "unexpected status");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    r.json().await.unwrap()
}

async fn user_id(server: &Server, token: &str, username: &str) -> String {
    let list: Value = get(server, token, "/api/v1/users?limit=1000")
        .await
        .json()
        .await
        .unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .expect(username)["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn audit_total(server: &Server, token: &str) -> i64 {
    get(server, token, "/api/v1/audit?limit=1")
        .await
        .json::<Value>()
        .await
        .unwrap()["total"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn health_metrics_and_openapi() {
    let server = Server::start();
    let r = client().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let _ = client().get(server.url("/api/v1/me")).send().await.unwrap();
    let metrics = client()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("yunshou_http_requests_total"), "{metrics}");
    let doc: Value = client()
        .get(server.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/auth/login",
        "/api/v1/me",
        "/api/v1/users/{id}",
        "/api/v1/audit/export",
        "/api/v1/tokens",
    ] {
        assert!(doc["paths"].get(path).is_some(), "OpenAPI lacks {path}");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn login_me_and_logout() {
    let server = Server::start();
    let token = login(&server, "admin", ADMIN_PASSWORD).await;
    let me: Value = get(&server, &token, "/api/v1/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["username"], "admin");
    assert_eq!(me["tenant"]["name"], "default");
    assert_eq!(me["roles"], json!(["admin"]));
    assert!(me["permissions"]
        .as_array()
        .unwrap()
        .contains(&json!("tenants_manage")));
    assert!(
        me.to_string().find("password").is_none(),
        "no password material in /me"
    );

    let r = send(&server, &token, "POST", "/api/v1/auth/logout", None).await;
    assert_eq!(r.status(), 204);
    let p = problem(
        get(&server, &token, "/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("sign in"));
    problem(
        client().get(server.url("/api/v1/me")).send().await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    problem(
        get(&server, "ysk_not-a-real-token", "/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn lockout_after_five_failures_even_with_right_password() {
    let server = Server::start();
    let attempt = |password: &'static str| {
        let url = server.url("/api/v1/auth/login");
        async move {
            client()
                .post(url)
                .json(&json!({"username": "admin", "password": password}))
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..4 {
        let p = problem(attempt("Wrong-Password-1").await, StatusCode::UNAUTHORIZED).await;
        assert_eq!(p["detail"], "wrong username or password");
    }
    let fifth = problem(attempt("Wrong-Password-1").await, StatusCode::LOCKED).await;
    assert!(
        fifth["detail"]
            .as_str()
            .unwrap()
            .contains("locked for 15 minutes"),
        "{fifth}"
    );
    let sixth = problem(attempt(ADMIN_PASSWORD).await, StatusCode::LOCKED).await;
    let detail = sixth["detail"].as_str().unwrap();
    assert!(
        detail.contains("account locked") && detail.contains("minutes"),
        "{detail}"
    );

    // Every attempt is in the audit trail, as a failure, with the source address.
    let dir = server.data_dir().to_path_buf();
    let (code, out, _) = support::cli(
        &[
            "user",
            "passwd",
            "admin",
            "--password-stdin",
            "--data-dir",
            dir.to_str().unwrap(),
        ],
        Some("Another-Passw0rd-9\n"),
    );
    assert_eq!(code, 0, "{out}");
    let token = login(&server, "admin", "Another-Passw0rd-9").await;
    let audit: Value = get(
        &server,
        &token,
        "/api/v1/audit?action=auth.login&outcome=failure",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(audit["total"], 6);
    assert_eq!(audit["items"][0]["source_ip"], "127.0.0.1");
}

#[tokio::test]
async fn unknown_user_and_wrong_password_look_the_same() {
    let server = Server::start();
    for name in ["admin", "nobody"] {
        let r = client()
            .post(server.url("/api/v1/auth/login"))
            .json(&json!({"username": name, "password": "Nope-nope-123"}))
            .send()
            .await
            .unwrap();
        let p = problem(r, StatusCode::UNAUTHORIZED).await;
        assert_eq!(p["detail"], "wrong username or password");
    }
}

#[tokio::test]
async fn api_token_scopes_expiry_and_revocation() {
    let server = Server::start();
    let session = login(&server, "admin", ADMIN_PASSWORD).await;
    let make = |scope: &'static str| {
        let (s, t) = (&server, session.clone());
        async move {
            let r = send(s, &t, "POST", "/api/v1/tokens", Some(json!({"name": format!("{scope} script"), "scopes": [scope], "expires_in_days": 7}))).await;
            assert_eq!(r.status(), 201);
            r.json::<Value>().await.unwrap()
        }
    };
    let read = make("read").await;
    let write = make("write").await;
    let admin = make("admin").await;
    let read_secret = read["token"].as_str().unwrap();
    assert!(read_secret.starts_with("ysk_"));

    // The secret is shown once: listings carry only the prefix.
    let list: Value = get(&server, &session, "/api/v1/tokens")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 3);
    assert!(!list.to_string().contains(read_secret));

    let new_user = json!({"username": "ops.bot", "display_name": "Ops", "password": "Bot-Passw0rd-123", "role": "viewer"});
    assert_eq!(
        get(&server, read_secret, "/api/v1/users").await.status(),
        200
    );
    let p = problem(
        send(
            &server,
            read_secret,
            "POST",
            "/api/v1/users",
            Some(new_user.clone()),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("scope"));
    problem(
        send(
            &server,
            write["token"].as_str().unwrap(),
            "POST",
            "/api/v1/users",
            Some(new_user.clone()),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // A read token cannot mint itself a stronger token.
    problem(
        send(
            &server,
            read_secret,
            "POST",
            "/api/v1/tokens",
            Some(json!({"name": "x", "scopes": ["admin"]})),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(
        send(
            &server,
            admin["token"].as_str().unwrap(),
            "POST",
            "/api/v1/users",
            Some(new_user)
        )
        .await
        .status(),
        201
    );

    // Revocation takes effect at once.
    let id = read["id"].as_str().unwrap();
    assert_eq!(
        send(
            &server,
            &session,
            "DELETE",
            &format!("/api/v1/tokens/{id}"),
            None
        )
        .await
        .status(),
        200
    );
    let p = problem(
        get(&server, read_secret, "/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("revoked"));

    // Expiry: move the token's expiry into the past in the database, as time would.
    let db = server.data_dir().join("yunshou.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE api_tokens SET expires_at = '2020-01-01T00:00:00.000000Z' WHERE id = $1")
        .bind(write["id"].as_str().unwrap())
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    tokio::time::sleep(std::time::Duration::from_millis(5200)).await; // the auth cache lives 5 s
    let p = problem(
        get(&server, write["token"].as_str().unwrap(), "/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("expired"));

    // Bad token requests are refused whole.
    let p = problem(
        send(
            &server,
            &session,
            "POST",
            "/api/v1/tokens",
            Some(json!({"name": "x", "scopes": ["root"]})),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("scopes"), "{p}");
    let p = problem(
        send(
            &server,
            &session,
            "POST",
            "/api/v1/tokens",
            Some(json!({"name": "x", "scopes": ["read"], "expires_in_days": 9999})),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("expires_in_days"));
}

#[tokio::test]
async fn session_idle_timeout() {
    let server = Server::start();
    let token = login(&server, "admin", ADMIN_PASSWORD).await;
    assert_eq!(get(&server, &token, "/api/v1/me").await.status(), 200);
    let db = server.data_dir().join("yunshou.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let stale = (chrono::Utc::now() - chrono::Duration::minutes(31))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    sqlx::query("UPDATE sessions SET last_seen_at = $1")
        .bind(&stale)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    tokio::time::sleep(std::time::Duration::from_millis(5200)).await;
    let p = problem(
        get(&server, &token, "/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("inactivity"), "{p}");
}

/// Every role of a customer tenant against every endpoint: allowed ones do not answer 403,
/// the rest answer 403.
#[tokio::test]
async fn every_role_against_every_endpoint() {
    let server = Server::demo();
    let admin = login(&server, "jn.admin", DEMO_PASSWORD).await;
    let r = send(&server, &admin, "POST", "/api/v1/users", Some(json!({"username": "jn.target", "display_name": "T", "password": "Target-Passw0rd-1", "role": "analyst"}))).await;
    assert_eq!(r.status(), 201);
    let target = user_id(&server, &admin, "jn.target").await;
    // The demo locked jn.viewer; its administrator unlocks it.
    let viewer = user_id(&server, &admin, "jn.viewer").await;
    assert_eq!(
        send(
            &server,
            &admin,
            "POST",
            &format!("/api/v1/users/{viewer}/unlock"),
            None
        )
        .await
        .status(),
        200
    );
    let audit_id = get(&server, &admin, "/api/v1/audit?limit=1")
        .await
        .json::<Value>()
        .await
        .unwrap()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let tenant_id = get(&server, &admin, "/api/v1/me")
        .await
        .json::<Value>()
        .await
        .unwrap()["tenant"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // (method, path, body, roles allowed)
    let all = [
        "admin",
        "analyst",
        "responder",
        "owner",
        "auditor",
        "viewer",
    ];
    let endpoints: Vec<(&str, String, Option<Value>, Vec<&str>)> = vec![
        ("GET", "/api/v1/me".into(), None, all.to_vec()),
        ("GET", "/api/v1/roles".into(), None, all.to_vec()),
        ("GET", "/api/v1/tenants".into(), None, all.to_vec()),
        (
            "GET",
            format!("/api/v1/tenants/{tenant_id}"),
            None,
            all.to_vec(),
        ),
        (
            "POST",
            "/api/v1/tenants".into(),
            Some(json!({"name": "x-tenant", "display_name": "X"})),
            vec![],
        ),
        ("GET", "/api/v1/tokens".into(), None, all.to_vec()),
        (
            "GET",
            "/api/v1/users".into(),
            None,
            vec!["admin", "auditor"],
        ),
        (
            "GET",
            format!("/api/v1/users/{target}"),
            None,
            vec!["admin", "auditor"],
        ),
        (
            "POST",
            "/api/v1/users".into(),
            Some(
                json!({"username": "u-ROLE", "display_name": "U", "password": "Matrix-Passw0rd-1", "role": "viewer"}),
            ),
            vec!["admin"],
        ),
        (
            "POST",
            format!("/api/v1/users/{target}/roles"),
            Some(json!({"role": "viewer"})),
            vec!["admin"],
        ),
        (
            "DELETE",
            format!("/api/v1/users/{target}/roles/viewer"),
            None,
            vec!["admin"],
        ),
        (
            "POST",
            format!("/api/v1/users/{target}/unlock"),
            None,
            vec!["admin"],
        ),
        (
            "PUT",
            format!("/api/v1/users/{target}/disabled"),
            Some(json!({"disabled": false})),
            vec!["admin"],
        ),
        (
            "POST",
            format!("/api/v1/users/{target}/password"),
            Some(json!({"password": "Reset-Passw0rd-1"})),
            vec!["admin"],
        ),
        ("GET", "/api/v1/assets".into(), None, all.to_vec()),
        ("GET", "/api/v1/assets/stats".into(), None, all.to_vec()),
        ("GET", "/api/v1/assets/history".into(), None, all.to_vec()),
        (
            "POST",
            "/api/v1/assets".into(),
            Some(json!({"name": "asset-ROLE", "kind": "host"})),
            vec!["admin", "owner"],
        ),
        (
            "GET",
            "/api/v1/audit".into(),
            None,
            vec!["admin", "auditor"],
        ),
        (
            "GET",
            format!("/api/v1/audit/{audit_id}"),
            None,
            vec!["admin", "auditor"],
        ),
        (
            "GET",
            "/api/v1/audit/export?format=json".into(),
            None,
            vec!["admin", "auditor"],
        ),
        (
            "GET",
            "/api/v1/audit/verify".into(),
            None,
            vec!["admin", "auditor"],
        ),
    ];
    for role in all {
        let token = login(&server, &format!("jn.{role}"), DEMO_PASSWORD).await;
        for (method, path, body, allowed) in &endpoints {
            let body = body
                .as_ref()
                .map(|b| serde_json::from_str(&b.to_string().replace("ROLE", role)).unwrap());
            let r = send(&server, &token, method, path, body).await;
            let status = r.status();
            if allowed.contains(&role) {
                assert!(
                    status.is_success(),
                    "{role} {method} {path}: {status} {}",
                    r.text().await.unwrap()
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} {method} {path}");
            }
        }
    }
}

/// A record of another tenant answers 404, exactly like a missing one, on every endpoint
/// that takes an id.
#[tokio::test]
async fn tenant_isolation_on_every_id() {
    let server = Server::demo();
    let jn = login(&server, "jn.admin", DEMO_PASSWORD).await;
    let qh = login(&server, "qh.admin", DEMO_PASSWORD).await;
    let qh_user = user_id(&server, &qh, "qh.analyst").await;
    let qh_me: Value = get(&server, &qh, "/api/v1/me").await.json().await.unwrap();
    let qh_tenant = qh_me["tenant"]["id"].as_str().unwrap().to_string();
    let qh_audit = get(&server, &qh, "/api/v1/audit?limit=1")
        .await
        .json::<Value>()
        .await
        .unwrap()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let qh_token: Value = send(
        &server,
        &qh,
        "POST",
        "/api/v1/tokens",
        Some(json!({"name": "qh", "scopes": ["read"]})),
    )
    .await
    .json()
    .await
    .unwrap();
    let qh_token_id = qh_token["id"].as_str().unwrap().to_string();
    let missing = "01900000-0000-7000-8000-000000000000";
    let before = audit_total(&server, &qh).await;
    for id in [qh_user.as_str(), missing] {
        for (method, path, body) in [
            ("GET", format!("/api/v1/users/{id}"), None),
            (
                "POST",
                format!("/api/v1/users/{id}/roles"),
                Some(json!({"role": "admin"})),
            ),
            ("DELETE", format!("/api/v1/users/{id}/roles/analyst"), None),
            (
                "POST",
                format!("/api/v1/users/{id}/password"),
                Some(json!({"password": "Hijack-Passw0rd-1"})),
            ),
            ("POST", format!("/api/v1/users/{id}/unlock"), None),
            (
                "PUT",
                format!("/api/v1/users/{id}/disabled"),
                Some(json!({"disabled": true})),
            ),
        ] {
            let p = problem(
                send(&server, &jn, method, &path, body).await,
                StatusCode::NOT_FOUND,
            )
            .await;
            assert_eq!(p["detail"], "no such record", "{method} {path}");
        }
    }
    for path in [
        format!("/api/v1/audit/{qh_audit}"),
        format!("/api/v1/tenants/{qh_tenant}"),
        format!("/api/v1/audit/{missing}"),
    ] {
        problem(get(&server, &jn, &path).await, StatusCode::NOT_FOUND).await;
    }
    problem(
        send(
            &server,
            &jn,
            "DELETE",
            &format!("/api/v1/tokens/{qh_token_id}"),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Lists show only the own tenant.
    let users: Value = get(&server, &jn, "/api/v1/users?limit=1000")
        .await
        .json()
        .await
        .unwrap();
    assert!(users["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| !u["username"].as_str().unwrap().starts_with("qh.")));
    let audit: Value = get(&server, &jn, "/api/v1/audit?limit=1000")
        .await
        .json()
        .await
        .unwrap();
    let jn_tenant = get(&server, &jn, "/api/v1/me")
        .await
        .json::<Value>()
        .await
        .unwrap()["tenant"]["id"]
        .clone();
    assert!(audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["tenant_id"] == jn_tenant));
    let export = get(&server, &jn, "/api/v1/audit/export?format=csv")
        .await
        .text()
        .await
        .unwrap();
    assert!(!export.contains(&qh_tenant));
    // Another tenant named in X-Tenant is refused the same way whether it exists or not.
    for t in ["qinghe-rsj", "no-such-tenant"] {
        let r = client()
            .get(server.url("/api/v1/me"))
            .bearer_auth(&jn)
            .header("X-Tenant", t)
            .send()
            .await
            .unwrap();
        let p = problem(r, StatusCode::FORBIDDEN).await;
        assert!(p["detail"]
            .as_str()
            .unwrap()
            .contains("does not exist or is not granted"));
    }
    // Nothing of qinghe's changed.
    let qh_user_after: Value = get(&server, &qh, &format!("/api/v1/users/{qh_user}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(qh_user_after["disabled"], false);
    assert_eq!(qh_user_after["roles"], json!(["analyst"]));
    assert_eq!(audit_total(&server, &qh).await, before);
}

/// Provider staff granted several tenants pick one per request with X-Tenant (M.b, M.c).
#[tokio::test]
async fn provider_staff_switch_tenants_per_request() {
    let server = Server::demo();
    let chen = login(&server, "chen.jing", DEMO_PASSWORD).await;
    let me: Value = get(&server, &chen, "/api/v1/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["tenant"]["name"], "default");
    let names: Vec<&str> = me["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenant"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    for t in ["jiangning-dsj", "qinghe-rsj"] {
        let r = client()
            .get(server.url("/api/v1/me"))
            .bearer_auth(&chen)
            .header("X-Tenant", t)
            .send()
            .await
            .unwrap();
        let me: Value = r.json().await.unwrap();
        assert_eq!(me["tenant"]["name"], t);
        assert_eq!(me["roles"], json!(["analyst"]));
    }
    // A provider administrator creates a tenant and grants staff into it.
    let admin = login(&server, "admin", ADMIN_PASSWORD).await;
    let r = send(
        &server,
        &admin,
        "POST",
        "/api/v1/tenants",
        Some(json!({"name": "donghai-wjw", "display_name": "东海市卫生健康委员会"})),
    )
    .await;
    assert_eq!(r.status(), 201);
    let li = user_id(&server, &admin, "li.qiang").await;
    let r = client()
        .post(server.url(&format!("/api/v1/users/{li}/roles")))
        .bearer_auth(&admin)
        .header("X-Tenant", "donghai-wjw")
        .json(&json!({"role": "responder"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let li_token = login(&server, "li.qiang", DEMO_PASSWORD).await;
    let r = client()
        .get(server.url("/api/v1/me"))
        .bearer_auth(&li_token)
        .header("X-Tenant", "donghai-wjw")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["roles"],
        json!(["responder"])
    );
    // A customer admin cannot pull in users of other tenants, nor create tenants.
    let jn = login(&server, "jn.admin", DEMO_PASSWORD).await;
    let wang = user_id(&server, &admin, "wang.fang").await;
    problem(
        send(
            &server,
            &jn,
            "POST",
            &format!("/api/v1/users/{wang}/roles"),
            Some(json!({"role": "admin"})),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        send(
            &server,
            &jn,
            "POST",
            "/api/v1/tenants",
            Some(json!({"name": "evil", "display_name": "E"})),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
}

/// Malformed input gets a problem document naming the field, and nothing is written.
#[tokio::test]
async fn bad_input_is_refused_whole() {
    let server = Server::start();
    let token = login(&server, "admin", ADMIN_PASSWORD).await;
    let before = audit_total(&server, &token).await;
    let raw = |body: &'static str, ctype: &'static str| {
        client()
            .post(server.url("/api/v1/users"))
            .bearer_auth(&token)
            .header("content-type", ctype)
            .body(body)
            .send()
    };
    let p = problem(
        raw("{not json", "application/json").await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(!p["detail"].as_str().unwrap().is_empty());
    let p = problem(
        raw(
            r#"{"username":"x1","display_name":"X","password":12,"role":"viewer"}"#,
            "application/json",
        )
        .await
        .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("password"), "{p}");
    let p = problem(raw(r#"{"username":"x1","display_name":"X","password":"Good-Passw0rd-1","role":"viewer","admin":true}"#, "application/json").await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("unknown field `admin`"),
        "{p}"
    );
    let p = problem(
        raw(
            r#"{"username":"x1","display_name":"X","password":"Good-Passw0rd-1","role":"root"}"#,
            "application/json",
        )
        .await
        .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("role"), "{p}");
    let p = problem(
        raw(
            r#"{"username":"x1","display_name":"X","password":"short","role":"viewer"}"#,
            "application/json",
        )
        .await
        .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("password"), "{p}");
    let p = problem(raw(r#"{"username":"bad name","display_name":"X","password":"Good-Passw0rd-1","role":"viewer"}"#, "application/json").await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert!(p["detail"].as_str().unwrap().contains("username"), "{p}");
    problem(
        raw(r#"{"username":"x1"}"#, "text/plain").await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    let huge = format!(
        r#"{{"username":"x1","display_name":"{}","password":"Good-Passw0rd-1","role":"viewer"}}"#,
        "x".repeat(100_000)
    );
    let r = client()
        .post(server.url("/api/v1/users"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::PAYLOAD_TOO_LARGE).await;
    let p = problem(
        get(&server, &token, "/api/v1/users/not-an-id").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().starts_with("id:"));
    let p = problem(
        get(&server, &token, "/api/v1/users?limit=abc").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("limit"), "{p}");
    let p = problem(
        get(&server, &token, "/api/v1/users?limit=5000").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("limit"), "{p}");
    let p = problem(
        get(&server, &token, "/api/v1/audit?outcome=maybe").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("outcome"));
    let p = problem(
        get(&server, &token, "/api/v1/audit?from=yesterday").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("from"));
    problem(
        get(&server, &token, "/api/v1/no-such-endpoint").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Nothing was written.
    let users: Value = get(&server, &token, "/api/v1/users")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(users["total"], 1);
    assert_eq!(audit_total(&server, &token).await, before);
    // Duplicates are a conflict.
    let body = json!({"username": "admin", "display_name": "X", "password": "Good-Passw0rd-1", "role": "viewer"});
    problem(
        send(&server, &token, "POST", "/api/v1/users", Some(body)).await,
        StatusCode::CONFLICT,
    )
    .await;
}

/// Every change lands in the audit trail with who, tenant, action, object, before/after,
/// source and time; exports carry the same rows.
#[tokio::test]
async fn changes_are_audited_and_exported() {
    let server = Server::start();
    let token = login(&server, "admin", ADMIN_PASSWORD).await;
    let r = send(&server, &token, "POST", "/api/v1/users", Some(json!({"username": "liu.yang", "display_name": "刘洋", "password": "Liu-Passw0rd-2026", "role": "analyst"}))).await;
    let user: Value = r.json().await.unwrap();
    let id = user["id"].as_str().unwrap();
    send(
        &server,
        &token,
        "POST",
        &format!("/api/v1/users/{id}/roles"),
        Some(json!({"role": "responder"})),
    )
    .await;
    let audit: Value = get(&server, &token, "/api/v1/audit?action=role.grant")
        .await
        .json()
        .await
        .unwrap();
    let rec = &audit["items"][0];
    assert_eq!(rec["actor_name"], "admin");
    assert_eq!(rec["object_id"], id);
    assert_eq!(rec["source_ip"], "127.0.0.1");
    assert!(rec["before"].as_str().unwrap().contains("analyst"));
    assert!(rec["after"].as_str().unwrap().contains("responder"));
    assert_eq!(rec["hash"].as_str().unwrap().len(), 64);
    let created: Value = get(
        &server,
        &token,
        "/api/v1/audit?action=user.create&actor=ADM",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        created["total"], 1,
        "filters are case-insensitive on the actor"
    );
    assert!(
        !created.to_string().contains("Liu-Passw0rd-2026"),
        "passwords never reach the audit trail"
    );

    let csv = get(&server, &token, "/api/v1/audit/export?format=csv").await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("seq,id,at,tenant_id"));
    assert!(csv.contains("role.grant"));
    let json_export: Value = get(
        &server,
        &token,
        "/api/v1/audit/export?format=json&action=user.",
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(json_export
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["action"].as_str().unwrap().starts_with("user.")));
    problem(
        get(&server, &token, "/api/v1/audit/export?format=xml").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let verify: Value = get(&server, &token, "/api/v1/audit/verify")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(verify["intact"], true);
    // The export itself is recorded.
    let exports: Value = get(&server, &token, "/api/v1/audit?action=audit.export")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(exports["total"], 2);
}

/// SIGTERM lets in-flight requests finish, then the process exits 0.
#[tokio::test]
async fn sigterm_finishes_in_flight_requests() {
    let mut server = Server::start();
    let url = server.url("/api/v1/auth/login");
    let in_flight: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                client()
                    .post(url)
                    .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
                    .send()
                    .await
                    .map(|r| r.status())
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let status = tokio::task::spawn_blocking(move || {
        let s = server.terminate();
        (s, server)
    })
    .await
    .unwrap();
    assert!(status.0.success(), "exit status {:?}", status.0);
    for r in in_flight {
        if let Ok(code) = r.await.unwrap() {
            assert!(code == 200 || code == 423, "{code}");
        }
    }
}

/// `--tls-self-signed` serves HTTPS, sets Secure cookies, and reuses its certificate.
#[tokio::test]
async fn tls_self_signed_is_created_once_and_reused() {
    let server = Server::start_with(false, &["--tls-self-signed"]);
    assert!(server.base.starts_with("https://"));
    let tls = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    assert_eq!(
        tls.get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let login_page = tls.get(server.url("/login")).send().await.unwrap();
    let cookie = login_page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(login_page
        .headers()
        .contains_key("strict-transport-security"));
    let cert = server.data_dir().join("tls/self-signed.crt");
    let first = std::fs::read(&cert).unwrap();
    let dir = server.stop_keep_dir();
    let again = Server::start_in(dir, false, &["--tls-self-signed"]);
    assert_eq!(
        std::fs::read(again.data_dir().join("tls/self-signed.crt")).unwrap(),
        first
    );
}
