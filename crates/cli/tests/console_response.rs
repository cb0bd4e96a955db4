//! Plans, drills, playbooks, response metrics and settings in the console, over plain HTTP
//! against the demo: a plan created from its template and saved again as v2, a drill
//! scheduled, recorded and its improvement item closed, playbooks saved from YAML (a broken
//! one refused with its problem's path), a dry run on a demo alert, a run waiting for an
//! approval its starter may not give, the operator kind set, the metrics charts; an auditor
//! reads without forms and another tenant sees nothing.

mod support;

use reqwest::header::{LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use std::time::{Duration, Instant};
use support::{Server, DEMO_PASSWORD};

/// A console session: a cookie-holding client and its CSRF token.
struct Session<'a> {
    c: reqwest::Client,
    csrf: String,
    server: &'a Server,
}

/// Undoes the template's HTML escaping.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The text of the `<textarea id="{id}">`.
fn textarea(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let start = at + html[at..].find('>').unwrap() + 1;
    let end = start + html[start..].find("</textarea>").unwrap();
    unescape(&html[start..end])
}

impl<'a> Session<'a> {
    async fn new(server: &'a Server, username: &str) -> Session<'a> {
        let (c, csrf) = support::console_sign_in(server, username, DEMO_PASSWORD).await;
        Session { c, csrf, server }
    }

    /// GETs a page, expecting `status`; returns its HTML.
    async fn page(&self, path: &str, status: u16) -> String {
        let r = self.c.get(self.server.url(path)).send().await.unwrap();
        let got = r.status().as_u16();
        let body = r.text().await.unwrap();
        assert_eq!(got, status, "GET {path}: {body}");
        body
    }

    /// POSTs a form with the CSRF token; returns the status, the redirect target and the
    /// body.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String, String) {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("_csrf", &self.csrf));
        let r = self
            .c
            .post(self.server.url(path))
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let to = r
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, to, r.text().await.unwrap())
    }

    /// POSTs a form that must redirect; returns the target.
    async fn redirect(&self, path: &str, fields: &[(&str, &str)]) -> String {
        let (status, to, body) = self.post(path, fields).await;
        assert_eq!(status, 303, "POST {path}: {body}");
        to
    }

    /// POSTs a form that is refused with a message on the page it sends back to; returns
    /// that page.
    async fn refused(&self, path: &str, fields: &[(&str, &str)]) -> String {
        let r = self
            .c
            .post(self.server.url(path))
            .form(&[fields, &[("_csrf", self.csrf.as_str())]].concat())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "POST {path}");
        let flash = r
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("ys_flash=err"));
        assert!(flash, "POST {path}: no error message");
        let to = r.headers()[LOCATION].to_str().unwrap().to_string();
        self.page(&to, 200).await
    }
}

const EXAMPLE: &str = include_str!("../../playbooks/examples/leaked-account.yaml");

/// An alert playbook that reads only what every alert has; the approval keeps a real run
/// waiting.
const DRY: &str = r#"id: console-test-dry
name: 控制台测试剧本
enabled: false
trigger:
  alert:
    severity_at_least: info
steps:
  - id: look-up
    name: 查询资产
    action: enrich
    approval: required
    with:
      source: ledger
      value: "{{ alert.id }}"
  - id: ticket
    action: create_work_order
    with:
      title: "跟进告警 {{ alert.title }}"
      description: 控制台测试
      priority: high
"#;

