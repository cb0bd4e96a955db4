//! Vulnerability management against the real server (I.2, I.3): every fixture report
//! imported over HTTP with its counts; a broken report refused whole; deduplication across
//! scanners and re-import; work orders that close only after a retest; settings, threats, the
//! risk register and the analysis report; roles and tenants kept apart; the CLI importer.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{api, cli, client, Api, Server, DEMO_PASSWORD};

fn fixture(path: &str) -> Vec<u8> {
    let full = format!(
        "{}/../../../shared/fixtures/scanners/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

async fn upload(
    a: &Api<'_>,
    name: &str,
    body: Vec<u8>,
    format: Option<&str>,
) -> (StatusCode, Value) {
    let mut url = format!("/api/v1/findings/import?file_name={name}");
    if let Some(f) = format {
        url.push_str(&format!("&format={f}"));
    }
    let r = client()
        .post(a.server.url(&url))
        .bearer_auth(&a.token)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn total(a: &Api<'_>, query: &str) -> u64 {
    a.ok("GET", &format!("/api/v1/findings?limit=1&{query}"), None)
        .await["total"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn every_fixture_imports_with_its_counts_and_a_broken_one_changes_nothing() {
    let server = Server::demo();
    let a = api(&server, "jn.analyst", DEMO_PASSWORD).await;
    // (file, findings, targets) — counted independently from the files.
    let cases = [
        ("masscan/masscan_many_vuln.json", 4, 1),
        ("nessus/nessus_many_vuln.xml", 6, 1),
        ("nessus/nessus_with_cvssv3.nessus", 48, 1),
        ("nexpose/many_vulns.xml", 162, 8),
        ("nmap/nmap_multiple_port.xml", 13, 1),
        ("nmap/nmap_script_vulners.xml", 3, 1),
        ("nuclei/many_findings.json", 18, 2),
        ("openvas/many_vuln.csv", 4, 1),
        ("openvas/many_vuln.xml", 44, 1),
        ("qualys/Qualys_Sample_Report.xml", 301, 8),
        ("sarif/appendix_k.sarif", 1, 1),
        ("trivy/legacy_many_vulns.json", 93, 1),
        ("trivy/scheme_2_many_vulns.json", 5, 1),
        ("wazuh/v4-8_many_findings.json", 10, 2),
    ];
    for (path, findings, targets) in cases {
        let name = path.rsplit('/').next().unwrap();
        let (status, s) = upload(&a, name, fixture(path), None).await;
        assert_eq!(status, StatusCode::CREATED, "{path}: {s}");
        assert_eq!(
            (s["findings"].as_u64(), s["targets"].as_u64()),
            (Some(findings), Some(targets)),
            "{path}: {s}"
        );
        assert!(s["created"].as_u64().unwrap() >= 1, "{path}: {s}");
        assert_eq!(s["file_name"], name);
    }
    let imports = a.ok("GET", "/api/v1/findings/imports", None).await;
    assert!(imports.as_array().unwrap().len() >= cases.len());
    assert_eq!(imports[0]["sha256"].as_str().unwrap().len(), 64);

    // The OpenVAS finding names its CVEs; our calculators score the vectors.
    let v = a
        .ok("GET", "/api/v1/findings?source=nessus&limit=1000", None)
        .await;
    let scored = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["cvss_score"].is_number())
        .count();
    assert!(scored >= 8, "{scored}");
    let top = &v["items"][0];
    assert!(
        top["risk"]["steps"]
            .as_array()
            .is_some_and(|s| !s.is_empty()),
        "{top}"
    );
    // Grouping.
    let groups = a
        .ok("GET", "/api/v1/findings/groups?by=cve&source=trivy", None)
        .await;
    assert!(
        groups
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["key"] == "CVE-2020-15999"),
        "{groups}"
    );
    let groups = a.ok("GET", "/api/v1/findings/groups?by=asset", None).await;
    assert!(groups.as_array().unwrap().len() >= 10);
    a.problem(
        "GET",
        "/api/v1/findings/groups?by=colour",
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;

    // A truncated report is refused whole: nothing new, no import recorded.
    let before = total(&a, "").await;
    let imports_before = a
        .ok("GET", "/api/v1/findings/imports", None)
        .await
        .as_array()
        .unwrap()
        .len();
    let whole = fixture("nexpose/many_vulns.xml");
    let (status, p) = upload(
        &a,
        "cut.xml",
        whole[..whole.len() / 2].to_vec(),
        Some("nexpose-xml"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("nothing imported"),
        "{p}"
    );
    let (status, p) = upload(
        &a,
        "x.nessus",
        fixture("trivy/scheme_2_many_vulns.json"),
        Some("nessus"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    let (status, p) = upload(&a, "x.bin", b"\x00\x01 garbage".to_vec(), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("format"), "{p}");
    assert_eq!(total(&a, "").await, before);
    assert_eq!(
        a.ok("GET", "/api/v1/findings/imports", None)
            .await
            .as_array()
            .unwrap()
            .len(),
        imports_before
    );

    // The same report again: nothing new, everything seen again.
    let (_, s) = upload(&a, "many_vuln.xml", fixture("openvas/many_vuln.xml"), None).await;
    assert_eq!(
        (s["created"].as_u64(), s["not_seen"].as_u64()),
        (Some(0), Some(0)),
        "{s}"
    );
    // One result fewer in the next scan: it is not seen, awaiting a retest.
    let text = String::from_utf8(fixture("openvas/one_vuln.xml")).unwrap();
    let (status, s) = upload(&a, "one_vuln.xml", text.into_bytes(), None).await;
    assert_eq!(status, StatusCode::CREATED, "{s}");

    // Viewers read but do not import; another organisation sees none of it.
    let viewer = api(&server, "jn.auditor", DEMO_PASSWORD).await;
    assert!(total(&viewer, "").await > 0);
    let (status, _) = upload(
        &viewer,
        "x.json",
        fixture("masscan/masscan_many_vuln.json"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let other = api(&server, "qh.admin", DEMO_PASSWORD).await;
    let id = top["id"].as_str().unwrap();
    other
        .problem(
            "GET",
            &format!("/api/v1/findings/{id}"),
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
    let theirs = other
        .ok("GET", "/api/v1/findings?source=qualys&limit=1", None)
        .await;
    assert_eq!(theirs["total"], 0, "{theirs}");
}

#[tokio::test]
async fn work_orders_follow_the_state_machine_over_http() {
    let server = Server::demo();
    let analyst = api(&server, "jn.analyst", DEMO_PASSWORD).await;
    let admin = api(&server, "jn.admin", DEMO_PASSWORD).await;
    let viewer = api(&server, "jn.auditor", DEMO_PASSWORD).await;
    let (status, s) = upload(
        &analyst,
        "nessus_with_cvssv3.nessus",
        fixture("nessus/nessus_with_cvssv3.nessus"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    assert!(s["work_orders"].as_u64().unwrap() > 0, "{s}");
    let orders = analyst
        .ok(
            "GET",
            "/api/v1/work-orders?state=notified&q=&limit=1000",
            None,
        )
        .await;
    let order = orders["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["label"].as_str().unwrap().starts_with("WO-"))
        .unwrap()
        .clone();
    let id = order["id"].as_str().unwrap();
    let path = format!("/api/v1/work-orders/{id}");
    // Closing as fixed without a retest: 409 naming the state.
    let d = analyst
        .problem(
            "PATCH",
            &path,
            Some(json!({"action": "retest_pass", "note": "fine"})),
            StatusCode::CONFLICT,
        )
        .await;
    assert!(d.contains("only after a retest"), "{d}");
    // Skipping a step: 409; a step that needs a note without one: 400.
    analyst
        .problem(
            "PATCH",
            &path,
            Some(json!({"action": "request_retest", "note": "x"})),
            StatusCode::CONFLICT,
        )
        .await;
    analyst
        .ok("PATCH", &path, Some(json!({"action": "accept"})))
        .await;
    analyst
        .ok("PATCH", &path, Some(json!({"action": "start_fix"})))
        .await;
    analyst
        .problem(
            "PATCH",
            &path,
            Some(json!({"action": "request_retest"})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    analyst
        .ok(
            "PATCH",
            &path,
            Some(json!({"action": "request_retest", "note": "patched and rebooted"})),
        )
        .await;
    // The fixer cannot pass their own retest; a viewer cannot act at all.
    analyst
        .problem(
            "PATCH",
            &path,
            Some(json!({"action": "retest_pass", "note": "ok"})),
            StatusCode::CONFLICT,
        )
        .await;
    viewer
        .problem(
            "PATCH",
            &path,
            Some(json!({"action": "retest_fail", "note": "no"})),
            StatusCode::FORBIDDEN,
        )
        .await;
    // Evidence attached, then another person's verdict closes it.
    let r = client()
        .post(server.url(&format!("{path}/attachments?name=rescan.txt")))
        .bearer_auth(&admin.token)
        .header("content-type", "text/plain")
        .body("0 findings on rescan")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let att: Value = r.json().await.unwrap();
    assert_eq!(att["sm3"].as_str().unwrap().len(), 64);
    let closed = admin
        .ok(
            "PATCH",
            &path,
            Some(json!({"action": "retest_pass", "note": "rescan clean (rescan.txt)"})),
        )
        .await;
    assert_eq!(
        (closed["state"].as_str(), closed["resolution"].as_str()),
        (Some("closed"), Some("fixed"))
    );
    let detail = analyst.ok("GET", &path, None).await;
    assert_eq!(detail["finding"]["status"], "fixed");
    let actions: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "raise",
            "accept",
            "start_fix",
            "request_retest",
            "attach",
            "retest_pass"
        ]
    );
    let r = client()
        .get(server.url(&format!(
            "{path}/attachments/{}",
            att["id"].as_str().unwrap()
        )))
        .bearer_auth(&viewer.token)
        .send()
        .await
        .unwrap();
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(r.text().await.unwrap(), "0 findings on rescan");

    // Bulk: all or none, each refusal named.
    let open: Vec<String> = analyst
        .ok("GET", "/api/v1/work-orders?state=notified&limit=3", None)
        .await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect();
    let mut ids = open.clone();
    ids.push(id.to_string());
    let d = analyst
        .problem(
            "POST",
            "/api/v1/work-orders/bulk",
            Some(json!({"ids": ids, "action": "accept"})),
            StatusCode::CONFLICT,
        )
        .await;
    assert!(d.contains(id), "{d}");
    let still = analyst
        .ok("GET", &format!("/api/v1/work-orders/{}", open[0]), None)
        .await;
    assert_eq!(still["state"], "notified");
    let done = analyst
        .ok(
            "POST",
            "/api/v1/work-orders/bulk",
            Some(json!({"ids": open, "action": "accept"})),
        )
        .await;
    assert_eq!(done.as_array().unwrap().len(), open.len());
    let sla = analyst.ok("GET", "/api/v1/work-orders/sla", None).await;
    assert!(
        sla["open_by_state"][1].as_i64().unwrap() >= open.len() as i64,
        "{sla}"
    );

    // Another organisation cannot touch it.
    let other = api(&server, "qh.admin", DEMO_PASSWORD).await;
    other
        .problem(
            "PATCH",
            &path,
            Some(json!({"action": "reopen", "note": "x"})),
            StatusCode::NOT_FOUND,
        )
        .await;
}

#[tokio::test]
async fn settings_threats_risks_and_the_report() {
    let server = Server::demo();
    let admin = api(&server, "jn.admin", DEMO_PASSWORD).await;
    let auditor = api(&server, "jn.auditor", DEMO_PASSWORD).await;
    let mut settings = admin.ok("GET", "/api/v1/vuln/settings", None).await;
    assert_eq!(settings["risk_tables"]["name"], "yunshou-default-v1");
    let mut bad = settings.clone();
    bad["work_order_min_level"] = json!(7);
    bad["sla_days"]["high"] = json!(0);
    bad["notify_email"] = json!(["not-mail"]);
    let d = admin
        .problem(
            "PUT",
            "/api/v1/vuln/settings",
            Some(bad),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert_eq!(d.lines().count(), 3, "{d}");
    settings["risk_method"] = json!("multiplication");
    admin
        .ok("PUT", "/api/v1/vuln/settings", Some(settings.clone()))
        .await;
    auditor
        .problem(
            "PUT",
            "/api/v1/vuln/settings",
            Some(settings),
            StatusCode::FORBIDDEN,
        )
        .await;

    let (status, _) = upload(
        &admin,
        "qualys.xml",
        fixture("qualys/Qualys_Sample_Report.xml"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let finding = admin
        .ok("GET", "/api/v1/findings?limit=1&source=qualys", None)
        .await["items"][0]
        .clone();
    assert_eq!(finding["risk"]["method"], "multiplication");
    let threat = admin
        .ok(
            "POST",
            "/api/v1/threats",
            Some(json!({"name": "外部漏洞利用", "source": "human", "kind": "unauthorised_actions", "agent": "organised_group",
                        "motive": "malicious", "techniques": ["T1190"], "rule_ids": []})),
        )
        .await;
    assert!(threat["frequency_basis"]["alerts"].is_number(), "{threat}");
    admin
        .problem("POST", "/api/v1/threats", Some(json!({"name": "外部漏洞利用", "source": "human", "kind": "x", "agent": "individual", "motive": "malicious"})), StatusCode::CONFLICT)
        .await;
    let risk = admin
        .ok(
            "POST",
            "/api/v1/risks",
            Some(json!({"asset_id": finding["asset_id"], "threat_id": threat["id"], "finding_id": finding["id"]})),
        )
        .await;
    assert!(risk["level"].as_u64().unwrap() >= 1);
    assert!(
        risk["method"]
            .as_str()
            .unwrap()
            .starts_with("multiplication"),
        "{risk}"
    );
    let map = admin.ok("GET", "/api/v1/risks/heatmap", None).await;
    let n: i64 = map["cells"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|c| c.as_i64().unwrap())
        .sum();
    assert!(n >= 1);
    admin.ok("POST", "/api/v1/threats/refresh", None).await;
    let r = client()
        .get(server.url("/api/v1/risks/report?format=html&lang=zh"))
        .bearer_auth(&auditor.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("脆弱性与风险分析报告")
            && html.contains("<svg")
            && html.contains("外部漏洞利用")
    );
    let r = client()
        .get(server.url("/api/v1/risks/report?format=csv"))
        .bearer_auth(&auditor.token)
        .send()
        .await
        .unwrap();
    let csv = r.text().await.unwrap();
    assert!(
        csv.lines().count() >= 2 && csv.contains("外部漏洞利用"),
        "{csv}"
    );
    // The auditor reads the register but changes nothing.
    auditor
        .problem("POST", "/api/v1/risks", Some(json!({"asset_id": finding["asset_id"], "threat_id": threat["id"], "finding_id": finding["id"]})), StatusCode::FORBIDDEN)
        .await;
    let audit = admin
        .ok("GET", "/api/v1/audit?action=risk.report&limit=5", None)
        .await;
    assert!(audit["total"].as_u64().unwrap() >= 2, "{audit}");
}

#[test]
fn the_cli_imports_reports_and_lists_findings() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let base = format!(
        "{}/../../../shared/fixtures/scanners",
        env!("CARGO_MANIFEST_DIR")
    );
    let good = format!("{base}/nuclei/many_findings.json");
    let cut = dir.path().join("cut.nessus");
    let whole = std::fs::read(format!("{base}/nessus/nessus_many_vuln.xml")).unwrap();
    std::fs::write(&cut, &whole[..whole.len() / 3]).unwrap();
    let (code, out, err) = cli(
        &[
            "import",
            "findings",
            "--data-dir",
            data,
            "--tenant",
            "default",
            &good,
            cut.to_str().unwrap(),
        ],
        None,
    );
    // One file in, one refused: exit 1, the good one imported.
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("18 findings") && out.contains("created 18"),
        "{out}"
    );
    assert!(
        err.contains("cut.nessus") && err.contains("nothing imported"),
        "{err}"
    );
    let (code, out, _) = cli(
        &[
            "findings",
            "count",
            "--data-dir",
            data,
            "--tenant",
            "default",
        ],
        None,
    );
    assert_eq!((code, out.trim()), (0, "18"));
    let (code, out, _) = cli(
        &[
            "findings",
            "list",
            "--data-dir",
            data,
            "--tenant",
            "default",
            "--severity",
            "medium",
            "--output",
            "jsonl",
        ],
        None,
    );
    assert_eq!(code, 0);
    assert!(
        out.lines().count() >= 1
            && out
                .lines()
                .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "{out}"
    );
    let (code, out, _) = cli(
        &[
            "findings",
            "list",
            "--data-dir",
            data,
            "--tenant",
            "default",
        ],
        None,
    );
    assert_eq!(code, 0);
    assert!(out.contains("RISK") && out.contains("of 18"), "{out}");
    let (code, out, _) = cli(
        &[
            "import",
            "findings",
            "--data-dir",
            data,
            "--tenant",
            "default",
            "--json",
            &good,
        ],
        None,
    );
    assert_eq!(code, 0);
    let s: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (s["created"].as_u64(), s["updated"].as_u64()),
        (Some(0), Some(18)),
        "{s}"
    );
}

#[tokio::test]
async fn new_work_orders_are_announced_by_webhook_and_mail() {
    let (smtp, mut mails) = support::smtp_sink().await;
    let (hook, mut hooks) = support::webhook_sink().await;
    let relay = smtp.to_string();
    let server = Server::start_with(
        true,
        &[
            "--smtp-relay",
            &relay,
            "--smtp-from",
            "yunshou@soc.example.cn",
        ],
    );
    let admin = api(&server, "jn.admin", DEMO_PASSWORD).await;
    let mut settings = admin.ok("GET", "/api/v1/vuln/settings", None).await;
    settings["notify_webhook"] = json!(hook);
    settings["notify_email"] = json!(["soc@jn.example.cn"]);
    settings["contacts"] = json!({ "张伟": "zhangwei@jn.example.cn" });
    admin
        .ok("PUT", "/api/v1/vuln/settings", Some(settings))
        .await;
    let (status, s) = upload(
        &admin,
        "scan.nessus",
        fixture("nessus/nessus_with_cvssv3.nessus"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    let raised = s["work_orders"].as_u64().unwrap();
    assert!(raised > 0);
    let wait = std::time::Duration::from_secs(30);
    let body = tokio::time::timeout(wait, hooks.recv())
        .await
        .expect("webhook")
        .unwrap();
    assert_eq!(body["topic"], "work_order.raised");
    assert_eq!(body["count"].as_u64(), Some(raised), "{body}");
    // The demo's own notices (its seeded imports) come through the relay too.
    let (to, text) = tokio::time::timeout(wait, async {
        loop {
            let (to, text) = mails.recv().await.unwrap();
            if to == ["soc@jn.example.cn"] {
                return (to, text);
            }
        }
    })
    .await
    .expect("mail");
    assert_eq!(to, vec!["soc@jn.example.cn"]);
    assert!(text.contains("Subject:") && text.contains("WO-"), "{text}");
}
