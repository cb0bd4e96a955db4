//! The demo's detection story: each organisation subscribes to a threat-intelligence feed
//! (the firewall's noisiest sources and a phishing domain are on it), has imported a rule
//! directory of its own (key-based logins kept on record), has suppressed its own
//! vulnerability scanner, and — once the day of logs has raised alerts — its analyst has
//! worked a few of them: one acknowledged, one under investigation with a note, one closed.

use anyhow::Context;
use yunshou_model::Actor;
use yunshou_store::alerts::{AlertFilter, AlertState, AlertUpdate, Resolution};
use yunshou_store::rule_sets::RuleFile;
use yunshou_store::{Page, Store, TenantScope};

/// The feed every demo organisation imports (plain CSV, as CNCERT-style circulars are often
/// passed on).
pub const FEED_NAME: &str = "CNCERT 通报 2026-11";

const FEED: &str = "value,type,confidence,expires,description,tags
194.26.29.113,ip,90,2027-06-30,RDP/SMB 扫描源（通报第 47 期）,scanner;botnet
45.155.205.233,ip,85,2027-06-30,SSH 暴力破解源,bruteforce
80.94.95.81,ip,70,2027-03-31,Mirai 变种 C2,botnet;c2
141.98.11.0/24,cidr,60,2027-03-31,恶意托管网段,hosting
gov-service-login.top,domain,90,2027-06-30,仿冒政务服务网钓鱼域名,phishing
e3b98f6c1d2a7f9e0a4b5c6d7e8f90123456789abcdef0123456789abcdef012,sha256,80,2027-06-30,勒索软件加载器,ransomware
";

/// The organisation's own rule directory, imported in the console (its audit office wants
/// every key-based login to a production host on record).
pub const RULE_SET_NAME: &str = "本单位审计规则";

const OWN_RULE: &str = "title: 运维人员公钥登录生产主机（本单位审计留痕）
id: 3e0f6c2a-58b1-4f7d-9a3c-2d1e7b6a4c90
status: stable
description: 按本单位《运维审计管理办法》，运维人员以公钥登录生产主机须逐次留痕备查。
author: 本单位安全管理员
level: low
tags: [attack.initial-access, attack.t1078]
logsource: {product: linux, service: sshd}
detection:
  selection:
    message|contains: Accepted publickey
  condition: selection
falsepositives: [计划内运维]
";

/// Imports the feed and the rule set, and suppresses the organisation's own scanner host.
pub async fn seed(store: &Store, scope: &TenantScope, admin: &Actor) -> anyhow::Result<()> {
    let report = yunshou_intel::import(
        FEED.as_bytes(),
        yunshou_intel::Format::Csv,
        FEED_NAME,
        chrono::Utc::now(),
    )
    .context("the demo feed parses")?;
    store
        .save_intel_feed(
            scope,
            FEED_NAME,
            "csv",
            FEED.as_bytes(),
            report.indicators.len() as i64,
            report.rejected.len() as i64,
            admin,
        )
        .await?;
    store
        .save_rule_set(
            scope,
            RULE_SET_NAME,
            &[RuleFile {
                path: format!("{RULE_SET_NAME}/linux/sshd_publickey_login.yml"),
                text: OWN_RULE.into(),
            }],
            1,
            admin,
        )
        .await?;
    store
        .add_suppression(
            scope,
            None,
            "host",
            "sec-scan-01",
            "本单位授权的漏洞扫描器，扫描窗口内的告警不处理",
            chrono::Utc::now() + chrono::Duration::days(30),
            admin,
        )
        .await?;
    Ok(())
}

/// Works a few of each organisation's alerts as its analyst would, once there are some.
/// Returns how many alerts were touched.
pub async fn work_alerts(store: &Store, tenant_name: &str, analyst: &str) -> anyhow::Result<usize> {
    let (_, scope) = store.operator_scope(tenant_name).await?;
    let user = store
        .user_by_username(analyst)
        .await?
        .context("demo analyst")?;
    let actor = Actor {
        user_id: Some(user.id.clone()),
        name: user.username.clone(),
        source_ip: Some("10.20.3.17".into()),
    };
    let (alerts, _) = store
        .alerts(
            &scope,
            &AlertFilter::default(),
            Page {
                limit: 3,
                offset: 0,
            },
        )
        .await?;
    let steps: [(AlertState, Option<Resolution>, &str); 3] = [
        (AlertState::Acknowledged, None, "已确认，排入今日研判"),
        (
            AlertState::Investigating,
            None,
            "正在核查源地址与受影响主机的登录记录",
        ),
        (
            AlertState::Closed,
            Some(Resolution::TruePositive),
            "确认为外部攻击，已在边界封禁源地址",
        ),
    ];
    for (alert, (status, resolution, note)) in alerts.iter().zip(steps) {
        let update = AlertUpdate {
            status: Some(status),
            resolution,
            assignee: Some(user.username.clone()),
        };
        store
            .update_alert(&scope, &alert.id, &update, &actor)
            .await?;
        store.comment_alert(&scope, &alert.id, note, &actor).await?;
    }
    Ok(alerts.len())
}
