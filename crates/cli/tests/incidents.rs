//! Incident response over HTTP against the real binary (R.1, R.2): the seven-phase state
//! machine (409 for a skipped phase, 422 naming missing records), classification checks,
//! evidence intake, the signed package and `yunshou evidence verify` with tampered copies,
//! the archived report as PDF (rendered by pdftoppm, text read back), a playbook against a
//! local HTTP target with an approval, and tenant isolation.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{Read, Write};
use support::{api, Server};

const PW: &str = "Yunshou-Demo-2026";

async fn multipart_upload(
    server: &Server,
    token: &str,
    id: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let form = reqwest::multipart::Form::new()
        .text("kind", "file")
        .text("source", "jump-host-01:/var/log/auth.log")
        .text("description", "登录失败记录")
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    let r = support::client()
        .post(server.url(&format!("/api/v1/incidents/{id}/evidence")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get_bytes(
    server: &Server,
    token: &str,
    path: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let r = support::client()
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.unwrap().to_vec())
}

fn run(cmd: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} is needed (scripts/test-deps installs it): {e}"))
}

/// Edits or drops one zip entry (name, bytes); `None` drops it.
type EntryChange<'a> = &'a dyn Fn(&str, Vec<u8>) -> Option<Vec<u8>>;

/// Rewrites a zip, letting `change` edit or drop each entry.
fn rewrite_zip(src: &std::path::Path, dst: &std::path::Path, change: EntryChange) {
    let mut input = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(dst).unwrap());
    for i in 0..input.len() {
        let mut f = input.by_index(i).unwrap();
        let name = f.name().to_string();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        if let Some(data) = change(&name, data) {
            out.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            out.write_all(&data).unwrap();
        }
    }
    out.finish().unwrap();
}

fn verify(package: &std::path::Path, key: Option<&str>) -> (i32, String) {
    let mut args = vec!["evidence", "verify", package.to_str().unwrap()];
    if let Some(k) = key {
        args.extend(["--key", k]);
    }
    let (code, out, err) = support::cli(&args, None);
    (code, format!("{out}{err}"))
}

