//! Detection in the console, end to end in headless Chromium over the demo: alerts raised
//! from the demo's logs (by a test rule given with --rules, beside yunshou's pack and
//! SigmaHQ's rules when they sit beside the clone), triaged and commented; rules listed,
//! tested and switched off; an intelligence feed imported; a viewer kept out.

mod support;

use std::time::{Duration, Instant};
use support::browser::Browser;
use support::{client, Server, DEMO_PASSWORD};

/// The test rule's id and title.
const RULE_ID: &str = "6f1c2f8e-3b7a-4c1d-9e2f-5a8b7c6d4e3f";
const RULE_TITLE: &str = "Console test: SSH password failure from the brute-forcer";
const RULE_AUTHOR: &str = "yunshou console test";

/// A Sigma rule matching the demo's SSH brute force (ECS `linux.auth` events).
fn rule_yaml() -> String {
    format!(
        r#"title: '{RULE_TITLE}'
id: {RULE_ID}
status: test
description: Failed SSH passwords from 198.51.100.23, the demo's brute-forcer.
author: {RULE_AUTHOR}
date: 2026-01-01
tags:
    - attack.credential-access
    - attack.t1110.001
logsource:
    product: linux
    service: sshd
detection:
    selection:
        message|contains: 'Failed password'
        src_ip: '198.51.100.23'
    condition: selection
falsepositives:
    - An administrator mistyping from that address
level: high
"#
    )
}

/// An event the rule matches, as the ingest pipeline would store it.
const POSITIVE: &str = r#"{"@timestamp":"2026-05-01T08:00:00Z","event":{"dataset":"linux.auth","category":["authentication"],"outcome":"failure","action":"ssh_login"},"host":{"hostname":"jump01"},"process":{"name":"sshd"},"source":{"ip":"198.51.100.23","port":52211},"user":{"name":"root"},"message":"Failed password for root from 198.51.100.23 port 52211 ssh2"}"#;

/// The SigmaHQ rules the demo uses when they sit beside the clone (`../shared`).
fn sigmahq() -> Option<String> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/sigma/rules"
    );
    std::path::Path::new(dir).is_dir().then(|| dir.to_string())
}

