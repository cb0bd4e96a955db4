//! This week's incidents, still open or just closed: an SSH brute force in containment, a
//! ransomware infection or data leak in recovery, a false alarm closed at diagnosis, and a
//! web-shell alert just taken on.

use chrono::Duration;
use serde_json::json;
use yunshou_respond::classification::{Importance, Loss};
use yunshou_respond::phases::Phase;
use yunshou_store::evidence_vault::EvidenceIntake;
use yunshou_store::incidents::{IncidentPatch, IncidentStatus, NewIncident, NewObservable};

use super::evidence::{auth_log, search_capture, RANSOM_NOTE};
use super::story::{
    assets_by_hand, grading, incident_source, name_and_ip, named_host, records, Story,
};
use super::TODAY_ATTACKER;

impl Story<'_> {
    /// Today's SSH brute force: level III confirmed, the source blocked, still in containment.
    pub(super) async fn brute_force_contained(&mut self) -> anyhow::Result<()> {
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
                let (n, ip) = name_and_ip(host.as_ref());
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
        let inc = self
            .diagnose(
                &inc,
                "NA",
                "凭据攻击",
                grading(Importance::Important, Loss::Serious),
            )
            .await?;
        let inc = self
            .activate(
                &inc,
                "攻击持续且目标为在用业务主机，同类手法上月曾导致账号失陷，按较大事件启动响应",
                json!([self.org.contacts[1].1, self.org.contacts[4].1]),
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
    pub(super) async fn in_recovery(&mut self) -> anyhow::Result<()> {
        let org = self.org;
        let ransomware = org.ransomware;
        let found = if ransomware {
            self.alert(&["download piped", "execution from a temporary"])
        } else {
            self.alert(&["bulk export", "full read of a sensitive"])
        };
        let role = if ransomware { "-app-" } else { "-db-" };
        let host = self.asset(org.hosts[1], role);
        let host_name = named_host(found.as_ref(), host.as_ref(), "业务服务器");
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
        let source = incident_source(found.as_ref());
        let inc = self.create(new, source, &self.analyst).await?;
        let inc = self
            .diagnose(
                &inc,
                category,
                sub,
                grading(Importance::Critical, Loss::Considerable),
            )
            .await?;
        let reason = if ransomware {
            "业务中断且加密范围仍在扩大，启动恶意程序事件专项应急预案"
        } else {
            "涉及大量个人信息，启动数据安全事件专项应急预案"
        };
        let inc = self
            .activate(
                &inc,
                reason,
                json!([org.contacts[0].1, org.contacts[4].1, org.contacts[3].1]),
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
    pub(super) async fn false_alarm(&mut self) -> anyhow::Result<()> {
        let org = self.org;
        let found = self.alert(&["bulk export", "full read of a sensitive", "login failure"]);
        let host = self.asset(org.hosts[3], "-db-");
        let host_name = named_host(found.as_ref(), host.as_ref(), "数据库服务器");
        let new = NewIncident {
            title: format!("{host_name} 夜间大批量数据读取"),
            description: "凌晨 01:30 起该库敏感表被整表读取，读取账号为共享交换同步账号。".into(),
            occurred_at: Some(yunshou_store::time_text(self.now - Duration::hours(20))),
            alert_ids: found.iter().map(|(a, _)| a.id.clone()).collect(),
            asset_ids: assets_by_hand(found.as_ref(), host.as_ref()),
            ..Default::default()
        };
        let source = incident_source(found.as_ref());
        let inc = self.create(new, source, &self.analyst).await?;
        let inc = self
            .diagnose(
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
    pub(super) async fn just_taken_on(&mut self) -> anyhow::Result<()> {
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
            asset_ids: assets_by_hand(found.as_ref(), host.as_ref()),
            ..Default::default()
        };
        let inc = self.create(new, source, &self.analyst).await?;
        self.take_on(&inc).await?;
        Ok(())
    }
}
