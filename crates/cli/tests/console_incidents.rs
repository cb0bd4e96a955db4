//! Incidents in the console over plain HTTP against the demo: an analyst opens an incident
//! through the form, drives it preparation → diagnosis → containment (a move without the
//! diagnosis records is refused with a message naming them), records a containment action,
//! takes a file into the evidence vault (its SHA-256 and the intake custody entry shown),
//! adds an observable with its pivot to the event search; bad input comes back as a message,
//! never a server error; an auditor sees the incident without a single form, and another
//! tenant's analyst does not see it at all.

mod support;

use support::{Server, DEMO_PASSWORD};

/// The evidence file and its SHA-256.
const EVIDENCE: &str = "suspicious payload from 203.0.113.7\n";
const EVIDENCE_SHA256: &str = "8a5c3e963ba699045825969cc7b5f07fd87ad793b6cb568315b39dcb8434f8ee";

/// A signed-in console client and its CSRF token.
struct Console<'a> {
    server: &'a Server,
    c: reqwest::Client,
    csrf: String,
}

impl<'a> Console<'a> {
    async fn sign_in(server: &'a Server, username: &str) -> Console<'a> {
        let (c, csrf) = support::console_sign_in(server, username, DEMO_PASSWORD).await;
        Console { server, c, csrf }
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let r = self.c.get(self.server.url(path)).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// Posts a form; returns where it redirects to.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> String {
        let mut form = vec![("_csrf", self.csrf.as_str())];
        form.extend_from_slice(fields);
        let r = self
            .c
            .post(self.server.url(path))
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        let body = r.text().await.unwrap_or_default();
        assert_eq!(status, 303, "{path}: {body}");
        location.unwrap()
    }

    /// Posts a form that should be refused; returns the message shown on the page it
    /// leads back to.
    async fn refused(&self, path: &str, fields: &[(&str, &str)]) -> String {
        let to = self.post(path, fields).await;
        let (status, page) = self.get(&to).await;
        assert_eq!(status, 200);
        flash(&page, false).unwrap_or_else(|| panic!("{path}: no error message"))
    }

    /// Posts a form that should succeed; returns the page it leads to.
    async fn ok(&self, path: &str, fields: &[(&str, &str)]) -> String {
        let to = self.post(path, fields).await;
        let (status, page) = self.get(&to).await;
        assert_eq!(status, 200);
        if let Some(err) = flash(&page, false) {
            panic!("{path}: refused: {err}");
        }
        page
    }
}

/// The page's one-shot message, if it is a success (`ok`) or a problem.
fn flash(html: &str, ok: bool) -> Option<String> {
    let marker = format!("<p class=\"flash {}\"", if ok { "ok" } else { "err" });
    let start = html.find(&marker)?;
    let text = &html[start..];
    let text = &text[text.find('>')? + 1..];
    Some(text[..text.find("</p>")?].to_string())
}

/// The `data-state` of a phase in the stepper.
fn phase_state(html: &str, phase: &str) -> String {
    let marker = format!("data-phase=\"{phase}\" data-state=\"");
    let start = html.find(&marker).expect("stepper") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

/// Undoes askama's escaping of an attribute value.
fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&amp;", "&")
}

fn multipart(csrf: &str, fields: &[(&str, &str)], file: (&str, &str)) -> (String, Vec<u8>) {
    let boundary = "----yunshou-test-boundary-7d3f";
    let mut body = String::new();
    for (k, v) in [("_csrf", csrf)].iter().chain(fields) {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: text/plain\r\n\r\n{}\r\n--{boundary}--\r\n",
        file.0, file.1
    ));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

#[tokio::test]
async fn an_incident_through_the_console() {
    let server = Server::demo();
    let a = Console::sign_in(&server, "jn.analyst").await;

    // The list and the form.
    let (status, list) = a.get("/incidents").await;
    assert_eq!(status, 200);
    assert!(
        list.contains("id=\"incident-new\""),
        "the analyst may create"
    );
    let (status, form) = a.get("/incidents/new").await;
    assert_eq!(status, 200);
    assert!(form.contains("勒索软件") && form.contains("value=\"MP/勒索软件\""));
    // A title is required: the form says so, nothing is created.
    let why = a
        .refused("/incidents/new", &[("title", " "), ("description", "x")])
        .await;
    assert!(why.contains("title"), "{why}");

    // Created through the form.
    let title = "控制台测试：办公网主机疑似勒索软件";
    let to = a
        .post(
            "/incidents/new",
            &[
                ("title", title),
                ("description", "终端防护上报加密行为"),
                ("classification", ""),
                ("occurred_at", "2026-05-01T08:30"),
            ],
        )
        .await;
    let id = to
        .strip_prefix("/incidents/")
        .expect("incident page")
        .to_string();
    let base = format!("/incidents/{id}");
    let (status, page) = a.get(&base).await;
    assert_eq!(status, 200);
    assert!(flash(&page, true).unwrap().contains("INC-"));
    assert!(page.contains(title));
    assert_eq!(phase_state(&page, "preparation"), "current");
    assert_eq!(phase_state(&page, "diagnosis"), "todo");
    assert!(
        page.contains("负责人"),
        "the owner is what preparation needs"
    );
    let (_, list) = a
        .get("/incidents?q=%E6%8E%A7%E5%88%B6%E5%8F%B0%E6%B5%8B%E8%AF%95")
        .await;
    assert!(
        list.contains(&format!("href=\"/incidents/{id}\"")),
        "{list}"
    );

    // Owner, then diagnosis.
    let page = a
        .ok(&format!("{base}/owner"), &[("owner", "jn.analyst")])
        .await;
    assert!(page.contains("id=\"incident-owner\">jn.analyst"));
    let page = a
        .ok(&format!("{base}/phase"), &[("phase", "diagnosis")])
        .await;
    assert_eq!(phase_state(&page, "preparation"), "done");
    assert_eq!(phase_state(&page, "diagnosis"), "current");
    assert!(page.contains("id=\"classification-form\"") && page.contains("id=\"activation-form\""));

    // Containment refused: the message names what is missing.
    let why = a
        .refused(&format!("{base}/phase"), &[("phase", "containment")])
        .await;
    assert!(why.contains("启动响应的决定"), "{why}");
    assert!(why.contains("事件分类"), "{why}");
    // Skipping a phase is refused too.
    let why = a
        .refused(&format!("{base}/phase"), &[("phase", "recovery")])
        .await;
    assert!(why.contains("recovery"), "{why}");
    // Bad record input is a message, not a server error.
    let why = a
        .refused(
            &format!("{base}/records"),
            &[
                ("record", "classification"),
                ("classification", "MP/不存在的子类"),
            ],
        )
        .await;
    assert!(why.contains("category"), "{why}");

    // Classification, grading, confirmed level; the decision to respond.
    a.ok(
        &format!("{base}/records"),
        &[
            ("record", "classification"),
            ("classification", "MP/勒索软件"),
            ("importance", "important"),
            ("loss", "considerable"),
            ("social_harm", "ordinary"),
            ("level", ""),
            ("confirm", "1"),
        ],
    )
    .await;
    let page = a
        .ok(
            &format!("{base}/records"),
            &[
                ("record", "activation"),
                ("decision", "activate"),
                ("reason", "多台主机文件被加密"),
                ("contacted", "信息中心值班员、网络运维"),
            ],
        )
        .await;
    assert!(page.contains("恶意程序事件") && page.contains("id=\"level-confirmed\""));
    assert!(
        page.contains("id=\"missing-none\""),
        "diagnosis has its records"
    );
    let page = a
        .ok(&format!("{base}/phase"), &[("phase", "containment")])
        .await;
    assert_eq!(phase_state(&page, "diagnosis"), "done");
    assert_eq!(phase_state(&page, "containment"), "current");
    assert!(
        page.contains("id=\"phase-due\""),
        "the level sets the phase's target"
    );

    // A containment action, appended.
    let page = a
        .ok(
            &format!("{base}/records"),
            &[
                ("record", "containment"),
                ("action", "隔离受感染主机"),
                ("target", "10.20.3.15"),
                ("result", "已断开网络"),
            ],
        )
        .await;
    let page = {
        assert!(page.contains("隔离受感染主机"));
        a.ok(
            &format!("{base}/records"),
            &[("record", "containment"), ("action", "封禁外联地址")],
        )
        .await
    };
    let actions = &page[page.find("id=\"containment-actions\"").unwrap()..];
    assert!(actions.contains("隔离受感染主机") && actions.contains("封禁外联地址"));

    // Evidence: multipart upload, hashed, the intake in the custody log.
    let (ctype, body) = multipart(
        &a.csrf,
        &[
            ("kind", "file"),
            ("source", "10.20.3.15:/tmp/readme.txt"),
            ("description", "勒索信"),
        ],
        ("readme.txt", EVIDENCE),
    );
    let r =
        a.c.post(server.url(&format!("{base}/evidence")))
            .header("content-type", ctype)
            .body(body)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 303);
    let (_, page) = a.get(&base).await;
    assert!(flash(&page, true).is_some(), "evidence taken");
    let evidence = &page[page.find("id=\"evidence-table\"").expect("evidence list")..];
    assert!(evidence.contains(EVIDENCE_SHA256) && evidence.contains("readme.txt"));
    let custody = &page[page.find("id=\"custody-table\"").expect("custody log")..];
    assert!(custody.contains("data-action=\"intake\""), "{custody}");
    // An upload without its token changes nothing.
    let (ctype, body) = multipart("wrong", &[("kind", "file")], ("x.txt", "x"));
    let r =
        a.c.post(server.url(&format!("{base}/evidence")))
            .header("content-type", ctype)
            .body(body)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 403);

    // An observable and its pivot to the event search.
    let why = a
        .refused(
            &format!("{base}/observables"),
            &[("kind", "ip"), ("value", "not-an-address")],
        )
        .await;
    assert!(why.contains("IP"), "{why}");
    let page = a
        .ok(
            &format!("{base}/observables"),
            &[("kind", "ip"), ("value", "203.0.113.7"), ("note", "C2")],
        )
        .await;
    let marker = "class=\"pivot\" href=\"";
    let start = page.find(marker).expect("pivot link") + marker.len();
    let href = unescape(&page[start..start + page[start..].find('"').unwrap()]);
    assert_eq!(
        href,
        "/events?q=source.ip%3A203.0.113.7%20OR%20destination.ip%3A203.0.113.7"
    );
    // A link to a record of this tenant that does not exist: a message.
    let why = a
        .refused(
            &format!("{base}/links"),
            &[
                ("kind", "alert"),
                ("ref_id", "01900000-0000-7000-8000-000000000000"),
            ],
        )
        .await;
    assert!(!why.is_empty());
    let why = a
        .refused(
            &format!("{base}/records"),
            &[("record", "tracking"), ("days", "many")],
        )
        .await;
    assert!(why.contains("days"), "{why}");

    // The auditor reads it, with no form at all.
    let auditor = Console::sign_in(&server, "jn.auditor").await;
    let (status, page) = auditor.get(&base).await;
    assert_eq!(status, 200);
    assert!(page.contains(title) && page.contains(EVIDENCE_SHA256));
    assert!(
        !page.contains("action=\"/incidents/"),
        "the auditor has forms"
    );
    let (_, list) = auditor.get("/incidents").await;
    assert!(!list.contains("id=\"incident-new\""));
    let r = auditor
        .c
        .post(server.url(&format!("{base}/owner")))
        .form(&[("_csrf", auditor.csrf.as_str()), ("owner", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Another tenant's analyst does not find it.
    let other = Console::sign_in(&server, "qh.analyst").await;
    let (status, _) = other.get(&base).await;
    assert_eq!(status, 404);
    let (_, list) = other.get("/incidents").await;
    assert!(!list.contains(&id));
}
