//! The demo's vulnerability story (I.2, I.3): each organisation has run a quarterly scan of
//! its hosts, recorded its penetration-test and questionnaire findings from the CSV template,
//! and — when SigmaHQ's fixtures sit beside the clone — imported the real scanner reports of
//! `../shared/fixtures/scanners` against its own hosts. Work orders are under way (accepted,
//! being fixed, one retested and closed, one risk accepted, one false positive); a rescan
//! shows a finding gone (awaiting retest) and closes the one whose fix was claimed. The threat
//! catalog and a risk register with treatments complete the picture.

use anyhow::Context;
use yunshou_model::asset::Asset;
use yunshou_model::finding::{
    normalise_cves, ReportItem, ReportedFinding, ScannedTarget, Severity, Target,
};
use yunshou_model::work_order::{WorkOrderAction, WorkOrderState};
use yunshou_model::Actor;
use yunshou_store::finding_import::ImportMeta;
use yunshou_store::findings::FindingFilter;
use yunshou_store::risks::RiskFields;
use yunshou_store::threats::ThreatFields;
use yunshou_store::work_orders::{WorkOrderChange, WorkOrderFilter};
use yunshou_store::{Page, Store, TenantScope};

/// The penetration-test and questionnaire findings shipped as the template's example.
const MANUAL: &str = include_str!("../../scanners/templates/manual-findings.csv");

/// A weakness the demo's quarterly scan finds: (plugin, CVE, title, CVSS v3.1 vector,
/// severity, port, service, solution).
type Weakness = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Severity,
    u16,
    &'static str,
    &'static str,
);

const SCAN: [Weakness; 12] = [
    (
        "187315",
        "CVE-2023-48795",
        "SSH Terrapin 前缀截断攻击（CVE-2023-48795）",
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:N",
        Severity::Medium,
        22,
        "ssh",
        "升级 OpenSSH 至 9.6 及以上，或禁用 ChaCha20-Poly1305 与 *-etm 算法。",
    ),
    (
        "201194",
        "CVE-2024-6387",
        "OpenSSH regreSSHion 远程代码执行（CVE-2024-6387）",
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
        Severity::High,
        22,
        "ssh",
        "升级 OpenSSH 至 9.8p1；临时将 LoginGraceTime 设为 0。",
    ),
    (
        "156164",
        "CVE-2021-44228",
        "Apache Log4j 远程代码执行（Log4Shell）",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
        Severity::Critical,
        8080,
        "http",
        "升级 log4j-core 至 2.17.1 及以上，或移除 JndiLookup 类。",
    ),
    (
        "159374",
        "CVE-2022-22965",
        "Spring Framework 远程代码执行（Spring4Shell）",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        Severity::Critical,
        8443,
        "https",
        "升级 Spring Framework 至 5.3.18 / 5.2.20 及以上。",
    ),
    (
        "150793",
        "CVE-2021-23017",
        "nginx DNS 解析器越界写（CVE-2021-23017）",
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
        Severity::High,
        443,
        "https",
        "升级 nginx 至 1.20.1 / 1.21.0 及以上。",
    ),
    (
        "182873",
        "CVE-2023-44487",
        "HTTP/2 Rapid Reset 拒绝服务（CVE-2023-44487）",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
        Severity::High,
        443,
        "https",
        "升级 Web 服务器并限制 HTTP/2 并发流。",
    ),
    (
        "100464",
        "CVE-2017-7494",
        "Samba 远程代码执行（SambaCry）",
        "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
        Severity::Critical,
        445,
        "smb",
        "升级 Samba，或在 smb.conf 中设置 nt pipe support = no。",
    ),
    (
        "193868",
        "CVE-2024-3094",
        "XZ Utils 后门（CVE-2024-3094）",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
        Severity::Critical,
        22,
        "ssh",
        "将 xz / liblzma 降级至 5.4.6。",
    ),
    (
        "104743",
        "",
        "TLS 1.0 协议仍启用",
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N",
        Severity::Low,
        443,
        "https",
        "禁用 TLS 1.0/1.1，仅保留 TLS 1.2 及以上（含国密套件）。",
    ),
    (
        "51192",
        "",
        "SSL 证书不受信任",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N",
        Severity::Medium,
        443,
        "https",
        "使用受信任 CA 签发的证书（政务 SM2 证书）。",
    ),
    (
        "10882",
        "",
        "SSH 协议版本信息泄露",
        "",
        Severity::Info,
        22,
        "ssh",
        "无需处置。",
    ),
    (
        "42873",
        "CVE-2016-2183",
        "SSL 中等强度加密套件（SWEET32）",
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N",
        Severity::Medium,
        3389,
        "msrdp",
        "禁用 3DES 等 64 位分组加密套件。",
    ),
];

