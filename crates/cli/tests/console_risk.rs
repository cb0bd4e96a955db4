//! The threat catalog and the risk register in the console, end to end in headless Chromium
//! over the demo: the catalog with computed frequencies, a threat added, a risk registered
//! and treated, the heat map, the analysis report; an auditor reads without forms.

mod support;

use support::browser::Browser;
use support::{Server, DEMO_PASSWORD};

#[tokio::test]
async fn threats_and_the_risk_register_in_the_console() {
    let server = Server::demo();
    let b = Browser::start().await;
    b.sign_in(&server, "jn.analyst", DEMO_PASSWORD).await;
    b.wait_path("/").await;

    // The demo's catalog, then a threat of our own.
    b.click("#nav-threats").await;
    b.wait_path("/threats").await;
    assert_eq!(b.text("#threats-total").await, "8");
    b.fill("#threat-name", "供应链投毒").await;
    b.click("#threat-source option[value='human']").await;
    b.click("#threat-kind option[value='malicious_code']").await;
    b.click("#threat-agent option[value='organised_group']")
        .await;
    b.fill("#threat-techniques", "T1195, t1195.002").await;
    b.click("#threat-submit").await;
    b.wait_text("#threats-table", "供应链投毒").await;
    assert_eq!(b.text("#threats-total").await, "9");
    let table = b.text("#threats-table").await;
    assert!(table.contains("T1195.002"), "{table}");
    // A bad technique id is refused with the reason, nothing added.
    b.fill("#threat-name", "坏数据").await;
    b.fill("#threat-techniques", "1195").await;
    b.click("#threat-submit").await;
    b.wait_text(".flash", "techniques").await;
    assert_eq!(b.text("#threats-total").await, "9");

    // The register: the demo's risks, the heat map, a new risk, its treatment.
    b.click("#nav-risks").await;
    b.wait_path("/risks").await;
    b.find("#risk-heatmap svg").await;
    b.find("#risk-trend svg").await;
    let before: usize = b.text("#risks-total").await.parse().unwrap();
    assert!(before >= 5, "{before}");
    b.click("#risk-asset option:nth-child(2)").await;
    b.click("#risk-threat option:nth-child(2)").await;
    b.fill("#risk-vulnerability", "核心交换机配置未定期备份")
        .await;
    b.fill("#risk-vlevel", "4").await;
    b.click("#risk-submit").await;
    b.wait_text("#risks-table", "核心交换机配置未定期备份")
        .await;
    assert_eq!(b.text("#risks-total").await, (before + 1).to_string());
    b.click("tr.risk-row:last-child a.risk-edit").await;
    b.find("#risk-treat-form").await;
    b.click("#risk-treatment option[value='reduce']").await;
    b.fill("#risk-owner", "网络组 王强").await;
    b.click("#risk-residual option[value='2']").await;
    b.click("#risk-status option[value='treating']").await;
    b.click("#risk-treat-submit").await;
    b.wait_path("/risks").await;
    b.wait_text("#risks-table", "网络组 王强").await;

    // The analysis report opens as a page of its own, with its charts.
    b.goto(&server.url("/risks/report?days=30")).await;
    b.wait_text("#report-title", "分析报告").await;
    b.find("#report-risks").await;
    let html = b.client.source().await.unwrap();
    assert!(
        html.contains("核心交换机配置未定期备份") && html.contains("<svg"),
        "report"
    );

    // An auditor reads the register but has no forms.
    b.goto(&server.url("/risks")).await;
    b.sign_out().await;
    b.sign_in(&server, "jn.auditor", DEMO_PASSWORD).await;
    b.wait_path("/").await;
    b.goto(&server.url("/risks")).await;
    b.find("#risks-table").await;
    assert!(b
        .client
        .find(fantoccini::Locator::Css("#risk-form"))
        .await
        .is_err());
    b.goto(&server.url("/threats")).await;
    assert!(b
        .client
        .find(fantoccini::Locator::Css("#threat-form"))
        .await
        .is_err());
}
