//! The organisation's response setting: emergency plans with its contacts and reporting
//! chain, the drill that revised the network-attack plan and its improvement items, the
//! scheduled tabletop exercise, and the example playbooks.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use yunshou_model::Actor;
use yunshou_respond::classification::CATEGORIES;
use yunshou_respond::phases::Phase;
use yunshou_respond::plans::{self, PlanContact, PlanContent, PlanStep, ReportingStep};
use yunshou_store::response_plans::{
    DrillInput, DrillRecord, DrillStep, NewImprovementItem, NewPlanVersion, ResponsePlan,
};
use yunshou_store::{Store, TenantScope};

use super::orgs::Org;
use super::{date, LEADER, TECH};

/// The example playbooks every demo organisation has enabled: (file, YAML).
const PLAYBOOKS: [(&str, &str); 3] = [
    (
        "ssh-brute-force.yaml",
        include_str!("../../../playbooks/examples/ssh-brute-force.yaml"),
    ),
    (
        "leaked-account.yaml",
        include_str!("../../../playbooks/examples/leaked-account.yaml"),
    ),
    (
        "ransomware-incident.yaml",
        include_str!("../../../playbooks/examples/ransomware-incident.yaml"),
    ),
];

/// A plan for one class: the template with the organisation's contacts and reporting chain.
fn plan_content(org: &Org, category: &str) -> PlanContent {
    let mut content = plans::template(category);
    content.contacts = org
        .contacts
        .iter()
        .map(|(role, name, phone, email)| PlanContact {
            role: (*role).into(),
            name: (*name).into(),
            phone: (*phone).into(),
            email: (*email).into(),
        })
        .collect();
    content.reporting_chain = org
        .reporting
        .iter()
        .map(|(to, minutes, level)| ReportingStep {
            to: (*to).into(),
            within_minutes: *minutes,
            from_level: *level,
        })
        .collect();
    content
}

/// The network-attack plan's second version: blocking a source needs the leader's approval.
fn with_blocking_approval(mut content: PlanContent) -> PlanContent {
    let at = content
        .steps
        .iter()
        .position(|s| s.title.contains("封禁"))
        .unwrap_or(content.steps.len());
    content.steps.insert(
        at,
        PlanStep {
            phase: Phase::Containment,
            title: "封禁攻击源前报应急领导小组组长审批（夜间可电话审批，次日补签）".into(),
            role: LEADER.into(),
        },
    );
    content.steps.insert(
        at + 2,
        PlanStep {
            phase: Phase::Containment,
            title: "封禁后 24 小时内复核是否误封政务服务出口地址".into(),
            role: TECH.into(),
        },
    );
    content
}

/// Saves the organisation's plan for every class; returns the network-attack plan and the
/// malicious-program plan (when that class exists).
pub(super) async fn save_plans(
    store: &Store,
    scope: &TenantScope,
    org: &Org,
    admin: &Actor,
) -> anyhow::Result<(ResponsePlan, Option<ResponsePlan>)> {
    let mut na_v1: Option<ResponsePlan> = None;
    let mut mp: Option<ResponsePlan> = None;
    for cat in CATEGORIES {
        let plan = store
            .save_plan(
                scope,
                &NewPlanVersion {
                    category: cat.code.into(),
                    name: format!("{}专项应急预案", cat.zh),
                    content: plan_content(org, cat.code),
                    note: format!(
                        "依据 GB/T 20986-2023 与《国家网络安全事件应急预案》编制，经{}网络安全和信息化领导小组审定发布",
                        if org.prefix == "jn" { "局" } else { "厅" }
                    ),
                },
                admin,
            )
            .await
            .with_context(|| format!("plan {}", cat.code))?;
        match cat.code {
            "NA" => na_v1 = Some(plan),
            "MP" => mp = Some(plan),
            _ => {}
        }
    }
    let na_v1 = na_v1.context("the network-attack class exists")?;
    Ok((na_v1, mp))
}

