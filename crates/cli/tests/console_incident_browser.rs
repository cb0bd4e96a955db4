//! End to end in headless Chromium: an analyst takes a demo alert into an incident and
//! drives it through the seven phases — each phase's records through its form — to the
//! archive, whose PDF report is then fetched. Fails (never skips) without Chromium.

mod support;

use fantoccini::Locator;
use std::time::{Duration, Instant};
use support::browser::Browser;
use support::{Server, DEMO_PASSWORD};

/// Picks an option of a `<select>` by its value.
async fn select(b: &Browser, select_css: &str, value: &str) {
    b.find(&format!("{select_css} option[value=\"{value}\"]"))
        .await
        .click()
        .await
        .unwrap();
}

/// Ticks a checkbox if it is not ticked.
async fn tick(b: &Browser, css: &str) {
    let el = b.find(css).await;
    if !el.is_selected().await.unwrap() {
        el.click().await.unwrap();
    }
}

/// Waits until the page no longer lists `needle` among what the phase still needs.
async fn wait_not_missing(b: &Browser, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let listed = match b.client.find(Locator::Css("#missing")).await {
            Ok(el) => el.text().await.unwrap_or_default().contains(needle),
            Err(_) => false,
        };
        if !listed {
            return;
        }
        assert!(Instant::now() < deadline, "{needle:?} is still missing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn next_phase(b: &Browser, zh: &str) {
    b.wait_text("#missing-none", "").await;
    b.click("#phase-next").await;
    b.wait_text("#incident-phase", zh).await;
}

/// A demo alert of jiangning's, once the demo's logs have raised one.
async fn demo_alert(server: &Server) -> String {
    let api = support::api(server, "jn.analyst", DEMO_PASSWORD).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let v = api.ok("GET", "/api/v1/alerts?limit=1", None).await;
        if let Some(id) = v["items"][0]["id"].as_str() {
            return id.to_string();
        }
        assert!(Instant::now() < deadline, "the demo raised no alert");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn an_incident_from_an_alert_to_the_archive() {
    let server = Server::demo();
    let alert = demo_alert(&server).await;
    let b = Browser::start().await;
    b.sign_in(&server, "jn.analyst", DEMO_PASSWORD).await;
    b.wait_path("/").await;

    // From the alert: one click opens the incident in preparation.
    b.goto(&server.url(&format!("/alerts/{alert}"))).await;
    b.click("#incident-from-alert").await;
    b.wait_text("#incident-phase", "准备").await;
    let incident_path = b.path().await;
    assert!(incident_path.starts_with("/incidents/"), "{incident_path}");
    assert!(
        b.text("#links-table").await.len() > 2,
        "the alert is linked"
    );

    // 准备 → 诊断: an owner.
    b.fill("#owner-input", "jn.analyst").await;
    b.click("#owner-submit").await;
    next_phase(&b, "诊断").await;

    // 诊断: moving on without records is refused and says why.
    b.click("#phase-next").await;
    b.wait_text("#flash", "启动响应的决定").await;
    select(&b, "#c-classification", "NA/凭据攻击").await;
    select(&b, "#c-importance", "important").await;
    select(&b, "#c-loss", "serious").await;
    select(&b, "#c-social-harm", "ordinary").await;
    tick(&b, "#c-confirm").await;
    b.click("#classification-submit").await;
    b.wait_text("#incident-level", "较大").await;
    select(&b, "#a-decision", "activate").await;
    b.fill("#a-reason", "源地址在多台主机上登录成功，需要启动响应")
        .await;
    b.fill("#a-contacted", "运维值班员").await;
    b.click("#activation-submit").await;
    next_phase(&b, "抑制").await;

    // 抑制 → 根除 → 恢复 → 跟踪 → 优化, each with its records.
    b.fill("#k-action", "边界防火墙封禁攻击源").await;
    b.fill("#k-target", "fw-border-1").await;
    b.fill("#k-result", "已生效").await;
    b.click("#containment-submit").await;
    next_phase(&b, "根除").await;
    b.fill("#e-root-cause", "运维账户使用弱口令且允许口令登录")
        .await;
    b.fill("#e-weakness", "改为密钥登录并启用堡垒机").await;
    tick(&b, "#e-fixed").await;
    b.click("#eradication-submit").await;
    next_phase(&b, "恢复").await;
    b.fill("#r-systems", "jump-host-01").await;
    tick(&b, "#r-integrity").await;
    tick(&b, "#r-availability").await;
    b.fill("#r-note", "按基线重装并比对文件哈希").await;
    b.click("#recovery-submit").await;
    next_phase(&b, "跟踪").await;
    b.fill("#t-days", "7").await;
    b.fill("#t-observations", "七天内未再出现该来源的登录尝试")
        .await;
    b.click("#tracking-submit").await;
    next_phase(&b, "优化").await;

    // 优化: lessons, an improvement item closed with what changed, then the archive.
    b.fill("#o-lessons", "跳板机禁止口令登录；暴力破解检测阈值下调")
        .await;
    b.click("#optimization-submit").await;
    wait_not_missing(&b, "经验教训").await;
    b.fill(
        "#improvement-form input[name=title]",
        "下调 SSH 暴力破解检测阈值",
    )
    .await;
    b.click("#improvement-form button").await;
    b.wait_text("#improvements-table", "下调 SSH 暴力破解检测阈值")
        .await;
    b.fill(
        "#improvements-table input[name=link]",
        "yunshou-ssh-bruteforce",
    )
    .await;
    b.fill(
        "#improvements-table input[name=resolution]",
        "阈值由 20 次改为 10 次",
    )
    .await;
    b.click("#improvements-table button").await;
    b.wait_text("#missing-none", "").await;
    b.click("#archive-submit").await;
    // The console asks for confirmation: archiving cannot be undone.
    let deadline = Instant::now() + Duration::from_secs(5);
    while b.client.accept_alert().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "no confirmation asked before archiving"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while !b.text("#incident-status").await.contains("已归档") {
        let flash = match b.client.find(Locator::Css("#flash")).await {
            Ok(f) => f.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        assert!(Instant::now() < deadline, "not archived: {flash}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Read-only: no forms left; the frozen report is offered.
    assert!(b.client.find(Locator::Css("#phase-form")).await.is_err());
    assert!(b.client.find(Locator::Css("#evidence-form")).await.is_err());
    let href = b
        .find("#archive-pdf")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let token = support::login(&server, "jn.analyst", DEMO_PASSWORD).await;
    let r = support::client()
        .get(server.url(&href))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF"));
}
