//! Steps carried out against real local targets: an HTTP server standing in for a firewall
//! API, an identity API and chat robots, and an SMTP sink.

mod common;

use base64::Engine as _;
use common::http_server::Server;
use common::smtp_sink::Sink;
use common::{alert, TestHost};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use yunshou_playbooks::*;

fn approved() -> RunOptions {
    RunOptions {
        approved_by: Some("王主任".into()),
        timeout: std::time::Duration::from_secs(10),
        ..RunOptions::default()
    }
}

fn host() -> TestHost {
    TestHost::with_secrets(&[
        ("FW_TOKEN", "fw-token-9f8e"),
        ("IAM_TOKEN", "iam-token-77aa"),
        ("WECOM_KEY", "wecom-key-5150"),
        ("DING_TOKEN", "ding-token-abc"),
        ("DING_SECRET", "SEC0123456789abcdef"),
    ])
}

/// A playbook exercising every HTTP-based action against `base`.
fn http_playbook(base: &str, identity_path: &str) -> Playbook {
    let yaml = format!(
        r#####"
id: http-targets
name: HTTP 目标
trigger:
  alert: {{}}
steps:
  - id: block
    action: block_ip
    with:
      ip: "{{{{ alert.entities.source_ip }}}}"
      adapter:
        http:
          method: PUT
          url: "{base}/api/v2/blocklist/{{{{ ip }}}}"
          headers:
            Authorization: "Bearer {{{{ secrets.FW_TOKEN }}}}"
            X-Request-Source: yunshou
          body:
            address: "{{{{ ip }}}}"
            comment: "云守 {{{{ playbook.id }}}}：{{{{ alert.title }}}}"
            count: "{{{{ alert.count }}}}"
  - id: disable
    action: disable_account
    with:
      account: "{{{{ alert.entities.user }}}}"
      request:
        url: "{base}{identity_path}/{{{{ account }}}}/disable"
        headers:
          Authorization: "Bearer {{{{ secrets.IAM_TOKEN }}}}"
        body: {{reason: "凭据泄露", account: "{{{{ account }}}}"}}
  - id: hook
    action: notify
    with:
      webhook:
        url: "{base}/hooks/soc"
        title: "告警 {{{{ alert.id }}}}"
        text: "来源 {{{{ alert.entities.source_ip }}}}"
  - id: wecom
    action: notify
    with:
      wecom:
        url: "{base}/robot/wecom/send?key={{{{ secrets.WECOM_KEY }}}}"
        text: "### 封禁通知\n> 地址：{{{{ alert.entities.source_ip }}}}"
  - id: ding
    action: notify
    with:
      dingtalk:
        url: "{base}/robot/ding/send?access_token={{{{ secrets.DING_TOKEN }}}}"
        title: 封禁通知
        text: "#### 封禁通知\n地址：{{{{ alert.entities.source_ip }}}}"
        secret: "{{{{ secrets.DING_SECRET }}}}"
"#####
    );
    parse(&yaml).unwrap_or_else(|e| panic!("{e}"))
}

fn ctx() -> Value {
    let mut a = alert("198.51.100.23");
    a["count"] = json!(50);
    context(TriggerKind::Alert, &a)
}

#[tokio::test]
async fn firewall_and_identity_apis_receive_exact_requests() {
    let server = Server::start().await;
    let pb = http_playbook(&server.base, "/iam/accounts");
    let host = host();

    let out = run_step(&pb, 0, &ctx(), &host, &approved()).await;
    assert_eq!(out.status, StepStatus::Succeeded, "{}", out.detail);
    assert_eq!(out.output["ip"], "198.51.100.23");
    assert_eq!(out.output["status"], 200);
    assert_eq!(out.approved_by.as_deref(), Some("王主任"));
    let got = server.take();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.method, "PUT");
    assert_eq!(r.target, "/api/v2/blocklist/198.51.100.23");
    assert_eq!(r.headers["authorization"], "Bearer fw-token-9f8e");
    assert_eq!(r.headers["x-request-source"], "yunshou");
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(
        r.body,
        json!({"address": "198.51.100.23", "comment": "云守 http-targets：SSH 暴力破解：同一来源 50 次登录失败", "count": 50})
    );
    // The audit record shows the request without the token.
    assert_eq!(out.rendered["request"]["headers"]["Authorization"], "***");
    assert!(!serde_json::to_string(&out)
        .unwrap()
        .contains("fw-token-9f8e"));

    let out = run_step(&pb, 1, &ctx(), &host, &approved()).await;
    assert_eq!(out.status, StepStatus::Succeeded, "{}", out.detail);
    assert_eq!(out.output["account"], "zhangsan");
    let r = &server.take()[0];
    assert_eq!(
        (r.method.as_str(), r.target.as_str()),
        ("POST", "/iam/accounts/zhangsan/disable")
    );
    assert_eq!(r.headers["authorization"], "Bearer iam-token-77aa");
    assert_eq!(r.body, json!({"reason": "凭据泄露", "account": "zhangsan"}));
}