fn weakness(w: &Weakness, ip: &str) -> ReportedFinding {
    let (plugin, cve, title, vector, severity, port, service, solution) = *w;
    ReportedFinding {
        source: "nessus".into(),
        check_id: Some(plugin.into()),
        target: Target {
            ip: Some(ip.into()),
            port: Some(port),
            protocol: Some("tcp".into()),
            service: Some(service.into()),
            ..Default::default()
        },
        title: title.into(),
        description: Some(format!("季度漏洞扫描在 {ip}:{port}/tcp 发现：{title}。")),
        solution: Some(solution.into()),
        evidence: Some(format!(
            "Nessus plugin {plugin} 输出：{service} 服务版本命中受影响范围。"
        )),
        cves: normalise_cves([cve]),
        cwes: vec![],
        cvss3: Some(vector.to_string()).filter(|v| !v.is_empty()),
        cvss4: None,
        cvss2: None,
        severity,
        severity_raw: Some(format!("{}", severity as u8)),
        references: if cve.is_empty() {
            vec![]
        } else {
            vec![format!("https://nvd.nist.gov/vuln/detail/{cve}")]
        },
        seen_at: None,
        known_exploited: matches!(cve, "CVE-2021-44228" | "CVE-2022-22965" | "CVE-2017-7494"),
        epss: None,
        category: Some(
            if port == 22 || port == 445 {
                "system_software"
            } else {
                "middleware"
            }
            .into(),
        ),
        method: Some("scan".into()),
    }
}

/// Hosts with an address, in ledger order.
fn hosts(ledger: &[Asset]) -> Vec<&Asset> {
    ledger
        .iter()
        .filter(|a| matches!(a.fields.kind.as_str(), "host" | "vm") && !a.fields.ips.is_empty())
        .collect()
}

/// The quarterly scan: each weakness on a handful of hosts, `skip` weaknesses left out (a
/// rescan after fixes).
fn quarterly_scan(ledger: &[Asset], skip: &[&str]) -> Vec<ReportItem> {
    let hosts = hosts(ledger);
    let mut items = vec![];
    for h in hosts.iter().take(24) {
        items.push(ReportItem::Scanned(ScannedTarget {
            target: Target {
                ip: Some(h.fields.ips[0].clone()),
                ..Default::default()
            },
        }));
    }
    for (i, w) in SCAN.iter().enumerate() {
        if skip.contains(&w.0) {
            continue;
        }
        for k in 0..(2 + i % 3) {
            let h = hosts[(i * 5 + k * 7) % hosts.len().min(24)];
            items.push(ReportItem::Finding(Box::new(weakness(w, &h.fields.ips[0]))));
        }
    }
    items
}

async fn import(
    store: &Store,
    scope: &TenantScope,
    meta: ImportMeta,
    items: Vec<ReportItem>,
    actor: &Actor,
) -> anyhow::Result<()> {
    let mut imp = store.begin_findings_import(scope, meta).await?;
    for item in items {
        imp.add(item, actor).await?;
    }
    imp.finish(actor).await?;
    Ok(())
}

fn meta(format: &str, source: &str, file_name: &str) -> ImportMeta {
    ImportMeta {
        format: format.into(),
        source: source.into(),
        file_name: file_name.into(),
        sha256: String::new(),
    }
}

