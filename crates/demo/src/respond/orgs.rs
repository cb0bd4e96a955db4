//! Who each demo organisation is: its name, contacts, reporting chain and the hosts and
//! offices its stories name.

use yunshou_respond::classification::{Level, OperatorKind};

use super::{LEADER, LIAISON, OWNER, TECH};
use crate::CUSTOMERS;

/// Who an organisation is, for the texts and contacts of its records.
pub(super) struct Org {
    /// `jn` / `qh`: the prefix of its accounts.
    pub(super) prefix: &'static str,
    /// Its name.
    pub(super) name: &'static str,
    /// For reporting duties.
    pub(super) kind: OperatorKind,
    /// Contacts: (role, name, phone, e-mail).
    pub(super) contacts: [(&'static str, &'static str, &'static str, &'static str); 6],
    /// Its reporting chain: (to whom, minutes, from level).
    pub(super) reporting: [(&'static str, i64, Level); 3],
    /// Hosts of the stories, by ledger name: brute-forced app server, ransomware / leak
    /// target, public web server, database of the false alarm.
    pub(super) hosts: [&'static str; 4],
    /// The system of the drill scenario.
    pub(super) drill_system: &'static str,
    /// The police's cyber-security unit evidence is handed to.
    pub(super) police: &'static str,
    /// The cyberspace affairs office reports go to.
    pub(super) cac: &'static str,
    /// Who leads improvement items: (plan owner, process owner).
    pub(super) item_owners: (&'static str, &'static str),
    /// Ransomware (true) or data-leak (false) incident in recovery.
    pub(super) ransomware: bool,
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

/// The organisation of a demo tenant (the first customer is Jiangning, any other Qinghe).
pub(super) fn org(tenant_name: &str) -> &'static Org {
    if tenant_name == CUSTOMERS[0].0 {
        &JIANGNING
    } else {
        &QINGHE
    }
}
