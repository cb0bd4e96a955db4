//! Vulnerability management in the console, end to end in headless Chromium over the demo:
//! an OpenVAS report imported through the upload form, the queue filtered and grouped, a
//! finding's risk computation, its work order driven notify → accept → fix → retest → closed
//! (the retest passed by someone other than the fixer), bulk changes all or none, a refused
//! report that imports nothing, the SLA dashboard, the settings, and a viewer kept out.

mod support;

use fantoccini::Locator;
use support::browser::Browser;
use support::{client, Server, DEMO_PASSWORD};

/// The fixture report: 44 results on one host (metasploitable2), one with the rexec service.
const REPORT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/scanners/openvas/many_vuln.xml"
);
/// The host the report names; unknown to the demo, so the import adds it to the ledger.
const HOST: &str = "b6b9f466d63";

async fn select(b: &Browser, css: &str, value: &str) {
    b.click(&format!("{css} option[value='{value}']")).await;
}

async fn absent(b: &Browser, css: &str) -> bool {
    b.client.find(Locator::Css(css)).await.is_err()
}

/// Waits until the page's query string contains `needle`: a submitted form has loaded.
async fn wait_query(b: &Browser, needle: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let url = b.client.current_url().await.unwrap();
        if url.query().unwrap_or("").contains(needle) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{url} never had {needle}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn number(b: &Browser, css: &str) -> u64 {
    let text = b.text(css).await;
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{css}: {text:?}"))
}

async fn attrs(b: &Browser, css: &str, attr: &str) -> Vec<String> {
    let mut out = vec![];
    for el in b.client.find_all(Locator::Css(css)).await.unwrap() {
        out.push(el.attr(attr).await.unwrap().unwrap_or_default());
    }
    out
}

/// Chooses `path` in the import form and submits it.
async fn upload(b: &Browser, path: &str, format: &str) {
    select(b, "#import-format", format).await;
    b.find("#import-file").await.send_keys(path).await.unwrap();
    b.click("#import-submit").await;
}

#[tokio::test]
async fn findings_and_work_orders_in_the_console() {
    assert!(std::path::Path::new(REPORT).exists(), "{REPORT} is missing");
    let server = Server::demo();
    let b = Browser::start().await;

    // The analyst imports the report through the form.
    b.sign_in(&server, "jn.analyst", DEMO_PASSWORD).await;
    b.wait_path("/").await;
    b.click("#nav-findings").await;
    b.wait_path("/findings").await;
    let before = number(&b, "#findings-total").await;
    // Chromium takes only canonical paths.
    let report_path = std::fs::canonicalize(REPORT).unwrap().display().to_string();
    upload(&b, &report_path, "auto").await;
    b.wait_text("#import-result", "many_vuln.xml").await;
    assert!(b.text("#import-result").await.contains("openvas-xml"));
    assert_eq!(number(&b, "#import-created").await, 44);
    assert_eq!(number(&b, "#import-assets").await, 1);
    let raised = number(&b, "#import-work-orders").await;
    assert!(raised > 10, "{raised}");
    assert!(b.text("#imports-table").await.contains("many_vuln.xml"));
    assert_eq!(number(&b, "#findings-total").await, before + 44);
    let analyst = support::api(&server, "jn.analyst", DEMO_PASSWORD).await;
    let imports = analyst.ok("GET", "/api/v1/findings/imports", None).await;
    let imports_before = imports.as_array().unwrap().len();

    // The queue: filtered by text, grouped by asset, a group opened.
    b.fill("#f-q", "rexec").await;
    b.click("#findings-filter").await;
    wait_query(&b, "q=rexec").await;
    assert_eq!(number(&b, "#findings-total").await, 1);
    let row = b.text("#findings-table tr.finding-row").await;
    assert!(
        row.contains(HOST) && row.contains("CVE-1999-0618") && row.contains("WO-"),
        "{row}"
    );
    b.goto(&server.url("/findings")).await;
    select(&b, "#f-group", "asset").await;
    b.click("#findings-filter").await;
    wait_query(&b, "group=asset").await;
    let groups = b.wait_text("#groups-table", HOST).await;
    assert!(groups.contains("44"), "{groups}");
    // The demo may hold other findings: open our host's group by name.
    let link = b
        .client
        .find(Locator::XPath(&format!(
            "//table[@id='groups-table']//a[text()='{HOST}']"
        )))
        .await
        .unwrap();
    link.click().await.unwrap();
    b.wait_text("#asset-filter", HOST).await;
    assert_eq!(number(&b, "#findings-total").await, 44);
    let levels = attrs(&b, "tr.finding-row", "data-level").await;
    let mut sorted = levels.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(levels, sorted, "the highest risk first");
    // A wrong level is reported, not a crash.
    b.goto(&server.url("/findings?risk_level=9")).await;
    assert!(b.text("#findings-error").await.contains("risk_level"));

    // A finding: its risk computed step by step, then its work order.
    b.goto(&server.url("/findings?q=rexec")).await;
    b.click("a.finding-link").await;
    b.wait_text("#finding-title", "rexec").await;
    let steps = b.text("#risk-steps").await;
    assert!(
        steps.contains("matrix_L") && steps.contains("matrix_R"),
        "{steps}"
    );
    assert!(b.text("#risk-method").await.contains("矩阵法"));
    assert_eq!(b.text("#finding-port").await, "512/tcp");
    assert!(b.text("#finding-asset").await.contains(HOST));
    // Registered as a risk against a threat of the catalog (added here: the demo has none).
    let threat = analyst
        .ok(
            "POST",
            "/api/v1/threats",
            Some(serde_json::json!({"name": "远程命令执行利用", "source": "human", "kind": "unauthorised_actions",
                "agent": "organised_group", "motive": "malicious"})),
        )
        .await;
    let finding_path = b.path().await;
    b.goto(&server.url(&finding_path)).await;
    select(&b, "#register-threat", threat["id"].as_str().unwrap()).await;
    b.click("#register-risk-submit").await;
    b.wait_text("#flash", "风险已保存").await;
    assert_eq!(b.path().await, finding_path);
    b.goto(&server.url("/risks")).await;
    b.find(&format!("#risks-table a[href='{finding_path}']"))
        .await;
    b.goto(&server.url(&finding_path)).await;
    b.click("#finding-order-link").await;
    b.wait_text("#order-state", "待接收").await;
    let order_path = b.path().await;
    let order_id = order_path.trim_start_matches("/work-orders/").to_string();
    let label = b.text("#order-title").await[..9].to_string();
    assert!(label.starts_with("WO-"), "{label}");
    // Only the steps the state allows: no retest verdict yet.
    assert!(absent(&b, "#act-retest_pass").await && absent(&b, "#act-start_fix").await);
    b.click("#act-accept").await;
    b.wait_text("#order-state", "已接收").await;
    b.click("#act-start_fix").await;
    b.wait_text("#order-state", "整改中").await;
    b.click("#act-request_retest").await; // the note is required: the browser keeps the form
    assert_eq!(b.text("#order-state").await, "整改中");
    b.fill(
        "#act-request_retest-note",
        "已停用 rexec 服务并在防火墙封禁 512 端口",
    )
    .await;
    b.click("#act-request_retest").await;
    b.wait_text("#order-state", "待复测").await;
    // The fixer cannot pass their own retest.
    b.fill("#act-retest_pass-note", "自己复测").await;
    b.click("#act-retest_pass").await;
    b.wait_text("#flash", "someone other than").await;
    assert_eq!(b.text("#order-state").await, "待复测");
    // A comment and an attachment, downloadable.
    b.fill("#comment-body", "复测截图见附件").await;
    b.click("#comment-submit").await;
    b.wait_text("#order-history", "复测截图见附件").await;
    let evidence = tempfile::tempdir().unwrap();
    let file = evidence.path().join("retest-512.txt");
    std::fs::write(&file, "nmap -p 512 → closed\n").unwrap();
    b.find("#attach-file")
        .await
        .send_keys(&file.display().to_string())
        .await
        .unwrap();
    b.click("#attach-submit").await;
    b.wait_text("#order-attachments", "retest-512.txt").await;
    let href = attrs(&b, "a.attachment-link", "href").await.remove(0);
    let session = b
        .client
        .get_named_cookie("ys_session")
        .await
        .unwrap()
        .value()
        .to_string();
    let got = client()
        .get(server.url(&href))
        .header("cookie", format!("ys_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert!(got.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(got.text().await.unwrap(), "nmap -p 512 → closed\n");

    // Bulk: a step the orders' state refuses changes none and lists each; then it applies.
    b.goto(&server.url("/work-orders?q=UnrealIRCd")).await;
    let picks = attrs(&b, "#col-notified input.pick", "value").await;
    assert_eq!(picks.len(), 2, "{picks:?}");
    for id in &picks {
        b.click(&format!("input.pick[value='{id}']")).await;
    }
    select(&b, "#bulk-action", "start_fix").await;
    b.click("#bulk-submit").await;
    let problems = b.wait_text("#bulk-problems", "start_fix").await;
    assert_eq!(problems.matches("WO-").count(), 2, "{problems}");
    assert_eq!(attrs(&b, "#col-notified .card", "data-id").await.len(), 2);
    b.goto(&server.url("/work-orders?q=UnrealIRCd")).await;
    for id in &picks {
        b.click(&format!("input.pick[value='{id}']")).await;
    }
    select(&b, "#bulk-action", "accept").await;
    b.click("#bulk-submit").await;
    b.wait_text("#flash", "2").await;
    assert_eq!(b.path().await, "/work-orders");
    let accepted = attrs(&b, "#col-accepted .card", "data-id").await;
    assert!(picks.iter().all(|p| accepted.contains(p)), "{accepted:?}");
    assert!(b
        .client
        .current_url()
        .await
        .unwrap()
        .query()
        .unwrap_or("")
        .contains("UnrealIRCd"));

    // A truncated report is refused with its reason, and nothing of it is kept.
    b.goto(&server.url("/findings")).await;
    let total = number(&b, "#findings-total").await;
    let report = std::fs::read(REPORT).unwrap();
    let broken = evidence.path().join("truncated.xml");
    std::fs::write(&broken, &report[..report.len() / 2]).unwrap();
    upload(&b, &broken.display().to_string(), "openvas-xml").await;
    let refused = b.wait_text("#import-error", "nothing imported").await;
    assert!(refused.contains("报告被拒收"), "{refused}");
    assert_eq!(number(&b, "#findings-total").await, total);
    let imports = analyst.ok("GET", "/api/v1/findings/imports", None).await;
    assert_eq!(imports.as_array().unwrap().len(), imports_before);
    b.sign_out().await;

    // The administrator, not the fixer, passes the retest: closed as fixed.
    b.sign_in(&server, "jn.admin", DEMO_PASSWORD).await;
    b.wait_path("/").await;
    b.goto(&server.url(&order_path)).await;
    b.wait_text("#order-state", "待复测").await;
    b.fill("#act-retest_pass-note", "复扫 512/tcp 已关闭，见附件")
        .await;
    b.click("#act-retest_pass").await;
    b.wait_text("#order-state", "已关闭").await;
    assert!(b.text("#order-resolution").await.contains("复测通过"));
    let history = b.text("#order-history").await;
    for step in [
        "派发",
        "接收",
        "开始整改",
        "申请复测",
        "复测通过",
        "jn.analyst",
        "jn.admin",
    ] {
        assert!(history.contains(step), "{step}: {history}");
    }
    b.find("#act-reopen").await;
    b.click("#order-finding-link").await;
    b.wait_text("#finding-status", "已修复").await;
    // The closed list has it.
    b.goto(&server.url("/work-orders")).await;
    assert!(number(&b, "#orders-closed").await >= 1);
    b.click("#orders-closed-link").await;
    b.wait_text("#closed-table", &label).await;
    assert!(attrs(&b, "tr.order-row", "data-id")
        .await
        .contains(&order_id));

    // The SLA dashboard draws its chart.
    b.click("#nav-sla").await;
    b.wait_path("/work-orders/sla").await;
    b.find("#sla-chart svg").await;
    assert!(number(&b, "#sla-open").await >= raised - 1);
    assert!(number(&b, "#sla-fixed").await >= 1);
    assert!(b.text("#sla-rate").await.ends_with('%'));

    // Settings: a lower level given less time is refused with the reason; then saved.
    b.goto(&server.url("/findings/settings")).await;
    b.fill("#set-sla-2", "5").await;
    b.click("#settings-submit").await;
    b.wait_text("#settings-problems", "sla_days").await;
    assert_eq!(
        b.find("#set-sla-2")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("5"),
        "the form comes back as typed"
    );
    b.fill("#set-sla-2", "60").await;
    b.fill("#set-emails", "soc@jn.gov.cn").await;
    b.click("#settings-submit").await;
    b.wait_text("#flash", "设置已保存").await;
    assert_eq!(
        b.find("#set-sla-2")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("60")
    );
    b.sign_out().await;

    // A viewer reads the queue and the orders but changes nothing. The demo's brute-force
    // story locked jn.viewer; the administrator unlocks it.
    support::unlock_demo_user(&server, "jn.admin", "jn.viewer").await;
    let admin = support::api(&server, "jn.admin", DEMO_PASSWORD).await;
    b.sign_in(&server, "jn.viewer", DEMO_PASSWORD).await;
    b.wait_path("/").await;
    b.click("#nav-findings").await;
    b.wait_path("/findings").await;
    assert!(number(&b, "#findings-total").await >= 43);
    assert!(
        absent(&b, "#import-form").await,
        "a viewer sees the import form"
    );
    b.goto(&server.url(&format!("/work-orders/{}", picks[0])))
        .await;
    b.wait_text("#order-state", "已接收").await;
    for css in [
        "#order-actions",
        "#assign-form",
        "#comment-form",
        "#attach-form",
    ] {
        assert!(absent(&b, css).await, "a viewer sees {css}");
    }
    b.goto(&server.url("/work-orders")).await;
    assert!(absent(&b, "#bulk-controls").await && absent(&b, "input.pick").await);
    b.goto(&server.url("/findings/settings")).await;
    b.find("#settings-readonly").await;
    assert!(absent(&b, "#settings-submit").await);
    let csrf = b
        .find("input[name=_csrf]")
        .await
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    let session = b
        .client
        .get_named_cookie("ys_session")
        .await
        .unwrap()
        .value()
        .to_string();
    let cookie = format!("ys_session={session}");
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let (cookie, csrf, url) = (cookie.clone(), csrf.clone(), server.url(&path));
        async move {
            let mut form = form;
            form.push(("_csrf", csrf));
            client()
                .post(url)
                .header("cookie", cookie)
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let id = picks[0].clone();
    for (path, form) in [
        (
            format!("/work-orders/{id}/action"),
            vec![("action", "start_fix".to_string())],
        ),
        (
            format!("/work-orders/{id}/assign"),
            vec![("assignee", "jn.viewer".into())],
        ),
        (
            format!("/work-orders/{id}/comments"),
            vec![("body", "x".into())],
        ),
        (
            "/work-orders/bulk".into(),
            vec![("ids", id.clone()), ("action", "start_fix".into())],
        ),
        ("/findings/settings".into(), vec![("sla_5", "1".into())]),
    ] {
        assert_eq!(post(path.clone(), form).await, 403, "{path}");
    }
    // Multipart uploads too: an import and an attachment.
    let boundary = "ysboundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.xml\"\r\nContent-Type: text/xml\r\n\r\n<x/>\r\n--{boundary}--\r\n"
    );
    for path in [
        "/findings/import".to_string(),
        format!("/work-orders/{id}/attachments"),
    ] {
        let status = client()
            .post(server.url(&path))
            .header("cookie", &cookie)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body.clone())
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 403, "{path}");
    }
    // Nothing changed.
    let order = admin
        .ok("GET", &format!("/api/v1/work-orders/{id}"), None)
        .await;
    assert_eq!(order["state"], "accepted", "{order}");
    assert_eq!(
        order["history"].as_array().unwrap().len(),
        2,
        "raised and accepted only: {order}"
    );
    let imports = admin.ok("GET", "/api/v1/findings/imports", None).await;
    assert_eq!(imports.as_array().unwrap().len(), imports_before);
}