/// Puts a report's hosts onto the organisation's own: each address of the report becomes
/// one of the ledger's (the same one every time), host names are dropped so the address
/// decides.
fn onto_ledger(items: Vec<ReportItem>, ledger: &[Asset]) -> Vec<ReportItem> {
    let hosts = hosts(ledger);
    let pool = hosts.len().min(40);
    let place = |t: &mut Target| {
        if let Some(ip) = &t.ip {
            let n = ip
                .bytes()
                .fold(7usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
            t.ip = Some(hosts[n % pool].fields.ips[0].clone());
            t.hostname = None;
        }
    };
    items
        .into_iter()
        .map(|item| match item {
            ReportItem::Scanned(mut s) => {
                place(&mut s.target);
                ReportItem::Scanned(s)
            }
            ReportItem::Finding(mut f) => {
                place(&mut f.target);
                ReportItem::Finding(f)
            }
        })
        .collect()
}

/// Real scanner reports from the fixtures, when they sit beside the clone.
fn fixture_reports() -> Vec<(&'static str, yunshou_scanners::Format, Vec<ReportItem>)> {
    let base = std::path::Path::new("../shared/fixtures/scanners");
    let files = [
        (
            "nessus/nessus_with_cvssv3.nessus",
            yunshou_scanners::Format::Nessus,
        ),
        (
            "openvas/many_vuln.xml",
            yunshou_scanners::Format::OpenvasXml,
        ),
        (
            "nuclei/many_findings.json",
            yunshou_scanners::Format::NucleiJson,
        ),
        (
            "trivy/scheme_2_many_vulns.json",
            yunshou_scanners::Format::TrivyJson,
        ),
    ];
    let mut out = vec![];
    for (path, format) in files {
        let Ok(file) = std::fs::File::open(base.join(path)) else {
            continue;
        };
        match yunshou_scanners::parse_all(format, &mut std::io::BufReader::new(file)) {
            Ok((items, _)) => out.push((path.rsplit('/').next().unwrap_or(path), format, items)),
            Err(e) => tracing::warn!(path, error = %e, "demo fixture report not imported"),
        }
    }
    out
}

/// The threat catalog every organisation starts from: (name, source, kind, agent, motive,
/// timing, techniques, baseline).
type ThreatSeed = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    Option<u8>,
);

const THREATS: [ThreatSeed; 8] = [
    (
        "互联网暴力破解与撞库",
        "human",
        "unauthorised_actions",
        "organised_group",
        "malicious",
        "夜间与节假日集中",
        &["T1110"],
        None,
    ),
    (
        "利用对外服务漏洞入侵",
        "human",
        "unauthorised_actions",
        "organised_group",
        "malicious",
        "漏洞公开后 72 小时内",
        &["T1190"],
        Some(3),
    ),
    (
        "Web 攻击（注入、Webshell、目录遍历）",
        "human",
        "malicious_code",
        "individual",
        "malicious",
        "全天",
        &["T1505", "T1083", "T1595"],
        None,
    ),
    (
        "内部人员越权访问与数据导出",
        "human",
        "information_damage",
        "insider",
        "malicious",
        "工作时间",
        &["T1078", "T1530", "T1005"],
        Some(2),
    ),
    (
        "勒索软件与恶意代码",
        "human",
        "malicious_code",
        "organised_group",
        "malicious",
        "重大活动期间",
        &["T1486", "T1059"],
        Some(2),
    ),
    (
        "运维误操作",
        "accidental",
        "operator_error",
        "operator_error",
        "non_malicious",
        "变更窗口",
        &[],
        Some(3),
    ),
    (
        "机房电力中断",
        "environmental",
        "infrastructure_failure",
        "system_failure",
        "non_malicious",
        "夏季用电高峰",
        &[],
        Some(2),
    ),
    (
        "洪涝等自然灾害",
        "environmental",
        "natural_disaster",
        "serious_disaster",
        "non_malicious",
        "汛期",
        &[],
        Some(1),
    ),
];

