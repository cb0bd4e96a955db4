//! End-to-end tests of the web console in headless Chromium, driven through chromedriver.
//! They fail — never skip — when Chromium or chromedriver is missing.

mod support;

use fantoccini::Locator;
use std::time::{Duration, Instant};
use support::browser::Browser;
use support::{Server, ADMIN_PASSWORD, DEMO_PASSWORD};

/// Sign-in lands on the dashboard; sign-out ends the session.
#[tokio::test]
async fn console_login_dashboard_and_logout() {
    let server = Server::start();
    let b = Browser::start().await;
    b.sign_in(&server, "admin", ADMIN_PASSWORD).await;
    b.wait_path("/").await;
    assert!(b.text("#current-user").await.contains("admin"));
    assert_eq!(b.text("#my-roles").await, "管理员");
    b.sign_out().await;
    b.goto(&server.url("/users")).await;
    b.wait_path("/login").await;
}

/// A wrong password shows a message and stays on the sign-in page.
#[tokio::test]
async fn console_wrong_password_message() {
    let server = Server::start();
    let b = Browser::start().await;
    b.sign_in(&server, "admin", "Wrong-Passw0rd-1").await;
    assert!(b.text("#login-error").await.contains("用户名或密码错误"));
    assert_eq!(b.path().await, "/login");
}

/// After five failures the account is locked: the sixth attempt, with the right password,
/// fails with a message that says so (等保 identity b).
#[tokio::test]
async fn console_lockout_message() {
    let server = Server::start();
    let b = Browser::start().await;
    for i in 1..=5 {
        b.sign_in(&server, "admin", "Wrong-Passw0rd-1").await;
        let msg = b.text("#login-error").await;
        assert_eq!(msg.contains("已被锁定"), i == 5, "attempt {i}: {msg}");
    }
    b.sign_in(&server, "admin", ADMIN_PASSWORD).await;
    assert!(b.text("#login-error").await.contains("账户已锁定"));
    assert_eq!(b.path().await, "/login");
}

/// zh-CN by default; the switch turns every page English and back.
#[tokio::test]
async fn console_language_switch() {
    let server = Server::start();
    let b = Browser::start().await;
    b.goto(&server.url("/login")).await;
    assert_eq!(b.html_lang().await, "zh-CN");
    assert_eq!(b.text("#login-submit").await, "登录");
    b.click("#lang-switch").await;
    b.wait_lang("en").await;
    assert_eq!(b.text("#login-submit").await, "Sign in");
    b.sign_in(&server, "admin", "Wrong-Passw0rd-1").await;
    assert!(b
        .text("#login-error")
        .await
        .contains("Wrong username or password"));
    b.sign_in(&server, "admin", ADMIN_PASSWORD).await;
    b.wait_path("/").await;
    assert_eq!(b.text("#my-roles").await, "Administrator");
    b.click("#lang-switch").await;
    b.wait_lang("zh-CN").await;
    assert_eq!(b.text("#my-roles").await, "管理员");
}

/// An administrator creates a user in the console; the new user can sign in.
#[tokio::test]
async fn console_create_user() {
    let server = Server::start();
    let b = Browser::start().await;
    b.sign_in(&server, "admin", ADMIN_PASSWORD).await;
    b.wait_path("/").await;
    b.click("#nav-users").await;
    b.wait_path("/users").await;
    b.fill("#new-username", "zhou.hui").await;
    b.fill("#new-display-name", "周慧").await;
    b.fill("#new-password", "Zhou-Passw0rd-2026").await;
    b.find("#new-role option[value='auditor']")
        .await
        .click()
        .await
        .unwrap();
    b.click("#create-user-submit").await;
    assert_eq!(b.text("#flash").await, "用户已创建。");
    assert_eq!(b.text("#user-roles").await, "审计员");
    b.click("#nav-users").await;
    assert!(b.text("#users-table").await.contains("zhou.hui"));
    b.sign_out().await;
    b.sign_in(&server, "zhou.hui", "Zhou-Passw0rd-2026").await;
    b.wait_path("/").await;
    assert_eq!(b.text("#my-roles").await, "审计员");
    // A weak password is refused with the reason, and nothing is created.
    b.sign_out().await;
    b.sign_in(&server, "admin", ADMIN_PASSWORD).await;
    b.wait_path("/").await;
    b.goto(&server.url("/users")).await;
    b.fill("#new-username", "weak.user").await;
    b.fill("#new-display-name", "Weak").await;
    b.fill("#new-password", "alllowercase").await;
    b.click("#create-user-submit").await;
    assert!(b.text("#flash").await.contains("3 of"));
    assert!(!b.text("#users-table").await.contains("weak.user"));
}