#[tokio::test]
async fn an_incident_goes_through_the_seven_phases_with_its_records_and_is_archived() {
    let server = Server::demo();
    let analyst = api(&server, "jn.analyst", PW).await;

    // Classification is checked.
    let bad = analyst
        .problem(
            "POST",
            "/api/v1/incidents",
            Some(json!({"title": "x", "category": "NA", "subcategory": "勒索软件"})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(bad.contains("not a subcategory"), "{bad}");
    analyst
        .problem(
            "POST",
            "/api/v1/incidents",
            Some(json!({"title": "x", "category": "ZZ"})),
            StatusCode::BAD_REQUEST,
        )
        .await;

    let inc = analyst
        .ok(
            "POST",
            "/api/v1/incidents",
            Some(json!({
                "title": "运维跳板机 SSH 凭据被暴力破解",
                "description": "45.155.205.233 对 jump-host-01 发起 SSH 暴力破解后登录成功。",
                "observables": [{"kind": "ip", "value": "45.155.205.233", "note": "攻击源"}]
            })),
        )
        .await;
    let id = inc["id"].as_str().unwrap().to_string();
    assert_eq!(inc["phase"], "preparation");
    let path = format!("/api/v1/incidents/{id}");

    // Leaving preparation needs an owner: 422 naming it; a skipped phase is 409.
    let missing = analyst
        .problem(
            "PATCH",
            &path,
            Some(json!({"phase": "diagnosis"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert!(missing.contains("owner"), "{missing}");
    analyst
        .problem(
            "PATCH",
            &path,
            Some(json!({"phase": "containment", "owner": "jn.analyst"})),
            StatusCode::CONFLICT,
        )
        .await;
    // The refused patch changed nothing (the owner was part of it).
    let detail = analyst.ok("GET", &path, None).await;
    assert!(detail["owner"].is_null(), "{detail}");
    analyst
        .ok(
            "PATCH",
            &path,
            Some(json!({"owner": "jn.analyst", "phase": "diagnosis"})),
        )
        .await;

    // Diagnosis needs the classification, a confirmed level and the decision to respond.
    let missing = analyst
        .problem(
            "PATCH",
            &path,
            Some(json!({"phase": "containment"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    for m in [
        "category",
        "grading",
        "level_confirmed",
        "activation",
        "启动响应的决定",
    ] {
        assert!(missing.contains(m), "{m} in {missing}");
    }
    let graded = analyst
        .ok(
            "PATCH",
            &path,
            Some(json!({
                "category": "NA", "subcategory": "凭据攻击",
                "grading": {"importance": "important", "loss": "extreme", "social_harm": "ordinary"}
            })),
        )
        .await;
    assert_eq!(graded["suggested_level"], "II");
    assert_eq!(graded["level"], "II");
    analyst
        .ok(
            "PATCH",
            &path,
            Some(json!({
                "level_confirmed": true,
                "records": {"activation": {"decision": "activate", "reason": "已确认登录成功", "contacted": ["运维值班员"]}},
                "phase": "containment"
            })),
        )
        .await;
    let detail = analyst.ok("GET", &path, None).await;
    // A confirmed 重大 incident of a state organ's… here the default profile: one report due.
    assert!(
        !detail["notices"].as_array().unwrap().is_empty(),
        "{detail}"
    );
    assert!(detail["phase_due_at"].is_string());
    assert_eq!(detail["missing"][0]["name"], "containment_actions");

    // Evidence in; a download matches its digests; the custody log records it all.
    let token = support::login(&server, "jn.analyst", PW).await;
    let log = b"Dec  3 02:14:07 jump-host-01 sshd[2231]: Failed password for root from 45.155.205.233 port 50022 ssh2\n".repeat(200);
    let (status, item) = multipart_upload(&server, &token, &id, "auth.log", log.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{item}");
    let (status, second) = multipart_upload(
        &server,
        &token,
        &id,
        "跳板机截图说明.txt",
        "截图：登录成功后的会话".as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    use sha2::Digest;
    assert_eq!(item["sha256"], hex::encode(sha2::Sha256::digest(&log)));
    assert_eq!(item["size"], log.len());
    let eid = item["id"].as_str().unwrap();
    let (status, headers, body) = get_bytes(
        &server,
        &token,
        &format!("/api/v1/incidents/{id}/evidence/{eid}/content"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, log);
    assert_eq!(
        headers["x-content-sm3"].to_str().unwrap(),
        item["sm3"].as_str().unwrap()
    );
    let custody = analyst
        .ok("GET", &format!("/api/v1/incidents/{id}/custody"), None)
        .await;
    let actions: Vec<&str> = custody
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["intake", "intake", "download"]);

    // The package verifies offline; tampered copies do not, each failure named.
    let dir = tempfile::tempdir().unwrap();
    let (status, headers, zip_bytes) = get_bytes(
        &server,
        &token,
        &format!("/api/v1/incidents/{id}/evidence/export"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let key = headers["x-signer-public-key"].to_str().unwrap().to_string();
    let package = dir.path().join("package.zip");
    std::fs::write(&package, &zip_bytes).unwrap();
    let (code, out) = verify(&package, Some(&key));
    assert_eq!(code, 0, "{out}");
    let flipped = dir.path().join("flipped.zip");
    rewrite_zip(&package, &flipped, &|name, mut data| {
        if name.ends_with("/auth.log") {
            data[100] ^= 1;
        }
        Some(data)
    });
    let (code, out) = verify(&flipped, Some(&key));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("auth.log") && out.contains("SHA-256"), "{out}");
    let removed = dir.path().join("removed.zip");
    rewrite_zip(&package, &removed, &|name, data| {
        (!name.ends_with("/auth.log")).then_some(data)
    });
    let (code, out) = verify(&removed, Some(&key));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("auth.log"), "{out}");
    let edited = dir.path().join("edited.zip");
    rewrite_zip(&package, &edited, &|name, data| {
        if name == "custody.jsonl" {
            Some(
                String::from_utf8(data)
                    .unwrap()
                    .replacen("download", "view", 1)
                    .into_bytes(),
            )
        } else {
            Some(data)
        }
    });
    let (code, out) = verify(&edited, Some(&key));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("seq 3"), "{out}");
    let (code, _) = verify(&dir.path().join("nothing.zip"), None);
    assert_eq!(code, 2);

    // A hand-over and an event search kept as evidence enter the custody log too.
    let entry = analyst
        .ok(
            "POST",
            &format!("/api/v1/incidents/{id}/custody"),
            Some(
                json!({"evidence_id": eid, "detail": "移交公安机关网安部门（案件编号 2026-117）"}),
            ),
        )
        .await;
    assert_eq!(entry["action"], "transfer");
    analyst
        .problem(
            "POST",
            &format!("/api/v1/incidents/{id}/custody"),
            Some(json!({"detail": " "})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    let to = chrono::Utc::now() + chrono::Duration::hours(1);
    let capture = json!({"q": "event.dataset:linux.auth", "from": "2020-01-01T00:00:00Z", "to": to.to_rfc3339(), "limit": 50, "description": "跳板机认证日志"});
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let search_item = loop {
        let (status, v) = analyst
            .call(
                "POST",
                &format!("/api/v1/incidents/{id}/evidence/search"),
                Some(capture.clone()),
            )
            .await;
        if status == StatusCode::CREATED {
            break v;
        }
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
        assert!(
            std::time::Instant::now() < deadline,
            "the demo's auth events never became searchable"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    assert_eq!(search_item["kind"], "search");
    assert!(
        search_item["source"]
            .as_str()
            .unwrap()
            .starts_with("search: event.dataset:linux.auth"),
        "{search_item}"
    );
    let eid2 = search_item["id"].as_str().unwrap();
    let (_, _, lines) = get_bytes(
        &server,
        &token,
        &format!("/api/v1/incidents/{id}/evidence/{eid2}/content"),
    )
    .await;
    let first: Value =
        serde_json::from_slice(lines.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert!(first.to_string().contains("linux.auth"), "{first}");

    // Containment → eradication → recovery → tracking → optimization, each with its records.
    analyst
        .ok("PATCH", &path, Some(json!({"records": {"containment_actions": [{"action": "边界防火墙封禁 45.155.205.233", "target": "fw-border-1", "result": "已生效"}]}, "phase": "eradication"})))
        .await;
    let missing = analyst
        .problem(
            "PATCH",
            &path,
            Some(json!({"records": {"root_cause": "root 账户允许口令登录"}, "phase": "recovery"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert!(
        missing.contains("weakness_fixed") && !missing.contains("root_cause"),
        "{missing}"
    );
    analyst
        .ok("PATCH", &path, Some(json!({"records": {"root_cause": "root 账户允许口令登录", "weakness_fixed": {"description": "禁用口令登录，改为密钥+堡垒机", "fixed": true}}, "phase": "recovery"})))
        .await;
    analyst
        .ok("PATCH", &path, Some(json!({"records": {"recovery": {"systems": ["jump-host-01"], "integrity_verified": true, "availability_verified": true, "note": "重装并比对基线"}}, "phase": "tracking"})))
        .await;
    analyst
        .ok("PATCH", &path, Some(json!({"records": {"monitoring": {"days": 7, "observations": "无复发", "recurrence": false}}, "phase": "optimization"})))
        .await;

    // Archiving needs lessons, a review meeting (重大) and every improvement item closed.
    let missing = analyst
        .problem(
            "POST",
            &format!("{path}/archive"),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    for m in ["lessons", "review_meeting", "improvement_items"] {
        assert!(missing.contains(m), "{m} in {missing}");
    }
    let item = analyst
        .ok(
            "POST",
            &format!("{path}/improvements"),
            Some(json!({"title": "SSH 暴力破解检测阈值下调", "kind": "rule"})),
        )
        .await;
    analyst
        .ok("PATCH", &path, Some(json!({"records": {"lessons": "跳板机不得允许口令登录", "review_meeting": "2026-12-03 复盘会，信息中心主任主持"}})))
        .await;
    let open = analyst
        .problem(
            "POST",
            &format!("{path}/archive"),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert!(open.contains("improvement_items_closed"), "{open}");
    analyst
        .ok(
            "POST",
            &format!(
                "/api/v1/improvements/{}/close",
                item["id"].as_str().unwrap()
            ),
            Some(json!({"link": "yunshou-ssh-bruteforce", "resolution": "阈值由 20 次降为 10 次"})),
        )
        .await;
    let archived = analyst.ok("POST", &format!("{path}/archive"), None).await;
    assert_eq!(archived["status"], "archived");

    // Read-only now.
    analyst
        .problem(
            "PATCH",
            &path,
            Some(json!({"title": "改名"})),
            StatusCode::CONFLICT,
        )
        .await;
    let (status, _) = multipart_upload(&server, &token, &id, "late.txt", b"late".to_vec()).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // The frozen PDF: rendered to PNG by pdftoppm, its Chinese text read back.
    let (status, headers, pdf) = get_bytes(&server, &token, &format!("{path}/archive/pdf")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(pdf.starts_with(b"%PDF"));
    assert_eq!(
        headers["x-content-sha256"].to_str().unwrap(),
        hex::encode(sha2::Sha256::digest(&pdf))
    );
    let pdf_path = dir.path().join("report.pdf");
    std::fs::write(&pdf_path, &pdf).unwrap();
    let text = run("pdftotext", &["-layout", pdf_path.to_str().unwrap(), "-"]);
    let text = String::from_utf8_lossy(&text.stdout);
    for s in [
        "网络安全事件响应报告",
        "运维跳板机 SSH 凭据被暴力破解",
        "网络攻击事件",
        "凭据攻击",
        "跳板机不得允许口令登录",
    ] {
        assert!(text.contains(s), "{s} missing from the PDF text:\n{text}");
    }
    let png = dir.path().join("page");
    let out = run(
        "pdftoppm",
        &[
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            pdf_path.to_str().unwrap(),
            png.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rendered = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| {
            e.file_name().to_string_lossy().starts_with("page")
                && e.file_name().to_string_lossy().ends_with(".png")
        })
        .expect("pdftoppm wrote a page");
    assert!(
        std::fs::metadata(rendered.path()).unwrap().len() > 5_000,
        "page 1 is not blank"
    );
    let (status, _, html) = get_bytes(&server, &token, &format!("{path}/archive/html")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&html).contains("运维跳板机"));

    // Metrics count it.
    let m = analyst.ok("GET", "/api/v1/incidents/metrics", None).await;
    let ii = m["by_level"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == "II")
        .unwrap();
    assert!(
        ii["incidents"].as_u64().unwrap() >= 1 && ii["contain"]["count"].as_u64().unwrap() >= 1,
        "{m}"
    );

    // Another tenant sees none of it.
    let other = api(&server, "qh.analyst", PW).await;
    other
        .problem("GET", &path, None, StatusCode::NOT_FOUND)
        .await;
    let qh_token = support::login(&server, "qh.analyst", PW).await;
    let (status, _, _) = get_bytes(&server, &qh_token, &format!("{path}/evidence/export")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = get_bytes(&server, &qh_token, &format!("{path}/archive/pdf")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_playbook_waits_for_someone_elses_approval_before_its_disruptive_step() {
    let server = Server::demo();
    let (sink, mut received) = support::webhook_sink().await;
    let analyst = api(&server, "jn.analyst", PW).await;
    let inc = analyst
        .ok("POST", "/api/v1/incidents", Some(json!({"title": "对外 Web 服务遭扫描后被利用", "category": "NA", "subcategory": "漏洞利用", "owner": "jn.analyst"})))
        .await;
    let id = inc["id"].as_str().unwrap();
    let yaml = format!(
        "id: contain-web-attack\nname: Web 攻击抑制\nenabled: false\ntrigger:\n  incident:\n    category: NA\nsteps:\n  - id: tell\n    action: notify\n    with:\n      webhook:\n        url: \"{sink}\"\n        title: \"事件 {{{{ incident.label }}}}\"\n        text: \"{{{{ incident.title }}}}\"\n  - id: block\n    action: block_ip\n    with:\n      ip: \"203.0.113.77\"\n      adapter:\n        http:\n          method: POST\n          url: \"{sink}\"\n          body:\n            block: \"{{{{ ip }}}}\"\n  - id: follow\n    action: create_work_order\n    with:\n      title: 复核封禁效果\n      priority: high\n"
    );
    let token = support::login(&server, "jn.analyst", PW).await;
    let r = support::client()
        .post(server.url("/api/v1/playbooks"))
        .bearer_auth(&token)
        .header("content-type", "application/yaml")
        .body(yaml.replace("block_ip", "block_address"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("steps[1]"));
    let r = support::client()
        .post(server.url("/api/v1/playbooks"))
        .bearer_auth(&token)
        .header("content-type", "application/yaml")
        .body(yaml)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let pb: Value = r.json().await.unwrap();
    let pb_id = pb["id"].as_str().unwrap();

    // A dry run describes every step and sends nothing.
    let dry = analyst
        .ok(
            "POST",
            &format!("/api/v1/playbooks/{pb_id}/run"),
            Some(json!({"trigger_kind": "incident", "trigger_id": id, "dry_run": true})),
        )
        .await;
    assert_eq!(dry["status"], "succeeded", "{dry}");
    assert!(
        dry["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "skipped"),
        "{dry}"
    );
    assert!(
        dry["steps"][1]["summary"]
            .as_str()
            .unwrap()
            .contains("203.0.113.77"),
        "{dry}"
    );

    // The real run notifies, then waits at the block.
    let run = analyst
        .ok(
            "POST",
            &format!("/api/v1/playbooks/{pb_id}/run"),
            Some(json!({"trigger_kind": "incident", "trigger_id": id, "dry_run": false})),
        )
        .await;
    assert_eq!(run["status"], "awaiting_approval", "{run}");
    assert_eq!(run["steps"][0]["status"], "succeeded", "{run}");
    assert_eq!(run["steps"][1]["status"], "awaiting_approval");
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), received.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        first.to_string().contains("对外 Web 服务遭扫描后被利用"),
        "{first}"
    );
    assert!(
        received.try_recv().is_err(),
        "nothing is blocked before the approval"
    );
    let run_path = format!("/api/v1/playbook-runs/{}", run["id"].as_str().unwrap());

    // The analyst may not approve (no permission); the responder may, the starter never.
    analyst
        .problem(
            "POST",
            &format!("{run_path}/steps/1/decision"),
            Some(json!({"approve": true})),
            StatusCode::FORBIDDEN,
        )
        .await;
    let responder = api(&server, "jn.responder", PW).await;
    let done = responder
        .ok(
            "POST",
            &format!("{run_path}/steps/1/decision"),
            Some(json!({"approve": true})),
        )
        .await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["steps"][1]["decided_by"], "jn.responder");
    let blocked = tokio::time::timeout(std::time::Duration::from_secs(10), received.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(blocked, json!({"block": "203.0.113.77"}));
    // The work order became a task of the incident, and everything is on its timeline.
    let detail = analyst
        .ok("GET", &format!("/api/v1/incidents/{id}"), None)
        .await;
    assert!(
        detail["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["title"].as_str().unwrap().contains("复核封禁效果")),
        "{detail}"
    );
    assert!(detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["kind"] == "playbook" && t["actor"] == "jn.responder"));
    // Every step and the approval are in the audit trail.
    let admin = api(&server, "jn.admin", PW).await;
    let audit = admin
        .ok("GET", "/api/v1/audit?limit=200", None)
        .await
        .to_string();
    for a in ["playbook.run", "playbook.step", "playbook.approve"] {
        assert!(audit.contains(a), "{a}");
    }
    // Whoever starts a run never approves it.
    let own = responder
        .ok(
            "POST",
            &format!("/api/v1/playbooks/{pb_id}/run"),
            Some(json!({"trigger_kind": "incident", "trigger_id": id, "dry_run": false})),
        )
        .await;
    assert_eq!(own["status"], "awaiting_approval", "{own}");
    let refused = responder
        .problem(
            "POST",
            &format!(
                "/api/v1/playbook-runs/{}/steps/1/decision",
                own["id"].as_str().unwrap()
            ),
            Some(json!({"approve": true})),
            StatusCode::CONFLICT,
        )
        .await;
    assert!(refused.contains("someone other"), "{refused}");
    let rejected = api(&server, "jn.admin", PW)
        .await
        .ok(
            "POST",
            &format!(
                "/api/v1/playbook-runs/{}/steps/1/decision",
                own["id"].as_str().unwrap()
            ),
            Some(json!({"approve": false})),
        )
        .await;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["steps"][2]["status"], "skipped");
    // A second tenant cannot see or decide on the run.
    let other = api(&server, "qh.admin", PW).await;
    other
        .problem("GET", &run_path, None, StatusCode::NOT_FOUND)
        .await;
}
