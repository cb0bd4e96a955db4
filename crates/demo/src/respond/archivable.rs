//! Last month's compromised operations account: the incident worked through every phase to
//! optimisation, with every record, evidence item and custody entry the archive needs.

use chrono::Duration;
use serde_json::json;
use yunshou_respond::classification::{Importance, Loss};
use yunshou_respond::phases::Phase;
use yunshou_store::evidence_vault::EvidenceIntake;
use yunshou_store::incidents::{IncidentPatch, NewIncident, NewObservable};
use yunshou_store::response_plans::NewImprovementItem;

use super::evidence::{auth_log, pcap, search_capture};
use super::story::{grading, name_and_ip, records, Story};
use super::{date, PAST_ATTACKER};

impl Story<'_> {
    /// Last month: an operations account brute-forced and used, taken through every phase to
    /// optimisation with lessons, a review meeting, closed improvement items, done tasks and
    /// reported notices. Returns its id.
    pub(super) async fn compromised_account(&mut self) -> anyhow::Result<String> {
        let org = self.org;
        let host = self.asset(org.hosts[0], "-app-");
        let (host_name, host_ip) = name_and_ip(host.as_ref());
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
        let inc = self
            .diagnose(
                &inc,
                "NA",
                "凭据攻击",
                grading(Importance::Critical, Loss::Serious),
            )
            .await?;
        let inc = self.activate(&inc, "核心业务系统运维账号失陷，攻击者已取得交互式登录，按重大事件启动网络攻击事件专项应急预案", json!([org.contacts[0].1, org.contacts[4].1, "主机运维单位值班工程师"])).await?;
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
        self.custody(
            &inc,
            "view",
            auth_id.as_deref(),
            "复盘前复核日志，确认首次成功登录时间",
            &self.analyst,
        )
        .await?;
        self.custody(
            &inc,
            "transfer",
            pcap_id.as_deref(),
            &format!(
                "移交公安机关网安部门（{}），刻录光盘一张，SM3 摘要随移交单附后",
                org.police
            ),
            &self.responder,
        )
        .await?;
        Ok(inc.id)
    }
}
