//! The console's protections over plain HTTP: CSRF on every form, escaping, cookie flags,
//! security headers, and credentials only accepted where they belong.

mod support;

use reqwest::header::{CONTENT_SECURITY_POLICY, SET_COOKIE};
use support::{client, console_csrf, console_login, hidden, urlencode, Server, ADMIN_PASSWORD};

/// A cookie-holding client signed in to the console, and its CSRF token; the session cookie
/// is HttpOnly, SameSite=Strict, and not Secure over plain HTTP.
async fn console_session(
    server: &Server,
    username: &str,
    password: &str,
) -> (reqwest::Client, String) {
    let (c, r) = console_login(server, username, password).await;
    assert_eq!(r.status(), 303, "sign-in failed");
    let cookie = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("ys_session="));
    let cookie = cookie.expect("session cookie");
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && !cookie.contains("Secure"),
        "{cookie}"
    );
    let csrf = console_csrf(&c, server).await;
    (c, csrf)
}

const FORMS: [&str; 20] = [
    "/users",
    "/tenants",
    "/tokens",
    "/tokens/revoke",
    "/account/password",
    "/switch-tenant",
    "/logout",
    "/users/grant-staff",
    "/users/01900000-0000-7000-8000-000000000000/roles",
    "/assets",
    "/assets/01900000-0000-7000-8000-000000000000",
    "/assets/01900000-0000-7000-8000-000000000000/lifecycle",
    "/assets/01900000-0000-7000-8000-000000000000/relations",
    "/assets/01900000-0000-7000-8000-000000000000/relations/01900000-0000-7000-8000-000000000001/delete",
    "/assets/alerts/01900000-0000-7000-8000-000000000000",
    "/assets/rules",
    "/assets/rules/01900000-0000-7000-8000-000000000000",
    "/assets/queries",
    "/assets/queries/01900000-0000-7000-8000-000000000000/delete",
    "/users/01900000-0000-7000-8000-000000000000/password",
];

/// Every console form refuses a missing or wrong CSRF token, and changes nothing.
#[tokio::test]
async fn every_form_needs_the_csrf_token() {
    let server = Server::start();
    let (c, csrf) = console_session(&server, "admin", ADMIN_PASSWORD).await;
    for path in FORMS {
        for token in ["", "0000"] {
            let r = c
                .post(server.url(path))
                .form(&[("_csrf", token), ("username", "x1"), ("name", "x-tenant")])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{path} with token {token:?}");
        }
    }
    // The session still works, and nothing was created.
    let users = c
        .get(server.url("/users"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!users.contains(">x1<"));
    let r = c
        .post(server.url("/tenants"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", "donghai-wjw"),
            ("display_name", "东海市卫生健康委员会"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // Cookie sessions calling the API with writes need the header too.
    let r = c
        .post(server.url("/api/v1/tokens"))
        .json(&serde_json::json!({"name": "x", "scopes": ["read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .post(server.url("/api/v1/tokens"))
        .header("X-CSRF-Token", &csrf)
        .json(&serde_json::json!({"name": "x", "scopes": ["read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

/// Whatever a user types is shown as text, never as markup.
#[tokio::test]
async fn output_is_escaped() {
    let server = Server::start();
    let (c, csrf) = console_session(&server, "admin", ADMIN_PASSWORD).await;
    let evil = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>";
    let r = c
        .post(server.url("/users"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", "evil.user"),
            ("display_name", evil),
            ("password", "Evil-Passw0rd-123"),
            ("role", "viewer"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    for path in ["/users", "/audit"] {
        let html = c
            .get(server.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            !html.contains("<script>alert(1)") && !html.contains("<img src=x"),
            "{path} is not escaped"
        );
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
                || html.contains("&#60;script&#62;"),
            "{path}"
        );
    }
    // A failed sign-in with markup as the username is escaped on the page too.
    let page = client().get(server.url("/login")).send().await.unwrap();
    let cookie = page.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let login_csrf = hidden(&page.text().await.unwrap(), "_csrf");
    let html = client()
        .post(server.url("/login"))
        .header("cookie", cookie)
        .form(&[
            ("username", "<b>x</b>"),
            ("password", "nope-nope-123"),
            ("_csrf", login_csrf.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("&lt;b&gt;x&lt;/b&gt;") || html.contains("&#60;b&#62;"),
        "login page escapes the username"
    );
}

/// Security headers are on every page, and the CSP allows no inline script.
#[tokio::test]
async fn security_headers_everywhere() {
    let server = Server::start();
    let (c, _) = console_session(&server, "admin", ADMIN_PASSWORD).await;
    for path in [
        "/",
        "/users",
        "/audit",
        "/tokens",
        "/tenants",
        "/roles",
        "/account",
        "/login",
        "/api/v1/me",
        "/static/app.css",
    ] {
        let r = c.get(server.url(path)).send().await.unwrap();
        let h = r.headers();
        let csp = h[CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'")
                && csp.contains("frame-ancestors 'none'")
                && !csp.contains("unsafe"),
            "{path}: {csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        if !path.starts_with("/static") {
            assert_eq!(h["cache-control"], "no-store", "{path}");
        }
    }
}

/// A console cookie is not a Bearer token and a sign-in token is not a cookie; the console
/// ignores `X-Tenant` (its tenant comes from the session).
#[tokio::test]
async fn credentials_only_work_where_they_belong() {
    let server = Server::start();
    let (c, _) = console_session(&server, "admin", ADMIN_PASSWORD).await;
    let users = c.get(server.url("/users")).send().await.unwrap();
    assert_eq!(users.status(), 200);
    let token = support::login(&server, "admin", ADMIN_PASSWORD).await;
    let r = client()
        .get(server.url("/users"))
        .header("cookie", format!("ys_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        303,
        "an API sign-in token is refused as a console cookie"
    );
    assert_eq!(r.headers()["location"], "/login");
    let r = client()
        .get(server.url("/users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        303,
        "the console wants its cookie, not a Bearer header"
    );
    let r = c
        .get(server.url("/users"))
        .header("X-Tenant", "nowhere")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Language choice persists in a cookie; redirects stay on this site.
#[tokio::test]
async fn language_switch_only_redirects_locally() {
    let server = Server::start();
    for (next, expected) in [
        ("/users", "/users"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil", "/"),
    ] {
        let r = client()
            .get(server.url(&format!("/lang/en?next={}", urlencode(next))))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], expected, "next={next}");
        assert!(r.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("ys_lang=en"));
    }
}
