//! The demo's respond story (R.1, R.2): each organisation has told the platform who it is for
//! reporting duties, keeps an emergency plan for every GB/T 20986-2023 class (the network
//! attack plan in its second version, after a drill showed blocking needed an approval step),
//! has drilled that plan three weeks ago and scheduled a ransomware drill for next month, and
//! has the three example playbooks enabled.
//!
//! Once the day of logs has raised alerts, its responder works five incidents — from the
//! alerts where one fits, by hand on the ledger's hosts otherwise: one just taken on (in
//! diagnosis), an SSH brute force being contained, a ransomware infection or data leak in
//! recovery, a false alarm closed at diagnosis, and last month's compromised operations account
//! taken all the way through optimisation, ready to be archived with its report. Evidence
//! (an `auth.log` excerpt, a saved search, a packet capture) sits in the vault with its chain
//! of custody. Everything goes through the same store calls the console uses.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};
use yunshou_model::asset::Asset;
use yunshou_model::Actor;
use yunshou_respond::classification::{
    GradingInputs, Importance, Level, Loss, OperatorKind, SocialHarm, CATEGORIES,
};
use yunshou_respond::phases::Phase;
use yunshou_respond::plans::{self, PlanContact, PlanContent, PlanStep, ReportingStep};
use yunshou_store::alerts::{Alert, AlertFilter};
use yunshou_store::evidence_vault::EvidenceIntake;
use yunshou_store::findings::{Finding, FindingFilter};
use yunshou_store::incidents::{
    Incident, IncidentFilter, IncidentPatch, IncidentStatus, NewIncident, NewObservable,
};
use yunshou_store::response_plans::{
    DrillInput, DrillRecord, DrillStep, NewImprovementItem, NewPlanVersion, ResponsePlan,
};
use yunshou_store::{Page, Store, TenantScope};

use crate::CUSTOMERS;

/// The example playbooks every demo organisation has enabled: (file, YAML).
const PLAYBOOKS: [(&str, &str); 3] = [
    (
        "ssh-brute-force.yaml",
        include_str!("../../playbooks/examples/ssh-brute-force.yaml"),
    ),
    (
        "leaked-account.yaml",
        include_str!("../../playbooks/examples/leaked-account.yaml"),
    ),
    (
        "ransomware-incident.yaml",
        include_str!("../../playbooks/examples/ransomware-incident.yaml"),
    ),
];

/// The plans' roles (as `yunshou_respond::plans::template` names them).
const LEADER: &str = "应急领导小组组长";
const TECH: &str = "技术处置组";
const LIAISON: &str = "联络报告员";
const OWNER: &str = "业务系统负责人";

/// The address that broke into an operations account last month (it is on the CNCERT feed
/// the demo imports).
const PAST_ATTACKER: &str = "45.155.205.233";
/// The brute-forcer of the demo's day of logs, when no alert names one.
const TODAY_ATTACKER: &str = "198.51.100.23";