/// The drill three weeks ago on the network-attack plan's first version, its two improvement
/// items, and the second version it led to (which closes the first item).
pub(super) async fn drill_and_revise(
    store: &Store,
    scope: &TenantScope,
    org: &Org,
    na_v1: &ResponsePlan,
    now: DateTime<Utc>,
    admin: &Actor,
) -> anyhow::Result<()> {
    let drill = store
        .schedule_drill(
            scope,
            &DrillInput {
                plan_id: na_v1.id.clone(),
                title: "SSH 暴力破解与账号失陷处置实战演练".into(),
                scenario: format!(
                    "模拟境外地址对{}应用服务器发起 SSH 暴力破解并以运维账号登录成功，检验告警发现、研判定级、封禁抑制、取证与逐级报告流程。",
                    org.drill_system
                ),
                scheduled_for: date(now - Duration::days(21)),
                participants: format!(
                    "{}信息中心、技术处置组、联络报告员、{}运维单位、云守驻场应急响应",
                    org.name, org.drill_system
                ),
            },
            admin,
        )
        .await?;
    let steps = [
        ("值班员发现告警并电话通知技术处置组", 8),
        ("研判告警，确认运维账号失陷并按较大事件定级", 22),
        ("边界防火墙封禁攻击源，禁用并重置被盗账号", 25),
        ("提取 auth.log 与流量样本，计算 SM3 摘要后入证据库", 18),
        ("向领导小组口头报告，向网信部门模拟书面报告", 15),
        ("演练点评与复盘", 30),
    ];
    store
        .record_drill(
            scope,
            &drill.id,
            &DrillRecord {
                steps: steps
                    .iter()
                    .map(|(title, minutes)| DrillStep {
                        title: (*title).into(),
                        minutes: *minutes,
                    })
                    .collect(),
                findings: "从发现告警到完成封禁共用时 55 分钟，超出预案 30 分钟的目标。主要问题：一是值班员未经审批直接封禁，险些误封政务服务出口地址；二是三台边界防火墙需逐台登录操作，封禁耗时过长。取证与报告环节符合预案要求，SM3 摘要记录完整。".into(),
                participants: None,
            },
            admin,
        )
        .await?;
    let approval = store
        .add_improvement_item(
            scope,
            "drill",
            &drill.id,
            &NewImprovementItem {
                title: "预案补充封禁审批流程，明确夜间电话审批与次日补签".into(),
                kind: "plan".into(),
                link: String::new(),
                owner: Some(org.item_owners.0.into()),
                due_date: Some(date(now - Duration::days(7))),
            },
            admin,
        )
        .await?;
    store
        .add_improvement_item(
            scope,
            "drill",
            &drill.id,
            &NewImprovementItem {
                title: "边界防火墙封禁改由云守剧本统一下发，取消逐台人工操作".into(),
                kind: "process".into(),
                link: "剧本 ssh-brute-force".into(),
                owner: Some(org.item_owners.1.into()),
                due_date: Some(date(now + Duration::days(30))),
            },
            admin,
        )
        .await?;
    let na_v2 = store
        .save_plan(
            scope,
            &NewPlanVersion {
                category: "NA".into(),
                name: na_v1.name.clone(),
                content: with_blocking_approval(na_v1.content.clone()),
                note: "补充封禁审批流程".into(),
            },
            admin,
        )
        .await?;
    store
        .close_improvement_item(
            scope,
            &approval.id,
            &format!("预案 NA v{}", na_v2.version),
            "预案第 2 版已在抑制阶段增加封禁审批与误封复核两个步骤，并组织值班员学习",
            admin,
        )
        .await?;
    Ok(())
}

/// Next month's tabletop exercise on the ransomware plan, when there is one.
pub(super) async fn schedule_tabletop(
    store: &Store,
    scope: &TenantScope,
    mp: Option<ResponsePlan>,
    now: DateTime<Utc>,
    admin: &Actor,
) -> anyhow::Result<()> {
    match mp {
        Some(mp) => {
            store
                .schedule_drill(
                    scope,
                    &DrillInput {
                        plan_id: mp.id,
                        title: "勒索软件事件桌面推演".into(),
                        scenario: "模拟内网文件服务器与应用服务器被勒索软件加密、备份服务器同时受到攻击，推演断网隔离、备份可用性确认、离线恢复与对外报告。".into(),
                        scheduled_for: date(now + Duration::days(30)),
                        participants: "应急领导小组、技术处置组、各业务系统负责人、备份服务商".into(),
                    },
                    admin,
                )
                .await?;
        }
        None => tracing::warn!("demo: no malicious-program plan; ransomware drill not scheduled"),
    }
    Ok(())
}

/// Saves the example playbooks, enabled; one that does not parse is logged and skipped.
pub(super) async fn enable_playbooks(
    store: &Store,
    scope: &TenantScope,
    admin: &Actor,
) -> anyhow::Result<()> {
    for (file, yaml) in PLAYBOOKS {
        let playbook = match yunshou_playbooks::parse(yaml) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("demo: example playbook {file} does not parse: {e}");
                continue;
            }
        };
        store
            .save_playbook(scope, &playbook.id, &playbook.name, yaml, true, admin)
            .await?;
    }
    Ok(())
}