#[tokio::test]
async fn a_failing_target_gives_a_failed_outcome_with_the_status() {
    let server = Server::start().await;
    let pb = http_playbook(&server.base, "/fail/accounts");
    let out = run_step(&pb, 1, &ctx(), &host(), &approved()).await;
    assert_eq!(out.status, StepStatus::Failed);
    assert!(out.detail.contains("HTTP 500"), "{}", out.detail);
    assert!(!out.detail.contains("iam-token-77aa"));
    assert_eq!(server.take().len(), 1);

    // Nothing listening: a failure naming the target, within the timeout.
    let pb = http_playbook("http://127.0.0.1:9", "/iam");
    let out = run_step(&pb, 1, &ctx(), &host(), &approved()).await;
    assert_eq!(out.status, StepStatus::Failed);
    assert!(out.detail.contains("127.0.0.1:9"), "{}", out.detail);
}

#[tokio::test]
async fn webhook_wecom_and_dingtalk_formats() {
    let server = Server::start().await;
    let pb = http_playbook(&server.base, "/iam");
    let host = host();
    for i in 2..=4 {
        let out = run_step(&pb, i, &ctx(), &host, &RunOptions::default()).await;
        assert_eq!(out.status, StepStatus::Succeeded, "{}", out.detail);
    }
    let got = server.take();
    assert_eq!(got.len(), 3);

    assert_eq!(
        (got[0].method.as_str(), got[0].target.as_str()),
        ("POST", "/hooks/soc")
    );
    assert_eq!(
        got[0].body,
        json!({"playbook": "http-targets", "step": "hook", "title": "告警 alert-0001", "text": "来源 198.51.100.23"})
    );

    assert_eq!(got[1].target, "/robot/wecom/send?key=wecom-key-5150");
    assert_eq!(
        got[1].body,
        json!({"msgtype": "markdown", "markdown": {"content": "### 封禁通知\n> 地址：198.51.100.23"}})
    );

    assert!(got[2].target.starts_with("/robot/ding/send?"));
    assert_eq!(
        got[2].body,
        json!({"msgtype": "markdown", "markdown": {"title": "封禁通知", "text": "#### 封禁通知\n地址：198.51.100.23"}})
    );
    let q = got[2].query();
    assert_eq!(q["access_token"], "ding-token-abc");
    let ts: i64 = q["timestamp"].parse().unwrap();
    assert!((chrono::Utc::now().timestamp_millis() - ts).abs() < 60_000);
    let secret = "SEC0123456789abcdef";
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{ts}\n{secret}").as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(q["sign"], expected);
}

#[tokio::test]
async fn dry_run_sends_nothing_and_redacts_secrets() {
    let server = Server::start().await;
    let sink = Sink::start().await;
    let pb = http_playbook(&server.base, "/iam/accounts");
    let host = host();
    let opts = RunOptions {
        dry_run: true,
        smtp_relay: Some(sink.addr.clone()),
        ..RunOptions::default()
    };
    let mut all = String::new();
    for i in 0..pb.steps.len() {
        let out = run_step(&pb, i, &ctx(), &host, &opts).await;
        assert_eq!(out.status, StepStatus::Skipped, "{}", out.detail);
        assert!(out.detail.starts_with("dry run: "));
        all.push_str(&serde_json::to_string(&out).unwrap());
    }
    let first = run_step(&pb, 0, &ctx(), &host, &opts).await;
    assert_eq!(
        first.rendered["request"],
        json!({
            "method": "PUT",
            "url": format!("{}/api/v2/blocklist/198.51.100.23", server.base),
            "headers": {"Authorization": "***", "X-Request-Source": "yunshou"},
            "body": {"address": "198.51.100.23", "comment": "云守 http-targets：SSH 暴力破解：同一来源 50 次登录失败", "count": 50},
        })
    );
    let ding = plan(&pb, &ctx(), &host).unwrap().pop().unwrap();
    assert!(ding.rendered["request"]["url"]
        .as_str()
        .unwrap()
        .ends_with("&sign=***"));
    for secret in [
        "fw-token-9f8e",
        "iam-token-77aa",
        "wecom-key-5150",
        "ding-token-abc",
        "SEC0123456789abcdef",
    ] {
        assert!(!all.contains(secret), "{secret} leaked into a dry run");
    }
    assert!(all.contains("key=***"));
    assert!(server.take().is_empty(), "a dry run sent a request");
    assert!(sink.mails.lock().unwrap().is_empty());
}