/// Who an organisation is, for the texts and contacts of its records.
struct Org {
    /// `jn` / `qh`: the prefix of its accounts.
    prefix: &'static str,
    /// Its name.
    name: &'static str,
    /// For reporting duties.
    kind: OperatorKind,
    /// Contacts: (role, name, phone, e-mail).
    contacts: [(&'static str, &'static str, &'static str, &'static str); 6],
    /// Its reporting chain: (to whom, minutes, from level).
    reporting: [(&'static str, i64, Level); 3],
    /// Hosts of the stories, by ledger name: brute-forced app server, ransomware / leak
    /// target, public web server, database of the false alarm.
    hosts: [&'static str; 4],
    /// The system of the drill scenario.
    drill_system: &'static str,
    /// The police's cyber-security unit evidence is handed to.
    police: &'static str,
    /// The cyberspace affairs office reports go to.
    cac: &'static str,
    /// Who leads improvement items: (plan owner, process owner).
    item_owners: (&'static str, &'static str),
    /// Ransomware (true) or data-leak (false) incident in recovery.
    ransomware: bool,
}

const JIANGNING: Org = Org {
    prefix: "jn",
    name: "江宁市大数据管理局",
    kind: OperatorKind::StateOrgan,
    contacts: [
        (
            LEADER,
            "周建华（分管副局长）",
            "025-83421001",
            "zhoujianhua@jiangning.gov.cn",
        ),
        (
            TECH,
            "刘洋（信息中心网络安全科）",
            "025-83421026",
            "liuyang@jiangning.gov.cn",
        ),
        (
            TECH,
            "李强（云守驻场应急响应）",
            "025-83421090",
            "soc-duty@jiangning.gov.cn",
        ),
        (
            LIAISON,
            "王晓雯（办公室）",
            "025-83421018",
            "wangxiaowen@jiangning.gov.cn",
        ),
        (
            OWNER,
            "陈志刚（一网通办平台）",
            "025-83421035",
            "chenzhigang@jiangning.gov.cn",
        ),
        (
            OWNER,
            "信息中心 7×24 值班室",
            "025-83421000",
            "zhiban@jiangning.gov.cn",
        ),
    ],
    reporting: [
        ("局网络安全和信息化领导小组", 30, Level::IV),
        ("江宁市委网信办（本单位网信部门）", 120, Level::III),
        ("江宁市公安局网络安全保卫支队", 120, Level::III),
    ],
    hosts: ["ywtb-app-03", "dzzz-app-02", "zwfw-web-01", "gxjh-db-01"],
    drill_system: "一网通办平台",
    police: "江宁市公安局网络安全保卫支队",
    cac: "江宁市委网信办",
    item_owners: ("jn.admin", "li.qiang"),
    ransomware: true,
};

const QINGHE: Org = Org {
    prefix: "qh",
    name: "清河省人力资源和社会保障厅",
    kind: OperatorKind::Other,
    contacts: [
        (
            LEADER,
            "赵立新（信息中心主任）",
            "0311-86702001",
            "zhaolixin@hrss.qinghe.gov.cn",
        ),
        (
            TECH,
            "孙浩（网络安全科）",
            "0311-86702033",
            "sunhao@hrss.qinghe.gov.cn",
        ),
        (
            TECH,
            "马骏（运维保障科）",
            "0311-86702036",
            "majun@hrss.qinghe.gov.cn",
        ),
        (
            LIAISON,
            "郭敏（办公室）",
            "0311-86702015",
            "guomin@hrss.qinghe.gov.cn",
        ),
        (
            OWNER,
            "韩雪（社保卡服务平台）",
            "0311-86702047",
            "hanxue@hrss.qinghe.gov.cn",
        ),
        (
            OWNER,
            "信息中心 7×24 值班室",
            "0311-86702000",
            "zhiban@hrss.qinghe.gov.cn",
        ),
    ],
    reporting: [
        ("厅网络安全和信息化领导小组", 30, Level::IV),
        ("清河省委网信办", 240, Level::III),
        ("清河省公安厅网络安全保卫总队", 240, Level::III),
    ],
    hosts: ["sbjb-app-03", "sbk-db-01", "rsks-web-01", "ythpt-db-01"],
    drill_system: "社会保险经办系统",
    police: "清河省公安厅网络安全保卫总队",
    cac: "清河省委网信办",
    item_owners: ("qh.admin", "qh.responder"),
    ransomware: false,
};

fn org(tenant_name: &str) -> &'static Org {
    if tenant_name == CUSTOMERS[0].0 {
        &JIANGNING
    } else {
        &QINGHE
    }
}

/// The acting user, when the account exists.
async fn actor(store: &Store, username: &str, ip: &str) -> anyhow::Result<Option<Actor>> {
    Ok(store.user_by_username(username).await?.map(|u| Actor {
        user_id: Some(u.id.clone()),
        name: u.username.clone(),
        source_ip: Some(ip.into()),
    }))
}

/// The organisation's administrator, else the platform's.
async fn admin_actor(store: &Store, org: &Org) -> anyhow::Result<Actor> {
    if let Some(a) = actor(store, &format!("{}.admin", org.prefix), "10.20.3.5").await? {
        return Ok(a);
    }
    tracing::warn!(
        "demo: {}.admin missing; acting as the platform administrator",
        org.prefix
    );
    actor(store, "admin", "10.10.1.5")
        .await?
        .context("no administrator account: bootstrap first")
}

fn date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

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

/// Seeds an organisation's response setting: operator kind, emergency plans for every class
/// (the network-attack plan in two versions), a drill held three weeks ago with its
/// improvement items, a ransomware drill scheduled next month, and the example playbooks,
/// enabled. Does nothing if the organisation already has plans.
pub async fn seed_response(store: &Store, tenant_name: &str) -> anyhow::Result<()> {
    let (_, scope) = store.operator_scope(tenant_name).await?;
    let org = org(tenant_name);
    let admin = admin_actor(store, org).await?;
    if !store.current_plans(&scope).await?.is_empty() {
        tracing::info!("demo: {tenant_name} already has emergency plans; response not seeded");
        return Ok(());
    }
    store.set_operator_kind(&scope, org.kind, &admin).await?;

    let mut na_v1: Option<ResponsePlan> = None;
    let mut mp: Option<ResponsePlan> = None;
    for cat in CATEGORIES {
        let plan = store
            .save_plan(
                &scope,
                &NewPlanVersion {
                    category: cat.code.into(),
                    name: format!("{}专项应急预案", cat.zh),
                    content: plan_content(org, cat.code),
                    note: format!(
                        "依据 GB/T 20986-2023 与《国家网络安全事件应急预案》编制，经{}网络安全和信息化领导小组审定发布",
                        if org.prefix == "jn" { "局" } else { "厅" }
                    ),
                },
                &admin,
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

    // The drill three weeks ago on the first version, which led to the second.
    let now = Utc::now();
    let drill = store
        .schedule_drill(
            &scope,
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
            &admin,
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
            &scope,
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
            &admin,
        )
        .await?;
    let approval = store
        .add_improvement_item(
            &scope,
            "drill",
            &drill.id,
            &NewImprovementItem {
                title: "预案补充封禁审批流程，明确夜间电话审批与次日补签".into(),
                kind: "plan".into(),
                link: String::new(),
                owner: Some(org.item_owners.0.into()),
                due_date: Some(date(now - Duration::days(7))),
            },
            &admin,
        )
        .await?;
    store
        .add_improvement_item(
            &scope,
            "drill",
            &drill.id,
            &NewImprovementItem {
                title: "边界防火墙封禁改由云守剧本统一下发，取消逐台人工操作".into(),
                kind: "process".into(),
                link: "剧本 ssh-brute-force".into(),
                owner: Some(org.item_owners.1.into()),
                due_date: Some(date(now + Duration::days(30))),
            },
            &admin,
        )
        .await?;
    let na_v2 = store
        .save_plan(
            &scope,
            &NewPlanVersion {
                category: "NA".into(),
                name: na_v1.name.clone(),
                content: with_blocking_approval(na_v1.content.clone()),
                note: "补充封禁审批流程".into(),
            },
            &admin,
        )
        .await?;
    store
        .close_improvement_item(
            &scope,
            &approval.id,
            &format!("预案 NA v{}", na_v2.version),
            "预案第 2 版已在抑制阶段增加封禁审批与误封复核两个步骤，并组织值班员学习",
            &admin,
        )
        .await?;

    // Next month's tabletop exercise on the ransomware plan.
    match mp {
        Some(mp) => {
            store
                .schedule_drill(
                    &scope,
                    &DrillInput {
                        plan_id: mp.id,
                        title: "勒索软件事件桌面推演".into(),
                        scenario: "模拟内网文件服务器与应用服务器被勒索软件加密、备份服务器同时受到攻击，推演断网隔离、备份可用性确认、离线恢复与对外报告。".into(),
                        scheduled_for: date(now + Duration::days(30)),
                        participants: "应急领导小组、技术处置组、各业务系统负责人、备份服务商".into(),
                    },
                    &admin,
                )
                .await?;
        }
        None => tracing::warn!("demo: no malicious-program plan; ransomware drill not scheduled"),
    }

    for (file, yaml) in PLAYBOOKS {
        let playbook = match yunshou_playbooks::parse(yaml) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("demo: example playbook {file} does not parse: {e}");
                continue;
            }
        };
        store
            .save_playbook(&scope, &playbook.id, &playbook.name, yaml, true, &admin)
            .await?;
    }
    Ok(())
}

/// Creates and works the organisation's incidents as its responder would, once the day of
/// logs has raised alerts (incidents are made from fitting alerts, by hand otherwise): one in
/// diagnosis, one in containment, one in recovery, a false alarm closed at diagnosis, and one
/// through optimisation with every record the archive needs. Returns the ids of the incidents
/// ready to be archived. Does nothing (and returns none) if the organisation already has
/// incidents.
pub async fn incidents(
    store: &Store,
    tenant_name: &str,
    responder: &str,
) -> anyhow::Result<Vec<String>> {
    let (_, scope) = store.operator_scope(tenant_name).await?;
    let (_, existing) = store
        .incidents(
            &scope,
            &IncidentFilter::default(),
            Page {
                limit: 1,
                offset: 0,
            },
        )
        .await?;
    if existing > 0 {
        tracing::info!("demo: {tenant_name} already has incidents; none added");
        return Ok(Vec::new());
    }
    let org = org(tenant_name);
    let responder = actor(store, responder, "10.20.3.21")
        .await?
        .with_context(|| format!("demo responder {responder}"))?;
    let analyst = match actor(store, &format!("{}.analyst", org.prefix), "10.20.3.17").await? {
        Some(a) => a,
        None => {
            tracing::warn!(
                "demo: {}.analyst missing; the responder views evidence",
                org.prefix
            );
            responder.clone()
        }
    };
    let (alerts, _) = store
        .alerts(
            &scope,
            &AlertFilter::default(),
            Page {
                limit: 1000,
                offset: 0,
            },
        )
        .await?;
    let (ledger, _) = store
        .list_assets(
            &scope,
            &Default::default(),
            Default::default(),
            Page {
                limit: 1000,
                offset: 0,
            },
        )
        .await?;
    let (findings, _) = store
        .findings(
            &scope,
            &FindingFilter::default(),
            Page {
                limit: 500,
                offset: 0,
            },
        )
        .await?;
    let mut s = Story {
        store,
        scope,
        org,
        responder,
        analyst,
        alerts,
        used: HashSet::new(),
        ledger,
        findings,
        now: Utc::now(),
    };
    let archivable = s.compromised_account().await?;
    s.in_recovery().await?;
    s.brute_force_contained().await?;
    s.false_alarm().await?;
    s.just_taken_on().await?;
    Ok(vec![archivable])
}

/// What the incident stories work with.
struct Story<'a> {
    store: &'a Store,
    scope: TenantScope,
    org: &'static Org,
    responder: Actor,
    analyst: Actor,
    alerts: Vec<Alert>,
    used: HashSet<String>,
    ledger: Vec<Asset>,
    findings: Vec<Finding>,
    now: DateTime<Utc>,
}

/// A records patch from a JSON object.
fn records(v: Value) -> Option<Map<String, Value>> {
    match v {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn grading(importance: Importance, loss: Loss) -> GradingInputs {
    GradingInputs {
        importance,
        loss,
        social_harm: SocialHarm::Ordinary,
    }
}

impl Story<'_> {
    /// The first alert not yet used whose title or rule matches a keyword (lower case), with
    /// the keyword's index.
    fn alert(&mut self, keywords: &[&str]) -> Option<(Alert, usize)> {
        for (k, word) in keywords.iter().enumerate() {
            let found = self.alerts.iter().find(|a| {
                !self.used.contains(&a.id)
                    && (a.title.to_lowercase().contains(word)
                        || a.rule_id.to_lowercase().contains(word))
            });
            if let Some(a) = found {
                self.used.insert(a.id.clone());
                return Some((a.clone(), k));
            }
        }
        None
    }

    /// The ledger asset of that name, else the first with an address whose name has `role`
    /// (`-app-`, `-db-`, `-web-`), else any with an address.
    fn asset(&self, name: &str, role: &str) -> Option<Asset> {
        let addressed = |a: &&Asset| !a.fields.ips.is_empty();
        let found = self
            .ledger
            .iter()
            .filter(addressed)
            .find(|a| a.fields.name == name)
            .or_else(|| {
                self.ledger
                    .iter()
                    .filter(addressed)
                    .find(|a| a.fields.name.contains(role))
            })
            .or_else(|| self.ledger.iter().find(addressed))
            .cloned();
        if found.is_none() {
            tracing::warn!("demo: no asset with an address for {name}; incident without assets");
        }
        found
    }

    /// A finding whose title has a keyword (earlier keywords first), on `asset` when one
    /// there has it; else any finding on `asset`; else none.
    fn finding(&self, keywords: &[&str], asset: Option<&Asset>) -> Option<Finding> {
        let on = |f: &&Finding| asset.is_some_and(|a| a.id == f.asset_id);
        let found = keywords
            .iter()
            .find_map(|k| {
                self.findings
                    .iter()
                    .filter(on)
                    .find(|f| f.title.contains(k))
            })
            .or_else(|| {
                keywords
                    .iter()
                    .find_map(|k| self.findings.iter().find(|f| f.title.contains(k)))
            })
            .or_else(|| self.findings.iter().find(on))
            .cloned();
        if found.is_none() {
            tracing::warn!(
                "demo: no finding fits ({}); incident not linked to one",
                keywords.join(", ")
            );
        }
        found
    }

    async fn create(&self, new: NewIncident, source: &str, by: &Actor) -> anyhow::Result<Incident> {
        let title = new.title.clone();
        self.store
            .create_incident(&self.scope, &new, source, by)
            .await
            .with_context(|| format!("create incident {title}"))
    }

    async fn patch(
        &self,
        inc: &Incident,
        patch: IncidentPatch,
        by: &Actor,
    ) -> anyhow::Result<Incident> {
        self.store
            .update_incident(&self.scope, &inc.id, &patch, by)
            .await
            .with_context(|| format!("update {} {}", inc.label, inc.title))
    }

    /// Takes the incident on (owner) and moves it to diagnosis.
    async fn take_on(&self, inc: &Incident) -> anyhow::Result<Incident> {
        self.patch(
            inc,
            IncidentPatch {
                owner: Some(self.responder.name.clone()),
                phase: Some(Phase::Diagnosis),
                ..Default::default()
            },
            &self.responder,
        )
        .await
    }

    /// Classifies and grades, confirming the suggested level (the store raises the notices).
    async fn classify(
        &self,
        inc: &Incident,
        category: &str,
        subcategory: &str,
        grading: GradingInputs,
    ) -> anyhow::Result<Incident> {
        self.patch(
            inc,
            IncidentPatch {
                category: Some(category.into()),
                subcategory: Some(subcategory.into()),
                grading: Some(grading),
                level_confirmed: Some(true),
                ..Default::default()
            },
            &self.analyst,
        )
        .await
    }

    /// Records `recs` and moves one phase forward.
    async fn advance(&self, inc: &Incident, recs: Value, to: Phase) -> anyhow::Result<Incident> {
        self.patch(
            inc,
            IncidentPatch {
                records: records(recs),
                phase: Some(to),
                ..Default::default()
            },
            &self.responder,
        )
        .await
    }

    /// Marks done the tasks of the phases before `before` (all when `None`).
    async fn tasks_done(&self, inc: &Incident, before: Option<Phase>) -> anyhow::Result<()> {
        let detail = self.store.incident_detail(&self.scope, &inc.id).await?;
        for t in detail.tasks {
            if t.done_at.is_none() && before.is_none_or(|p| t.phase < p) {
                self.store
                    .set_task_done(&self.scope, &inc.id, &t.id, true, &self.responder)
                    .await?;
            }
        }
        Ok(())
    }

    /// Records every notice of the incident as reported.
    async fn notices_reported(&self, inc: &Incident, reference: &str) -> anyhow::Result<()> {
        let detail = self.store.incident_detail(&self.scope, &inc.id).await?;
        for n in detail.notices.iter().filter(|n| n.reported_at.is_none()) {
            let note = format!(
                "已通过网络安全信息报送平台向{}（{}）书面报告（{}），并电话告知值班员",
                n.recipient, self.org.cac, reference
            );
            self.store
                .mark_notice_reported(&self.scope, &inc.id, &n.id, &note, &self.responder)
                .await?;
        }
        Ok(())
    }

    /// Takes an item into the vault; a vault that cannot take it (a store without a data
    /// directory) is logged and skipped.
    async fn evidence(
        &self,
        inc: &Incident,
        intake: EvidenceIntake,
        bytes: Vec<u8>,
    ) -> Option<String> {
        let name = intake.name.clone();
        match self
            .store
            .take_evidence(
                &self.scope,
                &inc.id,
                intake,
                Box::new(std::io::Cursor::new(bytes)),
                &self.responder,
            )
            .await
        {
            Ok(item) => Some(item.id),
            Err(e) => {
                tracing::warn!("demo: evidence {name} for {} not taken: {e}", inc.label);
                None
            }
        }
    }

    /// Last month: an operations account brute-forced and used, taken through every phase to
    /// optimisation with lessons, a review meeting, closed improvement items, done tasks and
    /// reported notices. Returns its id.
    async fn compromised_account(&mut self) -> anyhow::Result<String> {
        let org = self.org;
        let host = self.asset(org.hosts[0], "-app-");
        let (host_name, host_ip) = host
            .as_ref()
            .map(|h| (h.fields.name.clone(), h.fields.ips[0].clone()))
            .unwrap_or_else(|| ("app-server".into(), "10.20.11.23".into()));
        let began = self.now - Duration::days(19) + Duration::minutes(13);
        let inc = self
            .create(
                NewIncident {
                    title: format!("运维账号 ops.li 遭 SSH 暴力破解后被登录（{host_name}）"),
                    description: format!(
                        "{} 凌晨，境外地址 {PAST_ATTACKER}（CNCERT 通报的 SSH 暴力破解源）对 {host_name}（{host_ip}）的 SSH 服务发起口令猜解，约 1900 次失败后以运维账号 ops.li 登录成功，下载挖矿脚本未能执行。主机探针告警后值班员介入。",
                        began.format("%m 月 %d 日")
                    ),
                    occurred_at: Some(yunshou_store::time_text(began)),
                    asset_ids: host.iter().map(|h| h.id.clone()).collect(),
                    observables: vec![
                        NewObservable {
                            kind: "ip".into(),
                            value: PAST_ATTACKER.into(),
                            note: "暴力破解与登录来源".into(),
                        },
                        NewObservable {
                            kind: "account".into(),
                            value: "ops.li".into(),
                            note: "被盗用的运维账号".into(),
                        },
                        NewObservable {
                            kind: "url".into(),
                            value: format!("http://{PAST_ATTACKER}:8080/xmr.sh"),
                            note: "攻击者下载的挖矿脚本".into(),
                        },
                        NewObservable {
                            kind: "hash".into(),
                            value:
                                "9f2c4d7e1a0b3c5d8e6f7a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d"
                                    .into(),
                            note: "xmr.sh 的 SHA-256".into(),
                        },
                    ],
                    ..Default::default()
                },
                "manual",
                &self.responder,
            )
            .await?;
        let inc = self.take_on(&inc).await?;
        let inc = self
            .classify(
                &inc,
                "NA",
                "凭据攻击",
                grading(Importance::Critical, Loss::Serious),
            )
            .await?;
        let inc = self
            .advance(
                &inc,
                json!({"activation": {
                    "decision": "activate",
                    "reason": "核心业务系统运维账号失陷，攻击者已取得交互式登录，按重大事件启动网络攻击事件专项应急预案",
                    "contacted": [org.contacts[0].1, org.contacts[4].1, "主机运维单位值班工程师"],
                }}),
                Phase::Containment,
            )
            .await?;
        let auth = auth_log(&host_name, PAST_ATTACKER, Some("ops.li"), began);
        let auth_id = self
            .evidence(
                &inc,
                EvidenceIntake {
                    kind: "file".into(),
                    name: format!("{host_name}-auth.log"),
                    media_type: "text/plain".into(),
                    source: format!("{host_name}:/var/log/secure（经堡垒机导出）"),
                    description: "暴力破解至登录成功时段的 sshd 日志摘录".into(),
                },
                auth.into_bytes(),
            )
            .await;
        let query = format!("source.ip:{PAST_ATTACKER} AND process.name:sshd");
        self.evidence(
            &inc,
            EvidenceIntake {
                kind: "search".into(),
                name: "search-ssh-source.json".into(),
                media_type: "application/json".into(),
                source: query.clone(),
                description: "事件检索结果：该来源地址的全部 SSH 登录事件".into(),
            },
            search_capture(&query, &host_name, PAST_ATTACKER, began),
        )
        .await;
        let pcap_id = self
            .evidence(
                &inc,
                EvidenceIntake {
                    kind: "pcap".into(),
                    name: format!("{host_name}-ssh-syn.pcap"),
                    media_type: "application/vnd.tcpdump.pcap".into(),
                    source: "边界镜像口全流量回溯（tcpdump 导出）".into(),
                    description: "攻击源向目标主机 22 端口发起连接的数据包".into(),
                },
                pcap(PAST_ATTACKER, &host_ip, 22, began),
            )
            .await;
        let inc = self
            .advance(
                &inc,
                json!({"containment_actions": [
                    {"action": "边界防火墙封禁攻击源地址", "target": PAST_ATTACKER, "result": "三台边界防火墙均已下发，复核无误封"},
                    {"action": "禁用运维账号并强制下线全部会话", "target": "ops.li", "result": "已禁用，会话 2 个已断开"},
                    {"action": "主机迁入隔离区并保全内存与磁盘快照", "target": host_name, "result": "快照 SM3 摘要已登记"},
                ]}),
                Phase::Eradication,
            )
            .await?;
        let inc = self
            .advance(
                &inc,
                json!({
                    "root_cause": "该主机 SSH 对政务外网开放口令登录，运维账号 ops.li 使用弱口令且未配置登录失败锁定，攻击者经长时间猜解获得口令。",
                    "weakness_fixed": {
                        "description": "SSH 允许口令登录且无失败锁定（不符合基线 Linux-SSH-02）：已改为仅密钥登录、经堡垒机访问，并启用 5 次失败锁定 30 分钟",
                        "fixed": true,
                    },
                }),
                Phase::Recovery,
            )
            .await?;
        let inc = self
            .advance(
                &inc,
                json!({"recovery": {
                    "systems": [host_name],
                    "integrity_verified": true,
                    "availability_verified": true,
                    "note": "与 AIDE 基线及部署包 SM3 摘要比对一致，已清除攻击者写入的 crontab 与 authorized_keys；业务拨测 24 小时全部正常。",
                }}),
                Phase::Tracking,
            )
            .await?;
        let inc = self
            .advance(
                &inc,
                json!({"monitoring": {
                    "days": 14,
                    "observations": "持续 14 天监测该地址及所在网段、ops.li 账号与主机外连，未见复发；同期该网段另有 3 次扫描均被边界拦截。",
                    "recurrence": false,
                }}),
                Phase::Optimization,
            )
            .await?;
        let inc = self
            .patch(
                &inc,
                IncidentPatch {
                    records: records(json!({
                        "lessons": "一、口令登录与弱口令叠加是本次失陷的直接原因，生产主机须一律密钥登录并经堡垒机访问；二、单条 SSH 失败告警量大易被忽视，需增加“暴力破解后登录成功”的关联规则；三、封禁依赖人工逐台操作，应由剧本统一下发并保留审批。",
                        "review_meeting": format!(
                            "{} 召开复盘会，应急领导小组组长主持，技术处置组、联络报告员、{}运维单位及云守驻场人员参加，形成 3 项改进措施。",
                            (self.now - Duration::days(3)).format("%Y 年 %m 月 %d 日"),
                            org.drill_system
                        ),
                    })),
                    ..Default::default()
                },
                &self.responder,
            )
            .await?;
        let items = [
            (
                "新增关联检测：SSH 暴力破解后 10 分钟内同源登录成功",
                "rule",
                "yunshou-ssh-bruteforce",
                "规则已上线，回放本次 auth.log 可在首次成功登录后 1 分钟内告警",
            ),
            (
                "全部 Linux 主机禁用 SSH 口令登录并启用失败锁定",
                "baseline",
                "基线 Linux-SSH-02",
                "基线已下发并完成核查，不合规主机已整改",
            ),
            (
                "预案补充封禁审批流程，明确夜间审批人",
                "plan",
                "预案 NA v2",
                "已随网络攻击事件专项应急预案第 2 版发布",
            ),
        ];
        for (title, kind, link, resolution) in items {
            let item = self
                .store
                .add_improvement_item(
                    &self.scope,
                    "incident",
                    &inc.id,
                    &NewImprovementItem {
                        title: title.into(),
                        kind: kind.into(),
                        link: String::new(),
                        owner: Some(self.responder.name.clone()),
                        due_date: Some(date(self.now + Duration::days(14))),
                    },
                    &self.responder,
                )
                .await?;
            self.store
                .close_improvement_item(&self.scope, &item.id, link, resolution, &self.responder)
                .await?;
        }
        self.tasks_done(&inc, None).await?;
        let reference = format!(
            "报送编号 {}-{}-017",
            org.prefix.to_uppercase(),
            (self.now - Duration::days(19)).format("%Y%m%d")
        );
        self.notices_reported(&inc, &reference).await?;
        if let Some(id) = &auth_id {
            self.store
                .record_custody(
                    &self.scope,
                    &inc.id,
                    "view",
                    Some(id),
                    "复盘前复核日志，确认首次成功登录时间",
                    &self.analyst,
                )
                .await?;
        }
        if let Some(id) = &pcap_id {
            self.store
                .record_custody(
                    &self.scope,
                    &inc.id,
                    "transfer",
                    Some(id),
                    &format!(
                        "移交公安机关网安部门（{}），刻录光盘一张，SM3 摘要随移交单附后",
                        org.police
                    ),
                    &self.responder,
                )
                .await?;
        }
        Ok(inc.id)
    }

    /// Today's SSH brute force: level III confirmed, the source blocked, still in containment.
    async fn brute_force_contained(&mut self) -> anyhow::Result<()> {
        let found = self.alert(&["ssh brute force", "password spraying", "ssh failed"]);
        let host = self.asset(self.org.hosts[0], "-app-");
        let (title, source, src_ip, host_name, host_ip) = match &found {
            Some((a, k)) => {
                let kind = ["SSH 暴力破解", "SSH 口令喷洒", "SSH 登录失败激增"][*k];
                let host_name = a.entities.host.clone().unwrap_or_else(|| "目标主机".into());
                let dst = a
                    .entities
                    .destination_ip
                    .clone()
                    .or_else(|| host.as_ref().map(|h| h.fields.ips[0].clone()))
                    .unwrap_or_else(|| "10.20.11.23".into());
                (
                    format!("{kind}攻击（{host_name}）"),
                    "alert",
                    a.entities
                        .source_ip
                        .clone()
                        .unwrap_or_else(|| TODAY_ATTACKER.into()),
                    host_name,
                    dst,
                )
            }
            None => {
                let (n, ip) = host
                    .as_ref()
                    .map(|h| (h.fields.name.clone(), h.fields.ips[0].clone()))
                    .unwrap_or_else(|| ("app-server".into(), "10.20.11.23".into()));
                (
                    format!("SSH 暴力破解攻击（{n}）"),
                    "manual",
                    TODAY_ATTACKER.into(),
                    n,
                    ip,
                )
            }
        };
        let began = self.now - Duration::hours(5);
        let mut new = NewIncident {
            title,
            description: format!(
                "{src_ip} 在 10 分钟内对 {host_name}（{host_ip}）的 SSH 服务发起数百次口令猜解，尝试 root、admin、oracle 等账号。尚未发现成功登录。"
            ),
            alert_ids: found.iter().map(|(a, _)| a.id.clone()).collect(),
            ..Default::default()
        };
        if found.is_none() {
            new.occurred_at = Some(yunshou_store::time_text(began));
            new.asset_ids = host.iter().map(|h| h.id.clone()).collect();
            new.observables = vec![NewObservable {
                kind: "ip".into(),
                value: src_ip.clone(),
                note: "暴力破解来源".into(),
            }];
        }
        let inc = self.create(new, source, &self.analyst).await?;
        let inc = self.take_on(&inc).await?;
        let inc = self
            .classify(
                &inc,
                "NA",
                "凭据攻击",
                grading(Importance::Important, Loss::Serious),
            )
            .await?;
        let inc = self
            .advance(
                &inc,
                json!({"activation": {
                    "decision": "activate",
                    "reason": "攻击持续且目标为在用业务主机，同类手法上月曾导致账号失陷，按较大事件启动响应",
                    "contacted": [self.org.contacts[1].1, self.org.contacts[4].1],
                }}),
                Phase::Containment,
            )
            .await?;
        self.store
            .add_observables(
                &self.scope,
                &inc.id,
                &[
                    NewObservable {
                        kind: "account".into(),
                        value: "root".into(),
                        note: "被猜解次数最多的账号".into(),
                    },
                    NewObservable {
                        kind: "account".into(),
                        value: "oracle".into(),
                        note: "被猜解的服务账号".into(),
                    },
                ],
                &self.responder,
            )
            .await?;
        self.evidence(
            &inc,
            EvidenceIntake {
                kind: "file".into(),
                name: format!("{host_name}-auth.log"),
                media_type: "text/plain".into(),
                source: format!("{host_name}:/var/log/secure"),
                description: "攻击时段 sshd 日志摘录，无成功登录".into(),
            },
            auth_log(&host_name, &src_ip, None, began).into_bytes(),
        )
        .await;
        self.patch(
            &inc,
            IncidentPatch {
                records: records(json!({"containment_actions": [
                    {"action": "经组长电话审批后在边界防火墙封禁攻击源", "target": src_ip, "result": "已封禁 7 天，拦截计数持续增长"},
                    {"action": "核查目标主机登录记录与新增账号", "target": host_name, "result": "lastlog 与 /etc/passwd 无异常"},
                ]})),
                ..Default::default()
            },
            &self.responder,
        )
        .await?;
        self.tasks_done(&inc, Some(Phase::Containment)).await?;
        Ok(())
    }

    /// Ransomware (Jiangning) or a data leak (Qinghe): root cause found, weakness fixed, now
    /// restoring — integrity checked, availability still being verified.
    async fn in_recovery(&mut self) -> anyhow::Result<()> {
        let org = self.org;
        let ransomware = org.ransomware;
        let found = if ransomware {
            self.alert(&["download piped", "execution from a temporary"])
        } else {
            self.alert(&["bulk export", "full read of a sensitive"])
        };
        let role = if ransomware { "-app-" } else { "-db-" };
        let host = self.asset(org.hosts[1], role);
        let host_name = found
            .as_ref()
            .and_then(|(a, _)| a.entities.host.clone())
            .or_else(|| host.as_ref().map(|h| h.fields.name.clone()))
            .unwrap_or_else(|| "业务服务器".into());
        let finding = if ransomware {
            self.finding(
                &["Samba", "Log4j", "Tomcat 管理后台", "Spring"],
                host.as_ref(),
            )
        } else {
            self.finding(&["SQL注入", "SQL 注入", "Spring", "Log4j"], host.as_ref())
        };
        let began = self.now - Duration::days(4);
        let (title, description, category, sub) = if ransomware {
            (
                format!("{host_name} 文件被勒索软件加密"),
                format!("{host_name} 上的证照文件存储目录被加密为 .locked 后缀并留下勒索信，应用服务中断，疑经未修补的中间件漏洞投放。"),
                "MP",
                "勒索软件",
            )
        } else {
            (
                format!("{host_name} 参保人员信息疑似泄露"),
                format!("{host_name} 在非工作时段被一次性导出约 12 万条参保人员记录（含姓名、身份证号、手机号），导出账号为接口服务账号。"),
                "DS",
                "数据泄露",
            )
        };
        let new = NewIncident {
            title,
            description,
            occurred_at: Some(yunshou_store::time_text(began)),
            alert_ids: found.iter().map(|(a, _)| a.id.clone()).collect(),
            asset_ids: {
                let mut ids: Vec<String> = found
                    .is_none()
                    .then_some(host.as_ref())
                    .flatten()
                    .map(|h| h.id.clone())
                    .into_iter()
                    .chain(finding.iter().map(|f| f.asset_id.clone()))
                    .collect();
                ids.dedup();
                ids
            },
            finding_ids: finding.iter().map(|f| f.id.clone()).collect(),
            ..Default::default()
        };
        let source = if found.is_some() { "alert" } else { "manual" };
        let inc = self.create(new, source, &self.analyst).await?;
        let inc = self.take_on(&inc).await?;
        let inc = self
            .classify(
                &inc,
                category,
                sub,
                grading(Importance::Critical, Loss::Considerable),
            )
            .await?;
        let inc = self
            .advance(
                &inc,
                json!({"activation": {
                    "decision": "activate",
                    "reason": if ransomware { "业务中断且加密范围仍在扩大，启动恶意程序事件专项应急预案" } else { "涉及大量个人信息，启动数据安全事件专项应急预案" },
                    "contacted": [org.contacts[0].1, org.contacts[4].1, org.contacts[3].1],
                }}),
                Phase::Containment,
            )
            .await?;
        if ransomware {
            self.evidence(
                &inc,
                EvidenceIntake {
                    kind: "file".into(),
                    name: "README_RESTORE_FILES.txt".into(),
                    media_type: "text/plain".into(),
                    source: format!("{host_name}:/data/certs/README_RESTORE_FILES.txt"),
                    description: "加密目录中留下的勒索信原件".into(),
                },
                RANSOM_NOTE.as_bytes().to_vec(),
            )
            .await;
        } else {
            let query = "event.dataset:mysql.audit AND db.statement:*SELECT* AND db.rows > 10000";
            self.evidence(
                &inc,
                EvidenceIntake {
                    kind: "search".into(),
                    name: "search-bulk-export.json".into(),
                    media_type: "application/json".into(),
                    source: query.into(),
                    description: "事件检索结果：非工作时段的大批量查询".into(),
                },
                search_capture(query, &host_name, "10.30.12.41", began),
            )
            .await;
        }
        let containment = if ransomware {
            json!([
                {"action": "断开受感染主机网络并阻断 C2 通信", "target": host_name, "result": "主机已隔离，C2 域名已在 DNS 与边界封堵"},
                {"action": "排查同网段主机加密迹象", "target": "同网段 23 台主机", "result": "未发现扩散"},
            ])
        } else {
            json!([
                {"action": "吊销接口服务账号并轮换数据库口令", "target": "svc_api", "result": "已吊销，新口令纳入凭据库"},
                {"action": "关闭数据导出接口的公网访问", "target": host_name, "result": "已在 WAF 下线该接口"},
            ])
        };
        let inc = self
            .advance(
                &inc,
                json!({ "containment_actions": containment }),
                Phase::Eradication,
            )
            .await?;
        let (cause, weakness) = if ransomware {
            (
                match &finding {
                    Some(f) => format!("攻击者利用 {} 上未修补的“{}”取得权限并横向投放勒索软件；文件存储目录无写保护，本地快照被一并加密。", f.asset_name, f.title),
                    None => "攻击者利用应用服务器未修补的中间件远程代码执行漏洞投放勒索软件；文件存储目录无写保护，本地快照被一并加密。".into(),
                },
                finding
                    .as_ref()
                    .map(|f| format!("{}：已升级修补并复扫确认", f.title))
                    .unwrap_or_else(|| "中间件远程代码执行漏洞：已升级修补并复扫确认".into()),
            )
        } else {
            (
                match &finding {
                    Some(f) => format!("攻击者利用 {} 的“{}”读取到接口服务账号口令，经数据导出接口批量导出；该接口不校验调用方身份，也无单次导出上限。", f.asset_name, f.title),
                    None => "数据导出接口仅校验服务账号，不校验调用方身份且无单次导出上限，服务账号口令写在前端配置中被获取。".into(),
                },
                finding
                    .as_ref()
                    .map(|f| format!("{}：已修复并经渗透复测确认", f.title))
                    .unwrap_or_else(|| "导出接口缺少调用方鉴权与导出上限：已修复并复测".into()),
            )
        };
        let inc = self
            .advance(
                &inc,
                json!({
                    "root_cause": cause,
                    "weakness_fixed": {
                        "description": weakness,
                        "finding_id": finding.as_ref().map(|f| f.id.clone()),
                        "fixed": true,
                    },
                }),
                Phase::Recovery,
            )
            .await?;
        self.patch(
            &inc,
            IncidentPatch {
                records: records(json!({"recovery": {
                    "systems": [host_name],
                    "integrity_verified": true,
                    "availability_verified": false,
                    "note": if ransomware { "已从异地离线备份恢复证照文件，SM3 摘要抽检一致；业务联调与压力测试进行中。" } else { "接口改造已上线，数据库审计比对无异常写入；业务方回归测试进行中。" },
                }})),
                ..Default::default()
            },
            &self.responder,
        )
        .await?;
        self.tasks_done(&inc, Some(Phase::Recovery)).await?;
        self.notices_reported(
            &inc,
            &format!(
                "报送编号 {}-{}-031",
                org.prefix.to_uppercase(),
                began.format("%Y%m%d")
            ),
        )
        .await?;
        Ok(())
    }

    /// A mass-export alert that was the data-sharing platform's nightly sync: no response,
    /// closed at diagnosis.
    async fn false_alarm(&mut self) -> anyhow::Result<()> {
        let org = self.org;
        let found = self.alert(&["bulk export", "full read of a sensitive", "login failure"]);
        let host = self.asset(org.hosts[3], "-db-");
        let host_name = found
            .as_ref()
            .and_then(|(a, _)| a.entities.host.clone())
            .or_else(|| host.as_ref().map(|h| h.fields.name.clone()))
            .unwrap_or_else(|| "数据库服务器".into());
        let new = NewIncident {
            title: format!("{host_name} 夜间大批量数据读取"),
            description: "凌晨 01:30 起该库敏感表被整表读取，读取账号为共享交换同步账号。".into(),
            occurred_at: Some(yunshou_store::time_text(self.now - Duration::hours(20))),
            alert_ids: found.iter().map(|(a, _)| a.id.clone()).collect(),
            asset_ids: if found.is_none() {
                host.iter().map(|h| h.id.clone()).collect()
            } else {
                vec![]
            },
            ..Default::default()
        };
        let source = if found.is_some() { "alert" } else { "manual" };
        let inc = self.create(new, source, &self.analyst).await?;
        let inc = self.take_on(&inc).await?;
        let inc = self
            .classify(
                &inc,
                "AB",
                "访问异常",
                grading(Importance::Ordinary, Loss::Minor),
            )
            .await?;
        self.tasks_done(&inc, Some(Phase::Containment)).await?;
        self.patch(
            &inc,
            IncidentPatch {
                records: records(json!({"activation": {
                    "decision": "no_response",
                    "reason": "经与业务系统负责人及运维单位核实，为已报备的夜间例行数据同步任务（变更单 BG-0412），读取量与历史一致，属误报；已将该同步账号与时段加入告警白名单评估。",
                    "contacted": [org.contacts[4].1, "数据共享交换平台运维单位值班工程师"],
                }})),
                status: Some(IncidentStatus::Closed),
                ..Default::default()
            },
            &self.responder,
        )
        .await?;
        Ok(())
    }

    /// A web-shell or scanner alert on the portal, just taken on: owner set, in diagnosis,
    /// not yet classified.
    async fn just_taken_on(&mut self) -> anyhow::Result<()> {
        const KINDS: [(&str, &str); 6] = [
            ("web shell", "门户网站疑似 WebShell 访问"),
            (
                "post to a script",
                "上传目录脚本文件被 POST 访问（疑似 WebShell）",
            ),
            ("log4shell", "门户网站遭 Log4Shell 漏洞利用尝试"),
            ("sql injection", "门户网站遭 SQL 注入探测"),
            ("path traversal", "门户网站遭路径遍历与敏感文件探测"),
            ("web vulnerability scanner", "门户网站遭漏洞扫描器探测"),
        ];
        let words: Vec<&str> = KINDS.iter().map(|(w, _)| *w).collect();
        let found = self.alert(&words);
        let host = self.asset(self.org.hosts[2], "-web-");
        let (title, source) = match &found {
            Some((a, k)) => {
                let on = a
                    .entities
                    .host
                    .clone()
                    .map(|h| format!("（{h}）"))
                    .unwrap_or_default();
                (format!("{}{on}", KINDS[*k].1), "alert")
            }
            None => {
                let on = host
                    .as_ref()
                    .map(|h| format!("（{}）", h.fields.name))
                    .unwrap_or_default();
                (format!("{}{on}", KINDS[0].1), "manual")
            }
        };
        let new = NewIncident {
            title,
            description: "Web 访问日志出现对上传目录下 .jsp 文件的连续 POST 请求，响应长度异常，需确认是否已植入 WebShell。".into(),
            alert_ids: found.iter().map(|(a, _)| a.id.clone()).collect(),
            asset_ids: if found.is_none() {
                host.iter().map(|h| h.id.clone()).collect()
            } else {
                vec![]
            },
            ..Default::default()
        };
        let inc = self.create(new, source, &self.analyst).await?;
        self.take_on(&inc).await?;
        Ok(())
    }
}

const RANSOM_NOTE: &str = "!!! YOUR FILES ARE ENCRYPTED !!!\r\n\r\nAll your documents, databases and backups have been encrypted with AES-256 + RSA-2048.\r\nExtension: .locked\r\nTo restore, contact: restore-support@protonmail.example\r\nYour ID: 7F3A-91C2-DD04\r\n\r\nDo not rename files. Do not use third-party tools.\r\n";

/// An `auth.log` excerpt: failures from `src` against `host`, then (when `success` names an
/// account) an accepted login and its session.
fn auth_log(host: &str, src: &str, success: Option<&str>, start: DateTime<Utc>) -> String {
    let users = [
        "root", "admin", "oracle", "test", "ubuntu", "postgres", "root", "ops.li",
    ];
    let mut out = String::new();
    let mut t = start;
    let pid0 = 28_417u32;
    for i in 0..24u32 {
        let user = users[i as usize % users.len()];
        let port = 40_000 + (i * 7_919) % 20_000;
        let pid = pid0 + i * 3;
        let ts = t.format("%b %e %H:%M:%S");
        if matches!(user, "admin" | "test" | "ubuntu") {
            out.push_str(&format!(
                "{ts} {host} sshd[{pid}]: Invalid user {user} from {src} port {port}\n"
            ));
            out.push_str(&format!(
                "{ts} {host} sshd[{pid}]: Failed password for invalid user {user} from {src} port {port} ssh2\n"
            ));
        } else {
            out.push_str(&format!(
                "{ts} {host} sshd[{pid}]: Failed password for {user} from {src} port {port} ssh2\n"
            ));
        }
        if i % 6 == 5 {
            out.push_str(&format!(
                "{ts} {host} sshd[{pid}]: Disconnecting authenticating user {user} {src} port {port}: Too many authentication failures [preauth]\n"
            ));
        }
        t += Duration::seconds(3 + (i as i64 * 5) % 7);
    }
    if let Some(user) = success {
        let pid = pid0 + 200;
        t += Duration::minutes(27);
        let ts = t.format("%b %e %H:%M:%S");
        out.push_str(&format!(
            "{ts} {host} sshd[{pid}]: Accepted password for {user} from {src} port 52814 ssh2\n"
        ));
        out.push_str(&format!(
            "{ts} {host} sshd[{pid}]: pam_unix(sshd:session): session opened for user {user}(uid=1003) by (uid=0)\n"
        ));
        out.push_str(&format!(
            "{ts} {host} systemd-logind[912]: New session 4711 of user {user}.\n"
        ));
        t += Duration::minutes(6);
        let ts = t.format("%b %e %H:%M:%S");
        out.push_str(&format!(
            "{ts} {host} sshd[{pid}]: pam_unix(sshd:session): session closed for user {user}\n"
        ));
    }
    out
}

/// A saved event search: the query, its window and a few hits, as the console exports it.
fn search_capture(query: &str, host: &str, src: &str, start: DateTime<Utc>) -> Vec<u8> {
    let hits: Vec<Value> = (0..3)
        .map(|i| {
            let user = ["root", "admin", "oracle"][i as usize];
            json!({
                "@timestamp": yunshou_store::time_text(start + Duration::seconds(i * 4)),
                "host": {"name": host},
                "source": {"ip": src, "port": 40_000 + i * 7_919},
                "event": {"dataset": "sshd", "outcome": "failure"},
                "user": {"name": user},
                "message": format!("Failed password for {user} from {src} port {} ssh2", 40_000 + i * 7_919),
            })
        })
        .collect();
    let capture = json!({
        "query": query,
        "from": yunshou_store::time_text(start - Duration::hours(1)),
        "to": yunshou_store::time_text(start + Duration::hours(2)),
        "total": 1_904,
        "hits": hits,
    });
    serde_json::to_vec_pretty(&capture).unwrap_or_default()
}

/// The ones' complement sum of 16-bit big-endian words, folded.
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum = 0u32;
    for part in parts {
        for pair in part.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            sum += u32::from(word);
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A classic libpcap file (Ethernet) with three TCP SYNs from `src` to `dst:port`. Addresses
/// that are not IPv4 fall back to documentation addresses.
fn pcap(src: &str, dst: &str, port: u16, start: DateTime<Utc>) -> Vec<u8> {
    let src: Ipv4Addr = src.parse().unwrap_or(Ipv4Addr::new(198, 51, 100, 23));
    let dst: Ipv4Addr = dst.parse().unwrap_or(Ipv4Addr::new(10, 20, 11, 23));
    let mut out = Vec::new();
    // Global header: magic, version 2.4, GMT offset, accuracy, snaplen, LINKTYPE_ETHERNET.
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for i in 0..3u16 {
        let sport = 51_234 + i * 17;
        let mut tcp = Vec::with_capacity(20);
        tcp.extend_from_slice(&sport.to_be_bytes());
        tcp.extend_from_slice(&port.to_be_bytes());
        tcp.extend_from_slice(&(0x1f2e_3d4cu32 + u32::from(i) * 0x0101_0101).to_be_bytes());
        tcp.extend_from_slice(&0u32.to_be_bytes());
        tcp.push(5 << 4); // data offset: 20 bytes
        tcp.push(0x02); // SYN
        tcp.extend_from_slice(&64_240u16.to_be_bytes());
        tcp.extend_from_slice(&[0, 0]); // checksum, below
        tcp.extend_from_slice(&[0, 0]); // urgent pointer
        let mut pseudo = Vec::with_capacity(12);
        pseudo.extend_from_slice(&src.octets());
        pseudo.extend_from_slice(&dst.octets());
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
        let sum = checksum(&[&pseudo, &tcp]);
        tcp[16..18].copy_from_slice(&sum.to_be_bytes());

        let mut ip = Vec::with_capacity(20);
        ip.push(0x45);
        ip.push(0);
        ip.extend_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&(0x4a10 + i).to_be_bytes());
        ip.extend_from_slice(&0x4000u16.to_be_bytes()); // don't fragment
        ip.push(52); // TTL
        ip.push(6); // TCP
        ip.extend_from_slice(&[0, 0]);
        ip.extend_from_slice(&src.octets());
        ip.extend_from_slice(&dst.octets());
        let sum = checksum(&[&ip]);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());

        let mut frame = Vec::with_capacity(54);
        frame.extend_from_slice(&[0x00, 0x1c, 0x54, 0x3a, 0x7e, 0x01]); // the host's gateway side
        frame.extend_from_slice(&[0x00, 0x0f, 0xe2, 0x11, 0x22, 0x33]); // border firewall
        frame.extend_from_slice(&0x0800u16.to_be_bytes());
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&tcp);

        let t = start + Duration::milliseconds(i64::from(i) * 1_250);
        out.extend_from_slice(&(t.timestamp() as u32).to_le_bytes());
        out.extend_from_slice(&t.timestamp_subsec_micros().to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&frame);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcap_is_well_formed() {
        let p = pcap("45.155.205.233", "10.20.11.23", 22, Utc::now());
        assert_eq!(&p[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(p.len(), 24 + 3 * (16 + 54));
        // Each IP header's checksum verifies (sums to zero).
        for k in 0..3 {
            let ip = 24 + k * 70 + 16 + 14;
            assert_eq!(checksum(&[&p[ip..ip + 20]]), 0);
            let tcp = &p[ip + 20..ip + 40];
            let mut pseudo = p[ip + 12..ip + 20].to_vec();
            pseudo.extend_from_slice(&[0, 6, 0, 20]);
            assert_eq!(checksum(&[&pseudo, tcp]), 0);
            assert_eq!(tcp[13], 0x02, "SYN");
        }
    }

    #[tokio::test]
    async fn seeds_plans_drills_playbooks_and_incidents_in_every_phase() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        store.bootstrap(Some(crate::DEMO_PASSWORD)).await.unwrap();
        crate::seed(&store).await.unwrap();
        let tenant = CUSTOMERS[0].0;
        seed_response(&store, tenant).await.unwrap();
        seed_response(&store, tenant).await.unwrap(); // twice changes nothing
        let archivable = incidents(&store, tenant, "li.qiang").await.unwrap();
        assert!(incidents(&store, tenant, "li.qiang")
            .await
            .unwrap()
            .is_empty());
        let (_, scope) = store.operator_scope(tenant).await.unwrap();

        assert_eq!(
            store.operator_kind(&scope).await.unwrap(),
            OperatorKind::StateOrgan
        );
        let plans = store.current_plans(&scope).await.unwrap();
        assert_eq!(plans.len(), 10);
        let na = plans.iter().find(|p| p.category == "NA").unwrap();
        assert_eq!(na.version, 2);
        assert_eq!(na.note, "补充封禁审批流程");
        assert!(plans.iter().all(|p| p.content.contacts.len() == 6));
        let drills = store.drills(&scope).await.unwrap();
        assert!(drills
            .iter()
            .any(|d| d.status == "done" && d.steps.len() == 6));
        assert!(drills.iter().any(|d| d.status == "scheduled"));
        let done = drills.iter().find(|d| d.status == "done").unwrap();
        let items = store
            .improvement_items(&scope, "drill", &done.id)
            .await
            .unwrap();
        assert_eq!(items.len(), 2);
        assert!(items
            .iter()
            .any(|i| i.status == "closed" && i.link == "预案 NA v2"));
        assert!(items.iter().any(|i| i.status == "open"));
        let playbooks = store.playbooks(&scope).await.unwrap();
        assert_eq!(playbooks.len(), 3);
        assert!(playbooks.iter().all(|p| p.enabled));

        let (all, total) = store
            .incidents(
                &scope,
                &IncidentFilter::default(),
                Page {
                    limit: 100,
                    offset: 0,
                },
            )
            .await
            .unwrap();
        assert_eq!(total, 5);
        let open_in = |phase: Phase| {
            all.iter()
                .any(|i| i.phase == phase && i.status == IncidentStatus::Open)
        };
        assert!(open_in(Phase::Diagnosis));
        assert!(open_in(Phase::Containment));
        assert!(open_in(Phase::Recovery));
        assert!(open_in(Phase::Optimization));
        assert!(all
            .iter()
            .any(|i| i.status == IncidentStatus::Closed && i.phase == Phase::Diagnosis));
        let containment = all.iter().find(|i| i.phase == Phase::Containment).unwrap();
        assert_eq!(containment.level, Some(Level::III));
        assert!(containment.level_confirmed);
        let detail = store
            .incident_detail(&scope, &containment.id)
            .await
            .unwrap();
        assert!(
            !detail.notices.is_empty(),
            "a level III incident owes reports"
        );
        assert!(!detail.incident.records.containment_actions.is_empty());
        assert!(!detail.observables.is_empty());

        assert_eq!(archivable.len(), 1);
        let detail = store.incident_detail(&scope, &archivable[0]).await.unwrap();
        assert_eq!(detail.incident.phase, Phase::Optimization);
        assert!(detail.missing.is_empty(), "{:?}", detail.missing);
        assert_eq!(detail.incident.level, Some(Level::II));
        assert!(detail.tasks.iter().all(|t| t.done_at.is_some()));
        assert!(!detail.tasks.is_empty());
        assert!(detail.notices.iter().all(|n| n.reported_at.is_some()));
        assert_eq!(detail.improvement_items.len(), 3);
        let evidence = store.evidence(&scope, &archivable[0]).await.unwrap();
        assert_eq!(evidence.len(), 3);
        assert!(evidence.iter().any(|e| e.kind == "pcap"));
        let custody = store.custody_log(&scope, &archivable[0]).await.unwrap();
        assert!(custody.iter().any(|c| c.action == "view"));
        assert!(custody.iter().any(|c| c.action == "transfer"));
        assert!(
            yunshou_evidence::custody::verify_chain(&custody).is_empty(),
            "custody chain intact"
        );
        let archived = store
            .archive_incident(&scope, &archivable[0], &[("md", b"# report".to_vec())], &{
                let u = store.user_by_username("li.qiang").await.unwrap().unwrap();
                Actor {
                    user_id: Some(u.id),
                    name: u.username,
                    source_ip: None,
                }
            })
            .await
            .unwrap();
        assert_eq!(archived.status, IncidentStatus::Archived);

        // The other organisation, with its own responder and operator kind.
        let other = CUSTOMERS[1].0;
        seed_response(&store, other).await.unwrap();
        let ids = incidents(&store, other, "qh.responder").await.unwrap();
        assert_eq!(ids.len(), 1);
        let (_, qh) = store.operator_scope(other).await.unwrap();
        assert_eq!(store.operator_kind(&qh).await.unwrap(), OperatorKind::Other);
        let detail = store.incident_detail(&qh, &ids[0]).await.unwrap();
        assert!(detail.missing.is_empty(), "{:?}", detail.missing);
        assert!(store.audit_verify().await.unwrap().is_intact());
    }
}