#[tokio::test]
async fn plans_drills_playbooks_and_metrics_in_the_console() {
    let server = Server::demo();
    let admin = Session::new(&server, "jn.admin").await;

    // The provider tenant has no plans yet (the demo seeds its customers' plans).
    let provider = Session::new(&server, "li.qiang").await;
    // Every class is listed; the NA plan is created from its template.
    let plans = provider.page("/plans", 200).await;
    assert_eq!(plans.matches("class=\"plan-row\"").count(), 10, "{plans}");
    assert!(plans.contains("id=\"template-NA\""));
    let v1 = provider.redirect("/plans", &[("category", "NA")]).await;
    assert!(v1.starts_with("/plans/"), "{v1}");
    let page = provider.page(&v1, 200).await;
    assert!(page.contains("id=\"plan-version\">v1<"), "v1");
    assert!(
        page.contains("在边界防火墙封禁攻击源地址"),
        "template steps"
    );
    assert!(!provider
        .page("/plans", 200)
        .await
        .contains("id=\"template-NA\""));

    // The editor saves v2; a broken plan is refused with every problem.
    let mut content: serde_json::Value =
        serde_json::from_str(&textarea(&page, "plan-content")).unwrap();
    content["contacts"] = serde_json::json!([{
        "role": "技术处置组", "name": "王强", "phone": "025-1234", "email": "wq@jn.gov.cn"
    }]);
    let content = serde_json::to_string_pretty(&content).unwrap();
    let v2 = provider
        .redirect(
            &v1,
            &[
                ("name", "网络攻击事件应急预案"),
                ("note", "补充技术处置组联系人"),
                ("content", &content),
            ],
        )
        .await;
    assert_ne!(v2, v1);
    let page = provider.page(&v2, 200).await;
    assert!(page.contains("id=\"plan-version\">v2<"), "v2");
    assert!(page.contains("王强") && page.contains("补充技术处置组联系人"));
    assert_eq!(page.matches("class=\"plan-version").count(), 2, "history");
    assert!(
        page.contains(&format!("href=\"{v1}\">v1</a>")),
        "link to v1"
    );
    let (status, _, refused) = provider
        .post(
            &v2,
            &[("name", "x"), ("content", r#"{"roles": [], "steps": []}"#)],
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        refused.contains("id=\"plan-problems\"")
            && refused.contains("roles: a plan names at least one role")
            && refused.contains("steps: a plan has at least one step"),
        "{refused}"
    );
    let (status, _, refused) = provider
        .post(&v2, &[("name", "x"), ("content", "{ not json")])
        .await;
    assert_eq!(status, 200);
    assert!(refused.contains("content: "), "{refused}");

    // A drill: scheduled, a bad record refused, recorded, an item raised and closed.
    let plan_id = v2.trim_start_matches("/plans/").to_string();
    let drills = provider.page("/drills", 200).await;
    assert!(drills.contains(&format!("value=\"{plan_id}\"")));
    let refused = provider
        .refused(
            "/drills",
            &[
                ("plan_id", &plan_id),
                ("title", "演练"),
                ("scheduled_for", "soon"),
            ],
        )
        .await;
    assert!(refused.contains("scheduled_for"), "date refused");
    let drill = provider
        .redirect(
            "/drills",
            &[
                ("plan_id", &plan_id),
                ("title", "勒索攻击桌面推演"),
                ("scenario", "门户网站被植入勒索软件"),
                ("scheduled_for", "2026-06-01"),
                ("participants", "应急小组全体"),
            ],
        )
        .await;
    assert!(provider
        .page("/drills", 200)
        .await
        .contains("勒索攻击桌面推演"));
    let page = provider
        .refused(
            &format!("{drill}/record"),
            &[("steps", "通知应急小组 | five"), ("findings", "")],
        )
        .await;
    assert!(page.contains("steps line 1"), "bad line named");
    provider
        .redirect(
            &format!("{drill}/record"),
            &[
                ("steps", "通知应急小组 | 5\n隔离受影响主机｜20\n"),
                ("findings", "联系人电话过期"),
            ],
        )
        .await;
    let page = provider.page(&drill, 200).await;
    assert!(page.contains("id=\"drill-total\">25 分钟<"), "total");
    assert!(page.contains("联系人电话过期") && !page.contains("drill-record-form"));
    provider
        .redirect(
            &format!("{drill}/items"),
            &[
                ("title", "更新预案联系人"),
                ("kind", "plan"),
                ("owner", "王强"),
                ("due_date", "2026-07-01"),
            ],
        )
        .await;
    let page = provider.page(&drill, 200).await;
    assert!(page.contains("更新预案联系人") && page.contains("data-status=\"open\""));
    let close = page[page.find("class=\"inline item-close\"").unwrap() - 200..]
        .split("action=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert!(close.ends_with("/close"), "{close}");
    provider
        .refused(&close, &[("link", ""), ("resolution", "")])
        .await;
    provider
        .redirect(
            &close,
            &[("link", &v2), ("resolution", "预案 v2 已补充联系人")],
        )
        .await;
    let page = provider.page(&drill, 200).await;
    assert!(page.contains("data-status=\"closed\"") && page.contains("预案 v2 已补充联系人"));

    // Playbooks: an example saved, a broken one refused with every problem's path.
    let example = EXAMPLE.replace(
        "id: leaked-account",
        "id: console-test-leaked\nenabled: false",
    );
    let leaked = admin.redirect("/playbooks", &[("yaml", &example)]).await;
    assert!(leaked.starts_with("/playbooks/"), "{leaked}");
    let page = admin.page(&leaked, 200).await;
    assert!(page.contains("disable_account") && page.contains("create_work_order"));
    assert!(page.contains("id=\"playbook-state\">已停用<"), "stays off");
    let broken = example
        .replace("priority: high", "priorty: high")
        .replace("account: \"{{", "acount: \"{{");
    let (status, _, refused) = admin.post("/playbooks", &[("yaml", &broken)]).await;
    assert_eq!(status, 200);
    assert!(refused.contains("id=\"playbook-problems\""), "{refused}");
    let problems = &refused[refused.find("id=\"playbook-problems\"").unwrap()..];
    let problems = &problems[..problems.find("</div>").unwrap()];
    assert!(
        problems.contains("steps[0].with") && problems.contains("steps[1].with"),
        "{problems}"
    );
    assert!(
        problems.matches("<li>").count() >= 2,
        "every problem: {problems}"
    );
    assert!(refused.contains("priorty: high"), "the YAML comes back");
    let list = admin.page("/playbooks", 200).await;
    assert_eq!(list.matches("data-slug=\"console-test-leaked\"").count(), 1);

    // A dry run on a demo alert: every step skipped with what it would have done.
    let dry = admin.redirect("/playbooks", &[("yaml", DRY)]).await;
    let alert = demo_alert(&admin).await;
    let refused = admin
        .refused(
            &format!("{dry}/run"),
            &[("trigger_id", "not-an-id"), ("dry_run", "on")],
        )
        .await;
    assert!(refused.contains("trigger_id"), "bad id refused");
    let run = admin
        .redirect(
            &format!("{dry}/run"),
            &[("trigger_id", &alert), ("dry_run", "on")],
        )
        .await;
    assert!(run.starts_with("/playbook-runs/"), "{run}");
    let page = admin.page(&run, 200).await;
    assert!(page.contains("id=\"run-dry\""), "dry run");
    assert_eq!(page.matches("data-status=\"skipped\"").count(), 2, "{page}");
    assert!(page.contains("dry run: ") && page.contains("&#34;dry_run&#34;: true"));
    assert!(
        admin.page(&dry, 200).await.contains(&run),
        "listed under the playbook"
    );

    // A real run waits for an approval its starter may not give.
    let real = admin
        .redirect(&format!("{dry}/run"), &[("trigger_id", &alert)])
        .await;
    let page = admin.page(&real, 200).await;
    assert!(page.contains("data-status=\"awaiting_approval\""), "{page}");
    assert!(page.contains("class=\"approve\""));
    let page = admin
        .refused(
            &format!("{real}/decide"),
            &[("index", "0"), ("decision", "approve")],
        )
        .await;
    assert!(page.contains("someone other than"), "own run refused");
    assert!(page.contains("data-status=\"awaiting_approval\""));

    // The operator kind decides the duties shown.
    let settings = admin.page("/response/settings", 200).await;
    assert!(settings.contains("id=\"settings-form\""));
    admin
        .refused("/response/settings", &[("operator_kind", "bank")])
        .await;
    admin
        .redirect("/response/settings", &[("operator_kind", "state_organ")])
        .await;
    let settings = admin.page("/response/settings", 200).await;
    assert!(settings.contains("data-kind=\"state_organ\"") && settings.contains("本单位网信部门"));

    // The metrics charts and the dashboard's tile.
    let metrics = admin.page("/incidents/metrics", 200).await;
    assert!(metrics.contains("<svg") && metrics.contains("id=\"metrics-by-level\""));
    assert_eq!(metrics.matches("<svg class=\"chart targets\"").count(), 3);
    assert!(metrics.contains("id=\"metrics-by-category\"") && metrics.contains("网络攻击事件"));
    let dash = admin.page("/", 200).await;
    assert!(dash.contains("id=\"dash-incident-counts\""), "tile");

    // An auditor reads everything without forms.
    let auditor = Session::new(&server, "jn.auditor").await;
    for (path, form) in [
        ("/plans", "template-"),
        ("/plans", "id=\"template-"),
        ("/drills", "drill-form"),
        ("/playbooks", "playbook-form"),
        (dry.as_str(), "run-form"),
        (real.as_str(), "class=\"approve\""),
        ("/response/settings", "settings-form"),
    ] {
        let page = auditor.page(path, 200).await;
        assert!(!page.contains(form), "{path} shows {form} to the auditor");
    }
    let (status, _, _) = auditor.post("/plans", &[("category", "MP")]).await;
    assert_eq!(status, 403);

    // Another tenant sees none of it.
    let qh = Session::new(&server, "qh.admin").await;
    qh.page(&leaked, 404).await;
    qh.page(&v2, 404).await;
    qh.page(&run, 404).await;
    assert!(!qh.page("/playbooks", 200).await.contains("console-test"));
}

/// An alert of jiangning's demo, waiting for the demo's logs to raise one.
async fn demo_alert(s: &Session<'_>) -> String {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let r =
            s.c.get(s.server.url("/api/v1/alerts?limit=1"))
                .send()
                .await
                .unwrap();
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        if let Some(id) = body["items"][0]["id"].as_str() {
            return id.to_string();
        }
        assert!(Instant::now() < deadline, "the demo raised no alert");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