fn mail_playbook() -> Playbook {
    parse(
        r#"
id: mail
name: 邮件
trigger:
  incident: {}
steps:
  - id: mail
    action: notify
    with:
      email:
        to: [soc-duty@example.gov.cn, "应急负责人 <ir-lead@example.gov.cn>"]
        cc: ciso@example.gov.cn
        subject: "【{{ incident.level }}级事件】{{ incident.title }}"
        text: "应急小组各位：\n请立即按预案处置“{{ incident.title }}”。\n.\n——云守"
"#,
    )
    .unwrap()
}

#[tokio::test]
async fn email_reaches_the_smtp_relay() {
    let sink = Sink::start().await;
    let pb = mail_playbook();
    let inc = json!({"title": "财务系统勒索软件", "level": "II"});
    let opts = RunOptions {
        smtp_relay: Some(sink.addr.clone()),
        smtp_from: "云守 <yunshou@example.gov.cn>".into(),
        ..RunOptions::default()
    };
    let out = run_step(
        &pb,
        0,
        &context(TriggerKind::Incident, &inc),
        &TestHost::default(),
        &opts,
    )
    .await;
    assert_eq!(out.status, StepStatus::Succeeded, "{}", out.detail);
    assert_eq!(
        out.rendered["to"],
        json!([
            "soc-duty@example.gov.cn",
            "应急负责人 <ir-lead@example.gov.cn>"
        ])
    );
    let mails = sink.mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(m.from, "<yunshou@example.gov.cn>");
    assert_eq!(
        m.rcpt,
        [
            "<soc-duty@example.gov.cn>",
            "<ir-lead@example.gov.cn>",
            "<ciso@example.gov.cn>"
        ]
    );
    let (headers, body) = m.data.split_once("\r\n\r\n").expect("headers and body");
    assert_eq!(decode_subject(headers), "【II级事件】财务系统勒索软件");
    assert_eq!(
        decode_body(headers, body),
        "应急小组各位：\r\n请立即按预案处置“财务系统勒索软件”。\r\n.\r\n——云守"
    );

    // No relay configured: a failure, not a silent success.
    let out = run_step(
        &pb,
        0,
        &context(TriggerKind::Incident, &inc),
        &TestHost::default(),
        &RunOptions::default(),
    )
    .await;
    assert_eq!(out.status, StepStatus::Failed);
    assert!(out.detail.contains("no SMTP relay"), "{}", out.detail);
}

/// The Subject header, unfolded, with RFC 2047 encoded words decoded.
fn decode_subject(headers: &str) -> String {
    let unfolded = headers.replace("\r\n ", " ").replace("\r\n\t", " ");
    let line = unfolded
        .lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .expect("a Subject header");
    let mut out = String::new();
    for word in line.split_whitespace() {
        let inner = word
            .strip_prefix("=?utf-8?b?")
            .or_else(|| word.strip_prefix("=?UTF-8?B?"))
            .and_then(|w| w.strip_suffix("?="));
        match inner {
            Some(b64) => out.push_str(
                &String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .unwrap(),
                )
                .unwrap(),
            ),
            None => out.push_str(word),
        }
    }
    out
}

fn decode_body(headers: &str, body: &str) -> String {
    let cte = headers
        .lines()
        .find_map(|l| l.strip_prefix("Content-Transfer-Encoding: "))
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    assert!(headers.contains("charset=utf-8"), "{headers}");
    match cte.as_str() {
        "base64" => {
            let b64: String = body.split_whitespace().collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap(),
            )
            .unwrap()
        }
        "quoted-printable" => {
            let joined = body.replace("=\r\n", "");
            let bytes = joined.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'=' && i + 2 < bytes.len() {
                    out.push(u8::from_str_radix(&joined[i + 1..i + 3], 16).unwrap());
                    i += 3;
                } else {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            String::from_utf8(out)
                .unwrap()
                .trim_end_matches("\r\n")
                .to_string()
        }
        _ => body.trim_end_matches("\r\n").to_string(),
    }
}