/// Seeds the story for one organisation.
pub async fn seed(
    store: &Store,
    scope: &TenantScope,
    ledger: &[Asset],
    admin: &Actor,
    analyst: &Actor,
    owner: &Actor,
) -> anyhow::Result<()> {
    let mut settings = store.vuln_settings(scope).await?;
    for (name, mail) in [
        ("张伟", "zhangwei@gov-cloud.example.cn"),
        ("李娜", "lina@gov-cloud.example.cn"),
    ] {
        settings.contacts.insert(name.into(), mail.into());
    }
    settings.notify_email = vec!["soc@gov-cloud.example.cn".into()];
    store.set_vuln_settings(scope, &settings, admin).await?;

    import(
        store,
        scope,
        meta("nessus", "nessus", "2026Q4-季度漏洞扫描.nessus"),
        quarterly_scan(ledger, &[]),
        analyst,
    )
    .await?;
    let manual =
        yunshou_scanners::parse_all(yunshou_scanners::Format::Template, &mut MANUAL.as_bytes())
            .map_err(|e| anyhow::anyhow!("the template parses: {e}"))?
            .0;
    import(
        store,
        scope,
        meta("template-csv", "manual", "2026 渗透测试与问卷结果.csv"),
        onto_ledger(manual, ledger),
        analyst,
    )
    .await?;
    for (name, format, items) in fixture_reports() {
        import(
            store,
            scope,
            meta(format.as_str(), format.source(), name),
            onto_ledger(items, ledger),
            analyst,
        )
        .await?;
    }
    work_orders(store, scope, admin, analyst, owner).await?;
    // The rescan after the fixes: the Samba hosts were patched, and one fix awaited its
    // retest — the rescan shows both gone.
    import(
        store,
        scope,
        meta("nessus", "nessus", "2026Q4-复测扫描.nessus"),
        quarterly_scan(ledger, &["100464", "51192"]),
        analyst,
    )
    .await?;
    // Since the rescan, one regreSSHion fix is in and waits for its retest.
    let (fixing, _) = store
        .work_orders(
            scope,
            &WorkOrderFilter {
                state: vec![WorkOrderState::Fixing],
                text: Some("regreSSHion".into()),
                ..Default::default()
            },
            Page {
                limit: 1,
                offset: 0,
            },
        )
        .await?;
    for o in fixing {
        let change = WorkOrderChange {
            action: Some(WorkOrderAction::RequestRetest),
            note: Some("OpenSSH 已升级至 9.8p1，请安排复测。".into()),
            assignee: None,
        };
        store
            .change_work_order(scope, &o.id, &change, owner)
            .await?;
    }

    let mut threats = vec![];
    for (name, source, kind, agent, motive, timing, techniques, baseline) in THREATS {
        let t = store
            .create_threat(
                scope,
                ThreatFields {
                    name: name.into(),
                    source: source.into(),
                    kind: kind.into(),
                    agent: agent.into(),
                    motive: motive.into(),
                    timing: Some(timing.into()),
                    description: None,
                    techniques: techniques.iter().map(|t| t.to_string()).collect(),
                    rule_ids: vec![],
                    baseline_level: baseline,
                },
                analyst,
            )
            .await?;
        threats.push(t);
    }
    risks(store, scope, ledger, &threats, analyst).await
}

async fn work_orders(
    store: &Store,
    scope: &TenantScope,
    admin: &Actor,
    analyst: &Actor,
    owner: &Actor,
) -> anyhow::Result<()> {
    let (orders, _) = store
        .work_orders(
            scope,
            &WorkOrderFilter {
                state: vec![WorkOrderState::Notified],
                ..Default::default()
            },
            Page {
                limit: 1000,
                offset: 0,
            },
        )
        .await?;
    let step = |action, note: &str| WorkOrderChange {
        action: Some(action),
        note: Some(note.to_string()).filter(|n| !n.is_empty()),
        assignee: None,
    };
    let by_title = |needle: &str| -> Vec<String> {
        orders
            .iter()
            .filter(|o| o.title.contains(needle))
            .map(|o| o.id.clone())
            .collect()
    };
    // Samba: accepted, fixed, retest claimed — the rescan will confirm it.
    for id in [by_title("SambaCry"), by_title("证书不受信任")].concat() {
        store
            .change_work_order(scope, &id, &step(WorkOrderAction::Accept, ""), owner)
            .await?;
        store
            .change_work_order(scope, &id, &step(WorkOrderAction::StartFix, ""), owner)
            .await?;
        store
            .change_work_order(
                scope,
                &id,
                &step(WorkOrderAction::RequestRetest, "已升级并重启服务，请复测。"),
                owner,
            )
            .await?;
    }
    // Log4Shell: one fixed and retested by the analyst with evidence.
    if let Some(id) = by_title("Log4Shell").into_iter().next() {
        store
            .change_work_order(scope, &id, &step(WorkOrderAction::Accept, ""), owner)
            .await?;
        store
            .change_work_order(scope, &id, &step(WorkOrderAction::StartFix, ""), owner)
            .await?;
        store
            .change_work_order(
                scope,
                &id,
                &step(WorkOrderAction::RequestRetest, "log4j-core 升级至 2.17.2。"),
                owner,
            )
            .await?;
        store
            .attach_to_work_order(
                scope,
                &id,
                "复测截图说明.txt",
                "text/plain",
                "复测：JNDI 探测载荷无回连，log4j-core 版本 2.17.2。".as_bytes(),
                analyst,
            )
            .await?;
        store
            .change_work_order(
                scope,
                &id,
                &step(WorkOrderAction::RetestPass, "复测无回连，见附件。"),
                analyst,
            )
            .await?;
    }
    // Spring4Shell and regreSSHion: being fixed; Terrapin accepted by the owner.
    for id in [by_title("Spring4Shell"), by_title("regreSSHion")]
        .concat()
        .into_iter()
        .take(3)
    {
        store
            .change_work_order(scope, &id, &step(WorkOrderAction::Accept, ""), owner)
            .await?;
        store
            .change_work_order(scope, &id, &step(WorkOrderAction::StartFix, ""), owner)
            .await?;
    }
    for id in by_title("Terrapin").into_iter().take(2) {
        store
            .change_work_order(scope, &id, &step(WorkOrderAction::Accept, ""), owner)
            .await?;
    }
    // TLS 1.0 on a legacy terminal: the risk is accepted until it is replaced.
    if let Some(id) = by_title("TLS 1.0").into_iter().next() {
        store
            .change_work_order(
                scope,
                &id,
                &step(
                    WorkOrderAction::AcceptRisk,
                    "老旧自助终端仅支持 TLS 1.0，2027 年一季度更换前接受风险，已加访问控制。",
                ),
                admin,
            )
            .await?;
    }
    if let Some(id) = by_title("SWEET32").into_iter().next() {
        store
            .change_work_order(
                scope,
                &id,
                &step(
                    WorkOrderAction::MarkFalsePositive,
                    "3389 端口为堡垒机代理，实测不支持 3DES，判定误报。",
                ),
                analyst,
            )
            .await?;
    }
    Ok(())
}

