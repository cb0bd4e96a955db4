//! Emergency plans (R.1.a): per incident class, the roles, contacts, steps per phase and the
//! reporting chain. Plans are versioned by the store; the steps become an incident's tasks.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::classification::{self, Level};
use crate::phases::Phase;

/// A role in the response team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRole {
    /// Name, e.g. 应急领导小组组长.
    pub name: String,
    /// Duties.
    #[serde(default)]
    pub duty: String,
}

/// Someone to reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanContact {
    /// The role they fill.
    pub role: String,
    /// Name.
    pub name: String,
    /// Phone.
    #[serde(default)]
    pub phone: String,
    /// E-mail.
    #[serde(default)]
    pub email: String,
}

/// One step of the plan, done in a phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanStep {
    /// The phase.
    pub phase: Phase,
    /// What to do.
    pub title: String,
    /// The role responsible.
    #[serde(default)]
    pub role: String,
}

/// One link of the reporting chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportingStep {
    /// To whom.
    pub to: String,
    /// Within how many minutes of the incident being known.
    pub within_minutes: i64,
    /// From which level on (I most severe): e.g. `III` means 较大 and above.
    pub from_level: Level,
}

/// A plan's content (one version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanContent {
    /// Roles.
    pub roles: Vec<PlanRole>,
    /// Contacts.
    #[serde(default)]
    pub contacts: Vec<PlanContact>,
    /// Steps.
    pub steps: Vec<PlanStep>,
    /// Reporting chain.
    #[serde(default)]
    pub reporting_chain: Vec<ReportingStep>,
}

/// Every problem of a plan, each naming where.
pub fn validate(category: &str, content: &PlanContent) -> Vec<String> {
    let mut problems = Vec::new();
    if classification::category(category).is_none() {
        problems.push(format!("category: unknown incident category {category:?}"));
    }
    if content.roles.is_empty() {
        problems.push("roles: a plan names at least one role".into());
    }
    for (i, r) in content.roles.iter().enumerate() {
        if r.name.trim().is_empty() {
            problems.push(format!("roles[{i}].name: empty"));
        }
    }
    let roles: Vec<&str> = content.roles.iter().map(|r| r.name.as_str()).collect();
    for (i, c) in content.contacts.iter().enumerate() {
        if c.name.trim().is_empty() {
            problems.push(format!("contacts[{i}].name: empty"));
        }
        if !roles.contains(&c.role.as_str()) {
            problems.push(format!(
                "contacts[{i}].role: {:?} is not a role of the plan",
                c.role
            ));
        }
        if !c.email.is_empty() && !c.email.contains('@') {
            problems.push(format!("contacts[{i}].email: not an address"));
        }
    }
    if content.steps.is_empty() {
        problems.push("steps: a plan has at least one step".into());
    }
    for (i, s) in content.steps.iter().enumerate() {
        if s.title.trim().is_empty() {
            problems.push(format!("steps[{i}].title: empty"));
        }
        if !s.role.is_empty() && !roles.contains(&s.role.as_str()) {
            problems.push(format!(
                "steps[{i}].role: {:?} is not a role of the plan",
                s.role
            ));
        }
    }
    for (i, r) in content.reporting_chain.iter().enumerate() {
        if r.to.trim().is_empty() {
            problems.push(format!("reporting_chain[{i}].to: empty"));
        }
        if r.within_minutes <= 0 {
            problems.push(format!(
                "reporting_chain[{i}].within_minutes: must be positive"
            ));
        }
    }
    problems
}

const LEADER: &str = "应急领导小组组长";
const TECH: &str = "技术处置组";
const LIAISON: &str = "联络报告员";
const OWNER: &str = "业务系统负责人";

fn step(phase: Phase, title: &str, role: &str) -> PlanStep {
    PlanStep {
        phase,
        title: title.into(),
        role: role.into(),
    }
}

/// The template a tenant starts from for a class: the common steps of every phase plus the
/// class's own.
pub fn template(category: &str) -> PlanContent {
    use Phase::*;
    let mut steps = vec![
        step(Preparation, "确认值班人员与应急小组联系方式", LEADER),
        step(Preparation, "核对备份与应急工具可用", TECH),
        step(Diagnosis, "联系报告人与系统负责人了解情况", LIAISON),
        step(
            Diagnosis,
            "按 GB/T 20986-2023 分类定级并决定是否启动响应",
            LEADER,
        ),
        step(Containment, "隔离受影响主机或账户，保全现场证据", TECH),
        step(Eradication, "分析根本原因，修复被利用的弱点", TECH),
        step(Recovery, "恢复业务并验证完整性与可用性", OWNER),
        step(Tracking, "持续监测是否复发", TECH),
        step(
            Optimization,
            "编写响应报告，召开复盘会，更新预案与规则",
            LEADER,
        ),
    ];
    let extra: &[(Phase, &str, &str)] = match category {
        "MP" => &[
            (Containment, "断开受感染主机网络，阻断 C2 通信", TECH),
            (Eradication, "查杀恶意程序并核对持久化项", TECH),
            (Recovery, "从干净备份恢复被加密或篡改的数据", OWNER),
        ],
        "NA" => &[
            (Containment, "在边界防火墙封禁攻击源地址", TECH),
            (Containment, "重置被攻击账户口令", OWNER),
            (Eradication, "修补被利用漏洞并复核同类资产", TECH),
        ],
        "DS" => &[
            (Diagnosis, "确认泄露数据的类别、数量与涉及人数", OWNER),
            (Containment, "撤销泄露渠道的访问权限", TECH),
            (Tracking, "监测泄露数据在外部渠道的传播", TECH),
        ],
        "DE" => &[
            (Containment, "切换至备用设备或灾备中心", TECH),
            (Recovery, "修复或更换故障设备并回切", OWNER),
        ],
        _ => &[],
    };
    for (phase, title, role) in extra {
        steps.push(step(*phase, title, role));
    }
    steps.sort_by_key(|s| s.phase);
    PlanContent {
        roles: vec![
            PlanRole {
                name: LEADER.into(),
                duty: "决定启动与终止响应，批准对外报告".into(),
            },
            PlanRole {
                name: TECH.into(),
                duty: "分析、抑制、根除与取证".into(),
            },
            PlanRole {
                name: LIAISON.into(),
                duty: "内外部联络与按时限报告".into(),
            },
            PlanRole {
                name: OWNER.into(),
                duty: "业务影响评估与恢复验证".into(),
            },
        ],
        contacts: Vec::new(),
        steps,
        reporting_chain: vec![
            ReportingStep {
                to: "单位网络安全领导小组".into(),
                within_minutes: 30,
                from_level: Level::IV,
            },
            ReportingStep {
                to: "省级网信部门".into(),
                within_minutes: 240,
                from_level: Level::III,
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_is_valid_and_covers_every_phase() {
        for cat in classification::CATEGORIES {
            let t = template(cat.code);
            assert!(validate(cat.code, &t).is_empty(), "{}", cat.code);
            for phase in Phase::ALL {
                assert!(
                    t.steps.iter().any(|s| s.phase == phase),
                    "{} {:?}",
                    cat.code,
                    phase
                );
            }
        }
    }

    #[test]
    fn problems_name_their_place() {
        let mut t = template("NA");
        t.contacts.push(PlanContact {
            role: "不存在".into(),
            name: "张三".into(),
            phone: String::new(),
            email: "bad".into(),
        });
        t.reporting_chain[0].within_minutes = 0;
        let p = validate("ZZ", &t);
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(p[1].starts_with("contacts[0].role"));
    }
}
