//! The asset ledger in the console, end to end in headless Chromium (I.1): search, edit,
//! history, the relations graph, approving a held change, saving a query.

mod support;

use fantoccini::Locator;
use std::time::{Duration, Instant};
use support::browser::Browser;
use support::{Server, DEMO_PASSWORD};

/// Texts of every element matching `css`; empty while the page is being replaced (the
/// elements found go stale), so callers poll.
async fn texts(b: &Browser, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(elements) = b.client.find_all(Locator::Css(css)).await else {
        return out;
    };
    for el in elements {
        match el.text().await {
            Ok(t) => out.push(t),
            Err(_) => return Vec::new(),
        }
    }
    out
}

/// Waits until the ledger table lists only names containing `needle` (and at least one).
async fn wait_rows(b: &Browser, needle: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let names = texts(b, "#asset-table tbody tr td:nth-child(2) a").await;
        if !names.is_empty() && names.iter().all(|n| n.contains(needle)) {
            return names;
        }
        assert!(
            Instant::now() < deadline,
            "the ledger never showed only {needle}: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn search_edit_history_and_graph() {
    let server = Server::demo();
    let b = Browser::start().await;
    b.sign_in(&server, "jn.owner", DEMO_PASSWORD).await;
    b.wait_path("/").await;
    b.click("#nav-assets").await;
    b.wait_path("/assets").await;
    // Search by free text, then by CIDR.
    b.fill("#filter-q", "zwfw-db").await;
    b.click("#asset-search").await;
    let names = wait_rows(&b, "zwfw-db-").await;
    assert!(names.len() >= 2, "{names:?}");
    b.fill("#filter-q", "").await;
    b.fill("#filter-ip", "10.20.250.0/24").await;
    b.click("#asset-search").await;
    let names = wait_rows(&b, "sec-").await;
    assert_eq!(
        names.len(),
        10,
        "the ten shared security devices: {names:?}"
    );
    // Open an application server and edit it.
    b.goto(&server.url("/assets?q=zwfw-app-01")).await;
    wait_rows(&b, "zwfw-app-01").await;
    b.click("#asset-table tbody tr td:nth-child(2) a").await;
    b.wait_text("h1", "zwfw-app-01").await;
    let asset_path = b.path().await;
    b.click("#edit-asset").await;
    b.wait_path(&format!("{asset_path}/edit")).await;
    b.fill("#asset-os", "openEuler 22.03 LTS SP3").await;
    b.click("#asset-save").await;
    b.wait_path(&asset_path).await;
    b.wait_text("#asset-os", "openEuler 22.03 LTS SP3").await;
    // The change is in the asset's history, before → after.
    let history = b.wait_text("#asset-history", "openEuler").await;
    assert!(
        history.contains("麒麟 V10 SP3 → openEuler 22.03 LTS SP3"),
        "{history}"
    );
    // The relations graph is drawn: the centre, its neighbours, and links to them.
    let nodes = b
        .client
        .find_all(Locator::Css("#relation-graph svg g.node circle"))
        .await
        .unwrap();
    assert!(nodes.len() >= 4, "the app server has neighbours");
    let relations = texts(&b, "#relation-table tbody tr").await;
    assert!(relations
        .iter()
        .any(|r| r.contains("属于业务系统") && r.contains("江宁政务服务网")));
    // The full graph, two hops out, has more.
    b.click("#graph-link").await;
    b.wait_path(&format!("{asset_path}/graph")).await;
    let wide = b
        .client
        .find_all(Locator::Css("#relation-graph svg g.node"))
        .await
        .unwrap();
    assert!(wide.len() > nodes.len(), "{} ≤ {}", wide.len(), nodes.len());
    // Adding a relation by name.
    b.goto(&server.url(&asset_path)).await;
    b.fill("#relation-target", "sec-waf-01").await;
    b.click("#relation-submit").await;
    b.wait_text("#relation-table", "sec-waf-01").await;
}

#[tokio::test]
async fn approve_a_held_change_and_save_a_query() {
    let server = Server::demo();
    let b = Browser::start().await;
    b.sign_in(&server, "jn.admin", DEMO_PASSWORD).await;
    b.wait_path("/").await;
    b.click("#nav-change-alerts").await;
    b.wait_path("/assets/alerts").await;
    // The demo leaves one exposure request waiting; open it and approve it.
    b.click("#alert-table tbody tr td:first-child a").await;
    b.wait_text("#alert-status", "待审批").await;
    let diff = b.text("#alert-diff").await;
    assert!(diff.contains("8443"), "{diff}");
    b.fill("#decision-note", "已限制源地址").await;
    b.click("#approve").await;
    b.wait_text("#alert-status", "已批准").await;
    assert!(b.text("#alert-decided-by").await.contains("jn.admin"));
    // Save the current ledger filter as a shared query; it appears in the list.
    b.goto(&server.url("/assets?port=8443&exposure=internet"))
        .await;
    b.fill("#save-query-name", "8443 公网").await;
    b.click("#save-query-submit").await;
    b.wait_text("#saved-queries", "8443 公网").await;
    b.client
        .find(Locator::LinkText("8443 公网"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let names = wait_rows(&b, "-web-").await;
    assert_eq!(
        names.len(),
        2,
        "both exposure requests are approved now: {names:?}"
    );
}