async fn risks(
    store: &Store,
    scope: &TenantScope,
    ledger: &[Asset],
    threats: &[yunshou_store::threats::Threat],
    analyst: &Actor,
) -> anyhow::Result<()> {
    let threat = |name: &str| {
        threats
            .iter()
            .find(|t| t.fields.name.starts_with(name))
            .map(|t| t.id.clone())
            .context("demo threat")
    };
    let (top, _) = store
        .findings(
            scope,
            &FindingFilter {
                min_risk_level: Some(3),
                ..Default::default()
            },
            Page {
                limit: 4,
                offset: 0,
            },
        )
        .await?;
    let owners = ["张伟", "李娜", "王强", "赵敏"];
    for (i, f) in top.iter().enumerate() {
        let treated = i % 2 == 0;
        store
            .create_risk(
                scope,
                RiskFields {
                    asset_id: f.asset_id.clone(),
                    threat_id: threat("利用对外服务漏洞")?,
                    finding_id: Some(f.id.clone()),
                    treatment: treated.then(|| "reduce".into()),
                    owner: treated.then(|| owners[i].into()),
                    due_date: treated.then(|| {
                        (chrono::Utc::now() + chrono::Duration::days(14))
                            .format("%Y-%m-%d")
                            .to_string()
                    }),
                    residual_level: treated.then_some(2),
                    status: Some(if treated { "treating" } else { "open" }.into()),
                    ..Default::default()
                },
                analyst,
            )
            .await?;
    }
    let hosts = hosts(ledger);
    for (threat_name, asset, weakness, level, treatment) in [
        (
            "运维误操作",
            hosts[0],
            "生产变更缺少双人复核，回退方案未演练",
            3,
            Some("reduce"),
        ),
        (
            "机房电力中断",
            hosts[1],
            "同城灾备切换未做过实战演练",
            3,
            Some("transfer"),
        ),
        (
            "内部人员越权",
            hosts[2],
            "数据库运维账号共用，审计无法定位到人",
            4,
            None,
        ),
    ] {
        store
            .create_risk(
                scope,
                RiskFields {
                    asset_id: asset.id.clone(),
                    threat_id: threat(threat_name)?,
                    vulnerability: Some(weakness.into()),
                    vulnerability_level: Some(level),
                    treatment: treatment.map(str::to_string),
                    owner: treatment.map(|_| "信息中心".to_string()),
                    due_date: treatment.map(|_| {
                        (chrono::Utc::now() + chrono::Duration::days(60))
                            .format("%Y-%m-%d")
                            .to_string()
                    }),
                    status: Some(
                        if treatment.is_some() {
                            "treating"
                        } else {
                            "open"
                        }
                        .into(),
                    ),
                    ..Default::default()
                },
                analyst,
            )
            .await?;
    }
    Ok(())
}
