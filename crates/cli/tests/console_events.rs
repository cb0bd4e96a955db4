//! Event search in the console, end to end in headless Chromium, over the demo's day of logs.

mod support;

use std::time::{Duration, Instant};
use support::browser::Browser;
use support::{Server, DEMO_PASSWORD};

#[tokio::test]
async fn search_pivot_and_raw_text() {
    let server = Server::demo();
    let b = Browser::start().await;
    b.sign_in(&server, "jn.analyst", DEMO_PASSWORD).await;
    b.wait_path("/").await;
    b.click("#nav-events").await;
    b.wait_path("/events").await;
    // The demo's logs arrive through the pipeline within seconds of the start.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        b.goto(&server.url("/events")).await;
        let total: u64 = b.text("#events-total").await.parse().unwrap();
        if total > 1000 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the demo's events never arrived ({total})"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The brute-forcer's failed logins, by CIDR and field.
    b.fill(
        "#events-q",
        "source.ip:198.51.100.0/24 AND event.outcome:failure",
    )
    .await;
    b.click("#events-search").await;
    let table = b.wait_text("#events-table", "Failed password").await;
    assert!(table.contains("198.51.100.23"), "{table}");
    let total: u64 = b.text("#events-total").await.parse().unwrap();
    assert!(total > 10, "{total}");
    // Pivot from the sidebar: the top user names of these events, some of the names the
    // demo's brute-forcer tries (which lead depends on the hour the demo day ends).
    let fields = b.text("#events-fields").await;
    assert!(
        fields.contains("user.name")
            && ["root", "admin", "oracle", "test", "ubuntu"]
                .iter()
                .any(|u| fields.lines().any(|l| l.starts_with(&format!("{u} ")))),
        "{fields}"
    );
    // Saved for later, then reused from the saved-search bar.
    b.fill("#save-search-name", "暴力破解来源").await;
    b.click("#save-search-submit").await;
    b.wait_text("#saved-searches", "暴力破解来源").await;
    b.goto(&server.url("/events")).await;
    b.find("#saved-searches").await;
    let link = b.find("#saved-searches a[href*='198.51.100.0']").await;
    link.click().await.unwrap();
    b.wait_text("#events-table", "Failed password").await;
    assert_eq!(
        b.find("#events-q")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("source.ip:198.51.100.0/24 AND event.outcome:failure")
    );
    // The export link carries the search (the file itself is checked in event_searches.rs).
    let href = b
        .find("#export-csv")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(
        href.starts_with("/events/export?q=source.ip%3A198.51.100.0"),
        "{href}"
    );
    // A bad query says what is wrong instead of failing.
    b.fill("#events-q", "(user.name:root").await;
    b.click("#events-search").await;
    assert!(b
        .wait_text("#events-error", "missing )")
        .await
        .contains("q:"));
    // Raw text is shown on request (and audited).
    b.goto(&server.url("/events?q=event.dataset:suricata.eve&raw=1"))
        .await;
    b.wait_text("#events-table", "SQL Injection").await;
    let original = b.find("pre.original").await.attr("class").await.unwrap();
    assert_eq!(original.as_deref(), Some("original"));
}
