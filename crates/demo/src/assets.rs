//! The demo ledger: about 250 assets per customer tenant, across the business systems a
//! municipal data bureau and a provincial social-security department actually run.
//! Deterministic: the same assets every time (a fixed-seed generator picks the variations).

use yunshou_model::asset::{
    AssetFields, Control, Exposure, Fingerprint, Lifecycle, Port, Sensitivity, SupplyChainEntry,
    TlsCertificate,
};

/// A business system and what it is made of.
struct System {
    name: &'static str,
    short: &'static str,
    business_type: &'static str,
    importance: u8,
    public: bool,
    sensitivity: Sensitivity,
    web: usize,
    app: usize,
    db: usize,
}

const JIANGNING: [System; 8] = [
    System {
        name: "江宁政务服务网",
        short: "zwfw",
        business_type: "政务服务",
        importance: 5,
        public: true,
        sensitivity: Sensitivity::Medium,
        web: 4,
        app: 6,
        db: 2,
    },
    System {
        name: "一网通办平台",
        short: "ywtb",
        business_type: "政务服务",
        importance: 5,
        public: true,
        sensitivity: Sensitivity::High,
        web: 4,
        app: 8,
        db: 3,
    },
    System {
        name: "12345 政务服务便民热线",
        short: "12345",
        business_type: "便民服务",
        importance: 4,
        public: true,
        sensitivity: Sensitivity::High,
        web: 2,
        app: 4,
        db: 2,
    },
    System {
        name: "电子证照库",
        short: "dzzz",
        business_type: "数据共享",
        importance: 5,
        public: false,
        sensitivity: Sensitivity::High,
        web: 1,
        app: 4,
        db: 3,
    },
    System {
        name: "政务数据共享交换平台",
        short: "gxjh",
        business_type: "数据共享",
        importance: 5,
        public: false,
        sensitivity: Sensitivity::High,
        web: 1,
        app: 6,
        db: 3,
    },
    System {
        name: "公共数据开放平台",
        short: "kfpt",
        business_type: "数据开放",
        importance: 3,
        public: true,
        sensitivity: Sensitivity::Low,
        web: 2,
        app: 3,
        db: 1,
    },
    System {
        name: "不动产登记系统",
        short: "bdc",
        business_type: "自然资源",
        importance: 4,
        public: true,
        sensitivity: Sensitivity::High,
        web: 2,
        app: 4,
        db: 2,
    },
    System {
        name: "视频会议系统",
        short: "sphy",
        business_type: "协同办公",
        importance: 2,
        public: false,
        sensitivity: Sensitivity::Low,
        web: 1,
        app: 2,
        db: 1,
    },
];

const QINGHE: [System; 8] = [
    System {
        name: "社会保险经办系统",
        short: "sbjb",
        business_type: "社保",
        importance: 5,
        public: false,
        sensitivity: Sensitivity::High,
        web: 2,
        app: 8,
        db: 4,
    },
    System {
        name: "社保卡服务平台",
        short: "sbk",
        business_type: "社保",
        importance: 5,
        public: true,
        sensitivity: Sensitivity::High,
        web: 3,
        app: 5,
        db: 2,
    },
    System {
        name: "住房公积金联网查询",
        short: "gjj",
        business_type: "公积金",
        importance: 4,
        public: true,
        sensitivity: Sensitivity::High,
        web: 2,
        app: 4,
        db: 2,
    },
    System {
        name: "公共就业服务平台",
        short: "jyfw",
        business_type: "就业",
        importance: 4,
        public: true,
        sensitivity: Sensitivity::Medium,
        web: 3,
        app: 4,
        db: 2,
    },
    System {
        name: "人事考试网",
        short: "rsks",
        business_type: "人事考试",
        importance: 3,
        public: true,
        sensitivity: Sensitivity::Medium,
        web: 3,
        app: 3,
        db: 1,
    },
    System {
        name: "劳动保障监察系统",
        short: "ldjc",
        business_type: "劳动监察",
        importance: 3,
        public: false,
        sensitivity: Sensitivity::Medium,
        web: 1,
        app: 3,
        db: 1,
    },
    System {
        name: "人社一体化业务平台",
        short: "ythpt",
        business_type: "社保",
        importance: 5,
        public: false,
        sensitivity: Sensitivity::High,
        web: 2,
        app: 8,
        db: 3,
    },
    System {
        name: "内部办公 OA",
        short: "oa",
        business_type: "协同办公",
        importance: 2,
        public: false,
        sensitivity: Sensitivity::Low,
        web: 1,
        app: 2,
        db: 1,
    },
];