/// Reloads `path` until `css`'s text, a number, is at least `min`.
async fn wait_count(b: &Browser, url: &str, css: &str, min: u64, what: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        b.goto(url).await;
        let n: u64 = b.text(css).await.trim().parse().unwrap();
        if n >= min {
            return n;
        }
        assert!(Instant::now() < deadline, "{what}: {n}, want ≥ {min}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Picks `value` in the `<select>` at `css`.
async fn select(b: &Browser, css: &str, value: &str) {
    b.click(&format!("{css} option[value='{value}']")).await;
}

/// Every element's attribute `attr` under `css`.
async fn attrs(b: &Browser, css: &str, attr: &str) -> Vec<String> {
    let mut out = vec![];
    for el in b
        .client
        .find_all(fantoccini::Locator::Css(css))
        .await
        .unwrap()
    {
        out.push(el.attr(attr).await.unwrap().unwrap_or_default());
    }
    out
}

#[tokio::test]
async fn alerts_rules_and_intel_in_the_console() {
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(rules.path().join("console_test.yml"), rule_yaml()).unwrap();
    let rules_dir = rules.path().display().to_string();
    let mut args = vec!["--rules", rules_dir.as_str()];
    let sigma = sigmahq();
    if let Some(dir) = &sigma {
        args.extend(["--rules", dir.as_str()]);
    }
    let server = Server::start_with(true, &args);
    let b = Browser::start().await;

    // The analyst's alerts: the demo's brute force raises the test rule's alert.
    b.sign_in(&server, "jn.analyst", DEMO_PASSWORD).await;
    b.wait_path("/").await;
    b.find("#open-alerts").await;
    b.click("#nav-alerts").await;
    b.wait_path("/alerts").await;
    let filtered = server.url(&format!("/alerts?status=open&rule={RULE_ID}"));
    wait_count(&b, &filtered, "#alerts-total", 1, "test rule's alerts").await;
    // Filter by severity too: only high and critical remain, the test rule's alert among
    // them (the rule filter keeps it on the first page beside the pack's many alerts).
    b.goto(&server.url(&format!("/alerts?rule={RULE_ID}")))
        .await;
    select(&b, "#f-severity", "high").await;
    b.click("#alerts-filter").await;
    b.wait_text("#alerts-table", RULE_TITLE).await;
    let url = b.client.current_url().await.unwrap();
    assert!(url.query().unwrap_or("").contains("severity=high"), "{url}");
    let severities = attrs(&b, "tr.alert-row", "data-severity").await;
    assert!(!severities.is_empty());
    assert!(
        severities.iter().all(|s| s == "high" || s == "critical"),
        "{severities:?}"
    );
    let table = b.text("#alerts-table").await;
    assert!(
        table.contains(RULE_AUTHOR),
        "the rule's author is shown: {table}"
    );
    assert!(table.contains("198.51.100.23"), "{table}");
    assert!(table.contains("credential-access"), "{table}");
    // Too high a bar leaves nothing of the test rule's.
    b.goto(&server.url(&format!("/alerts?severity=critical&rule={RULE_ID}")))
        .await;
    assert_eq!(b.text("#alerts-total").await, "0");
    // A bad time is reported, not a crash.
    b.goto(&server.url("/alerts?from=yesterday")).await;
    assert!(b.text("#alerts-error").await.contains("from"));

    // Open the alert: facts, author, events with pivots.
    b.goto(&filtered).await;
    b.click("a.alert-link").await;
    b.wait_text("#alert-title", RULE_TITLE).await;
    let alert_path = b.path().await;
    let alert_id = alert_path.trim_start_matches("/alerts/").to_string();
    assert_eq!(b.text("#alert-author").await, RULE_AUTHOR);
    assert_eq!(b.text("#alert-status").await, "新告警");
    let events = b.text("#alert-events").await;
    assert!(events.contains("Failed password"), "{events}");
    let pivots = attrs(&b, "#alert-events a.pivot", "href").await;
    assert!(
        pivots
            .iter()
            .any(|h| h.starts_with("/events?q=source.ip%3A%22198.51.100.23%22")),
        "{pivots:?}"
    );
    // Acknowledge, then comment.
    b.click("#ack").await;
    b.wait_text("#flash", "告警状态已更新").await;
    assert_eq!(b.text("#alert-status").await, "已确认");
    b.fill("#comment-body", "来源 198.51.100.23 已在边界封禁。")
        .await;
    b.click("#comment-submit").await;
    b.wait_text("#alert-comments", "已在边界封禁").await;
    assert!(b.text("#alert-comments").await.contains("jn.analyst"));
    // An unknown assignee is refused with a message, not an error page.
    b.fill("#assign-user", "nobody.here").await;
    b.click("#assign").await;
    b.wait_text("#flash", "nobody.here").await;
    assert_eq!(b.text("#alert-assignee").await, "—");
    // Suppress the rule for the brute-forcer (the form is prefilled with its address), see
    // it on the settings page, end it.
    assert_eq!(
        b.find("#suppress-value")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("198.51.100.23")
    );
    b.click("#suppress-submit").await; // no reason: the browser keeps the form
    assert_eq!(b.path().await, alert_path);
    b.fill("#suppress-reason", "渗透测试授权来源").await;
    b.click("#suppress-submit").await;
    b.wait_text("#flash", "抑制已添加").await;
    b.click("#nav-alerts").await;
    b.click("#alerts-settings").await;
    let table = b.wait_text("#suppressions-table", "渗透测试授权来源").await;
    assert!(
        table.contains("198.51.100.23") && table.contains(RULE_ID),
        "{table}"
    );
    assert!(
        b.client
            .find(fantoccini::Locator::Css("#webhook-form"))
            .await
            .is_err(),
        "webhooks are for those who manage rules"
    );
    b.click("button.end-suppression").await;
    b.client.accept_alert().await.unwrap();
    b.wait_text("#flash", "抑制已结束").await;
    assert!(b.text("#suppressions-table").await.contains("已到期"));
    // The list shows the new state.
    b.goto(&server.url(&format!("/alerts?status=acknowledged&rule={RULE_ID}")))
        .await;
    assert!(b.text("#alerts-table").await.contains("已确认"));
    assert!(attrs(&b, "tr.alert-row", "data-id")
        .await
        .contains(&alert_id));

    // Rules: filter, open, test with a pasted event.
    b.click("#nav-rules").await;
    b.wait_path("/rules").await;
    let all: u64 = b.text("#rules-total").await.parse().unwrap();
    b.fill("#r-q", "brute-forcer").await;
    b.fill("#r-tactic", "credential-access").await;
    b.click("#rules-filter").await;
    b.wait_text("#rules-table", RULE_TITLE).await;
    assert_eq!(b.text("#rules-total").await, "1");
    assert!(all > 1, "{all}");
    assert!(b.text("#rules-table").await.contains(RULE_AUTHOR));
    b.click("a.rule-link").await;
    b.wait_text("#rule-title", RULE_TITLE).await;
    let source = b.text("#rule-source").await;
    assert!(source.contains("src_ip: 198.51.100.23"), "{source}");
    assert!(b.text("#rule-facts").await.contains("brute-forcer"));
    // The analyst may test but not switch rules.
    assert!(b
        .client
        .find(fantoccini::Locator::Css("#rule-switch"))
        .await
        .is_err());
    b.fill("#test-events", POSITIVE).await;
    b.click("#test-submit").await;
    let summary = b.wait_text("#test-summary", "1").await;
    assert!(summary.contains("1 条事件已测试"), "{summary}");
    assert!(b.text("#test-matches").await.contains("198.51.100.23"));
    // Not a match; then not JSON.
    b.fill(
        "#test-events",
        &POSITIVE.replace("198.51.100.23", "10.20.3.17"),
    )
    .await;
    b.click("#test-submit").await;
    b.wait_text("#test-nomatch", "未命中").await;
    b.fill("#test-events", &format!("{POSITIVE}\n{{not json"))
        .await;
    b.click("#test-submit").await;
    b.wait_text("#test-error", "line 2").await;
    b.sign_out().await;

    // The administrator switches the rule off for the tenant.
    b.sign_in(&server, "jn.admin", DEMO_PASSWORD).await;
    b.wait_path("/").await;
    b.goto(&server.url("/rules?q=brute-forcer")).await;
    b.wait_text("#rules-table", RULE_TITLE).await;
    assert_eq!(
        attrs(&b, "tr.rule-row", "data-enabled").await,
        vec!["true".to_string()]
    );
    b.click("button.rule-switch").await;
    b.wait_text("#flash", "规则已在本租户停用").await;
    assert_eq!(b.path().await, "/rules");
    assert_eq!(
        attrs(&b, "tr.rule-row", "data-enabled").await,
        vec!["false".to_string()]
    );
    b.goto(&server.url("/rules?status=disabled")).await;
    assert_eq!(b.text("#rules-total").await, "1");
    assert!(b.text("#rules-table").await.contains("已停用"));
    b.goto(&server.url(&format!("/rules/{RULE_ID}"))).await;
    assert_eq!(b.text("#rule-state").await, "已停用");

    // An alert webhook added and removed.
    b.goto(&server.url("/alerts/settings")).await;
    b.fill("#webhook-url", "https://soc.example.cn/hooks/yunshou")
        .await;
    select(&b, "#webhook-severity", "high").await;
    b.click("#webhook-submit").await;
    b.wait_text("#flash", "Webhook 已添加").await;
    assert!(b
        .text("#webhooks-table")
        .await
        .contains("https://soc.example.cn/hooks/yunshou"));
    b.click("#webhooks-table button").await;
    b.client.accept_alert().await.unwrap();
    b.wait_text("#flash", "Webhook 已删除").await;
    b.find("#webhooks-none").await;

    // A CSV feed imported on /intel.
    b.click("#nav-intel").await;
    b.wait_path("/intel").await;
    let feed = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        feed.path(),
        "value,description\n203.0.113.77,C2 server\nevil.example.net,phishing domain\n198.51.100.23,SSH brute-forcer\n\"not an indicator !\",junk\n",
    )
    .unwrap();
    b.fill("#feed-name", "console-test-feed").await;
    select(&b, "#feed-format", "csv").await;
    b.find("#feed-file")
        .await
        .send_keys(&feed.path().display().to_string())
        .await
        .unwrap();
    b.click("#feed-submit").await;
    b.wait_text("#import-result", "console-test-feed").await;
    assert_eq!(b.text("#import-indicators").await, "3");
    assert_eq!(b.text("#import-rejected").await, "1");
    assert!(b.text("#import-rejects").await.contains("line 5"));
    let row = b
        .text("#feeds-table tr.feed-row[data-name='console-test-feed']")
        .await;
    assert!(row.contains("csv") && row.contains(" 3 "), "{row}");
    // A file that is not a feed is refused in the form.
    std::fs::write(feed.path(), "no,header,here\n").unwrap();
    b.fill("#feed-name", "broken").await;
    b.find("#feed-file")
        .await
        .send_keys(&feed.path().display().to_string())
        .await
        .unwrap();
    b.click("#feed-submit").await;
    b.wait_text("#intel-error", "nothing imported").await;

    // A rule directory imported on /rules/sets: refused whole with its reasons while one
    // file is broken, then imported and listed among the tenant's rules.
    b.goto(&server.url("/rules")).await;
    b.click("#rule-sets-link").await;
    b.wait_path("/rules/sets").await;
    // The demo's own set is there already.
    b.find("#sets-table tr.set-row[data-name='本单位审计规则']")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("bastion_probe.yml");
    let broken = dir.path().join("broken.yml");
    std::fs::write(
        &good,
        "title: Console set probe\nid: 0d6f3b1a-4c2e-4e8b-9f7a-1b2c3d4e5f60\nlevel: medium\nauthor: console test\nlogsource: {product: linux, service: sshd}\ndetection:\n  sel: {message|contains: console-set-probe}\n  condition: sel\n",
    )
    .unwrap();
    std::fs::write(&broken, "title: broken\ndetection: [\n").unwrap();
    let both = format!("{}\n{}", good.display(), broken.display());
    b.fill("#rset-name", "值班规则").await;
    b.find("#rset-files").await.send_keys(&both).await.unwrap();
    b.click("#rset-submit").await;
    b.wait_text("#rset-problems", "broken.yml").await;
    assert_eq!(b.text("#sets-total").await, "1", "nothing kept");
    b.fill("#rset-name", "值班规则").await;
    b.find("#rset-files")
        .await
        .send_keys(&good.display().to_string())
        .await
        .unwrap();
    b.click("#rset-submit").await;
    b.wait_text("#rset-result", "值班规则").await;
    assert_eq!(b.text("#rset-rules").await, "1");
    b.find("#sets-table tr.set-row[data-name='值班规则']").await;
    b.goto(&server.url("/rules?q=Console%20set%20probe")).await;
    assert_eq!(b.text("#rules-total").await, "1");
    b.sign_out().await;

    // A viewer reads alerts but has no manage buttons and is refused a manage POST. The
    // demo's brute-force story locked jn.viewer; the tenant's administrator unlocks it.
    support::unlock_demo_user(&server, "jn.admin", "jn.viewer").await;
    b.sign_in(&server, "jn.viewer", DEMO_PASSWORD).await;
    b.wait_path("/").await;
    b.click("#nav-alerts").await;
    b.wait_path("/alerts").await;
    let nav = b.text("nav.side").await;
    assert!(
        nav.contains("威胁情报") && !nav.contains("检测规则"),
        "{nav}"
    );
    b.goto(&server.url(&alert_path)).await;
    b.wait_text("#alert-title", RULE_TITLE).await;
    assert!(b.text("#alert-comments").await.contains("已在边界封禁"));
    for css in ["#alert-actions", "#comment-form", "#suppress-form", "#ack"] {
        assert!(
            b.client.find(fantoccini::Locator::Css(css)).await.is_err(),
            "a viewer sees {css}"
        );
    }
    b.goto(&server.url(&format!("/rules/{RULE_ID}"))).await;
    assert!(b.text("main").await.contains("您的角色无权执行此操作"));
    b.goto(&server.url("/intel")).await;
    assert!(b.text("#feeds-table").await.contains("console-test-feed"));
    assert!(b
        .client
        .find(fantoccini::Locator::Css("#intel-form"))
        .await
        .is_err());
    b.goto(&server.url("/alerts/settings")).await;
    b.find("h1").await;
    assert!(b
        .client
        .find(fantoccini::Locator::Css("#webhook-form"))
        .await
        .is_err());
    // The viewer's own session and CSRF token, used outside the page.
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
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let (session, csrf, url) = (session.clone(), csrf.clone(), server.url(&path));
        async move {
            let mut form = form;
            form.push(("_csrf", csrf));
            client()
                .post(url)
                .header("cookie", format!("ys_session={session}"))
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let status = post(
        format!("/alerts/{alert_id}/status"),
        vec![("status", "closed".into()), ("resolution", "benign".into())],
    )
    .await;
    assert_eq!(status, 403);
    let status = post(
        format!("/alerts/{alert_id}/comments"),
        vec![("body", "x".into())],
    )
    .await;
    assert_eq!(status, 403);
    let status = post(
        format!("/rules/{RULE_ID}/enabled"),
        vec![("enabled", "true".into())],
    )
    .await;
    assert_eq!(status, 403);
    // Nothing changed: the alert is still acknowledged, the rule still off.
    let analyst = support::api(&server, "jn.analyst", DEMO_PASSWORD).await;
    let alert = analyst
        .ok("GET", &format!("/api/v1/alerts/{alert_id}"), None)
        .await;
    assert_eq!(alert["status"], "acknowledged", "{alert}");
    assert_eq!(alert["comments"].as_array().unwrap().len(), 1);
    // A wrong CSRF token is refused before anything else.
    let wrong = client()
        .post(server.url(&format!("/alerts/{alert_id}/status")))
        .header("cookie", format!("ys_session={session}"))
        .form(&[("_csrf", "wrong"), ("status", "acknowledged")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
}