/// Provider staff switch tenants in the console; each tenant shows only its own users (M.c).
#[tokio::test]
async fn console_switch_tenant() {
    let server = Server::demo();
    let b = Browser::start().await;
    b.sign_in(&server, "admin", ADMIN_PASSWORD).await;
    b.wait_path("/").await;
    b.switch_tenant("jiangning-dsj", "江宁市大数据管理局").await;
    assert_eq!(b.text("h1 small").await, "江宁市大数据管理局");
    b.goto(&server.url("/users")).await;
    assert!(b.text("#users-table").await.contains("jn.admin"));
    b.switch_tenant("default", "平台运营方").await;
    b.goto(&server.url("/users")).await;
    let users = b.text("#users-table").await;
    assert!(
        !users.contains("jn.admin") && users.contains("chen.jing"),
        "{users}"
    );
    // The demo's locked account: the right password is refused with the lockout message.
    b.sign_out().await;
    b.sign_in(&server, "jn.viewer", DEMO_PASSWORD).await;
    assert!(b.text("#login-error").await.contains("账户已锁定"));
}

/// Auditors browse, filter, verify and export the audit trail.
#[tokio::test]
async fn console_audit_viewer() {
    let server = Server::demo();
    let b = Browser::start().await;
    b.sign_in(&server, "jn.auditor", DEMO_PASSWORD).await;
    b.wait_path("/").await;
    b.click("#nav-audit").await;
    b.wait_path("/audit").await;
    // The demo's ledger work is there (filtered: later demo work fills the first page).
    b.fill("#audit-filter input[name='actor']", "jn.owner")
        .await;
    b.find("#audit-filter button").await.click().await.unwrap();
    b.wait_text("#audit-table", "jn.owner").await;
    b.fill("#audit-filter input[name='actor']", "jn.viewer")
        .await;
    b.find("#audit-filter select[name='outcome'] option[value='failure']")
        .await
        .click()
        .await
        .unwrap();
    b.find("#audit-filter button").await.click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !b
        .client
        .current_url()
        .await
        .unwrap()
        .query()
        .unwrap_or("")
        .contains("outcome=failure")
    {
        assert!(Instant::now() < deadline, "the filter did not apply");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows = b
        .client
        .find_all(Locator::Css("#audit-table tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 5, "five failed sign-ins by jn.viewer");
    b.click("#verify-chain").await;
    let verdict = b.text("#verify-result").await;
    assert!(verdict.contains("哈希链完整"), "{verdict}");
    assert!(b
        .find("#export-csv")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap()
        .contains("format=csv"));
    // Users other than administrators and auditors do not see the audit menu.
    b.sign_out().await;
    b.sign_in(&server, "jn.analyst", DEMO_PASSWORD).await;
    b.wait_path("/").await;
    assert!(b.client.find(Locator::Css("#nav-audit")).await.is_err());
    b.goto(&server.url("/audit")).await;
    assert!(b.text("#error-message").await.contains("无权"));
}

/// Tokens are made in the console and shown once; the page source carries no inline script
/// and the CSP forbids it.
#[tokio::test]
async fn console_tokens_and_csp() {
    let server = Server::start();
    let b = Browser::start().await;
    b.sign_in(&server, "admin", ADMIN_PASSWORD).await;
    b.wait_path("/").await;
    b.click("#nav-tokens").await;
    b.fill("#create-token input[name='name']", "巡检脚本").await;
    b.find("#create-token button").await.click().await.unwrap();
    let token = b.text("#new-token").await;
    assert!(token.starts_with("ysk_"), "{token}");
    let me = support::client()
        .get(server.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    b.goto(&server.url("/tokens")).await;
    assert!(
        !b.client.source().await.unwrap().contains(&token),
        "the secret is shown once"
    );

    for path in [
        "/", "/users", "/audit", "/tokens", "/tenants", "/roles", "/account",
    ] {
        b.goto(&server.url(path)).await;
        let html = b.client.source().await.unwrap();
        for script in html.split("<script").skip(1) {
            let tag = &script[..script.find('>').unwrap()];
            assert!(tag.contains("src="), "{path}: inline script");
        }
        assert!(
            !html.contains(" onclick=") && !html.contains(" onchange="),
            "{path}: inline handler"
        );
    }
    let r = support::client()
        .get(server.url("/login"))
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
}