const OWNERS: [&str; 10] = [
    "张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴霞",
];
const DEPARTMENTS: [&str; 4] = ["信息中心", "数据资源处", "网络安全科", "运维保障科"];
const MAINTAINERS: [&str; 3] = [
    "华信云运维服务有限公司",
    "数智政通科技有限公司",
    "云盾安全技术服务有限公司",
];

/// A small deterministic generator (64-bit LCG), so the demo is the same every time.
pub(crate) struct Pick(pub(crate) u64);

impl Pick {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub(crate) fn of<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() as usize) % items.len()]
    }
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn port(port: u16, service: &str, exposure: Exposure) -> Port {
    Port {
        port,
        protocol: "tcp".into(),
        service: Some(service.into()),
        exposure,
    }
}

fn control(kind: &str, name: &str, day: u64) -> Control {
    Control {
        kind: kind.into(),
        name: Some(name.into()),
        verified_on: Some(format!("2026-{:02}-{:02}", 9 + day % 3, 1 + day % 28)),
    }
}

/// The demo assets of one customer tenant (`index` 0 or 1), with their lifecycle states.
pub fn ledger(index: usize) -> Vec<(AssetFields, Lifecycle)> {
    let (systems, domain, net) = if index == 0 {
        (&JIANGNING, "jiangning.example.cn", 20)
    } else {
        (&QINGHE, "qinghe-hrss.example.cn", 30)
    };
    let mut pick = Pick(0x5EED_0000 + index as u64);
    let mut out = Vec::new();
    let mut host = 10u32;
    let dc = if index == 0 {
        ["江宁政务云 A 区（主）", "江宁政务云 B 区（同城灾备）"]
    } else {
        ["清河省政务云（主）", "清河省政务云异地灾备中心"]
    };
    for (si, sys) in systems.iter().enumerate() {
        let owner = OWNERS[(si + index * 3) % OWNERS.len()].to_string();
        let subnet = 10 + si as u32;
        let mut add = |role: &str,
                       n: usize,
                       make: &mut dyn FnMut(&mut Pick, usize) -> AssetFields,
                       pick: &mut Pick| {
            for i in 0..n {
                let mut f = make(pick, i);
                host += 1;
                if f.ips.is_empty() && f.kind != "domain" {
                    f.ips.push(format!("10.{net}.{subnet}.{}", 10 + host % 240));
                }
                f.name = format!("{}-{role}-{:02}", sys.short, i + 1);
                f.business_system = Some(sys.name.into());
                f.business_type = Some(sys.business_type.into());
                f.business_importance = Some(sys.importance);
                f.sensitivity = Some(sys.sensitivity);
                f.department = Some(pick.of(&DEPARTMENTS).to_string());
                f.data_center = Some(dc[i % 2].into());
                f.cloud_account = Some(format!(
                    "gov-cloud-{}-{}",
                    if index == 0 { "jn" } else { "qh" },
                    sys.short
                ));
                f.supply_chain.push(SupplyChainEntry {
                    role: "maintainer".into(),
                    name: pick.of(&MAINTAINERS).to_string(),
                    contact: Some("7×24 值班电话".into()),
                });
                let lifecycle = match pick.next() % 40 {
                    0 => Lifecycle::Planned,
                    1 | 2 => Lifecycle::Onboarding,
                    3 => Lifecycle::Decommissioned,
                    _ => Lifecycle::InService,
                };
                // Anything past planning is under management: an owner (mostly) and ratings.
                if lifecycle != Lifecycle::Planned {
                    f.owner = Some(owner.clone());
                } else {
                    f.confidentiality = None;
                }
                out.push((f, lifecycle));
            }
        };
        let public = sys.public;
        add(
            "web",
            sys.web * 2,
            &mut |p, i| {
                let mut f = AssetFields {
                    kind: "vm".into(),
                    confidentiality: Some(2),
                    integrity: Some(4),
                    availability: Some(4),
                    ..Default::default()
                };
                f.os = Some(
                    p.of(&["麒麟 V10 SP3", "统信 UOS 20", "CentOS 7.9"])
                        .to_string(),
                );
                let (mw, cpe) = *p.of(&[
                    ("nginx 1.24.0", "cpe:2.3:a:f5:nginx:1.24.0:*:*:*:*:*:*:*"),
                    ("nginx 1.22.1", "cpe:2.3:a:f5:nginx:1.22.1:*:*:*:*:*:*:*"),
                    (
                        "Tengine 2.3.3",
                        "cpe:2.3:a:alibaba:tengine:2.3.3:*:*:*:*:*:*:*",
                    ),
                ]);
                f.middleware.push(mw.to_string());
                f.tech_stack
                    .extend(["Vue".to_string(), "HTML5".to_string()]);
                let exposure = if public {
                    Exposure::Internet
                } else {
                    Exposure::Internal
                };
                f.ports = vec![
                    port(443, "https", exposure),
                    port(
                        80,
                        "http",
                        if public && i == 0 {
                            Exposure::Internet
                        } else {
                            Exposure::Internal
                        },
                    ),
                    port(22, "ssh", Exposure::Internal),
                ];
                f.zone = Some(
                    if public {
                        "互联网接入区"
                    } else {
                        "政务外网区"
                    }
                    .into(),
                );
                f.domains.push(format!(
                    "{}{}.{domain}",
                    sys.short,
                    if i == 0 {
                        String::new()
                    } else {
                        format!("-{}", i + 1)
                    }
                ));
                f.controls = vec![control("host_agent", "云守主机探针", p.next())];
                if public {
                    f.controls.push(control("waf", "云 WAF", p.next()));
                }
                f.fingerprint = Fingerprint {
                    banners: vec!["Server: nginx".into()],
                    tls: Some(TlsCertificate {
                        subject: format!("CN={}.{domain}", sys.short),
                        issuer: "CN=GDCA TrustAUTH R5 ROOT".into(),
                        not_after: format!("2027-{:02}-15", 1 + p.next() % 12),
                    }),
                    cpe: vec![cpe.into()],
                    hashes: vec![],
                };
                f
            },
            &mut pick,
        );
        add(
            "app",
            sys.app * 2,
            &mut |p, _| {
                let mut f = AssetFields {
                    kind: "vm".into(),
                    confidentiality: Some(3),
                    integrity: Some(4),
                    availability: Some(4),
                    ..Default::default()
                };
                f.os = Some(p.of(&["麒麟 V10 SP3", "统信 UOS 20"]).to_string());
                let (mw, tech) = *p.of(&[
                    ("Tomcat 9.0.83", "Spring Boot"),
                    ("东方通 TongWeb 7", "Spring Cloud"),
                    ("Apache Tomcat 8.5.96", "Struts2"),
                    ("WebLogic 12.2.1", "Java EE"),
                ]);
                f.middleware.push(mw.into());
                f.tech_stack.extend(["Java".to_string(), tech.to_string()]);
                f.applications.push(format!("{}业务服务", sys.name));
                f.ports = vec![
                    port(8080, "http-alt", Exposure::Internal),
                    port(22, "ssh", Exposure::Internal),
                ];
                if p.chance(15) {
                    f.ports.push(port(8009, "ajp13", Exposure::Internal));
                }
                f.zone = Some("政务外网区".into());
                f.controls = vec![control("host_agent", "云守主机探针", p.next())];
                f
            },
            &mut pick,
        );
        add(
            "db",
            sys.db + 1,
            &mut |p, i| {
                let mut f = AssetFields {
                    kind: "database".into(),
                    confidentiality: Some(5),
                    integrity: Some(5),
                    availability: Some(4),
                    ..Default::default()
                };
                let (product, port_no, service, vendor) = *p.of(&[
                    ("达梦 DM8", 5236u16, "dmdb", "武汉达梦数据库股份有限公司"),
                    ("MySQL 8.0.35", 3306, "mysql", "Oracle"),
                    (
                        "PostgreSQL 14.10",
                        5432,
                        "postgresql",
                        "PostgreSQL 全球开发组",
                    ),
                    ("人大金仓 KingbaseES V8", 54321, "kingbase", "中电科金仓"),
                ]);
                f.applications.push(product.into());
                f.ports = vec![port(port_no, service, Exposure::Internal)];
                f.zone = Some("核心数据区".into());
                f.os = Some("麒麟 V10 SP3".into());
                f.controls = vec![
                    control("backup", "每日全量 + 实时日志备份", p.next()),
                    control("db_audit", "数据库审计", p.next()),
                ];
                if i == 0 {
                    f.controls
                        .push(control("encryption", "SM4 表空间加密", p.next()));
                }
                f.supply_chain.push(SupplyChainEntry {
                    role: "vendor".into(),
                    name: vendor.into(),
                    contact: None,
                });
                f
            },
            &mut pick,
        );
        add(
            "oss",
            1,
            &mut |_, _| AssetFields {
                kind: "cloud_service".into(),
                applications: vec!["政务云对象存储 OSS".into()],
                ports: vec![port(443, "https", Exposure::Internal)],
                zone: Some("政务外网区".into()),
                confidentiality: Some(4),
                integrity: Some(4),
                availability: Some(3),
                controls: vec![Control {
                    kind: "encryption".into(),
                    name: Some("服务端 SM4 加密".into()),
                    verified_on: Some("2026-10-20".into()),
                }],
                ..Default::default()
            },
            &mut pick,
        );
        add(
            "redis",
            1,
            &mut |_, _| AssetFields {
                kind: "middleware".into(),
                middleware: vec!["Redis 6.2".into()],
                ports: vec![port(6379, "redis", Exposure::Internal)],
                zone: Some("政务外网区".into()),
                confidentiality: Some(3),
                integrity: Some(3),
                availability: Some(4),
                ..Default::default()
            },
            &mut pick,
        );
        add(
            "mq",
            1,
            &mut |p, _| AssetFields {
                kind: "middleware".into(),
                middleware: vec![p
                    .of(&["RabbitMQ 3.12", "Kafka 3.6", "RocketMQ 5.1"])
                    .to_string()],
                ports: vec![port(5672, "amqp", Exposure::Internal)],
                zone: Some("政务外网区".into()),
                confidentiality: Some(3),
                integrity: Some(4),
                availability: Some(4),
                ..Default::default()
            },
            &mut pick,
        );
        add(
            "slb",
            1,
            &mut |p, _| AssetFields {
                kind: "network_device".into(),
                applications: vec![p
                    .of(&["F5 BIG-IP i5800", "深信服 AD-1000", "华为 CE6881"])
                    .to_string()],
                ports: vec![
                    port(
                        443,
                        "https",
                        if public {
                            Exposure::Internet
                        } else {
                            Exposure::Internal
                        },
                    ),
                    port(22, "ssh", Exposure::Internal),
                ],
                zone: Some(
                    if public {
                        "互联网接入区"
                    } else {
                        "政务外网区"
                    }
                    .into(),
                ),
                supply_chain: vec![SupplyChainEntry {
                    role: "vendor".into(),
                    name: "华为技术有限公司".into(),
                    contact: None,
                }],
                confidentiality: Some(2),
                integrity: Some(4),
                availability: Some(5),
                ..Default::default()
            },
            &mut pick,
        );
        if public {
            let ip = format!(
                "{}.{}",
                if index == 0 {
                    "203.0.113"
                } else {
                    "198.51.100"
                },
                10 + si
            );
            add(
                "eip",
                1,
                &mut |_, _| AssetFields {
                    kind: "public_ip".into(),
                    ips: vec![ip.clone()],
                    ports: vec![port(443, "https", Exposure::Internet)],
                    zone: Some("互联网接入区".into()),
                    confidentiality: Some(1),
                    integrity: Some(3),
                    availability: Some(4),
                    ..Default::default()
                },
                &mut pick,
            );
            add(
                "domain",
                1,
                &mut |_, _| AssetFields {
                    kind: "domain".into(),
                    domains: vec![format!("{}.{domain}", sys.short)],
                    confidentiality: Some(1),
                    integrity: Some(4),
                    availability: Some(4),
                    ..Default::default()
                },
                &mut pick,
            );
        }
        // The business system itself, which its parts belong to (part_of relations).
        out.push((
            AssetFields {
                name: sys.name.into(),
                kind: "application".into(),
                applications: vec![sys.name.into()],
                business_system: Some(sys.name.into()),
                business_type: Some(sys.business_type.into()),
                business_importance: Some(sys.importance),
                sensitivity: Some(sys.sensitivity),
                owner: Some(owner.clone()),
                department: Some("信息中心".into()),
                confidentiality: Some(4),
                integrity: Some(4),
                availability: Some(sys.importance.min(5)),
                ..Default::default()
            },
            Lifecycle::InService,
        ));
    }
    // Shared security devices of the tenant's cloud zone.
    let devices = [
        ("ngfw", "下一代防火墙", "security_device", "华为 USG6650E"),
        ("waf", "Web 应用防火墙", "security_device", "长亭雷池 WAF"),
        ("ids", "入侵检测系统", "security_device", "奇安信天眼"),
        ("bastion", "运维堡垒机", "security_device", "齐治堡垒机"),
        (
            "dbaudit",
            "数据库审计",
            "security_device",
            "安恒明御数据库审计",
        ),
    ];
    for (i, (short, name, kind, product)) in devices.iter().enumerate() {
        for n in 0..2 {
            let f = AssetFields {
                name: format!("sec-{short}-{:02}", n + 1),
                kind: (*kind).into(),
                ips: vec![format!("10.{net}.250.{}", 10 + i * 2 + n)],
                applications: vec![(*product).into()],
                ports: vec![port(443, "https", Exposure::Internal)],
                zone: Some("安全管理区".into()),
                business_system: Some(format!("安全防护体系（{name}）")),
                business_type: Some("安全运维".into()),
                business_importance: Some(4),
                owner: Some(OWNERS[(i + 7) % OWNERS.len()].into()),
                department: Some("网络安全科".into()),
                confidentiality: Some(3),
                integrity: Some(5),
                availability: Some(5),
                supply_chain: vec![SupplyChainEntry {
                    role: "vendor".into(),
                    name: product.split(' ').next().unwrap_or(product).into(),
                    contact: None,
                }],
                ..Default::default()
            };
            out.push((f, Lifecycle::InService));
        }
    }
    let target = 250;
    // Round out with the hosts of a container platform (政务云容器平台), one node each.
    let mut node = 0;
    while out.len() < target {
        node += 1;
        let f = AssetFields {
            name: format!("k8s-node-{node:03}"),
            kind: "container".into(),
            ips: vec![format!("10.{net}.200.{}", node % 250)],
            ports: vec![port(10250, "kubelet", Exposure::Internal)],
            middleware: vec!["containerd 1.7".into()],
            tech_stack: vec!["Kubernetes 1.28".into()],
            os: Some("麒麟 V10 SP3".into()),
            zone: Some("政务外网区".into()),
            business_system: Some("政务云容器平台".into()),
            business_type: Some("基础设施".into()),
            business_importance: Some(4),
            owner: Some("黄勇".into()),
            department: Some("运维保障科".into()),
            confidentiality: Some(3),
            integrity: Some(4),
            availability: Some(4),
            controls: vec![control("host_agent", "云守主机探针", node)],
            ..Default::default()
        };
        out.push((f, Lifecycle::InService));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_ledger_is_valid_deterministic_and_sized() {
        for index in 0..2 {
            let a = ledger(index);
            assert_eq!(a, ledger(index));
            assert_eq!(a.len(), 250);
            for (mut f, lifecycle) in a {
                let name = f.name.clone();
                f.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
                if lifecycle.in_use() {
                    assert!(
                        f.missing_for_service().is_none(),
                        "{name} is in service without management"
                    );
                }
            }
        }
    }
}
