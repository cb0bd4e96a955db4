//! Rule directories imported per tenant (MO.2.a) against the real server: a set with a
//! document that does not load, or an id already taken, is refused whole with every reason
//! and nothing kept; a good set's rules list, test and alert for the importing tenant only;
//! removing the set removes its rules; roles are enforced.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{api, client, Api, Server, DEMO_PASSWORD};

const PROBE_RULE: &str = "7b1e0f52-93c4-4d2a-a8f1-5c6e2d9b0a13";

fn probe_rule(id: &str) -> String {
    format!(
        "title: Set probe seen in sshd\nid: {id}\nstatus: test\nauthor: tenant analysts\nlevel: high\n\
         tags: [attack.discovery]\nlogsource: {{product: linux, service: sshd}}\n\
         detection:\n  sel:\n    message|contains: yunshou-set-probe\n  condition: sel\n"
    )
}

/// A multipart body of `name` and `files` (path, text), as a browser sends a directory.
fn multipart(name: &str, files: &[(&str, String)]) -> (String, Vec<u8>) {
    let boundary = "----yunshou-test-boundary-5b0c";
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n{name}\r\n");
    for (path, text) in files {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path}\"\r\n\
             Content-Type: application/x-yaml\r\n\r\n{text}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

async fn upload(a: &Api<'_>, name: &str, files: &[(&str, String)]) -> (StatusCode, Value) {
    let (ctype, body) = multipart(name, files);
    let r = client()
        .post(a.server.url("/api/v1/rules/sets"))
        .bearer_auth(&a.token)
        .header("content-type", ctype)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn send_line(a: &Api<'_>, text: &str) {
    let token = a
        .ok(
            "POST",
            "/api/v1/ingest-tokens",
            Some(json!({"name": format!("probe-{}", text.len())})),
        )
        .await["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let line = json!(format!("<38>1 {now} bastion-01 sshd 812 - - {text}")).to_string();
    let r = client()
        .post(a.server.url("/api/v1/ingest"))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(line)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
}

async fn set_names(a: &Api<'_>) -> Vec<String> {
    let v = a.ok("GET", "/api/v1/rules/sets", None).await;
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

async fn probe_alerts(a: &Api<'_>) -> usize {
    let v = a
        .ok("GET", &format!("/api/v1/alerts?rule={PROBE_RULE}"), None)
        .await;
    v["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn imported_sets_are_checked_whole_and_stay_with_their_tenant() {
    let server = Server::demo();
    let admin = api(&server, "jn.admin", DEMO_PASSWORD).await;
    let analyst = api(&server, "jn.analyst", DEMO_PASSWORD).await;
    let other = api(&server, "qh.admin", DEMO_PASSWORD).await;

    // A built-in rule's id, a broken document and a good rule: refused whole, every reason.
    let rules = admin.ok("GET", "/api/v1/rules?q=ssh&limit=5", None).await;
    let taken = rules["items"][0]["id"].as_str().unwrap().to_string();
    let (status, problem) = upload(
        &admin,
        "",
        &[
            ("tenant-rules/linux/probe.yml", probe_rule(PROBE_RULE)),
            ("tenant-rules/linux/copy.yml", probe_rule(&taken)),
            (
                "tenant-rules/broken.yml",
                "title: broken\ndetection: [".into(),
            ),
            ("tenant-rules/README.md", "# notes".into()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("tenant-rules/broken.yml#1"), "{detail}");
    assert!(
        detail.contains(&format!("id {taken} is already")),
        "{detail}"
    );
    assert_eq!(
        set_names(&admin).await,
        vec!["本单位审计规则"],
        "the demo's set only"
    );

    // Analysts may not import.
    let (status, _) = upload(&analyst, "x", &[("probe.yml", probe_rule(PROBE_RULE))]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A good directory: named after itself, non-YAML files left out and listed.
    let (status, done) = upload(
        &admin,
        "",
        &[
            ("tenant-rules/linux/probe.yml", probe_rule(PROBE_RULE)),
            ("tenant-rules/README.md", "# notes".into()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
    assert_eq!(done["set"]["name"], "tenant-rules");
    assert_eq!(done["rules"], 1);
    assert_eq!(done["skipped_files"], json!(["tenant-rules/README.md"]));
    let set_id = done["set"]["id"].as_str().unwrap().to_string();

    // Listed, viewable and testable for this tenant; unknown to the other.
    let rule = analyst
        .ok("GET", &format!("/api/v1/rules/{PROBE_RULE}"), None)
        .await;
    assert_eq!(rule["imported"], true);
    assert_eq!(rule["file"], "tenant-rules/linux/probe.yml");
    let listed = analyst.ok("GET", "/api/v1/rules?q=Set%20probe", None).await;
    assert_eq!(listed["total"], 1);
    let tested = analyst
        .ok(
            "POST",
            &format!("/api/v1/rules/{PROBE_RULE}/test"),
            Some(json!({"events": [
                {"process": {"name": "sshd"}, "event": {"dataset": "sshd"}, "message": "yunshou-set-probe here",
                 "host": {"os": {"type": "linux"}}},
                {"message": "nothing"}
            ]})),
        )
        .await;
    assert_eq!(tested["matches"].as_array().unwrap().len(), 1, "{tested}");
    other
        .problem(
            "GET",
            &format!("/api/v1/rules/{PROBE_RULE}"),
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
    assert!(!set_names(&other)
        .await
        .contains(&"tenant-rules".to_string()));
    other
        .problem(
            "DELETE",
            &format!("/api/v1/rules/sets/{set_id}"),
            None,
            StatusCode::NOT_FOUND,
        )
        .await;

    // The rule meets this tenant's events only.
    send_line(
        &other,
        "Invalid user yunshou-set-probe from 198.51.100.9 port 4242",
    )
    .await;
    send_line(
        &admin,
        "Invalid user yunshou-set-probe from 198.51.100.9 port 4242",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while probe_alerts(&admin).await == 0 {
        assert!(Instant::now() < deadline, "no alert from the imported rule");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let alerts = admin
        .ok("GET", &format!("/api/v1/alerts?rule={PROBE_RULE}"), None)
        .await;
    assert_eq!(alerts["items"][0]["rule_author"], "tenant analysts");
    assert_eq!(probe_alerts(&other).await, 0);

    // Removed: its rules go with it, and the removal is audited.
    admin
        .ok("DELETE", &format!("/api/v1/rules/sets/{set_id}"), None)
        .await;
    admin
        .problem(
            "GET",
            &format!("/api/v1/rules/{PROBE_RULE}"),
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
    let audit = admin
        .ok("GET", "/api/v1/audit?action=rule_set.", None)
        .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"rule_set.import") && actions.contains(&"rule_set.delete"),
        "{audit}"
    );
}
